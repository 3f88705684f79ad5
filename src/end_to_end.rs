//! End-to-end tests of the real `muster` binary as a child process (an integration test target
//! declared in `Cargo.toml`, kept beside the code it drives).
//!
//! A write acknowledged with 2xx must survive `kill -9` of the server straight afterwards; a
//! batch is visible whole or not at all after a crash; a second server on the same index
//! directory fails fast; and the web pages work in headless Chromium and pass axe-core.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MUSTER: &str = env!("CARGO_BIN_EXE_muster");

const MEMBERS: &str = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","skills":[{"name":"Operational research","level":4}]}
{"id":"m-2","name":"Grace Hopper","department":"UKHSA","skills":[{"name":"Epidemiology","level":3}]}
"#;

/// Creates a key with `muster token create` (with the vetting permission, as for someone who
/// assembles teams) and returns it.
fn create_key(tokens: &Path, role: &str, max_marking: &str) -> String {
    let output = Command::new(MUSTER)
        .args([
            "token",
            "create",
            "--role",
            role,
            "--max-marking",
            max_marking,
            "--vetting",
        ])
        .arg("--subject")
        .arg(format!("{role}@test"))
        .arg("--tokens")
        .arg(tokens)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let key = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let stored = std::fs::read_to_string(tokens).unwrap();
    assert!(
        !stored.contains(key.rsplit('_').next().unwrap()),
        "only a hash is stored"
    );
    key
}

/// A running `muster serve` and the address it listens on; killed when dropped, so a failing
/// test leaves no server behind.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    /// `kill -9` and wait for the process to go.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start(dir: &Path, tokens: &Path) -> Server {
    launch(&[], dir, tokens, &[])
}

/// `muster serve` on `dir` with `extra` flags, run by `wrapper` (a shell setting a limit,
/// strace, ...) when one is given.
fn launch(wrapper: &[&str], dir: &Path, tokens: &Path, extra: &[&str]) -> Server {
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(MUSTER);
            c
        }
        None => Command::new(MUSTER),
    };
    let mut child = command
        .arg("serve")
        .arg("--index")
        .arg(dir.join("index"))
        .arg("--data")
        .arg(dir.join("data"))
        .args(if extra.contains(&"--bind") {
            &[][..]
        } else {
            &["--bind", "127.0.0.1:0"][..]
        })
        .args(["--rate-limit", "0", "--tokens"])
        .arg(tokens)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("serve exited before it said where it listens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("Muster is serving on http://") {
            break rest.trim().parse().unwrap();
        }
    };
    // keep draining stderr so the server never blocks on a full pipe
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, address }
}

/// One HTTP/1.1 request; the status code, or `None` if the connection failed or was cut.
fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

fn member(id: &str, tag: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"Crash {id}","department":"Met Office","summary":"crash batch {tag}"}}"#
    )
}

fn total(address: SocketAddr, token: &str, q: &str) -> u64 {
    let (status, body) = request(
        address,
        "GET",
        &format!("/v1/experts?q={q}&limit=1"),
        token,
        "",
    )
    .expect("search answers");
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["total"].as_u64().unwrap()
}

#[test]
fn acknowledged_writes_survive_kill_9_and_batches_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/members.jsonl"), MEMBERS).unwrap();
    let tokens = dir.path().join("tokens.json");
    // cleared for every marking, so it may create records under ids of its choosing
    let editor = create_key(&tokens, "editor", "OFFICIAL-SENSITIVE");

    let rounds: u64 = std::env::var("MUSTER_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    for round in 0..rounds {
        let mut server = start(dir.path(), &tokens);
        let address = server.address;
        // writers keep going until the kill; each remembers what was acknowledged
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let batches = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let singles = {
            let (acked, stop, editor) = (acked.clone(), stop.clone(), editor.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("m-r{round}-{i}");
                    let path = format!("/v1/experts/{id}");
                    match request(address, "PUT", &path, &editor, &member(&id, "single")) {
                        Some((201 | 200, _)) => acked.lock().unwrap().push(id),
                        Some((status, body)) => panic!("PUT answered {status}: {body}"),
                        None => break,
                    }
                }
            })
        };
        let bulk = {
            let (batches, stop, editor) = (batches.clone(), stop.clone(), editor.clone());
            std::thread::spawn(move || {
                for b in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let tag = format!("batchr{round}n{b}");
                    let body: Vec<String> = (0..200)
                        .map(|i| member(&format!("m-{tag}-{i}"), &tag))
                        .collect();
                    match request(
                        address,
                        "POST",
                        "/v1/experts/bulk",
                        &editor,
                        &body.join("\n"),
                    ) {
                        Some((200, _)) => batches.lock().unwrap().push(tag),
                        Some((status, body)) => panic!("bulk answered {status}: {body}"),
                        None => break,
                    }
                }
            })
        };
        // kill -9 at a random moment of the write load (printed, to replay a failure)
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
        let delay = 200 + (nanos ^ (round * 7919)) % 900;
        println!("round {round}: kill -9 after {delay} ms of writes");
        std::thread::sleep(Duration::from_millis(delay));
        server.kill(); // SIGKILL
        stop.store(true, Ordering::SeqCst);
        singles.join().unwrap();
        bulk.join().unwrap();
        let acked = acked.lock().unwrap().clone();
        let batches = batches.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "round {round}: no write was acknowledged before the kill"
        );
        acknowledged.extend(acked);

        // restart on the same directory: everything acknowledged is there
        let mut server = start(dir.path(), &tokens);
        for id in &acknowledged {
            let (status, body) = request(
                server.address,
                "GET",
                &format!("/v1/experts/{id}"),
                &editor,
                "",
            )
            .expect("get answers");
            assert_eq!(
                status, 200,
                "round {round}: acknowledged write {id} was lost: {body}"
            );
        }
        for b in 0..batches.len() + 1 {
            let tag = format!("batchr{round}n{b}");
            // a quoted phrase matches exactly: no typo tolerance between similar tags
            let seen = total(
                server.address,
                &editor,
                &format!("%22crash%20batch%20{tag}%22"),
            );
            if b < batches.len() {
                assert_eq!(seen, 200, "round {round}: acknowledged batch {tag}");
            } else {
                assert!(
                    seen == 0 || seen == 200,
                    "round {round}: partial batch {tag}: {seen}"
                );
            }
        }
        println!(
            "round {round} survived: {} acknowledged writes so far all present, {} acknowledged batches of 200 whole, 0 lost",
            acknowledged.len(),
            batches.len()
        );
        server.kill();
    }
}

#[test]
fn a_second_server_on_the_same_index_fails_fast_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/members.jsonl"), MEMBERS).unwrap();
    let tokens = dir.path().join("tokens.json");
    let reader = create_key(&tokens, "reader", "OFFICIAL");
    let mut first = start(dir.path(), &tokens);
    let started = Instant::now();
    let second = Command::new(MUSTER)
        .arg("serve")
        .arg("--index")
        .arg(dir.path().join("index"))
        .args(["--bind", "127.0.0.1:0", "--tokens"])
        .arg(&tokens)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(started.elapsed() < Duration::from_secs(10), "it fails fast");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another muster process"), "{stderr}");
    let rebuild = Command::new(MUSTER)
        .arg("index")
        .arg("--index")
        .arg(dir.path().join("index"))
        .arg("--data")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        !rebuild.status.success(),
        "no rebuild under a running server"
    );
    assert_eq!(
        total(first.address, &reader, "lovelace"),
        1,
        "the first server still answers"
    );
    first.kill();
}

#[test]
fn without_tokens_serve_refuses_a_non_loopback_address_unless_open() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(MUSTER)
        .arg("serve")
        .arg("--index")
        .arg(dir.path().join("index"))
        .args(["--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("index").join("CURRENT").exists(),
        "it refused before indexing"
    );
}

/// Where the browser tools are: Chromium, and playwright-core and axe-core from npm (`.ci/run`
/// installs both). `None` outside CI when they are missing; in CI a missing tool is a failure.
fn browser_tools() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var_os("MUSTER_CHROMIUM")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    let tools = std::env::var_os("MUSTER_BROWSER_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/browser-tools"));
    let found = chromium.exists()
        && tools.join("node_modules/playwright-core").exists()
        && tools.join("node_modules/axe-core").exists();
    if found {
        return Some((chromium, tools));
    }
    let message = format!(
        "browser test needs Chromium at {} and playwright-core and axe-core under {} \
         (.ci/run installs them)",
        chromium.display(),
        tools.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipped outside CI: {message}");
    None
}

/// Runs a browser script of `src/` with node, prints what it checked, and fails if it did.
fn browser_checks(script: &str, args: &[&std::ffi::OsStr]) {
    let output = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .args(args)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{script}: checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_web_pages_work_in_a_real_browser_and_pass_axe() {
    let Some((chromium, tools)) = browser_tools() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // the shipped fixtures, indexed afresh into a directory of the test's own
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for file in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"] {
        std::fs::copy(root.join("fixtures").join(file), data.join(file)).unwrap();
    }
    let tokens = dir.path().join("tokens.json");
    let reader = create_key(&tokens, "reader", "OFFICIAL");
    let members = std::fs::read_to_string(data.join("members.jsonl")).unwrap();
    let hidden = members
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|m| m["marking"] == "OFFICIAL-SENSITIVE")
        .expect("the fixtures hold OFFICIAL-SENSITIVE members");
    let server = start(dir.path(), &tokens);
    let screenshots = root.join("target/screenshots");
    browser_checks(
        "src/browser.mjs",
        &[
            format!("http://{}", server.address).as_ref(),
            reader.as_ref(),
            hidden["id"].as_str().unwrap().as_ref(),
            screenshots.as_os_str(),
            tools.as_os_str(),
            chromium.as_os_str(),
        ],
    );
    assert!(screenshots.join("search.png").exists() && screenshots.join("muster.png").exists());
}

/// Runs `muster` with `args`; its exit status and stderr.
fn muster(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let output = Command::new(MUSTER).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn search_finds(index: &Path, q: &str) -> (bool, String) {
    let output = Command::new(MUSTER)
        .arg("search")
        .arg("--index")
        .arg(index)
        .arg(q)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn index_directory_problems_give_clear_errors_and_the_good_index_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("members.jsonl"), MEMBERS).unwrap();
    let index = dir.path().join("index");
    let (ok, stderr) = muster(&[
        "index".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--index".as_ref(),
        index.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    let (ok, out) = search_finds(&index, "lovelace");
    assert!(ok && out.contains("m-1"), "{out}");

    // disk full while building a bigger index: files may not grow past 256 KiB (SIGXFSZ
    // ignored, so a write fails with EFBIG as on a full disk)
    let big = dir.path().join("big");
    let (ok, stderr) = muster(&[
        "generate".as_ref(),
        "--members".as_ref(),
        "3000".as_ref(),
        "--out".as_ref(),
        big.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    let full = Command::new("bash")
        .arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 256; exec "$0" index --data "$1" --index "$2""#)
        .arg(MUSTER)
        .arg(&big)
        .arg(&index)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert!(!full.status.success(), "the build cannot succeed: {stderr}");
    assert!(
        !stderr.contains("panicked"),
        "a clear error, not a panic: {stderr}"
    );
    assert!(stderr.to_lowercase().contains("too large"), "{stderr}");
    let (ok, out) = search_finds(&index, "lovelace");
    assert!(
        ok && out.contains("m-1"),
        "the previous index still serves: {out}"
    );

    // an index directory that cannot be created
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let inside = file.join("index");
    for command in ["index", "serve"] {
        let (ok, stderr) = muster(&[
            command.as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "--index".as_ref(),
            inside.as_os_str(),
        ]);
        assert!(!ok, "{command}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(&*inside.to_string_lossy())
                || stderr.contains(&*file.to_string_lossy()),
            "{command} names the path: {stderr}"
        );
    }

    // a damaged segment file: refused at start-up with the file named
    let generation = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("gen-"))
        .unwrap();
    let victim = std::fs::read_dir(&generation)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "term"))
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let (ok, out) = search_finds(&index, "lovelace");
    assert!(!ok, "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert!(out.contains("damaged") && out.contains(".term"), "{out}");
    let (ok, stderr) = muster(&[
        "serve".as_ref(),
        "--index".as_ref(),
        index.as_os_str(),
        "--bind".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("damaged") && stderr.contains("muster rebuild"),
        "{stderr}"
    );
    // and the record store rebuilds it, nothing lost
    let (ok, stderr) = muster(&["rebuild".as_ref(), "--index".as_ref(), index.as_os_str()]);
    assert!(ok, "{stderr}");
    let (ok, out) = search_finds(&index, "lovelace");
    assert!(ok && out.contains("m-1"), "{out}");
}

/// A directory with the one-member data set and a reader's key.
fn small_service() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/members.jsonl"), MEMBERS).unwrap();
    let tokens = dir.path().join("tokens.json");
    let reader = create_key(&tokens, "reader", "OFFICIAL");
    (dir, tokens, reader)
}

/// Whether a normal search answers 200 within `within`.
fn searches(address: SocketAddr, token: &str, within: Duration) -> bool {
    let started = Instant::now();
    let answered = request(address, "GET", "/v1/experts?q=lovelace", token, "");
    matches!(answered, Some((200, _))) && started.elapsed() < within
}

/// Whether the server has closed `stream` (a read sees the end, or an error), waiting at most
/// `within`.
fn closed(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buffer = [0u8; 512];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or the like, then the end
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

#[test]
fn slow_and_idle_clients_cannot_take_the_service_from_others() {
    let (dir, tokens, reader) = small_service();
    // a low open-file limit, short timeouts and few places in flight, as an attacker would want
    let server = launch(
        &["sh", "-c", "ulimit -n 256 && exec \"$0\" \"$@\""],
        dir.path(),
        &tokens,
        &[
            "--header-timeout-secs",
            "2",
            "--body-timeout-secs",
            "2",
            "--max-in-flight",
            "2",
            "--queue",
            "4",
        ],
    );
    let address = server.address;
    assert!(searches(address, &reader, Duration::from_secs(5)));

    // 300 connections that send nothing, more than the file limit allows beside the others
    let mut idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(address).ok())
        .collect();
    // 60 slowloris clients: half a request head, then nothing
    let mut slowloris: Vec<TcpStream> = (0..60)
        .filter_map(|_| {
            let mut s = TcpStream::connect(address).ok()?;
            s.write_all(b"GET /v1/experts?q=x HTTP/1.1\r\nHost: x\r\n")
                .ok()?;
            Some(s)
        })
        .collect();
    // 60 slow bodies on the public sign-in: the head, a length, then nothing
    let mut slow_bodies: Vec<TcpStream> = (0..60)
        .filter_map(|_| {
            let mut s = TcpStream::connect(address).ok()?;
            s.write_all(
                b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nkey=",
            )
            .ok()?;
            Some(s)
        })
        .collect();
    assert!(
        idle.len() + slowloris.len() + slow_bodies.len() > 256,
        "the attack opened more connections than the file limit"
    );

    // meanwhile a normal client keeps being answered, well within its own patience
    let mut answered = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        answered += usize::from(searches(address, &reader, Duration::from_secs(3)));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        answered >= 20,
        "only {answered} searches answered during the attack"
    );

    // after the timeouts every attacking connection has been closed by the server; a slow body
    // is told 408 (or closed with the rest, when it was the longest idle at the cap)
    for stream in idle.iter_mut().chain(&mut slowloris) {
        assert!(
            closed(stream, Duration::from_secs(5)),
            "a connection was left open"
        );
    }
    for stream in &mut slow_bodies {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "a slow body got {answer:?}"
        );
    }
    assert!(searches(address, &reader, Duration::from_secs(3)));
}

#[test]
fn a_write_is_answered_only_after_the_directory_holding_meta_json_is_synced() {
    let Ok(status) = Command::new("strace").arg("-V").output() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace is needed in CI (installed by .ci/run)"
        );
        eprintln!("strace is not installed: skipped");
        return;
    };
    assert!(status.status.success());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/members.jsonl"), MEMBERS).unwrap();
    let tokens = dir.path().join("tokens.json");
    let editor = create_key(&tokens, "editor", "OFFICIAL-SENSITIVE");
    let trace = dir.path().join("trace.txt");
    let server = start(dir.path(), &tokens);
    // attach to the running server (every thread), so that killing the server ends the trace
    let mut strace = Command::new("strace")
        .args(["-f", "-y", "-e"])
        .arg("trace=rename,renameat,renameat2,fsync,fdatasync,sendto,write,writev")
        .arg("-o")
        .arg(&trace)
        .arg("-p")
        .arg(server.child.id().to_string())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut attached = BufReader::new(strace.stderr.take().unwrap()).lines();
    let line = attached.next().expect("strace says it attached").unwrap();
    assert!(line.contains("attached"), "strace: {line}");
    std::thread::spawn(move || attached.for_each(drop));
    std::thread::sleep(Duration::from_millis(500)); // the other threads
    let (status, body) = request(
        server.address,
        "PUT",
        "/v1/experts/m-synced",
        &editor,
        &member("m-synced", "synced"),
    )
    .expect("PUT answers");
    assert_eq!(status, 201, "{body}");
    drop(server);
    let _ = strace.wait();
    let trace = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let answer = lines
        .iter()
        .position(|l| l.contains("HTTP/1.1 201"))
        .expect("the answer is in the trace");
    let renamed = lines[..answer]
        .iter()
        .rposition(|l| l.contains("rename") && l.contains("meta.json"))
        .expect("the commit renamed meta.json before the answer");
    let generation = lines[renamed]
        .rsplit_once("/meta.json")
        .and_then(|(before, _)| before.rsplit_once('"'))
        .map(|(_, path)| path.to_string())
        .or_else(|| {
            // renameat with directory descriptors: `renameat(7</.../gen-1>, "meta.json.tmp", ...`
            lines[renamed]
                .split('<')
                .nth(1)
                .and_then(|rest| rest.split('>').next())
                .map(str::to_string)
        })
        .expect("the directory of meta.json");
    assert!(
        lines[renamed..answer]
            .iter()
            .any(|l| l.contains("fsync(") && l.contains(&format!("<{generation}>"))),
        "no fsync of {generation} between the rename of meta.json and the answer:\n{}",
        lines[renamed..=answer].join("\n")
    );
}

/// Where `oidc-provider` from npm is (`.ci/run` installs it beside the browser tools). `None`
/// outside CI when it is missing; in CI a missing provider is a failure.
fn provider_tools() -> Option<std::path::PathBuf> {
    let tools = std::env::var_os("MUSTER_BROWSER_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-tools"));
    if tools.join("node_modules/oidc-provider").exists() {
        return Some(tools);
    }
    let message = format!(
        "single sign-on tests need oidc-provider under {} (.ci/run installs it)",
        tools.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("skipped outside CI: {message}");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real OpenID provider (`oidc-provider` from npm, run by `src/oidc_provider.mjs`) on
/// loopback, with Muster as its client and alice (in the readers and vetting groups) and bob (in
/// neither) as its users; killed when dropped.
struct IdentityProvider {
    child: Child,
    issuer: String,
    keys: std::path::PathBuf,
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CLIENT_SECRET: &str = "muster-test-client-secret-0123456789";

/// Starts the provider on `port`, signing with the first of `kids` and publishing them all.
fn start_provider(
    dir: &Path,
    tools: &Path,
    port: u16,
    kids: &[&str],
    muster: &str,
) -> IdentityProvider {
    let keys = dir.join("provider-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let issuer = format!("http://127.0.0.1:{port}");
    let config = serde_json::json!({
        "port": port,
        "issuer": issuer,
        "keys_dir": keys,
        "kids": kids,
        "client": {
            "client_id": "muster",
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [format!("{muster}/sign-in/callback")],
            "post_logout_redirect_uris": [format!("{muster}/sign-in")],
        },
        "users": {
            "alice": {"email": "alice@dept.gov.uk", "email_verified": true, "name": "Alice",
                      "groups": ["muster-readers", "muster-vetting"]},
            "bob": {"email": "bob@dept.gov.uk", "email_verified": true, "groups": ["canteen"]},
        },
    });
    let path = dir.join("provider.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let mut child = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/oidc_provider.mjs"))
        .arg(&path)
        .env("MUSTER_NODE_MODULES", tools.join("node_modules"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().and_then(Result::ok);
    assert_eq!(
        ready.as_deref(),
        Some("ready"),
        "the provider did not start"
    );
    std::thread::spawn(move || lines.for_each(drop));
    IdentityProvider {
        child,
        issuer,
        keys,
    }
}

/// Muster serving the shipped fixtures on `port` with single sign-on through `provider`
/// (API keys in `tokens` keep working beside it).
fn start_with_sign_on(dir: &Path, tokens: &Path, port: u16, provider: &IdentityProvider) -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for file in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"] {
        std::fs::copy(root.join("fixtures").join(file), data.join(file)).unwrap();
    }
    let grants = dir.join("grants.json");
    std::fs::write(
        &grants,
        r#"{"grants": [
            {"claim": "groups", "value": "muster-readers", "role": "reader"},
            {"claim": "groups", "value": "muster-vetting", "permissions": ["vetting"]}
        ]}"#,
    )
    .unwrap();
    let secret = dir.join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://{bind}");
    launch(
        &[],
        dir,
        tokens,
        &[
            "--bind",
            &bind,
            "--public-url",
            &public,
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            "muster",
            "--oidc-client-secret-file",
            secret.to_str().unwrap(),
            "--oidc-grants",
            grants.to_str().unwrap(),
            "--oidc-scopes",
            "email profile groups",
            "--oidc-min-refetch-secs",
            "1",
        ],
    )
}

/// A provider signing with key `k1`, and Muster on it with a reader's API key beside.
struct SignOn {
    dir: tempfile::TempDir,
    provider: IdentityProvider,
    server: Server,
    provider_port: u16,
    muster_url: String,
    key: String,
}

fn sign_on_service(tools: &Path) -> SignOn {
    let dir = tempfile::tempdir().unwrap();
    let (provider_port, muster_port) = (free_port(), free_port());
    let muster_url = format!("http://127.0.0.1:{muster_port}");
    let provider = start_provider(dir.path(), tools, provider_port, &["k1"], &muster_url);
    let tokens = dir.path().join("tokens.json");
    let key = create_key(&tokens, "reader", "OFFICIAL");
    let server = start_with_sign_on(dir.path(), &tokens, muster_port, &provider);
    SignOn {
        dir,
        provider,
        server,
        provider_port,
        muster_url,
        key,
    }
}

/// The audit log's entries.
fn audit_entries(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("index/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn single_sign_on_works_in_a_real_browser_with_a_real_provider() {
    let Some((chromium, tools)) = browser_tools() else {
        return;
    };
    let Some(tools) = provider_tools().filter(|t| *t == tools) else {
        return;
    };
    let SignOn {
        dir,
        provider: _provider,
        server,
        muster_url,
        key,
        ..
    } = sign_on_service(&tools);
    browser_checks(
        "src/browser_sign_in.mjs",
        &[muster_url.as_ref(), tools.as_os_str(), chromium.as_os_str()],
    );
    // API keys work beside single sign-on
    assert_eq!(
        request(server.address, "GET", "/v1/experts?q=statistics", &key, "").map(|r| r.0),
        Some(200)
    );
    // the audit log names the person the provider signed in, and what they read
    let entries = audit_entries(dir.path());
    let by = |subject: &str, action: &str, outcome: &str| {
        entries.iter().any(|e| {
            e["subject"] == subject
                && e["action"].as_str().is_some_and(|a| a.starts_with(action))
                && e["outcome"]
                    .as_str()
                    .is_some_and(|o| o.starts_with(outcome))
        })
    };
    assert!(
        by("alice@dept.gov.uk", "GET /sign-in/callback", "ok"),
        "{entries:#?}"
    );
    assert!(
        by("alice@dept.gov.uk", "GET /?q=statistics", "ok"),
        "{entries:#?}"
    );
    assert!(by("bob", "GET /sign-in/callback", "denied"), "{entries:#?}");
}

/// A JWT signed with one of the provider's keys (the test made them, so it can sign).
fn provider_token(provider: &IdentityProvider, kid: &str, claims: serde_json::Value) -> String {
    let pem = std::fs::read(provider.keys.join(format!("{kid}.pem"))).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

#[test]
fn provider_tokens_are_checked_and_a_key_rotation_is_followed_without_a_restart() {
    let Some(tools) = provider_tools() else {
        return;
    };
    let SignOn {
        dir,
        provider,
        server,
        provider_port,
        muster_url,
        ..
    } = sign_on_service(&tools);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let issuer = provider.issuer.clone();
    let claims = |changes: serde_json::Value| {
        let mut claims = serde_json::json!({
            "iss": issuer, "aud": "muster", "sub": "svc-1",
            "groups": ["muster-readers"], "iat": now, "exp": now + 300,
        });
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let status = |token: &str| {
        request(server.address, "GET", "/v1/experts?q=statistics", token, "").map(|r| r.0)
    };
    assert_eq!(
        status(&provider_token(
            &provider,
            "k1",
            claims(serde_json::json!({}))
        )),
        Some(200)
    );
    for (why, changes) in [
        (
            "unknown issuer",
            serde_json::json!({"iss": "http://127.0.0.1:1"}),
        ),
        ("wrong audience", serde_json::json!({"aud": "another-app"})),
        ("expired", serde_json::json!({"exp": now - 60})),
        ("not yet valid", serde_json::json!({"nbf": now + 600})),
        ("no grant", serde_json::json!({"groups": ["canteen"]})),
    ] {
        let token = provider_token(&provider, "k1", claims(changes));
        assert_eq!(status(&token), Some(401), "{why}");
    }
    // a key the provider never published is refused
    let stranger = dir.path().join("stranger");
    std::fs::create_dir(&stranger).unwrap();
    let other = start_provider(&stranger, &tools, free_port(), &["k9"], &muster_url);
    let forged = provider_token(&other, "k9", claims(serde_json::json!({})));
    assert_eq!(
        status(&forged),
        Some(401),
        "signed by a key not the provider's"
    );
    drop(other);

    // the provider rotates: a new key signs, the old one is still published
    drop(provider);
    let rotated = start_provider(
        dir.path(),
        &tools,
        provider_port,
        &["k2", "k1"],
        &muster_url,
    );
    std::thread::sleep(Duration::from_millis(1100)); // past --oidc-min-refetch-secs 1
    let token = provider_token(&rotated, "k2", claims(serde_json::json!({})));
    assert_eq!(
        status(&token),
        Some(200),
        "the new key is fetched without a restart"
    );
    let old = provider_token(&rotated, "k1", claims(serde_json::json!({})));
    assert_eq!(
        status(&old),
        Some(200),
        "the old key still works while published"
    );
}

/// `muster index --replace` of `data` into `index`, which must succeed.
fn load_replacing(data: &Path, index: &Path) {
    let (ok, stderr) = muster(&[
        "index".as_ref(),
        "--replace".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--index".as_ref(),
        index.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
}

/// What `muster search` prints for `q` on `index`, less the first line (which has the time).
fn answer(index: &Path, q: &str) -> String {
    let (ok, out) = search_finds(index, q);
    assert!(ok, "{out}");
    out.lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// The ids `muster search` finds for `q` on `index`, in order.
fn found(index: &Path, q: &str) -> Vec<String> {
    answer(index, q)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .collect()
}

#[test]
fn api_writes_survive_rebuilds_a_format_change_and_export_then_import() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/members.jsonl"), MEMBERS).unwrap();
    let tokens = dir.path().join("tokens.json");
    let editor = create_key(&tokens, "editor", "OFFICIAL-SENSITIVE");
    let index = dir.path().join("index");
    let mut server = start(dir.path(), &tokens);
    for id in ["m-api-1", "m-api-2"] {
        let put = request(
            server.address,
            "PUT",
            &format!("/v1/experts/{id}"),
            &editor,
            &member(id, "written"),
        );
        assert!(matches!(put, Some((200 | 201, _))), "{put:?}");
    }
    let deleted = request(server.address, "DELETE", "/v1/experts/m-2", &editor, "");
    assert!(matches!(deleted, Some((200 | 204, _))), "{deleted:?}");
    server.kill();
    let before = found(&index, "written");
    assert_eq!(before, ["m-api-1", "m-api-2"]);

    // loading the files again merges: the API's records stay, the deleted one comes back
    let (ok, stderr) = muster(&[
        "index".as_ref(),
        "--data".as_ref(),
        dir.path().join("data").as_os_str(),
        "--index".as_ref(),
        index.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(found(&index, "written"), before);
    assert_eq!(found(&index, "hopper"), ["m-2"]);

    // an index another version wrote is rebuilt from the store at start-up, no data files
    let generation = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("gen-"))
        .unwrap();
    std::fs::write(generation.join("muster-format"), "1\n").unwrap();
    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    let server = start(dir.path(), &tokens);
    assert_eq!(total(server.address, &editor, "written"), 2);
    drop(server);
    assert_eq!(found(&index, "written"), before);

    // export, then import into an empty directory: the same answers
    let exported = dir.path().join("exported");
    let (ok, stderr) = muster(&[
        "export".as_ref(),
        "--index".as_ref(),
        index.as_os_str(),
        "--out".as_ref(),
        exported.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    let lines = std::fs::read_to_string(exported.join("members.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
    let copy = dir.path().join("copy");
    let (ok, stderr) = muster(&[
        "import".as_ref(),
        "--data".as_ref(),
        exported.as_os_str(),
        "--index".as_ref(),
        copy.as_os_str(),
    ]);
    assert!(ok, "{stderr}");
    for q in ["written", "lovelace", "hopper", "epidemiology"] {
        assert_eq!(answer(&copy, q), answer(&index, q), "{q}");
    }

    // --replace makes the store hold exactly the files
    load_replacing(&exported, &copy);
    std::fs::write(exported.join("members.jsonl"), MEMBERS).unwrap();
    load_replacing(&exported, &copy);
    assert!(found(&copy, "written").is_empty());
    assert_eq!(found(&copy, "lovelace"), ["m-1"]);
}

#[path = "../benches/support/postgres_server.rs"]
mod postgres_server;

/// haproxy on loopback in front of `servers`, round robin, each checked at `/readyz`; killed
/// when dropped.
struct Balancer {
    child: Child,
    address: SocketAddr,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_balancer(dir: &Path, servers: &[SocketAddr]) -> Balancer {
    let port = free_port();
    let mut config = format!(
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 20s\n  timeout server 20s\n  \
         retries 2\n  option redispatch\n\
         frontend muster\n  bind 127.0.0.1:{port}\n  default_backend servers\n\
         backend servers\n  balance roundrobin\n  option httpchk GET /readyz\n"
    );
    for (i, server) in servers.iter().enumerate() {
        config.push_str(&format!(
            "  server s{i} {server} check inter 500ms fall 1 rise 1\n"
        ));
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy runs");
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    while TcpStream::connect(address).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "haproxy did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Balancer { child, address }
}

/// PostgreSQL and haproxy, installed (`.ci/run` installs both); `None` outside CI when missing.
fn postgres_and_haproxy() -> Option<std::path::PathBuf> {
    let haproxy = Command::new("haproxy").arg("-v").output().is_ok();
    match postgres_server::pg_bin() {
        Some(bin) if haproxy => Some(bin),
        _ => {
            let message = "servers sharing PostgreSQL need Debian's postgresql and haproxy \
                           (.ci/run installs them)";
            assert!(std::env::var_os("CI").is_none(), "{message}");
            eprintln!("skipped outside CI: {message}");
            None
        }
    }
}

/// The ids a server finds for `q` (up to 100), in order.
fn ids_found(address: SocketAddr, token: &str, q: &str) -> Vec<String> {
    let (status, body) = request(
        address,
        "GET",
        &format!("/v1/experts?q={q}&limit=100"),
        token,
        "",
    )
    .expect("search answers");
    assert_eq!(status, 200, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

/// What a server answers to a fixed set of reads, with the time each took left out.
fn same_answers(address: SocketAddr, token: &str) -> Vec<(String, u16, String)> {
    [
        "/v1/experts?q=balanced&limit=100",
        "/v1/experts?q=rebalanced%20balanced%20crash&limit=100",
        "/v1/experts?q=lovelace",
        "/v1/experts?skill=Operational%20research",
        "/v1/search?q=balanced",
        "/v1/suggest?q=bala",
        "/v1/experts/m-1",
    ]
    .into_iter()
    .map(|path| {
        let (status, body) = request(address, "GET", path, token, "").expect("read answers");
        let mut parts = body.split("\"took_ms\":");
        let mut timeless = parts.next().unwrap_or_default().to_string();
        for after in parts {
            timeless.push_str(after.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.'));
        }
        (path.to_string(), status, timeless)
    })
    .collect()
}

#[test]
fn servers_sharing_postgres_behind_a_balancer_lose_no_write_and_answer_alike() {
    let Some(bin) = postgres_and_haproxy() else {
        return;
    };
    let database = postgres_server::Server::start(&bin);
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let editor = create_key(&tokens, "editor", "OFFICIAL-SENSITIVE");
    let start_one = |name: &str, port: u16| {
        let home = dir.path().join(name);
        std::fs::create_dir_all(home.join("data")).unwrap();
        std::fs::write(home.join("data/members.jsonl"), MEMBERS).unwrap();
        let bind = format!("127.0.0.1:{port}");
        launch(&[], &home, &tokens, &["--store", &url, "--bind", &bind])
    };
    let ports = [free_port(), free_port(), free_port()];
    // the first fills the empty store from its data files; the others build from the store
    let mut servers = vec![start_one("a", ports[0])];
    servers.push(start_one("b", ports[1]));
    servers.push(start_one("c", ports[2]));
    let addresses: Vec<SocketAddr> = servers.iter().map(|s| s.address).collect();
    let balancer = start_balancer(dir.path(), &addresses);

    // writers through the balancer; server b is killed with kill -9 in the middle
    let acked = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (acked, editor, address) = (acked.clone(), editor.clone(), balancer.address);
            std::thread::spawn(move || {
                for i in 0..30 {
                    let id = format!("m-lb-{w}-{i}");
                    let path = format!("/v1/experts/{id}");
                    let body = member(&id, "balanced");
                    if let Some((200 | 201, _)) = request(address, "PUT", &path, &editor, &body) {
                        acked.lock().unwrap().insert(id);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    servers[1].kill();
    for writer in writers {
        writer.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    println!(
        "{} of 90 writes acknowledged through the balancer",
        acked.len()
    );
    assert!(
        acked.len() > 45,
        "most writes were acknowledged: {}",
        acked.len()
    );
    // a and c kept answering while b was down
    for address in [addresses[0], addresses[2]] {
        assert_eq!(
            request(address, "GET", "/readyz", "", "").map(|r| r.0),
            Some(200)
        );
    }
    // b comes back on its own index and catches up
    servers[1] = start_one("b", ports[1]);
    let everyone = |address: SocketAddr| {
        let started = Instant::now();
        loop {
            let found: BTreeSet<String> = ids_found(address, &editor, "balanced")
                .into_iter()
                .collect();
            if acked.is_subset(&found) {
                return found;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{address} lacks {:?}",
                acked.difference(&found).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let sets: Vec<BTreeSet<String>> = servers.iter().map(|s| everyone(s.address)).collect();
    // every server holds the same records (acknowledged ones, and any a killed server took
    // into the store without answering), in the same order for the same request
    assert!(sets.windows(2).all(|w| w[0] == w[1]), "{sets:?}");

    // then updates and deletes through the balancer (each server's index takes them in its own
    // batches, so their segments and deleted documents differ): once caught up, every server
    // gives byte-identical answers, scores included, as does one that builds afresh
    let acked: Vec<String> = acked.into_iter().collect();
    for (i, id) in acked.iter().enumerate() {
        let path = format!("/v1/experts/{id}");
        let (method, body) = match i % 3 {
            0 => ("DELETE", String::new()),
            1 => ("PUT", member(id, "balanced and rebalanced, balanced again")),
            _ => continue,
        };
        let answer = request(balancer.address, method, &path, &editor, &body);
        assert!(
            matches!(answer, Some((200 | 204, _))),
            "{method} {path}: {answer:?}"
        );
    }
    // and a server started now builds its index from the store, with no deleted documents
    servers.push(start_one("d", free_port()));
    let started = Instant::now();
    loop {
        let answers: Vec<Vec<(String, u16, String)>> = servers
            .iter()
            .map(|s| same_answers(s.address, &editor))
            .collect();
        if answers.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "servers answer differently once caught up: {answers:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for server in &servers {
        let (status, body) = request(server.address, "GET", "/readyz", "", "").unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("lag_seconds"), "{body}");
    }
}
