//! `nordlys invoices list|show|export|send|deliveries`: issued invoices and credit notes, as a
//! table for a clerk, as JSON in the wire schema of `nordlys_app::wire` (the one the HTTP API
//! serves), or as the documents sent (EHF XML, PDF) — kept byte for byte as first rendered;
//! and their delivery.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use nordlys_app::SystemClock;
use nordlys_app::documents::{
    DeliveryConfig, RenderContext, RenderError, renditions, send_documents,
};
use nordlys_app::wire::{self, Document, DocumentFilter, DocumentKey, DocumentQueryError, Kind};
use nordlys_core::time::LocalPeriod;
use nordlys_store::{DeliveryState, Store};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::rate_cmd::OutputFormat;
use crate::support::money;
use crate::{flag_error, open};

/// Decimals of a unit price in tables; JSON keeps the exact price.
const TABLE_UNIT_PRICE_DECIMALS: u32 = 6;

#[derive(Subcommand)]
pub enum InvoicesWhat {
    /// Issued documents, newest first (JSON: an array of documents without their lines).
    List {
        /// Only this account's documents (an unknown account is an error).
        #[arg(long)]
        account: Option<String>,
        /// Only documents settling this month, YYYY-MM.
        #[arg(long)]
        period: Option<String>,
        /// The most documents to list.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        limit: u32,
        /// `table` for reading, `json` for programs (the wire schema of the HTTP API).
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
    /// One document: its lines and their explanations (`table`, `json`), or the document as
    /// sent (`xml`: EHF; `pdf`: PDF/A-3 with the EHF embedded), rendered once and kept.
    Show {
        /// The document's number, e.g. F-12 or K-1 (or its id, the first column of `invoices list`).
        document: String,
        /// `table` for reading, `json` for programs (the wire schema of the HTTP API), `xml`
        /// (EHF / Peppol BIS Billing 3.0) or `pdf`.
        #[arg(long, value_enum, default_value = "table")]
        format: ShowFormat,
        /// Write the XML or PDF to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write every document of a period as sent, one file per document named by its number.
    Export {
        /// The billing period, YYYY-MM.
        #[arg(long)]
        period: String,
        /// `xml` (EHF / Peppol BIS Billing 3.0) or `pdf`.
        #[arg(long, value_enum)]
        format: DocumentFormat,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Deliver every document not yet delivered, exactly once: EHF to the outbox, e-mail with
    /// the PDF attached, paper into one print file; failures are retried with backoff.
    Send {
        /// Only documents of this billing period, YYYY-MM.
        #[arg(long)]
        period: Option<String>,
        /// SMTP relay for e-mail: smtp://host:port, smtp://host?tls=required, smtps://host.
        #[arg(long, env = "NORDLYS_SMTP_URL")]
        smtp_url: Option<String>,
        /// Folder the access point picks EHF files (and their manifests) up from.
        #[arg(long, env = "NORDLYS_EHF_OUTBOX")]
        ehf_outbox: Option<PathBuf>,
        /// Folder the print files go to.
        #[arg(long, env = "NORDLYS_PRINT_DIR")]
        print_dir: Option<PathBuf>,
        /// Attempts before a delivery is given up and reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        max_attempts: u32,
        /// Seconds to wait after a first failure (doubled after each further one).
        #[arg(long, default_value_t = 60)]
        retry_after: u64,
        /// Seconds a sender's claim lasts: a killed sender's deliveries are taken over after it.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        lease: u64,
        /// Look organisations without a fresh cached Peppol answer up online (SML/SMP) before
        /// choosing their channel; without it the cache (`nordlys peppol import-directory`,
        /// earlier lookups) decides, else the account's channel.
        #[arg(long)]
        peppol_lookup: bool,
        #[command(flatten)]
        network: crate::peppol_cmd::NetworkArgs,
    },
    /// Where each document's delivery stands: channel, status, attempts, detail.
    Deliveries {
        /// Only documents of this billing period, YYYY-MM.
        #[arg(long)]
        period: Option<String>,
        /// `table` for reading, `json` for programs.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
}

/// How `invoices show` prints a document.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Table,
    Json,
    Xml,
    Pdf,
}

/// A document as sent.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocumentFormat {
    Xml,
    Pdf,
}

pub async fn invoices(db: &str, what: InvoicesWhat) -> Result<()> {
    match what {
        InvoicesWhat::List {
            account,
            period,
            limit,
            format,
        } => {
            let period = period
                .map(|p| LocalPeriod::parse_month(&p))
                .transpose()
                .map_err(|e| flag_error("--period", e))?;
            let filter = DocumentFilter {
                account,
                period,
                limit,
                as_of: Some(crate::receivables_cmd::today()),
            };
            let store = open(db).await?;
            let documents = match wire::list_documents(&store, &filter).await {
                Ok(documents) => documents,
                Err(DocumentQueryError::UnknownAccount(account)) => {
                    bail!("--account {account:?}: no account has this id")
                }
                Err(error) => return Err(error.into()),
            };
            store.close().await;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&documents)?),
                OutputFormat::Table => print_list(&documents),
            }
            if documents.len() == limit as usize {
                eprintln!("the {limit} newest documents; --limit shows more");
            }
        }
        InvoicesWhat::Show {
            document,
            format: format @ (ShowFormat::Xml | ShowFormat::Pdf),
            out,
        } => {
            let key = DocumentKey::parse(&document).map_err(|e| flag_error("document", e))?;
            let store = open(db).await?;
            let result = document_bytes(&store, &key, &document, format).await;
            store.close().await;
            let bytes = result?;
            match out {
                Some(path) => std::fs::write(&path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    if format == ShowFormat::Pdf && std::io::stdout().is_terminal() {
                        bail!("a PDF is binary: give --out FILE or redirect standard output");
                    }
                    use std::io::Write;
                    let mut stdout = crate::output::Stdout;
                    stdout.write_all(&bytes)?;
                    stdout.flush()?;
                }
            }
        }
        InvoicesWhat::Export {
            period,
            format,
            out,
        } => {
            LocalPeriod::parse_month(&period).map_err(|e| flag_error("--period", e))?;
            export(db, &period, format, &out).await?;
        }
        InvoicesWhat::Send {
            period,
            smtp_url,
            ehf_outbox,
            print_dir,
            max_attempts,
            retry_after,
            lease,
            peppol_lookup,
            network,
        } => {
            if let Some(period) = &period {
                LocalPeriod::parse_month(period).map_err(|e| flag_error("--period", e))?;
            }
            let config = DeliveryConfig {
                smtp_url,
                ehf_outbox,
                print_dir,
                max_attempts,
                first_retry: std::time::Duration::from_secs(retry_after),
                lease: std::time::Duration::from_secs(lease),
            };
            let lookup = peppol_lookup.then(|| network.lookup()).transpose()?;
            send(db, period.as_deref(), &config, lookup).await?;
        }
        InvoicesWhat::Deliveries { period, format } => {
            let store = open(db).await?;
            let deliveries = store.deliveries(period.as_deref()).await;
            store.close().await;
            print_deliveries(&deliveries?, format)?;
        }
        InvoicesWhat::Show {
            document,
            format,
            out: _,
        } => {
            let key = DocumentKey::parse(&document).map_err(|e| flag_error("document", e))?;
            let store = open(db).await?;
            let found = wire::find_document(&store, &key).await?;
            store.close().await;
            let Some(found) = found else {
                bail!(
                    "document {document:?}: no document has this number or id (see `nordlys invoices list`)"
                )
            };
            match format {
                ShowFormat::Json => println!("{}", serde_json::to_string_pretty(&found)?),
                _ => print_document(&found),
            }
        }
    }
    Ok(())
}

/// The id of the document `key` names, or an error naming what was given.
async fn document_id(store: &Store, key: &DocumentKey, given: &str) -> Result<i64> {
    let id = match key {
        DocumentKey::Id(id) => store.document(*id).await?.map(|d| d.id),
        DocumentKey::Number(number) => store.document_id_by_number(number).await?,
    };
    id.ok_or_else(|| {
        anyhow!(
            "document {given:?}: no document has this number or id (see `nordlys invoices list`)"
        )
    })
}

async fn document_bytes(
    store: &Store,
    key: &DocumentKey,
    given: &str,
    format: ShowFormat,
) -> Result<Vec<u8>> {
    let id = document_id(store, key, given).await?;
    let context = RenderContext::load(store).await?;
    let made = renditions(store, &context, id, &SystemClock).await?;
    Ok(match format {
        ShowFormat::Pdf => made.pdf.content,
        _ => made.xml.content,
    })
}

/// Every document of `period` as sent, one file per document; held ones are named and skipped.
async fn export(db: &str, period: &str, format: DocumentFormat, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let store = open(db).await?;
    let context = RenderContext::load(&store).await?;
    let ids: Vec<i64> = store
        .documents(None, Some(period), i64::MAX)
        .await?
        .into_iter()
        .map(|d| d.id)
        .rev()
        .collect();
    let progress = crate::progress::for_stderr();
    progress.start("documents", Some(ids.len() as u64));
    let (mut written, mut held) = (0u64, Vec::new());
    for id in ids {
        match renditions(&store, &context, id, &SystemClock).await {
            Ok(made) => {
                let (bytes, extension) = match format {
                    DocumentFormat::Xml => (&made.xml.content, "xml"),
                    DocumentFormat::Pdf => (&made.pdf.content, "pdf"),
                };
                let path = out.join(format!("{}.{extension}", made.number));
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written += 1;
            }
            Err(RenderError::Held { number, reason }) => held.push((number, reason)),
            Err(other) => return Err(other.into()),
        }
        progress.advance(1);
    }
    progress.finish();
    store.close().await;
    println!("{written} documents written to {}", out.display());
    for (number, reason) in &held {
        eprintln!("held {number}: {reason}");
    }
    if !held.is_empty() {
        bail!("{} documents are held and were not written", held.len());
    }
    Ok(())
}

async fn send(
    db: &str,
    period: Option<&str>,
    config: &DeliveryConfig,
    lookup: Option<nordlys_peppol::Lookup>,
) -> Result<()> {
    let store = open(db).await?;
    let mut context = RenderContext::load(&store).await?;
    if let Some(lookup) = lookup {
        context = context.with_peppol_lookup(lookup, nordlys_app::peppol::PeppolPolicy::default());
    }
    let result = send_documents(&store, &context, config, &SystemClock, period).await;
    store.close().await;
    let report = result?;
    println!(
        "planned {}; delivered: EHF {}, e-mail {}, print {}",
        report.planned, report.delivered_ehf, report.delivered_email, report.delivered_print
    );
    for file in &report.print_files {
        println!("print file {}", file.display());
    }
    for (number, reason) in &report.held {
        eprintln!("held {number}: {reason}");
    }
    for channel in &report.not_configured {
        let flag = match channel {
            nordlys_store::DeliveryChannel::Ehf => "--ehf-outbox",
            nordlys_store::DeliveryChannel::Email => "--smtp-url",
            nordlys_store::DeliveryChannel::Print => "--print-dir",
        };
        eprintln!(
            "{} deliveries wait: this run has no {flag}",
            match channel {
                nordlys_store::DeliveryChannel::Ehf => "EHF",
                nordlys_store::DeliveryChannel::Email => "e-mail",
                nordlys_store::DeliveryChannel::Print => "print",
            }
        );
    }
    for (number, reason) in &report.deferred {
        eprintln!("not planned yet {number}: {reason}");
    }
    for (number, error, retry_at) in &report.retrying {
        eprintln!("failed {number}: {error}; tried again from {retry_at}");
    }
    for (number, error) in &report.gave_up {
        eprintln!("gave up {number}: {error}");
    }
    if !report.gave_up.is_empty() {
        bail!(
            "{} deliveries were given up after their last attempt",
            report.gave_up.len()
        );
    }
    Ok(())
}

fn print_deliveries(deliveries: &[DeliveryState], format: OutputFormat) -> Result<()> {
    let at = |us: Option<i64>| {
        us.and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
            .map(|t| t.to_string())
    };
    match format {
        OutputFormat::Json => {
            let rows: Vec<serde_json::Value> = deliveries
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "number": d.number,
                        "channel": d.channel.code(),
                        "status": d.status.code(),
                        "attempts": d.attempts,
                        "destination": d.destination,
                        "detail": d.detail,
                        "next_attempt_at": at(d.next_attempt_at_us),
                        "delivered_at": at(d.delivered_at_us),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Table => {
            println!(
                "{:>10}  {:<6}  {:<9}  {:>8}  {:<30}  detail",
                "number", "channel", "status", "attempts", "destination"
            );
            for d in deliveries {
                println!(
                    "{:>10}  {:<6}  {:<9}  {:>8}  {:<30}  {}",
                    d.number,
                    d.channel.code(),
                    d.status.code(),
                    d.attempts,
                    d.destination,
                    d.detail.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

/// One row per document; the customer's name last, as it may contain spaces.
fn print_list(documents: &[Document]) {
    println!(
        "{:>6}  {:<11}  {:>10}  {:<12}  {:<10}  {:<7}  {:<10}  {:>12}  {:<3}  {:>5}  {:<10}  {}",
        "id",
        "kind",
        "number",
        "KID",
        "account",
        "period",
        "due",
        "total",
        "cur",
        "lines",
        "corrects",
        "customer"
    );
    for d in documents {
        println!(
            "{:>6}  {:<11}  {:>10}  {:<12}  {:<10}  {:<7}  {:<10}  {:>12}  {:<3}  {:>5}  {:<10}  {}",
            d.id,
            d.kind.code(),
            d.number,
            d.kid.as_deref().unwrap_or("-"),
            d.account,
            d.period,
            d.due_date.map_or("-".to_owned(), |date| date.to_string()),
            money(d.total),
            d.currency,
            d.line_count,
            d.corrects_all.join(","),
            d.customer
        );
    }
}

/// A unit price for a table: at most 6 decimals (the JSON keeps the exact price).
fn table_unit_price(price: Decimal) -> String {
    price
        .round_dp_with_strategy(
            TABLE_UNIT_PRICE_DECIMALS,
            RoundingStrategy::MidpointAwayFromZero,
        )
        .normalize()
        .to_string()
}

fn print_document(d: &Document) {
    let kind = match d.kind {
        Kind::Invoice => "Invoice",
        Kind::CreditNote => "Credit note",
    };
    println!(
        "{kind} {}  period {}  currency {}",
        d.number, d.period, d.currency
    );
    if d.customer == d.payer {
        println!("  customer {}  account {}", d.customer, d.account);
    } else {
        println!(
            "  customer {}  payer {}  account {}",
            d.customer, d.payer, d.account
        );
    }
    println!(
        "  issued {}  due {}  KID {}{}",
        d.issue_date,
        d.due_date.map_or("-".to_owned(), |date| date.to_string()),
        d.kid.as_deref().unwrap_or("-"),
        if d.corrects_all.is_empty() {
            String::new()
        } else {
            format!("  corrects {}", d.corrects_all.join(", "))
        }
    );
    let mut shown: Option<(&str, Option<&str>)> = None;
    for line in d.lines.iter().flatten() {
        let heading = (line.contract.as_str(), line.metering_point.as_deref());
        if shown != Some(heading) {
            println!(
                "  contract {}  metering point {}",
                line.contract,
                line.metering_point.as_deref().unwrap_or("- (none)")
            );
            shown = Some(heading);
        }
        println!(
            "    {:<10} {:<44} {:>12} {:<5} × {:>12} = {:>10}  VAT {} {}%",
            line.line_kind,
            line.description,
            wire::exact_string(line.quantity),
            line.unit,
            table_unit_price(line.unit_price),
            money(line.net),
            line.vat_category,
            wire::exact_string(line.vat_rate)
        );
        for e in &line.explanation {
            println!("                 {e}");
        }
    }
    for v in &d.vat_breakdown {
        println!(
            "  VAT {} {}% on {}: {}",
            v.category,
            wire::exact_string(v.rate),
            money(v.taxable),
            money(v.vat)
        );
    }
    println!(
        "  net {}  VAT {}  total {} {}",
        money(d.net),
        money(d.vat),
        money(d.total),
        d.currency
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_shows_a_unit_price_with_at_most_six_decimals() {
        let price = |text: &str| table_unit_price(text.parse().unwrap());
        assert_eq!(price("0.28770000001"), "0.2877");
        assert_eq!(price("0.1234565"), "0.123457", "half away from zero");
        assert_eq!(price("-0.1234565"), "-0.123457");
        assert_eq!(price("12.5"), "12.5");
    }
}
