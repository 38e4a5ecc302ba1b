//! Reading an attendee or speaker spreadsheet: the bytes as UTF-8, or as Windows-1252 when
//! they are not (what a spreadsheet's plain "CSV" export writes; the page reads files the
//! same way), a byte-order mark dropped, the separator detected (`,`, `;` or tab), then the
//! rulebook's field catalogue maps the headers and turns each row into the JSON payload of
//! `POST /v1/users` ([`onboard_shared::sheet_rows`], the functions the page calls through
//! the npm package). No rule is checked here: the rulebook does that on the payloads.

use onboard_shared::{Code, FieldError, SheetOptions, SheetRow, field, header_key, map_headers};
use serde_json::Value;

/// How the columns are read beyond their headers (the command line's `--map`,
/// `--type-from`, `--speaker-value` and `--type`).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// (header, field path or "" to ignore), applied over the automatic mapping.
    pub columns: Vec<(String, String)>,
    /// The column whose values say each row's type.
    pub type_from: Option<String>,
    /// Values of the type column that mean Speaker; every other value then means Attendee.
    pub speaker_values: Vec<String>,
    /// The type of rows whose type cell is empty or absent.
    pub default_type: String,
}

/// One data row: its spreadsheet row number (the header is row 1), the payload built
/// from it, and problems found before any rule ran.
pub struct CsvRow {
    pub row: usize,
    pub sheet: SheetRow,
    pub payload: Value,
    pub local_errors: Vec<FieldError>,
    /// The payload's `type` is the `--type` default: the row has no type cell. A new user
    /// needs it; an existing user's type must not be overwritten by it.
    pub type_defaulted: bool,
}

impl CsvRow {
    /// The payload without what the row does not say itself (the default type): what an
    /// update of an existing user is made of.
    pub fn own_payload(&self) -> Value {
        let mut payload = self.payload.clone();
        if self.type_defaulted
            && let Some(fields) = payload.as_object_mut()
        {
            fields.remove("type");
        }
        payload
    }
}

pub struct CsvFile {
    pub rows: Vec<CsvRow>,
    pub delimiter: char,
    /// "UTF-8" or "Windows-1252".
    pub encoding: &'static str,
    pub headers: Vec<String>,
    /// The field of each column (`None` = ignored).
    pub columns: Vec<Option<&'static str>>,
    /// Why each ignored column with a header is ignored: (header, reason).
    pub ignored: Vec<(String, String)>,
}

impl CsvFile {
    /// (header, field) of every column read.
    pub fn mapped(&self) -> Vec<(&str, &'static str)> {
        self.headers
            .iter()
            .zip(&self.columns)
            .filter_map(|(h, c)| Some((h.as_str(), (*c)?)))
            .collect()
    }
}

/// The text of a file: UTF-8 when the bytes are, else Windows-1252 (as the WHATWG decoder
/// browsers use reads it: 0x80-0x9F are the typographic marks, bytes that name nothing
/// there stay C1 controls). Answers the encoding's name too.
pub fn decode(bytes: Vec<u8>) -> (String, &'static str) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, "UTF-8"),
        Err(e) => {
            const HIGH: [char; 32] = [
                '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}',
                '\u{2021}', '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}',
                '\u{17d}', '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}',
                '\u{2022}', '\u{2013}', '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}',
                '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
            ];
            let text = e
                .into_bytes()
                .into_iter()
                .map(|b| match b {
                    0x80..=0x9f => HIGH[usize::from(b - 0x80)],
                    _ => char::from(b),
                })
                .collect();
            (text, "Windows-1252")
        }
    }
}

/// The separator of the header line: the most frequent of `,` `;` and tab outside quotes.
fn detect_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in first.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    // Ties (no separator at all: a one-column file) keep the comma.
    counts
        .iter()
        .fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best })
        .0
}

/// The column a `--map` or `--type-from` header names: the same text (trimmed), else the
/// same once folded as the catalogue folds headers.
fn find_column(headers: &[String], name: &str) -> Result<usize, String> {
    let name = name.trim();
    if let Some(i) = headers.iter().position(|h| h == name) {
        return Ok(i);
    }
    let key = header_key(name);
    headers
        .iter()
        .position(|h| !key.is_empty() && header_key(h) == key)
        .ok_or_else(|| {
            format!(
                "no column is named \"{name}\" (the columns are: {})",
                headers.join(", ")
            )
        })
}

/// The field of each column: the catalogue's mapping of the headers, then the
/// command line's choices (a field chosen for one column is taken from any other).
fn columns(headers: &[String], mapping: &Mapping) -> Result<Vec<Option<&'static str>>, String> {
    let mut columns = map_headers(headers);
    let mut chosen: Vec<(usize, Option<&'static str>)> = Vec::new();
    for (header, path) in &mapping.columns {
        let col = find_column(headers, header)?;
        let target = match path.trim() {
            "" | "ignore" => None,
            p => Some(
                field(p)
                    .ok_or_else(|| {
                        format!(
                            "--map \"{header}={p}\": \"{p}\" is not a field; the fields are: {}",
                            onboard_shared::FIELDS
                                .iter()
                                .map(|f| f.path)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?
                    .path,
            ),
        };
        chosen.push((col, target));
    }
    if let Some(name) = &mapping.type_from {
        chosen.push((find_column(headers, name)?, Some("type")));
    }
    for (col, target) in chosen {
        if target.is_some() {
            for c in columns.iter_mut() {
                if *c == target {
                    *c = None;
                }
            }
        }
        columns[col] = target;
    }
    Ok(columns)
}

/// Reads `text` (the whole file, decoded). Fails when no column holds e-mails or a
/// `--map` / `--type-from` names a column or field that does not exist.
pub fn parse(text: &str, encoding: &'static str, mapping: &Mapping) -> Result<CsvFile, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = detect_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the header line cannot be read: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let columns = columns(&headers, mapping)?;
    if !columns.contains(&Some("email")) {
        return Err(format!(
            "no column holds e-mail addresses (expected a header such as \"Email\" or \"E-mail\", or --map \"HEADER=email\"; found: {})",
            headers.join(", ")
        ));
    }
    let ignored = headers
        .iter()
        .zip(&columns)
        .filter(|(h, c)| c.is_none() && !h.is_empty())
        .map(|(h, _)| {
            let reason = match onboard_shared::field_for_header(h) {
                None => "no such field".to_string(),
                Some(f) if f.path == "fullName" => {
                    "a full name, and the file has first or last name columns".to_string()
                }
                Some(f) => match headers
                    .iter()
                    .zip(&columns)
                    .find(|(_, c)| **c == Some(f.path))
                {
                    Some((other, _)) => format!("{} is read from \"{other}\"", f.path),
                    None => "ignored by --map".to_string(),
                },
            };
            (h.clone(), reason)
        })
        .collect();

    let mut records: Vec<(usize, Vec<String>, Vec<FieldError>)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| format!("row {row} cannot be read: {e}"))?;
        // Spreadsheets export blank lines as a row of empty cells.
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut local_errors = Vec::new();
        if record.len() > headers.len() && record.iter().skip(headers.len()).any(|c| !c.is_empty())
        {
            local_errors.push(FieldError::new(
                "",
                Code::UnknownField,
                format!(
                    "The row has more cells ({}) than the header ({}).",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        records.push((
            row,
            record.iter().map(str::to_string).collect(),
            local_errors,
        ));
    }
    let options = SheetOptions {
        columns: Some(columns.iter().map(|c| c.map(str::to_string)).collect()),
        defaults: vec![("type".into(), mapping.default_type.clone())],
        type_values: mapping
            .speaker_values
            .iter()
            .map(|v| (v.clone(), "Speaker".to_string()))
            .collect(),
        other_type: (!mapping.speaker_values.is_empty()).then(|| "Attendee".to_string()),
    };
    let cells: Vec<&[String]> = records.iter().map(|(_, c, _)| c.as_slice()).collect();
    let sheets = onboard_shared::sheet_rows(&headers, &cells, &options)?;
    // The same rows without the default type say which rows have a type of their own.
    let bare = SheetOptions {
        defaults: Vec::new(),
        ..options
    };
    let own = onboard_shared::sheet_rows(&headers, &cells, &bare)?;
    let rows = records
        .into_iter()
        .zip(sheets.into_iter().zip(own))
        .map(|((row, _, local_errors), (sheet, own))| CsvRow {
            row,
            payload: sheet.to_value(),
            type_defaulted: sheet.get("type").is_some() && own.get("type").is_none(),
            sheet,
            local_errors,
        })
        .collect();
    Ok(CsvFile {
        rows,
        delimiter: delimiter as char,
        encoding,
        headers,
        columns,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping() -> Mapping {
        Mapping {
            default_type: "Attendee".into(),
            ..Default::default()
        }
    }

    #[test]
    fn semicolons_bom_and_tags_are_handled() {
        let text = "\u{feff}E-mail;Prénom;Nom;Étiquettes;Highlight\n\
                    jane@example.com;Jane;Doe;Mentor, Host | VIP;oui\n;;;;\n";
        let m = Mapping {
            default_type: "Speaker".into(),
            ..Default::default()
        };
        let file = parse(text, "UTF-8", &m).unwrap();
        assert_eq!(file.delimiter, ';');
        assert_eq!(file.rows.len(), 1);
        assert_eq!(file.rows[0].row, 2);
        assert_eq!(
            file.rows[0].payload,
            json!({ "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe",
                    "type": "Speaker", "tags": ["Mentor", "Host", "VIP"],
                    "options": { "highlight": true } })
        );
    }

    #[test]
    fn a_type_cell_wins_over_the_default_and_extra_cells_are_reported() {
        let text = "email,type,shoe size\na@b.co,Speaker,42\nc@d.co,,41,oops\n";
        let file = parse(text, "UTF-8", &mapping()).unwrap();
        assert_eq!(
            file.ignored,
            [("shoe size".to_string(), "no such field".to_string())]
        );
        assert_eq!(file.rows[0].payload["type"], "Speaker");
        assert_eq!(file.rows[1].payload["type"], "Attendee");
        assert_eq!(file.rows[1].local_errors[0].code, Code::UnknownField);
    }

    #[test]
    fn a_second_column_for_a_field_is_ignored_and_said_so() {
        let file = parse("email,e-mail\na@b.co,c@d.co\n", "UTF-8", &mapping()).unwrap();
        assert_eq!(file.rows[0].payload["email"], "a@b.co");
        assert_eq!(file.ignored[0].1, "email is read from \"email\"");
        assert!(parse("name,city\na,b\n", "UTF-8", &mapping()).is_err());
    }

    #[test]
    fn map_and_type_from_override_the_headers() {
        let m = Mapping {
            columns: vec![
                ("Contact".into(), "email".into()),
                ("Email".into(), "".into()),
            ],
            type_from: Some("ticket type".into()),
            speaker_values: vec!["Speaker Pass".into()],
            default_type: "Attendee".into(),
        };
        let text =
            "Email,Contact,Ticket Type\nx@y.co,a@b.co,SPEAKER PASS\nz@y.co,c@d.co,Early bird\n";
        let file = parse(text, "UTF-8", &m).unwrap();
        assert_eq!(file.columns, [None, Some("email"), Some("type")]);
        assert_eq!(file.rows[0].payload["email"], "a@b.co");
        assert_eq!(file.rows[0].payload["type"], "Speaker");
        assert_eq!(file.rows[1].payload["type"], "Attendee");
        let bad = Mapping {
            columns: vec![("Email".into(), "shoe".into())],
            ..mapping()
        };
        assert!(
            parse(text, "UTF-8", &bad)
                .err()
                .unwrap()
                .contains("not a field")
        );
        let missing = Mapping {
            type_from: Some("Ticket".into()),
            ..mapping()
        };
        assert!(
            parse(text, "UTF-8", &missing)
                .err()
                .unwrap()
                .contains("no column")
        );
    }

    #[test]
    fn windows_1252_bytes_decode_as_a_browser_does() {
        let (text, encoding) = decode(b"caf\xe9 \x80 \x93x\x94".to_vec());
        assert_eq!((text.as_str(), encoding), ("café € “x”", "Windows-1252"));
        let (text, encoding) = decode("café".as_bytes().to_vec());
        assert_eq!((text.as_str(), encoding), ("café", "UTF-8"));
    }
}
