//! Settlement that scales out: a run planned as batches of accounts (partitioned by a hash of
//! the account id), and workers — in this process or any number of others, on any machine that
//! reaches the database — that claim batches under a renewed lease and bill each in one
//! transaction that also marks it done. A killed worker's batch is claimed again when its lease
//! runs out; a lost database connection is retried. The run holds the billing lock from its
//! planning until its last batch is done.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nordlys_core::document::CorrectionMode;
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{Scratch, Statutory};
use nordlys_store::{BatchClaim, BatchCounts, BillableContract, Store, StoreError};
use serde_json::json;

use super::context::PeriodContext;
use super::correct::{CorrectionRun, group_by_period_and_account};
use super::settle::SettleRun;
use super::{BillingError, BillingPolicy, RunProducts, RunReport, read_start, run};
use crate::{Clock, NoProgress};

/// A planned run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    pub run_id: i64,
    pub batches: usize,
    pub accounts: usize,
    pub already_settled: u64,
    /// An unfinished run of the same kind and period, resumed rather than planned anew.
    pub resumed: bool,
}

/// The unfinished batched run of `kind` for `period` (its planner was killed, say), to be
/// resumed: its batches are billed as planned, so a resumed run numbers as an uninterrupted one.
async fn unfinished(
    store: &Store,
    kind: &str,
    period: &str,
) -> Result<Option<PlannedRun>, BillingError> {
    Ok(store
        .unfinished_batched_run(kind, period)
        .await?
        .map(|run| PlannedRun {
            run_id: run.id,
            batches: (run.batches_pending
                + run.batches_claimed
                + run.batches_done
                + run.batches_failed) as usize,
            accounts: 0,
            already_settled: 0,
            resumed: true,
        }))
}

/// Plan the settlement of `period` as batches of about `accounts_per_batch` accounts, holding
/// the billing lock (waiting as the policy says). Accounts with nothing left to settle are not
/// planned; a run with no batch is finished at once.
pub async fn plan_settlement(
    store: &Store,
    period: LocalPeriod,
    policy: &BillingPolicy,
    statutory: &Statutory,
    clock: &dyn Clock,
    accounts_per_batch: usize,
) -> Result<PlannedRun, BillingError> {
    let code = super::period_code(period);
    if let Some(resumed) = unfinished(store, "settlement", &code).await? {
        return Ok(resumed);
    }
    let run_id = run::start_run(store, "settlement", &code, policy, clock).await?;
    let planned = async {
        let contracts = store
            .billable_contracts(period.start, period.end, None)
            .await?;
        let settled = store.settled_contracts(&code).await?;
        let mut already_settled = 0;
        let mut accounts: Vec<String> = Vec::new();
        for contract in contracts {
            if settled.contains(&contract.contract_id) {
                already_settled += 1;
            } else if accounts.last() != Some(&contract.account_id) {
                accounts.push(contract.account_id);
            }
        }
        let batches = partition(&accounts, accounts_per_batch);
        store
            .plan_batches(run_id, &policy_json(policy), &statutory.version, &batches)
            .await?;
        store.finish_run_if_complete(run_id, clock.now()).await?;
        Ok::<_, BillingError>(PlannedRun {
            run_id,
            batches: batches.len(),
            accounts: accounts.len(),
            already_settled,
            resumed: false,
        })
    }
    .await;
    if planned.is_err() {
        store.release_run(run_id).await?;
    }
    planned
}

/// Plan a correction run: the accounts with settled contract-periods whose inputs changed,
/// in batches of about `accounts_per_batch` accounts, holding the billing lock. A worker
/// corrects each (period, account) of its batch in a transaction of its own — idempotent, so a
/// batch claimed again after its worker died corrects only what is still uncorrected.
pub async fn plan_corrections(
    store: &Store,
    policy: &BillingPolicy,
    statutory: &Statutory,
    clock: &dyn Clock,
    accounts_per_batch: usize,
) -> Result<PlannedRun, BillingError> {
    if let Some(resumed) = unfinished(store, "corrections", "*").await? {
        return Ok(resumed);
    }
    let run_id = run::start_run(store, "corrections", "*", policy, clock).await?;
    let planned = async {
        let changed = store
            .changed_settlements(super::inputs::EXCHANGE_RATE_LOOKBACK_DAYS)
            .await?;
        let mut accounts: Vec<String> = changed.into_iter().map(|r| r.account_id).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let batches = partition(&accounts, accounts_per_batch);
        store
            .plan_batches(run_id, &policy_json(policy), &statutory.version, &batches)
            .await?;
        store.finish_run_if_complete(run_id, clock.now()).await?;
        Ok::<_, BillingError>(PlannedRun {
            run_id,
            batches: batches.len(),
            accounts: accounts.len(),
            already_settled: 0,
            resumed: false,
        })
    }
    .await;
    if planned.is_err() {
        store.release_run(run_id).await?;
    }
    planned
}

/// `accounts` in batches of about `per_batch`, each account in the batch of its hash.
fn partition(accounts: &[String], per_batch: usize) -> Vec<Vec<String>> {
    let batch_count = accounts.len().div_ceil(per_batch.max(1));
    let mut batches: Vec<Vec<String>> = vec![Vec::new(); batch_count];
    for account in accounts {
        batches[(account_hash(account) % batch_count as u64) as usize].push(account.clone());
    }
    batches.retain(|b| !b.is_empty());
    batches
}

/// FNV-1a of the account id: the same batch for an account in every build and process.
fn account_hash(account_id: &str) -> u64 {
    account_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The part of the policy that a run's workers apply, as recorded with the run.
fn policy_json(policy: &BillingPolicy) -> String {
    json!({
        "invoice_series": policy.invoice_series,
        "credit_note_series": policy.credit_note_series,
        "kid": match policy.kid { KidAlgorithm::Mod10 => "mod10", KidAlgorithm::Mod11 => "mod11" },
        "payment_terms_days": policy.payment_terms_days,
        "credit_notes_ask_payment": policy.credit_notes_ask_payment,
        "correction_mode": policy.correction_mode.code(),
        "accept_estimated": policy.accept_estimated,
    })
    .to_string()
}

/// `base` with the run's recorded policy applied.
fn run_policy(base: &BillingPolicy, recorded: Option<&str>) -> Result<BillingPolicy, BillingError> {
    let Some(text) = recorded else {
        return Ok(base.clone());
    };
    let unreadable = || {
        BillingError::Store(StoreError::CorruptValue(nordlys_core::ParseError::new(
            "settlement_runs.policy",
            text,
            "the run's recorded policy is unreadable",
        )))
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| unreadable())?;
    let text_of = |key: &str| v.get(key).and_then(|x| x.as_str()).ok_or_else(unreadable);
    let mut policy = base.clone();
    policy.invoice_series = text_of("invoice_series")?.to_owned();
    policy.credit_note_series = text_of("credit_note_series")?.to_owned();
    policy.kid = match text_of("kid")? {
        "mod11" => KidAlgorithm::Mod11,
        _ => KidAlgorithm::Mod10,
    };
    policy.payment_terms_days = v
        .get("payment_terms_days")
        .and_then(|x| x.as_i64())
        .and_then(|d| i32::try_from(d).ok())
        .ok_or_else(unreadable)?;
    policy.credit_notes_ask_payment = v
        .get("credit_notes_ask_payment")
        .and_then(|x| x.as_bool())
        .ok_or_else(unreadable)?;
    policy.correction_mode =
        CorrectionMode::parse(text_of("correction_mode")?).map_err(|_| unreadable())?;
    policy.accept_estimated = v
        .get("accept_estimated")
        .and_then(|x| x.as_bool())
        .ok_or_else(unreadable)?;
    Ok(policy)
}

/// How a worker works.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Named in the batches it claims (`nordlys runs show`): host and process by default.
    pub name: String,
    /// How long a claim stands without renewal; renewed every third of it.
    pub lease: Duration,
    /// Work only on this run, and stop when it is finished.
    pub run: Option<i64>,
    /// Stop after this long without a batch to claim (`None`: never, unless `run` is done).
    pub idle_exit: Option<Duration>,
    /// How long to wait between looks for work, and before retrying after a database error.
    pub poll: Duration,
    /// Give up after the database has been unreachable for this long.
    pub give_up_after: Duration,
}

/// What a worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub batches: u64,
    pub accounts: u64,
    pub invoices: u64,
    /// Claims lost to another worker after a lease ran out (their transaction rolled back).
    pub lost_claims: u64,
    /// Batches marked failed (named with their error in `nordlys runs show`).
    pub failed_batches: u64,
    /// Database errors retried.
    pub retries: u64,
}

/// A batch claimed this many times without finishing is marked failed.
const MAX_CLAIMS: i64 = 12;

/// What a worker keeps per run between batches: the run's period context and products.
struct RunState {
    policy: BillingPolicy,
    ctx: PeriodContext,
    products: RunProducts,
    read_seq: i64,
}

/// Claim and bill batches until there is no more work as `options` say.
pub async fn work(
    store: &Store,
    base_policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: Arc<dyn Clock>,
    options: &WorkerOptions,
) -> Result<WorkerReport, BillingError> {
    let mut report = WorkerReport::default();
    let mut runs: HashMap<i64, RunState> = HashMap::new();
    let mut scratch = Scratch::default();
    let mut idle_since = Instant::now();
    let mut failing_since: Option<Instant> = None;
    let lease_us = i64::try_from(options.lease.as_micros()).unwrap_or(i64::MAX);
    let mut released_at: Option<Instant> = None;
    loop {
        // Batches of workers of this host that are gone (killed) need not wait for their lease.
        if released_at.is_none_or(|at| at.elapsed() >= options.poll * 8) {
            released_at = Some(Instant::now());
            if let Err(error) = release_claims_of_gone_workers(store).await {
                retry_or_give_up(&error, &mut failing_since, options, &mut report).await?;
                continue;
            }
        }
        let claimed = match store
            .claim_batch(options.run, &options.name, lease_us, clock.now())
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                retry_or_give_up(&error, &mut failing_since, options, &mut report).await?;
                continue;
            }
        };
        let Some(claim) = claimed else {
            if let Some(run_id) = options.run {
                match store.finish_run_if_complete(run_id, clock.now()).await {
                    Ok(true) => return Ok(report),
                    Ok(false) => {}
                    Err(error) => {
                        retry_or_give_up(&error, &mut failing_since, options, &mut report).await?;
                        continue;
                    }
                }
            }
            if options
                .idle_exit
                .is_some_and(|limit| idle_since.elapsed() >= limit)
            {
                return Ok(report);
            }
            tokio::time::sleep(options.poll).await;
            continue;
        };
        failing_since = None;
        if claim.claim > MAX_CLAIMS {
            let message = format!(
                "claimed {} times without finishing; see the workers' logs",
                claim.claim - 1
            );
            tracing::error!(run_id = claim.run_id, batch = claim.batch_no, %message, "batch failed");
            store.fail_batch(&claim, &message, clock.now()).await?;
            report.failed_batches += 1;
            continue;
        }
        let renewal = renew_while_working(store, &claim, options.lease, Arc::clone(&clock));
        let outcome = bill_batch(
            store,
            base_policy,
            &statutory,
            clock.as_ref(),
            &claim,
            &mut runs,
            &mut scratch,
        )
        .await;
        renewal.abort();
        match outcome {
            Ok(invoices) => {
                report.batches += 1;
                report.accounts += claim.accounts.len() as u64;
                report.invoices += invoices;
                tracing::info!(
                    run_id = claim.run_id,
                    batch = claim.batch_no,
                    accounts = claim.accounts.len(),
                    invoices,
                    worker = %options.name,
                    "batch done"
                );
                // Keep the run's billing lock alive, and finish the run after its last batch.
                let _ = store.heartbeat_run(claim.run_id, clock.now()).await;
                if let Ok(true) = store
                    .finish_run_if_complete(claim.run_id, clock.now())
                    .await
                {
                    tracing::info!(run_id = claim.run_id, "run finished");
                    runs.remove(&claim.run_id);
                }
                idle_since = Instant::now();
            }
            Err(BillingError::Store(StoreError::ClaimLost { run_id, batch_no })) => {
                tracing::warn!(
                    run_id,
                    batch = batch_no,
                    "claim lost; another worker bills the batch"
                );
                report.lost_claims += 1;
            }
            Err(BillingError::Store(error)) if error.is_transient() => {
                retry_or_give_up(&error, &mut failing_since, options, &mut report).await?;
            }
            Err(BillingError::StatutoryMismatch { run, worker }) => {
                return Err(BillingError::StatutoryMismatch { run, worker });
            }
            Err(error) => {
                tracing::error!(run_id = claim.run_id, batch = claim.batch_no, %error, "batch failed");
                store
                    .fail_batch(&claim, &error.to_string(), clock.now())
                    .await?;
                report.failed_batches += 1;
            }
        }
    }
}

/// Put back to pending the batches claimed by workers of this host whose process is gone
/// (worker names are `host:pid`; only Linux's /proc answers, elsewhere leases run out).
async fn release_claims_of_gone_workers(store: &Store) -> Result<(), StoreError> {
    let me = super::RunOwner::this_process();
    for (run_id, batch_no, claim, worker) in store.claimed_batches().await? {
        let Some((host, pid)) = worker.rsplit_once(':') else {
            continue;
        };
        let gone = host == me.host
            && pid != me.pid.to_string()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && std::path::Path::new("/proc/self").exists()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists();
        if gone && store.release_claim(run_id, batch_no, claim).await? {
            tracing::warn!(run_id, batch = batch_no, %worker, "released the batch of a worker that is gone");
        }
    }
    Ok(())
}

/// Wait and retry after a database error, until it has lasted `give_up_after`.
async fn retry_or_give_up(
    error: &StoreError,
    failing_since: &mut Option<Instant>,
    options: &WorkerOptions,
    report: &mut WorkerReport,
) -> Result<(), BillingError> {
    let since = *failing_since.get_or_insert_with(Instant::now);
    if !error.is_transient() || since.elapsed() >= options.give_up_after {
        return Err(BillingError::DatabaseGone {
            seconds: since.elapsed().as_secs(),
            error: error.to_string(),
        });
    }
    report.retries += 1;
    tracing::warn!(%error, "database error; retrying");
    tokio::time::sleep(options.poll.max(Duration::from_millis(500))).await;
    Ok(())
}

/// Renew `claim`'s lease every third of it until aborted.
fn renew_while_working(
    store: &Store,
    claim: &BatchClaim,
    lease: Duration,
    clock: Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    let (store, claim) = (store.clone(), claim.clone());
    let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            match store.renew_lease(&claim, lease_us, clock.now()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(run_id = claim.run_id, batch = claim.batch_no, "lease lost");
                    return;
                }
                Err(error) => tracing::warn!(%error, "lease renewal failed; retrying"),
            }
        }
    })
}

/// Bill one claimed batch; returns the invoices issued.
async fn bill_batch(
    store: &Store,
    base_policy: &BillingPolicy,
    statutory: &Arc<Statutory>,
    clock: &dyn Clock,
    claim: &BatchClaim,
    runs: &mut HashMap<i64, RunState>,
    scratch: &mut Scratch,
) -> Result<u64, BillingError> {
    if let Some(run_version) = &claim.statutory_version
        && *run_version != statutory.version.clone()
    {
        return Err(BillingError::StatutoryMismatch {
            run: run_version.clone(),
            worker: statutory.version.clone(),
        });
    }
    if claim.kind == "corrections" {
        return correct_batch(store, base_policy, statutory, clock, claim).await;
    }
    let period = LocalPeriod::parse_month(&claim.period).map_err(StoreError::CorruptValue)?;
    let state = match runs.entry(claim.run_id) {
        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::hash_map::Entry::Vacant(entry) => {
            let (read_seq, products) = read_start(store).await?;
            let ctx = PeriodContext::new(
                store,
                period,
                Arc::clone(statutory),
                Arc::clone(&products.products),
            )
            .await?;
            let policy = run_policy(base_policy, claim.policy.as_deref())?;
            entry.insert(RunState {
                policy,
                ctx,
                products,
                read_seq,
            })
        }
    };
    let contracts = store
        .billable_contracts_of_accounts(period.start, period.end, &claim.accounts)
        .await?;
    let ids: Vec<String> = contracts.iter().map(|c| c.contract_id.clone()).collect();
    let settled = store.settled_contracts_among(&state.ctx.code, &ids).await?;
    let mut accounts: Vec<(String, Vec<BillableContract>)> = Vec::new();
    for contract in contracts {
        if settled.contains(&contract.contract_id) {
            continue;
        }
        match accounts.last_mut() {
            Some((id, list)) if *id == contract.account_id => list.push(contract),
            _ => accounts.push((contract.account_id.clone(), vec![contract])),
        }
    }
    let open_tasks: HashSet<String> = store
        .missing_basis_tasks()
        .await?
        .into_iter()
        .filter(|task| task.period == state.ctx.code)
        .map(|task| task.contract_id)
        .collect();
    let mut report = RunReport::default();
    let run = SettleRun {
        store,
        policy: &state.policy,
        products: &state.products.products,
        versions: &state.products.versions,
        read_seq: state.read_seq,
        open_tasks: &open_tasks,
        clock,
        progress: &NoProgress,
        run_id: Some(claim.run_id),
    };
    run.settle_batch(&mut state.ctx, &accounts, Some(claim), scratch, &mut report)
        .await?;
    Ok(report.invoices)
}

/// Correct the changed contract-periods of a correction batch's accounts; returns the
/// documents issued.
async fn correct_batch(
    store: &Store,
    base_policy: &BillingPolicy,
    statutory: &Arc<Statutory>,
    clock: &dyn Clock,
    claim: &BatchClaim,
) -> Result<u64, BillingError> {
    let started = Instant::now();
    let policy = run_policy(base_policy, claim.policy.as_deref())?;
    // Read afresh per batch: the journal head first, then what changed (see `read_start`).
    let (read_seq, RunProducts { products, versions }) = read_start(store).await?;
    let accounts: HashSet<&str> = claim.accounts.iter().map(String::as_str).collect();
    let changed: Vec<_> = store
        .changed_settlements(super::inputs::EXCHANGE_RATE_LOOKBACK_DAYS)
        .await?
        .into_iter()
        .filter(|r| accounts.contains(r.account_id.as_str()))
        .collect();
    let mut report = RunReport::default();
    let run = CorrectionRun {
        store,
        policy: &policy,
        statutory,
        products: &products,
        versions: &versions,
        read_seq,
        clock,
        progress: &NoProgress,
        run_id: Some(claim.run_id),
    };
    run.correct_groups(
        group_by_period_and_account(changed),
        &mut HashMap::new(),
        &mut report,
    )
    .await?;
    let documents = report.invoices + report.credit_notes;
    store
        .complete_batch(
            claim,
            BatchCounts {
                documents: documents as i64,
                not_ready: report.not_ready.len() as i64,
                elapsed_ms: started.elapsed().as_millis() as i64,
            },
            clock.now(),
        )
        .await?;
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_policy_is_what_workers_apply() {
        let policy = BillingPolicy {
            invoice_series: "X".into(),
            kid: KidAlgorithm::Mod11,
            payment_terms_days: 20,
            correction_mode: CorrectionMode::Difference,
            accept_estimated: false,
            ..BillingPolicy::default()
        };
        let applied = run_policy(&BillingPolicy::default(), Some(&policy_json(&policy))).unwrap();
        assert_eq!(applied.invoice_series, "X");
        assert_eq!(applied.kid, KidAlgorithm::Mod11);
        assert_eq!(applied.payment_terms_days, 20);
        assert_eq!(applied.correction_mode, CorrectionMode::Difference);
        assert!(!applied.accept_estimated);
    }

    #[test]
    fn accounts_hash_to_the_same_batch_everywhere() {
        assert_eq!(account_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(account_hash("A1"), account_hash("A1"));
        assert_ne!(account_hash("A1"), account_hash("A2"));
    }
}
