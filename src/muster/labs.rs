//! Finding labs for the capabilities a need names: usable ones first, closed ones never offered.

use std::collections::BTreeSet;

use crate::Result;
use crate::index::MusterIndex;
use crate::model::FacilityStatus;
use crate::search::{self};

use super::answer::{FacilityAlternative, FacilityMatch};
use super::request::{
    FacilityMatchMode, MAX_FACILITIES, MusterRequest, PER_CAPABILITY, PER_RELAXATION,
};
use super::team::{Relax, facility_search};

/// Facilities with every capability, in the order of the first capability's search.
pub(super) fn facilities_with_all(
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
pub(super) struct Facilities {
    pub(super) found: Vec<FacilityMatch>,
    pub(super) alternatives: Vec<FacilityAlternative>,
    pub(super) closed: Vec<FacilityMatch>,
    pub(super) warnings: Vec<String>,
}

pub(super) const USABLE: &[FacilityStatus] =
    &[FacilityStatus::Operational, FacilityStatus::Limited];

pub(super) const CLOSED: &[FacilityStatus] = &[FacilityStatus::Closed];

/// Facilities one constraint away for `capability` (or every capability, `None`).
pub(super) fn facility_alternatives(
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

pub(super) fn facilities(index: &MusterIndex, request: &MusterRequest) -> Result<Facilities> {
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
pub(super) fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
