//! Helpers shared by the commands: statutory tables from a file, product files, money formatting.

use std::path::PathBuf;

use anyhow::{Context, Result};
use nordlys_app::products::ProductFormat;
use nordlys_rating::{Product, Statutory};
use rust_decimal::Decimal;

pub(crate) fn statutory(path: Option<&PathBuf>) -> Result<Statutory> {
    match path {
        None => Ok(Statutory::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Statutory::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
    }
}

/// An amount with 2 decimals, rounded half away from zero (as line amounts are). Rust
/// formatting alone (`{:.2}`) would cut the digits off: 0.125 would print 0.12.
pub(crate) fn money(amount: Decimal) -> String {
    let rounded = nordlys_core::document::round_money(amount);
    // -0.004 rounds to a negative zero; an amount of nothing has no sign.
    let rounded = if rounded.is_zero() {
        Decimal::ZERO
    } else {
        rounded
    };
    format!("{rounded:.2}")
}

pub(crate) fn read_products(path: &PathBuf) -> Result<Vec<Product>> {
    read_products_in(path, nordlys_app::products::DEFAULT_URDB_TIME_ZONE)
}

/// Products of a file; OpenEI URDB schedules (.json) are read in `urdb_time_zone`.
pub(crate) fn read_products_in(path: &PathBuf, urdb_time_zone: &str) -> Result<Vec<Product>> {
    let source = path.display().to_string();
    let format = ProductFormat::from_path(path).with_context(|| {
        format!("{source}: product files are .toml (Nordlys) or .yml/.yaml (fri-nettleie)")
    })?;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {source}"))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("product");
    nordlys_app::products::parse_product_file_in(format, stem, &source, &text, urdb_time_zone)
        .map_err(|e| anyhow::anyhow!(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money_of(text: &str) -> String {
        money(text.parse().unwrap())
    }

    #[test]
    fn money_rounds_half_away_from_zero_and_never_truncates() {
        assert_eq!(money_of("0.125"), "0.13");
        assert_eq!(money_of("-0.125"), "-0.13");
        assert_eq!(money_of("2.999"), "3.00");
        assert_eq!(money_of("1006.805"), "1006.81");
        assert_eq!(money_of("0.124999"), "0.12");
        assert_eq!(money_of("-0.004"), "0.00");
        assert_eq!(money_of("7"), "7.00");
    }
}
