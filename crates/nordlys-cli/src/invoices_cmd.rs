//! `nordlys invoices list|show`: issued invoices and credit notes.

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::open;
use crate::support::money;

#[derive(Subcommand)]
pub enum InvoicesWhat {
    /// Issued documents, newest first.
    List {
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        period: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One document with its lines and their explanations.
    Show {
        /// Document id (first column of `invoices list`).
        id: i64,
    },
}

pub async fn invoices(db: &str, what: InvoicesWhat) -> Result<()> {
    let store = open(db).await?;
    match what {
        InvoicesWhat::List {
            account,
            period,
            limit,
        } => {
            println!(
                "{:>6}  {:<11}  {:>10}  {:<12}  {:<10}  {:<7}  {:<10}  {:>12}  {:>5}",
                "id", "kind", "number", "KID", "account", "period", "due", "total", "lines"
            );
            for d in store
                .documents(account.as_deref(), period.as_deref(), limit)
                .await?
            {
                println!(
                    "{:>6}  {:<11}  {:>10}  {:<12}  {:<10}  {:<7}  {:<10}  {:>12}  {:>5}",
                    d.id,
                    d.kind.code(),
                    format!("{}-{}", d.series, d.number),
                    d.kid.as_deref().unwrap_or("-"),
                    d.account_id,
                    d.period,
                    d.due_date.map_or("-".to_owned(), |d| d.to_string()),
                    money(d.gross),
                    d.lines
                );
            }
        }
        InvoicesWhat::Show { id } => {
            let summary = store
                .document(id)
                .await?
                .with_context(|| format!("no document has id {id}"))?;
            println!(
                "{} {}-{}  KID {}  account {}  period {}  issued {}  due {}{}",
                summary.kind,
                summary.series,
                summary.number,
                summary.kid.as_deref().unwrap_or("-"),
                summary.account_id,
                summary.period,
                summary.issue_date,
                summary.due_date.map_or("-".to_owned(), |d| d.to_string()),
                if summary.references.is_empty() {
                    String::new()
                } else {
                    format!("  corrects {}", summary.references.join(", "))
                }
            );
            for line in store.document_lines(id).await? {
                println!(
                    "  {:<10} {:<44} {:>12} {:<5} × {:>10} = {:>10}  VAT {} {}%",
                    line.kind,
                    line.description,
                    line.quantity.normalize().to_string(),
                    line.unit,
                    line.unit_price.normalize().to_string(),
                    money(line.net),
                    line.vat_category,
                    line.vat_percent.normalize()
                );
                for e in &line.explanation {
                    println!("               {e}");
                }
            }
            println!(
                "  net {}  VAT {}  total {} {}",
                money(summary.net),
                money(summary.vat),
                money(summary.gross),
                summary.currency
            );
        }
    }
    store.close().await;
    Ok(())
}
