//! Opening and building the on-disk index, atomically.
//!
//! An index directory holds generations: `gen-<n>/` is a complete tantivy index and the file
//! `CURRENT` names the one to serve. A build writes a new generation beside the old one, commits
//! and syncs it, then replaces `CURRENT` with an atomic rename. A build killed at any moment
//! therefore leaves the previous generation (or none) in `CURRENT`, never a half-built one;
//! leftovers of killed builds are removed by the next build. One process at a time: a lock file
//! held by a build, or by `serve` for its whole life, makes a second one fail fast.
//!
//! The index is derived from the record store ([`crate::store`]): [`build_from_store`] makes a
//! generation of every stored record and notes the store's last change in its commit. While
//! serving, [`RecordWriter`] commits the write API's changes to the store, then applies every
//! change the index lacks as a single tantivy commit (synced to disk before it returns), so a
//! search sees all of a batch or none of it; with a shared store it also follows other servers'
//! changes.
//!
//! # Layout
//!
//! - this file: [`MusterIndex`] (an open index and its caches), opening a generation, reading
//!   back what it holds;
//! - `generations`: generation directories, `CURRENT`, and the lock;
//! - `build`: building a generation from files or the store (`spill` groups records on the way);
//! - `writer`: [`RecordWriter`], the write path while serving.

mod build;
pub(crate) mod cache;
mod generations;
mod spill;
pub(crate) mod tables;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::model::{Kind, Record};
use crate::schema::{self, DocumentBuilder, FacetName, Fields};
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

pub(crate) use build::balanced_groups;
pub use build::{
    BuildOptions, BuildOutcome, MIN_SEGMENT_RECORDS, build, build_from_store, build_locked, cores,
    load_records, prepare_to_serve,
};
pub use generations::{CURRENT, IndexLock, current_generation};
pub use writer::{Change, RecordWriter};

/// File in each generation holding the on-disk format it was written in.
const FORMAT_FILE: &str = "muster-format";

/// The on-disk format this build writes and reads. Bump it when a generation written by an older
/// build could not be read correctly, or would answer differently (2: string fast-field
/// dictionaries are not zstd-compressed; 3: skill synonyms are not indexed as words).
pub const FORMAT_VERSION: u32 = 3;

/// Memory the index writer may use for buffering, in bytes.
pub const WRITER_MEMORY: usize = 256 * 1024 * 1024;

/// An open index: what search needs, cheap to clone.
#[derive(Clone)]
pub struct MusterIndex {
    /// The tantivy index.
    pub index: Index,
    /// Field handles.
    pub fields: Arc<Fields>,
    /// One shared reader; take a new searcher from it per request.
    pub reader: IndexReader,
    /// The taxonomy skills were mapped with.
    pub taxonomy: Arc<Taxonomy>,
    /// Where the generation lives on disk (`None` in RAM).
    pub path: Option<PathBuf>,
    /// Per-segment facet tables, shared by every search.
    pub facet_cache: cache::SegmentCache,
    /// The cache as the reader's warmer (the reader holds it weakly).
    _warmer: Arc<dyn tantivy::Warmer>,
    /// Per-segment statistics of the records above each marking.
    pub stats_cache: crate::stats::StatsCache,
    /// Authors of case studies linked to member records, per pair of segments.
    pub author_cache: crate::credit::AuthorCache,
    /// What each facet counts (its field and drill-down prefixes from this index's taxonomy),
    /// made on first use.
    pub facet_specs: std::sync::OnceLock<HashMap<FacetName, tables::FacetSpec>>,
}

impl MusterIndex {
    fn from_index(index: Index, taxonomy: Arc<Taxonomy>, path: Option<PathBuf>) -> Result<Self> {
        schema::register_tokenizers(&index);
        let fields = Arc::new(Fields::from_schema(&index.schema()).map_err(|e| match e {
            Error::Index { reason, .. } => Error::Index {
                path: path.clone().unwrap_or_default(),
                reason,
            },
            other => other,
        })?);
        let facet_cache = cache::SegmentCache::default();
        let warmer: Arc<dyn tantivy::Warmer> = Arc::new(facet_cache.clone());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .warmers(vec![Arc::downgrade(&warmer)])
            .try_into()?;
        Ok(MusterIndex {
            index,
            fields,
            reader,
            taxonomy,
            path,
            facet_cache,
            _warmer: warmer,
            stats_cache: Default::default(),
            author_cache: Default::default(),
            facet_specs: Default::default(),
        })
    }

    /// Number of live records of every kind and marking (for the operator's log, never a caller).
    pub fn total_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Number of live records of every kind marked at most `max_marking`: a count of records a
    /// caller may not see would tell it they exist.
    pub fn num_docs(&self, max_marking: crate::model::Marking) -> Result<u64> {
        let visible = tantivy::query::RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_u64(self.fields.marking, 0)),
            std::ops::Bound::Included(Term::from_field_u64(
                self.fields.marking,
                max_marking.rank(),
            )),
        );
        Ok(self
            .reader
            .searcher()
            .search(&visible, &tantivy::collector::Count)? as u64)
    }
}

/// The last change of the record store this index holds (0 for one built from files alone).
pub fn applied_seq(index: &MusterIndex) -> Result<u64> {
    Ok(index
        .index
        .load_metas()?
        .payload
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0))
}

/// Every record an index holds, from the copy each document keeps: how a store is filled from
/// an index made before there was one.
pub fn each_record(index: &MusterIndex, each: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
    let searcher = index.reader.searcher();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let kinds = segment
            .fast_fields()
            .u64(index.fields.name_of(index.fields.kind))?;
        for doc in segment.doc_ids_alive() {
            let stored: TantivyDocument =
                searcher.doc(tantivy::DocAddress::new(ord as u32, doc))?;
            let kind = kinds
                .first(doc)
                .and_then(|code| {
                    Kind::ALL
                        .into_iter()
                        .find(|k| schema::kind_code(*k) == code)
                })
                .ok_or_else(|| Error::InvalidRecord(format!("document {doc} has no kind")))?;
            each(index.fields.stored_record(&stored, kind)?)?;
        }
    }
    Ok(())
}

/// Opens the current generation of `index_dir`.
pub fn open(index_dir: &Path, taxonomy: Arc<Taxonomy>) -> Result<MusterIndex> {
    let generation = current_generation(index_dir)?.ok_or_else(|| Error::Index {
        path: index_dir.to_path_buf(),
        reason: "no index has been built here yet (run `muster index`)".into(),
    })?;
    check_format(&generation)?;
    let index = Index::open_in_dir(&generation).map_err(|e| Error::Index {
        path: generation.clone(),
        reason: format!(
            "cannot open: {e} (rebuild it from the record store with `muster rebuild`)"
        ),
    })?;
    // every file's checksum, so a damaged index is refused here with its files named, never
    // met half-way through a search
    let damaged = index.validate_checksum().map_err(|e| Error::Index {
        path: generation.clone(),
        reason: format!(
            "cannot read: {e} (rebuild it from the record store with `muster rebuild`)"
        ),
    })?;
    if !damaged.is_empty() {
        let mut names: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
        names.sort();
        return Err(Error::Index {
            path: generation,
            reason: format!(
                "damaged files (checksum mismatch): {}; rebuild it from the record store with `muster rebuild`",
                names.join(", ")
            ),
        });
    }
    MusterIndex::from_index(index, taxonomy, Some(generation))
}

/// Writes and syncs 1 MiB in `dir`: the operating system's reason when files there cannot grow.
pub(crate) fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(".probe");
    let result = (|| {
        let mut file = File::create(&path)?;
        file.write_all(&vec![0u8; 1 << 20])?;
        file.sync_all()
    })();
    let _ = fs::remove_file(&path);
    result
}

/// Fails with a clear error when `generation` was written in another on-disk format.
fn check_format(generation: &Path) -> Result<()> {
    let path = generation.join(FORMAT_FILE);
    let found = fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    if found == Some(FORMAT_VERSION) {
        return Ok(());
    }
    let was = found.map_or_else(|| "an older format".to_string(), |v| format!("format {v}"));
    Err(Error::Index {
        path: generation.to_path_buf(),
        reason: format!(
            "written by another version of Muster ({was}; this one reads format {FORMAT_VERSION}): rebuild it from the record store with `muster rebuild` (`muster serve` does so itself)"
        ),
    })
}

/// Builds an index in RAM from records (tests and benches), in one segment.
pub fn in_ram(records: &[Record], taxonomy: Arc<Taxonomy>) -> Result<MusterIndex> {
    in_ram_segments(records, taxonomy, 1)
}

/// [`in_ram`] in `segments` segments of consecutive records (one commit each).
pub fn in_ram_segments(
    records: &[Record],
    taxonomy: Arc<Taxonomy>,
    segments: usize,
) -> Result<MusterIndex> {
    let fields = Fields::build();
    let index = Index::builder()
        .schema(fields.schema.clone())
        .settings(schema::index_settings())
        .create_in_ram()?;
    schema::register_tokenizers(&index);
    let mut writer: IndexWriter<TantivyDocument> = index.writer_with_num_threads(1, 50_000_000)?;
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    let builder = DocumentBuilder::new(&fields, &taxonomy);
    let per_segment = records.len().div_ceil(segments.max(1)).max(1);
    if records.is_empty() {
        writer.commit()?;
    }
    for part in records.chunks(per_segment) {
        for record in part {
            writer.delete_term(Term::from_field_text(
                fields.key,
                &schema::record_key(record.kind(), record.id()),
            ));
            writer.add_document(builder.document(record).0)?;
        }
        writer.commit()?;
    }
    let muster = MusterIndex::from_index(index, taxonomy, None)?;
    muster.reader.reload()?;
    Ok(muster)
}

/// Counts the records of one kind in an open index.
pub fn count_kind(index: &MusterIndex, kind: Kind) -> Result<u64> {
    let query = tantivy::query::TermQuery::new(
        Term::from_field_u64(index.fields.kind, schema::kind_code(kind)),
        tantivy::schema::IndexRecordOption::Basic,
    );
    Ok(index
        .reader
        .searcher()
        .search(&query, &tantivy::collector::Count)? as u64)
}
