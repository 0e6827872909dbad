//! An auditor's check of issued documents, written without the settlement code's line grouping:
//! every line satisfies PEPPOL-EN16931-R120 (|quantity × unit price − net| ≤ 0.02); a credit
//! note of a credit-and-reissue correction reverses, contract by contract, exactly the lines of
//! the documents it names (same descriptions, quantities, unit prices, amounts, same order);
//! references name documents by number; a KID names one document; credit notes ask for no
//! payment. Applied to the demo in both correction modes and to the property test.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use nordlys_app::billing::{BillingPolicy, correct, settle};
use nordlys_app::demo::{DemoConfig, build_demo, deliver_demo_corrections};
use nordlys_app::{FixedClock, NoProgress};
use nordlys_core::document::{CorrectionMode, DocumentKind, DocumentLine};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::Statutory;
use nordlys_store::{DocumentSummary, Store};
use rust_decimal::Decimal;

use crate::fixtures::{clock, empty_db};

/// What a reader compares on a line.
fn shown(line: &DocumentLine) -> (String, String, Decimal, Decimal, Decimal) {
    (
        line.contract_id.clone(),
        line.description.clone(),
        line.quantity.normalize(),
        line.unit_price.normalize(),
        line.net.normalize(),
    )
}

/// Check every issued document of the store; returns how many were checked.
pub async fn check_documents(store: &Store, credit_and_reissue: bool) -> usize {
    let documents: Vec<DocumentSummary> = store.documents(None, None, i64::MAX).await.unwrap();
    let by_number: HashMap<String, &DocumentSummary> =
        documents.iter().map(|d| (d.display_number(), d)).collect();
    let mut lines_of: HashMap<i64, Vec<DocumentLine>> = HashMap::new();
    for d in &documents {
        lines_of.insert(d.id, store.document_lines(d.id).await.unwrap());
    }
    let tolerance = Decimal::new(2, 2);
    let mut kids = HashSet::new();
    for d in &documents {
        let number = d.display_number();
        for line in &lines_of[&d.id] {
            let product = line.quantity * line.unit_price;
            assert!(
                (product - line.net).abs() <= tolerance,
                "{number}: line {:?}: {} × {} = {product}, but its amount is {} (PEPPOL-EN16931-R120)",
                line.description,
                line.quantity,
                line.unit_price,
                line.net
            );
        }
        let sum: Decimal = lines_of[&d.id].iter().map(|l| l.net).sum();
        assert_eq!(sum, d.net, "{number}: the lines sum to the net");
        match d.kind {
            DocumentKind::Invoice => {
                let kid = d
                    .kid
                    .clone()
                    .unwrap_or_else(|| panic!("{number} has no KID"));
                assert!(
                    kids.insert(kid.clone()),
                    "KID {kid} of {number} is not unique"
                );
                assert!(d.due_date.is_some(), "{number} has no due date");
            }
            DocumentKind::CreditNote => {
                assert_eq!(d.kid, None, "{number}: a credit note asks for no payment");
                assert_eq!(d.due_date, None, "{number}");
            }
        }
        for reference in &d.references {
            let original = by_number
                .get(reference)
                .unwrap_or_else(|| panic!("{number} references {reference}, which does not exist"));
            assert_eq!(original.account_id, d.account_id, "{number} → {reference}");
            assert_eq!(original.period, d.period, "{number} → {reference}");
        }
        if d.kind == DocumentKind::CreditNote && credit_and_reissue {
            assert!(!d.references.is_empty(), "{number} corrects nothing");
            let credited: Vec<_> = lines_of[&d.id].iter().map(shown).collect();
            let contracts: HashSet<&str> = lines_of[&d.id]
                .iter()
                .map(|l| l.contract_id.as_str())
                .collect();
            let mut expected = Vec::new();
            for reference in &d.references {
                for line in &lines_of[&by_number[reference].id] {
                    if contracts.contains(line.contract_id.as_str()) {
                        let (c, description, q, p, n) = shown(line);
                        expected.push((c, description, -q, p, -n));
                    }
                }
            }
            let by_contract = |lines: &[(String, String, Decimal, Decimal, Decimal)]| {
                let mut out: BTreeMap<String, Vec<(String, Decimal, Decimal, Decimal)>> =
                    BTreeMap::new();
                for (c, description, q, p, n) in lines {
                    out.entry(c.clone())
                        .or_default()
                        .push((description.clone(), *q, *p, *n));
                }
                out
            };
            assert_eq!(
                by_contract(&credited),
                by_contract(&expected),
                "{number} reverses exactly the lines of {:?}",
                d.references
            );
        }
    }
    documents.len()
}

async fn demo_with_corrections(mode: CorrectionMode) -> (crate::fixtures::TestDb, usize) {
    let db = empty_db().await;
    let first = LocalPeriod::parse_month("2025-01").unwrap();
    let config = DemoConfig {
        metering_points: 240,
        first_month: first,
        months: 2,
        seed: 42,
    };
    let built_at = clock("2025-03-01T06:00:00Z");
    let summary = build_demo(&db.store, &config, &built_at, Arc::new(NoProgress))
        .await
        .unwrap();
    let policy = BillingPolicy {
        correction_mode: mode,
        ..BillingPolicy::default()
    };
    let statutory = Arc::new(Statutory::default());
    for (month, at) in [
        ("2025-01", "2025-03-02T06:00:00Z"),
        ("2025-02", "2025-03-03T06:00:00Z"),
    ] {
        let period = LocalPeriod::parse_month(month).unwrap();
        settle(
            &db.store,
            period,
            None,
            &policy,
            Arc::clone(&statutory),
            &clock(at),
            Arc::new(NoProgress),
            false,
        )
        .await
        .unwrap();
    }
    let delivered_at: FixedClock = clock("2025-03-10T06:00:00Z");
    deliver_demo_corrections(&db.store, &summary.corrected_days, &delivered_at)
        .await
        .unwrap();
    let report = correct(
        &db.store,
        &policy,
        statutory,
        &clock("2025-03-10T07:00:00Z"),
        Arc::new(NoProgress),
        false,
    )
    .await
    .unwrap();
    let corrections = (report.invoices + report.credit_notes) as usize;
    (db, corrections)
}

#[tokio::test]
async fn every_document_of_the_demo_tells_the_truth_after_credit_and_reissue() {
    let (db, corrections) = demo_with_corrections(CorrectionMode::CreditAndReissue).await;
    assert!(
        corrections > 0,
        "the demo's corrected days must correct something"
    );
    let checked = check_documents(&db.store, true).await;
    assert!(checked > 200, "{checked} documents");
}

#[tokio::test]
async fn every_document_of_the_demo_tells_the_truth_after_difference_documents() {
    let (db, corrections) = demo_with_corrections(CorrectionMode::Difference).await;
    assert!(corrections > 0);
    check_documents(&db.store, false).await;
}
