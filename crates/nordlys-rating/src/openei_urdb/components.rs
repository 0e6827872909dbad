//! Converting a URDB rate into a Nordlys [`Product`]: its energy, demand, fixed and minimum
//! charges as components, the 12×24 schedules as time-of-use windows, the label as a code.
//! Reading the rate's fields exactly (numbers, dates, structures, schedules) is the parent's.

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::exact_json::Json;
use super::{METADATA, RateReader, SUPPORTED, TierPrice, UrdbError, is_empty};
use crate::calendar::{
    ALL_HOURS, ALL_MONTHS, DaySelector, HolidayCalendar, HourMask, MonthMask, TimeWindow,
};
use crate::format::bounds::echo;
use crate::product::{
    Component, DemandMeasure, FeePeriod, Pricing, Product, Tier, TouPeriod, VatTreatment,
};

impl RateReader<'_> {
    pub(super) fn product(
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

    /// The time-of-use periods of a rate structure from its `{prefix}weekdayschedule` and
    /// `{prefix}weekendschedule` (`prefix`: `energy` or `demand`).
    fn scheduled_periods(
        &self,
        structure: &[Vec<TierPrice>],
        prefix: &str,
    ) -> Result<Vec<TouPeriod>, UrdbError> {
        let weekday = self.schedule(&format!("{prefix}weekdayschedule"), structure.len())?;
        let weekend = self.schedule(&format!("{prefix}weekendschedule"), structure.len())?;
        Ok(self
            .windows(&weekday, &weekend, structure.len())
            .into_iter()
            .map(|(p, when)| tou_period(format!("period {}", p + 1), when, &structure[p]))
            .collect())
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
        let periods = self.scheduled_periods(&structure, "energy")?;
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
        let periods = self.scheduled_periods(&structure, "demand")?;
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
