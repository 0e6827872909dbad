//! Master data and market data: customers, accounts (payers), metering points, contracts,
//! meter readings with quality and versions (one by one, or a UTC day of them:
//! [`DayReadings`]), spot prices and exchange rates.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use crate::ParseError;
use crate::ids::{CprNumber, CvrNumber, Gln, Gsrn, NationalId, OrgNumber};
use crate::quantity::{Currency, EnergyWh, code_enum};
use crate::time::Resolution;

mod day_readings;
pub use day_readings::{DayReadings, MAX_SLOTS_PER_UTC_DAY};

code_enum!(
    /// The national market a metering point belongs to: Elhub (Norway) or DataHub (Denmark).
    Market, "market", { No => "NO", Dk => "DK" }
);

impl Market {
    /// IANA zone of the market's local time.
    pub fn time_zone_name(self) -> &'static str {
        match self {
            Market::No => "Europe/Oslo",
            Market::Dk => "Europe/Copenhagen",
        }
    }
    pub fn time_zone(self) -> TimeZone {
        // Both names are in the tz database that jiff bundles (feature tzdb-bundle-always).
        TimeZone::get(self.time_zone_name()).unwrap_or(TimeZone::UTC)
    }
    pub fn currency(self) -> Currency {
        match self {
            Market::No => Currency::Nok,
            Market::Dk => Currency::Dkk,
        }
    }
    /// GSRN prefix of metering points in this market.
    pub fn gsrn_prefix(self) -> &'static str {
        match self {
            Market::No => "707057500",
            Market::Dk => "57",
        }
    }
}

code_enum!(
    /// Day-ahead bidding zone (price area).
    PriceArea, "area", { No1 => "NO1", No2 => "NO2", No3 => "NO3", No4 => "NO4", No5 => "NO5", Dk1 => "DK1", Dk2 => "DK2", Se1 => "SE1", Se2 => "SE2", Se3 => "SE3", Se4 => "SE4" }
);

impl PriceArea {
    /// The market whose metering points can sit in this area (Swedish areas: none yet).
    pub fn market(self) -> Option<Market> {
        match self {
            PriceArea::No1 | PriceArea::No2 | PriceArea::No3 | PriceArea::No4 | PriceArea::No5 => {
                Some(Market::No)
            }
            PriceArea::Dk1 | PriceArea::Dk2 => Some(Market::Dk),
            _ => None,
        }
    }
}

code_enum!(
    /// Quality of a meter value as delivered by the datahub.
    Quality, "quality", { Measured => "measured", Estimated => "estimated", Missing => "missing", Corrected => "corrected" }
);

code_enum!(
    /// What a metering point measures. Non-metered services (broadband, TV…) have no metering point.
    Utility, "utility", { Electricity => "electricity", Gas => "gas", DistrictHeating => "district_heating" }
);

code_enum!(
    /// Household or business use: decides taxes, subsidies and VAT zones.
    UsageKind, "usage", { Household => "household", HolidayHome => "holiday_home", Business => "business" }
);

code_enum!(
    /// How an account receives its invoices.
    InvoiceChannel, "invoice_channel", { Ehf => "ehf", Email => "email", EFaktura => "efaktura", Paper => "paper" }
);

code_enum!(
    /// Language of documents and messages.
    Language, "language", { Nb => "nb", Da => "da", En => "en" }
);

code_enum!(
    /// The party a contract bills for.
    ContractRole, "role", { Supplier => "supplier", GridOwner => "grid_owner", ServiceProvider => "service_provider" }
);

code_enum!(
    /// Person or organisation.
    CustomerKind, "kind", { Person => "person", Organisation => "organisation" }
);

/// Customer id as the utility knows it (free text, 1–64 characters of `[A-Za-z0-9._-]`).
/// Used for customers, accounts and contracts alike; `field` tells which in errors.
pub fn parse_local_id(field: &'static str, value: &str) -> Result<String, ParseError> {
    if value.is_empty()
        || value.len() > 64
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(ParseError::new(
            field,
            value,
            "an id is 1–64 characters of letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(value.to_owned())
}

/// The legal identity of a customer, by kind and country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerIdentity {
    NorwegianPerson(NationalId),
    DanishPerson(CprNumber),
    NorwegianOrganisation(OrgNumber),
    DanishOrganisation(CvrNumber),
}

impl CustomerIdentity {
    pub fn parse(kind: CustomerKind, country: Market, value: &str) -> Result<Self, ParseError> {
        Ok(match (kind, country) {
            (CustomerKind::Person, Market::No) => {
                CustomerIdentity::NorwegianPerson(NationalId::parse(value)?)
            }
            (CustomerKind::Person, Market::Dk) => {
                CustomerIdentity::DanishPerson(CprNumber::parse(value)?)
            }
            (CustomerKind::Organisation, Market::No) => {
                CustomerIdentity::NorwegianOrganisation(OrgNumber::parse(value)?)
            }
            (CustomerKind::Organisation, Market::Dk) => {
                CustomerIdentity::DanishOrganisation(CvrNumber::parse(value)?)
            }
        })
    }
    pub fn kind(&self) -> CustomerKind {
        match self {
            CustomerIdentity::NorwegianPerson(_) | CustomerIdentity::DanishPerson(_) => {
                CustomerKind::Person
            }
            _ => CustomerKind::Organisation,
        }
    }
    pub fn country(&self) -> Market {
        match self {
            CustomerIdentity::NorwegianPerson(_) | CustomerIdentity::NorwegianOrganisation(_) => {
                Market::No
            }
            _ => Market::Dk,
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            CustomerIdentity::NorwegianPerson(v) => v.as_str(),
            CustomerIdentity::DanishPerson(v) => v.as_str(),
            CustomerIdentity::NorwegianOrganisation(v) => v.as_str(),
            CustomerIdentity::DanishOrganisation(v) => v.as_str(),
        }
    }
    /// True for identities that are personal data under GDPR (national id, CPR).
    pub fn is_personal(&self) -> bool {
        self.kind() == CustomerKind::Person
    }
}

/// A postal address. Municipality numbers decide tax zones (e.g. Finnmark and Nord-Troms).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// Norwegian kommunenummer (4 digits) or Danish kommunekode (3 digits); empty if unknown.
    pub municipality: String,
    pub county: String,
}

impl Address {
    /// Validate the postcode and municipality number for `country`.
    pub fn validate(&self, country: Market) -> Result<(), ParseError> {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !self.postcode.is_empty() && !digits(&self.postcode, 4) {
            return Err(ParseError::new(
                "postcode",
                &self.postcode,
                "a Norwegian or Danish postcode is 4 digits",
            ));
        }
        let municipality_len = if country == Market::No { 4 } else { 3 };
        if !self.municipality.is_empty() && !digits(&self.municipality, municipality_len) {
            return Err(ParseError::new(
                "municipality",
                &self.municipality,
                format!(
                    "a {} municipality number is {municipality_len} digits",
                    if country == Market::No {
                        "Norwegian"
                    } else {
                        "Danish"
                    }
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    pub identity: CustomerIdentity,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub address: Address,
}

/// The payer: who receives and pays invoices. May be another customer than the one served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    /// The customer whose account this is.
    pub customer_id: String,
    /// The customer who pays; the account's own customer unless someone else pays.
    pub payer_customer_id: String,
    pub invoice_channel: InvoiceChannel,
    pub language: Language,
    pub email: String,
    /// Invoice address if not the payer's own.
    pub invoice_address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteringPoint {
    pub metering_point_id: Gsrn,
    pub market: Market,
    pub price_area: PriceArea,
    pub grid_owner: Gln,
    pub resolution: Resolution,
    pub utility: Utility,
    pub usage: UsageKind,
    pub address: Address,
    /// Rated current of the main fuse in amperes, where a grid tariff prices by it
    /// (fri-nettleie `OV_TREFASE`, capacity `method = "main_fuse"`).
    pub main_fuse_amperes: Option<u32>,
    /// The day the point's Norgespris agreement took effect (ordered via Elhub; it follows the
    /// point), if it has one.
    pub norgespris_from: Option<Date>,
}

/// A main fuse size: a whole number of amperes from 1 to 10,000; empty means unknown.
pub fn parse_main_fuse_amperes(text: &str) -> Result<Option<u32>, ParseError> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(amperes) if (1..=10_000).contains(&amperes) => Ok(Some(amperes)),
        _ => Err(ParseError::new(
            "main_fuse_amperes",
            text,
            "a main fuse size is a whole number of amperes from 1 to 10000 (e.g. 25, 63)",
        )),
    }
}

impl MeteringPoint {
    /// Cross-field rules: GSRN prefix of the market, price area of the market, address format.
    pub fn validate(&self) -> Result<(), ParseError> {
        let prefix = self.market.gsrn_prefix();
        if !self.metering_point_id.as_str().starts_with(prefix) {
            return Err(ParseError::new(
                "metering_point_id",
                self.metering_point_id.as_str(),
                format!(
                    "metering points in market {} have GSRNs starting with {prefix}",
                    self.market
                ),
            ));
        }
        if self.price_area.market() != Some(self.market) {
            return Err(ParseError::new(
                "price_area",
                self.price_area.code(),
                format!("is not a price area of market {}", self.market),
            ));
        }
        self.address.validate(self.market)
    }
}

/// Account × metering point (or non-metered service) × product, for `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub contract_id: String,
    pub account_id: String,
    /// None for a non-metered service (broadband, TV, telephony…).
    pub metering_point_id: Option<Gsrn>,
    pub product_code: String,
    pub role: ContractRole,
    pub start: Date,
    /// Exclusive; None while the contract runs.
    pub end: Option<Date>,
}

impl Contract {
    pub fn validate(&self) -> Result<(), ParseError> {
        if let Some(end) = self.end
            && end <= self.start
        {
            return Err(ParseError::new(
                "end",
                end.to_string(),
                format!("must be after start {}", self.start),
            ));
        }
        if self.metering_point_id.is_none() && self.role != ContractRole::ServiceProvider {
            return Err(ParseError::new(
                "metering_point_id",
                "",
                format!(
                    "a {} contract needs a metering point; only service_provider contracts may have none",
                    self.role
                ),
            ));
        }
        Ok(())
    }

    /// Whether two contracts' date ranges share at least one day.
    pub fn overlaps(&self, other: &Contract) -> bool {
        let ends_after = |end: Option<Date>, start: Date| end.is_none_or(|e| e > start);
        ends_after(self.end, other.start) && ends_after(other.end, self.start)
    }
}

/// One meter value: energy in `[start, start + resolution)` with its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub start: Timestamp,
    pub energy: EnergyWh,
    pub quality: Quality,
}

/// A day-ahead price for one area and interval, normalised to per-MWh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotPrice {
    pub area: PriceArea,
    pub start: Timestamp,
    pub end: Timestamp,
    pub price_per_mwh: Decimal,
    pub currency: Currency,
}

/// Daily exchange rate: 1 `base` = `rate` `quote` (e.g. 1 EUR = 11.795 NOK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRate {
    pub date: Date,
    pub base: Currency,
    pub quote: Currency,
    pub rate: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn contract(start: Date, end: Option<Date>) -> Contract {
        Contract {
            contract_id: "c".into(),
            account_id: "a".into(),
            metering_point_id: None,
            product_code: "p".into(),
            role: ContractRole::ServiceProvider,
            start,
            end,
        }
    }

    #[test]
    fn contract_overlap_is_half_open() {
        let jan = contract(date(2025, 1, 1), Some(date(2025, 2, 1)));
        let feb = contract(date(2025, 2, 1), None);
        let mid = contract(date(2025, 1, 31), Some(date(2025, 2, 2)));
        assert!(!jan.overlaps(&feb));
        assert!(jan.overlaps(&mid) && feb.overlaps(&mid));
        assert!(feb.overlaps(&contract(date(2030, 1, 1), None)));
    }

    #[test]
    fn main_fuse_sizes() {
        assert_eq!(parse_main_fuse_amperes(""), Ok(None));
        assert_eq!(parse_main_fuse_amperes("63"), Ok(Some(63)));
        for bad in ["0", "-25", "25.5", "25A", "10001"] {
            let e = parse_main_fuse_amperes(bad).unwrap_err();
            assert_eq!(e.field, "main_fuse_amperes");
            assert!(e.rule.contains("whole number of amperes"), "{bad}: {e}");
        }
    }

    #[test]
    fn metering_point_cross_checks() {
        let mp = MeteringPoint {
            metering_point_id: Gsrn::from_body("70705750000000001").unwrap(),
            market: Market::No,
            price_area: PriceArea::Dk1,
            grid_owner: Gln::parse("7080005046220").unwrap(),
            resolution: Resolution::Pt60m,
            utility: Utility::Electricity,
            usage: UsageKind::Household,
            address: Address::default(),
            main_fuse_amperes: None,
            norgespris_from: None,
        };
        assert_eq!(
            mp.validate().unwrap_err().to_string(),
            "price_area \"DK1\": is not a price area of market NO"
        );
        let dk = MeteringPoint {
            market: Market::Dk,
            ..mp
        };
        assert!(dk.validate().unwrap_err().rule.contains("starting with 57"));
    }

    #[test]
    fn identity_by_kind_and_country() {
        let org =
            CustomerIdentity::parse(CustomerKind::Organisation, Market::No, "974760673").unwrap();
        assert!(!org.is_personal());
        let err =
            CustomerIdentity::parse(CustomerKind::Person, Market::No, "974760673").unwrap_err();
        assert_eq!(err.field, "national_id");
    }
}
