//! No wrap-around and no silent defaults in money paths: values beyond the documented bounds,
//! periods beyond the documented length and inputs that are missing are typed errors that name
//! what is wrong; nothing is saturated, wrapped or priced at zero.

use jiff::civil::date;
use nordlys_core::model::{Market, UsageKind};
use nordlys_core::time::{LocalPeriod, Resolution};
use nordlys_rating::engine::{MAX_INTERVAL_WH, MAX_PRICE_NANO};
use nordlys_rating::plan::MAX_PERIOD_DAYS;
use nordlys_rating::{MeterInput, PlanError, RateError, RatingPlan, Statutory, parse_product_toml};

use crate::support::*;

fn energy_product(price: &str, averaging_spot: Option<&str>) -> nordlys_rating::Product {
    let spot = averaging_spot.map_or_else(String::new, |averaging| {
        format!(
            "\n[[component]]\ncode = \"spot\"\nname = \"Spot\"\nkind = \"spot\"\nvat = \"electricity\"\nvalid_from = \"2024-01-01\"\naveraging = \"{averaging}\"\nmarkup_per_kwh = \"0.01\"\n"
        )
    });
    parse_product_toml(&format!(
        "[product]\ncode = \"p\"\nname = \"P\"\ncurrency = \"NOK\"\ntime_zone = \"Europe/Oslo\"\nholidays = \"NO\"\n\n[[component]]\ncode = \"energi\"\nname = \"Energi\"\nkind = \"energy\"\nvat = \"electricity\"\nvalid_from = \"2024-01-01\"\nprice_per_kwh = \"{price}\"\n{spot}"
    ))
    .unwrap()
}

fn plan(product: nordlys_rating::Product, period: LocalPeriod) -> Result<RatingPlan, PlanError> {
    RatingPlan::new(
        &[product],
        &Statutory::default(),
        Market::No,
        period,
        Resolution::Pt15m,
    )
}

/// A supplier's invoice (no statutory charges) for a business's series, without spot prices.
fn supply_only(plan: &RatingPlan, energy: &[i64]) -> Result<nordlys_rating::Rating, RateError> {
    let mut ctx = ctx_no("0301", UsageKind::Business);
    ctx.apply_statutory = false;
    plan.rate(
        &ctx,
        &MeterInput {
            energy_wh: energy,
            ..Default::default()
        },
    )
}

/// A household's grid invoice (statutory charges, strømstøtte) with spot prices.
fn household_with_spot(
    plan: &RatingPlan,
    energy: &[i64],
    spot: &[i64],
) -> Result<nordlys_rating::Rating, RateError> {
    plan.rate(
        &ctx_no("0301", UsageKind::Household),
        &MeterInput {
            energy_wh: energy,
            spot_price: Some(spot),
            ..Default::default()
        },
    )
}

fn year_2025() -> LocalPeriod {
    LocalPeriod::new(date(2025, 1, 1), date(2026, 1, 1)).unwrap()
}

#[test]
fn a_year_of_huge_quarter_hours_is_refused_rather_than_wrapped() {
    // 999,999,999,999.999 kWh in every quarter-hour of 2025: 35,040 of them sum to 3.5 × 10^19
    // Wh, beyond i64 — before, the total wrapped and printed negative.
    let plan = plan(energy_product("0.89", None), year_2025()).unwrap();
    let energy = vec![999_999_999_999_999; plan.intervals()];
    let spot = vec![1_000_000_000; plan.intervals()];
    let e = household_with_spot(&plan, &energy, &spot).unwrap_err();
    assert_eq!(
        e.to_string(),
        "energy_wh[0] (interval starting 2025-01-01 00:00) = 999999999999999 is outside what the engine rates: at most ±100000000000000 Wh per interval (documented bounds keep every sum exact)"
    );
}

#[test]
fn a_year_at_the_bound_is_rated_exactly() {
    // 10^14 Wh in each of the 35,040 quarter-hours of 2025: 3.504 × 10^15 kWh in all.
    let plan = plan(energy_product("0.89", None), year_2025()).unwrap();
    let energy = vec![MAX_INTERVAL_WH; plan.intervals()];
    let rating = supply_only(&plan, &energy).unwrap();
    let kwh: rust_decimal::Decimal = rating.lines.iter().map(|l| l.quantity).sum();
    assert_eq!(kwh, d("3504000000000000"));
    // 3.504 × 10^15 kWh × 0.89 = 3,118,560,000,000,000.00 NOK, positive and exact.
    assert_eq!(rating.totals().net, d("3118560000000000.00"));
}

#[test]
fn an_amount_beyond_a_lines_decimal_is_an_error_not_a_saturated_line() {
    // 1,000,000 NOK/kWh (the largest price the engine takes) on a month at the energy bound:
    // 2.976 × 10^14 kWh × 10^6 = 3 × 10^20 NOK, more than an exact line amount holds.
    let plan = plan(energy_product("1000000", None), month("2025-01")).unwrap();
    let energy = vec![MAX_INTERVAL_WH; plan.intervals()];
    let e = supply_only(&plan, &energy).unwrap_err();
    assert!(
        matches!(&e, RateError::AmountOutOfRange { what } if what == "energi"),
        "{e}"
    );
}

#[test]
fn prices_beyond_the_bounds_are_refused_with_where_they_are() {
    let e = plan(energy_product("1000000.000000001", None), month("2025-01")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "p, energi: price 1000000.000000001 per kWh is not exact to 9 decimals or is beyond ±1,000,000 per kWh, which the engine rates"
    );
    let plan = plan(energy_product("0.89", Some("interval")), month("2025-01")).unwrap();
    let energy = vec![1000; plan.intervals()];
    let mut spot = vec![500_000_000; plan.intervals()];
    spot[5] = MAX_PRICE_NANO + 1;
    let e = household_with_spot(&plan, &energy, &spot).unwrap_err();
    assert_eq!(
        e.to_string(),
        "spot_price[5] (interval starting 2025-01-01 01:15) = 1000000000000001 is outside what the engine rates: at most ±1000000000000000 nano currency units per kWh (documented bounds keep every sum exact)"
    );
}

#[test]
fn a_rating_period_is_at_most_366_local_days() {
    assert_eq!(MAX_PERIOD_DAYS, 366);
    // 2024 is a leap year: 366 days are rated, 367 are refused.
    let leap = LocalPeriod::new(date(2024, 1, 1), date(2025, 1, 1)).unwrap();
    assert!(plan(energy_product("0.89", None), leap).is_ok());
    let longer = LocalPeriod::new(date(2024, 1, 1), date(2025, 1, 2)).unwrap();
    let e = plan(energy_product("0.89", None), longer).unwrap_err();
    assert_eq!(
        e.to_string(),
        "period 2024-01-01..2025-01-02: at most 366 local days can be rated at once"
    );
}

#[test]
fn a_monthly_average_spot_price_is_never_an_average_of_nothing() {
    let plan = plan(
        energy_product("0.10", Some("monthly_average")),
        month("2025-01"),
    )
    .unwrap();
    let energy = vec![1000; plan.intervals()];
    let mut ctx = ctx_no("0301", UsageKind::Business);
    ctx.apply_statutory = false;
    // No spot prices: before, the spot line was priced at 0 (only the markup).
    let e = supply_only(&plan, &energy).unwrap_err();
    assert!(
        matches!(&e, RateError::MissingSpotPrices { code } if code == "spot"),
        "{e}"
    );
    // Area volumes that sum to zero cannot weight an average.
    let spot = vec![500_000_000; plan.intervals()];
    let volumes = vec![0; plan.intervals()];
    let e = plan
        .rate(
            &ctx,
            &MeterInput {
                energy_wh: &energy,
                spot_price: Some(&spot),
                area_volume_wh: Some(&volumes),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "spot: the area volumes of 2025-01-01 sum to zero, so the volume-weighted average spot price is undefined"
    );
}

#[test]
fn a_capped_scheme_needs_a_cap_for_every_usage_it_applies_to() {
    // Before, a business metering point silently got no subsidy (no cap, no line, no error).
    let e = Statutory::from_toml(
        "[[charge]]\ncode = \"s\"\nname = \"S\"\nmarket = \"NO\"\nkind = \"subsidy\"\nrule = \"spot_subsidy\"\nusage = [\"household\", \"business\"]\nvat = \"standard\"\npercent = \"90\"\ncap_kwh_per_month = { household = \"5000\" }\nrate = [{ from = \"2025-01-01\", value = \"0.75\", basis = \"hourly_average\" }]\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "statutory table, [[charge]] s field cap_kwh_per_month = \"business\": every usage the charge applies to needs a monthly cap"
    );
}
