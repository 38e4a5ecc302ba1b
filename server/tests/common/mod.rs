//! Test harness: ONE real `secantusd-rs` per test binary (started on first use, shared
//! through a `OnceLock`, its directory removed at exit; the process dies with the test
//! binary through PR_SET_PDEATHSIG), and the app spawned per test on 127.0.0.1:0 with a
//! unique database name. Everything is spoken over real HTTP. With
//! `ONBOARD_TEST_MONGODB_URI` set, that database replaces the shared `secantusd-rs` (see
//! [`db_uri`] and docs/testing.md).
#![allow(dead_code)]

use onboard::config::{Config, Secret};
use onboard::embedded_db::{EmbeddedDb, INSTALL_HINT, find_binary};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

struct SharedDb {
    uri: String,
    _db: Option<EmbeddedDb>,
}

static DB: OnceLock<SharedDb> = OnceLock::new();
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// `secantusd-rs` from SECANTUSD_BIN or PATH; a clear failure (not a skip) when missing.
pub fn secantusd_bin() -> PathBuf {
    let configured = std::env::var_os("SECANTUSD_BIN").map(PathBuf::from);
    find_binary(configured.as_deref()).unwrap_or_else(|_| {
        panic!("secantusd-rs is required by the server tests and was not found (SECANTUSD_BIN or PATH). Install it: {INSTALL_HINT}")
    })
}

extern "C" fn remove_dirs() {
    for d in DIRS.lock().map(|d| d.clone()).unwrap_or_default() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A fresh temporary directory, removed when the test binary exits.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
        .keep();
    let mut dirs = DIRS.lock().unwrap();
    if dirs.is_empty() {
        // SAFETY: registering a plain extern "C" fn; it only touches a static Mutex.
        unsafe {
            libc::atexit(remove_dirs);
        }
    }
    dirs.push(dir.clone());
    dir
}

/// Starts a secantusd-rs with its data dir `dir` on its own thread + runtime (a test's
/// runtime ends with the test).
pub fn start_db(dir: PathBuf, port: u16) -> EmbeddedDb {
    let bin = secantusd_bin();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(EmbeddedDb::start(&bin, &dir, port))
    })
    .join()
    .unwrap()
    .unwrap_or_else(|e| panic!("could not start secantusd-rs: {e}"))
}

/// The database every test app uses: `ONBOARD_TEST_MONGODB_URI` when set (a MongoDB
/// replica set or Atlas: each test still gets its own database name), else one embedded
/// `secantusd-rs` for the whole test binary, started with its credentials (`--auth`).
/// Tests about the embedded database itself (`onboard serve` without `MONGODB_URI`,
/// outages, durability) always start their own `secantusd-rs`.
pub fn db_uri() -> String {
    DB.get_or_init(|| match std::env::var("ONBOARD_TEST_MONGODB_URI") {
        Ok(uri) if !uri.trim().is_empty() => SharedDb {
            uri: uri.trim().to_string(),
            _db: None,
        },
        _ => {
            let db = start_db(temp_dir("onboard-test-db-"), 0);
            SharedDb {
                uri: db.uri(),
                _db: Some(db),
            }
        }
    })
    .uri
    .clone()
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{:016x}", rand::random::<u64>())
}

pub struct TestApp {
    pub app: onboard::App,
    pub url: String,
    pub key: String,
    pub database: String,
    pub http: reqwest::Client,
}

pub fn test_config() -> Config {
    let mut config = Config::for_database(&db_uri(), &unique_name("t_"));
    config.api_key = Some(Secret::new(format!(
        "onb_test_{:032x}",
        rand::random::<u128>()
    )));
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_with(test_config()).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    let app = onboard::spawn(&config).await.expect("app starts");
    TestApp {
        url: app.url(),
        key: config
            .api_key
            .as_ref()
            .map(|k| k.expose().to_string())
            .unwrap_or_default(),
        database: config.database.clone(),
        app,
        http: reqwest::Client::new(),
    }
}

impl TestApp {
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {}", self.key))
    }

    /// A request with another key.
    pub fn http_with_key(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {key}"))
    }

    /// POSTs every body to `path` at once (each request sent from a task of its own, all
    /// started before any answer is awaited) and gives each answer's status and JSON body,
    /// in the bodies' order.
    pub async fn post_at_once(&self, path: &str, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let request = self.req(reqwest::Method::POST, path).json(&body);
                tokio::spawn(async move {
                    let r = request.send().await.unwrap();
                    (r.status(), r.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        answers
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.req(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> Response {
        self.http
            .post(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().await.unwrap()
    }

    pub async fn get_with_key(&self, path: &str, key: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap()
    }

    /// A new API key of this privilege.
    pub async fn new_key(&self, privilege: &str) -> String {
        let r = self
            .post(
                "/v1/keys",
                &json!({ "description": "test", "privilege": privilege }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn create_user(&self, body: &Value) -> Value {
        let r = self.post("/v1/users", body).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    /// A direct driver handle on this test's database, for checks the API cannot make.
    pub async fn mongo(&self) -> mongodb::Database {
        mongodb::Client::with_uri_str(db_uri())
            .await
            .unwrap()
            .database(&self.database)
    }
}

/// Every document of `collection` in `db`, in `_id` order (the order a process made its
/// ids in): for checks the API cannot make.
pub async fn documents(db: &mongodb::Database, collection: &str) -> Vec<mongodb::bson::Document> {
    use futures_util::TryStreamExt;
    db.collection::<mongodb::bson::Document>(collection)
        .find(mongodb::bson::doc! {})
        .sort(mongodb::bson::doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

pub fn user(email: &str) -> Value {
    json!({ "email": email, "type": "Attendee", "firstName": "Jane", "lastName": "Doe" })
}

/// A valid sample payload of the rulebook's corpus (shared/corpus/cases.json, the case
/// "sample <kind> is valid"): `user` or `sponsor`.
pub fn sample(kind: &str) -> Value {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../../shared/corpus/cases.json")).unwrap();
    let name = format!("seed sample {kind} is valid");
    cases
        .into_iter()
        .find(|c| c["name"] == name.as_str())
        .unwrap_or_else(|| panic!("the corpus has no case {name:?}"))["payload"]
        .clone()
}

// ---- OpenAPI: real responses checked against the served document ----

static SPEC: OnceLock<Value> = OnceLock::new();

pub fn spec() -> &'static Value {
    SPEC.get_or_init(onboard::openapi::document)
}

/// Asserts `body` (the JSON of a `status` answer to `method path_template`) matches the
/// schema the OpenAPI document declares for it, and that the status is documented.
pub fn assert_matches_spec(method: &str, path_template: &str, status: u16, body: &Value) {
    let doc = spec();
    let op = &doc["paths"][path_template][method.to_lowercase()];
    assert!(
        op.is_object(),
        "{method} {path_template} is not in the OpenAPI document"
    );
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path_template} does not document status {status}"
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path_template} {status} has no JSON schema"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path_template} {status}: response does not match the spec:\n{}\n{body}",
        errors.join("\n")
    );
}

/// Reads a response, checks it against the spec, and returns (status, headers, JSON).
pub async fn checked(
    r: Response,
    method: &str,
    path_template: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = r.status();
    let headers = r.headers().clone();
    assert!(
        headers.contains_key("x-request-id"),
        "every response has x-request-id"
    );
    let text = r.text().await.unwrap();
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    if status != StatusCode::NO_CONTENT {
        assert_matches_spec(method, path_template, status.as_u16(), &body);
    }
    (status, headers, body)
}

/// (field, code) pairs of an error body, sorted: compared as a multiset.
pub fn pairs(body: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_string(),
                        e["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Collects a child's stdout and stderr, line by line, into one shared string (read by the
/// tests while the process runs, and printed when an assertion fails).
pub fn capture_output(child: &mut std::process::Child) -> std::sync::Arc<Mutex<String>> {
    use std::io::{BufRead, BufReader};
    let output = std::sync::Arc::new(Mutex::new(String::new()));
    for stream in [
        Box::new(child.stdout.take().expect("stdout piped")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr piped")),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut o = output.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
    }
    output
}

/// How one run of the `onboard` binary ended, and what it printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TestApp {
    /// Runs `onboard <args> --url <this app>` with this app's key in `ONBOARD_API_KEY` (and
    /// no `ONBOARD_URL` from the environment), as an organizer would from a shell.
    pub async fn cli(&self, args: &[&str]) -> Run {
        run(onboard_command()
            .args(args)
            .args(["--url", &self.url])
            .env("ONBOARD_API_KEY", &self.key))
        .await
    }
}

/// The `onboard` binary, with no `ONBOARD_URL` from the environment.
pub fn onboard_command() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_onboard"));
    cmd.env_remove("ONBOARD_URL");
    cmd
}

/// Runs `cmd` to its end.
pub async fn run(cmd: &mut tokio::process::Command) -> Run {
    let out = cmd.output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
