//! The web interface for policy officials, in the GOV.UK Design System.
//!
//! Server-rendered HTML (maud escapes every value from records) that works without JavaScript;
//! `/assets/muster.js` only enhances it (typeahead from `/v1/suggest`, facet updates in place).
//! GOV.UK Frontend's compiled CSS, JS, fonts and images are vendored into `src/http/assets/govuk`
//! by `.ci/vendor-govuk` and compiled into the binary, so pages make no external requests.
//!
//! Pages: search (`/`), a person, case study or facility (`/people/{id}`, ...), the muster form
//! (`/muster`, contact sheet at `/muster.csv`), and sign-in (`/sign-in`) which keeps the caller's
//! key in an HttpOnly, SameSite=Strict cookie. The same visibility rules as the API apply: every
//! page is built from the same searches with the caller's marking.
//!
//! A file per page (`search_page`, `record_pages`, `muster_page`, `sign_in`), the `layout` they
//! share with its form-error helpers, and the compiled-in `assets`; this file routes them.

mod assets;
mod layout;
mod muster_page;
mod record_pages;
mod search_page;
mod sign_in;

#[cfg(test)]
mod tests;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;

use super::AppState;

use assets::asset;

pub(crate) use layout::{Nav, layout, page_response};
use muster_page::{muster_csv, muster_page};
use record_pages::record_page_at;
use search_page::search_page;
pub use sign_in::session_caller;
pub(crate) use sign_in::{begin_session, safe_next};
use sign_in::{sign_in, sign_in_page, sign_out};

/// Name of the cookie that carries a signed-in caller's key.
pub const SESSION_COOKIE: &str = "muster_session";

/// Results per page.
const PAGE_SIZE: usize = 10;

/// The web routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(search_page))
        .route("/people/{id}", get(record_page_at))
        .route("/case-studies/{id}", get(record_page_at))
        .route("/facilities/{id}", get(record_page_at))
        .route("/muster", get(muster_page))
        .route("/muster.csv", get(muster_csv))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", axum::routing::post(sign_out))
        .merge(super::single_sign_on::routes())
        .route("/assets/{*path}", get(asset))
        .layer(middleware::map_response(security_headers))
}

/// Pages only load what they serve themselves.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Whether a path is one of the web pages (not the API or operations).
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/v1/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics" | "/openapi.json"))
}

/// Pages anyone may load: sign-in (with the single sign-on start and callback), sign-out (it only
/// ends the session its cookie names) and the static assets.
pub fn is_public_page(path: &str) -> bool {
    matches!(path, "/sign-in" | "/sign-out")
        || path.starts_with("/sign-in/")
        || path.starts_with("/assets/")
}
