//! Signing in with an access key, the server-side session it starts, and signing out.

use axum::Extension;
use axum::extract::{Form, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::access::Caller;
use crate::http::AppState;
use crate::model::Marking;
use crate::search::query_pairs;

use super::layout::{
    FieldError, Nav, described_by, error_message, error_summary, group_class, layout, page_response,
};

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    pub(super) key: String,
    #[serde(default)]
    pub(super) next: String,
}

/// Only paths on this site, never another origin.
pub(crate) fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

pub(super) fn sign_in_markup(state: &AppState, next: &str, errors: &[FieldError]) -> Markup {
    if state.auth.provider().is_some() {
        return crate::http::single_sign_on::sign_in_markup(next);
    }
    html! {
        (error_summary(errors))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { "Sign in to Muster" }
                p class="govuk-body" { "Muster holds information about people with security clearances. Sign in with the access key you were given." }
                form method="post" action="/sign-in" novalidate {
                    input type="hidden" name="next" value=(safe_next(next));
                    div class=(group_class(errors, "key")) {
                        label class="govuk-label govuk-label--s" for="key" { "Access key" }
                        div id="key-hint" class="govuk-hint" { "It starts with mst_, or is a token from your department's sign-in system" }
                        (error_message(errors, "key"))
                        input class="govuk-input" id="key" name="key" type="password" autocomplete="current-password" spellcheck="false"
                            aria-describedby=(described_by(errors, "key", true).unwrap_or_default());
                    }
                    button type="submit" class="govuk-button" data-module="govuk-button" { "Sign in" }
                }
            }
        }
    }
}

pub(super) async fn sign_in_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Response {
    let next = query_pairs(raw.as_deref())
        .into_iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v)
        .unwrap_or_else(|| "/".into());
    page_response(
        StatusCode::OK,
        layout(
            &state,
            None,
            "Sign in",
            Nav::None,
            sign_in_markup(&state, &next, &[]),
        ),
    )
}

/// What a web session holds: who signed in, and when (for the absolute limit).
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub(super) struct SignedIn {
    pub(super) caller: Caller,
    /// Seconds since the epoch.
    pub(super) at: i64,
    /// The identity provider's ID token, when signed in through it: the hint for signing out
    /// there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) id_token: Option<String>,
}

/// Starts a web session for `caller` under a new session id, so an id fixed beforehand is
/// worthless.
pub(crate) async fn begin_session(
    session: &tower_sessions::Session,
    caller: Caller,
    id_token: Option<String>,
) -> std::result::Result<(), tower_sessions::session::Error> {
    let signed_in = SignedIn {
        caller,
        at: time::OffsetDateTime::now_utc().unix_timestamp(),
        id_token,
    };
    session.cycle_id().await?;
    session.insert(SIGNED_IN, signed_in).await
}

/// The session key under which [`SignedIn`] is kept.
pub(super) const SIGNED_IN: &str = "signed_in";

/// The caller a web session signed in, unless it is older than `max` (then it is ended).
pub async fn session_caller(
    session: &tower_sessions::Session,
    max: std::time::Duration,
) -> Option<Caller> {
    let signed_in: SignedIn = session.get(SIGNED_IN).await.ok()??;
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - signed_in.at;
    if age < 0 || age as u64 > max.as_secs() {
        let _ = session.flush().await;
        return None;
    }
    Some(signed_in.caller)
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    Extension(session): Extension<tower_sessions::Session>,
    Form(form): Form<SignInForm>,
) -> Response {
    let key = form.key.trim();
    let header = format!("Bearer {key}");
    match state.authenticate(Some(&header)).await {
        Ok(caller) if !key.is_empty() && state.auth.provider().is_none() => {
            if let Err(e) = begin_session(&session, caller.clone(), None).await {
                tracing::error!(error = %e, "cannot start a web session");
                return page_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    layout(
                        &state,
                        None,
                        "Sign in",
                        Nav::None,
                        html! { p class="govuk-body" { "Signing in failed. Try again." } },
                    ),
                );
            }
            state
                .audit_event(
                    caller.subject.clone(),
                    "POST /sign-in".into(),
                    Vec::new(),
                    "ok".into(),
                    caller.max_marking,
                )
                .await;
            Redirect::to(safe_next(&form.next)).into_response()
        }
        _ => {
            state
                .audit_event(
                    "-".into(),
                    "POST /sign-in".into(),
                    Vec::new(),
                    "denied: invalid token".into(),
                    Marking::Official,
                )
                .await;
            let errors = [FieldError {
                id: "key".into(),
                message: "Enter a valid access key".into(),
            }];
            page_response(
                StatusCode::UNAUTHORIZED,
                layout(
                    &state,
                    None,
                    "Error: Sign in",
                    Nav::None,
                    sign_in_markup(&state, &form.next, &errors),
                ),
            )
        }
    }
}

/// Ends the session here (the cookie alone is then worthless). Someone who signed in through
/// the identity provider is offered its sign-out too; anyone else returns to sign-in.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    Extension(session): Extension<tower_sessions::Session>,
) -> Response {
    let signed_in: Option<SignedIn> = session.get(SIGNED_IN).await.ok().flatten();
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "cannot end a web session");
    }
    let at_provider = signed_in.as_ref().and_then(|s| {
        let provider = state.auth.provider()?;
        provider.end_session_url(s.id_token.as_deref()?)
    });
    match at_provider {
        Some(url) => crate::http::single_sign_on::signed_out_page(&state, &url),
        None => Redirect::to("/sign-in").into_response(),
    }
}
