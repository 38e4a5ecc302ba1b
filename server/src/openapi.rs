//! The OpenAPI 3.1 document of every route, request body, response and error. Tests
//! validate real responses against these schemas, so keep them exact: when a wire type
//! in `routes/` or `domain/` changes, change its schema here.

use onboard_shared::{
    DESCRIPTION_MAX, EMAIL_MAX, NAME_MAX, PAGE_CONTENT_MAX, SHORT_TEXT_MAX, SPEAKERS_MAX,
    SPONSOR_NAME_MAX, TAG_MAX, TAGS_MAX, URL_MAX, USERNAME_MAX, USERNAME_MIN,
};
use serde_json::{Value, json};

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

/// A JSON response with a schema and optional headers.
fn resp(description: &str, schema: Value, headers: &[&str]) -> Value {
    let mut h = serde_json::Map::new();
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
    json!({ "description": description, "headers": h, "content": { "application/json": { "schema": schema } } })
}

fn error(description: &str) -> Value {
    resp(description, r("Error"), &[])
}

/// The error responses every authenticated route can give.
fn common_errors(write: bool, body: bool) -> Vec<(&'static str, Value)> {
    let mut v = vec![
        (
            "401",
            error("Missing Authorization header, or invalid API key."),
        ),
        (
            "429",
            resp(
                "Too many requests for this key.",
                r("Error"),
                &[
                    "Retry-After",
                    "RateLimit-Limit",
                    "RateLimit-Remaining",
                    "RateLimit-Reset",
                ],
            ),
        ),
        (
            "500",
            error("Internal error; the message quotes the request id."),
        ),
        (
            "503",
            resp(
                "`overloaded` or `database_unavailable`.",
                r("Error"),
                &["Retry-After"],
            ),
        ),
    ];
    if write {
        v.push(("403", error("Access denied: the key is restricted.")));
    }
    if body {
        v.push((
            "400",
            error("`invalid_json` or `validation_failed`, with `errors`."),
        ));
        v.push(("413", error("Body larger than 1 MiB.")));
        v.push(("415", error("Body is not JSON.")));
    }
    v
}

fn op(
    summary: &str,
    op_id: &str,
    tag: &str,
    mut responses: Vec<(&'static str, Value)>,
    extra: Value,
) -> Value {
    let mut map = serde_json::Map::new();
    for (status, v) in responses.drain(..) {
        map.insert(status.into(), v);
    }
    let mut o = json!({
        "summary": summary,
        "operationId": op_id,
        "tags": [tag],
        "security": [{ "bearer": [] }],
        "responses": map,
    });
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            o.insert(k.clone(), v.clone());
        }
    }
    o
}

fn body(schema: &str) -> Value {
    json!({ "requestBody": { "required": true, "content": { "application/json": { "schema": r(schema) } } } })
}

fn params(list: &[(&str, &str, Value)]) -> Value {
    let p: Vec<Value> = list
        .iter()
        .map(|(name, inn, schema)| {
            json!({ "name": name, "in": inn, "required": *inn == "path", "schema": schema })
        })
        .collect();
    json!({ "parameters": p })
}

fn with(
    mut v: Vec<(&'static str, Value)>,
    more: Vec<(&'static str, Value)>,
) -> Vec<(&'static str, Value)> {
    v.extend(more);
    v
}

/// A merge patch of `input`'s fields: none required, `null` removes an optional field
/// (the rulebook answers `required` for a required one).
fn patch_of(input: &Value, description: &str) -> Value {
    let mut p = input.clone();
    if let Some(o) = p.as_object_mut() {
        o.remove("required");
        o.insert("description".into(), json!(description));
        if let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
            for v in props.values_mut() {
                *v = json!({ "anyOf": [v.clone(), { "type": "null" }] });
            }
        }
    }
    p
}

pub fn document() -> Value {
    let page = || {
        vec![
            (
                "limit",
                "query",
                json!({ "type": "integer", "minimum": 1, "maximum": 100, "default": 20 }),
            ),
            (
                "after",
                "query",
                json!({ "type": "string", "pattern": "^[0-9a-f]{24}$" }),
            ),
        ]
    };
    let id_param = |name: &'static str| vec![(name, "path", json!({ "type": "string" }))];
    let rl = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"];

    let mut users_list_params = page();
    users_list_params.push(("email", "query", json!({ "type": "string" })));
    users_list_params.push((
        "type",
        "query",
        json!({ "type": "string", "enum": ["Attendee", "Speaker"] }),
    ));
    users_list_params.push(("tag", "query", json!({ "type": "string" })));
    users_list_params.push((
        "q",
        "query",
        json!({ "type": "string", "description": "Case-insensitive prefix of the e-mail, username, first or last name." }),
    ));
    let mut sponsors_list_params = page();
    sponsors_list_params.push(("slug", "query", json!({ "type": "string" })));

    let not_found = (
        "404",
        error("No such resource (also for ids that are not 24 hex characters)."),
    );
    let etag = ["ETag", rl[0], rl[1], rl[2]];
    let with_if_match = |mut list: Vec<(&'static str, &'static str, Value)>| {
        list.push((
            "If-Match",
            "header",
            json!({ "type": "string", "description": "The `ETag` of a previous answer (or `*`): the change happens only if the record is still at that version, else 412 `precondition_failed`." }),
        ));
        params(&list)
    };
    let precondition = (
        "412",
        error("`precondition_failed`: the record changed since the version in `If-Match`."),
    );
    let no_content = |d: &str| json!({ "description": d, "headers": { "x-request-id": { "$ref": "#/components/headers/RequestId" } } });
    let patch_body = |schema: &str| {
        json!({ "requestBody": { "required": true, "content": {
            "application/merge-patch+json": { "schema": r(schema) },
            "application/json": { "schema": r(schema) }
        } } })
    };
    let merge = |a: Value, b: Value| {
        let mut a = a;
        if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
            for (k, v) in b {
                a.insert(k.clone(), v.clone());
            }
        }
        a
    };
    let conflict = (
        "409",
        error(
            "A unique value is taken: `errors` names the field (`email_taken`, `username_taken`, `slug_taken`).",
        ),
    );

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "onboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Create, read, correct and remove users and sponsors, validated by the onboard rulebook. Every error is `{code, message, errors?}`.",
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" }
        },
        "paths": {
            "/v1/users": {
                "post": op("Create a user", "createUser", "users",
                    with(common_errors(true, true), vec![
                        ("201", resp("Created; the password is shown only here.", r("UserCreated"), &["Location", rl[0], rl[1], rl[2]])),
                        conflict.clone(),
                    ]),
                    body("UserInput")),
                "get": op("List users", "listUsers", "users",
                    with(common_errors(false, false), vec![
                        ("200", resp("A page of users.", r("UserList"), &rl)),
                        ("400", error("Invalid query parameter.")),
                    ]),
                    params(&users_list_params)),
            },
            "/v1/users/bulk": {
                "post": op("Create many users, each row on its own", "bulkCreateUsers", "users",
                    with(common_errors(true, true), vec![
                        ("200", resp("One result per row, in request order: `created` (password shown only here), `exists` (the e-mail is already a user; nothing changed), `invalid` (rulebook errors, `duplicate_in_batch`, or `username_taken`), `failed` (not stored; safe to send again).", r("BulkResult"), &rl)),
                        ("413", error("Body larger than 8 MiB, or more than 1,000 users.")),
                    ]),
                    body("BulkInput")),
            },
            "/v1/users/{id}/password": {
                "post": op("Issue a new generated password (the old one stops working)", "reissuePassword", "users",
                    with(common_errors(true, false), vec![
                        ("200", resp("The new password, shown only here.", r("PasswordReissued"), &rl)),
                        not_found.clone(),
                    ]),
                    params(&id_param("id"))),
            },
            "/v1/users/{id}": {
                "get": op("Get a user", "getUser", "users",
                    with(common_errors(false, false), vec![("200", resp("The user.", r("User"), &etag)), not_found.clone()]),
                    params(&id_param("id"))),
                "patch": op("Correct a user (JSON Merge Patch)", "updateUser", "users",
                    with(common_errors(true, true), vec![
                        ("200", resp("The user after the patch, as GET returns it.", r("User"), &etag)),
                        not_found.clone(),
                        conflict.clone(),
                        precondition.clone(),
                    ]),
                    merge(with_if_match(id_param("id")), patch_body("UserPatch"))),
                "delete": op("Erase a user (and unlink it from every sponsor)", "deleteUser", "users",
                    with(common_errors(true, false), vec![
                        ("204", no_content("Erased: no copy of the person's data is left.")),
                        ("400", error("`If-Match` is not `*` or a list of entity tags.")),
                        not_found.clone(),
                        precondition.clone(),
                    ]),
                    with_if_match(id_param("id"))),
            },
            "/v1/sponsors": {
                "post": op("Create a sponsor and its new speakers, atomically", "createSponsor", "sponsors",
                    with(common_errors(true, true), vec![
                        ("201", resp("Created; passwords only for new speaker accounts.", r("SponsorCreated"), &["Location", rl[0], rl[1], rl[2]])),
                        conflict.clone(),
                    ]),
                    body("SponsorInput")),
                "get": op("List sponsors", "listSponsors", "sponsors",
                    with(common_errors(false, false), vec![
                        ("200", resp("A page of sponsors.", r("SponsorList"), &rl)),
                        ("400", error("Invalid query parameter.")),
                    ]),
                    params(&sponsors_list_params)),
            },
            "/v1/sponsors/{id}": {
                "get": op("Get a sponsor", "getSponsor", "sponsors",
                    with(common_errors(false, false), vec![("200", resp("The sponsor.", r("Sponsor"), &etag)), not_found.clone()]),
                    params(&id_param("id"))),
                "patch": op("Correct a sponsor's own fields (JSON Merge Patch; the slug changes only when given)", "updateSponsor", "sponsors",
                    with(common_errors(true, true), vec![
                        ("200", resp("The sponsor after the patch, as GET returns it.", r("Sponsor"), &etag)),
                        not_found.clone(),
                        conflict.clone(),
                        precondition.clone(),
                    ]),
                    merge(with_if_match(id_param("id")), patch_body("SponsorPatch"))),
                "delete": op("Delete a sponsor (its speakers' accounts stay)", "deleteSponsor", "sponsors",
                    with(common_errors(true, false), vec![
                        ("204", no_content("Deleted.")),
                        ("400", error("`If-Match` is not `*` or a list of entity tags.")),
                        not_found.clone(),
                        precondition,
                    ]),
                    with_if_match(id_param("id"))),
            },
            "/v1/sponsors/{id}/speakers": {
                "post": op("Add a speaker: link the account with this e-mail, or create one", "addSpeaker", "sponsors",
                    with(common_errors(true, true), vec![
                        ("201", resp("A new account; its password is shown only here.", r("SpeakerAdded"), &["Location", rl[0], rl[1], rl[2]])),
                        ("200", resp("An existing account, linked (an attendee becomes a Speaker).", r("SpeakerAdded"), &rl)),
                        not_found.clone(),
                        ("409", error("`already_speaker`, or a taken `username` (`username_taken`).")),
                    ]),
                    merge(params(&id_param("id")), body("SpeakerInput"))),
            },
            "/v1/sponsors/{id}/speakers/{userId}": {
                "delete": op("Remove a speaker from a sponsor (the account stays)", "removeSpeaker", "sponsors",
                    with(common_errors(true, false), vec![
                        ("204", no_content("Unlinked.")),
                        ("404", error("No such sponsor, or the user is not one of its speakers.")),
                    ]),
                    params(&[("id", "path", json!({ "type": "string" })), ("userId", "path", json!({ "type": "string" }))])),
            },
            "/v1/tags": {
                "get": op("List tags", "listTags", "tags",
                    with(common_errors(false, false), vec![
                        ("200", resp("A page of tags.", r("TagList"), &rl)),
                        ("400", error("Invalid query parameter.")),
                    ]),
                    params(&page())),
            },
            "/v1/keys": {
                "post": op("Create an API key (standard keys only)", "createKey", "keys",
                    with(common_errors(true, true), vec![
                        ("201", resp("Created; the key is shown only here.", r("KeyCreated"), &["Location", rl[0], rl[1], rl[2]])),
                        ("409", error("`too_many_keys`: ONBOARD_MAX_KEYS keys exist already.")),
                    ]),
                    body("KeyInput")),
                "get": op("List API keys (standard keys only; never the keys)", "listKeys", "keys",
                    with(common_errors(true, false), vec![
                        ("200", resp("A page of keys.", r("KeyList"), &rl)),
                        ("400", error("Invalid query parameter.")),
                    ]),
                    params(&page())),
            },
            "/v1/keys/{id}": {
                "delete": op("Delete an API key (standard keys only)", "deleteKey", "keys",
                    with(common_errors(true, false), vec![
                        ("204", json!({ "description": "Deleted.", "headers": { "x-request-id": { "$ref": "#/components/headers/RequestId" } } })),
                        ("409", error("`key_configured`: the configured key (ONBOARD_API_KEY) is revoked by changing that setting.")),
                        not_found,
                    ]),
                    params(&id_param("id"))),
            },
            "/healthz": {
                "get": {
                    "summary": "The process is up", "operationId": "healthz", "tags": ["health"], "security": [],
                    "responses": { "200": resp("Up.", r("Status"), &[]) }
                }
            },
            "/readyz": {
                "get": {
                    "summary": "The database answers", "operationId": "readyz", "tags": ["health"], "security": [],
                    "responses": {
                        "200": resp("Ready.", r("Status"), &[]),
                        "503": resp("`database_unavailable`.", r("Error"), &["Retry-After"])
                    }
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document", "operationId": "openapi", "tags": ["meta"], "security": [],
                    "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            }
        },
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
    })
}

/// Characters the rulebook refuses in one-line text: control characters (C0, DEL, C1).
const NO_CONTROL: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// One-line text that may be absent or null.
fn line(max: usize) -> Value {
    json!({ "type": ["string", "null"], "maxLength": max, "pattern": NO_CONTROL })
}

/// Multi-line text (line breaks and tabs allowed) that may be absent or null.
fn multiline(max: usize) -> Value {
    json!({
        "type": ["string", "null"], "maxLength": max,
        "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    })
}

/// Required one-line text: at least one visible character, no control characters.
fn required_line(max: usize) -> Value {
    json!({
        "type": "string", "minLength": 1, "maxLength": max,
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    })
}

/// The rulebook's https URL, as far as a pattern can say it: `https://`, a host name of
/// letters, digits and inner hyphens, an optional port, then visible ASCII only.
const HTTPS_URL: &str = "^https://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:[1-9][0-9]{0,3})?([/?#][!-~]*)?$";

fn schemas() -> Value {
    let https = json!({ "type": "string", "maxLength": URL_MAX, "pattern": HTTPS_URL });
    let https_opt =
        json!({ "type": ["string", "null"], "maxLength": URL_MAX, "pattern": HTTPS_URL });
    // ASCII dot-atom local part, a domain of two or more labels with an alphabetic or
    // punycode top-level label.
    let email = json!({
        "type": "string", "maxLength": EMAIL_MAX,
        "pattern": "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
    });
    let username = json!({
        "type": ["string", "null"], "minLength": USERNAME_MIN, "maxLength": USERNAME_MAX,
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._#-]*$"
    });
    let tags = json!({
        "type": ["array", "null"], "maxItems": TAGS_MAX,
        "items": required_line(TAG_MAX)
    });
    let timezone = json!({
        "type": ["string", "null"], "description": "IANA name, e.g. Europe/Paris.",
        "enum": onboard_shared::timezones().iter().map(|t| json!(t)).chain([Value::Null]).collect::<Vec<_>>()
    });
    let id = json!({ "type": "string", "pattern": "^[0-9a-f]{24}$" });
    let date = json!({ "type": "string", "format": "date-time" });
    let cursor = json!({ "type": ["string", "null"], "pattern": "^[0-9a-f]{24}$" });
    let list = |item: &str| {
        json!({
            "type": "object", "additionalProperties": false, "required": ["items", "next"],
            "properties": { "items": { "type": "array", "items": r(item) }, "next": cursor }
        })
    };
    let statuses = json!([
        "Employed",
        "Looking for a job",
        "Student",
        "Freelancer",
        "Working for a startup"
    ]);
    let mut all = json!({
        "Error": {
            "type": "object", "additionalProperties": false, "required": ["code", "message"],
            "properties": {
                "code": { "type": "string", "enum": [
                    "invalid_json", "validation_failed", "unauthorized", "forbidden", "not_found",
                    "method_not_allowed", "conflict", "precondition_failed", "key_configured", "too_many_keys",
                    "payload_too_large", "unsupported_media_type",
                    "rate_limited", "overloaded", "database_unavailable", "internal"
                ] },
                "message": { "type": "string" },
                "errors": { "type": "array", "items": r("FieldError") }
            }
        },
        "FieldError": {
            "type": "object", "additionalProperties": false, "required": ["field", "code", "message"],
            "properties": {
                "field": { "type": "string", "description": "JSON path into the payload (`speakers[1].email`); empty for the whole body." },
                "code": { "type": "string", "description": "Stable code from the rulebook (`required`, `url_not_https`, `email_taken`...)." },
                "message": { "type": "string" }
            }
        },
        "Status": {
            "type": "object", "additionalProperties": false, "required": ["status"],
            "properties": { "status": { "const": "ok" } }
        },
        "UserInput": {
            "type": "object", "additionalProperties": false,
            "required": ["email", "type", "firstName", "lastName"],
            "properties": {
                "email": email,
                "type": { "type": "string", "enum": ["Attendee", "Speaker"] },
                "firstName": required_line(NAME_MAX),
                "lastName": required_line(NAME_MAX),
                "username": username,
                "avatar": https_opt,
                "description": multiline(DESCRIPTION_MAX),
                "job": line(SHORT_TEXT_MAX),
                "company": line(SHORT_TEXT_MAX),
                "tags": tags,
                "timezone": timezone,
                "country": line(SHORT_TEXT_MAX),
                "city": line(SHORT_TEXT_MAX),
                "status": { "type": ["string", "null"], "enum": [statuses[0], statuses[1], statuses[2], statuses[3], statuses[4], null] },
                "website": https_opt,
                "socials": {
                    "type": ["object", "null"], "additionalProperties": false,
                    "properties": {
                        "facebook": https_opt, "linkedin": https_opt, "twitter": https_opt, "youtube": https_opt
                    }
                },
                "options": {
                    "type": ["object", "null"], "additionalProperties": false,
                    "properties": {
                        "highlight": { "type": ["boolean", "null"], "description": "Speakers only." },
                        "endRegistration": { "type": ["boolean", "null"] }
                    }
                }
            }
        },
        "UserCreated": {
            "type": "object", "additionalProperties": false,
            "required": ["code", "message", "id", "email", "password", "sideErrors"],
            "properties": {
                "code": { "const": "ok" },
                "message": { "const": "User created successfully" },
                "id": id,
                "email": { "type": "string" },
                "password": { "type": "string", "minLength": 8 },
                "sideErrors": { "type": "array", "items": r("SideError") }
            }
        },
        "BulkInput": {
            "type": "object", "additionalProperties": false, "required": ["users"],
            "properties": {
                "users": { "type": "array", "maxItems": onboard_shared::BULK_MAX, "items": r("UserInput") }
            }
        },
        "BulkResult": {
            "type": "object", "additionalProperties": false, "required": ["code", "counts", "results"],
            "properties": {
                "code": { "const": "ok" },
                "counts": {
                    "type": "object", "additionalProperties": false,
                    "required": ["created", "exists", "invalid", "failed"],
                    "properties": {
                        "created": { "type": "integer", "minimum": 0 },
                        "exists": { "type": "integer", "minimum": 0 },
                        "invalid": { "type": "integer", "minimum": 0 },
                        "failed": { "type": "integer", "minimum": 0 }
                    }
                },
                "results": { "type": "array", "items": r("BulkRowResult") }
            }
        },
        "BulkRowResult": {
            "oneOf": [
                {
                    "type": "object", "additionalProperties": false,
                    "required": ["index", "status", "id", "email", "password"],
                    "properties": {
                        "index": { "type": "integer", "minimum": 0 }, "status": { "const": "created" },
                        "id": id, "email": { "type": "string" }, "password": { "type": "string", "minLength": 8 }
                    }
                },
                {
                    "type": "object", "additionalProperties": false, "required": ["index", "status", "id", "email"],
                    "properties": {
                        "index": { "type": "integer", "minimum": 0 }, "status": { "const": "exists" },
                        "id": id, "email": { "type": "string" }
                    }
                },
                {
                    "type": "object", "additionalProperties": false, "required": ["index", "status", "errors"],
                    "properties": {
                        "index": { "type": "integer", "minimum": 0 }, "status": { "const": "invalid" },
                        "errors": { "type": "array", "minItems": 1, "items": r("FieldError") }
                    }
                },
                {
                    "type": "object", "additionalProperties": false, "required": ["index", "status", "error"],
                    "properties": {
                        "index": { "type": "integer", "minimum": 0 }, "status": { "const": "failed" },
                        "error": { "type": "string" }
                    }
                }
            ]
        },
        "PasswordReissued": {
            "type": "object", "additionalProperties": false, "required": ["code", "message", "id", "password"],
            "properties": {
                "code": { "const": "ok" },
                "message": { "const": "Password reissued successfully" },
                "id": id,
                "password": { "type": "string", "minLength": 8 }
            }
        },
        "SideError": {
            "type": "object", "additionalProperties": false, "required": ["message", "error"],
            "properties": { "message": { "type": "string" }, "error": { "type": "string" } }
        },
        "User": {
            "type": "object", "additionalProperties": false,
            "required": ["id", "email", "type", "firstName", "lastName", "username", "avatar", "description", "job",
                "company", "tags", "timezone", "country", "city", "status", "website", "socials", "options",
                "createdAt", "updatedAt"],
            "properties": {
                "id": id,
                "email": { "type": "string" },
                "type": { "type": "string", "enum": ["Attendee", "Speaker"] },
                "firstName": { "type": "string" },
                "lastName": { "type": "string" },
                "username": { "type": "string" },
                "avatar": nullable("string"),
                "description": nullable("string"),
                "job": nullable("string"),
                "company": nullable("string"),
                "tags": { "type": "array", "items": { "type": "string" } },
                "timezone": nullable("string"),
                "country": nullable("string"),
                "city": nullable("string"),
                "status": { "type": ["string", "null"], "enum": [statuses[0], statuses[1], statuses[2], statuses[3], statuses[4], null] },
                "website": nullable("string"),
                "socials": {
                    "type": "object", "additionalProperties": false,
                    "required": ["facebook", "linkedin", "twitter", "youtube"],
                    "properties": {
                        "facebook": nullable("string"), "linkedin": nullable("string"),
                        "twitter": nullable("string"), "youtube": nullable("string")
                    }
                },
                "options": {
                    "type": "object", "additionalProperties": false, "required": ["highlight", "endRegistration"],
                    "properties": { "highlight": { "type": "boolean" }, "endRegistration": { "type": "boolean" } }
                },
                "createdAt": date,
                "updatedAt": date
            }
        },
        "UserList": list("User"),
        "SpeakerInput": {
            "type": "object", "additionalProperties": false, "required": ["email"],
            "properties": {
                "email": email,
                "firstName": { "anyOf": [required_line(NAME_MAX), { "type": "null" }], "description": "Required when the e-mail has no account yet." },
                "lastName": { "anyOf": [required_line(NAME_MAX), { "type": "null" }], "description": "Required when the e-mail has no account yet." },
                "username": username,
                "avatar": https_opt,
                "description": multiline(DESCRIPTION_MAX),
                "job": line(SHORT_TEXT_MAX),
                "company": line(SHORT_TEXT_MAX),
                "tags": tags,
                "timezone": timezone,
                "highlighted": { "type": ["boolean", "null"] }
            }
        },
        "SponsorInput": {
            "type": "object", "additionalProperties": false, "required": ["name", "logo", "level"],
            "properties": {
                "name": required_line(SPONSOR_NAME_MAX),
                "logo": https,
                "level": { "type": "integer", "minimum": 1, "maximum": 5 },
                "hasPage": { "type": ["boolean", "null"] },
                "pageContent": {
                    "type": ["string", "null"], "maxLength": PAGE_CONTENT_MAX,
                    "description": "HTML; sanitized (no scripts, event handlers or javascript: URLs)."
                },
                "website": https_opt,
                "speakers": { "type": ["array", "null"], "maxItems": SPEAKERS_MAX, "items": r("SpeakerInput") },
                "icon": https_opt,
                "color": { "type": ["string", "null"], "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$" },
                "options": {
                    "type": ["object", "null"], "additionalProperties": false,
                    "properties": { "displayInLobby": { "type": ["boolean", "null"] }, "highlight": { "type": ["boolean", "null"] } }
                }
            }
        },
        "SpeakerAdded": {
            "type": "object", "additionalProperties": false, "required": ["id", "email"],
            "properties": {
                "id": id, "email": { "type": "string" },
                "password": { "type": "string", "minLength": 8, "description": "Only when the account was created by this request (201)." }
            }
        },
        "SponsorCreated": {
            "type": "object", "additionalProperties": false, "required": ["code", "message", "id", "slug", "speakers"],
            "properties": {
                "code": { "const": "ok" },
                "message": { "const": "Sponsor created successfully" },
                "id": id,
                "slug": { "type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$" },
                "speakers": {
                    "type": "array",
                    "items": {
                        "type": "object", "additionalProperties": false, "required": ["id", "email"],
                        "properties": {
                            "id": id, "email": { "type": "string" },
                            "password": { "type": "string", "description": "Only for accounts created by this request." }
                        }
                    }
                }
            }
        },
        "Sponsor": {
            "type": "object", "additionalProperties": false,
            "required": ["id", "name", "slug", "logo", "level", "hasPage", "pageContent", "website", "icon", "color",
                "options", "speakers", "createdAt", "updatedAt"],
            "properties": {
                "id": id,
                "name": { "type": "string" },
                "slug": { "type": "string" },
                "logo": { "type": "string" },
                "level": { "type": "integer", "minimum": 1, "maximum": 5 },
                "hasPage": { "type": "boolean" },
                "pageContent": nullable("string"),
                "website": nullable("string"),
                "icon": nullable("string"),
                "color": nullable("string"),
                "options": {
                    "type": "object", "additionalProperties": false, "required": ["displayInLobby", "highlight"],
                    "properties": { "displayInLobby": { "type": "boolean" }, "highlight": { "type": "boolean" } }
                },
                "speakers": {
                    "type": "array",
                    "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["id", "email", "firstName", "lastName", "username"],
                        "properties": {
                            "id": id, "email": { "type": "string" }, "firstName": { "type": "string" },
                            "lastName": { "type": "string" }, "username": { "type": "string" }
                        }
                    }
                },
                "createdAt": date,
                "updatedAt": date
            }
        },
        "SponsorList": list("Sponsor"),
        "Tag": {
            "type": "object", "additionalProperties": false, "required": ["id", "name"],
            "properties": { "id": id, "name": { "type": "string" } }
        },
        "TagList": list("Tag"),
        "KeyInput": {
            "type": "object", "additionalProperties": false, "required": ["description"],
            "properties": {
                "description": { "type": "string", "minLength": 1, "maxLength": 200 },
                "privilege": { "type": ["string", "null"], "enum": ["standard", "restricted", null], "default": "restricted" }
            }
        },
        "KeyCreated": {
            "type": "object", "additionalProperties": false, "required": ["id", "key", "description", "privilege", "createdAt"],
            "properties": {
                "id": id,
                "key": { "type": "string", "pattern": "^onb_[0-9a-f]{64}$" },
                "description": { "type": "string" },
                "privilege": { "type": "string", "enum": ["standard", "restricted"] },
                "createdAt": date
            }
        },
        "Key": {
            "type": "object", "additionalProperties": false, "required": ["id", "description", "privilege", "createdAt"],
            "properties": {
                "id": id,
                "description": { "type": "string" },
                "privilege": { "type": "string", "enum": ["standard", "restricted"] },
                "createdAt": date
            }
        },
        "KeyList": list("Key")
    });
    let user_patch = patch_of(
        &all["UserInput"],
        "A JSON Merge Patch (RFC 7396) of the user's fields: present fields change, `null` removes an optional one, absent ones stay. `id`, `password`, `createdAt`, `updatedAt` are `read_only`.",
    );
    let mut sponsor_patch = patch_of(
        &all["SponsorInput"],
        "A JSON Merge Patch (RFC 7396) of the sponsor's own fields. The slug stays on a rename unless `slug` is given; speakers have their own routes (`speakers` is `read_only`).",
    );
    if let Some(props) = sponsor_patch["properties"].as_object_mut() {
        props.remove("speakers");
        props.insert(
            "slug".into(),
            json!({ "type": "string", "maxLength": onboard_shared::SLUG_MAX, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$" }),
        );
    }
    if let Some(o) = all.as_object_mut() {
        o.insert("UserPatch".into(), user_patch);
        o.insert("SponsorPatch".into(), sponsor_patch);
    }
    all
}
