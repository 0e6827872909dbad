//! `nordlys invoices list|show`: issued invoices and credit notes, as a table for a clerk or
//! as JSON in the wire schema of `nordlys_app::wire` (the one the HTTP API serves).

use anyhow::{Result, bail};
use clap::Subcommand;
use nordlys_app::wire::{self, Document, DocumentFilter, DocumentKey, DocumentQueryError, Kind};
use nordlys_core::time::LocalPeriod;
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
    /// One document with its lines and their explanations.
    Show {
        /// The document's number, e.g. F-12 or K-1 (or its id, the first column of `invoices list`).
        document: String,
        /// `table` for reading, `json` for programs (the wire schema of the HTTP API).
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
    },
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
        InvoicesWhat::Show { document, format } => {
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
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&found)?),
                OutputFormat::Table => print_document(&found),
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
