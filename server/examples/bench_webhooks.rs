//! What a webhook costs the API: `POST /v1/users` creates/s without any webhook and with one
//! endpoint configured (every create then also records its `user.created` in the outbox,
//! in the create's transaction, and the dispatcher sends it to a local receiver). Rounds
//! alternate (without, with, without, with...) so that a busy machine's drift hits both.
//! Run from the repository root:
//!
//! ```sh
//! cargo build --release -p onboard --bin onboard --example bench_webhooks && target/release/examples/bench_webhooks
//! ```
//!
//! It starts `onboard serve` (beside this example's directory) with the embedded database in
//! a temporary directory, 32 concurrent clients, and a receiver answering 204 on loopback.
//! After each webhook round it waits for the receiver to have every event of the round.
//! `BENCH_WEBHOOK_FIRST=1` starts with a webhook round instead.
//!
//! Each round also prints the CPU time the server used per create: `onboard` and the
//! database it started (Linux: `/proc`), from the round's start until its events were
//! delivered. That number hardly depends on what else the machine runs, so it tells what a
//! webhook costs even when creates/s are blurred by other load.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "onb_bench_0123456789abcdef0123456789abcdef";
/// Pairs of rounds and seconds per round (`BENCH_ROUNDS`, `BENCH_SECS` change them).
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A receiver that answers every request 204 and counts them.
async fn receiver(count: Arc<AtomicU64>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then as many body bytes as Content-Length says.
                loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                let _ = s
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    addr
}

/// Creates/s, creates, and the other answers by status (`error`: no answer).
async fn creates(
    http: &reqwest::Client,
    url: &str,
    tag: &str,
    secs: u64,
) -> (f64, u64, BTreeMap<String, u64>) {
    let count = Arc::new(AtomicU64::new(0));
    let other: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
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
                        r#"{{"email":"w-{tag}-{c}-{i}@domain.com","type":"Attendee","firstName":"A","lastName":"B"}}"#
                    );
                    i += 1;
                    let r = http
                        .post(format!("{url}/v1/users"))
                        .bearer_auth(KEY)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let status = match r {
                        Ok(r) if r.status() == 201 => {
                            count.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        Ok(r) => r.status().as_u16().to_string(),
                        Err(_) => "error".to_string(),
                    };
                    *other.lock().unwrap().entry(status).or_default() += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let n = count.load(Ordering::Relaxed);
    (
        n as f64 / start.elapsed().as_secs_f64(),
        n,
        other.lock().unwrap().clone(),
    )
}

/// CPU seconds used so far by process `pid` and by its descendants (Linux `/proc`; 0
/// elsewhere).
fn cpu_seconds(pid: u32) -> (f64, f64) {
    // (pid, ppid, utime + stime in clock ticks) of every process.
    let stats: Vec<(u32, u32, u64)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // After the command's closing parenthesis: state, ppid, ... (fields 3 on).
            let rest = &text[text.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let id = e.file_name().to_str()?.parse().ok()?;
            Some((
                id,
                f[1].parse().ok()?,
                f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?,
            ))
        })
        .collect();
    let (mut own, mut descendants) = (0, 0);
    let mut family = vec![pid];
    while let Some(p) = family.pop() {
        for (id, parent, t) in &stats {
            if *id == p {
                if p == pid {
                    own += t;
                } else {
                    descendants += t;
                }
            }
            if *parent == p {
                family.push(*id);
            }
        }
    }
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (own as f64 / hz, descendants as f64 / hz)
}

/// Milliseconds per create of `onboard` and of its database since `start`.
fn cpu_per_create(pid: u32, start: (f64, f64), n: u64) -> (f64, f64) {
    let now = cpu_seconds(pid);
    let per = |a: f64, b: f64| (a - b) * 1000.0 / n as f64;
    (per(now.0, start.0), per(now.1, start.1))
}

#[tokio::main]
async fn main() {
    let exe = std::env::current_exe().unwrap();
    let onboard_bin = exe.parent().unwrap().parent().unwrap().join("onboard");
    assert!(
        onboard_bin.is_file(),
        "build it first: cargo build --release -p onboard --bin onboard"
    );
    let received = Arc::new(AtomicU64::new(0));
    let hook_addr = receiver(received.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let bind = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut server = Command::new(&onboard_bin)
        .args(["serve", "--bind", &bind.to_string(), "--rate-limit", "0"])
        .env_remove("MONGODB_URI")
        .env("ONBOARD_API_KEY", KEY)
        .env("ONBOARD_DATA_DIR", dir.path().join("data"))
        .env("ONBOARD_WEBHOOK_ALLOW_PRIVATE", "1")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://{bind}");
    let http = reqwest::Client::new();
    let ready = Instant::now();
    loop {
        let up = http.get(format!("{url}/readyz")).send().await;
        if up.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let (mut cpu_without, mut cpu_with) = (Vec::new(), Vec::new());
    let mut expected = 0;
    // BENCH_WEBHOOK_FIRST=1 starts with a webhook round (to see whether the order matters).
    let first = u64::from(std::env::var("BENCH_WEBHOOK_FIRST").is_ok_and(|v| v == "1"));
    let (rounds, secs) = (setting("BENCH_ROUNDS", 4), setting("BENCH_SECS", 15));
    for round in 0..rounds * 2 {
        let hooked = (round + first) % 2 == 1;
        let mut hook_id = None;
        if hooked {
            let r: serde_json::Value = http
                .post(format!("{url}/v1/webhooks"))
                .bearer_auth(KEY)
                .json(&serde_json::json!({ "url": format!("http://{hook_addr}/hook") }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            hook_id = Some(r["id"].as_str().unwrap().to_string());
        }
        let cpu_start = cpu_seconds(server.id());
        let (rate, n, other) = creates(&http, &url, &format!("r{round}"), secs).await;
        if let Some(id) = hook_id {
            expected += n;
            // Delivered before the endpoint goes (a deleted endpoint's deliveries go too).
            let drain = Instant::now();
            while received.load(Ordering::Relaxed) < expected
                && drain.elapsed() < Duration::from_secs(120)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let (app, db) = cpu_per_create(server.id(), cpu_start, n);
            let cpu = app + db;
            http.delete(format!("{url}/v1/webhooks/{id}"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap();
            println!(
                "round {round}: with    webhook: {rate:.1} creates/s ({n} created, non-201: {other:?}), server CPU {cpu:.2} ms per create (onboard {app:.2}, database {db:.2})"
            );
            with.push(rate);
            cpu_with.push(cpu);
        } else {
            let (app, db) = cpu_per_create(server.id(), cpu_start, n);
            let cpu = app + db;
            println!(
                "round {round}: without webhook: {rate:.1} creates/s ({n} created, non-201: {other:?}), server CPU {cpu:.2} ms per create (onboard {app:.2}, database {db:.2})"
            );
            without.push(rate);
            cpu_without.push(cpu);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (a, b) = (mean(&without), mean(&with));
    println!(
        "mean without: {a:.1}/s, with: {b:.1}/s, difference {:+.1} %; events received {} of {expected}",
        (b - a) / a * 100.0,
        received.load(Ordering::Relaxed)
    );
    let (c, d) = (mean(&cpu_without), mean(&cpu_with));
    println!(
        "server CPU per create: without {c:.2} ms, with {d:.2} ms, difference {:+.1} %",
        (d - c) / c * 100.0
    );
    // SAFETY: the server this benchmark started.
    unsafe {
        libc::kill(server.id() as i32, libc::SIGTERM);
    }
    let _ = server.wait();
}
