//! The per-segment cache of everything search builds from a segment once: facet tables, decoded
//! string fields, records by id and filter bit sets ([`super::tables`]). A segment never changes
//! once written, so its tables never go stale; they are dropped when no searcher holds the
//! segment any longer. The cache is a tantivy [`Warmer`]: each new searcher (after a write or a
//! merge) has the facet tables of its new segments built before searches see it, and tables of
//! segments no searcher generation holds are dropped by tantivy's collector thread.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::{Searcher, SearcherGeneration, SegmentReader, Warmer};

use super::tables::{DocBits, FacetSpec, FieldTable, RecordsById, StrTable};

/// What a cached set holds, and the key it is cached under (with the segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetKey {
    /// Records of one kind (its code) marked at most one marking (its rank).
    Visible { kind: u64, marking: u64 },
    /// Records whose clearance is not past its review date on a day (its number): every
    /// record without one. A set for a new day replaces the day before's.
    InDate { day: i64 },
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
    /// The facets and string fields whose tables a new searcher's segments get when it is made
    /// (set by `keep_warm`).
    warm_facets: Vec<FacetSpec>,
    warm_strings: Vec<String>,
}

/// Per-segment field tables (prefix buckets and decoded ordinals; decoded author values), shared
/// by every search over the same segments.
#[derive(Default, Clone)]
pub struct SegmentCache {
    tables: Arc<Mutex<Tables>>,
}

impl SegmentCache {
    pub(crate) fn get(
        &self,
        segment: &SegmentReader,
        spec: &FacetSpec,
    ) -> tantivy::Result<Arc<FieldTable>> {
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

    /// Builds the tables of `facets` and of string fields `strings` for every segment of
    /// `searcher` now, and from then on for the segments of each new searcher as it is made
    /// (see [`Warmer`]).
    pub fn keep_warm(
        &self,
        searcher: &Searcher,
        facets: Vec<FacetSpec>,
        strings: Vec<String>,
    ) -> tantivy::Result<()> {
        {
            let mut tables = self.lock();
            tables.warm_facets = facets;
            tables.warm_strings = strings;
        }
        self.warm_segments(searcher)
    }

    /// Builds what `keep_warm` asked for, for every segment of `searcher`.
    fn warm_segments(&self, searcher: &Searcher) -> tantivy::Result<()> {
        let (facets, strings) = {
            let tables = self.lock();
            (tables.warm_facets.clone(), tables.warm_strings.clone())
        };
        for segment in searcher.segment_readers() {
            for spec in &facets {
                self.get(segment, spec)?;
            }
            for field in &strings {
                self.strings(segment, field)?;
            }
        }
        Ok(())
    }

    /// Drops the tables of every segment not in `live`.
    fn keep_only(&self, live: &HashSet<SegmentId>) {
        let mut tables = self.lock();
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

impl Warmer for SegmentCache {
    /// Runs as a new searcher is made (after a write or a merge), before searches get it. A
    /// table that cannot be built is built by the first search that needs it, which reports why;
    /// the new searcher is never held back.
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        if let Err(e) = self.warm_segments(searcher) {
            tracing::warn!(error = %e, "could not build segment tables ahead of searches");
        }
        Ok(())
    }

    fn garbage_collect(&self, live_generations: &[&SearcherGeneration]) {
        let live: HashSet<SegmentId> = live_generations
            .iter()
            .flat_map(|generation| generation.segments().keys().copied())
            .collect();
        self.keep_only(&live);
    }
}

#[cfg(test)]
impl SegmentCache {
    /// The segments some facet table is held for.
    fn segments_held(&self) -> HashSet<SegmentId> {
        self.lock()
            .facets
            .keys()
            .map(|(segment, _)| *segment)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tantivy::TantivyDocument;

    use crate::ingest::parse_json_line;
    use crate::model::Kind;
    use crate::schema::DocumentBuilder;

    use super::*;

    fn segments(searcher: &Searcher) -> HashSet<SegmentId> {
        searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect()
    }

    #[test]
    fn a_new_searcher_s_segments_get_their_tables_first_and_dead_ones_are_dropped() {
        let taxonomy = crate::taxonomy::Taxonomy::builtin();
        let member = |id: &str| {
            let line = format!(
                r#"{{"id":"{id}","name":"Ada","department":"Dstl","skills":[{{"name":"Virology","level":3}}]}}"#
            );
            parse_json_line(Kind::Member, &line).unwrap().record
        };
        let index = crate::index::in_ram(&[member("m-1")], taxonomy.clone()).unwrap();
        crate::search::warm_facets(&index).unwrap();
        let first = segments(&index.reader.searcher());
        assert_eq!(index.facet_cache.segments_held(), first);

        // a write makes a new segment: its tables are built when the searcher is made, before
        // any search
        let mut writer: tantivy::IndexWriter<TantivyDocument> =
            index.index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let builder = DocumentBuilder::new(&index.fields, &taxonomy);
        writer
            .add_document(builder.document(&member("m-2")).0)
            .unwrap();
        writer.commit().unwrap();
        index.reader.reload().unwrap();
        let both = segments(&index.reader.searcher());
        assert_eq!(both.len(), 2);
        assert_eq!(index.facet_cache.segments_held(), both, "warmed on reload");

        // merged into one: once no searcher holds the old segments, their tables go
        let ids: Vec<SegmentId> = both.iter().copied().collect();
        writer.merge(&ids).wait().unwrap();
        writer.commit().unwrap();
        index.reader.reload().unwrap();
        let merged = segments(&index.reader.searcher());
        assert!(merged.is_disjoint(&both));
        let waited = Instant::now();
        while index.facet_cache.segments_held() != merged {
            assert!(
                waited.elapsed() < Duration::from_secs(20),
                "tables of merged-away segments are still held: {:?}",
                index.facet_cache.segments_held()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
