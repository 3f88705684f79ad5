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
use crate::model::{
    Availability, Clearance, ClearanceStatus, FacilityStatus, Kind, Level, Marking,
};
use crate::reference::Reference;
use crate::search::{self, Evidence, Hit, Near, SearchRequest, SortOrder};
use crate::taxonomy::ConceptKind;
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
/// Facilities listed per capability when each capability gets its own.
const PER_CAPABILITY: usize = 3;

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

/// What a need's words ask for.
struct Inferred {
    skills: Vec<Need>,
    capabilities: Vec<String>,
}

/// Words before or after a skill that say how well it is needed.
const LEVEL_WORDS: &[(&str, u8)] = &[
    ("expert", 4),
    ("experts", 4),
    ("specialist", 4),
    ("specialists", 4),
    ("leading", 4),
    ("senior", 4),
    ("experienced", 3),
    ("practitioner", 3),
    ("practitioners", 3),
    ("skilled", 3),
    ("working", 2),
    ("competent", 2),
    ("awareness", 1),
    ("basic", 1),
];

/// Words near a skill that say people are wanted, not (only) a facility.
const PEOPLE_WORDS: &[&str] = &[
    "advice",
    "adviser",
    "advisers",
    "advisor",
    "advisors",
    "people",
    "person",
    "scientists",
    "engineers",
    "analysts",
    "modellers",
    "team",
];

/// Words near a skill that say a facility is wanted.
const LAB_WORDS: &[&str] = &[
    "lab",
    "labs",
    "laboratory",
    "laboratories",
    "facility",
    "facilities",
    "capacity",
    "site",
    "vessel",
    "suite",
];

/// What the words around a mentioned skill say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Said {
    /// The level asked for, and the word that says it.
    level: Option<(&'static str, u8)>,
    /// People are wanted ("advice", "experts").
    people: bool,
    /// A facility is wanted ("lab", "capacity").
    lab: bool,
}

/// Skills and facility capabilities named in `need`: the concepts it names (framework specialisms
/// and skills, and ESCO knowledge named in two words or more). A concept is a capability when a
/// usable facility has it or the words around it ask for a lab ("a containment level 4
/// laboratory"); it is a skill when the words ask for people ("decontamination advice",
/// "experts"), or else when someone holds it or no facility does. A skill's level comes from
/// words near it ("experts in", "experienced"; the strongest where a skill is named twice), or
/// else [`INFERRED_LEVEL`]. A need that names no concept is one skill searched by its words.
fn infer(index: &MusterIndex, need: &str, max_marking: Marking, today: Date) -> Result<Inferred> {
    let taxonomy = &index.taxonomy;
    let words = crate::text::tokens(&mut crate::text::exact_analyzer(), need);
    let mentions: Vec<_> = taxonomy
        .mentions(&words)
        .into_iter()
        .filter(|m| {
            let node = taxonomy.node(m.node);
            match node.kind {
                ConceptKind::Framework => node.depth >= 1,
                ConceptKind::EscoKnowledge => m.words.len() >= 2,
                ConceptKind::EscoSkill | ConceptKind::EscoGroup => false,
            }
        })
        .collect();
    let said = words_said(&words, &mentions);
    // each concept once, in the order first named, with what its mentions say: whether one asks
    // for people, one for a lab, one for neither, and the highest level one asks
    let mut concepts: Vec<(usize, String, Said, bool)> = Vec::new();
    for (mention, said) in mentions.iter().zip(said) {
        let plain = !said.people && !said.lab;
        match concepts.iter_mut().find(|(n, ..)| *n == mention.node) {
            Some((_, _, seen, seen_plain)) => {
                seen.people |= said.people;
                seen.lab |= said.lab;
                *seen_plain |= plain;
                if said.level.map(|(_, l)| l) > seen.level.map(|(_, l)| l) {
                    seen.level = said.level;
                }
            }
            None => concepts.push((
                mention.node,
                words[mention.words.clone()].join(" "),
                said,
                plain,
            )),
        }
    }
    let held = |kind: Kind, node: usize| -> Result<bool> {
        let mut r = SearchRequest::new(kind, max_marking, today);
        r.facets = false;
        r.limit = 1;
        r.filters.skills = vec![taxonomy.node(node).id.clone()];
        Ok(search::search(index, &r)?.total > 0)
    };
    let mut out = Inferred {
        skills: Vec::new(),
        capabilities: Vec::new(),
    };
    for (node_index, asked, said, plain) in concepts {
        let node = taxonomy.node(node_index);
        let by_facility = held(Kind::Facility, node_index)?;
        let by_member = held(Kind::Member, node_index)?;
        if by_facility || said.lab {
            out.capabilities.push(node.label.clone());
        }
        if said.people || (plain && (by_member || !by_facility)) {
            let (min_level, level_from) = match said.level {
                Some((word, level)) => (level, format!("the need says \"{word}\"")),
                None => (
                    INFERRED_LEVEL,
                    format!(
                        "level {INFERRED_LEVEL} ({}) by default for an emergency",
                        level_name(INFERRED_LEVEL)
                    ),
                ),
            };
            out.skills.push(Need {
                asked,
                skill: node.label.clone(),
                skill_id: Some(node.id.clone()),
                min_level,
                inferred: true,
                level_from: Some(level_from),
                by_text: false,
            });
        }
    }
    out.skills.truncate(MAX_SKILLS);
    out.capabilities.truncate(MAX_SKILLS);
    if out.skills.is_empty() && out.capabilities.is_empty() {
        out.skills.push(Need {
            asked: need.to_string(),
            skill: "the need as written".to_string(),
            skill_id: None,
            min_level: 1,
            inferred: true,
            level_from: None,
            by_text: true,
        });
    }
    Ok(out)
}

/// What the words around each mentioned skill say. People and levels are said of a whole run of
/// skills joined by "and"/"or", by a word just before it ("experts in avian influenza and
/// veterinary epidemiology") or just after ("radiological protection and dosimetry experts"); a
/// lab is said of one skill, by a word right after it ("sequencing capacity", "reference lab") or
/// just before ("a lab for"), and then that skill is not asked of people. A word right after a
/// run belongs to it, not to the next.
fn words_said(words: &[String], mentions: &[crate::taxonomy::matcher::Mention]) -> Vec<Said> {
    let level = |w: &String| LEVEL_WORDS.iter().find(|(c, _)| c == w).copied();
    let people = |w: &String| level(w).is_some() || PEOPLE_WORDS.contains(&w.as_str());
    let lab = |w: &String| LAB_WORDS.contains(&w.as_str());
    let joined = |gap: &[String]| gap.iter().all(|w| w == "and" || w == "or");
    // the words before mention i (after the previous one and its own trailing word) and after it
    let before = |i: usize, reach: usize| {
        let start = mentions[i].words.start;
        let from = match i.checked_sub(1) {
            Some(p) => {
                let after = mentions[p].words.end;
                after + usize::from(words.get(after).is_some_and(|w| people(w) || lab(w)))
            }
            None => 0,
        }
        .max(start.saturating_sub(reach))
        .min(start);
        &words[from..start]
    };
    let after = |i: usize, reach: usize| {
        let end = mentions[i].words.end;
        let to = mentions
            .get(i + 1)
            .map_or(words.len(), |n| n.words.start)
            .min(end + reach);
        &words[end..to]
    };
    let mut out = vec![Said::default(); mentions.len()];
    let mut start = 0;
    while start < mentions.len() {
        let mut end = start + 1;
        while end < mentions.len()
            && joined(&words[mentions[end - 1].words.end..mentions[end].words.start])
        {
            end += 1;
        }
        let near: Vec<&String> = before(start, 4)
            .iter()
            .rev()
            .chain(after(end - 1, 2))
            .collect();
        let run_level = near.iter().find_map(|w| level(w));
        let run_people = near.iter().any(|w| people(w));
        for (i, slot) in out.iter_mut().enumerate().take(end).skip(start) {
            // "a lab for X", but not "a lab today and X"
            let lab_before = before(i, 3)
                .iter()
                .rev()
                .take_while(|w| *w != "and" && *w != "or")
                .any(lab);
            let own_lab = after(i, 2).iter().any(lab) || lab_before;
            *slot = Said {
                level: run_level.filter(|_| !own_lab),
                people: run_people && !own_lab,
                lab: own_lab,
            };
        }
        start = end;
    }
    out
}

/// The lowest clearance a need's words name (`SC`, `DV`, "security check"), and the words.
fn clearance_in(words: &[String]) -> Option<(Clearance, String)> {
    let mut found: Option<(Clearance, String)> = None;
    for (i, word) in words.iter().enumerate() {
        let named = match (word.as_str(), words.get(i + 1).map(String::as_str)) {
            ("security", Some("check")) => Some((Clearance::Sc, "security check")),
            ("developed", Some("vetting")) => Some((Clearance::Dv, "developed vetting")),
            ("none", _) => None,
            _ => Clearance::parse(word)
                .filter(|c| *c != Clearance::None)
                .map(|c| (c, c.as_str())),
        };
        if let Some((c, said)) = named
            && found.as_ref().is_none_or(|(f, _)| c < *f)
        {
            found = Some((c, said.to_string()));
        }
    }
    found
}

/// How soon a need's words say people are needed, and the words.
fn availability_in(words: &[String]) -> Option<(Availability, String)> {
    let text = format!(" {} ", words.join(" "));
    let phrases: &[(&str, Availability)] = &[
        ("immediately", Availability::Now),
        ("right now", Availability::Now),
        ("straight away", Availability::Now),
        ("24 hours", Availability::Within24h),
        ("24h", Availability::Within24h),
        ("today", Availability::Within24h),
        ("tonight", Availability::Within24h),
        ("within a day", Availability::Within24h),
        ("this week", Availability::Week),
        ("within a week", Availability::Week),
        ("7 days", Availability::Week),
        ("seven days", Availability::Week),
        ("this month", Availability::Month),
        ("within a month", Availability::Month),
    ];
    phrases
        .iter()
        .filter(|(phrase, _)| text.contains(&format!(" {phrase} ")))
        .min_by_key(|(_, a)| *a)
        .map(|(phrase, a)| (*a, phrase.to_string()))
}

/// The clearance in a contact (a search hit's summary) in words: `DV - lapsed, review was due 14
/// March 2024`.
/// `None` when the clearance is withheld (the caller lacks the vetting permission).
pub fn clearance_words(contact: &Value, today: Date) -> Option<String> {
    let text = |name: &str| contact.get(name).and_then(Value::as_str);
    let clearance = Clearance::parse(text("clearance")?).unwrap_or(Clearance::None);
    let due = text("clearance_review_due")
        .and_then(|d| crate::model::date_format::parse(d, "clearance_review_due").ok());
    Some(crate::model::clearance_in_words(clearance, due, today))
}

/// What a contact sheet or page says when a clearance is withheld.
pub const CLEARANCE_WITHHELD: &str = "not shown (needs the vetting permission)";

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
    #[schema(value_type = crate::shapes::MemberSummary)]
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

    /// Whether their clearance is past its review date (as the search saw it).
    fn clearance_lapsed(&self) -> bool {
        self.contact_str("clearance_status") == Some(ClearanceStatus::Lapsed.as_str())
    }

    /// Their clearance in words, saying whether it counts.
    fn clearance_in_words(&self, today: Date) -> String {
        clearance_words(&self.contact, today).unwrap_or_else(|| CLEARANCE_WITHHELD.into())
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
    #[schema(value_type = crate::shapes::MemberSummary)]
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

/// A facility offered for one or more of the capabilities asked for.
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
    /// The capabilities asked for that it has.
    pub covers: Vec<String>,
    /// Operating status.
    pub status: FacilityStatus,
    /// What to know before relying on it (a limited or closed facility).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Establishment, capabilities, access clearance, status, town, contacts with their details.
    #[schema(value_type = crate::shapes::FacilitySummary)]
    pub details: Value,
}

impl FacilityMatch {
    fn from_hit(hit: Hit, capability: &str) -> FacilityMatch {
        let status = hit
            .summary
            .get("status")
            .and_then(Value::as_str)
            .and_then(FacilityStatus::parse)
            .unwrap_or(FacilityStatus::Operational);
        FacilityMatch {
            id: hit.id,
            name: hit.name,
            department: hit.department,
            distance_km: hit.distance_km,
            covers: vec![capability.to_string()],
            status,
            warning: facility_warning(status),
            details: hit.summary,
        }
    }
}

/// What a facility's status means for someone relying on it; `None` when it is operational.
pub fn facility_warning(status: FacilityStatus) -> Option<String> {
    match status {
        FacilityStatus::Operational => None,
        FacilityStatus::Limited => {
            Some("limited: only partly available; check with a contact before relying on it".into())
        }
        FacilityStatus::Closed => Some("closed: not available for use".into()),
    }
}

/// A facility one relaxed constraint away.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityAlternative {
    /// `within_km`, `clearance` or `facility_capabilities` (has some, not all).
    pub relax: String,
    /// The capability it stands in for, when facilities are matched one capability each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// The facility.
    pub facility: FacilityMatch,
}

/// People one constraint away from being eligible for a skill the team covers thinly or not at
/// the level wanted, or when places are left empty.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NearlyEligible {
    /// Taxonomy label.
    pub skill: String,
    /// The level they hold at least.
    pub level: u8,
    /// Each relaxing one constraint, saying how they fall short.
    pub alternatives: Vec<Alternative>,
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
    /// Capabilities inferred from `need` (empty when they were listed or none were named).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inferred_capabilities: Vec<String>,
    /// How facilities were matched to the capabilities.
    pub facility_match: FacilityMatchMode,
    /// Usable facilities (operational, or limited and flagged): with every capability asked for
    /// (`all`), or the best few for each (`each`); nearest (or best) first.
    pub facilities: Vec<FacilityMatch>,
    /// When no facility meets every constraint: the nearest, each relaxing one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facility_alternatives: Vec<FacilityAlternative>,
    /// Facilities that have the capabilities but are closed: listed apart, never offered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed_facilities: Vec<FacilityMatch>,
    /// People one constraint away, for skills covered thinly or below the level wanted, or when
    /// places are left empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nearly_eligible: Vec<NearlyEligible>,
    /// What to know about this answer, in plain words: places left empty, skills covered thinly,
    /// constraints and levels taken from the need, a need searched as text.
    pub warnings: Vec<String>,
    /// Time taken.
    pub took_ms: f64,
}

/// The member ids meant by the entries of a page's "Leave out these people" field: `Name (id)`
/// as the page writes them, an id, or a name (every visible member of that name, whatever the
/// case). An entry that names no one visible is an error naming it, so nobody is silently kept.
pub fn people_to_leave_out(
    index: &MusterIndex,
    entries: &[String],
    max_marking: Marking,
    today: Date,
) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let given_id = entry
            .strip_suffix(')')
            .and_then(|rest| rest.rsplit_once('('))
            .map(|(_, id)| id.trim())
            .unwrap_or(entry);
        let visible = crate::ingest::validate_id(given_id, "exclude").is_ok()
            && search::get(index, Kind::Member, given_id, max_marking, today).is_ok();
        if visible {
            ids.push(given_id.to_string());
            continue;
        }
        let mut request = SearchRequest::new(Kind::Member, max_marking, today);
        request.text = Some(format!("\"{}\"", entry.replace('"', " ")));
        request.limit = search::MAX_LIMIT;
        request.facets = false;
        let named: Vec<String> = search::search(index, &request)?
            .hits
            .into_iter()
            .filter(|h| h.name.trim().eq_ignore_ascii_case(entry))
            .map(|h| h.id)
            .collect();
        if named.is_empty() {
            return Err(Error::field(
                "exclude",
                format!(
                    "no one called “{}” was found",
                    crate::model::truncate(entry, 60)
                ),
            ));
        }
        ids.extend(named);
    }
    Ok(ids)
}

impl MusterAnswer {
    /// Every record the answer names (team, alternates, facilities), for the audit log.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.team.iter().map(|m| m.id.clone()).collect();
        ids.extend(
            self.alternates
                .iter()
                .flat_map(|a| a.members.iter().map(|m| m.id.clone())),
        );
        ids.extend(
            self.nearly_eligible
                .iter()
                .flat_map(|n| n.alternatives.iter().map(|a| a.member.id.clone())),
        );
        ids.extend(
            self.facilities
                .iter()
                .chain(&self.closed_facilities)
                .chain(self.facility_alternatives.iter().map(|a| &a.facility))
                .map(|f| f.id.clone()),
        );
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        ids
    }
}

/// A level below which a team covers a skill thinly: an emergency wants practitioners.
const THIN_BELOW: u8 = INFERRED_LEVEL;

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
            held.is_none_or(|h| h < wanted) || c.clearance_lapsed()
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
    r.vetting = request.vetting;
    r.facets = false;
    r.limit = (CANDIDATES + request.exclude.len()).min(search::MAX_LIMIT);
    let keep = |constraint: Relax| relax != constraint && relax != Relax::All;
    if need.by_text {
        // the taxonomy does not know it: whoever the words describe best
        r.text = Some(need.asked.clone());
    } else {
        r.filters.skills = vec![need.skill_id.clone().unwrap_or_else(|| need.skill.clone())];
        if keep(Relax::Level) {
            r.filters.min_level = Level::from_number(u64::from(need.min_level));
        }
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
            match held {
                Some(h) if h.meets(wanted) && c.clearance_lapsed() => Some(format!(
                    "{} (needs {wanted})",
                    c.clearance_in_words(request.today)
                )),
                Some(h) if h.meets(wanted) => None,
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
    relax_level: bool,
) -> Result<Vec<Alternative>> {
    let mut relaxations = Vec::new();
    if relax_level && need.min_level > 1 && !need.by_text {
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
            let alternatives = relaxed_alternatives(index, request, need, true)?;
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

    let facilities = facilities(index, request)?;
    let (warnings, nearly_eligible) = assess(index, request, &team, &people, &eligible, &depth)?;
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
        inferred_capabilities: if request.capabilities_inferred {
            request.facility_capabilities.clone()
        } else {
            Vec::new()
        },
        facility_match: request.facility_match,
        facilities: facilities.found,
        facility_alternatives: facilities.alternatives,
        closed_facilities: facilities.closed,
        nearly_eligible,
        warnings: warnings.into_iter().chain(facilities.warnings).collect(),
        took_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    })
}

/// What a caller should know about a team, in plain words, and the people one constraint away
/// for skills it covers thinly (below [`THIN_BELOW`], or by one person when places were left
/// empty).
fn assess(
    index: &MusterIndex,
    request: &MusterRequest,
    team: &[String],
    people: &BTreeMap<String, Person>,
    eligible: &[Vec<Candidate>],
    depth: &[usize],
) -> Result<(Vec<String>, Vec<NearlyEligible>)> {
    let mut warnings: Vec<String> = request
        .taken_from_need
        .iter()
        .map(|t| format!("Applied {t}; set it in the request to change it."))
        .collect();
    if request.skills.iter().any(|n| n.inferred && !n.by_text) {
        warnings.push(format!(
            "Skills were worked out from the need; each needs level {INFERRED_LEVEL} ({}) unless \
             the need says otherwise near it. List the skills to choose levels yourself.",
            level_name(INFERRED_LEVEL)
        ));
    }
    if request.skills.iter().any(|n| n.by_text) {
        warnings.push(
            "Part of the request names no skill the taxonomy knows, so those people were found \
             by its words; list the skills you need for a precise team."
                .into(),
        );
    }
    let short = team.len() < request.team_size;
    if short {
        warnings.push(format!(
            "Only {} of the {} places are filled: nobody else you can see holds the skills within \
             every constraint.",
            team.len(),
            request.team_size
        ));
    }
    let mut nearly = Vec::new();
    for (i, need) in request.skills.iter().enumerate() {
        if need.by_text {
            continue;
        }
        if depth[i] == 0 {
            warnings.push(format!(
                "Nobody you can see covers {} at level {} or above within every constraint; \
                 see the alternatives.",
                need.skill, need.min_level
            ));
            continue;
        }
        let in_team = team
            .iter()
            .filter_map(|id| people[id].by_skill.get(&i))
            .map(|c| c.level)
            .max()
            .unwrap_or(0);
        let best_eligible = eligible[i].iter().map(|c| c.level).max().unwrap_or(0);
        let thin = best_eligible < THIN_BELOW;
        if thin {
            warnings.push(format!(
                "{} is covered only at level {} ({}): nobody at level {THIN_BELOW} ({}) or above \
                 meets every constraint.",
                need.skill,
                in_team,
                level_name(in_team),
                level_name(THIN_BELOW)
            ));
        } else if in_team < THIN_BELOW {
            warnings.push(format!(
                "{} is covered at level {} ({}) in the team; a backup holds it at level {}.",
                need.skill,
                in_team,
                level_name(in_team),
                best_eligible
            ));
        }
        let exhausted = eligible[i].iter().all(|c| team.contains(&c.id));
        if thin || (short && exhausted) {
            let wanted = Need {
                min_level: need.min_level.max(THIN_BELOW),
                ..need.clone()
            };
            let alternatives = relaxed_alternatives(index, request, &wanted, false)?;
            if !alternatives.is_empty() {
                nearly.push(NearlyEligible {
                    skill: need.skill.clone(),
                    level: wanted.min_level,
                    alternatives,
                });
            }
        }
    }
    Ok((warnings, nearly))
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

/// Facilities having one capability, in search order (nearest first when `near` is given), of
/// the given statuses.
fn facility_search(
    index: &MusterIndex,
    request: &MusterRequest,
    capability: &str,
    relax: Relax,
    statuses: &[FacilityStatus],
    limit: usize,
) -> Result<Vec<FacilityMatch>> {
    let mut r = SearchRequest::new(Kind::Facility, request.max_marking, request.today);
    r.facets = false;
    r.limit = limit;
    r.filters.skills = vec![capability.to_string()];
    r.filters.statuses = statuses.to_vec();
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
        .map(|h| FacilityMatch::from_hit(h, capability))
        .collect())
}

/// Facilities with every capability, in the order of the first capability's search.
fn facilities_with_all(
    index: &MusterIndex,
    request: &MusterRequest,
    relax: Relax,
    statuses: &[FacilityStatus],
) -> Result<Vec<FacilityMatch>> {
    // with one capability the first few are enough; with several, whoever has them all
    let limit = match request.facility_capabilities.len() {
        1 => MAX_FACILITIES,
        _ => search::MAX_LIMIT,
    };
    let mut lists = request
        .facility_capabilities
        .iter()
        .map(|c| facility_search(index, request, c, relax, statuses, limit))
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
        .map(|mut f| {
            f.covers = request.facility_capabilities.clone();
            f
        })
        .collect())
}

/// The facilities part of an answer.
#[derive(Default)]
struct Facilities {
    found: Vec<FacilityMatch>,
    alternatives: Vec<FacilityAlternative>,
    closed: Vec<FacilityMatch>,
    warnings: Vec<String>,
}

const USABLE: &[FacilityStatus] = &[FacilityStatus::Operational, FacilityStatus::Limited];
const CLOSED: &[FacilityStatus] = &[FacilityStatus::Closed];

/// Facilities one constraint away for `capability` (or every capability, `None`).
fn facility_alternatives(
    index: &MusterIndex,
    request: &MusterRequest,
    capability: Option<&str>,
) -> Result<Vec<FacilityAlternative>> {
    let mut relaxations = Vec::new();
    if request.near.is_some_and(|n| n.within_km.is_some()) {
        relaxations.push((Relax::Distance, "within_km"));
    }
    if request.clearance.is_some() {
        relaxations.push((Relax::Clearance, "clearance"));
    }
    let mut out = Vec::new();
    for (relax, name) in relaxations {
        let found = match capability {
            Some(c) => facility_search(index, request, c, relax, USABLE, PER_RELAXATION)?,
            None => facilities_with_all(index, request, relax, USABLE)?,
        };
        out.extend(
            found
                .into_iter()
                .take(PER_RELAXATION)
                .map(|f| FacilityAlternative {
                    relax: name.into(),
                    capability: capability.map(String::from),
                    facility: f,
                }),
        );
    }
    Ok(out)
}

fn facilities(index: &MusterIndex, request: &MusterRequest) -> Result<Facilities> {
    let mut out = Facilities::default();
    if request.facility_capabilities.is_empty() {
        return Ok(out);
    }
    match request.facility_match {
        FacilityMatchMode::All => {
            out.found = facilities_with_all(index, request, Relax::Nothing, USABLE)?;
            out.found.truncate(MAX_FACILITIES);
            out.closed = facilities_with_all(index, request, Relax::Nothing, CLOSED)?;
            if out.found.is_empty() {
                out.warnings.push(format!(
                    "No usable facility you can see has all of {} within every constraint.",
                    join_words(&request.facility_capabilities)
                ));
                out.alternatives = facility_alternatives(index, request, None)?;
                if request.facility_capabilities.len() > 1 {
                    let mut seen = BTreeSet::new();
                    for capability in &request.facility_capabilities {
                        for f in facility_search(
                            index,
                            request,
                            capability,
                            Relax::Nothing,
                            USABLE,
                            PER_RELAXATION,
                        )? {
                            if seen.insert(f.id.clone()) {
                                out.alternatives.push(FacilityAlternative {
                                    relax: "facility_capabilities".into(),
                                    capability: Some(capability.clone()),
                                    facility: f,
                                });
                            }
                        }
                    }
                }
            }
        }
        FacilityMatchMode::Each => {
            for capability in &request.facility_capabilities {
                let found = facility_search(
                    index,
                    request,
                    capability,
                    Relax::Nothing,
                    USABLE,
                    PER_CAPABILITY,
                )?;
                if found.is_empty() {
                    out.warnings.push(format!(
                        "No usable facility you can see has {capability} within every constraint."
                    ));
                    out.alternatives.extend(facility_alternatives(
                        index,
                        request,
                        Some(capability),
                    )?);
                }
                for f in found.into_iter().take(PER_CAPABILITY) {
                    match out.found.iter_mut().find(|x| x.id == f.id) {
                        Some(existing) => existing.covers.push(capability.clone()),
                        None => out.found.push(f),
                    }
                }
                for f in facility_search(
                    index,
                    request,
                    capability,
                    Relax::Nothing,
                    CLOSED,
                    MAX_FACILITIES,
                )? {
                    match out.closed.iter_mut().find(|x| x.id == f.id) {
                        Some(existing) => existing.covers.push(capability.clone()),
                        None => out.closed.push(f),
                    }
                }
            }
        }
    }
    out.closed.truncate(MAX_FACILITIES);
    for f in &out.closed {
        out.warnings.push(format!(
            "{} has {} but is closed, so it is not offered.",
            f.name,
            join_words(&f.covers)
        ));
    }
    Ok(out)
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Quotes a spreadsheet cell that would otherwise be read as a formula.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The columns of the contact sheet.
const SHEET_COLUMNS: [&str; 14] = [
    "role",
    "skills",
    "name",
    "department",
    "email",
    "phone",
    "clearance",
    "availability",
    "status",
    "town",
    "distance_km",
    "contacts",
    "id",
    "notes",
];

/// The answer as a contact sheet: the team, then alternates per skill, then usable facilities,
/// then closed ones (listed apart, so nobody relies on them). People's clearances say whether
/// they are in date; a facility's row names its contacts with their email and phone.
pub fn to_csv(answer: &MusterAnswer, today: Date) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [String; 14]| {
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
    let person = |role: &str, skills: String, c: &Candidate, notes: String| {
        [
            role.to_string(),
            skills,
            c.name.clone(),
            c.department.clone().unwrap_or_default(),
            get(&c.contact, "email"),
            get(&c.contact, "phone"),
            c.clearance_in_words(today),
            crate::model::Availability::parse(&get(&c.contact, "availability"))
                .map(|a| a.in_words().to_string())
                .unwrap_or_default(),
            String::new(),
            get(&c.contact, "town"),
            km(c.distance_km),
            String::new(),
            c.id.clone(),
            notes,
        ]
    };
    write(&mut out, SHEET_COLUMNS.map(String::from))?;
    for m in &answer.team {
        let skills: Vec<String> = m
            .covers
            .iter()
            .map(|c| format!("{} ({})", c.skill, c.level))
            .collect();
        let c = Candidate {
            id: m.id.clone(),
            name: m.name.clone(),
            department: m.department.clone(),
            level: 0,
            score: 0.0,
            distance_km: m.distance_km,
            contact: m.contact.clone(),
            evidence: Vec::new(),
        };
        write(
            &mut out,
            person("team", skills.join("; "), &c, m.why.clone()),
        )?;
    }
    for a in &answer.alternates {
        for c in &a.members {
            let skills = format!("{} ({})", a.skill, c.level);
            write(&mut out, person("alternate", skills, c, String::new()))?;
        }
    }
    let facility = |role: &str, f: &FacilityMatch| {
        let contacts: Vec<&Value> = f.details["contact_details"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let joined = |name: &str| {
            contacts
                .iter()
                .map(|c| get(c, name))
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let access = get(&f.details, "access_clearance");
        let notes: Vec<String> = [get(&f.details, "establishment")]
            .into_iter()
            .chain(f.warning.clone())
            .filter(|n| !n.is_empty())
            .collect();
        [
            role.to_string(),
            f.covers.join("; "),
            f.name.clone(),
            f.department.clone().unwrap_or_default(),
            joined("email"),
            joined("phone"),
            if access.is_empty() {
                String::new()
            } else {
                format!("access needs {access}")
            },
            String::new(),
            f.status.to_string(),
            get(&f.details, "town"),
            km(f.distance_km),
            joined("name"),
            f.id.clone(),
            notes.join("; "),
        ]
    };
    for f in &answer.facilities {
        write(&mut out, facility("facility", f))?;
    }
    for f in &answer.closed_facilities {
        write(&mut out, facility("closed facility", f))?;
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
    fn a_lapsed_clearance_is_labelled_in_the_contact_sheet() {
        let index = index_of(&[
            r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2025-01-01","availability":"now","skills":[{"name":"Virology","level":4}]}"#,
        ]);
        let answer = run(
            &index,
            r#"{"skills": [{"skill": "virology"}]}"#,
            Marking::Official,
        );
        assert_eq!(contact(&answer.team[0], "clearance_status"), "lapsed");
        let sheet = to_csv(&answer, TODAY).unwrap();
        assert!(
            sheet.contains("DV - lapsed, review was due 1 January 2025"),
            "{sheet}"
        );
    }

    #[test]
    fn a_specific_skill_never_picks_a_holder_of_its_sibling() {
        let index = index_of(&[
            r#"{"id":"m-asf","name":"Ash Swine","department":"APHA","availability":"now","skills":[{"name":"African swine fever","level":4}]}"#,
            r#"{"id":"m-ai","name":"Avi Ann","department":"APHA","availability":"now","skills":[{"name":"Avian influenza","level":3}]}"#,
            r#"{"id":"m-fire","name":"Fay Fire","department":"HSE","availability":"now","skills":[{"name":"Fire safety engineering","level":4}]}"#,
            r#"{"id":"m-gas","name":"Gus Gas","department":"HSE","availability":"now","skills":[{"name":"Gas explosions","level":2}]}"#,
        ]);
        let team = |body: &str| -> Vec<String> {
            run(&index, body, Marking::Official)
                .team
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        assert_eq!(
            team(r#"{"skills": [{"skill": "avian influenza"}]}"#),
            ["m-ai"]
        );
        assert_eq!(
            team(r#"{"skills": [{"skill": "gas explosions"}]}"#),
            ["m-gas"]
        );
        // the broader concept reaches both, the direct holder of the higher level first
        assert_eq!(
            team(r#"{"skills": [{"skill": "exotic animal disease"}], "team_size": 2}"#),
            ["m-asf", "m-ai"]
        );
        // and a need names the specific one
        let answer = run(
            &index,
            r#"{"need": "bird flu on a farm: we need avian influenza experts"}"#,
            Marking::Official,
        );
        assert_eq!(answer.inferred_skills, ["Avian influenza"]);
        assert!(answer.team.iter().all(|m| m.id != "m-asf"));
    }

    #[test]
    fn facilities_match_by_concept_and_a_closed_one_is_listed_apart() {
        let index = fixture_index();
        let answer = run(
            index,
            r#"{"skills": [{"skill": "veterinary epidemiology"}], "facility_capabilities": ["foot-and-mouth disease"]}"#,
            Marking::Official,
        );
        let labs: BTreeSet<&str> = answer.facilities.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            labs,
            BTreeSet::from(["pirbright-fmd-ref", "pirbright-sapo4"])
        );
        // JET has remote handling but is closed: never offered, listed apart with the reason
        let answer = run(
            index,
            r#"{"skills": [{"skill": "robotics and remote handling"}], "facility_capabilities": ["remote handling"]}"#,
            Marking::Official,
        );
        assert!(answer.facilities.iter().all(|f| f.id != "ukaea-jet"));
        assert!(answer.facilities.iter().any(|f| f.id == "ukaea-race"));
        let closed = &answer.closed_facilities[0];
        assert_eq!(
            (closed.id.as_str(), closed.status),
            ("ukaea-jet", FacilityStatus::Closed)
        );
        assert!(closed.warning.as_deref().unwrap().starts_with("closed"));
        assert!(answer.warnings.iter().any(|w| w.contains("is closed")));
        let sheet = to_csv(&answer, TODAY).unwrap();
        let closed_row = sheet
            .lines()
            .find(|l| l.starts_with("closed facility"))
            .unwrap();
        assert!(closed_row.contains("ukaea-jet"), "{closed_row}");
        let race_row = sheet.lines().find(|l| l.contains("ukaea-race")).unwrap();
        assert!(race_row.contains('@'), "a contact to write to: {race_row}");
    }

    #[test]
    fn one_lab_with_all_capabilities_or_a_lab_for_each() {
        let index = fixture_index();
        let json = |mode: &str| {
            format!(
                r#"{{"skills": [{{"skill": "virology"}}], "facility_capabilities": ["CL4", "whole genome sequencing"], "facility_match": "{mode}"}}"#
            )
        };
        let all = run(index, &json("all"), Marking::Official);
        assert!(all.facilities.is_empty(), "no lab has both");
        assert!(
            all.facility_alternatives
                .iter()
                .any(|a| a.relax == "facility_capabilities")
        );
        let each = run(index, &json("each"), Marking::Official);
        let covers = |id: &str| {
            each.facilities
                .iter()
                .find(|f| f.id == id)
                .map(|f| f.covers.clone())
                .unwrap_or_default()
        };
        assert_eq!(covers("ukhsa-cl4"), ["CL4"]);
        assert_eq!(covers("ukhsa-csl"), ["whole genome sequencing"]);
        let bad = MusterRequest::from_body(body(&json("some")), index, Marking::Official, TODAY);
        assert!(
            matches!(bad, Err(Error::InvalidField { ref field, .. }) if field == "facility_match")
        );
    }

    #[test]
    fn a_thin_or_short_team_says_so_and_shows_who_is_one_step_away() {
        let index = index_of(&[
            r#"{"id":"m-aware","name":"Al Aware","department":"ONS","availability":"now","clearance":"SC","skills":[{"name":"Survey methodology","level":1}]}"#,
            r#"{"id":"m-busy","name":"Bo Busy","department":"ONS","availability":"unavailable","clearance":"SC","skills":[{"name":"Survey methodology","level":4}]}"#,
        ]);
        let answer = run(
            &index,
            r#"{"skills": [{"skill": "survey methods"}], "team_size": 3}"#,
            Marking::Official,
        );
        assert_eq!(answer.team.len(), 1);
        assert!(
            answer
                .warnings
                .iter()
                .any(|w| w.contains("Only 1 of the 3 places"))
        );
        assert!(
            answer
                .warnings
                .iter()
                .any(|w| w.contains("covered only at level 1 (awareness)"))
        );
        let near = &answer.nearly_eligible[0];
        assert_eq!(near.skill, "Survey methodology");
        assert_eq!(near.alternatives[0].member.id, "m-busy");
        assert_eq!(near.alternatives[0].relax, "availability");
    }

    #[test]
    fn a_paragraph_gives_skills_capabilities_levels_and_constraints_and_never_a_400() {
        let index = fixture_index();
        let answer = run(
            index,
            r#"{"need": "An Ebola case has been imported. Within 24 hours we need SC cleared experts in high-consequence infectious diseases and a containment level 4 laboratory."}"#,
            Marking::Official,
        );
        assert_eq!(
            answer.inferred_skills,
            ["High-consequence infectious diseases"]
        );
        assert_eq!(
            answer.skills[0].min_level, 4,
            "\"experts\" asks for level 4"
        );
        assert!(
            answer
                .inferred_capabilities
                .contains(&"Containment level 4".to_string())
        );
        assert_eq!(answer.facility_match, FacilityMatchMode::Each);
        let labs: BTreeSet<&str> = answer.facilities.iter().map(|f| f.id.as_str()).collect();
        assert!(
            labs.contains("dstl-cl4") && labs.contains("ukhsa-cl4"),
            "{labs:?}"
        );
        assert!(!labs.contains("apha-sapo4") && !labs.contains("pirbright-sapo4"));
        assert_eq!(answer.constraints.clearance, Some(Clearance::Sc));
        assert_eq!(answer.constraints.availability, Availability::Within24h);
        assert!(
            answer
                .warnings
                .iter()
                .any(|w| w.contains("Applied clearance SC"))
        );
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
        // no level given: practitioners, and the answer says so
        assert!(answer.skills.iter().all(|s| s.min_level == INFERRED_LEVEL));
        assert!(
            answer
                .warnings
                .iter()
                .any(|w| w.contains("worked out from the need"))
        );
        assert!(answer.uncovered.is_empty());
        // a need the taxonomy does not know is searched by its words, never refused
        let vague = run(
            index,
            r#"{"need": "something happened at the port and we need someone who understands ships"}"#,
            Marking::Official,
        );
        assert!(
            vague.skills.len() == 1 && vague.skills[0].by_text,
            "{:?}",
            vague.skills
        );
        assert!(
            vague
                .warnings
                .iter()
                .any(|w| w.contains("found by its words"))
        );
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
        let sheet = to_csv(&answer, TODAY).unwrap();
        let mut reader = csv::Reader::from_reader(sheet.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let roles: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(roles.iter().filter(|r| **r == "team").count(), 5);
        assert!(roles.contains(&"alternate") && roles.contains(&"facility"));
        assert!(rows[0][2].starts_with("'="), "{}", &rows[0][2]);
        assert!(rows[1][4].contains('@'), "an email to write to");
    }
}
