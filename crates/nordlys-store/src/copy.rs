//! `db copy`: every table of one store into another, empty one — a utility moving from its
//! SQLite file to PostgreSQL, or between any two backends — in one transaction on the target,
//! verified table by table before it commits.
//!
//! # How
//! - The source is read in one read-only snapshot (SQLite: one read transaction; PostgreSQL:
//!   `REPEATABLE READ`), so the copy is consistent even while others write to the source.
//! - The target is written in one transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: every
//!   table locked `EXCLUSIVE`, so no one else writes into it meanwhile; a lock held by someone
//!   else for more than 30 s is an error). It must be empty: no table with rows but those a new
//!   database is created with ([`SEEDED_TABLES`]: the journal head at 0 and the KID counter at
//!   1), which the copy replaces by the source's.
//! - Tables go parents first (foreign keys), rows in multi-row inserts bound by the target
//!   column's kind (decimals into `numeric` as `$N::numeric`), a batch bounded by parameters and
//!   bytes. Rows are copied as they are, ids, journal (`changes`, `journal_head`), number series,
//!   KID counter and versions included, so numbering, versions and the journal go on where the
//!   source was; this is the one write that is not journaled, since it copies the journal itself.
//! - PostgreSQL identity columns are advanced past the copied ids (`setval`); SQLite's ids go on
//!   from the largest row id by themselves.
//! - Before the commit, each table's row count and fingerprint (see `catalog`) in the target
//!   transaction must equal the source snapshot's; otherwise the transaction is rolled back and
//!   the target stays empty.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use sqlx::{Any, Transaction};

use crate::catalog::{self, Column, TableFingerprint, Value, quoted};
use crate::db::{Backend, DbConn, SqlBuilder};
use crate::{Store, StoreError, journal};

/// Tables a new database is created with one row in: (table, column, the value it starts at).
/// An empty target may hold exactly that row; the copy replaces it by the source's.
pub(crate) const SEEDED_TABLES: [(&str, &str, i64); 2] = [
    ("journal_head", "last_seq", 0),
    ("kid_counter", "next_value", 1),
];

/// At most this many parameters in one insert, per target backend. SQLite finds each numbered
/// parameter by walking a list of those before it, so a statement with n of them costs about n²:
/// copying the default demo (321,675 rows) into SQLite took 5.0 s of CPU with 250, 7.3 s with
/// 1,000 and several times that with 10,000. PostgreSQL allows 65,535.
fn max_parameters_per_insert(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 250,
        Backend::Postgres => 10_000,
    }
}
/// At most about this many bytes of values in one insert (product bodies can be large).
const MAX_BYTES_PER_INSERT: usize = 4 << 20;

/// Why a copy did not happen. Nothing is committed to the target in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty: it holds {}; db copy writes only into a new, empty database",
        .found.join(", ")
    )]
    TargetNotEmpty { found: Vec<String> },
    #[error("the source and the target have different tables or columns: {0}")]
    SchemaDiffers(String),
    #[error("the foreign keys of tables {} form a cycle: no parents-first order exists", .0.join(", "))]
    ForeignKeyCycle(Vec<String>),
    #[error(
        "the copy does not match its source in {}; the target's transaction was rolled back, nothing was copied",
        .0.join("; ")
    )]
    NotVerified(Vec<String>),
    #[error("copying table {table}")]
    Table {
        table: String,
        #[source]
        source: Box<StoreError>,
    },
}

/// What the copy is doing, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum CopyStep<'a> {
    /// Copying `table`, which has `rows` rows.
    Table { table: &'a str, rows: u64 },
    /// `rows` more rows of the current table are in the target.
    Rows(u64),
    /// The current table is copied.
    TableDone,
    /// Comparing fingerprints of source and target.
    Verifying,
}

/// One table as copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: String,
    pub rows: u64,
    /// Row count and content fingerprint equal in source and target.
    pub verified: bool,
}

/// What a copy did.
#[derive(Debug, Clone)]
pub struct CopyReport {
    pub source: Backend,
    pub target: Backend,
    /// In the order copied (parents first).
    pub tables: Vec<CopiedTable>,
    /// Identity columns advanced on the target: (table, column, the next id it gives).
    pub identities: Vec<(String, String, i64)>,
    /// The journal's head in the copy: the next change gets a higher sequence.
    pub journal_head: i64,
    pub elapsed: Duration,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

impl Store {
    /// Copy every table of this store into `target`, which must be empty (see the module
    /// docs): in one transaction on the target, verified table by table before it commits.
    pub async fn copy_to(
        &self,
        target: &Store,
        progress: &(dyn Fn(CopyStep<'_>) + Send + Sync),
    ) -> Result<CopyReport, StoreError> {
        let started = Instant::now();
        let mut source = begin_snapshot(self).await?;
        let mut into = journal::begin_write(target).await?;
        let tables = same_tables(&mut source, self.backend, &mut into, target.backend).await?;
        if target.backend == Backend::Postgres && !tables.is_empty() {
            // A target someone else is using is an error after a while, not a wait forever.
            sqlx::query("SET LOCAL lock_timeout = '30s'")
                .execute(&mut *into)
                .await?;
            let list: Vec<String> = tables.iter().map(|t| quoted(t)).collect();
            let lock = format!("LOCK TABLE {} IN EXCLUSIVE MODE", list.join(", "));
            sqlx::query(sqlx::AssertSqlSafe(lock))
                .execute(&mut *into)
                .await?;
        }
        refuse_non_empty(&mut into, &tables).await?;
        let parents = catalog::referenced_tables(&mut into, target.backend).await?;
        let order = parents_first(&tables, &parents)?;

        let mut copied = Vec::with_capacity(order.len());
        for table in &order {
            let rows = copy_table(
                &mut source,
                self.backend,
                &mut into,
                target.backend,
                table,
                progress,
            )
            .await
            .map_err(|e| CopyError::Table {
                table: table.clone(),
                source: Box::new(e),
            })?;
            copied.push(CopiedTable {
                table: table.clone(),
                rows,
                verified: false,
            });
        }
        tracing::info!(
            rows = copied.iter().map(|t| t.rows).sum::<u64>(),
            seconds = started.elapsed().as_secs_f64(),
            "rows copied; verifying"
        );
        let identities = match target.backend {
            Backend::Postgres => advance_identities(&mut into).await?,
            Backend::Sqlite => Vec::new(),
        };

        progress(CopyStep::Verifying);
        let expected = catalog::fingerprints(&mut source, self.backend).await?;
        let found = catalog::fingerprints(&mut into, target.backend).await?;
        let mut mismatches = Vec::new();
        for table in &mut copied {
            let (want, got) = (expected.get(&table.table), found.get(&table.table));
            table.verified =
                want.is_some() && want == got && want.map(|f| f.rows) == Some(table.rows as i64);
            if !table.verified {
                mismatches.push(describe_mismatch(&table.table, want, got));
            }
        }
        if !mismatches.is_empty() {
            return Err(CopyError::NotVerified(mismatches).into());
        }
        let journal_head: i64 =
            sqlx::query_scalar("SELECT last_seq FROM journal_head WHERE id = 1")
                .fetch_one(&mut *into)
                .await?;
        into.commit().await?;
        source.rollback().await?;
        Ok(CopyReport {
            source: self.backend,
            target: target.backend,
            tables: copied,
            identities,
            journal_head,
            elapsed: started.elapsed(),
        })
    }
}

/// A read-only transaction that sees one state of `store` throughout.
async fn begin_snapshot(store: &Store) -> Result<Transaction<'static, Any>, StoreError> {
    Ok(match store.backend {
        // A deferred read transaction: its snapshot is taken at the first read and kept.
        Backend::Sqlite => store.pool.begin().await?,
        Backend::Postgres => {
            store
                .pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?
        }
    })
}

/// The tables of source and target, which must have the same tables with the same columns.
async fn same_tables(
    source: &mut DbConn,
    source_backend: Backend,
    target: &mut DbConn,
    target_backend: Backend,
) -> Result<Vec<String>, StoreError> {
    let from = catalog::table_names(source, source_backend).await?;
    let into = catalog::table_names(target, target_backend).await?;
    if from != into {
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|t| !b.contains(t)).cloned().collect()
        };
        return Err(CopyError::SchemaDiffers(format!(
            "tables only in the source: [{}], only in the target: [{}] (are both at the same schema version?)",
            only(&from, &into).join(", "),
            only(&into, &from).join(", ")
        ))
        .into());
    }
    Ok(from)
}

/// Refuse a target with rows in any table, beyond the rows a new database is created with.
async fn refuse_non_empty(target: &mut DbConn, tables: &[String]) -> Result<(), StoreError> {
    let mut found = Vec::new();
    for table in tables {
        if let Some((_, column, start)) = SEEDED_TABLES.iter().find(|(t, _, _)| t == table) {
            let values: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM {}",
                quoted(column),
                quoted(table)
            )))
            .fetch_all(&mut *target)
            .await?;
            if values.as_slice() != [*start] {
                let values: Vec<String> = values.iter().map(i64::to_string).collect();
                found.push(format!(
                    "{table}.{column} = {} (a new database has {start})",
                    values.join(", ")
                ));
            }
            continue;
        }
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            quoted(table)
        )))
        .fetch_one(&mut *target)
        .await?;
        if rows > 0 {
            found.push(format!(
                "{table} ({rows} row{})",
                if rows == 1 { "" } else { "s" }
            ));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(CopyError::TargetNotEmpty { found }.into())
    }
}

/// `tables` ordered so that every table comes after the tables its foreign keys refer to;
/// among tables free to go, by name.
pub(crate) fn parents_first(
    tables: &[String],
    parents: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<String>, CopyError> {
    let mut left: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut order = Vec::with_capacity(tables.len());
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|t| {
                parents
                    .get(*t)
                    .is_none_or(|ps| ps.iter().all(|p| !left.contains(p.as_str())))
            })
            .collect();
        if ready.is_empty() {
            return Err(CopyError::ForeignKeyCycle(
                left.iter().map(|t| t.to_string()).collect(),
            ));
        }
        for table in ready {
            left.remove(table);
            order.push(table.to_owned());
        }
    }
    Ok(order)
}

/// Copy one table's rows in batches; returns how many.
async fn copy_table(
    source: &mut DbConn,
    source_backend: Backend,
    target: &mut DbConn,
    target_backend: Backend,
    table: &str,
    progress: &(dyn Fn(CopyStep<'_>) + Send + Sync),
) -> Result<u64, StoreError> {
    let read = catalog::columns(source, source_backend, table).await?;
    let write = catalog::columns(target, target_backend, table).await?;
    // Read the columns in the target's order, each as the source holds it.
    let mut columns: Vec<(Column, Column)> = Vec::with_capacity(write.len());
    for into in &write {
        let Some(from) = read.iter().find(|c| c.name == into.name) else {
            return Err(CopyError::SchemaDiffers(format!(
                "column {table}.{} is not in the source",
                into.name
            ))
            .into());
        };
        if !from.kind.fits(into.kind) {
            return Err(CopyError::SchemaDiffers(format!(
                "column {table}.{} holds {} in the source and {} in the target",
                into.name,
                from.kind.name(),
                into.kind.name()
            ))
            .into());
        }
        columns.push((from.clone(), into.clone()));
    }
    if read.len() != write.len() {
        let extra: Vec<&str> = read
            .iter()
            .filter(|c| !write.iter().any(|w| w.name == c.name))
            .map(|c| c.name.as_str())
            .collect();
        return Err(CopyError::SchemaDiffers(format!(
            "columns of {table} only in the source: {}",
            extra.join(", ")
        ))
        .into());
    }
    let source_columns: Vec<Column> = columns.iter().map(|(from, _)| from.clone()).collect();
    let target_columns: Vec<Column> = columns.into_iter().map(|(_, into)| into).collect();

    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        quoted(table)
    )))
    .fetch_one(&mut *source)
    .await?;
    progress(CopyStep::Table {
        table,
        rows: total as u64,
    });
    if SEEDED_TABLES.iter().any(|(t, _, _)| *t == table) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {}",
            quoted(table)
        )))
        .execute(&mut *target)
        .await?;
    }
    let insert_head = format!(
        "INSERT INTO {} ({})",
        quoted(table),
        target_columns
            .iter()
            .map(|c| quoted(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows_per_insert =
        (max_parameters_per_insert(target_backend) / target_columns.len().max(1)).max(1);
    let select = catalog::select_all(table, &source_columns);
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *source);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(rows_per_insert);
    let mut batch_bytes = 0;
    let mut copied = 0_u64;
    while let Some(row) = rows.try_next().await? {
        let values = catalog::read_row(&row, &source_columns)?;
        batch_bytes += values.iter().map(Value::size_bytes).sum::<usize>();
        batch.push(values);
        if batch.len() >= rows_per_insert || batch_bytes >= MAX_BYTES_PER_INSERT {
            insert_batch(
                target,
                target_backend,
                &insert_head,
                &target_columns,
                &batch,
            )
            .await?;
            copied += batch.len() as u64;
            progress(CopyStep::Rows(batch.len() as u64));
            batch.clear();
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        insert_batch(
            target,
            target_backend,
            &insert_head,
            &target_columns,
            &batch,
        )
        .await?;
        copied += batch.len() as u64;
        progress(CopyStep::Rows(batch.len() as u64));
    }
    progress(CopyStep::TableDone);
    Ok(copied)
}

/// One multi-row insert of `batch`, each value bound as its target column's kind.
async fn insert_batch(
    target: &mut DbConn,
    backend: Backend,
    head: &str,
    columns: &[Column],
    batch: &[Vec<Value>],
) -> Result<(), StoreError> {
    use catalog::ColumnKind;
    let mut insert = SqlBuilder::new(head);
    insert.values(batch, |row, values| {
        for (column, value) in columns.iter().zip(values) {
            match (column.kind, value) {
                (ColumnKind::Integer, Value::Integer(i)) => row.bind(Some(*i)),
                (ColumnKind::Integer, _) => row.bind(None::<i64>),
                (ColumnKind::Text, Value::Text(text)) => row.bind(Some(text.clone())),
                (ColumnKind::Text, _) => row.bind(None::<String>),
                (ColumnKind::Numeric, Value::Text(text)) => row.bind_numeric(Some(text.clone())),
                (ColumnKind::Numeric, _) => row.bind_numeric(None::<String>),
                (ColumnKind::Bytes, Value::Bytes(bytes)) => row.bind(Some(bytes.clone())),
                (ColumnKind::Bytes, _) => row.bind(None::<Vec<u8>>),
            };
        }
    });
    insert.build(backend).execute(target).await?;
    Ok(())
}

/// Set every identity column's sequence on PostgreSQL past the largest id in its table.
async fn advance_identities(target: &mut DbConn) -> Result<Vec<(String, String, i64)>, StoreError> {
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name, column_name",
    )
    .fetch_all(&mut *target)
    .await?;
    let mut advanced = Vec::with_capacity(identities.len());
    for (table, column) in identities {
        let next: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(max({column_q}), 0) + 1 FROM {table_q}",
            column_q = quoted(&column),
            table_q = quoted(&table)
        )))
        .fetch_one(&mut *target)
        .await?;
        // `false`: the next value given is `next` itself.
        sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3, false)")
            .bind(quoted(&table))
            .bind(column.clone())
            .bind(next)
            .execute(&mut *target)
            .await?;
        advanced.push((table, column, next));
    }
    Ok(advanced)
}

fn describe_mismatch(
    table: &str,
    source: Option<&TableFingerprint>,
    target: Option<&TableFingerprint>,
) -> String {
    match (source, target) {
        (Some(s), Some(t)) if s.rows != t.rows => {
            format!(
                "{table} ({} rows in the source, {} in the target)",
                s.rows, t.rows
            )
        }
        (Some(s), Some(_)) => format!(
            "{table} (the same {} row{}, different contents)",
            s.rows,
            if s.rows == 1 { "" } else { "s" }
        ),
        _ => format!("{table} (not in both)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parents_come_before_the_tables_that_refer_to_them() {
        let tables = names(&["accounts", "contracts", "customers", "documents", "imports"]);
        let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        parents.insert("accounts".into(), ["customers".to_string()].into());
        parents.insert(
            "contracts".into(),
            ["accounts".to_string(), "customers".to_string()].into(),
        );
        parents.insert("documents".into(), ["accounts".to_string()].into());
        assert_eq!(
            parents_first(&tables, &parents).unwrap(),
            names(&["customers", "imports", "accounts", "contracts", "documents"])
        );
    }

    #[test]
    fn a_cycle_of_foreign_keys_is_named() {
        let tables = names(&["a", "b", "c"]);
        let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        parents.insert("a".into(), ["b".to_string()].into());
        parents.insert("b".into(), ["a".to_string()].into());
        let error = parents_first(&tables, &parents).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the foreign keys of tables a, b form a cycle: no parents-first order exists"
        );
    }
}
