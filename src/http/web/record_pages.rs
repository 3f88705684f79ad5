//! A person, case study or facility on its own page (`/people/{id}`, ...).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use time::Date;

use crate::Error;
use crate::access::Caller;
use crate::http::AppState;
use crate::model::{
    CaseStudy, ClearanceStatus, Facility, Kind, Location, Member, Record, clearance_in_words,
    date_format,
};
use crate::search::{self, RecordView};
use crate::shapes::PersonRef;

use super::layout::{Nav, internal_error, layout, not_found_page, page_response};
use super::search_page::record_href;

/// Text worth showing: present and not empty.
fn shown(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|s| !s.is_empty())
}

pub(super) fn summary_row(key: &str, value: Markup) -> Markup {
    html! {
        div class="govuk-summary-list__row" {
            dt class="govuk-summary-list__key" { (key) }
            dd class="govuk-summary-list__value" { (value) }
        }
    }
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
    let (title, body) = match &record.record {
        Record::Member(m) => person_markup(m, &record),
        Record::CaseStudy(c) => case_study_markup(c, &record),
        Record::Facility(f) => facility_markup(f, &record),
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
pub(super) fn location_row(location: &Option<Location>) -> Markup {
    let location = location.as_ref();
    html! {
        @if let Some(t) = location.and_then(|l| shown(&l.town)) {
            (summary_row("Location", html!{ (t) @if let Some(g) = location.and_then(|l| shown(&l.region)) { ", " (g) } }))
        }
    }
}

pub(super) fn back_link() -> Markup {
    html! { a href="/" class="govuk-back-link" { "Search" } }
}

pub(super) fn person_markup(m: &Member, view: &RecordView) -> (String, Markup) {
    let name = Some(m.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("Unnamed")
        .to_string();
    let today = search::today();
    let body = html! {
        (back_link())
        span class="govuk-caption-l" { (m.department) }
        h1 class="govuk-heading-l" { (name) }
        @if let Some(s) = shown(&m.summary) { p class="govuk-body-l" { (s) } }
        dl class="govuk-summary-list" {
            @if let Some(v) = shown(&m.role) { (summary_row("Role", html!{ (v) })) }
            @if let Some(v) = m.grade { (summary_row("Grade", html!{ (v) })) }
            @if let Some(v) = m.gse_category { (summary_row("GSE category", html!{ (v.as_str().replace('_', " ")) })) }
            @if !view.clearance_withheld {
                (summary_row("Security clearance", html!{
                    @if view.clearance_status == Some(ClearanceStatus::Lapsed) {
                        strong class="govuk-tag govuk-tag--red" { "Lapsed" } " "
                    }
                    (clearance_in_words(m.clearance, m.clearance_review_due, today))
                }))
            }
            (summary_row("Availability", html!{ (m.availability.in_words()) }))
            (location_row(&m.location))
            @if !m.registrations.is_empty() {
                (summary_row("Registrations", html!{ (m.registrations.join(", ")) }))
            }
            @if let Some(e) = shown(&m.email) {
                (summary_row("Email", html!{ a class="govuk-link" href=(format!("mailto:{e}")) { (e) } }))
            }
            (summary_row("Marking", html!{ (m.marking) }))
            @if let Some(updated) = m.updated {
                (summary_row("Last updated", html!{
                    @if (today - updated).whole_days() > STALE_AFTER_DAYS {
                        strong class="govuk-tag govuk-tag--yellow" { "Not updated for over a year" } " "
                        (date_format::words(updated)) ": check with them before relying on it"
                    } @else {
                        (date_format::words(updated))
                    }
                }))
            }
        }
        h2 class="govuk-heading-m" { "Skills" }
        @if m.skills.is_empty() {
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
                    @for s in &m.skills {
                        tr class="govuk-table__row" {
                            td class="govuk-table__cell" { (s.name) }
                            td class="govuk-table__cell" { (format!("{} ({})", s.level.rank() + 1, s.level)) }
                            td class="govuk-table__cell" { (long_date(s.assessed).unwrap_or_else(|| "–".into())) }
                        }
                    }
                }
            }
        }
        h2 class="govuk-heading-m" { "Case studies" }
        @if view.case_studies.is_empty() {
            p class="govuk-body" { "No case studies recorded." }
        } @else {
            ul class="govuk-list govuk-list--bullet" {
                @for cs in &view.case_studies {
                    li { a class="govuk-link" href=(record_href(Kind::CaseStudy, &cs.case_study)) { (cs.title) } }
                }
            }
        }
    };
    (name, body)
}

/// People another record refers to, with how to reach them (`author_details`,
/// `contact_details`).
pub(super) fn people_list(people: &[PersonRef], none: &str) -> Markup {
    html! {
        @if people.is_empty() { (none) }
        ul class="govuk-list" {
            @for p in people {
                li {
                    a class="govuk-link" href=(record_href(Kind::Member, &p.id)) { (p.name) }
                    @if let Some(role) = shown(&p.role) { ", " (role) }
                    @if let Some(e) = shown(&p.email) {
                        br; a class="govuk-link" href=(format!("mailto:{e}")) { (e) }
                    }
                    @if let Some(t) = shown(&p.phone) {
                        br; a class="govuk-link" href=(format!("tel:{}", t.replace(' ', ""))) { (t) }
                    }
                }
            }
        }
    }
}

/// A profile not updated for this long (a year) is flagged as possibly out of date.
pub(super) const STALE_AFTER_DAYS: i64 = 365;

/// A date as GOV.UK writes dates ("26 September 2020").
pub(super) fn long_date(date: Option<Date>) -> Option<String> {
    date.map(date_format::words)
}

pub(super) fn case_study_markup(c: &CaseStudy, view: &RecordView) -> (String, Markup) {
    let title = Some(c.title.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or("Untitled")
        .to_string();
    let body = html! {
        (back_link())
        span class="govuk-caption-l" { (c.departments.join(", ")) }
        h1 class="govuk-heading-l" { (title) }
        @if let Some(s) = shown(&c.summary) { p class="govuk-body-l" { (s) } }
        dl class="govuk-summary-list" {
            @if let Some(d) = long_date(c.date) { (summary_row("Date", html!{ (d) })) }
            @if !c.skills.is_empty() { (summary_row("Skills", html!{ (c.skills.join(", ")) })) }
            (summary_row("Authors", people_list(&view.people, "No authors you can see")))
            @if !c.facilities.is_empty() {
                (summary_row("Facilities", html!{
                    @for (i, f) in c.facilities.iter().enumerate() {
                        @if i > 0 { ", " }
                        a class="govuk-link" href=(record_href(Kind::Facility, f)) { (f) }
                    }
                }))
            }
            (summary_row("Marking", html!{ (c.marking) }))
        }
        @if let Some(b) = shown(&c.body) {
            h2 class="govuk-heading-m" { "What was done" }
            @for para in b.split("\n\n") { p class="govuk-body" { (para) } }
        }
    };
    (title, body)
}

pub(super) fn facility_markup(f: &Facility, view: &RecordView) -> (String, Markup) {
    let name = Some(f.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("Unnamed")
        .to_string();
    let body = html! {
        (back_link())
        span class="govuk-caption-l" { (shown(&f.establishment).unwrap_or("")) }
        h1 class="govuk-heading-l" { (name) }
        @if let Some(s) = shown(&f.description) { p class="govuk-body-l" { (s) } }
        dl class="govuk-summary-list" {
            @if let Some(v) = shown(&f.department) { (summary_row("Department", html!{ (v) })) }
            (summary_row("Capabilities", html!{ (f.capabilities.join(", ")) }))
            (summary_row("Access clearance", html!{ (f.access_clearance) }))
            (summary_row("Status", html!{
                @match crate::muster::facility_warning(f.status) {
                    Some(w) => { strong class="govuk-tag govuk-tag--red" { (f.status) } " " (w) }
                    None => { (f.status) }
                }
            }))
            (location_row(&f.location))
            (summary_row("Contacts", people_list(&view.people, "No contacts you can see")))
            (summary_row("Marking", html!{ (f.marking) }))
        }
    };
    (name, body)
}
