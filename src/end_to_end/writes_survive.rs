//! A write acknowledged is never lost: kill -9 straight after, a second server on the same
//! directory, the directory synced before the answer, rebuilds, a format change, export and import.

use crate::index_dirs::{muster, search_finds};

use super::*;

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
