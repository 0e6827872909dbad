//! OpenEI URDB (Utility Rate Database) rates as Nordlys products: the JSON the URDB API returns
//! (`{"items": [rate, ...]}`) or a bare rate object.
//!
//! Supported: time-of-use energy (12×24 weekday/weekend schedules), energy tiers (`max` in kWh
//! per month, price `rate` + `adj`) in any period, flat demand with tiers (the same in every
//! month, or by season with `flatdemandmonths`), time-of-use demand with tiers, fixed charges (`fixedchargefirstmeter` per month, day or
//! year) and minimum charges (`mincharge`). Demand is the highest average power over the load's
//! own interval, or over clock hours with `demandwindow = 60`. Anything else that carries
//! pricing is refused with the field named — never silently ignored.
//!
//! URDB rates have no time zone: the caller names the zone the schedules' hours are in. Prices
//! are USD without VAT (US sales taxes are not part of URDB); holidays are not modelled (the
//! weekday schedule applies on holidays, as in SAM).
//!
//! This module reads a rate's fields exactly (numbers from their text, dates, rate structures,
//! schedules); `openei_urdb/components.rs` turns them into the product's components.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

mod components;
mod exact_json;

use self::exact_json::Json;
use crate::format::bounds::{echo, short_message};
use crate::product::{Product, ProductErrors};

/// Limit on a URDB file's size (a full rate with its comments is some 50 KB).
pub const MAX_URDB_FILE_BYTES: usize = 8 << 20;

/// Why a URDB file was refused: which rate, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UrdbError {
    #[error("{file}: not URDB JSON: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: rate {rate:?}: {field}: {rule}")]
    Field {
        file: String,
        rate: String,
        field: String,
        rule: String,
    },
    #[error("{file}: {errors}")]
    Invalid { file: String, errors: ProductErrors },
}

/// One tier of a URDB period: up to `max` (None: no limit), at `rate + adj`.
type TierPrice = (Option<Decimal>, Decimal);

/// Fields that describe a rate without pricing anything.
const METADATA: &[&str] = &[
    "label",
    "uri",
    "name",
    "utility",
    "eiaid",
    "sector",
    "description",
    "source",
    "sourceparent",
    "approved",
    "country",
    "startdate",
    "enddate",
    "revisions",
    "is_default",
    "servicetype",
    "supersedes",
    "voltagecategory",
    "phasewiring",
    "peakkwcapacitymin",
    "peakkwcapacitymax",
    "peakkwcapacityhistory",
    "peakkwhusagemin",
    "peakkwhusagemax",
    "peakkwhusagehistory",
    "voltageminimum",
    "voltagemaximum",
    "voltagename",
    "basicinformationcomments",
    "energycomments",
    "demandcomments",
    "fixedchargecomments",
    "dgrules",
    "utility_info",
    "energyweekdaylabels",
    "latest_update",
    "repealed",
    "ratekey",
    "owner",
    "service_type",
];

/// Fields this importer turns into components.
const SUPPORTED: &[&str] = &[
    "energyratestructure",
    "energyweekdayschedule",
    "energyweekendschedule",
    "flatdemandstructure",
    "flatdemandmonths",
    "flatdemandunit",
    "demandratestructure",
    "demandweekdayschedule",
    "demandweekendschedule",
    "demandrateunit",
    "demandwindow",
    "fixedchargefirstmeter",
    "fixedchargeunits",
    "fixedmonthlycharge",
    "mincharge",
    "minchargeunits",
    "minmonthlycharge",
    "demandunits",
];

/// Read every rate of a URDB file as a product in `time_zone`.
pub fn import_urdb(file: &str, json: &str, time_zone: &str) -> Result<Vec<Product>, UrdbError> {
    if json.len() > MAX_URDB_FILE_BYTES {
        return Err(UrdbError::Syntax {
            file: file.into(),
            message: format!(
                "{} bytes is larger than the limit of {MAX_URDB_FILE_BYTES} bytes",
                json.len()
            ),
        });
    }
    let root = Json::parse(json).map_err(|message| UrdbError::Syntax {
        file: file.into(),
        message: short_message(&message),
    })?;
    let rates: Vec<&Json> = match root.get("items") {
        Some(items) => match items {
            Json::Array(items) => items.iter().collect(),
            _ => {
                return Err(UrdbError::Syntax {
                    file: file.into(),
                    message: "\"items\" must be an array of rates".into(),
                });
            }
        },
        None if root.as_object().is_some() => vec![&root],
        None => {
            return Err(UrdbError::Syntax {
                file: file.into(),
                message: "expected a rate object or {\"items\": [...]}".into(),
            });
        }
    };
    if rates.is_empty() {
        return Err(UrdbError::Syntax {
            file: file.into(),
            message: "the file holds no rates".into(),
        });
    }
    let tz = nordlys_core::time::zone(time_zone).map_err(|e| UrdbError::Field {
        file: file.into(),
        rate: String::new(),
        field: "time zone".into(),
        rule: e.rule,
    })?;
    let mut products = Vec::new();
    for (i, rate) in rates.iter().enumerate() {
        let reader = RateReader {
            file,
            label: label_of(rate, i),
            rate,
        };
        let product = reader.product(time_zone, tz.clone())?;
        product.validate().map_err(|errors| UrdbError::Invalid {
            file: file.into(),
            errors,
        })?;
        products.push(product);
    }
    Ok(products)
}

fn label_of(rate: &Json, index: usize) -> String {
    ["label", "name"]
        .iter()
        .find_map(|k| rate.get(k).and_then(Json::as_str))
        .map_or_else(|| format!("rate {}", index + 1), echo)
}

/// A value that carries nothing: absent, null, empty, zero or false.
fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::Bool(b) => !b,
        Json::Number(n) => n.parse::<Decimal>().is_ok_and(|d| d.is_zero()),
        Json::String(s) => s.trim().is_empty(),
        Json::Array(a) => a.iter().all(is_empty),
        Json::Object(o) => o.iter().all(|(_, v)| is_empty(v)),
    }
}

struct RateReader<'a> {
    file: &'a str,
    label: String,
    rate: &'a Json,
}

impl RateReader<'_> {
    fn refuse<T>(&self, field: &str, rule: impl Into<String>) -> Result<T, UrdbError> {
        Err(UrdbError::Field {
            file: self.file.into(),
            rate: self.label.clone(),
            field: field.into(),
            rule: rule.into(),
        })
    }

    fn get(&self, field: &str) -> Option<&Json> {
        self.rate.get(field).filter(|v| !v.is_null())
    }

    /// A JSON number as an exact decimal (from its text, never through f64).
    fn decimal(&self, field: &str, value: &Json) -> Result<Decimal, UrdbError> {
        let text = match value {
            Json::Number(n) => n.clone(),
            Json::String(s) => s.clone(),
            _ => return self.refuse(field, format!("{value} is not a number")),
        };
        text.parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&text))
            .or_else(|_| {
                self.refuse(
                    field,
                    format!(
                        "{} is not a number Nordlys can hold exactly (at most 28 digits)",
                        echo(&text)
                    ),
                )
            })
    }

    fn date(&self, field: &str) -> Result<Option<Date>, UrdbError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => {
                let Some(seconds) = v.as_i64() else {
                    return self.refuse(field, format!("{v} is not Unix seconds"));
                };
                let Ok(ts) = Timestamp::from_second(seconds) else {
                    return self.refuse(field, format!("{seconds} is out of range"));
                };
                Ok(Some(ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()))
            }
        }
    }

    /// Periods of a rate structure: each a list of (max, price = rate + adj) tiers.
    fn structure(&self, field: &str, max_unit: &str) -> Result<Vec<Vec<TierPrice>>, UrdbError> {
        let Some(value) = self.get(field) else {
            return Ok(Vec::new());
        };
        let Some(periods) = value.as_array() else {
            return self.refuse(field, "must be an array of periods");
        };
        let mut out = Vec::new();
        for (p, period) in periods.iter().enumerate() {
            let Some(tiers) = period.as_array() else {
                return self.refuse(&format!("{field}[{p}]"), "must be an array of tiers");
            };
            let mut list = Vec::new();
            for (t, tier) in tiers.iter().enumerate() {
                let at = format!("{field}[{p}][{t}]");
                if let Some(unit) = tier.get("unit").and_then(Json::as_str)
                    && unit != max_unit
                {
                    return self.refuse(
                        &format!("{at}.unit"),
                        format!(
                            "{} is not supported; only {max_unit:?}",
                            echo(&format!("{unit:?}"))
                        ),
                    );
                }
                for key in tier
                    .as_object()
                    .map(|o| o.iter().map(|(k, _)| k).collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    if !["max", "rate", "adj", "unit", "sell"].contains(&key.as_str()) {
                        return self.refuse(&format!("{at}.{}", echo(key)), "is not supported");
                    }
                }
                if tier.get("sell").is_some_and(|v| !is_empty(v)) {
                    return self.refuse(
                        &format!("{at}.sell"),
                        "sell rates (exported energy) are not supported",
                    );
                }
                let rate = match tier.get("rate") {
                    Some(v) => self.decimal(&format!("{at}.rate"), v)?,
                    None => Decimal::ZERO,
                };
                let adj = match tier.get("adj") {
                    Some(v) if !v.is_null() => self.decimal(&format!("{at}.adj"), v)?,
                    _ => Decimal::ZERO,
                };
                let max = match tier.get("max") {
                    Some(v) if !v.is_null() => Some(self.decimal(&format!("{at}.max"), v)?),
                    _ => None,
                };
                list.push((max, rate + adj));
            }
            if list.is_empty() {
                return self.refuse(&format!("{field}[{p}]"), "a period needs at least one tier");
            }
            // Beyond the last tier's max the last price applies (as in SAM).
            if let Some(last) = list.last_mut() {
                last.0 = None;
            }
            out.push(list);
        }
        Ok(out)
    }

    /// A 12×24 schedule of period indices.
    fn schedule(&self, field: &str, periods: usize) -> Result<[[usize; 24]; 12], UrdbError> {
        let Some(rows) = self.get(field).and_then(Json::as_array) else {
            return self.refuse(
                field,
                "is required with the rate structure (12 rows of 24 period indices)",
            );
        };
        if rows.len() != 12 {
            return self.refuse(
                field,
                format!("has {} rows; one per month (12) is required", rows.len()),
            );
        }
        let mut out = [[0usize; 24]; 12];
        for (m, row) in rows.iter().enumerate() {
            let hours = row.as_array().filter(|r| r.len() == 24);
            let Some(hours) = hours else {
                return self.refuse(&format!("{field}[{m}]"), "must have 24 period indices");
            };
            for (h, v) in hours.iter().enumerate() {
                match v.as_u64() {
                    Some(p) if (p as usize) < periods => out[m][h] = p as usize,
                    _ => {
                        return self.refuse(
                            &format!("{field}[{m}][{h}]"),
                            format!("{v} is not a period of the structure (0..{periods})"),
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    fn check_unit(&self, field: &str) -> Result<(), UrdbError> {
        match self.get(field).and_then(Json::as_str) {
            None | Some("kW") => Ok(()),
            Some(other) => self.refuse(
                field,
                format!(
                    "{} is not supported; only \"kW\"",
                    echo(&format!("{other:?}"))
                ),
            ),
        }
    }
}
