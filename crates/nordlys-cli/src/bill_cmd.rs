//! `nordlys bill`: settlement and correction runs, their policy flags and the run report.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use nordlys_app::Clock;
use nordlys_app::billing::{BillingPolicy, RunReport, correct, settle};
use nordlys_core::document::CorrectionMode;
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::time::LocalPeriod;

use crate::output::out;
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
    #[arg(long, default_value = "F")]
    invoice_series: String,
    /// Number series of credit notes (give the invoice series to share it).
    #[arg(long, default_value = "K")]
    credit_series: String,
    /// KID check-digit algorithm.
    #[arg(long, value_enum, default_value = "mod10")]
    kid: KidArg,
    /// Days from issue to due date.
    #[arg(long, default_value_t = 14)]
    payment_terms_days: i32,
    /// How corrections are issued.
    #[arg(long, value_enum, default_value = "credit-and-reissue")]
    correction_mode: CorrectionArg,
    /// Do not settle estimated readings (missing ones are never settled).
    #[arg(long)]
    reject_estimated: bool,
    /// Accounts written per transaction.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Statutory tables to use instead of the shipped ones (TOML, see docs/products.md).
    #[arg(long)]
    statutory: Option<PathBuf>,
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
        }
    }
}

#[derive(Args)]
pub struct BillArgs {
    #[command(subcommand)]
    corrections: Option<BillSub>,
    /// The month to settle, YYYY-MM.
    #[arg(long)]
    period: Option<String>,
    /// Rate and report, but issue and store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Settle only this account.
    #[arg(long)]
    account: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
}

#[derive(Subcommand)]
enum BillSub {
    /// Only correct settled periods whose readings or prices changed.
    Corrections,
}

pub async fn bill(db: &str, args: BillArgs, clock: &dyn Clock) -> Result<()> {
    let store = open(db).await?;
    let policy = args.policy.policy();
    let statutory = Arc::new(statutory(args.policy.statutory.as_ref())?);
    let corrections = correct(
        &store,
        &policy,
        Arc::clone(&statutory),
        clock,
        progress::for_stderr(),
        args.dry_run,
    )
    .await?;
    if corrections.contracts_settled > 0
        || !corrections.not_ready.is_empty()
        || args.corrections.is_some()
    {
        print_report(&corrections);
    }
    if args.corrections.is_none() {
        let Some(period) = args.period else {
            bail!("give --period YYYY-MM (or `bill corrections`)")
        };
        let period = LocalPeriod::parse_month(&period).map_err(|e| flag_error("--period", e))?;
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
        .await?;
        print_report(&report);
    }
    store.close().await;
    Ok(())
}

pub fn print_report(r: &RunReport) {
    let title = if r.kind == "settlement" {
        format!("Settlement {}", r.period)
    } else {
        "Corrections".to_owned()
    };
    let run = r.run_id.map_or("dry run, nothing stored".to_owned(), |id| {
        format!("run {id}")
    });
    out!("{title} ({run}) in {:.2} s", r.elapsed.as_secs_f64());
    if r.kind == "settlement" {
        out!(
            "  accounts {}, contracts settled {}, already settled before {}",
            r.accounts,
            r.contracts_settled,
            r.already_settled
        );
    } else {
        out!(
            "  contract-periods corrected {}, re-rated without change {}",
            r.contracts_settled,
            r.unchanged_after_correction
        );
    }
    let numbers: Vec<String> = r
        .numbers
        .iter()
        .map(|(s, a, b)| format!("{s} {a}–{b}"))
        .collect();
    out!(
        "  invoices {}, credit notes {}{}",
        r.invoices,
        r.credit_notes,
        if numbers.is_empty() {
            String::new()
        } else {
            format!(" (numbers {})", numbers.join(", "))
        }
    );
    out!(
        "  net {}  VAT {}  total {}",
        money(r.net),
        money(r.vat),
        money(r.gross)
    );
    if !r.not_ready.is_empty() {
        out!(
            "  not ready: {} contracts ({}; their accounts wait):",
            r.not_ready.len(),
            if r.dry_run {
                "dry run: no tasks recorded"
            } else {
                "missing-basis tasks recorded"
            }
        );
        for nr in r.not_ready.iter().take(20) {
            out!(
                "    {} {} {}: {}",
                nr.period,
                nr.contract_id,
                nr.metering_point.as_deref().unwrap_or("-"),
                nr.reason
            );
        }
        if r.not_ready.len() > 20 {
            out!("    … and {} more", r.not_ready.len() - 20);
        }
    }
}
