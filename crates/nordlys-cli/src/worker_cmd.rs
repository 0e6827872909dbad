//! `nordlys worker`: claim batches of planned settlement runs and bill them, here and in any
//! number of other processes on any machine that reaches the database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use nordlys_app::billing::{BillingPolicy, RunOwner, WorkerOptions, WorkerReport, work};
use nordlys_app::{Clock, SystemClock};

use crate::open;
use crate::support::statutory;

#[derive(Args)]
pub struct WorkerArgs {
    /// Work only on this run, and stop when it is finished (default: any run, until idle).
    #[arg(long)]
    run: Option<i64>,
    /// Seconds a claimed batch stays this worker's without renewal (renewed every third).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    lease: u64,
    /// Stop after this many seconds without a batch to claim (default: keep serving; with
    /// --run, stop when the run is finished).
    #[arg(long, value_name = "SECONDS")]
    idle_exit: Option<u64>,
    /// Give up after the database has been unreachable this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    give_up_after: u64,
    /// The name batches are claimed under (default: host:pid).
    #[arg(long)]
    name: Option<String>,
    /// Statutory tables (must be the ones the run was planned with; default: shipped ones).
    #[arg(long)]
    statutory: Option<PathBuf>,
}

/// This process's worker name.
pub fn default_name() -> String {
    let owner = RunOwner::this_process();
    format!("{}:{}", owner.host, owner.pid)
}

pub async fn worker(db: &str, args: WorkerArgs) -> Result<()> {
    if args.lease == 0 {
        bail!("--lease must be at least 1 second");
    }
    let statutory = Arc::new(statutory(args.statutory.as_ref())?);
    let store = open(db).await?;
    if let Some(run) = args.run
        && store.run(run).await?.is_none()
    {
        bail!("--run {run}: no run has this id (`nordlys runs list` shows them)");
    }
    let options = WorkerOptions {
        name: args.name.unwrap_or_else(default_name),
        lease: Duration::from_secs(args.lease),
        run: args.run,
        idle_exit: args.idle_exit.map(Duration::from_secs),
        poll: Duration::from_millis(250),
        give_up_after: Duration::from_secs(args.give_up_after),
    };
    let started = std::time::Instant::now();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let report = work(
        &store,
        &BillingPolicy::default(),
        statutory,
        clock,
        &options,
    )
    .await?;
    print_worker_report(&options.name, &report, started.elapsed());
    store.close().await;
    Ok(())
}

pub fn print_worker_report(name: &str, r: &WorkerReport, elapsed: Duration) {
    println!(
        "Worker {name}: {} batches, {} accounts, {} invoices in {:.2} s ({:.0} accounts/s); lost claims {}, failed batches {}, database retries {}",
        r.batches,
        r.accounts,
        r.invoices,
        elapsed.as_secs_f64(),
        r.accounts as f64 / elapsed.as_secs_f64().max(1e-9),
        r.lost_claims,
        r.failed_batches,
        r.retries
    );
}
