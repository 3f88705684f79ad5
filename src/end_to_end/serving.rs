//! Who may connect, and how the server holds up: without tokens only on loopback (unless
//! `--open`); slow and idle clients cannot take the service from others.

use super::*;

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
