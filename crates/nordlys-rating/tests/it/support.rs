//! Shared helpers: example products, contexts and dense series built from local time.

use std::path::PathBuf;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use nordlys_core::model::{Market, PriceArea, UsageKind};
use nordlys_core::time::{LocalPeriod, Resolution, start_of_local_day};
use nordlys_rating::product::Product;
use nordlys_rating::{InvoiceLine, LineKind, RatingContext, parse_product_toml};
use rust_decimal::Decimal;

pub fn example(name: &str) -> Product {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/products")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_product_toml(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Elvia's household tariff from the fri-nettleie file when the data set is present,
/// else the example product with the same 2025 figures.
pub fn elvia_household() -> Product {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/fri-nettleie/tariffer/elvia.yml");
    match std::fs::read_to_string(&path) {
        Ok(text) => nordlys_rating::fri_nettleie::import_fri_nettleie("elvia", &text)
            .unwrap()
            .remove(0),
        Err(_) => {
            println!("fri-nettleie not present: using examples/products/no-elvia-grid-2025.toml");
            example("no-elvia-grid-2025.toml")
        }
    }
}

pub fn month(text: &str) -> LocalPeriod {
    LocalPeriod::parse_month(text).unwrap()
}

pub fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn ctx_no(municipality: &str, usage: UsageKind) -> RatingContext {
    RatingContext {
        market: Market::No,
        price_area: PriceArea::No1,
        municipality: municipality.to_owned(),
        usage,
        apply_statutory: true,
        norgespris_from: None,
        main_fuse_amperes: None,
    }
}

pub fn ctx_dk(municipality: &str) -> RatingContext {
    RatingContext {
        market: Market::Dk,
        price_area: PriceArea::Dk1,
        municipality: municipality.to_owned(),
        usage: UsageKind::Household,
        apply_statutory: true,
        norgespris_from: None,
        main_fuse_amperes: None,
    }
}

/// A dense series for `period` at `resolution`, each value from the interval's local start.
pub fn series(
    period: LocalPeriod,
    tz: &TimeZone,
    resolution: Resolution,
    f: impl Fn(DateTime) -> i64,
) -> Vec<i64> {
    let (start, end) = period.to_utc(tz);
    let step = resolution.seconds();
    let n = (end.as_second() - start.as_second()) / step;
    let first = start_of_local_day(period.start, tz).as_second();
    (0..n)
        .map(|i| f(tz.to_datetime(jiff::Timestamp::from_second(first + i * step).unwrap())))
        .collect()
}

/// The nets of lines with `code`, in order.
pub fn nets(lines: &[InvoiceLine], code: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| &*l.code == code)
        .map(|l| l.net.to_string())
        .collect()
}

pub fn kinds(lines: &[InvoiceLine], kind: LineKind) -> Vec<&InvoiceLine> {
    lines.iter().filter(|l| l.kind == kind).collect()
}

/// One line per row, for readable failures.
pub fn render(lines: &[InvoiceLine]) -> String {
    lines
        .iter()
        .map(|l| {
            let expl: Vec<String> = l.explanation.iter().map(|e| e.to_string()).collect();
            format!(
                "{:<12} {:<22} {:>10} {:<5} × {:>12} = {:>10} {} {}% | {}",
                l.kind,
                l.code,
                l.quantity,
                l.unit.code(),
                l.unit_price,
                l.net,
                l.vat_category.code(),
                l.vat_percent,
                expl.join("; ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Rate hourly `energy` for `period` under `product` with the shipped statutory tables.
pub fn rate_hourly(
    product: Product,
    context: &RatingContext,
    period: LocalPeriod,
    energy: &[i64],
) -> nordlys_rating::Rating {
    nordlys_rating::rate(
        &[product],
        &nordlys_rating::Statutory::default(),
        context,
        period,
        Resolution::Pt60m,
        &nordlys_rating::MeterInput {
            energy_wh: energy,
            ..Default::default()
        },
    )
    .unwrap()
}
