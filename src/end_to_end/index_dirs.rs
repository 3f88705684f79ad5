//! Problems with the index directory give clear errors, and the good index keeps serving.

use super::*;

/// Runs `muster` with `args`; its exit status and stderr.
pub(super) fn muster(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let output = Command::new(MUSTER).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(super) fn search_finds(index: &Path, q: &str) -> (bool, String) {
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
