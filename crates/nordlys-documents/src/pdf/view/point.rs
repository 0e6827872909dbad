//! The details of one delivery point: its facts, the consumption chart, the capacity peaks,
//! every line with quantity, unit price, VAT and amount and its explanation, and the effect of
//! strømstøtte or Norgespris.

use rust_decimal::Decimal;

use nordlys_core::document::{DocumentLine, LineKind};
use nordlys_core::quantity::Currency;

use super::{ChartView, LineView, PointView, Writer, one_line};
use crate::i18n::format;
use crate::model::DeliveryPoint;
use crate::pdf::PdfError;
use crate::pdf::chart;

pub(super) fn point_view(
    w: &Writer<'_>,
    point: &DeliveryPoint,
    lines: &[&DocumentLine],
    period: &str,
    currency: Currency,
    shown: impl Fn(Decimal) -> Decimal,
) -> Result<PointView, PdfError> {
    let mut facts = Vec::new();
    if let Some(gsrn) = &point.metering_point_id {
        facts.push([w.text("metering-point", &[])?, gsrn.as_str().to_owned()]);
    }
    if let Some(address) = &point.address {
        facts.push([w.text("delivery-place", &[])?, one_line(address)]);
    }
    if !period.is_empty() {
        facts.push([w.text("delivery-period", &[])?, period.to_owned()]);
    }

    let chart = if point.daily.is_empty() {
        None
    } else {
        let total_wh: i64 = point.daily.iter().map(|d| d.energy_wh).sum();
        let total = w.text(
            "chart-total",
            &[("energy", &format::energy_kwh(total_wh, w.language, 1))],
        )?;
        let title = w.text("chart-title", &[])?;
        Some(ChartView {
            alt: format!("{title}. {total}"),
            title,
            consumption_legend: w.text("chart-consumption", &[])?,
            price_legend: if point.daily.iter().any(|d| d.spot_price_per_kwh.is_some()) {
                w.text("chart-spot-price", &[("currency", currency.code())])?
            } else {
                w.text("chart-no-price", &[])?
            },
            total,
            geometry: chart::geometry(&point.daily, w.language),
        })
    };

    let mut line_views = Vec::with_capacity(lines.len());
    let mut subsidies = Vec::new();
    let mut peaks = Vec::new();
    for line in lines {
        let unit = w.unit(&line.unit)?;
        let mut notes = Vec::with_capacity(line.explanation.len());
        for explanation in &line.explanation {
            notes.extend(w.explanation(explanation)?);
            peaks.extend(w.peaks(explanation)?);
        }
        line_views.push(LineView {
            description: line.description.clone(),
            notes,
            period: w.period(line.from, line.to)?,
            quantity: format!(
                "{} {unit}",
                format::decimal(shown(line.quantity), w.language, 0, 3)
            ),
            unit_price: format::decimal(line.unit_price, w.language, 2, 4),
            vat: format!("{} %", format::percent(line.vat_percent, w.language)),
            amount: w.amount(shown(line.net)),
        });
        if line.kind == LineKind::Subsidy {
            let amount = format::money(shown(line.net), currency, w.language);
            subsidies.push(format!(
                "{} {}",
                w.text(
                    "subsidy-effect",
                    &[("scheme", &line.description), ("amount", &amount)]
                )?,
                w.text(
                    if shown(line.net).is_sign_negative() {
                        "subsidy-credit"
                    } else {
                        "subsidy-charge"
                    },
                    &[]
                )?
            ));
        }
    }
    let net: Decimal = lines.iter().map(|line| line.net).sum();
    Ok(PointView {
        heading: w.text("details-heading", &[("label", &point.label)])?,
        facts,
        chart,
        peaks,
        columns: [
            w.text("column-description", &[])?,
            w.text("column-period", &[])?,
            w.text("column-quantity", &[])?,
            w.text("column-unit-price", &[])?,
            w.text("column-vat", &[])?,
            w.text("column-amount", &[])?,
        ],
        line_periods: line_views.iter().any(|line| line.period != period),
        lines: line_views,
        subsidy_heading: w.text("subsidy-heading", &[])?,
        subsidies,
        subtotal: [
            w.text("point-subtotal", &[("label", &point.label)])?,
            w.amount(shown(net)),
        ],
    })
}
