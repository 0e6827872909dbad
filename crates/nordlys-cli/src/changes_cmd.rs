//! `nordlys changes`: the change journal as JSON lines in commit (seq) order, optionally
//! following new records as they are committed.

use std::io::Write;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use nordlys_store::Domain;

use crate::{flag_error, open};

/// Records read per query; a large journal is printed page by page.
const PAGE_RECORDS: i64 = 1000;
/// How often `--follow` looks for new records.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, ValueEnum)]
pub enum ChangesFormat {
    /// One JSON object per line: seq, tx_id, domain, key, op, schema_version, changed_at,
    /// before, after, scope.
    Json,
}

#[derive(Args)]
pub struct ChangesArgs {
    /// First sequence number to print (inclusive); default: the beginning of the journal.
    #[arg(long, default_value_t = 1)]
    from: i64,
    /// Only records of this domain (customer, account, metering_point, contract, meter_values,
    /// spot_prices, exchange_rates, product, usage, settlement, document, task).
    #[arg(long)]
    domain: Option<String>,
    /// Keep running and print new records as they are committed (polls every second) until
    /// interrupted.
    #[arg(long)]
    follow: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: ChangesFormat,
}

pub async fn changes(db: &str, args: ChangesArgs) -> Result<()> {
    if args.from < 1 {
        bail!("--from {}: sequence numbers start at 1", args.from);
    }
    let domain = args
        .domain
        .as_deref()
        .map(Domain::parse)
        .transpose()
        .map_err(|e| flag_error("--domain", e))?;
    let ChangesFormat::Json = args.format;
    let store = open(db).await?;
    let mut after_seq = args.from - 1;
    let mut out = std::io::stdout().lock();
    loop {
        let page = store.changes(after_seq, domain, PAGE_RECORDS).await?;
        for record in &page {
            let line = writeln!(out, "{}", record.to_json());
            if closed_pipe(line)? {
                return Ok(());
            }
            after_seq = record.seq;
        }
        if closed_pipe(out.flush())? {
            return Ok(());
        }
        if (page.len() as i64) < PAGE_RECORDS {
            if !args.follow {
                break;
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
    store.close().await;
    Ok(())
}

/// Whether the reader went away (`nordlys changes | head -1`): then we stop quietly.
fn closed_pipe(result: std::io::Result<()>) -> Result<bool> {
    match result {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(anyhow::anyhow!("cannot write the changes: {e}")),
    }
}
