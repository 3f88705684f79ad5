//! Connections: accepting them, timing them out, and keeping their number within what the
//! process may open, so that no client, however slow or idle, can take the service away from
//! the others.
//!
//! - hyper's header-read timeout closes a connection that has not sent a whole request head in
//!   time, whether it is a new connection, a slowloris dribbling header bytes, or a keep-alive
//!   connection sitting idle after its last answer (hyper starts the timer when it waits for the
//!   next request);
//! - at most [`ConnectionLimits::max_connections`] are open at once; a new one past that closes
//!   the connection that has been idle (no request being answered) the longest, or is itself
//!   closed at once if every connection is busy;
//! - the soft limit on open files is raised to the hard one at start-up ([`raise_file_limit`]),
//!   and a failed `accept` (out of file descriptors) is logged and retried after a pause rather
//!   than spun on.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

/// Limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A connection must send a whole request head within this long of opening, or of its
    /// previous answer (so it is also the idle keep-alive timeout).
    pub header_read_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// File descriptors kept for the index, logs and the process when sizing the connection cap.
const RESERVED_FILES: u64 = 128;

/// Raises the soft limit on open files to the hard one and returns the limit in force.
pub fn raise_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// The most connections worth allowing with `file_limit` open files: a quarter (at least
/// [`RESERVED_FILES`]) is kept for everything else.
pub fn connections_for(file_limit: u64) -> usize {
    let reserve = RESERVED_FILES.max(file_limit / 4);
    usize::try_from(file_limit.saturating_sub(reserve).max(8)).unwrap_or(usize::MAX)
}

/// One open connection, as the cap sees it.
struct Connection {
    /// Milliseconds since the server started, at the last request's start or end.
    last_active: AtomicU64,
    /// Requests being answered.
    busy: AtomicUsize,
    /// Asks the connection to close once its current request (if any) is answered.
    close: Notify,
    /// Already asked to close (it no longer counts towards the cap, nor is asked again).
    closing: AtomicBool,
}

impl Connection {
    fn new(now: u64) -> Connection {
        Connection {
            last_active: AtomicU64::new(now),
            busy: AtomicUsize::new(0),
            close: Notify::new(),
            closing: AtomicBool::new(false),
        }
    }
}

/// The open connections.
struct Connections {
    started: Instant,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Connections {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Makes room for one more within `max`: true when there is room (perhaps after asking the
    /// longest-idle connection to close), false when every connection is busy.
    fn make_room(&self, max: usize) -> bool {
        let Ok(open) = self.open.lock() else {
            return false;
        };
        let counted = open
            .values()
            .filter(|c| !c.closing.load(Ordering::Relaxed))
            .count();
        counted < max || Self::close_longest_idle(&open)
    }

    /// Asks the connection idle the longest to close; false when none is idle.
    fn close_longest_idle(open: &HashMap<u64, Arc<Connection>>) -> bool {
        let idle = open
            .values()
            .filter(|c| c.busy.load(Ordering::Relaxed) == 0 && !c.closing.load(Ordering::Relaxed))
            .min_by_key(|c| c.last_active.load(Ordering::Relaxed));
        match idle {
            Some(connection) => {
                connection.closing.store(true, Ordering::Relaxed);
                connection.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Out of file descriptors: frees one by closing the longest-idle connection.
    fn shed_one(&self) {
        if let Ok(open) = self.open.lock() {
            Self::close_longest_idle(&open);
        }
    }
}

/// Counts a request as being answered on its connection until dropped.
struct Busy(Arc<Connection>, Arc<Connections>);

impl Busy {
    fn start(connection: &Arc<Connection>, all: &Arc<Connections>) -> Busy {
        connection.busy.fetch_add(1, Ordering::Relaxed);
        connection.last_active.store(all.now(), Ordering::Relaxed);
        Busy(connection.clone(), all.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last_active.store(self.1.now(), Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1.1 only: a connection that has sent nothing yet is then already an HTTP/1
    // connection under the header-read timeout (one that could still turn out to be HTTP/2
    // would wait for its first bytes without a deadline)
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let all = Arc::new(Connections {
        started: Instant::now(),
        open: Mutex::new(HashMap::new()),
    });
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    let mut last_refusal_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // out of file descriptors, most likely: say so, then give closing
                    // connections a moment instead of spinning
                    if last_refusal_log.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        last_refusal_log = Some(Instant::now());
                    }
                    all.shed_one();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        if !all.make_room(limits.max_connections) {
            drop(stream); // every connection is answering a request: this one waits its turn
            continue;
        }
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        let connection = Arc::new(Connection::new(all.now()));
        if let Ok(mut open) = all.open.lock() {
            open.insert(id, connection.clone());
        }
        let (builder, router, all, mut stopped) = (
            builder.clone(),
            router.clone(),
            all.clone(),
            stopped.clone(),
        );
        tasks.spawn(async move {
            let service = {
                let (connection, all) = (connection.clone(), all.clone());
                hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    let busy = Busy::start(&connection, &all);
                    let router = router.clone();
                    async move {
                        let response = router.oneshot(request).await;
                        drop(busy);
                        Ok::<_, Infallible>(response.unwrap_or_else(|e| match e {}))
                    }
                })
            };
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        break;
                    }
                    () = connection.close.notified(), if !closing => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    _ = stopped.changed(), if !closing => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
            if let Ok(mut open) = all.open.lock() {
                open.remove(&id);
            }
        });
    }
    let _ = stop.send(true);
    drop(listener);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_the_index_and_the_process() {
        assert_eq!(connections_for(1024), 768);
        assert_eq!(connections_for(256), 128);
        assert_eq!(connections_for(65_536), 49_152);
        assert_eq!(connections_for(10), 8);
    }

    #[test]
    fn room_is_made_by_closing_the_longest_idle_connection_never_a_busy_one() {
        let all = Connections {
            started: Instant::now(),
            open: Mutex::new(HashMap::new()),
        };
        let make = |last: u64, busy: usize| {
            let c = Connection::new(last);
            c.busy.store(busy, Ordering::Relaxed);
            Arc::new(c)
        };
        let (old_busy, old_idle, new_idle) = (make(1, 1), make(5, 0), make(9, 0));
        for (id, c) in [(1, &old_busy), (2, &old_idle), (3, &new_idle)] {
            all.open.lock().unwrap().insert(id, c.clone());
        }
        assert!(all.make_room(4), "room without closing anything");
        assert!(all.make_room(3));
        // the one told to close is the idle one idle the longest
        let told = |c: &Arc<Connection>| {
            let notified = c.close.notified();
            tokio::pin!(notified);
            notified.as_mut().enable()
        };
        assert!(told(&old_idle));
        assert!(!told(&new_idle) && !told(&old_busy));
        // one asked to close no longer counts, and is not asked again
        assert!(all.make_room(3));
        assert!(all.make_room(2));
        assert!(told(&new_idle));
        assert!(!all.make_room(1), "every other connection busy: no room");
    }
}
