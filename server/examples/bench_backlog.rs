//! What an endpoint's backlog costs: `BENCH_BACKLOG` pending deliveries (default 20,000) of
//! one endpoint, written straight into the database while the endpoint is disabled, then the
//! endpoint enabled again, so that they all go out as after an outage. Prints how long a
//! local receiver took to have them all, and the CPU the database and `onboard` used
//! meanwhile. Run from the repository root:
//!
//! ```sh
//! cargo build --release -p onboard --bin onboard --example bench_backlog && target/release/examples/bench_backlog
//! ```
//!
//! It starts its own `secantusd-rs` (as `onboard serve` would) on a temporary directory and
//! `onboard serve` on it with `MONGODB_URI`, private destinations allowed.

use mongodb::bson::{DateTime, doc, oid::ObjectId};
use onboard::embedded_db::{EmbeddedDb, find_binary};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/receiver.rs"]
mod support;
use support::{
    KEY, create_webhook, onboard_binary, process_cpu, receiver, serve_command, setting, wait_ready,
};

#[tokio::main]
async fn main() {
    let backlog = setting("BENCH_BACKLOG", 20_000);
    let onboard_bin = onboard_binary();
    let dir = tempfile::tempdir().unwrap();
    let secantusd = find_binary(None).expect("secantusd-rs");
    let db = EmbeddedDb::start(&secantusd, dir.path(), 0)
        .await
        .expect("database");
    let received = Arc::new(AtomicU64::new(0));
    let hook_addr = receiver(received.clone()).await;
    let bind = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut server = serve_command(&onboard_bin, bind, None)
        .env("MONGODB_URI", db.uri())
        .spawn()
        .unwrap();
    let url = format!("http://{bind}");
    let http = reqwest::Client::new();
    wait_ready(&http, &url).await;
    let hook_id = create_webhook(&http, &url, &format!("http://{hook_addr}/hook")).await;
    let patch = |disabled: bool| {
        http.patch(format!("{url}/v1/webhooks/{hook_id}"))
            .bearer_auth(KEY)
            .json(&serde_json::json!({ "disabled": disabled }))
            .send()
    };
    assert!(patch(true).await.unwrap().status().is_success());

    // The backlog, as the outbox records it (`store::webhooks::DeliveryDoc`).
    let client = mongodb::Client::with_uri_str(db.uri()).await.unwrap();
    let deliveries = client
        .database("onboard")
        .collection::<mongodb::bson::Document>("webhook_deliveries");
    let endpoint = ObjectId::parse_str(&hook_id).unwrap();
    let now = DateTime::now();
    let mut docs = Vec::new();
    for i in 0..backlog {
        let user = ObjectId::new();
        let body = serde_json::json!({
            "type": "user.created",
            "timestamp": now.try_to_rfc3339_string().unwrap(),
            "data": { "id": user.to_hex(), "email": format!("backlog-{i}@domain.com"), "type": "Attendee", "firstName": "A", "lastName": "B" },
        });
        docs.push(doc! {
            "_id": ObjectId::new(), "endpointId": endpoint, "eventId": ObjectId::new(),
            "type": "user.created", "body": body.to_string(), "mentions": [user],
            "state": "pending", "attempts": 0, "failures": 0, "nextAttemptAt": now, "createdAt": now,
        });
        if docs.len() == 5_000 {
            deliveries
                .insert_many(std::mem::take(&mut docs))
                .await
                .unwrap();
        }
    }
    if !docs.is_empty() {
        deliveries.insert_many(docs).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (db_cpu, onboard_cpu) = (process_cpu(db.pid() as u32), process_cpu(server.id()));
    let start = Instant::now();
    assert!(patch(false).await.unwrap().status().is_success());
    while received.load(Ordering::Relaxed) < backlog && start.elapsed() < Duration::from_secs(900) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{} of {backlog} delivered in {:.1} s; CPU meanwhile: database {:.1} s, onboard {:.1} s",
        received.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
        process_cpu(db.pid() as u32) - db_cpu,
        process_cpu(server.id()) - onboard_cpu,
    );
    // SAFETY: the server this benchmark started.
    unsafe {
        libc::kill(server.id() as i32, libc::SIGTERM);
    }
    let _ = server.wait();
    db.stop().await;
}
