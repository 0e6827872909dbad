//! `nordlys rate`: what a load costs under one or more tariffs.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use nordlys_app::rate::{
    RateRequest, TariffFile, choose_products, months_of, rate_load, read_load,
};
use nordlys_core::model::{PriceArea, UsageKind};
use nordlys_core::time::{LocalPeriod, parse_date};
use rust_decimal::Decimal;
use serde_json::json;

use crate::flag_error;
use crate::support::{money, read_products_in, statutory};

#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Args)]
pub struct RateArgs {
    /// Tariff or product file (.toml Nordlys, .yml fri-nettleie, .json OpenEI URDB); one
    /// product is taken from each file (for a fri-nettleie file, the customer kind's group) and
    /// the files add up.
    #[arg(long = "tariff", required = true)]
    tariffs: Vec<PathBuf>,
    /// Exactly these product codes of the tariff files (repeatable), instead of one per file by
    /// customer kind; an unknown code is an error listing the choices.
    #[arg(long = "product", value_name = "CODE")]
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
    /// Price area of the metering point (NO1…NO5, DK1, DK2): whose spot prices apply.
    #[arg(long, default_value = "NO1")]
    area: String,
    /// Municipality number: decides tax zones (e.g. 5501 Tromsø, 5605 Sør-Varanger).
    #[arg(long, default_value = "")]
    municipality: String,
    /// A household (the default): fri-nettleie group `husholdning`, household statutory rules.
    #[arg(long, conflicts_with_all = ["business", "holiday_home"])]
    household: bool,
    /// A small business: fri-nettleie group `liten_næring`, business statutory rules.
    #[arg(long, conflicts_with = "holiday_home")]
    business: bool,
    /// A holiday home: fri-nettleie group `fritid`, holiday-home statutory rules.
    #[arg(long)]
    holiday_home: bool,
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
    /// First day (inclusive), YYYY-MM-DD, instead of --period.
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Last day (exclusive), YYYY-MM-DD.
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
    /// `table` for reading, `json` for programs.
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
}

pub fn rate(args: RateArgs) -> Result<()> {
    let usage = if args.business {
        UsageKind::Business
    } else if args.holiday_home {
        UsageKind::HolidayHome
    } else {
        UsageKind::Household
    };
    let urdb_zone = args
        .timezone
        .as_deref()
        .unwrap_or(nordlys_app::products::DEFAULT_URDB_TIME_ZONE);
    let mut files = Vec::new();
    for path in &args.tariffs {
        files.push(TariffFile {
            source: path.display().to_string(),
            products: read_products_in(path, urdb_zone)?,
        });
    }
    let products = choose_products(files, usage, &args.product_codes)?;
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
        _ => months_of(&load, &first.time_zone)?,
    };
    let statutory = statutory(args.statutory.as_ref())?;
    let request = RateRequest {
        products: &products,
        statutory: &statutory,
        area,
        municipality: args.municipality.clone(),
        usage,
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
    let rated = rate_load(&request, &load, &periods)?;
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
                        "period": if p.period.days() >= 28 && p.period.start.day() == 1 && p.period.start.checked_add(jiff::Span::new().months(1)).is_ok_and(|end| end == p.period.end) {
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
                "currency": currency.code(),
                "products": products.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(),
                "periods": periods,
                "net": money(net), "vat": money(vat), "total": money(total), "diagnostics": diagnostics,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Table => {
            for p in &rated {
                println!("{} .. {} ({})", p.period.start, p.period.end, currency);
                println!(
                    "  {:<20} {:<12} {:<40} {:>12} {:<5}   {:>10}   {:>10}",
                    "product", "kind", "line", "quantity", "unit", "unit price", "net"
                );
                for l in &p.rating.lines {
                    println!(
                        "  {:<20} {:<12} {:<40} {:>12} {:<5} × {:>10} = {:>10}  VAT {}%",
                        l.source.to_string(),
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
