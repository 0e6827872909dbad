//! Capacity and demand: clock-hour sums and daily maxima, capacity steps chosen by peaks, the
//! month's maximum or the main fuse, and demand charges (flat, tiered or by time of use).

use std::sync::Arc;

use rust_decimal::Decimal;

use super::energy::tier_lines;
use super::{Active, RateError, RatingContext, Scratch, info};
use crate::invoice::{
    Diagnostic, Explanation, HourPeak, InvoiceLine, LineKind, LineUnit, VatCategory,
};
use crate::plan::RatingPlan;
use crate::product::{CapacityMethod, DemandMeasure, Pricing, Tier};

impl RatingPlan {
    pub(super) fn hour_pass(&self, scratch: &mut Scratch, energy: &[i64], a: &Active) {
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
    pub(super) fn capacity_lines(
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

    pub(super) fn demand_lines(
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
