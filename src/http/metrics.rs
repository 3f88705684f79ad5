//! Prometheus metrics: requests by route, method and status, latency histograms per route,
//! requests in flight and shed, the records an admin may see and the lag behind the store.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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
    shed: AtomicU64,
}

impl Metrics {
    pub(super) fn record_shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

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
        out.push_str(
            "# HELP muster_index_documents Records in the open index the reader may see.\n",
        );
        out.push_str("# TYPE muster_index_documents gauge\n");
        out.push_str(&format!("muster_index_documents {documents}\n"));
        out.push_str(&format!(
            "# TYPE muster_http_requests_in_flight gauge\nmuster_http_requests_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP muster_http_requests_shed_total Requests answered 503 because the server was at capacity.\n# TYPE muster_http_requests_shed_total counter\nmuster_http_requests_shed_total {}\n",
            self.shed.load(Ordering::Relaxed)
        ));
        out
    }
}
