//! Strømstøtte and Norgespris as the law computes them: hour by hour on the hour's average area
//! price (so a household's amount does not depend on its meter's resolution), holiday homes
//! with their own rules, and agreement dates before the scheme began.

use jiff::civil::{DateTime, date};
use nordlys_core::model::UsageKind;
use nordlys_core::time::{LocalPeriod, Resolution};
use nordlys_rating::{LineKind, MeterInput, Rating, RatingContext, RatingPlan, Statutory};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::support::*;

const NOK_PER_KWH: i64 = 1_000_000_000; // engine scale: nano per kWh

/// A household's October 2025 quarter-hours: a load that changes within each hour.
fn quarter_load(t: DateTime) -> i64 {
    let (h, m) = (i64::from(t.hour()), i64::from(t.minute()));
    150 + (h * 53 + m * 29 + i64::from(t.day()) * 17) % 700
}

/// Quarter-hour area prices that swing across the 0.75 threshold inside an hour
/// (0.40 … 1.29 NOK/kWh, to the nano: not divisible by four, so averages need rounding).
fn quarter_price(t: DateTime) -> i64 {
    let (h, m) = (i64::from(t.hour()), i64::from(t.minute()));
    let swing = (h * 7 + m * 13 + i64::from(t.day()) * 3) % 90;
    NOK_PER_KWH * (40 + swing) / 100 + (h * 1_000_003 + m) % 7
}

/// The same consumption summed per clock hour, and each hour's price as an hourly meter's
/// invoice gets it: the time average of its four quarter-hour prices, rounded half away from
/// zero to the engine's scale (what billing's price alignment does).
fn per_hour(energy: &[i64], spot: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let hours = energy.chunks_exact(4).map(|q| q.iter().sum()).collect();
    let prices = spot
        .chunks_exact(4)
        .map(|q| {
            let average = Decimal::from(q.iter().sum::<i64>()) / Decimal::from(4);
            let rounded = average.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
            i64::try_from(rounded).unwrap()
        })
        .collect();
    (hours, prices)
}

/// Rate `energy` under example product `product` with the shipped statutory table.
fn rate_on(
    product: &str,
    ctx: &RatingContext,
    period: LocalPeriod,
    resolution: Resolution,
    energy: &[i64],
    spot: &[i64],
) -> Rating {
    let plan = RatingPlan::new(
        &[example(product)],
        &Statutory::default(),
        ctx.market,
        period,
        resolution,
    )
    .unwrap();
    plan.rate(
        ctx,
        &MeterInput {
            energy_wh: energy,
            spot_price: Some(spot),
            ..Default::default()
        },
    )
    .unwrap()
}

fn rate(
    ctx: &RatingContext,
    period: LocalPeriod,
    resolution: Resolution,
    energy: &[i64],
    spot: &[i64],
) -> Rating {
    rate_on("no-fixed-price.toml", ctx, period, resolution, energy, spot)
}

fn subsidy(rating: &Rating) -> Vec<(String, String, String)> {
    kinds(&rating.lines, LineKind::Subsidy)
        .iter()
        .map(|l| {
            (
                l.code.to_string(),
                l.quantity.to_string(),
                l.amount.to_string(),
            )
        })
        .collect()
}

#[test]
fn a_households_stromstotte_and_norgespris_do_not_depend_on_its_meters_resolution() {
    let tz = example("no-fixed-price.toml").time_zone;
    // October 2025: the first month of 15-minute day-ahead prices, with the autumn DST day.
    let period = month("2025-10");
    let energy = series(period, &tz, Resolution::Pt15m, quarter_load);
    let spot = series(period, &tz, Resolution::Pt15m, quarter_price);
    let (hour_energy, hour_spot) = per_hour(&energy, &spot);
    assert_eq!(hour_energy.len(), 745, "October 2025 has 745 clock hours");

    let household = ctx_no("0301", UsageKind::Household);
    let quarterly = rate(&household, period, Resolution::Pt15m, &energy, &spot);
    let hourly = rate(
        &household,
        period,
        Resolution::Pt60m,
        &hour_energy,
        &hour_spot,
    );
    let table = format!(
        "{}\n--\n{}",
        render(&quarterly.lines),
        render(&hourly.lines)
    );
    assert_eq!(subsidy(&quarterly), subsidy(&hourly), "{table}");
    // The same on a grid tariff with a capacity step (whose clock-hour sums the subsidy reuses).
    let on_grid = |resolution, energy: &[i64], spot: &[i64]| {
        let rating = rate_on(
            "no-elvia-grid-2025.toml",
            &household,
            period,
            resolution,
            energy,
            spot,
        );
        subsidy(&rating)
    };
    assert_eq!(
        on_grid(Resolution::Pt15m, &energy, &spot),
        subsidy(&quarterly),
        "{table}"
    );
    assert_eq!(
        on_grid(Resolution::Pt60m, &hour_energy, &hour_spot),
        subsidy(&quarterly),
        "{table}"
    );

    // The amount, computed here hour by hour: 90 % of (hour average − 0.75) × the hour's kWh
    // where the average is above 0.75 (the load stays under the 5 000 kWh cap).
    let threshold = Decimal::new(75, 2);
    let expected: Decimal = hour_energy
        .iter()
        .zip(&hour_spot)
        .map(|(&wh, &nano)| {
            let above = (Decimal::new(nano, 9) - threshold).max(Decimal::ZERO);
            -Decimal::new(wh, 3) * above * Decimal::new(9, 1)
        })
        .sum();
    let lines = kinds(&quarterly.lines, LineKind::Subsidy);
    assert_eq!(lines.len(), 1, "{table}");
    assert_eq!(lines[0].amount, expected, "{table}");
    assert!(expected < Decimal::from(-100), "a real subsidy: {expected}");

    // Norgespris from the first day: the same question, the same answer.
    let mut hedged = household.clone();
    hedged.norgespris_from = Some(date(2025, 10, 1));
    let quarterly = rate(&hedged, period, Resolution::Pt15m, &energy, &spot);
    let hourly = rate(&hedged, period, Resolution::Pt60m, &hour_energy, &hour_spot);
    let table = format!(
        "{}\n--\n{}",
        render(&quarterly.lines),
        render(&hourly.lines)
    );
    let codes: Vec<String> = subsidy(&quarterly).into_iter().map(|l| l.0).collect();
    assert_eq!(codes, ["norgespris"], "{table}");
    assert_eq!(subsidy(&quarterly), subsidy(&hourly), "{table}");
}

#[test]
fn a_norgespris_agreement_dated_before_the_scheme_says_when_it_starts() {
    // An agreement dated 10 January 2025: Norgespris began on 1 October 2025.
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.norgespris_from = Some(date(2025, 1, 10));
    let period = month("2025-01");
    let plan = RatingPlan::new(
        &[example("no-fixed-price.toml")],
        &Statutory::default(),
        ctx.market,
        period,
        Resolution::Pt60m,
    )
    .unwrap();
    let energy = vec![1000; plan.intervals()];
    let e = plan
        .rate(
            &ctx,
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&energy),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Norgespris starts 2025-10-01: the metering point's Norgespris agreement from 2025-01-10 is dated before the scheme began (charge norgespris of the statutory table)"
    );
}

#[test]
fn a_holiday_home_gets_no_stromstotte_and_norgespris_on_at_most_1000_kwh_a_month() {
    // November 2025, 2 kWh every hour: 720 h → 1 440 kWh; spot 1.00 NOK/kWh all month.
    let period = month("2025-11");
    let energy = vec![2000; 720];
    let spot = vec![NOK_PER_KWH; 720];
    let subsidy_nets = |usage: UsageKind, norgespris: bool| {
        let mut ctx = ctx_no("0301", usage);
        ctx.norgespris_from = norgespris.then_some(date(2025, 10, 1));
        let rating = rate(&ctx, period, Resolution::Pt60m, &energy, &spot);
        let table = render(&rating.lines);
        let lines: Vec<(String, String, String)> = kinds(&rating.lines, LineKind::Subsidy)
            .iter()
            .map(|l| {
                (
                    l.code.to_string(),
                    l.quantity.to_string(),
                    l.net.to_string(),
                )
            })
            .collect();
        (lines, rating, table)
    };
    // A household: strømstøtte 1 440 kWh × 0.9 × (1.00 − 0.75) = 324.00 credited.
    let (household, _, table) = subsidy_nets(UsageKind::Household, false);
    assert_eq!(
        household,
        [("stromstotte".into(), "1440.000".into(), "-324.00".into())],
        "{table}"
    );
    // A holiday home: no strømstøtte at all (only a household registered there gets it).
    let (holiday, rating, table) = subsidy_nets(UsageKind::HolidayHome, false);
    assert!(holiday.is_empty(), "{table}");
    // It still pays elavgift (1 440 × 0.1253 = 180.43) and Enova (1 440 × 0.01 = 14.40).
    assert_eq!(nets(&rating.lines, "elavgift"), ["180.43"], "{table}");
    assert_eq!(nets(&rating.lines, "enova"), ["14.40"], "{table}");
    // Norgespris for a household: 1 440 kWh × (0.40 − 1.00) = −864.00, under its 5 000 cap.
    let (household, _, table) = subsidy_nets(UsageKind::Household, true);
    assert_eq!(
        household,
        [("norgespris".into(), "1440.000".into(), "-864.00".into())],
        "{table}"
    );
    // Norgespris for a holiday home: the first 1 000 kWh of the month, 1 000 × (0.40 − 1.00) =
    // −600.00; the other 440 kWh are not covered.
    let (holiday, rating, table) = subsidy_nets(UsageKind::HolidayHome, true);
    assert_eq!(
        holiday,
        [("norgespris".into(), "1000.000".into(), "-600.00".into())],
        "{table}"
    );
    assert!(
        rating.diagnostics.iter().any(|x| x
            .message
            .contains("440.000 kWh above the monthly cap of 1000.000 kWh")),
        "{:?}",
        rating.diagnostics
    );
}
