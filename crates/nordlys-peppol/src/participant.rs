//! Peppol participant identifiers (scheme `iso6523-actorid-upis`, an ICD and the party's number)
//! and the name under which the SML publishes a participant in DNS.

use std::fmt;

use nordlys_core::ParseError;
use nordlys_core::ids::{CvrNumber, OrgNumber};
use sha2::{Digest, Sha256};

/// The only participant identifier scheme Peppol uses.
pub const PARTICIPANT_SCHEME: &str = "iso6523-actorid-upis";

/// ICD 0192: Norwegian organisation number (Enhetsregisteret).
pub const ICD_NORWEGIAN_ORG: &str = "0192";
/// ICD 0184: Danish CVR number.
pub const ICD_DANISH_CVR: &str = "0184";

/// A participant's identifier value may be at most this long (Peppol Policy for use of
/// identifiers: 50 characters for the value including the ICD).
pub const MAX_VALUE_CHARS: usize = 50;

/// A Peppol participant: `iso6523-actorid-upis::ICD:NUMBER`, kept lowercased (the scheme is
/// case-insensitive). For ICD 0192 the number is a valid Norwegian organisation number
/// (mod-11), for 0184 a Danish CVR number; other ICDs are accepted as four digits and a number
/// of letters, digits and `-._`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId {
    /// `ICD:NUMBER`, lowercased.
    value: String,
}

impl ParticipantId {
    /// Parse `0192:923609016`, `iso6523-actorid-upis::0192:923609016` or the same with the
    /// `::` percent-encoded (`iso6523-actorid-upis%3A%3A0192%3A923609016`, as in SMP URLs).
    pub fn parse(text: &str) -> Result<ParticipantId, ParseError> {
        const FIELD: &str = "participant";
        let trimmed = text.trim();
        let decoded = percent_encoding::percent_decode_str(trimmed)
            .decode_utf8()
            .map_err(|_| ParseError::new(FIELD, text, "not UTF-8 after percent-decoding"))?;
        let lower = decoded.to_ascii_lowercase();
        let value = match lower.split_once("::") {
            Some((scheme, value)) if scheme == PARTICIPANT_SCHEME => value.to_owned(),
            Some((scheme, _)) => {
                return Err(ParseError::new(
                    FIELD,
                    text,
                    format!(
                        "unknown identifier scheme {scheme:?}; Peppol participants use {PARTICIPANT_SCHEME}"
                    ),
                ));
            }
            None => lower,
        };
        let Some((icd, number)) = value.split_once(':') else {
            return Err(ParseError::new(
                FIELD,
                text,
                "a participant is ICD:NUMBER, e.g. 0192:923609016 (optionally after iso6523-actorid-upis::)",
            ));
        };
        if icd.len() != 4 || !icd.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(
                FIELD,
                text,
                "the ICD (before the ':') is four digits, e.g. 0192 (Norwegian org. no.) or 0184 (Danish CVR)",
            ));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(ParseError::new(
                FIELD,
                text,
                format!("the identifier is at most {MAX_VALUE_CHARS} characters"),
            ));
        }
        match icd {
            ICD_NORWEGIAN_ORG => {
                OrgNumber::parse(number).map_err(|e| ParseError::new(FIELD, text, e.rule))?;
            }
            ICD_DANISH_CVR => {
                CvrNumber::parse(number).map_err(|e| ParseError::new(FIELD, text, e.rule))?;
            }
            _ => {
                if number.is_empty()
                    || !number
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
                {
                    return Err(ParseError::new(
                        FIELD,
                        text,
                        "the number (after the ICD) is letters, digits, '-', '.' or '_'",
                    ));
                }
            }
        }
        Ok(ParticipantId { value })
    }

    /// A Norwegian organisation's participant (ICD 0192).
    pub fn norwegian(org: &OrgNumber) -> ParticipantId {
        ParticipantId {
            value: format!("{ICD_NORWEGIAN_ORG}:{}", org.as_str()),
        }
    }

    /// A Danish organisation's participant (ICD 0184, the CVR number).
    pub fn danish(cvr: &CvrNumber) -> ParticipantId {
        ParticipantId {
            value: format!("{ICD_DANISH_CVR}:{}", cvr.as_str()),
        }
    }

    /// `ICD:NUMBER`, e.g. `0192:923609016`.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn icd(&self) -> &str {
        &self.value[..4]
    }

    /// `iso6523-actorid-upis::0192:923609016`.
    pub fn full(&self) -> String {
        format!("{PARTICIPANT_SCHEME}::{}", self.value)
    }

    /// The host the SML publishes this participant under in `zone` (current scheme):
    /// base32 of SHA-256 of the lowercased value (ICD included, scheme not), without `=`
    /// padding, then `.iso6523-actorid-upis.` and the zone.
    pub fn sml_host(&self, zone: &str) -> String {
        let digest = Sha256::digest(self.value.as_bytes());
        format!(
            "{}.{PARTICIPANT_SCHEME}.{}",
            base32_unpadded(&digest),
            zone.trim_end_matches('.')
        )
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PARTICIPANT_SCHEME}::{}", self.value)
    }
}

/// RFC 4648 base32 (alphabet `A–Z2–7`) without padding.
fn base32_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "participant.sml.prod.tech.peppol.org";

    #[test]
    fn sml_host_matches_the_published_vectors() {
        // DOMAIN.md §8: a live Norwegian participant, and two vectors of the specification.
        for (value, label) in [
            (
                "0192:923609016",
                "XQK4T3FMTEZDUY5BOVJMTNAQ45N7E4TIBYHWFPGOT75BSP7UYG2A",
            ),
            (
                "0088:123abc",
                "Y7DZFXAF3D4CJZ4KCGRXTEC6TWVCGA4KY7ZWA5BOIF6MSWD4TDRQ",
            ),
            (
                "9915:test",
                "EH5BOAVAKTMBGZYH2A63DZ4QOV33FVP5NSDVQKLUCFRAAYOODW6A",
            ),
        ] {
            let participant = ParticipantId::parse(value).unwrap();
            assert_eq!(
                participant.sml_host(ZONE),
                format!("{label}.iso6523-actorid-upis.{ZONE}"),
                "{value}"
            );
            assert_eq!(label.len(), 52);
        }
    }

    #[test]
    fn the_hash_is_of_the_lowercased_value() {
        let upper = ParticipantId::parse("iso6523-actorid-upis::0088:123ABC").unwrap();
        assert_eq!(upper.value(), "0088:123abc");
        assert!(upper.sml_host(ZONE).starts_with("Y7DZFXAF3D4CJZ4K"));
        assert_eq!(
            ParticipantId::parse("0088:123abc")
                .unwrap()
                .sml_host("zone."),
            ParticipantId::parse("0088:123abc")
                .unwrap()
                .sml_host("zone"),
            "a trailing dot of the zone is not doubled"
        );
    }

    #[test]
    fn short_long_and_encoded_forms_parse_alike() {
        let short = ParticipantId::parse("0192:923609016").unwrap();
        let full = ParticipantId::parse("iso6523-actorid-upis::0192:923609016").unwrap();
        let encoded = ParticipantId::parse("iso6523-actorid-upis%3A%3A0192%3A923609016").unwrap();
        assert_eq!(short, full);
        assert_eq!(short, encoded);
        assert_eq!(short.full(), "iso6523-actorid-upis::0192:923609016");
        assert_eq!(short.icd(), "0192");
        let org = OrgNumber::parse("923609016").unwrap();
        assert_eq!(ParticipantId::norwegian(&org), short);
        let cvr = CvrNumber::parse("12345678").unwrap();
        assert_eq!(
            ParticipantId::danish(&cvr).full(),
            "iso6523-actorid-upis::0184:12345678"
        );
    }

    #[test]
    fn bad_identifiers_name_the_rule() {
        for (text, rule) in [
            ("0192:923609017", "mod-11"),
            ("0184:01234567", "does not start with 0"),
            (
                "busdox-actorid-upis::0192:923609016",
                "unknown identifier scheme",
            ),
            ("923609016", "ICD:NUMBER"),
            ("192:923609016", "four digits"),
            ("0088:", "letters, digits"),
            ("0088:a b", "letters, digits"),
            (
                "0088:123456789012345678901234567890123456789012345678",
                "at most 50",
            ),
        ] {
            let error = ParticipantId::parse(text).unwrap_err();
            assert_eq!(error.field, "participant");
            assert!(error.rule.contains(rule), "{text}: {}", error.rule);
        }
    }

    #[test]
    fn base32_pads_nothing_and_follows_rfc_4648() {
        // RFC 4648 §10 test vectors, padding removed.
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_unpadded(input.as_bytes()), expected);
        }
    }
}
