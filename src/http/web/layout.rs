//! The page layout every page shares, and the GOV.UK error summary and field errors of forms.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::Error;
use crate::access::Caller;
use crate::http::AppState;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Search,
    Muster,
    None,
}

pub(crate) fn layout(
    state: &AppState,
    caller: Option<&Caller>,
    title: &str,
    nav: Nav,
    main: Markup,
) -> Markup {
    let signed_in = caller.is_some() && !state.config.demo;
    html! {
        (DOCTYPE)
        html lang="en" class="govuk-template govuk-template--rebranded" {
            head {
                meta charset="utf-8";
                title { (title) " – Muster" }
                meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
                meta name="theme-color" content="#1d70b8";
                link rel="icon" sizes="48x48" href="/assets/images/favicon.ico";
                link rel="icon" sizes="any" href="/assets/images/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/govuk-frontend.min.css";
                link rel="stylesheet" href="/assets/muster.css";
            }
            body class="govuk-template__body" {
                a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link" { "Skip to main content" }
                section aria-label="Service information" class="govuk-service-navigation" data-module="govuk-service-navigation" {
                    div class="govuk-width-container" {
                        div class="govuk-service-navigation__container" {
                            span class="govuk-service-navigation__service-name" {
                                a href="/" class="govuk-service-navigation__link" { "Muster" }
                            }
                            nav aria-label="Menu" class="govuk-service-navigation__wrapper" {
                                ul class="govuk-service-navigation__list" id="navigation" {
                                    (nav_item("/", "Find expertise", nav == Nav::Search))
                                    (nav_item("/muster", "Assemble a team", nav == Nav::Muster))
                                    @if signed_in {
                                        li class="govuk-service-navigation__item" {
                                            form method="post" action="/sign-out" {
                                                button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0 govuk-!-margin-top-1" { "Sign out" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div class="govuk-width-container" {
                    @if state.config.demo {
                        div class="govuk-notification-banner" role="region" aria-labelledby="demo-banner-title" data-module="govuk-notification-banner" {
                            div class="govuk-notification-banner__header" {
                                h2 class="govuk-notification-banner__title" id="demo-banner-title" { "Important" }
                            }
                            div class="govuk-notification-banner__content" {
                                p class="govuk-notification-banner__heading" {
                                    "Local demo mode: no access control is configured. Everyone sees OFFICIAL records only."
                                }
                            }
                        }
                    }
                    main class="govuk-main-wrapper" id="main-content" {
                        (main)
                    }
                }
                footer class="govuk-footer" {
                    div class="govuk-width-container" {
                        div class="govuk-footer__meta" {
                            div class="govuk-footer__meta-item govuk-footer__meta-item--grow" {
                                p class="govuk-body-s" {
                                    "Muster finds expertise, case studies and facilities across government science and engineering. "
                                    "This service uses the ESCO classification of the European Commission."
                                }
                                p class="govuk-body-s" {
                                    "For other systems: the "
                                    a class="govuk-footer__link" href="/openapi.json" { "JSON API description" }
                                    "."
                                }
                            }
                        }
                    }
                }
                script type="module" src="/assets/muster.js" {}
            }
        }
    }
}

pub(super) fn nav_item(href: &str, text: &str, active: bool) -> Markup {
    html! {
        @if active {
            li class="govuk-service-navigation__item govuk-service-navigation__item--active" {
                a class="govuk-service-navigation__link" href=(href) aria-current="true" {
                    strong class="govuk-service-navigation__active-fallback" { (text) }
                }
            }
        } @else {
            li class="govuk-service-navigation__item" {
                a class="govuk-service-navigation__link" href=(href) { (text) }
            }
        }
    }
}

/// A form error: the id of the field it belongs to and what to do.
pub(super) struct FieldError {
    pub(super) id: String,
    pub(super) message: String,
}

pub(super) fn error_summary(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="govuk-error-summary" data-module="govuk-error-summary" {
                div role="alert" {
                    h2 class="govuk-error-summary__title" { "There is a problem" }
                    div class="govuk-error-summary__body" {
                        ul class="govuk-list govuk-error-summary__list" {
                            @for e in errors {
                                li { a href=(format!("#{}", e.id)) { (e.message) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn error_for<'a>(errors: &'a [FieldError], id: &str) -> Option<&'a FieldError> {
    errors.iter().find(|e| e.id == id)
}

pub(super) fn error_message(errors: &[FieldError], id: &str) -> Markup {
    html! {
        @if let Some(e) = error_for(errors, id) {
            p id=(format!("{id}-error")) class="govuk-error-message" {
                span class="govuk-visually-hidden" { "Error: " } (e.message)
            }
        }
    }
}

pub(super) fn group_class(errors: &[FieldError], id: &str) -> &'static str {
    if error_for(errors, id).is_some() {
        "govuk-form-group govuk-form-group--error"
    } else {
        "govuk-form-group"
    }
}

pub(super) fn described_by(errors: &[FieldError], id: &str, hint: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    if error_for(errors, id).is_some() {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// Turns an API error into a form error on the field it names.
pub(super) fn field_error(error: &Error, fields: &[&str]) -> Option<FieldError> {
    let (field, reason) = match error {
        Error::InvalidField { field, reason } => (field.as_str(), reason.as_str()),
        Error::NotPermitted { field, reason } => (field.as_str(), reason.as_str()),
        Error::InvalidFields(faults) => {
            let first = faults.first()?;
            (first.field.as_str(), first.reason.as_str())
        }
        _ => return None,
    };
    let base = field.split(['[', '.']).next().unwrap_or(field).to_string();
    let id = if fields.contains(&base.as_str()) {
        base.clone()
    } else {
        fields.first().copied().unwrap_or("q").to_string()
    };
    let label = base.replace('_', " ");
    let mut label_chars = label.chars();
    let label = match label_chars.next() {
        Some(first) => first.to_uppercase().chain(label_chars).collect::<String>(),
        None => label,
    };
    Some(FieldError {
        id,
        message: format!("{label}: {}", plain_quotes(reason)),
    })
}

/// A message for people rather than programs: `value` becomes “value”.
pub(super) fn plain_quotes(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut open = true;
    for c in reason.chars() {
        match c {
            '`' => {
                out.push(if open { '“' } else { '”' });
                open = !open;
            }
            _ => out.push(c),
        }
    }
    out
}

/// 400 for a form shown back with errors, 200 otherwise.
pub(super) fn form_status(errors: &[FieldError]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

pub(crate) fn page_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

pub(super) fn internal_error(
    state: &AppState,
    caller: &Caller,
    error: &dyn std::fmt::Display,
) -> Response {
    tracing::error!(error = %error, "page failed");
    page_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        layout(
            state,
            Some(caller),
            "Sorry, there is a problem with the service",
            Nav::None,
            html! {
                h1 class="govuk-heading-l" { "Sorry, there is a problem with the service" }
                p class="govuk-body" { "Try again later. The problem has been logged." }
            },
        ),
    )
}

pub(super) fn not_found_page(state: &AppState, caller: &Caller) -> Response {
    page_response(
        StatusCode::NOT_FOUND,
        layout(
            state,
            Some(caller),
            "Page not found",
            Nav::None,
            html! {
                h1 class="govuk-heading-l" { "Page not found" }
                p class="govuk-body" { "If you typed the web address, check it is correct." }
                p class="govuk-body" { a class="govuk-link" href="/" { "Search for expertise" } }
            },
        ),
    )
}
