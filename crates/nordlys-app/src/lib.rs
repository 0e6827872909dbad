//! Nordlys use-cases: importing and exporting data, building the demo utility. Each use-case
//! is one all-or-nothing transaction against the [`nordlys_store::Store`]; the clock and the
//! progress display are passed in, so the same code serves the CLI, the server and tests.

pub mod access;
pub mod billing;
pub mod clock;
pub mod compare;
pub mod consumption;
pub mod cost;
pub mod demo;
pub mod documents;
pub mod export;
pub mod import;
pub mod invoice_data;
pub mod peak_view;
pub mod peppol;
pub mod personal_data;
pub mod products;
pub mod progress;
pub mod rate;
pub mod receivables;
pub mod self_service;
pub mod staff;
pub mod wire;
pub mod work_orders;

pub use clock::{Clock, FixedClock, SystemClock};
pub use progress::{NoProgress, Progress};
