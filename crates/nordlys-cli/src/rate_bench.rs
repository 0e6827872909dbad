//! `nordlys bench rate`: in-memory rating throughput on generated loads (metering-point-months
//! per second, one thread and all cores) and, in the same run, the same invoice computed by a
//! peer — straightforward SQL in DuckDB — with the ratio and a to-the-øre comparison of totals;
//! optionally NREL SAM's rate engine on a comparable tariff as a throughput reference.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nordlys_app::rate::{TariffFile, choose_products};
use nordlys_core::model::{Market, PriceArea, UsageKind};
use nordlys_core::time::{LocalPeriod, Resolution, start_of_local_day};
use nordlys_rating::{
    InvoiceLine, MeterInput, Product, RateError, RatingContext, RatingPlan, Scratch, Statutory,
    parse_product_toml, totals,
};
use rust_decimal::Decimal;
use serde_json::json;

use crate::bench::machine;
use crate::support::read_products_in;

const GRID: &str = include_str!("../../../examples/products/no-elvia-grid-2025.toml");
const SUPPLIER: &str = include_str!("../../../examples/products/no-spot.toml");

/// Options of `nordlys bench rate`.
pub struct RateBench {
    pub tariffs: Vec<PathBuf>,
    /// `--product` codes: exactly these products of the tariff files.
    pub product_codes: Vec<String>,
    /// Whether the statutory charges are added (to the grid tariff of the default mix, or to
    /// the given tariffs).
    pub statutory_charges: bool,
    /// The zone of OpenEI URDB schedules.
    pub urdb_time_zone: String,
    pub metering_points: usize,
    pub resolution: Resolution,
    pub period: LocalPeriod,
    pub json: bool,
    /// Run the DuckDB peer (the default mix only).
    pub duckdb: bool,
    /// Run NREL SAM's rate engine as a throughput reference (the default mix only).
    pub sam: bool,
}

/// One rated set: a plan and whether it carries the statutory charges.
struct Invoice {
    plan: RatingPlan,
    context: RatingContext,
    /// The codes of the products rated.
    products: Vec<String>,
}

pub fn run(options: RateBench) -> Result<()> {
    let statutory = Statutory::default();
    let default_mix = options.tariffs.is_empty();
    let invoices = if default_mix {
        let grid = parse_product_toml(GRID).map_err(|e| anyhow::anyhow!("{e}"))?;
        let supplier = parse_product_toml(SUPPLIER).map_err(|e| anyhow::anyhow!("{e}"))?;
        vec![
            invoice(
                vec![grid],
                &statutory,
                options.period,
                options.resolution,
                options.statutory_charges,
            )?,
            invoice(
                vec![supplier],
                &statutory,
                options.period,
                options.resolution,
                false,
            )?,
        ]
    } else {
        let mut files = Vec::new();
        for path in &options.tariffs {
            files.push(TariffFile {
                source: path.display().to_string(),
                products: read_products_in(path, &options.urdb_time_zone)?,
            });
        }
        let products = choose_products(files, UsageKind::Household, &options.product_codes)?;
        vec![invoice(
            products,
            &statutory,
            options.period,
            options.resolution,
            options.statutory_charges,
        )?]
    };
    let products_rated: Vec<String> = invoices
        .iter()
        .flat_map(|i| i.products.iter().cloned())
        .collect();
    let intervals = invoices[0].plan.intervals();
    let points = options.metering_points.max(1);
    let (energy, spot_cents_per_mwh) = generate(points, intervals, options.resolution);
    let spot: Vec<i64> = spot_cents_per_mwh.iter().map(|c| c * 10_000).collect(); // nano NOK per kWh

    // Correctness pass (untimed): every metering point's invoice total.
    let mut scratch = Scratch::default();
    let mut gross = Vec::with_capacity(points);
    for p in 0..points {
        let lines = rate_point(
            &invoices,
            &mut scratch,
            &energy[p * intervals..(p + 1) * intervals],
            &spot,
        )?;
        gross.push(totals(&lines).gross);
    }

    let one_thread = measure(&invoices, &energy, &spot, intervals, points, 1)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all_cores = measure(&invoices, &energy, &spot, intervals, points, threads)?;
    let readings_per_second = all_cores * intervals as f64;

    let peer = if options.duckdb {
        if !default_mix {
            bail!(
                "the DuckDB peer computes the default product mix only: run without --tariff, or with --peer none"
            );
        }
        if options.period.start < "2025-01-01".parse()?
            || options.period.end > "2025-04-01".parse()?
        {
            bail!(
                "the DuckDB peer is given the Jan–Mar 2025 prices of the default mix: use --period 2025-01, 2025-02 or 2025-03"
            );
        }
        Some(run_duckdb(
            &invoices[0].plan,
            &energy,
            &spot_cents_per_mwh,
            intervals,
            points,
            &gross,
        )?)
    } else {
        None
    };
    let sam = if options.sam {
        Some(run_sam(options.resolution)?)
    } else {
        None
    };

    let label = |r: Resolution| r.code();
    if options.json {
        let mut out = json!({
            "machine": machine(),
            "metering_points": points,
            "intervals_per_month": intervals,
            "resolution": label(options.resolution),
            "period": format!("{}..{}", options.period.start, options.period.end),
            "products": products_rated,
            "statutory_charges": options.statutory_charges,
            "threads": threads,
            "metering_point_months_per_second": all_cores.round(),
            "metering_point_months_per_second_one_thread": one_thread.round(),
            "readings_per_second": readings_per_second.round(),
        });
        if let Some(peer) = &peer {
            out["peer"] = json!({
                "name": "duckdb", "version": peer.version,
                "metering_point_months_per_second": (points as f64 / peer.query_seconds).round(),
                "query_seconds": peer.query_seconds, "load_seconds": peer.load_seconds,
                "nordlys_over_duckdb": all_cores / (points as f64 / peer.query_seconds),
                "totals_agree": peer.agree, "metering_points_compared": points,
            });
        }
        if let Some(sam) = &sam {
            out["reference"] = json!({
                "name": "nrel-pysam Utilityrate5", "version": sam.version,
                "tariff": "comparable (two-period TOU energy, time-series buy rate, flat demand, fixed charge), not to the øre",
                "loads": sam.loads, "metering_point_months_per_second_one_core": sam.per_second.round(),
                "nordlys_one_thread_over_sam": one_thread / sam.per_second,
                "nordlys_all_threads_over_sam_per_core": all_cores / sam.per_second,
            });
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("nordlys bench rate");
        println!("machine: {}", machine());
        println!(
            "input:   {points} metering points × {} ({intervals} intervals of {}) — {}",
            format_args!("{}..{}", options.period.start, options.period.end),
            label(options.resolution),
            match (default_mix, options.statutory_charges) {
                (true, true) => "Elvia grid tariff (time-of-use energy, capacity step, elavgift, Enova, strømstøtte, VAT) + spot supplier product".to_owned(),
                (true, false) => "Elvia grid tariff (time-of-use energy, capacity step, VAT) + spot supplier product, no statutory charges".to_owned(),
                (false, true) => format!("{} with statutory charges", products_rated.join(" + ")),
                (false, false) => format!("{} without statutory charges", products_rated.join(" + ")),
            }
        );
        println!(
            "nordlys: {one_thread:.0} metering-point-months/s on 1 thread; {all_cores:.0} on {threads} threads ({:.0} million readings/s)",
            readings_per_second / 1e6
        );
        if let Some(peer) = &peer {
            let duck = points as f64 / peer.query_seconds;
            println!(
                "duckdb {}: {duck:.0} metering-point-months/s (query {:.2} s on {threads} threads; loading the CSV took {:.2} s more)",
                peer.version, peer.query_seconds, peer.load_seconds
            );
            println!(
                "nordlys is {:.1}× faster than DuckDB on the same tariff and data",
                all_cores / duck
            );
            println!(
                "totals agree to the øre for {} of {points} metering points",
                peer.agree
            );
            for (mp, ours, theirs) in peer.mismatches.iter().take(5) {
                println!("  mismatch: metering point {mp}: nordlys {ours}, duckdb {theirs}");
            }
        }
        if let Some(sam) = &sam {
            println!(
                "SAM Utilityrate5 (nrel-pysam {}): {:.0} metering-point-months/s on one core ({} loads × 12 months at {}, a comparable tariff; throughput only)",
                sam.version,
                sam.per_second,
                sam.loads,
                label(options.resolution)
            );
            println!(
                "nordlys on {threads} threads is {:.0}× SAM per core; on one thread {:.0}×",
                all_cores / sam.per_second,
                one_thread / sam.per_second
            );
        }
    }
    if let Some(peer) = &peer
        && peer.agree != points
    {
        bail!(
            "DuckDB and Nordlys disagree for {} metering points",
            points - peer.agree
        );
    }
    Ok(())
}

fn invoice(
    products: Vec<Product>,
    statutory: &Statutory,
    period: LocalPeriod,
    resolution: Resolution,
    statutory_charges: bool,
) -> Result<Invoice> {
    let plan = RatingPlan::new(&products, statutory, Market::No, period, resolution)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let context = RatingContext {
        market: Market::No,
        price_area: PriceArea::No1,
        municipality: "0301".into(),
        usage: UsageKind::Household,
        apply_statutory: statutory_charges,
        norgespris_from: None,
        main_fuse_amperes: None,
    };
    Ok(Invoice {
        plan,
        context,
        products: products.iter().map(|p| p.code.clone()).collect(),
    })
}

fn rate_point(
    invoices: &[Invoice],
    scratch: &mut Scratch,
    energy: &[i64],
    spot: &[i64],
) -> Result<Vec<InvoiceLine>> {
    let mut lines = Vec::new();
    for invoice in invoices {
        let input = MeterInput {
            energy_wh: energy,
            spot_price: Some(spot),
            ..MeterInput::default()
        };
        lines.extend(
            invoice
                .plan
                .rate_with(scratch, &invoice.context, &input)
                .map_err(|e| match e {
                    RateError::CurrencyMismatch { .. } => {
                        anyhow::anyhow!("{e}: benchmark it with --no-statutory")
                    }
                    e => anyhow::anyhow!("{e}"),
                })?
                .lines,
        );
    }
    Ok(lines)
}

/// Metering-point-months per second on `threads` threads, measured over at least 2 seconds.
fn measure(
    invoices: &[Invoice],
    energy: &[i64],
    spot: &[i64],
    intervals: usize,
    points: usize,
    threads: usize,
) -> Result<f64> {
    let started = Instant::now();
    let mut rated = 0usize;
    while started.elapsed() < Duration::from_secs(2) {
        let per_thread = points.div_ceil(threads);
        let counts: Vec<Result<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || -> Result<usize> {
                        let mut scratch = Scratch::default();
                        let mut n = 0;
                        for p in (t * per_thread)..((t + 1) * per_thread).min(points) {
                            for invoice in invoices {
                                let input = MeterInput {
                                    energy_wh: &energy[p * intervals..(p + 1) * intervals],
                                    spot_price: Some(spot),
                                    ..MeterInput::default()
                                };
                                let rating = invoice
                                    .plan
                                    .rate_with(&mut scratch, &invoice.context, &input)
                                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                                std::hint::black_box(&rating);
                            }
                            n += 1;
                        }
                        Ok(n)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a rating thread failed")))
                })
                .collect()
        });
        for count in counts {
            rated += count?;
        }
    }
    Ok(rated as f64 / started.elapsed().as_secs_f64())
}

/// Seeded household loads (Wh per interval, flat: point-major) with morning and evening peaks
/// and an electric car on some evenings; hourly spot prices in øre-cents… NOK cents per MWh.
fn generate(points: usize, intervals: usize, resolution: Resolution) -> (Vec<i64>, Vec<i64>) {
    let per_hour = (3600 / resolution.seconds()) as usize;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut energy = Vec::with_capacity(points * intervals);
    for p in 0..points {
        let base_w = 800 + (p as i64 % 13) * 90;
        let ev_day = p % 3;
        for i in 0..intervals {
            let hour = (i / per_hour + 1) % 24; // CET, good enough for a shape
            let day = i / per_hour / 24;
            let shape = match hour {
                7..=8 => 180,
                17..=20 => 220,
                0..=5 => 70,
                _ => 100,
            };
            let mut w = base_w * shape / 100 + (next() % 400) as i64;
            if day % 3 == ev_day && (22..24).contains(&hour) {
                w += 7_200;
            }
            energy.push(w * resolution.seconds() / 3600);
        }
    }
    let hours = intervals.div_ceil(per_hour);
    let hourly: Vec<i64> = (0..hours)
        .map(|h| {
            let hour = (h + 1) % 24;
            let peak = if (7..=9).contains(&hour) || (17..=20).contains(&hour) {
                45_000
            } else {
                0
            };
            40_000 + (h as i64 * 7919) % 60_000 + peak // 400.00–1450.00 NOK/MWh in cents
        })
        .collect();
    let spot = (0..intervals).map(|i| hourly[i / per_hour]).collect();
    (energy, spot)
}

struct PeerResult {
    version: String,
    load_seconds: f64,
    query_seconds: f64,
    agree: usize,
    mismatches: Vec<(usize, Decimal, Decimal)>,
}

fn run_duckdb(
    plan: &RatingPlan,
    energy: &[i64],
    spot_cents: &[i64],
    intervals: usize,
    points: usize,
    gross: &[Decimal],
) -> Result<PeerResult> {
    let script = peer_script("duckdb_rate.py")?;
    ensure_python_package("duckdb", "duckdb", "--peer duckdb")?;
    let dir = std::env::temp_dir().join(format!("nordlys-bench-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    {
        let mut out =
            BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("loads.csv"))?);
        writeln!(out, "mp,i,wh")?;
        for p in 0..points {
            for (i, wh) in energy[p * intervals..(p + 1) * intervals]
                .iter()
                .enumerate()
            {
                writeln!(out, "{p},{i},{wh}")?;
            }
        }
        out.flush()?;
        let mut out = BufWriter::new(std::fs::File::create(dir.join("prices.csv"))?);
        writeln!(out, "i,price")?;
        for (i, cents) in spot_cents.iter().enumerate() {
            writeln!(out, "{i},{}", Decimal::new(*cents, 5))?; // cents per MWh = 10^-5 NOK per kWh
        }
        out.flush()?;
    }
    let start = start_of_local_day(plan.period().start, plan.time_zone());
    // Elvia's steps in kW with NOK per year; the peer gets the monthly price (÷ 12, exact).
    let steps: Vec<serde_json::Value> = [(0, 1296), (2, 2064), (5, 3360), (10, 4656), (15, 5952), (20, 7248), (25, 13680), (50, 20160), (75, 26640), (100, 53808)]
        .iter()
        .map(|(kw, year)| json!({"from_w": kw * 1000, "price_per_month": (Decimal::from(*year) / Decimal::from(12)).round_dp(2).to_string()}))
        .collect();
    // The default mix for Jan–Mar 2025, as the example product files and statutory table say.
    let params = json!({
        "time_zone": "Europe/Oslo",
        "start_utc": start.to_string(),
        "resolution_seconds": plan.resolution().seconds(),
        "intervals": intervals,
        "day_from_hour": 6, "day_to_hour": 22,
        "energy_day": "0.2321", "energy_other": "0.1521",
        "capacity_peaks": 3,
        "capacity_steps": steps,
        "elavgift": "0.0979", "enova": "0.01",
        "subsidy_threshold": "0.75", "subsidy_share": "0.9",
        "spot_factor": "1", "spot_markup": "0.049", "supplier_fixed": "39",
        "vat_share": "0.25",
    });
    std::fs::write(
        dir.join("params.json"),
        serde_json::to_string_pretty(&params)?,
    )?;
    let report = run_peer_script(&script, &[dir.as_os_str()], "the DuckDB peer")?;
    let totals = std::fs::read_to_string(dir.join("duckdb_totals.csv"))?;
    let mut agree = 0;
    let mut mismatches = Vec::new();
    for line in totals.lines().skip(1) {
        let (mp, value) = line.split_once(',').context("duckdb_totals.csv")?;
        let (mp, theirs): (usize, Decimal) = (mp.parse()?, value.parse()?);
        let ours = gross.get(mp).copied().unwrap_or_default();
        if ours == theirs {
            agree += 1;
        } else {
            mismatches.push((mp, ours, theirs));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(PeerResult {
        version: report["duckdb_version"].as_str().unwrap_or("?").to_owned(),
        load_seconds: report["load_seconds"].as_f64().unwrap_or(0.0),
        query_seconds: report["query_seconds"].as_f64().unwrap_or(f64::NAN),
        agree,
        mismatches,
    })
}

/// A peer script in `scripts/peer/`, found beside the sources or from the working directory.
fn peer_script(name: &str) -> Result<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/peer")
        .join(name);
    let script = if beside.exists() {
        beside
    } else {
        Path::new("scripts/peer").join(name)
    };
    if !script.exists() {
        bail!("the peer script scripts/peer/{name} is not found (run from the repository)");
    }
    Ok(script)
}

/// Runs a peer script with python3 and reads the JSON object it prints.
fn run_peer_script(
    script: &Path,
    args: &[&std::ffi::OsStr],
    what: &str,
) -> Result<serde_json::Value> {
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .context("running python3")?;
    if !output.status.success() {
        bail!(
            "{what} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(output.stdout.trim_ascii())
        .with_context(|| format!("reading the report of {what}"))
}

/// Installs a Python package with pip when `import module` fails.
fn ensure_python_package(module: &str, package: &str, needed_by: &str) -> Result<()> {
    let present = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    eprintln!("installing the Python package {package} for {needed_by} …");
    let installed = std::process::Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", package])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        bail!(
            "cannot install the Python package {package} (pip install {package}), needed by {needed_by}"
        );
    }
    Ok(())
}

/// SAM's figure: metering-point-months per second on one core.
struct SamResult {
    version: String,
    loads: usize,
    per_second: f64,
}

/// Runs `scripts/peer/pysam_rate.py` at the bench's resolution (a year of loads each).
fn run_sam(resolution: Resolution) -> Result<SamResult> {
    let script = peer_script("pysam_rate.py")?;
    ensure_python_package("PySAM.Utilityrate5", "nrel-pysam", "--peer sam")?;
    let loads = if resolution.seconds() < 3600 {
        150
    } else {
        400
    };
    let loads_arg = loads.to_string();
    let args = [
        loads_arg.as_ref(),
        resolution.code().as_ref(),
        "--json".as_ref(),
    ];
    let report = run_peer_script(&script, &args, "the SAM reference")?;
    let months = report["months"]
        .as_f64()
        .context("SAM's report has no months")?;
    let seconds = report["seconds"]
        .as_f64()
        .context("SAM's report has no seconds")?;
    Ok(SamResult {
        version: report["pysam_version"].as_str().unwrap_or("?").to_owned(),
        loads,
        per_second: months / seconds,
    })
}
