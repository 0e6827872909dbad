//! JSON as the URDB importer reads it: numbers kept as the literal text of the file, so that
//! a price is parsed exactly into a decimal and never goes through `f64`
//! (`0.12345678901234567891` stays that, not `0.12345678901234568`). A key that appears
//! twice in one object is refused (which one would count?), and nesting deeper than
//! [`MAX_JSON_DEPTH`] is refused before parsing.
//!
//! serde_json's `arbitrary_precision` feature would do the same for numbers but changes
//! `serde_json::Value` for the whole workspace; here each array element and object value is
//! first taken as borrowed raw text (`&RawValue`, no copy), numbers are kept as that text and
//! other values are read from it again. The re-reading costs the depth times the size, which
//! the depth limit bounds.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::format::bounds::{echo, max_depth_exceeded};

/// Deepest nesting of arrays and objects a URDB file may have (a rate needs 4).
pub const MAX_JSON_DEPTH: usize = 32;

/// A JSON value whose numbers are their literal text.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// The number as written, e.g. `0.12345678901234567891` or `1e-3`.
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in file order; keys are unique.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parse `text`, refusing nesting deeper than [`MAX_JSON_DEPTH`] before reading it.
    pub fn parse(text: &str) -> Result<Json, String> {
        if let Some(at) = max_depth_exceeded(text, MAX_JSON_DEPTH, b"[{", b"]}", true) {
            return Err(format!(
                "nested deeper than {MAX_JSON_DEPTH} arrays and objects at line {}, column {}",
                at.line, at.column
            ));
        }
        let raw: &RawValue = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Json::from_raw(raw).map_err(|e| e.to_string())
    }

    fn from_raw(raw: &RawValue) -> Result<Json, serde_json::Error> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => Ok(Json::Number(text.to_owned())),
            _ => serde_json::from_str(text),
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Json)]> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    /// A number written as a whole number that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// A number written as a whole number that fits a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(text) => text.parse().ok(),
            _ => None,
        }
    }
}

/// The value as JSON text, cut to a short prefix (for messages).
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        write_json(self, &mut text);
        f.write_str(&echo(&text))
    }
}

/// Writes `value` as compact JSON, stopping once the text is longer than any echo shows.
fn write_json(value: &Json, out: &mut String) {
    const ENOUGH: usize = 200;
    if out.len() > ENOUGH {
        return;
    }
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
                if out.len() > ENOUGH {
                    return;
                }
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                out.push(':');
                write_json(item, out);
                if out.len() > ENOUGH {
                    return;
                }
            }
            out.push('}');
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }

    // Numbers are taken from their raw text in `visit_seq` / `visit_map` / `Json::parse`;
    // these see only a number that came some other way, and keep what is exact.
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.to_string()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json, E> {
        Err(E::custom("a fractional number was read without its text"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            items.push(Json::from_raw(raw).map_err(de::Error::custom)?);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let raw = map.next_value::<&'de RawValue>()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!(
                    "the key {} appears twice in one object",
                    echo(&serde_json::to_string(&key).unwrap_or_default())
                )));
            }
            members.push((key, Json::from_raw(raw).map_err(de::Error::custom)?));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        let json = Json::parse(r#"{"rate": 0.12345678901234567891, "max": [1e3, -2, 7]}"#).unwrap();
        assert_eq!(
            json.get("rate"),
            Some(&Json::Number("0.12345678901234567891".into()))
        );
        let max = json.get("max").and_then(Json::as_array).unwrap();
        assert_eq!(max[0], Json::Number("1e3".into()));
        assert_eq!(max[1].as_i64(), Some(-2));
        assert_eq!(max[2].as_u64(), Some(7));
    }

    #[test]
    fn a_key_twice_and_deep_nesting_are_refused() {
        let error = Json::parse(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(error.contains("the key \"a\" appears twice"), "{error}");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let error = Json::parse(&deep).unwrap_err();
        assert_eq!(
            error,
            "nested deeper than 32 arrays and objects at line 1, column 33"
        );
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        let text = format!("{{\"label\": \"{}\"}}", "[".repeat(100));
        assert!(Json::parse(&text).is_ok());
    }
}
