//! The best hits in a stable order: by score (or nearness), then by record id.
//!
//! tantivy's `TopDocs` breaks ties by where a record sits in the index (segment, then document
//! number), which depends on how the index was built: two builds of the same data, or two servers
//! that applied the same writes, can order records of equal score differently, and a page cut
//! inside a run of ties then holds different records. Here ties go to the smaller record id, the
//! same on every build. Within a segment the id column's ordinals sort as the ids do, so a segment
//! keeps its best by (key, ordinal) reading an ordinal only for a record that could enter the page;
//! the segments' pages are merged by key, and ids are read only where a key ties across segments.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::search::{Near, haversine_km};

/// What orders the hits, best first.
#[derive(Debug, Clone)]
pub enum Order {
    /// Highest score first.
    Score,
    /// Nearest to a point first (records without a place last); the names of the latitude and
    /// longitude fast fields.
    Distance {
        /// The point.
        near: Near,
        /// Latitude fast field.
        lat: String,
        /// Longitude fast field.
        lon: String,
    },
}

/// Collects the `offset + limit` best hits and keeps the last `limit`, best first, each with its
/// sort key (the score, or minus the distance in km).
#[derive(Debug, Clone)]
pub struct StableTop {
    /// Hits wanted.
    pub limit: usize,
    /// Hits skipped before them.
    pub offset: usize,
    /// The fast field holding record ids.
    pub id_field: String,
    /// How hits are ordered.
    pub order: Order,
    /// Raised to the lowest score still on a segment's page once that page is full (with
    /// [`Order::Score`] only).
    pub bar: Arc<Bar>,
}

/// The score a record must reach to enter a search's page: the lowest score on some segment's
/// full page (that segment alone holds a page of records scoring at least as much), so a record
/// scoring less cannot be on the page. Shared by the segments' collectors, which raise it, and
/// a scorer that may then skip work for a record that cannot reach it
/// ([`crate::credit::WithCredit`]). It only rises: a bar read late is lower, never wrong.
#[derive(Debug)]
pub struct Bar(AtomicU32);

impl Default for Bar {
    fn default() -> Self {
        Bar(AtomicU32::new(f32::NEG_INFINITY.to_bits()))
    }
}

impl Bar {
    /// The score to reach: a record scoring less cannot be on the page.
    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(AtomicOrdering::Relaxed))
    }

    /// Raises the bar to `score` if that is higher.
    fn raise(&self, score: f32) {
        let _ = self
            .0
            .fetch_update(AtomicOrdering::Relaxed, AtomicOrdering::Relaxed, |old| {
                (score > f32::from_bits(old)).then_some(score.to_bits())
            });
    }
}

/// A candidate in one segment: its key, id ordinal and document.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    key: f64,
    ord: u64,
    doc: DocId,
}

impl Candidate {
    /// Better first: a higher key, then a smaller id.
    fn better(&self, other: &Candidate) -> bool {
        match self.key.total_cmp(&other.key) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => self.ord < other.ord,
        }
    }
}

// the heap keeps the worst candidate on top
impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.better(other) {
            Ordering::Less
        } else if other.better(self) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }
}

/// One segment's best candidates.
pub struct StableTopSegment {
    want: usize,
    segment: SegmentOrdinal,
    ids: Option<StrColumn>,
    place: Option<(Near, Column<f64>, Column<f64>)>,
    heap: BinaryHeap<Candidate>,
    bar: Option<Arc<Bar>>,
}

impl StableTopSegment {
    fn ord_of(&self, doc: DocId) -> u64 {
        self.ids
            .as_ref()
            .and_then(|c| c.ords().first(doc))
            .unwrap_or(u64::MAX)
    }
}

impl SegmentCollector for StableTopSegment {
    type Fruit = SegmentBest;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.want == 0 {
            return;
        }
        let key = match &self.place {
            None => f64::from(score),
            Some((near, lat, lon)) => match (lat.first(doc), lon.first(doc)) {
                (Some(a), Some(b)) => -haversine_km(near.lat, near.lon, a, b),
                _ => f64::NEG_INFINITY,
            },
        };
        if self.heap.len() == self.want
            && let Some(worst) = self.heap.peek()
            && key < worst.key
        {
            return;
        }
        let candidate = Candidate {
            key,
            ord: self.ord_of(doc),
            doc,
        };
        if self.heap.len() < self.want {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate.better(&worst)
        {
            *worst = candidate;
        }
        if self.heap.len() == self.want
            && let (Some(bar), Some(worst)) = (&self.bar, self.heap.peek())
        {
            // keys are scores here (no place): the cast gives the score back exactly
            bar.raise(worst.key as f32);
        }
    }

    fn harvest(self) -> SegmentBest {
        let mut best = self.heap.into_sorted_vec();
        if self.ids.is_none() {
            // a segment without ids holds no record
            best.clear();
        }
        SegmentBest {
            best,
            segment: self.segment,
            ids: self.ids,
        }
    }
}

/// One segment's best candidates, best first, with the segment's id column to name them by
/// where a key ties with another segment's.
pub struct SegmentBest {
    best: Vec<Candidate>,
    segment: SegmentOrdinal,
    ids: Option<StrColumn>,
}

impl SegmentBest {
    /// The id of the record with id ordinal `ord`.
    fn id(&self, ord: u64) -> io::Result<String> {
        let mut id = String::new();
        if let Some(ids) = &self.ids
            && ord != u64::MAX
        {
            ids.ord_to_str(ord, &mut id)?;
        }
        Ok(id)
    }
}

/// The page `offset..offset + limit` of the segments' best, each as its key and the position of
/// its segment in `pages`: by key, best first; ties within a segment by id ordinal (the order of
/// the ids), ties across segments by the ids `name` gives (segment position, ordinal), asked only
/// for the keys that tie across segments before the page ends.
fn merge_pages(
    pages: &[&[Candidate]],
    offset: usize,
    limit: usize,
    name: impl Fn(usize, u64) -> io::Result<String>,
) -> io::Result<Vec<(usize, Candidate)>> {
    let mut all: Vec<(usize, Candidate)> = pages
        .iter()
        .enumerate()
        .flat_map(|(p, best)| best.iter().map(move |c| (p, *c)))
        .collect();
    all.sort_by(|a, b| {
        b.1.key
            .total_cmp(&a.1.key)
            .then(a.0.cmp(&b.0))
            .then(a.1.ord.cmp(&b.1.ord))
    });
    let end = all.len().min(offset + limit);
    let mut start = 0;
    while start < end {
        let key = all[start].1.key;
        let run = all[start..]
            .iter()
            .take_while(|(_, c)| c.key.total_cmp(&key) == Ordering::Equal)
            .count();
        let tied = &mut all[start..start + run];
        // sorted by segment within the key: the run spans segments if its ends differ
        if tied[0].0 != tied[run - 1].0 {
            let mut named = tied
                .iter()
                .map(|&(p, c)| Ok((name(p, c.ord)?, (p, c))))
                .collect::<io::Result<Vec<_>>>()?;
            named.sort_by(|a, b| a.0.cmp(&b.0));
            for (slot, (_, candidate)) in tied.iter_mut().zip(named) {
                *slot = candidate;
            }
        }
        start += run;
    }
    Ok(all.into_iter().skip(offset).take(limit).collect())
}

impl Collector for StableTop {
    type Fruit = Vec<(f64, DocAddress)>;
    type Child = StableTopSegment;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<StableTopSegment> {
        let place = match &self.order {
            Order::Score => None,
            Order::Distance { near, lat, lon } => Some((
                *near,
                segment.fast_fields().f64(lat)?,
                segment.fast_fields().f64(lon)?,
            )),
        };
        Ok(StableTopSegment {
            want: self.offset + self.limit,
            segment: segment_ord,
            ids: segment.fast_fields().str(&self.id_field)?,
            bar: place.is_none().then(|| self.bar.clone()),
            place,
            heap: BinaryHeap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        matches!(self.order, Order::Score)
    }

    fn merge_fruits(&self, fruits: Vec<SegmentBest>) -> tantivy::Result<Self::Fruit> {
        let pages: Vec<&[Candidate]> = fruits.iter().map(|f| f.best.as_slice()).collect();
        let page = merge_pages(&pages, self.offset, self.limit, |p, ord| fruits[p].id(ord))?;
        Ok(page
            .into_iter()
            .map(|(p, c)| (c.key, DocAddress::new(fruits[p].segment, c.doc)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the scores and however the records are spread over segments, the page is
        /// the same: the best keys, ties to the smaller id.
        #[test]
        fn the_page_depends_on_keys_and_ids_only(
            records in proptest::collection::vec((0u8..4, 0u16..500), 1..60),
            split in 1usize..4,
            limit in 1usize..10,
            offset in 0usize..5,
        ) {
            // distinct ids, keys with many ties
            let mut seen = std::collections::HashSet::new();
            let records: Vec<(f64, String)> = records
                .into_iter()
                .filter(|(_, id)| seen.insert(*id))
                .map(|(key, id)| (f64::from(key), format!("r-{id:03}")))
                .collect();
            let mut expected = records.clone();
            expected.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let expected: Vec<String> =
                expected.into_iter().skip(offset).take(limit).map(|(_, id)| id).collect();
            // each segment's best as its collector keeps them: ordinals in the order of its ids
            let pages: Vec<Vec<(Candidate, String)>> = records
                .chunks(records.len().div_ceil(split))
                .map(|chunk| {
                    let mut ids: Vec<&String> = chunk.iter().map(|(_, id)| id).collect();
                    ids.sort();
                    let mut best: Vec<(Candidate, String)> = chunk
                        .iter()
                        .enumerate()
                        .map(|(d, (key, id))| {
                            let ord = ids.iter().position(|i| *i == id).unwrap() as u64;
                            (Candidate { key: *key, ord, doc: d as DocId }, id.clone())
                        })
                        .collect();
                    best.sort_by_key(|a| a.0);
                    best.truncate(offset + limit);
                    best
                })
                .collect();
            let candidates: Vec<Vec<Candidate>> =
                pages.iter().map(|p| p.iter().map(|(c, _)| *c).collect()).collect();
            let slices: Vec<&[Candidate]> = candidates.iter().map(Vec::as_slice).collect();
            let named = |p: usize, ord: u64| {
                let page = &pages[p];
                Ok(page.iter().find(|(c, _)| c.ord == ord).unwrap().1.clone())
            };
            let page: Vec<String> = merge_pages(&slices, offset, limit, named)
                .unwrap()
                .into_iter()
                .map(|(p, c)| pages[p].iter().find(|(k, _)| k.doc == c.doc).unwrap().1.clone())
                .collect();
            prop_assert_eq!(page, expected);
        }
    }

    #[test]
    fn ids_are_read_only_for_keys_tied_across_segments() {
        let c = |key: f64, ord: u64, doc: DocId| Candidate { key, ord, doc };
        let a = [c(5.0, 3, 0), c(4.0, 0, 1), c(2.0, 1, 2)];
        let b = [c(4.5, 7, 0), c(4.0, 2, 1), c(1.0, 0, 2)];
        let asked = std::cell::RefCell::new(Vec::new());
        let name = |p: usize, ord: u64| {
            asked.borrow_mut().push((p, ord));
            // segment b's record sorts first by id
            Ok(format!("{}-{ord}", if p == 0 { "z" } else { "a" }))
        };
        let page = merge_pages(&[&a, &b], 0, 4, name).unwrap();
        let docs: Vec<(usize, DocId)> = page.iter().map(|(p, c)| (*p, c.doc)).collect();
        assert_eq!(docs, [(0, 0), (1, 0), (1, 1), (0, 1)]);
        assert_eq!(
            *asked.borrow(),
            [(0, 0), (1, 2)],
            "only the tie at 4.0 is named"
        );
        // past the page's end, a tie is not named
        asked.borrow_mut().clear();
        merge_pages(&[&a, &b], 0, 2, name).unwrap();
        assert!(asked.borrow().is_empty());
    }
}
