//! The billing-side commands: `products`, `bill`, `invoices`, `rate`. Argument parsing and
//! presentation only; the work is done by `nordlys_app`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use nordlys_app::Clock;
use nordlys_app::billing::{BillingPolicy, RunReport, correct, settle};
use nordlys_app::products::ProductFormat;
use nordlys_app::rate::{RateRequest, months_of, rate_load, read_load};
use nordlys_core::document::CorrectionMode;
use nordlys_core::kid::KidAlgorithm;
use nordlys_core::model::{PriceArea, UsageKind};
use nordlys_core::time::{LocalPeriod, parse_date};
use nordlys_rating::{Product, Statutory};
use rust_decimal::Decimal;
use serde_json::json;

use crate::{flag_error, open, progress};

#[derive(Subcommand)]
pub enum ProductsWhat {
    /// Parse and validate product files (.toml Nordlys, .yml fri-nettleie); store nothing.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn products(what: ProductsWhat) -> Result<()> {
    let ProductsWhat::Validate { files } = what;
    let mut failed = 0;
    for path in &files {
        match read_products(path) {
            Ok(products) => {
                for p in products {
                    println!(
                        "{}: {} ({}, {} components) is valid",
                        path.display(),
                        p.code,
                        p.name,
                        p.components.len()
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} files have invalid products", files.len());
    }
    Ok(())
}

fn read_products(path: &PathBuf) -> Result<Vec<Product>> {
    read_products_in(path, nordlys_app::products::DEFAULT_URDB_TIME_ZONE)
}

/// Products of a file; OpenEI URDB schedules (.json) are read in `urdb_time_zone`.
fn read_products_in(path: &PathBuf, urdb_time_zone: &str) -> Result<Vec<Product>> {
    let source = path.display().to_string();
    let format = ProductFormat::from_path(path).with_context(|| {
        format!("{source}: product files are .toml (Nordlys) or .yml/.yaml (fri-nettleie)")
    })?;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {source}"))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("product");
    nordlys_app::products::parse_product_file_in(format, stem, &source, &text, urdb_time_zone)
        .map_err(|e| anyhow::anyhow!(e))
}

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

fn statutory(path: Option<&PathBuf>) -> Result<Statutory> {
    match path {
        None => Ok(Statutory::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Statutory::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
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

fn money(d: Decimal) -> String {
    format!("{:.2}", d)
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
    println!("{title} ({run}) in {:.2} s", r.elapsed.as_secs_f64());
    if r.kind == "settlement" {
        println!(
            "  accounts {}, contracts settled {}, already settled before {}",
            r.accounts, r.contracts_settled, r.already_settled
        );
    } else {
        println!(
            "  contract-periods corrected {}, re-rated without change {}",
            r.contracts_settled, r.unchanged_after_correction
        );
    }
    let numbers: Vec<String> = r
        .numbers
        .iter()
        .map(|(s, a, b)| format!("{s} {a}–{b}"))
        .collect();
    println!(
        "  invoices {}, credit notes {}{}",
        r.invoices,
        r.credit_notes,
        if numbers.is_empty() {
            String::new()
        } else {
            format!(" (numbers {})", numbers.join(", "))
        }
    );
    println!(
        "  net {}  VAT {}  total {}",
        money(r.net),
        money(r.vat),
        money(r.gross)
    );
    if !r.not_ready.is_empty() {
        println!(
            "  not ready: {} contracts ({}; their accounts wait):",
            r.not_ready.len(),
            if r.dry_run {
                "dry run: no tasks recorded"
            } else {
                "missing-basis tasks recorded"
            }
        );
        for nr in r.not_ready.iter().take(20) {
            println!(
                "    {} {} {}: {}",
                nr.period,
                nr.contract_id,
                nr.metering_point.as_deref().unwrap_or("-"),
                nr.reason
            );
        }
        if r.not_ready.len() > 20 {
            println!("    … and {} more", r.not_ready.len() - 20);
        }
    }
}

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
                    d.kid,
                    d.account_id,
                    d.period,
                    d.due_date.to_string(),
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
                summary.kid,
                summary.account_id,
                summary.period,
                summary.issue_date,
                summary.due_date,
                summary
                    .references
                    .map_or(String::new(), |r| format!("  corrects document {r}"))
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

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Args)]
pub struct RateArgs {
    /// Tariff or product file (.toml Nordlys, .yml fri-nettleie); several add up.
    #[arg(long = "tariff", required = true)]
    tariffs: Vec<PathBuf>,
    /// Only these product codes of the tariff files (default: all).
    #[arg(long = "product")]
    product_codes: Vec<String>,
    /// Load in the meter-values CSV format.
    #[arg(long)]
    load: PathBuf,
    /// Spot prices in the spot-prices CSV format.
    #[arg(long)]
    prices: Option<PathBuf>,
    /// 1 unit of the prices' currency in the tariff currency (e.g. EUR→NOK 11.5).
    #[arg(long)]
    exchange_rate: Option<Decimal>,
    #[arg(long, default_value = "NO1")]
    area: String,
    /// Municipality number: decides tax zones (e.g. 5501 Tromsø, 5605 Sør-Varanger).
    #[arg(long, default_value = "")]
    municipality: String,
    #[arg(long, conflicts_with = "business")]
    household: bool,
    #[arg(long)]
    business: bool,
    /// Main fuse size in amperes, for grid tariffs priced by it (e.g. 25, 63).
    #[arg(long)]
    main_fuse_amperes: Option<String>,
    /// The day a Norgespris agreement took effect (YYYY-MM-DD): Norgespris from it, strømstøtte
    /// before it.
    #[arg(long)]
    norgespris_from: Option<String>,
    /// Time zone of the periods (must match the tariffs').
    #[arg(long)]
    timezone: Option<String>,
    /// One month, YYYY-MM.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    period: Option<String>,
    #[arg(long, requires = "to")]
    from: Option<String>,
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Leave out taxes, levies, subsidies and VAT zones.
    #[arg(long)]
    no_statutory: bool,
    /// Statutory tables to use instead of the shipped ones.
    #[arg(long)]
    statutory: Option<PathBuf>,
    /// Show what produced each line.
    #[arg(long)]
    explain: bool,
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
}

pub fn rate(args: RateArgs) -> Result<()> {
    let mut products = Vec::new();
    let urdb_zone = args
        .timezone
        .as_deref()
        .unwrap_or(nordlys_app::products::DEFAULT_URDB_TIME_ZONE);
    for path in &args.tariffs {
        products.extend(read_products_in(path, urdb_zone)?);
    }
    if !args.product_codes.is_empty() {
        products.retain(|p| args.product_codes.contains(&p.code));
        if products.is_empty() {
            bail!(
                "no product in the tariff files has code {}",
                args.product_codes.join(" or ")
            );
        }
    }
    let Some(first) = products.first() else {
        bail!("the tariff files hold no products")
    };
    if let Some(tz) = &args.timezone
        && tz != &first.time_zone_name
    {
        bail!(
            "--timezone {tz:?}: the tariff {} is in {}; periods follow the tariff's zone",
            first.code,
            first.time_zone_name
        );
    }
    let area = PriceArea::parse(&args.area).map_err(|e| flag_error("--area", e))?;
    let load_source = args.load.display().to_string();
    let file =
        std::fs::File::open(&args.load).with_context(|| format!("cannot open {load_source}"))?;
    let load = read_load(&load_source, std::io::BufReader::new(file))?;
    let prices = match &args.prices {
        None => None,
        Some(path) => Some(read_prices(path, area)?),
    };
    let periods = match (&args.period, &args.from, &args.to) {
        (Some(p), _, _) => {
            vec![LocalPeriod::parse_month(p).map_err(|e| flag_error("--period", e))?]
        }
        (None, Some(f), Some(t)) => {
            let from = parse_date("from", f).map_err(|e| flag_error("--from", e))?;
            let to = parse_date("to", t).map_err(|e| flag_error("--to", e))?;
            vec![LocalPeriod::new(from, to).map_err(|e| flag_error("--to", e))?]
        }
        _ => months_of(&load, &first.time_zone),
    };
    let statutory = statutory(args.statutory.as_ref())?;
    let request = RateRequest {
        products: &products,
        statutory: &statutory,
        area,
        municipality: args.municipality.clone(),
        usage: if args.business {
            UsageKind::Business
        } else {
            UsageKind::Household
        },
        apply_statutory: !args.no_statutory,
        main_fuse_amperes: match &args.main_fuse_amperes {
            Some(text) => nordlys_core::model::parse_main_fuse_amperes(text)
                .map_err(|e| flag_error("--main-fuse-amperes", e))?,
            None => None,
        },
        norgespris_from: match &args.norgespris_from {
            Some(text) => Some(
                nordlys_core::time::parse_date("norgespris_from", text)
                    .map_err(|e| flag_error("--norgespris-from", e))?,
            ),
            None => None,
        },
        prices: prices.as_deref(),
        exchange_rate: args.exchange_rate,
    };
    let rated = rate_load(&request, &load, &periods).map_err(|e| anyhow::anyhow!(e))?;
    let currency = first.currency;
    let (mut net, mut vat, mut total) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for p in &rated {
        net += p.totals.net;
        vat += p.totals.vat_total;
        total += p.totals.gross;
    }
    match args.format {
        OutputFormat::Json => {
            let periods: Vec<serde_json::Value> = rated
                .iter()
                .map(|p| {
                    let lines: Vec<serde_json::Value> = p
                        .rating
                        .lines
                        .iter()
                        .map(|l| {
                            let vat = nordlys_core::document::round_money(l.net * l.vat_percent / Decimal::ONE_HUNDRED);
                            let mut line = json!({
                                "kind": l.kind.code(), "code": l.code.to_string(), "source": l.source.to_string(),
                                "description": l.description.to_string(), "quantity": l.quantity.normalize().to_string(),
                                "unit": l.unit.code(), "unit_price": l.unit_price.normalize().to_string(), "net": money(l.net),
                                "vat_rate": l.vat_percent.normalize().to_string(), "vat_category": l.vat_category.code(), "vat": money(vat),
                                "from": l.from.to_string(), "to": l.to.to_string(),
                            });
                            if args.explain {
                                line["explanation"] = json!(l.explanation.iter().map(|e| e.to_string()).collect::<Vec<_>>());
                            }
                            line
                        })
                        .collect();
                    json!({
                        "period": if p.period.days() >= 28 && p.period.start.day() == 1 && p.period.end == p.period.start.checked_add(jiff::Span::new().months(1)).unwrap_or(p.period.end) {
                            format!("{:04}-{:02}", p.period.start.year(), p.period.start.month())
                        } else {
                            format!("{}..{}", p.period.start, p.period.end)
                        },
                        "start": p.start.to_string(), "end": p.end.to_string(), "lines": lines,
                        "net": money(p.totals.net), "vat": money(p.totals.vat_total), "total": money(p.totals.gross),
                    })
                })
                .collect();
            let diagnostics: Vec<serde_json::Value> = rated
                .iter()
                .flat_map(|p| {
                    p.rating
                        .diagnostics
                        .iter()
                        .map(|d| json!({"code": d.code.to_string(), "message": d.message}))
                })
                .collect();
            let out = json!({
                "currency": currency.code(), "periods": periods,
                "net": money(net), "vat": money(vat), "total": money(total), "diagnostics": diagnostics,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Table => {
            for p in &rated {
                println!("{} .. {} ({})", p.period.start, p.period.end, currency);
                for l in &p.rating.lines {
                    println!(
                        "  {:<12} {:<40} {:>12} {:<5} × {:>10} = {:>10}  VAT {}%",
                        l.kind.code(),
                        l.description.to_string(),
                        l.quantity.normalize().to_string(),
                        l.unit.code(),
                        l.unit_price.normalize().to_string(),
                        money(l.net),
                        l.vat_percent.normalize()
                    );
                    if args.explain {
                        for e in &l.explanation {
                            println!("                 {e}");
                        }
                    }
                }
                println!(
                    "  net {}  VAT {}  total {}",
                    money(p.totals.net),
                    money(p.totals.vat_total),
                    money(p.totals.gross)
                );
                for d in &p.rating.diagnostics {
                    println!("  note: {}", d.message);
                }
            }
            if rated.len() > 1 {
                println!(
                    "all periods: net {}  VAT {}  total {} {}",
                    money(net),
                    money(vat),
                    money(total),
                    currency
                );
            }
        }
    }
    Ok(())
}

fn read_prices(path: &PathBuf, area: PriceArea) -> Result<Vec<nordlys_core::model::SpotPrice>> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {source}"))?;
    let mut prices = nordlys_app::import::read_spot_prices(&source, std::io::BufReader::new(file))?;
    prices.retain(|p| p.area == area);
    prices.sort_by_key(|p| p.start);
    Ok(prices)
}

/// The demo's billing: settle each month, then the grid company's corrected values arrive and
/// the correction run credits and reissues what changed.
pub async fn demo_billing(
    store: &nordlys_store::Store,
    summary: &nordlys_app::demo::DemoSummary,
    first_month: LocalPeriod,
    months: u32,
    clock: &dyn Clock,
) -> Result<()> {
    let policy = BillingPolicy::default();
    let statutory = Arc::new(Statutory::default());
    let mut month = first_month;
    for _ in 0..months {
        println!();
        let report = settle(
            store,
            month,
            None,
            &policy,
            Arc::clone(&statutory),
            clock,
            progress::for_stderr(),
            false,
        )
        .await?;
        print_report(&report);
        let next = month.end;
        month = LocalPeriod {
            start: next,
            end: next
                .checked_add(jiff::Span::new().months(1))
                .unwrap_or(next),
        };
    }
    let changed =
        nordlys_app::demo::deliver_demo_corrections(store, &summary.corrected_days, clock).await?;
    println!();
    println!(
        "The grid company re-sent {} days ({changed} readings) with corrected values.",
        summary.corrected_days.len()
    );
    let report = correct(
        store,
        &policy,
        statutory,
        clock,
        progress::for_stderr(),
        false,
    )
    .await?;
    print_report(&report);
    println!();
    println!("See the documents: nordlys invoices list; nordlys invoices show ID");
    Ok(())
}
