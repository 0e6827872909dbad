//! `nordlys import payments`, `nordlys payments list` and `nordlys ledger show`: payment files
//! in, the worklist of payments that matched no invoice, and an account's ledger as of a date.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use nordlys_app::Clock;
use nordlys_app::receivables::import::import_payment_file;
use nordlys_app::receivables::ledger::{AccountLedger, ledgers};
use nordlys_core::time::parse_date;
use rust_decimal::Decimal;
use serde_json::json;

use crate::rate_cmd::OutputFormat;
use crate::{flag_error, open};

#[derive(Subcommand)]
pub enum PaymentsCommand {
    /// Imported payments, oldest first.
    List {
        /// Only those with money not allocated to any account (the worklist).
        #[arg(long)]
        unmatched: bool,
        /// `table` or `json`.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
}

#[derive(Subcommand)]
pub enum ReceivablesCommand {
    /// DSO (countback), paid by the due date, paid in the reminder phase, sent to collection,
    /// credit loss, ageing, digital-invoice share and the top 10 outstanding — for all accounts,
    /// households and businesses — and the month-ends of the twelve months before.
    Kpis {
        /// The day the figures stand at (YYYY-MM-DD); default today.
        #[arg(long = "as-of")]
        as_of: Option<String>,
        /// `table` or `json`.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
}

#[derive(Subcommand)]
pub enum DunningCommand {
    /// Evaluate every open invoice and send what is due: reminders, collection notices and
    /// handovers, each with its fee and deadline.
    Run {
        /// The day the run stands at (YYYY-MM-DD); default today.
        #[arg(long = "as-of")]
        as_of: Option<String>,
        /// Only report what would be sent; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Dunning tables (policies, fees, interest) instead of the shipped ones.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Write the claims handed over to the collection agency to this CSV file.
        #[arg(long)]
        handover_out: Option<PathBuf>,
        /// `table` or `json`.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// An account's entries, balance and open items as of a date.
    Show {
        /// The account id.
        account: String,
        /// The date the ledger stands at (YYYY-MM-DD); default today.
        #[arg(long = "as-of")]
        as_of: Option<String>,
        /// `table` or `json`.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
}

/// The civil day of `now` where the utilities are (Norway and Denmark keep the same time).
fn day_of(now: jiff::Timestamp) -> jiff::civil::Date {
    let zone = nordlys_core::model::Market::No.time_zone();
    zone.to_offset(now).to_datetime(now).date()
}

/// Today, for the invoices' status.
pub fn today() -> jiff::civil::Date {
    day_of(jiff::Timestamp::now())
}

/// An amount in minor units as the CLI's JSON writes money: a decimal string.
fn money(minor: i64) -> String {
    Decimal::new(minor, 2).to_string()
}

/// Import each payment file in its own transaction; stop at the first refused.
pub async fn import_payments(db: &str, files: &[PathBuf], clock: &dyn Clock) -> Result<()> {
    let store = open(db).await?;
    for path in files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path.display().to_string();
        match import_payment_file(&store, &name, &bytes, clock).await {
            Ok(report) if report.already_imported => {
                println!("{name}: imported before; nothing changed");
            }
            Ok(report) => {
                println!(
                    "{name}: {} payments ({}), {} in total: {} matched by KID, {} by reference, {} unmatched (nordlys payments list --unmatched); {} kept as credit",
                    report.payments,
                    report.format,
                    money(report.total_minor),
                    report.matched_by_kid,
                    report.matched_by_reference,
                    report.unmatched,
                    money(report.credit_minor),
                );
                for skipped in &report.skipped {
                    println!("  skipped {skipped}");
                }
            }
            Err(error) => {
                store.close().await;
                bail!("{error}; nothing of the file was stored");
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn payments(db: &str, command: PaymentsCommand) -> Result<()> {
    let PaymentsCommand::List { unmatched, format } = command;
    let store = open(db).await?;
    let payments = store.payments(unmatched).await?;
    store.close().await;
    let rows: Vec<serde_json::Value> = payments
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "bank_reference": p.payment.bank_reference,
                "booking_date": p.payment.booking_date.to_string(),
                "amount": money(p.payment.amount_minor),
                "currency": p.payment.currency.code(),
                "unallocated": money(p.payment.amount_minor - p.allocated_minor),
                "reference_kind": p.payment.reference_kind,
                "reference": p.payment.reference,
                "payer_name": p.payment.payer_name,
                "free_text": p.payment.free_text,
                "line": p.payment.line,
            })
        })
        .collect();
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Table => {
            println!(
                "{:>6}  {:<24} {:<10} {:>12} {:>12}  reference",
                "id", "bank reference", "booked", "amount", "unallocated"
            );
            for p in &payments {
                println!(
                    "{:>6}  {:<24} {:<10} {:>12} {:>12}  {} {}",
                    p.id,
                    p.payment.bank_reference,
                    p.payment.booking_date,
                    money(p.payment.amount_minor),
                    money(p.payment.amount_minor - p.allocated_minor),
                    p.payment.reference_kind,
                    p.payment.reference.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

pub async fn receivables(db: &str, command: ReceivablesCommand, clock: &dyn Clock) -> Result<()> {
    use nordlys_app::receivables::kpis::{Kpis, kpis_with, settled_on};
    let ReceivablesCommand::Kpis { as_of, format } = command;
    let as_of = match as_of {
        Some(text) => parse_date("as-of", &text).map_err(|e| flag_error("--as-of", e))?,
        None => day_of(clock.now()),
    };
    let store = open(db).await?;
    let basis = store.receivables_basis().await?;
    store.close().await;
    // When each invoice was settled is computed once and serves every month-end.
    let settled = settled_on(&basis, as_of);
    let now = kpis_with(&basis, as_of, &settled);
    // The month-ends before the day: the trend.
    let mut month_ends = Vec::new();
    let mut end = as_of.first_of_month().yesterday().ok();
    while let Some(day) = end
        && month_ends.len() < 12
    {
        month_ends.push(kpis_with(&basis, day, &settled).remove(0));
        end = day.first_of_month().yesterday().ok();
    }
    month_ends.reverse();
    let group_json = |k: &Kpis| {
        json!({
            "group": k.group,
            "as_of": k.as_of.to_string(),
            "receivables": money(k.receivables_minor),
            "dso_countback_days": k.dso_countback_days.to_string(),
            "invoices_due": k.invoices_due,
            "paid_by_due_date_percent": k.paid_by_due_date_percent.to_string(),
            "paid_in_reminder_phase_percent": k.paid_in_reminder_phase_percent.to_string(),
            "sent_to_collection_percent": k.sent_to_collection_percent.to_string(),
            "credit_loss_percent": k.credit_loss_percent.to_string(),
            "ageing": {
                "not_due": money(k.ageing.not_due_minor),
                "days_0_30": money(k.ageing.days_0_30_minor),
                "days_31_60": money(k.ageing.days_31_60_minor),
                "days_61_90": money(k.ageing.days_61_90_minor),
                "over_90": money(k.ageing.over_90_minor),
            },
            "digital_invoice_share_percent": k.digital_invoice_share_percent.to_string(),
            "top_outstanding": k.top_outstanding.iter().map(|(a, m)| json!({"account": a, "amount": money(*m)})).collect::<Vec<_>>(),
            "sales_by_month": k.sales_by_month.iter().map(|(m, v)| json!({"month": m, "sales": money(*v)})).collect::<Vec<_>>(),
        })
    };
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "as_of": as_of.to_string(),
                "definitions": "DSO countback; paid by the due date, in the reminder phase and sent to collection count invoices due by the day; amounts in the currencies as invoiced, summed",
                "groups": now.iter().map(group_json).collect::<Vec<_>>(),
                "month_ends": month_ends.iter().map(group_json).collect::<Vec<_>>(),
            }))?
        ),
        OutputFormat::Table => {
            println!("Receivables as of {as_of}");
            println!(
                "{:<10} {:>14} {:>8} {:>8} {:>10} {:>10} {:>10} {:>9}",
                "group",
                "receivables",
                "DSO",
                "due",
                "by due %",
                "reminder %",
                "collect %",
                "digital %"
            );
            for k in &now {
                println!(
                    "{:<10} {:>14} {:>8} {:>8} {:>10} {:>10} {:>10} {:>9}",
                    k.group,
                    money(k.receivables_minor),
                    k.dso_countback_days,
                    k.invoices_due,
                    k.paid_by_due_date_percent,
                    k.paid_in_reminder_phase_percent,
                    k.sent_to_collection_percent,
                    k.digital_invoice_share_percent
                );
            }
            let a = &now[0].ageing;
            println!(
                "ageing: not due {}, 0-30 {}, 31-60 {}, 61-90 {}, over 90 {}",
                money(a.not_due_minor),
                money(a.days_0_30_minor),
                money(a.days_31_60_minor),
                money(a.days_61_90_minor),
                money(a.over_90_minor)
            );
            println!("top outstanding:");
            for (account, amount) in &now[0].top_outstanding {
                println!("  {account:<12} {:>14}", money(*amount));
            }
            println!("month-ends: receivables, DSO, paid by the due date");
            for k in &month_ends {
                println!(
                    "  {} {:>14} {:>8} {:>6}%",
                    k.as_of,
                    money(k.receivables_minor),
                    k.dso_countback_days,
                    k.paid_by_due_date_percent
                );
            }
        }
    }
    Ok(())
}

pub async fn dunning(db: &str, command: DunningCommand, clock: &dyn Clock) -> Result<()> {
    use nordlys_app::receivables::dunning::run_dunning;
    use nordlys_dunning::{DunningTables, StepKind};
    let DunningCommand::Run {
        as_of,
        dry_run,
        policy,
        handover_out,
        format,
    } = command;
    let as_of = match as_of {
        Some(text) => parse_date("as-of", &text).map_err(|e| flag_error("--as-of", e))?,
        None => day_of(clock.now()),
    };
    let tables = match &policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            DunningTables::from_toml(&text).with_context(|| format!("{}", path.display()))?
        }
        None => DunningTables::default(),
    };
    let store = open(db).await?;
    let report = run_dunning(&store, &tables, as_of, dry_run, clock).await?;
    if let Some(path) = &handover_out {
        let handed: Vec<&str> = report
            .sent
            .iter()
            .filter(|s| s.step == StepKind::Handover)
            .map(|s| s.number.as_str())
            .collect();
        let rows = handover_rows(&store, &handed, as_of, &tables).await?;
        std::fs::write(path, rows).with_context(|| format!("writing {}", path.display()))?;
    }
    store.close().await;
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "as_of": as_of.to_string(),
                "dry_run": report.dry_run,
                "evaluated": report.evaluated,
                "reminders": report.count(StepKind::Reminder),
                "collection_notices": report.count(StepKind::CollectionNotice),
                "handovers": report.count(StepKind::Handover),
                "fees": money(report.fees_minor()),
                "sent": report.sent.iter().map(|s| json!({
                    "number": s.number, "account": s.account_id, "step": s.step.code(),
                    "fee": money(s.fee_minor), "deadline": s.deadline.map(|d| d.to_string()),
                    "rule": s.rule,
                })).collect::<Vec<_>>(),
                "held": report.held.iter().map(|(number, reason, until)| json!({
                    "number": number, "reason": reason, "until": until.to_string(),
                })).collect::<Vec<_>>(),
                "skipped": report.skipped,
            }))?
        ),
        OutputFormat::Table => {
            println!(
                "Dunning{} as of {as_of}: {} open invoices; {} reminders, {} collection notices, {} handovers; fees {}; {} held",
                if report.dry_run {
                    " (dry run, nothing stored)"
                } else {
                    ""
                },
                report.evaluated,
                report.count(StepKind::Reminder),
                report.count(StepKind::CollectionNotice),
                report.count(StepKind::Handover),
                money(report.fees_minor()),
                report.held.len()
            );
            for (number, reason, until) in &report.held {
                println!("  held {number}: {reason} until {until}");
            }
        }
    }
    Ok(())
}

/// The claims handed over, as the collection agency needs them: the invoice, the debtor, the
/// principal apart from fees and interest, what was paid, and each step with its date.
async fn handover_rows(
    store: &nordlys_store::Store,
    numbers: &[&str],
    as_of: jiff::civil::Date,
    tables: &nordlys_dunning::DunningTables,
) -> Result<String> {
    let basis = store.receivables_basis().await?;
    let items: std::collections::HashMap<String, nordlys_app::receivables::ledger::OpenItem> =
        ledgers(&basis, as_of)
            .into_values()
            .flat_map(|l| l.items)
            .map(|i| (i.number.clone(), i))
            .collect();
    let mut out = csv_writer();
    out.write_record([
        "invoice",
        "account",
        "payer_kind",
        "issue_date",
        "due_date",
        "currency",
        "principal",
        "fees",
        "interest",
        "paid",
        "credited",
        "open",
        "steps",
    ])?;
    for number in numbers {
        let Some(item) = items.get(*number) else {
            continue;
        };
        let market = match item.currency {
            nordlys_core::quantity::Currency::Dkk => nordlys_core::model::Market::Dk,
            _ => nordlys_core::model::Market::No,
        };
        let interest = item
            .due_date
            .map(|due| {
                nordlys_dunning::interest_minor(
                    item.amount_minor - item.paid_minor - item.credited_minor,
                    due,
                    as_of,
                    market,
                    tables,
                )
            })
            .transpose()
            .unwrap_or(None)
            .unwrap_or(0);
        let steps: Vec<String> = basis
            .dunning
            .iter()
            .filter(|s| s.document_id == item.document_id)
            .map(|s| format!("{} {} fee {}", s.step, s.sent_on, money(s.fee_minor)))
            .collect();
        out.write_record([
            item.number.clone(),
            item.account_id.clone(),
            basis
                .payer_kinds
                .get(&item.account_id)
                .cloned()
                .unwrap_or_default(),
            item.issue_date.to_string(),
            item.due_date.map(|d| d.to_string()).unwrap_or_default(),
            item.currency.code().to_owned(),
            money(item.amount_minor),
            money(item.fees_minor),
            money(interest),
            money(item.paid_minor),
            money(item.credited_minor),
            money(item.open_minor),
            steps.join("; "),
        ])?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}

pub async fn ledger(db: &str, command: LedgerCommand, clock: &dyn Clock) -> Result<()> {
    let LedgerCommand::Show {
        account,
        as_of,
        format,
    } = command;
    let as_of = match as_of {
        Some(text) => parse_date("as-of", &text).map_err(|e| flag_error("--as-of", e))?,
        None => day_of(clock.now()),
    };
    let store = open(db).await?;
    if !store.account_exists(&account).await? {
        store.close().await;
        bail!("{account:?}: no account has this id");
    }
    let basis = store
        .receivables_basis_of(std::slice::from_ref(&account))
        .await?;
    store.close().await;
    let ledger = ledgers(&basis, as_of)
        .remove(&account)
        .unwrap_or(AccountLedger {
            account_id: account.clone(),
            as_of,
            entries: Vec::new(),
            balance_minor: 0,
            credit_minor: 0,
            items: Vec::new(),
        });
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&ledger_json(&ledger))?),
        OutputFormat::Table => print_ledger(&ledger),
    }
    Ok(())
}

/// The ledger as JSON (amounts as decimal strings).
pub fn ledger_json(ledger: &AccountLedger) -> serde_json::Value {
    json!({
        "account_id": ledger.account_id,
        "as_of": ledger.as_of.to_string(),
        "balance": money(ledger.balance_minor),
        "credit": money(ledger.credit_minor),
        "entries": ledger.entries.iter().map(|e| json!({
            "date": e.date.to_string(), "kind": e.kind, "reference": e.reference,
            "amount": money(e.amount_minor), "balance": money(e.balance_minor), "detail": e.detail,
        })).collect::<Vec<_>>(),
        "open_items": ledger.items.iter().map(|i| json!({
            "number": i.number, "kid": i.kid, "issue_date": i.issue_date.to_string(),
            "due_date": i.due_date.map(|d| d.to_string()), "currency": i.currency.code(),
            "amount": money(i.amount_minor), "fees": money(i.fees_minor), "paid": money(i.paid_minor),
            "credited": money(i.credited_minor), "open_amount": money(i.open_minor),
            "status": i.status.code(),
        })).collect::<Vec<_>>(),
    })
}

fn print_ledger(ledger: &AccountLedger) {
    println!("Account {} as of {}", ledger.account_id, ledger.as_of);
    println!(
        "{:<10}  {:<12} {:<24} {:>12} {:>12}  detail",
        "date", "kind", "reference", "amount", "balance"
    );
    for e in &ledger.entries {
        println!(
            "{:<10}  {:<12} {:<24} {:>12} {:>12}  {}",
            e.date,
            e.kind,
            e.reference,
            money(e.amount_minor),
            money(e.balance_minor),
            e.detail
        );
    }
    println!(
        "balance {}{}",
        money(ledger.balance_minor),
        if ledger.credit_minor > 0 {
            format!(" (credit {} not used yet)", money(ledger.credit_minor))
        } else {
            String::new()
        }
    );
    println!();
    println!(
        "{:<10} {:<12} {:>12} {:>12}  status",
        "invoice", "due", "amount", "open"
    );
    for i in &ledger.items {
        println!(
            "{:<10} {:<12} {:>12} {:>12}  {}",
            i.number,
            i.due_date.map(|d| d.to_string()).unwrap_or_default(),
            money(i.amount_minor),
            money(i.open_minor),
            i.status.code()
        );
    }
}
