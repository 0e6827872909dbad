//! Exact quantities: energy in whole watt-hours, prices and rates as decimals, currencies.
//! No floats: an amount is reproducible to the øre from its inputs.

use std::fmt;

use rust_decimal::Decimal;

use crate::ParseError;

/// Energy in watt-hours. Meter values arrive in kWh with at most three decimals
/// (the resolution of Elhub and DataHub), so watt-hours hold every value exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EnergyWh(pub i64);

impl EnergyWh {
    /// Parse a kWh decimal such as `1.25`, `-0.004` or `12` into watt-hours.
    /// More than three decimals would lose precision and is refused.
    pub fn parse_kwh(field: &'static str, text: &str) -> Result<Self, ParseError> {
        let bytes = text.as_bytes();
        let (negative, digits) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let bad = |rule: &str| ParseError::new(field, text, rule);
        if digits.is_empty() {
            return Err(bad(
                "a quantity in kWh is required (a decimal number such as 1.25)",
            ));
        }
        let mut whole: i64 = 0;
        let mut fraction: i64 = 0;
        let mut fraction_digits = 0u32;
        let mut seen_point = false;
        let mut seen_digit = false;
        for &b in digits {
            match b {
                b'0'..=b'9' => {
                    seen_digit = true;
                    let d = i64::from(b - b'0');
                    if seen_point {
                        fraction_digits += 1;
                        if fraction_digits > 3 {
                            if d != 0 {
                                return Err(bad(
                                    "at most 3 decimals of kWh (1 Wh) are kept; this value is finer",
                                ));
                            }
                            continue;
                        }
                        fraction = fraction * 10 + d;
                    } else {
                        whole = whole
                            .checked_mul(10)
                            .and_then(|w| w.checked_add(d))
                            .filter(|w| *w < 1_000_000_000_000)
                            .ok_or_else(|| bad("the quantity is too large (limit 10^12 kWh)"))?;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => {
                    return Err(bad(
                        "not a decimal number (use '.' as the decimal point, no thousands separators)",
                    ));
                }
            }
        }
        if !seen_digit {
            return Err(bad("not a decimal number"));
        }
        let fraction = fraction * 10i64.pow(3 - fraction_digits.min(3));
        let wh = whole * 1000 + fraction;
        Ok(EnergyWh(if negative { -wh } else { wh }))
    }

    /// kWh with exactly three decimals, the inverse of [`EnergyWh::parse_kwh`].
    pub fn to_kwh_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
    }
}

impl fmt::Display for EnergyWh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kWh", self.to_kwh_string())
    }
}

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($(#[$variant_meta:meta])* $variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The code used in files, the database and the API.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            pub fn parse(value: &str) -> Result<Self, $crate::ParseError> {
                match value {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::ParseError::new(
                        $field,
                        value,
                        format!("must be one of: {}", [$($code),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use code_enum;

code_enum!(
    /// ISO 4217 currencies Nordlys prices and invoices in.
    Currency, "currency", { Nok => "NOK", Dkk => "DKK", Eur => "EUR", Sek => "SEK", Usd => "USD" }
);

code_enum!(
    /// The energy unit a price is quoted per.
    EnergyUnit, "unit", { Mwh => "MWh", Kwh => "kWh" }
);

/// Parse a decimal such as `-12.5` or `1043.37`; `field` names it in the error.
pub fn parse_decimal(field: &'static str, text: &str) -> Result<Decimal, ParseError> {
    text.parse::<Decimal>().map_err(|_| {
        ParseError::new(
            field,
            text,
            "not a decimal number (use '.' as the decimal point, no thousands separators)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwh_parses_exactly() {
        let cases = [
            ("0", 0),
            ("1", 1000),
            ("1.25", 1250),
            ("0.001", 1),
            ("12.3450", 12345),
            ("-0.5", -500),
            (".5", 500),
            ("1.", 1000),
        ];
        for (text, wh) in cases {
            assert_eq!(
                EnergyWh::parse_kwh("q", text).unwrap(),
                EnergyWh(wh),
                "{text}"
            );
        }
    }

    #[test]
    fn kwh_rejects_with_reason() {
        assert!(
            EnergyWh::parse_kwh("quantity_kwh", "0.0001")
                .unwrap_err()
                .rule
                .contains("at most 3 decimals")
        );
        assert!(
            EnergyWh::parse_kwh("quantity_kwh", "1,5")
                .unwrap_err()
                .rule
                .contains("decimal point")
        );
        assert!(
            EnergyWh::parse_kwh("quantity_kwh", "")
                .unwrap_err()
                .rule
                .contains("required")
        );
        assert!(EnergyWh::parse_kwh("quantity_kwh", "-").is_err());
        assert!(EnergyWh::parse_kwh("quantity_kwh", "1.2.3").is_err());
        assert!(
            EnergyWh::parse_kwh("quantity_kwh", "99999999999999999999")
                .unwrap_err()
                .rule
                .contains("too large")
        );
    }

    #[test]
    fn kwh_round_trips() {
        for wh in [0, 1, 999, 1000, 123_456, -1, -2500] {
            let e = EnergyWh(wh);
            assert_eq!(EnergyWh::parse_kwh("q", &e.to_kwh_string()).unwrap(), e);
        }
        assert_eq!(EnergyWh(1250).to_kwh_string(), "1.250");
        assert_eq!(EnergyWh(-5).to_kwh_string(), "-0.005");
    }

    #[test]
    fn codes_name_the_choices() {
        assert_eq!(Currency::parse("NOK").unwrap(), Currency::Nok);
        let err = Currency::parse("nok").unwrap_err();
        assert_eq!(
            err.to_string(),
            "currency \"nok\": must be one of: NOK, DKK, EUR, SEK, USD"
        );
    }
}
