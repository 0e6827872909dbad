//! Typed time: instants are UTC [`Timestamp`]s; days, months and tariff hours are local
//! to the metering point's zone. A local day is 23, 24 or 25 hours long, and the
//! functions here never assume 24.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};

use crate::ParseError;
use crate::quantity::code_enum;

code_enum!(
    /// Metering resolution: the length of one meter-value interval.
    Resolution, "resolution", { Pt15m => "PT15M", Pt60m => "PT60M" }
);

impl Resolution {
    pub fn seconds(self) -> i64 {
        match self {
            Resolution::Pt15m => 900,
            Resolution::Pt60m => 3600,
        }
    }
    /// Intervals in one UTC day (96 or 24). Storage is chunked by UTC day.
    pub fn intervals_per_utc_day(self) -> usize {
        (86_400 / self.seconds()) as usize
    }
    /// The resolution whose interval is `seconds` long, if any.
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        match seconds {
            900 => Some(Resolution::Pt15m),
            3600 => Some(Resolution::Pt60m),
            _ => None,
        }
    }
}

/// The zone of a market's metering points.
pub fn zone(name: &str) -> Result<TimeZone, ParseError> {
    TimeZone::get(name)
        .map_err(|_| ParseError::new("time_zone", name, "not a known IANA time zone"))
}

/// The UTC instant a local date starts at in `tz`.
pub fn start_of_local_day(date: Date, tz: &TimeZone) -> Timestamp {
    // Midnight exists on every day in the Nordic zones (DST shifts at 02:00/03:00);
    // `compatible` picks the earlier instant should a zone ever skip or repeat midnight.
    tz.to_ambiguous_timestamp(date.to_datetime(Time::midnight()))
        .compatible()
        .unwrap_or(if date.year() < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
}

/// A half-open range of local dates `[start, end)` in a zone, such as a billing month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalPeriod {
    pub start: Date,
    pub end: Date,
}

impl LocalPeriod {
    pub fn new(start: Date, end: Date) -> Result<Self, ParseError> {
        if end <= start {
            return Err(ParseError::new(
                "period",
                format!("{start}..{end}"),
                "the end must be after the start",
            ));
        }
        Ok(LocalPeriod { start, end })
    }

    /// The calendar month `YYYY-MM`.
    pub fn parse_month(text: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("period", text, "a month is written YYYY-MM, e.g. 2025-01");
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let start = Date::new(year, month, 1).map_err(|_| bad())?;
        let end = start.checked_add(1.month()).map_err(|_| bad())?;
        Ok(LocalPeriod { start, end })
    }

    /// The UTC instants `[start, end)` that this period covers in `tz`.
    pub fn to_utc(self, tz: &TimeZone) -> (Timestamp, Timestamp) {
        (
            start_of_local_day(self.start, tz),
            start_of_local_day(self.end, tz),
        )
    }

    pub fn days(self) -> i64 {
        i64::from((self.end - self.start).get_days())
    }
}

/// Number of `resolution` intervals in the local day `date` in `tz` (92/96/100 or 23/24/25).
pub fn intervals_in_local_day(date: Date, tz: &TimeZone, resolution: Resolution) -> i64 {
    let start = start_of_local_day(date, tz);
    let end = start_of_local_day(date.tomorrow().unwrap_or(date), tz);
    (end.as_second() - start.as_second()) / resolution.seconds()
}

/// The years Nordlys accepts in dates and instants from outside: a year outside is far more
/// likely a typing error (`0225`, `20255`) than data, and every rule and table is dated within.
pub const YEARS: std::ops::RangeInclusive<i16> = 2000..=2099;

fn years_rule() -> String {
    format!("the year must be from {} to {}", YEARS.start(), YEARS.end())
}

/// Parse an RFC 3339 instant with an explicit offset (`2025-01-01T00:00:00+01:00` or `…Z`),
/// in UTC years [`YEARS`].
pub fn parse_instant(field: &'static str, text: &str) -> Result<Timestamp, ParseError> {
    let instant = text.parse::<Timestamp>().map_err(|_| {
        ParseError::new(
            field,
            text,
            "not an RFC 3339 instant with offset, e.g. 2025-01-01T00:00:00+01:00",
        )
    })?;
    if !YEARS.contains(&TimeZone::UTC.to_datetime(instant).year()) {
        return Err(ParseError::new(
            field,
            text,
            format!("{} (in UTC)", years_rule()),
        ));
    }
    Ok(instant)
}

/// Parse a calendar date `YYYY-MM-DD` in years [`YEARS`].
pub fn parse_date(field: &'static str, text: &str) -> Result<Date, ParseError> {
    let date = text
        .parse::<Date>()
        .map_err(|_| ParseError::new(field, text, "not a date written YYYY-MM-DD"))?;
    if !YEARS.contains(&date.year()) {
        return Err(ParseError::new(field, text, years_rule()));
    }
    Ok(date)
}

/// Whole UTC days since 1970-01-01 of the day containing `ts`: the storage chunk key.
pub fn utc_day_number(ts: Timestamp) -> i64 {
    ts.as_second().div_euclid(86_400)
}

/// The instant a UTC day number starts at.
pub fn utc_day_start(day: i64) -> Timestamp {
    Timestamp::from_second(day * 86_400).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Render an instant as RFC 3339 in `tz` with its offset, e.g. `2025-03-30T03:00:00+02:00`.
pub fn format_local(ts: Timestamp, tz: &TimeZone) -> String {
    let offset = tz.to_offset(ts);
    let dt = offset.to_datetime(ts);
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        abs / 3600,
        abs % 3600 / 60
    )
}

/// One hour as a span, for arithmetic on instants.
pub fn hours(n: i64) -> Span {
    n.hours()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn oslo() -> TimeZone {
        zone("Europe/Oslo").unwrap()
    }
    fn copenhagen() -> TimeZone {
        zone("Europe/Copenhagen").unwrap()
    }

    #[test]
    fn spring_day_is_short_in_both_zones() {
        // Last Sunday of March 2025: clocks go 02:00 → 03:00.
        for tz in [oslo(), copenhagen()] {
            assert_eq!(
                intervals_in_local_day(date(2025, 3, 30), &tz, Resolution::Pt15m),
                92
            );
            assert_eq!(
                intervals_in_local_day(date(2025, 3, 30), &tz, Resolution::Pt60m),
                23
            );
            assert_eq!(
                intervals_in_local_day(date(2025, 3, 29), &tz, Resolution::Pt15m),
                96
            );
        }
    }

    #[test]
    fn autumn_day_is_long_in_both_zones() {
        // Last Sunday of October 2025: clocks go 03:00 → 02:00.
        for tz in [oslo(), copenhagen()] {
            assert_eq!(
                intervals_in_local_day(date(2025, 10, 26), &tz, Resolution::Pt15m),
                100
            );
            assert_eq!(
                intervals_in_local_day(date(2025, 10, 26), &tz, Resolution::Pt60m),
                25
            );
        }
    }

    #[test]
    fn months_are_local() {
        let jan = LocalPeriod::parse_month("2025-01").unwrap();
        let (start, end) = jan.to_utc(&oslo());
        assert_eq!(start.to_string(), "2024-12-31T23:00:00Z");
        assert_eq!(end.to_string(), "2025-01-31T23:00:00Z");
        assert_eq!(jan.days(), 31);
        // March 2025 in Oslo has 31 × 96 − 4 quarter-hours.
        let march = LocalPeriod::parse_month("2025-03").unwrap();
        let (s, e) = march.to_utc(&oslo());
        assert_eq!((e.as_second() - s.as_second()) / 900, 31 * 96 - 4);
        assert!(LocalPeriod::parse_month("2025-13").is_err());
        assert!(
            LocalPeriod::parse_month("2025-1")
                .unwrap_err()
                .rule
                .contains("YYYY-MM")
        );
    }

    #[test]
    fn local_rendering_carries_the_offset() {
        let ts: Timestamp = "2025-03-30T01:00:00Z".parse().unwrap();
        assert_eq!(format_local(ts, &oslo()), "2025-03-30T03:00:00+02:00");
        let ts: Timestamp = "2025-01-15T12:15:00Z".parse().unwrap();
        assert_eq!(format_local(ts, &copenhagen()), "2025-01-15T13:15:00+01:00");
        // The repeated autumn hour renders with distinct offsets.
        let a: Timestamp = "2025-10-26T00:30:00Z".parse().unwrap();
        let b: Timestamp = "2025-10-26T01:30:00Z".parse().unwrap();
        assert_eq!(format_local(a, &oslo()), "2025-10-26T02:30:00+02:00");
        assert_eq!(format_local(b, &oslo()), "2025-10-26T02:30:00+01:00");
    }

    #[test]
    fn instants_need_an_offset() {
        assert!(parse_instant("start", "2025-01-01T00:00:00+01:00").is_ok());
        assert!(parse_instant("start", "2025-01-01T00:00:00Z").is_ok());
        let err = parse_instant("start", "2025-01-01T00:00:00").unwrap_err();
        assert!(err.rule.contains("with offset"), "{err}");
    }

    #[test]
    fn years_outside_the_range_are_refused() {
        assert!(parse_date("date", "2000-01-01").is_ok());
        assert!(parse_date("date", "2099-12-31").is_ok());
        for bad in ["1999-12-31", "2100-01-01", "0225-01-01"] {
            let err = parse_date("date", bad).unwrap_err();
            assert_eq!(err.rule, "the year must be from 2000 to 2099", "{bad}");
        }
        assert!(parse_instant("start", "2099-12-31T23:45:00Z").is_ok());
        let err = parse_instant("start", "2100-01-01T00:00:00Z").unwrap_err();
        assert_eq!(err.rule, "the year must be from 2000 to 2099 (in UTC)");
        assert!(parse_instant("start", "1970-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn utc_day_numbers() {
        let ts: Timestamp = "1970-01-02T00:00:00Z".parse().unwrap();
        assert_eq!(utc_day_number(ts), 1);
        let before: Timestamp = "1969-12-31T23:59:59Z".parse().unwrap();
        assert_eq!(utc_day_number(before), -1);
        assert_eq!(utc_day_start(1), ts);
    }
}
