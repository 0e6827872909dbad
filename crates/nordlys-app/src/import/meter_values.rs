//! The meter-value import: long-format CSV `metering_point_id,start,end,quantity_kwh,quality`
//! streamed through a parser thread into day chunks, merged into the store in one
//! transaction. Memory is bounded by [`MeterValueLimits::pending_days`], not by file size.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jiff::Timestamp;
use nordlys_core::ParseError;
use nordlys_core::model::{DayReadings, Quality};
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::parse_instant;
use nordlys_store::{ImportCounts, PointRef, Store, StoreError};
use tokio::sync::mpsc;

use super::csv_table::CsvTable;
use super::{ErrorList, ImportError, ImportKind, ImportReport, RowError};
use crate::{Clock, Progress};

/// Limits of one meter-value import.
#[derive(Debug, Clone, Copy)]
pub struct MeterValueLimits {
    /// Day chunks held in memory before they are written (about 1.4 KB each, with the line
    /// of each interval).
    pub pending_days: usize,
}

impl Default for MeterValueLimits {
    fn default() -> Self {
        MeterValueLimits {
            pending_days: 20_000,
        }
    }
}

const COLUMNS: [&str; 5] = [
    "metering_point_id",
    "start",
    "end",
    "quantity_kwh",
    "quality",
];
const PROGRESS_EVERY_ROWS: u64 = 65_536;

struct PendingChunk {
    point: usize,
    first_line: u64,
    readings: DayReadings,
    /// Per slot, the line that gave it, as an offset from `first_line` ([`FAR_LINE`] if it
    /// does not fit), to name both lines of an interval given twice.
    line_offsets: Vec<u32>,
    /// Slots of this day given in rows already written out (the file revisits the day).
    earlier: Option<EarlierRows>,
}

/// A line offset too large for `u32`: the message then says "earlier in the file".
const FAR_LINE: u32 = u32::MAX;

/// The slots of one metering point's UTC day that rows already sent to the writer gave.
#[derive(Debug, Clone, Copy)]
struct EarlierRows {
    /// Bit `slot` set: given (a UTC day has at most 96 slots).
    present: u128,
    first_line: u64,
}

impl PendingChunk {
    fn present_bits(&self) -> u128 {
        self.readings
            .readings()
            .enumerate()
            .filter(|(_, reading)| reading.is_some())
            .fold(0, |bits, (slot, _)| bits | (1u128 << slot))
    }
}

/// Parse state carried from row to row; consecutive rows of one series skip most work.
struct Parser {
    points: Vec<PointRef>,
    index: HashMap<String, usize>,
    pending: HashMap<(usize, i64), PendingChunk>,
    /// Days already handed on (or dropped), with the slots their rows gave: a file that
    /// revisits a day may not give one of those slots again. Filled only once the file has
    /// more than [`MeterValueLimits::pending_days`] days; about 60 bytes per day.
    handed_on: HashMap<(usize, i64), EarlierRows>,
    last_point: Option<(Vec<u8>, usize)>,
    last_end: Option<(Vec<u8>, Timestamp)>,
    errors: ErrorList,
    rows: u64,
}

impl Parser {
    fn point(&mut self, field: &[u8]) -> Result<usize, ParseError> {
        if let Some((bytes, point)) = &self.last_point
            && bytes.as_slice() == field
        {
            return Ok(*point);
        }
        let text = std::str::from_utf8(field).unwrap_or("");
        let point = match self.index.get(text.trim()) {
            Some(&p) => p,
            None => {
                nordlys_core::ids::Gsrn::parse(text.trim())?;
                return Err(ParseError::new(
                    "metering_point_id",
                    text,
                    "unknown metering point (import metering points first)",
                ));
            }
        };
        self.last_point = Some((field.to_vec(), point));
        Ok(point)
    }

    fn instant(field: &'static str, bytes: &[u8]) -> Result<Timestamp, ParseError> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| ParseError::new(field, "", "not UTF-8 text"))?;
        parse_instant(field, text.trim())
    }

    fn row(
        &mut self,
        line: u64,
        record: &csv::ByteRecord,
        positions: &[usize; 5],
    ) -> Result<(), ParseError> {
        let field = |i: usize| record.get(positions[i]).unwrap_or(b"");
        let point_index = self.point(field(0))?;
        let start_bytes = field(1);
        let start = match &self.last_end {
            Some((bytes, ts)) if bytes.as_slice() == start_bytes => *ts,
            _ => Self::instant("start", start_bytes)?,
        };
        let end_bytes = field(2);
        let end = Self::instant("end", end_bytes)?;
        match &mut self.last_end {
            Some((bytes, ts)) => {
                bytes.clear();
                bytes.extend_from_slice(end_bytes);
                *ts = end;
            }
            None => self.last_end = Some((end_bytes.to_vec(), end)),
        }
        let point = &self.points[point_index];
        let step = point.resolution.seconds();
        let (start_s, end_s) = (start.as_second(), end.as_second());
        if end_s - start_s != step {
            return Err(ParseError::new(
                "end",
                String::from_utf8_lossy(end_bytes),
                format!(
                    "the interval is {} s but metering point {} has resolution {} ({step} s)",
                    end_s - start_s,
                    point.gsrn,
                    point.resolution
                ),
            ));
        }
        if start_s.rem_euclid(step) != 0 || start.subsec_nanosecond() != 0 {
            return Err(ParseError::new(
                "start",
                String::from_utf8_lossy(start_bytes),
                format!("does not start on a {} boundary", point.resolution),
            ));
        }
        let quality_text = std::str::from_utf8(field(4)).unwrap_or("").trim();
        let quality = Quality::parse(quality_text)?;
        let quantity = std::str::from_utf8(field(3)).unwrap_or("\u{FFFD}").trim();
        let energy = match (quality, quantity.is_empty()) {
            (Quality::Missing, true) => EnergyWh(0),
            (Quality::Missing, false) => {
                return Err(ParseError::new(
                    "quantity_kwh",
                    quantity,
                    "a reading of quality missing has no quantity; leave quantity_kwh empty",
                ));
            }
            _ => EnergyWh::parse_kwh("quantity_kwh", quantity)?,
        };
        if energy.0 < 0 {
            return Err(ParseError::new(
                "quantity_kwh",
                quantity,
                "a consumption value cannot be negative",
            ));
        }
        let day = start_s.div_euclid(86_400);
        let slot = ((start_s - day * 86_400) / step) as usize;
        let resolution = point.resolution;
        let handed_on = &self.handed_on;
        let pending = self
            .pending
            .entry((point_index, day))
            .or_insert_with(|| PendingChunk {
                point: point_index,
                first_line: line,
                readings: DayReadings::new(day, resolution),
                line_offsets: vec![FAR_LINE; resolution.intervals_per_utc_day()],
                earlier: handed_on.get(&(point_index, day)).copied(),
            });
        let earlier_line = if pending.readings.is_present(slot) {
            Some(match pending.line_offsets[slot] {
                FAR_LINE => "earlier in the file".to_owned(),
                offset => format!("on line {}", pending.first_line + u64::from(offset)),
            })
        } else {
            pending
                .earlier
                .filter(|earlier| earlier.present & (1u128 << slot) != 0)
                .map(|earlier| {
                    format!(
                        "earlier in the file (in the rows of that day from line {})",
                        earlier.first_line
                    )
                })
        };
        if let Some(earlier_line) = earlier_line {
            return Err(ParseError::new(
                "start",
                String::from_utf8_lossy(start_bytes),
                format!(
                    "this interval of metering point {} is already given {earlier_line}",
                    point.gsrn
                ),
            ));
        }
        pending.readings.set(slot, energy, quality);
        pending.line_offsets[slot] = u32::try_from(line - pending.first_line).unwrap_or(FAR_LINE);
        Ok(())
    }

    /// The pending days, sorted, to hand on; what they gave is remembered in `handed_on`.
    fn take_pending(&mut self) -> Vec<PendingChunk> {
        let mut batch: Vec<PendingChunk> = self.pending.drain().map(|(_, chunk)| chunk).collect();
        for pending in &batch {
            let present = pending.present_bits();
            let earlier = self
                .handed_on
                .entry((pending.point, pending.readings.utc_day()))
                .or_insert(EarlierRows {
                    present: 0,
                    first_line: pending.first_line,
                });
            earlier.present |= present;
            earlier.first_line = earlier.first_line.min(pending.first_line);
        }
        batch.sort_unstable_by_key(|c| (c.point, c.readings.utc_day()));
        batch
    }
}

/// Import meter values from `input`; `total_bytes` (if known) sizes the progress display.
#[allow(clippy::too_many_arguments)]
pub async fn import_meter_values(
    store: &Store,
    source: &str,
    input: impl Read + Send + 'static,
    total_bytes: Option<u64>,
    clock: &dyn Clock,
    progress: Arc<dyn Progress>,
    limits: MeterValueLimits,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let table = CsvTable::open_import(source, input, &COLUMNS, &[])?;
    let positions: [usize; 5] = std::array::from_fn(|i| table.positions[i].unwrap_or(0));
    let refs = store.point_refs().await?;
    let mut points: Vec<PointRef> = Vec::with_capacity(refs.len());
    let mut index = HashMap::with_capacity(refs.len());
    for (gsrn, point) in refs {
        index.insert(gsrn, points.len());
        points.push(point);
    }
    let points_for_writer: Vec<(i64, String)> =
        points.iter().map(|p| (p.id, p.gsrn.to_string())).collect();
    let mut tx = store
        .begin_import(ImportKind::MeterValues.code(), source, clock.now())
        .await?;

    let (sender, mut receiver) = mpsc::channel::<Vec<PendingChunk>>(2);
    let writer_failed = Arc::new(AtomicBool::new(false));
    let parser_stop = Arc::clone(&writer_failed);
    progress.start(source, total_bytes);
    let parser_progress = Arc::clone(&progress);
    let parser = tokio::task::spawn_blocking(move || {
        let mut reader = table.reader;
        let mut parser = Parser {
            points,
            index,
            pending: HashMap::new(),
            handed_on: HashMap::new(),
            last_point: None,
            last_end: None,
            errors: ErrorList::default(),
            rows: 0,
        };
        let mut record = csv::ByteRecord::new();
        let mut reported_bytes = 0u64;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    parser.errors.push(super::csv_table::csv_row_error(&e));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) || parser.errors.is_full() {
                        break;
                    }
                    continue;
                }
            }
            parser.rows += 1;
            let position = record
                .position()
                .cloned()
                .unwrap_or_else(csv::Position::new);
            if let Err(e) = parser.row(position.line(), &record, &positions) {
                parser.errors.push(RowError::from_parse(position.line(), e));
                if parser.errors.is_full() {
                    break;
                }
            }
            if parser.rows.is_multiple_of(PROGRESS_EVERY_ROWS) {
                parser_progress.advance(position.byte() - reported_bytes);
                reported_bytes = position.byte();
                if parser_stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            if parser.pending.len() >= limits.pending_days {
                if !parser.errors.is_empty() {
                    // The file is rejected already; keep memory bounded, keep looking for errors.
                    parser.take_pending();
                } else if sender.blocking_send(parser.take_pending()).is_err() {
                    break;
                }
            }
        }
        if parser.errors.is_empty() && !parser.pending.is_empty() {
            let batch = parser.take_pending();
            let _ = sender.blocking_send(batch);
        }
        parser_progress.advance(reader.position().byte().saturating_sub(reported_bytes));
        (parser.rows, parser.errors)
    });

    let mut counts = ImportCounts::default();
    let mut writer_errors = ErrorList::default();
    while let Some(batch) = receiver.recv().await {
        if !writer_errors.is_empty() {
            continue;
        }
        let mut batch = batch.into_iter().peekable();
        while let Some(first) = batch.next() {
            let point = first.point;
            let mut days = vec![first.readings];
            let mut first_line = first.first_line;
            while let Some(next) = batch.next_if(|c| c.point == point) {
                first_line = first_line.min(next.first_line);
                days.push(next.readings);
            }
            let (point_id, gsrn) = &points_for_writer[point];
            match tx.merge_day_chunks(*point_id, gsrn, days).await {
                Ok(merged) => {
                    counts.inserted += merged.days_new;
                    counts.updated += merged.days_versioned;
                    counts.unchanged += merged.days_unchanged;
                }
                Err(StoreError::Rejected(e)) => {
                    writer_errors.push(RowError::from_parse(first_line, e));
                    writer_failed.store(true, Ordering::Relaxed);
                    break;
                }
                Err(other) => {
                    writer_failed.store(true, Ordering::Relaxed);
                    drop(receiver);
                    let _ = parser.await;
                    return Err(other.into());
                }
            }
        }
    }
    let (rows, mut errors) = parser.await.map_err(|e| ImportError::Io {
        source_name: source.to_owned(),
        error: std::io::Error::other(format!("the parser stopped unexpectedly: {e}")),
    })?;
    progress.finish();
    for e in writer_errors.errors {
        errors.push(e);
    }
    errors.into_result(source)?;
    if rows == 0 {
        return Err(ImportError::no_rows(source, true));
    }
    counts.rows = rows;
    tx.commit(counts).await?;
    Ok(super::market_data::report(
        ImportKind::MeterValues,
        source,
        counts,
        started,
    ))
}
