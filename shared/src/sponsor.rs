//! `POST /v1/sponsors`: the sponsor payload and its speakers (the API in the README and `/openapi.json`).

use crate::error::{Code, FieldError};
use crate::node::{Kind, Node, Object, given};
use crate::rules::{At, Checker, Text, index, join, normalize_email};
use crate::user::{DESCRIPTION_MAX, NAME_MAX, SHORT_TEXT_MAX};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// The limits are the field catalogue's; re-exported here under their historic names.
pub use crate::catalogue::{PAGE_CONTENT_MAX, SPEAKERS_MAX, SPONSOR_NAME_MAX};

/// `options` of a sponsor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SponsorOptions {
    pub display_in_lobby: bool,
    pub highlight: bool,
}

/// One entry of `speakers`: an existing user found by e-mail, or the data for a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSpeaker {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub avatar: Option<String>,
    pub description: Option<String>,
    pub job: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub timezone: Option<String>,
    pub highlighted: bool,
}

impl NewSpeaker {
    /// A speaker without an account must bring a first and last name so one can be made.
    /// `i` is the speaker's index in `speakers`. The server calls this for unknown e-mails.
    pub fn account_errors(&self, i: usize) -> Vec<FieldError> {
        self.account_errors_at(&index("speakers", i))
    }

    /// [`NewSpeaker::account_errors`] with paths under `base`: `""` for the one speaker of
    /// `POST /v1/sponsors/{id}/speakers`.
    pub fn account_errors_at(&self, base: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (value, key) in [
            (&self.first_name, "firstName"),
            (&self.last_name, "lastName"),
        ] {
            if value.is_none() {
                errors.push(FieldError::new(
                    join(base, key),
                    Code::Required,
                    "Is required for a speaker who has no account yet.",
                ));
            }
        }
        errors
    }
}

/// A sponsor payload that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSponsor {
    pub name: String,
    pub logo: String,
    pub level: u8,
    pub has_page: bool,
    pub page_content: Option<String>,
    pub website: Option<String>,
    pub speakers: Vec<NewSpeaker>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub options: SponsorOptions,
}

/// The fields of a sponsor payload, in the order they are checked.
pub const FIELDS: &[&str] = &[
    "name",
    "logo",
    "level",
    "hasPage",
    "pageContent",
    "website",
    "speakers",
    "icon",
    "color",
    "options",
];
/// The sponsor fields a payload must have (the others may be absent, null or blank).
pub const REQUIRED: &[&str] = &["name", "logo", "level"];
/// The lowest and highest sponsor level.
pub const LEVEL_MIN: u8 = 1;
/// See [`LEVEL_MIN`].
pub const LEVEL_MAX: u8 = 5;

pub(crate) const SPEAKER_FIELDS: &[&str] = &[
    "email",
    "firstName",
    "lastName",
    "username",
    "avatar",
    "description",
    "job",
    "company",
    "tags",
    "timezone",
    "highlighted",
];
pub(crate) const OPTIONS: &[&str] = &["displayInLobby", "highlight"];

/// Checks a sponsor payload against every rule at once, speakers included.
///
/// ```
/// use onboard_shared::{check_sponsor, Code};
/// use serde_json::json;
/// let errors = check_sponsor(&json!({
///     "name": "Super Sponsor", "logo": "https://domain.com/logo.png", "level": 3,
///     "speakers": [{"email": "a@domain.com"}, {"email": "A@domain.com"}]
/// })).unwrap_err();
/// assert_eq!(errors[0].field, "speakers[1].email");
/// assert_eq!(errors[0].code, Code::DuplicateEmail);
/// ```
pub fn check_sponsor(payload: &Value) -> Result<NewSponsor, Vec<FieldError>> {
    check_sponsor_node(payload).map(SponsorDraft::into_owned)
}

/// Only the errors of [`check_sponsor`]: empty when the payload is valid.
pub fn validate_sponsor(payload: &Value) -> Vec<FieldError> {
    sponsor_errors(payload)
}

/// [`validate_sponsor`] on any document, without copying any text out of it.
pub(crate) fn sponsor_errors<N: Node>(payload: &N) -> Vec<FieldError> {
    check_sponsor_node(payload).err().unwrap_or_default()
}

pub(crate) fn check_sponsor_node<N: Node>(
    payload: &N,
) -> Result<SponsorDraft<'_>, Vec<FieldError>> {
    check_sponsor_with(Checker::default(), payload)
}

/// The errors of sponsor `payload` at or under `path` alone (`validate_field`).
pub(crate) fn sponsor_errors_at<N: Node>(path: &str, payload: &N) -> Vec<FieldError> {
    check_sponsor_with(Checker::focused(path), payload)
        .err()
        .unwrap_or_default()
}

/// Is `key` a member a sponsor payload defines?
pub(crate) fn is_field(key: &str) -> bool {
    FIELDS.contains(&key)
}

fn check_sponsor_with<'v, N: Node>(
    mut c: Checker<'_>,
    payload: &'v N,
) -> Result<SponsorDraft<'v>, Vec<FieldError>> {
    let sponsor = c
        .object("", payload)
        .and_then(|obj| sponsor_fields(&mut c, obj));
    match sponsor {
        Some(v) if c.errors.is_empty() => Ok(v),
        _ => Err(c.errors),
    }
}

/// A [`NewSponsor`] whose text still borrows from the payload.
pub(crate) struct SponsorDraft<'v> {
    name: &'v str,
    logo: &'v str,
    level: u8,
    has_page: bool,
    page_content: Option<&'v str>,
    website: Option<&'v str>,
    speakers: Vec<SpeakerDraft<'v>>,
    icon: Option<&'v str>,
    color: Option<&'v str>,
    options: SponsorOptions,
}

/// A [`NewSpeaker`] whose text still borrows from the payload.
pub(crate) struct SpeakerDraft<'v> {
    email: Option<&'v str>,
    first_name: Option<&'v str>,
    last_name: Option<&'v str>,
    username: Option<&'v str>,
    avatar: Option<&'v str>,
    description: Option<&'v str>,
    job: Option<&'v str>,
    company: Option<&'v str>,
    tags: Vec<&'v str>,
    timezone: Option<&'v str>,
    highlighted: bool,
}

fn own(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

impl SponsorDraft<'_> {
    pub(crate) fn into_owned(self) -> NewSponsor {
        NewSponsor {
            name: self.name.to_owned(),
            logo: self.logo.to_owned(),
            level: self.level,
            has_page: self.has_page,
            page_content: own(self.page_content),
            website: own(self.website),
            speakers: self
                .speakers
                .into_iter()
                .map(SpeakerDraft::into_owned)
                .collect(),
            icon: own(self.icon),
            color: own(self.color),
            options: self.options,
        }
    }
}

impl SpeakerDraft<'_> {
    pub(crate) fn into_owned(self) -> NewSpeaker {
        NewSpeaker {
            email: self.email.unwrap_or_default().to_owned(),
            first_name: own(self.first_name),
            last_name: own(self.last_name),
            username: own(self.username),
            avatar: own(self.avatar),
            description: own(self.description),
            job: own(self.job),
            company: own(self.company),
            tags: self.tags.into_iter().map(str::to_owned).collect(),
            timezone: own(self.timezone),
            highlighted: self.highlighted,
        }
    }
}

fn sponsor_fields<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<SponsorDraft<'v>> {
    c.unknown_fields("", obj, FIELDS);
    let required = |field: &str| REQUIRED.contains(&field);
    let name = c.text(
        obj,
        "",
        "name",
        required("name"),
        Text::line(SPONSOR_NAME_MAX),
    );
    let logo = c.https_url(obj, "", "logo", required("logo"));
    let level = c.integer(obj, "", "level", i64::from(LEVEL_MIN), i64::from(LEVEL_MAX));
    let has_page = c.boolean(obj, "", "hasPage", false);
    let page_content = c.text(
        obj,
        "",
        "pageContent",
        false,
        Text::multiline(PAGE_CONTENT_MAX),
    );
    let website = c.https_url(obj, "", "website", false);
    let speakers = speakers(c, obj);
    let icon = c.https_url(obj, "", "icon", false);
    let color = c.color(obj, "", "color");
    let options = match given(obj, "options") {
        None => SponsorOptions::default(),
        Some(v) => match c.object("options", v) {
            None => SponsorOptions::default(),
            Some(o) => {
                c.unknown_fields("options", o, OPTIONS);
                SponsorOptions {
                    display_in_lobby: c.boolean(o, "options", "displayInLobby", false),
                    highlight: c.boolean(o, "options", "highlight", false),
                }
            }
        },
    };
    Some(SponsorDraft {
        name: name?,
        logo: logo?,
        level: u8::try_from(level?).ok()?,
        has_page,
        page_content,
        website,
        speakers,
        icon,
        color,
        options,
    })
}

fn speakers<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Vec<SpeakerDraft<'v>> {
    let Some(v) = given(obj, "speakers") else {
        return Vec::new();
    };
    let Kind::Array(items) = v.kind() else {
        c.push("speakers", Code::WrongType, "Must be an array of speakers.");
        return Vec::new();
    };
    if items.len() > SPEAKERS_MAX {
        c.push(
            "speakers",
            Code::TooLong,
            format!("Must have at most {SPEAKERS_MAX} speakers."),
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    // Valid e-mails are ASCII, so comparing them ASCII-case-insensitively is comparing
    // their normalize_email keys, without making one per speaker.
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = index("speakers", i);
        let Some(s) = c.object(&path, item) else {
            continue;
        };
        let email = speaker_email(c, s, &path);
        if let Some(email) = email {
            debug_assert_eq!(normalize_email(email), email.to_ascii_lowercase());
            if seen.iter().any(|e| e.eq_ignore_ascii_case(email)) {
                c.push(
                    join(&path, "email"),
                    Code::DuplicateEmail,
                    "This email is already listed for another speaker.",
                );
            } else {
                seen.push(email);
            }
        }
        // A check focused elsewhere needs only the e-mails (for a later duplicate).
        if !c.reaches(At::Item("", "speakers", i)) {
            continue;
        }
        let speaker = speaker_fields(c, s, &path, email);
        out.push(speaker);
    }
    out
}

/// A speaker's unknown fields and e-mail: checked first, so a duplicate e-mail is reported
/// right after them.
pub(crate) fn speaker_email<'v, O: Object>(
    c: &mut Checker,
    s: &'v O,
    path: &str,
) -> Option<&'v str> {
    c.unknown_fields(path, s, SPEAKER_FIELDS);
    c.email(s, path, "email", true)
}

/// The rest of a speaker at `path`, after [`speaker_email`].
pub(crate) fn speaker_fields<'v, O: Object>(
    c: &mut Checker,
    s: &'v O,
    path: &str,
    email: Option<&'v str>,
) -> SpeakerDraft<'v> {
    SpeakerDraft {
        email,
        first_name: c.text(s, path, "firstName", false, Text::line(NAME_MAX)),
        last_name: c.text(s, path, "lastName", false, Text::line(NAME_MAX)),
        username: c.username(s, path, "username"),
        avatar: c.https_url(s, path, "avatar", false),
        description: c.text(
            s,
            path,
            "description",
            false,
            Text::multiline(DESCRIPTION_MAX),
        ),
        job: c.text(s, path, "job", false, Text::line(SHORT_TEXT_MAX)),
        company: c.text(s, path, "company", false, Text::line(SHORT_TEXT_MAX)),
        tags: c.tags(s, path, "tags"),
        timezone: c.timezone(s, path, "timezone"),
        highlighted: c.boolean(s, path, "highlighted", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn an_empty_sponsor_lacks_exactly_the_required_fields() {
        let missing: Vec<String> = validate_sponsor(&serde_json::json!({}))
            .into_iter()
            .filter(|e| e.code == Code::Required)
            .map(|e| e.field)
            .collect();
        assert_eq!(missing, REQUIRED);
    }

    #[test]
    fn levels_run_from_level_min_to_level_max() {
        let with = |level: u8| {
            validate_sponsor(&serde_json::json!({
                "name": "S", "logo": "https://a.co/l.png", "level": level
            }))
        };
        assert!(with(LEVEL_MIN).is_empty() && with(LEVEL_MAX).is_empty());
        assert!(!with(LEVEL_MIN - 1).is_empty() && !with(LEVEL_MAX + 1).is_empty());
    }
}
