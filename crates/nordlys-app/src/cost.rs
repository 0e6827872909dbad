//! What a customer's consumption costs, rated through the billing path itself (the same
//! products, statutory tables, spot prices and exchange rates as the invoices): the cost of
//! any span of days, split at month boundaries as settlement splits it, and this month so far
//! with a forecast for the whole month at the pace so far.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::document::{DocumentLine, LineUnit, document_totals, round_money};
use nordlys_core::model::Market;
use nordlys_core::quantity::Currency;
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{Product, Scratch, Statutory};
use nordlys_store::{BillableContract, Store, utc_days_of};
use rust_decimal::Decimal;

use crate::billing::{BillingError, PeriodContext};
use crate::self_service::{Holdings, SelfServiceError};

/// Supplier and grid together, VAT included, as an invoice would total these lines.
pub(crate) fn gross(lines: &[DocumentLine]) -> Decimal {
    let (net, _, vat, _) = document_totals(lines);
    net + vat
}

pub(crate) fn failed(error: impl std::fmt::Display) -> SelfServiceError {
    SelfServiceError::Invalid(nordlys_core::ParseError::new("cost", "", error.to_string()))
}

/// Rate `contract` for the context's period, or `None` if its basis is not complete.
pub(crate) async fn rated(
    store: &Store,
    context: &mut PeriodContext,
    contract: &BillableContract,
    scratch: &mut Scratch,
) -> Result<Option<Vec<DocumentLine>>, SelfServiceError> {
    let point = contract.point.as_ref();
    let (first, last) = utc_days_of(
        context.period.start,
        context.period.end,
        &point.map_or(Market::No, |p| p.market).time_zone(),
    );
    let chunks = match point {
        Some(p) => store.day_chunks(&[p.id], first, last).await?,
        None => HashMap::new(),
    };
    let series = point.and_then(|p| chunks.get(&p.id)).map(|v| v.as_slice());
    Ok(context
        .rate_contract(store, contract, series, true, scratch)
        .await?
        .ok())
}

/// The cost of a span of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCost {
    /// First day.
    pub from: Date,
    /// The day after the last.
    pub to: Date,
    /// VAT included, rounded to øre/cents.
    pub gross: Decimal,
    pub currency: Currency,
}

/// Which of a customer's contracts a cost covers.
#[derive(Debug, Clone, Copy)]
pub enum CostScope<'a> {
    /// Every contract of every account, services without a metering point included.
    Customer,
    /// The contracts of one metering point (supplier and grid).
    MeteringPoint(&'a str),
}

/// What rating needs loaded once per request: the products and the statutory tables.
pub struct CostRater {
    products: Arc<HashMap<String, Product>>,
    statutory: Arc<Statutory>,
    scratch: Scratch,
}

impl CostRater {
    pub async fn new(store: &Store) -> Result<CostRater, SelfServiceError> {
        Ok(CostRater {
            products: Arc::new(
                crate::products::load_products(store)
                    .await
                    .map_err(failed)?,
            ),
            statutory: Arc::new(Statutory::default()),
            scratch: Scratch::default(),
        })
    }

    /// The lines of `[from, to)` (within one month) for the contracts in scope, or `None`
    /// when any of them is not ready (readings or prices missing) or there is none.
    async fn lines_of(
        &mut self,
        store: &Store,
        holdings: &Holdings,
        scope: CostScope<'_>,
        from: Date,
        to: Date,
    ) -> Result<Option<(Vec<DocumentLine>, Currency)>, SelfServiceError> {
        let period = LocalPeriod::new(from, to).map_err(SelfServiceError::Invalid)?;
        let account_ids: Vec<String> = holdings
            .accounts
            .iter()
            .map(|a| a.account_id.clone())
            .collect();
        let contracts: Vec<BillableContract> = store
            .billable_contracts_of_accounts(period.start, period.end, &account_ids)
            .await?
            .into_iter()
            .filter(|c| match scope {
                CostScope::Customer => true,
                CostScope::MeteringPoint(gsrn) => c.point.as_ref().is_some_and(|p| p.gsrn == gsrn),
            })
            .collect();
        if contracts.is_empty() {
            return Ok(None);
        }
        let mut context = PeriodContext::new(
            store,
            period,
            Arc::clone(&self.statutory),
            Arc::clone(&self.products),
        )
        .await
        .map_err(|e: BillingError| failed(e))?;
        let mut lines = Vec::new();
        let mut currency: Option<Currency> = None;
        for contract in &contracts {
            let Some(mut rated) = rated(store, &mut context, contract, &mut self.scratch).await?
            else {
                return Ok(None);
            };
            let code = self
                .products
                .get(&contract.product_code)
                .map(|p| p.currency);
            match (&currency, code) {
                (None, Some(code)) => currency = Some(code),
                // Totals in two currencies are not one figure.
                (Some(have), Some(code)) if *have != code => return Ok(None),
                _ => {}
            }
            lines.append(&mut rated);
        }
        Ok(currency.map(|c| (lines, c)))
    }

    /// The cost of `[from, to)`, rated month by month as settlement splits it; `None` unless
    /// every part is ready.
    pub async fn cost(
        &mut self,
        store: &Store,
        holdings: &Holdings,
        scope: CostScope<'_>,
        from: Date,
        to: Date,
    ) -> Result<Option<PeriodCost>, SelfServiceError> {
        let mut total = Decimal::ZERO;
        let mut currency = None;
        for (part_from, part_to) in month_parts(from, to) {
            match self
                .lines_of(store, holdings, scope, part_from, part_to)
                .await?
            {
                Some((lines, code)) if currency.as_ref().is_none_or(|c| *c == code) => {
                    total += gross(&lines);
                    currency = Some(code);
                }
                _ => return Ok(None),
            }
        }
        Ok(currency.map(|currency| PeriodCost {
            from,
            to,
            gross: round_money(total),
            currency,
        }))
    }

    /// This month from its first day through `through` (the last day with readings), and the
    /// whole month at that pace.
    pub async fn month_to_date(
        &mut self,
        store: &Store,
        holdings: &Holdings,
        through: Date,
    ) -> Result<Option<MonthToDate>, SelfServiceError> {
        let month = through.first_of_month();
        let Some(end) = through.tomorrow().ok() else {
            return Ok(None);
        };
        let Some((lines, currency)) = self
            .lines_of(store, holdings, CostScope::Customer, month, end)
            .await?
        else {
            return Ok(None);
        };
        let days_elapsed = i64::from(month.until(end).map_or(0, |s| s.get_days()));
        let days_in_month = i64::from(month.days_in_month());
        let forecast = (days_elapsed < days_in_month)
            .then(|| round_money(gross(&at_pace(&lines, days_elapsed, days_in_month))));
        Ok(Some(MonthToDate {
            month,
            through,
            days_elapsed,
            days_in_month,
            so_far: round_money(gross(&lines)),
            forecast,
            currency,
        }))
    }
}

/// This month's cost so far and where it is heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthToDate {
    /// The month's first day.
    pub month: Date,
    /// The last day rated.
    pub through: Date,
    pub days_elapsed: i64,
    pub days_in_month: i64,
    /// VAT included.
    pub so_far: Decimal,
    /// The whole month at the pace so far, VAT included; `None` when the month is complete.
    pub forecast: Option<Decimal>,
    pub currency: Currency,
}

/// The lines of `days_elapsed` days carried on to `days_in_month` at the same pace: every
/// line that grows with time or use (energy, prorated fixed and capacity charges, per-kWh
/// taxes and subsidies) scales by days; a one-off charge stays what it is.
fn at_pace(lines: &[DocumentLine], days_elapsed: i64, days_in_month: i64) -> Vec<DocumentLine> {
    let factor = Decimal::from(days_in_month) / Decimal::from(days_elapsed.max(1));
    lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            if line.unit != LineUnit::Piece {
                line.quantity *= factor;
                line.net = round_money(line.net * factor);
            }
            line
        })
        .collect()
}

/// `[from, to)` cut at the first of each month.
pub fn month_parts(from: Date, to: Date) -> Vec<(Date, Date)> {
    let mut parts = Vec::new();
    let mut start = from;
    while start < to {
        let next_month = start.first_of_month().checked_add(1.month()).unwrap_or(to);
        let end = next_month.min(to);
        parts.push((start, end));
        start = end;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn month_parts_cut_at_the_first_of_each_month() {
        assert_eq!(
            month_parts(date(2026, 1, 15), date(2026, 3, 10)),
            vec![
                (date(2026, 1, 15), date(2026, 2, 1)),
                (date(2026, 2, 1), date(2026, 3, 1)),
                (date(2026, 3, 1), date(2026, 3, 10)),
            ]
        );
        assert_eq!(
            month_parts(date(2026, 2, 1), date(2026, 3, 1)),
            vec![(date(2026, 2, 1), date(2026, 3, 1))]
        );
        assert!(month_parts(date(2026, 3, 1), date(2026, 3, 1)).is_empty());
    }

    fn line(unit: LineUnit, net: Decimal) -> DocumentLine {
        DocumentLine {
            contract_id: "C1".into(),
            kind: nordlys_core::document::LineKind::Energy,
            source: "p".into(),
            code: "x".into(),
            description: "x".into(),
            from: date(2026, 11, 1),
            to: date(2026, 11, 10),
            quantity: Decimal::ONE,
            unit,
            unit_price: net,
            net,
            vat_category: nordlys_core::document::VatCategory::Standard,
            vat_percent: Decimal::from(25),
            explanation: Vec::new(),
        }
    }

    #[test]
    fn the_pace_scales_what_grows_with_time_and_keeps_one_off_charges() {
        // Ten days of November: 100.00 of energy, 30.00 of prorated fixed charge, a 50.00
        // one-off fee. At the pace: 300 + 90 + 50 = 440 net, 550 with 25 % VAT.
        let lines = vec![
            line(LineUnit::Kwh, Decimal::from(100)),
            line(LineUnit::Day, Decimal::from(30)),
            line(LineUnit::Piece, Decimal::from(50)),
        ];
        assert_eq!(gross(&lines), Decimal::new(22_500, 2));
        assert_eq!(gross(&at_pace(&lines, 10, 30)), Decimal::new(55_000, 2));
    }
}
