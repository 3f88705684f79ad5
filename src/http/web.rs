//! The page for people at `/`.

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use super::AppState;

/// The web routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home(State(state): State<AppState>) -> Html<String> {
    let banner = if state.config.demo {
        "<p><strong>Local demo mode: no access control is configured.</strong></p>"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Muster</title></head>\
         <body><main><h1>Muster</h1>{banner}<p>Cross-government expertise search. \
         The API is described at <a href=\"/openapi.json\">/openapi.json</a>.</p>\
         <form action=\"/v1/experts\" method=\"get\"><label for=\"q\">Search for expertise</label> \
         <input id=\"q\" name=\"q\" type=\"search\"> <button>Search</button></form></main></body></html>"
    ))
}
