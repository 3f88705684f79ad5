//! Tests of records as hits and by id: markings, lapsed clearances, contacts and authors.

use super::*;

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
