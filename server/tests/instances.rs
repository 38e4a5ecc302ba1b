//! Several `onboard serve` processes on one database, as a deployment behind a load
//! balancer runs them: three instances started together on an empty database (the shared
//! `secantusd-rs` of the test binary, reached through `MONGODB_URI`), and requests spread
//! over them. What one instance decides, every other must honour.

mod common;

use common::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One running `onboard serve`.
struct Instance {
    child: Child,
    output: Arc<Mutex<String>>,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three instances on one fresh database, sharing one configured key.
struct Cluster {
    instances: Vec<Instance>,
    key: String,
    database: String,
    http: Client,
}

fn spawn_instance(database: &str, key: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onboard"));
    cmd.arg("serve").args(["--bind", "127.0.0.1:0"]);
    for var in [
        "ONBOARD_DATA_DIR",
        "ONBOARD_BIND",
        "ONBOARD_MAX_KEYS",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("MONGODB_URI", db_uri())
        .env("ONBOARD_DATABASE", database)
        .env("ONBOARD_API_KEY", key)
        .env("ONBOARD_RATE_LIMIT", "0")
        .env("ONBOARD_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run onboard serve")
}

impl Cluster {
    fn start() -> Cluster {
        Cluster::start_with(&[])
    }

    /// Three instances with these extra environment variables.
    fn start_with(env: &[(&str, &str)]) -> Cluster {
        let database = unique_name("inst_");
        let key = format!("onb_test_{:032x}", rand::random::<u128>());
        // Started together, before any waits: their start-ups race on the empty database.
        let children: Vec<Child> = (0..3)
            .map(|_| spawn_instance(&database, &key, env))
            .collect();
        let instances = children
            .into_iter()
            .map(|mut child| {
                let output = capture_output(&mut child);
                let mut instance = Instance {
                    child,
                    output,
                    url: String::new(),
                };
                instance.url = instance.wait_url("onboard listening");
                instance
            })
            .collect();
        Cluster {
            instances,
            key,
            database,
            http: Client::new(),
        }
    }

    fn url(&self, i: usize) -> &str {
        &self.instances[i % self.instances.len()].url
    }

    fn post(&self, i: usize, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url(i)))
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    async fn mongo(&self) -> mongodb::Database {
        mongodb::Client::with_uri_str(db_uri())
            .await
            .unwrap()
            .database(&self.database)
    }
}

impl Instance {
    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The URL logged on the line saying `message`, once it is logged.
    fn wait_url(&mut self, message: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.output();
            if let Some(line) = out.lines().find(|l| l.contains(message))
                && let Some(at) = line.find("http://127.0.0.1:")
            {
                return line[at..]
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next()
                    .unwrap()
                    .to_string();
            }
            if self.child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                std::thread::sleep(Duration::from_millis(200));
                panic!("an instance did not start:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

async fn answer(r: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = r.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_email_over_three_instances_make_one_user() {
    let cluster = Cluster::start();
    let email = format!("{}@example.com", unique_name("race"));
    let sends = (0..16).map(|i| answer(cluster.post(i, "/v1/users", &user(&email))));
    let results = futures_util::future::join_all(sends).await;
    let created = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{results:?}");
    for (status, _, body) in &results {
        assert!(
            *status == StatusCode::CREATED || *status == StatusCode::CONFLICT,
            "{status} {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotent_create_is_replayed_by_another_instance() {
    let cluster = Cluster::start();
    let email = format!("{}@example.com", unique_name("idem"));
    let key = format!("create-{}", unique_name(""));
    let body = user(&email);

    let (s1, h1, b1) = answer(
        cluster
            .post(0, "/v1/users", &body)
            .header("Idempotency-Key", &key),
    )
    .await;
    assert_eq!(s1, StatusCode::CREATED, "{b1}");
    assert!(h1.get("idempotent-replayed").is_none());
    let password = b1["password"].as_str().unwrap().to_string();

    // The same request on the other instances: the first answer, marked as a replay.
    for i in 1..3 {
        let (s, h, b) = answer(
            cluster
                .post(i, "/v1/users", &body)
                .header("Idempotency-Key", &key),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b, b1);
        assert_eq!(h["idempotent-replayed"], "true");
        assert_eq!(h["location"], h1["location"]);
    }

    // Another body under the same key: refused, nothing written.
    let other = user(&format!("{}@example.com", unique_name("other")));
    let (s, _, b) = answer(
        cluster
            .post(2, "/v1/users", &other)
            .header("Idempotency-Key", &key),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["code"], "idempotency_key_reused");

    let db = cluster.mongo().await;
    let users = db.collection::<mongodb::bson::Document>("users");
    assert_eq!(
        users.count_documents(mongodb::bson::doc! {}).await.unwrap(),
        1
    );

    // The database alone reveals neither the password nor the Idempotency-Key.
    let records = documents(&db, "idempotency").await;
    assert_eq!(records.len(), 1);
    let raw = mongodb::bson::to_vec(&records[0]).unwrap();
    for secret in [password.as_bytes(), key.as_bytes(), email.as_bytes()] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "a stored idempotency record shows a secret"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_are_per_api_key_and_failed_validation_is_not_stored() {
    let cluster = Cluster::start();
    let key = "retry-me";

    // A 400 is not stored: the corrected request runs under the same key.
    let bad = json!({ "email": "not an e-mail", "type": "Attendee" });
    let (s, _, _) = answer(
        cluster
            .post(0, "/v1/users", &bad)
            .header("Idempotency-Key", key),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let good = user(&format!("{}@example.com", unique_name("fixed")));
    let (s, h, b) = answer(
        cluster
            .post(1, "/v1/users", &good)
            .header("Idempotency-Key", key),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(h.get("idempotent-replayed").is_none());

    // Another API key with the same Idempotency-Key is another request altogether.
    let (s, _, created) = answer(cluster.post(
        2,
        "/v1/keys",
        &json!({ "description": "second", "privilege": "standard" }),
    ))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let second = created["key"].as_str().unwrap();
    let other = user(&format!("{}@example.com", unique_name("second")));
    let (s, h, b) = answer(
        cluster
            .http
            .post(format!("{}/v1/users", cluster.url(2)))
            .header("authorization", format!("Bearer {second}"))
            .header("content-type", "application/json")
            .header("Idempotency-Key", key)
            .body(other.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(h.get("idempotent-replayed").is_none());

    // Malformed keys are 400s.
    for bad_key in ["", "has space", &"k".repeat(256)] {
        let (s, _, b) = answer(
            cluster
                .post(0, "/v1/users", &good)
                .header("Idempotency-Key", bad_key),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad_key:?}: {b}");
        assert_eq!(b["errors"][0]["field"], "Idempotency-Key", "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_requests_with_one_key_make_one_create_and_one_409() {
    let cluster = Cluster::start();
    let key = unique_name("bulk-");
    // A bulk of many rows keeps the first request running (a password hash per row)
    // while the second arrives at another instance.
    let rows: Vec<Value> = (0..40)
        .map(|i| user(&format!("{}-{i}@example.com", unique_name("b"))))
        .collect();
    let body = json!({ "users": rows });
    let first = tokio::spawn(answer(
        cluster
            .post(0, "/v1/users/bulk", &body)
            .header("Idempotency-Key", &key),
    ));
    // Until the first has claimed the key, the second could be the first: wait for the
    // claim to be in the database.
    let db = cluster.mongo().await;
    let records = db.collection::<mongodb::bson::Document>("idempotency");
    let deadline = Instant::now() + Duration::from_secs(30);
    while records
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap()
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the first request never claimed its key"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (s2, h2, b2) = answer(
        cluster
            .post(1, "/v1/users/bulk", &body)
            .header("Idempotency-Key", &key),
    )
    .await;
    let (s1, _, b1) = first.await.unwrap();
    assert_eq!(s1, StatusCode::OK, "{b1}");
    assert_eq!(b1["counts"]["created"], 40, "{b1}");
    assert_eq!(s2, StatusCode::CONFLICT, "{b2}");
    assert_eq!(b2["code"], "idempotency_in_flight");
    assert!(h2.get("retry-after").is_some());
    let users = db.collection::<mongodb::bson::Document>("users");
    assert_eq!(
        users.count_documents(mongodb::bson::doc! {}).await.unwrap(),
        40
    );

    // Once the first is done, the same request is its answer again.
    let (s3, h3, b3) = answer(
        cluster
            .post(2, "/v1/users/bulk", &body)
            .header("Idempotency-Key", &key),
    )
    .await;
    assert_eq!(s3, StatusCode::OK);
    assert_eq!(h3["idempotent-replayed"], "true");
    assert_eq!(b3, b1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_deleted_through_one_instance_is_refused_by_every_instance_within_a_second() {
    let cluster = Cluster::start();
    let (s, _, created) = answer(cluster.post(
        0,
        "/v1/keys",
        &json!({ "description": "short-lived", "privilege": "restricted" }),
    ))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let read = |i: usize| {
        cluster
            .http
            .get(format!("{}/v1/tags", cluster.url(i)))
            .header("authorization", format!("Bearer {key}"))
    };
    // Every instance has verified (and cached) the key.
    for i in 0..3 {
        let (s, _, b) = answer(read(i)).await;
        assert_eq!(s, StatusCode::OK, "instance {i}: {b}");
    }

    let (s, _, b) = answer(
        cluster
            .http
            .delete(format!("{}/v1/keys/{id}", cluster.url(0)))
            .header("authorization", format!("Bearer {}", cluster.key)),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let deleted = Instant::now();

    // The README's bound: refused by every instance within 1 second of the delete.
    for i in 1..3 {
        loop {
            let (s, _, _) = answer(read(i)).await;
            if s == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(s, StatusCode::OK);
            assert!(
                deleted.elapsed() < Duration::from_secs(1),
                "instance {i} still accepts the deleted key after 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // And it stays refused.
    for i in 0..3 {
        let (s, _, _) = answer(read(i)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "instance {i}");
    }
    // By the change stream, not by the short fallback lifetime of cached keys.
    for instance in &cluster.instances {
        let out = instance.output();
        assert!(!out.contains("API key changes"), "{out}");
    }
}

/// One sample of a scrape: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parses the Prometheus text format strictly enough to fail on a malformed line.
fn parse_scrape(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample is `series value`");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').expect("labels end with }");
                let labels = rest
                    .split(',')
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (k, v) = l.split_once('=').expect("label=value");
                        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                        (k.to_string(), v.expect("a quoted label value").to_string())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        samples.push((name.to_string(), labels, value));
    }
    samples
}

/// The value of the sample named `name` whose labels include `labels` (summed over the
/// others), or None when there is none.
fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    (!found.is_empty()).then(|| found.iter().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_requests_by_route_template_and_show_no_identifier() {
    let mut cluster = Cluster::start_with(&[("ONBOARD_METRICS_BIND", "127.0.0.1:0")]);
    let metrics = cluster.instances[0].wait_url("metrics listening");
    assert!(metrics.ends_with("/metrics"), "{metrics}");

    let email = format!("{}@example.com", unique_name("metrics"));
    let idempotency_key = unique_name("idem-");
    let create = || {
        cluster
            .post(0, "/v1/users", &user(&email))
            .header("Idempotency-Key", &idempotency_key)
    };
    let (s, _, created) = answer(create()).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (s, h, _) = answer(create()).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(h["idempotent-replayed"], "true");
    let id = created["id"].as_str().unwrap().to_string();
    let get = |path: String| {
        cluster
            .http
            .get(format!("{}{path}", cluster.url(0)))
            .header("authorization", format!("Bearer {}", cluster.key))
    };
    assert_eq!(
        answer(get(format!("/v1/users/{id}"))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        answer(get("/v1/users/0123456789abcdef01234567".into()))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        answer(get(format!("/v1/users?email={email}"))).await.0,
        StatusCode::OK
    );
    let wrong_key = format!("onb_{:064x}", 7);
    let (s, _, _) = answer(
        cluster
            .http
            .get(format!("{}/v1/tags", cluster.url(0)))
            .header("authorization", format!("Bearer {wrong_key}")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The API's own port does not serve the metrics.
    let api_metrics = cluster
        .http
        .get(format!("{}/metrics", cluster.url(0)))
        .send()
        .await
        .unwrap();
    assert_ne!(api_metrics.status(), StatusCode::OK);

    let scrape = cluster.http.get(&metrics).send().await.unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        scrape.headers()
    );
    let text = scrape.text().await.unwrap();
    let samples = parse_scrape(&text);
    let requests = |method: &str, route: &str, status: &str| {
        sample(
            &samples,
            "onboard_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(requests("POST", "/v1/users", "201"), 2.0, "{text}");
    assert_eq!(requests("GET", "/v1/users/{id}", "200"), 1.0, "{text}");
    assert_eq!(requests("GET", "/v1/users/{id}", "404"), 1.0, "{text}");
    assert_eq!(requests("GET", "/v1/users", "200"), 1.0, "{text}");
    assert_eq!(requests("GET", "/v1/tags", "401"), 1.0, "{text}");
    assert!(requests("GET", "other", "404") >= 1.0, "{text}");
    assert_eq!(
        sample(
            &samples,
            "onboard_http_request_duration_seconds_count",
            &[("route", "/v1/users/{id}")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&samples, "onboard_idempotent_replays_total", &[]),
        Some(1.0)
    );
    assert!(sample(&samples, "onboard_hash_wait_seconds_count", &[]).unwrap() >= 1.0);
    assert_eq!(sample(&samples, "onboard_hash_queue_depth", &[]), Some(0.0));
    assert!(
        sample(
            &samples,
            "onboard_db_operation_duration_seconds_count",
            &[("operation", "insert")]
        )
        .unwrap()
            >= 1.0,
        "{text}"
    );
    for name in [
        "onboard_overloaded_total",
        "onboard_embedded_db_restarts_total",
    ] {
        assert_eq!(sample(&samples, name, &[]), Some(0.0), "{name}");
    }
    assert_eq!(
        sample(
            &samples,
            "onboard_rate_limited_total",
            &[("budget", "auth_failures")]
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &samples,
            "onboard_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );

    // No identifier of a person, a record, a key or a request is anywhere in the scrape.
    for secret in [
        email.as_str(),
        id.as_str(),
        cluster.key.as_str(),
        wrong_key.as_str(),
        &onboard::auth::hash_key(&cluster.key),
        idempotency_key.as_str(),
        "@",
    ] {
        assert!(!text.contains(secret), "the scrape shows {secret:?}");
    }
    let hex_run = text
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(hex_run < 24, "the scrape has an id-like hex run:\n{text}");

    // Only GET /metrics there.
    let other = cluster
        .http
        .get(metrics.replace("/metrics", "/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Sleeps until `margin_ms` after the next start of a rate-limit window (windows are
/// aligned to Unix time, so the test knows where they start).
async fn next_window(window_ms: u64, margin_ms: u64) -> u64 {
    let now = unix_ms();
    let start = (now / window_ms + 1) * window_ms;
    tokio::time::sleep(Duration::from_millis(start + margin_ms - now)).await;
    start / window_ms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sending_through_three_instances_gets_at_most_its_limit_per_window() {
    // The bound, per window: at most 1.1 × L + 3 accepted. The window is 3 s here
    // (a hidden setting for tests) instead of a minute.
    const LIMIT: u64 = 200;
    const WINDOW_MS: u64 = 3_000;
    let cluster = Arc::new(Cluster::start_with(&[
        ("ONBOARD_RATE_LIMIT", "100"),
        ("ONBOARD_READ_RATE_LIMIT", &LIMIT.to_string()),
        ("ONBOARD_RATE_WINDOW_MS", &WINDOW_MS.to_string()),
    ]));
    let window = next_window(WINDOW_MS, 20).await;
    // Stop sending well before the window ends, so every answer belongs to this window.
    let stop_at = (window + 1) * WINDOW_MS - 400;
    let senders = (0..24).map(|n| {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            let (mut ok, mut limited, mut i) = (0u64, 0u64, n);
            while unix_ms() < stop_at {
                let r = cluster
                    .http
                    .get(format!("{}/v1/tags", cluster.url(i)))
                    .header("authorization", format!("Bearer {}", cluster.key))
                    .send()
                    .await
                    .unwrap();
                match r.status() {
                    StatusCode::OK => {
                        assert_eq!(r.headers()["ratelimit-limit"], LIMIT.to_string().as_str());
                        ok += 1;
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        assert!(r.headers().contains_key("retry-after"));
                        limited += 1;
                    }
                    other => panic!("{other}"),
                }
                i += 1;
            }
            (ok, limited)
        })
    });
    let (mut ok, mut limited) = (0, 0);
    for s in futures_util::future::join_all(senders).await {
        let (o, l) = s.unwrap();
        ok += o;
        limited += l;
    }
    eprintln!("one window: {ok} accepted, {limited} refused (limit {LIMIT})");
    assert!(
        ok as f64 <= 1.1 * LIMIT as f64 + 3.0,
        "{ok} accepted in one window (limit {LIMIT}), {limited} refused"
    );
    assert!(limited > 0, "{ok} accepted, none refused");
    // Tokens an instance took but did not spend are lost at the window's end: at most a
    // batch (L / 50) per instance.
    assert!(ok + 3 * (LIMIT / 50) >= LIMIT, "{ok} accepted of {LIMIT}");

    // The window slides: right after this one, most of its spending still counts; a
    // window later the whole budget is back, on every instance.
    next_window(WINDOW_MS, 20).await;
    next_window(WINDOW_MS, 20).await;
    for i in 0..3 {
        let (s, _, _) = answer(
            cluster
                .http
                .get(format!("{}/v1/tags", cluster.url(i)))
                .header("authorization", format!("Bearer {}", cluster.key)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "instance {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_ten_thousand_users_page_by_page_meets_no_429_with_the_default_limits() {
    let cluster = Cluster::start_with(&[(
        "ONBOARD_RATE_LIMIT",
        &onboard::config::DEFAULT_RATE_LIMIT.to_string(),
    )]);
    // 10,000 users at the default page size (20) are 500 pages and the empty last one.
    // The limit counts requests, whatever a page holds, so the same number of list
    // requests stands for the listing.
    let pages = 10_000usize.div_ceil(20) + 1;
    for page in 0..pages {
        let (s, h, b) = answer(
            cluster
                .http
                .get(format!("{}/v1/users?limit=20", cluster.url(0)))
                .header("authorization", format!("Bearer {}", cluster.key)),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "page {page}: {b}");
        assert_eq!(
            h["ratelimit-limit"],
            onboard::config::DEFAULT_READ_RATE_LIMIT
                .to_string()
                .as_str()
        );
    }
}

// ---- Writes of one record at once through several instances. A webhook makes each write
// a transaction (the write and its event), so they conflict with one another.

impl Cluster {
    /// Three instances and one webhook (to a closed port: its deliveries just wait) for
    /// `events` (empty: every type); answers the webhook.
    async fn with_webhook(events: &[&str]) -> (Cluster, Value) {
        let cluster = Cluster::start_with(&[("ONBOARD_WEBHOOK_ALLOW_PRIVATE", "1")]);
        let mut body = json!({ "url": "http://127.0.0.1:9/hook" });
        if !events.is_empty() {
            body["events"] = json!(events);
        }
        let hook = cluster.created(0, "/v1/webhooks", &body).await;
        (cluster, hook)
    }

    /// POSTs `body` through instance `i`; the 201's body.
    async fn created(&self, i: usize, path: &str, body: &Value) -> Value {
        let (s, _, b) = answer(self.post(i, path, body)).await;
        assert_eq!(s, StatusCode::CREATED, "{path}: {b}");
        b
    }

    /// A new sponsor and a new attendee: their paths.
    async fn sponsor_and_user(&self) -> (String, String) {
        let sponsor = self
            .created(
                0,
                "/v1/sponsors",
                &json!({ "name": unique_name("Corp "), "logo": "https://domain.com/l.png", "level": 1 }),
            )
            .await;
        let email = format!("{}@example.com", unique_name("person"));
        let person = self.created(0, "/v1/users", &user(&email)).await;
        (
            format!("/v1/sponsors/{}", sponsor["id"].as_str().unwrap()),
            format!("/v1/users/{}", person["id"].as_str().unwrap()),
        )
    }

    fn get(&self, i: usize, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.url(i)))
            .header("authorization", format!("Bearer {}", self.key))
    }

    /// A JSON Merge Patch of `path` through instance `i`.
    fn patch(&self, i: usize, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .patch(format!("{}{path}", self.url(i)))
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
    }

    /// GETs `path` through instance `i`; the 200's body.
    async fn read(&self, i: usize, path: &str) -> Value {
        let (s, _, b) = answer(self.get(i, path)).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        b
    }
}

/// Asserts every answer is `ok` or 503 (ran out of reruns: safe to send again); how many
/// were `ok`.
fn ok_or_try_again(
    answers: &[(StatusCode, reqwest::header::HeaderMap, Value)],
    ok: StatusCode,
) -> usize {
    for (status, _, body) in answers {
        assert!(
            *status == ok || *status == StatusCode::SERVICE_UNAVAILABLE,
            "{status} {body}"
        );
    }
    answers.iter().filter(|(s, _, _)| *s == ok).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_to_one_sponsor_at_once_over_three_instances_never_answer_email_taken() {
    // A link that kept meeting conflicts must say so (503), never that the e-mail is taken.
    let (cluster, _) = Cluster::with_webhook(&[]).await;
    let (sponsor, _) = cluster.sponsor_and_user().await;
    let path = format!("{sponsor}/speakers");
    for round in 0..3 {
        let emails: Vec<String> = (0..24)
            .map(|i| format!("{}.{round}.{i}@example.com", unique_name("crowd")))
            .collect();
        for (i, email) in emails.iter().enumerate() {
            cluster.created(i, "/v1/users", &user(email)).await;
        }
        let links = emails
            .iter()
            .enumerate()
            .map(|(i, email)| answer(cluster.post(i, &path, &json!({ "email": email }))));
        let answers = futures_util::future::join_all(links).await;
        let linked = ok_or_try_again(&answers, StatusCode::OK);
        let now = cluster.read(0, &sponsor).await;
        let of_round = now["speakers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|sp| emails.iter().any(|e| sp["email"] == e.as_str()))
            .count();
        assert_eq!(of_round, linked, "round {round}: {now}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sponsors_created_at_once_over_three_instances_naming_one_person_all_link_them() {
    // Every create links the same existing attendee (and writes that user: it becomes a
    // Speaker).
    let (cluster, _) = Cluster::with_webhook(&[]).await;
    let (_, person) = cluster.sponsor_and_user().await;
    let email = cluster.read(0, &person).await["email"].clone();
    let creates = (0..18).map(|i| {
        let body = json!({ "name": unique_name("Shared "), "logo": "https://domain.com/l.png",
            "level": 1, "speakers": [ { "email": email } ] });
        answer(cluster.post(i, "/v1/sponsors", &body))
    });
    let answers = futures_util::future::join_all(creates).await;
    let created = ok_or_try_again(&answers, StatusCode::CREATED);
    for (status, _, body) in &answers {
        if *status == StatusCode::CREATED {
            assert_eq!(body["speakers"].as_array().unwrap().len(), 1, "{body}");
            assert_eq!(body["speakers"][0]["email"], email, "{body}");
        }
    }
    // The person is a Speaker now, listed by every sponsor created.
    assert_eq!(cluster.read(1, &person).await["type"], "Speaker");
    let sponsors = cluster.read(2, "/v1/sponsors?limit=100").await;
    let listing = sponsors["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|sp| {
            sp["speakers"]
                .as_array()
                .is_some_and(|l| l.iter().any(|p| p["email"] == email))
        })
        .count();
    assert_eq!(listing, created, "{sponsors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn patches_of_one_record_at_once_over_three_instances_all_apply_with_one_event_each() {
    // Patches without If-Match merge onto the newest record and the last one wins: 24 at
    // once must each apply (or say 503), never 500, and each applied one records one
    // `*.updated` event.
    let (cluster, hook) = Cluster::with_webhook(&["user.updated", "sponsor.updated"]).await;
    let (sponsor, person) = cluster.sponsor_and_user().await;
    for (kind, field, path) in [("sponsor", "website", sponsor), ("user", "job", person)] {
        let values: Vec<String> = (0..24).map(|i| format!("https://domain.com/{i}")).collect();
        let patches = values
            .iter()
            .enumerate()
            .map(|(i, value)| answer(cluster.patch(i, &path, &json!({ field: value }))));
        let answers = futures_util::future::join_all(patches).await;
        let applied = ok_or_try_again(&answers, StatusCode::OK);
        let now = cluster.read(1, &path).await;
        assert!(
            values.iter().any(|v| now[field] == v.as_str()),
            "{kind}: {now}"
        );
        // One event per applied patch, none for an attempt that lost (the outbox is
        // written with each patch, so it is complete at once).
        let mut events = 0;
        let mut after = String::new();
        loop {
            let page = cluster
                .read(
                    2,
                    &format!(
                        "/v1/webhooks/{}/deliveries?limit=100{after}",
                        hook["id"].as_str().unwrap()
                    ),
                )
                .await;
            events += page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["type"] == format!("{kind}.updated").as_str())
                .count();
            match page["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
        }
        assert_eq!(events, applied, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_patches_at_once_over_three_instances_let_exactly_one_win() {
    // 12 patches with the same If-Match at once: exactly one applies, the others are 412;
    // three rounds per record.
    let (cluster, _) = Cluster::with_webhook(&[]).await;
    let (sponsor, person) = cluster.sponsor_and_user().await;
    for (field, path) in [("website", sponsor), ("job", person)] {
        for round in 0..3 {
            let (s, h, _) = answer(cluster.get(0, &path)).await;
            assert_eq!(s, StatusCode::OK);
            let etag = h["etag"].to_str().unwrap().to_string();
            let patches = (0..12).map(|i| {
                let value = format!("https://domain.com/{round}/{i}");
                answer(
                    cluster
                        .patch(i, &path, &json!({ field: value }))
                        .header("if-match", &etag),
                )
            });
            let answers = futures_util::future::join_all(patches).await;
            for (status, _, body) in &answers {
                assert!(
                    *status == StatusCode::OK || *status == StatusCode::PRECONDITION_FAILED,
                    "{status} {body}"
                );
            }
            let won: Vec<usize> = (0..answers.len())
                .filter(|i| answers[*i].0 == StatusCode::OK)
                .collect();
            assert_eq!(won.len(), 1, "{path} round {round}: {answers:?}");
            assert_eq!(
                cluster.read(1, &path).await[field],
                format!("https://domain.com/{round}/{}", won[0]).as_str(),
                "{path}"
            );
        }
    }
}
