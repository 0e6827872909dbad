//! The rating plan: everything about a (products, statutory tables, market, period,
//! resolution) that does not depend on the metering point, computed once and reused for
//! every metering point of a billing run.
//!
//! The plan maps each interval of the period to an *energy class*: the combination of
//! per-kWh prices in force (time-of-use bucket of every energy component, version of
//! every component, statutory rate period). Classes change only at hour boundaries, so
//! the period is stored as a few dozen *runs* of intervals with one class each. Rating a
//! metering point then sums energy per run (tight, vectorisable integer loops) and prices
//! the handful of class totals; see [`crate::engine`].
//!
//! Longer than 600 lines for a reason: [`RatingPlan::new`] builds the calendar, the component
//! groups, the energy slots, the buckets and the runs in one pass over shared local tables
//! (day and hour indices, holiday flags, bucket ids); split, each step would take a dozen of
//! them as arguments. Splitting it along those steps is a follow-up.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use nordlys_core::model::Market;
use nordlys_core::quantity::Currency;
use nordlys_core::time::{LocalPeriod, Resolution, start_of_local_day};
use rust_decimal::Decimal;

use crate::calendar::describe_hours;
use crate::decimal::price_to_nano;
use crate::invoice::LineKind;
use crate::product::{CapacityMethod, Pricing, Product, ProductErrors, VatTreatment};
use crate::statutory::{ChargeRule, Statutory};

/// Why a plan could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    InvalidProduct(ProductErrors),
    #[error("products {first:?} and {other:?} differ in {what}; rate them in separate plans")]
    Mismatch {
        first: String,
        other: String,
        what: &'static str,
    },
    #[error("a plan needs at least one product")]
    NoProducts,
    #[error("time zone {zone}: local days do not start on whole hours, which the engine requires")]
    UnalignedZone { zone: String },
    #[error(
        "product {product:?}, component {component:?}: capacity threshold {value} has more than 6 decimals"
    )]
    ThresholdPrecision {
        product: String,
        component: String,
        value: Decimal,
    },
    #[error("period {period}: at most {max} local days can be rated at once")]
    PeriodTooLong { period: String, max: i64 },
    #[error(
        "{origin}, {component}: price {value} per kWh is not exact to 9 decimals or is beyond ±1,000,000 per kWh, which the engine rates"
    )]
    PriceOutOfRange {
        origin: String,
        component: String,
        value: Decimal,
    },
    #[error(
        "product {product:?}, component {component:?}: no time-of-use period covers {date} {hour:02}:00 and there is no default price"
    )]
    UncoveredHour {
        product: String,
        component: String,
        date: Date,
        hour: i8,
    },
    #[error(
        "the products and statutory charges have more than {max} {what} in this period, more than the engine indexes; rate them in separate plans"
    )]
    TooManyPrices { what: &'static str, max: usize },
    #[error(
        "statutory charge {charge}: its spot rate from {from} has no basis (hourly_average or interval)"
    )]
    NoSpotBasis { charge: String, from: Date },
}

/// Limit on the length of one rating period: 366 local days (a leap year; a billing period is
/// a month or a quarter). It bounds every index and every energy sum (see
/// [`crate::engine::MAX_INTERVAL_WH`]), so day, hour and interval indices fit `u32`.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// A price per kWh in the engine's nano scale, if exact and within the engine's bounds.
fn price_nano_within_bounds(price: Decimal) -> Option<i64> {
    price_to_nano(price)
        .filter(|n| n.unsigned_abs() <= crate::engine::MAX_PRICE_NANO.unsigned_abs())
}

/// A plan index (bucket, class, period) as `u16`, below the [`NONE`] marker.
fn index16(index: usize, what: &'static str) -> Result<u16, PlanError> {
    u16::try_from(index)
        .ok()
        .filter(|i| *i != NONE)
        .ok_or(PlanError::TooManyPrices {
            what,
            max: usize::from(NONE),
        })
}

pub(crate) const NONE: u16 = u16::MAX;

/// One local day of the period.
#[derive(Debug, Clone)]
pub(crate) struct Day {
    pub date: Date,
    pub first_interval: u32,
    pub first_hour: u32,
    pub month: u16,
}

/// The part of a calendar month inside the period.
#[derive(Debug, Clone)]
pub(crate) struct MonthSeg {
    pub first_day: u32,
    pub end_day: u32,
    pub month_start: Date,
    pub days_in_month: i64,
}

/// A version of a component, as day indices of the period `[day_from, day_to)`.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub component: usize,
    pub day_from: u32,
    pub day_to: u32,
    pub from: Date,
    pub to: Option<Date>,
}

/// A product component code and its versions that touch the period.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub product: usize,
    pub source: Arc<str>,
    pub code: Arc<str>,
    pub name: Arc<str>,
    pub vat: VatTreatment,
    pub versions: Vec<Version>,
    /// For energy groups: the slot index.
    pub slot: Option<usize>,
    /// For capacity groups: thresholds of each version's steps × 1e6 (mW, or µA for fuses).
    pub thresholds_micro: Vec<Vec<i128>>,
    /// For capacity groups: each version's step descriptions, as invoice lines show them.
    pub step_labels: Vec<Vec<Arc<str>>>,
    /// For time-of-use demand: per version, per hour of the period, the period index (or NONE).
    pub hour_period: Vec<Vec<u16>>,
}

/// Where an energy slot's prices come from.
#[derive(Debug, Clone)]
pub(crate) enum SlotSource {
    Group(usize),
    Charge(usize),
}

/// A per-kWh priced thing: energy, time-of-use, tiered or spot components and statutory
/// per-kWh charges.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub source: SlotSource,
    pub kind: LineKind,
    /// Days (indices) without a statutory rate; rating them is an error.
    pub missing_days: Vec<u32>,
}

/// One priced energy bucket: a slot × version × time-of-use period × (month, for monthly
/// pricing). Each bucket with energy becomes an invoice line.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub slot: u16,
    /// Component index (product slots) or rate index (statutory slots).
    pub version: usize,
    pub sub: u16,
    pub month: u16,
    pub price_nano: i64,
    pub description: Arc<str>,
    pub period_name: Arc<str>,
    pub hours: Arc<str>,
    pub from: Date,
    pub to: Date,
}

/// A contiguous range of intervals with one energy class.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub start: u32,
    pub end: u32,
    pub class: u16,
}

/// Reusable, metering-point-independent rating data. Build once per (products, period,
/// resolution), then call [`RatingPlan::rate`] for every metering point.
#[derive(Debug, Clone)]
pub struct RatingPlan {
    pub(crate) market: Market,
    pub(crate) currency: Currency,
    pub(crate) tz: TimeZone,
    pub(crate) period: LocalPeriod,
    pub(crate) resolution: Resolution,
    pub(crate) intervals: usize,
    pub(crate) per_hour: usize,
    pub(crate) days: Vec<Day>,
    pub(crate) months: Vec<MonthSeg>,
    /// Local clock hour (0..=23) of each hour of the period.
    pub(crate) hour_clock: Vec<i8>,
    pub(crate) hour_day: Vec<u32>,
    pub(crate) products: Vec<Product>,
    pub(crate) statutory: Statutory,
    /// Per statutory charge, its code and name as shared line labels (no allocation per rating).
    pub(crate) statutory_labels: Vec<(Arc<str>, Arc<str>)>,
    /// The source every statutory line names.
    pub(crate) statutory_source: Arc<str>,
    /// Per statutory charge, each dated rate in nano per kWh (subsidy thresholds, hedge prices).
    pub(crate) statutory_rates_nano: Vec<Vec<i64>>,
    pub(crate) groups: Vec<Group>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) buckets: Vec<Bucket>,
    /// Per slot, its buckets in line order (by date, period, month).
    pub(crate) slot_buckets: Vec<Vec<u16>>,
    /// `class_buckets[class * slots + slot]` = bucket index or [`NONE`].
    pub(crate) class_buckets: Vec<u16>,
    pub(crate) classes: usize,
    pub(crate) runs: Vec<Run>,
    pub(crate) needs_spot_sum: bool,
    pub(crate) needs_hours: bool,
}

impl RatingPlan {
    /// Build the plan. Products must share currency and time zone, and are validated.
    pub fn new(
        products: &[Product],
        statutory: &Statutory,
        market: Market,
        period: LocalPeriod,
        resolution: Resolution,
    ) -> Result<Self, PlanError> {
        let first = products.first().ok_or(PlanError::NoProducts)?;
        for p in products {
            p.validate().map_err(PlanError::InvalidProduct)?;
            if p.currency != first.currency {
                return Err(PlanError::Mismatch {
                    first: first.code.clone(),
                    other: p.code.clone(),
                    what: "currency",
                });
            }
            if p.time_zone_name != first.time_zone_name {
                return Err(PlanError::Mismatch {
                    first: first.code.clone(),
                    other: p.code.clone(),
                    what: "time zone",
                });
            }
        }
        if period.days() > MAX_PERIOD_DAYS {
            return Err(PlanError::PeriodTooLong {
                period: format!("{}..{}", period.start, period.end),
                max: MAX_PERIOD_DAYS,
            });
        }
        let tz = first.time_zone.clone();
        let res_s = resolution.seconds();
        let per_hour = (3600 / res_s) as usize;

        // Calendar: days, months, hours.
        let mut days = Vec::new();
        let mut months: Vec<MonthSeg> = Vec::new();
        let mut hour_clock = Vec::new();
        let mut hour_day = Vec::new();
        let period_start = start_of_local_day(period.start, &tz);
        let mut date = period.start;
        while date < period.end {
            let start = start_of_local_day(date, &tz);
            let next = date.tomorrow().unwrap_or(date);
            let end = start_of_local_day(next, &tz);
            let offset_s = start.as_second() - period_start.as_second();
            if offset_s % 3600 != 0 || (end.as_second() - start.as_second()) % 3600 != 0 {
                return Err(PlanError::UnalignedZone {
                    zone: first.time_zone_name.clone(),
                });
            }
            let first_hour = (offset_s / 3600) as u32;
            let hours = (end.as_second() - start.as_second()) / 3600;
            if months.last().is_none_or(|m| {
                m.month_start.month() != date.month() || m.month_start.year() != date.year()
            }) {
                let month_start = date.first_of_month();
                months.push(MonthSeg {
                    first_day: days.len() as u32,
                    end_day: days.len() as u32,
                    month_start,
                    days_in_month: i64::from(date.days_in_month()),
                });
            }
            let month = (months.len() - 1) as u16;
            if let Some(m) = months.last_mut() {
                m.end_day += 1;
            }
            for h in 0..hours {
                let ts = start.as_second() + h * 3600;
                let local = tz.to_datetime(jiff::Timestamp::from_second(ts).unwrap_or(start));
                hour_clock.push(local.hour());
                hour_day.push(days.len() as u32);
            }
            days.push(Day {
                date,
                first_interval: first_hour * per_hour as u32,
                first_hour,
                month,
            });
            date = next;
        }
        let hours_total = hour_clock.len();
        let intervals = hours_total * per_hour;
        days.push(Day {
            date: period.end,
            first_interval: intervals as u32,
            first_hour: hours_total as u32,
            month: months.len() as u16,
        });
        let day_of = |d: Date| -> u32 {
            if d <= period.start {
                0
            } else if d >= period.end {
                (days.len() - 1) as u32
            } else {
                (d - period.start).get_days() as u32
            }
        };

        // Groups of component versions touching the period.
        let mut groups: Vec<Group> = Vec::new();
        for (pi, p) in products.iter().enumerate() {
            let source: Arc<str> = Arc::from(p.code.as_str());
            for (ci, c) in p.components.iter().enumerate() {
                let day_from = day_of(c.valid_from);
                let day_to = c.valid_to.map_or((days.len() - 1) as u32, day_of);
                let gi = match groups
                    .iter()
                    .position(|g| g.product == pi && *g.code == *c.code)
                {
                    Some(gi) => gi,
                    None => {
                        groups.push(Group {
                            product: pi,
                            source: source.clone(),
                            code: Arc::from(c.code.as_str()),
                            name: Arc::from(c.name.as_str()),
                            vat: c.vat.unwrap_or(VatTreatment::Standard),
                            versions: Vec::new(),
                            slot: None,
                            thresholds_micro: Vec::new(),
                            step_labels: Vec::new(),
                            hour_period: Vec::new(),
                        });
                        groups.len() - 1
                    }
                };
                if day_from < day_to {
                    groups[gi].versions.push(Version {
                        component: ci,
                        day_from,
                        day_to,
                        from: c.valid_from,
                        to: c.valid_to,
                    });
                }
            }
        }
        for g in &mut groups {
            g.versions.sort_by_key(|v| v.day_from);
            let product = &products[g.product];
            for v in &g.versions {
                let c = &product.components[v.component];
                if let Pricing::Capacity { steps, method, .. } = &c.pricing {
                    let unit = if *method == CapacityMethod::MainFuse {
                        "A"
                    } else {
                        "kW"
                    };
                    g.step_labels.push(
                        steps
                            .iter()
                            .map(|s| {
                                Arc::from(match s.to {
                                    Some(to) => format!("{} {}–{to} {unit}", g.name, s.from),
                                    None => format!("{} over {} {unit}", g.name, s.from),
                                })
                            })
                            .collect(),
                    );
                    let mut t = Vec::new();
                    for s in steps {
                        let milli = s.from * Decimal::ONE_THOUSAND;
                        if !(milli * Decimal::ONE_THOUSAND).fract().is_zero() {
                            return Err(PlanError::ThresholdPrecision {
                                product: product.code.clone(),
                                component: c.code.clone(),
                                value: s.from,
                            });
                        }
                        // Stored ×1e6 of the unit so that averages compare exactly.
                        let micro = s.from * Decimal::from(1_000_000);
                        t.push(micro.mantissa() / 10i128.pow(micro.scale()));
                    }
                    g.thresholds_micro.push(t);
                }
                if let Pricing::TouDemand { periods, .. } = &c.pricing {
                    let mut per_hour_period = vec![NONE; hours_total];
                    for (h, slot) in per_hour_period.iter_mut().enumerate() {
                        let day = &days[hour_day[h] as usize];
                        let (weekday, holiday) =
                            (day.date.weekday(), product.holidays.is_holiday(day.date));
                        if let Some(pi) = periods.iter().position(|p| {
                            p.when
                                .matches(day.date.month(), weekday, holiday, hour_clock[h])
                        }) {
                            // Entries sharing a name and prices are one demand period.
                            let canonical = periods
                                .iter()
                                .position(|q| q.is_same_period(&periods[pi]))
                                .unwrap_or(pi);
                            *slot = canonical as u16;
                        }
                    }
                    g.hour_period.push(per_hour_period);
                }
            }
        }

        // Energy slots.
        let mut slots = Vec::new();
        for (gi, g) in groups.iter_mut().enumerate() {
            let c = &products[g.product].components[g.versions.first().map_or(0, |v| v.component)];
            let kind = match c.pricing {
                Pricing::Energy { .. }
                | Pricing::TimeOfUse { .. }
                | Pricing::TieredEnergy { .. } => LineKind::Energy,
                Pricing::Spot { .. } => LineKind::Spot,
                _ => continue,
            };
            if g.versions.is_empty() {
                continue;
            }
            g.slot = Some(slots.len());
            slots.push(Slot {
                source: SlotSource::Group(gi),
                kind,
                missing_days: Vec::new(),
            });
        }
        for (ci, charge) in statutory.charges.iter().enumerate() {
            if charge.market == market && charge.rule == ChargeRule::PerKwh {
                slots.push(Slot {
                    source: SlotSource::Charge(ci),
                    kind: charge.kind,
                    missing_days: Vec::new(),
                });
            }
        }

        // Classes per hour, then runs of intervals.
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut bucket_ids: HashMap<(u16, usize, u16, u16), u16> = HashMap::new();
        let mut class_ids: HashMap<Vec<u16>, u16> = HashMap::new();
        let mut class_buckets: Vec<u16> = Vec::new();
        let mut runs: Vec<Run> = Vec::new();
        let mut key = vec![NONE; slots.len()];
        let mut day_info: Option<(u32, Weekday, Vec<bool>)> = None;
        for h in 0..hours_total {
            let di = hour_day[h];
            let day = &days[di as usize];
            if day_info.as_ref().is_none_or(|(d, _, _)| *d != di) {
                let holidays = products
                    .iter()
                    .map(|p| p.holidays.is_holiday(day.date))
                    .collect();
                day_info = Some((di, day.date.weekday(), holidays));
            }
            let Some((_, weekday, holidays)) = &day_info else {
                unreachable!("set above")
            };
            for (si, slot) in slots.iter_mut().enumerate() {
                key[si] = NONE;
                let found = match &slot.source {
                    SlotSource::Group(gi) => {
                        let g = &groups[*gi];
                        let product = &products[g.product];
                        g.versions
                            .iter()
                            .find(|v| di >= v.day_from && di < v.day_to)
                            .map(|v| -> Result<_, PlanError> {
                                let c = &product.components[v.component];
                                let (sub, month, price, period_name, hours, description) = match &c
                                    .pricing
                                {
                                    Pricing::TimeOfUse {
                                        default_price_per_kwh,
                                        default_name,
                                        periods,
                                    } => {
                                        match periods.iter().position(|p| {
                                            p.when.matches(
                                                day.date.month(),
                                                *weekday,
                                                holidays[g.product],
                                                hour_clock[h],
                                            )
                                        }) {
                                            Some(pi) => {
                                                // Periods sharing a name and prices are one
                                                // period (one bucket, one line).
                                                let pi = periods
                                                    .iter()
                                                    .position(|q| q.is_same_period(&periods[pi]))
                                                    .unwrap_or(pi);
                                                let p = &periods[pi];
                                                (
                                                    index16(pi, "time-of-use periods")?,
                                                    // Tiers count the month's energy: one bucket per month.
                                                    if p.tiers.is_empty() { 0 } else { day.month },
                                                    p.price,
                                                    p.name.clone(),
                                                    describe_window(p),
                                                    format!("{} – {}", c.name, p.name),
                                                )
                                            }
                                            None => (
                                                index16(periods.len(), "time-of-use periods")?,
                                                0,
                                                default_price_per_kwh.ok_or_else(|| {
                                                    PlanError::UncoveredHour {
                                                        product: product.code.clone(),
                                                        component: c.code.clone(),
                                                        date: day.date,
                                                        hour: hour_clock[h],
                                                    }
                                                })?,
                                                default_name.clone(),
                                                "other hours".to_owned(),
                                                format!("{} – {}", c.name, default_name),
                                            ),
                                        }
                                    }
                                    Pricing::Energy { price_per_kwh } => (
                                        0,
                                        0,
                                        *price_per_kwh,
                                        c.name.clone(),
                                        "all hours".to_owned(),
                                        c.name.clone(),
                                    ),
                                    Pricing::TieredEnergy { .. } => (
                                        0,
                                        day.month,
                                        Decimal::ZERO,
                                        c.name.clone(),
                                        "all hours".to_owned(),
                                        c.name.clone(),
                                    ),
                                    Pricing::Spot { averaging, .. } => {
                                        let month = if *averaging
                                            == crate::product::SpotAveraging::MonthlyAverage
                                        {
                                            day.month
                                        } else {
                                            0
                                        };
                                        (
                                            0,
                                            month,
                                            Decimal::ZERO,
                                            c.name.clone(),
                                            "all hours".to_owned(),
                                            c.name.clone(),
                                        )
                                    }
                                    _ => unreachable!("only energy kinds have slots"),
                                };
                                let bucket_from = v.from.max(period.start);
                                let bucket_to = v.to.map_or(period.end, |t| t.min(period.end));
                                Ok((
                                    v.component,
                                    sub,
                                    month,
                                    price,
                                    period_name,
                                    hours,
                                    description,
                                    bucket_from,
                                    bucket_to,
                                ))
                            })
                            .transpose()?
                    }
                    SlotSource::Charge(ci) => {
                        let charge = &statutory.charges[*ci];
                        match charge.rate_on(day.date) {
                            Some((ri, r)) => Some((
                                ri,
                                0,
                                0,
                                r.value,
                                charge.name.clone(),
                                "all hours".to_owned(),
                                charge.name.clone(),
                                r.from.max(period.start),
                                r.to.map_or(period.end, |t| t.min(period.end)),
                            )),
                            None => {
                                if slot.missing_days.last() != Some(&di) {
                                    slot.missing_days.push(di);
                                }
                                None
                            }
                        }
                    }
                };
                if let Some((
                    version,
                    sub,
                    month,
                    price,
                    period_name,
                    hours,
                    description,
                    from,
                    to,
                )) = found
                {
                    let slot16 = index16(si, "energy slots")?;
                    let id = match bucket_ids.entry((slot16, version, sub, month)) {
                        std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            let price_nano = price_nano_within_bounds(price).ok_or_else(|| {
                                let (source, component) = match &slot.source {
                                    SlotSource::Group(gi) => (
                                        groups[*gi].source.to_string(),
                                        groups[*gi].code.to_string(),
                                    ),
                                    SlotSource::Charge(ci) => (
                                        "statutory".to_owned(),
                                        statutory.charges[*ci].code.clone(),
                                    ),
                                };
                                PlanError::PriceOutOfRange {
                                    origin: source,
                                    component,
                                    value: price,
                                }
                            })?;
                            let id = index16(buckets.len(), "priced buckets")?;
                            buckets.push(Bucket {
                                slot: slot16,
                                version,
                                sub,
                                month,
                                price_nano,
                                description: Arc::from(description),
                                period_name: Arc::from(period_name),
                                hours: Arc::from(hours),
                                from,
                                to,
                            });
                            *e.insert(id)
                        }
                    };
                    key[si] = id;
                }
            }
            let class = match class_ids.get(&key) {
                Some(class) => *class,
                None => {
                    let class = index16(class_ids.len(), "price combinations")?;
                    class_buckets.extend_from_slice(&key);
                    class_ids.insert(key.clone(), class);
                    class
                }
            };
            let start = (h * per_hour) as u32;
            match runs.last_mut() {
                Some(r) if r.class == class && r.end == start => r.end += per_hour as u32,
                _ => runs.push(Run {
                    start,
                    end: start + per_hour as u32,
                    class,
                }),
            }
        }
        let classes = class_ids.len();
        let mut slot_buckets = vec![Vec::new(); slots.len()];
        for (bi, b) in (0u16..).zip(&buckets) {
            slot_buckets[usize::from(b.slot)].push(bi);
        }
        for list in &mut slot_buckets {
            list.sort_by_key(|b| {
                let b = &buckets[*b as usize];
                (b.from, b.sub, b.month)
            });
        }
        let needs_spot_sum = groups.iter().any(|g| {
            g.slot.is_some()
                && g.versions.iter().any(|v| {
                    matches!(
                        products[g.product].components[v.component].pricing,
                        Pricing::Spot {
                            averaging: crate::product::SpotAveraging::Interval,
                            ..
                        }
                    )
                })
        });
        let needs_hours = groups.iter().any(|g| {
            g.versions.iter().any(|v| {
                matches!(
                    products[g.product].components[v.component].pricing,
                    Pricing::Capacity { .. } | Pricing::Demand { .. } | Pricing::TouDemand { .. }
                )
            })
        });
        // Subsidy thresholds and hedge prices in the engine's scale, each with its basis.
        let mut statutory_rates_nano = Vec::with_capacity(statutory.charges.len());
        for c in &statutory.charges {
            let spot_rule = matches!(
                c.rule,
                ChargeRule::SpotSubsidy { .. } | ChargeRule::PriceHedge { .. }
            );
            let mut rates = Vec::with_capacity(c.rates.len());
            for r in &c.rates {
                if spot_rule && r.basis.is_none() {
                    return Err(PlanError::NoSpotBasis {
                        charge: c.code.clone(),
                        from: r.from,
                    });
                }
                rates.push(price_nano_within_bounds(r.value).ok_or_else(|| {
                    PlanError::PriceOutOfRange {
                        origin: "statutory".to_owned(),
                        component: c.code.clone(),
                        value: r.value,
                    }
                })?);
            }
            statutory_rates_nano.push(rates);
        }
        Ok(RatingPlan {
            market,
            currency: first.currency,
            tz,
            period,
            resolution,
            intervals,
            per_hour,
            days,
            months,
            hour_clock,
            hour_day,
            products: products.to_vec(),
            statutory: statutory.clone(),
            statutory_labels: statutory
                .charges
                .iter()
                .map(|c| (Arc::from(c.code.as_str()), Arc::from(c.name.as_str())))
                .collect(),
            statutory_source: Arc::from("statutory"),
            statutory_rates_nano,
            groups,
            slots,
            buckets,
            slot_buckets,
            class_buckets,
            classes,
            runs,
            needs_spot_sum,
            needs_hours,
        })
    }

    /// Number of intervals the energy series (and spot prices) must have.
    pub fn intervals(&self) -> usize {
        self.intervals
    }
    pub fn period(&self) -> LocalPeriod {
        self.period
    }
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
    /// Runs of intervals with one price combination (a measure of the plan's cost).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }
    /// Index of the first interval of local date `date` (clamped to the period).
    pub fn interval_of_day(&self, date: Date) -> usize {
        let di = if date <= self.period.start {
            0
        } else if date >= self.period.end {
            self.days.len() - 1
        } else {
            (date - self.period.start).get_days() as usize
        };
        self.days[di].first_interval as usize
    }
}

fn describe_window(p: &crate::product::TouPeriod) -> String {
    let days: Vec<String> = p
        .when
        .days
        .iter()
        .map(|d| match d {
            crate::calendar::DaySelector::All => "all days".to_owned(),
            crate::calendar::DaySelector::Weekday => "Mon–Fri".to_owned(),
            crate::calendar::DaySelector::Weekend => "weekends".to_owned(),
            crate::calendar::DaySelector::Holiday => "holidays".to_owned(),
            crate::calendar::DaySelector::WorkingDay => "working days".to_owned(),
            crate::calendar::DaySelector::DayOff => "weekends and holidays".to_owned(),
            crate::calendar::DaySelector::Named(w) => format!("{w:?}"),
        })
        .collect();
    format!("{} {}", days.join("/"), describe_hours(p.when.hours))
}

impl fmt::Display for RatingPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plan {}..{} {} {}: {} intervals, {} classes, {} runs, {} buckets",
            self.period.start,
            self.period.end,
            self.resolution,
            self.currency,
            self.intervals,
            self.classes,
            self.runs.len(),
            self.buckets.len()
        )
    }
}
