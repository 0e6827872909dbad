//! The change journal: every write appends change records in the same transaction as the data,
//! and this module owns the only way to get a writable connection ([`JournaledTx`]).
//!
//! # Why it cannot be bypassed
//! The raw `sqlx::Transaction` is a private field of [`JournaledTx`]; other store modules reach
//! the database for writing only through a `JournaledTx` ([`StoreTx`](crate::StoreTx) holds one),
//! so each write path sits next to its [`JournaledTx::record`] call, and the conformance tests
//! (app `tests/it/journal.rs`) check per kind of write that the expected records are there and
//! that every table an import sequence changes has records of its domain.
//!
//! # Why `seq` is commit-ordered on SQLite
//! SQLite has one writer at a time. Every `JournaledTx` begins with `BEGIN IMMEDIATE`, which takes
//! the write lock before the first statement, so no two write transactions overlap and none reads
//! a snapshot older than the last commit. `seq` (AUTOINCREMENT) is allocated while that lock is
//! held, so a record with a higher `seq` always commits after every record with a lower one, and a
//! reader that has seen `seq = n` will never later see a new record with `seq <= n`.
//! (A deferred `BEGIN` would read first and upgrade later, and could then write records derived
//! from a stale snapshot: hence IMMEDIATE.) A rolled-back transaction leaves no record; its `seq`
//! values are not reused (AUTOINCREMENT), so the sequence can have gaps but never reorders.
//!
//! # What PostgreSQL will need (issue 8)
//! PostgreSQL has concurrent writers: a sequence value taken inside a transaction that commits
//! later than one with a higher value becomes visible *after* it — the outbox trap. It will need
//! either one serialising lock for journal appends taken late in the transaction (e.g. a
//! transaction-scoped advisory lock held from allocating `seq` to commit), or readers that only
//! read up to a watermark below every in-flight transaction (`pg_snapshot_xmin` of the current
//! snapshot, with the transaction id stored next to `seq`). The API here — records written by
//! `record` inside the transaction, read back by `changes(after_seq)` — stays the same.
//!
//! # Payloads (schema_version 1)
//! `before` / `after` are JSON objects in an external schema: decimals as strings, instants RFC
//! 3339, dates `YYYY-MM-DD`, ids as the utility spells them (GSRN, contract id), never internal ids.

use jiff::Timestamp;
use nordlys_core::ParseError;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::{Store, StoreError};

/// The version of the external JSON schema of `before` / `after` written today.
pub const SCHEMA_VERSION: i64 = 1;

/// What a change record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    Customer,
    Account,
    MeteringPoint,
    Contract,
    MeterValues,
    SpotPrices,
    ExchangeRates,
    Product,
    Usage,
    Settlement,
    Document,
    Task,
}

impl Domain {
    pub const ALL: [Domain; 12] = [
        Domain::Customer,
        Domain::Account,
        Domain::MeteringPoint,
        Domain::Contract,
        Domain::MeterValues,
        Domain::SpotPrices,
        Domain::ExchangeRates,
        Domain::Product,
        Domain::Usage,
        Domain::Settlement,
        Domain::Document,
        Domain::Task,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Domain::Customer => "customer",
            Domain::Account => "account",
            Domain::MeteringPoint => "metering_point",
            Domain::Contract => "contract",
            Domain::MeterValues => "meter_values",
            Domain::SpotPrices => "spot_prices",
            Domain::ExchangeRates => "exchange_rates",
            Domain::Product => "product",
            Domain::Usage => "usage",
            Domain::Settlement => "settlement",
            Domain::Document => "document",
            Domain::Task => "task",
        }
    }

    /// The domain of `code`, or an error listing the known codes.
    pub fn parse(code: &str) -> Result<Domain, ParseError> {
        Domain::ALL
            .into_iter()
            .find(|d| d.code() == code)
            .ok_or_else(|| {
                let known: Vec<&str> = Domain::ALL.iter().map(|d| d.code()).collect();
                ParseError::new(
                    "domain",
                    code,
                    format!("unknown domain; one of {}", known.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    pub fn code(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }

    pub fn parse(code: &str) -> Result<ChangeOp, ParseError> {
        match code {
            "create" => Ok(ChangeOp::Create),
            "update" => Ok(ChangeOp::Update),
            "delete" => Ok(ChangeOp::Delete),
            other => Err(ParseError::new(
                "op",
                other,
                "unknown operation; one of create, update, delete",
            )),
        }
    }
}

/// Which settlements a change can affect (`None`: not applicable). `metering_point` is the
/// store's internal id, for joins with settlements; payloads carry the GSRN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeScope {
    pub metering_point: Option<i64>,
    pub price_area: Option<String>,
    pub contract_id: Option<String>,
    pub product_code: Option<String>,
    pub first_utc_day: Option<i64>,
    pub last_utc_day: Option<i64>,
}

/// A change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub domain: Domain,
    pub key: String,
    pub op: ChangeOp,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub scope: ChangeScope,
}

impl Change {
    /// The change an upsert made: `create` without a state before, else `update`.
    pub fn of_upsert(
        domain: Domain,
        key: String,
        before: Option<Value>,
        after: Value,
        scope: ChangeScope,
    ) -> Change {
        Change {
            domain,
            key,
            op: if before.is_some() {
                ChangeOp::Update
            } else {
                ChangeOp::Create
            },
            before,
            after: Some(after),
            scope,
        }
    }
}

/// A change as recorded, with its place in the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    pub seq: i64,
    pub tx_id: i64,
    pub domain: Domain,
    pub key: String,
    pub op: ChangeOp,
    pub schema_version: i64,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub changed_at: Timestamp,
    pub scope: ChangeScope,
}

impl ChangeRecord {
    /// The record as one JSON object (the `nordlys changes` line format).
    pub fn to_json(&self) -> Value {
        let s = &self.scope;
        serde_json::json!({
            "seq": self.seq,
            "tx_id": self.tx_id,
            "domain": self.domain.code(),
            "key": self.key,
            "op": self.op.code(),
            "schema_version": self.schema_version,
            "changed_at": self.changed_at.to_string(),
            "before": self.before,
            "after": self.after,
            "scope": {
                "metering_point": s.metering_point,
                "price_area": s.price_area,
                "contract_id": s.contract_id,
                "product_code": s.product_code,
                "first_utc_day": s.first_utc_day,
                "last_utc_day": s.last_utc_day,
            },
        })
    }
}

/// The write side: a transaction that can only write through journaled calls.
/// Dropping it without [`JournaledTx::commit`] stores nothing, records included.
pub(crate) struct JournaledTx {
    tx: Transaction<'static, Sqlite>,
    tx_id: i64,
    now_us: i64,
}

impl JournaledTx {
    /// Take the write lock (`BEGIN IMMEDIATE`, see the module docs) and record the transaction.
    pub(crate) async fn begin(
        pool: &SqlitePool,
        kind: &str,
        source: &str,
        now_us: i64,
    ) -> Result<Self, StoreError> {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let tx_id: i64 = sqlx::query_scalar(
            "INSERT INTO store_transactions (kind, source, started_at_us) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(kind)
        .bind(source)
        .bind(now_us)
        .fetch_one(&mut *tx)
        .await?;
        Ok(JournaledTx { tx, tx_id, now_us })
    }

    /// Append `change` to the journal; returns its sequence number.
    pub(crate) async fn record(&mut self, change: Change) -> Result<i64, StoreError> {
        let json = |v: Option<Value>| v.map(|v| v.to_string());
        let s = change.scope;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO changes (tx_id, domain, key, op, schema_version, before, after, changed_at_us,
                                  metering_point, price_area, contract_id, product_code, first_utc_day, last_utc_day)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(self.tx_id)
        .bind(change.domain.code())
        .bind(change.key)
        .bind(change.op.code())
        .bind(SCHEMA_VERSION)
        .bind(json(change.before))
        .bind(json(change.after))
        .bind(self.now_us)
        .bind(s.metering_point)
        .bind(s.price_area)
        .bind(s.contract_id)
        .bind(s.product_code)
        .bind(s.first_utc_day)
        .bind(s.last_utc_day)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(seq)
    }

    /// Append `changes` in order, in one statement per 500 (a settlement batch writes thousands).
    pub(crate) async fn record_many(&mut self, changes: Vec<Change>) -> Result<(), StoreError> {
        const PER_STATEMENT: usize = 500;
        let json = |v: &Option<Value>| v.as_ref().map(|v| v.to_string());
        for batch in changes.chunks(PER_STATEMENT) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO changes (tx_id, domain, key, op, schema_version, before, after, changed_at_us,
                                      metering_point, price_area, contract_id, product_code, first_utc_day, last_utc_day) ",
            );
            query.push_values(batch, |mut b, change| {
                let s = &change.scope;
                b.push_bind(self.tx_id)
                    .push_bind(change.domain.code())
                    .push_bind(change.key.clone())
                    .push_bind(change.op.code())
                    .push_bind(SCHEMA_VERSION)
                    .push_bind(json(&change.before))
                    .push_bind(json(&change.after))
                    .push_bind(self.now_us)
                    .push_bind(s.metering_point)
                    .push_bind(s.price_area.clone())
                    .push_bind(s.contract_id.clone())
                    .push_bind(s.product_code.clone())
                    .push_bind(s.first_utc_day)
                    .push_bind(s.last_utc_day);
            });
            // One statement inserts in order, so the records keep the order given.
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// The connection, for reads and for the data write that goes with a [`JournaledTx::record`].
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    pub(crate) fn tx_id(&self) -> i64 {
        self.tx_id
    }

    pub(crate) fn now_us(&self) -> i64 {
        self.now_us
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// What one transaction changed in a series (one metering point's readings, one area's spot
/// prices): accumulated in memory while writing, journaled once at commit as one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangedRange {
    pub(crate) first_utc_day: i64,
    pub(crate) last_utc_day: i64,
    /// Days changed (counted by the caller, which knows whether a day was already counted).
    pub(crate) days_changed: u64,
    /// Readings or prices written: new, changed, or amended again within the transaction.
    pub(crate) values_changed: u64,
    /// Whether every change was a first value (nothing was stored before): `create`, else `update`.
    pub(crate) only_new: bool,
}

impl ChangedRange {
    pub(crate) fn new(utc_day: i64) -> Self {
        ChangedRange {
            first_utc_day: utc_day,
            last_utc_day: utc_day,
            days_changed: 0,
            values_changed: 0,
            only_new: true,
        }
    }

    /// Widen the range to `[first_utc_day, last_utc_day]` and add the counts.
    pub(crate) fn include(
        &mut self,
        first_utc_day: i64,
        last_utc_day: i64,
        days: u64,
        values: u64,
        new: bool,
    ) {
        self.first_utc_day = self.first_utc_day.min(first_utc_day);
        self.last_utc_day = self.last_utc_day.max(last_utc_day);
        self.days_changed += days;
        self.values_changed += values;
        self.only_new &= new;
    }

    pub(crate) fn op(&self) -> ChangeOp {
        if self.only_new {
            ChangeOp::Create
        } else {
            ChangeOp::Update
        }
    }

    /// The range's first and last UTC days as `YYYY-MM-DD`.
    pub(crate) fn utc_dates(&self) -> (String, String) {
        (utc_date(self.first_utc_day), utc_date(self.last_utc_day))
    }
}

/// A UTC day number as its date `YYYY-MM-DD`.
pub(crate) fn utc_date(utc_day: i64) -> String {
    nordlys_core::time::utc_day_start(utc_day)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

const CHANGE_COLUMNS: &str =
    "seq, tx_id, domain, key, op, schema_version, before, after, changed_at_us,
     metering_point, price_area, contract_id, product_code, first_utc_day, last_utc_day";

fn unreadable(field: &'static str, value: impl Into<String>) -> StoreError {
    StoreError::CorruptValue(ParseError::new(
        field,
        value,
        "stored change record is unreadable",
    ))
}

fn record_from_row(row: &SqliteRow) -> Result<ChangeRecord, StoreError> {
    let json = |i: usize, field: &'static str| -> Result<Option<Value>, StoreError> {
        let text: Option<String> = row.get(i);
        text.map(|t| serde_json::from_str(&t).map_err(|_| unreadable(field, t)))
            .transpose()
    };
    let changed_at_us: i64 = row.get(8);
    Ok(ChangeRecord {
        seq: row.get(0),
        tx_id: row.get(1),
        domain: Domain::parse(row.get(2)).map_err(StoreError::CorruptValue)?,
        key: row.get(3),
        op: ChangeOp::parse(row.get(4)).map_err(StoreError::CorruptValue)?,
        schema_version: row.get(5),
        before: json(6, "before")?,
        after: json(7, "after")?,
        changed_at: Timestamp::from_microsecond(changed_at_us)
            .map_err(|_| unreadable("changed_at_us", changed_at_us.to_string()))?,
        scope: ChangeScope {
            metering_point: row.get(9),
            price_area: row.get(10),
            contract_id: row.get(11),
            product_code: row.get(12),
            first_utc_day: row.get(13),
            last_utc_day: row.get(14),
        },
    })
}

impl Store {
    /// The highest committed sequence number (0 if the journal is empty). Everything up to it
    /// is visible now and nothing at or below it will appear later (see the module docs).
    pub async fn journal_head(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Records with `seq > from_seq` (exclusive: pass the last sequence seen, or a settlement's
    /// read-up-to sequence, to get what came after it), optionally of one domain, in `seq`
    /// order, at most `limit`.
    pub async fn changes(
        &self,
        from_seq: i64,
        domain: Option<Domain>,
        limit: i64,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        let rows = match domain {
            Some(domain) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes WHERE domain = ? AND seq > ? ORDER BY seq LIMIT ?"
                )))
                .bind(domain.code())
                .bind(from_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > ? ORDER BY seq LIMIT ?"
                )))
                .bind(from_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(record_from_row).collect()
    }

    /// Every record of one business key (e.g. a GSRN for [`Domain::MeteringPoint`]), oldest first:
    /// the history of that record, each with the whole state before and after.
    pub async fn history(
        &self,
        domain: Domain,
        key: &str,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE domain = ? AND key = ? ORDER BY seq"
        )))
        .bind(domain.code())
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// The history of a metering point by GSRN (see [`Store::history`]).
    pub async fn metering_point_history(
        &self,
        gsrn: &nordlys_core::ids::Gsrn,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        self.history(Domain::MeteringPoint, gsrn.as_str()).await
    }

    /// The history of a contract by its id (see [`Store::history`]).
    pub async fn contract_history(
        &self,
        contract_id: &str,
    ) -> Result<Vec<ChangeRecord>, StoreError> {
        self.history(Domain::Contract, contract_id).await
    }

    /// Per table (SQLite's own excluded): its row count and a fingerprint of its contents, for
    /// health checks and for the journal conformance test (every table an import sequence
    /// changes — rows added or edited — must have records of its domain).
    pub async fn table_fingerprints(
        &self,
    ) -> Result<std::collections::BTreeMap<String, TableFingerprint>, StoreError> {
        use std::hash::{Hash, Hasher};
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = std::collections::BTreeMap::new();
        for table in tables {
            // Names come from sqlite_master and are quoted as identifiers, never input.
            let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
            let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.replace('\'', "''")
            )))
            .fetch_all(&self.pool)
            .await?;
            let row_text: Vec<String> = columns
                .iter()
                .map(|c| format!("quote({})", quoted(c)))
                .collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY 1",
                row_text.join(" || '|' || "),
                quoted(&table)
            );
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await?;
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            rows.hash(&mut hasher);
            out.insert(
                table,
                TableFingerprint {
                    rows: rows.len() as i64,
                    contents: hasher.finish(),
                },
            );
        }
        Ok(out)
    }
}

/// A table's row count and a hash of its contents (equal contents, equal hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFingerprint {
    pub rows: i64,
    pub contents: u64,
}
