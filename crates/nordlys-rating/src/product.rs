//! Products as data: a product is a list of price components, each valid for a date range
//! `[valid_from, valid_to)` so a new price list is a new version and never rewrites the
//! past. [`Product::validate`] rejects products that are incomplete or contradictory and
//! says what and where (component code, field, value).
//!
//! These are domain types; the file format lives in [`crate::format`] (TOML) and
//! [`crate::fri_nettleie`] (YAML import).
//!
//! The model is here; its checks and their error types are in `product/validate.rs`.

mod validate;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use nordlys_core::model::UsageKind;
use nordlys_core::quantity::Currency;
use rust_decimal::Decimal;

use crate::calendar::{HolidayCalendar, TimeWindow};

pub(crate) use validate::Problems;
pub use validate::{ProductError, ProductErrors};

/// A sellable product (supplier product, grid tariff, non-metered service).
#[derive(Debug, Clone)]
pub struct Product {
    pub code: String,
    pub name: String,
    pub currency: Currency,
    /// IANA zone name; days, months and tariff hours are local to it.
    pub time_zone_name: String,
    pub time_zone: TimeZone,
    pub holidays: HolidayCalendar,
    pub components: Vec<Component>,
    /// The kind of use the product is published for (a fri-nettleie customer group:
    /// `husholdning`, `fritid`, `liten_næring`); `None`: any.
    pub usage: Option<UsageKind>,
}

/// One price component in force over `[valid_from, valid_to)`. Several components may share
/// a code: they are the versions of one price over time and must not overlap.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub code: String,
    pub name: String,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    /// Required; `None` only so that [`Product::validate`] can name the omission.
    pub vat: Option<VatTreatment>,
    pub pricing: Pricing,
}

impl Component {
    /// Whether this version is in force on `date`.
    pub fn valid_on(&self, date: Date) -> bool {
        date >= self.valid_from && self.valid_to.is_none_or(|to| date < to)
    }
}

/// How VAT applies to a component. The rate itself comes from the statutory tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VatTreatment {
    /// The market's standard rate, everywhere (broadband, services).
    Standard,
    /// The standard rate, except where the statutory tables zero-rate energy for the usage
    /// and place (Norwegian households in Nordland, Troms and Finnmark).
    Electricity,
    /// Zero-rated (EN 16931 category Z).
    Zero,
    /// Exempt / outside the scope of VAT (category E).
    Exempt,
}

impl VatTreatment {
    pub const CODES: &'static str = "standard, electricity, zero, exempt";
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "standard" => VatTreatment::Standard,
            "electricity" => VatTreatment::Electricity,
            "zero" => VatTreatment::Zero,
            "exempt" => VatTreatment::Exempt,
            _ => return None,
        })
    }
    pub fn code(self) -> &'static str {
        match self {
            VatTreatment::Standard => "standard",
            VatTreatment::Electricity => "electricity",
            VatTreatment::Zero => "zero",
            VatTreatment::Exempt => "exempt",
        }
    }
}

/// The period a recurring price is quoted for. Monthly amounts are prorated by days for
/// partial months; a yearly price is divided by 12 into a monthly one (the Norwegian grid
/// convention: "kr/år → /12 per måned"); a daily price is charged per active day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeePeriod {
    Day,
    Month,
    Year,
}

impl FeePeriod {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "day" => FeePeriod::Day,
            "month" => FeePeriod::Month,
            "year" => FeePeriod::Year,
            _ => return None,
        })
    }
    pub fn code(self) -> &'static str {
        match self {
            FeePeriod::Day => "day",
            FeePeriod::Month => "month",
            FeePeriod::Year => "year",
        }
    }
}

/// When a one-off fee is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneOffTrigger {
    /// In the period containing the contract's start date.
    Start,
    /// In the period containing the contract's last day (final settlement).
    End,
}

/// How a spot-indexed price uses the area price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpotAveraging {
    /// Area price of each interval × the energy of that interval ("time for time").
    Interval,
    /// One price per calendar month: the area's volume-weighted average when area volumes
    /// are given to the engine, else the time-weighted average of the month's prices.
    MonthlyAverage,
}

/// How the capacity (kW) that selects a step is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityMethod {
    /// Average of the `peaks` highest daily maxima of clock-hour energy, on different days,
    /// in the calendar month (fri-nettleie `TRE_DØGNMAX_MND` with 3).
    DailyPeaks { peaks: u8 },
    /// The single highest clock hour in the month (`MND_MAX`).
    MonthlyMax,
    /// Main fuse size in amperes, taken from the rating context (`OV_TREFASE`).
    MainFuse,
    /// Five highest weekly maxima over 12 months, season-weighted (`FEM_VEKTET_ÅR`).
    /// Accepted as data; the engine refuses it (needs a year of history).
    WeightedWeeklyPeaksYear,
    /// The source did not say (`UKJENT`). Accepted as data; the engine refuses it.
    Unknown,
}

impl CapacityMethod {
    pub fn code(self) -> &'static str {
        match self {
            CapacityMethod::DailyPeaks { .. } => "daily_peaks",
            CapacityMethod::MonthlyMax => "monthly_max",
            CapacityMethod::MainFuse => "main_fuse",
            CapacityMethod::WeightedWeeklyPeaksYear => "weighted_weekly_peaks_year",
            CapacityMethod::Unknown => "unknown",
        }
    }
}

/// One capacity step `[from, to)` (or `(from, to]`, see `threshold_inclusive`), in kW or,
/// for [`CapacityMethod::MainFuse`], amperes. The last step has no `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityStep {
    pub from: Decimal,
    pub to: Option<Decimal>,
    pub price: Decimal,
}

/// What a demand charge measures: the highest clock hour (kWh/h = kW) or the highest
/// metering interval scaled to kW.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandMeasure {
    Hour,
    Interval,
}

/// A block of a tiered price: applies up to `up_to` (kWh or kW) of the month; the last has none.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub up_to: Option<Decimal>,
    pub price: Decimal,
}

/// A named time-of-use period with its price per kWh (or per kW for demand).
#[derive(Debug, Clone, PartialEq)]
pub struct TouPeriod {
    pub name: String,
    pub when: TimeWindow,
    pub price: Decimal,
    /// Block prices by the month's energy (or demand) in this period; empty: `price` flat.
    pub tiers: Vec<Tier>,
}

impl TouPeriod {
    /// Whether two entries are one period: the same name and the same prices (their hours add up).
    pub fn is_same_period(&self, other: &TouPeriod) -> bool {
        self.name == other.name && self.price == other.price && self.tiers == other.tiers
    }
}

/// How a component prices. Each variant maps to one invoice line kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Pricing {
    /// Fixed fee (line kind `fixed`).
    Fixed { price: Decimal, per: FeePeriod },
    /// Non-metered subscription (line kind `subscription`).
    Subscription { price: Decimal, per: FeePeriod },
    /// One-off fee (line kind `fee`).
    OneOff { price: Decimal, on: OneOffTrigger },
    /// A service priced per unit of a quantity given as input (line kind `usage`).
    Usage {
        price_per_unit: Decimal,
        unit: String,
    },
    /// A fixed price per kWh (line kind `energy`).
    Energy { price_per_kwh: Decimal },
    /// Time-of-use price per kWh; hours no period matches take `default_price_per_kwh`.
    TimeOfUse {
        default_price_per_kwh: Option<Decimal>,
        default_name: String,
        periods: Vec<TouPeriod>,
    },
    /// Block prices per kWh by the month's cumulative energy (line kind `energy`).
    TieredEnergy { tiers: Vec<Tier> },
    /// Area price × factor + markup per kWh (line kind `spot`).
    Spot {
        factor: Decimal,
        markup_per_kwh: Decimal,
        averaging: SpotAveraging,
    },
    /// Stepped capacity fee per month (line kind `capacity`).
    Capacity {
        method: CapacityMethod,
        threshold_inclusive: bool,
        per: FeePeriod,
        steps: Vec<CapacityStep>,
    },
    /// Monthly maximum demand, price per kW per month; tiers split the kW into blocks
    /// (one tier = flat) (line kind `demand`).
    Demand {
        measure: DemandMeasure,
        tiers: Vec<Tier>,
    },
    /// A floor under the product's charges of each month: when the product's other lines of
    /// the month sum to less, a `fee` line adds the difference (prorated like a fixed fee).
    Minimum { price: Decimal, per: FeePeriod },
    /// Maximum demand within each time-of-use period, per kW per month (line kind `demand`).
    /// Periods sharing a name and price are one period whose hours are the union of theirs.
    TouDemand {
        measure: DemandMeasure,
        periods: Vec<TouPeriod>,
    },
}

impl Pricing {
    /// The `kind` code used in product files.
    pub fn kind_code(&self) -> &'static str {
        match self {
            Pricing::Fixed { .. } => "fixed",
            Pricing::Subscription { .. } => "subscription",
            Pricing::OneOff { .. } => "one_off",
            Pricing::Usage { .. } => "usage",
            Pricing::Energy { .. } => "energy",
            Pricing::TimeOfUse { .. } => "time_of_use",
            Pricing::TieredEnergy { .. } => "tiered_energy",
            Pricing::Spot { .. } => "spot",
            Pricing::Capacity { .. } => "capacity",
            Pricing::Demand { .. } => "demand",
            Pricing::TouDemand { .. } => "time_of_use_demand",
            Pricing::Minimum { .. } => "minimum",
        }
    }
}
