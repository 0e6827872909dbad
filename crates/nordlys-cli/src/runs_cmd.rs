//! `nordlys runs`: settlement and correction runs — list them, and show one with its batches
//! (done, claimed by which worker and until when, pending, failed), throughput per worker and
//! the contracts that are not ready.

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};
use nordlys_app::wire::runs::{WireRun, WireRunReport, per_worker};
use nordlys_store::RunSummary;

use crate::open;

#[derive(Clone, Copy, Default, ValueEnum)]
pub enum RunsFormat {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// The newest runs first.
    List {
        /// At most this many runs.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// `json`: one JSON object per line.
        #[arg(long, value_enum, default_value = "text")]
        format: RunsFormat,
    },
    /// One run: its batches, its workers' throughput and what is not ready.
    Show {
        /// The run's id (`nordlys runs list`).
        id: i64,
        /// `json`: the run as one JSON object.
        #[arg(long, value_enum, default_value = "text")]
        format: RunsFormat,
    },
}

fn status(run: &RunSummary) -> &'static str {
    WireRun::from(run).status
}

fn run_json(run: &RunSummary) -> serde_json::Value {
    serde_json::to_value(WireRun::from(run)).unwrap_or_default()
}

pub async fn runs(db: &str, command: RunsCommand) -> Result<()> {
    let store = open(db).await?;
    match command {
        RunsCommand::List { limit, format } => {
            if limit < 1 {
                bail!("--limit must be at least 1");
            }
            let runs = store.runs(limit).await?;
            match format {
                RunsFormat::Json => {
                    for run in &runs {
                        println!("{}", run_json(run));
                    }
                }
                RunsFormat::Text => {
                    println!(
                        "{:>5}  {:<11}  {:<7}  {:<8}  {:<25}  {:>8}  {:>7}  batches done/claimed/pending/failed",
                        "run", "kind", "period", "mode", "status", "invoices", "credits"
                    );
                    for r in &runs {
                        println!(
                            "{:>5}  {:<11}  {:<7}  {:<8}  {:<25}  {:>8}  {:>7}  {}/{}/{}/{}",
                            r.id,
                            r.kind,
                            r.period,
                            r.mode,
                            status(r),
                            r.invoices,
                            r.credit_notes,
                            r.batches_done,
                            r.batches_claimed,
                            r.batches_pending,
                            r.batches_failed
                        );
                    }
                }
            }
        }
        RunsCommand::Show { id, format } => {
            let Some(run) = store.run(id).await? else {
                bail!("no run has id {id} (nordlys runs list shows them)");
            };
            let batches = store.run_batches(id).await?;
            let documents = store.run_documents(id).await?;
            let not_ready: Vec<_> = store
                .missing_basis_tasks()
                .await?
                .into_iter()
                .filter(|t| t.period == run.period)
                .collect();
            let workers = per_worker(&batches);
            match format {
                RunsFormat::Json => {
                    let tasks = store.missing_basis_tasks().await?;
                    let value = WireRunReport::new(&run, &documents, &batches, &tasks);
                    println!("{}", serde_json::to_string(&value)?);
                }
                RunsFormat::Text => {
                    println!(
                        "Run {} — {} {} ({}), {}",
                        run.id,
                        run.kind,
                        run.period,
                        run.mode,
                        status(&run)
                    );
                    println!(
                        "  started {}{}",
                        run.started_at,
                        run.finished_at
                            .map(|t| format!(", finished {t}"))
                            .unwrap_or_default()
                    );
                    println!(
                        "  batches: {} done, {} claimed, {} pending, {} failed",
                        run.batches_done,
                        run.batches_claimed,
                        run.batches_pending,
                        run.batches_failed
                    );
                    for s in &documents.by_series {
                        println!(
                            "  {} {}: {} documents, numbers {}–{}, net {} VAT {} total {}",
                            s.series,
                            s.currency,
                            s.documents,
                            s.first_number,
                            s.last_number,
                            s.net,
                            s.vat,
                            s.gross
                        );
                    }
                    for b in batches.iter().filter(|b| b.status != "done") {
                        match b.status.as_str() {
                            "claimed" => println!(
                                "  batch {} claimed by {} until {} ({} accounts, claim {})",
                                b.batch_no,
                                b.worker.as_deref().unwrap_or("-"),
                                b.lease_until.map(|t| t.to_string()).unwrap_or_default(),
                                b.accounts,
                                b.claims
                            ),
                            "failed" => println!(
                                "  batch {} FAILED ({} accounts): {}",
                                b.batch_no,
                                b.accounts,
                                b.error.as_deref().unwrap_or("")
                            ),
                            _ => {
                                println!("  batch {} pending ({} accounts)", b.batch_no, b.accounts)
                            }
                        }
                    }
                    if !workers.is_empty() {
                        println!("  workers:");
                        for w in &workers {
                            println!(
                                "    {}: {} batches, {} accounts, {} invoices, busy {:.1} s ({} accounts/s)",
                                w.worker,
                                w.batches,
                                w.accounts,
                                w.invoices,
                                w.busy_ms as f64 / 1000.0,
                                w.accounts_per_second
                            );
                        }
                    }
                    if !not_ready.is_empty() {
                        println!(
                            "  not ready ({} contracts of {}):",
                            not_ready.len(),
                            run.period
                        );
                        for t in not_ready.iter().take(50) {
                            println!(
                                "    {} {}: {}",
                                t.contract_id,
                                t.metering_point.as_deref().unwrap_or("-"),
                                t.reason
                            );
                        }
                        if not_ready.len() > 50 {
                            println!("    … and {} more", not_ready.len() - 50);
                        }
                    }
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
