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

use crate::bytes;
use crate::json::JsonError;
use crate::node::{Kind, Node, Object};
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::OnceLock;

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

/// An object's members in document order (keys are unique), where the last lookup
/// matched, and a filter of its keys: the rules ask for fields in the order payloads
/// usually list them, so a lookup that starts after the previous match finds its key at
/// once instead of scanning, and one for a key whose [`key_bit`] is not in the filter
/// (most absent fields) answers without scanning.
#[derive(Debug)]
// The position and the filter as 32 bits each keep a member as small as before they were
// added (the position is only where a search starts: any value is correct).
pub(crate) struct Members<'a>(Vec<(Cow<'a, str>, Json<'a>)>, Cell<u32>, u32);

/// Two objects are equal when their members are (where lookups stopped is no part of it).
impl PartialEq for Members<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

/// An object of these members (keys unique), for trees built rather than parsed (a filter
/// that lets every key through: they are searched).
pub(crate) fn object<'a>(members: Vec<(Cow<'a, str>, Json<'a>)>) -> Json<'a> {
    Json::Object(Members(members, Cell::new(0), !0))
}

/// A key's bit among 64, from its length and first and last bytes: the parser checks
/// duplicate keys only when a key's bit was set before.
#[inline(always)]
fn key_bit(k: &[u8]) -> u64 {
    let hash = k.len() * 7
        + 3 * usize::from(k.first().copied().unwrap_or(0))
        + usize::from(k.last().copied().unwrap_or(0));
    1u64 << (hash % 64)
}

/// An object's filter from its keys' bits (or one key's bit): the 64 folded into 32.
#[inline(always)]
fn fold(bits: u64) -> u32 {
    (bits | bits >> 32) as u32
}

impl<'a> Members<'a> {
    pub(crate) fn into_members(self) -> Vec<(Cow<'a, str>, Json<'a>)> {
        self.0
    }
}

impl<'a> Node for Json<'a> {
    type Object = Members<'a>;

    #[inline(always)]
    fn kind(&self) -> Kind<'_, Self> {
        match self {
            Json::Null => Kind::Null,
            Json::Bool(b) => Kind::Bool(*b),
            Json::Int(i) => Kind::Int(*i),
            Json::Float(f) => Kind::Float(*f),
            Json::Str(s) => Kind::Str(text(s)),
            Json::Array(items) => Kind::Array(items),
            Json::Object(m) => Kind::Object(m),
        }
    }
}

impl<'a> Object for Members<'a> {
    type Node = Json<'a>;
    fn get(&self, key: &str) -> Option<&Json<'a>> {
        // The rules ask for fields in the order payloads list them: the member after the
        // previous match is nearly always the one. It is tried here, and the search is a
        // call only when it fails (natively, a call on every lookup made each one save and
        // restore registers).
        let i = self.1.get() as usize;
        if let Some((k, v)) = self.0.get(i)
            && same_key(text(k).as_bytes(), key.as_bytes())
        {
            self.1.set(i as u32 + 1);
            return Some(v);
        }
        self.find(key)
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| text(k))
    }
}

impl<'a> Members<'a> {
    /// The member `key`, searched from the one after the previous match.
    #[cold]
    #[inline(never)]
    fn find(&self, key: &str) -> Option<&Json<'a>> {
        // Plain loops on bytes: at the size-first opt-level iterator steps stay calls.
        let key = key.as_bytes();
        if self.2 & fold(key_bit(key)) == 0 {
            return None;
        }
        let members = &self.0;
        let mut i = self.1.get() as usize;
        for _ in 0..members.len() {
            if i >= members.len() {
                i = 0;
            }
            if same_key(text(&members[i].0).as_bytes(), key) {
                self.1.set(i as u32 + 1);
                return Some(&members[i].1);
            }
            i += 1;
        }
        None
    }
}

/// `a == b` for keys, without a call (a call in [`Object::get`] made every lookup save and
/// restore registers natively): two overlapping words for 4 to 16 bytes, as most keys
/// are, bytes for the others.
#[inline(always)]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (4..=16).contains(&n) {
        return bytes::same(a, b);
    }
    let mut i = 0;
    while i < n {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The text of a string, without the call `Cow`'s `Deref` stays at the size-first
/// opt-level (this is on every key lookup).
#[inline(always)]
#[allow(clippy::ptr_arg)] // taking the Cow itself is the point: no Deref call
fn text<'s>(s: &'s Cow<'_, str>) -> &'s str {
    match s {
        Cow::Borrowed(s) => s,
        Cow::Owned(s) => s.as_str(),
    }
}

/// Two keys are the same: lengths first, most keys differ there.
#[inline(always)]
#[allow(clippy::ptr_arg)]
fn same(a: &Cow<'_, str>, b: &Cow<'_, str>) -> bool {
    bytes::same(text(a).as_bytes(), text(b).as_bytes())
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

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        // JSON.stringify writes no whitespace: one compare in the usual case.
        if self.bytes.get(self.pos).is_some_and(|&b| b > b' ') {
            return;
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    // The parser's functions are compiled for speed in the size-first wasm package (see
    // `onboard_speed` in lib.rs): a tenth of a validation for about 110 bytes.
    #[cfg_attr(onboard_speed, optimize(speed))]
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

    /// RFC 8259 numbers, converted exactly as serde_json converts them (without its
    /// `float_roundtrip` feature): integers that fit `u64`/`i64` stay exact, the rest is the
    /// significand's first 19-20 digits scaled by a power of ten. Being serde_json's own
    /// arithmetic, a payload gets the same verdict here and on the server; and it needs only
    /// the powers of ten, not core's correctly rounded float parser and its 10 KB of tables.
    fn number(&mut self) -> Result<Json<'a>, Fail> {
        let positive = if self.peek() == Some(b'-') {
            self.pos += 1;
            false
        } else {
            true
        };
        let mut significand: u64 = 0;
        let mut exponent: i32 = 0;
        let mut overflowed = false;
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.fail("invalid number"));
                }
            }
            Some(b'1'..=b'9') => {
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                    if overflowed {
                        exponent += 1; // digits past u64 are dropped, their place kept
                    } else if let Some(n) = significand
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(c - b'0')))
                    {
                        significand = n;
                    } else {
                        overflowed = true;
                        exponent += 1;
                    }
                }
            }
            Some(_) => return Err(self.fail("invalid number")),
            None => return Err(self.eof("EOF while parsing a value")),
        }
        let mut float = overflowed;
        if self.peek() == Some(b'.') {
            float = true;
            self.pos += 1;
            let mut fraction_digits = 0;
            // As serde_json: fraction digits are added while they fit (even after integer
            // digits were dropped); from the first that does not, the rest are ignored.
            let mut full = false;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                self.pos += 1;
                fraction_digits += 1;
                if full {
                    continue;
                }
                match significand
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(c - b'0')))
                {
                    Some(n) => {
                        significand = n;
                        exponent -= 1;
                    }
                    None => full = true,
                }
            }
            if fraction_digits == 0 {
                return match self.peek() {
                    Some(_) => Err(self.fail("invalid number")),
                    None => Err(self.eof("EOF while parsing a value")),
                };
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.pos += 1;
            let positive_exp = match self.peek() {
                Some(b'+') => {
                    self.pos += 1;
                    true
                }
                Some(b'-') => {
                    self.pos += 1;
                    false
                }
                _ => true,
            };
            match self.peek() {
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.fail("invalid number")),
                None => return Err(self.eof("EOF while parsing a value")),
            }
            let mut exp: i32 = 0;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                self.pos += 1;
                match exp
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(i32::from(c - b'0')))
                {
                    Some(n) => exp = n,
                    None => {
                        // An exponent past i32: infinity is refused, anything else is zero.
                        if significand != 0 && positive_exp {
                            return Err(self.at_pos("number out of range"));
                        }
                        while let Some(b'0'..=b'9') = self.peek() {
                            self.pos += 1;
                        }
                        return Ok(Json::Float(if positive { 0.0 } else { -0.0 }));
                    }
                }
            }
            exponent = if positive_exp {
                exponent.saturating_add(exp)
            } else {
                exponent.saturating_sub(exp)
            };
        }
        if !float {
            return Ok(if positive {
                i64::try_from(significand).map_or(Json::Float(significand as f64), Json::Int)
            } else {
                let neg = (significand as i64).wrapping_neg();
                // serde_json makes -0 and integers below i64::MIN floats.
                if neg >= 0 {
                    Json::Float(-(significand as f64))
                } else {
                    Json::Int(neg)
                }
            });
        }
        let f = f64_from_parts(significand, exponent)
            .ok_or_else(|| self.at_pos("number out of range"))?;
        Ok(Json::Float(if positive { f } else { -f }))
    }

    /// A string starting at the opening quote; borrowed unless it holds escapes.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(onboard_speed, optimize(speed))]
    fn string(&mut self) -> Result<Cow<'a, str>, Fail> {
        match self.plain() {
            Some(s) => Ok(Cow::Borrowed(s)),
            None => self.escaped(),
        }
    }

    /// A string without escapes or control bytes, starting at the opening quote: its text,
    /// the position moved past its closing quote. `None`, the position unmoved, for any
    /// other string ([`Parser::escaped`] reads those).
    // Inlined natively, where a call per string was a tenth of the parse; in the size-first
    // wasm build a second copy of the loop costs more bytes than it saves time.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    #[cfg_attr(target_arch = "wasm32", inline(never))]
    #[cfg_attr(onboard_speed, optimize(speed))]
    fn plain(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        // Nearly every string has no escape: find its end eight bytes at a time and borrow
        // it. The first quote, backslash or control byte of a word is found exactly.
        let bytes = self.bytes;
        let mut i = start;
        while i + 8 <= bytes.len() {
            let w = bytes::word(bytes, i);
            // A quote or a control byte is below 0x21 once bit 1 is flipped (`"` is 0x22,
            // space 0x20 becomes 0x22): two tests instead of three.
            let stop = bytes::below(w ^ 0x0202_0202_0202_0202, 0x21) | bytes::eq(w, b'\\');
            if stop != 0 {
                i += bytes::first(stop);
                break;
            }
            i += 8;
        }
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Some(&self.text[start..i]);
                }
                b'\\' | 0x00..=0x1f => return None,
                _ => i += 1,
            }
        }
        None
    }

    /// A string that [`Parser::plain`] did not read, from its opening quote.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self) -> Result<Cow<'a, str>, Fail> {
        self.pos += 1;
        self.string_rest(self.pos)
    }

    /// The rest of a string from its first escape or control byte (at `self.pos`): out of
    /// line, so the common case above stays small enough to inline where strings are read.
    #[cold]
    #[inline(never)]
    fn string_rest(&mut self, start: usize) -> Result<Cow<'a, str>, Fail> {
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

    /// A member's or an item's value: a string is read here, without the call to
    /// [`Parser::value`] (most values of a payload are strings).
    #[inline(always)]
    fn item(&mut self, depth: usize) -> Result<Json<'a>, Fail> {
        self.skip_ws();
        if self.peek() == Some(b'"') {
            return Ok(Json::Str(self.string()?));
        }
        self.value(depth)
    }

    /// After an item or a member: `true` at the container's end (`close`), `false` after a
    /// comma. `JSON.stringify` writes no whitespace, so the byte after a value is looked at
    /// first, and whitespace skipped only when it is not a comma or `close`.
    #[cfg_attr(not(target_arch = "wasm32"), inline(always))]
    fn next(&mut self, close: u8, eof: &'static str) -> Result<bool, Fail> {
        let mut b = self.peek();
        if b.is_some_and(|b| b <= b' ') {
            self.skip_ws();
            b = self.peek();
        }
        match b {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    return Err(self.fail("trailing comma"));
                }
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Err(self.fail(if close == b']' {
                "expected `,` or `]`"
            } else {
                "expected `,` or `}`"
            })),
            None => Err(self.eof(eof)),
        }
    }

    #[cfg_attr(onboard_speed, optimize(speed))]
    fn array(&mut self, depth: usize) -> Result<Json<'a>, Fail> {
        self.pos += 1;
        let mut items = Vec::with_capacity(4);
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.item(depth)?);
            if self.next(b']', "EOF while parsing a list")? {
                return Ok(Json::Array(items));
            }
        }
    }

    #[cfg_attr(onboard_speed, optimize(speed))]
    fn object(&mut self, depth: usize) -> Result<Json<'a>, Fail> {
        self.pos += 1;
        // Payload objects have about 2 to 17 members: start big enough for most.
        let mut members: Vec<(Cow<'a, str>, Json<'a>)> = Vec::with_capacity(18);
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(Members(members, Cell::new(0), 0)));
        }
        let mut seen = 0u64;
        loop {
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(self.fail("key must be a string")),
                None => return Err(self.eof("EOF while parsing an object")),
            }
            let key = self.string()?;
            // A key can only repeat one with the same bit (from its length and first and
            // last bytes): most keys skip the scan.
            let bit = key_bit(text(&key).as_bytes());
            if members.len() < SCAN_MAX
                && seen & bit != 0
                && members.iter().any(|(k, _)| same(k, &key))
            {
                return Err(duplicate(&key, self.pos));
            }
            seen |= bit;
            if self.peek() == Some(b':') {
                self.pos += 1;
            } else {
                self.skip_ws();
                match self.peek() {
                    Some(b':') => self.pos += 1,
                    Some(_) => return Err(self.fail("expected `:`")),
                    None => return Err(self.eof("EOF while parsing an object")),
                }
            }
            // A string written without whitespace before it, as `JSON.stringify` writes most
            // values, goes straight into the member.
            if self.peek() == Some(b'"')
                && let Some(v) = self.plain()
            {
                members.push((key, Json::Str(Cow::Borrowed(v))));
            } else {
                let value = self.item(depth)?;
                members.push((key, value));
            }
            if self.next(b'}', "EOF while parsing an object")? {
                break;
            }
        }
        if members.len() > SCAN_MAX {
            // Reported at the object's end (serde_json points at the repeated key).
            check_unique(&members, self.pos)?;
        }
        Ok(Json::Object(Members(members, Cell::new(0), fold(seen))))
    }
}

/// `significand × 10^exponent` as serde_json computes it; `None` when it overflows.
fn f64_from_parts(significand: u64, mut exponent: i32) -> Option<f64> {
    let mut f = significand as f64;
    loop {
        match pow10(exponent.unsigned_abs() as usize) {
            Some(pow) => {
                if exponent >= 0 {
                    f *= pow;
                    if f.is_infinite() {
                        return None;
                    }
                } else {
                    f /= pow;
                }
                return Some(f);
            }
            None => {
                if f == 0.0 {
                    return Some(f);
                }
                if exponent >= 0 {
                    return None;
                }
                f /= 1e308;
                exponent += 308;
            }
        }
    }
}

/// `10^k` for `k` up to 308, correctly rounded: the values of serde_json's table of literals
/// (a test compares all 309), computed once when a number first needs one instead of
/// stored, as that table was the wasm package's largest piece that gzip cannot shrink
/// (2.5 KB). `None` above 308.
fn pow10(k: usize) -> Option<f64> {
    static TABLE: OnceLock<[f64; 309]> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let mut table = [0.0; 309];
            // 10^k = 5^k * 2^k, 5^k in 64-bit limbs, lowest first (5^308 < 2^716).
            let mut five = [0u64; 12];
            five[0] = 1;
            let mut len = 1;
            for (k, slot) in table.iter_mut().enumerate() {
                if k > 0 {
                    let mut carry = 0;
                    for limb in &mut five[..len] {
                        let v = u128::from(*limb) * 5 + carry;
                        *limb = v as u64;
                        carry = v >> 64;
                    }
                    if carry != 0 {
                        five[len] = carry as u64;
                        len += 1;
                    }
                }
                *slot = round_scaled(&five[..len], k);
            }
            table
        })
        .get(k)
        .copied()
}

/// `n * 2^k` as the nearest f64 (ties to even), for an odd `n` (a power of five) whose
/// limbs are `n`, lowest first, the last one not zero, and a result in the normal range.
fn round_scaled(n: &[u64], k: usize) -> f64 {
    let len = n.len();
    let bits = 64 * len - n[len - 1].leading_zeros() as usize;
    // The top 64 bits of `n`, its highest bit at bit 63; `sticky` when bits below them are
    // set, which for an odd `n` is whenever there are bits below them.
    let (top, sticky) = if bits <= 64 {
        (n[0] << (64 - bits), false)
    } else {
        let low = bits - 64;
        let (i, off) = (low / 64, low % 64);
        let top = if off == 0 {
            n[i]
        } else {
            (n[i] >> off) | (n[i + 1] << (64 - off))
        };
        (top, true)
    };
    let mut m = top >> 11;
    let rest = top & 0x7ff;
    if rest > 0x400 || (rest == 0x400 && (sticky || m & 1 == 1)) {
        m += 1;
    }
    // The value is `m * 2^(bits - 53 + k)`.
    let mut exp = bits as i64 - 53 + k as i64;
    if m == 1 << 53 {
        m >>= 1;
        exp += 1;
    }
    m as f64 * f64::from_bits(((1023 + exp) as u64) << 52)
}

fn duplicate(key: &str, end: usize) -> Fail {
    Fail {
        pos: end,
        message: Cow::Owned(format!("duplicate key `{key}`")),
    }
}

/// Duplicate keys of a big object, in O(n log n) (a scan per key would be quadratic on a
/// hostile 100,000-key object). Reports the first repeated key in document order.
fn check_unique(members: &[(Cow<'_, str>, Json<'_>)], end: usize) -> Result<(), Fail> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    heap_sort(&mut order, |a, b| (&members[a].0, a) < (&members[b].0, b));
    let first_repeat = order
        .windows(2)
        .filter(|w| members[w[0]].0 == members[w[1]].0)
        .map(|w| w[1])
        .min();
    match first_repeat {
        Some(i) => Err(duplicate(&members[i].0, end)),
        None => Ok(()),
    }
}

/// Sorts `v` by `less` in O(n log n). A heap sort in a dozen lines: the standard library's
/// sorts brought about 2 KB gzipped of sorting networks into the wasm package for this one
/// use, on hostile input only.
fn heap_sort(v: &mut [usize], less: impl Fn(usize, usize) -> bool) {
    let sift = |v: &mut [usize], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && less(v[child], v[child + 1]) {
            child += 1;
        }
        if !less(v[root], v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// Owned access for merge patches (`crate::patch`), which rebuild objects from the members
/// of two documents.
impl<'a> Members<'a> {
    pub(crate) fn from_vec(members: Vec<(Cow<'a, str>, Json<'a>)>) -> Self {
        Members(members, Cell::new(0), !0)
    }
    pub(crate) fn into_vec(self) -> Vec<(Cow<'a, str>, Json<'a>)> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_in_any_order_with_the_key_filter() {
        // Keys of many lengths and ends, some sharing a filter bit: every one found from
        // any previous match, absent ones not, in parsed and in built objects.
        let keys: Vec<String> = (0..40)
            .map(|i| format!("k{}{}", "x".repeat(i % 9), i))
            .collect();
        let text = format!(
            "{{{}}}",
            keys.iter()
                .enumerate()
                .map(|(i, k)| format!("\"{k}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let parsed = parse(&text).unwrap();
        let built = object(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (Cow::Borrowed(k.as_str()), Json::Int(i as i64)))
                .collect(),
        );
        for doc in [&parsed, &built] {
            let Json::Object(m) = doc else { panic!() };
            for step in [1, 7, 39] {
                for n in 0..keys.len() {
                    let i = n * step % keys.len();
                    assert_eq!(m.get(&keys[i]), Some(&Json::Int(i as i64)), "{}", keys[i]);
                }
            }
            for absent in ["", "k", "kx", "k0x", "description", "k40", "kxxxxxxxx9"] {
                assert_eq!(m.get(absent), None, "{absent}");
            }
        }
        assert_eq!(parsed, built);
    }

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
        assert_eq!(parse("-0").unwrap(), Json::Float(-0.0)); // as serde_json
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

    /// Every message and position, as the parser before the fast paths of issue 16 gave them
    /// (serde_json's wording; tests/doc_parity.rs checks the verdicts against serde_json).
    #[test]
    fn errors_are_unchanged() {
        let cases: &[(&str, &str, usize, usize)] = &[
            ("", "EOF while parsing a value", 1, 0),
            (" ", "EOF while parsing a value", 1, 1),
            ("{", "EOF while parsing an object", 1, 1),
            ("[", "EOF while parsing a value", 1, 1),
            ("{\"a\"", "EOF while parsing an object", 1, 4),
            ("{\"a\":", "EOF while parsing a value", 1, 5),
            ("{\"a\":1", "EOF while parsing an object", 1, 6),
            ("{\"a\":1,", "EOF while parsing an object", 1, 7),
            ("[1", "EOF while parsing a list", 1, 2),
            ("[1,", "EOF while parsing a value", 1, 3),
            ("\"abc", "EOF while parsing a string", 1, 4),
            ("{\"a\":1}x", "trailing characters", 1, 8),
            ("{\"a\":01}", "invalid number", 1, 7),
            ("{\"a\":-}", "invalid number", 1, 7),
            ("{\"a\":1.}", "invalid number", 1, 8),
            ("{\"a\":.5}", "expected value", 1, 6),
            ("{\"a\":1e}", "invalid number", 1, 8),
            ("{\"a\":1e+}", "invalid number", 1, 9),
            ("{\"level\":1e400}", "number out of range", 1, 14),
            (
                "{\"a\":\"\\ud800\"}",
                "lone leading surrogate in hex escape",
                1,
                12,
            ),
            (
                "{\"a\":\"\\udc00\"}",
                "lone leading surrogate in hex escape",
                1,
                12,
            ),
            (
                "{\"a\":\"\\ud800\\u0041\"}",
                "lone leading surrogate in hex escape",
                1,
                18,
            ),
            ("{\"a\":\"\\x\"}", "invalid escape", 1, 8),
            (
                "{\"a\":\"\u{1}\"}",
                "control character (\\u0000-\\u001F) found while parsing a string",
                1,
                7,
            ),
            ("{\"a\":\"\\u12\"}", "invalid escape", 1, 11),
            ("{\"a\":\"\\u12G4\"}", "invalid escape", 1, 11),
            ("{\"a\":tru}", "expected ident", 1, 9),
            ("{\"a\":nul}", "expected ident", 1, 9),
            ("{\"a\" 1}", "expected `:`", 1, 6),
            ("{a:1}", "key must be a string", 1, 2),
            ("{\"a\":1,}", "trailing comma", 1, 8),
            ("[1,]", "trailing comma", 1, 4),
            ("[1 2]", "expected `,` or `]`", 1, 4),
            ("{\"a\":1 \"b\":2}", "expected `,` or `}`", 1, 8),
            ("{\"a\":1,\"a\":2}", "duplicate key `a`", 1, 10),
            ("{\n  \"a\": 1,\n  \"b\": x\n}", "expected value", 3, 8),
            (
                "{\"a\":\"b\"\n,\n\"c\" :\t[true ,false, null ,-1.5e3,\"\\n\"] , \"a\":0}",
                "duplicate key `a`",
                3,
                44,
            ),
            (
                "{\"a\":{\"b\":[{\"c\":\"d\\\"\"}]},}",
                "trailing comma",
                1,
                26,
            ),
            ("[\"a\" \"b\"]", "expected `,` or `]`", 1, 6),
            ("{\"a\":\"b\",\"c\"}", "expected `:`", 1, 13),
            ("{\"a\":\"b\",,}", "key must be a string", 1, 10),
            ("{,}", "key must be a string", 1, 2),
            ("[,]", "expected value", 1, 2),
            ("{\"a\":[}", "expected value", 1, 7),
            ("{\"a\":{]}", "key must be a string", 1, 7),
            ("{\"k\":\"\\u\"}", "invalid escape", 1, 9),
            ("nulx", "expected ident", 1, 4),
        ];
        for &(text, message, line, column) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(
                (e.message.as_str(), e.line, e.column),
                (message, line, column),
                "{text:?}"
            );
        }
    }

    /// serde_json's table of powers of ten, as literals.
    #[rustfmt::skip]
    const LITERALS: [f64; 309] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61, 1e62, 1e63, 1e64, 1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71, 1e72, 1e73, 1e74, 1e75, 1e76, 1e77, 1e78, 1e79, 1e80, 1e81, 1e82, 1e83, 1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91, 1e92, 1e93, 1e94, 1e95, 1e96, 1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105, 1e106, 1e107, 1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118, 1e119, 1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131, 1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143, 1e144, 1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155, 1e156, 1e157, 1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167, 1e168, 1e169, 1e170, 1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179, 1e180, 1e181, 1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191, 1e192, 1e193, 1e194, 1e195, 1e196, 1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203, 1e204, 1e205, 1e206, 1e207, 1e208, 1e209, 1e210, 1e211, 1e212, 1e213, 1e214, 1e215, 1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227, 1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235, 1e236, 1e237, 1e238, 1e239, 1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248, 1e249, 1e250, 1e251, 1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261, 1e262, 1e263, 1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274, 1e275, 1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287, 1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299, 1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308];

    #[test]
    fn powers_of_ten_are_the_literals() {
        for (k, &literal) in LITERALS.iter().enumerate() {
            assert_eq!(pow10(k).map(f64::to_bits), Some(literal.to_bits()), "1e{k}");
        }
        assert_eq!(pow10(309), None);
    }

    #[test]
    fn heap_sort_sorts() {
        let mut seed = 12345u64;
        for n in [0, 1, 2, 3, 17, 100, 1000] {
            let keys: Vec<u64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 33) % 50
                })
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            heap_sort(&mut order, |a, b| (keys[a], a) < (keys[b], b));
            let mut want: Vec<usize> = (0..n).collect();
            want.sort_by_key(|&i| (keys[i], i));
            assert_eq!(order, want);
        }
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
