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

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;

mod exact_json;

use self::exact_json::Json;
use crate::calendar::{
    ALL_HOURS, ALL_MONTHS, DaySelector, HolidayCalendar, HourMask, MonthMask, TimeWindow,
};
use crate::format::bounds::{echo, short_message};
use crate::product::{
    Component, DemandMeasure, FeePeriod, Pricing, Product, ProductErrors, Tier, TouPeriod,
    VatTreatment,
};

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

    fn product(
        &self,
        time_zone_name: &str,
        time_zone: jiff::tz::TimeZone,
    ) -> Result<Product, UrdbError> {
        let Some(object) = self.rate.as_object() else {
            return self.refuse("rate", "a rate is a JSON object");
        };
        for (key, value) in object {
            if METADATA.contains(&key.as_str())
                || SUPPORTED.contains(&key.as_str())
                || is_empty(value)
            {
                continue;
            }
            return self.refuse(&echo(key), format!("is not supported by Nordlys's URDB import (value {value}); the rate is refused rather than rated without it"));
        }
        let valid_from = self
            .date("startdate")?
            .unwrap_or(Date::constant(1970, 1, 1));
        let valid_to = self.date("enddate")?;
        let component = |code: &str, name: &str, pricing: Pricing| Component {
            code: code.into(),
            name: name.into(),
            valid_from,
            valid_to,
            vat: Some(VatTreatment::Exempt),
            pricing,
        };
        let mut components = Vec::new();
        if let Some(pricing) = self.energy()? {
            components.push(component("energy", "Energy charge", pricing));
        }
        let measure = self.demand_measure()?;
        if let Some(pricing) = self.flat_demand(measure)? {
            components.push(component("demand", "Demand charge", pricing));
        }
        if let Some(pricing) = self.tou_demand(measure)? {
            components.push(component(
                "demand-tou",
                "Time-of-use demand charge",
                pricing,
            ));
        }
        if let Some((price, per)) = self.fee(
            "fixedchargefirstmeter",
            "fixedchargeunits",
            "fixedmonthlycharge",
        )? {
            components.push(component(
                "fixed",
                "Fixed charge",
                Pricing::Fixed { price, per },
            ));
        }
        if let Some((price, per)) = self.fee("mincharge", "minchargeunits", "minmonthlycharge")? {
            components.push(component(
                "minimum",
                "Minimum charge",
                Pricing::Minimum { price, per },
            ));
        }
        if components.is_empty() {
            return self.refuse("energyratestructure", "the rate prices nothing Nordlys can rate (no energy, demand, fixed or minimum charge)");
        }
        Ok(Product {
            code: format!("urdb-{}", slug(&self.label)),
            name: self
                .rate
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or(&self.label)
                .to_owned(),
            currency: nordlys_core::quantity::Currency::Usd,
            time_zone_name: time_zone_name.to_owned(),
            time_zone,
            holidays: HolidayCalendar::None,
            components,
            usage: None,
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

    /// Time-of-use windows of each period: per day type, months grouped by identical hours.
    fn windows(
        &self,
        weekday: &[[usize; 24]; 12],
        weekend: &[[usize; 24]; 12],
        periods: usize,
    ) -> Vec<(usize, TimeWindow)> {
        let mut out = Vec::new();
        for (days, schedule) in [
            (DaySelector::Weekday, weekday),
            (DaySelector::Weekend, weekend),
        ] {
            for p in 0..periods {
                let mut groups: Vec<(HourMask, MonthMask)> = Vec::new();
                for (m, row) in schedule.iter().enumerate() {
                    let hours: HourMask = (0..24)
                        .filter(|&h| row[h] == p)
                        .fold(0, |mask, h| mask | (1 << h));
                    if hours == 0 {
                        continue;
                    }
                    match groups.iter_mut().find(|(h, _)| *h == hours) {
                        Some((_, months)) => *months |= 1 << m,
                        None => groups.push((hours, 1 << m)),
                    }
                }
                for (hours, months) in groups {
                    out.push((
                        p,
                        TimeWindow {
                            months,
                            days: vec![days],
                            hours,
                        },
                    ));
                }
            }
        }
        out
    }

    fn energy(&self) -> Result<Option<Pricing>, UrdbError> {
        let structure = self.structure("energyratestructure", "kWh")?;
        if structure.is_empty() {
            return Ok(None);
        }
        if structure.len() == 1 {
            let tiers = &structure[0];
            return Ok(Some(if tiers.len() == 1 {
                Pricing::Energy {
                    price_per_kwh: tiers[0].1,
                }
            } else {
                Pricing::TieredEnergy {
                    tiers: tiers
                        .iter()
                        .map(|&(up_to, price)| Tier { up_to, price })
                        .collect(),
                }
            }));
        }
        let weekday = self.schedule("energyweekdayschedule", structure.len())?;
        let weekend = self.schedule("energyweekendschedule", structure.len())?;
        let periods = self
            .windows(&weekday, &weekend, structure.len())
            .into_iter()
            .map(|(p, when)| tou_period(format!("period {}", p + 1), when, &structure[p]))
            .collect();
        Ok(Some(Pricing::TimeOfUse {
            default_price_per_kwh: None,
            default_name: "other".into(),
            periods,
        }))
    }

    fn demand_measure(&self) -> Result<DemandMeasure, UrdbError> {
        match self.get("demandwindow").map(|v| (v.as_i64(), v)) {
            None | Some((Some(0), _)) | Some((Some(15), _)) => Ok(DemandMeasure::Interval),
            Some((Some(60), _)) => Ok(DemandMeasure::Hour),
            Some((_, v)) => self.refuse("demandwindow", format!("{v} minutes is not supported; 15 (or absent: the load's own interval) and 60 are")),
        }
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

    fn flat_demand(&self, measure: DemandMeasure) -> Result<Option<Pricing>, UrdbError> {
        self.check_unit("flatdemandunit")?;
        self.check_unit("demandunits")?;
        let structure = self.structure("flatdemandstructure", "kW")?;
        if structure.is_empty() {
            return Ok(None);
        }
        let months: Vec<usize> = match self.get("flatdemandmonths").and_then(Json::as_array) {
            None => vec![0; 12],
            Some(list) if list.len() == 12 => {
                let mut out = Vec::new();
                for (m, v) in list.iter().enumerate() {
                    match v.as_u64() {
                        Some(p) if (p as usize) < structure.len() => out.push(p as usize),
                        _ => {
                            return self.refuse(
                                &format!("flatdemandmonths[{m}]"),
                                format!("{v} is not a period of flatdemandstructure"),
                            );
                        }
                    }
                }
                out
            }
            Some(list) => {
                return self.refuse(
                    "flatdemandmonths",
                    format!("has {} entries; one per month (12) is required", list.len()),
                );
            }
        };
        if months.iter().all(|&p| p == months[0]) {
            let tiers = structure[months[0]]
                .iter()
                .map(|&(up_to, price)| Tier { up_to, price })
                .collect();
            return Ok(Some(Pricing::Demand { measure, tiers }));
        }
        let mut periods = Vec::new();
        for (p, tiers) in structure.iter().enumerate() {
            let mask: MonthMask = months
                .iter()
                .enumerate()
                .filter(|(_, q)| **q == p)
                .fold(0, |acc, (m, _)| acc | (1 << m));
            if mask != 0 {
                periods.push(tou_period(
                    format!("season {}", p + 1),
                    TimeWindow {
                        months: mask,
                        days: vec![DaySelector::All],
                        hours: ALL_HOURS,
                    },
                    tiers,
                ));
            }
        }
        debug_assert!(periods.iter().fold(0, |acc, p| acc | p.when.months) == ALL_MONTHS);
        Ok(Some(Pricing::TouDemand { measure, periods }))
    }

    fn tou_demand(&self, measure: DemandMeasure) -> Result<Option<Pricing>, UrdbError> {
        self.check_unit("demandrateunit")?;
        let structure = self.structure("demandratestructure", "kW")?;
        if structure.is_empty() {
            return Ok(None);
        }
        let weekday = self.schedule("demandweekdayschedule", structure.len())?;
        let weekend = self.schedule("demandweekendschedule", structure.len())?;
        let periods = self
            .windows(&weekday, &weekend, structure.len())
            .into_iter()
            .map(|(p, when)| tou_period(format!("period {}", p + 1), when, &structure[p]))
            .collect();
        Ok(Some(Pricing::TouDemand { measure, periods }))
    }

    /// A charge per month, day or year from `field` with its `units` (or a legacy monthly field).
    fn fee(
        &self,
        field: &str,
        units: &str,
        legacy_monthly: &str,
    ) -> Result<Option<(Decimal, FeePeriod)>, UrdbError> {
        if let Some(v) = self.get(field).filter(|v| !is_empty(v)) {
            let price = self.decimal(field, v)?;
            let per = match self.get(units).and_then(Json::as_str).unwrap_or("$/month") {
                "$/month" => FeePeriod::Month,
                "$/day" => FeePeriod::Day,
                "$/year" => FeePeriod::Year,
                other => {
                    return self.refuse(
                        units,
                        format!(
                            "{} is not supported; \"$/month\", \"$/day\" and \"$/year\" are",
                            echo(&format!("{other:?}"))
                        ),
                    );
                }
            };
            return Ok(Some((price, per)));
        }
        if let Some(v) = self.get(legacy_monthly).filter(|v| !is_empty(v)) {
            return Ok(Some((self.decimal(legacy_monthly, v)?, FeePeriod::Month)));
        }
        Ok(None)
    }
}

/// A time-of-use period from a URDB period's tiers: flat with one tier, tiered with more.
fn tou_period(name: String, when: TimeWindow, tiers: &[TierPrice]) -> TouPeriod {
    TouPeriod {
        name,
        when,
        price: tiers[0].1,
        tiers: if tiers.len() > 1 {
            tiers
                .iter()
                .map(|&(up_to, price)| Tier { up_to, price })
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// A label as a product code: lower-case ASCII letters, digits and `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        "rate".into()
    } else {
        out.chars().take(48).collect()
    }
}
