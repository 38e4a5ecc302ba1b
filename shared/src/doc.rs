//! A strict JSON parser into a borrowed tree: the fast path of the text entry points.
//!
//! [`crate::parse_json`] (serde_json into `Value`) copies every string and key and builds a
//! `BTreeMap` per object; validation only reads the document, so here strings without
//! escapes borrow from the input and objects are vectors of members. It accepts exactly what
//! `parse_json` accepts (RFC 8259, duplicate keys refused, nesting capped at 128 like
//! serde_json's recursion limit, numbers that overflow f64 refused) and gives the same
//! numbers, so a text gets the same verdict through either (tests/doc_parity.rs checks this
//! against serde_json on random and mutated inputs). Its error messages follow serde_json's
//! wording. It also keeps serde_json's parser out of the wasm package.

use crate::json::JsonError;
use crate::node::{Kind, Node, Object};
use std::borrow::Cow;

/// Deepest nesting of arrays and objects, as serde_json's recursion limit.
const DEPTH: usize = 128;
/// Objects up to this many members check duplicate keys by scanning; bigger ones sort.
const SCAN_MAX: usize = 16;

/// A parsed JSON value borrowing from the text.
#[derive(Debug, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Members<'a>),
}

/// An object's members in document order (keys are unique).
#[derive(Debug, PartialEq)]
pub(crate) struct Members<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Node for Json<'a> {
    type Object = Members<'a>;

    fn kind(&self) -> Kind<'_, Self> {
        match self {
            Json::Null => Kind::Null,
            Json::Bool(b) => Kind::Bool(*b),
            Json::Int(i) => Kind::Int(*i),
            Json::Float(f) => Kind::Float(*f),
            Json::Str(s) => Kind::Str(s),
            Json::Array(items) => Kind::Array(items),
            Json::Object(m) => Kind::Object(m),
        }
    }
}

impl<'a> Object for Members<'a> {
    type Node = Json<'a>;
    const SORT_UNKNOWN: bool = true;

    fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

/// Parses `text` (which must not start with a byte-order mark: see `parse_json`).
pub(crate) fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let result = p.value(0).and_then(|v| {
        p.skip_ws();
        if p.pos < p.bytes.len() {
            Err(p.fail("trailing characters"))
        } else {
            Ok(v)
        }
    });
    result.map_err(|e| e.into_json_error(text))
}

/// Where and what: turned into line and column only when reported.
struct Fail {
    pos: usize,
    message: Cow<'static, str>,
}

impl Fail {
    fn into_json_error(self, text: &str) -> JsonError {
        let before = &text.as_bytes()[..self.pos.min(text.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        JsonError {
            line,
            column: self.pos - line_start,
            message: self.message.into_owned(),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// An error at the byte just read (serde_json's columns are 1-based: that byte's).
    fn fail(&self, message: &'static str) -> Fail {
        Fail {
            pos: (self.pos + 1).min(self.bytes.len()),
            message: Cow::Borrowed(message),
        }
    }

    fn eof(&self, what: &'static str) -> Fail {
        Fail {
            pos: self.bytes.len(),
            message: Cow::Borrowed(what),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, Fail> {
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.eof("EOF while parsing a value"));
        };
        match b {
            b'n' => self.word(b"null", Json::Null),
            b't' => self.word(b"true", Json::Bool(true)),
            b'f' => self.word(b"false", Json::Bool(false)),
            b'"' => Ok(Json::Str(self.string()?)),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' | b'{' => {
                // serde_json allows 127 nested containers (its limit counts down from 128).
                if depth + 1 >= DEPTH {
                    return Err(self.fail("recursion limit exceeded"));
                }
                if b == b'[' {
                    self.array(depth + 1)
                } else {
                    self.object(depth + 1)
                }
            }
            _ => Err(self.fail("expected value")),
        }
    }

    fn word(&mut self, word: &[u8], value: Json<'a>) -> Result<Json<'a>, Fail> {
        for &expected in word {
            match self.peek() {
                None => return Err(self.eof("EOF while parsing a value")),
                Some(b) if b == expected => self.pos += 1,
                Some(_) => return Err(self.fail("expected ident")),
            }
        }
        Ok(value)
    }

    /// RFC 8259 numbers. Integers that fit `i64` stay exact (as serde_json's `as_i64`);
    /// everything else is the correctly rounded f64, and one that overflows is an error.
    fn number(&mut self) -> Result<Json<'a>, Fail> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.fail("invalid number"));
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            Some(_) => return Err(self.fail("invalid number")),
            None => return Err(self.eof("EOF while parsing a value")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.required_digits()?;
        }
        let literal = &self.text[start..self.pos];
        if integer && let Ok(i) = literal.parse::<i64>() {
            return Ok(Json::Int(i));
        }
        match literal.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Json::Float(f)),
            _ => Err(Fail {
                pos: self.pos,
                message: Cow::Borrowed("number out of range"),
            }),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), Fail> {
        match self.peek() {
            Some(b'0'..=b'9') => {
                self.digits();
                Ok(())
            }
            Some(_) => Err(self.fail("invalid number")),
            None => Err(self.eof("EOF while parsing a value")),
        }
    }

    /// A string starting at the opening quote; borrowed unless it holds escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, Fail> {
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        let mut run = start; // start of the bytes not yet copied into `owned`
        loop {
            let Some(b) = self.peek() else {
                return Err(self.eof("EOF while parsing a string"));
            };
            match b {
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(&self.text[start..end]),
                        Some(mut s) => {
                            s.push_str(&self.text[run..end]);
                            Cow::Owned(s)
                        }
                    });
                }
                b'\\' => {
                    let mut s = owned.take().unwrap_or_default();
                    s.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    s.push(self.escape()?);
                    owned = Some(s);
                    run = self.pos;
                }
                0x00..=0x1f => {
                    return Err(self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string"));
                }
                _ => self.pos += 1,
            }
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Result<char, Fail> {
        let Some(b) = self.peek() else {
            return Err(self.eof("EOF while parsing a string"));
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                match first {
                    0xD800..=0xDBFF => {
                        // A leading surrogate must be followed by an escaped trailing one.
                        if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(self.at_pos("lone leading surrogate in hex escape"));
                        }
                        self.pos += 2;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(self.at_pos("lone leading surrogate in hex escape"));
                        }
                        let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        char::from_u32(c)
                            .ok_or_else(|| self.at_pos("invalid unicode code point"))?
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.at_pos("lone leading surrogate in hex escape"));
                    }
                    _ => char::from_u32(first)
                        .ok_or_else(|| self.at_pos("invalid unicode code point"))?,
                }
            }
            _ => {
                return Err(Fail {
                    pos: self.pos,
                    message: Cow::Borrowed("invalid escape"),
                });
            }
        })
    }

    fn at_pos(&self, message: &'static str) -> Fail {
        Fail {
            pos: self.pos,
            message: Cow::Borrowed(message),
        }
    }

    fn hex4(&mut self) -> Result<u32, Fail> {
        let mut n = 0;
        for _ in 0..4 {
            let Some(b) = self.peek() else {
                return Err(self.eof("EOF while parsing a string"));
            };
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.fail("invalid escape")),
            };
            self.pos += 1;
            n = n * 16 + u32::from(d);
        }
        Ok(n)
    }

    fn array(&mut self, depth: usize) -> Result<Json<'a>, Fail> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        return Err(self.fail("trailing comma"));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                Some(_) => return Err(self.fail("expected `,` or `]`")),
                None => return Err(self.eof("EOF while parsing a list")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json<'a>, Fail> {
        self.pos += 1;
        let mut members: Vec<(Cow<'a, str>, Json<'a>)> = Vec::new();
        // Where each key ended, for reporting a duplicate found by sorting (big objects).
        let mut key_ends: Vec<usize> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(Members(members)));
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(self.fail("key must be a string")),
                None => return Err(self.eof("EOF while parsing an object")),
            }
            let key = self.string()?;
            if members.len() < SCAN_MAX && members.iter().any(|(k, _)| *k == key) {
                return Err(duplicate(&key, self.pos));
            }
            key_ends.push(self.pos);
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                Some(_) => return Err(self.fail("expected `:`")),
                None => return Err(self.eof("EOF while parsing an object")),
            }
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        return Err(self.fail("trailing comma"));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.fail("expected `,` or `}`")),
                None => return Err(self.eof("EOF while parsing an object")),
            }
        }
        if members.len() > SCAN_MAX {
            check_unique(&members, &key_ends)?;
        }
        Ok(Json::Object(Members(members)))
    }
}

fn duplicate(key: &str, end: usize) -> Fail {
    Fail {
        pos: end,
        message: Cow::Owned(format!("duplicate key `{key}`")),
    }
}

/// Duplicate keys of a big object, in O(n log n) (a scan per key would be quadratic on a
/// hostile 100,000-key object). Reports the first repeated key in document order.
fn check_unique(members: &[(Cow<'_, str>, Json<'_>)], key_ends: &[usize]) -> Result<(), Fail> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_unstable_by(|&a, &b| members[a].0.cmp(&members[b].0).then(a.cmp(&b)));
    let first_repeat = order
        .windows(2)
        .filter(|w| members[w[0]].0 == members[w[1]].0)
        .map(|w| w[1])
        .min();
    match first_repeat {
        Some(i) => Err(duplicate(&members[i].0, key_ends[i])),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_unescapes_others() {
        let Json::Object(m) = parse(r#"{"a":"plain","b":"x\"y\u00e9\ud83c\udf89"}"#).unwrap()
        else {
            panic!()
        };
        assert!(matches!(
            m.get("a"),
            Some(Json::Str(Cow::Borrowed("plain")))
        ));
        assert_eq!(m.get("b"), Some(&Json::Str(Cow::Owned("x\"yé🎉".into()))));
    }

    #[test]
    fn numbers_like_serde_json() {
        assert_eq!(parse("3").unwrap(), Json::Int(3));
        assert_eq!(parse("-0").unwrap(), Json::Int(0));
        assert_eq!(parse("3.0").unwrap(), Json::Float(3.0));
        assert_eq!(parse("100000000000000000000").unwrap(), Json::Float(1e20));
        assert_eq!(parse("1e400").unwrap_err().message, "number out of range");
        for bad in ["01", "1.", ".5", "-", "1e", "+1", "0x10"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_and_positions() {
        let e = parse("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!((e.message.as_str(), e.line), ("duplicate key `a`", 3));
        let e = parse("{\n \"a\": }").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (2, 7, "expected value")
        );
        assert_eq!(parse(r#"{"a":1,}"#).unwrap_err().message, "trailing comma");
        assert_eq!(parse("{} x").unwrap_err().message, "trailing characters");
        assert_eq!(
            parse(r#""\ud800""#).unwrap_err().message,
            "lone leading surrogate in hex escape"
        );
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(
            parse(&deep).unwrap_err().message,
            "recursion limit exceeded"
        );
    }

    #[test]
    fn duplicates_in_big_objects() {
        let mut text = String::from("{");
        for i in 0..1000 {
            text.push_str(&format!("\"k{i}\":{i},"));
        }
        text.push_str("\"k500\":1}");
        assert_eq!(parse(&text).unwrap_err().message, "duplicate key `k500`");
    }
}
