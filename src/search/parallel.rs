//! Running a query over the segments: in parallel while cores are idle, one after another
//! otherwise.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{Searcher, SegmentReader};

use crate::Result;
use crate::stats::Statistics;

/// Searches now running in this process (see [`collect`]).
pub(super) static SEARCHING: AtomicUsize = AtomicUsize::new(0);

/// Counts a running search until dropped.
pub(super) struct Running;

impl Running {
    /// Starts counting; true when a core is left idle by the other searches.
    pub(super) fn start() -> (Running, bool) {
        let before = SEARCHING.fetch_add(1, AtomicOrdering::Relaxed);
        (Running, before + 1 < crate::index::cores())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        SEARCHING.fetch_sub(1, AtomicOrdering::Relaxed);
    }
}

/// `searcher.search`, but with the segments of a large index (one per core, see
/// [`crate::index::BuildOptions`]) searched in parallel while other searches leave cores idle;
/// one after another otherwise, so a busy server does no extra work. The other shares go to
/// [`workers`], started once and blocked between searches. (Not a thread per search: starting
/// one, with its own allocator heap, cost more than the share it took at 100,000 records. Not
/// tantivy's thread-pool executor: its idle workers spin, taking the cores the request threads
/// need.)
pub(crate) fn collect<C: Collector + 'static>(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    collector: C,
) -> Result<C::Fruit> {
    let (_running, idle_core) = Running::start();
    // a share is worth handing over for at least a large segment, not for the small segments
    // that live writes add to a small index
    let large = searcher
        .segment_readers()
        .iter()
        .filter(|s| s.max_doc() >= PARALLEL_SEGMENT_RECORDS)
        .count();
    let threads = if idle_core && large > 1 {
        crate::index::cores().min(large)
    } else {
        1
    };
    collect_on(searcher, stats, query, collector, threads)
}

/// Segments smaller than this are not worth a thread of their own.
pub(super) const PARALLEL_SEGMENT_RECORDS: u32 = 10_000;

/// The threads that search the other shares of a parallel search: one fewer than the cores (the
/// calling thread takes a share too), named `muster-segments`, waiting on a channel (not
/// spinning) while no search needs them. A share only collects, never searches again, so a
/// worker never waits for another.
fn workers() -> &'static threadpool::ThreadPool {
    static WORKERS: OnceLock<threadpool::ThreadPool> = OnceLock::new();
    WORKERS.get_or_init(|| {
        threadpool::Builder::new()
            .num_threads(crate::index::cores().saturating_sub(1).max(1))
            .thread_name("muster-segments".to_string())
            .build()
    })
}

/// What a share of a parallel search sends back: each segment's fruit with its ordinal, or the
/// panic that stopped it (raised again on the calling thread, as a scoped thread's would be).
type ShareFruits<F> = std::thread::Result<tantivy::Result<Vec<(usize, F)>>>;

/// What a collector gathers from one segment.
type SegmentFruit<C> = <<C as Collector>::Child as SegmentCollector>::Fruit;

/// The fruits of `readers`' segments, with their ordinals.
fn share<'a, C: Collector>(
    collector: &C,
    weight: &dyn Weight,
    readers: impl Iterator<Item = (usize, &'a SegmentReader)>,
) -> tantivy::Result<Vec<(usize, SegmentFruit<C>)>> {
    readers
        .map(|(ord, reader)| {
            collector
                .collect_segment(weight, ord as u32, reader)
                .map(|fruit| (ord, fruit))
        })
        .collect()
}

/// [`collect`] on at most `threads` threads (the calling thread among them).
pub(super) fn collect_on<C: Collector + 'static>(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    collector: C,
    threads: usize,
) -> Result<C::Fruit> {
    let scoring = if collector.requires_scoring() {
        stats.scoring()
    } else {
        EnableScoring::disabled_from_searcher(searcher)
    };
    let weight: Arc<dyn Weight> = Arc::from(query.weight(scoring)?);
    let collector = Arc::new(collector);
    let segments = searcher.segment_readers();
    let threads = threads.min(segments.len());
    let mut fruits = if threads > 1 {
        in_parallel(&collector, &weight, segments, threads)?
    } else {
        share(
            collector.as_ref(),
            weight.as_ref(),
            segments.iter().enumerate(),
        )?
    };
    // merged in segment order, as tantivy's top-k merge expects
    fruits.sort_by_key(|(ord, _)| *ord);
    Ok(collector.merge_fruits(fruits.into_iter().map(|(_, fruit)| fruit).collect())?)
}

/// The fruits of every segment, in shares of about equal records (small segments of live writes
/// ride along), at most `threads`: the first on the calling thread, the others on [`workers`].
fn in_parallel<C: Collector + 'static>(
    collector: &Arc<C>,
    weight: &Arc<dyn Weight>,
    segments: &[SegmentReader],
    threads: usize,
) -> tantivy::Result<Vec<(usize, SegmentFruit<C>)>> {
    let sizes: Vec<u64> = segments.iter().map(|s| u64::from(s.max_doc())).collect();
    let mut shares = crate::index::balanced_groups(&sizes, threads).into_iter();
    let own = shares.next().unwrap_or_default();
    let (sender, receiver) = std::sync::mpsc::channel::<ShareFruits<SegmentFruit<C>>>();
    let mut handed_over = 0;
    for ords in shares {
        let readers: Vec<(usize, SegmentReader)> = ords
            .into_iter()
            .map(|ord| (ord, segments[ord].clone()))
            .collect();
        let (collector, weight, sender) = (collector.clone(), weight.clone(), sender.clone());
        workers().execute(move || {
            let fruits = std::panic::catch_unwind(AssertUnwindSafe(|| {
                share(
                    collector.as_ref(),
                    weight.as_ref(),
                    readers.iter().map(|(ord, reader)| (*ord, reader)),
                )
            }));
            // the receiver is gone only if the calling thread has already failed
            let _ = sender.send(fruits);
        });
        handed_over += 1;
    }
    drop(sender);
    let mut fruits = share(
        collector.as_ref(),
        weight.as_ref(),
        own.iter().map(|&ord| (ord, &segments[ord])),
    )?;
    for _ in 0..handed_over {
        match receiver.recv() {
            Ok(Ok(theirs)) => fruits.extend(theirs?),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => {
                return Err(tantivy::TantivyError::InternalError(
                    "a segment worker stopped without an answer".to_string(),
                ));
            }
        }
    }
    Ok(fruits)
}
