//! BM25 statistics of only what a caller may see.
//!
//! tantivy scores a term by how many records hold it, how many records there are and how long a
//! field is on average, counted over the whole index. Records above the caller's marking would
//! then move the caller's scores and order, and decide which words count as "known" (and so are
//! not matched fuzzily) or which fragment is highlighted: each an inference about records that do
//! not exist for the caller. Search supplies its own statistics instead ([`Statistics`]): the
//! index's, less what the hidden records contribute, so a caller's scores are exactly those of an
//! index holding only what it may see.
//!
//! Per segment and marking ([`HiddenStats`], cached in [`StatsCache`]): the records above the
//! marking (a bit set, deleted ones included, as tantivy counts them), their number, their tokens
//! per scored text field (from the `tokens_*` columns the indexer writes), and, on first use, how
//! many of them hold a term (its posting list walked once against the bit set).

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::query::{Bm25StatisticsProvider, EnableScoring, RangeQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, SegmentReader, TERMINATED, Term};

use crate::model::Marking;
use crate::schema::Fields;
use crate::visible::DocBits;

/// What the records of one segment above one marking add to its statistics.
pub struct HiddenStats {
    bits: DocBits,
    /// Tokens per scored text field.
    tokens: HashMap<Field, u64>,
    /// Records holding a term, by term, filled on first use.
    doc_freq: Mutex<HashMap<Term, u64>>,
}

impl HiddenStats {
    fn build(segment: &SegmentReader, fields: &Fields, marking: Marking) -> tantivy::Result<Self> {
        let above = RangeQuery::new(
            Bound::Excluded(Term::from_field_u64(fields.marking, marking.rank())),
            Bound::Unbounded,
        );
        let bits = DocBits::build(segment, &above)?;
        let mut tokens = HashMap::new();
        for (text, count) in &fields.token_counts {
            let column = segment.fast_fields().u64(fields.name_of(*count))?;
            let sum: u64 = bits.docs().filter_map(|doc| column.first(doc)).sum();
            tokens.insert(*text, sum);
        }
        Ok(HiddenStats {
            bits,
            tokens,
            doc_freq: Mutex::new(HashMap::new()),
        })
    }

    /// Hidden records of the segment holding `term`.
    fn doc_freq(&self, segment: &SegmentReader, term: &Term) -> tantivy::Result<u64> {
        if self.bits.count() == 0 {
            return Ok(0);
        }
        if let Some(found) = self.lock().get(term) {
            return Ok(*found);
        }
        let mut count = 0u64;
        let index = segment.inverted_index(term.field())?;
        if let Some(mut postings) = index.read_postings(term, IndexRecordOption::Basic)? {
            let mut doc = postings.doc();
            while doc != TERMINATED {
                count += u64::from(self.bits.contains(doc));
                doc = postings.advance();
            }
        }
        self.lock().insert(term.clone(), count);
        Ok(count)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Term, u64>> {
        self.doc_freq.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The hidden statistics of each segment (and marking rank) worked out so far.
type BySegment = HashMap<(SegmentId, u64), Arc<HiddenStats>>;

/// Hidden statistics per segment and marking, shared by every search over the same segments.
#[derive(Default, Clone)]
pub struct StatsCache {
    sets: Arc<Mutex<BySegment>>,
}

impl StatsCache {
    fn get(
        &self,
        segment: &SegmentReader,
        fields: &Fields,
        marking: Marking,
    ) -> tantivy::Result<Arc<HiddenStats>> {
        let key = (segment.segment_id(), marking.rank());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // built outside the lock: another search may build the same meanwhile
        let built = Arc::new(HiddenStats::build(segment, fields, marking)?);
        self.lock().insert(key, built.clone());
        Ok(built)
    }

    /// Drops what belongs to segments `searcher` no longer has (merged or deleted).
    pub fn prune(&self, searcher: &Searcher) {
        let live: HashSet<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        let mut sets = self.lock();
        if sets.len() > live.len() * Marking::ALL.len() {
            sets.retain(|(segment, _), _| live.contains(segment));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BySegment> {
        self.sets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The statistics of what a caller may see, over one searcher.
pub struct Statistics<'a> {
    searcher: &'a Searcher,
    /// Per segment (by ordinal), what the hidden records add; empty when nothing is hidden.
    hidden: Vec<Arc<HiddenStats>>,
}

impl<'a> Statistics<'a> {
    /// The statistics of everything marked at most `max_marking` in `searcher`.
    pub fn new(
        searcher: &'a Searcher,
        fields: &Fields,
        cache: &StatsCache,
        max_marking: Marking,
    ) -> tantivy::Result<Statistics<'a>> {
        let sees_all = Marking::ALL.last().is_none_or(|top| max_marking >= *top);
        let hidden = if sees_all {
            Vec::new()
        } else {
            searcher
                .segment_readers()
                .iter()
                .map(|segment| cache.get(segment, fields, max_marking))
                .collect::<tantivy::Result<_>>()?
        };
        Ok(Statistics { searcher, hidden })
    }

    /// Scoring with these statistics.
    pub fn scoring(&'a self) -> EnableScoring<'a> {
        EnableScoring::enabled_from_statistics_provider(self, self.searcher)
    }

    /// Visible records holding `term`.
    pub fn visible_doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let all = self.searcher.doc_freq(term)?;
        let mut hidden = 0;
        for (segment, stats) in self.searcher.segment_readers().iter().zip(&self.hidden) {
            hidden += stats.doc_freq(segment, term)?;
        }
        Ok(all.saturating_sub(hidden))
    }
}

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let all = Bm25StatisticsProvider::total_num_tokens(self.searcher, field)?;
        let hidden: u64 = self
            .hidden
            .iter()
            .map(|h| h.tokens.get(&field).copied().unwrap_or(0))
            .sum();
        Ok(all.saturating_sub(hidden))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        let all = Bm25StatisticsProvider::total_num_docs(self.searcher)?;
        let hidden: u64 = self.hidden.iter().map(|h| u64::from(h.bits.count())).sum();
        Ok(all.saturating_sub(hidden))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.visible_doc_freq(term)
    }
}
