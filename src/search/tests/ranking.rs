//! Tests of ranking: skill levels, credit from authored work, long queries and the score breakdown.

use super::*;

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

/// What the case studies matching `text` credit, as a search of members works it out.
fn credit_for(index: &MusterIndex, text: &str) -> credit::Credit {
    let searcher = index.reader.searcher();
    let mut r = request(Kind::Member);
    r.text = Some(text.into());
    let stats =
        Statistics::new(&searcher, &index.fields, &index.stats_cache, r.max_marking).unwrap();
    let clauses = parse_text(text);
    let (loose, strict) = case_study_queries(index, &stats, &r, &clauses, &[]).unwrap();
    credit::case_study_credit(
        index,
        &searcher,
        &stats,
        loose.as_ref(),
        strict.as_ref(),
        r.today,
    )
    .unwrap()
}

#[test]
fn case_studies_credit_their_authors_member_records_and_only_those() {
    let index = small_index();
    let searcher = index.reader.searcher();
    let credit = credit_for(&index, "ash dispersion");
    let mut credited: Vec<(DocAddress, Score)> = credit.points();
    // the points a search adds are those the hit shows, from the case studies it lists
    for (address, points) in &credited {
        let shown = credit.of(*address).map(|c| c.points);
        assert_eq!(shown, Some(*points), "{address:?}");
    }
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
    // no member's credit passes the ceiling a search skips credit by, here nor in the small index
    for index in [&index, &small_index()] {
        for text in ["groundwater contamination", "ash dispersion", "groundwater"] {
            let credit = credit_for(index, text);
            for (address, points) in credit.points() {
                let ceiling = credit.ceiling(address.segment_ord as usize);
                assert!(points <= ceiling, "{text}: {points} > {ceiling}");
            }
        }
    }
}

#[test]
fn a_short_page_is_the_top_of_the_whole_ranking_where_work_decides() {
    // many people who say the word more often than the one who did the work; a search with a
    // short page skips the credit of those who cannot reach it, and must not skip the author's
    let member = |id: &str, summary: &str| {
        format!(
            r#"{{"id":"{id}","name":"A Person","department":"Met Office","clearance":"SC","availability":"now","summary":"{summary}"}}"#
        )
    };
    let author = member(
        "m-author",
        "Works across rivers, coasts, estuaries, soils, air quality and groundwater.",
    );
    let talkers: Vec<String> = (0..30)
        .map(|i| {
            member(
                &format!("m-talker-{i:02}"),
                "Groundwater, groundwater, groundwater.",
            )
        })
        .collect();
    let case_studies: Vec<String> = (0..4)
        .map(|i| {
            format!(
                r#"{{"id":"cs-{i}","title":"Groundwater survey {i}","summary":"Groundwater survey.","authors":["m-author"]}}"#
            )
        })
        .collect();
    // the author's record first, then last: the page fills before or after it is scored
    for members in [
        std::iter::once(author.clone())
            .chain(talkers.clone())
            .collect::<Vec<_>>(),
        talkers.iter().cloned().chain([author.clone()]).collect(),
    ] {
        let index = index_of(&members, &case_studies);
        let mut r = request(Kind::Member);
        r.text = Some("groundwater".into());
        r.limit = 100;
        let whole = search(&index, &r).unwrap();
        assert_eq!(whole.total, 31);
        assert_eq!(ids(&whole)[0], "m-author", "the work decides");
        let scored = |response: &SearchResponse| -> Vec<(String, f32)> {
            response
                .hits
                .iter()
                .map(|h| (h.id.clone(), h.score))
                .collect()
        };
        for limit in [1, 2, 5] {
            for offset in [0, 1, 3] {
                r.limit = limit;
                r.offset = offset;
                let page = search(&index, &r).unwrap();
                let expected: Vec<(String, f32)> = scored(&whole)
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .collect();
                assert_eq!(scored(&page), expected, "limit {limit}, offset {offset}");
                assert_eq!(page.total, whole.total);
                assert_eq!(page.facets, whole.facets);
            }
        }
    }
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
