//! Laws of rating (proptest): lines sum to totals; a month equals the sum of its halves
//! for additive components; the same inputs give the same output.

use jiff::civil::date;
use nordlys_core::model::{Market, UsageKind};
use nordlys_core::time::{LocalPeriod, Resolution};
use nordlys_rating::{MeterInput, Rating, RatingPlan, Scratch, Statutory};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::support::*;

fn products() -> Vec<nordlys_rating::Product> {
    vec![example("no-elvia-grid-2025.toml")]
}

fn supplier() -> Vec<nordlys_rating::Product> {
    vec![example("no-spot.toml")]
}

/// January 2025 in Oslo at 15 minutes: 2976 intervals.
const N: usize = 2976;

fn series_strategy() -> impl Strategy<Value = (Vec<i64>, Vec<i64>)> {
    // Energy 0–2000 Wh per quarter, spot −0.10 … 3.00 NOK/kWh, generated per hour and
    // spread so that shrinking stays fast.
    (
        prop::collection::vec(0i64..2000, 744),
        prop::collection::vec(-100_000_000i64..3_000_000_000, 744),
    )
        .prop_map(|(e, s)| {
            (
                e.iter().flat_map(|x| [*x, x / 2, x / 3, *x]).collect(),
                s.iter().flat_map(|x| [*x; 4]).collect(),
            )
        })
}

fn rate(
    products: &[nordlys_rating::Product],
    period: LocalPeriod,
    energy: &[i64],
    spot: &[i64],
    apply_statutory: bool,
) -> Rating {
    let plan = RatingPlan::new(
        products,
        &Statutory::default(),
        Market::No,
        period,
        Resolution::Pt15m,
    )
    .unwrap();
    let mut ctx = ctx_no("0301", UsageKind::Household);
    ctx.apply_statutory = apply_statutory;
    plan.rate(
        &ctx,
        &MeterInput {
            energy_wh: energy,
            spot_price: Some(spot),
            ..Default::default()
        },
    )
    .unwrap()
}

fn amount(rating: &Rating, code: &str) -> Decimal {
    rating
        .lines
        .iter()
        .filter(|l| &*l.code == code)
        .map(|l| l.amount)
        .sum()
}

fn quantity(rating: &Rating, code: &str) -> Decimal {
    rating
        .lines
        .iter()
        .filter(|l| &*l.code == code)
        .map(|l| l.quantity)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn lines_sum_to_totals((energy, spot) in series_strategy()) {
        let rating = rate(&products(), month("2025-01"), &energy, &spot, true);
        let t = rating.totals();
        let net: Decimal = rating.lines.iter().map(|l| l.net).sum();
        prop_assert_eq!(t.net, net);
        prop_assert_eq!(t.vat.iter().map(|v| v.taxable).sum::<Decimal>(), net);
        prop_assert_eq!(t.vat_total, t.vat.iter().map(|v| v.vat).sum::<Decimal>());
        prop_assert_eq!(t.gross, t.net + t.vat_total);
        for l in &rating.lines {
            prop_assert_eq!(l.net.scale(), 2);
            prop_assert!((l.net - l.amount).abs() <= Decimal::new(5, 3));
        }
    }

    #[test]
    fn a_month_equals_the_sum_of_its_halves_for_additive_components((energy, spot) in series_strategy()) {
        let january = month("2025-01");
        let first = LocalPeriod::new(date(2025, 1, 1), date(2025, 1, 16)).unwrap();
        let second = LocalPeriod::new(date(2025, 1, 16), date(2025, 2, 1)).unwrap();
        let split = 15 * 96;
        for (products, statutory, codes) in [
            // Strømstøtte is additive while the monthly cap is not reached (at most ~4200 kWh here).
            (products(), true, &["energiledd", "elavgift", "enova", "stromstotte"][..]),
            (supplier(), false, &["spot"][..]),
        ] {
            let whole = rate(&products, january, &energy, &spot, statutory);
            let a = rate(&products, first, &energy[..split], &spot[..split], statutory);
            let b = rate(&products, second, &energy[split..], &spot[split..], statutory);
            for code in codes {
                // Exact amounts add up exactly; quantities too.
                prop_assert_eq!(amount(&whole, code), amount(&a, code) + amount(&b, code), "{}", code);
                prop_assert_eq!(quantity(&whole, code), quantity(&a, code) + quantity(&b, code), "{}", code);
            }
            // Prorated fixed fees: 15/31 + 16/31 of a month, equal up to decimal precision.
            if !statutory {
                let parts = amount(&a, "fastbelop") + amount(&b, "fastbelop");
                prop_assert!((amount(&whole, "fastbelop") - parts).abs() < Decimal::new(1, 20));
            }
        }
    }

    #[test]
    fn identical_inputs_give_identical_output((energy, spot) in series_strategy(), (other, _) in series_strategy()) {
        let period = month("2025-01");
        let plan = RatingPlan::new(&products(), &Statutory::default(), Market::No, period, Resolution::Pt15m).unwrap();
        let ctx = ctx_no("0301", UsageKind::Household);
        let input = MeterInput { energy_wh: &energy, spot_price: Some(&spot), ..Default::default() };
        let once = plan.rate(&ctx, &input).unwrap();
        // Same plan, scratch reused after another metering point: same answer.
        let mut scratch = Scratch::default();
        plan.rate_with(&mut scratch, &ctx, &MeterInput { energy_wh: &other, spot_price: Some(&spot), ..Default::default() }).unwrap();
        let again = plan.rate_with(&mut scratch, &ctx, &input).unwrap();
        prop_assert_eq!(&once, &again);
        // A fresh plan: same answer.
        let fresh = rate(&products(), period, &energy, &spot, true);
        prop_assert_eq!(once, fresh);
    }
}

#[test]
fn the_series_covers_the_month() {
    assert_eq!(
        RatingPlan::new(
            &products(),
            &Statutory::default(),
            Market::No,
            month("2025-01"),
            Resolution::Pt15m
        )
        .unwrap()
        .intervals(),
        N
    );
}
