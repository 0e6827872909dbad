//! Reading typed values out of rows: decimals and dates stored as text.

use crate::db::DbRow;
use jiff::civil::Date;
use nordlys_core::ParseError;
use rust_decimal::Decimal;
use sqlx::Row;

use crate::StoreError;

pub(crate) fn bad(field: &'static str, value: &str) -> StoreError {
    StoreError::CorruptValue(ParseError::new(field, value, "stored value is unreadable"))
}

pub(crate) fn decimal(row: &DbRow, i: usize, field: &'static str) -> Result<Decimal, StoreError> {
    let text: String = row.get(i);
    text.parse().map_err(|_| bad(field, &text))
}

pub(crate) fn date(row: &DbRow, i: usize, field: &'static str) -> Result<Date, StoreError> {
    let text: String = row.get(i);
    text.parse().map_err(|_| bad(field, &text))
}

pub(crate) fn optional_date(
    row: &DbRow,
    i: usize,
    field: &'static str,
) -> Result<Option<Date>, StoreError> {
    let text: Option<String> = row.get(i);
    text.map(|t| t.parse().map_err(|_| bad(field, &t)))
        .transpose()
}
