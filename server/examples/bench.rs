//! Load benchmark of `onboard serve` (release build, rate limit off), writing the
//! numbers the issue asks for. Run from the repository root:
//!
//! ```sh
//! cargo build --release -p onboard --bin onboard --example bench && target/release/examples/bench
//! ```
//!
//! It starts its own secantusd-rs on a temporary directory and `target/release/onboard
//! serve` against it (RUST_LOG=warn so request logging is not what is measured), then:
//! 1. the argon2id bound: hashes/s on one thread × cores, measured here, in this run;
//! 2. `POST /v1/users` creates/s with 64 concurrent keep-alive clients;
//! 3. rejected payloads (400 path): requests/s and p99 latency with 64 clients;
//! 4. peak RSS of the server with 1,000 concurrent connections posting creates.
//!
//! `target/release/examples/bench rate-limit` runs only the rejected-payload load, against
//! a server with rate limiting off and one with it on at a limit no client reaches
//! (10,000,000 a minute: the shared budget's batches, the per-key locks and the headers
//! are paid, the 429 never), three rounds each, alternating, and prints the ratio.
//!
//! Traffic goes to 127.0.0.1 only and every loop is bounded in time.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use onboard::embedded_db::{EmbeddedDb, find_binary};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const KEY: &str = "onb_bench_0123456789abcdef0123456789abcdef";

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

async fn connect(addr: std::net::SocketAddr) -> Option<Conn> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .ok()?;
    tokio::spawn(conn);
    Some(Conn { sender })
}

impl Conn {
    async fn post(&mut self, path: &str, body: String) -> Option<u16> {
        self.sender.ready().await.ok()?;
        let req = http::Request::post(path)
            .header("host", "bench")
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .ok()?;
        let res = self.sender.send_request(req).await.ok()?;
        let status = res.status().as_u16();
        res.into_body().collect().await.ok()?;
        Some(status)
    }
}

#[derive(Default)]
struct Counts {
    by_status: std::collections::BTreeMap<u16, u64>,
    errors: u64,
    latencies_us: Vec<u64>,
}

/// `clients` connections, each sending `body(n)` in a loop for `secs` seconds.
async fn load(
    addr: std::net::SocketAddr,
    clients: usize,
    secs: u64,
    body: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> (Counts, f64) {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let body = body.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut counts = Counts::default();
            let mut conn = None;
            while Instant::now() < deadline {
                if conn.is_none() {
                    conn = connect(addr).await;
                    if conn.is_none() {
                        counts.errors += 1;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                match conn.as_mut().unwrap().post("/v1/users", body(n)).await {
                    Some(status) => {
                        *counts.by_status.entry(status).or_default() += 1;
                        counts.latencies_us.push(t.elapsed().as_micros() as u64);
                    }
                    None => {
                        counts.errors += 1;
                        conn = None;
                    }
                }
            }
            counts
        }));
    }
    let mut total = Counts::default();
    for t in tasks {
        let c = t.await.unwrap();
        for (k, v) in c.by_status {
            *total.by_status.entry(k).or_default() += v;
        }
        total.errors += c.errors;
        total.latencies_us.extend(c.latencies_us);
    }
    (total, start.elapsed().as_secs_f64())
}

fn percentile(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i] as f64 / 1000.0
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn user(n: u64, tag: &str) -> String {
    format!(
        r#"{{"email":"bench-{tag}-{n}@domain.com","type":"Attendee","firstName":"Bench","lastName":"User"}}"#
    )
}

#[tokio::main]
async fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let exe = std::env::current_exe().unwrap();
    let onboard_bin = exe.parent().unwrap().parent().unwrap().join("onboard");
    assert!(
        onboard_bin.is_file(),
        "build it first: cargo build --release -p onboard --bin onboard"
    );

    let dir = tempfile::tempdir().unwrap();
    let secantusd = find_binary(
        std::env::var_os("SECANTUSD_BIN")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )
    .expect("secantusd-rs");
    let db = EmbeddedDb::start(&secantusd, dir.path(), 0)
        .await
        .expect("database");

    if std::env::args().nth(1).as_deref() == Some("rate-limit") {
        rate_limit_cost(&onboard_bin, &db.uri()).await;
        db.stop().await;
        return;
    }

    // 1. The argon2id bound, in this run, on this machine.
    let password = onboard_shared::PasswordPolicy::default().generate();
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        onboard::passwords::hash_blocking(&password).unwrap();
    }
    let per_thread = n as f64 / t.elapsed().as_secs_f64();
    let naive_bound = per_thread * cores as f64;
    // All cores hashing at once share memory bandwidth (19 MiB per hash), so also measure
    // the parallel rate: that is the bound the server can actually reach.
    let t = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let password = password.clone();
            std::thread::spawn(move || {
                for _ in 0..n {
                    onboard::passwords::hash_blocking(&password).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let bound = (n * cores) as f64 / t.elapsed().as_secs_f64();
    println!(
        "argon2id: {per_thread:.1} hashes/s on one thread (x{cores} = {naive_bound:.1}/s); measured with {cores} threads at once: {bound:.1}/s"
    );

    let (mut server, addr) = start_server(&onboard_bin, &db.uri(), "0").await;
    let pid = server.id();

    // 2. Creates at 64 concurrent clients.
    let (mut creates, secs) = load(addr, 64, 15, Arc::new(|n| user(n, "c64"))).await;
    let created = creates.by_status.get(&201).copied().unwrap_or(0);
    let create_rate = created as f64 / secs;
    let create_p99 = percentile(&mut creates.latencies_us, 0.99);
    println!(
        "creates @64: {create_rate:.1}/s ({:.0}% of the parallel argon2 bound, {:.0}% of one-thread x cores), p99 {create_p99:.0} ms, statuses {:?}, errors {}",
        100.0 * create_rate / bound,
        100.0 * create_rate / naive_bound,
        creates.by_status,
        creates.errors
    );

    // 3. Rejected payloads: every rule runs, nothing is hashed or stored.
    let (mut rejected, secs) = load(addr, 64, 10, Arc::new(|_| INVALID.to_string())).await;
    let total: u64 = rejected.by_status.values().sum();
    let reject_rate = total as f64 / secs;
    let reject_p50 = percentile(&mut rejected.latencies_us, 0.50);
    let reject_p99 = percentile(&mut rejected.latencies_us, 0.99);
    println!(
        "rejected @64: {reject_rate:.0} req/s, p50 {reject_p50:.2} ms, p99 {reject_p99:.2} ms, statuses {:?}",
        rejected.by_status
    );

    // 4. RSS with 1,000 concurrent connections posting creates.
    let (rss_before, _) = rss_kib(pid);
    println!(
        "RSS after the create and reject phases: {:.1} MiB",
        rss_before as f64 / 1024.0
    );
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let samples = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut v = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                v.push(rss_kib(pid).0);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            v
        })
    };
    let (flood, secs) = load(addr, 1000, 20, Arc::new(|n| user(n, "c1000"))).await;
    sampling.store(false, Ordering::Relaxed);
    let samples = samples.await.unwrap();
    let (_, hwm) = rss_kib(pid);
    let first_half = samples[..samples.len() / 2]
        .iter()
        .max()
        .copied()
        .unwrap_or(0);
    let second_half = samples[samples.len() / 2..]
        .iter()
        .max()
        .copied()
        .unwrap_or(0);
    let total: u64 = flood.by_status.values().sum();
    println!(
        "1000 connections, {secs:.0} s: RSS before {:.1} MiB, peak (VmHWM) {:.1} MiB, max first half {:.1} MiB, max second half {:.1} MiB; {total} answers {:?}, errors {}",
        rss_before as f64 / 1024.0,
        hwm as f64 / 1024.0,
        first_half as f64 / 1024.0,
        second_half as f64 / 1024.0,
        flood.by_status,
        flood.errors
    );

    stop_server(&mut server);
    db.stop().await;
}

/// A payload every rule refuses (the 400 path: nothing is hashed or stored).
const INVALID: &str =
    r#"{"email":"not-an-email","type":"Guest","firstName":"","website":"http://x.com"}"#;

/// `target/release/onboard serve` on a free port with `--rate-limit rate_limit`.
async fn start_server(
    onboard_bin: &std::path::Path,
    db_uri: &str,
    rate_limit: &str,
) -> (std::process::Child, std::net::SocketAddr) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let server = std::process::Command::new(onboard_bin)
        .args([
            "serve",
            "--bind",
            &addr.to_string(),
            "--rate-limit",
            rate_limit,
            "--read-rate-limit",
            rate_limit,
            "--api-key",
            KEY,
            "--hash-queue",
            "256",
        ])
        .env("MONGODB_URI", db_uri)
        .env("ONBOARD_DATABASE", "bench")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("onboard serve");
    let ready = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, addr)
}

fn stop_server(server: &mut std::process::Child) {
    // SAFETY: terminating the server this benchmark started.
    unsafe {
        libc::kill(server.id() as i32, libc::SIGTERM);
    }
    let _ = server.wait();
}

/// The rejected-payload load with rate limiting off, then on at a limit never reached;
/// alternating rounds so a change in the machine's load hits both alike.
async fn rate_limit_cost(onboard_bin: &std::path::Path, db_uri: &str) {
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..3 {
        for (i, limit) in ["0", "10000000"].into_iter().enumerate() {
            let (mut server, addr) = start_server(onboard_bin, db_uri, limit).await;
            let (mut rejected, secs) = load(addr, 64, 10, Arc::new(|_| INVALID.to_string())).await;
            stop_server(&mut server);
            let total: u64 = rejected.by_status.values().sum();
            let rate = total as f64 / secs;
            println!(
                "round {round}, --rate-limit {limit}: rejected @64 {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, statuses {:?}",
                percentile(&mut rejected.latencies_us, 0.50),
                percentile(&mut rejected.latencies_us, 0.99),
                rejected.by_status
            );
            rates[i].push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (off, on) = (mean(&rates[0]), mean(&rates[1]));
    println!(
        "rate limiting on (10,000,000/min) vs off: {on:.0} vs {off:.0} req/s = {:.1} %",
        100.0 * on / off
    );
}
