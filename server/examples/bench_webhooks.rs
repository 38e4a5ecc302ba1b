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
//! `BENCH_WEBHOOK_FIRST=1` starts with a webhook round instead. `BENCH_SERVER_CPUS=0`
//! runs `onboard` on those CPUs only (`taskset -c`), and `BENCH_MONGODB_URI` points it at a
//! database started beforehand instead of the embedded one (then the database's CPU is not
//! counted): with the database and this program pinned to the other CPU, `onboard` has a
//! core of its own, as beside a remote production database.
//!
//! Each round also prints the CPU time the server used per create: `onboard` and the
//! database it started (Linux: `/proc`), from the round's start until its events were
//! delivered. That number hardly depends on what else the machine runs, so it tells what a
//! webhook costs even when creates/s are blurred by other load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/receiver.rs"]
mod support;
use support::{
    KEY, create_webhook, onboard_binary, parse_stat, receiver, serve_command, setting,
    ticks_per_second, wait_ready,
};

/// `n` as a name: base-26 letters, the first one capital (`0` is `A`, `27` is `Bb`).
fn letters(mut n: u64) -> String {
    let mut out = vec![b'A' + (n % 26) as u8];
    while n >= 26 {
        n = n / 26 - 1;
        out.push(b'a' + (n % 26) as u8);
    }
    String::from_utf8(out).unwrap()
}

/// Creates/s, creates, and the other answers by status (`error`: no answer).
async fn creates(
    http: &reqwest::Client,
    url: &str,
    round: u64,
    secs: u64,
) -> (f64, u64, BTreeMap<String, u64>) {
    let count = Arc::new(AtomicU64::new(0));
    let other: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..32u64)
        .map(|c| {
            let (http, url, count, other, tag) = (
                http.clone(),
                url.to_string(),
                count.clone(),
                other.clone(),
                format!("r{round}"),
            );
            tokio::spawn(async move {
                let mut i = 0;
                while Instant::now() < deadline {
                    // A name per client and create: one shared name would run out of
                    // generated usernames (`last.first#NNNN`, 10,000 per name).
                    let (first, last) = (letters(c * 1_000_000 + i), letters(round));
                    let body = format!(
                        r#"{{"email":"w-{tag}-{c}-{i}@domain.com","type":"Attendee","firstName":"{first}","lastName":"{last}"}}"#
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

/// CPU seconds of the server so far (Linux `/proc`; 0 elsewhere).
#[derive(Clone, Copy, Default)]
struct Cpu {
    /// `onboard`, all its threads.
    onboard: f64,
    /// Of `onboard`'s: its password-hashing threads (`argon2-N`).
    hashing: f64,
    /// The processes `onboard` started: the embedded database.
    database: f64,
}

/// Every `stat` file one level under `dir` (`/proc`: the processes; `/proc/<pid>/task`:
/// its threads): (id, parent's pid, clock ticks of utime + stime, name).
fn stats(dir: &str) -> Vec<(u32, u32, u64, String)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (parent, ticks, name) = parse_stat(&text)?;
            let id = e.file_name().to_str()?.parse().ok()?;
            Some((id, parent, ticks, name))
        })
        .collect()
}

fn cpu_seconds(pid: u32) -> Cpu {
    let processes = stats("/proc");
    let (mut own, mut descendants) = (0, 0);
    let mut family = vec![pid];
    while let Some(p) = family.pop() {
        for (id, parent, t, _) in &processes {
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
    let hashing: u64 = stats(&format!("/proc/{pid}/task"))
        .iter()
        .filter(|(_, _, _, name)| name.starts_with("argon2-"))
        .map(|(_, _, t, _)| t)
        .sum();
    let hz = ticks_per_second();
    Cpu {
        onboard: own as f64 / hz,
        hashing: hashing as f64 / hz,
        database: descendants as f64 / hz,
    }
}

/// Milliseconds per create since `start`.
fn cpu_per_create(pid: u32, start: Cpu, n: u64) -> Cpu {
    let now = cpu_seconds(pid);
    let per = |a: f64, b: f64| (a - b) * 1000.0 / n as f64;
    Cpu {
        onboard: per(now.onboard, start.onboard),
        hashing: per(now.hashing, start.hashing),
        database: per(now.database, start.database),
    }
}

/// The database commands `onboard` has sent so far, by name: how many, and their seconds
/// (its `/metrics`).
async fn commands(http: &reqwest::Client, url: &str) -> BTreeMap<String, (f64, f64)> {
    let text = http.get(url).send().await.unwrap().text().await.unwrap();
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for l in text.lines() {
        let Some(rest) = l.strip_prefix("onboard_db_operation_duration_seconds_") else {
            continue;
        };
        let Some((what, rest)) = rest.split_once("{operation=\"") else {
            continue;
        };
        let Some((name, value)) = rest.split_once("\"} ") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let entry = out.entry(name.to_string()).or_default();
        match what {
            "count" => entry.0 = value,
            "sum" => entry.1 = value,
            _ => {}
        }
    }
    out
}

/// Prints the commands sent per create between two `commands` reads, and their mean
/// duration as `onboard` saw it.
fn per_create(now: &BTreeMap<String, (f64, f64)>, before: &BTreeMap<String, (f64, f64)>, n: u64) {
    let line: Vec<String> = now
        .iter()
        .map(|(k, (count, secs))| {
            let (c0, s0) = before.get(k).copied().unwrap_or_default();
            (k, count - c0, secs - s0)
        })
        .filter(|(_, count, _)| *count > 0.0)
        .map(|(k, count, secs)| {
            format!(
                "{k} {:.2} ({:.2} ms)",
                count / n as f64,
                secs * 1000.0 / count
            )
        })
        .collect();
    println!(
        "          database commands per create: {}",
        line.join(", ")
    );
}

/// One round's line.
fn report(round: u64, hooked: bool, rate: f64, n: u64, other: &BTreeMap<String, u64>, c: Cpu) {
    let mode = if hooked { "with   " } else { "without" };
    println!(
        "round {round}: {mode} webhook: {rate:.1} creates/s ({n} created, non-201: {other:?}), server CPU {:.2} ms per create (onboard {:.2} of which hashing {:.2}, database {:.2}); besides hashing {:.2}",
        c.onboard + c.database,
        c.onboard,
        c.hashing,
        c.database,
        c.onboard - c.hashing + c.database
    );
}

#[tokio::main]
async fn main() {
    let onboard_bin = onboard_binary();
    let received = Arc::new(AtomicU64::new(0));
    let hook_addr = receiver(received.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let bind = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let metrics_bind = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let metrics_url = format!("http://{metrics_bind}/metrics");
    // BENCH_SERVER_CPUS=0 runs `onboard` on those CPUs only (`taskset -c`); with
    // BENCH_MONGODB_URI it uses that database instead of starting the embedded one.
    let cpus = std::env::var("BENCH_SERVER_CPUS").ok();
    let mut server = serve_command(&onboard_bin, bind, cpus.as_deref());
    match std::env::var("BENCH_MONGODB_URI") {
        Ok(uri) => server.env("MONGODB_URI", uri),
        Err(_) => server.env_remove("MONGODB_URI"),
    };
    let mut server = server
        .env("ONBOARD_DATA_DIR", dir.path().join("data"))
        .env("ONBOARD_METRICS_BIND", metrics_bind.to_string())
        .spawn()
        .unwrap();
    let url = format!("http://{bind}");
    let http = reqwest::Client::new();
    wait_ready(&http, &url).await;
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
            hook_id = Some(create_webhook(&http, &url, &format!("http://{hook_addr}/hook")).await);
        }
        let cpu_start = cpu_seconds(server.id());
        let commands_start = commands(&http, &metrics_url).await;
        let (rate, n, other) = creates(&http, &url, round, secs).await;
        if let Some(id) = hook_id {
            expected += n;
            // Delivered before the endpoint goes (a deleted endpoint's deliveries go too).
            let drain = Instant::now();
            while received.load(Ordering::Relaxed) < expected
                && drain.elapsed() < Duration::from_secs(120)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let cpu = cpu_per_create(server.id(), cpu_start, n);
            let sent = commands(&http, &metrics_url).await;
            http.delete(format!("{url}/v1/webhooks/{id}"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap();
            report(round, true, rate, n, &other, cpu);
            per_create(&sent, &commands_start, n);
            with.push(rate);
            cpu_with.push(cpu);
        } else {
            let cpu = cpu_per_create(server.id(), cpu_start, n);
            let sent = commands(&http, &metrics_url).await;
            report(round, false, rate, n, &other, cpu);
            per_create(&sent, &commands_start, n);
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
    let total = |v: &[Cpu]| mean(&v.iter().map(|c| c.onboard + c.database).collect::<Vec<_>>());
    let besides = |v: &[Cpu]| {
        mean(
            &v.iter()
                .map(|c| c.onboard - c.hashing + c.database)
                .collect::<Vec<_>>(),
        )
    };
    let (c, d) = (total(&cpu_without), total(&cpu_with));
    println!(
        "server CPU per create: without {c:.2} ms, with {d:.2} ms, difference {:+.1} %; besides hashing: without {:.2} ms, with {:.2} ms",
        (d - c) / c * 100.0,
        besides(&cpu_without),
        besides(&cpu_with)
    );
    // The median round: a round the machine's other work (or the database's own stalls)
    // hit hard moves the mean, not the median.
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let each = |v: &[Cpu], f: fn(&Cpu) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (e, f) = (median(&without), median(&with));
    let (g, h) = (
        each(&cpu_without, |c| c.onboard + c.database),
        each(&cpu_with, |c| c.onboard + c.database),
    );
    println!(
        "median round: without {e:.1}/s, with {f:.1}/s ({:+.1} %); server CPU per create without {g:.2} ms, with {h:.2} ms ({:+.1} %), besides hashing without {:.2} ms, with {:.2} ms",
        (f - e) / e * 100.0,
        (h - g) / g * 100.0,
        each(&cpu_without, |c| c.onboard - c.hashing + c.database),
        each(&cpu_with, |c| c.onboard - c.hashing + c.database),
    );
    // Each round with a webhook against the rounds without on either side of it: a machine
    // that slows down or speeds up during the run (its other load, its clock) moves both
    // alike, where the means compare early rounds with late ones.
    let paired: Vec<f64> = (0..with.len())
        .filter_map(|i| {
            let (before, after) = if first == 1 {
                (
                    i.checked_sub(1).and_then(|j| without.get(j)),
                    without.get(i),
                )
            } else {
                (without.get(i), without.get(i + 1))
            };
            let neighbours: Vec<f64> = before.into_iter().chain(after).copied().collect();
            (!neighbours.is_empty()).then(|| (with[i] / mean(&neighbours) - 1.0) * 100.0)
        })
        .collect();
    println!(
        "each round with a webhook against its neighbours without: {} (median {:+.1} %)",
        paired
            .iter()
            .map(|p| format!("{p:+.1} %"))
            .collect::<Vec<_>>()
            .join(", "),
        median(&paired)
    );
    // How sure that is: the pairs' mean and two standard errors of it (about a 95 %
    // interval when the rounds' noise is independent from round to round).
    if paired.len() > 1 {
        let m = mean(&paired);
        let n = paired.len() as f64;
        let variance = paired.iter().map(|p| (p - m).powi(2)).sum::<f64>() / (n - 1.0);
        println!(
            "the pairs' mean: {m:+.1} % +/- {:.1} % (two standard errors, {} pairs)",
            2.0 * (variance / n).sqrt(),
            paired.len()
        );
    }
    // SAFETY: the server this benchmark started.
    unsafe {
        libc::kill(server.id() as i32, libc::SIGTERM);
    }
    let _ = server.wait();
}
