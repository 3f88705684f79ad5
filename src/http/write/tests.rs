use axum::http::Method;

use super::super::tests::{call, secured, send};
use crate::audit::AuditEntry;

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

/// The audit entries of writes and refusals (reads are audited too, and left out here).
fn audit(s: &super::super::tests::Secured) -> Vec<AuditEntry> {
    std::fs::read_to_string(&s.audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<AuditEntry>(l).unwrap())
        .filter(|e| !e.action.starts_with("GET ") || e.outcome.starts_with("denied"))
        .collect()
}

#[tokio::test]
async fn an_editor_creates_replaces_and_deletes_and_searches_see_each_change_at_once() {
    let s = secured(None);
    let find = "/v1/experts?q=genomic%20surveillance";
    let (_, _, before) = call(&s.app, find, Some(&s.reader)).await;
    assert!(ids(&before).is_empty());

    // an editor who cannot see every marking creates under an id the server issues
    let (status, headers, body) = send(
        &s.app,
        Method::POST,
        "/v1/experts",
        Some(&s.editor),
        NEW_MEMBER,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(json(&body)["outcome"], "created");
    let id = json(&body)["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("m-") && id.len() == 26, "{id}");
    assert_eq!(headers["location"], format!("/v1/experts/{id}"));
    let (_, _, after) = call(&s.app, find, Some(&s.reader)).await;
    assert_eq!(ids(&after), vec![id.clone()]);
    // and may not choose an id
    let (status, _, problem) = send(
        &s.app,
        Method::POST,
        "/v1/experts",
        Some(&s.editor),
        &NEW_MEMBER.replace("{\"name\"", "{\"id\":\"m-mine\",\"name\""),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(json(&problem)["parameter"], "id");

    let uri = format!("/v1/experts/{id}");
    let renamed = NEW_MEMBER.replace("Nia Newcomer", "Nia Newcomer-Smith");
    let (status, _, body) = send(&s.app, Method::PUT, &uri, Some(&s.editor), &renamed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["outcome"], "replaced");
    let (_, _, one) = call(&s.app, &uri, Some(&s.reader)).await;
    assert_eq!(json(&one)["name"], "Nia Newcomer-Smith");
    let (_, _, after) = call(&s.app, find, Some(&s.reader)).await;
    assert_eq!(
        ids(&after),
        vec![id.clone()],
        "a replacement leaves one record"
    );

    let (status, _, _) = send(&s.app, Method::DELETE, &uri, Some(&s.editor), "").await;
    assert_eq!(status, 204);
    let (status, _, _) = call(&s.app, &uri, Some(&s.reader)).await;
    assert_eq!(status, 404);

    // an editor who may see every marking may also create under an id of its choosing
    let (status, _, body) = send(
        &s.app,
        Method::PUT,
        "/v1/experts/m-chosen",
        Some(&s.sensitive_editor),
        NEW_MEMBER,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let outcomes: Vec<(String, String, Vec<String>)> = audit(&s)
        .into_iter()
        .map(|e| (e.subject, e.outcome, e.ids))
        .collect();
    let who = "editor@ukhsa".to_string();
    let ids = vec![id];
    assert_eq!(
        outcomes,
        vec![
            (who.clone(), "ok: created".into(), ids.clone()),
            (
                who.clone(),
                "rejected: field `id`: the server gives a new record its id; leave `id` out \
                 (PUT /v1/experts/{id} replaces a record you can see)"
                    .into(),
                vec![]
            ),
            (who.clone(), "ok: replaced".into(), ids.clone()),
            (who, "ok: deleted".into(), ids),
            (
                "os-editor@dstl".into(),
                "ok: created".into(),
                vec!["m-chosen".into()]
            ),
        ]
    );
    let requests: std::collections::HashSet<String> =
        audit(&s).into_iter().filter_map(|e| e.request_id).collect();
    assert_eq!(requests.len(), 5, "each write names its own request");
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
    let entries = audit(&s);
    assert!(
        entries.iter().all(|e| e.request_id.is_some()),
        "every refusal names its request: {entries:?}"
    );
    let denied: Vec<String> = entries.into_iter().map(|e| e.outcome).collect();
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
    let two_wrong = NEW_MEMBER
        .replace("\"level\":4", "\"level\":9")
        .replace("\"SC\"", "\"TOP\"");
    let (status, _, problem) = send(
        &s.app,
        Method::PUT,
        "/v1/experts/m-new",
        Some(&s.editor),
        &two_wrong,
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    let problem = json(&problem);
    let named: Vec<&str> = problem["errors"]
        .as_array()
        .expect("every field at fault is listed")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["skills[0].level", "clearance"], "{problem}");
    assert_eq!(problem["parameter"], "skills[0].level");
    let (status, _, _) = call(&s.app, "/v1/experts/m-new", Some(&s.reader)).await;
    assert_eq!(status, 404, "nothing was written");
}

#[tokio::test]
async fn an_editor_cannot_write_above_their_marking_nor_tell_a_hidden_record_from_none() {
    let s = secured(None);
    let sensitive = NEW_MEMBER.replace(
        "\"summary\"",
        "\"marking\":\"OFFICIAL-SENSITIVE\",\"summary\"",
    );
    let (status, _, problem) = send(
        &s.app,
        Method::POST,
        "/v1/experts",
        Some(&s.editor),
        &sensitive,
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(json(&problem)["parameter"], "marking");
    // replacing or deleting a hidden record answers exactly as for an id never written
    for method in [Method::PUT, Method::DELETE] {
        let body = if method == Method::PUT {
            NEW_MEMBER
        } else {
            ""
        };
        let (hidden_status, _, hidden) = send(
            &s.app,
            method.clone(),
            "/v1/experts/m-secret",
            Some(&s.editor),
            body,
        )
        .await;
        let (free_status, _, free) = send(
            &s.app,
            method.clone(),
            "/v1/experts/m-nobody",
            Some(&s.editor),
            body,
        )
        .await;
        assert_eq!(
            (hidden_status, free_status),
            (404.try_into().unwrap(), 404.try_into().unwrap())
        );
        assert_eq!(
            hidden.replace("m-secret", "ID"),
            free.replace("m-nobody", "ID"),
            "{method}"
        );
    }
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
        Some(&s.sensitive_editor),
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
        Some(&s.sensitive_editor),
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
        Some(&s.sensitive_editor),
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
        Some(&s.sensitive_editor),
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
        Some(&s.sensitive_editor),
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
async fn bulk_lines_create_without_ids_and_cannot_tell_a_hidden_record_from_none() {
    let s = secured(None);
    let lines = [
        r#"{"title":"Open work","authors":["m-pra","m-ghost","m-secret"]}"#,
        r#"{"title":"Hushed work","marking":"OFFICIAL-SENSITIVE"}"#,
        r#"{"id":"cs-3","title":"Overwrite a hidden one"}"#,
        r#"{"id":"cs-nowhere","title":"Overwrite a missing one"}"#,
        r#"{"id":"cs-1","title":"Volcanic ash dispersion forecasting, revised"}"#,
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
    let rejections: Vec<(u64, &str, String)> = answer["report"]["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reason = r["reason"].as_str().unwrap();
            let reason = reason.replace("cs-3", "ID").replace("cs-nowhere", "ID");
            (
                r["line"].as_u64().unwrap(),
                r["field"].as_str().unwrap(),
                reason,
            )
        })
        .collect();
    assert_eq!(rejections.len(), 3, "{body}");
    assert_eq!((rejections[0].0, rejections[0].1), (2, "marking"));
    assert_eq!((rejections[1].0, rejections[1].1), (3, "id"));
    assert_eq!(
        rejections[1].2, rejections[2].2,
        "a hidden id and a missing one are refused in the same words"
    );
    // a hidden author is left out with the same warning as one that does not exist
    let warnings: Vec<String> = answer["report"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect();
    assert!(warnings.contains(&"author `m-ghost` is not a known member; left out".into()));
    assert!(warnings.contains(&"author `m-secret` is not a known member; left out".into()));
    let created = answer["created"].as_array().unwrap();
    assert_eq!(created.len(), 1, "{body}");
    let uri = format!("/v1/case-studies/{}", created[0].as_str().unwrap());
    let (_, _, one) = call(&s.app, &uri, Some(&s.reader)).await;
    assert_eq!(json(&one)["title"], "Open work");
    assert_eq!(json(&one)["authors"], serde_json::json!(["m-pra"]));
    let (_, _, replaced) = call(&s.app, "/v1/case-studies/cs-1", Some(&s.reader)).await;
    assert_eq!(
        json(&replaced)["title"],
        "Volcanic ash dispersion forecasting, revised"
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
            loop {
                // the last search starts after the writes, however slow the machine
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let mut request = crate::search::SearchRequest::new(
                    crate::model::Kind::Member,
                    crate::model::Marking::Official,
                    super::super::api::today(),
                );
                request.text = Some("zebrafish".into());
                seen.insert(crate::search::search(&index, &request).unwrap().total);
                if finished {
                    break;
                }
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
