//! Running a query over the segments: in parallel while cores are idle, one after another
//! otherwise.

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use tantivy::Searcher;
use tantivy::collector::Collector;
use tantivy::query::{EnableScoring, Query};

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
/// [`crate::index::BuildOptions`]) searched in parallel on scoped threads while other searches
/// leave cores idle; one after another otherwise, so a busy server does no extra work. (Not
/// tantivy's thread-pool executor: its idle workers spin, taking the cores the request threads
/// need.)
pub(crate) fn collect<C: Collector>(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    collector: &C,
) -> Result<C::Fruit> {
    let (_running, idle_core) = Running::start();
    // a thread is worth starting for a share of at least a large segment, not for the small
    // segments that live writes add to a small index
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

/// [`collect`] on at most `threads` threads (the calling thread among them).
pub(super) fn collect_on<C: Collector>(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    collector: &C,
    threads: usize,
) -> Result<C::Fruit> {
    let scoring = if collector.requires_scoring() {
        stats.scoring()
    } else {
        EnableScoring::disabled_from_searcher(searcher)
    };
    let weight = query.weight(scoring)?;
    let segments = searcher.segment_readers();
    let one = |ord: usize| collector.collect_segment(weight.as_ref(), ord as u32, &segments[ord]);
    let threads = threads.min(segments.len());
    let fruits = if threads > 1 {
        // each thread takes a share of about equal records (small segments of live writes ride
        // along); the fruits are merged in segment order, as tantivy's top-k merge expects
        let sizes: Vec<u64> = segments.iter().map(|s| u64::from(s.max_doc())).collect();
        let shares = crate::index::balanced_groups(&sizes, threads);
        let share = |ords: &[usize]| {
            ords.iter()
                .map(|&ord| one(ord).map(|fruit| (ord, fruit)))
                .collect::<tantivy::Result<Vec<_>>>()
        };
        let mut fruits = std::thread::scope(|scope| {
            let others: Vec<_> = shares[1..]
                .iter()
                .map(|ords| scope.spawn(move || share(ords)))
                .collect();
            let mut fruits = share(&shares[0])?;
            for handle in others {
                let theirs = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                fruits.extend(theirs);
            }
            Ok::<_, tantivy::TantivyError>(fruits)
        })?;
        fruits.sort_by_key(|(ord, _)| *ord);
        fruits.into_iter().map(|(_, fruit)| fruit).collect()
    } else {
        (0..segments.len())
            .map(one)
            .collect::<tantivy::Result<Vec<_>>>()?
    };
    Ok(collector.merge_fruits(fruits)?)
}
