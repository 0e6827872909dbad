//! Does a customer receive EHF? The Peppol participant lookup as invoice delivery uses it: a
//! Norwegian (ICD 0192) or Danish (ICD 0184) organisation's answer from the cache when it is
//! fresh, else looked up online (SML/SMP) and cached with its time; the refresh of stale
//! answers (a command cron or the server calls); the import of a Peppol Directory export.

mod directory_import;

use jiff::{SignedDuration, Timestamp};
use nordlys_core::model::CustomerIdentity;
use nordlys_peppol::{
    Capability, CapabilitySource, Lookup, LookupError, LookupOutcome, ParticipantId,
};
use nordlys_store::{PeppolParticipant, PeppolSource, Store, StoreError};

use crate::Clock;

pub use directory_import::{
    DirectoryImportError, DirectoryImportOptions, DirectoryImportReport, import_directory,
};

/// How old a cached answer may be, and whether a Directory export's answer counts.
#[derive(Debug, Clone, Copy)]
pub struct PeppolPolicy {
    pub max_age: SignedDuration,
    /// A fresh Directory entry with document types is taken as the answer (the Directory lists
    /// what participants publish; presence there is not proof of reachability, so `false` asks
    /// the network for every participant).
    pub accept_directory: bool,
}

/// Answers older than this are looked up again (`nordlys peppol refresh` by default too).
pub const DEFAULT_MAX_AGE_DAYS: i64 = 7;

impl Default for PeppolPolicy {
    fn default() -> Self {
        PeppolPolicy {
            max_age: SignedDuration::from_hours(24 * DEFAULT_MAX_AGE_DAYS),
            accept_directory: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PeppolError {
    #[error("Peppol lookup of {participant} failed: {error}")]
    Lookup {
        participant: String,
        #[source]
        error: LookupError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the cached answer for {participant} is unreadable: {reason}")]
    Corrupt { participant: String, reason: String },
}

/// A customer's Peppol participant: organisations only (persons receive no EHF).
pub fn participant_of(identity: &CustomerIdentity) -> Option<ParticipantId> {
    match identity {
        CustomerIdentity::NorwegianOrganisation(org) => Some(ParticipantId::norwegian(org)),
        CustomerIdentity::DanishOrganisation(cvr) => Some(ParticipantId::danish(cvr)),
        CustomerIdentity::NorwegianPerson(_) | CustomerIdentity::DanishPerson(_) => None,
    }
}

/// What the delivery learns: the participant, its capability and whether it came from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhfAnswer {
    pub participant: ParticipantId,
    pub capability: Capability,
    pub from_cache: bool,
}

impl EhfAnswer {
    pub fn receives_ehf(&self) -> bool {
        self.capability.receives_ehf()
    }
}

/// Whether `identity` receives EHF: `None` for a person; else the cached answer if it is
/// fresher than the policy's maximum age, or a new lookup (cached before it is returned).
pub async fn receives_ehf(
    store: &Store,
    lookup: &Lookup,
    identity: &CustomerIdentity,
    policy: &PeppolPolicy,
    clock: &dyn Clock,
) -> Result<Option<EhfAnswer>, PeppolError> {
    let Some(participant) = participant_of(identity) else {
        return Ok(None);
    };
    let now = clock.now();
    if let Some(cached) = store.peppol_participant(&participant.full()).await? {
        let fresh = now.duration_since(cached.checked_at) < policy.max_age;
        let usable = match cached.source {
            PeppolSource::Sml => true,
            PeppolSource::Directory => policy.accept_directory,
        };
        if fresh
            && usable
            && let Some(capability) = capability_of(&cached)
        {
            return Ok(Some(EhfAnswer {
                participant,
                capability,
                from_cache: true,
            }));
        }
    }
    let (_, capability) = lookup_and_cache(store, lookup, &participant, clock).await?;
    Ok(Some(EhfAnswer {
        participant,
        capability,
        from_cache: false,
    }))
}

/// The capability a cached row says, if it says (a Directory row without document types
/// does not).
pub fn capability_of(cached: &PeppolParticipant) -> Option<Capability> {
    Some(Capability {
        can_receive_invoice: cached.can_receive_invoice?,
        can_receive_credit_note: cached.can_receive_credit_note?,
        source: match cached.source {
            PeppolSource::Directory => CapabilitySource::Directory,
            PeppolSource::Sml => CapabilitySource::Sml,
        },
        checked_at: cached.checked_at,
    })
}

/// Look `participant` up online now and cache the answer.
pub async fn lookup_and_cache(
    store: &Store,
    lookup: &Lookup,
    participant: &ParticipantId,
    clock: &dyn Clock,
) -> Result<(LookupOutcome, Capability), PeppolError> {
    let now = clock.now();
    let outcome = lookup
        .lookup(participant, now)
        .await
        .map_err(|error| PeppolError::Lookup {
            participant: participant.full(),
            error,
        })?;
    store
        .upsert_peppol_lookup(&cache_row(participant, &outcome, now))
        .await?;
    Ok((outcome.clone(), outcome.capability(now)))
}

fn cache_row(
    participant: &ParticipantId,
    outcome: &LookupOutcome,
    now: Timestamp,
) -> PeppolParticipant {
    let capability = outcome.capability(now);
    let (registered, smp_url, invoice, credit_note) = match outcome {
        LookupOutcome::NotRegistered { .. } => (false, None, None, None),
        LookupOutcome::Registered(r) => (
            true,
            Some(r.smp_url.clone()),
            r.invoice.as_ref().map(|e| e.url.clone()),
            r.credit_note.as_ref().map(|e| e.url.clone()),
        ),
    };
    PeppolParticipant {
        participant_id: participant.full(),
        source: PeppolSource::Sml,
        registered,
        can_receive_invoice: Some(capability.can_receive_invoice),
        can_receive_credit_note: Some(capability.can_receive_credit_note),
        name: None,
        country: None,
        smp_url,
        invoice_endpoint_url: invoice,
        credit_note_endpoint_url: credit_note,
        checked_at: now,
    }
}

/// One participant of a refresh, as it is done.
#[derive(Debug, Clone)]
pub struct RefreshStep {
    pub participant: String,
    /// The new answer, or the error (the participant keeps its old answer and stays due).
    pub result: Result<Capability, String>,
    /// Whether the answer differs from the cached one.
    pub changed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    pub due: u64,
    pub refreshed: u64,
    pub changed: u64,
    pub failed: u64,
}

/// Look up again, oldest first, at most `limit` online answers older than `max_age`;
/// `on_step` is told each one. A failed lookup is counted and the rest go on.
pub async fn refresh(
    store: &Store,
    lookup: &Lookup,
    max_age: SignedDuration,
    limit: i64,
    clock: &dyn Clock,
    on_step: &mut dyn FnMut(&RefreshStep),
) -> Result<RefreshReport, PeppolError> {
    let checked_before = clock.now() - max_age;
    let due = store
        .peppol_participants_due(PeppolSource::Sml, checked_before, limit)
        .await?;
    let mut report = RefreshReport {
        due: due.len() as u64,
        ..RefreshReport::default()
    };
    for cached in due {
        let participant =
            ParticipantId::parse(&cached.participant_id).map_err(|e| PeppolError::Corrupt {
                participant: cached.participant_id.clone(),
                reason: e.to_string(),
            })?;
        let step = match lookup_and_cache(store, lookup, &participant, clock).await {
            Ok((_, capability)) => {
                report.refreshed += 1;
                let changed = capability_of(&cached).is_none_or(|old| {
                    old.can_receive_invoice != capability.can_receive_invoice
                        || old.can_receive_credit_note != capability.can_receive_credit_note
                });
                report.changed += u64::from(changed);
                RefreshStep {
                    participant: cached.participant_id,
                    result: Ok(capability),
                    changed,
                }
            }
            Err(PeppolError::Lookup { error, .. }) => {
                report.failed += 1;
                RefreshStep {
                    participant: cached.participant_id,
                    result: Err(error.to_string()),
                    changed: false,
                }
            }
            Err(other) => return Err(other),
        };
        on_step(&step);
    }
    Ok(report)
}
