//! The record store in PostgreSQL, shared by any number of servers (`--store postgres://...`).
//!
//! Writers take one transaction-scoped advisory lock, so sequence numbers rise in commit order
//! across every server (a follower that has applied change N has applied every change before
//! N). Each commit sends `NOTIFY muster_records`; followers `LISTEN` and also look every second,
//! so a lost notification costs a second at most.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use super::{LoadMode, Stored, record_from, row_of, stored};
use crate::index::Change;
use crate::model::{Kind, Record};
use crate::{Error, Result};

/// The advisory lock every writer of the store holds for its transaction.
const WRITE_LOCK: i64 = 0x6d75_7374_6572; // "muster"
/// The notification channel.
const CHANNEL: &str = "muster_records";

const UPSERT: &str = "INSERT INTO muster_records (kind, id, seq, body) VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body";

/// The record store in a PostgreSQL database.
pub struct PgStore {
    url: String,
    shown: String,
    client: Mutex<Option<Client>>,
    listener: Mutex<Option<Client>>,
}

/// The URL without its password, for messages and logs.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((who, host)) => {
            let user = who.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

impl PgStore {
    /// Connects, making the table if there is none.
    pub fn connect(url: &str) -> Result<PgStore> {
        let store = PgStore {
            url: url.to_string(),
            shown: without_password(url),
            client: Mutex::new(None),
            listener: Mutex::new(None),
        };
        let mut client = store.client()?;
        let conn = client.as_mut().expect("connected");
        let mut tx = conn.transaction().map_err(|e| store.bad(e))?;
        // two servers starting at once must not both create the table
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(|e| store.bad(e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS muster_records (
                 kind TEXT NOT NULL,
                 id TEXT NOT NULL,
                 seq BIGINT NOT NULL,
                 body TEXT,
                 PRIMARY KEY (kind, id)
             );
             CREATE UNIQUE INDEX IF NOT EXISTS muster_records_by_seq ON muster_records (seq);",
        )
        .map_err(|e| store.bad(e))?;
        tx.commit().map_err(|e| store.bad(e))?;
        drop(client);
        Ok(store)
    }

    /// Where it is, without the password.
    pub fn describe(&self) -> &str {
        &self.shown
    }

    fn bad(&self, e: impl std::fmt::Display) -> Error {
        Error::InvalidRecord(format!("record store {}: {e}", self.shown))
    }

    /// The connection, made again if it was lost.
    fn client(&self) -> Result<MutexGuard<'_, Option<Client>>> {
        let mut guard = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(Client::connect(&self.url, NoTls).map_err(|e| self.bad(e))?);
        }
        Ok(guard)
    }

    /// The last change's sequence number (0 for an empty store).
    pub fn last_seq(&self) -> Result<u64> {
        let mut guard = self.client()?;
        let client = guard.as_mut().expect("connected");
        let seq: i64 = client
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM muster_records", &[])
            .map_err(|e| self.bad(e))?
            .get(0);
        Ok(seq as u64)
    }

    /// Records `changes` as one transaction; the last sequence number it used.
    pub fn apply(&self, changes: &[Change]) -> Result<u64> {
        self.write(|tx, seq| {
            let put = tx.prepare(UPSERT).map_err(|e| self.bad(e))?;
            for change in changes {
                *seq += 1;
                let (kind, id, body) = row_of(change);
                tx.execute(&put, &[&kind.as_str(), &id, &*seq, &body])
                    .map_err(|e| self.bad(e))?;
            }
            Ok(())
        })
        .map(|((), seq)| seq)
    }

    /// One writing transaction under the write lock: `work` gets the last sequence number to
    /// count on from; the change is announced to followers when it commits.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut postgres::Transaction<'_>, &mut i64) -> Result<T>,
    ) -> Result<(T, u64)> {
        let mut guard = self.client()?;
        let client = guard.as_mut().expect("connected");
        let mut tx = client.transaction().map_err(|e| self.bad(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(|e| self.bad(e))?;
        let mut seq: i64 = tx
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM muster_records", &[])
            .map_err(|e| self.bad(e))?
            .get(0);
        let out = work(&mut tx, &mut seq)?;
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &seq.to_string()])
            .map_err(|e| self.bad(e))?;
        tx.commit().map_err(|e| self.bad(e))?;
        Ok((out, seq as u64))
    }

    /// Loads records from `source` in one transaction (see [`super::Store::load`]).
    pub fn load<T>(
        &self,
        mode: LoadMode,
        source: impl FnOnce(&mut crate::ingest::Sink<'_>) -> Result<T>,
    ) -> Result<(T, u64)> {
        self.write(|tx, seq| {
            let before = *seq;
            let put = tx.prepare(UPSERT).map_err(|e| self.bad(e))?;
            let outcome = source(&mut |record: Record| {
                *seq += 1;
                let body = record.to_json_text();
                tx.execute(&put, &[&record.kind().as_str(), &record.id(), &*seq, &body])
                    .map_err(|e| self.bad(e))?;
                Ok(())
            })?;
            if mode == LoadMode::Replace {
                let stale = tx
                    .query(
                        "SELECT kind, id FROM muster_records
                         WHERE seq <= $1 AND body IS NOT NULL ORDER BY seq",
                        &[&before],
                    )
                    .map_err(|e| self.bad(e))?;
                let delete = tx
                    .prepare("UPDATE muster_records SET seq = $1, body = NULL WHERE kind = $2 AND id = $3")
                    .map_err(|e| self.bad(e))?;
                for row in stale {
                    *seq += 1;
                    let (kind, id): (String, String) = (row.get(0), row.get(1));
                    tx.execute(&delete, &[&*seq, &kind, &id])
                        .map_err(|e| self.bad(e))?;
                }
            }
            Ok(outcome)
        })
    }

    /// Every change after `after`, in commit order, streamed.
    pub fn changes_since(
        &self,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<u64> {
        let mut guard = self.client()?;
        let client = guard.as_mut().expect("connected");
        let after = after as i64;
        let mut rows = client
            .query_raw(
                "SELECT seq, kind, id, body FROM muster_records WHERE seq > $1 ORDER BY seq",
                [&after as &(dyn postgres::types::ToSql + Sync)],
            )
            .map_err(|e| self.bad(e))?;
        let mut last = after as u64;
        while let Some(row) = rows.next().map_err(|e| self.bad(e))? {
            let seq: i64 = row.get(0);
            let kind_text: String = row.get(1);
            let id: String = row.get(2);
            let body: Option<String> = row.get(3);
            let change = stored(seq, &kind_text, id, body).map_err(|e| self.bad(e))?;
            last = change.seq;
            each(change)?;
        }
        Ok(last)
    }

    /// The stored record of `kind` and `id`, if there is one.
    pub fn get(&self, kind: Kind, id: &str) -> Result<Option<Record>> {
        let mut guard = self.client()?;
        let client = guard.as_mut().expect("connected");
        let row = client
            .query_opt(
                "SELECT body FROM muster_records WHERE kind = $1 AND id = $2",
                &[&kind.as_str(), &id],
            )
            .map_err(|e| self.bad(e))?;
        row.and_then(|r| r.get::<_, Option<String>>(0))
            .map(|b| record_from(kind, &b))
            .transpose()
    }

    /// Waits until another server announces a change, or `timeout` passes.
    pub fn wait_for_change(&self, timeout: Duration) {
        let mut guard = self.listener.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(Client::is_closed) {
            let listening = Client::connect(&self.url, NoTls).and_then(|mut c| {
                c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
                Ok(c)
            });
            match listening {
                Ok(client) => *guard = Some(client),
                Err(e) => {
                    tracing::warn!(store = %self.shown, error = %e, "cannot listen for changes: looking every second");
                    drop(guard);
                    std::thread::sleep(timeout);
                    return;
                }
            }
        }
        let client = guard.as_mut().expect("listening");
        let lost = {
            let mut notifications = client.notifications();
            let waited = notifications.timeout_iter(timeout).next().is_err();
            // several changes in a row are one catch-up
            while let Ok(Some(_)) = notifications.iter().next() {}
            waited
        };
        if lost {
            tracing::warn!(store = %self.shown, "lost the change notifications: listening again");
            *guard = None;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_never_show_the_password() {
        assert_eq!(
            super::without_password("postgres://muster:s3cret@db.internal:5432/muster"),
            "postgres://muster@db.internal:5432/muster"
        );
        assert_eq!(
            super::without_password("postgres://db.internal/muster"),
            "postgres://db.internal/muster"
        );
    }
}
