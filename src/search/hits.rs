//! Turning a matched record into a hit: summary, highlights, matched skills, evidence and the
//! explanation of its score.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, Scorer};
use tantivy::schema::Field;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, DocSet, Score, Searcher, TantivyDocument, Term};

use crate::Result;
use crate::credit::{CREDIT_HALF, CREDIT_POINTS, Credit};
use crate::index::MusterIndex;
use crate::model::{Kind, Location, Marking, Member, Record};
use crate::schema::{self};
use crate::shapes::{CaseStudySummary, FacilitySummary, MemberSummary, PersonRef, Summary};
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;
use crate::text;

use super::geo::haversine_km;
use super::query::{SkillTarget, any_of, term, u64_at_most};
use super::request::{LEVEL_POINTS, RECENT_POINTS, SearchRequest};
use super::response::{Evidence, Hit, MatchedSkill};

pub(super) struct HitContext<'a> {
    pub(super) stats: &'a Statistics<'a>,
    pub(super) score: f32,
    pub(super) address: DocAddress,
    pub(super) query: &'a dyn Query,
    pub(super) text: Option<&'a dyn Query>,
    pub(super) skill_parts: &'a [Box<dyn Query>],
    pub(super) targets: &'a [SkillTarget],
    pub(super) credit: &'a Credit,
    /// Present when the request asked for highlights of its text.
    pub(super) highlighter: Option<&'a Highlighter>,
    /// The text's words, for the skills a hit matched.
    pub(super) skill_words: &'a SkillWords,
}

pub(super) fn make_hit(
    index: &MusterIndex,
    searcher: &Searcher,
    request: &SearchRequest,
    record: &Record,
    ctx: HitContext<'_>,
) -> Result<Hit> {
    let kind = request.kind;
    let (id, name, department, location) = match record {
        Record::Member(m) => (&m.id, &m.name, Some(&m.department), m.location.as_ref()),
        Record::CaseStudy(c) => (&c.id, &c.title, c.departments.first(), None),
        Record::Facility(f) => (&f.id, &f.name, f.department.as_ref(), f.location.as_ref()),
    };
    let distance_km =
        request.filters.near.zip(location).map(|(near, at)| {
            (haversine_km(near.lat, near.lon, at.lat, at.lon) * 10.0).round() / 10.0
        });
    let matched_skills = match record {
        Record::Member(m) => matched_skills(&index.taxonomy, m, ctx.targets, ctx.skill_words),
        _ => Vec::new(),
    };
    let mut evidence = Vec::new();
    let credited = ctx.credit.of(ctx.address);
    for address in credited.iter().flat_map(|c| c.evidence()) {
        let doc: TantivyDocument = searcher.doc(address)?;
        let cs = index.fields.stored_case_study(&doc)?;
        evidence.push(Evidence {
            case_study: cs.id,
            title: cs.title,
        });
    }
    let mut highlights = BTreeMap::new();
    if let Some(highlighter) = ctx.highlighter {
        let fields = &index.fields;
        let texts: Vec<(&str, Field, Option<&String>)> = match record {
            Record::Member(m) => vec![
                ("summary", fields.summary, m.summary.as_ref()),
                ("name", fields.name, Some(&m.name)),
            ],
            Record::CaseStudy(c) => vec![
                ("summary", fields.summary, c.summary.as_ref()),
                ("body", fields.body, c.body.as_ref()),
                ("title", fields.name, Some(&c.title)),
            ],
            Record::Facility(f) => vec![
                ("description", fields.summary, f.description.as_ref()),
                ("name", fields.name, Some(&f.name)),
            ],
        };
        for (record_field, field, value) in texts {
            if let Some(html) = value.and_then(|value| highlighter.highlight(field, value)) {
                highlights.insert(record_field.to_string(), html);
            }
        }
    }
    let summary = summarise(record, searcher, index, request)?;
    let explanation = if request.explain {
        Some(explain(searcher, &ctx, &evidence)?)
    } else {
        None
    };
    Ok(Hit {
        id: id.clone(),
        kind,
        name: name.clone(),
        department: department.cloned(),
        score: (ctx.score * 1000.0).round() / 1000.0,
        distance_km,
        matched_skills,
        evidence,
        highlights,
        summary,
        explanation,
    })
}

/// The fragments of a record's text fields that match a search's text, with `<mark>` tags: one
/// snippet generator per field, made once per search and used for every hit. Fragments are chosen
/// by how rare their words are among the records the caller may see (tantivy's
/// `SnippetGenerator::create` would count every record).
pub(super) struct Highlighter {
    generators: Vec<(Field, SnippetGenerator)>,
}

impl Highlighter {
    /// Generators for `fields`, each weighting the terms `query` looks for in that field; a field
    /// `query` looks for nothing in gets none (and never a highlight).
    pub(super) fn new(
        searcher: &Searcher,
        stats: &Statistics<'_>,
        query: &dyn Query,
        fields: &[Field],
    ) -> Result<Highlighter> {
        let mut terms: Vec<&Term> = Vec::new();
        query.query_terms(&mut |term, _| {
            if fields.contains(&term.field()) && !terms.contains(&term) {
                terms.push(term);
            }
        });
        let mut generators = Vec::new();
        for &field in fields {
            let mut weights: BTreeMap<String, Score> = BTreeMap::new();
            for term in terms.iter().filter(|t| t.field() == field) {
                let value = term.value();
                let Some(text) = value.as_str() else {
                    continue;
                };
                let doc_freq = stats.visible_doc_freq(term)?;
                if doc_freq > 0 {
                    weights.insert(text.to_string(), 1.0 / (1.0 + doc_freq as Score));
                }
            }
            if weights.is_empty() {
                continue;
            }
            let tokenizer = searcher.index().tokenizer_for_field(field)?;
            generators.push((field, SnippetGenerator::new(weights, tokenizer, field, 240)));
        }
        Ok(Highlighter { generators })
    }

    /// The fragment of `value` (of `field`) that matches, with `<mark>` tags; `None` when nothing
    /// matches.
    pub(super) fn highlight(&self, field: Field, value: &str) -> Option<String> {
        let (_, generator) = self.generators.iter().find(|(f, _)| *f == field)?;
        let mut snippet = generator.snippet(value);
        if snippet.highlighted().is_empty() {
            return None;
        }
        snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
        Some(snippet.to_html())
    }
}

/// The words of a search's text, and which skill concepts they name, for [`matched_skills`]:
/// worked out once per search, each concept when a hit first holds it.
pub(super) struct SkillWords {
    words: HashSet<String>,
    /// Whether a concept's label or a synonym holds one of the words, by node.
    named: RefCell<HashMap<usize, bool>>,
}

impl SkillWords {
    pub(super) fn new(request: &SearchRequest) -> SkillWords {
        let words = request
            .text
            .as_deref()
            .map(|q| {
                text::tokens(&mut text::english_analyzer(), q)
                    .into_iter()
                    .collect()
            })
            .unwrap_or_default();
        SkillWords {
            words,
            named: RefCell::new(HashMap::new()),
        }
    }

    fn in_name(&self, taxonomy: &Taxonomy, name: &str) -> bool {
        taxonomy
            .normalised(name)
            .split(' ')
            .any(|t| self.words.contains(t))
    }

    /// Whether the words name a skill recorded as `name`, of the concepts `nodes`.
    fn name_skill(&self, taxonomy: &Taxonomy, name: &str, nodes: &[usize]) -> bool {
        if self.words.is_empty() {
            return false;
        }
        self.in_name(taxonomy, name)
            || nodes.iter().any(|&node| {
                *self.named.borrow_mut().entry(node).or_insert_with(|| {
                    let concept = taxonomy.node(node);
                    std::iter::once(&concept.label)
                        .chain(concept.all_synonyms())
                        .any(|n| self.in_name(taxonomy, n))
                })
            })
    }
}

/// Skills of a member that match the requested skills (or a narrower one), or the text.
pub(super) fn matched_skills(
    taxonomy: &Taxonomy,
    member: &Member,
    targets: &[SkillTarget],
    words: &SkillWords,
) -> Vec<MatchedSkill> {
    let mut out = Vec::new();
    for skill in &member.skills {
        let (name, level) = (skill.name.as_str(), skill.level.number());
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
        if by_target || words.name_skill(taxonomy, name, &key.nodes) {
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
        let member = fields.stored_member(&doc)?;
        let person = PersonRef {
            id: member.id,
            name: member.name,
            role: member.role,
            department: Some(member.department),
            email: member.email,
            phone: member.phone,
        };
        by_id.insert(person.id.clone(), person);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Short facts for a results list, with references to hidden records removed.
pub(super) fn summarise(
    record: &Record,
    searcher: &Searcher,
    index: &MusterIndex,
    request: &SearchRequest,
) -> Result<Summary> {
    let town = |location: &Option<Location>| location.as_ref().and_then(|l| l.town.clone());
    Ok(match record {
        Record::Member(m) => {
            let mut summary = MemberSummary {
                availability: m.availability,
                clearance: Some(m.clearance),
                clearance_review_due: m.clearance_review_due,
                clearance_status: m.clearance_status(request.today),
                email: m.email.clone(),
                grade: m.grade,
                gse_category: m.gse_category,
                marking: m.marking,
                phone: m.phone.clone(),
                region: m.location.as_ref().and_then(|l| l.region.clone()),
                registrations: m.registrations.clone(),
                role: m.role.clone(),
                town: town(&m.location),
                updated: m.updated,
            };
            if !request.vetting {
                summary.withhold_clearance();
            }
            Summary::Member(summary)
        }
        Record::CaseStudy(c) => {
            let authors = people(index, searcher, &c.authors, request.max_marking)?;
            Summary::CaseStudy(CaseStudySummary {
                authors: authors.iter().map(|a| a.id.clone()).collect(),
                author_details: authors,
                date: c.date,
                departments: c.departments.clone(),
                marking: c.marking,
                skills: c.skills.clone(),
            })
        }
        Record::Facility(f) => Summary::Facility(FacilitySummary {
            access_clearance: f.access_clearance,
            capabilities: f.capabilities.clone(),
            contact_details: people(index, searcher, &f.contacts, request.max_marking)?,
            establishment: f.establishment.clone(),
            marking: f.marking,
            status: f.status,
            town: town(&f.location),
        }),
    })
}

pub(super) fn explain(
    searcher: &Searcher,
    ctx: &HitContext<'_>,
    evidence: &[Evidence],
) -> Result<Value> {
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
pub(super) fn score_of(
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

pub(super) fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}
