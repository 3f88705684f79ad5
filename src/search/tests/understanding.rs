//! Tests of query understanding: synonyms, misspellings, broader skills and suggestions.

use super::*;

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
fn a_word_of_a_skill_s_synonym_alone_finds_no_one_but_the_whole_synonym_does() {
    // the framework has "Virology | viral science; virus research" and "Microbiology |
    // microbial science": a statistician does not match "analysis" for "statistical analysis"
    let index = understanding_index();
    assert_eq!(found(&index, "research"), Vec::<String>::new());
    assert_eq!(found(&index, "science"), Vec::<String>::new());
    assert_eq!(found(&index, "virus research"), vec!["m-viro"]);
    // (a virologist below, virology being narrower than microbiology)
    assert_eq!(
        found(&index, "microbial science"),
        vec!["m-micro", "m-viro"]
    );
    // the concept's own label is still a match for its words
    assert_eq!(found(&index, "virology"), vec!["m-viro"]);
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
