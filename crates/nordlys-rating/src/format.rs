//! Nordlys's own product file format (TOML). See `docs/products.md` for the reference.
//!
//! These are wire types: they mirror the file, refuse unknown fields (the error names the
//! field), and are converted into the domain [`Product`]. Decimals may be written as
//! strings (`"0.2321"`) or numbers (`0.2321`); both are read exactly (see [`Dec`](crate::decimal::Dec)).
//!
//! This module reads the file, the product header and the fields every component has;
//! `format/pricing.rs` reads the fields of each component kind.

pub(crate) mod bounds;
mod pricing;

use jiff::civil::Date;
use nordlys_core::quantity::Currency;
use serde::Deserialize;

use crate::calendar::HolidayCalendar;
use crate::product::{Component, Problems, Product, ProductErrors, VatTreatment};
use pricing::read_pricing;

/// Limit on a product file's size: a product is a page of text, not a data set.
pub const MAX_PRODUCT_FILE_BYTES: usize = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    product: HeaderFile,
    #[serde(default)]
    component: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderFile {
    code: String,
    name: String,
    currency: String,
    time_zone: String,
    #[serde(default)]
    holidays: Option<String>,
}

/// Parse a product file and validate the product. Errors name the component, the field
/// and the value.
pub fn parse_product_toml(text: &str) -> Result<Product, ProductErrors> {
    let product = read_product_toml(text)?;
    product.validate()?;
    Ok(product)
}

/// Parse a product file into a [`Product`] without the semantic checks of
/// [`Product::validate`] (useful to show all problems of a draft).
pub fn read_product_toml(text: &str) -> Result<Product, ProductErrors> {
    let mut p = Problems::new("?");
    if text.len() > MAX_PRODUCT_FILE_BYTES {
        p.push(
            None,
            "file",
            format!("{} bytes", text.len()),
            format!("a product file is at most {MAX_PRODUCT_FILE_BYTES} bytes"),
        );
        return Err(ProductErrors(p.errors));
    }
    if let Some(problem) = bounds::too_deep(text, false) {
        p.push(None, "file", "", problem);
        return Err(ProductErrors(p.errors));
    }
    let file: ProductFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            p.push(
                None,
                "file",
                "",
                bounds::short_message(e.to_string().trim_end()),
            );
            return Err(ProductErrors(p.errors));
        }
    };
    let code = file.product.code.clone();
    let mut p = Problems::new(&code);
    let currency = Currency::parse(&file.product.currency)
        .map_err(|e| p.push(None, "product.currency", &e.value, e.rule))
        .ok();
    let tz = nordlys_core::time::zone(&file.product.time_zone)
        .map_err(|e| p.push(None, "product.time_zone", &e.value, e.rule))
        .ok();
    let holidays_text = file.product.holidays.as_deref().unwrap_or("none");
    let holidays = HolidayCalendar::parse(holidays_text);
    if holidays.is_none() {
        p.push(
            None,
            "product.holidays",
            holidays_text,
            "must be one of: NO, DK, none",
        );
    }
    let mut components = Vec::new();
    for (i, table) in file.component.into_iter().enumerate() {
        if let Some(c) = read_component(i, table, &mut p) {
            components.push(c);
        }
    }
    let errors = p.errors;
    match (currency, tz, holidays) {
        (Some(currency), Some(time_zone), Some(holidays)) if errors.is_empty() => Ok(Product {
            code,
            name: file.product.name,
            currency,
            time_zone_name: file.product.time_zone,
            time_zone,
            holidays,
            components,
            usage: None,
        }),
        _ => Err(ProductErrors(errors)),
    }
}

fn take_string(table: &mut toml::Table, key: &str) -> Result<Option<String>, String> {
    match table.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("must be a string, found {}", other.type_str())),
    }
}

fn read_component(index: usize, mut table: toml::Table, p: &mut Problems) -> Option<Component> {
    let mut common = |key: &str, p: &mut Problems, at: &str| match take_string(&mut table, key) {
        Ok(v) => v,
        Err(rule) => {
            p.push(Some(at), key, "", rule);
            None
        }
    };
    let placeholder = format!("component[{index}]");
    let code = common("code", p, &placeholder);
    let at = code.clone().unwrap_or(placeholder);
    let name = common("name", p, &at);
    let kind = common("kind", p, &at);
    let vat = common("vat", p, &at);
    let from = common("valid_from", p, &at);
    let to = common("valid_to", p, &at);
    let Some(code) = code else {
        p.push(Some(&at), "code", "", "every component needs a code");
        return None;
    };
    let date = |field: &str, text: Option<String>, p: &mut Problems| -> Option<Date> {
        let text = text?;
        nordlys_core::time::parse_date("valid_from", &text)
            .map_err(|e| p.push(Some(&at), field, &text, e.rule))
            .ok()
    };
    let valid_from = date("valid_from", from.clone(), p);
    if from.is_none() {
        p.push(Some(&at), "valid_from", "", "every component needs valid_from (YYYY-MM-DD), so a new price list never rewrites the past");
    }
    let valid_to = date("valid_to", to.clone(), p);
    let vat_treatment = match vat.as_deref() {
        None => None, // reported by validate(), which also checks products built in code
        Some(v) => {
            let t = VatTreatment::parse(v);
            if t.is_none() {
                p.push(
                    Some(&at),
                    "vat",
                    v,
                    format!("must be one of: {}", VatTreatment::CODES),
                );
            }
            t
        }
    };
    if vat.is_none() {
        p.push(
            Some(&at),
            "vat",
            "",
            format!(
                "every component needs a VAT treatment: one of {}",
                VatTreatment::CODES
            ),
        );
    }
    let Some(kind) = kind else {
        p.push(Some(&at), "kind", "", "every component needs a kind");
        return None;
    };
    let pricing = read_pricing(&kind, table, &at, p)?;
    Some(Component {
        name: name.unwrap_or_else(|| code.clone()),
        code,
        valid_from: valid_from?,
        valid_to: if to.is_some() { Some(valid_to?) } else { None },
        vat: vat_treatment,
        pricing,
    })
}
