//! A database written before migration 0006 opens with its issued documents intact: numbers,
//! KIDs, due dates and the reference of a correction, and new KIDs never repeat old ones.

use std::str::FromStr;

use nordlys_core::document::{DocumentKind, NewDocument};
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::quantity::Currency;
use nordlys_store::{RunHolder, RunStart, Store};
use rust_decimal::Decimal;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[tokio::test]
async fn documents_issued_before_0006_keep_their_numbers_kids_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.db").display().to_string();
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let mut legacy = sqlx::migrate!("./migrations/sqlite");
    legacy.migrations = legacy
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    legacy.run(&pool).await.unwrap();
    for statement in [
        "INSERT INTO customers VALUES ('K1','person','NO','01010112377','Kari','','','','','','','')",
        "INSERT INTO accounts (account_id, customer_id, payer_customer_id, invoice_channel, language, email) VALUES ('A1','K1','K1','paper','nb','')",
        "INSERT INTO settlement_runs (kind, period, started_at_us) VALUES ('settlement','2025-01',0)",
        "INSERT INTO number_series VALUES ('F', 2), ('K', 2)",
        "INSERT INTO documents (kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross, run_id, issued_at_us)
         VALUES ('invoice','F',1,'0000000018','A1','2025-01','2025-02-02','2025-02-16','NOK','100.00','25.00','125.00',1,0)",
        "INSERT INTO documents (kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross, references_document, run_id, issued_at_us)
         VALUES ('credit_note','K',1,'0000000018','A1','2025-01','2025-02-10','2025-02-24','NOK','-100.00','-25.00','-125.00',1,1,0)",
        "INSERT INTO document_lines VALUES (1,1,'S1','2025-01','energy','p','e','Energi','2025-01-01','2025-02-01','100','kWh','1','100.00','S','25','')",
        "INSERT INTO document_lines VALUES (2,1,'S1','2025-01','energy','p','e','Energi','2025-01-01','2025-02-01','-100','kWh','1','-100.00','S','25','')",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(&path).await.unwrap();
    let documents = store.documents(None, None, 10).await.unwrap();
    let invoice = documents.iter().find(|d| d.series == "F").unwrap();
    let credit = documents.iter().find(|d| d.series == "K").unwrap();
    assert_eq!(invoice.kid.as_deref(), Some("0000000018"));
    assert_eq!(invoice.due_date, Some("2025-02-16".parse().unwrap()));
    assert_eq!(credit.references, vec!["F-1".to_owned()]);
    assert_eq!(
        credit.kid.as_deref(),
        Some("0000000018"),
        "issued documents are never edited"
    );
    assert_eq!(store.document_lines(invoice.id).await.unwrap().len(), 1);
    let billed = store.billed_lines("S1", "2025-01").await.unwrap();
    assert_eq!(billed.len(), 2, "the lines still belong to their documents");

    // A new invoice gets a KID no legacy document has.
    let holder = RunHolder {
        pid: 1,
        host: "test".into(),
    };
    let now = jiff::Timestamp::from_second(1_740_000_000).unwrap();
    let RunStart::Started(run_id) = store
        .start_run_locked("settlement", "2025-02", &holder, None, now)
        .await
        .unwrap()
    else {
        panic!("no run holds the lock");
    };
    let mut tx = store.begin_billing(run_id, now).await.unwrap();
    let document = NewDocument {
        kind: DocumentKind::Invoice,
        account_id: "A1".into(),
        period: "2025-02".into(),
        issue_date: "2025-03-02".parse().unwrap(),
        due_date: Some("2025-03-16".parse().unwrap()),
        currency: Currency::Nok,
        lines: Vec::new(),
        vat: Vec::new(),
        net: Decimal::ZERO,
        vat_total: Decimal::ZERO,
        gross: Decimal::ZERO,
        references: Vec::new(),
    };
    tx.issue(document, "F", Some(KidAlgorithm::Mod10))
        .await
        .unwrap();
    let issued = tx.commit().await.unwrap().pop().unwrap();
    assert_eq!(issued.display_number(), "F-2");
    let kid = issued.kid.unwrap();
    assert_ne!(kid.as_str(), "0000000018");
}

/// A database migrated by a newer Nordlys (a schema version this build does not know) is
/// refused with a message that says so, and left as it is.
#[tokio::test]
async fn a_database_of_a_newer_schema_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let location = nordlys_store::testing::fresh_database(dir.path()).await;
    Store::open(&location).await.unwrap().close().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&if location.starts_with("postgres") {
            location.clone()
        } else {
            format!("sqlite://{location}")
        })
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, CAST('00' AS BLOB), 1)",
    )
    .execute(&pool)
    .await
    .or(sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, '\\x00', 1)",
    )
    .execute(&pool)
    .await)
    .unwrap();
    pool.close().await;
    let error = Store::open(&location).await.unwrap_err().to_string();
    assert!(
        error.contains("schema version 9999") && error.contains("use a newer Nordlys"),
        "{error}"
    );
}

/// A server that does not answer is named in the error, with no password, and nothing panics.
#[tokio::test]
async fn an_unreachable_postgres_server_is_a_clear_error() {
    let error = Store::open("postgres://nordlys:secret@127.0.0.1:1/nordlys")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("postgres://nordlys@127.0.0.1:1/nordlys"),
        "{error}"
    );
    assert!(!error.contains("secret"), "{error}");
}
