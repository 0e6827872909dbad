//! Header-checked CSV reading shared by the importers: columns are found by name, a
//! missing or unknown column is an error on line 1, and every row error carries its line.

use std::io::Read;

use super::RowError;

/// A CSV file whose header has been matched against the expected columns.
pub(crate) struct CsvTable<R: Read> {
    pub reader: csv::Reader<R>,
    /// For each expected column, its position in the file (None for an absent optional column).
    pub positions: Vec<Option<usize>>,
}

impl<R: Read> CsvTable<R> {
    /// `required` must all be present; `optional` may be; anything else is refused.
    pub fn open(input: R, required: &[&str], optional: &[&str]) -> Result<Self, Vec<RowError>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(input);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                return Err(vec![RowError::new(
                    1,
                    "header",
                    format!("cannot read the header: {e}"),
                )]);
            }
        };
        let mut errors = Vec::new();
        let expected: Vec<&str> = required.iter().chain(optional).copied().collect();
        for name in headers.iter() {
            if !expected.contains(&name.trim()) {
                errors.push(RowError::new(
                    1,
                    "header",
                    format!(
                        "unknown column {name:?}; the columns are: {}",
                        expected.join(",")
                    ),
                ));
            }
        }
        let positions: Vec<Option<usize>> = expected
            .iter()
            .map(|name| headers.iter().position(|h| h.trim() == *name))
            .collect();
        for (name, position) in required.iter().zip(&positions) {
            if position.is_none() {
                errors.push(RowError::new(
                    1,
                    "header",
                    format!("missing column {name:?}"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(CsvTable { reader, positions })
        } else {
            Err(errors)
        }
    }

    /// Next data row as (line number, record), or a row error for malformed CSV.
    pub fn next_row(&mut self, record: &mut csv::StringRecord) -> Option<Result<u64, RowError>> {
        match self.reader.read_record(record) {
            Ok(true) => Some(Ok(record.position().map_or(0, |p| p.line()))),
            Ok(false) => None,
            Err(e) => Some(Err(csv_row_error(&e))),
        }
    }

    /// A view of `record` whose columns are addressed by their order in `open`.
    pub fn row<'r>(&'r self, record: &'r csv::StringRecord) -> Row<'r> {
        Row {
            positions: &self.positions,
            record,
        }
    }
}

/// One data row, columns addressed by their order in [`CsvTable::open`].
pub(crate) struct Row<'r> {
    positions: &'r [Option<usize>],
    record: &'r csv::StringRecord,
}

impl<'r> Row<'r> {
    /// The trimmed value of column number `column`; "" if the column is absent.
    pub fn get(&self, column: usize) -> &'r str {
        self.positions[column]
            .and_then(|p| self.record.get(p))
            .map_or("", str::trim)
    }
}

/// A CSV-level error (wrong number of fields, bad quoting, unreadable input) as a row error.
pub(crate) fn csv_row_error(error: &csv::Error) -> RowError {
    let line = error.position().map_or(0, |p| p.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("this row has {len} fields but the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "this row is not valid UTF-8 text".to_owned(),
        csv::ErrorKind::Io(e) => format!("reading failed: {e}"),
        _ => format!("malformed CSV: {error}"),
    };
    RowError::new(line, "row", message)
}
