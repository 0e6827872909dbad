//! Exports in the import formats, so that export → import round-trips exactly, and the one
//! CSV writer every export uses: a text value a spreadsheet would run as a formula is
//! neutralised, numbers are written as numbers.

use std::io::Write;

use jiff::Timestamp;
use jiff::civil::Date;
use nordlys_core::ids::Gsrn;
use nordlys_core::quantity::EnergyWh;
use nordlys_core::time::{LocalPeriod, format_local, start_of_local_day};
use nordlys_store::{Store, StoreError};
use rust_decimal::Decimal;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("metering_point_id {0:?}: unknown metering point")]
    UnknownPoint(String),
    #[error("{0}")]
    Period(nordlys_core::ParseError),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One cell of a CSV export: text, or a number rendered by Nordlys (never a formula).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvCell(CellKind);

#[derive(Debug, Clone, PartialEq, Eq)]
enum CellKind {
    Text(String),
    Number(String),
}

impl CsvCell {
    /// A text value; one a spreadsheet would run as a formula gets a leading `'`.
    pub fn text(value: &str) -> Self {
        CsvCell(CellKind::Text(value.to_owned()))
    }
    /// Energy as kWh with 3 decimals (`-0.500` stays a negative number, not a formula).
    pub fn kwh(energy: EnergyWh) -> Self {
        CsvCell(CellKind::Number(energy.to_kwh_string()))
    }
    pub fn decimal(value: Decimal) -> Self {
        CsvCell(CellKind::Number(value.to_string()))
    }
    pub fn integer(value: i64) -> Self {
        CsvCell(CellKind::Number(value.to_string()))
    }
    /// The text written to the file (before CSV quoting).
    pub fn rendered(&self) -> String {
        match &self.0 {
            CellKind::Number(number) => number.clone(),
            CellKind::Text(text) => neutralise_formula(text),
        }
    }
}

/// A text value starting with `=`, `+`, `-`, `@`, a tab or a carriage return is one a
/// spreadsheet runs as a formula (CSV injection): it is written with a leading `'`.
pub fn neutralise_formula(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// The CSV writer of every export: RFC 4180 quoting, `\n` line ends, [`CsvCell`]s.
pub struct CsvExport<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> CsvExport<W> {
    pub fn new(out: W, header: &[&str]) -> Result<Self, ExportError> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        writer.write_record(header).map_err(csv_error)?;
        Ok(CsvExport { writer })
    }
    pub fn row(&mut self, cells: &[CsvCell]) -> Result<(), ExportError> {
        self.writer
            .write_record(cells.iter().map(CsvCell::rendered))
            .map_err(csv_error)
    }
    pub fn finish(mut self) -> Result<(), ExportError> {
        self.writer.flush()?;
        Ok(())
    }
}

fn csv_error(error: csv::Error) -> ExportError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => ExportError::Io(e),
        other => ExportError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

/// Write the readings of `gsrn` in `[from, to)` (local dates in the point's zone; open ends
/// mean everything) as meter-values CSV: the latest versions, or those known at `as_of`.
/// Returns the number of rows written.
pub async fn export_meter_values(
    store: &Store,
    gsrn: &Gsrn,
    from: Option<Date>,
    to: Option<Date>,
    as_of: Option<Timestamp>,
    out: &mut (dyn Write + Send),
) -> Result<u64, ExportError> {
    let refs = store.point_refs().await?;
    let point = refs
        .get(gsrn.as_str())
        .ok_or_else(|| ExportError::UnknownPoint(gsrn.to_string()))?;
    let tz = point.market.time_zone();
    if let (Some(from), Some(to)) = (from, to) {
        LocalPeriod::new(from, to).map_err(ExportError::Period)?;
    }
    let start = from.map_or(Timestamp::MIN, |d| start_of_local_day(d, &tz));
    let end = to.map_or(Timestamp::MAX, |d| start_of_local_day(d, &tz));
    let readings = store.meter_values(point.id, start, end, as_of).await?;
    let step = jiff::SignedDuration::from_secs(point.resolution.seconds());
    let mut csv = CsvExport::new(
        std::io::BufWriter::new(out),
        &[
            "metering_point_id",
            "start",
            "end",
            "quantity_kwh",
            "quality",
        ],
    )?;
    for reading in &readings {
        csv.row(&[
            CsvCell::text(gsrn.as_str()),
            CsvCell::text(&format_local(reading.start, &tz)),
            CsvCell::text(&format_local(reading.start + step, &tz)),
            CsvCell::kwh(reading.energy),
            CsvCell::text(reading.quality.code()),
        ])?;
    }
    csv.finish()?;
    Ok(readings.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(cells: &[CsvCell]) -> String {
        let mut out = Vec::new();
        let mut csv = CsvExport::new(&mut out, &["a", "b", "c"]).unwrap();
        csv.row(cells).unwrap();
        csv.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_a_spreadsheet_would_run_is_neutralised() {
        for (text, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+47 900 00 000", "'+47 900 00 000"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("Kari = Nordmann", "Kari = Nordmann"),
            ("", ""),
        ] {
            assert_eq!(CsvCell::text(text).rendered(), expected, "{text:?}");
        }
    }

    #[test]
    fn numbers_stay_numbers_and_quoting_is_rfc_4180() {
        let out = written(&[
            CsvCell::kwh(EnergyWh(-500)),
            CsvCell::decimal(Decimal::new(-1234, 2)),
            CsvCell::text("=1+2, \"quoted\""),
        ]);
        assert_eq!(out, "a,b,c\n-0.500,-12.34,\"'=1+2, \"\"quoted\"\"\"\n");
        let out = written(&[
            CsvCell::integer(-7),
            CsvCell::text("-7"),
            CsvCell::text("x"),
        ]);
        assert_eq!(out, "a,b,c\n-7,'-7,x\n");
    }
}
