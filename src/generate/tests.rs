use crate::generate::vocabulary::{CROSS_CUTTING, town};
use crate::reference::Reference;

use super::*;

#[test]
fn every_profile_area_and_cross_cutting_skill_is_in_the_taxonomy() {
    let taxonomy = Taxonomy::builtin();
    for profile in PROFILES {
        assert!(
            Reference::get().department(profile.dept).is_some(),
            "{}",
            profile.dept
        );
        for (area, _) in profile.areas {
            assert!(taxonomy.lookup(area).is_some(), "{}: {area}", profile.dept);
        }
        for (town_name, _) in profile.towns {
            assert_eq!(town(town_name).0, *town_name);
        }
    }
    for (label, _) in CROSS_CUTTING {
        assert!(taxonomy.lookup(label).is_some(), "{label}");
    }
    for flagship in FLAGSHIPS {
        for skill in flagship.skills {
            assert!(taxonomy.lookup(skill).is_some(), "{}: {skill}", flagship.id);
        }
    }
}

#[test]
fn the_same_seed_gives_identical_files_and_another_seed_does_not() {
    let taxonomy = Taxonomy::builtin();
    let spec = Spec {
        members: 300,
        case_studies_per_member: 0.075,
        seed: 7,
        csv: false,
        skills: crate::generate::SkillSource::Profiles,
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    generate(&spec, &taxonomy, a.path()).unwrap();
    generate(&spec, &taxonomy, b.path()).unwrap();
    generate(&Spec { seed: 8, ..spec }, &taxonomy, c.path()).unwrap();
    for file in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"] {
        let x = std::fs::read(a.path().join(file)).unwrap();
        assert_eq!(x, std::fs::read(b.path().join(file)).unwrap(), "{file}");
        if file != "facilities.jsonl" {
            assert_ne!(x, std::fs::read(c.path().join(file)).unwrap(), "{file}");
        }
    }
}

#[test]
fn generated_data_loads_without_a_single_rejection() {
    let taxonomy = Taxonomy::builtin();
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        members: 400,
        case_studies_per_member: 0.075,
        seed: 3,
        csv: false,
        skills: crate::generate::SkillSource::Profiles,
    };
    let written = generate(&spec, &taxonomy, dir.path()).unwrap();
    assert_eq!(written.facilities, 89);
    assert_eq!(written.case_studies, 30);
    let (records, report) = crate::index::load_records(dir.path()).unwrap();
    assert_eq!(report.rejected(), 0, "{report}");
    assert_eq!(records.len(), 400 + 30 + 89);
}

#[test]
fn committed_fixtures_are_what_the_generator_makes_from_seed_7() {
    let taxonomy = Taxonomy::builtin();
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        members: 2000,
        case_studies_per_member: 0.075,
        seed: 7,
        csv: false,
        skills: crate::generate::SkillSource::Profiles,
    };
    generate(&spec, &taxonomy, dir.path()).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for file in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"] {
        let fresh = std::fs::read(dir.path().join(file)).unwrap();
        let committed = std::fs::read(fixtures.join(file)).unwrap();
        assert!(
            fresh == committed,
            "fixtures/{file} differs from the generator's output: regenerate with `muster generate --members 2000 --seed 7 --out fixtures`"
        );
    }
}

#[test]
fn csv_and_jsonl_members_of_the_same_seed_load_identically() {
    let taxonomy = Taxonomy::builtin();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = Spec {
        members: 300,
        case_studies_per_member: 0.0,
        seed: 11,
        csv: false,
        skills: crate::generate::SkillSource::Profiles,
    };
    generate(&spec, &taxonomy, a.path()).unwrap();
    generate(&Spec { csv: true, ..spec }, &taxonomy, b.path()).unwrap();
    assert!(b.path().join("members.csv").exists());
    let (from_json, r1) = crate::index::load_records(a.path()).unwrap();
    let (from_csv, r2) = crate::index::load_records(b.path()).unwrap();
    assert_eq!((r1.rejected(), r2.rejected()), (0, 0), "{r2}");
    let members = |records: Vec<crate::model::Record>| -> Vec<_> {
        records
            .into_iter()
            .filter(|r| r.kind() == crate::model::Kind::Member)
            .collect()
    };
    let (json_members, csv_members) = (members(from_json), members(from_csv));
    assert_eq!(json_members.len(), 300);
    assert_eq!(json_members, csv_members);
}

#[test]
fn esco_labelled_members_hold_esco_concepts_by_their_labels_spread_over_the_classification() {
    let taxonomy = Taxonomy::builtin();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = Spec {
        members: 400,
        case_studies_per_member: 0.075,
        seed: 5,
        csv: false,
        skills: SkillSource::Esco,
    };
    generate(&spec, &taxonomy, a.path()).unwrap();
    generate(&spec, &taxonomy, b.path()).unwrap();
    let members = std::fs::read(a.path().join("members.jsonl")).unwrap();
    assert_eq!(
        members,
        std::fs::read(b.path().join("members.jsonl")).unwrap()
    );

    let (records, report) = crate::index::load_records(a.path()).unwrap();
    assert_eq!(report.rejected(), 0, "{report}");
    let mut held = std::collections::BTreeSet::new();
    for record in &records {
        let crate::model::Record::Member(m) = record else {
            continue;
        };
        if m.skills.is_empty() {
            continue; // known only through the case studies they wrote
        }
        assert!(
            (1..=5).contains(&m.skills.len()),
            "{}: {:?}",
            m.id,
            m.skills
        );
        for skill in &m.skills {
            let node = taxonomy.lookup(&skill.name).expect("an ESCO label");
            let concept = taxonomy.node(node);
            assert_eq!(concept.label, skill.name);
            assert!(
                matches!(
                    concept.kind,
                    ConceptKind::EscoSkill | ConceptKind::EscoKnowledge
                ),
                "{}: {:?}",
                skill.name,
                concept.kind
            );
            held.insert(node);
        }
    }
    // drawn evenly from some 13,000 concepts: ~1,400 picks are nearly all different
    assert!(held.len() > 1_200, "{} concepts held", held.len());
}
