//! The checks a document passes before it is rendered: everything the EN 16931 and Peppol
//! rules require of it that the model does not guarantee by its types. Each failed check is a
//! [`DocumentProblem`]; all of them are collected, so the run report lists every reason.

use rust_decimal::Decimal;

use nordlys_core::document::{DocumentKind, document_totals};
use nordlys_core::ids::{Gln, OrgNumber};
use nordlys_core::model::{Address, Market};

use super::UblProfile;
use super::codes::VatCategoryCode;
use super::lines::shown_amounts;
use super::problems::{DocumentProblem, LineRef};
use crate::model::{BankAccount, ElectronicAddress, InvoiceDocument};

/// Largest difference PEPPOL-EN16931-R120 allows between quantity × price and a line's net.
const R120_TOLERANCE: Decimal = Decimal::from_parts(2, 0, 0, false, 2);

pub(crate) fn problems_of(document: &InvoiceDocument, profile: UblProfile) -> Vec<DocumentProblem> {
    let mut problems = Vec::new();
    let issued = &document.document.document;
    if issued.lines.is_empty() {
        problems.push(DocumentProblem::NoLines);
    }
    if document.seller.name.trim().is_empty() {
        problems.push(DocumentProblem::SellerNameMissing);
    }
    if document.buyer.name.trim().is_empty() {
        problems.push(DocumentProblem::BuyerNameMissing);
    }
    let missing = missing_address_parts(&document.seller.address);
    if !missing.is_empty() {
        problems.push(DocumentProblem::SellerAddressIncomplete { missing });
    }
    let missing = missing_address_parts(&document.buyer.address);
    if !missing.is_empty() {
        problems.push(DocumentProblem::BuyerAddressIncomplete { missing });
    }
    match &document.buyer.endpoint {
        None if profile == UblProfile::Peppol => {
            problems.push(DocumentProblem::BuyerHasNoEndpoint);
        }
        None => {}
        Some(endpoint) => {
            if let Some(rule) = endpoint_rule_broken(endpoint) {
                problems.push(DocumentProblem::InvalidEndpoint {
                    scheme: endpoint.scheme.clone(),
                    id: endpoint.id.clone(),
                    rule,
                });
            }
        }
    }
    line_problems(document, &mut problems);
    total_problems(document, &mut problems);
    let kind = issued.kind;
    if kind == DocumentKind::CreditNote && document.corrects.is_empty() {
        problems.push(DocumentProblem::CreditNoteCorrectsNothing);
    }
    if kind == DocumentKind::Invoice && issued.gross > Decimal::ZERO && issued.due_date.is_none() {
        problems.push(DocumentProblem::DueDateMissing {
            gross: issued.gross,
        });
    }
    if document.seller.country() == Market::Dk && document.buyer.country() == Market::Dk {
        let has_branch = matches!(&document.seller.bank_account, BankAccount::Iban { bic: Some(bic), .. } if !bic.trim().is_empty());
        if !has_branch && asks_for_payment(document) {
            problems.push(DocumentProblem::BankBranchMissing);
        }
        let shown_gross = issued.gross * super::lines::shown_sign(kind);
        if kind == DocumentKind::CreditNote && shown_gross < Decimal::ZERO {
            problems.push(DocumentProblem::DanishCreditNoteNegative { gross: shown_gross });
        }
    }
    problems
}

/// An invoice with an amount due: it gets payment means and payment terms.
pub(crate) fn asks_for_payment(document: &InvoiceDocument) -> bool {
    let issued = &document.document.document;
    issued.kind == DocumentKind::Invoice && issued.gross > Decimal::ZERO
}

fn missing_address_parts(address: &Address) -> Vec<&'static str> {
    let mut missing = Vec::new();
    for (part, value) in [
        ("street", &address.street),
        ("postcode", &address.postcode),
        ("city", &address.city),
    ] {
        if value.trim().is_empty() {
            missing.push(part);
        }
    }
    missing
}

/// The rule a buyer endpoint breaks, if any.
fn endpoint_rule_broken(endpoint: &ElectronicAddress) -> Option<&'static str> {
    match endpoint.scheme.as_str() {
        "0192" => OrgNumber::parse(&endpoint.id).err().map(|_| {
            "PEPPOL-COMMON-R041: a Norwegian organisation number is 9 digits with a MOD11 check digit"
        }),
        "0184" => (!(endpoint.id.len() == 8 && endpoint.id.bytes().all(|b| b.is_ascii_digit())))
            .then_some("PEPPOL-COMMON-R042: a Danish CVR number is 8 digits"),
        "0088" => Gln::parse(&endpoint.id)
            .err()
            .map(|_| "PEPPOL-COMMON-R040: a GLN is 13 digits with a GS1 check digit"),
        _ => Some(
            "Nordlys addresses Peppol endpoints by Norwegian organisation number (0192), Danish CVR (0184) or GLN (0088)",
        ),
    }
}

fn line_problems(document: &InvoiceDocument, problems: &mut Vec<DocumentProblem>) {
    let issued = &document.document.document;
    let mut categories_seen: Vec<&'static str> = Vec::new();
    for (index, line) in issued.lines.iter().enumerate() {
        let at = || LineRef {
            number: index + 1,
            code: line.code.clone(),
        };
        match VatCategoryCode::parse(line.vat_category.code()) {
            None => problems.push(DocumentProblem::UnsupportedVatCategory {
                line: at(),
                category: line.vat_category.code().to_owned(),
            }),
            Some(category) => {
                if let Some(rule) = category.rate_rule(line.vat_percent.is_zero()).or_else(|| {
                    line.vat_percent
                        .is_sign_negative()
                        .then_some("a VAT rate is not negative")
                }) {
                    problems.push(DocumentProblem::VatRateInvalid {
                        line: at(),
                        category: category.code(),
                        percent: line.vat_percent,
                        rule,
                    });
                }
                if !categories_seen.contains(&category.code()) {
                    categories_seen.push(category.code());
                }
            }
        }
        if line.description.trim().is_empty() && line.code.trim().is_empty() {
            problems.push(DocumentProblem::ItemNameMissing { line: at() });
        }
        if line.from >= line.to {
            problems.push(DocumentProblem::LinePeriodEmpty {
                line: at(),
                from: line.from,
                to: line.to,
            });
        }
        if line.net.normalize().scale() > 2 {
            problems.push(DocumentProblem::LineAmountTooPrecise {
                line: at(),
                net: line.net,
            });
        }
        let shown = shown_amounts(line, issued.kind);
        let product = shown.quantity.checked_mul(shown.unit_price);
        let within = product
            .and_then(|product| product.checked_sub(shown.net))
            .is_some_and(|difference| difference.abs() <= R120_TOLERANCE);
        if !within {
            problems.push(DocumentProblem::LineAmountMismatch {
                line: at(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                net: line.net,
            });
        }
    }
    if !document.seller.vat_registered {
        for category in &categories_seen {
            problems.push(DocumentProblem::SellerNotVatRegistered { category });
        }
    }
    let exempt = categories_seen.contains(&"E");
    let reason_given = document
        .vat_exemption_reason
        .as_deref()
        .is_some_and(|reason| !reason.trim().is_empty());
    if exempt && !reason_given {
        problems.push(DocumentProblem::ExemptionReasonMissing);
    }
}

/// The stated totals and VAT breakdown are those EN 16931 computes from the lines.
fn total_problems(document: &InvoiceDocument, problems: &mut Vec<DocumentProblem>) {
    let issued = &document.document.document;
    let (net, vat, vat_total, gross) = document_totals(&issued.lines);
    let mut disagree = |what: String, stated: Decimal, computed: Decimal, rule: &'static str| {
        if stated != computed {
            problems.push(DocumentProblem::TotalsDisagree {
                what,
                stated,
                computed,
                rule,
            });
        }
    };
    disagree("net amount".to_owned(), issued.net, net, "BR-CO-10");
    for group in &vat {
        let stated = issued
            .vat
            .iter()
            .find(|g| g.category == group.category && g.percent == group.percent);
        let name = format!("VAT {} {} %", group.category, group.percent.normalize());
        let (taxable, amount) =
            stated.map_or((Decimal::ZERO, Decimal::ZERO), |g| (g.taxable, g.vat));
        disagree(
            format!("taxable amount of {name}"),
            taxable,
            group.taxable,
            "BR-S-08, BR-Z-08, BR-E-08",
        );
        disagree(
            format!("VAT amount of {name}"),
            amount,
            group.vat,
            "BR-CO-17",
        );
    }
    for stated in &issued.vat {
        let known = vat
            .iter()
            .any(|g| g.category == stated.category && g.percent == stated.percent);
        if !known {
            let name = format!("VAT {} {} %", stated.category, stated.percent.normalize());
            disagree(
                format!("taxable amount of {name}"),
                stated.taxable,
                Decimal::ZERO,
                "BR-CO-18",
            );
        }
    }
    disagree(
        "VAT total".to_owned(),
        issued.vat_total,
        vat_total,
        "BR-CO-14",
    );
    disagree("gross amount".to_owned(), issued.gross, gross, "BR-CO-15");
}
