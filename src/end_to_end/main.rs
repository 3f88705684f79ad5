//! End-to-end tests of the real `muster` binary as a child process (an integration test target
//! declared in `Cargo.toml`, kept beside the code it drives).
//!
//! A write acknowledged with 2xx must survive `kill -9` of the server straight afterwards; a
//! batch is visible whole or not at all after a crash; a second server on the same index
//! directory fails fast; and the web pages work in headless Chromium and pass axe-core. This file
//! holds the harness (starting the binary, requests, keys); each module a group of tests.

mod browser;
mod index_dirs;
mod serving;
mod shared_store;
mod sign_on;
mod writes_survive;

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[path = "../../benches/support/postgres_server.rs"]
mod postgres_server;
