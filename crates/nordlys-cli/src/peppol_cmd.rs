//! `nordlys peppol`: the Peppol participant cache — import a Peppol Directory export, look a
//! participant up online (SML and SMP) and cache the answer, refresh the stale answers (a
//! command for cron or the server's schedule).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use jiff::SignedDuration;
use nordlys_app::peppol::{
    DEFAULT_MAX_AGE_DAYS, DirectoryImportOptions, import_directory, lookup_and_cache, refresh,
};
use nordlys_app::{Clock, SystemClock};
use nordlys_peppol::{
    Endpoint, Lookup, LookupConfig, LookupOutcome, PRODUCTION_SML_ZONE, ParticipantId,
};
use serde_json::json;

use crate::{flag_error, open};

/// At most this many days for `--max-age-days` (ten years).
const MAX_AGE_DAYS_LIMIT: i64 = 3_650;

#[derive(Clone, Copy, Default, ValueEnum)]
pub enum PeppolFormat {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum PeppolCommand {
    /// Import a Peppol Directory export (participants CSV, business-cards CSV or XML) into the
    /// participant cache, in one transaction.
    ImportDirectory {
        /// The export file.
        file: PathBuf,
        /// Keep only participants of these ICDs, e.g. `--icd 0192,0184`.
        #[arg(long, value_delimiter = ',')]
        icd: Vec<String>,
        /// Skip entries whose identifier is invalid instead of rejecting the file.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Look a participant up online (SML, then its SMP), cache and print the answer.
    Lookup {
        /// `0192:923609016` or `iso6523-actorid-upis::0192:923609016`.
        participant: String,
        #[command(flatten)]
        network: NetworkArgs,
        /// `json`: the answer as one JSON object.
        #[arg(long, value_enum, default_value = "text")]
        format: PeppolFormat,
    },
    /// Look up again the cached online answers older than --max-age-days, oldest first,
    /// printing each; exits 1 if any lookup failed (those keep their old answer and stay due).
    Refresh {
        /// Answers checked longer ago than this many days are looked up again.
        #[arg(long, default_value_t = DEFAULT_MAX_AGE_DAYS)]
        max_age_days: i64,
        /// At most this many participants in one run.
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
        #[command(flatten)]
        network: NetworkArgs,
    },
}

#[derive(Args)]
pub struct NetworkArgs {
    /// The SML zone participants are published under.
    #[arg(long, env = "NORDLYS_PEPPOL_SML_ZONE", default_value = PRODUCTION_SML_ZONE)]
    sml_zone: String,
    /// The DNS server to ask, ADDR:PORT (default: the system's resolver).
    #[arg(long, env = "NORDLYS_PEPPOL_DNS")]
    dns: Option<String>,
    /// Accept `http://` SMPs (a local test SMP); production SMPs are https-only.
    #[arg(long, env = "NORDLYS_PEPPOL_ALLOW_INSECURE_HTTP")]
    allow_insecure_http: bool,
    /// Seconds per DNS attempt and per HTTP request.
    #[arg(long, default_value_t = 10)]
    timeout_seconds: u64,
}

impl NetworkArgs {
    fn lookup(&self) -> Result<Lookup> {
        let nameserver = self
            .dns
            .as_deref()
            .map(|text| {
                text.parse::<SocketAddr>().with_context(|| {
                    format!("--dns {text:?}: expected ADDR:PORT, e.g. 127.0.0.1:5353")
                })
            })
            .transpose()?;
        if self.timeout_seconds == 0 || self.timeout_seconds > 300 {
            bail!("--timeout-seconds must be 1–300");
        }
        let timeout = Duration::from_secs(self.timeout_seconds);
        Ok(Lookup::new(LookupConfig {
            sml_zone: self.sml_zone.clone(),
            nameserver,
            dns_timeout: timeout.min(Duration::from_secs(5)),
            http_timeout: timeout,
            allow_insecure_http: self.allow_insecure_http,
            ..LookupConfig::default()
        })?)
    }
}

pub async fn peppol(db: &str, command: PeppolCommand) -> Result<()> {
    let clock = SystemClock;
    match command {
        PeppolCommand::ImportDirectory {
            file,
            icd,
            skip_invalid,
        } => {
            let source = file.display().to_string();
            let input =
                std::fs::File::open(&file).with_context(|| format!("cannot open {source}"))?;
            let store = open(db).await?;
            let options = DirectoryImportOptions {
                icds: icd,
                skip_invalid,
            };
            let input = std::io::BufReader::with_capacity(1 << 20, input);
            let report = import_directory(&store, &source, input, &options, &clock).await?;
            println!("{report}");
            store.close().await;
        }
        PeppolCommand::Lookup {
            participant,
            network,
            format,
        } => {
            let participant =
                ParticipantId::parse(&participant).map_err(|e| flag_error("PARTICIPANT", e))?;
            let lookup = network.lookup()?;
            let store = open(db).await?;
            let (outcome, capability) =
                lookup_and_cache(&store, &lookup, &participant, &clock).await?;
            let host = participant.sml_host(&lookup.config().sml_zone);
            match format {
                PeppolFormat::Json => {
                    let (smp_url, invoice, credit_note) = match &outcome {
                        LookupOutcome::NotRegistered { .. } => (None, None, None),
                        LookupOutcome::Registered(r) => (
                            Some(r.smp_url.clone()),
                            r.invoice.as_ref().map(endpoint_json),
                            r.credit_note.as_ref().map(endpoint_json),
                        ),
                    };
                    println!(
                        "{}",
                        json!({
                            "participant": participant.full(),
                            "sml_host": host,
                            "registered": matches!(outcome, LookupOutcome::Registered(_)),
                            "smp_url": smp_url,
                            "can_receive_invoice": capability.can_receive_invoice,
                            "can_receive_credit_note": capability.can_receive_credit_note,
                            "invoice_endpoint": invoice,
                            "credit_note_endpoint": credit_note,
                            "source": capability.source.code(),
                            "checked_at": capability.checked_at.to_string(),
                        })
                    );
                }
                PeppolFormat::Text => {
                    println!("participant   {}", participant.full());
                    println!("sml host      {host}");
                    println!("answer        {outcome}");
                    println!("receives EHF  {}", yes_no(capability.can_receive_invoice));
                    println!(
                        "credit notes  {}",
                        yes_no(capability.can_receive_credit_note)
                    );
                    println!("checked at    {}", capability.checked_at);
                }
            }
            store.close().await;
        }
        PeppolCommand::Refresh {
            max_age_days,
            limit,
            network,
        } => {
            if !(0..=MAX_AGE_DAYS_LIMIT).contains(&max_age_days) {
                bail!("--max-age-days must be 0–{MAX_AGE_DAYS_LIMIT}");
            }
            if limit < 1 {
                bail!("--limit must be at least 1");
            }
            let lookup = network.lookup()?;
            let store = open(db).await?;
            let max_age = SignedDuration::from_hours(24 * max_age_days);
            let started = clock.now();
            let report = refresh(
                &store,
                &lookup,
                max_age,
                limit,
                &clock,
                &mut |step| match &step.result {
                    Ok(c) => println!(
                        "{}: invoice {}, credit note {}{}",
                        step.participant,
                        yes_no(c.can_receive_invoice),
                        yes_no(c.can_receive_credit_note),
                        if step.changed { " (changed)" } else { "" }
                    ),
                    Err(error) => println!("{}: failed: {error}", step.participant),
                },
            )
            .await?;
            println!(
                "refreshed {} of {} due (older than {max_age_days} days), {} changed, {} failed, in {:.1} s",
                report.refreshed,
                report.due,
                report.changed,
                report.failed,
                clock.now().duration_since(started).as_secs_f64()
            );
            store.close().await;
            if report.failed > 0 {
                bail!(
                    "{} lookups failed; those participants keep their old answer and stay due",
                    report.failed
                );
            }
        }
    }
    Ok(())
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn endpoint_json(endpoint: &Endpoint) -> serde_json::Value {
    json!({
        "url": endpoint.url,
        "transport_profile": endpoint.transport_profile,
        "activation": endpoint.activation.map(|t| t.to_string()),
        "expiration": endpoint.expiration.map(|t| t.to_string()),
    })
}
