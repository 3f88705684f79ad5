//! Expert finding from authored work: how well Muster ranks people by the case studies they
//! wrote, on `aminer_dblp7` (1,641 real papers from the AMiner citation network, 707 authors, 7
//! topics with the experts known; Brochier et al., BIR@ECIR 2020).
//!
//! Each paper becomes a case study (its title and abstract as the body) whose authors are members
//! with nothing but an id, so everything known about them comes from their work. Both are read
//! through the normal ingest. Each topic is asked as `q` of an expert search, paged to the end;
//! MAP, nDCG@10 and P@5 are reported over all 707 candidates and over the 199 labelled ones (the
//! ranking with the others left out), as in the benchmark's protocol.
//!
//! Beside them, [`voting`] ranks the same authors from the case-study search's own scores with
//! the classic document-voting aggregations (Macdonald and Ounis, CIKM 2006), to compare the
//! product's ranking with the textbook methods over exactly the same retrieval.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::index::MusterIndex;
use crate::ingest;
use crate::model::{Kind, Marking, Record};
use crate::search::{MAX_LIMIT, SearchRequest, search};
use crate::{Error, Result};

/// The benchmark's data, as records and judgments.
pub struct Benchmark {
    /// Members (one per candidate) and case studies (one per paper).
    pub records: Vec<Record>,
    /// `(topic id, query)`.
    pub topics: Vec<(String, String)>,
    /// Topic id to its experts.
    pub experts: HashMap<String, HashSet<String>>,
    /// Every candidate.
    pub candidates: HashSet<String>,
    /// The labelled candidates.
    pub labelled: HashSet<String>,
}

#[derive(Deserialize)]
struct Paper {
    doc_id: String,
    text: String,
    candidates: Vec<String>,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A candidate as a member with nothing but an id, through the normal ingest.
pub(super) fn author(id: &str) -> Result<Record> {
    let member = serde_json::json!({
        "id": id, "name": format!("Author {id}"), "department": "DSIT",
        "clearance": "none", "availability": "now",
    });
    Ok(ingest::parse_json_line(Kind::Member, &member.to_string())?.record)
}

/// A paper (or any text its `authors` wrote) as a case study, through the normal ingest.
pub(super) fn work(id: &str, text: &str, authors: &[String]) -> Result<Record> {
    let case_study = serde_json::json!({
        "id": id, "title": format!("Paper {id}"), "body": text, "authors": authors,
    });
    Ok(ingest::parse_json_line(Kind::CaseStudy, &case_study.to_string())?.record)
}

/// Ids by score, best first, ties by id.
pub(super) fn best_first<K: Ord>(scores: impl IntoIterator<Item = (K, f64)>) -> Vec<K> {
    let mut all: Vec<(K, f64)> = scores.into_iter().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.into_iter().map(|(id, _)| id).collect()
}

/// Reads the benchmark in `dir` through the normal ingest.
pub fn load(dir: &Path) -> Result<Benchmark> {
    let mut records = Vec::new();
    let mut candidates = HashSet::new();
    let mut labelled = HashSet::new();
    for line in read(&dir.join("candidates.tsv"))?.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [id, _, in_pool] = cols[..] else {
            continue;
        };
        records.push(author(id)?);
        candidates.insert(id.to_string());
        if in_pool == "1" {
            labelled.insert(id.to_string());
        }
    }
    for paper in super::read_lines::<Paper>(&dir.join("documents.jsonl"))? {
        records.push(work(&paper.doc_id, &paper.text, &paper.candidates)?);
    }
    let topics = read(&dir.join("topics.tsv"))?
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(id, q)| (id.to_string(), q.to_string()))
        .collect();
    let mut experts: HashMap<String, HashSet<String>> = HashMap::new();
    for line in read(&dir.join("qrels.topic.txt"))?.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let [topic, _, candidate, grade] = cols[..]
            && grade != "0"
        {
            experts
                .entry(topic.to_string())
                .or_default()
                .insert(candidate.to_string());
        }
    }
    Ok(Benchmark {
        records,
        topics,
        experts,
        candidates,
        labelled,
    })
}

/// Mean figures over the topics for one pool.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Mean average precision.
    pub map: f64,
    /// Mean nDCG at 10 (binary relevance).
    pub ndcg10: f64,
    /// Mean precision at 5.
    pub p5: f64,
}

/// Figures over all candidates and over the labelled ones.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PoolFigures {
    /// All 707 candidates.
    pub all: Figures,
    /// The 199 labelled candidates.
    pub labelled: Figures,
}

fn score_ranking(ranking: &[String], relevant: &HashSet<String>) -> Figures {
    if relevant.is_empty() {
        return Figures::default();
    }
    let (mut hits, mut precision_sum, mut dcg, mut p5) = (0, 0.0, 0.0, 0.0);
    for (i, id) in ranking.iter().enumerate() {
        if !relevant.contains(id) {
            continue;
        }
        hits += 1;
        precision_sum += hits as f64 / (i + 1) as f64;
        if i < 10 {
            dcg += 1.0 / ((i + 2) as f64).log2();
        }
        if i < 5 {
            p5 += 0.2;
        }
    }
    let ideal: f64 = (0..relevant.len().min(10))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    Figures {
        map: precision_sum / relevant.len() as f64,
        ndcg10: dcg / ideal,
        p5,
    }
}

/// Scores one ranking per topic (best first) for both pools.
pub fn score(bench: &Benchmark, rankings: &BTreeMap<String, Vec<String>>) -> PoolFigures {
    let mut out = PoolFigures::default();
    let n = bench.topics.len().max(1) as f64;
    for (topic, _) in &bench.topics {
        let ranking = rankings.get(topic).cloned().unwrap_or_default();
        let none = HashSet::new();
        let relevant = bench.experts.get(topic).unwrap_or(&none);
        let all = score_ranking(&ranking, relevant);
        let in_pool: Vec<String> = ranking
            .into_iter()
            .filter(|c| bench.labelled.contains(c))
            .collect();
        let labelled = score_ranking(&in_pool, relevant);
        for (sum, f) in [(&mut out.all, all), (&mut out.labelled, labelled)] {
            sum.map += f.map / n;
            sum.ndcg10 += f.ndcg10 / n;
            sum.p5 += f.p5 / n;
        }
    }
    out
}

/// Every hit of a search, best first, as `(id, score)`, paging to the end.
pub(super) fn all_hits(index: &MusterIndex, kind: Kind, q: &str) -> Result<Vec<(String, f32)>> {
    let mut request = SearchRequest::new(kind, Marking::Official, super::TODAY);
    request.text = Some(q.to_string());
    request.limit = MAX_LIMIT;
    request.facets = crate::search::FacetChoice::NONE;
    let mut hits = Vec::new();
    loop {
        request.offset = hits.len();
        let page = search(index, &request)?;
        let got = page.hits.len();
        hits.extend(page.hits.into_iter().map(|h| (h.id, h.score)));
        if got < MAX_LIMIT {
            return Ok(hits);
        }
    }
}

/// Muster's own expert ranking for each topic.
pub fn muster_rankings(
    index: &MusterIndex,
    bench: &Benchmark,
) -> Result<BTreeMap<String, Vec<String>>> {
    bench
        .topics
        .iter()
        .map(|(topic, q)| {
            let ranking = all_hits(index, Kind::Member, q)?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            Ok((topic.clone(), ranking))
        })
        .collect()
}

/// How the scores of an author's case studies are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voting {
    /// Sum of scores (CombSUM: "document voting").
    CombSum,
    /// Sum of scores times their number (CombMNZ).
    CombMnz,
    /// Sum of exp(score), favouring the most relevant work (expCombSUM).
    ExpCombSum,
    /// Sum of 1/rank of each case study in the ranking (reciprocal rank).
    ReciprocalRank,
    /// The best score alone (CombMAX).
    CombMax,
    /// CombSUM with each case study's score shared among its authors (document-centric
    /// association, as in Balog's Model 2 with p(ca|d) = 1/authors).
    CombSumShared,
}

impl Voting {
    /// Every aggregation, for the comparison table.
    pub const ALL: [Voting; 6] = [
        Voting::CombSum,
        Voting::CombSumShared,
        Voting::CombMnz,
        Voting::ExpCombSum,
        Voting::ReciprocalRank,
        Voting::CombMax,
    ];

    /// Its usual name.
    pub fn name(self) -> &'static str {
        match self {
            Voting::CombSum => "CombSUM (document voting)",
            Voting::CombMnz => "CombMNZ",
            Voting::ExpCombSum => "expCombSUM",
            Voting::ReciprocalRank => "reciprocal rank",
            Voting::CombMax => "CombMAX",
            Voting::CombSumShared => "CombSUM shared by authors",
        }
    }
}

/// Authors ranked by `voting` over the case-study search's scores for each topic (scores
/// normalised by the best, so exp works on a common scale).
pub fn voting(
    index: &MusterIndex,
    bench: &Benchmark,
    voting: Voting,
) -> Result<BTreeMap<String, Vec<String>>> {
    let authors: HashMap<&str, &[String]> = bench
        .records
        .iter()
        .filter_map(|r| match r {
            Record::CaseStudy(c) => Some((c.id.as_str(), c.authors.as_slice())),
            _ => None,
        })
        .collect();
    let mut out = BTreeMap::new();
    for (topic, q) in &bench.topics {
        let hits = all_hits(index, Kind::CaseStudy, q)?;
        let best = hits
            .first()
            .map(|(_, s)| *s)
            .unwrap_or(1.0)
            .max(f32::EPSILON);
        let mut votes: HashMap<&str, (f64, u32)> = HashMap::new();
        for (rank, (id, score)) in hits.iter().enumerate() {
            let s = f64::from(score / best);
            let written_by = authors.get(id.as_str()).copied().unwrap_or_default();
            let vote = match voting {
                Voting::CombSum | Voting::CombMnz | Voting::CombMax => s,
                Voting::CombSumShared => s / written_by.len().max(1) as f64,
                Voting::ExpCombSum => s.exp(),
                Voting::ReciprocalRank => 1.0 / (rank + 1) as f64,
            };
            for author in written_by {
                let entry = votes.entry(author.as_str()).or_default();
                entry.0 = match voting {
                    Voting::CombMax => entry.0.max(vote),
                    _ => entry.0 + vote,
                };
                entry.1 += 1;
            }
        }
        let ranked = best_first(votes.into_iter().map(|(author, (sum, n))| match voting {
            Voting::CombMnz => (author, sum * f64::from(n)),
            _ => (author, sum),
        }));
        out.insert(
            topic.clone(),
            ranked.into_iter().map(str::to_string).collect(),
        );
    }
    Ok(out)
}
