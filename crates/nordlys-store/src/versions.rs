//! Versioned single-value rows (exchange rates, usage quantities): a changed value is a new
//! version recorded with its time and transaction; a value written earlier in the same
//! transaction (not yet visible to anyone) is amended in place. Reads take the highest version
//! recorded at or before `as_of`.

// Table and column names in the SQL here are constants of the calling modules, never input.
use sqlx::Row;

use crate::db::sql_owned;
use crate::{JournaledTx, StoreError};

/// One versioned row: its table, key columns and values, and the value column.
pub(crate) struct VersionedRow<'a> {
    pub(crate) table: &'static str,
    pub(crate) key_columns: &'static [&'static str],
    pub(crate) key_values: &'a [&'a str],
    pub(crate) value_column: &'static str,
    pub(crate) value: &'a str,
    /// What concurrent writers of this row wait on (see [`SeriesLock`]).
    pub(crate) lock: SeriesLock<'a>,
}

/// How writers of a versioned row are serialised on PostgreSQL: a few series share an advisory
/// lock (a currency pair), rows with a parent of their own lock it (a contract's usage).
pub(crate) enum SeriesLock<'a> {
    Advisory(String),
    ParentRow {
        table: &'static str,
        key_column: &'static str,
        key: &'a str,
    },
}

/// What writing a versioned row did.
pub(crate) enum VersionWrite {
    /// The latest version already holds the value: nothing written.
    Unchanged,
    /// Written; the value of the latest version before, if there was one.
    Written { before: Option<String> },
}

/// Write `row` as a new version unless its latest version already holds the value (a decimal,
/// compared and stored exactly: text on SQLite, `numeric` on PostgreSQL). Concurrent writers
/// of the same key are serialised by `row.lock`.
pub(crate) async fn upsert_version(
    tx: &mut JournaledTx,
    row: VersionedRow<'_>,
) -> Result<VersionWrite, StoreError> {
    let VersionedRow {
        table,
        key_columns,
        key_values,
        value_column,
        value,
        lock,
    } = row;
    match lock {
        SeriesLock::Advisory(series) => tx.lock_series(&series).await?,
        SeriesLock::ParentRow {
            table,
            key_column,
            key,
        } => tx.lock_row(table, key_column, key.to_owned()).await?,
    }
    let key_match = |first: usize| -> String {
        key_columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", first + i))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let backend = tx.backend();
    let mut latest = sqlx::query(sql_owned(
        backend,
        format!(
            "SELECT version, {value_column}::text, tx_id FROM {table} WHERE {} ORDER BY version DESC LIMIT 1",
            key_match(1)
        ),
    ));
    for key in key_values {
        latest = latest.bind(*key);
    }
    let latest = latest.fetch_optional(tx.conn()).await?;
    let before: Option<String> = latest.as_ref().map(|r| r.get(1));
    // Callers give normalised decimals; both backends give them back as they were stored.
    if before.as_deref() == Some(value) {
        return Ok(VersionWrite::Unchanged);
    }
    match latest {
        Some(latest) if latest.get::<Option<i64>, _>(2) == Some(tx.tx_id()) => {
            let n = key_columns.len();
            let mut update = sqlx::query(sql_owned(
                backend,
                format!(
                    "UPDATE {table} SET {value_column} = $1::numeric WHERE {} AND version = ${}",
                    key_match(2),
                    n + 2
                ),
            ))
            .bind(value);
            for key in key_values {
                update = update.bind(*key);
            }
            update
                .bind(latest.get::<i64, _>(0))
                .execute(tx.conn())
                .await?;
        }
        latest => {
            let version = latest.map_or(1, |r| r.get::<i64, _>(0) + 1);
            let columns = key_columns.join(", ");
            let n = key_columns.len();
            let marks: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
            let mut insert = sqlx::query(sql_owned(
                backend,
                format!(
                    "INSERT INTO {table} ({columns}, version, {value_column}, recorded_at_us, tx_id)
                     VALUES ({}, ${}, ${}::numeric, ${}, ${})",
                    marks.join(", "),
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4
                ),
            ));
            for key in key_values {
                insert = insert.bind(*key);
            }
            insert
                .bind(version)
                .bind(value)
                .bind(tx.now_us())
                .bind(tx.tx_id())
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(VersionWrite::Written { before })
}
