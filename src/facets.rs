//! Facet counts for search, in the same collector pass as the hits and the total.
//!
//! A facet value is a path (`/Life sciences/Microbiology/Virology`, `/MOD/Dstl`); a count is
//! kept for every prefix of a value whose parent is a drill-down node (for most fields only the
//! root, for skills every inner node of the taxonomy), and a record counts once per prefix however
//! many of its values share it. Which prefixes a value of a segment's dictionary contributes to
//! depends only on the segment, so it is worked out once per segment and field and cached, with
//! each record's value ordinals decoded into plain arrays (and, for a multi-valued field such as
//! skills, each record's prefixes listed once); a search then only bumps dense counters for each
//! matching record (single-valued fields: one counter per value, spread over its prefixes at the
//! end; multi-valued: one per listed prefix).
//!
//! A filter the caller set on a faceted field is checked here ([`Gated`]) rather than in the
//! query, so its own facet can count every value "as if the filter were unset" in the same pass.
//! The caller's marking is never a gate: it stays in the query.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Weight;
use tantivy::schema::Facet;
use tantivy::{DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED};

use crate::index::cache::SegmentCache;
use crate::index::tables::{Bucket, FacetSpec, FieldTable};

/// Counts several facets in one pass.
pub struct FacetTally {
    /// What to count.
    pub specs: Vec<FacetSpec>,
    /// For each spec, the deepest prefix wanted (1: children of the root); `None` for all. Deeper
    /// counts are left out of each segment's fruit, so a shallow view of a wide tree does not pay
    /// for naming every value.
    pub depths: Vec<Option<usize>>,
    /// Where the per-segment tables live.
    pub cache: SegmentCache,
}

/// Counts of one facet: prefix path -> (the prefix, records).
pub type PrefixCounts = FxHashMap<Arc<str>, (Bucket, u64)>;

impl FacetTally {
    /// Turns counts into the response's flat `label -> count` map. Shallower prefixes first, so
    /// a label that also names a deeper node shows the deeper count.
    pub fn flatten(counts: &PrefixCounts) -> BTreeMap<String, u64> {
        // per label, the deepest prefix it names (of equal depths, the last path in order)
        let mut by_label: FxHashMap<&str, &(Bucket, u64)> = FxHashMap::default();
        for counted in counts.values() {
            let bucket = &counted.0;
            if bucket.label.is_empty() {
                continue;
            }
            let kept = by_label.entry(&bucket.label).or_insert(counted);
            if (bucket.depth, &bucket.path) > (kept.0.depth, &kept.0.path) {
                *kept = counted;
            }
        }
        by_label
            .into_iter()
            .map(|(label, (_, count))| (label.to_string(), *count))
            .collect()
    }
}

/// One facet's counting state in a segment.
struct Counting {
    table: Arc<FieldTable>,
    /// Records per value ordinal, when each record has at most one value in this segment: then
    /// counting is one increment per record, spread over the prefixes at harvest.
    by_ord: Vec<u64>,
    counts: Vec<u64>,
    max_depth: Option<usize>,
}

/// [`FacetTally`] in one segment.
pub struct FacetTallySegment(Vec<Counting>);

impl Collector for FacetTally {
    type Fruit = Vec<PrefixCounts>;
    type Child = FacetTallySegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetTallySegment> {
        let mut out = Vec::with_capacity(self.specs.len());
        for (i, spec) in self.specs.iter().enumerate() {
            let table = self.cache.get(segment, spec)?;
            let n = table.buckets.buckets.len();
            let by_ord = match table.values.single_valued() {
                true => vec![0; table.buckets.starts.len().saturating_sub(1)],
                false => Vec::new(),
            };
            out.push(Counting {
                table,
                by_ord,
                counts: vec![0; n],
                max_depth: self.depths.get(i).copied().flatten(),
            });
        }
        Ok(FacetTallySegment(out))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<PrefixCounts>>) -> tantivy::Result<Self::Fruit> {
        let mut fruits = fruits.into_iter();
        let Some(mut merged) = fruits.next() else {
            return Ok(vec![PrefixCounts::default(); self.specs.len()]);
        };
        for fruit in fruits {
            for (total, part) in merged.iter_mut().zip(fruit) {
                for (path, (bucket, count)) in part {
                    total.entry(path).or_insert((bucket, 0)).1 += count;
                }
            }
        }
        Ok(merged)
    }
}

impl Counting {
    #[inline]
    fn count(&mut self, doc: DocId) {
        if self.table.values.single_valued() {
            if let Some(slot) = self
                .table
                .values
                .first(doc)
                .and_then(|o| self.by_ord.get_mut(o as usize))
            {
                *slot += 1;
            }
            return;
        }
        self.table.doc_buckets.count(doc, &mut self.counts);
    }
}

impl SegmentCollector for FacetTallySegment {
    type Fruit = Vec<PrefixCounts>;

    fn collect(&mut self, doc: DocId, _: Score) {
        for c in &mut self.0 {
            c.count(doc);
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.0
            .into_iter()
            .map(|mut c| {
                for (ord, n) in c.by_ord.iter().enumerate().filter(|(_, n)| **n > 0) {
                    for &b in c.table.buckets.of(ord as u64) {
                        c.counts[b as usize] += n;
                    }
                }
                let buckets = &c.table.buckets.buckets;
                c.counts
                    .iter()
                    .zip(buckets)
                    .filter(|(n, bucket)| {
                        **n > 0 && c.max_depth.is_none_or(|max| bucket.depth <= max)
                    })
                    .map(|(n, bucket)| (bucket.path.clone(), (bucket.clone(), *n)))
                    .collect()
            })
            .collect()
    }
}

/// A filter on a facet field checked by the collector instead of the query, so that the counts
/// of its own facet (every value, as if it were not set) come from the same pass: a record that
/// fails only this filter counts in its facet and nowhere else.
#[derive(Clone)]
pub struct Gate {
    /// Name of the tantivy facet field.
    pub field: String,
    /// The facets admitted (encoded, as `Facet::encoded_str`): a value passes when it is one of
    /// them or below one.
    pub admit: Arc<Vec<Vec<u8>>>,
    /// Which of the tally's specs is this filter's own facet.
    pub facet: usize,
}

impl Gate {
    /// A gate admitting `facets` (and their descendants) of `field`, whose facet is spec `facet`.
    pub fn new(field: &str, facets: &[Facet], facet: usize) -> Self {
        Gate {
            field: field.to_string(),
            admit: Arc::new(
                facets
                    .iter()
                    .map(|f| f.encoded_str().as_bytes().to_vec())
                    .collect(),
            ),
            facet,
        }
    }

    fn admits(&self, value: &[u8]) -> bool {
        self.admit
            .iter()
            .any(|a| a.is_empty() || value == a || (value.starts_with(a) && value[a.len()] == 0))
    }
}

/// `inner` (hits, total) sees only the records that pass every gate; the tally counts every
/// facet over those, and each gate's own facet also over the records that fail only that gate.
pub struct Gated<C> {
    /// Collects the records passing every gate.
    pub inner: C,
    /// Every facet to count (the gates' own among them).
    pub tally: FacetTally,
    /// Filters checked here rather than in the query.
    pub gates: Vec<Gate>,
}

/// One gate in one segment: which value ordinals pass.
struct SegmentGate {
    table: Arc<FieldTable>,
    passes: Vec<bool>,
    facet: usize,
}

impl SegmentGate {
    /// `gate` in one segment, whose facet column's table is `table`.
    fn new(gate: &Gate, table: Arc<FieldTable>) -> tantivy::Result<Self> {
        let mut passes = Vec::new();
        if let Some(column) = &table.column {
            let mut stream = column.dictionary().stream()?;
            while stream.advance() {
                passes.push(gate.admits(stream.key()));
            }
        }
        Ok(SegmentGate {
            table,
            passes,
            facet: gate.facet,
        })
    }

    #[inline]
    fn admits(&self, doc: DocId) -> bool {
        let passes = |ord: &u32| self.passes.get(*ord as usize).copied().unwrap_or(false);
        match self.table.values.single_valued() {
            true => self.table.values.first(doc).as_ref().is_some_and(passes),
            false => self.table.values.of(doc).iter().any(passes),
        }
    }
}

/// [`Gated`] in one segment.
pub struct GatedSegment<S> {
    inner: S,
    tally: FacetTallySegment,
    gates: Vec<SegmentGate>,
}

impl<C: Collector> Collector for Gated<C> {
    type Fruit = (C::Fruit, Vec<PrefixCounts>);
    type Child = GatedSegment<C::Child>;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let tally = self.tally.for_segment(ord, segment)?;
        let mut gates = Vec::with_capacity(self.gates.len());
        for gate in &self.gates {
            // a gate is a filter: one that cannot be checked must fail the search, not pass all
            let counting = tally.0.get(gate.facet).ok_or_else(|| {
                tantivy::TantivyError::InternalError(format!(
                    "the filter on `{}` has no facet to count",
                    gate.field
                ))
            })?;
            gates.push(SegmentGate::new(gate, counting.table.clone())?);
        }
        Ok(GatedSegment {
            inner: self.inner.for_segment(ord, segment)?,
            tally,
            gates,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    /// tantivy's loop, but a record is scored only once it passes every gate: the records that
    /// fail one only count in its facet, so their score (the optional skill-level and credit
    /// clauses sought, every clause summed) would be thrown away.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<<Self::Child as SegmentCollector>::Fruit> {
        let mut segment = self.for_segment(segment_ord, reader)?;
        let mut scorer = weight.scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                segment.collect_scoring(doc, || scorer.score());
            }
            doc = scorer.advance();
        }
        Ok(segment.harvest())
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<Self::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<Self::Fruit> {
        let (inner, tally): (Vec<_>, Vec<_>) = fruits.into_iter().unzip();
        Ok((
            self.inner.merge_fruits(inner)?,
            self.tally.merge_fruits(tally)?,
        ))
    }
}

impl<S: SegmentCollector> GatedSegment<S> {
    /// [`SegmentCollector::collect`], asking for the score only when the record passes every
    /// gate.
    #[inline]
    fn collect_scoring(&mut self, doc: DocId, score: impl FnOnce() -> Score) {
        let mut failed = None;
        for gate in &self.gates {
            if !gate.admits(doc) {
                if failed.is_some() {
                    return; // fails two filters: counts nowhere
                }
                failed = Some(gate.facet);
            }
        }
        match failed {
            None => {
                let score = score();
                self.inner.collect(doc, score);
                self.tally.collect(doc, score);
            }
            Some(facet) => {
                if let Some(c) = self.tally.0.get_mut(facet) {
                    c.count(doc);
                }
            }
        }
    }
}

impl<S: SegmentCollector> SegmentCollector for GatedSegment<S> {
    type Fruit = (S::Fruit, Vec<PrefixCounts>);

    fn collect(&mut self, doc: DocId, score: Score) {
        self.collect_scoring(doc, || score);
    }

    fn harvest(self) -> Self::Fruit {
        (self.inner.harvest(), self.tally.harvest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use tantivy::collector::Count;
    use tantivy::query::AllQuery;
    use tantivy::schema::{FacetOptions, Schema};
    use tantivy::{Index, TantivyDocument};

    #[test]
    fn a_label_naming_several_nodes_shows_the_deepest_count_then_the_last_path() {
        let bucket = |depth: usize, path: &str| Bucket {
            depth,
            path: path.into(),
            label: path.rsplit('/').next().unwrap_or_default().into(),
        };
        let counts: PrefixCounts = [
            (bucket(1, "/Data"), 9),
            (bucket(2, "/Methods/Data"), 4),
            (bucket(2, "/Archive/Data"), 7),
            (bucket(1, "/Methods"), 6),
        ]
        .into_iter()
        .map(|(b, n)| (b.path.clone(), (b, n)))
        .collect();
        let flat = FacetTally::flatten(&counts);
        assert_eq!(
            flat.into_iter().collect::<Vec<_>>(),
            vec![("Data".to_string(), 4), ("Methods".to_string(), 6)]
        );
    }

    /// An index of one segment whose records hold the facet paths given, in field `f`.
    fn index_of(records: &[Vec<String>]) -> Index {
        let mut schema = Schema::builder();
        let f = schema.add_facet_field("f", FacetOptions::default());
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 100_000_000).unwrap();
        for paths in records {
            let mut doc = TantivyDocument::default();
            for path in paths {
                doc.add_facet(f, Facet::from(path.as_str()));
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        index
    }

    /// What the tally must say, counted the slow way: each record once per prefix of its values
    /// whose parent is a drill-down node, by prefix path.
    fn counted_by_hand(records: &[Vec<String>], parents: &[&str]) -> BTreeMap<String, u64> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for paths in records {
            let mut prefixes: HashSet<String> = HashSet::new();
            for path in paths {
                let labels: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                for depth in 1..=labels.len() {
                    let parent = format!("/{}", labels[..depth - 1].join("/"));
                    if !parents.contains(&parent.as_str()) {
                        break;
                    }
                    prefixes.insert(format!("/{}", labels[..depth].join("/")));
                }
            }
            for prefix in prefixes {
                *counts.entry(prefix).or_default() += 1;
            }
        }
        counts
    }

    fn tally(index: &Index, parents: &[&str], gates: Vec<Gate>) -> (usize, BTreeMap<String, u64>) {
        let parents: Vec<String> = parents.iter().map(|p| p.to_string()).collect();
        let collector = Gated {
            inner: Count,
            tally: FacetTally {
                specs: vec![FacetSpec::new("f", "f", &parents)],
                depths: vec![None],
                cache: SegmentCache::default(),
            },
            gates,
        };
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 1);
        let (count, mut counts) = searcher.search(&AllQuery, &collector).unwrap();
        let by_path = counts
            .remove(0)
            .into_iter()
            .map(|(path, (_, n))| (path.to_string(), n));
        (count, by_path.collect())
    }

    #[test]
    fn a_single_valued_facet_of_more_values_than_a_byte_holds_counts_each_value() {
        // 300 values: past the byte-per-record form, so each record's ordinal takes four bytes
        let records: Vec<Vec<String>> = (0..900)
            .map(|i| vec![format!("/value {:03}", i % 300)])
            .chain(std::iter::once(Vec::new()))
            .collect();
        let index = index_of(&records);
        let (count, counts) = tally(&index, &["/"], Vec::new());
        assert_eq!(count, 901);
        assert_eq!(counts.len(), 300);
        assert!(counts.values().all(|&n| n == 3), "{counts:?}");
        assert_eq!(counts, counted_by_hand(&records, &["/"]));
    }

    #[test]
    fn a_few_values_take_a_byte_a_record_and_count_the_same() {
        let records: Vec<Vec<String>> = (0..500)
            .map(|i| vec![format!("/MOD/team {}", i % 7)])
            .collect();
        let index = index_of(&records);
        let (_, counts) = tally(&index, &["/", "/MOD"], Vec::new());
        assert_eq!(counts["/MOD"], 500);
        assert_eq!(counts["/MOD/team 0"], 72);
        assert_eq!(counts, counted_by_hand(&records, &["/", "/MOD"]));
    }

    #[test]
    fn a_record_with_a_long_list_of_values_counts_once_per_prefix() {
        let mut records: Vec<Vec<String>> = vec![
            (0..200).map(|k| format!("/science/skill {k}")).collect(),
            vec!["/science/skill 7".into(), "/science/skill 7".into()],
            vec!["/engineering/skill 7".into(), "/science/skill 8".into()],
        ];
        records.push(Vec::new());
        let index = index_of(&records);
        let parents = ["/", "/science", "/engineering"];
        let (_, counts) = tally(&index, &parents, Vec::new());
        assert_eq!(
            counts["/science"], 3,
            "a record counts once however many values it has"
        );
        assert_eq!(counts["/engineering"], 1);
        assert_eq!(counts["/science/skill 7"], 2);
        assert_eq!(counts["/engineering/skill 7"], 1);
        assert_eq!(counts, counted_by_hand(&records, &parents));
    }

    #[test]
    fn more_prefixes_than_two_bytes_number_are_counted_with_four_byte_ids() {
        // 70,000 distinct values, two to a record: past the 65,536 buckets of the two-byte form
        let records: Vec<Vec<String>> = (0..35_000)
            .map(|i| vec![format!("/a/{i}"), format!("/b/{i}")])
            .collect();
        let index = index_of(&records);
        let parents = ["/", "/a", "/b"];
        let (count, counts) = tally(&index, &parents, Vec::new());
        assert_eq!(count, 35_000);
        assert_eq!(counts["/a"], 35_000);
        assert_eq!(counts["/b"], 35_000);
        assert_eq!(counts["/b/34999"], 1);
        assert_eq!(counts, counted_by_hand(&records, &parents));
    }

    #[test]
    fn a_gated_facet_counts_every_value_while_the_hits_keep_the_filter() {
        let records: Vec<Vec<String>> = (0..30)
            .map(|i| vec![format!("/MOD/team {}", i % 3)])
            .chain((0..10).map(|_| vec!["/DSIT".to_string()]))
            .collect();
        let index = index_of(&records);
        let gate = Gate::new("f", &[Facet::from("/MOD/team 1")], 0);
        let (count, counts) = tally(&index, &["/", "/MOD"], vec![gate]);
        assert_eq!(count, 10, "only team 1 passes the filter");
        assert_eq!(counts, counted_by_hand(&records, &["/", "/MOD"]));
    }
}
