//! Usage quantities of non-metered services (`contract_id,date,component,quantity`), e.g.
//! consulting hours, rated by the contract's usage component.

use std::io::Read;
use std::time::Instant;

use nordlys_core::ParseError;
use nordlys_core::model::parse_local_id;
use nordlys_core::quantity::parse_decimal;
use nordlys_core::time::parse_date;
use nordlys_store::{ImportCounts, Store, StoreError};
use rust_decimal::Decimal;

use super::csv_table::CsvTable;
use super::{ErrorList, ImportError, ImportKind, ImportReport, RowError};
use crate::Clock;

pub async fn import_usage(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let mut table = CsvTable::open(
        input,
        &["contract_id", "date", "component", "quantity"],
        &[],
    )
    .map_err(|errors| ImportError::rejected(source, errors, false))?;
    let mut tx = store
        .begin_import(ImportKind::Usage.code(), source, clock.now())
        .await?;
    let mut errors = ErrorList::default();
    let mut counts = ImportCounts::default();
    let mut record = csv::StringRecord::new();
    while let Some(next) = table.next_row(&mut record) {
        let parsed = next.and_then(|line| {
            let row = table.row(&record);
            let parse = || -> Result<_, ParseError> {
                let quantity = parse_decimal("quantity", row.get(3))?;
                if quantity < Decimal::ZERO {
                    return Err(ParseError::new(
                        "quantity",
                        row.get(3),
                        "a usage quantity cannot be negative",
                    ));
                }
                Ok((
                    parse_local_id("contract_id", row.get(0))?,
                    parse_date("date", row.get(1))?,
                    parse_local_id("component", row.get(2))?,
                    quantity,
                ))
            };
            parse()
                .map(|p| (line, p))
                .map_err(|e| RowError::from_parse(line, e))
        });
        match parsed {
            Err(e) => {
                errors.push(e);
                if errors.is_full() {
                    break;
                }
            }
            Ok((line, (contract, date, component, quantity))) => {
                match tx.upsert_usage(&contract, date, &component, quantity).await {
                    Ok(upsert) => counts.record(upsert),
                    Err(StoreError::Rejected(e)) => errors.push(RowError::from_parse(line, e)),
                    Err(other) => return Err(other.into()),
                }
            }
        }
    }
    errors.into_result(source)?;
    tx.commit(counts).await?;
    Ok(super::market_data::report(
        ImportKind::Usage,
        source,
        counts,
        started,
    ))
}
