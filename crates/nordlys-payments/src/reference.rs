//! Payment references other than the KID: the ISO 11649 RF creditor reference (checked with
//! ISO 7064 MOD 97-10), and how a camt creditor reference becomes a [`PaymentReference`]
//! (KID, Danish FIK +71, RF, or other).

use std::fmt;

use nordlys_core::ParseError;
use nordlys_core::fik::{FIK71_PAYMENT_ID_DIGITS, Fik71PaymentId};
use nordlys_core::quantity::Currency;

use crate::camt::CreditorReference;
use crate::payment::{PaymentReference, ReferenceScheme};

/// An ISO 11649 creditor reference: `RF`, two check digits, 1–21 letters or digits, such that
/// the reference with its first four characters moved to the end, letters as 10–35, is 1
/// modulo 97. Kept in its electronic form (upper case, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RfCreditorReference(String);

impl RfCreditorReference {
    /// Accepts the printed form too (groups of four separated by spaces, any case).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        const FIELD: &str = "rf_creditor_reference";
        let electronic: String = value
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = electronic.as_bytes();
        if !(5..=25).contains(&bytes.len())
            || !electronic.starts_with("RF")
            || !bytes[2..4].iter().all(u8::is_ascii_digit)
            || !bytes[4..].iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(ParseError::new(
                FIELD,
                value,
                "an RF reference is RF, 2 check digits and 1 to 21 letters or digits",
            ));
        }
        let rearranged = bytes[4..].iter().chain(&bytes[..4]);
        let remainder = rearranged.fold(0u32, |remainder, &b| {
            let value = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b - b'A') + 10
            };
            let scale = if value >= 10 { 100 } else { 10 };
            (remainder * scale + value) % 97
        });
        if remainder != 1 {
            return Err(ParseError::new(
                FIELD,
                value,
                "the RF check digits do not match (ISO 7064 MOD 97-10)",
            ));
        }
        Ok(RfCreditorReference(electronic))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RfCreditorReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The written prefixes of a +71 payment id (`+71<026840149965328<`, `71/026840149965328`).
const FIK71_PREFIXES: [&str; 4] = ["+71<", "+71 ", "71/", "+71"];

/// Which reference a camt `CdtrRefInf` is, in this order:
/// 1. RF: `Tp/Issr` is `ISO`, or the reference starts with `RF` → checked as ISO 11649;
/// 2. FIK +71: the reference is written with its card type (`+71<…`, `71/…`), or
///    `Tp/CdOrPrtry/Prtry` is `71`, or it is 15 digits on a DKK account → checked as a
///    +71 payment id;
/// 3. KID: digits (a MOD11 KID may end in `-`), 2 to 25 characters — checked later against
///    the payee's series ([`crate::check_kid`]);
/// 4. anything else is kept as [`PaymentReference::Other`].
///
/// A reference that names a scheme and fails its check is [`PaymentReference::Invalid`].
pub fn classify_creditor_reference(
    reference: &CreditorReference,
    account_currency: Option<Currency>,
) -> PaymentReference {
    let value = reference.reference.trim();
    if reference.issuer.as_deref() == Some("ISO") || value.to_ascii_uppercase().starts_with("RF") {
        return match RfCreditorReference::parse(value) {
            Ok(rf) => PaymentReference::Rf(rf),
            Err(e) => invalid(ReferenceScheme::Rf, value, e),
        };
    }
    let written_fik = FIK71_PREFIXES
        .iter()
        .find_map(|prefix| value.strip_prefix(prefix))
        .map(|rest| rest.trim_end_matches('<').trim());
    let proprietary_fik = matches!(
        reference.proprietary.as_deref(),
        Some("71" | "+71" | "FIK71")
    );
    let danish_digits = account_currency == Some(Currency::Dkk)
        && value.len() == FIK71_PAYMENT_ID_DIGITS
        && value.bytes().all(|b| b.is_ascii_digit());
    if let Some(id) = written_fik.or((proprietary_fik || danish_digits).then_some(value)) {
        return match Fik71PaymentId::parse(id) {
            Ok(fik) => PaymentReference::Fik71(fik),
            Err(e) => invalid(ReferenceScheme::Fik71, value, e),
        };
    }
    let bytes = value.as_bytes();
    let kid_shaped = (2..=25).contains(&bytes.len())
        && bytes[..bytes.len() - 1].iter().all(u8::is_ascii_digit)
        && (bytes[bytes.len() - 1].is_ascii_digit() || bytes[bytes.len() - 1] == b'-');
    if kid_shaped {
        PaymentReference::Kid(value.to_owned())
    } else {
        PaymentReference::Other(value.to_owned())
    }
}

fn invalid(scheme: ReferenceScheme, value: &str, error: ParseError) -> PaymentReference {
    PaymentReference::Invalid {
        scheme,
        value: value.to_owned(),
        rule: error.rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rf_references_are_checked_with_mod_97() {
        // ISO 11649's example.
        assert_eq!(
            RfCreditorReference::parse("RF18 5390 0754 7034")
                .unwrap()
                .as_str(),
            "RF18539007547034"
        );
        assert!(RfCreditorReference::parse("RF18539007547035").is_err());
        assert!(RfCreditorReference::parse("rf18539007547034").is_ok());
        // Letters count as 10-35.
        assert!(RfCreditorReference::parse("RF712348231").is_ok());
        assert!(RfCreditorReference::parse("RF").is_err());
        assert!(RfCreditorReference::parse("RF1X123").is_err());
        assert!(RfCreditorReference::parse("RF18-5390").is_err());
    }
}
