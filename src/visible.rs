//! The records of one kind a caller may see, and those whose clearance is in date, as cached
//! bit sets per segment.
//!
//! Every search is limited to one kind of record at or below the caller's marking. As query
//! clauses these were a term query over a posting list of most of the segment and a range over
//! the marking column, both sought for every candidate record; a clearance filter added a range
//! over the review-date column, sought the same way. A segment never changes once written
//! (deletions are applied separately, when hits are collected), so the records such clauses
//! admit are worked out once per segment and key (kind and marking; day), by running exactly
//! those clauses, and kept as a bit set (Lucene's filter cache does the same). A new segment,
//! from a write, gets its own sets; sets of segments merged away are pruned with the facet
//! tables.

use std::ops::Bound;
use std::sync::Arc;

use tantivy::query::{
    AllQuery, BooleanQuery, EnableScoring, Explanation, Occur, Query, RangeQuery, Scorer,
    TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

use crate::index::cache::{SegmentCache, SetKey};
use crate::index::tables::DocBits;
use crate::model::{Kind, Marking};
use crate::schema;

/// A filter whose records are worked out once per segment, by running `clauses` on it, and kept
/// as a bit set under `key`.
#[derive(Clone)]
pub struct CachedSet {
    key: SetKey,
    clauses: Arc<dyn Query>,
    cache: SegmentCache,
}

impl CachedSet {
    /// Records of `kind` marked at most `max_marking`, over the schema's `kind` and `marking`
    /// fields.
    pub fn visible(
        kind: Kind,
        max_marking: Marking,
        kind_field: Field,
        marking_field: Field,
        cache: SegmentCache,
    ) -> Self {
        let clauses = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(kind_field, schema::kind_code(kind)),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_u64(marking_field, 0)),
                    Bound::Included(Term::from_field_u64(marking_field, max_marking.rank())),
                )),
            ),
        ]);
        CachedSet {
            key: SetKey::Visible {
                kind: schema::kind_code(kind),
                marking: max_marking.rank(),
            },
            clauses: Arc::new(clauses),
            cache,
        }
    }

    /// Records whose clearance (review date in `due_field`) has not lapsed on `today` (a day
    /// number), and every record without a review date.
    pub fn in_date(today: i64, due_field: Field, cache: SegmentCache) -> Self {
        let lapsed: Box<dyn Query> = Box::new(RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_i64(due_field, today)),
        ));
        let clauses = BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (Occur::MustNot, lapsed),
        ]);
        CachedSet {
            key: SetKey::InDate { day: today },
            clauses: Arc::new(clauses),
            cache,
        }
    }

    /// The admitted records of `segment` (built on first use).
    pub fn bits(&self, segment: &SegmentReader) -> tantivy::Result<Arc<DocBits>> {
        self.cache.set(segment, self.key, || {
            DocBits::build(segment, self.clauses.as_ref())
        })
    }
}

impl std::fmt::Debug for CachedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSet")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Query for CachedSet {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for CachedSet {
    fn scorer(&self, segment: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(BitsScorer::new(self.bits(segment)?, boost)))
    }

    fn explain(&self, segment: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let name = match self.key {
            SetKey::Visible { .. } => "visible",
            SetKey::InDate { .. } => "clearance in date",
        };
        explain_by_seeking(self, segment, doc, name)
    }
}

/// Explains `doc` by seeking `weight`'s scorer to it: `name` and its score, or an error when it
/// does not match (for the filters and lists this crate implements itself).
pub(crate) fn explain_by_seeking(
    weight: &dyn Weight,
    segment: &SegmentReader,
    doc: DocId,
    name: &'static str,
) -> tantivy::Result<Explanation> {
    explain_scorer_at(weight.scorer(segment, 1.0)?, doc, name)
}

/// The score `scorer` gives record `doc`, explained as `name`; an error if it does not match.
pub(crate) fn explain_scorer_at(
    mut scorer: Box<dyn Scorer>,
    doc: DocId,
    name: &'static str,
) -> tantivy::Result<Explanation> {
    if scorer.seek(doc) != doc {
        return Err(tantivy::TantivyError::InvalidArgument(format!(
            "record {doc} is not {name}"
        )));
    }
    Ok(Explanation::new(name, scorer.score()))
}

/// The records of a [`DocBits`], in order, each scoring `boost`.
struct BitsScorer {
    bits: Arc<DocBits>,
    doc: DocId,
    boost: Score,
}

impl BitsScorer {
    fn new(bits: Arc<DocBits>, boost: Score) -> Self {
        let mut scorer = BitsScorer {
            bits,
            doc: 0,
            boost,
        };
        scorer.doc = scorer.first_from(0);
        scorer
    }

    /// The first record at or after `target`.
    #[inline]
    fn first_from(&self, target: DocId) -> DocId {
        let words = &self.bits.words;
        let mut at = target as usize / 64;
        let Some(&first) = words.get(at) else {
            return TERMINATED;
        };
        let mut word = first & (u64::MAX << (target % 64));
        while word == 0 {
            at += 1;
            match words.get(at) {
                Some(&w) => word = w,
                None => return TERMINATED,
            }
        }
        (at * 64) as DocId + word.trailing_zeros()
    }
}

impl DocSet for BitsScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.first_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc != TERMINATED && target > self.doc {
            self.doc = self.first_from(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.count
    }
}

impl Scorer for BitsScorer {
    fn score(&mut self) -> Score {
        self.boost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_bit_set_scorer_advances_and_seeks_like_the_sorted_records(
            docs in prop::collection::btree_set(0u32..700, 0..80),
            seeks in prop::collection::vec(0u32..760, 0..20),
        ) {
            let docs: Vec<DocId> = docs.into_iter().collect();
            let max_doc = 700;
            let next = |from: DocId| docs.iter().copied().find(|d| *d >= from).unwrap_or(TERMINATED);
            // advancing visits every record in order
            let mut scorer = BitsScorer::new(Arc::new(DocBits::from_docs(&docs, max_doc)), 1.0);
            let mut seen = Vec::new();
            while scorer.doc() != TERMINATED {
                seen.push(scorer.doc());
                scorer.advance();
            }
            prop_assert_eq!(&seen, &docs);
            prop_assert_eq!(scorer.advance(), TERMINATED);
            // seeking lands on the first record at or after the target, never going back
            let mut scorer = BitsScorer::new(Arc::new(DocBits::from_docs(&docs, max_doc)), 1.0);
            let mut at = next(0);
            for target in seeks {
                if at != TERMINATED && target > at {
                    at = next(target);
                }
                prop_assert_eq!(scorer.seek(target), at);
            }
        }
    }
}
