//! The one error type for values rejected at the edge: it names the field, the value and the rule.

use std::fmt;

/// A value that could not become a domain type.
///
/// The message is meant for the person who wrote the input: it says which field,
/// which value, and the rule that value breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub field: &'static str,
    pub value: String,
    pub rule: String,
}

impl ParseError {
    pub fn new(field: &'static str, value: impl Into<String>, rule: impl Into<String>) -> Self {
        let mut value = value.into();
        if value.len() > 80 {
            let cut = (0..=80)
                .rev()
                .find(|&i| value.is_char_boundary(i))
                .unwrap_or(0);
            value.truncate(cut);
            value.push('…');
        }
        ParseError {
            field,
            value,
            rule: rule.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.field, self.value, self.rule)
    }
}

impl std::error::Error for ParseError {}
