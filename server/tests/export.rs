//! The CSV export (issue 12): `GET /v1/users` with `Accept: text/csv` over real HTTP, and
//! `onboard export`, the built binary, against a real server (common/mod.rs).

mod common;

use common::*;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A password hash planted in every stored user: it must never reach an export.
const PLANTED_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cGxhbnRlZA$bm90LWEtcmVhbC1oYXNo";

/// The header row an export writes: the catalogue's fields, then `id`.
fn catalogue_header() -> Vec<String> {
    onboard_shared::FIELDS
        .iter()
        .filter(|f| f.kind != onboard_shared::FieldKind::FullName)
        .map(|f| f.header.to_string())
        .chain(["id".to_string()])
        .collect()
}

/// `n` users written straight into the database (creating them through the API would
/// hash `n` passwords), `e{i}@plant.example`, every third one a Speaker.
async fn plant(app: &TestApp, n: usize) {
    let now = DateTime::now();
    let docs: Vec<Document> = (0..n)
        .map(|i| {
            let first = format!("Planted{i}");
            doc! {
                "_id": ObjectId::new(),
                "email": format!("e{i}@plant.example"),
                "emailNorm": format!("e{i}@plant.example"),
                "type": if i % 3 == 0 { "Speaker" } else { "Attendee" },
                "firstName": &first,
                "lastName": "Row",
                "username": format!("planted{i}"),
                "usernameNorm": format!("planted{i}"),
                "firstNameKey": first.to_lowercase(),
                "lastNameKey": "row",
                "socials": {},
                "options": { "highlight": false, "endRegistration": false },
                "tagIds": [],
                "passwordHash": PLANTED_HASH,
                "createdAt": now,
                "updatedAt": now,
                "version": 1_i64,
            }
        })
        .collect();
    app.mongo()
        .await
        .collection::<Document>("users")
        .insert_many(docs)
        .await
        .unwrap();
}

struct Csv {
    status: StatusCode,
    content_type: String,
    disposition: String,
    /// Body chunks as they arrived.
    chunks: usize,
    text: String,
}

async fn get_csv(app: &TestApp, query: &str, key: &str) -> Csv {
    let mut r = app
        .http_with_key(reqwest::Method::GET, &format!("/v1/users{query}"), key)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (status, content_type, disposition) = (
        r.status(),
        header(&r, "content-type"),
        header(&r, "content-disposition"),
    );
    let mut bytes = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        chunks += 1;
        bytes.extend_from_slice(&chunk);
    }
    Csv {
        status,
        content_type,
        disposition,
        chunks,
        text: String::from_utf8(bytes).unwrap(),
    }
}

/// The records of an export (the byte-order mark dropped), header first.
fn records(text: &str) -> Vec<Vec<String>> {
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark first");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_streams_with_the_catalogue_header_and_no_secret() {
    let app = spawn_app().await;
    plant(&app, 1200).await;
    let csv = get_csv(&app, "", &app.key).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert!(
        csv.disposition.starts_with("attachment; filename=\"users-")
            && csv.disposition.ends_with(".csv\""),
        "{}",
        csv.disposition
    );
    let rows = records(&csv.text);
    assert_eq!(rows[0], catalogue_header());
    assert_eq!(
        rows.len(),
        1 + 1200,
        "every user, on every page of the store"
    );
    let mut emails: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), 1200, "each user once");
    // Pages of 500 arrive one after the other, not as one buffered body.
    assert!(csv.chunks >= 3, "{} chunks", csv.chunks);
    assert!(!csv.text.contains(PLANTED_HASH) && !csv.text.contains("argon2"));
    assert!(
        !rows[0]
            .iter()
            .any(|h| h.to_lowercase().contains("password") || h.to_lowercase().contains("hash"))
    );
    // The importer maps every column back to its field, with no --map.
    let mapped = onboard_shared::map_headers(&rows[0]);
    let paths: Vec<&str> = onboard_shared::FIELDS
        .iter()
        .filter(|f| f.kind != onboard_shared::FieldKind::FullName)
        .map(|f| f.path)
        .collect();
    assert_eq!(
        mapped[..paths.len()]
            .iter()
            .map(|m| m.unwrap())
            .collect::<Vec<_>>(),
        paths
    );
    assert_eq!(mapped[paths.len()], None, "the id column is ignored");

    // The same filter as the JSON list: type (every third planted user is a Speaker).
    let speakers = records(&get_csv(&app, "?type=Speaker", &app.key).await.text);
    assert_eq!(speakers.len(), 1 + 400);
    assert!(speakers[1..].iter().all(|r| r[1] == "Speaker"));
    // `limit` is the JSON page's; the CSV has every user.
    let all = records(&get_csv(&app, "?limit=5", &app.key).await.text);
    assert_eq!(all.len(), 1 + 1200);
    // Without the Accept header, the JSON page as before.
    let page: Value = app.get("/v1/users").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_restricted_keys_and_cells_as_the_importer_reads_them() {
    let app = spawn_app().await;
    let jane = json!({
        "email": "jane@example.com", "type": "Speaker", "firstName": "Jane", "lastName": "Doe",
        "username": "jane.d", "job": "Engineer", "company": "Acme, Inc.",
        "description": "Two lines,\nwith \"quotes\".", "tags": ["Mentor", "Host"],
        "timezone": "Europe/Paris", "country": "France", "city": "Paris", "status": "Employed",
        "website": "https://jane.example.com",
        "socials": { "linkedin": "https://linkedin.com/in/jane" },
        "options": { "highlight": true },
    });
    let jane_id = app.create_user(&jane).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_user(&json!({ "email": "john@example.com", "type": "Attendee",
        "firstName": "John", "lastName": "Smith", "tags": ["Host"] }))
        .await;
    app.create_user(&json!({ "email": "ada@example.com", "type": "Attendee",
        "firstName": "Ada", "lastName": "Lovelace" }))
        .await;

    let csv = get_csv(&app, "?tag=mentor", &app.key).await;
    let rows = records(&csv.text);
    assert_eq!(rows.len(), 2, "{}", csv.text);
    let header = catalogue_header();
    let cell = |name: &str| rows[1][header.iter().position(|h| h == name).unwrap()].as_str();
    assert_eq!(cell("Email"), "jane@example.com");
    assert_eq!(cell("Company"), "Acme, Inc.");
    assert_eq!(cell("Description"), "Two lines,\nwith \"quotes\".");
    assert_eq!(cell("Tags"), "Mentor; Host");
    assert_eq!(cell("LinkedIn"), "https://linkedin.com/in/jane");
    assert_eq!(cell("Facebook"), "");
    assert_eq!(cell("Highlight"), "yes");
    assert_eq!(cell("End registration"), "no");
    assert_eq!(cell("id"), jane_id);

    let emails = |text: &str| -> Vec<String> {
        let mut e: Vec<String> = records(text)[1..].iter().map(|r| r[0].clone()).collect();
        e.sort();
        e
    };
    assert_eq!(
        emails(&get_csv(&app, "?tag=Host", &app.key).await.text),
        ["jane@example.com", "john@example.com"]
    );
    assert_eq!(
        emails(&get_csv(&app, "?type=Attendee&q=lov", &app.key).await.text),
        ["ada@example.com"]
    );
    assert_eq!(
        emails(
            &get_csv(&app, "?email=JOHN@example.com", &app.key)
                .await
                .text
        ),
        ["john@example.com"]
    );
    // An unknown tag: the header alone.
    let none = get_csv(&app, "?tag=nobody", &app.key).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(records(&none.text), vec![header]);
    // A restricted key may export: it is a read.
    let restricted = app.new_key("restricted").await;
    assert_eq!(records(&get_csv(&app, "", &restricted).await.text).len(), 4);
    // Bad filters and keys answer in the one error shape, as for the JSON list.
    let bad = get_csv(&app, "?type=Guest", &app.key).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.content_type.starts_with("application/json"));
    assert_eq!(
        get_csv(&app, "", "onb_wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formula_cells_are_neutralised_and_the_importer_restores_them() {
    let app = spawn_app().await;
    let hostile = json!({
        "email": "hostile@example.com", "type": "Attendee",
        "firstName": "=HYPERLINK(\"https://evil.example\",\"click\")", "lastName": "-2+3",
        "job": "@SUM(A1:A9)", "company": "+33 1 23 45", "city": "'t Hooft",
        "tags": ["-minus", "=eq"],
    });
    app.create_user(&hostile).await;
    let csv = get_csv(&app, "", &app.key).await;
    let rows = records(&csv.text);
    let header = catalogue_header();
    let cell = |name: &str| rows[1][header.iter().position(|h| h == name).unwrap()].as_str();
    assert_eq!(
        cell("First name"),
        "'=HYPERLINK(\"https://evil.example\",\"click\")"
    );
    assert_eq!(cell("Last name"), "'-2+3");
    assert_eq!(cell("Job title"), "'@SUM(A1:A9)");
    assert_eq!(cell("Company"), "'+33 1 23 45");
    assert_eq!(cell("City"), "'t Hooft");
    assert_eq!(cell("Tags"), "'-minus; =eq");
    for row in &rows {
        for c in row {
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {c:?}"
            );
        }
    }

    // The importer reads the file back to exactly the stored values.
    let dir = temp_dir("onboard-export-");
    let file = dir.join("people.csv");
    std::fs::write(&file, &csv.text).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_onboard"))
        .arg("import")
        .arg(&file)
        .args(["--dry-run", "--json"])
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let payload = &report["rows"][0]["payload"];
    for field in [
        "email",
        "type",
        "firstName",
        "lastName",
        "job",
        "company",
        "city",
        "tags",
    ] {
        assert_eq!(payload[field], hostile[field], "{field}: {report}");
    }
    assert_eq!(report["rows"][0]["errors"], json!([]));
}

async fn export(app: &TestApp, args: &[&str]) -> Run {
    app.cli(&[&["export"], args].concat()).await
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboard_export_writes_a_file_or_stdout_and_counts_on_stderr() {
    let app = spawn_app().await;
    plant(&app, 1200).await;
    let served = get_csv(&app, "", &app.key).await.text;

    let dir = temp_dir("onboard-export-");
    let file = dir.join("everyone.csv");
    let run = export(&app, &["-o", file.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), served);
    assert_eq!(mode(&file), 0o600, "personal data: the owner's only");
    assert!(!dir.join("everyone.csv.part").exists());
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("1000 users exported"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("exported 1200 users to {}", file.display())),
        "{}",
        run.stderr
    );

    // Stdout without -o; the filters of the list.
    let run = export(&app, &["--type", "speaker"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = records(&run.stdout);
    assert_eq!(rows[0], catalogue_header());
    assert_eq!(rows.len(), 1 + 400);
    assert!(run.stderr.contains("exported 400 users"), "{}", run.stderr);
    let run = export(&app, &["--tag", "nobody"]).await;
    assert_eq!(
        (run.code, records(&run.stdout).len()),
        (0, 1),
        "{}",
        run.stderr
    );

    // A key refused, a server that is not there, the key in clear to another host: exit 2,
    // and no file.
    let refused = dir.join("refused.csv");
    let run = export(
        &app,
        &["--key", "onb_wrong", "-o", refused.to_str().unwrap()],
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(!refused.exists() && !dir.join("refused.csv.part").exists());
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_onboard"))
        .args([
            "export",
            "--url",
            "http://192.0.2.7:8080",
            "--key",
            &app.key,
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("refusing to send the API key in clear"),
        "{stderr}"
    );
    assert!(!stderr.contains(&app.key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imported_back_with_on_existing_update_changes_nothing() {
    let app = spawn_app().await;
    let people = [
        json!({
            "email": "jane@example.com", "type": "Speaker", "firstName": "Jane", "lastName": "Doe",
            "username": "jane.d", "avatar": "https://example.com/jane.png",
            "description": "Two lines,\nwith \"quotes\", a; semicolon and trailing text.",
            "job": "Engineer", "company": "Acme, Inc.", "tags": ["Mentor", "Host"],
            "timezone": "Europe/Paris", "country": "France", "city": "Paris",
            "status": "Looking for a job", "website": "https://jane.example.com",
            "socials": { "facebook": "https://facebook.com/jane", "linkedin": "https://linkedin.com/in/jane",
                         "twitter": "https://twitter.com/jane", "youtube": "https://youtube.com/@jane" },
            "options": { "highlight": true, "endRegistration": true },
        }),
        // A generated username (`doe.zoe#1234`), accents, no optional field at all.
        json!({ "email": "zoe@example.com", "type": "Attendee", "firstName": "Zoë",
                "lastName": "Łukasiewicz" }),
        // Cells a spreadsheet would run: neutralised in the file, restored on import.
        json!({ "email": "formula@example.com", "type": "Attendee",
                "firstName": "=HYPERLINK(\"https://evil.example\")", "lastName": "-2+3",
                "job": "@SUM(A1)", "company": "+33 1 23", "city": "'t Hooft", "tags": ["-minus"],
                "options": { "endRegistration": true } }),
    ];
    let mut ids = Vec::new();
    for p in &people {
        ids.push(app.create_user(p).await["id"].as_str().unwrap().to_string());
    }
    plant(&app, 30).await;
    let mut versions = Vec::new();
    for id in &ids {
        let r = app.get(&format!("/v1/users/{id}")).await;
        versions.push(r.headers()["etag"].to_str().unwrap().to_string());
    }
    let before = app
        .get("/v1/users?limit=100")
        .await
        .json::<Value>()
        .await
        .unwrap();

    let dir = temp_dir("onboard-export-");
    let file = dir.join("everyone.csv");
    let run = export(&app, &["-o", file.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_onboard"))
        .arg("import")
        .arg(&file)
        .args(["--url", &app.url, "--on-existing", "update"])
        .env("ONBOARD_API_KEY", &app.key)
        .env_remove("ONBOARD_URL")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("created 0, exists 0, updated 0, unchanged 33, invalid 0, failed 0"),
        "every row unchanged:\n{stdout}\n{stderr}"
    );
    // Column by column: the importer mapped every one of them with no --map (and ignored id).
    for header in catalogue_header().iter().filter(|h| *h != "id") {
        assert!(stderr.contains(header.as_str()), "{header} in {stderr}");
    }
    // Not a byte changed: the same users at the same versions.
    let after = app
        .get("/v1/users?limit=100")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(after, before);
    for (id, version) in ids.iter().zip(versions) {
        let r = app.get(&format!("/v1/users/{id}")).await;
        let now = r.headers()["etag"].to_str().unwrap();
        assert_eq!(now, version, "{id} never written");
    }
}
