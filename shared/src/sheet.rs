//! Spreadsheets of people: which field each column holds, and each row as the JSON payload
//! of `POST /v1/users`. `onboard import` calls this natively and the page's Import tab
//! through the npm package (`mapHeaders`, `rowsToUsers`), so a file gives the same payloads
//! in both. No rule is checked here: [`crate::check_users`] does that on the payloads.
//!
//! A cell becomes a value by its field's [`FieldKind`]: text as written (trimmed), tags
//! split on `;` `,` `|`, yes/no words as booleans ([`crate::yes_no`]; other words stay text
//! for the rulebook to refuse), a full name split into first and last name
//! ([`crate::split_full_name`]). Empty cells are left out. A cell written by
//! [`crate::csv_safe_cell`] (`'=1+1`) is read through [`crate::csv_cell_value`] first.

use crate::catalogue::{FIELDS, Field, FieldKind, field, field_for_header, header_key};
use crate::csv::csv_cell_value;
use crate::doc::Json;
use crate::node::{Kind, Node, Object};
use crate::rules::check_https_url;
use serde_json::{Map, Value};

/// The field path each column header means (`email`, `socials.linkedin`, `fullName`), or
/// `None` for a column that is ignored: an unknown header, a second column for a field an
/// earlier column already fills, or a full-name column when the sheet has a first-name or
/// last-name column of its own.
///
/// ```
/// use onboard_shared::map_headers;
/// assert_eq!(
///     map_headers(&["E-mail", "Prénom", "Nom", "T-shirt", "Courriel"]),
///     [Some("email"), Some("firstName"), Some("lastName"), None, None]
/// );
/// assert_eq!(map_headers(&["Full name", "Email"]), [Some("fullName"), Some("email")]);
/// ```
pub fn map_headers<S: AsRef<str>>(headers: &[S]) -> Vec<Option<&'static str>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut map: Vec<Option<&'static str>> = headers
        .iter()
        .map(|h| {
            let f = field_for_header(h.as_ref())?;
            if seen.contains(&f.path) {
                return None;
            }
            seen.push(f.path);
            Some(f.path)
        })
        .collect();
    if seen.contains(&"firstName") || seen.contains(&"lastName") {
        for m in &mut map {
            if *m == Some("fullName") {
                *m = None;
            }
        }
    }
    map
}

/// How [`sheet_rows`] reads a sheet beyond its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetOptions {
    /// The field path of each column (`None` = ignored), chosen by a person; when absent,
    /// [`map_headers`] decides. Each path must be a catalogue field's.
    pub columns: Option<Vec<Option<String>>>,
    /// Values for fields a row leaves empty (`type` → `Attendee`), by field path.
    pub defaults: Vec<(String, String)>,
    /// Cell values of the column mapped to `type` and the type each means (`Speaker Pass` →
    /// `Speaker`), compared as [`header_key`] folds them.
    pub type_values: Vec<(String, String)>,
    /// The type of a non-empty `type` cell that is not in `type_values` (when set).
    pub other_type: Option<String>,
}

/// A cell's value in a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellValue {
    Text(String),
    Flag(bool),
    Tags(Vec<String>),
}

/// One data row as a payload: its fields in the catalogue's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetRow {
    /// (field path, value); paths are the catalogue's (`socials.twitter` nests).
    pub fields: Vec<(&'static str, CellValue)>,
    /// Whether a full-name cell filled `firstName` or `lastName`.
    pub split_name: bool,
}

impl SheetRow {
    /// The value of a field, if the row has one.
    pub fn get(&self, path: &str) -> Option<&CellValue> {
        self.fields.iter().find(|(p, _)| *p == path).map(|(_, v)| v)
    }

    /// The payload as a JSON value (`socials.*` and `options.*` nested).
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        for (path, v) in &self.fields {
            let v = match v {
                CellValue::Text(s) => Value::String(s.clone()),
                CellValue::Flag(b) => Value::Bool(*b),
                CellValue::Tags(t) => Value::Array(t.iter().cloned().map(Value::String).collect()),
            };
            match path.split_once('.') {
                Some((parent, key)) => {
                    let inner = out
                        .entry(parent)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = inner {
                        m.insert(key.to_string(), v);
                    }
                }
                None => {
                    out.insert((*path).to_string(), v);
                }
            }
        }
        Value::Object(out)
    }

    /// The payload as JSON text, the same document as [`SheetRow::to_value`] (written
    /// directly: the wasm package has no serde_json).
    pub fn write_json(&self, out: &mut String) {
        // Fields come in the catalogue's order, so a parent's (`socials.*`) are adjacent.
        out.push('{');
        let mut i = 0;
        while i < self.fields.len() {
            if i > 0 {
                out.push(',');
            }
            let (path, v) = &self.fields[i];
            let Some((parent, _)) = path.split_once('.') else {
                push_json_str(out, path);
                out.push(':');
                write_cell(out, v);
                i += 1;
                continue;
            };
            push_json_str(out, parent);
            out.push_str(":{");
            let mut first = true;
            while let Some((path, v)) = self.fields.get(i) {
                let Some(key) = path
                    .strip_prefix(parent)
                    .and_then(|rest| rest.strip_prefix('.'))
                else {
                    break;
                };
                if !first {
                    out.push(',');
                }
                first = false;
                push_json_str(out, key);
                out.push(':');
                write_cell(out, v);
                i += 1;
            }
            out.push('}');
        }
        out.push('}');
    }
}

fn write_cell(out: &mut String, v: &CellValue) {
    match v {
        CellValue::Text(s) => push_json_str(out, s),
        CellValue::Flag(b) => out.push_str(if *b { "true" } else { "false" }),
        CellValue::Tags(tags) => {
            out.push('[');
            for (i, t) in tags.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_str(out, t);
            }
            out.push(']');
        }
    }
}

/// Appends `s` as a JSON string.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Each data row of a sheet as a payload. `rows` hold cell text; a row may be shorter than
/// the header (missing cells are empty) or longer (extra cells are not read). Fails only
/// when `options.columns` names a field the catalogue does not have.
///
/// A cell is read through [`csv_cell_value`](crate::csv_cell_value): the `'` that
/// [`csv_safe_cell`](crate::csv_safe_cell) puts before a would-be formula in the files the
/// product writes is taken off, so an exported file imports to what was exported.
///
/// ```
/// use onboard_shared::{sheet_rows, CellValue, SheetOptions};
/// let rows = sheet_rows(&["Email", "Job"], &[["'-a@b.co", "'=Boss"]], &SheetOptions::default()).unwrap();
/// assert_eq!(rows[0].get("job"), Some(&CellValue::Text("=Boss".into())));
/// assert_eq!(rows[0].get("email"), Some(&CellValue::Text("-a@b.co".into())));
/// ```
pub fn sheet_rows<R, S>(
    headers: &[S],
    rows: &[R],
    options: &SheetOptions,
) -> Result<Vec<SheetRow>, String>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    let headers: Vec<&str> = headers.iter().map(AsRef::as_ref).collect();
    let mut cells: Vec<Vec<&str>> = Vec::with_capacity(rows.len());
    for row in rows {
        cells.push(row.as_ref().iter().map(AsRef::as_ref).collect());
    }
    rows_of(&headers, &cells, options)
}

// Written as plain loops over `&str`s, one copy for every caller: iterator chains and
// generics cost several kilobytes of the wasm package here.
fn rows_of(
    headers: &[&str],
    rows: &[Vec<&str>],
    options: &SheetOptions,
) -> Result<Vec<SheetRow>, String> {
    let mut columns: Vec<Option<&'static Field>> = Vec::with_capacity(headers.len());
    match &options.columns {
        Some(chosen) => {
            for p in chosen {
                columns.push(match p.as_deref() {
                    None | Some("") => None,
                    Some(p) => Some(field(p).ok_or_else(|| unknown_field(p))?),
                });
            }
        }
        None => {
            for p in map_headers(headers) {
                columns.push(p.and_then(field));
            }
        }
    }
    let mut defaults: Vec<(&'static Field, &str)> = Vec::new();
    for (p, v) in &options.defaults {
        match field(p) {
            Some(f) if f.kind != FieldKind::FullName => defaults.push((f, v)),
            _ => return Err(unknown_field(p)),
        }
    }
    let mut type_values: Vec<(String, &str)> = Vec::new();
    for (k, v) in &options.type_values {
        type_values.push((header_key(k), v));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(sheet_row(
            row,
            &columns,
            &defaults,
            &type_values,
            options.other_type.as_deref(),
        ));
    }
    Ok(out)
}

fn unknown_field(path: &str) -> String {
    let mut m = String::from("\"");
    m.push_str(path);
    m.push_str("\" is not a field; the fields are: ");
    for (i, f) in FIELDS.iter().enumerate() {
        if i > 0 {
            m.push_str(", ");
        }
        m.push_str(f.path);
    }
    m
}

fn sheet_row(
    cells: &[&str],
    columns: &[Option<&'static Field>],
    defaults: &[(&'static Field, &str)],
    type_values: &[(String, &str)],
    other_type: Option<&str>,
) -> SheetRow {
    // Indexed by catalogue position, so the payload lists fields in the rulebook's order.
    let mut slots: Vec<Option<CellValue>> = Vec::with_capacity(FIELDS.len());
    for _ in FIELDS {
        slots.push(None);
    }
    let mut full_name: Option<&str> = None;
    for (i, f) in columns.iter().enumerate() {
        let (Some(f), Some(cell)) = (f, cells.get(i)) else {
            continue;
        };
        // A cell the product wrote (an export, a results file) may carry the `'` that keeps
        // a spreadsheet from running it as a formula: the value is what follows.
        let cell = csv_cell_value(cell.trim()).trim();
        if cell.is_empty() {
            continue;
        }
        let value = match f.kind {
            FieldKind::FullName => {
                full_name = Some(cell);
                continue;
            }
            FieldKind::Tags => {
                let mut tags = Vec::new();
                for t in cell.split([';', ',', '|']) {
                    let t = t.trim();
                    if !t.is_empty() {
                        tags.push(t.to_string());
                    }
                }
                CellValue::Tags(tags)
            }
            FieldKind::Flag => match crate::catalogue::yes_no(cell) {
                Some(b) => CellValue::Flag(b),
                None => CellValue::Text(cell.to_string()),
            },
            _ if f.path == "type" && (!type_values.is_empty() || other_type.is_some()) => {
                let key = header_key(cell);
                let mut mapped = other_type;
                for (k, v) in type_values {
                    if *k == key {
                        mapped = Some(v);
                        break;
                    }
                }
                CellValue::Text(mapped.unwrap_or(cell).to_string())
            }
            _ => CellValue::Text(cell.to_string()),
        };
        slots[index_of(f)] = Some(value);
    }
    let mut split_name = false;
    if let Some(name) = full_name {
        let (first, last) = crate::catalogue::split_full_name(name);
        for (path, part) in [("firstName", first), ("lastName", last)] {
            let slot = &mut slots[index_of_path(path)];
            if slot.is_none() && !part.is_empty() {
                *slot = Some(CellValue::Text(part.to_string()));
                split_name = true;
            }
        }
    }
    for (f, v) in defaults {
        let slot = &mut slots[index_of(f)];
        if slot.is_none() && !v.trim().is_empty() {
            *slot = Some(CellValue::Text(v.trim().to_string()));
        }
    }
    let mut fields = Vec::new();
    for (f, v) in FIELDS.iter().zip(slots) {
        if let Some(v) = v {
            fields.push((f.path, v));
        }
    }
    SheetRow { fields, split_name }
}

fn index_of_path(path: &str) -> usize {
    FIELDS.iter().position(|g| g.path == path).unwrap_or(0)
}

fn index_of(f: &Field) -> usize {
    index_of_path(f.path)
}

/// Each data row as a user payload (see [`sheet_rows`]), ready for [`crate::check_users`].
///
/// ```
/// use onboard_shared::{rows_to_users, SheetOptions};
/// use serde_json::json;
/// let options = SheetOptions { defaults: vec![("type".into(), "Attendee".into())], ..Default::default() };
/// let users = rows_to_users(&["Name", "E-mail", "Tags"], &[["Doe, Jane", "jane@example.com", "VIP; Host"]], &options).unwrap();
/// assert_eq!(users[0], json!({"email": "jane@example.com", "type": "Attendee",
///     "firstName": "Jane", "lastName": "Doe", "tags": ["VIP", "Host"]}));
/// ```
pub fn rows_to_users<R, S>(
    headers: &[S],
    rows: &[R],
    options: &SheetOptions,
) -> Result<Vec<Value>, String>
where
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    Ok(sheet_rows(headers, rows, options)?
        .iter()
        .map(SheetRow::to_value)
        .collect())
}

/// A correction to offer for a URL cell the rules refuse, when its intent is plain: a bare
/// host (`linkedin.com/in/ada` → `https://linkedin.com/in/ada`), `http://` for `https://`,
/// or a `@handle` in the Twitter column (`@ada` → `https://twitter.com/ada`). `None` when the
/// value is fine as it is, or no obvious https URL was meant. Never applied silently: the
/// page and `onboard import` offer it.
///
/// ```
/// use onboard_shared::suggest_url;
/// assert_eq!(suggest_url("socials.linkedin", "linkedin.com/in/ada").as_deref(), Some("https://linkedin.com/in/ada"));
/// assert_eq!(suggest_url("socials.twitter", "@ada").as_deref(), Some("https://twitter.com/ada"));
/// assert_eq!(suggest_url("website", "https://ada.dev"), None);
/// assert_eq!(suggest_url("website", "ask me"), None);
/// ```
pub fn suggest_url(field_path: &str, value: &str) -> Option<String> {
    let f = field(field_path).filter(|f| f.kind == FieldKind::Url)?;
    let value = value.trim();
    if value.is_empty() || check_https_url(value).is_ok() {
        return None;
    }
    let suggestion = if let Some(handle) = value.strip_prefix('@') {
        let ok = (1..=15).contains(&handle.len())
            && handle
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match f.path {
            "socials.twitter" if ok => ["https://twitter.com/", handle].concat(),
            _ => return None,
        }
    } else if value.len() > 7 && value.as_bytes()[..7].eq_ignore_ascii_case(b"http://") {
        ["https://", &value[7..]].concat()
    } else if !value.contains("://") && !value.starts_with('/') {
        // A bare host: its first label must be a host name's, with a dot before any path.
        let host = value.split(['/', '?', '#']).next().unwrap_or("");
        if !host.contains('.') {
            return None;
        }
        ["https://", value].concat()
    } else {
        return None;
    };
    check_https_url(&suggestion).is_ok().then_some(suggestion)
}

// ---- The JSON-text entry points of the npm package (`mapHeaders`, `rowsToUsers`). ----

/// [`map_headers`] from and to JSON text: an array of strings in, an array of field paths
/// and `null`s out.
pub fn map_headers_json(headers: &str) -> Result<String, String> {
    let doc = parse(headers)?;
    let headers = strings(&doc, "headers")?;
    let mut out = String::from("[");
    for (i, m) in map_headers(&headers).into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match m {
            Some(p) => push_json_str(&mut out, p),
            None => out.push_str("null"),
        }
    }
    out.push(']');
    Ok(out)
}

/// [`sheet_rows`] from JSON text: `headers` an array of strings, `rows` an array of arrays
/// of strings, `defaults` an object of field path → string, `options` an object with
/// `columns` (array of paths or nulls), `typeValues` (object of cell value → type) and
/// `otherType`. Answers the payloads as a JSON array.
pub fn rows_to_users_json(
    headers: &str,
    rows: &str,
    defaults: Option<&str>,
    options: Option<&str>,
) -> Result<String, String> {
    let headers_doc = parse(headers)?;
    let headers = strings(&headers_doc, "headers")?;
    let rows_doc = parse(rows)?;
    let Kind::Array(items) = rows_doc.kind() else {
        return Err("rows must be an array of arrays of strings".into());
    };
    let mut rows: Vec<Vec<&str>> = Vec::with_capacity(items.len());
    for r in items {
        rows.push(strings(r, "each row")?);
    }
    let mut opts = SheetOptions::default();
    if let Some(d) = defaults {
        opts.defaults = string_members(&parse(d)?, "defaults")?;
    }
    if let Some(o) = options {
        let doc = parse(o)?;
        let obj = match doc.kind() {
            Kind::Object(obj) => obj,
            Kind::Null => return finish(&headers, &rows, &opts),
            _ => return Err("options must be an object".into()),
        };
        if let Some(c) = crate::node::given(obj, "columns") {
            let Kind::Array(cols) = c.kind() else {
                return Err("options.columns must be an array of field paths or nulls".into());
            };
            let mut chosen = Vec::with_capacity(cols.len());
            for c in cols {
                chosen.push(match c.kind() {
                    Kind::Str(s) => Some(s.to_string()),
                    Kind::Null => None,
                    _ => {
                        return Err(
                            "options.columns must be an array of field paths or nulls".into()
                        );
                    }
                });
            }
            opts.columns = Some(chosen);
        }
        if let Some(t) = crate::node::given(obj, "typeValues") {
            opts.type_values = string_members(t, "options.typeValues")?;
        }
        if let Some(t) = crate::node::given(obj, "otherType") {
            match t.kind() {
                Kind::Str(s) => opts.other_type = Some(s.to_string()),
                _ => return Err("options.otherType must be a string".into()),
            }
        }
    }
    finish(&headers, &rows, &opts)
}

fn parse(text: &str) -> Result<Json<'_>, String> {
    crate::parse_doc(text).map_err(|e| e.to_string())
}

fn finish(headers: &[&str], rows: &[Vec<&str>], opts: &SheetOptions) -> Result<String, String> {
    let mut out = String::from("[");
    for (i, row) in rows_of(headers, rows, opts)?.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        row.write_json(&mut out);
    }
    out.push(']');
    Ok(out)
}

fn strings<'d>(doc: &'d Json<'_>, what: &str) -> Result<Vec<&'d str>, String> {
    let Kind::Array(items) = doc.kind() else {
        return Err(must_be(what, "an array of strings"));
    };
    let mut out = Vec::with_capacity(items.len());
    for v in items {
        out.push(match v.kind() {
            Kind::Str(s) => s,
            Kind::Null => "",
            _ => return Err(must_be(what, "an array of strings")),
        });
    }
    Ok(out)
}

fn must_be(what: &str, shape: &str) -> String {
    let mut m = String::from(what);
    m.push_str(" must be ");
    m.push_str(shape);
    m
}

fn string_members(doc: &Json<'_>, what: &str) -> Result<Vec<(String, String)>, String> {
    let Kind::Object(obj) = doc.kind() else {
        return Err(must_be(what, "an object of strings"));
    };
    let mut out = Vec::new();
    for k in obj.keys() {
        let v = match obj.get(k).map(Node::kind) {
            Some(Kind::Str(s)) => s.to_string(),
            Some(Kind::Null) => String::new(),
            _ => return Err(must_be(what, "an object of strings")),
        };
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// The catalogue as JSON text for the package's `fieldCatalogue()`: each field's path,
/// label, header, kind, limit and whether it is required.
pub fn field_catalogue_json() -> String {
    let mut out = String::from("[");
    for (i, f) in FIELDS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"path\":");
        push_json_str(&mut out, f.path);
        out.push_str(",\"label\":");
        push_json_str(&mut out, f.label);
        out.push_str(",\"header\":");
        push_json_str(&mut out, f.header);
        out.push_str(",\"kind\":");
        push_json_str(&mut out, kind_name(f.kind));
        out.push_str(",\"required\":");
        out.push_str(if f.required { "true" } else { "false" });
        out.push_str(",\"max\":");
        match f.max {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("null"),
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// A kind's name in the package (`FieldKind` in its TypeScript).
pub fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Email => "email",
        FieldKind::Choice => "choice",
        FieldKind::Line => "line",
        FieldKind::Multiline => "multiline",
        FieldKind::Username => "username",
        FieldKind::Url => "url",
        FieldKind::Tags => "tags",
        FieldKind::Timezone => "timezone",
        FieldKind::Flag => "flag",
        FieldKind::FullName => "fullName",
    }
}
