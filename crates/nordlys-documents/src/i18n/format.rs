//! Numbers, amounts, dates and identifiers as each language writes them: Norwegian
//! `1 234,56` (a no-break space groups thousands), Danish `1.234,56`, English `1,234.56`;
//! dates `31.01.2025` in Norwegian and Danish, `31 Jan 2025` in English. Exact: decimals are
//! rounded once here, half away from zero, never through floating point.

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};

use nordlys_core::model::Language;
use nordlys_core::quantity::Currency;

use crate::model::BankAccount;

/// The no-break space that groups Norwegian thousands (a number never breaks over two lines).
pub const NO_BREAK_SPACE: char = '\u{a0}';
/// The typographic minus sign.
pub const MINUS: char = '\u{2212}';

fn separators(language: Language) -> (char, char) {
    match language {
        Language::Nb => (NO_BREAK_SPACE, ','),
        Language::Da => ('.', ','),
        Language::En => (',', '.'),
    }
}

/// `value` rounded to at most `max_decimals`, trailing zeros removed down to `min_decimals`,
/// thousands grouped, as `language` writes it.
pub fn decimal(value: Decimal, language: Language, min_decimals: u32, max_decimals: u32) -> String {
    let rounded =
        value.round_dp_with_strategy(max_decimals, RoundingStrategy::MidpointAwayFromZero);
    let mut text = rounded.abs().normalize().to_string();
    let (integer, fraction) = match text.find('.') {
        Some(dot) => {
            let fraction = text.split_off(dot + 1);
            text.pop();
            (text, fraction)
        }
        None => (text, String::new()),
    };
    let mut fraction = fraction;
    while (fraction.len() as u32) < min_decimals {
        fraction.push('0');
    }
    let (group, decimal_mark) = separators(language);
    let mut out = String::with_capacity(integer.len() + fraction.len() + 8);
    if rounded.is_sign_negative() && !rounded.is_zero() {
        out.push(MINUS);
    }
    let digits = integer.len();
    for (index, digit) in integer.chars().enumerate() {
        if index > 0 && (digits - index) % 3 == 0 {
            out.push(group);
        }
        out.push(digit);
    }
    if !fraction.is_empty() {
        out.push(decimal_mark);
        out.push_str(&fraction);
    }
    out
}

/// A money amount with two decimals: `1 234,56`.
pub fn amount(value: Decimal, language: Language) -> String {
    decimal(value, language, 2, 2)
}

/// A money amount with its currency as the language writes it: `1 234,56 kr` (Norwegian and
/// Danish kroner in those languages), `NOK 1,234.56` in English, `1 234,56 EUR` otherwise.
pub fn money(value: Decimal, currency: Currency, language: Language) -> String {
    let number = amount(value, language);
    match (language, currency) {
        (Language::Nb, Currency::Nok) | (Language::Da, Currency::Dkk) => format!("{number} kr"),
        (Language::En, _) => format!("{} {number}", currency.code()),
        _ => format!("{number} {}", currency.code()),
    }
}

/// Energy in kWh from watt-hours, with up to three decimals (at least `min_decimals`).
pub fn energy_kwh(energy_wh: i64, language: Language, min_decimals: u32) -> String {
    decimal(Decimal::new(energy_wh, 3), language, min_decimals, 3)
}

/// A percentage without a needless fraction: `25`, `12,5`.
pub fn percent(value: Decimal, language: Language) -> String {
    decimal(value, language, 0, 2)
}

const ENGLISH_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date: `31.01.2025` (Norwegian, Danish), `31 Jan 2025` (English).
pub fn date(day: Date, language: Language) -> String {
    match language {
        Language::Nb | Language::Da => {
            format!("{:02}.{:02}.{}", day.day(), day.month(), day.year())
        }
        Language::En => format!(
            "{} {} {}",
            day.day(),
            ENGLISH_MONTHS[usize::from(day.month().unsigned_abs()) - 1],
            day.year()
        ),
    }
}

const NORWEGIAN_MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];
const DANISH_MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];
const ENGLISH_MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The month of `day` with its year: `januar 2025`, `January 2025`.
pub fn month(day: Date, language: Language) -> String {
    let names = match language {
        Language::Nb => &NORWEGIAN_MONTHS,
        Language::Da => &DANISH_MONTHS,
        Language::En => &ENGLISH_MONTH_NAMES,
    };
    let index = usize::from(day.month().unsigned_abs()) - 1;
    format!("{} {}", names[index], day.year())
}

/// A clock hour and the next: `18:00–19:00`.
pub fn clock_hour(hour: i8) -> String {
    format!("{:02}:00–{:02}:00", hour, (hour + 1) % 24)
}

/// A Norwegian organisation number in groups of three (`923 609 016`); other registry
/// numbers as registered.
pub fn organisation_number(number: &str) -> String {
    if number.len() == 9 && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {} {}", &number[..3], &number[3..6], &number[6..])
    } else {
        number.to_owned()
    }
}

/// A bank account as printed: `1234.56.78903`, or an IBAN in groups of four.
pub fn bank_account(account: &BankAccount) -> String {
    match account {
        BankAccount::Norwegian(digits) if digits.len() == 11 => {
            format!("{}.{}.{}", &digits[..4], &digits[4..6], &digits[6..])
        }
        BankAccount::Norwegian(digits) => digits.clone(),
        BankAccount::Iban { iban, .. } => iban
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn amounts_are_grouped_and_marked_per_language() {
        assert_eq!(amount(d("1234.56"), Language::Nb), "1\u{a0}234,56");
        assert_eq!(amount(d("1234.56"), Language::Da), "1.234,56");
        assert_eq!(amount(d("1234.56"), Language::En), "1,234.56");
        assert_eq!(amount(d("1234567.5"), Language::En), "1,234,567.50");
        assert_eq!(amount(d("999"), Language::Nb), "999,00");
        assert_eq!(amount(d("-12.345"), Language::Da), "\u{2212}12,35");
        assert_eq!(amount(d("-0.001"), Language::En), "0.00");
    }

    #[test]
    fn decimals_keep_what_matters() {
        assert_eq!(decimal(d("1.23450"), Language::Nb, 2, 4), "1,2345");
        assert_eq!(decimal(d("1.5"), Language::Nb, 2, 4), "1,50");
        assert_eq!(decimal(d("12.5"), Language::En, 0, 2), "12.5");
        assert_eq!(energy_kwh(1_234_500, Language::Nb, 1), "1\u{a0}234,5");
        assert_eq!(energy_kwh(2_000, Language::En, 0), "2");
    }

    #[test]
    fn money_carries_the_currency_as_the_language_writes_it() {
        assert_eq!(money(d("10"), Currency::Nok, Language::Nb), "10,00 kr");
        assert_eq!(money(d("10"), Currency::Nok, Language::En), "NOK 10.00");
        assert_eq!(money(d("10"), Currency::Nok, Language::Da), "10,00 NOK");
    }

    #[test]
    fn dates_and_identifiers() {
        let day = Date::constant(2025, 1, 31);
        assert_eq!(date(day, Language::Nb), "31.01.2025");
        assert_eq!(date(day, Language::En), "31 Jan 2025");
        assert_eq!(month(day, Language::Da), "januar 2025");
        assert_eq!(
            month(Date::constant(2025, 12, 1), Language::En),
            "December 2025"
        );
        assert_eq!(clock_hour(23), "23:00–00:00");
        assert_eq!(organisation_number("923609016"), "923 609 016");
        assert_eq!(
            bank_account(&BankAccount::norwegian("12345678903").unwrap()),
            "1234.56.78903"
        );
        assert_eq!(
            bank_account(&BankAccount::iban("DK5000400440116243", None).unwrap()),
            "DK50 0040 0440 1162 43"
        );
    }
}
