//! The embedded database: a `secantusd-rs` child process (a MongoDB-wire server on
//! WiredTiger) with its files under the data dir, used when no `MONGODB_URI` is given.
//!
//! Only `onboard` may use it. It listens on loopback, where any local account can connect,
//! so it runs with `--auth` (SCRAM-SHA-256): the user `onboard` is created right after the
//! first start, through the localhost exception (open only while no user exists, so it
//! happens before anything is served), with a random password kept in
//! `<data-dir>/db-credentials.json` (0600). Its files live in `<data-dir>/db` (0700, and the
//! child runs with umask 077). `--sync-on-commit` makes every acknowledged write durable:
//! without it a `kill -9` lost some of the last writes.
//!
//! It runs as a separate process, never linked in (it is GPL-2.0-only). No orphans: the
//! child gets `PR_SET_PDEATHSIG` (SIGTERM when its parent thread dies) and is stopped on
//! drop. Linux delivers PDEATHSIG when the *thread* that forked dies, so the child is
//! spawned from a dedicated thread that lives exactly as long as the child (it waits on
//! it); a short-lived tokio or test thread must not be its parent.

use crate::data_dir;
use mongodb::bson::doc;
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
    #[error(
        "the embedded database in {dir} already has users, but its credentials file {file} is missing. \
         Restore that file from a backup of the data dir; without it onboard cannot log in"
    )]
    CredentialsMissing { dir: PathBuf, file: PathBuf },
    #[error(
        "the embedded database refused the credentials in {0}: was the file replaced or the database directory swapped?"
    )]
    CredentialsRefused(PathBuf),
    #[error("could not set up the embedded database's credentials ({0}): {1}")]
    Credentials(PathBuf, String),
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

/// The database user `onboard` logs in as.
const USER: &str = "onboard";

/// The file holding the database password, in the data dir.
pub fn credentials_file(data_dir: &Path) -> PathBuf {
    data_dir.join("db-credentials.json")
}

/// The database's own directory, in the data dir.
pub fn storage_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("db")
}

/// User and password of the embedded database. No `Debug`: it holds a password.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Credentials {
    user: String,
    password: String,
}

/// A running `secantusd-rs`.
pub struct EmbeddedDb {
    pid: i32,
    port: u16,
    data_dir: PathBuf,
    credentials: Credentials,
    exited: Arc<AtomicBool>,
    exit_rx: watch::Receiver<Option<String>>,
}

impl std::fmt::Debug for EmbeddedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedDb")
            .field("pid", &self.pid)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl EmbeddedDb {
    /// Starts the server on 127.0.0.1:`port` (0 = a free port) with its files in
    /// `<data_dir>/db`, waits until it reports its port, and makes sure the `onboard` user
    /// exists and its password is in [`credentials_file`] (see the module doc).
    pub async fn start(
        bin: &Path,
        data_dir: &Path,
        port: u16,
    ) -> Result<EmbeddedDb, EmbeddedError> {
        let dir = storage_dir(data_dir);
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Spawn { path, source }
        };
        data_dir::ensure_dir(data_dir).map_err(io_error(data_dir))?;
        data_dir::ensure_private_dir(&dir).map_err(io_error(&dir))?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
        ])
        .arg(&dir)
        .args([
            "--log-file-max",
            "16MB",
            "--cache-size",
            "256M",
            "--log-level",
            "WARNING",
            "--auth",
            "--sync-on-commit",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        confine_child(&mut cmd);

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
            data_dir: data_dir.to_path_buf(),
            credentials: Credentials {
                user: USER.into(),
                password: String::new(),
            },
            exited,
            exit_rx,
        };
        let limit = Duration::from_secs(30);
        let status = match tokio::time::timeout(limit, ready_rx).await {
            Ok(Ok(Ok(port))) => {
                db.port = port;
                // On failure `db` is dropped, which stops the process.
                db.credentials = ensure_user(data_dir, port).await?;
                tracing::info!(port, pid = db.pid, dir = %dir.display(), "embedded database listening");
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
        Err(classify_failure(&dir, port, status, output))
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data dir it was started with (its files are in `<data_dir>/db`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The URI to connect with: the `onboard` user's credentials, direct (it advertises a
    /// one-member replica set) and a short server selection timeout. It holds a password:
    /// keep it in a [`crate::config::Secret`].
    pub fn uri(&self) -> String {
        uri(
            self.port,
            Some((&self.credentials.user, &self.credentials.password)),
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
}

impl Drop for EmbeddedDb {
    fn drop(&mut self) {
        // Kill on exit: a dropped handle must not leave a server running. `stop` is the
        // graceful path; by the time it returns the process has exited and this is a no-op.
        self.kill(libc::SIGTERM);
    }
}

/// `mongodb://[USER:PASSWORD@]127.0.0.1:PORT/?...` (the password is hex: nothing to escape).
fn uri(port: u16, credentials: Option<(&str, &str)>) -> String {
    match credentials {
        Some((user, password)) => format!(
            "mongodb://{user}:{password}@127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=3000&authSource=admin"
        ),
        None => format!(
            "mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=3000"
        ),
    }
}

/// Makes sure the server on `port` has the `onboard` user and its password is in the
/// credentials file; returns the credentials.
///
/// - The file exists: check the server accepts it.
/// - It does not: create the user through the localhost exception with a new password
///   (written first to `<file>.pending`, so a crash between the two steps reuses it), then
///   give the file its final name. A database from before `--auth` (no user yet) takes
///   this path too: it is adopted as it is, data included.
/// - The server already has users but the file is gone: refuse to start. Someone else's
///   user (another local account racing for the exception) ends here too.
async fn ensure_user(data_dir: &Path, port: u16) -> Result<Credentials, EmbeddedError> {
    let file = credentials_file(data_dir);
    let failed =
        |e: &dyn std::fmt::Display| EmbeddedError::Credentials(file.clone(), e.to_string());
    if file.exists() {
        let text = data_dir::read_private(&file).map_err(|e| failed(&e))?;
        let creds: Credentials = serde_json::from_str(&text).map_err(|e| failed(&e))?;
        return match login(port, &creds).await {
            Ok(()) => Ok(creds),
            Err(e) if is_auth_failure(&e) => Err(EmbeddedError::CredentialsRefused(file)),
            Err(e) => Err(failed(&e)),
        };
    }
    let mut pending = file.clone().into_os_string();
    pending.push(".pending");
    let pending = PathBuf::from(pending);
    let creds = match data_dir::read_private(&pending)
        .ok()
        .and_then(|t| serde_json::from_str::<Credentials>(&t).ok())
    {
        Some(c) => c,
        None => {
            let creds = Credentials {
                user: USER.into(),
                password: format!(
                    "{:032x}{:032x}",
                    rand::random::<u128>(),
                    rand::random::<u128>()
                ),
            };
            let json = serde_json::to_vec(&creds).map_err(|e| failed(&e))?;
            data_dir::write_private(&pending, &json).map_err(|e| failed(&e))?;
            creds
        }
    };
    let client = mongodb::Client::with_uri_str(uri(port, None))
        .await
        .map_err(|e| failed(&e))?;
    let created = client
        .database("admin")
        .run_command(doc! {
            "createUser": &creds.user,
            "pwd": &creds.password,
            "roles": ["root"],
            "mechanisms": ["SCRAM-SHA-256"],
        })
        .await;
    client.shutdown().await;
    if let Err(e) = created {
        // Created by an earlier attempt that crashed before the rename? Then the pending
        // password works; anything else means the users are not ours.
        match login(port, &creds).await {
            Ok(()) => {}
            Err(_) if is_auth_failure(&e) => {
                return Err(EmbeddedError::CredentialsMissing {
                    dir: storage_dir(data_dir),
                    file,
                });
            }
            Err(_) => return Err(failed(&e)),
        }
    }
    std::fs::rename(&pending, &file).map_err(|e| failed(&e))?;
    tracing::info!(file = %file.display(), "embedded database: created its user; the password is in this file (0600)");
    Ok(creds)
}

/// One authenticated command, to check credentials.
async fn login(port: u16, creds: &Credentials) -> Result<(), mongodb::error::Error> {
    let client =
        mongodb::Client::with_uri_str(uri(port, Some((&creds.user, &creds.password)))).await?;
    let result = client
        .database("admin")
        .run_command(doc! { "ping": 1 })
        .await
        .map(|_| ());
    client.shutdown().await;
    result
}

/// Wrong or missing credentials (as opposed to an unreachable server).
fn is_auth_failure(e: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    match e.kind.as_ref() {
        ErrorKind::Authentication { .. } => true,
        // 13 Unauthorized ("requires authentication"), 18 AuthenticationFailed.
        ErrorKind::Command(c) => c.code == 13 || c.code == 18,
        _ => e.to_string().to_lowercase().contains("auth"),
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
fn confine_child(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask and prctl are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // Files it creates are for this account only.
            libc::umask(0o077);
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn confine_child(_cmd: &mut Command) {}

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
