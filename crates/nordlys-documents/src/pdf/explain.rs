//! Why a line is what it is, in the buyer's language: core's typed [`Explanation`]s become the
//! notes under a line, and the capacity step's peaks become their own table (the three hours,
//! their dates and energy, the average and the step it gives).

use rust_decimal::Decimal;

use nordlys_core::document::Explanation;

use super::PdfError;
use super::view::{PeaksView, Writer};
use crate::i18n::format;

impl Writer<'_> {
    fn kwh(&self, energy_wh: i64) -> String {
        format::energy_kwh(energy_wh, self.language, 0)
    }

    /// Watts as kW, up to three decimals (at least `min_decimals`).
    fn kw(&self, power_w: i64, min_decimals: u32) -> String {
        format::decimal(Decimal::new(power_w, 3), self.language, min_decimals, 3)
    }

    fn price(&self, value: Decimal) -> String {
        format::decimal(value, self.language, 2, 4)
    }

    /// The note under a line for `explanation`; `None` for the peaks, which get a table.
    pub(crate) fn explanation(
        &self,
        explanation: &Explanation,
    ) -> Result<Option<String>, PdfError> {
        let text = match explanation {
            Explanation::Peaks { .. } => return Ok(None),
            Explanation::Prorated {
                month,
                days,
                days_in_month,
            } => self.text(
                "explain-prorated",
                &[
                    ("days", &days.to_string()),
                    ("days_in_month", &days_in_month.to_string()),
                    ("month", &format::month(*month, self.language)),
                ],
            )?,
            Explanation::MainFuse { amperes } => {
                self.text("explain-main-fuse", &[("amperes", &amperes.to_string())])?
            }
            Explanation::MaxDemand {
                date,
                hour,
                demand_w,
                period,
            } => {
                let mut text = self.text(
                    "explain-max-demand",
                    &[
                        ("demand", &self.kw(*demand_w, 0)),
                        ("date", &format::date(*date, self.language)),
                        ("hour", &format!("{hour:02}:00")),
                    ],
                )?;
                if let Some(period) = period {
                    text.push_str(&format!(" ({period})"));
                }
                text
            }
            Explanation::EnergyShare {
                period,
                hours,
                energy_wh,
                component_energy_wh,
            } => self.text(
                "explain-energy-share",
                &[
                    ("period", period),
                    ("hours", hours),
                    ("energy", &self.kwh(*energy_wh)),
                    ("total", &self.kwh(*component_energy_wh)),
                ],
            )?,
            Explanation::SpotPrice {
                average_price_per_kwh,
                factor,
                markup_per_kwh,
                monthly_average,
            } => {
                let mut parts = vec![self.text(
                    if *monthly_average {
                        "explain-spot-monthly"
                    } else {
                        "explain-spot-weighted"
                    },
                    &[("price", &self.price(*average_price_per_kwh))],
                )?];
                if *factor != Decimal::ONE {
                    parts.push(self.text(
                        "explain-spot-factor",
                        &[("factor", &format::decimal(*factor, self.language, 0, 4))],
                    )?);
                }
                if !markup_per_kwh.is_zero() {
                    parts.push(self.text(
                        "explain-spot-markup",
                        &[("markup", &self.price(*markup_per_kwh))],
                    )?);
                }
                parts.join(", ")
            }
            Explanation::RatePeriod { from, to, rate } => self.text(
                "explain-rate-period",
                &[
                    ("rate", &self.price(*rate)),
                    ("from", &format::date(*from, self.language)),
                    ("to", &format::date(*to, self.language)),
                ],
            )?,
            Explanation::Subsidy {
                threshold_per_kwh,
                percent,
                covered_wh,
                capped_wh,
            } => {
                let mut text = self.text(
                    "explain-subsidy",
                    &[
                        ("percent", &format::percent(*percent, self.language)),
                        ("threshold", &self.price(*threshold_per_kwh)),
                        ("covered", &self.kwh(*covered_wh)),
                    ],
                )?;
                if *capped_wh > 0 {
                    text.push_str("; ");
                    text.push_str(&self.text(
                        "explain-subsidy-capped",
                        &[("capped", &self.kwh(*capped_wh))],
                    )?);
                }
                text
            }
            Explanation::Tier { from_kwh, to_kwh } => {
                let from = format::decimal(*from_kwh, self.language, 0, 3);
                match to_kwh {
                    Some(to) => self.text(
                        "explain-tier",
                        &[
                            ("from", &from),
                            ("to", &format::decimal(*to, self.language, 0, 3)),
                        ],
                    )?,
                    None => self.text("explain-tier-open", &[("from", &from)])?,
                }
            }
            Explanation::Note(text) => text.to_string(),
            Explanation::Corrects { documents } => {
                self.text("explain-corrects", &[("documents", &documents.join(", "))])?
            }
            Explanation::Replaces { documents } => {
                self.text("explain-replaces", &[("documents", &documents.join(", "))])?
            }
        };
        Ok(Some(text))
    }

    /// The peaks table of a capacity line's [`Explanation::Peaks`]; `None` for the others.
    pub(crate) fn peaks(&self, explanation: &Explanation) -> Result<Option<PeaksView>, PdfError> {
        let Explanation::Peaks {
            peaks,
            average_w,
            step_from,
            step_to,
            threshold_inclusive,
        } = explanation
        else {
            return Ok(None);
        };
        let rows = peaks
            .iter()
            .map(|peak| {
                [
                    format::date(peak.date, self.language),
                    format::clock_hour(peak.hour),
                    format::energy_kwh(peak.energy_wh, self.language, 2),
                ]
            })
            .collect();
        let rule = self.text(
            if *threshold_inclusive {
                "peaks-rule-higher"
            } else {
                "peaks-rule-lower"
            },
            &[],
        )?;
        let from = format::decimal(*step_from, self.language, 0, 3);
        let step = match step_to {
            Some(to) => self.text(
                "peaks-step",
                &[
                    ("from", &from),
                    ("to", &format::decimal(*to, self.language, 0, 3)),
                    ("rule", &rule),
                ],
            )?,
            None => self.text("peaks-step-open", &[("from", &from), ("rule", &rule)])?,
        };
        Ok(Some(PeaksView {
            heading: self.text("peaks-heading", &[])?,
            columns: [
                self.text("peaks-date", &[])?,
                self.text("peaks-hour", &[])?,
                self.text("peaks-energy", &[])?,
            ],
            rows,
            average: self.text("peaks-average", &[("average", &self.kw(*average_w, 2))])?,
            step,
        }))
    }
}
