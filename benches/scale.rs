//! Scale: the whole pipeline at 10k, 100k and 1M members on this machine, one table.
//!
//! For each size (`MUSTER_SCALE_SIZES`, default `10000,100000,1000000`) it runs the real binary:
//! `muster generate` (seed 42, one case study per 10 members), `muster index` (wall time,
//! records/s, peak RSS, size on disk), `muster serve` (start-up time on the existing index, RSS
//! idle and under load), then the fixed query mix of [`muster::workload`] in-process and over
//! HTTP at concurrency 1 and 16, and the emergency musters. The HTTP load goes to 127.0.0.1 only,
//! over keep-alive connections, bounded by a request count and a time limit.
//!
//! Run: `cargo bench --bench scale` (CI runs `MUSTER_SCALE_SIZES=10000` once to prove it works).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use muster::access::Caller;
use muster::http::api::today;
use muster::index::open;
use muster::muster::{MusterRequest, muster};
use muster::search::search;
use muster::taxonomy::Taxonomy;
use muster::workload::{MUSTERS, QUERIES};

mod support;

use support::{
    Connection, MUSTER, Run, expert_requests, http_load, on_threads, proc_status_kb, rss_mib, serve,
};

/// Runs a command to completion; its wall time and peak RSS (MiB), read from the kernel's
/// high-water mark (`VmHWM`) while it runs.
fn run_measured(command: &mut Command) -> (f64, f64) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut peak_kb = 0.0f64;
    let status = loop {
        if let Some(kb) = proc_status_kb(child.id(), "VmHWM:") {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{command:?} failed");
    (started.elapsed().as_secs_f64(), peak_kb / 1024.0)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// `requests` GETs of the query mix (each with `extra` parameters) over `concurrency`
/// connections, stopping at `limit`; with `token`, signed in (so every search is audited).
fn mix_load(
    address: SocketAddr,
    token: Option<&str>,
    extra: &str,
    concurrency: usize,
    requests: usize,
    limit: Duration,
) -> Run {
    let paths: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("/v1/experts?{q}{extra}"))
        .collect();
    let connect = || match token {
        Some(token) => Connection::signed_in(address, token),
        None => Connection::open(address),
    };
    http_load(&connect, &paths, concurrency, requests, limit)
}

/// The query mix in-process on `threads` threads, `rounds` times over.
fn in_process(index: &muster::index::MusterIndex, threads: usize, rounds: usize) -> Run {
    let requests: Vec<_> = expert_requests(QUERIES, today());
    on_threads(threads, || {
        let mut times = Vec::new();
        for _ in 0..rounds {
            for r in &requests {
                let t = Instant::now();
                search(index, r).expect("search");
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times
    })
}

fn measure(members: usize) {
    println!("\n== {members} members");
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    let index_dir = work.path().join("index");
    let (generated, _) = run_measured(
        Command::new(MUSTER)
            .args([
                "generate",
                "--seed",
                "42",
                "--case-studies-per-member",
                "0.1",
            ])
            .arg("--members")
            .arg(members.to_string())
            .arg("--out")
            .arg(&data),
    );
    let records = members + members / 10 + 89;
    println!("  generate                           {generated:.1} s");
    let (seconds, peak) = run_measured(
        Command::new(MUSTER)
            .arg("index")
            .arg("--data")
            .arg(&data)
            .arg("--index")
            .arg(&index_dir),
    );
    println!(
        "  index                              {seconds:.1} s, {:.0} records/s, peak RSS {peak:.0} MiB, {:.0} MiB on disk",
        records as f64 / seconds,
        dir_size(&index_dir) as f64 / (1024.0 * 1024.0)
    );

    let index = open(&index_dir, Taxonomy::builtin()).expect("open");
    let rounds = (200_000 / members).clamp(3, 50);
    in_process(&index, 1, 1); // warm up
    in_process(&index, 1, rounds).row("search in-process, concurrency 1");
    in_process(&index, 16, rounds.div_ceil(4)).row("search in-process, concurrency 16");
    let musters: Vec<MusterRequest> = MUSTERS
        .iter()
        .map(|m| {
            MusterRequest::from_body(
                serde_json::from_str(m).expect("muster body"),
                &index,
                Caller::demo().max_marking,
                today(),
            )
            .expect("valid muster")
        })
        .collect();
    let started = Instant::now();
    let mut times = Vec::new();
    for _ in 0..rounds.min(10) {
        for m in &musters {
            let t = Instant::now();
            muster(&index, m).expect("muster");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Run::of(times, started.elapsed().as_secs_f64()).row("muster in-process");
    drop(index);

    let started = Instant::now();
    let (mut server, address) = serve(&index_dir, &[]);
    let startup = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(300));
    println!(
        "  serve start-up                     {:.0} ms, RSS idle {:.0} MiB",
        startup * 1000.0,
        rss_mib(server.id())
    );
    mix_load(address, None, "", 1, QUERIES.len(), Duration::from_secs(10)); // warm up
    let limit = Duration::from_secs(30);
    mix_load(address, None, "", 1, 400, limit).row("search over HTTP, concurrency 1");
    mix_load(address, None, "", 16, 4000, limit).row("search over HTTP, concurrency 16");
    // what the peers' comparison asks: two facets, no highlights
    let lean = "&facets=department,availability&highlight=false";
    mix_load(address, None, lean, 1, 400, limit).row("two facets, no highlights, c=1");
    mix_load(address, None, lean, 16, 4000, limit).row("two facets, no highlights, c=16");
    println!(
        "  RSS after load                     {:.0} MiB",
        rss_mib(server.id())
    );
    let _ = server.kill();
    let _ = server.wait();

    // signed in with a key (with the vetting permission: the mix filters on clearance); every
    // search is audited
    let tokens = work.path().join("tokens.json");
    let created = Command::new(MUSTER)
        .args([
            "token",
            "create",
            "--role",
            "reader",
            "--subject",
            "bench",
            "--vetting",
            "--tokens",
        ])
        .arg(&tokens)
        .output()
        .expect("token create");
    let token = String::from_utf8(created.stdout).expect("utf-8");
    let token = token.trim();
    let audit = work.path().join("audit.jsonl");
    let (mut server, address) = serve(
        &index_dir,
        &[
            "--tokens",
            tokens.to_str().expect("path"),
            "--audit",
            audit.to_str().expect("path"),
            "--rate-limit",
            "0",
        ],
    );
    mix_load(
        address,
        Some(token),
        "",
        1,
        QUERIES.len(),
        Duration::from_secs(10),
    ); // warm up
    mix_load(address, Some(token), "", 1, 400, limit).row("signed in and audited, concurrency 1");
    mix_load(address, Some(token), "", 16, 4000, limit)
        .row("signed in and audited, concurrency 16");
    let _ = server.kill();
    let _ = server.wait();
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted
    let sizes: Vec<usize> = std::env::var("MUSTER_SCALE_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "scale bench on {} cores (release build of the real binary)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for members in sizes {
        measure(members);
    }
}
