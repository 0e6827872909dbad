//! The Peppol participant cache (`peppol_participants`): what the Peppol network said about a
//! participant — registered, which BIS Billing 3.0 documents it receives, its SMP and endpoints —
//! with the time it was learnt, from an online lookup (SML/SMP) or an imported Directory export.
//!
//! Operational state, not journaled (like `run_batches`): it is a copy of an outside
//! authority's answer, rebuilt by looking up again, and rewritten on a schedule; nothing is
//! settled from it. Writes take the store's write transaction (`begin_write`) without a
//! `JournaledTx`. An online result replaces whatever is stored (it is what routes documents);
//! a Directory import never overwrites an online result, nor a newer Directory entry.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use sqlx::Row;

use crate::db::{DbRow, SqlBuilder, sql};
use crate::journal::begin_write;
use crate::sql_values::bad;
use crate::{ImportCounts, Store, StoreError, Upsert};

/// Rows per multi-row statement of a Directory import (12 parameters each).
const ROWS_PER_STATEMENT: usize = 500;

/// Where a cached answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeppolSource {
    Directory,
    Sml,
}

impl PeppolSource {
    pub fn code(self) -> &'static str {
        match self {
            PeppolSource::Directory => "directory",
            PeppolSource::Sml => "sml",
        }
    }

    fn parse(code: &str) -> Result<PeppolSource, StoreError> {
        match code {
            "directory" => Ok(PeppolSource::Directory),
            "sml" => Ok(PeppolSource::Sml),
            other => Err(bad("peppol_participants.source", other)),
        }
    }
}

/// One cached participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeppolParticipant {
    /// `iso6523-actorid-upis::0192:923609016`, lowercased.
    pub participant_id: String,
    pub source: PeppolSource,
    /// SML: it has a NAPTR record; Directory: it is listed.
    pub registered: bool,
    /// `None`: not known (a Directory export without document types).
    pub can_receive_invoice: Option<bool>,
    pub can_receive_credit_note: Option<bool>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub smp_url: Option<String>,
    pub invoice_endpoint_url: Option<String>,
    pub credit_note_endpoint_url: Option<String>,
    pub checked_at: Timestamp,
}

const COLUMNS: &str =
    "participant_id, source, registered, can_receive_invoice, can_receive_credit_note,
     name, country, smp_url, invoice_endpoint_url, credit_note_endpoint_url, checked_at_us";

fn flag(value: bool) -> i64 {
    i64::from(value)
}

fn from_row(row: &DbRow) -> Result<PeppolParticipant, StoreError> {
    let checked_at_us: i64 = row.get(10);
    let optional_flag = |i: usize| row.get::<Option<i64>, _>(i).map(|v| v != 0);
    Ok(PeppolParticipant {
        participant_id: row.get(0),
        source: PeppolSource::parse(row.get(1))?,
        registered: row.get::<i64, _>(2) != 0,
        can_receive_invoice: optional_flag(3),
        can_receive_credit_note: optional_flag(4),
        name: row.get(5),
        country: row.get(6),
        smp_url: row.get(7),
        invoice_endpoint_url: row.get(8),
        credit_note_endpoint_url: row.get(9),
        checked_at: Timestamp::from_microsecond(checked_at_us).map_err(|_| {
            bad(
                "peppol_participants.checked_at_us",
                &checked_at_us.to_string(),
            )
        })?,
    })
}

fn bind_row(row: &mut crate::db::ValuesRow<'_>, p: &PeppolParticipant) {
    row.bind(p.participant_id.clone())
        .bind(p.source.code())
        .bind(flag(p.registered))
        .bind(p.can_receive_invoice.map(flag))
        .bind(p.can_receive_credit_note.map(flag))
        .bind(p.name.clone())
        .bind(p.country.clone())
        .bind(p.smp_url.clone())
        .bind(p.invoice_endpoint_url.clone())
        .bind(p.credit_note_endpoint_url.clone())
        .bind(p.checked_at.as_microsecond());
}

impl Store {
    /// The cached answer for `participant_id` (the full, lowercased form), if any.
    pub async fn peppol_participant(
        &self,
        participant_id: &str,
    ) -> Result<Option<PeppolParticipant>, StoreError> {
        let row = sqlx::query(sql(
            self.backend,
            "SELECT participant_id, source, registered, can_receive_invoice, can_receive_credit_note,
                    name, country, smp_url, invoice_endpoint_url, credit_note_endpoint_url, checked_at_us
             FROM peppol_participants WHERE participant_id = $1",
        ))
        .bind(participant_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Cached answers of `source` checked before `checked_before`, oldest first, at most `limit`:
    /// those due for a refresh.
    pub async fn peppol_participants_due(
        &self,
        source: PeppolSource,
        checked_before: Timestamp,
        limit: i64,
    ) -> Result<Vec<PeppolParticipant>, StoreError> {
        let rows = sqlx::query(sql(
            self.backend,
            "SELECT participant_id, source, registered, can_receive_invoice, can_receive_credit_note,
                    name, country, smp_url, invoice_endpoint_url, credit_note_endpoint_url, checked_at_us
             FROM peppol_participants WHERE source = $1 AND checked_at_us < $2
             ORDER BY checked_at_us, participant_id LIMIT $3",
        ))
        .bind(source.code())
        .bind(checked_before.as_microsecond())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Store an online lookup's answer: it replaces what is stored (keeping a Directory name
    /// and country when it has none), unless a newer online answer is there. Idempotent: the
    /// same answer again is `Unchanged`.
    pub async fn upsert_peppol_lookup(
        &self,
        participant: &PeppolParticipant,
    ) -> Result<Upsert, StoreError> {
        let mut tx = begin_write(self).await?;
        let existing = sqlx::query(sql(
            self.backend,
            "SELECT participant_id, source, registered, can_receive_invoice, can_receive_credit_note,
                    name, country, smp_url, invoice_endpoint_url, credit_note_endpoint_url, checked_at_us
             FROM peppol_participants WHERE participant_id = $1 FOR UPDATE",
        ))
        .bind(&participant.participant_id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?;
        let mut new = participant.clone();
        if let Some(old) = &existing {
            new.name = new.name.or_else(|| old.name.clone());
            new.country = new.country.or_else(|| old.country.clone());
            if *old == new || (old.source == PeppolSource::Sml && old.checked_at > new.checked_at) {
                return Ok(Upsert::Unchanged);
            }
        }
        let mut upsert = SqlBuilder::new(&format!("INSERT INTO peppol_participants ({COLUMNS})"));
        upsert.values([&new], bind_row);
        upsert.push(
            " ON CONFLICT (participant_id) DO UPDATE SET source = excluded.source,
                registered = excluded.registered, can_receive_invoice = excluded.can_receive_invoice,
                can_receive_credit_note = excluded.can_receive_credit_note, name = excluded.name,
                country = excluded.country, smp_url = excluded.smp_url,
                invoice_endpoint_url = excluded.invoice_endpoint_url,
                credit_note_endpoint_url = excluded.credit_note_endpoint_url,
                checked_at_us = excluded.checked_at_us",
        );
        upsert.build(self.backend).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(if existing.is_some() {
            Upsert::Updated
        } else {
            Upsert::Inserted
        })
    }

    /// Begin importing a Directory export from `source` in one transaction, recorded in
    /// `imports` (kind `peppol_directory`) at `now`.
    pub async fn begin_peppol_directory_import(
        &self,
        source: &str,
        now: Timestamp,
    ) -> Result<PeppolDirectoryImport, StoreError> {
        let mut tx = begin_write(self).await?;
        let import_id: i64 = sqlx::query_scalar(
            "INSERT INTO imports (kind, source, started_at_us) VALUES ('peppol_directory', $1, $2) RETURNING id",
        )
        .bind(source)
        .bind(now.as_microsecond())
        .fetch_one(&mut *tx)
        .await?;
        Ok(PeppolDirectoryImport {
            tx,
            backend: self.backend,
            import_id,
            counts: ImportCounts::default(),
        })
    }
}

/// A Directory import in progress: batches written in its transaction, visible at commit.
/// Dropping it without [`PeppolDirectoryImport::commit`] stores nothing.
pub struct PeppolDirectoryImport {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::Backend,
    import_id: i64,
    counts: ImportCounts,
}

impl PeppolDirectoryImport {
    pub fn import_id(&self) -> i64 {
        self.import_id
    }

    /// Write a batch of Directory entries (`source` must be `Directory`): new participants are
    /// inserted, older Directory entries replaced, online answers and newer entries left alone.
    /// Within a batch, the last entry of a participant counts.
    pub async fn write(&mut self, entries: &[PeppolParticipant]) -> Result<(), StoreError> {
        let mut unique: BTreeMap<&str, &PeppolParticipant> = BTreeMap::new();
        for entry in entries {
            if entry.source != PeppolSource::Directory {
                return Err(StoreError::Unsupported(format!(
                    "a Directory import got an entry of source {} for {}",
                    entry.source.code(),
                    entry.participant_id
                )));
            }
            unique.insert(&entry.participant_id, entry);
        }
        let batch: Vec<&PeppolParticipant> = unique.into_values().collect();
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            let mut existing = SqlBuilder::new(
                "SELECT participant_id FROM peppol_participants WHERE participant_id IN (",
            );
            existing.bind_list(chunk.iter().map(|p| p.participant_id.clone()));
            existing.push(")");
            let known: BTreeSet<String> = existing
                .build(self.backend)
                .fetch_all(&mut *self.tx)
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let mut upsert =
                SqlBuilder::new(&format!("INSERT INTO peppol_participants ({COLUMNS})"));
            upsert.values(chunk.iter().copied(), bind_row);
            upsert.push(
                " ON CONFLICT (participant_id) DO UPDATE SET registered = excluded.registered,
                    can_receive_invoice = excluded.can_receive_invoice,
                    can_receive_credit_note = excluded.can_receive_credit_note,
                    name = excluded.name, country = excluded.country,
                    checked_at_us = excluded.checked_at_us
                  WHERE peppol_participants.source = 'directory'
                    AND peppol_participants.checked_at_us < excluded.checked_at_us",
            );
            let written = upsert
                .build(self.backend)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
            let inserted = (chunk.len() - known.len()) as u64;
            let updated = written.saturating_sub(inserted);
            self.counts.rows += chunk.len() as u64;
            self.counts.inserted += inserted;
            self.counts.updated += updated;
            self.counts.unchanged += chunk.len() as u64 - inserted - updated;
        }
        Ok(())
    }

    /// What was written so far.
    pub fn counts(&self) -> ImportCounts {
        self.counts
    }

    /// Make the import visible with its counts.
    pub async fn commit(mut self) -> Result<ImportCounts, StoreError> {
        let c = self.counts;
        sqlx::query(
            "UPDATE imports SET rows = $1, inserted = $2, updated = $3, unchanged = $4 WHERE id = $5",
        )
        .bind(c.rows as i64)
        .bind(c.inserted as i64)
        .bind(c.updated as i64)
        .bind(c.unchanged as i64)
        .bind(self.import_id)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(c)
    }
}
