//! Building a generation: from data files or the record store, records grouped so each segment
//! holds related ones, with progress shown on a terminal.

use std::collections::HashMap;
use std::fs::{self};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::{Index, IndexWriter, TantivyDocument};

use crate::ingest::{self, Report};
use crate::model::Record;
use crate::schema::{self, DocumentBuilder, Fields};
use crate::store::Store;
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

use super::generations::{
    IndexLock, current_generation, new_generation_dir, publish, remove_stale_generations, sync_dir,
};
use super::spill::{CLUSTER_HELD_RECORDS, Clusters};
use super::{
    FORMAT_FILE, FORMAT_VERSION, WRITER_MEMORY, check_format, each_record, open, probe_writable,
};

/// What a build produced.
#[derive(Debug)]
pub struct BuildOutcome {
    /// The load report.
    pub report: Report,
    /// The generation directory now in `CURRENT`.
    pub generation: PathBuf,
    /// Records in the new index.
    pub documents: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Options of a build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Fail (and keep the previous index) when any line is rejected.
    pub strict: bool,
    /// Show a progress bar on a terminal, log lines otherwise.
    pub progress: bool,
    /// At most this many segments: a search reads them in parallel on idle cores, so a large
    /// index split over the cores answers sooner. The cores of the building machine by default.
    pub segments: usize,
    /// Fewest records in a segment: below this per-segment costs outweigh the parallelism.
    pub min_segment_records: u64,
    /// Records held in memory at most while grouping them by specialism (see
    /// [`CLUSTER_HELD_RECORDS`]).
    pub held_records: usize,
}

/// Fewest records a segment of a build holds, unless the whole index is smaller.
pub const MIN_SEGMENT_RECORDS: u64 = 50_000;

/// The cores this process may use (looked up once).
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            strict: false,
            progress: false,
            segments: cores(),
            min_segment_records: MIN_SEGMENT_RECORDS,
            held_records: CLUSTER_HELD_RECORDS,
        }
    }
}

/// Splits segments (given by record count) into at most `groups` groups of about equal records
/// (to merge each into one segment, or to search each on one thread): largest first, each into
/// the group with fewest records. Returns the positions of the segments in each group; no group
/// is empty.
pub(crate) fn balanced_groups(records: &[u64], groups: usize) -> Vec<Vec<usize>> {
    let groups = groups.clamp(1, records.len().max(1));
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(records[i]), i));
    let mut out: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); groups];
    for i in order {
        if let Some(lightest) = out.iter_mut().min_by_key(|(total, _)| *total) {
            lightest.0 += records[i];
            lightest.1.push(i);
        }
    }
    out.into_iter()
        .map(|(_, g)| g)
        .filter(|g| !g.is_empty())
        .collect()
}

/// Builds an index of the data files in `data_dir` into `index_dir` and makes it current.
pub fn build(
    data_dir: &Path,
    index_dir: &Path,
    taxonomy: Arc<Taxonomy>,
    options: &BuildOptions,
) -> Result<BuildOutcome> {
    let lock = IndexLock::acquire(index_dir)?;
    build_locked(data_dir, &lock, taxonomy, options)
}

/// [`build`] for a caller that already holds the directory's lock.
pub fn build_locked(
    data_dir: &Path,
    lock: &IndexLock,
    taxonomy: Arc<Taxonomy>,
    options: &BuildOptions,
) -> Result<BuildOutcome> {
    build_source(Source::Files(data_dir), lock, taxonomy, options)
}

/// Builds a new generation from every record in `store` and makes it current; `report` is
/// what loading files into the store said (an empty one when nothing was loaded). The index
/// notes the store's last change, so a server opening it applies only later changes.
pub fn build_from_store(
    store: &Store,
    lock: &IndexLock,
    taxonomy: Arc<Taxonomy>,
    options: &BuildOptions,
    report: Report,
) -> Result<BuildOutcome> {
    build_source(Source::Store(store, report), lock, taxonomy, options)
}

/// Makes the index directory `lock` holds ready to serve from `store`, and says what it built:
/// - a store that has never held a record is filled from an index made before there was a store
///   (it holds the API's writes), or else from the data files in `data`;
/// - when there is no index, or one another version of Muster wrote, one is built from the
///   store (no data files needed, nothing written through the API lost).
pub fn prepare_to_serve(
    store: &Store,
    data: &Path,
    lock: &IndexLock,
    taxonomy: Arc<Taxonomy>,
    options: &BuildOptions,
) -> Result<Option<BuildOutcome>> {
    let index_dir = lock.dir.as_path();
    let generation = current_generation(index_dir)?;
    let usable = generation
        .as_deref()
        .is_some_and(|g| check_format(g).is_ok());
    let report = if !store.is_empty()? {
        if usable {
            return Ok(None);
        }
        tracing::info!(index = %index_dir.display(), "no index of this version: building one from the record store");
        Report::default()
    } else if usable {
        // an index from before the record store: its records (the API's writes among them) are
        // the only copy, so they fill the store, and the index is rebuilt to note the store's
        // changes
        let index = open(index_dir, taxonomy.clone())?;
        let (_, last) = store.load(crate::store::LoadMode::Merge, |sink| {
            each_record(&index, sink)
        })?;
        tracing::info!(records = last, store = %store.describe(), "record store filled from the existing index");
        Report::default()
    } else {
        tracing::info!(data = %data.display(), store = %store.describe(), "empty record store: loading the data files");
        let (report, _) = store.load(crate::store::LoadMode::Merge, |sink| {
            ingest::load_dir(data, sink)
        })?;
        report
    };
    build_from_store(store, lock, taxonomy, options, report).map(Some)
}

/// Where a build reads its records.
pub(super) enum Source<'a> {
    /// Data files, straight into the index (benches and tests).
    Files(&'a Path),
    /// The record store, with the report of the load that filled it.
    Store(&'a Store, Report),
}

pub(super) fn build_source(
    source: Source<'_>,
    lock: &IndexLock,
    taxonomy: Arc<Taxonomy>,
    options: &BuildOptions,
) -> Result<BuildOutcome> {
    let started = Instant::now();
    let index_dir = lock.dir.as_path();
    remove_stale_generations(index_dir);
    let generation = new_generation_dir(index_dir)?;
    let result = build_generation(source, &generation, &taxonomy, options);
    let (report, documents) = match result {
        Ok(done) => done,
        Err(e) => {
            // tantivy reports a failed write only as a stopped worker; find the cause
            let e = match (&e, probe_writable(&generation)) {
                (Error::Tantivy(_), Err(cause)) => Error::Index {
                    path: generation.clone(),
                    reason: format!(
                        "cannot write the new index: {cause} (is the disk full?); the previous index is unchanged"
                    ),
                },
                _ => e,
            };
            let _ = fs::remove_dir_all(&generation);
            return Err(e);
        }
    };
    if options.strict && report.rejected() > 0 {
        let _ = fs::remove_dir_all(&generation);
        return Err(Error::Strict {
            rejected: report.rejected(),
            report: report.to_string(),
        });
    }
    publish(index_dir, &generation)?;
    remove_stale_generations(index_dir);
    Ok(BuildOutcome {
        report,
        generation,
        documents,
        elapsed: started.elapsed(),
    })
}

pub(super) fn build_generation(
    source: Source<'_>,
    generation: &Path,
    taxonomy: &Taxonomy,
    options: &BuildOptions,
) -> Result<(Report, u64)> {
    let fields = Fields::build();
    let index = Index::builder()
        .schema(fields.schema.clone())
        .settings(schema::index_settings())
        .create_in_dir(generation)?;
    schema::register_tokenizers(&index);
    let mut writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(2, WRITER_MEMORY)?;
    // the segments are merged once, to the plan below, after the commit: tantivy's default
    // policy would start merges of its own at the commit, doing the work twice and racing the
    // plan's merges for the same segments ("couldn't find segment in SegmentManager")
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    let progress = Progress::new(options.progress);
    let builder = DocumentBuilder::new(&fields, taxonomy);
    let mut adding = Adding {
        writer: &writer,
        builder: &builder,
        latest: HashMap::new(),
        read: 0,
        unmapped: Vec::new(),
        progress: &progress,
    };
    let mut clusters = Clusters::new(generation.join(".clusters"), options.held_records);
    let mut sink = |record: Record| {
        let sequence = adding.arrived(&record);
        clusters.hold(record, sequence, taxonomy)
    };
    // records are read (and parsed) on another thread while this one groups them
    let (mut report, store_seq) = match source {
        Source::Files(dir) => (
            ingest::read_ahead(|read| ingest::load_dir(dir, read), &mut sink)?,
            0,
        ),
        Source::Store(store, report) => (
            report,
            ingest::read_ahead(|read| store.records(read), &mut sink)?,
        ),
    };
    clusters.drain(&mut |run| adding.add(run))?;
    let unlinked = std::mem::take(&mut adding.unmapped);
    // every record's key and line number, no longer needed: not held through the merge
    drop(adding);
    for unlinked in unlinked {
        let (counts, name) = match unlinked {
            schema::Unlinked::Skill(name) => (&mut report.unmapped_skills, name),
            schema::Unlinked::Capability(name) => (&mut report.unmapped_capabilities, name),
        };
        *counts.entry(name).or_default() += 1;
    }
    progress.finish("committing");
    writer.commit()?;
    // few segments: every search pays the per-segment costs (term lookups, fuzzy automata,
    // facet ordinals) once per segment, but runs its segments in parallel; so one segment per
    // core for a large index, one segment for a small one
    let metas = index.searchable_segment_metas()?;
    let records: Vec<u64> = metas.iter().map(|m| u64::from(m.num_docs())).collect();
    let total: u64 = records.iter().sum();
    let wanted = (total / options.min_segment_records.max(1)) as usize;
    let groups: Vec<Vec<_>> = balanced_groups(&records, wanted.clamp(1, options.segments.max(1)))
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| g.iter().map(|&i| metas[i].id()).collect())
        .collect();
    // a live segment meta keeps its files from the garbage collection below
    drop(metas);
    if !groups.is_empty() {
        progress.finish("merging");
    }
    for ids in &groups {
        writer.merge(ids).wait()?;
    }
    // the merged-away segments' files
    writer.garbage_collect_files().wait()?;
    if store_seq > 0 {
        commit_through(&mut writer, store_seq)?;
    }
    writer.wait_merging_threads()?;
    let format = generation.join(FORMAT_FILE);
    fs::write(&format, format!("{FORMAT_VERSION}\n")).map_err(|e| Error::Index {
        path: format.clone(),
        reason: format!("cannot write: {e}"),
    })?;
    sync_dir(generation)?;
    let documents = index.reader()?.searcher().num_docs();
    Ok((report, documents))
}

/// Adds records to a build's writer; a later line with the same id replaces an earlier one.
/// Records are added only once every line has been read, so the latest line of each record is
/// known then and the earlier ones are left out (no deletes).
pub(super) struct Adding<'a> {
    pub(super) writer: &'a IndexWriter<TantivyDocument>,
    pub(super) builder: &'a DocumentBuilder<'a>,
    /// Per record key: the sequence number of its latest line.
    pub(super) latest: HashMap<String, u64>,
    /// Lines read so far.
    pub(super) read: u64,
    pub(super) unmapped: Vec<schema::Unlinked>,
    pub(super) progress: &'a Progress,
}

impl Adding<'_> {
    /// Notes a record read; returns its sequence number.
    pub(super) fn arrived(&mut self, record: &Record) -> u64 {
        self.read += 1;
        let sequence = self.read;
        self.latest
            .insert(schema::record_key(record.kind(), record.id()), sequence);
        sequence
    }

    /// Adds a run, leaving out lines that a later line replaced.
    pub(super) fn add(&mut self, run: Vec<(u64, Record)>) -> Result<()> {
        for (sequence, record) in run {
            let key = schema::record_key(record.kind(), record.id());
            if self.latest.get(&key) != Some(&sequence) {
                continue;
            }
            let (doc, skills) = self.builder.document(&record);
            self.unmapped.extend(skills);
            self.writer.add_document(doc)?;
            self.progress.tick();
        }
        Ok(())
    }
}

/// Commits what `writer` has staged, noting in the commit that the index now holds the record
/// store's changes up to `seq`.
pub(super) fn commit_through(writer: &mut IndexWriter<TantivyDocument>, seq: u64) -> Result<()> {
    let mut commit = writer.prepare_commit()?;
    commit.set_payload(&seq.to_string());
    commit.commit()?;
    Ok(())
}

/// Every record of `kind` loaded from a data directory, in file order, with the report.
pub fn load_records(data_dir: &Path) -> Result<(Vec<Record>, Report)> {
    let mut records = Vec::new();
    let report = ingest::load_dir(data_dir, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((records, report))
}

/// A progress bar on a terminal, a log line every 100,000 records otherwise.
pub(super) struct Progress {
    pub(super) bar: Option<indicatif::ProgressBar>,
    pub(super) count: std::cell::Cell<u64>,
    pub(super) started: Instant,
}

impl Progress {
    pub(super) fn new(enabled: bool) -> Progress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} indexing {human_pos} records ({per_sec}) {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            count: std::cell::Cell::new(0),
            started: Instant::now(),
        }
    }

    pub(super) fn tick(&self) {
        let n = self.count.get() + 1;
        self.count.set(n);
        match &self.bar {
            Some(bar) => bar.set_position(n),
            None if n.is_multiple_of(100_000) => {
                let rate = n as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                tracing::info!(records = n, per_second = rate as u64, "indexing");
            }
            None => {}
        }
    }

    pub(super) fn finish(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!(records = self.count.get(), "{message}");
    }
}
