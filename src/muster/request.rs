//! A muster request: the body as sent (skills, or a need in words), checked into a
//! [`MusterRequest`] with every fault naming its field.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;
use utoipa::ToSchema;

use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, Level, Marking};
use crate::reference::Reference;
use crate::search::Near;
use crate::{Error, Result};

use super::need::{availability_in, clearance_in, infer};

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
pub(super) const CANDIDATES: usize = 25;

/// Backups listed per skill.
pub(super) const ALTERNATES: usize = 3;

/// Alternatives listed per relaxed constraint.
pub(super) const PER_RELAXATION: usize = 3;

/// Facilities listed.
pub(super) const MAX_FACILITIES: usize = 10;

/// Facilities listed per capability when each capability gets its own.
pub(super) const PER_CAPABILITY: usize = 3;

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
    /// Facility capabilities needed (e.g. `CL4`); inferred from `need` when not given.
    #[serde(default)]
    pub facility_capabilities: Vec<String>,
    /// `all` (default when capabilities are listed): facilities that have every capability;
    /// `each` (default when they are inferred from `need`): the best facilities for each one.
    #[serde(default)]
    pub facility_match: Option<String>,
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
    /// For an inferred skill, where its level came from: the words of the need that set it, or
    /// the default for an emergency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_from: Option<String>,
    /// Searched as text: the need names no concept of the taxonomy, so the team is found by
    /// the words of the need.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_text: bool,
}

/// How facilities must match the capabilities asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FacilityMatchMode {
    /// One facility with every capability.
    All,
    /// A facility for each capability.
    Each,
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
    /// Facility capabilities.
    pub facility_capabilities: Vec<String>,
    /// Whether one facility must have them all, or a facility each.
    pub facility_match: FacilityMatchMode,
    /// The capabilities were inferred from `need`.
    pub capabilities_inferred: bool,
    /// Constraints taken from the words of `need` (not given as fields), said back plainly.
    pub taken_from_need: Vec<String>,
    /// Member ids left out.
    pub exclude: BTreeSet<String>,
    /// Highest marking the caller may read.
    pub max_marking: Marking,
    /// The date clearances are checked against.
    pub today: Date,
    /// The caller has the vetting permission (see [`MusterRequest::permitted`]).
    pub vetting: bool,
}

impl MusterRequest {
    /// Applies the caller's vetting permission. Without it a muster that needs a clearance
    /// (asked for, or read from the need's words) is refused, naming `clearance`, and the answer
    /// shows no one's clearance.
    pub fn permitted(mut self, vetting: bool) -> Result<MusterRequest> {
        if !vetting && self.clearance.is_some() {
            return Err(Error::NotPermitted {
                field: "clearance".into(),
                reason: crate::access::VETTING_NEEDED.into(),
            });
        }
        self.vetting = vetting;
        Ok(self)
    }
}

pub(super) fn level_of(value: &Value, field: &str) -> Result<Level> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(Error::field(field, "must be 1-4 or a level name")),
    };
    Level::parse_field(&text, field)
}

pub(super) fn bounded_text(text: &str, field: &str, max: usize) -> Result<String> {
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
            let (nodes, _) = taxonomy.resolve(&asked);
            if nodes.len() > 1 {
                let labels: Vec<&str> = nodes
                    .iter()
                    .map(|&n| taxonomy.node(n).label.as_str())
                    .collect();
                return Err(Error::field(
                    field,
                    format!(
                        "names several skills ({}): list each as its own skill",
                        labels.join(", ")
                    ),
                ));
            }
            let need = match nodes.first() {
                Some(&n) => Need {
                    asked,
                    skill: taxonomy.node(n).label.clone(),
                    skill_id: Some(taxonomy.node(n).id.clone()),
                    min_level: min_level.number(),
                    inferred: false,
                    level_from: None,
                    by_text: false,
                },
                None => Need {
                    skill: asked.clone(),
                    asked,
                    skill_id: None,
                    min_level: min_level.number(),
                    inferred: false,
                    level_from: None,
                    by_text: true,
                },
            };
            if let Some(j) = skills.iter().position(|other| {
                other.skill_id.is_some() && other.skill_id == need.skill_id
                    || other.skill.eq_ignore_ascii_case(&need.skill)
            }) {
                return Err(Error::field(
                    field,
                    format!("names the same skill as skills[{j}] ({})", need.skill),
                ));
            }
            skills.push(need);
        }
        let mut inferred_capabilities = Vec::new();
        if skills.is_empty() {
            let Some(need) = &need else {
                return Err(Error::field(
                    "skills",
                    "give at least one skill, or a `need` to infer them from",
                ));
            };
            let inferred = infer(index, need, max_marking, today)?;
            skills = inferred.skills;
            inferred_capabilities = inferred.capabilities;
        }
        let mut taken_from_need = Vec::new();
        let words = need
            .as_deref()
            .map(|n| crate::text::tokens(&mut crate::text::exact_analyzer(), n))
            .unwrap_or_default();
        let clearance = match body.clearance.as_deref() {
            Some(c) => Some(Clearance::parse_field(c, "clearance")?),
            None => clearance_in(&words).map(|(c, said)| {
                taken_from_need.push(format!("clearance {c} (the need says \"{said}\")"));
                c
            }),
        };
        let availability = match body.availability.as_deref() {
            Some(a) => Availability::parse_field(a, "availability")?,
            None => match availability_in(&words) {
                Some((a, said)) => {
                    taken_from_need.push(format!("availability {a} (the need says \"{said}\")"));
                    a
                }
                None => Availability::Month,
            },
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
        let mut facility_capabilities = body
            .facility_capabilities
            .iter()
            .enumerate()
            .map(|(i, c)| bounded_text(c, &format!("facility_capabilities[{i}]"), 200))
            .collect::<Result<Vec<_>>>()?;
        let capabilities_inferred =
            facility_capabilities.is_empty() && !inferred_capabilities.is_empty();
        if capabilities_inferred {
            facility_capabilities = inferred_capabilities;
        }
        let facility_match = match body.facility_match.as_deref() {
            None if capabilities_inferred => FacilityMatchMode::Each,
            None | Some("all") => FacilityMatchMode::All,
            Some("each") => FacilityMatchMode::Each,
            Some(other) => {
                return Err(Error::field(
                    "facility_match",
                    format!("`{}` is not all or each", crate::model::truncate(other, 30)),
                ));
            }
        };
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
            facility_match,
            capabilities_inferred,
            taken_from_need,
            exclude: body.exclude.iter().map(|s| s.trim().to_string()).collect(),
            max_marking,
            today,
            vetting: true,
        })
    }
}

/// The level an emergency needs of a skill the need names without saying how well: practitioner,
/// someone who can apply it unsupervised and advise.
pub const INFERRED_LEVEL: u8 = 3;
