//! The embedded database is `onboard`'s alone (issue 17, finding 1): it runs with `--auth`,
//! its password lives in a 0600 file, its directory is 0700, and a local account without the
//! credentials is refused. A data dir from before authentication is adopted, data included.

mod common;

use common::*;
use mongodb::bson::{Document, doc};
use onboard::embedded_db::{EmbeddedDb, EmbeddedError, credentials_file, storage_dir};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Starts the embedded database on `data_dir`, returning the start-up error if any.
fn try_start(data_dir: PathBuf) -> Result<EmbeddedDb, EmbeddedError> {
    let bin = secantusd_bin();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(EmbeddedDb::start(&bin, &data_dir, 0))
    })
    .join()
    .unwrap()
}

fn anonymous_uri(port: u16) -> String {
    format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=3000")
}

async fn client(uri: &str) -> mongodb::Client {
    mongodb::Client::with_uri_str(uri).await.unwrap()
}

#[tokio::test]
async fn a_client_without_the_credentials_is_refused() {
    let db = start_db(temp_dir("onboard-auth-"), 0);
    let port = db.port();

    // What the other local user of the review did: read the keys, forge one.
    let anonymous = client(&anonymous_uri(port)).await;
    let keys = anonymous
        .database("onboard")
        .collection::<Document>("api_keys");
    let read = keys.find_one(doc! {}).await;
    let e = read.expect_err("an unauthenticated read is refused");
    assert!(
        e.to_string().to_lowercase().contains("auth"),
        "refused for lack of authentication: {e}"
    );
    let forged = keys
        .insert_one(doc! { "hash": "forged", "privilege": "standard" })
        .await;
    assert!(forged.is_err(), "an unauthenticated write is refused");
    // The localhost exception is closed: the first user exists.
    let grab = anonymous
        .database("admin")
        .run_command(doc! { "createUser": "intruder", "pwd": "x", "roles": ["root"] })
        .await;
    assert!(
        grab.is_err(),
        "no second user through the localhost exception"
    );

    let wrong = client(&format!(
        "mongodb://onboard:{}@127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=3000&authSource=admin",
        "0".repeat(64)
    ))
    .await;
    let e = wrong
        .database("onboard")
        .collection::<Document>("api_keys")
        .find_one(doc! {})
        .await
        .expect_err("a wrong password is refused");
    assert!(e.to_string().to_lowercase().contains("auth"), "{e}");

    // onboard's own connection works, and nothing was written by the others.
    let own = client(&db.uri()).await;
    let coll = own.database("onboard").collection::<Document>("api_keys");
    assert_eq!(coll.count_documents(doc! {}).await.unwrap(), 0);
    coll.insert_one(doc! { "ok": 1 }).await.unwrap();
}

#[tokio::test]
async fn the_data_dir_is_private_and_the_password_file_is_0600() {
    let data = temp_dir("onboard-modes-").join("data");
    let db = start_db(data.clone(), 0);
    let own = client(&db.uri()).await;
    own.database("onboard")
        .collection::<Document>("users")
        .insert_one(doc! { "email": "a@b.co" })
        .await
        .unwrap();
    assert_eq!(mode(&data), 0o700, "a new data dir is created 0700");
    assert_eq!(mode(&storage_dir(&data)), 0o700, "the database directory");
    let creds = credentials_file(&data);
    assert_eq!(mode(&creds), 0o600, "the password file");
    let text = std::fs::read_to_string(&creds).unwrap();
    let password = serde_json::from_str::<serde_json::Value>(&text).unwrap()["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(password.len() >= 32 && db.uri().contains(&password));
    // Every file the database wrote is for this account only (it runs with umask 077).
    let mut stack = vec![storage_dir(&data)];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is open to others",
                path.display()
            );
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
            }
        }
    }
    assert!(files > 0);
}

/// `secantusd-rs` as onboard started it before authentication: no `--auth`, default modes.
fn start_unauthenticated(storage: &Path) -> (std::process::Child, u16) {
    std::fs::create_dir_all(storage).unwrap();
    std::fs::set_permissions(storage, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = Command::new(secantusd_bin())
        .args(["--host", "127.0.0.1", "--port", "0", "--storage-path"])
        .arg(storage)
        .args([
            "--log-file-max",
            "16MB",
            "--cache-size",
            "64M",
            "--log-level",
            "WARNING",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(port) = onboard::embedded_db::parse_listening(&line) {
            return (child, port);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("secantusd-rs did not start");
}

fn stop(mut child: std::process::Child) {
    // SAFETY: our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap();
}

#[tokio::test]
async fn a_data_dir_from_before_authentication_is_adopted_with_its_data() {
    let data = temp_dir("onboard-old-");
    let (old, port) = start_unauthenticated(&storage_dir(&data));
    let anonymous = client(&anonymous_uri(port)).await;
    anonymous
        .database("onboard")
        .collection::<Document>("users")
        .insert_one(doc! { "email": "old@domain.com" })
        .await
        .unwrap();
    anonymous.shutdown().await;
    stop(old);

    let db = start_db(data.clone(), 0);
    assert_eq!(mode(&storage_dir(&data)), 0o700, "tightened from 0755");
    assert_eq!(mode(&credentials_file(&data)), 0o600);
    let own = client(&db.uri()).await;
    let found = own
        .database("onboard")
        .collection::<Document>("users")
        .find_one(doc! { "email": "old@domain.com" })
        .await
        .unwrap();
    assert!(found.is_some(), "the old data is there");
    let anonymous = client(&anonymous_uri(db.port())).await;
    assert!(
        anonymous
            .database("onboard")
            .collection::<Document>("users")
            .find_one(doc! {})
            .await
            .is_err(),
        "and now closed to others"
    );
}

#[tokio::test]
async fn a_lost_password_file_stops_the_start_with_a_clear_message() {
    let data = temp_dir("onboard-lost-");
    let db = start_db(data.clone(), 0);
    db.stop().await;
    std::fs::remove_file(credentials_file(&data)).unwrap();
    let e = try_start(data.clone()).expect_err("no start without the credentials");
    let text = e.to_string();
    assert!(
        matches!(e, EmbeddedError::CredentialsMissing { .. })
            && text.contains("db-credentials.json")
            && text.contains("Restore"),
        "{text}"
    );

    // A replaced (wrong) password file is refused by name too.
    let data = temp_dir("onboard-wrong-");
    let db = start_db(data.clone(), 0);
    db.stop().await;
    std::fs::write(
        credentials_file(&data),
        format!(r#"{{"user":"onboard","password":"{}"}}"#, "1".repeat(64)),
    )
    .unwrap();
    let e = try_start(data).expect_err("wrong credentials");
    assert!(matches!(e, EmbeddedError::CredentialsRefused(_)), "{e}");
}
