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
//! # Why `seq` is commit-ordered and gapless, on both backends
//! Records are buffered in the [`JournaledTx`] while it writes and appended as the last step
//! before `COMMIT`: one `UPDATE journal_head SET last_seq = last_seq + n` allocates the next `n`
//! numbers, then the records are inserted with them. That update takes the row lock of the
//! single `journal_head` row and holds it until the transaction ends, so a second transaction
//! that appends records waits there until the first has committed (or rolled back) and then
//! reads its committed value. Hence:
//! - a record with a higher `seq` always commits after every record with a lower one: a reader
//!   that has seen `seq = n` never later sees a new record with `seq <= n` (the outbox trap of
//!   sequences allocated early in concurrent transactions cannot happen);
//! - a transaction that rolls back releases its numbers with its update: no gaps;
//! - the lock is held only for the append and the commit, not while the data is written, so
//!   PostgreSQL writers run concurrently until their last step.
//!
//! On SQLite every `JournaledTx` also begins with `BEGIN IMMEDIATE` (one writer at a time, and
//! no write transaction reads a snapshot older than the last commit). On PostgreSQL a
//! transaction that reads to decide what to write locks what it reads: `FOR UPDATE`, the
//! parent row of a series with many members ([`JournaledTx::lock_row`]: a metering point for its
//! readings, a contract for its usage), or a transaction-scoped advisory lock for a series of few
//! ([`JournaledTx::lock_series`]: an area, a currency pair, a product).
//!
//! # Payloads (schema_version 1)
//! `before` / `after` are JSON objects in an external schema: decimals as strings, instants RFC
//! 3339, dates `YYYY-MM-DD`, ids as the utility spells them (GSRN, contract id), never internal ids.

use jiff::Timestamp;
use nordlys_core::ParseError;
use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, DbConn, DbRow, SqlBuilder, sql_owned};
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
    /// The issuer's profile (seller per market, branding, payment terms).
    Issuer,
    /// How a document reached (or did not reach) its buyer.
    Delivery,
    /// A service account's API token (made, revoked; never its secret).
    ApiToken,
    /// A customer's request (a move, a postponement) and its decision.
    WorkOrder,
    /// A payment in and where its money went (allocations to invoices or to a credit).
    Payment,
}

impl Domain {
    pub const ALL: [Domain; 17] = [
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
        Domain::Issuer,
        Domain::Delivery,
        Domain::ApiToken,
        Domain::WorkOrder,
        Domain::Payment,
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
            Domain::Issuer => "issuer",
            Domain::Delivery => "delivery",
            Domain::ApiToken => "api_token",
            Domain::WorkOrder => "work_order",
            Domain::Payment => "payment",
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
    tx: Transaction<'static, Any>,
    backend: Backend,
    tx_id: i64,
    now_us: i64,
    /// Records to append at commit, in the order they were recorded (payloads already as JSON
    /// text: a large import holds one per changed row until it commits).
    pending: Vec<PendingChange>,
    /// Series locked in this transaction (PostgreSQL advisory locks), so each is taken once.
    locked: std::collections::HashSet<String>,
}

impl JournaledTx {
    /// Begin a write transaction (SQLite: `BEGIN IMMEDIATE`, see the module docs) and record it.
    pub(crate) async fn begin(
        store: &Store,
        kind: &str,
        source: &str,
        now_us: i64,
    ) -> Result<Self, StoreError> {
        let mut tx = begin_write(store).await?;
        let tx_id: i64 = sqlx::query_scalar(
            "INSERT INTO store_transactions (kind, source, started_at_us) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(kind)
        .bind(source)
        .bind(now_us)
        .fetch_one(&mut *tx)
        .await?;
        Ok(JournaledTx {
            tx,
            backend: store.backend,
            tx_id,
            now_us,
            pending: Vec::new(),
            locked: Default::default(),
        })
    }

    /// Record `change`; it is appended to the journal when the transaction commits.
    pub(crate) async fn record(&mut self, change: Change) -> Result<(), StoreError> {
        self.pending.push(PendingChange::from(change));
        Ok(())
    }

    /// Record `changes` in order (see [`JournaledTx::record`]).
    pub(crate) async fn record_many(&mut self, changes: Vec<Change>) -> Result<(), StoreError> {
        self.pending
            .extend(changes.into_iter().map(PendingChange::from));
        Ok(())
    }

    /// Serialise writers of one series with few members (an area's spot prices, a currency
    /// pair's rates, a product's versions) on PostgreSQL until this transaction ends, with a
    /// transaction-scoped advisory lock; a no-op on SQLite, which has one writer. Advisory locks
    /// take slots of PostgreSQL's shared lock table (`max_locks_per_transaction` per
    /// connection), so a series with a member per row of a large import locks its parent row
    /// instead ([`JournaledTx::lock_row`]).
    pub(crate) async fn lock_series(&mut self, series: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite || self.locked.contains(series) {
            return Ok(());
        }
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(series)
            .execute(&mut *self.tx)
            .await?;
        self.locked.insert(series.to_owned());
        Ok(())
    }

    /// Serialise writers of the rows that hang off one row (a metering point's readings, a
    /// contract's usage) on PostgreSQL until this transaction ends: that row is locked
    /// `FOR UPDATE` (a row lock is kept on the row itself, so an import may hold any number);
    /// a no-op on SQLite, which has one writer.
    pub(crate) async fn lock_row<K>(
        &mut self,
        table: &'static str,
        key_column: &'static str,
        key: K,
    ) -> Result<(), StoreError>
    where
        K: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + std::fmt::Display + Send,
    {
        if self.backend == Backend::Sqlite {
            return Ok(());
        }
        let name = format!("{table}/{key}");
        if self.locked.contains(&name) {
            return Ok(());
        }
        // Table and column names are constants of the calling modules, never input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM {table} WHERE {key_column} = $1 FOR UPDATE"
        )))
        .bind(key)
        .execute(&mut *self.tx)
        .await?;
        self.locked.insert(name);
        Ok(())
    }

    /// Append the buffered records under the journal-head lock (see the module docs).
    async fn append_pending(&mut self) -> Result<(), StoreError> {
        const PER_STATEMENT: usize = 500;
        if self.pending.is_empty() {
            return Ok(());
        }
        let changes = std::mem::take(&mut self.pending);
        let last_seq: i64 = sqlx::query_scalar(
            "UPDATE journal_head SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq",
        )
        .bind(changes.len() as i64)
        .fetch_one(&mut *self.tx)
        .await?;
        let first_seq = last_seq - changes.len() as i64 + 1;
        for (batch_no, batch) in changes.chunks(PER_STATEMENT).enumerate() {
            let batch_first = first_seq + (batch_no * PER_STATEMENT) as i64;
            let mut query = SqlBuilder::new(
                "INSERT INTO changes (seq, tx_id, domain, key, op, schema_version, before, after, changed_at_us,
                                      metering_point, price_area, contract_id, product_code, first_utc_day, last_utc_day)",
            );
            query.values(batch.iter().enumerate(), |b, (i, change)| {
                let s = &change.scope;
                b.bind(batch_first + i as i64)
                    .bind(self.tx_id)
                    .bind(change.domain.code())
                    .bind(change.key.clone())
                    .bind(change.op.code())
                    .bind(SCHEMA_VERSION)
                    .bind(change.before.as_deref())
                    .bind(change.after.as_deref())
                    .bind(self.now_us)
                    .bind(s.metering_point)
                    .bind(s.price_area.clone())
                    .bind(s.contract_id.clone())
                    .bind(s.product_code.clone())
                    .bind(s.first_utc_day)
                    .bind(s.last_utc_day);
            });
            query.build(self.backend).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// The connection, for reads and for the data write that goes with a [`JournaledTx::record`].
    pub(crate) fn conn(&mut self) -> &mut DbConn {
        &mut self.tx
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn tx_id(&self) -> i64 {
        self.tx_id
    }

    pub(crate) fn now_us(&self) -> i64 {
        self.now_us
    }

    /// Append the records and commit: the data and its records become visible together.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        self.append_pending().await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// A change waiting in its transaction to be appended, its payloads serialised.
struct PendingChange {
    domain: Domain,
    key: String,
    op: ChangeOp,
    before: Option<String>,
    after: Option<String>,
    scope: ChangeScope,
}

impl From<Change> for PendingChange {
    fn from(change: Change) -> Self {
        PendingChange {
            domain: change.domain,
            key: change.key,
            op: change.op,
            before: change.before.map(|v| v.to_string()),
            after: change.after.map(|v| v.to_string()),
            scope: change.scope,
        }
    }
}

/// Begin a write transaction on `store`: on SQLite with the write lock taken first
/// (`BEGIN IMMEDIATE`), on PostgreSQL a plain `BEGIN` (read committed).
pub(crate) async fn begin_write(store: &Store) -> Result<Transaction<'static, Any>, StoreError> {
    Ok(match store.backend {
        Backend::Sqlite => store.pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => store.pool.begin().await?,
    })
}

/// Begin a transaction that no other exclusive transaction of the same `name` overlaps (the
/// billing lock's bookkeeping): SQLite's write lock, or a PostgreSQL advisory lock on `name`.
pub(crate) async fn begin_exclusive(
    store: &Store,
    name: &str,
) -> Result<Transaction<'static, Any>, StoreError> {
    let mut tx = begin_write(store).await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
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

fn record_from_row(row: &DbRow) -> Result<ChangeRecord, StoreError> {
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
            sqlx::query_scalar("SELECT last_seq FROM journal_head WHERE id = 1")
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
                sqlx::query(sql_owned(self.backend, format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes WHERE domain = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                )))
                .bind(domain.code())
                .bind(from_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sql_owned(self.backend, format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2"
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
        let rows = sqlx::query(sql_owned(
            self.backend,
            format!(
                "SELECT {CHANGE_COLUMNS} FROM changes WHERE domain = $1 AND key = $2 ORDER BY seq"
            ),
        ))
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
}
