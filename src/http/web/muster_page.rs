//! The muster page (`/muster`): a need in words or by skill, the team and labs found, and the
//! contact sheet (`/muster.csv`).

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::Value;

use crate::Error;
use crate::access::Caller;
use crate::http::AppState;
use crate::http::api::today;
use crate::model::{Clearance, Kind, Level};
use crate::muster::{MusterAnswer, MusterBody, MusterRequest, Point, SkillBody};
use crate::search::query_pairs;

use super::layout::{
    FieldError, Nav, described_by, error_message, error_summary, field_error, form_status,
    group_class, internal_error, layout, page_response,
};
use super::record_pages::summary_row;
use super::search_page::{encode, facility_facts, near_options, record_href, select};

/// The muster form's fields, as submitted (all text, so a bad value can be shown back).
#[derive(Debug, Default, Clone)]
pub(super) struct MusterForm {
    pub(super) need: String,
    pub(super) skills: String,
    pub(super) clearance: String,
    pub(super) availability: String,
    pub(super) near: String,
    pub(super) within_km: String,
    pub(super) team_size: String,
    pub(super) max_per_department: String,
    pub(super) facility_capabilities: String,
    pub(super) facility_match: String,
    pub(super) exclude: String,
}

impl MusterForm {
    pub(super) fn from_query(raw: Option<&str>) -> (MusterForm, bool) {
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
    pub(super) fn leaving_out(&self, person: &str) -> MusterForm {
        let mut form = self.clone();
        form.exclude = match form.exclude.trim() {
            "" => person.to_string(),
            before => format!("{before}, {person}"),
        };
        form
    }

    pub(super) fn query(&self) -> String {
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
    pub(super) fn body(&self) -> std::result::Result<MusterBody, FieldError> {
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

pub(super) const MUSTER_FIELDS: &[&str] = &[
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

pub(super) async fn run_muster(
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

pub(super) async fn muster_page(
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

pub(super) async fn muster_csv(
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

pub(super) fn textarea(
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

pub(super) fn text_input(
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
pub(super) fn leave_out_input(
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
pub(super) fn leave_out_entry(name: &str, id: &str) -> String {
    format!("{name} ({id})")
}

pub(super) fn muster_markup(
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
pub(super) fn alternatives_list(alternatives: &[crate::muster::Alternative]) -> Markup {
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

pub(super) fn muster_answer_markup(form: &MusterForm, answer: &MusterAnswer) -> Markup {
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
                                    @if let Some(e) = &m.contact.email {
                                        br;
                                        a class="govuk-link govuk-body-s" href=(format!("mailto:{e}")) { (e) }
                                    }
                                    @if let Some(t) = &m.contact.phone {
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
                            (facility_facts(f.department.as_deref(), &f.details, f.distance_km))
                        }
                    }
                    @for f in &answer.facility_alternatives {
                        li {
                            "If you relax " (f.relax.replace('_', " "))
                            @if let Some(c) = &f.capability { " for " (c) }
                            ": "
                            a class="govuk-link" href=(record_href(Kind::Facility, &f.facility.id)) { (f.facility.name) }
                            " – " (facility_facts(f.facility.department.as_deref(), &f.facility.details, f.facility.distance_km))
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
