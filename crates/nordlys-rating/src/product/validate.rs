//! Product validation: [`Product::validate`], the problems it reports
//! ([`ProductError`], [`ProductErrors`]) and the collector the file readers share
//! ([`Problems`]).

use std::fmt;

use jiff::civil::{Date, Weekday};
use rust_decimal::Decimal;

use super::{CapacityMethod, Component, Pricing, Product, Tier, TouPeriod, VatTreatment};
use crate::calendar::ALL_HOURS;
use crate::decimal::price_to_nano;
use crate::format::bounds::{MAX_REPORTED_PROBLEMS, and_more, echo};

/// One thing wrong with a product: where (product, component, field), the value, the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductError {
    pub product: String,
    /// Component code, with its validity start when versions exist (`energiledd@2025-04-01`).
    pub component: Option<String>,
    pub field: String,
    pub value: String,
    pub rule: String,
}

impl fmt::Display for ProductError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "product {:?}", self.product)?;
        if let Some(c) = &self.component {
            write!(f, ", component {c:?}")?;
        }
        write!(f, ", field {}", self.field)?;
        if !self.value.is_empty() {
            write!(f, " = {:?}", echo(&self.value))?;
        }
        write!(f, ": {}", self.rule)
    }
}

/// All the problems found in one product (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductErrors(pub Vec<ProductError>);

/// The first [`MAX_REPORTED_PROBLEMS`] problems, then "… and N more".
impl fmt::Display for ProductErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().take(MAX_REPORTED_PROBLEMS).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if let Some(more) = and_more(self.0.len()) {
            write!(f, "\n{more}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProductErrors {}

/// Collects errors about one product.
pub(crate) struct Problems<'a> {
    pub product: &'a str,
    pub errors: Vec<ProductError>,
}

impl<'a> Problems<'a> {
    pub fn new(product: &'a str) -> Self {
        Problems {
            product,
            errors: Vec::new(),
        }
    }
    pub fn push(
        &mut self,
        component: Option<&str>,
        field: impl Into<String>,
        value: impl fmt::Display,
        rule: impl Into<String>,
    ) {
        self.errors.push(ProductError {
            product: self.product.to_owned(),
            component: component.map(str::to_owned),
            field: field.into(),
            value: value.to_string(),
            rule: rule.into(),
        });
    }
    /// Runs `check` and names the fields of the problems it reports under `prefix`
    /// (e.g. `tier[1].up_to` becomes `period[0].tier[1].up_to`).
    pub fn nested<T>(&mut self, prefix: &str, check: impl FnOnce(&mut Self) -> T) -> T {
        let before = self.errors.len();
        let result = check(self);
        for problem in &mut self.errors[before..] {
            problem.field = format!("{prefix}.{}", problem.field);
        }
        result
    }
    pub fn finish(self) -> Result<(), ProductErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ProductErrors(self.errors))
        }
    }
}

/// A code is 1–64 characters of letters, digits, `.`, `_` or `-`.
pub(crate) fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Every distinguishable (month, weekday, holiday, hour) cell of a calendar year, calling
/// `f` with the indices of the periods that match it.
fn for_each_cell(periods: &[TouPeriod], mut f: impl FnMut(i8, Weekday, bool, i8, &[usize])) {
    let mut hits = Vec::new();
    for month in 1..=12i8 {
        for weekday in WEEKDAYS {
            for holiday in [false, true] {
                for hour in 0..24i8 {
                    hits.clear();
                    hits.extend(
                        periods
                            .iter()
                            .enumerate()
                            .filter(|(_, p)| p.when.matches(month, weekday, holiday, hour))
                            .map(|(i, _)| i),
                    );
                    f(month, weekday, holiday, hour, &hits);
                }
            }
        }
    }
}

fn cell_text(month: i8, weekday: Weekday, holiday: bool, hour: i8) -> String {
    format!(
        "month {month}, {weekday:?}{}, {hour:02}:00-{:02}:00",
        if holiday { " (holiday)" } else { "" },
        hour + 1
    )
}

impl Product {
    /// Reject incomplete or contradictory products. Every problem is reported.
    pub fn validate(&self) -> Result<(), ProductErrors> {
        let mut p = Problems::new(&self.code);
        if !valid_code(&self.code) {
            p.push(
                None,
                "product.code",
                &self.code,
                "a code is 1–64 characters of letters, digits, '.', '_' or '-'",
            );
        }
        if self.name.trim().is_empty() {
            p.push(None, "product.name", "", "a product needs a name");
        }
        if self.components.is_empty() {
            p.push(
                None,
                "component",
                "",
                "a product needs at least one component",
            );
        }
        for c in &self.components {
            let at = format!("{}@{}", c.code, c.valid_from);
            validate_component(c, &at, &mut p);
        }
        // Versions of one component, in order of validity: each must have the kind of the
        // first and start after the one reaching furthest before it ends (n log n, not
        // every pair: a file may hold many versions).
        let mut versions: Vec<&Component> = self.components.iter().collect();
        versions.sort_by(|a, b| (&a.code, a.valid_from).cmp(&(&b.code, b.valid_from)));
        for group in versions.chunk_by(|a, b| a.code == b.code) {
            let first = group[0];
            let mut reach = first;
            for &other in &group[1..] {
                if other.pricing.kind_code() != first.pricing.kind_code() {
                    p.push(
                        Some(&format!("{}@{}", first.code, first.valid_from)),
                        "kind",
                        other.pricing.kind_code(),
                        format!(
                            "versions of one component must have the same kind ({})",
                            first.pricing.kind_code()
                        ),
                    );
                }
                if reach.valid_to.is_none_or(|to| other.valid_from < to) {
                    p.push(
                        Some(&other.code),
                        "valid_from",
                        format!("{}..{} and {}..{}", reach.valid_from, fmt_to(reach.valid_to), other.valid_from, fmt_to(other.valid_to)),
                        "two versions of the same component are valid at the same time; end one before the next starts",
                    );
                }
                if reach
                    .valid_to
                    .is_some_and(|to| other.valid_to.is_none_or(|o| o > to))
                {
                    reach = other;
                }
            }
        }
        p.finish()
    }
}

fn fmt_to(to: Option<Date>) -> String {
    to.map_or_else(|| "open".to_owned(), |d| d.to_string())
}

fn check_price(p: &mut Problems, at: &str, field: &str, price: Decimal) {
    if price_to_nano(price).is_none() {
        p.push(
            Some(at),
            field,
            price,
            "a price is exact to at most 9 decimals and below 9.2e9",
        );
    }
}

fn check_tiers(p: &mut Problems, at: &str, tiers: &[Tier]) {
    if tiers.is_empty() {
        p.push(Some(at), "tier", "", "at least one tier is needed");
    }
    let mut previous = Decimal::ZERO;
    for (i, t) in tiers.iter().enumerate() {
        check_price(p, at, &format!("tier[{i}].price"), t.price);
        let last = i + 1 == tiers.len();
        match (t.up_to, last) {
            (None, true) => {}
            (None, false) => p.push(
                Some(at),
                format!("tier[{i}].up_to"),
                "",
                "only the last tier may be open-ended",
            ),
            (Some(u), true) => p.push(
                Some(at),
                format!("tier[{i}].up_to"),
                u,
                "the last tier must be open-ended (leave up_to out)",
            ),
            (Some(u), false) => {
                if u <= previous {
                    p.push(
                        Some(at),
                        format!("tier[{i}].up_to"),
                        u,
                        format!("tiers must increase (previous ends at {previous})"),
                    );
                }
                previous = u;
            }
        }
    }
}

/// Tiers of a time-of-use period (none: the period has one price), reported under `period[i]`.
fn check_period_tiers(p: &mut Problems, at: &str, i: usize, tiers: &[Tier]) {
    if tiers.is_empty() {
        return;
    }
    p.nested(&format!("period[{i}]"), |p| check_tiers(p, at, tiers));
}

fn check_windows(p: &mut Problems, at: &str, periods: &[TouPeriod]) {
    for (i, period) in periods.iter().enumerate() {
        if period.when.months == 0 {
            p.push(
                Some(at),
                format!("period[{i}].months"),
                "",
                "no months selected",
            );
        }
        if period.when.days.is_empty() {
            p.push(
                Some(at),
                format!("period[{i}].days"),
                "",
                "no days selected",
            );
        }
        if period.when.hours == 0 || period.when.hours & !ALL_HOURS != 0 {
            p.push(
                Some(at),
                format!("period[{i}].hours"),
                "",
                "no hours selected",
            );
        }
    }
}

fn validate_component(c: &Component, at: &str, p: &mut Problems) {
    if !valid_code(&c.code) {
        p.push(
            Some(at),
            "code",
            &c.code,
            "a code is 1–64 characters of letters, digits, '.', '_' or '-'",
        );
    }
    if c.vat.is_none() {
        p.push(
            Some(at),
            "vat",
            "",
            format!(
                "every component needs a VAT treatment: one of {}",
                VatTreatment::CODES
            ),
        );
    }
    if let Some(to) = c.valid_to
        && to <= c.valid_from
    {
        p.push(
            Some(at),
            "valid_to",
            to,
            format!("must be after valid_from {}", c.valid_from),
        );
    }
    match &c.pricing {
        Pricing::Fixed { price, .. }
        | Pricing::Subscription { price, .. }
        | Pricing::OneOff { price, .. }
        | Pricing::Minimum { price, .. } => {
            check_price(p, at, "price", *price);
        }
        Pricing::Usage {
            price_per_unit,
            unit,
        } => {
            check_price(p, at, "price_per_unit", *price_per_unit);
            if unit.trim().is_empty() {
                p.push(
                    Some(at),
                    "unit",
                    unit,
                    "a usage service needs a unit, e.g. \"hour\"",
                );
            }
        }
        Pricing::Energy { price_per_kwh } => check_price(p, at, "price_per_kwh", *price_per_kwh),
        Pricing::TimeOfUse {
            default_price_per_kwh,
            periods,
            ..
        } => {
            if let Some(d) = default_price_per_kwh {
                check_price(p, at, "default_price_per_kwh", *d);
            }
            for (i, period) in periods.iter().enumerate() {
                check_price(p, at, &format!("period[{i}].price_per_kwh"), period.price);
                check_period_tiers(p, at, i, &period.tiers);
            }
            check_windows(p, at, periods);
            let mut uncovered = None;
            let mut overlap = None;
            for_each_cell(periods, |month, weekday, holiday, hour, hits| {
                if hits.is_empty() && default_price_per_kwh.is_none() && uncovered.is_none() {
                    uncovered = Some(cell_text(month, weekday, holiday, hour));
                }
                if hits.len() > 1 && overlap.is_none() {
                    overlap = Some((hits[0], hits[1], cell_text(month, weekday, holiday, hour)));
                }
            });
            if let Some(cell) = uncovered {
                p.push(Some(at), "period", cell, "the time-of-use calendar leaves this hour uncovered; add a period or a default_price_per_kwh");
            }
            if let Some((a, b, cell)) = overlap {
                p.push(
                    Some(at),
                    format!("period[{b}]"),
                    cell,
                    format!("periods {:?} and {:?} both match this hour; time-of-use periods must not overlap", periods[a].name, periods[b].name),
                );
            }
        }
        Pricing::TieredEnergy { tiers } => {
            check_tiers(p, at, tiers);
            if c.valid_from.day() != 1 || c.valid_to.is_some_and(|d| d.day() != 1) {
                p.push(Some(at), "valid_from", c.valid_from, "tiered energy blocks are monthly: versions must start and end on the 1st of a month");
            }
        }
        Pricing::Spot { markup_per_kwh, .. } => {
            check_price(p, at, "markup_per_kwh", *markup_per_kwh)
        }
        Pricing::Capacity { method, steps, .. } => {
            if let CapacityMethod::DailyPeaks { peaks } = method
                && !(1..=28).contains(peaks)
            {
                p.push(
                    Some(at),
                    "peaks",
                    peaks,
                    "the number of daily peaks must be 1–28 (the days of the shortest month)",
                );
            }
            if steps.is_empty() {
                p.push(
                    Some(at),
                    "step",
                    "",
                    "a capacity tariff needs at least one step",
                );
            }
            for (i, s) in steps.iter().enumerate() {
                check_price(p, at, &format!("step[{i}].price"), s.price);
                if i == 0 && !s.from.is_zero() {
                    p.push(
                        Some(at),
                        "step[0].from",
                        s.from,
                        "the first step must start at 0",
                    );
                }
                match (s.to, steps.get(i + 1)) {
                    (Some(to), _) if to <= s.from => {
                        p.push(Some(at), format!("step[{i}].to"), to, format!("must be above from = {}", s.from));
                    }
                    (Some(to), Some(next)) if next.from != to => p.push(
                        Some(at),
                        format!("step[{}].from", i + 1),
                        next.from,
                        format!("capacity steps must be contiguous: the previous step ends at {to}, so this one must start there ({})", if next.from > to { "gap" } else { "overlap" }),
                    ),
                    (None, Some(_)) => p.push(Some(at), format!("step[{i}].to"), "", "only the last step may be open-ended"),
                    (Some(to), None) => p.push(Some(at), format!("step[{i}].to"), to, "the last step must be open-ended (leave `to` out)"),
                    _ => {}
                }
            }
        }
        Pricing::Demand { tiers, .. } => check_tiers(p, at, tiers),
        Pricing::TouDemand { periods, .. } => {
            for (i, period) in periods.iter().enumerate() {
                check_price(p, at, &format!("period[{i}].price_per_kw"), period.price);
                check_period_tiers(p, at, i, &period.tiers);
            }
            if periods.is_empty() {
                p.push(Some(at), "period", "", "at least one period is needed");
            }
            check_windows(p, at, periods);
            let mut overlap = None;
            for_each_cell(periods, |month, weekday, holiday, hour, hits| {
                if hits.len() > 1 && overlap.is_none() {
                    overlap = Some((hits[1], cell_text(month, weekday, holiday, hour)));
                }
            });
            if let Some((b, cell)) = overlap {
                p.push(
                    Some(at),
                    format!("period[{b}]"),
                    cell,
                    "demand periods must not overlap",
                );
            }
        }
    }
}
