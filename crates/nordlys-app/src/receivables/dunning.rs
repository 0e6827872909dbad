//! `nordlys dunning run`: every open invoice evaluated by the pure dunning function against
//! the ledger as it stands on the day, under the receivables lock, and the steps that are due
//! recorded in one journaled transaction (or only reported, in a dry run). A step of an
//! invoice is taken once, however many runs there are at once; running again the same day
//! issues nothing new.

use std::collections::HashMap;

use jiff::civil::Date;
use nordlys_core::model::Market;
use nordlys_core::quantity::Currency;
use nordlys_dunning::{
    Claim, CustomerKind, Decision, DoneStep, DunningTables, Hold, PolicyError, StepKind, evaluate,
};
use nordlys_store::{NewDunningStep, ReceivablesBasis, Store, StoreError};

use super::ledger::{OpenItem, ledgers};
use crate::clock::Clock;

#[derive(Debug, thiserror::Error)]
pub enum DunningError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One step sent (or, in a dry run, to send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentStep {
    pub number: String,
    pub account_id: String,
    pub step: StepKind,
    pub fee_minor: i64,
    pub deadline: Option<Date>,
    pub rule: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DunningReport {
    pub as_of: Option<Date>,
    pub dry_run: bool,
    /// Open invoices evaluated.
    pub evaluated: usize,
    pub sent: Vec<SentStep>,
    /// Invoices held: (number, reason, last day of the hold).
    pub held: Vec<(String, String, Date)>,
    /// Invoices in a currency no policy knows (not dunned).
    pub skipped: Vec<String>,
}

impl DunningReport {
    pub fn count(&self, kind: StepKind) -> usize {
        self.sent.iter().filter(|s| s.step == kind).count()
    }
    pub fn fees_minor(&self) -> i64 {
        self.sent.iter().map(|s| s.fee_minor).sum()
    }
}

fn market_of(currency: Currency) -> Option<Market> {
    match currency {
        Currency::Nok => Some(Market::No),
        Currency::Dkk => Some(Market::Dk),
        _ => None,
    }
}

fn step_kind(code: &str) -> Option<StepKind> {
    StepKind::parse(code)
}

/// Decide every open invoice of `basis` on `as_of`: the steps to record.
pub fn decide(
    basis: &ReceivablesBasis,
    tables: &DunningTables,
    as_of: Date,
) -> Result<(DunningReport, Vec<NewDunningStep>), DunningError> {
    let mut history: HashMap<i64, Vec<DoneStep>> = HashMap::new();
    for step in basis.dunning.iter().filter(|s| s.sent_on <= as_of) {
        if let Some(kind) = step_kind(&step.step) {
            history.entry(step.document_id).or_default().push(DoneStep {
                kind,
                sent_on: step.sent_on,
                deadline: step.deadline,
                fee_minor: step.fee_minor,
            });
        }
    }
    let mut report = DunningReport {
        as_of: Some(as_of),
        ..Default::default()
    };
    let mut steps = Vec::new();
    let items: Vec<OpenItem> = ledgers(basis, as_of)
        .into_values()
        .flat_map(|l| l.items)
        .filter(|i| i.open_minor > 0)
        .collect();
    for item in items {
        let Some(market) = market_of(item.currency) else {
            report.skipped.push(item.number.clone());
            continue;
        };
        let Some(due_date) = item.due_date else {
            continue;
        };
        report.evaluated += 1;
        let customer_kind = match basis.payer_kinds.get(&item.account_id).map(String::as_str) {
            Some("person") => CustomerKind::Household,
            _ => CustomerKind::Business,
        };
        let claim = Claim {
            document_id: item.document_id,
            market,
            customer_kind,
            due_date,
            open_minor: item.open_minor,
            history: history.remove(&item.document_id).unwrap_or_default(),
            // A postponed invoice is held until its new due date.
            hold: item.postponed.then(|| Hold {
                reason: "postponed".to_owned(),
                until: due_date,
            }),
        };
        match evaluate(&claim, tables, as_of)? {
            Decision::Held(hold) => {
                report
                    .held
                    .push((item.number.clone(), hold.reason, hold.until))
            }
            Decision::Send(step) => {
                report.sent.push(SentStep {
                    number: item.number.clone(),
                    account_id: item.account_id.clone(),
                    step: step.kind,
                    fee_minor: step.fee_minor,
                    deadline: step.deadline,
                    rule: step.rule.clone(),
                });
                steps.push(NewDunningStep {
                    document_id: item.document_id,
                    account_id: item.account_id.clone(),
                    step: step.kind.code().to_owned(),
                    step_index: step.index as i64,
                    sent_on: as_of,
                    deadline: step.deadline,
                    fee_minor: step.fee_minor,
                    rule: step.rule,
                });
            }
            Decision::Settled | Decision::NotYet { .. } | Decision::Done => {}
        }
    }
    Ok((report, steps))
}

/// Run dunning on `as_of`: record what is due (nothing in a dry run).
pub async fn run_dunning(
    store: &Store,
    tables: &DunningTables,
    as_of: Date,
    dry_run: bool,
    clock: &dyn Clock,
) -> Result<DunningReport, DunningError> {
    if dry_run {
        let basis = store.receivables_basis().await?;
        let (mut report, _) = decide(&basis, tables, as_of)?;
        report.dry_run = true;
        return Ok(report);
    }
    let mut tx = store
        .begin_import(
            "dunning",
            &format!("dunning run as of {as_of}"),
            clock.now(),
        )
        .await?;
    tx.lock_receivables().await?;
    let basis = tx.receivables_basis().await?;
    let (mut report, steps) = decide(&basis, tables, as_of)?;
    let recorded = tx.insert_dunning_steps(&steps).await?;
    // A run at the same time may have taken some: report only what this one recorded.
    if recorded.len() != steps.len() {
        let taken: std::collections::HashSet<(i64, i64)> = recorded
            .iter()
            .map(|s| (s.document_id, s.step_index))
            .collect();
        let kept: Vec<bool> = steps
            .iter()
            .map(|s| taken.contains(&(s.document_id, s.step_index)))
            .collect();
        let mut keep = kept.into_iter();
        report.sent.retain(|_| keep.next().unwrap_or(false));
    }
    tx.commit(nordlys_store::ImportCounts {
        rows: report.evaluated as u64,
        inserted: recorded.len() as u64,
        updated: 0,
        unchanged: 0,
    })
    .await?;
    Ok(report)
}
