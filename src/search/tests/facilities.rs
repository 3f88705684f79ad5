//! Tests of facility search: capabilities told apart, closed labs.

use super::*;

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
    // the example: CL4 near London finds the CL4 labs at Porton (UKHSA's written
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
