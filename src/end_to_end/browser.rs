//! The web pages in headless Chromium, checked with axe-core.

use super::*;

/// Where the browser tools are: Chromium, and playwright-core and axe-core from npm (`.ci/run`
/// installs both). `None` outside CI when they are missing; in CI a missing tool is a failure.
pub(super) fn browser_tools() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
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
pub(super) fn browser_checks(script: &str, args: &[&std::ffi::OsStr]) {
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
