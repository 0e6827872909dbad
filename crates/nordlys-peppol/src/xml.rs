//! A small, bounded pull reader over quick-xml for the SMP documents and the Directory export:
//! elements by local name (namespaces differ between SMP versions and do not matter here),
//! attributes and text unescaped, the line of each event, a nesting limit. No DTD is read and
//! no entity but XML's five and character references is expanded.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Deeper nesting than this is refused (Peppol documents nest about 8 levels).
pub(crate) const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlEvent {
    Start {
        name: String,
        attributes: Vec<(String, String)>,
    },
    End {
        name: String,
    },
    Text(String),
}

/// What is wrong with an XML document, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmlError {
    pub line: u64,
    pub message: String,
}

pub(crate) struct XmlReader<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    /// Local names of the open elements.
    stack: Vec<String>,
    /// The end of an empty element (`<a/>`), given out after its start.
    pending_end: Option<String>,
    line: u64,
}

impl<R: BufRead> XmlReader<R> {
    pub(crate) fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(input);
        reader.config_mut().check_end_names = true;
        XmlReader {
            reader,
            buf: Vec::new(),
            stack: Vec::new(),
            pending_end: None,
            line: 1,
        }
    }

    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Local names of the open elements, outermost first.
    pub(crate) fn path(&self) -> &[String] {
        &self.stack
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> XmlError {
        XmlError {
            line: self.line,
            message: message.into(),
        }
    }

    /// The next element start, end or text (whitespace-only text is skipped); `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<XmlEvent>, XmlError> {
        if let Some(name) = self.pending_end.take() {
            self.stack.pop();
            return Ok(Some(XmlEvent::End { name }));
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = loop {
            buf.clear();
            let read = self.reader.read_event_into(&mut buf);
            let mut step = match read {
                Ok(event) => self.step(event),
                Err(e) => Err(self.error(format!("not well-formed XML: {e}"))),
            };
            // The line is where the event ends.
            let newlines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
            self.line += newlines;
            if let Err(error) = &mut step {
                error.line += newlines;
            }
            match step {
                Ok(Step::Skip) => continue,
                Ok(Step::Emit(event)) => break Ok(Some(event)),
                Ok(Step::Eof) => break Ok(None),
                Err(error) => break Err(error),
            }
        };
        self.buf = buf;
        if let Ok(Some(XmlEvent::Start { name, .. })) = &result {
            if self.stack.len() >= MAX_DEPTH {
                return Err(self.error(format!("elements nest deeper than {MAX_DEPTH} levels")));
            }
            self.stack.push(name.clone());
            if self.pending_end.as_deref() == Some("") {
                self.pending_end = Some(name.clone());
            }
        }
        if let Ok(Some(XmlEvent::End { .. })) = &result {
            self.stack.pop();
        }
        result
    }

    /// What one quick-xml event is to the caller. An empty element leaves `pending_end` as
    /// `Some("")`, filled in with its name once it is on the stack.
    fn step(&mut self, event: Event<'_>) -> Result<Step, XmlError> {
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute
                        .map_err(|e| self.error(format!("bad attribute in <{name}>: {e}")))?;
                    let key =
                        String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
                    let value = attribute.unescape_value().map_err(|e| {
                        self.error(format!("bad value of attribute {key} in <{name}>: {e}"))
                    })?;
                    attributes.push((key, value.into_owned()));
                }
                if matches!(event, Event::Empty(_)) {
                    self.pending_end = Some(String::new());
                }
                Ok(Step::Emit(XmlEvent::Start { name, attributes }))
            }
            Event::End(end) => {
                let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                Ok(Step::Emit(XmlEvent::End { name }))
            }
            Event::Text(text) => {
                let text = text
                    .decode()
                    .map_err(|e| self.error(format!("text is not UTF-8: {e}")))?;
                if text.trim().is_empty() {
                    Ok(Step::Skip)
                } else {
                    Ok(Step::Emit(XmlEvent::Text(text.into_owned())))
                }
            }
            Event::CData(data) => {
                let text = String::from_utf8(data.into_inner().into_owned())
                    .map_err(|_| self.error("CDATA is not UTF-8"))?;
                Ok(Step::Emit(XmlEvent::Text(text)))
            }
            Event::GeneralRef(reference) => {
                let name = String::from_utf8_lossy(&reference).into_owned();
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&name)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            self.error(format!("unknown entity &{name}; (no DTD is read)"))
                        })?,
                    Err(e) => return Err(self.error(format!("bad character reference: {e}"))),
                };
                Ok(Step::Emit(XmlEvent::Text(resolved)))
            }
            Event::DocType(_) => Err(self.error("a DOCTYPE is not accepted")),
            Event::Eof => match self.stack.last() {
                Some(open) => Err(self.error(format!("the document ends inside <{open}>"))),
                None => Ok(Step::Eof),
            },
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => Ok(Step::Skip),
        }
    }

    /// The text up to the end of the element just started (its children's text included).
    pub(crate) fn text_of_element(&mut self) -> Result<String, XmlError> {
        let depth = self.stack.len();
        let mut text = String::new();
        while let Some(event) = self.next()? {
            match event {
                XmlEvent::Text(t) => text.push_str(&t),
                XmlEvent::End { .. } if self.stack.len() < depth => return Ok(text),
                _ => {}
            }
        }
        Err(self.error("the document ends inside an element"))
    }
}

enum Step {
    Emit(XmlEvent),
    Skip,
    Eof,
}

/// The value of attribute `key` (by local name).
pub(crate) fn attribute<'a>(attributes: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
