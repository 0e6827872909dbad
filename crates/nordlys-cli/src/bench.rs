//! `nordlys bench …`: benchmarks that generate their input, run the real code path and print
//! the machine, the input size and the figures.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use nordlys_app::import::{MeterValueLimits, import_meter_values, import_metering_points};
use nordlys_app::{NoProgress, SystemClock};
use nordlys_core::ids::Gsrn;
use nordlys_core::time::{format_local, zone};
use nordlys_store::Store;

#[derive(Subcommand)]
pub enum BenchWhat {
    /// In-memory rating throughput on generated loads, and the same invoice in DuckDB SQL.
    Rate {
        /// Tariff files (.toml, .yml, .json OpenEI URDB), one product each (a fri-nettleie
        /// file's household group); without, the realistic Norwegian mix (Elvia grid with
        /// statutory charges + spot supplier product).
        #[arg(long = "tariff")]
        tariffs: Vec<PathBuf>,
        /// Exactly these product codes of the tariff files (repeatable).
        #[arg(long = "product", value_name = "CODE")]
        product_codes: Vec<String>,
        /// Leave out taxes, levies, subsidies and VAT zones (for a tariff not in NOK, e.g. an
        /// OpenEI URDB rate in USD).
        #[arg(long)]
        no_statutory: bool,
        /// Zone of OpenEI URDB schedules (.json tariffs), e.g. America/New_York (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// Generated loads to rate.
        #[arg(long, default_value_t = 10_000)]
        metering_points: usize,
        /// Interval of the loads: PT15M or PT1H.
        #[arg(long, default_value = "PT15M")]
        resolution: String,
        /// The month rated, YYYY-MM.
        #[arg(long, default_value = "2025-01")]
        period: String,
        /// `table` or `json`.
        #[arg(long, default_value = "table")]
        format: String,
        /// `duckdb` (the same invoice in DuckDB SQL, compared to the øre), `sam` (NREL SAM's
        /// rate engine on a comparable tariff, a throughput reference), `all` or `none`.
        #[arg(long, default_value = "duckdb")]
        peer: String,
    },
    /// The end-to-end run: N metering points with one month of 15-minute readings in a fresh
    /// SQLite file, settled to issued invoices with numbers and KID.
    Settle {
        /// Metering points (one account each) to build and settle.
        #[arg(long, default_value_t = 100_000)]
        metering_points: u64,
        /// Settle with this many `nordlys worker` processes (PostgreSQL); a list (1,2) runs
        /// each on a copy of the same input and prints the speed-up.
        #[arg(long, value_delimiter = ',')]
        workers: Vec<usize>,
        /// Where to put the database (default: a new temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the database.
        #[arg(long)]
        keep: bool,
    },
    /// The documents of a billed run (`--db`, e.g. the `settle.db` that `bench settle --keep
    /// --dir D` leaves): assembled from the store, EHF on 1 and 2 threads, PDF/A-3 of a sample,
    /// a sample validated with the official rules.
    Documents {
        /// The billing period whose documents are rendered, YYYY-MM.
        #[arg(long, default_value = "2025-01")]
        period: String,
        /// Thread counts to render with.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        threads: Vec<usize>,
        /// Documents rendered as PDF (spread evenly over the run).
        #[arg(long, default_value_t = 3000)]
        pdf_sample: usize,
        /// Documents validated with the official rules (spread evenly; 0: none).
        #[arg(long, default_value_t = 2000)]
        validate_sample: usize,
        /// The official Peppol / EN 16931 validator.
        #[arg(long, default_value = "../shared/tools/peppol/validate")]
        validator: PathBuf,
    },
    /// Receivables on a billed run (`--db`, a copy of the `settle.db` that `bench settle --keep
    /// --dir D` leaves; the bench writes to it): a dunning run over every open invoice, then an
    /// OCR giro file paying them imported and matched.
    Receivables,
    /// Import generated 15-minute meter values into a fresh SQLite file: rows/s and bytes on
    /// disk per metering-point-year.
    Import {
        /// Meter-value rows to import (default: 857 metering points × one year of quarter-hours).
        #[arg(long, default_value_t = 30_029_280)]
        rows: u64,
        /// Metering points the rows are spread over (rows / points readings each, from 2025-01-01).
        #[arg(long, default_value_t = 857)]
        metering_points: u64,
        /// Where to put the generated CSV and the database (default: a new temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the generated files.
        #[arg(long)]
        keep: bool,
    },
}

/// Run a benchmark. `db` is the global `--db`: a `postgres://` URL runs `settle` and `import`
/// on that server, in a new database made for the run; anything else uses a new SQLite file.
pub async fn run(what: BenchWhat, db: &str) -> Result<()> {
    let postgres =
        (db.starts_with("postgres://") || db.starts_with("postgresql://")).then(|| db.to_owned());
    match what {
        BenchWhat::Rate {
            tariffs,
            product_codes,
            no_statutory,
            timezone,
            metering_points,
            resolution,
            period,
            format,
            peer,
        } => {
            let resolution = nordlys_core::time::Resolution::parse(&resolution)
                .map_err(|e| crate::flag_error("--resolution", e))?;
            let period = nordlys_core::time::LocalPeriod::parse_month(&period)
                .map_err(|e| crate::flag_error("--period", e))?;
            let json = match format.as_str() {
                "json" => true,
                "table" => false,
                other => bail!("--format {other:?}: must be one of: table, json"),
            };
            // The peers compute the default mix (DuckDB with its statutory charges); given
            // tariffs are benchmarked without them.
            let default_mix = tariffs.is_empty();
            let duckdb_peer = default_mix && !no_statutory;
            let (duckdb, sam) = match peer.as_str() {
                "duckdb" => (duckdb_peer, false),
                "sam" => (false, default_mix),
                "all" => (duckdb_peer, default_mix),
                "none" => (false, false),
                other => bail!("--peer {other:?}: must be one of: duckdb, sam, all, none"),
            };
            crate::rate_bench::run(crate::rate_bench::RateBench {
                tariffs,
                product_codes,
                statutory_charges: !no_statutory,
                urdb_time_zone: timezone
                    .unwrap_or_else(|| nordlys_app::products::DEFAULT_URDB_TIME_ZONE.to_owned()),
                metering_points,
                resolution,
                period,
                json,
                duckdb,
                sam,
            })
        }
        BenchWhat::Settle {
            metering_points,
            workers,
            dir,
            keep,
        } => crate::bench_settle::run(metering_points, postgres, workers, dir, keep).await,
        BenchWhat::Receivables => crate::bench_receivables::run(db).await,
        BenchWhat::Documents {
            period,
            threads,
            pdf_sample,
            validate_sample,
            validator,
        } => {
            crate::bench_documents::run(
                db,
                crate::bench_documents::DocumentsBench {
                    period,
                    threads,
                    pdf_sample,
                    validate_sample,
                    validator,
                },
            )
            .await
        }
        BenchWhat::Import {
            rows,
            metering_points,
            dir,
            keep,
        } => bench_import(rows, metering_points, postgres, dir, keep).await,
    }
}

/// The machine, for the first lines of every benchmark's output.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0.0, |kb| kb as f64 / 1024.0 / 1024.0);
    format!(
        "{model}, {cores} cores, {mem_gib:.1} GiB RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Peak resident memory of this process in MiB (Linux), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// A new database for a benchmark: on the PostgreSQL server `postgres` (a database of its own,
/// named in the output), else the SQLite file `path`.
pub async fn bench_database(postgres: Option<&str>, path: &std::path::Path) -> Result<String> {
    Ok(match postgres {
        Some(server) => {
            if !server.starts_with("postgres") {
                bail!(
                    "--db {server:?}: give a postgres://user@host:port/db URL (SQLite is the default)"
                );
            }
            nordlys_store::Store::open(server).await?.close().await;
            nordlys_store::testing::create_postgres_database(server).await
        }
        None => path.display().to_string(),
    })
}

async fn bench_import(
    rows: u64,
    points: u64,
    postgres: Option<String>,
    dir: Option<PathBuf>,
    keep: bool,
) -> Result<()> {
    if points == 0 || rows < points {
        bail!("--rows must be at least --metering-points, and both at least 1");
    }
    let temp = match &dir {
        Some(_) => None,
        None => Some(tempfile_dir()?),
    };
    let dir = dir
        .or_else(|| temp.clone())
        .context("no benchmark folder")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let per_point = rows / points;
    let rows = per_point * points;
    println!("nordlys bench import");
    println!("machine: {}", machine());
    println!(
        "input:   {rows} rows = {points} metering points × {per_point} quarter-hours from 2025-01-01 (Europe/Oslo offsets)"
    );

    let points_csv = dir.join("metering-points.csv");
    let values_csv = dir.join("meter-values.csv");
    let db_path = dir.join("bench.db");
    for stale in [
        &db_path,
        &dir.join("bench.db-wal"),
        &dir.join("bench.db-shm"),
    ] {
        let _ = std::fs::remove_file(stale);
    }
    let generated = Instant::now();
    let gsrns = write_points(&points_csv, points)?;
    write_values(&values_csv, &gsrns, per_point)?;
    let csv_bytes = std::fs::metadata(&values_csv)?.len();
    println!(
        "generated {:.2} GB of CSV in {:.1} s",
        csv_bytes as f64 / 1e9,
        generated.elapsed().as_secs_f64()
    );

    let location = bench_database(postgres.as_deref(), &db_path).await?;
    println!(
        "database: {} ({location})",
        if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let store = Store::open(&location).await?;
    let clock = SystemClock;
    let file = std::fs::File::open(&points_csv)?;
    import_metering_points(
        &store,
        "metering-points.csv",
        std::io::BufReader::new(file),
        &clock,
    )
    .await?;
    let file = std::fs::File::open(&values_csv)?;
    let started = Instant::now();
    let report = import_meter_values(
        &store,
        "meter-values.csv",
        std::io::BufReader::with_capacity(1 << 20, file),
        Some(csv_bytes),
        &clock,
        Arc::new(NoProgress),
        MeterValueLimits::default(),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = store.summary().await?;
    store.compact().await?;
    let db_bytes = store.database_size_bytes().await?.max(0) as u64;
    store.close().await;
    let point_years = points as f64 * per_point as f64 / 35_040.0;
    println!(
        "imported {} rows in {seconds:.2} s: {:.0} rows/s ({:.0} MB/s of CSV)",
        report.rows,
        report.rows as f64 / seconds,
        csv_bytes as f64 / seconds / 1e6
    );
    println!(
        "database {:.1} MB after VACUUM: {:.1} KB per metering-point-year at 15 minutes (readings alone {:.1} KB; {:.2} bytes per reading)",
        db_bytes as f64 / 1e6,
        db_bytes as f64 / point_years / 1e3,
        summary.meter_value_chunk_bytes as f64 / point_years / 1e3,
        db_bytes as f64 / rows as f64
    );
    if let Some(peak) = peak_rss_mib() {
        println!(
            "peak memory {peak:.0} MiB (the CSV is {:.0} MiB)",
            csv_bytes as f64 / 1024.0 / 1024.0
        );
    }
    if keep {
        println!("kept {}", dir.display());
    } else if let Some(temp) = temp {
        std::fs::remove_dir_all(temp)?;
    } else {
        for file in [&points_csv, &values_csv, &db_path] {
            let _ = std::fs::remove_file(file);
        }
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("nordlys-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn write_points(path: &PathBuf, points: u64) -> Result<Vec<String>> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "metering_point_id,market,price_area,grid_owner,resolution,utility,usage"
    )?;
    let mut gsrns = Vec::new();
    for n in 0..points {
        let gsrn = Gsrn::from_body(&format!("70705750{:09}", n + 1))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        writeln!(
            out,
            "{gsrn},NO,NO1,7080005046220,PT15M,electricity,household"
        )?;
        gsrns.push(gsrn.to_string());
    }
    out.flush()?;
    Ok(gsrns)
}

/// Long-format meter values; instants are formatted once and reused for every point.
fn write_values(path: &PathBuf, gsrns: &[String], per_point: u64) -> Result<()> {
    let tz = zone("Europe/Oslo").map_err(|e| anyhow::anyhow!("{e}"))?;
    let start: jiff::Timestamp = "2024-12-31T23:00:00Z".parse()?;
    let instants: Vec<String> = (0..=per_point)
        .map(|i| format_local(start + jiff::SignedDuration::from_secs(i as i64 * 900), &tz))
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "metering_point_id,start,end,quantity_kwh,quality")?;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for (p, gsrn) in gsrns.iter().enumerate() {
        let base = 150 + (p as i64 % 7) * 40;
        for i in 0..per_point as usize {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let hour = (i / 4) % 24;
            let shape = if (7..9).contains(&hour) || (17..21).contains(&hour) {
                2
            } else {
                1
            };
            let wh = base * shape + (seed % 120) as i64;
            writeln!(
                out,
                "{gsrn},{},{},{}.{:03},measured",
                instants[i],
                instants[i + 1],
                wh / 1000,
                wh % 1000
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
