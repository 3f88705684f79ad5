//! Overload and soak: the real binary under several times the load it can serve.
//!
//! Generates `MUSTER_BENCH_MEMBERS` members (default 20,000), indexes them, and serves with
//! the default admission (places in flight twice the cores, a short queue). Then, all over
//! loopback keep-alive connections, bounded in time:
//! 1. baseline: the query mix one request at a time;
//! 2. overload: `MUSTER_OVERLOAD_CONNECTIONS` (default 200) connections sending as fast as they
//!    can for `MUSTER_OVERLOAD_SECS` (default 15): how many were answered 200, 503 (at capacity)
//!    or otherwise, how fast each came, how fast `/healthz` answered meanwhile (one probe every
//!    50 ms on its own connection), and the server's peak RSS;
//! 3. recovery: the baseline again, straight after;
//! 4. soak (only with `MUSTER_SOAK_SECS`, e.g. 600): 4 connections at a steady pace, RSS every
//!    tenth of the run, to show memory stays flat.
//!
//! Run: `cargo bench --bench overload` (`MUSTER_SOAK_SECS=600` for the 10-minute soak).

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use muster::workload::{QUERIES, percentile};

mod support;

use support::{Connection, MUSTER, Run, rss_mib, serve};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The query mix, one connection, `requests` requests.
fn sequential(address: std::net::SocketAddr, requests: usize) -> Run {
    let mut connection = Connection::open(address);
    let started = Instant::now();
    let mut times = Vec::new();
    for i in 0..requests {
        let t = Instant::now();
        let status = connection.get(&format!("/v1/experts?{}", QUERIES[i % QUERIES.len()]));
        assert_eq!(status, 200);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Run::of(times, started.elapsed().as_secs_f64())
}

fn main() {
    let members = env_number("MUSTER_BENCH_MEMBERS", 20_000);
    let overload_secs = env_number("MUSTER_OVERLOAD_SECS", 15);
    let soak_secs = env_number("MUSTER_SOAK_SECS", 0);
    let connections = env_number("MUSTER_OVERLOAD_CONNECTIONS", 200);
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    let index_dir = work.path().join("index");
    for args in [
        vec![
            "generate".to_string(),
            "--seed".into(),
            "42".into(),
            "--members".into(),
            members.to_string(),
            "--out".into(),
            data.display().to_string(),
        ],
        vec![
            "index".to_string(),
            "--data".into(),
            data.display().to_string(),
            "--index".into(),
            index_dir.display().to_string(),
        ],
    ] {
        let status = Command::new(MUSTER)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("muster runs");
        assert!(status.success(), "{args:?}");
    }
    let (mut server, address) = serve(&index_dir, &[]);
    let pid = server.id();
    println!(
        "overload bench, {members} members, default admission, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    sequential(address, QUERIES.len()); // warm up
    let baseline = sequential(address, 200);
    baseline.row("baseline, concurrency 1");
    let idle = rss_mib(pid);

    // overload: 64 connections flat out, for a bounded time
    let stop = Arc::new(AtomicBool::new(false));
    let peak_rss = Arc::new(AtomicU64::new(idle as u64));
    let sampler = {
        let (stop, peak_rss) = (stop.clone(), peak_rss.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak_rss.fetch_max(rss_mib(pid) as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let started = Instant::now();
    let limit = Duration::from_secs(overload_secs);
    let health = std::thread::spawn(move || {
        let mut connection = Connection::open(address);
        let mut times = Vec::new();
        while started.elapsed() < limit {
            let t = Instant::now();
            assert_eq!(connection.get("/healthz"), 200);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(50));
        }
        times
    });
    let workers: Vec<_> = (0..connections as usize)
        .map(|w| {
            std::thread::spawn(move || {
                let mut connection = Connection::open(address);
                let mut seen: Vec<(u16, f64)> = Vec::new();
                let mut i = w;
                while started.elapsed() < limit {
                    let t = Instant::now();
                    let status =
                        connection.get(&format!("/v1/experts?{}", QUERIES[i % QUERIES.len()]));
                    seen.push((status, t.elapsed().as_secs_f64() * 1000.0));
                    i += 1;
                }
                seen
            })
        })
        .collect();
    let mut by_status: BTreeMap<u16, Vec<f64>> = BTreeMap::new();
    for worker in workers {
        for (status, ms) in worker.join().expect("worker") {
            by_status.entry(status).or_default().push(ms);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let mut health = health.join().expect("health probe");
    health.sort_by(|a, b| a.total_cmp(b));
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let total: usize = by_status.values().map(Vec::len).sum();
    println!(
        "  overload, {connections} connections for {overload_secs} s: {total} requests ({:.0}/s), peak RSS {} MiB (idle {idle:.0} MiB)",
        total as f64 / wall,
        peak_rss.load(Ordering::Relaxed)
    );
    for (status, mut times) in by_status {
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "    {status}: {:>7} answers  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }
    println!(
        "    /healthz meanwhile: {} probes  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        health.len(),
        percentile(&health, 0.5),
        percentile(&health, 0.99),
        health[health.len() - 1]
    );
    let recovery = sequential(address, 200);
    recovery.row("recovery, concurrency 1");
    println!(
        "  recovery p50 / baseline p50         {:.2}",
        recovery.p50 / baseline.p50
    );

    if soak_secs > 0 {
        println!("  soak: 4 connections for {soak_secs} s, RSS (MiB) every tenth of the run");
        let started = Instant::now();
        let limit = Duration::from_secs(soak_secs);
        let workers: Vec<_> = (0..4)
            .map(|w| {
                std::thread::spawn(move || {
                    let mut connection = Connection::open(address);
                    let mut i = w;
                    let mut count = 0u64;
                    while started.elapsed() < limit {
                        let status =
                            connection.get(&format!("/v1/experts?{}", QUERIES[i % QUERIES.len()]));
                        assert!(status == 200 || status == 503, "{status}");
                        i += 1;
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        let mut samples = Vec::new();
        for tenth in 1..=10 {
            while started.elapsed() < limit.mul_f64(tenth as f64 / 10.0) {
                std::thread::sleep(Duration::from_millis(200));
            }
            samples.push(rss_mib(pid));
        }
        let requests: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
        println!(
            "    {requests} requests; RSS {}",
            samples
                .iter()
                .map(|m| format!("{m:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "    growth from the first tenth to the last: {:+.0} MiB",
            samples[samples.len() - 1] - samples[0]
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
