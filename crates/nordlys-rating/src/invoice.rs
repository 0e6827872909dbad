//! The engine's output: invoice lines with their explanation, diagnostics, and VAT totals.
//! The line vocabulary (kind, VAT category, unit, explanation) is `nordlys_core::document`'s,
//! re-exported here.
//!
//! A line's `net` is rounded once (2 decimals, half away from zero, as EN 16931 does) from
//! the exact amount; VAT is computed per rate on the sum of the rounded nets in that rate.

use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::decimal::{nano_to_decimal, round_display, round_money};

/// A line's vocabulary is core's, so that a rated line becomes a document line unchanged.
pub use nordlys_core::document::{Explanation, HourPeak, LineKind, LineUnit, VatCategory};

/// One invoice line.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    pub kind: LineKind,
    /// Product or statutory code that produced the line.
    pub source: Arc<str>,
    /// Component (or statutory charge) code.
    pub code: Arc<str>,
    pub description: Arc<str>,
    /// The local dates `[from, to)` the line covers.
    pub from: Date,
    pub to: Date,
    pub quantity: Decimal,
    pub unit: LineUnit,
    /// Price per unit. Exact for single-price lines; for lines whose price varies (spot,
    /// subsidies, prorated fees) it is the average rounded to the fewest decimals (at least 4)
    /// with which |quantity × unit price − net| ≤ 0.02 (PEPPOL-EN16931-R120); `net` is always
    /// computed from the exact amount.
    pub unit_price: Decimal,
    /// The exact amount before rounding.
    pub amount: Decimal,
    /// `amount` rounded to 2 decimals, half away from zero.
    pub net: Decimal,
    pub vat_category: VatCategory,
    /// VAT rate in percent (e.g. 25).
    pub vat_percent: Decimal,
    pub explanation: Vec<Explanation>,
}

impl InvoiceLine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kind: LineKind,
        source: &Arc<str>,
        code: &Arc<str>,
        description: &Arc<str>,
        span: (Date, Date),
        quantity: Decimal,
        unit: LineUnit,
        unit_price: Decimal,
        amount: Decimal,
        vat: (VatCategory, Decimal),
    ) -> Self {
        InvoiceLine {
            kind,
            source: source.clone(),
            code: code.clone(),
            description: description.clone(),
            from: span.0,
            to: span.1,
            quantity,
            unit,
            unit_price,
            net: round_money(amount),
            amount,
            vat_category: vat.0,
            vat_percent: vat.1,
            explanation: Vec::new(),
        }
    }
}

/// How sure the engine is about something it noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
}

/// Something the reader of a rating should know (not an error: the lines are complete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Arc<str>,
    pub message: String,
}

/// The result of rating one metering point (or service) for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub lines: Vec<InvoiceLine>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Rating {
    pub fn totals(&self) -> Totals {
        totals(&self.lines)
    }
}

/// VAT for one (category, rate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatSubtotal {
    pub category: VatCategory,
    pub percent: Decimal,
    /// Sum of the line nets in this category and rate.
    pub taxable: Decimal,
    /// `taxable × percent / 100`, rounded to 2 decimals half away from zero.
    pub vat: Decimal,
}

/// Invoice totals: net, VAT per rate, gross.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub net: Decimal,
    pub vat: Vec<VatSubtotal>,
    pub vat_total: Decimal,
    pub gross: Decimal,
}

/// Totals of any set of lines (e.g. several ratings on one invoice). VAT is computed per
/// category and rate on the sum of the rounded line nets, as EN 16931 requires.
pub fn totals(lines: &[InvoiceLine]) -> Totals {
    let mut groups: Vec<VatSubtotal> = Vec::new();
    let mut net = Decimal::ZERO;
    for line in lines {
        net += line.net;
        match groups
            .iter_mut()
            .find(|g| g.category == line.vat_category && g.percent == line.vat_percent)
        {
            Some(g) => g.taxable += line.net,
            None => groups.push(VatSubtotal {
                category: line.vat_category,
                percent: line.vat_percent,
                taxable: line.net,
                vat: Decimal::ZERO,
            }),
        }
    }
    groups.sort_by_key(|g| (g.category, g.percent));
    let mut vat_total = Decimal::ZERO;
    for g in &mut groups {
        g.vat = round_money(g.taxable * g.percent / Decimal::ONE_HUNDRED);
        vat_total += g.vat;
    }
    Totals {
        net,
        vat: groups,
        vat_total,
        gross: net + vat_total,
    }
}

/// Largest difference PEPPOL-EN16931-R120 allows between quantity × unit price and a line's net.
pub const R120_TOLERANCE: Decimal = Decimal::from_parts(2, 0, 0, false, 2);

/// The unit price of a line whose price is an average (spot, subsidy, prorated fee, prorated
/// demand charge): `amount / quantity` rounded half away from zero to the fewest decimals, at
/// least 4, with which the line satisfies PEPPOL-EN16931-R120 (|quantity × unit price − net|
/// ≤ 0.02). Ten decimals suffice up to about 10^8 units on a line; larger quantities get more,
/// up to the exact quotient. A zero quantity has a zero unit price (its amount is zero).
pub(crate) fn average_unit_price(amount: Decimal, quantity: Decimal) -> Decimal {
    let Some(exact) = amount.checked_div(quantity) else {
        return Decimal::ZERO;
    };
    let net = round_money(amount);
    (4..=Decimal::MAX_SCALE)
        .map(|decimals| round_display(exact, decimals))
        .find(|price| {
            quantity
                .checked_mul(*price)
                .and_then(|product| product.checked_sub(net))
                .is_some_and(|difference| difference.abs() <= R120_TOLERANCE)
        })
        .unwrap_or(exact)
}

/// A price per kWh from the engine's nano scale, for display.
pub(crate) fn price_decimal(nano: i64) -> Decimal {
    nano_to_decimal(nano)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn an_average_unit_price_has_the_fewest_decimals_that_satisfy_r120() {
        // 4 decimals at least, even where fewer would do.
        assert_eq!(average_unit_price(d("1"), d("3")).to_string(), "0.3333");
        // 1,234,567.891 kWh for 411,522.63 (0.33333333…/kWh): 7 decimals give 411,522.5028
        // (off by 0.13), 8 give 411,522.6262 (off by 0.004).
        let price = average_unit_price(d("411522.630333"), d("1234567.891"));
        assert_eq!(price.to_string(), "0.33333333");
        // A huge line needs more than 10.
        let price = average_unit_price(d("3333333333333.3333"), d("10000000000000"));
        let net = round_money(d("3333333333333.3333"));
        assert!((d("10000000000000") * price - net).abs() <= R120_TOLERANCE);
        assert!(price.scale() > 10, "{price}");
        assert_eq!(
            average_unit_price(Decimal::ZERO, Decimal::ZERO),
            Decimal::ZERO
        );
    }
}
