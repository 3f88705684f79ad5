//! What the benches that drive the real binary share: latency summaries, `/proc` readings, a
//! keep-alive HTTP/1.1 client and starting `muster serve`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use muster::workload::percentile;

/// The release binary under test.
pub const MUSTER: &str = env!("CARGO_BIN_EXE_muster");

/// Latency summary of one run: p50, p95, p99 (ms) and requests per second.
pub struct Run {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub per_second: f64,
}

impl Run {
    pub fn of(mut times: Vec<f64>, wall: f64) -> Run {
        times.sort_by(|a, b| a.total_cmp(b));
        Run {
            p50: percentile(&times, 0.5),
            p95: percentile(&times, 0.95),
            p99: percentile(&times, 0.99),
            per_second: times.len() as f64 / wall,
        }
    }

    pub fn row(&self, what: &str) {
        println!(
            "  {what:<34} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  {:>8.0} /s",
            self.p50, self.p95, self.p99, self.per_second
        );
    }
}

/// A field of `/proc/<pid>/status`, in kB.
pub fn proc_status_kb(pid: u32, key: &str) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn rss_mib(pid: u32) -> f64 {
    proc_status_kb(pid, "VmRSS:").map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    reader: BufReader<TcpStream>,
    /// Extra request header lines (`Authorization: Bearer ...\r\n`).
    headers: String,
}

impl Connection {
    pub fn open(address: SocketAddr) -> Connection {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).ok();
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        Connection {
            reader: BufReader::new(stream),
            headers: String::new(),
        }
    }

    /// A connection whose requests carry `token` as a bearer token.
    pub fn signed_in(address: SocketAddr, token: &str) -> Connection {
        Connection::with_header(address, "Authorization", &format!("Bearer {token}"))
    }

    /// A connection whose requests carry the header `name: value`.
    pub fn with_header(address: SocketAddr, name: &str, value: &str) -> Connection {
        let mut connection = Connection::open(address);
        connection.headers = format!("{name}: {value}\r\n");
        connection
    }

    /// GET `path`; the status.
    pub fn get(&mut self, path: &str) -> u16 {
        self.send("GET", path, b"").0
    }

    /// `method` `path` with `body`; the status and the body (sized or chunked).
    pub fn send(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}",
            self.headers
        );
        if !body.is_empty() {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(request.as_bytes()).expect("send");
        stream.write_all(body).expect("send body");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.trim().eq_ignore_ascii_case("chunked");
                }
            }
        }
        if !chunked {
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).expect("body");
            return (status, body);
        }
        let mut body = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("chunk size");
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .expect("chunk size");
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..]).expect("chunk");
            line.clear();
            self.reader.read_line(&mut line).expect("chunk end");
            if size == 0 {
                return (status, body);
            }
        }
    }
}

/// Runs `work` on `threads` threads at once, each returning its latencies (ms); the summary
/// over all of them, with the wall time of the whole.
pub fn on_threads(threads: usize, work: impl Fn() -> Vec<f64> + Sync) -> Run {
    let started = Instant::now();
    let times: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(&work)).collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    Run::of(times, started.elapsed().as_secs_f64())
}

/// `requests` GETs of `paths` in turn over `concurrency` connections made by `connect`,
/// stopping at `limit`.
pub fn http_load(
    connect: &(dyn Fn() -> Connection + Sync),
    paths: &[String],
    concurrency: usize,
    requests: usize,
    limit: Duration,
) -> Run {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    on_threads(concurrency, || {
        let mut connection = connect();
        let mut times = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= requests || started.elapsed() > limit {
                break;
            }
            let path = &paths[i % paths.len()];
            let t = Instant::now();
            let status = connection.get(path);
            assert_eq!(status, 200, "{path}");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times
    })
}

/// Starts `muster serve` on `index_dir` (loopback, port chosen by the system) with `extra`
/// arguments; the child and the address it listens on.
pub fn serve(index_dir: &Path, extra: &[&str]) -> (Child, SocketAddr) {
    let mut server = Command::new(MUSTER)
        .arg("serve")
        .arg("--index")
        .arg(index_dir)
        .args(["--bind", "127.0.0.1:0", "--timeout-secs", "30"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut lines = BufReader::new(server.stderr.take().expect("stderr")).lines();
    let address: SocketAddr = loop {
        let line = lines
            .next()
            .expect("serve said where it listens")
            .expect("line");
        if let Some(rest) = line.strip_prefix("Muster is serving on http://") {
            break rest.trim().parse().expect("address");
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (server, address)
}

/// Generates `members` members (seed 42, a case study per 10 members, skills from `skills`) into
/// `data` and builds their index into `index_dir`, in-process.
pub fn generate_and_index(
    members: usize,
    skills: muster::generate::SkillSource,
    data: &Path,
    index_dir: &Path,
) {
    let taxonomy = muster::taxonomy::Taxonomy::builtin();
    muster::generate::generate(
        &muster::generate::Spec {
            members,
            case_studies_per_member: 0.1,
            seed: 42,
            csv: false,
            skills,
        },
        &taxonomy,
        data,
    )
    .expect("generate");
    muster::index::build(
        data,
        index_dir,
        taxonomy,
        &muster::index::BuildOptions::default(),
    )
    .expect("build");
}

/// The search mix's query strings as expert searches by a demo reader on `today`.
pub fn expert_requests<Q: AsRef<str>>(
    queries: &[Q],
    today: time::Date,
) -> Vec<muster::search::SearchRequest> {
    let caller = muster::access::Caller::demo();
    queries
        .iter()
        .map(|q| {
            muster::search::parse_search(
                Some(muster::model::Kind::Member),
                &muster::search::query_pairs(Some(q.as_ref())),
                &caller,
                today,
            )
            .expect("valid query")
        })
        .collect()
}

/// Where the bench's members' skills come from (`MUSTER_BENCH_SKILLS`: `profiles`, the default,
/// or `esco`), and the queries asked of them: the workload's mix, or 500 ESCO-label queries.
pub fn workload(
    taxonomy: &muster::taxonomy::Taxonomy,
) -> (muster::generate::SkillSource, Vec<String>) {
    match std::env::var("MUSTER_BENCH_SKILLS").as_deref() {
        Ok("esco") => (
            muster::generate::SkillSource::Esco,
            muster::workload::esco_queries(taxonomy, 500, 42),
        ),
        Ok("profiles") | Err(_) => (
            muster::generate::SkillSource::Profiles,
            muster::workload::QUERIES
                .iter()
                .map(|q| q.to_string())
                .collect(),
        ),
        Ok(other) => panic!("MUSTER_BENCH_SKILLS={other}: expected profiles or esco"),
    }
}
