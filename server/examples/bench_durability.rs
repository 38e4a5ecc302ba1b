//! What durability costs: the same load on `secantusd-rs` without and with
//! `--sync-on-commit` (an fsync of its log at every commit, which `onboard serve` uses so
//! that no acknowledged write is lost under `kill -9`). Run from the repository root:
//!
//! ```sh
//! cargo build --release -p onboard --bin onboard --example bench_durability && target/release/examples/bench_durability
//! ```
//!
//! For each mode: raw driver inserts/s (16 concurrent, what the database alone pays per
//! commit), then `POST /v1/users` creates/s through `target/release/onboard serve` (32
//! concurrent clients; argon2id bounds this one). Loopback only; every loop is bounded.

use onboard::embedded_db::{find_binary, parse_listening};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const KEY: &str = "onb_bench_0123456789abcdef0123456789abcdef";

fn start_db(dir: &std::path::Path, sync: bool) -> (std::process::Child, u16) {
    let bin = find_binary(
        std::env::var_os("SECANTUSD_BIN")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )
    .expect("secantusd-rs");
    let mut cmd = Command::new(bin);
    cmd.args(["--host", "127.0.0.1", "--port", "0", "--storage-path"])
        .arg(dir)
        .args([
            "--log-file-max",
            "16MB",
            "--cache-size",
            "256M",
            "--log-level",
            "WARNING",
        ]);
    if sync {
        cmd.arg("--sync-on-commit");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        if let Some(port) = parse_listening(&line.unwrap()) {
            return (child, port);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("secantusd-rs did not start");
}

fn stop(child: &mut std::process::Child) {
    // SAFETY: a child this benchmark started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}

async fn raw_inserts(uri: &str, secs: u64) -> f64 {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let coll = client
        .database("bench")
        .collection::<mongodb::bson::Document>("raw");
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let (coll, count) = (coll.clone(), count.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    coll.insert_one(
                        mongodb::bson::doc! { "t": t, "i": i as i64, "pad": "x".repeat(200) },
                    )
                    .await
                    .unwrap();
                    i += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn creates(url: &str, tag: &str, secs: u64) -> (f64, u64) {
    let http = reqwest::Client::new();
    let count = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..32)
        .map(|c| {
            let (http, url, count, other, tag) = (
                http.clone(),
                url.to_string(),
                count.clone(),
                other.clone(),
                tag.to_string(),
            );
            tokio::spawn(async move {
                let mut i = 0;
                while Instant::now() < deadline {
                    let body = format!(
                        r#"{{"email":"d-{tag}-{c}-{i}@domain.com","type":"Attendee","firstName":"A","lastName":"B"}}"#
                    );
                    i += 1;
                    let r = http
                        .post(format!("{url}/v1/users"))
                        .bearer_auth(KEY)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 201 => count.fetch_add(1, Ordering::Relaxed),
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (
        count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64(),
        other.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() {
    let exe = std::env::current_exe().unwrap();
    let onboard_bin = exe.parent().unwrap().parent().unwrap().join("onboard");
    assert!(
        onboard_bin.is_file(),
        "build it first: cargo build --release -p onboard --bin onboard"
    );
    for sync in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (mut db, port) = start_db(dir.path(), sync);
        let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
        let raw = raw_inserts(&uri, 8).await;

        let bind = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let mut server = Command::new(&onboard_bin)
            .args(["serve", "--bind", &bind.to_string(), "--rate-limit", "0"])
            .env("ONBOARD_API_KEY", KEY)
            .env("MONGODB_URI", &uri)
            .env("ONBOARD_DATABASE", "bench")
            .env("ONBOARD_DATA_DIR", dir.path().join("onboard"))
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = Instant::now();
        while tokio::net::TcpStream::connect(bind).await.is_err() {
            assert!(
                ready.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (rate, other) = creates(&format!("http://{bind}"), &format!("s{sync}"), 12).await;
        println!(
            "--sync-on-commit {}: raw inserts @16: {raw:.0}/s; creates @32: {rate:.1}/s (non-201: {other})",
            if sync { "on " } else { "off" }
        );
        // SAFETY: the server this benchmark started.
        unsafe {
            libc::kill(server.id() as i32, libc::SIGTERM);
        }
        let _ = server.wait();
        stop(&mut db);
    }
}
