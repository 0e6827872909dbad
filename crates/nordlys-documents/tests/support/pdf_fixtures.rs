//! Documents the PDF tests and benchmark render: a Norwegian household with its chart and
//! capacity peaks, a business, a Danish credit note, an electricity-plus-broadband account and
//! a 300-line invoice. Amounts are chosen so the totals are easy to check by hand.
#![allow(dead_code)]

use jiff::civil::Date;
use rust_decimal::Decimal;

use nordlys_core::document::{
    DocumentKind, DocumentLine, Explanation, HourPeak, IssuedDocument, LineKind, LineUnit,
    NewDocument, VatCategory, document_totals,
};
use nordlys_core::ids::{CprNumber, CvrNumber, Gsrn, NationalId, OrgNumber};
use nordlys_core::kid::{KidAlgorithm, kid_for_document_number};
use nordlys_core::model::{Address, CustomerIdentity, Language, Utility};
use nordlys_core::quantity::Currency;
use nordlys_documents::{
    BankAccount, Branding, Buyer, Colour, CorrectedDocument, DailyUsage, DeliveryPoint,
    DocumentPurpose, InvoiceDocument, LocalisedText, PartyIdentity, Seller,
};

pub const LOGO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect x="0" y="0" width="40" height="40" rx="8" fill="#1a5fb4"/><circle cx="20" cy="20" r="10" fill="#f6d32d"/><rect x="48" y="14" width="68" height="12" rx="3" fill="#1a5fb4"/></svg>"##;

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn address(street: &str, postcode: &str, city: &str) -> Address {
    Address {
        street: street.into(),
        postcode: postcode.into(),
        city: city.into(),
        municipality: String::new(),
        county: String::new(),
    }
}

pub fn norwegian_seller() -> Seller {
    Seller {
        name: "Nordlys Energi AS".into(),
        identity: PartyIdentity::NorwegianOrganisation(OrgNumber::parse("923609016").unwrap()),
        vat_registered: true,
        in_foretaksregisteret: true,
        address: address("Kraftgata 1", "0150", "Oslo"),
        email: "kundeservice@nordlys.example".into(),
        phone: "22 00 00 00".into(),
        website: "nordlys.example".into(),
        bank_account: BankAccount::norwegian("1234.56.78903").unwrap(),
    }
}

pub fn danish_seller() -> Seller {
    Seller {
        name: "Nordlys Energi ApS".into(),
        identity: PartyIdentity::DanishOrganisation(CvrNumber::parse("25313763").unwrap()),
        vat_registered: true,
        in_foretaksregisteret: false,
        address: address("Strømvej 2", "2100", "København Ø"),
        email: "kunde@nordlys.example".into(),
        phone: "70 00 00 00".into(),
        website: "nordlys.example".into(),
        bank_account: BankAccount::iban("DK50 0040 0440 1162 43", Some("DABADKKK")).unwrap(),
    }
}

pub fn branding() -> Branding {
    Branding {
        logo_svg: Some(LOGO_SVG.into()),
        primary_colour: Colour::parse("#1a5fb4").unwrap(),
        accent_colour: Colour::parse("#e66100").unwrap(),
        sender_text: LocalisedText {
            nb: "Takk for at du er kunde hos oss!".into(),
            da: "Tak fordi du er kunde hos os!".into(),
            en: "Thank you for being our customer!".into(),
        },
        payment_terms: LocalisedText {
            nb: "Betaling innen forfall. Ved forsinket betaling påløper forsinkelsesrente.".into(),
            da: "Betaling senest på forfaldsdagen. Ved forsinket betaling tilskrives rente.".into(),
            en: "Payment by the due date. Late payment incurs interest.".into(),
        },
    }
}

pub struct LineSpec<'a> {
    pub contract: &'a str,
    pub kind: LineKind,
    pub description: &'a str,
    pub quantity: &'a str,
    pub unit: LineUnit,
    pub unit_price: &'a str,
    pub net: &'a str,
    pub explanation: Vec<Explanation>,
}

pub fn line(spec: LineSpec<'_>) -> DocumentLine {
    DocumentLine {
        contract_id: spec.contract.into(),
        kind: spec.kind,
        source: "fixture".into(),
        code: spec.kind.code().into(),
        description: spec.description.into(),
        from: Date::constant(2025, 1, 1),
        to: Date::constant(2025, 2, 1),
        quantity: d(spec.quantity),
        unit: spec.unit,
        unit_price: d(spec.unit_price),
        net: d(spec.net),
        vat_category: VatCategory::Standard,
        vat_percent: Decimal::from(25),
        explanation: spec.explanation,
    }
}

fn simple(
    contract: &str,
    kind: LineKind,
    description: &str,
    quantity: &str,
    unit: LineUnit,
    price: &str,
    net: &str,
) -> DocumentLine {
    line(LineSpec {
        contract,
        kind,
        description,
        quantity,
        unit,
        unit_price: price,
        net,
        explanation: Vec::new(),
    })
}

pub fn issued(kind: DocumentKind, number: i64, lines: Vec<DocumentLine>) -> IssuedDocument {
    let (net, vat, vat_total, gross) = document_totals(&lines);
    let credit = kind == DocumentKind::CreditNote;
    IssuedDocument {
        id: number,
        series: if credit { "K".into() } else { "F".into() },
        number,
        kid: if credit {
            None
        } else {
            Some(kid_for_document_number(number, KidAlgorithm::Mod10).unwrap())
        },
        document: NewDocument {
            kind,
            account_id: "A-1001".into(),
            period: "2025-01".into(),
            issue_date: Date::constant(2025, 2, 3),
            due_date: if credit {
                None
            } else {
                Some(Date::constant(2025, 2, 20))
            },
            currency: Currency::Nok,
            lines,
            vat,
            net,
            vat_total,
            gross,
            references: Vec::new(),
        },
    }
}

/// January 2025 day by day: a winter household's consumption and the area's spot price.
pub fn january_days() -> Vec<DailyUsage> {
    (1..=31)
        .map(|day| DailyUsage {
            date: Date::constant(2025, 1, day),
            energy_wh: 18_000 + i64::from(day % 7) * 3_100 + i64::from(day) * 150,
            spot_price_per_kwh: Some(
                Decimal::new(55, 2) + Decimal::new((i64::from(day) * 7) % 11, 2),
            ),
        })
        .collect()
}

pub fn electricity_point(contract: &str) -> DeliveryPoint {
    DeliveryPoint {
        metering_point_id: Some(Gsrn::parse("707057500000000124").unwrap()),
        label: "Strøm Spot, Nettleie".into(),
        utility: Some(Utility::Electricity),
        address: Some(address("Lillevegen 7", "7030", "Trondheim")),
        contract_ids: vec![contract.into()],
        daily: january_days(),
    }
}

/// The household's lines: net 1 200,00, VAT 300,00, gross 1 500,00.
pub fn household_lines(contract: &str) -> Vec<DocumentLine> {
    vec![
        simple(
            contract,
            LineKind::Spot,
            "Strøm, spotpris",
            "800",
            LineUnit::Kwh,
            "0.625",
            "500.00",
        ),
        simple(
            contract,
            LineKind::Energy,
            "Påslag",
            "800",
            LineUnit::Kwh,
            "0.025",
            "20.00",
        ),
        simple(
            contract,
            LineKind::Fixed,
            "Fastbeløp",
            "1",
            LineUnit::Month,
            "49",
            "49.00",
        ),
        simple(
            contract,
            LineKind::Energy,
            "Nettleie energiledd",
            "800",
            LineUnit::Kwh,
            "0.1875",
            "150.00",
        ),
        line(LineSpec {
            contract,
            kind: LineKind::Capacity,
            description: "Nettleie kapasitetsledd 5–10 kW",
            quantity: "1",
            unit: LineUnit::Month,
            unit_price: "415",
            net: "415.00",
            explanation: vec![Explanation::Peaks {
                peaks: vec![
                    HourPeak {
                        date: Date::constant(2025, 1, 8),
                        hour: 18,
                        energy_wh: 7_200,
                    },
                    HourPeak {
                        date: Date::constant(2025, 1, 15),
                        hour: 7,
                        energy_wh: 6_900,
                    },
                    HourPeak {
                        date: Date::constant(2025, 1, 22),
                        hour: 17,
                        energy_wh: 6_300,
                    },
                ],
                average_w: 6_800,
                step_from: Decimal::from(5),
                step_to: Some(Decimal::from(10)),
                threshold_inclusive: true,
            }],
        }),
        simple(
            contract,
            LineKind::Tax,
            "Elavgift",
            "800",
            LineUnit::Kwh,
            "0.125",
            "100.00",
        ),
        simple(
            contract,
            LineKind::Tax,
            "Enova-avgift",
            "800",
            LineUnit::Kwh,
            "0.01",
            "8.00",
        ),
        simple(
            contract,
            LineKind::Subsidy,
            "Strømstøtte",
            "100",
            LineUnit::Kwh,
            "-0.42",
            "-42.00",
        ),
    ]
}

fn household_buyer() -> Buyer {
    Buyer {
        name: "Kari Nordmann".into(),
        identity: CustomerIdentity::NorwegianPerson(NationalId::parse("01010112377").unwrap()),
        address: address("Lillevegen 7", "7030", "Trondheim"),
        email: "kari@example.org".into(),
        endpoint: None,
        buyer_reference: None,
        order_reference: None,
        customer_number: "A-1001".into(),
    }
}

/// A Norwegian household's January invoice F-1001: one metering point with its chart.
pub fn household(language: Language) -> InvoiceDocument {
    InvoiceDocument {
        document: issued(DocumentKind::Invoice, 1001, household_lines("C-1")),
        language,
        purpose: DocumentPurpose::Regular,
        seller: norwegian_seller(),
        buyer: household_buyer(),
        corrects: Vec::new(),
        correction_reason: None,
        vat_exemption_reason: None,
        delivery_points: vec![electricity_point("C-1")],
        branding: branding(),
    }
}

/// A Norwegian business with a buyer reference, in English.
pub fn business(language: Language) -> InvoiceDocument {
    let mut invoice = household(language);
    invoice.document = issued(DocumentKind::Invoice, 1002, household_lines("C-1"));
    invoice.buyer = Buyer {
        name: "Fjordkraft Bakeri AS".into(),
        identity: CustomerIdentity::NorwegianOrganisation(OrgNumber::parse("974760673").unwrap()),
        address: address("Bryggen 3", "5003", "Bergen"),
        email: "faktura@bakeri.example".into(),
        endpoint: None,
        buyer_reference: Some("PO-4711".into()),
        order_reference: Some("Avtale 2025-17".into()),
        customer_number: "B-2002".into(),
    };
    invoice
}

/// A Danish credit note K-77 reversing invoice F-12, with the reason.
pub fn credit_note(language: Language) -> InvoiceDocument {
    let lines: Vec<DocumentLine> = household_lines("C-9")
        .iter()
        .map(DocumentLine::negated)
        .collect();
    let mut document = issued(DocumentKind::CreditNote, 77, lines);
    document.document.references = vec![12];
    InvoiceDocument {
        document,
        language,
        purpose: DocumentPurpose::Correction,
        seller: danish_seller(),
        buyer: Buyer {
            name: "Jens Hansen".into(),
            identity: CustomerIdentity::DanishPerson(CprNumber::parse("0101901234").unwrap()),
            address: address("Nørregade 10", "1165", "København K"),
            email: "jens@example.dk".into(),
            endpoint: None,
            buyer_reference: None,
            order_reference: None,
            customer_number: "D-3003".into(),
        },
        corrects: vec![CorrectedDocument {
            number: "F-12".into(),
            issue_date: Date::constant(2025, 1, 31),
        }],
        vat_exemption_reason: None,
        correction_reason: Some(match language {
            Language::Da => "Netselskabet har rettet måleraflæsningerne".into(),
            Language::Nb => "Nettselskapet har rettet måleverdiene".into(),
            Language::En => "The grid company corrected the meter values".into(),
        }),
        delivery_points: vec![electricity_point("C-9")],
        branding: branding(),
    }
}

/// Electricity and broadband on one invoice: the broadband service has no metering point.
pub fn with_broadband(language: Language) -> InvoiceDocument {
    let mut lines = household_lines("C-1");
    lines.push(simple(
        "C-2",
        LineKind::Subscription,
        "Fiber 500/500",
        "1",
        LineUnit::Month,
        "479.20",
        "479.20",
    ));
    lines.push(simple(
        "C-2",
        LineKind::Fee,
        "Ruterleie",
        "1",
        LineUnit::Month,
        "40.80",
        "40.80",
    ));
    let mut invoice = household(language);
    invoice.document = issued(DocumentKind::Invoice, 1004, lines);
    invoice.delivery_points.push(DeliveryPoint {
        metering_point_id: None,
        label: "Bredbånd Fiber 500".into(),
        utility: None,
        address: Some(address("Lillevegen 7", "7030", "Trondheim")),
        contract_ids: vec!["C-2".into()],
        daily: Vec::new(),
    });
    invoice
}

/// A business with 300 lines (one per charge point and day): the table spans pages.
pub fn long_invoice(language: Language) -> InvoiceDocument {
    let lines = (1..=300)
        .map(|i| {
            simple(
                "C-1",
                LineKind::Usage,
                &format!("Ladepunkt {:03}, økter", i),
                &format!("{}", 10 + i % 17),
                LineUnit::Kwh,
                "2.5",
                // Quantity × 2.5, exact to the øre.
                &format!("{}", Decimal::from(10 + i % 17) * d("2.5")),
            )
        })
        .collect();
    let mut invoice = business(language);
    invoice.document = issued(DocumentKind::Invoice, 1005, lines);
    invoice
}
