//! Local calendars for time-of-use prices: public holidays (Norway, Denmark, computed from
//! Easter), day selectors (working day, weekend, named weekdays…), month sets and hour masks.
//!
//! Everything here is about *local* wall-clock time in the product's zone. Hours are clock
//! hours: on the autumn DST day the repeated hour 02:00–03:00 matches hour 2 twice, and on
//! the spring day hour 2 does not occur.

use jiff::civil::{Date, Weekday};

/// Which country's public holidays a product's calendar uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayCalendar {
    Norway,
    Denmark,
    /// No public holidays: only weekdays and weekends are distinguished.
    None,
}

impl HolidayCalendar {
    pub fn code(self) -> &'static str {
        match self {
            HolidayCalendar::Norway => "NO",
            HolidayCalendar::Denmark => "DK",
            HolidayCalendar::None => "none",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "NO" => Some(HolidayCalendar::Norway),
            "DK" => Some(HolidayCalendar::Denmark),
            "none" => Some(HolidayCalendar::None),
            _ => None,
        }
    }

    /// Whether `date` is a public holiday (a "helligdag"/"helligdag" for tariff purposes).
    ///
    /// Norway: 1 Jan, Maundy Thursday, Good Friday, Easter Sunday and Monday, 1 May, 17 May,
    /// Ascension Day, Whit Sunday and Monday, 25 and 26 Dec (helligdagsloven + 1 May and
    /// 17 May as public holidays by law). Denmark: 1 Jan, Maundy Thursday, Good Friday,
    /// Easter Sunday and Monday, Great Prayer Day (Easter + 26, abolished from 2024),
    /// Ascension Day, Whit Sunday and Monday, 25 and 26 Dec. Sundays are holidays by
    /// nature but are matched by the weekend selectors anyway.
    pub fn is_holiday(self, date: Date) -> bool {
        let fixed = |m: i8, d: i8| date.month() == m && date.day() == d;
        let easter_offset = || {
            let easter = easter_sunday(date.year());
            i64::from((date - easter).get_days())
        };
        match self {
            HolidayCalendar::None => false,
            HolidayCalendar::Norway => {
                fixed(1, 1)
                    || fixed(5, 1)
                    || fixed(5, 17)
                    || fixed(12, 25)
                    || fixed(12, 26)
                    || matches!(easter_offset(), -3 | -2 | 0 | 1 | 39 | 49 | 50)
            }
            HolidayCalendar::Denmark => {
                fixed(1, 1)
                    || fixed(12, 25)
                    || fixed(12, 26)
                    || match easter_offset() {
                        -3 | -2 | 0 | 1 | 39 | 49 | 50 => true,
                        26 => date.year() <= 2023,
                        _ => false,
                    }
            }
        }
    }
}

/// Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction.
    Date::new(year, month as i8, day as i8).unwrap_or(Date::MIN)
}

/// A set of days a tariff period applies on. A day matches a window if it matches any of
/// the window's selectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaySelector {
    /// Every day.
    All,
    /// Monday to Friday (holidays included).
    Weekday,
    /// Saturday and Sunday.
    Weekend,
    /// Public holidays of the product's calendar.
    Holiday,
    /// Monday to Friday except public holidays ("virkedag").
    WorkingDay,
    /// Weekend or public holiday ("fridag").
    DayOff,
    /// One named weekday (holiday or not).
    Named(Weekday),
}

impl DaySelector {
    pub const CODES: &'static str =
        "all, weekday, weekend, holiday, working_day, day_off, monday … sunday";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "all" => DaySelector::All,
            "weekday" => DaySelector::Weekday,
            "weekend" => DaySelector::Weekend,
            "holiday" => DaySelector::Holiday,
            "working_day" => DaySelector::WorkingDay,
            "day_off" => DaySelector::DayOff,
            "monday" => DaySelector::Named(Weekday::Monday),
            "tuesday" => DaySelector::Named(Weekday::Tuesday),
            "wednesday" => DaySelector::Named(Weekday::Wednesday),
            "thursday" => DaySelector::Named(Weekday::Thursday),
            "friday" => DaySelector::Named(Weekday::Friday),
            "saturday" => DaySelector::Named(Weekday::Saturday),
            "sunday" => DaySelector::Named(Weekday::Sunday),
            _ => return None,
        })
    }

    pub fn matches(self, weekday: Weekday, holiday: bool) -> bool {
        let weekend = matches!(weekday, Weekday::Saturday | Weekday::Sunday);
        match self {
            DaySelector::All => true,
            DaySelector::Weekday => !weekend,
            DaySelector::Weekend => weekend,
            DaySelector::Holiday => holiday,
            DaySelector::WorkingDay => !weekend && !holiday,
            DaySelector::DayOff => weekend || holiday,
            DaySelector::Named(d) => d == weekday,
        }
    }
}

/// Months as a 12-bit mask (bit 0 = January).
pub type MonthMask = u16;
/// Local clock hours as a 24-bit mask (bit 0 = 00:00–01:00).
pub type HourMask = u32;

pub const ALL_MONTHS: MonthMask = 0x0fff;
pub const ALL_HOURS: HourMask = 0x00ff_ffff;

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Parse one month item: `jan` … `dec`, or a range `oct-mar` (inclusive, may wrap the year).
pub fn parse_months(item: &str) -> Option<MonthMask> {
    let month = |s: &str| MONTH_NAMES.iter().position(|m| *m == s);
    match item.split_once('-') {
        None => month(item).map(|m| 1 << m),
        Some((a, b)) => {
            let (a, b) = (month(a)?, month(b)?);
            let mut mask = 0;
            let mut m = a;
            loop {
                mask |= 1 << m;
                if m == b {
                    break;
                }
                m = (m + 1) % 12;
            }
            Some(mask)
        }
    }
}

/// Parse an hour range `HH:00-HH:00`, half-open, `24:00` allowed as the end; a range whose
/// end is before its start wraps midnight (`22:00-06:00`).
pub fn parse_hours(item: &str) -> Option<HourMask> {
    let (a, b) = item.split_once('-')?;
    let hour = |s: &str| -> Option<u32> {
        let (h, m) = s.trim().split_once(':')?;
        if m != "00" || h.len() != 2 {
            return None;
        }
        h.parse().ok().filter(|h| *h <= 24)
    };
    let (a, b) = (hour(a)?, hour(b)?);
    hour_span(a, b)
}

/// The hours `[start, end)`, wrapping midnight when `end <= start` (but `start == end` is
/// empty, refused).
pub fn hour_span(start: u32, end: u32) -> Option<HourMask> {
    if start >= 24 || end > 24 || start == end {
        return None;
    }
    let mut mask = 0;
    let mut h = start;
    loop {
        mask |= 1 << h;
        h = (h + 1) % 24;
        if h == end % 24 {
            break Some(mask);
        }
    }
}

/// Render an hour mask as ranges, e.g. `06:00-22:00`.
pub fn describe_hours(mask: HourMask) -> String {
    if mask == ALL_HOURS {
        return "00:00-24:00".to_owned();
    }
    let mut parts = Vec::new();
    let mut h = 0;
    while h < 24 {
        if mask & (1 << h) != 0 {
            let start = h;
            while h < 24 && mask & (1 << h) != 0 {
                h += 1;
            }
            parts.push(format!("{start:02}:00-{h:02}:00"));
        } else {
            h += 1;
        }
    }
    parts.join(", ")
}

/// When a time-of-use price applies: all of months, days and hours must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    pub months: MonthMask,
    pub days: Vec<DaySelector>,
    pub hours: HourMask,
}

impl TimeWindow {
    pub fn always() -> Self {
        TimeWindow {
            months: ALL_MONTHS,
            days: vec![DaySelector::All],
            hours: ALL_HOURS,
        }
    }
    /// `month` is 1..=12 and `hour` the local clock hour 0..=23.
    pub fn matches(&self, month: i8, weekday: Weekday, holiday: bool, hour: i8) -> bool {
        self.months & (1 << (month - 1)) != 0
            && self.hours & (1 << hour) != 0
            && self.days.iter().any(|d| d.matches(weekday, holiday))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn easter_matches_known_dates() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2019), date(2019, 4, 21));
    }

    #[test]
    fn norwegian_and_danish_holidays_differ() {
        let no = HolidayCalendar::Norway;
        let dk = HolidayCalendar::Denmark;
        for d in [
            date(2025, 4, 17), // Maundy Thursday
            date(2025, 4, 18), // Good Friday
            date(2025, 4, 21), // Easter Monday
            date(2025, 5, 29), // Ascension
            date(2025, 6, 9),  // Whit Monday
            date(2025, 12, 26),
        ] {
            assert!(no.is_holiday(d) && dk.is_holiday(d), "{d}");
        }
        assert!(no.is_holiday(date(2025, 5, 17)) && !dk.is_holiday(date(2025, 5, 17)));
        assert!(no.is_holiday(date(2025, 5, 1)) && !dk.is_holiday(date(2025, 5, 1)));
        // Store bededag: 26 days after Easter, abolished from 2024.
        assert!(dk.is_holiday(date(2023, 5, 5)));
        assert!(!dk.is_holiday(date(2025, 5, 16)));
        assert!(!no.is_holiday(date(2025, 4, 16)));
    }

    #[test]
    fn hours_and_months_parse() {
        assert_eq!(parse_hours("06:00-22:00"), Some(0x003f_ffc0));
        assert_eq!(parse_hours("00:00-24:00"), Some(ALL_HOURS));
        assert_eq!(parse_hours("22:00-06:00"), Some(ALL_HOURS & !0x003f_ffc0));
        assert_eq!(parse_hours("06:30-22:00"), None);
        assert_eq!(parse_hours("06:00-06:00"), None);
        assert_eq!(parse_months("oct-mar"), Some(0b1110_0000_0111));
        assert_eq!(parse_months("jan"), Some(1));
        assert_eq!(parse_months("january"), None);
        assert_eq!(describe_hours(0x003f_ffc0), "06:00-22:00");
        assert_eq!(
            describe_hours(ALL_HOURS & !0x003f_ffc0),
            "00:00-06:00, 22:00-24:00"
        );
    }
}
