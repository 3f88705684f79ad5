//! The pages of single sign-on: the start (off to the department's identity provider), the
//! callback (back from it) and signing out there too. The protocol is in [`crate::oidc`].

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::AppState;
use super::web::{Nav, begin_session, layout, page_response, safe_next};
use crate::model::Marking;
use crate::oidc::{CALLBACK_PATH, Pending, Refused};

/// The session key under which a sign-in under way is kept until the provider answers.
const PENDING: &str = "oidc_pending";

/// The routes, under `/sign-in/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in/start", get(start))
        .route(CALLBACK_PATH, get(callback))
}

/// The sign-in page when a provider is configured: one button, no key to paste.
pub fn sign_in_markup(next: &str) -> Markup {
    let start = format!(
        "/sign-in/start?next={}",
        form_urlencoded::byte_serialize(safe_next(next).as_bytes()).collect::<String>()
    );
    html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { "Sign in to Muster" }
                p class="govuk-body" { "Muster holds information about people with security clearances. Sign in with the account you use for your department's systems." }
                a href=(start) role="button" draggable="false" class="govuk-button govuk-button--start" data-module="govuk-button" {
                    "Sign in with your department account"
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct StartQuery {
    #[serde(default)]
    next: String,
}

/// Sends the browser to the provider, keeping the state, nonce and PKCE verifier in the session.
async fn start(
    State(state): State<AppState>,
    Extension(session): Extension<tower_sessions::Session>,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(provider) = state.auth.provider() else {
        return Redirect::to("/sign-in").into_response();
    };
    let (url, pending) = provider.begin(safe_next(&query.next));
    if let Err(e) = session.insert(PENDING, pending).await {
        tracing::error!(error = %e, "cannot keep a sign-in under way");
        return problem_page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Signing in failed. Try again.",
        );
    }
    Redirect::to(&url).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    error: Option<String>,
}

/// The provider's answer: the sign-in it belongs to is taken from the session (so it is used
/// once), checked, and a session started for the person its claims say.
async fn callback(
    State(state): State<AppState>,
    Extension(session): Extension<tower_sessions::Session>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(provider) = state.auth.provider() else {
        return Redirect::to("/sign-in").into_response();
    };
    let pending: Option<Pending> = session.remove(PENDING).await.ok().flatten();
    let outcome = match (pending, query.error) {
        (None, _) => Err(Refused::State),
        (Some(_), Some(error)) => Err(Refused::Provider(error)),
        (Some(pending), None) => {
            let next = pending.next.clone();
            provider
                .finish(pending, &query.state, &query.code)
                .await
                .map(|signed_in| (signed_in, next))
        }
    };
    let audit = |subject: String, outcome: String, marking: Marking| {
        state.audit_event(
            subject,
            format!("GET {CALLBACK_PATH}"),
            Vec::new(),
            outcome,
            marking,
        )
    };
    match outcome {
        Ok((signed_in, next)) => {
            let caller = signed_in.caller;
            if let Err(e) = begin_session(&session, caller.clone(), Some(signed_in.id_token)).await
            {
                tracing::error!(error = %e, "cannot start a web session");
                return problem_page(
                    &state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Signing in failed. Try again.",
                );
            }
            audit(caller.subject.clone(), "ok".into(), caller.max_marking).await;
            Redirect::to(safe_next(&next)).into_response()
        }
        Err(refused) => {
            tracing::warn!(reason = %refused, "single sign-on refused");
            let (status, message, subject) = match &refused {
                Refused::State => (
                    StatusCode::BAD_REQUEST,
                    "This sign-in has expired or was already used. Sign in again.",
                    "-".to_string(),
                ),
                Refused::Token(_) => (
                    StatusCode::BAD_REQUEST,
                    "Your department's sign-in could not be checked. Sign in again.",
                    "-".to_string(),
                ),
                Refused::Provider(_) => (
                    StatusCode::BAD_GATEWAY,
                    "Your department's sign-in did not sign you in. Try again, or ask your IT service desk.",
                    "-".to_string(),
                ),
                Refused::NoGrant(subject) => (
                    StatusCode::FORBIDDEN,
                    "Your account has not been given access to Muster. Ask your Muster administrator to add you to the right group.",
                    subject.clone(),
                ),
            };
            audit(subject, format!("denied: {refused}"), Marking::Official).await;
            problem_page(&state, status, message)
        }
    }
}

fn problem_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    page_response(
        status,
        layout(
            state,
            None,
            "Sign in",
            Nav::None,
            html! {
                h1 class="govuk-heading-l" { "You are not signed in" }
                p class="govuk-body" id="sign-in-problem" { (message) }
                p class="govuk-body" { a class="govuk-link" href="/sign-in" { "Sign in again" } }
            },
        ),
    )
}

/// After signing out of Muster: the offer to sign out at the provider too (a link, since a
/// form's answer may not send the browser to another site).
pub fn signed_out_page(state: &AppState, end_session_url: &str) -> Response {
    page_response(
        StatusCode::OK,
        layout(
            state,
            None,
            "Signed out",
            Nav::None,
            html! {
                h1 class="govuk-heading-l" { "You have signed out of Muster" }
                p class="govuk-body" { "You may still be signed in to your department account on this device." }
                a href=(end_session_url) id="sign-out-provider" role="button" draggable="false" class="govuk-button govuk-button--secondary" data-module="govuk-button" {
                    "Sign out of your department account too"
                }
                p class="govuk-body" { a class="govuk-link" href="/sign-in" { "Sign in again" } }
            },
        ),
    )
}
