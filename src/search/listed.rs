//! [`Listed`]: records given by address, each with its own score.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED};

use crate::visible::explain_by_seeking;

/// Records given by address, each with its own score: the members case studies admit. One
/// scorer over a short sorted list per segment instead of a term query per member (each looked up
/// in the dictionary for its statistics, then again for its postings, then unioned).
#[derive(Clone, Debug)]
pub(super) struct Listed {
    /// Per segment, `(record, score)` sorted by record.
    pub(super) by_segment: Arc<HashMap<SegmentId, Vec<(DocId, Score)>>>,
}

impl Listed {
    /// The records at `scored`, each with its score.
    #[cfg(test)]
    pub(super) fn addresses(
        searcher: &Searcher,
        scored: &[(tantivy::DocAddress, Score)],
    ) -> Listed {
        let mut by_ord: Vec<Vec<(DocId, Score)>> =
            vec![Vec::new(); searcher.segment_readers().len()];
        for (address, score) in scored {
            by_ord[address.segment_ord as usize].push((address.doc_id, *score));
        }
        for listed in &mut by_ord {
            listed.sort_unstable_by_key(|(doc, _)| *doc);
        }
        Listed::by_ord(searcher, by_ord)
    }

    /// The records of each segment (by ordinal) in `docs`, in record order, each scoring
    /// `score`.
    pub(super) fn records(searcher: &Searcher, docs: &[Vec<DocId>], score: Score) -> Listed {
        let by_ord = docs
            .iter()
            .map(|docs| docs.iter().map(|&doc| (doc, score)).collect())
            .collect();
        Listed::by_ord(searcher, by_ord)
    }

    /// Per segment ordinal, `(record, score)` in record order.
    fn by_ord(searcher: &Searcher, by_ord: Vec<Vec<(DocId, Score)>>) -> Listed {
        let by_segment = searcher
            .segment_readers()
            .iter()
            .zip(by_ord)
            .filter(|(_, listed)| !listed.is_empty())
            .map(|(segment, listed)| (segment.segment_id(), listed))
            .collect();
        Listed {
            by_segment: Arc::new(by_segment),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_segment.values().all(Vec::is_empty)
    }
}

impl Query for Listed {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for Listed {
    fn scorer(&self, segment: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let listed = self
            .by_segment
            .get(&segment.segment_id())
            .cloned()
            .unwrap_or_default();
        Ok(Box::new(ListedScorer {
            listed,
            at: 0,
            boost,
        }))
    }

    fn explain(&self, segment: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_seeking(self, segment, doc, "listed")
    }
}

pub(super) struct ListedScorer {
    pub(super) listed: Vec<(DocId, Score)>,
    pub(super) at: usize,
    pub(super) boost: Score,
}

impl DocSet for ListedScorer {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.listed.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let rest = &self.listed[self.at..];
        self.at += rest.partition_point(|(doc, _)| *doc < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.listed.get(self.at).map_or(TERMINATED, |(doc, _)| *doc)
    }

    fn size_hint(&self) -> u32 {
        (self.listed.len() - self.at) as u32
    }
}

impl Scorer for ListedScorer {
    fn score(&mut self) -> Score {
        self.listed
            .get(self.at)
            .map_or(0.0, |(_, s)| *s * self.boost)
    }
}
