//! Judged facility searches: does a lab search find the labs that have the capability asked for,
//! and never one that only has a sibling capability (CL4 for CL3, SAPO4 for CL4, swine fever for
//! avian influenza) or that is closed?
//!
//! `fixtures/eval/facilities.jsonl` lists, for each search, the facilities that hold the
//! capability and the traps, judged by reading the facility records (their capabilities and
//! status), never from what the engine returns.

use std::path::Path;

use serde::Deserialize;

use crate::index::MusterIndex;
use crate::model::{Kind, Marking};
use crate::muster::Point;
use crate::search::{Near, SearchRequest, search};
use crate::{Error, Result};

/// One judged facility search.
#[derive(Debug, Clone, Deserialize)]
pub struct FacilityQuery {
    /// Id, e.g. `f01`.
    pub id: String,
    /// Words typed.
    #[serde(default)]
    pub q: Option<String>,
    /// A capability asked for.
    #[serde(default)]
    pub skill: Option<String>,
    /// Where.
    #[serde(default)]
    pub near: Option<Point>,
    /// How far.
    #[serde(default)]
    pub within_km: Option<f64>,
    /// Facilities that hold what was asked for (and are usable).
    pub relevant: Vec<String>,
    /// Facilities that must not be offered: a sibling capability, or closed.
    pub traps: Vec<String>,
}

/// Scores of the facility searches.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityReport {
    /// Per search: id, nDCG@10 (binary; 1 when nothing is relevant and nothing was offered),
    /// recall in the top 10, traps offered.
    pub queries: Vec<(String, f64, f64, usize)>,
    /// Mean nDCG@10.
    pub ndcg10: f64,
    /// Mean recall in the top 10.
    pub recall10: f64,
    /// Traps offered, over every search.
    pub traps: usize,
}

/// Reads `facilities.jsonl`.
pub fn read(path: &Path) -> Result<Vec<FacilityQuery>> {
    super::read_lines(path)
}

/// Runs every search as an OFFICIAL reader.
pub fn evaluate(index: &MusterIndex, queries: &[FacilityQuery]) -> Result<FacilityReport> {
    let mut rows = Vec::new();
    for query in queries {
        let mut request = SearchRequest::new(Kind::Facility, Marking::Official, super::TODAY);
        request.text = query.q.clone();
        request.filters.skills = query.skill.iter().cloned().collect();
        request.filters.near = query.near.map(|p| Near {
            lat: p.lat,
            lon: p.lon,
            within_km: query.within_km,
        });
        request.limit = 10;
        request.facets = crate::search::FacetChoice::NONE;
        let hits: Vec<String> = search(index, &request)?
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect();
        if hits
            .iter()
            .any(|h| query.relevant.contains(h) && query.traps.contains(h))
        {
            return Err(Error::field(
                "facilities",
                format!("{}: a trap is relevant", query.id),
            ));
        }
        let gains: Vec<u8> = hits
            .iter()
            .map(|h| u8::from(query.relevant.contains(h)))
            .collect();
        let found = gains.iter().filter(|g| **g > 0).count();
        let ideal = vec![1u8; query.relevant.len().min(10)];
        let ndcg = match (query.relevant.is_empty(), hits.is_empty()) {
            (true, true) => 1.0,
            (true, false) => 0.0,
            _ => super::dcg(gains.into_iter()) / super::dcg(ideal.into_iter()),
        };
        let recall = if query.relevant.is_empty() {
            1.0
        } else {
            found as f64 / query.relevant.len().min(10) as f64
        };
        let traps = hits.iter().filter(|h| query.traps.contains(h)).count();
        rows.push((query.id.clone(), ndcg, recall, traps));
    }
    let n = rows.len().max(1) as f64;
    Ok(FacilityReport {
        ndcg10: rows.iter().map(|r| r.1).sum::<f64>() / n,
        recall10: rows.iter().map(|r| r.2).sum::<f64>() / n,
        traps: rows.iter().map(|r| r.3).sum(),
        queries: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_searches_find_the_labs_with_the_capability_and_never_a_trap() {
        let index = crate::search::tests::fixture_index();
        let queries =
            read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/eval/facilities.jsonl"))
                .unwrap();
        assert!(queries.len() >= 20);
        let report = evaluate(index, &queries).unwrap();
        assert_eq!(report.traps, 0, "{:?}", report.queries);
        assert!(report.recall10 >= 0.95, "{:?}", report.queries);
        assert!(report.ndcg10 >= 0.95, "{:?}", report.queries);
    }
}
