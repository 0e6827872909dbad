//! Market-data imports: spot prices (`area,start,end,price,currency,unit`) and exchange
//! rates (`date,base,quote,rate`). A changed spot price becomes a new version; an area has
//! one price per instant, so overlapping intervals (an hour and a quarter-hour in it) are refused.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use nordlys_core::ParseError;
use nordlys_core::model::{ExchangeRate, PriceArea, SpotPrice};
use nordlys_core::quantity::{Currency, EnergyUnit, parse_decimal};
use nordlys_core::time::{Resolution, parse_date, parse_instant};
use nordlys_store::{ImportCounts, Store, StoreError, StoreTx, Upsert};
use rust_decimal::Decimal;

use super::csv_table::{CsvTable, Row};
use super::{ErrorList, FirstLines, ImportError, ImportKind, ImportReport, RowError, given_twice};
use crate::Clock;

fn parse_spot_price(row: &Row<'_>) -> Result<SpotPrice, ParseError> {
    let area = row.parse(0, PriceArea::parse)?;
    let start = row.parse(1, |v| parse_instant("start", v))?;
    let end = row.parse(2, |v| parse_instant("end", v))?;
    check_interval(start, end, row.get(2))?;
    let price = row.parse(3, |v| parse_decimal("price", v))?;
    let currency = row.parse(4, Currency::parse)?;
    let per_mwh = match row.parse(5, EnergyUnit::parse)? {
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

/// One parsed row of a spot-price file.
struct SpotRow {
    line: u64,
    start_text: String,
    price: SpotPrice,
}

/// Read and check a whole spot-price file (no store): each row parsed, no interval twice,
/// no two intervals of one area overlapping.
pub fn read_spot_prices(source: &str, input: impl Read) -> Result<Vec<SpotPrice>, ImportError> {
    let rows = read_spot_price_rows(source, input)?;
    check_overlaps(&rows, &[]).into_result(source)?;
    Ok(rows.into_iter().map(|row| row.price).collect())
}

fn read_spot_price_rows(source: &str, input: impl Read) -> Result<Vec<SpotRow>, ImportError> {
    let mut table = CsvTable::open_import(
        source,
        input,
        &["area", "start", "end", "price", "currency", "unit"],
        &[],
    )?;
    let mut errors = ErrorList::default();
    let mut first_lines: FirstLines<(PriceArea, Timestamp)> = FirstLines::default();
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    while let Some(next) = table.next_row(&mut record) {
        if errors.is_full() {
            break;
        }
        let line = match next {
            Ok(line) => line,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let row = table.row(&record);
        let price = match parse_spot_price(&row) {
            Ok(price) => price,
            Err(e) => {
                errors.push(RowError::from_parse(line, e));
                continue;
            }
        };
        if let Some(first) = first_lines.earlier((price.area, price.start), line) {
            let what = format!("the {} price from {}", price.area, price.start);
            errors.push(given_twice(line, row.name(1), row.get(1), &what, first));
            continue;
        }
        out.push(SpotRow {
            line,
            start_text: row.get(1).to_owned(),
            price,
        });
    }
    errors.into_result(source)?;
    Ok(out)
}

/// Where an interval of an overlap check comes from.
#[derive(Clone, Copy)]
enum PriceSource {
    /// Row number `.0` of `rows`.
    Row(usize),
    Stored,
}

/// Prices of one area may not overlap — a 60-minute price and a 15-minute price within its
/// hour — neither within the file nor with what is `stored` (a stored price whose start the
/// file prices again is replaced, so it does not count).
fn check_overlaps(rows: &[SpotRow], stored: &[SpotPrice]) -> ErrorList {
    let in_file: HashSet<(PriceArea, Timestamp)> =
        rows.iter().map(|r| (r.price.area, r.price.start)).collect();
    let mut intervals: Vec<(PriceArea, Timestamp, Timestamp, PriceSource)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.price.area,
                r.price.start,
                r.price.end,
                PriceSource::Row(i),
            )
        })
        .chain(
            stored
                .iter()
                .filter(|p| !in_file.contains(&(p.area, p.start)))
                .map(|p| (p.area, p.start, p.end, PriceSource::Stored)),
        )
        .collect();
    intervals.sort_by_key(|&(area, start, end, _)| (area, start, end));
    let mut errors = ErrorList::default();
    // The interval reaching furthest so far in this area.
    let mut reach: Option<(PriceArea, Timestamp, Timestamp, PriceSource)> = None;
    for &(area, start, end, source) in &intervals {
        if let Some((reach_area, reach_start, reach_end, reach_source)) = reach
            && reach_area == area
            && start < reach_end
        {
            let describe = |s: Timestamp, e: Timestamp, from: PriceSource| {
                let minutes = (e.as_second() - s.as_second()) / 60;
                let place = match from {
                    PriceSource::Row(i) => format!("on line {} of this file", rows[i].line),
                    PriceSource::Stored => "stored by an earlier import".to_owned(),
                };
                format!("the {minutes}-minute price {s}..{e} {place}")
            };
            // Report on a line of the file: the later interval's, unless it is stored.
            let (row, other) = match (source, reach_source) {
                (PriceSource::Row(i), _) => (i, describe(reach_start, reach_end, reach_source)),
                (PriceSource::Stored, PriceSource::Row(i)) => {
                    (i, describe(start, end, PriceSource::Stored))
                }
                (PriceSource::Stored, PriceSource::Stored) => continue,
            };
            let r = &rows[row];
            errors.push(RowError::new(
                r.line,
                "start",
                format!(
                    "{:?}: the {} price {}..{} overlaps {other}; an area has one price per instant",
                    r.start_text, area, r.price.start, r.price.end
                ),
            ));
            if errors.is_full() {
                break;
            }
        }
        match reach {
            Some((reach_area, _, reach_end, _)) if reach_area == area && reach_end >= end => {}
            _ => reach = Some((area, start, end, source)),
        }
    }
    errors
}

pub async fn import_spot_prices(
    store: &Store,
    source: &str,
    input: impl Read,
    clock: &dyn Clock,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let rows = read_spot_price_rows(source, input)?;
    if rows.is_empty() {
        return Err(ImportError::no_rows(source, true));
    }
    // What is stored around the file's intervals, per area: a stored hour may overlap the
    // file's quarter-hours (and the other way round).
    let mut spans: HashMap<PriceArea, (Timestamp, Timestamp)> = HashMap::new();
    for row in &rows {
        let span = spans
            .entry(row.price.area)
            .or_insert((row.price.start, row.price.end));
        span.0 = span.0.min(row.price.start);
        span.1 = span.1.max(row.price.end);
    }
    let mut stored = Vec::new();
    for (area, (from, to)) in spans {
        let from = from - SignedDuration::from_hours(1);
        stored.extend(store.spot_prices(area, from, to).await?);
    }
    check_overlaps(&rows, &stored).into_result(source)?;
    let mut tx = store
        .begin_import(ImportKind::SpotPrices.code(), source, clock.now())
        .await?;
    let mut errors = ErrorList::default();
    let mut counts = ImportCounts::default();
    for row in &rows {
        match tx.upsert_spot_price(&row.price).await {
            Ok(upsert) => counts.record(upsert),
            Err(StoreError::Rejected(e)) => errors.push(RowError::from_parse(row.line, e)),
            Err(other) => return Err(other.into()),
        }
    }
    errors.into_result(source)?;
    tx.commit(counts).await?;
    Ok(report(ImportKind::SpotPrices, source, counts, started))
}

impl super::master::MasterRecord for ExchangeRate {
    const KIND: ImportKind = ImportKind::ExchangeRates;
    const REQUIRED: &'static [&'static str] = &["date", "base", "quote", "rate"];
    const OPTIONAL: &'static [&'static str] = &[];
    const KEY_COLUMN: usize = 0;
    super::master::no_context!();

    fn parse(row: &Row<'_>) -> Result<Self, ParseError> {
        let rate = row.parse(3, |v| parse_decimal("rate", v))?;
        if rate <= Decimal::ZERO {
            return Err(ParseError::new(
                row.name(3),
                row.get(3),
                "an exchange rate must be positive",
            ));
        }
        let base = row.parse(1, Currency::parse)?;
        let quote = row.parse(2, Currency::parse)?;
        if base == quote {
            return Err(ParseError::new(
                row.name(2),
                row.get(2),
                "must differ from base",
            ));
        }
        Ok(ExchangeRate {
            date: row.parse(0, |v| parse_date("date", v))?,
            base,
            quote,
            rate,
        })
    }

    fn key(&self) -> String {
        format!("the {}/{} rate of {}", self.base, self.quote, self.date)
    }

    async fn write(&self, tx: &mut StoreTx) -> Result<Upsert, StoreError> {
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
