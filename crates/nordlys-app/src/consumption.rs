//! A metering point's consumption over local days at 15-minute, hourly, daily or monthly
//! resolution, as the API and the self-service web serve it: one compact series (the first
//! interval's start, the step, the energy of each interval in Wh), with the intervals that are
//! not wholly measured listed apart. Days and months are local to the point's market zone, so a
//! DST day has 23 or 25 hourly values and its daily value covers them all.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use nordlys_core::ParseError;
use nordlys_core::ids::Gsrn;
use nordlys_core::model::Quality;
use nordlys_core::time::{Resolution, format_local, start_of_local_day};
use nordlys_store::{Store, StoreError};
use serde::Serialize;

/// The resolution a series is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    QuarterHour,
    Hour,
    Day,
    Month,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::QuarterHour, Step::Hour, Step::Day, Step::Month];

    pub fn code(self) -> &'static str {
        match self {
            Step::QuarterHour => "quarter_hour",
            Step::Hour => "hour",
            Step::Day => "day",
            Step::Month => "month",
        }
    }

    /// The ISO 8601 duration of one interval (a day and a month are local).
    pub fn duration(self) -> &'static str {
        match self {
            Step::QuarterHour => "PT15M",
            Step::Hour => "PT1H",
            Step::Day => "P1D",
            Step::Month => "P1M",
        }
    }

    pub fn parse(code: &str) -> Result<Step, ParseError> {
        Step::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| {
                ParseError::new("resolution", code, "one of quarter_hour, hour, day, month")
            })
    }

    /// The longest range one request may ask for, in days: a year and a day of 15-minute or
    /// hourly values (35,136 or 8,784), five years of daily or monthly ones.
    pub fn max_days(self) -> i64 {
        match self {
            Step::QuarterHour | Step::Hour => 367,
            Step::Day | Step::Month => 5 * 366,
        }
    }
}

/// An interval that is not wholly measured: by estimate, correction, or with readings missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotMeasured {
    /// Index into `energy_wh`.
    pub index: usize,
    /// `estimated`, `corrected`, or `missing` (some or all readings of the interval are absent).
    pub quality: &'static str,
}

/// A metering point's consumption in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumptionSeries {
    /// GSRN of the metering point.
    pub metering_point: String,
    /// `quarter_hour`, `hour`, `day` or `month`.
    pub resolution: &'static str,
    /// The local zone days and months are counted in, e.g. `Europe/Oslo`.
    pub zone: String,
    /// First local day (`YYYY-MM-DD`).
    pub from: String,
    /// The local day after the last (`YYYY-MM-DD`).
    pub to: String,
    /// Start of the first interval, RFC 3339 with the local offset.
    pub start: String,
    /// ISO 8601 duration of each interval: `PT15M`, `PT1H`, `P1D` (a local day) or `P1M`.
    pub step: &'static str,
    /// Energy of each interval in watt-hours; null where no reading is stored.
    pub energy_wh: Vec<Option<i64>>,
    /// The sum of `energy_wh`.
    pub total_wh: i64,
    /// Intervals that are not wholly measured, in order.
    pub not_measured: Vec<NotMeasured>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumptionError {
    #[error("metering point {0}: no metering point has this GSRN")]
    UnknownPoint(String),
    #[error("{0}")]
    Invalid(ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn quality_rank(quality: Quality) -> u8 {
    match quality {
        Quality::Measured => 0,
        Quality::Corrected => 1,
        Quality::Estimated => 2,
        Quality::Missing => 3,
    }
}

/// The boundaries of the intervals of `[from, to)` at `step`, as UTC instants (one more than
/// there are intervals).
pub fn boundaries(from: Date, to: Date, step: Step, tz: &TimeZone) -> Vec<Timestamp> {
    let (start, end) = (start_of_local_day(from, tz), start_of_local_day(to, tz));
    match step {
        Step::QuarterHour | Step::Hour => {
            let seconds = if step == Step::Hour { 3600 } else { 900 };
            let count = (end.as_second() - start.as_second()) / seconds;
            (0..=count)
                .map(|i| start + jiff::SignedDuration::from_secs(i * seconds))
                .collect()
        }
        Step::Day => {
            let mut days = Vec::new();
            let mut day = from;
            while day < to {
                days.push(start_of_local_day(day, tz));
                day = day.tomorrow().unwrap_or(to);
            }
            days.push(end);
            days
        }
        Step::Month => {
            let mut months = vec![start];
            let mut month = from.first_of_month();
            loop {
                month = month.checked_add(1.month()).unwrap_or(to);
                if month >= to {
                    break;
                }
                months.push(start_of_local_day(month, tz));
            }
            months.push(end);
            months
        }
    }
}

/// The consumption of metering point `gsrn` over the local days `[from, to)` at `step`.
pub async fn consumption(
    store: &Store,
    gsrn: &Gsrn,
    from: Date,
    to: Date,
    step: Step,
) -> Result<ConsumptionSeries, ConsumptionError> {
    let invalid = |field: &'static str, value: String, rule: String| {
        ConsumptionError::Invalid(ParseError::new(field, value, rule))
    };
    if to <= from {
        return Err(invalid(
            "to",
            to.to_string(),
            format!("must be after from ({from})"),
        ));
    }
    let span_days = i64::from(from.until(to).map_or(i32::MAX, |span| span.get_days()));
    if span_days > step.max_days() {
        return Err(invalid(
            "to",
            to.to_string(),
            format!(
                "{span_days} days from {from}: at {} resolution one request covers at most {} days",
                step.code(),
                step.max_days()
            ),
        ));
    }
    let Some(point) = store.metering_point(gsrn).await? else {
        return Err(ConsumptionError::UnknownPoint(gsrn.as_str().to_owned()));
    };
    if step == Step::QuarterHour && point.resolution != Resolution::Pt15m {
        return Err(invalid(
            "resolution",
            step.code().to_owned(),
            format!(
                "metering point {} is read at {}: ask for hour, day or month",
                gsrn.as_str(),
                point.resolution.code()
            ),
        ));
    }
    let tz_name = point.market.time_zone_name();
    let tz = point.market.time_zone();
    let edges = boundaries(from, to, step, &tz);
    let point_id = store
        .metering_point_id(gsrn)
        .await?
        .ok_or_else(|| ConsumptionError::UnknownPoint(gsrn.as_str().to_owned()))?;
    let readings = store
        .meter_values(point_id, edges[0], edges[edges.len() - 1], None)
        .await?;
    let slot_seconds = point.resolution.seconds();
    let intervals = edges.len() - 1;
    let mut energy_wh: Vec<Option<i64>> = vec![None; intervals];
    let mut worst = vec![0u8; intervals];
    let mut present = vec![0i64; intervals];
    let mut bucket = 0usize;
    for reading in &readings {
        while bucket < intervals && reading.start >= edges[bucket + 1] {
            bucket += 1;
        }
        if bucket == intervals {
            break;
        }
        let sum = energy_wh[bucket].get_or_insert(0);
        *sum += reading.energy.0;
        worst[bucket] = worst[bucket].max(quality_rank(reading.quality));
        present[bucket] += 1;
    }
    let mut not_measured = Vec::new();
    for index in 0..intervals {
        let slots = (edges[index + 1].as_second() - edges[index].as_second()) / slot_seconds;
        let quality = if present[index] < slots {
            Some("missing")
        } else {
            match worst[index] {
                0 => None,
                1 => Some("corrected"),
                2 => Some("estimated"),
                _ => Some("missing"),
            }
        };
        if let Some(quality) = quality {
            not_measured.push(NotMeasured { index, quality });
        }
    }
    Ok(ConsumptionSeries {
        metering_point: gsrn.as_str().to_owned(),
        resolution: step.code(),
        zone: tz_name.to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        start: format_local(edges[0], &tz),
        step: step.duration(),
        total_wh: energy_wh.iter().flatten().sum(),
        energy_wh,
        not_measured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use nordlys_core::time::zone;

    #[test]
    fn a_dst_day_has_23_or_25_hours_and_one_daily_interval() {
        let tz = zone("Europe/Oslo").unwrap();
        let spring = boundaries(date(2025, 3, 30), date(2025, 3, 31), Step::Hour, &tz);
        assert_eq!(spring.len() - 1, 23);
        let autumn = boundaries(date(2025, 10, 26), date(2025, 10, 27), Step::Hour, &tz);
        assert_eq!(autumn.len() - 1, 25);
        let days = boundaries(date(2025, 10, 25), date(2025, 10, 28), Step::Day, &tz);
        assert_eq!(days.len() - 1, 3);
        assert_eq!(days[2].as_second() - days[1].as_second(), 25 * 3600);
    }

    #[test]
    fn months_are_local_and_may_start_mid_month() {
        let tz = zone("Europe/Oslo").unwrap();
        let months = boundaries(date(2025, 1, 15), date(2025, 4, 1), Step::Month, &tz);
        assert_eq!(months.len() - 1, 3);
        assert_eq!(months[1], start_of_local_day(date(2025, 2, 1), &tz));
        assert_eq!(months[3], start_of_local_day(date(2025, 4, 1), &tz));
    }
}

/// How many days before its last reading [`recent_readings`] summarises.
pub const RECENT_DAYS: i64 = 7;

/// A metering point's latest readings in brief, as customer service reads them first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentReadings {
    /// When the last usable (not missing) reading ends.
    pub last_reading_end: Timestamp,
    /// The energy of the [`RECENT_DAYS`] days before it.
    pub energy_wh: i64,
    /// Intervals of those days without a usable reading (none stored, or quality `missing`).
    pub missing_intervals: i64,
}

/// The latest readings of `point` summarised (`None`: it has no usable reading).
pub async fn recent_readings(
    store: &Store,
    point: &nordlys_core::model::MeteringPoint,
) -> Result<Option<RecentReadings>, StoreError> {
    let gsrn = &point.metering_point_id;
    let (Some(stored_end), Some(point_id)) = (
        store.readings_end(gsrn).await?,
        store.metering_point_id(gsrn).await?,
    ) else {
        return Ok(None);
    };
    let step_s = point.resolution.seconds();
    // The last stored day may end in missing slots: look back one day more for the last one.
    let look_from = stored_end - jiff::SignedDuration::from_hours(24 * (RECENT_DAYS + 1));
    let readings = store
        .meter_values(point_id, look_from, stored_end, None)
        .await?;
    let usable = |q: Quality| q != Quality::Missing;
    let Some(last) = readings.iter().rev().find(|r| usable(r.quality)) else {
        return Ok(None);
    };
    let last_reading_end = last.start + jiff::SignedDuration::from_secs(step_s);
    let from = last_reading_end - jiff::SignedDuration::from_hours(24 * RECENT_DAYS);
    let recent = readings
        .iter()
        .filter(|r| r.start >= from && r.start < last_reading_end && usable(r.quality));
    let (count, energy_wh) = recent.fold((0i64, 0i64), |(n, wh), r| (n + 1, wh + r.energy.0));
    let expected = (last_reading_end.as_second() - from.as_second()) / step_s;
    Ok(Some(RecentReadings {
        last_reading_end,
        energy_wh,
        missing_intervals: expected - count,
    }))
}
