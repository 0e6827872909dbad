//! Why a contract-period cannot be settled or corrected: a typed reason with a stable code and
//! details, so that worklists, the self-service web and datahub re-requests can act on it; its
//! text is what a clerk reads.

use std::fmt;

use jiff::civil::Date;
use nordlys_core::model::PriceArea;
use nordlys_core::quantity::Currency;
use nordlys_core::time::Resolution;
use serde_json::{Value, json};

/// A contract-period that was not billed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub contract_id: String,
    pub account_id: String,
    pub period: String,
    pub metering_point: Option<String>,
    pub reason: NotReadyReason,
}

/// Why a contract-period is not ready. [`NotReadyReason::code`] is stable; re-request the basis
/// from the datahub for `readings_incomplete`, import prices or rates for `spot_prices_missing`
/// and `exchange_rate_missing`, fix master data for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReadyReason {
    /// Intervals of the contract's span without an acceptable reading.
    ReadingsIncomplete {
        absent: usize,
        missing: usize,
        estimated_not_accepted: usize,
        expected: usize,
        /// The first such interval, local time.
        first_gap: Option<String>,
    },
    /// Stored readings of a day are at another resolution than the metering point.
    ReadingsResolution {
        utc_day: String,
        found: Resolution,
        expected: Resolution,
    },
    /// Spot prices of the area do not cover every interval.
    SpotPricesMissing {
        area: PriceArea,
        missing: usize,
        intervals: usize,
        first_missing: Option<String>,
    },
    SpotPriceOutOfRange {
        area: PriceArea,
        price_per_mwh: String,
    },
    /// No exchange rate to convert spot prices into the product's currency.
    ExchangeRateMissing {
        base: Currency,
        quote: Currency,
        /// The day that needs one; `None`: no rates at all for the pair.
        date: Option<Date>,
        lookback_days: i64,
    },
    UnknownProduct {
        product: String,
    },
    /// The product cannot be rated for this period (its plan failed).
    ProductInvalid {
        product: String,
        error: String,
    },
    MeteredWithoutPoint {
        product: String,
    },
    /// One invoice has one currency; the account's contracts are priced in several.
    MixedCurrencies {
        currencies: Vec<Currency>,
    },
    /// The rating engine refused the contract (the engine's message).
    Rating {
        error: String,
    },
    /// Correction: the contract no longer covers the settled period.
    ContractGone,
    /// Correction: the contract was moved to another account after it was settled.
    ContractMoved {
        settled_account: String,
        current_account: String,
    },
    /// Correction: the contract-period cannot be re-rated now.
    CannotReRate {
        reason: Box<NotReadyReason>,
    },
}

impl NotReadyReason {
    /// A stable code for worklists and integrations.
    pub fn code(&self) -> &'static str {
        match self {
            NotReadyReason::ReadingsIncomplete { .. } => "readings_incomplete",
            NotReadyReason::ReadingsResolution { .. } => "readings_resolution",
            NotReadyReason::SpotPricesMissing { .. } => "spot_prices_missing",
            NotReadyReason::SpotPriceOutOfRange { .. } => "spot_price_out_of_range",
            NotReadyReason::ExchangeRateMissing { .. } => "exchange_rate_missing",
            NotReadyReason::UnknownProduct { .. } => "unknown_product",
            NotReadyReason::ProductInvalid { .. } => "product_invalid",
            NotReadyReason::MeteredWithoutPoint { .. } => "metered_without_point",
            NotReadyReason::MixedCurrencies { .. } => "mixed_currencies",
            NotReadyReason::Rating { .. } => "rating",
            NotReadyReason::ContractGone => "contract_gone",
            NotReadyReason::ContractMoved { .. } => "contract_moved",
            NotReadyReason::CannotReRate { reason } => reason.code(),
        }
    }

    /// The details as JSON (decimals and dates as strings), stored with the task.
    pub fn details(&self) -> Value {
        match self {
            NotReadyReason::ReadingsIncomplete {
                absent,
                missing,
                estimated_not_accepted,
                expected,
                first_gap,
            } => json!({"absent": absent, "missing": missing,
                "estimated_not_accepted": estimated_not_accepted, "expected": expected, "first_gap": first_gap}),
            NotReadyReason::ReadingsResolution {
                utc_day,
                found,
                expected,
            } => json!({"utc_day": utc_day, "found": found.code(), "expected": expected.code()}),
            NotReadyReason::SpotPricesMissing {
                area,
                missing,
                intervals,
                first_missing,
            } => {
                json!({"area": area.code(), "missing": missing, "intervals": intervals, "first_missing": first_missing})
            }
            NotReadyReason::SpotPriceOutOfRange {
                area,
                price_per_mwh,
            } => json!({"area": area.code(), "price_per_mwh": price_per_mwh}),
            NotReadyReason::ExchangeRateMissing {
                base,
                quote,
                date,
                lookback_days,
            } => json!({"base": base.code(), "quote": quote.code(),
                "date": date.map(|d| d.to_string()), "lookback_days": lookback_days}),
            NotReadyReason::UnknownProduct { product }
            | NotReadyReason::MeteredWithoutPoint { product } => json!({"product": product}),
            NotReadyReason::ProductInvalid { product, error } => {
                json!({"product": product, "error": error})
            }
            NotReadyReason::MixedCurrencies { currencies } => {
                json!({"currencies": currencies.iter().map(|c| c.code()).collect::<Vec<_>>()})
            }
            NotReadyReason::Rating { error } => json!({"error": error}),
            NotReadyReason::ContractGone => json!({}),
            NotReadyReason::ContractMoved {
                settled_account,
                current_account,
            } => json!({"settled_account": settled_account, "current_account": current_account}),
            NotReadyReason::CannotReRate { reason } => {
                json!({"correction": true, "reason": reason.details()})
            }
        }
    }
}

impl fmt::Display for NotReadyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReadyReason::ReadingsIncomplete {
                absent,
                missing,
                estimated_not_accepted,
                expected,
                first_gap,
            } => {
                write!(
                    f,
                    "readings incomplete: {absent} absent, {missing} missing, {estimated_not_accepted} estimated (not accepted) of {expected} intervals"
                )?;
                match first_gap {
                    Some(at) => write!(f, ", the first at {at}"),
                    None => Ok(()),
                }
            }
            NotReadyReason::ReadingsResolution {
                utc_day,
                found,
                expected,
            } => write!(
                f,
                "readings of UTC day {utc_day} are at {found} but the metering point is {expected}"
            ),
            NotReadyReason::SpotPricesMissing {
                area,
                missing,
                intervals,
                first_missing,
            } => {
                write!(
                    f,
                    "spot prices for {area} are missing for {missing} of {intervals} intervals"
                )?;
                match first_missing {
                    Some(at) => write!(f, ", the first at {at}"),
                    None => Ok(()),
                }
            }
            NotReadyReason::SpotPriceOutOfRange {
                area,
                price_per_mwh,
            } => write!(
                f,
                "spot price {price_per_mwh}/MWh for {area} is out of range"
            ),
            NotReadyReason::ExchangeRateMissing {
                base,
                quote,
                date: None,
                ..
            } => write!(
                f,
                "no {base}→{quote} exchange rates are stored (import exchange-rates)"
            ),
            NotReadyReason::ExchangeRateMissing {
                base,
                quote,
                date: Some(date),
                lookback_days,
            } => write!(
                f,
                "no {base}→{quote} exchange rate on or up to {lookback_days} days before {date}"
            ),
            NotReadyReason::UnknownProduct { product } => write!(
                f,
                "product {product:?} is unknown (import it with `nordlys import products`)"
            ),
            NotReadyReason::ProductInvalid { product, error } => {
                write!(f, "product {product:?}: {error}")
            }
            NotReadyReason::MeteredWithoutPoint { product } => write!(
                f,
                "product {product:?} is metered but contract has no metering point"
            ),
            NotReadyReason::MixedCurrencies { currencies } => {
                let list: Vec<&str> = currencies.iter().map(|c| c.code()).collect();
                write!(
                    f,
                    "the account's contracts are priced in different currencies ({}); one invoice has one currency",
                    list.join(", ")
                )
            }
            NotReadyReason::Rating { error } => f.write_str(error),
            NotReadyReason::ContractGone => f.write_str(
                "the contract no longer covers this settled period; credit what was billed by hand",
            ),
            NotReadyReason::ContractMoved {
                settled_account,
                current_account,
            } => write!(
                f,
                "the contract was moved from account {settled_account} to {current_account} after this period was settled; credit {settled_account}'s invoice and bill {current_account} by hand"
            ),
            NotReadyReason::CannotReRate { reason } => {
                write!(f, "cannot re-rate for correction: {reason}")
            }
        }
    }
}

impl From<NotReadyReason> for String {
    fn from(reason: NotReadyReason) -> String {
        reason.to_string()
    }
}
