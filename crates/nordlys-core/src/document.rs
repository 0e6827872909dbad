//! Issued documents: invoices and credit notes with their lines and VAT breakdown.
//! Once issued a document is immutable; corrections are new documents that reference it.
//!
//! Amounts are stored signed from the utility's point of view: an invoice's lines are what the
//! customer owes (positive for charges, negative for subsidies), a credit note's lines are the
//! negation of what it reverses. The sum of every document's lines for a contract-period is
//! therefore what the customer owes for it. Renderers (EHF, PDF) show credit notes positive.

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::kid::Kid;
use crate::quantity::{Currency, code_enum};

code_enum!(
    /// Invoice or credit note.
    DocumentKind, "kind", { Invoice => "invoice", CreditNote => "credit_note" }
);

code_enum!(
    /// How corrections are issued: reverse and reissue, or one document with the difference.
    CorrectionMode, "correction_mode", { CreditAndReissue => "credit-and-reissue", Difference => "difference" }
);

/// One line of a document. `contract_id` and `period` tie it to the contract-period it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub contract_id: String,
    /// Line kind: fixed, energy, spot, capacity, demand, tax, subsidy, subscription, fee, usage.
    pub kind: String,
    /// Product or statutory table the line came from.
    pub source: String,
    pub code: String,
    pub description: String,
    pub from: Date,
    pub to: Date,
    pub quantity: Decimal,
    pub unit: String,
    pub unit_price: Decimal,
    /// Rounded to 2 decimals.
    pub net: Decimal,
    /// VAT category code (S, Z, E …).
    pub vat_category: String,
    pub vat_percent: Decimal,
    /// Why the line is what it is (peaks, time-of-use split, tax periods), one entry per line of text.
    pub explanation: Vec<String>,
}

impl DocumentLine {
    /// What makes two lines "the same line" when billed state and new rating are compared.
    pub fn identity(&self) -> (&str, &str, &str, &str, Date, Date, &str, &str, Decimal) {
        (
            &self.contract_id,
            &self.kind,
            &self.source,
            &self.code,
            self.from,
            self.to,
            &self.unit,
            &self.vat_category,
            self.vat_percent.normalize(),
        )
    }
}

/// VAT for one category and rate on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatBreakdown {
    pub category: String,
    pub percent: Decimal,
    pub taxable: Decimal,
    pub vat: Decimal,
}

/// A document ready to be issued (number and KID are allocated when it is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub kind: DocumentKind,
    pub account_id: String,
    /// The billing period `YYYY-MM` the document settles.
    pub period: String,
    pub issue_date: Date,
    pub due_date: Date,
    pub currency: Currency,
    pub lines: Vec<DocumentLine>,
    pub vat: Vec<VatBreakdown>,
    pub net: Decimal,
    pub vat_total: Decimal,
    pub gross: Decimal,
    /// The document this one corrects, if any.
    pub references: Option<i64>,
}

/// A stored, issued document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    pub id: i64,
    pub series: String,
    pub number: i64,
    pub kid: Kid,
    pub document: NewDocument,
}

/// Round half away from zero to 2 decimals (EN 16931 line and document amounts).
pub fn round_money(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Net, VAT per (category, rate) on the sum of line nets, and gross, as EN 16931 computes them.
pub fn document_totals(lines: &[DocumentLine]) -> (Decimal, Vec<VatBreakdown>, Decimal, Decimal) {
    let mut groups: Vec<VatBreakdown> = Vec::new();
    let mut net = Decimal::ZERO;
    for line in lines {
        net += line.net;
        match groups
            .iter_mut()
            .find(|g| g.category == line.vat_category && g.percent == line.vat_percent)
        {
            Some(g) => g.taxable += line.net,
            None => groups.push(VatBreakdown {
                category: line.vat_category.clone(),
                percent: line.vat_percent,
                taxable: line.net,
                vat: Decimal::ZERO,
            }),
        }
    }
    groups.sort_by(|a, b| (&a.category, a.percent).cmp(&(&b.category, b.percent)));
    let mut vat_total = Decimal::ZERO;
    for g in &mut groups {
        g.vat = round_money(g.taxable * g.percent / Decimal::ONE_HUNDRED);
        vat_total += g.vat;
    }
    (net, groups, vat_total, net + vat_total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(net: &str, category: &str, percent: i64) -> DocumentLine {
        DocumentLine {
            contract_id: "c".into(),
            kind: "energy".into(),
            source: "p".into(),
            code: "e".into(),
            description: String::new(),
            from: Date::constant(2025, 1, 1),
            to: Date::constant(2025, 2, 1),
            quantity: Decimal::ONE,
            unit: "kWh".into(),
            unit_price: Decimal::ONE,
            net: net.parse().unwrap(),
            vat_category: category.into(),
            vat_percent: Decimal::from(percent),
            explanation: vec![],
        }
    }

    #[test]
    fn vat_is_computed_on_the_sum_of_rounded_nets() {
        // Per line 0.01 × 25 % would round to 0.00 three times; on the sum 0.03 × 25 % = 0.0075 → 0.01.
        let lines = [
            line("0.01", "S", 25),
            line("0.01", "S", 25),
            line("0.01", "S", 25),
            line("100.00", "Z", 0),
        ];
        let (net, vat, vat_total, gross) = document_totals(&lines);
        assert_eq!(net, "100.03".parse().unwrap());
        assert_eq!(vat.len(), 2);
        assert_eq!(vat_total, "0.01".parse().unwrap());
        assert_eq!(gross, "100.04".parse().unwrap());
    }

    #[test]
    fn money_rounds_half_away_from_zero() {
        assert_eq!(
            round_money("2.345".parse().unwrap()),
            "2.35".parse().unwrap()
        );
        assert_eq!(
            round_money("-2.345".parse().unwrap()),
            "-2.35".parse().unwrap()
        );
        assert_eq!(
            round_money("2.344".parse().unwrap()),
            "2.34".parse().unwrap()
        );
    }
}
