//! `db backup`: a consistent copy of a SQLite store in a new file, taken online while others
//! read and write, then opened and compared with the state it copied.
//!
//! # Consistent
//! `VACUUM INTO` writes the database as one read transaction sees it: every transaction that
//! committed before it, nothing of one that commits during it (an import in progress is either
//! wholly in the backup or not at all). It takes no write lock, so writers carry on.
//!
//! # Verified
//! The backup is opened as a store (so this build can read it) and must pass SQLite's
//! `integrity_check`; then its fingerprints (see `catalog`) are compared with the source's as
//! of the same state. That state is held by a read transaction begun just before the `VACUUM
//! INTO`; it is the state the backup copied if no one committed between a `PRAGMA data_version`
//! read before the transaction began and one read after the backup (`data_version` changes
//! when another connection commits). If someone did, the attempt is made again, up to
//! [`ATTEMPTS`] times; a database that changed during every attempt keeps the last backup — a
//! consistent one — reported as not compared with its source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::catalog::{self, TableFingerprint};
use crate::db::{Backend, DbConn};
use crate::{Store, StoreError};

/// Backups made at most, when others commit while the backup is written.
const ATTEMPTS: u32 = 3;

/// Why no backup was made (or why the one made is not to be trusted).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{} already exists: db backup writes a new file (remove it, or name another)", .0.display())]
    Exists(PathBuf),
    #[error("cannot write the backup into {}: the folder does not exist", .0.display())]
    NoFolder(PathBuf),
    #[error("the backup's file name {} is not UTF-8", .0.display())]
    NotUtf8(PathBuf),
    #[error(
        "db backup writes SQLite files; a PostgreSQL database is backed up with pg_dump (pg_dump --format=custom, restored with pg_restore)"
    )]
    Postgres,
    #[error("the backup {} fails SQLite's integrity check ({detail}); it was removed", .path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the backup {} does not match the database it copied in {}; it was removed",
        .path.display(),
        .tables.join(", ")
    )]
    NotVerified { path: PathBuf, tables: Vec<String> },
}

/// How far a backup was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupCheck {
    /// Opens, passes `integrity_check`, and every table's rows and fingerprint equal the
    /// source's in the state the backup copied.
    SameAsSource,
    /// Opens and passes `integrity_check`; the source changed during every attempt, so there
    /// was no state of it to compare with.
    SourceKeptChanging,
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub tables: usize,
    pub rows: i64,
    /// The journal's head in the backup: every change up to it is in it.
    pub journal_head: i64,
    pub check: BackupCheck,
    pub attempts: u32,
    pub elapsed: Duration,
}

impl Store {
    /// Write a consistent backup of this SQLite store to a new file at `path` while others
    /// read and write, and check it (see the module docs).
    pub async fn backup_to(&self, path: &Path) -> Result<BackupReport, StoreError> {
        let started = Instant::now();
        if self.backend == Backend::Postgres {
            return Err(BackupError::Postgres.into());
        }
        if path.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(path.to_owned()).into());
        }
        let folder = match path.parent() {
            Some(folder) if folder.as_os_str().is_empty() => Path::new("."),
            Some(folder) => folder,
            None => Path::new("."),
        };
        if !folder.is_dir() {
            return Err(BackupError::NoFolder(folder.to_owned()).into());
        }
        let location = path
            .to_str()
            .ok_or_else(|| BackupError::NotUtf8(path.to_owned()))?;

        let mut attempt = 0;
        loop {
            attempt += 1;
            let source = self.vacuum_into(location).await?;
            if source.is_none() && attempt < ATTEMPTS {
                tracing::info!(attempt, "the database changed during the backup: once more");
                remove_backup(path);
                continue;
            }
            let found = match check_backup(location).await {
                Ok(found) => found,
                Err(error) => {
                    remove_backup(path);
                    return Err(error);
                }
            };
            let check = match source {
                None => BackupCheck::SourceKeptChanging,
                Some(expected) => {
                    let differ: Vec<String> = expected
                        .iter()
                        .filter(|(table, f)| found.fingerprints.get(*table) != Some(*f))
                        .map(|(table, _)| table.clone())
                        .chain(
                            found
                                .fingerprints
                                .keys()
                                .filter(|t| !expected.contains_key(*t))
                                .cloned(),
                        )
                        .collect();
                    if !differ.is_empty() {
                        remove_backup(path);
                        return Err(BackupError::NotVerified {
                            path: path.to_owned(),
                            tables: differ,
                        }
                        .into());
                    }
                    BackupCheck::SameAsSource
                }
            };
            return Ok(BackupReport {
                path: path.to_owned(),
                bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
                tables: found.fingerprints.len(),
                rows: found.fingerprints.values().map(|f| f.rows).sum(),
                journal_head: found.journal_head,
                check,
                attempts: attempt,
                elapsed: started.elapsed(),
            });
        }
    }

    /// `VACUUM INTO location`, and the source's fingerprints in the state it copied if no one
    /// committed meanwhile (`None` if someone did).
    async fn vacuum_into(
        &self,
        location: &str,
    ) -> Result<Option<BTreeMap<String, TableFingerprint>>, StoreError> {
        let mut probe = self.pool.acquire().await?;
        let before = data_version(&mut probe).await?;
        let mut snapshot = self.pool.begin().await?;
        // The first read takes the snapshot.
        sqlx::query("SELECT last_seq FROM journal_head")
            .fetch_all(&mut *snapshot)
            .await?;
        sqlx::query("VACUUM INTO $1")
            .bind(location)
            .execute(&mut *probe)
            .await?;
        if data_version(&mut probe).await? != before {
            return Ok(None);
        }
        let fingerprints = catalog::fingerprints(&mut snapshot, Backend::Sqlite).await?;
        snapshot.rollback().await?;
        Ok(Some(fingerprints))
    }
}

async fn data_version(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(conn)
        .await?)
}

struct BackupContents {
    fingerprints: BTreeMap<String, TableFingerprint>,
    journal_head: i64,
}

/// Open the backup at `location` as a store, run SQLite's integrity check and read its
/// fingerprints; leave nothing beside it.
async fn check_backup(location: &str) -> Result<BackupContents, StoreError> {
    let lock = PathBuf::from(format!("{location}-migrate.lock"));
    let lock_was_there = lock.exists();
    let backup = Store::open(location).await?;
    let checked = async {
        let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&backup.pool)
            .await?;
        if problems != ["ok"] {
            return Err(BackupError::Corrupt {
                path: PathBuf::from(location),
                detail: problems.join("; "),
            }
            .into());
        }
        Ok(BackupContents {
            fingerprints: backup.table_fingerprints().await?,
            journal_head: backup.journal_head().await?,
        })
    }
    .await;
    backup.close().await;
    if !lock_was_there {
        let _ = std::fs::remove_file(&lock);
    }
    checked
}

/// Remove a backup this module wrote (and what SQLite keeps beside an open database).
fn remove_backup(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-migrate.lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}
