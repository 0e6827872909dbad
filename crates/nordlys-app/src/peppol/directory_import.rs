//! Importing a Peppol Directory export into the participant cache: read on a thread of its
//! own (a business-cards export is gigabytes), handed over in bounded batches, written in one
//! transaction. Entries with an invalid identifier reject the file (up to 20 listed) unless
//! `skip_invalid`; a file that is not an export is rejected at once.

use std::io::BufRead;
use std::time::{Duration, Instant};

use nordlys_peppol::{BisDocument, DirectoryEntry, DirectoryError, read_directory};
use nordlys_store::{PeppolParticipant, PeppolSource, Store, StoreError};

use crate::Clock;

/// Entries per batch handed from the reader to the writer.
const BATCH_ENTRIES: usize = 5_000;
/// Errors listed before "… and N more".
const MAX_LISTED_ERRORS: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct DirectoryImportOptions {
    /// Keep only participants of these ICDs (e.g. `0192`, `0184`); empty: all.
    pub icds: Vec<String>,
    /// Skip entries whose identifier is invalid (counted) instead of rejecting the file.
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryImportReport {
    pub source: String,
    pub format: nordlys_peppol::DirectoryFormat,
    /// Entries in the file.
    pub entries: u64,
    /// Of those, left out by the ICD filter.
    pub filtered_out: u64,
    /// Of those, skipped as invalid (`skip_invalid`).
    pub skipped_invalid: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for DirectoryImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} participants read ({:?}), {} inserted, {} updated, {} unchanged",
            self.source, self.entries, self.format, self.inserted, self.updated, self.unchanged
        )?;
        if self.filtered_out > 0 {
            write!(f, ", {} of other ICDs left out", self.filtered_out)?;
        }
        if self.skipped_invalid > 0 {
            write!(f, ", {} invalid skipped", self.skipped_invalid)?;
        }
        write!(f, " in {:.1} s", self.elapsed.as_secs_f64())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryImportError {
    /// The file breaks the rules; nothing of it was stored.
    #[error("{source_name}: {}{}; nothing was stored", .errors.join("; "), if *.more > 0 { format!("; … and {} more", .more) } else { String::new() })]
    Rejected {
        source_name: String,
        errors: Vec<String>,
        more: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Batch {
    Entries(Vec<DirectoryEntry>),
    Errors {
        errors: Vec<String>,
        more: u64,
    },
    Done {
        entries: u64,
        filtered_out: u64,
        skipped_invalid: u64,
    },
}

/// Import the export `input` (named `source` in messages and in `imports`).
pub async fn import_directory<R: BufRead + Send + 'static>(
    store: &Store,
    source: &str,
    input: R,
    options: &DirectoryImportOptions,
    clock: &dyn Clock,
) -> Result<DirectoryImportReport, DirectoryImportError> {
    let started = Instant::now();
    let now = clock.now();
    let rejected = |errors: Vec<String>, more: u64| DirectoryImportError::Rejected {
        source_name: source.to_owned(),
        errors,
        more,
    };
    let reader = read_directory(input).map_err(|e| rejected(vec![e.to_string()], 0))?;
    let format = reader.format();
    let checked_at = reader.created_at().unwrap_or(now);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(4);
    let options = options.clone();
    let parser = std::thread::spawn(move || read_batches(reader, &options, &sender));

    let mut import = store.begin_peppol_directory_import(source, now).await?;
    let mut summary = None;
    while let Some(batch) = receiver.recv().await {
        match batch {
            Batch::Entries(entries) => {
                let rows: Vec<PeppolParticipant> = entries
                    .iter()
                    .map(|entry| cache_row(entry, checked_at))
                    .collect();
                import.write(&rows).await?;
            }
            Batch::Errors { errors, more } => {
                drop(receiver);
                let _ = parser.join();
                return Err(rejected(errors, more));
            }
            Batch::Done {
                entries,
                filtered_out,
                skipped_invalid,
            } => summary = Some((entries, filtered_out, skipped_invalid)),
        }
    }
    let _ = parser.join();
    let Some((entries, filtered_out, skipped_invalid)) = summary else {
        return Err(rejected(
            vec!["the reader stopped before the end of the file".into()],
            0,
        ));
    };
    let counts = import.commit().await?;
    Ok(DirectoryImportReport {
        source: source.to_owned(),
        format,
        entries,
        filtered_out,
        skipped_invalid,
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        elapsed: started.elapsed(),
    })
}

fn cache_row(entry: &DirectoryEntry, checked_at: jiff::Timestamp) -> PeppolParticipant {
    PeppolParticipant {
        participant_id: entry.participant.full(),
        source: PeppolSource::Directory,
        registered: true,
        can_receive_invoice: entry.receives(BisDocument::Invoice),
        can_receive_credit_note: entry.receives(BisDocument::CreditNote),
        name: entry.name.clone(),
        country: entry.country.clone(),
        smp_url: None,
        invoice_endpoint_url: None,
        credit_note_endpoint_url: None,
        checked_at,
    }
}

/// The reader's thread: entries in batches, then `Done`, or the errors that reject the file.
fn read_batches<R: BufRead>(
    reader: nordlys_peppol::directory::DirectoryReader<R>,
    options: &DirectoryImportOptions,
    sender: &tokio::sync::mpsc::Sender<Batch>,
) {
    let mut batch = Vec::with_capacity(BATCH_ENTRIES);
    let mut errors: Vec<String> = Vec::new();
    let mut more = 0u64;
    let (mut entries, mut filtered_out, mut skipped_invalid) = (0u64, 0u64, 0u64);
    for item in reader {
        match item {
            Ok(entry) => {
                entries += 1;
                if !options.icds.is_empty()
                    && !options
                        .icds
                        .iter()
                        .any(|icd| icd == entry.participant.icd())
                {
                    filtered_out += 1;
                    continue;
                }
                if errors.is_empty() {
                    batch.push(entry);
                    if batch.len() == BATCH_ENTRIES {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ENTRIES));
                        if sender.blocking_send(Batch::Entries(full)).is_err() {
                            return;
                        }
                    }
                }
            }
            Err(DirectoryError::Entry { .. }) if options.skip_invalid => {
                entries += 1;
                skipped_invalid += 1;
            }
            Err(error) => {
                entries += 1;
                if errors.len() < MAX_LISTED_ERRORS {
                    errors.push(error.to_string());
                } else {
                    more += 1;
                }
                if !error.is_entry_error() {
                    break;
                }
            }
        }
    }
    let last = if errors.is_empty() {
        if !batch.is_empty() && sender.blocking_send(Batch::Entries(batch)).is_err() {
            return;
        }
        Batch::Done {
            entries,
            filtered_out,
            skipped_invalid,
        }
    } else {
        Batch::Errors { errors, more }
    };
    let _ = sender.blocking_send(last);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_lists_the_errors_and_counts_the_rest() {
        let error = DirectoryImportError::Rejected {
            source_name: "participants.csv".into(),
            errors: vec!["line 3: participant \"x\": bad".into()],
            more: 2,
        };
        assert_eq!(
            error.to_string(),
            "participants.csv: line 3: participant \"x\": bad; … and 2 more; nothing was stored"
        );
    }
}
