//! Reading an attendee or speaker spreadsheet: separator detection (`,`, `;` or tab), a
//! byte-order mark stripped, headers mapped to payload fields by their name compared
//! without case, spaces, punctuation or accents (`E-mail`, `Email address`, `Prénom`...),
//! and each row turned into the JSON payload of `POST /v1/users`. No rule is checked here:
//! the rulebook does that on the payloads.

use onboard_shared::{Code, FieldError, UserType};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Where a column's cells go in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Field(&'static str),
    /// A comma, semicolon or pipe separated list.
    Tags,
    Social(&'static str),
    /// A yes/no cell.
    Option(&'static str),
}

impl Target {
    fn name(self) -> String {
        match self {
            Target::Field(f) => f.to_string(),
            Target::Tags => "tags".to_string(),
            Target::Social(f) => format!("socials.{f}"),
            Target::Option(f) => format!("options.{f}"),
        }
    }
}

/// Header names (as [`header_key`] folds them) and their field.
const SYNONYMS: &[(&[&str], Target)] = &[
    (
        &[
            "email",
            "emailaddress",
            "mail",
            "mailaddress",
            "courriel",
            "adresseemail",
            "adressemail",
            "adressecourriel",
        ],
        Target::Field("email"),
    ),
    (
        &["firstname", "first", "givenname", "forename", "prenom"],
        Target::Field("firstName"),
    ),
    (
        &[
            "lastname",
            "last",
            "surname",
            "familyname",
            "nom",
            "nomdefamille",
        ],
        Target::Field("lastName"),
    ),
    (&["type", "usertype", "role"], Target::Field("type")),
    (
        &[
            "username",
            "login",
            "pseudo",
            "nomdutilisateur",
            "identifiant",
        ],
        Target::Field("username"),
    ),
    (
        &["avatar", "avatarurl", "photo", "picture"],
        Target::Field("avatar"),
    ),
    (
        &["description", "bio", "about"],
        Target::Field("description"),
    ),
    (
        &[
            "job", "jobtitle", "title", "position", "poste", "fonction", "metier",
        ],
        Target::Field("job"),
    ),
    (
        &[
            "company",
            "organization",
            "organisation",
            "employer",
            "entreprise",
            "societe",
        ],
        Target::Field("company"),
    ),
    (&["tags", "tag", "labels", "etiquettes"], Target::Tags),
    (
        &["timezone", "tz", "fuseauhoraire"],
        Target::Field("timezone"),
    ),
    (&["country", "pays"], Target::Field("country")),
    (&["city", "ville"], Target::Field("city")),
    (&["status", "statut"], Target::Field("status")),
    (
        &["website", "web", "site", "siteweb", "url"],
        Target::Field("website"),
    ),
    (&["facebook"], Target::Social("facebook")),
    (&["linkedin"], Target::Social("linkedin")),
    (&["twitter", "x"], Target::Social("twitter")),
    (&["youtube"], Target::Social("youtube")),
    (&["highlight", "highlighted"], Target::Option("highlight")),
    (&["endregistration"], Target::Option("endRegistration")),
];

/// A header folded for comparison: accents removed, lowercase, letters and digits only.
/// `Prénom` → `prenom`, `E-mail` → `email`, `Time zone` → `timezone`.
pub fn header_key(header: &str) -> String {
    header
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The field a header maps to, as a payload path (`email`, `socials.twitter`...).
pub fn field_of(header: &str) -> Option<String> {
    target_of(header).map(Target::name)
}

fn target_of(header: &str) -> Option<Target> {
    let key = header_key(header);
    SYNONYMS
        .iter()
        .find(|(names, _)| names.contains(&key.as_str()))
        .map(|(_, t)| *t)
}

/// One data row: its spreadsheet row number (the header is row 1), the payload built
/// from it, and problems found before any rule ran.
pub struct CsvRow {
    pub row: usize,
    pub payload: Value,
    pub local_errors: Vec<FieldError>,
}

pub struct CsvFile {
    pub rows: Vec<CsvRow>,
    pub delimiter: char,
    /// (header, field) for every mapped column.
    pub mapped: Vec<(String, String)>,
    /// Headers that map to no field; their cells are not sent.
    pub ignored: Vec<String>,
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

fn yes_no(cell: &str) -> Value {
    match header_key(cell).as_str() {
        "true" | "yes" | "y" | "1" | "x" | "oui" | "vrai" => Value::Bool(true),
        "false" | "no" | "n" | "0" | "non" | "faux" => Value::Bool(false),
        // Left as text: the rulebook reports `wrong_type` on the field.
        _ => Value::String(cell.to_string()),
    }
}

/// Reads `text` (the whole file). `default_type` fills rows whose type cell is missing or
/// empty. Fails when a header maps twice to one field or no column holds e-mails.
pub fn parse(text: &str, default_type: UserType) -> Result<CsvFile, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = detect_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("the header line cannot be read: {e}"))?
        .clone();
    let mut targets: Vec<Option<Target>> = Vec::with_capacity(headers.len());
    let mut mapped: Vec<(String, String)> = Vec::new();
    let mut ignored = Vec::new();
    for h in headers.iter() {
        let target = target_of(h);
        match target {
            Some(t) => {
                if let Some((other, _)) = mapped.iter().find(|(_, f)| *f == t.name()) {
                    return Err(format!(
                        "the columns \"{other}\" and \"{h}\" both hold {}; keep one",
                        t.name()
                    ));
                }
                mapped.push((h.to_string(), t.name()));
            }
            None if h.is_empty() => {}
            None => ignored.push(h.to_string()),
        }
        targets.push(target);
    }
    if !targets.contains(&Some(Target::Field("email"))) {
        return Err(format!(
            "no column holds e-mail addresses (expected a header such as \"Email\" or \"E-mail\"; found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| format!("row {row} cannot be read: {e}"))?;
        // Spreadsheets export blank lines as a row of empty cells.
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut payload = Map::new();
        let mut socials = Map::new();
        let mut options = Map::new();
        let mut local_errors = Vec::new();
        for (j, cell) in record.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            match targets.get(j).copied() {
                Some(Some(Target::Field(f))) => {
                    payload.insert(f.to_string(), Value::String(cell.to_string()));
                }
                Some(Some(Target::Tags)) => {
                    let tags: Vec<Value> = cell
                        .split([';', ',', '|'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.to_string()))
                        .collect();
                    payload.insert("tags".into(), Value::Array(tags));
                }
                Some(Some(Target::Social(f))) => {
                    socials.insert(f.to_string(), Value::String(cell.to_string()));
                }
                Some(Some(Target::Option(f))) => {
                    options.insert(f.to_string(), yes_no(cell));
                }
                Some(None) => {}
                None => {
                    if local_errors.is_empty() {
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
                }
            }
        }
        payload
            .entry("type")
            .or_insert_with(|| Value::String(default_type.as_str().to_string()));
        if !socials.is_empty() {
            payload.insert("socials".into(), Value::Object(socials));
        }
        if !options.is_empty() {
            payload.insert("options".into(), Value::Object(options));
        }
        rows.push(CsvRow {
            row,
            payload: Value::Object(payload),
            local_errors,
        });
    }
    Ok(CsvFile {
        rows,
        delimiter: delimiter as char,
        mapped,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_fold_case_spaces_punctuation_and_accents() {
        for (h, f) in [
            ("E-mail", "email"),
            ("Email address", "email"),
            ("  EMAIL ", "email"),
            ("Prénom", "firstName"),
            ("First name", "firstName"),
            ("Nom", "lastName"),
            ("Surname", "lastName"),
            ("Time zone", "timezone"),
            ("Fuseau horaire", "timezone"),
            ("LinkedIn", "socials.linkedin"),
            ("End registration", "options.endRegistration"),
        ] {
            assert_eq!(field_of(h).as_deref(), Some(f), "{h}");
        }
        assert_eq!(field_of("Shoe size"), None);
    }

    #[test]
    fn semicolons_bom_and_tags_are_handled() {
        let text = "\u{feff}E-mail;Prénom;Nom;Étiquettes;Highlight\n\
                    jane@example.com;Jane;Doe;Mentor, Host | VIP;oui\n;;;;\n";
        let file = parse(text, UserType::Speaker).unwrap();
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
        let file = parse(text, UserType::Attendee).unwrap();
        assert_eq!(file.ignored, ["shoe size"]);
        assert_eq!(file.rows[0].payload["type"], "Speaker");
        assert_eq!(file.rows[1].payload["type"], "Attendee");
        assert_eq!(file.rows[1].local_errors[0].code, Code::UnknownField);
    }

    #[test]
    fn files_without_an_email_column_or_with_two_are_refused() {
        assert!(parse("name,city\na,b\n", UserType::Attendee).is_err());
        assert!(parse("email,e-mail\na,b\n", UserType::Attendee).is_err());
    }
}
