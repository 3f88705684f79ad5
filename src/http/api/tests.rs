use super::*;
use crate::http::{AppState, HttpConfig, router};
use crate::search::tests::small_index;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tower::ServiceExt;

fn app() -> Router {
    router(AppState::new(small_index(), HttpConfig::default()).unwrap())
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, String, Value) {
    let response = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, content_type, body)
}

async fn post(app: &Router, uri: &str, body: &str) -> (StatusCode, Response) {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    (response.status(), response)
}

async fn text_of(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn muster_answers_json_or_a_csv_contact_sheet() {
    let app = app();
    let need = r#"{"skills": [{"skill": "Bayesian statistics", "min_level": 3}], "clearance": "SC", "team_size": 2}"#;
    let (status, response) = post(&app, "/v1/muster", need).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&text_of(response).await).unwrap();
    let team: Vec<&str> = answer["team"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    // m-lapsed (DV, review overdue) and m-secret (OFFICIAL-SENSITIVE) never count
    assert_eq!(team, vec!["m-exp", "m-pra"]);
    assert_eq!(answer["constraints"]["availability"], "month");
    let (status, response) = post(&app, "/v1/muster?format=csv", need).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let sheet = text_of(response).await;
    let lines: Vec<&str> = sheet.lines().collect();
    assert!(lines[0].starts_with("role,skills,name,department,email"));
    assert!(lines[1].starts_with("team,Bayesian statistics (4),Erin Expert,Dstl"));
    assert!(
        lines[1].contains(",available within 24 hours,"),
        "availability in words: {}",
        lines[1]
    );
}

#[tokio::test]
async fn a_bad_muster_body_is_a_problem_naming_the_field() {
    let app = app();
    for (body, field) in [
        ("", "body"),
        ("not json", "body"),
        (
            r#"{"skills": [{"skill": "x"}], "team_size": "five"}"#,
            "team_size",
        ),
        (
            r#"{"skills": [{"skill": "x", "level": 3}]}"#,
            "skills[0].level",
        ),
        (r#"{"skills": [{"skill": "x"}], "colour": "red"}"#, "colour"),
        (
            r#"{"skills": [{"skill": "x", "min_level": 9}]}"#,
            "skills[0].min_level",
        ),
        (
            r#"{"skills": [{"skill": "x"}], "near": {"lat": 51}}"#,
            "near",
        ),
    ] {
        let (status, response) = post(&app, "/v1/muster", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let problem: Value = serde_json::from_str(&text_of(response).await).unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{body}: {problem}"
        );
    }
    let (status, _) = post(&app, "/v1/muster?format=pdf", "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn without_time(mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.remove("took_ms");
    }
    body
}

#[tokio::test]
async fn skill_search_answers_the_whole_contract_body() {
    let (status, content_type, body) = get_json(
        &app(),
        "/v1/experts?skill=Bayesian%20statistics&min_level=3&clearance=SC",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    let expected = json!({
        "total": 2,
        "hits": [
            {"id": "m-exp", "kind": "member", "name": "Erin Expert", "department": "Dstl", "score": 41.5,
             "matched_skills": [{"name": "Bayesian statistics", "level": 4, "skill_id": "bayesian-statistics"}],
             "evidence": [], "highlights": {},
             "summary": {"availability": "24h", "clearance": "SC", "clearance_review_due": "2030-01-01",
                         "clearance_status": "in_date",
                         "marking": "OFFICIAL", "registrations": [], "region": "South West", "town": "Salisbury"}},
            {"id": "m-pra", "kind": "member", "name": "Pat Practitioner", "department": "UKHSA", "score": 31.5,
             "matched_skills": [{"name": "Bayesian statistics", "level": 3, "skill_id": "bayesian-statistics"}],
             "evidence": [], "highlights": {},
             "summary": {"availability": "now", "clearance": "SC", "clearance_status": "in_date",
                         "marking": "OFFICIAL", "registrations": [], "region": "London", "town": "Colindale"}}
        ],
        "facets": {
            "availability": {"24h": 1, "now": 1},
            "clearance": {"SC": 2},
            "department": {"DHSC": 1, "Dstl": 1, "MOD": 1, "UKHSA": 1},
            "grade": {}, "gse_category": {}, "region": {"London": 1, "South West": 1},
            "skill": {"Bayesian statistics": 2, "Mathematical and data sciences": 2, "Statistics": 2}
        }
    });
    // scores: 10 points per level held, 1.5 for an assessment this year
    assert_eq!(without_time(body), expected);
}

#[tokio::test]
async fn every_kind_of_bad_parameter_is_a_problem_naming_it() {
    let app = app();
    let cases = [
        ("/v1/experts?colour=blue", "colour"),
        ("/v1/experts?clearance=TOPSECRET", "clearance"),
        ("/v1/experts?availability=soon", "availability"),
        ("/v1/experts?grade=G5", "grade"),
        ("/v1/experts?gse_category=guru", "gse_category"),
        ("/v1/experts?limit=0", "limit"),
        ("/v1/experts?limit=101", "limit"),
        ("/v1/experts?limit=ten", "limit"),
        ("/v1/experts?offset=-1", "offset"),
        ("/v1/experts?near=north", "near"),
        ("/v1/experts?near=91,0", "near"),
        ("/v1/experts?within_km=10", "within_km"),
        ("/v1/experts?near=51,0&within_km=-5", "within_km"),
        ("/v1/experts?near=51,0&within_km=", "within_km"),
        ("/v1/experts?q=virology&availability=%20", "availability"),
        ("/v1/experts?min_level=3", "min_level"),
        ("/v1/experts?skill=x&min_level=9", "min_level"),
        ("/v1/experts?q=a&q=b", "q"),
        ("/v1/experts?sort=distance", "sort"),
        ("/v1/experts?sort=alphabetical", "sort"),
        ("/v1/experts?department=Ministry%20of%20Magic", "department"),
        ("/v1/experts?explain=maybe", "explain"),
        ("/v1/facilities?grade=G7", "grade"),
        ("/v1/case-studies?clearance=SC", "clearance"),
        ("/v1/case-studies?near=51,0", "near"),
    ];
    for (uri, parameter) in cases {
        let (status, content_type, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(content_type, "application/problem+json", "{uri}");
        assert_eq!(body["status"], 400, "{uri}");
        assert_eq!(body["parameter"], parameter, "{uri}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{parameter}`")),
            "{uri}: {body}"
        );
        for key in ["type", "title"] {
            assert!(body[key].is_string(), "{uri}: {key}");
        }
    }
    let long = format!("/v1/experts?q={}", "a".repeat(10_000));
    let (status, _, body) = get_json(&app, &long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["parameter"], "q");
}

#[tokio::test]
async fn hostile_queries_are_answered_not_failed() {
    let app = app();
    for q in [
        "%22unbalanced",
        "a%20AND%20OR%20(",
        "***",
        "%00",
        "field:value%20-x%20+y",
        "%F0%9F%98%80",
    ] {
        let (status, _, body) = get_json(&app, &format!("/v1/experts?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
    }
}

#[tokio::test]
async fn an_empty_query_means_everything_but_an_empty_filter_is_an_error() {
    let app = app();
    let (status, _, body) = get_json(&app, "/v1/experts?q=").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 5, "every visible member: {body}");
    // dropping an empty filter silently would widen the search the caller asked for
    let (status, _, body) = get_json(&app, "/v1/experts?q=&department=").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["parameter"], "department", "{body}");
}

#[tokio::test]
async fn get_by_id_is_404_for_missing_and_for_hidden_records_alike() {
    let app = app();
    let (status, _, body) = get_json(&app, "/v1/experts/m-exp").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Erin Expert");
    let (missing_status, missing_type, missing) = get_json(&app, "/v1/experts/m-nobody").await;
    let (hidden_status, hidden_type, hidden) = get_json(&app, "/v1/experts/m-secret").await;
    assert_eq!(
        (missing_status, hidden_status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(missing_type, "application/problem+json");
    assert_eq!(
        (missing, missing_type),
        (hidden, hidden_type),
        "a hidden record looks exactly like a missing one"
    );
    let (status, _, _) = get_json(&app, "/v1/facilities/f-cl3").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = get_json(&app, "/v1/case-studies/cs-2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["authors"], json!(["m-author"]));
}

#[tokio::test]
async fn concepts_ranks_what_a_phrase_may_mean_with_ids_and_esco_uris() {
    let app = app();
    let (status, _, body) = get_json(&app, "/v1/concepts?q=CL4%2FBSL4&limit=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = &body["concepts"][0];
    assert_eq!(first["id"], "containment-level-4");
    assert_eq!(first["match"], "list");
    assert_eq!(first["source"], "gse");
    assert_eq!(first["path"][3], "Containment level 4");
    let (_, _, body) = get_json(&app, "/v1/concepts?q=survey%20methods").await;
    assert_eq!(body["concepts"][0]["id"], "survey-methodology");
    assert_eq!(body["concepts"][0]["match"], "exact");
    let (_, _, body) = get_json(&app, "/v1/concepts?q=python%20programming%20language").await;
    let esco = body["concepts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "esco")
        .unwrap();
    assert!(
        esco["esco_uri"]
            .as_str()
            .unwrap()
            .starts_with("http://data.europa.eu/esco/"),
        "{esco}"
    );
    for bad in [
        "/v1/concepts",
        "/v1/concepts?q=",
        "/v1/concepts?q=x&limit=51",
        "/v1/concepts?q=x&k=1",
    ] {
        let (status, _, body) = get_json(&app, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn search_answers_all_three_kinds() {
    let (status, _, body) = get_json(&app(), "/v1/search?q=dispersion&grade=G7").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["experts"]["total"], 0, "grade applies to experts");
    assert_eq!(
        body["case_studies"]["total"], 2,
        "grade does not apply to case studies: {body}"
    );
    assert_eq!(body["facilities"]["total"], 0);
    let (_, _, body) = get_json(&app(), "/v1/search?q=CL3").await;
    assert_eq!(body["facilities"]["hits"][0]["id"], "f-cl3");
    // a closed facility is only listed when asked for, in /v1/search too
    let (status, _, body) = get_json(&app(), "/v1/search?q=CL3&status=closed").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["facilities"]["total"], 0);
    let (status, _, body) = get_json(&app(), "/v1/experts?status=closed").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let app = app();
    let (status, _, body) = get_json(&app, "/healthz").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _, body) = get_json(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "ready", "lag_seconds": 0.0}),
        "nothing countable for anyone: a time, not a count of changes"
    );
    get_json(&app, "/v1/experts?q=statistics").await;
    let (status, content_type, body) = get_json(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"));
    let text = body.as_str().unwrap();
    assert!(
        text.contains(
            "muster_http_requests_total{route=\"/v1/experts\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    // 10 records, 2 of them above the (demo) caller's OFFICIAL
    assert!(text.contains("muster_index_documents 8"), "{text}");
    let (status, _, body) = get_json(&app, "/no/such/path").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let response = app()
        .oneshot(
            Request::builder()
                .uri("/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(response.headers().get("x-request-id").is_some());
}

#[tokio::test]
async fn openapi_describes_every_endpoint_and_parameter() {
    let (status, _, body) = get_json(&app(), "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/experts",
        "/v1/case-studies",
        "/v1/facilities",
        "/v1/search",
        "/v1/experts/{id}",
        "/v1/case-studies/{id}",
        "/v1/facilities/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(body["paths"].get(path).is_some(), "{path} missing");
    }
    // each search documents exactly the parameters it takes, in the order it lists them
    for (path, kind) in [
        ("/v1/experts", Some(Kind::Member)),
        ("/v1/case-studies", Some(Kind::CaseStudy)),
        ("/v1/facilities", Some(Kind::Facility)),
        ("/v1/search", None),
    ] {
        let params: Vec<&str> = body["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let accepted: Vec<&str> = search::accepted_params(kind).collect();
        assert_eq!(params, accepted, "{path}");
    }
    assert!(body["components"]["schemas"]["Problem"].is_object());

    // found by schemathesis: each path lists exactly the methods the server allows on it
    // (the writes once per kind), and every operation documents the answers any request can
    // get: 401 on the API, 429, 503; 413 and 415 where there is a body
    let paths = body["paths"].as_object().unwrap();
    assert!(
        !paths.keys().any(|p| p.contains("{kind}")),
        "no templated kind"
    );
    for kind in ["experts", "case-studies", "facilities"] {
        let record = &paths[&format!("/v1/{kind}/{{id}}")];
        for method in ["get", "put", "delete"] {
            assert!(record.get(method).is_some(), "{method} /v1/{kind}/{{id}}");
        }
        assert!(paths[&format!("/v1/{kind}/bulk")].get("post").is_some());
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let codes = op["responses"].as_object().unwrap();
            let mut needed = vec!["503"];
            if path.starts_with("/v1/") {
                needed.extend(["401", "429"]);
            }
            if op.get("requestBody").is_some() {
                needed.extend(["413", "415"]);
            }
            for code in needed {
                assert!(codes.contains_key(code), "{method} {path} lacks {code}");
            }
            // generated clients send the bearer token where the operation declares it
            let open = ["/healthz", "/readyz"].contains(&path.as_str());
            let declared = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(
                declared, !open,
                "{method} {path}: security {}",
                op["security"]
            );
        }
    }
    let limit = body["paths"]["/v1/experts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1.0);
    assert_eq!(limit["schema"]["maximum"], 100.0);
}

/// The properties a component schema declares, through `allOf`, `oneOf` and `$ref`.
fn declared(doc: &serde_json::Value, schema: &serde_json::Value) -> BTreeSet<String> {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        return declared(doc, &doc["components"]["schemas"][name]);
    }
    let mut names: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in ["allOf", "oneOf"]
        .iter()
        .flat_map(|combined| schema[*combined].as_array().into_iter().flatten())
    {
        names.extend(declared(doc, part));
    }
    names
}

#[tokio::test]
async fn every_summary_field_the_api_sends_is_declared_with_a_type() {
    let app = app();
    let (_, _, doc) = get_json(&app, "/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let summary = declared(&doc, &schemas["Hit"]["properties"]["summary"]);
    assert!(summary.contains("clearance_status") && summary.contains("author_details"));
    for kind in ["experts", "case-studies", "facilities"] {
        let (status, _, body) = get_json(&app, &format!("/v1/{kind}?limit=100")).await;
        assert_eq!(status, StatusCode::OK);
        let hits = body["hits"].as_array().unwrap();
        assert!(!hits.is_empty(), "{kind}");
        for hit in hits {
            for key in hit["summary"].as_object().unwrap().keys() {
                assert!(
                    summary.contains(key),
                    "{kind}: summary.{key} is not declared"
                );
            }
        }
    }
    let contact = declared(&doc, &schemas["TeamMember"]["properties"]["contact"]);
    let member = declared(&doc, &schemas["MemberSummary"]);
    assert!(contact.contains("clearance_status") && contact == member);
    let details = declared(&doc, &schemas["FacilityMatch"]["properties"]["details"]);
    assert!(details.contains("contact_details") && !details.contains("clearance"));
    // a declared field has a type, not an open object
    for name in ["MemberSummary", "CaseStudySummary", "FacilitySummary"] {
        for (field, schema) in schemas[name]["properties"].as_object().unwrap() {
            let typed = schema.get("type").is_some()
                || schema.get("$ref").is_some()
                || schema.get("oneOf").is_some();
            assert!(typed, "{name}.{field}: {schema}");
        }
    }
}

#[tokio::test]
async fn a_caller_counts_only_the_facets_and_gets_only_the_highlights_it_asks_for() {
    let app = app();
    let keys = |body: &Value| -> Vec<String> {
        body["facets"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    // by default every facet of the kind, as the contract has it
    let (status, _, all) = get_json(&app, "/v1/experts?q=statistics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&all),
        [
            "availability",
            "clearance",
            "department",
            "grade",
            "gse_category",
            "region",
            "skill"
        ]
    );
    // only those asked for, repeated or comma-separated, with the same counts
    for uri in [
        "/v1/experts?q=statistics&facets=department,region",
        "/v1/experts?q=statistics&facets=region&facets=department",
    ] {
        let (status, _, some) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(keys(&some), ["department", "region"], "{uri}");
        assert_eq!(some["facets"]["department"], all["facets"]["department"]);
        assert_eq!(some["hits"], all["hits"], "{uri}: the same hits");
        assert_eq!(some["total"], all["total"]);
    }
    let (_, _, none) = get_json(&app, "/v1/experts?q=statistics&facets=none").await;
    assert!(keys(&none).is_empty());
    assert_eq!(none["hits"], all["hits"]);

    // the skill tree down to a depth: its top only, each with the count of the whole tree
    let (_, _, whole) = get_json(&app, "/v1/case-studies?facets=skill").await;
    let (status, _, top) = get_json(&app, "/v1/case-studies?facets=skill&skill_depth=1").await;
    assert_eq!(status, StatusCode::OK, "{top}");
    let (whole, top) = (&whole["facets"]["skill"], &top["facets"]["skill"]);
    let top = top.as_object().unwrap();
    assert!(
        !top.is_empty() && top.len() < whole.as_object().unwrap().len(),
        "{top:?}"
    );
    for (label, count) in top {
        assert_eq!(&whole[label], count, "{label}");
    }

    // highlights on request (on by default)
    let (_, _, plain) = get_json(&app, "/v1/experts?q=statistics&highlight=false").await;
    let marked = |body: &Value| {
        body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| !h["highlights"].as_object().unwrap().is_empty())
    };
    assert!(marked(&all));
    assert!(!marked(&plain));

    // /v1/search: each kind counts those of the facets asked for that it has
    let (status, _, each) =
        get_json(&app, "/v1/search?q=statistics&facets=availability,status").await;
    assert_eq!(status, StatusCode::OK, "{each}");
    assert_eq!(keys(&each["experts"]), ["availability"]);
    assert!(keys(&each["case_studies"]).is_empty());
    assert_eq!(keys(&each["facilities"]), ["status"]);

    // a facet the kind does not have, or no such facet, is a 400 naming `facets`
    for (uri, parameter) in [
        ("/v1/facilities?facets=availability", "facets"),
        ("/v1/experts?facets=bogus", "facets"),
        ("/v1/experts?facets=none,region", "facets"),
        ("/v1/experts?facets=,", "facets"),
        ("/v1/search?facets=bogus", "facets"),
        ("/v1/experts?facets=region&skill_depth=2", "skill_depth"),
        ("/v1/experts?skill_depth=0", "skill_depth"),
        ("/v1/experts?highlight=maybe", "highlight"),
    ] {
        let (status, _, problem) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {problem}");
        assert_eq!(problem["parameter"], parameter, "{uri}: {problem}");
    }
}
