//! Search: a validated request in, ranked hits with totals, facets, evidence and explanations out.
//!
//! Synchronous and HTTP-free; the HTTP layer calls it from `spawn_blocking`.
//!
//! Every query is one tantivy boolean query: hard filters (kind, the caller's marking, clearance
//! still in date, availability, department including children, distance, ...) as non-scoring
//! `Must` clauses, and a scoring group that must match at least once when the caller asked for
//! something (`q` or `skill`). Hits, total and facet counts are collected in the same pass, the
//! segments of a large index in parallel while a core is idle ([`collect`]). A facet whose own
//! field is filtered counts as if that filter were unset (so the counts show what choosing another
//! value would give): that filter is checked by the collector instead of the query, and a record
//! failing only it counts in that facet and nowhere else. The kind and the caller's marking always
//! stay in the query, so no count can reveal a hidden record.
//!
//! Ranking of people uses all the evidence held:
//! - BM25 over their own profile (name, skills, role, summary), exact forms outranking stems; a
//!   short query needs every word, a long one enough of them ([`Least`]);
//! - recorded skills: each level held up to the one recorded is a term worth [`LEVEL_POINTS`], so
//!   among holders the level decides; recent assessments add a little; holding a narrower skill
//!   under the one asked for counts half;
//! - case studies (Balog et al.'s document-centric "Model 2", summed as in document voting): every
//!   case study matching a word of the request credits its authors in proportion to its relevance,
//!   less for old work, with no window or cap that would stop a prolific author's work counting.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::index::SegmentId;
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Explanation,
    FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Facet, Field, IndexRecordOption, Value as _};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, TantivyDocument, Term,
};
use time::Date;

use crate::credit::{self, CREDIT_HALF, CREDIT_POINTS, Credit, WithCredit};
use crate::facets::{FacetSpec, FacetTally, Gate, Gated};
use crate::index::MusterIndex;
use crate::model::{
    Availability, Clearance, FacilityStatus, Grade, GseCategory, Kind, Level, Marking,
};
use crate::reference::Reference;
use crate::schema::{self, ANCESTOR_PREFIX, Fields};
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;
use crate::text;
use crate::top::{Order, StableTop};
use crate::visible::{CachedSet, explain_by_seeking};
use crate::{Error, Result};

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most words of `q` used.
pub const MAX_QUERY_TERMS: usize = 32;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Points per proficiency level held in a skill the request names (half for a narrower skill):
/// enough that, among holders, the level decides unless the text of a lower holder outscores
/// by more than this.
pub const LEVEL_POINTS: f32 = 10.0;
/// Points for a skill assessed this year or last (half two or three years ago).
const RECENT_POINTS: f32 = 1.5;
/// A word found in at least this many records is taken as spelt as meant: it is not also
/// matched fuzzily (which at scale unions thousands of near neighbours: "health" -> "wealth").
const KNOWN_WORD_RECORDS: u64 = 3;

/// Where to measure distance from, and how far to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Only records within this many kilometres (great-circle), when set.
    pub within_km: Option<f64>,
}

/// How to order hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best match first.
    #[default]
    Relevance,
    /// Nearest first (needs `near`).
    Distance,
}

/// Hard filters; repeated values within a field are OR, fields are AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Skill labels, synonyms, taxonomy ids or free text.
    pub skills: Vec<String>,
    /// Minimum level for `skills`.
    pub min_level: Option<Level>,
    /// Departments (short names); a parent includes its children.
    pub departments: Vec<String>,
    /// Experts: at least this clearance, in date. Facilities: usable with this clearance.
    pub clearance: Option<Clearance>,
    /// At most this availability (e.g. `24h` includes `now`).
    pub availability: Option<Availability>,
    /// Grades.
    pub grades: Vec<Grade>,
    /// GSE categories.
    pub gse_categories: Vec<GseCategory>,
    /// Regions.
    pub regions: Vec<String>,
    /// Professional registrations (`CEng`).
    pub registrations: Vec<String>,
    /// Distance.
    pub near: Option<Near>,
    /// Facilities: these operating statuses; none given means the usable ones (operational and
    /// limited), so a closed facility is listed only when asked for.
    pub statuses: Vec<FacilityStatus>,
}

impl Filters {
    /// The facility statuses searched: those asked for, or the usable ones.
    pub fn facility_statuses(&self) -> Vec<FacilityStatus> {
        if self.statuses.is_empty() {
            vec![FacilityStatus::Operational, FacilityStatus::Limited]
        } else {
            self.statuses.clone()
        }
    }
}

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// What to search.
    pub kind: Kind,
    /// Plain words; quotes make a phrase.
    pub text: Option<String>,
    /// Hard filters.
    pub filters: Filters,
    /// Order.
    pub sort: SortOrder,
    /// Page size (1-100).
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
    /// Add a score breakdown to each hit.
    pub explain: bool,
    /// Highest marking the caller may read.
    pub max_marking: Marking,
    /// The date clearances are checked against.
    pub today: Date,
    /// Query understanding: skills named in the text, their synonyms and levels, misspellings.
    /// Off only to measure what it adds (`muster eval --plain`).
    pub understanding: bool,
    /// Count facets (off for internal searches that only need hits, such as a muster).
    pub facets: bool,
    /// The caller has the vetting permission: people's clearances are shown and counted. Without
    /// it they are withheld from summaries and facets, and a clearance filter is refused before
    /// the search (by the API and the pages).
    pub vetting: bool,
}

impl SearchRequest {
    /// A request for everything of `kind` visible at `max_marking`.
    pub fn new(kind: Kind, max_marking: Marking, today: Date) -> Self {
        SearchRequest {
            kind,
            text: None,
            filters: Filters::default(),
            sort: SortOrder::Relevance,
            limit: 10,
            offset: 0,
            explain: false,
            max_marking,
            today,
            understanding: true,
            facets: true,
            vetting: true,
        }
    }
}

/// A member's fields only a caller with the vetting permission sees.
pub const VETTING_FIELDS: &[&str] = &["clearance", "clearance_review_due", "clearance_status"];

/// Removes a member's clearance from a record or a summary, for a caller without the vetting
/// permission.
pub fn withhold_clearance(record: &mut Value) {
    if let Some(map) = record.as_object_mut() {
        for field in VETTING_FIELDS {
            map.remove(*field);
        }
    }
}

/// Whether a facet is counted for `request`: a member's clearance only with vetting.
fn facet_counted(request: &SearchRequest, name: &str) -> bool {
    request.vetting || request.kind != Kind::Member || name != "clearance"
}

/// A skill that made a member match.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MatchedSkill {
    /// The skill as recorded.
    pub name: String,
    /// Level 1-4.
    pub level: u8,
    /// The taxonomy node it maps to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_id: Option<String>,
}

/// A case study that credited a member.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    /// Case study id.
    pub case_study: String,
    /// Its title.
    pub title: String,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// Record id.
    pub id: String,
    /// Kind of record.
    pub kind: Kind,
    /// Name (title for case studies).
    pub name: String,
    /// Department (first one for case studies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Relevance score (higher is better).
    pub score: f32,
    /// Distance from `near`, in km.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// Skills that matched the request (experts).
    pub matched_skills: Vec<MatchedSkill>,
    /// Case studies that credited this member (experts).
    pub evidence: Vec<Evidence>,
    /// Matching fragments with `<mark>`, HTML-escaped.
    pub highlights: BTreeMap<String, String>,
    /// Short facts for a results list (role, grade, clearance, availability, town...).
    #[schema(value_type = crate::shapes::HitSummary)]
    pub summary: Value,
    /// Score breakdown, with `explain=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<Value>,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// Visible records matching.
    pub total: u64,
    /// Time taken.
    pub took_ms: f64,
    /// This page.
    pub hits: Vec<Hit>,
    /// Counts per value of each facet.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
    /// When nothing was found: the text with each word no record the caller may see holds
    /// replaced by the nearest one that a record or a skill's name does, if that finds someone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
    /// When nothing was found for a skill (a `skill` value, or a `q` that is a skill's name) and no
    /// spelling correction helps: the nearest broader skill in the taxonomy that finds someone,
    /// everything else in the request unchanged. Offered, never applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broader_skill: Option<BroaderSkill>,
}

/// A broader skill to ask for instead of one that found nothing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BroaderSkill {
    /// What was asked for: the `skill` value, or the text `q` when `from_text`.
    pub instead_of: String,
    /// The text `q` named the skill: ask with no `q` and `skill` set to `skill_id`.
    pub from_text: bool,
    /// The broader skill's taxonomy id (a `skill` value).
    pub skill_id: String,
    /// Its name.
    pub label: String,
    /// How many records the request finds with it instead.
    pub total: u64,
}

/// The facets reported for each kind.
fn facet_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Member => &[
            "department",
            "skill",
            "clearance",
            "availability",
            "grade",
            "gse_category",
            "region",
        ],
        Kind::CaseStudy => &["department", "skill"],
        Kind::Facility => &["department", "skill", "clearance", "region", "status"],
    }
}

fn facet_field(fields: &Fields, name: &str) -> Field {
    match name {
        "department" => fields.department,
        "skill" => fields.skill_facet,
        "clearance" => fields.clearance_facet,
        "availability" => fields.availability_facet,
        "grade" => fields.grade_facet,
        "gse_category" => fields.gse_category,
        "region" => fields.region,
        _ => fields.status,
    }
}

/// Mean earth radius.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    EARTH_RADIUS_KM * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

/// The records within `within_km` of a point: a latitude and longitude box around the circle
/// rejects most records with two comparisons, before the great-circle distance (with its
/// trigonometry) decides the rest.
#[derive(Debug, Clone, Copy)]
struct Circle {
    near: Near,
    km: f64,
    /// Latitudes outside `lat_min..=lat_max` are farther than `km`.
    lat_min: f64,
    lat_max: f64,
    /// Longitudes more than this from the centre's are farther (none near a pole).
    lon_delta: Option<f64>,
}

impl Circle {
    /// Slack on the box's angles, so that rounding never rejects a record on the circle.
    const SLACK: f64 = 1.0 + 1e-6;

    fn new(near: Near) -> Self {
        let km = near.within_km.unwrap_or(f64::INFINITY);
        // the angle the radius subtends at the earth's centre; latitude apart by more is
        // farther whatever the longitude
        let angle = (km / EARTH_RADIUS_KM) * Self::SLACK;
        let lat = near.lat.to_radians();
        let (lat_min, lat_max) = (lat - angle, lat + angle);
        let half_pi = std::f64::consts::FRAC_PI_2;
        // farthest longitude of the circle (Matuschek's bounding coordinates)
        let lon_delta = if lat_min > -half_pi && lat_max < half_pi {
            Some((angle.sin() / lat.cos()).asin().to_degrees() * Self::SLACK)
        } else {
            None
        };
        Circle {
            near,
            km,
            lat_min: lat_min.to_degrees(),
            lat_max: lat_max.to_degrees(),
            lon_delta: lon_delta.filter(|d| d.is_finite()),
        }
    }

    #[inline]
    fn contains(&self, lat: f64, lon: f64) -> bool {
        if lat < self.lat_min || lat > self.lat_max {
            return false;
        }
        if let Some(delta) = self.lon_delta {
            let apart = ((lon - self.near.lon).rem_euclid(360.0) + 180.0).rem_euclid(360.0) - 180.0;
            if apart.abs() > delta {
                return false;
            }
        }
        haversine_km(self.near.lat, self.near.lon, lat, lon) <= self.km
    }
}

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
fn informative(
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

/// Field weights for ranked text.
fn text_fields(fields: &Fields, kind: Kind) -> Vec<(Field, f32)> {
    match kind {
        Kind::Member => vec![
            (fields.name, 2.0),
            (fields.skills_text, 2.5),
            (fields.role, 1.5),
            (fields.summary, 1.0),
        ],
        Kind::CaseStudy => vec![
            (fields.name, 2.5),
            (fields.skills_text, 2.0),
            (fields.summary, 1.5),
            (fields.body, 1.0),
        ],
        Kind::Facility => vec![
            (fields.name, 2.5),
            (fields.skills_text, 2.5),
            (fields.role, 1.0),
            (fields.summary, 1.0),
        ],
    }
}

/// Builds the ranked text part of a query: every word (or phrase) must match some field. A word
/// the index does not know (or hardly knows) also matches within a few edits.
fn text_query(
    index: &MusterIndex,
    stats: &Statistics<'_>,
    kind: Kind,
    clauses: &[Clause],
    fuzzy: bool,
    least: Least,
) -> Result<Option<Box<dyn Query>>> {
    let fields = &index.fields;
    let weighted = text_fields(fields, kind);
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
enum Least {
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
    fn of(self, words: usize) -> usize {
        match self {
            Least::Rule if words <= SHORT_QUERY_WORDS => words,
            Least::Rule => words.div_ceil(4).clamp(2, 3),
            Least::One => words.min(1),
        }
    }
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn constant(query: Box<dyn Query>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, score))
}

/// Records given by address, each with its own score: the members case studies admit. One
/// scorer over a short sorted list per segment instead of a term query per member (each looked up
/// in the dictionary for its statistics, then again for its postings, then unioned).
#[derive(Clone, Debug)]
struct Listed {
    /// Per segment, `(record, score)` sorted by record.
    by_segment: Arc<HashMap<SegmentId, Vec<(DocId, Score)>>>,
}

impl Listed {
    /// The records at `scored`, each with its score.
    fn addresses(searcher: &Searcher, scored: &[(DocAddress, Score)]) -> Listed {
        let segments = searcher.segment_readers();
        let mut by_ord: Vec<Vec<(DocId, Score)>> = vec![Vec::new(); segments.len()];
        for (address, score) in scored {
            by_ord[address.segment_ord as usize].push((address.doc_id, *score));
        }
        let by_segment = segments
            .iter()
            .zip(by_ord)
            .filter(|(_, listed)| !listed.is_empty())
            .map(|(segment, mut listed)| {
                listed.sort_unstable_by_key(|(doc, _)| *doc);
                (segment.segment_id(), listed)
            })
            .collect();
        Listed {
            by_segment: Arc::new(by_segment),
        }
    }

    fn is_empty(&self) -> bool {
        self.by_segment.values().all(Vec::is_empty)
    }
}

impl Query for Listed {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for Listed {
    fn scorer(&self, segment: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let listed = self
            .by_segment
            .get(&segment.segment_id())
            .cloned()
            .unwrap_or_default();
        Ok(Box::new(ListedScorer {
            listed,
            at: 0,
            boost,
        }))
    }

    fn explain(&self, segment: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        explain_by_seeking(self, segment, doc, "listed")
    }
}

struct ListedScorer {
    listed: Vec<(DocId, Score)>,
    at: usize,
    boost: Score,
}

impl DocSet for ListedScorer {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.listed.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let rest = &self.listed[self.at..];
        self.at += rest.partition_point(|(doc, _)| *doc < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.listed.get(self.at).map_or(TERMINATED, |(doc, _)| *doc)
    }

    fn size_hint(&self) -> u32 {
        (self.listed.len() - self.at) as u32
    }
}

impl Scorer for ListedScorer {
    fn score(&mut self) -> Score {
        self.listed
            .get(self.at)
            .map_or(0.0, |(_, s)| *s * self.boost)
    }
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if queries.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn u64_at_most(field: Field, max: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(field, 0)),
        Bound::Included(Term::from_field_u64(field, max)),
    ))
}

fn u64_at_least(field: Field, min: u64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(field, min)),
        Bound::Unbounded,
    ))
}

/// The skill terms a requested skill name stands for.
struct SkillTarget {
    /// Term base: node id or `free:...`.
    base: String,
    /// Whether it is a taxonomy node (then narrower skills count too, through `~` terms).
    mapped: bool,
}

fn skill_targets(taxonomy: &Taxonomy, names: &[String]) -> Vec<SkillTarget> {
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
fn skill_scoring(
    fields: &Fields,
    kind: Kind,
    targets: &[SkillTarget],
    today: Date,
) -> Vec<Box<dyn Query>> {
    let mut out = Vec::new();
    for target in targets {
        let mut bases = vec![(target.base.clone(), 1.0f32)];
        if target.mapped {
            bases.push((format!("{ANCESTOR_PREFIX}{}", target.base), 0.5));
        }
        for (base, share) in bases {
            // a member holding level L matches the terms of levels 1..=L: L times the points
            for level in 1..=4 {
                out.push(constant(
                    term(fields.skill, &format!("{base}#{level}")),
                    share * LEVEL_POINTS,
                ));
            }
            for (age, bonus) in [(0, 1.0f32), (1, 1.0), (2, 0.5), (3, 0.5)] {
                let year = today.year() - age;
                out.push(constant(
                    term(fields.skill, &format!("{base}@{year}")),
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

/// Filter: holds one of the skills (or a narrower one) at `min_level` or above.
fn skill_filter(
    fields: &Fields,
    kind: Kind,
    targets: &[SkillTarget],
    min_level: Option<Level>,
) -> Box<dyn Query> {
    let suffix = match (kind, min_level) {
        (Kind::Member, Some(level)) => format!("#{}", level.number()),
        _ => String::new(),
    };
    let mut alternatives = Vec::new();
    for target in targets {
        alternatives.push(term(fields.skill, &format!("{}{suffix}", target.base)));
        if target.mapped {
            alternatives.push(term(
                fields.skill,
                &format!("{ANCESTOR_PREFIX}{}{suffix}", target.base),
            ));
        }
    }
    any_of(alternatives)
}

fn facet_term(field: Field, facet: &Facet) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_facet(field, facet),
        IndexRecordOption::Basic,
    ))
}

fn distance_predicate(fields: &Fields, near: Near) -> Box<dyn Query> {
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
fn filter_clauses(
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
fn gate_facets(request: &SearchRequest, name: &str) -> Result<Option<Vec<Facet>>> {
    let f = &request.filters;
    let one = |label: &str| Facet::from_path([label]);
    Ok(Some(match name {
        "department" => f
            .departments
            .iter()
            .map(|dept| {
                schema::department_facet(dept).ok_or_else(|| {
                    Error::field("department", format!("unknown department `{dept}`"))
                })
            })
            .collect::<Result<_>>()?,
        "clearance" => match f.clearance {
            Some(wanted) => Clearance::ALL
                .iter()
                .filter(|c| match request.kind {
                    // a member holds at least the clearance; a facility asks at most it
                    Kind::Facility => c.rank() <= wanted.rank(),
                    _ => c.rank() >= wanted.rank(),
                })
                .map(|c| one(c.as_str()))
                .collect(),
            None => Vec::new(),
        },
        "availability" => match f.availability {
            Some(wanted) => Availability::ALL
                .iter()
                .filter(|a| a.rank() <= wanted.rank())
                .map(|a| one(a.as_str()))
                .collect(),
            None => Vec::new(),
        },
        "grade" => f.grades.iter().map(|g| one(g.as_str())).collect(),
        "gse_category" => f.gse_categories.iter().map(|g| one(g.as_str())).collect(),
        "region" => f.regions.iter().map(|r| one(r)).collect(),
        "status" => f
            .facility_statuses()
            .iter()
            .map(|s| one(s.as_str()))
            .collect(),
        _ => return Ok(None),
    }))
}

/// Combines filters (non-scoring) and an optional scoring group (which must match), leaving out
/// the filters named in `skip`.
fn combine(
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

/// The case studies the caller may see matching any word or named skill of the request (which
/// credit their authors), and those matching it as a search of case studies would (which admit
/// them): see [`credit`].
fn case_study_queries(
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
                term(fields.skill, &format!("{ANCESTOR_PREFIX}{}", target.base)),
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
    let matching = |least| -> Result<Box<dyn Query>> {
        let text = text_query(
            index,
            stats,
            Kind::CaseStudy,
            clauses,
            request.understanding,
            least,
        )?;
        let scoring = any_of(
            text.into_iter()
                .chain(skills.iter().map(|q| q.box_clone()))
                .collect(),
        );
        Ok(combine(&filters, &[], Some(scoring.as_ref())))
    };
    Ok((matching(Least::One)?, matching(Least::Rule)?))
}

/// The values of a string fast field (`id`, `people`) of each of `addresses`, in order, without
/// touching the document store: one column per segment and one sorted pass over its dictionary.
fn fast_strings(
    searcher: &Searcher,
    field_name: &str,
    addresses: &[DocAddress],
) -> Result<Vec<Vec<String>>> {
    let mut out = vec![Vec::new(); addresses.len()];
    let mut segments: Vec<u32> = addresses.iter().map(|a| a.segment_ord).collect();
    segments.sort_unstable();
    segments.dedup();
    for segment_ord in segments {
        let segment = searcher.segment_reader(segment_ord);
        let Some(column) = segment.fast_fields().str(field_name)? else {
            continue;
        };
        // (ordinal, position in `addresses`), sorted by ordinal for the dictionary pass
        let mut wanted: Vec<(u64, usize)> = Vec::new();
        for (i, address) in addresses.iter().enumerate() {
            if address.segment_ord == segment_ord {
                wanted.extend(column.term_ords(address.doc_id).map(|ord| (ord, i)));
            }
        }
        wanted.sort_unstable();
        let ords: Vec<u64> = wanted.iter().map(|(ord, _)| *ord).collect();
        let mut targets = wanted.iter().map(|(_, i)| *i);
        column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            if let Some(i) = targets.next() {
                out[i].push(String::from_utf8_lossy(bytes).into_owned());
            }
        })?;
    }
    Ok(out)
}

/// The ids among `ids` of records of `kind` the caller may see.
pub fn visible_ids<'a>(
    index: &MusterIndex,
    searcher: &Searcher,
    kind: Kind,
    ids: impl Iterator<Item = &'a String>,
    max_marking: Marking,
) -> Result<HashSet<String>> {
    let fields = &index.fields;
    let keys: Vec<Box<dyn Query>> = ids
        .map(|id| term(fields.key, &schema::record_key(kind, id)))
        .collect();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let query = BooleanQuery::new(vec![
        (Occur::Must, any_of(keys)),
        (Occur::Must, u64_at_most(fields.marking, max_marking.rank())),
    ]);
    let limit = searcher.search(&query, &Count)?.max(1);
    let found = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
    let id_field = fields.schema.get_field_name(fields.id);
    let addresses: Vec<DocAddress> = found.into_iter().map(|(_, a)| a).collect();
    Ok(fast_strings(searcher, id_field, &addresses)?
        .into_iter()
        .flatten()
        .collect())
}

fn stored_record(fields: &Fields, doc: &TantivyDocument) -> Result<Value> {
    let text = doc
        .get_first(fields.record)
        .and_then(|v| v.as_str())
        .unwrap_or("{}");
    Ok(serde_json::from_str(text)?)
}

/// The drill-down prefixes of facet `name`, as facet paths: those whose children are counted.
/// The root, plus parent departments, or every inner node of the skills tree (and `Other`).
fn facet_parents(name: &str, taxonomy: &Taxonomy) -> Vec<String> {
    let inner: Vec<Vec<String>> = match name {
        "department" => {
            let r = Reference::get();
            r.departments
                .iter()
                .filter_map(|d| d.parent.as_deref())
                .map(|p| r.department_path(p))
                .collect()
        }
        "skill" => taxonomy
            .nodes()
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.children.is_empty())
            .map(|(i, _)| taxonomy.path(i).into_iter().map(String::from).collect())
            .chain(std::iter::once(vec![schema::UNMAPPED_FACET.to_string()]))
            .collect(),
        _ => Vec::new(),
    };
    std::iter::once("/".to_string())
        .chain(
            inner
                .into_iter()
                .map(|p| Facet::from_path(p).to_path_string()),
        )
        .collect()
}

/// What the facet `name` counts: its field and drill-down prefixes (built once per process).
fn facet_spec(fields: &Fields, name: &'static str, taxonomy: &Taxonomy) -> FacetSpec {
    static SPECS: OnceLock<Mutex<HashMap<&'static str, FacetSpec>>> = OnceLock::new();
    let specs = SPECS.get_or_init(Default::default);
    let mut specs = specs.lock().unwrap_or_else(|e| e.into_inner());
    specs
        .entry(name)
        .or_insert_with(|| {
            let parents = facet_parents(name, taxonomy);
            let field = fields.schema.get_field_name(facet_field(fields, name));
            FacetSpec::new(name, field, &parents)
        })
        .clone()
}

/// Today's date (UTC), the day clearance review dates are checked against.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Builds every facet's per-segment tables (and the decoded authors, the sets of records each
/// kind and marking may see, and today's clearances in date) now, so the first searches after
/// start-up do not (a few tenths of a second at a million members).
pub fn warm_facets(index: &MusterIndex) -> Result<()> {
    let searcher = index.reader.searcher();
    for kind in Kind::ALL {
        for name in facet_fields(kind) {
            let spec = facet_spec(&index.fields, name, &index.taxonomy);
            for segment in searcher.segment_readers() {
                index.facet_cache.warm(segment, &spec)?;
            }
        }
    }
    let people = index.fields.schema.get_field_name(index.fields.people);
    // today's clearances in date (a search on a later day builds that day's on first use)
    let in_date = CachedSet::in_date(
        schema::day_number(today()),
        index.fields.clearance_due,
        index.facet_cache.clone(),
    );
    // what the records above each marking add to the statistics (see `stats`)
    for marking in Marking::ALL {
        Statistics::new(&searcher, &index.fields, &index.stats_cache, *marking)?;
    }
    index.author_cache.warm(index, &searcher)?;
    for segment in searcher.segment_readers() {
        index.facet_cache.strings(segment, people)?;
        for kind in Kind::ALL {
            for marking in Marking::ALL {
                let visible = CachedSet::visible(
                    kind,
                    *marking,
                    index.fields.kind,
                    index.fields.marking,
                    index.facet_cache.clone(),
                );
                visible.bits(segment)?;
            }
        }
        in_date.bits(segment)?;
    }
    Ok(())
}

/// Searches now running in this process (see [`collect`]).
static SEARCHING: AtomicUsize = AtomicUsize::new(0);

/// Counts a running search until dropped.
struct Running;

impl Running {
    /// Starts counting; true when a core is left idle by the other searches.
    fn start() -> (Running, bool) {
        let before = SEARCHING.fetch_add(1, AtomicOrdering::Relaxed);
        (Running, before + 1 < crate::index::cores())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        SEARCHING.fetch_sub(1, AtomicOrdering::Relaxed);
    }
}

/// `searcher.search`, but with the segments of a large index (one per core, see
/// [`crate::index::BuildOptions`]) searched in parallel on scoped threads while other searches
/// leave cores idle; one after another otherwise, so a busy server does no extra work. (Not
/// tantivy's thread-pool executor: its idle workers spin, taking the cores the request threads
/// need.)
pub(crate) fn collect<C: Collector>(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    collector: &C,
) -> Result<C::Fruit> {
    let (_running, idle_core) = Running::start();
    // a thread is worth starting for a share of at least a large segment, not for the small
    // segments that live writes add to a small index
    let large = searcher
        .segment_readers()
        .iter()
        .filter(|s| s.max_doc() >= PARALLEL_SEGMENT_RECORDS)
        .count();
    let threads = if idle_core && large > 1 {
        crate::index::cores().min(large)
    } else {
        1
    };
    collect_on(searcher, stats, query, collector, threads)
}

/// Segments smaller than this are not worth a thread of their own.
const PARALLEL_SEGMENT_RECORDS: u32 = 10_000;

/// [`collect`] on at most `threads` threads (the calling thread among them).
fn collect_on<C: Collector>(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    collector: &C,
    threads: usize,
) -> Result<C::Fruit> {
    let scoring = if collector.requires_scoring() {
        stats.scoring()
    } else {
        EnableScoring::disabled_from_searcher(searcher)
    };
    let weight = query.weight(scoring)?;
    let segments = searcher.segment_readers();
    let one = |ord: usize| collector.collect_segment(weight.as_ref(), ord as u32, &segments[ord]);
    let threads = threads.min(segments.len());
    let fruits = if threads > 1 {
        // each thread takes a share of about equal records (small segments of live writes ride
        // along); the fruits are merged in segment order, as tantivy's top-k merge expects
        let sizes: Vec<u64> = segments.iter().map(|s| u64::from(s.max_doc())).collect();
        let shares = crate::index::balanced_groups(&sizes, threads);
        let share = |ords: &[usize]| {
            ords.iter()
                .map(|&ord| one(ord).map(|fruit| (ord, fruit)))
                .collect::<tantivy::Result<Vec<_>>>()
        };
        let mut fruits = std::thread::scope(|scope| {
            let others: Vec<_> = shares[1..]
                .iter()
                .map(|ords| scope.spawn(move || share(ords)))
                .collect();
            let mut fruits = share(&shares[0])?;
            for handle in others {
                let theirs = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                fruits.extend(theirs);
            }
            Ok::<_, tantivy::TantivyError>(fruits)
        })?;
        fruits.sort_by_key(|(ord, _)| *ord);
        fruits.into_iter().map(|(_, fruit)| fruit).collect()
    } else {
        (0..segments.len())
            .map(one)
            .collect::<tantivy::Result<Vec<_>>>()?
    };
    Ok(collector.merge_fruits(fruits)?)
}

/// Runs a search.
pub fn search(index: &MusterIndex, request: &SearchRequest) -> Result<SearchResponse> {
    let mut response = search_once(index, request)?;
    if response.total == 0
        && let Some(text) = &request.text
        && let Some(corrected) = crate::spelling::correction(index, request.max_marking, text)?
    {
        let again = SearchRequest {
            text: Some(corrected.clone()),
            limit: 1,
            offset: 0,
            facets: false,
            explain: false,
            ..request.clone()
        };
        if search_once(index, &again)?.total > 0 {
            response.did_you_mean = Some(corrected);
        }
    }
    if response.total == 0 && response.did_you_mean.is_none() {
        response.broader_skill = broader_skill(index, request)?;
    }
    Ok(response)
}

/// The nearest broader skill than one the request names that finds someone, nearest ancestor
/// first, for the skills of `skill` in order and then a text that is exactly a skill's name.
fn broader_skill(index: &MusterIndex, request: &SearchRequest) -> Result<Option<BroaderSkill>> {
    let taxonomy = &index.taxonomy;
    let mut named: Vec<(String, bool, usize)> = request
        .filters
        .skills
        .iter()
        .filter_map(|name| {
            let (nodes, _) = taxonomy.resolve(name);
            nodes.first().map(|&node| (name.clone(), false, node))
        })
        .collect();
    if let Some(text) = &request.text
        && let Some(node) = taxonomy.lookup(text.trim())
    {
        named.push((text.clone(), true, node));
    }
    for (instead_of, from_text, node) in named {
        for broader in taxonomy.ancestors(node).into_iter().skip(1) {
            let skill_id = taxonomy.node(broader).id.clone();
            let mut again = SearchRequest {
                limit: 1,
                offset: 0,
                facets: false,
                explain: false,
                ..request.clone()
            };
            if from_text {
                again.text = None;
                again.filters.skills.push(skill_id.clone());
            } else {
                for skill in again.filters.skills.iter_mut() {
                    if *skill == instead_of {
                        *skill = skill_id.clone();
                    }
                }
            }
            let total = search_once(index, &again)?.total;
            if total > 0 {
                return Ok(Some(BroaderSkill {
                    instead_of,
                    from_text,
                    label: taxonomy.node(broader).label.clone(),
                    skill_id,
                    total,
                }));
            }
        }
    }
    Ok(None)
}

/// [`search`] without a correction offered.
fn search_once(index: &MusterIndex, request: &SearchRequest) -> Result<SearchResponse> {
    let started = Instant::now();
    let searcher = index.reader.searcher();
    index.facet_cache.prune(&searcher);
    index.stats_cache.prune(&searcher);
    index.author_cache.prune(&searcher);
    let fields = &index.fields;
    // every score, and every "is this word known", from what the caller may see only
    let stats = Statistics::new(&searcher, fields, &index.stats_cache, request.max_marking)?;
    let taxonomy = &index.taxonomy;
    let kind = request.kind;
    let clauses = informative(
        index,
        &stats,
        request.text.as_deref().map(parse_text).unwrap_or_default(),
    )?;
    let targets = skill_targets(taxonomy, &request.filters.skills);

    // Skills the text names (a label or synonym, or close to one) rank by level like `skill=`.
    let mut text_skill_names: Vec<String> = Vec::new();
    for clause in &clauses {
        if let Clause::Phrase(p) = clause
            && let Some(node) = taxonomy.lookup(p)
        {
            text_skill_names.push(taxonomy.node(node).id.clone());
        }
    }
    if let Some(q) = &request.text {
        for node in taxonomy.find_in_text(&q.replace('"', " ")) {
            text_skill_names.push(taxonomy.node(node).id.clone());
        }
    }
    if !request.understanding {
        text_skill_names.clear();
    }
    let text_targets = skill_targets(taxonomy, &text_skill_names);

    let text = text_query(
        index,
        &stats,
        kind,
        &clauses,
        request.understanding,
        Least::Rule,
    )?;
    let credit = if kind == Kind::Member && (text.is_some() || !targets.is_empty()) {
        let mut all_targets = skill_targets(taxonomy, &request.filters.skills);
        all_targets.extend(skill_targets(taxonomy, &text_skill_names));
        let (loose, strict) = case_study_queries(index, &stats, request, &clauses, &all_targets)?;
        credit::case_study_credit(
            index,
            &searcher,
            &stats,
            loose.as_ref(),
            strict.as_ref(),
            request.today,
        )?
    } else {
        Credit::default()
    };

    // The scoring group: text, skill levels, case study credit. With q it must match through
    // text, a skill named by q, or authorship; with only `skill`, the filter already decides.
    let level_targets: Vec<SkillTarget> = targets
        .iter()
        .chain(text_targets.iter())
        .map(|t| SkillTarget {
            base: t.base.clone(),
            mapped: t.mapped,
        })
        .collect();
    let skill_parts = skill_scoring(fields, kind, &level_targets, request.today);
    let admitted: Vec<(DocAddress, Score)> = credit.admitted().iter().map(|m| (*m, 0.0)).collect();
    let admitted = Listed::addresses(&searcher, &admitted);
    let scoring: Option<Box<dyn Query>> = if text.is_some() {
        // must match the text or be credited; skill levels only add to the score
        // only the text scores here; authorship and named skills admit without scoring twice
        let mut required = vec![
            text.as_ref()
                .map(|t| t.box_clone())
                .unwrap_or_else(|| Box::new(EmptyQuery)),
        ];
        if !admitted.is_empty() {
            required.push(constant(Box::new(admitted), 0.0));
        }
        required.extend(text_targets.iter().map(|t| {
            constant(
                skill_filter(fields, kind, std::slice::from_ref(t), None),
                0.0,
            )
        }));
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, any_of(required))];
        for part in &skill_parts {
            clauses.push((Occur::Should, part.box_clone()));
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    } else if !targets.is_empty() {
        Some(Box::new(BooleanQuery::new(
            std::iter::once((Occur::Must, constant(Box::new(AllQuery), 0.0)))
                .chain(skill_parts.iter().map(|q| (Occur::Should, q.box_clone())))
                .collect(),
        )))
    } else if request
        .text
        .as_deref()
        .is_some_and(|q| !q.trim().is_empty())
    {
        // text with nothing to search for ("AND OR NOT", "the", punctuation) finds nobody: it
        // never means everyone
        Some(Box::new(EmptyQuery))
    } else {
        None
    };
    // every member the scoring group matches scores its case-study credit on top
    let credit = Arc::new(credit);
    let scoring: Option<Box<dyn Query>> = match scoring {
        Some(inner) if !credit.is_empty() => Some(Box::new(WithCredit {
            inner,
            credit: credit.clone(),
        })),
        scoring => scoring,
    };
    let filters = filter_clauses(index, request, &targets)?;

    // One pass: page of hits, total, and every facet. A facet whose own filter is set counts as
    // if that filter were not: such filters are checked by the collector (a record failing only
    // that one counts in its facet and nowhere else) rather than the query. The skill facet is a
    // drill-down tree: it is counted within the skill filter. Marking and kind stay in the query.
    let active: HashSet<&str> = filters.iter().map(|(name, _)| *name).collect();
    let names: Vec<&'static str> = if request.facets {
        facet_fields(kind)
            .iter()
            .copied()
            .filter(|name| facet_counted(request, name))
            .collect()
    } else {
        Vec::new()
    };
    let mut specs = Vec::new();
    let mut gates = Vec::new();
    let mut gated: Vec<&str> = Vec::new();
    for name in &names {
        let spec = facet_spec(fields, name, taxonomy);
        if *name != "skill"
            && active.contains(name)
            && let Some(admitted) = gate_facets(request, name)?
        {
            gates.push(Gate::new(&spec.field, &admitted, specs.len()));
            gated.push(name);
        }
        specs.push(spec);
    }
    let query = combine(&filters, &gated, scoring.as_deref());
    let tally = FacetTally {
        specs,
        cache: index.facet_cache.clone(),
    };
    let limit = request.limit.clamp(1, MAX_LIMIT);
    let order = match (request.sort, request.filters.near) {
        (SortOrder::Distance, Some(near)) => Order::Distance {
            near,
            lat: fields.schema.get_field_name(fields.lat).to_string(),
            lon: fields.schema.get_field_name(fields.lon).to_string(),
        },
        _ => Order::Score,
    };
    let by_distance = matches!(order, Order::Distance { .. });
    let collector = Gated {
        inner: (
            StableTop {
                limit,
                offset: request.offset,
                id_field: fields.id_name().to_string(),
                order,
            },
            Count,
        ),
        tally,
        gates,
    };
    let ((top, total), facet_counts) = collect(&searcher, &stats, &query, &collector)?;
    let ranked: Vec<(f32, DocAddress)> = top
        .into_iter()
        .map(|(key, address)| (if by_distance { -key } else { key } as f32, address))
        .collect();
    let facets: BTreeMap<String, BTreeMap<String, u64>> = names
        .iter()
        .zip(&facet_counts)
        .map(|(name, counts)| (name.to_string(), FacetTally::flatten(counts)))
        .collect();
    let sort_by_distance = request.sort == SortOrder::Distance && request.filters.near.is_some();
    let mut hits = Vec::with_capacity(ranked.len());
    for (score, address) in ranked {
        let doc: TantivyDocument = searcher.doc(address)?;
        let record = stored_record(fields, &doc)?;
        let hit = make_hit(
            index,
            &searcher,
            request,
            &record,
            HitContext {
                stats: &stats,
                score: if sort_by_distance { 0.0 } else { score },
                address,
                query: &query,
                text: text.as_deref(),
                skill_parts: &skill_parts,
                targets: &level_targets,
                credit: &credit,
            },
        )?;
        hits.push(hit);
    }
    Ok(SearchResponse {
        total: total as u64,
        took_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        hits,
        facets,
        did_you_mean: None,
        broader_skill: None,
    })
}

struct HitContext<'a> {
    stats: &'a Statistics<'a>,
    score: f32,
    address: DocAddress,
    query: &'a dyn Query,
    text: Option<&'a dyn Query>,
    skill_parts: &'a [Box<dyn Query>],
    targets: &'a [SkillTarget],
    credit: &'a Credit,
}

fn str_field<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record.get(name).and_then(Value::as_str)
}

fn make_hit(
    index: &MusterIndex,
    searcher: &Searcher,
    request: &SearchRequest,
    record: &Value,
    ctx: HitContext<'_>,
) -> Result<Hit> {
    let kind = request.kind;
    let id = str_field(record, "id").unwrap_or_default().to_string();
    let name = str_field(
        record,
        if kind == Kind::CaseStudy {
            "title"
        } else {
            "name"
        },
    )
    .unwrap_or_default()
    .to_string();
    let department = match kind {
        Kind::CaseStudy => record["departments"].get(0).and_then(Value::as_str),
        _ => str_field(record, "department"),
    }
    .map(String::from);
    let distance_km = request.filters.near.and_then(|near| {
        let lat = record["location"]["lat"].as_f64()?;
        let lon = record["location"]["lon"].as_f64()?;
        Some((haversine_km(near.lat, near.lon, lat, lon) * 10.0).round() / 10.0)
    });
    let matched_skills = if kind == Kind::Member {
        matched_skills(&index.taxonomy, record, ctx.targets, request)
    } else {
        Vec::new()
    };
    let mut evidence = Vec::new();
    let credited = ctx.credit.of(ctx.address);
    for address in credited.iter().flat_map(|c| c.evidence()) {
        let doc: TantivyDocument = searcher.doc(address)?;
        let cs = stored_record(&index.fields, &doc)?;
        evidence.push(Evidence {
            case_study: str_field(&cs, "id").unwrap_or_default().to_string(),
            title: str_field(&cs, "title").unwrap_or_default().to_string(),
        });
    }
    let mut highlights = BTreeMap::new();
    if let Some(text) = ctx.text {
        let field_text = [
            ("summary", "summary"),
            ("summary", "description"),
            ("body", "body"),
        ];
        for (field_name, record_field) in field_text {
            let Some(value) = str_field(record, record_field) else {
                continue;
            };
            let field = if field_name == "body" {
                index.fields.body
            } else {
                index.fields.summary
            };
            if let Some(html) = highlight(searcher, ctx.stats, text, field, value)? {
                highlights.insert(record_field.to_string(), html);
            }
        }
        if let Some(html) = highlight(searcher, ctx.stats, text, index.fields.name, &name)? {
            highlights.insert(
                if kind == Kind::CaseStudy {
                    "title"
                } else {
                    "name"
                }
                .to_string(),
                html,
            );
        }
    }
    let summary = summarise(kind, record, searcher, index, request)?;
    let explanation = if request.explain {
        Some(explain(searcher, &ctx, &evidence)?)
    } else {
        None
    };
    Ok(Hit {
        id,
        kind,
        name,
        department,
        score: (ctx.score * 1000.0).round() / 1000.0,
        distance_km,
        matched_skills,
        evidence,
        highlights,
        summary,
        explanation,
    })
}

/// The fragment of `value` that matches `query`, with `<mark>` tags; `None` when nothing matches.
/// Fragments are chosen by how rare their words are among the records the caller may see
/// (tantivy's `SnippetGenerator::create` would count every record).
fn highlight(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    field: Field,
    value: &str,
) -> Result<Option<String>> {
    let mut terms: Vec<&Term> = Vec::new();
    query.query_terms(&mut |term, _| {
        if term.field() == field && !terms.contains(&term) {
            terms.push(term);
        }
    });
    let mut weights: BTreeMap<String, Score> = BTreeMap::new();
    for term in terms {
        let value = term.value();
        let Some(text) = value.as_str() else {
            continue;
        };
        let doc_freq = stats.visible_doc_freq(term)?;
        if doc_freq > 0 {
            weights.insert(text.to_string(), 1.0 / (1.0 + doc_freq as Score));
        }
    }
    let tokenizer = searcher.index().tokenizer_for_field(field)?;
    let generator = SnippetGenerator::new(weights, tokenizer, field, 240);
    let mut snippet = generator.snippet(value);
    if snippet.highlighted().is_empty() {
        return Ok(None);
    }
    snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
    Ok(Some(snippet.to_html()))
}

/// Skills of a member that match the requested skills (or a narrower one), or the text.
fn matched_skills(
    taxonomy: &Taxonomy,
    record: &Value,
    targets: &[SkillTarget],
    request: &SearchRequest,
) -> Vec<MatchedSkill> {
    let mut en = text::english_analyzer();
    let words: HashSet<String> = request
        .text
        .as_deref()
        .map(|q| text::tokens(&mut en, q).into_iter().collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for skill in record["skills"].as_array().into_iter().flatten() {
        let Some(name) = skill["name"].as_str() else {
            continue;
        };
        let level = skill["level"]
            .as_str()
            .and_then(Level::parse)
            .map(Level::number)
            .unwrap_or(0);
        let key = schema::skill_key(taxonomy, name);
        let by_target = targets.iter().any(|t| {
            key.terms.contains(&t.base)
                || key.nodes.iter().any(|&n| {
                    taxonomy
                        .ancestors(n)
                        .iter()
                        .any(|a| taxonomy.node(*a).id == t.base)
                })
        });
        let by_text = !words.is_empty() && {
            let mut names = vec![name.to_string()];
            for &node in &key.nodes {
                names.push(taxonomy.node(node).label.clone());
                names.extend(taxonomy.node(node).all_synonyms().cloned());
            }
            names
                .iter()
                .any(|n| taxonomy.normalised(n).split(' ').any(|t| words.contains(t)))
        };
        if by_target || by_text {
            out.push(MatchedSkill {
                name: name.to_string(),
                level,
                skill_id: key.nodes.first().map(|&n| taxonomy.node(n).id.clone()),
            });
        }
    }
    out.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.name.cmp(&b.name)));
    out
}

/// A person another record refers to (a case study's author, a facility's contact), with the
/// details needed to reach them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PersonRef {
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Telephone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The members among `ids` the caller may see, in the order given, with their contact details.
pub fn people(
    index: &MusterIndex,
    searcher: &Searcher,
    ids: &[String],
    max_marking: Marking,
) -> Result<Vec<PersonRef>> {
    let fields = &index.fields;
    let keys: Vec<Box<dyn Query>> = ids
        .iter()
        .map(|id| term(fields.key, &schema::record_key(Kind::Member, id)))
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let query = BooleanQuery::new(vec![
        (Occur::Must, any_of(keys)),
        (Occur::Must, u64_at_most(fields.marking, max_marking.rank())),
    ]);
    let found = searcher.search(&query, &TopDocs::with_limit(ids.len()).order_by_score())?;
    let mut by_id: HashMap<String, PersonRef> = HashMap::new();
    for (_, address) in found {
        let doc: TantivyDocument = searcher.doc(address)?;
        let record = stored_record(fields, &doc)?;
        let text = |name: &str| str_field(&record, name).map(String::from);
        let person = PersonRef {
            id: text("id").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            role: text("role"),
            department: text("department"),
            email: text("email"),
            phone: text("phone"),
        };
        by_id.insert(person.id.clone(), person);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

fn string_list(record: &Value, field: &str) -> Vec<String> {
    record[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

/// Whether a member's clearance counts on `today` (`None` for no clearance), from the record.
pub fn clearance_status(record: &Value, today: Date) -> Option<crate::model::ClearanceStatus> {
    let clearance = str_field(record, "clearance")
        .and_then(Clearance::parse)
        .unwrap_or(Clearance::None);
    let due = str_field(record, "clearance_review_due")
        .and_then(|d| crate::model::date_format::parse(d, "clearance_review_due").ok());
    crate::model::ClearanceStatus::of(clearance, due, today)
}

/// Short facts for a results list, with references to hidden records removed.
fn summarise(
    kind: Kind,
    record: &Value,
    searcher: &Searcher,
    index: &MusterIndex,
    request: &SearchRequest,
) -> Result<Value> {
    let pick = |names: &[&str]| {
        let mut out = serde_json::Map::new();
        for name in names {
            if let Some(v) = record.get(*name)
                && !v.is_null()
            {
                out.insert((*name).to_string(), v.clone());
            }
        }
        out
    };
    Ok(match kind {
        Kind::Member => {
            let mut out = pick(&[
                "role",
                "email",
                "phone",
                "grade",
                "gse_category",
                "clearance",
                "clearance_review_due",
                "availability",
                "registrations",
                "updated",
                "marking",
            ]);
            if let Some(status) = clearance_status(record, request.today) {
                out.insert("clearance_status".into(), json!(status));
            }
            if let Some(town) = record["location"].get("town") {
                out.insert("town".into(), town.clone());
            }
            if let Some(region) = record["location"].get("region") {
                out.insert("region".into(), region.clone());
            }
            let mut out = Value::Object(out);
            if !request.vetting {
                withhold_clearance(&mut out);
            }
            out
        }
        Kind::CaseStudy => {
            let mut out = pick(&["date", "departments", "skills", "marking"]);
            let authors = people(
                index,
                searcher,
                &string_list(record, "authors"),
                request.max_marking,
            )?;
            let ids: Vec<&str> = authors.iter().map(|a| a.id.as_str()).collect();
            out.insert("authors".into(), json!(ids));
            out.insert("author_details".into(), json!(authors));
            Value::Object(out)
        }
        Kind::Facility => {
            let mut out = pick(&[
                "establishment",
                "capabilities",
                "access_clearance",
                "status",
                "marking",
            ]);
            if let Some(town) = record["location"].get("town") {
                out.insert("town".into(), town.clone());
            }
            let contacts = people(
                index,
                searcher,
                &string_list(record, "contacts"),
                request.max_marking,
            )?;
            out.insert("contact_details".into(), json!(contacts));
            Value::Object(out)
        }
    })
}

fn explain(searcher: &Searcher, ctx: &HitContext<'_>, evidence: &[Evidence]) -> Result<Value> {
    let value_of = |query: &dyn Query| -> f32 { score_of(searcher, ctx.stats, query, ctx.address) };
    let text = ctx.text.map(value_of).unwrap_or(0.0);
    let skills: f32 = ctx.skill_parts.iter().map(|q| value_of(q.as_ref())).sum();
    let credited = ctx.credit.of(ctx.address);
    let case_studies = credited.as_ref().map_or(0.0, |c| c.points);
    let total = value_of(ctx.query);
    // the largest part decided the place; the skill levels when they were most of the score
    let decided_by = [
        ("skill_levels", skills),
        ("text", text),
        ("case_studies", case_studies),
    ]
    .into_iter()
    .filter(|(_, points)| *points > 0.0)
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .map_or("filters only", |(part, _)| part);
    Ok(json!({
        "total": round3(total),
        "text_bm25": round3(text),
        "skill_levels": round3(skills),
        "case_study_credit": round3(case_studies),
        "case_studies_counted": credited.map_or(0, |c| c.counted),
        "case_studies_shown": evidence.len(),
        "decided_by": decided_by,
        "note": format!(
            "score = text relevance (BM25 over name, skills, role, summary) + {LEVEL_POINTS} points \
             per proficiency level held in a skill asked for (half for a narrower skill; up to \
             {RECENT_POINTS} more for an assessment this year or last) + credit from every \
             matching case study authored (relevance to the request, less for older ones, \
             summed; {CREDIT_POINTS} x sum / (sum + {CREDIT_HALF})); filters do not score"
        )
    }))
}

/// What `query` scores the record at `address`, 0 when it does not match. (tantivy's `explain`
/// seeks a boolean query's scorer backwards when the record comes before the query's first
/// match, which its debug assertions refuse.)
fn score_of(
    searcher: &Searcher,
    stats: &Statistics<'_>,
    query: &dyn Query,
    address: DocAddress,
) -> f32 {
    let scored = || -> tantivy::Result<f32> {
        let weight = query.weight(stats.scoring())?;
        let mut scorer = weight.scorer(searcher.segment_reader(address.segment_ord), 1.0)?;
        // past it already (or no match at all): it does not match
        if scorer.doc() > address.doc_id || scorer.seek(address.doc_id) != address.doc_id {
            return Ok(0.0);
        }
        Ok(scorer.score())
    };
    scored().unwrap_or(0.0)
}

fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

/// One record by id, or `NotFound` when it is missing or above the caller's marking. References
/// to records the caller may not see are left out; a member's clearance says whether it counts on
/// `today` (`clearance_status`), a case study's authors and a facility's contacts come with their
/// contact details (`author_details`, `contact_details`).
pub fn get(
    index: &MusterIndex,
    kind: Kind,
    id: &str,
    max_marking: Marking,
    today: Date,
) -> Result<Value> {
    let searcher = index.reader.searcher();
    let fields = &index.fields;
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(fields.key, &schema::record_key(kind, id))),
        (Occur::Must, u64_at_most(fields.marking, max_marking.rank())),
    ]);
    let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
    let Some((_, address)) = top.first() else {
        return Err(Error::NotFound);
    };
    let doc: TantivyDocument = searcher.doc(*address)?;
    let mut record = stored_record(fields, &doc)?;
    match kind {
        Kind::Member => {
            if let Some(status) = clearance_status(&record, today) {
                record["clearance_status"] = json!(status);
            }
            record["case_studies"] = json!(authored_by(index, &searcher, id, max_marking)?);
        }
        Kind::CaseStudy => {
            let authors = people(
                index,
                &searcher,
                &string_list(&record, "authors"),
                max_marking,
            )?;
            record["authors"] = json!(authors.iter().map(|a| &a.id).collect::<Vec<_>>());
            record["author_details"] = json!(authors);
            hide_references(
                index,
                &searcher,
                &mut record,
                "facilities",
                Kind::Facility,
                max_marking,
            )?;
        }
        Kind::Facility => {
            let contacts = people(
                index,
                &searcher,
                &string_list(&record, "contacts"),
                max_marking,
            )?;
            record["contacts"] = json!(contacts.iter().map(|c| &c.id).collect::<Vec<_>>());
            record["contact_details"] = json!(contacts);
        }
    }
    Ok(record)
}

fn hide_references(
    index: &MusterIndex,
    searcher: &Searcher,
    record: &mut Value,
    field: &str,
    kind: Kind,
    max_marking: Marking,
) -> Result<()> {
    let ids = string_list(record, field);
    let visible = visible_ids(index, searcher, kind, ids.iter(), max_marking)?;
    let kept: Vec<&String> = ids.iter().filter(|id| visible.contains(*id)).collect();
    record[field] = json!(kept);
    Ok(())
}

/// Case studies the caller may see that `member` authored, newest first.
fn authored_by(
    index: &MusterIndex,
    searcher: &Searcher,
    member: &str,
    max_marking: Marking,
) -> Result<Vec<Evidence>> {
    let fields = &index.fields;
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(fields.people, member)),
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(fields.kind, schema::kind_code(Kind::CaseStudy)),
                IndexRecordOption::Basic,
            )),
        ),
        (Occur::Must, u64_at_most(fields.marking, max_marking.rank())),
    ]);
    let top = searcher.search(&query, &TopDocs::with_limit(200).order_by_score())?;
    let mut out = Vec::new();
    let mut dated = Vec::new();
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let record = stored_record(fields, &doc)?;
        dated.push((
            str_field(&record, "date").unwrap_or_default().to_string(),
            Evidence {
                case_study: str_field(&record, "id").unwrap_or_default().to_string(),
                title: str_field(&record, "title").unwrap_or_default().to_string(),
            },
        ));
    }
    dated.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.case_study.cmp(&b.1.case_study))
    });
    out.extend(dated.into_iter().map(|(_, e)| e));
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ingest::parse_json_line;
    use crate::model::Record;

    pub(crate) const TODAY: Date = time::macros::date!(2026 - 11 - 22);

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

    fn request(kind: Kind) -> SearchRequest {
        SearchRequest::new(kind, Marking::Official, TODAY)
    }

    fn ids(response: &SearchResponse) -> Vec<&str> {
        response.hits.iter().map(|h| h.id.as_str()).collect()
    }

    /// Two answers to one search agree: total, every facet count, the scores down the page, and
    /// each hit in full. Records with equal scores come in record order, which differs between
    /// indexes, so hits scoring as the first or last on the page may be other records of that
    /// score; every hit scoring strictly between is the same, with the same explanation. Returns
    /// how many such hits were compared.
    fn assert_same_answer(a: &SearchResponse, b: &SearchResponse, what: &str) -> usize {
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

    #[test]
    fn an_index_in_several_segments_answers_exactly_as_one_segment_does() {
        // a large build is split into one segment per core, searched in parallel
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let (records, _) = crate::index::load_records(&dir).unwrap();
        let split = crate::index::in_ram_segments(&records, Taxonomy::builtin(), 3).unwrap();
        assert_eq!(split.reader.searcher().segment_readers().len(), 3);
        let one = fixture_index();
        let caller = crate::access::Caller::demo();
        let mut queries: Vec<&str> = crate::workload::QUERIES.to_vec();
        queries.extend([
            "q=modelling",
            "q=statistcs",
            "q=%22dispersion%20modelling%22&sort=distance&near=51.5,-0.12",
            "department=MOD&offset=5&limit=7",
            "",
        ]);
        let (mut found, mut compared) = (0, 0);
        for kind in [Kind::Member, Kind::CaseStudy, Kind::Facility] {
            for q in &queries {
                let pairs = crate::http::api::query_pairs(Some(q));
                let Ok(mut r) = crate::http::api::parse_search(Some(kind), &pairs, &caller, TODAY)
                else {
                    continue; // a parameter this kind does not take
                };
                r.explain = true;
                for marking in [Marking::Official, Marking::OfficialSensitive] {
                    r.max_marking = marking;
                    let a = search(one, &r).unwrap();
                    let b = search(&split, &r).unwrap();
                    found += usize::from(a.total > 0);
                    compared += assert_same_answer(&a, &b, &format!("{kind:?} {q} at {marking}"));
                }
            }
        }
        for body in crate::workload::MUSTERS {
            let answer = |index: &MusterIndex| {
                let request = crate::muster::MusterRequest::from_body(
                    serde_json::from_str(body).unwrap(),
                    index,
                    Marking::OfficialSensitive,
                    TODAY,
                )
                .unwrap();
                let mut value =
                    serde_json::to_value(crate::muster::muster(index, &request).unwrap()).unwrap();
                value["took_ms"] = json!(0);
                value
            };
            assert_eq!(answer(one), answer(&split), "muster {body}");
        }
        // the segments on one, two (one thread taking two segments) and three threads
        let searcher = split.reader.searcher();
        let stats = Statistics::new(
            &searcher,
            &split.fields,
            &split.stats_cache,
            Marking::Official,
        )
        .unwrap();
        for q in ["modelling", "statistics", "health", "risk"] {
            let clauses = parse_text(q);
            let query = text_query(&split, &stats, Kind::Member, &clauses, true, Least::Rule)
                .unwrap()
                .unwrap();
            let collector = (TopDocs::with_limit(30).order_by_score(), Count);
            let alone = collect_on(&searcher, &stats, query.as_ref(), &collector, 1).unwrap();
            assert!(alone.1 > 30, "{q}: {}", alone.1);
            for threads in [2, 3] {
                let parallel =
                    collect_on(&searcher, &stats, query.as_ref(), &collector, threads).unwrap();
                assert_eq!(alone, parallel, "{q} on {threads} threads");
            }
        }
        assert!(found >= 50, "only {found} searches found something");
        assert!(compared >= 200, "only {compared} hits compared in full");
    }

    #[test]
    fn skill_query_ranks_expert_above_practitioner_above_beginner() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["bayesian statistics".into()];
        let response = search(&index, &r).unwrap();
        assert_eq!(ids(&response), vec!["m-exp", "m-lapsed", "m-pra", "m-beg"]);
        // the same through plain words
        let mut r = request(Kind::Member);
        r.text = Some("Bayesian statistics".into());
        let response = search(&index, &r).unwrap();
        let order = ids(&response);
        let pos = |id| order.iter().position(|x| *x == id).unwrap();
        assert!(
            pos("m-exp") < pos("m-pra") && pos("m-pra") < pos("m-beg"),
            "{order:?}"
        );
    }

    #[test]
    fn a_listed_scorer_advances_and_seeks_like_a_posting_list() {
        let mut scorer = ListedScorer {
            listed: vec![(3, 1.0), (8, 2.0), (9, 3.0), (40, 4.0)],
            at: 0,
            boost: 2.0,
        };
        assert_eq!((scorer.doc(), scorer.score()), (3, 2.0));
        assert_eq!(scorer.seek(3), 3, "seeking the current record stays");
        assert_eq!(
            scorer.seek(4),
            8,
            "seeking past a gap lands on the next record"
        );
        assert_eq!(scorer.size_hint(), 3);
        assert_eq!((scorer.advance(), scorer.score()), (9, 6.0));
        assert_eq!(scorer.seek(41), TERMINATED);
        assert_eq!(
            scorer.advance(),
            TERMINATED,
            "advancing past the end stays there"
        );
        assert_eq!(scorer.score(), 0.0);
        let mut empty = ListedScorer {
            listed: Vec::new(),
            at: 0,
            boost: 1.0,
        };
        assert_eq!(empty.doc(), TERMINATED);
        assert_eq!(empty.seek(0), TERMINATED);
    }

    #[test]
    fn case_studies_credit_their_authors_member_records_and_only_those() {
        let index = small_index();
        let searcher = index.reader.searcher();
        let mut r = request(Kind::Member);
        r.text = Some("ash dispersion".into());
        let stats =
            Statistics::new(&searcher, &index.fields, &index.stats_cache, r.max_marking).unwrap();
        let clauses = parse_text("ash dispersion");
        let (loose, strict) = case_study_queries(&index, &stats, &r, &clauses, &[]).unwrap();
        let credit = credit::case_study_credit(
            &index,
            &searcher,
            &stats,
            loose.as_ref(),
            strict.as_ref(),
            r.today,
        )
        .unwrap();
        let mut credited: Vec<(DocAddress, Score)> = credit.points();
        credited.sort_by(|a, b| b.1.total_cmp(&a.1));
        let kind_of = |address: DocAddress| {
            let doc: TantivyDocument = searcher.doc(address).unwrap();
            let record = stored_record(&index.fields, &doc).unwrap();
            let id = str_field(&record, "id").unwrap_or_default().to_string();
            let segment = searcher.segment_reader(address.segment_ord);
            let kinds = segment.fast_fields().u64("kind").unwrap();
            (kinds.first(address.doc_id), id)
        };
        let member = Some(schema::kind_code(Kind::Member));
        assert!(credited.iter().all(|(a, _)| kind_of(*a).0 == member));
        assert_eq!(
            kind_of(credited[0].0).1,
            "m-author",
            "most credit: {credited:?}"
        );
        let listed = Listed::addresses(&searcher, &credited);
        let mut found: Vec<Score> = listed
            .by_segment
            .values()
            .flatten()
            .map(|(_, s)| *s)
            .collect();
        found.sort_by(|a, b| b.total_cmp(a));
        let scores: Vec<Score> = credited.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            found, scores,
            "each credited record listed once, scored as credited"
        );
        assert!(Listed::addresses(&searcher, &[]).is_empty());
    }

    #[test]
    fn words_with_nothing_to_search_for_find_nobody_rather_than_everyone() {
        let index = small_index();
        for text in ["AND OR NOT", "the", " -- "] {
            let mut r = request(Kind::Member);
            r.text = Some(text.into());
            let response = search(&index, &r).unwrap();
            assert_eq!(response.total, 0, "{text:?}: {:?}", ids(&response));
        }
        let mut r = request(Kind::Member);
        r.text = Some("   ".into());
        assert!(
            search(&index, &r).unwrap().total > 0,
            "a blank box is no query"
        );
    }

    #[test]
    fn author_with_a_thin_profile_is_found_through_case_studies() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.text = Some("ash dispersion".into());
        let response = search(&index, &r).unwrap();
        assert_eq!(ids(&response), vec!["m-author"]);
        let evidence: Vec<&str> = response.hits[0]
            .evidence
            .iter()
            .map(|e| e.case_study.as_str())
            .collect();
        assert_eq!(evidence, vec!["cs-1", "cs-2"]);
    }

    fn index_of(members: &[String], case_studies: &[String]) -> MusterIndex {
        let mut records = Vec::new();
        for (kind, lines) in [(Kind::Member, members), (Kind::CaseStudy, case_studies)] {
            for line in lines {
                records.push(parse_json_line(kind, line).unwrap().record);
            }
        }
        crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
    }

    #[test]
    fn nothing_found_for_a_skill_offers_the_nearest_broader_skill_that_finds_someone() {
        let member = |id: &str, marking: &str, skill: &str| {
            format!(
                r#"{{"id":"{id}","name":"Person {id}","department":"UKHSA","clearance":"SC","availability":"now","marking":"{marking}","skills":[{{"name":"{skill}","level":3}}]}}"#
            )
        };
        let index = index_of(
            &[
                member("m-1", "OFFICIAL", "Diagnostic microbiology"),
                member("m-2", "OFFICIAL-SENSITIVE", "Aerosol microbiology"),
            ],
            &[],
        );
        let ask = |skill: Option<&str>, text: Option<&str>, marking: Marking| {
            let mut r = request(Kind::Member);
            r.filters.skills = skill.into_iter().map(String::from).collect();
            r.text = text.map(String::from);
            r.max_marking = marking;
            search(&index, &r).unwrap()
        };
        let answer = ask(Some("Virology"), None, Marking::Official);
        assert_eq!(answer.total, 0, "the filter is not relaxed");
        let broader = answer.broader_skill.expect("a broader skill is offered");
        assert_eq!(
            (broader.label.as_str(), broader.total, broader.from_text),
            ("Microbiology", 1, false)
        );
        assert_eq!(broader.instead_of, "Virology");
        // the text naming the skill gets the same offer
        let answer = ask(None, Some("virology"), Marking::Official);
        let broader = answer.broader_skill.expect("offered for q too");
        assert_eq!(
            (broader.label.as_str(), broader.from_text),
            ("Microbiology", true)
        );
        // only what the caller may see counts: a hidden holder changes nothing
        let nobody = index_of(
            &[member("m-2", "OFFICIAL-SENSITIVE", "Aerosol microbiology")],
            &[],
        );
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["Virology".into()];
        let hidden = search(&nobody, &r).unwrap();
        assert_eq!(hidden.broader_skill, None);
        assert_eq!(
            ask(Some("Virology"), None, Marking::OfficialSensitive)
                .broader_skill
                .map(|b| b.total),
            Some(2)
        );
        // a skill someone holds needs no offer
        assert_eq!(
            ask(Some("Diagnostic microbiology"), None, Marking::Official).broader_skill,
            None
        );
    }

    #[test]
    fn nothing_found_offers_a_correction_from_what_the_caller_may_see_only() {
        let member = |id: &str, marking: &str, summary: &str| {
            format!(
                r#"{{"id":"{id}","name":"Person {id}","department":"Met Office","clearance":"SC","availability":"now","marking":"{marking}","summary":"{summary}"}}"#
            )
        };
        let index = index_of(
            &[
                member("m-1", "OFFICIAL", "Coastal flood forecasting."),
                member("m-2", "OFFICIAL", "Food safety inspection."),
                member("m-3", "OFFICIAL", "Food chain analysis."),
                member("m-4", "OFFICIAL-SENSITIVE", "Zeolite sorbent trials."),
            ],
            &[],
        );
        let ask = |text: &str, marking: Marking| {
            let mut r = request(Kind::Member);
            r.text = Some(text.into());
            r.max_marking = marking;
            search(&index, &r).unwrap()
        };
        // equally near, the word that starts as typed wins over the commoner one
        let answer = ask("flod forecasting", Marking::Official);
        assert_eq!(answer.total, 0);
        assert_eq!(answer.did_you_mean.as_deref(), Some("flood forecasting"));
        // a word only a record above the caller's marking holds is never offered
        assert_eq!(ask("zeoluta", Marking::Official).did_you_mean, None);
        let cleared = ask("zeoluta", Marking::OfficialSensitive);
        assert_eq!(cleared.total, 0);
        assert_eq!(cleared.did_you_mean.as_deref(), Some("zeolite"));
        // something found: no correction
        assert_eq!(ask("flood", Marking::Official).did_you_mean, None);
    }

    #[test]
    fn a_prolific_author_outranks_an_occasional_one_with_equally_good_work() {
        // two people with nothing but their work; the occasional author's id sorts first, so a
        // credit that stops counting (a cap, a window) leaves them tied and puts them first
        let members: Vec<String> = ["m-a-occasional", "m-prolific"]
            .iter()
            .map(|id| format!(r#"{{"id":"{id}","name":"Author {id}","department":"Met Office","clearance":"SC","availability":"now"}}"#))
            .collect();
        let mut case_studies = Vec::new();
        for (author, n) in [("m-a-occasional", 4), ("m-prolific", 12)] {
            for i in 0..n {
                case_studies.push(format!(
                    r#"{{"id":"cs-{author}-{i}","title":"Groundwater contamination survey {i}","summary":"Groundwater contamination modelling for a catchment.","authors":["{author}"]}}"#
                ));
            }
        }
        let index = index_of(&members, &case_studies);
        let mut r = request(Kind::Member);
        r.text = Some("groundwater contamination".into());
        r.explain = true;
        let response = search(&index, &r).unwrap();
        assert_eq!(ids(&response), vec!["m-prolific", "m-a-occasional"]);
        let counted = |i: usize| {
            response.hits[i].explanation.as_ref().unwrap()["case_studies_counted"].clone()
        };
        assert_eq!((counted(0), counted(1)), (json!(12), json!(4)));
        assert!(
            response.hits[0].evidence.len() <= credit::EVIDENCE_SHOWN,
            "evidence stays short"
        );
        assert!(response.hits[0].score > response.hits[1].score);
    }

    #[test]
    fn work_matching_one_word_adds_to_people_who_match_and_brings_in_nobody() {
        // the same profile text and lengths: only the work can tell the two apart
        let member = |id: &str, summary: &str| {
            format!(
                r#"{{"id":"{id}","name":"A Person","department":"Met Office","clearance":"SC","availability":"now","summary":"{summary}"}}"#
            )
        };
        let members = [
            member("m-1-work", "Groundwater contamination specialist."),
            member("m-2-only", "Librarian."),
            member("m-3-none", "Groundwater contamination specialist."),
        ];
        let case_study = |id: &str, title: &str, author: &str| {
            format!(
                r#"{{"id":"{id}","title":"{title}","summary":"{title}.","authors":["{author}"]}}"#
            )
        };
        let case_studies = [
            case_study("cs-1", "Groundwater abstraction licensing", "m-1-work"),
            case_study("cs-2", "Groundwater level monitoring", "m-2-only"),
        ];
        let index = index_of(&members, &case_studies);
        let mut r = request(Kind::Member);
        r.text = Some("groundwater contamination".into());
        r.explain = true;
        let response = search(&index, &r).unwrap();
        assert_eq!(ids(&response), vec!["m-1-work", "m-3-none"]);
        assert!(
            response.hits[0].score > response.hits[1].score,
            "the work counts: {:?}",
            response.hits
        );
        let explanation = response.hits[0].explanation.as_ref().unwrap();
        assert_eq!(explanation["case_studies_counted"], json!(1));
        assert_eq!(response.hits[0].evidence[0].case_study, "cs-1");
        assert!(response.hits[1].evidence.is_empty());
    }

    #[test]
    fn a_paragraph_finds_the_people_matching_enough_of_it_best_first() {
        let index = fixture_index();
        let mut r = request(Kind::Member);
        r.limit = 10;
        r.text = Some(
            "A chemical has been released from an industrial site upwind of a city. We need \
             people who can model how the plume will disperse through the atmosphere over the \
             next twelve hours and advise on shelter and evacuation for the public."
                .into(),
        );
        let response = search(index, &r).unwrap();
        assert!(
            response.total >= 10,
            "a paragraph returns people: {}",
            response.total
        );
        let taxonomy = &index.taxonomy;
        let dispersion = taxonomy.lookup("Atmospheric dispersion modelling").unwrap();
        let first = fixture_members()
            .into_iter()
            .find(|m| m.id == response.hits[0].id)
            .unwrap();
        assert!(
            first
                .skills
                .iter()
                .any(|s| taxonomy.lookup(&s.name) == Some(dispersion)),
            "the first is a dispersion modeller: {first:?}"
        );
        // a repeated word changes nothing
        let mut again = r.clone();
        again.text = Some(format!("{} disperse disperse", r.text.as_deref().unwrap()));
        assert_eq!(search(index, &again).unwrap().hits, response.hits);
    }

    #[test]
    fn among_holders_of_the_skill_asked_for_the_level_decides() {
        // the practitioner's profile says much more about the words; the expert holds level 4
        let members = [
            r#"{"id":"m-expert","name":"Erin Expert","department":"Dstl","clearance":"SC","availability":"now","skills":[{"name":"Bayesian statistics","level":4}],"summary":"Leads Bayesian statistics work."}"#.to_string(),
            r#"{"id":"m-practitioner","name":"Pat Practitioner","department":"UKHSA","clearance":"SC","availability":"now","role":"Bayesian statistician","skills":[{"name":"Bayesian statistics","level":3}],"summary":"Applies Bayesian statistics: Bayesian statistics for surveillance."}"#.to_string(),
        ];
        let index = index_of(&members, &[]);
        let mut r = request(Kind::Member);
        r.text = Some("bayesian statistics".into());
        r.explain = true;
        let response = search(&index, &r).unwrap();
        assert_eq!(ids(&response), vec!["m-expert", "m-practitioner"]);
        let explanation = response.hits[0].explanation.as_ref().unwrap();
        assert_eq!(explanation["decided_by"], "skill_levels");
        assert_eq!(
            explanation["skill_levels"],
            json!(4.0 * f64::from(LEVEL_POINTS))
        );
    }

    #[test]
    fn hidden_case_studies_credit_nobody_and_hidden_members_are_not_found() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.text = Some("dispersion".into());
        let response = search(&index, &r).unwrap();
        assert_eq!(
            ids(&response),
            vec!["m-author"],
            "cs-3 is hidden, so m-pra gets no credit; m-secret is hidden"
        );
        r.max_marking = Marking::OfficialSensitive;
        let response = search(&index, &r).unwrap();
        let mut found = ids(&response);
        found.sort();
        assert_eq!(found, vec!["m-author", "m-pra", "m-secret"]);
    }

    #[test]
    fn clearance_filter_is_a_minimum_and_ignores_lapsed_clearances() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.filters.clearance = Some(Clearance::Sc);
        let mut found = ids(&search(&index, &r).unwrap())
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        found.sort();
        assert_eq!(
            found,
            vec!["m-author", "m-exp", "m-pra"],
            "m-lapsed's DV review date has passed"
        );
    }

    #[test]
    fn a_clearance_lapses_after_its_review_date_whichever_days_were_searched_before() {
        // the records in date are a set cached per segment and day: searches on several days of
        // one index each see their own day's
        let index = small_index();
        let on = |day: Date| {
            let mut r = request(Kind::Member);
            r.today = day;
            r.filters.clearance = Some(Clearance::Dv);
            let response = search(&index, &r).unwrap();
            (ids(&response).contains(&"m-lapsed"), response.total)
        };
        let due = time::macros::date!(2025 - 01 - 01);
        let after = due.next_day().unwrap();
        assert_eq!(on(TODAY), (false, 0), "long past its review date");
        assert_eq!(on(due), (true, 1), "on its review date");
        assert_eq!(on(after), (false, 0), "the day after its review date");
        assert_eq!(on(due), (true, 1), "on its review date, asked again");
        assert_eq!(on(TODAY), (false, 0));
    }

    #[test]
    fn availability_filter_is_at_most() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.filters.availability = Some(Availability::Within24h);
        r.filters.skills = vec!["Bayesian statistics".into()];
        assert_eq!(
            ids(&search(&index, &r).unwrap()),
            vec!["m-exp", "m-lapsed", "m-pra"]
        );
    }

    #[test]
    fn department_filter_includes_children_of_a_parent() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.filters.departments = vec!["MOD".into()];
        let mut found = ids(&search(&index, &r).unwrap())
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        found.sort();
        assert_eq!(found, vec!["m-exp", "m-lapsed"]);
    }

    #[test]
    fn near_with_within_km_uses_great_circle_distance_and_can_sort_by_it() {
        let index = small_index();
        let mut r = request(Kind::Member);
        // central London; Colindale is ~13 km away, Salisbury ~130 km, Newport ~190 km
        r.filters.near = Some(Near {
            lat: 51.5074,
            lon: -0.1278,
            within_km: Some(150.0),
        });
        r.sort = SortOrder::Distance;
        let response = search(&index, &r).unwrap();
        assert_eq!(ids(&response), vec!["m-pra", "m-exp"]);
        assert!(response.hits[0].distance_km.unwrap() < 20.0);
        assert!((response.hits[1].distance_km.unwrap() - 120.0).abs() < 20.0);
    }

    #[test]
    fn min_level_keeps_only_members_at_or_above_it() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["Bayesian statistics".into()];
        r.filters.min_level = Some(Level::Practitioner);
        assert_eq!(
            ids(&search(&index, &r).unwrap()),
            vec!["m-exp", "m-lapsed", "m-pra"]
        );
    }

    #[test]
    fn facet_counts_equal_the_number_of_matching_records() {
        let index = fixture_index();
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["Statistics".into()];
        r.filters.clearance = Some(Clearance::Sc);
        r.limit = 100;
        let response = search(index, &r).unwrap();
        assert!(response.total > 10, "{}", response.total);
        for facet in ["availability", "gse_category"] {
            let sum: u64 = response.facets[facet].values().sum();
            assert_eq!(sum, response.total, "{facet}: {:?}", response.facets[facet]);
        }
        // page through everything and count departments by hand
        let mut by_dept: BTreeMap<String, u64> = BTreeMap::new();
        let mut offset = 0;
        while offset < response.total as usize {
            r.offset = offset;
            for hit in search(index, &r).unwrap().hits {
                *by_dept.entry(hit.department.unwrap()).or_default() += 1;
            }
            offset += 100;
        }
        // a department's count includes its children (MOD includes Dstl)
        let mut expected: BTreeMap<String, u64> = BTreeMap::new();
        for (dept, count) in &by_dept {
            for level in Reference::get().department_path(dept) {
                *expected.entry(level).or_default() += count;
            }
        }
        assert_eq!(response.facets["department"], expected);
        assert!(expected["MOD"] > expected["Dstl"]);
    }

    #[test]
    fn a_skill_facet_counts_each_record_once_however_many_of_its_skills_fall_under_it() {
        let index = fixture_index();
        let taxonomy = &index.taxonomy;
        let all = search(index, &request(Kind::Member)).unwrap();
        let mut checked = 0;
        for (label, count) in &all.facets["skill"] {
            let Some(node) = taxonomy.lookup(label) else {
                continue;
            };
            if taxonomy.node(node).children.is_empty() {
                continue;
            }
            // the skill filter admits the holders of the skill or a narrower one: each once
            let mut r = request(Kind::Member);
            r.filters.skills = vec![label.clone()];
            assert_eq!(search(index, &r).unwrap().total, *count, "{label}");
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} inner skills counted");
    }

    #[test]
    fn a_filtered_facet_still_counts_the_other_values() {
        let index = fixture_index();
        let mut r = request(Kind::Member);
        r.filters.departments = vec!["UKHSA".into()];
        let response = search(index, &r).unwrap();
        let ukhsa = response.facets["department"]["UKHSA"];
        assert_eq!(ukhsa, response.total);
        assert!(
            response.facets["department"]["Dstl"] > 0,
            "other departments are still offered"
        );
    }

    #[test]
    fn hostile_text_never_fails() {
        let index = small_index();
        for q in [
            "\"unbalanced",
            "a AND OR NOT (",
            "***",
            "\"\"",
            &"x".repeat(5000),
            "field:value -x +y",
            "ünïcödé ✓",
            "\u{0}",
        ] {
            let mut r = request(Kind::Member);
            r.text = Some(q.to_string());
            search(&index, &r).unwrap();
        }
    }

    #[test]
    fn quotes_make_a_phrase_and_an_unbalanced_quote_is_plain_words() {
        assert_eq!(
            parse_text("\"dispersion modelling\" ash"),
            vec![
                Clause::Phrase("dispersion modelling".into()),
                Clause::Word("ash".into())
            ]
        );
        assert_eq!(
            parse_text("ash \"dispersion modelling"),
            vec![
                Clause::Word("ash".into()),
                Clause::Word("dispersion".into()),
                Clause::Word("modelling".into())
            ]
        );
        assert_eq!(
            parse_text("cats AND dogs"),
            vec![Clause::Word("cats".into()), Clause::Word("dogs".into())]
        );
    }

    #[test]
    fn highlights_mark_the_match_and_escape_html() {
        let mut records = small_records();
        records.push(parse_json_line(Kind::Member, r#"{"id":"m-html","name":"Hal","department":"NPL","summary":"<script>alert(1)</script> metrology of atomic clocks"}"#).unwrap().record);
        let index = crate::index::in_ram(&records, Taxonomy::builtin()).unwrap();
        let mut r = request(Kind::Member);
        r.text = Some("clocks".into());
        let response = search(&index, &r).unwrap();
        let summary = &response.hits[0].highlights["summary"];
        assert!(summary.contains("<mark>clocks</mark>"), "{summary}");
        assert!(summary.contains("&lt;script&gt;"), "{summary}");
    }

    #[test]
    fn get_by_id_hides_records_above_the_callers_marking() {
        let index = small_index();
        assert!(matches!(
            get(&index, Kind::Member, "m-secret", Marking::Official, TODAY),
            Err(Error::NotFound)
        ));
        assert!(
            get(
                &index,
                Kind::Member,
                "m-secret",
                Marking::OfficialSensitive,
                TODAY
            )
            .is_ok()
        );
        let cs = get(&index, Kind::CaseStudy, "cs-2", Marking::Official, TODAY).unwrap();
        assert_eq!(
            cs["authors"],
            json!(["m-author"]),
            "the hidden co-author is not named"
        );
        let member = get(&index, Kind::Member, "m-pra", Marking::Official, TODAY).unwrap();
        assert_eq!(
            member["case_studies"],
            json!([]),
            "the hidden case study is not listed"
        );
    }

    #[test]
    fn explain_breaks_the_score_down() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.text = Some("Bayesian statistics".into());
        r.explain = true;
        let response = search(&index, &r).unwrap();
        let e = response.hits[0].explanation.as_ref().unwrap();
        let total = e["total"].as_f64().unwrap();
        let parts = e["text_bm25"].as_f64().unwrap()
            + e["skill_levels"].as_f64().unwrap()
            + e["case_study_credit"].as_f64().unwrap();
        assert!((total - parts).abs() < 0.01, "{e}");
        assert!(e["skill_levels"].as_f64().unwrap() > 0.0);
    }

    /// Brute-force oracle: does `m` pass filter `name` of `r`? Written from the contract, not
    /// from the engine.
    fn passes(m: &crate::model::Member, r: &SearchRequest, taxonomy: &Taxonomy) -> bool {
        let f = &r.filters;
        let path = Reference::get().department_path(&m.department);
        let dept_ok = f.departments.is_empty() || f.departments.iter().any(|d| path.contains(d));
        let clearance_ok = f.clearance.is_none_or(|c| {
            m.clearance >= c && m.clearance_review_due.is_none_or(|due| due >= r.today)
        });
        let availability_ok = f.availability.is_none_or(|a| m.availability <= a);
        let grade_ok = f.grades.is_empty() || m.grade.is_some_and(|g| f.grades.contains(&g));
        let gse_ok = f.gse_categories.is_empty()
            || m.gse_category
                .is_some_and(|g| f.gse_categories.contains(&g));
        let region_ok = f.regions.is_empty()
            || m.location
                .as_ref()
                .and_then(|l| l.region.as_ref())
                .is_some_and(|x| f.regions.contains(x));
        let registration_ok = f.registrations.is_empty()
            || m.registrations
                .iter()
                .any(|x| f.registrations.iter().any(|y| x.eq_ignore_ascii_case(y)));
        let near_ok = f.near.is_none_or(|n| {
            m.location.as_ref().is_some_and(|l| {
                haversine_km(n.lat, n.lon, l.lat, l.lon) <= n.within_km.unwrap_or(f64::INFINITY)
            })
        });
        let skill_ok = f.skills.is_empty()
            || f.skills.iter().any(|wanted| {
                let target = taxonomy.lookup(wanted).unwrap();
                m.skills.iter().any(|s| {
                    taxonomy
                        .lookup(&s.name)
                        .is_some_and(|n| taxonomy.ancestors(n).contains(&target))
                        && s.level >= f.min_level.unwrap_or(Level::Awareness)
                })
            });
        m.marking <= r.max_marking
            && dept_ok
            && clearance_ok
            && availability_ok
            && grade_ok
            && gse_ok
            && region_ok
            && registration_ok
            && near_ok
            && skill_ok
    }

    /// The members of the shipped fixtures, read from the files (not from the index).
    fn fixture_members() -> Vec<crate::model::Member> {
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

    #[test]
    fn every_filter_alone_and_combined_matches_a_brute_force_count() {
        let index = fixture_index();
        let members = fixture_members();
        let london = Near {
            lat: 51.5074,
            lon: -0.1278,
            within_km: Some(100.0),
        };
        let cases: Vec<(&str, Filters)> = vec![
            ("none", Filters::default()),
            (
                "skill",
                Filters {
                    skills: vec!["Statistics".into()],
                    ..Filters::default()
                },
            ),
            (
                "skill+min_level",
                Filters {
                    skills: vec!["Virology".into(), "Epidemiology".into()],
                    min_level: Some(Level::Practitioner),
                    ..Filters::default()
                },
            ),
            (
                "department parent",
                Filters {
                    departments: vec!["MOD".into()],
                    ..Filters::default()
                },
            ),
            (
                "departments or",
                Filters {
                    departments: vec!["UKHSA".into(), "Met Office".into()],
                    ..Filters::default()
                },
            ),
            (
                "clearance",
                Filters {
                    clearance: Some(Clearance::Sc),
                    ..Filters::default()
                },
            ),
            (
                "availability",
                Filters {
                    availability: Some(Availability::Within24h),
                    ..Filters::default()
                },
            ),
            (
                "grade",
                Filters {
                    grades: vec![Grade::G7, Grade::G6],
                    ..Filters::default()
                },
            ),
            (
                "gse_category",
                Filters {
                    gse_categories: vec![GseCategory::DeepSpecialist],
                    ..Filters::default()
                },
            ),
            (
                "region",
                Filters {
                    regions: vec!["London".into()],
                    ..Filters::default()
                },
            ),
            (
                "registration",
                Filters {
                    registrations: vec!["CEng".into()],
                    ..Filters::default()
                },
            ),
            (
                "near",
                Filters {
                    near: Some(london),
                    ..Filters::default()
                },
            ),
            (
                "combined",
                Filters {
                    departments: vec!["DHSC".into(), "MOD".into()],
                    clearance: Some(Clearance::Sc),
                    availability: Some(Availability::Week),
                    skills: vec!["Mathematical and data sciences".into()],
                    min_level: Some(Level::Working),
                    ..Filters::default()
                },
            ),
        ];
        for (name, filters) in cases {
            for marking in [Marking::Official, Marking::OfficialSensitive] {
                let mut r = SearchRequest::new(Kind::Member, marking, TODAY);
                r.filters = filters.clone();
                r.limit = 100;
                let expected: Vec<&str> = members
                    .iter()
                    .filter(|m| passes(m, &r, &index.taxonomy))
                    .map(|m| m.id.as_str())
                    .collect();
                let response = search(index, &r).unwrap();
                assert_eq!(
                    response.total as usize,
                    expected.len(),
                    "{name} at {marking}"
                );
                assert!(
                    !expected.is_empty(),
                    "{name}: the case should select someone"
                );
                for hit in &response.hits {
                    assert!(
                        expected.contains(&hit.id.as_str()),
                        "{name}: {} should not match",
                        hit.id
                    );
                }
            }
        }
    }

    #[test]
    fn a_set_filters_own_facet_counts_as_if_it_were_unset_matching_a_brute_force_count() {
        // The facets of set filters are counted in the same pass as the hits: compare each with
        // the records that pass every other filter, counted by hand.
        let index = fixture_index();
        let members = fixture_members();
        let cases = [
            Filters {
                departments: vec!["DHSC".into(), "MOD".into()],
                clearance: Some(Clearance::Sc),
                availability: Some(Availability::Week),
                skills: vec!["Mathematical and data sciences".into()],
                ..Filters::default()
            },
            Filters {
                grades: vec![Grade::G7, Grade::G6],
                gse_categories: vec![GseCategory::DeepSpecialist],
                regions: vec!["London".into(), "South West".into()],
                availability: Some(Availability::Month),
                ..Filters::default()
            },
            Filters {
                departments: vec!["MOD".into()],
                clearance: Some(Clearance::Dv),
                ..Filters::default()
            },
        ];
        let reference = Reference::get();
        for filters in cases {
            for marking in [Marking::Official, Marking::OfficialSensitive] {
                let mut r = SearchRequest::new(Kind::Member, marking, TODAY);
                r.filters = filters.clone();
                let response = search(index, &r).unwrap();
                type Unset = fn(&mut Filters);
                let set: Vec<(&str, Unset)> = vec![
                    ("department", |f| f.departments.clear()),
                    ("clearance", |f| f.clearance = None),
                    ("availability", |f| f.availability = None),
                    ("grade", |f| f.grades.clear()),
                    ("gse_category", |f| f.gse_categories.clear()),
                    ("region", |f| f.regions.clear()),
                ];
                for (facet, unset) in set {
                    let mut without = r.clone();
                    unset(&mut without.filters);
                    if without.filters == r.filters {
                        continue; // this filter is not set
                    }
                    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
                    for m in members
                        .iter()
                        .filter(|m| passes(m, &without, &index.taxonomy))
                    {
                        let lapsed = m.clearance_review_due.is_some_and(|due| due < TODAY);
                        let labels: Vec<String> = match facet {
                            "department" => reference.department_path(&m.department),
                            // a lapsed clearance is no clearance, whatever the level
                            "clearance" if lapsed => Vec::new(),
                            "clearance" => vec![m.clearance.as_str().into()],
                            "availability" => vec![m.availability.as_str().into()],
                            "grade" => m.grade.iter().map(|g| g.as_str().into()).collect(),
                            "gse_category" => {
                                m.gse_category.iter().map(|g| g.as_str().into()).collect()
                            }
                            _ => m.location.iter().filter_map(|l| l.region.clone()).collect(),
                        };
                        for label in labels {
                            *expected.entry(label).or_default() += 1;
                        }
                    }
                    assert!(
                        !expected.is_empty(),
                        "{facet}: the case should count someone"
                    );
                    assert_eq!(
                        response.facets[facet], expected,
                        "{facet} facet with {filters:?} at {marking}"
                    );
                }
            }
        }
    }

    fn understanding_index() -> MusterIndex {
        let members = [
            r#"{"id":"m-epi","name":"Eve","department":"UKHSA","skills":[{"name":"Epidemiological modelling","level":4}]}"#,
            r#"{"id":"m-trans","name":"Tom","department":"UKHSA","skills":[{"name":"transmission modelling","level":3}]}"#,
            r#"{"id":"m-micro","name":"Mia","department":"UKHSA","skills":[{"name":"Microbiology","level":3}]}"#,
            r#"{"id":"m-viro","name":"Vic","department":"APHA","skills":[{"name":"Virology","level":4}]}"#,
            r#"{"id":"m-gis","name":"Gil","department":"OS","skills":[{"name":"GIS","level":4}]}"#,
            r#"{"id":"m-free","name":"Fay","department":"DfT","skills":[{"name":"Quidditch refereeing","level":2}]}"#,
        ];
        let records: Vec<Record> = members
            .iter()
            .map(|l| parse_json_line(Kind::Member, l).unwrap().record)
            .collect();
        crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
    }

    fn found(index: &MusterIndex, q: &str) -> Vec<String> {
        let mut r = request(Kind::Member);
        r.text = Some(q.into());
        search(index, &r)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect()
    }

    #[test]
    fn a_synonym_query_finds_members_who_used_the_other_label() {
        let index = understanding_index();
        assert_eq!(found(&index, "disease modelling"), vec!["m-epi", "m-trans"]);
        assert_eq!(
            found(&index, "epidemiological modelling"),
            vec!["m-epi", "m-trans"]
        );
    }

    #[test]
    fn a_misspelt_long_word_still_finds_the_skill_but_a_short_one_is_not_fuzzed() {
        let index = understanding_index();
        assert_eq!(
            found(&index, "epidemiolgical modeling"),
            vec!["m-epi", "m-trans"]
        );
        assert_eq!(found(&index, "virolgy"), vec!["m-viro"]);
        assert_eq!(found(&index, "GIS"), vec!["m-gis"]);
        assert!(
            found(&index, "GIX").is_empty(),
            "three letters are never fuzzed"
        );
    }

    #[test]
    fn a_parent_skill_finds_its_childrens_experts_below_direct_matches() {
        let index = understanding_index();
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["Microbiology".into()];
        let ids: Vec<String> = search(&index, &r)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(
            ids,
            vec!["m-micro", "m-viro"],
            "the practitioner in Microbiology itself outranks the Virology expert"
        );
    }

    #[test]
    fn an_unmapped_skill_is_still_searchable_as_text() {
        let index = understanding_index();
        assert_eq!(found(&index, "quidditch"), vec!["m-free"]);
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["quidditch refereeing".into()];
        let response = search(&index, &r).unwrap();
        assert_eq!(response.total, 1);
        assert_eq!(
            response.facets["skill"].get("Quidditch refereeing"),
            Some(&1)
        );
    }

    fn facility_ids(
        index: &MusterIndex,
        skill: &str,
        near: Option<(f64, f64, f64)>,
    ) -> Vec<String> {
        let mut r = request(Kind::Facility);
        r.filters.skills = vec![skill.into()];
        r.filters.near = near.map(|(lat, lon, km)| Near {
            lat,
            lon,
            within_km: Some(km),
        });
        r.limit = 100;
        let mut ids: Vec<String> = search(index, &r)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn containment_levels_and_animal_containment_are_told_apart() {
        let index = fixture_index();
        // the issue's example: CL4 near London finds the CL4 labs at Porton (UKHSA's written
        // "CL4/BSL4"), and no SAPO4 animal unit
        assert_eq!(
            facility_ids(index, "CL4", Some((51.5, -0.12, 150.0))),
            ["dstl-cl4", "ukhsa-cl4"]
        );
        assert_eq!(facility_ids(index, "BSL4", None), ["dstl-cl4", "ukhsa-cl4"]);
        assert_eq!(
            facility_ids(index, "SAPO4", None),
            ["apha-sapo4", "pirbright-sapo4"]
        );
        // no lab lists CL3: asking for it finds none, not the CL4 or animal labs
        assert!(facility_ids(index, "CL3", None).is_empty());
        // the broad concept reaches all the narrower ones
        assert_eq!(
            facility_ids(index, "High containment microbiology", None),
            ["apha-sapo4", "dstl-cl4", "pirbright-sapo4", "ukhsa-cl4"]
        );
    }

    #[test]
    fn sibling_animal_diseases_find_their_own_labs_only() {
        let index = fixture_index();
        assert_eq!(
            facility_ids(index, "foot-and-mouth disease", None),
            ["pirbright-fmd-ref", "pirbright-sapo4"]
        );
        assert_eq!(
            facility_ids(index, "avian influenza", None),
            ["apha-ai-ref", "apha-sapo4"]
        );
    }

    #[test]
    fn free_text_that_names_a_concept_is_linked_to_it() {
        let index = fixture_index();
        // "viral genome sequencing" at the FMD reference lab is genome sequencing
        assert_eq!(
            facility_ids(index, "whole genome sequencing", None),
            ["pirbright-fmd-ref", "ukhsa-csl"]
        );
        // "flight data recorder download" is flight data analysis
        assert_eq!(
            facility_ids(index, "flight data analysis", None),
            ["aaib-recorders"]
        );
        // a survey methodologist is found by "survey methods", not the ESCO inspection skill
        let mut r = request(Kind::Member);
        r.text = Some("survey methods".into());
        let top = &search(index, &r).unwrap().hits[0];
        assert!(
            top.matched_skills
                .iter()
                .any(|s| s.skill_id.as_deref() == Some("survey-methodology")),
            "{top:?}"
        );
    }

    #[test]
    fn a_closed_facility_is_listed_only_when_asked_for_and_its_facet_says_so() {
        let index = fixture_index();
        let mut r = request(Kind::Facility);
        r.limit = 100;
        let usable = search(index, &r).unwrap();
        assert!(!ids(&usable).contains(&"ukaea-jet"), "JET is closed");
        assert_eq!(usable.facets["status"].get("closed"), Some(&1));
        assert_eq!(
            usable.total,
            usable.facets["status"].values().sum::<u64>() - 1
        );
        r.filters.statuses = vec![FacilityStatus::Closed];
        let closed = search(index, &r).unwrap();
        assert_eq!(ids(&closed), ["ukaea-jet"]);
        assert_eq!(closed.hits[0].summary["status"], "closed");
        // a text search for what JET did finds the open tokamak, not JET
        let mut r = request(Kind::Facility);
        r.text = Some("tokamak".into());
        let tokamaks = search(index, &r).unwrap();
        assert!(ids(&tokamaks).contains(&"ukaea-mastu") && !ids(&tokamaks).contains(&"ukaea-jet"));
    }

    #[test]
    fn a_lapsed_clearance_says_so_in_hits_and_on_the_record() {
        let index = small_index();
        let mut r = request(Kind::Member);
        r.filters.skills = vec!["Bayesian statistics".into()];
        r.limit = 100;
        let response = search(&index, &r).unwrap();
        let status = |id: &str| {
            response.hits.iter().find(|h| h.id == id).unwrap().summary["clearance_status"].clone()
        };
        assert_eq!(status("m-lapsed"), "lapsed");
        assert_eq!(status("m-exp"), "in_date");
        let record = get(&index, Kind::Member, "m-lapsed", Marking::Official, TODAY).unwrap();
        assert_eq!(record["clearance_status"], "lapsed");
        assert_eq!(record["clearance"], "DV");
    }

    #[test]
    fn facility_contacts_and_case_study_authors_come_with_names_and_contact_details() {
        let index = fixture_index();
        let facility = get(index, Kind::Facility, "ukhsa-cl4", Marking::Official, TODAY).unwrap();
        let details = facility["contact_details"].as_array().unwrap();
        assert!(!details.is_empty());
        for c in details {
            assert!(c["name"].as_str().is_some_and(|n| !n.is_empty()), "{c}");
            assert!(c["email"].as_str().is_some_and(|e| e.contains('@')), "{c}");
            assert!(c["phone"].as_str().is_some(), "{c}");
        }
        let mut r = request(Kind::Facility);
        r.filters.skills = vec!["CL4".into()];
        let hit = &search(index, &r).unwrap().hits[0];
        assert!(
            hit.summary["contact_details"][0]["name"].is_string(),
            "{hit:?}"
        );
    }
}

/// Property tests of the query parser: any text parses, and what it parses to round-trips.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn render(clauses: &[Clause]) -> String {
        clauses
            .iter()
            .map(|c| match c {
                Clause::Word(w) => w.clone(),
                Clause::Phrase(p) => format!("\"{p}\""),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_parses_and_the_clauses_round_trip(q in ".{0,200}") {
            let clauses = parse_text(&q);
            for clause in &clauses {
                match clause {
                    Clause::Word(w) => {
                        prop_assert!(!w.is_empty());
                        prop_assert!(!w.contains(char::is_whitespace) && !w.contains('"'));
                    }
                    Clause::Phrase(p) => prop_assert!(p.split_whitespace().count() > 1),
                }
            }
            prop_assert_eq!(parse_text(&render(&clauses)), clauses);
        }

        #[test]
        fn words_and_phrases_written_out_are_read_back(
            parts in prop::collection::vec(
                prop_oneof![
                    "[a-z0-9]{1,10}".prop_map(|w| (false, w)),
                    "[a-z]{1,8}( [a-z]{1,8}){1,3}".prop_map(|p| (true, p)),
                ],
                0..6,
            )
        ) {
            let text = parts
                .iter()
                .map(|(phrase, t)| if *phrase { format!("\"{t}\"") } else { t.clone() })
                .collect::<Vec<_>>()
                .join(" ");
            let mut seen = HashSet::new();
            let expected: Vec<Clause> = parts
                .iter()
                .filter(|(phrase, t)| {
                    *phrase || (!text::STOP_WORDS.contains(&t.as_str()) && seen.insert(t.clone()))
                })
                .map(|(phrase, t)| if *phrase {
                    Clause::Phrase(t.clone())
                } else {
                    Clause::Word(t.clone())
                })
                .collect();
            prop_assert_eq!(parse_text(&text), expected);
        }

        #[test]
        fn the_box_around_a_circle_never_drops_a_record_inside_it(
            lat in -90.0f64..=90.0,
            lon in -180.0f64..=180.0,
            km in 0.0f64..3000.0,
            d_lat in -30.0f64..30.0,
            d_lon in -40.0f64..40.0,
            edge in 0.99f64..1.01,
            bearing in 0.0f64..std::f64::consts::TAU,
        ) {
            let circle = Circle::new(Near { lat, lon, within_km: Some(km) });
            // a record anywhere around, and one about on the circle in any direction
            let there_lat = (lat + d_lat).clamp(-90.0, 90.0);
            let there_lon = (lon + d_lon + 180.0).rem_euclid(360.0) - 180.0;
            let (p1, l1) = (lat.to_radians(), lon.to_radians());
            let angle = edge * km / EARTH_RADIUS_KM;
            let p2 = (p1.sin() * angle.cos() + p1.cos() * angle.sin() * bearing.cos()).asin();
            let l2 = l1
                + (bearing.sin() * angle.sin() * p1.cos()).atan2(angle.cos() - p1.sin() * p2.sin());
            let edge_lon = (l2.to_degrees() + 180.0).rem_euclid(360.0) - 180.0;
            for (a, b) in [(there_lat, there_lon), (p2.to_degrees(), edge_lon)] {
                prop_assert_eq!(
                    circle.contains(a, b),
                    haversine_km(lat, lon, a, b) <= km,
                    "({}, {}) from ({}, {}) within {} km", a, b, lat, lon, km
                );
            }
        }
    }
}
