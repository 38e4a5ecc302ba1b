//! The `onboard` binary as a user runs it: `onboard serve` with the embedded database,
//! restarts, signals, logs, failures. Plus a database outage and recovery.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `onboard serve`, its stderr+stdout collected.
struct Serve {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Serve {
    fn start(args: &[&str], envs: &[(&str, &str)]) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onboard"));
        cmd.arg("serve").args(["--bind", "127.0.0.1:0"]).args(args);
        for var in [
            "MONGODB_URI",
            "ONBOARD_API_KEY",
            "ONBOARD_DATA_DIR",
            "ONBOARD_DATABASE",
            "ONBOARD_BIND",
            "ONBOARD_RATE_LIMIT",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("SECANTUSD_BIN", secantusd_bin());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run onboard");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
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
        Serve { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits (bounded) until the output contains `needle`, or the process exits.
    fn wait_for(&mut self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                std::thread::sleep(Duration::from_millis(200));
                return self.output().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The server's URL, from its "onboard listening url=..." log line.
    fn url(&mut self) -> String {
        assert!(
            self.wait_for("onboard listening"),
            "server did not start:\n{}",
            self.output()
        );
        let out = self.output();
        // `url=http://...` in pretty logs, `"url":"http://..."` in JSON ones.
        let at = out.find("http://127.0.0.1:").expect("url in log");
        out[at..]
            .split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .unwrap()
            .to_string()
    }

    fn embedded_port(&self) -> u16 {
        let out = self.output();
        let at = out
            .find("embedded database listening port=")
            .expect("embedded db line")
            + "embedded database listening port=".len();
        out[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// SIGTERM, then the exit status (bounded wait).
    fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit()
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "onboard did not exit:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300))
        .is_ok()
}

/// Waits (bounded) for a condition that settles asynchronously.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn key_in(output: &str) -> Option<String> {
    let at = output.find("onb_")?;
    Some(
        output[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    )
}

#[tokio::test]
async fn help_documents_every_flag_and_env_var() {
    let out = Command::new(env!("CARGO_BIN_EXE_onboard"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--bind",
        "ONBOARD_BIND",
        "--mongodb-uri",
        "MONGODB_URI",
        "--data-dir",
        "ONBOARD_DATA_DIR",
        "--api-key",
        "ONBOARD_API_KEY",
        "ONBOARD_RATE_LIMIT",
        "--log-format",
        "RUST_LOG",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from serve --help:\n{text}"
        );
    }
    let top = Command::new(env!("CARGO_BIN_EXE_onboard"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&top.stdout).contains("serve"));
}

#[tokio::test]
async fn embedded_database_data_survives_a_restart_and_the_bootstrap_key_prints_once() {
    let dir = temp_dir("onboard-serve-");
    let data = dir.to_str().unwrap();
    let http = reqwest::Client::new();

    let mut first = Serve::start(&["--data-dir", data], &[]);
    let url = first.url();
    let out = first.output();
    assert_eq!(
        out.matches("generated the bootstrap API key").count(),
        1,
        "{out}"
    );
    let key = key_in(&out).expect("bootstrap key printed");
    let r = http
        .post(format!("{url}/v1/users"))
        .bearer_auth(&key)
        .json(&user("persist@domain.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let db_port = first.embedded_port();
    assert!(first.terminate().success(), "{}", first.output());
    assert!(
        !port_open(db_port),
        "the embedded database stops with onboard"
    );

    let mut second = Serve::start(&[], &[("ONBOARD_DATA_DIR", data)]);
    let url = second.url();
    let r = http
        .get(format!("{url}/v1/users/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "user and key survive the restart"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap()["email"],
        "persist@domain.com"
    );
    assert!(
        !second.output().contains("generated the bootstrap API key"),
        "printed only once, ever"
    );
    assert!(second.terminate().success());
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let dir = temp_dir("onboard-serve-");
    let mut serve = Serve::start(
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "--api-key",
            "onb_graceful_test_key",
        ],
        &[],
    );
    let url = serve.url();
    let http = reqwest::Client::new();
    let request = tokio::spawn(async move {
        http.post(format!("{url}/v1/users"))
            .bearer_auth("onb_graceful_test_key")
            .json(&user("g@domain.com"))
            .send()
            .await
    });
    // Let the request reach the server (its argon2 hash takes a while), then SIGTERM.
    tokio::time::sleep(Duration::from_millis(400)).await;
    serve.signal(libc::SIGTERM);
    let r = request
        .await
        .unwrap()
        .expect("the in-flight request gets its answer");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(serve.wait_exit().success());
}

#[tokio::test]
async fn a_killed_onboard_takes_its_database_with_it() {
    let dir = temp_dir("onboard-serve-");
    let mut serve = Serve::start(&["--data-dir", dir.to_str().unwrap()], &[]);
    serve.url();
    let db_port = serve.embedded_port();
    assert!(port_open(db_port));
    serve.signal(libc::SIGKILL);
    serve.wait_exit();
    eventually("the orphaned database to die", || !port_open(db_port));
}

#[tokio::test]
async fn a_data_dir_in_use_and_a_missing_binary_fail_fast_and_clearly() {
    let dir = temp_dir("onboard-serve-");
    let data = dir.to_str().unwrap();
    let mut first = Serve::start(&["--data-dir", data], &[]);
    first.url();
    let mut second = Serve::start(&["--data-dir", data], &[]);
    let status = second.wait_exit();
    assert!(!status.success());
    let out = second.output();
    assert!(
        out.contains("locked by another secantusd-rs process") && out.contains("data dir"),
        "{out}"
    );

    let mut missing = Serve::start(
        &[
            "--data-dir",
            data,
            "--secantusd-bin",
            "/nonexistent/secantusd-rs",
        ],
        &[],
    );
    let status = missing.wait_exit();
    assert!(!status.success());
    let out = missing.output();
    assert!(
        out.contains("cargo install secantus-mdb") && out.contains("MONGODB_URI"),
        "{out}"
    );
    assert!(first.terminate().success());
}

#[tokio::test]
async fn no_password_key_or_hash_ever_reaches_the_logs() {
    let database = unique_name("logs_");
    let admin_key = format!("onb_{:064x}", rand::random::<u128>());
    let mut serve = Serve::start(
        &["--log-format", "json"],
        &[
            ("RUST_LOG", "trace"),
            ("MONGODB_URI", &db_uri()),
            ("ONBOARD_DATABASE", &database),
            ("ONBOARD_API_KEY", &admin_key),
        ],
    );
    let url = serve.url();
    let http = reqwest::Client::new();
    let post = |path: &str, key: &str, body: Value| {
        http.post(format!("{url}{path}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let mut secrets = vec![admin_key.clone(), onboard::auth::hash_key(&admin_key)];
    let created: Value = post("/v1/users", &admin_key, user("log1@domain.com"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(created["password"].as_str().unwrap().to_string());
    let sponsor = json!({ "name": "Logs", "logo": "https://a.co/l.png", "level": 1,
        "speakers": [{ "email": "log2@domain.com", "firstName": "A", "lastName": "B" }] });
    let created: Value = post("/v1/sponsors", &admin_key, sponsor)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(
        created["speakers"][0]["password"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let key: Value = post(
        "/v1/keys",
        &admin_key,
        json!({ "description": "k", "privilege": "standard" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let new_key = key["key"].as_str().unwrap().to_string();
    secrets.push(new_key.clone());
    secrets.push(onboard::auth::hash_key(&new_key));
    // Failures too: a wrong key, a conflict, a validation error.
    let wrong = format!("onb_wrong_{:032x}", rand::random::<u128>());
    assert_eq!(
        post("/v1/users", &wrong, user("x@domain.com"))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    secrets.push(wrong);
    assert_eq!(
        post("/v1/users", &new_key, user("log1@domain.com"))
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        post("/v1/users", &new_key, json!({ "email": 1 }))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );

    // The stored password hashes, whole and their salt/hash parts.
    let client = mongodb::Client::with_uri_str(db_uri()).await.unwrap();
    let users = client
        .database(&database)
        .collection::<mongodb::bson::Document>("users");
    let mut cursor = users.find(mongodb::bson::doc! {}).await.unwrap();
    let mut hashes = 0;
    while cursor.advance().await.unwrap() {
        let doc = cursor.deserialize_current().unwrap();
        let hash = doc.get_str("passwordHash").unwrap().to_string();
        for part in hash.split('$').filter(|p| p.len() >= 16) {
            secrets.push(part.to_string());
        }
        secrets.push(hash);
        hashes += 1;
    }
    assert_eq!(hashes, 2);
    assert!(serve.terminate().success());
    let logs = serve.output();
    assert!(
        logs.lines().count() > 10,
        "trace logging produced output:\n{logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
}

#[tokio::test]
async fn a_database_outage_gives_503_and_the_server_recovers_by_itself() {
    let dir = temp_dir("onboard-outage-");
    let db = start_db(dir.clone(), 0);
    let port = db.port();
    let mut config = test_config();
    config.mongodb_uri = Some(onboard::config::Secret::new(format!(
        "mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=1000"
    )));
    let app = spawn_with(config).await;
    let created = app.create_user(&user("before@domain.com")).await;
    let id = created["id"].as_str().unwrap().to_string();

    // A clean stop: secantusd-rs (beta) can lose writes acknowledged in the last seconds
    // before a SIGKILL, which would make "data from before" flaky for reasons not ours.
    db.stop().await;
    let r = app
        .http
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    let (status, _, body) = checked(r, "GET", "/readyz").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("database_unavailable")
        )
    );
    let r = app.get(&format!("/v1/users/{id}")).await;
    assert!(r.headers().contains_key("retry-after"));
    let (status, _, body) = checked(r, "GET", "/v1/users/{id}").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("database_unavailable")
        )
    );
    let (status, _, body) = checked(
        app.post("/v1/users", &user("during@domain.com")).await,
        "POST",
        "/v1/users",
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("database_unavailable")
        )
    );

    // Same port, same files: the app reconnects without a restart.
    let _db = start_db(dir, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app
            .http
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = app.get(&format!("/v1/users/{id}")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "data from before the outage is there"
    );
    app.create_user(&user("after@domain.com")).await;
}

#[tokio::test]
async fn a_crashed_embedded_database_is_restarted_by_onboard() {
    let dir = temp_dir("onboard-serve-");
    let mut serve = Serve::start(
        &[
            "--data-dir",
            dir.to_str().unwrap(),
            "--api-key",
            "onb_crash_test_key",
        ],
        &[],
    );
    let url = serve.url();
    let out = serve.output();
    let at = out.find("pid=").expect("pid in the embedded database line") + 4;
    let pid: i32 = out[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: the database child of the onboard process this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    assert!(
        serve.wait_for("embedded database exited; restarting it"),
        "{}",
        serve.output()
    );
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http
            .post(format!("{url}/v1/users"))
            .bearer_auth("onb_crash_test_key")
            .json(&user("after-crash@domain.com"))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(
            r.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "only 503 while the database is away"
        );
        assert!(
            Instant::now() < deadline,
            "never recovered:\n{}",
            serve.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(serve.terminate().success());
}
