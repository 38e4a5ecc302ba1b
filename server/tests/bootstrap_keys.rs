//! The configured key (`ONBOARD_API_KEY`) and the key cap (issue 17, findings 2 and 10):
//! one record marked configured, replaced when the setting changes, revoked when it is
//! unset, never deleted through the API; keys shorter than 32 characters refused at start;
//! at most `ONBOARD_MAX_KEYS` keys. Real HTTP, real database.

mod common;

use common::*;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use onboard::config::{Config, Secret};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn key() -> String {
    format!("onb_{:064x}", rand::random::<u128>())
}

/// A config on `database` with `api_key` and a private data dir.
fn config(database: &str, api_key: Option<&str>) -> Config {
    let mut config = test_config();
    config.database = database.to_string();
    config.api_key = api_key.map(Secret::new);
    config.data_dir = temp_dir("onboard-keys-");
    config
}

async fn status_with(app: &TestApp, key: &str) -> StatusCode {
    app.get_with_key("/v1/keys", key).await.status()
}

async fn listed(app: &TestApp, key: &str) -> Vec<Value> {
    let r = app.get_with_key("/v1/keys", key).await;
    let (status, _, body) = checked(r, "GET", "/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn changing_the_configured_key_replaces_its_record() {
    let database = unique_name("cfg_");
    let (old, new) = (key(), key());
    let first = spawn_with(config(&database, Some(&old))).await;
    let before = listed(&first, &old).await;
    assert_eq!(before.len(), 1, "{before:?}");
    first.app.shutdown().await;

    let second = spawn_with(config(&database, Some(&new))).await;
    assert_eq!(
        status_with(&second, &old).await,
        StatusCode::UNAUTHORIZED,
        "the old configured key stops working"
    );
    let after = listed(&second, &new).await;
    assert_eq!(after.len(), 1, "one bootstrap key, not two: {after:?}");
    assert_eq!(after[0]["id"], before[0]["id"], "the same record, replaced");

    // Same setting again: nothing changes (restarts are idempotent).
    second.app.shutdown().await;
    let third = spawn_with(config(&database, Some(&new))).await;
    assert_eq!(listed(&third, &new).await.len(), 1);
}

#[tokio::test]
async fn a_configured_key_stored_by_an_older_version_stops_working_after_a_change() {
    let database = unique_name("legacy_");
    let (old, new) = (key(), key());
    // What earlier versions stored for each ONBOARD_API_KEY they saw (each stayed valid).
    let client = mongodb::Client::with_uri_str(db_uri()).await.unwrap();
    client
        .database(&database)
        .collection::<mongodb::bson::Document>("api_keys")
        .insert_one(doc! {
            "_id": ObjectId::new(), "hash": onboard::auth::hash_key(&old),
            "description": "Bootstrap key (ONBOARD_API_KEY)", "privilege": "standard",
            "createdAt": DateTime::now(), "updatedAt": DateTime::now(),
        })
        .await
        .unwrap();
    let app = spawn_with(config(&database, Some(&new))).await;
    assert_eq!(status_with(&app, &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(listed(&app, &new).await.len(), 1);
}

#[tokio::test]
async fn the_configured_key_cannot_be_deleted_through_the_api() {
    let app = spawn_app().await;
    let items = listed(&app, &app.key).await;
    let id = items[0]["id"].as_str().unwrap().to_string();
    let r = app
        .req(Method::DELETE, &format!("/v1/keys/{id}"))
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "DELETE", "/v1/keys/{id}").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "key_configured");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ONBOARD_API_KEY"),
        "the message says to change the setting: {body}"
    );
    assert_eq!(status_with(&app, &app.key).await, StatusCode::OK);
    assert_eq!(listed(&app, &app.key).await.len(), 1);

    // Other keys are still deleted as before.
    let other = app.new_key("standard").await;
    let items = listed(&app, &app.key).await;
    let other_id = items.iter().find(|k| k["id"] != id.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .req(Method::DELETE, &format!("/v1/keys/{other_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_with(&app, &other).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unsetting_the_setting_revokes_the_configured_key_and_a_new_key_is_written_to_a_file() {
    let database = unique_name("unset_");
    let old = key();
    let first = spawn_with(config(&database, Some(&old))).await;
    first.app.shutdown().await;

    let cfg = config(&database, None);
    let file = onboard::auth::generated_key_file(&cfg.data_dir);
    let second = spawn_with(cfg).await;
    assert_eq!(status_with(&second, &old).await, StatusCode::UNAUTHORIZED);
    // No key left, no terminal (the tests' stderr is not one): a 0600 file has the new key.
    let generated = std::fs::read_to_string(&file).unwrap().trim().to_string();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let items = listed(&second, &generated).await;
    assert_eq!(items.len(), 1, "{items:?}");
}

#[tokio::test]
async fn a_configured_key_shorter_than_32_characters_is_refused() {
    let mut cfg = test_config();
    cfg.api_key = Some(Secret::new("a".repeat(31)));
    let e = onboard::spawn(&cfg).await.expect_err("refused");
    assert!(e.to_string().contains("at least 32"), "{e}");
    cfg.api_key = Some(Secret::new("a".repeat(32)));
    onboard::spawn(&cfg)
        .await
        .expect("32 characters are enough");
}

#[tokio::test]
async fn the_number_of_keys_is_capped() {
    let mut cfg = config(&unique_name("cap_"), Some(&key()));
    cfg.max_keys = 3;
    let app = spawn_with(cfg).await;
    app.new_key("restricted").await;
    app.new_key("restricted").await;
    let r = app
        .post("/v1/keys", &json!({ "description": "one too many" }))
        .await;
    let (status, _, body) = checked(r, "POST", "/v1/keys").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("too_many_keys")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ONBOARD_MAX_KEYS")
    );
    let items = listed(&app, &app.key).await;
    assert_eq!(items.len(), 3, "nothing written by the refused create");

    // Concurrent creates at the cap: never more than the cap.
    let victim = items
        .iter()
        .rev()
        .find(|k| k["privilege"] == "restricted")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .req(Method::DELETE, &format!("/v1/keys/{victim}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body = json!({ "description": "race" });
    let (x, y, z) = tokio::join!(
        app.post("/v1/keys", &body),
        app.post("/v1/keys", &body),
        app.post("/v1/keys", &body)
    );
    let created = [x, y, z]
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert!(created <= 1, "{created} created past the cap");
    assert!(listed(&app, &app.key).await.len() <= 3);
}
