//! The record store: the source of truth for every record, loaded from files or written through
//! the API. The index is derived from it and can always be rebuilt from it.
//!
//! It is one SQLite database (`rusqlite`, SQLite compiled in), `store.sqlite` in the index
//! directory, in WAL mode with `synchronous=FULL`: a transaction that returned is on disk. Each
//! record is one row (kind, id, the record as its ingest JSON) with a change sequence number
//! `seq`, unique and rising in commit order; a delete keeps the row with no body (a tombstone)
//! and a new `seq`, so "every change after N, in order" is one indexed range scan. The index
//! notes the last `seq` it holds in its commit payload; catching up is applying the changes
//! after it. Chosen over `redb` because the file opens in any `sqlite3` shell for inspection and
//! backup, and the same table and change sequence carry over to PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::index::Change;
use crate::model::{Kind, Record};
use crate::{Error, Result};

/// The store's file name inside the index directory.
pub const STORE_FILE: &str = "store.sqlite";

/// One change as the store holds it: the record, or `None` for a delete.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its change sequence number.
    pub seq: u64,
    /// Kind.
    pub kind: Kind,
    /// Id.
    pub id: String,
    /// The record; `None` when it was deleted.
    pub record: Option<Record>,
}

/// How loading files treats records already in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadMode {
    /// Records in the files replace the stored ones with the same kind and id; every other
    /// stored record (those written through the API among them) is kept.
    #[default]
    Merge,
    /// The store ends up holding exactly the files' records: any other is deleted.
    Replace,
}

/// The record store.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn store_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Index {
        path: path.to_path_buf(),
        reason: format!("record store: {e}"),
    }
}

fn kind_of(text: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.as_str() == text)
}

/// A stored body back into a record. Bodies are written only by [`Store`], from records.
fn record_from(kind: Kind, body: &str) -> Result<Record> {
    Ok(match kind {
        Kind::Member => Record::Member(serde_json::from_str(body)?),
        Kind::CaseStudy => Record::CaseStudy(serde_json::from_str(body)?),
        Kind::Facility => Record::Facility(serde_json::from_str(body)?),
    })
}

impl Store {
    /// Opens the store at `path`, creating it if there is none.
    pub fn open(path: &Path) -> Result<Store> {
        let bad = |e: rusqlite::Error| store_error(path, e);
        let conn = Connection::open(path).map_err(bad)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
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
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// The store of an index directory.
    pub fn open_in(index_dir: &Path) -> Result<Store> {
        Store::open(&index_dir.join(STORE_FILE))
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

    /// Whether the store has never held a record.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.last_seq()? == 0)
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
                let (kind, id, body) = match change {
                    Change::Put(record) => (
                        record.kind(),
                        record.id(),
                        Some(record.to_json().to_string()),
                    ),
                    Change::Delete(kind, id) => (*kind, id.as_str(), None),
                };
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
                    record.to_json().to_string()
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

    /// Every record held (no deletions), in commit order; the last sequence number in the store.
    pub fn records(&self, each: &mut dyn FnMut(Record) -> Result<()>) -> Result<u64> {
        let last = self.scan(
            "SELECT seq, kind, id, body FROM records WHERE seq > ?1 AND body IS NOT NULL ORDER BY seq",
            0,
            &mut |stored: Stored| match stored.record {
                Some(record) => each(record),
                None => Ok(()),
            },
        )?;
        // a trailing delete has the highest number, though no record is read for it
        Ok(last.max(self.last_seq()?))
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
            let kind = kind_of(&kind_text)
                .ok_or_else(|| self.bad(format!("row {seq} has an unknown kind `{kind_text}`")))?;
            let record = body
                .map(|b| record_from(kind, &b))
                .transpose()
                .map_err(|e| self.bad(format!("row {seq} ({kind_text} {id}): {e}")))?;
            last = seq as u64;
            each(Stored {
                seq: last,
                kind,
                id,
                record,
            })?;
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

    fn member(id: &str, name: &str) -> Record {
        let line = format!(r#"{{"id":"{id}","name":"{name}","department":"Dstl"}}"#);
        crate::ingest::parse_json_line(Kind::Member, &line)
            .unwrap()
            .record
    }

    fn held(store: &Store) -> Vec<String> {
        let mut names = Vec::new();
        store
            .records(&mut |r| {
                if let Record::Member(m) = r {
                    names.push(format!("{}={}", m.id, m.name));
                }
                Ok(())
            })
            .unwrap();
        names.sort();
        names
    }

    #[test]
    fn changes_come_back_in_commit_order_with_deletions_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        assert!(store.is_empty().unwrap());
        let first = store
            .apply(&[
                Change::Put(Box::new(member("m-1", "Ada"))),
                Change::Put(Box::new(member("m-2", "Grace"))),
            ])
            .unwrap();
        assert_eq!(first, 2);
        let second = store
            .apply(&[
                Change::Delete(Kind::Member, "m-1".into()),
                Change::Put(Box::new(member("m-2", "Grace Hopper"))),
            ])
            .unwrap();
        assert_eq!(second, 4);
        drop(store);
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(held(&store), ["m-2=Grace Hopper"]);
        let mut seen = Vec::new();
        let last = store
            .changes_since(first, &mut |c| {
                seen.push((c.seq, c.id, c.record.is_some()));
                Ok(())
            })
            .unwrap();
        assert_eq!(last, 4);
        assert_eq!(
            seen,
            [(3, "m-1".to_string(), false), (4, "m-2".to_string(), true)]
        );
        assert_eq!(store.get(Kind::Member, "m-1").unwrap(), None);
        assert_eq!(
            store.get(Kind::Member, "m-2").unwrap(),
            Some(member("m-2", "Grace Hopper"))
        );
    }

    #[test]
    fn every_shipped_record_comes_back_from_the_store_as_it_went_in() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let (original, _) = crate::index::load_records(&fixtures).unwrap();
        store
            .load(LoadMode::Merge, |sink| {
                crate::ingest::load_dir(&fixtures, sink)
            })
            .unwrap();
        let mut back = Vec::new();
        store
            .records(&mut |r| {
                back.push(r);
                Ok(())
            })
            .unwrap();
        assert_eq!(back.len(), original.len());
        // the files hold each id once, so the store's commit order is the files' order
        assert!(
            back == original,
            "a record changed on its way through the store"
        );
    }

    #[test]
    fn a_merge_load_keeps_api_writes_and_a_replace_load_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        store
            .apply(&[Change::Put(Box::new(member("m-api", "Written")))])
            .unwrap();
        let files = |sink: &mut crate::ingest::Sink<'_>| {
            sink(member("m-1", "Ada"))?;
            sink(member("m-1", "Ada Lovelace"))?;
            Ok(())
        };
        store.load(LoadMode::Merge, files).unwrap();
        assert_eq!(held(&store), ["m-1=Ada Lovelace", "m-api=Written"]);
        let (_, last) = store.load(LoadMode::Replace, files).unwrap();
        assert_eq!(held(&store), ["m-1=Ada Lovelace"]);
        assert_eq!(last, store.last_seq().unwrap());
        // a load whose source fails changes nothing
        let failing = store.load(LoadMode::Replace, |sink| {
            sink(member("m-9", "Half"))?;
            Err::<(), _>(Error::InvalidRecord("bad file".into()))
        });
        assert!(failing.is_err());
        assert_eq!(held(&store), ["m-1=Ada Lovelace"]);
    }
}
