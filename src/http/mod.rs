//! The HTTP server: router, tower layers, metrics and graceful shutdown.
//!
//! `router(state, config)` builds the whole service so tests can call it with `oneshot`;
//! `serve(listener, router, shutdown)` runs it until `shutdown` resolves, finishing requests in
//! flight. The JSON endpoints live in [`api`]; the page for people in [`web`].

pub mod api;
pub mod openapi;
pub mod web;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::access::Caller;
use crate::index::MusterIndex;

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
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cors_origins: Vec::new(),
            timeout: Duration::from_secs(10),
            body_limit: 16 * 1024 * 1024,
            demo: true,
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
    pub suggest: Arc<crate::suggest::SuggestIndex>,
}

impl AppState {
    /// State over an open index.
    pub fn new(index: MusterIndex, config: HttpConfig) -> crate::Result<Self> {
        let suggest = crate::suggest::SuggestIndex::build(&index)?;
        Ok(AppState {
            index: Arc::new(index),
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
            suggest: Arc::new(suggest),
        })
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
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::serve))
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), identify))
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
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.timeout,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
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

/// Attaches the caller to the request. Until tokens are configured every caller is the
/// demo reader (OFFICIAL only).
async fn identify(State(_state): State<AppState>, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(Caller::demo());
    next.run(request).await
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: an index with records is open.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "No records yet")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let documents = state.index.num_docs();
    if documents == 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "empty index", "documents": 0})),
        )
            .into_response();
    }
    axum::Json(serde_json::json!({"status": "ready", "documents": documents})).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(state.index.num_docs()),
    )
}

async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    state.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    state.metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Latency buckets in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Cumulative bucket counts, total count and sum of seconds for one route.
#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and a latency histogram per route, in Prometheus text format.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicU64,
}

impl Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let entry = latency.entry(route.to_string()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    entry.buckets[i] += 1;
                }
            }
            entry.count += 1;
            entry.sum += seconds;
        }
    }

    /// The metrics in Prometheus text exposition format.
    pub fn render(&self, documents: u64) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP muster_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE muster_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((route, method, status), count) in requests.iter() {
                out.push_str(&format!(
                    "muster_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}\n"
                ));
            }
        }
        out.push_str(
            "# HELP muster_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE muster_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (
                route,
                Histogram {
                    buckets,
                    count,
                    sum,
                },
            ) in latency.iter()
            {
                for (bound, n) in BUCKETS.iter().zip(buckets.iter()) {
                    out.push_str(&format!(
                        "muster_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}\n"
                    ));
                }
                out.push_str(&format!(
                    "muster_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\n"
                ));
                out.push_str(&format!(
                    "muster_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\n"
                ));
                out.push_str(&format!(
                    "muster_http_request_duration_seconds_count{{route=\"{route}\"}} {count}\n"
                ));
            }
        }
        out.push_str("# HELP muster_index_documents Records in the open index.\n");
        out.push_str("# TYPE muster_index_documents gauge\n");
        out.push_str(&format!("muster_index_documents {documents}\n"));
        out.push_str(&format!(
            "# TYPE muster_http_requests_in_flight gauge\nmuster_http_requests_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
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
        let server = tokio::spawn(serve(listener, router(state), async {
            let _ = stopped.await;
        }));
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
}
