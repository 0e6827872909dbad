//! A document that cannot be made is refused with every reason, each named, and no bytes.

use nordlys_core::document::VatCategory;
use nordlys_core::ids::OrgNumber;
use nordlys_core::model::Address;
use nordlys_documents::fixtures::FixtureKind;
use nordlys_documents::model::{BankAccount, ElectronicAddress, PartyIdentity};
use nordlys_documents::{DocumentProblem, UblProfile, render_ubl};

fn problems_of(
    document: &nordlys_documents::InvoiceDocument,
    profile: UblProfile,
) -> Vec<DocumentProblem> {
    match render_ubl(document, profile) {
        Ok(_) => panic!("{} was rendered", document.document.display_number()),
        Err(problems) => {
            assert_eq!(problems.document, document.document.display_number());
            problems.problems
        }
    }
}

#[test]
fn a_buyer_without_an_address_is_refused() {
    let mut document = FixtureKind::Business.build();
    document.buyer.address = Address::default();
    let problems = problems_of(&document, UblProfile::Peppol);
    assert_eq!(
        problems,
        vec![DocumentProblem::BuyerAddressIncomplete {
            missing: vec!["street", "postcode", "city"]
        }]
    );
    assert!(problems[0].to_string().contains("BR-10"), "{}", problems[0]);
}

#[test]
fn an_endpoint_whose_organisation_number_fails_its_check_is_refused() {
    let mut document = FixtureKind::Business.build();
    document.buyer.endpoint = Some(ElectronicAddress {
        scheme: "0192".into(),
        id: "945101009".into(),
    });
    let problems = problems_of(&document, UblProfile::Peppol);
    let [DocumentProblem::InvalidEndpoint { scheme, id, rule }] = problems.as_slice() else {
        panic!("{problems:?}");
    };
    assert_eq!((scheme.as_str(), id.as_str()), ("0192", "945101009"));
    assert!(rule.contains("PEPPOL-COMMON-R041"), "{rule}");
    document.buyer.endpoint = Some(ElectronicAddress {
        scheme: "9999".into(),
        id: "x".into(),
    });
    assert!(matches!(
        problems_of(&document, UblProfile::Peppol)[..],
        [DocumentProblem::InvalidEndpoint { .. }]
    ));
}

#[test]
fn a_household_is_not_a_peppol_document() {
    let document = FixtureKind::Household.build();
    assert_eq!(
        problems_of(&document, UblProfile::Peppol),
        vec![DocumentProblem::BuyerHasNoEndpoint]
    );
    assert!(render_ubl(&document, UblProfile::En16931).is_ok());
}

#[test]
fn a_line_that_breaks_a_rule_is_refused_with_every_reason() {
    let mut document = FixtureKind::Household.build();
    let lines = &mut document.document.document.lines;
    lines[1].vat_category = VatCategory::ReverseCharge;
    lines[2].vat_percent = rust_decimal::Decimal::ZERO;
    lines[3].net += rust_decimal::Decimal::ONE; // quantity × price no longer gives the net
    lines[4].description.clear();
    lines[4].code.clear();
    lines[5].to = lines[5].from;
    let problems = problems_of(&document, UblProfile::En16931);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(has("line 2 (fastbelop): VAT category \"AE\""), "{text:#?}");
    assert!(
        has("line 3 (energi-dag): VAT category S at 0 %: BR-S-05"),
        "{text:#?}"
    );
    assert!(
        has("line 4 (energi-natt): quantity") && has("PEPPOL-EN16931-R120"),
        "{text:#?}"
    );
    assert!(
        has("line 5 (): the line has neither a description nor a code"),
        "{text:#?}"
    );
    assert!(
        has("line 6 (elavgift): its period 2026-01-01 to 2026-01-01"),
        "{text:#?}"
    );
    // The net changed, so the stated totals disagree with the lines too.
    assert!(has("net amount is") && has("BR-CO-10"), "{text:#?}");
}

#[test]
fn an_exempt_line_without_a_reason_is_refused() {
    let mut document = FixtureKind::FinnmarkExempt.build();
    document.vat_exemption_reason = None;
    assert_eq!(
        problems_of(&document, UblProfile::En16931),
        vec![DocumentProblem::ExemptionReasonMissing]
    );
}

#[test]
fn a_seller_without_vat_registration_cannot_charge_vat() {
    let mut document = FixtureKind::Business.build();
    document.seller.vat_registered = false;
    assert_eq!(
        problems_of(&document, UblProfile::Peppol),
        vec![DocumentProblem::SellerNotVatRegistered { category: "S" }]
    );
}

#[test]
fn corrections_and_payments_are_checked() {
    let mut credit = FixtureKind::CreditNote.build();
    credit.corrects.clear();
    assert_eq!(
        problems_of(&credit, UblProfile::Peppol),
        vec![DocumentProblem::CreditNoteCorrectsNothing]
    );
    let mut invoice = FixtureKind::Business.build();
    invoice.document.document.due_date = None;
    assert!(matches!(
        problems_of(&invoice, UblProfile::Peppol)[..],
        [DocumentProblem::DueDateMissing { .. }]
    ));
    let mut danish = FixtureKind::DanishBusiness.build();
    danish.seller.bank_account =
        BankAccount::iban("DK50 0040 0440 1162 43", None).expect("an IBAN");
    assert_eq!(
        problems_of(&danish, UblProfile::Peppol),
        vec![DocumentProblem::BankBranchMissing]
    );
}

#[test]
fn a_control_character_is_refused_with_its_place() {
    let mut document = FixtureKind::Business.build();
    document.buyer.name = "Fjordbakeriet\u{1b}[31m AS".into();
    let problems = problems_of(&document, UblProfile::Peppol);
    assert!(!problems.is_empty());
    assert!(
        problems
            .iter()
            .all(|p| matches!(p, DocumentProblem::ForbiddenCharacter { .. })),
        "{problems:?}"
    );
    let DocumentProblem::ForbiddenCharacter { location, .. } = &problems[0] else {
        unreachable!()
    };
    assert_eq!(
        location,
        "Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name"
    );
}

#[test]
fn every_problem_is_listed_in_the_report() {
    let mut document = FixtureKind::Business.build();
    document.buyer.address.city.clear();
    document.seller.identity =
        PartyIdentity::NorwegianOrganisation(OrgNumber::parse("974760673").expect("valid"));
    document.document.document.lines.clear();
    let report = render_ubl(&document, UblProfile::Peppol).expect_err("refused");
    let text = report.to_string();
    assert!(
        text.starts_with("document F-1002 cannot be rendered as EHF:"),
        "{text}"
    );
    assert!(
        text.contains("1. the document has no lines (BR-16)"),
        "{text}"
    );
    assert!(
        text.contains("the buyer's address has no city (BR-10)"),
        "{text}"
    );
    assert!(text.contains("net amount is"), "{text}");
}
