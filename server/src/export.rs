//! `onboard export`: every user a server lists (optionally of one type or tag) as the CSV
//! of `GET /v1/users` with `Accept: text/csv`, written as it arrives to a file or stdout,
//! with a count of the users on stderr. The file's header row is the rulebook's catalogue
//! headers, so `onboard import` (and the page's Import tab) read it back with no `--map`.
//!
//! It is a client of the API like `onboard import`, with its HTTP client and the same rule
//! for the key: `https://`, or plain `http://` to this machine only unless `--insecure`.

use crate::config::Secret;
use crate::import::client::{Client, error_message};
use crate::import::url_guard;
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub struct Options {
    pub url: String,
    pub key: Option<Secret>,
    /// Only users of this type (`Attendee`, `Speaker`).
    pub user_type: Option<String>,
    /// Only users with this tag.
    pub tag: Option<String>,
    /// The file to write; stdout when `None`.
    pub output: Option<PathBuf>,
    /// Allow a plain `http://` URL to a host other than loopback.
    pub insecure: bool,
}

/// Users between two progress lines when stderr is not a terminal.
const PROGRESS_EVERY: u64 = 1000;

/// Runs the export; answers how many users were written.
pub async fn run(opts: Options) -> Result<u64, String> {
    let key = opts
        .key
        .clone()
        .ok_or("an API key is needed to export: --key or ONBOARD_API_KEY")?;
    url_guard::check(&opts.url, opts.insecure)?;
    let client = Client::new(&opts.url, key)?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(t) = &opts.user_type {
        query.append_pair("type", t);
    }
    if let Some(t) = &opts.tag {
        query.append_pair("tag", t);
    }
    let query = query.finish();
    let path = if query.is_empty() {
        "/v1/users".to_string()
    } else {
        format!("/v1/users?{query}")
    };
    let response = client.get(&path, "text/csv").await?;
    let status = response.status();
    let ctype = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = response.into_body();
    if !status.is_success() {
        let text = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(format!("{status}: {}", error_message(&text)));
    }
    if !ctype.starts_with("text/csv") {
        return Err(format!(
            "the server answered {ctype:?}, not CSV: it is too old to export (GET /v1/users with Accept: text/csv)"
        ));
    }

    let mut out = Output::open(opts.output.as_deref())?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} users exported  {elapsed_precise}")
            .map_err(|e| e.to_string())?,
    );
    let lines = !std::io::stderr().is_terminal();
    let mut records = Records::default();
    let mut reported = 0;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                bar.finish_and_clear();
                out.abandon();
                return Err(format!(
                    "the export was cut short after {} users ({e}){}",
                    records.users(),
                    opts.output
                        .as_ref()
                        .map(|p| format!(": {} was not written", p.display()))
                        .unwrap_or_default()
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        records.feed(&data);
        if let Err(e) = out.write(&data) {
            bar.finish_and_clear();
            out.abandon();
            return Err(e);
        }
        let users = records.users();
        bar.set_position(users);
        if lines && users >= reported + PROGRESS_EVERY {
            reported = users - users % PROGRESS_EVERY;
            eprintln!("{users} users exported…");
        }
    }
    bar.finish_and_clear();
    out.finish()?;
    let users = records.users();
    match &opts.output {
        Some(p) => eprintln!(
            "exported {users} users to {} (personal data: readable only by you)",
            p.display()
        ),
        None => eprintln!("exported {users} users"),
    }
    Ok(users)
}

/// Counts the records of a CSV stream as it passes, whatever the chunk boundaries: a line
/// break outside quotes ends a record (a description's line breaks are inside quotes; an
/// escaped `""` toggles twice).
#[derive(Default)]
struct Records {
    quoted: bool,
    ended: u64,
}

impl Records {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => self.ended += 1,
                _ => {}
            }
        }
    }

    /// Records after the header.
    fn users(&self) -> u64 {
        self.ended.saturating_sub(1)
    }
}

/// Where the CSV goes: stdout, or `FILE.part` renamed to `FILE` once the whole export
/// arrived (an interrupted export never leaves a file that looks complete). The file holds
/// personal data: it is created readable by its owner only.
enum Output {
    Stdout(std::io::Stdout),
    File {
        file: std::io::BufWriter<std::fs::File>,
        part: PathBuf,
        path: PathBuf,
    },
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Output, String> {
        let Some(path) = path else {
            return Ok(Output::Stdout(std::io::stdout()));
        };
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".part");
        let part = path.with_file_name(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&part)
            .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        Ok(Output::File {
            file: std::io::BufWriter::new(file),
            part,
            path: path.to_path_buf(),
        })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), String> {
        match self {
            Output::Stdout(s) => s
                .lock()
                .write_all(data)
                .map_err(|e| format!("cannot write to stdout: {e}")),
            Output::File { file, part, .. } => file
                .write_all(data)
                .map_err(|e| format!("cannot write {}: {e}", part.display())),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self {
            Output::Stdout(s) => s
                .lock()
                .flush()
                .map_err(|e| format!("cannot write to stdout: {e}")),
            Output::File { file, part, path } => {
                let file = file
                    .into_inner()
                    .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
                file.sync_all()
                    .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    // An older .part file keeps its mode on open: tighten it too.
                    file.set_permissions(std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
                }
                std::fs::rename(&part, &path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            }
        }
    }

    /// Drops what was written of an export that did not complete.
    fn abandon(self) {
        if let Output::File { file, part, .. } = self {
            drop(file);
            let _ = std::fs::remove_file(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Records;

    #[test]
    fn records_are_counted_across_chunks_and_quoted_line_breaks() {
        let csv = b"Email,Description\r\na@b.co,\"two\r\nlines, \"\"quoted\"\"\"\r\nc@d.co,\r\n";
        for split in 0..csv.len() {
            let mut r = Records::default();
            r.feed(&csv[..split]);
            r.feed(&csv[split..]);
            assert_eq!(r.users(), 2, "split at {split}");
        }
    }
}
