//! Market-data imports: spot prices (`area,start,end,price,currency,unit`) and exchange
//! rates (`date,base,quote,rate`). A changed spot price becomes a new version.

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use jiff::Timestamp;
use nordlys_core::ParseError;
use nordlys_core::model::{ExchangeRate, PriceArea, SpotPrice};
use nordlys_core::quantity::{Currency, EnergyUnit, parse_decimal};
use nordlys_core::time::{Resolution, parse_date, parse_instant};
use nordlys_store::{ImportCounts, Store, StoreError};
use rust_decimal::Decimal;

use super::csv_table::{CsvTable, Row};
use super::{ErrorList, ImportError, ImportKind, ImportReport, RowError};
use crate::Clock;

fn parse_spot_price(row: &Row<'_>) -> Result<SpotPrice, ParseError> {
    let area = PriceArea::parse(row.get(0))?;
    let start = parse_instant("start", row.get(1))?;
    let end = parse_instant("end", row.get(2))?;
    check_interval(start, end, row.get(2))?;
    let price = parse_decimal("price", row.get(3))?;
    let currency = Currency::parse(row.get(4))?;
    let per_mwh = match EnergyUnit::parse(row.get(5))? {
        EnergyUnit::Mwh => price,
        EnergyUnit::Kwh => price * Decimal::ONE_THOUSAND,
    };
    Ok(SpotPrice {
        area,
        start,
        end,
        price_per_mwh: per_mwh,
        currency,
    })
}

/// A market time unit: 15 or 60 minutes, starting on its own boundary.
fn check_interval(
    start: Timestamp,
    end: Timestamp,
    end_text: &str,
) -> Result<Resolution, ParseError> {
    let seconds = end.as_second() - start.as_second();
    let resolution = Resolution::from_seconds(seconds).ok_or_else(|| {
        ParseError::new(
            "end",
            end_text,
            format!("the interval is {seconds} s long; prices are per 15 or 60 minutes"),
        )
    })?;
    if start.as_second().rem_euclid(resolution.seconds()) != 0 || start.subsec_nanosecond() != 0 {
        return Err(ParseError::new(
            "start",
            start.to_string(),
            format!("does not start on a {resolution} boundary"),
        ));
    }
    Ok(resolution)
}

/// Read and check a whole spot-price file (no store): each row parsed, no interval twice.
pub fn read_spot_prices(source: &str, input: impl Read) -> Result<Vec<SpotPrice>, ImportError> {
    Ok(read_spot_price_rows(source, input)?
        .into_iter()
        .map(|(_, price)| price)
        .collect())
}

fn read_spot_price_rows(
    source: &str,
    input: impl Read,
) -> Result<Vec<(u64, SpotPrice)>, ImportError> {
    let mut table = CsvTable::open(
        input,
        &["area", "start", "end", "price", "currency", "unit"],
        &[],
    )
    .map_err(|errors| ImportError::rejected(source, errors, false))?;
    let mut errors = ErrorList::default();
    let mut first_line: HashMap<(PriceArea, Timestamp), u64> = HashMap::new();
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    while let Some(next) = table.next_row(&mut record) {
        let line = match next {
            Ok(line) => line,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let price = match parse_spot_price(&table.row(&record)) {
            Ok(price) => price,
            Err(e) => {
                errors.push(RowError::from_parse(line, e));
                if errors.is_full() {
                    break;
                }
                continue;
            }
        };
        if let Some(first) = first_line.insert((price.area, price.start), line) {
            let start_text = table.row(&record).get(1);
            errors.push(RowError::new(
                line,
                "start",
                format!(
                    "{start_text:?}: {} {} is already priced on line {first} of this file",
                    price.area, price.start
                ),
            ));
            continue;
        }
        out.push((line, price));
    }
    errors.into_result(source)?;
    Ok(out)
}

pub async fn import_spot_prices(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let rows = read_spot_price_rows(source, input)?;
    let mut tx = store
        .begin_import(ImportKind::SpotPrices.code(), source, clock.now())
        .await?;
    let mut errors = ErrorList::default();
    let mut counts = ImportCounts::default();
    for (line, price) in &rows {
        match tx.upsert_spot_price(price).await {
            Ok(upsert) => counts.record(upsert),
            Err(StoreError::Rejected(e)) => errors.push(RowError::from_parse(*line, e)),
            Err(other) => return Err(other.into()),
        }
    }
    errors.into_result(source)?;
    tx.commit(counts).await?;
    Ok(report(ImportKind::SpotPrices, source, counts, started))
}

fn parse_exchange_rate(row: &Row<'_>) -> Result<ExchangeRate, ParseError> {
    let rate = parse_decimal("rate", row.get(3))?;
    if rate <= Decimal::ZERO {
        return Err(ParseError::new(
            "rate",
            row.get(3),
            "an exchange rate must be positive",
        ));
    }
    let base = Currency::parse(row.get(1)).map_err(|e| ParseError { field: "base", ..e })?;
    let quote = Currency::parse(row.get(2)).map_err(|e| ParseError {
        field: "quote",
        ..e
    })?;
    if base == quote {
        return Err(ParseError::new(
            "quote",
            row.get(2),
            "must differ from base",
        ));
    }
    Ok(ExchangeRate {
        date: parse_date("date", row.get(0))?,
        base,
        quote,
        rate,
    })
}

impl super::master::MasterRecord for ExchangeRate {
    const KIND: ImportKind = ImportKind::ExchangeRates;
    const REQUIRED: &'static [&'static str] = &["date", "base", "quote", "rate"];
    const OPTIONAL: &'static [&'static str] = &[];
    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        parse_exchange_rate(row)
    }
    async fn write(
        &self,
        tx: &mut nordlys_store::StoreTx,
    ) -> Result<nordlys_store::Upsert, StoreError> {
        tx.upsert_exchange_rate(self).await
    }
}

pub async fn import_exchange_rates(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    super::master::import_master::<ExchangeRate>(store, source, input, clock).await
}

pub(super) fn report(
    kind: ImportKind,
    source: &str,
    counts: ImportCounts,
    started: Instant,
) -> ImportReport {
    ImportReport {
        kind,
        source: source.to_owned(),
        rows: counts.rows,
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        elapsed: started.elapsed(),
    }
}
