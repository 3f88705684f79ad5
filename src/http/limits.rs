//! Limits that keep one client from stalling others: a request is admitted once its body has
//! arrived and a place is free (else 503 with `Retry-After` at once), and each subject has a
//! request budget (else 429).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use super::{AppState, api};

/// Admits a request to work once its body has arrived: the body is read first, within
/// [`HttpConfig::body_timeout`] (else 408), holding nothing; then the request takes one of
/// [`HttpConfig::max_in_flight`] places, waiting in a queue of [`HttpConfig::queue`] for at most
/// [`HttpConfig::queue_wait`] (a full queue, or the wait running out, is a 503 with `Retry-After`
/// at once); then it has [`HttpConfig::timeout`] to be answered (else 503). Health, readiness and
/// metrics are always answered at once.
pub(super) async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, state.config.body_limit);
    let bytes = match tokio::time::timeout(state.config.body_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return if too_large {
                api::Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {} bytes", state.config.body_limit),
                )
                .into_response()
            } else {
                api::Problem::new(StatusCode::BAD_REQUEST, "the body could not be read")
                    .into_response()
            };
        }
        Err(_) => {
            return api::Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} s",
                    state.config.body_timeout.as_secs()
                ),
            )
            .into_response();
        }
    };
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    let at_capacity = |state: &AppState| {
        state.metrics.record_shed();
        let mut response = api::Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at capacity; retry after 1 s",
        )
        .into_response();
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(1u32));
        response
    };
    let permit = match state.in_flight.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            let Ok(_place) = state.queued.clone().try_acquire_owned() else {
                return at_capacity(&state);
            };
            let wait = state.in_flight.clone().acquire_owned();
            match tokio::time::timeout(state.config.queue_wait, wait).await {
                Ok(Ok(permit)) => permit,
                _ => return at_capacity(&state),
            }
        }
    };
    let answered = tokio::time::timeout(state.config.timeout, next.run(request)).await;
    drop(permit);
    answered.unwrap_or_else(|_| {
        api::Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the request took longer than {} s",
                state.config.timeout.as_secs()
            ),
        )
        .into_response()
    })
}

/// Whether every place in flight and in the queue is taken (readiness says so).
pub fn saturated(state: &AppState) -> bool {
    state.in_flight.available_permits() == 0 && state.queued.available_permits() == 0
}

/// A request budget per subject: `per_second` sustained, bursts of twice that (at least one).
///
/// `governor`'s keyed limiter (the generic cell rate algorithm, one timestamp per subject);
/// subjects whose budget has refilled are forgotten from time to time, so the map stays as small
/// as the set of subjects recently busy however many tokens are seen.
pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

/// Checks between two trims of subjects whose budget is full again.
const TRIM_EVERY: u64 = 1024;

impl RateLimiter {
    /// `per_second` sustained (a positive rate; a fraction is one request per so many seconds),
    /// bursts of twice that (at least 1).
    pub fn new(per_second: f64) -> RateLimiter {
        let period = Duration::from_secs_f64(1.0 / per_second.max(1e-6));
        let burst =
            NonZeroU32::new((per_second * 2.0).round().clamp(1.0, f64::from(u32::MAX)) as u32)
                .unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        RateLimiter {
            limiter: governor::RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from `subject`'s budget, or says how many whole seconds (at least 1)
    /// until one is free.
    pub fn check(&self, subject: &str) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % TRIM_EVERY == TRIM_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let key = subject.to_string();
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }

    /// Subjects held now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subject_has_its_own_budget_and_is_told_when_to_come_back() {
        let limiter = RateLimiter::new(0.5);
        assert_eq!(limiter.check("a"), Ok(()));
        assert_eq!(
            limiter.check("a"),
            Err(2),
            "one request every 2 s, no burst"
        );
        assert_eq!(limiter.check("b"), Ok(()));
        let fast = RateLimiter::new(5.0);
        for _ in 0..10 {
            assert_eq!(fast.check("a"), Ok(()), "a burst of twice the rate");
        }
        assert_eq!(fast.check("a"), Err(1));
    }

    #[test]
    fn subjects_whose_budget_refilled_are_forgotten() {
        // each subject's one request is paid back 0.1 s later (forgotten a period after that)
        let limiter = RateLimiter::new(10.0);
        for i in 0..2_000 {
            assert_eq!(limiter.check(&format!("subject-{i}")), Ok(()));
        }
        assert!(limiter.tracked() >= 2_000, "{}", limiter.tracked());
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..TRIM_EVERY {
            limiter.check("busy").unwrap_or_default();
        }
        assert!(
            limiter.tracked() < 10,
            "{} subjects still held",
            limiter.tracked()
        );
    }
}
