//! The write API: `PUT` and `DELETE /v1/{kind}/{id}`, `POST /v1/{kind}/bulk` (NDJSON).
//!
//! Editors (and admins) only. Records go through the same validation and per-line report as the
//! indexer; a record above the token's marking cannot be written, and one already stored above it
//! cannot be replaced or deleted (a delete answers 404, as for a missing record). Every answer
//! comes after the change is committed and synced to disk, and every write or refusal is audited.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::api::{Problem, query_pairs};
use crate::access::{Caller, Role};
use crate::index::{Change, RecordWriter};
use crate::ingest::{Loader, Report};
use crate::model::{Kind, Marking, Record};
use crate::{Error, Result};

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
    /// Counts, rejected lines (line number, field, reason) and warnings.
    #[schema(value_type = Object)]
    pub report: Report,
}

fn kind_of(path: &MatchedPath) -> Kind {
    match path.as_str().split('/').nth(2) {
        Some("case-studies") => Kind::CaseStudy,
        Some("facilities") => Kind::Facility,
        _ => Kind::Member,
    }
}

fn path_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Member => "experts",
        Kind::CaseStudy => "case-studies",
        Kind::Facility => "facilities",
    }
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

async fn audit(state: &AppState, caller: &Caller, action: &str, ids: Vec<String>, outcome: &str) {
    state
        .audit_event(
            caller.subject.clone(),
            action.to_string(),
            ids,
            outcome.to_string(),
            None,
        )
        .await;
}

/// Whether `caller` may write `record`: not above the token's marking, and not over a stored
/// record above it. The error names the field.
fn may_write(writer: &RecordWriter, record: &Record, max_marking: Marking) -> Result<()> {
    if record.marking() > max_marking {
        return Err(Error::field(
            "marking",
            format!(
                "{} is above what this token may write ({max_marking})",
                record.marking()
            ),
        ));
    }
    match writer.marking_of(record.kind(), record.id())? {
        Some(stored) if stored > max_marking => Err(Error::field(
            "id",
            format!(
                "`{}` belongs to a record this token may not replace",
                record.id()
            ),
        )),
        _ => Ok(()),
    }
}

/// A loader that checks references against the index and, with `max_marking`, refuses lines the
/// caller may not write.
fn loader(writer: &Arc<RecordWriter>, max_marking: Option<Marking>) -> Loader {
    let known = writer.clone();
    let guard = writer.clone();
    let mut loader = Loader::default();
    loader.known = Some(Box::new(move |kind, id| {
        matches!(known.marking_of(kind, id), Ok(Some(_)))
    }));
    loader.guard = max_marking.map(|max| {
        Box::new(move |record: &Record| may_write(&guard, record, max)) as Box<crate::ingest::Guard>
    });
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

/// Creates or replaces one record.
#[utoipa::path(put, path = "/v1/{kind}/{id}", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities"),
           ("id" = String, Path, description = "The record's id; the body's `id`, if given, must match")),
    request_body(content = Object, description = "One record in the ingest format of CONTRACT.md section 1"),
    responses((status = 201, description = "Created; committed to disk", body = WriteAnswer),
              (status = 200, description = "Replaced; committed to disk", body = WriteAnswer),
              (status = 400, description = "An invalid record, the field named", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor, or a marking above the token's", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn put_record(
    State(state): State<AppState>,
    matched: MatchedPath,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    let kind = kind_of(&matched);
    let action = format!("PUT /v1/{}/{id}", path_name(kind));
    let writer = writer_for(&state, &caller, &action).await?;
    let mut object = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(_) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "the body must be one JSON object",
            ));
        }
        Err(e) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid JSON: {e}"),
            ));
        }
    };
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
    let line = serde_json::to_string(&object).map_err(|e| Problem::from(Error::Json(e)))?;
    let state2 = state.clone();
    let wanted = id.clone();
    let outcome = blocking(move || {
        let mut loader = loader(&writer, None);
        let mut records = Vec::new();
        loader.load_jsonl_from(line.as_bytes(), "body", kind, &mut |r| {
            records.push(r);
            Ok(())
        })?;
        let Some(record) = records.pop() else {
            let reason = loader
                .report
                .rejections
                .first()
                .map(|r| (r.field.clone(), r.reason.clone()));
            let (field, reason) = reason.unwrap_or((None, "the body holds no record".into()));
            return Ok(Err(field_problem(
                StatusCode::BAD_REQUEST,
                field.as_deref(),
                &reason,
            )));
        };
        if let Err(Error::InvalidField { field, reason }) =
            may_write(&writer, &record, caller.max_marking)
        {
            return Ok(Err(field_problem(
                StatusCode::FORBIDDEN,
                Some(&field),
                &reason,
            )));
        }
        let existed = writer.marking_of(kind, &wanted)?.is_some();
        writer.apply(&[Change::Put(Box::new(record))])?;
        refresh_suggestions(&state2, kind)?;
        Ok(Ok((existed, loader.report)))
    })
    .await;
    let (existed, report) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(problem)) => {
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
        kind: path_name(kind).into(),
        id,
        outcome: outcome.into(),
        warnings: report.warnings.into_iter().map(|w| w.message).collect(),
    };
    Ok((status, Json(answer)).into_response())
}

/// Deletes one record.
#[utoipa::path(delete, path = "/v1/{kind}/{id}", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities"),
           ("id" = String, Path, description = "The record's id")),
    responses((status = 204, description = "Deleted; committed to disk"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "Missing, or not visible to the caller", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn delete_record(
    State(state): State<AppState>,
    matched: MatchedPath,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, Problem> {
    let kind = kind_of(&matched);
    let action = format!("DELETE /v1/{}/{id}", path_name(kind));
    let writer = writer_for(&state, &caller, &action).await?;
    let state2 = state.clone();
    let wanted = id.clone();
    let result = blocking(move || {
        match writer.marking_of(kind, &wanted)? {
            Some(marking) if marking <= caller.max_marking => {}
            _ => return Err(Error::NotFound),
        }
        writer.apply(&[Change::Delete(kind, wanted)])?;
        refresh_suggestions(&state2, kind)
    })
    .await;
    let outcome = match &result {
        Ok(()) => "ok: deleted".to_string(),
        Err(p) if p.status == 404 => "not found".to_string(),
        Err(_) => "failed".to_string(),
    };
    audit(&state, &caller, &action, vec![id], &outcome).await;
    result.map(|()| StatusCode::NO_CONTENT)
}

/// Loads many records of one kind from NDJSON in one commit.
#[utoipa::path(post, path = "/v1/{kind}/bulk", tag = "writes",
    params(("kind" = String, Path, description = "experts, case-studies or facilities"),
           ("strict" = Option<bool>, Query, description = "Write nothing if any line is rejected")),
    request_body(content = serde_json::Value, content_type = "application/x-ndjson", description = "One record a line, as in the ingest files (JSON Lines: not one JSON document, so any body is accepted and judged line by line)"),
    responses((status = 200, description = "Valid lines committed to disk in one batch; the rest reported by line", body = BulkAnswer),
              (status = 400, description = "A bad parameter or an empty body", body = Problem, content_type = "application/problem+json"),
              (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
              (status = 422, description = "strict=true and a line was rejected: nothing written", body = BulkAnswer)),
    security(("bearer" = [])))]
pub async fn bulk(
    State(state): State<AppState>,
    matched: MatchedPath,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, Problem> {
    let kind = kind_of(&matched);
    let action = format!("POST /v1/{}/bulk", path_name(kind));
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
    let (report, ids, committed) = blocking(move || {
        let mut loader = loader(&writer, Some(caller.max_marking));
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
        Ok((report, ids, committed))
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
        report,
    };
    Ok((status, Json(answer)).into_response())
}

/// Facility names are offered by typeahead: rebuild it when facilities change.
fn refresh_suggestions(state: &AppState, kind: Kind) -> Result<()> {
    if kind != Kind::Facility {
        return Ok(());
    }
    let fresh = crate::suggest::SuggestIndex::build(&state.index)?;
    if let Ok(mut current) = state.suggest.write() {
        *current = Arc::new(fresh);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::super::tests::{call, secured, send};
    use crate::access::AuditEntry;

    const NEW_MEMBER: &str = r#"{"name":"Nia Newcomer","department":"UKHSA","clearance":"SC","availability":"now","skills":[{"name":"Genomic surveillance","level":4}],"summary":"Pathogen genomics."}"#;

    fn json(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap()
    }

    fn ids(body: &str) -> Vec<String> {
        json(body)["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn audit(s: &super::super::tests::Secured) -> Vec<AuditEntry> {
        std::fs::read_to_string(&s.audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn an_editor_creates_replaces_and_deletes_and_searches_see_each_change_at_once() {
        let s = secured(None);
        let find = "/v1/experts?q=genomic%20surveillance";
        let (_, _, before) = call(&s.app, find, Some(&s.reader)).await;
        assert!(ids(&before).is_empty());

        let (status, _, body) = send(
            &s.app,
            Method::PUT,
            "/v1/experts/m-new",
            Some(&s.editor),
            NEW_MEMBER,
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(json(&body)["outcome"], "created");
        let (_, _, after) = call(&s.app, find, Some(&s.reader)).await;
        assert_eq!(ids(&after), vec!["m-new"]);

        let renamed = NEW_MEMBER.replace("Nia Newcomer", "Nia Newcomer-Smith");
        let (status, _, body) = send(
            &s.app,
            Method::PUT,
            "/v1/experts/m-new",
            Some(&s.editor),
            &renamed,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["outcome"], "replaced");
        let (_, _, one) = call(&s.app, "/v1/experts/m-new", Some(&s.reader)).await;
        assert_eq!(json(&one)["name"], "Nia Newcomer-Smith");
        let (_, _, after) = call(&s.app, find, Some(&s.reader)).await;
        assert_eq!(
            ids(&after),
            vec!["m-new"],
            "a replacement leaves one record"
        );

        let (status, _, _) = send(
            &s.app,
            Method::DELETE,
            "/v1/experts/m-new",
            Some(&s.editor),
            "",
        )
        .await;
        assert_eq!(status, 204);
        let (status, _, _) = call(&s.app, "/v1/experts/m-new", Some(&s.reader)).await;
        assert_eq!(status, 404);

        let outcomes: Vec<(String, String, Vec<String>)> = audit(&s)
            .into_iter()
            .map(|e| (e.subject, e.outcome, e.ids))
            .collect();
        let who = "editor@ukhsa".to_string();
        let id = vec!["m-new".to_string()];
        assert_eq!(
            outcomes,
            vec![
                (who.clone(), "ok: created".into(), id.clone()),
                (who.clone(), "ok: replaced".into(), id.clone()),
                (who, "ok: deleted".into(), id),
            ]
        );
        let log = std::fs::read_to_string(&s.audit).unwrap();
        assert!(
            !log.contains(s.editor.rsplit('_').next().unwrap()),
            "no token in the audit log"
        );
    }

    #[tokio::test]
    async fn a_reader_cannot_write_and_the_refusal_is_audited() {
        let s = secured(None);
        for (method, uri, body) in [
            (Method::PUT, "/v1/experts/m-new", NEW_MEMBER),
            (Method::DELETE, "/v1/experts/m-exp", ""),
            (Method::POST, "/v1/experts/bulk", NEW_MEMBER),
        ] {
            let (status, _, problem) = send(&s.app, method, uri, Some(&s.reader), body).await;
            assert_eq!(status, 403, "{uri}: {problem}");
        }
        let (status, _, _) = send(&s.app, Method::PUT, "/v1/experts/m-new", None, NEW_MEMBER).await;
        assert_eq!(status, 401);
        let (_, _, still) = call(&s.app, "/v1/experts/m-exp", Some(&s.reader)).await;
        assert_eq!(json(&still)["id"], "m-exp");
        let denied: Vec<String> = audit(&s).into_iter().map(|e| e.outcome).collect();
        assert_eq!(
            denied,
            vec![
                "denied: editor role required",
                "denied: editor role required",
                "denied: editor role required",
                "denied: no token"
            ]
        );
    }

    #[tokio::test]
    async fn an_invalid_record_is_a_400_naming_the_field_and_changes_nothing() {
        let s = secured(None);
        let cases = [
            (
                NEW_MEMBER.replace("\"level\":4", "\"level\":9"),
                "skills[0].level",
            ),
            (
                NEW_MEMBER.replace("\"UKHSA\"", "\"Ministry of Magic\""),
                "department",
            ),
            (NEW_MEMBER.replace("\"SC\"", "\"TOP\""), "clearance"),
            (
                r#"{"id":"m-other","name":"X","department":"Dstl"}"#.to_string(),
                "id",
            ),
            (r#"{"department":"Dstl"}"#.to_string(), "name"),
        ];
        for (body, field) in cases {
            let (status, headers, problem) = send(
                &s.app,
                Method::PUT,
                "/v1/experts/m-new",
                Some(&s.editor),
                &body,
            )
            .await;
            assert_eq!(status, 400, "{problem}");
            assert_eq!(headers["content-type"], "application/problem+json");
            assert_eq!(json(&problem)["parameter"], field, "{problem}");
        }
        let (status, _, problem) = send(
            &s.app,
            Method::PUT,
            "/v1/experts/m-new",
            Some(&s.editor),
            "{not json",
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        let (status, _, _) = call(&s.app, "/v1/experts/m-new", Some(&s.reader)).await;
        assert_eq!(status, 404, "nothing was written");
    }

    #[tokio::test]
    async fn an_editor_cannot_write_above_their_marking_nor_touch_a_record_they_cannot_see() {
        let s = secured(None);
        let sensitive = NEW_MEMBER.replace(
            "\"summary\"",
            "\"marking\":\"OFFICIAL-SENSITIVE\",\"summary\"",
        );
        let (status, _, problem) = send(
            &s.app,
            Method::PUT,
            "/v1/experts/m-new",
            Some(&s.editor),
            &sensitive,
        )
        .await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(json(&problem)["parameter"], "marking");
        let (status, _, problem) = send(
            &s.app,
            Method::PUT,
            "/v1/experts/m-secret",
            Some(&s.editor),
            NEW_MEMBER,
        )
        .await;
        assert_eq!(status, 403, "{problem}");
        let (status, _, hidden) = send(
            &s.app,
            Method::DELETE,
            "/v1/experts/m-secret",
            Some(&s.editor),
            "",
        )
        .await;
        let (missing_status, _, missing) = send(
            &s.app,
            Method::DELETE,
            "/v1/experts/m-nobody",
            Some(&s.editor),
            "",
        )
        .await;
        assert_eq!(
            (status, missing_status),
            (404.try_into().unwrap(), 404.try_into().unwrap())
        );
        assert_eq!(
            hidden, missing,
            "deleting a hidden record looks like deleting a missing one"
        );
        let (_, _, body) = call(&s.app, "/v1/experts/m-secret", Some(&s.sensitive_reader)).await;
        assert_eq!(json(&body)["name"], "Sam Sensitive", "untouched");
    }

    /// Found by schemathesis: `strict=` (empty) was taken as false although the schema says
    /// boolean.
    #[tokio::test]
    async fn bulk_strict_must_be_true_or_false() {
        let s = secured(None);
        let line = r#"{"id":"m-s1","name":"Sam Strict","department":"Met Office"}"#;
        for bad in ["", "yes", "1"] {
            let url = format!("/v1/experts/bulk?strict={bad}");
            let (status, _, body) = send(&s.app, Method::POST, &url, Some(&s.editor), line).await;
            assert_eq!(status, 400, "strict={bad}: {body}");
            assert!(body.contains("`strict`"), "{body}");
        }
        let (_, _, found) = call(&s.app, "/v1/experts/m-s1", Some(&s.reader)).await;
        assert!(
            !found.contains("Sam Strict"),
            "nothing written by a refused request"
        );
    }

    #[tokio::test]
    async fn bulk_writes_valid_lines_in_one_commit_and_reports_bad_lines_by_number() {
        let s = secured(None);
        let lines = [
            r#"{"id":"m-b1","name":"Bo One","department":"Met Office","skills":[{"name":"Numerical weather prediction","level":3}]}"#,
            r#"{"id":"m-b2","name":"Bad Level","department":"Met Office","skills":[{"name":"Numerical weather prediction","level":"guru"}]}"#,
            "",
            r#"{"id":"m-b3","name":"Bo Three","department":"Met Office","skills":[{"name":"Numerical weather prediction","level":4}],"shoe_size":9}"#,
        ]
        .join("\n");
        let (status, _, body) = send(
            &s.app,
            Method::POST,
            "/v1/experts/bulk?strict=true",
            Some(&s.editor),
            &lines,
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(json(&body)["committed"], false);
        let (_, _, found) = call(&s.app, "/v1/experts?skill=NWP", Some(&s.reader)).await;
        assert!(ids(&found).is_empty(), "strict wrote nothing");

        let (status, _, body) = send(
            &s.app,
            Method::POST,
            "/v1/experts/bulk",
            Some(&s.editor),
            &lines,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let answer = json(&body);
        assert_eq!(
            (answer["indexed"].as_u64(), answer["rejected"].as_u64()),
            (Some(2), Some(1))
        );
        let rejection = &answer["report"]["rejections"][0];
        assert_eq!(
            (rejection["line"].as_u64(), rejection["field"].as_str()),
            (Some(2), Some("skills[0].level"))
        );
        assert!(
            body.contains("shoe_size"),
            "unknown fields are warned about"
        );
        let (_, _, found) = call(&s.app, "/v1/experts?skill=NWP", Some(&s.reader)).await;
        assert_eq!(ids(&found), vec!["m-b3", "m-b1"], "the expert first");

        let (status, _, problem) = send(
            &s.app,
            Method::POST,
            "/v1/experts/bulk",
            Some(&s.editor),
            "\n\n",
        )
        .await;
        assert_eq!(status, 400, "{problem}");
    }

    #[tokio::test]
    async fn a_replaced_record_counts_nowhere_while_its_old_version_stays_in_a_segment() {
        let s = secured(None);
        // one commit: both records in one segment, which the replacement below leaves holding
        // the old version of m-r1 (deleted, not yet merged away) beside the live m-r2
        let lines = [
            r#"{"id":"m-r1","name":"Rae One","department":"Met Office","location":{"town":"Exeter","region":"South West","lat":50.72,"lon":-3.53},"skills":[{"name":"Numerical weather prediction","level":3}]}"#,
            r#"{"id":"m-r2","name":"Rae Two","department":"Met Office","skills":[{"name":"Numerical weather prediction","level":2}]}"#,
        ]
        .join("\n");
        let (status, _, body) = send(
            &s.app,
            Method::POST,
            "/v1/experts/bulk",
            Some(&s.editor),
            &lines,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (_, _, found) = call(&s.app, "/v1/experts?skill=NWP", Some(&s.reader)).await;
        assert_eq!(json(&found)["facets"]["region"]["South West"], 1, "{found}");
        let moved = r#"{"id":"m-r1","name":"Rae One","department":"UKHSA","skills":[{"name":"Numerical weather prediction","level":4}]}"#;
        let (status, _, body) = send(
            &s.app,
            Method::PUT,
            "/v1/experts/m-r1",
            Some(&s.editor),
            moved,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // filtered on a department, so that the department facet is counted by the collector
        // (the records failing only that filter count there), as well as unfiltered
        for (url, shown) in [
            ("/v1/experts?skill=NWP", vec!["m-r1", "m-r2"]),
            (
                "/v1/experts?skill=NWP&department=Met%20Office",
                vec!["m-r2"],
            ),
        ] {
            let (_, _, body) = call(&s.app, url, Some(&s.reader)).await;
            assert_eq!(ids(&body), shown, "{url}: the new version, once");
            let found = json(&body);
            assert_eq!(found["total"], shown.len(), "{url}");
            let departments = &found["facets"]["department"];
            assert_eq!(departments["UKHSA"], 1, "{url}: {departments}");
            assert_eq!(departments["Met Office"], 1, "{url}: {departments}");
            assert!(
                found["facets"]["region"].get("South West").is_none(),
                "{url}: the old version's region is counted: {}",
                found["facets"]["region"]
            );
        }
    }

    #[tokio::test]
    async fn bulk_lines_above_the_token_marking_are_rejected_alone() {
        let s = secured(None);
        let lines = [
            r#"{"id":"cs-new","title":"Open work","authors":["m-pra","m-ghost"]}"#,
            r#"{"id":"cs-hush","title":"Hushed work","marking":"OFFICIAL-SENSITIVE"}"#,
            r#"{"id":"cs-3","title":"Overwrite a hidden one"}"#,
        ]
        .join("\n");
        let (status, _, body) = send(
            &s.app,
            Method::POST,
            "/v1/case-studies/bulk",
            Some(&s.editor),
            &lines,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let answer = json(&body);
        let fields: Vec<(u64, &str)> = answer["report"]["rejections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["line"].as_u64().unwrap(), r["field"].as_str().unwrap()))
            .collect();
        assert_eq!(fields, vec![(2, "marking"), (3, "id")]);
        assert!(
            body.contains("`m-ghost` is not in the members file"),
            "{body}"
        );
        let (_, _, one) = call(&s.app, "/v1/case-studies/cs-new", Some(&s.reader)).await;
        assert_eq!(
            json(&one)["authors"],
            serde_json::json!(["m-pra"]),
            "known author kept, unknown one left out"
        );
        let (_, _, hidden) = call(&s.app, "/v1/case-studies/cs-3", Some(&s.sensitive_reader)).await;
        assert_eq!(json(&hidden)["title"], "Classified dispersion work");
    }

    #[test]
    fn a_search_sees_all_of_a_batch_or_none_of_it() {
        let s = secured(None);
        let writer = s.state.writer.clone().unwrap();
        let index = s.state.index.clone();
        let batch: Vec<crate::index::Change> = (0..400)
            .map(|i| {
                let line = format!(
                    r#"{{"id":"m-batch-{i}","name":"Batch {i}","department":"Dstl","summary":"zebrafish toxicology"}}"#
                );
                let record = crate::ingest::parse_json_line(crate::model::Kind::Member, &line)
                    .unwrap()
                    .record;
                crate::index::Change::Put(Box::new(record))
            })
            .collect();
        let done = std::sync::atomic::AtomicBool::new(false);
        let seen = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut seen = std::collections::BTreeSet::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let mut request = crate::search::SearchRequest::new(
                        crate::model::Kind::Member,
                        crate::model::Marking::Official,
                        super::super::api::today(),
                    );
                    request.text = Some("zebrafish".into());
                    seen.insert(crate::search::search(&index, &request).unwrap().total);
                }
                seen
            });
            // let the reader look at the empty state, then write the batch (and rewrite it)
            std::thread::sleep(std::time::Duration::from_millis(50));
            for _ in 0..3 {
                writer.apply(&batch).unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            reader.join().unwrap()
        });
        assert_eq!(
            seen,
            [0, 400].into_iter().collect(),
            "searches saw the empty state, then the whole batch, and nothing in between"
        );
    }
}
