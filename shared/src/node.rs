//! One read-only view of a JSON document for the rules, whatever holds it.
//!
//! The server parses with [`crate::parse_json`] into serde_json's `Value`; the text entry
//! points (`validate_user_json`, and through them the wasm package) parse with
//! [`crate::doc`] into a borrowed tree that copies no strings and builds no `BTreeMap`.
//! The rules are written once against these two traits, so both get the same verdict.

use serde_json::{Map, Value};

/// What a JSON value is, with its contents borrowed.
pub(crate) enum Kind<'v, N: Node> {
    Null,
    Bool(bool),
    /// A number that is an integer in `i64` (as `serde_json::Number::as_i64` sees it).
    Int(i64),
    /// Any other number (fractions, exponents, integers outside `i64`).
    Float(f64),
    Str(&'v str),
    Array(&'v [N]),
    Object(&'v N::Object),
}

/// A JSON value.
pub(crate) trait Node: Sized {
    type Object: Object<Node = Self>;
    fn kind(&self) -> Kind<'_, Self>;
}

/// A JSON object: its members by key, and its keys in order.
pub(crate) trait Object {
    type Node: Node;
    fn get(&self, key: &str) -> Option<&Self::Node>;
    fn keys(&self) -> impl Iterator<Item = &str>;
}

impl Node for Value {
    type Object = Map<String, Value>;

    #[inline]
    fn kind(&self) -> Kind<'_, Self> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Kind::Int(i),
                // Without serde_json's arbitrary_precision every number has an f64 form.
                None => Kind::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Kind::Str(s),
            Value::Array(items) => Kind::Array(items),
            Value::Object(map) => Kind::Object(map),
        }
    }
}

impl Object for Map<String, Value> {
    type Node = Value;
    fn get(&self, key: &str) -> Option<&Value> {
        Map::get(self, key)
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        Map::keys(self).map(String::as_str)
    }
}

/// A member of `obj` that is present and not null (null means "not given").
#[inline(always)]
pub(crate) fn given<'v, O: Object>(obj: &'v O, key: &str) -> Option<&'v O::Node> {
    obj.get(key).filter(|v| !matches!(v.kind(), Kind::Null))
}
