//! Why a line has the amount it has: [`Explanation`], structured so that documents can render
//! it in any language, with `Display` giving the English text the API and the CLI show.

use std::fmt;
use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

/// One clock hour's energy, a candidate peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourPeak {
    pub date: Date,
    /// Local clock hour the peak starts at (0..=23).
    pub hour: i8,
    pub energy_wh: i64,
}

/// One reason a line is what it is. The rating engine gives the variants up to
/// [`Explanation::Note`]; corrections add [`Explanation::Corrects`] and
/// [`Explanation::Replaces`] in front of the lines they issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explanation {
    /// A monthly amount prorated by active days.
    Prorated {
        /// The first day of the month.
        month: Date,
        days: i64,
        days_in_month: i64,
    },
    /// The peaks that selected a capacity step and the resulting average.
    Peaks {
        peaks: Vec<HourPeak>,
        average_w: i64,
        step_from: Decimal,
        step_to: Option<Decimal>,
        threshold_inclusive: bool,
    },
    /// The main fuse size that selected a capacity step.
    MainFuse { amperes: u32 },
    /// The highest demand in a month (or a time-of-use period of it).
    MaxDemand {
        date: Date,
        hour: i8,
        demand_w: i64,
        period: Option<Arc<str>>,
    },
    /// This line's share of the component's energy.
    EnergyShare {
        period: Arc<str>,
        hours: Arc<str>,
        energy_wh: i64,
        component_energy_wh: i64,
    },
    /// A spot-indexed line's consumption-weighted (or monthly) average area price.
    SpotPrice {
        average_price_per_kwh: Decimal,
        factor: Decimal,
        markup_per_kwh: Decimal,
        monthly_average: bool,
    },
    /// A statutory rate and the dates it applied.
    RatePeriod { from: Date, to: Date, rate: Decimal },
    /// Subsidy or price hedge: the energy covered and capped.
    Subsidy {
        threshold_per_kwh: Decimal,
        percent: Decimal,
        covered_wh: i64,
        capped_wh: i64,
    },
    /// A tier of a block price.
    Tier {
        from_kwh: Decimal,
        to_kwh: Option<Decimal>,
    },
    /// Free text: what the engine says in words, and every explanation of a line issued before
    /// explanations were stored structured (one note per line of its text).
    Note(Arc<str>),
    /// The line belongs to a correction of these documents (their numbers, `F-12`): a credit
    /// note's reversal or a difference document's change.
    Corrects { documents: Vec<String> },
    /// The line belongs to an invoice issued again in place of these documents.
    Replaces { documents: Vec<String> },
}

/// Watt-hours as kWh with three decimals.
fn kwh(wh: i64) -> Decimal {
    Decimal::new(wh, 3)
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Explanation::Prorated {
                month,
                days,
                days_in_month,
            } => write!(
                f,
                "prorated {days} of {days_in_month} days in {}-{:02}",
                month.year(),
                month.month()
            ),
            Explanation::Peaks {
                peaks,
                average_w,
                step_from,
                step_to,
                threshold_inclusive,
            } => {
                write!(f, "peaks: ")?;
                for (i, p) in peaks.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(
                        f,
                        "{} {:02}:00-{:02}:00 {} kWh",
                        p.date,
                        p.hour,
                        p.hour + 1,
                        kwh(p.energy_wh)
                    )?;
                }
                let average = Decimal::new(*average_w, 3);
                write!(f, "; average {average} kW → step {step_from}–")?;
                match step_to {
                    Some(t) => write!(f, "{t} kW")?,
                    None => write!(f, " kW")?,
                }
                write!(
                    f,
                    " ({})",
                    if *threshold_inclusive {
                        "a value on a threshold belongs to the higher step"
                    } else {
                        "a value on a threshold belongs to the lower step"
                    }
                )
            }
            Explanation::MainFuse { amperes } => write!(f, "main fuse {amperes} A"),
            Explanation::MaxDemand {
                date,
                hour,
                demand_w,
                period,
            } => {
                write!(
                    f,
                    "highest demand {} kW at {date} {hour:02}:00",
                    Decimal::new(*demand_w, 3)
                )?;
                if let Some(p) = period {
                    write!(f, " ({p})")?;
                }
                Ok(())
            }
            Explanation::EnergyShare {
                period,
                hours,
                energy_wh,
                component_energy_wh,
            } => write!(
                f,
                "{period} ({hours}): {} of {} kWh",
                kwh(*energy_wh),
                kwh(*component_energy_wh)
            ),
            Explanation::SpotPrice {
                average_price_per_kwh,
                factor,
                markup_per_kwh,
                monthly_average,
            } => write!(
                f,
                "{} area price {average_price_per_kwh}/kWh × {factor} + markup {markup_per_kwh}/kWh",
                if *monthly_average {
                    "monthly average"
                } else {
                    "consumption-weighted"
                }
            ),
            Explanation::RatePeriod { from, to, rate } => {
                write!(f, "rate {rate}/kWh from {from} to {to}")
            }
            Explanation::Subsidy {
                threshold_per_kwh,
                percent,
                covered_wh,
                capped_wh,
            } => write!(
                f,
                "{percent} % relative to {threshold_per_kwh}/kWh on {} kWh; {} kWh above the monthly cap",
                kwh(*covered_wh),
                kwh(*capped_wh)
            ),
            Explanation::Tier { from_kwh, to_kwh } => match to_kwh {
                Some(t) => write!(f, "block {from_kwh}–{t}"),
                None => write!(f, "block above {from_kwh}"),
            },
            Explanation::Note(text) => f.write_str(text),
            Explanation::Corrects { documents } => {
                write!(f, "correction of {}", documents.join(", "))
            }
            Explanation::Replaces { documents } => write!(f, "replaces {}", documents.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn explanations_read_in_english() {
        let cases = [
            (
                Explanation::Prorated {
                    month: Date::constant(2025, 2, 1),
                    days: 10,
                    days_in_month: 28,
                },
                "prorated 10 of 28 days in 2025-02",
            ),
            (
                Explanation::Peaks {
                    peaks: vec![
                        HourPeak {
                            date: Date::constant(2025, 1, 3),
                            hour: 7,
                            energy_wh: 5_250,
                        },
                        HourPeak {
                            date: Date::constant(2025, 1, 9),
                            hour: 18,
                            energy_wh: 4_750,
                        },
                    ],
                    average_w: 5_000,
                    step_from: d("5"),
                    step_to: Some(d("10")),
                    threshold_inclusive: true,
                },
                "peaks: 2025-01-03 07:00-08:00 5.250 kWh, 2025-01-09 18:00-19:00 4.750 kWh; \
                 average 5.000 kW → step 5–10 kW (a value on a threshold belongs to the higher step)",
            ),
            (
                Explanation::MaxDemand {
                    date: Date::constant(2025, 1, 3),
                    hour: 8,
                    demand_w: 12_345,
                    period: Some(Arc::from("peak")),
                },
                "highest demand 12.345 kW at 2025-01-03 08:00 (peak)",
            ),
            (
                Explanation::Corrects {
                    documents: vec!["F-12".into(), "F-13".into()],
                },
                "correction of F-12, F-13",
            ),
            (
                Explanation::Replaces {
                    documents: vec!["F-12".into()],
                },
                "replaces F-12",
            ),
            (
                Explanation::Tier {
                    from_kwh: d("1000"),
                    to_kwh: None,
                },
                "block above 1000",
            ),
        ];
        for (explanation, english) in cases {
            assert_eq!(explanation.to_string(), english);
        }
    }
}
