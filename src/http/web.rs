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

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, middleware};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::api::today;
use crate::Error;
use crate::access::Caller;
use crate::model::{Availability, Clearance, FacilityStatus, Kind, Level, Marking, date_format};
use crate::muster::{MusterAnswer, MusterBody, MusterRequest, Point, SkillBody};
use crate::reference::Reference;
use crate::search::{self, BroaderSkill, SearchResponse};
use crate::search::{parse_search, query_pairs};

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

// ---------------------------------------------------------------------------------------------
// Layout

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Search,
    Muster,
    None,
}

pub(super) fn layout(
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

fn nav_item(href: &str, text: &str, active: bool) -> Markup {
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
struct FieldError {
    id: String,
    message: String,
}

fn error_summary(errors: &[FieldError]) -> Markup {
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

fn error_for<'a>(errors: &'a [FieldError], id: &str) -> Option<&'a FieldError> {
    errors.iter().find(|e| e.id == id)
}

fn error_message(errors: &[FieldError], id: &str) -> Markup {
    html! {
        @if let Some(e) = error_for(errors, id) {
            p id=(format!("{id}-error")) class="govuk-error-message" {
                span class="govuk-visually-hidden" { "Error: " } (e.message)
            }
        }
    }
}

fn group_class(errors: &[FieldError], id: &str) -> &'static str {
    if error_for(errors, id).is_some() {
        "govuk-form-group govuk-form-group--error"
    } else {
        "govuk-form-group"
    }
}

fn described_by(errors: &[FieldError], id: &str, hint: bool) -> Option<String> {
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
fn field_error(error: &Error, fields: &[&str]) -> Option<FieldError> {
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
fn plain_quotes(reason: &str) -> String {
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
fn form_status(errors: &[FieldError]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

pub(super) fn page_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn internal_error(state: &AppState, caller: &Caller, error: &dyn std::fmt::Display) -> Response {
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

fn not_found_page(state: &AppState, caller: &Caller) -> Response {
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

// ---------------------------------------------------------------------------------------------
// Search

fn record_href(kind: Kind, id: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/{}/{encoded}", kind.page())
}

fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Choices for "Near": anywhere, London, the big cities and every establishment's town, as
/// (`lat,lon`, label); built once.
fn near_options() -> &'static [(String, String)] {
    static OPTIONS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = vec![(String::new(), "Anywhere".to_string())];
        options.extend(places());
        options
    })
}

fn places() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("London", 51.5074, -0.1278),
        ("Birmingham", 52.4862, -1.8904),
        ("Bristol", 51.4545, -2.5879),
        ("Manchester", 53.4808, -2.2426),
        ("Leeds", 53.8008, -1.5491),
        ("Cardiff", 51.4816, -3.1791),
        ("Edinburgh", 55.9533, -3.1883),
        ("Belfast", 54.5973, -5.9301),
    ]
    .iter()
    .map(|(name, lat, lon)| (format!("{lat},{lon}"), (*name).to_string()))
    .collect();
    for e in &Reference::get().establishments {
        let label = format!("{} ({})", e.town, e.name);
        let value = format!("{},{}", e.lat, e.lon);
        if !out.iter().any(|(v, _)| *v == value) {
            out.push((value, label));
        }
    }
    out
}

struct SearchView {
    kind: Kind,
    /// The caller may see (and filter on) people's clearances.
    vetting: bool,
    pairs: Vec<(String, String)>,
    page: usize,
    response: Option<SearchResponse>,
    errors: Vec<FieldError>,
}

impl SearchView {
    fn values(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn value(&self, key: &str) -> &str {
        self.values(key).first().copied().unwrap_or("")
    }

    /// The URL of this search with one value removed (a filter tag's link).
    fn without(&self, key: &str, value: &str) -> String {
        let kept: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, v)| !(v.is_empty() || k == key && v == value))
            .filter(|(k, _)| !(key == "skill" && k == "min_level"))
            .filter(|(k, _)| !(key == "near" && k == "within_km"))
            .cloned()
            .collect();
        self.url(&kept, 1)
    }

    fn url(&self, pairs: &[(String, String)], page: usize) -> String {
        let mut all = vec![("kind".to_string(), self.kind.collection().to_string())];
        all.extend(pairs.iter().filter(|(_, v)| !v.is_empty()).cloned());
        if page > 1 {
            all.push(("page".into(), page.to_string()));
        }
        format!("/?{}", encode(&all))
    }
}

async fn search_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut kind = Kind::Member;
    let mut page = 1usize;
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in query_pairs(raw.as_deref()) {
        match key.as_str() {
            "kind" => kind = Kind::from_path(&value).unwrap_or(Kind::Member),
            "page" => match value.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => page = n,
                _ => errors.push(FieldError {
                    id: "q".into(),
                    message: "Page must be a whole number from 1 to 1000".into(),
                }),
            },
            _ => pairs.push((key, value)),
        }
    }
    let searching = !pairs.is_empty();
    // an empty form field means "no filter" (the API itself rejects empty values)
    let mut request_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .cloned()
        .collect();
    request_pairs.push(("limit".into(), PAGE_SIZE.to_string()));
    request_pairs.push(("offset".into(), ((page - 1) * PAGE_SIZE).to_string()));
    let fields = [
        "q",
        "skill",
        "min_level",
        "department",
        "clearance",
        "availability",
        "region",
        "near",
        "within_km",
    ];
    let response = match parse_search(Some(kind), &request_pairs, &caller, today()) {
        Ok(request) if errors.is_empty() => {
            let index = state.index.clone();
            match tokio::task::spawn_blocking(move || search::search(&index, &request)).await {
                Ok(Ok(response)) => {
                    let ids = response.hits.iter().map(|h| h.id.clone()).collect();
                    state.audit_read(&caller, None, ids, "ok").await;
                    Some(response)
                }
                Ok(Err(e)) => match field_error(&e, &fields) {
                    Some(fe) => {
                        errors.push(fe);
                        None
                    }
                    None => return internal_error(&state, &caller, &e),
                },
                Err(e) => return internal_error(&state, &caller, &e),
            }
        }
        Ok(_) => None,
        Err(e) => match field_error(&e, &fields) {
            Some(fe) => {
                errors.push(fe);
                None
            }
            None => return internal_error(&state, &caller, &e),
        },
    };
    let view = SearchView {
        kind,
        vetting: caller.vetting,
        pairs,
        page,
        response,
        errors,
    };
    let title = match (&view.errors.is_empty(), searching) {
        (false, _) => "Error: Find expertise".to_string(),
        (true, true) => format!(
            "{} result{} – Find expertise",
            view.response.as_ref().map_or(0, |r| r.total),
            if view.response.as_ref().is_some_and(|r| r.total == 1) {
                ""
            } else {
                "s"
            }
        ),
        (true, false) => "Find expertise".to_string(),
    };
    page_response(
        form_status(&view.errors),
        layout(
            &state,
            Some(&caller),
            &title,
            Nav::Search,
            search_markup(&view),
        ),
    )
}

fn select(
    id: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &[FieldError],
) -> Markup {
    html! {
        div class=(group_class(errors, id)) {
            label class="govuk-label" for=(id) { (label) }
            (error_message(errors, id))
            select class="govuk-select" id=(id) name=(id) aria-describedby=[described_by(errors, id, false)] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

fn facet_counts<'a>(view: &'a SearchView, name: &str) -> Vec<(&'a str, u64)> {
    let mut counts: Vec<(&str, u64)> = view
        .response
        .as_ref()
        .and_then(|r| r.facets.get(name))
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), *v)).collect())
        .unwrap_or_default();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
}

fn count_of(view: &SearchView, facet: &str, value: &str) -> u64 {
    view.response
        .as_ref()
        .and_then(|r| r.facets.get(facet))
        .and_then(|m| m.get(value))
        .copied()
        .unwrap_or(0)
}

/// A facet as checkboxes with counts: the selected values, then the most common others.
/// A facet's values as checkboxes, chosen ones first, then by count: the first `most` in view and
/// the rest behind "Show all" (a `details` element, so it works without JavaScript).
fn checkbox_facet(view: &SearchView, name: &str, legend: &str, most: usize) -> Markup {
    let selected = view.values(name);
    let mut values: Vec<String> = selected.iter().map(|s| s.to_string()).collect();
    for (value, _) in facet_counts(view, name) {
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    let shown = values.len().min(most.max(selected.len()));
    let (first, rest) = values.split_at(shown);
    let item = |i: usize, value: &String| {
        html! {
            @let id = format!("{name}-{i}");
            div class="govuk-checkboxes__item" {
                input class="govuk-checkboxes__input" id=(id) name=(name) type="checkbox" value=(value)
                    checked[selected.contains(&value.as_str())];
                label class="govuk-label govuk-checkboxes__label" for=(id) {
                    (value) " "
                    span data-count-for=(format!("{name}:{value}")) { "(" (count_of(view, name, value)) ")" }
                }
            }
        }
    };
    html! {
        @if !values.is_empty() {
            div class="govuk-form-group" {
                fieldset class="govuk-fieldset" {
                    legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { (legend) }
                    div class="govuk-checkboxes govuk-checkboxes--small muster-facet" data-module="govuk-checkboxes" {
                        @for (i, value) in first.iter().enumerate() { (item(i, value)) }
                    }
                    @if !rest.is_empty() {
                        details class="govuk-details govuk-!-margin-top-2 govuk-!-margin-bottom-0" {
                            summary class="govuk-details__summary" {
                                span class="govuk-details__summary-text" {
                                    "Show all " (values.len()) " (" (rest.len()) " more)"
                                }
                            }
                            div class="govuk-details__text govuk-checkboxes govuk-checkboxes--small muster-facet" data-module="govuk-checkboxes" {
                                @for (i, value) in rest.iter().enumerate() { (item(shown + i, value)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn label_for(key: &str) -> &'static str {
    match key {
        "q" => "Words",
        "skill" => "Skill",
        "min_level" => "Minimum level",
        "department" => "Department",
        "clearance" => "Clearance",
        "availability" => "Available within",
        "region" => "Region",
        "near" => "Near",
        "within_km" => "Within km",
        "grade" => "Grade",
        "gse_category" => "GSE category",
        "registration" => "Registration",
        "status" => "Status",
        _ => "Filter",
    }
}

fn search_markup(view: &SearchView) -> Markup {
    let kind = view.kind;
    let errors = &view.errors;
    let is_member = kind == Kind::Member;
    let is_case_study = kind == Kind::CaseStudy;
    let clearance_options: Vec<(String, String)> = std::iter::once((String::new(), "Any".into()))
        .chain(Clearance::ALL.iter().skip(1).map(|c| {
            let count = count_of(view, "clearance", c.as_str());
            (
                c.as_str().to_string(),
                if view.response.is_some() && is_member {
                    format!("{c} or higher")
                } else {
                    format!("{c} ({count})")
                },
            )
        }))
        .collect();
    let availability_options: Vec<(String, String)> =
        std::iter::once((String::new(), "Any time".into()))
            .chain(Availability::ALL.iter().take(4).map(|a| {
                let text = match a {
                    Availability::Now => "Now".to_string(),
                    Availability::Within24h => "Within 24 hours".to_string(),
                    Availability::Week => "Within a week".to_string(),
                    _ => "Within a month".to_string(),
                };
                (a.as_str().to_string(), text)
            }))
            .collect();
    let level_options: Vec<(String, String)> = std::iter::once((String::new(), "Any".into()))
        .chain(
            Level::ALL
                .iter()
                .enumerate()
                .map(|(i, l)| ((i + 1).to_string(), format!("{} ({})", i + 1, l))),
        )
        .collect();
    let tags: Vec<(String, String, String)> = view
        .pairs
        .iter()
        .filter(|(k, v)| !v.is_empty() && k != "q" && k != "sort")
        .map(|(k, v)| {
            let shown = if k == "near" {
                near_options()
                    .iter()
                    .find(|(value, _)| value == v)
                    .map_or_else(|| v.clone(), |(_, label)| label.clone())
            } else {
                v.clone()
            };
            (label_for(k).to_string(), shown, view.without(k, v))
        })
        .collect();
    let heading = match kind {
        Kind::Member => "Find expertise",
        Kind::CaseStudy => "Find case studies",
        Kind::Facility => "Find facilities",
    };
    html! {
        (error_summary(errors))
        form method="get" action="/" data-live-filters novalidate {
            input type="hidden" name="kind" value=(kind.collection());
            div class="govuk-grid-row" {
                div class="govuk-grid-column-two-thirds" {
                    div class=(group_class(errors, "q")) {
                        h1 class="govuk-label-wrapper" {
                            label class="govuk-label govuk-label--l" for="q" { (heading) }
                        }
                        div id="q-hint" class="govuk-hint" {
                            @match kind {
                                Kind::Member => "A skill, a subject or a name, for example epidemiological modelling",
                                Kind::CaseStudy => "What the work was about, for example dispersion modelling",
                                Kind::Facility => "A capability or a place, for example CL3 or wind tunnel",
                            }
                        }
                        (error_message(errors, "q"))
                        div class="govuk-input__wrapper" {
                            input class="govuk-input" id="q" name="q" type="search" value=(view.value("q"))
                                autocomplete="off" list="q-suggestions" data-suggest
                                aria-describedby=[described_by(errors, "q", true)];
                            datalist id="q-suggestions" {}
                            button type="submit" class="govuk-button govuk-!-margin-left-2 govuk-!-margin-bottom-0" data-module="govuk-button" { "Search" }
                        }
                    }
                    nav aria-label="What to search" {
                        ul class="govuk-list govuk-!-margin-bottom-6 muster-kinds" {
                            @for (k, text) in [(Kind::Member, "People"), (Kind::CaseStudy, "Case studies"), (Kind::Facility, "Facilities")] {
                                li {
                                    @if k == kind {
                                        strong aria-current="page" { (text) }
                                    } @else {
                                        a class="govuk-link" href=(format!("/?kind={}&q={}", k.collection(), form_urlencoded::byte_serialize(view.value("q").as_bytes()).collect::<String>())) { (text) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            // results first, so a phone shows the answer before the filters; on wider screens
            // the results float right and the filters sit on the left
            div class="govuk-grid-row" {
                div class="govuk-grid-column-two-thirds muster-results" {
                    p id="results-status" class="govuk-visually-hidden" aria-live="polite" {}
                    (results_markup(view, &tags))
                }
                div class="govuk-grid-column-one-third" id="filters" {
                    h2 class="govuk-heading-m" { "Filters" }
                    div class=(group_class(errors, "skill")) {
                        label class="govuk-label govuk-label--s" for="skill" { "Skill" }
                        (error_message(errors, "skill"))
                        input class="govuk-input" id="skill" name="skill" type="text" value=(view.value("skill"))
                            autocomplete="off" list="skill-suggestions" data-suggest
                            aria-describedby=[described_by(errors, "skill", false)];
                        datalist id="skill-suggestions" {}
                    }
                    @if is_member {
                        (select("min_level", "Minimum level in that skill", &level_options, view.value("min_level"), errors))
                    }
                    (checkbox_facet(view, "department", "Department", 12))
                    @if !is_case_study && (view.vetting || !is_member) {
                        (select("clearance", if is_member { "Security clearance (in date)" } else { "Access with clearance" }, &clearance_options, view.value("clearance"), errors))
                    }
                    @if is_member {
                        (select("availability", "Available", &availability_options, view.value("availability"), errors))
                    }
                    @if kind == Kind::Facility {
                        (checkbox_facet(view, "status", "Status (closed facilities only when chosen)", 3))
                    }
                    @if !is_case_study {
                        (checkbox_facet(view, "region", "Region", 12))
                        (select("near", "Near", near_options(), view.value("near"), errors))
                        div class=(group_class(errors, "within_km")) {
                            label class="govuk-label" for="within_km" { "Within (km)" }
                            (error_message(errors, "within_km"))
                            input class="govuk-input govuk-input--width-5" id="within_km" name="within_km" type="text"
                                inputmode="numeric" value=(view.value("within_km"))
                                aria-describedby=[described_by(errors, "within_km", false)];
                        }
                    }
                    button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { "Apply filters" }
                }
            }
        }
    }
}

/// `pairs` with the search text replaced by `text`.
fn with_text(pairs: &[(String, String)], text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "q").cloned().collect();
    out.insert(0, ("q".into(), text.into()));
    out
}

/// What `count` records of `kind` are called.
fn noun(kind: Kind, count: u64) -> &'static str {
    match (kind, count == 1) {
        (Kind::Member, true) => "person",
        (Kind::Member, false) => "people",
        (Kind::CaseStudy, true) => "case study",
        (Kind::CaseStudy, false) => "case studies",
        (Kind::Facility, true) => "facility",
        (Kind::Facility, false) => "facilities",
    }
}

/// The request asking for the broader skill instead of the one that found nothing.
fn with_broader_skill(pairs: &[(String, String)], broader: &BroaderSkill) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, v)| {
            let asked = if broader.from_text {
                k == "q"
            } else {
                k == "skill" && *v == broader.instead_of
            };
            !asked
        })
        .cloned()
        .collect();
    out.push(("skill".into(), broader.skill_id.clone()));
    out
}

fn results_markup(view: &SearchView, tags: &[(String, String, String)]) -> Markup {
    let Some(response) = &view.response else {
        return html! { div id="results" {} };
    };
    let kind = view.kind;
    let summary = format!("{} {} found", response.total, noun(kind, response.total));
    let pages = (response.total as usize).div_ceil(PAGE_SIZE).min(1000);
    html! {
        div id="results" data-summary=(summary) {
            h2 class="govuk-heading-m" { (summary) }
            @if let Some(better) = &response.did_you_mean {
                p class="govuk-body" id="did-you-mean" {
                    "Did you mean "
                    a class="govuk-link" href=(view.url(&with_text(&view.pairs, better), 1)) { (better) }
                    "?"
                }
            }
            @if let Some(broader) = &response.broader_skill {
                p class="govuk-body" id="broader-skill" {
                    "Nothing found for “" (broader.instead_of) "”. The broader skill "
                    a class="govuk-link" href=(view.url(&with_broader_skill(&view.pairs, broader), 1)) { (broader.label) }
                    " finds " (broader.total) " " (noun(kind, broader.total)) "."
                }
            }
            @if !tags.is_empty() {
                h3 class="govuk-heading-s govuk-!-margin-bottom-2" { "Selected filters" }
                ul class="muster-filter-tags" {
                    @for (label, value, href) in tags {
                        li {
                            a class="muster-filter-tag govuk-body-s" href=(href) {
                                span class="govuk-visually-hidden" { "Remove filter " }
                                (label) ": " (value) " ✕"
                            }
                        }
                    }
                }
            }
            @for hit in &response.hits {
                div class="muster-result" {
                    h3 class="govuk-heading-s govuk-!-margin-bottom-1" {
                        a class="govuk-link" href=(record_href(kind, &hit.id)) { (hit.name) }
                    }
                    p class="govuk-body-s govuk-!-margin-bottom-1" {
                        (facts(kind, hit.department.as_deref(), &hit.summary, hit.distance_km))
                    }
                    @if !hit.matched_skills.is_empty() {
                        p class="govuk-body-s govuk-!-margin-bottom-1" {
                            span class="govuk-visually-hidden" { "Matched skills: " }
                            @for s in &hit.matched_skills {
                                strong class="govuk-tag govuk-tag--blue" { (s.name) " – level " (s.level) }
                            }
                        }
                    }
                    @for (field, fragment) in &hit.highlights {
                        @if field != "name" && field != "title" {
                            // fragments are HTML-escaped by the search module, with <mark> added
                            p class="govuk-body-s govuk-!-margin-bottom-1" { "… " (PreEscaped(fragment)) " …" }
                        }
                    }
                    @if !hit.evidence.is_empty() {
                        p class="govuk-body-s govuk-!-margin-bottom-0" { "Evidence: " }
                        ul class="govuk-list govuk-list--bullet govuk-body-s" {
                            @for e in &hit.evidence {
                                li { a class="govuk-link" href=(record_href(Kind::CaseStudy, &e.case_study)) { (e.title) } }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav class="govuk-pagination" aria-label="Pagination" {
                    @if view.page > 1 {
                        div class="govuk-pagination__prev" {
                            a class="govuk-link govuk-pagination__link" href=(view.url(&view.pairs, view.page - 1)) rel="prev" {
                                span class="govuk-pagination__link-title" { "Previous" span class="govuk-visually-hidden" { " page" } }
                            }
                        }
                    }
                    ul class="govuk-pagination__list" {
                        @for p in page_numbers(view.page, pages) {
                            @match p {
                                Some(p) => {
                                    li class=(if p == view.page { "govuk-pagination__item govuk-pagination__item--current" } else { "govuk-pagination__item" }) {
                                        a class="govuk-link govuk-pagination__link" href=(view.url(&view.pairs, p))
                                            aria-label=(format!("Page {p}")) aria-current=[(p == view.page).then_some("page")] { (p) }
                                    }
                                }
                                None => { li class="govuk-pagination__item govuk-pagination__item--ellipses" { "⋯" } }
                            }
                        }
                    }
                    @if view.page < pages {
                        div class="govuk-pagination__next" {
                            a class="govuk-link govuk-pagination__link" href=(view.url(&view.pairs, view.page + 1)) rel="next" {
                                span class="govuk-pagination__link-title" { "Next" span class="govuk-visually-hidden" { " page" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// First, last, and the pages around the current one; `None` is an ellipsis.
fn page_numbers(current: usize, pages: usize) -> Vec<Option<usize>> {
    let mut out = Vec::new();
    for p in 1..=pages {
        if p == 1 || p == pages || p.abs_diff(current) <= 1 {
            out.push(Some(p));
        } else if out.last().is_some_and(Option::is_some) {
            out.push(None);
        }
    }
    out
}

fn facts(kind: Kind, department: Option<&str>, summary: &Value, distance: Option<f64>) -> String {
    let get = |name: &str| summary.get(name).and_then(Value::as_str);
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = department {
        parts.push(d.to_string());
    }
    match kind {
        Kind::Member => {
            for name in ["role", "grade"] {
                if let Some(v) = get(name) {
                    parts.push(v.to_string());
                }
            }
            if get("clearance").is_some() {
                parts.extend(crate::muster::clearance_words(summary, search::today()));
            }
            if let Some(a) = get("availability").and_then(Availability::parse) {
                parts.push(a.in_words().to_string());
            }
        }
        Kind::CaseStudy => {
            if let Some(d) = get("date") {
                parts.push(d.to_string());
            }
        }
        Kind::Facility => {
            if let Some(e) = get("establishment") {
                parts.push(e.to_string());
            }
            if let Some(c) = get("access_clearance") {
                parts.push(format!("access needs {c}"));
            }
            if let Some(w) = get("status")
                .and_then(FacilityStatus::parse)
                .and_then(crate::muster::facility_warning)
            {
                parts.push(w);
            }
        }
    }
    if let Some(t) = get("town") {
        parts.push(t.to_string());
    }
    if let Some(d) = distance {
        parts.push(format!("{d:.0} km away"));
    }
    parts.join(" · ")
}

// ---------------------------------------------------------------------------------------------
// Record pages

fn text<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn summary_row(key: &str, value: Markup) -> Markup {
    html! {
        div class="govuk-summary-list__row" {
            dt class="govuk-summary-list__key" { (key) }
            dd class="govuk-summary-list__value" { (value) }
        }
    }
}

fn strings(record: &Value, name: &str) -> Vec<String> {
    record
        .get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

async fn record_page(state: AppState, caller: Caller, kind: Kind, id: String) -> Response {
    let record = match state.open_record(&caller, kind, id).await {
        Ok(r) => r,
        Err(Error::NotFound) => return not_found_page(&state, &caller),
        Err(e) => return internal_error(&state, &caller, &e),
    };
    let (title, body) = match kind {
        Kind::Member => person_markup(&record),
        Kind::CaseStudy => case_study_markup(&record),
        Kind::Facility => facility_markup(&record),
    };
    page_response(
        StatusCode::OK,
        layout(&state, Some(&caller), &title, Nav::Search, body),
    )
}

/// `/people/{id}`, `/case-studies/{id}` and `/facilities/{id}`: the kind comes from the route.
async fn record_page_at(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    matched: axum::extract::MatchedPath,
    Path(id): Path<String>,
) -> Response {
    let kind = matched
        .as_str()
        .split('/')
        .nth(1)
        .and_then(Kind::from_path)
        .unwrap_or(Kind::Member);
    record_page(state, caller, kind, id).await
}

/// "Town, Region" when the record has a town.
fn location_row(location: &Value) -> Markup {
    html! {
        @if let Some(t) = text(location, "town") {
            (summary_row("Location", html!{ (t) @if let Some(g) = text(location, "region") { ", " (g) } }))
        }
    }
}

fn back_link() -> Markup {
    html! { a href="/" class="govuk-back-link" { "Search" } }
}

fn person_markup(r: &Value) -> (String, Markup) {
    let name = text(r, "name").unwrap_or("Unnamed").to_string();
    let body = html! {
        (back_link())
        span class="govuk-caption-l" { (text(r, "department").unwrap_or("")) }
        h1 class="govuk-heading-l" { (name) }
        @if let Some(s) = text(r, "summary") { p class="govuk-body-l" { (s) } }
        dl class="govuk-summary-list" {
            @if let Some(v) = text(r, "role") { (summary_row("Role", html!{ (v) })) }
            @if let Some(v) = text(r, "grade") { (summary_row("Grade", html!{ (v) })) }
            @if let Some(v) = text(r, "gse_category") { (summary_row("GSE category", html!{ (v.replace('_', " ")) })) }
            @if let Some(words) = crate::muster::clearance_words(r, search::today()) {
                (summary_row("Security clearance", html!{
                    @if text(r, "clearance_status") == Some("lapsed") {
                        strong class="govuk-tag govuk-tag--red" { "Lapsed" } " "
                    }
                    (words)
                }))
            }
            (summary_row("Availability", html!{
                (text(r, "availability").and_then(Availability::parse).unwrap_or(Availability::Unavailable).in_words())
            }))
            (location_row(&r["location"]))
            @if !strings(r, "registrations").is_empty() {
                (summary_row("Registrations", html!{ (strings(r, "registrations").join(", ")) }))
            }
            @if let Some(e) = text(r, "email") {
                (summary_row("Email", html!{ a class="govuk-link" href=(format!("mailto:{e}")) { (e) } }))
            }
            @if let Some(m) = text(r, "marking") { (summary_row("Marking", html!{ (m) })) }
            @if let Some(updated) = text(r, "updated").and_then(|d| date_format::parse(d, "updated").ok()) {
                (summary_row("Last updated", html!{
                    @if (search::today() - updated).whole_days() > STALE_AFTER_DAYS {
                        strong class="govuk-tag govuk-tag--yellow" { "Not updated for over a year" } " "
                        (date_format::words(updated)) ": check with them before relying on it"
                    } @else {
                        (date_format::words(updated))
                    }
                }))
            }
        }
        h2 class="govuk-heading-m" { "Skills" }
        @let skills = r.get("skills").and_then(Value::as_array).cloned().unwrap_or_default();
        @if skills.is_empty() {
            p class="govuk-body" { "No skills recorded." }
        } @else {
            table class="govuk-table" {
                caption class="govuk-table__caption govuk-visually-hidden" { "Skills and proficiency" }
                thead class="govuk-table__head" {
                    tr class="govuk-table__row" {
                        th scope="col" class="govuk-table__header" { "Skill" }
                        th scope="col" class="govuk-table__header" { "Level" }
                        th scope="col" class="govuk-table__header" { "Assessed" }
                    }
                }
                tbody class="govuk-table__body" {
                    @for s in &skills {
                        tr class="govuk-table__row" {
                            td class="govuk-table__cell" { (text(s, "name").unwrap_or("")) }
                            td class="govuk-table__cell" { (level_text(&s["level"])) }
                            td class="govuk-table__cell" { (long_date(text(s, "assessed")).unwrap_or_else(|| "–".into())) }
                        }
                    }
                }
            }
        }
        h2 class="govuk-heading-m" { "Case studies" }
        @let studies = r.get("case_studies").and_then(Value::as_array).cloned().unwrap_or_default();
        @if studies.is_empty() {
            p class="govuk-body" { "No case studies recorded." }
        } @else {
            ul class="govuk-list govuk-list--bullet" {
                @for cs in &studies {
                    @let id = text(cs, "id").or(cs.as_str()).unwrap_or("");
                    li { a class="govuk-link" href=(record_href(Kind::CaseStudy, id)) { (text(cs, "title").unwrap_or(id)) } }
                }
            }
        }
    };
    (name, body)
}

/// People another record refers to, with how to reach them (`author_details`,
/// `contact_details`).
fn people_list(people: &Value, none: &str) -> Markup {
    let people = people.as_array().cloned().unwrap_or_default();
    html! {
        @if people.is_empty() { (none) }
        ul class="govuk-list" {
            @for p in &people {
                li {
                    a class="govuk-link" href=(record_href(Kind::Member, text(p, "id").unwrap_or(""))) {
                        (text(p, "name").unwrap_or(""))
                    }
                    @if let Some(role) = text(p, "role") { ", " (role) }
                    @if let Some(e) = text(p, "email") {
                        br; a class="govuk-link" href=(format!("mailto:{e}")) { (e) }
                    }
                    @if let Some(t) = text(p, "phone") {
                        br; a class="govuk-link" href=(format!("tel:{}", t.replace(' ', ""))) { (t) }
                    }
                }
            }
        }
    }
}

/// A profile not updated for this long (a year) is flagged as possibly out of date.
const STALE_AFTER_DAYS: i64 = 365;

/// A `YYYY-MM-DD` date as GOV.UK writes dates ("26 September 2020"); other text as it is.
fn long_date(date: Option<&str>) -> Option<String> {
    let date = date?;
    Some(
        date_format::parse(date, "date")
            .map(date_format::words)
            .unwrap_or_else(|_| date.to_string()),
    )
}

fn level_text(level: &Value) -> String {
    let parsed = match level {
        Value::Number(n) => n.as_u64().and_then(Level::from_number),
        Value::String(s) => Level::parse(s),
        _ => None,
    };
    parsed
        .map(|l| format!("{} ({})", l.rank() + 1, l))
        .unwrap_or_default()
}

fn case_study_markup(r: &Value) -> (String, Markup) {
    let title = text(r, "title").unwrap_or("Untitled").to_string();
    let body = html! {
        (back_link())
        span class="govuk-caption-l" { (strings(r, "departments").join(", ")) }
        h1 class="govuk-heading-l" { (title) }
        @if let Some(s) = text(r, "summary") { p class="govuk-body-l" { (s) } }
        dl class="govuk-summary-list" {
            @if let Some(d) = long_date(text(r, "date")) { (summary_row("Date", html!{ (d) })) }
            @if !strings(r, "skills").is_empty() { (summary_row("Skills", html!{ (strings(r, "skills").join(", ")) })) }
            (summary_row("Authors", people_list(&r["author_details"], "No authors you can see")))
            @if !strings(r, "facilities").is_empty() {
                (summary_row("Facilities", html!{
                    @for (i, f) in strings(r, "facilities").iter().enumerate() {
                        @if i > 0 { ", " }
                        a class="govuk-link" href=(record_href(Kind::Facility, f)) { (f) }
                    }
                }))
            }
            @if let Some(m) = text(r, "marking") { (summary_row("Marking", html!{ (m) })) }
        }
        @if let Some(b) = text(r, "body") {
            h2 class="govuk-heading-m" { "What was done" }
            @for para in b.split("\n\n") { p class="govuk-body" { (para) } }
        }
    };
    (title, body)
}

fn facility_markup(r: &Value) -> (String, Markup) {
    let name = text(r, "name").unwrap_or("Unnamed").to_string();
    let body = html! {
        (back_link())
        span class="govuk-caption-l" { (text(r, "establishment").unwrap_or("")) }
        h1 class="govuk-heading-l" { (name) }
        @if let Some(s) = text(r, "description") { p class="govuk-body-l" { (s) } }
        dl class="govuk-summary-list" {
            @if let Some(v) = text(r, "department") { (summary_row("Department", html!{ (v) })) }
            (summary_row("Capabilities", html!{ (strings(r, "capabilities").join(", ")) }))
            @if let Some(v) = text(r, "access_clearance") { (summary_row("Access clearance", html!{ (v) })) }
            @if let Some(status) = text(r, "status").and_then(FacilityStatus::parse) {
                (summary_row("Status", html!{
                    @match crate::muster::facility_warning(status) {
                        Some(w) => { strong class="govuk-tag govuk-tag--red" { (status) } " " (w) }
                        None => { (status) }
                    }
                }))
            }
            (location_row(&r["location"]))
            (summary_row("Contacts", people_list(&r["contact_details"], "No contacts you can see")))
            @if let Some(m) = text(r, "marking") { (summary_row("Marking", html!{ (m) })) }
        }
    };
    (name, body)
}

// ---------------------------------------------------------------------------------------------
// Muster

/// The muster form's fields, as submitted (all text, so a bad value can be shown back).
#[derive(Debug, Default, Clone)]
struct MusterForm {
    need: String,
    skills: String,
    clearance: String,
    availability: String,
    near: String,
    within_km: String,
    team_size: String,
    max_per_department: String,
    facility_capabilities: String,
    facility_match: String,
    exclude: String,
}

impl MusterForm {
    fn from_query(raw: Option<&str>) -> (MusterForm, bool) {
        let mut form = MusterForm::default();
        let mut submitted = false;
        for (key, value) in query_pairs(raw) {
            submitted = true;
            let slot = match key.as_str() {
                "need" => &mut form.need,
                "skills" => &mut form.skills,
                "clearance" => &mut form.clearance,
                "availability" => &mut form.availability,
                "near" => &mut form.near,
                "within_km" => &mut form.within_km,
                "team_size" => &mut form.team_size,
                "max_per_department" => &mut form.max_per_department,
                "facility_capabilities" => &mut form.facility_capabilities,
                "facility_match" => &mut form.facility_match,
                "exclude" => &mut form.exclude,
                _ => continue,
            };
            *slot = value;
        }
        (form, submitted)
    }

    /// The same request with `person` left out as well.
    fn leaving_out(&self, person: &str) -> MusterForm {
        let mut form = self.clone();
        form.exclude = match form.exclude.trim() {
            "" => person.to_string(),
            before => format!("{before}, {person}"),
        };
        form
    }

    fn query(&self) -> String {
        let pairs: Vec<(String, String)> = [
            ("need", &self.need),
            ("skills", &self.skills),
            ("clearance", &self.clearance),
            ("availability", &self.availability),
            ("near", &self.near),
            ("within_km", &self.within_km),
            ("team_size", &self.team_size),
            ("max_per_department", &self.max_per_department),
            ("facility_capabilities", &self.facility_capabilities),
            ("facility_match", &self.facility_match),
            ("exclude", &self.exclude),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        encode(&pairs)
    }

    /// The API body; errors name the form field.
    fn body(&self) -> std::result::Result<MusterBody, FieldError> {
        let list = |text: &str| -> Vec<String> {
            text.split([',', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let number =
            |text: &str, id: &str, what: &str| -> std::result::Result<Option<u64>, FieldError> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(None);
                }
                text.parse::<u64>().map(Some).map_err(|_| FieldError {
                    id: id.into(),
                    message: format!("{what} must be a whole number"),
                })
            };
        let mut skills = Vec::new();
        for line in self.skills.lines().map(str::trim).filter(|l| !l.is_empty()) {
            // "Skill, 3" or "Skill: expert" sets the minimum level
            let (skill, level) = match line.rsplit_once([',', ':']) {
                Some((s, l)) if Level::parse(l).is_some() => (s.trim(), Some(l.trim())),
                _ => (line, None),
            };
            skills.push(SkillBody {
                skill: skill.to_string(),
                min_level: level.map(|l| Value::String(l.to_string())),
            });
        }
        let near = if self.near.trim().is_empty() {
            None
        } else {
            let parsed = self.near.split_once(',').and_then(|(a, b)| {
                Some(Point {
                    lat: a.trim().parse().ok()?,
                    lon: b.trim().parse().ok()?,
                })
            });
            Some(parsed.ok_or_else(|| FieldError {
                id: "near".into(),
                message: "Choose a place from the list".into(),
            })?)
        };
        let within_km = if self.within_km.trim().is_empty() {
            None
        } else {
            Some(
                self.within_km
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| FieldError {
                        id: "within_km".into(),
                        message: "Distance must be a number of kilometres, like 150".into(),
                    })?,
            )
        };
        let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(MusterBody {
            need: optional(&self.need),
            skills,
            clearance: optional(&self.clearance),
            availability: optional(&self.availability),
            near,
            within_km,
            team_size: number(&self.team_size, "team_size", "Team size")?,
            max_per_department: number(
                &self.max_per_department,
                "max_per_department",
                "People per department",
            )?,
            departments: Vec::new(),
            facility_capabilities: list(&self.facility_capabilities),
            facility_match: optional(&self.facility_match),
            exclude: list(&self.exclude),
        })
    }
}

const MUSTER_FIELDS: &[&str] = &[
    "need",
    "skills",
    "clearance",
    "availability",
    "near",
    "within_km",
    "team_size",
    "max_per_department",
    "facility_capabilities",
    "facility_match",
    "exclude",
];

async fn run_muster(
    state: &AppState,
    caller: &Caller,
    form: &MusterForm,
) -> std::result::Result<MusterAnswer, std::result::Result<FieldError, Error>> {
    let mut body = form.body().map_err(Ok)?;
    let index = state.index.clone();
    let (marking, vetting) = (caller.max_marking, caller.vetting);
    let outcome = tokio::task::spawn_blocking(move || {
        body.exclude = crate::muster::people_to_leave_out(&index, &body.exclude, marking, today())?;
        let request =
            MusterRequest::from_body(body, &index, marking, today())?.permitted(vetting)?;
        crate::muster::muster(&index, &request)
    })
    .await
    .map_err(|e| Err(Error::Io(std::io::Error::other(e))))?;
    if let Ok(answer) = &outcome {
        state.audit_read(caller, None, answer.ids(), "ok").await;
    }
    outcome.map_err(|e| match field_error(&e, MUSTER_FIELDS) {
        Some(fe) => Ok(fe),
        None => Err(e),
    })
}

async fn muster_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (form, submitted) = MusterForm::from_query(raw.as_deref());
    let mut errors = Vec::new();
    let mut answer = None;
    if submitted {
        match run_muster(&state, &caller, &form).await {
            Ok(a) => answer = Some(a),
            Err(Ok(fe)) => errors.push(fe),
            Err(Err(e)) => return internal_error(&state, &caller, &e),
        }
    }
    let title = if !errors.is_empty() {
        "Error: Assemble a team"
    } else if answer.is_some() {
        "Your team – Assemble a team"
    } else {
        "Assemble a team"
    };
    page_response(
        form_status(&errors),
        layout(
            &state,
            Some(&caller),
            title,
            Nav::Muster,
            muster_markup(&form, &errors, answer.as_ref(), caller.vetting),
        ),
    )
}

async fn muster_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (form, _) = MusterForm::from_query(raw.as_deref());
    match run_muster(&state, &caller, &form).await {
        Ok(answer) => match crate::muster::to_csv(&answer, today()) {
            Ok(sheet) => (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"muster-team.csv\"",
                    ),
                ],
                sheet,
            )
                .into_response(),
            Err(e) => internal_error(&state, &caller, &e),
        },
        Err(Ok(_)) => Redirect::to(&format!("/muster?{}", form.query())).into_response(),
        Err(Err(e)) => internal_error(&state, &caller, &e),
    }
}

fn textarea(
    id: &str,
    label: &str,
    hint: &str,
    value: &str,
    rows: u32,
    errors: &[FieldError],
) -> Markup {
    html! {
        div class=(group_class(errors, id)) {
            label class="govuk-label govuk-label--s" for=(id) { (label) }
            div id=(format!("{id}-hint")) class="govuk-hint" { (hint) }
            (error_message(errors, id))
            textarea class="govuk-textarea" id=(id) name=(id) rows=(rows)
                aria-describedby=[described_by(errors, id, true)] { (value) }
        }
    }
}

fn text_input(
    id: &str,
    label: &str,
    hint: &str,
    value: &str,
    width: &str,
    errors: &[FieldError],
) -> Markup {
    html! {
        div class=(group_class(errors, id)) {
            label class="govuk-label govuk-label--s" for=(id) { (label) }
            @if !hint.is_empty() { div id=(format!("{id}-hint")) class="govuk-hint" { (hint) } }
            (error_message(errors, id))
            input class=(format!("govuk-input {width}")) id=(id) name=(id) type="text" value=(value)
                aria-describedby=[described_by(errors, id, !hint.is_empty())];
        }
    }
}

/// "Leave out these people": names (or `Name (id)`, as the page writes them), separated with
/// commas, with the people of the answer offered as the user types (a `datalist`, so it needs
/// no script).
fn leave_out_input(
    form: &MusterForm,
    answer: Option<&MusterAnswer>,
    errors: &[FieldError],
) -> Markup {
    let id = "exclude";
    let hint = "Names, separated with commas: start typing to choose someone from the team below. Filled in when you choose \"Leave out and ask again\"";
    let people: Vec<String> = answer
        .map(|a| {
            let mut named: Vec<String> =
                a.team
                    .iter()
                    .map(|m| leave_out_entry(&m.name, &m.id))
                    .chain(a.alternates.iter().flat_map(|alt| {
                        alt.members.iter().map(|m| leave_out_entry(&m.name, &m.id))
                    }))
                    .collect();
            named.dedup();
            named
        })
        .unwrap_or_default();
    html! {
        div class=(group_class(errors, id)) {
            label class="govuk-label govuk-label--s" for=(id) { "Leave out these people" }
            div id=(format!("{id}-hint")) class="govuk-hint" { (hint) }
            (error_message(errors, id))
            input class="govuk-input govuk-input--width-20" id=(id) name=(id) type="text" value=(form.exclude)
                list=[(!people.is_empty()).then_some("people-in-answer")]
                autocomplete="off"
                aria-describedby=[described_by(errors, id, true)];
            @if !people.is_empty() {
                datalist id="people-in-answer" {
                    @for person in &people { option value=(person) {} }
                }
            }
        }
    }
}

/// How the page writes a person to leave out: their name, with the id that makes it exact.
fn leave_out_entry(name: &str, id: &str) -> String {
    format!("{name} ({id})")
}

fn muster_markup(
    form: &MusterForm,
    errors: &[FieldError],
    answer: Option<&MusterAnswer>,
    vetting: bool,
) -> Markup {
    let clearance_options: Vec<(String, String)> =
        std::iter::once((String::new(), "Any".to_string()))
            .chain(
                Clearance::ALL
                    .iter()
                    .skip(1)
                    .map(|c| (c.as_str().to_string(), format!("{c} or higher, in date"))),
            )
            .collect();
    let availability_options: Vec<(String, String)> = [
        ("", "Within a month (anyone not unavailable)"),
        ("now", "Now"),
        ("24h", "Within 24 hours"),
        ("week", "Within a week"),
    ]
    .iter()
    .map(|(v, t)| (v.to_string(), t.to_string()))
    .collect();
    html! {
        (error_summary(errors))
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                h1 class="govuk-heading-l" { "Assemble a team" }
                p class="govuk-body" {
                    "Describe the need and the skills it takes. Muster chooses cleared, available people who cover every skill, "
                    "from more than one department where it can, and says plainly what it cannot cover."
                }
            }
        }
        // the answer first, then the request to change it: no scrolling past the form to the team
        @if let Some(answer) = answer {
            (muster_answer_markup(form, answer))
        }
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                @if answer.is_some() {
                    h2 class="govuk-heading-m" { "Change the request" }
                }
                form method="get" action="/muster" novalidate {
                    (textarea("need", "What is the emergency?", "Skills are worked out from this if you do not list them below", &form.need, 3, errors))
                    (textarea("skills", "Skills needed", "One a line. Add a minimum level after a comma, for example: epidemiological modelling, 3", &form.skills, 4, errors))
                    @if vetting {
                        (select("clearance", "Security clearance", &clearance_options, &form.clearance, errors))
                    }
                    (select("availability", "Available", &availability_options, &form.availability, errors))
                    (select("near", "Near", near_options(), &form.near, errors))
                    (text_input("within_km", "Within (km)", "", &form.within_km, "govuk-input--width-5", errors))
                    (text_input("team_size", "Team size", "Default 5", &form.team_size, "govuk-input--width-3", errors))
                    (text_input("max_per_department", "Most people from one department", "Leave blank for no limit", &form.max_per_department, "govuk-input--width-3", errors))
                    (text_input("facility_capabilities", "Facility capabilities needed", "Separate with commas, for example CL4, whole genome sequencing", &form.facility_capabilities, "govuk-input--width-20", errors))
                    (select("facility_match", "Facilities", &[(String::new(), "One facility with all of them".to_string()), ("each".to_string(), "A facility for each".to_string())], &form.facility_match, errors))
                    (leave_out_input(form, answer, errors))
                    button type="submit" class="govuk-button" data-module="govuk-button" { "Assemble team" }
                }
            }
        }
    }
}

/// People one relaxed constraint away, each saying which and how they fall short.
fn alternatives_list(alternatives: &[crate::muster::Alternative]) -> Markup {
    html! {
        @if !alternatives.is_empty() {
            ul class="govuk-list govuk-list--bullet" {
                @for a in alternatives {
                    li {
                        "If you relax " strong { (a.relax.replace('_', " ")) } ": "
                        a class="govuk-link" href=(record_href(Kind::Member, &a.member.id)) { (a.member.name) }
                        " (" (a.member.department.as_deref().unwrap_or("")) "), " (a.detail)
                    }
                }
            }
        }
    }
}

fn muster_answer_markup(form: &MusterForm, answer: &MusterAnswer) -> Markup {
    html! {
        div id="muster-results" {
            h2 class="govuk-heading-l" { "Your team" }
            @if !answer.inferred_skills.is_empty() || !answer.inferred_capabilities.is_empty() {
                div class="govuk-inset-text" {
                    @if !answer.inferred_skills.is_empty() {
                        p class="govuk-body" {
                            "Skills worked out from the need: "
                            @for (i, s) in answer.skills.iter().filter(|s| s.inferred).enumerate() {
                                @if i > 0 { ", " }
                                (s.skill)
                                @if !s.by_text { " (level " (s.min_level) " or above)" }
                            }
                            "."
                        }
                    }
                    @if !answer.inferred_capabilities.is_empty() {
                        p class="govuk-body" {
                            "Facility capabilities worked out from the need: "
                            (answer.inferred_capabilities.join(", ")) "."
                        }
                    }
                }
            }
            @for w in &answer.warnings {
                div class="govuk-warning-text" {
                    span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                    strong class="govuk-warning-text__text" {
                        span class="govuk-visually-hidden" { "Warning" }
                        (w)
                    }
                }
            }
            p class="govuk-body" {
                a class="govuk-link" href=(format!("/muster.csv?{}", form.query())) download="muster-team.csv" {
                    "Download the contact sheet (CSV)"
                }
            }
            @if answer.team.is_empty() {
                p class="govuk-body" { "Nobody you can see meets every constraint." }
            } @else {
                table class="govuk-table muster-team" {
                    caption class="govuk-table__caption govuk-table__caption--m" { (answer.team.len()) " people" }
                    thead class="govuk-table__head" {
                        tr class="govuk-table__row" {
                            th scope="col" class="govuk-table__header" { "Name" }
                            th scope="col" class="govuk-table__header" { "Covers" }
                            th scope="col" class="govuk-table__header" { "Why" }
                        }
                    }
                    tbody class="govuk-table__body" {
                        @for m in &answer.team {
                            tr class="govuk-table__row" {
                                td class="govuk-table__cell" {
                                    a class="govuk-link" href=(record_href(Kind::Member, &m.id)) { (m.name) }
                                    br;
                                    span class="govuk-body-s" { (m.department.as_deref().unwrap_or("")) }
                                    @if let Some(e) = m.contact.get("email").and_then(Value::as_str) {
                                        br;
                                        a class="govuk-link govuk-body-s" href=(format!("mailto:{e}")) { (e) }
                                    }
                                    @if let Some(t) = m.contact.get("phone").and_then(Value::as_str) {
                                        br;
                                        a class="govuk-link govuk-body-s" href=(format!("tel:{}", t.replace(' ', ""))) { (t) }
                                    }
                                    br;
                                    a class="govuk-link govuk-body-s" href=(format!("/muster?{}", form.leaving_out(&leave_out_entry(&m.name, &m.id)).query())) {
                                        "Leave out and ask again" span class="govuk-visually-hidden" { ": " (m.name) }
                                    }
                                }
                                td class="govuk-table__cell" {
                                    @for c in &m.covers {
                                        strong class="govuk-tag govuk-tag--green" { (c.skill) " – level " (c.level) }
                                        " "
                                    }
                                }
                                td class="govuk-table__cell govuk-body-s" { (m.why) }
                            }
                        }
                    }
                }
            }
            @if !answer.uncovered.is_empty() {
                h2 class="govuk-heading-m" { "Skills not covered" }
                @for u in &answer.uncovered {
                    div class="govuk-warning-text" {
                        span class="govuk-warning-text__icon" aria-hidden="true" { "!" }
                        strong class="govuk-warning-text__text" {
                            span class="govuk-visually-hidden" { "Warning" }
                            (u.skill) " (level " (u.min_level) " or above): " (u.reason) "."
                        }
                    }
                    (alternatives_list(&u.alternatives))
                }
            }
            @if answer.alternates.iter().any(|a| !a.members.is_empty()) {
                h2 class="govuk-heading-m" { "Backups" }
                dl class="govuk-summary-list" {
                    @for a in answer.alternates.iter().filter(|a| !a.members.is_empty()) {
                        (summary_row(&a.skill, html! {
                            @for (i, c) in a.members.iter().enumerate() {
                                @if i > 0 { ", " }
                                a class="govuk-link" href=(record_href(Kind::Member, &c.id)) { (c.name) }
                                " (level " (c.level) ")"
                            }
                        }))
                    }
                }
            }
            @if !answer.nearly_eligible.is_empty() {
                h2 class="govuk-heading-m" { "People one step away" }
                @for n in &answer.nearly_eligible {
                    p class="govuk-body" { (n.skill) " at level " (n.level) " or above:" }
                    (alternatives_list(&n.alternatives))
                }
            }
            @if !answer.facilities.is_empty() || !answer.facility_alternatives.is_empty() {
                h2 class="govuk-heading-m" { "Facilities" }
                ul class="govuk-list govuk-list--bullet" {
                    @for f in &answer.facilities {
                        li {
                            a class="govuk-link" href=(record_href(Kind::Facility, &f.id)) { (f.name) }
                            " – " (f.covers.join(", ")) " – "
                            (facts(Kind::Facility, f.department.as_deref(), &f.details, f.distance_km))
                        }
                    }
                    @for f in &answer.facility_alternatives {
                        li {
                            "If you relax " (f.relax.replace('_', " "))
                            @if let Some(c) = &f.capability { " for " (c) }
                            ": "
                            a class="govuk-link" href=(record_href(Kind::Facility, &f.facility.id)) { (f.facility.name) }
                            " – " (facts(Kind::Facility, f.facility.department.as_deref(), &f.facility.details, f.facility.distance_km))
                        }
                    }
                }
            }
            @if !answer.closed_facilities.is_empty() {
                h2 class="govuk-heading-m" { "Closed facilities" }
                p class="govuk-body" { "These have the capabilities but are closed, so they are not offered." }
                ul class="govuk-list govuk-list--bullet" {
                    @for f in &answer.closed_facilities {
                        li {
                            a class="govuk-link" href=(record_href(Kind::Facility, &f.id)) { (f.name) }
                            " – " (f.covers.join(", "))
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sign in

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    next: String,
}

/// Only paths on this site, never another origin.
pub(super) fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

fn sign_in_markup(state: &AppState, next: &str, errors: &[FieldError]) -> Markup {
    if state.auth.provider().is_some() {
        return super::single_sign_on::sign_in_markup(next);
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

async fn sign_in_page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
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
struct SignedIn {
    caller: Caller,
    /// Seconds since the epoch.
    at: i64,
    /// The identity provider's ID token, when signed in through it: the hint for signing out
    /// there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// Starts a web session for `caller` under a new session id, so an id fixed beforehand is
/// worthless.
pub(super) async fn begin_session(
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
const SIGNED_IN: &str = "signed_in";

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

async fn sign_in(
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
async fn sign_out(
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
        Some(url) => super::single_sign_on::signed_out_page(&state, &url),
        None => Redirect::to("/sign-in").into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Assets

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
    "govuk-frontend.min.css" => "assets/govuk/govuk-frontend.min.css", "text/css; charset=utf-8";
    "govuk-frontend.min.js" => "assets/govuk/govuk-frontend.min.js", "text/javascript; charset=utf-8";
    "muster.css" => "assets/muster.css", "text/css; charset=utf-8";
    "muster.js" => "assets/muster.js", "text/javascript; charset=utf-8";
    "fonts/bold-affa96571d-v2.woff" => "assets/govuk/fonts/bold-affa96571d-v2.woff", "font/woff";
    "fonts/bold-b542beb274-v2.woff2" => "assets/govuk/fonts/bold-b542beb274-v2.woff2", "font/woff2";
    "fonts/light-94a07e06a1-v2.woff2" => "assets/govuk/fonts/light-94a07e06a1-v2.woff2", "font/woff2";
    "fonts/light-f591b13f7d-v2.woff" => "assets/govuk/fonts/light-f591b13f7d-v2.woff", "font/woff";
    "images/favicon.ico" => "assets/govuk/images/favicon.ico", "image/x-icon";
    "images/favicon.svg" => "assets/govuk/images/favicon.svg", "image/svg+xml";
    "images/govuk-crest.svg" => "assets/govuk/images/govuk-crest.svg", "image/svg+xml";
    "images/govuk-icon-180.png" => "assets/govuk/images/govuk-icon-180.png", "image/png";
    "images/govuk-icon-192.png" => "assets/govuk/images/govuk-icon-192.png", "image/png";
    "images/govuk-icon-512.png" => "assets/govuk/images/govuk-icon-512.png", "image/png";
    "images/govuk-icon-mask.svg" => "assets/govuk/images/govuk-icon-mask.svg", "image/svg+xml";
}

async fn asset(Path(path): Path<String>) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::tests::{respond, secured, secured_with, send};
    use crate::http::{HttpConfig, router};
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Signs in with `key` through the form and answers the session cookie it set.
    async fn sign_in_cookie(app: &Router, key: &str) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("key", key).append_pair("next", "/");
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/sign-in")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form.finish()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    async fn with_cookie(
        app: &Router,
        method: Method,
        uri: &str,
        key: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let session = sign_in_cookie(app, key).await;
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, format!("theme=dark; {session}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                "{\"id\":\"m-new\",\"name\":\"New\",\"department\":\"Dstl\"}",
            ))
            .unwrap();
        respond(app, request).await
    }

    #[tokio::test]
    async fn pages_need_signing_in_and_the_cookie_only_reads() {
        let s = secured(None);
        let (status, headers, _) = send(&s.app, Method::GET, "/?q=bayesian", None, "").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            headers[header::LOCATION],
            "/sign-in?next=%2F%3Fq%3Dbayesian"
        );
        let (status, _, _) = send(&s.app, Method::GET, "/assets/muster.js", None, "").await;
        assert_eq!(status, StatusCode::OK, "assets are public");
        let (status, _, page) = with_cookie(&s.app, Method::GET, "/?q=bayesian", &s.reader).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Erin Expert"), "{page}");
        assert!(
            !page.contains("Local demo mode"),
            "no demo banner with tokens"
        );
        let (status, _, _) = with_cookie(&s.app, Method::GET, "/v1/experts", &s.reader).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the page's own API calls read with the cookie"
        );
        // a cookie never authorises a write, whoever it belongs to
        let (status, _, _) = with_cookie(&s.app, Method::PUT, "/v1/experts/m-new", &s.editor).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = with_cookie(&s.app, Method::GET, "/people/m-secret", &s.reader).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, page) =
            with_cookie(&s.app, Method::GET, "/people/m-secret", &s.sensitive_reader).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Sam Sensitive"));
        let (status, _, page) =
            with_cookie(&s.app, Method::GET, "/case-studies/cs-1", &s.reader).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Volcanic ash dispersion forecasting"));
        let (status, _, _) =
            with_cookie(&s.app, Method::GET, "/facilities/f-secret", &s.reader).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, page) = with_cookie(
            &s.app,
            Method::GET,
            "/facilities/f-secret",
            &s.sensitive_reader,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Quiet Harbour blast chamber"));
    }

    #[tokio::test]
    async fn signing_in_keeps_the_session_at_the_server_and_only_returns_to_this_site() {
        let s = secured(None);
        let form = |key: &str, next: &str| {
            let mut f = form_urlencoded::Serializer::new(String::new());
            f.append_pair("key", key).append_pair("next", next);
            f.finish()
        };
        let post = |body: String| {
            let app = s.app.clone();
            async move {
                app.oneshot(
                    Request::builder()
                        .method(Method::POST)
                        .uri("/sign-in")
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap()
            }
        };
        let response = post(form(&s.reader, "/muster")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/muster");
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_string();
        // an opaque session id, never the key, and nothing a script can read
        assert!(
            cookie.starts_with(&format!("{SESSION_COOKIE}=")),
            "{cookie}"
        );
        let secret = s.reader.rsplit('_').next().unwrap();
        assert!(
            !cookie.contains(secret) && !cookie.contains(&s.reader),
            "{cookie}"
        );
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP on loopback: {cookie}"
        );
        let session = cookie.split(';').next().unwrap().to_string();
        let page = |cookie: String, proto: Option<&'static str>| {
            let app = s.app.clone();
            async move {
                let mut request = Request::builder()
                    .uri("/?q=bayesian")
                    .header(header::COOKIE, cookie);
                if let Some(proto) = proto {
                    request = request.header("x-forwarded-proto", proto);
                }
                app.oneshot(request.body(Body::empty()).unwrap())
                    .await
                    .unwrap()
            }
        };
        assert_eq!(page(session.clone(), None).await.status(), StatusCode::OK);
        // behind a proxy that says the request came over TLS, the cookie is Secure
        let tls = s
            .app
            .clone()
            .oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/sign-in")
                    .header("x-forwarded-proto", "https")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form(&s.reader, "/")))
                    .unwrap(),
            )
            .await
            .unwrap();
        let tls_cookie = tls.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(tls_cookie.contains("Secure"), "{tls_cookie}");
        // signing out ends the session at the server: the old cookie no longer reads
        let out = s
            .app
            .clone()
            .oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/sign-out")
                    .header(header::COOKIE, session.clone())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            page(session, None).await.status(),
            StatusCode::SEE_OTHER,
            "sent to sign in"
        );
        // a made-up session id or the key itself as the cookie is no session
        for forged in [
            format!("{SESSION_COOKIE}={}", s.reader),
            format!("{SESSION_COOKIE}=abc"),
        ] {
            assert_eq!(
                page(forged, Some("https")).await.status(),
                StatusCode::SEE_OTHER
            );
        }
        let response = post(form(&s.reader, "//evil.example/")).await;
        assert_eq!(response.headers()[header::LOCATION], "/");
        let response = post(form("mst_nope_nope", "/")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("govuk-error-summary"));
    }

    #[tokio::test]
    async fn every_value_from_records_is_escaped() {
        let hostile = crate::ingest::parse_json_line(
            Kind::Member,
            r#"{"id":"m-x","name":"<script>alert(1)</script>","department":"Dstl","role":"<b>boss</b>","summary":"Bayesian <img src=x onerror=alert(2)> work","skills":[{"name":"Bayesian statistics","level":3}]}"#,
        )
        .unwrap()
        .record;
        let s = secured_with(&[hostile], None);
        for uri in [
            "/?q=bayesian",
            "/people/m-x",
            "/muster?skills=bayesian+statistics",
        ] {
            let (status, _, page) = with_cookie(&s.app, Method::GET, uri, &s.reader).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(!page.contains("<script>alert"), "{uri}");
            assert!(!page.contains("<img src=x"), "{uri}");
            assert!(!page.contains("<b>boss"), "{uri}");
            assert!(
                page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{uri}"
            );
        }
    }

    /// A server holding the records given as (kind, JSON line).
    fn secured_lines(lines: &[(Kind, &str)]) -> crate::http::tests::Secured {
        let records: Vec<crate::model::Record> = lines
            .iter()
            .map(|(kind, line)| crate::ingest::parse_json_line(*kind, line).unwrap().record)
            .collect();
        secured_with(&records, None)
    }

    /// The page at `uri` as a signed-in reader sees it.
    async fn reader_page(s: &crate::http::tests::Secured, uri: &str) -> String {
        with_cookie(&s.app, Method::GET, uri, &s.reader).await.2
    }

    #[tokio::test]
    async fn every_department_can_be_chosen_not_only_the_commonest() {
        let departments = [
            "Dstl",
            "UKHSA",
            "MOD",
            "DSIT",
            "DHSC",
            "Defra",
            "Met Office",
            "UKRI",
            "APHA",
            "DfT",
            "ONS",
            "NPL",
            "EA",
            "UKHO",
        ];
        // the commonest first: the first department has the most people, UKHO the fewest
        let mut lines = Vec::new();
        for (i, department) in departments.iter().enumerate() {
            for n in 0..(departments.len() - i) {
                lines.push(format!(
                    r#"{{"id":"m-{i}-{n}","name":"Person {i} {n}","department":"{department}","availability":"now"}}"#
                ));
            }
        }
        let records: Vec<crate::model::Record> = lines
            .iter()
            .map(|line| {
                crate::ingest::parse_json_line(Kind::Member, line)
                    .unwrap()
                    .record
            })
            .collect();
        let s = secured_with(&records, None);
        let (_, _, page) = with_cookie(&s.app, Method::GET, "/", &s.reader).await;
        let details = page
            .find("govuk-details__summary")
            .expect("a Show all control");
        assert!(page[details..].contains("Show all 14 (2 more)"), "{page}");
        for department in ["EA", "UKHO"] {
            let checkbox = format!(r#"name="department" type="checkbox" value="{department}""#);
            let at = page
                .find(&checkbox)
                .unwrap_or_else(|| panic!("{department}: {page}"));
            assert!(at > details, "{department} is behind Show all");
        }
        let dstl = page.find(r#"value="Dstl""#).unwrap();
        assert!(dstl < details, "the commonest are in view");
        // choosing one from behind Show all keeps it in view, ticked
        let (_, _, page) = with_cookie(&s.app, Method::GET, "/?department=UKHO", &s.reader).await;
        assert!(page.contains(r#"value="UKHO" checked"#), "{page}");
    }

    #[tokio::test]
    async fn someone_in_the_team_can_be_left_out_without_typing_an_id() {
        let s = crate::http::tests::secured(None);
        let ask = "/muster?skills=bayesian+statistics&team_size=1";
        let (_, _, page) = with_cookie(&s.app, Method::GET, ask, &s.reader).await;
        assert!(page.contains("Erin Expert"), "{page}");
        let link = page
            .split("href=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
            .find(|href| href.contains("exclude="))
            .unwrap_or_else(|| panic!("no Leave out link: {page}"));
        assert!(link.contains("exclude=Erin+Expert+%28m-exp%29"), "{link}");
        let (status, _, again) = with_cookie(&s.app, Method::GET, &link, &s.reader).await;
        assert_eq!(status, StatusCode::OK);
        let team = &again
            [again.find("muster-results").unwrap()..again.find("Change the request").unwrap()];
        assert!(!team.contains("Erin Expert"), "{team}");
        assert!(team.contains("Pat Practitioner"), "{team}");
        // the field offers the people of the answer as you type, and takes a plain name
        assert!(
            again.contains(r#"<option value="Pat Practitioner (m-pra)">"#),
            "{again}"
        );
        let by_name = "/muster?skills=bayesian+statistics&team_size=1&exclude=erin+expert%2C+Pat+Practitioner";
        let (_, _, page) = with_cookie(&s.app, Method::GET, by_name, &s.reader).await;
        let team =
            &page[page.find("muster-results").unwrap()..page.find("Change the request").unwrap()];
        assert!(
            !team.contains("Erin Expert") && !team.contains("Pat Practitioner"),
            "{team}"
        );
        // a name that matches no one is an error, never silently ignored; nor does a hidden
        // person's name count
        for unknown in ["Nobody+Known", "Sam+Sensitive"] {
            let uri = format!("/muster?skills=bayesian+statistics&exclude={unknown}");
            let (status, _, page) = with_cookie(&s.app, Method::GET, &uri, &s.reader).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
            assert!(page.contains("no one called"), "{page}");
        }
    }

    #[test]
    fn messages_on_pages_quote_values_as_people_do() {
        let error = Error::InvalidField {
            field: "within_km".into(),
            reason: "`ten` is not a number".into(),
        };
        let shown = field_error(&error, &["q", "within_km"]).unwrap();
        assert_eq!(shown.id, "within_km");
        assert_eq!(shown.message, "Within km: “ten” is not a number");
    }

    #[tokio::test]
    async fn pages_show_clearances_only_with_the_vetting_permission() {
        let s = crate::http::tests::secured(None);
        for (token, vetted) in [(&s.reader, true), (&s.unvetted, false)] {
            let app = &s.app;
            let page = |uri: &'static str| async move {
                with_cookie(app, Method::GET, uri, token).await.2
            };
            let results = page("/?q=statistics").await;
            assert!(results.contains("Erin Expert"), "{results}");
            assert_eq!(results.contains("SC, review due"), vetted, "{results}");
            assert_eq!(results.contains(r#"id="clearance""#), vetted, "the filter");
            let person = page("/people/m-exp").await;
            assert!(person.contains("Erin Expert"), "{person}");
            assert_eq!(person.contains("Security clearance"), vetted, "{person}");
            let form = page("/muster").await;
            assert_eq!(form.contains(r#"id="clearance""#), vetted, "{form}");
            let team = page("/muster?skills=bayesian+statistics&team_size=2").await;
            assert!(team.contains("Erin Expert"), "{team}");
            assert_eq!(team.contains("SC cleared"), vetted, "{team}");
            let sheet = page("/muster.csv?skills=bayesian+statistics&team_size=2").await;
            assert_eq!(sheet.contains("SC, review due"), vetted, "{sheet}");
            // facilities' access clearance is no one's secret
            let labs = page("/?kind=facilities&q=containment").await;
            assert!(labs.contains(r#"id="clearance""#), "{labs}");
        }
        let (status, _, refused) = with_cookie(
            &s.app,
            Method::GET,
            "/muster?skills=bayesian+statistics&clearance=SC",
            &s.unvetted,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(refused.contains("vetting permission"), "{refused}");
    }

    #[tokio::test]
    async fn pages_audit_searches_records_opened_and_musters() {
        let s = crate::http::tests::secured(None);
        let last = || -> crate::audit::AuditEntry {
            let log = std::fs::read_to_string(&s.audit).unwrap();
            serde_json::from_str(log.lines().last().unwrap()).unwrap()
        };
        let results = reader_page(&s, "/?q=statistics").await;
        assert!(results.contains("Erin Expert"), "{results}");
        let search = last();
        assert_eq!(
            (search.subject.as_str(), search.action.as_str()),
            ("reader@dstl", "GET /?q=statistics")
        );
        assert!(
            search.ids.contains(&"m-exp".to_string()),
            "{:?}",
            search.ids
        );
        reader_page(&s, "/people/m-exp").await;
        assert_eq!(
            (last().action, last().ids),
            ("GET /people/m-exp".into(), vec!["m-exp".into()])
        );
        reader_page(&s, "/muster?skills=Bayesian+statistics&size=2").await;
        let muster = last();
        assert!(
            muster.action.starts_with("GET /muster?"),
            "{}",
            muster.action
        );
        assert!(!muster.ids.is_empty());
    }

    #[tokio::test]
    async fn dates_read_as_words_and_an_old_profile_says_so() {
        let today = search::today();
        let recent = date_format::format(today - time::Duration::days(30));
        let fresh = format!(
            r#"{{"id":"m-fresh","name":"Fay Fresh","department":"Dstl","availability":"now","updated":"{recent}"}}"#
        );
        let last_year = date_format::format(today - time::Duration::days(400));
        let stale = format!(
            r#"{{"id":"m-stale","name":"Sam Stale","department":"Dstl","availability":"now","updated":"{last_year}"}}"#
        );
        let s = secured_lines(&[
            (
                Kind::Member,
                r#"{"id":"m-old","name":"Olu Old","department":"Dstl","availability":"now","updated":"2020-01-05","skills":[{"name":"Virology","level":4,"assessed":"2021-03-02"}]}"#,
            ),
            (Kind::Member, fresh.as_str()),
            (Kind::Member, stale.as_str()),
            (
                Kind::CaseStudy,
                r#"{"id":"cs-dated","title":"Measles modelling","date":"2020-09-26","authors":["m-old"]}"#,
            ),
        ]);
        let page = |uri: &'static str| reader_page(&s, uri);
        let old = page("/people/m-old").await;
        assert!(old.contains("Last updated"), "{old}");
        assert!(old.contains("Not updated for over a year"), "{old}");
        assert!(old.contains("5 January 2020"), "{old}");
        assert!(old.contains("2 March 2021"), "{old}");
        assert!(!old.contains("2021-03-02"), "{old}");
        let fresh = page("/people/m-fresh").await;
        assert!(fresh.contains("Last updated"), "{fresh}");
        assert!(!fresh.contains("Not updated for over a year"), "{fresh}");
        let stale = page("/people/m-stale").await;
        assert!(stale.contains("Not updated for over a year"), "{stale}");
        assert!(fresh.contains("No case studies recorded."), "{fresh}");
        let case_study = page("/case-studies/cs-dated").await;
        assert!(case_study.contains("26 September 2020"), "{case_study}");
        assert!(!case_study.contains("2020-09-26"), "{case_study}");
    }

    #[tokio::test]
    async fn a_lapsed_clearance_and_a_closed_facility_say_so_on_the_pages() {
        let s = secured_lines(&[
            (
                Kind::Member,
                r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2024-03-14","availability":"now","skills":[{"name":"Virology","level":4}],"email":"lou@dstl.gov.uk","phone":"07700 900123"}"#,
            ),
            (
                Kind::Facility,
                r#"{"id":"f-shut","name":"Old tokamak","department":"UKAEA","capabilities":["plasma physics"],"status":"closed","contacts":["m-lapsed"]}"#,
            ),
        ]);
        let page = |uri: &'static str| reader_page(&s, uri);
        let person = page("/people/m-lapsed").await;
        assert!(
            person.contains("DV - lapsed, review was due 14 March 2024"),
            "{person}"
        );
        let results = page("/?q=virology").await;
        assert!(
            results.contains("DV - lapsed, review was due 14 March 2024"),
            "{results}"
        );
        let facility = page("/facilities/f-shut").await;
        assert!(
            facility.contains("closed: not available for use"),
            "{facility}"
        );
        assert!(
            facility.contains("Lou Lapsed") && facility.contains("07700 900123"),
            "{facility}"
        );
        // nothing found: a correction offered as a link to its search
        let misspelt = page("/?q=virolgist").await;
        let offered = misspelt
            .split("id=\"did-you-mean\"")
            .nth(1)
            .unwrap_or_else(|| panic!("no correction offered: {misspelt}"));
        assert!(offered.contains("virology"), "{offered}");
        // a skill nobody holds: the nearest broader one offered as a link, the filter kept
        let narrow = page("/?skill=Aerosol+microbiology").await;
        assert!(narrow.contains("0 people found"), "{narrow}");
        let offered = narrow
            .split("id=\"broader-skill\"")
            .nth(1)
            .unwrap_or_else(|| panic!("no broader skill offered: {narrow}"));
        let link = offered.split("href=\"").nth(1).unwrap_or_default();
        let link = link
            .split('"')
            .next()
            .unwrap_or_default()
            .replace("&amp;", "&");
        assert!(offered.contains(">Microbiology</a>"), "{offered}");
        assert!(!link.contains("Aerosol"), "{link}");
        let broader = reader_page(&s, &link).await;
        assert!(!broader.contains("0 people found"), "{broader}");
        let open_search = page("/?kind=facilities&q=plasma").await;
        assert!(
            !open_search.contains("Old tokamak"),
            "a closed lab is not listed by default"
        );
        let asked = page("/?kind=facilities&q=plasma&status=closed").await;
        assert!(asked.contains("Old tokamak"), "{asked}");
    }

    #[tokio::test]
    async fn the_forms_empty_fields_mean_no_filter() {
        let app = router(
            AppState::new(crate::search::tests::small_index(), HttpConfig::default()).unwrap(),
        );
        let (status, _, page) = send(
            &app,
            Method::GET,
            "/?q=&skill=&department=&clearance=&availability=&near=&within_km=",
            None,
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(!page.contains("govuk-error-summary"), "{page}");
        assert!(
            page.contains("Erin Expert"),
            "every visible member is listed"
        );
    }

    #[tokio::test]
    async fn demo_mode_says_so_and_bad_filters_get_an_error_summary() {
        let app = router(
            AppState::new(crate::search::tests::small_index(), HttpConfig::default()).unwrap(),
        );
        let (status, headers, page) =
            send(&app, Method::GET, "/?q=bayes&min_level=3", None, "").await;
        assert!(page.contains("Local demo mode"));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("govuk-error-summary"));
        assert!(
            page.contains("href=\"#min_level\""),
            "the summary links to the field"
        );
        assert!(page.contains("<title>Error: "));
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
    }
}
