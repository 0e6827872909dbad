//! Usage quantities of non-metered services (`contract_id,date,component,quantity`), e.g.
//! consulting hours, rated by the contract's usage component. A row must name a contract
//! that runs on its date and a usage component of that contract's product in force then.

use std::collections::HashMap;
use std::io::Read;

use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::model::parse_local_id;
use nordlys_core::quantity::parse_decimal;
use nordlys_core::time::parse_date;
use nordlys_rating::Product;
use nordlys_rating::product::Pricing;
use nordlys_store::{Store, StoreError, StoreTx, Upsert};
use rust_decimal::Decimal;

use super::csv_table::Row;
use super::{ImportError, ImportKind, ImportReport};
use crate::Clock;
use crate::products::load_products;

/// One row of a usage file.
pub(crate) struct UsageRecord {
    contract_id: String,
    date: Date,
    component: String,
    quantity: Decimal,
}

/// What a usage row is checked against: every contract's product and span, every product.
pub(crate) struct UsageContext {
    contracts: HashMap<String, ContractSpan>,
    products: HashMap<String, Product>,
}

struct ContractSpan {
    product_code: String,
    start: Date,
    end: Option<Date>,
}

impl super::master::MasterRecord for UsageRecord {
    const KIND: ImportKind = ImportKind::Usage;
    const REQUIRED: &'static [&'static str] = &["contract_id", "date", "component", "quantity"];
    const OPTIONAL: &'static [&'static str] = &[];
    const KEY_COLUMN: usize = 2;
    type Context = UsageContext;

    async fn context(store: &Store) -> Result<UsageContext, ImportError> {
        let products = load_products(store).await?;
        let contracts = store
            .billable_contracts(Date::MIN, Date::MAX, None)
            .await?
            .into_iter()
            .map(|c| {
                let span = ContractSpan {
                    product_code: c.product_code,
                    start: c.start,
                    end: c.end,
                };
                (c.contract_id, span)
            })
            .collect();
        Ok(UsageContext {
            contracts,
            products,
        })
    }

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let quantity = row.parse(3, |v| parse_decimal("quantity", v))?;
        if quantity < Decimal::ZERO {
            return Err(ParseError::new(
                row.name(3),
                row.get(3),
                "a usage quantity cannot be negative",
            ));
        }
        Ok(UsageRecord {
            contract_id: row.parse(0, |v| parse_local_id("contract_id", v))?,
            date: row.parse(1, |v| parse_date("date", v))?,
            component: row.parse(2, |v| parse_local_id("component", v))?,
            quantity,
        })
    }

    fn key(&self) -> String {
        format!(
            "the usage of {} on {} for contract {}",
            self.component, self.date, self.contract_id
        )
    }

    fn check(&self, context: &UsageContext, row: &Row<'_>) -> Result<(), ParseError> {
        let Some(contract) = context.contracts.get(&self.contract_id) else {
            return Err(ParseError::new(
                row.name(0),
                &self.contract_id,
                "no contract has this id (import contracts first)",
            ));
        };
        if self.date < contract.start {
            return Err(ParseError::new(
                row.name(1),
                row.get(1),
                format!(
                    "is before contract {} starts ({})",
                    self.contract_id, contract.start
                ),
            ));
        }
        if let Some(end) = contract.end
            && self.date >= end
        {
            return Err(ParseError::new(
                row.name(1),
                row.get(1),
                format!(
                    "is not before contract {}'s end {end} (the end is the first day not covered)",
                    self.contract_id
                ),
            ));
        }
        let code = &contract.product_code;
        let Some(product) = context.products.get(code) else {
            return Err(ParseError::new(
                row.name(0),
                &self.contract_id,
                format!("the contract's product {code} is not imported (import products first)"),
            ));
        };
        let usage_components: Vec<_> = product
            .components
            .iter()
            .filter(|c| matches!(c.pricing, Pricing::Usage { .. }))
            .collect();
        let versions: Vec<_> = usage_components
            .iter()
            .filter(|c| c.code == self.component)
            .collect();
        if versions.is_empty() {
            let mut codes: Vec<&str> = usage_components.iter().map(|c| c.code.as_str()).collect();
            codes.dedup();
            let known = if codes.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has: {}", codes.join(", "))
            };
            return Err(ParseError::new(
                row.name(2),
                &self.component,
                format!("product {code} has no usage component of this code ({known})"),
            ));
        }
        if !versions.iter().any(|c| c.valid_on(self.date)) {
            return Err(ParseError::new(
                row.name(1),
                row.get(1),
                format!(
                    "usage component {} of product {code} is not in force on this day",
                    self.component
                ),
            ));
        }
        Ok(())
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
