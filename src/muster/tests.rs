//! Tests of mustering on small indexes and the shipped fixtures.

use std::collections::{BTreeMap, BTreeSet};

use crate::Error;
use crate::index::MusterIndex;
use crate::ingest::parse_json_line;
use crate::model::{Availability, Clearance, FacilityStatus, Kind, Marking, date_format};
use crate::search::tests::{TODAY, fixture_index};
use crate::taxonomy::Taxonomy;

use super::*;

fn body(json: &str) -> MusterBody {
    serde_json::from_str(json).unwrap()
}

fn run(index: &MusterIndex, json: &str, marking: Marking) -> MusterAnswer {
    let request = MusterRequest::from_body(body(json), index, marking, TODAY).unwrap();
    muster(index, &request).unwrap()
}

fn contact(m: &TeamMember, name: &str) -> String {
    serde_json::to_value(&m.contact).unwrap()[name]
        .as_str()
        .unwrap_or("")
        .to_string()
}

const EMERGENCY: &str = r#"{"need": "novel respiratory pathogen",
        "skills": [{"skill": "epidemiological modelling", "min_level": 3},
                   {"skill": "bayesian statistics"}, {"skill": "Health economics", "min_level": "practitioner"}],
        "clearance": "SC", "availability": "24h", "near": {"lat": 51.5, "lon": -0.12}, "within_km": 150,
        "team_size": 5, "max_per_department": 2, "facility_capabilities": ["whole genome sequencing"], "exclude": ["m-01093"]}"#;

#[test]
fn the_emergency_team_covers_every_skill_within_every_hard_constraint() {
    let index = fixture_index();
    let answer = run(index, EMERGENCY, Marking::Official);
    assert!(answer.uncovered.is_empty(), "{:?}", answer.uncovered);
    assert_eq!(answer.team.len(), 5);
    for (skill, level) in [
        ("Epidemiological modelling", 3),
        ("Bayesian statistics", 1),
        ("Health economics", 3),
    ] {
        assert!(
            answer.team.iter().any(|m| m
                .covers
                .iter()
                .any(|c| c.skill == skill && c.level >= level)),
            "{skill} is covered at level {level}+"
        );
    }
    let mut per_department: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &answer.team {
        assert_ne!(m.id, "m-01093", "excluded");
        let clearance = Clearance::parse(&contact(m, "clearance")).unwrap();
        assert!(clearance >= Clearance::Sc, "{}: {clearance}", m.id);
        if let Some(due) = m.contact.clearance_review_due.map(date_format::format) {
            assert!(
                due.as_str() >= "2026-11-22",
                "{} clearance lapsed {due}",
                m.id
            );
        }
        let availability = Availability::parse(&contact(m, "availability")).unwrap();
        assert!(availability <= Availability::Within24h, "{}", m.id);
        assert!(m.distance_km.unwrap() <= 150.0, "{}", m.id);
        assert!(!m.why.is_empty());
        *per_department
            .entry(m.department.as_deref().unwrap())
            .or_default() += 1;
    }
    assert!(per_department.len() >= 3, "{per_department:?}");
    assert!(
        per_department.values().all(|&n| n <= 2),
        "{per_department:?}"
    );
    // backups exist and are not in the team
    assert!(answer.alternates.iter().any(|a| !a.members.is_empty()));
    for a in &answer.alternates {
        for c in &a.members {
            assert!(!answer.team.iter().any(|m| m.id == c.id));
        }
    }
    // a sequencing facility within 150 km, nearest first, with its access clearance
    assert!(!answer.facilities.is_empty());
    let distances: Vec<f64> = answer
        .facilities
        .iter()
        .map(|f| f.distance_km.unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(distances.iter().all(|&d| d <= 150.0));
    assert!(
        serde_json::to_value(&answer.facilities[0].details).unwrap()["access_clearance"]
            .is_string()
    );
}

#[test]
fn the_same_request_gives_the_same_team() {
    let index = fixture_index();
    let mut first = run(index, EMERGENCY, Marking::Official);
    let mut second = run(index, EMERGENCY, Marking::Official);
    first.took_ms = 0.0;
    second.took_ms = 0.0;
    assert_eq!(first, second);
}

#[test]
fn an_impossible_skill_is_uncovered_with_alternatives_that_each_relax_one_constraint() {
    let index = fixture_index();
    let answer = run(
        index,
        r#"{"skills": [{"skill": "Virology", "min_level": 4}, {"skill": "Statistics"}],
                "clearance": "eDV"}"#,
        Marking::Official,
    );
    let virology = answer
        .uncovered
        .iter()
        .find(|u| u.skill == "Virology")
        .expect("nobody has virology at 4 with eDV, available now");
    assert_eq!(virology.min_level, 4);
    assert!(!virology.alternatives.is_empty());
    for a in &virology.alternatives {
        assert!(
            ["min_level", "clearance", "availability"].contains(&a.relax.as_str()),
            "{}",
            a.relax
        );
        assert!(!answer.team.iter().any(|m| m.id == a.member.id));
    }
    let clearance = virology
        .alternatives
        .iter()
        .find(|a| a.relax == "clearance")
        .expect("someone holds virology at 4 with a lower clearance");
    assert_eq!(clearance.member.level, 4);
    assert!(
        clearance.detail.contains("needs eDV"),
        "{}",
        clearance.detail
    );
    // the skill that could be covered was
    assert!(
        answer
            .team
            .iter()
            .any(|m| m.covers.iter().any(|c| c.skill == "Statistics"))
    );
    // a skill nobody has at all says so
    let answer = run(
        index,
        r#"{"skills": [{"skill": "underwater basket weaving"}]}"#,
        Marking::Official,
    );
    assert!(answer.team.is_empty());
    assert!(answer.uncovered[0].reason.contains("at all"));
    assert!(answer.uncovered[0].alternatives.is_empty());
}

#[test]
fn max_per_department_holds_and_a_capped_skill_says_so() {
    let index = fixture_index();
    let answer = run(
        index,
        r#"{"skills": [{"skill": "Statistics"}, {"skill": "Epidemiology"}, {"skill": "Virology"}],
                "team_size": 8, "max_per_department": 1}"#,
        Marking::Official,
    );
    assert_eq!(answer.team.len(), 8);
    let departments: BTreeSet<&str> = answer
        .team
        .iter()
        .map(|m| m.department.as_deref().unwrap())
        .collect();
    assert_eq!(departments.len(), 8, "one per department");
    // only Dstl people, one of them: the second skill cannot be staffed
    let answer = run(
        index,
        r#"{"skills": [{"skill": "Statistics", "min_level": 4}, {"skill": "Operational research", "min_level": 4}],
                "departments": ["Dstl"], "max_per_department": 1, "team_size": 2}"#,
        Marking::Official,
    );
    // in the fixtures nobody in Dstl holds both at level 4
    assert_eq!(answer.team.len(), 1);
    assert_eq!(answer.team[0].covers.len(), 1);
    let capped = &answer.uncovered[0];
    assert!(
        capped.reason.contains("max_per_department"),
        "{}",
        capped.reason
    );
    assert!(!capped.alternatives.is_empty());
    for a in &capped.alternatives {
        assert_eq!(a.relax, "max_per_department");
        assert_eq!(a.member.department.as_deref(), Some("Dstl"));
        assert_eq!(a.member.level, 4);
    }
}

fn index_of(members: &[&str]) -> MusterIndex {
    let records: Vec<_> = members
        .iter()
        .map(|l| parse_json_line(Kind::Member, l).unwrap().record)
        .collect();
    crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
}

#[test]
fn a_lapsed_clearance_does_not_count_and_the_alternative_says_it_lapsed() {
    let index = index_of(&[
        r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2025-01-01","availability":"now","skills":[{"name":"Virology","level":4}]}"#,
        r#"{"id":"m-valid","name":"Val Valid","department":"UKHSA","clearance":"SC","clearance_review_due":"2030-01-01","availability":"now","skills":[{"name":"Virology","level":2}]}"#,
    ]);
    let answer = run(
        &index,
        r#"{"skills": [{"skill": "virology"}], "clearance": "SC"}"#,
        Marking::Official,
    );
    let ids: Vec<&str> = answer.team.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec!["m-valid"]);
    let answer = run(
        &index,
        r#"{"skills": [{"skill": "virology", "min_level": 4}], "clearance": "SC"}"#,
        Marking::Official,
    );
    assert!(answer.team.is_empty());
    let alternative = &answer.uncovered[0].alternatives;
    let lapsed = alternative
        .iter()
        .find(|a| a.member.id == "m-lapsed")
        .unwrap();
    assert_eq!(lapsed.relax, "clearance");
    assert!(lapsed.detail.contains("lapsed"), "{}", lapsed.detail);
}

#[test]
fn a_lapsed_clearance_is_labelled_in_the_contact_sheet() {
    let index = index_of(&[
        r#"{"id":"m-lapsed","name":"Lou Lapsed","department":"Dstl","clearance":"DV","clearance_review_due":"2025-01-01","availability":"now","skills":[{"name":"Virology","level":4}]}"#,
    ]);
    let answer = run(
        &index,
        r#"{"skills": [{"skill": "virology"}]}"#,
        Marking::Official,
    );
    assert_eq!(contact(&answer.team[0], "clearance_status"), "lapsed");
    let sheet = to_csv(&answer, TODAY).unwrap();
    assert!(
        sheet.contains("DV - lapsed, review was due 1 January 2025"),
        "{sheet}"
    );
}

#[test]
fn a_specific_skill_never_picks_a_holder_of_its_sibling() {
    let index = index_of(&[
        r#"{"id":"m-asf","name":"Ash Swine","department":"APHA","availability":"now","skills":[{"name":"African swine fever","level":4}]}"#,
        r#"{"id":"m-ai","name":"Avi Ann","department":"APHA","availability":"now","skills":[{"name":"Avian influenza","level":3}]}"#,
        r#"{"id":"m-fire","name":"Fay Fire","department":"HSE","availability":"now","skills":[{"name":"Fire safety engineering","level":4}]}"#,
        r#"{"id":"m-gas","name":"Gus Gas","department":"HSE","availability":"now","skills":[{"name":"Gas explosions","level":2}]}"#,
    ]);
    let team = |body: &str| -> Vec<String> {
        run(&index, body, Marking::Official)
            .team
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(
        team(r#"{"skills": [{"skill": "avian influenza"}]}"#),
        ["m-ai"]
    );
    assert_eq!(
        team(r#"{"skills": [{"skill": "gas explosions"}]}"#),
        ["m-gas"]
    );
    // the broader concept reaches both, the direct holder of the higher level first
    assert_eq!(
        team(r#"{"skills": [{"skill": "exotic animal disease"}], "team_size": 2}"#),
        ["m-asf", "m-ai"]
    );
    // and a need names the specific one
    let answer = run(
        &index,
        r#"{"need": "bird flu on a farm: we need avian influenza experts"}"#,
        Marking::Official,
    );
    assert_eq!(answer.inferred_skills, ["Avian influenza"]);
    assert!(answer.team.iter().all(|m| m.id != "m-asf"));
}

#[test]
fn facilities_match_by_concept_and_a_closed_one_is_listed_apart() {
    let index = fixture_index();
    let answer = run(
        index,
        r#"{"skills": [{"skill": "veterinary epidemiology"}], "facility_capabilities": ["foot-and-mouth disease"]}"#,
        Marking::Official,
    );
    let labs: BTreeSet<&str> = answer.facilities.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        labs,
        BTreeSet::from(["pirbright-fmd-ref", "pirbright-sapo4"])
    );
    // JET has remote handling but is closed: never offered, listed apart with the reason
    let answer = run(
        index,
        r#"{"skills": [{"skill": "robotics and remote handling"}], "facility_capabilities": ["remote handling"]}"#,
        Marking::Official,
    );
    assert!(answer.facilities.iter().all(|f| f.id != "ukaea-jet"));
    assert!(answer.facilities.iter().any(|f| f.id == "ukaea-race"));
    let closed = &answer.closed_facilities[0];
    assert_eq!(
        (closed.id.as_str(), closed.status),
        ("ukaea-jet", FacilityStatus::Closed)
    );
    assert!(closed.warning.as_deref().unwrap().starts_with("closed"));
    assert!(answer.warnings.iter().any(|w| w.contains("is closed")));
    let sheet = to_csv(&answer, TODAY).unwrap();
    let closed_row = sheet
        .lines()
        .find(|l| l.starts_with("closed facility"))
        .unwrap();
    assert!(closed_row.contains("ukaea-jet"), "{closed_row}");
    let race_row = sheet.lines().find(|l| l.contains("ukaea-race")).unwrap();
    assert!(race_row.contains('@'), "a contact to write to: {race_row}");
}

#[test]
fn one_lab_with_all_capabilities_or_a_lab_for_each() {
    let index = fixture_index();
    let json = |mode: &str| {
        format!(
            r#"{{"skills": [{{"skill": "virology"}}], "facility_capabilities": ["CL4", "whole genome sequencing"], "facility_match": "{mode}"}}"#
        )
    };
    let all = run(index, &json("all"), Marking::Official);
    assert!(all.facilities.is_empty(), "no lab has both");
    assert!(
        all.facility_alternatives
            .iter()
            .any(|a| a.relax == "facility_capabilities")
    );
    let each = run(index, &json("each"), Marking::Official);
    let covers = |id: &str| {
        each.facilities
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.covers.clone())
            .unwrap_or_default()
    };
    assert_eq!(covers("ukhsa-cl4"), ["CL4"]);
    assert_eq!(covers("ukhsa-csl"), ["whole genome sequencing"]);
    let bad = MusterRequest::from_body(body(&json("some")), index, Marking::Official, TODAY);
    assert!(matches!(bad, Err(Error::InvalidField { ref field, .. }) if field == "facility_match"));
}

#[test]
fn a_thin_or_short_team_says_so_and_shows_who_is_one_step_away() {
    let index = index_of(&[
        r#"{"id":"m-aware","name":"Al Aware","department":"ONS","availability":"now","clearance":"SC","skills":[{"name":"Survey methodology","level":1}]}"#,
        r#"{"id":"m-busy","name":"Bo Busy","department":"ONS","availability":"unavailable","clearance":"SC","skills":[{"name":"Survey methodology","level":4}]}"#,
    ]);
    let answer = run(
        &index,
        r#"{"skills": [{"skill": "survey methods"}], "team_size": 3}"#,
        Marking::Official,
    );
    assert_eq!(answer.team.len(), 1);
    assert!(
        answer
            .warnings
            .iter()
            .any(|w| w.contains("Only 1 of the 3 places"))
    );
    assert!(
        answer
            .warnings
            .iter()
            .any(|w| w.contains("covered only at level 1 (awareness)"))
    );
    let near = &answer.nearly_eligible[0];
    assert_eq!(near.skill, "Survey methodology");
    assert_eq!(near.alternatives[0].member.id, "m-busy");
    assert_eq!(near.alternatives[0].relax, "availability");
}

#[test]
fn a_paragraph_gives_skills_capabilities_levels_and_constraints_and_never_a_400() {
    let index = fixture_index();
    let answer = run(
        index,
        r#"{"need": "An Ebola case has been imported. Within 24 hours we need SC cleared experts in high-consequence infectious diseases and a containment level 4 laboratory."}"#,
        Marking::Official,
    );
    assert_eq!(
        answer.inferred_skills,
        ["High-consequence infectious diseases"]
    );
    assert_eq!(
        answer.skills[0].min_level, 4,
        "\"experts\" asks for level 4"
    );
    assert!(
        answer
            .inferred_capabilities
            .contains(&"Containment level 4".to_string())
    );
    assert_eq!(answer.facility_match, FacilityMatchMode::Each);
    let labs: BTreeSet<&str> = answer.facilities.iter().map(|f| f.id.as_str()).collect();
    assert!(
        labs.contains("dstl-cl4") && labs.contains("ukhsa-cl4"),
        "{labs:?}"
    );
    assert!(!labs.contains("apha-sapo4") && !labs.contains("pirbright-sapo4"));
    assert_eq!(answer.constraints.clearance, Some(Clearance::Sc));
    assert_eq!(answer.constraints.availability, Availability::Within24h);
    assert!(
        answer
            .warnings
            .iter()
            .any(|w| w.contains("Applied clearance SC"))
    );
}

#[test]
fn a_hidden_member_or_facility_never_appears_anywhere_in_a_muster() {
    let members = [
        r#"{"id":"m-open","name":"Olu Open","department":"UKHSA","clearance":"SC","availability":"now","skills":[{"name":"Virology","level":2}]}"#,
        r#"{"id":"m-secret","name":"Sam Secret","department":"Dstl","clearance":"DV","availability":"now","marking":"OFFICIAL-SENSITIVE","skills":[{"name":"Virology","level":4},{"name":"Energetics","level":4}]}"#,
    ];
    let mut records: Vec<_> = members
        .iter()
        .map(|l| parse_json_line(Kind::Member, l).unwrap().record)
        .collect();
    for line in [
        r#"{"id":"f-open","name":"Open CL3 suite","department":"UKHSA","capabilities":["CL3"],"location":{"town":"Colindale","lat":51.596,"lon":-0.248}}"#,
        r#"{"id":"f-secret","name":"Quiet CL3 suite","department":"Dstl","capabilities":["CL3"],"marking":"OFFICIAL-SENSITIVE","location":{"town":"Porton","lat":51.13,"lon":-1.70}}"#,
    ] {
        records.push(parse_json_line(Kind::Facility, line).unwrap().record);
    }
    let index = crate::index::in_ram(&records, Taxonomy::builtin()).unwrap();
    let request = r#"{"skills": [{"skill": "virology", "min_level": 3}, {"skill": "energetics"}],
                          "facility_capabilities": ["CL3"], "near": {"lat": 51.5, "lon": -0.1}}"#;
    let official = serde_json::to_string(&run(&index, request, Marking::Official)).unwrap();
    for secret in ["m-secret", "Sam Secret", "f-secret", "Quiet"] {
        assert!(!official.contains(secret), "{secret} leaked: {official}");
    }
    let answer = run(&index, request, Marking::Official);
    assert_eq!(answer.uncovered.len(), 2);
    assert!(answer.uncovered[1].reason.contains("at all"));
    let sensitive = run(&index, request, Marking::OfficialSensitive);
    assert_eq!(sensitive.team[0].id, "m-secret");
    assert!(sensitive.facilities.iter().any(|f| f.id == "f-secret"));
}

#[test]
fn a_need_alone_is_turned_into_skills_and_says_which() {
    let index = fixture_index();
    let answer = run(
        index,
        r#"{"need": "A novel respiratory pathogen: we need people who can do epidemiological modelling, Bayesian statistics and health economics"}"#,
        Marking::Official,
    );
    assert_eq!(
        answer.inferred_skills,
        vec![
            "Epidemiological modelling",
            "Bayesian statistics",
            "Health economics"
        ]
    );
    assert!(answer.skills.iter().all(|s| s.inferred));
    // no level given: practitioners, and the answer says so
    assert!(answer.skills.iter().all(|s| s.min_level == INFERRED_LEVEL));
    assert!(
        answer
            .warnings
            .iter()
            .any(|w| w.contains("worked out from the need"))
    );
    assert!(answer.uncovered.is_empty());
    // a need the taxonomy does not know is searched by its words, never refused
    let vague = run(
        index,
        r#"{"need": "something happened at the port and we need someone who understands ships"}"#,
        Marking::Official,
    );
    assert!(
        vague.skills.len() == 1 && vague.skills[0].by_text,
        "{:?}",
        vague.skills
    );
    assert!(
        vague
            .warnings
            .iter()
            .any(|w| w.contains("found by its words"))
    );
}

#[test]
fn bad_fields_are_named() {
    let index = fixture_index();
    for (json, field) in [
        (r#"{}"#, "skills"),
        (
            r#"{"skills": [{"skill": "virology", "min_level": 5}]}"#,
            "skills[0].min_level",
        ),
        (r#"{"skills": [{"skill": " "}]}"#, "skills[0].skill"),
        (
            r#"{"skills": [{"skill": "virology"}, {"skill": "Virology"}]}"#,
            "skills[1].skill",
        ),
        (
            r#"{"skills": [{"skill": "virology"}], "clearance": "TS"}"#,
            "clearance",
        ),
        (
            r#"{"skills": [{"skill": "virology"}], "within_km": 10}"#,
            "within_km",
        ),
        (
            r#"{"skills": [{"skill": "virology"}], "near": {"lat": 95, "lon": 0}}"#,
            "near.lat",
        ),
        (
            r#"{"skills": [{"skill": "virology"}], "team_size": 0}"#,
            "team_size",
        ),
        (
            r#"{"skills": [{"skill": "virology"}], "max_per_department": 0}"#,
            "max_per_department",
        ),
        (
            r#"{"skills": [{"skill": "virology"}], "departments": ["Ministry of Magic"]}"#,
            "departments[0]",
        ),
    ] {
        let error =
            MusterRequest::from_body(body(json), index, Marking::Official, TODAY).unwrap_err();
        assert!(
            matches!(error, Error::InvalidField { field: ref f, .. } if f == field),
            "{json}: {error}"
        );
    }
}

#[test]
fn the_contact_sheet_lists_team_alternates_and_facilities_and_defuses_formulas() {
    let index = fixture_index();
    let mut answer = run(index, EMERGENCY, Marking::Official);
    answer.team[0].name = "=HYPERLINK(\"http://evil\")".into();
    let sheet = to_csv(&answer, TODAY).unwrap();
    let mut reader = csv::Reader::from_reader(sheet.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let roles: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(roles.iter().filter(|r| **r == "team").count(), 5);
    assert!(roles.contains(&"alternate") && roles.contains(&"facility"));
    assert!(rows[0][2].starts_with("'="), "{}", &rows[0][2]);
    assert!(rows[1][4].contains('@'), "an email to write to");
}
