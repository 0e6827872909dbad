//! `nordlys db`: the database as a whole — `db copy --to` moves a utility into a new database
//! (from its SQLite file to PostgreSQL, or between any two), `db backup FILE` writes an online,
//! consistent backup of a SQLite database. Both verify what they wrote, table by table.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use nordlys_app::Progress;
use nordlys_store::{Backend, BackupCheck, CopyReport, CopyStep, Store, redacted};

use crate::progress;

#[derive(Subcommand)]
pub enum DbWhat {
    /// Copy every table of --db into a new, empty database (moving a utility from its SQLite
    /// file to PostgreSQL), in one transaction, verified table by table.
    Copy {
        /// The database to copy into: `postgres://user@host:port/db`, or a SQLite file path.
        /// It must be empty (a new database); its schema is created if needed.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Write a consistent backup of a SQLite --db to a new FILE while others read and write,
    /// then check that it opens and equals what it copied (PostgreSQL: use pg_dump).
    Backup {
        /// The backup file to create; an existing file is refused.
        file: PathBuf,
    },
}

pub async fn db(db: &str, what: DbWhat) -> Result<()> {
    match what {
        DbWhat::Copy { to } => copy(db, &to).await,
        DbWhat::Backup { file } => backup(db, &file).await,
    }
}

/// Whether `location` names a SQLite file (not a URL of another backend, not `:memory:`).
fn sqlite_file(location: &str) -> Option<&Path> {
    if location.contains("://") || location.starts_with("sqlite:") {
        return location
            .strip_prefix("sqlite://")
            .map(|rest| Path::new(rest.split('?').next().unwrap_or(rest)));
    }
    Some(Path::new(location))
}

/// Open the existing database at `db` (a missing SQLite file is an error, not a new database).
async fn open_existing(db: &str) -> Result<Store> {
    if let Some(path) = sqlite_file(db)
        && !path.exists()
    {
        bail!("there is no database at {db} (give --db the file to copy or back up)");
    }
    Store::open(db)
        .await
        .with_context(|| format!("opening the database {}", redacted(db)))
}

async fn copy(db: &str, to: &str) -> Result<()> {
    if to == db {
        bail!("--to names the database being copied (--db); give a new, empty database");
    }
    let source = open_existing(db).await?;
    let target = Store::open(to)
        .await
        .with_context(|| format!("opening the target database {}", redacted(to)))?;
    eprintln!(
        "Copying {} {} into {} {}",
        source.backend().name(),
        redacted(db),
        target.backend().name(),
        redacted(to)
    );
    let current: Mutex<Option<Arc<dyn Progress>>> = Mutex::new(None);
    let report = source
        .copy_to(&target, &|step| show(&current, step))
        .await
        .with_context(|| format!("copying into {}", redacted(to)))?;
    print_copy_report(&report, to);
    target.close().await;
    source.close().await;
    Ok(())
}

/// Show `step` on stderr: a progress display of its own for each table (a finished bar does
/// not start again).
fn show(current: &Mutex<Option<Arc<dyn Progress>>>, step: CopyStep<'_>) {
    let Ok(mut current) = current.lock() else {
        return;
    };
    match step {
        CopyStep::Table { table, rows } => {
            tracing::info!(table, rows, "copying");
            let bar = progress::for_stderr();
            bar.start(&format!("copying {table}"), Some(rows));
            *current = Some(bar);
        }
        CopyStep::Rows(rows) => {
            if let Some(bar) = current.as_ref() {
                bar.advance(rows);
            }
        }
        CopyStep::TableDone => {
            if let Some(bar) = current.take() {
                bar.finish();
            }
        }
        CopyStep::Verifying => eprintln!("Verifying: row counts and fingerprints of every table"),
    }
}

fn print_copy_report(report: &CopyReport, to: &str) {
    let width = report
        .tables
        .iter()
        .map(|t| t.table.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("{:<width$}  {:>10}  verified", "table", "rows");
    for table in &report.tables {
        println!(
            "{:<width$}  {:>10}  {}",
            table.table,
            table.rows,
            if table.verified { "yes" } else { "NO" }
        );
    }
    println!("{:<width$}  {:>10}", "total", report.rows());
    println!(
        "Copied {} rows of {} tables from {} to {} {} in {:.1} s; every table verified.",
        report.rows(),
        report.tables.len(),
        report.source.name(),
        report.target.name(),
        redacted(to),
        report.elapsed.as_secs_f64()
    );
    let identities: Vec<String> = report
        .identities
        .iter()
        .map(|(table, column, next)| format!("{table}.{column} {next}"))
        .collect();
    if !identities.is_empty() {
        println!("Next ids: {}.", identities.join(", "));
    }
    println!(
        "The journal goes on after seq {}. Point --db (or NORDLYS_DATABASE_URL) at the new database.",
        report.journal_head
    );
}

async fn backup(db: &str, file: &Path) -> Result<()> {
    let store = open_existing(db).await?;
    if store.backend() == Backend::Postgres {
        bail!(
            "db backup writes SQLite files; back up a PostgreSQL database with pg_dump: \
             pg_dump --format=custom --file={} '{}' (restore into a new, empty database with \
             pg_restore --dbname=URL {})",
            file.display(),
            redacted(db),
            file.display()
        );
    }
    eprintln!("Backing up {} to {}", redacted(db), file.display());
    let report = store
        .backup_to(file)
        .await
        .with_context(|| format!("backing up {db}"))?;
    store.close().await;
    println!(
        "Backup {}: {} bytes, {} tables, {} rows, journal up to seq {}, in {:.1} s.",
        report.path.display(),
        report.bytes,
        report.tables,
        report.rows,
        report.journal_head,
        report.elapsed.as_secs_f64()
    );
    match report.check {
        BackupCheck::SameAsSource => println!(
            "Verified: it opens, passes SQLite's integrity check, and every table equals the database as it was backed up."
        ),
        BackupCheck::SourceKeptChanging => println!(
            "Checked: it opens and passes SQLite's integrity check. The database changed during each of {} attempts, so it was not compared table by table; the backup is one consistent state.",
            report.attempts
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_told_from_urls() {
        assert_eq!(sqlite_file("nordlys.db"), Some(Path::new("nordlys.db")));
        assert_eq!(
            sqlite_file("sqlite:///tmp/a.db?mode=rwc"),
            Some(Path::new("/tmp/a.db"))
        );
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
