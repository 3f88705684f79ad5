//! The search page (`/`): the form, facets as filters, results and paging.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::{Markup, PreEscaped, html};

use crate::access::Caller;
use crate::http::AppState;
use crate::http::api::today;
use crate::model::{Availability, Clearance, Kind, Level, date_format};
use crate::reference::Reference;
use crate::schema::FacetName;
use crate::search::{self, BroaderSkill, SearchResponse};
use crate::search::{FacetChoice, parse_search, query_pairs};
use crate::shapes::{FacilitySummary, Summary};

use super::PAGE_SIZE;
use super::layout::{
    FieldError, Nav, described_by, error_message, error_summary, field_error, form_status,
    group_class, internal_error, layout, page_response,
};

pub(super) fn record_href(kind: Kind, id: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/{}/{encoded}", kind.page())
}

pub(super) fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Choices for "Near": anywhere, London, the big cities and every establishment's town, as
/// (`lat,lon`, label); built once.
pub(super) fn near_options() -> &'static [(String, String)] {
    static OPTIONS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = vec![(String::new(), "Anywhere".to_string())];
        options.extend(places());
        options
    })
}

pub(super) fn places() -> Vec<(String, String)> {
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

pub(super) struct SearchView {
    pub(super) kind: Kind,
    /// The caller may see (and filter on) people's clearances.
    pub(super) vetting: bool,
    pub(super) pairs: Vec<(String, String)>,
    pub(super) page: usize,
    pub(super) response: Option<SearchResponse>,
    pub(super) errors: Vec<FieldError>,
}

impl SearchView {
    pub(super) fn values(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(super) fn value(&self, key: &str) -> &str {
        self.values(key).first().copied().unwrap_or("")
    }

    /// The URL of this search with one value removed (a filter tag's link).
    pub(super) fn without(&self, key: &str, value: &str) -> String {
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

    pub(super) fn url(&self, pairs: &[(String, String)], page: usize) -> String {
        let mut all = vec![("kind".to_string(), self.kind.collection().to_string())];
        all.extend(pairs.iter().filter(|(_, v)| !v.is_empty()).cloned());
        if page > 1 {
            all.push(("page".into(), page.to_string()));
        }
        format!("/?{}", encode(&all))
    }
}

pub(super) async fn search_page(
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
        Ok(mut request) if errors.is_empty() => {
            // count only the facets the page shows
            request.facets = FacetChoice::These(shown_facets(kind).to_vec());
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

pub(super) fn select(
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

/// The facets the page shows counts of for `kind` (a person's clearance is a minimum, shown
/// without counts).
fn shown_facets(kind: Kind) -> &'static [FacetName] {
    match kind {
        Kind::Member => &[FacetName::Department, FacetName::Region],
        Kind::CaseStudy => &[FacetName::Department],
        Kind::Facility => &[
            FacetName::Department,
            FacetName::Clearance,
            FacetName::Region,
            FacetName::Status,
        ],
    }
}

pub(super) fn facet_counts<'a>(view: &'a SearchView, name: &str) -> Vec<(&'a str, u64)> {
    let mut counts: Vec<(&str, u64)> = view
        .response
        .as_ref()
        .and_then(|r| r.facets.get(name))
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), *v)).collect())
        .unwrap_or_default();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
}

pub(super) fn count_of(view: &SearchView, facet: &str, value: &str) -> u64 {
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
pub(super) fn checkbox_facet(view: &SearchView, name: &str, legend: &str, most: usize) -> Markup {
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

pub(super) fn label_for(key: &str) -> &'static str {
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

pub(super) fn search_markup(view: &SearchView) -> Markup {
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
pub(super) fn with_text(pairs: &[(String, String)], text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "q").cloned().collect();
    out.insert(0, ("q".into(), text.into()));
    out
}

/// What `count` records of `kind` are called.
pub(super) fn noun(kind: Kind, count: u64) -> &'static str {
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
pub(super) fn with_broader_skill(
    pairs: &[(String, String)],
    broader: &BroaderSkill,
) -> Vec<(String, String)> {
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

pub(super) fn results_markup(view: &SearchView, tags: &[(String, String, String)]) -> Markup {
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
                        (facts(hit.department.as_deref(), &hit.summary, hit.distance_km))
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
pub(super) fn page_numbers(current: usize, pages: usize) -> Vec<Option<usize>> {
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

/// A hit's short facts in one line: department, role and grade, clearance in words,
/// availability; a case study's date; a facility's establishment, access and status; town and
/// distance.
pub(super) fn facts(department: Option<&str>, summary: &Summary, distance: Option<f64>) -> String {
    let (parts, town) = match summary {
        Summary::Member(m) => {
            let mut parts: Vec<String> = m.role.iter().cloned().collect();
            parts.extend(m.grade.map(|g| g.to_string()));
            parts.extend(m.clearance_words(search::today()));
            parts.push(m.availability.in_words().to_string());
            (parts, m.town.as_deref())
        }
        Summary::CaseStudy(c) => (c.date.map(date_format::format).into_iter().collect(), None),
        Summary::Facility(f) => return facility_facts(department, f, distance),
    };
    in_one_line(department, parts, town, distance)
}

/// A facility's short facts in one line (as [`facts`]).
pub(super) fn facility_facts(
    department: Option<&str>,
    f: &FacilitySummary,
    distance: Option<f64>,
) -> String {
    let mut parts: Vec<String> = f.establishment.iter().cloned().collect();
    parts.push(format!("access needs {}", f.access_clearance));
    parts.extend(crate::muster::facility_warning(f.status));
    in_one_line(department, parts, f.town.as_deref(), distance)
}

fn in_one_line(
    department: Option<&str>,
    parts: Vec<String>,
    town: Option<&str>,
    distance: Option<f64>,
) -> String {
    let all: Vec<String> = department
        .map(String::from)
        .into_iter()
        .chain(parts)
        .chain(town.map(String::from))
        .chain(distance.map(|d| format!("{d:.0} km away")))
        .collect();
    all.join(" · ")
}
