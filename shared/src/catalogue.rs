//! The field catalogue: one table of every field of a user payload (and, where it has one,
//! of a sponsor's speaker row) with its JSON path, label, kind, limit and the spreadsheet
//! column headers that mean it in English, French, German and Spanish; the rulebook's
//! limits; and the yes/no words of spreadsheet cells.
//!
//! The rules ([`crate::check_user`]) take their limits from here, the spreadsheet mapping
//! ([`crate::map_headers`], [`crate::rows_to_users`]) its header names, and through the
//! npm package the page its labels: adding a field is one row here and its rule.

/// Longest first or last name.
pub const NAME_MAX: usize = 100;
/// Longest job title, company, country or city.
pub const SHORT_TEXT_MAX: usize = 200;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 5000;
/// Longest e-mail address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// Longest URL.
pub const URL_MAX: usize = 2048;
/// Most tags on one user or speaker.
pub const TAGS_MAX: usize = 50;
/// Longest tag.
pub const TAG_MAX: usize = 50;
/// Longest sponsor name.
pub const SPONSOR_NAME_MAX: usize = 200;
/// Longest sponsor page content (HTML).
pub const PAGE_CONTENT_MAX: usize = 100_000;
/// Most speakers on one sponsor.
pub const SPEAKERS_MAX: usize = 100;

/// What a field holds, which says how a spreadsheet cell becomes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// An e-mail address.
    Email,
    /// One of a fixed list of words (`type`, `status`).
    Choice,
    /// One line of text.
    Line,
    /// Text that may hold line breaks.
    Multiline,
    /// A username (see [`crate::check_username`]).
    Username,
    /// An `https://` URL.
    Url,
    /// A list of tags; a cell splits on `;`, `,` and `|`.
    Tags,
    /// An IANA time zone name.
    Timezone,
    /// Yes or no; a cell is read with [`yes_no`].
    Flag,
    /// Not a payload field: a person's whole name, split into `firstName` and `lastName`
    /// (see [`split_full_name`]).
    FullName,
}

/// One field of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON path in a user payload (`email`, `socials.linkedin`); for the
    /// [`FieldKind::FullName`] entry, `fullName`, which is no payload field.
    pub path: &'static str,
    /// What a person calls it, for forms and column pickers.
    pub label: &'static str,
    /// The column header an export writes; it maps back to this field.
    pub header: &'static str,
    pub kind: FieldKind,
    /// Longest text (characters) or most items; `None` when the rule has no length limit.
    pub max: Option<usize>,
    /// Whether a user payload must have it.
    pub required: bool,
    /// The field's key in a sponsor's speaker row, when a speaker row has it.
    pub speaker: Option<&'static str>,
    /// Column headers that mean this field, space-separated, as [`header_key`] folds them
    /// (lowercase ASCII letters and digits: `Prénom` is `prenom`, `E-mail` is `email`).
    pub headers: &'static str,
}

impl Field {
    /// The folded header names of [`Field::headers`].
    pub fn header_names(&self) -> impl Iterator<Item = &'static str> {
        self.headers.split(' ')
    }
}

const fn entry(
    path: &'static str,
    label: &'static str,
    header: &'static str,
    kind: FieldKind,
    max: Option<usize>,
    speaker: Option<&'static str>,
    headers: &'static str,
) -> Field {
    Field {
        path,
        label,
        header,
        kind,
        max,
        required: false,
        speaker,
        headers,
    }
}

const fn required(f: Field) -> Field {
    Field {
        required: true,
        ..f
    }
}

use FieldKind::*;

/// Every field of a user payload in the rulebook's order, then the full-name pseudo-field.
/// English first, then French, German and Spanish names; exports of ticketing and
/// call-for-papers tools add their own (`attendeeemail`, `speakerbio`, `headshot`).
pub static FIELDS: &[Field] = &[
    required(entry(
        "email",
        "Email",
        "Email",
        Email,
        Some(EMAIL_MAX),
        Some("email"),
        "email emailaddress mail mailaddress attendeeemail speakeremail participantemail \
         courriel adressemail adresseemail adressecourriel adresseelectronique \
         emailadresse mailadresse correo correoelectronico direcciondecorreo",
    )),
    required(entry(
        "type",
        "Type",
        "Type",
        Choice,
        None,
        None,
        "type usertype role participanttype attendeetype \
         typeutilisateur typedutilisateur typedeparticipant typ benutzertyp tipo tipodeusuario",
    )),
    required(entry(
        "firstName",
        "First name",
        "First name",
        Line,
        Some(NAME_MAX),
        Some("firstName"),
        "firstname first givenname forename attendeefirstname speakerfirstname \
         prenom vorname nombre",
    )),
    required(entry(
        "lastName",
        "Last name",
        "Last name",
        Line,
        Some(NAME_MAX),
        Some("lastName"),
        "lastname last surname familyname attendeelastname speakerlastname \
         nom nomdefamille nachname familienname apellido apellidos",
    )),
    entry(
        "username",
        "Username",
        "Username",
        Username,
        Some(crate::username::USERNAME_MAX),
        Some("username"),
        "username user login pseudo handle nomdutilisateur identifiant benutzername \
         usuario nombredeusuario",
    ),
    entry(
        "avatar",
        "Avatar URL",
        "Avatar",
        Url,
        Some(URL_MAX),
        Some("avatar"),
        "avatar photo picture image profilepicture profilephoto headshot \
         bild profilbild foto fotodeperfil",
    ),
    entry(
        "description",
        "Description",
        "Description",
        Multiline,
        Some(DESCRIPTION_MAX),
        Some("description"),
        "description bio biography about speakerbio biographie beschreibung biografie \
         descripcion biografia",
    ),
    entry(
        "job",
        "Job title",
        "Job title",
        Line,
        Some(SHORT_TEXT_MAX),
        Some("job"),
        "job jobtitle title position poste fonction metier titre \
         berufsbezeichnung beruf jobtitel puesto cargo",
    ),
    entry(
        "company",
        "Company",
        "Company",
        Line,
        Some(SHORT_TEXT_MAX),
        Some("company"),
        "company organization organisation employer affiliation entreprise societe \
         firma unternehmen empresa compania organizacion",
    ),
    entry(
        "tags",
        "Tags",
        "Tags",
        Tags,
        Some(TAGS_MAX),
        Some("tags"),
        "tags tag labels groups keywords etiquettes etiquette motscles \
         schlagworter stichworter etiquetas palabrasclave",
    ),
    entry(
        "timezone",
        "Time zone",
        "Time zone",
        Timezone,
        None,
        Some("timezone"),
        "timezone tz fuseauhoraire fuseau zeitzone zonahoraria",
    ),
    entry(
        "country",
        "Country",
        "Country",
        Line,
        Some(SHORT_TEXT_MAX),
        None,
        "country pays land pais",
    ),
    entry(
        "city",
        "City",
        "City",
        Line,
        Some(SHORT_TEXT_MAX),
        None,
        "city town ville stadt ort ciudad localidad",
    ),
    entry(
        "status",
        "Professional status",
        "Status",
        Choice,
        None,
        None,
        "status professionalstatus situation statut situationprofessionnelle \
         berufsstatus estado situacionprofesional",
    ),
    entry(
        "website",
        "Website",
        "Website",
        Url,
        Some(URL_MAX),
        None,
        "website web site homepage url siteweb siteinternet webseite internetseite \
         sitioweb paginaweb",
    ),
    entry(
        "socials.facebook",
        "Facebook",
        "Facebook",
        Url,
        Some(URL_MAX),
        None,
        "facebook",
    ),
    entry(
        "socials.linkedin",
        "LinkedIn",
        "LinkedIn",
        Url,
        Some(URL_MAX),
        None,
        "linkedin",
    ),
    entry(
        "socials.twitter",
        "Twitter",
        "Twitter",
        Url,
        Some(URL_MAX),
        None,
        "twitter x xtwitter twitterx",
    ),
    entry(
        "socials.youtube",
        "YouTube",
        "YouTube",
        Url,
        Some(URL_MAX),
        None,
        "youtube",
    ),
    entry(
        "options.highlight",
        "Highlight (speakers)",
        "Highlight",
        Flag,
        None,
        Some("highlighted"),
        "highlight highlighted miseenavant hervorheben destacado destacar",
    ),
    entry(
        "options.endRegistration",
        "Skip registration review",
        "End registration",
        Flag,
        None,
        None,
        "endregistration skipreview",
    ),
    entry(
        "fullName",
        "Full name (split into first and last name)",
        "Full name",
        FullName,
        None,
        None,
        "name fullname displayname speakername attendeename participantname \
         nomcomplet nometprenom prenometnom nomprenom prenomnom \
         vollstandigername vollername nombrecompleto",
    ),
];

/// Cell words read as yes, folded as [`header_key`] does (`Sí` is `si`).
pub const YES_WORDS: &[&str] = &[
    "true",
    "yes",
    "y",
    "1",
    "x",
    "oui",
    "vrai",
    "ja",
    "wahr",
    "si",
    "verdadero",
];
/// Cell words read as no.
pub const NO_WORDS: &[&str] = &[
    "false", "no", "n", "0", "non", "faux", "nein", "falsch", "falso",
];

/// The catalogue entry with this path (`email`, `socials.twitter`, `fullName`).
pub fn field(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.path == path)
}

/// A header or cell folded for comparison: accents removed, lowercase, ASCII letters and
/// digits only (`Prénom` → `prenom`, `E-mail` → `email`, `Sí` → `si`). Letters of other
/// scripts fold to nothing, so they never match a name of the catalogue.
///
/// ```
/// assert_eq!(onboard_shared::header_key(" Adresse e-mail "), "adresseemail");
/// assert_eq!(onboard_shared::header_key("Vollständiger Name"), "vollstandigername");
/// ```
pub fn header_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        crate::fold::fold_char(c, &mut out);
    }
    out
}

/// Words a header may start with (`Socials.LinkedIn`, `Options: Highlight`).
const PREFIXES: &[&str] = &["socials", "social", "options", "option"];
/// Words a header of a link may end with (`LinkedIn URL`, `Avatar link`, `Twitter handle`):
/// stripped only when what remains names a URL field, so `Company URL` is not `company`.
const LINK_SUFFIXES: &[&str] = &["url", "link", "profile", "channel", "handle", "address"];

/// The field a column header means, compared as [`header_key`] folds it; `None` when no
/// field has that name.
///
/// ```
/// use onboard_shared::field_for_header;
/// let path = |h| field_for_header(h).map(|f| f.path);
/// assert_eq!(path("Courriel"), Some("email"));
/// assert_eq!(path("Socials.LinkedIn URL"), Some("socials.linkedin"));
/// assert_eq!(path("Nom complet"), Some("fullName"));
/// assert_eq!(path("Company URL"), None);
/// ```
pub fn field_for_header(header: &str) -> Option<&'static Field> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    let named = |k: &str| FIELDS.iter().find(|f| f.header_names().any(|n| n == k));
    let unprefixed = PREFIXES
        .iter()
        .find_map(|p| key.strip_prefix(p).filter(|rest| !rest.is_empty()));
    let candidates = [Some(key.as_str()), unprefixed];
    for k in candidates.into_iter().flatten() {
        if let Some(f) = named(k) {
            return Some(f);
        }
        for suffix in LINK_SUFFIXES {
            if let Some(f) = k
                .strip_suffix(suffix)
                .filter(|rest| !rest.is_empty())
                .and_then(named)
                .filter(|f| f.kind == Url)
            {
                return Some(f);
            }
        }
    }
    None
}

/// A yes/no cell: `Some(true)` for [`YES_WORDS`], `Some(false)` for [`NO_WORDS`], `None`
/// for anything else (left as text for the rulebook to refuse).
pub fn yes_no(cell: &str) -> Option<bool> {
    let key = header_key(cell);
    if YES_WORDS.contains(&key.as_str()) {
        Some(true)
    } else if NO_WORDS.contains(&key.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// A full name as (first name, last name). `Doe, Jane` splits at the comma (last name
/// first); otherwise the last word is the last name, so `Jane van Doe` is (`Jane van`,
/// `Doe`): particles and compound surnames cannot be told apart from middle names, and a
/// person sees the split in the import's preview. One word is a first name alone.
///
/// ```
/// use onboard_shared::split_full_name;
/// assert_eq!(split_full_name("Doe, Jane"), ("Jane", "Doe"));
/// assert_eq!(split_full_name(" Jane  van Doe "), ("Jane  van", "Doe"));
/// assert_eq!(split_full_name("Cher"), ("Cher", ""));
/// ```
pub fn split_full_name(name: &str) -> (&str, &str) {
    let name = name.trim();
    if let Some((last, first)) = name.split_once(',') {
        return (first.trim(), last.trim());
    }
    match name.rfind(char::is_whitespace) {
        Some(at) => (name[..at].trim_end(), name[at..].trim_start()),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_name_is_folded_and_names_one_field() {
        let mut seen: Vec<&str> = Vec::new();
        for f in FIELDS {
            for n in f.header_names() {
                assert_eq!(header_key(n), n, "{n} of {} is not folded", f.path);
                assert!(!seen.contains(&n), "{n} names two fields");
                seen.push(n);
            }
        }
    }

    #[test]
    fn every_canonical_header_and_label_of_a_field_maps_back_to_it() {
        for f in FIELDS {
            assert_eq!(field_for_header(f.header).map(|g| g.path), Some(f.path));
            assert_eq!(field_for_header(f.path).map(|g| g.path), Some(f.path));
        }
    }

    #[test]
    fn the_payload_fields_are_the_rulebooks() {
        let top: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.kind != FullName)
            .map(|f| f.path.split('.').next().unwrap())
            .fold(Vec::new(), |mut v, k| {
                if !v.contains(&k) {
                    v.push(k);
                }
                v
            });
        assert_eq!(top, crate::user::FIELDS);
        let speaker: Vec<&str> = FIELDS.iter().filter_map(|f| f.speaker).collect();
        assert_eq!(speaker, crate::sponsor::SPEAKER_FIELDS);
    }

    #[test]
    fn yes_no_words_fold() {
        for w in ["Oui", "VRAI", "ja", "Sí", "x", "1", "Yes"] {
            assert_eq!(yes_no(w), Some(true), "{w}");
        }
        for w in ["non", "Faux", "NEIN", "no", "0"] {
            assert_eq!(yes_no(w), Some(false), "{w}");
        }
        assert_eq!(yes_no("maybe"), None);
    }
}
