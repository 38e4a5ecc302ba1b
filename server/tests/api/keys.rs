use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_and_deleted() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/v1/keys",
            &json!({ "description": "CI importer", "privilege": "standard" }),
        )
        .await;
    let (status, headers, created) = checked(r, "POST", "/v1/keys").await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(headers.contains_key("location"));
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["privilege"], "standard");

    // The new key works, and the stored document holds only its SHA-256.
    assert_eq!(
        app.get_with_key("/v1/tags", &key).await.status(),
        StatusCode::OK
    );
    let stored = app
        .mongo()
        .await
        .collection::<mongodb::bson::Document>("api_keys")
        .find_one(
            mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&id).unwrap() },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get_str("hash").unwrap(),
        onboard::auth::hash_key(&key)
    );
    assert!(!stored.to_string().contains(&key));

    let (status, _, list) = checked(app.get("/v1/keys").await, "GET", "/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    let text = list.to_string();
    assert!(
        !text.contains(&key)
            && !text.contains(&onboard::auth::hash_key(&key))
            && !text.contains(&app.key)
    );
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "bootstrap + new: {list}"
    );

    let r = app
        .req(Method::DELETE, &format!("/v1/keys/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers().contains_key("x-request-id"));
    let (status, _, body) =
        checked(app.get_with_key("/v1/tags", &key).await, "GET", "/v1/tags").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid API key"))
    );
    let r = app
        .req(Method::DELETE, &format!("/v1/keys/{id}"))
        .send()
        .await
        .unwrap();
    let (status, _, _) = checked(r, "DELETE", "/v1/keys/{id}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restricted_keys_read_but_cannot_create_or_manage_keys() {
    let app = spawn_app().await;
    let restricted = app.new_key("restricted").await;
    let forbidden =
        json!({ "code": "forbidden", "message": "Access denied: Insufficient permissions." });
    for (path, body) in [
        ("/v1/users", user("r@domain.com")),
        (
            "/v1/sponsors",
            json!({ "name": "A", "logo": "https://a.co/l.png", "level": 1 }),
        ),
        ("/v1/keys", json!({ "description": "x" })),
    ] {
        let (status, _, res) = checked(
            app.post_with_key(path, &restricted, &body).await,
            "POST",
            path,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(res, forbidden);
    }
    let (status, _, _) = checked(
        app.get_with_key("/v1/keys", &restricted).await,
        "GET",
        "/v1/keys",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in ["/v1/users", "/v1/sponsors", "/v1/tags"] {
        assert_eq!(
            app.get_with_key(path, &restricted).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    // Nothing was written by the refused creates.
    let users: Value = app.get("/v1/users").await.json().await.unwrap();
    assert_eq!(users["items"], json!([]));
}

#[tokio::test]
async fn key_requests_are_validated_and_default_to_restricted() {
    let app = spawn_app().await;
    let (status, _, body) = checked(
        app.post("/v1/keys", &json!({ "privilege": "admin", "x": 1 }))
            .await,
        "POST",
        "/v1/keys",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        pairs(&body),
        [
            ("description".to_string(), "required".to_string()),
            ("privilege".to_string(), "invalid_choice".to_string()),
            ("x".to_string(), "unknown_field".to_string())
        ]
    );
    let (status, _, body) = checked(
        app.post("/v1/keys", &json!({ "description": "reader" }))
            .await,
        "POST",
        "/v1/keys",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["privilege"], "restricted");
}
