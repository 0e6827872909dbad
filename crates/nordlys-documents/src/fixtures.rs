//! Realistic documents of every kind Nordlys issues, built in code for the tests and
//! benchmarks of any renderer (EHF, PDF): a household, a business, a public-sector buyer, a
//! multi-product account, north-Norway zero-rated and Finnmark households, a Danish business,
//! a credit note, a difference document, a final settlement, a negative total and an invoice of
//! 300 lines. Tariffs follow DOMAIN.md (Elvia and BKK grid tariffs, forbruksavgift 2026, Enova,
//! strømstøtte, Danish tariffs); identifiers carry valid check digits; amounts are consistent
//! (lines × prices → nets → VAT → totals, by core's `document_totals`).
//!
//! Behind the cargo feature `fixtures` (the crate's own tests enable it).

use jiff::civil::{Date, date};
use rust_decimal::Decimal;

use nordlys_core::document::{
    DocumentKind, DocumentLine, IssuedDocument, NewDocument, document_totals, round_money,
};
use nordlys_core::document::{Explanation, LineKind, LineUnit, VatCategory};
use nordlys_core::ids::{CvrNumber, Gsrn, NationalId, OrgNumber};
use nordlys_core::kid::{KidAlgorithm, kid_for_document_number};
use nordlys_core::model::{Address, CustomerIdentity, Language, Utility};
use nordlys_core::quantity::Currency;

use crate::model::{
    BankAccount, Branding, Buyer, Colour, CorrectedDocument, DailyUsage, DeliveryPoint,
    DocumentPurpose, InvoiceDocument, LocalisedText, PartyIdentity, Seller,
};

/// The kinds of document the fixtures cover, one builder each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FixtureKind {
    Household,
    Business,
    PublicSector,
    MultiProduct,
    NorthNorwayZeroRated,
    FinnmarkExempt,
    DanishBusiness,
    CreditNote,
    Difference,
    FinalSettlement,
    NegativeTotal,
    ThreeHundredLines,
}

impl FixtureKind {
    pub const ALL: [FixtureKind; 12] = [
        FixtureKind::Household,
        FixtureKind::Business,
        FixtureKind::PublicSector,
        FixtureKind::MultiProduct,
        FixtureKind::NorthNorwayZeroRated,
        FixtureKind::FinnmarkExempt,
        FixtureKind::DanishBusiness,
        FixtureKind::CreditNote,
        FixtureKind::Difference,
        FixtureKind::FinalSettlement,
        FixtureKind::NegativeTotal,
        FixtureKind::ThreeHundredLines,
    ];

    /// A file-name-friendly name, `north-norway-zero-rated`.
    pub fn name(self) -> &'static str {
        match self {
            FixtureKind::Household => "household",
            FixtureKind::Business => "business",
            FixtureKind::PublicSector => "public-sector",
            FixtureKind::MultiProduct => "multi-product",
            FixtureKind::NorthNorwayZeroRated => "north-norway-zero-rated",
            FixtureKind::FinnmarkExempt => "finnmark-exempt",
            FixtureKind::DanishBusiness => "danish-business",
            FixtureKind::CreditNote => "credit-note",
            FixtureKind::Difference => "difference",
            FixtureKind::FinalSettlement => "final-settlement",
            FixtureKind::NegativeTotal => "negative-total",
            FixtureKind::ThreeHundredLines => "300-lines",
        }
    }

    pub fn build(self) -> InvoiceDocument {
        match self {
            FixtureKind::Household => household(),
            FixtureKind::Business => business(),
            FixtureKind::PublicSector => public_sector(),
            FixtureKind::MultiProduct => multi_product(),
            FixtureKind::NorthNorwayZeroRated => north_norway_zero_rated(),
            FixtureKind::FinnmarkExempt => finnmark_exempt(),
            FixtureKind::DanishBusiness => danish_business(),
            FixtureKind::CreditNote => credit_note(),
            FixtureKind::Difference => difference(),
            FixtureKind::FinalSettlement => final_settlement(),
            FixtureKind::NegativeTotal => negative_total(),
            FixtureKind::ThreeHundredLines => three_hundred_lines(),
        }
    }
}

/// Every fixture, in [`FixtureKind::ALL`] order.
pub fn all() -> Vec<(FixtureKind, InvoiceDocument)> {
    FixtureKind::ALL
        .iter()
        .map(|kind| (*kind, kind.build()))
        .collect()
}

/// The utility's registered Norwegian organisation number (valid MOD11).
pub const SELLER_ORG_NUMBER: &str = "931112228";
/// The fødselsnummer of the household fixtures: it must never appear in a rendering.
pub const HOUSEHOLD_NATIONAL_ID: &str = "01010112377";

const JANUARY: (Date, Date) = (date(2026, 1, 1), date(2026, 2, 1));
const ISSUE_DATE: Date = date(2026, 2, 3);
const DUE_DATE: Date = date(2026, 2, 17);
/// The issue date of the business invoice that the credit note and the difference correct.
const BUSINESS_INVOICE_ID: i64 = 2;
const BUSINESS_INVOICE_NUMBER: i64 = 1002;

fn dec(text: &str) -> Decimal {
    text.parse().expect("a fixture decimal")
}

/// VAT treatment of a fixture line.
#[derive(Clone, Copy)]
enum Vat {
    Standard,
    Zero,
    Exempt,
}

impl Vat {
    fn category(self) -> (&'static str, Decimal) {
        match self {
            Vat::Standard => ("S", Decimal::from(25)),
            Vat::Zero => ("Z", Decimal::ZERO),
            Vat::Exempt => ("E", Decimal::ZERO),
        }
    }
}

/// A line of January 2026 whose net is quantity × unit price rounded to øre.
#[allow(clippy::too_many_arguments)]
fn line(
    contract: &str,
    kind: &str,
    source: &str,
    code: &str,
    description: &str,
    quantity: Decimal,
    unit: &str,
    unit_price: &str,
    vat: Vat,
) -> DocumentLine {
    let unit_price = dec(unit_price);
    let (category, percent) = vat.category();
    DocumentLine {
        contract_id: contract.to_owned(),
        kind: LineKind::parse(kind).expect("a fixture's line kind"),
        source: source.to_owned(),
        code: code.to_owned(),
        description: description.to_owned(),
        from: JANUARY.0,
        to: JANUARY.1,
        quantity,
        unit: LineUnit::from_code(unit),
        unit_price,
        net: round_money(quantity * unit_price),
        vat_category: VatCategory::parse(category).expect("a fixture's VAT category"),
        vat_percent: percent,
        explanation: Vec::new(),
    }
}

fn explained(mut line: DocumentLine, explanation: &[&str]) -> DocumentLine {
    line.explanation = explanation
        .iter()
        .map(|text| Explanation::Note((*text).into()))
        .collect();
    line
}

fn until(mut line: DocumentLine, to: Date) -> DocumentLine {
    line.to = to;
    line
}

/// Daily consumption of a metering point from `from` (inclusive) to `to` (exclusive): a
/// deterministic winter pattern around `average_wh` a day, with a spot price per day.
fn daily(from: Date, to: Date, average_wh: i64, seed: i64) -> Vec<DailyUsage> {
    let mut days = Vec::new();
    let mut day = from;
    let mut n: i64 = 0;
    while day < to {
        let swing = ((n * 7 + seed * 13) % 11) - 5;
        days.push(DailyUsage {
            date: day,
            energy_wh: average_wh + swing * average_wh / 20,
            spot_price_per_kwh: Some(Decimal::new(8734 + swing * 311, 4)),
        });
        n += 1;
        day = day.tomorrow().unwrap_or(to);
    }
    days
}

/// kWh of a daily series, exact to the Wh.
fn kwh(days: &[DailyUsage]) -> Decimal {
    Decimal::new(days.iter().map(|d| d.energy_wh).sum(), 3)
}

// The identifiers below are constants of this module with valid check digits: a failure to
// parse one is a bug in the fixtures, not bad input.
fn gsrn(serial: u32) -> Gsrn {
    Gsrn::from_body(&format!("707057500{serial:08}")).expect("a 17-digit GSRN body")
}

fn danish_gsrn(serial: u32) -> Gsrn {
    Gsrn::from_body(&format!("571313180{serial:08}")).expect("a 17-digit GSRN body")
}

fn org(number: &str) -> OrgNumber {
    OrgNumber::parse(number).expect("a fixture organisation number with a valid check digit")
}

fn address(street: &str, postcode: &str, city: &str, municipality: &str, county: &str) -> Address {
    Address {
        street: street.to_owned(),
        postcode: postcode.to_owned(),
        city: city.to_owned(),
        municipality: municipality.to_owned(),
        county: county.to_owned(),
    }
}

fn branding() -> Branding {
    Branding {
        logo_svg: Some(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"32\"><rect width=\"32\" height=\"32\" fill=\"#1a5fb4\"/><text x=\"40\" y=\"22\">Nordlys</text></svg>"
                .to_owned(),
        ),
        primary_colour: Colour { red: 0x1a, green: 0x5f, blue: 0xb4 },
        accent_colour: Colour { red: 0xe5, green: 0xa5, blue: 0x0a },
        sender_text: LocalisedText {
            nb: "Takk for at du er kunde hos oss!".to_owned(),
            da: "Tak fordi du er kunde hos os!".to_owned(),
            en: "Thank you for being our customer!".to_owned(),
        },
        payment_terms: LocalisedText {
            nb: "Betaling innen 14 dager. Ved forsinket betaling beregnes forsinkelsesrente etter forsinkelsesrenteloven.".to_owned(),
            da: "Betaling senest 14 dage efter fakturadato. Ved for sen betaling beregnes morarente.".to_owned(),
            en: "Payment within 14 days. Late payment accrues interest under the Late Payment Interest Act.".to_owned(),
        },
    }
}

fn norwegian_seller() -> Seller {
    Seller {
        name: "Nordlys Energi AS".to_owned(),
        identity: PartyIdentity::NorwegianOrganisation(org(SELLER_ORG_NUMBER)),
        vat_registered: true,
        in_foretaksregisteret: true,
        address: address("Kraftverksgata 1", "7010", "Trondheim", "5001", "Trøndelag"),
        email: "kundeservice@nordlys-energi.no".to_owned(),
        phone: "+47 73 00 00 00".to_owned(),
        website: "https://nordlys-energi.no".to_owned(),
        bank_account: BankAccount::Norwegian("15031234562".to_owned()),
    }
}

fn danish_seller() -> Seller {
    Seller {
        name: "Nordlys Energi Danmark ApS".to_owned(),
        identity: PartyIdentity::DanishOrganisation(
            CvrNumber::parse("25313763").expect("a fixture CVR number"),
        ),
        vat_registered: true,
        in_foretaksregisteret: false,
        address: address(
            "Vesterbrogade 10",
            "1620",
            "København V",
            "101",
            "Hovedstaden",
        ),
        email: "kundeservice@nordlys-energi.dk".to_owned(),
        phone: "+45 70 00 00 00".to_owned(),
        website: "https://nordlys-energi.dk".to_owned(),
        bank_account: BankAccount::Iban {
            iban: "DK5000400440116243".to_owned(),
            bic: Some("DABADKKK".to_owned()),
        },
    }
}

fn household_buyer(name: &str, address: Address, account: &str) -> Buyer {
    Buyer {
        name: name.to_owned(),
        identity: CustomerIdentity::NorwegianPerson(
            NationalId::parse(HOUSEHOLD_NATIONAL_ID).expect("a fixture national id"),
        ),
        address,
        email: "kari.nordmann@example.no".to_owned(),
        endpoint: None,
        buyer_reference: None,
        order_reference: None,
        customer_number: account.to_owned(),
    }
}

fn organisation_buyer(
    name: &str,
    identity: PartyIdentity,
    address: Address,
    account: &str,
) -> Buyer {
    let customer_identity = match &identity {
        PartyIdentity::NorwegianOrganisation(org) => {
            CustomerIdentity::NorwegianOrganisation(org.clone())
        }
        PartyIdentity::DanishOrganisation(cvr) => CustomerIdentity::DanishOrganisation(cvr.clone()),
    };
    Buyer {
        name: name.to_owned(),
        endpoint: Some(identity.electronic_address()),
        identity: customer_identity,
        address,
        email: "faktura@example.no".to_owned(),
        buyer_reference: None,
        order_reference: None,
        customer_number: account.to_owned(),
    }
}

fn point(
    metering_point: Option<Gsrn>,
    label: &str,
    at: Option<Address>,
    contracts: &[&str],
    daily: Vec<DailyUsage>,
) -> DeliveryPoint {
    DeliveryPoint {
        utility: metering_point.as_ref().map(|_| Utility::Electricity),
        metering_point_id: metering_point,
        label: label.to_owned(),
        address: at,
        contract_ids: contracts.iter().map(|c| (*c).to_owned()).collect(),
        daily,
    }
}

/// A document of `lines` with totals computed as EN 16931 does, and a KID when it asks for payment.
#[allow(clippy::too_many_arguments)]
fn issued(
    id: i64,
    series: &str,
    number: i64,
    kind: DocumentKind,
    account: &str,
    currency: Currency,
    due_date: Option<Date>,
    lines: Vec<DocumentLine>,
    references: Vec<i64>,
) -> IssuedDocument {
    let (net, vat, vat_total, gross) = document_totals(&lines);
    let kid = due_date.and_then(|_| kid_for_document_number(number, KidAlgorithm::Mod10).ok());
    IssuedDocument {
        id,
        series: series.to_owned(),
        number,
        kid,
        document: NewDocument {
            kind,
            account_id: account.to_owned(),
            period: "2026-01".to_owned(),
            issue_date: ISSUE_DATE,
            due_date,
            currency,
            lines,
            vat,
            net,
            vat_total,
            gross,
            references,
        },
    }
}

fn invoice(
    id: i64,
    number: i64,
    account: &str,
    lines: Vec<DocumentLine>,
    seller: Seller,
    buyer: Buyer,
    delivery_points: Vec<DeliveryPoint>,
) -> InvoiceDocument {
    InvoiceDocument {
        document: issued(
            id,
            "F",
            number,
            DocumentKind::Invoice,
            account,
            Currency::Nok,
            Some(DUE_DATE),
            lines,
            Vec::new(),
        ),
        language: Language::Nb,
        purpose: DocumentPurpose::Regular,
        seller,
        buyer,
        corrects: Vec::new(),
        correction_reason: None,
        vat_exemption_reason: None,
        delivery_points,
        branding: branding(),
    }
}

mod regular;
mod special;
use regular::*;
use special::*;
