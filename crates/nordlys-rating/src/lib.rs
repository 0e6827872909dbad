//! Nordlys rating: products and tariffs as data, statutory tables as data, and the engine
//! that turns a metering point's energy series into invoice lines.
//!
//! Pure: no I/O except parsing strings handed to it, no clock, no SQL, no HTTP.
//!
//! - [`product`]: the product model (components with validity, VAT treatment, pricing) and
//!   [`Product::validate`](product::Product::validate).
//! - [`format`]: Nordlys's own TOML product files.
//! - [`fri_nettleie`]: import of the fri-nettleie YAML tariff files.
//! - [`statutory`]: taxes, subsidies and VAT zones as a dated table (embedded default).
//! - [`calendar`]: public holidays, day selectors, month and hour masks.
//! - [`plan`]: [`RatingPlan`], the per-(products, period, resolution) precomputation.
//! - [`engine`]: [`RatingPlan::rate`], [`rate`], their inputs, errors and bounds; one module
//!   per pricing kind (energy, fees, capacity and demand, statutory taxes and subsidies).
//! - [`invoice`]: lines, explanations, diagnostics and [`totals`](invoice::totals).
//! - [`decimal`]: exact decimals and the fixed-point scales of the hot loop.

pub mod calendar;
pub mod decimal;
pub mod engine;
pub mod format;
pub mod fri_nettleie;
pub mod invoice;
pub mod openei_urdb;
pub mod plan;
pub mod product;
pub mod statutory;

pub use engine::{
    ContractSpan, MeterInput, RateError, RatingContext, Scratch, UsageQuantity, rate,
    spot_price_from_mwh,
};
pub use format::{parse_product_toml, read_product_toml};
pub use invoice::{
    Diagnostic, Explanation, InvoiceLine, LineKind, LineUnit, Rating, Totals, VatCategory, totals,
};
pub use plan::{PlanError, RatingPlan};
pub use product::{Product, ProductError, ProductErrors};
pub use statutory::Statutory;
