//! The shared fixtures are what they claim: every kind present, totals consistent with the
//! lines, every line's contract at one delivery point, the corrections referencing the invoice.

use nordlys_core::document::{DocumentKind, VatCategory, document_totals};
use nordlys_documents::fixtures::{self, FixtureKind};

#[test]
fn every_fixture_is_consistent() {
    for (kind, document) in fixtures::all() {
        let issued = &document.document.document;
        let (net, vat, vat_total, gross) = document_totals(&issued.lines);
        assert_eq!(
            (net, &vat, vat_total, gross),
            (issued.net, &issued.vat, issued.vat_total, issued.gross),
            "{kind:?}"
        );
        for line in &issued.lines {
            assert!(
                document.delivery_point_of(&line.contract_id).is_some(),
                "{kind:?}: {} has no delivery point",
                line.contract_id
            );
            assert!(line.from < line.to, "{kind:?}: {line:?}");
        }
        assert_eq!(
            issued.due_date.is_some(),
            document.document.kid.is_some(),
            "{kind:?}"
        );
    }
}

#[test]
fn the_fixtures_cover_what_their_names_say() {
    let lines = |kind: FixtureKind| kind.build().document.document.lines;
    assert_eq!(lines(FixtureKind::ThreeHundredLines).len(), 300);
    assert!(
        FixtureKind::NegativeTotal
            .build()
            .document
            .document
            .gross
            .is_sign_negative()
    );
    let credit = FixtureKind::CreditNote.build();
    assert_eq!(credit.document.document.kind, DocumentKind::CreditNote);
    assert_eq!(credit.corrects[0].number, "F-1002");
    let business = lines(FixtureKind::Business);
    assert_eq!(
        credit.document.document.lines,
        business.iter().map(|l| l.negated()).collect::<Vec<_>>()
    );
    let categories = |kind: FixtureKind| {
        lines(kind)
            .iter()
            .map(|l| l.vat_category)
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        categories(FixtureKind::NorthNorwayZeroRated),
        [VatCategory::Zero].into()
    );
    assert_eq!(
        categories(FixtureKind::FinnmarkExempt),
        [VatCategory::Exempt, VatCategory::Zero].into()
    );
    assert!(
        lines(FixtureKind::FinnmarkExempt)
            .iter()
            .all(|l| l.code != "elavgift")
    );
    assert!(
        lines(FixtureKind::Household)
            .iter()
            .any(|l| l.unit_price.is_sign_negative())
    );
}
