//! Tests of free text: hostile input, phrases and highlights.

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
