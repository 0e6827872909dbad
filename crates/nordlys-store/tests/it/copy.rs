//! `Store::copy_to` on what the demo does not make: decimals written as a negative zero (which
//! PostgreSQL's `numeric` does not keep), NULLs in integer, text, decimal columns, and a copy
//! that fails halfway, which must leave the target empty.

use std::collections::BTreeMap;
use std::str::FromStr;

use nordlys_store::{CopyError, Store, StoreError, TableFingerprint};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// A SQLite store at `path` with rows written as an older build or another tool could have
/// written them: a credit note of a zero line, its amounts `-0.00`.
async fn source_with_negative_zeros(path: &str) -> Store {
    Store::open(path).await.unwrap().close().await;
    write_raw(
        path,
        &[
            "INSERT INTO customers VALUES ('K1','person','NO','01010112377','Kari','','','','','','','')",
            "INSERT INTO accounts (account_id, customer_id, payer_customer_id, invoice_channel, language, email) VALUES ('A1','K1','K1','paper','nb','')",
            "INSERT INTO metering_points (gsrn, market, price_area, grid_owner, resolution, utility, usage, street, postcode, city, municipality, county)
             VALUES ('707057500000000018','NO','NO1','7080005046220','PT60M','electricity','household','','','','0301','')",
            "INSERT INTO settlement_runs (kind, period, started_at_us) VALUES ('corrections','2025-01',0)",
            "INSERT INTO number_series VALUES ('K', 2)",
            "INSERT INTO documents (kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross, run_id, issued_at_us)
             VALUES ('credit_note','K',1,NULL,'A1','2025-01','2025-02-10',NULL,'NOK','-0.00','-0.00','-0.00',1,0)",
            "INSERT INTO document_lines VALUES (1,1,'S1','2025-01','energy','p','e','Energi','2025-01-01','2025-02-01','-0','kWh','0.25','-0.00','S','25','',NULL)",
            "INSERT INTO document_vat VALUES (1,'S','25','-0.00','-0.00')",
        ],
    )
    .await;
    Store::open(path).await.unwrap()
}

async fn write_raw(path: &str, statements: &[&'static str]) {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .unwrap()
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    for statement in statements {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

/// A new, empty target: a PostgreSQL database when the suite has a server, else a SQLite file.
async fn empty_target(dir: &std::path::Path) -> Store {
    let location = nordlys_store::testing::fresh_database(dir).await;
    Store::open(&location).await.unwrap()
}

#[tokio::test]
async fn decimals_written_as_a_negative_zero_are_copied_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("source.db").display().to_string();
    let source = source_with_negative_zeros(&source_path).await;
    let target_dir = tempfile::tempdir().unwrap();
    let target = empty_target(target_dir.path()).await;

    let report = source.copy_to(&target, &|_| {}).await.unwrap();
    assert!(report.tables.iter().all(|t| t.verified), "{report:?}");
    assert_eq!(
        source.table_fingerprints().await.unwrap(),
        target.table_fingerprints().await.unwrap()
    );
    let credit = &target.documents(None, None, 10).await.unwrap()[0];
    assert_eq!(credit.display_number(), "K-1");
    assert!(credit.net.is_zero() && credit.kid.is_none() && credit.due_date.is_none());
    assert_eq!(target.document_lines(credit.id).await.unwrap().len(), 1);
}

/// Every table's row count in `store`.
async fn row_counts(store: &Store) -> BTreeMap<String, i64> {
    let fingerprints: BTreeMap<String, TableFingerprint> =
        store.table_fingerprints().await.unwrap();
    fingerprints.into_iter().map(|(t, f)| (t, f.rows)).collect()
}

#[tokio::test]
async fn a_copy_that_fails_halfway_leaves_the_target_empty() {
    let dir = tempfile::tempdir().unwrap();
    let source_path = dir.path().join("source.db").display().to_string();
    let source = source_with_negative_zeros(&source_path).await;
    // SQLite keeps a text that is no number in an INTEGER column; no backend takes it back as
    // an integer. `documents` is copied after `settlement_runs`, and fails.
    write_raw(
        &source_path,
        &["UPDATE documents SET issued_at_us = 'yesterday'"],
    )
    .await;
    let target_dir = tempfile::tempdir().unwrap();
    let target = empty_target(target_dir.path()).await;
    let empty = row_counts(&target).await;

    let error = source.copy_to(&target, &|_| {}).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Copy(CopyError::Table { table, .. }) if table == "documents"),
        "{error:?}"
    );
    assert_eq!(
        row_counts(&target).await,
        empty,
        "nothing of the copy stays"
    );

    // Mended, the same target takes the copy.
    write_raw(&source_path, &["UPDATE documents SET issued_at_us = 0"]).await;
    let report = source.copy_to(&target, &|_| {}).await.unwrap();
    assert_eq!(
        report.rows(),
        row_counts(&source).await.values().sum::<i64>() as u64
    );
}
