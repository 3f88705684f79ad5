//! What a load did: counts per file, every rejected line with its reason, warnings, and the
//! skills that named no concept.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::FieldFault;

/// How many rejections and warnings a report keeps in full (all are counted).
pub const MAX_LISTED: usize = 10_000;

/// One input line that was not loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// File name.
    pub file: String,
    /// 1-based line number (for CSV, the line where the record starts).
    pub line: u64,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// Further fields at fault on the same line, when there are more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<FieldFault>,
}

/// Something worth knowing about a line that was still loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// File name.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What was noticed.
    pub message: String,
}

/// Counts for one input file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileSummary {
    /// File name.
    pub file: String,
    /// Lines (records) read, blank lines excluded.
    pub read: u64,
    /// Records accepted and passed to the index.
    pub indexed: u64,
    /// Accepted records whose id had been seen before: they replaced the earlier one.
    pub replaced: u64,
    /// Lines rejected.
    pub rejected: u64,
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One entry per file read.
    pub files: Vec<FileSummary>,
    /// Rejected lines (the first [`MAX_LISTED`]).
    pub rejections: Vec<Rejection>,
    /// Warnings (the first [`MAX_LISTED`]).
    pub warnings: Vec<Warning>,
    /// Total warnings, including those not listed.
    pub warning_count: u64,
    /// Free-text skills that named no concept, with how often each was seen.
    pub unmapped_skills: BTreeMap<String, u64>,
    /// Facility capabilities that named no concept, with how often each was seen.
    pub unmapped_capabilities: BTreeMap<String, u64>,
}

impl Report {
    /// Total lines rejected across files.
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }

    /// Total records accepted across files.
    pub fn indexed(&self) -> u64 {
        self.files.iter().map(|f| f.indexed).sum()
    }

    pub(super) fn reject(&mut self, rejection: Rejection) {
        if let Some(summary) = self.files.last_mut() {
            summary.rejected += 1;
        }
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(rejection);
        }
    }

    pub(super) fn warn(&mut self, file: &str, line: u64, message: String) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_LISTED {
            self.warnings.push(Warning {
                file: file.to_string(),
                line,
                message,
            });
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rejections {
            match &r.field {
                Some(field) => writeln!(
                    f,
                    "rejected {}:{}: field `{}`: {}",
                    r.file, r.line, field, r.reason
                )?,
                None => writeln!(f, "rejected {}:{}: {}", r.file, r.line, r.reason)?,
            }
            for more in &r.also {
                writeln!(
                    f,
                    "rejected {}:{}: field `{}`: {}",
                    r.file, r.line, more.field, more.reason
                )?;
            }
        }
        let listed = self.rejections.len() as u64;
        if self.rejected() > listed {
            writeln!(
                f,
                "... and {} more rejected lines",
                self.rejected() - listed
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "warning {}:{}: {}", w.file, w.line, w.message)?;
        }
        if self.warning_count > self.warnings.len() as u64 {
            writeln!(
                f,
                "... and {} more warnings",
                self.warning_count - self.warnings.len() as u64
            )?;
        }
        for (what, counts) in [
            ("skills", &self.unmapped_skills),
            ("capabilities", &self.unmapped_capabilities),
        ] {
            write_unmapped(f, what, counts)?;
        }
        for s in &self.files {
            writeln!(
                f,
                "{}: read {}, indexed {}, replaced {}, rejected {}",
                s.file, s.read, s.indexed, s.replaced, s.rejected
            )?;
        }
        let read: u64 = self.files.iter().map(|s| s.read).sum();
        let replaced: u64 = self.files.iter().map(|s| s.replaced).sum();
        write!(
            f,
            "total: read {read}, indexed {}, replaced {replaced}, rejected {}",
            self.indexed(),
            self.rejected()
        )
    }
}

/// Most free-text skills or capabilities named one by one in a report.
pub const MAX_UNMAPPED_LISTED: usize = 100;

/// The skills (or capabilities) that named no concept, most frequent first, so a data owner can
/// fix the vocabulary where it matters most.
fn write_unmapped(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    counts: &BTreeMap<String, u64>,
) -> fmt::Result {
    if counts.is_empty() {
        return Ok(());
    }
    let total: u64 = counts.values().sum();
    writeln!(
        f,
        "{} {what} ({total} mentions) named no concept of the taxonomy and are kept as free text:",
        counts.len()
    )?;
    let mut by_count: Vec<(&String, &u64)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (name, count) in by_count.iter().take(MAX_UNMAPPED_LISTED) {
        writeln!(f, "  {count:>6}  {name}")?;
    }
    if by_count.len() > MAX_UNMAPPED_LISTED {
        writeln!(f, "  ... and {} more", by_count.len() - MAX_UNMAPPED_LISTED)?;
    }
    Ok(())
}
