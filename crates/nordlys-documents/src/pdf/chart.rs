//! The consumption chart's geometry: bar heights and the spot-price line as ratios of their
//! axes, with "nice" axis ticks (1, 2 or 5 × 10ⁿ) labelled in the buyer's language. Exact
//! until the last step: sums and axes are integers (Wh, 1/10 000 of a price unit); only the
//! ratios the template draws with are `f64`, and they never touch an amount.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use nordlys_core::model::Language;

use crate::i18n::format;
use crate::model::DailyUsage;

/// One labelled tick of an axis, `at` its height as a ratio of the axis.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Tick {
    pub at: f64,
    pub label: String,
}

/// A day's label under its bar.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct DayLabel {
    pub index: usize,
    pub label: String,
}

/// What the template draws: everything measured in [0, 1].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ChartGeometry {
    pub bars: Vec<f64>,
    /// `None` for a day without a price; the line skips it.
    pub prices: Vec<Option<f64>>,
    pub energy_ticks: Vec<Tick>,
    pub price_ticks: Vec<Tick>,
    pub day_labels: Vec<DayLabel>,
}

/// The smallest 1, 2 or 5 × 10ⁿ at least `rough` (`rough` ≥ 1).
fn nice_step(rough: i64) -> i64 {
    let mut magnitude = 1_i64;
    while magnitude.saturating_mul(10) <= rough {
        magnitude *= 10;
    }
    for factor in [1, 2, 5, 10] {
        if magnitude.saturating_mul(factor) >= rough {
            return magnitude.saturating_mul(factor);
        }
    }
    magnitude.saturating_mul(10)
}

/// An axis over `[low, high]` (integers) with about four steps: `(axis_low, axis_high, step)`.
fn nice_axis(low: i64, high: i64) -> (i64, i64, i64) {
    let low = low.min(0);
    let high = high.max(low + 1);
    let step = nice_step(((high - low) + 3) / 4).max(1);
    let axis_low = low.div_euclid(step) * step;
    let axis_high = (high + step - 1).div_euclid(step) * step;
    (axis_low, axis_high.max(axis_low + step), step)
}

fn ratio(value: i64, low: i64, high: i64) -> f64 {
    // Geometry only: a bar's height on the page, never an amount.
    ((value - low) as f64 / (high - low) as f64).clamp(0.0, 1.0)
}

/// Price units of 1/10 000 (the fewest decimals any spot price is given in).
const PRICE_SCALE: u32 = 4;

fn price_units(price: Decimal) -> i64 {
    (price * Decimal::from(10_i64.pow(PRICE_SCALE)))
        .round()
        .to_i64()
        .unwrap_or(0)
}

/// The chart of `daily`, its labels in `language`.
pub(crate) fn geometry(daily: &[DailyUsage], language: Language) -> ChartGeometry {
    let highest_wh = daily.iter().map(|d| d.energy_wh).max().unwrap_or(0).max(0);
    let lowest_wh = daily.iter().map(|d| d.energy_wh).min().unwrap_or(0);
    let (energy_low, energy_high, energy_step) = nice_axis(lowest_wh, highest_wh.max(1_000));
    let bars = daily
        .iter()
        .map(|d| ratio(d.energy_wh.max(0), energy_low.max(0), energy_high))
        .collect();
    let energy_ticks = (0..)
        .map(|i| energy_low.max(0) + i * energy_step)
        .take_while(|wh| *wh <= energy_high)
        .map(|wh| Tick {
            at: ratio(wh, energy_low.max(0), energy_high),
            label: format::energy_kwh(wh, language, 0),
        })
        .collect();

    let prices: Vec<Option<i64>> = daily
        .iter()
        .map(|d| d.spot_price_per_kwh.map(price_units))
        .collect();
    let known = prices.iter().flatten();
    let (price_low, price_high, price_step) = match (known.clone().min(), known.max()) {
        (Some(&low), Some(&high)) => nice_axis(low, high),
        _ => (0, 1, 1),
    };
    let price_ratios = prices
        .iter()
        .map(|p| p.map(|units| ratio(units, price_low, price_high)))
        .collect();
    let price_ticks = if prices.iter().any(Option::is_some) {
        (0..)
            .map(|i| price_low + i * price_step)
            .take_while(|units| *units <= price_high)
            .map(|units| Tick {
                at: ratio(units, price_low, price_high),
                label: format::decimal(Decimal::new(units, PRICE_SCALE), language, 2, 4),
            })
            .collect()
    } else {
        Vec::new()
    };

    let day_labels = daily
        .iter()
        .enumerate()
        .filter(|(index, day)| {
            let number = day.date.day();
            *index == 0 || number == 1 || number % 5 == 0 || daily.len() <= 10
        })
        .map(|(index, day)| DayLabel {
            index,
            label: day.date.day().to_string(),
        })
        .collect();

    ChartGeometry {
        bars,
        prices: price_ratios,
        energy_ticks,
        price_ticks,
        day_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Date;

    fn day(day: i8, energy_wh: i64, price: Option<&str>) -> DailyUsage {
        DailyUsage {
            date: Date::constant(2025, 1, day),
            energy_wh,
            spot_price_per_kwh: price.map(|p| p.parse().unwrap()),
        }
    }

    #[test]
    fn axes_are_nice_and_cover_the_data() {
        assert_eq!(nice_axis(0, 37_400), (0, 40_000, 10_000));
        assert_eq!(nice_axis(0, 1_000), (0, 1_000, 500));
        assert_eq!(nice_axis(-1_200, 9_000), (-5_000, 10_000, 5_000));
        assert_eq!(nice_step(3), 5);
        assert_eq!(nice_step(11), 20);
    }

    #[test]
    fn the_highest_day_reaches_most_of_the_axis_and_prices_follow_their_own() {
        let daily = [
            day(1, 10_000, Some("0.50")),
            day(2, 40_000, None),
            day(3, 20_000, Some("1.00")),
        ];
        let chart = geometry(&daily, Language::Nb);
        assert_eq!(chart.bars, vec![0.25, 1.0, 0.5]);
        assert_eq!(chart.prices[1], None);
        assert!(chart.prices[2].unwrap() > chart.prices[0].unwrap());
        assert_eq!(chart.energy_ticks.last().unwrap().label, "40");
        assert_eq!(chart.price_ticks.first().unwrap().label, "0,00");
        assert_eq!(chart.day_labels.len(), 3);
    }
}
