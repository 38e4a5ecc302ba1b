//! The rulebook's conformance corpus (shared/corpus/cases.json) through HTTP: the server
//! must report the same (field, code) pairs as the native and wasm rulebook.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    text: String,
    errors: Vec<Expected>,
}

#[derive(Deserialize)]
struct Expected {
    field: String,
    code: String,
}

#[tokio::test]
async fn every_corpus_case_gives_the_same_errors_over_http() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/cases.json");
    let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 50);
    let app = spawn_app().await;
    // The "only an email" speaker case names an existing account.
    app.create_user(&user("known@domain.com")).await;
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (route, text) = match case.kind.as_str() {
            "user" | "sponsor" => {
                let mut payload = case.payload.clone();
                if case.errors.is_empty() {
                    // Valid payloads must not collide in the database, which the rulebook
                    // cannot see: unique e-mails for users, and no chosen usernames (many
                    // cases reuse "SuperJane"). Expected errors are never touched.
                    if case.kind == "user" {
                        payload["email"] = Value::from(format!("case{i}@domain.com"));
                    }
                    if let Some(o) = payload.as_object_mut() {
                        o.remove("username");
                    }
                    if let Some(speakers) =
                        payload.get_mut("speakers").and_then(Value::as_array_mut)
                    {
                        for s in speakers.iter_mut().filter_map(Value::as_object_mut) {
                            s.remove("username");
                        }
                    }
                }
                let route = if case.kind == "user" {
                    "/v1/users"
                } else {
                    "/v1/sponsors"
                };
                (route, payload.to_string())
            }
            "user_json" => ("/v1/users", case.text.clone()),
            "sponsor_json" => ("/v1/sponsors", case.text.clone()),
            // Patches and the one-speaker check: their routes come with issue 12.
            "user_patch" | "user_patch_json" | "sponsor_patch" | "speaker" => continue,
            other => panic!("unknown kind {other}"),
        };
        let r = app
            .req(Method::POST, route)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_matches_spec("POST", route, status.as_u16(), &body);
        let mut expected: Vec<(String, String)> = case
            .errors
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect();
        expected.sort();
        let want_status = match (case.kind.ends_with("_json"), expected.is_empty()) {
            (true, _) => StatusCode::BAD_REQUEST,
            (false, true) => StatusCode::CREATED,
            (false, false) => StatusCode::BAD_REQUEST,
        };
        let want_code = match (case.kind.ends_with("_json"), expected.is_empty()) {
            (true, _) => "invalid_json",
            (false, true) => "ok",
            (false, false) => "validation_failed",
        };
        let got = pairs(&body);
        if status != want_status || body["code"] != want_code || got != expected {
            failures.push(format!(
                "{}: expected {want_status} {want_code} {expected:?}\n   got {status} {body}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus case(s) differ over HTTP:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
