//! What the database holds, read from its catalogue: the store's tables, their columns with the
//! kind of value each holds, the foreign keys between them, and a fingerprint of each table's
//! contents that is equal on either backend for equal contents (for health checks, for the
//! journal conformance test, and for verifying `db copy` and `db backup`).
//!
//! # Fingerprints
//! Every row is read with the same typed decoding the copy uses ([`read_row`]): integers as
//! `i64`, text and decimals as text (a PostgreSQL `numeric` as `numeric::text`, which gives the
//! text SQLite stores for the same value in the same scale), bytes as bytes. Each row is hashed
//! on its own and the row hashes are added up, so the fingerprint does not depend on the order
//! rows come in (the backends order and collate differently) and a table is read as a stream in
//! constant memory. One difference between the backends is evened out: PostgreSQL has no
//! negative zero, so a decimal written as `-0.00` reads back `0.00` there; a text of only a minus
//! sign, zeros and a point is hashed without its sign on both.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use sqlx::Row;

use crate::db::{Backend, DbConn, DbRow};
use crate::{Store, StoreError};

/// The kind of value a column holds, as far as copying and fingerprinting need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// 64-bit integers (`INTEGER`, `bigint`).
    Integer,
    /// Text (`TEXT`, `text`); on SQLite also the decimals, stored as exact text.
    Text,
    /// A PostgreSQL `numeric`: read as its text, written from text with `$N::numeric`.
    Numeric,
    /// Bytes (`BLOB`, `bytea`).
    Bytes,
}

impl ColumnKind {
    /// Whether values of `self` can be written into a column of `target` unchanged.
    pub(crate) fn fits(self, target: ColumnKind) -> bool {
        use ColumnKind::*;
        matches!(
            (self, target),
            (Integer, Integer) | (Text | Numeric, Text | Numeric) | (Bytes, Bytes)
        )
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ColumnKind::Integer => "integer",
            ColumnKind::Text => "text",
            ColumnKind::Numeric => "numeric",
            ColumnKind::Bytes => "bytes",
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) kind: ColumnKind,
}

/// One value as read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// Bytes the value takes, to bound what a batch holds in memory.
    pub(crate) fn size_bytes(&self) -> usize {
        match self {
            Value::Null => 1,
            Value::Integer(_) => 8,
            Value::Text(text) => text.len(),
            Value::Bytes(bytes) => bytes.len(),
        }
    }
}

/// `name` quoted as an SQL identifier. Names come from the catalogue, never from input.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The store's tables by name: the backend's own tables and sqlx's `_sqlx_migrations` excluded.
pub(crate) async fn table_names(
    conn: &mut DbConn,
    backend: Backend,
) -> Result<Vec<String>, StoreError> {
    let query = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY table_name"
        }
    };
    Ok(sqlx::query_scalar(query).fetch_all(conn).await?)
}

/// A table's columns in order, each with its kind; a column of a type the store does not use
/// is an error naming it.
pub(crate) async fn columns(
    conn: &mut DbConn,
    backend: Backend,
    table: &str,
) -> Result<Vec<Column>, StoreError> {
    let rows = match backend {
        Backend::Sqlite => {
            sqlx::query("SELECT name, upper(type) FROM pragma_table_info($1) ORDER BY cid")
                .bind(table)
                .fetch_all(conn)
                .await?
        }
        Backend::Postgres => {
            sqlx::query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            let name: String = row.get(0);
            let declared: String = row.get(1);
            let kind = match (backend, declared.as_str()) {
                (Backend::Sqlite, t) if t.contains("INT") => ColumnKind::Integer,
                (Backend::Sqlite, "TEXT") => ColumnKind::Text,
                (Backend::Sqlite, "BLOB") => ColumnKind::Bytes,
                (Backend::Postgres, "bigint" | "integer" | "smallint") => ColumnKind::Integer,
                (Backend::Postgres, "text" | "character varying") => ColumnKind::Text,
                (Backend::Postgres, "numeric") => ColumnKind::Numeric,
                (Backend::Postgres, "bytea") => ColumnKind::Bytes,
                _ => {
                    return Err(StoreError::Unsupported(format!(
                        "column {table}.{name} has type {declared}, which the store does not use"
                    )));
                }
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// Per table, the tables its foreign keys refer to (itself excluded).
pub(crate) async fn referenced_tables(
    conn: &mut DbConn,
    backend: Backend,
) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let query = match backend {
        Backend::Sqlite => {
            "SELECT m.name, f.\"table\" FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f
             WHERE m.type = 'table'"
        }
        Backend::Postgres => {
            "SELECT child.relname::text, parent.relname::text FROM pg_constraint AS c
             JOIN pg_class AS child ON child.oid = c.conrelid
             JOIN pg_class AS parent ON parent.oid = c.confrelid
             JOIN pg_namespace AS n ON n.oid = child.relnamespace
             WHERE c.contype = 'f' AND n.nspname = current_schema()"
        }
    };
    let rows = sqlx::query(query).fetch_all(conn).await?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &rows {
        let (child, parent): (String, String) = (row.get(0), row.get(1));
        if child != parent {
            parents.entry(child).or_default().insert(parent);
        }
    }
    Ok(parents)
}

/// `SELECT` of `columns` from `table` in the form [`read_row`] decodes.
pub(crate) fn select_all(table: &str, columns: &[Column]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|c| match c.kind {
            ColumnKind::Numeric => format!("{}::text", quoted(&c.name)),
            _ => quoted(&c.name),
        })
        .collect();
    format!("SELECT {} FROM {}", list.join(", "), quoted(table))
}

/// The values of a row selected by [`select_all`] with `columns`.
pub(crate) fn read_row(row: &DbRow, columns: &[Column]) -> Result<Vec<Value>, StoreError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match column.kind {
                ColumnKind::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::Integer),
                ColumnKind::Text | ColumnKind::Numeric => {
                    row.try_get::<Option<String>, _>(i)?.map(Value::Text)
                }
                ColumnKind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

/// Every table's row count and content fingerprint, read on `conn` (inside a transaction: as
/// that transaction sees them).
pub(crate) async fn fingerprints(
    conn: &mut DbConn,
    backend: Backend,
) -> Result<BTreeMap<String, TableFingerprint>, StoreError> {
    let mut out = BTreeMap::new();
    for table in table_names(conn, backend).await? {
        let columns = columns(conn, backend, &table).await?;
        let select = select_all(&table, &columns);
        let mut fingerprint = TableFingerprint {
            rows: 0,
            contents: 0,
        };
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            fingerprint.add_row(&read_row(&row, &columns)?);
        }
        drop(rows);
        out.insert(table, fingerprint);
    }
    Ok(out)
}

impl Store {
    /// Per table (the backend's own and the migrations' excluded): its row count and a
    /// fingerprint of its contents, for health checks, for `db copy`'s and `db backup`'s
    /// verification and for the journal conformance test (every table an import sequence
    /// changes — rows added or edited — must have records of its domain). Equal contents give
    /// equal fingerprints on either backend (see the module docs).
    pub async fn table_fingerprints(
        &self,
    ) -> Result<BTreeMap<String, TableFingerprint>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fingerprints(&mut conn, self.backend).await
    }
}

/// A table's row count and a hash of its contents (equal contents, equal hash, whatever the
/// order of the rows and the backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFingerprint {
    pub rows: i64,
    pub contents: u64,
}

impl TableFingerprint {
    fn add_row(&mut self, values: &[Value]) {
        let mut hash = Fnv1a64::default();
        for value in values {
            match value {
                Value::Null => hash.write(&[0]),
                Value::Integer(i) => {
                    hash.write(&[1]);
                    hash.write(&i.to_le_bytes());
                }
                Value::Text(text) => {
                    let text = without_negative_zero_sign(text);
                    hash.write(&[2]);
                    hash.write(&(text.len() as u64).to_le_bytes());
                    hash.write(text.as_bytes());
                }
                Value::Bytes(bytes) => {
                    hash.write(&[3]);
                    hash.write(&(bytes.len() as u64).to_le_bytes());
                    hash.write(bytes);
                }
            }
        }
        self.rows += 1;
        self.contents = self.contents.wrapping_add(spread(hash.0));
    }
}

/// `-0`, `-0.00` … without the sign (PostgreSQL's `numeric` has no negative zero); any other
/// text as it is.
fn without_negative_zero_sign(text: &str) -> &str {
    match text.strip_prefix('-') {
        Some(rest) if rest.starts_with('0') && rest.bytes().all(|b| b == b'0' || b == b'.') => rest,
        _ => text,
    }
}

/// SplitMix64's finaliser: spreads a row hash over all 64 bits before the row hashes are added.
fn spread(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a, 64 bits: a hash that is the same in every build and on every machine (the standard
/// library's is not promised to be), for fingerprints compared across processes.
struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a64 {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(rows: &[Vec<Value>]) -> TableFingerprint {
        let mut f = TableFingerprint {
            rows: 0,
            contents: 0,
        };
        for row in rows {
            f.add_row(row);
        }
        f
    }

    #[test]
    fn a_fingerprint_does_not_depend_on_row_order_but_on_every_value() {
        let a = vec![Value::Integer(1), Value::Text("x".into())];
        let b = vec![Value::Integer(2), Value::Null];
        assert_eq!(
            fingerprint(&[a.clone(), b.clone()]),
            fingerprint(&[b.clone(), a.clone()])
        );
        let changed = vec![Value::Integer(2), Value::Text(String::new())];
        assert_ne!(fingerprint(&[a.clone(), b]), fingerprint(&[a, changed]));
        // Values do not run into each other.
        assert_ne!(
            fingerprint(&[vec![Value::Text("ab".into()), Value::Text("c".into())]]),
            fingerprint(&[vec![Value::Text("a".into()), Value::Text("bc".into())]])
        );
    }

    #[test]
    fn a_negative_zero_counts_as_zero_and_nothing_else_loses_its_sign() {
        assert_eq!(without_negative_zero_sign("-0.00"), "0.00");
        assert_eq!(without_negative_zero_sign("-0"), "0");
        assert_eq!(without_negative_zero_sign("-0.01"), "-0.01");
        assert_eq!(without_negative_zero_sign("-10"), "-10");
        assert_eq!(without_negative_zero_sign("-"), "-");
        assert_eq!(without_negative_zero_sign("-.0"), "-.0");
    }
}
