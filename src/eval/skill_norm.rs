//! Free-text skills linked to ESCO by people: how well [`Taxonomy::rank`] finds the concept a
//! person meant, on `skill_norm_tech` (real skill mentions from job advertisements, each labelled
//! with the ESCO skills it expresses; Decorte et al., RecSys-in-HR 2022).
//!
//! The protocol is the benchmark's: rank ESCO's skills for each mention and report MAP, MRR,
//! nDCG@10 and P@1 (the top answer is a right one). A framework concept that is an ESCO concept
//! counts as that concept; ESCO's skill groups and framework concepts with no ESCO link are not
//! ESCO skills and are left out of the ranking.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::Result;
use crate::taxonomy::Taxonomy;

/// Concepts ranked per mention: enough that a right answer below them adds nothing measurable.
const RANKED: usize = 1000;

/// One labelled mention.
#[derive(Debug, Clone, Deserialize)]
pub struct Mention {
    /// What was written.
    pub text: String,
    /// The ESCO concept URIs it expresses.
    pub esco: Vec<String>,
}

/// Figures for one set of mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Mentions scored.
    pub mentions: usize,
    /// Mean average precision.
    pub map: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Mean nDCG at 10 (binary relevance).
    pub ndcg10: f64,
    /// Share of mentions whose first answer is right.
    pub p1: f64,
}

/// Reads a `tech_*.jsonl` file.
pub fn read_mentions(path: &Path) -> Result<Vec<Mention>> {
    super::read_lines(path)
}

/// The ESCO skills `taxonomy` ranks for `text`, best first, as URIs.
pub fn ranked_uris(taxonomy: &Taxonomy, text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    taxonomy
        .rank(text, RANKED)
        .into_iter()
        .map(|m| taxonomy.node(m.node))
        .filter(|node| !node.is_group())
        .flat_map(|node| node.esco_uris.iter().cloned())
        .filter(|uri| seen.insert(uri.clone()))
        .collect()
}

/// Scores the ranking of every mention.
pub fn evaluate(taxonomy: &Taxonomy, mentions: &[Mention]) -> Figures {
    let (mut map, mut mrr, mut ndcg, mut p1) = (0.0, 0.0, 0.0, 0.0);
    for mention in mentions {
        let gold: HashSet<&str> = mention.esco.iter().map(String::as_str).collect();
        let ranked = ranked_uris(taxonomy, &mention.text);
        let mut hits = 0;
        let mut precision_sum = 0.0;
        let mut first = None;
        let mut dcg = 0.0;
        for (i, uri) in ranked.iter().enumerate() {
            if !gold.contains(uri.as_str()) {
                continue;
            }
            hits += 1;
            precision_sum += hits as f64 / (i + 1) as f64;
            first.get_or_insert(i);
            if i < 10 {
                dcg += 1.0 / ((i + 2) as f64).log2();
            }
        }
        let ideal: f64 = (0..gold.len().min(10))
            .map(|i| 1.0 / ((i + 2) as f64).log2())
            .sum();
        map += precision_sum / gold.len().max(1) as f64;
        mrr += first.map_or(0.0, |i| 1.0 / (i + 1) as f64);
        ndcg += if ideal > 0.0 { dcg / ideal } else { 0.0 };
        p1 += f64::from(u8::from(first == Some(0)));
    }
    let n = mentions.len().max(1) as f64;
    Figures {
        mentions: mentions.len(),
        map: map / n,
        mrr: mrr / n,
        ndcg10: ndcg / n,
        p1: p1 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_that_is_an_esco_label_ranks_its_concept_first() {
        let t = Taxonomy::builtin();
        let python = t.lookup("Python (computer programming)").unwrap();
        let uri = t.node(python).esco_uri().unwrap().to_string();
        let mentions = vec![Mention {
            text: "Python (computer programming)".into(),
            esco: vec![uri],
        }];
        let figures = evaluate(&t, &mentions);
        assert_eq!((figures.p1, figures.map, figures.mrr), (1.0, 1.0, 1.0));
        assert!((figures.ndcg10 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_matcher_beats_the_bm25_max_reference_on_the_real_mentions() {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/benchmarks/skill_norm_tech");
        if !dir.exists() {
            // a user's checkout has no ../shared; CI and developers do
            eprintln!("skipped: {} not present", dir.display());
            return;
        }
        let t = Taxonomy::builtin();
        let test = read_mentions(&dir.join("tech_test.jsonl")).unwrap();
        let figures = evaluate(&t, &test);
        // the benchmark's own reference (BM25-max): MAP 0.424, P@1 0.343
        assert!(figures.map > 0.424 && figures.p1 > 0.343, "{figures:?}");
    }
}
