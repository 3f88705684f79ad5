//! The record store: the source of truth for every record, loaded from files or written through
//! the API. The index is derived from it and can always be rebuilt from it.
//!
//! Each record is one row (kind, id, the record as its ingest JSON) with a change sequence number
//! `seq`, unique and rising in commit order; a delete keeps the row with no body (a tombstone)
//! and a new `seq`, so "every change after N, in order" is one indexed range scan. An index notes
//! the last `seq` it holds in its commit payload; catching up is applying the changes after it.
//!
//! Two places hold it: one SQLite file in the index directory (the default: nothing to start),
//! or a PostgreSQL database that any number of servers share, each following it with an index of
//! its own (`--store postgres://...`).

mod postgres;
mod sqlite;

use std::path::Path;

use crate::Result;
use crate::index::Change;
use crate::model::{Kind, Record};

pub use self::postgres::PgStore;
pub use self::sqlite::SqliteStore;

/// The SQLite store's file name inside the index directory.
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

fn kind_of(text: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.as_str() == text)
}

/// A stored body back into a record. Bodies are written only by the store, from records.
fn record_from(kind: Kind, body: &str) -> Result<Record> {
    Ok(match kind {
        Kind::Member => Record::Member(serde_json::from_str(body)?),
        Kind::CaseStudy => Record::CaseStudy(serde_json::from_str(body)?),
        Kind::Facility => Record::Facility(serde_json::from_str(body)?),
    })
}

/// A stored row as a change: its kind checked and its body read back into a record.
fn stored(
    seq: i64,
    kind_text: &str,
    id: String,
    body: Option<String>,
) -> std::result::Result<Stored, String> {
    let kind =
        kind_of(kind_text).ok_or_else(|| format!("row {seq} has an unknown kind `{kind_text}`"))?;
    let record = body
        .map(|b| record_from(kind, &b))
        .transpose()
        .map_err(|e| format!("row {seq} ({kind_text} {id}): {e}"))?;
    Ok(Stored {
        seq: seq as u64,
        kind,
        id,
        record,
    })
}

/// A change's row: kind, id and body (`None` for a delete).
fn row_of(change: &Change) -> (Kind, &str, Option<String>) {
    match change {
        Change::Put(record) => (record.kind(), record.id(), Some(record.to_json_text())),
        Change::Delete(kind, id) => (*kind, id.as_str(), None),
    }
}

/// The record store, in SQLite or PostgreSQL.
pub enum Store {
    /// One SQLite file, one server.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, any number of servers.
    Postgres(Box<PgStore>),
}

macro_rules! either {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

impl Store {
    /// The SQLite store of an index directory, created if there is none.
    pub fn open_in(index_dir: &Path) -> Result<Store> {
        Ok(Store::Sqlite(SqliteStore::open(
            &index_dir.join(STORE_FILE),
        )?))
    }

    /// The store `--store` names: a `postgres://` (or `postgresql://`) URL, or else a SQLite
    /// file path; by default the SQLite file of the index directory.
    pub fn open(location: Option<&str>, index_dir: &Path) -> Result<Store> {
        match location {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Store::Postgres(Box::new(PgStore::connect(url)?)))
            }
            Some(path) => Ok(Store::Sqlite(SqliteStore::open(Path::new(path))?)),
            None => Store::open_in(index_dir),
        }
    }

    /// Where it is, for messages (a URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(s) => s.path().display().to_string(),
            Store::Postgres(p) => p.describe().to_string(),
        }
    }

    /// Whether other servers may write it too (so the index must follow it).
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// The last change's sequence number (0 for an empty store).
    pub fn last_seq(&self) -> Result<u64> {
        either!(self, s => s.last_seq())
    }

    /// Whether the store has never held a record.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.last_seq()? == 0)
    }

    /// Records `changes` as one transaction, committed (durably) before it returns; the last
    /// sequence number it used.
    pub fn apply(&self, changes: &[Change]) -> Result<u64> {
        either!(self, s => s.apply(changes))
    }

    /// Loads records from `source` (which calls its sink once per record, as
    /// [`crate::ingest::load_dir`] does) in one transaction; with [`LoadMode::Replace`] every
    /// stored record the load did not bring is deleted. Returns the source's result and the last
    /// sequence number. Nothing is changed if the source fails. The source reads on a thread of
    /// its own while this one writes.
    pub fn load<T: Send>(
        &self,
        mode: LoadMode,
        source: impl FnOnce(&mut crate::ingest::Sink<'_>) -> Result<T> + Send,
    ) -> Result<(T, u64)> {
        either!(self, s => s.load(mode, |sink| crate::ingest::read_ahead(source, sink)))
    }

    /// Every change after `seq`, in commit order, deletions included; the last sequence number
    /// seen (`seq` when there is none).
    pub fn changes_since(
        &self,
        seq: u64,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<u64> {
        either!(self, s => s.changes_since(seq, each))
    }

    /// Every record held (no deletions), in commit order; the last sequence number in the store.
    pub fn records(&self, each: &mut dyn FnMut(Record) -> Result<()>) -> Result<u64> {
        let mut last = 0;
        let seen = self.changes_since(0, &mut |stored: Stored| {
            last = stored.seq;
            match stored.record {
                Some(record) => each(record),
                None => Ok(()),
            }
        })?;
        Ok(seen.max(last))
    }

    /// The stored record of `kind` and `id`, if there is one.
    pub fn get(&self, kind: Kind, id: &str) -> Result<Option<Record>> {
        either!(self, s => s.get(kind, id))
    }

    /// Waits until another server announces a change, or `timeout` passes (a store no other
    /// server writes: just the timeout).
    pub fn wait_for_change(&self, timeout: std::time::Duration) {
        match self {
            Store::Sqlite(_) => std::thread::sleep(timeout),
            Store::Postgres(p) => p.wait_for_change(timeout),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

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
