//! Assembling the team: a search per skill, people chosen to cover the most, alternates, and
//! the nearly eligible with what each falls short of.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::Result;
use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, FacilityStatus, Kind, Level};
use crate::search::{self, Evidence, Near, SearchRequest, SortOrder};

use super::answer::{
    Alternates, Alternative, Candidate, Constraints, Covered, FacilityMatch, MusterAnswer,
    NearlyEligible, THIN_BELOW, TeamMember, Uncovered,
};
use super::labs::facilities;
use super::request::{
    ALTERNATES, CANDIDATES, INFERRED_LEVEL, MusterRequest, Need, PER_RELAXATION, Point,
};

/// A constraint that an alternative relaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relax {
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
pub(super) fn short_of(request: &MusterRequest, need: &Need, relax: Relax, c: &Candidate) -> bool {
    match relax {
        Relax::Nothing | Relax::All => false,
        Relax::Level => c.level < need.min_level,
        Relax::Clearance => request.clearance.is_some_and(|wanted| {
            let held = c.contact.clearance;
            held.is_none_or(|h| !h.meets(wanted)) || c.contact.clearance_lapsed()
        }),
        Relax::Availability => c.contact.availability > request.availability,
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

pub(super) fn member_search(
    index: &MusterIndex,
    request: &MusterRequest,
    need: &Need,
    relax: Relax,
) -> Result<Vec<Candidate>> {
    let mut r = SearchRequest::new(Kind::Member, request.max_marking, request.today);
    r.vetting = request.vetting;
    r.facets = crate::search::FacetChoice::NONE;
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
        .filter_map(|h| Candidate::from_hit(h, need))
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(candidates)
}

/// How a relaxed alternative falls short; `None` when it does not (it is eligible after all).
pub(super) fn shortfall(
    request: &MusterRequest,
    need: &Need,
    relax: Relax,
    c: &Candidate,
) -> Option<String> {
    match relax {
        Relax::Nothing => None,
        Relax::Level => (c.level < need.min_level)
            .then(|| format!("level {} (needs {})", c.level, need.min_level)),
        Relax::Clearance => {
            let wanted = request.clearance?;
            match c.contact.clearance {
                Some(h) if h.meets(wanted) && c.contact.clearance_lapsed() => Some(format!(
                    "{} (needs {wanted})",
                    c.clearance_in_words(request.today)
                )),
                Some(h) if h.meets(wanted) => None,
                held => Some(format!(
                    "clearance {} (needs {wanted})",
                    held.map_or("none", Clearance::as_str)
                )),
            }
        }
        Relax::Availability => Some(format!(
            "availability {} (needs {} or sooner)",
            c.contact.availability, request.availability
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
pub(super) fn relaxed_alternatives(
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
pub(super) type Key = (usize, u64, bool, i64, i64, Reverse<String>);

pub(super) fn key(
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
pub(super) struct Person {
    pub(super) by_skill: BTreeMap<usize, Candidate>,
}

impl Person {
    pub(super) fn any(&self) -> &Candidate {
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
pub(super) fn assess(
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

pub(super) fn level_name(level: u8) -> &'static str {
    Level::from_number(u64::from(level)).map_or("", |l| l.as_str())
}

pub(super) fn team_member(request: &MusterRequest, person: &Person) -> TeamMember {
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
    if let Some(c) = first.contact.clearance {
        why.push_str(&format!("; {c} cleared"));
    }
    why.push_str(&format!("; available {}", first.contact.availability));
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
pub(super) fn facility_search(
    index: &MusterIndex,
    request: &MusterRequest,
    capability: &str,
    relax: Relax,
    statuses: &[FacilityStatus],
    limit: usize,
) -> Result<Vec<FacilityMatch>> {
    let mut r = SearchRequest::new(Kind::Facility, request.max_marking, request.today);
    r.facets = crate::search::FacetChoice::NONE;
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
        .filter_map(|h| FacilityMatch::from_hit(h, capability))
        .collect())
}
