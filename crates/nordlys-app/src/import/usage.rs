//! Usage quantities of non-metered services (`contract_id,date,component,quantity`), e.g.
//! consulting hours, rated by the contract's usage component.

use std::io::Read;

use nordlys_core::ParseError;
use nordlys_core::model::parse_local_id;
use nordlys_core::quantity::parse_decimal;
use nordlys_core::time::parse_date;
use nordlys_store::{Store, StoreError, StoreTx, Upsert};
use rust_decimal::Decimal;

use super::csv_table::Row;
use super::{ImportError, ImportKind, ImportReport};
use crate::Clock;

/// One row of a usage file.
pub(crate) struct UsageRecord {
    contract_id: String,
    date: jiff::civil::Date,
    component: String,
    quantity: Decimal,
}

impl super::master::MasterRecord for UsageRecord {
    const KIND: ImportKind = ImportKind::Usage;
    const REQUIRED: &'static [&'static str] = &["contract_id", "date", "component", "quantity"];
    const OPTIONAL: &'static [&'static str] = &[];
    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let quantity = parse_decimal("quantity", row.get(3))?;
        if quantity < Decimal::ZERO {
            return Err(ParseError::new(
                "quantity",
                row.get(3),
                "a usage quantity cannot be negative",
            ));
        }
        Ok(UsageRecord {
            contract_id: parse_local_id("contract_id", row.get(0))?,
            date: parse_date("date", row.get(1))?,
            component: parse_local_id("component", row.get(2))?,
            quantity,
        })
    }
    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError> {
        tx.upsert_usage(&self.contract_id, self.date, &self.component, self.quantity)
            .await
    }
}

pub async fn import_usage(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    super::master::import_master::<UsageRecord>(store, source, input, clock).await
}
