//! The best hits in a stable order: by score (or nearness), then by record id.
//!
//! tantivy's `TopDocs` breaks ties by where a record sits in the index (segment, then document
//! number), which depends on how the index was built: two builds of the same data, or two servers
//! that applied the same writes, can order records of equal score differently, and a page cut
//! inside a run of ties then holds different records. Here ties go to the smaller record id, the
//! same on every build. Within a segment the id column's ordinals sort as the ids do, so a segment
//! keeps its best by (key, ordinal) reading an ordinal only for a record that could enter the page;
//! the segments' pages are merged by (key, id).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
    type Fruit = Vec<(f64, String, DocAddress)>;

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
    }

    fn harvest(self) -> Self::Fruit {
        let mut best = self.heap.into_sorted_vec();
        best.truncate(self.want);
        let Some(ids) = self.ids else {
            return Vec::new();
        };
        let mut by_ord: Vec<(u64, usize)> = best.iter().map(|c| c.ord).zip(0..).collect();
        by_ord.sort_unstable();
        let mut names = vec![String::new(); best.len()];
        let ords: Vec<u64> = by_ord.iter().map(|(ord, _)| *ord).collect();
        let mut slots = by_ord.iter().map(|(_, i)| *i);
        let looked_up = ids.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            if let Some(i) = slots.next() {
                names[i] = String::from_utf8_lossy(bytes).into_owned();
            }
        });
        if looked_up.is_err() {
            return Vec::new();
        }
        best.into_iter()
            .zip(names)
            .map(|(c, id)| (c.key, id, DocAddress::new(self.segment, c.doc)))
            .collect()
    }
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
            place,
            heap: BinaryHeap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        matches!(self.order, Order::Score)
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(f64, String, DocAddress)>>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(f64, String, DocAddress)> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(all
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|(key, _, address)| (key, address))
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
            let top = StableTop { limit, offset, id_field: "id".into(), order: Order::Score };
            // each segment's fruit as the segment collector would give it: its best by key and id
            let fruits: Vec<Vec<(f64, String, DocAddress)>> = records
                .chunks(records.len().div_ceil(split))
                .enumerate()
                .map(|(s, chunk)| {
                    let mut best: Vec<(f64, String, DocAddress)> = chunk
                        .iter()
                        .enumerate()
                        .map(|(d, (k, id))| (*k, id.clone(), DocAddress::new(s as u32, d as u32)))
                        .collect();
                    best.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                    best.truncate(offset + limit);
                    best
                })
                .collect();
            let ids: std::collections::HashMap<DocAddress, String> = fruits
                .iter()
                .flatten()
                .map(|(_, id, a)| (*a, id.clone()))
                .collect();
            let page: Vec<String> = top
                .merge_fruits(fruits)
                .unwrap()
                .into_iter()
                .map(|(_, a)| ids[&a].clone())
                .collect();
            prop_assert_eq!(page, expected);
        }
    }
}
