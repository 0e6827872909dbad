//! Amounts by time rather than energy: fixed fees and subscriptions (monthly, daily or yearly,
//! prorated by days), one-off fees at a contract's start or end, usage-priced services, and
//! minimum charges that top up a product's month.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::{Active, MeterInput, Vats, info};
use crate::invoice::{
    Diagnostic, Explanation, InvoiceLine, LineKind, LineUnit, VatCategory, average_unit_price,
};
use crate::plan::{Group, RatingPlan};
use crate::product::{FeePeriod, OneOffTrigger, Pricing};

impl RatingPlan {
    /// Fixed fees and subscriptions of every version, per month of the active span.
    pub(super) fn fixed_lines(
        &self,
        g: &Group,
        active: &Active,
        line_vat: (VatCategory, Decimal),
        lines: &mut Vec<InvoiceLine>,
    ) {
        let product = &self.products[g.product];
        for (m, s, e) in self.active_months(active) {
            for v in &g.versions {
                let (vs, ve) = (s.max(v.day_from), e.min(v.day_to));
                if vs >= ve {
                    continue;
                }
                let (kind, price, per) = match &product.components[v.component].pricing {
                    Pricing::Fixed { price, per } => (LineKind::Fixed, *price, *per),
                    Pricing::Subscription { price, per } => (LineKind::Subscription, *price, *per),
                    _ => continue,
                };
                lines.push(self.fee_line(
                    kind, &g.source, &g.code, &g.name, m, vs, ve, price, per, line_vat,
                ));
            }
        }
    }

    /// One-off fees on the contract's first or last day, when that day is in the period.
    pub(super) fn one_off_lines(
        &self,
        g: &Group,
        input: &MeterInput,
        line_vat: (VatCategory, Decimal),
        lines: &mut Vec<InvoiceLine>,
    ) {
        let (product, period) = (&self.products[g.product], self.period);
        let Some(contract) = input.contract else {
            return;
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

    /// A usage-priced service: the quantity given times the price of the version in force.
    pub(super) fn usage_line(
        &self,
        g: &Group,
        input: &MeterInput,
        active: &Active,
        line_vat: (VatCategory, Decimal),
        lines: &mut Vec<InvoiceLine>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let product = &self.products[g.product];
        let Some(q) = input.usage.iter().find(|u| u.component == &*g.code) else {
            diagnostics.push(info(
                &g.code,
                "no usage quantity given: nothing charged".to_owned(),
            ));
            return;
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
            return;
        };
        let Pricing::Usage {
            price_per_unit,
            unit,
        } = &product.components[v.component].pricing
        else {
            return;
        };
        lines.push(InvoiceLine::new(
            LineKind::Usage,
            &g.source,
            &g.code,
            &g.name,
            (active.from, active.to),
            q.quantity,
            LineUnit::from_code(unit),
            *price_per_unit,
            q.quantity * price_per_unit,
            line_vat,
        ));
    }

    /// Minimum charges: top up a product's month to its minimum.
    pub(super) fn minimum_lines(&self, active: &Active, vats: &Vats, lines: &mut Vec<InvoiceLine>) {
        for g in &self.groups {
            let product = &self.products[g.product];
            for v in &g.versions {
                let Pricing::Minimum { price, per } = &product.components[v.component].pricing
                else {
                    continue;
                };
                for (m, s, e) in self.active_months(active) {
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
                        vats.of(g.vat),
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
                            vats.of(g.vat),
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
    }

    /// A monthly (or daily/yearly) amount for days `[s, e)` of month `m`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fee_line(
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
}
