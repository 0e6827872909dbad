//! The code lists the UBL rendering maps Nordlys values to: UN/ECE Recommendation 20 unit
//! codes (BR-CL-23), the VAT categories Nordlys issues (UNCL 5305 S, Z, E), document type codes
//! (UNTDID 1001: 380 invoice, 381 credit note) and payment means (UNCL 4461).

use nordlys_core::document::{DocumentKind, LineUnit};
use nordlys_core::model::Market;

/// The UN/ECE Recommendation 20 code of a line's unit (BT-130): core's typed unit gives it
/// (`ZZ`, mutually defined, for a usage service's unit without a code of its own).
pub fn unit_code(unit: &LineUnit) -> &'static str {
    unit.un_ece_code()
}

/// A VAT category Nordlys puts on lines, by its UNCL 5305 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VatCategoryCode {
    /// S: standard rated; the rate is above zero (BR-S-05).
    Standard,
    /// Z: zero rated, e.g. household electricity in Nordland, Troms and Finnmark (mval. § 6-6);
    /// the rate is 0 (BR-Z-05).
    Zero,
    /// E: exempt; the rate is 0 (BR-E-05) and the breakdown gives the reason (BR-E-10).
    Exempt,
}

impl VatCategoryCode {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "S" => Some(VatCategoryCode::Standard),
            "Z" => Some(VatCategoryCode::Zero),
            "E" => Some(VatCategoryCode::Exempt),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            VatCategoryCode::Standard => "S",
            VatCategoryCode::Zero => "Z",
            VatCategoryCode::Exempt => "E",
        }
    }

    /// The rule a rate of this category breaks, if `percent_is_zero` contradicts it.
    pub fn rate_rule(self, percent_is_zero: bool) -> Option<&'static str> {
        match (self, percent_is_zero) {
            (VatCategoryCode::Standard, true) => {
                Some("BR-S-05: a standard-rated line has a rate above 0")
            }
            (VatCategoryCode::Zero, false) => Some("BR-Z-05: a zero-rated line has rate 0"),
            (VatCategoryCode::Exempt, false) => Some("BR-E-05: an exempt line has rate 0"),
            _ => None,
        }
    }
}

/// UNTDID 1001: 380 commercial invoice, 381 credit note.
pub fn type_code(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Invoice => "380",
        DocumentKind::CreditNote => "381",
    }
}

/// UNCL 4461 payment means: 30 (credit transfer) with the KID as payment id; between a
/// Danish seller and a Danish buyer 42 (payment to bank account), as DK-R-005 allows no 30.
pub fn payment_means_code(seller: Market, buyer: Market) -> &'static str {
    if seller == Market::Dk && buyer == Market::Dk {
        "42"
    } else {
        "30"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_units_have_un_ece_codes() {
        for (unit, code) in [
            ("kWh", "KWH"),
            ("kW", "KWT"),
            ("month", "MON"),
            ("day", "DAY"),
            ("hour", "HUR"),
            ("piece", "C62"),
        ] {
            assert_eq!(unit_code(&LineUnit::from_code(unit)), code, "{unit}");
        }
        assert_eq!(unit_code(&LineUnit::from_code("furlong")), "ZZ");
    }

    #[test]
    fn category_rates_follow_the_category_rules() {
        assert!(VatCategoryCode::Standard.rate_rule(true).is_some());
        assert!(VatCategoryCode::Standard.rate_rule(false).is_none());
        assert!(
            VatCategoryCode::Zero
                .rate_rule(false)
                .unwrap()
                .starts_with("BR-Z-05")
        );
        assert!(VatCategoryCode::Exempt.rate_rule(true).is_none());
        assert_eq!(VatCategoryCode::parse("AE"), None);
    }

    #[test]
    fn danish_domestic_documents_pay_to_a_bank_account() {
        assert_eq!(payment_means_code(Market::Dk, Market::Dk), "42");
        assert_eq!(payment_means_code(Market::No, Market::Dk), "30");
        assert_eq!(payment_means_code(Market::No, Market::No), "30");
    }
}
