//! Statutory charges on top of the products: which apply to a metering point and on which
//! days (opt-in price hedges from the agreement's first day, the subsidies they replace before
//! it), per-kWh taxes, yearly fees, spot subsidies (strømstøtte) and price hedges (Norgespris)
//! with their monthly caps and spot-price basis.

use rust_decimal::Decimal;

use super::kernels::{hour_sums, hourly_average_prices, subsidy_below_cap};
use super::{Active, MeterInput, RateError, RatingContext, Scratch, Vats, amount_of, info};
use crate::decimal::wh_to_kwh;
use crate::invoice::{Diagnostic, Explanation, InvoiceLine, LineUnit, average_unit_price};
use crate::plan::{RatingPlan, SlotSource};
use crate::product::FeePeriod;
use crate::statutory::{ChargeRule, SpotBasis};

/// Which statutory charges apply to a metering point, and the active days `[first, end)` of each.
pub(super) struct ChargeDays {
    applies: Vec<bool>,
    days: Vec<(u32, u32)>,
}

/// The scheme's name as a customer knows it: the charge's name without a parenthesised
/// subtitle ("Norgespris (prissikringsbeløp)" → "Norgespris").
fn scheme_name(name: &str) -> &str {
    name.split(" (").next().unwrap_or(name).trim()
}

impl RatingPlan {
    /// Which statutory charges apply, and on which active days: an opt-in charge from the
    /// agreement's first day, the charges it replaces up to that day.
    pub(super) fn charge_days(
        &self,
        ctx: &RatingContext,
        active: &Active,
    ) -> Result<ChargeDays, RateError> {
        let st = &self.statutory;
        let mut charge_applies: Vec<bool> = st
            .charges
            .iter()
            .map(|c| ctx.apply_statutory && st.applies(c, ctx.market, ctx.usage, &ctx.municipality))
            .collect();
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
        Ok(ChargeDays {
            applies: charge_applies,
            days: charge_days,
        })
    }

    /// The statutory lines: per-kWh charges, yearly fees, subsidies and price hedges.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn statutory_lines(
        &self,
        scratch: &mut Scratch,
        ctx: &RatingContext,
        input: &MeterInput,
        active: &Active,
        charges: &ChargeDays,
        vats: &Vats,
        lines: &mut Vec<InvoiceLine>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<(), RateError> {
        let (st, energy) = (&self.statutory, input.energy_wh);
        let (charge_applies, charge_days) = (&charges.applies, &charges.days);
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
                active,
                vats.of(st.charges[ci].vat),
                lines,
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
                    for (m, s, e) in self.active_months(active) {
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
                                    vats.of(charge.vat),
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
                    for (m, s, e) in self.active_months(active) {
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
                                    hourly_average_prices(
                                        &spot[i0..i1],
                                        self.per_hour,
                                        &mut scratch.basis_price,
                                    );
                                    // The hour sums of pass 1 when capacity or demand made them.
                                    let hours = if self.needs_hours {
                                        let (h0, h1) = (
                                            self.days[d as usize].first_hour as usize,
                                            self.days[d as usize + 1].first_hour as usize,
                                        );
                                        &scratch.hour_wh[h0..h1]
                                    } else {
                                        hour_sums(
                                            &energy[i0..i1],
                                            self.per_hour,
                                            &mut scratch.basis_wh,
                                        );
                                        &scratch.basis_wh[..]
                                    };
                                    (hours, &scratch.basis_price[..])
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
                                vats.of(charge.vat),
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
        Ok(())
    }
}
