//! Invoice and credit-note lines as UBL shows them, and the sign rules that turn core's stored
//! amounts into shown ones:
//!
//! - a credit note shows what it credits as positive: every stored amount and quantity of a
//!   credit note is negated (core stores a credit note's lines negated);
//! - an item price is never negative (BR-27): a line with a negative unit price (strømstøtte, a
//!   rebate) is shown with the price made positive and the quantity negated, so quantity ×
//!   price still gives the (negative) net amount (PEPPOL-EN16931-R120).
//!
//! Line periods: core's `to` is exclusive, UBL's `EndDate` inclusive (the day before).

use jiff::civil::Date;
use rust_decimal::Decimal;

use nordlys_core::document::{DocumentKind, DocumentLine};

use super::codes::{VatCategoryCode, unit_code};
use super::xml::Xml;
use crate::model::InvoiceDocument;

/// +1 for an invoice, −1 for a credit note: the factor from stored to shown amounts.
pub(crate) fn shown_sign(kind: DocumentKind) -> Decimal {
    match kind {
        DocumentKind::Invoice => Decimal::ONE,
        DocumentKind::CreditNote => Decimal::NEGATIVE_ONE,
    }
}

/// A line's quantity, unit price and net amount as the document shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShownAmounts {
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub net: Decimal,
}

pub(crate) fn shown_amounts(line: &DocumentLine, kind: DocumentKind) -> ShownAmounts {
    let sign = shown_sign(kind);
    let mut quantity = line.quantity * sign;
    let mut unit_price = line.unit_price;
    if unit_price.is_sign_negative() && !unit_price.is_zero() {
        quantity = -quantity;
        unit_price = -unit_price;
    }
    ShownAmounts {
        quantity,
        unit_price,
        net: line.net * sign,
    }
}

/// The inclusive last day of a period whose `to` is exclusive.
pub(crate) fn inclusive_end(to: Date) -> Date {
    to.yesterday().unwrap_or(to)
}

/// The document's invoicing period: from the first line's start to the last line's end
/// (inclusive), so every line period lies within it (PEPPOL-EN16931-R110, R111).
pub(crate) fn document_period(lines: &[DocumentLine]) -> Option<(Date, Date)> {
    let from = lines.iter().map(|line| line.from).min()?;
    let to = lines.iter().map(|line| line.to).max()?;
    Some((from, inclusive_end(to)))
}

/// The item name: the description, else the code.
pub(crate) fn item_name(line: &DocumentLine) -> &str {
    if line.description.trim().is_empty() {
        &line.code
    } else {
        &line.description
    }
}

/// "Metering point" in the buyer's language, the name of the line property with the GSRN.
fn metering_point_label(document: &InvoiceDocument) -> &'static str {
    match document.language {
        nordlys_core::model::Language::Nb | nordlys_core::model::Language::Da => "Målepunkt",
        nordlys_core::model::Language::En => "Metering point",
    }
}

pub(crate) fn write_lines(xml: &mut Xml, document: &InvoiceDocument, currency: &str) {
    let kind = document.document.document.kind;
    let (line_tag, quantity_tag) = match kind {
        DocumentKind::Invoice => ("cac:InvoiceLine", "cbc:InvoicedQuantity"),
        DocumentKind::CreditNote => ("cac:CreditNoteLine", "cbc:CreditedQuantity"),
    };
    let label = metering_point_label(document);
    let mut number = itoa_buffer();
    let mut note = String::new();
    for (index, line) in document.document.document.lines.iter().enumerate() {
        let shown = shown_amounts(line, kind);
        xml.open(line_tag);
        xml.text("cbc:ID", number.format(index + 1));
        if !line.explanation.is_empty() {
            note.clear();
            for (n, part) in line.explanation.iter().enumerate() {
                if n > 0 {
                    note.push_str("; ");
                }
                note.push_str(&part.to_string());
            }
            xml.text("cbc:Note", &note);
        }
        let unit = unit_code(&line.unit);
        xml.decimal(quantity_tag, Some(("unitCode", unit)), shown.quantity);
        xml.amount("cbc:LineExtensionAmount", currency, shown.net);
        xml.open("cac:InvoicePeriod");
        xml.date("cbc:StartDate", line.from);
        xml.date("cbc:EndDate", inclusive_end(line.to));
        xml.close();
        xml.open("cac:Item");
        xml.text("cbc:Name", item_name(line));
        if !line.code.is_empty() {
            xml.open("cac:SellersItemIdentification");
            xml.text("cbc:ID", &line.code);
            xml.close();
        }
        xml.open("cac:ClassifiedTaxCategory");
        let category = VatCategoryCode::parse(line.vat_category.code()).map_or("S", |c| c.code());
        xml.text("cbc:ID", category);
        xml.decimal("cbc:Percent", None, line.vat_percent);
        write_vat_scheme(xml);
        xml.close();
        let metering_point = document
            .delivery_point_of(&line.contract_id)
            .and_then(|point| point.metering_point_id.as_ref());
        if let Some(gsrn) = metering_point {
            xml.open("cac:AdditionalItemProperty");
            xml.text("cbc:Name", label);
            xml.text("cbc:Value", gsrn.as_str());
            xml.close();
        }
        xml.close();
        xml.open("cac:Price");
        xml.decimal(
            "cbc:PriceAmount",
            Some(("currencyID", currency)),
            shown.unit_price,
        );
        xml.close();
        xml.close();
    }
}

pub(crate) fn write_vat_scheme(xml: &mut Xml) {
    xml.open("cac:TaxScheme");
    xml.text("cbc:ID", "VAT");
    xml.close();
}

/// Decimal digits of a line number without allocating.
struct LineNumber([u8; 20], usize);

fn itoa_buffer() -> LineNumber {
    LineNumber([0; 20], 0)
}

impl LineNumber {
    fn format(&mut self, mut n: usize) -> &str {
        let mut at = self.0.len();
        loop {
            at -= 1;
            self.0[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.1 = at;
        std::str::from_utf8(&self.0[self.1..]).unwrap_or("0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: &str, unit_price: &str, net: &str) -> DocumentLine {
        DocumentLine {
            contract_id: "c".into(),
            kind: nordlys_core::document::LineKind::Subsidy,
            source: "statutory".into(),
            code: "stromstotte".into(),
            description: "Strømstøtte".into(),
            from: Date::constant(2026, 1, 1),
            to: Date::constant(2026, 2, 1),
            quantity: quantity.parse().unwrap(),
            unit: nordlys_core::document::LineUnit::Kwh,
            unit_price: unit_price.parse().unwrap(),
            net: net.parse().unwrap(),
            vat_category: nordlys_core::document::VatCategory::Standard,
            vat_percent: Decimal::from(25),
            explanation: vec![],
        }
    }

    fn amounts(shown: ShownAmounts) -> (String, String, String) {
        (
            shown.quantity.normalize().to_string(),
            shown.unit_price.normalize().to_string(),
            shown.net.normalize().to_string(),
        )
    }

    #[test]
    fn a_negative_price_becomes_a_negative_quantity() {
        let subsidy = line("400", "-0.0931", "-37.24");
        let shown = shown_amounts(&subsidy, DocumentKind::Invoice);
        assert_eq!(
            amounts(shown),
            ("-400".into(), "0.0931".into(), "-37.24".into())
        );
        assert_eq!(shown.quantity * shown.unit_price, shown.net);
    }

    #[test]
    fn a_credit_note_shows_what_it_credits_positive() {
        // Stored negated: crediting a charge of 100 kWh × 0.5 = 50.
        let credited = line("100", "0.5", "50").negated();
        let shown = shown_amounts(&credited, DocumentKind::CreditNote);
        assert_eq!(amounts(shown), ("100".into(), "0.5".into(), "50".into()));
        // Crediting a subsidy (stored: +400 kWh × −0.0931 = +37.24 owed back) shows a
        // negative credit line with a positive price.
        let credited_subsidy = line("400", "-0.0931", "-37.24").negated();
        let shown = shown_amounts(&credited_subsidy, DocumentKind::CreditNote);
        assert_eq!(
            amounts(shown),
            ("-400".into(), "0.0931".into(), "-37.24".into())
        );
        assert_eq!(shown.quantity * shown.unit_price, shown.net);
    }

    #[test]
    fn a_zero_price_keeps_its_quantity() {
        let free = line("3", "0", "0");
        assert_eq!(
            shown_amounts(&free, DocumentKind::Invoice).quantity,
            Decimal::from(3)
        );
    }

    #[test]
    fn periods_end_on_the_day_before_the_exclusive_end() {
        assert_eq!(
            inclusive_end(Date::constant(2026, 2, 1)),
            Date::constant(2026, 1, 31)
        );
        assert_eq!(
            inclusive_end(Date::constant(2024, 3, 1)),
            Date::constant(2024, 2, 29)
        );
        assert_eq!(
            inclusive_end(Date::constant(2026, 1, 1)),
            Date::constant(2025, 12, 31)
        );
        let mut early = line("1", "1", "1");
        early.from = Date::constant(2025, 12, 1);
        early.to = Date::constant(2025, 12, 19);
        let lines = [line("1", "1", "1"), early];
        assert_eq!(
            document_period(&lines),
            Some((Date::constant(2025, 12, 1), Date::constant(2026, 1, 31)))
        );
        assert_eq!(document_period(&[]), None);
    }

    #[test]
    fn line_numbers_are_decimal() {
        let mut number = itoa_buffer();
        assert_eq!(number.format(0), "0");
        assert_eq!(number.format(7), "7");
        assert_eq!(number.format(300), "300");
    }
}
