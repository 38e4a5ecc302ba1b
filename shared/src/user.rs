//! `POST /v1/users`: the user payload (every field in the catalogue, `catalogue.rs`; the API in the README and `/openapi.json`).

use crate::error::{Code, FieldError};
use crate::node::{Node, Object, given};
use crate::rules::{Checker, Text, join};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// The limits are the field catalogue's; re-exported here under their historic names.
pub use crate::catalogue::{DESCRIPTION_MAX, NAME_MAX, SHORT_TEXT_MAX};

/// `type`: what the user is at the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserType {
    Attendee,
    Speaker,
}

impl UserType {
    /// The name on the wire: `"Attendee"` or `"Speaker"`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Attendee => "Attendee",
            UserType::Speaker => "Speaker",
        }
    }
}

const USER_TYPES: &[(&str, UserType)] = &[
    ("Attendee", UserType::Attendee),
    ("Speaker", UserType::Speaker),
];

/// `status`: the user's professional situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Employed,
    #[serde(rename = "Looking for a job")]
    LookingForAJob,
    Student,
    Freelancer,
    #[serde(rename = "Working for a startup")]
    WorkingForAStartup,
}

/// The allowed `status` values, in the seed's order.
pub const STATUSES: &[(&str, Status)] = &[
    ("Employed", Status::Employed),
    ("Looking for a job", Status::LookingForAJob),
    ("Student", Status::Student),
    ("Freelancer", Status::Freelancer),
    ("Working for a startup", Status::WorkingForAStartup),
];

/// `socials`: https links to the user's profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Socials {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facebook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twitter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub youtube: Option<String>,
}

/// `options` of a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOptions {
    /// Shown under the "highlight" filter of the Speakers page (Speakers only).
    pub highlight: bool,
    /// Skip the review of their information at first connection.
    pub end_registration: bool,
}

/// A user payload that passed every rule: text trimmed, optional blanks dropped, tags
/// de-duplicated. This is what the server stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub email: String,
    #[serde(rename = "type")]
    pub user_type: UserType,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
    pub avatar: Option<String>,
    pub description: Option<String>,
    pub job: Option<String>,
    pub company: Option<String>,
    pub tags: Vec<String>,
    pub timezone: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub status: Option<Status>,
    pub website: Option<String>,
    pub socials: Socials,
    pub options: UserOptions,
}

/// The fields of a user payload, in the order they are checked.
pub const FIELDS: &[&str] = &[
    "email",
    "type",
    "firstName",
    "lastName",
    "username",
    "avatar",
    "description",
    "job",
    "company",
    "tags",
    "timezone",
    "country",
    "city",
    "status",
    "website",
    "socials",
    "options",
];
pub(crate) const SOCIALS: [&str; 4] = ["facebook", "linkedin", "twitter", "youtube"];
pub(crate) const OPTIONS: &[&str] = &["highlight", "endRegistration"];

/// Checks a user payload against every rule at once.
///
/// ```
/// use onboard_shared::{check_user, Code};
/// use serde_json::json;
/// let user = check_user(&json!({
///     "email": "jane@domain.com", "type": "Speaker", "firstName": "Jane", "lastName": "Doe"
/// })).unwrap();
/// assert_eq!(user.first_name, "Jane");
///
/// let errors = check_user(&json!({"email": "nope", "type": "Guest", "socials": {"twitter": "http://x.com/j"}}))
///     .unwrap_err();
/// let found: Vec<(&str, Code)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
/// assert!(found.contains(&("socials.twitter", Code::UrlNotHttps)));
/// assert!(found.contains(&("firstName", Code::Required)));
/// ```
pub fn check_user(payload: &Value) -> Result<NewUser, Vec<FieldError>> {
    check_user_node(payload).map(UserDraft::into_owned)
}

/// Only the errors of [`check_user`]: empty when the payload is valid.
pub fn validate_user(payload: &Value) -> Vec<FieldError> {
    user_errors(payload)
}

/// [`validate_user`] on any document (the borrowed tree of the text entry points too),
/// without copying any text out of it.
pub(crate) fn user_errors<N: Node>(payload: &N) -> Vec<FieldError> {
    check_user_node(payload).err().unwrap_or_default()
}

/// [`check_user`] on any document; the cleaned text is borrowed from it.
pub(crate) fn check_user_node<N: Node>(payload: &N) -> Result<UserDraft<'_>, Vec<FieldError>> {
    check_user_with(Checker::default(), payload)
}

/// The errors of user `payload` at or under `path` alone (`validate_field`).
pub(crate) fn user_errors_at<N: Node>(path: &str, payload: &N) -> Vec<FieldError> {
    check_user_with(Checker::focused(path), payload)
        .err()
        .unwrap_or_default()
}

/// Is `key` a member a user payload defines?
pub(crate) fn is_field(key: &str) -> bool {
    FIELDS.contains(&key)
}

fn check_user_with<'v, N: Node>(
    mut c: Checker<'_>,
    payload: &'v N,
) -> Result<UserDraft<'v>, Vec<FieldError>> {
    let user = c
        .object("", payload)
        .and_then(|obj| user_fields(&mut c, obj));
    match user {
        Some(v) if c.errors.is_empty() => Ok(v),
        _ => Err(c.errors),
    }
}

/// A [`NewUser`] whose text still borrows from the payload: validation alone never copies it.
pub(crate) struct UserDraft<'v> {
    pub email: &'v str,
    user_type: UserType,
    first_name: &'v str,
    last_name: &'v str,
    username: Option<&'v str>,
    avatar: Option<&'v str>,
    description: Option<&'v str>,
    job: Option<&'v str>,
    company: Option<&'v str>,
    tags: Vec<&'v str>,
    timezone: Option<&'v str>,
    country: Option<&'v str>,
    city: Option<&'v str>,
    status: Option<Status>,
    website: Option<&'v str>,
    socials: [Option<&'v str>; 4],
    options: UserOptions,
}

impl UserDraft<'_> {
    pub fn into_owned(self) -> NewUser {
        let own = |s: Option<&str>| s.map(str::to_owned);
        let [facebook, linkedin, twitter, youtube] = self.socials.map(own);
        NewUser {
            email: self.email.to_owned(),
            user_type: self.user_type,
            first_name: self.first_name.to_owned(),
            last_name: self.last_name.to_owned(),
            username: own(self.username),
            avatar: own(self.avatar),
            description: own(self.description),
            job: own(self.job),
            company: own(self.company),
            tags: self.tags.into_iter().map(str::to_owned).collect(),
            timezone: own(self.timezone),
            country: own(self.country),
            city: own(self.city),
            status: self.status,
            website: own(self.website),
            socials: Socials {
                facebook,
                linkedin,
                twitter,
                youtube,
            },
            options: self.options,
        }
    }
}

fn user_fields<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<UserDraft<'v>> {
    c.unknown_fields("", obj, FIELDS);
    let email = email(c, obj);
    let user_type = user_type(c, obj);
    let first_name = first_name(c, obj);
    let last_name = last_name(c, obj);
    let username = username(c, obj);
    let avatar = avatar(c, obj);
    let description = description(c, obj);
    let job = job(c, obj);
    let company = company(c, obj);
    let tags = tags(c, obj);
    let timezone = timezone(c, obj);
    let country = country(c, obj);
    let city = city(c, obj);
    let status = status(c, obj);
    let website = website(c, obj);
    let socials = socials(c, obj);
    let options = options(c, obj, user_type);
    Some(UserDraft {
        email: email?,
        user_type: user_type?,
        first_name: first_name?,
        last_name: last_name?,
        username,
        avatar,
        description,
        job,
        company,
        tags,
        timezone,
        country,
        city,
        status,
        website,
        socials,
        options,
    })
}

/// The errors of the text field at `path` (a field whose value is a string: e-mail, names,
/// URLs, choices, time zone) when its rules read nothing but its value: that field's own rule
/// function below, the one the whole payload's check calls, on `obj`, the object the field is
/// a member of (the payload, or `socials`) holding the field alone (or nothing: not given).
/// `None` for any other path (`tags`, `options` and their members; an unknown member, a path
/// inside a field): those take the whole payload's check, focused on the path. The test
/// in field.rs holds this list to the catalogue's.
// Not inlined into `validate_field`: smaller in the wasm package.
#[inline(never)]
pub(crate) fn field_errors<O: Object>(path: &str, obj: &O) -> Option<Vec<FieldError>> {
    let mut c = Checker::default();
    let c = &mut c;
    match path {
        "email" => _ = email(c, obj),
        "type" => _ = user_type(c, obj),
        "firstName" => _ = first_name(c, obj),
        "lastName" => _ = last_name(c, obj),
        "username" => _ = username(c, obj),
        "avatar" => _ = avatar(c, obj),
        "description" => _ = description(c, obj),
        "job" => _ = job(c, obj),
        "company" => _ = company(c, obj),
        "timezone" => _ = timezone(c, obj),
        "country" => _ = country(c, obj),
        "city" => _ = city(c, obj),
        "status" => _ = status(c, obj),
        "website" => _ = website(c, obj),
        _ => match path.strip_prefix("socials.") {
            Some(key) if SOCIALS.contains(&key) => _ = social(c, obj, key),
            _ => return None,
        },
    }
    Some(std::mem::take(&mut c.errors))
}

// Each field's own rule, on the object holding it. The whole payload's check (`user_fields`,
// `socials`, `options`) and a form's check of one field (`field_errors`) call the same
// functions, so the two cannot disagree.

fn email<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.email(obj, "", "email", true)
}

fn user_type<O: Object>(c: &mut Checker, obj: &O) -> Option<UserType> {
    c.choice(obj, "", "type", true, USER_TYPES)
}

fn first_name<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.text(obj, "", "firstName", true, Text::line(NAME_MAX))
}

fn last_name<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.text(obj, "", "lastName", true, Text::line(NAME_MAX))
}

fn username<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.username(obj, "", "username")
}

fn avatar<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.https_url(obj, "", "avatar", false)
}

fn description<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    let spec = Text::multiline(DESCRIPTION_MAX);
    c.text(obj, "", "description", false, spec)
}

fn job<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.text(obj, "", "job", false, Text::line(SHORT_TEXT_MAX))
}

fn company<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.text(obj, "", "company", false, Text::line(SHORT_TEXT_MAX))
}

fn tags<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Vec<&'v str> {
    c.tags(obj, "", "tags")
}

fn timezone<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.timezone(obj, "", "timezone")
}

fn country<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.text(obj, "", "country", false, Text::line(SHORT_TEXT_MAX))
}

fn city<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.text(obj, "", "city", false, Text::line(SHORT_TEXT_MAX))
}

fn status<O: Object>(c: &mut Checker, obj: &O) -> Option<Status> {
    c.choice(obj, "", "status", false, STATUSES)
}

fn website<'v, O: Object>(c: &mut Checker, obj: &'v O) -> Option<&'v str> {
    c.https_url(obj, "", "website", false)
}

/// `socials.<key>` (one of [`SOCIALS`]) of the `socials` object `s`.
fn social<'v, O: Object>(c: &mut Checker, s: &'v O, key: &str) -> Option<&'v str> {
    c.https_url(s, "socials", key, false)
}

/// `options.endRegistration` of the `options` object `o`.
fn end_registration<O: Object>(c: &mut Checker, o: &O) -> bool {
    c.boolean(o, "options", "endRegistration", false)
}

/// facebook, linkedin, twitter, youtube (the order of [`SOCIALS`]).
fn socials<'v, O: Object>(c: &mut Checker, obj: &'v O) -> [Option<&'v str>; 4] {
    let Some(v) = given(obj, "socials") else {
        return [None; 4];
    };
    let Some(s) = c.object("socials", v) else {
        return [None; 4];
    };
    c.unknown_fields("socials", s, &SOCIALS);
    SOCIALS.map(|key| social(c, s, key))
}

fn options<O: Object>(c: &mut Checker, obj: &O, user_type: Option<UserType>) -> UserOptions {
    let Some(v) = given(obj, "options") else {
        return UserOptions::default();
    };
    let Some(o) = c.object("options", v) else {
        return UserOptions::default();
    };
    c.unknown_fields("options", o, OPTIONS);
    let highlight = c.boolean(o, "options", "highlight", false);
    // Only speakers appear on the Speakers page, so only they can be highlighted there.
    // An unknown or invalid type is reported on `type` alone, not here as well.
    if highlight && user_type == Some(UserType::Attendee) {
        c.push(
            join("options", "highlight"),
            Code::SpeakerOnly,
            "Only users of type Speaker can be highlighted.",
        );
    }
    UserOptions {
        highlight,
        end_registration: end_registration(c, o),
    }
}
