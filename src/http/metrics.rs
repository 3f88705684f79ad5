//! Prometheus metrics: requests by route, method and status, latency histograms per route,
//! requests in flight and shed, the records an admin may see and the lag behind the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use super::{AppState, api};
use crate::access::Caller;

/// Prometheus metrics (admins only); the record count is of what the admin may see.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Response, api::Problem> {
    let index = state.index.clone();
    let documents = tokio::task::spawn_blocking(move || index.num_docs(caller.max_marking))
        .await
        .map_err(|e| api::Problem::from(crate::Error::Io(std::io::Error::other(e))))??;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(documents)
            + &format!(
                "# HELP muster_store_lag_seconds How far behind the record store the index may be.\n\
                 # TYPE muster_store_lag_seconds gauge\nmuster_store_lag_seconds {:.1}\n",
                state.writer.as_ref().map_or(0.0, |w| w.lag().as_secs_f64())
            ),
    )
        .into_response())
}

pub(super) async fn record_metrics(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    state.metrics.in_flight(1.0);
    let response = next.run(request).await;
    state.metrics.in_flight(-1.0);
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

const REQUESTS: &str = "muster_http_requests_total";
const LATENCY: &str = "muster_http_request_duration_seconds";
const IN_FLIGHT: &str = "muster_http_requests_in_flight";
const SHED: &str = "muster_http_requests_shed_total";

/// Request counters and a latency histogram per route, kept by the `metrics` crate's Prometheus
/// recorder. Each server state has a recorder of its own (not the process-wide one), so servers
/// built side by side in one process never count each other's requests.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    observed: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let builder = PrometheusBuilder::new();
        // the buckets are a non-empty constant, the one thing `set_buckets` refuses
        let recorder = builder
            .set_buckets(&BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_counter!(REQUESTS, "HTTP requests by route, method and status.");
            describe_histogram!(LATENCY, "HTTP request latency by route.");
            describe_gauge!(IN_FLIGHT, "HTTP requests being worked on.");
            describe_counter!(
                SHED,
                "Requests answered 503 because the server was at capacity."
            );
            // shown from the start, not only after the first request shed
            counter!(SHED).absolute(0);
            gauge!(IN_FLIGHT).set(0.0);
        });
        Metrics {
            recorder,
            handle,
            observed: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    pub(super) fn record_shed(&self) {
        metrics::with_local_recorder(&self.recorder, || counter!(SHED).increment(1));
    }

    fn in_flight(&self, change: f64) {
        metrics::with_local_recorder(&self.recorder, || gauge!(IN_FLIGHT).increment(change));
    }

    fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        metrics::with_local_recorder(&self.recorder, || {
            let (route, method) = (route.to_string(), method.to_string());
            counter!(REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
                .increment(1);
            histogram!(LATENCY, "route" => route).record(elapsed.as_secs_f64());
        });
        // latencies are held until drained: drain them now and then, not only when scraped
        if self.observed.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.handle.run_upkeep();
        }
    }

    /// The metrics in Prometheus text exposition format, with the records the reader may see.
    pub fn render(&self, documents: u64) -> String {
        self.handle.render()
            + &format!(
                "# HELP muster_index_documents Records in the open index the reader may see.\n\
                 # TYPE muster_index_documents gauge\nmuster_index_documents {documents}\n"
            )
    }
}
