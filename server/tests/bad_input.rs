//! The bad-input catalogue (issue 7) through the server over real HTTP: every hostile body
//! sent to `POST /v1/users` and `POST /v1/sponsors` gets a clear 4xx in the one error shape
//! (400 `invalid_json` / `validation_failed` with the rulebook's field paths and codes, 413,
//! 415), never a 500 or a dropped connection, and nothing is written: every collection of the
//! test's database has the same number of documents before and after. Valid-but-unusual
//! input (emoji, right-to-left text, `$` and dots inside values) is stored exactly as given.
//!
//! The same catalogue runs through the npm package in `tests/npm/bad-input.test.mjs`.

#[path = "common/mod.rs"]
mod common;

use common::*;
use mongodb::bson::{Document, doc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const USERS: &str = "/v1/users";
const SPONSORS: &str = "/v1/sponsors";

/// A valid user body with `extra` (`,"key":value...`) appended inside the object.
fn user_text(extra: &str) -> String {
    format!(
        r#"{{"email":"jane@domain.com","type":"Attendee","firstName":"Jane","lastName":"Doe"{extra}}}"#
    )
}

/// A valid sponsor body with `extra` appended inside the object.
fn sponsor_text(extra: &str) -> String {
    format!(r#"{{"name":"Acme","logo":"https://acme.com/logo.png","level":3{extra}}}"#)
}

fn base_user() -> Value {
    json!({ "email": "jane@domain.com", "type": "Attendee", "firstName": "Jane", "lastName": "Doe" })
}

fn base_sponsor() -> Value {
    json!({ "name": "Acme", "logo": "https://acme.com/logo.png", "level": 3 })
}

/// `base` with `changes` merged in at the top level.
fn with(base: Value, changes: Value) -> Value {
    let mut v = base;
    for (k, x) in changes.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn sorted(want: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = want
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect();
    v.sort();
    v
}

/// Documents per collection of the test's database: the proof that nothing was written.
async fn stored(app: &TestApp) -> BTreeMap<String, u64> {
    let db = app.mongo().await;
    let mut counts = BTreeMap::new();
    for name in db.list_collection_names().await.unwrap() {
        let n = db
            .collection::<Document>(&name)
            .count_documents(doc! {})
            .await
            .unwrap();
        counts.insert(name, n);
    }
    counts
}

/// POSTs raw bytes with a Content-Type; returns the status and the JSON body, checked
/// against the OpenAPI document (status documented, body matches, `x-request-id` present).
async fn post_raw(
    app: &TestApp,
    route: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut rb = app.req(Method::POST, route).body(body);
    if let Some(c) = ctype {
        rb = rb.header("content-type", c);
    }
    let r = rb
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {route}: no answer ({e})"));
    let (status, _, body) = checked(r, "POST", route).await;
    (status, body)
}

/// Sends `body` as JSON and asserts: 400, `invalid_json` when `want` is exactly the
/// whole-payload `invalid_json` error, `validation_failed` otherwise, exactly the `want`
/// (field, code) pairs, and no document written. When the body is UTF-8 the native rulebook
/// must agree with the server (the server is only a transport for it).
async fn refused(app: &TestApp, route: &str, body: impl Into<Vec<u8>>, want: &[(&str, &str)]) {
    refused_as(app, route, body.into(), want, sorted(want)).await;
}

/// [`refused`] for the server's own checks, made after the rulebook passed a payload (a new
/// speaker account needs names): the rulebook must report `native`, the server `want`.
async fn refused_as(
    app: &TestApp,
    route: &str,
    body: Vec<u8>,
    want: &[(&str, &str)],
    native_want: Vec<(String, String)>,
) {
    let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let want = sorted(want);
    let before = stored(app).await;
    let (status, res) = post_raw(app, route, Some("application/json"), body.clone()).await;
    let want_code = if want == sorted(&[("", "invalid_json")]) {
        "invalid_json"
    } else {
        "validation_failed"
    };
    assert_eq!(
        (status, res["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some(want_code)),
        "POST {route} {shown}\n -> {res}"
    );
    assert_eq!(pairs(&res), want, "POST {route} {shown}\n -> {res}");
    for e in res["errors"].as_array().unwrap() {
        assert!(
            e["message"].as_str().is_some_and(|m| m.len() > 5),
            "every error has a message: {e}"
        );
    }
    assert_eq!(
        stored(app).await,
        before,
        "POST {route} {shown} wrote to the database"
    );
    if let Ok(text) = std::str::from_utf8(&body) {
        let native = if route == USERS {
            onboard_shared::validate_user_json(text)
        } else {
            onboard_shared::validate_sponsor_json(text)
        };
        let mut native: Vec<(String, String)> = native
            .into_iter()
            .map(|e| (e.field, e.code.as_str().to_string()))
            .collect();
        native.sort();
        assert_eq!(native, native_want, "the rulebook itself on {shown}");
    }
}

/// POSTs a JSON value and expects 201; returns the created id.
async fn created(app: &TestApp, route: &str, body: &Value) -> String {
    let (status, res) = post_raw(
        app,
        route,
        Some("application/json"),
        body.to_string().into(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "POST {route} {body}\n -> {res}"
    );
    res["id"].as_str().unwrap().to_string()
}

async fn get_json(app: &TestApp, path: &str, template: &str) -> Value {
    let (status, _, body) = checked(app.get(path).await, "GET", template).await;
    assert_eq!(status, StatusCode::OK, "GET {path} -> {body}");
    body
}

/// The server still serves a normal request (no poisoned state, no dead worker).
async fn still_works(app: &TestApp) {
    let email = format!("{}@domain.com", unique_name("ok"));
    created(app, USERS, &user(&email)).await;
}

#[tokio::test]
async fn nul_bytes_and_control_characters_in_strings() {
    let app = spawn_app().await;
    let ic = "invalid_characters";
    // Escaped NUL: valid JSON, refused by the text rules.
    refused(
        &app,
        USERS,
        with(base_user(), json!({"lastName": "Do\u{0}e"})).to_string(),
        &[("lastName", ic)],
    )
    .await;
    refused(
        &app,
        USERS,
        with(base_user(), json!({"city": "Pa\u{0}ris", "job": "\u{0}"})).to_string(),
        &[("city", ic), ("job", ic)],
    )
    .await;
    refused(
        &app,
        USERS,
        with(base_user(), json!({"firstName": "Ja\u{1b}[31mne"})).to_string(),
        &[("firstName", ic)],
    )
    .await;
    refused(
        &app,
        USERS,
        with(base_user(), json!({"email": "ja\u{0}ne@domain.com"})).to_string(),
        &[("email", ic)],
    )
    .await;
    refused(
        &app,
        USERS,
        with(base_user(), json!({"tags": ["ok", "bad\u{0}"]})).to_string(),
        &[("tags[1]", ic)],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        with(base_sponsor(), json!({"name": "Ac\u{0}me"})).to_string(),
        &[("name", ic)],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        with(base_sponsor(), json!({"speakers": [{"email": "s@domain.com", "firstName": "S\u{0}", "lastName": "P"}]})).to_string(),
        &[("speakers[0].firstName", ic)],
    )
    .await;
    // A NUL inside a key is just an unknown field, reported with the key as given.
    refused(
        &app,
        USERS,
        user_text(r#","first\u0000Name":"x""#),
        &[("first\u{0}Name", "unknown_field")],
    )
    .await;
    // Raw (unescaped) NUL bytes are not JSON, inside a string or between tokens.
    let raw_in_string = user_text(",\"city\":\"Pa\0ris\"").into_bytes();
    refused(&app, USERS, raw_in_string, &[("", "invalid_json")]).await;
    let mut raw_between = user_text("").into_bytes();
    raw_between.insert(1, 0);
    refused(&app, USERS, raw_between, &[("", "invalid_json")]).await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(",\"color\":\"#fff\0\"").into_bytes(),
        &[("", "invalid_json")],
    )
    .await;
    still_works(&app).await;
}

#[tokio::test]
async fn invalid_utf8_bytes_are_invalid_json_never_a_500() {
    let app = spawn_app().await;
    let bad_sequences: [&[u8]; 9] = [
        b"\xff",                 // never valid in UTF-8
        b"\xfe\xff",             // a UTF-16 byte-order mark
        b"\xc0\xaf",             // overlong '/'
        b"\xe0\x80\xaf",         // overlong, three bytes
        b"\xed\xa0\x80",         // a surrogate (U+D800) encoded as UTF-8
        b"\xf4\x90\x80\x80",     // above U+10FFFF
        b"\xf8\x88\x80\x80\x80", // five-byte form
        b"\x80",                 // a lone continuation byte
        b"\xe2\x82",             // truncated sequence before the closing quote
    ];
    for seq in bad_sequences {
        // In a value of each route, in a key, and as the very last bytes of the body.
        let mut in_value =
            b"{\"email\":\"jane@domain.com\",\"type\":\"Attendee\",\"firstName\":\"Ja".to_vec();
        in_value.extend_from_slice(seq);
        in_value.extend_from_slice(b"ne\",\"lastName\":\"Doe\"}");
        refused(&app, USERS, in_value, &[("", "invalid_json")]).await;

        let mut in_sponsor = b"{\"name\":\"Ac".to_vec();
        in_sponsor.extend_from_slice(seq);
        in_sponsor.extend_from_slice(b"me\",\"logo\":\"https://acme.com/logo.png\",\"level\":3}");
        refused(&app, SPONSORS, in_sponsor, &[("", "invalid_json")]).await;

        let mut in_key = b"{\"".to_vec();
        in_key.extend_from_slice(seq);
        in_key.extend_from_slice(b"\":1}");
        refused(&app, USERS, in_key, &[("", "invalid_json")]).await;

        let mut at_end = user_text("").into_bytes();
        at_end.extend_from_slice(seq);
        refused(&app, SPONSORS, at_end, &[("", "invalid_json")]).await;
    }
    // A whole body in UTF-16 (what some Windows tools send).
    let utf16: Vec<u8> = std::iter::once(0xfeff_u16)
        .chain(user_text("").encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    refused(&app, USERS, utf16, &[("", "invalid_json")]).await;
    // Lone surrogates escaped in the JSON text are not Unicode either.
    refused(
        &app,
        USERS,
        user_text(r#","city":"\ud800""#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","city":"a\udc00b""#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(
            r#","speakers":[{"email":"s@domain.com","firstName":"\ud83d","lastName":"P"}]"#,
        ),
        &[("", "invalid_json")],
    )
    .await;
    still_works(&app).await;
}

#[tokio::test]
async fn a_byte_order_mark_is_invalid_json() {
    let app = spawn_app().await;
    for (route, text) in [(USERS, user_text("")), (SPONSORS, sponsor_text(""))] {
        let with_bom = format!("\u{feff}{text}");
        refused(&app, route, with_bom.clone(), &[("", "invalid_json")]).await;
        let (_, res) = post_raw(&app, route, Some("application/json"), with_bom.into()).await;
        let message = res["message"].as_str().unwrap();
        assert!(message.contains("byte-order mark"), "{message}");
        // Two of them, and one after leading whitespace, are not JSON either.
        refused(
            &app,
            route,
            format!("\u{feff}\u{feff}{text}"),
            &[("", "invalid_json")],
        )
        .await;
        refused(
            &app,
            route,
            format!(" \u{feff}{text}"),
            &[("", "invalid_json")],
        )
        .await;
    }
    still_works(&app).await;
}

#[tokio::test]
async fn ten_thousand_levels_of_nesting_do_not_overflow_the_stack() {
    let app = spawn_app().await;
    let n = 10_000;
    let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    for deep in [&arrays, &objects] {
        refused(
            &app,
            USERS,
            user_text(&format!(r#","socials":{deep}"#)),
            &[("", "invalid_json")],
        )
        .await;
        refused(&app, USERS, deep.clone(), &[("", "invalid_json")]).await;
        refused(
            &app,
            SPONSORS,
            sponsor_text(&format!(
                r#","speakers":[{{"email":"s@domain.com","tags":{deep}}}]"#
            )),
            &[("", "invalid_json")],
        )
        .await;
        refused(
            &app,
            SPONSORS,
            sponsor_text(&format!(r#","options":{deep}"#)),
            &[("", "invalid_json")],
        )
        .await;
    }
    // Unclosed: the parser must give up at its depth limit, not walk 10,000 frames.
    refused(&app, USERS, "[".repeat(n), &[("", "invalid_json")]).await;
    refused(
        &app,
        SPONSORS,
        r#"{"a":"#.repeat(n),
        &[("", "invalid_json")],
    )
    .await;
    // Shallow enough to parse: ordinary type errors.
    let fifty = format!("{}{}", "[".repeat(50), "]".repeat(50));
    refused(
        &app,
        USERS,
        user_text(&format!(r#","socials":{fifty}"#)),
        &[("socials", "wrong_type")],
    )
    .await;
    still_works(&app).await;
}

#[tokio::test]
async fn a_hundred_thousand_tags_are_one_error_or_a_clean_413() {
    let app = spawn_app().await;
    let tags: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    let body = with(base_user(), json!({ "tags": tags })).to_string();
    assert!(body.len() < 1024 * 1024, "fits the 1 MiB limit");
    refused(&app, USERS, body, &[("tags", "too_long")]).await;
    let empty: Vec<&str> = vec![""; 100_000];
    refused(
        &app,
        USERS,
        with(base_user(), json!({ "tags": empty })).to_string(),
        &[("tags", "too_long")],
    )
    .await;
    let speaker =
        json!([{ "email": "s@domain.com", "firstName": "S", "lastName": "P", "tags": tags }]);
    refused(
        &app,
        SPONSORS,
        with(base_sponsor(), json!({ "speakers": speaker })).to_string(),
        &[("speakers[0].tags", "too_long")],
    )
    .await;
    let speakers: Vec<Value> = vec![json!({}); 100_000];
    refused(
        &app,
        SPONSORS,
        with(base_sponsor(), json!({ "speakers": speakers })).to_string(),
        &[("speakers", "too_long")],
    )
    .await;

    // The same count of longer tags does not fit: a clean 413 before any parsing.
    let long: Vec<String> = (0..100_000).map(|i| format!("tag-number-{i:06}")).collect();
    let body = with(base_user(), json!({ "tags": long })).to_string();
    assert!(body.len() > 1024 * 1024);
    for route in [USERS, SPONSORS] {
        let before = stored(&app).await;
        let (status, res) =
            post_raw(&app, route, Some("application/json"), body.clone().into()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{res}");
        assert_eq!(res["code"], "payload_too_large");
        assert_eq!(stored(&app).await, before);
    }
    still_works(&app).await;
}

#[tokio::test]
async fn numbers_like_1e400_and_minus_zero_for_level() {
    let app = spawn_app().await;
    let level =
        |lv: &str| format!(r#"{{"name":"Acme","logo":"https://acme.com/logo.png","level":{lv}}}"#);
    for lv in [
        "1e400",
        "-1e400",
        "1E+400",
        "01",
        "+1",
        ".5",
        "1.",
        "0x3",
        "NaN",
        "Infinity",
        "-Infinity",
        "3 4",
    ] {
        refused(&app, SPONSORS, level(lv), &[("", "invalid_json")]).await;
    }
    for lv in [
        "-0",
        "-0.0",
        "0",
        "0e5",
        "1e-400",
        "-1e-400",
        "6",
        "1e2",
        "-1",
        "18446744073709551616",
        "-9223372036854775809",
        "1e308",
    ] {
        refused(&app, SPONSORS, level(lv), &[("level", "out_of_range")]).await;
    }
    for lv in ["3.5", "4.000001", "2.5e0"] {
        refused(&app, SPONSORS, level(lv), &[("level", "not_integer")]).await;
    }
    for lv in [r#""3""#, "true", "[3]", r#"{"$numberInt":"3"}"#] {
        refused(&app, SPONSORS, level(lv), &[("level", "wrong_type")]).await;
    }
    refused(&app, SPONSORS, level("null"), &[("level", "required")]).await;
    // Numbers where text is expected: the same parse rules, then a type error.
    refused(
        &app,
        USERS,
        user_text(r#","city":1e400"#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","city":-0"#),
        &[("city", "wrong_type")],
    )
    .await;

    // Whole numbers written as decimals are whole numbers: stored as the integer.
    for (lv, want) in [("3.0", 3), ("0.5e1", 5), ("1e0", 1)] {
        let name = unique_name("Level ");
        let text =
            format!(r#"{{"name":"{name}","logo":"https://acme.com/logo.png","level":{lv}}}"#);
        let (status, res) = post_raw(&app, SPONSORS, Some("application/json"), text.into()).await;
        assert_eq!(status, StatusCode::CREATED, "level {lv}: {res}");
        let id = res["id"].as_str().unwrap();
        let got = get_json(&app, &format!("/v1/sponsors/{id}"), "/v1/sponsors/{id}").await;
        assert_eq!(got["level"], json!(want), "level {lv}");
    }
}

#[tokio::test]
async fn duplicate_json_keys_are_invalid_json() {
    let app = spawn_app().await;
    refused(
        &app,
        USERS,
        r#"{"email":"a@b.co","email":"c@d.co","type":"Attendee","firstName":"A","lastName":"B"}"#,
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","type":"Speaker""#),
        &[("", "invalid_json")],
    )
    .await;
    // The same key spelled with an escape is the same key.
    refused(
        &app,
        USERS,
        user_text(r#","\u0065mail":"x@y.co""#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","socials":{"twitter":null,"twitter":"https://twitter.com/x"}"#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","options":{"highlight":false,"highlight":true}"#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(r#","level":4"#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(r#","speakers":[{"email":"a@b.co","email":"c@d.co"}]"#),
        &[("", "invalid_json")],
    )
    .await;
    // Unknown keys repeated are duplicates too, and a key differing only in case is not one.
    refused(
        &app,
        USERS,
        user_text(r#","x":1,"x":1"#),
        &[("", "invalid_json")],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","Email":"x@y.co""#),
        &[("Email", "unknown_field")],
    )
    .await;
    still_works(&app).await;
}

#[tokio::test]
async fn dollar_and_dotted_keys_never_reach_mongodb() {
    let app = spawn_app().await;
    let uf = "unknown_field";
    refused(
        &app,
        USERS,
        user_text(r#","$set":{"type":"Speaker"},"$where":"1","profile.admin":true,"$":1,".":1"#),
        &[
            ("$set", uf),
            ("$where", uf),
            ("profile.admin", uf),
            ("$", uf),
            (".", uf),
        ],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","\u0024set":{}"#),
        &[("$set", uf)],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","socials":{"$where":"x","twitter.com":"y"}"#),
        &[("socials.$where", uf), ("socials.twitter.com", uf)],
    )
    .await;
    refused(
        &app,
        USERS,
        user_text(r#","options":{"$gt":""}"#),
        &[("options.$gt", uf)],
    )
    .await;
    // Operators where values belong are the wrong type, never a query.
    refused(&app, USERS, r#"{"email":{"$ne":null},"type":{"$in":["Attendee"]},"firstName":{"$gt":""},"lastName":"Doe"}"#, &[("email", "wrong_type"), ("type", "wrong_type"), ("firstName", "wrong_type")]).await;
    refused(
        &app,
        USERS,
        user_text(r#","tags":[{"$gt":""}],"username":{"$regex":".*"}"#),
        &[("tags[0]", "wrong_type"), ("username", "wrong_type")],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(r#","$inc":{"level":1},"a.b":1"#),
        &[("$inc", uf), ("a.b", uf)],
    )
    .await;
    refused(&app, SPONSORS, sponsor_text(r#","speakers":[{"email":{"$exists":true}},{"email":"s@domain.com","$set":{"type":"Speaker"}}]"#), &[("speakers[0].email", "wrong_type"), ("speakers[1].$set", uf)]).await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(r#","options":{"display.InLobby":true}"#),
        &[("options.display.InLobby", uf)],
    )
    .await;

    // `$` and dots inside values are plain text: stored and returned as given.
    let email = format!("{}@domain.com", unique_name("dollar"));
    let body = with(
        user(&email),
        json!({ "firstName": "$set", "lastName": "a.b", "job": "$where", "company": "{\"$ne\":null}", "tags": ["$gt", "a.b"] }),
    );
    let id = created(&app, USERS, &body).await;
    let got = get_json(&app, &format!("/v1/users/{id}"), "/v1/users/{id}").await;
    for key in ["firstName", "lastName", "job", "company"] {
        assert_eq!(got[key], body[key], "{key}");
    }
    assert_eq!(got["tags"], json!(["$gt", "a.b"]));
    // A query string that looks like an operator is a literal value or an unknown parameter.
    let some = get_json(
        &app,
        "/v1/users?email=%7B%22%24ne%22%3Anull%7D",
        "/v1/users",
    )
    .await;
    assert_eq!(some["items"], json!([]), "{some}");
    let (status, _, res) = checked(
        app.get("/v1/users?email%5B%24ne%5D=x").await,
        "GET",
        "/v1/users",
    )
    .await;
    assert_eq!(
        (status, pairs(&res)),
        (StatusCode::BAD_REQUEST, sorted(&[("email[$ne]", uf)]))
    );
    let (status, _, res) = checked(
        app.get("/v1/sponsors?slug%5B%24regex%5D=.*").await,
        "GET",
        "/v1/sponsors",
    )
    .await;
    assert_eq!(
        (status, pairs(&res)),
        (StatusCode::BAD_REQUEST, sorted(&[("slug[$regex]", uf)]))
    );
}

#[tokio::test]
async fn proto_and_constructor_keys_are_unknown_fields() {
    let app = spawn_app().await;
    let uf = "unknown_field";
    refused(&app, USERS, user_text(r#","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"prototype":1"#), &[("__proto__", uf), ("constructor", uf), ("prototype", uf)]).await;
    refused(&app, USERS, user_text(r#","socials":{"__proto__":{"twitter":"https://twitter.com/x"}},"options":{"constructor":true}"#), &[("socials.__proto__", uf), ("options.constructor", uf)]).await;
    refused(
        &app,
        SPONSORS,
        sponsor_text(
            r#","__proto__":null,"speakers":[{"email":"s@domain.com","constructor":"x"}]"#,
        ),
        &[("__proto__", uf), ("speakers[0].constructor", uf)],
    )
    .await;
    // As values they are ordinary text.
    let email = format!("{}@domain.com", unique_name("proto"));
    let body = with(
        user(&email),
        json!({ "firstName": "__proto__", "lastName": "constructor" }),
    );
    let id = created(&app, USERS, &body).await;
    let got = get_json(&app, &format!("/v1/users/{id}"), "/v1/users/{id}").await;
    assert_eq!(
        (&got["firstName"], &got["lastName"]),
        (&body["firstName"], &body["lastName"])
    );
}

#[tokio::test]
async fn emoji_and_right_to_left_names_are_kept_as_given() {
    let app = spawn_app().await;
    let names = [
        ("🎉 Zoë", "עִבְרִית عربى"),
        ("👩‍👩‍👧 Family", "🇫🇷🇯🇵"),
        // Decomposed (NFD) text is not normalized to NFC on the way in.
        ("Zoe\u{308}", "Lo\u{301}pez"),
        // Right-to-left marks and overrides are kept (they are text, not markup).
        ("\u{202e}enaJ", "\u{200f}Doe\u{200e}"),
        ("محمد", "ابن عبد الله"),
    ];
    for (first, last) in names {
        let email = format!("{}@domain.com", unique_name("rtl"));
        let body = with(
            user(&email),
            json!({ "firstName": first, "lastName": last, "city": "תל אביב", "job": "🚀" }),
        );
        let id = created(&app, USERS, &body).await;
        // By id, and by e-mail through the list: the same code points, byte for byte.
        let r = app.get(&format!("/v1/users/{id}")).await;
        let raw = r.text().await.unwrap();
        let got: Value = serde_json::from_str(&raw).unwrap();
        for key in ["firstName", "lastName", "city", "job"] {
            let want = body[key].as_str().unwrap();
            assert_eq!(
                got[key].as_str().unwrap().as_bytes(),
                want.as_bytes(),
                "{key}"
            );
            assert!(
                raw.contains(&serde_json::to_string(want).unwrap()),
                "{key} in {raw}"
            );
        }
        let list = get_json(&app, &format!("/v1/users?email={email}"), "/v1/users").await;
        assert_eq!(
            list["items"][0]["firstName"].as_str().unwrap().as_bytes(),
            first.as_bytes()
        );
        assert_eq!(
            list["items"][0]["lastName"].as_str().unwrap().as_bytes(),
            last.as_bytes()
        );
    }
    // Escaped surrogate pairs are the same emoji.
    let email = format!("{}@domain.com", unique_name("pair"));
    let text = format!(
        r#"{{"email":"{email}","type":"Attendee","firstName":"\ud83c\udf89","lastName":"Doe"}}"#
    );
    let (status, res) = post_raw(&app, USERS, Some("application/json"), text.into()).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let got = get_json(
        &app,
        &format!("/v1/users/{}", res["id"].as_str().unwrap()),
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(got["firstName"], "🎉");

    // Sponsors and the speaker accounts they create.
    let name = format!("🎉 عربى Zoë {}", unique_name(""));
    let speaker = format!("{}@domain.com", unique_name("spk"));
    let body = with(
        base_sponsor(),
        json!({ "name": name, "speakers": [{ "email": speaker, "firstName": "🎤 Ада", "lastName": "לובלייס" }] }),
    );
    let id = created(&app, SPONSORS, &body).await;
    let got = get_json(&app, &format!("/v1/sponsors/{id}"), "/v1/sponsors/{id}").await;
    assert_eq!(got["name"].as_str().unwrap().as_bytes(), name.as_bytes());
    let list = get_json(&app, &format!("/v1/users?email={speaker}"), "/v1/users").await;
    assert_eq!(list["items"][0]["firstName"], "🎤 Ада");
    assert_eq!(list["items"][0]["lastName"], "לובלייס");
}

#[tokio::test]
async fn whitespace_only_required_fields_are_blank() {
    let app = spawn_app().await;
    refused(
        &app,
        USERS,
        with(
            base_user(),
            json!({ "firstName": " \t ", "lastName": "\u{a0}" }),
        )
        .to_string(),
        &[("firstName", "blank"), ("lastName", "blank")],
    )
    .await;
    refused(
        &app,
        USERS,
        with(base_user(), json!({ "email": " ", "type": "\n\r" })).to_string(),
        &[("email", "blank"), ("type", "blank")],
    )
    .await;
    refused(
        &app,
        USERS,
        with(
            base_user(),
            json!({ "firstName": "\u{3000}", "lastName": "\u{2028}\u{2029}" }),
        )
        .to_string(),
        &[("firstName", "blank"), ("lastName", "blank")],
    )
    .await;
    refused(
        &app,
        USERS,
        with(base_user(), json!({ "firstName": "", "lastName": "" })).to_string(),
        &[("firstName", "blank"), ("lastName", "blank")],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        with(
            base_sponsor(),
            json!({ "name": "\u{3000} ", "logo": "   " }),
        )
        .to_string(),
        &[("name", "blank"), ("logo", "blank")],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        with(base_sponsor(), json!({ "speakers": [{ "email": "  " }] })).to_string(),
        &[("speakers[0].email", "blank")],
    )
    .await;
    // A speaker's names are optional to the rulebook, and blank optional text counts as
    // absent; a speaker without an account still needs them, which only the server knows.
    let blank_names =
        json!({ "speakers": [{ "email": "s@domain.com", "firstName": "\t", "lastName": " " }] });
    refused_as(
        &app,
        SPONSORS,
        with(base_sponsor(), blank_names.clone()).to_string().into(),
        &[
            ("speakers[0].firstName", "required"),
            ("speakers[0].lastName", "required"),
        ],
        Vec::new(),
    )
    .await;
    // For an existing account they are simply not needed.
    app.create_user(&user("s@domain.com")).await;
    let name = unique_name("Blank names ");
    let body = with(base_sponsor(), blank_names);
    created(&app, SPONSORS, &with(body, json!({ "name": name }))).await;
    still_works(&app).await;
}

#[tokio::test]
async fn emails_with_unicode_domains_point_to_punycode() {
    let app = spawn_app().await;
    for email in [
        "jane@bücher.de",
        "jane@домен.рф",
        "jane@例え.jp",
        "jane@domain.com\u{301}",
    ] {
        refused(
            &app,
            USERS,
            with(base_user(), json!({ "email": email })).to_string(),
            &[("email", "email_invalid")],
        )
        .await;
        let (_, res) = post_raw(
            &app,
            USERS,
            Some("application/json"),
            with(base_user(), json!({ "email": email }))
                .to_string()
                .into(),
        )
        .await;
        let message = res["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("xn--"), "{email}: {message}");
        refused(
            &app,
            SPONSORS,
            with(base_sponsor(), json!({ "speakers": [{ "email": email }] })).to_string(),
            &[("speakers[0].email", "email_invalid")],
        )
        .await;
    }
    for email in [
        "jäne@domain.com",
        "jane＠domain.com",
        "jane@domain\u{3002}com",
    ] {
        refused(
            &app,
            USERS,
            with(base_user(), json!({ "email": email })).to_string(),
            &[("email", "email_invalid")],
        )
        .await;
    }
    // The punycode form is an ordinary address, stored as given and found again.
    let email = format!("{}@xn--bcher-kva.de", unique_name("jane"));
    created(&app, USERS, &user(&email)).await;
    let list = get_json(&app, &format!("/v1/users?email={email}"), "/v1/users").await;
    assert_eq!(list["items"][0]["email"], email.as_str());
}

#[tokio::test]
async fn wrong_content_types_are_415_and_empty_bodies_400() {
    let app = spawn_app().await;
    let valid = user("ctype@domain.com").to_string();
    for route in [USERS, SPONSORS] {
        let body = if route == USERS {
            valid.clone()
        } else {
            base_sponsor().to_string()
        };
        for ctype in [
            None,
            Some("text/plain"),
            Some("text/json"),
            Some("application/jsonx"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/xml"),
            Some(""),
        ] {
            let before = stored(&app).await;
            let (status, res) = post_raw(&app, route, ctype, body.clone().into()).await;
            assert_eq!(
                (status, res["code"].as_str()),
                (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Some("unsupported_media_type")
                ),
                "{route} {ctype:?}: {res}"
            );
            assert_eq!(stored(&app).await, before, "{route} {ctype:?} wrote");
        }
        // Empty and blank bodies are not JSON; JSON that is not an object is the wrong type.
        for empty in ["", " ", "\n\t\r\n"] {
            refused(&app, route, empty, &[("", "invalid_json")]).await;
        }
        for not_object in ["null", "[]", "42", "\"text\"", "true"] {
            refused(&app, route, not_object, &[("", "wrong_type")]).await;
        }
        // An empty body without a Content-Type is refused for the type first.
        let (status, _) = post_raw(&app, route, None, Vec::new()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    refused(
        &app,
        USERS,
        "{}",
        &[
            ("email", "required"),
            ("type", "required"),
            ("firstName", "required"),
            ("lastName", "required"),
        ],
    )
    .await;
    refused(
        &app,
        SPONSORS,
        "{}",
        &[
            ("name", "required"),
            ("logo", "required"),
            ("level", "required"),
        ],
    )
    .await;
    // Nothing above created the user whose valid body was sent with the wrong types.
    let list = get_json(&app, "/v1/users?email=ctype@domain.com", "/v1/users").await;
    assert_eq!(list["items"], json!([]));
}

/// Found by `bench_webhooks`: a generated username is `last.first#` and four digits, so one
/// name has 10,000 of them; when the draws kept landing on taken ones the create answered 500.
/// With every username of "Jane Doe" taken, a new Jane Doe is a 409 on `username` (she can
/// choose one), and nothing is written; with a chosen username she is created.
#[tokio::test]
async fn a_name_whose_generated_usernames_are_all_taken_is_a_conflict_not_a_500() {
    let app = spawn_app().await;
    let users = app.mongo().await.collection::<Document>("users");
    let taken: Vec<Document> = (0..10_000)
        .map(|n| {
            doc! {
                "email": format!("taken.{n}@domain.com"),
                "emailNorm": format!("taken.{n}@domain.com"),
                "username": format!("doe.jane#{n:04}"),
                "usernameNorm": format!("doe.jane#{n:04}"),
            }
        })
        .collect();
    users.insert_many(taken).await.unwrap();
    let before = stored(&app).await;
    let jane = json!({ "email": "jane.new@domain.com", "type": "Attendee",
                       "firstName": "Jane", "lastName": "Doe" });
    let r = app.post(USERS, &jane).await;
    let (status, _, body) = checked(r, "POST", USERS).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["errors"][0]["field"], "username", "{body}");
    assert_eq!(body["errors"][0]["code"], "username_taken", "{body}");
    assert_eq!(stored(&app).await, before, "nothing written");
    let mut chosen = jane.clone();
    chosen["username"] = json!("JaneDoeNew");
    let r = app.post(USERS, &chosen).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}
