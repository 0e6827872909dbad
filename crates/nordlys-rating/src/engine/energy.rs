//! Energy priced per kWh: energy, time-of-use, tiered (block) and spot components and the
//! statutory per-kWh charges that share their buckets; the two passes that sum a series per
//! price class; monthly-average spot prices.

use std::sync::Arc;

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::kernels::dot;
use super::{Active, MeterInput, RateError, Scratch, amount_of};
use crate::decimal::{round_display, wh_to_kwh};
use crate::invoice::{
    Explanation, InvoiceLine, LineKind, LineUnit, VatCategory, average_unit_price, price_decimal,
};
use crate::plan::{NONE, RatingPlan, SlotSource};
use crate::product::{Pricing, SpotAveraging, Tier};

impl RatingPlan {
    /// Pass 1 (clock-hour energy and daily maxima, when capacity or demand is priced) and
    /// pass 2 (energy per price class, and energy × spot), then the bucket totals.
    pub(super) fn energy_passes(
        &self,
        scratch: &mut Scratch,
        input: &MeterInput,
        active: &Active,
    ) -> Result<(), RateError> {
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
            self.hour_pass(scratch, energy, active);
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
        Ok(())
    }

    pub(super) fn energy_lines(
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
}

/// Split `quantity` over block tiers; one line per tier used (at least one). `share`
/// scales the amount (proration of monthly demand charges).
#[allow(clippy::too_many_arguments)]
pub(super) fn tier_lines(
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
