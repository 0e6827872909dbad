//! Imports: CSV files of master data, meter values and market data, each all-or-nothing.
//! One bad row rejects the whole file with `file:line: column: what is wrong` (up to
//! [`MAX_REPORTED_ERRORS`] of them) and nothing of the file is stored.

pub(crate) mod csv_table;
mod market_data;
mod master;
pub(crate) use master::check_email;
mod meter_values;
mod usage;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use nordlys_core::ParseError;
use nordlys_store::StoreError;

pub use market_data::{import_exchange_rates, import_spot_prices, read_spot_prices};
pub use master::{import_accounts, import_contracts, import_customers, import_metering_points};
pub use meter_values::{MeterValueLimits, import_meter_values};
pub use usage::import_usage;

/// How many row errors a rejected file lists before it stops looking.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// What a successful import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub source: String,
    /// Data rows read.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub elapsed: Duration,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.kind == ImportKind::MeterValues {
            "days"
        } else {
            "records"
        };
        write!(
            f,
            "{}: {} rows imported as {}: {} {what} new, {} changed (new version or update), {} unchanged, in {:.2} s",
            self.source,
            self.rows,
            self.kind,
            self.inserted,
            self.updated,
            self.unchanged,
            self.elapsed.as_secs_f64()
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Customers,
    Accounts,
    MeteringPoints,
    Contracts,
    MeterValues,
    SpotPrices,
    ExchangeRates,
    Products,
    Usage,
}

impl ImportKind {
    pub const ALL: &'static [ImportKind] = &[
        ImportKind::Customers,
        ImportKind::Accounts,
        ImportKind::MeteringPoints,
        ImportKind::Contracts,
        ImportKind::MeterValues,
        ImportKind::SpotPrices,
        ImportKind::ExchangeRates,
        ImportKind::Products,
        ImportKind::Usage,
    ];
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Accounts => "accounts",
            ImportKind::MeteringPoints => "metering-points",
            ImportKind::Contracts => "contracts",
            ImportKind::MeterValues => "meter-values",
            ImportKind::SpotPrices => "spot-prices",
            ImportKind::ExchangeRates => "exchange-rates",
            ImportKind::Products => "products",
            ImportKind::Usage => "usage",
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One thing wrong with one row (or the header) of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl RowError {
    pub fn new(line: u64, column: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            line,
            column: column.into(),
            message: message.into(),
        }
    }
    pub fn from_parse(line: u64, error: ParseError) -> Self {
        RowError {
            line,
            column: error.field.to_owned(),
            message: format!("{:?}: {}", error.value, error.rule),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file breaks the rules; nothing of it was stored.
    #[error("{}", render_rejection(.source_name, .errors, *.more))]
    Rejected {
        source_name: String,
        errors: Vec<RowError>,
        more: bool,
    },
    /// The file has no data rows (`has_header`: it has a header); nothing was stored.
    #[error("{source_name} {}; nothing was stored", if *.has_header { "has a header but no rows" } else { "is empty" })]
    NoRows {
        source_name: String,
        has_header: bool,
    },
    #[error("cannot read {source_name}: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored products a check needs do not load.
    #[error(transparent)]
    Products(#[from] crate::products::LoadProductsError),
}

fn render_rejection(source: &str, errors: &[RowError], more: bool) -> String {
    let mut out = format!("{source} was rejected; nothing of it was stored:");
    for e in errors {
        out.push_str(&format!(
            "\n  {source}:{}: {}: {}",
            e.line, e.column, e.message
        ));
    }
    if more {
        out.push_str(&format!("\n  (stopped after {MAX_REPORTED_ERRORS} errors)"));
    }
    out
}

impl ImportError {
    pub fn no_rows(source_name: &str, has_header: bool) -> Self {
        ImportError::NoRows {
            source_name: source_name.to_owned(),
            has_header,
        }
    }
    pub fn rejected(source_name: &str, errors: Vec<RowError>, more: bool) -> Self {
        ImportError::Rejected {
            source_name: source_name.to_owned(),
            errors,
            more,
        }
    }
}

/// Collects row errors up to the reporting limit.
#[derive(Debug, Default)]
pub(crate) struct ErrorList {
    pub errors: Vec<RowError>,
    pub more: bool,
}

impl ErrorList {
    pub fn push(&mut self, error: RowError) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(error);
        } else {
            self.more = true;
        }
    }
    /// True once more errors were found than are reported: reading on is pointless.
    pub fn is_full(&self) -> bool {
        self.more
    }
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
    pub fn into_result(self, source: &str) -> Result<(), ImportError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ImportError::rejected(source, self.errors, self.more))
        }
    }
}

/// The line each key of a file was first seen on: the same key twice in one file is an
/// error that names both lines.
#[derive(Debug)]
pub(crate) struct FirstLines<K> {
    lines: HashMap<K, u64>,
}

impl<K: Hash + Eq> Default for FirstLines<K> {
    fn default() -> Self {
        FirstLines {
            lines: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> FirstLines<K> {
    /// Remember `key` on `line`; if it was seen before, the earlier line.
    pub fn earlier(&mut self, key: K, line: u64) -> Option<u64> {
        match self.lines.entry(key) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(slot) => {
                slot.insert(line);
                None
            }
        }
    }
}

/// The error for a key given twice: on the later line, naming the earlier one.
pub(crate) fn given_twice(
    line: u64,
    column: &str,
    value: &str,
    what: &str,
    first: u64,
) -> RowError {
    RowError::new(
        line,
        column,
        format!("{value:?}: {what} is already given on line {first} of this file"),
    )
}
