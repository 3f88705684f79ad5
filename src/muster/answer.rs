//! What a muster answers: the team with what each member covers, the alternates, what nobody
//! covers, the labs, and the constraints as understood.

use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, FacilityStatus, Kind, Marking};
use crate::search::{self, Evidence, Hit, SearchRequest};
use crate::shapes::{FacilitySummary, MemberSummary, Summary};
use crate::{Error, Result};

use super::request::{FacilityMatchMode, INFERRED_LEVEL, Need, Point};

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
    pub contact: MemberSummary,
    /// Case studies that back the skill.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Candidate {
    /// The candidate an experts search's hit stands for (`None` for a hit of another kind).
    pub(super) fn from_hit(hit: Hit, need: &Need) -> Option<Candidate> {
        let Summary::Member(contact) = hit.summary else {
            return None;
        };
        let level = hit
            .matched_skills
            .iter()
            .map(|s| s.level)
            .max()
            .unwrap_or(need.min_level);
        Some(Candidate {
            id: hit.id,
            name: hit.name,
            department: hit.department,
            level,
            score: hit.score,
            distance_km: hit.distance_km,
            contact,
            evidence: hit.evidence,
        })
    }

    /// Their clearance in words, saying whether it counts.
    pub(super) fn clearance_in_words(&self, today: Date) -> String {
        self.contact
            .clearance_words(today)
            .unwrap_or_else(|| CLEARANCE_WITHHELD.into())
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
    pub contact: MemberSummary,
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
    pub details: FacilitySummary,
}

impl FacilityMatch {
    /// The match a facilities search's hit stands for (`None` for a hit of another kind).
    pub(super) fn from_hit(hit: Hit, capability: &str) -> Option<FacilityMatch> {
        let Summary::Facility(details) = hit.summary else {
            return None;
        };
        Some(FacilityMatch {
            id: hit.id,
            name: hit.name,
            department: hit.department,
            distance_km: hit.distance_km,
            covers: vec![capability.to_string()],
            status: details.status,
            warning: facility_warning(details.status),
            details,
        })
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
        request.facets = crate::search::FacetChoice::NONE;
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
pub(super) const THIN_BELOW: u8 = INFERRED_LEVEL;
