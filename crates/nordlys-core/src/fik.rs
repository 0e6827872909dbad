//! Danish FIK payment ids (indbetalingskort, card type +71): 15 digits whose last is a
//! modulus-10 check digit — the same Luhn rule as the Norwegian MOD10 KID, so it reuses
//! [`crate::kid::mod10_check_digit`].

use std::fmt;

use crate::ParseError;
use crate::kid::mod10_check_digit;

/// Digits in a +71 payment id, the check digit included.
pub const FIK71_PAYMENT_ID_DIGITS: usize = 15;

/// The payment id of a Danish +71 indbetalingskort (`+71< 026840149965328+12345678<`):
/// 14 payload digits and a Luhn check digit (weights 1,2,1,2… from the left over the
/// payload, i.e. 2,1,2,1… from its right end; products of two digits reduced by 9;
/// check = (10 − sum mod 10) mod 10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fik71PaymentId(String);

impl Fik71PaymentId {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        const FIELD: &str = "fik71_payment_id";
        let bytes = value.as_bytes();
        if bytes.len() != FIK71_PAYMENT_ID_DIGITS || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(ParseError::new(
                FIELD,
                value,
                "a +71 payment id is 15 digits, the check digit included",
            ));
        }
        let expected = fik71_check_digit(&value[..FIK71_PAYMENT_ID_DIGITS - 1]);
        if bytes[FIK71_PAYMENT_ID_DIGITS - 1] - b'0' != expected {
            return Err(ParseError::new(
                FIELD,
                value,
                format!("the modulus-10 check digit should be {expected}"),
            ));
        }
        Ok(Fik71PaymentId(value.to_owned()))
    }

    /// The payment id for 14 payload digits (e.g. customer and invoice number).
    pub fn generate(payload_digits: &str) -> Result<Self, ParseError> {
        if payload_digits.len() != FIK71_PAYMENT_ID_DIGITS - 1
            || !payload_digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseError::new(
                "fik71_payment_id",
                payload_digits,
                "a +71 payment id's payload is 14 digits",
            ));
        }
        let check = fik71_check_digit(payload_digits);
        Ok(Fik71PaymentId(format!("{payload_digits}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check digit over ASCII payload digits (callers pass digits only).
fn fik71_check_digit(payload_digits: &str) -> u8 {
    let body: Vec<u8> = payload_digits.bytes().map(|b| b - b'0').collect();
    mod10_check_digit(&body)
}

impl fmt::Display for Fik71PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        // Business::DK::FI's test vector: …328 valid, …327 invalid.
        assert!(Fik71PaymentId::parse("026840149965328").is_ok());
        let err = Fik71PaymentId::parse("026840149965327").unwrap_err();
        assert!(err.rule.contains("should be 8"), "{err}");
        // Uniconta's example OCR line `+71< 004040400000669+…`.
        assert!(Fik71PaymentId::parse("004040400000669").is_ok());
        assert_eq!(
            Fik71PaymentId::generate("02684014996532").unwrap().as_str(),
            "026840149965328"
        );
    }

    #[test]
    fn a_check_of_zero_is_zero_not_ten() {
        // Payload whose weighted sum is a multiple of 10: the check digit is 0.
        let id = Fik71PaymentId::generate("00000000000000").unwrap();
        assert_eq!(id.as_str(), "000000000000000");
        assert!(Fik71PaymentId::parse("000000000000000").is_ok());
    }

    #[test]
    fn shape_is_checked() {
        assert!(Fik71PaymentId::parse("02684014996532").is_err());
        assert!(Fik71PaymentId::parse("0268401499653280").is_err());
        assert!(Fik71PaymentId::parse("02684014996532x").is_err());
        assert!(Fik71PaymentId::generate("1234").is_err());
    }
}
