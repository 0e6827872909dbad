//! How a document line's explanation is stored: a versioned JSON text of its own, in the
//! column `document_lines.explanation_json`, written and read only here. Core's
//! [`Explanation`] is not serde; this module's mirror types are the stored form, so that a
//! renamed Rust field never changes what the database holds.
//!
//! Version 1: `{"version":1,"items":[ITEM, …]}`, each item an object with its `type`
//! (`prorated`, `peaks`, `main_fuse`, `max_demand`, `energy_share`, `spot_price`,
//! `rate_period`, `subsidy`, `tier`, `note`, `corrects`, `replaces`) and the variant's fields
//! by their Rust names: decimals as strings exactly as issued (`"0.2877"`, scale kept), dates
//! `YYYY-MM-DD`, energies and powers integers (`_wh`, `_w`), absent options `null`.
//!
//! A line issued before migration 0009 has no JSON (`NULL`): its explanation is the old
//! newline-joined English text in `document_lines.explanation`, read back as one
//! [`Explanation::Note`] per line of text, so it shows exactly as issued.

use std::str::FromStr;
use std::sync::Arc;

use jiff::civil::Date;
use nordlys_core::ParseError;
use nordlys_core::document::{Explanation, HourPeak};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The version of the stored form this build writes, and the only one it reads.
pub(crate) const EXPLANATION_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    items: Vec<Item>,
}

/// Only the version, read first so that another version is named in the error.
#[derive(Deserialize)]
struct Version {
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Item {
    Prorated {
        month: String,
        days: i64,
        days_in_month: i64,
    },
    Peaks {
        peaks: Vec<Peak>,
        average_w: i64,
        step_from: String,
        step_to: Option<String>,
        threshold_inclusive: bool,
    },
    MainFuse {
        amperes: u32,
    },
    MaxDemand {
        date: String,
        hour: i8,
        demand_w: i64,
        period: Option<String>,
    },
    EnergyShare {
        period: String,
        hours: String,
        energy_wh: i64,
        component_energy_wh: i64,
    },
    SpotPrice {
        average_price_per_kwh: String,
        factor: String,
        markup_per_kwh: String,
        monthly_average: bool,
    },
    RatePeriod {
        from: String,
        to: String,
        rate: String,
    },
    Subsidy {
        threshold_per_kwh: String,
        percent: String,
        covered_wh: i64,
        capped_wh: i64,
    },
    Tier {
        from_kwh: String,
        to_kwh: Option<String>,
    },
    Note {
        text: String,
    },
    Corrects {
        documents: Vec<String>,
    },
    Replaces {
        documents: Vec<String>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Peak {
    date: String,
    hour: i8,
    energy_wh: i64,
}

/// The stored form of `explanation`.
pub(crate) fn encode(explanation: &[Explanation]) -> String {
    let stored = Stored {
        version: EXPLANATION_VERSION,
        items: explanation.iter().map(item).collect(),
    };
    // Strings, integers and booleans only: serialising cannot fail.
    serde_json::to_string(&stored).unwrap_or_default()
}

fn text(value: impl ToString) -> String {
    value.to_string()
}

fn item(explanation: &Explanation) -> Item {
    match explanation {
        Explanation::Prorated {
            month,
            days,
            days_in_month,
        } => Item::Prorated {
            month: text(month),
            days: *days,
            days_in_month: *days_in_month,
        },
        Explanation::Peaks {
            peaks,
            average_w,
            step_from,
            step_to,
            threshold_inclusive,
        } => Item::Peaks {
            peaks: peaks
                .iter()
                .map(|p| Peak {
                    date: text(p.date),
                    hour: p.hour,
                    energy_wh: p.energy_wh,
                })
                .collect(),
            average_w: *average_w,
            step_from: text(step_from),
            step_to: step_to.map(text),
            threshold_inclusive: *threshold_inclusive,
        },
        Explanation::MainFuse { amperes } => Item::MainFuse { amperes: *amperes },
        Explanation::MaxDemand {
            date,
            hour,
            demand_w,
            period,
        } => Item::MaxDemand {
            date: text(date),
            hour: *hour,
            demand_w: *demand_w,
            period: period.as_deref().map(str::to_owned),
        },
        Explanation::EnergyShare {
            period,
            hours,
            energy_wh,
            component_energy_wh,
        } => Item::EnergyShare {
            period: period.to_string(),
            hours: hours.to_string(),
            energy_wh: *energy_wh,
            component_energy_wh: *component_energy_wh,
        },
        Explanation::SpotPrice {
            average_price_per_kwh,
            factor,
            markup_per_kwh,
            monthly_average,
        } => Item::SpotPrice {
            average_price_per_kwh: text(average_price_per_kwh),
            factor: text(factor),
            markup_per_kwh: text(markup_per_kwh),
            monthly_average: *monthly_average,
        },
        Explanation::RatePeriod { from, to, rate } => Item::RatePeriod {
            from: text(from),
            to: text(to),
            rate: text(rate),
        },
        Explanation::Subsidy {
            threshold_per_kwh,
            percent,
            covered_wh,
            capped_wh,
        } => Item::Subsidy {
            threshold_per_kwh: text(threshold_per_kwh),
            percent: text(percent),
            covered_wh: *covered_wh,
            capped_wh: *capped_wh,
        },
        Explanation::Tier { from_kwh, to_kwh } => Item::Tier {
            from_kwh: text(from_kwh),
            to_kwh: to_kwh.map(text),
        },
        Explanation::Note(note) => Item::Note {
            text: note.to_string(),
        },
        Explanation::Corrects { documents } => Item::Corrects {
            documents: documents.clone(),
        },
        Explanation::Replaces { documents } => Item::Replaces {
            documents: documents.clone(),
        },
    }
}

/// A line's explanation from its two columns: the JSON where there is one, else the text of a
/// line issued before migration 0009.
pub(crate) fn decode(
    json: Option<&str>,
    legacy_text: &str,
) -> Result<Vec<Explanation>, StoreError> {
    match json {
        Some(json) => decode_json(json),
        None => Ok(decode_legacy(legacy_text)),
    }
}

/// The old form: English text, one explanation per line; an empty text is none.
fn decode_legacy(text: &str) -> Vec<Explanation> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|line| Explanation::Note(Arc::from(line)))
        .collect()
}

fn corrupt(json: &str, rule: String) -> StoreError {
    StoreError::CorruptValue(ParseError::new("explanation_json", json, rule))
}

fn decode_json(json: &str) -> Result<Vec<Explanation>, StoreError> {
    let version: Version = serde_json::from_str(json).map_err(|e| {
        corrupt(
            json,
            format!("not a stored explanation (an object with a version): {e}"),
        )
    })?;
    if version.version != EXPLANATION_VERSION {
        return Err(corrupt(
            json,
            format!(
                "explanation version {} is not one this build reads (it reads version {EXPLANATION_VERSION})",
                version.version
            ),
        ));
    }
    let stored: Stored = serde_json::from_str(json).map_err(|e| {
        corrupt(
            json,
            format!("not a version {EXPLANATION_VERSION} explanation: {e}"),
        )
    })?;
    stored
        .items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            explanation(item).map_err(|rule| corrupt(json, format!("item {}: {rule}", i + 1)))
        })
        .collect()
}

fn parsed<T: FromStr>(field: &str, value: &str, what: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{field} {value:?} is not {what}"))
}

fn decimal(field: &str, value: &str) -> Result<Decimal, String> {
    parsed(field, value, "a decimal number")
}

fn date(field: &str, value: &str) -> Result<Date, String> {
    parsed(field, value, "a date YYYY-MM-DD")
}

fn optional_decimal(field: &str, value: Option<String>) -> Result<Option<Decimal>, String> {
    value.map(|v| decimal(field, &v)).transpose()
}

fn explanation(item: Item) -> Result<Explanation, String> {
    Ok(match item {
        Item::Prorated {
            month,
            days,
            days_in_month,
        } => Explanation::Prorated {
            month: date("month", &month)?,
            days,
            days_in_month,
        },
        Item::Peaks {
            peaks,
            average_w,
            step_from,
            step_to,
            threshold_inclusive,
        } => Explanation::Peaks {
            peaks: peaks
                .into_iter()
                .map(|p| {
                    Ok(HourPeak {
                        date: date("peak date", &p.date)?,
                        hour: p.hour,
                        energy_wh: p.energy_wh,
                    })
                })
                .collect::<Result<_, String>>()?,
            average_w,
            step_from: decimal("step_from", &step_from)?,
            step_to: optional_decimal("step_to", step_to)?,
            threshold_inclusive,
        },
        Item::MainFuse { amperes } => Explanation::MainFuse { amperes },
        Item::MaxDemand {
            date: day,
            hour,
            demand_w,
            period,
        } => Explanation::MaxDemand {
            date: date("date", &day)?,
            hour,
            demand_w,
            period: period.map(Arc::from),
        },
        Item::EnergyShare {
            period,
            hours,
            energy_wh,
            component_energy_wh,
        } => Explanation::EnergyShare {
            period: Arc::from(period),
            hours: Arc::from(hours),
            energy_wh,
            component_energy_wh,
        },
        Item::SpotPrice {
            average_price_per_kwh,
            factor,
            markup_per_kwh,
            monthly_average,
        } => Explanation::SpotPrice {
            average_price_per_kwh: decimal("average_price_per_kwh", &average_price_per_kwh)?,
            factor: decimal("factor", &factor)?,
            markup_per_kwh: decimal("markup_per_kwh", &markup_per_kwh)?,
            monthly_average,
        },
        Item::RatePeriod { from, to, rate } => Explanation::RatePeriod {
            from: date("from", &from)?,
            to: date("to", &to)?,
            rate: decimal("rate", &rate)?,
        },
        Item::Subsidy {
            threshold_per_kwh,
            percent,
            covered_wh,
            capped_wh,
        } => Explanation::Subsidy {
            threshold_per_kwh: decimal("threshold_per_kwh", &threshold_per_kwh)?,
            percent: decimal("percent", &percent)?,
            covered_wh,
            capped_wh,
        },
        Item::Tier { from_kwh, to_kwh } => Explanation::Tier {
            from_kwh: decimal("from_kwh", &from_kwh)?,
            to_kwh: optional_decimal("to_kwh", to_kwh)?,
        },
        Item::Note { text } => Explanation::Note(Arc::from(text)),
        Item::Corrects { documents } => Explanation::Corrects { documents },
        Item::Replaces { documents } => Explanation::Replaces { documents },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_is_versioned_with_decimals_as_strings_and_iso_dates() {
        let explanation = [
            Explanation::RatePeriod {
                from: Date::constant(2025, 1, 1),
                to: Date::constant(2025, 2, 1),
                rate: "0.0979".parse().unwrap(),
            },
            Explanation::Corrects {
                documents: vec!["F-12".into()],
            },
        ];
        let json = encode(&explanation);
        assert_eq!(
            json,
            r#"{"version":1,"items":[{"type":"rate_period","from":"2025-01-01","to":"2025-02-01","rate":"0.0979"},{"type":"corrects","documents":["F-12"]}]}"#
        );
        assert_eq!(decode(Some(&json), "").unwrap(), explanation);
    }

    #[test]
    fn a_line_issued_before_0009_reads_as_notes_of_its_text() {
        assert_eq!(decode(None, "").unwrap(), Vec::new());
        let notes = decode(
            None,
            "correction of F-1\nrate 0.0979/kWh from 2025-01-01 to 2025-02-01",
        )
        .unwrap();
        let shown: Vec<String> = notes.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            shown,
            [
                "correction of F-1",
                "rate 0.0979/kWh from 2025-01-01 to 2025-02-01"
            ]
        );
    }

    #[test]
    fn an_unreadable_explanation_is_an_error_that_says_what_is_wrong() {
        for (json, says) in [
            ("not json", "not a stored explanation"),
            (
                r#"{"version":2,"items":[]}"#,
                "version 2 is not one this build reads",
            ),
            (
                r#"{"version":1,"items":[{"type":"guess"}]}"#,
                "not a version 1 explanation",
            ),
            (
                r#"{"version":1,"items":[{"type":"tier","from_kwh":"1,5","to_kwh":null}]}"#,
                "item 1: from_kwh \"1,5\" is not a decimal number",
            ),
        ] {
            let error = decode(Some(json), "").unwrap_err().to_string();
            assert!(
                error.contains("explanation_json") && error.contains(says),
                "{json}: {error}"
            );
        }
    }
}
