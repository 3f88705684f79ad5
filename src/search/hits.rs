//! Turning a matched record into a hit: summary, highlights, matched skills, evidence and the
//! explanation of its score.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Value, json};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, Scorer};
use tantivy::schema::Field;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, DocSet, Score, Searcher, TantivyDocument, Term};
use time::Date;

use crate::Result;
use crate::credit::{CREDIT_HALF, CREDIT_POINTS, Credit};
use crate::index::MusterIndex;
use crate::model::{Clearance, Kind, Level, Marking};
use crate::schema::{self};
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;
use crate::text;

use super::geo::haversine_km;
use super::query::{SkillTarget, any_of, term, u64_at_most};
use super::request::{LEVEL_POINTS, RECENT_POINTS, SearchRequest};
use super::response::{Evidence, Hit, MatchedSkill};
use super::stored_record;

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

pub(super) struct HitContext<'a> {
    pub(super) stats: &'a Statistics<'a>,
    pub(super) score: f32,
    pub(super) address: DocAddress,
    pub(super) query: &'a dyn Query,
    pub(super) text: Option<&'a dyn Query>,
    pub(super) skill_parts: &'a [Box<dyn Query>],
    pub(super) targets: &'a [SkillTarget],
    pub(super) credit: &'a Credit,
}

pub(super) fn str_field<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record.get(name).and_then(Value::as_str)
}

pub(super) fn make_hit(
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
pub(super) fn highlight(
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
pub(super) fn matched_skills(
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

pub(super) fn string_list(record: &Value, field: &str) -> Vec<String> {
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
pub(super) fn summarise(
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
