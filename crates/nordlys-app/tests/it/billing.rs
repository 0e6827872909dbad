//! Settlement and correction settlement against a real SQLite file: exactly once, gapless
//! numbers, validation before settlement, one invoice per account, final settlement, and
//! corrections that net to the rating of the latest data.

use std::sync::Arc;

use nordlys_app::billing::{BillingPolicy, RunReport, correct, settle};
use nordlys_app::{FixedClock, NoProgress, import};
use nordlys_core::document::{CorrectionMode, DocumentKind, LineKind};
use nordlys_core::time::LocalPeriod;
use nordlys_rating::Statutory;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::fixtures::*;

const JANUARY: &str = "2025-01";

fn examples(path: &str) -> (std::path::PathBuf, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products")
        .join(path);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// Hourly readings for `point` over January 2025 (Oslo), value `wh(hour_index)`.
fn january_hourly(point: &str, wh: impl Fn(usize) -> i64) -> String {
    let tz = nordlys_core::time::zone("Europe/Oslo").unwrap();
    let start: jiff::Timestamp = "2024-12-31T23:00:00Z".parse().unwrap();
    let mut csv = String::from("metering_point_id,start,end,quantity_kwh,quality\n");
    for h in 0..744 {
        let s = start + jiff::SignedDuration::from_hours(h as i64);
        let e = s + jiff::SignedDuration::from_hours(1);
        let v = wh(h);
        csv.push_str(&format!(
            "{point},{},{},{}.{:03},measured\n",
            nordlys_core::time::format_local(s, &tz),
            nordlys_core::time::format_local(e, &tz),
            v / 1000,
            v % 1000
        ));
    }
    csv
}

fn january_prices() -> String {
    let mut csv = String::from("area,start,end,price,currency,unit\n");
    let start: jiff::Timestamp = "2024-12-31T23:00:00Z".parse().unwrap();
    for h in 0..744i64 {
        let s = start + jiff::SignedDuration::from_hours(h);
        let e = s + jiff::SignedDuration::from_hours(1);
        csv.push_str(&format!(
            "NO1,{s},{e},{}.{:02},EUR,MWh\n",
            40 + h % 60,
            h % 100
        ));
    }
    csv
}

/// Weekday EUR→NOK rates only: weekends use Friday's rate.
fn january_rates() -> String {
    let mut csv = String::from("date,base,quote,rate\n2024-12-31,EUR,NOK,11.7700\n");
    let mut day: jiff::civil::Date = "2025-01-01".parse().unwrap();
    while day < "2025-02-01".parse().unwrap() {
        if !matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            csv.push_str(&format!(
                "{day},EUR,NOK,11.{:04}\n",
                7000 + day.day() as i32 * 10
            ));
        }
        day = day.tomorrow().unwrap();
    }
    csv
}

const CONTRACTS: &str = "contract_id,account_id,metering_point_id,product_code,role,start,end
S1,A1,707057500000000018,no-spot,supplier,2024-01-01,
G1,A1,707057500000000018,elvia-husholdning,grid_owner,2024-01-01,
B1,A2,,fiber-bedrift-500,service_provider,2025-01-15,
";

async fn billing_db() -> TestDb {
    let db = db_with_master_data().await;
    let c = clock("2025-02-01T06:00:00Z");
    for file in [
        "no-spot.toml",
        "broadband-business.toml",
        "fri-nettleie/elvia.yml",
    ] {
        let (path, text) = examples(file);
        nordlys_app::products::import_products(&db.store, &path, &text, "UTC", &c)
            .await
            .unwrap();
    }
    import::import_contracts(&db.store, "contracts.csv", CONTRACTS.as_bytes(), &c)
        .await
        .unwrap();
    import::import_spot_prices(&db.store, "prices.csv", january_prices().as_bytes(), &c)
        .await
        .unwrap();
    import::import_exchange_rates(&db.store, "fx.csv", january_rates().as_bytes(), &c)
        .await
        .unwrap();
    let usage = "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,2.5\nB1,2025-01-27,konsulent,1\n";
    import::import_usage(&db.store, "usage.csv", usage.as_bytes(), &c)
        .await
        .unwrap();
    import_values(
        &db,
        &january_hourly(HOURLY_POINT, |h| 800 + (h as i64 * 37) % 900),
        "2025-02-01T06:00:00Z",
    )
    .await
    .unwrap();
    db
}

async fn run(db: &TestDb, at: &str, policy: &BillingPolicy) -> RunReport {
    let period = LocalPeriod::parse_month(JANUARY).unwrap();
    settle(
        &db.store,
        period,
        None,
        policy,
        Arc::new(Statutory::default()),
        &clock(at),
        Arc::new(NoProgress),
        false,
    )
    .await
    .unwrap()
}

async fn corrections(db: &TestDb, at: &str, policy: &BillingPolicy) -> RunReport {
    correct(
        &db.store,
        policy,
        Arc::new(Statutory::default()),
        &FixedClock(at.parse().unwrap()),
        Arc::new(NoProgress),
        false,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn one_invoice_per_account_with_every_product_and_exactly_once() {
    let db = billing_db().await;
    let policy = BillingPolicy::default();
    let first = run(&db, "2025-02-02T06:00:00Z", &policy).await;
    assert_eq!(
        (
            first.invoices,
            first.contracts_settled,
            first.not_ready.len()
        ),
        (2, 3, 0),
        "{:?}",
        first.not_ready
    );
    assert_eq!(first.numbers, [("F".to_owned(), 1, 2)]);

    let docs = db.store.documents(None, None, 10).await.unwrap();
    let household = docs.iter().find(|d| d.account_id == "A1").unwrap();
    let lines = db.store.document_lines(household.id).await.unwrap();
    let kinds: Vec<&str> = lines.iter().map(|l| l.kind.code()).collect();
    for kind in ["spot", "fixed", "capacity", "energy", "tax", "subsidy"] {
        assert!(
            kinds.contains(&kind),
            "household invoice lacks {kind}: {kinds:?}"
        );
    }
    assert_eq!(
        lines.iter().map(|l| l.net).sum::<Decimal>(),
        household.net,
        "lines sum to the net"
    );
    assert_eq!(household.net + household.vat, household.gross);
    assert_eq!(
        household.kid.as_deref(),
        Some("0000000018"),
        "KID = number 1 zero-padded with its MOD10 digit"
    );
    assert_eq!(
        household.due_date,
        Some("2025-02-16".parse().unwrap()),
        "14 days of payment terms"
    );

    // The business: broadband from the 15th (prorated), installation once, 3.5 consulting hours.
    let business = docs.iter().find(|d| d.account_id == "A2").unwrap();
    let lines = db.store.document_lines(business.id).await.unwrap();
    let by_code = |code: &str| {
        lines
            .iter()
            .find(|l| l.code == code)
            .unwrap_or_else(|| panic!("no {code} line in {lines:?}"))
    };
    assert_eq!(by_code("konsulent").quantity, Decimal::new(35, 1));
    assert_eq!(
        by_code("konsulent").net,
        Decimal::new(402500, 2),
        "3.5 h × 1150"
    );
    assert_eq!(by_code("etablering").net, Decimal::new(249000, 2));
    assert_eq!(
        by_code("abonnement").net,
        Decimal::new(43816, 2),
        "799 × 17/31 days, moved in on the 15th"
    );

    let again = run(&db, "2025-02-03T06:00:00Z", &policy).await;
    assert_eq!(
        (again.invoices, again.already_settled),
        (0, 3),
        "a settled contract-period is never billed twice"
    );
    assert_eq!(db.store.document_numbers("F").await.unwrap(), [1, 2]);
}

#[tokio::test]
async fn a_main_fuse_tariff_waits_for_the_fuse_size_then_prices_by_it() {
    let db = billing_db().await;
    let c = clock("2025-02-01T06:00:00Z");
    let (path, text) = examples("no-grid-main-fuse.toml");
    nordlys_app::products::import_products(&db.store, &path, &text, "UTC", &c)
        .await
        .unwrap();
    let contract = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\nG2,A3,{SECOND_HOURLY_POINT},no-grid-main-fuse,grid_owner,2024-01-01,\n"
    );
    import::import_contracts(&db.store, "fuse.csv", contract.as_bytes(), &c)
        .await
        .unwrap();
    import_values(
        &db,
        &january_hourly(SECOND_HOURLY_POINT, |_| 500),
        "2025-02-01T06:00:00Z",
    )
    .await
    .unwrap();

    let policy = BillingPolicy::default();
    let report = run(&db, "2025-02-02T06:00:00Z", &policy).await;
    assert_eq!(report.not_ready.len(), 1, "{:?}", report.not_ready);
    assert_eq!(report.not_ready[0].contract_id, "G2");
    let reason = report.not_ready[0].reason.to_string();
    assert_eq!(report.not_ready[0].reason.code(), "rating");
    assert!(
        reason.contains("priced by the main fuse size") && reason.contains("main_fuse_amperes"),
        "{}",
        report.not_ready[0].reason
    );

    // The grid company's master data brings the fuse: 80 A, the 63–125 A step.
    let point = format!(
        "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,street,postcode,city,municipality,county,main_fuse_amperes\n\
         {SECOND_HOURLY_POINT},NO,NO1,7080005046220,PT60M,electricity,household,Kirkeveien 9,0368,Oslo,0301,Oslo,80\n"
    );
    import::import_metering_points(&db.store, "fuse-points.csv", point.as_bytes(), &c)
        .await
        .unwrap();
    let report = run(&db, "2025-02-03T06:00:00Z", &policy).await;
    assert!(report.not_ready.is_empty(), "{:?}", report.not_ready);
    assert_eq!(report.invoices, 1);
    let documents = db
        .store
        .documents(Some("A3"), Some(JANUARY), 10)
        .await
        .unwrap();
    assert_eq!(documents.len(), 1, "one invoice for A3");
    let lines = db.store.document_lines(documents[0].id).await.unwrap();
    let fastledd: Vec<String> = lines
        .iter()
        .filter(|l| l.code == "fastledd")
        .map(|l| format!("{} {}", l.description, l.net))
        .collect();
    // 6000 a year for January: 6000 / 12 = 500.00.
    assert_eq!(fastledd, ["Fastledd 63–125 A 500.00"]);
}

#[tokio::test]
async fn a_norgespris_agreement_on_the_point_reaches_the_grid_invoice() {
    let db = billing_db().await;
    // An agreement dated before the scheme existed: the statutory table has no Norgespris price
    // for January 2025, so the grid contract is not ready and says why.
    let point = format!(
        "metering_point_id,market,price_area,grid_owner,resolution,utility,usage,street,postcode,city,municipality,county,norgespris_from\n\
         {HOURLY_POINT},NO,NO1,7080005046220,PT60M,electricity,household,Storgata 1,0150,Oslo,0301,Oslo,2025-01-10\n"
    );
    let c = clock("2025-02-01T06:00:00Z");
    import::import_metering_points(&db.store, "np.csv", point.as_bytes(), &c)
        .await
        .unwrap();
    let report = run(&db, "2025-02-02T06:00:00Z", &BillingPolicy::default()).await;
    let reasons: Vec<String> = report
        .not_ready
        .iter()
        .map(|n| format!("{}: {}", n.contract_id, n.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "G1: Norgespris starts 2025-10-01: the metering point's Norgespris agreement from 2025-01-10 is dated before the scheme began (charge norgespris of the statutory table)"
        ]
    );
}

#[tokio::test]
async fn a_point_with_a_gap_is_not_ready_until_the_basis_arrives() {
    let db = billing_db().await;
    // Remove nothing: instead, a second point with a hole on 2025-01-20 10:00–11:00.
    let c = clock("2025-02-01T06:00:00Z");
    let more = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\nS2,A3,{SECOND_HOURLY_POINT},no-spot,supplier,2024-01-01,\n"
    );
    import::import_contracts(&db.store, "more.csv", more.as_bytes(), &c)
        .await
        .unwrap();
    let with_hole: String = january_hourly(SECOND_HOURLY_POINT, |_| 500)
        .lines()
        .filter(|l| !l.starts_with(&format!("{SECOND_HOURLY_POINT},2025-01-20T10:00:00+01:00,")))
        .map(|l| format!("{l}\n"))
        .collect();
    import_values(&db, &with_hole, "2025-02-01T06:00:00Z")
        .await
        .unwrap();

    let policy = BillingPolicy::default();
    let report = run(&db, "2025-02-02T06:00:00Z", &policy).await;
    assert_eq!(report.invoices, 2, "the other accounts are billed");
    assert_eq!(report.not_ready.len(), 1);
    let nr = &report.not_ready[0];
    assert_eq!(
        (nr.contract_id.as_str(), nr.metering_point.as_deref()),
        ("S2", Some(SECOND_HOURLY_POINT))
    );
    assert_eq!(nr.reason.code(), "readings_incomplete");
    assert_eq!(
        nr.reason.to_string(),
        "readings incomplete: 1 absent, 0 missing, 0 estimated (not accepted) of 744 intervals, the first at 2025-01-20T10:00:00+01:00"
    );
    let tasks = db.store.missing_basis_tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].contract_id.as_str(), tasks[0].period.as_str()),
        ("S2", JANUARY)
    );
    assert_eq!(tasks[0].reason_code, "readings_incomplete");
    assert!(
        tasks[0]
            .details
            .as_deref()
            .is_some_and(|d| d.contains("\"absent\":1")),
        "{:?}",
        tasks[0].details
    );

    // The datahub re-sends the hour; the next run settles it and closes the task.
    let hour = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n{SECOND_HOURLY_POINT},2025-01-20T10:00:00+01:00,2025-01-20T11:00:00+01:00,0.500,measured\n"
    );
    import_values(&db, &hour, "2025-02-03T06:00:00Z")
        .await
        .unwrap();
    let report = run(&db, "2025-02-04T06:00:00Z", &policy).await;
    assert_eq!(
        (
            report.invoices,
            report.already_settled,
            report.not_ready.len()
        ),
        (1, 3, 0)
    );
    assert!(db.store.missing_basis_tasks().await.unwrap().is_empty());
    assert_eq!(
        db.store.document_numbers("F").await.unwrap(),
        [1, 2, 3],
        "numbering stays gapless across runs"
    );
}

#[tokio::test]
async fn missing_quality_and_missing_prices_are_not_settled() {
    let db = billing_db().await;
    let missing = format!(
        "metering_point_id,start,end,quantity_kwh,quality\n{HOURLY_POINT},2025-01-05T00:00:00+01:00,2025-01-05T01:00:00+01:00,,missing\n"
    );
    import_values(&db, &missing, "2025-02-01T07:00:00Z")
        .await
        .unwrap();
    let report = run(&db, "2025-02-02T06:00:00Z", &BillingPolicy::default()).await;
    assert_eq!(report.invoices, 1, "only the business is billed");
    assert!(
        report
            .not_ready
            .iter()
            .all(|nr| nr.reason.to_string().contains("0 absent, 1 missing")),
        "{:?}",
        report.not_ready
    );
    assert_eq!(
        report.not_ready.len(),
        2,
        "both contracts of the household wait"
    );

    // Spot prices: an area without any is named.
    let db = billing_db().await;
    let (path, text) = examples("dk-spot.toml");
    nordlys_app::products::import_products(
        &db.store,
        &path,
        &text,
        "UTC",
        &clock("2025-02-01T06:00:00Z"),
    )
    .await
    .unwrap();
    let more = format!(
        "contract_id,account_id,metering_point_id,product_code,role,start,end\nS2,A3,{DANISH_POINT},dk-spot,supplier,2024-01-01,\n"
    );
    import::import_contracts(
        &db.store,
        "more.csv",
        more.as_bytes(),
        &clock("2025-02-01T06:00:00Z"),
    )
    .await
    .unwrap();
    import_values(
        &db,
        &january_hourly(DANISH_POINT, |_| 500),
        "2025-02-01T06:00:00Z",
    )
    .await
    .unwrap();
    let report = run(&db, "2025-02-02T06:00:00Z", &BillingPolicy::default()).await;
    assert_eq!(report.not_ready.len(), 1);
    assert_eq!(report.not_ready[0].reason.code(), "spot_prices_missing");
    assert!(
        report.not_ready[0]
            .reason
            .to_string()
            .starts_with("spot prices for DK2 are missing for 744 of 744 intervals"),
        "{}",
        report.not_ready[0].reason
    );
}

#[tokio::test]
async fn final_settlement_stops_at_the_end_date() {
    let db = billing_db().await;
    let c = clock("2025-02-01T06:00:00Z");
    let ended = "contract_id,account_id,metering_point_id,product_code,role,start,end\n\
                 S1,A1,707057500000000018,no-spot,supplier,2024-01-01,2025-01-21\n\
                 G1,A1,707057500000000018,elvia-husholdning,grid_owner,2024-01-01,2025-01-21\n";
    import::import_contracts(&db.store, "moveout.csv", ended.as_bytes(), &c)
        .await
        .unwrap();
    run(&db, "2025-02-02T06:00:00Z", &BillingPolicy::default()).await;
    let doc = db
        .store
        .documents(Some("A1"), None, 1)
        .await
        .unwrap()
        .remove(0);
    let lines = db.store.document_lines(doc.id).await.unwrap();
    let spot = lines.iter().find(|l| l.kind == LineKind::Spot).unwrap();
    let expected_kwh: i64 = (0..480).map(|h: i64| 800 + (h * 37) % 900).sum(); // 20 days × 24 h
    assert_eq!(
        spot.quantity,
        Decimal::new(expected_kwh, 3),
        "energy up to the end date only"
    );
    assert!(spot.to == "2025-01-21".parse().unwrap());
    let fee = lines.iter().find(|l| l.code == "fastbelop").unwrap();
    assert_eq!(fee.net, Decimal::new(2516, 2), "39 × 20/31 days = 25.16");
}

/// What every document issued for a contract-period sums to, per line identity.
async fn billed_sum(db: &TestDb, contract: &str) -> Vec<(String, Decimal)> {
    let mut sums: std::collections::BTreeMap<String, Decimal> = Default::default();
    for line in db.store.billed_lines(contract, JANUARY).await.unwrap() {
        let line = line.line;
        *sums
            .entry(format!(
                "{} {} {} {} {}",
                line.kind, line.code, line.description, line.from, line.to
            ))
            .or_default() += line.net;
    }
    sums.into_iter().filter(|(_, v)| !v.is_zero()).collect()
}

/// A fresh database with the same (latest) data, settled once: the rating of the final data.
async fn fresh_rating(values: &str, contract: &str) -> Vec<(String, Decimal)> {
    let db = billing_db().await;
    import_values(&db, values, "2025-02-01T07:00:00Z")
        .await
        .unwrap();
    run(&db, "2025-02-02T06:00:00Z", &BillingPolicy::default()).await;
    billed_sum(&db, contract).await
}

#[tokio::test]
async fn credit_and_reissue_references_the_original_and_nets_to_the_new_rating() {
    let db = billing_db().await;
    let policy = BillingPolicy::default();
    run(&db, "2025-02-02T06:00:00Z", &policy).await;
    let changed = january_hourly(HOURLY_POINT, |h| {
        if h == 300 {
            9000
        } else {
            800 + (h as i64 * 37) % 900
        }
    });
    import_values(&db, &changed, "2025-02-10T06:00:00Z")
        .await
        .unwrap();
    let report = corrections(&db, "2025-02-11T06:00:00Z", &policy).await;
    assert_eq!(
        (
            report.credit_notes,
            report.invoices,
            report.contracts_settled
        ),
        (1, 1, 2)
    );
    let docs = db
        .store
        .documents(Some("A1"), Some(JANUARY), 10)
        .await
        .unwrap();
    let original = docs.iter().find(|d| d.references.is_empty()).unwrap();
    let credit = docs
        .iter()
        .find(|d| d.kind == DocumentKind::CreditNote)
        .unwrap();
    let reissue = docs
        .iter()
        .find(|d| d.kind == DocumentKind::Invoice && !d.references.is_empty())
        .unwrap();
    assert_eq!(credit.references, vec![original.display_number()]);
    assert_eq!(
        credit.gross, -original.gross,
        "the credit note reverses the original exactly"
    );
    assert_eq!((credit.series.as_str(), credit.number), ("K", 1));
    assert_eq!(reissue.references, vec![original.display_number()]);
    assert_eq!(credit.kid, None, "a credit note asks for no payment");
    assert_eq!(credit.due_date, None);
    assert_ne!(reissue.kid, original.kid, "a KID names one open item");
    for contract in ["S1", "G1"] {
        assert_eq!(
            billed_sum(&db, contract).await,
            fresh_rating(&changed, contract).await,
            "{contract}"
        );
    }
    // Nothing changed since: another correction run issues nothing.
    let quiet = corrections(&db, "2025-02-12T06:00:00Z", &policy).await;
    assert_eq!(
        (quiet.invoices, quiet.credit_notes, quiet.contracts_settled),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn difference_mode_issues_one_document_with_the_difference() {
    let db = billing_db().await;
    let policy = BillingPolicy {
        correction_mode: CorrectionMode::Difference,
        ..BillingPolicy::default()
    };
    run(&db, "2025-02-02T06:00:00Z", &policy).await;
    let lower = january_hourly(HOURLY_POINT, |h| {
        if h < 24 {
            100
        } else {
            800 + (h as i64 * 37) % 900
        }
    });
    import_values(&db, &lower, "2025-02-10T06:00:00Z")
        .await
        .unwrap();
    let report = corrections(&db, "2025-02-11T06:00:00Z", &policy).await;
    assert_eq!(
        report.invoices + report.credit_notes,
        1,
        "one difference document"
    );
    assert_eq!(
        report.credit_notes, 1,
        "less energy: the difference is a credit"
    );
    for contract in ["S1", "G1"] {
        assert_eq!(
            billed_sum(&db, contract).await,
            fresh_rating(&lower, contract).await,
            "{contract}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// After any sequence of corrections, in either mode, everything issued for a
    /// contract-period sums to the rating of the latest data.
    #[test]
    fn successive_corrections_net_to_the_latest_rating(
        steps in proptest::collection::vec((0usize..744, 0i64..5000), 1..4),
        difference in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let db = billing_db().await;
            let mode = if difference { CorrectionMode::Difference } else { CorrectionMode::CreditAndReissue };
            let policy = BillingPolicy { correction_mode: mode, ..BillingPolicy::default() };
            run(&db, "2025-02-02T06:00:00Z", &policy).await;
            let mut values: Vec<i64> = (0..744).map(|h: i64| 800 + (h * 37) % 900).collect();
            let mut csv = String::new();
            for (i, (hour, wh)) in steps.iter().enumerate() {
                values[*hour] = *wh;
                let snapshot = values.clone();
                csv = january_hourly(HOURLY_POINT, move |h| snapshot[h]);
                let day = 10 + i;
                import_values(&db, &csv, &format!("2025-02-{day:02}T06:00:00Z")).await.unwrap();
                corrections(&db, &format!("2025-02-{day:02}T07:00:00Z"), &policy).await;
            }
            for contract in ["S1", "G1"] {
                assert_eq!(billed_sum(&db, contract).await, fresh_rating(&csv, contract).await, "{contract}");
            }
            let mut numbers = db.store.document_numbers("F").await.unwrap();
            numbers.extend(db.store.document_numbers("K").await.unwrap().iter().map(|n| n + 10_000));
            let f: Vec<i64> = numbers.iter().copied().filter(|n| *n < 10_000).collect();
            assert_eq!(f, (1..=f.len() as i64).collect::<Vec<_>>(), "gapless invoice numbers");
            crate::truth::check_documents(&db.store, !difference).await;
        });
    }
}

/// Imports `values` through a second connection the first time a settlement reports progress:
/// after the run has read its batch and rated it, before the batch commits.
struct ImportMidway {
    path: String,
    values: String,
    done: std::sync::atomic::AtomicBool,
}

impl nordlys_app::Progress for ImportMidway {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {
        if self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let (path, values) = (self.path.clone(), self.values.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let other = nordlys_store::Store::open(&path).await.unwrap();
                // Stamped before the settlement's own clock, as an import that started first.
                import::import_meter_values(
                    &other,
                    "late.csv",
                    std::io::Cursor::new(values.into_bytes()),
                    None,
                    &clock("2025-02-02T05:59:00Z"),
                    Arc::new(NoProgress),
                    import::MeterValueLimits::default(),
                )
                .await
                .unwrap();
                other.close().await;
            });
        })
        .join()
        .unwrap();
    }
    fn finish(&self) {}
}

#[tokio::test]
async fn an_import_that_commits_while_a_batch_is_settled_is_corrected_by_the_next_run() {
    let db = billing_db().await;
    let late = january_hourly(HOURLY_POINT, |h| 2000 + (h as i64 * 37) % 900);
    let progress = Arc::new(ImportMidway {
        path: db.path(),
        values: late.clone(),
        done: Default::default(),
    });
    let policy = BillingPolicy::default();
    settle(
        &db.store,
        LocalPeriod::parse_month(JANUARY).unwrap(),
        None,
        &policy,
        Arc::new(Statutory::default()),
        &clock("2025-02-02T06:00:00Z"),
        progress,
        false,
    )
    .await
    .unwrap();
    let original = january_hourly(HOURLY_POINT, |h| 800 + (h as i64 * 37) % 900);
    assert_eq!(
        billed_sum(&db, "S1").await,
        fresh_rating(&original, "S1").await,
        "the batch was rated with what it read before the import committed"
    );
    let report = corrections(&db, "2025-02-03T06:00:00Z", &policy).await;
    assert!(report.credit_notes >= 1, "the late import is corrected");
    for contract in ["S1", "G1"] {
        assert_eq!(
            billed_sum(&db, contract).await,
            fresh_rating(&late, contract).await,
            "{contract}: everything issued sums to the rating of the latest data"
        );
    }
    let again = corrections(&db, "2025-02-04T06:00:00Z", &policy).await;
    assert_eq!(again.invoices + again.credit_notes, 0, "and only once");
}

/// Lines of every document issued for a contract-period, as (description, net).
async fn billed_lines_of(db: &TestDb, contract: &str) -> Vec<(String, Decimal)> {
    db.store
        .billed_lines(contract, JANUARY)
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.line.description, b.line.net))
        .collect()
}

#[tokio::test]
async fn master_data_and_usage_changed_after_settlement_are_corrected_or_listed() {
    let db = billing_db().await;
    let policy = BillingPolicy::default();
    run(&db, "2025-02-02T06:00:00Z", &policy).await;
    let settled = db.store.settlement("S1", JANUARY).await.unwrap().unwrap();
    assert_eq!(settled.product_code.as_deref(), Some("no-spot"));
    assert_eq!(
        settled.product_version,
        Some(1),
        "the product version it was rated with"
    );
    assert_eq!(
        settled.statutory_version,
        Some(Statutory::default().version),
        "and the statutory tables"
    );
    assert!(
        settled.read_seq > 0,
        "and the journal sequence its inputs were read up to"
    );
    let billed_b1: Decimal = billed_lines_of(&db, "B1").await.iter().map(|l| l.1).sum();

    // Consulting hours changed from 2.5 to 7.5; the supply contract ended on the 20th.
    let c = clock("2025-02-05T06:00:00Z");
    let usage = "contract_id,date,component,quantity\nB1,2025-01-20,konsulent,7.5\nB1,2025-01-27,konsulent,1\n";
    import::import_usage(&db.store, "usage.csv", usage.as_bytes(), &c)
        .await
        .unwrap();
    let ended = CONTRACTS.replace(
        "S1,A1,707057500000000018,no-spot,supplier,2024-01-01,",
        "S1,A1,707057500000000018,no-spot,supplier,2024-01-01,2025-01-21",
    );
    import::import_contracts(&db.store, "contracts.csv", ended.as_bytes(), &c)
        .await
        .unwrap();
    let report = corrections(&db, "2025-02-05T07:00:00Z", &policy).await;
    assert_eq!(report.not_ready, vec![], "both are corrected automatically");
    let hour_price: Decimal = "1150".parse().unwrap(); // fiber-bedrift-500: konsulent per hour
    let billed_after: Decimal = billed_lines_of(&db, "B1").await.iter().map(|l| l.1).sum();
    assert_eq!(
        billed_after - billed_b1,
        hour_price * Decimal::from(5),
        "5 more hours"
    );
    let spot = db
        .store
        .billed_lines("S1", JANUARY)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|b| b.line.kind == LineKind::Spot)
        .unwrap();
    assert_eq!(
        spot.line.to,
        "2025-01-21".parse().unwrap(),
        "rated up to the new end"
    );

    // The contract moved to another account after settlement: listed as a task with its reason.
    let moved = ended.replace("G1,A1,", "G1,A2,");
    import::import_contracts(&db.store, "contracts.csv", moved.as_bytes(), &c)
        .await
        .unwrap();
    let report = corrections(&db, "2025-02-06T07:00:00Z", &policy).await;
    assert_eq!(report.not_ready.len(), 1, "{:?}", report.not_ready);
    assert_eq!(report.not_ready[0].reason.code(), "contract_moved");
    let tasks = db.store.missing_basis_tasks().await.unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.contract_id == "G1" && t.reason_code == "contract_moved"),
        "{tasks:?}"
    );
}

#[tokio::test]
async fn a_kid_names_one_document_across_every_series() {
    let db = billing_db().await;
    // A utility whose credit notes ask for payment (policy): they carry KIDs too, from the same
    // counter as the invoices, though numbered in their own series.
    let policy = BillingPolicy {
        credit_notes_ask_payment: true,
        ..BillingPolicy::default()
    };
    run(&db, "2025-02-02T06:00:00Z", &policy).await;
    let changed = january_hourly(HOURLY_POINT, |h| 900 + (h as i64 * 37) % 900);
    import_values(&db, &changed, "2025-02-05T06:00:00Z")
        .await
        .unwrap();
    let report = corrections(&db, "2025-02-05T07:00:00Z", &policy).await;
    assert_eq!((report.invoices, report.credit_notes), (1, 1));
    let documents = db.store.documents(None, None, 100).await.unwrap();
    let numbers: Vec<(String, i64)> = documents
        .iter()
        .map(|d| (d.series.clone(), d.number))
        .collect();
    assert!(numbers.contains(&("F".into(), 1)) && numbers.contains(&("K".into(), 1)));
    let kids: Vec<String> = documents.iter().filter_map(|d| d.kid.clone()).collect();
    assert_eq!(
        kids.len(),
        documents.len(),
        "every document asks for payment"
    );
    let unique: std::collections::HashSet<&String> = kids.iter().collect();
    assert_eq!(
        unique.len(),
        kids.len(),
        "F-1 and K-1 do not share a KID: {kids:?}"
    );
    let credit = documents
        .iter()
        .find(|d| d.kind == DocumentKind::CreditNote)
        .unwrap();
    assert!(
        credit.due_date.is_some(),
        "with payment terms, as the policy says"
    );
}

#[tokio::test]
async fn an_exchange_rate_changed_before_the_period_is_checked_by_the_next_correction_run() {
    let db = billing_db().await;
    let policy = BillingPolicy::default();
    run(&db, "2025-02-02T06:00:00Z", &policy).await;
    // A day without a rate is converted with the latest one up to 7 days earlier, so a rate of
    // 27 December can price early January (after a holiday weekend): its change must make
    // January a candidate.
    let fx = "date,base,quote,rate\n2024-12-27,EUR,NOK,12.5000\n";
    import::import_exchange_rates(
        &db.store,
        "fx.csv",
        fx.as_bytes(),
        &clock("2025-02-05T06:00:00Z"),
    )
    .await
    .unwrap();
    let report = corrections(&db, "2025-02-05T07:00:00Z", &policy).await;
    assert!(report.checked_after_change >= 1, "{report:?}");
    // Every January day has a rate within the week here, so nothing changes.
    assert_eq!(report.invoices + report.credit_notes, 0);
    assert_eq!(
        report.unchanged_after_correction,
        report.checked_after_change
    );
}
