//! The demo utility: a seeded, realistic synthetic Nordic utility — customers, payers,
//! metering points in several price areas of both markets, hourly and 15-minute meters with
//! a few gaps and corrections, spot prices and exchange rates — stored like any import.
//!
//! Loads and prices are drawn with floating-point noise and then rounded once to whole Wh
//! and cents: what is stored is exact, and the same seed gives the same utility.
//!
//! This module runs the build; `demo/master_data.rs` draws the master data, `demo/series.rs`
//! the prices and meter values, `demo/corrections.rs` delivers the later corrections.

mod corrections;
mod master_data;
mod series;

use std::sync::Arc;

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::ids::Gsrn;
use nordlys_core::model::{MeteringPoint, PriceArea};
use nordlys_core::time::LocalPeriod;
use nordlys_store::{ImportCounts, Store, StoreError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Clock, Progress};

pub use corrections::deliver_demo_corrections;

/// What to build.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub metering_points: usize,
    pub first_month: LocalPeriod,
    pub months: u32,
    pub seed: u64,
}

/// What was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub products: usize,
    pub customers: usize,
    pub metering_points: usize,
    pub hourly_points: usize,
    pub quarter_hour_points: usize,
    pub by_area: Vec<(PriceArea, usize)>,
    pub contracts: usize,
    pub readings: u64,
    pub missing_days: Vec<(Gsrn, Date)>,
    pub corrected_days: Vec<(Gsrn, Date)>,
    pub spot_prices: u64,
    pub exchange_rates: u64,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// The state one build carries through its steps: the seeded generator (drawn from in a
/// fixed order, so the same seed gives the same utility), the period and the summary so far.
struct DemoBuild {
    rng: ChaCha8Rng,
    from: Date,
    to: Date,
    summary: DemoSummary,
}

/// A metering point the build created, with what its load is drawn from.
struct DemoPoint {
    point: MeteringPoint,
    business: bool,
    /// The customer's number in the build (0, 1, …), which picks its gaps and corrections.
    index: usize,
}

/// The demo utility's issuer profile (seller per market, branding): `examples/issuer.toml`.
pub const DEMO_ISSUER_PROFILE: &str = include_str!("../../../examples/issuer.toml");

/// Build the demo utility into `store`.
pub async fn build_demo(
    store: &Store,
    config: &DemoConfig,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
) -> Result<DemoSummary, StoreError> {
    let rng = ChaCha8Rng::seed_from_u64(config.seed);
    let from = config.first_month.start;
    let to = from
        .checked_add((config.months as i32).months())
        .unwrap_or(from);
    let mut build = DemoBuild {
        rng,
        from,
        to,
        summary: DemoSummary {
            from: Some(from),
            to: Some(to),
            ..DemoSummary::default()
        },
    };

    // Master data and market data, one transaction.
    let mut counts = ImportCounts::default();
    let mut tx = store
        .begin_import("demo", "nordlys demo (master data)", clock.now())
        .await?;
    let points =
        master_data::write_master_data(&mut tx, &mut build, config.metering_points, &mut counts)
            .await?;
    series::write_market_data(&mut tx, &mut build).await?;
    tx.set_issuer_profile(DEMO_ISSUER_PROFILE).await?;
    tx.commit(counts).await?;

    // Meter values, one transaction, with progress per metering point.
    let refs = store.point_refs().await?;
    progress.start("demo meter values", Some(points.len() as u64));
    let mut tx = store
        .begin_import("demo", "nordlys demo (meter values)", clock.now())
        .await?;
    series::write_meter_values(&mut tx, &mut build, &refs, &points, progress.as_ref()).await?;
    tx.commit(ImportCounts {
        rows: build.summary.readings,
        ..ImportCounts::default()
    })
    .await?;
    progress.finish();

    Ok(build.summary)
}
