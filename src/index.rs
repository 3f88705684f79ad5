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

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::ingest::{self, Report};
use crate::model::{Kind, Marking, Record};
use crate::schema::{self, DocumentBuilder, FacetName, Fields};
use crate::store::Store;
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

/// File naming the generation to serve.
pub const CURRENT: &str = "CURRENT";
const LOCK: &str = ".muster.lock";
const GENERATION_PREFIX: &str = "gen-";
/// File in each generation holding the on-disk format it was written in.
const FORMAT_FILE: &str = "muster-format";
/// The on-disk format this build writes and reads. Bump it when a generation written by an older
/// build could not be read correctly (2: string fast-field dictionaries are not zstd-compressed).
pub const FORMAT_VERSION: u32 = 2;
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
    pub facet_cache: crate::facets::FacetCache,
    /// Per-segment statistics of the records above each marking.
    pub stats_cache: crate::stats::StatsCache,
    /// Authors of case studies linked to member records, per pair of segments.
    pub author_cache: crate::credit::AuthorCache,
    /// What each facet counts (its field and drill-down prefixes from this index's taxonomy),
    /// made on first use.
    pub facet_specs: std::sync::OnceLock<HashMap<FacetName, crate::facets::FacetSpec>>,
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
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(MusterIndex {
            index,
            fields,
            reader,
            taxonomy,
            path,
            facet_cache: Default::default(),
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
enum Source<'a> {
    /// Data files, straight into the index (benches and tests).
    Files(&'a Path),
    /// The record store, with the report of the load that filled it.
    Store(&'a Store, Report),
}

fn build_source(
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

fn build_generation(
    source: Source<'_>,
    generation: &Path,
    taxonomy: &Taxonomy,
    options: &BuildOptions,
) -> Result<(Report, u64)> {
    let fields = Fields::build();
    let index = Index::create_in_dir(generation, fields.schema.clone())?;
    schema::register_tokenizers(&index);
    let mut writer: IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(2, WRITER_MEMORY)?;
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
    let (mut report, store_seq) = match source {
        Source::Files(dir) => (ingest::load_dir(dir, &mut sink)?, 0),
        Source::Store(store, report) => (report, store.records(&mut sink)?),
    };
    clusters.drain(&mut |run| adding.add(run))?;
    for unlinked in std::mem::take(&mut adding.unmapped) {
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

/// Records a build holds in memory at most while it groups them by specialism; more go to
/// files next to the new index.
pub const CLUSTER_HELD_RECORDS: usize = 25_000;

/// Which records a build keeps together: the kind, then the specialism (the taxonomy node below a
/// discipline) of a member's highest-level skill, or of the first skill of a case study or
/// facility. Records are added to the index in runs of one cluster each, ordered by department
/// within the run, so that the records a search matches (similar expertise, often one
/// department) sit close together in each segment: the per-record facet and filter arrays a
/// search reads, and the posting lists it decodes, are then read from a few dense stretches
/// instead of one cache line per record across the whole segment.
fn cluster_of(record: &Record, taxonomy: &Taxonomy) -> (u8, usize) {
    let skill = match record {
        Record::Member(m) => m
            .skills
            .iter()
            .filter_map(|s| {
                taxonomy
                    .resolve(&s.name)
                    .0
                    .first()
                    .map(|&node| (s.level, node))
            })
            .max_by_key(|(level, _)| level.number())
            .map(|(_, node)| node),
        Record::CaseStudy(c) => c
            .skills
            .iter()
            .find_map(|s| taxonomy.resolve(s).0.first().copied()),
        Record::Facility(f) => f
            .capabilities
            .iter()
            .find_map(|s| taxonomy.resolve(s).0.first().copied()),
    };
    let specialism = skill.map_or(usize::MAX, |node| {
        let path = taxonomy.ancestors(node);
        // ancestors run from the node up to its discipline: the one below the discipline
        path.len()
            .checked_sub(2)
            .and_then(|i| path.get(i))
            .copied()
            .unwrap_or(node)
    });
    (record.kind() as u8, specialism)
}

fn department_of(record: &Record) -> &str {
    match record {
        Record::Member(m) => &m.department,
        Record::CaseStudy(c) => c.departments.first().map_or("", String::as_str),
        Record::Facility(f) => f.department.as_deref().unwrap_or(""),
    }
}

/// Records held back by cluster. When too many are held, the largest cluster's are appended to
/// that cluster's file inside the new generation and read back at the end, so every cluster is
/// added in one piece with at most `limit` records in memory.
#[derive(Default)]
struct Clusters {
    held: BTreeMap<(u8, usize), Vec<(u64, Record)>>,
    count: usize,
    limit: usize,
    /// Where the clusters' files go.
    dir: PathBuf,
    /// The clusters with a file, and the file.
    spilled: BTreeMap<(u8, usize), std::io::BufWriter<File>>,
}

fn spill_error(dir: &Path, e: impl std::fmt::Display) -> Error {
    Error::Index {
        path: dir.to_path_buf(),
        reason: format!("cannot set records aside while building: {e} (is the disk full?)"),
    }
}

/// A record as a spill file holds it: its line number and the record.
#[derive(serde::Serialize, serde::Deserialize)]
enum Spilled {
    Member(u64, crate::model::Member),
    CaseStudy(u64, crate::model::CaseStudy),
    Facility(u64, crate::model::Facility),
}

impl Clusters {
    fn new(dir: PathBuf, limit: usize) -> Self {
        Clusters {
            dir,
            limit: limit.max(1),
            ..Clusters::default()
        }
    }

    /// Holds `record` (the `sequence`-th line read), spilling the largest cluster when too many
    /// are held.
    fn hold(&mut self, record: Record, sequence: u64, taxonomy: &Taxonomy) -> Result<()> {
        let cluster = cluster_of(&record, taxonomy);
        self.held
            .entry(cluster)
            .or_default()
            .push((sequence, record));
        self.count += 1;
        if self.count < self.limit {
            return Ok(());
        }
        let Some(largest) = self
            .held
            .iter()
            .max_by_key(|(_, run)| run.len())
            .map(|(cluster, _)| *cluster)
        else {
            return Ok(());
        };
        let run = self.held.remove(&largest).unwrap_or_default();
        self.count -= run.len();
        if !self.spilled.contains_key(&largest) {
            fs::create_dir_all(&self.dir).map_err(|e| spill_error(&self.dir, e))?;
            let file =
                File::create(self.file_of(largest)).map_err(|e| spill_error(&self.dir, e))?;
            self.spilled.insert(largest, std::io::BufWriter::new(file));
        }
        let mut lines = Vec::new();
        for (sequence, record) in run {
            let spilled = match record {
                Record::Member(m) => Spilled::Member(sequence, m),
                Record::CaseStudy(c) => Spilled::CaseStudy(sequence, c),
                Record::Facility(f) => Spilled::Facility(sequence, f),
            };
            serde_json::to_writer(&mut lines, &spilled).map_err(|e| spill_error(&self.dir, e))?;
            lines.push(b'\n');
        }
        if let Some(file) = self.spilled.get_mut(&largest) {
            file.write_all(&lines)
                .map_err(|e| spill_error(&self.dir, e))?;
        }
        Ok(())
    }

    /// Every cluster in order (its spilled records first, then those still held), each run
    /// passed to `add`; the spill files are removed.
    fn drain(mut self, add: &mut dyn FnMut(Vec<(u64, Record)>) -> Result<()>) -> Result<()> {
        let mut clusters: Vec<(u8, usize)> = self.held.keys().copied().collect();
        clusters.extend(self.spilled.keys().copied());
        clusters.sort_unstable();
        clusters.dedup();
        for cluster in clusters {
            if let Some(file) = self.spilled.remove(&cluster) {
                let file = file.into_inner().map_err(|e| spill_error(&self.dir, e))?;
                drop(file);
                let path = self.file_of(cluster);
                let reader = std::io::BufReader::new(
                    File::open(&path).map_err(|e| spill_error(&self.dir, e))?,
                );
                let mut run = Vec::new();
                for line in std::io::BufRead::lines(reader) {
                    let line = line.map_err(|e| spill_error(&self.dir, e))?;
                    let record =
                        match serde_json::from_str(&line).map_err(|e| spill_error(&self.dir, e))? {
                            Spilled::Member(sequence, m) => (sequence, Record::Member(m)),
                            Spilled::CaseStudy(sequence, c) => (sequence, Record::CaseStudy(c)),
                            Spilled::Facility(sequence, f) => (sequence, Record::Facility(f)),
                        };
                    run.push(record);
                    if run.len() >= self.limit {
                        add(Self::ordered(std::mem::take(&mut run)))?;
                    }
                }
                add(Self::ordered(run))?;
                let _ = fs::remove_file(&path);
            }
            if let Some(run) = self.held.remove(&cluster) {
                add(Self::ordered(run))?;
            }
        }
        let _ = fs::remove_dir(&self.dir);
        Ok(())
    }

    /// The file a cluster's records are set aside in.
    fn file_of(&self, (kind, specialism): (u8, usize)) -> PathBuf {
        self.dir.join(format!("{kind}-{specialism}.jsonl"))
    }

    fn ordered(mut run: Vec<(u64, Record)>) -> Vec<(u64, Record)> {
        run.sort_by(|(a, x), (b, y)| department_of(x).cmp(department_of(y)).then(a.cmp(b)));
        run
    }
}

/// Adds records to a build's writer; a later line with the same id replaces an earlier one.
/// Records are added only once every line has been read, so the latest line of each record is
/// known then and the earlier ones are left out (no deletes).
struct Adding<'a> {
    writer: &'a IndexWriter<TantivyDocument>,
    builder: &'a DocumentBuilder<'a>,
    /// Per record key: the sequence number of its latest line.
    latest: HashMap<String, u64>,
    /// Lines read so far.
    read: u64,
    unmapped: Vec<schema::Unlinked>,
    progress: &'a Progress,
}

impl Adding<'_> {
    /// Notes a record read; returns its sequence number.
    fn arrived(&mut self, record: &Record) -> u64 {
        self.read += 1;
        let sequence = self.read;
        self.latest
            .insert(schema::record_key(record.kind(), record.id()), sequence);
        sequence
    }

    /// Adds a run, leaving out lines that a later line replaced.
    fn add(&mut self, run: Vec<(u64, Record)>) -> Result<()> {
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
fn commit_through(writer: &mut IndexWriter<TantivyDocument>, seq: u64) -> Result<()> {
    let mut commit = writer.prepare_commit()?;
    commit.set_payload(&seq.to_string());
    commit.commit()?;
    Ok(())
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
            let text = stored
                .get_first(index.fields.record)
                .and_then(|v| tantivy::schema::Value::as_str(&v))
                .unwrap_or("{}")
                .to_string();
            let kind = kinds
                .first(doc)
                .and_then(|code| {
                    Kind::ALL
                        .into_iter()
                        .find(|k| schema::kind_code(*k) == code)
                })
                .ok_or_else(|| Error::InvalidRecord(format!("document {doc} has no kind")))?;
            each(ingest::parse_json_line(kind, &text)?.record)?;
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

/// The generation named by `CURRENT`, if there is one.
pub fn current_generation(index_dir: &Path) -> Result<Option<PathBuf>> {
    let pointer = index_dir.join(CURRENT);
    let name = match fs::read_to_string(&pointer) {
        Ok(name) => name.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: pointer,
                source,
            });
        }
    };
    if !name.starts_with(GENERATION_PREFIX) || name.contains('/') {
        return Err(Error::Index {
            path: pointer,
            reason: format!("names `{name}`, which is not a generation"),
        });
    }
    let generation = index_dir.join(name);
    if !generation.join("meta.json").exists() {
        return Err(Error::Index {
            path: generation,
            reason: "the current generation has no meta.json (damaged index; rebuild it)".into(),
        });
    }
    Ok(Some(generation))
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
    let index = Index::create_in_ram(fields.schema.clone());
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

/// Every record of `kind` loaded from a data directory, in file order, with the report.
pub fn load_records(data_dir: &Path) -> Result<(Vec<Record>, Report)> {
    let mut records = Vec::new();
    let report = ingest::load_dir(data_dir, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((records, report))
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

fn new_generation_dir(index_dir: &Path) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    for attempt in 0..100u32 {
        let dir = index_dir.join(format!("{GENERATION_PREFIX}{stamp}-{attempt}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::Index {
                    path: dir,
                    reason: format!("cannot create: {e}"),
                });
            }
        }
    }
    Err(Error::Index {
        path: index_dir.to_path_buf(),
        reason: "cannot pick a new generation name".into(),
    })
}

/// Points `CURRENT` at `generation` with an atomic rename, syncing so it survives a crash.
fn publish(index_dir: &Path, generation: &Path) -> Result<()> {
    let name = generation
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = index_dir.join(format!("{CURRENT}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(name.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, index_dir.join(CURRENT))?;
        sync_dir(index_dir).map_err(std::io::Error::other)
    };
    write().map_err(|e| Error::Index {
        path: index_dir.to_path_buf(),
        reason: format!("cannot publish the new generation: {e}"),
    })
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })
}

/// Removes generations other than the current one (old ones and leftovers of killed builds).
fn remove_stale_generations(index_dir: &Path) {
    let current = current_generation(index_dir).ok().flatten();
    let Ok(entries) = fs::read_dir(index_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_generation = entry
            .file_name()
            .to_string_lossy()
            .starts_with(GENERATION_PREFIX);
        if is_generation
            && Some(&path) != current.as_ref()
            && let Err(e) = fs::remove_dir_all(&path)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove an old index generation");
        }
    }
}

/// Exclusive use of an index directory: held by a build, or by `serve` for its whole life, so a
/// second build or server on the same directory fails fast instead of corrupting it. The lock is
/// the operating system's, so it is released when the process dies, even by `kill -9`.
pub struct IndexLock {
    dir: PathBuf,
    _file: File,
}

impl IndexLock {
    /// Takes the lock of `index_dir` (creating the directory), or says who holds it.
    pub fn acquire(index_dir: &Path) -> Result<IndexLock> {
        let index_error = |reason: String| Error::Index {
            path: index_dir.to_path_buf(),
            reason,
        };
        fs::create_dir_all(index_dir)
            .map_err(|e| index_error(format!("cannot create the directory: {e}")))?;
        let path = index_dir.join(LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                index_error(format!("cannot open the lock file {}: {e}", path.display()))
            })?;
        match file.try_lock() {
            Ok(()) => Ok(IndexLock {
                dir: index_dir.to_path_buf(),
                _file: file,
            }),
            Err(_) => Err(index_error(
                "another muster process (a build or a server) is using this index directory".into(),
            )),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One change made through the write API.
#[derive(Debug, Clone)]
pub enum Change {
    /// Add a record, replacing any with the same kind and id.
    Put(Box<Record>),
    /// Remove the record of this kind and id, if there is one.
    Delete(Kind, String),
}

/// Applies write-API changes to the record store and then the open index, one batch at a time.
pub struct RecordWriter {
    index: MusterIndex,
    writer: std::sync::Mutex<IndexWriter<TantivyDocument>>,
    store: Arc<Store>,
    /// When the index last held every change in the store (checked by [`RecordWriter::follow`]).
    caught_up_at: std::sync::Mutex<Instant>,
    /// The last store change the index holds, as its last commit notes (read from disk once).
    applied: std::sync::atomic::AtomicU64,
    _lock: IndexLock,
}

/// Memory the serving writer may buffer before it flushes a segment.
const SERVE_WRITER_MEMORY: usize = 64 * 1024 * 1024;

impl RecordWriter {
    /// A writer on `index`, which must be the current generation of the directory `lock` holds,
    /// and on `store`, the records it is derived from. The index is first brought up to date
    /// with the store (changes committed to the store but not yet to the index, by a process
    /// that died between the two, are applied).
    pub fn open(index: &MusterIndex, lock: IndexLock, store: Arc<Store>) -> Result<RecordWriter> {
        let writer = index
            .index
            .writer_with_num_threads(1, SERVE_WRITER_MEMORY)
            .map_err(|e| Error::Index {
                path: lock.dir.clone(),
                reason: format!("cannot open a writer: {e}"),
            })?;
        let writer = RecordWriter {
            index: index.clone(),
            writer: std::sync::Mutex::new(writer),
            store,
            caught_up_at: std::sync::Mutex::new(Instant::now()),
            applied: std::sync::atomic::AtomicU64::new(applied_seq(index)?),
            _lock: lock,
        };
        let caught_up = writer.catch_up()?;
        if caught_up > 0 {
            tracing::info!(changes = caught_up, "index caught up with the record store");
        }
        Ok(writer)
    }

    /// The record store behind the index.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Follows a store other servers write too, for ever, on a thread of its own: waits for a
    /// change to be announced (or a second), applies what the index lacks, and notes when it was
    /// last level with the store (see [`RecordWriter::lag`]).
    pub fn follow(self: &Arc<Self>) {
        let writer = self.clone();
        std::thread::spawn(move || {
            loop {
                writer.store.wait_for_change(Duration::from_secs(1));
                let level = writer.catch_up().and_then(|applied| {
                    if applied > 0 {
                        tracing::debug!(applied, "followed the record store");
                    }
                    Ok(writer.store.last_seq()? <= writer.applied())
                });
                match level {
                    Ok(true) => {
                        *writer
                            .caught_up_at
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) = Instant::now();
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot follow the record store"),
                }
            }
        });
    }

    /// How far behind the store the index may be: zero for a store only this server writes;
    /// for a shared one, the time since the index was last seen level with it (a second or so
    /// when all is well; growing while the store cannot be reached).
    pub fn lag(&self) -> Duration {
        if !self.store.is_shared() {
            return Duration::ZERO;
        }
        self.caught_up_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }

    /// Applies the store's changes the index does not hold yet; how many there were.
    pub fn catch_up(&self) -> Result<u64> {
        let mut writer = self.lock_writer()?;
        let count = self.stage_and_commit(&mut writer)?;
        drop(writer);
        if count > 0 {
            self.index.reader.reload()?;
        }
        Ok(count)
    }

    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>>> {
        self.writer
            .lock()
            .map_err(|_| Error::Io(std::io::Error::other("the index writer was poisoned")))
    }

    /// Commits the staged changes as holding the store up to `seq`, synced to disk.
    fn commit_synced(&self, writer: &mut IndexWriter<TantivyDocument>, seq: u64) -> Result<()> {
        commit_through(writer, seq)?;
        // tantivy syncs the directory before renaming meta.json, not after: without this a
        // power cut after the answer could bring back the meta.json of the commit before
        if let Some(dir) = &self.index.path {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// The marking of the stored record of `kind` and `id`, if there is one (of any marking).
    pub fn marking_of(&self, kind: Kind, id: &str) -> Result<Option<Marking>> {
        let searcher = self.index.reader.searcher();
        let query = tantivy::query::TermQuery::new(
            Term::from_field_text(self.index.fields.key, &schema::record_key(kind, id)),
            tantivy::schema::IndexRecordOption::Basic,
        );
        let top = searcher.search(
            &query,
            &tantivy::collector::TopDocs::with_limit(1).order_by_score(),
        )?;
        let Some((_, address)) = top.first() else {
            return Ok(None);
        };
        let markings = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .u64(self.index.fields.name_of(self.index.fields.marking))?;
        Ok(markings.first(address.doc_id).and_then(Marking::from_rank))
    }

    /// Records `changes` in the store (one transaction, on disk), then applies them to the
    /// index as one commit, synced, and makes them visible to searches. If the index cannot
    /// take them, they are in the store and the index takes them at the next start.
    pub fn apply(&self, changes: &[Change]) -> Result<()> {
        let mut writer = self.lock_writer()?;
        self.store.apply(changes)?;
        // from the index's own last change, not just this batch: a batch the index failed to
        // take before is in the store, and goes in now
        self.stage_and_commit(&mut writer)?;
        drop(writer);
        self.index.reader.reload()?;
        Ok(())
    }

    /// The last store change the index holds.
    fn applied(&self) -> u64 {
        self.applied.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stages the store's changes after the index's last and commits them as one, synced; on
    /// error nothing of them is committed. How many there were.
    fn stage_and_commit(&self, writer: &mut IndexWriter<TantivyDocument>) -> Result<u64> {
        let from = self.applied();
        let builder = DocumentBuilder::new(&self.index.fields, &self.index.taxonomy);
        let fields = &self.index.fields;
        let mut count = 0u64;
        let mut staged = || -> Result<()> {
            let last = self.store.changes_since(from, &mut |change| {
                writer.delete_term(Term::from_field_text(
                    fields.key,
                    &schema::record_key(change.kind, &change.id),
                ));
                if let Some(record) = &change.record {
                    writer.add_document(builder.document(record).0)?;
                }
                count += 1;
                Ok(())
            })?;
            if count > 0 {
                self.commit_synced(writer, last)?;
                self.applied
                    .store(last, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(())
        };
        if let Err(e) = staged() {
            // drop whatever was staged so the next batch starts clean
            let _ = writer.rollback();
            return Err(e);
        }
        Ok(count)
    }
}

/// A progress bar on a terminal, a log line every 100,000 records otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    count: std::cell::Cell<u64>,
    started: Instant,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
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

    fn tick(&self) {
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

    fn finish(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!(records = self.count.get(), "{message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: &str = r#"{"id":"m-1","name":"Ada","department":"Dstl"}
{"id":"m-2","name":"Grace","department":"UKHSA"}
"#;

    fn options() -> BuildOptions {
        BuildOptions::default()
    }

    fn data(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("members.jsonl"), text).unwrap();
        dir
    }

    #[test]
    fn a_split_build_keeps_every_record_and_no_files_of_merged_away_segments() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        // 2,239 records, at least 1,000 a segment: at most two (the writer's two threads
        // usually leave two segments to merge from; a single one is not split)
        let split = BuildOptions {
            segments: 4,
            min_segment_records: 1_000,
            ..options()
        };
        let outcome = build(&fixtures, index_dir.path(), taxonomy.clone(), &split).unwrap();
        let index = open(index_dir.path(), taxonomy.clone()).unwrap();
        let searcher = index.reader.searcher();
        let sizes: Vec<u32> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.num_docs())
            .collect();
        assert!((1..=2).contains(&sizes.len()), "{sizes:?}");
        assert_eq!(sizes.iter().map(|n| u64::from(*n)).sum::<u64>(), 2_239);
        assert_eq!(outcome.documents, 2_239);
        // the merged-away segments' files are gone: only the live segments' files remain
        let live: std::collections::HashSet<String> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id().uuid_string())
            .collect();
        for entry in fs::read_dir(&outcome.generation).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if let Some((stem, _)) = name.split_once('.')
                && stem.len() == 32
            {
                assert!(live.contains(stem), "{name} belongs to no live segment");
            }
        }
        // one core or a small index: one segment
        for one in [
            BuildOptions {
                segments: 1,
                min_segment_records: 1,
                ..options()
            },
            options(),
        ] {
            build(&fixtures, index_dir.path(), taxonomy.clone(), &one).unwrap();
            let index = open(index_dir.path(), taxonomy.clone()).unwrap();
            assert_eq!(index.reader.searcher().segment_readers().len(), 1);
        }
    }

    #[test]
    fn balanced_groups_are_balanced_and_use_every_segment_once() {
        assert_eq!(
            balanced_groups(&[5, 1, 1, 1, 1, 1], 2),
            vec![vec![0], vec![1, 2, 3, 4, 5]]
        );
        assert_eq!(balanced_groups(&[3, 4], 5), vec![vec![1], vec![0]]);
        assert_eq!(balanced_groups(&[], 2), Vec::<Vec<usize>>::new());
        let sizes = [90, 10, 40, 40, 60, 30, 20, 70];
        let groups = balanced_groups(&sizes, 3);
        let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..sizes.len()).collect::<Vec<_>>());
        let totals: Vec<u64> = groups
            .iter()
            .map(|g| g.iter().map(|&i| sizes[i]).sum())
            .collect();
        // 360 records in three, largest first into the lightest group: even
        assert_eq!(totals, vec![120, 120, 120]);
    }

    #[test]
    fn build_publishes_a_generation_that_open_reads() {
        let data = data(MEMBERS);
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        let outcome = build(data.path(), index_dir.path(), taxonomy.clone(), &options()).unwrap();
        assert_eq!(outcome.documents, 2);
        let index = open(index_dir.path(), taxonomy).unwrap();
        assert_eq!(index.total_docs(), 2);
    }

    #[test]
    fn a_second_build_replaces_the_first_and_removes_it() {
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        let first = build(
            data(MEMBERS).path(),
            index_dir.path(),
            taxonomy.clone(),
            &options(),
        )
        .unwrap();
        let more =
            format!("{MEMBERS}{{\"id\":\"m-3\",\"name\":\"Rosalind\",\"department\":\"NPL\"}}\n");
        let second = build(
            data(&more).path(),
            index_dir.path(),
            taxonomy.clone(),
            &options(),
        )
        .unwrap();
        assert_ne!(first.generation, second.generation);
        assert!(!first.generation.exists());
        assert_eq!(open(index_dir.path(), taxonomy).unwrap().total_docs(), 3);
    }

    #[test]
    fn strict_build_with_a_rejection_keeps_the_previous_index() {
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        build(
            data(MEMBERS).path(),
            index_dir.path(),
            taxonomy.clone(),
            &options(),
        )
        .unwrap();
        let bad = format!("{MEMBERS}{{\"id\":\"m-3\"}}\n");
        let strict = BuildOptions {
            strict: true,
            ..BuildOptions::default()
        };
        let err = build(
            data(&bad).path(),
            index_dir.path(),
            taxonomy.clone(),
            &strict,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Strict { rejected: 1, report } if report.contains("rejected members.jsonl:")),
            "{err}"
        );
        assert_eq!(open(index_dir.path(), taxonomy).unwrap().total_docs(), 2);
        let generations = fs::read_dir(index_dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("gen-")
            })
            .count();
        assert_eq!(generations, 1);
    }

    #[test]
    fn duplicate_ids_leave_one_document_with_the_last_values() {
        let text =
            format!("{MEMBERS}{{\"id\":\"m-1\",\"name\":\"Ada King\",\"department\":\"Dstl\"}}\n");
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        let outcome = build(data(&text).path(), index_dir.path(), taxonomy, &options()).unwrap();
        assert_eq!(outcome.documents, 2);
        assert_eq!(outcome.report.files[0].replaced, 1);
    }

    #[test]
    fn a_later_line_wins_however_the_build_reorders_records() {
        // two records held at most: clusters go to files as the build goes; the second line of
        // m-1 (another specialism) comes after its first was written to a file, both lines of
        // m-3 are still held together at the end
        let line = |id: &str, name: &str, skill: &str| {
            format!(
                r#"{{"id":"{id}","name":"{name}","department":"Dstl","skills":[{{"name":"{skill}","level":3}}]}}"#
            ) + "\n"
        };
        let text = [
            line("m-1", "Ada First", "Virology"),
            line("m-9", "Bo", "Virology"),
            line("m-1", "Ada Second", "Statistics"),
            line("m-2", "Cy", "Statistics"),
            line("m-3", "Di First", "Flood risk"),
            line("m-3", "Di Second", "Flood risk"),
        ]
        .concat();
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        let held = BuildOptions {
            held_records: 2,
            ..options()
        };
        let outcome = build(
            data(&text).path(),
            index_dir.path(),
            taxonomy.clone(),
            &held,
        )
        .unwrap();
        assert_eq!(outcome.documents, 4);
        let index = open(index_dir.path(), taxonomy).unwrap();
        let name = |id: &str| {
            crate::search::get(
                &index,
                Kind::Member,
                id,
                Marking::OfficialSensitive,
                crate::search::today(),
            )
            .unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(name("m-1"), "Ada Second");
        assert_eq!(name("m-3"), "Di Second");
        assert_eq!(name("m-9"), "Bo");
        assert_eq!(count_kind(&index, Kind::Member).unwrap(), 4);
    }

    #[test]
    fn records_set_aside_in_files_come_back_whole() {
        // every record of the fixtures through a file (one held at most) against none
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let taxonomy = Taxonomy::builtin();
        let (records, _) = load_records(&fixtures).unwrap();
        let mut built = Vec::new();
        for held_records in [1, CLUSTER_HELD_RECORDS] {
            let dir = tempfile::tempdir().unwrap();
            let options = BuildOptions {
                held_records,
                ..options()
            };
            let outcome = build(&fixtures, dir.path(), taxonomy.clone(), &options).unwrap();
            assert_eq!(outcome.documents, records.len() as u64);
            // nothing is left beside the index
            assert!(!outcome.generation.join(".clusters").exists());
            built.push((open(dir.path(), taxonomy.clone()).unwrap(), dir));
        }
        for record in &records {
            let [(spilled, _), (held, _)] = &built[..] else {
                unreachable!()
            };
            let get = |index| {
                crate::search::get(
                    index,
                    record.kind(),
                    record.id(),
                    Marking::OfficialSensitive,
                    crate::search::today(),
                )
                .unwrap()
            };
            assert_eq!(get(spilled), get(held), "{}", record.id());
        }
    }

    #[test]
    fn opening_a_directory_without_an_index_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(dir.path(), Taxonomy::builtin()).err().unwrap();
        assert!(err.to_string().contains("no index has been built"), "{err}");
    }

    #[test]
    fn a_leftover_from_a_killed_build_is_ignored_and_cleaned_up() {
        let index_dir = tempfile::tempdir().unwrap();
        let taxonomy = Taxonomy::builtin();
        build(
            data(MEMBERS).path(),
            index_dir.path(),
            taxonomy.clone(),
            &options(),
        )
        .unwrap();
        // what a build killed mid-way leaves: a generation directory CURRENT does not name
        let half = index_dir.path().join("gen-0-0");
        fs::create_dir(&half).unwrap();
        fs::write(half.join("garbage.idx"), b"partial").unwrap();
        assert_eq!(
            open(index_dir.path(), taxonomy.clone())
                .unwrap()
                .total_docs(),
            2
        );
        build(data(MEMBERS).path(), index_dir.path(), taxonomy, &options()).unwrap();
        assert!(!half.exists());
    }

    /// Runs in a child process (see the test below): builds from `MUSTER_CHILD_DATA`.
    #[test]
    #[ignore = "run as a child process by a_build_killed_mid_way_leaves_the_previous_index_usable"]
    fn child_build() {
        let (Ok(data), Ok(index_dir)) = (
            std::env::var("MUSTER_CHILD_DATA"),
            std::env::var("MUSTER_CHILD_INDEX"),
        ) else {
            return;
        };
        build(
            Path::new(&data),
            Path::new(&index_dir),
            Taxonomy::builtin(),
            &options(),
        )
        .unwrap();
    }

    #[test]
    fn an_index_in_another_format_is_refused_with_the_way_out() {
        let index_dir = tempfile::tempdir().unwrap();
        let outcome = build(
            data(MEMBERS).path(),
            index_dir.path(),
            Taxonomy::builtin(),
            &options(),
        )
        .unwrap();
        assert_eq!(outcome.report.rejected(), 0);
        // a small build is one segment, and records the format it wrote
        let opened = open(index_dir.path(), Taxonomy::builtin()).unwrap();
        assert_eq!(opened.reader.searcher().segment_readers().len(), 1);
        drop(opened);
        for (content, says) in [
            (None, "an older format"),
            (Some("1\n"), "format 1"),
            (Some("garbage"), "an older format"),
        ] {
            let marker = outcome.generation.join(FORMAT_FILE);
            match content {
                Some(text) => fs::write(&marker, text).unwrap(),
                None => {
                    let _ = fs::remove_file(&marker);
                }
            }
            let err = open(index_dir.path(), Taxonomy::builtin())
                .err()
                .expect("refused")
                .to_string();
            assert!(err.contains(says), "{err}");
            assert!(err.contains("muster rebuild"), "{err}");
        }
    }

    #[test]
    fn a_build_killed_mid_way_leaves_the_previous_index_usable() {
        let taxonomy = Taxonomy::builtin();
        let index_dir = tempfile::tempdir().unwrap();
        build(
            data(MEMBERS).path(),
            index_dir.path(),
            taxonomy.clone(),
            &options(),
        )
        .unwrap();
        let before = current_generation(index_dir.path()).unwrap().unwrap();

        let big = tempfile::tempdir().unwrap();
        let spec = crate::generate::Spec {
            members: 40_000,
            case_studies_per_member: 0.1,
            seed: 1,
            csv: false,
        };
        crate::generate::generate(&spec, &taxonomy, big.path()).unwrap();

        for delay_ms in [0u64, 150, 400] {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "index::tests::child_build",
                    "--ignored",
                    "--nocapture",
                ])
                .env("MUSTER_CHILD_DATA", big.path())
                .env("MUSTER_CHILD_INDEX", index_dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // wait until the child has started writing a new generation, then kill -9
            let deadline = Instant::now() + Duration::from_secs(60);
            while fs::read_dir(index_dir.path())
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
                .count()
                < 2
            {
                assert!(Instant::now() < deadline, "the child never started a build");
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(delay_ms));
            assert!(
                child.try_wait().unwrap().is_none(),
                "the build finished before it could be killed"
            );
            child.kill().unwrap();
            child.wait().unwrap();

            assert_eq!(
                current_generation(index_dir.path()).unwrap().unwrap(),
                before
            );
            let index = open(index_dir.path(), taxonomy.clone()).unwrap();
            assert_eq!(index.total_docs(), 2, "after a kill at +{delay_ms} ms");
        }
        // the next build cleans up and succeeds
        build(
            data(MEMBERS).path(),
            index_dir.path(),
            taxonomy.clone(),
            &options(),
        )
        .unwrap();
        let generations = fs::read_dir(index_dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
            .count();
        assert_eq!(generations, 1);
    }
}
