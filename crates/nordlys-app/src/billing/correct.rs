//! The correction run: settled contract-periods whose inputs changed after their settlement are
//! re-rated with the latest data; where what stands billed differs, the difference is issued
//! (credit note and reissue, or one difference document) referencing the originals by number.
//!
//! Exactly once even when runs overlap: the run holds the billing lock, and each account's
//! correction re-reads, inside the transaction that issues it, the settlement's revision and
//! what stands billed; the settlement is updated only at the revision it was read at.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use nordlys_core::document::{
    CorrectionMode, DocumentKind, DocumentLine, Explanation, NewDocument,
};
use nordlys_core::quantity::Currency;
use nordlys_core::time::LocalPeriod;
use nordlys_rating::{Scratch, Statutory};
use nordlys_store::{BillableContract, BillingTx, SettlementRecord, Store, StoreError};
use rust_decimal::Decimal;
use tracing::Instrument;

use super::context::PeriodContext;
use super::diff::Standing;
use super::not_ready::{NotReady, NotReadyReason};
use super::settle::{finish, record_task};
use super::{
    BillingError, BillingPolicy, RunProducts, RunReport, issue_date, kid_for, new_document,
    read_start, run,
};
use crate::{Clock, Progress};

/// Re-rate every settled contract-period whose inputs changed after it was settled, and issue
/// the difference as the policy says. Nothing issued is edited. Holds the billing lock unless
/// `dry_run`.
pub async fn correct(
    store: &Store,
    policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    dry_run: bool,
) -> Result<RunReport, BillingError> {
    let started = Instant::now();
    let run_id = match dry_run {
        true => None,
        false => Some(run::start_run(store, "corrections", "*", policy, clock).await?),
    };
    let span = tracing::info_span!("corrections", run_id, dry_run);
    let result = correct_locked(store, policy, statutory, clock, progress, run_id)
        .instrument(span)
        .await;
    finish(store, run_id, result, clock, started).await
}

/// What the correction of one (period, account) would issue, as a dry run finds it: what stands
/// billed, what the latest data rate to, the lines that change and the documents.
#[derive(Debug, Clone)]
pub struct CorrectionPreview {
    pub period: String,
    pub account_id: String,
    pub currency: Currency,
    /// The documents whose lines it reverses, by number (`F-12`).
    pub corrects: Vec<String>,
    /// The net amount that stands billed for the changed contract-periods.
    pub billed_net: Decimal,
    /// The net amount the latest data rate to.
    pub corrected_net: Decimal,
    pub changes: Vec<super::diff::LineChange>,
    /// The documents to issue: kind and gross amount each.
    pub documents: Vec<(DocumentKind, Decimal)>,
}

impl CorrectionPreview {
    /// What the correction adds to what stands billed, net (negative: a credit).
    pub fn difference_net(&self) -> Decimal {
        self.corrected_net - self.billed_net
    }
}

/// The sum of the lines' net amounts.
fn net_of<'a>(lines: impl Iterator<Item = &'a DocumentLine>) -> Decimal {
    lines.map(|l| l.net).sum()
}

/// A contract-period to correct: its settlement as read, and its new rating.
struct Candidate {
    record: SettlementRecord,
    contract: BillableContract,
    lines: Vec<DocumentLine>,
}

async fn correct_locked(
    store: &Store,
    policy: &BillingPolicy,
    statutory: Arc<Statutory>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    run_id: Option<i64>,
) -> Result<RunReport, BillingError> {
    // A settlement found unchanged or corrected is marked as having read up to `read_seq`.
    let (read_seq, RunProducts { products, versions }) = read_start(store).await?;
    let changed = store
        .changed_settlements(super::inputs::EXCHANGE_RATE_LOOKBACK_DAYS)
        .await?;
    let mut report = RunReport {
        kind: "corrections",
        period: "all settled periods".into(),
        dry_run: run_id.is_none(),
        run_id,
        checked_after_change: changed.len() as u64,
        ..RunReport::default()
    };
    let groups = group_by_period_and_account(changed);
    progress.start("corrections", Some(groups.len() as u64));
    let mut contexts: HashMap<String, PeriodContext> = HashMap::new();
    let run = CorrectionRun {
        store,
        policy,
        statutory: &statutory,
        products: &products,
        versions: &versions,
        read_seq,
        clock,
        progress: progress.as_ref(),
        run_id,
    };
    run.correct_groups(groups, &mut contexts, &mut report)
        .await?;
    progress.finish();
    Ok(report)
}

/// One credit note + invoice (or one difference document) per (period, account).
pub(super) fn group_by_period_and_account(
    changed: Vec<SettlementRecord>,
) -> BTreeMap<(String, String), Vec<SettlementRecord>> {
    let mut groups: BTreeMap<(String, String), Vec<SettlementRecord>> = BTreeMap::new();
    for record in changed {
        groups
            .entry((record.period.clone(), record.account_id.clone()))
            .or_default()
            .push(record);
    }
    groups
}

/// What every group of a correction run shares.
pub(super) struct CorrectionRun<'a> {
    pub(super) store: &'a Store,
    pub(super) policy: &'a BillingPolicy,
    pub(super) statutory: &'a Arc<Statutory>,
    pub(super) products: &'a Arc<HashMap<String, nordlys_rating::Product>>,
    pub(super) versions: &'a HashMap<String, i64>,
    pub(super) read_seq: i64,
    pub(super) clock: &'a dyn Clock,
    pub(super) progress: &'a dyn Progress,
    /// `None`: a dry run, nothing is written.
    pub(super) run_id: Option<i64>,
}

impl CorrectionRun<'_> {
    /// Correct each (period, account) group, each in a transaction of its own: idempotent, as a
    /// corrected settlement is no longer listed as changed (its read sequence moved on) and its
    /// revision guards against a second correction.
    pub(super) async fn correct_groups(
        &self,
        groups: BTreeMap<(String, String), Vec<SettlementRecord>>,
        contexts: &mut HashMap<String, PeriodContext>,
        report: &mut RunReport,
    ) -> Result<(), BillingError> {
        let CorrectionRun {
            store,
            policy,
            statutory,
            products,
            versions,
            read_seq,
            clock,
            progress,
            run_id,
        } = *self;
        let mut scratch = Scratch::default();
        let today = issue_date(clock);
        for ((period_code, account_id), records) in groups {
            progress.advance(1);
            if !contexts.contains_key(&period_code) {
                let period =
                    LocalPeriod::parse_month(&period_code).map_err(StoreError::CorruptValue)?;
                let ctx =
                    PeriodContext::new(store, period, Arc::clone(statutory), Arc::clone(products))
                        .await?;
                contexts.insert(period_code.clone(), ctx);
            }
            let Some(ctx) = contexts.get_mut(&period_code) else {
                continue;
            };
            let (first_day, last_day) = ctx.inputs.utc_days();
            let point_ids: Vec<i64> = records.iter().filter_map(|r| r.metering_point).collect();
            let chunks = store.day_chunks(&point_ids, first_day, last_day).await?;
            let mut candidates: Vec<Candidate> = Vec::new();
            let mut waiting: Vec<NotReady> = Vec::new();
            for record in records {
                let not_ready = |reason| NotReady {
                    contract_id: record.contract_id.clone(),
                    account_id: account_id.clone(),
                    period: period_code.clone(),
                    metering_point: None,
                    reason,
                };
                let Some(contract) = store.billable_contract(&record.contract_id).await? else {
                    waiting.push(not_ready(NotReadyReason::ContractGone));
                    continue;
                };
                if contract.account_id != record.account_id {
                    waiting.push(not_ready(NotReadyReason::ContractMoved {
                        settled_account: record.account_id.clone(),
                        current_account: contract.account_id.clone(),
                    }));
                    continue;
                }
                let covers = contract.start < ctx.period.end
                    && contract.end.is_none_or(|end| end > ctx.period.start);
                let lines = if covers {
                    match ctx
                        .rate_or_not_ready(
                            store,
                            &contract,
                            &chunks,
                            policy.accept_estimated,
                            &mut scratch,
                        )
                        .await?
                    {
                        Ok(lines) => lines,
                        Err(mut nr) => {
                            nr.reason = NotReadyReason::CannotReRate {
                                reason: Box::new(nr.reason),
                            };
                            waiting.push(nr);
                            continue;
                        }
                    }
                } else {
                    // The contract's dates moved out of the period: nothing is owed for it.
                    Vec::new()
                };
                candidates.push(Candidate {
                    record,
                    contract,
                    lines,
                });
            }
            let mut tx = match run_id {
                Some(run_id) if !(candidates.is_empty() && waiting.is_empty()) => {
                    Some(store.begin_billing(run_id, clock.now()).await?)
                }
                _ => None,
            };
            if let Some(tx) = tx.as_mut() {
                for nr in &waiting {
                    record_task(tx, nr).await?;
                }
            }
            report.not_ready.extend(waiting);
            let corrected = correct_account(
                store,
                tx.as_mut(),
                ctx,
                products,
                versions,
                read_seq,
                &account_id,
                candidates,
                today,
                policy,
                report,
            )
            .await?;
            if let Some(tx) = tx {
                for numbered in tx.commit().await? {
                    report.note_number(&numbered);
                }
                if corrected {
                    tracing::info!(account = %account_id, period = %period_code, "corrected");
                }
            }
            if let Some(run_id) = run_id {
                store.heartbeat_run(run_id, clock.now()).await?;
            }
        }
        Ok(())
    }
}

/// Correct one account's changed contract-periods of one period inside `tx` (none: a dry run,
/// counted but not written). Returns whether documents were issued.
#[allow(clippy::too_many_arguments)]
async fn correct_account(
    store: &Store,
    mut tx: Option<&mut BillingTx>,
    ctx: &PeriodContext,
    products: &HashMap<String, nordlys_rating::Product>,
    versions: &HashMap<String, i64>,
    read_seq: i64,
    account_id: &str,
    candidates: Vec<Candidate>,
    today: jiff::civil::Date,
    policy: &BillingPolicy,
    report: &mut RunReport,
) -> Result<bool, BillingError> {
    let mut changed: Vec<(SettlementRecord, Standing, Vec<DocumentLine>)> = Vec::new();
    let mut currencies: Vec<Currency> = Vec::new();
    for candidate in candidates {
        let record = &candidate.record;
        let billed = match tx.as_deref_mut() {
            Some(tx) => {
                // Compare-and-set: another run may have corrected it since it was listed.
                if tx
                    .settlement_revision(&record.contract_id, &record.period)
                    .await?
                    != Some(record.revision)
                {
                    tracing::warn!(contract = %record.contract_id, period = %record.period,
                        "settlement changed by another run since it was read; left to it");
                    continue;
                }
                tx.billed_lines(&record.contract_id, &record.period).await?
            }
            None => {
                store
                    .billed_lines(&record.contract_id, &record.period)
                    .await?
            }
        };
        let standing = Standing::replay(billed);
        let updated = SettlementRecord {
            product_code: Some(candidate.contract.product_code.clone()),
            product_version: versions.get(&candidate.contract.product_code).copied(),
            statutory_version: Some(ctx.statutory_version()),
            read_seq,
            ..record.clone()
        };
        if standing.same_as(&candidate.lines) {
            report.unchanged_after_correction += 1;
            if let Some(tx) = tx.as_deref_mut() {
                tx.mark_settled_now(&updated, None).await?;
            }
            continue;
        }
        if let Some(product) = products.get(&candidate.contract.product_code)
            && !currencies.contains(&product.currency)
        {
            currencies.push(product.currency);
        }
        changed.push((updated, standing, candidate.lines));
    }
    if changed.is_empty() {
        return Ok(false);
    }
    let currency = match currencies.as_slice() {
        [one] => *one,
        _ => {
            for (record, _, _) in &changed {
                let nr = NotReady {
                    contract_id: record.contract_id.clone(),
                    account_id: account_id.to_owned(),
                    period: record.period.clone(),
                    metering_point: None,
                    reason: NotReadyReason::CannotReRate {
                        reason: Box::new(NotReadyReason::MixedCurrencies {
                            currencies: currencies.clone(),
                        }),
                    },
                };
                if let Some(tx) = tx.as_deref_mut() {
                    record_task(tx, &nr).await?;
                }
                report.not_ready.push(nr);
            }
            return Ok(false);
        }
    };
    // The documents whose lines stand, each once, in billing order: what this corrects.
    let mut originals: Vec<(i64, String)> = Vec::new();
    for (_, standing, _) in &changed {
        for original in standing.documents() {
            if !originals.iter().any(|(id, _)| *id == original.0) {
                originals.push(original);
            }
        }
    }
    let numbers: Vec<String> = originals.iter().map(|(_, n)| n.clone()).collect();
    let note = Explanation::Corrects {
        documents: numbers.clone(),
    };
    let references: Vec<i64> = originals.iter().map(|(id, _)| *id).collect();
    let document = |kind, lines| {
        new_document(
            kind,
            account_id,
            &ctx.code,
            currency,
            lines,
            today,
            policy,
            references.clone(),
        )
    };
    let mut documents: Vec<(NewDocument, &str)> = Vec::new();
    match policy.correction_mode {
        CorrectionMode::CreditAndReissue => {
            let credit: Vec<DocumentLine> = changed
                .iter()
                .flat_map(|(_, standing, _)| standing.credit_lines(&note))
                .collect();
            let reissue_note = Explanation::Replaces {
                documents: numbers.clone(),
            };
            let reissue: Vec<DocumentLine> = changed
                .iter()
                .flat_map(|(_, _, lines)| lines.iter().cloned())
                .map(|mut line| {
                    line.explanation.insert(0, reissue_note.clone());
                    line
                })
                .collect();
            if !credit.is_empty() {
                documents.push((
                    document(DocumentKind::CreditNote, credit)?,
                    &policy.credit_note_series,
                ));
            }
            if !reissue.is_empty() {
                documents.push((
                    document(DocumentKind::Invoice, reissue)?,
                    &policy.invoice_series,
                ));
            }
        }
        CorrectionMode::Difference => {
            let lines: Vec<DocumentLine> = changed
                .iter()
                .flat_map(|(_, standing, lines)| standing.difference_lines(lines, &note))
                .collect();
            let (net, ..) = nordlys_core::document::document_totals(&lines);
            let (kind, series) = if net < Decimal::ZERO {
                (DocumentKind::CreditNote, &policy.credit_note_series)
            } else {
                (DocumentKind::Invoice, &policy.invoice_series)
            };
            documents.push((document(kind, lines)?, series));
        }
    }
    report.contracts_settled += changed.len() as u64;
    let Some(tx) = tx else {
        // A dry run: what it would issue, for the preview (a run keeps only its counts).
        report.corrections.push(CorrectionPreview {
            period: ctx.code.clone(),
            account_id: account_id.to_owned(),
            currency,
            corrects: numbers,
            billed_net: net_of(changed.iter().flat_map(|(_, s, _)| s.lines())),
            corrected_net: net_of(changed.iter().flat_map(|(_, _, l)| l.iter())),
            changes: changed
                .iter()
                .flat_map(|(_, standing, lines)| standing.changes(lines))
                .collect(),
            documents: documents.iter().map(|(d, _)| (d.kind, d.gross)).collect(),
        });
        documents.iter().for_each(|(d, _)| report.count_document(d));
        return Ok(true);
    };
    let mut last = None;
    for (document, series) in documents {
        let kind = document.kind;
        let issued = tx.issue(document, series, kid_for(kind, policy)).await?;
        last = Some(issued.id);
        report.count_document(&issued.document);
    }
    for (record, _, _) in &changed {
        if !tx.mark_settled_now(record, last).await? {
            // Checked at the top of this transaction, so only a bug gets here: write nothing.
            return Err(StoreError::Unsupported(format!(
                "settlement of contract {} for {} changed inside its own correction",
                record.contract_id, record.period
            ))
            .into());
        }
    }
    Ok(true)
}
