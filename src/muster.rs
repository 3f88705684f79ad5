//! Emergency muster: assemble a cleared, available team that covers a need, in one call.
//!
//! A muster names the skills needed (or a free-text `need` they are inferred from through the
//! taxonomy) and hard constraints: clearance, availability, distance, departments, team size,
//! people per department, people to leave out. Each skill is one search of [`crate::search`], with
//! the caller's marking and every constraint inside the tantivy query, so a hidden record can
//! never be picked, counted or offered as an alternative.
//!
//! The team is chosen greedily, deterministically:
//! 1. while some skill is coverable and uncovered, add the member who covers the most uncovered
//!    skills; ties go to higher levels in them, then a department not yet in the team, then
//!    stronger evidence (the search score: levels, recency, case studies), then distance, then id;
//! 2. remaining places go to depth on the thinnest covered skill, by the same preferences.
//!
//! `max_per_department` is never exceeded. A skill nobody eligible holds lands in `uncovered`
//! with the nearest alternatives, each relaxing exactly one constraint and saying which, so the
//! caller relaxes it knowingly; hard constraints are never relaxed silently.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;
use utoipa::ToSchema;

use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, Kind, Level, Marking};
use crate::reference::Reference;
use crate::search::{self, Clause, Evidence, Hit, Near, SearchRequest, SortOrder};
use crate::{Error, Result};

/// Most skills in one muster.
pub const MAX_SKILLS: usize = 20;
/// Largest team.
pub const MAX_TEAM: usize = 50;
/// Default team size (raised to the number of skills when more are asked for).
pub const DEFAULT_TEAM: usize = 5;
/// Most characters of `need`.
pub const MAX_NEED_CHARS: usize = 2000;
/// Most ids in `exclude`.
pub const MAX_EXCLUDE: usize = 1000;
/// Candidates considered per skill.
const CANDIDATES: usize = 25;
/// Backups listed per skill.
const ALTERNATES: usize = 3;
/// Alternatives listed per relaxed constraint.
const PER_RELAXATION: usize = 3;
/// Facilities listed.
const MAX_FACILITIES: usize = 10;

/// A point on the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// One needed skill, as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillBody {
    /// A skill label, synonym or taxonomy id.
    pub skill: String,
    /// 1-4 or `awareness`, `working`, `practitioner`, `expert`; default 1.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub min_level: Option<Value>,
}

/// `POST /v1/muster` body.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MusterBody {
    /// The emergency in words; skills are inferred from it when `skills` is empty.
    #[serde(default)]
    pub need: Option<String>,
    /// Skills the team must cover.
    #[serde(default)]
    pub skills: Vec<SkillBody>,
    /// Minimum clearance held, in date (e.g. `SC`).
    #[serde(default)]
    pub clearance: Option<String>,
    /// Deployable at least this soon (e.g. `24h` includes `now`); default `month`, which leaves
    /// out only people marked `unavailable`.
    #[serde(default)]
    pub availability: Option<String>,
    /// Where the team is needed.
    #[serde(default)]
    pub near: Option<Point>,
    /// Only people (and facilities) within this many km of `near`.
    #[serde(default)]
    pub within_km: Option<f64>,
    /// People in the team (1-50; default 5, or the number of skills if more).
    #[serde(default)]
    pub team_size: Option<u64>,
    /// At most this many people from one department.
    #[serde(default)]
    pub max_per_department: Option<u64>,
    /// Only people from these departments (a parent includes its children).
    #[serde(default)]
    pub departments: Vec<String>,
    /// Capabilities a facility must have, all of them (e.g. `CL3`).
    #[serde(default)]
    pub facility_capabilities: Vec<String>,
    /// Member ids to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A needed skill, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Need {
    /// As asked (or as inferred).
    pub asked: String,
    /// The taxonomy label, or the asked text when it maps to no skill.
    pub skill: String,
    /// The taxonomy node id, if it maps to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_id: Option<String>,
    /// Lowest level that counts, 1-4.
    pub min_level: u8,
    /// Inferred from `need` rather than listed.
    pub inferred: bool,
}

/// A validated muster.
#[derive(Debug, Clone, PartialEq)]
pub struct MusterRequest {
    /// The emergency in words.
    pub need: Option<String>,
    /// Skills to cover, in the order asked.
    pub skills: Vec<Need>,
    /// Minimum clearance.
    pub clearance: Option<Clearance>,
    /// Availability at most.
    pub availability: Availability,
    /// Where, and how far.
    pub near: Option<Near>,
    /// Team size.
    pub team_size: usize,
    /// Cap per department.
    pub max_per_department: Option<usize>,
    /// Departments (short names).
    pub departments: Vec<String>,
    /// Facility capabilities, all required.
    pub facility_capabilities: Vec<String>,
    /// Member ids left out.
    pub exclude: BTreeSet<String>,
    /// Highest marking the caller may read.
    pub max_marking: Marking,
    /// The date clearances are checked against.
    pub today: Date,
}

fn level_of(value: &Value, field: &str) -> Result<Level> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(Error::field(field, "must be 1-4 or a level name")),
    };
    Level::parse_field(&text, field)
}

fn bounded_text(text: &str, field: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::field(field, "is empty"));
    }
    if text.chars().count() > max {
        return Err(Error::field(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(text.to_string())
}

impl MusterRequest {
    /// Validates a body, naming the field at fault, and resolves skills through the taxonomy.
    pub fn from_body(
        body: MusterBody,
        index: &MusterIndex,
        max_marking: Marking,
        today: Date,
    ) -> Result<MusterRequest> {
        let taxonomy = &index.taxonomy;
        let need = match &body.need {
            Some(n) if !n.trim().is_empty() => Some(bounded_text(n, "need", MAX_NEED_CHARS)?),
            _ => None,
        };
        if body.skills.len() > MAX_SKILLS {
            return Err(Error::field(
                "skills",
                format!("at most {MAX_SKILLS} skills in one muster"),
            ));
        }
        let mut skills: Vec<Need> = Vec::new();
        for (i, s) in body.skills.iter().enumerate() {
            let field = format!("skills[{i}].skill");
            let asked = bounded_text(&s.skill, &field, 200)?;
            let min_level = match &s.min_level {
                None | Some(Value::Null) => Level::ALL[0],
                Some(v) => level_of(v, &format!("skills[{i}].min_level"))?,
            };
            let node = taxonomy
                .lookup(&asked)
                .or_else(|| taxonomy.lookup_fuzzy(&asked));
            let (skill, skill_id) = match node {
                Some(n) => (
                    taxonomy.node(n).label.clone(),
                    Some(taxonomy.node(n).id.clone()),
                ),
                None => (asked.clone(), None),
            };
            if let Some(j) = skills.iter().position(|other| {
                other.skill_id.is_some() && other.skill_id == skill_id
                    || other.skill.eq_ignore_ascii_case(&skill)
            }) {
                return Err(Error::field(
                    field,
                    format!("names the same skill as skills[{j}] ({skill})"),
                ));
            }
            skills.push(Need {
                asked,
                skill,
                skill_id,
                min_level: min_level.rank() as u8 + 1,
                inferred: false,
            });
        }
        if skills.is_empty() {
            let Some(need) = &need else {
                return Err(Error::field(
                    "skills",
                    "give at least one skill, or a `need` to infer them from",
                ));
            };
            skills = infer_skills(index, need);
            if skills.is_empty() {
                return Err(Error::field(
                    "need",
                    "names no skill of the taxonomy; list the skills in `skills`",
                ));
            }
        }
        let clearance = body
            .clearance
            .as_deref()
            .map(|c| Clearance::parse_field(c, "clearance"))
            .transpose()?;
        let availability = match body.availability.as_deref() {
            Some(a) => Availability::parse_field(a, "availability")?,
            None => Availability::Month,
        };
        if let Some(p) = body.near {
            if !(-90.0..=90.0).contains(&p.lat) {
                return Err(Error::field("near.lat", "must be from -90 to 90"));
            }
            if !(-180.0..=180.0).contains(&p.lon) {
                return Err(Error::field("near.lon", "must be from -180 to 180"));
            }
        }
        if let Some(km) = body.within_km {
            if !(km.is_finite() && km > 0.0 && km <= 20_000.0) {
                return Err(Error::field(
                    "within_km",
                    "must be more than 0 and at most 20000",
                ));
            }
            if body.near.is_none() {
                return Err(Error::field("within_km", "needs `near`"));
            }
        }
        let near = body.near.map(|p| Near {
            lat: p.lat,
            lon: p.lon,
            within_km: body.within_km,
        });
        let team_size = match body.team_size {
            None => DEFAULT_TEAM.max(skills.len()).min(MAX_TEAM),
            Some(n) if (1..=MAX_TEAM as u64).contains(&n) => n as usize,
            Some(_) => {
                return Err(Error::field(
                    "team_size",
                    format!("must be from 1 to {MAX_TEAM}"),
                ));
            }
        };
        let max_per_department = match body.max_per_department {
            None => None,
            Some(n) if n >= 1 => Some(n.min(MAX_TEAM as u64) as usize),
            Some(_) => return Err(Error::field("max_per_department", "must be at least 1")),
        };
        let mut departments = Vec::new();
        for (i, d) in body.departments.iter().enumerate() {
            let known = Reference::get().department(d).ok_or_else(|| {
                Error::field(
                    format!("departments[{i}]"),
                    format!("unknown department `{}`", crate::model::truncate(d, 60)),
                )
            })?;
            departments.push(known.abbr.clone());
        }
        if body.facility_capabilities.len() > MAX_SKILLS {
            return Err(Error::field(
                "facility_capabilities",
                format!("at most {MAX_SKILLS}"),
            ));
        }
        let facility_capabilities = body
            .facility_capabilities
            .iter()
            .enumerate()
            .map(|(i, c)| bounded_text(c, &format!("facility_capabilities[{i}]"), 200))
            .collect::<Result<Vec<_>>>()?;
        if body.exclude.len() > MAX_EXCLUDE {
            return Err(Error::field(
                "exclude",
                format!("at most {MAX_EXCLUDE} ids"),
            ));
        }
        Ok(MusterRequest {
            need,
            skills,
            clearance,
            availability,
            near,
            team_size,
            max_per_department,
            departments,
            facility_capabilities,
            exclude: body.exclude.iter().map(|s| s.trim().to_string()).collect(),
            max_marking,
            today,
        })
    }
}

/// Skills of the GSE framework named in `need` (labels, synonyms and near misspellings).
fn infer_skills(index: &MusterIndex, need: &str) -> Vec<Need> {
    let taxonomy = &index.taxonomy;
    let mut words = Vec::new();
    for clause in search::parse_text(need) {
        match clause {
            Clause::Word(w) => words.push(w),
            Clause::Phrase(p) => words.extend(p.split_whitespace().map(String::from)),
        }
    }
    taxonomy
        .find_in_text(&words)
        .into_iter()
        .filter(|&n| taxonomy.is_gse(n) && taxonomy.node(n).depth >= 1)
        .take(MAX_SKILLS)
        .map(|n| {
            let node = taxonomy.node(n);
            Need {
                asked: node.label.clone(),
                skill: node.label.clone(),
                skill_id: Some(node.id.clone()),
                min_level: 1,
                inferred: true,
            }
        })
        .collect()
}

/// A person who could fill a place, as one skill's search saw them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Candidate {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Their level in the skill, 1-4.
    pub level: u8,
    /// Strength of evidence for the skill (the search score).
    pub score: f32,
    /// Km from `near`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// Role, email, grade, clearance, review date, availability, town...
    #[schema(value_type = Object)]
    pub contact: Value,
    /// Case studies that back the skill.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Candidate {
    fn from_hit(hit: Hit, need: &Need) -> Candidate {
        let level = hit
            .matched_skills
            .iter()
            .map(|s| s.level)
            .max()
            .unwrap_or(need.min_level);
        Candidate {
            id: hit.id,
            name: hit.name,
            department: hit.department,
            level,
            score: hit.score,
            distance_km: hit.distance_km,
            contact: hit.summary,
            evidence: hit.evidence,
        }
    }

    fn contact_str(&self, name: &str) -> Option<&str> {
        self.contact.get(name).and_then(Value::as_str)
    }
}

/// A skill a team member covers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Covered {
    /// Taxonomy label of the needed skill.
    pub skill: String,
    /// Their level, 1-4.
    pub level: u8,
}

/// One chosen person.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TeamMember {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Km from `near`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// Needed skills they cover, at the needed level or above.
    pub covers: Vec<Covered>,
    /// Role, email, grade, clearance, review date, availability, town...
    #[schema(value_type = Object)]
    pub contact: Value,
    /// Case studies that back their skills.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Why they were chosen, in a sentence.
    pub why: String,
}

/// A person one relaxed constraint away from eligible.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Alternative {
    /// The one constraint relaxed: `min_level`, `clearance`, `availability`, `within_km`,
    /// `departments`, `max_per_department` or `team_size`; `several` when nobody is one
    /// constraint away (then `detail` lists every shortfall).
    pub relax: String,
    /// How this person falls short of it.
    pub detail: String,
    /// The person.
    pub member: Candidate,
}

/// A needed skill the team does not cover.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Uncovered {
    /// Taxonomy label.
    pub skill: String,
    /// Level that was needed.
    pub min_level: u8,
    /// Why nobody covers it.
    pub reason: String,
    /// Nearest alternatives, each relaxing one constraint.
    pub alternatives: Vec<Alternative>,
}

/// Backups for one skill.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Alternates {
    /// Taxonomy label.
    pub skill: String,
    /// Eligible people not in the team, best first.
    pub members: Vec<Candidate>,
}

/// A facility that has every capability asked for.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityMatch {
    /// Facility id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Km from `near`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// Establishment, capabilities, access clearance, status, town.
    #[schema(value_type = Object)]
    pub details: Value,
}

/// A facility one relaxed constraint away.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityAlternative {
    /// `within_km`, `clearance` or `facility_capabilities` (has some, not all).
    pub relax: String,
    /// The facility.
    pub facility: FacilityMatch,
}

/// The hard constraints applied, defaults included, so nothing is assumed silently.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Constraints {
    /// Minimum clearance, in date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearance: Option<Clearance>,
    /// Availability at most.
    pub availability: Availability,
    /// Where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near: Option<Point>,
    /// How far from `near`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_km: Option<f64>,
    /// Team size.
    pub team_size: usize,
    /// People per department at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_department: Option<usize>,
    /// Only these departments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<String>,
    /// Member ids left out.
    pub excluded: usize,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MusterAnswer {
    /// The need, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    /// Skills asked for (or inferred), resolved through the taxonomy.
    pub skills: Vec<Need>,
    /// The hard constraints applied.
    pub constraints: Constraints,
    /// Labels of skills inferred from `need` (empty when skills were listed).
    pub inferred_skills: Vec<String>,
    /// The team, in the order chosen.
    pub team: Vec<TeamMember>,
    /// Needed skills nobody in the team covers, with alternatives.
    pub uncovered: Vec<Uncovered>,
    /// Ranked backups per skill.
    pub alternates: Vec<Alternates>,
    /// Facilities with every capability asked for, nearest (or best) first.
    pub facilities: Vec<FacilityMatch>,
    /// When no facility meets every constraint: the nearest, each relaxing one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facility_alternatives: Vec<FacilityAlternative>,
    /// Time taken.
    pub took_ms: f64,
}

/// A constraint that an alternative relaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relax {
    Nothing,
    Level,
    Clearance,
    Availability,
    Distance,
    Departments,
    /// Every constraint but visibility and `exclude`: the last resort.
    All,
}

/// Whether `c` falls short of the constraint `relax` stands for.
fn short_of(request: &MusterRequest, need: &Need, relax: Relax, c: &Candidate) -> bool {
    let text = |name: &str| c.contact_str(name);
    match relax {
        Relax::Nothing | Relax::All => false,
        Relax::Level => c.level < need.min_level,
        Relax::Clearance => request.clearance.is_some_and(|wanted| {
            let held = text("clearance").and_then(Clearance::parse);
            let lapsed = text("clearance_review_due")
                .and_then(|d| crate::model::date_format::parse(d, "clearance_review_due").ok())
                .is_some_and(|d| d < request.today);
            held.is_none_or(|h| h < wanted) || lapsed
        }),
        Relax::Availability => text("availability")
            .and_then(Availability::parse)
            .is_none_or(|a| a > request.availability),
        Relax::Distance => request
            .near
            .and_then(|n| n.within_km)
            .is_some_and(|limit| c.distance_km.is_none_or(|d| d > limit)),
        Relax::Departments => {
            !request.departments.is_empty()
                && !c
                    .department
                    .as_deref()
                    .is_some_and(|d| request.departments.iter().any(|x| x == d))
        }
    }
}

fn member_search(
    index: &MusterIndex,
    request: &MusterRequest,
    need: &Need,
    relax: Relax,
) -> Result<Vec<Candidate>> {
    let mut r = SearchRequest::new(Kind::Member, request.max_marking, request.today);
    r.facets = false;
    r.limit = (CANDIDATES + request.exclude.len()).min(search::MAX_LIMIT);
    r.filters.skills = vec![need.skill_id.clone().unwrap_or_else(|| need.skill.clone())];
    let keep = |constraint: Relax| relax != constraint && relax != Relax::All;
    if keep(Relax::Level) {
        r.filters.min_level = Level::from_number(u64::from(need.min_level));
    }
    if keep(Relax::Clearance) {
        r.filters.clearance = request.clearance;
    }
    if keep(Relax::Availability) {
        r.filters.availability = Some(request.availability);
    }
    if keep(Relax::Departments) {
        r.filters.departments = request.departments.clone();
    }
    r.filters.near = request.near.map(|near| Near {
        within_km: if keep(Relax::Distance) {
            near.within_km
        } else {
            None
        },
        ..near
    });
    let response = search::search(index, &r)?;
    let mut candidates: Vec<Candidate> = response
        .hits
        .into_iter()
        .filter(|h| !request.exclude.contains(&h.id))
        .map(|h| Candidate::from_hit(h, need))
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(candidates)
}

/// How a relaxed alternative falls short; `None` when it does not (it is eligible after all).
fn shortfall(request: &MusterRequest, need: &Need, relax: Relax, c: &Candidate) -> Option<String> {
    let text = |name: &str| c.contact_str(name).unwrap_or("none").to_string();
    match relax {
        Relax::Nothing => None,
        Relax::Level => (c.level < need.min_level)
            .then(|| format!("level {} (needs {})", c.level, need.min_level)),
        Relax::Clearance => {
            let wanted = request.clearance?;
            let held = c.contact_str("clearance").and_then(Clearance::parse);
            let due = c
                .contact_str("clearance_review_due")
                .and_then(|d| crate::model::date_format::parse(d, "clearance_review_due").ok());
            match (held, due) {
                (Some(h), Some(d)) if h >= wanted && d < request.today => Some(format!(
                    "{h} clearance lapsed: review was due {d} (needs {wanted})"
                )),
                (Some(h), _) if h >= wanted => None,
                _ => Some(format!("clearance {} (needs {wanted})", text("clearance"))),
            }
        }
        Relax::Availability => Some(format!(
            "availability {} (needs {} or sooner)",
            text("availability"),
            request.availability
        )),
        Relax::All => {
            let parts: Vec<String> = [
                Relax::Level,
                Relax::Clearance,
                Relax::Availability,
                Relax::Distance,
                Relax::Departments,
            ]
            .into_iter()
            .filter(|&r| short_of(request, need, r, c))
            .filter_map(|r| shortfall(request, need, r, c))
            .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        Relax::Distance => Some(format!(
            "{:.0} km away (limit {:.0} km)",
            c.distance_km?, request.near?.within_km?
        )),
        Relax::Departments => Some(format!(
            "in {} (asked: {})",
            c.department.as_deref().unwrap_or("no department"),
            request.departments.join(", ")
        )),
    }
}

/// Alternatives for a skill nobody eligible holds: one constraint relaxed at a time.
fn relaxed_alternatives(
    index: &MusterIndex,
    request: &MusterRequest,
    need: &Need,
) -> Result<Vec<Alternative>> {
    let mut relaxations = Vec::new();
    if need.min_level > 1 {
        relaxations.push((Relax::Level, "min_level"));
    }
    if request.clearance.is_some() {
        relaxations.push((Relax::Clearance, "clearance"));
    }
    if request.availability < Availability::Unavailable {
        relaxations.push((Relax::Availability, "availability"));
    }
    if request.near.is_some_and(|n| n.within_km.is_some()) {
        relaxations.push((Relax::Distance, "within_km"));
    }
    if !request.departments.is_empty() {
        relaxations.push((Relax::Departments, "departments"));
    }
    let mut out = Vec::new();
    for &(relax, name) in &relaxations {
        let found = member_search(index, request, need, relax)?;
        out.extend(
            found
                .into_iter()
                .filter_map(|c| {
                    shortfall(request, need, relax, &c).map(|detail| Alternative {
                        relax: name.to_string(),
                        detail,
                        member: c,
                    })
                })
                .take(PER_RELAXATION),
        );
    }
    if out.is_empty() && relaxations.len() > 1 {
        // nobody is one step away: show who holds the skill at all, and every way they fall short
        out.extend(
            member_search(index, request, need, Relax::All)?
                .into_iter()
                .filter_map(|c| {
                    shortfall(request, need, Relax::All, &c).map(|detail| Alternative {
                        relax: "several".to_string(),
                        detail,
                        member: c,
                    })
                })
                .take(PER_RELAXATION),
        );
    }
    Ok(out)
}

/// The ordering key of a candidate: larger is better. Integers keep it total and deterministic.
type Key = (usize, u64, bool, i64, i64, Reverse<String>);

fn key(
    gain: usize,
    levels: u64,
    new_department: bool,
    score: f32,
    distance: Option<f64>,
    id: &str,
) -> Key {
    (
        gain,
        levels,
        new_department,
        (f64::from(score) * 1000.0).round() as i64,
        distance.map_or(i64::MIN, |d| -((d * 10.0).round() as i64)),
        Reverse(id.to_string()),
    )
}

/// Everything one person could bring: per needed skill, their candidate entry.
struct Person {
    by_skill: BTreeMap<usize, Candidate>,
}

impl Person {
    fn any(&self) -> &Candidate {
        self.by_skill
            .values()
            .next()
            .expect("a person covers a skill")
    }
}

/// Runs a muster.
pub fn muster(index: &MusterIndex, request: &MusterRequest) -> Result<MusterAnswer> {
    let started = Instant::now();
    let eligible: Vec<Vec<Candidate>> = request
        .skills
        .iter()
        .map(|need| member_search(index, request, need, Relax::Nothing))
        .collect::<Result<_>>()?;
    let mut people: BTreeMap<String, Person> = BTreeMap::new();
    for (i, candidates) in eligible.iter().enumerate() {
        for c in candidates {
            people
                .entry(c.id.clone())
                .or_insert_with(|| Person {
                    by_skill: BTreeMap::new(),
                })
                .by_skill
                .insert(i, c.clone());
        }
    }

    let mut team: Vec<String> = Vec::new();
    let mut per_department: BTreeMap<String, usize> = BTreeMap::new();
    let mut depth = vec![0usize; request.skills.len()];
    let department_of = |p: &Person| p.any().department.clone().unwrap_or_default();
    let room = |per_department: &BTreeMap<String, usize>, p: &Person| {
        request
            .max_per_department
            .is_none_or(|cap| per_department.get(&department_of(p)).copied().unwrap_or(0) < cap)
    };
    while team.len() < request.team_size {
        let uncovered: BTreeSet<usize> = (0..request.skills.len())
            .filter(|&i| depth[i] == 0 && !eligible[i].is_empty())
            .collect();
        let covering = !uncovered.is_empty();
        let best = people
            .iter()
            .filter(|(id, p)| !team.contains(id) && room(&per_department, p))
            .filter_map(|(id, p)| {
                let skills: Vec<usize> = if covering {
                    p.by_skill
                        .keys()
                        .copied()
                        .filter(|i| uncovered.contains(i))
                        .collect()
                } else {
                    // depth: the thinnest covered skill they hold
                    let thinnest = p.by_skill.keys().map(|&i| depth[i]).min()?;
                    p.by_skill
                        .keys()
                        .copied()
                        .filter(|&i| depth[i] == thinnest)
                        .collect()
                };
                if skills.is_empty() {
                    return None;
                }
                let gain = if covering {
                    skills.len()
                } else {
                    usize::MAX - p.by_skill.keys().map(|&i| depth[i]).min().unwrap_or(0)
                };
                let levels = skills.iter().map(|i| u64::from(p.by_skill[i].level)).sum();
                let score = skills.iter().map(|i| p.by_skill[i].score).sum();
                let new_department = !per_department.contains_key(&department_of(p));
                Some((
                    key(gain, levels, new_department, score, p.any().distance_km, id),
                    id.clone(),
                ))
            })
            .max();
        let Some((_, id)) = best else { break };
        let person = &people[&id];
        for &i in person.by_skill.keys() {
            depth[i] += 1;
        }
        *per_department.entry(department_of(person)).or_insert(0) += 1;
        team.push(id);
    }

    let team_members: Vec<TeamMember> = team
        .iter()
        .map(|id| team_member(request, &people[id]))
        .collect();

    let mut uncovered = Vec::new();
    for (i, need) in request.skills.iter().enumerate() {
        if depth[i] > 0 {
            continue;
        }
        let (reason, alternatives) = if eligible[i].is_empty() {
            let alternatives = relaxed_alternatives(index, request, need)?;
            let reason = if alternatives.is_empty() {
                "nobody visible to you (and not excluded) has recorded this skill at all"
                    .to_string()
            } else if alternatives.iter().any(|a| a.relax == "several") {
                "nobody visible to you is one constraint away; the alternatives hold the skill \
                 but fall short in several ways"
                    .to_string()
            } else {
                "nobody visible to you meets every constraint for this skill; \
                 the alternatives each relax one"
                    .to_string()
            };
            (reason, alternatives)
        } else {
            let full = team.len() >= request.team_size;
            let (reason, relax) = if full {
                (
                    format!(
                        "the team is full (team_size {}) before this skill was reached",
                        request.team_size
                    ),
                    "team_size",
                )
            } else {
                (
                    format!(
                        "everyone eligible is in a department that already has {} in the team \
                         (max_per_department)",
                        request.max_per_department.unwrap_or(0)
                    ),
                    "max_per_department",
                )
            };
            let alternatives = eligible[i]
                .iter()
                .take(PER_RELAXATION)
                .map(|c| Alternative {
                    relax: relax.to_string(),
                    detail: format!(
                        "eligible at level {}, in {}",
                        c.level,
                        c.department.as_deref().unwrap_or("no department")
                    ),
                    member: c.clone(),
                })
                .collect();
            (reason, alternatives)
        };
        uncovered.push(Uncovered {
            skill: need.skill.clone(),
            min_level: need.min_level,
            reason,
            alternatives,
        });
    }

    let alternates = request
        .skills
        .iter()
        .zip(&eligible)
        .map(|(need, candidates)| Alternates {
            skill: need.skill.clone(),
            members: candidates
                .iter()
                .filter(|c| !team.contains(&c.id))
                .take(ALTERNATES)
                .cloned()
                .collect(),
        })
        .collect();

    let (facilities, facility_alternatives) = facilities(index, request)?;
    Ok(MusterAnswer {
        need: request.need.clone(),
        inferred_skills: request
            .skills
            .iter()
            .filter(|n| n.inferred)
            .map(|n| n.skill.clone())
            .collect(),
        skills: request.skills.clone(),
        constraints: Constraints {
            clearance: request.clearance,
            availability: request.availability,
            near: request.near.map(|n| Point {
                lat: n.lat,
                lon: n.lon,
            }),
            within_km: request.near.and_then(|n| n.within_km),
            team_size: request.team_size,
            max_per_department: request.max_per_department,
            departments: request.departments.clone(),
            excluded: request.exclude.len(),
        },
        team: team_members,
        uncovered,
        alternates,
        facilities,
        facility_alternatives,
        took_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    })
}

fn level_name(level: u8) -> &'static str {
    Level::from_number(u64::from(level)).map_or("", |l| l.as_str())
}

fn team_member(request: &MusterRequest, person: &Person) -> TeamMember {
    let first = person.any();
    let covers: Vec<Covered> = person
        .by_skill
        .iter()
        .map(|(&i, c)| Covered {
            skill: request.skills[i].skill.clone(),
            level: c.level,
        })
        .collect();
    let mut evidence: Vec<Evidence> = Vec::new();
    for c in person.by_skill.values() {
        for e in &c.evidence {
            if !evidence.iter().any(|x| x.case_study == e.case_study) {
                evidence.push(e.clone());
            }
        }
    }
    let skills: Vec<String> = covers
        .iter()
        .map(|c| format!("{} at level {} ({})", c.skill, c.level, level_name(c.level)))
        .collect();
    let mut why = format!("Covers {}", skills.join(" and "));
    if !evidence.is_empty() {
        why.push_str(&format!(
            "; {} case stud{} as evidence",
            evidence.len(),
            if evidence.len() == 1 { "y" } else { "ies" }
        ));
    }
    if let Some(d) = &first.department {
        why.push_str(&format!("; {d}"));
    }
    if let Some(c) = first.contact_str("clearance") {
        why.push_str(&format!("; {c} cleared"));
    }
    if let Some(a) = first.contact_str("availability") {
        why.push_str(&format!("; available {a}"));
    }
    if let Some(km) = first.distance_km {
        why.push_str(&format!("; {km:.0} km away"));
    }
    why.push('.');
    TeamMember {
        id: first.id.clone(),
        name: first.name.clone(),
        department: first.department.clone(),
        distance_km: first.distance_km,
        covers,
        contact: first.contact.clone(),
        evidence,
        why,
    }
}

/// Facilities having one capability, in search order.
fn facility_search(
    index: &MusterIndex,
    request: &MusterRequest,
    capability: &str,
    relax: Relax,
) -> Result<Vec<FacilityMatch>> {
    let mut r = SearchRequest::new(Kind::Facility, request.max_marking, request.today);
    r.facets = false;
    r.limit = search::MAX_LIMIT;
    r.filters.skills = vec![capability.to_string()];
    if relax != Relax::Clearance {
        r.filters.clearance = request.clearance;
    }
    r.filters.near = request.near.map(|near| Near {
        within_km: if relax == Relax::Distance {
            None
        } else {
            near.within_km
        },
        ..near
    });
    if r.filters.near.is_some() {
        r.sort = SortOrder::Distance;
    }
    let response = search::search(index, &r)?;
    Ok(response
        .hits
        .into_iter()
        .map(|h| FacilityMatch {
            id: h.id,
            name: h.name,
            department: h.department,
            distance_km: h.distance_km,
            details: h.summary,
        })
        .collect())
}

/// Facilities with every capability, in the order of the first capability's search.
fn facilities_with_all(
    index: &MusterIndex,
    request: &MusterRequest,
    relax: Relax,
) -> Result<Vec<FacilityMatch>> {
    let mut lists = request
        .facility_capabilities
        .iter()
        .map(|c| facility_search(index, request, c, relax))
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let Some(first) = lists.next() else {
        return Ok(Vec::new());
    };
    let others: Vec<BTreeSet<String>> = lists
        .map(|l| l.into_iter().map(|f| f.id).collect())
        .collect();
    Ok(first
        .into_iter()
        .filter(|f| others.iter().all(|ids| ids.contains(&f.id)))
        .collect())
}

fn facilities(
    index: &MusterIndex,
    request: &MusterRequest,
) -> Result<(Vec<FacilityMatch>, Vec<FacilityAlternative>)> {
    if request.facility_capabilities.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut found = facilities_with_all(index, request, Relax::Nothing)?;
    if !found.is_empty() {
        found.truncate(MAX_FACILITIES);
        return Ok((found, Vec::new()));
    }
    let mut alternatives = Vec::new();
    if request.near.is_some_and(|n| n.within_km.is_some()) {
        for f in facilities_with_all(index, request, Relax::Distance)?
            .into_iter()
            .take(PER_RELAXATION)
        {
            alternatives.push(FacilityAlternative {
                relax: "within_km".into(),
                facility: f,
            });
        }
    }
    if request.clearance.is_some() {
        for f in facilities_with_all(index, request, Relax::Clearance)?
            .into_iter()
            .take(PER_RELAXATION)
        {
            alternatives.push(FacilityAlternative {
                relax: "clearance".into(),
                facility: f,
            });
        }
    }
    if request.facility_capabilities.len() > 1 {
        let mut seen = BTreeSet::new();
        for capability in &request.facility_capabilities {
            for f in facility_search(index, request, capability, Relax::Nothing)?
                .into_iter()
                .take(PER_RELAXATION)
            {
                if seen.insert(f.id.clone()) {
                    alternatives.push(FacilityAlternative {
                        relax: "facility_capabilities".into(),
                        facility: f,
                    });
                }
            }
        }
    }
    Ok((Vec::new(), alternatives))
}

/// Quotes a spreadsheet cell that would otherwise be read as a formula.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The answer as a contact sheet: the team, then alternates per skill, then facilities.
pub fn to_csv(answer: &MusterAnswer) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "role",
        "skills",
        "name",
        "department",
        "email",
        "clearance",
        "availability",
        "town",
        "distance_km",
        "id",
        "why",
    ];
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [String; 11]| {
        let row: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.write_record(&row)
            .map_err(|e| Error::Io(std::io::Error::other(e)))
    };
    let get = |v: &Value, name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let km = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_default();
    write(&mut out, header.map(String::from))?;
    for m in &answer.team {
        let skills: Vec<String> = m
            .covers
            .iter()
            .map(|c| format!("{} ({})", c.skill, c.level))
            .collect();
        write(
            &mut out,
            [
                "team".into(),
                skills.join("; "),
                m.name.clone(),
                m.department.clone().unwrap_or_default(),
                get(&m.contact, "email"),
                get(&m.contact, "clearance"),
                get(&m.contact, "availability"),
                get(&m.contact, "town"),
                km(m.distance_km),
                m.id.clone(),
                m.why.clone(),
            ],
        )?;
    }
    for a in &answer.alternates {
        for c in &a.members {
            write(
                &mut out,
                [
                    "alternate".into(),
                    format!("{} ({})", a.skill, c.level),
                    c.name.clone(),
                    c.department.clone().unwrap_or_default(),
                    get(&c.contact, "email"),
                    get(&c.contact, "clearance"),
                    get(&c.contact, "availability"),
                    get(&c.contact, "town"),
                    km(c.distance_km),
                    c.id.clone(),
                    String::new(),
                ],
            )?;
        }
    }
    for f in &answer.facilities {
        let capabilities: Vec<String> = f.details["capabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(String::from))
            .collect();
        write(
            &mut out,
            [
                "facility".into(),
                capabilities.join("; "),
                f.name.clone(),
                f.department.clone().unwrap_or_default(),
                String::new(),
                get(&f.details, "access_clearance"),
                get(&f.details, "status"),
                get(&f.details, "town"),
                km(f.distance_km),
                f.id.clone(),
                get(&f.details, "establishment"),
            ],
        )?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    String::from_utf8(bytes).map_err(|e| Error::Io(std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse_json_line;
    use crate::search::tests::{TODAY, fixture_index};
    use crate::taxonomy::Taxonomy;

    fn body(json: &str) -> MusterBody {
        serde_json::from_str(json).unwrap()
    }

    fn run(index: &MusterIndex, json: &str, marking: Marking) -> MusterAnswer {
        let request = MusterRequest::from_body(body(json), index, marking, TODAY).unwrap();
        muster(index, &request).unwrap()
    }

    fn contact<'a>(m: &'a TeamMember, name: &str) -> &'a str {
        m.contact[name].as_str().unwrap_or("")
    }

    const EMERGENCY: &str = r#"{"need": "novel respiratory pathogen",
        "skills": [{"skill": "epidemiological modelling", "min_level": 3},
                   {"skill": "bayesian statistics"}, {"skill": "Health economics", "min_level": "practitioner"}],
        "clearance": "SC", "availability": "24h", "near": {"lat": 51.5, "lon": -0.12}, "within_km": 150,
        "team_size": 5, "max_per_department": 2, "facility_capabilities": ["whole genome sequencing"], "exclude": ["m-01093"]}"#;

    #[test]
    fn the_emergency_team_covers_every_skill_within_every_hard_constraint() {
        let index = fixture_index();
        let answer = run(index, EMERGENCY, Marking::Official);
        assert!(answer.uncovered.is_empty(), "{:?}", answer.uncovered);
        assert_eq!(answer.team.len(), 5);
        for (skill, level) in [
            ("Epidemiological modelling", 3),
            ("Bayesian statistics", 1),
            ("Health economics", 3),
        ] {
            assert!(
                answer.team.iter().any(|m| m
                    .covers
                    .iter()
                    .any(|c| c.skill == skill && c.level >= level)),
                "{skill} is covered at level {level}+"
            );
        }
        let mut per_department: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &answer.team {
            assert_ne!(m.id, "m-01093", "excluded");
            let clearance = Clearance::parse(contact(m, "clearance")).unwrap();
            assert!(clearance >= Clearance::Sc, "{}: {clearance}", m.id);
            if let Some(due) = m
                .contact
                .get("clearance_review_due")
                .and_then(Value::as_str)
            {
                assert!(due >= "2026-11-22", "{} clearance lapsed {due}", m.id);
            }
            let availability = Availability::parse(contact(m, "availability")).unwrap();
            assert!(availability <= Availability::Within24h, "{}", m.id);
            assert!(m.distance_km.unwrap() <= 150.0, "{}", m.id);
            assert!(!m.why.is_empty());
            *per_department
                .entry(m.department.as_deref().unwrap())
                .or_default() += 1;
        }
        assert!(per_department.len() >= 3, "{per_department:?}");
        assert!(
            per_department.values().all(|&n| n <= 2),
            "{per_department:?}"
        );
        // backups exist and are not in the team
        assert!(answer.alternates.iter().any(|a| !a.members.is_empty()));
        for a in &answer.alternates {
            for c in &a.members {
                assert!(!answer.team.iter().any(|m| m.id == c.id));
            }
        }
        // a sequencing facility within 150 km, nearest first, with its access clearance
        assert!(!answer.facilities.is_empty());
        let distances: Vec<f64> = answer
            .facilities
            .iter()
            .map(|f| f.distance_km.unwrap())
            .collect();
        assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
        assert!(distances.iter().all(|&d| d <= 150.0));
        assert!(
            answer.facilities[0]
                .details
                .get("access_clearance")
                .is_some()
        );
    }

    #[test]
    fn the_same_request_gives_the_same_team() {
        let index = fixture_index();
        let mut first = run(index, EMERGENCY, Marking::Official);
        let mut second = run(index, EMERGENCY, Marking::Official);
        first.took_ms = 0.0;
        second.took_ms = 0.0;
        assert_eq!(first, second);
    }

    #[test]
    fn an_impossible_skill_is_uncovered_with_alternatives_that_each_relax_one_constraint() {
        let index = fixture_index();
        let answer = run(
            index,
            r#"{"skills": [{"skill": "Virology", "min_level": 4}, {"skill": "Statistics"}],
                "clearance": "eDV"}"#,
            Marking::Official,
        );
        let virology = answer
            .uncovered
            .iter()
            .find(|u| u.skill == "Virology")
            .expect("nobody has virology at 4 with eDV, available now");
        assert_eq!(virology.min_level, 4);
        assert!(!virology.alternatives.is_empty());
        for a in &virology.alternatives {
            assert!(
                ["min_level", "clearance", "availability"].contains(&a.relax.as_str()),
                "{}",
                a.relax
            );
            assert!(!answer.team.iter().any(|m| m.id == a.member.id));
        }
        let clearance = virology
            .alternatives
            .iter()
            .find(|a| a.relax == "clearance")
            .expect("someone holds virology at 4 with a lower clearance");
        assert_eq!(clearance.member.level, 4);
        assert!(
            clearance.detail.contains("needs eDV"),
            "{}",
            clearance.detail
        );
        // the skill that could be covered was
        assert!(
            answer
                .team
                .iter()
                .any(|m| m.covers.iter().any(|c| c.skill == "Statistics"))
        );
        // a skill nobody has at all says so
        let answer = run(
            index,
            r#"{"skills": [{"skill": "underwater basket weaving"}]}"#,
            Marking::Official,
        );
        assert!(answer.team.is_empty());
        assert!(answer.uncovered[0].reason.contains("at all"));
        assert!(answer.uncovered[0].alternatives.is_empty());
    }

    #[test]
    fn max_per_department_holds_and_a_capped_skill_says_so() {
        let index = fixture_index();
        let answer = run(
            index,
            r#"{"skills": [{"skill": "Statistics"}, {"skill": "Epidemiology"}, {"skill": "Virology"}],
                "team_size": 8, "max_per_department": 1}"#,
            Marking::Official,
        );
        assert_eq!(answer.team.len(), 8);
        let departments: BTreeSet<&str> = answer
            .team
            .iter()
            .map(|m| m.department.as_deref().unwrap())
            .collect();
        assert_eq!(departments.len(), 8, "one per department");
        // only Dstl people, one of them: the second skill cannot be staffed
        let answer = run(
            index,
            r#"{"skills": [{"skill": "Statistics", "min_level": 4}, {"skill": "Operational research", "min_level": 4}],
                "departments": ["Dstl"], "max_per_department": 1, "team_size": 2}"#,
            Marking::Official,
        );
        // in the fixtures nobody in Dstl holds both at level 4
        assert_eq!(answer.team.len(), 1);
        assert_eq!(answer.team[0].covers.len(), 1);
        let capped = &answer.uncovered[0];
        assert!(
            capped.reason.contains("max_per_department"),
            "{}",
            capped.reason
        );
        assert!(!capped.alternatives.is_empty());
        for a in &capped.alternatives {
            assert_eq!(a.relax, "max_per_department");
            assert_eq!(a.member.department.as_deref(), Some("Dstl"));
            assert_eq!(a.member.level, 4);
        }
    }

    fn index_of(members: &[&str]) -> MusterIndex {
        let records: Vec<_> = members
            .iter()
            .map(|l| parse_json_line(Kind::Member, l).unwrap().record)
            .collect();
        crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
    }

    #[test]
    fn a_lapsed_clearance_does_not_count_and_the_alternative_says_it_lapsed() {
        let index = index_of(&[
            r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2025-01-01","availability":"now","skills":[{"name":"Virology","level":4}]}"#,
            r#"{"id":"m-valid","name":"Val Valid","department":"UKHSA","clearance":"SC","clearance_review_due":"2030-01-01","availability":"now","skills":[{"name":"Virology","level":2}]}"#,
        ]);
        let answer = run(
            &index,
            r#"{"skills": [{"skill": "virology"}], "clearance": "SC"}"#,
            Marking::Official,
        );
        let ids: Vec<&str> = answer.team.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec!["m-valid"]);
        let answer = run(
            &index,
            r#"{"skills": [{"skill": "virology", "min_level": 4}], "clearance": "SC"}"#,
            Marking::Official,
        );
        assert!(answer.team.is_empty());
        let alternative = &answer.uncovered[0].alternatives;
        let lapsed = alternative
            .iter()
            .find(|a| a.member.id == "m-lapsed")
            .unwrap();
        assert_eq!(lapsed.relax, "clearance");
        assert!(lapsed.detail.contains("lapsed"), "{}", lapsed.detail);
    }

    #[test]
    fn a_hidden_member_or_facility_never_appears_anywhere_in_a_muster() {
        let members = [
            r#"{"id":"m-open","name":"Olu Open","department":"UKHSA","clearance":"SC","availability":"now","skills":[{"name":"Virology","level":2}]}"#,
            r#"{"id":"m-secret","name":"Sam Secret","department":"Dstl","clearance":"DV","availability":"now","marking":"OFFICIAL-SENSITIVE","skills":[{"name":"Virology","level":4},{"name":"Energetics","level":4}]}"#,
        ];
        let mut records: Vec<_> = members
            .iter()
            .map(|l| parse_json_line(Kind::Member, l).unwrap().record)
            .collect();
        for line in [
            r#"{"id":"f-open","name":"Open CL3 suite","department":"UKHSA","capabilities":["CL3"],"location":{"town":"Colindale","lat":51.596,"lon":-0.248}}"#,
            r#"{"id":"f-secret","name":"Quiet CL3 suite","department":"Dstl","capabilities":["CL3"],"marking":"OFFICIAL-SENSITIVE","location":{"town":"Porton","lat":51.13,"lon":-1.70}}"#,
        ] {
            records.push(parse_json_line(Kind::Facility, line).unwrap().record);
        }
        let index = crate::index::in_ram(&records, Taxonomy::builtin()).unwrap();
        let request = r#"{"skills": [{"skill": "virology", "min_level": 3}, {"skill": "energetics"}],
                          "facility_capabilities": ["CL3"], "near": {"lat": 51.5, "lon": -0.1}}"#;
        let official = serde_json::to_string(&run(&index, request, Marking::Official)).unwrap();
        for secret in ["m-secret", "Sam Secret", "f-secret", "Quiet"] {
            assert!(!official.contains(secret), "{secret} leaked: {official}");
        }
        let answer = run(&index, request, Marking::Official);
        assert_eq!(answer.uncovered.len(), 2);
        assert!(answer.uncovered[1].reason.contains("at all"));
        let sensitive = run(&index, request, Marking::OfficialSensitive);
        assert_eq!(sensitive.team[0].id, "m-secret");
        assert!(sensitive.facilities.iter().any(|f| f.id == "f-secret"));
    }

    #[test]
    fn a_need_alone_is_turned_into_skills_and_says_which() {
        let index = fixture_index();
        let answer = run(
            index,
            r#"{"need": "A novel respiratory pathogen: we need people who can do epidemiological modelling, Bayesian statistics and health economics"}"#,
            Marking::Official,
        );
        assert_eq!(
            answer.inferred_skills,
            vec![
                "Epidemiological modelling",
                "Bayesian statistics",
                "Health economics"
            ]
        );
        assert!(answer.skills.iter().all(|s| s.inferred));
        assert!(answer.uncovered.is_empty());
        let error = MusterRequest::from_body(
            body(r#"{"need": "something vague happened"}"#),
            index,
            Marking::Official,
            TODAY,
        )
        .unwrap_err();
        assert!(matches!(error, Error::InvalidField { ref field, .. } if field == "need"));
    }

    #[test]
    fn bad_fields_are_named() {
        let index = fixture_index();
        for (json, field) in [
            (r#"{}"#, "skills"),
            (
                r#"{"skills": [{"skill": "virology", "min_level": 5}]}"#,
                "skills[0].min_level",
            ),
            (r#"{"skills": [{"skill": " "}]}"#, "skills[0].skill"),
            (
                r#"{"skills": [{"skill": "virology"}, {"skill": "Virology"}]}"#,
                "skills[1].skill",
            ),
            (
                r#"{"skills": [{"skill": "virology"}], "clearance": "TS"}"#,
                "clearance",
            ),
            (
                r#"{"skills": [{"skill": "virology"}], "within_km": 10}"#,
                "within_km",
            ),
            (
                r#"{"skills": [{"skill": "virology"}], "near": {"lat": 95, "lon": 0}}"#,
                "near.lat",
            ),
            (
                r#"{"skills": [{"skill": "virology"}], "team_size": 0}"#,
                "team_size",
            ),
            (
                r#"{"skills": [{"skill": "virology"}], "max_per_department": 0}"#,
                "max_per_department",
            ),
            (
                r#"{"skills": [{"skill": "virology"}], "departments": ["Ministry of Magic"]}"#,
                "departments[0]",
            ),
        ] {
            let error =
                MusterRequest::from_body(body(json), index, Marking::Official, TODAY).unwrap_err();
            assert!(
                matches!(error, Error::InvalidField { field: ref f, .. } if f == field),
                "{json}: {error}"
            );
        }
    }

    #[test]
    fn the_contact_sheet_lists_team_alternates_and_facilities_and_defuses_formulas() {
        let index = fixture_index();
        let mut answer = run(index, EMERGENCY, Marking::Official);
        answer.team[0].name = "=HYPERLINK(\"http://evil\")".into();
        let sheet = to_csv(&answer).unwrap();
        let mut reader = csv::Reader::from_reader(sheet.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let roles: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(roles.iter().filter(|r| **r == "team").count(), 5);
        assert!(roles.contains(&"alternate") && roles.contains(&"facility"));
        assert!(rows[0][2].starts_with("'="), "{}", &rows[0][2]);
        assert!(rows[1][4].contains('@'), "an email to write to");
    }
}
