//! "What would my agreement have cost": the months of a metering point with readings (up to the
//! last twelve) rated again through the billing path itself — the same plans, statutory tables,
//! daily exchange rates and spot prices as the invoices — once for each supplier product the
//! utility offers, and once more with Norgespris against spot with strømstøtte. Totals include
//! VAT and the grid's part, so they compare with what the invoices asked.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::model::{ContractRole, Market};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{Scratch, Statutory};
use nordlys_store::{BillableContract, Store};
use rust_decimal::Decimal;

use crate::billing::{BillingError, PeriodContext};
use crate::cost::{failed, gross, rated};
use crate::self_service::{Holdings, SelfServiceError};

/// What one product would have cost over the months compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductCost {
    pub product: String,
    pub name: String,
    /// Supplier and grid together, VAT included, over `months`.
    pub total: Decimal,
    /// The customer's product now.
    pub current: bool,
}

/// The comparison of a metering point's agreements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub metering_point: String,
    /// The months compared (`YYYY-MM`), oldest first.
    pub months: Vec<String>,
    /// The currency of the totals.
    pub currency: String,
    /// Cheapest first.
    pub products: Vec<ProductCost>,
    /// Norway: (spot with strømstøtte, Norgespris) with the current product, VAT included.
    pub norgespris: Option<(Decimal, Decimal)>,
}

/// Compare the agreements of metering point `gsrn` over the months with readings up to `last`.
pub async fn compare_agreements(
    store: &Store,
    holdings: &Holdings,
    gsrn: &str,
    last: Date,
) -> Result<Comparison, SelfServiceError> {
    let point = holdings.point(gsrn)?.clone();
    let products = Arc::new(
        crate::products::load_products(store)
            .await
            .map_err(failed)?,
    );
    let statutory = Arc::new(Statutory::default());
    let offered = crate::products::offered_supplier_codes(store, &products).await?;
    let account_ids: Vec<String> = holdings
        .accounts
        .iter()
        .map(|a| a.account_id.clone())
        .collect();
    let mut months = Vec::new();
    let mut totals: HashMap<String, Decimal> = HashMap::new();
    let mut norgespris = (Decimal::ZERO, Decimal::ZERO);
    let mut current_product = None;
    let mut currency = String::new();
    let mut scratch = Scratch::default();
    let first_month = last
        .first_of_month()
        .checked_sub(11.months())
        .unwrap_or(last);
    let mut month = first_month;
    while month <= last {
        let next = month.checked_add(1.month()).unwrap_or(last);
        let period = LocalPeriod::new(month, next).map_err(SelfServiceError::Invalid)?;
        month = next;
        let contracts: Vec<BillableContract> = store
            .billable_contracts_of_accounts(period.start, period.end, &account_ids)
            .await?
            .into_iter()
            .filter(|c| c.point.as_ref().is_some_and(|p| p.gsrn == gsrn))
            .collect();
        let (Some(supplier), Some(grid)) = (
            contracts.iter().find(|c| c.role == ContractRole::Supplier),
            contracts.iter().find(|c| c.role == ContractRole::GridOwner),
        ) else {
            continue;
        };
        let mut context =
            PeriodContext::new(store, period, Arc::clone(&statutory), Arc::clone(&products))
                .await
                .map_err(|e: BillingError| failed(e))?;
        let Some(grid_lines) = rated(store, &mut context, grid, &mut scratch).await? else {
            continue;
        };
        let mut month_totals = HashMap::new();
        for code in &offered {
            let candidate = BillableContract {
                product_code: code.clone(),
                ..supplier.clone()
            };
            if let Some(lines) = rated(store, &mut context, &candidate, &mut scratch).await? {
                month_totals.insert(code.clone(), gross(&lines) + gross(&grid_lines));
            }
        }
        if month_totals.len() < offered.len() {
            continue;
        }
        if point.market == Market::No {
            let flipped = |from: Option<Date>| {
                let mut grid = grid.clone();
                let mut supplier = supplier.clone();
                for c in [&mut grid, &mut supplier] {
                    if let Some(p) = c.point.as_mut() {
                        p.norgespris_from = from;
                    }
                }
                (grid, supplier)
            };
            let (spot_grid, spot_supplier) = flipped(None);
            let (np_grid, np_supplier) = flipped(Some(period.start));
            let spot = (
                rated(store, &mut context, &spot_grid, &mut scratch).await?,
                rated(store, &mut context, &spot_supplier, &mut scratch).await?,
            );
            let fixed = (
                rated(store, &mut context, &np_grid, &mut scratch).await?,
                rated(store, &mut context, &np_supplier, &mut scratch).await?,
            );
            if let ((Some(a), Some(b)), (Some(c), Some(d))) = (spot, fixed) {
                norgespris.0 += gross(&a) + gross(&b);
                norgespris.1 += gross(&c) + gross(&d);
            }
        }
        for (code, total) in month_totals {
            *totals.entry(code).or_default() += total;
        }
        current_product = Some(supplier.product_code.clone());
        currency = products
            .get(&supplier.product_code)
            .map(|p| p.currency.code().to_owned())
            .unwrap_or_default();
        months.push(crate::billing::period_code(period));
    }
    let mut costs: Vec<ProductCost> = totals
        .into_iter()
        .map(|(code, total)| ProductCost {
            name: products
                .get(&code)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| code.clone()),
            current: current_product.as_deref() == Some(code.as_str()),
            total: nordlys_core::document::round_money(total),
            product: code,
        })
        .collect();
    costs.sort_by(|a, b| a.total.cmp(&b.total).then(a.product.cmp(&b.product)));
    Ok(Comparison {
        metering_point: gsrn.to_owned(),
        months,
        currency,
        products: costs,
        norgespris: (point.market == Market::No && norgespris != (Decimal::ZERO, Decimal::ZERO))
            .then(|| {
                (
                    nordlys_core::document::round_money(norgespris.0),
                    nordlys_core::document::round_money(norgespris.1),
                )
            }),
    })
}
