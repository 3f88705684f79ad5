//! A paragraph as the query: each case study's summary (or, lacking one, the first 300
//! characters of its body) is pasted into an expert search, as an official describing a problem
//! would, and we report how high its authors rank and how many of the first ten hold one of the
//! skills it names.

use std::collections::HashSet;

use crate::Result;
use crate::index::MusterIndex;
use crate::model::{Kind, Marking, Record};
use crate::search::{SearchRequest, search};
use crate::taxonomy::Taxonomy;

/// Characters of a body used when a case study has no summary.
const BODY_CHARS: usize = 300;

/// What pasting case studies' summaries found.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Report {
    /// Paragraphs asked (case studies with a visible author).
    pub queries: usize,
    /// Mean people returned.
    pub mean_total: f64,
    /// Paragraphs returning nobody.
    pub empty: usize,
    /// Mean reciprocal rank of the best-placed author.
    pub author_mrr: f64,
    /// Share of paragraphs with an author in the first ten.
    pub author_in_top10: f64,
    /// Of paragraphs naming skills, the mean share of the first ten holding one of them.
    pub skilled_in_top10: f64,
}

/// Asks every OFFICIAL case study of `records` as a paragraph, searching `index` as an OFFICIAL
/// reader.
pub fn evaluate(index: &MusterIndex, records: &[Record], taxonomy: &Taxonomy) -> Result<Report> {
    let mut members = std::collections::HashMap::new();
    for record in records {
        if let Record::Member(m) = record
            && m.marking == Marking::Official
        {
            members.insert(m.id.as_str(), m);
        }
    }
    let mut report = Report::default();
    let (mut with_skills, mut skilled_sum) = (0usize, 0.0);
    for record in records {
        let Record::CaseStudy(c) = record else {
            continue;
        };
        if c.marking != Marking::Official
            || !c.authors.iter().any(|a| members.contains_key(a.as_str()))
        {
            continue;
        }
        let paragraph = match (&c.summary, &c.body) {
            (Some(summary), _) => summary.clone(),
            (None, Some(body)) => body.chars().take(BODY_CHARS).collect(),
            (None, None) => continue,
        };
        let mut request = SearchRequest::new(Kind::Member, Marking::Official, super::TODAY);
        request.text = Some(paragraph);
        request.limit = 100;
        request.facets = crate::search::FacetChoice::NONE;
        let response = search(index, &request)?;
        report.queries += 1;
        report.mean_total += response.total as f64;
        if response.total == 0 {
            report.empty += 1;
        }
        let authors: HashSet<&str> = c.authors.iter().map(String::as_str).collect();
        if let Some(rank) = response
            .hits
            .iter()
            .position(|h| authors.contains(h.id.as_str()))
        {
            report.author_mrr += 1.0 / (rank + 1) as f64;
            if rank < 10 {
                report.author_in_top10 += 1.0;
            }
        }
        let nodes: HashSet<usize> = c.skills.iter().filter_map(|s| taxonomy.lookup(s)).collect();
        if !nodes.is_empty() {
            with_skills += 1;
            let top: Vec<_> = response.hits.iter().take(10).collect();
            let holding = top
                .iter()
                .filter(|h| {
                    members.get(h.id.as_str()).is_some_and(|m| {
                        m.skills
                            .iter()
                            .any(|s| taxonomy.lookup(&s.name).is_some_and(|n| nodes.contains(&n)))
                    })
                })
                .count();
            skilled_sum += holding as f64 / top.len().max(1) as f64;
        }
    }
    let n = report.queries.max(1) as f64;
    report.mean_total /= n;
    report.author_mrr /= n;
    report.author_in_top10 /= n;
    report.skilled_in_top10 = skilled_sum / with_skills.max(1) as f64;
    Ok(report)
}
