//! `onboard import`: the built binary run against a real server (spawned per test on a
//! random port with its own database, see common/mod.rs).

mod common;

use common::*;
use mongodb::bson::{Document, doc};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

async fn import(app: &TestApp, file: &Path, extra: &[&str]) -> Run {
    let file = file.to_str().expect("a UTF-8 path");
    app.cli(&[&["import", file], extra].concat()).await
}

fn write_csv(name: &str, text: &str) -> PathBuf {
    let path = temp_dir("onboard-cli-").join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The results file as (row, email, status, id, password, errors) records.
fn results(csv_path: &Path) -> Vec<Vec<String>> {
    results_of(csv_path, 1)
}

/// The `n`-th run's results file: `FILE.results.csv`, `FILE.results-2.csv`...
fn results_name(csv_path: &Path, n: usize) -> PathBuf {
    let stem = csv_path.file_stem().unwrap().to_string_lossy();
    csv_path.with_file_name(match n {
        1 => format!("{stem}.results.csv"),
        n => format!("{stem}.results-{n}.csv"),
    })
}

fn results_of(csv_path: &Path, n: usize) -> Vec<Vec<String>> {
    let path = results_name(csv_path, n);
    let mut r = csv::Reader::from_path(&path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["row", "email", "status", "id", "password", "errors"]
    );
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn user_count(app: &TestApp) -> u64 {
    app.mongo()
        .await
        .collection::<Document>("users")
        .count_documents(doc! {})
        .await
        .unwrap()
}

const PLANTED: &str = "Email,First name,Last name,Type,Tags,Website\n\
    jane@example.com,Jane,Doe,Speaker,Mentor;Host,https://jane.example.com\n\
    not-an-email,Bad,Row,,,\n\
    JANE@example.com,Jane,Again,,,\n\
    john@example.com,John,Smith,,,http://john.example.com\n\
    ada@example.com,Ada,Lovelace,Attendee,VIP,\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_every_problem_and_sends_nothing() {
    let app = spawn_app().await;
    let file = write_csv("planted.csv", PLANTED);
    let run = import(&app, &file, &["--dry-run"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    for line in [
        "row 3: email: ",
        "(email_invalid)",
        "row 4: email: This email already appears in an earlier row. (duplicate_in_batch)",
        "row 5: website: ",
        "(url_not_https)",
        "5 rows: 2 valid, 3 invalid (1 duplicate e-mails in the file)",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("row 2:") && !run.stdout.contains("row 6:"));
    assert_eq!(user_count(&app).await, 0, "a dry run sends nothing");
    assert!(!file.with_file_name("planted.results.csv").exists());

    let clean = write_csv(
        "clean.csv",
        "email,first name,last name\na@example.com,A,B\n",
    );
    let run = import(&app, &clean, &["--dry-run"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_run_writes_the_results_file_and_a_second_run_finds_everything() {
    let app = spawn_app().await;
    // A username taken on the server: only the server can tell.
    let mut owner = user("owner@example.com");
    owner["username"] = json!("taken.name");
    app.create_user(&owner).await;
    let text = format!("{PLANTED}zoe@example.com,Zoe,Taken,,,\n").replace(
        "Email,First name,Last name,Type,Tags,Website\n",
        "Email,First name,Last name,Type,Tags,Website,Username\n",
    );
    let text = text.replace(
        "zoe@example.com,Zoe,Taken,,,",
        "zoe@example.com,Zoe,Taken,,,,Taken.Name",
    );
    let file = write_csv("people.csv", &text);

    let run = import(&app, &file, &["--chunk-size", "2"]).await;
    assert_eq!(
        run.code, 1,
        "invalid rows make it fail\n{}\n{}",
        run.stdout, run.stderr
    );
    let rows = results(&file);
    let status: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("2", "created"),
            ("3", "invalid"),
            ("4", "invalid"),
            ("5", "invalid"),
            ("6", "created"),
            ("7", "invalid"),
        ]
    );
    assert!(rows[5][5].contains("username_taken"), "{:?}", rows[5]);
    assert!(
        run.stdout.contains("row 7: invalid: username: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("created 2, exists 0, updated 0, unchanged 0, invalid 4, failed 0"),
        "{}",
        run.stdout
    );
    // Every row that is not imported says why, in its own line of the file.
    for r in rows.iter().filter(|r| r[2] == "invalid") {
        assert!(r[5].contains(": ") && r[5].ends_with(')'), "{r:?}");
    }
    assert!(rows[2][5].contains("duplicate_in_batch"), "{:?}", rows[2]);
    for r in [&rows[0], &rows[4]] {
        assert_eq!(r[3].len(), 24, "an id: {r:?}");
        assert_eq!(r[4].len(), 20, "a password: {r:?}");
        // Never on the terminal.
        assert!(!run.stdout.contains(&r[4]) && !run.stderr.contains(&r[4]));
        // And it is the stored user's password.
        let stored = app
            .mongo()
            .await
            .collection::<Document>("users")
            .find_one(doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&r[3]).unwrap() })
            .await
            .unwrap()
            .unwrap();
        assert!(onboard::passwords::verify(
            &r[4],
            stored.get_str("passwordHash").unwrap()
        ));
    }
    assert!(rows[1][4].is_empty() && rows[1][3].is_empty());
    assert!(rows[3][5].contains("url_not_https"));
    assert_eq!(rows[0][1], "jane@example.com");
    let mode = std::fs::metadata(file.with_file_name("people.results.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(run.stderr.contains("passwords"), "{}", run.stderr);
    let tagged = app.get(&format!("/v1/users/{}", rows[0][3])).await;
    let tagged: serde_json::Value = tagged.json().await.unwrap();
    assert_eq!(tagged["tags"], json!(["Mentor", "Host"]));
    assert_eq!(tagged["type"], "Speaker");
    assert_eq!(user_count(&app).await, 3);

    // Again: nothing new; the created rows are `exists` with the same ids, no password,
    // in a new results file: the first one, with the passwords, is kept as it was.
    let first_file = std::fs::read(results_name(&file, 1)).unwrap();
    let again = import(&app, &file, &[]).await;
    assert_eq!(again.code, 1);
    let rows2 = results_of(&file, 2);
    assert_eq!(rows2[0][2], "exists");
    assert_eq!(rows2[0][3], rows[0][3]);
    assert!(rows2[0][4].is_empty());
    assert_eq!(rows2[4][2], "exists");
    assert!(
        again
            .stdout
            .contains("created 0, exists 2, updated 0, unchanged 0, invalid 4, failed 0")
    );
    assert!(
        again.stderr.contains("people.results-2.csv")
            && again
                .stderr
                .contains("people.results.csv from an earlier run is kept"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(results_name(&file, 1)).unwrap(), first_file);
    let mode = std::fs::metadata(results_name(&file, 2))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A third run: FILE.results-3.csv.
    let third = import(&app, &file, &[]).await;
    assert!(
        third.stderr.contains("people.results-3.csv"),
        "{}",
        third.stderr
    );
    assert_eq!(results_of(&file, 3), rows2);
    assert_eq!(user_count(&app).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn french_headers_semicolons_and_a_bom_import_cleanly_and_exit_0() {
    let app = spawn_app().await;
    let file = write_csv(
        "inscrits.csv",
        "\u{feff}Adresse e-mail;Prénom;Nom;Étiquettes;Fuseau horaire\n\
         Elodie@Exemple.fr;Élodie;Dupré;Atelier, Mentor;Europe/Paris\n\
         marc@exemple.fr;Marc;Martin;;\n",
    );
    let run = import(&app, &file, &["--type", "Speaker"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("separator ';'"), "{}", run.stderr);
    let rows = results(&file);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r[2] == "created"));
    let user = app.get(&format!("/v1/users/{}", rows[0][3])).await;
    let user: serde_json::Value = user.json().await.unwrap();
    assert_eq!(user["firstName"], "Élodie");
    assert_eq!(user["lastName"], "Dupré");
    assert_eq!(user["type"], "Speaker");
    assert_eq!(user["timezone"], "Europe/Paris");
    assert_eq!(user["tags"], json!(["Atelier", "Mentor"]));

    let again = import(&app, &file, &[]).await;
    assert_eq!(again.code, 0, "all `exists` is a clean run");
    assert!(results_of(&file, 2).iter().all(|r| r[2] == "exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_or_an_unusable_file_exits_2() {
    let app = spawn_app().await;
    let file = write_csv("k.csv", "email,first name,last name\na@example.com,A,B\n");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_onboard"))
        .arg("import")
        .arg(&file)
        .args(["--url", &app.url, "--key", "onb_wrong"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Invalid API key"), "{stderr}");
    assert_eq!(user_count(&app).await, 0);

    let restricted = app.new_key("restricted").await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_onboard"))
        .arg("import")
        .arg(&file)
        .args(["--url", &app.url, "--key", &restricted])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Insufficient permissions"));

    let no_email = write_csv("n.csv", "name,city\nA,B\n");
    let run = import(&app, &no_email, &[]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no column holds e-mail"),
        "{}",
        run.stderr
    );
}

/// A dry run needs no server: only the file and the rulebook.
async fn dry_run(file: &Path, extra: &[&str]) -> Run {
    run(onboard_command()
        .arg("import")
        .arg(file)
        .arg("--dry-run")
        .args(extra)
        .env_remove("ONBOARD_API_KEY"))
    .await
}

#[tokio::test]
async fn a_full_name_column_is_split_and_the_dry_run_says_so() {
    let file = write_csv(
        "names.csv",
        "Name,Email\n\"Doe, Jane\",jane@example.com\nJane van Doe,jvd@example.com\n",
    );
    let run = dry_run(&file, &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for line in [
        "split full names into first and last name in 2 rows (column \"Name\"",
        "row 2: first name \"Jane\", last name \"Doe\"",
        "row 3: first name \"Jane van\", last name \"Doe\"",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("Name → fullName"), "{}", run.stderr);
}

#[tokio::test]
async fn map_type_from_and_speaker_values_read_a_ticketing_export() {
    let file = write_csv(
        "tickets.csv",
        "Work mail,First Name,Last Name,Ticket Type,Order #\n\
         ada@example.com,Ada,Lovelace,Speaker Pass,1\n\
         grace@example.com,Grace,Hopper,Early Bird,2\n",
    );
    // Without the options: no e-mail column, the file cannot be used.
    let run = dry_run(&file, &[]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--map"), "{}", run.stderr);
    let run = dry_run(
        &file,
        &[
            "--map",
            "Work mail=email",
            "--type-from",
            "Ticket Type",
            "--speaker-value",
            "speaker pass",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["columns"],
        json!(["email", "firstName", "lastName", "type", null])
    );
    assert_eq!(report["rows"][0]["payload"]["type"], "Speaker");
    assert_eq!(report["rows"][1]["payload"]["type"], "Attendee");
    assert!(
        run.stderr.contains("Order # (no such field)"),
        "{}",
        run.stderr
    );

    let run = dry_run(&file, &["--map", "Work mail=e-mail"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a field"), "{}", run.stderr);
}

#[tokio::test]
async fn url_corrections_are_listed_and_applied_only_with_fix_urls() {
    let file = write_csv(
        "links.csv",
        "Email,First name,Last name,LinkedIn,Twitter\n\
         ada@example.com,Ada,Lovelace,linkedin.com/in/ada,@ada\n",
    );
    let run = dry_run(&file, &[]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(
        "row 2: socials.linkedin: suggested correction (--fix-urls applies it): \"linkedin.com/in/ada\" → \"https://linkedin.com/in/ada\""
    ), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("\"@ada\" → \"https://twitter.com/ada\"")
    );
    assert!(run.stdout.contains("(url_not_https)"));

    let run = dry_run(&file, &["--fix-urls"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("row 2: socials.twitter: corrected \"@ada\" → \"https://twitter.com/ada\"")
    );
    assert!(run.stdout.contains("1 rows: 1 valid, 0 invalid"));
}

#[tokio::test]
async fn a_windows_1252_file_is_read_as_such_and_the_command_says_so() {
    let path = temp_dir("onboard-cli-").join("latin.csv");
    // "Prénom;Nom" and "Élodie;Dupré" in Windows-1252, as a spreadsheet's plain CSV.
    std::fs::write(
        &path,
        b"Courriel;Pr\xe9nom;Nom\nelodie@example.fr;\xc9lodie;Dupr\xe9\n",
    )
    .unwrap();
    let run = dry_run(&path, &["--json"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("not UTF-8: read as Windows-1252"),
        "{}",
        run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["encoding"], "Windows-1252");
    assert_eq!(report["rows"][0]["payload"]["firstName"], "Élodie");
    assert_eq!(report["rows"][0]["payload"]["lastName"], "Dupré");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_existing_update_patches_the_cells_a_row_has_and_the_default_type_only_fills_new_users()
{
    let app = spawn_app().await;
    let mut jane = user("jane@example.com");
    jane["type"] = json!("Speaker");
    jane["job"] = json!("Tester");
    jane["city"] = json!("Lyon");
    let jane = app.create_user(&jane).await;
    let bob = app.create_user(&user("bob@example.com")).await;
    // No type column: --type (Attendee) fills only the new user. Jane's job cell carries
    // the formula mark an export puts there: it is read back without it.
    let file = write_csv(
        "update.csv",
        "Email,First name,Last name,Job title,City\n\
         JANE@example.com,,,'=Lead,\n\
         new@example.com,New,Person,Host,\n\
         bob@example.com,Jane,Doe,,\n\
         ghost@example.com,,,Host,\n\
         bad@example.com,Bad,Url,,\n",
    );
    let dry = import(&app, &file, &["--on-existing", "update", "--dry-run"]).await;
    assert_eq!(dry.code, 0, "{}\n{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout
            .contains("2 of the valid rows lack columns a new user needs"),
        "{}",
        dry.stdout
    );

    let run = import(&app, &file, &["--on-existing", "update"]).await;
    assert_eq!(
        run.code, 1,
        "the ghost row is invalid\n{}\n{}",
        run.stdout, run.stderr
    );
    let rows = results(&file);
    let status: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        status,
        ["updated", "created", "unchanged", "invalid", "created"]
    );
    assert_eq!(rows[0][3], jane["id"].as_str().unwrap());
    assert!(rows[0][4].is_empty(), "no password for an update");
    assert_eq!(rows[2][3], bob["id"].as_str().unwrap());
    assert_eq!(rows[1][4].len(), 20, "a new user's password");
    // The server's verdict on the ghost row: a new user without names, in its own line.
    assert!(
        rows[3][5].contains("firstName") && rows[3][5].contains("(required)"),
        "{:?}",
        rows[3]
    );
    assert!(run.stdout.contains("row 5: invalid: "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("created 2, exists 0, updated 1, unchanged 1, invalid 1, failed 0"),
        "{}",
        run.stdout
    );

    let get = |id: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/v1/users/{id}")).await;
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let after = get(rows[0][3].clone()).await;
    assert_eq!(after["job"], "=Lead");
    assert_eq!(
        after["type"], "Speaker",
        "the default type never replaces a user's"
    );
    assert_eq!(after["city"], "Lyon", "an empty cell changes nothing");
    assert_eq!(after["firstName"], "Jane");
    let new = get(rows[1][3].clone()).await;
    assert_eq!(new["type"], "Attendee");
    assert_eq!(new["job"], "Host");

    // The same file with fail: every existing e-mail is invalid (email_taken).
    let run = import(&app, &file, &["--on-existing", "fail"]).await;
    assert_eq!(run.code, 1);
    let rows = results_of(&file, 2);
    assert_eq!(rows[1][2], "invalid");
    assert!(rows[1][5].contains("(email_taken)"), "{:?}", rows[1]);
    assert!(
        run.stdout.contains("row 3: invalid: email: "),
        "{}",
        run.stdout
    );
    // And an unknown policy is refused by the command line.
    let run = import(&app, &file, &["--on-existing", "merge"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("skip, update, fail"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_cells_that_a_spreadsheet_would_run_are_neutralised() {
    let app = spawn_app().await;
    let file = write_csv(
        "formulas.csv",
        "Email,First name,Last name\n\
         \"=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\",A,B\n\
         @SUM(1+1),A,B\n\
         ok@example.com,A,B\n",
    );
    let run = import(&app, &file, &[]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let text = std::fs::read_to_string(results_name(&file, 1)).unwrap();
    let rows = results(&file);
    assert_eq!(
        rows[0][1], "'=HYPERLINK(\"https://evil.example\",\"x\")",
        "{text}"
    );
    assert_eq!(rows[1][1], "'@SUM(1+1)");
    assert_eq!(rows[2][2], "created");
    for r in &rows {
        for cell in r {
            let first = cell.bytes().next();
            assert!(
                !matches!(first, Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')),
                "{cell:?} in {text}"
            );
        }
        if r[2] == "invalid" {
            assert!(r[5].contains("(email_invalid)"), "{r:?}");
        }
    }
}
