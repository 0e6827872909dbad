//! `nordlys bench settle`: the end-to-end run — generated master data, products, prices and
//! one month of 15-minute readings for N metering points stored in a fresh SQLite file, then
//! the real settlement run to issued invoices with numbers and KID, timed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use jiff::civil::Date;
use nordlys_app::billing::{BillingPolicy, plan_settlement, settle};
use nordlys_app::{FixedClock, NoProgress};
use nordlys_core::ids::{Gln, Gsrn};
use nordlys_core::model::{
    Account, Address, Contract, ContractRole, Customer, CustomerIdentity, DayReadings,
    ExchangeRate, InvoiceChannel, Language, Market, MeteringPoint, PriceArea, Quality, SpotPrice,
    UsageKind, Utility,
};
use nordlys_core::quantity::{Currency, EnergyWh};
use nordlys_core::time::{LocalPeriod, Resolution, start_of_local_day};
use nordlys_rating::Statutory;
use nordlys_store::{ImportCounts, Store};
use rust_decimal::Decimal;

use crate::bench::{machine, peak_rss_mib};

const PRODUCTS: &[(&str, &str)] = &[
    (
        "no-spot.toml",
        include_str!("../../../examples/products/no-spot.toml"),
    ),
    (
        "no-elvia-grid-2025.toml",
        include_str!("../../../examples/products/no-elvia-grid-2025.toml"),
    ),
];

pub async fn run(
    points: u64,
    postgres: Option<String>,
    workers: Vec<usize>,
    dir: Option<PathBuf>,
    keep: bool,
) -> Result<()> {
    if points == 0 {
        bail!("--metering-points must be at least 1");
    }
    if workers.contains(&0) {
        bail!("--workers: each count must be at least 1");
    }
    let temp = std::env::temp_dir().join(format!("nordlys-bench-settle-{}", std::process::id()));
    let dir = dir.unwrap_or_else(|| temp.clone());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db_path = dir.join("settle.db");
    for stale in ["settle.db", "settle.db-wal", "settle.db-shm"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }
    let period = LocalPeriod::parse_month("2025-01").map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("nordlys bench settle");
    println!("machine: {}", machine());
    println!(
        "input:   {points} metering points (households, NO1, PT15M) × January 2025 = {} readings; 2 contracts each (spot supply + Elvia grid with statutory charges)",
        points * 2976
    );
    let location = crate::bench::bench_database(postgres.as_deref(), &db_path).await?;
    println!(
        "database: {} ({location})",
        if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let store = Store::open(&location).await?;
    let generated = Instant::now();
    generate(&store, points, period).await?;
    println!(
        "generated and stored the input in {:.1} s",
        generated.elapsed().as_secs_f64()
    );
    if !workers.is_empty() {
        store.close().await;
        return settle_with_workers(
            &location,
            postgres.as_deref(),
            &workers,
            points,
            period,
            &dir,
        )
        .await;
    }

    let clock = FixedClock("2025-02-03T06:00:00Z".parse()?);
    let started = Instant::now();
    let report = settle(
        &store,
        period,
        None,
        &BillingPolicy::default(),
        Arc::new(Statutory::default()),
        &clock,
        Arc::new(NoProgress),
        false,
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = store.summary().await?;
    store.close().await;
    println!(
        "settled {} contracts into {} invoices (numbers {}) in {seconds:.2} s: {:.0} metering points/s; {} not ready",
        report.contracts_settled,
        report.invoices,
        report
            .numbers
            .iter()
            .map(|(s, a, b)| format!("{s} {a}–{b}"))
            .collect::<Vec<_>>()
            .join(", "),
        points as f64 / seconds,
        report.not_ready.len()
    );
    println!(
        "invoice total {:.2} NOK incl. VAT; {} documents in the database",
        report.gross, summary.documents
    );
    if let Some(peak) = peak_rss_mib() {
        println!("peak memory {peak:.0} MiB");
    }
    if keep {
        println!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&temp);
        for stale in ["settle.db", "settle.db-wal", "settle.db-shm"] {
            let _ = std::fs::remove_file(dir.join(stale));
        }
    }
    Ok(())
}

/// Settle copies of the generated input at `location` with each count of worker processes,
/// timed from planning to the run's end, and print the speed-up over the first count.
async fn settle_with_workers(
    location: &str,
    postgres: Option<&str>,
    workers: &[usize],
    points: u64,
    period: LocalPeriod,
    dir: &std::path::Path,
) -> Result<()> {
    // Copies first: each count settles the same input.
    let mut locations = vec![location.to_owned()];
    for i in 1..workers.len() {
        locations.push(match postgres {
            Some(_) => nordlys_store::testing::copy_database(location, dir).await,
            None => {
                let copy = dir.join(format!("settle-{i}.db"));
                std::fs::copy(location, &copy)?;
                copy.display().to_string()
            }
        });
    }
    let exe = std::env::current_exe()?;
    let mut first_seconds = None;
    for (count, location) in workers.iter().zip(&locations) {
        let store = Store::open(location).await?;
        let clock = FixedClock("2025-02-03T06:00:00Z".parse()?);
        let started = Instant::now();
        let planned = plan_settlement(
            &store,
            period,
            &BillingPolicy::default(),
            &Statutory::default(),
            &clock,
            500,
        )
        .await?;
        let mut children = Vec::new();
        for _ in 0..*count {
            children.push(
                tokio::process::Command::new(&exe)
                    .arg("--db")
                    .arg(location)
                    .args(["worker", "--run", &planned.run_id.to_string()])
                    .stdout(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()?,
            );
        }
        for child in &mut children {
            let status = child.wait().await?;
            if !status.success() {
                bail!("a worker process ended with {status}");
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let run = store
            .run(planned.run_id)
            .await?
            .context("the run is not stored")?;
        if run.finished_at.is_none() {
            bail!("run {} did not finish", run.id);
        }
        let documents = store.run_documents(planned.run_id).await?;
        store.close().await;
        let total: rust_decimal::Decimal = documents
            .by_series
            .iter()
            .map(|s| s.gross.parse::<rust_decimal::Decimal>().unwrap_or_default())
            .sum();
        let speed_up = match first_seconds {
            None => {
                first_seconds = Some(seconds);
                String::new()
            }
            Some(first) => format!(
                "; speed-up over {} workers {:.2}×",
                workers[0],
                first / seconds
            ),
        };
        println!(
            "{count} workers: {} batches, {} invoices in {seconds:.2} s: {:.0} metering points/s; invoice total {total:.2} NOK incl. VAT{speed_up}",
            planned.batches,
            documents.invoices,
            points as f64 / seconds,
        );
    }
    if let Some(peak) = peak_rss_mib() {
        println!("peak memory of this process {peak:.0} MiB (each worker is a process of its own)");
    }
    Ok(())
}

async fn generate(store: &Store, points: u64, period: LocalPeriod) -> Result<()> {
    let now = "2025-02-02T06:00:00Z".parse()?;
    let mut tx = store
        .begin_import("bench", "nordlys bench settle", now)
        .await?;
    let mut counts = ImportCounts::default();
    for (name, text) in PRODUCTS {
        let product =
            nordlys_rating::parse_product_toml(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        counts.record(tx.upsert_product(&product.code, "toml", name, text).await?);
    }
    let elvia = Gln::parse("7080005046220").map_err(|e| anyhow::anyhow!("{e}"))?;
    let start: Date = "2024-01-01".parse()?;
    for n in 0..points {
        let customer_id = format!("K{n:07}");
        let account_id = format!("A{n:07}");
        let gsrn = Gsrn::from_body(&format!("70705750{:09}", n + 1))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let address = Address {
            street: "Storgata 1".into(),
            postcode: "0150".into(),
            city: "Oslo".into(),
            municipality: "0301".into(),
            county: "Oslo".into(),
        };
        let org = synthetic_org_number(n);
        tx.upsert_customer(&Customer {
            customer_id: customer_id.clone(),
            identity: CustomerIdentity::NorwegianOrganisation(org),
            name: format!("Kunde {n}"),
            email: String::new(),
            phone: String::new(),
            address: address.clone(),
        })
        .await?;
        tx.upsert_account(&Account {
            account_id: account_id.clone(),
            customer_id: customer_id.clone(),
            payer_customer_id: customer_id,
            invoice_channel: InvoiceChannel::EFaktura,
            language: Language::Nb,
            email: String::new(),
            invoice_address: None,
        })
        .await?;
        tx.upsert_metering_point(&MeteringPoint {
            metering_point_id: gsrn.clone(),
            market: Market::No,
            price_area: PriceArea::No1,
            grid_owner: elvia.clone(),
            resolution: Resolution::Pt15m,
            utility: Utility::Electricity,
            usage: UsageKind::Household,
            address,
            main_fuse_amperes: Some(40),
            norgespris_from: None,
        })
        .await?;
        for (suffix, product, role) in [
            ("S", "no-spot", ContractRole::Supplier),
            ("G", "no-elvia-husholdning", ContractRole::GridOwner),
        ] {
            tx.upsert_contract(&Contract {
                contract_id: format!("C{n:07}-{suffix}"),
                account_id: account_id.clone(),
                metering_point_id: Some(gsrn.clone()),
                product_code: product.into(),
                role,
                start,
                end: None,
            })
            .await?;
        }
    }
    // Hourly NO1 prices in EUR and daily EUR→NOK rates.
    let tz = Market::No.time_zone();
    let (from, to) = period.to_utc(&tz);
    let mut t = from.as_second() - 86_400;
    let mut h = 0i64;
    while t < to.as_second() + 86_400 {
        let price = SpotPrice {
            area: PriceArea::No1,
            start: jiff::Timestamp::from_second(t)?,
            end: jiff::Timestamp::from_second(t + 3600)?,
            price_per_mwh: Decimal::new(5000 + (h * 7919) % 9000, 2),
            currency: Currency::Eur,
        };
        tx.upsert_spot_price(&price).await?;
        t += 3600;
        h += 1;
    }
    let mut day = period.start.checked_sub(jiff::Span::new().days(3))?;
    while day < period.end {
        tx.upsert_exchange_rate(&ExchangeRate {
            date: day,
            base: Currency::Eur,
            quote: Currency::Nok,
            rate: Decimal::new(117_500, 4),
        })
        .await?;
        day = day.tomorrow()?;
    }
    tx.commit(counts).await?;

    // Readings: one transaction per 2,000 metering points.
    let refs = store.point_refs().await?;
    let mut ids: Vec<(i64, String)> = refs.values().map(|p| (p.id, p.gsrn.to_string())).collect();
    ids.sort();
    let (first_day, last_day) = (
        nordlys_core::time::utc_day_number(start_of_local_day(period.start, &tz)),
        nordlys_core::time::utc_day_number(start_of_local_day(period.end, &tz)),
    );
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for batch in ids.chunks(2000) {
        let mut tx = store
            .begin_import("bench", "nordlys bench settle (readings)", now)
            .await?;
        for (id, gsrn) in batch {
            let mut days = Vec::with_capacity((last_day - first_day + 1) as usize);
            for day in first_day..=last_day {
                let mut readings = DayReadings::new(day, Resolution::Pt15m);
                for slot in 0..96 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let hour = (slot / 4 + 1) % 24; // UTC+1
                    let base = if (7..9).contains(&hour) || (17..21).contains(&hour) {
                        900
                    } else {
                        400
                    };
                    let energy = EnergyWh(base + (seed % 600) as i64);
                    readings.set(slot, energy, Quality::Measured);
                }
                days.push(readings);
            }
            tx.merge_day_chunks(*id, gsrn, days).await?;
        }
        tx.commit(ImportCounts::default()).await?;
    }
    Ok(())
}

/// A valid organisation number for bench customer `n` (mod-11 checked; numbers whose check
/// digit would be 10 are skipped).
fn synthetic_org_number(n: u64) -> nordlys_core::ids::OrgNumber {
    let mut body = 80_000_000 + n * 3;
    loop {
        let text = format!("{body:08}");
        let weights = [3u32, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = text
            .bytes()
            .zip(weights)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let check = match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        };
        if let Some(k) = check
            && let Ok(org) = nordlys_core::ids::OrgNumber::parse(&format!("{text}{k}"))
        {
            return org;
        }
        body += 1;
    }
}
