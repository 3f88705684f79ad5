//! Judged evaluation of ranking quality: nDCG@10 and MRR over `fixtures/eval`; and, in
//! [`skill_norm`], the concept matcher on real skill mentions linked to ESCO by people.
//!
//! `queries.jsonl` holds what officials type, each with the skills it is after. The judgments
//! (`judgments.jsonl`) are derived from what members really hold in the fixtures, never from what
//! the engine returns: a member's grade is their level in the skill asked for (1-4), one less for
//! a narrower skill under it, and at least 2 for the author of a case study on it. Only records an
//! OFFICIAL reader may see are judged, since the evaluation searches as one.

pub mod aminer;
pub mod facilities;
pub mod ideas;
pub mod needs;
pub mod paragraphs;
pub mod skill_norm;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::MusterIndex;
use crate::model::{Kind, Marking, Record};
use crate::search::{SearchRequest, search};
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

/// One evaluation query.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalQuery {
    /// Id, e.g. `q01`.
    pub id: String,
    /// What the user types.
    pub query: String,
    /// Skill labels it is after.
    pub skills: Vec<String>,
}

/// Graded relevant members of one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgment {
    /// Query id.
    pub id: String,
    /// Member id to grade (1-4).
    pub relevant: BTreeMap<String, u8>,
}

/// The day the judged sets are evaluated on (clearances lapse relative to it).
pub const TODAY: time::Date = time::macros::date!(2026 - 11 - 22);

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::field(format!("{}:{}", path.display(), n + 1), e.to_string()))
        })
        .collect()
}

/// Reads `queries.jsonl`.
pub fn read_queries(path: &Path) -> Result<Vec<EvalQuery>> {
    read_lines(path)
}

/// Reads `judgments.jsonl`.
pub fn read_judgments(path: &Path) -> Result<Vec<Judgment>> {
    read_lines(path)
}

/// Judges every query against the records (see the module documentation for the grades).
pub fn judge(queries: &[EvalQuery], records: &[Record], taxonomy: &Taxonomy) -> Vec<Judgment> {
    queries
        .iter()
        .map(|q| {
            let targets: Vec<usize> = q.skills.iter().filter_map(|s| taxonomy.lookup(s)).collect();
            let relation = |name: &str| -> Option<bool> {
                let node = taxonomy.lookup(name)?;
                let ancestors = taxonomy.ancestors(node);
                if targets.contains(&node) {
                    Some(true)
                } else if targets.iter().any(|t| ancestors.contains(t)) {
                    Some(false)
                } else {
                    None
                }
            };
            let mut relevant: BTreeMap<String, u8> = BTreeMap::new();
            for record in records {
                match record {
                    Record::Member(m) if m.marking == Marking::Official => {
                        for skill in &m.skills {
                            let grade = match relation(&skill.name) {
                                Some(true) => skill.level.number(),
                                Some(false) => skill.level.number().saturating_sub(1),
                                None => 0,
                            };
                            if grade > 0 {
                                let entry = relevant.entry(m.id.clone()).or_default();
                                *entry = (*entry).max(grade);
                            }
                        }
                    }
                    Record::CaseStudy(c)
                        if c.marking == Marking::Official
                            && c.skills.iter().any(|s| relation(s).is_some()) =>
                    {
                        for author in &c.authors {
                            let entry = relevant.entry(author.clone()).or_default();
                            *entry = (*entry).max(2);
                        }
                    }
                    _ => {}
                }
            }
            // authors above OFFICIAL cannot be found by an OFFICIAL reader
            let visible: std::collections::HashSet<&str> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Member(m) if m.marking == Marking::Official => Some(m.id.as_str()),
                    _ => None,
                })
                .collect();
            relevant.retain(|id, _| visible.contains(id.as_str()));
            Judgment {
                id: q.id.clone(),
                relevant,
            }
        })
        .collect()
}

/// Writes judgments as JSON Lines.
pub fn write_judgments(path: &Path, judgments: &[Judgment]) -> Result<()> {
    let mut text = String::new();
    for j in judgments {
        text.push_str(&serde_json::to_string(j)?);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Scores of one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryScore {
    /// Query id.
    pub id: String,
    /// The query text.
    pub query: String,
    /// nDCG at 10 (gain 2^grade - 1).
    pub ndcg10: f64,
    /// Reciprocal rank of the first relevant member (0 if none in the top 10).
    pub reciprocal_rank: f64,
}

/// Scores of a whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Per query.
    pub queries: Vec<QueryScore>,
    /// Mean nDCG@10.
    pub ndcg10: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
}

fn dcg(grades: impl Iterator<Item = u8>) -> f64 {
    grades
        .enumerate()
        .map(|(i, g)| (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2())
        .sum()
}

/// Runs every query (as an OFFICIAL reader) and scores the top 10 against the judgments.
/// With `understanding` off, skills named in the text, synonyms of them and misspellings are
/// not used at query time: plain BM25 over the same fields, the "before" of issue 4.
pub fn evaluate(
    index: &MusterIndex,
    queries: &[EvalQuery],
    judgments: &[Judgment],
    understanding: bool,
) -> Result<EvalReport> {
    let today = TODAY;
    let mut scores = Vec::new();
    for q in queries {
        let judged = judgments
            .iter()
            .find(|j| j.id == q.id)
            .ok_or_else(|| Error::field("judgments", format!("no judgment for {}", q.id)))?;
        let mut request = SearchRequest::new(Kind::Member, Marking::Official, today);
        request.text = Some(q.query.clone());
        request.limit = 10;
        request.understanding = understanding;
        let response = search(index, &request)?;
        let grades: Vec<u8> = response
            .hits
            .iter()
            .map(|h| judged.relevant.get(&h.id).copied().unwrap_or(0))
            .collect();
        let mut ideal: Vec<u8> = judged.relevant.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        ideal.truncate(10);
        let ideal_dcg = dcg(ideal.into_iter());
        // `+ 0.0` turns the -0.0 of an empty sum into 0.0
        let ndcg10 = if ideal_dcg > 0.0 {
            dcg(grades.iter().copied()) / ideal_dcg + 0.0
        } else {
            0.0
        };
        let reciprocal_rank = grades
            .iter()
            .position(|g| *g > 0)
            .map(|p| 1.0 / (p + 1) as f64)
            .unwrap_or(0.0);
        scores.push(QueryScore {
            id: q.id.clone(),
            query: q.query.clone(),
            ndcg10,
            reciprocal_rank,
        });
    }
    let n = scores.len().max(1) as f64;
    Ok(EvalReport {
        ndcg10: scores.iter().map(|s| s.ndcg10).sum::<f64>() / n,
        mrr: scores.iter().map(|s| s.reciprocal_rank).sum::<f64>() / n,
        queries: scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/eval")
    }

    #[test]
    fn committed_judgments_are_derived_from_the_fixtures() {
        let queries = read_queries(&eval_dir().join("queries.jsonl")).unwrap();
        assert!(queries.len() >= 30);
        let taxonomy = Taxonomy::builtin();
        for q in &queries {
            for s in &q.skills {
                assert!(
                    taxonomy.lookup(s).is_some(),
                    "{}: {s} is not in the taxonomy",
                    q.id
                );
            }
        }
        let (records, _) =
            crate::index::load_records(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"))
                .unwrap();
        let fresh = judge(&queries, &records, &taxonomy);
        let committed = read_judgments(&eval_dir().join("judgments.jsonl")).unwrap();
        assert!(
            fresh == committed,
            "fixtures/eval/judgments.jsonl is stale: run `muster eval --write-judgments`"
        );
        assert!(
            fresh.iter().all(|j| !j.relevant.is_empty()),
            "every query has relevant members"
        );
    }

    #[test]
    fn query_understanding_ranks_better_than_plain_text() {
        let index = crate::search::tests::fixture_index();
        let queries = read_queries(&eval_dir().join("queries.jsonl")).unwrap();
        let judgments = read_judgments(&eval_dir().join("judgments.jsonl")).unwrap();
        let after = evaluate(index, &queries, &judgments, true).unwrap();
        let before = evaluate(index, &queries, &judgments, false).unwrap();
        assert!(
            after.ndcg10 > before.ndcg10,
            "after {} before {}",
            after.ndcg10,
            before.ndcg10
        );
        assert!(
            after.mrr >= before.mrr,
            "after {} before {}",
            after.mrr,
            before.mrr
        );
        assert!(after.ndcg10 > 0.5, "{}", after.ndcg10);
    }

    #[test]
    fn ndcg_is_one_for_the_ideal_order() {
        assert!((dcg([3u8, 2, 1].into_iter()) / dcg([3u8, 2, 1].into_iter()) - 1.0).abs() < 1e-12);
        assert!(dcg([1u8, 3].into_iter()) < dcg([3u8, 1].into_iter()));
    }
}
