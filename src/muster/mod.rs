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
//!
//! # Layout
//!
//! `request` (the body, checked), `need` (a need read from words), `team` (assembling the team),
//! `labs` (facilities for the capabilities named), `answer` (what is answered), `sheet` (CSV).

mod answer;
mod labs;
mod need;
mod request;
mod sheet;
mod team;

#[cfg(test)]
mod tests;

pub use answer::{
    Alternates, Alternative, CLEARANCE_WITHHELD, Candidate, Constraints, Covered,
    FacilityAlternative, FacilityMatch, MusterAnswer, NearlyEligible, TeamMember, Uncovered,
    facility_warning, people_to_leave_out,
};
pub use request::{
    DEFAULT_TEAM, FacilityMatchMode, INFERRED_LEVEL, MAX_EXCLUDE, MAX_NEED_CHARS, MAX_SKILLS,
    MAX_TEAM, MusterBody, MusterRequest, Need, Point, SkillBody,
};
pub use sheet::to_csv;
pub use team::muster;
