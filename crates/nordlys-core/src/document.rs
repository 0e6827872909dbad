//! Issued documents: invoices and credit notes with their lines and VAT breakdown.
//! Once issued a document is immutable; corrections are new documents that reference it.
//!
//! Amounts are stored signed from the utility's point of view: an invoice's lines are what the
//! customer owes (positive for charges, negative for subsidies), a credit note's lines are the
//! negation of what it reverses. The sum of every document's lines for a contract-period is
//! therefore what the customer owes for it. Renderers (EHF, PDF) show credit notes positive.
//!
//! A line's vocabulary is typed (`line`: kind, VAT category, unit with its UN/ECE code;
//! `explanation`: why the line is what it is), so that renderers need no string parsing.

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::kid::Kid;
use crate::quantity::{Currency, code_enum};

mod explanation;
mod line;
pub use explanation::{Explanation, HourPeak};
pub use line::{LineKind, LineUnit, VatCategory};

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
    pub kind: LineKind,
    /// Product or statutory table the line came from.
    pub source: String,
    pub code: String,
    pub description: String,
    pub from: Date,
    pub to: Date,
    pub quantity: Decimal,
    pub unit: LineUnit,
    pub unit_price: Decimal,
    /// Rounded to 2 decimals.
    pub net: Decimal,
    pub vat_category: VatCategory,
    pub vat_percent: Decimal,
    /// Why the line is what it is (peaks, time-of-use split, tax periods, what it corrects).
    pub explanation: Vec<Explanation>,
}

impl DocumentLine {
    /// What makes two lines "the same line" when what stands billed and a new rating are
    /// compared: everything the customer reads on the line except its quantity, amount and
    /// explanation. Two time-of-use lines of one product differ by description; a line whose
    /// unit price changed is another line (it is reversed and billed anew, never merged).
    pub fn identity(&self) -> LineIdentity<'_> {
        LineIdentity {
            contract_id: &self.contract_id,
            kind: self.kind,
            source: &self.source,
            code: &self.code,
            description: &self.description,
            from: self.from,
            to: self.to,
            unit: &self.unit,
            unit_price: self.unit_price.normalize(),
            vat_category: self.vat_category,
            vat_percent: self.vat_percent.normalize(),
        }
    }

    /// This line reversed: quantity and amount negated, everything else as billed.
    pub fn negated(&self) -> DocumentLine {
        DocumentLine {
            quantity: -self.quantity,
            net: -self.net,
            ..self.clone()
        }
    }
}

/// See [`DocumentLine::identity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineIdentity<'a> {
    pub contract_id: &'a str,
    pub kind: LineKind,
    pub source: &'a str,
    pub code: &'a str,
    pub description: &'a str,
    pub from: Date,
    pub to: Date,
    pub unit: &'a LineUnit,
    pub unit_price: Decimal,
    pub vat_category: VatCategory,
    pub vat_percent: Decimal,
}

/// A line of an issued document, with the document it stands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    pub document_id: i64,
    /// The document's number as printed (`F-12`).
    pub document_number: String,
    pub line: DocumentLine,
}

/// VAT for one category and rate on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatBreakdown {
    pub category: VatCategory,
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
    /// When the amount is due; `None` for documents that ask for no payment (a credit note,
    /// unless the utility's policy gives credit notes payment terms).
    pub due_date: Option<Date>,
    pub currency: Currency,
    pub lines: Vec<DocumentLine>,
    pub vat: Vec<VatBreakdown>,
    pub net: Decimal,
    pub vat_total: Decimal,
    pub gross: Decimal,
    /// The documents this one corrects (their ids), in the order their lines were billed;
    /// empty for a first invoice.
    pub references: Vec<i64>,
}

/// A stored, issued document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    pub id: i64,
    pub series: String,
    pub number: i64,
    /// The payment reference; unique across every series of the utility. `None` on documents
    /// that ask for no payment.
    pub kid: Option<Kid>,
    pub document: NewDocument,
}

impl IssuedDocument {
    /// The number as printed and referenced: series and number, `F-12`.
    pub fn display_number(&self) -> String {
        display_number(&self.series, self.number)
    }
}

/// A document number as printed and referenced: `F-12`.
pub fn display_number(series: &str, number: i64) -> String {
    format!("{series}-{number}")
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
                category: line.vat_category,
                percent: line.vat_percent,
                taxable: line.net,
                vat: Decimal::ZERO,
            }),
        }
    }
    // By category code, then rate: the order documents have always listed their VAT in.
    groups.sort_by(|a, b| (a.category.code(), a.percent).cmp(&(b.category.code(), b.percent)));
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

    fn line(net: &str, category: VatCategory, percent: i64) -> DocumentLine {
        DocumentLine {
            contract_id: "c".into(),
            kind: LineKind::Energy,
            source: "p".into(),
            code: "e".into(),
            description: String::new(),
            from: Date::constant(2025, 1, 1),
            to: Date::constant(2025, 2, 1),
            quantity: Decimal::ONE,
            unit: LineUnit::Kwh,
            unit_price: Decimal::ONE,
            net: net.parse().unwrap(),
            vat_category: category,
            vat_percent: Decimal::from(percent),
            explanation: vec![],
        }
    }

    #[test]
    fn vat_is_computed_on_the_sum_of_rounded_nets() {
        // Per line 0.01 × 25 % would round to 0.00 three times; on the sum 0.03 × 25 % = 0.0075 → 0.01.
        let lines = [
            line("0.01", VatCategory::Standard, 25),
            line("0.01", VatCategory::Standard, 25),
            line("0.01", VatCategory::Standard, 25),
            line("100.00", VatCategory::Zero, 0),
            line("10.00", VatCategory::Exempt, 0),
        ];
        let (net, vat, vat_total, gross) = document_totals(&lines);
        assert_eq!(net, "110.03".parse().unwrap());
        let categories: Vec<VatCategory> = vat.iter().map(|v| v.category).collect();
        assert_eq!(
            categories,
            [
                VatCategory::Exempt,
                VatCategory::Standard,
                VatCategory::Zero
            ],
            "listed by code"
        );
        assert_eq!(vat_total, "0.01".parse().unwrap());
        assert_eq!(gross, "110.04".parse().unwrap());
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
