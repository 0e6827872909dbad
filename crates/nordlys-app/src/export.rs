//! Exports in the import formats, so that export → import round-trips exactly.

use std::io::Write;

use jiff::Timestamp;
use jiff::civil::Date;
use nordlys_core::ids::Gsrn;
use nordlys_core::time::{LocalPeriod, format_local, start_of_local_day};
use nordlys_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("metering_point_id {0:?}: unknown metering point")]
    UnknownPoint(String),
    #[error("{0}")]
    Period(nordlys_core::ParseError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Write the readings of `gsrn` in `[from, to)` (local dates in the point's zone; open ends
/// mean everything) as meter-values CSV: the latest versions, or those known at `as_of`.
/// Returns the number of rows written.
pub async fn export_meter_values(
    store: &Store,
    gsrn: &Gsrn,
    from: Option<Date>,
    to: Option<Date>,
    as_of: Option<Timestamp>,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let refs = store.point_refs().await?;
    let point = refs
        .get(gsrn.as_str())
        .ok_or_else(|| ExportError::UnknownPoint(gsrn.to_string()))?;
    let tz = point.market.time_zone();
    if let (Some(from), Some(to)) = (from, to) {
        LocalPeriod::new(from, to).map_err(ExportError::Period)?;
    }
    let start = from.map_or(Timestamp::MIN, |d| start_of_local_day(d, &tz));
    let end = to.map_or(Timestamp::MAX, |d| start_of_local_day(d, &tz));
    let readings = store.meter_values(point.id, start, end, as_of).await?;
    let step = jiff::SignedDuration::from_secs(point.resolution.seconds());
    let mut out = std::io::BufWriter::new(out);
    writeln!(out, "metering_point_id,start,end,quantity_kwh,quality")?;
    for reading in &readings {
        writeln!(
            out,
            "{},{},{},{},{}",
            gsrn,
            format_local(reading.start, &tz),
            format_local(reading.start + step, &tz),
            reading.energy.to_kwh_string(),
            reading.quality
        )?;
    }
    out.flush()?;
    Ok(readings.len() as u64)
}
