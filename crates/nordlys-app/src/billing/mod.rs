//! Settlement: validation before settlement, rating of every contract, one invoice per account
//! with a gapless number and KID, exactly once per contract-period; and correction settlement
//! that re-rates settled contract-periods whose inputs changed and issues the difference.
//!
//! `context` loads a period once and rates contracts; `settle` and `correct` are the two runs;
//! `batched` plans a settlement as batches that worker processes claim; `diff` is the pure
//! correction diff; `run` holds the billing lock; `not_ready` says why a contract-period waits.

mod batched;
mod context;
mod correct;
pub mod diff;
pub(crate) mod inputs;
mod not_ready;
mod run;
mod settle;

use std::time::Duration;

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::document::{
    CorrectionMode, DocumentKind, DocumentLine, IssuedDocument, NewDocument,
};
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::model::Market;
use nordlys_core::quantity::Currency;
use nordlys_store::{HeldRun, StoreError};
use rust_decimal::Decimal;

pub use batched::{
    PlannedRun, WorkerOptions, WorkerReport, plan_corrections, plan_settlement, work,
};
pub use context::{PeriodContext, period_code};
pub use correct::{CorrectionPreview, correct};
pub use inputs::PeriodInputs;
pub use not_ready::{NotReady, NotReadyReason};
pub use run::RunOwner;
pub use settle::settle;

use crate::Clock;
use crate::products::LoadProductsError;

/// How a utility bills: number series, KID, payment terms, corrections, quality policy.
#[derive(Debug, Clone)]
pub struct BillingPolicy {
    pub invoice_series: String,
    /// Equal to `invoice_series` to number credit notes in the same series.
    pub credit_note_series: String,
    pub kid: KidAlgorithm,
    pub payment_terms_days: i32,
    /// Whether credit notes carry a KID and a due date (by default they ask for no payment).
    pub credit_notes_ask_payment: bool,
    pub correction_mode: CorrectionMode,
    /// Whether estimated readings may be settled (missing ones never are).
    pub accept_estimated: bool,
    /// Accounts written per database transaction (a crash loses at most this batch, never half of one).
    pub accounts_per_transaction: usize,
    /// Who runs: named in the billing lock, so that a second run can say which run is in progress.
    pub owner: RunOwner,
    /// How long to wait for a run in progress to finish; `None`: do not wait, fail at once.
    pub wait_for_run: Option<Duration>,
    /// A run whose lock has not been refreshed for this long is taken as abandoned.
    pub abandoned_after: Duration,
}

impl Default for BillingPolicy {
    fn default() -> Self {
        BillingPolicy {
            invoice_series: "F".into(),
            credit_note_series: "K".into(),
            kid: KidAlgorithm::Mod10,
            payment_terms_days: 14,
            credit_notes_ask_payment: false,
            correction_mode: CorrectionMode::CreditAndReissue,
            accept_estimated: true,
            accounts_per_transaction: 500,
            owner: RunOwner::this_process(),
            wait_for_run: None,
            abandoned_after: Duration::from_secs(600),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub kind: &'static str,
    pub period: String,
    pub dry_run: bool,
    pub run_id: Option<i64>,
    pub accounts: u64,
    pub contracts_settled: u64,
    pub already_settled: u64,
    /// Corrections: settled contract-periods whose inputs changed, checked by re-rating.
    pub checked_after_change: u64,
    pub unchanged_after_correction: u64,
    pub invoices: u64,
    pub credit_notes: u64,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
    pub numbers: Vec<(String, i64, i64)>,
    pub not_ready: Vec<NotReady>,
    /// A dry run of corrections: what each (period, account) would issue (a run that issues
    /// keeps only its counts, however many accounts it corrects).
    pub corrections: Vec<CorrectionPreview>,
    pub elapsed: Duration,
}

impl RunReport {
    /// Note the number of a document as issued (numbered at commit).
    fn note_number(&mut self, issued: &IssuedDocument) {
        match self
            .numbers
            .iter_mut()
            .find(|(s, _, _)| *s == issued.series)
        {
            Some((_, first, last)) => {
                *first = (*first).min(issued.number);
                *last = (*last).max(issued.number);
            }
            None => self
                .numbers
                .push((issued.series.clone(), issued.number, issued.number)),
        }
    }

    /// Count a document in the totals (also one a dry run would issue).
    fn count_document(&mut self, document: &NewDocument) {
        match document.kind {
            DocumentKind::Invoice => self.invoices += 1,
            DocumentKind::CreditNote => self.credit_notes += 1,
        }
        self.net += document.net;
        self.vat += document.vat_total;
        self.gross += document.gross;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Products(#[from] LoadProductsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another billing run holds the lock.
    #[error(
        "another billing run is in progress: run {} ({} {}), started {} by process {} on {}; wait for it to finish (or pass --wait)",
        .0.run_id, .0.kind, .0.period, .0.started_at, .0.holder.pid, .0.holder.host
    )]
    RunInProgress(HeldRun),
    /// A worker's statutory tables are not the ones its run was planned with.
    #[error(
        "this worker's statutory tables ({worker}) are not the run's ({run}): start workers with the same --statutory as the run"
    )]
    StatutoryMismatch { run: String, worker: String },
    /// The database stayed unreachable.
    #[error("the database has been unreachable for {seconds} s; giving up: {error}")]
    DatabaseGone { seconds: u64, error: String },
    /// The payment terms give no valid due date.
    #[error("payment terms of {days} days from {issue_date} give no valid due date")]
    DueDate { issue_date: Date, days: i32 },
}

/// A document to issue, its totals computed as EN 16931 does; `None` as due date where the
/// document asks for no payment.
#[allow(clippy::too_many_arguments)] // a private constructor: every field is needed
fn new_document(
    kind: DocumentKind,
    account_id: &str,
    period: &str,
    currency: Currency,
    lines: Vec<DocumentLine>,
    issue_date: Date,
    policy: &BillingPolicy,
    references: Vec<i64>,
) -> Result<NewDocument, BillingError> {
    let (net, vat, vat_total, gross) = nordlys_core::document::document_totals(&lines);
    let due_date = if asks_payment(kind, policy) {
        Some(
            issue_date
                .checked_add(policy.payment_terms_days.days())
                .map_err(|_| BillingError::DueDate {
                    issue_date,
                    days: policy.payment_terms_days,
                })?,
        )
    } else {
        None
    };
    Ok(NewDocument {
        kind,
        account_id: account_id.to_owned(),
        period: period.to_owned(),
        issue_date,
        due_date,
        currency,
        lines,
        vat,
        net,
        vat_total,
        gross,
        references,
    })
}

/// Whether a document of `kind` asks for payment (carries a KID and a due date).
fn asks_payment(kind: DocumentKind, policy: &BillingPolicy) -> bool {
    kind == DocumentKind::Invoice || policy.credit_notes_ask_payment
}

/// The KID algorithm for a document of `kind`, or `None` when it asks for no payment.
fn kid_for(kind: DocumentKind, policy: &BillingPolicy) -> Option<KidAlgorithm> {
    asks_payment(kind, policy).then_some(policy.kid)
}

/// The issue date: today in the utility's calendar (Europe/Oslo and Europe/Copenhagen keep the
/// same time, so both markets agree on the date).
fn issue_date(clock: &dyn Clock) -> Date {
    Market::No.time_zone().to_datetime(clock.now()).date()
}

/// Products as a run reads them, with their version numbers.
pub(super) struct RunProducts {
    pub(super) products: std::sync::Arc<std::collections::HashMap<String, nordlys_rating::Product>>,
    pub(super) versions: std::collections::HashMap<String, i64>,
}

/// What a run reads first: the journal head, before anything else is read — every input read
/// afterwards includes at least the journal up to it, so a change recorded after it is one the
/// run may have missed and a later correction run re-rates what it touches (an import
/// committing while a batch is rated is never lost) — then the products with their versions.
async fn read_start(store: &nordlys_store::Store) -> Result<(i64, RunProducts), BillingError> {
    let read_seq = store.journal_head().await?;
    let (products, versions) = crate::products::load_products_with_versions(store).await?;
    Ok((
        read_seq,
        RunProducts {
            products: std::sync::Arc::new(products),
            versions,
        },
    ))
}
