//! Header-checked CSV reading shared by the importers: columns are found by name, a
//! missing or unknown column is an error on line 1, every row error carries its line and
//! names the column as the file spells it, and no field may hold a control character.

use std::io::Read;

use nordlys_core::ParseError;

use super::{ImportError, RowError};

/// A CSV file whose header has been matched against the expected columns.
pub(crate) struct CsvTable<R: Read> {
    pub reader: csv::Reader<R>,
    /// For each expected column, its position in the file (None for an absent optional column).
    pub positions: Vec<Option<usize>>,
    /// The expected columns, required first, in the order `positions` follows.
    names: Vec<&'static str>,
    /// The header as the file spells it (trimmed), by position in the file.
    header: Vec<String>,
}

/// Why a table could not be opened.
enum OpenFailure {
    /// Not even a header.
    Empty,
    Header(Vec<RowError>),
}

impl<R: Read> CsvTable<R> {
    /// `required` must all be present; `optional` may be; anything else is refused.
    /// An empty file is a header error here; importers use [`CsvTable::open_import`].
    pub fn open(
        input: R,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, Vec<RowError>> {
        Self::open_inner(input, required, optional).map_err(|failure| match failure {
            OpenFailure::Empty => vec![RowError::new(
                1,
                "header",
                "the file is empty: it has no header and no rows",
            )],
            OpenFailure::Header(errors) => errors,
        })
    }

    /// As [`CsvTable::open`], with the import's errors: an empty file is
    /// [`ImportError::NoRows`], a bad header a rejection of `source`.
    pub fn open_import(
        source: &str,
        input: R,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, ImportError> {
        Self::open_inner(input, required, optional).map_err(|failure| match failure {
            OpenFailure::Empty => ImportError::no_rows(source, false),
            OpenFailure::Header(errors) => ImportError::rejected(source, errors, false),
        })
    }

    fn open_inner(
        input: R,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, OpenFailure> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(input);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                return Err(OpenFailure::Header(vec![RowError::new(
                    1,
                    "header",
                    format!("cannot read the header: {e}"),
                )]));
            }
        };
        if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
            return Err(OpenFailure::Empty);
        }
        let mut errors = Vec::new();
        let names: Vec<&'static str> = required.iter().chain(optional).copied().collect();
        for name in headers.iter() {
            if !names.contains(&name.trim()) {
                errors.push(RowError::new(
                    1,
                    "header",
                    format!(
                        "unknown column {name:?}; the columns are: {}",
                        names.join(",")
                    ),
                ));
            }
        }
        let positions: Vec<Option<usize>> = names
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
            Ok(CsvTable {
                reader,
                positions,
                names,
                header: headers.iter().map(|h| h.trim().to_owned()).collect(),
            })
        } else {
            Err(OpenFailure::Header(errors))
        }
    }

    /// Next data row as (line number, record), or a row error for malformed CSV or a field
    /// holding a control character (Unicode category Cc: tabs and line breaks included).
    pub fn next_row(&mut self, record: &mut csv::StringRecord) -> Option<Result<u64, RowError>> {
        match self.reader.read_record(record) {
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                for (position, value) in record.iter().enumerate() {
                    if let Err(e) = refuse_control_characters(value) {
                        let column = self.header.get(position).map_or("row", String::as_str);
                        return Some(Err(RowError::new(
                            line,
                            column,
                            format!("{:?}: {}", e.value, e.rule),
                        )));
                    }
                }
                Some(Ok(line))
            }
            Ok(false) => None,
            Err(e) => Some(Err(csv_row_error(&e))),
        }
    }

    /// A view of `record` whose columns are addressed by their order in `open`.
    pub fn row<'r>(&'r self, record: &'r csv::StringRecord) -> Row<'r> {
        Row {
            positions: &self.positions,
            names: &self.names,
            record,
        }
    }
}

/// A value holding a control character (Unicode category Cc) is refused: the rule names
/// the first one, e.g. U+0009 (a tab).
pub(crate) fn refuse_control_characters(value: &str) -> Result<(), ParseError> {
    match value.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) => Err(ParseError::new(
            "value",
            value,
            format!(
                "contains the control character U+{:04X}; text may not hold tabs, line breaks or other control characters",
                u32::from(c)
            ),
        )),
    }
}

/// One data row, columns addressed by their order in [`CsvTable::open`].
pub(crate) struct Row<'r> {
    positions: &'r [Option<usize>],
    names: &'r [&'static str],
    record: &'r csv::StringRecord,
}

impl<'r> Row<'r> {
    /// The trimmed value of column number `column`; "" if the column is absent.
    pub fn get(&self, column: usize) -> &'r str {
        self.positions[column]
            .and_then(|p| self.record.get(p))
            .map_or("", str::trim)
    }

    /// The column's name as the file spells it.
    pub fn name(&self, column: usize) -> &'static str {
        self.names[column]
    }

    /// Parse column number `column` with `parse`; an error names that column, whatever
    /// field name the parser used (`identity`, not `national_id`).
    pub fn parse<T>(
        &self,
        column: usize,
        parse: impl FnOnce(&'r str) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        parse(self.get(column)).map_err(|e| ParseError {
            field: self.name(column),
            ..e
        })
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
