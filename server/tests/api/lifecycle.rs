//! Issue 12: correcting and removing users and sponsors (PATCH, DELETE, versions,
//! speakers one by one, `?q=`), races included, over real HTTP on the real database.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MERGE: &str = "application/merge-patch+json";

async fn patch(app: &TestApp, path: &str, body: &str, if_match: Option<&str>) -> reqwest::Response {
    let mut r = app
        .req(Method::PATCH, path)
        .header("content-type", MERGE)
        .body(body.to_string());
    if let Some(m) = if_match {
        r = r.header("if-match", m);
    }
    r.send().await.unwrap()
}

async fn delete(app: &TestApp, path: &str, if_match: Option<&str>) -> reqwest::Response {
    let mut r = app.req(Method::DELETE, path);
    if let Some(m) = if_match {
        r = r.header("if-match", m);
    }
    r.send().await.unwrap()
}

fn etag(h: &reqwest::header::HeaderMap) -> String {
    h.get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_string()
}

/// The user as stored, straight from the database.
async fn stored(app: &TestApp, id: &str) -> Option<mongodb::bson::Document> {
    let oid = mongodb::bson::oid::ObjectId::parse_str(id).unwrap();
    app.mongo()
        .await
        .collection::<mongodb::bson::Document>("users")
        .find_one(mongodb::bson::doc! { "_id": oid })
        .await
        .unwrap()
}

async fn new_user(app: &TestApp, email: &str) -> String {
    app.create_user(&user(email)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_patch_changes_what_it_names_and_answers_the_user_as_get_with_a_new_etag() {
    let app = spawn_app().await;
    let id = app.create_user(&sample("user")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/users/{id}");
    let (status, h, before) = checked(app.get(&path).await, "GET", "/v1/users/{id}").await;
    assert_eq!(status, StatusCode::OK);
    let v1 = etag(&h);

    let body = r#"{"job": "Lead tester", "company": null, "email": "Jane.New@Domain.com", "tags": ["Host", "Newcomer"]}"#;
    let (status, h, after) = checked(
        patch(&app, &path, body, Some(&v1)).await,
        "PATCH",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let v2 = etag(&h);
    assert_ne!(v1, v2);
    assert_eq!(after["job"], "Lead tester");
    assert_eq!(after["company"], Value::Null);
    assert_eq!(after["email"], "Jane.New@Domain.com");
    assert_eq!(after["tags"], json!(["Host", "Newcomer"]));
    assert_eq!(after["firstName"], before["firstName"]);
    assert_eq!(after["username"], before["username"]);
    assert_eq!(after["createdAt"], before["createdAt"]);
    // The answer is the user as GET returns it, and GET agrees on the version.
    let (_, h, got) = checked(app.get(&path).await, "GET", "/v1/users/{id}").await;
    assert_eq!(got, after);
    assert_eq!(etag(&h), v2);
    // The stored copies follow: the search keys, the normalized e-mail, no company.
    let doc = stored(&app, &id).await.unwrap();
    assert_eq!(doc.get_str("emailNorm").unwrap(), "jane.new@domain.com");
    assert!(!doc.contains_key("company"));
    assert!(
        doc.get_str("passwordHash")
            .unwrap()
            .starts_with("$argon2id$")
    );

    // The old version no longer matches: 412, nothing written.
    let (status, _, err) = checked(
        patch(&app, &path, r#"{"job": "Stale"}"#, Some(&v1)).await,
        "PATCH",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{err}");
    assert_eq!(err["code"], "precondition_failed");
    assert_eq!(
        app.get(&path).await.json::<Value>().await.unwrap()["job"],
        "Lead tester"
    );

    // A patch that changes nothing keeps the version; application/json is accepted too.
    let r = app
        .req(Method::PATCH, &path)
        .header("content-type", "application/json")
        .body(r#"{"job": "Lead tester"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(etag(r.headers()), v2);

    // Read-only fields and rule breaks: 400 with the rulebook's codes, nothing written.
    let (status, _, err) = checked(
        patch(
            &app,
            &path,
            r#"{"id": "x", "password": "p", "firstName": null, "type": "Attendee"}"#,
            None,
        )
        .await,
        "PATCH",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        pairs(&err),
        [
            ("firstName".to_string(), "required".to_string()),
            ("id".to_string(), "read_only".to_string()),
            ("password".to_string(), "read_only".to_string()),
        ]
    );
    assert_eq!(etag(app.get(&path).await.headers()), v2);
}

#[tokio::test]
async fn a_new_email_or_username_is_unique_case_insensitively() {
    let app = spawn_app().await;
    let a = new_user(&app, "a@example.com").await;
    app.create_user(&json!({"email": "b@example.com", "type": "Attendee", "firstName": "B", "lastName": "B", "username": "Bee.Taken"}))
        .await;
    let path = format!("/v1/users/{a}");
    let (status, _, err) = checked(
        patch(&app, &path, r#"{"email": "B@Example.com"}"#, None).await,
        "PATCH",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        pairs(&err),
        [("email".to_string(), "email_taken".to_string())]
    );
    let (status, _, err) = checked(
        patch(&app, &path, r#"{"username": "bee.TAKEN"}"#, None).await,
        "PATCH",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        pairs(&err),
        [("username".to_string(), "username_taken".to_string())]
    );
    assert_eq!(
        stored(&app, &a).await.unwrap().get_str("email").unwrap(),
        "a@example.com"
    );
}

#[tokio::test]
async fn racing_patches_to_one_new_email_give_one_200_and_one_409() {
    let app = spawn_app().await;
    for round in 0..5 {
        let a = new_user(&app, &format!("ra{round}@example.com")).await;
        let b = new_user(&app, &format!("rb{round}@example.com")).await;
        let body = format!(r#"{{"email": "wanted{round}@example.com"}}"#);
        let (pa, pb) = (format!("/v1/users/{a}"), format!("/v1/users/{b}"));
        let (ra, rb) = tokio::join!(patch(&app, &pa, &body, None), patch(&app, &pb, &body, None));
        let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
    }
}

#[tokio::test]
async fn racing_patches_with_the_same_if_match_give_one_200_and_one_412() {
    let app = spawn_app().await;
    for round in 0..5 {
        let id = new_user(&app, &format!("im{round}@example.com")).await;
        let path = format!("/v1/users/{id}");
        let v = etag(app.get(&path).await.headers());
        let (ra, rb) = tokio::join!(
            patch(&app, &path, r#"{"job": "First"}"#, Some(&v)),
            patch(&app, &path, r#"{"company": "Second"}"#, Some(&v))
        );
        let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
        let user: Value = app.get(&path).await.json().await.unwrap();
        // Exactly one of the two changes was made.
        assert_eq!(
            user["job"].is_string() as u8 + user["company"].is_string() as u8,
            1
        );
    }
}

#[tokio::test]
async fn without_if_match_racing_patches_both_land_merged() {
    let app = spawn_app().await;
    let id = new_user(&app, "lww@example.com").await;
    let path = format!("/v1/users/{id}");
    let (ra, rb) = tokio::join!(
        patch(&app, &path, r#"{"job": "J"}"#, None),
        patch(&app, &path, r#"{"company": "C"}"#, None)
    );
    assert_eq!((ra.status(), rb.status()), (StatusCode::OK, StatusCode::OK));
    let user: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        (user["job"].as_str(), user["company"].as_str()),
        (Some("J"), Some("C"))
    );
}

#[tokio::test]
async fn delete_erases_the_person_frees_the_email_and_unlinks_it_from_sponsors() {
    let app = spawn_app().await;
    let mut sponsor = sample("sponsor");
    sponsor["speakers"] = json!([{"email": "Gone@Example.com", "firstName": "Go", "lastName": "Ne", "username": "gone.user"}]);
    let created = app
        .post("/v1/sponsors", &sponsor)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let sid = created["id"].as_str().unwrap().to_string();
    let uid = created["speakers"][0]["id"].as_str().unwrap().to_string();
    let upath = format!("/v1/users/{uid}");

    // A stale If-Match refuses, a garbage one is a 400: nothing erased.
    let v = etag(app.get(&upath).await.headers());
    let (status, _, err) = checked(
        delete(&app, &upath, Some("\"999\"")).await,
        "DELETE",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("precondition_failed"))
    );
    let (status, _, _) = checked(
        delete(&app, &upath, Some("nonsense")).await,
        "DELETE",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(stored(&app, &uid).await.is_some());

    let (status, _, _) = checked(
        delete(&app, &upath, Some(&v)).await,
        "DELETE",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(stored(&app, &uid).await.is_none());
    let (status, _, _) = checked(app.get(&upath).await, "GET", "/v1/users/{id}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) =
        checked(delete(&app, &upath, None).await, "DELETE", "/v1/users/{id}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // No copy of the person anywhere in the database.
    let db = app.mongo().await;
    for name in db.list_collection_names().await.unwrap() {
        let docs: Vec<mongodb::bson::Document> = futures_util::TryStreamExt::try_collect(
            db.collection::<mongodb::bson::Document>(&name)
                .find(mongodb::bson::doc! {})
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        let text = format!("{docs:?}").to_lowercase();
        assert!(
            !text.contains("gone@example.com") && !text.contains("gone.user"),
            "{name} keeps a copy"
        );
    }
    // The sponsor no longer lists it, even by id.
    let s: Value = app
        .get(&format!("/v1/sponsors/{sid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["speakers"], json!([]));
    let raw = db
        .collection::<mongodb::bson::Document>("sponsors")
        .find_one(mongodb::bson::doc! {})
        .await
        .unwrap()
        .unwrap();
    assert!(raw.get_array("speakerIds").unwrap().is_empty());
    // The e-mail and username are free at once.
    app.create_user(&json!({"email": "gone@example.com", "type": "Attendee", "firstName": "A", "lastName": "B", "username": "Gone.User"}))
        .await;
    // Ids that cannot exist are 404, never 500.
    for bad in ["nope", "0123", "zzzzzzzzzzzzzzzzzzzzzzzz", "%20"] {
        let (status, _, _) = checked(
            delete(&app, &format!("/v1/users/{bad}"), None).await,
            "DELETE",
            "/v1/users/{id}",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        let (status, _, _) = checked(
            patch(&app, &format!("/v1/users/{bad}"), "{}", None).await,
            "PATCH",
            "/v1/users/{id}",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
}

/// Every speaker id of every sponsor is a user.
async fn no_sponsor_lists_a_missing_user(app: &TestApp) {
    let db = app.mongo().await;
    let sponsors: Vec<mongodb::bson::Document> = futures_util::TryStreamExt::try_collect(
        db.collection::<mongodb::bson::Document>("sponsors")
            .find(mongodb::bson::doc! {})
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    for s in sponsors {
        for id in s.get_array("speakerIds").unwrap() {
            let n = db
                .collection::<mongodb::bson::Document>("users")
                .count_documents(mongodb::bson::doc! { "_id": id })
                .await
                .unwrap();
            assert_eq!(
                n,
                1,
                "sponsor {} lists a missing user {id}",
                s.get_str("slug").unwrap()
            );
        }
    }
}

#[tokio::test]
async fn deleting_a_user_while_a_sponsor_links_its_email_leaves_no_dangling_speaker() {
    let app = spawn_app().await;
    for round in 0..8 {
        let email = format!("race{round}@example.com");
        let uid = new_user(&app, &email).await;
        let mut sponsor = sample("sponsor");
        sponsor["name"] = json!(format!("Race sponsor {round}"));
        sponsor["speakers"] = json!([{"email": email, "firstName": "Re", "lastName": "Born"}]);
        let upath = format!("/v1/users/{uid}");
        let (d, s) = tokio::join!(
            delete(&app, &upath, None),
            app.post("/v1/sponsors", &sponsor)
        );
        assert_eq!(d.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            s.status(),
            StatusCode::CREATED,
            "{}",
            s.text().await.unwrap()
        );
        no_sponsor_lists_a_missing_user(&app).await;
    }
}

#[tokio::test]
async fn bad_patches_get_a_clear_error_and_write_nothing() {
    let app = spawn_app().await;
    let id = new_user(&app, "bad@example.com").await;
    let path = format!("/v1/users/{id}");
    let before = stored(&app, &id).await.unwrap();
    let many: String = {
        let fields: Vec<String> = (0..10_000).map(|i| format!("\"f{i}\": 1")).collect();
        format!("{{{}}}", fields.join(","))
    };
    let cases: Vec<(&str, String, Option<&str>, u16)> = vec![
        ("not an object", "[1, 2]".into(), None, 400),
        ("a string", "\"job\"".into(), None, 400),
        ("unknown field", r#"{"nickname": "J"}"#.into(), None, 400),
        (
            "null for a required field",
            r#"{"lastName": null}"#.into(),
            None,
            400,
        ),
        ("null username", r#"{"username": null}"#.into(), None, 400),
        ("not JSON", "{job:".into(), None, 400),
        (
            "garbage If-Match",
            r#"{"job": "X"}"#.into(),
            Some("v1"),
            400,
        ),
        (
            "weak If-Match",
            r#"{"job": "X"}"#.into(),
            Some("W/\"1\""),
            412,
        ),
        ("10,000 fields", many, None, 400),
    ];
    for (what, body, if_match, want) in cases {
        let (status, _, err) = checked(
            patch(&app, &path, &body, if_match).await,
            "PATCH",
            "/v1/users/{id}",
        )
        .await;
        assert_eq!(status.as_u16(), want, "{what}: {err}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert_eq!(
            stored(&app, &id).await.unwrap(),
            before,
            "{what} wrote something"
        );
    }
}

#[tokio::test]
async fn q_finds_users_by_a_case_insensitive_prefix_with_the_other_filters() {
    let app = spawn_app().await;
    app.create_user(&json!({"email": "zed@example.com", "type": "Speaker", "firstName": "Álvaro", "lastName": "Quinn", "username": "zorro"})).await;
    app.create_user(&json!({"email": "alv@example.com", "type": "Attendee", "firstName": "Bob", "lastName": "Stone"})).await;
    app.create_user(&json!({"email": "other@example.com", "type": "Attendee", "firstName": "Carl", "lastName": "Quist", "tags": ["Host"]})).await;
    let emails = |v: &Value| {
        let mut e: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect();
        e.sort();
        e
    };
    async fn get(app: &TestApp, q: &str) -> Value {
        let url = format!("/v1/users?{q}");
        let (status, _, body) = checked(app.get(&url).await, "GET", "/v1/users").await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        body
    }
    assert_eq!(
        emails(&get(&app, "q=QU").await),
        ["other@example.com", "zed@example.com"]
    );
    assert_eq!(emails(&get(&app, "q=%C3%A1lv").await), ["zed@example.com"]);
    assert_eq!(emails(&get(&app, "q=ALV").await), ["alv@example.com"]);
    assert_eq!(emails(&get(&app, "q=zor").await), ["zed@example.com"]);
    assert_eq!(emails(&get(&app, "q=ston").await), ["alv@example.com"]);
    assert_eq!(emails(&get(&app, "q=uinn").await), Vec::<String>::new());
    assert_eq!(
        emails(&get(&app, "q=qu&type=Attendee").await),
        ["other@example.com"]
    );
    assert_eq!(
        emails(&get(&app, "q=qu&tag=host").await),
        ["other@example.com"]
    );
    let first = get(&app, "q=qu&limit=1").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let next = first["next"].as_str().unwrap();
    let second = get(&app, &format!("q=qu&limit=1&after={next}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
}

#[tokio::test]
async fn a_restricted_key_gets_403_on_every_change() {
    let app = spawn_app().await;
    let key = app.new_key("restricted").await;
    let id = new_user(&app, "keep@example.com").await;
    let sponsor = app
        .post("/v1/sponsors", &sample("sponsor"))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let sid = sponsor["id"].as_str().unwrap();
    let calls = [
        (Method::PATCH, format!("/v1/users/{id}"), "/v1/users/{id}"),
        (Method::DELETE, format!("/v1/users/{id}"), "/v1/users/{id}"),
        (
            Method::PATCH,
            format!("/v1/sponsors/{sid}"),
            "/v1/sponsors/{id}",
        ),
        (
            Method::DELETE,
            format!("/v1/sponsors/{sid}"),
            "/v1/sponsors/{id}",
        ),
        (
            Method::POST,
            format!("/v1/sponsors/{sid}/speakers"),
            "/v1/sponsors/{id}/speakers",
        ),
        (
            Method::DELETE,
            format!("/v1/sponsors/{sid}/speakers/{id}"),
            "/v1/sponsors/{id}/speakers/{userId}",
        ),
    ];
    for (method, path, template) in calls {
        let r = app
            .http_with_key(method.clone(), &path, &key)
            .header("content-type", MERGE)
            .body(r#"{"email": "keep@example.com"}"#)
            .send()
            .await
            .unwrap();
        let (status, _, _) = checked(r, method.as_str(), template).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert!(stored(&app, &id).await.is_some());
    let (status, _, _) = checked(
        app.get_with_key(&format!("/v1/users/{id}"), &key).await,
        "GET",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_sponsor_is_corrected_its_speakers_added_and_removed_and_it_is_deleted() {
    let app = spawn_app().await;
    let created = app
        .post("/v1/sponsors", &sample("sponsor"))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let sid = created["id"].as_str().unwrap().to_string();
    let slug = created["slug"].as_str().unwrap().to_string();
    let spath = format!("/v1/sponsors/{sid}");
    let (_, h, _) = checked(app.get(&spath).await, "GET", "/v1/sponsors/{id}").await;
    let v1 = etag(&h);

    // A rename keeps the slug.
    let (status, h, s) = checked(
        patch(
            &app,
            &spath,
            r#"{"name": "Renamed Sponsor", "color": null}"#,
            Some(&v1),
        )
        .await,
        "PATCH",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(
        (s["name"].as_str(), s["slug"].as_str()),
        (Some("Renamed Sponsor"), Some(slug.as_str()))
    );
    assert_eq!(s["color"], Value::Null);
    assert_ne!(etag(&h), v1);
    let (status, _, _) = checked(
        patch(&app, &spath, r#"{"level": 1}"#, Some(&v1)).await,
        "PATCH",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    // An explicit slug changes it; a taken one is a 409.
    let (status, _, s) = checked(
        patch(&app, &spath, r#"{"slug": "renamed"}"#, None).await,
        "PATCH",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(
        (status, s["slug"].as_str()),
        (StatusCode::OK, Some("renamed"))
    );
    let mut other = sample("sponsor");
    other["name"] = json!("Other One");
    other["speakers"] = json!([]);
    let other = app
        .post("/v1/sponsors", &other)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (status, _, err) = checked(
        patch(
            &app,
            &format!("/v1/sponsors/{}", other["id"].as_str().unwrap()),
            r#"{"slug": "renamed"}"#,
            None,
        )
        .await,
        "PATCH",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        pairs(&err),
        [("slug".to_string(), "slug_taken".to_string())]
    );
    let (status, _, err) = checked(
        patch(&app, &spath, r#"{"speakers": []}"#, None).await,
        "PATCH",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(
        (status, pairs(&err)),
        (
            StatusCode::BAD_REQUEST,
            vec![("speakers".to_string(), "read_only".to_string())]
        )
    );

    // Speakers one by one: created (201, password once), linked (200), already (409).
    let add = |body: Value| {
        let app = &app;
        let path = format!("{spath}/speakers");
        async move {
            checked(
                app.post(&path, &body).await,
                "POST",
                "/v1/sponsors/{id}/speakers",
            )
            .await
        }
    };
    let (status, h, new) =
        add(json!({"email": "new.speaker@example.com", "firstName": "New", "lastName": "Speaker"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{new}");
    assert!(new["password"].as_str().is_some_and(|p| p.len() >= 8));
    assert_eq!(
        h.get("location").unwrap().to_str().unwrap(),
        format!("/v1/users/{}", new["id"].as_str().unwrap())
    );
    let attendee = new_user(&app, "attendee@example.com").await;
    let (status, _, linked) = add(json!({"email": "Attendee@Example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(
        linked,
        json!({"id": attendee, "email": "attendee@example.com"})
    );
    let u: Value = app
        .get(&format!("/v1/users/{attendee}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["type"], "Speaker");
    let (status, _, err) = add(json!({"email": "attendee@example.com"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        pairs(&err),
        [("email".to_string(), "already_speaker".to_string())]
    );
    let (status, _, err) = add(json!({"email": "nobody@example.com", "firstName": "No"})).await;
    assert_eq!(
        (status, pairs(&err)),
        (
            StatusCode::BAD_REQUEST,
            vec![("lastName".to_string(), "required".to_string())]
        )
    );
    let (status, _, _) = checked(
        app.post(
            "/v1/sponsors/000000000000000000000000/speakers",
            &json!({"email": "x@example.com", "firstName": "X", "lastName": "Y"}),
        )
        .await,
        "POST",
        "/v1/sponsors/{id}/speakers",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v1/users?email=x@example.com")
            .await
            .json::<Value>()
            .await
            .unwrap()["items"],
        json!([])
    );
    let s: Value = app.get(&spath).await.json().await.unwrap();
    let ids: Vec<&str> = s["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.ends_with(&[new["id"].as_str().unwrap(), attendee.as_str()]),
        "{s}"
    );

    // Unlink: 204, the account stays; again: 404.
    let unlink = format!("{spath}/speakers/{attendee}");
    let (status, _, _) = checked(
        delete(&app, &unlink, None).await,
        "DELETE",
        "/v1/sponsors/{id}/speakers/{userId}",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = checked(
        delete(&app, &unlink, None).await,
        "DELETE",
        "/v1/sponsors/{id}/speakers/{userId}",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(stored(&app, &attendee).await.is_some());

    // Delete the sponsor: its speakers' accounts stay.
    let (status, _, _) = checked(
        delete(&app, &spath, None).await,
        "DELETE",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = checked(app.get(&spath).await, "GET", "/v1/sponsors/{id}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(stored(&app, new["id"].as_str().unwrap()).await.is_some());
    let (status, _, _) = checked(
        delete(&app, &spath, None).await,
        "DELETE",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn documents_without_a_version_are_brought_up_to_date_at_start() {
    let app = spawn_app().await;
    let id = new_user(&app, "old@example.com").await;
    let oid = mongodb::bson::oid::ObjectId::parse_str(&id).unwrap();
    let users = app
        .mongo()
        .await
        .collection::<mongodb::bson::Document>("users");
    users
        .update_one(
            mongodb::bson::doc! { "_id": oid },
            mongodb::bson::doc! { "$unset": { "version": "", "firstNameKey": "", "lastNameKey": "" } },
        )
        .await
        .unwrap();
    // Without a restart the record still works (missing reads as version 0)...
    let path = format!("/v1/users/{id}");
    assert_eq!(etag(app.get(&path).await.headers()), "\"0\"");
    // ...and a second start fills in what is missing.
    let mut config = test_config();
    config.database = app.database.clone();
    let again = spawn_with(config).await;
    let doc = users
        .find_one(mongodb::bson::doc! { "_id": oid })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.get_i64("version").unwrap(), 0);
    assert_eq!(doc.get_str("lastNameKey").unwrap(), "doe");
    let (status, _, body) = checked(
        patch(&again, &path, r#"{"job": "J"}"#, Some("\"0\"")).await,
        "PATCH",
        "/v1/users/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, found) = checked(again.get("/v1/users?q=do").await, "GET", "/v1/users").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

/// Regression (schemathesis' stateful phase: a 500 on `POST /v1/sponsors`): the embedded
/// database kept a changed unique field's old value in its index, so a corrected e-mail,
/// username or slug stayed taken for good, even after the record was erased. See
/// `server/src/store/rewrite.rs`.
#[tokio::test]
async fn old_unique_values_are_free_after_a_change() {
    let app = spawn_app().await;
    let mut first = user("old.address@example.com");
    first["username"] = json!("old.name");
    let id = app.create_user(&first).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/users/{id}");
    let res = patch(
        &app,
        &path,
        r#"{"email": "new.address@example.com", "username": "new.name"}"#,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The old e-mail and username are free at once...
    let mut again = user("old.address@example.com");
    again["username"] = json!("old.name");
    let second = app.post("/v1/users", &again).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    // ...the new ones are taken...
    let mut clash = user("new.address@example.com");
    clash["username"] = json!("another.name");
    assert_eq!(
        app.post("/v1/users", &clash).await.status(),
        StatusCode::CONFLICT
    );
    // ...and free again once the user is erased.
    assert_eq!(
        delete(&app, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let mut third = user("new.address@example.com");
    third["username"] = json!("new.name");
    assert_eq!(
        app.post("/v1/users", &third).await.status(),
        StatusCode::CREATED
    );

    // A sponsor's old slug, the schemathesis case: a patched slug blocked every later
    // sponsor of the same name.
    let sponsor = json!({ "name": "Renamed Co", "logo": "https://a.co/l.png", "level": 2 });
    let created: Value = app
        .post("/v1/sponsors", &sponsor)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["slug"], "renamed-co");
    let spath = format!("/v1/sponsors/{}", created["id"].as_str().unwrap());
    let res = patch(&app, &spath, r#"{"slug": "renamed-co-9"}"#, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let next = app.post("/v1/sponsors", &sponsor).await;
    assert_eq!(next.status(), StatusCode::CREATED);
    let next: Value = next.json().await.unwrap();
    assert_eq!(next["slug"], "renamed-co");
    assert_eq!(
        delete(&app, &spath, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let last: Value = app
        .post(
            "/v1/sponsors",
            &json!({ "name": "Renamed Co 9", "logo": "https://a.co/l.png", "level": 2 }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["slug"], "renamed-co-9");
}
