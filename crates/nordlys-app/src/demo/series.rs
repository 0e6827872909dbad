//! The demo's time series: spot prices per price area, EUR exchange rates per day, and each
//! metering point's meter values drawn from a load model (season, daily rhythm, EV charging,
//! noise) with a missing day and an estimated day here and there.
//!
//! Loads and prices are drawn with floating-point noise and rounded once, to whole Wh and to
//! cents, before anything is stored.

use std::collections::HashMap;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use nordlys_core::ids::Gsrn;
use nordlys_core::model::{DayReadings, ExchangeRate, Market, PriceArea, Quality, SpotPrice};
use nordlys_core::quantity::{Currency, EnergyWh};
use nordlys_core::time::start_of_local_day;
use nordlys_store::{PointRef, StoreError, StoreTx};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::{DemoBuild, DemoPoint};
use crate::Progress;

/// Write spot prices of every price area and daily EUR exchange rates over the demo's period.
pub(super) async fn write_market_data(
    tx: &mut StoreTx,
    build: &mut DemoBuild,
) -> Result<(), StoreError> {
    let (from, to) = (build.from, build.to);
    let rng = &mut build.rng;
    let summary = &mut build.summary;
    // Spot prices per area (hourly; quarter-hourly from the 15-minute day-ahead
    // market's start on 2025-10-01) and EUR exchange rates per day.
    for area in [
        PriceArea::No1,
        PriceArea::No2,
        PriceArea::No3,
        PriceArea::No4,
        PriceArea::No5,
        PriceArea::Dk1,
        PriceArea::Dk2,
    ] {
        for price in spot_series(rng, area, from, to) {
            tx.upsert_spot_price(&price).await?;
            summary.spot_prices += 1;
        }
    }
    let mut day = from.checked_sub(7.days()).unwrap_or(from);
    while day < to {
        let wiggle = Decimal::new(rng.random_range(-150..150), 4);
        for (quote, mid) in [
            (Currency::Nok, Decimal::new(11_5000, 4)),
            (Currency::Dkk, Decimal::new(7_4600, 4)),
        ] {
            let rate = ExchangeRate {
                date: day,
                base: Currency::Eur,
                quote,
                rate: mid
                    + if quote == Currency::Nok {
                        wiggle
                    } else {
                        wiggle / Decimal::TEN
                    },
            };
            tx.upsert_exchange_rate(&rate).await?;
            summary.exchange_rates += 1;
        }
        day = day.tomorrow().unwrap_or(to);
    }
    Ok(())
}

/// Write the meter values of `points` over the demo's period, advancing `progress` per point.
pub(super) async fn write_meter_values(
    tx: &mut StoreTx,
    build: &mut DemoBuild,
    refs: &HashMap<String, PointRef>,
    points: &[DemoPoint],
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    let (from, to) = (build.from, build.to);
    let rng = &mut build.rng;
    let summary = &mut build.summary;
    for DemoPoint {
        point,
        business,
        index: n,
    } in points
    {
        let tz = point.market.time_zone();
        let (start, end) = (start_of_local_day(from, &tz), start_of_local_day(to, &tz));
        let step = point.resolution.seconds();
        let annual_kwh = match (point.market, *business) {
            (Market::No, false) => rng.random_range(8_000.0..24_000.0),
            (Market::Dk, false) => rng.random_range(2_500.0..6_000.0),
            (_, true) => rng.random_range(30_000.0..200_000.0),
        };
        let has_ev = !business && rng.random_range(0..100) < 35;
        let missing_day = (n % 211 == 13).then(|| to.checked_sub(3.days()).unwrap_or(to));
        let corrected_day = (n % 173 == 11).then(|| from.checked_add(9.days()).unwrap_or(from));
        let mut days: Vec<DayReadings> = Vec::new();
        let mut t = start.as_second();
        while t < end.as_second() {
            let ts = Timestamp::from_second(t).unwrap_or(start);
            let local = tz.to_datetime(ts);
            let date = local.date();
            let day = t.div_euclid(86_400);
            if days.last().is_none_or(|d| d.utc_day() != day) {
                days.push(DayReadings::new(day, point.resolution));
            }
            if Some(date) != missing_day {
                let kw = load_kw(
                    rng,
                    annual_kwh,
                    *business,
                    has_ev,
                    date,
                    local.hour(),
                    local.minute(),
                );
                let wh = (kw * step as f64 / 3.6).round().max(0.0) as i64;
                let quality = if Some(date) == corrected_day {
                    Quality::Estimated
                } else {
                    Quality::Measured
                };
                let slot = ((t - day * 86_400) / step) as usize;
                if let Some(readings) = days.last_mut() {
                    readings.set(slot, EnergyWh(wh), quality);
                }
                summary.readings += 1;
            }
            t += step;
        }
        if let Some(day) = missing_day {
            summary
                .missing_days
                .push((point.metering_point_id.clone(), day));
        }
        if let Some(day) = corrected_day {
            summary
                .corrected_days
                .push((point.metering_point_id.clone(), day));
        }
        tx.merge_day_chunks(
            point_id(refs, &point.metering_point_id)?,
            point.metering_point_id.as_str(),
            days,
        )
        .await?;
        progress.advance(1);
    }
    Ok(())
}

fn point_id(refs: &HashMap<String, PointRef>, gsrn: &Gsrn) -> Result<i64, StoreError> {
    // The demo creates the points itself, so a missing one is a bug in the demo.
    refs.get(gsrn.as_str())
        .map(|p| p.id)
        .ok_or_else(|| StoreError::Unsupported(format!("demo metering point {gsrn} vanished")))
}

/// Average power in kW for a local time: heating season, daily rhythm, EV charging, noise.
fn load_kw(
    rng: &mut ChaCha8Rng,
    annual_kwh: f64,
    business: bool,
    has_ev: bool,
    date: Date,
    hour: i8,
    minute: i8,
) -> f64 {
    let mean_kw = annual_kwh / 8760.0;
    let month = f64::from(date.month());
    let season = 1.0 + 0.45 * ((month - 1.0) / 12.0 * std::f64::consts::TAU).cos();
    let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
    let h = f64::from(hour) + f64::from(minute) / 60.0;
    let shape = if business {
        if !weekend && (7.0..18.0).contains(&h) {
            1.9
        } else {
            0.45
        }
    } else {
        let morning = (-((h - 7.5) / 1.3).powi(2)).exp() * 0.7;
        let evening = (-((h - 19.0) / 2.2).powi(2)).exp() * 0.9;
        0.65 + morning + evening + if weekend { 0.1 } else { 0.0 }
    };
    let mut kw = mean_kw * season * shape * rng.random_range(0.75..1.25);
    if has_ev && !(2..22).contains(&hour) && (date.day() as u32 + hour as u32).is_multiple_of(3) {
        kw += 7.2;
    }
    kw
}

/// A day-ahead price series for `area` over `[from, to)` in EUR/MWh with Nordic statistics:
/// higher in winter and in the south, morning and evening peaks, volatile Danish prices that
/// turn negative on some windy nights.
fn spot_series(rng: &mut ChaCha8Rng, area: PriceArea, from: Date, to: Date) -> Vec<SpotPrice> {
    let (level, volatility) = match area {
        PriceArea::No1 | PriceArea::No2 | PriceArea::No5 => (62.0, 0.25),
        PriceArea::No3 => (35.0, 0.35),
        PriceArea::No4 => (22.0, 0.4),
        _ => (85.0, 0.45),
    };
    let tz = area.market().unwrap_or(Market::No).time_zone();
    let fifteen_minute_start = Date::new(2025, 10, 1).unwrap_or(to);
    let mut out = Vec::new();
    let mut daily = 0.0f64;
    let mut date = from;
    while date < to {
        daily = 0.7 * daily + rng.random_range(-volatility..volatility);
        let windy = area.market() == Some(Market::Dk) && rng.random_range(0..100) < 8;
        let season =
            1.0 + 0.35 * ((f64::from(date.month()) - 1.0) / 12.0 * std::f64::consts::TAU).cos();
        let start = start_of_local_day(date, &tz);
        let end = start_of_local_day(date.tomorrow().unwrap_or(to), &tz);
        let step = if date >= fifteen_minute_start {
            900
        } else {
            3600
        };
        let mut t = start.as_second();
        while t < end.as_second() {
            let local_hour = f64::from(
                tz.to_datetime(Timestamp::from_second(t).unwrap_or(start))
                    .hour(),
            );
            let shape = 0.8
                + 0.3 * (-((local_hour - 8.0) / 1.5).powi(2)).exp()
                + 0.35 * (-((local_hour - 18.0) / 2.0).powi(2)).exp();
            let mut price = level * season * daily.exp() * shape * rng.random_range(0.93..1.07);
            if windy && !(6.0..22.0).contains(&local_hour) {
                price = rng.random_range(-15.0..5.0);
            }
            let cents = (price * 100.0).round() as i64;
            out.push(SpotPrice {
                area,
                start: Timestamp::from_second(t).unwrap_or(start),
                end: Timestamp::from_second(t + step).unwrap_or(end),
                price_per_mwh: Decimal::new(cents, 2),
                currency: Currency::Eur,
            });
            t += step;
        }
        date = date.tomorrow().unwrap_or(to);
    }
    out
}
