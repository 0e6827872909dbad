//! Market inputs of a period, aligned to rating intervals: dense energy series (with the
//! readiness check: every interval of the contract's span present, quality acceptable) and
//! spot prices per area converted to the product currency.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use nordlys_core::model::{DayReadings, PriceArea, Quality, SpotPrice};
use nordlys_core::quantity::Currency;
use nordlys_core::time::{
    LocalPeriod, Resolution, format_local, start_of_local_day, utc_day_number,
};
use nordlys_rating::{ContractSpan, RatingPlan, spot_price_from_mwh};
use nordlys_store::{BillablePoint, Store, StoreError};
use rust_decimal::Decimal;

use super::not_ready::NotReadyReason;

/// How far back a daily exchange rate may be used (weekends and holidays have none).
pub(crate) const EXCHANGE_RATE_LOOKBACK_DAYS: i64 = 7;

/// Spot prices of an area aligned to rating intervals, or why they cannot be.
type AlignedPrices = Result<Arc<Vec<i64>>, NotReadyReason>;

/// Spot prices and exchange rates of one period, loaded once.
pub struct PeriodInputs {
    period: LocalPeriod,
    first_utc_day: i64,
    last_utc_day: i64,
    prices: HashMap<PriceArea, Vec<SpotPrice>>,
    rates: HashMap<(Currency, Currency), BTreeMap<Date, Decimal>>,
    aligned: HashMap<(PriceArea, Resolution, Currency), AlignedPrices>,
}

impl PeriodInputs {
    pub async fn load(store: &Store, period: LocalPeriod) -> Result<Self, StoreError> {
        let tz = nordlys_core::model::Market::No.time_zone();
        let (start, end) = period.to_utc(&tz);
        // Both markets' zones are CET/CEST; one spare day each side covers any zone offset.
        let first_utc_day = utc_day_number(start) - 1;
        let last_utc_day = utc_day_number(end) + 1;
        let (from, to) = (
            nordlys_core::time::utc_day_start(first_utc_day),
            nordlys_core::time::utc_day_start(last_utc_day + 1),
        );
        let mut prices = HashMap::new();
        for &area in PriceArea::ALL {
            let list = store.spot_prices(area, from, to).await?;
            if !list.is_empty() {
                prices.insert(area, list);
            }
        }
        let mut rates = HashMap::new();
        let rate_from = period
            .start
            .checked_sub(jiff::Span::new().days(EXCHANGE_RATE_LOOKBACK_DAYS))
            .unwrap_or(period.start);
        for base in [Currency::Eur, Currency::Nok, Currency::Dkk, Currency::Sek] {
            for quote in [Currency::Nok, Currency::Dkk, Currency::Eur] {
                if base != quote {
                    let table = store
                        .exchange_rates(base, quote, rate_from, period.end)
                        .await?;
                    if !table.is_empty() {
                        rates.insert((base, quote), table);
                    }
                }
            }
        }
        Ok(PeriodInputs {
            period,
            first_utc_day,
            last_utc_day,
            prices,
            rates,
            aligned: HashMap::new(),
        })
    }

    /// UTC days whose readings and prices the period can touch.
    pub fn utc_days(&self) -> (i64, i64) {
        (self.first_utc_day, self.last_utc_day)
    }

    /// Spot prices of `area` for each interval of `plan`, in `currency`, in the engine's scale;
    /// or why they cannot be had. An interval priced in shorter units gets their time average.
    pub fn spot_series(
        &mut self,
        area: PriceArea,
        resolution: Resolution,
        currency: Currency,
        plan: &RatingPlan,
    ) -> Result<Arc<Vec<i64>>, NotReadyReason> {
        let key = (area, resolution, currency);
        if let Some(done) = self.aligned.get(&key) {
            return done.clone();
        }
        let result = self.align(area, resolution, currency, plan).map(Arc::new);
        self.aligned.insert(key, result.clone());
        result
    }

    fn align(
        &self,
        area: PriceArea,
        resolution: Resolution,
        currency: Currency,
        plan: &RatingPlan,
    ) -> Result<Vec<i64>, NotReadyReason> {
        let tz = plan.time_zone();
        let start = start_of_local_day(self.period.start, tz).as_second();
        let prices = self.prices.get(&area).map(Vec::as_slice).unwrap_or(&[]);
        align_spot_prices(
            prices,
            area,
            start,
            resolution.seconds(),
            plan.intervals(),
            tz,
            |price, at| self.convert(price, currency, at, tz),
        )
    }

    fn convert(
        &self,
        price: &SpotPrice,
        currency: Currency,
        at_second: i64,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Decimal, NotReadyReason> {
        if price.currency == currency {
            return Ok(price.price_per_mwh);
        }
        let date = tz
            .to_datetime(Timestamp::from_second(at_second).unwrap_or(Timestamp::UNIX_EPOCH))
            .date();
        let missing = |date| NotReadyReason::ExchangeRateMissing {
            base: price.currency,
            quote: currency,
            date,
            lookback_days: EXCHANGE_RATE_LOOKBACK_DAYS,
        };
        let table = self
            .rates
            .get(&(price.currency, currency))
            .ok_or_else(|| missing(None))?;
        let earliest = date
            .checked_sub(jiff::Span::new().days(EXCHANGE_RATE_LOOKBACK_DAYS))
            .unwrap_or(date);
        match table.range(earliest..=date).next_back() {
            Some((_, rate)) => Ok(price.price_per_mwh * rate),
            None => Err(missing(Some(date))),
        }
    }
}

/// The dense energy series of `point` for `plan`'s period, or why the contract is not ready:
/// every interval of the contract's span must have a reading whose quality the policy accepts.
pub fn dense_series(
    plan: &RatingPlan,
    days: &[DayReadings],
    point: &BillablePoint,
    span: ContractSpan,
    accept_estimated: bool,
) -> Result<Vec<i64>, NotReadyReason> {
    let tz = plan.time_zone();
    let period = plan.period();
    let step = point.resolution.seconds();
    if plan.resolution() != point.resolution {
        return Err(NotReadyReason::Rating {
            error: format!(
                "internal: plan at {} for a {} metering point",
                plan.resolution(),
                point.resolution
            ),
        });
    }
    let period_start = start_of_local_day(period.start, tz).as_second();
    let active_start = span.start.max(period.start);
    let active_end = span.end.map_or(period.end, |e| e.min(period.end));
    let lo =
        ((start_of_local_day(active_start, tz).as_second() - period_start) / step).max(0) as usize;
    let hi = (((start_of_local_day(active_end, tz).as_second() - period_start) / step).max(0)
        as usize)
        .min(plan.intervals());
    let mut energy = vec![0i64; plan.intervals()];
    let mut ok = 0usize;
    let (mut missing, mut estimated) = (0usize, 0usize);
    for day in days {
        if day.resolution() != point.resolution {
            return Err(NotReadyReason::ReadingsResolution {
                utc_day: nordlys_core::time::utc_day_start(day.utc_day()).to_string(),
                found: day.resolution(),
                expected: point.resolution,
            });
        }
        let day_start = day.utc_day() * 86_400;
        for (slot, reading) in day.readings().enumerate() {
            let t = day_start + slot as i64 * step;
            if t < period_start {
                continue;
            }
            let index = ((t - period_start) / step) as usize;
            if index < lo || index >= hi {
                continue;
            }
            match reading {
                None => {}
                Some((_, Quality::Missing)) => missing += 1,
                Some((_, Quality::Estimated)) if !accept_estimated => estimated += 1,
                Some((reading_energy, _)) => {
                    energy[index] = reading_energy.0;
                    ok += 1;
                }
            }
        }
    }
    let expected = hi.saturating_sub(lo);
    if ok == expected {
        return Ok(energy);
    }
    let absent = expected - ok - missing - estimated;
    let first_gap = (lo..hi).find(|&i| {
        let t = period_start + i as i64 * step;
        let day = t.div_euclid(86_400);
        let slot = ((t - day * 86_400) / step) as usize;
        days.iter()
            .find(|d| d.utc_day() == day)
            .is_none_or(|d| match d.get(slot) {
                None | Some((_, Quality::Missing)) => true,
                Some((_, Quality::Estimated)) => !accept_estimated,
                Some(_) => false,
            })
    });
    let first_gap = first_gap.map(|i| {
        format_local(
            Timestamp::from_second(period_start + i as i64 * step).unwrap_or(Timestamp::UNIX_EPOCH),
            tz,
        )
    });
    Err(NotReadyReason::ReadingsIncomplete {
        absent,
        missing,
        estimated_not_accepted: estimated,
        expected,
        first_gap,
    })
}

/// Spot prices for `intervals` intervals of `step_s` seconds from `start_s`, each the time
/// average of the (converted) prices overlapping it, in the engine's scale; or which are missing.
pub fn align_spot_prices<E: From<NotReadyReason>>(
    prices: &[SpotPrice],
    area: PriceArea,
    start_s: i64,
    step_s: i64,
    intervals: usize,
    tz: &jiff::tz::TimeZone,
    convert: impl Fn(&SpotPrice, i64) -> Result<Decimal, E>,
) -> Result<Vec<i64>, E> {
    let mut out = Vec::with_capacity(intervals);
    let mut first = 0usize;
    let mut missing = 0usize;
    let mut first_missing = None;
    for i in 0..intervals {
        let (a, b) = (
            start_s + i as i64 * step_s,
            start_s + (i as i64 + 1) * step_s,
        );
        while first < prices.len() && prices[first].end.as_second() <= a {
            first += 1;
        }
        let mut sum = Decimal::ZERO;
        let mut covered = 0i64;
        let mut q = first;
        while q < prices.len() && prices[q].start.as_second() < b {
            let price = &prices[q];
            let overlap = b.min(price.end.as_second()) - a.max(price.start.as_second());
            if overlap > 0 {
                sum += convert(price, a)? * Decimal::from(overlap);
                covered += overlap;
            }
            q += 1;
        }
        if covered != step_s {
            missing += 1;
            first_missing.get_or_insert(a);
            continue;
        }
        // The one rounding step of price conversion: to the engine's scale, 10^-6 per MWh
        // (10^-9 per kWh), half away from zero. Unconverted whole-interval prices are exact.
        let per_mwh = (sum / Decimal::from(step_s))
            .round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        out.push(spot_price_from_mwh(per_mwh).ok_or_else(|| {
            NotReadyReason::SpotPriceOutOfRange {
                area,
                price_per_mwh: per_mwh.to_string(),
            }
        })?);
    }
    match first_missing {
        None => Ok(out),
        Some(a) => Err(NotReadyReason::SpotPricesMissing {
            area,
            missing,
            intervals,
            first_missing: Some(format_local(
                Timestamp::from_second(a).unwrap_or(Timestamp::UNIX_EPOCH),
                tz,
            )),
        }
        .into()),
    }
}
