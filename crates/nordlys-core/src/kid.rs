//! KID (kundeidentifikasjon) payment references: MOD10 (Luhn) and MOD11 check digits,
//! as Norwegian banks verify them on OCR giro payments.

use std::fmt;

use crate::ParseError;

/// Which check-digit algorithm a KID uses. A utility chooses one in its bank agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KidAlgorithm {
    Mod10,
    Mod11,
}

/// Luhn check digit over `body` (weights 2,1,2,1… from the rightmost digit, digit sums).
pub fn mod10_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// KID MOD11 check character over `body` (weights 2..=7 repeating from the right);
/// `'-'` when the remainder gives 10, which a generator must avoid.
pub fn mod11_check_char(body: &[u8]) -> char {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * (2 + (i as u32 % 6)))
        .sum();
    match 11 - sum % 11 {
        11 => '0',
        10 => '-',
        k => char::from(b'0' + k as u8),
    }
}

/// A KID: 2–25 characters, digits with a final check character that matches its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kid(String);

impl Kid {
    pub fn parse(value: &str, algorithm: KidAlgorithm) -> Result<Self, ParseError> {
        const FIELD: &str = "kid";
        let bytes = value.as_bytes();
        if !(2..=25).contains(&bytes.len()) {
            return Err(ParseError::new(
                FIELD,
                value,
                "a KID has 2 to 25 characters",
            ));
        }
        let (body, check) = bytes.split_at(bytes.len() - 1);
        if !body.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::new(
                FIELD,
                value,
                "a KID is digits; only a MOD11 check character may be '-'",
            ));
        }
        let body: Vec<u8> = body.iter().map(|b| b - b'0').collect();
        let expected = match algorithm {
            KidAlgorithm::Mod10 => char::from(b'0' + mod10_check_digit(&body)),
            KidAlgorithm::Mod11 => mod11_check_char(&body),
        };
        if char::from(check[0]) != expected {
            return Err(ParseError::new(
                FIELD,
                value,
                format!("the {algorithm:?} check character should be {expected}"),
            ));
        }
        Ok(Kid(value.to_owned()))
    }

    /// The KID for a reference number (e.g. account and invoice number, digits only).
    /// Returns `None` for a MOD11 body whose check character would be `-`: many payers'
    /// banks cannot key it, so the caller picks another body (e.g. the next number).
    pub fn generate(
        body_digits: &str,
        algorithm: KidAlgorithm,
    ) -> Result<Option<Self>, ParseError> {
        if body_digits.is_empty()
            || body_digits.len() > 24
            || !body_digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseError::new(
                "kid",
                body_digits,
                "a KID body is 1 to 24 digits",
            ));
        }
        let body: Vec<u8> = body_digits.bytes().map(|b| b - b'0').collect();
        let check = match algorithm {
            KidAlgorithm::Mod10 => char::from(b'0' + mod10_check_digit(&body)),
            KidAlgorithm::Mod11 => match mod11_check_char(&body) {
                '-' => return Ok(None),
                c => c,
            },
        };
        Ok(Some(Kid(format!("{body_digits}{check}"))))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod10_vectors() {
        // The classic Luhn example 7992739871 → 3.
        assert_eq!(
            Kid::generate("7992739871", KidAlgorithm::Mod10)
                .unwrap()
                .unwrap()
                .as_str(),
            "79927398713"
        );
        assert!(Kid::parse("79927398713", KidAlgorithm::Mod10).is_ok());
        let err = Kid::parse("79927398714", KidAlgorithm::Mod10).unwrap_err();
        assert!(err.rule.contains("should be 3"), "{err}");
    }

    #[test]
    fn mod11_vectors() {
        // 1234567890: weights from right 2,3,4,5,6,7,2,3,4,5 → sum 0*2+9*3+8*4+7*5+6*6+5*7+4*2+3*3+2*4+1*5 = 195;
        // 195 mod 11 = 8 → check 3.
        assert_eq!(
            Kid::generate("1234567890", KidAlgorithm::Mod11)
                .unwrap()
                .unwrap()
                .as_str(),
            "12345678903"
        );
        assert!(Kid::parse("12345678903", KidAlgorithm::Mod11).is_ok());
        assert!(Kid::parse("12345678904", KidAlgorithm::Mod11).is_err());
        assert!(
            Kid::parse("1", KidAlgorithm::Mod11)
                .unwrap_err()
                .rule
                .contains("2 to 25")
        );
        assert!(Kid::generate("12a", KidAlgorithm::Mod10).is_err());
    }

    #[test]
    fn mod11_dash_bodies_have_no_kid() {
        let dash_body = (0..10_000u32)
            .map(|n| n.to_string())
            .find(|b| mod11_check_char(&b.bytes().map(|c| c - b'0').collect::<Vec<_>>()) == '-')
            .unwrap();
        assert_eq!(
            Kid::generate(&dash_body, KidAlgorithm::Mod11).unwrap(),
            None
        );
        // Banks accept '-' as a MOD11 check character, so parsing does too.
        assert!(Kid::parse(&format!("{dash_body}-"), KidAlgorithm::Mod11).is_ok());
        assert!(Kid::parse(&format!("{dash_body}0"), KidAlgorithm::Mod11).is_err());
    }
}

/// The KID for a document number: the number zero-padded to 9 digits plus a check character.
/// With MOD11, a body whose check would be `-` is prefixed with the smallest digit 1–9 that
/// gives a digit check, so every number gets a KID and numbering stays gapless.
pub fn kid_for_document_number(number: i64, algorithm: KidAlgorithm) -> Result<Kid, ParseError> {
    let body = format!("{:09}", number.unsigned_abs());
    if let Some(kid) = Kid::generate(&body, algorithm)? {
        return Ok(kid);
    }
    for prefix in 1..=9 {
        if let Some(kid) = Kid::generate(&format!("{prefix}{body}"), algorithm)? {
            return Ok(kid);
        }
    }
    Err(ParseError::new(
        "kid",
        body,
        "no MOD11 check digit could be found for this number",
    ))
}

#[cfg(test)]
mod document_number_tests {
    use super::*;

    #[test]
    fn every_document_number_gets_a_valid_kid() {
        for number in 1..3000 {
            for algorithm in [KidAlgorithm::Mod10, KidAlgorithm::Mod11] {
                let kid = kid_for_document_number(number, algorithm).unwrap();
                assert!(
                    Kid::parse(kid.as_str(), algorithm).is_ok(),
                    "{number}: {kid}"
                );
                assert!(!kid.as_str().ends_with('-'));
                assert!(
                    kid.as_str().contains(&format!("{number:09}")),
                    "{number}: {kid}"
                );
            }
        }
        assert_eq!(
            kid_for_document_number(1, KidAlgorithm::Mod10)
                .unwrap()
                .as_str(),
            "0000000018"
        );
    }
}
