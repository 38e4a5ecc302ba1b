//! Edits: a JSON Merge Patch (RFC 7396) of a stored user (`PATCH /v1/users/{id}`) or
//! sponsor (`PATCH /v1/sponsors/{id}`), and a bulk row that updates an existing user.
//!
//! `existing` is the record **as `GET` returns it**. Only its payload fields are read
//! (those of a create, plus a sponsor's `slug`); `id`, `createdAt`, `updatedAt`, a sponsor's
//! `speakers` and any member the rulebook does not know are ignored, so the server may add
//! members to its answers without breaking a patch.
//!
//! A patch is checked in three parts, always in this order:
//! 1. fields no patch may change (`id`, `password`, `createdAt`, `updatedAt`; a sponsor's
//!    `speakers`, which have their own routes): `read_only`, whatever their value;
//! 2. the merged record, exactly as a create of it: the patch's values get the create's
//!    codes and paths (`socials.twitter`, `tags[2]`), a required field set to `null` is
//!    `required`, unknown fields are `unknown_field` (even when `null`), and rules across
//!    fields see the merged record (`options.highlight` is `speaker_only` when the merged
//!    user is not a Speaker);
//! 3. fields the merge cannot drop: `username` (`null` is `required`, blank is `blank`: a
//!    user always has one; send a new one to change it) and a sponsor's `slug` (same codes,
//!    then the slug rules: `slug_invalid`).
//!
//! The merge is RFC 7396 over the payload's shape: a member present replaces, `null`
//! removes (an optional field; a required one is then `required`), absent members stay;
//! `socials` and `options` merge member by member; arrays, `tags` included, are replaced
//! wholesale. A blank optional text counts as not given, as in a create: it removes the
//! field.

use crate::doc::{Json, Members};
use crate::error::{Code, FieldError, cap_errors};
use crate::node::{Kind, Node, Object};
use crate::rules::{Checker, Text, normalize_tag};
use crate::slug::{SLUG_MAX, is_slug};
use crate::sponsor::{self, NewSponsor, SponsorDraft, SponsorOptions};
use crate::user::{self, NewUser, UserDraft};
use crate::username::USERNAME_MAX;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// What no user patch may change: `read_only`.
pub const USER_READ_ONLY: &[&str] = &["id", "password", "createdAt", "updatedAt"];
/// What no sponsor patch may change: `read_only` (speakers have their own routes).
pub const SPONSOR_READ_ONLY: &[&str] = &["id", "speakers", "createdAt", "updatedAt"];

/// A user patch that passed every rule: the user after the merge, checked as a create
/// would check it (text trimmed, tags de-duplicated), and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPatch {
    /// The whole user after the patch: what the server stores. `username` is the existing
    /// one unless the patch gives a new one.
    pub user: NewUser,
    /// The top-level fields whose value differs from the existing user's, in the rulebook's
    /// field order (`"email"`, `"socials"`...). Tags compare by [`normalize_tag`], in order;
    /// everything else exactly (an e-mail whose case changes is changed). Empty: the patch
    /// changes nothing.
    pub changed: Vec<&'static str>,
}

impl UserPatch {
    /// Does the patch change nothing?
    pub fn is_unchanged(&self) -> bool {
        self.changed.is_empty()
    }

    /// The status of a bulk row applied as this patch: `"updated"` or `"unchanged"`.
    pub fn status(&self) -> &'static str {
        if self.is_unchanged() {
            "unchanged"
        } else {
            "updated"
        }
    }

    /// Was `field` (a top-level wire name such as `"email"`) changed?
    pub fn changes(&self, field: &str) -> bool {
        self.changed.contains(&field)
    }
}

/// A sponsor's own fields after a patch: everything but its slug and its speakers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SponsorFields {
    pub name: String,
    pub logo: String,
    pub level: u8,
    pub has_page: bool,
    pub page_content: Option<String>,
    pub website: Option<String>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub options: SponsorOptions,
}

impl From<NewSponsor> for SponsorFields {
    fn from(s: NewSponsor) -> Self {
        SponsorFields {
            name: s.name,
            logo: s.logo,
            level: s.level,
            has_page: s.has_page,
            page_content: s.page_content,
            website: s.website,
            icon: s.icon,
            color: s.color,
            options: s.options,
        }
    }
}

/// A sponsor patch that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SponsorPatch {
    /// The sponsor's own fields after the patch: what the server stores.
    pub sponsor: SponsorFields,
    /// The slug the patch gives explicitly, checked. `None`: the slug stays as it is, even
    /// when the name changes (links to the sponsor's page keep working).
    pub slug: Option<String>,
    /// The top-level fields whose value differs from the existing sponsor's, in the
    /// rulebook's field order, `"slug"` last. Empty: the patch changes nothing.
    pub changed: Vec<&'static str>,
}

/// Checks a merge patch of a user (see the module documentation for the rules and the
/// order of the errors). `existing` is the user as `GET /v1/users/{id}` returns it.
///
/// ```
/// use onboard_shared::{check_user_patch, Code};
/// use serde_json::json;
/// let existing = json!({
///     "id": "665f1c2e8b3e4a0012345678", "email": "jane@domain.com", "type": "Speaker",
///     "firstName": "Jane", "lastName": "Doe", "username": "doe.jane#1234",
///     "job": "Tester", "tags": ["Mentor"], "options": {"highlight": true, "endRegistration": false},
///     "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
/// });
/// let patch = check_user_patch(&existing, &json!({"job": "Lead tester", "company": null})).unwrap();
/// assert_eq!(patch.user.job.as_deref(), Some("Lead tester"));
/// assert_eq!(patch.changed, ["job"]);
///
/// let errors = check_user_patch(&existing, &json!({"type": "Attendee", "lastName": null, "id": "x"}))
///     .unwrap_err();
/// let found: Vec<(&str, Code)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
/// assert_eq!(found, [
///     ("id", Code::ReadOnly),
///     ("lastName", Code::Required),
///     ("options.highlight", Code::SpeakerOnly),
/// ]);
/// ```
pub fn check_user_patch(existing: &Value, patch: &Value) -> Result<UserPatch, Vec<FieldError>> {
    let user = user_patch(existing.clone(), patch.clone(), |d| d.into_owned())?;
    let before = user_patch(existing.clone(), empty(), |d| d.into_owned()).ok();
    let changed = match before {
        Some(before) => user_changes(&before, &user),
        // The stored user fails today's rules but the patch fixes that: it changes at
        // least what it names.
        None => named(patch, user::FIELDS, &[]),
    };
    Ok(UserPatch { user, changed })
}

/// Only the errors of [`check_user_patch`]: empty when the patch is valid.
pub fn validate_user_patch(existing: &Value, patch: &Value) -> Vec<FieldError> {
    user_patch(existing.clone(), patch.clone(), |_| ())
        .err()
        .unwrap_or_default()
}

/// [`validate_user_patch`] on JSON texts, parsed as strictly as the server parses a body
/// (the fast borrowed tree of the wasm package, as `validate_user_json`). A patch that is
/// not JSON is one `invalid_json` error on `""`, as the server answers it.
pub fn validate_user_patch_json(existing: &str, patch: &str) -> Vec<FieldError> {
    match parse_pair(existing, patch) {
        Ok((existing, patch)) => user_patch(existing, patch, |_| ())
            .err()
            .unwrap_or_default(),
        Err(e) => vec![e],
    }
}

/// Checks a merge patch of a sponsor's own fields and slug (see the module documentation).
/// `existing` is the sponsor as `GET /v1/sponsors/{id}` returns it.
///
/// ```
/// use onboard_shared::{check_sponsor_patch, Code};
/// use serde_json::json;
/// let existing = json!({"name": "Super Sponsor", "slug": "super-sponsor", "level": 3,
///     "logo": "https://domain.com/logo.png", "hasPage": false, "speakers": []});
/// let patch = check_sponsor_patch(&existing, &json!({"name": "Mega Sponsor"})).unwrap();
/// assert_eq!((patch.sponsor.name.as_str(), patch.slug), ("Mega Sponsor", None));
/// let patch = check_sponsor_patch(&existing, &json!({"slug": "mega"})).unwrap();
/// assert_eq!((patch.slug.as_deref(), patch.changed), (Some("mega"), vec!["slug"]));
/// let errors = check_sponsor_patch(&existing, &json!({"slug": "Mega!", "speakers": []})).unwrap_err();
/// assert_eq!((errors[0].code, errors[1].code), (Code::ReadOnly, Code::SlugInvalid));
/// ```
pub fn check_sponsor_patch(
    existing: &Value,
    patch: &Value,
) -> Result<SponsorPatch, Vec<FieldError>> {
    let (sponsor, slug) = sponsor_patch(existing.clone(), patch.clone(), |d| d.into_owned())?;
    let before = sponsor_patch(existing.clone(), empty(), |d| d.into_owned()).ok();
    let mut changed = match before {
        Some((before, _)) => sponsor_changes(&before, &sponsor),
        None => named(patch, sponsor::FIELDS, SPONSOR_READ_ONLY),
    };
    let old_slug = match existing.get("slug") {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    if slug.is_some() && slug.as_deref() != old_slug {
        changed.push("slug");
    }
    Ok(SponsorPatch {
        sponsor: sponsor.into(),
        slug,
        changed,
    })
}

/// Only the errors of [`check_sponsor_patch`]: empty when the patch is valid.
pub fn validate_sponsor_patch(existing: &Value, patch: &Value) -> Vec<FieldError> {
    sponsor_patch(existing.clone(), patch.clone(), |_| ())
        .err()
        .unwrap_or_default()
}

/// [`validate_sponsor_patch`] on JSON texts (see [`validate_user_patch_json`]).
pub fn validate_sponsor_patch_json(existing: &str, patch: &str) -> Vec<FieldError> {
    match parse_pair(existing, patch) {
        Ok((existing, patch)) => sponsor_patch(existing, patch, |_| ())
            .err()
            .unwrap_or_default(),
        Err(e) => vec![e],
    }
}

/// A bulk row as the patch it is when its e-mail already belongs to a user and the import
/// runs with `onExisting: "update"`: the columns it has, each replacing the stored value.
/// An empty cell changes nothing, so members that are `null`, blank text, an empty array or
/// an object of such are left out, and so is `email`, the key the row was matched by (an
/// e-mail whose case differs does not change the stored one).
///
/// ```
/// use onboard_shared::bulk_row_patch;
/// use serde_json::json;
/// let row = json!({"email": "Jane@domain.com", "type": "Speaker", "firstName": "Jane",
///     "lastName": "", "job": "Lead", "tags": [], "socials": {"twitter": " "}});
/// assert_eq!(bulk_row_patch(&row), json!({"type": "Speaker", "firstName": "Jane", "job": "Lead"}));
/// ```
pub fn bulk_row_patch(row: &Value) -> Value {
    match row {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "email")
                .filter_map(|(k, v)| non_empty(v).map(|v| (k.clone(), v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Checks a bulk row against the existing user with the same e-mail, for
/// `onExisting: "update"`: [`check_user_patch`] of [`bulk_row_patch`]. The row's status is
/// [`UserPatch::status`] (`updated` or `unchanged`) when it passes, `invalid` with these
/// errors (paths relative to the row) when not.
///
/// ```
/// use onboard_shared::check_bulk_update;
/// use serde_json::json;
/// let existing = json!({"email": "jane@domain.com", "type": "Attendee", "firstName": "Jane",
///     "lastName": "Doe", "username": "doe.jane#1234", "tags": ["Mentor"]});
/// let row = json!({"email": "jane@domain.com", "type": "Attendee", "firstName": "Jane",
///     "lastName": "Doe", "tags": ["mentor"], "job": ""});
/// assert_eq!(check_bulk_update(&existing, &row).unwrap().status(), "unchanged");
/// let row = json!({"email": "jane@domain.com", "job": "Host"});
/// assert_eq!(check_bulk_update(&existing, &row).unwrap().status(), "updated");
/// ```
pub fn check_bulk_update(existing: &Value, row: &Value) -> Result<UserPatch, Vec<FieldError>> {
    check_user_patch(existing, &bulk_row_patch(row))
}

fn non_empty(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| non_empty(v).map(|v| (k.clone(), v)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other.clone()),
    }
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// The patch's members that are fields of the payload, in the payload's order.
fn named(patch: &Value, fields: &[&'static str], skip: &[&str]) -> Vec<&'static str> {
    fields
        .iter()
        .copied()
        .filter(|f| !skip.contains(f) && patch.get(*f).is_some())
        .collect()
}

/// Parses the patch first: its failure is the server's answer to the body.
fn parse_pair<'t>(existing: &'t str, patch: &'t str) -> Result<(Json<'t>, Json<'t>), FieldError> {
    let patch = crate::parse_doc(patch).map_err(|e| crate::json_field_error(&e))?;
    let existing = crate::parse_doc(existing).map_err(|e| {
        FieldError::new(
            "",
            Code::InvalidJson,
            format!("Invalid JSON in the existing record: {e}."),
        )
    })?;
    Ok((existing, patch))
}

/// A JSON document that a merge can take apart and rebuild: serde_json's `Value` (the
/// server) and the borrowed tree of `doc` (the text entry points).
pub(crate) trait Tree: Node {
    type Key: AsRef<str>;
    /// The members of an object, or the value itself when it is not one.
    fn into_members(self) -> Result<Vec<(Self::Key, Self)>, Self>;
    fn from_members(members: Vec<(Self::Key, Self)>) -> Self;
}

impl Tree for Value {
    type Key = String;
    fn into_members(self) -> Result<Vec<(String, Value)>, Value> {
        match self {
            Value::Object(map) => Ok(map.into_iter().collect()),
            other => Err(other),
        }
    }
    fn from_members(members: Vec<(String, Value)>) -> Value {
        Value::Object(members.into_iter().collect())
    }
}

impl<'a> Tree for Json<'a> {
    type Key = Cow<'a, str>;
    fn into_members(self) -> Result<Vec<(Cow<'a, str>, Json<'a>)>, Json<'a>> {
        match self {
            Json::Object(members) => Ok(members.into_vec()),
            other => Err(other),
        }
    }
    fn from_members(members: Vec<(Cow<'a, str>, Json<'a>)>) -> Json<'a> {
        Json::Object(Members::from_vec(members))
    }
}

/// The shape of a payload as far as a merge needs it.
struct Shape {
    /// Its fields: the members a merge takes from `existing`, and the members of a patch
    /// that `null` removes. Other members of a patch are kept as given, to be reported.
    fields: &'static [&'static str],
    /// Fields that are objects, merged member by member, with their own fields.
    nested: &'static [(&'static str, &'static [&'static str])],
    /// Members a patch may not hold (reported before the merge; never merged).
    read_only: &'static [&'static str],
    /// Members checked on their own after the merge (never merged).
    apart: &'static [&'static str],
}

const USER: Shape = Shape {
    fields: user::FIELDS,
    nested: &[("socials", &user::SOCIALS), ("options", user::OPTIONS)],
    read_only: USER_READ_ONLY,
    apart: &[],
};

const SPONSOR: Shape = Shape {
    fields: sponsor::FIELDS,
    nested: &[("options", sponsor::OPTIONS)],
    read_only: SPONSOR_READ_ONLY,
    apart: &["slug"],
};

impl Shape {
    fn merges(&self, key: &str) -> bool {
        self.fields.contains(&key) && !self.read_only.contains(&key) && !self.apart.contains(&key)
    }
}

/// RFC 7396 MergePatch(target, patch) for an object whose fields `is_field` names; `skip`
/// names patch members left out (read-only ones, and those checked apart). Members of the
/// patch that are not fields are kept as given (a `null` one too), so the create's check
/// reports them; members of the target that are not fields are dropped. Only fields are
/// looked up, so a patch of many unknown members costs linear time.
fn merge<T: Tree>(
    target: T,
    patch: T,
    is_field: &dyn Fn(&str) -> bool,
    nested: &[(&str, &'static [&'static str])],
    skip: &dyn Fn(&str) -> bool,
) -> T {
    let members = match patch.into_members() {
        Ok(members) => members,
        Err(patch) => return patch,
    };
    let mut fields: Vec<(T::Key, T)> = match target.into_members() {
        Ok(old) => old
            .into_iter()
            .filter(|(k, _)| is_field(k.as_ref()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut others = Vec::new();
    for (key, value) in members {
        let k = key.as_ref();
        if skip(k) {
            continue;
        }
        if !is_field(k) {
            others.push((key, value));
            continue;
        }
        let old = fields
            .iter()
            .position(|(f, _)| f.as_ref() == k)
            .map(|i| fields.remove(i).1);
        if matches!(value.kind(), Kind::Null) {
            continue;
        }
        let merged = match nested.iter().find(|(name, _)| *name == k) {
            Some((_, inner)) => {
                let target = old.unwrap_or_else(|| T::from_members(Vec::new()));
                merge(target, value, &|f| inner.contains(&f), &[], &|_| false)
            }
            None => value,
        };
        fields.push((key, merged));
    }
    fields.extend(others);
    T::from_members(fields)
}

/// The part of a patch check that does not depend on the payload's type: the read-only
/// errors, the errors of the members checked apart, and the merged document.
struct Prepared<T> {
    merged: T,
    before: Vec<FieldError>,
    after: Vec<FieldError>,
    /// The trimmed text of a member checked apart that passed (a sponsor's slug).
    apart: Option<String>,
}

fn prepare<T: Tree>(
    existing: T,
    patch: T,
    shape: &Shape,
    not_objects: [&'static str; 2],
    check_apart: impl FnOnce(&mut Checker, &T) -> Option<String>,
) -> Result<Prepared<T>, Vec<FieldError>> {
    let Kind::Object(obj) = patch.kind() else {
        return Err(vec![FieldError::new("", Code::WrongType, not_objects[0])]);
    };
    if !matches!(existing.kind(), Kind::Object(_)) {
        return Err(vec![FieldError::new("", Code::WrongType, not_objects[1])]);
    }
    let before: Vec<FieldError> = shape
        .read_only
        .iter()
        .filter(|key| obj.get(key).is_some())
        .map(|key| FieldError::new(*key, Code::ReadOnly, read_only_why(key)))
        .collect();
    let mut c = Checker::default();
    let apart = check_apart(&mut c, &patch);
    let merged = merge(existing, patch, &|k| shape.merges(k), shape.nested, &|k| {
        shape.read_only.contains(&k) || shape.apart.contains(&k)
    });
    Ok(Prepared {
        merged,
        before,
        after: c.errors,
        apart,
    })
}

fn read_only_why(key: &str) -> &'static str {
    match key {
        "password" => "Cannot be changed by a patch; reset it with POST /v1/users/{id}/password.",
        "speakers" => {
            "Cannot be changed by a patch; add or remove speakers with /v1/sponsors/{id}/speakers."
        }
        _ => "Cannot be changed by a patch; the server sets it.",
    }
}

/// Joins the three parts of a patch check, capped as a create's errors are.
fn verdict<D, R>(
    prepared_before: Vec<FieldError>,
    checked: Result<D, Vec<FieldError>>,
    after: Vec<FieldError>,
    finish: impl FnOnce(D) -> R,
) -> Result<R, Vec<FieldError>> {
    match checked {
        Ok(draft) if prepared_before.is_empty() && after.is_empty() => Ok(finish(draft)),
        checked => {
            let mut errors = prepared_before;
            errors.extend(checked.err().unwrap_or_default());
            errors.extend(after);
            cap_errors(&mut errors);
            Err(errors)
        }
    }
}

fn user_patch<T: Tree, R>(
    existing: T,
    patch: T,
    finish: impl for<'d> FnOnce(UserDraft<'d>) -> R,
) -> Result<R, Vec<FieldError>> {
    let not_objects = [
        "A merge patch must be a JSON object of the user's fields to change.",
        "The existing user must be a JSON object.",
    ];
    let p = prepare(existing, patch, &USER, not_objects, |c, patch| {
        // A user always has a username: a patch may change it, never remove it.
        if let Kind::Object(obj) = patch.kind()
            && obj.get("username").is_some()
        {
            let mut own = Checker::default();
            own.text(obj, "", "username", true, Text::line(USERNAME_MAX));
            c.errors.extend(
                own.errors
                    .into_iter()
                    .filter(|e| matches!(e.code, Code::Required | Code::Blank)),
            );
        }
        None
    })?;
    verdict(p.before, user::check_user_node(&p.merged), p.after, finish)
}

fn sponsor_patch<T: Tree, R>(
    existing: T,
    patch: T,
    finish: impl for<'d> FnOnce(SponsorDraft<'d>) -> R,
) -> Result<(R, Option<String>), Vec<FieldError>> {
    let not_objects = [
        "A merge patch must be a JSON object of the sponsor's fields to change.",
        "The existing sponsor must be a JSON object.",
    ];
    let p = prepare(existing, patch, &SPONSOR, not_objects, |c, patch| {
        let Kind::Object(obj) = patch.kind() else {
            return None;
        };
        obj.get("slug")?;
        let slug = c.text(obj, "", "slug", true, Text::line(SLUG_MAX))?;
        if is_slug(slug) {
            Some(slug.to_owned())
        } else {
            c.push(
                "slug",
                Code::SlugInvalid,
                "Must be lowercase letters a-z and digits joined by single hyphens, like super-sponsor.",
            );
            None
        }
    })?;
    let apart = p.apart;
    verdict(
        p.before,
        sponsor::check_sponsor_node(&p.merged),
        p.after,
        finish,
    )
    .map(|r| (r, apart))
}

/// What differs between two checked users, by top-level field.
fn user_changes(a: &NewUser, b: &NewUser) -> Vec<&'static str> {
    let same_tags = a.tags.len() == b.tags.len()
        && a.tags
            .iter()
            .zip(&b.tags)
            .all(|(x, y)| normalize_tag(x) == normalize_tag(y));
    let differs = [
        ("email", a.email != b.email),
        ("type", a.user_type != b.user_type),
        ("firstName", a.first_name != b.first_name),
        ("lastName", a.last_name != b.last_name),
        ("username", a.username != b.username),
        ("avatar", a.avatar != b.avatar),
        ("description", a.description != b.description),
        ("job", a.job != b.job),
        ("company", a.company != b.company),
        ("tags", !same_tags),
        ("timezone", a.timezone != b.timezone),
        ("country", a.country != b.country),
        ("city", a.city != b.city),
        ("status", a.status != b.status),
        ("website", a.website != b.website),
        ("socials", a.socials != b.socials),
        ("options", a.options != b.options),
    ];
    debug_assert!(
        differs
            .iter()
            .map(|(f, _)| *f)
            .eq(user::FIELDS.iter().copied())
    );
    differs
        .into_iter()
        .filter_map(|(field, d)| d.then_some(field))
        .collect()
}

/// What differs between two checked sponsors' own fields, by top-level field.
fn sponsor_changes(a: &NewSponsor, b: &NewSponsor) -> Vec<&'static str> {
    [
        ("name", a.name != b.name),
        ("logo", a.logo != b.logo),
        ("level", a.level != b.level),
        ("hasPage", a.has_page != b.has_page),
        ("pageContent", a.page_content != b.page_content),
        ("website", a.website != b.website),
        ("icon", a.icon != b.icon),
        ("color", a.color != b.color),
        ("options", a.options != b.options),
    ]
    .into_iter()
    .filter_map(|(field, d)| d.then_some(field))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> Value {
        json!({
            "id": "665f1c2e8b3e4a0012345678",
            "email": "jane@domain.com", "type": "Speaker", "firstName": "Jane", "lastName": "Doe",
            "username": "doe.jane#1234", "avatar": null, "description": null, "job": "Tester",
            "company": null, "tags": ["Mentor", "Host"], "timezone": "Europe/Paris",
            "country": null, "city": null, "status": "Employed", "website": null,
            "socials": {"facebook": null, "linkedin": null, "twitter": "https://x.com/jane", "youtube": null},
            "options": {"highlight": true, "endRegistration": false},
            "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
            "version": 3
        })
    }

    fn found(errors: &[FieldError]) -> Vec<(&str, Code)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    /// Both entry points, which must agree.
    fn errors(existing: &Value, patch: &Value) -> Vec<FieldError> {
        let a = validate_user_patch(existing, patch);
        let b = validate_user_patch_json(&existing.to_string(), &patch.to_string());
        assert_eq!(a, b, "{patch}");
        a
    }

    #[test]
    fn an_empty_patch_changes_nothing_and_ignores_server_members() {
        let p = check_user_patch(&stored(), &json!({})).unwrap();
        assert!(p.is_unchanged());
        assert_eq!(p.user.username.as_deref(), Some("doe.jane#1234"));
        assert_eq!(p.user.tags, ["Mentor", "Host"]);
        assert!(p.user.options.highlight);
    }

    #[test]
    fn nested_objects_merge_member_by_member() {
        let patch = json!({"socials": {"youtube": "https://youtube.com/@jane", "twitter": null}});
        let p = check_user_patch(&stored(), &patch).unwrap();
        assert_eq!(
            p.user.socials.youtube.as_deref(),
            Some("https://youtube.com/@jane")
        );
        assert_eq!(p.user.socials.twitter, None);
        assert_eq!(p.changed, ["socials"]);
        let p =
            check_user_patch(&stored(), &json!({"options": {"endRegistration": true}})).unwrap();
        assert!(p.user.options.highlight && p.user.options.end_registration);
    }

    #[test]
    fn tags_are_replaced_wholesale_and_compared_by_key() {
        let p = check_user_patch(&stored(), &json!({"tags": ["host"]})).unwrap();
        assert_eq!(
            (p.user.tags.clone(), p.changed),
            (vec!["host".to_string()], vec!["tags"])
        );
        let p = check_user_patch(&stored(), &json!({"tags": ["mentor", " HOST "]})).unwrap();
        assert!(p.is_unchanged(), "{:?}", p.changed);
        let p = check_user_patch(&stored(), &json!({"tags": null})).unwrap();
        assert!(p.user.tags.is_empty() && p.changes("tags"));
    }

    #[test]
    fn values_are_checked_with_the_create_paths_and_codes() {
        let patch = json!({"email": "nope", "socials": {"twitter": "http://x.com"}, "tags": ["ok", ""],
            "bogus": null, "options": {"extra": 1}});
        assert_eq!(
            found(&errors(&stored(), &patch)),
            [
                ("bogus", Code::UnknownField),
                ("email", Code::EmailInvalid),
                ("tags[1]", Code::Blank),
                ("socials.twitter", Code::UrlNotHttps),
                ("options.extra", Code::UnknownField),
            ]
        );
    }

    #[test]
    fn required_fields_cannot_be_removed() {
        let patch = json!({"email": null, "type": null, "firstName": "  ", "username": null});
        assert_eq!(
            found(&errors(&stored(), &patch)),
            [
                ("email", Code::Required),
                ("type", Code::Required),
                ("firstName", Code::Blank),
                ("username", Code::Required),
            ]
        );
        assert_eq!(
            found(&errors(&stored(), &json!({"username": " "}))),
            [("username", Code::Blank)]
        );
    }

    #[test]
    fn highlight_follows_the_merged_type() {
        let to_attendee = json!({"type": "Attendee"});
        assert_eq!(
            found(&errors(&stored(), &to_attendee)),
            [("options.highlight", Code::SpeakerOnly)]
        );
        let both = json!({"type": "Attendee", "options": {"highlight": false}});
        assert!(errors(&stored(), &both).is_empty());
        let mut attendee = stored();
        attendee["type"] = json!("Attendee");
        attendee["options"]["highlight"] = json!(false);
        let highlight = json!({"options": {"highlight": true}});
        assert_eq!(
            found(&errors(&attendee, &highlight)),
            [("options.highlight", Code::SpeakerOnly)]
        );
    }

    #[test]
    fn read_only_fields_come_first() {
        let patch =
            json!({"updatedAt": null, "password": "x", "id": "y", "createdAt": 1, "job": 3});
        assert_eq!(
            found(&errors(&stored(), &patch)),
            [
                ("id", Code::ReadOnly),
                ("password", Code::ReadOnly),
                ("createdAt", Code::ReadOnly),
                ("updatedAt", Code::ReadOnly),
                ("job", Code::WrongType),
            ]
        );
    }

    #[test]
    fn not_objects() {
        for patch in [json!([]), json!(null), json!("x"), json!(1)] {
            assert_eq!(found(&errors(&stored(), &patch)), [("", Code::WrongType)]);
        }
        assert_eq!(
            found(&errors(&json!([]), &json!({}))),
            [("", Code::WrongType)]
        );
        assert_eq!(
            found(&validate_user_patch_json("{}", "{")),
            [("", Code::InvalidJson)]
        );
        assert_eq!(
            found(&validate_user_patch_json("{", "{}")),
            [("", Code::InvalidJson)]
        );
    }

    #[test]
    fn a_hostile_patch_is_capped() {
        let mut patch = Map::new();
        for i in 0..5000 {
            patch.insert(format!("k{i:05}"), Value::Null);
        }
        patch.insert("id".into(), json!(1));
        let errors = errors(&stored(), &Value::Object(patch));
        assert_eq!(errors.len(), crate::ERRORS_MAX + 1);
        assert_eq!(found(&errors)[0], ("id", Code::ReadOnly));
        assert_eq!(found(&errors)[1], ("k00000", Code::UnknownField));
        assert_eq!(found(&errors)[100], ("", Code::TooManyErrors));
    }

    #[test]
    fn a_stored_user_that_fails_todays_rules_is_reported() {
        let mut old = stored();
        old["website"] = json!("http://jane.dev");
        assert_eq!(
            found(&errors(&old, &json!({"job": "x"}))),
            [("website", Code::UrlNotHttps)]
        );
        let p = check_user_patch(
            &old,
            &json!({"website": "https://jane.dev", "job": "Tester"}),
        )
        .unwrap();
        assert_eq!(p.changed, ["job", "website"]);
    }

    #[test]
    fn sponsor_patches() {
        let existing = json!({"id": "x", "name": "Super Sponsor", "slug": "super-sponsor",
            "logo": "https://domain.com/logo.png", "level": 3, "hasPage": true,
            "pageContent": "<p>Hi</p>", "website": null, "icon": null, "color": "#ff5733",
            "options": {"displayInLobby": true, "highlight": false},
            "speakers": [{"id": "y", "email": "a@b.co", "firstName": "A", "lastName": "B", "username": "b.a#1"}],
            "createdAt": "t", "updatedAt": "t"});
        let p = check_sponsor_patch(
            &existing,
            &json!({"level": 5, "options": {"highlight": true}}),
        )
        .unwrap();
        assert_eq!(
            (p.sponsor.level, p.sponsor.options.display_in_lobby, p.slug),
            (5, true, None)
        );
        assert_eq!(p.changed, ["level", "options"]);
        let p = check_sponsor_patch(&existing, &json!({"slug": "super-sponsor"})).unwrap();
        assert!(p.changed.is_empty() && p.slug.as_deref() == Some("super-sponsor"));
        let sponsor_errors = |patch: &Value| {
            let a = validate_sponsor_patch(&existing, patch);
            let b = validate_sponsor_patch_json(&existing.to_string(), &patch.to_string());
            assert_eq!(a, b);
            a
        };
        let patch =
            json!({"speakers": [], "slug": null, "level": 9, "name": null, "logo": "http://x.com"});
        assert_eq!(
            found(&sponsor_errors(&patch)),
            [
                ("speakers", Code::ReadOnly),
                ("name", Code::Required),
                ("logo", Code::UrlNotHttps),
                ("level", Code::OutOfRange),
                ("slug", Code::Required),
            ]
        );
        for (slug, code) in [
            ("Super", Code::SlugInvalid),
            ("a--b", Code::SlugInvalid),
            ("-a", Code::SlugInvalid),
            ("", Code::Blank),
        ] {
            let got = sponsor_errors(&json!({ "slug": slug }));
            assert_eq!(found(&got), [("slug", code)], "{slug}");
        }
        let long = "a".repeat(SLUG_MAX + 1);
        assert_eq!(
            found(&sponsor_errors(&json!({ "slug": long }))),
            [("slug", Code::TooLong)]
        );
        assert_eq!(
            found(&sponsor_errors(&json!({ "slug": 1 }))),
            [("slug", Code::WrongType)]
        );
    }

    #[test]
    fn bulk_rows_update_only_their_columns() {
        let row = json!({"email": "JANE@domain.com", "type": "Speaker", "firstName": "Jane",
            "lastName": "Doe", "job": "", "tags": ["Mentor", "Host"], "socials": {"twitter": ""}});
        let p = check_bulk_update(&stored(), &row).unwrap();
        assert_eq!(p.status(), "unchanged");
        assert_eq!(p.user.email, "jane@domain.com");
        assert_eq!(p.user.job.as_deref(), Some("Tester"));
        let p = check_bulk_update(
            &stored(),
            &json!({"email": "jane@domain.com", "city": "Lyon"}),
        )
        .unwrap();
        assert_eq!((p.status(), p.changed), ("updated", vec!["city"]));
        let errors = check_bulk_update(&stored(), &json!({"email": "x", "website": "http://a.co"}))
            .unwrap_err();
        assert_eq!(found(&errors), [("website", Code::UrlNotHttps)]);
    }
}
