//! The rating engine: one metering point (or service), one period, one [`RatingPlan`] →
//! invoice lines with explanations, and diagnostics.
//!
//! The per-metering-point work is a few passes over integer slices: clock-hour sums and daily
//! maxima for capacity and demand; energy summed per run of intervals that share prices (from
//! the hour sums where there are any, and for spot products with an `i128` dot product with the
//! prices); and one branch-free pass per day for subsidies. Decimals appear only when the few
//! line amounts are finished.
//!
//! This module owns the inputs, the errors and the order of the work; each pricing kind has
//! its own module: [`energy`] (energy, time-of-use, tiered and spot lines), [`fees`] (fixed
//! fees, subscriptions, one-off, usage and minimum charges), [`capacity`] (capacity steps and
//! demand charges), [`taxes`] (statutory taxes, subsidies and price hedges) and [`kernels`]
//! (the integer loops they share).

mod capacity;
mod energy;
mod fees;
mod kernels;
mod taxes;

use std::sync::Arc;

use jiff::civil::Date;
use nordlys_core::model::{Market, PriceArea, UsageKind};
use nordlys_core::quantity::Currency;
use rust_decimal::Decimal;

use crate::decimal::{pico_to_decimal, price_to_nano};
use crate::invoice::{Diagnostic, InvoiceLine, Rating, Severity, VatCategory};
use crate::plan::{PlanError, RatingPlan};
use crate::product::{Pricing, VatTreatment};
use crate::statutory::Statutory;
use kernels::first_out_of_range;

/// Who and where is being rated: decides taxes, subsidies and VAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingContext {
    pub market: Market,
    pub price_area: PriceArea,
    /// Norwegian kommunenummer (4 digits) or Danish kommunekode; empty if unknown.
    pub municipality: String,
    pub usage: UsageKind,
    /// Whether this invoice carries the statutory charges (in Norway: the grid invoice).
    pub apply_statutory: bool,
    /// The day the metering point's Norgespris agreement took effect, if it has one: opt-in
    /// price-hedge charges apply from that day and the charges they replace (strømstøtte) before
    /// it, so an agreement made mid-month splits the month.
    pub norgespris_from: Option<Date>,
    /// Main fuse size, for capacity tariffs priced by fuse (`main_fuse`).
    pub main_fuse_amperes: Option<u32>,
}

/// The contract's supply span `[start, end)`; parts outside the period are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractSpan {
    pub start: Date,
    /// The first day *not* supplied (exclusive), if the contract ends.
    pub end: Option<Date>,
}

/// A quantity for a usage-priced service (e.g. consulting hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageQuantity<'a> {
    pub component: &'a str,
    pub quantity: Decimal,
}

/// One metering point's inputs for the plan's period.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeterInput<'a> {
    /// Dense energy series in Wh, one value per interval of the plan's resolution from the
    /// period's first local midnight, DST-correct ([`RatingPlan::intervals`] values).
    /// Intervals outside the contract span are ignored.
    pub energy_wh: &'a [i64],
    /// Area spot price per interval, aligned with `energy_wh`, in **nano** product currency
    /// per kWh — numerically the same as **micro** currency per MWh (45.67 NOK/MWh =
    /// `45_670_000`). See [`spot_price_from_mwh`].
    pub spot_price: Option<&'a [i64]>,
    /// Area consumption per interval, to weight monthly-average spot prices (optional).
    pub area_volume_wh: Option<&'a [i64]>,
    pub usage: &'a [UsageQuantity<'a>],
    pub contract: Option<ContractSpan>,
}

/// Convert a spot price per MWh (e.g. `45.67`) into the engine's scale, exactly.
pub fn spot_price_from_mwh(price_per_mwh: Decimal) -> Option<i64> {
    price_to_nano(price_per_mwh / Decimal::ONE_THOUSAND)
}

/// Largest |energy| of one interval the engine rates: 10^14 Wh (100 GWh in one interval, far
/// above any metering point). A period has at most [`crate::plan::MAX_PERIOD_DAYS`] days
/// (at most 35,140 quarter-hours), so every energy sum stays below 3.6 × 10^18 Wh, inside `i64`.
pub const MAX_INTERVAL_WH: i64 = 100_000_000_000_000;

/// Largest |price| per kWh the engine rates, in its nano scale: 10^15, i.e. 1,000,000
/// currency units per kWh. Energy × price, and every sum of them over a period, then fit
/// `i128` exactly; an amount too large for a line's decimal is a [`RateError::AmountOutOfRange`].
pub const MAX_PRICE_NANO: i64 = 1_000_000_000_000_000;

/// A pico amount as a line's decimal, or which line could not hold it.
fn amount_of(pico: i128, what: &str) -> Result<Decimal, RateError> {
    pico_to_decimal(pico).ok_or_else(|| RateError::AmountOutOfRange {
        what: what.to_owned(),
    })
}

/// Why a metering point could not be rated. Each says what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{what} has {got} values but the period has {expected} intervals at this resolution")]
    SeriesLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("the plan is for market {plan}, the metering point is in {context}")]
    MarketMismatch { plan: Market, context: Market },
    #[error(
        "statutory charges are in {market_currency} but the products are priced in {product_currency}"
    )]
    CurrencyMismatch {
        product_currency: Currency,
        market_currency: Currency,
    },
    #[error(
        "the contract ({start}..{end}) does not overlap the period {period_start}..{period_end}"
    )]
    ContractOutsidePeriod {
        start: Date,
        end: String,
        period_start: Date,
        period_end: Date,
    },
    #[error("{code}: spot prices are needed for this metering point but none were given")]
    MissingSpotPrices { code: String },
    #[error(
        "product {product:?}, component {component:?}: capacity method {method} cannot be rated: {reason}"
    )]
    Unsupported {
        product: String,
        component: String,
        method: &'static str,
        reason: &'static str,
    },
    #[error(
        "product {product:?}, component {component:?}: priced by the main fuse size, which is not known for this metering point (column main_fuse_amperes of the metering points; --main-fuse-amperes for `nordlys rate`)"
    )]
    MissingMainFuse { product: String, component: String },
    #[error("statutory table has no {charge} rate for {date}; load an updated statutory table")]
    NoStatutoryRate { charge: String, date: Date },
    #[error(
        "{scheme} starts {starts}: the metering point's {scheme} agreement from {agreement} is dated before the scheme began (charge {charge} of the statutory table)"
    )]
    AgreementBeforeScheme {
        charge: String,
        scheme: String,
        agreement: Date,
        starts: Date,
    },
    #[error(
        "{what}[{index}] (interval starting {at}) = {value} is outside what the engine rates: at most ±{max} {unit} (documented bounds keep every sum exact)"
    )]
    ValueOutOfRange {
        what: &'static str,
        index: i64,
        at: String,
        value: i64,
        max: i64,
        unit: &'static str,
    },
    #[error(
        "{what}: the amount exceeds what an invoice line can hold exactly (about ±7.9 × 10^16 currency units); check the readings and prices"
    )]
    AmountOutOfRange { what: String },
    #[error(
        "{code}: the area volumes of {month} sum to zero, so the volume-weighted average spot price is undefined"
    )]
    NoAreaVolume { code: String, month: Date },
    #[error("statutory charge {charge} applies to usage {usage} but has no monthly cap for it")]
    NoCapForUsage { charge: String, usage: UsageKind },
    #[error(
        "usage quantity given for {component:?}, which no product in the plan has as a usage component"
    )]
    UnknownUsageComponent { component: String },
}

/// Reusable buffers, so a billing run does not allocate per metering point.
#[derive(Debug, Default)]
pub struct Scratch {
    class_wh: Vec<i64>,
    class_spot: Vec<i128>,
    bucket_wh: Vec<i64>,
    bucket_spot: Vec<i128>,
    hour_wh: Vec<i64>,
    /// Per day of the period: (max clock-hour energy, hour index).
    daily_max: Vec<(i64, u32)>,
    peaks: Vec<(i64, u32)>,
    /// One day's clock-hour energy and average spot price, for subsidies on an hourly basis.
    basis_wh: Vec<i64>,
    basis_price: Vec<i64>,
}

/// Rate one metering point without keeping a plan (builds one; prefer [`RatingPlan`] for runs).
pub fn rate(
    products: &[crate::product::Product],
    statutory: &crate::statutory::Statutory,
    context: &RatingContext,
    period: nordlys_core::time::LocalPeriod,
    resolution: nordlys_core::time::Resolution,
    input: &MeterInput,
) -> Result<Rating, RateError> {
    RatingPlan::new(products, statutory, context.market, period, resolution)?.rate(context, input)
}

struct Active {
    da: u32,
    db: u32,
    ia: usize,
    ib: usize,
    from: Date,
    to: Date,
}

/// VAT per treatment for one metering point, looked up once per rating rather than per line.
struct Vats {
    standard: (VatCategory, Decimal),
    electricity: (VatCategory, Decimal),
    zero: (VatCategory, Decimal),
    exempt: (VatCategory, Decimal),
}

impl Vats {
    fn new(st: &Statutory, ctx: &RatingContext) -> Self {
        let of = |t: VatTreatment| st.vat_for(t, ctx.market, ctx.usage, &ctx.municipality);
        Vats {
            standard: of(VatTreatment::Standard),
            electricity: of(VatTreatment::Electricity),
            zero: of(VatTreatment::Zero),
            exempt: of(VatTreatment::Exempt),
        }
    }

    fn of(&self, t: VatTreatment) -> (VatCategory, Decimal) {
        match t {
            VatTreatment::Standard => self.standard,
            VatTreatment::Electricity => self.electricity,
            VatTreatment::Zero => self.zero,
            VatTreatment::Exempt => self.exempt,
        }
    }
}

impl RatingPlan {
    /// Rate one metering point.
    pub fn rate(&self, context: &RatingContext, input: &MeterInput) -> Result<Rating, RateError> {
        self.rate_with(&mut Scratch::default(), context, input)
    }

    /// Rate one metering point reusing `scratch` buffers.
    pub fn rate_with(
        &self,
        scratch: &mut Scratch,
        ctx: &RatingContext,
        input: &MeterInput,
    ) -> Result<Rating, RateError> {
        let n = self.intervals;
        let zeros;
        let mut input = *input;
        if input.energy_wh.is_empty() && !self.metered() {
            // A non-metered product (broadband, services): no series needed.
            zeros = vec![0; n];
            input.energy_wh = &zeros;
        }
        let input = &input;
        if input.energy_wh.len() != n {
            return Err(RateError::SeriesLength {
                what: "energy_wh",
                expected: n,
                got: input.energy_wh.len(),
            });
        }
        if let Some(s) = input.spot_price
            && s.len() != n
        {
            return Err(RateError::SeriesLength {
                what: "spot_price",
                expected: n,
                got: s.len(),
            });
        }
        if let Some(v) = input.area_volume_wh
            && v.len() != n
        {
            return Err(RateError::SeriesLength {
                what: "area_volume_wh",
                expected: n,
                got: v.len(),
            });
        }
        let bounded = [
            (
                "energy_wh",
                Some(input.energy_wh),
                MAX_INTERVAL_WH,
                "Wh per interval",
            ),
            (
                "spot_price",
                input.spot_price,
                MAX_PRICE_NANO,
                "nano currency units per kWh",
            ),
            (
                "area_volume_wh",
                input.area_volume_wh,
                MAX_INTERVAL_WH,
                "Wh per interval",
            ),
        ];
        for (what, values, max, unit) in bounded {
            if let Some((index, value)) = values.and_then(|v| first_out_of_range(v, max)) {
                return Err(RateError::ValueOutOfRange {
                    what,
                    index,
                    at: self.interval_start(index),
                    value,
                    max,
                    unit,
                });
            }
        }
        if ctx.market != self.market {
            return Err(RateError::MarketMismatch {
                plan: self.market,
                context: ctx.market,
            });
        }
        if ctx.apply_statutory && self.currency != ctx.market.currency() {
            return Err(RateError::CurrencyMismatch {
                product_currency: self.currency,
                market_currency: ctx.market.currency(),
            });
        }
        let period = self.period;
        let mut diagnostics = Vec::new();
        let (from, to) = match input.contract {
            None => (period.start, period.end),
            Some(c) => {
                let from = c.start.max(period.start);
                let to = c.end.map_or(period.end, |e| e.min(period.end));
                if from >= to {
                    return Err(RateError::ContractOutsidePeriod {
                        start: c.start,
                        end: c.end.map_or_else(|| "open".to_owned(), |d| d.to_string()),
                        period_start: period.start,
                        period_end: period.end,
                    });
                }
                if c.start > period.start {
                    diagnostics.push(info(
                        "contract",
                        format!(
                            "supply starts {}: monthly amounts are prorated by days",
                            c.start
                        ),
                    ));
                }
                if let Some(end) = c.end
                    && end < period.end
                {
                    diagnostics.push(info(
                        "contract",
                        format!("final settlement: supply ends before {end}"),
                    ));
                }
                (from, to)
            }
        };
        // Non-negative (from, to ≥ period.start) and at most MAX_PERIOD_DAYS.
        let da = (from - period.start).get_days().unsigned_abs();
        let db = (to - period.start).get_days().unsigned_abs();
        let active = Active {
            da,
            db,
            ia: self.days[da as usize].first_interval as usize,
            ib: self.days[db as usize].first_interval as usize,
            from,
            to,
        };
        for u in input.usage {
            let known = self.groups.iter().any(|g| {
                &*g.code == u.component
                    && g.versions.iter().any(|v| {
                        matches!(
                            self.products[g.product].components[v.component].pricing,
                            Pricing::Usage { .. }
                        )
                    })
            });
            if !known {
                return Err(RateError::UnknownUsageComponent {
                    component: u.component.to_owned(),
                });
            }
        }

        let charges = self.charge_days(ctx, &active)?;
        let vats = Vats::new(&self.statutory, ctx);
        self.energy_passes(scratch, input, &active)?;
        let mut lines = Vec::new();
        self.product_lines(
            scratch,
            ctx,
            input,
            &active,
            &vats,
            &mut lines,
            &mut diagnostics,
        )?;
        self.minimum_lines(&active, &vats, &mut lines);
        self.statutory_lines(
            scratch,
            ctx,
            input,
            &active,
            &charges,
            &vats,
            &mut lines,
            &mut diagnostics,
        )?;
        Ok(Rating { lines, diagnostics })
    }

    /// The lines of every product component, in product order (minimum charges come after).
    #[allow(clippy::too_many_arguments)]
    fn product_lines(
        &self,
        scratch: &mut Scratch,
        ctx: &RatingContext,
        input: &MeterInput,
        active: &Active,
        vats: &Vats,
        lines: &mut Vec<InvoiceLine>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<(), RateError> {
        for g in &self.groups {
            if g.versions.is_empty() {
                continue;
            }
            let product = &self.products[g.product];
            let first = &product.components[g.versions[0].component];
            let line_vat = vats.of(g.vat);
            match &first.pricing {
                Pricing::Energy { .. }
                | Pricing::TimeOfUse { .. }
                | Pricing::TieredEnergy { .. }
                | Pricing::Spot { .. } => {
                    if let Some(si) = g.slot {
                        self.energy_lines(si, scratch, input, active, line_vat, lines)?;
                    }
                }
                Pricing::Fixed { .. } | Pricing::Subscription { .. } => {
                    self.fixed_lines(g, active, line_vat, lines);
                }
                Pricing::Capacity { .. } => {
                    self.capacity_lines(g, scratch, ctx, active, line_vat, lines, diagnostics)?;
                }
                Pricing::Demand { .. } | Pricing::TouDemand { .. } => {
                    self.demand_lines(g, scratch, input.energy_wh, active, line_vat, lines)?;
                }
                Pricing::OneOff { .. } => self.one_off_lines(g, input, line_vat, lines),
                // Applied after every other component of the product (`minimum_lines`).
                Pricing::Minimum { .. } => {}
                Pricing::Usage { .. } => {
                    self.usage_line(g, input, active, line_vat, lines, diagnostics);
                }
            }
        }
        Ok(())
    }

    /// Whether any product component prices metered energy (energy, spot, capacity, demand).
    pub fn metered(&self) -> bool {
        self.needs_hours || self.groups.iter().any(|g| g.slot.is_some())
    }

    fn first_spot_code(&self) -> String {
        self.groups
            .iter()
            .find(|g| {
                g.slot.is_some()
                    && g.versions.iter().any(|v| {
                        matches!(
                            self.products[g.product].components[v.component].pricing,
                            Pricing::Spot { .. }
                        )
                    })
            })
            .map_or_else(|| "spot".to_owned(), |g| g.code.to_string())
    }

    /// The local start of interval `index`, for messages.
    fn interval_start(&self, index: i64) -> String {
        let start = nordlys_core::time::start_of_local_day(self.period.start, &self.tz);
        index
            .checked_mul(self.resolution.seconds())
            .and_then(|s| start.checked_add(jiff::SignedDuration::from_secs(s)).ok())
            .map_or_else(
                || format!("{index} intervals after {}", self.period.start),
                |t| {
                    self.tz
                        .to_datetime(t)
                        .strftime("%Y-%m-%d %H:%M")
                        .to_string()
                },
            )
    }

    fn day_index(&self, d: Date) -> u32 {
        if d <= self.period.start {
            0
        } else if d >= self.period.end {
            (self.days.len() - 1) as u32
        } else {
            (d - self.period.start).get_days().unsigned_abs()
        }
    }

    /// Month segments intersected with the active days: (month index, first day, end day).
    fn active_months(&self, a: &Active) -> impl Iterator<Item = (usize, u32, u32)> + '_ {
        let (da, db) = (a.da, a.db);
        self.months.iter().enumerate().filter_map(move |(m, seg)| {
            let (s, e) = (seg.first_day.max(da), seg.end_day.min(db));
            (s < e).then_some((m, s, e))
        })
    }
}

fn info(code: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Info,
        code: Arc::from(code),
        message,
    }
}
