//! GOV.UK Frontend and Muster's own CSS and script, compiled into the binary.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

macro_rules! assets {
    ($($path:literal => $file:literal, $type:literal;)*) => {
        fn asset_bytes(path: &str) -> Option<(&'static [u8], &'static str)> {
            match path {
                $($path => Some((include_bytes!($file), $type)),)*
                _ => None,
            }
        }
    };
}

assets! {
    "govuk-frontend.min.css" => "../assets/govuk/govuk-frontend.min.css", "text/css; charset=utf-8";
    "govuk-frontend.min.js" => "../assets/govuk/govuk-frontend.min.js", "text/javascript; charset=utf-8";
    "muster.css" => "../assets/muster.css", "text/css; charset=utf-8";
    "muster.js" => "../assets/muster.js", "text/javascript; charset=utf-8";
    "fonts/bold-affa96571d-v2.woff" => "../assets/govuk/fonts/bold-affa96571d-v2.woff", "font/woff";
    "fonts/bold-b542beb274-v2.woff2" => "../assets/govuk/fonts/bold-b542beb274-v2.woff2", "font/woff2";
    "fonts/light-94a07e06a1-v2.woff2" => "../assets/govuk/fonts/light-94a07e06a1-v2.woff2", "font/woff2";
    "fonts/light-f591b13f7d-v2.woff" => "../assets/govuk/fonts/light-f591b13f7d-v2.woff", "font/woff";
    "images/favicon.ico" => "../assets/govuk/images/favicon.ico", "image/x-icon";
    "images/favicon.svg" => "../assets/govuk/images/favicon.svg", "image/svg+xml";
    "images/govuk-crest.svg" => "../assets/govuk/images/govuk-crest.svg", "image/svg+xml";
    "images/govuk-icon-180.png" => "../assets/govuk/images/govuk-icon-180.png", "image/png";
    "images/govuk-icon-192.png" => "../assets/govuk/images/govuk-icon-192.png", "image/png";
    "images/govuk-icon-512.png" => "../assets/govuk/images/govuk-icon-512.png", "image/png";
    "images/govuk-icon-mask.svg" => "../assets/govuk/images/govuk-icon-mask.svg", "image/svg+xml";
}

pub(super) async fn asset(Path(path): Path<String>) -> Response {
    match asset_bytes(&path) {
        Some((bytes, content_type)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
