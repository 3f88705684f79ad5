//! Single sign-on with a real OpenID provider (`oidc-provider` from npm), in a real browser,
//! and provider tokens checked, with a key rotation followed without a restart.

use crate::browser::{browser_checks, browser_tools};

use super::*;

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
