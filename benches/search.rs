//! Search latency on generated data: a fixed mix of realistic queries (1-3 words, filters,
//! facets on, some near a place), in-process, one at a time.
//!
//! `MUSTER_BENCH_MEMBERS` sets the size (default 100,000 members), `MUSTER_BENCH_ROUNDS` the
//! rounds of the mix (default 50); `MUSTER_BENCH_SKILLS=esco` gives the members ESCO concepts by
//! their labels and asks 500 queries of words of ESCO labels instead of the mix (as the Typesense
//! bench does); `MUSTER_BENCH_INDEX` names an index already built (then the
//! member count is only a label); `MUSTER_BENCH_ONLY` keeps the queries containing its text and skips the rest;
//! `MUSTER_BENCH_SIZES` also prints each response's total, size in bytes and skill facet values.
//! Prints the time to build the facet tables, p50/p95/p99 over the mix, typeahead and emergency
//! muster latency, the library's own floor for the mix's words (below), then criterion's
//! estimate for the headline query (q + 2 filters + facets).

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use muster::access::Caller;
use muster::index::{MusterIndex, open};
use muster::search::{FacetChoice, FacetName, SearchRequest, search};
use muster::taxonomy::Taxonomy;
use muster::workload::{MUSTERS, percentile};

mod support;

use support::{expert_requests, generate_and_index, workload};

fn search_latency(c: &mut Criterion) {
    let members: usize = std::env::var("MUSTER_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let taxonomy = Taxonomy::builtin();
    let (skills, mix) = workload(&taxonomy);
    let data = tempfile::tempdir().expect("temp dir");
    let built = tempfile::tempdir().expect("temp dir");
    // MUSTER_BENCH_INDEX: an index already built (by `muster generate` + `muster index`)
    let index_dir = match std::env::var_os("MUSTER_BENCH_INDEX") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            generate_and_index(members, skills, data.path(), built.path());
            built.path().to_path_buf()
        }
    };
    let index = open(&index_dir, taxonomy).expect("open");
    let caller = Caller::demo();
    let today = time::macros::date!(2026 - 11 - 22);
    // MUSTER_BENCH_ONLY: time only the queries containing this text (for profiling one)
    let only = std::env::var("MUSTER_BENCH_ONLY").unwrap_or_default();
    let queries: Vec<&str> = mix
        .iter()
        .map(String::as_str)
        .filter(|q| q.contains(&only))
        .collect();
    let requests: Vec<_> = expert_requests(&queries, today);

    let warm = Instant::now();
    muster::search::warm_facets(&index).expect("facet tables");
    println!(
        "facet tables built in {:.0} ms (once per segment, at start-up)",
        warm.elapsed().as_secs_f64() * 1000.0
    );
    // warm up, then time 50 rounds of the mix
    for r in &requests {
        search(&index, r).expect("search");
    }
    if std::env::var_os("MUSTER_BENCH_SIZES").is_some() {
        for (q, r) in queries.iter().zip(&requests) {
            let response = search(&index, r).expect("search");
            let skill = response.facets.get("skill").map_or(0, |f| f.len());
            let bytes = serde_json::to_vec(&response).expect("json").len();
            println!(
                "  {:>8} matches, {bytes:>8} bytes, {skill:>5} skill facet values  {q}",
                response.total
            );
        }
    }
    let mut latencies = Vec::new();
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); requests.len()];
    let started = Instant::now();
    let rounds: usize = std::env::var("MUSTER_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    for _ in 0..rounds {
        for (i, r) in requests.iter().enumerate() {
            let t = Instant::now();
            search(&index, r).expect("search");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            latencies.push(ms);
            per_query[i].push(ms);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    for (query, mut times) in queries.iter().zip(per_query) {
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "  p50 {:>7.2} ms  p99 {:>7.2} ms  {query}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "search latency, {members} members, {} queries: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {:.0} queries/s on one thread",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        latencies.len() as f64 / wall
    );

    // the same mix asking for what a peer engine's comparison asks: two facets, no highlights
    let lean: Vec<SearchRequest> = requests
        .iter()
        .map(|r| SearchRequest {
            facets: FacetChoice::These(vec![FacetName::Department, FacetName::Availability]),
            highlights: false,
            ..r.clone()
        })
        .collect();
    let mut lean_latencies = Vec::new();
    for _ in 0..rounds.div_ceil(2) {
        for r in &lean {
            let t = Instant::now();
            search(&index, r).expect("search");
            lean_latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    lean_latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "two facets, no highlights, {} queries: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        lean_latencies.len(),
        percentile(&lean_latencies, 0.50),
        percentile(&lean_latencies, 0.95),
        percentile(&lean_latencies, 0.99),
    );

    if !only.is_empty() {
        return; // profiling one query: nothing else
    }

    let suggest = muster::suggest::SuggestIndex::build(&index).expect("suggest index");
    let prefixes = [
        "e",
        "ep",
        "epid",
        "bay",
        "viro",
        "met off",
        "porton",
        "cl",
        "nuclear s",
        "wome",
        "flood",
        "dstl",
    ];
    let mut typeahead = Vec::new();
    for _ in 0..100 {
        for p in prefixes {
            let t = Instant::now();
            std::hint::black_box(suggest.suggest(p, muster::model::Marking::Official, 8));
            typeahead.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    typeahead.sort_by(|a, b| a.total_cmp(b));
    println!(
        "suggest latency, {} lookups: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        typeahead.len(),
        percentile(&typeahead, 0.50),
        percentile(&typeahead, 0.99),
        typeahead[typeahead.len() - 1]
    );

    // emergency musters: several skills, hard constraints, facilities
    let musters: Vec<muster::muster::MusterRequest> = MUSTERS
        .iter()
        .map(|m| {
            muster::muster::MusterRequest::from_body(
                serde_json::from_str(m).expect("muster body"),
                &index,
                caller.max_marking,
                today,
            )
            .expect("valid muster")
        })
        .collect();
    let mut muster_times = Vec::new();
    for _ in 0..20 {
        for m in &musters {
            let t = Instant::now();
            std::hint::black_box(muster::muster::muster(&index, m).expect("muster"));
            muster_times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    muster_times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "muster latency, {members} members, {} musters: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        muster_times.len(),
        percentile(&muster_times, 0.50),
        percentile(&muster_times, 0.95),
        percentile(&muster_times, 0.99),
        muster_times[muster_times.len() - 1]
    );

    library_floor(&index, &queries, &requests);

    let headline = &requests[0];
    c.bench_function(&format!("search_q_2_filters_facets_{members}"), |b| {
        b.iter(|| search(&index, headline).expect("search"))
    });
}

/// What tantivy itself takes for the bare words of each text query of the mix, on the same
/// index: every word must match one of the four member text fields, with no filter, no marking,
/// no skills named by the text, no misspellings, no case-study credit; counted alone, then with
/// the ten best by BM25, then with the seven member facets counted by tantivy's own collector at
/// their first level (Muster counts every level of the skill and department trees). The first
/// two are the least any search built on this library does for these requests; the third is the
/// library's stock way to add facets. All three are set beside what Muster takes for the whole
/// request.
fn library_floor(index: &MusterIndex, queries: &[&str], requests: &[SearchRequest]) {
    use tantivy::Term;
    use tantivy::collector::{Count, FacetCollector, MultiCollector, TopDocs};
    use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
    use tantivy::schema::IndexRecordOption;

    let fields = &index.fields;
    let searcher = index.reader.searcher();
    let mut english = muster::text::english_analyzer();
    let facets = [
        fields.department,
        fields.skill_facet,
        fields.clearance_facet,
        fields.availability_facet,
        fields.grade_facet,
        fields.gse_category,
        fields.region,
    ];
    let rounds = 20;
    let time = |run: &dyn Fn()| {
        run();
        let t = Instant::now();
        for _ in 0..rounds {
            run();
        }
        t.elapsed().as_secs_f64() * 1000.0 / rounds as f64
    };
    println!(
        "library floor: tantivy alone on each query's bare words (every word in one of 4 fields; no filter, marking or skills), mean of {rounds}:"
    );
    let mut sums = [0.0f64; 4];
    let mut n = 0;
    for (query, request) in queries.iter().zip(requests) {
        let Some(text) = request.text.as_deref() else {
            continue;
        };
        let words: Vec<(Occur, Box<dyn Query>)> = muster::text::tokens(&mut english, text)
            .iter()
            .map(|stem| {
                let any: Vec<(Occur, Box<dyn Query>)> =
                    [fields.name, fields.skills_text, fields.role, fields.summary]
                        .iter()
                        .map(|field| {
                            let term: Box<dyn Query> = Box::new(TermQuery::new(
                                Term::from_field_text(*field, stem),
                                IndexRecordOption::WithFreqs,
                            ));
                            (Occur::Should, term)
                        })
                        .collect();
                let word: Box<dyn Query> = Box::new(BooleanQuery::new(any));
                (Occur::Must, word)
            })
            .collect();
        let bare = BooleanQuery::new(words);
        let matches = searcher.search(&bare, &Count).expect("count");
        let count = time(&|| {
            searcher.search(&bare, &Count).expect("count");
        });
        let top = time(&|| {
            let collector = (TopDocs::with_limit(10).order_by_score(), Count);
            searcher.search(&bare, &collector).expect("top");
        });
        let faceted = time(&|| {
            let mut collector = MultiCollector::new();
            collector.add_collector(TopDocs::with_limit(10).order_by_score());
            collector.add_collector(Count);
            for field in facets {
                let mut facet = FacetCollector::for_field(fields.name_of(field));
                facet.add_facet("/");
                collector.add_collector(facet);
            }
            searcher.search(&bare, &collector).expect("facets");
        });
        let whole = time(&|| {
            search(index, request).expect("search");
        });
        println!(
            "  {matches:>8} matches  count {count:>6.2} ms  + top 10 {top:>6.2} ms  + 7 facets {faceted:>6.2} ms  Muster, whole request {whole:>6.2} ms  {query}"
        );
        for (sum, ms) in sums.iter_mut().zip([count, top, faceted, whole]) {
            *sum += ms;
        }
        n += 1;
    }
    if n > 0 {
        let [count, top, faceted, whole] = sums.map(|s| s / n as f64);
        println!(
            "library floor, mean of {n} text queries: count {count:.2} ms, + top 10 {top:.2} ms, + 7 facets {faceted:.2} ms; Muster {whole:.2} ms. At most {:.0} and {:.0} requests/s on two cores for the last two floors",
            2000.0 / top,
            2000.0 / faceted
        );
    }
}

criterion_group!(benches, search_latency);
criterion_main!(benches);
