//! The OpenAPI 3.1 document, built from what the server runs so it cannot drift:
//!
//! - the paths and operations from the route table (`routes::ROUTES`: method, path, access,
//!   body, and each route's `Doc`);
//! - the answers' schemas derived from the wire types (`#[derive(utoipa::ToSchema)]` on the
//!   structs that serialize them), the error codes from `ErrorCode`;
//! - the request schemas from the rulebook: its limits (`NAME_MAX`, `URL_MAX`...), its enums
//!   and field names read from its own types (see its `names` module), and patterns that say what its
//!   text rules accept (trimmed text, blank optional text counted as not given).
//!
//! Tests validate every real answer against this document, and schemathesis checks that
//! the server accepts what it allows and refuses what it does not.

use crate::domain;
use crate::error::ErrorBody;
use crate::routes::{self, Access, Body, List, ROUTES};
use onboard_shared::{
    Code, DESCRIPTION_MAX, Field, KEY_DESCRIPTION_MAX, LEVEL_MAX, LEVEL_MIN, NAME_MAX, NewKey,
    NewSpeaker, NewSponsor, NewUser, PAGE_CONTENT_MAX, Privilege, SHORT_TEXT_MAX, SPEAKERS_MAX,
    SPONSOR_NAME_MAX, SPONSOR_REQUIRED, SponsorOptions, Status, TAG_MAX, TAGS_MAX, URL_MAX,
    USERNAME_MAX, USERNAME_MIN, UserOptions, UserType,
};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let op = operation(route);
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        item[route.method.as_str().to_lowercase()] = op;
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "onboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Create, read, correct and remove users and sponsors, validated by the onboard rulebook. Every error is `{code, message, errors?}`.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" }
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer onb_...`." }
            },
            "headers": {
                "RequestId": { "description": "Unique id of this request (quote it when reporting a problem).", "schema": { "type": "string" } },
                "Location": { "description": "URL of the created resource.", "schema": { "type": "string" } },
                "Retry-After": { "description": "Seconds to wait before retrying.", "schema": { "type": "integer" } },
                "RateLimit-Limit": { "description": "Requests per minute allowed for this key.", "schema": { "type": "integer" } },
                "RateLimit-Remaining": { "description": "Requests left now.", "schema": { "type": "integer" } },
                "RateLimit-Reset": { "description": "Seconds until the allowance is full again.", "schema": { "type": "integer" } },
                "ETag": { "description": "The record's version, for `If-Match`.", "schema": { "type": "string", "pattern": "^\"[0-9]+\"$" } }
            },
            "schemas": schemas()
        }
    });
    with_idempotency(&mut doc);
    doc
}

/// `Idempotency-Key` on the operations of `crate::idempotency::ROUTES`: derived from that
/// list, so the document and the server cannot disagree.
fn with_idempotency(doc: &mut Value) {
    use crate::idempotency::{HEADER, MAX_LEN, REPLAYED, ROUTES};
    doc["components"]["headers"][REPLAYED] = json!({
        "description": "`true` when this answer is the stored answer of an earlier request with the same `Idempotency-Key`.",
        "schema": { "type": "string", "enum": ["true"] }
    });
    for (method, path) in ROUTES {
        let op = &mut doc["paths"][*path][method.as_str().to_ascii_lowercase()];
        if !op.is_object() {
            continue;
        }
        let param = json!({
            "name": HEADER, "in": "header", "required": false,
            "description": "Makes a retry safe: the first request's status and body are kept 24 hours and sent again, from any instance, to the same request with the same key (`Idempotent-Replayed: true`). Scoped to the API key. 400s and 5xx are not kept.",
            "schema": { "type": "string", "minLength": 1, "maxLength": MAX_LEN, "pattern": "^[!-~]+$" }
        });
        match op["parameters"].as_array_mut() {
            Some(list) => list.push(param),
            None => op["parameters"] = json!([param]),
        }
        let Some(responses) = op["responses"].as_object_mut() else {
            continue;
        };
        for (status, answer) in responses.iter_mut() {
            if status.starts_with('2') {
                answer["headers"][REPLAYED] =
                    json!({ "$ref": format!("#/components/headers/{REPLAYED}") });
            }
        }
        let in_flight = "`idempotency_in_flight`: a request with this `Idempotency-Key` is still running (retry after `Retry-After`).";
        match responses.get_mut("409") {
            Some(conflict) => {
                let before = conflict["description"].as_str().unwrap_or("").to_string();
                conflict["description"] = json!(format!("{before} Or {in_flight}"));
            }
            None => {
                responses.insert(
                    "409".into(),
                    answer(in_flight, Some("Error"), &["Retry-After"]),
                );
            }
        }
        // A malformed header is a 400 even on routes without a body to check.
        responses.entry("400").or_insert_with(|| {
            answer(
                "`validation_failed` on `Idempotency-Key`: not 1-255 visible ASCII characters.",
                Some("Error"),
                &[],
            )
        });
        responses.insert(
            "422".into(),
            answer(
                "`idempotency_key_reused`: this `Idempotency-Key` was used with another request.",
                Some("Error"),
                &[],
            ),
        );
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A JSON answer with its schema and headers (`x-request-id` on every one).
fn answer(description: &str, schema: Option<&str>, headers: &[&str]) -> Value {
    let mut h = Map::new();
    h.insert(
        "x-request-id".into(),
        json!({ "$ref": "#/components/headers/RequestId" }),
    );
    for name in headers {
        h.insert(
            (*name).into(),
            json!({ "$ref": format!("#/components/headers/{name}") }),
        );
    }
    let mut v = json!({ "description": description, "headers": h });
    match schema {
        Some(name) => {
            v["content"] = json!({ "application/json": { "schema": reference(name) } });
        }
        // The document itself: any JSON object.
        None if description.starts_with("OpenAPI") => {
            v["content"] = json!({ "application/json": { "schema": { "type": "object" } } });
        }
        None => {}
    }
    v
}

const RATE: [&str; 3] = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

/// One operation: the route's own answers, then those every route of its kind gives.
fn operation(route: &routes::Route) -> Value {
    let doc = &route.doc;
    let keyed = matches!(route.access, Access::Key(_));
    let mut responses = Map::new();
    let mut ok_headers: Vec<&str> = Vec::new();
    if doc.ok.0 == 201 {
        ok_headers.push("Location");
    }
    if doc.versioned && doc.ok.0 == 200 {
        ok_headers.push("ETag");
    }
    if keyed {
        ok_headers.extend(RATE);
    }
    responses.insert(
        doc.ok.0.to_string(),
        answer(doc.ok.1, doc.ok.2, &ok_headers),
    );
    let error = |description: &str| answer(description, Some("Error"), &[]);
    for (status, description) in doc.answers {
        let (schema, headers): (Option<&str>, &[&str]) = match status {
            200..=299 if keyed => (doc.ok.2, &RATE),
            200..=299 => (doc.ok.2, &[]),
            503 => (Some("Error"), &["Retry-After"]),
            _ => (Some("Error"), &[]),
        };
        responses.insert(status.to_string(), answer(description, schema, headers));
    }
    if keyed {
        responses.insert(
            "401".into(),
            error("Missing Authorization header, or invalid API key."),
        );
        let mut limited = vec!["Retry-After"];
        limited.extend(RATE);
        responses.insert(
            "429".into(),
            answer("Too many requests for this key.", Some("Error"), &limited),
        );
        responses.insert(
            "500".into(),
            error("Internal error; the message quotes the request id."),
        );
        responses.insert(
            "503".into(),
            answer(
                "`overloaded`, or `database_unavailable` (the database did not answer, or other writes of the record kept getting in first): send it again after `Retry-After`.",
                Some("Error"),
                &["Retry-After"],
            ),
        );
        if route.access == Access::Key(crate::auth::Need::Write) {
            responses.insert("403".into(), error("Access denied: the key is restricted."));
        }
    }
    if let Body::Json(limit) = route.body {
        responses.insert(
            "400".into(),
            error("`invalid_json` or `validation_failed`, with `errors`."),
        );
        responses
            .entry("413")
            .or_insert_with(|| error(&format!("Body larger than {limit} bytes.")));
        responses.insert("415".into(), error("Body is not JSON."));
    }
    if doc.query.is_some() {
        responses.insert("400".into(), error("Invalid query parameter."));
    }
    if route.method == warp::http::Method::GET
        && route.path == routes::users::CSV_PATH
        && let Some(ok) = responses.get_mut("200")
    {
        ok["description"] = json!(format!(
            "{} With `Accept: text/csv`: every user the filters match (all pages, from `after` when given; `limit` does not apply), streamed as CSV with `Content-Disposition: attachment`. The header row is the field catalogue's column headers and `id`, which `onboard import` maps back; never a password or hash. Tags are joined by `; `, yes/no fields are `yes`/`no`, and a cell starting with `=`, `+`, `-`, `@`, tab or CR has a `'` in front (the importer takes it off). A failure after the first page cuts the body short.",
            doc.ok.1
        ));
        ok["content"]["text/csv"] = json!({ "schema": { "type": "string" } });
    }
    let mut op = json!({
        "summary": doc.summary,
        "operationId": doc.id,
        "tags": [doc.tag],
        "security": if keyed { json!([{ "bearer": [] }]) } else { json!([]) },
        "responses": responses,
    });
    let mut params: Vec<Value> = Vec::new();
    for name in route.path.split('/').filter_map(|s| s.strip_prefix('{')) {
        let name = name.trim_end_matches('}');
        params.push(
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }),
        );
    }
    if doc.versioned && route.method != warp::http::Method::GET {
        params.push(json!({ "name": "If-Match", "in": "header", "required": false, "schema": {
            "type": "string",
            "pattern": IF_MATCH,
            "description": "The `ETag` of a previous answer (or `*`): the change happens only if the record is still at that version, else 412 `precondition_failed`." } }));
    }
    if let Some(query) = doc.query {
        params.push(json!({ "name": "limit", "in": "query", "required": false, "schema": {
            "type": "integer", "minimum": 1, "maximum": routes::LIMIT_MAX, "default": routes::LIMIT_DEFAULT } }));
        params.push(
            json!({ "name": "after", "in": "query", "required": false, "schema": {
            "type": "string", "pattern": "^[0-9a-f]{24}$" } }),
        );
        for name in query {
            params.push(json!({ "name": name, "in": "query", "required": false, "schema": query_schema(name) }));
        }
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(input) = doc.input {
        let mut content = json!({ "application/json": { "schema": reference(input) } });
        if route.method == warp::http::Method::PATCH {
            content["application/merge-patch+json"] = json!({ "schema": reference(input) });
        }
        op["requestBody"] = json!({ "required": true, "content": content });
    }
    op
}

/// The schema of a list's filter.
fn query_schema(name: &str) -> Value {
    match name {
        "type" => json!({ "type": "string", "enum": names::<UserType>() }),
        "q" => {
            json!({ "type": "string", "description": "Case-insensitive prefix of the e-mail, username, first or last name." })
        }
        // E-mails, tags and slugs are compared as the rulebook normalizes them: any text.
        _ => json!({ "type": "string" }),
    }
}

// ---- answers: derived from the wire types ----

fn to_value(schema: RefOr<Schema>) -> Value {
    serde_json::to_value(schema).expect("a schema serializes")
}

/// Adds `T`'s schema under `name` and the schemas it refers to under their own names.
fn add<T: ToSchema>(out: &mut Map<String, Value>, name: &str) {
    out.insert(name.to_string(), to_value(T::schema()));
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    for (name, schema) in deps {
        out.insert(name, to_value(schema));
    }
}

fn schemas() -> Map<String, Value> {
    let mut out = Map::new();
    add::<ErrorBody>(&mut out, "Error");
    add::<routes::health::Health>(&mut out, "Health");
    add::<routes::users::Created>(&mut out, "UserCreated");
    add::<routes::users::BulkResult>(&mut out, "BulkResult");
    add::<routes::users::Reissued>(&mut out, "PasswordReissued");
    add::<domain::users::User>(&mut out, "User");
    add::<List<domain::users::User>>(&mut out, "UserList");
    add::<routes::sponsors::Created>(&mut out, "SponsorCreated");
    add::<routes::sponsors::SpeakerCreated>(&mut out, "SpeakerAdded");
    add::<domain::sponsors::Sponsor>(&mut out, "Sponsor");
    add::<List<domain::sponsors::Sponsor>>(&mut out, "SponsorList");
    add::<domain::tags::Tag>(&mut out, "Tag");
    add::<List<domain::tags::Tag>>(&mut out, "TagList");
    add::<domain::keys::CreatedKey>(&mut out, "KeyCreated");
    add::<domain::keys::Key>(&mut out, "Key");
    add::<List<domain::keys::Key>>(&mut out, "KeyList");
    add::<domain::webhooks::Webhook>(&mut out, "Webhook");
    add::<List<domain::webhooks::Webhook>>(&mut out, "WebhookList");
    add::<domain::webhooks::Created>(&mut out, "WebhookCreated");
    add::<domain::webhooks::Rotated>(&mut out, "WebhookSecret");
    add::<domain::webhooks::Delivery>(&mut out, "WebhookDelivery");
    add::<List<domain::webhooks::Delivery>>(&mut out, "WebhookDeliveryList");
    out.insert("FieldError".into(), field_error());
    for (name, schema) in inputs() {
        out.insert(name.to_string(), schema);
    }
    out
}

/// A schema given as JSON, for `#[schema(schema_with = ...)]`.
fn schema(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).expect("a valid schema")
}

/// The rulebook's `FieldError`: its fields, and `code` one of its `Code`s.
fn field_error() -> Value {
    let mut properties = Map::new();
    for field in names::<onboard_shared::FieldError>() {
        let s = match *field {
            "code" => json!({ "type": "string", "enum": names::<Code>() }),
            "field" => {
                json!({ "type": "string", "description": "JSON path into the payload (`speakers[1].email`); empty for the whole body." })
            }
            _ => json!({ "type": "string" }),
        };
        properties.insert((*field).to_string(), s);
    }
    json!({
        "type": "object", "additionalProperties": false,
        "required": names::<onboard_shared::FieldError>(),
        "properties": properties
    })
}

/// `errors` of an error body: the rulebook's field errors.
pub(crate) fn field_errors() -> RefOr<Schema> {
    schema(json!({ "type": "array", "items": reference("FieldError") }))
}

/// `errors` of an invalid bulk row: at least one.
pub(crate) fn field_error_list() -> RefOr<Schema> {
    schema(json!({ "type": "array", "minItems": 1, "items": reference("FieldError") }))
}

pub(crate) fn user_type() -> RefOr<Schema> {
    schema(json!({ "type": "string", "enum": names::<UserType>() }))
}

pub(crate) fn status_or_null() -> RefOr<Schema> {
    let mut values: Vec<Value> = names::<Status>().iter().map(|s| json!(s)).collect();
    values.push(Value::Null);
    schema(json!({ "type": ["string", "null"], "enum": values }))
}

/// The event type names of the rulebook (`EVENT_TYPES`).
fn event_names() -> Vec<&'static str> {
    onboard_shared::EVENT_TYPES
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

pub(crate) fn event_type() -> RefOr<Schema> {
    schema(json!({ "type": "string", "enum": event_names() }))
}

pub(crate) fn event_types() -> RefOr<Schema> {
    schema(json!({ "type": "array", "items": { "type": "string", "enum": event_names() } }))
}

pub(crate) fn delivery_state() -> RefOr<Schema> {
    schema(json!({ "type": "string", "enum": ["pending", "delivered", "failed"] }))
}

pub(crate) fn privilege() -> RefOr<Schema> {
    schema(json!({ "type": "string", "enum": names::<Privilege>() }))
}

/// An object of booleans, every field present (how the options are answered).
fn booleans(fields: &[&str]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| ((*f).to_string(), json!({ "type": "boolean" })))
        .collect();
    json!({ "type": "object", "additionalProperties": false, "required": fields, "properties": properties })
}

pub(crate) fn user_options() -> RefOr<Schema> {
    schema(booleans(names::<UserOptions>()))
}

pub(crate) fn sponsor_options() -> RefOr<Schema> {
    schema(booleans(names::<SponsorOptions>()))
}

// ---- requests: from the rulebook ----

/// Whitespace `str::trim` removes (Unicode White_Space): the rulebook trims text first.
const WS: &str = "\\t\\n\\u000b\\u000c\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/// Characters refused in one-line text: control characters (C0, DEL, C1).
const CONTROL: &str = "\\u0000-\\u001f\\u007f-\\u009f";
/// Characters refused in multi-line text: control characters but tab and line breaks.
const CONTROL_ML: &str = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f";
/// Format characters that render as nothing: text made only of them is blank.
const INVISIBLE: &str = "\\u00ad\\u034f\\u180e\\u200b-\\u200f\\u2060-\\u2064\\ufeff";

/// `If-Match` as `routes::if_match` reads it: `*`, or a comma-separated list of entity tags
/// (`"3"`, weak `W/"3"`) of visible ASCII; anything else is a 400.
const IF_MATCH: &str = "^[ \\t]*(\\*|(W/)?\"[!#-~]*\"([ \\t]*,[ \\t]*(W/)?\"[!#-~]*\")*)[ \\t]*$";

/// One of `values`, as the rulebook's choices read them: trimmed, and when `required` is
/// false, absent, null or blank (not given). The enum is for readers and generated clients;
/// the pattern says exactly what the server takes.
fn choice(values: &[&str], required: bool) -> Value {
    let core = values
        .iter()
        .map(|v| regex_escape(v))
        .collect::<Vec<_>>()
        .join("|");
    let mut listed: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    if required {
        json!({ "anyOf": [
            { "type": "string", "enum": listed },
            { "type": "string", "pattern": format!("^[{WS}]*({core})[{WS}]*$") },
        ] })
    } else {
        listed.push(Value::Null);
        json!({ "anyOf": [
            { "type": ["string", "null"], "enum": listed },
            optional(&core),
        ] })
    }
}

/// `text` with the characters a regular expression gives a meaning to escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Optional text: absent, null, blank (not given), or after trimming at most `max`
/// characters without the refused control characters.
fn text(max: usize, control: &str) -> Value {
    if max > LONG {
        return json!({
            "type": ["string", "null"],
            "maxLength": max,
            "pattern": format!("^[{WS}]*[^{control}]*[{WS}]*$")
        });
    }
    json!({
        "type": ["string", "null"],
        "pattern": format!("^[{WS}]*[^{control}]{{0,{max}}}[{WS}]*$")
    })
}

/// Above this many characters a repetition count makes regular expressions too large to
/// compile: long text is bounded by `maxLength` instead (counting the whitespace the
/// rulebook trims, a difference only for text padded past its limit).
const LONG: usize = 1000;

fn line(max: usize) -> Value {
    text(max, CONTROL)
}

fn multiline(max: usize) -> Value {
    text(max, CONTROL_ML)
}

/// Required one-line text: a visible first character, at most `max` characters from it on
/// (a little stricter than the rule, which also allows invisible characters first: a
/// pattern cannot count past them).
fn required_line(max: usize) -> Value {
    json!({
        "type": "string",
        "pattern": format!(
            "^[{WS}]*[^{CONTROL}{WS}{INVISIBLE}][^{CONTROL}]{{0,{}}}$",
            max - 1
        )
    })
}

/// An optional value that must match `core` when given (blank counts as not given).
fn optional(core: &str) -> Value {
    json!({
        "type": ["string", "null"],
        "pattern": format!("^[{WS}]*({core}|[{INVISIBLE}]*)[{WS}]*$")
    })
}

/// The rulebook's https URL, as far as a pattern can say it: `https://`, a host name of
/// letters, digits and inner hyphens, an optional port, then visible ASCII only.
const HTTPS_URL: &str = "https://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?([/?#][!-~]*)?";

/// E-mails the rulebook accepts, within bounds a pattern can count: an ASCII dot-atom local
/// part of at most 64 characters, two to four host labels, the last alphabetic or punycode,
/// 227 characters in all (the rule: 254; a longer address is valid but not described).
const EMAIL: &str = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,31})?@([A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?\\.){1,3}([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{0,58}[A-Za-z0-9])";

const HEX_COLOR: &str = "#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})";

/// The properties of a payload type, in its field order; `schema_of` says each one's rule.
fn object(fields: &[&str], required: &[&str], schema_of: impl Fn(&str) -> Value) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| ((*f).to_string(), schema_of(f)))
        .collect();
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

/// An optional object of optional booleans (how the options are sent).
fn optional_booleans(fields: &[&str]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| ((*f).to_string(), json!({ "type": ["boolean", "null"] })))
        .collect();
    json!({ "type": ["object", "null"], "additionalProperties": false, "properties": properties })
}

fn inputs() -> Vec<(&'static str, Value)> {
    let https = json!({ "type": "string", "maxLength": URL_MAX,
        "pattern": format!("^[{WS}]*{HTTPS_URL}[{WS}]*$") });
    let mut https_opt = optional(HTTPS_URL);
    https_opt["maxLength"] = json!(URL_MAX);
    let email = json!({ "type": "string", "pattern": format!("^[{WS}]*{EMAIL}[{WS}]*$") });
    let username = json!({
        "type": ["string", "null"], "minLength": USERNAME_MIN, "maxLength": USERNAME_MAX,
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._#-]*$"
    });
    let tags =
        json!({ "type": ["array", "null"], "maxItems": TAGS_MAX, "items": required_line(TAG_MAX) });
    let mut timezone = choice(onboard_shared::timezones(), false);
    timezone["description"] = json!("IANA name, e.g. Europe/Paris.");
    let socials_fields = names::<onboard_shared::Socials>();
    let socials = {
        let mut s = object(socials_fields, &[], |_| https_opt.clone());
        s["type"] = json!(["object", "null"]);
        s
    };

    let user = object(
        names::<NewUser>(),
        &catalogue_required(|f| (!f.path.contains('.')).then_some(f.path)),
        |f| match f {
            "email" => email.clone(),
            "type" => choice(names::<UserType>(), true),
            "q" => {
                json!({ "type": "string", "description": "Case-insensitive prefix of the e-mail, username, first or last name." })
            }
            "firstName" | "lastName" => required_line(NAME_MAX),
            "username" => username.clone(),
            "avatar" | "website" => https_opt.clone(),
            "description" => multiline(DESCRIPTION_MAX),
            "job" | "company" | "country" | "city" => line(SHORT_TEXT_MAX),
            "tags" => tags.clone(),
            "timezone" => timezone.clone(),
            "status" => choice(names::<Status>(), false),
            "socials" => socials.clone(),
            "options" => {
                let mut o = optional_booleans(names::<UserOptions>());
                o["properties"]["highlight"]["description"] = json!("Speakers only.");
                o
            }
            other => panic!("no request schema for the user field {other}"),
        },
    );
    // The rulebook's cross-field rule `speaker_only`: `options.highlight: true` needs the
    // Speaker type. (Not in patches: there the type may come from the stored user.)
    let mut user = user;
    let speaker_type = serde_json::to_value(UserType::Speaker).expect("a user type is a string");
    let speaker_type = speaker_type.as_str().unwrap_or_default();
    user["if"] = json!({
        "properties": { "options": {
            "type": "object",
            "properties": { "highlight": { "const": true } },
            "required": ["highlight"]
        } },
        "required": ["options"]
    });
    user["then"] = json!({ "properties": { "type": {
        "type": "string", "pattern": format!("^[{WS}]*{speaker_type}[{WS}]*$")
    } } });
    let speaker = object(
        names::<NewSpeaker>(),
        &catalogue_required(|f| f.speaker),
        |f| match f {
            "email" => email.clone(),
            // Required by the rulebook when the e-mail has no account yet, which the database
            // knows and a document cannot: it asks for them always, so that every request it
            // allows is accepted.
            "firstName" | "lastName" => {
                let mut name = required_line(NAME_MAX);
                name["description"] =
                    json!("May be left out when the e-mail already has an account.");
                name
            }
            "username" => username.clone(),
            "avatar" => https_opt.clone(),
            "description" => multiline(DESCRIPTION_MAX),
            "job" | "company" => line(SHORT_TEXT_MAX),
            "tags" => tags.clone(),
            "timezone" => timezone.clone(),
            "highlighted" => json!({ "type": ["boolean", "null"] }),
            other => panic!("no request schema for the speaker field {other}"),
        },
    );
    let sponsor = object(names::<NewSponsor>(), SPONSOR_REQUIRED, |f| match f {
        "name" => required_line(SPONSOR_NAME_MAX),
        "logo" => https.clone(),
        "level" => json!({ "type": "integer", "minimum": LEVEL_MIN, "maximum": LEVEL_MAX }),
        "hasPage" => json!({ "type": ["boolean", "null"] }),
        "pageContent" => {
            let mut p = multiline(PAGE_CONTENT_MAX);
            p["description"] =
                json!("HTML; sanitized (no scripts, event handlers or javascript: URLs).");
            p
        }
        "website" | "icon" => https_opt.clone(),
        "speakers" => {
            json!({ "type": ["array", "null"], "maxItems": SPEAKERS_MAX, "items": reference("SpeakerInput") })
        }
        "color" => optional(HEX_COLOR),
        "options" => optional_booleans(names::<SponsorOptions>()),
        other => panic!("no request schema for the sponsor field {other}"),
    });
    let key = object(names::<NewKey>(), &["description"], |f| match f {
        "description" => required_line(KEY_DESCRIPTION_MAX),
        "privilege" => {
            let mut p = choice(names::<Privilege>(), false);
            p["default"] = json!("restricted");
            p
        }
        other => panic!("no request schema for the key field {other}"),
    });
    let user_patch = patch_of(
        &user,
        "A JSON Merge Patch (RFC 7396) of the user's fields: present fields change, `null` removes an optional one, absent ones stay. `id`, `password`, `createdAt`, `updatedAt` are `read_only`.",
    );
    let mut sponsor_patch = patch_of(
        &sponsor,
        "A JSON Merge Patch (RFC 7396) of the sponsor's own fields. The slug stays on a rename unless `slug` is given; speakers have their own routes (`speakers` is `read_only`).",
    );
    if let Some(props) = sponsor_patch["properties"].as_object_mut() {
        props.remove("speakers");
        props.insert(
            "slug".into(),
            json!({ "type": "string", "maxLength": onboard_shared::SLUG_MAX, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$" }),
        );
    }
    // `http://` is accepted too when the operator sets ONBOARD_WEBHOOK_ALLOW_PRIVATE: the
    // document says what every server accepts.
    let webhook_url = json!({ "type": "string", "maxLength": URL_MAX,
        "pattern": format!("^[{WS}]*{HTTPS_URL}[{WS}]*$"),
        "description": "An https:// URL of a public address (no localhost, private or link-local address, also after DNS)." });
    let events = json!({ "type": ["array", "null"], "uniqueItems": true,
        "description": "Event types to send; absent, null or empty: every type.",
        "items": { "type": "string", "enum": event_names() } });
    let webhook = object(onboard_shared::WEBHOOK_FIELDS, &["url"], |f| match f {
        "url" => webhook_url.clone(),
        "events" => events.clone(),
        "description" => line(onboard_shared::WEBHOOK_DESCRIPTION_MAX),
        other => panic!("no request schema for the webhook field {other}"),
    });
    let webhook_patch = object(onboard_shared::WEBHOOK_PATCH_FIELDS, &[], |f| match f {
        "url" => webhook_url.clone(),
        "events" => events.clone(),
        "description" => line(onboard_shared::WEBHOOK_DESCRIPTION_MAX),
        "disabled" => {
            json!({ "type": "boolean", "description": "false enables it again (its pending deliveries then go out)." })
        }
        other => panic!("no request schema for the webhook field {other}"),
    });
    let on_existing: Vec<&str> = onboard_shared::ON_EXISTING
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let mut on_existing = choice(&on_existing, false);
    on_existing["default"] = json!("skip");
    on_existing["description"] = json!(
        "What a row whose e-mail is already a user does: `skip` (its status is `exists`, nothing changes), `update` (its non-empty cells are applied as a patch of that user, as `PATCH /v1/users/{id}` would: `updated` or `unchanged`; such a row needs only the columns it changes), `fail` (`invalid` with `email_taken`)."
    );
    let bulk = json!({
        "type": "object", "additionalProperties": false, "required": ["users"],
        "properties": {
            "users": {
                "type": "array", "maxItems": onboard_shared::BULK_MAX,
                "description": "User payloads (as `UserInput`), each checked on its own: a row the rulebook refuses is answered as `invalid` in the 200 body, not refused with the request.",
                "items": {}
            },
            "onExisting": on_existing
        }
    });
    vec![
        ("UserInput", user),
        ("SpeakerInput", speaker),
        ("SponsorInput", sponsor),
        ("KeyInput", key),
        ("BulkInput", bulk),
        ("UserPatch", user_patch),
        ("SponsorPatch", sponsor_patch),
        ("WebhookInput", webhook),
        ("WebhookPatch", webhook_patch),
    ]
}

/// The required fields of the catalogue, as `name` names them (`None` leaves one out).
fn catalogue_required(name: impl Fn(&Field) -> Option<&'static str>) -> Vec<&'static str> {
    onboard_shared::FIELDS
        .iter()
        .filter(|f| f.required)
        .filter_map(name)
        .collect()
}

/// A merge patch of `input`'s fields: none required, `null` removes an optional field
/// (the rulebook answers `required` for a required one).
fn patch_of(input: &Value, description: &str) -> Value {
    let mut p = input.clone();
    if let Some(o) = p.as_object_mut() {
        for whole_record_only in ["required", "if", "then"] {
            o.remove(whole_record_only);
        }
        o.insert("description".into(), json!(description));
        if let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
            for v in props.values_mut() {
                *v = json!({ "anyOf": [v.clone(), { "type": "null" }] });
            }
        }
    }
    p
}

// ---- the rulebook's names, from its own types ----

/// The wire names `T`'s `Deserialize` knows: an enum's variants (`UserType` → `Attendee`,
/// `Speaker`) or a struct's fields, as serde renames them. The document reads the
/// rulebook's enums and payload fields this way instead of keeping a copy of them.
fn names<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(introspect::Catch) {
        Err(introspect::Names(found)) => found,
        Ok(_) => &[],
    }
}

mod introspect {
    use serde::de::{self, Deserializer, Visitor};

    /// The names handed to `deserialize_enum` / `deserialize_struct`, carried out as the error.
    #[derive(Debug)]
    pub(super) struct Names(pub(super) &'static [&'static str]);

    impl std::fmt::Display for Names {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl std::error::Error for Names {}

    impl de::Error for Names {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Names(&[])
        }
    }

    pub(super) struct Catch;

    impl<'de> Deserializer<'de> for Catch {
        type Error = Names;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Names> {
            Err(Names(&[]))
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Names> {
            Err(Names(variants))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Names> {
            Err(Names(fields))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map identifier ignored_any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rulebook_names_are_read_from_its_types() {
        assert_eq!(names::<UserType>(), ["Attendee", "Speaker"]);
        assert_eq!(names::<Privilege>(), ["standard", "restricted"]);
        assert!(names::<Code>().contains(&"url_not_https"));
        assert_eq!(names::<UserOptions>(), ["highlight", "endRegistration"]);
        assert!(names::<NewUser>().contains(&"firstName"));
    }

    #[test]
    fn every_route_is_documented_once_with_its_answers() {
        let doc = document();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
            assert_eq!(op["operationId"], route.doc.id);
            assert!(op["responses"][route.doc.ok.0.to_string()].is_object());
            if let Some(name) = route.doc.ok.2 {
                assert!(
                    doc["components"]["schemas"][name].is_object(),
                    "{name} has no schema"
                );
            }
        }
    }
}
