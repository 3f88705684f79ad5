//! [`RecordWriter`]: the write API's changes, committed to the record store and then applied to
//! the index in one tantivy commit; with a shared store, following other servers' changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::{IndexWriter, TantivyDocument, Term};

use crate::model::{Kind, Marking, Record};
use crate::schema::{self, DocumentBuilder};
use crate::store::Store;
use crate::{Error, Result};

use super::build::commit_through;
use super::generations::{IndexLock, sync_dir};
use super::{MusterIndex, applied_seq};

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
    pub(super) index: MusterIndex,
    pub(super) writer: std::sync::Mutex<IndexWriter<TantivyDocument>>,
    pub(super) store: Arc<Store>,
    /// When the index last held every change in the store (checked by [`RecordWriter::follow`]).
    pub(super) caught_up_at: std::sync::Mutex<Instant>,
    /// The last store change the index holds, as its last commit notes (read from disk once).
    pub(super) applied: std::sync::atomic::AtomicU64,
    pub(super) _lock: IndexLock,
}

/// Memory the serving writer may buffer before it flushes a segment.
pub(super) const SERVE_WRITER_MEMORY: usize = 64 * 1024 * 1024;

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

    pub(super) fn lock_writer(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>>> {
        self.writer
            .lock()
            .map_err(|_| Error::Io(std::io::Error::other("the index writer was poisoned")))
    }

    /// Commits the staged changes as holding the store up to `seq`, synced to disk.
    pub(super) fn commit_synced(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        seq: u64,
    ) -> Result<()> {
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
    pub(super) fn applied(&self) -> u64 {
        self.applied.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stages the store's changes after the index's last and commits them as one, synced; on
    /// error nothing of them is committed. How many there were.
    pub(super) fn stage_and_commit(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
    ) -> Result<u64> {
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
