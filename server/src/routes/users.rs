//! Users: `POST /v1/users`, `GET /v1/users` (JSON pages, or the whole list as CSV),
//! `GET /v1/users/{id}`, `POST /v1/users/bulk` (each row on its own) and
//! `POST /v1/users/{id}/password`.

use super::{List, Query, Request, created, json, no_content, streamed, versioned};
use crate::domain::users::{self, ListFilter, RowOutcome};
use crate::error::ApiError;
use crate::passwords::Password;
use bytes::Bytes;
use mongodb::bson::oid::ObjectId;
use onboard_shared::{
    BULK_MAX, Code, FIELDS, Field, FieldError, FieldKind, UserType, check_bulk_request, check_user,
    csv_safe_cell,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

/// The 201 body of `POST /v1/users`; the password is shown only here.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UserCreated)]
pub(crate) struct Created {
    code: &'static str,
    message: &'static str,
    id: String,
    email: String,
    #[schema(value_type = String)]
    password: Password,
    side_errors: Vec<SideError>,
}

/// A non-blocking problem after the user was stored.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SideError {
    message: String,
    error: String,
}

/// POST /v1/users with a JSON body
pub(super) async fn create(r: Request) -> Result<Response, ApiError> {
    let user = check_user(&r.body).map_err(ApiError::Validation)?;
    let done = users::create(&r.state, &user).await?;
    let mut side_errors = Vec::new();
    if !done.tags_saved {
        side_errors.push(SideError {
            message: "The user was created but its tags could not be saved.".into(),
            error: "tags_not_saved".into(),
        });
    }
    let id = done.id.to_hex();
    Ok(created(
        format!("/v1/users/{id}"),
        &Created {
            code: "ok",
            message: "User created successfully",
            id,
            email: done.email,
            password: done.password,
            side_errors,
        },
    ))
}

/// GET /v1/users/{id}, with its `ETag`
pub(super) async fn get_one(r: Request) -> Result<Response, ApiError> {
    let user = users::get(&r.state, r.id()).await?;
    Ok(versioned(&user, user.version))
}

/// PATCH /v1/users/{id} with a JSON Merge Patch (`If-Match` optional): 200 with the user
/// as GET shows it, and its new `ETag`.
pub(super) async fn patch(r: Request) -> Result<Response, ApiError> {
    let if_match = r.if_match()?;
    let user = users::update(&r.state, r.id(), &r.body, &if_match).await?;
    Ok(versioned(&user, user.version))
}

/// DELETE /v1/users/{id} (`If-Match` optional): 204, the person erased.
pub(super) async fn delete(r: Request) -> Result<Response, ApiError> {
    let if_match = r.if_match()?;
    users::delete(&r.state, r.id(), &if_match).await?;
    Ok(no_content())
}

/// GET /v1/users?email=&q=&type=&tag=&limit=&after=
pub(super) async fn list(r: Request) -> Result<Response, ApiError> {
    let q = Query::parse(&r)?;
    let user_type = match q.get("type") {
        None => None,
        Some("Attendee") => Some(UserType::Attendee),
        Some("Speaker") => Some(UserType::Speaker),
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "type",
                Code::InvalidChoice,
                "Must be Attendee or Speaker.",
            )]));
        }
    };
    let filter = ListFilter {
        email: q.get("email").map(str::to_string),
        user_type,
        tag: q.get("tag").map(str::to_string),
        q: q.get("q").map(str::to_string),
    };
    if wants_csv(&r.headers) {
        return export(&r, &filter, q.page.after).await;
    }
    let (items, next) = users::list(&r.state, &filter, q.page).await?;
    Ok(json(StatusCode::OK, &List { items, next }))
}

/// The list that answers CSV to `Accept: text/csv` (the OpenAPI document says so).
pub(crate) const CSV_PATH: &str = "/v1/users";

/// Whether `Accept` asks for CSV: `text/csv` listed (not at `q=0`) and ranked no lower
/// than JSON. Anything else gets the JSON page.
fn wants_csv(headers: &HeaderMap) -> bool {
    let mut csv: Option<f32> = None;
    let mut json: f32 = 0.0;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else { continue };
        for range in text.split(',') {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match essence.as_str() {
                "text/csv" => csv = Some(csv.map_or(q, |c| c.max(q))),
                "application/json" => json = json.max(q),
                _ => {}
            }
        }
    }
    csv.is_some_and(|q| q > 0.0 && q >= json)
}

/// The columns of an export: every payload field of the catalogue under its canonical
/// header (the one `onboard import` and the page map back to the field), then the id,
/// which an import ignores. Never a password or hash: a `User` has neither.
fn export_columns() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| f.kind != FieldKind::FullName)
}

/// The separator an export writes between tags; the importer splits on it.
const TAG_SEPARATOR: &str = "; ";

/// CSV lines (CRLF, quoted where needed), each cell through the rulebook's
/// `csv_safe_cell` so that no cell runs as a formula in a spreadsheet.
fn csv_lines<I, C>(rows: I) -> Result<Bytes, ApiError>
where
    I: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        let cells: Vec<String> = row.into_iter().collect();
        w.write_record(cells.iter().map(|c| csv_safe_cell(c).into_owned()))
            .map_err(|e| ApiError::Internal(format!("CSV line: {e}")))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("CSV lines: {e}")))?;
    Ok(Bytes::from(bytes))
}

/// One user's cells, in [`export_columns`] order then the id: text as it is, tags joined
/// by [`TAG_SEPARATOR`], flags `yes`/`no`, absent values empty.
fn csv_cells(user: &users::User) -> Result<Vec<String>, ApiError> {
    let v = serde_json::to_value(user).map_err(|e| ApiError::Internal(format!("user: {e}")))?;
    let mut cells: Vec<String> = export_columns()
        .map(|f| {
            let value = f.path.split('.').fold(&v, |v, key| &v[key]);
            match value {
                Value::String(s) => s.clone(),
                Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(TAG_SEPARATOR),
                Value::Number(n) => n.to_string(),
                Value::Null | Value::Object(_) => String::new(),
            }
        })
        .collect();
    cells.push(v["id"].as_str().unwrap_or_default().to_string());
    Ok(cells)
}

fn csv_page(page: &[users::User]) -> Result<Bytes, ApiError> {
    let rows = page.iter().map(csv_cells).collect::<Result<Vec<_>, _>>()?;
    csv_lines(rows)
}

/// GET /v1/users with `Accept: text/csv`: every user the filters match (all pages, from
/// `after` when given; `limit` is the JSON page's), streamed as CSV one page of the store
/// at a time. The first page is read before answering, so a failing database is a 503 as
/// for the JSON list; a failure later cuts the body short (the transfer is incomplete,
/// never a file that looks whole).
async fn export(
    r: &Request,
    filter: &ListFilter,
    after: Option<ObjectId>,
) -> Result<Response, ApiError> {
    let mut pages = users::pages(r.state.clone(), filter, after).await?;
    let first = pages.next().await?;
    // A byte-order mark, so spreadsheets read the UTF-8 (accents in names) correctly; the
    // importer and the page skip it.
    let header = csv_lines([export_columns()
        .map(|f| f.header.to_string())
        .chain(["id".to_string()])])?;
    let mut head = Vec::with_capacity(header.len() + 3);
    head.extend_from_slice("\u{feff}".as_bytes());
    head.extend_from_slice(&header);
    if let Some(first) = first {
        head.extend_from_slice(&csv_page(&first)?);
    }
    let mut res = streamed(Bytes::from(head), move |tx| async move {
        while let Some(page) = pages.next().await? {
            if !tx.send(csv_page(&page)?).await {
                break;
            }
        }
        Ok(())
    });
    let date = mongodb::bson::DateTime::now()
        .try_to_rfc3339_string()
        .unwrap_or_default();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"users-{}.csv\"",
        date.get(..10).unwrap_or("export")
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The 200 body of `POST /v1/users/bulk`: one result per row, in request order.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkResult {
    code: &'static str,
    counts: Counts,
    results: Vec<Row>,
}

/// How many rows got each outcome.
#[derive(Serialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Counts {
    created: usize,
    exists: usize,
    updated: usize,
    unchanged: usize,
    invalid: usize,
    failed: usize,
}

/// One row's outcome; `index` is the row's position in the request.
#[derive(Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "lowercase", deny_unknown_fields)]
#[schema(as = BulkRow)]
pub(crate) enum Row {
    /// A new user; the password is shown only here.
    Created {
        index: usize,
        id: String,
        email: String,
        #[schema(value_type = String)]
        password: Password,
    },
    /// `onExisting: "skip"`: the e-mail is already a user; nothing changed.
    Exists {
        index: usize,
        id: String,
        email: String,
    },
    /// `onExisting: "update"`: the row's non-empty cells were applied to the user with its
    /// e-mail.
    Updated {
        index: usize,
        id: String,
        email: String,
    },
    /// `onExisting: "update"`: the user already had the row's values; nothing changed.
    Unchanged {
        index: usize,
        id: String,
        email: String,
    },
    /// The rulebook's errors, `duplicate_in_batch`, `username_taken`, or `email_taken`
    /// (`onExisting: "fail"`): the row must change.
    Invalid {
        index: usize,
        #[schema(schema_with = crate::openapi::field_error_list)]
        errors: Vec<FieldError>,
    },
    /// Not stored; sending the row again is safe.
    Failed { index: usize, error: String },
}

/// POST /v1/users/bulk with `{"users": [...], "onExisting"?: "skip" | "update" | "fail"}`:
/// always 200 with one result per row, in request order (`created`, `exists`, `updated`,
/// `unchanged`, `invalid`, `failed`; see server/README.md). The envelope is the rulebook's
/// (`check_bulk_request`: 400); more than [`BULK_MAX`] rows is a 413.
pub(super) async fn bulk(r: Request) -> Result<Response, ApiError> {
    let key_id = r.key_id()?;
    let request = check_bulk_request(&r.body).map_err(ApiError::Validation)?;
    if request.users.len() > BULK_MAX {
        return Err(ApiError::TooManyItems {
            max: BULK_MAX,
            got: request.users.len(),
        });
    }
    let outcomes = users::create_many(&r.state, key_id, request.users, request.on_existing).await?;
    let mut counts = Counts::default();
    let results: Vec<Row> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| match outcome {
            RowOutcome::Created {
                id,
                email,
                password,
            } => {
                counts.created += 1;
                Row::Created {
                    index,
                    id: id.to_hex(),
                    email,
                    password,
                }
            }
            RowOutcome::Exists { id, email } => {
                counts.exists += 1;
                Row::Exists {
                    index,
                    id: id.to_hex(),
                    email,
                }
            }
            RowOutcome::Updated { id, email } => {
                counts.updated += 1;
                Row::Updated {
                    index,
                    id: id.to_hex(),
                    email,
                }
            }
            RowOutcome::Unchanged { id, email } => {
                counts.unchanged += 1;
                Row::Unchanged {
                    index,
                    id: id.to_hex(),
                    email,
                }
            }
            RowOutcome::Invalid(errors) => {
                counts.invalid += 1;
                Row::Invalid { index, errors }
            }
            RowOutcome::Failed(e) => {
                counts.failed += 1;
                Row::Failed {
                    index,
                    error: ApiError::from(e).message(),
                }
            }
        })
        .collect();
    tracing::info!(
        created = counts.created,
        exists = counts.exists,
        updated = counts.updated,
        unchanged = counts.unchanged,
        invalid = counts.invalid,
        failed = counts.failed,
        "bulk import"
    );
    Ok(json(
        StatusCode::OK,
        &BulkResult {
            code: "ok",
            counts,
            results,
        },
    ))
}

/// The 200 body of `POST /v1/users/{id}/password`; the password is shown only here.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PasswordReissued)]
pub(crate) struct Reissued {
    code: &'static str,
    message: &'static str,
    id: String,
    #[schema(value_type = String)]
    password: Password,
}

/// POST /v1/users/{id}/password (no body): a new generated password, shown once.
pub(super) async fn reissue_password(r: Request) -> Result<Response, ApiError> {
    let done = users::reissue_password(&r.state, r.id()).await?;
    Ok(json(
        StatusCode::OK,
        &Reissued {
            code: "ok",
            message: "Password reissued successfully",
            id: done.id.to_hex(),
            password: done.password,
        },
    ))
}
