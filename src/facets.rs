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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::index::SegmentId;
use tantivy::query::Weight;
use tantivy::schema::Facet;
use tantivy::{DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED};

use crate::visible::{DocBits, SetKey};

/// One facet to count: its name in the response, its tantivy field, and the prefixes (as
/// `Facet` path strings, `/` for the root) whose children are counted.
#[derive(Clone)]
pub struct FacetSpec {
    /// Name in the response (`department`, `skill`, ...).
    pub name: &'static str,
    /// Name of the tantivy facet field.
    pub field: String,
    /// Drill-down prefixes, as encoded facet bytes (the root is empty).
    pub parents: Arc<HashSet<Vec<u8>>>,
}

impl FacetSpec {
    /// A spec from prefix path strings such as `/` and `/MOD`.
    pub fn new(name: &'static str, field: &str, parents: &[String]) -> Self {
        let parents = parents
            .iter()
            .map(|p| Facet::from(p.as_str()).encoded_str().as_bytes().to_vec())
            .collect();
        FacetSpec {
            name,
            field: field.to_string(),
            parents: Arc::new(parents),
        }
    }
}

/// The prefixes each value ordinal of one segment's facet column contributes to.
struct SegmentBuckets {
    /// For ordinal `o`, `bucket_ids[starts[o]..starts[o + 1]]`.
    starts: Vec<u32>,
    bucket_ids: Vec<u32>,
    /// Per bucket: depth (1 = a child of the root) and the prefix as a path string.
    buckets: Vec<(usize, String)>,
}

impl SegmentBuckets {
    fn build(column: &StrColumn, parents: &HashSet<Vec<u8>>) -> tantivy::Result<Self> {
        let mut starts = vec![0u32];
        let mut bucket_ids = Vec::new();
        let mut buckets: Vec<(usize, String)> = Vec::new();
        let mut by_prefix: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut stream = column.dictionary().stream()?;
        while stream.advance() {
            let value = stream.key();
            // prefixes end before each separator and at the end of the value
            let ends = value
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == 0)
                .map(|(i, _)| i)
                .chain(std::iter::once(value.len()));
            let mut parent_end = 0;
            for (depth, end) in ends.enumerate() {
                let parent = &value[..parent_end];
                if !parents.contains(parent) {
                    break;
                }
                let prefix = &value[..end];
                let id = match by_prefix.get(prefix) {
                    Some(id) => *id,
                    None => {
                        let id = buckets.len() as u32;
                        let path = Facet::from_encoded(prefix.to_vec())
                            .map(|f| f.to_path_string())
                            .unwrap_or_default();
                        buckets.push((depth + 1, path));
                        by_prefix.insert(prefix.to_vec(), id);
                        id
                    }
                };
                bucket_ids.push(id);
                parent_end = end;
            }
            starts.push(bucket_ids.len() as u32);
        }
        Ok(SegmentBuckets {
            starts,
            bucket_ids,
            buckets,
        })
    }

    fn of(&self, ord: u64) -> &[u32] {
        let ord = ord as usize;
        match (self.starts.get(ord), self.starts.get(ord + 1)) {
            (Some(&a), Some(&b)) => &self.bucket_ids[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Each record's value ordinals of one facet column in one segment, decoded once into plain
/// arrays: reading a tantivy column per record and value cost more than counting itself. A
/// single-valued column with few values (every facet but skills) takes a byte per record, so that
/// the arrays a search reads at random stay small enough for the processor's caches.
struct DocOrds {
    /// For a multi-valued column, record `d`'s values are `ords[starts[d]..starts[d + 1]]`;
    /// empty for a column with at most one value per record.
    starts: Vec<u32>,
    /// Multi-valued: the values; single-valued with many values: `ords[d]` or `NONE`.
    ords: Vec<u32>,
    /// Single-valued with fewer than 255 values: `narrow[d]`, or `NARROW_NONE` (`ords` empty).
    narrow: Vec<u8>,
}

impl DocOrds {
    const NONE: u32 = u32::MAX;
    const NARROW_NONE: u8 = u8::MAX;

    fn empty() -> Self {
        DocOrds {
            starts: Vec::new(),
            ords: Vec::new(),
            narrow: Vec::new(),
        }
    }

    /// Decodes `column`; `narrow` allows the byte-per-record form.
    fn build(column: &StrColumn, max_doc: DocId, narrow: bool) -> Self {
        let ords = column.ords();
        if ords.get_cardinality() != Cardinality::Multivalued {
            if narrow && column.num_terms() < Self::NARROW_NONE as usize {
                let narrow = (0..max_doc)
                    .map(|doc| ords.first(doc).map_or(Self::NARROW_NONE, |o| o as u8))
                    .collect();
                return DocOrds {
                    narrow,
                    ..Self::empty()
                };
            }
            let ords = (0..max_doc)
                .map(|doc| ords.first(doc).map_or(Self::NONE, |o| o as u32))
                .collect();
            return DocOrds {
                ords,
                ..Self::empty()
            };
        }
        let mut starts = Vec::with_capacity(max_doc as usize + 1);
        let mut values = Vec::new();
        starts.push(0);
        for doc in 0..max_doc {
            values.extend(column.term_ords(doc).map(|o| o as u32));
            starts.push(values.len() as u32);
        }
        DocOrds {
            starts,
            ords: values,
            narrow: Vec::new(),
        }
    }

    fn single_valued(&self) -> bool {
        self.starts.is_empty()
    }

    /// The value of record `doc` of a single-valued column.
    #[inline]
    fn first(&self, doc: DocId) -> Option<u32> {
        let d = doc as usize;
        if self.ords.is_empty() {
            return match self.narrow.get(d) {
                Some(&o) if o != Self::NARROW_NONE => Some(o as u32),
                _ => None,
            };
        }
        match self.ords.get(d) {
            Some(&o) if o != Self::NONE => Some(o),
            _ => None,
        }
    }

    /// The values of record `doc` of a multi-valued column (or one held in `ords`).
    #[inline]
    fn of(&self, doc: DocId) -> &[u32] {
        let d = doc as usize;
        if self.single_valued() {
            match self.ords.get(d) {
                Some(o) if *o != Self::NONE => std::slice::from_ref(o),
                _ => &[],
            }
        } else {
            match (self.starts.get(d), self.starts.get(d + 1)) {
                (Some(&a), Some(&b)) => &self.ords[a as usize..b as usize],
                _ => &[],
            }
        }
    }
}

/// Each record's prefix buckets of a multi-valued facet, each once: two bytes a bucket when the
/// segment has fewer than 65,536 of them.
struct DocBuckets {
    /// Record `d`'s buckets are `ids[starts[d]..starts[d + 1]]`.
    starts: Vec<u32>,
    ids: BucketIds,
}

enum BucketIds {
    Short(Vec<u16>),
    Long(Vec<u32>),
}

impl DocBuckets {
    fn empty() -> Self {
        DocBuckets {
            starts: Vec::new(),
            ids: BucketIds::Long(Vec::new()),
        }
    }

    /// Adds one to `counts` for each bucket of record `doc`.
    #[inline]
    fn count(&self, doc: DocId, counts: &mut [u64]) {
        let d = doc as usize;
        let (Some(&a), Some(&b)) = (self.starts.get(d), self.starts.get(d + 1)) else {
            return;
        };
        let range = a as usize..b as usize;
        match &self.ids {
            BucketIds::Short(ids) => bump(ids.get(range).unwrap_or_default(), counts),
            BucketIds::Long(ids) => bump(ids.get(range).unwrap_or_default(), counts),
        }
    }
}

/// Adds one to `counts` at each of `ids`.
#[inline]
fn bump<T: Copy + Into<u32>>(ids: &[T], counts: &mut [u64]) {
    for &id in ids {
        if let Some(n) = counts.get_mut(id.into() as usize) {
            *n += 1;
        }
    }
}

/// What counting one facet field of one segment needs, built once and shared by every search.
struct FieldTable {
    /// The column itself (its dictionary names the ordinals); `None` when the segment has none.
    column: Option<StrColumn>,
    buckets: SegmentBuckets,
    /// Each record's value ordinals: what gates check, and what single-valued facets count by.
    values: DocOrds,
    /// For a multi-valued column, each record's prefix buckets, each once (however many of its
    /// values share it): counting a record is then one increment per bucket, with no
    /// de-duplication and no hop through the value ordinals. Empty for single-valued columns.
    doc_buckets: DocBuckets,
}

impl FieldTable {
    fn build(
        column: StrColumn,
        parents: &HashSet<Vec<u8>>,
        max_doc: DocId,
    ) -> tantivy::Result<Self> {
        let buckets = SegmentBuckets::build(&column, parents)?;
        let values = DocOrds::build(&column, max_doc, true);
        let mut doc_buckets = DocBuckets::empty();
        if !values.single_valued() {
            let mut starts = Vec::with_capacity(max_doc as usize + 1);
            let mut ids: Vec<u32> = Vec::new();
            let mut own: Vec<u32> = Vec::new();
            starts.push(0);
            for doc in 0..max_doc {
                own.clear();
                for &ord in values.of(doc) {
                    own.extend_from_slice(buckets.of(ord as u64));
                }
                own.sort_unstable();
                own.dedup();
                ids.extend_from_slice(&own);
                starts.push(ids.len() as u32);
            }
            let ids = match buckets.buckets.len() <= u16::MAX as usize + 1 {
                true => BucketIds::Short(ids.iter().map(|&id| id as u16).collect()),
                false => BucketIds::Long(ids),
            };
            doc_buckets = DocBuckets { starts, ids };
        }
        Ok(FieldTable {
            column: Some(column),
            buckets,
            values,
            doc_buckets,
        })
    }

    fn empty() -> Self {
        FieldTable {
            column: None,
            buckets: SegmentBuckets {
                starts: vec![0],
                bucket_ids: Vec::new(),
                buckets: Vec::new(),
            },
            values: DocOrds::empty(),
            doc_buckets: DocBuckets::empty(),
        }
    }
}

/// Each record's values of a string fast field in one segment (authors of case studies), decoded
/// once with the field's dictionary: reading a dictionary block per value cost about a tenth of
/// every search at a million members.
pub struct StrTable {
    values: DocOrds,
    /// Value `o` is `text[ends[o - 1]..ends[o]]` (from 0 for the first).
    text: String,
    ends: Vec<u32>,
}

impl StrTable {
    fn build(column: &StrColumn, max_doc: DocId) -> tantivy::Result<Self> {
        let mut text = String::new();
        let mut ends = Vec::new();
        let mut stream = column.dictionary().stream()?;
        while stream.advance() {
            text.push_str(&String::from_utf8_lossy(stream.key()));
            ends.push(text.len() as u32);
        }
        Ok(StrTable {
            values: DocOrds::build(column, max_doc, false),
            text,
            ends,
        })
    }

    fn empty() -> Self {
        StrTable {
            values: DocOrds::empty(),
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// The values of record `doc`, in dictionary order.
    pub fn of(&self, doc: DocId) -> impl Iterator<Item = &str> {
        self.values
            .of(doc)
            .iter()
            .filter_map(|&ord| self.value(ord))
    }

    /// The value ordinals of record `doc`.
    pub fn ords(&self, doc: DocId) -> &[u32] {
        self.values.of(doc)
    }

    /// How many values the segment holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the segment holds no value.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The text of value ordinal `ord` (values sort as their ordinals do).
    pub fn value(&self, ord: u32) -> Option<&str> {
        let o = ord as usize;
        let start = match o {
            0 => 0,
            _ => *self.ends.get(o - 1)? as usize,
        };
        let end = *self.ends.get(o)? as usize;
        self.text.get(start..end)
    }
}

/// The records of one kind in a segment by id ordinal, for finding a record named in another (a
/// case study's authors) without a dictionary lookup and a posting list per name. An id is held by
/// one live record of a kind: a record replaced within the segment was deleted before its
/// successor was added, so the last record holding the id is the only one that can be live.
pub struct RecordsById {
    ids: Arc<StrTable>,
    /// By id ordinal: the last record of the kind holding it, or [`RecordsById::NONE`].
    last: Vec<DocId>,
}

impl RecordsById {
    const NONE: DocId = DocId::MAX;

    fn build(
        ids: Arc<StrTable>,
        kinds: &tantivy::columnar::Column<u64>,
        kind: u64,
        max_doc: DocId,
    ) -> Self {
        let mut last = vec![Self::NONE; ids.ends.len()];
        for doc in 0..max_doc {
            if kinds.first(doc) == Some(kind)
                && let Some(&ord) = ids.values.of(doc).first()
                && let Some(slot) = last.get_mut(ord as usize)
            {
                *slot = doc;
            }
        }
        RecordsById { ids, last }
    }

    /// The segment's ids (of every kind), in order.
    pub fn ids(&self) -> &StrTable {
        &self.ids
    }

    /// The last record of the kind holding id ordinal `ord`, live or not.
    pub fn last(&self, ord: u32) -> Option<DocId> {
        self.last
            .get(ord as usize)
            .copied()
            .filter(|d| *d != Self::NONE)
    }
}

/// Field tables by segment and field.
#[derive(Default)]
struct Tables {
    facets: HashMap<(SegmentId, String), Arc<FieldTable>>,
    strings: HashMap<(SegmentId, String), Arc<StrTable>>,
    /// Records of a kind by id, by segment, id field and kind code.
    by_id: HashMap<(SegmentId, String, u64), Arc<RecordsById>>,
    /// Cached filter sets by segment and key.
    sets: HashMap<(SegmentId, SetKey), Arc<DocBits>>,
}

/// Per-segment field tables (prefix buckets and decoded ordinals; decoded author values), shared
/// by every search over the same segments.
#[derive(Default, Clone)]
pub struct FacetCache {
    tables: Arc<Mutex<Tables>>,
}

impl FacetCache {
    fn get(&self, segment: &SegmentReader, spec: &FacetSpec) -> tantivy::Result<Arc<FieldTable>> {
        let key = (segment.segment_id(), spec.field.clone());
        if let Some(found) = self.lock().facets.get(&key) {
            return Ok(found.clone());
        }
        // built outside the lock: another search may build the same table meanwhile
        let built = Arc::new(match segment.fast_fields().str(&spec.field)? {
            Some(column) => FieldTable::build(column, &spec.parents, segment.max_doc())?,
            None => FieldTable::empty(),
        });
        self.lock().facets.insert(key, built.clone());
        Ok(built)
    }

    /// The decoded values of string fast field `field` in `segment` (built on first use).
    pub fn strings(&self, segment: &SegmentReader, field: &str) -> tantivy::Result<Arc<StrTable>> {
        let key = (segment.segment_id(), field.to_string());
        if let Some(found) = self.lock().strings.get(&key) {
            return Ok(found.clone());
        }
        let built = Arc::new(match segment.fast_fields().str(field)? {
            Some(column) => StrTable::build(&column, segment.max_doc())?,
            None => StrTable::empty(),
        });
        self.lock().strings.insert(key, built.clone());
        Ok(built)
    }

    /// The records of kind code `kind` (fast field `kind_field`) in `segment` by their id (string
    /// fast field `id_field`), built on first use.
    pub fn records_by_id(
        &self,
        segment: &SegmentReader,
        id_field: &str,
        kind_field: &str,
        kind: u64,
    ) -> tantivy::Result<Arc<RecordsById>> {
        let key = (segment.segment_id(), id_field.to_string(), kind);
        if let Some(found) = self.lock().by_id.get(&key) {
            return Ok(found.clone());
        }
        let ids = self.strings(segment, id_field)?;
        let kinds = segment.fast_fields().u64(kind_field)?;
        let built = Arc::new(RecordsById::build(ids, &kinds, kind, segment.max_doc()));
        self.lock().by_id.insert(key, built.clone());
        Ok(built)
    }

    /// The records of `segment` in the set `key`, built by `build` on first use. A set for a
    /// day replaces the sets of the days before (a search asks for today's).
    pub fn set(
        &self,
        segment: &SegmentReader,
        key: SetKey,
        build: impl FnOnce() -> tantivy::Result<DocBits>,
    ) -> tantivy::Result<Arc<DocBits>> {
        let key = (segment.segment_id(), key);
        if let Some(found) = self.lock().sets.get(&key) {
            return Ok(found.clone());
        }
        let built = Arc::new(build()?);
        let mut tables = self.lock();
        if let SetKey::InDate { day } = key.1 {
            tables.sets.retain(|(segment, set), _| {
                *segment != key.0 || !matches!(set, SetKey::InDate { day: d } if *d < day)
            });
        }
        tables.sets.insert(key, built.clone());
        Ok(built)
    }

    /// Builds the tables of `spec` for `segment` now, if not yet built.
    pub fn warm(&self, segment: &SegmentReader, spec: &FacetSpec) -> tantivy::Result<()> {
        self.get(segment, spec).map(|_| ())
    }

    /// Drops the tables of segments `searcher` no longer has (merged or deleted), once they
    /// outnumber the live ones.
    pub fn prune(&self, searcher: &tantivy::Searcher) {
        let readers = searcher.segment_readers();
        let mut tables = self.lock();
        let held =
            tables.facets.len() + tables.strings.len() + tables.sets.len() + tables.by_id.len();
        if held <= readers.len() * 32 {
            return;
        }
        let live: HashSet<SegmentId> = readers.iter().map(|r| r.segment_id()).collect();
        tables
            .facets
            .retain(|(segment, _), _| live.contains(segment));
        tables
            .strings
            .retain(|(segment, _), _| live.contains(segment));
        tables.sets.retain(|(segment, _), _| live.contains(segment));
        tables
            .by_id
            .retain(|(segment, _, _), _| live.contains(segment));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // a panic while holding the lock cannot leave a table half-inserted
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts several facets in one pass.
pub struct FacetTally {
    /// What to count.
    pub specs: Vec<FacetSpec>,
    /// Where the per-segment tables live.
    pub cache: FacetCache,
}

/// Counts of one facet: prefix path -> (depth, records).
pub type PrefixCounts = HashMap<String, (usize, u64)>;

impl FacetTally {
    /// Turns counts into the response's flat `label -> count` map. Shallower prefixes first, so
    /// a label that also names a deeper node shows the deeper count.
    pub fn flatten(counts: &PrefixCounts) -> BTreeMap<String, u64> {
        let mut ordered: Vec<(&usize, &String, &u64)> =
            counts.iter().map(|(p, (d, c))| (d, p, c)).collect();
        ordered.sort();
        let mut out = BTreeMap::new();
        for (_, path, count) in ordered {
            if let Some(label) = Facet::from(path.as_str()).to_path().last() {
                out.insert((*label).to_string(), *count);
            }
        }
        out
    }
}

/// One facet's counting state in a segment.
struct Counting {
    table: Arc<FieldTable>,
    /// Records per value ordinal, when each record has at most one value in this segment: then
    /// counting is one increment per record, spread over the prefixes at harvest.
    by_ord: Vec<u64>,
    counts: Vec<u64>,
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
        for spec in &self.specs {
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
            });
        }
        Ok(FacetTallySegment(out))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<PrefixCounts>>) -> tantivy::Result<Self::Fruit> {
        let mut merged: Vec<PrefixCounts> = vec![HashMap::new(); self.specs.len()];
        for fruit in fruits {
            for (total, part) in merged.iter_mut().zip(fruit) {
                for (path, (depth, count)) in part {
                    total.entry(path).or_insert((depth, 0)).1 += count;
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
                c.counts
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(b, n)| {
                        let (depth, path) = &c.table.buckets.buckets[b];
                        (path.clone(), (*depth, *n))
                    })
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
    use tantivy::collector::Count;
    use tantivy::query::AllQuery;
    use tantivy::schema::{FacetOptions, Schema};
    use tantivy::{Index, TantivyDocument};

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
                cache: FacetCache::default(),
            },
            gates,
        };
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 1);
        let (count, mut counts) = searcher.search(&AllQuery, &collector).unwrap();
        let by_path = counts.remove(0).into_iter().map(|(path, (_, n))| (path, n));
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
