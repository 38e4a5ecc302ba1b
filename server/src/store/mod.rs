//! MongoDB access, one module per collection. Nothing above this layer builds a query or
//! reads a driver error: to change how a resource is stored, open its module here.
//!
//! Invariants every module keeps:
//! - ids are ObjectIds, shown to clients as 24 hex characters;
//! - `createdAt` / `updatedAt` are BSON dates;
//! - uniqueness (e-mail, username, slug, tag name, key hash) is enforced by unique indexes
//!   on normalized copies, never by check-then-insert, so races are settled by the database.

/// Runs a driver action (`insert_one`, `update_many`, `find_one`, ...) in the session when
/// one is given, and answers its result. A macro because each action type has its own
/// `session` method. Defined before the modules below so that they can use it.
macro_rules! in_session {
    ($action:expr, $session:expr) => {
        match $session {
            Some(s) => $action.session(s).await,
            None => $action.await,
        }
    };
}

pub(crate) mod idempotency;
pub(crate) mod keys;
pub(crate) mod rate_limits;
mod rewrite;
pub(crate) mod sponsors;
pub(crate) mod tags;
pub(crate) mod users;
pub(crate) mod webhooks;

use mongodb::bson::{Document, doc, oid::ObjectId};
use mongodb::change_stream::event::ChangeStreamEvent;
use mongodb::error::{Error as DbError, ErrorKind, WriteFailure};
use mongodb::options::{Acknowledgment, ClientOptions, IndexOptions, WriteConcern};
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Whether multi-document writes (a sponsor and its new speakers) run in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransactionMode {
    /// Use transactions when the server is a replica set member or mongos.
    Auto,
    /// Always use transactions (fails on a standalone mongod).
    Always,
    /// Never: compensating deletes undo partial writes instead.
    Never,
}

/// The database handle shared by every request.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    client: Client,
    db: Database,
    /// Resolved from [`TransactionMode`] at start-up.
    pub(crate) transactions: bool,
    /// The server has the `bulkWrite` command (MongoDB 8 and later): [`Inserts`] go in one.
    bulk_write: bool,
    /// The embedded database: one transaction at a time (see [`Store::session`]).
    one_at_a_time: Option<Arc<Semaphore>>,
}

/// The longest a transaction waits for its turn on the embedded database.
const TURN_WAIT: Duration = Duration::from_secs(5);

/// The wire version of MongoDB 8.0, the first with the `bulkWrite` command.
const BULK_WRITE_WIRE_VERSION: i32 = 25;

/// The duplicate-key error code. SecantusDB sends no `codeName`, so match the number.
const DUPLICATE_KEY: i32 = 11000;
/// A write met another transaction's write of the same document or key.
const WRITE_CONFLICT: i32 = 112;

/// Why a store call failed. The driver's errors are classified here, once: the layers above
/// see what happened (a unique value taken, the database away), never a driver error kind.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// A unique index refused the write.
    #[error("duplicate key on the {0:?} index")]
    Duplicate(Unique),
    /// A transaction conflicted with another one; the documented answer is to run the whole
    /// transaction again.
    #[error("transient transaction error: {0}")]
    Transient(DbError),
    /// The database cannot be reached (down, restarting, network).
    #[error("database unavailable: {0}")]
    Unavailable(DbError),
    /// Anything else: a bug or a database refusing a well-formed command.
    #[error("database error: {0}")]
    Other(DbError),
}

/// The unique indexes, as a duplicate-key error names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unique {
    Email,
    Username,
    Slug,
    TagName,
    KeyHash,
    /// A duplicate-key error whose message names no index we know.
    Unknown,
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        if is_duplicate_key(&e) {
            let msg = duplicate_key_message(&e);
            let index = [
                ("emailNorm", Unique::Email),
                ("usernameNorm", Unique::Username),
                ("slug", Unique::Slug),
                ("nameKey", Unique::TagName),
                ("hash", Unique::KeyHash),
            ]
            .into_iter()
            .find(|(name, _)| msg.contains(name))
            .map_or(Unique::Unknown, |(_, u)| u);
            StoreError::Duplicate(index)
        } else if e.contains_label("TransientTransactionError") || is_write_conflict(&e) {
            StoreError::Transient(e)
        } else if is_unavailable(&e) {
            StoreError::Unavailable(e)
        } else {
            StoreError::Other(e)
        }
    }
}

/// A transaction over several collections, or, when the server has none, the same writes
/// without one (the caller then compensates on failure). On the embedded database it also
/// holds this instance's turn to run a transaction (see [`Store::session`]), given back
/// when it is committed, aborted or dropped.
pub(crate) struct Session {
    session: Option<ClientSession>,
    /// Given back when the session goes (after its commit or abort).
    _turn: Option<OwnedSemaphorePermit>,
}

impl Session {
    /// No transaction: each write stands alone.
    pub(crate) fn none() -> Session {
        Session {
            session: None,
            _turn: None,
        }
    }

    /// The session to pass to each write (`None` outside a transaction).
    pub(crate) fn get(&mut self) -> Option<&mut ClientSession> {
        self.session.as_mut()
    }

    pub(crate) fn in_transaction(&self) -> bool {
        self.session.is_some()
    }

    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        if let Some(s) = &mut self.session {
            s.commit_transaction().await?;
        }
        Ok(())
    }

    pub(crate) async fn abort(mut self) {
        if let Some(s) = &mut self.session
            && let Err(abort) = s.abort_transaction().await
        {
            tracing::warn!(error = %abort, "transaction abort failed (the server drops it on its own)");
        }
    }
}

impl Store {
    /// Connects and checks the server answers. A URI without `serverSelectionTimeoutMS`
    /// gets 3 s instead of the driver's 30 s, so an outage turns into a 503 quickly; one
    /// without a write concern gets `majority` with journaling.
    pub(crate) async fn connect(
        uri: &str,
        database: &str,
        mode: TransactionMode,
    ) -> Result<Store, DbError> {
        let mut options = ClientOptions::parse(uri).await?;
        if options.server_selection_timeout.is_none() {
            options.server_selection_timeout = Some(Duration::from_secs(3));
        }
        if options.connect_timeout.is_none() {
            options.connect_timeout = Some(Duration::from_secs(3));
        }
        options
            .app_name
            .get_or_insert_with(|| "onboard".to_string());
        // An acknowledged write must survive the loss of a member and a `kill -9`: majority
        // and journaled, unless the URI says otherwise (`w=`, `journal=`).
        if options.write_concern.is_none() {
            options.write_concern = Some(
                WriteConcern::builder()
                    .w(Acknowledgment::Majority)
                    .journal(true)
                    .build(),
            );
        }
        options.command_event_handler = Some(mongodb::event::EventHandler::callback(|e| {
            crate::metrics::get().database(e)
        }));
        let client = Client::with_options(options)?;
        let db = client.database(database);
        let hello = db.run_command(doc! { "hello": 1 }).await?;
        let transactions = match mode {
            TransactionMode::Always => true,
            TransactionMode::Never => false,
            // A standalone mongod refuses transactions; replica sets and mongos accept them.
            TransactionMode::Auto => {
                hello.get_str("setName").is_ok() || hello.get_str("msg") == Ok("isdbgrid")
            }
        };
        let bulk_write = hello
            .get_i32("maxWireVersion")
            .is_ok_and(|v| v >= BULK_WRITE_WIRE_VERSION);
        let build = db.run_command(doc! { "buildInfo": 1 }).await?;
        let embedded = build.contains_key("secantusVersion");
        Ok(Store {
            client,
            db,
            transactions,
            bulk_write,
            one_at_a_time: embedded.then(|| Arc::new(Semaphore::new(1))),
        })
    }

    fn collection<T: Send + Sync>(&self, name: &str) -> Collection<T> {
        self.db.collection(name)
    }

    /// Inserts to send together ([`Inserts`]).
    pub(crate) fn inserts(&self) -> Inserts<'_> {
        Inserts {
            store: self,
            models: Vec::new(),
        }
    }

    /// Starts a transaction when the server supports them (see [`TransactionMode`]).
    ///
    /// On the embedded database (secantusd-rs) this instance runs one transaction at a
    /// time: there, concurrent transactions on a busy CPU wait for each other in a loop
    /// that costs far more than the wait (measured with 8 at once beside two busy cores:
    /// 7-11 ms of its CPU and about 1,000 context switches per transaction, against 0.8-1.0
    /// ms and 7 one at a time; bench/results.md, "Webhooks"). A transaction takes a few
    /// milliseconds, so the turn costs no throughput that password hashing leaves. Should a
    /// turn not come within [`TURN_WAIT`] (a change that needed two at once), the
    /// transaction runs without it rather than wait forever.
    pub(crate) async fn session(&self) -> Result<Session, StoreError> {
        if !self.transactions {
            return Ok(Session::none());
        }
        let turn = match &self.one_at_a_time {
            Some(gate) => tokio::time::timeout(TURN_WAIT, gate.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        let mut session = self.client.start_session().await?;
        session.start_transaction().await?;
        Ok(Session {
            session: Some(session),
            _turn: turn,
        })
    }

    /// Creates every index the API relies on. `createIndexes` with an identical spec is a
    /// no-op, so this runs at every start.
    pub(crate) async fn ensure_indexes(&self) -> Result<(), DbError> {
        let unique = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(
                    IndexOptions::builder()
                        .unique(true)
                        .name(name.to_string())
                        .build(),
                )
                .build()
        };
        let plain = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_string()).build())
                .build()
        };
        let users = self.collection::<Document>(users::COLLECTION);
        users
            .create_indexes([
                unique(doc! { "emailNorm": 1 }, "emailNorm_unique"),
                unique(doc! { "usernameNorm": 1 }, "usernameNorm_unique"),
                plain(doc! { "tagIds": 1, "_id": 1 }, "tagIds_id"),
                plain(doc! { "type": 1, "_id": 1 }, "type_id"),
                // `?q=` prefix ranges on the names (e-mail and username use the unique ones).
                plain(doc! { "firstNameKey": 1 }, "firstNameKey"),
                plain(doc! { "lastNameKey": 1 }, "lastNameKey"),
            ])
            .await?;
        self.collection::<Document>(tags::COLLECTION)
            .create_index(unique(doc! { "nameKey": 1 }, "nameKey_unique"))
            .await?;
        self.collection::<Document>(sponsors::COLLECTION)
            .create_indexes([
                unique(doc! { "slug": 1 }, "slug_unique"),
                // A user's erasure finds the sponsors that list it.
                plain(doc! { "speakerIds": 1 }, "speakerIds"),
            ])
            .await?;
        self.collection::<Document>(keys::COLLECTION)
            .create_index(unique(doc! { "hash": 1 }, "hash_unique"))
            .await?;
        // A rate-limit window's counts are dropped once the window is over.
        self.collection::<Document>(rate_limits::COLLECTION)
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "expiresAt": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("expiresAt_ttl".to_string())
                            .expire_after(Duration::from_secs(0))
                            .build(),
                    )
                    .build(),
            )
            .await?;
        self.collection::<Document>(webhooks::DELIVERIES)
            .create_indexes(webhooks::indexes())
            .await?;
        // Idempotent answers are kept 24 hours, then the database drops them.
        self.collection::<Document>(idempotency::COLLECTION)
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "createdAt": 1 })
                    .options(
                        IndexOptions::builder()
                            .name("createdAt_ttl".to_string())
                            .expire_after(idempotency::KEEP)
                            .build(),
                    )
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// Brings documents written by older versions of the server up to date (versions, search
    /// keys). Idempotent: runs at every start, after [`Store::ensure_indexes`].
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        let users = users::migrate(self).await?;
        let sponsors = sponsors::migrate(self).await?;
        if users + sponsors > 0 {
            tracing::info!(users, sponsors, "documents brought up to date");
        }
        Ok(())
    }

    /// `ping`, for `/readyz`.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! { "ping": 1 }).await?;
        Ok(())
    }
}

/// Documents inserted together, in order, into one or more collections: one `bulkWrite`
/// command when the server has it (a user and its outbox deliveries: one round trip
/// instead of two), otherwise one insert each. The first refused insert stops the rest.
/// Atomic only inside a transaction's session, like any two writes.
pub(crate) struct Inserts<'s> {
    store: &'s Store,
    models: Vec<mongodb::options::InsertOneModel>,
}

impl<'s> Inserts<'s> {
    /// Adds `doc` to insert into `collection` (the collection's module calls this).
    fn add<T: serde::Serialize + Send + Sync>(
        &mut self,
        collection: &str,
        doc: &T,
    ) -> Result<(), StoreError> {
        let model = self
            .store
            .collection::<T>(collection)
            .insert_one_model(doc)?;
        self.models.push(model);
        Ok(())
    }

    /// Writes them, in `session` when given.
    pub(crate) async fn run(
        self,
        mut session: Option<&mut ClientSession>,
    ) -> Result<(), StoreError> {
        let store = self.store;
        if self.models.is_empty() {
            return Ok(());
        }
        if store.bulk_write {
            let action = store.client.bulk_write(self.models);
            in_session!(action, session)?;
            return Ok(());
        }
        for model in self.models {
            let coll = store
                .client
                .database(&model.namespace.db)
                .collection::<Document>(&model.namespace.coll);
            let action = coll.insert_one(model.document);
            in_session!(action, session.as_deref_mut())?;
        }
        Ok(())
    }
}

/// True when `e` is a duplicate-key error (from a plain write or inside a transaction).
fn is_duplicate_key(e: &DbError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::BulkWrite(bw) => bw.write_errors.values().any(|we| we.code == DUPLICATE_KEY),
        ErrorKind::Write(WriteFailure::WriteError(we)) => we.code == DUPLICATE_KEY,
        ErrorKind::Command(ce) => ce.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(im) => im
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|we| we.code == DUPLICATE_KEY)),
        _ => false,
    }
}

/// True when a `bulkWrite` stopped at a write conflict: inside a transaction the server
/// reports it as the write's error (code 112), without the `TransientTransactionError`
/// label a plain write's conflict carries, but it means the same: run the transaction
/// again.
fn is_write_conflict(e: &DbError) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::BulkWrite(bw)
        if bw.write_errors.values().any(|we| we.code == WRITE_CONFLICT))
}

/// The message of a duplicate-key error: it names the index (`emailNorm_unique`), which
/// tells which field collided. Empty for other errors.
fn duplicate_key_message(e: &DbError) -> &str {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(we)) => &we.message,
        ErrorKind::Command(ce) => &ce.message,
        ErrorKind::BulkWrite(bw) => bw
            .write_errors
            .values()
            .find(|we| we.code == DUPLICATE_KEY)
            .map_or("", |we| we.message.as_str()),
        _ => "",
    }
}

/// True when `e` means the database cannot be reached (down, restarting, network).
fn is_unavailable(e: &DbError) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
    ) || e.contains_label("RetryableWriteError")
}

/// An error that says the transaction met another's write and should run again (a
/// transient transaction error, whose documented answer is to rerun the transaction).
pub(crate) trait Conflict {
    fn is_conflict(&self) -> bool;
}

impl Conflict for StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

/// Runs `change` (one whole transaction: its reads, its writes and its commit) and runs it
/// again, a little later each time, while it met another transaction's write; after `runs`
/// runs the error stands. The one rerun loop of the server: the domain's changes
/// (`domain::rerun_on_conflict`) and the store's own transactions use it.
pub(crate) async fn rerun_on_conflict<T, E, F, Fut>(runs: u32, mut change: F) -> Result<T, E>
where
    E: Conflict,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut run = 0;
    loop {
        run += 1;
        match change().await {
            Err(e) if e.is_conflict() && run < runs => pause_before_rerun(run).await,
            other => return other,
        }
    }
}

/// The pause after run `run` (from 1) of a change that met another's write, before the
/// next: short and growing, so the other commits first.
pub(crate) async fn pause_before_rerun(run: u32) {
    tokio::time::sleep(Duration::from_millis(5 * u64::from(run))).await;
}

/// Every document `find` matches, read in `session` when given.
pub(crate) async fn find_all<T>(
    find: mongodb::action::Find<'_, T>,
    session: Option<&mut ClientSession>,
) -> Result<Vec<T>, StoreError>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    use futures_util::TryStreamExt;
    Ok(match session {
        Some(s) => find.session(&mut *s).await?.stream(s).try_collect().await?,
        None => find.await?.try_collect().await?,
    })
}

/// A change stream of one collection (see [`Changes::open`]): what keeps an instance's
/// caches true to changes made through any instance.
pub(crate) struct Changes(mongodb::change_stream::ChangeStream<ChangeStreamEvent<Document>>);

impl Changes {
    /// Opens a change stream on `collection`: every change after this call returns is seen
    /// by [`Changes::next`]. Needs a replica set (MongoDB) or the embedded server, which
    /// advertises one; a standalone server refuses it.
    pub(crate) async fn open(store: &Store, collection: &str) -> Result<Changes, StoreError> {
        let stream = store
            .collection::<Document>(collection)
            .watch()
            // How long the server holds an empty getMore: short, so a stuck connection is
            // noticed soon; events are returned as soon as they happen either way.
            .max_await_time(Duration::from_millis(500))
            .await?;
        Ok(Changes(stream))
    }

    /// The next change; an error means the stream is over (open a new one).
    pub(crate) async fn next(&mut self) -> Result<ChangeStreamEvent<Document>, StoreError> {
        use futures_util::StreamExt;
        match self.0.next().await {
            Some(event) => Ok(event?),
            None => Err(StoreError::Other(DbError::custom(
                "the change stream ended",
            ))),
        }
    }
}

/// Parses a 24-hex id from a URL or cursor; anything else cannot exist.
pub(crate) fn parse_id(s: &str) -> Option<ObjectId> {
    if s.len() != 24 {
        return None;
    }
    ObjectId::parse_str(s).ok()
}

/// Keyset pagination: at most `limit` items after `after` in `_id` order. One extra
/// document is fetched to know whether a next page exists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    pub(crate) limit: i64,
    pub(crate) after: Option<ObjectId>,
}

impl Page {
    fn apply(&self, filter: &mut Document) {
        if let Some(after) = self.after {
            filter.insert("_id", doc! { "$gt": after });
        }
    }
}

/// One keyset page of `coll`: the documents matching `filter` after the page's cursor, in id
/// order, and the cursor of the next page. Every list route pages this way.
async fn find_page<T>(
    coll: &Collection<T>,
    mut filter: Document,
    projection: Option<Document>,
    page: Page,
    id: impl Fn(&T) -> ObjectId,
) -> Result<(Vec<T>, Option<String>), StoreError>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    page.apply(&mut filter);
    // One more than the page, to know whether there is a next one.
    let mut find = coll
        .find(filter)
        .sort(doc! { "_id": 1 })
        .limit(page.limit + 1);
    if let Some(projection) = projection {
        find = find.projection(projection);
    }
    let items: Vec<T> = futures_util::TryStreamExt::try_collect(find.await?).await?;
    Ok(finish_page(items, page, id))
}

/// Splits the `limit + 1` fetched documents into a page and its `next` cursor.
fn finish_page<T>(
    mut items: Vec<T>,
    page: Page,
    id: impl Fn(&T) -> ObjectId,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(|t| id(t).to_hex());
        (items, next)
    } else {
        (items, None)
    }
}
