//! Tests of search on small indexes whose right answers are known by construction.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::json;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Scorer;
use tantivy::{DocAddress, DocSet, Score, TERMINATED, TantivyDocument};
use time::Date;

use crate::Error;
use crate::credit;
use crate::index::MusterIndex;
use crate::ingest::parse_json_line;
use crate::model::{
    Availability, Clearance, FacilityStatus, Grade, GseCategory, Kind, Level, Marking, Record,
};
use crate::reference::Reference;
use crate::schema;
use crate::stats::Statistics;
use crate::taxonomy::Taxonomy;

use super::geo::haversine_km;
use super::listed::{Listed, ListedScorer};
use super::parallel::collect_on;
use super::query::{Clause, Least, case_study_queries, parse_text, text_query};
use super::records::get;
use super::request::{Filters, LEVEL_POINTS, Near, SearchRequest, SortOrder};
use super::response::SearchResponse;
use super::*;

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
            let pairs = crate::search::query_pairs(Some(q));
            let Ok(mut r) = crate::search::parse_search(Some(kind), &pairs, &caller, TODAY) else {
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
        let id = index
            .fields
            .stored_member(&doc)
            .map(|m| m.id)
            .unwrap_or_default();
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
    let counted =
        |i: usize| response.hits[i].explanation.as_ref().unwrap()["case_studies_counted"].clone();
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
        format!(r#"{{"id":"{id}","title":"{title}","summary":"{title}.","authors":["{author}"]}}"#)
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
    let cs = get(&index, Kind::CaseStudy, "cs-2", Marking::Official, TODAY)
        .unwrap()
        .to_json();
    assert_eq!(
        cs["authors"],
        json!(["m-author"]),
        "the hidden co-author is not named"
    );
    let member = get(&index, Kind::Member, "m-pra", Marking::Official, TODAY)
        .unwrap()
        .to_json();
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

fn facility_ids(index: &MusterIndex, skill: &str, near: Option<(f64, f64, f64)>) -> Vec<String> {
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
    assert_eq!(json!(closed.hits[0].summary)["status"], "closed");
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
        json!(response.hits.iter().find(|h| h.id == id).unwrap().summary)["clearance_status"]
            .clone()
    };
    assert_eq!(status("m-lapsed"), "lapsed");
    assert_eq!(status("m-exp"), "in_date");
    let record = get(&index, Kind::Member, "m-lapsed", Marking::Official, TODAY)
        .unwrap()
        .to_json();
    assert_eq!(record["clearance_status"], "lapsed");
    assert_eq!(record["clearance"], "DV");
}

#[test]
fn facility_contacts_and_case_study_authors_come_with_names_and_contact_details() {
    let index = fixture_index();
    let facility = get(index, Kind::Facility, "ukhsa-cl4", Marking::Official, TODAY)
        .unwrap()
        .to_json();
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
        json!(hit.summary)["contact_details"][0]["name"].is_string(),
        "{hit:?}"
    );
}

#[test]
fn each_index_counts_skills_by_its_own_taxonomy() {
    let member = r#"{"id":"m-1","name":"Ada","department":"Dstl","skills":[{"name":"Ballistics","level":3}]}"#;
    let records = vec![parse_json_line(Kind::Member, member).unwrap().record];
    let skill_facet = |taxonomy: &str| {
        let taxonomy = Arc::new(Taxonomy::parse(taxonomy, "test").unwrap());
        let index = crate::index::in_ram(&records, taxonomy).unwrap();
        search(&index, &request(Kind::Member)).unwrap().facets["skill"].clone()
    };
    // the same skill, under a different discipline in each taxonomy: each index's facet shows
    // its own tree, whichever was searched first in this process
    let weapons = skill_facet("Weapons\n  Ballistics\n");
    let physics = skill_facet("Physics\n  Ballistics\n");
    assert_eq!(weapons.get("Weapons"), Some(&1), "{weapons:?}");
    assert_eq!(physics.get("Physics"), Some(&1), "{physics:?}");
    assert_eq!(weapons.get("Ballistics"), Some(&1), "{weapons:?}");
    // counted only when `Physics` is a drill-down node of the facet
    assert_eq!(physics.get("Ballistics"), Some(&1), "{physics:?}");
}
