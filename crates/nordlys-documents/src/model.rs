//! The document model: everything an EHF or a PDF rendering of one issued document needs —
//! the issued document itself (core's [`IssuedDocument`]: lines, VAT, totals, number, KID),
//! the parties, the payment details, what it corrects, the delivery points with their daily
//! consumption, and the issuer's white-label branding. The app assembles it from the store;
//! renderers only read it.
//!
//! Amounts follow core's sign convention (a credit note's lines are stored negated); renderers
//! turn them into the signs their format wants (a credit note shows positive amounts).

use jiff::civil::Date;
use rust_decimal::Decimal;

use nordlys_core::ParseError;
use nordlys_core::document::IssuedDocument;
use nordlys_core::ids::{CvrNumber, Gsrn, OrgNumber};
use nordlys_core::model::{Address, CustomerIdentity, Language, Market, Utility};

/// One issued document with everything needed to render it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    pub document: IssuedDocument,
    /// The language the buyer reads (the account's).
    pub language: Language,
    pub purpose: DocumentPurpose,
    pub seller: Seller,
    pub buyer: Buyer,
    /// The documents this one corrects, in the order of `document.references`.
    pub corrects: Vec<CorrectedDocument>,
    /// Why a correction was issued (e.g. "meter values corrected by the grid owner"), in the
    /// buyer's language; `None` for a first invoice.
    pub correction_reason: Option<String>,
    /// Why lines of VAT category E (exempt) carry no VAT, as the law gives it (EN 16931 BT-120,
    /// rule BR-E-10), e.g. "Unntatt fra merverdiavgift, jf. merverdiavgiftsloven § 3-6"; required
    /// when a line is exempt, else `None`.
    pub vat_exemption_reason: Option<String>,
    /// The metering points and services the lines settle; every line's `contract_id` is in
    /// exactly one of them.
    pub delivery_points: Vec<DeliveryPoint>,
    pub branding: Branding,
}

impl InvoiceDocument {
    /// The delivery point a line's contract belongs to.
    pub fn delivery_point_of(&self, contract_id: &str) -> Option<&DeliveryPoint> {
        self.delivery_points
            .iter()
            .find(|point| point.contract_ids.iter().any(|c| c == contract_id))
    }
}

/// Why the document was issued; decides titles and notes, not amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentPurpose {
    /// The first invoice of a period.
    Regular,
    /// A credit note reversing earlier documents, or the invoice reissued after one.
    Correction,
    /// One document carrying only the difference to what was invoiced before.
    Difference,
    /// The last invoice of an account after move-out (its contracts have ended).
    FinalSettlement,
}

/// A document this one corrects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectedDocument {
    /// Its number as printed, `F-12`.
    pub number: String,
    pub issue_date: Date,
}

/// The legal identity of an organisation that issues or receives documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyIdentity {
    NorwegianOrganisation(OrgNumber),
    DanishOrganisation(CvrNumber),
}

impl PartyIdentity {
    pub fn country(&self) -> Market {
        match self {
            PartyIdentity::NorwegianOrganisation(_) => Market::No,
            PartyIdentity::DanishOrganisation(_) => Market::Dk,
        }
    }

    /// The registry number as registered (9 digits in Norway, 8 in Denmark).
    pub fn number(&self) -> &str {
        match self {
            PartyIdentity::NorwegianOrganisation(org) => org.as_str(),
            PartyIdentity::DanishOrganisation(cvr) => cvr.as_str(),
        }
    }

    /// The Peppol electronic address of this registry number: ICD 0192 (Norwegian
    /// organisation number) or 0184 (Danish CVR).
    pub fn electronic_address(&self) -> ElectronicAddress {
        let scheme = match self {
            PartyIdentity::NorwegianOrganisation(_) => "0192",
            PartyIdentity::DanishOrganisation(_) => "0184",
        };
        ElectronicAddress {
            scheme: scheme.to_owned(),
            id: self.number().to_owned(),
        }
    }

    /// The organisation of a customer identity; `None` for a person.
    pub fn of_customer(identity: &CustomerIdentity) -> Option<PartyIdentity> {
        match identity {
            CustomerIdentity::NorwegianOrganisation(org) => {
                Some(PartyIdentity::NorwegianOrganisation(org.clone()))
            }
            CustomerIdentity::DanishOrganisation(cvr) => {
                Some(PartyIdentity::DanishOrganisation(cvr.clone()))
            }
            CustomerIdentity::NorwegianPerson(_) | CustomerIdentity::DanishPerson(_) => None,
        }
    }
}

/// A Peppol endpoint: electronic address scheme (ISO 6523 ICD, e.g. `0192`) and identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectronicAddress {
    pub scheme: String,
    pub id: String,
}

/// The issuer of the document: the utility (or the part of it that serves this market).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub name: String,
    pub identity: PartyIdentity,
    /// Registered for VAT (Norway: "MVA" after the organisation number, `NO…MVA` as VAT id).
    pub vat_registered: bool,
    /// Registered in Foretaksregisteret (Norway; printed beside the organisation number and
    /// given as `PartyTaxScheme/CompanyID` in EHF, rule NO-R-002).
    pub in_foretaksregisteret: bool,
    pub address: Address,
    pub email: String,
    pub phone: String,
    pub website: String,
    /// Where payments go; printed in the payment area and given as payment means 30 in EHF.
    pub bank_account: BankAccount,
}

impl Seller {
    pub fn country(&self) -> Market {
        self.identity.country()
    }

    /// The seller's VAT identifier: `NO` + organisation number + `MVA` in Norway, `DK` + CVR
    /// in Denmark; `None` when not VAT registered.
    pub fn vat_id(&self) -> Option<String> {
        if !self.vat_registered {
            return None;
        }
        Some(match &self.identity {
            PartyIdentity::NorwegianOrganisation(org) => format!("NO{}MVA", org.as_str()),
            PartyIdentity::DanishOrganisation(cvr) => format!("DK{}", cvr.as_str()),
        })
    }
}

/// Who receives and pays the document (the account's payer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    pub name: String,
    pub identity: CustomerIdentity,
    /// The invoice address: the account's own, else the payer's.
    pub address: Address,
    pub email: String,
    /// The buyer's Peppol endpoint, where it receives EHF; `None` for households and for
    /// organisations not registered in Peppol.
    pub endpoint: Option<ElectronicAddress>,
    /// The buyer's reference (BT-10, "Deres ref."); public-sector buyers require one.
    pub buyer_reference: Option<String>,
    /// The buyer's order or contract reference (BT-13), where it gave one.
    pub order_reference: Option<String>,
    /// The utility's customer number for the buyer (the account id), printed on the document.
    pub customer_number: String,
}

impl Buyer {
    pub fn country(&self) -> Market {
        self.identity.country()
    }

    /// The organisation, if the buyer is one.
    pub fn organisation(&self) -> Option<PartyIdentity> {
        PartyIdentity::of_customer(&self.identity)
    }
}

/// A bank account payments are made to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankAccount {
    /// A Norwegian account number, 11 digits with a MOD11 check digit (printed `1234.56.78903`).
    Norwegian(String),
    /// An IBAN with the bank's BIC where known (Denmark, or Norway for foreign payers).
    Iban { iban: String, bic: Option<String> },
}

impl BankAccount {
    /// A Norwegian account number: 11 digits (dots and spaces allowed), MOD11 check digit
    /// with weights 5,4,3,2,7,6,5,4,3,2.
    pub fn norwegian(text: &str) -> Result<Self, ParseError> {
        let digits: String = text.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
        let rule = "a Norwegian account number is 11 digits whose last is the MOD11 check digit";
        if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("bank_account", text, rule));
        }
        const WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
        let bytes = digits.as_bytes();
        let sum: u32 = WEIGHTS
            .iter()
            .zip(bytes)
            .map(|(weight, digit)| weight * u32::from(digit - b'0'))
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(ParseError::new("bank_account", text, rule)),
            check => check,
        };
        if u32::from(bytes[10] - b'0') != check {
            return Err(ParseError::new("bank_account", text, rule));
        }
        Ok(BankAccount::Norwegian(digits))
    }

    /// An IBAN: country code, check digits and up to 30 letters or digits (spaces allowed),
    /// ISO 13616 MOD 97-10.
    pub fn iban(text: &str, bic: Option<&str>) -> Result<Self, ParseError> {
        let iban: String = text
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let rule = "an IBAN is 2 letters, 2 check digits and up to 30 letters or digits, MOD 97-10";
        let well_formed = (5..=34).contains(&iban.len())
            && iban.bytes().all(|b| b.is_ascii_alphanumeric())
            && iban.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
            && iban.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
        if !well_formed {
            return Err(ParseError::new("bank_account", text, rule));
        }
        let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
        let mut remainder: u32 = 0;
        for byte in rearranged {
            let value = if byte.is_ascii_digit() {
                u32::from(byte - b'0')
            } else {
                u32::from(byte - b'A') + 10
            };
            let factor = if value >= 10 { 100 } else { 10 };
            remainder = (remainder * factor + value) % 97;
        }
        if remainder != 1 {
            return Err(ParseError::new("bank_account", text, rule));
        }
        Ok(BankAccount::Iban {
            iban,
            bic: bic.map(str::to_owned),
        })
    }

    /// The account as given to a payment system (digits, or the IBAN without spaces).
    pub fn id(&self) -> &str {
        match self {
            BankAccount::Norwegian(number) => number,
            BankAccount::Iban { iban, .. } => iban,
        }
    }
}

/// A metering point (or a non-metered service) the document settles, with its consumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPoint {
    /// `None` for a non-metered service (broadband, TV, telephony).
    pub metering_point_id: Option<Gsrn>,
    /// What the customer calls it: the product or service names, e.g. "Strøm Spot, Nettleie".
    pub label: String,
    pub utility: Option<Utility>,
    /// Where it is delivered (the metering point's address).
    pub address: Option<Address>,
    /// The contracts whose lines belong here.
    pub contract_ids: Vec<String>,
    /// Consumption per local day of the billing period (empty for a service), with the day's
    /// average spot price where the point has one.
    pub daily: Vec<DailyUsage>,
}

/// One local day's consumption at a delivery point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyUsage {
    pub date: Date,
    pub energy_wh: i64,
    /// The day's average area spot price in the document's currency per kWh, excluding VAT.
    pub spot_price_per_kwh: Option<Decimal>,
}

/// A text the issuer gives in each language it serves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalisedText {
    pub nb: String,
    pub da: String,
    pub en: String,
}

impl LocalisedText {
    /// The text in `language`; the English text where that one is empty.
    pub fn get(&self, language: Language) -> &str {
        let text = match language {
            Language::Nb => &self.nb,
            Language::Da => &self.da,
            Language::En => &self.en,
        };
        if text.is_empty() { &self.en } else { text }
    }
}

/// An sRGB colour, `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    pub red: u8,
    pub green: u8,
    pub blue: u8,
}

impl Colour {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let rule = "a colour is written #rrggbb in hexadecimal, e.g. #1a5fb4";
        let hex = text
            .strip_prefix('#')
            .filter(|hex| hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| ParseError::new("colour", text, rule))?;
        let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).unwrap_or(0);
        Ok(Colour {
            red: channel(0),
            green: channel(2),
            blue: channel(4),
        })
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.red, self.green, self.blue)
    }
}

/// The issuer's white-label look and words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// The logo as an SVG document, drawn at the top of page 1.
    pub logo_svg: Option<String>,
    /// Headings, the payment area's frame, chart bars.
    pub primary_colour: Colour,
    /// Highlights and the spot-price line of the chart.
    pub accent_colour: Colour,
    /// A greeting or message printed on page 1 (may be empty).
    pub sender_text: LocalisedText,
    /// Payment terms as printed, e.g. "Betaling innen 14 dager. Ved forsinket betaling …".
    pub payment_terms: LocalisedText,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_account_numbers_are_checked_by_mod11() {
        assert_eq!(
            BankAccount::norwegian("1234.56.78903").map(|a| a.id().to_owned()),
            Ok("12345678903".to_owned())
        );
        let error = BankAccount::norwegian("1234.56.78904").unwrap_err();
        assert!(error.to_string().contains("MOD11"), "{error}");
        assert!(BankAccount::norwegian("1234567890").is_err());
    }

    #[test]
    fn ibans_are_checked_by_mod97() {
        let account = BankAccount::iban("NO93 8601 1117 947", Some("DNBANOKK")).unwrap();
        assert_eq!(account.id(), "NO9386011117947");
        assert!(BankAccount::iban("NO93 8601 1117 948", None).is_err());
        assert!(BankAccount::iban("DK50 0040 0440 1162 43", None).is_ok());
    }

    #[test]
    fn colours_round_trip_and_bad_ones_are_named() {
        assert_eq!(Colour::parse("#1A5fb4").unwrap().hex(), "#1a5fb4");
        let error = Colour::parse("blue").unwrap_err();
        assert!(error.to_string().contains("#rrggbb"), "{error}");
    }

    #[test]
    fn localised_text_falls_back_to_english() {
        let text = LocalisedText {
            nb: "Hei".into(),
            da: String::new(),
            en: "Hello".into(),
        };
        assert_eq!(text.get(Language::Nb), "Hei");
        assert_eq!(text.get(Language::Da), "Hello");
    }

    #[test]
    fn electronic_addresses_use_the_registry_scheme() {
        let org = OrgNumber::parse("923609016").unwrap();
        let address = PartyIdentity::NorwegianOrganisation(org).electronic_address();
        assert_eq!(
            (address.scheme.as_str(), address.id.as_str()),
            ("0192", "923609016")
        );
    }
}
