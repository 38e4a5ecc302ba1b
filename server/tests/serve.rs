//! The `onboard` binary as a user runs it: `onboard serve` with the embedded database,
//! restarts, signals, logs, failures. Plus a database outage and recovery.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
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
        Serve::run(args, envs, false)
    }

    /// `onboard serve` with its stdout and stderr on a terminal (a pseudo-terminal made by
    /// util-linux `script`, which copies what the terminal shows to our pipe).
    fn start_on_terminal(args: &[&str], envs: &[(&str, &str)]) -> Serve {
        Serve::run(args, envs, true)
    }

    fn run(args: &[&str], envs: &[(&str, &str)], terminal: bool) -> Serve {
        let mut cmd = if terminal {
            let mut line = vec![
                env!("CARGO_BIN_EXE_onboard"),
                "serve",
                "--bind",
                "127.0.0.1:0",
            ];
            line.extend_from_slice(args);
            let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
            let mut cmd = Command::new("script");
            cmd.args(["-qfec", &quoted.join(" "), "/dev/null"])
                .stdin(Stdio::null());
            cmd
        } else {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_onboard"));
            cmd.arg("serve").args(["--bind", "127.0.0.1:0"]).args(args);
            cmd
        };
        for var in [
            "MONGODB_URI",
            "ONBOARD_API_KEY",
            "ONBOARD_DATA_DIR",
            "ONBOARD_DATABASE",
            "ONBOARD_BIND",
            "ONBOARD_RATE_LIMIT",
            "ONBOARD_MAX_KEYS",
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
        let output = capture_output(&mut child);
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

    /// The pid of the embedded database started last (it changes when it is restarted).
    fn embedded_pid(&self) -> i32 {
        let out = self.output();
        let line = out
            .lines()
            .rfind(|l| l.contains("embedded database listening"))
            .expect("embedded db line");
        let at = line
            .find("pid=")
            .expect("pid in the embedded database line")
            + 4;
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn embedded_port_latest(&self) -> u16 {
        let out = self.output();
        let line = out
            .lines()
            .rfind(|l| l.contains("embedded database listening port="))
            .expect("embedded db line");
        let at = line.find("port=").unwrap() + 5;
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn embedded_starts(&self) -> usize {
        self.output().matches("embedded database listening").count()
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
        "ONBOARD_MAX_KEYS",
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
    // stderr is a pipe here (as under systemd or in a container): the key goes to a 0600
    // file in the data dir, the log names the file and never holds the key.
    let file = onboard::auth::generated_key_file(&dir);
    assert!(out.contains(&file.display().to_string()), "{out}");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions())
            & 0o777,
        0o600
    );
    let key = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(key.starts_with("onb_") && key.len() == 68, "{key}");
    assert!(!out.contains(&key), "the key never reaches the log");
    assert_eq!(key_in(&out), None, "no key at all in the output");
    // The embedded database's own secrets: a private directory and a 0600 password file.
    for (path, mode) in [
        (dir.join("db"), 0o700),
        (onboard::embedded_db::credentials_file(&dir), 0o600),
    ] {
        let m = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(m & 0o777, mode, "{}", path.display());
    }
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
    let out = second.output();
    assert!(
        !out.contains("generated the bootstrap API key"),
        "generated only once, ever"
    );
    assert!(
        out.contains("To get access without one, set ONBOARD_API_KEY"),
        "a start that generates no key says how to get in:\n{out}"
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
            "onb_graceful_test_key_0123456789abcdef",
        ],
        &[],
    );
    let url = serve.url();
    let http = reqwest::Client::new();
    let request = tokio::spawn(async move {
        http.post(format!("{url}/v1/users"))
            .bearer_auth("onb_graceful_test_key_0123456789abcdef")
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
    // The database password inside MONGODB_URI (the embedded one's, unless the tests run on
    // ONBOARD_TEST_MONGODB_URI).
    if let Some((userinfo, _)) = db_uri().split("://").nth(1).and_then(|r| r.split_once('@'))
        && let Some((_, password)) = userinfo.split_once(':')
    {
        secrets.push(password.to_string());
    }
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
    config.mongodb_uri = Some(onboard::config::Secret::new(db.uri().replace(
        "serverSelectionTimeoutMS=3000",
        "serverSelectionTimeoutMS=1000",
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
            "onb_crash_test_key_0123456789abcdef",
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
            .bearer_auth("onb_crash_test_key_0123456789abcdef")
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

#[tokio::test]
async fn a_configured_key_shorter_than_32_characters_is_refused_at_start() {
    let dir = temp_dir("onboard-short-");
    let mut serve = Serve::start(
        &["--data-dir", dir.to_str().unwrap()],
        &[("ONBOARD_API_KEY", "onb_0123456789abcdef0123456789a")],
    );
    assert!(!serve.wait_exit().success());
    let out = serve.output();
    assert!(
        out.contains("ONBOARD_API_KEY is 31 characters long") && out.contains("at least 32"),
        "{out}"
    );
    assert!(
        !dir.join("db").exists(),
        "refused before the embedded database was started"
    );
}

/// Issue 14: instances started together on one empty database all serve, and the bootstrap
/// key is made once. Before: every instance generated (and printed) its own key, and a
/// racing upsert could end a start with "the database did not answer: Kind: Custom user
/// error".
#[tokio::test]
async fn three_instances_starting_together_on_an_empty_database_all_serve() {
    let http = reqwest::Client::new();
    let configured = format!("onb_{:064x}", rand::random::<u128>());
    for with_key in [false, true] {
        let database = unique_name("race_");
        let data = temp_dir("onboard-race-");
        let uri = db_uri();
        let mut envs = vec![
            ("MONGODB_URI", uri.as_str()),
            ("ONBOARD_DATABASE", database.as_str()),
            ("ONBOARD_DATA_DIR", data.to_str().unwrap()),
        ];
        if with_key {
            envs.push(("ONBOARD_API_KEY", configured.as_str()));
        }
        let mut serves: Vec<Serve> = (0..3).map(|_| Serve::start(&[], &envs)).collect();
        let urls: Vec<String> = serves.iter_mut().map(|s| s.url()).collect();
        let all = serves
            .iter()
            .map(Serve::output)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!all.contains("did not answer"), "{all}");
        let generated = all.matches("generated the bootstrap API key").count();
        let key = if with_key {
            assert_eq!(generated, 0, "{all}");
            configured.clone()
        } else {
            assert_eq!(generated, 1, "one instance generates, once:\n{all}");
            assert_eq!(
                all.matches("To get access without one, set ONBOARD_API_KEY")
                    .count(),
                2,
                "{all}"
            );
            std::fs::read_to_string(onboard::auth::generated_key_file(&data))
                .unwrap()
                .trim()
                .to_string()
        };
        for url in &urls {
            let r = http
                .get(format!("{url}/v1/keys"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let items = r.json::<Value>().await.unwrap()["items"].clone();
            assert_eq!(
                items.as_array().unwrap().len(),
                1,
                "one bootstrap key: {items}"
            );
        }
        for mut s in serves {
            assert!(s.terminate().success());
        }
    }
}

/// Issue 14: acknowledged writes survive `kill -9` of the embedded database (three rounds:
/// creates, SIGKILL right after the last 201, onboard restarts it, every user is there) and
/// of onboard itself. Before `--sync-on-commit`, 1 or 2 of the last 30 were lost per round.
#[tokio::test]
async fn acknowledged_creates_survive_kill_9_of_the_database_and_of_onboard() {
    const N: usize = 30;
    let key = format!("onb_{:064x}", rand::random::<u128>());
    let dir = temp_dir("onboard-durable-");
    let data = dir.to_str().unwrap();
    let envs = [
        ("ONBOARD_API_KEY", key.as_str()),
        ("ONBOARD_RATE_LIMIT", "0"),
    ];
    let mut serve = Serve::start(&["--data-dir", data], &envs);
    let mut url = serve.url();
    let http = reqwest::Client::new();
    let mut ids: Vec<String> = Vec::new();

    async fn create_batch(http: &reqwest::Client, url: &str, key: &str, tag: &str) -> Vec<String> {
        // 6 at a time: many commits close together, as under real load.
        let mut ids = Vec::new();
        for chunk in 0..N / 6 {
            let mut tasks = Vec::new();
            for i in 0..6 {
                let (http, url, key) = (http.clone(), url.to_string(), key.to_string());
                let email = format!("durable-{tag}-{chunk}-{i}@domain.com");
                tasks.push(tokio::spawn(async move {
                    let r = http
                        .post(format!("{url}/v1/users"))
                        .bearer_auth(&key)
                        .json(&user(&email))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::CREATED);
                    r.json::<Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                }));
            }
            for t in tasks {
                ids.push(t.await.unwrap());
            }
        }
        ids
    }

    async fn all_there(http: &reqwest::Client, url: &str, key: &str, ids: &[String]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut missing = Vec::new();
        for id in ids {
            loop {
                let r = http
                    .get(format!("{url}/v1/users/{id}"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap();
                match r.status() {
                    StatusCode::OK => break,
                    StatusCode::NOT_FOUND => {
                        missing.push(id.clone());
                        break;
                    }
                    // The database is still coming back.
                    _ => {
                        assert!(Instant::now() < deadline, "never recovered");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged users lost: {missing:?}",
            missing.len(),
            ids.len()
        );
    }

    for round in 0..3 {
        ids.extend(create_batch(&http, &url, &key, &format!("db{round}")).await);
        let starts = serve.embedded_starts();
        // SAFETY: the database child of the onboard process this test started.
        unsafe {
            libc::kill(serve.embedded_pid(), libc::SIGKILL);
        }
        eventually("onboard to restart its database", || {
            serve.embedded_starts() > starts
        });
        all_there(&http, &url, &key, &ids).await;
    }

    ids.extend(create_batch(&http, &url, &key, "onboard").await);
    let db_port = serve.embedded_port_latest();
    let db_pid = serve.embedded_pid();
    serve.signal(libc::SIGKILL);
    serve.wait_exit();
    // Its database gets SIGTERM from the kernel (parent death) and stops by itself; its
    // files stay locked until the process is gone, a little after the port closes.
    eventually("the orphaned database to stop", || {
        // SAFETY: signal 0 only checks whether the pid exists.
        !port_open(db_port) && unsafe { libc::kill(db_pid, 0) } != 0
    });
    let mut again = Serve::start(&["--data-dir", data], &envs);
    url = again.url();
    all_there(&http, &url, &key, &ids).await;
    assert_eq!(ids.len(), 4 * N);
    let status = again.terminate();
    assert!(status.success(), "{status}:\n{}", again.output());
}

/// Issue 17, finding 10: a generated key is printed only when stderr is a terminal (someone
/// is there to read it); then no file is written. (Without a terminal: the restart test.)
#[tokio::test]
async fn on_a_terminal_the_generated_key_is_printed_and_no_file_is_written() {
    let dir = temp_dir("onboard-tty-");
    let mut serve = Serve::start_on_terminal(
        &["--data-dir", dir.to_str().unwrap(), "--log-format", "json"],
        &[],
    );
    let url = serve.url();
    let out = serve.output();
    let key = key_in(&out).unwrap_or_else(|| panic!("the key is on the terminal:\n{out}"));
    assert!(
        !onboard::auth::generated_key_file(&dir).exists(),
        "no file when the terminal showed it"
    );
    let r = reqwest::Client::new()
        .get(format!("{url}/v1/keys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    serve.signal(libc::SIGTERM);
    let _ = serve.wait_exit();
}
