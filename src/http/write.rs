//! The write API: `POST /v1/{kind}` (create, the server issues the id), `PUT` and `DELETE
//! /v1/{kind}/{id}`, `POST /v1/{kind}/bulk` (NDJSON).
//!
//! Editors (and admins) only. Records go through the same validation and per-line report as the
//! indexer; a record above the token's marking cannot be written. Every answer comes after the
//! change is committed and synced to disk, and every write or refusal is audited.
//!
//! A caller who cannot see every marking gets the same answer whether a record it cannot see
//! exists or not: it replaces and deletes only records it can see (`PUT` or `DELETE` of any other
//! id is the same 404), creates records with `POST` (or bulk lines without an `id`) under ids the
//! server issues, unguessable, and its references to records it cannot see (authors, contacts,
//! facilities) are reported and left out exactly as unknown ids are. A caller who may see every
//! marking may also create a record under an id of its choosing with `PUT`: nothing is hidden
//! from it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::api::Problem;
use crate::access::{Caller, Role};
use crate::index::{Change, RecordWriter};
use crate::ingest::{Loader, Report};
use crate::model::{Kind, Marking, Record};
use crate::search::query_pairs;
use crate::{Error, FieldFault, Result};

/// Most ids listed in one audit line; the rest are counted in its outcome.
const AUDITED_IDS: usize = 1000;

/// What a single write did.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteAnswer {
    /// `experts`, `case-studies` or `facilities`.
    pub kind: String,
    /// The record's id.
    pub id: String,
    /// `created`, `replaced` or `deleted`.
    pub outcome: String,
    /// Things worth knowing that did not stop the write (unknown fields, unknown references).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a bulk load did: the indexer's report for the request body.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAnswer {
    /// Records written.
    pub indexed: u64,
    /// Lines rejected (nothing of them was written).
    pub rejected: u64,
    /// With `strict=true` and a rejection, nothing was written.
    pub committed: bool,
    /// Ids the server gave the lines that had none, in line order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<String>,
    /// Counts, rejected lines (line number, field, reason) and warnings.
    #[schema(value_type = Object)]
    pub report: Report,
}

/// Issues the ids of records created without one: the kind's prefix and 96 random bits, so
/// nobody can guess another's, and none is ever an id the caller could not see.
pub struct IdIssuer {
    /// A fixed sequence for tests (a counter run through SHA-256); `None`: the system's randomness.
    seeded: Option<Mutex<u64>>,
}

impl IdIssuer {
    /// Ids from the operating system's randomness.
    pub fn random() -> IdIssuer {
        IdIssuer { seeded: None }
    }

    /// The same ids in the same order on every run (tests comparing two servers).
    pub fn seeded(seed: u64) -> IdIssuer {
        IdIssuer {
            seeded: Some(Mutex::new(seed)),
        }
    }

    /// A new id for a record of `kind`.
    pub fn issue(&self, kind: Kind) -> String {
        let mut bytes = [0u8; 12];
        match &self.seeded {
            Some(counter) => {
                use sha2::Digest;
                let mut n = counter.lock().unwrap_or_else(|e| e.into_inner());
                *n += 1;
                let digest = sha2::Sha256::digest(n.to_le_bytes());
                bytes.copy_from_slice(&digest[..12]);
            }
            None => getrandom::fill(&mut bytes).expect("the operating system provides randomness"),
        }
        let prefix = match kind {
            Kind::Member => "m",
            Kind::CaseStudy => "cs",
            Kind::Facility => "f",
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}-{hex}")
    }
}

/// The kind of the collection a write route names (`/v1/{collection}/...`).
fn kind_of(path: &MatchedPath) -> Kind {
    path.as_str()
        .split('/')
        .nth(2)
        .and_then(Kind::from_path)
        .unwrap_or(Kind::Member)
}

/// Whether `caller` may see records of every marking (then nothing is hidden from it).
fn sees_all(caller: &Caller) -> bool {
    Marking::ALL
        .last()
        .is_none_or(|top| caller.max_marking >= *top)
}

/// The answer to replacing or deleting an id the caller cannot see, whether or not a record holds
/// it: the same words for both.
fn not_yours(kind: Kind, id: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!(
            "no record `{id}` you can replace or delete; to create one, POST /v1/{} and the \
             server gives it an id",
            kind.collection()
        ),
    )
}

/// The writer, once the caller is known to be allowed to write.
async fn writer_for(
    state: &AppState,
    caller: &Caller,
    action: &str,
) -> Result<Arc<RecordWriter>, Problem> {
    if caller.role < Role::Editor {
        audit(
            state,
            caller,
            action,
            Vec::new(),
            "denied: editor role required",
        )
        .await;
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "writing records needs the editor role",
        ));
    }
    state.writer.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::FORBIDDEN,
            "this server is read-only (local demo mode)",
        )
    })
}

/// Records an outcome in the audit log, visible to admins who may read `caller`'s marking: what
/// the caller did is no more secret than what it may see.
async fn audit(state: &AppState, caller: &Caller, action: &str, ids: Vec<String>, outcome: &str) {
    state
        .audit_event(
            caller.subject.clone(),
            action.to_string(),
            ids,
            outcome.to_string(),
            caller.max_marking,
        )
        .await;
}

/// Refuses a record marked above what the token may write, naming the field.
fn within_marking(record: &Record, max_marking: Marking) -> Result<()> {
    if record.marking() > max_marking {
        return Err(Error::field(
            "marking",
            format!(
                "{} is above what this token may write ({max_marking})",
                record.marking()
            ),
        ));
    }
    Ok(())
}

/// Whether the caller may see the record `kind`/`id` (it exists at or below its marking).
fn visible(writer: &RecordWriter, kind: Kind, id: &str, max_marking: Marking) -> bool {
    matches!(writer.marking_of(kind, id), Ok(Some(m)) if m <= max_marking)
}

/// A loader that checks references against what the caller may see and refuses lines the
/// caller may not write: above its marking, or (for a caller who cannot see every marking)
/// replacing an id it cannot see, unless the server issued that id in this request.
fn loader(writer: &Arc<RecordWriter>, caller: &Caller, issued: BTreeSet<String>) -> Loader {
    let known = writer.clone();
    let guard = writer.clone();
    let max = caller.max_marking;
    let all = sees_all(caller);
    let mut loader = Loader::default();
    loader.known = Some(Box::new(move |kind, id| visible(&known, kind, id, max)));
    loader.guard = Some(Box::new(move |record: &Record| {
        within_marking(record, max)?;
        let id = record.id();
        if all || issued.contains(id) || visible(&guard, record.kind(), id, max) {
            return Ok(());
        }
        Err(Error::field(
            "id",
            format!(
                "no record `{id}` you can replace; leave `id` out to create a record and the \
                 server gives it one"
            ),
        ))
    }));
    loader
}

/// Runs blocking index work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Problem::from(Error::Io(std::io::Error::other(e))))?
        .map_err(Problem::from)
}

fn field_problem(status: StatusCode, field: Option<&str>, reason: &str) -> Problem {
    match field {
        Some(field) => {
            let mut p = Problem::new(status, format!("field `{field}`: {reason}"));
            p.parameter = Some(field.to_string());
            p
        }
        None => Problem::new(status, reason.to_string()),
    }
}

/// One JSON object from a request body, or a 400.
fn object_of(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, Problem> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "the body must be one JSON object",
        )),
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// Validates one record (a JSON object with its id) and writes it; `Ok(Err(problem))` for a
/// record refused, with the report of what was written.
fn write_one(
    writer: &Arc<RecordWriter>,
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    object: serde_json::Map<String, serde_json::Value>,
    issued: BTreeSet<String>,
) -> Result<std::result::Result<Report, Problem>> {
    let line = serde_json::to_string(&object)?;
    let mut loader = loader(writer, caller, issued);
    let mut records = Vec::new();
    loader.load_jsonl_from(line.as_bytes(), "body", kind, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    let Some(record) = records.pop() else {
        let refusal = loader
            .report
            .rejections
            .first()
            .map(|r| (r.field.clone(), r.reason.clone(), r.also.clone()));
        let (field, reason, also) =
            refusal.unwrap_or((None, "the body holds no record".into(), Vec::new()));
        let status = match field.as_deref() {
            Some("marking") => StatusCode::FORBIDDEN,
            Some("id") if reason.starts_with("no record") => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        let problem = match field {
            Some(field) if !also.is_empty() => {
                let faults = std::iter::once(FieldFault { field, reason }).chain(also);
                Problem::from(Error::InvalidFields(faults.collect()))
            }
            field => field_problem(status, field.as_deref(), &reason),
        };
        return Ok(Err(problem));
    };
    writer.apply(&[Change::Put(Box::new(record))])?;
    refresh_suggestions(state, kind)?;
    Ok(Ok(loader.report))
}

/// Replaces one record (or, for a caller who may see every marking, creates it under that id).
#[utoipa::path(put, path = "/v1/{kind}/{id}", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities"),
           ("id" = String, Path, description = "The record's id; the body's `id`, if given, must match")),
    request_body(content = Object, description = "One record in the ingest format (Muster's data contract, section 1)"),
    responses((status = 201, description = "Created (only by a caller who may see every marking); committed to disk", body = WriteAnswer),
              (status = 200, description = "Replaced; committed to disk", body = WriteAnswer),
              (status = 400, description = "An invalid record, the field named", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor, or a marking above the token's", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No record with this id the caller may replace (create with POST)", body = Problem, content_type = "application/problem+json")))]
pub async fn put_record(
    State(state): State<AppState>,
    matched: MatchedPath,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    let kind = kind_of(&matched);
    let action = format!("PUT /v1/{}/{id}", kind.collection());
    let writer = writer_for(&state, &caller, &action).await?;
    let mut object = object_of(&body)?;
    match object.get("id") {
        None => {
            object.insert("id".into(), serde_json::Value::String(id.clone()));
        }
        Some(serde_json::Value::String(given)) if *given == id => {}
        Some(_) => {
            let mut p = Problem::new(
                StatusCode::BAD_REQUEST,
                format!("field `id`: must be `{id}`, the id in the path"),
            );
            p.parameter = Some("id".into());
            return Err(p);
        }
    }
    let state2 = state.clone();
    let (wanted, who) = (id.clone(), caller.clone());
    let outcome = blocking(move || {
        let existed = visible(&writer, kind, &wanted, who.max_marking);
        let report = write_one(&writer, &state2, &who, kind, object, BTreeSet::new())?;
        Ok(report.map(|report| (existed, report)))
    })
    .await;
    let (existed, report) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(problem)) => {
            let problem = if problem.status == 404 {
                not_yours(kind, &id)
            } else {
                problem
            };
            audit(
                &state,
                &caller,
                &action,
                vec![id],
                &format!("rejected: {}", problem.detail),
            )
            .await;
            return Err(problem);
        }
        Err(problem) => {
            audit(&state, &caller, &action, vec![id], "failed").await;
            return Err(problem);
        }
    };
    let outcome = if existed { "replaced" } else { "created" };
    audit(
        &state,
        &caller,
        &action,
        vec![id.clone()],
        &format!("ok: {outcome}"),
    )
    .await;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let answer = WriteAnswer {
        kind: kind.collection().into(),
        id,
        outcome: outcome.into(),
        warnings: report.warnings.into_iter().map(|w| w.message).collect(),
    };
    Ok((status, Json(answer)).into_response())
}

/// Creates one record under an id the server issues (answered in the body and `Location`).
#[utoipa::path(post, path = "/v1/{kind}", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities")),
    request_body(content = Object, description = "One record in the ingest format, without `id`"),
    responses((status = 201, description = "Created; committed to disk", body = WriteAnswer),
              (status = 400, description = "An invalid record, the field named (an `id` included)", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor, or a marking above the token's", body = Problem, content_type = "application/problem+json")))]
pub async fn create_record(
    State(state): State<AppState>,
    matched: MatchedPath,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    let kind = kind_of(&matched);
    let action = format!("POST /v1/{}", kind.collection());
    let writer = writer_for(&state, &caller, &action).await?;
    let mut object = object_of(&body)?;
    if object.contains_key("id") {
        let mut p = Problem::new(
            StatusCode::BAD_REQUEST,
            format!(
                "field `id`: the server gives a new record its id; leave `id` out (PUT \
                 /v1/{}/{{id}} replaces a record you can see)",
                kind.collection()
            ),
        );
        p.parameter = Some("id".into());
        audit(
            &state,
            &caller,
            &action,
            Vec::new(),
            &format!("rejected: {}", p.detail),
        )
        .await;
        return Err(p);
    }
    let state2 = state.clone();
    let who = caller.clone();
    let outcome = blocking(move || {
        // an issued id is new to every marking (96 random bits; drawn again on a clash)
        let id = loop {
            let id = state2.ids.issue(kind);
            if writer.marking_of(kind, &id)?.is_none() {
                break id;
            }
        };
        object.insert("id".into(), serde_json::Value::String(id.clone()));
        let issued = BTreeSet::from([id.clone()]);
        let report = write_one(&writer, &state2, &who, kind, object, issued)?;
        Ok(report.map(|report| (id, report)))
    })
    .await;
    let (id, report) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(problem)) | Err(problem) => {
            audit(
                &state,
                &caller,
                &action,
                Vec::new(),
                &format!("rejected: {}", problem.detail),
            )
            .await;
            return Err(problem);
        }
    };
    audit(&state, &caller, &action, vec![id.clone()], "ok: created").await;
    let location = format!("/v1/{}/{id}", kind.collection());
    let answer = WriteAnswer {
        kind: kind.collection().into(),
        id,
        outcome: "created".into(),
        warnings: report.warnings.into_iter().map(|w| w.message).collect(),
    };
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Deletes one record.
#[utoipa::path(delete, path = "/v1/{kind}/{id}", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities"),
           ("id" = String, Path, description = "The record's id")),
    responses((status = 204, description = "Deleted; committed to disk"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "Missing, or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_record(
    State(state): State<AppState>,
    matched: MatchedPath,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, Problem> {
    let kind = kind_of(&matched);
    let action = format!("DELETE /v1/{}/{id}", kind.collection());
    let writer = writer_for(&state, &caller, &action).await?;
    let state2 = state.clone();
    let (wanted, max) = (id.clone(), caller.max_marking);
    let result = blocking(move || {
        if !visible(&writer, kind, &wanted, max) {
            return Ok(false);
        }
        writer.apply(&[Change::Delete(kind, wanted)])?;
        refresh_suggestions(&state2, kind)?;
        Ok(true)
    })
    .await;
    let (outcome, result) = match result {
        Ok(true) => ("ok: deleted", Ok(StatusCode::NO_CONTENT)),
        Ok(false) => ("not found", Err(not_yours(kind, &id))),
        Err(p) => ("failed", Err(p)),
    };
    audit(&state, &caller, &action, vec![id], outcome).await;
    result
}

/// Loads many records of one kind from NDJSON in one commit. A line without `id` creates a
/// record under an id the server issues (listed in `created`).
#[utoipa::path(post, path = "/v1/{kind}/bulk", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities"),
           ("strict" = Option<bool>, Query, description = "Write nothing if any line is rejected")),
    request_body(content = serde_json::Value, content_type = "application/x-ndjson", description = "One record a line, as in the ingest files (JSON Lines: not one JSON document, so any body is accepted and judged line by line)"),
    responses((status = 200, description = "Valid lines committed to disk in one batch; the rest reported by line", body = BulkAnswer),
              (status = 400, description = "A bad parameter or an empty body", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "strict=true and a line was rejected: nothing written", body = BulkAnswer)))]
pub async fn bulk(
    State(state): State<AppState>,
    matched: MatchedPath,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    let kind = kind_of(&matched);
    let action = format!("POST /v1/{}/bulk", kind.collection());
    let mut strict = false;
    for (key, value) in query_pairs(raw.as_deref()) {
        match (key.as_str(), value.as_str()) {
            ("strict", "true") => strict = true,
            ("strict", "false") => strict = false,
            ("strict", _) => {
                return Err(Error::field("strict", "must be true or false").into());
            }
            (other, _) => {
                return Err(Error::field(other, "unknown parameter (accepted: strict)").into());
            }
        }
    }
    let writer = writer_for(&state, &caller, &action).await?;
    let state2 = state.clone();
    let who = caller.clone();
    let (report, ids, created, committed) = blocking(move || {
        let (body, created) = issue_missing_ids(&state2, &writer, kind, &body)?;
        let issued: BTreeSet<String> = created.iter().cloned().collect();
        let mut loader = loader(&writer, &who, issued);
        let mut changes = Vec::new();
        loader.load_jsonl_from(&body[..], "body", kind, &mut |r| {
            changes.push(Change::Put(Box::new(r)));
            Ok(())
        })?;
        let report = loader.report;
        let ids: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Put(r) => Some(r.id().to_string()),
                Change::Delete(..) => None,
            })
            .collect();
        let refused = strict && report.rejected() > 0;
        let committed = !changes.is_empty() && !refused;
        if committed {
            writer.apply(&changes)?;
            refresh_suggestions(&state2, kind)?;
        }
        let created: Vec<String> = if committed {
            created.into_iter().filter(|id| ids.contains(id)).collect()
        } else {
            Vec::new()
        };
        Ok((report, ids, created, committed))
    })
    .await?;
    if report.files.first().is_none_or(|f| f.read == 0) {
        audit(&state, &caller, &action, Vec::new(), "rejected: empty body").await;
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "the body holds no records: send one JSON object a line",
        ));
    }
    let indexed = if committed { report.indexed() } else { 0 };
    let outcome = format!(
        "{}: {indexed} written, {} rejected",
        if committed { "ok" } else { "nothing written" },
        report.rejected()
    );
    let listed: Vec<String> = ids.into_iter().take(AUDITED_IDS).collect();
    audit(&state, &caller, &action, listed, &outcome).await;
    let status = if strict && report.rejected() > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let answer = BulkAnswer {
        indexed,
        rejected: report.rejected(),
        committed,
        created,
        report,
    };
    Ok((status, Json(answer)).into_response())
}

/// The body with an issued id put on each line that is a JSON object without one, and those ids
/// in line order. Other lines are left as they are, for the loader to judge.
fn issue_missing_ids(
    state: &AppState,
    writer: &RecordWriter,
    kind: Kind,
    body: &[u8],
) -> Result<(Vec<u8>, Vec<String>)> {
    let mut out = Vec::with_capacity(body.len());
    let mut created = Vec::new();
    for line in body.split_inclusive(|b| *b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match serde_json::from_slice::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(mut map)) if !map.contains_key("id") => {
                let id = loop {
                    let id = state.ids.issue(kind);
                    if writer.marking_of(kind, &id)?.is_none() && !created.contains(&id) {
                        break id;
                    }
                };
                map.insert("id".into(), serde_json::Value::String(id.clone()));
                created.push(id);
                out.extend_from_slice(serde_json::to_string(&map)?.as_bytes());
                out.push(b'\n');
            }
            _ => out.extend_from_slice(line),
        }
    }
    Ok((out, created))
}

/// Facility names are offered by typeahead: rebuild it when facilities change.
fn refresh_suggestions(state: &AppState, kind: Kind) -> Result<()> {
    if kind != Kind::Facility {
        return Ok(());
    }
    let fresh = state.suggestions().with_facilities_of(&state.index)?;
    if let Ok(mut current) = state.suggest.write() {
        *current = Arc::new(fresh);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
