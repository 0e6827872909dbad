//! Peppol Directory bulk exports, read as a stream of participants.
//!
//! Three of the Directory's exports are read (phoss-directory's export handlers; the format
//! is told from the content):
//! - participants CSV (`/export/participants-csv`): a header `Participant ID` and one
//!   participant per row (`iso6523-actorid-upis::0192:923609016`); no names, no document types;
//! - business-cards CSV (`/export/businesscards-csv`): `;`-separated with the header
//!   `Participant ID;Names (per-row);Country code;…;Document types`; the first line of the
//!   names field is kept as the name, as written (the export joins each name with its language
//!   code; that form is not checked here), and the country code; the document types (one per
//!   line, `scheme::value`) decide BIS 3.0;
//! - business-cards XML (`/export/businesscards`, namespace
//!   `urn:peppol:schema:pd:businesscard-generic:2025:03`): `<businesscard>` with
//!   `<participant scheme value/>`, `<entity countrycode>` with `<name name language/>`, and
//!   `<doctypeid scheme value/>`; the root's `creationdt` is when the export was made.
//!
//! Bounded: a name is at most [`MAX_NAME_CHARS`], an entry has at most
//! [`MAX_DOCUMENT_TYPES`] document types. A participant that is not a valid identifier is an
//! error of that entry (the caller may go on); a file that is not one of the formats is an error
//! of the file.

use std::io::BufRead;

use jiff::Timestamp;

use crate::participant::ParticipantId;
use crate::smp::{BisDocument, xsd_instant};
use crate::xml::{XmlError, XmlEvent, XmlReader, attribute};

pub const MAX_NAME_CHARS: usize = 500;
pub const MAX_DOCUMENT_TYPES: usize = 2_000;

/// Which export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryFormat {
    ParticipantsCsv,
    BusinessCardsCsv,
    BusinessCardsXml,
}

/// One participant of the Directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub participant: ParticipantId,
    pub name: Option<String>,
    /// ISO 3166 alpha-2, as the Directory has it.
    pub country: Option<String>,
    /// `scheme::value` of each document type, or `None` when the export has none (participants CSV).
    pub document_types: Option<Vec<String>>,
    /// The line of the file the entry starts on.
    pub line: u64,
}

impl DirectoryEntry {
    /// Whether the entry lists `document`; `None` when the export does not say.
    pub fn receives(&self, document: BisDocument) -> Option<bool> {
        self.document_types.as_ref().map(|types| {
            types
                .iter()
                .any(|t| BisDocument::from_full_identifier(t) == Some(document))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// One entry is wrong; the entries after it can still be read.
    #[error("line {line}: {field} {value:?}: {rule}")]
    Entry {
        line: u64,
        field: &'static str,
        value: String,
        rule: String,
    },
    /// The file cannot be read further.
    #[error("line {line}: {message}")]
    File { line: u64, message: String },
}

impl DirectoryError {
    pub fn is_entry_error(&self) -> bool {
        matches!(self, DirectoryError::Entry { .. })
    }
}

impl From<XmlError> for DirectoryError {
    fn from(error: XmlError) -> Self {
        DirectoryError::File {
            line: error.line,
            message: error.message,
        }
    }
}

enum Source<R: BufRead> {
    Csv {
        reader: csv::Reader<R>,
        participant: usize,
        names: Option<usize>,
        country: Option<usize>,
        document_types: Option<usize>,
    },
    Xml(Box<XmlReader<R>>),
}

/// The entries of an export, in file order.
pub struct DirectoryReader<R: BufRead> {
    source: Source<R>,
    format: DirectoryFormat,
    created_at: Option<Timestamp>,
    done: bool,
}

/// Open an export: tell its format from the first bytes and read its header.
pub fn read_directory<R: BufRead>(mut input: R) -> Result<DirectoryReader<R>, DirectoryError> {
    let file_error = |line, message: String| DirectoryError::File { line, message };
    let first = loop {
        let buffer = input
            .fill_buf()
            .map_err(|e| file_error(1, format!("cannot read: {e}")))?;
        match buffer.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => break Some(buffer[at]),
            None if buffer.is_empty() => break None,
            None => {
                let n = buffer.len();
                input.consume(n);
            }
        }
    };
    match first {
        None => Err(file_error(1, "the file is empty".into())),
        Some(b'<') => open_xml(input),
        Some(_) => open_csv(input),
    }
}

fn open_csv<R: BufRead>(mut input: R) -> Result<DirectoryReader<R>, DirectoryError> {
    // The Directory writes `;`; a single-column file has no separator at all.
    let head = input.fill_buf().map_err(|e| DirectoryError::File {
        line: 1,
        message: format!("cannot read: {e}"),
    })?;
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let delimiter = if first_line.contains(&b';') || !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(input);
    let headers = reader.headers().map_err(|e| DirectoryError::File {
        line: 1,
        message: format!("cannot read the header: {e}"),
    })?;
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim() == name)
    };
    let participant = column("Participant ID").ok_or_else(|| DirectoryError::File {
        line: 1,
        message: "not a Peppol Directory export: the CSV header has no \"Participant ID\" column"
            .into(),
    })?;
    let (names, country, document_types) = (
        column("Names (per-row)"),
        column("Country code"),
        column("Document types"),
    );
    let format = if document_types.is_some() {
        DirectoryFormat::BusinessCardsCsv
    } else {
        DirectoryFormat::ParticipantsCsv
    };
    Ok(DirectoryReader {
        source: Source::Csv {
            reader,
            participant,
            names,
            country,
            document_types,
        },
        format,
        created_at: None,
        done: false,
    })
}

fn open_xml<R: BufRead>(input: R) -> Result<DirectoryReader<R>, DirectoryError> {
    let mut reader = XmlReader::new(input);
    let Some(XmlEvent::Start { name, attributes }) = reader.next()? else {
        return Err(reader.error("the XML has no root element").into());
    };
    if name != "root" {
        return Err(reader
            .error(format!(
                "not a Peppol Directory business-cards export: the root is <{name}>, not <root>"
            ))
            .into());
    }
    let created_at = match attribute(&attributes, "creationdt") {
        Some(text) => {
            Some(xsd_instant(text).map_err(|m| reader.error(format!("<root creationdt>: {m}")))?)
        }
        None => None,
    };
    Ok(DirectoryReader {
        source: Source::Xml(Box::new(reader)),
        format: DirectoryFormat::BusinessCardsXml,
        created_at,
        done: false,
    })
}

impl<R: BufRead> DirectoryReader<R> {
    pub fn format(&self) -> DirectoryFormat {
        self.format
    }

    /// When the export was made, if it says (business-cards XML).
    pub fn created_at(&self) -> Option<Timestamp> {
        self.created_at
    }

    fn next_entry(&mut self) -> Result<Option<DirectoryEntry>, DirectoryError> {
        match &mut self.source {
            Source::Csv {
                reader,
                participant,
                names,
                country,
                document_types,
            } => {
                let mut record = csv::StringRecord::new();
                let more = reader.read_record(&mut record).map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    DirectoryError::File {
                        line,
                        message: format!("not readable CSV: {e}"),
                    }
                })?;
                if !more {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                let field = |i: Option<usize>| {
                    i.and_then(|i| record.get(i))
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                };
                let id = field(Some(*participant)).unwrap_or("");
                let entry = DirectoryEntry {
                    participant: parse_participant(line, id)?,
                    name: field(*names)
                        .and_then(|n| n.lines().next())
                        .map(|n| bounded_name(line, n))
                        .transpose()?,
                    country: field(*country).map(str::to_owned),
                    document_types: match document_types {
                        Some(_) => Some(bounded_types(
                            line,
                            field(*document_types)
                                .map(|t| t.lines().map(|l| l.trim().to_owned()).collect())
                                .unwrap_or_default(),
                        )?),
                        None => None,
                    },
                    line,
                };
                Ok(Some(entry))
            }
            Source::Xml(reader) => next_business_card(reader),
        }
    }
}

impl<R: BufRead> Iterator for DirectoryReader<R> {
    type Item = Result<DirectoryEntry, DirectoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(error) => {
                self.done = !error.is_entry_error();
                Some(Err(error))
            }
        }
    }
}

fn next_business_card<R: BufRead>(
    reader: &mut XmlReader<R>,
) -> Result<Option<DirectoryEntry>, DirectoryError> {
    // Find the next <businesscard> under the root.
    let line = loop {
        match reader.next()? {
            None => return Ok(None),
            Some(XmlEvent::Start { name, .. }) if reader.path().len() == 2 => {
                if name != "businesscard" {
                    return Err(reader
                        .error(format!("expected <businesscard> in <root>, found <{name}>"))
                        .into());
                }
                break reader.line();
            }
            Some(_) => {}
        }
    };
    let mut participant: Option<String> = None;
    let mut name = None;
    let mut country = None;
    let mut document_types = Vec::new();
    while let Some(event) = reader.next()? {
        match event {
            XmlEvent::End { .. } if reader.path().len() < 2 => break,
            XmlEvent::Start {
                name: element,
                attributes,
            } => match element.as_str() {
                "participant" => {
                    let scheme = attribute(&attributes, "scheme").unwrap_or("");
                    let value = attribute(&attributes, "value").unwrap_or("");
                    participant = Some(format!("{scheme}::{value}"));
                }
                "entity" if country.is_none() => {
                    country = attribute(&attributes, "countrycode").map(str::to_owned);
                }
                "name" if name.is_none() => {
                    name = attribute(&attributes, "name")
                        .map(|n| bounded_name(line, n))
                        .transpose()?;
                }
                "doctypeid" => {
                    let scheme = attribute(&attributes, "scheme").unwrap_or("");
                    let value = attribute(&attributes, "value").unwrap_or("");
                    document_types.push(format!("{scheme}::{value}"));
                    if document_types.len() > MAX_DOCUMENT_TYPES {
                        return Err(entry_error(
                            line,
                            "doctypeid",
                            value,
                            format!("more than {MAX_DOCUMENT_TYPES} document types"),
                        ));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    let participant = participant.ok_or_else(|| {
        entry_error(
            line,
            "participant",
            "",
            "the business card has no <participant>".into(),
        )
    })?;
    Ok(Some(DirectoryEntry {
        participant: parse_participant(line, &participant)?,
        name,
        country,
        document_types: Some(document_types),
        line,
    }))
}

fn entry_error(line: u64, field: &'static str, value: &str, rule: String) -> DirectoryError {
    let mut value = value.to_owned();
    if value.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| value.is_char_boundary(i))
            .unwrap_or(0);
        value.truncate(cut);
        value.push('…');
    }
    DirectoryError::Entry {
        line,
        field,
        value,
        rule,
    }
}

fn parse_participant(line: u64, text: &str) -> Result<ParticipantId, DirectoryError> {
    ParticipantId::parse(text).map_err(|e| entry_error(line, "participant", text, e.rule))
}

fn bounded_name(line: u64, name: &str) -> Result<String, DirectoryError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(entry_error(
            line,
            "name",
            name,
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(entry_error(
            line,
            "name",
            name,
            "holds a control character".into(),
        ));
    }
    Ok(name.to_owned())
}

fn bounded_types(line: u64, types: Vec<String>) -> Result<Vec<String>, DirectoryError> {
    if types.len() > MAX_DOCUMENT_TYPES {
        return Err(entry_error(
            line,
            "document types",
            &types[0],
            format!("more than {MAX_DOCUMENT_TYPES} document types"),
        ));
    }
    Ok(types)
}

#[cfg(test)]
mod tests;
