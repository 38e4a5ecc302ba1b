//! Bulk import benchmark: a 10,000-row CSV through `onboard import` against a release
//! `onboard serve`, compared with the argon2id bound measured in the same run. From the
//! repository root:
//!
//! ```sh
//! cargo build --release -p onboard --bin onboard --example bench_import && target/release/examples/bench_import
//! ```
//!
//! It starts its own secantusd-rs on a temporary directory and `target/release/onboard serve`
//! against it (rate limit off, RUST_LOG=warn), writes the CSV (10 % of rows carry tags),
//! runs `onboard import` (default chunks of 200, 2 in flight), and checks that every row
//! came back `created`. Rows: BENCH_ROWS (default 10000).

use onboard::embedded_db::{EmbeddedDb, find_binary};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "onb_bench_0123456789abcdef0123456789abcdef";

/// Hashes per second with `threads` threads hashing at once for about `secs` seconds.
fn hash_rate(threads: usize, secs: f64) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed().as_secs_f64() < secs {
                    onboard::passwords::hash_blocking("Bench-Password-123!").unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let root = std::env::current_dir().unwrap();
    let bin = root.join("target/release/onboard");
    assert!(
        bin.exists(),
        "build target/release/onboard first (see the doc comment)"
    );

    let one = hash_rate(1, 5.0);
    let all = hash_rate(cores, 5.0);
    println!(
        "argon2id: {one:.1} hashes/s on one thread; bound = {:.1}/s (× {cores} cores); {all:.1}/s with {cores} threads at once",
        one * cores as f64
    );

    let work = tempfile::tempdir().unwrap();
    let db = EmbeddedDb::start(&find_binary(None).unwrap(), &work.path().join("db"), 0)
        .await
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(&bin)
        .arg("serve")
        .env("ONBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("MONGODB_URI", db.uri())
        .env("ONBOARD_DATABASE", "bench_import")
        .env("ONBOARD_API_KEY", KEY)
        .env("ONBOARD_RATE_LIMIT", "0")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let csv = work.path().join("people.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "Email,First name,Last name,Company,Tags").unwrap();
    for i in 0..rows {
        let tags = if i % 10 == 0 { "Mentor;VIP" } else { "" };
        writeln!(
            f,
            "person{i}@example.com,First{i},Last{i},Company {},{tags}",
            i % 50
        )
        .unwrap();
    }
    drop(f);

    let start = Instant::now();
    let out = Command::new(&bin)
        .arg("import")
        .arg(&csv)
        .args(["--url", &url, "--key", KEY])
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = server.kill();
    let _ = server.wait();
    db.stop().await;

    let results = std::fs::read_to_string(work.path().join("people.results.csv")).unwrap();
    let created = results.lines().filter(|l| l.contains(",created,")).count();
    println!("{}", stdout.trim_end());
    println!(
        "import of {rows} rows: {secs:.1} s, exit {:?}, {created} created = {:.1} rows/s = {:.0} % of the one-thread × cores bound, {:.0} % of the {cores}-threads-at-once rate",
        out.status.code(),
        created as f64 / secs,
        100.0 * created as f64 / secs / (one * cores as f64),
        100.0 * created as f64 / secs / all
    );
    assert_eq!(created, rows, "every row must be created");
}
