//! camt amounts: the decimal text of an ISO 20022 amount (`1020.00`, `56`, `0.5`) as exact
//! minor units of a two-decimal currency (NOK, DKK, EUR, SEK, USD).

/// More digits than this before the point cannot be a payment (and would overflow i64 øre).
const MAX_WHOLE_DIGITS: usize = 15;

/// `1020.00` → `102000`; at most two decimals, no sign, no exponent, no separators.
/// The error is the rule broken.
pub fn parse_amount_minor(text: &str) -> Result<i64, &'static str> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || fraction.is_some_and(|f| !is_digits(f)) {
        return Err("an amount is digits with an optional '.' and decimals (e.g. 1020.00)");
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 2 {
        return Err("an amount has at most 2 decimals (minor units)");
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > MAX_WHOLE_DIGITS {
        return Err("the amount is too large (at most 15 digits before the point)");
    }
    let parse = |digits: &str| {
        digits
            .bytes()
            .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'))
    };
    let fraction_minor = match fraction.len() {
        0 => 0,
        1 => parse(fraction) * 10,
        _ => parse(fraction),
    };
    Ok(parse(whole) * 100 + fraction_minor)
}

#[cfg(test)]
mod tests {
    use super::parse_amount_minor;

    #[test]
    fn decimals_become_minor_units_exactly() {
        assert_eq!(parse_amount_minor("1020.00"), Ok(102_000));
        assert_eq!(parse_amount_minor("1020"), Ok(102_000));
        assert_eq!(parse_amount_minor("0.5"), Ok(50));
        assert_eq!(parse_amount_minor("0.07"), Ok(7));
        assert_eq!(parse_amount_minor("000123.45"), Ok(12_345));
        assert_eq!(
            parse_amount_minor("999999999999999.99"),
            Ok(99_999_999_999_999_999)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "", ".", "1.", ".5", "-1.00", "+1", "1,00", "1e3", "1 000", " 1", "1.0.0",
        ] {
            assert!(parse_amount_minor(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_amount_minor("1.005"),
            Err("an amount has at most 2 decimals (minor units)")
        );
        assert_eq!(
            parse_amount_minor("1.000"),
            Err("an amount has at most 2 decimals (minor units)")
        );
        assert!(parse_amount_minor("1000000000000000").is_err());
    }
}
