//! The demo's master data: the products it sells, and customers in weighted places of both
//! markets with accounts, metering points, supplier and grid contracts, and for Norwegian
//! businesses a broadband service with monthly consulting hours. Identities are synthetic
//! (valid check digits in test ranges).

use jiff::ToSpan;
use jiff::civil::Date;
use nordlys_core::ids::{Gln, Gsrn, OrgNumber};
use nordlys_core::model::{
    Account, Address, Contract, ContractRole, Customer, CustomerIdentity, CustomerKind,
    InvoiceChannel, Language, Market, MeteringPoint, PriceArea, UsageKind, Utility,
};
use nordlys_core::time::Resolution;
use nordlys_store::{ImportCounts, StoreError, StoreTx};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::{DemoBuild, DemoPoint};
use crate::products::{DEFAULT_URDB_TIME_ZONE, ProductFormat, parse_product_file};

/// A place customers live in: municipality, price area, grid owner.
struct Place {
    market: Market,
    area: PriceArea,
    city: &'static str,
    postcode: &'static str,
    municipality: &'static str,
    county: &'static str,
    grid_owner: &'static str,
    weight: u32,
}

const PLACES: &[Place] = &[
    Place {
        market: Market::No,
        area: PriceArea::No1,
        city: "Oslo",
        postcode: "0150",
        municipality: "0301",
        county: "Oslo",
        grid_owner: "7080005046220",
        weight: 30,
    },
    Place {
        market: Market::No,
        area: PriceArea::No2,
        city: "Kristiansand",
        postcode: "4610",
        municipality: "4204",
        county: "Agder",
        grid_owner: "7080005056069",
        weight: 10,
    },
    Place {
        market: Market::No,
        area: PriceArea::No5,
        city: "Bergen",
        postcode: "5003",
        municipality: "4601",
        county: "Vestland",
        grid_owner: "7080005051378",
        weight: 15,
    },
    Place {
        market: Market::No,
        area: PriceArea::No3,
        city: "Trondheim",
        postcode: "7010",
        municipality: "5001",
        county: "Trøndelag",
        grid_owner: "7080005051880",
        weight: 10,
    },
    Place {
        market: Market::No,
        area: PriceArea::No4,
        city: "Tromsø",
        postcode: "9008",
        municipality: "5501",
        county: "Troms",
        grid_owner: "7080005051859",
        weight: 5,
    },
    Place {
        market: Market::No,
        area: PriceArea::No4,
        city: "Kirkenes",
        postcode: "9900",
        municipality: "5605",
        county: "Finnmark",
        grid_owner: "7080005051934",
        weight: 2,
    },
    Place {
        market: Market::Dk,
        area: PriceArea::Dk2,
        city: "København",
        postcode: "1550",
        municipality: "101",
        county: "Hovedstaden",
        grid_owner: "5790000610099",
        weight: 15,
    },
    Place {
        market: Market::Dk,
        area: PriceArea::Dk1,
        city: "Aarhus",
        postcode: "8000",
        municipality: "751",
        county: "Midtjylland",
        grid_owner: "5790001089030",
        weight: 13,
    },
];

const NO_FIRST: &[&str] = &[
    "Ole", "Kari", "Nora", "Jakob", "Emma", "Lars", "Ingrid", "Henrik", "Sofie", "Magnus",
    "Astrid", "Sindre",
];
const NO_LAST: &[&str] = &[
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg", "Haugen",
    "Bakken",
];
const DK_FIRST: &[&str] = &[
    "Mads", "Freja", "Mikkel", "Ida", "Rasmus", "Anna", "Frederik", "Clara", "Emil", "Laura",
];
const DK_LAST: &[&str] = &[
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
];
const STREETS: &[&str] = &[
    "Storgata",
    "Kirkeveien",
    "Skolegata",
    "Parkveien",
    "Strandvejen",
    "Nørregade",
    "Bakkevej",
    "Fjordgata",
];
const COMPANIES: &[&str] = &[
    "Fjord Bakeri",
    "Nordlys Regnskap",
    "Vestkyst Fisk",
    "Byens Verksted",
    "Havna Kafé",
    "Grøn Tømrer",
];

/// Write the demo's products and `metering_points` customers, each with an account, a
/// metering point and contracts, into `tx`; returns the metering points for their readings.
pub(super) async fn write_master_data(
    tx: &mut StoreTx,
    build: &mut DemoBuild,
    metering_points: usize,
    counts: &mut ImportCounts,
) -> Result<Vec<DemoPoint>, StoreError> {
    let (from, to) = (build.from, build.to);
    let rng = &mut build.rng;
    let summary = &mut build.summary;
    for (name, text) in DEMO_PRODUCTS {
        let path = std::path::Path::new(name);
        let format = ProductFormat::from_path(path).unwrap_or(ProductFormat::Toml);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(name);
        let products = parse_product_file(format, stem, name, text)
            .map_err(|e| StoreError::Unsupported(format!("demo product {name}: {e}")))?;
        let stored_format = format.stored_name(stem, DEFAULT_URDB_TIME_ZONE);
        for product in products {
            counts.record(
                tx.upsert_product(&product.code, &stored_format, name, text)
                    .await?,
            );
            summary.products += 1;
        }
    }
    let total_weight: u32 = PLACES.iter().map(|p| p.weight).sum();
    let mut points = Vec::with_capacity(metering_points);
    for n in 0..metering_points {
        let mut pick = rng.random_range(0..total_weight);
        let place = PLACES
            .iter()
            .find(|p| {
                pick < p.weight || {
                    pick -= p.weight;
                    false
                }
            })
            .unwrap_or(&PLACES[0]);
        let business = rng.random_range(0..100) < 12;
        let usage = if business {
            UsageKind::Business
        } else {
            UsageKind::Household
        };
        let resolution = if business || rng.random_range(0..100) < 25 {
            Resolution::Pt15m
        } else {
            Resolution::Pt60m
        };
        let customer = demo_customer(rng, n, place, business);
        let address = customer.address.clone();
        counts.record(tx.upsert_customer(&customer).await?);
        let account = Account {
            account_id: format!("A{n:06}"),
            customer_id: customer.customer_id.clone(),
            payer_customer_id: customer.customer_id.clone(),
            invoice_channel: if business && place.market == Market::No {
                InvoiceChannel::Ehf
            } else {
                match rng.random_range(0..10) {
                    0..7 => InvoiceChannel::Email,
                    7 => InvoiceChannel::Paper,
                    _ => InvoiceChannel::EFaktura,
                }
            },
            language: if place.market == Market::Dk {
                Language::Da
            } else {
                Language::Nb
            },
            email: customer.email.clone(),
            invoice_address: None,
        };
        counts.record(tx.upsert_account(&account).await?);
        let prefix = place.market.gsrn_prefix();
        let body = format!("{prefix}{:0width$}", n + 1, width = 17 - prefix.len());
        let gsrn = Gsrn::from_body(&body).map_err(StoreError::Rejected)?;
        let point = MeteringPoint {
            metering_point_id: gsrn.clone(),
            market: place.market,
            price_area: place.area,
            grid_owner: Gln::parse(place.grid_owner).map_err(StoreError::Rejected)?,
            resolution,
            utility: Utility::Electricity,
            usage,
            address,
            // Typical sizes; only grid tariffs priced by the main fuse read them.
            main_fuse_amperes: Some(if usage == UsageKind::Business {
                125
            } else {
                40
            }),
            // The demo's months (2025) are before Norgespris (October 2025).
            norgespris_from: None,
        };
        counts.record(tx.upsert_metering_point(&point).await?);
        let supplier_product = match place.market {
            Market::No => "no-spot",
            Market::Dk => "dk-spot",
        };
        let grid_product = match place.market {
            Market::No => format!(
                "{}-{}",
                grid_tariff_stem(place.municipality),
                if business {
                    "liten_naering"
                } else {
                    "husholdning"
                }
            ),
            Market::Dk => "dk-n1-c".to_owned(),
        };
        // A few customers move in mid-period, a few move out.
        let start = if n % 97 == 5 {
            from.checked_add(14.days()).unwrap_or(from)
        } else {
            Date::new(2024, 1, 1).unwrap_or(from)
        };
        let end = (n % 89 == 7).then(|| to.checked_sub(10.days()).unwrap_or(to));
        for (role, product) in [
            (ContractRole::Supplier, supplier_product.to_owned()),
            (ContractRole::GridOwner, grid_product),
        ] {
            let contract = Contract {
                contract_id: format!(
                    "C{n:06}-{}",
                    if role == ContractRole::Supplier {
                        "S"
                    } else {
                        "G"
                    }
                ),
                account_id: account.account_id.clone(),
                metering_point_id: Some(gsrn.clone()),
                product_code: product,
                role,
                start,
                end,
            };
            counts.record(tx.upsert_contract(&contract).await?);
            summary.contracts += 1;
        }
        if business && place.market == Market::No {
            let broadband = Contract {
                contract_id: format!("C{n:06}-B"),
                account_id: account.account_id.clone(),
                metering_point_id: None,
                product_code: "fiber-bedrift-500".into(),
                role: ContractRole::ServiceProvider,
                start,
                end: None,
            };
            counts.record(tx.upsert_contract(&broadband).await?);
            summary.contracts += 1;
            // Consulting hours on the 10th of each month, billed by the usage component.
            let mut month = from;
            while month < to {
                let hours = Decimal::new(rng.random_range(0..9) * 5, 1);
                if !hours.is_zero() {
                    let day = month.checked_add(9.days()).unwrap_or(month);
                    counts.record(
                        tx.upsert_usage(&broadband.contract_id, day, "konsulent", hours)
                            .await?,
                    );
                }
                month = month.checked_add(1.month()).unwrap_or(to);
            }
        }
        match summary.by_area.iter_mut().find(|(a, _)| *a == place.area) {
            Some((_, count)) => *count += 1,
            None => summary.by_area.push((place.area, 1)),
        }
        match resolution {
            Resolution::Pt60m => summary.hourly_points += 1,
            Resolution::Pt15m => summary.quarter_hour_points += 1,
        }
        points.push(DemoPoint {
            point,
            business,
            index: n,
        });
    }
    summary.by_area.sort();
    summary.customers = metering_points;
    summary.metering_points = points.len();
    Ok(points)
}

/// The demo's products: Nordlys TOML files and grid tariffs in the fri-nettleie format.
const DEMO_PRODUCTS: &[(&str, &str)] = &[
    (
        "no-spot.toml",
        include_str!("../../../../examples/products/no-spot.toml"),
    ),
    (
        "dk-spot.toml",
        include_str!("../../../../examples/products/dk-spot.toml"),
    ),
    (
        "dk-n1-grid-tou.toml",
        include_str!("../../../../examples/products/dk-n1-grid-tou.toml"),
    ),
    (
        "broadband-business.toml",
        include_str!("../../../../examples/products/broadband-business.toml"),
    ),
    (
        "elvia.yml",
        include_str!("../../../../examples/products/fri-nettleie/elvia.yml"),
    ),
    (
        "bkk.yml",
        include_str!("../../../../examples/products/fri-nettleie/bkk.yml"),
    ),
    (
        "tensio.yml",
        include_str!("../../../../examples/products/fri-nettleie/tensio.yml"),
    ),
    (
        "glitre.yml",
        include_str!("../../../../examples/products/fri-nettleie/glitre.yml"),
    ),
    (
        "arva.yml",
        include_str!("../../../../examples/products/fri-nettleie/arva.yml"),
    ),
    (
        "barents.yml",
        include_str!("../../../../examples/products/fri-nettleie/barents.yml"),
    ),
];

/// The demo grid tariff (fri-nettleie file stem) of a Norwegian municipality.
fn grid_tariff_stem(municipality: &str) -> &'static str {
    match municipality {
        "4204" => "glitre",
        "4601" => "bkk",
        "5001" => "tensio",
        "5501" => "arva",
        "5605" => "barents",
        _ => "elvia",
    }
}

fn demo_customer(rng: &mut ChaCha8Rng, n: usize, place: &Place, business: bool) -> Customer {
    let street = format!(
        "{} {}",
        STREETS[rng.random_range(0..STREETS.len())],
        rng.random_range(1..120)
    );
    let address = Address {
        street,
        postcode: place.postcode.into(),
        city: place.city.into(),
        municipality: place.municipality.into(),
        county: place.county.into(),
    };
    let (identity, name) = if business {
        let name = format!(
            "{} {}",
            COMPANIES[rng.random_range(0..COMPANIES.len())],
            if place.market == Market::No {
                "AS"
            } else {
                "ApS"
            }
        );
        let identity = match place.market {
            Market::No => CustomerIdentity::NorwegianOrganisation(valid_org_number(rng)),
            Market::Dk => CustomerIdentity::parse(
                CustomerKind::Organisation,
                Market::Dk,
                &rng.random_range(10_000_000..99_999_999u32).to_string(),
            )
            .unwrap_or_else(|_| CustomerIdentity::NorwegianOrganisation(valid_org_number(rng))),
        };
        (identity, name)
    } else {
        let (first, last) = match place.market {
            Market::No => (NO_FIRST, NO_LAST),
            Market::Dk => (DK_FIRST, DK_LAST),
        };
        let name = format!(
            "{} {}",
            first[rng.random_range(0..first.len())],
            last[rng.random_range(0..last.len())]
        );
        (personal_identity(rng, place.market), name)
    };
    let email = format!("kunde{n}@example.org");
    Customer {
        customer_id: format!("K{n:06}"),
        identity,
        name,
        email,
        phone: format!("+47{}", rng.random_range(40_000_000..99_999_999u32)),
        address,
    }
}

/// Synthetic identities only: Norwegian numbers use Skatteetaten's test range (month + 80),
/// so no demo identity can be a real person's.
fn personal_identity(rng: &mut ChaCha8Rng, market: Market) -> CustomerIdentity {
    loop {
        let (day, month, year) = (
            rng.random_range(1..29u32),
            rng.random_range(1..13u32),
            rng.random_range(40..99u32),
        );
        let candidate = match market {
            Market::No => {
                let body = format!(
                    "{day:02}{:02}{year:02}{:03}",
                    month + 80,
                    rng.random_range(0..500u32)
                );
                let d: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
                let k1 = check11(&d, &[3, 7, 6, 1, 8, 9, 4, 5, 2]);
                let Some(k1) = k1 else { continue };
                let mut d2 = d.clone();
                d2.push(k1);
                let Some(k2) = check11(&d2, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) else {
                    continue;
                };
                format!("{body}{k1}{k2}")
            }
            Market::Dk => format!(
                "{day:02}{month:02}{year:02}-{:04}",
                rng.random_range(0..10_000u32)
            ),
        };
        let kind = CustomerKind::Person;
        if let Ok(identity) = CustomerIdentity::parse(kind, market, &candidate) {
            return identity;
        }
    }
}

fn check11(digits: &[u32], weights: &[u32]) -> Option<u32> {
    match 11 - digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

fn valid_org_number(rng: &mut ChaCha8Rng) -> OrgNumber {
    loop {
        let body = rng.random_range(90_000_000..99_999_999u32).to_string();
        let d: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
        if let Some(k) = check11(&d, &[3, 2, 7, 6, 5, 4, 3, 2])
            && let Ok(org) = OrgNumber::parse(&format!("{body}{k}"))
        {
            return org;
        }
    }
}
