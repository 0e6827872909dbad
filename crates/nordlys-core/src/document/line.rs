//! The typed vocabulary of a document line: what it charges for ([`LineKind`]), its EN 16931
//! VAT category ([`VatCategory`]) and the unit of its quantity ([`LineUnit`]) with the UN/ECE
//! Recommendation 20 code that UBL's `unitCode` carries.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::quantity::code_enum;

code_enum!(
    /// What a line charges for.
    LineKind, "kind", {
        /// A fixed amount per month or day (a subscription fee of a grid tariff).
        Fixed => "fixed",
        /// Energy at a fixed or time-of-use price.
        Energy => "energy",
        /// Energy at the spot price of its area (with factor and markup).
        Spot => "spot",
        /// A capacity step chosen by peaks or by the main fuse.
        Capacity => "capacity",
        /// Demand: the highest power in a month or a time-of-use period.
        Demand => "demand",
        /// A statutory tax or levy.
        Tax => "tax",
        /// A subsidy or price hedge (negative amounts).
        Subsidy => "subsidy",
        /// A product's subscription.
        Subscription => "subscription",
        /// A one-off fee or a minimum charge's top-up.
        Fee => "fee",
        /// A service priced per unit of a quantity given as input.
        Usage => "usage",
    }
);

code_enum!(
    /// EN 16931 VAT category of a line (code list UNCL5305 as EN 16931 restricts it; BT-151).
    /// The rating engine produces the first three; the others are for documents whose lines
    /// come from elsewhere (a business customer abroad, an export). EN 16931's L, M and B
    /// (Canary Islands, Ceuta and Melilla, Italian split payment) are not Nordic and not here.
    ///
    /// The declaration order (S, Z, E first) is the order totals list their VAT groups in.
    VatCategory, "vat_category", {
        /// Standard rate (S).
        Standard => "S",
        /// Zero-rated (Z).
        Zero => "Z",
        /// Exempt from VAT (E).
        Exempt => "E",
        /// VAT reverse charge: the buyer accounts for it (AE).
        ReverseCharge => "AE",
        /// Intra-community supply in the EEA, VAT exempt (K).
        IntraCommunity => "K",
        /// Free export item, VAT not charged (G).
        Export => "G",
        /// Services outside the scope of tax (O).
        OutsideScope => "O",
    }
);

/// The unit of a line's quantity.
///
/// Each unit has two codes: [`code`](LineUnit::code), ours, which documents and the API show
/// (`kWh`, `kW`, `month`, `day`, `hour`, `piece`, or a usage service's own unit), and
/// [`un_ece_code`](LineUnit::un_ece_code), the UN/ECE Recommendation 20 code for UBL's
/// `unitCode` (BT-130), from the code list EN 16931 and Peppol accept (rule BR-CL-23).
///
/// Two units are equal when their codes are: `Other("hour")` is [`LineUnit::Hour`]. Build one
/// from a code with [`LineUnit::from_code`], which gives the named variant where there is one.
#[derive(Debug, Clone)]
pub enum LineUnit {
    Kwh,
    Kw,
    Month,
    Day,
    Hour,
    /// One charge (a one-off fee, a minimum charge's top-up).
    Piece,
    /// A usage service's own unit, as its product names it (e.g. `m3`, `visit`).
    Other(Arc<str>),
}

impl LineUnit {
    /// Our code, as documents and the API show it.
    pub fn code(&self) -> &str {
        match self {
            LineUnit::Kwh => "kWh",
            LineUnit::Kw => "kW",
            LineUnit::Month => "month",
            LineUnit::Day => "day",
            LineUnit::Hour => "hour",
            LineUnit::Piece => "piece",
            LineUnit::Other(unit) => unit,
        }
    }

    /// The unit our `code` names: a named variant for `kWh`, `kW`, `month`, `day`, `hour` and
    /// `piece` (exactly as [`code`](LineUnit::code) spells them), else [`LineUnit::Other`].
    /// The inverse of `code`; every text is some unit.
    pub fn from_code(code: &str) -> LineUnit {
        match code {
            "kWh" => LineUnit::Kwh,
            "kW" => LineUnit::Kw,
            "month" => LineUnit::Month,
            "day" => LineUnit::Day,
            "hour" => LineUnit::Hour,
            "piece" => LineUnit::Piece,
            other => LineUnit::Other(Arc::from(other)),
        }
    }

    /// The UN/ECE Recommendation 20 code for UBL's `unitCode`: `KWH`, `KWT`, `MON`, `DAY`,
    /// `HUR`, and `C62` ("one") for a piece — our pieces are charges counted one by one, not
    /// goods, which `H87` ("piece") would say.
    ///
    /// A usage service's own unit is looked up by its name, ignoring case and a plural `s`:
    /// kWh `KWH`, MWh `MWH`, kW `KWT`, minute/min `MIN`, hour/h `HUR`, day `DAY`, week `WEE`,
    /// month `MON`, year `ANN`, piece/pcs `C62`, m3/m³ `MTQ`, litre/liter/l `LTR`, kg `KGM`,
    /// km `KMT`. **Any other unit is `ZZ`** ("mutually defined"): the document then names the
    /// unit only by its text (our code), and no code claims a unit — a count of pieces, say —
    /// that the service did not name.
    pub fn un_ece_code(&self) -> &'static str {
        match self {
            LineUnit::Kwh => "KWH",
            LineUnit::Kw => "KWT",
            LineUnit::Month => "MON",
            LineUnit::Day => "DAY",
            LineUnit::Hour => "HUR",
            LineUnit::Piece => "C62",
            LineUnit::Other(unit) => usage_unit_code(unit),
        }
    }
}

/// See [`LineUnit::un_ece_code`].
fn usage_unit_code(unit: &str) -> &'static str {
    let unit = unit.trim().to_lowercase();
    let singular = match unit.strip_suffix('s') {
        Some(stem) if stem.len() > 1 => stem,
        _ => unit.as_str(),
    };
    let code = |name: &str| match name {
        "kwh" => Some("KWH"),
        "mwh" => Some("MWH"),
        "kw" => Some("KWT"),
        "minute" | "min" => Some("MIN"),
        "hour" | "h" => Some("HUR"),
        "day" => Some("DAY"),
        "week" => Some("WEE"),
        "month" => Some("MON"),
        "year" => Some("ANN"),
        "piece" | "pc" | "pcs" => Some("C62"),
        "m3" | "m³" => Some("MTQ"),
        "litre" | "liter" | "l" => Some("LTR"),
        "kg" => Some("KGM"),
        "km" => Some("KMT"),
        _ => None,
    };
    code(&unit).or_else(|| code(singular)).unwrap_or("ZZ")
}

impl PartialEq for LineUnit {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl Eq for LineUnit {}

impl Hash for LineUnit {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.code().hash(state);
    }
}

impl PartialOrd for LineUnit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LineUnit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.code().cmp(other.code())
    }
}

impl std::fmt::Display for LineUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_has_our_code_and_a_un_ece_code() {
        let cases = [
            (LineUnit::Kwh, "kWh", "KWH"),
            (LineUnit::Kw, "kW", "KWT"),
            (LineUnit::Month, "month", "MON"),
            (LineUnit::Day, "day", "DAY"),
            (LineUnit::Hour, "hour", "HUR"),
            (LineUnit::Piece, "piece", "C62"),
        ];
        for (unit, code, un_ece) in cases {
            assert_eq!(unit.code(), code);
            assert_eq!(unit.un_ece_code(), un_ece, "{code}");
            assert_eq!(LineUnit::from_code(code), unit);
            assert!(!matches!(LineUnit::from_code(code), LineUnit::Other(_)));
        }
    }

    #[test]
    fn a_usage_unit_is_looked_up_by_name_and_an_unknown_one_is_mutually_defined() {
        let other = |text: &str| LineUnit::Other(Arc::from(text));
        for (text, code) in [
            ("Hours", "HUR"),
            ("h", "HUR"),
            ("m3", "MTQ"),
            ("m³", "MTQ"),
            ("litres", "LTR"),
            ("kWh", "KWH"),
            ("weeks", "WEE"),
            ("visit", "ZZ"),
            ("call-out", "ZZ"),
            ("", "ZZ"),
        ] {
            assert_eq!(other(text).un_ece_code(), code, "{text:?}");
        }
        // A usage unit spelt as one of ours is that unit, whichever way it was built.
        assert_eq!(other("hour"), LineUnit::Hour);
        assert_eq!(other("hour").un_ece_code(), "HUR");
        assert_ne!(other("Hour"), LineUnit::Hour, "our codes are exact");
    }

    #[test]
    fn vat_categories_have_their_en_16931_codes() {
        let codes: Vec<&str> = VatCategory::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, ["S", "Z", "E", "AE", "K", "G", "O"]);
        for category in VatCategory::ALL {
            assert_eq!(VatCategory::parse(category.code()), Ok(*category));
        }
        let error = VatCategory::parse("X").unwrap_err();
        assert_eq!(error.field, "vat_category");
        assert!(error.rule.contains("S, Z, E, AE, K, G, O"), "{error}");
    }

    #[test]
    fn line_kinds_parse_from_their_codes() {
        for kind in LineKind::ALL {
            assert_eq!(LineKind::parse(kind.code()), Ok(*kind));
        }
        assert_eq!(LineKind::parse("energy"), Ok(LineKind::Energy));
        assert!(LineKind::parse("Energy").is_err());
    }
}
