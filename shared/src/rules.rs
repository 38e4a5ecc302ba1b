//! Field rules shared by every payload: text, e-mail, https URL, color, time zone, tags.
//!
//! [`Checker`] walks one JSON object, collects every problem with its path, and hands back
//! the cleaned value (trimmed text) when the field is fine, so a payload module reads as a
//! list of its fields.

use crate::error::{Code, ERRORS_MAX, FieldError, too_many_errors};
use crate::node::{Kind, Node, Object, given};
use crate::timezones::TIMEZONES;

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
    let (local, domain) = match email.split_once('@') {
        Some((l, d)) if !d.contains('@') => (l, d),
        _ => return Some(GENERIC),
    };
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b);
    if local.is_empty()
        || local.len() > 64
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
        || !local.bytes().all(|b| b == b'.' || atext(b))
    {
        return Some(GENERIC);
    }
    if !is_hostname(domain) || !domain.contains('.') {
        return Some(GENERIC);
    }
    let tld = domain.rsplit('.').next().unwrap_or("");
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
    // One pass over the bytes (this runs for every e-mail and URL).
    let bytes = host.as_bytes();
    if bytes.is_empty() || bytes.len() > 253 {
        return false;
    }
    let (mut label_len, mut prev) = (0usize, b'.');
    for &b in bytes {
        if b == b'.' {
            if label_len == 0 || prev == b'-' {
                return false;
            }
            label_len = 0;
        } else if b.is_ascii_alphanumeric() || b == b'-' {
            if label_len == 0 && b == b'-' {
                return false;
            }
            label_len += 1;
            if label_len > 63 {
                return false;
            }
        } else {
            return false;
        }
        prev = b;
    }
    label_len > 0 && prev != b'-'
}

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
    let scheme_ok = url
        .as_bytes()
        .get(..8)
        .is_some_and(|b| b.eq_ignore_ascii_case(b"https://"));
    if !scheme_ok {
        return Err((Code::UrlNotHttps, "Must start with https://."));
    }
    let rest = &url[8..];
    // One pass for ASCII (nearly every URL): whitespace and control characters are the
    // bytes up to space, and DEL, and the authority ends at the first / ? or #. Other text
    // asks each char.
    let (mut bad, mut authority_end, mut ascii) = (false, None, true);
    for (i, &b) in rest.as_bytes().iter().enumerate() {
        if b >= 0x80 {
            ascii = false;
            break;
        }
        if b <= b' ' || b == 0x7f {
            bad = true;
            break;
        }
        if authority_end.is_none() && matches!(b, b'/' | b'?' | b'#') {
            authority_end = Some(i);
        }
    }
    if !ascii {
        bad = rest.chars().any(|c| c.is_whitespace() || c.is_control());
        authority_end = rest.bytes().position(|b| matches!(b, b'/' | b'?' | b'#'));
    }
    if bad {
        return Err((
            Code::UrlInvalid,
            "Must not contain spaces or control characters.",
        ));
    }
    let authority_end = authority_end.unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Err((
            Code::UrlInvalid,
            "Must not contain a user name or password.",
        ));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, port)) if is_ipv6ish(addr) && is_port_suffix(port) => return Ok(()),
            _ => return Err((Code::UrlInvalid, INVALID)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) if is_port(port) => host,
            Some(_) => return Err((Code::UrlInvalid, INVALID)),
            None => authority,
        }
    };
    if !is_hostname(host.strip_suffix('.').unwrap_or(host)) {
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
        && p.parse::<u32>().is_ok_and(|n| n <= 65535)
}

/// Is `color` a hex color: `#` and 3 or 6 hex digits (`#f53`, `#ff5733`, any case)?
pub fn is_hex_color(color: &str) -> bool {
    color
        .strip_prefix('#')
        .is_some_and(|h| matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Is `tz` an IANA time zone name (`Europe/Paris`, `UTC`, or a link like `Europe/Kiev`)?
pub fn is_timezone(tz: &str) -> bool {
    // Binary search over the sorted lines of TIMEZONES, by byte offset.
    let list = TIMEZONES.as_bytes();
    let (mut lo, mut hi) = (0, list.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mut start = mid;
        while start > 0 && list[start - 1] != b'\n' {
            start -= 1;
        }
        let mut end = mid;
        while end < list.len() && list[end] != b'\n' {
            end += 1;
        }
        match list[start..end].cmp(tz.as_bytes()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

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
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Path of item `i` of the array at `parent`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    // Without format!: this runs once per speaker, valid or not.
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut path = String::with_capacity(parent.len() + 2 + digits.len() - at);
    path.push_str(parent);
    path.push('[');
    path.extend(digits[at..].iter().map(|&d| char::from(d)));
    path.push(']');
    path
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

impl At<'_> {
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
#[derive(Default)]
pub(crate) struct Checker {
    pub errors: Vec<FieldError>,
}

impl Checker {
    pub fn push(&mut self, field: impl Into<String>, code: Code, message: impl Into<String>) {
        match self.errors.len().cmp(&ERRORS_MAX) {
            std::cmp::Ordering::Less => self.errors.push(FieldError::new(field, code, message)),
            std::cmp::Ordering::Equal => self.errors.push(too_many_errors()),
            std::cmp::Ordering::Greater => {}
        }
    }

    fn push_at(&mut self, at: At<'_>, code: Code, message: impl Into<String>) {
        self.push(at.path(), code, message);
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
        let is_known = |key: &str| {
            known
                .iter()
                .any(|k| k.len() == key.len() && k.as_bytes() == key.as_bytes())
        };
        // Sorted by key: the report must not depend on the map the caller parsed into
        // (the server's keeps document order, serde_json's default sorts).
        // Only the first keys in that order can still be listed (see `push`): keep the
        // smallest `room` of them, sorted, instead of sorting a hostile body's 100,000 keys.
        let room = (ERRORS_MAX + 1).saturating_sub(self.errors.len());
        let mut unknown: Vec<&str> = Vec::new();
        for key in obj.keys().filter(|key| !is_known(key)) {
            if unknown.len() == room && unknown.last().is_none_or(|last| key >= *last) {
                continue;
            }
            let at = unknown.binary_search(&key).unwrap_or_else(|at| at);
            unknown.insert(at, key);
            unknown.truncate(room);
        }
        for key in unknown {
            self.push(join(path, key), Code::UnknownField, "Is not a known field.");
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
            self.push(join(path, key), Code::Required, "Is required.");
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
        if s.is_empty() || (!s.is_ascii() && s.chars().all(is_invisible)) {
            if required {
                self.push_at(at, Code::Blank, "Must not be empty.");
            }
            return None;
        }
        // One pass over the bytes while they are ASCII (nearly all text is): control
        // characters there are the bytes below space, and DEL. Other text goes by char.
        let bad = |c: char| c.is_control() && !(spec.multiline && matches!(c, '\n' | '\r' | '\t'));
        let mut ascii_bad = None;
        for &b in s.as_bytes() {
            if b >= 0x80 {
                ascii_bad = None;
                break;
            }
            if (b < 0x20 || b == 0x7f) && bad(char::from(b)) {
                ascii_bad = Some(true);
                break;
            }
            ascii_bad = Some(false);
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

    pub fn email<'v, O: Object>(
        &mut self,
        obj: &'v O,
        path: &str,
        key: &str,
        required: bool,
    ) -> Option<&'v str> {
        let s = self.text(obj, path, key, required, Text::line(EMAIL_MAX + 1))?;
        match email_problem(s) {
            None => Some(s),
            Some(msg) => {
                let code = if s.len() > EMAIL_MAX {
                    Code::TooLong
                } else {
                    Code::EmailInvalid
                };
                self.push(join(path, key), code, msg);
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
        let s = self.text(obj, path, key, required, Text::line(URL_MAX))?;
        match check_https_url(s) {
            Ok(()) => Some(s),
            Err((code, msg)) => {
                self.push(join(path, key), code, msg);
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
        let s = self.text(obj, path, key, required, Text::line(64))?;
        match choices.iter().find(|(name, _)| *name == s) {
            Some((_, t)) => Some(*t),
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.push(
                    join(path, key),
                    Code::InvalidChoice,
                    format!("Must be one of: {}.", names.join(", ")),
                );
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
        let s = self.text(obj, path, key, false, Text::line(64))?;
        if is_timezone(s) {
            Some(s)
        } else {
            self.push(
                join(path, key),
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
            self.push(
                join(path, key),
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
        let s = self.text(
            obj,
            path,
            key,
            false,
            Text::line(crate::username::USERNAME_MAX),
        )?;
        let problems = crate::username::check_username(s);
        if problems.is_empty() {
            Some(s)
        } else {
            let field = join(path, key);
            for (code, msg) in problems {
                self.push(field.as_str(), code, msg);
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
                    self.push(
                        join(path, key),
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
                self.push(join(path, key), Code::OutOfRange, range_msg());
                return None;
            }
            Kind::Float(_) => {
                self.push(join(path, key), Code::NotInteger, range_msg());
                return None;
            }
            _ => {
                self.push(
                    join(path, key),
                    Code::WrongType,
                    format!("Must be a number, not {}.", type_name(v)),
                );
                return None;
            }
        };
        if (min..=max).contains(&value) {
            Some(value)
        } else {
            self.push(join(path, key), Code::OutOfRange, range_msg());
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
            self.push(
                join(path, key),
                Code::WrongType,
                format!("Must be an array of strings, not {}.", type_name(v)),
            );
            return Vec::new();
        };
        if items.len() > TAGS_MAX {
            self.push(
                join(path, key),
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
            "sorted for binary search"
        );
    }
}
