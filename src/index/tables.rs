//! What the per-segment cache ([`super::cache`]) holds, each built once per segment and shared
//! by every search over it: a facet field's prefix buckets and decoded value ordinals
//! ([`FieldTable`], counted by `facets`), a string field's values decoded ([`StrTable`]), the
//! records of a kind by id ([`RecordsById`]) and a set of records as bits ([`DocBits`], the
//! filters of `visible`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::query::{EnableScoring, Query};
use tantivy::schema::Facet;
use tantivy::{DocId, SegmentReader};

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
pub(crate) struct SegmentBuckets {
    /// For ordinal `o`, `bucket_ids[starts[o]..starts[o + 1]]`.
    pub(crate) starts: Vec<u32>,
    pub(crate) bucket_ids: Vec<u32>,
    /// Per bucket: its depth, path and label.
    pub(crate) buckets: Vec<Bucket>,
}

/// A prefix counted: depth (1 = a child of the root), the prefix as a path string, and its last
/// step (the label a response shows). Shared, so a search's counts name it without copying.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub depth: usize,
    pub path: Arc<str>,
    pub label: Arc<str>,
}

impl SegmentBuckets {
    pub(crate) fn build(column: &StrColumn, parents: &HashSet<Vec<u8>>) -> tantivy::Result<Self> {
        let mut starts = vec![0u32];
        let mut bucket_ids = Vec::new();
        let mut buckets: Vec<Bucket> = Vec::new();
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
                        let facet = Facet::from_encoded(prefix.to_vec()).ok();
                        let path = facet.as_ref().map(Facet::to_path_string);
                        let label = facet
                            .as_ref()
                            .and_then(|f| f.to_path().last().map(|label| Arc::<str>::from(*label)));
                        buckets.push(Bucket {
                            depth: depth + 1,
                            path: path.unwrap_or_default().into(),
                            label: label.unwrap_or_else(|| Arc::from("")),
                        });
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

    pub(crate) fn of(&self, ord: u64) -> &[u32] {
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
pub(crate) struct DocOrds {
    /// For a multi-valued column, record `d`'s values are `ords[starts[d]..starts[d + 1]]`;
    /// empty for a column with at most one value per record.
    pub(crate) starts: Vec<u32>,
    /// Multi-valued: the values; single-valued with many values: `ords[d]` or `NONE`.
    pub(crate) ords: Vec<u32>,
    /// Single-valued with fewer than 255 values: `narrow[d]`, or `NARROW_NONE` (`ords` empty).
    pub(crate) narrow: Vec<u8>,
}

impl DocOrds {
    const NONE: u32 = u32::MAX;
    const NARROW_NONE: u8 = u8::MAX;

    pub(crate) fn empty() -> Self {
        DocOrds {
            starts: Vec::new(),
            ords: Vec::new(),
            narrow: Vec::new(),
        }
    }

    /// Decodes `column`; `narrow` allows the byte-per-record form.
    pub(crate) fn build(column: &StrColumn, max_doc: DocId, narrow: bool) -> Self {
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

    pub(crate) fn single_valued(&self) -> bool {
        self.starts.is_empty()
    }

    /// The value of record `doc` of a single-valued column.
    #[inline]
    pub(crate) fn first(&self, doc: DocId) -> Option<u32> {
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
    pub(crate) fn of(&self, doc: DocId) -> &[u32] {
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
pub(crate) struct DocBuckets {
    /// Record `d`'s buckets are `ids[starts[d]..starts[d + 1]]`.
    pub(crate) starts: Vec<u32>,
    pub(crate) ids: BucketIds,
}

pub(crate) enum BucketIds {
    Short(Vec<u16>),
    Long(Vec<u32>),
}

impl DocBuckets {
    pub(crate) fn empty() -> Self {
        DocBuckets {
            starts: Vec::new(),
            ids: BucketIds::Long(Vec::new()),
        }
    }

    /// Adds one to `counts` for each bucket of record `doc`.
    #[inline]
    pub(crate) fn count(&self, doc: DocId, counts: &mut [u64]) {
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
pub(crate) struct FieldTable {
    /// The column itself (its dictionary names the ordinals); `None` when the segment has none.
    pub(crate) column: Option<StrColumn>,
    pub(crate) buckets: SegmentBuckets,
    /// Each record's value ordinals: what gates check, and what single-valued facets count by.
    pub(crate) values: DocOrds,
    /// For a multi-valued column, each record's prefix buckets, each once (however many of its
    /// values share it): counting a record is then one increment per bucket, with no
    /// de-duplication and no hop through the value ordinals. Empty for single-valued columns.
    pub(crate) doc_buckets: DocBuckets,
}

impl FieldTable {
    pub(crate) fn build(
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

    pub(crate) fn empty() -> Self {
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
    pub(crate) values: DocOrds,
    /// Value `o` is `text[ends[o - 1]..ends[o]]` (from 0 for the first).
    pub(crate) text: String,
    pub(crate) ends: Vec<u32>,
}

impl StrTable {
    pub(crate) fn build(column: &StrColumn, max_doc: DocId) -> tantivy::Result<Self> {
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

    pub(crate) fn empty() -> Self {
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
    pub(crate) ids: Arc<StrTable>,
    /// By id ordinal: the last record of the kind holding it, or [`RecordsById::NONE`].
    pub(crate) last: Vec<DocId>,
}

impl RecordsById {
    const NONE: DocId = DocId::MAX;

    pub(crate) fn build(
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

/// One segment's records admitted by a [`CachedSet`].
pub struct DocBits {
    pub(crate) words: Vec<u64>,
    pub(crate) count: u32,
}

impl DocBits {
    /// The records of `segment` that `clauses` match (deleted ones included).
    pub(crate) fn build(segment: &SegmentReader, clauses: &dyn Query) -> tantivy::Result<DocBits> {
        let max_doc = segment.max_doc() as usize;
        let mut words = vec![0u64; max_doc.div_ceil(64)];
        let mut count = 0u32;
        let weight = clauses.weight(EnableScoring::disabled_from_schema(segment.schema()))?;
        weight.for_each_no_score(segment, &mut |docs| {
            for &doc in docs {
                if let Some(word) = words.get_mut(doc as usize / 64) {
                    *word |= 1 << (doc % 64);
                    count += 1;
                }
            }
        })?;
        Ok(DocBits { words, count })
    }

    /// Keeps only the records `keep` says yes to.
    pub fn retain(&mut self, keep: impl Fn(DocId) -> bool) {
        let mut count = 0;
        for (i, word) in self.words.iter_mut().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let bit = bits.trailing_zeros();
                bits &= bits - 1;
                if !keep((i * 64) as DocId + bit) {
                    *word &= !(1 << bit);
                }
            }
            count += word.count_ones();
        }
        self.count = count;
    }

    /// How many records are in the set.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether `doc` is in the set.
    #[inline]
    pub fn contains(&self, doc: DocId) -> bool {
        self.words
            .get(doc as usize / 64)
            .is_some_and(|w| w & (1 << (doc % 64)) != 0)
    }

    /// The records in the set, in order.
    pub fn docs(&self) -> impl Iterator<Item = DocId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros();
                word &= word - 1;
                Some((i * 64) as DocId + bit)
            })
        })
    }

    /// The records `docs` (in any order, repeats allowed) of a segment of `max_doc` records.
    pub(crate) fn from_docs(docs: &[DocId], max_doc: DocId) -> DocBits {
        let mut words = vec![0u64; (max_doc as usize).div_ceil(64)];
        for &doc in docs {
            words[doc as usize / 64] |= 1 << (doc % 64);
        }
        let count = words.iter().map(|w| w.count_ones()).sum();
        DocBits { words, count }
    }
}
