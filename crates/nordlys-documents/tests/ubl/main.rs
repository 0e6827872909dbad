//! EHF rendering of every fixture kind, validated by the official rules (CEN EN 16931 and
//! Peppol BIS Billing 3.0 Schematron, `../shared/tools/peppol/validate`): households with the
//! CEN rules, documents to a Peppol endpoint with both. Zero fatal findings; warnings printed.

mod fixture_kinds;
mod problems;
mod validate;

use nordlys_core::document::DocumentKind;
use nordlys_documents::fixtures::{self, FixtureKind, HOUSEHOLD_NATIONAL_ID};
use nordlys_documents::{UblProfile, render_ubl};

fn rendered(kind: FixtureKind) -> String {
    let document = kind.build();
    let bytes = render_ubl(&document, UblProfile::for_buyer(&document.buyer))
        .unwrap_or_else(|problems| panic!("{kind:?}: {problems}"));
    String::from_utf8(bytes).expect("UTF-8")
}

/// The text of the first `<tag>` element in `xml`.
fn first<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let start = xml.find(&open)?;
    let after = &xml[start..];
    let body = &after[after.find('>')? + 1..];
    Some(&body[..body.find('<')?])
}

fn count(xml: &str, tag: &str) -> usize {
    xml.matches(&format!("<{tag}>")).count() + xml.matches(&format!("<{tag} ")).count()
}

#[test]
fn the_same_document_gives_the_same_bytes() {
    for kind in FixtureKind::ALL {
        assert_eq!(rendered(kind), rendered(kind), "{kind:?}");
    }
}

#[test]
fn households_get_plain_en16931_without_a_personal_id() {
    for kind in [
        FixtureKind::Household,
        FixtureKind::NorthNorwayZeroRated,
        FixtureKind::FinalSettlement,
    ] {
        let document = kind.build();
        assert_eq!(UblProfile::for_buyer(&document.buyer), UblProfile::En16931);
        let xml = rendered(kind);
        assert_eq!(
            first(&xml, "cbc:CustomizationID"),
            Some("urn:cen.eu:en16931:2017")
        );
        assert!(!xml.contains("cbc:ProfileID"), "{kind:?}");
        assert!(
            !xml.contains(HOUSEHOLD_NATIONAL_ID),
            "{kind:?}: the fødselsnummer is in the XML"
        );
        // The buyer has no endpoint; the seller has its own.
        assert_eq!(count(&xml, "cbc:EndpointID"), 1, "{kind:?}");
    }
}

#[test]
fn businesses_get_peppol_bis_billing_3() {
    let xml = rendered(FixtureKind::Business);
    assert_eq!(
        first(&xml, "cbc:CustomizationID"),
        Some("urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
    );
    assert_eq!(
        first(&xml, "cbc:ProfileID"),
        Some("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
    );
    assert!(xml.contains(r#"<cbc:EndpointID schemeID="0192">931112228</cbc:EndpointID>"#));
    assert!(xml.contains(r#"<cbc:EndpointID schemeID="0192">945101008</cbc:EndpointID>"#));
    assert!(xml.contains("<cbc:CompanyID>NO931112228MVA</cbc:CompanyID>"));
    assert!(xml.contains("<cbc:CompanyID>Foretaksregisteret</cbc:CompanyID>"));
    assert_eq!(first(&xml, "cbc:BuyerReference"), Some("4501-Drift"));
    // Payment: credit transfer, the KID as payment id, the seller's account.
    let kid = FixtureKind::Business.build().document.kid.expect("a KID");
    assert_eq!(first(&xml, "cbc:PaymentMeansCode"), Some("30"));
    assert_eq!(first(&xml, "cbc:PaymentID"), Some(kid.as_str()));
    let account = &xml[xml.find("<cac:PayeeFinancialAccount>").expect("an account")..];
    assert_eq!(first(account, "cbc:ID"), Some("15031234562"));
    // The billing period: the line's exclusive end is the day after the inclusive EndDate.
    assert_eq!(first(&xml, "cbc:StartDate"), Some("2026-01-01"));
    assert_eq!(first(&xml, "cbc:EndDate"), Some("2026-01-31"));
    // One line per document line, each naming its metering point.
    assert_eq!(count(&xml, "cac:InvoiceLine"), 8);
    let gsrn = FixtureKind::Business.build().delivery_points[0]
        .metering_point_id
        .clone()
        .expect("a GSRN");
    assert_eq!(
        xml.matches(&format!("<cbc:Value>{gsrn}</cbc:Value>"))
            .count(),
        8
    );
    assert!(xml.contains(r#"<cbc:InvoicedQuantity unitCode="KWT">85.4</cbc:InvoicedQuantity>"#));
}

#[test]
fn a_subsidy_is_a_negative_quantity_at_a_positive_price() {
    let xml = rendered(FixtureKind::Household);
    let document = FixtureKind::Household.build();
    let subsidy = document
        .document
        .document
        .lines
        .iter()
        .find(|l| l.code == "stromstotte")
        .expect("strømstøtte");
    let line_xml = &xml[xml
        .find("<cbc:Name>Strømstøtte</cbc:Name>")
        .expect("the line")..];
    assert_eq!(first(line_xml, "cbc:PriceAmount"), Some("0.0931"));
    let at = xml[..xml.find("<cbc:Name>Strømstøtte</cbc:Name>").unwrap_or(0)]
        .rfind("<cac:InvoiceLine>")
        .unwrap_or(0);
    let quantity = first(&xml[at..], "cbc:InvoicedQuantity").expect("a quantity");
    assert_eq!(quantity, format!("-{}", subsidy.quantity.normalize()));
    assert_eq!(
        first(&xml[at..], "cbc:LineExtensionAmount"),
        Some(subsidy.net.to_string().as_str())
    );
    assert!(subsidy.net.is_sign_negative());
}

#[test]
fn a_credit_note_references_the_invoice_and_shows_positive_amounts() {
    let xml = rendered(FixtureKind::CreditNote);
    let document = FixtureKind::CreditNote.build();
    assert_eq!(document.document.document.kind, DocumentKind::CreditNote);
    assert!(xml.contains(
        "<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\""
    ));
    assert_eq!(first(&xml, "cbc:CreditNoteTypeCode"), Some("381"));
    let reference = &xml[xml
        .find("<cac:BillingReference>")
        .expect("a billing reference")..];
    assert_eq!(first(reference, "cbc:ID"), Some("F-1002"));
    assert_eq!(first(reference, "cbc:IssueDate"), Some("2026-02-03"));
    let invoice = FixtureKind::Business.build();
    let payable = first(&xml, "cbc:PayableAmount").expect("a payable amount");
    assert_eq!(payable, invoice.document.document.gross.to_string());
    assert!(
        !xml.contains("<cac:PaymentMeans>"),
        "a credit note asks for no payment"
    );
    assert_eq!(count(&xml, "cac:CreditNoteLine"), 8);
    // The rebate (negative price) credited: a negative credited quantity at a positive price.
    assert!(xml.contains(r#"<cbc:CreditedQuantity unitCode="KWH">-"#));
    assert!(!xml.contains("<cbc:PriceAmount currencyID=\"NOK\">-"));
}

#[test]
fn every_price_is_non_negative() {
    for kind in FixtureKind::ALL {
        let xml = rendered(kind);
        assert!(
            !xml.contains("<cbc:PriceAmount currencyID=\"NOK\">-"),
            "{kind:?}"
        );
        assert!(
            !xml.contains("<cbc:PriceAmount currencyID=\"DKK\">-"),
            "{kind:?}"
        );
    }
}

#[test]
fn exempt_lines_carry_the_reason_and_zero_rated_ones_none() {
    let xml = rendered(FixtureKind::FinnmarkExempt);
    assert!(xml.contains("<cbc:TaxExemptionReason>Unntatt fra merverdiavgift, jf. merverdiavgiftsloven § 3-6 (finansielle tjenester)</cbc:TaxExemptionReason>"));
    assert_eq!(count(&xml, "cbc:TaxExemptionReason"), 1);
    assert_eq!(count(&xml, "cac:TaxSubtotal"), 2);
    let north = rendered(FixtureKind::NorthNorwayZeroRated);
    assert_eq!(count(&north, "cac:TaxSubtotal"), 1);
    assert!(!north.contains("TaxExemptionReason"));
}

#[test]
fn a_danish_document_uses_cvr_dkk_and_a_bank_account_payment() {
    let xml = rendered(FixtureKind::DanishBusiness);
    assert_eq!(first(&xml, "cbc:DocumentCurrencyCode"), Some("DKK"));
    assert!(xml.contains(r#"<cbc:EndpointID schemeID="0184">31415926</cbc:EndpointID>"#));
    assert!(xml.contains(r#"<cbc:CompanyID schemeID="0184">25313763</cbc:CompanyID>"#));
    assert!(xml.contains("<cbc:CompanyID>DK25313763</cbc:CompanyID>"));
    assert_eq!(first(&xml, "cbc:PaymentMeansCode"), Some("42"));
    assert!(xml.contains("<cbc:Name>Bageriet Ørsted ApS</cbc:Name>"));
    assert!(xml.contains("Indkøb &amp; drift"));
}

#[test]
fn all_fixtures_render() {
    assert_eq!(fixtures::all().len(), 12);
    let big = rendered(FixtureKind::ThreeHundredLines);
    assert_eq!(count(&big, "cac:InvoiceLine"), 300);
    assert!(
        !big.contains("<cac:Delivery>"),
        "30 metering points: each line names its own"
    );
}

#[test]
fn the_en16931_profile_is_the_peppol_document_without_the_peppol_ids() {
    let document = FixtureKind::Business.build();
    let peppol = String::from_utf8(render_ubl(&document, UblProfile::Peppol).expect("rendered"))
        .expect("UTF-8");
    let plain = String::from_utf8(render_ubl(&document, UblProfile::En16931).expect("rendered"))
        .expect("UTF-8");
    let differing: Vec<_> = peppol
        .lines()
        .filter(|line| !plain.lines().any(|other| other == *line))
        .collect();
    assert_eq!(
        differing,
        [
            "  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>",
            "  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>",
        ]
    );
    assert_eq!(plain.lines().count(), peppol.lines().count() - 1);
}
