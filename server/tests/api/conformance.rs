//! The rulebook's conformance corpus (shared/corpus/cases.json) through HTTP: the server
//! must report the same (field, code) pairs as the native and wasm rulebook. Creates are
//! POSTed; a patch case PATCHes a record made like its `existing`; a speaker case is POSTed
//! to a sponsor's speakers.

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
    /// A patch case's record as GET shows it.
    #[serde(default)]
    existing: Value,
    #[serde(default)]
    patch: Value,
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
    let mut edits = Vec::new();
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
            "user_patch" | "user_patch_json" | "sponsor_patch" | "speaker" => {
                edits.push((i, case));
                continue;
            }
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
    assert!(edits.len() > 30, "the corpus has patch and speaker cases");
    // One sponsor takes every speaker case.
    let host = app
        .post("/v1/sponsors", &serde_json::json!({ "name": "Speaker host", "logo": "https://domain.com/logo.png", "level": 1 }))
        .await;
    assert_eq!(host.status(), StatusCode::CREATED);
    let host = host.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, case) in edits {
        let (method, path, template, text) = if case.kind == "speaker" {
            (
                Method::POST,
                format!("/v1/sponsors/{host}/speakers"),
                "/v1/sponsors/{id}/speakers",
                case.payload.to_string(),
            )
        } else {
            let sponsor = case.kind == "sponsor_patch";
            let id = make_like(&app, sponsor, &case.existing, i).await;
            let (path, template) = if sponsor {
                (format!("/v1/sponsors/{id}"), "/v1/sponsors/{id}")
            } else {
                (format!("/v1/users/{id}"), "/v1/users/{id}")
            };
            let text = if case.kind == "user_patch_json" {
                case.text.clone()
            } else {
                case.patch.to_string()
            };
            (Method::PATCH, path, template, text)
        };
        let content_type = if method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let r = app
            .req(method.clone(), &path)
            .header("content-type", content_type)
            .body(text)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_matches_spec(method.as_str(), template, status.as_u16(), &body);
        // As a multiset, as every layer reads the corpus (it lists a case's errors in no
        // particular order; the cross-check compares the server's order with the package's).
        let mut expected: Vec<(String, String)> = case
            .errors
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect();
        expected.sort();
        let got = pairs(&body);
        let ok = if expected.is_empty() {
            match case.kind.as_str() {
                // An existing account is linked (200), a new one created (201).
                "speaker" => status == StatusCode::OK || status == StatusCode::CREATED,
                _ => status == StatusCode::OK,
            }
        } else {
            let code = if expected == [(String::new(), "invalid_json".to_string())] {
                "invalid_json"
            } else {
                "validation_failed"
            };
            status == StatusCode::BAD_REQUEST && body["code"] == code && got == expected
        };
        if !ok {
            failures.push(format!(
                "{}: expected {expected:?}\n   got {status} {body}",
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

/// A user (or sponsor) made like a patch case's `existing` (its create fields; a unique
/// e-mail and username, or name, since every case starts from the same record): its id.
async fn make_like(app: &TestApp, sponsor: bool, existing: &Value, i: usize) -> String {
    let mut o = serde_json::Map::new();
    for (k, v) in existing.as_object().unwrap() {
        if v.is_null() || ["id", "createdAt", "updatedAt", "slug", "speakers"].contains(&k.as_str())
        {
            continue;
        }
        let v = match v {
            Value::Object(inner) => Value::Object(
                inner
                    .iter()
                    .filter(|(_, x)| !x.is_null())
                    .map(|(k, x)| (k.clone(), x.clone()))
                    .collect(),
            ),
            v => v.clone(),
        };
        o.insert(k.clone(), v);
    }
    let route = if sponsor {
        let name = o["name"].as_str().unwrap_or("Sponsor").to_string();
        o.insert("name".into(), Value::from(format!("{name} {i}")));
        "/v1/sponsors"
    } else {
        o.insert("email".into(), Value::from(format!("edit{i}@domain.com")));
        if o.contains_key("username") {
            o.insert("username".into(), Value::from(format!("edit{i}")));
        }
        "/v1/users"
    };
    let r = app.post(route, &Value::Object(o)).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{route}: {body}");
    body["id"].as_str().unwrap().to_string()
}
