//! The settlement run of one period: every unsettled contract rated after validation, one
//! invoice per account whose contracts are all ready, written per batch of accounts in one
//! transaction with the settlement rows that make it exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use nordlys_core::document::{DocumentKind, NewDocument};
use nordlys_core::quantity::Currency;
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{Scratch, Statutory};
use nordlys_store::{
    BatchClaim, BatchCounts, BillableContract, BillingTx, RunCounts, SettlementRecord, Store,
};
use tracing::Instrument;

use super::context::PeriodContext;
use super::not_ready::{NotReady, NotReadyReason};
use super::{
    BillingError, BillingPolicy, RunProducts, RunReport, issue_date, kid_for, new_document,
    read_start, run,
};
use crate::{Clock, Progress};

/// Settle every unsettled contract of `period` (optionally of one account). Holds the billing
/// lock unless `dry_run`.
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    store: &Store,
    period: LocalPeriod,
    account: Option<&str>,
    policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    dry_run: bool,
) -> Result<RunReport, BillingError> {
    let started = Instant::now();
    let code = super::period_code(period);
    let run_id = match dry_run {
        true => None,
        false => Some(run::start_run(store, "settlement", &code, policy, clock).await?),
    };
    let span = tracing::info_span!("settlement", run_id, period = %code, dry_run);
    let result = settle_locked(
        store, period, account, policy, statutory, clock, progress, run_id,
    )
    .instrument(span)
    .await;
    finish(store, run_id, result, clock, started).await
}

/// Record the run's counts and give up the lock, also when the run failed.
pub(super) async fn finish(
    store: &Store,
    run_id: Option<i64>,
    result: Result<RunReport, BillingError>,
    clock: &dyn Clock,
    started: Instant,
) -> Result<RunReport, BillingError> {
    let Some(run_id) = run_id else {
        return result.map(|mut report| {
            report.elapsed = started.elapsed();
            report
        });
    };
    match result {
        Ok(mut report) => {
            report.elapsed = started.elapsed();
            let counts = RunCounts {
                invoices: report.invoices,
                credit_notes: report.credit_notes,
                not_ready: report.not_ready.len() as u64,
            };
            store.finish_run(run_id, counts, clock.now()).await?;
            tracing::info!(
                run_id,
                invoices = report.invoices,
                credit_notes = report.credit_notes,
                not_ready = report.not_ready.len(),
                elapsed_ms = report.elapsed.as_millis() as u64,
                "run finished"
            );
            Ok(report)
        }
        Err(error) => {
            tracing::error!(run_id, %error, "run failed");
            store.release_run(run_id).await?;
            Err(error)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn settle_locked(
    store: &Store,
    period: LocalPeriod,
    account: Option<&str>,
    policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    run_id: Option<i64>,
) -> Result<RunReport, BillingError> {
    let (read_seq, RunProducts { products, versions }) = read_start(store).await?;
    let mut ctx = PeriodContext::new(store, period, statutory, Arc::clone(&products)).await?;
    let mut report = RunReport {
        kind: "settlement",
        period: ctx.code.clone(),
        dry_run: run_id.is_none(),
        run_id,
        ..RunReport::default()
    };
    let contracts = store
        .billable_contracts(period.start, period.end, account)
        .await?;
    // Read under the lock: what an earlier run settled is not settled again.
    let settled = store.settled_contracts(&ctx.code).await?;
    let open_tasks: HashSet<String> = store
        .missing_basis_tasks()
        .await?
        .into_iter()
        .filter(|task| task.period == ctx.code)
        .map(|task| task.contract_id)
        .collect();
    let mut accounts: Vec<(String, Vec<BillableContract>)> = Vec::new();
    for contract in contracts {
        if settled.contains(&contract.contract_id) {
            report.already_settled += 1;
            continue;
        }
        match accounts.last_mut() {
            Some((id, list)) if *id == contract.account_id => list.push(contract),
            _ => accounts.push((contract.account_id.clone(), vec![contract])),
        }
    }
    progress.start(
        &format!("settlement {}", ctx.code),
        Some(accounts.len() as u64),
    );
    let run = SettleRun {
        store,
        policy,
        products: &products,
        versions: &versions,
        read_seq,
        open_tasks: &open_tasks,
        clock,
        progress: progress.as_ref(),
        run_id,
    };
    let mut scratch = Scratch::default();
    for (batch_no, batch) in accounts
        .chunks(policy.accounts_per_transaction.max(1))
        .enumerate()
    {
        tracing::debug!(batch_no, accounts = batch.len(), "batch");
        run.settle_batch(&mut ctx, batch, None, &mut scratch, &mut report)
            .await?;
    }
    progress.finish();
    Ok(report)
}

/// What every batch of a settlement run shares.
pub(super) struct SettleRun<'a> {
    pub(super) store: &'a Store,
    pub(super) policy: &'a BillingPolicy,
    pub(super) products: &'a HashMap<String, nordlys_rating::Product>,
    pub(super) versions: &'a HashMap<String, i64>,
    pub(super) read_seq: i64,
    pub(super) open_tasks: &'a HashSet<String>,
    pub(super) clock: &'a dyn Clock,
    pub(super) progress: &'a dyn Progress,
    /// `None`: a dry run, nothing is written.
    pub(super) run_id: Option<i64>,
}

impl SettleRun<'_> {
    /// Rate one batch of accounts and issue its invoices in one transaction with their
    /// settlement rows (and, for a worker, the batch's done mark under its `claim`).
    pub(super) async fn settle_batch(
        &self,
        ctx: &mut PeriodContext,
        batch: &[(String, Vec<BillableContract>)],
        claim: Option<&BatchClaim>,
        scratch: &mut Scratch,
        report: &mut RunReport,
    ) -> Result<(), BillingError> {
        let started = Instant::now();
        let SettleRun {
            store,
            policy,
            products,
            versions,
            read_seq,
            open_tasks,
            clock,
            progress,
            run_id,
        } = *self;
        let today = issue_date(clock);
        let (first_day, last_day) = ctx.inputs.utc_days();
        let point_ids: Vec<i64> = batch
            .iter()
            .flat_map(|(_, cs)| cs.iter().filter_map(|c| c.point.as_ref().map(|p| p.id)))
            .collect();
        let chunks = store.day_chunks(&point_ids, first_day, last_day).await?;
        // Rate the whole batch first; the write transaction is short and takes the lock once.
        let mut ready: Vec<(NewDocument, &Vec<BillableContract>)> = Vec::new();
        let mut waiting: Vec<NotReady> = Vec::new();
        for (account_id, contracts) in batch {
            let mut lines = Vec::new();
            let mut not_ready = Vec::new();
            let mut currencies: Vec<Currency> = Vec::new();
            for contract in contracts {
                match ctx
                    .rate_or_not_ready(store, contract, &chunks, policy.accept_estimated, scratch)
                    .await?
                {
                    Ok(contract_lines) => {
                        // Rated, so the product is known.
                        if let Some(product) = products.get(&contract.product_code)
                            && !currencies.contains(&product.currency)
                        {
                            currencies.push(product.currency);
                        }
                        lines.extend(contract_lines);
                    }
                    Err(nr) => not_ready.push(nr),
                }
            }
            if currencies.len() > 1 && not_ready.is_empty() {
                for contract in contracts {
                    not_ready.push(NotReady {
                        contract_id: contract.contract_id.clone(),
                        account_id: account_id.clone(),
                        period: ctx.code.clone(),
                        metering_point: contract.point.as_ref().map(|p| p.gsrn.clone()),
                        reason: NotReadyReason::MixedCurrencies {
                            currencies: currencies.clone(),
                        },
                    });
                }
            }
            report.accounts += 1;
            progress.advance(1);
            if !not_ready.is_empty() {
                // The account's invoice waits until every contract of it is ready: one invoice per account and period.
                tracing::debug!(account = %account_id, contracts = not_ready.len(), "account not ready");
                waiting.extend(not_ready);
                continue;
            }
            let Some(&currency) = currencies.first() else {
                // An account whose contracts gave no lines at all has nothing to invoice.
                continue;
            };
            let document = new_document(
                DocumentKind::Invoice,
                account_id,
                &ctx.code,
                currency,
                lines,
                today,
                policy,
                Vec::new(),
            )?;
            report.contracts_settled += contracts.len() as u64;
            ready.push((document, contracts));
        }
        match run_id {
            None => ready
                .iter()
                .for_each(|(document, _)| report.count_document(document)),
            Some(run_id) => {
                let mut tx = store.begin_billing(run_id, clock.now()).await?;
                for nr in &waiting {
                    record_task(&mut tx, nr).await?;
                }
                let (documents, contracts): (Vec<NewDocument>, Vec<&Vec<BillableContract>>) =
                    ready.drain(..).unzip();
                let issued = tx
                    .issue_many(
                        documents,
                        &policy.invoice_series,
                        kid_for(DocumentKind::Invoice, policy),
                    )
                    .await?;
                let mut records = Vec::new();
                let mut resolved = Vec::new();
                for (document, contracts) in issued.iter().zip(contracts) {
                    report.count_document(&document.document);
                    for contract in contracts {
                        records.push(settlement_record(
                            ctx,
                            contract,
                            document.id,
                            versions,
                            read_seq,
                        ));
                        if open_tasks.contains(&contract.contract_id) {
                            resolved.push((contract.contract_id.clone(), ctx.code.clone()));
                        }
                    }
                }
                tx.record_settlements(&records).await?;
                tx.resolve_missing_basis(&resolved).await?;
                if let Some(claim) = claim {
                    tx.complete_batch(
                        claim,
                        BatchCounts {
                            documents: issued.len() as i64,
                            not_ready: waiting.len() as i64,
                            elapsed_ms: started.elapsed().as_millis() as i64,
                        },
                    )
                    .await?;
                }
                for numbered in tx.commit().await? {
                    report.note_number(&numbered);
                }
                store.heartbeat_run(run_id, clock.now()).await?;
            }
        }
        report.not_ready.extend(waiting);
        Ok(())
    }
}

/// Record (or refresh) the missing-basis task of a contract-period that is not ready.
pub(super) async fn record_task(tx: &mut BillingTx, nr: &NotReady) -> Result<(), BillingError> {
    tx.record_missing_basis(
        &nr.contract_id,
        &nr.period,
        nr.metering_point.as_deref(),
        nr.reason.code(),
        &nr.reason.to_string(),
        &nr.reason.details().to_string(),
    )
    .await?;
    Ok(())
}

fn settlement_record(
    ctx: &PeriodContext,
    contract: &BillableContract,
    document_id: i64,
    versions: &HashMap<String, i64>,
    read_seq: i64,
) -> SettlementRecord {
    let (first_utc_day, last_utc_day) = ctx.inputs.utc_days();
    SettlementRecord {
        contract_id: contract.contract_id.clone(),
        period: ctx.code.clone(),
        account_id: contract.account_id.clone(),
        metering_point: contract.point.as_ref().map(|p| p.id),
        price_area: contract.point.as_ref().map(|p| p.price_area),
        first_utc_day,
        last_utc_day,
        last_document: document_id,
        revision: 0,
        product_code: Some(contract.product_code.clone()),
        product_version: versions.get(&contract.product_code).copied(),
        statutory_version: Some(ctx.statutory_version()),
        read_seq,
    }
}
