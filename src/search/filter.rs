//! The hard filters of a request as named clauses, and the facets they gate.

use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{Query, TermQuery};
use tantivy::schema::{Facet, Field, IndexRecordOption};
use tantivy::{SegmentReader, Term};

use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, Kind, Level};
use crate::schema::{self, FacetName, Fields, skill_term};
use crate::visible::CachedSet;
use crate::{Error, Result};

use super::geo::Circle;
use super::query::{SkillTarget, any_of, term, u64_at_least, u64_at_most};
use super::request::{Near, SearchRequest};

/// Filter: holds one of the skills (or a narrower one) at `min_level` or above.
pub(super) fn skill_filter(
    fields: &Fields,
    kind: Kind,
    targets: &[SkillTarget],
    min_level: Option<Level>,
) -> Box<dyn Query> {
    let at_level = |base: String| match (kind, min_level) {
        (Kind::Member, Some(level)) => skill_term::at_level(&base, level.number()),
        _ => base,
    };
    let mut alternatives = Vec::new();
    for target in targets {
        alternatives.push(term(fields.skill, &at_level(target.base.clone())));
        if target.mapped {
            alternatives.push(term(
                fields.skill,
                &at_level(skill_term::ancestor(&target.base)),
            ));
        }
    }
    any_of(alternatives)
}

pub(super) fn facet_term(field: Field, facet: &Facet) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_facet(field, facet),
        IndexRecordOption::Basic,
    ))
}

pub(super) fn distance_predicate(fields: &Fields, near: Near) -> Box<dyn Query> {
    let lat_name = fields.schema.get_field_name(fields.lat).to_string();
    let lon_name = fields.schema.get_field_name(fields.lon).to_string();
    let circle = Circle::new(near);
    let predicate = FunctionPredicate::from(move |segment: &SegmentReader| {
        let lat = segment.fast_fields().f64(&lat_name)?;
        let lon = segment.fast_fields().f64(&lon_name)?;
        Ok(move |doc| match (lat.first(doc), lon.first(doc)) {
            (Some(a), Some(b)) => circle.contains(a, b),
            _ => false,
        })
    });
    let query: DocPredicateQuery = predicate.into();
    Box::new(query)
}

/// The hard filters as named clauses, so a facet can be counted without its own filter.
pub(super) fn filter_clauses(
    index: &MusterIndex,
    request: &SearchRequest,
    targets: &[SkillTarget],
) -> Result<Vec<(&'static str, Box<dyn Query>)>> {
    let fields = &index.fields;
    let f = &request.filters;
    let kind = request.kind;
    // the caller's marking (and the kind) stay in the query, as a cached set per segment
    let mut out: Vec<(&'static str, Box<dyn Query>)> = vec![(
        "visible",
        Box::new(CachedSet::visible(
            kind,
            request.max_marking,
            fields.kind,
            fields.marking,
            index.facet_cache.clone(),
        )),
    )];
    if !targets.is_empty() {
        out.push(("skill", skill_filter(fields, kind, targets, f.min_level)));
    }
    if !f.departments.is_empty() {
        let mut alternatives = Vec::new();
        for dept in &f.departments {
            let facet = schema::department_facet(dept).ok_or_else(|| {
                Error::field("department", format!("unknown department `{dept}`"))
            })?;
            alternatives.push(facet_term(fields.department, &facet));
        }
        out.push(("department", any_of(alternatives)));
    }
    if let Some(clearance) = f.clearance {
        match kind {
            Kind::Member => {
                // `Clearance::meets` on the index: ranks rise with the level
                out.push((
                    "clearance",
                    u64_at_least(fields.clearance, clearance.rank()),
                ));
                // a clearance past its review date does not count; kept when the clearance
                // facet is counted without the minimum: a lapsed clearance is no clearance for
                // any value of the facet
                out.push((
                    "clearance_in_date",
                    Box::new(CachedSet::in_date(
                        schema::day_number(request.today),
                        fields.clearance_due,
                        index.facet_cache.clone(),
                    )),
                ));
            }
            Kind::Facility => {
                out.push(("clearance", u64_at_most(fields.clearance, clearance.rank())))
            }
            Kind::CaseStudy => {}
        }
    }
    if let Some(availability) = f.availability
        && kind == Kind::Member
    {
        out.push((
            "availability",
            u64_at_most(fields.availability, availability.rank()),
        ));
    }
    if !f.grades.is_empty() {
        let alternatives = f
            .grades
            .iter()
            .map(|g| facet_term(fields.grade_facet, &Facet::from_path([g.as_str()])))
            .collect();
        out.push(("grade", any_of(alternatives)));
    }
    if !f.gse_categories.is_empty() {
        let alternatives = f
            .gse_categories
            .iter()
            .map(|g| facet_term(fields.gse_category, &Facet::from_path([g.as_str()])))
            .collect();
        out.push(("gse_category", any_of(alternatives)));
    }
    if !f.regions.is_empty() {
        let alternatives = f
            .regions
            .iter()
            .map(|r| facet_term(fields.region, &Facet::from_path([r.as_str()])))
            .collect();
        out.push(("region", any_of(alternatives)));
    }
    if !f.registrations.is_empty() {
        let alternatives = f
            .registrations
            .iter()
            .map(|r| term(fields.registration, &r.to_lowercase()))
            .collect();
        out.push(("registration", any_of(alternatives)));
    }
    if let Some(near) = f.near
        && near.within_km.is_some()
    {
        out.push(("near", distance_predicate(fields, near)));
    }
    if kind == Kind::Facility {
        let alternatives = f
            .facility_statuses()
            .iter()
            .map(|s| facet_term(fields.status, &Facet::from_path([s.as_str()])))
            .collect();
        out.push(("status", any_of(alternatives)));
    }
    Ok(out)
}

/// The facet values a facet filter admits (with their descendants), for checking it in the
/// collector: the same records as its clause in [`filter_clauses`]. `None` for a filter that is
/// not a facet (it stays in the query).
pub(super) fn gate_facets(request: &SearchRequest, name: FacetName) -> Result<Option<Vec<Facet>>> {
    let f = &request.filters;
    let one = |label: &str| Facet::from_path([label]);
    Ok(Some(match name {
        FacetName::Department => f
            .departments
            .iter()
            .map(|dept| {
                schema::department_facet(dept).ok_or_else(|| {
                    Error::field("department", format!("unknown department `{dept}`"))
                })
            })
            .collect::<Result<_>>()?,
        FacetName::Clearance => match f.clearance {
            Some(wanted) => Clearance::ALL
                .iter()
                .filter(|c| match request.kind {
                    // a member holds at least the clearance; a facility asks at most it
                    Kind::Facility => wanted.meets(**c),
                    _ => c.meets(wanted),
                })
                .map(|c| one(c.as_str()))
                .collect(),
            None => Vec::new(),
        },
        FacetName::Availability => match f.availability {
            Some(wanted) => Availability::ALL
                .iter()
                .filter(|a| a.rank() <= wanted.rank())
                .map(|a| one(a.as_str()))
                .collect(),
            None => Vec::new(),
        },
        FacetName::Grade => f.grades.iter().map(|g| one(g.as_str())).collect(),
        FacetName::GseCategory => f.gse_categories.iter().map(|g| one(g.as_str())).collect(),
        FacetName::Region => f.regions.iter().map(|r| one(r)).collect(),
        FacetName::Status => f
            .facility_statuses()
            .iter()
            .map(|s| one(s.as_str()))
            .collect(),
        // the skill facet is a drill-down tree, counted within the skill filter
        FacetName::Skill => return Ok(None),
    }))
}
