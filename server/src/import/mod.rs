//! `onboard import FILE.csv`: a spreadsheet of attendees or speakers checked row by row with
//! the rulebook on this machine first (a dry run stops there), then sent in chunks to
//! `POST /v1/users/bulk` (with `--on-existing`'s `onExisting`) with a progress bar, and
//! every row's outcome written to `FILE.results.csv`, or the first of `FILE.results-2.csv`,
//! `-3`... that does not exist yet: a results file is never overwritten. Passwords go to
//! that file only (mode 0600), never to the terminal; its cells go through `csv_safe_cell`.

pub(crate) mod client;
pub mod csv_rows;
pub(crate) mod url_guard;

pub use csv_rows::Mapping;
use sha2::Digest;

use crate::config::Secret;
use client::{ChunkError, Client, RowAnswer};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use onboard_shared::{
    BULK_MAX, CellValue, Code, FieldError, ON_EXISTING, OnExisting, check_users, csv_safe_cell,
    suggest_url, update_may_fix,
};
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
    /// What a row whose e-mail is already a user does (the request's `onExisting`).
    pub on_existing: OnExisting,
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
    /// The row went to the server (its outcome is the server's).
    sent: bool,
}

/// `FILE.csv` → its `n`-th results file next to it: `FILE.results.csv`, then
/// `FILE.results-2.csv`, `FILE.results-3.csv`...
pub fn results_path(file: &Path, n: usize) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    match n {
        0 | 1 => file.with_file_name(format!("{stem}.results.csv")),
        n => file.with_file_name(format!("{stem}.results-{n}.csv")),
    }
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
    // This file's hash and this run, for each chunk's Idempotency-Key (see `Sender::send`).
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

    let update = opts.on_existing == OnExisting::Update;
    let mut results: Vec<Option<RowResult>> = Vec::with_capacity(file.rows.len());
    let mut to_send: Vec<usize> = Vec::new();
    let mut duplicates = 0;
    let mut only_updates = 0;
    for (i, (row, errors)) in file.rows.iter().zip(row_errors).enumerate() {
        if errors.is_empty() {
            to_send.push(i);
            results.push(None);
            continue;
        }
        if update && update_may_fix(&errors) {
            // Only the server knows whether the e-mail is a user's: then the row is a
            // patch of it and needs only the columns it changes.
            only_updates += 1;
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
            sent: false,
        }));
    }
    let invalid = file.rows.len() - to_send.len();
    let _ = writeln!(
        report,
        "{} rows: {} valid, {invalid} invalid ({duplicates} duplicate e-mails in the file)",
        file.rows.len(),
        to_send.len()
    );
    if only_updates > 0 {
        let _ = writeln!(
            report,
            "{only_updates} of the valid rows lack columns a new user needs: they can only update the users their e-mails already belong to (the server says which)"
        );
    }
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
    let sender = Sender {
        client: &client,
        file_hash: &file_hash,
        chunk_size: opts.chunk_size.clamp(1, BULK_MAX),
        parallel: opts.parallel.max(1),
        on_existing: ON_EXISTING
            .iter()
            .find(|(_, p)| *p == opts.on_existing && *p != OnExisting::Skip)
            .map(|(name, _)| *name),
        bar: &bar,
        stop: AtomicBool::new(false),
    };
    // With `update`, a row without a type of its own goes without the default type, so an
    // existing user keeps theirs; the rows the server then finds new (`type` required) go
    // again with it.
    let payloads = to_send
        .iter()
        .map(|&i| {
            let row = &file.rows[i];
            (
                i,
                if update {
                    row.own_payload()
                } else {
                    row.payload.clone()
                },
            )
        })
        .collect();
    let answers = sender.send("", payloads).await;
    let mut fatal: Option<String> = None;
    let retype = record(answers, &file, &mut results, &mut fatal, |i, a| {
        update && file.rows[i].type_defaulted && needs_type(a)
    });
    if !retype.is_empty() {
        bar.inc_length(retype.len() as u64);
        let payloads = retype
            .into_iter()
            .map(|i| (i, file.rows[i].payload.clone()))
            .collect();
        let answers = sender.send("typed-", payloads).await;
        record(answers, &file, &mut results, &mut fatal, |_, _| false);
    }
    bar.finish_and_clear();

    let results: Vec<RowResult> = results.into_iter().flatten().collect();
    let mut counts = [0usize; STATUSES.len()];
    let mut report = std::io::stdout().lock();
    for r in &results {
        if let Some(slot) = STATUSES.iter().position(|s| *s == r.status) {
            counts[slot] += 1;
        }
    }
    // Rows the local check could not judge: refused by the server (a taken username or
    // e-mail, an update's own errors) or not stored. Locally invalid rows were reported
    // above.
    for r in results
        .iter()
        .filter(|r| r.sent && (r.status == "failed" || r.status == "invalid"))
    {
        let _ = writeln!(report, "row {}: {}: {}", r.row, r.status, r.errors);
    }
    let (path, n) = write_results(&opts.file, &results).map_err(|e| {
        format!(
            "cannot write {}: {e}",
            results_path(&opts.file, 1).display()
        )
    })?;
    let _ = writeln!(
        report,
        "{}",
        STATUSES
            .iter()
            .zip(counts)
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    drop(report);
    let earlier = if n > 1 {
        format!(
            "; {} from an earlier run is kept: a results file is never overwritten",
            if n == 2 {
                results_path(&opts.file, 1).display().to_string()
            } else {
                format!(
                    "{} to {}",
                    results_path(&opts.file, 1).display(),
                    results_path(&opts.file, n - 1).display()
                )
            }
        )
    } else {
        String::new()
    };
    eprintln!(
        "results: {}{}{earlier}",
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
    let problems = counts[STATUSES.len() - 2] + counts[STATUSES.len() - 1];
    Ok(if problems == 0 {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

/// The statuses of a results file, in the order the summary counts them; the last two are
/// the problems.
const STATUSES: [&str; 6] = [
    "created",
    "exists",
    "updated",
    "unchanged",
    "invalid",
    "failed",
];

/// Did the server refuse the row for want of a `type` (a new user, sent without the
/// default type)?
fn needs_type(a: &RowAnswer) -> bool {
    a.status == "invalid"
        && a.errors
            .iter()
            .any(|e| e.field == "type" && e.code == "required")
}

/// What the chunks of one pass share.
struct Sender<'a> {
    client: &'a Client,
    file_hash: &'a str,
    chunk_size: usize,
    parallel: usize,
    /// The request's `onExisting` (`None`: the default, skip).
    on_existing: Option<&'a str>,
    bar: &'a ProgressBar,
    /// Set by an answer that every further request would get too (a bad key).
    stop: AtomicBool,
}

impl Sender<'_> {
    /// Sends `(row index, payload)`s in chunks, `parallel` at a time. Each chunk's
    /// Idempotency-Key: this file's hash, this run, the pass and the chunk's index. The
    /// run's random part keeps a deliberate second import of the file a new request
    /// while a retry within the run replays the first answer.
    async fn send(&self, pass: &str, payloads: Vec<(usize, Value)>) -> Vec<ChunkAnswer> {
        let chunks: Vec<Vec<(usize, Value)>> = payloads
            .chunks(self.chunk_size)
            .map(<[(usize, Value)]>::to_vec)
            .collect();
        futures_util::stream::iter(chunks.into_iter().enumerate())
            .map(|(n, chunk)| {
                let idempotency_key =
                    format!("import-{}-{}-{pass}{n}", self.file_hash, self.chunk_size);
                async move {
                    let (index, users): (Vec<usize>, Vec<Value>) = chunk.into_iter().unzip();
                    if self.stop.load(Ordering::Relaxed) {
                        return (
                            index,
                            Err("not sent: an earlier request failed".to_string()),
                        );
                    }
                    let answer = match self
                        .client
                        .bulk(&users, self.on_existing, &idempotency_key)
                        .await
                    {
                        Ok(a) if a.results.len() == users.len() => Ok(a.results),
                        Ok(a) => Err(format!(
                            "the server answered {} results for {} rows",
                            a.results.len(),
                            users.len()
                        )),
                        Err(ChunkError::Failed(e)) => Err(e),
                        Err(ChunkError::Fatal(e)) => {
                            self.stop.store(true, Ordering::Relaxed);
                            Err(e)
                        }
                    };
                    self.bar.inc(index.len() as u64);
                    (index, answer)
                }
            })
            .buffer_unordered(self.parallel)
            .collect()
            .await
    }
}

/// Puts the server's answers into `results` (the first error that is not "not sent" into
/// `fatal`), and answers the rows `again` picks, to be sent once more.
fn record(
    answers: Vec<ChunkAnswer>,
    file: &csv_rows::CsvFile,
    results: &mut [Option<RowResult>],
    fatal: &mut Option<String>,
    again: impl Fn(usize, &RowAnswer) -> bool,
) -> Vec<usize> {
    let mut resend = Vec::new();
    for (chunk, answer) in answers {
        match answer {
            Ok(rows) => {
                for a in rows {
                    let Some(&i) = chunk.get(a.index) else {
                        continue;
                    };
                    if again(i, &a) {
                        resend.push(i);
                    }
                    results[i] = Some(from_answer(file.rows[i].row, &file.rows[i].payload, a));
                }
            }
            Err(e) => {
                if fatal.is_none() && !e.starts_with("not sent") {
                    *fatal = Some(e.clone());
                }
                for &i in &chunk {
                    results[i] = Some(RowResult {
                        row: file.rows[i].row,
                        email: email_of(&file.rows[i].payload),
                        status: "failed",
                        id: String::new(),
                        password: String::new(),
                        errors: e.clone(),
                        sent: true,
                    });
                }
            }
        }
    }
    resend.sort_unstable();
    resend
}

fn from_answer(row: usize, payload: &Value, a: RowAnswer) -> RowResult {
    let status = STATUSES
        .iter()
        .copied()
        .find(|s| *s == a.status)
        .unwrap_or("failed");
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
        sent: true,
    }
}

/// The most results files one import file may have (`FILE.results-9999.csv`).
const RESULTS_MAX: usize = 9999;

/// Writes the results to the first free name of [`results_path`] (a results file is never
/// overwritten: an earlier run's passwords are in it), readable by the owner only: they
/// hold passwords. Answers the file and its number.
fn write_results(file: &Path, results: &[RowResult]) -> std::io::Result<(PathBuf, usize)> {
    for n in 1..=RESULTS_MAX {
        let path = results_path(file, n);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(f) => return write_rows(f, results).map(|()| (path, n)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "{RESULTS_MAX} results files exist already next to it"
    )))
}

/// Every cell through the rulebook's `csv_safe_cell`: a spreadsheet opening the file runs
/// no formula (a name like `=HYPERLINK(...)`); `onboard import` reads the marks back off.
fn write_rows(file: std::fs::File, results: &[RowResult]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(file);
    w.write_record(["row", "email", "status", "id", "password", "errors"])?;
    for r in results {
        let row = r.row.to_string();
        let cells = [
            row.as_str(),
            &r.email,
            r.status,
            &r.id,
            &r.password,
            &r.errors,
        ];
        w.write_record(cells.map(csv_safe_cell).iter().map(|c| c.as_bytes()))?;
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
