//! Strict JSON parsing shared by the server and the wasm package.
//!
//! `serde_json::from_str::<Value>` silently keeps the last of two duplicate keys, so
//! `{"type":"Attendee","type":"Speaker"}` would mean different things to different
//! parsers. Here duplicates are an error, as is a byte-order mark; nesting is capped by
//! serde_json's recursion limit (128), so hostile input cannot overflow the stack.

use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Why a JSON text could not be parsed, with the 1-based position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    /// What went wrong, for people.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for JsonError {}

/// Parses `text` as JSON, rejecting duplicate object keys and a leading byte-order mark.
///
/// ```
/// use onboard_shared::parse_json;
/// assert!(parse_json(r#"{"a": 1}"#).is_ok());
/// let err = parse_json(r#"{"a": 1, "a": 2}"#).unwrap_err();
/// assert!(err.message.contains("duplicate key"));
/// ```
pub fn parse_json(text: &str) -> Result<Value, JsonError> {
    if text.starts_with('\u{feff}') {
        return Err(bom_error());
    }
    let mut de = serde_json::Deserializer::from_str(text);
    StrictSeed { depth: 0 }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| JsonError {
            line: e.line(),
            column: e.column(),
            message: clean_message(&e.to_string()),
        })
}

/// A leading byte-order mark is refused: some parsers skip it, others do not.
pub(crate) fn bom_error() -> JsonError {
    JsonError {
        line: 1,
        column: 1,
        message: "JSON must not start with a byte-order mark".into(),
    }
}

/// serde_json appends " at line L column C" to its messages; the position is reported
/// separately, so drop it from the text.
fn clean_message(raw: &str) -> String {
    match raw.rfind(" at line ") {
        Some(i) => raw[..i].to_string(),
        None => raw.to_string(),
    }
}

/// Deepest nesting of arrays and objects accepted, in text (where serde_json has the same
/// limit) and from any other source, such as JS objects in the wasm package: a recursive
/// walk over a hostile 10,000-level object would otherwise overflow the stack, and in wasm a
/// stack overflow silently corrupts the module's memory instead of failing cleanly.
pub const MAX_DEPTH: usize = 128;

/// Builds a [`Value`] from any serde data source with the rules of [`parse_json`]: duplicate
/// keys refused, nesting capped at [`MAX_DEPTH`]. The wasm package converts JS objects with it.
pub fn value_from<'de, D: Deserializer<'de>>(source: D) -> Result<Value, D::Error> {
    StrictSeed { depth: 0 }.deserialize(source)
}

/// Deserializes one value at `depth`; children are deserialized at `depth + 1`.
#[derive(Clone, Copy)]
struct StrictSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl StrictSeed {
    fn child<E: de::Error>(self) -> Result<StrictSeed, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format_args!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(StrictSeed {
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for StrictSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element_seed(child)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let v = map.next_value_seed(child)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_json() {
        assert_eq!(
            parse_json(r#"{"a":[1,"x",null,true]}"#).unwrap()["a"][1],
            "x"
        );
    }

    #[test]
    fn rejects_duplicate_keys_with_position() {
        let e = parse_json("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!(e.message, "duplicate key `a`");
        assert_eq!(e.line, 3);
    }

    #[test]
    fn rejects_nested_duplicates() {
        assert!(parse_json(r#"{"s":{"x":1,"x":1}}"#).is_err());
    }

    #[test]
    fn rejects_bom() {
        assert!(
            parse_json("\u{feff}{}")
                .unwrap_err()
                .message
                .contains("byte-order")
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(
            parse_json(&deep)
                .unwrap_err()
                .message
                .contains("recursion limit")
        );
    }

    #[test]
    fn value_from_other_sources_caps_depth() {
        let mut v = serde_json::json!(1);
        for _ in 0..200 {
            v = serde_json::json!({ "a": v });
        }
        let err = value_from(v).unwrap_err();
        assert!(err.to_string().contains("nesting deeper than 128"), "{err}");
    }

    #[test]
    fn trailing_characters_are_errors() {
        assert!(parse_json("{} x").is_err());
    }

    #[test]
    fn huge_numbers_are_errors() {
        assert!(parse_json(r#"{"level": 1e400}"#).is_err());
    }

    #[test]
    fn reports_syntax_errors_with_line_and_column() {
        let e = parse_json("{\n \"a\": }").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
        assert!(!e.message.contains(" at line "));
    }
}
