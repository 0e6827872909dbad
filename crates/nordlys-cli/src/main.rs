//! The `nordlys` command: one binary for demo, import, export and benchmarks.
//! Exit codes: 0 success, 1 failure or rejected input (the message says what and where),
//! 2 wrong usage. A closed standard output (`nordlys … | head -1`) ends a command quietly
//! with 0 once it has done its work; nothing in this crate panics on a closed output.

// `println!` and `eprintln!` in this crate are these, not std's: they never panic when the
// output is closed (see `output`), so every command, also one merged later, is safe in a pipe.
// Defined before the modules so that their textual scope covers every one of them.
macro_rules! println {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
macro_rules! eprintln {
    () => {
        $crate::output::write_note(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_note(format_args!($($arg)*))
    };
}

mod bench;
mod bench_documents;
mod bench_receivables;
mod bench_settle;
mod bill_cmd;
mod changes_cmd;
mod db_cmd;
mod demo_cmd;
mod invoices_cmd;
mod issuer_cmd;
mod output;
mod peppol_cmd;
mod products_cmd;
mod progress;
mod rate_bench;
mod rate_cmd;
mod receivables_cmd;
mod runs_cmd;
mod serve_cmd;
mod support;
mod worker_cmd;

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use nordlys_app::demo::{DemoConfig, build_demo};
use nordlys_app::import::{self, ImportKind, MeterValueLimits};
use nordlys_app::{Clock, SystemClock};
use nordlys_core::ids::Gsrn;
use nordlys_core::time::{LocalPeriod, parse_date, parse_instant};
use nordlys_store::Store;

#[derive(Parser)]
#[command(
    name = "nordlys",
    version,
    about = "Customer information and billing for Nordic utilities"
)]
struct Cli {
    /// The database: a SQLite file path (created if missing), or
    /// postgres://user@host:port/database for PostgreSQL.
    #[arg(
        long,
        global = true,
        env = "NORDLYS_DATABASE_URL",
        default_value = "nordlys.db"
    )]
    db: String,
    /// Log filter, e.g. `info` or `nordlys_app=debug`.
    #[arg(long, global = true, env = "NORDLYS_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a realistic synthetic utility into the database and print a summary.
    Demo {
        /// Customers to create (each with one metering point).
        #[arg(long, default_value_t = 2000)]
        customers: usize,
        /// Months of readings and prices.
        #[arg(long, default_value_t = 3)]
        months: u32,
        /// First month, YYYY-MM.
        #[arg(long, default_value = "2025-01")]
        start: String,
        /// Seed of the random generator: the same seed builds the same utility.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Stop after building the data: do not settle (nor serve).
        #[arg(long)]
        no_bill: bool,
        /// Stop after billing: do not serve the demo utility.
        #[arg(long)]
        no_serve: bool,
        /// Where the demo utility is served after billing.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Import CSV files; each file is all-or-nothing.
    Import {
        /// What the files hold (the formats are in docs/formats.md).
        #[arg(value_enum)]
        kind: Kind,
        /// CSV files (product files for `products`), each imported in its own transaction.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Zone of the hours in OpenEI URDB product files (.json), e.g. America/Denver.
        #[arg(long, default_value = nordlys_app::products::DEFAULT_URDB_TIME_ZONE)]
        timezone: String,
    },
    /// Export data in the import formats.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Show what the database holds.
    Status,
    /// Check product files without storing them.
    Products {
        #[command(subcommand)]
        what: products_cmd::ProductsWhat,
    },
    /// Settle a period: validate, rate every contract, issue one invoice per account;
    /// then correct earlier settled periods whose readings or prices changed.
    Bill(bill_cmd::BillArgs),
    /// List and show issued invoices and credit notes.
    Invoices {
        #[command(subcommand)]
        what: invoices_cmd::InvoicesWhat,
    },
    /// The issuer's profile every document is rendered with: seller, branding, e-mail sender.
    Issuer {
        #[command(subcommand)]
        what: issuer_cmd::IssuerWhat,
    },
    /// What would this load cost under these tariffs.
    Rate(rate_cmd::RateArgs),
    /// Print the change journal as JSON lines in commit order (`--follow` for new ones).
    Changes(changes_cmd::ChangesArgs),
    /// Claim batches of planned settlement runs and bill them (any number of workers, on any
    /// machine that reaches the database).
    Worker(worker_cmd::WorkerArgs),
    /// Settlement and correction runs: list them, show one with its batches and workers.
    Runs {
        #[command(subcommand)]
        command: runs_cmd::RunsCommand,
    },
    /// Copy the database into a new one (SQLite to PostgreSQL), or back it up.
    Db {
        #[command(subcommand)]
        what: db_cmd::DbWhat,
    },
    /// Serve the JSON API (and its OpenAPI document, health and metrics) on the database.
    Serve(serve_cmd::ServeArgs),
    /// Staff of the back-office who sign in with a password and a TOTP code.
    Staff {
        #[command(subcommand)]
        what: serve_cmd::StaffWhat,
    },
    /// Imported payments and the worklist of those that matched no invoice.
    Payments {
        #[command(subcommand)]
        command: receivables_cmd::PaymentsCommand,
    },
    /// Receivables KPIs as of a date.
    Receivables {
        #[command(subcommand)]
        command: receivables_cmd::ReceivablesCommand,
    },
    /// Reminders, collection notices and handovers of open invoices, by the dunning policy.
    Dunning {
        #[command(subcommand)]
        command: receivables_cmd::DunningCommand,
    },
    /// An account's ledger: invoices, credit notes, payments, balance and open items.
    Ledger {
        #[command(subcommand)]
        command: receivables_cmd::LedgerCommand,
    },
    /// Service accounts' API tokens: create (the secret is shown once), list, revoke.
    Tokens {
        #[command(subcommand)]
        what: serve_cmd::TokensWhat,
    },
    /// Peppol participants: import a Directory export, look up online (SML/SMP), refresh.
    Peppol {
        #[command(subcommand)]
        command: peppol_cmd::PeppolCommand,
    },
    /// Benchmarks that print the machine, the input size and the figures.
    Bench {
        #[command(subcommand)]
        what: bench::BenchWhat,
    },
}

#[derive(Subcommand)]
enum ExportWhat {
    /// Readings of one metering point as meter-values CSV.
    MeterValues {
        /// The metering point's GSRN (18 digits).
        #[arg(long = "metering-point")]
        metering_point: String,
        /// First local date (inclusive), YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last local date (exclusive), YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        /// Show the readings as they were known at this instant (RFC 3339).
        #[arg(long = "as-of")]
        as_of: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Customers,
    Accounts,
    MeteringPoints,
    Contracts,
    MeterValues,
    SpotPrices,
    ExchangeRates,
    Products,
    Usage,
    /// Payment files: OCR giro or ISO 20022 camt.054/053.
    Payments,
}

impl Kind {
    /// The import of a CSV or product file (payments have their own).
    fn csv_kind(self) -> Option<ImportKind> {
        Some(match self {
            Kind::Customers => ImportKind::Customers,
            Kind::Accounts => ImportKind::Accounts,
            Kind::MeteringPoints => ImportKind::MeteringPoints,
            Kind::Contracts => ImportKind::Contracts,
            Kind::MeterValues => ImportKind::MeterValues,
            Kind::SpotPrices => ImportKind::SpotPrices,
            Kind::ExchangeRates => ImportKind::ExchangeRates,
            Kind::Products => ImportKind::Products,
            Kind::Usage => ImportKind::Usage,
            Kind::Payments => return None,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    let written = output::finish();
    match result {
        Ok(()) => match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("error: cannot write to standard output: {message}");
                ExitCode::FAILURE
            }
        },
        // The reader of the output has gone (`| head`): nothing more to say.
        Err(error) if output::stopped_by_closed_stdout(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A rejected command-line value, named by its flag.
pub(crate) fn flag_error(flag: &str, error: nordlys_core::ParseError) -> anyhow::Error {
    anyhow::anyhow!("{flag} {:?}: {}", error.value, error.rule)
}

/// Open the database; the error names it (without a password) and why it cannot be opened.
pub(crate) async fn open(db: &str) -> Result<Store> {
    Ok(Store::open(db).await?)
}

async fn run(cli: Cli) -> Result<()> {
    let clock = SystemClock;
    match cli.command {
        Command::Demo {
            customers,
            months,
            start,
            seed,
            no_bill,
            no_serve,
            listen,
        } => {
            if customers == 0 || months == 0 {
                bail!("--customers and --months must be at least 1");
            }
            let first_month =
                LocalPeriod::parse_month(&start).map_err(|e| flag_error("--start", e))?;
            let store = open(&cli.db).await?;
            if store.summary().await?.metering_points > 0 {
                bail!(
                    "{} already holds data; the demo needs an empty database (use --db with a new file)",
                    cli.db
                );
            }
            let config = DemoConfig {
                metering_points: customers,
                first_month,
                months,
                seed,
            };
            let summary = build_demo(&store, &config, &clock, progress::for_stderr()).await?;
            print_demo_summary(&cli.db, &summary);
            if !no_bill {
                demo_cmd::demo_billing(&store, &summary, first_month, months, &clock).await?;
            }
            if no_bill || no_serve {
                store.close().await;
            } else {
                demo_cmd::serve_demo(store, &listen).await?;
            }
        }
        Command::Import {
            kind,
            files,
            timezone,
        } => {
            let Some(kind) = kind.csv_kind() else {
                return receivables_cmd::import_payments(&cli.db, &files, &clock).await;
            };
            let store = open(&cli.db).await?;
            for path in &files {
                let report = import_file(&store, kind, path, &timezone, &clock).await?;
                println!("{report}");
            }
            store.close().await;
        }
        Command::Export {
            what:
                ExportWhat::MeterValues {
                    metering_point,
                    from,
                    to,
                    as_of,
                    output,
                },
        } => {
            let gsrn =
                Gsrn::parse(&metering_point).map_err(|e| flag_error("--metering-point", e))?;
            let from = from
                .map(|d| parse_date("from", &d))
                .transpose()
                .map_err(|e| flag_error("--from", e))?;
            let to = to
                .map(|d| parse_date("to", &d))
                .transpose()
                .map_err(|e| flag_error("--to", e))?;
            let as_of = as_of
                .map(|t| parse_instant("as-of", &t))
                .transpose()
                .map_err(|e| flag_error("--as-of", e))?;
            let store = open(&cli.db).await?;
            let mut out: Box<dyn Write + Send> = match &output {
                Some(path) => Box::new(
                    File::create(path).with_context(|| format!("creating {}", path.display()))?,
                ),
                None => Box::new(output::Stdout),
            };
            let rows =
                nordlys_app::export::export_meter_values(&store, &gsrn, from, to, as_of, &mut out)
                    .await?;
            if output.is_some() {
                eprintln!("{rows} readings exported");
            }
            store.close().await;
        }
        Command::Status => {
            let store = open(&cli.db).await?;
            let s = store.summary().await?;
            println!("database          {}", cli.db);
            println!("customers         {}", s.customers);
            println!("accounts          {}", s.accounts);
            println!("metering points   {}", s.metering_points);
            println!("contracts         {}", s.contracts);
            println!(
                "meter-value days  {} ({} bytes of readings)",
                s.meter_value_chunks, s.meter_value_chunk_bytes
            );
            println!("spot prices       {}", s.spot_prices);
            println!("exchange rates    {}", s.exchange_rates);
            println!("imports           {}", s.imports);
            println!("products          {}", s.products);
            println!("documents         {}", s.documents);
            println!(
                "missing basis     {} open tasks",
                s.open_missing_basis_tasks
            );
            store.close().await;
        }
        Command::Bench { what } => bench::run(what, &cli.db).await?,
        Command::Products { what } => products_cmd::products(what)?,
        Command::Bill(args) => bill_cmd::bill(&cli.db, args, &clock).await?,
        Command::Invoices { what } => invoices_cmd::invoices(&cli.db, what).await?,
        Command::Issuer { what } => issuer_cmd::issuer(&cli.db, what).await?,
        Command::Rate(args) => rate_cmd::rate(args)?,
        Command::Changes(args) => changes_cmd::changes(&cli.db, args).await?,
        Command::Worker(args) => worker_cmd::worker(&cli.db, args).await?,
        Command::Runs { command } => runs_cmd::runs(&cli.db, command).await?,
        Command::Db { what } => db_cmd::db(&cli.db, what).await?,
        Command::Serve(args) => serve_cmd::serve(&cli.db, args).await?,
        Command::Tokens { what } => serve_cmd::tokens(&cli.db, what).await?,
        Command::Staff { what } => serve_cmd::staff(&cli.db, what).await?,
        Command::Peppol { command } => peppol_cmd::peppol(&cli.db, command).await?,
        Command::Payments { command } => receivables_cmd::payments(&cli.db, command).await?,
        Command::Receivables { command } => {
            receivables_cmd::receivables(&cli.db, command, &clock).await?
        }
        Command::Dunning { command } => receivables_cmd::dunning(&cli.db, command, &clock).await?,
        Command::Ledger { command } => receivables_cmd::ledger(&cli.db, command, &clock).await?,
    }
    Ok(())
}

async fn import_file(
    store: &Store,
    kind: ImportKind,
    path: &PathBuf,
    urdb_time_zone: &str,
    clock: &dyn Clock,
) -> Result<import::ImportReport> {
    let source = path.display().to_string();
    let file = File::open(path).with_context(|| format!("cannot open {source}"))?;
    let size = file.metadata().ok().map(|m| m.len());
    let input = std::io::BufReader::with_capacity(1 << 20, file);
    let report = match kind {
        ImportKind::Customers => import::import_customers(store, &source, input, clock).await,
        ImportKind::Accounts => import::import_accounts(store, &source, input, clock).await,
        ImportKind::MeteringPoints => {
            import::import_metering_points(store, &source, input, clock).await
        }
        ImportKind::Contracts => import::import_contracts(store, &source, input, clock).await,
        ImportKind::SpotPrices => import::import_spot_prices(store, &source, input, clock).await,
        ImportKind::ExchangeRates => {
            import::import_exchange_rates(store, &source, input, clock).await
        }
        ImportKind::Usage => import::import_usage(store, &source, input, clock).await,
        ImportKind::Products => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {source}"))?;
            nordlys_app::products::import_products(store, path, &text, urdb_time_zone, clock).await
        }
        ImportKind::MeterValues => {
            import::import_meter_values(
                store,
                &source,
                input,
                size,
                clock,
                progress::for_stderr(),
                MeterValueLimits::default(),
            )
            .await
        }
    };
    Ok(report?)
}

fn print_demo_summary(db: &str, s: &nordlys_app::demo::DemoSummary) {
    println!("Nordlys demo utility in {db}");
    println!(
        "  {} customers, {} metering points ({} hourly, {} quarter-hourly), {} contracts",
        s.customers, s.metering_points, s.hourly_points, s.quarter_hour_points, s.contracts
    );
    let areas: Vec<String> = s.by_area.iter().map(|(a, n)| format!("{a} {n}")).collect();
    println!("  by price area: {}", areas.join(", "));
    if let (Some(from), Some(to)) = (s.from, s.to) {
        println!("  period {from} .. {to} (end exclusive)");
    }
    println!(
        "  {} readings, {} spot prices, {} exchange rates",
        s.readings, s.spot_prices, s.exchange_rates
    );
    println!(
        "  {} metering points miss a day of readings (not ready for settlement):",
        s.missing_days.len()
    );
    for (gsrn, day) in s.missing_days.iter().take(5) {
        println!("    {gsrn} {day}");
    }
    println!(
        "  {} metering points had an estimated day corrected later (a second version):",
        s.corrected_days.len()
    );
    for (gsrn, day) in s.corrected_days.iter().take(5) {
        println!("    {gsrn} {day}");
    }
    if let Some((gsrn, day)) = s.corrected_days.first() {
        println!(
            "Try: nordlys --db {db} export meter-values --metering-point {gsrn} --from {day} --to {}",
            day.tomorrow().unwrap_or(*day)
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every argument and subcommand below `command` without a help line, as `nordlys bill --period`.
    fn without_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") || arg.is_hide_set() {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                let name = arg
                    .get_long()
                    .map_or_else(|| format!("<{id}>"), |long| format!("--{long}"));
                missing.push(format!("{path} {name}"));
            }
        }
        for sub in command.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                missing.push(sub_path.clone());
            }
            without_help(sub, &sub_path, missing);
        }
    }

    #[test]
    fn every_option_and_subcommand_has_a_help_line() {
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        without_help(&command, "nordlys", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }
}
