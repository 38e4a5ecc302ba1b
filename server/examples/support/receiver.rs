//! What the webhook benchmarks share (included with `#[path]`: not an example itself).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The API key the benchmarks give `onboard serve` (`ONBOARD_API_KEY`).
pub const KEY: &str = "onb_bench_0123456789abcdef0123456789abcdef";

/// `target/release/onboard`, beside this example's directory.
pub fn onboard_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("onboard");
    assert!(
        bin.is_file(),
        "build it first: cargo build --release -p onboard --bin onboard"
    );
    bin
}

/// `onboard serve` on `bind` with the benchmarks' key, no rate limit, private webhook
/// destinations allowed and warnings only, on `cpus` only when given (`taskset -c`); the
/// caller adds its database and starts it.
pub fn serve_command(
    bin: &std::path::Path,
    bind: std::net::SocketAddr,
    cpus: Option<&str>,
) -> std::process::Command {
    let mut c = match cpus {
        Some(cpus) => {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", cpus]).arg(bin);
            c
        }
        None => std::process::Command::new(bin),
    };
    c.args(["serve", "--bind", &bind.to_string(), "--rate-limit", "0"])
        .env("ONBOARD_API_KEY", KEY)
        .env("ONBOARD_WEBHOOK_ALLOW_PRIVATE", "1")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null());
    c
}

/// Waits until the server at `url` is ready (a minute at most).
pub async fn wait_ready(http: &reqwest::Client, url: &str) {
    let ready = Instant::now();
    while !http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates an endpoint for every event type, sending to `target`; answers its id.
pub async fn create_webhook(http: &reqwest::Client, url: &str, target: &str) -> String {
    let r: serde_json::Value = http
        .post(format!("{url}/v1/webhooks"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({ "url": target }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["id"].as_str().unwrap().to_string()
}

/// A receiver that answers every request 204 and counts them: hyper's HTTP/1.1 server, so
/// it keeps connections open between requests as web servers do.
pub async fn receiver(count: Arc<AtomicU64>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let count = count.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                let count = count.clone();
                async move {
                    let _ = http_body_util::BodyExt::collect(request.into_body()).await;
                    count.fetch_add(1, Ordering::Relaxed);
                    let mut answer =
                        hyper::Response::new(http_body_util::Empty::<bytes::Bytes>::new());
                    *answer.status_mut() = hyper::StatusCode::NO_CONTENT;
                    Ok::<_, std::convert::Infallible>(answer)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// A number from the environment (`BENCH_*`), or `default`.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One `/proc/<pid>/stat` (or a thread's) text: (its parent's pid, clock ticks of utime +
/// stime, its name).
pub fn parse_stat(text: &str) -> Option<(u32, u64, String)> {
    let name = &text[text.find('(')? + 1..text.rfind(')')?];
    // After the command's closing parenthesis: state, ppid, ... (fields 3 on).
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((f.get(1)?.parse().ok()?, ticks, name.to_string()))
}

/// Clock ticks a second, the unit of [`parse_stat`]'s times.
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// CPU seconds `pid` has used so far, all its threads (Linux `/proc`; 0 elsewhere).
// bench_webhooks counts per thread and per child instead.
#[allow(dead_code)]
pub fn process_cpu(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|text| parse_stat(&text))
        .map_or(0.0, |(_, ticks, _)| ticks as f64 / ticks_per_second())
}
