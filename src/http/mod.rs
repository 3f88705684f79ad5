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
pub(crate) mod tests;
