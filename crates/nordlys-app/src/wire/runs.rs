//! The wire schema of settlement and correction runs, their batches, workers and not-ready
//! lists (missing-basis tasks): what `nordlys runs --format json` prints and the API serves.

use std::collections::BTreeMap;

use nordlys_store::{BatchStatus, MissingBasisTask, RunDocuments, RunSummary};
use serde::Serialize;

/// Batches of a run by status.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireBatchCounts {
    pub pending: i64,
    pub claimed: i64,
    pub done: i64,
    pub failed: i64,
}

/// A settlement or correction run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireRun {
    pub id: i64,
    /// `settlement` or `correction`.
    pub kind: String,
    /// The period `YYYY-MM` (a correction run: the periods it corrected).
    pub period: String,
    /// `single` (one process) or `batched` (claimed by workers).
    pub mode: String,
    /// `finished`, `finished with failed batches`, `in progress`, `in progress or stopped`.
    pub status: &'static str,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub invoices: i64,
    pub credit_notes: i64,
    /// Contracts not billed for a missing basis.
    pub not_ready: i64,
    pub batches: WireBatchCounts,
}

fn status(run: &RunSummary) -> &'static str {
    match (run.finished_at, run.batches_failed) {
        (Some(_), 0) => "finished",
        (Some(_), _) => "finished with failed batches",
        (None, _) if run.mode == "batched" => "in progress",
        (None, _) => "in progress or stopped",
    }
}

impl From<&RunSummary> for WireRun {
    fn from(run: &RunSummary) -> Self {
        WireRun {
            id: run.id,
            kind: run.kind.clone(),
            period: run.period.clone(),
            mode: run.mode.clone(),
            status: status(run),
            started_at: run.started_at.to_string(),
            finished_at: run.finished_at.map(|t| t.to_string()),
            invoices: run.invoices,
            credit_notes: run.credit_notes,
            not_ready: run.not_ready,
            batches: WireBatchCounts {
                pending: run.batches_pending,
                claimed: run.batches_claimed,
                done: run.batches_done,
                failed: run.batches_failed,
            },
        }
    }
}

/// What a run issued in one series and currency.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireSeriesTotals {
    pub series: String,
    pub currency: String,
    pub documents: i64,
    pub first_number: i64,
    pub last_number: i64,
    /// Decimal strings.
    pub net: String,
    pub vat: String,
    pub gross: String,
}

/// One batch of a batched run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireBatch {
    pub batch: i64,
    pub status: String,
    pub accounts: i64,
    pub claims: i64,
    pub worker: Option<String>,
    pub lease_until: Option<String>,
    pub claimed_at: Option<String>,
    pub finished_at: Option<String>,
    pub invoices: i64,
    pub not_ready: i64,
    pub elapsed_ms: i64,
    pub error: Option<String>,
}

/// What one worker did in a run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireWorker {
    pub worker: String,
    pub batches: i64,
    pub accounts: i64,
    pub invoices: i64,
    pub busy_ms: i64,
    pub accounts_per_second: i64,
}

/// A contract not billed in a period, and why (a missing-basis task).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireTask {
    pub contract_id: String,
    pub period: String,
    pub metering_point: Option<String>,
    /// A stable code, e.g. `missing_readings`.
    pub reason_code: String,
    pub reason: String,
}

impl From<&MissingBasisTask> for WireTask {
    fn from(t: &MissingBasisTask) -> Self {
        WireTask {
            contract_id: t.contract_id.clone(),
            period: t.period.clone(),
            metering_point: t.metering_point.clone(),
            reason_code: t.reason_code.clone(),
            reason: t.reason.clone(),
        }
    }
}

/// A run with what it issued, its batches, its workers and its not-ready list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WireRunReport {
    #[serde(flatten)]
    pub run: WireRun,
    pub documents: Vec<WireSeriesTotals>,
    pub batch_list: Vec<WireBatch>,
    pub workers: Vec<WireWorker>,
    pub not_ready_list: Vec<WireTask>,
}

/// Per worker: batches, accounts, invoices and the time spent in its done batches.
pub fn per_worker(batches: &[BatchStatus]) -> Vec<WireWorker> {
    let mut workers: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
    for b in batches.iter().filter(|b| b.status == "done") {
        let w = workers
            .entry(b.worker.clone().unwrap_or_else(|| "-".into()))
            .or_default();
        w.0 += 1;
        w.1 += b.accounts;
        w.2 += b.invoices;
        w.3 += b.elapsed_ms;
    }
    workers
        .into_iter()
        .map(
            |(worker, (batches, accounts, invoices, busy_ms))| WireWorker {
                worker,
                batches,
                accounts,
                invoices,
                busy_ms,
                accounts_per_second: if busy_ms > 0 {
                    (accounts * 1000) / busy_ms
                } else {
                    0
                },
            },
        )
        .collect()
}

impl WireRunReport {
    /// The report of `run`; `tasks` are every open missing-basis task (those of the run's
    /// period are its not-ready list).
    pub fn new(
        run: &RunSummary,
        documents: &RunDocuments,
        batches: &[BatchStatus],
        tasks: &[MissingBasisTask],
    ) -> Self {
        WireRunReport {
            run: run.into(),
            documents: documents
                .by_series
                .iter()
                .map(|s| WireSeriesTotals {
                    series: s.series.clone(),
                    currency: s.currency.clone(),
                    documents: s.documents,
                    first_number: s.first_number,
                    last_number: s.last_number,
                    net: s.net.clone(),
                    vat: s.vat.clone(),
                    gross: s.gross.clone(),
                })
                .collect(),
            batch_list: batches
                .iter()
                .map(|b| WireBatch {
                    batch: b.batch_no,
                    status: b.status.clone(),
                    accounts: b.accounts,
                    claims: b.claims,
                    worker: b.worker.clone(),
                    lease_until: b.lease_until.map(|t| t.to_string()),
                    claimed_at: b.claimed_at.map(|t| t.to_string()),
                    finished_at: b.finished_at.map(|t| t.to_string()),
                    invoices: b.invoices,
                    not_ready: b.not_ready,
                    elapsed_ms: b.elapsed_ms,
                    error: b.error.clone(),
                })
                .collect(),
            workers: per_worker(batches),
            not_ready_list: tasks
                .iter()
                .filter(|t| t.period == run.period)
                .map(Into::into)
                .collect(),
        }
    }
}
