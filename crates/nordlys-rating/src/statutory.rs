//! Statutory tables as data: taxes (elavgift, Enova, elafgift), grid-level tariffs set by a
//! TSO (Energinet), subsidies (strømstøtte, Norgespris) and VAT zones. The default table is
//! `data/statutory.toml`, embedded in the crate; a utility loads its own with
//! [`Statutory::from_toml`]. No rate is written in Rust.
//!
//! Just over 600 lines for a reason: the loader checks every field of every entry against its
//! rule with its own message (entry, field, value, rule), next to the model it fills.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use nordlys_core::model::{Market, UsageKind};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::decimal::{Dec, price_to_nano};
use crate::invoice::{LineKind, VatCategory};
use crate::product::VatTreatment;

/// The statutory table shipped with this version of Nordlys.
pub const DEFAULT_STATUTORY_TOML: &str = include_str!("../data/statutory.toml");

/// A named set of municipalities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub code: String,
    pub description: String,
    pub municipality_prefixes: Vec<String>,
    /// Municipality numbers, sorted (looked up by binary search on every rating).
    pub municipalities: Vec<String>,
}

impl Zone {
    pub fn contains(&self, municipality: &str) -> bool {
        !municipality.is_empty()
            && (self
                .municipalities
                .binary_search_by(|m| m.as_str().cmp(municipality))
                .is_ok()
                || self
                    .municipality_prefixes
                    .iter()
                    .any(|p| municipality.starts_with(p.as_str())))
    }
}

/// VAT of one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatRule {
    pub market: Market,
    pub standard_percent: Decimal,
    pub zero_rated_zone: Option<String>,
    pub zero_rated_usage: Vec<UsageKind>,
}

/// A rate in force over `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedRate {
    pub from: Date,
    pub to: Option<Date>,
    pub value: Decimal,
    /// For spot subsidies and price hedges: which spot price each kWh is compared with.
    /// `None` for every other rule (the table refuses it there and requires it here).
    pub basis: Option<SpotBasis>,
}

/// Which spot price a spot subsidy or price hedge compares with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpotBasis {
    /// Clock hour by clock hour: the hour's energy against the time average of the area's
    /// prices in that hour (rounded half away from zero to the engine's scale, as prices are
    /// when a series is priced at a coarser resolution than the market's). With 15-minute
    /// prices, a 15-minute meter and an hourly one then get the same amount.
    HourlyAverage,
    /// Each interval of the series against that interval's price.
    Interval,
}

impl SpotBasis {
    pub const CODES: &'static str = "hourly_average, interval";
    pub fn code(self) -> &'static str {
        match self {
            SpotBasis::HourlyAverage => "hourly_average",
            SpotBasis::Interval => "interval",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hourly_average" => Some(SpotBasis::HourlyAverage),
            "interval" => Some(SpotBasis::Interval),
            _ => None,
        }
    }
}

/// How a statutory charge is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeRule {
    /// `value` per kWh.
    PerKwh,
    /// `value` per year, charged monthly (/12) and prorated by days.
    PerYear,
    /// `percent` of (spot − `value`) when spot is above `value`, per interval, on at most
    /// a monthly energy cap per usage (first kWh of the month in time order). A credit.
    SpotSubsidy {
        percent: Decimal,
        cap_kwh_per_month: BTreeMap<UsageKind, i64>,
    },
    /// Price hedge at `value`: (`value` − spot) per kWh on at most a monthly cap per usage.
    /// Opt-in; replaces the listed charges when chosen.
    PriceHedge {
        cap_kwh_per_month: BTreeMap<UsageKind, i64>,
        replaces: Vec<String>,
    },
}

/// An exemption: the usages in a zone that do not pay a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    pub zone: String,
    pub usage: Vec<UsageKind>,
}

/// A tax, fee, tariff or subsidy that applies by law, not by product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatutoryCharge {
    pub code: String,
    pub name: String,
    pub market: Market,
    pub kind: LineKind,
    pub usage: Vec<UsageKind>,
    pub exempt: Vec<Exemption>,
    pub vat: VatTreatment,
    pub opt_in: bool,
    pub rule: ChargeRule,
    pub rates: Vec<DatedRate>,
}

impl StatutoryCharge {
    /// The rate in force on `date`.
    pub fn rate_on(&self, date: Date) -> Option<(usize, &DatedRate)> {
        self.rates
            .iter()
            .enumerate()
            .find(|(_, r)| date >= r.from && r.to.is_none_or(|to| date < to))
    }
}

/// The statutory tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statutory {
    pub zones: Vec<Zone>,
    pub vat: Vec<VatRule>,
    pub charges: Vec<StatutoryCharge>,
    /// Which table this is: a fingerprint of its text (`fnv1a64:…`), recorded with every
    /// settlement so that an auditor can tell which rates an invoice was computed with.
    pub version: String,
}

/// A problem in a statutory table: which entry, which field, which value, which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatutoryError {
    pub entry: String,
    pub field: String,
    pub value: String,
    pub rule: String,
}

impl fmt::Display for StatutoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statutory table, {} field {}", self.entry, self.field)?;
        if !self.value.is_empty() {
            write!(f, " = {:?}", self.value)?;
        }
        write!(f, ": {}", self.rule)
    }
}

impl std::error::Error for StatutoryError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatutoryFile {
    #[serde(default)]
    zone: Vec<ZoneFile>,
    #[serde(default)]
    vat: Vec<VatFile>,
    #[serde(default)]
    charge: Vec<ChargeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneFile {
    code: String,
    description: String,
    #[serde(default)]
    municipality_prefixes: Vec<String>,
    #[serde(default)]
    municipalities: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VatFile {
    market: String,
    standard_percent: Dec,
    #[serde(default)]
    zero_rated_zone: Option<String>,
    #[serde(default)]
    zero_rated_usage: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptFile {
    zone: String,
    usage: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateFile {
    from: String,
    #[serde(default)]
    to: Option<String>,
    value: Dec,
    #[serde(default)]
    basis: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeFile {
    code: String,
    name: String,
    market: String,
    kind: String,
    rule: String,
    usage: Vec<String>,
    vat: String,
    #[serde(default)]
    exempt: Vec<ExemptFile>,
    #[serde(default)]
    percent: Option<Dec>,
    #[serde(default)]
    cap_kwh_per_month: Option<BTreeMap<String, Dec>>,
    #[serde(default)]
    opt_in: bool,
    #[serde(default)]
    replaces: Vec<String>,
    rate: Vec<RateFile>,
}

impl Default for Statutory {
    /// The embedded table. It is part of the crate and tested
    /// (`examples::the_embedded_statutory_table_loads`), so it always parses; an empty table
    /// in its place would silently drop every tax and subsidy.
    fn default() -> Self {
        Statutory::from_toml(DEFAULT_STATUTORY_TOML)
            .expect("the embedded statutory table parses (tested)")
    }
}

impl Statutory {
    /// Parse and check a statutory table.
    pub fn from_toml(text: &str) -> Result<Self, StatutoryError> {
        let err = |entry: &str, field: &str, value: &str, rule: String| StatutoryError {
            entry: entry.to_owned(),
            field: field.to_owned(),
            value: value.to_owned(),
            rule,
        };
        let file: StatutoryFile = toml::from_str(text)
            .map_err(|e| err("file", "-", "", e.to_string().trim_end().to_owned()))?;
        let market = |entry: &str, text: &str| {
            Market::parse(text).map_err(|e| err(entry, "market", text, e.rule))
        };
        let usage =
            |entry: &str, field: &str, list: &[String]| -> Result<Vec<UsageKind>, StatutoryError> {
                list.iter()
                    .map(|u| UsageKind::parse(u).map_err(|e| err(entry, field, u, e.rule)))
                    .collect()
            };
        let zones: Vec<Zone> = file
            .zone
            .into_iter()
            .map(|z| Zone {
                code: z.code,
                description: z.description,
                municipality_prefixes: z.municipality_prefixes,
                municipalities: {
                    let mut sorted = z.municipalities;
                    sorted.sort_unstable();
                    sorted
                },
            })
            .collect();
        let zone_exists = |entry: &str, code: &str| {
            if zones.iter().any(|z| z.code == code) {
                Ok(())
            } else {
                Err(err(
                    entry,
                    "zone",
                    code,
                    "no [[zone]] has this code".to_owned(),
                ))
            }
        };
        let mut vat = Vec::new();
        for v in file.vat {
            let entry = format!("[[vat]] {}", v.market);
            if let Some(z) = &v.zero_rated_zone {
                zone_exists(&entry, z)?;
            }
            vat.push(VatRule {
                market: market(&entry, &v.market)?,
                standard_percent: v.standard_percent.0,
                zero_rated_zone: v.zero_rated_zone,
                zero_rated_usage: usage(&entry, "zero_rated_usage", &v.zero_rated_usage)?,
            });
        }
        let mut charges = Vec::new();
        for c in file.charge {
            let entry = format!("[[charge]] {}", c.code);
            let kind = match c.kind.as_str() {
                "tax" => LineKind::Tax,
                "subsidy" => LineKind::Subsidy,
                "energy" => LineKind::Energy,
                "fixed" => LineKind::Fixed,
                "fee" => LineKind::Fee,
                other => {
                    return Err(err(
                        &entry,
                        "kind",
                        other,
                        "must be one of: tax, subsidy, energy, fixed, fee".to_owned(),
                    ));
                }
            };
            let vat_treatment = VatTreatment::parse(&c.vat).ok_or_else(|| {
                err(
                    &entry,
                    "vat",
                    &c.vat,
                    format!("must be one of: {}", VatTreatment::CODES),
                )
            })?;
            let caps = |caps: Option<BTreeMap<String, Dec>>| -> Result<BTreeMap<UsageKind, i64>, StatutoryError> {
                let Some(caps) = caps else {
                    return Err(err(&entry, "cap_kwh_per_month", "", "this rule needs a monthly cap per usage, e.g. { household = \"5000\" }".to_owned()));
                };
                caps.into_iter()
                    .map(|(k, v)| {
                        let u = UsageKind::parse(&k).map_err(|e| err(&entry, "cap_kwh_per_month", &k, e.rule))?;
                        let wh = v.0 * Decimal::ONE_THOUSAND;
                        if !wh.fract().is_zero() || wh.is_sign_negative() {
                            return Err(err(&entry, "cap_kwh_per_month", &v.0.to_string(), "a cap is a non-negative kWh amount with at most 3 decimals".to_owned()));
                        }
                        let wh = i64::try_from(wh.mantissa() / 10i128.pow(wh.scale())).ok().filter(|wh| *wh <= crate::engine::MAX_INTERVAL_WH).ok_or_else(|| err(&entry, "cap_kwh_per_month", &v.0.to_string(), format!("a cap is at most {} kWh", crate::engine::MAX_INTERVAL_WH / 1000)))?;
                        Ok((u, wh))
                    })
                    .collect()
            };
            let only = |present: bool, field: &str| {
                if present {
                    Err(err(
                        &entry,
                        field,
                        "",
                        format!("not used by rule = {:?}", c.rule),
                    ))
                } else {
                    Ok(())
                }
            };
            let rule = match c.rule.as_str() {
                "per_kwh" | "per_year" => {
                    only(c.opt_in, "opt_in")?;
                    only(c.percent.is_some(), "percent")?;
                    only(c.cap_kwh_per_month.is_some(), "cap_kwh_per_month")?;
                    only(!c.replaces.is_empty(), "replaces")?;
                    if c.rule == "per_kwh" {
                        ChargeRule::PerKwh
                    } else {
                        ChargeRule::PerYear
                    }
                }
                "spot_subsidy" => {
                    // Opt-in charges start on a metering point's agreement day, which the engine
                    // honours day by day for price hedges only.
                    only(c.opt_in, "opt_in")?;
                    only(!c.replaces.is_empty(), "replaces")?;
                    let percent = c
                        .percent
                        .ok_or_else(|| {
                            err(
                                &entry,
                                "percent",
                                "",
                                "a spot subsidy needs a percent".to_owned(),
                            )
                        })?
                        .0;
                    ChargeRule::SpotSubsidy {
                        percent,
                        cap_kwh_per_month: caps(c.cap_kwh_per_month)?,
                    }
                }
                "price_hedge" => {
                    only(c.percent.is_some(), "percent")?;
                    ChargeRule::PriceHedge {
                        cap_kwh_per_month: caps(c.cap_kwh_per_month)?,
                        replaces: c.replaces,
                    }
                }
                other => {
                    return Err(err(
                        &entry,
                        "rule",
                        other,
                        "must be one of: per_kwh, per_year, spot_subsidy, price_hedge".to_owned(),
                    ));
                }
            };
            let mut rates: Vec<DatedRate> = Vec::new();
            for r in c.rate {
                let date = |field: &str, text: &str| {
                    nordlys_core::time::parse_date("from", text)
                        .map_err(|e| err(&entry, field, text, e.rule))
                };
                let from = date("rate.from", &r.from)?;
                let to = r.to.as_deref().map(|t| date("rate.to", t)).transpose()?;
                if to.is_some_and(|to| to <= from) {
                    return Err(err(
                        &entry,
                        "rate.to",
                        r.to.as_deref().unwrap_or(""),
                        format!("must be after from = {from}"),
                    ));
                }
                if price_to_nano(r.value.0).is_none() {
                    return Err(err(
                        &entry,
                        "rate.value",
                        &r.value.0.to_string(),
                        "a rate is exact to at most 9 decimals".to_owned(),
                    ));
                }
                if let Some(prev) = rates.last()
                    && prev.to.is_none_or(|pt| pt > from)
                {
                    return Err(err(
                        &entry,
                        "rate.from",
                        &r.from,
                        "rates must be in date order and must not overlap".to_owned(),
                    ));
                }
                let spot_rule = matches!(
                    rule,
                    ChargeRule::SpotSubsidy { .. } | ChargeRule::PriceHedge { .. }
                );
                let basis = match (&r.basis, spot_rule) {
                    (None, false) => None,
                    (Some(text), false) => {
                        return Err(err(
                            &entry,
                            "rate.basis",
                            text,
                            format!("not used by rule = {:?}", c.rule),
                        ));
                    }
                    (None, true) => {
                        return Err(err(
                            &entry,
                            "rate.basis",
                            "",
                            format!(
                                "a {} rate needs the spot price it compares with, one of: {}",
                                c.rule,
                                SpotBasis::CODES
                            ),
                        ));
                    }
                    (Some(text), true) => Some(SpotBasis::parse(text).ok_or_else(|| {
                        err(
                            &entry,
                            "rate.basis",
                            text,
                            format!("must be one of: {}", SpotBasis::CODES),
                        )
                    })?),
                };
                rates.push(DatedRate {
                    from,
                    to,
                    value: r.value.0,
                    basis,
                });
            }
            if rates.is_empty() {
                return Err(err(
                    &entry,
                    "rate",
                    "",
                    "at least one dated rate is needed".to_owned(),
                ));
            }
            let usages = usage(&entry, "usage", &c.usage)?;
            if let ChargeRule::SpotSubsidy {
                cap_kwh_per_month, ..
            }
            | ChargeRule::PriceHedge {
                cap_kwh_per_month, ..
            } = &rule
                && let Some(u) = usages.iter().find(|u| !cap_kwh_per_month.contains_key(u))
            {
                return Err(err(
                    &entry,
                    "cap_kwh_per_month",
                    u.code(),
                    "every usage the charge applies to needs a monthly cap".to_owned(),
                ));
            }
            let mut exempt = Vec::new();
            for e in c.exempt {
                zone_exists(&entry, &e.zone)?;
                exempt.push(Exemption {
                    usage: usage(&entry, "exempt.usage", &e.usage)?,
                    zone: e.zone,
                });
            }
            charges.push(StatutoryCharge {
                market: market(&entry, &c.market)?,
                usage: usages,
                code: c.code,
                name: c.name,
                kind,
                exempt,
                vat: vat_treatment,
                opt_in: c.opt_in,
                rule,
                rates,
            });
        }
        // A hedge replaces subsidies up to its agreement day, which the engine honours day by
        // day for spot subsidies and price hedges; anything else would apply all month.
        for charge in &charges {
            let ChargeRule::PriceHedge { replaces, .. } = &charge.rule else {
                continue;
            };
            let entry = format!("[[charge]] {}", charge.code);
            for code in replaces {
                match charges.iter().find(|c| &c.code == code) {
                    None => {
                        return Err(err(
                            &entry,
                            "replaces",
                            code,
                            "no charge in the table has this code".to_owned(),
                        ));
                    }
                    Some(other)
                        if !matches!(
                            other.rule,
                            ChargeRule::SpotSubsidy { .. } | ChargeRule::PriceHedge { .. }
                        ) =>
                    {
                        return Err(err(
                            &entry,
                            "replaces",
                            code,
                            "only spot_subsidy or price_hedge charges can be replaced".to_owned(),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(Statutory {
            zones,
            vat,
            charges,
            version: text_fingerprint(text),
        })
    }

    pub fn zone(&self, code: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.code == code)
    }

    /// VAT category and percent for a component treated `treatment`, in `market`, for a
    /// metering point of `usage` in `municipality`.
    pub fn vat_for(
        &self,
        treatment: VatTreatment,
        market: Market,
        usage: UsageKind,
        municipality: &str,
    ) -> (VatCategory, Decimal) {
        let rule = self.vat.iter().find(|v| v.market == market);
        let standard = rule.map_or(Decimal::ZERO, |r| r.standard_percent);
        match treatment {
            VatTreatment::Zero => (VatCategory::Zero, Decimal::ZERO),
            VatTreatment::Exempt => (VatCategory::Exempt, Decimal::ZERO),
            VatTreatment::Standard => (VatCategory::Standard, standard),
            VatTreatment::Electricity => {
                let zero = rule.is_some_and(|r| {
                    r.zero_rated_usage.contains(&usage)
                        && r.zero_rated_zone
                            .as_deref()
                            .and_then(|z| self.zone(z))
                            .is_some_and(|z| z.contains(municipality))
                });
                if zero {
                    (VatCategory::Zero, Decimal::ZERO)
                } else {
                    (VatCategory::Standard, standard)
                }
            }
        }
    }

    /// Whether a charge applies to a metering point (ignoring opt-in choices).
    pub fn applies(
        &self,
        charge: &StatutoryCharge,
        market: Market,
        usage: UsageKind,
        municipality: &str,
    ) -> bool {
        charge.market == market
            && charge.usage.contains(&usage)
            && !charge.exempt.iter().any(|e| {
                e.usage.contains(&usage)
                    && self.zone(&e.zone).is_some_and(|z| z.contains(municipality))
            })
    }
}

/// FNV-1a (64 bits) of a table's text: stable across builds and platforms, so the same text
/// always names the same version.
fn text_fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("fnv1a64:{hash:016x}")
}
