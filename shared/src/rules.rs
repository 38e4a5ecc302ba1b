//! Field rules shared by every payload: text, e-mail, https URL, color, time zone, tags.
//!
//! [`Checker`] walks one JSON object, collects every problem with its path, and hands back
//! the cleaned value (trimmed text) when the field is fine, so a payload module reads as a
//! list of its fields.

use crate::bytes;
use crate::error::{Code, ERRORS_MAX, FieldError, too_many_errors};
use crate::node::{Kind, Node, Object, given};
use crate::timezones::TIMEZONES;
use std::sync::OnceLock;

// The limits are the field catalogue's; re-exported here under their historic names.
pub use crate::catalogue::{EMAIL_MAX, TAG_MAX, TAGS_MAX, URL_MAX};

/// Is `email` a usable address? ASCII only (write international domains as `xn--`
/// punycode), one `@`, a dot-atom local part of at most 64 characters and a domain of at
/// least two labels with an alphabetic or punycode top-level label. The input must already be
/// trimmed.
///
/// ```
/// use onboard_shared::is_valid_email;
/// assert!(is_valid_email("jane.doe+events@domain.com"));
/// assert!(!is_valid_email("jane@localhost"));
/// assert!(!is_valid_email("jane@bücher.de"));
/// ```
pub fn is_valid_email(email: &str) -> bool {
    email_problem(email).is_none()
}

fn email_problem(email: &str) -> Option<&'static str> {
    const GENERIC: &str = "Must be a valid email address, like name@example.com.";
    if email.len() > EMAIL_MAX {
        return Some("Must be at most 254 characters.");
    }
    if !email.is_ascii() {
        return Some(
            "Must use only ASCII characters; write an international domain in its xn-- form.",
        );
    }
    // One pass over the local part with the byte-class table, then the domain's own pass
    // (a `@` in the domain fails as a host name byte).
    let b = email.as_bytes();
    let Some(at) = b.iter().position(|&c| c == b'@') else {
        return Some(GENERIC);
    };
    let local = &b[..at];
    if local.is_empty() || local.len() > 64 || local[0] == b'.' || local[at - 1] == b'.' {
        return Some(GENERIC);
    }
    let mut prev = 0;
    for &c in local {
        // `.` may not follow `.`; anything else must be atext.
        if (c == b'.' && prev == b'.') || (c != b'.' && BYTE_CLASS[usize::from(c)] & ATEXT == 0) {
            return Some(GENERIC);
        }
        prev = c;
    }
    let domain = &email[at + 1..];
    // At least two labels; the top-level one alphabetic or punycode.
    let tld = match last_label(domain) {
        Some(start) if start > 0 => &domain[start..],
        _ => return Some(GENERIC),
    };
    if tld.len() < 2 || !(tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--")) {
        return Some(GENERIC);
    }
    None
}

/// The key two e-mails are compared by: trimmed and lowercased (`Jane@X.com` = `jane@x.com`).
pub fn normalize_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// DNS host name: dot-separated labels of 1..=63 ASCII letters, digits and inner hyphens.
fn is_hostname(host: &str) -> bool {
    last_label(host).is_some()
}

/// Where the last label of host name `host` starts, or `None` if it is not a host name.
fn last_label(host: &str) -> Option<usize> {
    // One pass over the bytes with a class table (this runs for every e-mail and URL).
    let bytes = host.as_bytes();
    if bytes.is_empty() || bytes.len() > 253 {
        return None;
    }
    let (mut label_len, mut prev) = (0usize, b'.');
    for &b in bytes {
        match BYTE_CLASS[usize::from(b)] & !ATEXT {
            LETTER => label_len += 1,
            HYPHEN if label_len > 0 => label_len += 1,
            DOT if label_len > 0 && label_len <= 63 && prev != b'-' => label_len = 0,
            _ => return None,
        }
        prev = b;
    }
    (label_len > 0 && label_len <= 63 && prev != b'-').then(|| bytes.len() - label_len)
}

const LETTER: u8 = 1;
const HYPHEN: u8 = 2;
const DOT: u8 = 3;
/// A flag on top of the host classes: the byte may appear in an e-mail's local part
/// (RFC 5322 atext: letters, digits and ``!#$%&'*+-/=?^_`{|}~``).
const ATEXT: u8 = 4;
/// What each byte is in a host name (a letter or digit, `-`, `.`, or not allowed: 0), and
/// whether it is atext.
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let host = if c.is_ascii_alphanumeric() {
            LETTER
        } else if c == b'-' {
            HYPHEN
        } else if c == b'.' {
            DOT
        } else {
            0
        };
        let mut atext = c.is_ascii_alphanumeric();
        let symbols = b"!#$%&'*+/=?^_`{|}~-";
        let mut i = 0;
        while i < symbols.len() {
            atext |= symbols[i] == c;
            i += 1;
        }
        t[b] = host | if atext { ATEXT } else { 0 };
        b += 1;
    }
    t
};

/// Checks an https URL (already trimmed). `Ok(())` or the code and message to report.
///
/// ```
/// use onboard_shared::{check_https_url, Code};
/// assert!(check_https_url("https://domain.com/logo.png").is_ok());
/// assert_eq!(check_https_url("http://domain.com").unwrap_err().0, Code::UrlNotHttps);
/// assert_eq!(check_https_url("https://").unwrap_err().0, Code::UrlInvalid);
/// ```
pub fn check_https_url(url: &str) -> Result<(), (Code, &'static str)> {
    const INVALID: &str = "Must be a full URL like https://example.com/page.";
    // Characters never outnumber bytes: count them only for a long URL.
    if url.len() > URL_MAX && url.chars().count() > URL_MAX {
        return Err((Code::TooLong, "Must be at most 2048 characters."));
    }
    // Compare bytes: slicing the str at 8 would panic when a multi-byte character straddles
    // that offset (found by fuzzing: "httpsé://...").
    // Eight bytes at once; or-ing 0x20 lowercases the five letters (and maps no other byte
    // onto a lowercase letter of "https").
    let scheme_ok = url.len() >= 8
        && bytes::word(url.as_bytes(), 0) | 0x0000_0020_2020_2020
            == u64::from_le_bytes(*b"https://");
    if !scheme_ok {
        return Err((Code::UrlNotHttps, "Must start with https://."));
    }
    let rest = &url[8..];
    let b = rest.as_bytes();
    // One pass for ASCII (nearly every URL), eight bytes at a time: whitespace and control
    // characters are the bytes up to space, and DEL; the authority ends at the first / ? or
    // #, and its '@' and first ':' are noted on the way. Other text asks each char.
    let (mut bad, mut authority_end, mut ascii) = (false, None, true);
    let (mut at, mut colon) = (false, None);
    let mut i = 0;
    while i + 8 <= b.len() {
        let w = bytes::word(b, i);
        if bytes::high(w) != 0 {
            ascii = false;
            break;
        }
        if bytes::below(w, 0x21) | bytes::eq(w, 0x7f) != 0 {
            bad = true;
            break;
        }
        if authority_end.is_none() {
            let end = bytes::eq(w, b'/') | bytes::eq(w, b'?') | bytes::eq(w, b'#');
            let limit = if end != 0 { bytes::first(end) } else { 8 };
            let m = bytes::eq(w, b'@');
            at |= m != 0 && bytes::first(m) < limit;
            let m = bytes::eq(w, b':');
            if colon.is_none() && m != 0 && bytes::first(m) < limit {
                colon = Some(i + bytes::first(m));
            }
            if end != 0 {
                authority_end = Some(i + limit);
            }
        }
        i += 8;
    }
    if ascii && !bad && authority_end.is_some() && i < b.len() && b.len() >= 8 {
        // Past the authority only non-ASCII and bad bytes matter: the last bytes as one word
        // that overlaps bytes already seen (they passed). A non-ASCII byte anywhere sends
        // the URL to the char-by-char pass below, as in the loop above.
        let w = bytes::word(b, b.len() - 8);
        if bytes::high(w) != 0 {
            ascii = false;
        } else if bytes::below(w, 0x21) | bytes::eq(w, 0x7f) != 0 {
            bad = true;
        }
    } else if ascii && !bad {
        for (i, &c) in b.iter().enumerate().skip(i) {
            if c >= 0x80 {
                ascii = false;
                break;
            }
            if c <= b' ' || c == 0x7f {
                bad = true;
                break;
            }
            if authority_end.is_none() {
                match c {
                    b'/' | b'?' | b'#' => authority_end = Some(i),
                    b'@' => at = true,
                    b':' if colon.is_none() => colon = Some(i),
                    _ => {}
                }
            }
        }
    }
    if !ascii {
        bad = rest.chars().any(|c| c.is_whitespace() || c.is_control());
        authority_end = rest.bytes().position(|b| matches!(b, b'/' | b'?' | b'#'));
        let authority = &b[..authority_end.unwrap_or(b.len())];
        at = authority.contains(&b'@');
        colon = authority.iter().position(|&c| c == b':');
    }
    if bad {
        return Err((
            Code::UrlInvalid,
            "Must not contain spaces or control characters.",
        ));
    }
    let authority_end = authority_end.unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if at {
        return Err((
            Code::UrlInvalid,
            "Must not contain a user name or password.",
        ));
    }
    let host = if authority.as_bytes().first() == Some(&b'[') {
        match authority[1..].split_once(']') {
            Some((addr, port)) if is_ipv6ish(addr) && is_port_suffix(port) => return Ok(()),
            _ => return Err((Code::UrlInvalid, INVALID)),
        }
    } else {
        match colon {
            Some(c) if is_port(&authority[c + 1..]) => &authority[..c],
            Some(_) => return Err((Code::UrlInvalid, INVALID)),
            None => authority,
        }
    };
    // (Byte tests: `strip_prefix`/`strip_suffix` with a char stayed calls in wasm.)
    let host = match host.as_bytes().last() {
        Some(b'.') => &host[..host.len() - 1],
        _ => host,
    };
    if !is_hostname(host) {
        return Err((Code::UrlInvalid, INVALID));
    }
    Ok(())
}

fn is_ipv6ish(addr: &str) -> bool {
    addr.contains(':')
        && addr
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// Empty, or `:` and a port.
fn is_port_suffix(s: &str) -> bool {
    match s.strip_prefix(':') {
        None => s.is_empty(),
        Some(p) => is_port(p),
    }
}

/// 1 to 5 digits, at most 65535.
fn is_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0')) <= 65535
}

/// Is `color` a hex color: `#` and 3 or 6 hex digits (`#f53`, `#ff5733`, any case)?
pub fn is_hex_color(color: &str) -> bool {
    color
        .strip_prefix('#')
        .is_some_and(|h| matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Is `tz` an IANA time zone name (`Europe/Paris`, `UTC`, or a link like `Europe/Kiev`)?
pub fn is_timezone(tz: &str) -> bool {
    // A hash table of where each line starts, built on first use: one probe and one compare,
    // where a binary search compared a line byte by byte at each step.
    let (list, tz) = (TIMEZONES.as_bytes(), tz.as_bytes());
    let table = tz_table();
    let mut slot = tz_hash(tz);
    loop {
        let Some(start) = usize::from(table[slot]).checked_sub(1) else {
            return false;
        };
        let end = start + tz.len();
        // The line is `tz` if `tz` is its text up to a line break or the end, and holds no
        // line break itself (which would span lines).
        if list
            .get(start..end)
            .is_some_and(|line| bytes::same(line, tz))
            && list.get(end).is_none_or(|&b| b == b'\n')
            && tz.iter().all(|&b| b != b'\n')
        {
            return true;
        }
        slot = (slot + 1) % TZ_SLOTS;
    }
}

/// Slots of the time zones' hash table: a power of two, under a third full.
const TZ_SLOTS: usize = 2048;
const _: () = assert!(TZ_LINES * 3 < TZ_SLOTS);

/// The slot a name's probe starts at: its first and last eight bytes (or its bytes, when
/// shorter) and its length, mixed by one multiplication.
#[inline]
fn tz_hash(tz: &[u8]) -> usize {
    let n = tz.len();
    let h = if n >= 8 {
        bytes::word(tz, 0) ^ bytes::word(tz, n - 8).rotate_left(29)
    } else {
        let mut h = 0u64;
        for &b in tz {
            h = h << 8 | u64::from(b);
        }
        h
    };
    ((h ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TZ_SLOTS.trailing_zeros()))
        as usize
}

/// Where each line of TIMEZONES starts, plus one (0 is an empty slot), at its hash's slot
/// or the next free one.
fn tz_table() -> &'static [u16; TZ_SLOTS] {
    static TABLE: OnceLock<[u16; TZ_SLOTS]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let list = TIMEZONES.as_bytes();
        let mut table = [0u16; TZ_SLOTS];
        let mut start = 0;
        for end in 0..=list.len() {
            if end < list.len() && list[end] != b'\n' {
                continue;
            }
            let mut slot = tz_hash(&list[start..end]);
            while table[slot] != 0 {
                slot = (slot + 1) % TZ_SLOTS;
            }
            table[slot] = start as u16 + 1;
            start = end + 1;
        }
        table
    })
}

/// How many names TIMEZONES holds.
const TZ_LINES: usize = {
    let list = TIMEZONES.as_bytes();
    // Offsets (plus one) are u16.
    assert!(list.len() < u16::MAX as usize);
    let (mut i, mut n) = (0, 1);
    while i < list.len() {
        if list[i] == b'\n' {
            n += 1;
        }
        i += 1;
    }
    n
};

/// Every IANA time zone name the rulebook accepts, sorted (for pickers).
pub fn timezones() -> &'static [&'static str] {
    static LIST: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| TIMEZONES.split('\n').collect());
    &LIST
}

/// [`timezones`] as one string, a name per line: what the wasm package hands to JS.
pub fn timezone_lines() -> &'static str {
    TIMEZONES
}

/// How a text field is checked.
#[derive(Clone, Copy)]
pub(crate) struct Text {
    pub max: usize,
    /// Descriptions and page content may hold line breaks and tabs; other fields may not.
    pub multiline: bool,
}

impl Text {
    pub const fn line(max: usize) -> Self {
        Text {
            max,
            multiline: false,
        }
    }
    pub const fn multiline(max: usize) -> Self {
        Text {
            max,
            multiline: true,
        }
    }
}

fn type_name<N: Node>(v: &N) -> &'static str {
    match v.kind() {
        Kind::Null => "null",
        Kind::Bool(_) => "a boolean",
        Kind::Int(_) | Kind::Float(_) => "a number",
        Kind::Str(_) => "a string",
        Kind::Array(_) => "an array",
        Kind::Object(_) => "an object",
    }
}

/// Path of `key` inside the object at `parent`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    // Without format!: its machinery was a fifth of an invalid payload's error reporting.
    let mut path = String::with_capacity(parent.len() + 1 + key.len());
    path.push_str(parent);
    if !parent.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    path
}

/// Path of item `i` of the array at `parent`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    // Without format!: this runs once per speaker, valid or not.
    let mut digits = [0u8; 20];
    let at = write_digits(&mut digits, i);
    let mut path = String::with_capacity(parent.len() + 2 + digits.len() - at);
    path.push_str(parent);
    path.push('[');
    path.extend(digits[at..].iter().map(|&d| char::from(d)));
    path.push(']');
    path
}

/// "Must be one of: A, B, C." (not generic, and without `format!` and `join`).
fn one_of(names: &mut dyn Iterator<Item = &str>) -> String {
    // Room for the usual lists at once (growing it was most of this function's time).
    let mut message = String::with_capacity(128);
    message.push_str("Must be one of: ");
    for (i, name) in names.enumerate() {
        if i > 0 {
            message.push_str(", ");
        }
        message.push_str(name);
    }
    message.push('.');
    message
}

/// Where the path `path` (its bytes) sits against `focus`: `Some(true)` at or under it,
/// `Some(false)` above it (`speakers` above `speakers[1].email`), `None` elsewhere.
fn relation(focus: &str, path: &[&[u8]]) -> Option<bool> {
    let focus = focus.as_bytes();
    let mut at = 0;
    for piece in path {
        for &b in *piece {
            match focus.get(at) {
                Some(&c) if c == b => at += 1,
                Some(_) => return None,
                None => return matches!(b, b'.' | b'[').then_some(true),
            }
        }
    }
    match focus.get(at) {
        None => Some(true),
        Some(b'.' | b'[') => Some(false),
        Some(_) => None,
    }
}

/// Writes `n` in decimal at the end of `digits`; returns where it starts.
fn write_digits(digits: &mut [u8; 20], mut n: usize) -> usize {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return at;
        }
    }
}

/// `str::trim`, answering at once for text that starts and ends with a visible ASCII
/// character (nearly all of it), where the Unicode whitespace test would run on both ends.
#[inline]
fn trim(s: &str) -> &str {
    let visible = |b: &u8| (0x21..0x7f).contains(b);
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if visible(first) && visible(last) => s,
        _ => s.trim(),
    }
}

/// Where a value sits, turned into its path string only when an error is reported: most
/// payloads are valid, and building a path per field was a large share of the work.
#[derive(Clone, Copy)]
pub(crate) enum At<'p> {
    /// Member `key` of the object at the path.
    Key(&'p str, &'p str),
    /// Item `i` of the array that is member `key` of the object at the path.
    Item(&'p str, &'p str, usize),
}

impl<'p> At<'p> {
    /// The path's text as up to six pieces (`parent` `.` `key` `[` `i` `]`), the index
    /// written into `digits`: compared with a focus without building the path.
    fn pieces<'d>(self, digits: &'d mut [u8; 20]) -> ([&'d [u8]; 6], usize)
    where
        'p: 'd,
    {
        let (parent, key) = match self {
            At::Key(parent, key) | At::Item(parent, key, _) => (parent, key),
        };
        let dot: &[u8] = if parent.is_empty() { b"" } else { b"." };
        let mut out = [parent.as_bytes(), dot, key.as_bytes(), b"", b"", b""];
        if let At::Item(_, _, i) = self {
            let at = write_digits(digits, i);
            out[3] = b"[";
            out[4] = &digits[at..];
            out[5] = b"]";
            return (out, 6);
        }
        (out, 3)
    }

    pub fn path(self) -> String {
        match self {
            At::Key(parent, key) => join(parent, key),
            At::Item(parent, key, i) => index(&join(parent, key), i),
        }
    }
}

/// Collects the errors of one payload. The checks work on any [`Node`] (serde_json's
/// `Value` or the borrowed tree of `doc`) and hand back the trimmed text borrowed from it.
/// At most [`ERRORS_MAX`] are kept, then one `too_many_errors` entry ends the list.
///
/// A checker may be focused on one path (`validate_field`): it then keeps only the errors at
/// or under that path, and drops the others before building their path or message.
#[derive(Default)]
pub(crate) struct Checker<'f> {
    pub errors: Vec<FieldError>,
    /// Borrowed: a keystroke's check makes no copy of its path.
    focus: Option<&'f str>,
}

impl<'f> Checker<'f> {
    /// A checker that keeps only the errors at or under `path` (`""` keeps all).
    pub fn focused(path: &'f str) -> Self {
        Checker {
            errors: Vec::new(),
            focus: (!path.is_empty()).then_some(path),
        }
    }

    /// Is there room for one more error? At the cap, ends the list with `too_many_errors`.
    /// (Not generic: one copy in the wasm package, the error built by the caller after.)
    fn room(&mut self) -> bool {
        match self.errors.len().cmp(&ERRORS_MAX) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => {
                self.errors.push(too_many_errors());
                false
            }
            std::cmp::Ordering::Greater => false,
        }
    }

    /// Can an error at or under `at` be kept, or can `at` lead to the focus (an ancestor of
    /// it)? False lets a payload skip work whose errors would all be dropped.
    pub fn reaches(&self, at: At<'_>) -> bool {
        self.focus.is_none() || self.relation(at).is_some()
    }

    /// [`relation`] of the path of `at` (only called with a focus).
    #[inline(never)]
    fn relation(&self, at: At<'_>) -> Option<bool> {
        let mut digits = [0u8; 20];
        let (pieces, n) = at.pieces(&mut digits);
        relation(self.focus.unwrap_or(""), &pieces[..n])
    }

    pub fn push(
        &mut self,
        field: impl Into<String> + AsRef<str>,
        code: Code,
        message: impl Into<String>,
    ) {
        let keep = match &self.focus {
            None => true,
            Some(focus) => relation(focus, &[field.as_ref().as_bytes()]) == Some(true),
        };
        if keep && self.room() {
            self.errors.push(FieldError::new(field, code, message));
        }
    }

    pub fn push_at(&mut self, at: At<'_>, code: Code, message: impl Into<String>) {
        // Off focus, nothing is built: neither the path nor the message.
        if (self.focus.is_none() || self.relation(at) == Some(true)) && self.room() {
            self.errors.push(FieldError::new(at.path(), code, message));
        }
    }

    /// The value as an object, or a `wrong_type` error at `path`.
    pub fn object<'v, N: Node>(&mut self, path: &str, v: &'v N) -> Option<&'v N::Object> {
        match v.kind() {
            Kind::Object(m) => Some(m),
            _ => {
                self.push(
                    path,
                    Code::WrongType,
                    format!("Must be an object, not {}.", type_name(v)),
                );
                None
            }
        }
    }

    /// Reports every key of `obj` that is not in `known`.
    pub fn unknown_fields<O: Object>(&mut self, path: &str, obj: &O, known: &[&str]) {
        // Payloads list their fields mostly in the rulebook's order: each search starts
        // after the previous match, so a known key is usually found at the first compare.
        let mut next = 0;
        let mut is_known = |key: &str| {
            let key = key.as_bytes();
            // The usual case first: the key the rulebook lists next.
            if next < known.len() && bytes::same(known[next].as_bytes(), key) {
                next += 1;
                return true;
            }
            let found = known[next..]
                .iter()
                .position(|k| bytes::same(k.as_bytes(), key))
                .map(|j| next + j)
                .or_else(|| {
                    known[..next]
                        .iter()
                        .position(|k| bytes::same(k.as_bytes(), key))
                });
            if let Some(j) = found {
                next = j + 1;
            }
            found.is_some()
        };
        // Sorted by key: the report must not depend on the map the caller parsed into
        // (the server's keeps document order, serde_json's default sorts).
        // Only the first keys in that order can still be listed (see `push`): keep the
        // smallest `room` of them, sorted, instead of sorting a hostile body's 100,000 keys.
        let room = (ERRORS_MAX + 1).saturating_sub(self.errors.len());
        let mut unknown: Vec<&str> = Vec::new();
        for key in obj.keys() {
            if is_known(key)
                || (unknown.len() == room && unknown.last().is_none_or(|last| key >= *last))
            {
                continue;
            }
            let at = unknown.binary_search(&key).unwrap_or_else(|at| at);
            unknown.insert(at, key);
            unknown.truncate(room);
        }
        for key in unknown {
            self.push_at(
                At::Key(path, key),
                Code::UnknownField,
                "Is not a known field.",
            );
        }
    }

    /// A value that is present and not null (null means "not given" for optional fields).
    fn present<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'v O::Node> {
        let v = given(obj, key);
        if v.is_none() && required {
            self.push_at(At::Key(path, key), Code::Required, "Is required.");
        }
        v
    }

    /// A text field, trimmed. Optional fields that are blank count as not given.
    pub fn text<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
        required: bool,
        spec: Text,
    ) -> Option<&'v str> {
        let v = self.present(obj, path, key, required)?;
        self.text_value(At::Key(path, key), v, required, spec)
    }

    pub fn text_value<'v, N: Node>(
        &mut self,
        at: At<'_>,
        v: &'v N,
        required: bool,
        spec: Text,
    ) -> Option<&'v str> {
        let Kind::Str(s) = v.kind() else {
            self.push_at(
                at,
                Code::WrongType,
                format!("Must be a string, not {}.", type_name(v)),
            );
            return None;
        };
        let s = trim(s);
        let bad = |c: char| c.is_control() && !(spec.multiline && matches!(c, '\n' | '\r' | '\t'));
        // One pass while the text is ASCII (nearly all text is): control characters there
        // are the bytes below space, and DEL. Other text goes by char.
        let ascii_bad = ascii_controls(s.as_bytes(), |b| bad(char::from(b)));
        if s.is_empty() || (ascii_bad.is_none() && s.chars().all(is_invisible)) {
            if required {
                self.push_at(at, Code::Blank, "Must not be empty.");
            }
            return None;
        }
        let (has_bad, chars) = match ascii_bad {
            Some(true) => (true, 0),
            Some(false) => (false, s.len()),
            None => (s.chars().any(bad), s.chars().count()),
        };
        if has_bad {
            self.push_at(
                at,
                Code::InvalidCharacters,
                "Must not contain control characters.",
            );
            return None;
        }
        if chars > spec.max {
            self.push_at(
                at,
                Code::TooLong,
                format!("Must be at most {} characters.", spec.max),
            );
            return None;
        }
        Some(s)
    }

    /// The value of a field whose own rule, when it passes, implies every text rule (a
    /// string, not blank, no control character, not too long): the trimmed string if
    /// `valid` accepts it. The checks below try it first and send anything else through
    /// `text` and their rule as before, so the errors are the same, in the same order; a
    /// valid value is scanned once instead of twice.
    #[inline]
    fn passing<N: Node>(v: &N, valid: impl Fn(&str) -> bool) -> Option<&str> {
        match v.kind() {
            Kind::Str(s) => Some(trim(s)).filter(|s| valid(s)),
            _ => None,
        }
    }

    pub fn email<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'v str> {
        // A valid address is ASCII atext, dots, host name bytes and one `@`, at most 254.
        let v = self.present(obj, path, key, required)?;
        if let Some(s) = Self::passing(v, |s| email_problem(s).is_none()) {
            return Some(s);
        }
        let s = self.text_value(At::Key(path, key), v, required, Text::line(EMAIL_MAX + 1))?;
        match email_problem(s) {
            None => Some(s),
            Some(msg) => {
                let code = if s.len() > EMAIL_MAX {
                    Code::TooLong
                } else {
                    Code::EmailInvalid
                };
                self.push_at(At::Key(path, key), code, msg);
                None
            }
        }
    }

    pub fn https_url<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'v str> {
        // A valid URL starts with https://, holds no whitespace or control character and
        // has at most URL_MAX characters.
        let v = self.present(obj, path, key, required)?;
        if let Some(s) = Self::passing(v, |s| check_https_url(s).is_ok()) {
            return Some(s);
        }
        let s = self.text_value(At::Key(path, key), v, required, Text::line(URL_MAX))?;
        match check_https_url(s) {
            Ok(()) => Some(s),
            Err((code, msg)) => {
                self.push_at(At::Key(path, key), code, msg);
                None
            }
        }
    }

    pub fn choice<O: Object, T: Copy>(
        &mut self,
        obj: &O,
        path: &str,
        key: &str,
        required: bool,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let find = |s: &str| {
            choices
                .iter()
                .find(|(name, _)| bytes::same(name.as_bytes(), s.as_bytes()))
        };
        // Every choice is short printable text.
        let v = self.present(obj, path, key, required)?;
        if let Some((_, t)) = Self::passing(v, |s| find(s).is_some()).and_then(find) {
            debug_assert!(choices.iter().all(
                |(n, _)| n.len() <= 64 && n.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            ));
            return Some(*t);
        }
        let s = self.text_value(At::Key(path, key), v, required, Text::line(64))?;
        match find(s) {
            Some((_, t)) => Some(*t),
            None => {
                let message = one_of(&mut choices.iter().map(|(n, _)| *n));
                self.push_at(At::Key(path, key), Code::InvalidChoice, message);
                None
            }
        }
    }

    pub fn timezone<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
    ) -> Option<&'v str> {
        // Every listed name is printable ASCII of at most 64 characters (a test checks).
        let v = self.present(obj, path, key, false)?;
        if let Some(s) = Self::passing(v, is_timezone) {
            return Some(s);
        }
        let s = self.text_value(At::Key(path, key), v, false, Text::line(64))?;
        if is_timezone(s) {
            Some(s)
        } else {
            self.push_at(
                At::Key(path, key),
                Code::TimezoneInvalid,
                "Must be an IANA time zone, like Europe/Paris.",
            );
            None
        }
    }

    pub fn color<'v, O: Object>(&mut self, obj: &'v O, path: &str, key: &str) -> Option<&'v str> {
        let s = self.text(obj, path, key, false, Text::line(7))?;
        if is_hex_color(s) {
            Some(s)
        } else {
            self.push_at(
                At::Key(path, key),
                Code::ColorInvalid,
                "Must be a hex color, like #ff5733.",
            );
            None
        }
    }

    pub fn username<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
    ) -> Option<&'v str> {
        // A valid username is 3 to 40 visible ASCII characters: it passes every text rule.
        let v = self.present(obj, path, key, false)?;
        if let Some(s) = Self::passing(v, crate::username::is_valid_username) {
            return Some(s);
        }
        let s = self.text_value(
            At::Key(path, key),
            v,
            false,
            Text::line(crate::username::USERNAME_MAX),
        )?;
        let problems = crate::username::check_username(s);
        if problems.is_empty() {
            Some(s)
        } else {
            for (code, msg) in problems {
                self.push_at(At::Key(path, key), code, msg);
            }
            None
        }
    }

    /// An optional boolean; `default` when not given.
    pub fn boolean<O: Object>(&mut self, obj: &O, path: &str, key: &str, default: bool) -> bool {
        match self.present(obj, path, key, false) {
            None => default,
            Some(v) => match v.kind() {
                Kind::Bool(b) => b,
                _ => {
                    self.push_at(
                        At::Key(path, key),
                        Code::WrongType,
                        format!("Must be true or false, not {}.", type_name(v)),
                    );
                    default
                }
            },
        }
    }

    /// A required whole number in `min..=max`. JSON has one number type, so `3.0` is 3.
    pub fn integer<O: Object>(
        &mut self,
        obj: &O,
        path: &str,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let v = self.present(obj, path, key, true)?;
        let range_msg = || format!("Must be a whole number from {min} to {max}.");
        let value = match v.kind() {
            Kind::Int(i) => i,
            Kind::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
            Kind::Float(f) if f.is_finite() && f.fract() == 0.0 => {
                self.push_at(At::Key(path, key), Code::OutOfRange, range_msg());
                return None;
            }
            Kind::Float(_) => {
                self.push_at(At::Key(path, key), Code::NotInteger, range_msg());
                return None;
            }
            _ => {
                self.push_at(
                    At::Key(path, key),
                    Code::WrongType,
                    format!("Must be a number, not {}.", type_name(v)),
                );
                return None;
            }
        };
        if (min..=max).contains(&value) {
            Some(value)
        } else {
            self.push_at(At::Key(path, key), Code::OutOfRange, range_msg());
            None
        }
    }

    /// Tags: an array of at most 50 non-blank strings of at most 50 characters, trimmed,
    /// duplicates (compared case-insensitively) kept once.
    pub fn tags<'v, O: Object>(&mut self, obj: &'v O, path: &str, key: &str) -> Vec<&'v str> {
        let Some(v) = self.present(obj, path, key, false) else {
            return Vec::new();
        };
        let Kind::Array(items) = v.kind() else {
            self.push_at(
                At::Key(path, key),
                Code::WrongType,
                format!("Must be an array of strings, not {}.", type_name(v)),
            );
            return Vec::new();
        };
        if items.len() > TAGS_MAX {
            self.push_at(
                At::Key(path, key),
                Code::TooLong,
                format!("Must have at most {TAGS_MAX} tags."),
            );
            return Vec::new();
        }
        let mut tags: Vec<&'v str> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let tag = self.text_value(At::Item(path, key, i), item, true, Text::line(TAG_MAX));
            if let Some(tag) = tag
                && !tags.iter().any(|t| same_tag(t, tag))
            {
                tags.push(tag);
            }
        }
        tags
    }
}

/// For ASCII text, whether a control byte (below space, or DEL) makes `bad` true; `None`
/// for text that is not all ASCII. Eight bytes at a time where none is a control byte.
#[inline]
fn ascii_controls(b: &[u8], bad: impl Fn(u8) -> bool) -> Option<bool> {
    let mut i = 0;
    let mut found = false;
    while i + 8 <= b.len() {
        let w = bytes::word(b, i);
        if bytes::high(w) != 0 {
            return None;
        }
        if bytes::below(w, 0x20) | bytes::eq(w, 0x7f) != 0 {
            // Tabs and line breaks may be allowed: look at each byte of this word.
            found |= b[i..i + 8]
                .iter()
                .any(|&c| (c < 0x20 || c == 0x7f) && bad(c));
        }
        i += 8;
    }
    if i < b.len() && b.len() >= 8 {
        // The last bytes as one word that overlaps bytes already seen (they passed).
        let at = b.len() - 8;
        let w = bytes::word(b, at);
        if bytes::high(w) != 0 {
            return None;
        }
        if bytes::below(w, 0x20) | bytes::eq(w, 0x7f) != 0 {
            found |= b[at..].iter().any(|&c| (c < 0x20 || c == 0x7f) && bad(c));
        }
        return Some(found);
    }
    for &c in &b[i..] {
        if c >= 0x80 {
            return None;
        }
        found |= (c < 0x20 || c == 0x7f) && bad(c);
    }
    Some(found)
}

/// Format characters that render as nothing (zero-width space and joiners, word joiner,
/// BOM, soft hyphen...): text made only of them is as blank as whitespace.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00ad}' | '\u{034f}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// The key two tags are compared and stored by: trimmed and lowercased, so `Mentor` and
/// `mentor ` are one tag. The server upserts tags on this key.
///
/// ```
/// assert_eq!(onboard_shared::normalize_tag(" Mentor "), "mentor");
/// assert_eq!(onboard_shared::normalize_tag("ÉQUIPE"), "équipe");
/// ```
pub fn normalize_tag(tag: &str) -> String {
    tag.trim().to_lowercase()
}

/// Tags compare by [`normalize_tag`] (inputs are already trimmed); ASCII pairs without allocating.
fn same_tag(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "jane.doe+x@sub.domain.com",
            "o'brien@x.ie",
            "x@xn--bcher-kva.de",
            "A@B.COM",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a..b@x.com",
            ".a@x.com",
            "a.@x.com",
            "a b@x.com",
            "a@-x.com",
            "a@x-.com",
            "a@x..com",
            "a@x.c",
            "a@x.123",
            "jane@bücher.de",
            "zoë@x.com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(!is_valid_email(&format!("{}@x.com", "a".repeat(65))));
        assert_eq!(normalize_email(" Jane@Domain.COM "), "jane@domain.com");
    }

    #[test]
    fn urls() {
        for ok in [
            "https://domain.com",
            "https://domain.com/image-link.jpg",
            "HTTPS://WWW.Example.com:8443/a?b=c#d",
            "https://www.linkedin.com/in/janedoe/",
            "https://www.youtube.com/@janedoe",
            "https://[::1]:8080/x",
            "https://example.com./x",
            "https://ex.com/é",
        ] {
            assert_eq!(check_https_url(ok), Ok(()), "{ok}");
        }
        for (bad, code) in [
            ("http://domain.com", Code::UrlNotHttps),
            ("ftp://domain.com", Code::UrlNotHttps),
            ("domain.com", Code::UrlNotHttps),
            ("javascript:alert(1)", Code::UrlNotHttps),
            ("https://", Code::UrlInvalid),
            ("https:///path", Code::UrlInvalid),
            ("https://a b.com", Code::UrlInvalid),
            ("https://user:pw@x.com", Code::UrlInvalid),
            ("https://x.com:99999", Code::UrlInvalid),
            ("https://x.com:", Code::UrlInvalid),
            ("https://bücher.de", Code::UrlInvalid),
            ("https://-x.com", Code::UrlInvalid),
            ("httpsé://x.com", Code::UrlNotHttps),
            ("htt€", Code::UrlNotHttps),
        ] {
            assert_eq!(check_https_url(bad).map_err(|e| e.0), Err(code), "{bad}");
        }
    }

    #[test]
    fn every_listed_timezone_is_found() {
        assert!(timezones().len() > 500);
        for tz in timezones() {
            assert!(is_timezone(tz), "{tz}");
            // Checker::timezone's fast path relies on this.
            assert!(
                tz.len() <= 64 && tz.bytes().all(|b| b.is_ascii_graphic()),
                "{tz}"
            );
        }
        // Every name cut short or made longer is found only if it is itself listed (the
        // hash table compares whole lines).
        let listed: std::collections::HashSet<&str> = timezones().iter().copied().collect();
        for tz in timezones() {
            for probe in [
                tz[..tz.len() - 1].to_string(),
                format!("{tz}x"),
                format!("{tz}\n"),
                format!("x{tz}"),
            ] {
                assert_eq!(
                    is_timezone(&probe),
                    listed.contains(probe.as_str()),
                    "{probe:?}"
                );
            }
        }
        for bad in [
            "Africa",
            "A",
            "Zz",
            "Zulu\n",
            "\nZulu",
            "Africa/Abidjan\nAfrica/Accra",
            "~",
        ] {
            assert!(!is_timezone(bad), "{bad:?}");
        }
    }

    #[test]
    fn colors_and_timezones() {
        assert!(is_hex_color("#ff5733") && is_hex_color("#F53"));
        assert!(!is_hex_color("ff5733") && !is_hex_color("#ff573") && !is_hex_color("#gggggg"));
        assert!(
            is_timezone("Europe/Paris")
                && is_timezone("UTC")
                && is_timezone("America/Argentina/Buenos_Aires")
        );
        assert!(!is_timezone("europe/paris") && !is_timezone("Mars/Olympus") && !is_timezone(""));
        assert!(
            timezones().windows(2).all(|w| w[0] < w[1]),
            "sorted, as pickers list them"
        );
    }
}
