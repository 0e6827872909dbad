//! Import of fri-nettleie tariff files (YAML, <https://github.com/kraftsystemet/fri-nettleie>,
//! CC-BY-4.0) into Nordlys products: one product per grid company × customer group
//! (`husholdning`, `fritid`, `liten_næring`), with one version of `fastledd` and
//! `energiledd` per tariff entry (`gyldig_fra` inclusive, `gyldig_til` exclusive).
//!
//! Mapping (see `docs/products.md`):
//! - `energiledd.grunnpris` (øre/kWh) → the time-of-use default price (kr/kWh);
//!   each `unntak` → a period: `timer: 6-21` = [06:00, 22:00), `dager` (virkedag, helg,
//!   helligdager, fridag, ukedag, alle, weekday names), `måneder`.
//! - `fastledd.terskler` (kr/year) → capacity steps priced per year (monthly = /12);
//!   `terskel_inkludert` → `threshold_inclusive`.
//! - `metode`: `TRE_DØGNMAX_MND` → daily peaks (3), `MND_MAX` → monthly max,
//!   `OV_TREFASE` → main fuse (amperes from the rating context), `FEM_VEKTET_ÅR` and
//!   `UKJENT` → accepted as data, refused by the engine with a message saying why.
//! - Prices are ex VAT and ex taxes; VAT treatment is `electricity`; holidays Norwegian.

use std::fmt;

use nordlys_core::model::UsageKind;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::calendar::{ALL_HOURS, ALL_MONTHS, DaySelector, HolidayCalendar, TimeWindow, hour_span};
use crate::decimal::Dec;
use crate::format::bounds::{echo, short_message, too_deep};
use crate::product::{
    CapacityMethod, CapacityStep, Component, FeePeriod, Pricing, Product, ProductErrors, TouPeriod,
    VatTreatment,
};

/// Limit on an imported file's size.
pub const MAX_FRI_NETTLEIE_FILE_BYTES: usize = 4 << 20;

/// Limit on the tariff entries of one file (a real one has fewer than 20).
pub const MAX_TARIFF_ENTRIES: usize = 1000;

/// Why a fri-nettleie file could not be imported: where in the file, the value, the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    Syntax {
        file: String,
        message: String,
    },
    Field {
        file: String,
        path: String,
        value: String,
        rule: String,
    },
    Invalid {
        file: String,
        errors: ProductErrors,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Syntax { file, message } => write!(f, "{file}: {message}"),
            ImportError::Field {
                file,
                path,
                value,
                rule,
            } => write!(f, "{file}: {path} = {:?}: {rule}", echo(value)),
            ImportError::Invalid { file, errors } => {
                write!(f, "{file}: the imported product is invalid:\n{errors}")
            }
        }
    }
}

impl std::error::Error for ImportError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TariffFile {
    netteier: String,
    #[serde(default)]
    gln: Vec<String>,
    #[serde(default)]
    sist_oppdatert: Option<String>,
    #[serde(default)]
    kilder: Vec<String>,
    #[serde(default)]
    mga: Vec<String>,
    tariffer: Vec<TariffEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TariffEntry {
    /// A named variant (tariff area) of the company's tariff, e.g. "Nord".
    #[serde(default)]
    navn: Option<String>,
    kundegrupper: Vec<String>,
    fastledd: Fastledd,
    energiledd: Energiledd,
    gyldig_fra: String,
    #[serde(default)]
    gyldig_til: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fastledd {
    metode: String,
    #[serde(default)]
    terskel_inkludert: Option<bool>,
    terskler: Vec<Terskel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Terskel {
    terskel: Dec,
    pris: Dec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Energiledd {
    grunnpris: Dec,
    #[serde(default)]
    unntak: Vec<Unntak>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unntak {
    #[serde(default)]
    navn: Option<String>,
    #[serde(default)]
    timer: Option<String>,
    #[serde(default)]
    dager: Option<Vec<String>>,
    #[serde(default, rename = "måneder")]
    maneder: Option<Vec<String>>,
    pris: Dec,
}

/// Customer groups: the name in the file, the code suffix, the kind of use it is for.
const GROUPS: [(&str, &str, UsageKind); 3] = [
    ("husholdning", "husholdning", UsageKind::Household),
    ("fritid", "fritid", UsageKind::HolidayHome),
    ("liten_næring", "liten_naering", UsageKind::Business),
];
const MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

/// Import one fri-nettleie file. `file_stem` (e.g. `elvia`) names the products
/// (`elvia-husholdning`, …) and the errors. Every product is validated.
pub fn import_fri_nettleie(file_stem: &str, text: &str) -> Result<Vec<Product>, ImportError> {
    let file_name = || format!("{file_stem}.yml");
    if text.len() > MAX_FRI_NETTLEIE_FILE_BYTES {
        return Err(ImportError::Syntax {
            file: file_name(),
            message: format!(
                "{} bytes is larger than the limit of {MAX_FRI_NETTLEIE_FILE_BYTES} bytes",
                text.len()
            ),
        });
    }
    if let Some(message) = too_deep(text, true) {
        return Err(ImportError::Syntax {
            file: file_name(),
            message,
        });
    }
    let file: TariffFile = serde_norway::from_str(text).map_err(|e| ImportError::Syntax {
        file: file_name(),
        message: short_message(&e.to_string()),
    })?;
    if file.tariffer.len() > MAX_TARIFF_ENTRIES {
        return Err(ImportError::Field {
            file: file_name(),
            path: "tariffer".to_owned(),
            value: format!("{} entries", file.tariffer.len()),
            rule: format!("a file holds at most {MAX_TARIFF_ENTRIES} tariff entries"),
        });
    }
    let field = |path: String, value: &str, rule: &str| ImportError::Field {
        file: file_name(),
        path,
        value: value.to_owned(),
        rule: rule.to_owned(),
    };
    let _ = (&file.gln, &file.sist_oppdatert, &file.kilder, &file.mga);
    // Keyed by (variant name, customer group).
    let mut products: Vec<((Option<String>, usize), Product)> = Vec::new();
    for (ti, t) in file.tariffer.iter().enumerate() {
        let at = |rest: &str| format!("tariffer[{ti}].{rest}");
        let valid_from = nordlys_core::time::parse_date("gyldig_fra", &t.gyldig_fra)
            .map_err(|e| field(at("gyldig_fra"), &t.gyldig_fra, &e.rule))?;
        let valid_to = t
            .gyldig_til
            .as_deref()
            .map(|d| {
                nordlys_core::time::parse_date("gyldig_til", d)
                    .map_err(|e| field(at("gyldig_til"), d, &e.rule))
            })
            .transpose()?;
        let method = match t.fastledd.metode.as_str() {
            "TRE_DØGNMAX_MND" => CapacityMethod::DailyPeaks { peaks: 3 },
            "MND_MAX" => CapacityMethod::MonthlyMax,
            "OV_TREFASE" => CapacityMethod::MainFuse,
            "FEM_VEKTET_ÅR" => CapacityMethod::WeightedWeeklyPeaksYear,
            "UKJENT" => CapacityMethod::Unknown,
            other => {
                return Err(field(
                    at("fastledd.metode"),
                    other,
                    "must be one of: TRE_DØGNMAX_MND, MND_MAX, OV_TREFASE, FEM_VEKTET_ÅR, UKJENT",
                ));
            }
        };
        let threshold_inclusive = match (t.fastledd.terskel_inkludert, method) {
            (Some(b), _) => b,
            // The source does not know; the engine refuses UKJENT anyway.
            (None, CapacityMethod::Unknown) => true,
            (None, _) => {
                return Err(field(
                    at("fastledd.terskel_inkludert"),
                    "null",
                    "must be true or false for a known method",
                ));
            }
        };
        let mut terskler: Vec<&Terskel> = t.fastledd.terskler.iter().collect();
        terskler.sort_by_key(|t| t.terskel.0);
        let steps: Vec<CapacityStep> = terskler
            .iter()
            .enumerate()
            .map(|(i, s)| CapacityStep {
                from: s.terskel.0,
                to: terskler.get(i + 1).map(|n| n.terskel.0),
                price: s.pris.0,
            })
            .collect();
        let mut periods = Vec::new();
        for (ui, u) in t.energiledd.unntak.iter().enumerate() {
            let at_u = |rest: &str| at(&format!("energiledd.unntak[{ui}].{rest}"));
            let mut when = TimeWindow::always();
            if let Some(timer) = &u.timer {
                when.hours = parse_span(timer).ok_or_else(|| {
                    field(
                        at_u("timer"),
                        timer,
                        "hours are written a-b, e.g. 6-21 = [06:00, 22:00)",
                    )
                })?;
            }
            if let Some(dager) = &u.dager {
                when.days = dager.iter().map(|d| day(d).ok_or_else(|| field(at_u("dager"), d, "must be one of: virkedag, helg, helligdager, fridag, ukedag, alle, mandag … søndag"))).collect::<Result<_, _>>()?;
            }
            if let Some(maneder) = &u.maneder {
                when.months = 0;
                for m in maneder {
                    let i = MONTHS.iter().position(|x| x == m).ok_or_else(|| {
                        field(
                            at_u("måneder"),
                            m,
                            "must be a Norwegian month name, januar … desember",
                        )
                    })?;
                    when.months |= 1 << i;
                }
            }
            debug_assert!(when.months & !ALL_MONTHS == 0 && when.hours & !ALL_HOURS == 0);
            periods.push(TouPeriod {
                tiers: Vec::new(),
                name: u
                    .navn
                    .clone()
                    .unwrap_or_else(|| format!("unntak {}", ui + 1)),
                when,
                price: u.pris.0 / Decimal::ONE_HUNDRED,
            });
        }
        let components = [
            Component {
                code: "fastledd".to_owned(),
                name: "Fastledd".to_owned(),
                valid_from,
                valid_to,
                vat: Some(VatTreatment::Electricity),
                pricing: Pricing::Capacity {
                    method,
                    threshold_inclusive,
                    per: FeePeriod::Year,
                    steps,
                },
            },
            Component {
                code: "energiledd".to_owned(),
                name: "Energiledd".to_owned(),
                valid_from,
                valid_to,
                vat: Some(VatTreatment::Electricity),
                pricing: Pricing::TimeOfUse {
                    default_price_per_kwh: Some(t.energiledd.grunnpris.0 / Decimal::ONE_HUNDRED),
                    default_name: "grunnpris".to_owned(),
                    periods,
                },
            },
        ];
        for group in &t.kundegrupper {
            let gi = GROUPS
                .iter()
                .position(|(g, _, _)| g == group)
                .ok_or_else(|| {
                    field(
                        at("kundegrupper"),
                        group,
                        "must be one of: husholdning, fritid, liten_næring",
                    )
                })?;
            let key = (t.navn.clone(), gi);
            let product = match products.iter_mut().find(|(k, _)| *k == key) {
                Some((_, p)) => p,
                None => {
                    let (code, name) = match &t.navn {
                        None => (
                            format!("{file_stem}-{}", GROUPS[gi].1),
                            format!("{} – {}", file.netteier, GROUPS[gi].0),
                        ),
                        Some(v) => (
                            format!("{file_stem}-{}-{}", slug(v), GROUPS[gi].1),
                            format!("{} {v} – {}", file.netteier, GROUPS[gi].0),
                        ),
                    };
                    products.push((
                        key,
                        Product {
                            code,
                            name,
                            currency: nordlys_core::quantity::Currency::Nok,
                            time_zone_name: "Europe/Oslo".to_owned(),
                            time_zone: nordlys_core::time::zone("Europe/Oslo")
                                .map_err(|e| field("time_zone".to_owned(), &e.value, &e.rule))?,
                            holidays: HolidayCalendar::Norway,
                            components: Vec::new(),
                            usage: Some(GROUPS[gi].2),
                        },
                    ));
                    &mut products.last_mut().expect("pushed above").1
                }
            };
            product.components.extend(components.iter().cloned());
        }
    }
    products.sort_by(|(a, _), (b, _)| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let products: Vec<Product> = products.into_iter().map(|(_, p)| p).collect();
    for p in &products {
        p.validate().map_err(|errors| ImportError::Invalid {
            file: file_name(),
            errors,
        })?;
    }
    Ok(products)
}

/// A name as a code: lower-case ASCII letters, digits and `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'å' => out.push('a'),
            _ if !out.ends_with('-') => out.push('-'),
            _ => {}
        }
    }
    out.trim_matches('-').to_owned()
}

/// `6-21` → hours 6..=21, i.e. [06:00, 22:00); `22-5` wraps midnight.
fn parse_span(text: &str) -> Option<u32> {
    let (a, b) = text.split_once('-')?;
    let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    if a > 23 || b > 23 {
        return None;
    }
    hour_span(a, (b + 1) % 24).or(if (b + 1) % 24 == a {
        Some(ALL_HOURS)
    } else {
        None
    })
}

fn day(text: &str) -> Option<DaySelector> {
    use jiff::civil::Weekday::*;
    Some(match text {
        "virkedag" => DaySelector::WorkingDay,
        "helg" => DaySelector::Weekend,
        "helligdager" => DaySelector::Holiday,
        "fridag" => DaySelector::DayOff,
        "ukedag" => DaySelector::Weekday,
        "alle" => DaySelector::All,
        "mandag" => DaySelector::Named(Monday),
        "tirsdag" => DaySelector::Named(Tuesday),
        "onsdag" => DaySelector::Named(Wednesday),
        "torsdag" => DaySelector::Named(Thursday),
        "fredag" => DaySelector::Named(Friday),
        "lørdag" => DaySelector::Named(Saturday),
        "søndag" => DaySelector::Named(Sunday),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_spans_include_the_last_hour() {
        assert_eq!(parse_span("6-21"), Some(0x003f_ffc0));
        assert_eq!(parse_span("22-5"), Some(ALL_HOURS & !0x003f_ffc0));
        assert_eq!(parse_span("0-23"), Some(ALL_HOURS));
        assert_eq!(parse_span("6-24"), None);
    }
}
