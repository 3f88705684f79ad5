//! Tests of search on small indexes whose right answers are known by construction.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::json;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Scorer;
use tantivy::{DocAddress, DocSet, Score, TERMINATED, TantivyDocument};
use time::Date;

use crate::Error;
use crate::credit;
use crate::index::MusterIndex;
use crate::ingest::parse_json_line;
use crate::model::{
    Availability, Clearance, FacilityStatus, Grade, GseCategory, Kind, Level, Marking, Record,
};
use crate::reference::Reference;
use crate::schema;
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;

use super::geo::haversine_km;
use super::listed::{Listed, ListedScorer};
use super::parallel::collect_on;
use super::query::{Clause, Least, Words, case_study_queries, parse_text, text_query};
use super::records::get;
use super::request::{Filters, LEVEL_POINTS, Near, SearchRequest, SortOrder};
use super::response::SearchResponse;
use super::*;

pub(crate) const TODAY: Date = time::macros::date!(2026 - 11 - 22);

mod execution;
mod facets;
mod facilities;
mod filters;
mod ranking;
mod records;
mod text;
mod understanding;

/// Hand-made records where the right answer is known by construction.
pub(crate) fn small_records() -> Vec<Record> {
    let members = [
        r#"{"id":"m-exp","name":"Erin Expert","department":"Dstl","clearance":"SC","clearance_review_due":"2030-01-01","availability":"24h","skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-01"}],"summary":"Leads Bayesian work.","location":{"town":"Salisbury","region":"South West","lat":51.07,"lon":-1.79}}"#,
        r#"{"id":"m-pra","name":"Pat Practitioner","department":"UKHSA","clearance":"SC","availability":"now","skills":[{"name":"Bayesian statistics","level":3,"assessed":"2026-01-01"}],"summary":"Applies statistics.","location":{"town":"Colindale","region":"London","lat":51.596,"lon":-0.248}}"#,
        r#"{"id":"m-beg","name":"Bea Beginner","department":"ONS","clearance":"BPSS","availability":"week","skills":[{"name":"Bayesian statistics","level":1,"assessed":"2026-01-01"}],"summary":"Learning statistics.","location":{"town":"Newport","region":"Wales","lat":51.584,"lon":-2.998}}"#,
        r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2025-01-01","availability":"now","skills":[{"name":"Bayesian statistics","level":4}],"summary":"Statistics."}"#,
        r#"{"id":"m-author","name":"Ash Author","department":"Met Office","clearance":"SC","availability":"24h","summary":"Works in the science directorate."}"#,
        r#"{"id":"m-secret","name":"Sam Sensitive","department":"Dstl","clearance":"SC","availability":"now","marking":"OFFICIAL-SENSITIVE","skills":[{"name":"Bayesian statistics","level":4}],"summary":"Bayesian modelling for classified programmes."}"#,
    ];
    let case_studies = [
        r#"{"id":"cs-1","title":"Volcanic ash dispersion forecasting","summary":"Dispersion modelling of volcanic ash for aviation.","authors":["m-author"],"skills":["Atmospheric dispersion modelling"]}"#,
        r#"{"id":"cs-2","title":"Ash plume dispersion modelling at night","summary":"More dispersion modelling.","authors":["m-author","m-secret"],"skills":["Atmospheric dispersion modelling"]}"#,
        r#"{"id":"cs-3","title":"Classified dispersion work","summary":"Dispersion modelling.","authors":["m-pra"],"marking":"OFFICIAL-SENSITIVE"}"#,
    ];
    let facilities = [
        r#"{"id":"f-cl3","name":"Containment level 3 suite","department":"UKHSA","capabilities":["CL3","respiratory viruses"],"access_clearance":"SC","location":{"town":"Colindale","region":"London","lat":51.596,"lon":-0.248}}"#,
    ];
    let mut out = Vec::new();
    for (kind, lines) in [
        (Kind::Member, &members[..]),
        (Kind::CaseStudy, &case_studies[..]),
        (Kind::Facility, &facilities[..]),
    ] {
        for line in lines {
            out.push(parse_json_line(kind, line).unwrap().record);
        }
    }
    out
}

pub(crate) fn small_index() -> MusterIndex {
    crate::index::in_ram(&small_records(), Taxonomy::builtin()).unwrap()
}

pub(crate) fn fixture_index() -> &'static MusterIndex {
    static INDEX: OnceLock<MusterIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let (records, _) = crate::index::load_records(&dir).unwrap();
        crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
    })
}

pub(super) fn request(kind: Kind) -> SearchRequest {
    SearchRequest::new(kind, Marking::Official, TODAY)
}

pub(super) fn ids(response: &SearchResponse) -> Vec<&str> {
    response.hits.iter().map(|h| h.id.as_str()).collect()
}

/// Two answers to one search agree: total, every facet count, the scores down the page, and
/// each hit in full. Records with equal scores come in record order, which differs between
/// indexes, so hits scoring as the first or last on the page may be other records of that
/// score; every hit scoring strictly between is the same, with the same explanation. Returns
/// how many such hits were compared.
pub(super) fn assert_same_answer(a: &SearchResponse, b: &SearchResponse, what: &str) -> usize {
    assert_eq!(a.total, b.total, "{what}: total");
    assert_eq!(a.facets, b.facets, "{what}: facets");
    let scores = |r: &SearchResponse| r.hits.iter().map(|h| h.score).collect::<Vec<_>>();
    assert_eq!(scores(a), scores(b), "{what}: scores");
    let inside = |r: &SearchResponse| -> BTreeMap<String, String> {
        let (Some(first), Some(last)) = (r.hits.first(), r.hits.last()) else {
            return BTreeMap::new();
        };
        r.hits
            .iter()
            .filter(|h| h.score != first.score && h.score != last.score)
            .map(|h| (h.id.clone(), serde_json::to_string(h).unwrap()))
            .collect()
    };
    assert_eq!(inside(a), inside(b), "{what}: hits");
    inside(a).len()
}

pub(super) fn index_of(members: &[String], case_studies: &[String]) -> MusterIndex {
    let mut records = Vec::new();
    for (kind, lines) in [(Kind::Member, members), (Kind::CaseStudy, case_studies)] {
        for line in lines {
            records.push(parse_json_line(kind, line).unwrap().record);
        }
    }
    crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
}

/// The members of the shipped fixtures, read from the files (not from the index).
pub(super) fn fixture_members() -> Vec<crate::model::Member> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let (records, _) = crate::index::load_records(&dir).unwrap();
    records
        .into_iter()
        .filter_map(|r| match r {
            Record::Member(m) => Some(m),
            _ => None,
        })
        .collect()
}
