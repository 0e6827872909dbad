//! The demo's late corrections: the grid company's measured values for the days the demo
//! first delivered as estimates, stored as new versions after settlement.

use jiff::civil::Date;
use nordlys_core::ids::Gsrn;
use nordlys_core::model::{DayReadings, Quality};
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::start_of_local_day;
use nordlys_store::{ImportCounts, Store, StoreError};

use crate::Clock;

/// The grid company's corrected values arrive after settlement: each estimated day of the
/// demo, now measured and 8 % higher, as a new version. Returns the readings changed.
pub async fn deliver_demo_corrections(
    store: &Store,
    days: &[(Gsrn, Date)],
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    let refs = store.point_refs().await?;
    let mut tx = store
        .begin_import("demo", "nordlys demo (corrected meter values)", clock.now())
        .await?;
    let mut changed = 0u64;
    for (gsrn, day) in days {
        let point = refs.get(gsrn.as_str()).ok_or_else(|| {
            StoreError::Unsupported(format!("demo metering point {gsrn} vanished"))
        })?;
        let tz = point.market.time_zone();
        let (start, end) = (
            start_of_local_day(*day, &tz),
            start_of_local_day(day.tomorrow().unwrap_or(*day), &tz),
        );
        let mut days: Vec<DayReadings> = Vec::new();
        for reading in store.meter_values(point.id, start, end, None).await? {
            let t = reading.start.as_second();
            let utc_day = t.div_euclid(86_400);
            if days.last().is_none_or(|d| d.utc_day() != utc_day) {
                days.push(DayReadings::new(utc_day, point.resolution));
            }
            let slot = ((t - utc_day * 86_400) / point.resolution.seconds()) as usize;
            if let Some(day) = days.last_mut() {
                let energy = EnergyWh(reading.energy.0 * 108 / 100);
                day.set(slot, energy, Quality::Corrected);
                changed += 1;
            }
        }
        tx.merge_day_chunks(point.id, gsrn.as_str(), days).await?;
    }
    tx.commit(ImportCounts {
        rows: changed,
        ..ImportCounts::default()
    })
    .await?;
    Ok(changed)
}
