use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn raw_get(address: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn serves_real_http_on_loopback_and_shuts_down_gracefully() {
    let state = AppState::new(crate::search::tests::small_index(), HttpConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        router(state),
        serve::ConnectionLimits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let response = raw_get(address, "/v1/experts?skill=Bayesian%20statistics&limit=1").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"id\":\"m-exp\""), "{response}");
    assert!(
        response.to_lowercase().contains("x-request-id:"),
        "{response}"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "the listener is closed after shutdown"
    );
}

use crate::access::{KeyFile, create_key};
use crate::model::Marking;
use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A server with API keys over an index on disk (so it can be written to).
pub(crate) struct Secured {
    pub(crate) app: Router,
    pub(crate) state: AppState,
    /// An OFFICIAL reader with the vetting permission, as are the other keys but `unvetted`.
    pub(crate) reader: String,
    /// An OFFICIAL reader without the vetting permission: no one's clearance.
    pub(crate) unvetted: String,
    pub(crate) sensitive_reader: String,
    pub(crate) editor: String,
    /// An editor who may see (and so write) every marking.
    pub(crate) sensitive_editor: String,
    pub(crate) admin: String,
    /// An admin who may read OFFICIAL only.
    pub(crate) official_admin: String,
    pub(crate) audit: std::path::PathBuf,
    /// Keeps the index directory alive for the test.
    _dir: tempfile::TempDir,
}

/// One hidden facility on top of the search module's small records.
const SECRET_FACILITY: &str = r#"{"id":"f-secret","name":"Quiet Harbour blast chamber","department":"Dstl","capabilities":["energetics"],"marking":"OFFICIAL-SENSITIVE","location":{"town":"Fort Halstead","region":"South East","lat":51.32,"lon":0.14}}"#;

/// Writes records as the data files `muster index` reads.
pub(crate) fn write_data(dir: &std::path::Path, records: &[crate::model::Record]) {
    use crate::model::Kind;
    for (kind, file) in [
        (Kind::Member, "members.jsonl"),
        (Kind::CaseStudy, "case_studies.jsonl"),
        (Kind::Facility, "facilities.jsonl"),
    ] {
        let lines: Vec<String> = records
            .iter()
            .filter(|r| r.kind() == kind)
            .map(|r| r.to_json().to_string())
            .collect();
        std::fs::write(dir.join(file), lines.join("\n") + "\n").unwrap();
    }
}

pub(crate) fn secured(rate_limit: Option<f64>) -> Secured {
    let mut records = crate::search::tests::small_records();
    records.push(
        crate::ingest::parse_json_line(crate::model::Kind::Facility, SECRET_FACILITY)
            .unwrap()
            .record,
    );
    secured_with(&records, rate_limit)
}

pub(crate) fn secured_with(records: &[crate::model::Record], rate_limit: Option<f64>) -> Secured {
    let (reader, r) = create_key("reader@dstl", Role::Reader, Marking::Official);
    let (sensitive_reader, s) =
        create_key("os-reader@dstl", Role::Reader, Marking::OfficialSensitive);
    let (editor, e) = create_key("editor@ukhsa", Role::Editor, Marking::Official);
    let (sensitive_editor, se) =
        create_key("os-editor@dstl", Role::Editor, Marking::OfficialSensitive);
    let (admin, a) = create_key("ops@muster", Role::Admin, Marking::OfficialSensitive);
    let (official_admin, oa) = create_key("ops@dept", Role::Admin, Marking::Official);
    let (unvetted, u) = create_key("policy@dhsc", Role::Reader, Marking::Official);
    let vetted = |mut key: crate::access::StoredKey| {
        key.vetting = true;
        key
    };
    let keys = [r, s, e, se, a, oa].map(vetted);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_data(&data, records);
    let index_dir = dir.path().join("index");
    let lock = crate::index::IndexLock::acquire(&index_dir).unwrap();
    let options = crate::index::BuildOptions::default();
    let taxonomy = crate::taxonomy::Taxonomy::builtin();
    crate::index::build_locked(&data, &lock, taxonomy.clone(), &options).unwrap();
    let index = crate::index::open(&index_dir, taxonomy).unwrap();
    let store = std::sync::Arc::new(crate::store::Store::open_in(&index_dir).unwrap());
    let writer = Arc::new(RecordWriter::open(&index, lock, store).unwrap());
    let audit = dir.path().join("audit.jsonl");
    let config = HttpConfig {
        rate_limit,
        ..HttpConfig::default()
    };
    let state = AppState::new(index, config).unwrap().with_auth(
        Authenticator::new(
            KeyFile {
                keys: keys.into_iter().chain([u]).collect(),
            },
            None,
        ),
        Some(Arc::new(AuditLog::open(&audit).unwrap())),
        Some(writer),
    );
    Secured {
        app: router(state.clone()),
        state,
        reader,
        unvetted,
        sensitive_reader,
        editor,
        sensitive_editor,
        admin,
        official_admin,
        audit,
        _dir: dir,
    }
}

pub(crate) async fn call(
    app: &Router,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    send(app, Method::GET, uri, token, "").await
}

pub(crate) async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    respond(app, builder.body(Body::from(body.to_string())).unwrap()).await
}

/// Runs one request through the app: status, headers and body text.
pub(crate) async fn respond(
    app: &Router,
    request: Request,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn missing_and_bad_tokens_get_the_same_401() {
    let s = secured(None);
    let (status, headers, missing) = call(&s.app, "/v1/experts", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers.get("www-authenticate").unwrap(), "Bearer");
    let (status, _, bad) = call(&s.app, "/v1/experts", Some("mst_0000_ffff")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, garbage) = call(&s.app, "/v1/experts", Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing, bad);
    assert_eq!(bad, garbage);
    let (status, _, _) = call(&s.app, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "health checks need no token");
}

#[tokio::test]
async fn a_reader_sees_only_records_at_or_below_their_marking() {
    let s = secured(None);
    let (status, _, _) = call(&s.app, "/v1/experts/m-secret", Some(&s.reader)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = call(&s.app, "/v1/experts/m-secret", Some(&s.sensitive_reader)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, official) = call(
        &s.app,
        "/v1/experts?skill=Bayesian%20statistics",
        Some(&s.reader),
    )
    .await;
    let (_, _, sensitive) = call(
        &s.app,
        "/v1/experts?skill=Bayesian%20statistics",
        Some(&s.sensitive_reader),
    )
    .await;
    let total = |body: &str| {
        serde_json::from_str::<serde_json::Value>(body).unwrap()["total"]
            .as_u64()
            .unwrap()
    };
    assert_eq!((total(&official), total(&sensitive)), (4, 5));
    assert!(!official.contains("m-secret") && sensitive.contains("m-secret"));
}

/// A response with what legitimately varies between two indexes removed: timings, and
/// scores (BM25 statistics are per index).
fn comparable(body: &str) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("took_ms");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    strip(&mut value);
    value
}

#[tokio::test]
async fn a_hidden_record_is_indistinguishable_from_one_that_does_not_exist_on_every_endpoint() {
    let full = secured(None);
    let visible: Vec<crate::model::Record> = crate::search::tests::small_records()
        .into_iter()
        .filter(|r| r.marking() == Marking::Official)
        .collect();
    let without = secured_with(&visible, None);
    let uris = [
        "/v1/experts?skill=Bayesian%20statistics",
        "/v1/experts?q=bayesian%20modelling&explain=true",
        "/v1/experts?q=dispersion",
        "/v1/experts?department=MOD&clearance=SC",
        "/v1/experts/m-author",
        "/v1/experts/m-secret",
        "/v1/case-studies?q=dispersion",
        "/v1/case-studies/cs-2",
        "/v1/case-studies/cs-3",
        "/v1/facilities?q=energetics%20blast",
        "/v1/facilities?near=51.3,0.1&within_km=300",
        "/v1/facilities/f-secret",
        "/v1/search?q=dispersion%20modelling",
        "/v1/suggest?q=quiet",
        "/v1/suggest?q=bay",
        "/v1/skills",
    ];
    let mut same_for_sensitive_reader = Vec::new();
    for uri in uris {
        let (status, _, body) = call(&full.app, uri, Some(&full.reader)).await;
        let (expected_status, _, expected) = call(&without.app, uri, Some(&without.reader)).await;
        assert_eq!(status, expected_status, "{uri}");
        assert_eq!(comparable(&body), comparable(&expected), "{uri}");
        let (_, _, sensitive) = call(&full.app, uri, Some(&full.sensitive_reader)).await;
        if comparable(&sensitive) == comparable(&body) {
            same_for_sensitive_reader.push(uri);
        }
    }
    let musters = [
        r#"{"skills": [{"skill": "bayesian statistics", "min_level": 4}], "team_size": 3}"#,
        r#"{"skills": [{"skill": "bayesian statistics", "min_level": 4}], "clearance": "DV"}"#,
        r#"{"skills": [{"skill": "energetics"}], "facility_capabilities": ["energetics"],
            "near": {"lat": 51.3, "lon": 0.1}, "within_km": 300}"#,
        r#"{"need": "bayesian modelling for a classified programme"}"#,
    ];
    for body in musters {
        let post = |app: Router, token: String| async move {
            send(&app, Method::POST, "/v1/muster", Some(&token), body).await
        };
        let (status, _, answer) = post(full.app.clone(), full.reader.clone()).await;
        let (expected_status, _, expected) =
            post(without.app.clone(), without.reader.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {answer}");
        assert_eq!(status, expected_status, "{body}");
        assert_eq!(comparable(&answer), comparable(&expected), "{body}");
        let (_, _, sensitive) = post(full.app.clone(), full.sensitive_reader.clone()).await;
        if comparable(&sensitive) == comparable(&answer) {
            same_for_sensitive_reader.push(body);
        }
    }
    // and a reader allowed OFFICIAL-SENSITIVE does see them, wherever they would show
    assert_eq!(
        same_for_sensitive_reader,
        vec!["/v1/experts/m-author", "/v1/suggest?q=bay"],
        "only answers no hidden record touches are the same for both readers"
    );
}

#[tokio::test]
async fn metrics_need_the_admin_role_and_denials_are_audited_without_tokens() {
    let s = secured(None);
    let (status, _, _) = call(&s.app, "/metrics", Some(&s.reader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(&s.app, "/metrics", Some(&s.admin)).await;
    assert_eq!(status, StatusCode::OK);
    call(&s.app, "/v1/experts", Some("mst_0000_ffff")).await;
    let audit = std::fs::read_to_string(&s.audit).unwrap();
    let entries: Vec<AuditEntry> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.subject.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("reader@dstl", "denied: admin role required"),
            ("-", "denied: invalid token")
        ]
    );
    // admins read the log over the API, newest first; nobody else may
    let (status, _, _) = call(&s.app, "/v1/audit", Some(&s.editor)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = call(&s.app, "/v1/audit?limit=2", Some(&s.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let newest: Vec<(&str, &str)> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["subject"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        newest,
        vec![
            ("editor@ukhsa", "denied: admin role required"),
            ("-", "denied: invalid token")
        ]
    );
    let (status, _, body) = call(&s.app, "/v1/audit?limit=0", Some(&s.admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("`limit`"), "{body}");
    for token in [&s.reader, &s.admin] {
        let secret = token.rsplit('_').next().unwrap();
        assert!(!audit.contains(secret), "the audit log never holds a token");
    }
    assert!(!audit.contains("ffff"));
}

#[tokio::test]
async fn without_the_vetting_permission_no_one_s_clearance_shows_or_counts() {
    let s = secured(None);
    let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();
    let withheld = |value: &serde_json::Value| {
        crate::search::VETTING_FIELDS
            .iter()
            .all(|f| value.get(*f).is_none())
    };
    // the same searches: a vetted reader sees clearances, an unvetted one sees none
    for (token, vetted) in [(&s.reader, true), (&s.unvetted, false)] {
        let (status, _, body) = call(&s.app, "/v1/experts?q=statistics", Some(token)).await;
        assert_eq!(status, StatusCode::OK);
        let body = json(&body);
        let hits = body["hits"].as_array().unwrap();
        assert!(!hits.is_empty());
        assert_eq!(
            hits.iter().all(|h| withheld(&h["summary"])),
            !vetted,
            "{body}"
        );
        assert_eq!(body["facets"].get("clearance").is_some(), vetted, "{body}");
        let (_, _, record) = call(&s.app, "/v1/experts/m-exp", Some(token)).await;
        assert_eq!(withheld(&json(&record)), !vetted, "{record}");
        let need = r#"{"skills":[{"skill":"Bayesian statistics"}],"team_size":2}"#;
        let (status, _, answer) = send(&s.app, Method::POST, "/v1/muster", Some(token), need).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let answer = json(&answer);
        let team = answer["team"].as_array().unwrap();
        assert!(!team.is_empty());
        assert_eq!(
            team.iter().all(|m| withheld(&m["contact"])),
            !vetted,
            "{answer}"
        );
        let (_, _, sheet) = send(
            &s.app,
            Method::POST,
            "/v1/muster?format=csv",
            Some(token),
            need,
        )
        .await;
        assert_eq!(sheet.contains("SC, review due"), vetted, "{sheet}");
        assert_eq!(
            sheet.contains("not shown (needs the vetting permission)"),
            !vetted
        );
    }
    // asking about clearances is refused, naming the parameter; a facility's is not secret
    for (method, uri, body) in [
        (Method::GET, "/v1/experts?clearance=SC", ""),
        (Method::GET, "/v1/search?q=statistics&clearance=SC", ""),
        (
            Method::POST,
            "/v1/muster",
            r#"{"skills":[{"skill":"Bayesian statistics"}],"clearance":"SC"}"#,
        ),
        (
            Method::POST,
            "/v1/muster",
            r#"{"need":"two SC cleared Bayesian statisticians"}"#,
        ),
    ] {
        let (status, _, problem) = send(&s.app, method, uri, Some(&s.unvetted), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri} {body}: {problem}");
        assert_eq!(json(&problem)["parameter"], "clearance", "{problem}");
        assert!(problem.contains("vetting permission"), "{problem}");
    }
    let (status, _, _) = call(&s.app, "/v1/facilities?clearance=SC", Some(&s.unvetted)).await;
    assert_eq!(status, StatusCode::OK);
    // so is asking for people's clearance facet by name; a facility's is counted
    let uri = "/v1/experts?facets=clearance";
    let (status, _, problem) = call(&s.app, uri, Some(&s.unvetted)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(json(&problem)["parameter"], "facets", "{problem}");
    let uri = "/v1/facilities?facets=clearance";
    let (status, _, body) = call(&s.app, uri, Some(&s.unvetted)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(json(&body)["facets"]["clearance"].is_object(), "{body}");
}

#[tokio::test]
async fn reads_are_audited_with_who_the_request_and_the_ids_returned() {
    let s = secured(None);
    let entries = || -> Vec<AuditEntry> {
        std::fs::read_to_string(&s.audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (status, _, body) = call(&s.app, "/v1/experts?q=statistics", Some(&s.reader)).await;
    assert_eq!(status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let returned: Vec<String> = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!returned.is_empty());
    let search = entries().pop().expect("the search is audited");
    assert_eq!(search.subject, "reader@dstl");
    assert_eq!(search.action, "GET /v1/experts?q=statistics");
    assert_eq!(search.ids, returned);
    assert_eq!(search.outcome, "ok");
    assert_eq!(search.marking, Some(Marking::Official));

    let opened = format!("/v1/experts/{}", returned[0]);
    let (status, _, _) = call(&s.app, &opened, Some(&s.sensitive_reader)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&s.app, "/v1/experts/m-nobody", Some(&s.reader)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let need = r#"{"skills":[{"skill":"Bayesian statistics"}],"team_size":2}"#;
    let (status, _, answer) = send(&s.app, Method::POST, "/v1/muster", Some(&s.reader), need).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let team: Vec<&str> = answer["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let all = entries();
    let last: Vec<(&str, &str, &str)> = all[all.len() - 3..]
        .iter()
        .map(|e| (e.subject.as_str(), e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        last,
        [
            ("os-reader@dstl", &*format!("GET {opened}"), "ok"),
            ("reader@dstl", "GET /v1/experts/m-nobody", "not found"),
            ("reader@dstl", &*format!("POST /v1/muster {need}"), "ok"),
        ]
    );
    assert_eq!(all[all.len() - 3].ids, [returned[0].clone()]);
    assert_eq!(all[all.len() - 3].marking, Some(Marking::OfficialSensitive));
    assert!(
        team.iter()
            .all(|id| all[all.len() - 1].ids.iter().any(|i| i == id))
    );
}

#[tokio::test]
async fn at_capacity_a_request_gets_503_at_once_and_health_still_answers() {
    let s = secured(None);
    let state = s.state.clone();
    // every permit taken, as if that many searches were running
    let held = state
        .in_flight
        .clone()
        .acquire_many_owned(state.config.max_in_flight as u32)
        .await
        .unwrap();
    // were it queued, this call would never return while the permits are held
    let (status, headers, body) = call(&s.app, "/v1/experts?q=virology", Some(&s.reader)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers.get("retry-after").unwrap(), "1");
    assert!(body.contains("capacity"), "{body}");
    let (health, _, _) = call(&s.app, "/healthz", None).await;
    assert_eq!(health, StatusCode::OK);
    let (metrics, _, text) = call(&s.app, "/metrics", Some(&s.admin)).await;
    assert_eq!(metrics, StatusCode::OK);
    assert!(text.contains("muster_http_requests_shed_total 1"), "{text}");
    // capacity back: answered normally
    drop(held);
    let (status, _, _) = call(&s.app, "/v1/experts?q=virology", Some(&s.reader)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn too_many_requests_from_one_token_get_429_with_retry_after() {
    let s = secured(Some(0.5));
    let (first, _, _) = call(&s.app, "/v1/experts", Some(&s.reader)).await;
    let (second, headers, body) = call(&s.app, "/v1/experts", Some(&s.reader)).await;
    assert_eq!(first, StatusCode::OK);
    assert_eq!(second, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers.get("retry-after").unwrap(), "2");
    let (other, _, _) = call(&s.app, "/v1/experts", Some(&s.admin)).await;
    assert_eq!(other, StatusCode::OK, "another token has its own budget");
}
