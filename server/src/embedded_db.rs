//! The embedded database: a `secantusd-rs` child process (a MongoDB-wire server on
//! WiredTiger) with its files under the data dir, used when no `MONGODB_URI` is given.
//!
//! It runs as a separate process, never linked in (it is GPL-2.0-only). No orphans: the
//! child gets `PR_SET_PDEATHSIG` (SIGTERM when its parent thread dies) and is stopped on
//! drop. Linux delivers PDEATHSIG when the *thread* that forked dies, so the child is
//! spawned from a dedicated thread that lives exactly as long as the child (it waits on
//! it); a short-lived tokio or test thread must not be its parent.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// The command that installs the binary, for error messages.
pub const INSTALL_HINT: &str = "apt-get install -y cmake && cargo install secantus-mdb --version =0.5.3-beta.196 --locked --ignore-rust-version";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "the embedded database `secantusd-rs` was not found (looked at SECANTUSD_BIN / --secantusd-bin, PATH and ~/.cargo/bin). \
         Install it with `{INSTALL_HINT}` (scripts/setup.sh does this), or set MONGODB_URI to use a MongoDB server"
    )]
    NotInstalled,
    #[error(
        "the embedded database's data dir {0} is locked by another secantusd-rs process: is another `onboard serve` \
         running with the same --data-dir / ONBOARD_DATA_DIR? Stop it or choose another data dir"
    )]
    Locked(PathBuf),
    #[error("the embedded database could not listen on port {0}: the port is in use")]
    PortInUse(u16),
    #[error("the embedded database exited during start-up ({status}): {output}")]
    Exited { status: String, output: String },
    #[error("the embedded database did not report its port within {0:?}")]
    Timeout(Duration),
    #[error("could not run the embedded database {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Finds `secantusd-rs`: the configured path, then PATH, then `~/.cargo/bin`.
pub fn find_binary(configured: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(EmbeddedError::NotInstalled)
        };
    }
    let name = "secantusd-rs";
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin").join(name));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or(EmbeddedError::NotInstalled)
}

/// A running `secantusd-rs`.
#[derive(Debug)]
pub struct EmbeddedDb {
    pid: i32,
    port: u16,
    dir: PathBuf,
    exited: Arc<AtomicBool>,
    exit_rx: watch::Receiver<Option<String>>,
}

impl EmbeddedDb {
    /// Starts the server on 127.0.0.1:`port` (0 = a free port) with its files in `dir`,
    /// and waits until it reports its port.
    pub async fn start(bin: &Path, dir: &Path, port: u16) -> Result<EmbeddedDb, EmbeddedError> {
        std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::Spawn {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
        ])
        .arg(dir)
        .args([
            "--log-file-max",
            "16MB",
            "--cache-size",
            "256M",
            "--log-level",
            "WARNING",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        set_parent_death_signal(&mut cmd);

        let (ready_tx, ready_rx) = oneshot::channel::<Result<u16, String>>();
        let (spawned_tx, spawned_rx) = std::sync::mpsc::channel::<std::io::Result<i32>>();
        let (exit_tx, exit_rx) = watch::channel::<Option<String>>(None);
        let exited = Arc::new(AtomicBool::new(false));
        let exited_w = Arc::clone(&exited);
        let output = Arc::new(std::sync::Mutex::new(String::new()));
        let output_w = Arc::clone(&output);

        // The parent thread of the child: it lives until the child exits (see module doc).
        std::thread::Builder::new()
            .name("secantusd".into())
            .spawn(move || {
                let mut child = match cmd.spawn() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = spawned_tx.send(Err(e));
                        return;
                    }
                };
                let _ = spawned_tx.send(Ok(child.id() as i32));
                let ready_tx = Arc::new(std::sync::Mutex::new(Some(ready_tx)));
                if let Some(out) = child.stdout.take() {
                    forward_lines(out, Arc::clone(&ready_tx), Arc::clone(&output_w));
                }
                if let Some(err) = child.stderr.take() {
                    forward_lines(err, Arc::clone(&ready_tx), Arc::clone(&output_w));
                }
                let status = child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                exited_w.store(true, Ordering::SeqCst);
                // Give the readers a moment to collect the last lines of a failed start.
                std::thread::sleep(Duration::from_millis(100));
                if let Some(tx) = ready_tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    let _ = tx.send(Err(status.clone()));
                }
                let _ = exit_tx.send(Some(status));
            })
            .map_err(|source| EmbeddedError::Spawn {
                path: bin.to_path_buf(),
                source,
            })?;

        let pid = match tokio::task::spawn_blocking(move || spawned_rx.recv()).await {
            Ok(Ok(Ok(pid))) => pid,
            Ok(Ok(Err(source))) => {
                return Err(EmbeddedError::Spawn {
                    path: bin.to_path_buf(),
                    source,
                });
            }
            _ => {
                return Err(EmbeddedError::Exited {
                    status: "spawn thread failed".into(),
                    output: String::new(),
                });
            }
        };
        let mut db = EmbeddedDb {
            pid,
            port,
            dir: dir.to_path_buf(),
            exited,
            exit_rx,
        };
        let limit = Duration::from_secs(30);
        let status = match tokio::time::timeout(limit, ready_rx).await {
            Ok(Ok(Ok(port))) => {
                tracing::info!(port, pid = db.pid, dir = %dir.display(), "embedded database listening");
                db.port = port;
                return Ok(db);
            }
            Ok(Ok(Err(status))) => status,
            Ok(Err(_)) => "unknown".to_string(),
            Err(_) => {
                db.kill(libc::SIGKILL);
                return Err(EmbeddedError::Timeout(limit));
            }
        };
        let output = output.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Err(classify_failure(dir, port, status, output))
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The URI to connect with: direct (it advertises a one-member replica set) and a
    /// short server selection timeout.
    pub fn uri(&self) -> String {
        format!(
            "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=3000",
            self.port
        )
    }

    /// True once the process has exited (crashed or stopped).
    pub fn has_exited(&self) -> bool {
        self.exited.load(Ordering::SeqCst)
    }

    /// Resolves when the process exits, with its exit status.
    pub async fn exited(&self) -> String {
        let mut rx = self.exit_rx.clone();
        loop {
            if let Some(s) = rx.borrow().clone() {
                return s;
            }
            if rx.changed().await.is_err() {
                return "unknown".into();
            }
        }
    }

    fn kill(&self, signal: i32) {
        // Never signal a pid after our child exited: it may belong to another process now.
        if !self.has_exited() {
            // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
            unsafe {
                libc::kill(self.pid, signal);
            }
        }
    }

    /// Stops the server: SIGTERM (it flushes and exits in 0.5-2 s), SIGKILL after 10 s.
    pub async fn stop(self) {
        self.kill(libc::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(10), self.exited())
            .await
            .is_err()
        {
            tracing::warn!("embedded database did not stop on SIGTERM; killing it");
            self.kill(libc::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(5), self.exited()).await;
        }
    }

    /// Kills the server at once, as a crash would (for outage tests).
    pub async fn kill_now(self) {
        self.kill(libc::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.exited()).await;
    }
}

impl Drop for EmbeddedDb {
    fn drop(&mut self) {
        // Kill on exit: a dropped handle must not leave a server running. `stop` is the
        // graceful path; by the time it returns the process has exited and this is a no-op.
        self.kill(libc::SIGTERM);
    }
}

fn classify_failure(dir: &Path, port: u16, status: String, output: String) -> EmbeddedError {
    let lower = output.to_lowercase();
    if lower.contains("already being managed by another process")
        || lower.contains("wiredtiger.lock")
    {
        EmbeddedError::Locked(dir.to_path_buf())
    } else if lower.contains("address already in use") || lower.contains("addrinuse") {
        EmbeddedError::PortInUse(port)
    } else {
        EmbeddedError::Exited {
            status,
            output: output.trim().chars().take(2000).collect(),
        }
    }
}

type ReadyTx = Arc<std::sync::Mutex<Option<oneshot::Sender<Result<u16, String>>>>>;

/// Reads a stream of the child line by line on its own thread: the first
/// "listening on HOST:PORT" line reports the port; start-up output is kept for error
/// messages; later lines go to the log (the server runs with --log-level WARNING).
fn forward_lines(
    stream: impl Read + Send + 'static,
    ready: ReadyTx,
    output: Arc<std::sync::Mutex<String>>,
) {
    let _ = std::thread::Builder::new()
        .name("secantusd-log".into())
        .spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = parse_listening(&line) {
                    if let Some(tx) = ready.lock().unwrap_or_else(|p| p.into_inner()).take() {
                        let _ = tx.send(Ok(port));
                    }
                    continue;
                }
                let starting = ready.lock().unwrap_or_else(|p| p.into_inner()).is_some();
                if starting {
                    let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
                    if out.len() < 16 * 1024 {
                        out.push_str(&line);
                        out.push('\n');
                    }
                } else {
                    tracing::warn!(target: "secantusd", "{line}");
                }
            }
        });
}

/// `secantusd-rs listening on 127.0.0.1:PORT` -> PORT.
pub fn parse_listening(line: &str) -> Option<u16> {
    let rest = line.split("listening on ").nth(1)?;
    rest.trim().rsplit(':').next()?.parse().ok()
}

#[cfg(target_os = "linux")]
fn set_parent_death_signal(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_cmd: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        assert_eq!(
            parse_listening("secantusd-rs listening on 127.0.0.1:32989"),
            Some(32989)
        );
        assert_eq!(parse_listening("something else"), None);
    }

    #[test]
    fn a_missing_binary_says_what_to_install() {
        let e = find_binary(Some(Path::new("/nonexistent/secantusd-rs"))).unwrap_err();
        assert!(e.to_string().contains("cargo install secantus-mdb"), "{e}");
    }
}
