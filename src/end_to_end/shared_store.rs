//! Several servers on one PostgreSQL store behind haproxy: no acknowledged write lost when
//! one is killed, and the same answers from all once caught up.

use super::*;

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
