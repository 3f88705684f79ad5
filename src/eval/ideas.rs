//! Ideas issue 22 asked us to consider beside the aggregations, each measured on `aminer_dblp7`
//! over Muster's own searches and printed by `muster eval --aminer`, whether kept or not:
//! Balog's Model 1 (a profile of everything an author wrote) blended with the product's Model 2
//! ranking, a second stage reranking the first few hundred people by where the topic appears as
//! a phrase, pseudo-relevance feedback (words of the best case studies added to the topic), and
//! co-authorship (a share of the co-authors' scores).
//!
//! Every blend weights its two parts equally, after scaling each by its best score: a weight
//! chosen before measuring, never fitted to the seven topics.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::aminer::{Benchmark, all_hits, best_first, work};
use crate::Result;
use crate::index::{self, MusterIndex};
use crate::model::{Kind, Record};
use crate::text;

/// People the second stage reorders, from the top of the first.
pub const RERANK_DEPTH: usize = 300;

/// Case studies read for feedback, from the top of the topic's case-study search.
pub const FEEDBACK_DOCS: usize = 10;

/// Words feedback adds to the topic.
pub const FEEDBACK_WORDS: usize = 10;

/// An idea tried on top of Muster's ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idea {
    /// Model 1 alone: each author's case studies joined into one profile, ranked by the
    /// product's expert search over those profiles.
    Profiles,
    /// Model 1 and Model 2 blended: the product's ranking plus the profiles' ranking.
    ProfilesBlended,
    /// The first [`RERANK_DEPTH`] people reordered by adding the credit of case studies holding
    /// the topic as a phrase (topics of two words or more).
    PhraseRerank,
    /// The product's ranking plus its ranking for the topic with the [`FEEDBACK_WORDS`] most
    /// telling words of its [`FEEDBACK_DOCS`] best case studies added (RM3-style).
    Feedback,
    /// The product's ranking plus half the mean scaled score of each person's co-authors,
    /// weighted by papers written together (one step of relevance propagation over
    /// co-authorship, Serdyukov et al., CIKM 2008).
    Coauthors,
}

impl Idea {
    /// Every idea, for the table.
    pub const ALL: [Idea; 5] = [
        Idea::Profiles,
        Idea::ProfilesBlended,
        Idea::PhraseRerank,
        Idea::Feedback,
        Idea::Coauthors,
    ];

    /// What it is called in the table.
    pub fn name(self) -> &'static str {
        match self {
            Idea::Profiles => "Model 1 (profiles)",
            Idea::ProfilesBlended => "Model 1 + Model 2 blended",
            Idea::PhraseRerank => "phrase rerank, first 300",
            Idea::Feedback => "pseudo-relevance feedback",
            Idea::Coauthors => "co-authors' scores, one step",
        }
    }
}

/// Scores scaled by the best, by id.
fn scaled(hits: Vec<(String, f32)>) -> HashMap<String, f64> {
    let best = hits.first().map_or(1.0, |(_, s)| *s).max(f32::EPSILON);
    hits.into_iter()
        .map(|(id, s)| (id, f64::from(s / best)))
        .collect()
}

/// The sum of two scalings (a missing score counts 0).
fn blend(a: HashMap<String, f64>, b: HashMap<String, f64>) -> HashMap<String, f64> {
    let mut out = a;
    for (id, s) in b {
        *out.entry(id).or_default() += s;
    }
    out
}

/// The benchmark's members, each with one case study joining everything they wrote.
fn profile_records(bench: &Benchmark) -> Result<Vec<Record>> {
    let mut written: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut out = Vec::new();
    for record in &bench.records {
        match record {
            Record::Member(_) => out.push(record.clone()),
            Record::CaseStudy(c) => {
                for author in &c.authors {
                    written
                        .entry(author.as_str())
                        .or_default()
                        .push(c.body.as_deref().unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    for (id, bodies) in written {
        out.push(work(
            &format!("profile-{id}"),
            &bodies.join("\n"),
            &[id.to_string()],
        )?);
    }
    Ok(out)
}

/// The benchmark's case studies' text and how many hold each stem, for feedback.
struct Corpus<'a> {
    bodies: HashMap<&'a str, &'a str>,
    doc_freq: HashMap<String, usize>,
}

impl<'a> Corpus<'a> {
    fn of(bench: &'a Benchmark) -> Corpus<'a> {
        let bodies: HashMap<&str, &str> = bench
            .records
            .iter()
            .filter_map(|r| match r {
                Record::CaseStudy(c) => {
                    Some((c.id.as_str(), c.body.as_deref().unwrap_or_default()))
                }
                _ => None,
            })
            .collect();
        let mut doc_freq: HashMap<String, usize> = HashMap::new();
        for body in bodies.values() {
            for stem in text::english_tokens(body)
                .into_iter()
                .collect::<HashSet<_>>()
            {
                *doc_freq.entry(stem).or_default() += 1;
            }
        }
        Corpus { bodies, doc_freq }
    }
}

/// The [`FEEDBACK_WORDS`] words of the best case studies for `q` with the highest summed
/// tf-idf, as written (their most common form), leaving out the topic's own.
fn feedback_words(index: &MusterIndex, corpus: &Corpus<'_>, q: &str) -> Result<Vec<String>> {
    let Corpus { bodies, doc_freq } = corpus;
    let topic: HashSet<String> = text::english_tokens(q).into_iter().collect();
    let mut weight: HashMap<String, f64> = HashMap::new();
    let mut forms: HashMap<String, BTreeMap<String, usize>> = HashMap::new();
    let docs = bodies.len() as f64;
    for (id, _) in all_hits(index, Kind::CaseStudy, q)?
        .into_iter()
        .take(FEEDBACK_DOCS)
    {
        for word in text::exact_tokens(bodies.get(id.as_str()).copied().unwrap_or_default()) {
            let Some(stem) = text::english_tokens(&word).pop() else {
                continue;
            };
            if topic.contains(&stem)
                || text::STOP_WORDS.contains(&word.as_str())
                || word.chars().any(|c| !c.is_ascii_alphabetic())
            {
                continue;
            }
            let df = doc_freq.get(&stem).copied().unwrap_or(1) as f64;
            *weight.entry(stem.clone()).or_default() += (docs / df).ln();
            *forms.entry(stem).or_default().entry(word).or_default() += 1;
        }
    }
    let mut best: Vec<(String, f64)> = weight.into_iter().collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(best
        .into_iter()
        .take(FEEDBACK_WORDS)
        .filter_map(|(stem, _)| {
            let seen = forms.remove(&stem)?;
            let (form, _) = seen
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
            Some(form)
        })
        .collect())
}

/// Share of the co-authors' mean score a person gets.
pub const COAUTHOR_SHARE: f64 = 0.5;

/// `scores` plus [`COAUTHOR_SHARE`] of each person's co-authors' mean score, each co-author
/// counted once per paper written together.
fn propagated(bench: &Benchmark, scores: &HashMap<String, f64>) -> HashMap<String, f64> {
    let mut links: HashMap<&str, (f64, usize)> = HashMap::new();
    for record in &bench.records {
        let Record::CaseStudy(c) = record else {
            continue;
        };
        for a in &c.authors {
            for b in c.authors.iter().filter(|b| *b != a) {
                let entry = links.entry(a.as_str()).or_default();
                entry.0 += scores.get(b).copied().unwrap_or_default();
                entry.1 += 1;
            }
        }
    }
    let mut out = scores.clone();
    for (a, (sum, n)) in links {
        let gained = COAUTHOR_SHARE * sum / n as f64;
        if gained > 0.0 {
            *out.entry(a.to_string()).or_default() += gained;
        }
    }
    out
}

/// Authors ranked by `idea` for each topic.
pub fn rankings(
    index: &MusterIndex,
    bench: &Benchmark,
    idea: Idea,
) -> Result<BTreeMap<String, Vec<String>>> {
    let joined = match idea {
        Idea::Profiles | Idea::ProfilesBlended => Some(index::in_ram(
            &profile_records(bench)?,
            index.taxonomy.clone(),
        )?),
        _ => None,
    };
    // the profiles' index where the idea uses one
    let profiles = joined.as_ref().unwrap_or(index);
    let corpus = std::cell::OnceCell::new();
    let mut out = BTreeMap::new();
    for (topic, q) in &bench.topics {
        let product =
            || -> Result<HashMap<String, f64>> { Ok(scaled(all_hits(index, Kind::Member, q)?)) };
        let ranking = match idea {
            Idea::Profiles => best_first(scaled(all_hits(profiles, Kind::Member, q)?)),
            Idea::ProfilesBlended => best_first(blend(
                product()?,
                scaled(all_hits(profiles, Kind::Member, q)?),
            )),
            Idea::PhraseRerank => reranked(index, q, product()?)?,
            Idea::Feedback => {
                let words = feedback_words(index, corpus.get_or_init(|| Corpus::of(bench)), q)?;
                let expanded = format!("{q} {}", words.join(" "));
                best_first(blend(
                    product()?,
                    scaled(all_hits(index, Kind::Member, &expanded)?),
                ))
            }
            Idea::Coauthors => best_first(propagated(bench, &product()?)),
        };
        out.insert(topic.clone(), ranking);
    }
    Ok(out)
}

/// The first [`RERANK_DEPTH`] of `product` reordered by adding the scaled credit of case
/// studies holding `q` as a phrase (when it has two words or more); the rest as they were.
fn reranked(index: &MusterIndex, q: &str, product: HashMap<String, f64>) -> Result<Vec<String>> {
    let first = best_first(product.clone());
    let depth: HashSet<&String> = first.iter().take(RERANK_DEPTH).collect();
    let mut top = product;
    top.retain(|id, _| depth.contains(id));
    if q.split_whitespace().count() > 1 {
        for (id, s) in scaled(all_hits(index, Kind::Member, &format!("\"{q}\""))?) {
            if let Some(score) = top.get_mut(&id) {
                *score += s;
            }
        }
    }
    let mut second = best_first(top);
    second.extend(first.into_iter().skip(RERANK_DEPTH));
    Ok(second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::aminer::author;
    use crate::taxonomy::Taxonomy;

    /// Members `a`, `b`, `c`, and papers `(id, text, authors)`, asked `topic`.
    fn bench(papers: &[(&str, &str, &[&str])], topic: &str) -> Benchmark {
        let mut records = Vec::new();
        for id in ["a", "b", "c"] {
            records.push(author(id).unwrap());
        }
        for (id, body, authors) in papers {
            let authors: Vec<String> = authors.iter().map(|a| a.to_string()).collect();
            records.push(work(id, body, &authors).unwrap());
        }
        Benchmark {
            records,
            topics: vec![("T0".into(), topic.into())],
            experts: HashMap::new(),
            candidates: ["a", "b", "c"].map(String::from).into(),
            labelled: HashSet::new(),
        }
    }

    fn first(bench: &Benchmark, idea: Option<Idea>) -> Vec<String> {
        let index = index::in_ram(&bench.records, Taxonomy::builtin()).unwrap();
        match idea {
            Some(idea) => rankings(&index, bench, idea).unwrap().remove("T0").unwrap(),
            None => super::super::aminer::muster_rankings(&index, bench)
                .unwrap()
                .remove("T0")
                .unwrap(),
        }
    }

    #[test]
    fn the_phrase_rerank_puts_work_holding_the_topic_as_a_phrase_first() {
        let b = bench(
            &[
                ("d1", "A support vector machine for text.", &["a"]),
                (
                    "d2",
                    "Machine support: vector graphics for machine support, vector by vector.",
                    &["b"],
                ),
            ],
            "support vector machine",
        );
        assert_eq!(first(&b, None), ["b", "a"], "the words alone favour b");
        assert_eq!(first(&b, Some(Idea::PhraseRerank)), ["a", "b"]);
    }

    #[test]
    fn feedback_adds_the_telling_words_of_the_best_work_and_not_the_topic() {
        let b = bench(
            &[
                ("d1", "Planning with heuristic search for robots.", &["a"]),
                ("d2", "Heuristic planning: search and the robots.", &["b"]),
                ("d3", "Ontologies for the semantic web.", &["c"]),
            ],
            "planning",
        );
        let index = index::in_ram(&b.records, Taxonomy::builtin()).unwrap();
        let words = feedback_words(&index, &Corpus::of(&b), "planning").unwrap();
        for expected in ["heuristic", "search", "robots"] {
            assert!(words.iter().any(|w| w == expected), "{expected}: {words:?}");
        }
        assert!(
            !words
                .iter()
                .any(|w| w == "planning" || w == "the" || w == "ontologies"),
            "{words:?}"
        );
    }

    #[test]
    fn profiles_join_everything_an_author_wrote() {
        let b = bench(
            &[
                ("d1", "Semantic annotation of documents.", &["a"]),
                ("d2", "Web services and their discovery.", &["a"]),
                ("d3", "The semantic web for services.", &["b"]),
            ],
            "semantic web",
        );
        // only b wrote one paper on both words; a's profile joins two papers into one
        assert_eq!(first(&b, None), ["b"]);
        let profiles = first(&b, Some(Idea::Profiles));
        assert!(profiles.contains(&"a".to_string()), "{profiles:?}");
    }

    #[test]
    fn co_authors_share_half_their_mean_score() {
        let b = bench(&[("d1", "x", &["a", "b"]), ("d2", "y", &["b", "c"])], "x");
        let scores: HashMap<String, f64> = [("a".to_string(), 1.0)].into();
        let out = propagated(&b, &scores);
        assert_eq!(out["a"], 1.0, "a's co-author b scored nothing");
        assert_eq!(
            out["b"],
            COAUTHOR_SHARE * 0.5,
            "b: a's 1.0 and c's 0, averaged"
        );
        assert!(
            !out.contains_key("c"),
            "c's only co-author b scored nothing"
        );
    }
}
