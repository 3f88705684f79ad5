//! The record store in one SQLite file (`rusqlite`, SQLite compiled in): `store.sqlite` in the
//! index directory, WAL mode, `synchronous=FULL` (a transaction that returned is on disk). One
//! process writes it (the one holding the index directory's lock).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{LoadMode, Stored, record_from, stored};
use crate::index::Change;
use crate::model::{Kind, Record};
use crate::{Error, Result};

fn store_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Index {
        path: path.to_path_buf(),
        reason: format!("record store: {e}"),
    }
}

/// The record store in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the store at `path`, creating it if there is none.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let bad = |e: rusqlite::Error| store_error(path, e);
        let conn = Connection::open(path).map_err(bad)?;
        // 16 KiB pages for a new store (a store made before opens and works as it did): a record is kept in its
        // b-tree page up to 4 KB instead of 1 KB, where SQLite moves the rest of a longer one to
        // an overflow page of its own. With 4 KiB pages a third of ESCO-labelled members
        // overflowed and the store took 2.8 times the records' size.
        conn.execute_batch(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS records (
                 kind TEXT NOT NULL,
                 id TEXT NOT NULL,
                 seq INTEGER NOT NULL,
                 body TEXT,
                 PRIMARY KEY (kind, id)
             ) WITHOUT ROWID;
             CREATE UNIQUE INDEX IF NOT EXISTS records_by_seq ON records (seq);",
        )
        .map_err(bad)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bad(&self, e: impl std::fmt::Display) -> Error {
        store_error(&self.path, e)
    }

    /// A database error, with the operating system's reason when SQLite only says the disk
    /// failed (a full disk, a file size limit).
    fn sql(&self, e: rusqlite::Error) -> Error {
        let disk = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
        );
        let dir = self.path.parent().unwrap_or(Path::new("."));
        match (disk, crate::index::probe_writable(dir)) {
            (true, Err(cause)) => self.bad(format!(
                "{e}: {cause} (is the disk full?); nothing of this change was kept"
            )),
            (true, Ok(())) => self.bad(format!("{e} (is the disk full?)")),
            _ => self.bad(e),
        }
    }

    /// The last change's sequence number (0 for an empty store).
    pub fn last_seq(&self) -> Result<u64> {
        let seq: i64 = self
            .conn()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        Ok(seq as u64)
    }

    /// Records `changes` as one transaction, committed to disk before it returns; the last
    /// sequence number it used.
    pub fn apply(&self, changes: &[Change]) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let mut seq: i64 = tx
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO records (kind, id, seq, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                )
                .map_err(|e| self.sql(e))?;
            for change in changes {
                seq += 1;
                let (kind, id, body) = super::row_of(change);
                put.execute(params![kind.as_str(), id, seq, body])
                    .map_err(|e| self.sql(e))?;
            }
        }
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(seq as u64)
    }

    /// Loads records from `source` (which calls its sink once per record, as
    /// [`crate::ingest::load_dir`] does) in one transaction; with [`LoadMode::Replace`] every
    /// stored record the load did not bring is deleted. Returns the source's result and the last
    /// sequence number. Nothing is changed if the source fails.
    pub fn load<T>(
        &self,
        mode: LoadMode,
        source: impl FnOnce(&mut crate::ingest::Sink<'_>) -> Result<T>,
    ) -> Result<(T, u64)> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        let before: i64 = tx
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM records", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        let mut seq = before;
        let outcome = {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO records (kind, id, seq, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                )
                .map_err(|e| self.sql(e))?;
            source(&mut |record: Record| {
                seq += 1;
                put.execute(params![
                    record.kind().as_str(),
                    record.id(),
                    seq,
                    record.to_json_text()
                ])
                .map_err(|e| self.sql(e))?;
                Ok(())
            })?
        };
        if mode == LoadMode::Replace {
            // what the load did not touch still has a sequence number from before it
            let stale: Vec<(String, String)> = {
                let mut stmt = tx
                    .prepare("SELECT kind, id FROM records WHERE seq <= ?1 AND body IS NOT NULL ORDER BY seq")
                    .map_err(|e| self.sql(e))?;
                stmt.query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(|e| self.sql(e))?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(|e| self.sql(e))?
            };
            let mut delete = tx
                .prepare("UPDATE records SET seq = ?1, body = NULL WHERE kind = ?2 AND id = ?3")
                .map_err(|e| self.sql(e))?;
            for (kind, id) in stale {
                seq += 1;
                delete
                    .execute(params![seq, kind, id])
                    .map_err(|e| self.sql(e))?;
            }
        }
        tx.commit().map_err(|e| self.sql(e))?;
        Ok((outcome, seq as u64))
    }

    /// Every change after `seq`, in commit order, deletions included; the last sequence number
    /// seen (`seq` when there is none).
    pub fn changes_since(
        &self,
        seq: u64,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<u64> {
        self.scan(
            "SELECT seq, kind, id, body FROM records WHERE seq > ?1 ORDER BY seq",
            seq,
            each,
        )
    }

    fn scan(
        &self,
        sql: &str,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<u64> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([after as i64]).map_err(|e| self.sql(e))?;
        let mut last = after;
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            let seq: i64 = row.get(0).map_err(|e| self.sql(e))?;
            let kind_text: String = row.get(1).map_err(|e| self.sql(e))?;
            let id: String = row.get(2).map_err(|e| self.sql(e))?;
            let body: Option<String> = row.get(3).map_err(|e| self.sql(e))?;
            let change = stored(seq, &kind_text, id, body).map_err(|e| self.bad(e))?;
            last = change.seq;
            each(change)?;
        }
        Ok(last)
    }

    /// The stored record of `kind` and `id`, if there is one.
    pub fn get(&self, kind: Kind, id: &str) -> Result<Option<Record>> {
        let body: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT body FROM records WHERE kind = ?1 AND id = ?2",
                params![kind.as_str(), id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        body.flatten().map(|b| record_from(kind, &b)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Member;

    fn member(id: &str, summary_len: usize) -> Change {
        let mut m: Member = serde_json::from_value(serde_json::json!({
            "id": id, "name": "Ada Lovelace", "department": "Dstl", "clearance": "SC",
            "availability": "week", "marking": "OFFICIAL",
            "skills": [{"name": "virology", "level": "practitioner"}],
        }))
        .unwrap();
        m.summary = Some("modelling ".repeat(summary_len / 10));
        Change::Put(Box::new(Record::Member(m)))
    }

    fn page_size(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn records_of_a_few_kilobytes_take_about_their_own_size_and_an_old_store_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        let changes: Vec<Change> = (0..2_000)
            .map(|i| member(&format!("m-{i:05}"), 1_500))
            .collect();
        store.apply(&changes).unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        drop(conn);
        let size = std::fs::metadata(&path).unwrap().len();
        let bodies: usize = changes
            .iter()
            .map(|c| super::super::row_of(c).2.unwrap().len())
            .sum();
        // 1.7 KB records: with 4 KiB pages each took an overflow page (2.8 times their size)
        assert!(size < bodies as u64 * 3 / 2, "{size} bytes for {bodies}");
        assert_eq!(page_size(&path), 16_384);

        // a store made before, with 4 KiB pages, opens and works as it did
        let old = dir.path().join("old.sqlite");
        Connection::open(&old)
            .unwrap()
            .execute_batch(
                "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;
                 CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
                     body TEXT, PRIMARY KEY (kind, id)) WITHOUT ROWID;
                 CREATE UNIQUE INDEX records_by_seq ON records (seq);",
            )
            .unwrap();
        let store = SqliteStore::open(&old).unwrap();
        assert_eq!(store.apply(&[member("m-1", 3_000)]).unwrap(), 1);
        assert_eq!(store.apply(&[member("m-2", 100)]).unwrap(), 2);
        assert!(store.get(Kind::Member, "m-1").unwrap().is_some());
        assert!(store.get(Kind::Member, "m-2").unwrap().is_some());
    }
}
