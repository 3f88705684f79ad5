//! `muster serve`: the record store filled and the index built when needed, sign-in and
//! tokens set up, the audit log kept, the server run until a shutdown signal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use muster::http::{self, AppState, HttpConfig};
use muster::index::{self, BuildOptions};
use muster::taxonomy::Taxonomy;

use crate::cli::args::AuthArgs;

#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    taxonomy: Arc<Taxonomy>,
    index_dir: &std::path::Path,
    store: Option<&str>,
    data: &std::path::Path,
    bind: &str,
    open: bool,
    cors_origins: Vec<String>,
    timeout_secs: u64,
    auth: Box<AuthArgs>,
) -> anyhow::Result<ExitCode> {
    let address: std::net::SocketAddr = bind
        .parse()
        .with_context(|| format!("--bind `{bind}` is not an address like 127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let authenticator = authenticator(&auth, &runtime)?;
    let demo = !authenticator.is_configured();
    if demo && !address.ip().is_loopback() && !open {
        anyhow::bail!(
            "no access tokens are configured: refusing to serve on {address}, which is not loopback; configure --tokens or a JWT key, or pass --open for a demo that anyone on the network can read"
        );
    }
    if demo {
        tracing::warn!(
            "LOCAL DEMO MODE: no tokens configured; every caller reads OFFICIAL records as a demo reader and nobody can write"
        );
    }
    // held until the process ends: a second serve or a concurrent `muster index` fails fast
    let lock = index::IndexLock::acquire(index_dir)?;
    let store = muster::store::Store::open(store, index_dir)?;
    if let Some(built) = index::prepare_to_serve(
        &store,
        data,
        &lock,
        taxonomy.clone(),
        &build_options(false, None),
    )? {
        eprintln!("{}", built.report);
    }
    let opened = index::open(index_dir, taxonomy)?;
    // opening the writer brings the index up to date with the store, demo mode included
    let writer = Arc::new(index::RecordWriter::open(&opened, lock, Arc::new(store))?);
    if writer.store().is_shared() {
        tracing::info!(store = %writer.store().describe(), "following the shared record store");
        writer.follow();
    }
    let writer = (!demo).then_some(writer);
    let audit_path = auth
        .audit
        .clone()
        .unwrap_or_else(|| index_dir.join("audit.jsonl"));
    let audit = std::sync::Arc::new(muster::audit::AuditLog::open(&audit_path)?);
    keep_audit_for(audit.clone(), auth.audit_retention_days)?;
    let defaults = HttpConfig::default();
    let file_limit = http::serve::raise_file_limit();
    let limits = http::serve::ConnectionLimits {
        header_read_timeout: std::time::Duration::from_secs(auth.header_timeout_secs),
        max_connections: auth
            .max_connections
            .unwrap_or_else(|| http::serve::connections_for(file_limit)),
    };
    tracing::info!(
        file_limit,
        max_connections = limits.max_connections,
        "open-file limit in force"
    );
    let config = HttpConfig {
        cors_origins,
        timeout: std::time::Duration::from_secs(timeout_secs),
        demo,
        rate_limit: (auth.rate_limit > 0.0).then_some(auth.rate_limit),
        max_in_flight: auth.max_in_flight.unwrap_or(defaults.max_in_flight),
        queue: auth.queue.unwrap_or(defaults.queue),
        body_timeout: std::time::Duration::from_secs(auth.body_timeout_secs),
        secure_cookies: auth.secure_cookies
            || auth
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
        ..HttpConfig::default()
    };
    let state = AppState::new(opened, config)?.with_auth(authenticator, Some(audit), writer);
    // facet tables are built in the background while the server starts answering
    let warm = state.index.clone();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        match muster::search::warm_facets(&warm) {
            Ok(()) => tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "facet tables ready"
            ),
            Err(e) => tracing::warn!(error = %e, "facet tables not prepared: built on first use"),
        }
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
        tracing::info!(address = %listener.local_addr()?, documents = state.index.total_docs(), "serving");
        eprintln!("Muster is serving on http://{}", listener.local_addr()?);
        http::serve(listener, http::router(state), limits, http::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn build_options(strict: bool, segments: Option<usize>) -> BuildOptions {
    let defaults = BuildOptions::default();
    BuildOptions {
        strict,
        progress: true,
        segments: segments.unwrap_or(defaults.segments),
        ..defaults
    }
}

/// The record store `location` names, or else that of `index_dir`, which must exist.
pub(crate) fn existing_store(
    location: Option<&str>,
    index_dir: &std::path::Path,
) -> anyhow::Result<muster::store::Store> {
    let path = index_dir.join(muster::store::STORE_FILE);
    if location.is_none() && !path.exists() {
        anyhow::bail!(
            "{} has no record store ({}): load data with `muster index` or `muster serve` first",
            index_dir.display(),
            path.display()
        );
    }
    Ok(muster::store::Store::open(location, index_dir)?)
}

/// Writes the store's records to `out` as the three data files, each sorted by id (so two
/// stores holding the same records export the same bytes); the counts per kind.
pub(crate) fn export(
    store: &muster::store::Store,
    out: &std::path::Path,
) -> anyhow::Result<[u64; 3]> {
    use muster::model::Kind;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut lines: [Vec<(String, String)>; 3] = Default::default();
    store.records(&mut |record| {
        let slot = Kind::ALL
            .iter()
            .position(|k| *k == record.kind())
            .unwrap_or(0);
        lines[slot].push((record.id().to_string(), record.to_json_text()));
        Ok(())
    })?;
    let mut counts = [0u64; 3];
    for (slot, name) in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"]
        .iter()
        .enumerate()
    {
        let records = &mut lines[slot];
        records.sort();
        let mut text = String::new();
        for (_, line) in records.iter() {
            text.push_str(line);
            text.push('\n');
        }
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        counts[slot] = records.len() as u64;
    }
    Ok(counts)
}

/// Deletes audit entries older than `days` now, then once a day on a thread of its own.
pub(crate) fn keep_audit_for(log: Arc<muster::audit::AuditLog>, days: u32) -> anyhow::Result<()> {
    let prune = move || -> muster::Result<u64> {
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        log.prune(cutoff)
    };
    let removed = prune()?;
    tracing::info!(
        days,
        removed,
        "audit entries older than the retention deleted"
    );
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(24 * 60 * 60));
            match prune() {
                Ok(removed) => tracing::info!(days, removed, "audit retention applied"),
                Err(e) => tracing::error!(error = %e, "cannot apply the audit retention"),
            }
        }
    });
    Ok(())
}

/// The token checks configured by the serve flags; none configured means demo mode.
pub(crate) fn authenticator(
    auth: &AuthArgs,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<muster::access::Authenticator> {
    use muster::access::{Authenticator, JwtVerifier, KeyFile};
    let keys = match &auth.tokens {
        Some(path) => {
            let file = KeyFile::read(path)?;
            if file.keys.is_empty() {
                anyhow::bail!(
                    "--tokens {} holds no keys: create one with `muster token create`",
                    path.display()
                );
            }
            file
        }
        None => KeyFile::default(),
    };
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let jwt = match (&auth.jwt_hs256_secret_file, &auth.jwt_public_key) {
        (Some(_), Some(_)) => {
            anyhow::bail!("give either --jwt-hs256-secret-file or --jwt-public-key, not both")
        }
        (Some(secret), None) => {
            let secret = read(secret)?;
            let secret = secret.trim_ascii();
            if secret.len() < 32 {
                anyhow::bail!("the HS256 secret must be at least 32 bytes");
            }
            Some(JwtVerifier::hs256(secret))
        }
        (None, Some(pem)) => Some(JwtVerifier::public_key(&auth.jwt_algorithm, &read(pem)?)?),
        (None, None) => None,
    }
    .map(|jwt| jwt.with_leeway(auth.jwt_leeway_secs));
    let authenticator = Authenticator::new(keys, jwt);
    Ok(match provider_config(auth)? {
        Some(config) => authenticator.with_provider(Arc::new(
            runtime.block_on(muster::oidc::Provider::discover(config))?,
        )),
        None => authenticator,
    })
}

/// The single sign-on settings, when an issuer is given; each missing one is named.
pub(crate) fn provider_config(auth: &AuthArgs) -> anyhow::Result<Option<muster::oidc::OidcConfig>> {
    let Some(issuer) = &auth.oidc_issuer else {
        return Ok(None);
    };
    let needed = |value: Option<&String>, flag: &str| {
        value
            .cloned()
            .with_context(|| format!("--oidc-issuer needs {flag} too"))
    };
    let client_secret = match (
        &auth.oidc_client_secret_file,
        std::env::var("MUSTER_OIDC_CLIENT_SECRET"),
    ) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_string(),
        (None, Ok(secret)) => secret,
        (None, Err(_)) => anyhow::bail!(
            "--oidc-issuer needs the client secret: --oidc-client-secret-file or MUSTER_OIDC_CLIENT_SECRET"
        ),
    };
    let grants = match &auth.oidc_grants {
        Some(path) => muster::claims::Grants::read(path)?,
        None => anyhow::bail!(
            "--oidc-issuer needs --oidc-grants: which claims give which access (no grant, no access)"
        ),
    };
    Ok(Some(muster::oidc::OidcConfig {
        issuer: issuer.clone(),
        client_id: needed(auth.oidc_client_id.as_ref(), "--oidc-client-id")?,
        client_secret,
        public_url: needed(auth.public_url.as_ref(), "--public-url")?,
        api_audience: auth.oidc_api_audience.clone(),
        scopes: auth
            .oidc_scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty() && *s != "openid")
            .map(String::from)
            .collect(),
        grants,
        min_refetch: std::time::Duration::from_secs(auth.oidc_min_refetch_secs),
    }))
}
