//! `onboard`: the command line. `onboard serve` runs the REST server; `onboard import`
//! sends a CSV file of users to one; `onboard export` writes its users as CSV.

use clap::{Args, Parser, Subcommand, ValueEnum};
use onboard::TransactionMode;
use onboard::config::{self, Config, Secret};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "onboard",
    version,
    about = "Onboard users and sponsors: the REST server of the onboard rulebook."
)]
#[command(
    after_help = "Logging: RUST_LOG sets the filter (default `info`), e.g. RUST_LOG=onboard=debug."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the REST server (starts the embedded database unless MONGODB_URI is set).
    #[command(
        after_help = "Logging: RUST_LOG sets the filter (default `info`), e.g. RUST_LOG=onboard=debug."
    )]
    Serve(ServeArgs),
    /// Import users from a CSV file: every row checked locally with the rulebook first,
    /// then sent in chunks to POST /v1/users/bulk; outcomes written to FILE.results.csv
    /// (or FILE.results-2.csv...: never overwritten).
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// Export users as CSV (GET /v1/users with Accept: text/csv): every user, or those of
    /// one type or tag, to FILE or stdout; `onboard import` reads the file back.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
}

const EXPORT_HELP: &str = "\
The header row is the field catalogue's (Email, Type, First name, Last name, Username, ...,
Highlight, End registration) and a last `id` column: `onboard import` and the page's Import
tab map it back with no --map (they ignore `id`). Tags are joined by \"; \", yes/no fields
are yes or no. A cell a spreadsheet would run as a formula (starting with =, +, -, @) has a
' in front; the importer takes it off again. There is never a password or hash.

The users arrive a page at a time and are written as they come; stderr counts them. With
-o, the file is written as FILE.part and renamed when the export is complete, readable by
you only (it holds personal data).

Exit status: 0 exported; 2 the server could not be used or the export was cut short.";

#[derive(Args)]
struct ExportArgs {
    /// Base URL of the onboard server.
    #[arg(long, env = "ONBOARD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API key (a restricted key may export: it is a read).
    #[arg(long, env = "ONBOARD_API_KEY", hide_env_values = true)]
    key: Option<Secret>,
    /// Only users of this type.
    #[arg(long = "type", value_enum, ignore_case = true)]
    user_type: Option<ImportType>,
    /// Only users with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// The file to write (default: stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Send the key over plain http:// to a host other than loopback (by default only
    /// https:// or a loopback http:// URL is used: the key would travel in clear).
    #[arg(long)]
    insecure: bool,
}

const IMPORT_HELP: &str = "\
Columns are matched by header with the rulebook's field catalogue (the page's Import tab
uses the same), ignoring case, spaces, punctuation and accents, in English, French, German
and Spanish: Email / E-mail / Courriel / Correo, First name / Prénom / Vorname / Nombre,
Last name / Nom / Nachname / Apellido, Type, Username, Tags (split on ; , |), Time zone,
Company, Job title / Poste, Country, City / Town / Ville, Status, Website, Avatar, Bio,
Facebook, LinkedIn (URL), Twitter, YouTube, Highlight, End registration. A full-name column
(Name / Full name / Nom complet / Nombre completo) fills first and last name when the file
has neither: `Doe, Jane` splits at the comma, else the last word is the last name
(`Jane van Doe` -> `Jane van` / `Doe`); the report lists the split rows. Yes/no cells:
yes/no, true/false, oui/non, vrai/faux, ja/nein, sí/no, 1/0, x. Separator `,`, `;` or tab
(detected); a UTF-8 byte-order mark is skipped; a file that is not UTF-8 is read as
Windows-1252 (what spreadsheets write as plain CSV), and the command says so.

--map \"Header=field\" sets a column's field by hand (repeatable; `Header=ignore` skips a
column); fields are the catalogue's paths: email, type, firstName, lastName, username, avatar,
description, job, company, tags, timezone, country, city, status, website, socials.facebook,
socials.linkedin, socials.twitter, socials.youtube, options.highlight,
options.endRegistration, fullName.
--type-from \"Ticket Type\" --speaker-value \"Speaker Pass\": the column's values say each
row's type: a value given with --speaker-value (repeatable, compared without case or accents)
is Speaker, any other value Attendee, an empty cell the --type default.
URLs the rules refuse but plainly meant (linkedin.com/in/ada, http://..., @ada in the Twitter
column) are listed with their https correction; --fix-urls applies them.

FILE.results.csv lists every row (row number as in a spreadsheet, header = row 1):
email, status (created / exists / updated / unchanged / invalid / failed), id, password
for created rows, and the row's own errors. It holds passwords: it is created readable by
you only (0600), and never overwritten: a later run writes FILE.results-2.csv (then -3...)
and says so. Cells a spreadsheet would run as a formula (starting with = + - @, tab or
carriage return) get a ' in front; cells read back have it taken off.

Re-running the same file is safe: by default (--on-existing skip) existing e-mails are
reported as `exists`. --on-existing update applies each such row to that user as a patch
of the cells it has (an empty cell changes nothing, the --type default never replaces a
user's type; such rows need only the columns they change): `updated` or `unchanged`.
--on-existing fail reports them `invalid` (email_taken).

Exit status: 0 every row created, already there, updated or unchanged (dry run: every
row valid); 1 some row invalid or failed; 2 the file or the server could not be used.";

#[derive(Clone, Copy, ValueEnum)]
enum ImportType {
    #[value(name = "Attendee")]
    Attendee,
    #[value(name = "Speaker")]
    Speaker,
}

#[derive(Args)]
struct ImportArgs {
    /// The CSV file (UTF-8, or Windows-1252).
    file: PathBuf,
    /// Base URL of the onboard server.
    #[arg(long, env = "ONBOARD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A standard API key.
    #[arg(long, env = "ONBOARD_API_KEY", hide_env_values = true)]
    key: Option<Secret>,
    /// Type of the rows whose Type cell is empty or absent.
    #[arg(
        long = "type",
        value_enum,
        default_value = "Attendee",
        ignore_case = true
    )]
    user_type: ImportType,
    /// Sets the field of a column by hand: "Header=field" (repeatable; "Header=ignore"
    /// skips the column).
    #[arg(long = "map", value_name = "HEADER=FIELD")]
    map: Vec<String>,
    /// The column whose values give each row's type (see --speaker-value).
    #[arg(long, value_name = "HEADER")]
    type_from: Option<String>,
    /// A value of the type column that means Speaker (repeatable); other values then
    /// mean Attendee.
    #[arg(long, value_name = "VALUE")]
    speaker_value: Vec<String>,
    /// Apply the listed URL corrections (https:// added to a bare link, @handle in the
    /// Twitter column) instead of only listing them.
    #[arg(long)]
    fix_urls: bool,
    /// Check every row and print the report; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print the report as JSON (columns, each row's payload, errors and
    /// URL suggestions) on stdout.
    #[arg(long, requires = "dry_run")]
    json: bool,
    /// Rows per request (at most 1000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=1000))]
    chunk_size: u16,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=16))]
    parallel: u8,
    /// Send the key over plain http:// to a host other than loopback (by default only
    /// https:// or a loopback http:// URL is used: the key would travel in clear).
    #[arg(long)]
    insecure: bool,
    /// What a row whose e-mail is already a user does: skip (`exists`, nothing changes),
    /// update (its non-empty cells are applied to that user: `updated` / `unchanged`), fail
    /// (`invalid`, `email_taken`).
    #[arg(long, value_name = "POLICY", default_value = "skip", value_parser = on_existing_values())]
    on_existing: String,
}

/// The rulebook's `onExisting` values.
fn on_existing_values() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(onboard_shared::ON_EXISTING.iter().map(|(n, _)| *n))
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable (colored in a terminal).
    Pretty,
    /// One JSON object per line.
    Json,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ONBOARD_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// MongoDB connection string (MongoDB 6+, replica set or Atlas). Without it, the
    /// embedded database (secantusd-rs) is started with its files in the data dir.
    #[arg(long, env = "MONGODB_URI", hide_env_values = true)]
    mongodb_uri: Option<Secret>,
    /// Database name (default: the URI's database, else `onboard`).
    #[arg(long, env = "ONBOARD_DATABASE")]
    database: Option<String>,
    /// Directory of the embedded database's files (`<data-dir>/db`).
    #[arg(long, env = "ONBOARD_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The configured API key (standard privilege, at least 32 characters): one record,
    /// replaced when this changes, deleted when it is unset. When unset and no key exists,
    /// one is generated: printed on the terminal, or written to <data-dir>/bootstrap-api-key
    /// (0600) when stderr is not a terminal.
    #[arg(long, env = "ONBOARD_API_KEY", hide_env_values = true)]
    api_key: Option<Secret>,
    /// Writes (POST, PATCH, DELETE...) per minute per API key, over all instances; 0
    /// disables rate limiting altogether (reads too).
    #[arg(long, env = "ONBOARD_RATE_LIMIT", default_value_t = config::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Reads (GET, HEAD) per minute per API key, over all instances; 0: reads unlimited.
    #[arg(long, env = "ONBOARD_READ_RATE_LIMIT", default_value_t = config::DEFAULT_READ_RATE_LIMIT)]
    read_rate_limit: u32,
    /// The rate limits' window in milliseconds (tests only; the limits are per minute).
    #[arg(long, env = "ONBOARD_RATE_WINDOW_MS", default_value_t = 60_000, hide = true, value_parser = clap::value_parser!(u64).range(100..))]
    rate_window_ms: u64,
    /// Log format (logs go to stderr).
    #[arg(long, env = "ONBOARD_LOG_FORMAT", value_enum, default_value = "pretty")]
    log_format: LogFormat,
    /// Directory of the web page's build, served at `/`.
    #[arg(long, env = "ONBOARD_WEB_DIR", default_value = "web/dist")]
    web_dir: PathBuf,
    /// Multi-document atomicity for sponsors: transactions (auto-detected), or
    /// compensating deletes (`never`).
    #[arg(long, env = "ONBOARD_TRANSACTIONS", value_enum, default_value = "auto")]
    transactions: TransactionMode,
    /// argon2id hashing threads (0 = one per core).
    #[arg(long, env = "ONBOARD_HASH_WORKERS", default_value_t = 0)]
    hash_workers: usize,
    /// Password hashes allowed to wait for a thread; beyond it requests get 503.
    #[arg(long, env = "ONBOARD_HASH_QUEUE", default_value_t = 256)]
    hash_queue: usize,
    /// The most API keys that may exist (the configured and generated keys included);
    /// `POST /v1/keys` beyond it answers 409 `too_many_keys`.
    #[arg(long, env = "ONBOARD_MAX_KEYS", default_value_t = onboard::config::DEFAULT_MAX_KEYS)]
    max_keys: u64,
    /// Path of the embedded database binary (default: `secantusd-rs` on PATH).
    #[arg(long, env = "SECANTUSD_BIN")]
    secantusd_bin: Option<PathBuf>,

    // ---- Hardening: connection limits.
    /// Seconds a client has to send a request's headers (from their first byte); slower
    /// connections are closed.
    #[arg(long, env = "ONBOARD_HEADER_TIMEOUT", default_value_t = config::DEFAULT_HEADER_TIMEOUT_S, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a client has to send a request's body (from its headers); slower requests
    /// get 408.
    #[arg(long, env = "ONBOARD_BODY_TIMEOUT", default_value_t = config::DEFAULT_BODY_TIMEOUT_S, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Seconds a keep-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "ONBOARD_IDLE_TIMEOUT", default_value_t = config::DEFAULT_IDLE_TIMEOUT_S, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Open connections at most; one more is answered 503 `overloaded` and closed.
    #[arg(long, env = "ONBOARD_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Failed authentications allowed per client address per minute (a burst of this
    /// many, then 429 with Retry-After); 0 disables the limit.
    #[arg(long, env = "ONBOARD_AUTH_FAILURES", default_value_t = config::DEFAULT_AUTH_FAILURES)]
    auth_failures: u32,
    /// Origins whose pages may call the API from a browser: a comma-separated list of
    /// exact origins (`https://app.example.com`). Default: none (no CORS headers at all).
    #[arg(long, env = "ONBOARD_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,

    // ---- Webhooks.
    /// Allow webhook destinations over plain http:// and on loopback, private or other
    /// non-public addresses (tests and local setups only).
    #[arg(long, env = "ONBOARD_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::BoolishValueParser::new())]
    webhook_allow_private: bool,
    /// Waits after each failed webhook attempt, comma-separated (ms, s, m, h, d); when
    /// every one has failed, the endpoint is disabled.
    #[arg(long, env = "ONBOARD_WEBHOOK_RETRY_SCHEDULE", default_value = config::DEFAULT_WEBHOOK_RETRY_SCHEDULE, value_parser = config::parse_schedule)]
    webhook_retry_schedule: std::vec::Vec<Duration>,
    /// Time one webhook attempt may take (connection to answer), e.g. 10s or 500ms.
    #[arg(long, env = "ONBOARD_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = config::parse_duration)]
    webhook_timeout: Duration,
    /// Serve Prometheus metrics at GET /metrics on this address, apart from the API (e.g.
    /// 127.0.0.1:9464). Default: off.
    #[arg(long, env = "ONBOARD_METRICS_BIND")]
    metrics_bind: Option<SocketAddr>,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

fn database_name(args: &ServeArgs) -> String {
    if let Some(db) = &args.database {
        return db.clone();
    }
    // mongodb://host/NAME?opts -> NAME
    args.mongodb_uri
        .as_ref()
        .and_then(|uri| {
            let rest = uri.expose().split_once("://")?.1;
            let path = rest.split_once('/')?.1;
            let name = path.split('?').next()?;
            (!name.is_empty()).then(|| name.to_string())
        })
        .unwrap_or_else(|| "onboard".to_string())
}

/// glibc raises its mmap threshold after the first large free, so argon2's 19 MiB blocks
/// end up in per-thread arenas that are never returned: RSS grew to ~250 MiB under load.
/// A fixed threshold keeps big blocks mmapped (freed to the OS at once), and capping the
/// arenas bounds fragmentation across the worker threads. (The argon2 memory itself is now
/// one block per hashing thread, kept: `passwords::hash_blocking`.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only changes allocator tunables; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async_main())
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Export(args) => {
            let options = onboard::export::Options {
                url: args.url,
                key: args.key,
                user_type: args.user_type.map(|t| {
                    match t {
                        ImportType::Attendee => onboard_shared::UserType::Attendee,
                        ImportType::Speaker => onboard_shared::UserType::Speaker,
                    }
                    .as_str()
                    .to_string()
                }),
                tag: args.tag,
                output: args.output,
                insecure: args.insecure,
            };
            match onboard::export::run(options).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("onboard export: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Import(args) => {
            let mut columns = Vec::new();
            for m in &args.map {
                let Some((header, field)) = m.rsplit_once('=') else {
                    eprintln!("onboard import: --map \"{m}\": expected \"Header=field\"");
                    return ExitCode::from(2);
                };
                columns.push((header.to_string(), field.to_string()));
            }
            let options = onboard::import::Options {
                file: args.file,
                url: args.url,
                key: args.key,
                mapping: onboard::import::Mapping {
                    columns,
                    type_from: args.type_from,
                    speaker_values: args.speaker_value,
                    default_type: match args.user_type {
                        ImportType::Attendee => onboard_shared::UserType::Attendee,
                        ImportType::Speaker => onboard_shared::UserType::Speaker,
                    }
                    .as_str()
                    .to_string(),
                },
                fix_urls: args.fix_urls,
                dry_run: args.dry_run,
                json: args.json,
                chunk_size: usize::from(args.chunk_size),
                parallel: usize::from(args.parallel),
                insecure: args.insecure,
                on_existing: onboard_shared::ON_EXISTING
                    .iter()
                    .find(|(name, _)| *name == args.on_existing)
                    .map(|(_, policy)| *policy)
                    .unwrap_or_default(),
            };
            match onboard::import::run(options).await {
                Ok(onboard::import::Outcome::Clean) => ExitCode::SUCCESS,
                Ok(onboard::import::Outcome::Problems) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("onboard import: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Serve(args) => {
            init_logging(args.log_format);
            let config = Config {
                bind: args.bind,
                database: database_name(&args),
                mongodb_uri: args.mongodb_uri,
                data_dir: args.data_dir,
                api_key: args.api_key,
                rate_limit: args.rate_limit,
                read_rate_limit: args.read_rate_limit,
                rate_window: Duration::from_millis(args.rate_window_ms),
                web_dir: args.web_dir,
                transactions: args.transactions,
                hash_workers: args.hash_workers,
                hash_queue: args.hash_queue,
                secantusd_bin: args.secantusd_bin,
                max_keys: args.max_keys,
                header_timeout: Duration::from_secs(args.header_timeout),
                body_timeout: Duration::from_secs(args.body_timeout),
                idle_timeout: Duration::from_secs(args.idle_timeout),
                max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
                auth_failures: args.auth_failures,
                cors_origins: args.cors_origins,
                webhook_allow_private: args.webhook_allow_private,
                webhook_retry_schedule: args.webhook_retry_schedule,
                webhook_timeout: args.webhook_timeout,
                metrics_bind: args.metrics_bind,
            };
            match onboard::run(config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("onboard: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
