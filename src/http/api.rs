//! The JSON API of `CONTRACT.md` section 2: search, get by id, and RFC 9457 problem responses.
//!
//! Raw query pairs become [`SearchParams`] and then a validated [`SearchRequest`] by
//! [`SearchParams::request`], the check the CLI, web pages and benchmarks use too; only that
//! reaches the search core, which runs on the blocking pool.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::write::{bulk, create_record, delete_record, put_record};
use crate::access::Caller;
use crate::model::Kind;
use crate::search::{self, SearchParams, SearchRequest, SearchResponse, parse_search, query_pairs};
use crate::{Error, FieldFault, Result};

/// The JSON routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/experts", get(experts).post(create_record))
        .route("/v1/case-studies", get(case_studies).post(create_record))
        .route("/v1/facilities", get(facilities).post(create_record))
        .route("/v1/search", get(search_all))
        .route(
            "/v1/experts/{id}",
            get(expert).put(put_record).delete(delete_record),
        )
        .route(
            "/v1/case-studies/{id}",
            get(case_study).put(put_record).delete(delete_record),
        )
        .route(
            "/v1/facilities/{id}",
            get(facility).put(put_record).delete(delete_record),
        )
        .route("/v1/experts/bulk", post(bulk))
        .route("/v1/case-studies/bulk", post(bulk))
        .route("/v1/facilities/bulk", post(bulk))
        .route("/v1/skills", get(skills))
        .route("/v1/suggest", get(suggest))
        .route("/v1/concepts", get(concepts))
        .route("/v1/audit", get(audit))
        .route("/v1/muster", post(muster))
}

/// An RFC 9457 problem: what went wrong, naming the parameter at fault.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI identifying the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What was wrong, naming the parameter.
    pub detail: String,
    /// The parameter or field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Every field at fault, when a record has more than one (the first is `parameter`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldFault>,
}

impl Problem {
    /// A problem with `status`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        let title = status.canonical_reason().unwrap_or("Error");
        let slug = title.to_lowercase().replace(' ', "-");
        Problem {
            kind: format!("https://muster.invalid/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            parameter: None,
            errors: Vec::new(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Json(self),
        )
            .into_response()
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Problem {
        match error {
            Error::InvalidField { field, reason } => {
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("parameter `{field}`: {reason}"),
                );
                p.parameter = Some(field);
                p
            }
            Error::InvalidFields(faults) => {
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "{} fields are invalid: {}",
                        faults.len(),
                        faults
                            .iter()
                            .map(|f| format!("`{}`: {}", f.field, f.reason))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                );
                p.parameter = faults.first().map(|f| f.field.clone());
                p.errors = faults;
                p
            }
            Error::NotPermitted { field, reason } => {
                let mut p = Problem::new(
                    StatusCode::FORBIDDEN,
                    format!("parameter `{field}`: {reason}"),
                );
                p.parameter = Some(field);
                p
            }
            Error::InvalidRecord(reason) => Problem::new(StatusCode::BAD_REQUEST, reason),
            Error::NotFound => Problem::new(StatusCode::NOT_FOUND, "no such record"),
            other => {
                tracing::error!(error = %other, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; it has been logged",
                )
            }
        }
    }
}

/// The skills tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkillsAnswer {
    /// Disciplines (and ESCO and free-text skills held by visible members), with member counts.
    pub skills: Vec<crate::suggest::SkillNode>,
    /// Attribution required by ESCO's licence.
    pub attribution: String,
}

/// The skills taxonomy with how many visible members hold each skill (or a narrower one).
#[utoipa::path(get, path = "/v1/skills", tag = "taxonomy",
    responses((status = 200, description = "The tree", body = SkillsAnswer)))]
pub async fn skills(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SkillsAnswer>, Problem> {
    if let Some((key, _)) = query_pairs(raw.as_deref()).first() {
        return Err(Error::field(key, "unknown parameter (this endpoint takes none)").into());
    }
    let index = state.index.clone();
    let tree = tokio::task::spawn_blocking(move || {
        crate::suggest::skills_tree(&index, caller.max_marking)
    })
    .await
    .map_err(|e| Problem::from(Error::Io(std::io::Error::other(e))))??;
    Ok(Json(SkillsAnswer {
        skills: tree,
        attribution: "This service uses the ESCO classification of the European Commission.".into(),
    }))
}

/// Typeahead suggestions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestAnswer {
    /// Best first.
    pub suggestions: Vec<crate::suggest::Suggestion>,
}

/// Assembles an emergency team: every needed skill covered where possible, within the hard
/// constraints, with alternatives for what cannot be covered. `?format=csv` (or
/// `Accept: text/csv`) answers with a contact sheet instead.
#[utoipa::path(post, path = "/v1/muster", tag = "search",
    request_body = crate::muster::MusterBody,
    params(("format" = Option<String>, Query, description = "`json` (default) or `csv`")),
    responses((status = 200, description = "The team", body = crate::muster::MusterAnswer),
              (status = 400, description = "A bad field, named", body = Problem, content_type = "application/problem+json")))]
pub async fn muster(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let mut csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    for (key, value) in query_pairs(raw.as_deref()) {
        match (key.as_str(), value.as_str()) {
            ("format", "csv") => csv = true,
            ("format", "json") => csv = false,
            ("format", _) => return Err(Error::field("format", "must be `json` or `csv`").into()),
            (other, _) => {
                return Err(Error::field(other, "unknown parameter (accepted: format)").into());
            }
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::field("body", "a JSON object describing the need is required").into());
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(&body);
    let parsed: crate::muster::MusterBody = serde_path_to_error::deserialize(deserializer)
        .map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." || path.is_empty() {
                "body".to_string()
            } else {
                path
            };
            Error::field(&field, e.into_inner().to_string())
        })?;
    let index = state.index.clone();
    let (max_marking, vetting) = (caller.max_marking, caller.vetting);
    let answer = tokio::task::spawn_blocking(move || {
        let request =
            crate::muster::MusterRequest::from_body(parsed, &index, max_marking, today())?
                .permitted(vetting)?;
        crate::muster::muster(&index, &request)
    })
    .await
    .map_err(|e| Problem::from(Error::Io(std::io::Error::other(e))))??;
    state
        .audit_read(&caller, Some(&body), answer.ids(), "ok")
        .await;
    if csv {
        let sheet = crate::muster::to_csv(&answer, today())?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"muster-team.csv\"",
                ),
            ],
            sheet,
        )
            .into_response());
    }
    Ok(Json(answer).into_response())
}

/// `GET /v1/audit` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditAnswer {
    /// Newest first.
    pub entries: Vec<crate::audit::AuditEntry>,
}

/// The newest entries of the audit log (admin role): every write and every refused request.
#[utoipa::path(get, path = "/v1/audit", tag = "operations",
    params(("limit" = Option<u32>, Query, description = "1-1000, default 100")),
    responses((status = 200, description = "Newest first", body = AuditAnswer),
              (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No audit log (demo mode)", body = Problem, content_type = "application/problem+json")))]
pub async fn audit(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<AuditAnswer>, Problem> {
    let mut limit = 100usize;
    for (key, value) in query_pairs(raw.as_deref()) {
        match key.as_str() {
            "limit" => {
                limit = match value.parse::<usize>() {
                    Ok(n) if (1..=1000).contains(&n) => n,
                    _ => {
                        return Err(
                            Error::field("limit", "must be a whole number from 1 to 1000").into(),
                        );
                    }
                }
            }
            other => return Err(Error::field(other, "unknown parameter (accepted: limit)").into()),
        }
    }
    let Some(log) = state.audit.clone() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "there is no audit log: the server runs in demo mode without tokens",
        ));
    };
    let marking = caller.max_marking;
    let entries = tokio::task::spawn_blocking(move || log.tail(limit, marking))
        .await
        .map_err(|e| Problem::from(Error::Io(std::io::Error::other(e))))??;
    Ok(Json(AuditAnswer { entries }))
}

/// Typeahead over skill labels and synonyms, departments, establishments and facility names.
#[utoipa::path(get, path = "/v1/suggest", tag = "taxonomy",
    params(("q" = String, Query, description = "What the user has typed so far (1-100 characters)"),
           ("limit" = Option<u32>, Query, description = "1-20, default 8")),
    responses((status = 200, description = "Suggestions", body = SuggestAnswer),
              (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn suggest(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SuggestAnswer>, Problem> {
    let (q, limit) = q_and_limit(raw.as_deref(), 100, 20, 8)?;
    Ok(Json(SuggestAnswer {
        suggestions: state.suggestions().suggest(&q, caller.max_marking, limit),
    }))
}

/// One concept a phrase may mean.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConceptAnswer {
    /// Taxonomy id: use it as `skill=`.
    pub id: String,
    /// Preferred label.
    pub label: String,
    /// Labels from the root down to it.
    pub path: Vec<String>,
    /// The ESCO concept it is, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub esco_uri: Option<String>,
    /// `gse` (the GSE framework) or `esco`.
    pub source: &'static str,
    /// How the phrase matched it: `exact` (one of its names), `list`, `contained` (its name is
    /// most of the phrase), `typo`, or `ranked` (words in common, best first).
    #[serde(rename = "match")]
    pub how: crate::taxonomy::matcher::How,
    /// The name that matched best.
    pub matched_name: String,
    /// Ranking score (BM25 of the best name; higher is better; 0 for a name found only as written).
    pub score: f32,
}

/// The concepts a phrase may mean.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConceptsAnswer {
    /// Best first: what the phrase names, then by the words it shares with each concept's names.
    pub concepts: Vec<ConceptAnswer>,
}

/// Ranks the skills taxonomy's concepts (the GSE framework's and ESCO's) for a phrase: the matcher
/// Muster uses for skills, capabilities, queries and needs, for other tools to link their own text.
#[utoipa::path(get, path = "/v1/concepts", tag = "taxonomy",
    params(("q" = String, Query, description = "A skill or capability as written (1-200 characters)"),
           ("limit" = Option<u32>, Query, description = "1-50, default 10")),
    responses((status = 200, description = "Concepts, best first", body = ConceptsAnswer),
              (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn concepts(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ConceptsAnswer>, Problem> {
    let (q, limit) = q_and_limit(raw.as_deref(), 200, 50, 10)?;
    let taxonomy = state.index.taxonomy.clone();
    let concepts = tokio::task::spawn_blocking(move || {
        taxonomy
            .rank(&q, limit)
            .into_iter()
            .map(|m| {
                let node = taxonomy.node(m.node);
                ConceptAnswer {
                    id: node.id.clone(),
                    label: node.label.clone(),
                    path: taxonomy
                        .path(m.node)
                        .into_iter()
                        .map(String::from)
                        .collect(),
                    esco_uri: node.esco_uri().map(String::from),
                    source: if node.is_framework() { "gse" } else { "esco" },
                    how: m.how,
                    matched_name: m.name,
                    score: (m.score * 1000.0).round() / 1000.0,
                }
            })
            .collect()
    })
    .await
    .map_err(|e| Problem::from(Error::Io(std::io::Error::other(e))))?;
    Ok(Json(ConceptsAnswer { concepts }))
}

/// The `q` (1 to `max_chars` characters, required) and `limit` (1 to `max_limit`, default
/// `default_limit`) of a lookup such as typeahead, and nothing else.
fn q_and_limit(
    raw: Option<&str>,
    max_chars: usize,
    max_limit: usize,
    default_limit: usize,
) -> Result<(String, usize)> {
    let mut q: Option<String> = None;
    let mut limit = default_limit;
    for (key, value) in query_pairs(raw) {
        match key.as_str() {
            "q" if q.is_none() => q = Some(value),
            "q" => return Err(Error::field("q", "given more than once")),
            "limit" => {
                limit = match value.parse::<usize>() {
                    Ok(n) if (1..=max_limit).contains(&n) => n,
                    _ => {
                        return Err(Error::field(
                            "limit",
                            format!("must be a whole number from 1 to {max_limit}"),
                        ));
                    }
                }
            }
            other => {
                return Err(Error::field(
                    other,
                    "unknown parameter (accepted: q, limit)",
                ));
            }
        }
    }
    let q = q.ok_or_else(|| Error::field("q", "is required"))?;
    let q = q.trim().to_string();
    if q.is_empty() || q.chars().count() > max_chars {
        return Err(Error::field(
            "q",
            format!("must be 1 to {max_chars} characters"),
        ));
    }
    Ok((q, limit))
}

/// Unmatched paths.
pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no such endpoint; see /openapi.json")
}

pub use crate::search::today;

async fn run_search(state: &AppState, request: SearchRequest) -> Result<SearchResponse, Problem> {
    let index = state.index.clone();
    tokio::task::spawn_blocking(move || search::search(&index, &request))
        .await
        .map_err(|e| Problem::from(Error::Io(std::io::Error::other(e))))?
        .map_err(Problem::from)
}

async fn search_kind(
    state: AppState,
    kind: Kind,
    raw: Option<String>,
    caller: Caller,
) -> Result<Json<SearchResponse>, Problem> {
    let request = parse_search(Some(kind), &query_pairs(raw.as_deref()), &caller, today())?;
    let response = run_search(&state, request).await?;
    state
        .audit_read(&caller, None, hit_ids([&response]), "ok")
        .await;
    Ok(Json(response))
}

/// The ids of the hits of some answers, for the audit log.
fn hit_ids<'a>(responses: impl IntoIterator<Item = &'a SearchResponse>) -> Vec<String> {
    responses
        .into_iter()
        .flat_map(|r| r.hits.iter().map(|h| h.id.clone()))
        .collect()
}

/// Ranked people.
#[utoipa::path(get, path = "/v1/experts", tag = "search", params(search::ExpertParams),
    responses((status = 200, description = "Ranked experts", body = SearchResponse),
              (status = 400, description = "A bad parameter, named in `detail`", body = Problem, content_type = "application/problem+json")))]
pub async fn experts(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SearchResponse>, Problem> {
    search_kind(state, Kind::Member, raw, caller).await
}

/// Ranked case studies.
#[utoipa::path(get, path = "/v1/case-studies", tag = "search", params(search::CaseStudyParams),
    responses((status = 200, description = "Ranked case studies", body = SearchResponse),
              (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn case_studies(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SearchResponse>, Problem> {
    search_kind(state, Kind::CaseStudy, raw, caller).await
}

/// Ranked facilities.
#[utoipa::path(get, path = "/v1/facilities", tag = "search", params(search::FacilityParams),
    responses((status = 200, description = "Ranked facilities", body = SearchResponse),
              (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn facilities(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SearchResponse>, Problem> {
    search_kind(state, Kind::Facility, raw, caller).await
}

/// The answer of `/v1/search`: each kind ranked on its own.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAll {
    /// People.
    pub experts: SearchResponse,
    /// Case studies.
    pub case_studies: SearchResponse,
    /// Facilities.
    pub facilities: SearchResponse,
}

/// All three kinds in one answer. Filters that do not apply to a kind are not applied to it.
#[utoipa::path(get, path = "/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, description = "Experts, case studies and facilities", body = SearchAll),
              (status = 400, description = "A bad parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn search_all(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Extension(caller): Extension<Caller>,
) -> Result<Json<SearchAll>, Problem> {
    let params = SearchParams::from_pairs(None, &query_pairs(raw.as_deref()))?;
    let experts = params.request(None, &caller, today())?;
    // the facets asked for are checked against every kind; each kind counts those it has
    let for_kind = |kind: Kind| {
        let mut own = params.only(kind);
        own.facets.clear();
        let mut request = own.request(Some(kind), &caller, today())?;
        request.facets = experts.facets.clone();
        Ok::<_, Error>(request)
    };
    let case_studies = for_kind(Kind::CaseStudy)?;
    let facilities = for_kind(Kind::Facility)?;
    let (a, b, c) = tokio::join!(
        run_search(&state, experts),
        run_search(&state, case_studies),
        run_search(&state, facilities)
    );
    let answer = SearchAll {
        experts: a?,
        case_studies: b?,
        facilities: c?,
    };
    let ids = hit_ids([&answer.experts, &answer.case_studies, &answer.facilities]);
    state.audit_read(&caller, None, ids, "ok").await;
    Ok(Json(answer))
}

async fn get_record(
    state: AppState,
    kind: Kind,
    id: String,
    caller: Caller,
) -> Result<Json<serde_json::Value>, Problem> {
    if crate::ingest::validate_id(&id, "id").is_err() {
        // an id that cannot exist is simply not found (same answer as a hidden record)
        return Err(Problem::from(Error::NotFound));
    }
    Ok(Json(state.open_record(&caller, kind, id).await?.to_json()))
}

/// One member, with the case studies they wrote that the caller may see.
#[utoipa::path(get, path = "/v1/experts/{id}", tag = "records", params(("id" = String, Path, description = "Member id")),
    responses((status = 200, description = "The member", body = crate::model::Member),
              (status = 404, description = "Missing, or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
pub async fn expert(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, Problem> {
    get_record(state, Kind::Member, id, caller).await
}

/// One case study (authors the caller may not see are left out).
#[utoipa::path(get, path = "/v1/case-studies/{id}", tag = "records", params(("id" = String, Path, description = "Case study id")),
    responses((status = 200, description = "The case study", body = crate::model::CaseStudy),
              (status = 404, description = "Missing, or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
pub async fn case_study(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, Problem> {
    get_record(state, Kind::CaseStudy, id, caller).await
}

/// One facility (contacts the caller may not see are left out).
#[utoipa::path(get, path = "/v1/facilities/{id}", tag = "records", params(("id" = String, Path, description = "Facility id")),
    responses((status = 200, description = "The facility", body = crate::model::Facility),
              (status = 404, description = "Missing, or not visible to the caller", body = Problem, content_type = "application/problem+json")))]
pub async fn facility(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, Problem> {
    get_record(state, Kind::Facility, id, caller).await
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
