//! `nordlys bill`: settlement and correction runs, their policy flags and the run report.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use nordlys_app::Clock;
use nordlys_app::billing::{
    BillingError, BillingPolicy, PlannedRun, RunReport, WorkerOptions, correct, period_code,
    plan_corrections, plan_settlement, settle, work,
};
use nordlys_core::document::CorrectionMode;
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::time::LocalPeriod;
use nordlys_store::StoreError;

use crate::support::{money, statutory};
use crate::{flag_error, open, progress};

#[derive(Clone, Copy, ValueEnum)]
pub enum KidArg {
    Mod10,
    Mod11,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CorrectionArg {
    CreditAndReissue,
    Difference,
}

#[derive(Args)]
pub struct PolicyArgs {
    /// Number series of invoices.
    #[arg(long, global = true, default_value = "F")]
    invoice_series: String,
    /// Number series of credit notes (give the invoice series to share it).
    #[arg(long, global = true, default_value = "K")]
    credit_series: String,
    /// KID check-digit algorithm.
    #[arg(long, global = true, value_enum, default_value = "mod10")]
    kid: KidArg,
    /// Days from issue to due date.
    #[arg(long, global = true, default_value_t = 14)]
    payment_terms_days: i32,
    /// How corrections are issued.
    #[arg(long, global = true, value_enum, default_value = "credit-and-reissue")]
    correction_mode: CorrectionArg,
    /// Do not settle estimated readings (missing ones are never settled).
    #[arg(long, global = true)]
    reject_estimated: bool,
    /// Accounts written per transaction.
    #[arg(long, global = true, default_value_t = 500)]
    batch_size: usize,
    /// Statutory tables to use instead of the shipped ones (TOML, see docs/products.md).
    #[arg(long, global = true)]
    statutory: Option<PathBuf>,
    /// When another billing run is in progress, wait up to this many seconds for it to finish
    /// (default: fail at once, naming the run in progress).
    #[arg(long, value_name = "SECONDS")]
    wait: Option<u64>,
}

impl PolicyArgs {
    fn policy(&self) -> BillingPolicy {
        BillingPolicy {
            invoice_series: self.invoice_series.clone(),
            credit_note_series: self.credit_series.clone(),
            kid: match self.kid {
                KidArg::Mod10 => KidAlgorithm::Mod10,
                KidArg::Mod11 => KidAlgorithm::Mod11,
            },
            payment_terms_days: self.payment_terms_days,
            correction_mode: match self.correction_mode {
                CorrectionArg::CreditAndReissue => CorrectionMode::CreditAndReissue,
                CorrectionArg::Difference => CorrectionMode::Difference,
            },
            accept_estimated: !self.reject_estimated,
            accounts_per_transaction: self.batch_size,
            wait_for_run: self.wait.map(std::time::Duration::from_secs),
            ..BillingPolicy::default()
        }
    }
}

#[derive(Args)]
pub struct BillArgs {
    #[command(subcommand)]
    corrections: Option<BillSub>,
    /// The month to settle, YYYY-MM.
    #[arg(long, global = true)]
    period: Option<String>,
    /// Rate and report, but issue and store nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Settle only this account.
    #[arg(long, global = true)]
    account: Option<String>,
    /// Settle in batches billed by N worker processes started here (`nordlys worker` processes
    /// elsewhere may join). On PostgreSQL a settlement is always planned as batches (billed by
    /// this process when N is not given); on SQLite the batches are billed in this process, one
    /// writer at a time.
    #[arg(long, global = true, value_name = "N")]
    workers: Option<usize>,
    /// Only record the run and its batches, and print the run's id: `nordlys worker` processes
    /// bill them (`nordlys runs show ID` follows them).
    #[arg(long, global = true)]
    plan_only: bool,
    #[command(flatten)]
    policy: PolicyArgs,
}

#[derive(Subcommand)]
enum BillSub {
    /// Only correct settled periods whose readings or prices changed.
    Corrections,
}

pub async fn bill(db: &str, args: BillArgs, clock: &dyn Clock) -> Result<()> {
    // Every flag is checked before anything runs: a bad one stores nothing.
    let period = match (&args.corrections, &args.period) {
        (Some(BillSub::Corrections), Some(_)) => {
            bail!("--period settles a month; `bill corrections` corrects every settled period")
        }
        (None, None) => bail!("give --period YYYY-MM (or `bill corrections`)"),
        (Some(BillSub::Corrections), None) if args.account.is_some() => {
            bail!("--account limits a settlement; `bill corrections` corrects every account")
        }
        (Some(BillSub::Corrections), None) => None,
        (None, Some(period)) => {
            Some(LocalPeriod::parse_month(period).map_err(|e| flag_error("--period", e))?)
        }
    };
    let policy = args.policy.policy();
    let statutory = Arc::new(statutory(args.policy.statutory.as_ref())?);
    let store = open(db).await?;
    if let Some(account) = &args.account
        && !store.account_exists(account).await?
    {
        bail!("--account {account:?}: no account has this id");
    }
    if args.plan_only && (args.dry_run || args.account.is_some()) {
        bail!("--plan-only plans a whole run: without --dry-run or --account");
    }
    let batched = !args.dry_run
        && args.account.is_none()
        && (args.workers.is_some() || args.plan_only || store.concurrent_writers());
    if batched {
        return bill_batched(db, &store, period, &args, &policy, statutory, clock).await;
    }
    let corrections = correct(
        &store,
        &policy,
        Arc::clone(&statutory),
        clock,
        progress::for_stderr(),
        args.dry_run,
    )
    .await
    .map_err(|e| explain_conflict(e, period))?;
    if nothing_done(&corrections) {
        if period.is_none() {
            print_nothing_to_correct(&store, args.dry_run).await?;
        }
    } else {
        print_report(&corrections);
    }
    if let Some(period) = period {
        let report = settle(
            &store,
            period,
            args.account.as_deref(),
            &policy,
            statutory,
            clock,
            progress::for_stderr(),
            args.dry_run,
        )
        .await
        .map_err(|e| explain_conflict(e, Some(period)))?;
        print_report(&report);
    }
    store.close().await;
    Ok(())
}

async fn print_nothing_to_correct(store: &nordlys_store::Store, dry_run: bool) -> Result<()> {
    let checked = store.settled_contract_periods().await?;
    println!(
        "Corrections{}: nothing to correct: {checked} settled contract-periods checked, none changed",
        if dry_run { " (dry run)" } else { "" }
    );
    Ok(())
}

/// Corrections and then the settlement of `period`, each planned as batches and billed by
/// worker processes (or by this one). With `--plan-only`, only the run is planned: the
/// settlement's if a period is given, else the corrections'.
async fn bill_batched(
    db: &str,
    store: &nordlys_store::Store,
    period: Option<LocalPeriod>,
    args: &BillArgs,
    policy: &BillingPolicy,
    statutory: Arc<nordlys_rating::Statutory>,
    clock: &dyn Clock,
) -> Result<()> {
    if !(args.plan_only && period.is_some()) {
        let started = std::time::Instant::now();
        let planned = plan_corrections(
            store,
            policy,
            &statutory,
            clock,
            policy.accounts_per_transaction,
        )
        .await
        .map_err(|e| explain_conflict(e, period))?;
        if args.plan_only {
            print_planned("corrections", &planned);
            return Ok(());
        }
        if planned.batches == 0 {
            if period.is_none() {
                print_nothing_to_correct(store, false).await?;
            }
        } else {
            let spawned = bill_planned(db, store, &planned, args, policy, &statutory).await?;
            print_batched_report(store, &planned, spawned, started.elapsed()).await?;
        }
    }
    if let Some(period) = period {
        let started = std::time::Instant::now();
        let planned = plan_settlement(
            store,
            period,
            policy,
            &statutory,
            clock,
            policy.accounts_per_transaction,
        )
        .await
        .map_err(|e| explain_conflict(e, Some(period)))?;
        if args.plan_only {
            print_planned(&format!("settlement {}", period_code(period)), &planned);
            return Ok(());
        }
        let spawned = bill_planned(db, store, &planned, args, policy, &statutory).await?;
        print_batched_report(store, &planned, spawned, started.elapsed()).await?;
    }
    Ok(())
}

fn print_planned(what: &str, planned: &PlannedRun) {
    println!(
        "Run {} planned: {what}, {} accounts in {} batches; start `nordlys worker --run {}` processes to bill them",
        planned.run_id, planned.accounts, planned.batches, planned.run_id
    );
}

/// Bill a planned run: by `--workers N` processes started here (PostgreSQL), then whatever
/// they left in this process (a worker that was killed, say); by this process alone without
/// worker processes or on SQLite. Returns the worker processes started.
async fn bill_planned(
    db: &str,
    store: &nordlys_store::Store,
    planned: &PlannedRun,
    args: &BillArgs,
    policy: &BillingPolicy,
    statutory: &Arc<nordlys_rating::Statutory>,
) -> Result<usize> {
    let workers = args.workers.unwrap_or(0);
    let mut spawned = 0;
    if workers > 0 && store.concurrent_writers() && planned.batches > 0 {
        spawned = run_worker_processes(db, planned.run_id, workers, args.policy.statutory.as_ref())
            .await?;
    } else if workers > 1 {
        eprintln!(
            "note: SQLite has one writer at a time: the {} batches are billed in this process",
            planned.batches
        );
    }
    let options = WorkerOptions {
        name: crate::worker_cmd::default_name(),
        lease: std::time::Duration::from_secs(30),
        run: Some(planned.run_id),
        idle_exit: None,
        poll: std::time::Duration::from_millis(250),
        give_up_after: std::time::Duration::from_secs(300),
    };
    let clock: Arc<dyn Clock> = Arc::new(nordlys_app::SystemClock);
    work(store, policy, Arc::clone(statutory), clock, &options).await?;
    Ok(spawned)
}

/// Start `count` `nordlys worker --run RUN` processes on the same database and wait for them;
/// returns how many were started. A worker that fails is reported; the caller bills what is left.
async fn run_worker_processes(
    db: &str,
    run_id: i64,
    count: usize,
    statutory: Option<&PathBuf>,
) -> Result<usize> {
    let exe = std::env::current_exe()?;
    let mut children = Vec::with_capacity(count);
    for _ in 0..count {
        let mut command = tokio::process::Command::new(&exe);
        command
            .arg("--db")
            .arg(db)
            .args(["worker", "--run", &run_id.to_string()])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(path) = statutory {
            command.arg("--statutory").arg(path);
        }
        children.push(command.spawn()?);
    }
    for (i, child) in children.iter_mut().enumerate() {
        let status = child.wait().await?;
        if !status.success() {
            eprintln!(
                "note: worker process {} of run {run_id} ended with {status}; this process bills what it left",
                i + 1
            );
        }
    }
    Ok(count)
}

/// The report of a batched settlement run, from what its batches stored.
async fn print_batched_report(
    store: &nordlys_store::Store,
    planned: &PlannedRun,
    worker_processes: usize,
    elapsed: std::time::Duration,
) -> Result<()> {
    let Some(run) = store.run(planned.run_id).await? else {
        bail!("run {} is not stored", planned.run_id);
    };
    let title = if run.kind == "corrections" {
        "Corrections".to_owned()
    } else {
        format!("Settlement {}", run.period)
    };
    let documents = store.run_documents(planned.run_id).await?;
    let workers = if worker_processes > 0 {
        format!("{worker_processes} worker processes")
    } else {
        "this process".to_owned()
    };
    println!(
        "{title} (run {}, {} batches billed by {workers}) in {:.2} s",
        run.id,
        planned.batches,
        elapsed.as_secs_f64()
    );
    if planned.resumed {
        println!(
            "  resumed run {} as it was planned (its planner had stopped)",
            run.id
        );
    } else if run.kind == "corrections" {
        println!("  accounts with changed settlements {}", planned.accounts);
    } else {
        println!(
            "  accounts {}, contracts settled {}, already settled before {}",
            planned.accounts,
            store.run_contracts_settled(run.id).await?,
            planned.already_settled
        );
    }
    // Per series over its currencies (one series can number invoices in NOK and DKK).
    let mut ranges: Vec<(&str, i64, i64)> = Vec::new();
    for s in &documents.by_series {
        match ranges.iter_mut().find(|(series, _, _)| *series == s.series) {
            Some((_, first, last)) => {
                *first = (*first).min(s.first_number);
                *last = (*last).max(s.last_number);
            }
            None => ranges.push((&s.series, s.first_number, s.last_number)),
        }
    }
    let numbers: Vec<String> = ranges
        .iter()
        .map(|(series, first, last)| format!("{series} {first}–{last}"))
        .collect();
    println!(
        "  invoices {}, credit notes {}{}",
        documents.invoices,
        documents.credit_notes,
        if numbers.is_empty() {
            String::new()
        } else {
            format!(" (numbers {})", numbers.join(", "))
        }
    );
    for s in &documents.by_series {
        println!(
            "  {} {}: net {}  VAT {}  total {}",
            s.series, s.currency, s.net, s.vat, s.gross
        );
    }
    if run.batches_failed > 0 {
        bail!(
            "{} batches of run {} failed; `nordlys runs show {}` names them and why",
            run.batches_failed,
            run.id,
            run.id
        );
    }
    let not_ready = store
        .missing_basis_tasks()
        .await?
        .into_iter()
        .filter(|t| t.period == run.period)
        .count();
    if not_ready > 0 {
        println!(
            "  not ready: {not_ready} contracts (missing-basis tasks recorded; `nordlys runs show {}` lists them)",
            run.id
        );
    }
    Ok(())
}

/// A run that issued, re-rated and found missing nothing.
fn nothing_done(r: &RunReport) -> bool {
    r.contracts_settled == 0
        && r.unchanged_after_correction == 0
        && r.invoices == 0
        && r.credit_notes == 0
        && r.not_ready.is_empty()
}

/// A contract-period that another run settled while this one was writing the same batch is
/// told as such, with what to do; other errors pass unchanged.
fn explain_conflict(error: BillingError, period: Option<LocalPeriod>) -> anyhow::Error {
    match &error {
        BillingError::Store(StoreError::Rejected(rejected))
            if rejected.field == "contract_id" && rejected.rule.contains("already settled") =>
        {
            let rerun = match period {
                Some(period) => format!("nordlys bill --period {}", period_code(period)),
                None => "nordlys bill corrections".to_owned(),
            };
            anyhow::anyhow!(
                "contract {:?}: {}: another run settled it at the same time, and nothing of this batch was stored; run `{rerun}` again to continue (it skips what is settled)",
                rejected.value,
                rejected.rule
            )
        }
        _ => error.into(),
    }
}

pub fn print_report(r: &RunReport) {
    let title = if r.kind == "settlement" {
        format!("Settlement {}", r.period)
    } else {
        "Corrections".to_owned()
    };
    let run = match r.run_id {
        _ if r.dry_run => "dry run, nothing stored".to_owned(),
        Some(id) => format!("run {id}"),
        None => "nothing stored".to_owned(),
    };
    println!("{title} ({run}) in {:.2} s", r.elapsed.as_secs_f64());
    if r.kind == "settlement" {
        println!(
            "  accounts {}, contracts settled {}, already settled before {}",
            r.accounts, r.contracts_settled, r.already_settled
        );
    } else {
        println!(
            "  contract-periods corrected {}, re-rated without change {}",
            r.contracts_settled, r.unchanged_after_correction
        );
    }
    let numbers: Vec<String> = r
        .numbers
        .iter()
        .map(|(s, a, b)| format!("{s} {a}–{b}"))
        .collect();
    println!(
        "  invoices {}, credit notes {}{}",
        r.invoices,
        r.credit_notes,
        if numbers.is_empty() {
            String::new()
        } else {
            format!(" (numbers {})", numbers.join(", "))
        }
    );
    println!(
        "  net {}  VAT {}  total {}",
        money(r.net),
        money(r.vat),
        money(r.gross)
    );
    if !r.not_ready.is_empty() {
        println!(
            "  not ready: {} contracts ({}; their accounts wait):",
            r.not_ready.len(),
            if r.dry_run {
                "dry run: no tasks recorded"
            } else {
                "missing-basis tasks recorded"
            }
        );
        for nr in r.not_ready.iter().take(20) {
            println!(
                "    {} {} {}: {}",
                nr.period,
                nr.contract_id,
                nr.metering_point.as_deref().unwrap_or("-"),
                nr.reason
            );
        }
        if r.not_ready.len() > 20 {
            println!("    … and {} more", r.not_ready.len() - 20);
        }
    }
}

#[cfg(test)]
mod tests {
    use nordlys_core::ParseError;

    use super::*;

    /// The error `record_settlements` returns when another run settled a contract-period of
    /// the batch first.
    fn already_settled(contract: &str) -> BillingError {
        BillingError::Store(StoreError::Rejected(ParseError::new(
            "contract_id",
            contract,
            "a contract-period of this batch (2025-01) is already settled",
        )))
    }

    #[test]
    fn a_settlement_conflict_names_the_contract_and_what_to_do() {
        let period = LocalPeriod::parse_month("2025-01").unwrap();
        let message = explain_conflict(already_settled("C000013-S"), Some(period)).to_string();
        assert!(message.starts_with("contract \"C000013-S\": "), "{message}");
        assert!(
            message.contains(
                "another run settled it at the same time, and nothing of this batch was stored; run `nordlys bill --period 2025-01` again to continue"
            ),
            "{message}"
        );
        let message = explain_conflict(already_settled("C1"), None).to_string();
        assert!(
            message.contains("run `nordlys bill corrections` again"),
            "{message}"
        );
    }

    #[test]
    fn other_billing_errors_pass_unchanged() {
        let error = BillingError::Store(StoreError::Rejected(ParseError::new(
            "contract_id",
            "C1",
            "no contract has this id",
        )));
        let text = error.to_string();
        assert_eq!(explain_conflict(error, None).to_string(), text);
    }
}
