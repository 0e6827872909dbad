//! Rating throughput: metering-point-months per second at 15-minute resolution for the
//! heavy mix (supplier spot product + Elvia grid tariff with time-of-use energy and a
//! capacity step + all Norwegian statutory components incl. strømstøtte).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-rating cargo bench -p nordlys-rating`.
//! Besides divan's timings, `throughput` prints MP-months/s on one thread and on all
//! cores (each thread with its own `Scratch`, sharing one `RatingPlan`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use nordlys_core::model::{Market, PriceArea, UsageKind};
use nordlys_core::time::{LocalPeriod, Resolution};
use nordlys_rating::{
    MeterInput, Product, RatingContext, RatingPlan, Scratch, Statutory, parse_product_toml,
};

fn main() {
    throughput();
    divan::main();
}

fn example(name: &str) -> Product {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products")
        .join(name);
    parse_product_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Setup {
    grid: RatingPlan,
    supplier: RatingPlan,
    grid_ctx: RatingContext,
    supplier_ctx: RatingContext,
    energy: Vec<Vec<i64>>,
    spot: Vec<i64>,
}

const METERING_POINTS: usize = 64;

fn setup() -> Setup {
    let period = LocalPeriod::parse_month("2025-01").unwrap();
    let st = Statutory::default();
    let grid = RatingPlan::new(
        &[example("no-elvia-grid-2025.toml")],
        &st,
        Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap();
    let supplier = RatingPlan::new(
        &[example("no-spot.toml")],
        &st,
        Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap();
    let n = grid.intervals();
    // Deterministic pseudo-random loads (xorshift), 0–2.5 kWh per quarter.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let energy = (0..METERING_POINTS)
        .map(|_| (0..n).map(|_| (next() % 2500) as i64).collect())
        .collect();
    // Spot prices as a bounded random walk around 0.95 NOK/kWh (nano NOK per kWh): like real
    // prices, whether an interval is above the subsidy threshold is not predictable.
    let mut price: i64 = 950_000_000;
    let spot = (0..n)
        .map(|_| {
            price += (next() % 120_000_001) as i64 - 60_000_000;
            price = price.clamp(200_000_000, 2_500_000_000);
            price
        })
        .collect();
    let grid_ctx = RatingContext {
        market: Market::No,
        price_area: PriceArea::No1,
        municipality: "0301".into(),
        usage: UsageKind::Household,
        apply_statutory: true,
        norgespris_from: None,
        main_fuse_amperes: None,
    };
    let supplier_ctx = RatingContext {
        apply_statutory: false,
        ..grid_ctx.clone()
    };
    Setup {
        grid,
        supplier,
        grid_ctx,
        supplier_ctx,
        energy,
        spot,
    }
}

/// One metering-point-month: the grid invoice and the supplier invoice.
fn rate_one(s: &Setup, scratch: &mut Scratch, energy: &[i64]) -> usize {
    let input = MeterInput {
        energy_wh: energy,
        spot_price: Some(&s.spot),
        ..Default::default()
    };
    let grid = s.grid.rate_with(scratch, &s.grid_ctx, &input).unwrap();
    let supply = s
        .supplier
        .rate_with(scratch, &s.supplier_ctx, &input)
        .unwrap();
    grid.lines.len() + supply.lines.len()
}

fn throughput() {
    let s = setup();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rounds = 400;
    for threads in [1, cores] {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for t in 0..threads {
                let s = &s;
                scope.spawn(move || {
                    let mut scratch = Scratch::default();
                    for r in 0..rounds {
                        let e = &s.energy[(r + t) % METERING_POINTS];
                        black_box(rate_one(s, &mut scratch, black_box(e)));
                    }
                });
            }
        });
        let elapsed = start.elapsed().as_secs_f64();
        let mp_months = (rounds * threads) as f64;
        println!(
            "throughput: {threads} thread(s): {:.0} MP-months/s ({:.0} M readings/s), {} intervals per MP-month at PT15M, grid + supplier invoice each",
            mp_months / elapsed,
            mp_months * s.grid.intervals() as f64 / elapsed / 1e6,
            s.grid.intervals()
        );
    }
}

#[divan::bench]
fn grid_and_supplier_one_mp_month(bencher: divan::Bencher) {
    let s = setup();
    let mut scratch = Scratch::default();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % METERING_POINTS;
        rate_one(&s, &mut scratch, black_box(&s.energy[i]))
    });
}

#[divan::bench]
fn build_plan() -> RatingPlan {
    let period = LocalPeriod::parse_month("2025-01").unwrap();
    RatingPlan::new(
        &[example("no-elvia-grid-2025.toml")],
        &Statutory::default(),
        Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap()
}
