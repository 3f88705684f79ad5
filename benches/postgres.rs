//! Side by side: Muster and PostgreSQL full-text search on the same members and the same queries.
//!
//! The bench generates `MUSTER_BENCH_MEMBERS` members (default 100,000; seed 42), builds a Muster
//! index, starts Debian's PostgreSQL (`initdb` + `pg_ctl` from `/usr/lib/postgresql/*/bin`, or
//! `PG_BIN`) in a temporary directory on a loopback port, and loads the same members into one
//! table: a weighted `tsvector` (name and skills A, role B, summary C) with a GIN index, the filter
//! columns with b-tree indexes, skills (with their ancestors) and `skill>=level` keys in GIN-indexed
//! arrays. Each query of [`muster::workload::QUERIES`] then runs on both: on PostgreSQL as what a
//! team would write (`plainto_tsquery`, `ts_rank_cd` top 10, `count(*)`, one `GROUP BY` per facet,
//! a facet with an active filter counted without it, as Muster does), on Muster in-process. It
//! prints p50/p99 of each, the ratio, and both totals (they differ where the engines' matching
//! differs: Muster also admits members through skills named in the text and case studies they
//! wrote, and tolerates misspellings); and checks the facet counts of each engine: in Muster the
//! count shown for a region equals the total when filtering on it, in PostgreSQL the groups add up
//! to the total.
//!
//! PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user. Without
//! PostgreSQL the bench says so and exits successfully.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use muster::index::{load_records, open};
use muster::model::Record;
use muster::search::{SearchRequest, SortOrder, search};
use muster::taxonomy::Taxonomy;
use muster::workload::{QUERIES, percentile};

#[path = "support/postgres_server.rs"]
mod postgres_server;
mod support;

use postgres_server::{Server, pg_bin};

use support::{expert_requests, generate_and_index};

const ROUNDS: usize = 20;

fn csv_field(out: &mut String, value: &str) {
    out.push('"');
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

/// Loads the members: COPY into a staging table, then one INSERT ... SELECT builds the row.
fn load(client: &mut postgres::Client, records: &[Record], taxonomy: &Taxonomy) {
    client
        .batch_execute(
            "CREATE UNLOGGED TABLE staging (id text, name text, department text, parent text,
                clearance int, clearance_due date, availability int, grade text, gse_category text,
                region text, lat float8, lon float8, marking int, skills text, levels text,
                skill_text text, role text, summary text);",
        )
        .expect("staging table");
    let mut rows = String::new();
    for record in records {
        let Record::Member(m) = record else { continue };
        let mut skills: Vec<String> = Vec::new();
        let mut levels: Vec<String> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        for s in &m.skills {
            labels.push(s.name.clone());
            match taxonomy.lookup(&s.name) {
                Some(node) => {
                    for a in taxonomy.ancestors(node) {
                        let id = &taxonomy.node(a).id;
                        skills.push(id.clone());
                        for k in 1..=s.level.number() {
                            levels.push(format!("{id}>={k}"));
                        }
                    }
                }
                None => skills.push(format!("free:{}", s.name.to_lowercase())),
            }
        }
        skills.sort();
        skills.dedup();
        levels.sort();
        levels.dedup();
        let location = m.location.as_ref();
        let fields: Vec<String> = vec![
            m.id.clone(),
            m.name.clone(),
            m.department.clone(),
            m.parent_department.clone().unwrap_or_default(),
            m.clearance.rank().to_string(),
            m.clearance_review_due
                .map(|d| d.to_string())
                .unwrap_or_default(),
            m.availability.rank().to_string(),
            m.grade.map(|g| g.as_str().to_string()).unwrap_or_default(),
            m.gse_category
                .map(|g| g.as_str().to_string())
                .unwrap_or_default(),
            location.and_then(|l| l.region.clone()).unwrap_or_default(),
            location.map(|l| l.lat.to_string()).unwrap_or_default(),
            location.map(|l| l.lon.to_string()).unwrap_or_default(),
            m.marking.rank().to_string(),
            skills.join("|"),
            levels.join("|"),
            labels.join(", "),
            m.role.clone().unwrap_or_default(),
            m.summary.clone().unwrap_or_default(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                rows.push(',');
            }
            if !f.is_empty() {
                csv_field(&mut rows, f);
            }
        }
        rows.push('\n');
    }
    let mut writer = client
        .copy_in("COPY staging FROM STDIN (FORMAT csv)")
        .expect("copy in");
    std::io::Write::write_all(&mut writer, rows.as_bytes()).expect("copy rows");
    writer.finish().expect("copy finishes");
    client
        .batch_execute(
            "CREATE TABLE members AS SELECT id, department, parent, clearance, clearance_due,
                availability, grade, gse_category, region, lat, lon, marking,
                string_to_array(skills, '|') AS skills, string_to_array(levels, '|') AS levels,
                setweight(to_tsvector('english', coalesce(name, '')), 'A')
                  || setweight(to_tsvector('english', coalesce(skill_text, '')), 'A')
                  || setweight(to_tsvector('english', coalesce(role, '')), 'B')
                  || setweight(to_tsvector('english', coalesce(summary, '')), 'C') AS doc
              FROM staging;
             DROP TABLE staging;
             CREATE INDEX ON members USING gin (doc);
             CREATE INDEX ON members USING gin (skills);
             CREATE INDEX ON members USING gin (levels);
             CREATE INDEX ON members (department);
             CREATE INDEX ON members (parent);
             CREATE INDEX ON members (region);
             CREATE INDEX ON members (clearance);
             CREATE INDEX ON members (availability);",
        )
        .expect("members table and indexes");
    client
        .batch_execute("VACUUM ANALYZE members")
        .expect("vacuum analyze");
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The WHERE clauses of a request, by filter name (so a facet can be counted without its own).
fn where_clauses(request: &SearchRequest, taxonomy: &Taxonomy) -> Vec<(&'static str, String)> {
    let f = &request.filters;
    let mut out = vec![(
        "marking",
        format!("marking <= {}", request.max_marking.rank()),
    )];
    if let Some(q) = &request.text {
        out.push((
            "text",
            format!("doc @@ plainto_tsquery('english', {})", quote(q)),
        ));
    }
    for skill in &f.skills {
        let id = taxonomy
            .lookup(skill)
            .map(|n| taxonomy.node(n).id.clone())
            .unwrap_or_else(|| format!("free:{}", skill.to_lowercase()));
        let clause = match f.min_level {
            Some(level) => format!(
                "levels @> ARRAY[{}]",
                quote(&format!("{id}>={}", level.number()))
            ),
            None => format!("skills @> ARRAY[{}]", quote(&id)),
        };
        out.push(("skill", clause));
    }
    if !f.departments.is_empty() {
        let list = f
            .departments
            .iter()
            .map(|d| quote(d))
            .collect::<Vec<_>>()
            .join(",");
        out.push((
            "department",
            format!("(department IN ({list}) OR parent IN ({list}))"),
        ));
    }
    if let Some(c) = f.clearance {
        out.push((
            "clearance",
            format!(
                "clearance >= {} AND (clearance_due IS NULL OR clearance_due >= {})",
                c.rank(),
                quote(&request.today.to_string())
            ),
        ));
    }
    if let Some(a) = f.availability {
        out.push(("availability", format!("availability <= {}", a.rank())));
    }
    if !f.grades.is_empty() {
        let list = f
            .grades
            .iter()
            .map(|g| quote(g.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        out.push(("grade", format!("grade IN ({list})")));
    }
    if !f.regions.is_empty() {
        let list = f
            .regions
            .iter()
            .map(|r| quote(r))
            .collect::<Vec<_>>()
            .join(",");
        out.push(("region", format!("region IN ({list})")));
    }
    if let Some(near) = f.near
        && let Some(km) = near.within_km
    {
        out.push((
            "near",
            format!("{} <= {km}", distance_sql(near.lat, near.lon)),
        ));
    }
    out
}

fn distance_sql(lat: f64, lon: f64) -> String {
    format!(
        "(6371.0088 * 2 * asin(sqrt(power(sin(radians(lat - {lat}) / 2), 2) + cos(radians({lat})) * cos(radians(lat)) * power(sin(radians(lon - {lon}) / 2), 2))))"
    )
}

fn and(clauses: &[(&'static str, String)], skip: Option<&str>) -> String {
    let parts: Vec<&str> = clauses
        .iter()
        .filter(|(name, _)| Some(*name) != skip)
        .map(|(_, c)| c.as_str())
        .collect();
    if parts.is_empty() {
        "TRUE".into()
    } else {
        parts.join(" AND ")
    }
}

/// Facets Muster returns for experts, with the column (or expression) PostgreSQL groups by.
const FACETS: &[(&str, &str)] = &[
    ("department", "department"),
    ("skill", "unnest(skills)"),
    ("clearance", "clearance"),
    ("availability", "availability"),
    ("grade", "grade"),
    ("gse_category", "gse_category"),
    ("region", "region"),
];

/// One query on PostgreSQL: top 10, total, facets. Returns the total and the region facet.
fn pg_query(
    client: &mut postgres::Client,
    request: &SearchRequest,
    taxonomy: &Taxonomy,
) -> (i64, BTreeMap<String, i64>) {
    let clauses = where_clauses(request, taxonomy);
    let all = and(&clauses, None);
    let order = match (request.sort, request.filters.near, &request.text) {
        (SortOrder::Distance, Some(n), _) => format!("{} ASC", distance_sql(n.lat, n.lon)),
        (_, _, Some(q)) => format!(
            "ts_rank_cd(doc, plainto_tsquery('english', {})) DESC",
            quote(q)
        ),
        _ => "cardinality(levels) DESC".into(),
    };
    let mut sql = String::new();
    let _ = write!(
        sql,
        "SELECT id FROM members WHERE {all} ORDER BY {order} LIMIT 10"
    );
    client.query(&sql, &[]).expect("top 10");
    let total: i64 = client
        .query_one(&format!("SELECT count(*) FROM members WHERE {all}"), &[])
        .expect("count")
        .get(0);
    let mut region = BTreeMap::new();
    for (name, column) in FACETS {
        let active = clauses.iter().any(|(n, _)| n == name);
        let filter = and(&clauses, active.then_some(*name));
        let rows = client
            .query(
                &format!(
                    "SELECT {column}::text AS v, count(*) FROM members WHERE {filter} GROUP BY 1"
                ),
                &[],
            )
            .expect("facet");
        if *name == "region" && !active {
            for row in rows {
                let v: Option<String> = row.get(0);
                region.insert(v.unwrap_or_default(), row.get::<_, i64>(1));
            }
        }
    }
    (total, region)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let members: usize = std::env::var("MUSTER_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let Some(bin) = pg_bin() else {
        println!(
            "postgres comparison skipped: no PostgreSQL server binaries (install Debian's `postgresql` or set PG_BIN)"
        );
        return;
    };
    let taxonomy = Taxonomy::builtin();
    let data = tempfile::tempdir().expect("temp dir");
    let index_dir = tempfile::tempdir().expect("temp dir");
    generate_and_index(
        members,
        muster::generate::SkillSource::Profiles,
        data.path(),
        index_dir.path(),
    );
    let index = open(index_dir.path(), taxonomy.clone()).expect("open");
    let (records, _) = load_records(data.path()).expect("records");

    let server = Server::start(&bin);
    let mut client = server.connect();
    let started = Instant::now();
    load(&mut client, &records, &taxonomy);
    drop(records);
    let load_s = started.elapsed().as_secs_f64();

    let today = time::macros::date!(2026 - 11 - 22);
    let requests: Vec<SearchRequest> = expert_requests(QUERIES, today);
    // warm both
    for r in &requests {
        search(&index, r).expect("search");
        pg_query(&mut client, r, &taxonomy);
    }
    println!(
        "Muster vs PostgreSQL {} full-text search, {members} members (PostgreSQL load + indexes {load_s:.1} s), {ROUNDS} rounds",
        bin.display()
    );
    println!(
        "  {:<62} {:>17} {:>17} {:>7} {:>15}",
        "query", "Muster p50/p99 ms", "PG p50/p99 ms", "PG/M", "total M / PG"
    );
    let (mut all_m, mut all_pg) = (Vec::new(), Vec::new());
    let mut consistent = true;
    for (query, request) in QUERIES.iter().zip(&requests) {
        let (mut m_times, mut pg_times) = (Vec::new(), Vec::new());
        let mut totals = (0u64, 0i64);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let found = search(&index, request).expect("search");
            m_times.push(ms(t));
            let t = Instant::now();
            let (pg_total, pg_region) = pg_query(&mut client, request, &taxonomy);
            pg_times.push(ms(t));
            totals = (found.total, pg_total);
            // PostgreSQL: the groups of a facet not filtered on add up to the total
            if request.filters.regions.is_empty() {
                consistent &= pg_region.values().sum::<i64>() == pg_total;
            }
        }
        // Muster: the count shown for the biggest region is the total of that filter
        if request.filters.regions.is_empty() {
            let found = search(&index, request).expect("search");
            if let Some((region, count)) = found
                .facets
                .get("region")
                .and_then(|f| f.iter().max_by_key(|(_, c)| **c))
            {
                let mut narrowed = request.clone();
                narrowed.filters.regions = vec![region.clone()];
                let total = search(&index, &narrowed).expect("search").total;
                consistent &= total == *count;
            }
        }
        m_times.sort_by(|a, b| a.total_cmp(b));
        pg_times.sort_by(|a, b| a.total_cmp(b));
        let (m50, pg50) = (percentile(&m_times, 0.5), percentile(&pg_times, 0.5));
        println!(
            "  {:<62} {:>7.2} / {:>7.2} {:>7.2} / {:>7.2} {:>6.1}x {:>7} / {:<7}",
            query.chars().take(62).collect::<String>(),
            m50,
            percentile(&m_times, 0.99),
            pg50,
            percentile(&pg_times, 0.99),
            pg50 / m50,
            totals.0,
            totals.1
        );
        all_m.extend(m_times);
        all_pg.extend(pg_times);
    }
    all_m.sort_by(|a, b| a.total_cmp(b));
    all_pg.sort_by(|a, b| a.total_cmp(b));
    let (m50, pg50) = (percentile(&all_m, 0.5), percentile(&all_pg, 0.5));
    println!(
        "  {:<62} {:>7.2} / {:>7.2} {:>7.2} / {:>7.2} {:>6.1}x",
        "whole mix",
        m50,
        percentile(&all_m, 0.99),
        pg50,
        percentile(&all_pg, 0.99),
        pg50 / m50
    );
    println!(
        "  facet counts checked (Muster: region count = total with that region; PostgreSQL: groups add up to the total): {}",
        if consistent { "ok" } else { "MISMATCH" }
    );
}
