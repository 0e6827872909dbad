//! Integration tests of the use-cases against a real SQLite file.

mod billing;
mod fixtures;
mod import_rules;
mod journal;
mod market_data;
mod master_data;
mod meter_values;
mod peppol;
mod truth;
