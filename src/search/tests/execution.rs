//! Tests of how a search runs: several segments in parallel answer as one, and the listed-records scorer.

use super::*;

/// The fixtures split into three segments, as a large build splits its records.
fn fixtures_in_three_segments() -> MusterIndex {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (records, _) = crate::index::load_records(&dir).unwrap();
    crate::index::in_ram_segments(&records, Taxonomy::builtin(), 3).unwrap()
}

/// Term statistics for an OFFICIAL reader of `index`.
fn official_statistics<'a>(index: &MusterIndex, searcher: &'a tantivy::Searcher) -> Statistics<'a> {
    Statistics::new(
        searcher,
        &index.fields,
        &index.stats_cache,
        Marking::Official,
    )
    .unwrap()
}

#[test]
fn an_index_in_several_segments_answers_exactly_as_one_segment_does() {
    // a large build is split into one segment per core, searched in parallel
    let split = fixtures_in_three_segments();
    assert_eq!(split.reader.searcher().segment_readers().len(), 3);
    let one = fixture_index();
    let caller = crate::access::Caller::demo();
    let mut queries: Vec<&str> = crate::workload::QUERIES.to_vec();
    queries.extend([
        "q=modelling",
        "q=statistcs",
        "q=%22dispersion%20modelling%22&sort=distance&near=51.5,-0.12",
        "department=MOD&offset=5&limit=7",
        "",
    ]);
    let (mut found, mut compared) = (0, 0);
    for kind in [Kind::Member, Kind::CaseStudy, Kind::Facility] {
        for q in &queries {
            let pairs = crate::search::query_pairs(Some(q));
            let Ok(mut r) = crate::search::parse_search(Some(kind), &pairs, &caller, TODAY) else {
                continue; // a parameter this kind does not take
            };
            r.explain = true;
            for marking in [Marking::Official, Marking::OfficialSensitive] {
                r.max_marking = marking;
                let a = search(one, &r).unwrap();
                let b = search(&split, &r).unwrap();
                found += usize::from(a.total > 0);
                compared += assert_same_answer(&a, &b, &format!("{kind:?} {q} at {marking}"));
            }
        }
    }
    for body in crate::workload::MUSTERS {
        let answer = |index: &MusterIndex| {
            let request = crate::muster::MusterRequest::from_body(
                serde_json::from_str(body).unwrap(),
                index,
                Marking::OfficialSensitive,
                TODAY,
            )
            .unwrap();
            let mut value =
                serde_json::to_value(crate::muster::muster(index, &request).unwrap()).unwrap();
            value["took_ms"] = json!(0);
            value
        };
        assert_eq!(answer(one), answer(&split), "muster {body}");
    }
    // the segments on one, two (one thread taking two segments) and three threads
    let searcher = split.reader.searcher();
    let stats = official_statistics(&split, &searcher);
    for q in ["modelling", "statistics", "health", "risk"] {
        let clauses = parse_text(q);
        let query = text_query(
            &split,
            &stats,
            Kind::Member,
            &clauses,
            true,
            Least::Rule,
            Words::Score,
        )
        .unwrap()
        .unwrap();
        let collector = || (TopDocs::with_limit(30).order_by_score(), Count);
        let alone = collect_on(&searcher, &stats, query.as_ref(), collector(), 1).unwrap();
        assert!(alone.1 > 30, "{q}: {}", alone.1);
        for threads in [2, 3] {
            let parallel =
                collect_on(&searcher, &stats, query.as_ref(), collector(), threads).unwrap();
            assert_eq!(alone, parallel, "{q} on {threads} threads");
        }
    }
    assert!(found >= 50, "only {found} searches found something");
    assert!(compared >= 200, "only {compared} hits compared in full");
}

/// Counts a segment's records, but fails on one segment: with an error or a panic.
struct FailingOn {
    segment: u32,
    panic: bool,
}

struct Counting(usize);

impl tantivy::collector::SegmentCollector for Counting {
    type Fruit = usize;
    fn collect(&mut self, _: tantivy::DocId, _: Score) {
        self.0 += 1;
    }
    fn harvest(self) -> usize {
        self.0
    }
}

impl tantivy::collector::Collector for FailingOn {
    type Fruit = usize;
    type Child = Counting;
    fn for_segment(
        &self,
        segment: tantivy::SegmentOrdinal,
        _: &tantivy::SegmentReader,
    ) -> tantivy::Result<Counting> {
        if segment == self.segment {
            assert!(!self.panic, "segment {segment} cannot be counted");
            return Err(tantivy::TantivyError::InternalError(format!(
                "segment {segment} failed"
            )));
        }
        Ok(Counting(0))
    }
    fn requires_scoring(&self) -> bool {
        false
    }
    fn merge_fruits(&self, fruits: Vec<usize>) -> tantivy::Result<usize> {
        Ok(fruits.into_iter().sum())
    }
}

#[test]
fn a_segment_searched_by_a_worker_fails_the_search_and_the_workers_serve_the_next() {
    let split = fixtures_in_three_segments();
    let searcher = split.reader.searcher();
    let stats = official_statistics(&split, &searcher);
    let all = tantivy::query::AllQuery;
    let whole = searcher.search(&all, &Count).unwrap();
    // the calling thread takes the largest segment's share: fail the others, on the workers
    let largest = (0..3)
        .max_by_key(|&ord| {
            (
                searcher.segment_reader(ord).max_doc(),
                std::cmp::Reverse(ord),
            )
        })
        .unwrap();
    for segment in (0..3).filter(|&ord| ord != largest) {
        let failed = collect_on(
            &searcher,
            &stats,
            &all,
            FailingOn {
                segment,
                panic: false,
            },
            3,
        );
        let message = failed.unwrap_err().to_string();
        assert!(
            message.contains(&format!("segment {segment} failed")),
            "{message}"
        );
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect_on(
                &searcher,
                &stats,
                &all,
                FailingOn {
                    segment,
                    panic: true,
                },
                3,
            )
        }));
        let panic = panicked.expect_err("a worker's panic reaches the caller");
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains("cannot be counted"), "{text}");
        // and the next search still gets every segment counted
        for threads in [1, 2, 3] {
            let counted = collect_on(
                &searcher,
                &stats,
                &all,
                FailingOn {
                    segment: 99,
                    panic: true,
                },
                threads,
            )
            .unwrap();
            assert_eq!(counted, whole, "on {threads} threads after a failure");
        }
    }
}

#[test]
fn a_listed_scorer_advances_and_seeks_like_a_posting_list() {
    let mut scorer = ListedScorer {
        listed: vec![(3, 1.0), (8, 2.0), (9, 3.0), (40, 4.0)],
        at: 0,
        boost: 2.0,
    };
    assert_eq!((scorer.doc(), scorer.score()), (3, 2.0));
    assert_eq!(scorer.seek(3), 3, "seeking the current record stays");
    assert_eq!(
        scorer.seek(4),
        8,
        "seeking past a gap lands on the next record"
    );
    assert_eq!(scorer.size_hint(), 3);
    assert_eq!((scorer.advance(), scorer.score()), (9, 6.0));
    assert_eq!(scorer.seek(41), TERMINATED);
    assert_eq!(
        scorer.advance(),
        TERMINATED,
        "advancing past the end stays there"
    );
    assert_eq!(scorer.score(), 0.0);
    let mut empty = ListedScorer {
        listed: Vec::new(),
        at: 0,
        boost: 1.0,
    };
    assert_eq!(empty.doc(), TERMINATED);
    assert_eq!(empty.seek(0), TERMINATED);
}
