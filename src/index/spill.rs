//! Grouping records by cluster before they are indexed (skill area and department), spilling
//! to disk past what memory holds.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::Record;
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

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
pub(super) fn cluster_of(record: &Record, taxonomy: &Taxonomy) -> (u8, usize) {
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

pub(super) fn department_of(record: &Record) -> &str {
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
pub(super) struct Clusters {
    pub(super) held: BTreeMap<(u8, usize), Vec<(u64, Record)>>,
    pub(super) count: usize,
    pub(super) limit: usize,
    /// Where the clusters' files go.
    pub(super) dir: PathBuf,
    /// The clusters with a file, and the file.
    pub(super) spilled: BTreeMap<(u8, usize), std::io::BufWriter<File>>,
}

pub(super) fn spill_error(dir: &Path, e: impl std::fmt::Display) -> Error {
    Error::Index {
        path: dir.to_path_buf(),
        reason: format!("cannot set records aside while building: {e} (is the disk full?)"),
    }
}

/// A record as a spill file holds it: its line number and the record.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) enum Spilled {
    Member(u64, crate::model::Member),
    CaseStudy(u64, crate::model::CaseStudy),
    Facility(u64, crate::model::Facility),
}

impl Clusters {
    pub(super) fn new(dir: PathBuf, limit: usize) -> Self {
        Clusters {
            dir,
            limit: limit.max(1),
            ..Clusters::default()
        }
    }

    /// Holds `record` (the `sequence`-th line read), spilling the largest cluster when too many
    /// are held.
    pub(super) fn hold(
        &mut self,
        record: Record,
        sequence: u64,
        taxonomy: &Taxonomy,
    ) -> Result<()> {
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
    pub(super) fn drain(
        mut self,
        add: &mut dyn FnMut(Vec<(u64, Record)>) -> Result<()>,
    ) -> Result<()> {
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
    pub(super) fn file_of(&self, (kind, specialism): (u8, usize)) -> PathBuf {
        self.dir.join(format!("{kind}-{specialism}.jsonl"))
    }

    pub(super) fn ordered(mut run: Vec<(u64, Record)>) -> Vec<(u64, Record)> {
        run.sort_by(|(a, x), (b, y)| department_of(x).cmp(department_of(y)).then(a.cmp(b)));
        run
    }
}
