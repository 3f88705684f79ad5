//! The HTTP server: router, tower layers, metrics and graceful shutdown.
//!
//! `router(state, config)` builds the whole service so tests can call it with `oneshot`;
//! `serve(listener, router, shutdown)` runs it until `shutdown` resolves, finishing requests in
//! flight. The JSON endpoints live in [`api`]; the page for people in [`web`].

pub mod api;
#[cfg(test)]
mod indistinguishable;
mod limits;
mod metrics;
pub mod openapi;
pub mod serve;
mod single_sign_on;
pub mod web;
pub mod write;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use limits::{RateLimiter, saturated};
pub use metrics::Metrics;

use crate::access::{AuthFailure, Authenticator, Caller, Role};
use crate::audit::{AuditEntry, AuditLog};
use crate::index::{MusterIndex, RecordWriter};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Origins allowed by CORS (`*` for any); empty: CORS off.
    pub cors_origins: Vec<String>,
    /// Longest a request may take before a 503.
    pub timeout: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Local demo mode: no tokens, every caller is a demo reader. Shown on every page.
    pub demo: bool,
    /// Requests per second allowed per token subject (bursts of twice that); `None`: no limit.
    pub rate_limit: Option<f64>,
    /// Requests being worked on at once (their bodies already read): by default twice the
    /// cores, since the work is CPU-bound and more would only slow every one of them down.
    pub max_in_flight: usize,
    /// Requests that may wait for a place among those in flight, each for at most
    /// [`HttpConfig::queue_wait`]; past that a request is answered 503 at once (with
    /// `Retry-After`), so overload costs neither memory nor latency.
    pub queue: usize,
    /// Longest a request waits in the queue before a 503.
    pub queue_wait: Duration,
    /// A request body must arrive within this long, or the answer is 408; the client holds no
    /// place among the requests in flight meanwhile.
    pub body_timeout: Duration,
    /// Mark the session cookie `Secure` (the site is served over TLS); it is also marked so on a
    /// request a proxy says came over TLS (`X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// A web session ends after this long without a request.
    pub session_idle: Duration,
    /// A web session ends this long after signing in, however busy.
    pub session_max: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cors_origins: Vec::new(),
            timeout: Duration::from_secs(10),
            body_limit: 16 * 1024 * 1024,
            demo: true,
            rate_limit: None,
            max_in_flight: 2 * crate::index::cores(),
            queue: 8 * crate::index::cores(),
            queue_wait: Duration::from_millis(500),
            body_timeout: Duration::from_secs(10),
            secure_cookies: false,
            session_idle: Duration::from_secs(2 * 60 * 60),
            session_max: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// Shared state of the server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The open index.
    pub index: Arc<MusterIndex>,
    /// Request counters and latency histograms.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub config: Arc<HttpConfig>,
    /// Typeahead.
    pub suggest: Arc<std::sync::RwLock<Arc<crate::suggest::SuggestIndex>>>,
    /// Token checks; none configured means local demo mode.
    pub auth: Arc<Authenticator>,
    /// Where writes and denials are recorded.
    pub audit: Option<Arc<AuditLog>>,
    /// Per-subject request budget.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Applies the write API's changes; `None` in demo mode (read-only).
    pub writer: Option<Arc<RecordWriter>>,
    /// Permits for requests in flight (see [`HttpConfig::max_in_flight`]).
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Places in the queue for them (see [`HttpConfig::queue`]).
    pub queued: Arc<tokio::sync::Semaphore>,
    /// Issues the ids of records created without one.
    pub ids: Arc<write::IdIssuer>,
    /// Web sessions, held here: the cookie carries only an opaque session id.
    pub sessions: tower_sessions::MemoryStore,
}

impl AppState {
    /// State over an open index.
    pub fn new(index: MusterIndex, config: HttpConfig) -> crate::Result<Self> {
        let suggest = crate::suggest::SuggestIndex::build(&index)?;
        Ok(AppState {
            index: Arc::new(index),
            metrics: Arc::new(Metrics::default()),
            limiter: config
                .rate_limit
                .map(|rate| Arc::new(RateLimiter::new(rate))),
            in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1))),
            queued: Arc::new(tokio::sync::Semaphore::new(config.queue)),
            config: Arc::new(config),
            suggest: Arc::new(std::sync::RwLock::new(Arc::new(suggest))),
            auth: Arc::new(Authenticator::default()),
            audit: None,
            writer: None,
            ids: Arc::new(write::IdIssuer::random()),
            sessions: tower_sessions::MemoryStore::default(),
        })
    }

    /// The caller behind an `Authorization` header. A token of the identity provider's signed
    /// with a key not yet held is checked again after fetching the provider's keys (at most
    /// once per the configured interval, so made-up key ids cost the provider nothing).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> std::result::Result<Caller, AuthFailure> {
        match self.auth.authenticate(authorization) {
            Err(AuthFailure::UnknownKey) => match self.auth.provider() {
                Some(provider) if provider.refetch_keys().await => self
                    .auth
                    .authenticate(authorization)
                    .map_err(|failure| match failure {
                        AuthFailure::UnknownKey => AuthFailure::Invalid,
                        other => other,
                    }),
                _ => Err(AuthFailure::Invalid),
            },
            other => other,
        }
    }

    /// Requires tokens checked by `auth` (leaving demo mode), records writes and denials in
    /// `audit`, and accepts writes through `writer`.
    pub fn with_auth(
        mut self,
        auth: Authenticator,
        audit: Option<Arc<AuditLog>>,
        writer: Option<Arc<RecordWriter>>,
    ) -> Self {
        let mut config = (*self.config).clone();
        config.demo = !auth.is_configured();
        self.config = Arc::new(config);
        self.auth = Arc::new(auth);
        self.audit = audit;
        self.writer = writer;
        self
    }

    /// Appends an entry to the audit log, if there is one, on the blocking pool: each entry is
    /// synced to disk before this returns, without holding up the async runtime. `marking` is the
    /// lowest an admin must be cleared for to read it: the caller's highest. The entry names the
    /// request being answered, if any.
    pub async fn audit_event(
        &self,
        subject: String,
        action: String,
        ids: Vec<String>,
        outcome: String,
        marking: crate::model::Marking,
    ) {
        let Some(log) = self.audit.clone() else {
            return;
        };
        let entry = audit_entry(subject, action, ids, outcome, marking);
        if let Err(e) = tokio::task::spawn_blocking(move || log.record(entry)).await {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }

    /// Audits a read: who searched, opened a record or assembled a team, the request (`METHOD
    /// /path?query`, and for a request with a body, its first 2,000 characters), and the ids of
    /// the records it returned. Written to the log before the answer, synced within moments
    /// ([`AuditLog::note`]). Not in demo mode, which has no callers to tell apart.
    pub async fn audit_read(
        &self,
        caller: &Caller,
        body: Option<&[u8]>,
        ids: Vec<String>,
        outcome: &str,
    ) {
        let Some(log) = self.audit.as_ref().filter(|_| !self.config.demo) else {
            return;
        };
        let mut action = REQUEST_TARGET
            .try_with(Clone::clone)
            .unwrap_or_else(|_| "read".into());
        if let Some(body) = body {
            let text = String::from_utf8_lossy(body);
            action.push(' ');
            action.extend(text.chars().take(2000));
        }
        log.note(audit_entry(
            caller.subject.clone(),
            action,
            ids,
            outcome.into(),
            caller.max_marking,
        ));
    }

    /// One record as `caller` may see it (a member's clearance only with the vetting permission),
    /// the opening audited, `not found` included.
    pub async fn open_record(
        &self,
        caller: &Caller,
        kind: crate::model::Kind,
        id: String,
    ) -> crate::Result<crate::search::RecordView> {
        let index = self.index.clone();
        let (asked, marking) = (id.clone(), caller.max_marking);
        let record = tokio::task::spawn_blocking(move || {
            crate::search::get(&index, kind, &asked, marking, crate::search::today())
        })
        .await
        .map_err(|e| crate::Error::Io(std::io::Error::other(e)))?;
        let record = record.map(|mut record| {
            record.clearance_withheld = kind == crate::model::Kind::Member && !caller.vetting;
            record
        });
        let outcome = match &record {
            Ok(_) => "ok",
            Err(crate::Error::NotFound) => "not found",
            Err(_) => "error",
        };
        self.audit_read(caller, None, vec![id], outcome).await;
        record
    }

    /// The current typeahead index.
    pub fn suggestions(&self) -> Arc<crate::suggest::SuggestIndex> {
        match self.suggest.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The whole service.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let request_id = HeaderName::from_static("x-request-id");
    let mut router = Router::new()
        .merge(api::routes())
        .merge(web::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi::serve))
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record_metrics,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), identify))
        .layer(
            tower_sessions::SessionManagerLayer::new(state.sessions.clone())
                .with_name(web::SESSION_COOKIE)
                .with_http_only(true)
                // Lax, not Strict: a sign-in redirected from an identity provider must carry it
                .with_same_site(tower_sessions::cookie::SameSite::Lax)
                .with_secure(config.secure_cookies)
                .with_expiry(tower_sessions::Expiry::OnInactivity(
                    time::Duration::try_from(config.session_idle)
                        .unwrap_or(time::Duration::hours(2)),
                )),
        )
        .layer(middleware::from_fn(secure_cookie_over_tls))
        .layer(middleware::from_fn_with_state(state.clone(), limits::admit))
        .with_state(state);
    if !config.cors_origins.is_empty() {
        let origins = if config.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                config
                    .cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        router = router.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                ]),
        );
    }
    router
        .layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
                })
                // one line per request at info: its status and how long it took
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight finish first.
/// Connections are timed out and capped as [`serve::ConnectionLimits`] says.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: serve::ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::serve(listener, router, limits, shutdown).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Paths anyone may call: health checks, the API description, sign-in and the page assets.
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/openapi.json") || web::is_public_page(path)
}

/// An audit entry made now, naming the request being answered, if any.
fn audit_entry(
    subject: String,
    action: String,
    ids: Vec<String>,
    outcome: String,
    marking: crate::model::Marking,
) -> AuditEntry {
    AuditEntry {
        time: String::new(),
        subject,
        action,
        ids,
        outcome,
        request_id: REQUEST_ID.try_with(Clone::clone).ok().flatten(),
        marking: Some(marking),
    }
}

tokio::task_local! {
    /// The id of the request being answered (`x-request-id`): every audit entry made while
    /// answering it carries it, writes and refusals alike.
    static REQUEST_ID: Option<String>;
    /// The request being answered, as `METHOD /path?query`: the action of a read's audit entry.
    static REQUEST_TARGET: String;
}

/// Authenticates the caller and attaches it to the request; refuses, rate-limits and audits.
/// Without configured tokens every caller is the demo reader (OFFICIAL only).
async fn identify(state: State<AppState>, request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let target = format!(
        "{} {}",
        request.method(),
        request.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    REQUEST_ID
        .scope(
            id,
            REQUEST_TARGET.scope(target, identify_caller(state, request, next)),
        )
        .await
}

async fn identify_caller(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if !state.auth.is_configured() {
        request.extensions_mut().insert(Caller::demo());
        return next.run(request).await;
    }
    let action = format!("{} {}", request.method(), path);
    let header = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    // A bearer token, or for reading (never writing) a web session.
    let signed_in = match (&header, request.method()) {
        (None, &Method::GET | &Method::HEAD) => match request.extensions().get() {
            Some(session) => web::session_caller(session, state.config.session_max).await,
            None => None,
        },
        _ => None,
    };
    let deny = |subject: &str, outcome: &str, marking: crate::model::Marking| {
        state.audit_event(
            subject.to_string(),
            action.clone(),
            Vec::new(),
            outcome.to_string(),
            marking,
        )
    };
    let authenticated = match signed_in {
        Some(caller) => Ok(caller),
        None => state.authenticate(header.as_deref()).await,
    };
    let caller = match authenticated {
        Ok(caller) => caller,
        Err(_) if is_public(&path) => return next.run(request).await,
        Err(_) if web::is_page(&path) => {
            // people are sent to sign in, and back afterwards
            let here = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return Redirect::to(&format!("/sign-in?next={next}")).into_response();
        }
        Err(failure) => {
            deny(
                "-",
                match failure {
                    AuthFailure::Missing => "denied: no token",
                    AuthFailure::Invalid | AuthFailure::UnknownKey => "denied: invalid token",
                },
                crate::model::Marking::Official,
            )
            .await;
            // the same answer whatever was wrong, so it tells an attacker nothing
            let mut response = api::Problem::new(
                StatusCode::UNAUTHORIZED,
                "authentication required: send a valid bearer token",
            )
            .into_response();
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    };
    if (path == "/metrics" || path == "/v1/audit") && caller.role < Role::Admin {
        deny(
            &caller.subject,
            "denied: admin role required",
            caller.max_marking,
        )
        .await;
        return api::Problem::new(StatusCode::FORBIDDEN, "this needs the admin role")
            .into_response();
    }
    if let Some(limiter) = &state.limiter
        && let Err(retry_after) = limiter.check(&caller.subject)
    {
        deny(&caller.subject, "denied: rate limited", caller.max_marking).await;
        let mut response = api::Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many requests for this token; retry after {retry_after} s"),
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(retry_after),
        );
        return response;
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Marks the session cookie `Secure` on a request a proxy says came over TLS.
async fn secure_cookie_over_tls(request: Request, next: Next) -> Response {
    let over_tls = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    if over_tls {
        let cookies: Vec<HeaderValue> = response
            .headers_mut()
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .map(|v| {
                let text = v.to_str().unwrap_or_default();
                if text.starts_with(web::SESSION_COOKIE) && !text.contains("Secure") {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| v.clone())
                } else {
                    v.clone()
                }
            })
            .collect();
        response
            .headers_mut()
            .remove(axum::http::header::SET_COOKIE);
        for cookie in cookies {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, cookie);
        }
    }
    response
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: an index is open and answering, and there is room for more work (503
/// `saturated` while every place in flight and in the queue is taken), and it is not behind a
/// shared record store by more than [`READY_LAG`] (503 `behind`). `lag_seconds` is how far
/// behind the store the index may be (0 for a store only this server writes). It says nothing
/// countable: anyone may call it.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "Saturated, or behind the shared record store: send requests elsewhere for now")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if saturated(&state) {
        // nothing countable: only that a load balancer should send requests elsewhere for now
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "saturated"})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(1u32));
        return response;
    }
    let lag = state.writer.as_ref().map_or(0.0, |w| w.lag().as_secs_f64());
    let lag_seconds = (lag * 10.0).round() / 10.0;
    if lag > READY_LAG.as_secs_f64() {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "behind", "lag_seconds": lag_seconds})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(1u32));
        return response;
    }
    axum::Json(serde_json::json!({"status": "ready", "lag_seconds": lag_seconds})).into_response()
}

/// The furthest behind a shared record store a server may be and still take requests.
pub const READY_LAG: Duration = Duration::from_secs(10);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn raw_get(address: std::net::SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_real_http_on_loopback_and_shuts_down_gracefully() {
        let state =
            AppState::new(crate::search::tests::small_index(), HttpConfig::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            router(state),
            serve::ConnectionLimits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        let response = raw_get(address, "/v1/experts?skill=Bayesian%20statistics&limit=1").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("\"id\":\"m-exp\""), "{response}");
        assert!(
            response.to_lowercase().contains("x-request-id:"),
            "{response}"
        );
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert!(
            tokio::net::TcpStream::connect(address).await.is_err(),
            "the listener is closed after shutdown"
        );
    }

    use crate::access::{KeyFile, create_key};
    use crate::model::Marking;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// A server with API keys over an index on disk (so it can be written to).
    pub(crate) struct Secured {
        pub(crate) app: Router,
        pub(crate) state: AppState,
        /// An OFFICIAL reader with the vetting permission, as are the other keys but `unvetted`.
        pub(crate) reader: String,
        /// An OFFICIAL reader without the vetting permission: no one's clearance.
        pub(crate) unvetted: String,
        pub(crate) sensitive_reader: String,
        pub(crate) editor: String,
        /// An editor who may see (and so write) every marking.
        pub(crate) sensitive_editor: String,
        pub(crate) admin: String,
        /// An admin who may read OFFICIAL only.
        pub(crate) official_admin: String,
        pub(crate) audit: std::path::PathBuf,
        /// Keeps the index directory alive for the test.
        _dir: tempfile::TempDir,
    }

    /// One hidden facility on top of the search module's small records.
    const SECRET_FACILITY: &str = r#"{"id":"f-secret","name":"Quiet Harbour blast chamber","department":"Dstl","capabilities":["energetics"],"marking":"OFFICIAL-SENSITIVE","location":{"town":"Fort Halstead","region":"South East","lat":51.32,"lon":0.14}}"#;

    /// Writes records as the data files `muster index` reads.
    pub(crate) fn write_data(dir: &std::path::Path, records: &[crate::model::Record]) {
        use crate::model::Kind;
        for (kind, file) in [
            (Kind::Member, "members.jsonl"),
            (Kind::CaseStudy, "case_studies.jsonl"),
            (Kind::Facility, "facilities.jsonl"),
        ] {
            let lines: Vec<String> = records
                .iter()
                .filter(|r| r.kind() == kind)
                .map(|r| r.to_json().to_string())
                .collect();
            std::fs::write(dir.join(file), lines.join("\n") + "\n").unwrap();
        }
    }

    pub(crate) fn secured(rate_limit: Option<f64>) -> Secured {
        let mut records = crate::search::tests::small_records();
        records.push(
            crate::ingest::parse_json_line(crate::model::Kind::Facility, SECRET_FACILITY)
                .unwrap()
                .record,
        );
        secured_with(&records, rate_limit)
    }

    pub(crate) fn secured_with(
        records: &[crate::model::Record],
        rate_limit: Option<f64>,
    ) -> Secured {
        let (reader, r) = create_key("reader@dstl", Role::Reader, Marking::Official);
        let (sensitive_reader, s) =
            create_key("os-reader@dstl", Role::Reader, Marking::OfficialSensitive);
        let (editor, e) = create_key("editor@ukhsa", Role::Editor, Marking::Official);
        let (sensitive_editor, se) =
            create_key("os-editor@dstl", Role::Editor, Marking::OfficialSensitive);
        let (admin, a) = create_key("ops@muster", Role::Admin, Marking::OfficialSensitive);
        let (official_admin, oa) = create_key("ops@dept", Role::Admin, Marking::Official);
        let (unvetted, u) = create_key("policy@dhsc", Role::Reader, Marking::Official);
        let vetted = |mut key: crate::access::StoredKey| {
            key.vetting = true;
            key
        };
        let keys = [r, s, e, se, a, oa].map(vetted);
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        write_data(&data, records);
        let index_dir = dir.path().join("index");
        let lock = crate::index::IndexLock::acquire(&index_dir).unwrap();
        let options = crate::index::BuildOptions::default();
        let taxonomy = crate::taxonomy::Taxonomy::builtin();
        crate::index::build_locked(&data, &lock, taxonomy.clone(), &options).unwrap();
        let index = crate::index::open(&index_dir, taxonomy).unwrap();
        let store = std::sync::Arc::new(crate::store::Store::open_in(&index_dir).unwrap());
        let writer = Arc::new(RecordWriter::open(&index, lock, store).unwrap());
        let audit = dir.path().join("audit.jsonl");
        let config = HttpConfig {
            rate_limit,
            ..HttpConfig::default()
        };
        let state = AppState::new(index, config).unwrap().with_auth(
            Authenticator::new(
                KeyFile {
                    keys: keys.into_iter().chain([u]).collect(),
                },
                None,
            ),
            Some(Arc::new(AuditLog::open(&audit).unwrap())),
            Some(writer),
        );
        Secured {
            app: router(state.clone()),
            state,
            reader,
            unvetted,
            sensitive_reader,
            editor,
            sensitive_editor,
            admin,
            official_admin,
            audit,
            _dir: dir,
        }
    }

    pub(crate) async fn call(
        app: &Router,
        uri: &str,
        token: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        send(app, Method::GET, uri, token, "").await
    }

    pub(crate) async fn send(
        app: &Router,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        respond(app, builder.body(Body::from(body.to_string())).unwrap()).await
    }

    /// Runs one request through the app: status, headers and body text.
    pub(crate) async fn respond(
        app: &Router,
        request: Request,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn missing_and_bad_tokens_get_the_same_401() {
        let s = secured(None);
        let (status, headers, missing) = call(&s.app, "/v1/experts", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers.get("www-authenticate").unwrap(), "Bearer");
        let (status, _, bad) = call(&s.app, "/v1/experts", Some("mst_0000_ffff")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, garbage) = call(&s.app, "/v1/experts", Some("not-a-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(missing, bad);
        assert_eq!(bad, garbage);
        let (status, _, _) = call(&s.app, "/healthz", None).await;
        assert_eq!(status, StatusCode::OK, "health checks need no token");
    }

    #[tokio::test]
    async fn a_reader_sees_only_records_at_or_below_their_marking() {
        let s = secured(None);
        let (status, _, _) = call(&s.app, "/v1/experts/m-secret", Some(&s.reader)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, body) =
            call(&s.app, "/v1/experts/m-secret", Some(&s.sensitive_reader)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, _, official) = call(
            &s.app,
            "/v1/experts?skill=Bayesian%20statistics",
            Some(&s.reader),
        )
        .await;
        let (_, _, sensitive) = call(
            &s.app,
            "/v1/experts?skill=Bayesian%20statistics",
            Some(&s.sensitive_reader),
        )
        .await;
        let total = |body: &str| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["total"]
                .as_u64()
                .unwrap()
        };
        assert_eq!((total(&official), total(&sensitive)), (4, 5));
        assert!(!official.contains("m-secret") && sensitive.contains("m-secret"));
    }

    /// A response with what legitimately varies between two indexes removed: timings, and
    /// scores (BM25 statistics are per index).
    fn comparable(body: &str) -> serde_json::Value {
        fn strip(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::Object(map) => {
                    map.remove("took_ms");
                    map.values_mut().for_each(strip);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let mut value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        strip(&mut value);
        value
    }

    #[tokio::test]
    async fn a_hidden_record_is_indistinguishable_from_one_that_does_not_exist_on_every_endpoint() {
        let full = secured(None);
        let visible: Vec<crate::model::Record> = crate::search::tests::small_records()
            .into_iter()
            .filter(|r| r.marking() == Marking::Official)
            .collect();
        let without = secured_with(&visible, None);
        let uris = [
            "/v1/experts?skill=Bayesian%20statistics",
            "/v1/experts?q=bayesian%20modelling&explain=true",
            "/v1/experts?q=dispersion",
            "/v1/experts?department=MOD&clearance=SC",
            "/v1/experts/m-author",
            "/v1/experts/m-secret",
            "/v1/case-studies?q=dispersion",
            "/v1/case-studies/cs-2",
            "/v1/case-studies/cs-3",
            "/v1/facilities?q=energetics%20blast",
            "/v1/facilities?near=51.3,0.1&within_km=300",
            "/v1/facilities/f-secret",
            "/v1/search?q=dispersion%20modelling",
            "/v1/suggest?q=quiet",
            "/v1/suggest?q=bay",
            "/v1/skills",
        ];
        let mut same_for_sensitive_reader = Vec::new();
        for uri in uris {
            let (status, _, body) = call(&full.app, uri, Some(&full.reader)).await;
            let (expected_status, _, expected) =
                call(&without.app, uri, Some(&without.reader)).await;
            assert_eq!(status, expected_status, "{uri}");
            assert_eq!(comparable(&body), comparable(&expected), "{uri}");
            let (_, _, sensitive) = call(&full.app, uri, Some(&full.sensitive_reader)).await;
            if comparable(&sensitive) == comparable(&body) {
                same_for_sensitive_reader.push(uri);
            }
        }
        let musters = [
            r#"{"skills": [{"skill": "bayesian statistics", "min_level": 4}], "team_size": 3}"#,
            r#"{"skills": [{"skill": "bayesian statistics", "min_level": 4}], "clearance": "DV"}"#,
            r#"{"skills": [{"skill": "energetics"}], "facility_capabilities": ["energetics"],
                "near": {"lat": 51.3, "lon": 0.1}, "within_km": 300}"#,
            r#"{"need": "bayesian modelling for a classified programme"}"#,
        ];
        for body in musters {
            let post = |app: Router, token: String| async move {
                send(&app, Method::POST, "/v1/muster", Some(&token), body).await
            };
            let (status, _, answer) = post(full.app.clone(), full.reader.clone()).await;
            let (expected_status, _, expected) =
                post(without.app.clone(), without.reader.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}: {answer}");
            assert_eq!(status, expected_status, "{body}");
            assert_eq!(comparable(&answer), comparable(&expected), "{body}");
            let (_, _, sensitive) = post(full.app.clone(), full.sensitive_reader.clone()).await;
            if comparable(&sensitive) == comparable(&answer) {
                same_for_sensitive_reader.push(body);
            }
        }
        // and a reader allowed OFFICIAL-SENSITIVE does see them, wherever they would show
        assert_eq!(
            same_for_sensitive_reader,
            vec!["/v1/experts/m-author", "/v1/suggest?q=bay"],
            "only answers no hidden record touches are the same for both readers"
        );
    }

    #[tokio::test]
    async fn metrics_need_the_admin_role_and_denials_are_audited_without_tokens() {
        let s = secured(None);
        let (status, _, _) = call(&s.app, "/metrics", Some(&s.reader)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = call(&s.app, "/metrics", Some(&s.admin)).await;
        assert_eq!(status, StatusCode::OK);
        call(&s.app, "/v1/experts", Some("mst_0000_ffff")).await;
        let audit = std::fs::read_to_string(&s.audit).unwrap();
        let entries: Vec<AuditEntry> = audit
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let outcomes: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.subject.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("reader@dstl", "denied: admin role required"),
                ("-", "denied: invalid token")
            ]
        );
        // admins read the log over the API, newest first; nobody else may
        let (status, _, _) = call(&s.app, "/v1/audit", Some(&s.editor)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, body) = call(&s.app, "/v1/audit?limit=2", Some(&s.admin)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let newest: Vec<(&str, &str)> = body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["subject"].as_str().unwrap(),
                    e["outcome"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            newest,
            vec![
                ("editor@ukhsa", "denied: admin role required"),
                ("-", "denied: invalid token")
            ]
        );
        let (status, _, body) = call(&s.app, "/v1/audit?limit=0", Some(&s.admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("`limit`"), "{body}");
        for token in [&s.reader, &s.admin] {
            let secret = token.rsplit('_').next().unwrap();
            assert!(!audit.contains(secret), "the audit log never holds a token");
        }
        assert!(!audit.contains("ffff"));
    }

    #[tokio::test]
    async fn without_the_vetting_permission_no_one_s_clearance_shows_or_counts() {
        let s = secured(None);
        let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();
        let withheld = |value: &serde_json::Value| {
            crate::search::VETTING_FIELDS
                .iter()
                .all(|f| value.get(*f).is_none())
        };
        // the same searches: a vetted reader sees clearances, an unvetted one sees none
        for (token, vetted) in [(&s.reader, true), (&s.unvetted, false)] {
            let (status, _, body) = call(&s.app, "/v1/experts?q=statistics", Some(token)).await;
            assert_eq!(status, StatusCode::OK);
            let body = json(&body);
            let hits = body["hits"].as_array().unwrap();
            assert!(!hits.is_empty());
            assert_eq!(
                hits.iter().all(|h| withheld(&h["summary"])),
                !vetted,
                "{body}"
            );
            assert_eq!(body["facets"].get("clearance").is_some(), vetted, "{body}");
            let (_, _, record) = call(&s.app, "/v1/experts/m-exp", Some(token)).await;
            assert_eq!(withheld(&json(&record)), !vetted, "{record}");
            let need = r#"{"skills":[{"skill":"Bayesian statistics"}],"team_size":2}"#;
            let (status, _, answer) =
                send(&s.app, Method::POST, "/v1/muster", Some(token), need).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let answer = json(&answer);
            let team = answer["team"].as_array().unwrap();
            assert!(!team.is_empty());
            assert_eq!(
                team.iter().all(|m| withheld(&m["contact"])),
                !vetted,
                "{answer}"
            );
            let (_, _, sheet) = send(
                &s.app,
                Method::POST,
                "/v1/muster?format=csv",
                Some(token),
                need,
            )
            .await;
            assert_eq!(sheet.contains("SC, review due"), vetted, "{sheet}");
            assert_eq!(
                sheet.contains("not shown (needs the vetting permission)"),
                !vetted
            );
        }
        // asking about clearances is refused, naming the parameter; a facility's is not secret
        for (method, uri, body) in [
            (Method::GET, "/v1/experts?clearance=SC", ""),
            (Method::GET, "/v1/search?q=statistics&clearance=SC", ""),
            (
                Method::POST,
                "/v1/muster",
                r#"{"skills":[{"skill":"Bayesian statistics"}],"clearance":"SC"}"#,
            ),
            (
                Method::POST,
                "/v1/muster",
                r#"{"need":"two SC cleared Bayesian statisticians"}"#,
            ),
        ] {
            let (status, _, problem) = send(&s.app, method, uri, Some(&s.unvetted), body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri} {body}: {problem}");
            assert_eq!(json(&problem)["parameter"], "clearance", "{problem}");
            assert!(problem.contains("vetting permission"), "{problem}");
        }
        let (status, _, _) = call(&s.app, "/v1/facilities?clearance=SC", Some(&s.unvetted)).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn reads_are_audited_with_who_the_request_and_the_ids_returned() {
        let s = secured(None);
        let entries = || -> Vec<AuditEntry> {
            std::fs::read_to_string(&s.audit)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let (status, _, body) = call(&s.app, "/v1/experts?q=statistics", Some(&s.reader)).await;
        assert_eq!(status, StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let returned: Vec<String> = body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!returned.is_empty());
        let search = entries().pop().expect("the search is audited");
        assert_eq!(search.subject, "reader@dstl");
        assert_eq!(search.action, "GET /v1/experts?q=statistics");
        assert_eq!(search.ids, returned);
        assert_eq!(search.outcome, "ok");
        assert_eq!(search.marking, Some(Marking::Official));

        let opened = format!("/v1/experts/{}", returned[0]);
        let (status, _, _) = call(&s.app, &opened, Some(&s.sensitive_reader)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = call(&s.app, "/v1/experts/m-nobody", Some(&s.reader)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let need = r#"{"skills":[{"skill":"Bayesian statistics"}],"team_size":2}"#;
        let (status, _, answer) =
            send(&s.app, Method::POST, "/v1/muster", Some(&s.reader), need).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let team: Vec<&str> = answer["team"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        let all = entries();
        let last: Vec<(&str, &str, &str)> = all[all.len() - 3..]
            .iter()
            .map(|e| (e.subject.as_str(), e.action.as_str(), e.outcome.as_str()))
            .collect();
        assert_eq!(
            last,
            [
                ("os-reader@dstl", &*format!("GET {opened}"), "ok"),
                ("reader@dstl", "GET /v1/experts/m-nobody", "not found"),
                ("reader@dstl", &*format!("POST /v1/muster {need}"), "ok"),
            ]
        );
        assert_eq!(all[all.len() - 3].ids, [returned[0].clone()]);
        assert_eq!(all[all.len() - 3].marking, Some(Marking::OfficialSensitive));
        assert!(
            team.iter()
                .all(|id| all[all.len() - 1].ids.iter().any(|i| i == id))
        );
    }

    #[tokio::test]
    async fn at_capacity_a_request_gets_503_at_once_and_health_still_answers() {
        let s = secured(None);
        let state = s.state.clone();
        // every permit taken, as if that many searches were running
        let held = state
            .in_flight
            .clone()
            .acquire_many_owned(state.config.max_in_flight as u32)
            .await
            .unwrap();
        // were it queued, this call would never return while the permits are held
        let (status, headers, body) = call(&s.app, "/v1/experts?q=virology", Some(&s.reader)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        assert!(body.contains("capacity"), "{body}");
        let (health, _, _) = call(&s.app, "/healthz", None).await;
        assert_eq!(health, StatusCode::OK);
        let (metrics, _, text) = call(&s.app, "/metrics", Some(&s.admin)).await;
        assert_eq!(metrics, StatusCode::OK);
        assert!(text.contains("muster_http_requests_shed_total 1"), "{text}");
        // capacity back: answered normally
        drop(held);
        let (status, _, _) = call(&s.app, "/v1/experts?q=virology", Some(&s.reader)).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn too_many_requests_from_one_token_get_429_with_retry_after() {
        let s = secured(Some(0.5));
        let (first, _, _) = call(&s.app, "/v1/experts", Some(&s.reader)).await;
        let (second, headers, body) = call(&s.app, "/v1/experts", Some(&s.reader)).await;
        assert_eq!(first, StatusCode::OK);
        assert_eq!(second, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(headers.get("retry-after").unwrap(), "2");
        let (other, _, _) = call(&s.app, "/v1/experts", Some(&s.admin)).await;
        assert_eq!(other, StatusCode::OK, "another token has its own budget");
    }
}
