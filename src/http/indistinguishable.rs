//! The differential test of "nothing hidden can be inferred": seeded random requests over every
//! read endpoint, the web pages, musters (JSON and CSV), writes and the operations endpoints,
//! sent by OFFICIAL callers to a server over the fixtures (with their OFFICIAL-SENSITIVE records)
//! and to one over the same data without those records. Every answer must be the same byte for
//! byte, scores, order, facets, suggestions and typo behaviour included, timings apart. Each index
//! is built twice (by the two-thread indexer, so its segments differ from build to build) and the
//! two builds must answer alike too, for every caller: the same data and request give the same
//! answer.
//!
//! `MUSTER_DIFFERENTIAL_REQUESTS` sets how many requests (default 2,000).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};

use super::tests::{Secured, respond, secured_with};
use super::write::IdIssuer;
use super::{AppState, router};
use crate::generate::Rng;
use crate::model::{Kind, Marking, Record};

/// One server of the comparison, with the keys its callers use.
struct Server {
    app: Router,
    secured: Secured,
}

fn server(records: &[Record]) -> Server {
    let secured = secured_with(records, None);
    // both sides issue the same ids for records created without one
    let mut state: AppState = secured.state.clone();
    state.ids = Arc::new(IdIssuer::seeded(21));
    Server {
        app: router(state),
        secured,
    }
}

/// The body without what may differ between two equal answers: timings, the time and request id
/// of audit entries, and the latency histograms of `/metrics`.
fn comparable(uri: &str, body: &str) -> String {
    if uri.starts_with("/metrics") {
        return body
            .lines()
            .filter(|l| l.starts_with("muster_index_documents"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            fn strip(value: &mut serde_json::Value) {
                match value {
                    serde_json::Value::Object(map) => {
                        for key in ["took_ms", "time", "request_id"] {
                            map.remove(key);
                        }
                        map.values_mut().for_each(strip);
                    }
                    serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
                    _ => {}
                }
            }
            strip(&mut value);
            value.to_string()
        }
        Err(_) => body.to_string(),
    }
}

/// A request: method, URI, body, and which caller sends it.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    uri: String,
    body: String,
    who: Who,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Reader,
    Editor,
    Admin,
    Nobody,
    /// Only for the build-against-build comparison: sees everything.
    SensitiveReader,
}

async fn send(server: &Server, call: &Call) -> (StatusCode, String) {
    let token = match call.who {
        Who::Reader => Some(&server.secured.reader),
        Who::Editor => Some(&server.secured.editor),
        Who::Admin => Some(&server.secured.official_admin),
        Who::SensitiveReader => Some(&server.secured.sensitive_reader),
        Who::Nobody => None,
    };
    let mut request = axum::http::Request::builder()
        .method(call.method.clone())
        .uri(&call.uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if call.method == Method::POST && call.uri.contains("/bulk") {
        request = request.header("content-type", "application/x-ndjson");
    } else if call.method != Method::GET {
        request = request.header("content-type", "application/json");
    }
    let (status, _, body) = respond(
        &server.app,
        request
            .body(axum::body::Body::from(call.body.clone()))
            .unwrap(),
    )
    .await;
    (status, comparable(&call.uri, &body))
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What requests are made of: words of the records (hidden ones' included, and misspelt), ids
/// visible, hidden and free, skills, departments, places.
struct Vocabulary {
    words: Vec<String>,
    hidden_words: Vec<String>,
    ids: Vec<(Kind, String)>,
    skills: Vec<String>,
    departments: Vec<String>,
}

impl Vocabulary {
    fn new(records: &[Record]) -> Vocabulary {
        let mut words = BTreeSet::new();
        let mut hidden_words = BTreeSet::new();
        let mut ids = Vec::new();
        for record in records {
            let text = record.to_json().to_string();
            let bag = if record.marking() == Marking::Official {
                &mut words
            } else {
                &mut hidden_words
            };
            for word in text.split(|c: char| !c.is_alphanumeric()) {
                if word.len() >= 4 && word.chars().all(|c| c.is_ascii_alphabetic()) {
                    bag.insert(word.to_lowercase());
                }
            }
            ids.push((record.kind(), record.id().to_string()));
        }
        let taxonomy = crate::taxonomy::Taxonomy::builtin();
        let skills = taxonomy
            .nodes()
            .iter()
            .filter(|n| n.is_framework())
            .map(|n| n.label.clone())
            .collect();
        let departments = crate::reference::Reference::get()
            .departments
            .iter()
            .map(|d| d.abbr.clone())
            .collect();
        Vocabulary {
            words: words.into_iter().collect(),
            hidden_words: hidden_words.into_iter().collect(),
            ids,
            skills,
            departments,
        }
    }

    /// A word: usually of visible records, often of hidden ones, sometimes misspelt.
    fn word(&self, rng: &mut Rng) -> String {
        let word = if rng.chance(0.4) {
            rng.pick(&self.hidden_words).clone()
        } else {
            rng.pick(&self.words).clone()
        };
        if rng.chance(0.3) && word.len() > 5 {
            // one letter dropped: matched only by typo tolerance
            let at = 1 + rng.below(word.len() - 2);
            format!("{}{}", &word[..at], &word[at + 1..])
        } else {
            word
        }
    }

    fn words(&self, rng: &mut Rng, most: usize) -> String {
        (0..1 + rng.below(most))
            .map(|_| self.word(rng))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn id(&self, rng: &mut Rng, kind: Kind) -> String {
        if rng.chance(0.1) {
            return format!("x-free-{}", rng.below(1000));
        }
        let of_kind: Vec<&String> = self
            .ids
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id)
            .collect();
        rng.pick(&of_kind).to_string()
    }
}

/// One random request.
fn random_call(rng: &mut Rng, v: &Vocabulary) -> Call {
    let get = |uri: String, who| Call {
        method: Method::GET,
        uri,
        body: String::new(),
        who,
    };
    let kind = *rng.pick(&Kind::ALL);
    match rng.below(100) {
        0..=39 => {
            let mut params = vec![format!("q={}", encode(&v.words(rng, 3)))];
            if rng.chance(0.3) {
                params.push(format!("skill={}", encode(rng.pick::<String>(&v.skills))));
            }
            if rng.chance(0.3) {
                params.push(format!(
                    "department={}",
                    encode(rng.pick::<String>(&v.departments))
                ));
            }
            if kind == Kind::Member && rng.chance(0.3) {
                params.push(format!("clearance={}", rng.pick(&["BPSS", "SC", "DV"])));
            }
            if kind == Kind::Member && rng.chance(0.2) {
                params.push(format!(
                    "availability={}",
                    rng.pick(&["now", "24h", "week"])
                ));
            }
            if kind != Kind::CaseStudy && rng.chance(0.2) {
                params.push("near=51.5,-0.12&within_km=300".into());
                if rng.chance(0.5) {
                    params.push("sort=distance".into());
                }
            }
            if rng.chance(0.2) {
                params.push(format!("offset={}", rng.below(20)));
            }
            if rng.chance(0.3) {
                params.push("explain=true".into());
            }
            if rng.chance(0.2) {
                // a skill tree cut short, or only some facets (each a facet of every kind)
                params.push(
                    rng.pick(&["facets=skill&skill_depth=2", "facets=department,skill"])
                        .to_string(),
                );
            }
            params.push(format!("limit={}", 1 + rng.below(20)));
            let endpoint = if rng.chance(0.1) {
                "search"
            } else {
                kind.collection()
            };
            get(format!("/v1/{endpoint}?{}", params.join("&")), Who::Reader)
        }
        40..=49 => get(
            format!("/v1/{}/{}", kind.collection(), v.id(rng, kind)),
            Who::Reader,
        ),
        50..=54 => {
            let word = v.word(rng);
            let prefix: String = word.chars().take(2 + rng.below(4)).collect();
            get(format!("/v1/suggest?q={}", encode(&prefix)), Who::Reader)
        }
        55..=56 => get(
            format!("/v1/concepts?q={}", encode(&v.words(rng, 3))),
            Who::Reader,
        ),
        57 => get("/v1/skills".into(), Who::Reader),
        58..=67 => {
            let uri = match rng.below(3) {
                0 => format!(
                    "/?kind={}&q={}",
                    kind.collection(),
                    encode(&v.words(rng, 2))
                ),
                1 => format!("/{}/{}", kind.page(), v.id(rng, kind)),
                _ => format!(
                    "/muster?skills={}&clearance=SC",
                    encode(rng.pick::<String>(&v.skills))
                ),
            };
            get(uri, Who::Reader)
        }
        68..=75 => {
            let skills: Vec<String> = (0..1 + rng.below(3))
                .map(|_| format!(r#"{{"skill": {:?}}}"#, rng.pick(&v.skills)))
                .collect();
            let body = if rng.chance(0.3) {
                format!(r#"{{"need": {:?}}}"#, v.words(rng, 8))
            } else {
                format!(
                    r#"{{"skills": [{}], "facility_capabilities": [{:?}], "near": {{"lat": 51.5, "lon": -0.12}}}}"#,
                    skills.join(","),
                    rng.pick(&v.skills)
                )
            };
            let uri = if rng.chance(0.3) {
                "/v1/muster?format=csv"
            } else {
                "/v1/muster"
            };
            Call {
                method: Method::POST,
                uri: uri.into(),
                body,
                who: Who::Reader,
            }
        }
        76..=91 => {
            // writes: replace, create, delete and bulk, on visible, hidden and free ids
            let id = v.id(rng, kind);
            let record = match kind {
                Kind::Member => format!(
                    r#"{{"name": "Written {id}", "department": "Dstl", "summary": {:?}, "skills": [{{"name": {:?}, "level": 3}}]}}"#,
                    v.words(rng, 5),
                    rng.pick(&v.skills)
                ),
                Kind::CaseStudy => format!(
                    r#"{{"title": "Written {id}", "summary": {:?}, "authors": [{:?}, {:?}]}}"#,
                    v.words(rng, 5),
                    v.id(rng, Kind::Member),
                    v.id(rng, Kind::Member)
                ),
                Kind::Facility => format!(
                    r#"{{"name": "Written {id}", "capabilities": [{:?}], "contacts": [{:?}]}}"#,
                    rng.pick(&v.skills),
                    v.id(rng, Kind::Member)
                ),
            };
            let (method, uri, body) = match rng.below(4) {
                0 => (
                    Method::PUT,
                    format!("/v1/{}/{id}", kind.collection()),
                    record,
                ),
                1 => (Method::POST, format!("/v1/{}", kind.collection()), record),
                2 => (
                    Method::DELETE,
                    format!("/v1/{}/{id}", kind.collection()),
                    String::new(),
                ),
                _ => {
                    let with_id = record.replacen('{', &format!("{{\"id\": {id:?}, "), 1);
                    (
                        Method::POST,
                        format!("/v1/{}/bulk", kind.collection()),
                        format!("{record}\n{with_id}\n"),
                    )
                }
            };
            Call {
                method,
                uri,
                body,
                who: Who::Editor,
            }
        }
        92..=94 => get("/v1/audit?limit=50".into(), Who::Admin),
        95..=96 => get("/metrics".into(), Who::Admin),
        _ => get("/readyz".into(), Who::Nobody),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_caller_gets_the_same_answers_with_or_without_hidden_records() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (all, _) = crate::index::load_records(&dir).unwrap();
    let visible: Vec<Record> = all
        .iter()
        .filter(|r| r.marking() == Marking::Official)
        .cloned()
        .collect();
    assert!(
        all.len() - visible.len() > 100,
        "the fixtures hold hidden records"
    );
    let with_hidden = [server(&all), server(&all)];
    let without = [server(&visible), server(&visible)];
    let vocabulary = Vocabulary::new(&all);

    // writes by someone who may see everything touch hidden records on the side that has them;
    // nothing of them may show to an OFFICIAL caller (the audit log above all)
    let hidden: Vec<&Record> = all
        .iter()
        .filter(|r| r.marking() != Marking::Official)
        .take(5)
        .collect();
    for side in &with_hidden {
        for record in &hidden {
            let uri = format!("/v1/{}/{}", record.kind().collection(), record.id());
            let body = record.to_json().to_string();
            let request = axum::http::Request::builder()
                .method(Method::PUT)
                .uri(&uri)
                .header(
                    "authorization",
                    format!("Bearer {}", side.secured.sensitive_editor),
                )
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let (status, _, answer) = respond(&side.app, request).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {answer}");
        }
    }

    let requests: usize = std::env::var("MUSTER_DIFFERENTIAL_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut rng = Rng::new(2026);
    let mut compared = 0;
    let mut found_something = 0;
    for n in 0..requests {
        let call = random_call(&mut rng, &vocabulary);
        let (status, body) = send(&with_hidden[0], &call).await;
        let (expected_status, expected) = send(&without[0], &call).await;
        assert_eq!(
            (status, &body),
            (expected_status, &expected),
            "request {n}: {} {} as {:?}\n{}",
            call.method,
            call.uri,
            call.who,
            call.body
        );
        // the second builds answer alike (writes go to them too, so they stay in step)
        assert_eq!(
            send(&with_hidden[1], &call).await,
            (status, body.clone()),
            "build 2, {n}"
        );
        assert_eq!(
            send(&without[1], &call).await,
            (status, body.clone()),
            "build 2, {n}"
        );
        if call.method == Method::GET && call.who == Who::Reader {
            let everything = Call {
                who: Who::SensitiveReader,
                ..call.clone()
            };
            assert_eq!(
                send(&with_hidden[0], &everything).await,
                send(&with_hidden[1], &everything).await,
                "two builds, a reader of everything: {}",
                call.uri
            );
        }
        compared += 1;
        found_something += usize::from(status == StatusCode::OK && body.len() > 200);
    }
    assert_eq!(compared, requests);
    assert!(
        found_something > requests / 3,
        "only {found_something} of {requests} answers had anything in them"
    );
}
