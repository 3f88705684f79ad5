//! [`AnyOf`]: records matching any of a few queries, scoring the sum of those that match.

use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

use crate::visible::explain_by_seeking;

/// Records matching any of `queries`, scoring the sum of the scores of those that match, added
/// in the order given (so the same sums as a `BooleanQuery` of `Should` clauses).
///
/// For the few alternatives a search unions (a word's fields, the ways a record may be admitted,
/// the parts of a score): tantivy's union buffers a window of 4,096 records, allocating and
/// clearing a score for each, and fills the window from every alternative on each seek past it,
/// so a union seeked to the few records the filters leave reads every alternative's postings
/// anyway. This one keeps each alternative where it is and seeks only those behind the target.
#[derive(Debug)]
pub(super) struct AnyOf {
    queries: Vec<Box<dyn Query>>,
}

impl Clone for AnyOf {
    fn clone(&self) -> AnyOf {
        AnyOf::new(self.queries.iter().map(|q| q.box_clone()).collect())
    }
}

impl AnyOf {
    pub(super) fn new(queries: Vec<Box<dyn Query>>) -> AnyOf {
        AnyOf { queries }
    }
}

impl Query for AnyOf {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .queries
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(AnyOfWeight { weights }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for query in &self.queries {
            query.query_terms(visitor);
        }
    }
}

struct AnyOfWeight {
    weights: Vec<Box<dyn Weight>>,
}

impl Weight for AnyOfWeight {
    fn scorer(&self, segment: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorers = Vec::with_capacity(self.weights.len());
        for weight in &self.weights {
            let scorer = weight.scorer(segment, boost)?;
            if scorer.doc() != TERMINATED {
                scorers.push(scorer);
            }
        }
        Ok(match scorers.len() {
            0 => Box::new(EmptyScorer),
            1 => scorers.remove(0),
            _ => Box::new(AnyOfScorer::new(scorers)),
        })
    }

    fn explain(&self, segment: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_seeking(self, segment, doc, "any of")
    }
}

/// The union of a few scorers, each left at its own record (kept beside it, so finding the
/// lowest reads no scorer): advancing moves those at the current record, seeking those behind
/// the target.
struct AnyOfScorer {
    scorers: Vec<Box<dyn Scorer>>,
    docs: Vec<DocId>,
    doc: DocId,
}

impl AnyOfScorer {
    fn new(scorers: Vec<Box<dyn Scorer>>) -> AnyOfScorer {
        let docs: Vec<DocId> = scorers.iter().map(|s| s.doc()).collect();
        let doc = docs.iter().copied().min().unwrap_or(TERMINATED);
        AnyOfScorer { scorers, docs, doc }
    }
}

impl DocSet for AnyOfScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        let mut lowest = TERMINATED;
        for (scorer, doc) in self.scorers.iter_mut().zip(&mut self.docs) {
            if *doc == self.doc {
                *doc = scorer.advance();
            }
            lowest = lowest.min(*doc);
        }
        self.doc = lowest;
        lowest
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let mut lowest = TERMINATED;
        for (scorer, doc) in self.scorers.iter_mut().zip(&mut self.docs) {
            if *doc < target {
                *doc = scorer.seek(target);
            }
            lowest = lowest.min(*doc);
        }
        self.doc = lowest;
        lowest
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        // at least the largest alternative, at most all of them together
        self.scorers
            .iter()
            .map(|s| s.size_hint())
            .max()
            .unwrap_or(0)
    }

    fn cost(&self) -> u64 {
        self.scorers.iter().map(|s| s.cost()).sum()
    }
}

impl Scorer for AnyOfScorer {
    fn score(&mut self) -> Score {
        let mut sum: Score = 0.0;
        for (scorer, doc) in self.scorers.iter_mut().zip(&self.docs) {
            if *doc == self.doc {
                sum += scorer.score();
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, STRING, Schema, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument, doc};

    use super::*;

    /// Three fields, records with a word in none, one or several of them, spread over more
    /// than tantivy's buffered window so seeks jump past it.
    fn index() -> (Index, Vec<tantivy::schema::Field>, tantivy::schema::Field) {
        let mut schema = Schema::builder();
        let fields: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|name| schema.add_text_field(name, TEXT))
            .collect();
        let even = schema.add_text_field("even", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter<TantivyDocument> = index.writer(15_000_000).unwrap();
        for i in 0u32..10_000 {
            let mut d = doc!(even => if i.is_multiple_of(2) { "yes" } else { "no" });
            for (k, field) in fields.iter().enumerate() {
                let word = if (i as usize + k).is_multiple_of(3 + k * 4) {
                    "word word"
                } else if i % 7 == k as u32 {
                    "word"
                } else {
                    "other"
                };
                d.add_text(*field, word);
            }
            writer.add_document(d).unwrap();
        }
        writer.commit().unwrap();
        (index, fields, even)
    }

    fn alternatives(fields: &[tantivy::schema::Field]) -> Vec<Box<dyn Query>> {
        fields
            .iter()
            .enumerate()
            .map(|(k, field)| -> Box<dyn Query> {
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(*field, "word"),
                        IndexRecordOption::WithFreqs,
                    )),
                    1.0 + k as f32,
                ))
            })
            .collect()
    }

    #[test]
    fn matches_and_scores_as_a_boolean_union_does_alone_and_behind_a_filter() {
        let (index, fields, even) = index();
        let searcher = index.reader().unwrap().searcher();
        let ours = AnyOf::new(alternatives(&fields));
        let theirs = BooleanQuery::new(
            alternatives(&fields)
                .into_iter()
                .map(|q| (Occur::Should, q))
                .collect(),
        );
        let filtered = |q: Box<dyn Query>| -> BooleanQuery {
            BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(even, "yes"),
                        IndexRecordOption::Basic,
                    )),
                ),
                (Occur::Must, q),
            ])
        };
        let all = || TopDocs::with_limit(10_000).order_by_score();
        for (a, b) in [
            (
                Box::new(ours.clone()) as Box<dyn Query>,
                Box::new(theirs.clone()) as Box<dyn Query>,
            ),
            (
                Box::new(filtered(Box::new(ours))),
                Box::new(filtered(Box::new(theirs))),
            ),
        ] {
            let (ours, count) = searcher.search(a.as_ref(), &(all(), Count)).unwrap();
            let (theirs, expected) = searcher.search(b.as_ref(), &(all(), Count)).unwrap();
            assert!(count > 1_000, "the test should cover many records: {count}");
            assert_eq!(count, expected);
            let sorted = |mut hits: Vec<(Score, tantivy::DocAddress)>| {
                hits.sort_by_key(|(_, address)| *address);
                hits
            };
            assert_eq!(sorted(ours), sorted(theirs));
        }
    }

    #[test]
    fn seeks_land_on_the_first_match_at_or_after_the_target() {
        let (index, fields, _) = index();
        let searcher = index.reader().unwrap().searcher();
        let segment = &searcher.segment_readers()[0];
        let weight = AnyOf::new(alternatives(&fields))
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .unwrap();
        let mut all = Vec::new();
        let mut scorer = weight.scorer(segment, 1.0).unwrap();
        while scorer.doc() != TERMINATED {
            all.push(scorer.doc());
            scorer.advance();
        }
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        let mut scorer = weight.scorer(segment, 1.0).unwrap();
        for target in (0..10_000).step_by(4_099).chain([9_999, TERMINATED]) {
            let expected = all
                .iter()
                .copied()
                .find(|&d| d >= target)
                .unwrap_or(TERMINATED);
            assert_eq!(scorer.seek(target), expected, "seek to {target}");
        }
        assert!(weight.explain(segment, all[0]).is_ok());
        let missing = (0..).find(|d| !all.contains(d)).unwrap();
        assert!(weight.explain(segment, missing).is_err());
    }
}
