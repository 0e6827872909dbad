//! The kind-specific part of a TOML product component: one wire type per `kind`
//! (fees, energy, time of use, tiers, spot, capacity, demand), and their conversion into
//! the domain [`Pricing`], with tiers, time-of-use periods and their time windows.

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::calendar::{ALL_HOURS, ALL_MONTHS, DaySelector, TimeWindow, parse_hours, parse_months};
use crate::decimal::Dec;
use crate::product::{
    CapacityMethod, CapacityStep, DemandMeasure, FeePeriod, OneOffTrigger, Pricing, Problems,
    SpotAveraging, Tier, TouPeriod,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeFile {
    price: Dec,
    per: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OneOffFile {
    price: Dec,
    on: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageFile {
    price_per_unit: Dec,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnergyFile {
    price_per_kwh: Dec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TouFile {
    #[serde(default)]
    default_price_per_kwh: Option<Dec>,
    #[serde(default)]
    default_name: Option<String>,
    #[serde(default)]
    period: Vec<TouPeriodFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TouPeriodFile {
    name: String,
    #[serde(default)]
    months: Option<Vec<String>>,
    #[serde(default)]
    days: Option<Vec<String>>,
    #[serde(default)]
    hours: Option<Vec<String>>,
    #[serde(default)]
    price_per_kwh: Option<Dec>,
    #[serde(default)]
    price_per_kw: Option<Dec>,
    /// Blocks of the month's energy (or maximum demand) in this period, instead of one price.
    #[serde(default)]
    tier: Vec<TierFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TieredFile {
    tier: Vec<TierFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    #[serde(default)]
    up_to_kwh: Option<Dec>,
    #[serde(default)]
    up_to_kw: Option<Dec>,
    #[serde(default)]
    price_per_kwh: Option<Dec>,
    #[serde(default)]
    price_per_kw: Option<Dec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpotFile {
    #[serde(default)]
    factor: Option<Dec>,
    #[serde(default)]
    markup_per_kwh: Option<Dec>,
    #[serde(default)]
    averaging: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityFile {
    method: String,
    #[serde(default)]
    peaks: Option<u8>,
    threshold_inclusive: bool,
    per: String,
    step: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    from: Dec,
    #[serde(default)]
    to: Option<Dec>,
    price: Dec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemandFile {
    #[serde(default)]
    measure: Option<String>,
    #[serde(default)]
    price_per_kw: Option<Dec>,
    #[serde(default)]
    tier: Vec<TierFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TouDemandFile {
    #[serde(default)]
    measure: Option<String>,
    period: Vec<TouPeriodFile>,
}

/// The pricing of a component of `kind` from the rest of its table (the common fields taken).
pub(super) fn read_pricing(
    kind: &str,
    table: toml::Table,
    at: &str,
    p: &mut Problems,
) -> Option<Pricing> {
    fn body<T: serde::de::DeserializeOwned>(
        table: toml::Table,
        at: &str,
        kind: &str,
        p: &mut Problems,
    ) -> Option<T> {
        toml::Value::Table(table)
            .try_into::<T>()
            .map_err(|e| {
                p.push(
                    Some(at),
                    format!("({kind})"),
                    "",
                    e.to_string().trim_end().to_owned(),
                )
            })
            .ok()
    }
    let fee_period = |text: &str| FeePeriod::parse(text);
    match kind {
        "fixed" | "subscription" | "minimum" => {
            let f: FeeFile = body(table, at, kind, p)?;
            let Some(per) = fee_period(&f.per) else {
                return bad_field(p, at, "per", &f.per, "must be one of: day, month, year");
            };
            let price = f.price.0;
            Some(match kind {
                "fixed" => Pricing::Fixed { price, per },
                "subscription" => Pricing::Subscription { price, per },
                _ => Pricing::Minimum { price, per },
            })
        }
        "one_off" => {
            let f: OneOffFile = body(table, at, kind, p)?;
            let on = match f.on.as_str() {
                "start" => OneOffTrigger::Start,
                "end" => OneOffTrigger::End,
                other => return bad_field(p, at, "on", other, "must be one of: start, end"),
            };
            Some(Pricing::OneOff {
                price: f.price.0,
                on,
            })
        }
        "usage" => {
            let f: UsageFile = body(table, at, kind, p)?;
            Some(Pricing::Usage {
                price_per_unit: f.price_per_unit.0,
                unit: f.unit,
            })
        }
        "energy" => {
            let f: EnergyFile = body(table, at, kind, p)?;
            Some(Pricing::Energy {
                price_per_kwh: f.price_per_kwh.0,
            })
        }
        "time_of_use" => {
            let f: TouFile = body(table, at, kind, p)?;
            let periods = read_periods(f.period, at, p, "price_per_kwh")?;
            Some(Pricing::TimeOfUse {
                default_price_per_kwh: f.default_price_per_kwh.map(|d| d.0),
                default_name: f.default_name.unwrap_or_else(|| "other hours".to_owned()),
                periods,
            })
        }
        "tiered_energy" => {
            let f: TieredFile = body(table, at, kind, p)?;
            let tiers = read_tiers(f.tier, at, p, "kwh")?;
            Some(Pricing::TieredEnergy { tiers })
        }
        "spot" => {
            let f: SpotFile = body(table, at, kind, p)?;
            let averaging = match f.averaging.as_deref().unwrap_or("interval") {
                "interval" => SpotAveraging::Interval,
                "monthly_average" => SpotAveraging::MonthlyAverage,
                other => {
                    return bad_field(
                        p,
                        at,
                        "averaging",
                        other,
                        "must be one of: interval, monthly_average",
                    );
                }
            };
            Some(Pricing::Spot {
                factor: f.factor.map_or(Decimal::ONE, |d| d.0),
                markup_per_kwh: f.markup_per_kwh.map_or(Decimal::ZERO, |d| d.0),
                averaging,
            })
        }
        "capacity" => {
            let f: CapacityFile = body(table, at, kind, p)?;
            let method = match f.method.as_str() {
                "daily_peaks" => CapacityMethod::DailyPeaks {
                    peaks: f.peaks.unwrap_or(3),
                },
                "monthly_max" => CapacityMethod::MonthlyMax,
                "main_fuse" => CapacityMethod::MainFuse,
                "weighted_weekly_peaks_year" => CapacityMethod::WeightedWeeklyPeaksYear,
                "unknown" => CapacityMethod::Unknown,
                other => {
                    return bad_field(
                        p,
                        at,
                        "method",
                        other,
                        "must be one of: daily_peaks, monthly_max, main_fuse, weighted_weekly_peaks_year, unknown",
                    );
                }
            };
            if f.peaks.is_some() && !matches!(method, CapacityMethod::DailyPeaks { .. }) {
                return bad_field(
                    p,
                    at,
                    "peaks",
                    &f.method,
                    "peaks only applies to method = \"daily_peaks\"",
                );
            }
            let Some(per) = fee_period(&f.per).filter(|p| *p != FeePeriod::Day) else {
                return bad_field(p, at, "per", &f.per, "must be one of: month, year");
            };
            let steps = f
                .step
                .into_iter()
                .map(|s| CapacityStep {
                    from: s.from.0,
                    to: s.to.map(|d| d.0),
                    price: s.price.0,
                })
                .collect();
            Some(Pricing::Capacity {
                method,
                threshold_inclusive: f.threshold_inclusive,
                per,
                steps,
            })
        }
        "demand" => {
            let f: DemandFile = body(table, at, kind, p)?;
            let measure = read_measure(f.measure.as_deref(), at, p)?;
            let tiers = match (f.price_per_kw, f.tier.is_empty()) {
                (Some(price), true) => vec![Tier {
                    up_to: None,
                    price: price.0,
                }],
                (None, false) => read_tiers(f.tier, at, p, "kw")?,
                _ => {
                    return bad_field(
                        p,
                        at,
                        "price_per_kw",
                        "",
                        "give either price_per_kw (flat) or [[component.tier]] blocks, not both or neither",
                    );
                }
            };
            Some(Pricing::Demand { measure, tiers })
        }
        "time_of_use_demand" => {
            let f: TouDemandFile = body(table, at, kind, p)?;
            let measure = read_measure(f.measure.as_deref(), at, p)?;
            let periods = read_periods(f.period, at, p, "price_per_kw")?;
            Some(Pricing::TouDemand { measure, periods })
        }
        other => bad_field(
            p,
            at,
            "kind",
            other,
            "must be one of: fixed, subscription, minimum, one_off, usage, energy, time_of_use, tiered_energy, spot, capacity, demand, time_of_use_demand",
        ),
    }
}

fn bad_field(p: &mut Problems, at: &str, field: &str, value: &str, rule: &str) -> Option<Pricing> {
    p.push(Some(at), field, value, rule);
    None
}

fn read_measure(text: Option<&str>, at: &str, p: &mut Problems) -> Option<DemandMeasure> {
    match text.unwrap_or("hour") {
        "hour" => Some(DemandMeasure::Hour),
        "interval" => Some(DemandMeasure::Interval),
        other => {
            p.push(Some(at), "measure", other, "must be one of: hour, interval");
            None
        }
    }
}

fn read_tiers(tiers: Vec<TierFile>, at: &str, p: &mut Problems, unit: &str) -> Option<Vec<Tier>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, t) in tiers.into_iter().enumerate() {
        let (up_to, price, wrong) = if unit == "kwh" {
            (
                t.up_to_kwh,
                t.price_per_kwh,
                t.up_to_kw.is_some() || t.price_per_kw.is_some(),
            )
        } else {
            (
                t.up_to_kw,
                t.price_per_kw,
                t.up_to_kwh.is_some() || t.price_per_kwh.is_some(),
            )
        };
        if wrong {
            p.push(
                Some(at),
                format!("tier[{i}]"),
                "",
                format!("use up_to_{unit} and price_per_{unit} here"),
            );
            ok = false;
        }
        match price {
            Some(price) => out.push(Tier {
                up_to: up_to.map(|d| d.0),
                price: price.0,
            }),
            None => {
                p.push(
                    Some(at),
                    format!("tier[{i}].price_per_{unit}"),
                    "",
                    "every tier needs a price",
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn read_periods(
    periods: Vec<TouPeriodFile>,
    at: &str,
    p: &mut Problems,
    price_field: &str,
) -> Option<Vec<TouPeriod>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, f) in periods.into_iter().enumerate() {
        let (price, other) = if price_field == "price_per_kwh" {
            (f.price_per_kwh, f.price_per_kw)
        } else {
            (f.price_per_kw, f.price_per_kwh)
        };
        if other.is_some() {
            p.push(
                Some(at),
                format!("period[{i}]"),
                "",
                format!("use {price_field} for this kind"),
            );
            ok = false;
        }
        let tiers = if f.tier.is_empty() {
            Vec::new()
        } else {
            if price.is_some() {
                p.push(
                    Some(at),
                    format!("period[{i}].{price_field}"),
                    "",
                    "give either one price or tiers for a period, not both",
                );
                ok = false;
            }
            let unit = if price_field == "price_per_kwh" {
                "kwh"
            } else {
                "kw"
            };
            match p.nested(&format!("period[{i}]"), |p| read_tiers(f.tier, at, p, unit)) {
                Some(tiers) => tiers,
                None => {
                    ok = false;
                    continue;
                }
            }
        };
        let price = match (price, tiers.first()) {
            (Some(price), _) => price.0,
            // A tiered period's first block price stands for the period where one price is shown.
            (None, Some(first)) => first.price,
            (None, None) => {
                p.push(
                    Some(at),
                    format!("period[{i}].{price_field}"),
                    "",
                    "every period needs a price (or tiers)",
                );
                ok = false;
                continue;
            }
        };
        match read_window(f.months, f.days, f.hours) {
            Ok(when) => out.push(TouPeriod {
                tiers,
                name: f.name,
                when,
                price,
            }),
            Err((field, value, rule)) => {
                p.push(Some(at), format!("period[{i}].{field}"), value, rule);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn read_window(
    months: Option<Vec<String>>,
    days: Option<Vec<String>>,
    hours: Option<Vec<String>>,
) -> Result<TimeWindow, (&'static str, String, String)> {
    let mut window = TimeWindow::always();
    if let Some(months) = months {
        window.months = 0;
        for m in months {
            window.months |= parse_months(&m).ok_or_else(|| {
                (
                    "months",
                    m.clone(),
                    "a month is jan … dec, or a range such as oct-mar".to_owned(),
                )
            })?;
        }
    }
    debug_assert!(window.months & !ALL_MONTHS == 0);
    if let Some(days) = days {
        window.days = days
            .iter()
            .map(|d| {
                DaySelector::parse(d).ok_or_else(|| {
                    (
                        "days",
                        d.clone(),
                        format!("must be one of: {}", DaySelector::CODES),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(hours) = hours {
        window.hours = 0;
        for h in hours {
            window.hours |= parse_hours(&h).ok_or_else(|| ("hours", h.clone(), "hours are written HH:00-HH:00 in local time, e.g. 06:00-22:00 (end exclusive, may wrap midnight)".to_owned()))?;
        }
    }
    debug_assert!(window.hours & !ALL_HOURS == 0);
    Ok(window)
}
