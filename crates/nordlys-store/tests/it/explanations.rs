//! Document lines keep their typed vocabulary through the store: every kind of explanation, the
//! kind, unit and VAT category read back exactly as issued, on SQLite and (with
//! `NORDLYS_TEST_POSTGRES_URL`) PostgreSQL; and a database whose documents were issued before
//! migration 0009 (explanations as newline-joined text) still reads them as they were issued.

use std::sync::Arc;

use jiff::civil::Date;
use nordlys_core::document::{
    DocumentKind, DocumentLine, Explanation, HourPeak, IssuedDocument, LineKind, LineUnit,
    NewDocument, VatCategory, document_totals,
};
use nordlys_core::quantity::Currency;
use nordlys_store::{Domain, RunHolder, RunStart, Store};
use rust_decimal::Decimal;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// One of every explanation the engine and corrections give, with decimals of several scales.
fn every_explanation() -> Vec<Explanation> {
    vec![
        Explanation::Prorated {
            month: Date::constant(2025, 1, 1),
            days: 10,
            days_in_month: 31,
        },
        Explanation::Peaks {
            peaks: vec![
                HourPeak {
                    date: Date::constant(2025, 1, 3),
                    hour: 7,
                    energy_wh: 5_250,
                },
                HourPeak {
                    date: Date::constant(2025, 1, 28),
                    hour: 23,
                    energy_wh: -1,
                },
            ],
            average_w: 5_000,
            step_from: d("5.0"),
            step_to: Some(d("10")),
            threshold_inclusive: true,
        },
        Explanation::Peaks {
            peaks: Vec::new(),
            average_w: 0,
            step_from: d("25"),
            step_to: None,
            threshold_inclusive: false,
        },
        Explanation::MainFuse { amperes: 63 },
        Explanation::MaxDemand {
            date: Date::constant(2025, 1, 9),
            hour: 18,
            demand_w: 12_345,
            period: Some(Arc::from("vinter – høylast")),
        },
        Explanation::MaxDemand {
            date: Date::constant(2025, 1, 9),
            hour: 0,
            demand_w: 0,
            period: None,
        },
        Explanation::EnergyShare {
            period: Arc::from("Dag"),
            hours: Arc::from("weekdays 06–22"),
            energy_wh: 491_326,
            component_energy_wh: 1_262_751,
        },
        Explanation::SpotPrice {
            average_price_per_kwh: d("0.87654321"),
            factor: d("1.00"),
            markup_per_kwh: d("-0.0100"),
            monthly_average: false,
        },
        Explanation::RatePeriod {
            from: Date::constant(2025, 1, 1),
            to: Date::constant(2025, 2, 1),
            rate: d("0.0979"),
        },
        Explanation::Subsidy {
            threshold_per_kwh: d("0.9375"),
            percent: d("90"),
            covered_wh: 1_000_000,
            capped_wh: 0,
        },
        Explanation::Tier {
            from_kwh: d("0"),
            to_kwh: Some(d("1000.5")),
        },
        Explanation::Tier {
            from_kwh: d("1000.5"),
            to_kwh: None,
        },
        Explanation::Note(Arc::from(
            "charged once at the start of the contract\n\"quoted\" {}",
        )),
        Explanation::Corrects {
            documents: vec!["F-12".into(), "NO-F-3".into()],
        },
        Explanation::Replaces {
            documents: vec!["F-12".into()],
        },
    ]
}

fn line(
    kind: LineKind,
    unit: LineUnit,
    vat: VatCategory,
    explanation: Vec<Explanation>,
) -> DocumentLine {
    DocumentLine {
        contract_id: "S1".into(),
        kind,
        source: "p".into(),
        code: "c".into(),
        description: "Energi".into(),
        from: Date::constant(2025, 1, 1),
        to: Date::constant(2025, 2, 1),
        quantity: d("100.500"),
        unit,
        unit_price: d("1.25"),
        net: d("125.63"),
        vat_category: vat,
        vat_percent: if vat == VatCategory::Standard {
            d("25")
        } else {
            Decimal::ZERO
        },
        explanation,
    }
}

/// Lines covering every explanation (one line with all of them, one per variant, one with
/// none), every line kind, unit and VAT category.
fn lines() -> Vec<DocumentLine> {
    let explanations = every_explanation();
    let units = [
        LineUnit::Kwh,
        LineUnit::Kw,
        LineUnit::Month,
        LineUnit::Day,
        LineUnit::Hour,
        LineUnit::Piece,
        LineUnit::Other(Arc::from("m3")),
        LineUnit::Other(Arc::from("visit")),
    ];
    let mut out = vec![line(
        LineKind::Energy,
        LineUnit::Kwh,
        VatCategory::Standard,
        explanations.clone(),
    )];
    for (i, explanation) in explanations.into_iter().enumerate() {
        out.push(line(
            LineKind::ALL[i % LineKind::ALL.len()],
            units[i % units.len()].clone(),
            VatCategory::ALL[i % VatCategory::ALL.len()],
            vec![explanation],
        ));
    }
    out.push(line(
        LineKind::Fee,
        LineUnit::Piece,
        VatCategory::Zero,
        Vec::new(),
    ));
    out
}

async fn issue(store: &Store, period: &str, lines: Vec<DocumentLine>) -> IssuedDocument {
    let holder = RunHolder {
        pid: 1,
        host: "test".into(),
    };
    let now = jiff::Timestamp::from_second(1_740_000_000).unwrap();
    let RunStart::Started(run_id) = store
        .start_run_locked("settlement", period, &holder, None, now)
        .await
        .unwrap()
    else {
        panic!("no run holds the lock");
    };
    let (net, vat, vat_total, gross) = document_totals(&lines);
    let document = NewDocument {
        kind: DocumentKind::Invoice,
        account_id: "A1".into(),
        period: period.into(),
        issue_date: Date::constant(2025, 2, 2),
        due_date: Some(Date::constant(2025, 2, 16)),
        currency: Currency::Nok,
        lines,
        vat,
        net,
        vat_total,
        gross,
        references: Vec::new(),
    };
    let mut tx = store.begin_billing(run_id, now).await.unwrap();
    tx.issue(document, "F", None).await.unwrap();
    let issued = tx.commit().await.unwrap().pop().unwrap();
    store.release_run(run_id).await.unwrap();
    issued
}

/// A pool on the test database whichever its backend.
async fn raw_pool(location: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = if location.starts_with("postgres") {
        location.to_owned()
    } else {
        format!("sqlite://{location}?mode=rwc")
    };
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap()
}

const CUSTOMER_AND_ACCOUNT: [&str; 2] = [
    "INSERT INTO customers VALUES ('K1','person','NO','01010112377','Kari','','','','','','','')",
    "INSERT INTO accounts (account_id, customer_id, payer_customer_id, invoice_channel, language, email) VALUES ('A1','K1','K1','paper','nb','')",
];

#[tokio::test]
async fn every_explanation_kind_unit_and_vat_category_reads_back_exactly_as_issued() {
    let dir = tempfile::tempdir().unwrap();
    let location = nordlys_store::testing::fresh_database(dir.path()).await;
    let store = Store::open(&location).await.unwrap();
    let pool = raw_pool(&location).await;
    for statement in CUSTOMER_AND_ACCOUNT {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }

    let issued = issue(&store, "2025-01", lines()).await;
    let read = store.document_lines(issued.id).await.unwrap();
    assert_eq!(read, issued.document.lines);
    // Exactly: decimals keep the scale they were issued with, so the English reads the same.
    let shown = |lines: &[DocumentLine]| -> Vec<Vec<String>> {
        lines
            .iter()
            .map(|l| l.explanation.iter().map(|e| e.to_string()).collect())
            .collect()
    };
    assert_eq!(shown(&read), shown(&issued.document.lines));
    assert!(
        shown(&read)[0][1].contains("step 5.0–10 kW"),
        "{:?}",
        shown(&read)[0]
    );
    let units: Vec<&str> = read.iter().map(|l| l.unit.un_ece_code()).collect();
    assert_eq!(
        &units[1..9],
        ["KWH", "KWT", "MON", "DAY", "HUR", "C62", "MTQ", "ZZ"]
    );

    let billed = store.billed_lines("S1", "2025-01").await.unwrap();
    let billed: Vec<DocumentLine> = billed.into_iter().map(|b| b.line).collect();
    assert_eq!(billed, issued.document.lines);

    // The stored form is the versioned JSON, the same text on either backend.
    let stored: String = sqlx::query_scalar(
        "SELECT explanation_json FROM document_lines WHERE document_id = $1 AND line_no = 12",
    )
    .bind(issued.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        stored,
        r#"{"version":1,"items":[{"type":"tier","from_kwh":"0","to_kwh":"1000.5"}]}"#
    );

    // The journal records the document as before: its header, VAT by category code, a count
    // of lines.
    let record = store
        .changes(0, Some(Domain::Document), 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let after = record.after.unwrap();
    assert_eq!(after["lines"], lines().len());
    let categories: Vec<&str> = after["vat_breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["AE", "E", "G", "K", "O", "S", "Z"]);
    pool.close().await;
}

#[tokio::test]
async fn documents_issued_before_0009_read_back_as_issued_beside_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let location = nordlys_store::testing::fresh_database(dir.path()).await;
    let pool = raw_pool(&location).await;
    let mut legacy = if location.starts_with("postgres") {
        sqlx::migrate!("./migrations/postgres")
    } else {
        sqlx::migrate!("./migrations/sqlite")
    };
    legacy.migrations = legacy
        .migrations
        .iter()
        .filter(|m| m.version <= 8)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    legacy.run(&pool).await.unwrap();
    let old_text = "correction of F-1\nprorated 10 of 31 days in 2025-01\nrate 0.09790/kWh from 2025-01-01 to 2025-02-01";
    let old_line = format!(
        "INSERT INTO document_lines VALUES (1,1,'S1','2025-01','fixed','p','e','Fastledd','2025-01-01','2025-02-01','0.3226','month','100','32.26','S','25','{old_text}')"
    );
    for statement in CUSTOMER_AND_ACCOUNT.iter().copied().chain([
        "INSERT INTO settlement_runs (kind, period, started_at_us) VALUES ('settlement','2025-01',0)",
        "INSERT INTO number_series VALUES ('F', 2)",
        "INSERT INTO documents (kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross, run_id, issued_at_us)
         VALUES ('invoice','F',1,NULL,'A1','2025-01','2025-02-02','2025-02-16','NOK','32.26','8.07','40.33',1,0)",
        old_line.as_str(),
        "INSERT INTO document_lines VALUES (1,2,'S1','2025-01','energy','p','e','Energi','2025-01-01','2025-02-01','100','kWh','1','100.00','S','25','')",
    ]) {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let store = Store::open(&location).await.unwrap();
    let old = store.document_lines(1).await.unwrap();
    assert_eq!(old.len(), 2);
    let shown: Vec<String> = old[0].explanation.iter().map(|e| e.to_string()).collect();
    assert_eq!(shown.join("\n"), old_text, "exactly as issued");
    assert!(
        old[0]
            .explanation
            .iter()
            .all(|e| matches!(e, Explanation::Note(_))),
        "{:?}",
        old[0].explanation
    );
    assert_eq!(old[0].kind, LineKind::Fixed);
    assert_eq!(old[0].unit, LineUnit::Month);
    assert_eq!(old[0].vat_category, VatCategory::Standard);
    assert!(old[1].explanation.is_empty());

    // A new document on the migrated database is stored structured, and both read back.
    let new = issue(&store, "2025-02", lines()).await;
    assert_eq!(
        store.document_lines(new.id).await.unwrap(),
        new.document.lines
    );
    let billed = store.billed_lines("S1", "2025-01").await.unwrap();
    assert_eq!(billed.len(), 2);
    assert_eq!(billed[0].line, old[0]);
    assert_eq!(billed[0].document_number, "F-1");

    // The catalogue and `db copy` know the new column: a copy (into SQLite) is verified and
    // reads the same lines.
    let target_dir = tempfile::tempdir().unwrap();
    let target_path = target_dir.path().join("copy.db").display().to_string();
    let target = Store::open(&target_path).await.unwrap();
    let report = store.copy_to(&target, &|_| {}).await.unwrap();
    assert!(report.tables.iter().all(|t| t.verified), "{report:?}");
    assert_eq!(
        store.table_fingerprints().await.unwrap(),
        target.table_fingerprints().await.unwrap()
    );
    assert_eq!(target.document_lines(1).await.unwrap(), old);
    assert_eq!(
        target.document_lines(new.id).await.unwrap(),
        new.document.lines
    );
}
