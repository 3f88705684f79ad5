//! Tests of free text: hostile input, phrases and highlights.

use std::collections::HashMap;

use super::*;

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
fn every_hit_highlights_its_own_fields_and_only_when_asked() {
    let index = small_index();
    let mut r = request(Kind::CaseStudy);
    r.text = Some("dispersion".into());
    let response = search(&index, &r).unwrap();
    let by_id: HashMap<&str, &Hit> = response.hits.iter().map(|h| (h.id.as_str(), h)).collect();
    // both visible case studies match in title and summary; each hit marks its own text
    for (id, title) in [
        ("cs-1", "Volcanic ash <mark>dispersion</mark> forecasting"),
        (
            "cs-2",
            "Ash plume <mark>dispersion</mark> modelling at night",
        ),
    ] {
        let hit = by_id[id];
        assert_eq!(hit.highlights["title"], title, "{id}");
        assert!(
            hit.highlights["summary"].contains("<mark>Dispersion</mark>")
                || hit.highlights["summary"].contains("<mark>dispersion</mark>"),
            "{id}: {:?}",
            hit.highlights
        );
        assert!(!hit.highlights.contains_key("name"), "{id}");
    }
    r.highlights = false;
    let response = search(&index, &r).unwrap();
    assert!(!response.hits.is_empty());
    assert!(response.hits.iter().all(|h| h.highlights.is_empty()));
    // a member's name is highlighted as `name`
    let mut r = request(Kind::Member);
    r.text = Some("Erin".into());
    let response = search(&index, &r).unwrap();
    assert_eq!(
        response.hits[0].highlights["name"],
        "<mark>Erin</mark> Expert"
    );
}
