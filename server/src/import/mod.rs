//! `onboard import FILE.csv`: a spreadsheet of attendees or speakers checked row by row with
//! the rulebook on this machine first (a dry run stops there), then sent in chunks to
//! `POST /v1/users/bulk` with a progress bar, and every row's outcome written to
//! `FILE.results.csv`. Passwords go to that file only (mode 0600), never to the terminal.

pub(crate) mod client;
pub mod csv_rows;
pub(crate) mod url_guard;

pub use csv_rows::Mapping;
use sha2::Digest;

use crate::config::Secret;
use client::{ChunkError, Client, RowAnswer};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use onboard_shared::{BULK_MAX, CellValue, Code, FieldError, check_users, suggest_url};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Options {
    pub file: PathBuf,
    pub url: String,
    pub key: Option<Secret>,
    /// Which field each column fills beyond its header, and the type of rows without one.
    pub mapping: csv_rows::Mapping,
    /// Apply the URL corrections the rulebook offers (`linkedin.com/in/ada` →
    /// `https://linkedin.com/in/ada`) instead of only listing them.
    pub fix_urls: bool,
    pub dry_run: bool,
    /// With `dry_run`: the report as one JSON document on stdout (columns, every row's
    /// payload and errors) instead of text.
    pub json: bool,
    /// Rows per request (at most 1,000).
    pub chunk_size: usize,
    /// Requests in flight at once.
    pub parallel: usize,
    /// Allow a plain `http://` URL to a host other than loopback.
    pub insecure: bool,
}

/// How the command ended when it could run: `Clean` only when every row was created or
/// already existed (or, for a dry run, every row is valid).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Problems,
}

/// The rows of one request (indexes into the file's rows) and what the server said.
type ChunkAnswer = (Vec<usize>, Result<Vec<RowAnswer>, String>);

/// One row's line of the results file.
struct RowResult {
    row: usize,
    email: String,
    status: &'static str,
    id: String,
    password: String,
    errors: String,
}

/// `FILE.csv` → `FILE.results.csv` next to it.
pub fn results_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    file.with_file_name(format!("{stem}.results.csv"))
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| {
            let field = if e.field.is_empty() {
                "(row)"
            } else {
                &e.field
            };
            format!("{field}: {} ({})", e.message, e.code)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn email_of(payload: &Value) -> String {
    payload["email"].as_str().unwrap_or_default().to_string()
}

/// A URL correction the rulebook offers for one cell.
struct Suggestion {
    field: &'static str,
    value: String,
    suggestion: String,
}

/// The suggestions for a row's URL fields; applied to its payload when `apply`.
fn suggestions(row: &mut csv_rows::CsvRow, apply: bool) -> Vec<Suggestion> {
    let mut found = Vec::new();
    for (path, value) in row.sheet.fields.iter_mut().map(|(p, v)| (*p, v)) {
        let CellValue::Text(text) = value else {
            continue;
        };
        if let Some(s) = suggest_url(path, text) {
            found.push(Suggestion {
                field: path,
                value: text.clone(),
                suggestion: s.clone(),
            });
            if apply {
                *text = s;
            }
        }
    }
    if apply && !found.is_empty() {
        row.payload = row.sheet.to_value();
    }
    found
}

fn separator_name(c: char) -> String {
    if c == '\t' {
        "\\t".to_string()
    } else {
        c.to_string()
    }
}

pub async fn run(opts: Options) -> Result<Outcome, String> {
    let bytes = std::fs::read(&opts.file)
        .map_err(|e| format!("cannot read {}: {e}", opts.file.display()))?;
    // Each chunk's Idempotency-Key: this file's hash, this run and the chunk's index. The
    // run's random part keeps a deliberate second import of the file a new request (its
    // rows then show as `exists`) while a retry within the run replays the first answer.
    let file_hash: String = sha2::Sha256::digest(&bytes)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .chain(std::iter::once(format!("-{:016x}", rand::random::<u64>())))
        .collect();
    let (text, encoding) = csv_rows::decode(bytes);
    let mut file = csv_rows::parse(&text, encoding, &opts.mapping)?;
    if encoding != "UTF-8" {
        eprintln!(
            "{} is not UTF-8: read as {encoding} (a spreadsheet's plain \"CSV\" export); check the accents below, or export as \"CSV UTF-8\"",
            opts.file.display()
        );
    }
    eprintln!(
        "{}: {} rows, separator '{}', columns: {}",
        opts.file.display(),
        file.rows.len(),
        separator_name(file.delimiter),
        file.mapped()
            .iter()
            .map(|(h, f)| if h == f {
                h.to_string()
            } else {
                format!("{h} → {f}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !file.ignored.is_empty() {
        eprintln!(
            "ignored columns: {}",
            file.ignored
                .iter()
                .map(|(h, why)| format!("{h} ({why})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    // URL corrections: listed for a person to accept (--fix-urls), never applied silently.
    let suggested: Vec<Vec<Suggestion>> = file
        .rows
        .iter_mut()
        .map(|r| suggestions(r, opts.fix_urls))
        .collect();
    let split: Vec<&csv_rows::CsvRow> = file.rows.iter().filter(|r| r.sheet.split_name).collect();

    // Every row through the rulebook, as the server will, before anything is sent.
    let payloads: Vec<Value> = file.rows.iter().map(|r| r.payload.clone()).collect();
    let checked = check_users(&payloads);
    let row_errors: Vec<Vec<FieldError>> = file
        .rows
        .iter()
        .zip(checked)
        .map(|(row, verdict)| {
            let mut errors = row.local_errors.clone();
            if let Err(e) = verdict {
                errors.extend(e);
            }
            errors
        })
        .collect();
    if opts.dry_run && opts.json {
        let report = json_report(&file, &row_errors, &suggested);
        println!("{report}");
        let clean = row_errors.iter().all(Vec::is_empty);
        return Ok(if clean {
            Outcome::Clean
        } else {
            Outcome::Problems
        });
    }

    let mut report = std::io::stdout().lock();
    if !split.is_empty() {
        let column = file
            .mapped()
            .iter()
            .find(|(_, f)| *f == "fullName")
            .map(|(h, _)| h.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            report,
            "split full names into first and last name in {} rows (column \"{column}\"; \"Doe, Jane\" splits at the comma, else the last word is the last name):",
            split.len()
        );
        for r in split.iter().take(5) {
            let _ = writeln!(
                report,
                "  row {}: first name \"{}\", last name \"{}\"",
                r.row,
                r.payload["firstName"].as_str().unwrap_or(""),
                r.payload["lastName"].as_str().unwrap_or("")
            );
        }
        if split.len() > 5 {
            let _ = writeln!(report, "  ... (--dry-run --json lists every row)");
        }
    }
    for (row, found) in file.rows.iter().zip(&suggested) {
        for s in found {
            let _ = writeln!(
                report,
                "row {}: {}: {} \"{}\" → \"{}\"",
                row.row,
                s.field,
                if opts.fix_urls {
                    "corrected"
                } else {
                    "suggested correction (--fix-urls applies it):"
                },
                s.value,
                s.suggestion
            );
        }
    }

    let mut results: Vec<Option<RowResult>> = Vec::with_capacity(file.rows.len());
    let mut to_send: Vec<usize> = Vec::new();
    let mut duplicates = 0;
    for (i, (row, errors)) in file.rows.iter().zip(row_errors).enumerate() {
        if errors.is_empty() {
            to_send.push(i);
            results.push(None);
            continue;
        }
        if errors.iter().any(|e| e.code == Code::DuplicateInBatch) {
            duplicates += 1;
        }
        for e in &errors {
            let field = if e.field.is_empty() {
                "(row)"
            } else {
                &e.field
            };
            let _ = writeln!(
                report,
                "row {}: {field}: {} ({})",
                row.row, e.message, e.code
            );
        }
        results.push(Some(RowResult {
            row: row.row,
            email: email_of(&row.payload),
            status: "invalid",
            id: String::new(),
            password: String::new(),
            errors: describe(&errors),
        }));
    }
    let invalid = file.rows.len() - to_send.len();
    let _ = writeln!(
        report,
        "{} rows: {} valid, {invalid} invalid ({duplicates} duplicate e-mails in the file)",
        file.rows.len(),
        to_send.len()
    );
    drop(report);
    if opts.dry_run {
        return Ok(if invalid == 0 {
            Outcome::Clean
        } else {
            Outcome::Problems
        });
    }

    let key = opts
        .key
        .clone()
        .ok_or("an API key is needed to import: --key or ONBOARD_API_KEY")?;
    url_guard::check(&opts.url, opts.insecure)?;
    let client = Client::new(&opts.url, key)?;
    let chunk_size = opts.chunk_size.clamp(1, BULK_MAX);
    let bar = ProgressBar::with_draw_target(
        Some(to_send.len() as u64),
        // Drawn only when stderr is a terminal (indicatif hides it otherwise).
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} rows  {per_sec}  {elapsed_precise} elapsed, {eta} left  {msg}",
        )
        .map_err(|e| e.to_string())?
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    let stop = AtomicBool::new(false);
    let chunks: Vec<Vec<usize>> = to_send.chunks(chunk_size).map(<[usize]>::to_vec).collect();
    let answers: Vec<ChunkAnswer> = futures_util::stream::iter(chunks.into_iter().enumerate())
        .map(|(n, chunk)| {
            let (client, file, bar, stop) = (&client, &file, &bar, &stop);
            let idempotency_key = format!("import-{file_hash}-{chunk_size}-{n}");
            async move {
                if stop.load(Ordering::Relaxed) {
                    return (
                        chunk,
                        Err("not sent: an earlier request failed".to_string()),
                    );
                }
                let users: Vec<Value> = chunk
                    .iter()
                    .map(|&i| file.rows[i].payload.clone())
                    .collect();
                let answer = match client.bulk(&users, &idempotency_key).await {
                    Ok(a) if a.results.len() == users.len() => Ok(a.results),
                    Ok(a) => Err(format!(
                        "the server answered {} results for {} rows",
                        a.results.len(),
                        users.len()
                    )),
                    Err(ChunkError::Failed(e)) => Err(e),
                    Err(ChunkError::Fatal(e)) => {
                        stop.store(true, Ordering::Relaxed);
                        Err(e)
                    }
                };
                bar.inc(chunk.len() as u64);
                (chunk, answer)
            }
        })
        .buffer_unordered(opts.parallel.max(1))
        .collect()
        .await;
    bar.finish_and_clear();

    let mut fatal: Option<String> = None;
    for (chunk, answer) in answers {
        match answer {
            Ok(rows) => {
                for a in rows {
                    let Some(&i) = chunk.get(a.index) else {
                        continue;
                    };
                    results[i] = Some(from_answer(file.rows[i].row, &file.rows[i].payload, a));
                }
            }
            Err(e) => {
                if fatal.is_none() && !e.starts_with("not sent") {
                    fatal = Some(e.clone());
                }
                for &i in &chunk {
                    results[i] = Some(RowResult {
                        row: file.rows[i].row,
                        email: email_of(&file.rows[i].payload),
                        status: "failed",
                        id: String::new(),
                        password: String::new(),
                        errors: e.clone(),
                    });
                }
            }
        }
    }
    let results: Vec<RowResult> = results.into_iter().flatten().collect();

    let mut counts = [0usize; 4];
    let mut report = std::io::stdout().lock();
    for r in &results {
        let slot = match r.status {
            "created" => 0,
            "exists" => 1,
            "invalid" => 2,
            _ => 3,
        };
        counts[slot] += 1;
    }
    // Rows the local check could not judge: refused by the server (a taken username) or
    // not stored. Locally invalid rows were reported above.
    for r in results.iter().filter(|r| {
        r.status == "failed" || (r.status == "invalid" && r.errors.contains("(username_taken)"))
    }) {
        let _ = writeln!(report, "row {}: {}: {}", r.row, r.status, r.errors);
    }
    let path = results_path(&opts.file);
    write_results(&path, &results).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let _ = writeln!(
        report,
        "created {}, exists {}, invalid {}, failed {}",
        counts[0], counts[1], counts[2], counts[3]
    );
    drop(report);
    eprintln!(
        "results: {}{}",
        path.display(),
        if counts[0] > 0 {
            " (it holds the new users' passwords, shown nowhere else: readable only by you, keep it safe)"
        } else {
            ""
        }
    );
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok(if counts[2] + counts[3] == 0 {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

fn from_answer(row: usize, payload: &Value, a: RowAnswer) -> RowResult {
    let status = match a.status.as_str() {
        "created" => "created",
        "exists" => "exists",
        "invalid" => "invalid",
        _ => "failed",
    };
    let errors = if a.errors.is_empty() {
        a.error.unwrap_or_default()
    } else {
        a.errors
            .iter()
            .map(|e| format!("{}: {} ({})", e.field, e.message, e.code))
            .collect::<Vec<_>>()
            .join("; ")
    };
    RowResult {
        row,
        email: a.email.unwrap_or_else(|| email_of(payload)),
        status,
        id: a.id.unwrap_or_default(),
        password: a.password.unwrap_or_default(),
        errors,
    }
}

/// Writes the results, readable by the owner only: they hold passwords.
fn write_results(path: &Path, results: &[RowResult]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // An older results file keeps its mode on open: tighten it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        write_rows(file, results)
    }
    #[cfg(not(unix))]
    write_rows(options.open(path)?, results)
}

fn write_rows(file: std::fs::File, results: &[RowResult]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(file);
    w.write_record(["row", "email", "status", "id", "password", "errors"])?;
    for r in results {
        w.write_record([
            r.row.to_string().as_str(),
            &r.email,
            r.status,
            &r.id,
            &r.password,
            &r.errors,
        ])?;
    }
    w.flush()
}

/// The dry run's report as JSON: what `--dry-run --json` prints, and what the package's
/// `mapHeaders` / `rowsToUsers` / `validateUsers` answer for the same file.
fn json_report(
    file: &csv_rows::CsvFile,
    errors: &[Vec<FieldError>],
    suggested: &[Vec<Suggestion>],
) -> Value {
    let rows: Vec<Value> = file
        .rows
        .iter()
        .zip(errors)
        .zip(suggested)
        .map(|((r, e), s)| {
            serde_json::json!({
                "row": r.row,
                "payload": r.payload,
                "errors": e,
                "splitName": r.sheet.split_name,
                "suggestions": s.iter().map(|s| serde_json::json!({
                    "field": s.field, "value": s.value, "suggestion": s.suggestion,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let invalid = errors.iter().filter(|e| !e.is_empty()).count();
    serde_json::json!({
        "encoding": file.encoding,
        "separator": file.delimiter.to_string(),
        "headers": file.headers,
        "columns": file.columns,
        "rows": rows,
        "valid": file.rows.len() - invalid,
        "invalid": invalid,
    })
}
