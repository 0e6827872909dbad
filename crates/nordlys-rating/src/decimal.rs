//! Exact numbers: decimals read from files without passing through binary floating point
//! as a source of truth, and the fixed-point scales of the hot loop.
//!
//! Scales used by the engine (all integers):
//! - energy: watt-hours (`i64`), as in `nordlys_core::quantity::EnergyWh`;
//! - prices per kWh: **nano** currency units per kWh (`i64`, 1e-9), which is numerically the
//!   same as **micro** currency units per MWh — so a spot price of 45.67 NOK/MWh is `45_670_000`;
//! - amounts: **pico** currency units (`i128`, 1e-12) = Wh × nano/kWh, exact.
//!
//! Money is rounded once, per invoice line, to 2 decimals half away from zero (EN 16931).

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Deserializer, Visitor};

/// Nano units (1e-9) per whole currency unit.
pub const NANO: i64 = 1_000_000_000;

/// A price per kWh as nano currency units, if `price` is exact at that scale and fits.
pub fn price_to_nano(price: Decimal) -> Option<i64> {
    let scaled = price.checked_mul(Decimal::from(NANO))?;
    if !scaled.fract().is_zero() {
        return None;
    }
    i64::try_from(scaled.mantissa() / 10i128.pow(scaled.scale())).ok()
}

/// A nano price back as a decimal currency amount per kWh.
pub fn nano_to_decimal(nano: i64) -> Decimal {
    Decimal::new(nano, 9).normalize()
}

/// A pico amount (Wh × nano/kWh) as a decimal currency amount, unrounded; `None` when it is
/// beyond what a decimal holds at that scale (|amount| ≥ 7.9 × 10^16 currency units).
pub fn pico_to_decimal(pico: i128) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(pico, 12)
        .ok()
        .map(|d| d.normalize())
}

/// Watt-hours as kWh with three decimals.
pub fn wh_to_kwh(wh: i64) -> Decimal {
    Decimal::new(wh, 3)
}

/// Round a money amount the one way Nordlys does: 2 decimals, half away from zero.
pub fn round_money(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Round a displayed unit price (never used to compute a net amount).
pub fn round_display(value: Decimal, decimals: u32) -> Decimal {
    value
        .round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

/// A decimal read from TOML or YAML. Strings (`"23.21"`) and integers are exact. Floats
/// (`23.21`) are accepted too: the shortest representation that round-trips a binary
/// float recovers the decimal that was written whenever it had at most 15 significant
/// digits, which every tariff figure has; longer ones are refused so nothing is
/// silently changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dec(pub Decimal);

impl<'de> serde::Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DecVisitor)
    }
}

struct DecVisitor;

impl Visitor<'_> for DecVisitor {
    type Value = Dec;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal number, e.g. \"23.21\" or 23.21")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dec, E> {
        Ok(Dec(Decimal::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dec, E> {
        Ok(Dec(Decimal::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dec, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("{v} is not a finite decimal number")));
        }
        let text = format!("{v}");
        let significant = text
            .trim_start_matches('-')
            .trim_start_matches(['0', '.'])
            .chars()
            .filter(char::is_ascii_digit)
            .count();
        if significant > 15 {
            return Err(E::custom(format!(
                "{text} has more than 15 significant digits; write it as a string, e.g. \"{text}\""
            )));
        }
        text.parse::<Decimal>()
            .map(|d| Dec(d.normalize()))
            .map_err(|_| E::custom(format!("{text} is not a decimal number")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Dec, E> {
        v.trim().parse::<Decimal>().map(Dec).map_err(|_| {
            E::custom(format!(
                "{v:?} is not a decimal number (use '.' as the decimal point)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nano_prices_are_exact_or_refused() {
        assert_eq!(price_to_nano("0.2321".parse().unwrap()), Some(232_100_000));
        assert_eq!(price_to_nano("-0.000000001".parse().unwrap()), Some(-1));
        assert_eq!(price_to_nano("0.0000000001".parse().unwrap()), None);
        assert_eq!(nano_to_decimal(232_100_000).to_string(), "0.2321");
    }

    #[test]
    fn money_rounds_half_away_from_zero() {
        assert_eq!(round_money("1.005".parse().unwrap()).to_string(), "1.01");
        assert_eq!(round_money("-1.005".parse().unwrap()).to_string(), "-1.01");
        assert_eq!(round_money("1.0049".parse().unwrap()).to_string(), "1.00");
        assert_eq!(
            pico_to_decimal(1_500_000_000_000).unwrap().to_string(),
            "1.5"
        );
        // Beyond a decimal's 96-bit mantissa: refused, never saturated.
        assert_eq!(pico_to_decimal(i128::MAX), None);
    }

    #[test]
    fn floats_from_files_keep_their_written_digits() {
        for (f, text) in [
            (19.776, "19.776"),
            (0.1, "0.1"),
            (1315.2, "1315.2"),
            (-0.5, "-0.5"),
        ] {
            let d: Dec = DecVisitor.visit_f64::<de::value::Error>(f).unwrap();
            assert_eq!(d.0.to_string(), text);
        }
        assert!(DecVisitor.visit_f64::<de::value::Error>(0.1 + 0.2).is_err());
    }
}
