//! The audit trail: who read or changed what, and who was refused, as JSON lines appended with
//! group commit, read newest first, and deleted after the retention period.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::model::Marking;
use crate::{Error, Result};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// RFC 3339 time.
    pub time: String,
    /// Token subject, or `-` when there was none.
    pub subject: String,
    /// What was attempted: method and path, or a write action.
    pub action: String,
    /// Record ids concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// `ok` or why it was refused.
    pub outcome: String,
    /// The request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The lowest marking an admin must be cleared for to read this entry (the caller's
    /// highest); an entry without one is read only by admins cleared for every marking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub marking: Option<Marking>,
}

impl AuditEntry {
    /// Whether an admin cleared for `max_marking` may read this entry.
    pub fn readable_at(&self, max_marking: Marking) -> bool {
        let top = Marking::ALL.last().copied().unwrap_or(max_marking);
        self.marking.unwrap_or(top) <= max_marking
    }
}

/// An append-only JSON Lines audit log. Never contains a token.
///
/// A write's or a refusal's entry is on disk before [`AuditLog::record`] returns; concurrent ones
/// share one sync (group commit). A read's entry ([`AuditLog::note`]) is written to the file
/// before the answer (so it survives the process crashing) and synced within
/// [`READ_SYNC_INTERVAL`] by a thread of the log's own, so auditing every search costs no sync
/// on the request's path; only a power cut can lose the last moment of reads.
pub struct AuditLog {
    path: PathBuf,
    shared: std::sync::Arc<Shared>,
}

struct Shared {
    file: Mutex<Appender>,
    /// How many entries are known to be on disk.
    synced: Mutex<u64>,
}

struct Appender {
    file: std::fs::File,
    /// Entries appended since the log was opened.
    written: u64,
}

/// How long audit entries are kept by default: 13 months.
pub const AUDIT_RETENTION_DAYS: u32 = 396;

/// The longest a read's audit entry waits to be synced to disk.
pub const READ_SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

impl Shared {
    fn append(&self, line: &str) -> std::io::Result<u64> {
        let mut appender = self.file.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(appender.file, "{line}")?;
        appender.written += 1;
        Ok(appender.written)
    }

    /// Syncs the file unless a sync that started after entry `mine` was appended covered it.
    fn sync_through(&self, mine: u64) -> std::io::Result<()> {
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= mine {
            return Ok(());
        }
        let (upto, handle) = {
            let appender = self.file.lock().unwrap_or_else(|e| e.into_inner());
            (appender.written, appender.file.try_clone())
        };
        handle?.sync_data()?;
        *synced = upto;
        Ok(())
    }
}

impl AuditLog {
    /// Opens (creating) the log at `path`, with the thread that syncs reads' entries.
    pub fn open(path: &Path) -> Result<AuditLog> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::Read {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let shared = std::sync::Arc::new(Shared {
            file: Mutex::new(Appender {
                file: Self::append_to(path)?,
                written: 0,
            }),
            synced: Mutex::new(0),
        });
        let weak = std::sync::Arc::downgrade(&shared);
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("audit-sync".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(READ_SYNC_INTERVAL);
                    let Some(shared) = weak.upgrade() else {
                        return; // the log is closed
                    };
                    let written = shared.file.lock().map(|a| a.written).unwrap_or(0);
                    if let Err(e) = shared.sync_through(written) {
                        tracing::error!(error = %e, path = %shown, "cannot sync the audit log");
                    }
                }
            })
            .map_err(Error::Io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            shared,
        })
    }

    fn append_to(path: &Path) -> Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a write's or a refusal's entry and syncs it, so it survives a crash.
    pub fn record(&self, entry: AuditEntry) {
        let synced = self
            .append(entry)
            .and_then(|mine| self.shared.sync_through(mine));
        if let Err(e) = synced {
            self.report(e);
        }
    }

    /// Appends a read's entry; it is synced within [`READ_SYNC_INTERVAL`].
    pub fn note(&self, entry: AuditEntry) {
        if let Err(e) = self.append(entry) {
            self.report(e);
        }
    }

    fn append(&self, mut entry: AuditEntry) -> std::io::Result<u64> {
        if entry.time.is_empty() {
            entry.time = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        }
        let line = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
        self.shared.append(&line)
    }

    fn report(&self, e: std::io::Error) {
        tracing::error!(error = %e, path = %self.path.display(), "cannot write the audit log");
    }

    /// Deletes the entries older than `cutoff` (and any line that is not an entry), rewriting the
    /// log beside itself and renaming it into place, so a crash leaves the old or the new log
    /// whole. Returns how many lines were removed.
    pub fn prune(&self, cutoff: time::OffsetDateTime) -> Result<u64> {
        use std::io::{BufRead, BufReader, BufWriter};
        let io = |source| Error::Read {
            path: self.path.clone(),
            source,
        };
        let mut appender = self.shared.file.lock().unwrap_or_else(|e| e.into_inner());
        let reader = BufReader::new(std::fs::File::open(&self.path).map_err(io)?);
        let fresh_path = self.path.with_extension("pruning");
        let mut fresh = BufWriter::new(std::fs::File::create(&fresh_path).map_err(io)?);
        let mut removed = 0;
        for line in reader.split(b'\n') {
            let line = line.map_err(io)?;
            let kept = serde_json::from_slice::<AuditEntry>(&line)
                .ok()
                .and_then(|entry| {
                    time::OffsetDateTime::parse(
                        &entry.time,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                })
                .is_some_and(|at| at >= cutoff);
            if kept {
                fresh.write_all(&line).map_err(io)?;
                fresh.write_all(b"\n").map_err(io)?;
            } else if !line.is_empty() {
                removed += 1;
            }
        }
        let fresh = fresh.into_inner().map_err(|e| io(e.into_error()))?;
        fresh.sync_all().map_err(io)?;
        if removed == 0 {
            drop(fresh);
            std::fs::remove_file(&fresh_path).map_err(io)?;
            return Ok(0);
        }
        std::fs::rename(&fresh_path, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        appender.file = Self::append_to(&self.path)?;
        Ok(removed)
    }

    /// The newest `limit` entries an admin cleared for `max_marking` may read, newest first.
    /// Reads backwards from the end of the file in blocks, so a long log costs only what is
    /// asked for; a line that does not parse (a torn last line after a crash) is skipped.
    pub fn tail(&self, limit: usize, max_marking: Marking) -> Result<Vec<AuditEntry>> {
        use std::io::{Read, Seek, SeekFrom};
        const BLOCK: u64 = 64 * 1024;
        let read_error = |source| Error::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&self.path).map_err(read_error)?;
        let mut end = file.seek(SeekFrom::End(0)).map_err(read_error)?;
        let mut carry: Vec<u8> = Vec::new();
        let mut entries = Vec::new();
        while entries.len() < limit && end > 0 {
            let start = end.saturating_sub(BLOCK);
            let mut block = vec![0; (end - start) as usize];
            file.seek(SeekFrom::Start(start)).map_err(read_error)?;
            file.read_exact(&mut block).map_err(read_error)?;
            block.extend_from_slice(&carry);
            // the part before the first newline may be the end of a line in an earlier block
            let first_newline = if start == 0 {
                0
            } else {
                match block.iter().position(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None => block.len(),
                }
            };
            carry = block[..first_newline].to_vec();
            for line in block[first_newline..].split(|&b| b == b'\n').rev() {
                if entries.len() == limit {
                    break;
                }
                if let Ok(entry) = serde_json::from_slice::<AuditEntry>(line)
                    && entry.readable_at(max_marking)
                {
                    entries.push(entry);
                }
            }
            end = start;
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_at(time: &str, subject: &str) -> AuditEntry {
        AuditEntry {
            time: time.into(),
            subject: subject.into(),
            action: "GET /v1/experts?q=virology".into(),
            ids: vec!["m-1".into()],
            outcome: "ok".into(),
            request_id: None,
            marking: Some(Marking::Official),
        }
    }

    #[test]
    fn retention_deletes_old_entries_and_the_log_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.record(entry_at("2024-01-05T10:00:00Z", "old"));
        log.record(entry_at("2025-11-30T10:00:00Z", "kept"));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{torn\n")
            .unwrap();
        log.record(entry_at("", "now"));
        let cutoff = time::macros::datetime!(2025-11-01 0:00 UTC);
        assert_eq!(
            log.prune(cutoff).unwrap(),
            2,
            "the old entry and the torn line"
        );
        log.record(entry_at("", "after"));
        let subjects: Vec<String> = log
            .tail(10, Marking::Official)
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect();
        assert_eq!(subjects, ["after", "now", "kept"]);
        assert_eq!(log.prune(cutoff).unwrap(), 0, "nothing more to delete");
        assert!(!path.with_extension("pruning").exists());
    }

    #[test]
    fn entries_recorded_at_once_from_many_threads_are_all_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        log.record(entry_at("", &format!("t{t}-{i}")));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 400);
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<AuditEntry>(l).is_ok())
        );
    }

    #[test]
    fn the_audit_tail_is_newest_first_across_blocks_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
        for i in 0..3000 {
            log.record(AuditEntry {
                time: String::new(),
                subject: format!("user-{i}"),
                action: "PUT /v1/experts/m-1".into(),
                ids: vec![format!("m-{i}")],
                outcome: "ok".into(),
                request_id: None,
                // every third entry is about what only OFFICIAL-SENSITIVE admins may read
                marking: Some(if i % 3 == 0 {
                    Marking::OfficialSensitive
                } else {
                    Marking::Official
                }),
            });
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(b"{\"time\":\"torn")
            .unwrap();
        let subjects = |n| -> Vec<String> {
            log.tail(n, Marking::OfficialSensitive)
                .unwrap()
                .into_iter()
                .map(|e| e.subject)
                .collect()
        };
        assert_eq!(subjects(2), vec!["user-2999", "user-2998"]);
        // an OFFICIAL admin reads only the entries marked OFFICIAL, still newest first
        let official: Vec<String> = log
            .tail(3, Marking::Official)
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect();
        assert_eq!(official, vec!["user-2999", "user-2998", "user-2996"]);
        assert_eq!(log.tail(10_000, Marking::Official).unwrap().len(), 2000);
        let all = subjects(10_000);
        assert_eq!(
            all.len(),
            3000,
            "every whole line, once, across 64 KB blocks"
        );
        assert_eq!(all.last().unwrap(), "user-0");
        assert!(all.iter().zip(all.iter().skip(1)).all(|(a, b)| {
            let n = |s: &str| s[5..].parse::<u32>().unwrap();
            n(a) == n(b) + 1
        }));
    }

    #[test]
    fn the_audit_log_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit/audit.jsonl")).unwrap();
        for outcome in ["ok", "denied: invalid token"] {
            log.record(AuditEntry {
                time: String::new(),
                subject: "s".into(),
                action: "GET /v1/experts".into(),
                ids: vec![],
                outcome: outcome.into(),
                request_id: None,
                marking: Some(Marking::Official),
            });
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<AuditEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].outcome, "denied: invalid token");
        assert!(!lines[0].time.is_empty());
    }
}
