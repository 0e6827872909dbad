//! The demo utility: a seeded, realistic synthetic Nordic utility — customers, payers,
//! metering points in several price areas of both markets, hourly and 15-minute meters with
//! a few gaps and corrections, spot prices and exchange rates — stored like any import.
//!
//! Loads and prices are drawn with floating-point noise and then rounded once to whole Wh
//! and cents: what is stored is exact, and the same seed gives the same utility.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use nordlys_core::ids::{Gln, Gsrn, OrgNumber};
use nordlys_core::model::{
    Account, Address, Contract, ContractRole, Customer, CustomerIdentity, CustomerKind,
    ExchangeRate, InvoiceChannel, Language, Market, MeteringPoint, PriceArea, Quality, SpotPrice,
    UsageKind, Utility,
};
use nordlys_core::quantity::Currency;
use nordlys_core::time::{LocalPeriod, Resolution, start_of_local_day};
use nordlys_store::chunk::DayChunk;
use nordlys_store::{ImportCounts, PointRef, Store, StoreError};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use crate::products::{ProductFormat, parse_product_file};
use crate::{Clock, Progress};

/// What to build.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub metering_points: usize,
    pub first_month: LocalPeriod,
    pub months: u32,
    pub seed: u64,
}

/// What was built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub products: usize,
    pub customers: usize,
    pub metering_points: usize,
    pub hourly_points: usize,
    pub quarter_hour_points: usize,
    pub by_area: Vec<(PriceArea, usize)>,
    pub contracts: usize,
    pub readings: u64,
    pub missing_days: Vec<(Gsrn, Date)>,
    pub corrected_days: Vec<(Gsrn, Date)>,
    pub spot_prices: u64,
    pub exchange_rates: u64,
    pub from: Option<Date>,
    pub to: Option<Date>,
}

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

/// Build the demo utility into `store`.
pub async fn build_demo(
    store: &Store,
    config: &DemoConfig,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
) -> Result<DemoSummary, StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let from = config.first_month.start;
    let to = from
        .checked_add((config.months as i32).months())
        .unwrap_or(from);
    let mut summary = DemoSummary {
        from: Some(from),
        to: Some(to),
        ..DemoSummary::default()
    };
    let mut counts = ImportCounts::default();

    // Master data, one transaction.
    let mut tx = store
        .begin_import("demo", "nordlys demo (master data)", clock.now())
        .await?;
    for (name, text) in DEMO_PRODUCTS {
        let path = std::path::Path::new(name);
        let format = ProductFormat::from_path(path).unwrap_or(ProductFormat::Toml);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(name);
        let products = parse_product_file(format, stem, name, text)
            .map_err(|e| StoreError::Unsupported(format!("demo product {name}: {e}")))?;
        let stored_format = format.stored_name(stem, crate::products::DEFAULT_URDB_TIME_ZONE);
        for product in products {
            counts.record(
                tx.upsert_product(&product.code, &stored_format, name, text)
                    .await?,
            );
            summary.products += 1;
        }
    }
    let total_weight: u32 = PLACES.iter().map(|p| p.weight).sum();
    let mut points = Vec::with_capacity(config.metering_points);
    for n in 0..config.metering_points {
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
        let customer = demo_customer(&mut rng, n, place, business);
        let address = customer.address.clone();
        counts.record(tx.upsert_customer(&customer).await?);
        let account = Account {
            account_id: format!("A{n:06}"),
            customer_id: customer.customer_id.clone(),
            payer_customer_id: customer.customer_id.clone(),
            invoice_channel: if business && place.market == Market::No {
                InvoiceChannel::Ehf
            } else if rng.random_range(0..10) < 7 {
                InvoiceChannel::Email
            } else {
                InvoiceChannel::EFaktura
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
        points.push((point, business, n));
    }
    summary.by_area.sort();
    summary.customers = config.metering_points;
    summary.metering_points = points.len();

    // Market data: spot prices per area (hourly; quarter-hourly from the 15-minute day-ahead
    // market's start on 2025-10-01) and EUR exchange rates per day.
    for area in [
        PriceArea::No1,
        PriceArea::No2,
        PriceArea::No3,
        PriceArea::No4,
        PriceArea::No5,
        PriceArea::Dk1,
        PriceArea::Dk2,
    ] {
        for price in spot_series(&mut rng, area, from, to) {
            tx.upsert_spot_price(&price).await?;
            summary.spot_prices += 1;
        }
    }
    let mut day = from.checked_sub(7.days()).unwrap_or(from);
    while day < to {
        let wiggle = Decimal::new(rng.random_range(-150..150), 4);
        for (quote, mid) in [
            (Currency::Nok, Decimal::new(11_5000, 4)),
            (Currency::Dkk, Decimal::new(7_4600, 4)),
        ] {
            let rate = ExchangeRate {
                date: day,
                base: Currency::Eur,
                quote,
                rate: mid
                    + if quote == Currency::Nok {
                        wiggle
                    } else {
                        wiggle / Decimal::TEN
                    },
            };
            tx.upsert_exchange_rate(&rate).await?;
            summary.exchange_rates += 1;
        }
        day = day.tomorrow().unwrap_or(to);
    }
    tx.commit(counts).await?;

    // Meter values, one transaction, with progress per metering point.
    let refs = store.point_refs().await?;
    progress.start("demo meter values", Some(points.len() as u64));
    let mut tx = store
        .begin_import("demo", "nordlys demo (meter values)", clock.now())
        .await?;
    for (point, business, n) in &points {
        let tz = point.market.time_zone();
        let (start, end) = (start_of_local_day(from, &tz), start_of_local_day(to, &tz));
        let step = point.resolution.seconds();
        let annual_kwh = match (point.market, *business) {
            (Market::No, false) => rng.random_range(8_000.0..24_000.0),
            (Market::Dk, false) => rng.random_range(2_500.0..6_000.0),
            (_, true) => rng.random_range(30_000.0..200_000.0),
        };
        let has_ev = !business && rng.random_range(0..100) < 35;
        let missing_day = (n % 211 == 13).then(|| to.checked_sub(3.days()).unwrap_or(to));
        let corrected_day = (n % 173 == 11).then(|| from.checked_add(9.days()).unwrap_or(from));
        let mut chunks: Vec<(i64, DayChunk)> = Vec::new();
        let mut t = start.as_second();
        while t < end.as_second() {
            let ts = Timestamp::from_second(t).unwrap_or(start);
            let local = tz.to_datetime(ts);
            let date = local.date();
            let day = t.div_euclid(86_400);
            if chunks.last().is_none_or(|(d, _)| *d != day) {
                chunks.push((day, DayChunk::empty(point.resolution)));
            }
            if Some(date) != missing_day {
                let kw = load_kw(
                    &mut rng,
                    annual_kwh,
                    *business,
                    has_ev,
                    date,
                    local.hour(),
                    local.minute(),
                );
                let wh = (kw * step as f64 / 3.6).round().max(0.0) as i64;
                let quality = if Some(date) == corrected_day {
                    Quality::Estimated
                } else {
                    Quality::Measured
                };
                let slot = ((t - day * 86_400) / step) as usize;
                if let Some((_, chunk)) = chunks.last_mut() {
                    chunk.set(slot, wh, quality);
                }
                summary.readings += 1;
            }
            t += step;
        }
        if let Some(day) = missing_day {
            summary
                .missing_days
                .push((point.metering_point_id.clone(), day));
        }
        if let Some(day) = corrected_day {
            summary
                .corrected_days
                .push((point.metering_point_id.clone(), day));
        }
        tx.merge_day_chunks(
            point_id(&refs, &point.metering_point_id)?,
            point.metering_point_id.as_str(),
            chunks,
        )
        .await?;
        progress.advance(1);
    }
    tx.commit(ImportCounts {
        rows: summary.readings,
        ..ImportCounts::default()
    })
    .await?;
    progress.finish();

    Ok(summary)
}

/// The demo's products: Nordlys TOML files and grid tariffs in the fri-nettleie format.
const DEMO_PRODUCTS: &[(&str, &str)] = &[
    (
        "no-spot.toml",
        include_str!("../../../examples/products/no-spot.toml"),
    ),
    (
        "dk-spot.toml",
        include_str!("../../../examples/products/dk-spot.toml"),
    ),
    (
        "dk-n1-grid-tou.toml",
        include_str!("../../../examples/products/dk-n1-grid-tou.toml"),
    ),
    (
        "broadband-business.toml",
        include_str!("../../../examples/products/broadband-business.toml"),
    ),
    (
        "elvia.yml",
        include_str!("../../../examples/products/fri-nettleie/elvia.yml"),
    ),
    (
        "bkk.yml",
        include_str!("../../../examples/products/fri-nettleie/bkk.yml"),
    ),
    (
        "tensio.yml",
        include_str!("../../../examples/products/fri-nettleie/tensio.yml"),
    ),
    (
        "glitre.yml",
        include_str!("../../../examples/products/fri-nettleie/glitre.yml"),
    ),
    (
        "arva.yml",
        include_str!("../../../examples/products/fri-nettleie/arva.yml"),
    ),
    (
        "barents.yml",
        include_str!("../../../examples/products/fri-nettleie/barents.yml"),
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

/// The grid company's corrected values arrive after settlement: each estimated day of the
/// demo, now measured and 8 % higher, as a new version. Returns the readings changed.
pub async fn deliver_demo_corrections(
    store: &Store,
    days: &[(Gsrn, Date)],
    clock: &dyn Clock,
) -> Result<u64, StoreError> {
    let refs = store.point_refs().await?;
    let mut tx = store
        .begin_import("demo", "nordlys demo (corrected meter values)", clock.now())
        .await?;
    let mut changed = 0u64;
    for (gsrn, day) in days {
        let point = refs.get(gsrn.as_str()).ok_or_else(|| {
            StoreError::Unsupported(format!("demo metering point {gsrn} vanished"))
        })?;
        let tz = point.market.time_zone();
        let (start, end) = (
            start_of_local_day(*day, &tz),
            start_of_local_day(day.tomorrow().unwrap_or(*day), &tz),
        );
        let mut chunks: Vec<(i64, DayChunk)> = Vec::new();
        for reading in store.meter_values(point.id, start, end, None).await? {
            let t = reading.start.as_second();
            let utc_day = t.div_euclid(86_400);
            if chunks.last().is_none_or(|(d, _)| *d != utc_day) {
                chunks.push((utc_day, DayChunk::empty(point.resolution)));
            }
            let slot = ((t - utc_day * 86_400) / point.resolution.seconds()) as usize;
            if let Some((_, chunk)) = chunks.last_mut() {
                chunk.set(slot, reading.energy.0 * 108 / 100, Quality::Corrected);
                changed += 1;
            }
        }
        tx.merge_day_chunks(point.id, gsrn.as_str(), chunks).await?;
    }
    tx.commit(ImportCounts {
        rows: changed,
        ..ImportCounts::default()
    })
    .await?;
    Ok(changed)
}

fn point_id(refs: &HashMap<String, PointRef>, gsrn: &Gsrn) -> Result<i64, StoreError> {
    // The demo creates the points itself, so a missing one is a bug in the demo.
    refs.get(gsrn.as_str())
        .map(|p| p.id)
        .ok_or_else(|| StoreError::Unsupported(format!("demo metering point {gsrn} vanished")))
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

/// Average power in kW for a local time: heating season, daily rhythm, EV charging, noise.
fn load_kw(
    rng: &mut ChaCha8Rng,
    annual_kwh: f64,
    business: bool,
    has_ev: bool,
    date: Date,
    hour: i8,
    minute: i8,
) -> f64 {
    let mean_kw = annual_kwh / 8760.0;
    let month = f64::from(date.month());
    let season = 1.0 + 0.45 * ((month - 1.0) / 12.0 * std::f64::consts::TAU).cos();
    let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
    let h = f64::from(hour) + f64::from(minute) / 60.0;
    let shape = if business {
        if !weekend && (7.0..18.0).contains(&h) {
            1.9
        } else {
            0.45
        }
    } else {
        let morning = (-((h - 7.5) / 1.3).powi(2)).exp() * 0.7;
        let evening = (-((h - 19.0) / 2.2).powi(2)).exp() * 0.9;
        0.65 + morning + evening + if weekend { 0.1 } else { 0.0 }
    };
    let mut kw = mean_kw * season * shape * rng.random_range(0.75..1.25);
    if has_ev && !(2..22).contains(&hour) && (date.day() as u32 + hour as u32).is_multiple_of(3) {
        kw += 7.2;
    }
    kw
}

/// A day-ahead price series for `area` over `[from, to)` in EUR/MWh with Nordic statistics:
/// higher in winter and in the south, morning and evening peaks, volatile Danish prices that
/// turn negative on some windy nights.
fn spot_series(rng: &mut ChaCha8Rng, area: PriceArea, from: Date, to: Date) -> Vec<SpotPrice> {
    let (level, volatility) = match area {
        PriceArea::No1 | PriceArea::No2 | PriceArea::No5 => (62.0, 0.25),
        PriceArea::No3 => (35.0, 0.35),
        PriceArea::No4 => (22.0, 0.4),
        _ => (85.0, 0.45),
    };
    let tz = area.market().unwrap_or(Market::No).time_zone();
    let fifteen_minute_start = Date::new(2025, 10, 1).unwrap_or(to);
    let mut out = Vec::new();
    let mut daily = 0.0f64;
    let mut date = from;
    while date < to {
        daily = 0.7 * daily + rng.random_range(-volatility..volatility);
        let windy = area.market() == Some(Market::Dk) && rng.random_range(0..100) < 8;
        let season =
            1.0 + 0.35 * ((f64::from(date.month()) - 1.0) / 12.0 * std::f64::consts::TAU).cos();
        let start = start_of_local_day(date, &tz);
        let end = start_of_local_day(date.tomorrow().unwrap_or(to), &tz);
        let step = if date >= fifteen_minute_start {
            900
        } else {
            3600
        };
        let mut t = start.as_second();
        while t < end.as_second() {
            let local_hour = f64::from(
                tz.to_datetime(Timestamp::from_second(t).unwrap_or(start))
                    .hour(),
            );
            let shape = 0.8
                + 0.3 * (-((local_hour - 8.0) / 1.5).powi(2)).exp()
                + 0.35 * (-((local_hour - 18.0) / 2.0).powi(2)).exp();
            let mut price = level * season * daily.exp() * shape * rng.random_range(0.93..1.07);
            if windy && !(6.0..22.0).contains(&local_hour) {
                price = rng.random_range(-15.0..5.0);
            }
            let cents = (price * 100.0).round() as i64;
            out.push(SpotPrice {
                area,
                start: Timestamp::from_second(t).unwrap_or(start),
                end: Timestamp::from_second(t + step).unwrap_or(end),
                price_per_mwh: Decimal::new(cents, 2),
                currency: Currency::Eur,
            });
            t += step;
        }
        date = date.tomorrow().unwrap_or(to);
    }
    out
}
