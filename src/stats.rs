//! BM25 statistics of exactly what a caller may see.
//!
//! tantivy scores a term by how many records hold it, how many records there are and how long a
//! field is on average, counted over the whole index: records above the caller's marking
//! included, and deleted records too, until a merge (which then estimates the token counts from
//! rounded field lengths). Records above the caller's marking would move the caller's scores and
//! order, and decide which words count as "known" (not matched fuzzily) or which fragment is
//! highlighted: each an inference about records that do not exist for that caller. And two
//! indexes of the same records with different histories (writes, merges) would score them
//! differently.
//!
//! So search supplies its own statistics ([`Statistics`]), counted over the live records at or
//! below the caller's marking only: how many there are, their tokens per scored text field (from
//! the `tokens_*` columns the indexer writes), and, on first use of a term, how many hold it (its
//! posting list walked once against those records). A caller's scores are then exactly those of
//! an index holding only what it may see, however the index came to be. Per segment, its deletes
//! and the marking, the counts are cached ([`StatsCache`]).

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::query::{Bm25StatisticsProvider, EnableScoring, RangeQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, SegmentReader, TERMINATED, Term};

use crate::index::tables::DocBits;
use crate::model::Marking;
use crate::schema::Fields;

/// What the live records of one segment at or below one marking count for.
pub struct SegmentStats {
    /// The live records at or below the marking.
    records: DocBits,
    /// Their tokens per scored text field.
    tokens: HashMap<Field, u64>,
    /// How many of them hold a term, by term, filled on first use.
    doc_freq: Mutex<HashMap<Term, u64>>,
}

impl SegmentStats {
    fn build(segment: &SegmentReader, fields: &Fields, marking: Marking) -> tantivy::Result<Self> {
        let at_most = RangeQuery::new(
            Bound::Included(Term::from_field_u64(fields.marking, 0)),
            Bound::Included(Term::from_field_u64(fields.marking, marking.rank())),
        );
        let mut records = DocBits::build(segment, &at_most)?;
        if let Some(alive) = segment.alive_bitset() {
            records.retain(|doc| alive.is_alive(doc));
        }
        let mut tokens = HashMap::new();
        for (text, count) in &fields.token_counts {
            let column = segment.fast_fields().u64(fields.name_of(*count))?;
            let sum: u64 = records.docs().filter_map(|doc| column.first(doc)).sum();
            tokens.insert(*text, sum);
        }
        Ok(SegmentStats {
            records,
            tokens,
            doc_freq: Mutex::new(HashMap::new()),
        })
    }

    /// Records counted here holding `term`.
    fn doc_freq(&self, segment: &SegmentReader, term: &Term) -> tantivy::Result<u64> {
        if let Some(found) = self.lock().get(term) {
            return Ok(*found);
        }
        let mut count = 0u64;
        let index = segment.inverted_index(term.field())?;
        if let Some(mut postings) = index.read_postings(term, IndexRecordOption::Basic)? {
            let mut doc = postings.doc();
            while doc != TERMINATED {
                count += u64::from(self.records.contains(doc));
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

/// A segment as of its deletes, and a marking's rank.
type Key = (SegmentId, u32, u64);

/// Statistics per segment (as of its deletes) and marking, shared by every search.
#[derive(Default, Clone)]
pub struct StatsCache {
    sets: Arc<Mutex<HashMap<Key, Arc<SegmentStats>>>>,
}

impl StatsCache {
    fn get(
        &self,
        segment: &SegmentReader,
        fields: &Fields,
        marking: Marking,
    ) -> tantivy::Result<Arc<SegmentStats>> {
        let key = (
            segment.segment_id(),
            segment.num_deleted_docs(),
            marking.rank(),
        );
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // built outside the lock: another search may build the same meanwhile
        let built = Arc::new(SegmentStats::build(segment, fields, marking)?);
        self.lock().insert(key, built.clone());
        Ok(built)
    }

    /// Drops what belongs to segments (or states of their deletes) `searcher` no longer has.
    pub fn prune(&self, searcher: &Searcher) {
        let live: HashSet<(SegmentId, u32)> = searcher
            .segment_readers()
            .iter()
            .map(|r| (r.segment_id(), r.num_deleted_docs()))
            .collect();
        let mut sets = self.lock();
        if sets.len() > live.len() * Marking::ALL.len() {
            sets.retain(|(segment, deleted, _), _| live.contains(&(*segment, *deleted)));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<SegmentStats>>> {
        self.sets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The statistics of what a caller may see, over one searcher.
pub struct Statistics<'a> {
    searcher: &'a Searcher,
    /// Per segment, by ordinal.
    segments: Vec<Arc<SegmentStats>>,
}

impl<'a> Statistics<'a> {
    /// The statistics of the live records marked at most `max_marking` in `searcher`.
    pub fn new(
        searcher: &'a Searcher,
        fields: &Fields,
        cache: &StatsCache,
        max_marking: Marking,
    ) -> tantivy::Result<Statistics<'a>> {
        let segments = searcher
            .segment_readers()
            .iter()
            .map(|segment| cache.get(segment, fields, max_marking))
            .collect::<tantivy::Result<_>>()?;
        Ok(Statistics { searcher, segments })
    }

    /// Scoring with these statistics.
    pub fn scoring(&'a self) -> EnableScoring<'a> {
        EnableScoring::enabled_from_statistics_provider(self, self.searcher)
    }

    /// Records the caller may see holding `term`.
    pub fn visible_doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut count = 0;
        for (segment, stats) in self.searcher.segment_readers().iter().zip(&self.segments) {
            count += stats.doc_freq(segment, term)?;
        }
        Ok(count)
    }
}

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        if self.segments.iter().any(|s| !s.tokens.contains_key(&field)) {
            // not a scored text field (its scores are never used): tantivy's own count
            return Bm25StatisticsProvider::total_num_tokens(self.searcher, field);
        }
        Ok(self.segments.iter().map(|s| s.tokens[&field]).sum())
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self
            .segments
            .iter()
            .map(|s| u64::from(s.records.count()))
            .sum())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.visible_doc_freq(term)
    }
}
