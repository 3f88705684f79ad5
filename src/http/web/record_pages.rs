//! A person, case study or facility on its own page (`/people/{id}`, ...).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Error;
use crate::access::Caller;
use crate::http::AppState;
use crate::model::{Availability, FacilityStatus, Kind, Level, date_format};
use crate::search::{self};

use super::layout::{Nav, internal_error, layout, not_found_page, page_response};
use super::search_page::record_href;

pub(super) fn text<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn summary_row(key: &str, value: Markup) -> Markup {
    html! {
        div class="govuk-summary-list__row" {
            dt class="govuk-summary-list__key" { (key) }
            dd class="govuk-summary-list__value" { (value) }
        }
    }
}

pub(super) fn strings(record: &Value, name: &str) -> Vec<String> {
    record
        .get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

pub(super) async fn record_page(
    state: AppState,
    caller: Caller,
    kind: Kind,
    id: String,
) -> Response {
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
pub(super) async fn record_page_at(
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
pub(super) fn location_row(location: &Value) -> Markup {
    html! {
        @if let Some(t) = text(location, "town") {
            (summary_row("Location", html!{ (t) @if let Some(g) = text(location, "region") { ", " (g) } }))
        }
    }
}

pub(super) fn back_link() -> Markup {
    html! { a href="/" class="govuk-back-link" { "Search" } }
}

pub(super) fn person_markup(r: &Value) -> (String, Markup) {
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
pub(super) fn people_list(people: &Value, none: &str) -> Markup {
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
pub(super) const STALE_AFTER_DAYS: i64 = 365;

/// A `YYYY-MM-DD` date as GOV.UK writes dates ("26 September 2020"); other text as it is.
pub(super) fn long_date(date: Option<&str>) -> Option<String> {
    let date = date?;
    Some(
        date_format::parse(date, "date")
            .map(date_format::words)
            .unwrap_or_else(|_| date.to_string()),
    )
}

pub(super) fn level_text(level: &Value) -> String {
    let parsed = match level {
        Value::Number(n) => n.as_u64().and_then(Level::from_number),
        Value::String(s) => Level::parse(s),
        _ => None,
    };
    parsed
        .map(|l| format!("{} ({})", l.rank() + 1, l))
        .unwrap_or_default()
}

pub(super) fn case_study_markup(r: &Value) -> (String, Markup) {
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

pub(super) fn facility_markup(r: &Value) -> (String, Markup) {
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
