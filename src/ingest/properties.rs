//! Property tests: no input makes the record parser panic, and what it accepts round-trips.

use proptest::prelude::*;

use crate::ingest::json::MEMBER_FIELDS;
use crate::model::{Kind, Record};

use super::*;

const MEMBER: &str = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","role":"Statistician","grade":"G7","clearance":"SC","clearance_review_due":"2027-03-01","availability":"24h","location":{"town":"Porton Down","region":"South West","lat":51.13,"lon":-1.7},"skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-10"}],"registrations":["CStat"],"summary":"Models outbreaks.","marking":"OFFICIAL"}"#;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| { serde_json::Value::Object(m.into_iter().collect()) }),
        ]
    })
}

fn reparse(record: &Record) -> Record {
    let text = match record {
        Record::Member(m) => serde_json::to_string(m),
        Record::CaseStudy(c) => serde_json::to_string(c),
        Record::Facility(f) => serde_json::to_string(f),
    }
    .unwrap();
    parse_json_line(record.kind(), &text)
        .unwrap_or_else(|e| panic!("re-parsing {text}: {e}"))
        .record
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_line_is_parsed_or_rejected_never_a_panic(line in ".{0,300}") {
        for kind in [Kind::Member, Kind::CaseStudy, Kind::Facility] {
            let _ = parse_json_line(kind, &line);
        }
    }

    #[test]
    fn a_valid_member_with_one_field_replaced_parses_or_names_a_field_and_round_trips(
        field in prop::sample::select(MEMBER_FIELDS),
        value in json_value(),
    ) {
        let mut member: serde_json::Value = serde_json::from_str(MEMBER).unwrap();
        member[field] = value;
        let line = member.to_string();
        match parse_json_line(Kind::Member, &line) {
            Ok(parsed) => prop_assert_eq!(reparse(&parsed.record), parsed.record),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn any_bytes_in_a_data_file_are_reported_line_by_line_and_valid_lines_still_load(
        junk in prop::collection::vec(any::<u8>(), 0..2000),
        csv in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let name = if csv { "members.csv" } else { "members.jsonl" };
        std::fs::write(dir.path().join(name), &junk).unwrap();
        // a valid file beside it always loads in full
        std::fs::write(dir.path().join("facilities.jsonl"), format!(
            "{}\n",
            r#"{"id":"f-1","name":"Lab","department":"Dstl","capabilities":["CL3"]}"#
        )).unwrap();
        let mut kinds = Vec::new();
        let report = load_dir(dir.path(), &mut |r| { kinds.push(r.kind()); Ok(()) }).unwrap();
        prop_assert!(kinds.contains(&Kind::Facility));
        for rejection in &report.rejections {
            prop_assert!(rejection.line >= 1);
            prop_assert!(!rejection.reason.is_empty());
        }
    }
}

#[test]
fn every_generated_record_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let spec = crate::generate::Spec {
        members: 300,
        case_studies_per_member: 0.2,
        seed: 11,
        csv: false,
        skills: crate::generate::SkillSource::Profiles,
    };
    crate::generate::generate(&spec, &crate::taxonomy::Taxonomy::builtin(), dir.path()).unwrap();
    let mut records = Vec::new();
    let report = load_dir(dir.path(), &mut |r| {
        records.push(r);
        Ok(())
    })
    .unwrap();
    assert_eq!(report.rejected(), 0);
    assert!(records.len() > 300);
    for record in &records {
        assert_eq!(&reparse(record), record);
    }
}

#[test]
fn a_truncated_file_an_empty_file_and_a_100_mb_line_lose_nothing_valid() {
    let dir = tempfile::tempdir().unwrap();
    // cut off mid-record, no final newline
    let truncated = format!("{MEMBER}\n{}", &MEMBER[..MEMBER.len() / 2]);
    std::fs::write(dir.path().join("members.jsonl"), truncated).unwrap();
    std::fs::write(dir.path().join("case_studies.jsonl"), "").unwrap();
    // one 100 MB line, then a good record
    let mut huge = Vec::with_capacity(101 << 20);
    huge.extend_from_slice(b"{\"id\":\"f-big\",\"name\":\"");
    huge.resize(100 << 20, b'x');
    huge.extend_from_slice(b"\"}\n");
    huge.extend_from_slice(
        br#"{"id":"f-1","name":"Lab","department":"Dstl","capabilities":["CL3"]}"#,
    );
    huge.push(b'\n');
    std::fs::write(dir.path().join("facilities.jsonl"), huge).unwrap();
    let mut ids = Vec::new();
    let report = load_dir(dir.path(), &mut |r| {
        ids.push(r.id().to_string());
        Ok(())
    })
    .unwrap();
    ids.sort();
    assert_eq!(ids, ["f-1", "m-1"]);
    let file_of = |r: &Rejection| r.file.clone();
    let truncated = report
        .rejections
        .iter()
        .find(|r| file_of(r).ends_with("members.jsonl"))
        .expect("the cut-off line is reported");
    assert_eq!(truncated.line, 2);
    let long = report
        .rejections
        .iter()
        .find(|r| file_of(r).ends_with("facilities.jsonl"))
        .expect("the 100 MB line is reported");
    assert_eq!(long.line, 1);
    assert!(long.reason.contains("longer than"), "{}", long.reason);
    assert_eq!(report.rejections.len(), 2, "{:?}", report.rejections);
}
