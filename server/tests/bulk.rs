//! `POST /v1/users/bulk` and `POST /v1/users/{id}/password` over real HTTP against a real
//! secantusd-rs (see common/mod.rs), every answer checked against the OpenAPI document.

mod common;

use common::*;
use mongodb::bson::{Document, doc, oid::ObjectId};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn bulk(app: &TestApp, users: Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = app.post("/v1/users/bulk", &json!({ "users": users })).await;
    checked(r, "POST", "/v1/users/bulk").await
}

/// A bulk request with `onExisting`; answers the 200 body.
async fn bulk_with(app: &TestApp, on_existing: &str, users: Value) -> Value {
    let body = json!({ "users": users, "onExisting": on_existing });
    let r = app.post("/v1/users/bulk", &body).await;
    let (status, _, body) = checked(r, "POST", "/v1/users/bulk").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A user as GET shows it, and its ETag.
async fn get_user(app: &TestApp, id: &Value) -> (Value, String) {
    let r = app
        .get(&format!("/v1/users/{}", id.as_str().unwrap()))
        .await;
    let (status, headers, body) = checked(r, "GET", "/v1/users/{id}").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body, headers["etag"].to_str().unwrap().to_string())
}

async fn stored_hash(app: &TestApp, id: &str) -> String {
    let doc = app
        .mongo()
        .await
        .collection::<Document>("users")
        .find_one(doc! { "_id": ObjectId::parse_str(id).unwrap() })
        .await
        .unwrap()
        .expect("user stored");
    doc.get_str("passwordHash").unwrap().to_string()
}

async fn user_count(app: &TestApp) -> u64 {
    app.mongo()
        .await
        .collection::<Document>("users")
        .count_documents(doc! {})
        .await
        .unwrap()
}

fn statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_mixed_batch_gets_one_result_per_row_in_order_and_rerunning_it_creates_nothing() {
    let app = spawn_app().await;
    let existing = app.create_user(&user("Known@Example.com")).await;
    let mut taken = user("owner@example.com");
    taken["username"] = json!("Taken_Name");
    app.create_user(&taken).await;

    let mut with_username = user("new-user@example.com");
    with_username["username"] = json!("taken_name");
    let mut tagged = user("tagged@example.com");
    tagged["tags"] = json!(["Mentor", "host"]);
    let rows = json!([
        user("first@example.com"),            // 0 created
        { "email": "not-an-email", "type": "Guest" }, // 1 invalid
        user("FIRST@example.com"),            // 2 duplicate in batch
        user("known@example.COM"),            // 3 exists
        with_username,                        // 4 username taken
        tagged,                               // 5 created, with tags
    ]);
    let (status, _, body) = bulk(&app, rows.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], "ok");
    assert_eq!(
        statuses(&body),
        [
            "created", "invalid", "invalid", "exists", "invalid", "created"
        ]
    );
    assert_eq!(
        body["counts"],
        json!({ "created": 2, "exists": 1, "updated": 0, "unchanged": 0, "invalid": 3, "failed": 0 })
    );
    let results = body["results"].as_array().unwrap();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
    let codes = |i: usize| pairs(&results[i]);
    assert!(codes(1).contains(&("email".into(), "email_invalid".into())));
    assert!(codes(1).contains(&("type".into(), "invalid_choice".into())));
    assert_eq!(codes(2), [("email".into(), "duplicate_in_batch".into())]);
    assert_eq!(codes(4), [("username".into(), "username_taken".into())]);
    assert_eq!(results[3]["id"], existing["id"]);
    assert_eq!(results[3]["email"], "Known@Example.com");

    // Created rows: the returned password verifies against the stored hash.
    for i in [0, 5] {
        let id = results[i]["id"].as_str().unwrap();
        let password = results[i]["password"].as_str().unwrap();
        assert!(onboard::passwords::verify(
            password,
            &stored_hash(&app, id).await
        ));
    }
    assert_eq!(results[0]["email"], "first@example.com");
    // Tags were upserted as for single creates.
    let (_, _, tagged) = checked(
        app.get(&format!("/v1/users/{}", results[5]["id"].as_str().unwrap()))
            .await,
        "GET",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(tagged["tags"], json!(["Mentor", "host"]));
    assert_eq!(user_count(&app).await, 4);

    // The same file again: nothing new, the created rows are now `exists` with their ids.
    let (status, _, again) = bulk(&app, rows).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        statuses(&again),
        [
            "exists", "invalid", "invalid", "exists", "invalid", "exists"
        ]
    );
    assert_eq!(
        again["counts"],
        json!({ "created": 0, "exists": 3, "updated": 0, "unchanged": 0, "invalid": 3, "failed": 0 })
    );
    assert_eq!(again["results"][0]["id"], results[0]["id"]);
    assert_eq!(again["results"][5]["id"], results[5]["id"]);
    assert!(again["results"][0].get("password").is_none());
    assert_eq!(user_count(&app).await, 4);
}

#[tokio::test]
async fn on_existing_update_patches_the_columns_a_row_has_and_says_updated_or_unchanged() {
    let app = spawn_app().await;
    let mut jane = user("jane@example.com");
    jane["type"] = json!("Speaker");
    jane["job"] = json!("Tester");
    jane["company"] = json!("Old Co");
    jane["tags"] = json!(["Mentor"]);
    jane["options"] = json!({ "highlight": true });
    let jane = app.create_user(&jane).await;
    let bob = app.create_user(&user("bob@example.com")).await;
    let mut owner = user("owner@example.com");
    owner["username"] = json!("Taken_Name");
    app.create_user(&owner).await;
    let carl = app.create_user(&user("carl@example.com")).await;
    let (_, jane_etag) = get_user(&app, &jane["id"]).await;
    let (carl_before, _) = get_user(&app, &carl["id"]).await;

    let rows = json!([
        // 0: only the cells it has; an empty cell changes nothing; no type: Jane stays a Speaker.
        { "email": "JANE@example.com", "job": "Lead", "company": "", "tags": ["Host", "mentor"] },
        // 1: what Bob already has.
        user("Bob@Example.com"),
        // 2: a new e-mail: created, with a password.
        user("new@example.com"),
        // 3: a new username that someone else has: that row only.
        { "email": "carl@example.com", "username": "taken_name", "city": "Lyon" },
        // 4: a new e-mail without what a new user needs.
        { "email": "ghost@example.com", "job": "Host" },
        // 5: the same e-mail again.
        { "email": "jane@example.com", "city": "Paris" },
        // 6: a bad value in an update row.
        { "email": "owner@example.com", "website": "http://owner.example.com" },
    ]);
    let body = bulk_with(&app, "update", rows.clone()).await;
    assert_eq!(
        statuses(&body),
        [
            "updated",
            "unchanged",
            "created",
            "invalid",
            "invalid",
            "invalid",
            "invalid"
        ]
    );
    assert_eq!(
        body["counts"],
        json!({ "created": 1, "exists": 0, "updated": 1, "unchanged": 1, "invalid": 4, "failed": 0 })
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["id"], jane["id"]);
    assert_eq!(results[0]["email"], "jane@example.com");
    assert!(results[0].get("password").is_none());
    assert_eq!(results[1]["id"], bob["id"]);
    assert_eq!(results[1]["email"], "bob@example.com");
    assert!(results[2]["password"].as_str().is_some());
    assert_eq!(
        pairs(&results[3]),
        [("username".into(), "username_taken".into())]
    );
    assert_eq!(
        pairs(&results[4]),
        [
            ("firstName".into(), "required".into()),
            ("lastName".into(), "required".into()),
            ("type".into(), "required".into()),
        ]
    );
    assert_eq!(
        pairs(&results[5]),
        [("email".into(), "duplicate_in_batch".into())]
    );
    assert_eq!(
        pairs(&results[6]),
        [("website".into(), "url_not_https".into())]
    );

    // Jane: the patch went through the PATCH path: fields, tags (upserted), version.
    let (after, etag) = get_user(&app, &jane["id"]).await;
    assert_ne!(etag, jane_etag);
    assert_eq!(after["job"], "Lead");
    assert_eq!(after["company"], "Old Co");
    assert_eq!(after["type"], "Speaker");
    assert_eq!(after["options"]["highlight"], true);
    // Tags are shared records: "mentor" is the existing "Mentor".
    assert_eq!(after["tags"], json!(["Host", "Mentor"]));
    assert_eq!(after["city"], Value::Null);
    let (_, _, tags) = checked(app.get("/v1/tags").await, "GET", "/v1/tags").await;
    let names: Vec<&str> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Host"), "{tags}");
    // Carl's row was refused whole: no city either.
    let (carl_after, _) = get_user(&app, &carl["id"]).await;
    assert_eq!(carl_after, carl_before);
    assert_eq!(user_count(&app).await, 5);

    // The same file again: the applied rows are now unchanged, the created one too.
    let again = bulk_with(&app, "update", rows).await;
    assert_eq!(
        statuses(&again),
        [
            "unchanged",
            "unchanged",
            "unchanged",
            "invalid",
            "invalid",
            "invalid",
            "invalid"
        ]
    );
    let (_, etag_again) = get_user(&app, &jane["id"]).await;
    assert_eq!(etag_again, etag, "an unchanged row writes nothing");
    assert_eq!(user_count(&app).await, 5);
}

#[tokio::test]
async fn on_existing_skip_is_the_default_and_fail_makes_existing_rows_invalid() {
    let app = spawn_app().await;
    let known = app.create_user(&user("known@example.com")).await;
    let mut changed = user("KNOWN@example.com");
    changed["job"] = json!("Host");

    let skip = bulk_with(
        &app,
        "skip",
        json!([changed.clone(), user("a@example.com")]),
    )
    .await;
    assert_eq!(statuses(&skip), ["exists", "created"]);
    assert_eq!(skip["results"][0]["id"], known["id"]);

    let fail = bulk_with(
        &app,
        "fail",
        json!([
            changed.clone(),
            user("a@example.com"),
            user("b@example.com")
        ]),
    )
    .await;
    assert_eq!(statuses(&fail), ["invalid", "invalid", "created"]);
    for i in [0, 1] {
        assert_eq!(
            pairs(&fail["results"][i]),
            [("email".into(), "email_taken".into())]
        );
    }
    assert_eq!(
        fail["counts"],
        json!({ "created": 1, "exists": 0, "updated": 0, "unchanged": 0, "invalid": 2, "failed": 0 })
    );
    // Nothing changed on the existing user.
    let (after, _) = get_user(&app, &known["id"]).await;
    assert_eq!(after["job"], Value::Null);
    // null is the default too.
    let r = app
        .post(
            "/v1/users/bulk",
            &json!({ "users": [changed], "onExisting": null }),
        )
        .await;
    let (status, _, body) = checked(r, "POST", "/v1/users/bulk").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statuses(&body), ["exists"]);
}

#[tokio::test]
async fn more_than_1000_rows_is_413_and_nothing_is_created() {
    let app = spawn_app().await;
    let rows: Vec<Value> = (0..1001)
        .map(|i| user(&format!("u{i}@example.com")))
        .collect();
    let (status, _, body) = bulk(&app, json!(rows)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("1000") && message.contains("1001"),
        "{message}"
    );
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn a_thousand_rows_above_one_mib_are_accepted() {
    let app = spawn_app().await;
    // Invalid rows (unknown type) so no hashing: this is about the body limit.
    let description = "x".repeat(1500);
    let rows: Vec<Value> = (0..1000)
        .map(|i| {
            json!({ "email": format!("u{i}@example.com"), "type": "Guest", "firstName": "A",
                    "lastName": "B", "description": description })
        })
        .collect();
    let body = json!({ "users": rows });
    assert!(body.to_string().len() > 1024 * 1024);
    let (status, _, body) = checked(
        app.post("/v1/users/bulk", &body).await,
        "POST",
        "/v1/users/bulk",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["counts"]["invalid"], 1000);
    // Single creates keep the 1 MiB limit.
    let mut big = user("big@example.com");
    big["description"] = json!("x".repeat(1024 * 1024));
    let (status, _, _) = checked(app.post("/v1/users", &big).await, "POST", "/v1/users").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_envelope_is_validated() {
    let app = spawn_app().await;
    for (body, expected) in [
        (json!([]), vec![("", "wrong_type")]),
        (json!({}), vec![("users", "required")]),
        (json!({ "users": {} }), vec![("users", "wrong_type")]),
        (
            json!({ "users": [], "dryRun": true }),
            vec![("dryRun", "unknown_field")],
        ),
        (
            json!({ "users": [user("a@example.com")], "onExisting": "merge" }),
            vec![("onExisting", "invalid_choice")],
        ),
        (
            json!({ "users": [user("a@example.com")], "onExisting": "Update" }),
            vec![("onExisting", "invalid_choice")],
        ),
        (
            json!({ "users": [user("a@example.com")], "onExisting": true }),
            vec![("onExisting", "wrong_type")],
        ),
    ] {
        let (status, _, got) = checked(
            app.post("/v1/users/bulk", &body).await,
            "POST",
            "/v1/users/bulk",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(pairs(&got), expected);
    }
    let (status, _, body) = bulk(&app, json!([])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["counts"],
        json!({ "created": 0, "exists": 0, "updated": 0, "unchanged": 0, "invalid": 0, "failed": 0 })
    );
    // GET on the bulk path is a 405, not "user not found".
    let r = app.get("/v1/users/bulk").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "POST");
}

#[tokio::test]
async fn restricted_keys_cannot_import_and_a_batch_is_one_request_for_the_rate_limit() {
    let mut config = test_config();
    // 5 a minute: a token comes back every 12 s, far longer than a bulk of 5 rows takes even
    // with every commit fsynced on a loaded machine (at 50, one came back mid-test: flaky).
    config.rate_limit = 5;
    let app = spawn_with(config).await;
    let restricted = app.new_key("restricted").await;
    let r = app
        .post_with_key(
            "/v1/users/bulk",
            &restricted,
            &json!({ "users": [user("a@example.com")] }),
        )
        .await;
    let (status, _, body) = checked(r, "POST", "/v1/users/bulk").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["message"], "Access denied: Insufficient permissions.");
    assert_eq!(user_count(&app).await, 0);

    let remaining = |h: &reqwest::header::HeaderMap| -> i64 {
        h["ratelimit-remaining"].to_str().unwrap().parse().unwrap()
    };
    let rows: Vec<Value> = (0..5).map(|i| user(&format!("r{i}@example.com"))).collect();
    let (_, first, _) = bulk(&app, json!(rows)).await;
    let (_, second, _) = bulk(&app, json!(rows)).await;
    assert_eq!(remaining(&first) - remaining(&second), 1);
}

#[tokio::test]
async fn a_full_hashing_queue_makes_rows_wait_not_fail() {
    let mut config = test_config();
    config.hash_workers = 1;
    config.hash_queue = 1;
    let app = spawn_with(config).await;
    let rows: Vec<Value> = (0..6).map(|i| user(&format!("q{i}@example.com"))).collect();
    // Two batches at once compete for one worker and one queue slot.
    let (a, b) = tokio::join!(bulk(&app, json!(rows[..3])), bulk(&app, json!(rows[3..])));
    for (status, _, body) in [a, b] {
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["counts"]["created"], 3, "{body}");
    }
}

#[tokio::test]
async fn a_reissued_password_replaces_the_old_one() {
    let app = spawn_app().await;
    let created = app.create_user(&user("jane@example.com")).await;
    let id = created["id"].as_str().unwrap();
    let old_password = created["password"].as_str().unwrap();
    let old_hash = stored_hash(&app, id).await;
    assert!(onboard::passwords::verify(old_password, &old_hash));

    let r = app
        .post(&format!("/v1/users/{id}/password"), &Value::Null)
        .await;
    let (status, _, body) = checked(r, "POST", "/v1/users/{id}/password").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], "ok");
    assert_eq!(body["id"], id);
    let new_password = body["password"].as_str().unwrap();
    assert_ne!(new_password, old_password);
    assert_eq!(new_password.len(), 20);

    let new_hash = stored_hash(&app, id).await;
    assert_ne!(new_hash, old_hash);
    assert!(onboard::passwords::verify(new_password, &new_hash));
    assert!(!onboard::passwords::verify(old_password, &new_hash));
    // The user reads back without any secret.
    let text = app
        .get(&format!("/v1/users/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains(new_password) && !text.contains("argon2"));

    for unknown in ["0123456789abcdef01234567", "nope"] {
        let r = app
            .post(&format!("/v1/users/{unknown}/password"), &Value::Null)
            .await;
        let (status, _, body) = checked(r, "POST", "/v1/users/{id}/password").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "User not found.");
    }

    let restricted = app.new_key("restricted").await;
    let r = app
        .post_with_key(
            &format!("/v1/users/{id}/password"),
            &restricted,
            &Value::Null,
        )
        .await;
    let (status, _, _) = checked(r, "POST", "/v1/users/{id}/password").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(stored_hash(&app, id).await, new_hash);
}

#[test]
fn the_request_schemas_accept_the_seed_samples_and_refuse_what_the_rulebook_refuses() {
    let doc = spec();
    let check = |schema: &str, body: &Value| {
        let mut root = json!({ "$ref": format!("#/components/schemas/{schema}") });
        root["components"] = doc["components"].clone();
        jsonschema::validator_for(&root).unwrap().is_valid(body)
    };
    assert!(check("UserInput", &sample("user")));
    assert!(check("SponsorInput", &sample("sponsor")));
    assert!(check("BulkInput", &json!({ "users": [sample("user")] })));
    for on_existing in ["skip", "update", "fail"] {
        let body = json!({ "users": [], "onExisting": on_existing });
        assert!(check("BulkInput", &body), "{on_existing}");
    }
    assert!(!check(
        "BulkInput",
        &json!({ "users": [], "onExisting": "merge" })
    ));
    for (field, bad) in [
        ("email", json!("jane@localhost")),
        ("website", json!("http://jane.example.com")),
        ("firstName", json!("   ")),
        ("city", json!("Paris\u{7}")),
        ("timezone", json!("Mars/Olympus")),
    ] {
        let mut body = sample("user");
        body[field] = bad.clone();
        assert!(!check("UserInput", &body), "{field}: {bad}");
        assert!(
            !onboard_shared::validate_user(&body).is_empty(),
            "{field}: {bad}"
        );
    }
}
