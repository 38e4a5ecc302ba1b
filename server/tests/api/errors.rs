use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn auth_errors_have_the_exact_messages() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/v1/users", app.url))
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "GET", "/v1/users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({ "code": "unauthorized", "message": "Missing Authorization header" })
    );

    for header in ["Bearer onb_nope", "Basic abc", "Bearer "] {
        let r = app
            .http
            .get(format!("{}/v1/users", app.url))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        let (status, _, body) = checked(r, "GET", "/v1/users").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(body["message"], "Invalid API key", "{header}");
    }
    // Auth comes before the body: no key, no validation report.
    let r = app
        .http
        .post(format!("{}/v1/users", app.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let app = spawn_app().await;
    for path in ["/nope", "/v1/nope", "/v1/users/abc/def"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
    // A POST to an unknown path is a 404 as well, not a 405.
    let r = app.post("/nope", &json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    for (method, path, allow) in [
        (Method::DELETE, "/v1/users", "GET, HEAD, POST"),
        (Method::PUT, "/v1/sponsors", "GET, HEAD, POST"),
        (Method::POST, "/v1/tags", "GET, HEAD"),
        (Method::GET, "/v1/keys/0123456789abcdef01234567", "DELETE"),
    ] {
        let r = app.req(method.clone(), path).send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(r.headers()["allow"], allow);
        assert!(r.headers().contains_key("x-request-id"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
    }
    // Ids that cannot exist and ids that do not exist are both 404.
    for path in ["/v1/users/123", "/v1/users/0123456789abcdef01234567"] {
        let (status, _, body) = checked(app.get(path).await, "GET", "/v1/users/{id}").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "User not found.");
    }
    let (status, _, _) = checked(
        app.get("/v1/sponsors/0123456789abcdef01234567").await,
        "GET",
        "/v1/sponsors/{id}",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_json_reports_line_and_column() {
    let app = spawn_app().await;
    let r = app
        .req(Method::POST, "/v1/users")
        .header("content-type", "application/json")
        .body("{\n  \"email\": \"a@b.co\",\n  \"type\": }")
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "POST", "/v1/users").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_json");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("line 3") && message.contains("column"),
        "{message}"
    );
    assert_eq!(pairs(&body), [(String::new(), "invalid_json".to_string())]);

    let r = app
        .req(Method::POST, "/v1/users")
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "POST", "/v1/users").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
}

#[tokio::test]
async fn validation_reports_every_rulebook_error_at_once() {
    let app = spawn_app().await;
    let body = json!({ "email": "nope", "type": "Guest", "website": "http://x.com", "extra": 1 });
    let (status, _, res) = checked(app.post("/v1/users", &body).await, "POST", "/v1/users").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(res["code"], "validation_failed");
    let expected: Vec<(String, String)> = {
        let mut v: Vec<(String, String)> = onboard_shared::validate_user(&body)
            .into_iter()
            .map(|e| (e.field, e.code.as_str().to_string()))
            .collect();
        v.sort();
        v
    };
    assert!(expected.len() >= 5);
    assert_eq!(pairs(&res), expected);
}

#[tokio::test]
async fn non_json_bodies_are_415_and_large_ones_413() {
    let app = spawn_app().await;
    for ctype in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut rb = app.req(Method::POST, "/v1/users").body("{}");
        if let Some(c) = ctype {
            rb = rb.header("content-type", c);
        }
        let (status, _, body) = checked(rb.send().await.unwrap(), "POST", "/v1/users").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ctype:?}");
        assert_eq!(body["code"], "unsupported_media_type");
    }
    // `application/json; charset=utf-8` is JSON.
    let r = app
        .req(Method::POST, "/v1/users")
        .header("content-type", "application/json; charset=utf-8")
        .body(user("charset@domain.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let big = format!("{{\"description\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let r = app
        .req(Method::POST, "/v1/users")
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "POST", "/v1/users").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
    // Without a Content-Length (chunked), the limit still holds.
    // reqwest cannot stream here (its stream feature clashes with the wasm crate's pins),
    // so speak HTTP/1.1 chunked encoding by hand.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(app.app.addr())
        .await
        .unwrap();
    let head = format!(
        "POST /v1/sponsors HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        app.key
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for chunk in big.as_bytes().chunks(64 * 1024) {
        // The server may answer and close before the whole body is sent.
        if tcp
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || tcp.write_all(chunk).await.is_err()
            || tcp.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 12];
    tcp.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    let mut config = test_config();
    config.rate_limit = 5;
    config.read_rate_limit = 5;
    let app = spawn_with(config).await;
    // Creating a second key spends a write, not one of the 5 reads.
    let other = app.new_key("restricted").await;
    for left in (0..5).rev() {
        let r = app.get("/v1/tags").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["ratelimit-limit"], "5");
        assert_eq!(
            r.headers()["ratelimit-remaining"],
            left.to_string().as_str()
        );
        assert!(r.headers().contains_key("ratelimit-reset"));
    }
    let r = app.get("/v1/tags").await;
    let headers = r.headers().clone();
    let (status, _, body) = checked(r, "GET", "/v1/tags").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body,
        json!({ "code": "rate_limited", "message": "Too many requests, please try again later." })
    );
    // Until the minute's window ends.
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["ratelimit-remaining"], "0");
    // Budgets are per key.
    let r = app.get_with_key("/v1/tags", &other).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["ratelimit-remaining"], "4");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "GET", "/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "ok" })));
    let r = app
        .http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    let (status, _, _) = checked(r, "GET", "/readyz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_served_openapi_document_is_3_1_and_covers_every_route() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/v1/users", "post"),
        ("/v1/users", "get"),
        ("/v1/users/{id}", "get"),
        ("/v1/sponsors", "post"),
        ("/v1/sponsors", "get"),
        ("/v1/sponsors/{id}", "get"),
        ("/v1/tags", "get"),
        ("/v1/keys", "post"),
        ("/v1/keys", "get"),
        ("/v1/keys/{id}", "delete"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    // Every schema in it compiles.
    for (name, _) in doc["components"]["schemas"].as_object().unwrap() {
        let mut root = json!({ "$ref": format!("#/components/schemas/{name}") });
        root["components"] = doc["components"].clone();
        jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The request schemas accept the corpus's sample payloads.
    let mut root = json!({ "$ref": "#/components/schemas/UserInput" });
    root["components"] = doc["components"].clone();
    assert!(jsonschema::is_valid(&root, &sample("user")));
    root["$ref"] = json!("#/components/schemas/SponsorInput");
    assert!(jsonschema::is_valid(&root, &sample("sponsor")));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let a = app.get("/v1/tags").await;
    let b = app.get("/nope").await;
    let (a, b) = (
        a.headers()["x-request-id"].clone(),
        b.headers()["x-request-id"].clone(),
    );
    assert_ne!(a, b);
    assert_eq!(a.len(), 32);
}
