//! Nordlys persistence. The only crate that knows SQL.
//!
//! Callers see one [`Store`] (and its write transactions) whatever the backend: SQLite in one
//! file (the embedded default) or PostgreSQL (`postgres://…`), each with its migrations
//! embedded and applied on open under a lock. Nothing here leaks the backend to callers (times
//! are [`jiff::Timestamp`], money is decimal, ids are domain types); see `db.rs` for the one
//! SQL dialect both run.

mod api_access;
mod backup;
mod billing_inputs;
mod catalog;
mod chunk;
mod copy;
mod db;
mod delivery;
mod document_reads;
mod documents;
mod explanations;
mod journal;
mod market_data;
mod master;
mod meter_values;
mod peppol;
mod products;
mod receivables;
mod runs;
mod settlements;
mod sql_values;
pub mod testing;
mod usage;
mod versions;
mod web_sessions;
mod work_orders;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use nordlys_core::ParseError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

pub use db::Backend;
use db::{DbPool, sql};

pub use api_access::{IdempotentEntry, StoredApiToken};
pub use backup::{BackupCheck, BackupError, BackupReport};
pub use billing_inputs::{BillableContract, BillablePoint, utc_days_of};
pub use catalog::TableFingerprint;
pub use chunk::CorruptChunk;
pub use copy::{CopiedTable, CopyError, CopyReport, CopyStep};
pub use delivery::{
    AttemptResult, ClaimedDelivery, DeliveryChannel, DeliveryState, DeliveryStatus,
    PlannedDelivery, Rendition, StoredIssuerProfile, sha256_hex,
};
pub use document_reads::{DocumentDetails, DocumentNumber};
pub use documents::DocumentSummary;
pub(crate) use journal::JournaledTx;
pub use journal::{Change, ChangeOp, ChangeRecord, ChangeScope, Domain, SCHEMA_VERSION};
pub use master::{CustomerFilter, Page, PointRef};
pub use meter_values::{MergeCounts, StoredReading};
pub use peppol::{PeppolDirectoryImport, PeppolParticipant, PeppolSource};
pub use products::StoredProduct;
pub use receivables::{
    LedgerDocument, NewAllocation, NewDunningStep, NewPayment, PaymentFile, ReceivablesBasis,
    StoredAllocation, StoredPayment, to_minor,
};
pub use runs::{BatchClaim, BatchCounts, BatchStatus, RunDocuments, RunSummary, SeriesTotals};
pub use settlements::{
    BillingTx, HeldRun, MissingBasisTask, RunCounts, RunHolder, RunStart, SettlementRecord,
};
pub use web_sessions::{AuditEntry, StaffUser, WebSession, WebSubject};
pub use work_orders::{WorkOrder, WorkOrderFilter};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row the database refuses for a domain reason (unknown reference, overlap…):
    /// the caller reports it against the input line.
    #[error("{0}")]
    Rejected(ParseError),
    #[error("the database at {location} cannot be opened")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Corrupt(#[from] CorruptChunk),
    #[error("stored value is unreadable: {0}")]
    CorruptValue(ParseError),
    #[error("{0}")]
    Unsupported(String),
    /// A worker's claim of a batch no longer stands (its lease ran out and another worker
    /// claimed the batch): its transaction is rolled back, nothing of it is stored.
    #[error(
        "the claim of batch {batch_no} of run {run_id} was lost (its lease ran out); another worker bills it"
    )]
    ClaimLost { run_id: i64, batch_no: i64 },
    /// A sender's claim of a delivery no longer stands (its lease ran out and another sender
    /// took it over): nothing of its attempt is recorded.
    #[error(
        "the claim of the delivery of document {document_id} was lost (its lease ran out); another sender has it"
    )]
    DeliveryClaimLost { document_id: i64 },
    #[error("{0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the error is the database being away or a transaction that may succeed when
    /// tried again (a lost connection, a server shutting down, a deadlock or serialisation
    /// failure), rather than a refusal of what was written.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(error) | StoreError::Open { source: error, .. } => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // Connection exceptions (08), operator intervention such as a shutdown
                    // (57P), insufficient resources (53), serialisation failure and deadlock.
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || code.starts_with("53")
                        || code == "40001"
                        || code == "40P01"
                }),
                _ => false,
            },
            _ => false,
        }
    }
}

/// Insert, update or leave alone: what an idempotent write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Inserted,
    Updated,
    Unchanged,
}

/// Counts of what an import did, stored with the import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl ImportCounts {
    pub fn record(&mut self, upsert: Upsert) {
        self.rows += 1;
        match upsert {
            Upsert::Inserted => self.inserted += 1,
            Upsert::Updated => self.updated += 1,
            Upsert::Unchanged => self.unchanged += 1,
        }
    }
}

/// What is in the database, for summaries and health checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub customers: i64,
    pub accounts: i64,
    pub metering_points: i64,
    pub contracts: i64,
    pub meter_value_chunks: i64,
    pub meter_value_chunk_bytes: i64,
    pub spot_prices: i64,
    pub exchange_rates: i64,
    pub imports: i64,
    pub products: i64,
    pub documents: i64,
    pub open_missing_basis_tasks: i64,
}

/// The database. Cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
}

/// How long opening a database waits for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The migrations of each backend, embedded in the binary.
fn migrator(backend: Backend) -> sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    }
}

/// `location` (a database URL or path) without its password, for messages.
pub fn redacted(location: &str) -> String {
    match location.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}

impl Store {
    /// Open the database at `location`: `postgres://user@host:port/db` (or `postgresql://`)
    /// for PostgreSQL; a file path, `sqlite://PATH` or `sqlite::memory:` for SQLite (the file
    /// is created if needed). Migrations are applied, under a lock, so that processes opening
    /// the same new database together do not race.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend =
            if location.starts_with("postgres://") || location.starts_with("postgresql://") {
                Backend::Postgres
            } else if let Some((scheme, _)) = location.split_once("://")
                && scheme != "sqlite"
                && !scheme.contains(['/', '\\'])
            {
                return Err(StoreError::Unsupported(format!(
                    "{}: Nordlys does not know databases of the kind {scheme}://; it runs on \
                     PostgreSQL (postgres://user@host:port/db) and SQLite (a file path)",
                    redacted(location)
                )));
            } else {
                Backend::Sqlite
            };
        let open_error = |source| StoreError::Open {
            location: redacted(location),
            source,
        };
        let (url, max_connections) = match backend {
            Backend::Postgres => (location.to_owned(), 8),
            Backend::Sqlite => {
                let url = if location.starts_with("sqlite:") {
                    location.to_owned()
                } else {
                    format!("sqlite://{location}")
                };
                let in_memory = url.contains(":memory:");
                let url = if in_memory || url.contains("mode=") {
                    url
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                (url, if in_memory { 1 } else { 4 })
            }
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(open_error)?
            // Whole-period reads of a large utility take seconds by design: not a warning.
            .log_slow_statements(log::LevelFilter::Info, Duration::from_secs(5));
        if backend == Backend::Postgres {
            // The pool takes a refused connection for a server still starting and retries it
            // until its acquire timeout, which turns "nothing listens there" into a bare "pool
            // timed out" a minute later: one direct connection first says what went wrong.
            let no_answer = || {
                sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                ))
            };
            let probe = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
                .await
                .map_err(|_| open_error(no_answer()))?
                .map_err(open_error)?;
            let _ = probe.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; \
                             PRAGMA cache_size = -65536",
                        )
                        .execute(conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open_error)?;
        let store = Store { pool, backend };
        store.migrate(location).await?;
        Ok(store)
    }

    /// Which backend this store runs on (for reports and benchmarks).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether several processes can write at once (PostgreSQL), so that work is worth
    /// spreading over worker processes; SQLite has one writer at a time.
    pub fn concurrent_writers(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Apply the pending migrations under a lock (PostgreSQL: sqlx's advisory lock; SQLite
    /// file: an exclusive lock on a `-migrate.lock` file beside it), refusing a database that a
    /// newer Nordlys has migrated.
    async fn migrate(&self, location: &str) -> Result<(), StoreError> {
        let migrator = migrator(self.backend);
        let _file_lock = match self.backend {
            Backend::Sqlite if !location.contains(":memory:") => {
                let path = location.strip_prefix("sqlite://").unwrap_or(location);
                let path = path.strip_prefix("sqlite:").unwrap_or(path);
                let path = path.split('?').next().unwrap_or(path);
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(format!("{path}-migrate.lock"))
                    .map_err(|e| {
                        StoreError::Unsupported(format!(
                            "cannot lock {path}-migrate.lock to migrate the database: {e}"
                        ))
                    })?;
                lock.lock().map_err(|e| {
                    StoreError::Unsupported(format!("cannot lock {path}-migrate.lock: {e}"))
                })?;
                Some(lock)
            }
            _ => None,
        };
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        match migrator.run(&self.pool).await {
            Ok(()) => Ok(()),
            Err(sqlx::migrate::MigrateError::VersionMissing(found)) => {
                Err(StoreError::Unsupported(format!(
                    "the database at {} has schema version {found}, which this build of Nordlys does not know (it knows up to {known}): use a newer Nordlys",
                    redacted(location)
                )))
            }
            Err(error) => Err(StoreError::Migrate(error)),
        }
    }

    /// Begin an all-or-nothing write recorded as one import of `kind` from `source`.
    /// `now` is the time the import is recorded at (the caller owns the clock).
    pub async fn begin_import(
        &self,
        kind: &str,
        source: &str,
        now: jiff::Timestamp,
    ) -> Result<StoreTx, StoreError> {
        let now_us = now.as_microsecond();
        let mut journal = JournaledTx::begin(self, kind, source, now_us).await?;
        let import_id: i64 = sqlx::query_scalar(
            "INSERT INTO imports (kind, source, started_at_us) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(kind)
        .bind(source)
        .bind(now_us)
        .fetch_one(journal.conn())
        .await?;
        Ok(StoreTx {
            journal,
            import_id,
            meter_value_ranges: BTreeMap::new(),
            spot_price_ranges: BTreeMap::new(),
        })
    }

    pub async fn summary(&self) -> Result<Summary, StoreError> {
        let row = sqlx::query(sql(
            self.backend,
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM accounts),
                    (SELECT count(*) FROM metering_points), (SELECT count(*) FROM contracts),
                    (SELECT count(*) FROM meter_value_chunks),
                    (SELECT coalesce(sum(length(data)), 0)::bigint FROM meter_value_chunks),
                    (SELECT count(*) FROM spot_prices),
                    (SELECT count(*) FROM (SELECT DISTINCT date, base, quote FROM exchange_rates) AS rates),
                    (SELECT count(*) FROM imports),
                    (SELECT count(DISTINCT code) FROM products), (SELECT count(*) FROM documents),
                    (SELECT count(*) FROM missing_basis_tasks WHERE resolved_at_us IS NULL)",
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(Summary {
            customers: row.get(0),
            accounts: row.get(1),
            metering_points: row.get(2),
            contracts: row.get(3),
            meter_value_chunks: row.get(4),
            meter_value_chunk_bytes: row.get(5),
            spot_prices: row.get(6),
            exchange_rates: row.get(7),
            imports: row.get(8),
            products: row.get(9),
            documents: row.get(10),
            open_missing_basis_tasks: row.get(11),
        })
    }

    /// Bytes the database takes on disk (SQLite: its pages; PostgreSQL: `pg_database_size`).
    pub async fn database_size_bytes(&self) -> Result<i64, StoreError> {
        let query = match self.backend {
            Backend::Sqlite => {
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            }
            Backend::Postgres => "SELECT pg_database_size(current_database())",
        };
        Ok(sqlx::query_scalar(query).fetch_one(&self.pool).await?)
    }

    /// Rewrite the database compactly (after a large import) so its size reflects its
    /// contents (SQLite: checkpoint and `VACUUM`; PostgreSQL: `VACUUM ANALYZE`).
    pub async fn compact(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&self.pool)
                    .await?;
                sqlx::query("VACUUM").execute(&self.pool).await?;
            }
            Backend::Postgres => {
                sqlx::query("VACUUM ANALYZE").execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// One all-or-nothing write, journaled: every write through it appends change records in the
/// same transaction. Dropping it without [`StoreTx::commit`] stores nothing, records included.
pub struct StoreTx {
    journal: JournaledTx,
    import_id: i64,
    /// Per metering point (internal id), what this import changed in its readings: written to
    /// the journal as one record per point at commit, so the import's hot loop stays in memory.
    meter_value_ranges: BTreeMap<i64, meter_values::PointChanges>,
    /// Per price area, what this import changed in its spot prices (one record per area).
    spot_price_ranges: BTreeMap<nordlys_core::model::PriceArea, journal::ChangedRange>,
}

impl StoreTx {
    pub fn import_id(&self) -> i64 {
        self.import_id
    }

    /// Make everything written visible, with the import's counts and its journal records.
    pub async fn commit(mut self, counts: ImportCounts) -> Result<(), StoreError> {
        // One record per metering point (area) the import changed, in multi-row statements.
        let mut changes: Vec<Change> =
            meter_values::range_changes(std::mem::take(&mut self.meter_value_ranges));
        changes.extend(market_data::price_changes(std::mem::take(
            &mut self.spot_price_ranges,
        )));
        self.journal.record_many(changes).await?;
        sqlx::query(
            "UPDATE imports SET rows = $1, inserted = $2, updated = $3, unchanged = $4 WHERE id = $5",
        )
        .bind(counts.rows as i64)
        .bind(counts.inserted as i64)
        .bind(counts.updated as i64)
        .bind(counts.unchanged as i64)
        .bind(self.import_id)
        .execute(self.journal.conn())
        .await?;
        self.journal.commit().await
    }
}

fn corrupt(field: &'static str, value: &str, error: ParseError) -> StoreError {
    StoreError::CorruptValue(ParseError::new(field, value, error.rule))
}
