//! `webhooks` (the endpoints) and `webhook_deliveries` (the outbox: one document per event
//! and endpoint, written in the same transaction as the change it describes).
//!
//! An endpoint carries the lease of its deliveries (`leaseOwner`, `leaseUntil`): the one
//! dispatcher holding it sends that endpoint's due deliveries, oldest first, so each attempt
//! is made once even with several instances; a crashed instance's lease runs out and
//! another takes over.
//!
//! No `Debug` on [`EndpointDoc`]: it holds the signing secret.

use super::{Changes, Page, Store, StoreError, find_page};
use mongodb::ClientSession;
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub(crate) const ENDPOINTS: &str = "webhooks";
pub(crate) const DELIVERIES: &str = "webhook_deliveries";

/// Deliveries are kept this long after their event, delivered or not (the TTL index).
pub(crate) const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EndpointDoc {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) url: String,
    /// Event type names; empty: every type.
    #[serde(default)]
    pub(crate) events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// `whsec_` + base64 of the key bytes.
    pub(crate) secret: String,
    #[serde(default)]
    pub(crate) disabled: bool,
    /// Why the server disabled it (410 Gone, the retry schedule exhausted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) disabled_reason: Option<String>,
    pub(crate) created_at: DateTime,
    pub(crate) updated_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lease_owner: Option<String>,
    /// The epoch when nobody holds the lease.
    #[serde(default = "epoch")]
    pub(crate) lease_until: DateTime,
}

fn epoch() -> DateTime {
    DateTime::from_millis(0)
}

/// Where a delivery stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeliveryState {
    /// Waiting for its next attempt (`nextAttemptAt`).
    Pending,
    Delivered,
    /// Given up: the schedule ran out, or the endpoint answered 410 Gone.
    Failed,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryDoc {
    /// Also the order of the endpoint's deliveries, and the `webhook-id` (`msg_<hex>`).
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    pub(crate) endpoint_id: ObjectId,
    /// The same for every endpoint told about one change.
    pub(crate) event_id: ObjectId,
    #[serde(rename = "type")]
    pub(crate) event_type: String,
    /// The exact body sent and signed: `{type, timestamp, data}`.
    pub(crate) body: String,
    /// Every id the body names (the user, a sponsor, its speakers): what an erasure looks
    /// up, on an index, instead of searching every body kept.
    #[serde(default)]
    pub(crate) mentions: Vec<ObjectId>,
    pub(crate) state: DeliveryState,
    pub(crate) attempts: i32,
    /// Failed attempts since the last success or manual retry: the position in the
    /// retry schedule.
    pub(crate) failures: i32,
    pub(crate) next_attempt_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_attempt_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_error: Option<String>,
    pub(crate) created_at: DateTime,
}

fn endpoints(store: &Store) -> mongodb::Collection<EndpointDoc> {
    store.collection(ENDPOINTS)
}

fn deliveries(store: &Store) -> mongodb::Collection<DeliveryDoc> {
    store.collection(DELIVERIES)
}

pub(crate) async fn insert_endpoint(store: &Store, e: &EndpointDoc) -> Result<(), StoreError> {
    endpoints(store).insert_one(e).await?;
    Ok(())
}

pub(crate) async fn find_endpoint(
    store: &Store,
    id: ObjectId,
) -> Result<Option<EndpointDoc>, StoreError> {
    Ok(endpoints(store).find_one(doc! { "_id": id }).await?)
}

pub(crate) async fn list_endpoints(
    store: &Store,
    page: Page,
) -> Result<(Vec<EndpointDoc>, Option<String>), StoreError> {
    find_page(&endpoints(store), doc! {}, None, page, |e| e.id).await
}

/// Every endpoint that is not disabled (a handful: read whole at each write and tick).
pub(crate) async fn enabled_endpoints(store: &Store) -> Result<Vec<EndpointDoc>, StoreError> {
    let coll = endpoints(store);
    super::find_all(coll.find(doc! { "disabled": false }), None).await
}

/// Opens a change stream on the endpoints (see [`Changes::open`]): every change through
/// any instance (a cache of the endpoints is forgotten at each).
pub(crate) async fn watch(store: &Store) -> Result<Changes, StoreError> {
    Changes::open(store, ENDPOINTS).await
}

/// `$set` (and `$unset`) on an endpoint; false when it does not exist.
pub(crate) async fn update_endpoint(
    store: &Store,
    id: ObjectId,
    mut set: Document,
    unset: &[&str],
) -> Result<bool, StoreError> {
    set.insert("updatedAt", DateTime::now());
    let mut change = doc! { "$set": set };
    if !unset.is_empty() {
        let u: Document = unset
            .iter()
            .map(|k| ((*k).to_string(), "".into()))
            .collect();
        change.insert("$unset", u);
    }
    let r = endpoints(store)
        .update_one(doc! { "_id": id }, change)
        .await?;
    Ok(r.matched_count == 1)
}

/// Deletes an endpoint and its deliveries; false when it does not exist.
pub(crate) async fn delete_endpoint(store: &Store, id: ObjectId) -> Result<bool, StoreError> {
    let r = endpoints(store).delete_one(doc! { "_id": id }).await?;
    deliveries(store)
        .delete_many(doc! { "endpointId": id })
        .await?;
    Ok(r.deleted_count == 1)
}

/// The outbox write: one delivery per endpoint, in `session` when given.
pub(crate) async fn insert_deliveries(
    store: &Store,
    docs: &[DeliveryDoc],
    session: Option<&mut ClientSession>,
) -> Result<(), StoreError> {
    if docs.is_empty() {
        return Ok(());
    }
    let coll = deliveries(store);
    let action = coll.insert_many(docs);
    in_session!(action, session)?;
    Ok(())
}

/// Adds the outbox's deliveries to `inserts` (sent with the change they describe:
/// [`super::Inserts`]).
pub(crate) fn add_deliveries(
    inserts: &mut super::Inserts<'_>,
    docs: &[DeliveryDoc],
) -> Result<(), StoreError> {
    docs.iter().try_for_each(|d| inserts.add(DELIVERIES, d))
}

/// Deletes deliveries (the compensation of a write that failed without a transaction).
pub(crate) async fn delete_deliveries(store: &Store, ids: &[ObjectId]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        deliveries(store)
            .delete_many(doc! { "_id": { "$in": ids } })
            .await?;
    }
    Ok(())
}

/// Deliveries whose recorded body names `id`: the events about that user and the sponsor
/// events listing them as a speaker, for erasure (on the `mentions` index: a search of
/// the bodies read every delivery kept, 56 ms at 10,000, inside the erasure's transaction).
pub(crate) async fn deliveries_naming(
    store: &Store,
    id: ObjectId,
    session: Option<&mut ClientSession>,
) -> Result<Vec<DeliveryDoc>, StoreError> {
    let coll = deliveries(store);
    let find = coll.find(doc! { "mentions": id });
    super::find_all(find, session).await
}

/// Deletes deliveries (`ids`) and replaces the body of others (`bodies`, which no longer
/// name `person`), in `session`.
pub(crate) async fn forget(
    store: &Store,
    person: ObjectId,
    ids: &[ObjectId],
    bodies: &[(ObjectId, String)],
    mut session: Option<&mut ClientSession>,
) -> Result<(), StoreError> {
    let coll = deliveries(store);
    if !ids.is_empty() {
        let action = coll.delete_many(doc! { "_id": { "$in": ids } });
        in_session!(action, session.as_deref_mut())?;
    }
    for (id, body) in bodies {
        let change = doc! { "$set": { "body": body }, "$pull": { "mentions": person } };
        let action = coll.update_one(doc! { "_id": id }, change);
        in_session!(action, session.as_deref_mut())?;
    }
    Ok(())
}

/// Whether the endpoint has a delivery due now.
pub(crate) async fn has_due(store: &Store, endpoint: ObjectId) -> Result<bool, StoreError> {
    Ok(deliveries(store)
        .count_documents(doc! {
            "endpointId": endpoint,
            "state": "pending",
            "nextAttemptAt": { "$lte": DateTime::now() },
        })
        .limit(1)
        .await?
        > 0)
}

/// When the endpoint's oldest pending delivery was recorded (`None`: none pending). One
/// endpoint per query: the embedded database runs `endpointId: {$in: [...]}` sorted by
/// `_id` as a scan of every delivery kept (40 ms at 15,000), this one on the index.
pub(crate) async fn oldest_pending(
    store: &Store,
    endpoint: ObjectId,
) -> Result<Option<DateTime>, StoreError> {
    let found = deliveries(store)
        .find_one(doc! { "endpointId": endpoint, "state": "pending" })
        .sort(doc! { "_id": 1 })
        .await?;
    Ok(found.map(|d| d.created_at))
}

/// The endpoint's due deliveries, oldest first, at most `limit`, but not those in `sent`
/// (delivered, their outcome not written yet). `sent` is left out here, not in the query:
/// the embedded database runs `_id: {$nin: [...]}` beside the index's bounds as a scan of
/// every delivery kept (19 ms at 10,000, and they stay 30 days). At most `sent.len()` of
/// what the query finds are sent ones, so asking for that many more finds the same
/// deliveries.
pub(crate) async fn due(
    store: &Store,
    endpoint: ObjectId,
    limit: i64,
    sent: &[ObjectId],
) -> Result<Vec<DeliveryDoc>, StoreError> {
    let filter = doc! {
        "endpointId": endpoint,
        "state": "pending",
        "nextAttemptAt": { "$lte": DateTime::now() },
    };
    let more = i64::try_from(sent.len()).unwrap_or(i64::MAX);
    let coll = deliveries(store);
    let find = coll
        .find(filter)
        .sort(doc! { "_id": 1 })
        .limit(limit.saturating_add(more));
    let mut found: Vec<DeliveryDoc> = super::find_all(find, None).await?;
    found.retain(|d| !sent.contains(&d.id));
    found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(found)
}

/// Takes the endpoint's lease until `until` when nobody holds it (or `owner` does), and
/// answers the endpoint as it is now.
pub(crate) async fn take_lease(
    store: &Store,
    endpoint: ObjectId,
    owner: &str,
    until: DateTime,
) -> Result<Option<EndpointDoc>, StoreError> {
    let now = DateTime::now();
    let filter = doc! {
        "_id": endpoint,
        "disabled": false,
        "$or": [ { "leaseUntil": { "$lte": now } }, { "leaseOwner": owner } ],
    };
    Ok(endpoints(store)
        .find_one_and_update(
            filter,
            doc! { "$set": { "leaseOwner": owner, "leaseUntil": until } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?)
}

/// Gives the lease back.
pub(crate) async fn release_lease(
    store: &Store,
    endpoint: ObjectId,
    owner: &str,
) -> Result<(), StoreError> {
    endpoints(store)
        .update_one(
            doc! { "_id": endpoint, "leaseOwner": owner },
            doc! { "$set": { "leaseUntil": epoch() }, "$unset": { "leaseOwner": "" } },
        )
        .await?;
    Ok(())
}

/// Writes an attempt's outcome (`set` on the delivery, one more attempt).
pub(crate) async fn record_attempt(
    store: &Store,
    id: ObjectId,
    set: Document,
    unset: &[&str],
) -> Result<(), StoreError> {
    let mut change = doc! { "$set": set, "$inc": { "attempts": 1 } };
    if !unset.is_empty() {
        let u: Document = unset
            .iter()
            .map(|k| ((*k).to_string(), "".into()))
            .collect();
        change.insert("$unset", u);
    }
    update_alone(store, vec![(doc! { "_id": id }, change)]).await
}

/// The dispatcher's writes of outcomes: `(filter, change)` updates of deliveries, in a
/// transaction of their own, run again (three more times) when it met another's write.
/// Not plain updates: on the embedded database a plain update that meets an open
/// transaction's write (an erasure rewriting these deliveries) retries without end while
/// holding the collection, and the transaction's next write waits for the collection, so
/// both stop for good (found in the test suite: an erasure hung beside an outcome write).
/// A transaction takes this instance's turn ([`Store::session`]), so none runs beside an
/// erasure here, and a conflict with another instance's is an error, not a spin.
async fn update_alone(store: &Store, updates: Vec<(Document, Document)>) -> Result<(), StoreError> {
    let coll = deliveries(store);
    super::rerun_on_conflict(4, || async {
        let mut session = store.session().await?;
        for (filter, change) in &updates {
            let action = coll.update_many(filter.clone(), change.clone());
            if let Err(e) = in_session!(action, session.get()) {
                session.abort().await;
                return Err(StoreError::from(e));
            }
        }
        session.commit().await
    })
    .await
}

/// Writes the outcome of delivered attempts (`(delivery, HTTP status)`, made at `at`):
/// one update per status.
pub(crate) async fn record_delivered(
    store: &Store,
    delivered: &[(ObjectId, u16)],
    at: DateTime,
) -> Result<(), StoreError> {
    let mut statuses: Vec<u16> = delivered.iter().map(|(_, s)| *s).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let updates = statuses
        .into_iter()
        .map(|status| {
            let ids: Vec<ObjectId> = delivered
                .iter()
                .filter(|(_, s)| *s == status)
                .map(|(id, _)| *id)
                .collect();
            (
                doc! { "_id": { "$in": ids } },
                doc! {
                    "$set": { "state": "delivered", "lastStatus": i32::from(status), "lastAttemptAt": at, "failures": 0 },
                    "$inc": { "attempts": 1 },
                    "$unset": { "lastError": "" },
                },
            )
        })
        .collect();
    update_alone(store, updates).await
}

/// Disables an endpoint, saying why.
pub(crate) async fn disable(store: &Store, id: ObjectId, reason: &str) -> Result<(), StoreError> {
    endpoints(store)
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "disabled": true, "disabledReason": reason, "updatedAt": DateTime::now() } },
        )
        .await?;
    Ok(())
}

pub(crate) async fn list_deliveries(
    store: &Store,
    endpoint: ObjectId,
    page: Page,
) -> Result<(Vec<DeliveryDoc>, Option<String>), StoreError> {
    find_page(
        &deliveries(store),
        doc! { "endpointId": endpoint },
        None,
        page,
        |d| d.id,
    )
    .await
}

/// Makes a delivery due now again, at the start of the schedule; the delivery as it is
/// then, or `None` when the endpoint has no such delivery.
pub(crate) async fn retry_delivery(
    store: &Store,
    endpoint: ObjectId,
    id: ObjectId,
) -> Result<Option<DeliveryDoc>, StoreError> {
    Ok(deliveries(store)
        .find_one_and_update(
            doc! { "_id": id, "endpointId": endpoint },
            doc! { "$set": { "state": "pending", "failures": 0, "nextAttemptAt": DateTime::now() } },
        )
        .return_document(mongodb::options::ReturnDocument::After)
        .await?)
}

/// The indexes of both collections.
pub(crate) fn indexes() -> Vec<mongodb::IndexModel> {
    use mongodb::IndexModel;
    use mongodb::options::IndexOptions;
    vec![
        IndexModel::builder()
            .keys(doc! { "endpointId": 1, "state": 1, "nextAttemptAt": 1, "_id": 1 })
            .options(IndexOptions::builder().name("due".to_string()).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { "mentions": 1 })
            .options(IndexOptions::builder().name("mentions".to_string()).build())
            .build(),
        IndexModel::builder()
            .keys(doc! { "createdAt": 1 })
            .options(
                IndexOptions::builder()
                    .name("createdAt_ttl".to_string())
                    .expire_after(KEEP)
                    .build(),
            )
            .build(),
    ]
}
