//! The peak power tariff as a customer asks about it: this month's highest daily peaks so far
//! (clock hours, on different days), the capacity step they give under the metering point's
//! grid product, how close the customer is to the next step, and what the step would be if
//! today's peak were lower. The steps and the method come from the product (data), the
//! energy from the stored readings.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use nordlys_core::ids::Gsrn;
use nordlys_core::model::ContractRole;
use nordlys_core::time::start_of_local_day;
use nordlys_rating::product::{CapacityMethod, CapacityStep, Pricing};
use rust_decimal::Decimal;

use crate::consumption::{ConsumptionError, Step, consumption};
use nordlys_store::Store;

/// One day's peak: its highest clock hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyPeak {
    pub day: Date,
    /// Local hour (0–23) the peak started.
    pub hour: i8,
    pub energy_wh: i64,
}

/// The month's capacity standing.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakView {
    pub metering_point: String,
    pub product: String,
    /// First day of the month.
    pub month: Date,
    /// How many daily peaks the step is the average of (3 for most Norwegian grids; 1 for a
    /// monthly maximum).
    pub peaks_counted: usize,
    /// The highest daily peaks so far, highest first.
    pub top_peaks: Vec<DailyPeak>,
    /// Their average, in kW (exact).
    pub average_kw: Decimal,
    /// The step they give now: `[from, to)` kW and its price per `price_period`.
    pub step: CapacityStep,
    /// The price period of the steps (`month` or `year`).
    pub price_period: &'static str,
    /// The next step up, and how many kW the average is below it.
    pub next_step: Option<(CapacityStep, Decimal)>,
    /// Today's peak, if today is in the month and has readings.
    pub today: Option<DailyPeak>,
    /// If today's peak is among the highest: the step without it (today no higher than the
    /// next highest other day).
    pub step_if_today_lower: Option<CapacityStep>,
    /// Days of the month with readings so far.
    pub days_with_readings: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PeakViewError {
    #[error("metering point {0} has no grid contract with a capacity tariff in this month")]
    NoCapacityTariff(String),
    #[error(transparent)]
    Consumption(#[from] ConsumptionError),
    #[error(transparent)]
    Products(#[from] crate::products::LoadProductsError),
    #[error(transparent)]
    Store(#[from] nordlys_store::StoreError),
}

fn step_of(steps: &[CapacityStep], kw: Decimal, inclusive: bool) -> usize {
    steps
        .iter()
        .position(|s| match s.to {
            None => true,
            Some(to) if inclusive => kw <= to,
            Some(to) => kw < to,
        })
        .unwrap_or(steps.len().saturating_sub(1))
}

fn average_kw(peaks: &[DailyPeak]) -> Decimal {
    if peaks.is_empty() {
        return Decimal::ZERO;
    }
    let sum: i64 = peaks.iter().map(|p| p.energy_wh).sum();
    (Decimal::from(sum) / Decimal::from(peaks.len() as i64) / Decimal::from(1000)).round_dp(3)
}

/// The capacity standing of `gsrn` in the month starting `month`, as of `now`.
pub async fn peak_view(
    store: &Store,
    gsrn: &Gsrn,
    month: Date,
    now: Timestamp,
) -> Result<PeakView, PeakViewError> {
    let month = month.first_of_month();
    let next_month = month.checked_add(1.month()).unwrap_or(month);
    let no_tariff = || PeakViewError::NoCapacityTariff(gsrn.as_str().to_owned());
    let contracts = store.contracts_of_point(gsrn).await?;
    let grid = contracts
        .iter()
        .filter(|c| c.role == ContractRole::GridOwner)
        .find(|c| c.start < next_month && c.end.is_none_or(|e| e > month))
        .ok_or_else(no_tariff)?;
    let products = crate::products::load_products(store).await?;
    let product = products.get(&grid.product_code).ok_or_else(no_tariff)?;
    let (method, inclusive, per, steps) = product
        .components
        .iter()
        .filter(|c| c.valid_from < next_month && c.valid_to.is_none_or(|t| t > month))
        .find_map(|c| match &c.pricing {
            Pricing::Capacity {
                method,
                threshold_inclusive,
                per,
                steps,
            } => Some((*method, *threshold_inclusive, *per, steps.clone())),
            _ => None,
        })
        .ok_or_else(no_tariff)?;
    let peaks_counted = match method {
        CapacityMethod::DailyPeaks { peaks } => usize::from(peaks.max(1)),
        CapacityMethod::MonthlyMax => 1,
        _ => return Err(no_tariff()),
    };
    let series = consumption(store, gsrn, month, next_month, Step::Hour).await?;
    let tz = product.time_zone.clone();
    let mut daily: Vec<DailyPeak> = Vec::new();
    let first = start_of_local_day(month, &tz);
    for (index, energy) in series.energy_wh.iter().enumerate() {
        let Some(energy) = *energy else { continue };
        let start = first + jiff::SignedDuration::from_secs(index as i64 * 3600);
        let local = tz.to_offset(start).to_datetime(start);
        let day = local.date();
        match daily.last_mut() {
            Some(last) if last.day == day => {
                if energy > last.energy_wh {
                    last.energy_wh = energy;
                    last.hour = local.hour();
                }
            }
            _ => daily.push(DailyPeak {
                day,
                hour: local.hour(),
                energy_wh: energy,
            }),
        }
    }
    let days_with_readings = daily.len();
    let today_date = tz.to_offset(now).to_datetime(now).date();
    let today = daily.iter().find(|p| p.day == today_date).cloned();
    let mut ranked = daily.clone();
    ranked.sort_by(|a, b| b.energy_wh.cmp(&a.energy_wh).then(a.day.cmp(&b.day)));
    let top_peaks: Vec<DailyPeak> = ranked.iter().take(peaks_counted).cloned().collect();
    let average = average_kw(&top_peaks);
    let index = step_of(&steps, average, inclusive);
    let step = steps.get(index).cloned().ok_or_else(no_tariff)?;
    let next_step = steps
        .get(index + 1)
        .cloned()
        .map(|next| (next.clone(), (next.from - average).max(Decimal::ZERO)));
    let step_if_today_lower = today
        .as_ref()
        .filter(|t| top_peaks.iter().any(|p| p.day == t.day))
        .and_then(|t| {
            let others: Vec<DailyPeak> = ranked
                .iter()
                .filter(|p| p.day != t.day)
                .take(peaks_counted)
                .cloned()
                .collect();
            let lower = steps.get(step_of(&steps, average_kw(&others), inclusive))?;
            (lower != &step).then(|| lower.clone())
        });
    Ok(PeakView {
        metering_point: gsrn.as_str().to_owned(),
        product: product.name.clone(),
        month,
        peaks_counted,
        top_peaks,
        average_kw: average,
        step,
        price_period: per.code(),
        next_step,
        today,
        step_if_today_lower,
        days_with_readings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(from: i64, to: Option<i64>, price: i64) -> CapacityStep {
        CapacityStep {
            from: Decimal::from(from),
            to: to.map(Decimal::from),
            price: Decimal::from(price),
        }
    }

    #[test]
    fn the_step_is_the_one_the_average_falls_in() {
        let steps = [
            step(0, Some(2), 100),
            step(2, Some(5), 200),
            step(5, None, 400),
        ];
        assert_eq!(step_of(&steps, Decimal::new(199, 2), false), 0);
        assert_eq!(step_of(&steps, Decimal::from(2), false), 1);
        assert_eq!(step_of(&steps, Decimal::from(2), true), 0);
        assert_eq!(step_of(&steps, Decimal::from(50), false), 2);
    }

    #[test]
    fn the_average_of_peaks_is_exact_kw() {
        let peaks = [3000, 2500, 2000].map(|energy_wh| DailyPeak {
            day: jiff::civil::date(2025, 1, 1),
            hour: 18,
            energy_wh,
        });
        assert_eq!(average_kw(&peaks), Decimal::new(2500, 3));
    }
}
