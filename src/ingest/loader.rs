//! Loading files into a sink, members first, checking references between records.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::ingest::{
    FileSummary, Line, LineReader, MAX_LINE_BYTES, Parsed, Rejection, Report, csv_row_to_object,
    parse_json_line, parse_object,
};
use crate::model::{Kind, Record, truncate};
use crate::{Error, Result};

/// Receives each accepted record. An error stops the load (it means the index failed).
pub type Sink<'a> = dyn FnMut(Record) -> Result<()> + 'a;

/// Loads every data file in `dir` into `sink` and reports what happened.
///
/// Reads `members.jsonl`, `members.csv`, `facilities.jsonl` and `case_studies.jsonl` when
/// present; a directory with none of them is an error, as is a missing directory.
pub fn load_dir(dir: &Path, sink: &mut Sink<'_>) -> Result<Report> {
    let meta = std::fs::metadata(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Read {
            path: dir.to_path_buf(),
            source: std::io::Error::other("not a directory"),
        });
    }
    let files: Vec<(PathBuf, Kind, bool)> = [
        ("members.jsonl", Kind::Member, false),
        ("members.csv", Kind::Member, true),
        ("facilities.jsonl", Kind::Facility, false),
        ("case_studies.jsonl", Kind::CaseStudy, false),
    ]
    .into_iter()
    .map(|(name, kind, csv)| (dir.join(name), kind, csv))
    .filter(|(path, _, _)| path.exists())
    .collect();
    if files.is_empty() {
        return Err(Error::Read {
            path: dir.to_path_buf(),
            source: std::io::Error::other(
                "no members.jsonl, members.csv, facilities.jsonl or case_studies.jsonl here",
            ),
        });
    }
    let mut loader = Loader::default();
    for (path, kind, is_csv) in files {
        if is_csv {
            loader.load_csv(&path, sink)?;
        } else {
            loader.load_jsonl(&path, kind, sink)?;
        }
    }
    Ok(loader.report)
}

/// Says whether a record of this kind and id already exists elsewhere (in the index), as far
/// as the one loading may know: the write API answers for what the caller may see.
pub type Known = dyn Fn(Kind, &str) -> bool + Send;

/// Refuses an otherwise valid record for a reason of the caller's (the write API refuses
/// markings above the token's); the error names the field.
pub type Guard = dyn Fn(&Record) -> Result<()> + Send;

/// Loads files one after another, remembering ids so references can be checked.
#[derive(Default)]
pub struct Loader {
    /// The report so far.
    pub report: Report,
    /// Records that exist outside this load (the write API loads into a live index).
    pub known: Option<Box<Known>>,
    /// Checked on each valid record before it is accepted.
    pub guard: Option<Box<Guard>>,
    members: HashSet<String>,
    facilities: HashSet<String>,
    case_studies: HashSet<String>,
    unknown_fields: BTreeMap<String, (u64, String, u64)>,
}

impl Loader {
    /// Loads one JSON Lines file of `kind`.
    pub fn load_jsonl(&mut self, path: &Path, kind: Kind, sink: &mut Sink<'_>) -> Result<()> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_jsonl_from(file, &file_name(path), kind, sink)
            .map_err(|e| match e {
                Error::Read { source, .. } => Error::Read {
                    path: path.to_path_buf(),
                    source,
                },
                other => other,
            })
    }

    /// Loads JSON Lines of `kind` from any reader (a file, a request body), reported as `name`.
    pub fn load_jsonl_from(
        &mut self,
        reader: impl std::io::Read,
        name: &str,
        kind: Kind,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        self.start_file(name);
        let mut lines = LineReader::new(reader, MAX_LINE_BYTES);
        while let Some((number, line)) = lines.next_line().map_err(|source| Error::Read {
            path: PathBuf::from(name),
            source,
        })? {
            let text = match line {
                Line::Text(text) => text,
                Line::TooLong(len) => {
                    self.count_read();
                    self.reject(
                        name,
                        number,
                        None,
                        format!("line is {len} bytes, longer than the {MAX_LINE_BYTES}-byte limit"),
                    );
                    continue;
                }
                Line::NotUtf8(at) => {
                    self.count_read();
                    self.reject(
                        name,
                        number,
                        None,
                        format!("not valid UTF-8 (bad byte at column {})", at + 1),
                    );
                    continue;
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            self.count_read();
            match parse_json_line(kind, &text) {
                Ok(parsed) => self.accept(name, number, parsed, sink)?,
                Err(e) => self.reject_error(name, number, e),
            }
        }
        self.finish_file();
        Ok(())
    }

    /// Loads one members CSV file.
    pub fn load_csv(&mut self, path: &Path, sink: &mut Sink<'_>) -> Result<()> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = file_name(path);
        self.start_file(&name);
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let headers: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => {
                self.reject(&name, 1, None, format!("cannot read the header row: {e}"));
                self.finish_file();
                return Ok(());
            }
        };
        if headers.iter().all(|h| h.is_empty()) {
            // an empty file: nothing to load, nothing lost
            self.finish_file();
            return Ok(());
        }
        for required in ["id", "name", "department"] {
            if !headers.iter().any(|h| h == required) {
                self.reject(
                    &name,
                    1,
                    Some(required.to_string()),
                    format!(
                        "the header row has no `{required}` column (found: {})",
                        truncate(&headers.join(", "), 200)
                    ),
                );
                self.finish_file();
                return Ok(());
            }
        }
        let mut row = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut row) {
                Ok(false) => break,
                Ok(true) => {
                    let line = row.position().map(|p| p.line()).unwrap_or(line);
                    self.count_read();
                    if row.len() != headers.len() {
                        self.reject(
                            &name,
                            line,
                            None,
                            format!(
                                "has {} columns, the header has {}",
                                row.len(),
                                headers.len()
                            ),
                        );
                        continue;
                    }
                    let map = csv_row_to_object(&headers, &row);
                    match parse_object(Kind::Member, &map) {
                        Ok(parsed) => self.accept(&name, line, parsed, sink)?,
                        Err(e) => self.reject_error(&name, line, e),
                    }
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(line);
                    self.count_read();
                    let reason = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
                        _ => format!("cannot parse CSV: {e}"),
                    };
                    self.reject(&name, line, None, reason);
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                }
            }
        }
        self.finish_file();
        Ok(())
    }

    fn start_file(&mut self, name: &str) {
        self.report.files.push(FileSummary {
            file: name.to_string(),
            ..FileSummary::default()
        });
    }

    fn finish_file(&mut self) {
        for (field, (count, file, line)) in std::mem::take(&mut self.unknown_fields) {
            let lines = if count == 1 {
                "line".to_string()
            } else {
                format!("{count} lines")
            };
            self.report.warn(
                &file,
                line,
                format!("unknown field `{field}` ignored ({lines}, first here)"),
            );
        }
    }

    fn count_read(&mut self) {
        if let Some(s) = self.report.files.last_mut() {
            s.read += 1;
        }
    }

    fn reject(&mut self, file: &str, line: u64, field: Option<String>, reason: String) {
        self.report.reject(Rejection {
            file: file.to_string(),
            line,
            field,
            reason,
            also: Vec::new(),
        });
    }

    fn reject_error(&mut self, file: &str, line: u64, error: Error) {
        match error {
            Error::InvalidField { field, reason } => self.reject(file, line, Some(field), reason),
            Error::InvalidFields(mut faults) if !faults.is_empty() => {
                let first = faults.remove(0);
                self.report.reject(Rejection {
                    file: file.to_string(),
                    line,
                    field: Some(first.field),
                    reason: first.reason,
                    also: faults,
                });
            }
            Error::InvalidRecord(reason) => self.reject(file, line, None, reason),
            other => self.reject(file, line, None, other.to_string()),
        }
    }

    fn accept(
        &mut self,
        file: &str,
        line: u64,
        parsed: Parsed<Record>,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        for field in parsed.unknown_fields {
            let entry = self
                .unknown_fields
                .entry(field)
                .or_insert((0, file.to_string(), line));
            entry.0 += 1;
        }
        let mut record = parsed.record;
        if let Some(Err(refused)) = self.guard.as_ref().map(|guard| guard(&record)) {
            self.reject_error(file, line, refused);
            return Ok(());
        }
        self.check_references(file, line, &mut record);
        let id = record.id().to_string();
        let seen = match record.kind() {
            Kind::Member => &mut self.members,
            Kind::CaseStudy => &mut self.case_studies,
            Kind::Facility => &mut self.facilities,
        };
        let replaced = !seen.insert(id.clone());
        if replaced {
            self.report.warn(
                file,
                line,
                format!("id `{id}` appeared earlier; this line replaces it"),
            );
        }
        sink(record)?;
        if let Some(s) = self.report.files.last_mut() {
            s.indexed += 1;
            if replaced {
                s.replaced += 1;
            }
        }
        Ok(())
    }

    fn exists(&self, kind: Kind, id: &str) -> bool {
        self.known.as_ref().is_some_and(|known| known(kind, id))
    }

    /// Drops references to members or facilities that were not loaded, reporting each.
    fn check_references(&mut self, file: &str, line: u64, record: &mut Record) {
        let mut missing = Vec::new();
        match record {
            Record::Member(_) => {}
            Record::CaseStudy(cs) => {
                cs.authors.retain(|a| {
                    let known = self.members.contains(a) || self.exists(Kind::Member, a);
                    if !known {
                        missing.push(format!("author `{a}` is not a known member; left out"));
                    }
                    known
                });
                if !self.facilities.is_empty() || self.known.is_some() {
                    cs.facilities.retain(|f| {
                        let known = self.facilities.contains(f) || self.exists(Kind::Facility, f);
                        if !known {
                            missing
                                .push(format!("facility `{f}` is not a known facility; left out"));
                        }
                        known
                    });
                }
            }
            Record::Facility(fac) => {
                fac.contacts.retain(|c| {
                    let known = self.members.contains(c) || self.exists(Kind::Member, c);
                    if !known {
                        missing.push(format!("contact `{c}` is not a known member; left out"));
                    }
                    known
                });
            }
        }
        for message in missing {
            self.report.warn(file, line, message);
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
