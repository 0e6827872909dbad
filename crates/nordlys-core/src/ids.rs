//! Identifiers of the Nordic market, each parsed once and valid for ever after:
//! GSRN (metering point), GLN (market party), Norwegian organisation and national
//! identity numbers, Danish CVR and CPR numbers.

use std::fmt;

use crate::ParseError;

/// Digits of `value` if it is exactly `len` ASCII digits, else an error naming `field`.
fn digits<const N: usize>(
    field: &'static str,
    value: &str,
    what: &str,
) -> Result<[u8; N], ParseError> {
    let bytes = value.as_bytes();
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::new(
            field,
            value,
            format!("{what} must be exactly {N} digits"),
        ));
    }
    let mut out = [0u8; N];
    for (slot, byte) in out.iter_mut().zip(bytes) {
        *slot = byte - b'0';
    }
    Ok(out)
}

/// GS1 mod-10 check digit over `body` (weights 3,1,3,1… from the rightmost digit).
/// This is the GS1 algorithm, not Luhn.
pub fn gs1_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn check_gs1<const N: usize>(
    field: &'static str,
    value: &str,
    what: &str,
) -> Result<[u8; N], ParseError> {
    let d = digits::<N>(field, value, what)?;
    let expected = gs1_check_digit(&d[..N - 1]);
    if d[N - 1] != expected {
        return Err(ParseError::new(
            field,
            value,
            format!(
                "{what} check digit is {} but the GS1 mod-10 rule gives {expected}",
                d[N - 1]
            ),
        ));
    }
    Ok(d)
}

/// Weighted mod-11 check digit; `None` when the remainder makes the number invalid (check 10).
fn mod11_check_digit(body: &[u8], weights: &[u32]) -> Option<u8> {
    let sum: u32 = body
        .iter()
        .zip(weights)
        .map(|(&d, &w)| u32::from(d) * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k as u8),
    }
}

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }
    };
}

/// Global Service Relation Number: the 18-digit id of a metering point (GS1 mod-10 check digit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gsrn(String);
string_id!(Gsrn);

impl Gsrn {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        check_gs1::<18>("metering_point_id", value, "a GSRN")?;
        Ok(Gsrn(value.to_owned()))
    }
    /// A valid GSRN from a 17-digit body (adds the check digit). For generators and tests.
    pub fn from_body(body: &str) -> Result<Self, ParseError> {
        let d = digits::<17>("metering_point_id", body, "a GSRN body")?;
        Ok(Gsrn(format!("{body}{}", gs1_check_digit(&d))))
    }
}

/// Global Location Number: the 13-digit id of a market party such as a grid owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gln(String);
string_id!(Gln);

impl Gln {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        check_gs1::<13>("gln", value, "a GLN")?;
        Ok(Gln(value.to_owned()))
    }
}

/// Norwegian organisation number (organisasjonsnummer): 9 digits, mod-11 with weights 3,2,7,6,5,4,3,2.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgNumber(String);
string_id!(OrgNumber);

impl OrgNumber {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let d = digits::<9>(
            "organisation_number",
            value,
            "a Norwegian organisation number",
        )?;
        match mod11_check_digit(&d[..8], &[3, 2, 7, 6, 5, 4, 3, 2]) {
            Some(k) if k == d[8] => Ok(OrgNumber(value.to_owned())),
            _ => Err(ParseError::new(
                "organisation_number",
                value,
                "the mod-11 check digit (weights 3,2,7,6,5,4,3,2) does not match",
            )),
        }
    }
}

/// Norwegian national identity number (fødselsnummer or D-number): 11 digits, a date,
/// and two mod-11 check digits. H-numbers (month + 40) and synthetic test numbers
/// (month + 80, as issued by Skatteetaten's Tenor) are accepted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NationalId(String);

impl NationalId {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        const FIELD: &str = "national_id";
        let d = digits::<11>(FIELD, value, "a Norwegian national identity number")?;
        let k1 = mod11_check_digit(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]);
        let k2 = mod11_check_digit(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
        if k1 != Some(d[9]) || k2 != Some(d[10]) {
            return Err(ParseError::new(
                FIELD,
                value,
                "the two mod-11 check digits do not match",
            ));
        }
        let mut day = d[0] * 10 + d[1];
        let mut month = d[2] * 10 + d[3];
        if day > 40 {
            day -= 40; // D-number
        }
        if month > 80 {
            month -= 80; // synthetic (test) number
        } else if month > 40 {
            month -= 40; // H-number
        }
        if !(1..=31).contains(&day) || !(1..=12).contains(&month) {
            return Err(ParseError::new(
                FIELD,
                value,
                "the first six digits are not a valid date (DDMMYY)",
            ));
        }
        Ok(NationalId(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never print a national identity number in full by accident.
impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NationalId({}*****)", &self.0[..6])
    }
}

/// Danish CPR number, kept as an opaque personal id: 10 digits (an optional dash after
/// the sixth is removed). No check digit is enforced: the mod-11 rule was dropped in 2007.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CprNumber(String);

impl CprNumber {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let compact: String = match value.split_once('-') {
            Some((a, b)) if a.len() == 6 => format!("{a}{b}"),
            _ => value.to_owned(),
        };
        digits::<10>("cpr_number", &compact, "a Danish CPR number").map_err(|e| ParseError {
            value: value.to_owned(),
            ..e
        })?;
        Ok(CprNumber(compact))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CprNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CprNumber({}****)", &self.0[..6])
    }
}

/// Danish CVR number (company registration): 8 digits, not starting with 0.
/// The historical mod-11 rule is not enforced (not guaranteed for all current numbers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CvrNumber(String);
string_id!(CvrNumber);

impl CvrNumber {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let d = digits::<8>("cvr_number", value, "a Danish CVR number")?;
        if d[0] == 0 {
            return Err(ParseError::new(
                "cvr_number",
                value,
                "a CVR number does not start with 0",
            ));
        }
        Ok(CvrNumber(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsrn_accepts_valid_and_names_the_rule_when_invalid() {
        // Body 70705750000000001: weights 3,1,3… from the right give 3+15+7+15+21+21 = 82 → 8.
        let valid = Gsrn::from_body("70705750000000001").unwrap();
        assert_eq!(valid.as_str(), "707057500000000018");
        assert!(Gsrn::parse("707057500000000018").is_ok());
        // Danish metering points from Energinet's DataHub test messages.
        assert!(Gsrn::parse("571313180000000005").is_ok());
        assert!(Gsrn::parse("571313000000002000").is_ok());
        let wrong = Gsrn::parse("707057500000000015").unwrap_err();
        assert_eq!(wrong.field, "metering_point_id");
        assert!(wrong.rule.contains("GS1 mod-10 rule gives 8"), "{wrong}");
        let short = Gsrn::parse("70705750000000001").unwrap_err();
        assert!(short.rule.contains("exactly 18 digits"), "{short}");
        assert!(Gsrn::parse("70705750000000001X").is_err());
    }

    #[test]
    fn gsrn_is_not_luhn() {
        // 18-digit number valid under Luhn but not GS1: body 70705750000000001 + Luhn digit.
        let luhn =
            crate::kid::mod10_check_digit(&[7, 0, 7, 0, 5, 7, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_ne!(
            luhn, 5,
            "test precondition: Luhn and GS1 differ on this body"
        );
        assert!(Gsrn::parse(&format!("70705750000000001{luhn}")).is_err());
    }

    #[test]
    fn gln_vectors() {
        // Real grid-owner GLNs from fri-nettleie: Elvia, BKK, Tensio TS.
        for gln in [
            "7080005046220",
            "7080005051378",
            "7080005051880",
            "7080005056069",
        ] {
            assert!(Gln::parse(gln).is_ok(), "{gln}");
        }
        let err = Gln::parse("7080005046221").unwrap_err();
        assert!(
            err.to_string().contains(
                "gln \"7080005046221\": a GLN check digit is 1 but the GS1 mod-10 rule gives 0"
            ),
            "{err}"
        );
    }

    #[test]
    fn organisation_number_vectors() {
        // Brønnøysundregistrene, Equinor, DNB.
        for org in ["974760673", "923609016", "984851006"] {
            assert!(OrgNumber::parse(org).is_ok(), "{org}");
        }
        assert!(
            OrgNumber::parse("974760674")
                .unwrap_err()
                .rule
                .contains("mod-11")
        );
        assert!(
            OrgNumber::parse("97476067")
                .unwrap_err()
                .rule
                .contains("exactly 9 digits")
        );
    }

    #[test]
    fn national_id_vectors() {
        // Worked by hand: body 010101123 → k1 = 11 - 37 mod 11 = 7, k2 = 11 - 48 mod 11 = 7.
        assert!(NationalId::parse("01010112377").is_ok());
        // D-number (day + 40), H-number (month + 40), synthetic (month + 80).
        for date in ["410101", "014101", "018101"] {
            let id = nid_with_valid_checks(date);
            assert!(NationalId::parse(&id).is_ok(), "{id}");
        }
        assert!(
            NationalId::parse("01010112376")
                .unwrap_err()
                .rule
                .contains("check digits")
        );
        assert!(
            NationalId::parse("0101011234")
                .unwrap_err()
                .rule
                .contains("exactly 11 digits")
        );
        // Check digits valid but month 13 is no date.
        let bad_date = nid_with_valid_checks("011301");
        assert!(
            NationalId::parse(&bad_date)
                .unwrap_err()
                .rule
                .contains("valid date")
        );
        // Debug output hides the personal part.
        assert_eq!(
            format!("{:?}", NationalId::parse("01010112377").unwrap()),
            "NationalId(010101*****)"
        );
    }

    /// The first national id with valid check digits for a DDMMYY date part.
    fn nid_with_valid_checks(date: &str) -> String {
        for individual in 0..1000 {
            let mut d: Vec<u8> = format!("{date}{individual:03}")
                .bytes()
                .map(|b| b - b'0')
                .collect();
            let Some(k1) = mod11_check_digit(&d, &[3, 7, 6, 1, 8, 9, 4, 5, 2]) else {
                continue;
            };
            d.push(k1);
            let Some(k2) = mod11_check_digit(&d, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) else {
                continue;
            };
            d.push(k2);
            return d.iter().map(|x| char::from(b'0' + x)).collect();
        }
        panic!("no valid check digits for {date}");
    }

    #[test]
    fn danish_ids() {
        assert_eq!(
            CprNumber::parse("010190-1234").unwrap().as_str(),
            "0101901234"
        );
        assert!(CprNumber::parse("0101901234").is_ok());
        assert!(
            CprNumber::parse("010190-123")
                .unwrap_err()
                .rule
                .contains("10 digits")
        );
        assert!(CvrNumber::parse("25313763").is_ok());
        assert!(
            CvrNumber::parse("05313763")
                .unwrap_err()
                .rule
                .contains("does not start with 0")
        );
        assert!(CvrNumber::parse("2531376").is_err());
    }
}
