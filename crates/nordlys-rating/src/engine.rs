//! The rating engine: one metering point (or service), one period, one [`RatingPlan`] →
//! invoice lines with explanations, and diagnostics.
//!
//! The per-metering-point work is a few passes over integer slices: clock-hour sums and daily
//! maxima for capacity and demand; energy summed per run of intervals that share prices (from
//! the hour sums where there are any, and for spot products with an `i128` dot product with the
//! prices); and one branch-free pass per day for subsidies. Decimals appear only when the few
//! line amounts are finished.

use std::sync::Arc;

use jiff::civil::Date;
use nordlys_core::model::{Market, PriceArea, UsageKind};
use nordlys_core::quantity::Currency;
use rust_decimal::Decimal;

use crate::decimal::{pico_to_decimal, price_to_nano, round_display, wh_to_kwh};
use crate::invoice::{
    Diagnostic, Explanation, HourPeak, InvoiceLine, LineKind, LineUnit, Rating, Severity,
    VatCategory, average_unit_price, price_decimal,
};
use crate::plan::{NONE, PlanError, RatingPlan, SlotSource};
use crate::product::{
    CapacityMethod, DemandMeasure, FeePeriod, OneOffTrigger, Pricing, SpotAveraging, Tier,
    VatTreatment,
};
use crate::statutory::{ChargeRule, SpotBasis};

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

/// The first value of `values` outside `±max`, with its index.
fn first_out_of_range(values: &[i64], max: i64) -> Option<(i64, i64)> {
    // One branch-free pass (it vectorises); the position is looked for only when one is off.
    let off = values
        .iter()
        .fold(false, |off, &v| off | (v > max) | (v < -max));
    if !off {
        return None;
    }
    (0i64..)
        .zip(values.iter().copied())
        .find(|&(_, v)| v > max || v < -max)
}

/// A pico amount as a line's decimal, or which line could not hold it.
fn amount_of(pico: i128, what: &str) -> Result<Decimal, RateError> {
    pico_to_decimal(pico).ok_or_else(|| RateError::AmountOutOfRange {
        what: what.to_owned(),
    })
}

/// The scheme's name as a customer knows it: the charge's name without a parenthesised
/// subtitle ("Norgespris (prissikringsbeløp)" → "Norgespris").
fn scheme_name(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name).trim()
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

/// One day of a series on the hourly basis of spot subsidies: per clock hour the energy and
/// the time average of the hour's prices in the engine's scale, rounded half away from zero
/// (the rounding the caller applies when it prices an hourly series from quarter-hour prices).
fn hourly_basis(
    energy: &[i64],
    spot: &[i64],
    (per_hour, n): (usize, i64),
    hour_wh: &mut Vec<i64>,
    hour_price: &mut Vec<i64>,
) {
    hour_wh.clear();
    hour_price.clear();
    // `n` = `per_hour` intervals (2 or 4): the sums stay within i64 for prices and energies
    // inside their checked bounds.
    for (e, p) in energy
        .chunks_exact(per_hour)
        .zip(spot.chunks_exact(per_hour))
    {
        hour_wh.push(e.iter().sum());
        let sum: i64 = p.iter().sum();
        let (quotient, remainder) = (sum / n, sum % n);
        let away = if 2 * remainder.abs() >= n {
            sum.signum()
        } else {
            0
        };
        hour_price.push(quotient + away);
    }
}

/// `Σ a[i] × b[i]` exactly, with four independent accumulators so that the 128-bit additions
/// do not wait on each other.
#[inline]
fn dot(a: &[i64], b: &[i64]) -> i128 {
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let rest: i128 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&x, &y)| i128::from(x) * i128::from(y))
        .sum();
    let mut acc = [0i128; 4];
    for (x4, y4) in a_chunks.zip(b_chunks) {
        for k in 0..4 {
            acc[k] += i128::from(x4[k]) * i128::from(y4[k]);
        }
    }
    acc.iter().sum::<i128>() + rest
}

/// One day of a spot subsidy or price hedge, as if the monthly cap were not reached.
struct SubsidyDay {
    /// Σ Wh × nano per kWh: energy × (spot − threshold) where spot is above the threshold for a
    /// subsidy, energy × (threshold − spot) for a hedge.
    amount_pico: i128,
    /// Consumed Wh the subsidy pays for (a hedge covers every consumed Wh).
    covered_wh: i64,
    /// Every consumed Wh of the day, which counts against the cap.
    consumed_wh: i64,
}

/// Computes [`SubsidyDay`] without branches on the price (its comparison with the threshold is
/// unpredictable); the amount in two independent 128-bit accumulators.
#[inline]
fn subsidy_below_cap(energy: &[i64], spot: &[i64], threshold: i64, hedge: bool) -> SubsidyDay {
    // Readings are rarely negative: a plain sum with a sign check vectorises, `max(0)` does not.
    let (sum_wh, any_bits) = energy
        .iter()
        .fold((0i64, 0i64), |(sum, bits), &w| (sum + w, bits | w));
    let consumed_wh = if any_bits < 0 {
        energy.iter().map(|&w| w.max(0)).sum()
    } else {
        sum_wh
    };
    let mut amount = [0i128; 2];
    let mut covered_wh = 0i64;
    let (energy_pairs, spot_pairs) = (energy.chunks_exact(2), spot.chunks_exact(2));
    let last = energy_pairs
        .remainder()
        .first()
        .zip(spot_pairs.remainder().first());
    if hedge {
        for (w2, p2) in energy_pairs.zip(spot_pairs) {
            for k in 0..2 {
                amount[k] += i128::from(w2[k].max(0)) * i128::from(threshold - p2[k]);
            }
        }
        if let Some((&w, &p)) = last {
            amount[0] += i128::from(w.max(0)) * i128::from(threshold - p);
        }
        covered_wh = consumed_wh;
    } else {
        let mut term = |k: usize, w: i64, p: i64| {
            let (w, above) = (w.max(0), (p - threshold).max(0));
            amount[k] += i128::from(w) * i128::from(above);
            covered_wh += if above > 0 { w } else { 0 };
        };
        for (w2, p2) in energy_pairs.zip(spot_pairs) {
            term(0, w2[0], p2[0]);
            term(1, w2[1], p2[1]);
        }
        if let Some((&w, &p)) = last {
            term(0, w, p);
        }
    }
    SubsidyDay {
        amount_pico: amount[0] + amount[1],
        covered_wh,
        consumed_wh,
    }
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

        // Which statutory charges apply.
        let st = &self.statutory;
        let mut charge_applies: Vec<bool> = st
            .charges
            .iter()
            .map(|c| ctx.apply_statutory && st.applies(c, ctx.market, ctx.usage, &ctx.municipality))
            .collect();
        // Active days of each charge: an opt-in charge from the agreement's first day, the
        // charges it replaces up to that day.
        let mut charge_days: Vec<(u32, u32)> = vec![(active.da, active.db); st.charges.len()];
        let opt_in_day = ctx
            .norgespris_from
            .map(|d| self.day_index(d.max(active.from)));
        for (i, c) in st.charges.iter().enumerate() {
            if !c.opt_in || !charge_applies[i] {
                continue;
            }
            if let (Some(agreement), Some(first_rate)) = (ctx.norgespris_from, c.rates.first())
                && agreement < first_rate.from
            {
                return Err(RateError::AgreementBeforeScheme {
                    charge: c.code.clone(),
                    scheme: scheme_name(&c.name).to_owned(),
                    agreement,
                    starts: first_rate.from,
                });
            }
            let Some(first) = opt_in_day.filter(|&d| d < active.db) else {
                charge_applies[i] = false;
                continue;
            };
            charge_days[i].0 = first;
            if let ChargeRule::PriceHedge { replaces, .. } = &c.rule {
                for (j, other) in st.charges.iter().enumerate() {
                    if replaces.contains(&other.code) {
                        charge_days[j].1 = charge_days[j].1.min(first);
                    }
                }
            }
        }
        for (applies, (first, end)) in charge_applies.iter_mut().zip(&charge_days) {
            *applies &= first < end;
        }
        // VAT per treatment, looked up once per rating rather than once per line.
        let vat_of = |t: VatTreatment| st.vat_for(t, ctx.market, ctx.usage, &ctx.municipality);
        let (vat_standard, vat_electricity, vat_zero, vat_exempt) = (
            vat_of(VatTreatment::Standard),
            vat_of(VatTreatment::Electricity),
            vat_of(VatTreatment::Zero),
            vat_of(VatTreatment::Exempt),
        );
        let vat = |t: VatTreatment| match t {
            VatTreatment::Standard => vat_standard,
            VatTreatment::Electricity => vat_electricity,
            VatTreatment::Zero => vat_zero,
            VatTreatment::Exempt => vat_exempt,
        };

        let energy = input.energy_wh;
        let spot_sum_needed = self.needs_spot_sum
            && self.groups.iter().any(|g| {
                g.slot.is_some()
                    && g.versions.iter().any(|v| {
                        v.day_from < active.db
                            && v.day_to > active.da
                            && matches!(
                                self.products[g.product].components[v.component].pricing,
                                Pricing::Spot {
                                    averaging: SpotAveraging::Interval,
                                    ..
                                }
                            )
                    })
            });
        // Monthly-average spot products need the prices too (never an average of nothing).
        let spot_needed = spot_sum_needed
            || self.groups.iter().any(|g| {
                g.slot.is_some()
                    && g.versions.iter().any(|v| {
                        v.day_from < active.db
                            && v.day_to > active.da
                            && matches!(
                                self.products[g.product].components[v.component].pricing,
                                Pricing::Spot { .. }
                            )
                    })
            });
        let spot = match (spot_needed, input.spot_price) {
            (true, None) => {
                return Err(RateError::MissingSpotPrices {
                    code: self.first_spot_code(),
                });
            }
            (_, s) => s,
        };
        // Pass 1: clock-hour energy and daily maxima, when capacity or demand is priced.
        if self.needs_hours {
            self.hour_pass(scratch, energy, &active);
        }

        // Pass 2: energy per class (and energy × spot). Runs begin and end on clock hours, so
        // without spot the hour sums of pass 1 serve, a quarter of the additions at 15 minutes.
        let classes = self.classes;
        scratch.class_wh.clear();
        scratch.class_wh.resize(classes, 0);
        scratch.class_spot.clear();
        scratch.class_spot.resize(classes, 0);
        for run in &self.runs {
            let s = (run.start as usize).max(active.ia);
            let e = (run.end as usize).min(active.ib);
            if s >= e {
                continue;
            }
            let seg = &energy[s..e];
            if spot_sum_needed && let Some(spot) = spot {
                scratch.class_wh[run.class as usize] += seg.iter().sum::<i64>();
                scratch.class_spot[run.class as usize] += dot(seg, &spot[s..e]);
            } else if self.needs_hours {
                let hours = &scratch.hour_wh[s / self.per_hour..e / self.per_hour];
                scratch.class_wh[run.class as usize] += hours.iter().sum::<i64>();
            } else {
                scratch.class_wh[run.class as usize] += seg.iter().sum::<i64>();
            }
        }
        let slots = self.slots.len();
        scratch.bucket_wh.clear();
        scratch.bucket_wh.resize(self.buckets.len(), 0);
        scratch.bucket_spot.clear();
        scratch.bucket_spot.resize(self.buckets.len(), 0);
        for c in 0..classes {
            for b in &self.class_buckets[c * slots..(c + 1) * slots] {
                if *b != NONE {
                    scratch.bucket_wh[*b as usize] += scratch.class_wh[c];
                    scratch.bucket_spot[*b as usize] += scratch.class_spot[c];
                }
            }
        }

        let mut lines = Vec::new();
        for g in &self.groups {
            if g.versions.is_empty() {
                continue;
            }
            let product = &self.products[g.product];
            let first = &product.components[g.versions[0].component];
            let line_vat = vat(g.vat);
            match &first.pricing {
                Pricing::Energy { .. }
                | Pricing::TimeOfUse { .. }
                | Pricing::TieredEnergy { .. }
                | Pricing::Spot { .. } => {
                    if let Some(si) = g.slot {
                        self.energy_lines(si, scratch, input, &active, line_vat, &mut lines)?;
                    }
                }
                Pricing::Fixed { .. } | Pricing::Subscription { .. } => {
                    for (m, s, e) in self.active_months(&active) {
                        for v in &g.versions {
                            let (vs, ve) = (s.max(v.day_from), e.min(v.day_to));
                            if vs >= ve {
                                continue;
                            }
                            let (kind, price, per) = match &product.components[v.component].pricing
                            {
                                Pricing::Fixed { price, per } => (LineKind::Fixed, *price, *per),
                                Pricing::Subscription { price, per } => {
                                    (LineKind::Subscription, *price, *per)
                                }
                                _ => continue,
                            };
                            lines.push(self.fee_line(
                                kind, &g.source, &g.code, &g.name, m, vs, ve, price, per, line_vat,
                            ));
                        }
                    }
                }
                Pricing::Capacity { .. } => self.capacity_lines(
                    g,
                    scratch,
                    ctx,
                    &active,
                    line_vat,
                    &mut lines,
                    &mut diagnostics,
                )?,
                Pricing::Demand { .. } | Pricing::TouDemand { .. } => {
                    self.demand_lines(g, scratch, energy, &active, line_vat, &mut lines)?
                }
                Pricing::OneOff { .. } => {
                    let Some(contract) = input.contract else {
                        continue;
                    };
                    for v in &g.versions {
                        let c = &product.components[v.component];
                        let Pricing::OneOff { price, on } = &c.pricing else {
                            continue;
                        };
                        let day = match on {
                            OneOffTrigger::Start => Some(contract.start),
                            OneOffTrigger::End => contract.end.and_then(|e| e.yesterday().ok()),
                        };
                        if let Some(day) = day
                            && day >= period.start
                            && day < period.end
                            && c.valid_on(day)
                        {
                            let mut line = InvoiceLine::new(
                                LineKind::Fee,
                                &g.source,
                                &g.code,
                                &g.name,
                                (day, day.tomorrow().unwrap_or(day)),
                                Decimal::ONE,
                                LineUnit::Piece,
                                *price,
                                *price,
                                line_vat,
                            );
                            line.explanation.push(Explanation::Note(Arc::from(match on {
                                OneOffTrigger::Start => "charged once at the start of the contract",
                                OneOffTrigger::End => "charged once at the end of the contract",
                            })));
                            lines.push(line);
                        }
                    }
                }
                // Applied after every other component of the product, below.
                Pricing::Minimum { .. } => {}
                Pricing::Usage { .. } => {
                    let Some(q) = input.usage.iter().find(|u| u.component == &*g.code) else {
                        diagnostics.push(info(
                            &g.code,
                            "no usage quantity given: nothing charged".to_owned(),
                        ));
                        continue;
                    };
                    let Some(v) = g
                        .versions
                        .iter()
                        .find(|v| v.day_from <= active.da && v.day_to > active.da)
                        .or_else(|| {
                            g.versions
                                .iter()
                                .find(|v| v.day_from < active.db && v.day_to > active.da)
                        })
                    else {
                        continue;
                    };
                    let Pricing::Usage {
                        price_per_unit,
                        unit,
                    } = &product.components[v.component].pricing
                    else {
                        continue;
                    };
                    lines.push(InvoiceLine::new(
                        LineKind::Usage,
                        &g.source,
                        &g.code,
                        &g.name,
                        (active.from, active.to),
                        q.quantity,
                        LineUnit::Other(Arc::from(unit.as_str())),
                        *price_per_unit,
                        q.quantity * price_per_unit,
                        line_vat,
                    ));
                }
            }
        }

        // Minimum charges: top up a product's month to its minimum.
        for g in &self.groups {
            let product = &self.products[g.product];
            for v in &g.versions {
                let Pricing::Minimum { price, per } = &product.components[v.component].pricing
                else {
                    continue;
                };
                for (m, s, e) in self.active_months(&active) {
                    let (vs, ve) = (s.max(v.day_from), e.min(v.day_to));
                    if vs >= ve {
                        continue;
                    }
                    let minimum = self.fee_line(
                        LineKind::Fee,
                        &g.source,
                        &g.code,
                        &g.name,
                        m,
                        vs,
                        ve,
                        *price,
                        *per,
                        vat(g.vat),
                    );
                    let (from, to) = (self.days[vs as usize].date, self.days[ve as usize].date);
                    let charged: Decimal = lines
                        .iter()
                        .filter(|l| *l.source == *g.source && l.from >= from && l.to <= to)
                        .map(|l| l.amount)
                        .sum();
                    if charged < minimum.amount {
                        let top_up = minimum.amount - charged;
                        let mut line = InvoiceLine::new(
                            LineKind::Fee,
                            &g.source,
                            &g.code,
                            &g.name,
                            (from, to),
                            Decimal::ONE,
                            LineUnit::Piece,
                            top_up,
                            top_up,
                            vat(g.vat),
                        );
                        line.explanation.push(Explanation::Note(format!(
                            "minimum charge {} for {from}..{to}; the other charges of {} come to {}",
                            minimum.amount.round_dp(2),
                            g.source,
                            charged.round_dp(2)
                        ).into()));
                        lines.push(line);
                    }
                }
            }
        }

        // Statutory charges.
        let statutory_source = &self.statutory_source;
        for (si, slot) in self.slots.iter().enumerate() {
            let SlotSource::Charge(ci) = slot.source else {
                continue;
            };
            if !charge_applies[ci] {
                continue;
            }
            if let Some(d) = slot
                .missing_days
                .iter()
                .find(|d| **d >= active.da && **d < active.db)
            {
                return Err(RateError::NoStatutoryRate {
                    charge: st.charges[ci].code.clone(),
                    date: self.days[*d as usize].date,
                });
            }
            self.energy_lines(
                si,
                scratch,
                input,
                &active,
                vat(st.charges[ci].vat),
                &mut lines,
            )?;
        }
        for (ci, charge) in st.charges.iter().enumerate() {
            if !charge_applies[ci] {
                continue;
            }
            let (code, name) = &self.statutory_labels[ci];
            match &charge.rule {
                ChargeRule::PerKwh => {}
                ChargeRule::PerYear => {
                    for (m, s, e) in self.active_months(&active) {
                        for d in s..e {
                            if charge.rate_on(self.days[d as usize].date).is_none() {
                                return Err(RateError::NoStatutoryRate {
                                    charge: charge.code.clone(),
                                    date: self.days[d as usize].date,
                                });
                            }
                        }
                        for (ri, r) in charge.rates.iter().enumerate() {
                            let _ = ri;
                            let rs = self.day_index(r.from);
                            let re =
                                r.to.map_or(self.days.len() as u32 - 1, |t| self.day_index(t));
                            let (vs, ve) = (s.max(rs), e.min(re));
                            if vs < ve {
                                lines.push(self.fee_line(
                                    charge.kind,
                                    statutory_source,
                                    code,
                                    name,
                                    m,
                                    vs,
                                    ve,
                                    r.value,
                                    FeePeriod::Year,
                                    vat(charge.vat),
                                ));
                            }
                        }
                    }
                }
                ChargeRule::SpotSubsidy {
                    cap_kwh_per_month, ..
                }
                | ChargeRule::PriceHedge {
                    cap_kwh_per_month, ..
                } => {
                    let hedge = matches!(charge.rule, ChargeRule::PriceHedge { .. });
                    let Some(cap_kwh) = cap_kwh_per_month.get(&ctx.usage) else {
                        return Err(RateError::NoCapForUsage {
                            charge: charge.code.clone(),
                            usage: ctx.usage,
                        });
                    };
                    let Some(spot) = input.spot_price else {
                        return Err(RateError::MissingSpotPrices {
                            code: charge.code.clone(),
                        });
                    };
                    let percent = match &charge.rule {
                        ChargeRule::SpotSubsidy { percent, .. } => *percent,
                        _ => Decimal::ONE_HUNDRED,
                    };
                    let thresholds_nano = &self.statutory_rates_nano[ci];
                    let (first_day, end_day) = charge_days[ci];
                    for (m, s, e) in self.active_months(&active) {
                        let (s, e) = (s.max(first_day), e.min(end_day));
                        if s >= e {
                            continue;
                        }
                        let mut remaining = *cap_kwh;
                        // (rate index, amount pico, covered Wh, capped Wh, first day, end day)
                        let mut acc: Vec<(usize, i128, i64, i64, u32, u32)> = Vec::new();
                        for d in s..e {
                            let date = self.days[d as usize].date;
                            let Some((ri, _)) = charge.rate_on(date) else {
                                return Err(RateError::NoStatutoryRate {
                                    charge: charge.code.clone(),
                                    date,
                                });
                            };
                            let threshold = thresholds_nano[ri];
                            if acc.last().is_none_or(|a| a.0 != ri) {
                                acc.push((ri, 0, 0, 0, d, d));
                            }
                            let a = acc.last_mut().expect("pushed above");
                            a.5 = d + 1;
                            let (i0, i1) = (
                                self.days[d as usize].first_interval as usize,
                                self.days[d as usize + 1].first_interval as usize,
                            );
                            let (day_energy, day_spot) = match charge.rates[ri].basis {
                                Some(SpotBasis::HourlyAverage) if self.per_hour > 1 => {
                                    hourly_basis(
                                        &energy[i0..i1],
                                        &spot[i0..i1],
                                        (self.per_hour, 3600 / self.resolution.seconds()),
                                        &mut scratch.basis_wh,
                                        &mut scratch.basis_price,
                                    );
                                    (&scratch.basis_wh[..], &scratch.basis_price[..])
                                }
                                _ => (&energy[i0..i1], &spot[i0..i1]),
                            };
                            let day = subsidy_below_cap(day_energy, day_spot, threshold, hedge);
                            if day.consumed_wh <= remaining {
                                // The cap is not reached today: every consumed Wh counts.
                                a.1 += day.amount_pico;
                                a.2 += day.covered_wh;
                                remaining -= day.consumed_wh;
                                continue;
                            }
                            for (&w, &p) in day_energy.iter().zip(day_spot) {
                                if w <= 0 {
                                    continue;
                                }
                                let c = w.min(remaining);
                                remaining -= c;
                                a.3 += w - c;
                                if hedge {
                                    a.1 += i128::from(c) * i128::from(threshold - p);
                                    a.2 += c;
                                } else if p > threshold {
                                    a.1 += i128::from(c) * i128::from(p - threshold);
                                    a.2 += c;
                                }
                            }
                        }
                        for (ri, amount_pico, covered, capped, d0, d1) in acc {
                            if covered == 0 && capped == 0 {
                                continue;
                            }
                            let r = &charge.rates[ri];
                            let mut amount = amount_of(amount_pico, &charge.code)?;
                            if !hedge {
                                amount = -amount * percent / Decimal::ONE_HUNDRED;
                            }
                            let kwh = wh_to_kwh(covered);
                            let unit_price = average_unit_price(amount, kwh);
                            let mut line = InvoiceLine::new(
                                charge.kind,
                                statutory_source,
                                code,
                                name,
                                (self.days[d0 as usize].date, self.days[d1 as usize].date),
                                kwh,
                                LineUnit::Kwh,
                                unit_price,
                                amount,
                                vat(charge.vat),
                            );
                            line.explanation.push(Explanation::Subsidy {
                                threshold_per_kwh: r.value,
                                percent,
                                covered_wh: covered,
                                capped_wh: capped,
                            });
                            if capped > 0 {
                                diagnostics.push(info(&charge.code, format!("{} kWh above the monthly cap of {} kWh in {}-{:02} are not covered", wh_to_kwh(capped), wh_to_kwh(*cap_kwh), self.months[m].month_start.year(), self.months[m].month_start.month())));
                            }
                            lines.push(line);
                        }
                    }
                }
            }
        }
        Ok(Rating { lines, diagnostics })
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

    /// A monthly (or daily/yearly) amount for days `[s, e)` of month `m`.
    #[allow(clippy::too_many_arguments)]
    fn fee_line(
        &self,
        kind: LineKind,
        source: &Arc<str>,
        code: &Arc<str>,
        name: &Arc<str>,
        m: usize,
        s: u32,
        e: u32,
        price: Decimal,
        per: FeePeriod,
        vat: (VatCategory, Decimal),
    ) -> InvoiceLine {
        let seg = &self.months[m];
        let days = i64::from(e - s);
        let span = (self.days[s as usize].date, self.days[e as usize].date);
        let monthly = match per {
            FeePeriod::Day => {
                return InvoiceLine::new(
                    kind,
                    source,
                    code,
                    name,
                    span,
                    Decimal::from(days),
                    LineUnit::Day,
                    price,
                    price * Decimal::from(days),
                    vat,
                );
            }
            FeePeriod::Month => price,
            FeePeriod::Year => price / Decimal::from(12),
        };
        if days == seg.days_in_month {
            InvoiceLine::new(
                kind,
                source,
                code,
                name,
                span,
                Decimal::ONE,
                LineUnit::Month,
                monthly,
                monthly,
                vat,
            )
        } else {
            let amount = monthly * Decimal::from(days) / Decimal::from(seg.days_in_month);
            let mut line = InvoiceLine::new(
                kind,
                source,
                code,
                name,
                span,
                Decimal::from(days),
                LineUnit::Day,
                average_unit_price(amount, Decimal::from(days)),
                amount,
                vat,
            );
            line.explanation.push(Explanation::Prorated {
                month: seg.month_start,
                days,
                days_in_month: seg.days_in_month,
            });
            line
        }
    }

    fn energy_lines(
        &self,
        si: usize,
        scratch: &Scratch,
        input: &MeterInput,
        a: &Active,
        vat: (VatCategory, Decimal),
        lines: &mut Vec<InvoiceLine>,
    ) -> Result<(), RateError> {
        let slot = &self.slots[si];
        let (source, code, component_of): (Arc<str>, Arc<str>, Option<usize>) = match slot.source {
            SlotSource::Group(gi) => (
                self.groups[gi].source.clone(),
                self.groups[gi].code.clone(),
                Some(gi),
            ),
            SlotSource::Charge(ci) => (
                self.statutory_source.clone(),
                self.statutory_labels[ci].0.clone(),
                None,
            ),
        };
        let list = &self.slot_buckets[si];
        let before = lines.len();
        for &b in list {
            let bucket = &self.buckets[b as usize];
            let wh = scratch.bucket_wh[b as usize];
            let mut from = bucket.from.max(a.from);
            let mut to = bucket.to.min(a.to);
            if self.bucket_is_monthly(si, bucket) {
                let seg = &self.months[bucket.month as usize];
                from = from.max(self.days[seg.first_day as usize].date);
                to = to.min(self.days[seg.end_day as usize].date);
            }
            if from >= to {
                continue;
            }
            let kwh = wh_to_kwh(wh);
            let Some(gi) = component_of else {
                // Statutory per-kWh charge.
                if wh == 0 {
                    continue;
                }
                let charge = match slot.source {
                    SlotSource::Charge(ci) => &self.statutory.charges[ci],
                    SlotSource::Group(_) => unreachable!("component_of is None only for charges"),
                };
                let rate = &charge.rates[bucket.version];
                let amount = amount_of(i128::from(wh) * i128::from(bucket.price_nano), &code)?;
                let mut line = InvoiceLine::new(
                    slot.kind,
                    &source,
                    &code,
                    &bucket.description,
                    (from, to),
                    kwh,
                    LineUnit::Kwh,
                    rate.value,
                    amount,
                    vat,
                );
                line.explanation.push(Explanation::RatePeriod {
                    from,
                    to,
                    rate: rate.value,
                });
                lines.push(line);
                continue;
            };
            let g = &self.groups[gi];
            let component = &self.products[g.product].components[bucket.version];
            // Block prices: a tiered energy component, or a time-of-use period with tiers.
            let tiers = match &component.pricing {
                Pricing::TieredEnergy { tiers } => Some(tiers),
                Pricing::TimeOfUse { periods, .. } => periods
                    .get(bucket.sub as usize)
                    .map(|p| &p.tiers)
                    .filter(|t| !t.is_empty()),
                _ => None,
            };
            if let Some(tiers) = tiers {
                tier_lines(
                    tiers,
                    kwh,
                    &source,
                    &code,
                    &bucket.description,
                    (from, to),
                    LineUnit::Kwh,
                    slot.kind,
                    Decimal::ONE,
                    vat,
                    lines,
                )?;
                continue;
            }
            match &component.pricing {
                Pricing::Energy { .. } | Pricing::TimeOfUse { .. } => {
                    if wh == 0 {
                        continue;
                    }
                    let amount = amount_of(i128::from(wh) * i128::from(bucket.price_nano), &code)?;
                    let mut line = InvoiceLine::new(
                        slot.kind,
                        &source,
                        &code,
                        &bucket.description,
                        (from, to),
                        kwh,
                        LineUnit::Kwh,
                        price_decimal(bucket.price_nano),
                        amount,
                        vat,
                    );
                    if matches!(component.pricing, Pricing::TimeOfUse { .. }) {
                        let total: i64 = list
                            .iter()
                            .filter(|o| self.buckets[**o as usize].version == bucket.version)
                            .map(|o| scratch.bucket_wh[*o as usize])
                            .sum();
                        line.explanation.push(Explanation::EnergyShare {
                            period: bucket.period_name.clone(),
                            hours: bucket.hours.clone(),
                            energy_wh: wh,
                            component_energy_wh: total,
                        });
                    }
                    lines.push(line);
                }
                // Tiered prices were handled before this match.
                Pricing::TieredEnergy { .. } => {}
                Pricing::Spot {
                    factor,
                    markup_per_kwh,
                    averaging,
                } => {
                    if wh == 0 {
                        continue;
                    }
                    let overflow = || RateError::AmountOutOfRange {
                        what: code.to_string(),
                    };
                    let (average, amount) = match averaging {
                        SpotAveraging::Interval => {
                            let spot_amount = amount_of(scratch.bucket_spot[b as usize], &code)?;
                            let amount = spot_amount
                                .checked_mul(*factor)
                                .zip(kwh.checked_mul(*markup_per_kwh))
                                .and_then(|(spot, markup)| spot.checked_add(markup))
                                .ok_or_else(overflow)?;
                            (spot_amount / kwh, amount)
                        }
                        SpotAveraging::MonthlyAverage => {
                            let average =
                                self.monthly_average(bucket.month as usize, input, &code)?;
                            let amount = average
                                .checked_mul(*factor)
                                .and_then(|p| p.checked_add(*markup_per_kwh))
                                .and_then(|p| p.checked_mul(kwh))
                                .ok_or_else(overflow)?;
                            (average, amount)
                        }
                    };
                    let unit_price = average_unit_price(amount, kwh);
                    let mut line = InvoiceLine::new(
                        LineKind::Spot,
                        &source,
                        &code,
                        &bucket.description,
                        (from, to),
                        kwh,
                        LineUnit::Kwh,
                        unit_price,
                        amount,
                        vat,
                    );
                    line.explanation.push(Explanation::SpotPrice {
                        average_price_per_kwh: round_display(average, 6),
                        factor: *factor,
                        markup_per_kwh: *markup_per_kwh,
                        monthly_average: *averaging == SpotAveraging::MonthlyAverage,
                    });
                    lines.push(line);
                }
                _ => {}
            }
        }
        if lines.len() == before
            && component_of.is_some()
            && let Some(&b) = list.iter().find(|b| {
                let bk = &self.buckets[**b as usize];
                bk.from.max(a.from) < bk.to.min(a.to)
            })
        {
            // No energy at all: still show the component, at zero.
            let bucket = &self.buckets[b as usize];
            let unit_price = price_decimal(bucket.price_nano);
            lines.push(InvoiceLine::new(
                slot.kind,
                &source,
                &code,
                &bucket.description,
                (bucket.from.max(a.from), bucket.to.min(a.to)),
                Decimal::ZERO,
                LineUnit::Kwh,
                unit_price,
                Decimal::ZERO,
                vat,
            ));
        }
        Ok(())
    }

    fn bucket_is_monthly(&self, si: usize, bucket: &crate::plan::Bucket) -> bool {
        match self.slots[si].source {
            SlotSource::Group(gi) => {
                matches!(
                    self.products[self.groups[gi].product].components[bucket.version].pricing,
                    Pricing::TieredEnergy { .. }
                        | Pricing::Spot {
                            averaging: SpotAveraging::MonthlyAverage,
                            ..
                        }
                ) || matches!(
                    &self.products[self.groups[gi].product].components[bucket.version].pricing,
                    Pricing::TimeOfUse { periods, .. } if periods.get(bucket.sub as usize).is_some_and(|p| !p.tiers.is_empty())
                )
            }
            SlotSource::Charge(_) => false,
        }
    }

    /// The month's average area price (volume-weighted when area volumes are given).
    fn monthly_average(
        &self,
        m: usize,
        input: &MeterInput,
        code: &str,
    ) -> Result<Decimal, RateError> {
        let seg = &self.months[m];
        let (i0, i1) = (
            self.days[seg.first_day as usize].first_interval as usize,
            self.days[seg.end_day as usize].first_interval as usize,
        );
        let Some(spot) = input.spot_price else {
            return Err(RateError::MissingSpotPrices {
                code: code.to_owned(),
            });
        };
        let spot = &spot[i0..i1];
        let (sum, weight) = match input.area_volume_wh {
            Some(v) => (
                dot(&v[i0..i1], spot),
                v[i0..i1].iter().map(|x| i128::from(*x)).sum::<i128>(),
            ),
            None => (
                spot.iter().map(|p| i128::from(*p)).sum::<i128>(),
                spot.iter().map(|_| 1i128).sum::<i128>(),
            ),
        };
        if weight == 0 {
            return Err(RateError::NoAreaVolume {
                code: code.to_owned(),
                month: seg.month_start,
            });
        }
        // Within the bounds on prices and volumes both fit a decimal.
        let overflow = || RateError::AmountOutOfRange {
            what: code.to_owned(),
        };
        let sum = Decimal::try_from_i128_with_scale(sum, 9).map_err(|_| overflow())?;
        let weight = Decimal::try_from_i128_with_scale(weight, 0).map_err(|_| overflow())?;
        sum.checked_div(weight).ok_or_else(overflow)
    }

    fn hour_pass(&self, scratch: &mut Scratch, energy: &[i64], a: &Active) {
        let hours = self.hour_clock.len();
        scratch.hour_wh.clear();
        scratch.hour_wh.resize(hours, 0);
        let (ha, hb) = (a.ia / self.per_hour, a.ib / self.per_hour);
        if self.per_hour == 1 {
            scratch.hour_wh[ha..hb].copy_from_slice(&energy[a.ia..a.ib]);
        } else if self.per_hour == 4 {
            // Quarter-hours: fixed-size chunks, so that each hour's sum is straight-line code.
            let (quarters, _) = energy[a.ia..a.ib].as_chunks::<4>();
            for (slot, q) in scratch.hour_wh[ha..hb].iter_mut().zip(quarters) {
                *slot = (q[0] + q[1]) + (q[2] + q[3]);
            }
        } else {
            for (slot, chunk) in scratch.hour_wh[ha..hb]
                .iter_mut()
                .zip(energy[a.ia..a.ib].chunks_exact(self.per_hour))
            {
                *slot = chunk.iter().sum();
            }
        }
        scratch.daily_max.clear();
        scratch.daily_max.resize(self.days.len() - 1, (0, 0));
        for d in a.da..a.db {
            let (h0, h1) = (
                self.days[d as usize].first_hour as usize,
                self.days[d as usize + 1].first_hour as usize,
            );
            // The day's maximum, then its first hour: no branch on the (random) hourly values.
            let day = &scratch.hour_wh[h0..h1];
            let max = day.iter().copied().fold(i64::MIN, i64::max);
            let first = day.iter().position(|&w| w == max).unwrap_or(0);
            scratch.daily_max[d as usize] = (max, (h0 + first) as u32);
        }
    }

    fn hour_peak(&self, h: u32, energy_wh: i64) -> HourPeak {
        HourPeak {
            date: self.days[self.hour_day[h as usize] as usize].date,
            hour: self.hour_clock[h as usize],
            energy_wh,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn capacity_lines(
        &self,
        g: &crate::plan::Group,
        scratch: &mut Scratch,
        ctx: &RatingContext,
        a: &Active,
        vat: (VatCategory, Decimal),
        lines: &mut Vec<InvoiceLine>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<(), RateError> {
        let product = &self.products[g.product];
        for (m, s, e) in self.active_months(a) {
            let seg = &self.months[m];
            for (vi, v) in g.versions.iter().enumerate() {
                let (vs, ve) = (s.max(v.day_from), e.min(v.day_to));
                if vs >= ve {
                    continue;
                }
                let c = &product.components[v.component];
                let Pricing::Capacity {
                    method,
                    threshold_inclusive,
                    per,
                    steps,
                } = &c.pricing
                else {
                    continue;
                };
                // The measured value as numerator / count, in the unit × 1e6.
                let (numerator, count, explanation): (i128, i128, Explanation) = match method {
                    CapacityMethod::DailyPeaks { peaks } => {
                        scratch.peaks.clear();
                        scratch
                            .peaks
                            .extend((s..e).map(|d| scratch.daily_max[d as usize]));
                        // The highest daily maxima first; an equal value on an earlier hour first.
                        let order =
                            |x: &(i64, u32), y: &(i64, u32)| y.0.cmp(&x.0).then(x.1.cmp(&y.1));
                        let wanted = usize::from(*peaks);
                        if wanted > 0 && scratch.peaks.len() > wanted {
                            scratch.peaks.select_nth_unstable_by(wanted - 1, order);
                            scratch.peaks.truncate(wanted);
                        }
                        scratch.peaks.sort_unstable_by(order);
                        let sum: i128 = scratch.peaks.iter().map(|p| i128::from(p.0)).sum();
                        let count = scratch.peaks.len().max(1) as i128;
                        if scratch.peaks.len() < usize::from(*peaks) {
                            diagnostics.push(info(&g.code, format!("only {} days in {}-{:02}: average of {} daily peaks instead of {peaks}", scratch.peaks.len(), seg.month_start.year(), seg.month_start.month(), scratch.peaks.len())));
                        }
                        let peaks: Vec<HourPeak> = scratch
                            .peaks
                            .iter()
                            .map(|p| self.hour_peak(p.1, p.0))
                            .collect();
                        (
                            sum * 1000,
                            count,
                            Explanation::Peaks {
                                peaks,
                                // An average of i64 hour energies is an i64.
                                average_w: i64::try_from((sum + count / 2) / count).map_err(
                                    |_| RateError::AmountOutOfRange {
                                        what: c.code.clone(),
                                    },
                                )?,
                                step_from: Decimal::ZERO,
                                step_to: None,
                                threshold_inclusive: *threshold_inclusive,
                            },
                        )
                    }
                    CapacityMethod::MonthlyMax => {
                        let best = (s..e)
                            .map(|d| scratch.daily_max[d as usize])
                            .max_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)))
                            .unwrap_or((0, 0));
                        (
                            i128::from(best.0) * 1000,
                            1,
                            Explanation::Peaks {
                                peaks: vec![self.hour_peak(best.1, best.0)],
                                average_w: best.0,
                                step_from: Decimal::ZERO,
                                step_to: None,
                                threshold_inclusive: *threshold_inclusive,
                            },
                        )
                    }
                    CapacityMethod::MainFuse => {
                        let Some(amperes) = ctx.main_fuse_amperes else {
                            return Err(RateError::MissingMainFuse {
                                product: product.code.clone(),
                                component: c.code.clone(),
                            });
                        };
                        (
                            i128::from(amperes) * 1_000_000,
                            1,
                            Explanation::MainFuse { amperes },
                        )
                    }
                    CapacityMethod::WeightedWeeklyPeaksYear => {
                        return Err(RateError::Unsupported {
                            product: product.code.clone(),
                            component: c.code.clone(),
                            method: method.code(),
                            reason: "it needs the five highest weekly maxima over the last 12 months with season weights, which a one-period rating does not see; bill this tariff outside Nordlys or convert it to a monthly capacity step",
                        });
                    }
                    CapacityMethod::Unknown => {
                        return Err(RateError::Unsupported {
                            product: product.code.clone(),
                            component: c.code.clone(),
                            method: method.code(),
                            reason: "the source does not say how capacity is measured; set method in the product file",
                        });
                    }
                };
                let thresholds = &g.thresholds_micro[vi];
                let mut step = 0;
                for (i, t) in thresholds.iter().enumerate().skip(1) {
                    let scaled = t * count;
                    let reached = if *threshold_inclusive {
                        numerator >= scaled
                    } else {
                        numerator > scaled
                    };
                    if reached {
                        step = i;
                    }
                }
                let chosen = &steps[step];
                let explanation = match explanation {
                    Explanation::Peaks {
                        peaks,
                        average_w,
                        threshold_inclusive,
                        ..
                    } => Explanation::Peaks {
                        peaks,
                        average_w,
                        step_from: chosen.from,
                        step_to: chosen.to,
                        threshold_inclusive,
                    },
                    other => other,
                };
                let price = chosen.price;
                let desc = g.step_labels[vi][step].clone();
                let mut line = self.fee_line(
                    LineKind::Capacity,
                    &g.source,
                    &g.code,
                    &desc,
                    m,
                    vs,
                    ve,
                    price,
                    *per,
                    vat,
                );
                line.explanation.insert(0, explanation);
                lines.push(line);
            }
        }
        Ok(())
    }

    fn demand_lines(
        &self,
        g: &crate::plan::Group,
        scratch: &Scratch,
        energy: &[i64],
        a: &Active,
        vat: (VatCategory, Decimal),
        lines: &mut Vec<InvoiceLine>,
    ) -> Result<(), RateError> {
        let product = &self.products[g.product];
        let per_hour = 3600 / self.resolution.seconds();
        let mut tou_version = 0;
        for v in &g.versions {
            let c = &product.components[v.component];
            let (measure, periods, tiers): (
                DemandMeasure,
                Option<&Vec<crate::product::TouPeriod>>,
                Option<&Vec<Tier>>,
            ) = match &c.pricing {
                Pricing::Demand { measure, tiers } => (*measure, None, Some(tiers)),
                Pricing::TouDemand { measure, periods } => (*measure, Some(periods), None),
                _ => continue,
            };
            let hour_period = periods.map(|_| &g.hour_period[tou_version]);
            if periods.is_some() {
                tou_version += 1;
            }
            for (m, s, e) in self.active_months(a) {
                let (vs, ve) = (s.max(v.day_from), e.min(v.day_to));
                if vs >= ve {
                    continue;
                }
                let seg = &self.months[m];
                let share = Decimal::from(ve - vs) / Decimal::from(seg.days_in_month);
                // Measure over the whole active part of the month.
                let (h0, h1) = (
                    self.days[s as usize].first_hour as usize,
                    self.days[e as usize].first_hour as usize,
                );
                let n_periods = periods.map_or(1, Vec::len);
                for p in 0..n_periods {
                    // Entries sharing a name and prices were merged into the first of them.
                    if periods.is_some_and(|ps| {
                        ps.iter().position(|q| q.is_same_period(&ps[p])) != Some(p)
                    }) {
                        continue;
                    }
                    let in_period = |h: usize| hour_period.is_none_or(|hp| hp[h] as usize == p);
                    let mut best: (i64, usize) = (0, h0);
                    match measure {
                        DemandMeasure::Hour => {
                            for h in h0..h1 {
                                if in_period(h) && scratch.hour_wh[h] > best.0 {
                                    best = (scratch.hour_wh[h], h);
                                }
                            }
                        }
                        DemandMeasure::Interval => {
                            for h in h0..h1 {
                                if !in_period(h) {
                                    continue;
                                }
                                for &w in &energy[h * self.per_hour..(h + 1) * self.per_hour] {
                                    if w * per_hour > best.0 {
                                        best = (w * per_hour, h);
                                    }
                                }
                            }
                        }
                    }
                    let kw = Decimal::new(best.0, 3);
                    let (name, tier_list): (Arc<str>, Vec<Tier>) = match (periods, tiers) {
                        (Some(ps), _) => (
                            Arc::from(format!("{} – {}", g.name, ps[p].name)),
                            if ps[p].tiers.is_empty() {
                                vec![Tier {
                                    up_to: None,
                                    price: ps[p].price,
                                }]
                            } else {
                                ps[p].tiers.clone()
                            },
                        ),
                        (None, Some(t)) => (g.name.clone(), t.clone()),
                        (None, None) => continue,
                    };
                    let before = lines.len();
                    tier_lines(
                        &tier_list,
                        kw,
                        &g.source,
                        &g.code,
                        &name,
                        (self.days[vs as usize].date, self.days[ve as usize].date),
                        LineUnit::Kw,
                        LineKind::Demand,
                        share,
                        vat,
                        lines,
                    )?;
                    for line in &mut lines[before..] {
                        line.explanation.insert(
                            0,
                            Explanation::MaxDemand {
                                date: self.days[self.hour_day[best.1] as usize].date,
                                hour: self.hour_clock[best.1],
                                demand_w: best.0,
                                period: periods.map(|ps| Arc::from(ps[p].name.as_str())),
                            },
                        );
                        if ve - vs != seg.days_in_month as u32 {
                            line.explanation.push(Explanation::Prorated {
                                month: seg.month_start,
                                days: i64::from(ve - vs),
                                days_in_month: seg.days_in_month,
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Split `quantity` over block tiers; one line per tier used (at least one). `share`
/// scales the amount (proration of monthly demand charges).
#[allow(clippy::too_many_arguments)]
fn tier_lines(
    tiers: &[Tier],
    quantity: Decimal,
    source: &Arc<str>,
    code: &Arc<str>,
    name: &Arc<str>,
    span: (Date, Date),
    unit: LineUnit,
    kind: LineKind,
    share: Decimal,
    vat: (VatCategory, Decimal),
    lines: &mut Vec<InvoiceLine>,
) -> Result<(), RateError> {
    let mut lower = Decimal::ZERO;
    for (i, t) in tiers.iter().enumerate() {
        let part = match t.up_to {
            Some(up) => (quantity.min(up) - lower).max(Decimal::ZERO),
            None => (quantity - lower).max(Decimal::ZERO),
        };
        // Negative totals (net production) fall in the first tier.
        let part = if i == 0 && quantity < Decimal::ZERO {
            quantity
        } else {
            part
        };
        if part != Decimal::ZERO || i == 0 {
            let amount = part
                .checked_mul(t.price)
                .and_then(|a| a.checked_mul(share))
                .ok_or_else(|| RateError::AmountOutOfRange {
                    what: code.to_string(),
                })?;
            let unit_price = if share == Decimal::ONE {
                t.price
            } else if part.is_zero() {
                // Nothing in this tier: show the prorated price (any price satisfies R120).
                round_display(t.price * share, 6)
            } else {
                average_unit_price(amount, part)
            };
            let mut line = InvoiceLine::new(
                kind,
                source,
                code,
                name,
                span,
                part,
                unit.clone(),
                unit_price,
                amount,
                vat,
            );
            if tiers.len() > 1 {
                line.explanation.push(Explanation::Tier {
                    from_kwh: lower,
                    to_kwh: t.up_to,
                });
            }
            lines.push(line);
        }
        if let Some(up) = t.up_to {
            lower = up;
        }
    }
    Ok(())
}

fn info(code: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Info,
        code: Arc::from(code),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::{dot, subsidy_below_cap};

    /// Deterministic values from −100 to a large positive bound (xorshift).
    fn series(seed: u64, len: usize, bound: i64) -> Vec<i64> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % (bound as u64 + 101)) as i64 - 100
            })
            .collect()
    }

    #[test]
    fn the_unrolled_kernels_equal_the_plain_sums() {
        for len in [0, 1, 2, 3, 4, 5, 92, 96, 100, 2976] {
            let energy = series(7 + len as u64, len, 5_000_000);
            let spot = series(11 + len as u64, len, 3_000_000_000);
            let plain_dot: i128 = energy
                .iter()
                .zip(&spot)
                .map(|(&w, &p)| i128::from(w) * i128::from(p))
                .sum();
            assert_eq!(dot(&energy, &spot), plain_dot, "dot over {len}");
            let threshold = 1_500_000_000;
            for hedge in [false, true] {
                let (mut amount, mut covered, mut consumed) = (0i128, 0i64, 0i64);
                for (&w, &p) in energy.iter().zip(&spot) {
                    if w <= 0 {
                        continue;
                    }
                    consumed += w;
                    if hedge {
                        amount += i128::from(w) * i128::from(threshold - p);
                        covered += w;
                    } else if p > threshold {
                        amount += i128::from(w) * i128::from(p - threshold);
                        covered += w;
                    }
                }
                let day = subsidy_below_cap(&energy, &spot, threshold, hedge);
                assert_eq!(
                    (day.amount_pico, day.covered_wh, day.consumed_wh),
                    (amount, covered, consumed),
                    "subsidy over {len}, hedge {hedge}"
                );
            }
        }
    }
}
