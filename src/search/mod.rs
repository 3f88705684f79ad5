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
//!
//! # Layout
//!
//! - `request`: what may be asked, with its limits; `params`: the search parameters, declared
//!   once (the raw-value type, its OpenAPI description, the kinds that take each), and the one
//!   check that turns them into a request (for the API, pages, command line and benches alike);
//!   `response`: what is answered.
//! - `query`: the ranked part (words of `q`, skills by level, crediting case studies);
//!   `filter`: the hard filters as named clauses and the facets they gate; `geo`: distances.
//! - `listed`: a query over records given by address, each with its score (credited authors).
//! - `parallel`: running a query over the segments ([`collect`]); this file: one search, from
//!   request to response, and the per-segment tables it warms.
//! - `hits`: a matched record rendered as a hit, with its explanation; `records`: get by id.

mod filter;
mod geo;
mod hits;
mod listed;
mod parallel;
mod params;
mod query;
mod records;
mod request;
mod response;

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, EmptyQuery, Occur, Query};
use tantivy::schema::Facet;
use tantivy::{DocAddress, Searcher, TantivyDocument};
use time::Date;

use crate::Result;
use crate::credit::{self, Credit, WithCredit};
use crate::facets::{FacetTally, Gate, Gated};
use crate::index::MusterIndex;
use crate::index::tables::FacetSpec;
use crate::model::{Kind, Marking};
use crate::reference::Reference;
use crate::schema;
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;
use crate::top::{Bar, Order, StableTop};
use crate::visible::CachedSet;

pub use crate::schema::FacetName;
pub use geo::haversine_km;
pub use hits::people;
pub(crate) use parallel::collect;
pub use params::{
    CaseStudyParams, ExpertParams, FacilityParams, SearchParams, accepted_params, parse_search,
    query_pairs,
};
pub use query::{Clause, SHORT_QUERY_WORDS, parse_text};
pub use records::{RecordView, VETTING_FIELDS, get};
pub use request::{
    FacetChoice, Filters, LEVEL_POINTS, MAX_LIMIT, MAX_QUERY_CHARS, MAX_QUERY_TERMS, Near,
    SearchRequest, SortOrder,
};
pub use response::{BroaderSkill, Evidence, Hit, MatchedSkill, SearchResponse};

use filter::{filter_clauses, gate_facets, skill_filter};
use hits::{Highlighter, HitContext, SkillWords, make_hit};
use listed::Listed;
use query::{
    Least, SkillTarget, Words, any_of, case_study_queries, combine, constant, informative,
    skill_scoring, skill_targets, term, text_query, u64_at_most,
};
use request::{facet_counted, facet_fields};

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

/// The drill-down prefixes of facet `name`, as facet paths: those whose children are counted.
/// The root, plus parent departments, or every inner node of the skills tree (and `Other`).
fn facet_parents(name: FacetName, taxonomy: &Taxonomy) -> Vec<String> {
    let inner: Vec<Vec<String>> = match name {
        FacetName::Department => {
            let r = Reference::get();
            r.departments
                .iter()
                .filter_map(|d| d.parent.as_deref())
                .map(|p| r.department_path(p))
                .collect()
        }
        FacetName::Skill => taxonomy
            .nodes()
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.children.is_empty())
            .map(|(i, _)| taxonomy.path(i).into_iter().map(String::from).collect())
            .chain(std::iter::once(vec![schema::UNMAPPED_FACET.to_string()]))
            .collect(),
        FacetName::Clearance
        | FacetName::Availability
        | FacetName::Grade
        | FacetName::GseCategory
        | FacetName::Region
        | FacetName::Status => Vec::new(),
    };
    std::iter::once("/".to_string())
        .chain(
            inner
                .into_iter()
                .map(|p| Facet::from_path(p).to_path_string()),
        )
        .collect()
}

/// What the facet `name` counts in `index`: its field and drill-down prefixes (made once per
/// index, from its taxonomy).
fn facet_spec(index: &MusterIndex, name: FacetName) -> FacetSpec {
    let specs = index.facet_specs.get_or_init(|| {
        FacetName::ALL
            .into_iter()
            .map(|name| {
                let parents = facet_parents(name, &index.taxonomy);
                let field = index
                    .fields
                    .schema
                    .get_field_name(name.field(&index.fields));
                (name, FacetSpec::new(name.as_str(), field, &parents))
            })
            .collect()
    });
    specs[&name].clone()
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
    let mut specs: Vec<FacetSpec> = Vec::new();
    for kind in Kind::ALL {
        for name in facet_fields(kind) {
            let spec = facet_spec(index, *name);
            if !specs.iter().any(|s| s.field == spec.field) {
                specs.push(spec);
            }
        }
    }
    let people = index.fields.schema.get_field_name(index.fields.people);
    // now, and for the segments of every later searcher (after writes and merges) before any
    // search sees them
    index
        .facet_cache
        .keep_warm(&searcher, specs, vec![people.to_string()])?;
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
            facets: FacetChoice::NONE,
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
                facets: FacetChoice::NONE,
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

    // the text scores with every field, but a record matches it only through words where they
    // are evidence (not a word of a synonym of a skill it holds)
    let text_for = |words_for| {
        text_query(
            index,
            &stats,
            kind,
            &clauses,
            request.understanding,
            Least::Rule,
            words_for,
        )
    };
    let text = text_for(Words::Score)?;
    let text_matched = text_for(Words::Match)?;
    let credit = if kind == Kind::Member && (text.is_some() || !targets.is_empty()) {
        let all_targets: Vec<SkillTarget> = targets.iter().chain(&text_targets).cloned().collect();
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
    let admitted = Listed::records(&searcher, credit.admitted(), 0.0);
    let scoring: Option<Box<dyn Query>> = if text.is_some() {
        // must match the text (where its words are evidence), a skill named by q, or be
        // credited; these admit without scoring, and the text (every field) and skill levels
        // add to the score
        let mut required = vec![
            text_matched
                .as_ref()
                .map(|t| constant(t.box_clone(), 0.0))
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
        for part in text.iter().chain(&skill_parts) {
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
    // every member the scoring group matches scores its case-study credit on top (looked up only
    // for those that could still reach the page)
    let credit = Arc::new(credit);
    let bar = Arc::new(Bar::default());
    let scoring: Option<Box<dyn Query>> = match scoring {
        Some(inner) if !credit.is_empty() => Some(Box::new(WithCredit {
            inner,
            credit: credit.clone(),
            bar: bar.clone(),
        })),
        scoring => scoring,
    };
    let filters = filter_clauses(index, request, &targets)?;

    // One pass: page of hits, total, and every facet. A facet whose own filter is set counts as
    // if that filter were not: such filters are checked by the collector (a record failing only
    // that one counts in its facet and nowhere else) rather than the query. The skill facet is a
    // drill-down tree: it is counted within the skill filter. Marking and kind stay in the query.
    let active: HashSet<&str> = filters.iter().map(|(name, _)| *name).collect();
    let names: Vec<FacetName> = facet_fields(kind)
        .iter()
        .copied()
        .filter(|name| facet_counted(request, *name))
        .collect();
    let mut specs = Vec::new();
    let mut gates = Vec::new();
    let mut gated: Vec<&str> = Vec::new();
    for &name in &names {
        let spec = facet_spec(index, name);
        if active.contains(name.as_str())
            && let Some(admitted) = gate_facets(request, name)?
        {
            gates.push(Gate::new(&spec.field, &admitted, specs.len()));
            gated.push(name.as_str());
        }
        specs.push(spec);
    }
    let query = combine(&filters, &gated, scoring.as_deref());
    let tally = FacetTally {
        specs,
        depths: names
            .iter()
            .map(|name| match name {
                FacetName::Skill => request.skill_depth,
                _ => None,
            })
            .collect(),
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
                bar,
            },
            Count,
        ),
        tally,
        gates,
    };
    let ((top, total), facet_counts) = collect(&searcher, &stats, &query, collector)?;
    let ranked: Vec<(f32, DocAddress)> = top
        .into_iter()
        .map(|(key, address)| (if by_distance { -key } else { key } as f32, address))
        .collect();
    let facets: BTreeMap<String, BTreeMap<String, u64>> = names
        .iter()
        .zip(&facet_counts)
        .map(|(name, counts)| (name.as_str().to_string(), FacetTally::flatten(counts)))
        .collect();
    let sort_by_distance = request.sort == SortOrder::Distance && request.filters.near.is_some();
    let highlighter = match text.as_deref() {
        Some(text) if request.highlights && !ranked.is_empty() => Some(Highlighter::new(
            &searcher,
            &stats,
            text,
            &[fields.name, fields.summary, fields.body],
        )?),
        _ => None,
    };
    let skill_words = SkillWords::new(request);
    let mut hits = Vec::with_capacity(ranked.len());
    for (score, address) in ranked {
        let doc: TantivyDocument = searcher.doc(address)?;
        let record = fields.stored_record(&doc, request.kind)?;
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
                highlighter: highlighter.as_ref(),
                skill_words: &skill_words,
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
