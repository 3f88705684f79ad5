//! Judged emergency needs: a paragraph as an official would write it, sent as a muster with no
//! skills listed. Does Muster read the right skills, levels, constraints and capabilities from
//! it, and is the team it picks really qualified, within the constraints, and the labs right?
//!
//! `fixtures/eval/needs.jsonl` gives, per need, what a reader of the paragraph takes it to ask
//! for (skills with levels, clearance, availability, capabilities), the labs whose records hold
//! those capabilities, and traps (sibling skills and labs). A team member is judged from their
//! record: they hold an asked skill (or a narrower one) at the asked level, their clearance is at
//! least the one asked and in date, their availability and distance within the asked ones.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, Marking, Member, Record, cleared_for};
use crate::muster::{MusterBody, MusterRequest, Point, muster};
use crate::search::haversine_km;
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

/// One judged need.
#[derive(Debug, Clone, Deserialize)]
pub struct JudgedNeed {
    /// Id, e.g. `n01`.
    pub id: String,
    /// The paragraph.
    pub need: String,
    /// Skills asked for, with the level a reader takes the words to ask.
    pub skills: Vec<(String, u8)>,
    /// Facility capabilities asked for.
    pub capabilities: Vec<String>,
    /// Labs whose records hold a capability asked for.
    pub labs: Vec<String>,
    /// Clearance asked for.
    #[serde(default)]
    pub clearance: Option<Clearance>,
    /// Availability asked for.
    #[serde(default)]
    pub availability: Option<Availability>,
    /// Where (given with the need, as the web form's place list does).
    #[serde(default)]
    pub near: Option<Point>,
    /// How far.
    #[serde(default)]
    pub within_km: Option<f64>,
    /// Skills that must not be read from it (siblings of what it asks).
    #[serde(default)]
    pub trap_skills: Vec<String>,
    /// Labs that must not be offered.
    #[serde(default)]
    pub trap_labs: Vec<String>,
}

/// What one need scored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NeedScore {
    /// Need id.
    pub id: String,
    /// Answered without an error.
    pub answered: bool,
    /// Asked skills read from the paragraph, of those asked.
    pub skills_found: (usize, usize),
    /// Of those, read at the asked level.
    pub levels_right: usize,
    /// Skills read that it does not ask for.
    pub skills_extra: usize,
    /// Of those, traps: siblings of what it asks.
    pub trap_skills: usize,
    /// Asked capabilities read, of those asked.
    pub capabilities_found: (usize, usize),
    /// Clearance and availability applied as asked.
    pub constraints_right: bool,
    /// Team members qualified and within every asked constraint, of the team.
    pub team_right: (usize, usize),
    /// Team members outside an asked constraint (clearance, availability, distance).
    pub violations: usize,
    /// Asked skills covered by a qualified member, of those asked.
    pub covered: (usize, usize),
    /// Judged labs offered, of the judged labs.
    pub labs_found: (usize, usize),
    /// Trap or closed labs offered as usable.
    pub bad_labs: usize,
}

/// Reads `needs.jsonl`.
pub fn read(path: &Path) -> Result<Vec<JudgedNeed>> {
    super::read_lines(path)
}

/// Whether `member` holds `skill` (or a narrower one) at `level` or above, by their record.
fn holds(taxonomy: &Taxonomy, member: &Member, skill: usize, level: u8) -> bool {
    member.skills.iter().any(|s| {
        s.level.number() >= level
            && taxonomy
                .lookup(&s.name)
                .is_some_and(|n| taxonomy.is_within(n, skill))
    })
}

/// Runs every need as an OFFICIAL reader, judging teams against `records`.
pub fn evaluate(
    index: &MusterIndex,
    records: &[Record],
    needs: &[JudgedNeed],
) -> Result<Vec<NeedScore>> {
    let taxonomy = &index.taxonomy;
    let today = super::TODAY;
    let node = |label: &str| {
        taxonomy
            .lookup(label)
            .ok_or_else(|| Error::field("needs", format!("`{label}` is not in the taxonomy")))
    };
    let mut out = Vec::new();
    for judged in needs {
        let mut score = NeedScore {
            id: judged.id.clone(),
            ..NeedScore::default()
        };
        let body = MusterBody {
            need: Some(judged.need.clone()),
            near: judged.near,
            within_km: judged.within_km,
            ..MusterBody::default()
        };
        let answer = MusterRequest::from_body(body, index, Marking::Official, today)
            .and_then(|request| muster(index, &request));
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) => {
                out.push(score);
                continue;
            }
        };
        score.answered = true;
        let asked: Vec<(usize, u8)> = judged
            .skills
            .iter()
            .map(|(label, level)| Ok((node(label)?, *level)))
            .collect::<Result<_>>()?;
        let read: Vec<(Option<usize>, u8)> = answer
            .skills
            .iter()
            .map(|s| {
                (
                    s.skill_id.as_deref().and_then(|id| taxonomy.lookup(id)),
                    s.min_level,
                )
            })
            .collect();
        let found: Vec<&(usize, u8)> = asked
            .iter()
            .filter(|(n, _)| read.iter().any(|(r, _)| *r == Some(*n)))
            .collect();
        score.skills_found = (found.len(), asked.len());
        score.levels_right = found
            .iter()
            .filter(|(n, level)| read.iter().any(|(r, l)| *r == Some(*n) && l == level))
            .count();
        score.skills_extra = read
            .iter()
            .filter(|(r, _)| !r.is_some_and(|r| asked.iter().any(|(n, _)| *n == r)))
            .count();
        let capabilities: BTreeSet<usize> = judged
            .capabilities
            .iter()
            .map(|c| node(c))
            .collect::<Result<_>>()?;
        let inferred: BTreeSet<usize> = answer
            .inferred_capabilities
            .iter()
            .filter_map(|c| taxonomy.lookup(c))
            .collect();
        score.capabilities_found = (
            capabilities.intersection(&inferred).count(),
            capabilities.len(),
        );
        score.constraints_right = answer.constraints.clearance == judged.clearance
            && (answer.constraints.availability
                == judged.availability.unwrap_or(Availability::Month));
        // the team, judged from the members' records
        let member = |id: &str| {
            records.iter().find_map(|r| match r {
                Record::Member(m) if m.id == id => Some(m),
                _ => None,
            })
        };
        let mut covered = BTreeSet::new();
        for m in &answer.team {
            let Some(record) = member(&m.id) else {
                continue;
            };
            let clearance_ok = judged.clearance.is_none_or(|wanted| {
                cleared_for(record.clearance, record.clearance_review_due, wanted, today)
            });
            let availability_ok =
                record.availability <= judged.availability.unwrap_or(Availability::Month);
            let distance_ok = match (judged.near, judged.within_km, &record.location) {
                (Some(p), Some(km), Some(at)) => haversine_km(p.lat, p.lon, at.lat, at.lon) <= km,
                (Some(_), Some(_), None) => false,
                _ => true,
            };
            let within = clearance_ok && availability_ok && distance_ok;
            if !within {
                score.violations += 1;
            }
            let qualified: Vec<usize> = asked
                .iter()
                .filter(|(n, level)| holds(taxonomy, record, *n, *level))
                .map(|(n, _)| *n)
                .collect();
            if within && !qualified.is_empty() {
                score.team_right.0 += 1;
                covered.extend(qualified);
            }
            score.team_right.1 += 1;
        }
        score.covered = (covered.len(), asked.len());
        let offered: Vec<&str> = answer.facilities.iter().map(|f| f.id.as_str()).collect();
        score.labs_found = (
            judged
                .labs
                .iter()
                .filter(|l| offered.contains(&l.as_str()))
                .count(),
            judged.labs.len(),
        );
        score.bad_labs = answer
            .facilities
            .iter()
            .filter(|f| {
                judged.trap_labs.contains(&f.id) || f.status == crate::model::FacilityStatus::Closed
            })
            .count();
        for trap in &judged.trap_skills {
            let trap = node(trap)?;
            score.trap_skills += usize::from(read.iter().any(|(r, _)| *r == Some(trap)));
        }
        out.push(score);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergency_needs_read_right_and_give_qualified_teams_within_constraints() {
        let index = crate::search::tests::fixture_index();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let needs = read(&dir.join("eval/needs.jsonl")).unwrap();
        assert!(needs.len() >= 20);
        let (records, _) = crate::index::load_records(&dir).unwrap();
        let scores = evaluate(index, &records, &needs).unwrap();
        let total = |f: fn(&NeedScore) -> (usize, usize)| {
            let (a, b) = scores
                .iter()
                .map(f)
                .fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
            a as f64 / b.max(1) as f64
        };
        let count = |f: fn(&NeedScore) -> usize| scores.iter().map(f).sum::<usize>();
        assert!(scores.iter().all(|s| s.answered), "{scores:?}");
        assert_eq!(count(|s| s.violations), 0, "{scores:?}");
        assert_eq!(count(|s| s.bad_labs), 0, "{scores:?}");
        assert_eq!(count(|s| s.trap_skills), 0, "{scores:?}");
        assert!(scores.iter().all(|s| s.constraints_right), "{scores:?}");
        assert!(total(|s| s.skills_found) >= 0.9, "{scores:?}");
        assert!(total(|s| s.capabilities_found) >= 0.9, "{scores:?}");
        assert!(total(|s| s.team_right) >= 0.9, "{scores:?}");
        assert!(total(|s| s.labs_found) >= 0.9, "{scores:?}");
        let levels: usize = count(|s| s.levels_right);
        let found: usize = scores.iter().map(|s| s.skills_found.0).sum();
        assert!(levels as f64 >= 0.9 * found as f64, "{scores:?}");
    }
}
