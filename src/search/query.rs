//! The ranked part of a query: words and phrases of `q`, recorded skills by level, and the
//! case studies that credit their authors.

use std::collections::HashSet;
use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use time::Date;

use crate::Result;
use crate::index::MusterIndex;
use crate::model::Kind;
use crate::schema::{self, Fields, skill_term};
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;
use crate::text;
use crate::visible::CachedSet;

use super::request::{
    KNOWN_WORD_RECORDS, LEVEL_POINTS, MAX_QUERY_TERMS, RECENT_POINTS, SearchRequest,
};

/// A word or a quoted phrase of `q`.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// One word.
    Word(String),
    /// Words in quotes, to match in order.
    Phrase(String),
}

/// Splits `q` into words and phrases. Quotes make a phrase; an unbalanced quote is ignored;
/// operators and punctuation are just text. Never fails on any string.
pub fn parse_text(q: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut seen = HashSet::new();
    let parts: Vec<&str> = q.split('"').collect();
    // An odd number of quotes leaves the last one unbalanced: its text is plain words.
    let unbalanced = parts.len().is_multiple_of(2);
    for (i, part) in parts.iter().enumerate() {
        let in_phrase = i % 2 == 1 && !(unbalanced && i == parts.len() - 1);
        if in_phrase && part.split_whitespace().count() > 1 {
            clauses.push(Clause::Phrase(part.trim().to_string()));
            continue;
        }
        for word in part.split_whitespace() {
            let cleaned = word.trim_matches(|c: char| !c.is_alphanumeric());
            let lower = cleaned.to_lowercase();
            // a word said twice is one word: repeating it neither narrows nor weighs more
            if cleaned.is_empty()
                || text::STOP_WORDS.contains(&lower.as_str())
                || !seen.insert(lower)
            {
                continue;
            }
            clauses.push(Clause::Word(cleaned.to_string()));
        }
    }
    clauses
}

/// At most [`MAX_QUERY_TERMS`] words of `clauses`: the rarest among what the caller may see
/// (the most telling of a long description), in the order written; phrases are all kept.
pub(super) fn informative(
    index: &MusterIndex,
    stats: &Statistics<'_>,
    clauses: Vec<Clause>,
) -> Result<Vec<Clause>> {
    let words = clauses
        .iter()
        .filter(|c| matches!(c, Clause::Word(_)))
        .count();
    if words <= MAX_QUERY_TERMS {
        return Ok(clauses);
    }
    let mut exact = text::exact_analyzer();
    let mut rarity = Vec::new();
    for (i, clause) in clauses.iter().enumerate() {
        if let Clause::Word(word) = clause {
            let mut freq = 0;
            for form in text::tokens(&mut exact, word) {
                freq = freq.max(
                    stats.visible_doc_freq(&Term::from_field_text(index.fields.exact, &form))?,
                );
            }
            rarity.push((freq, i));
        }
    }
    rarity.sort_unstable();
    let kept: HashSet<usize> = rarity
        .iter()
        .take(MAX_QUERY_TERMS)
        .map(|(_, i)| *i)
        .collect();
    Ok(clauses
        .into_iter()
        .enumerate()
        .filter(|(i, c)| matches!(c, Clause::Phrase(_)) || kept.contains(i))
        .map(|(_, c)| c)
        .collect())
}

/// What a text query is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Words {
    /// Scoring: the words are looked for in every text field, skills with their concepts'
    /// synonyms.
    Score,
    /// Matching: whether the record holds the words where they are evidence, skills without
    /// their concepts' synonyms (see [`Fields::skill_words`]).
    Match,
}

/// The text fields the words of `q` are looked for in, with their weights for ranked text.
pub(super) fn text_fields(fields: &Fields, kind: Kind, words: Words) -> Vec<(Field, f32)> {
    let skills = match words {
        Words::Score => fields.skills_text,
        Words::Match => fields.skill_words,
    };
    match kind {
        Kind::Member => vec![
            (fields.name, 2.0),
            (skills, 2.5),
            (fields.role, 1.5),
            (fields.summary, 1.0),
        ],
        Kind::CaseStudy => vec![
            (fields.name, 2.5),
            (skills, 2.0),
            (fields.summary, 1.5),
            (fields.body, 1.0),
        ],
        Kind::Facility => vec![
            (fields.name, 2.5),
            (skills, 2.5),
            (fields.role, 1.0),
            (fields.summary, 1.0),
        ],
    }
}

/// Builds the ranked text part of a query: every word (or phrase) must match some field. A word
/// the index does not know (or hardly knows) also matches within a few edits.
pub(super) fn text_query(
    index: &MusterIndex,
    stats: &Statistics<'_>,
    kind: Kind,
    clauses: &[Clause],
    fuzzy: bool,
    least: Least,
    words_for: Words,
) -> Result<Option<Box<dyn Query>>> {
    let fields = &index.fields;
    let weighted = text_fields(fields, kind, words_for);
    let mut en = text::english_analyzer();
    let mut exact = text::exact_analyzer();
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    // one clause per word of the query (all its stems), so the rule counts words
    let mut words: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for clause in clauses {
        match clause {
            Clause::Word(word) => {
                let stems = text::tokens(&mut en, word);
                let forms = text::tokens(&mut exact, word);
                let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for (i, stem) in stems.iter().enumerate() {
                    let mut any: Vec<(Occur, Box<dyn Query>)> = weighted
                        .iter()
                        .map(|(field, weight)| {
                            let q: Box<dyn Query> = Box::new(BoostQuery::new(
                                Box::new(TermQuery::new(
                                    Term::from_field_text(*field, stem),
                                    IndexRecordOption::WithFreqs,
                                )),
                                *weight,
                            ));
                            (Occur::Should, q)
                        })
                        .collect();
                    if let Some(form) = forms.get(i) {
                        // a misspelling matches within the allowed edits, scoring below exact
                        let edits = text::allowed_edits(form);
                        let exact_term = Term::from_field_text(fields.exact, form);
                        if fuzzy
                            && edits > 0
                            && stats.visible_doc_freq(&exact_term)? < KNOWN_WORD_RECORDS
                        {
                            any.push((
                                Occur::Should,
                                Box::new(BoostQuery::new(
                                    Box::new(FuzzyTermQuery::new(exact_term.clone(), edits, true)),
                                    0.3,
                                )),
                            ));
                        }
                        // the exact (unstemmed) form scores on top of the stemmed match
                        any.push((
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(TermQuery::new(exact_term, IndexRecordOption::WithFreqs)),
                                0.5,
                            )),
                        ));
                    }
                    parts.push((Occur::Must, Box::new(BooleanQuery::new(any))));
                }
                match parts.len() {
                    0 => {}
                    1 => words.extend(parts),
                    _ => words.push((Occur::Should, Box::new(BooleanQuery::new(parts)))),
                }
            }
            Clause::Phrase(phrase) => {
                let forms = text::tokens(&mut exact, phrase);
                let q: Box<dyn Query> = match forms.len() {
                    0 => continue,
                    1 => Box::new(TermQuery::new(
                        Term::from_field_text(fields.exact, &forms[0]),
                        IndexRecordOption::WithFreqs,
                    )),
                    _ => Box::new(PhraseQuery::new(
                        forms
                            .iter()
                            .map(|f| Term::from_field_text(fields.exact, f))
                            .collect(),
                    )),
                };
                must.push((Occur::Must, Box::new(BoostQuery::new(q, 3.0))));
            }
        }
    }
    let required = least.of(words.len());
    if required == words.len() {
        must.extend(words.into_iter().map(|(_, q)| (Occur::Must, q)));
    } else {
        let words = words.into_iter().map(|(_, q)| (Occur::Should, q)).collect();
        must.push((
            Occur::Must,
            Box::new(BooleanQuery::with_minimum_required_clauses(words, required)),
        ));
    }
    if must.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(BooleanQuery::new(must))))
}

/// How many of a query's words a record must hold to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Least {
    /// The search rule: every word of a short query (at most [`SHORT_QUERY_WORDS`]); for a
    /// longer one, such as a description pasted in, a quarter of its words, at least 2 and at
    /// most 3, so everyone holding enough of them ranks, best first.
    Rule,
    /// Any one word (case studies crediting their authors: the more words, the more credit).
    One,
}

/// Queries of at most this many words must match every word.
pub const SHORT_QUERY_WORDS: usize = 3;

impl Least {
    /// Words required of `words`.
    pub(super) fn of(self, words: usize) -> usize {
        match self {
            Least::Rule if words <= SHORT_QUERY_WORDS => words,
            Least::Rule => words.div_ceil(4).clamp(2, 3),
            Least::One => words.min(1),
        }
    }
}

pub(super) fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

pub(super) fn constant(query: Box<dyn Query>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, score))
}

pub(super) fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if queries.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

pub(super) fn u64_at_most(field: Field, max: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(field, 0)),
        Bound::Included(Term::from_field_u64(field, max)),
    ))
}

pub(super) fn u64_at_least(field: Field, min: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(field, min)),
        Bound::Unbounded,
    ))
}

/// The skill terms a requested skill name stands for.
#[derive(Clone)]
pub(super) struct SkillTarget {
    /// Term base: node id or `free:...`.
    pub(super) base: String,
    /// Whether it is a taxonomy node (then narrower skills count too, through `~` terms).
    pub(super) mapped: bool,
}

pub(super) fn skill_targets(taxonomy: &Taxonomy, names: &[String]) -> Vec<SkillTarget> {
    let mut out: Vec<SkillTarget> = Vec::new();
    for name in names {
        let key = schema::skill_key(taxonomy, name);
        let mapped = !key.nodes.is_empty();
        for base in key.terms {
            if out.iter().any(|t| t.base == base) {
                continue;
            }
            out.push(SkillTarget { base, mapped });
        }
    }
    out
}

/// Level-weighted scoring for skills: each level held adds a point, narrower skills count half,
/// recent assessments add a little.
pub(super) fn skill_scoring(
    fields: &Fields,
    kind: Kind,
    targets: &[SkillTarget],
    today: Date,
) -> Vec<Box<dyn Query>> {
    let mut out = Vec::new();
    for target in targets {
        let mut bases = vec![(target.base.clone(), 1.0f32)];
        if target.mapped {
            bases.push((skill_term::ancestor(&target.base), 0.5));
        }
        for (base, share) in bases {
            // a member holding level L matches the terms of levels 1..=L: L times the points
            for level in 1..=4 {
                out.push(constant(
                    term(fields.skill, &skill_term::at_level(&base, level)),
                    share * LEVEL_POINTS,
                ));
            }
            for (age, bonus) in [(0, 1.0f32), (1, 1.0), (2, 0.5), (3, 0.5)] {
                let year = today.year() - age;
                out.push(constant(
                    term(fields.skill, &skill_term::assessed_in(&base, year)),
                    share * bonus * RECENT_POINTS,
                ));
            }
            // a case study or facility that names the skill (no level)
            if kind != Kind::Member {
                out.push(constant(term(fields.skill, &base), share * LEVEL_POINTS));
            }
        }
    }
    out
}

/// The case studies the caller may see matching any word or named skill of the request (which
/// credit their authors), and those matching it as a search of case studies would (which admit
/// them): see [`credit`].
pub(super) fn case_study_queries(
    index: &MusterIndex,
    stats: &Statistics<'_>,
    request: &SearchRequest,
    clauses: &[Clause],
    targets: &[SkillTarget],
) -> Result<(Box<dyn Query>, Box<dyn Query>)> {
    let fields = &index.fields;
    let mut skills: Vec<Box<dyn Query>> = Vec::new();
    for target in targets {
        skills.push(constant(term(fields.skill, &target.base), 4.0));
        if target.mapped {
            skills.push(constant(
                term(fields.skill, &skill_term::ancestor(&target.base)),
                2.0,
            ));
        }
    }
    let visible: Box<dyn Query> = Box::new(CachedSet::visible(
        Kind::CaseStudy,
        request.max_marking,
        fields.kind,
        fields.marking,
        index.facet_cache.clone(),
    ));
    let filters = [("visible", visible)];
    let matching = |least, words_for| -> Result<Box<dyn Query>> {
        let text = text_query(
            index,
            stats,
            Kind::CaseStudy,
            clauses,
            request.understanding,
            least,
            words_for,
        )?;
        let scoring = any_of(
            text.into_iter()
                .chain(skills.iter().map(|q| q.box_clone()))
                .collect(),
        );
        Ok(combine(&filters, &[], Some(scoring.as_ref())))
    };
    // credit for any word, scored as text is; admission only for the words where they are
    // evidence, as a search of case studies matches them
    Ok((
        matching(Least::One, Words::Score)?,
        matching(Least::Rule, Words::Match)?,
    ))
}

/// Combines filters (non-scoring) and an optional scoring group (which must match), leaving out
/// the filters named in `skip`.
pub(super) fn combine(
    filters: &[(&'static str, Box<dyn Query>)],
    skip: &[&str],
    scoring: Option<&dyn Query>,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = filters
        .iter()
        .filter(|(name, _)| !skip.contains(name))
        .map(|(_, q)| (Occur::Must, constant(q.box_clone(), 0.0)))
        .collect();
    match scoring {
        Some(q) => clauses.push((Occur::Must, q.box_clone())),
        None => clauses.push((Occur::Must, constant(Box::new(AllQuery), 1.0))),
    }
    Box::new(BooleanQuery::new(clauses))
}
