//! Tests of loading files: reports, references between records, CSV, caps.

use std::path::Path;

use crate::model::{Level, Record};

use super::*;

fn load(files: &[(&str, &str)]) -> (Report, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let mut records = Vec::new();
    let report = load_dir(dir.path(), &mut |r| {
        records.push(r);
        Ok(())
    })
    .unwrap();
    (report, records)
}

const GOOD: &str = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","clearance":"SC","availability":"24h","skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-10"}]}"#;

#[test]
fn bad_lines_are_reported_with_line_and_field_and_the_rest_loads() {
    let text = [
        GOOD,
        r#"{"id":"m-2","name":"Broken""#,
        r#"{"id":"m-3","department":"Dstl"}"#,
        r#"{"id":"m-4","name":"Bad Level","department":"Dstl","skills":[{"name":"x","level":"guru"}]}"#,
        r#"{"id":"m-5","name":"Nowhere","department":"Ministry of Magic"}"#,
        "",
        r#"{"id":"m-6","name":"Fine","department":"UKHSA"}"#,
    ]
    .join("\n");
    let (report, records) = load(&[("members.jsonl", &text)]);
    assert_eq!(records.len(), 2);
    let got: Vec<(u64, Option<&str>)> = report
        .rejections
        .iter()
        .map(|r| (r.line, r.field.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, None),
            (3, Some("name")),
            (4, Some("skills[0].level")),
            (5, Some("department")),
        ]
    );
    assert!(report.rejections[0].reason.contains("not valid JSON"));
    assert!(report.rejections[3].reason.contains("Ministry of Magic"));
    // the message names what to give instead, not a file the user does not have
    assert!(report.rejections[3].reason.contains("Cefas, "));
    assert!(!report.rejections[3].reason.contains(".jsonl"));
    assert_eq!(report.files[0].read, 6);
    assert_eq!(report.files[0].indexed, 2);
    assert_eq!(report.files[0].rejected, 4);
}

#[test]
fn every_fault_on_a_line_is_reported_not_only_the_first() {
    let line = r#"{"id":"m 7","department":"Ministry of Magic","email":"nobody","skills":[{"name":"Statistics","level":"guru"},{"name":"R","level":3,"assessed":"last week"}],"location":{"lat":91,"lon":"east"},"availability":"soon"}"#;
    let (report, records) = load(&[("members.jsonl", &format!("{line}\n{GOOD}\n"))]);
    assert_eq!(records.len(), 1, "the good line still loads");
    assert_eq!(report.files[0].rejected, 1, "one line, counted once");
    let rejection = &report.rejections[0];
    let fields: Vec<&str> = std::iter::once(rejection.field.as_deref().unwrap())
        .chain(rejection.also.iter().map(|f| f.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "name",
            "department",
            "email",
            "skills[0].level",
            "skills[1].assessed",
            "availability",
            "location.lat",
            "location.lon",
        ]
    );
    let printed = report.to_string();
    assert_eq!(
        printed.matches("rejected members.jsonl:1:").count(),
        9,
        "{printed}"
    );
}

#[test]
fn duplicate_ids_keep_the_last_and_are_counted_as_replaced() {
    let second = GOOD.replace("Ada Lovelace", "Ada King");
    let (report, records) = load(&[("members.jsonl", &format!("{GOOD}\n{second}\n"))]);
    assert_eq!(report.files[0].replaced, 1);
    let Record::Member(last) = records.last().unwrap() else {
        panic!()
    };
    assert_eq!(last.name, "Ada King");
}

#[test]
fn unknown_fields_are_a_warning_not_a_rejection() {
    let line = GOOD.replace("\"name\"", "\"shoe_size\":9,\"name\"");
    let (report, records) = load(&[("members.jsonl", &line)]);
    assert_eq!(records.len(), 1);
    assert_eq!(report.rejected(), 0);
    assert!(report.warnings[0].message.contains("shoe_size"));
}

#[test]
fn parent_department_comes_from_the_reference_data() {
    let (_, records) = load(&[("members.jsonl", GOOD)]);
    let Record::Member(m) = &records[0] else {
        panic!()
    };
    assert_eq!(m.parent_department.as_deref(), Some("MOD"));
    assert_eq!(m.skills[0].level, Level::Expert);
}

#[test]
fn unknown_author_is_reported_not_invented() {
    let cs = r#"{"id":"cs-1","title":"Modelling","authors":["m-1","m-404"]}"#;
    let (report, records) = load(&[("members.jsonl", GOOD), ("case_studies.jsonl", cs)]);
    let Record::CaseStudy(c) = &records[1] else {
        panic!()
    };
    assert_eq!(c.authors, vec!["m-1"]);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.message.contains("m-404") && w.line == 1)
    );
}

#[test]
fn csv_members_parse_like_jsonl_members() {
    let csv = "id,name,department,clearance,availability,skills,registrations,town,region,lat,lon\n\
               m-1,Ada Lovelace,Dstl,SC,24h,Bayesian statistics:4:2026-01-10;Epidemiology:working,CStat;CSci,Salisbury,South West,51.07,-1.79\n";
    let json = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","clearance":"SC","availability":"24h","skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-10"},{"name":"Epidemiology","level":"working"}],"registrations":["CStat","CSci"],"location":{"town":"Salisbury","region":"South West","lat":51.07,"lon":-1.79}}"#;
    let (_, from_csv) = load(&[("members.csv", csv)]);
    let (_, from_json) = load(&[("members.jsonl", json)]);
    assert_eq!(from_csv, from_json);
}

#[test]
fn csv_with_a_wrong_header_names_the_missing_column() {
    let (report, records) = load(&[("members.csv", "ident,fullname\nm-1,Ada\n")]);
    assert!(records.is_empty());
    assert_eq!(report.rejections[0].field.as_deref(), Some("id"));
    assert_eq!(report.rejections[0].line, 1);
}

#[test]
fn over_long_and_non_utf8_lines_are_rejected_alone() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"id\":\"m-x\",\"name\":\"");
    bytes.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 10));
    bytes.extend_from_slice(b"\"}\n");
    bytes.extend_from_slice(b"{\"id\":\"m-y\",\"name\":\"\xff\xfe\",\"department\":\"Dstl\"}\n");
    bytes.extend_from_slice(GOOD.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("members.jsonl"), &bytes).unwrap();
    let mut count = 0;
    let report = load_dir(dir.path(), &mut |_| {
        count += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(count, 1);
    assert_eq!(report.rejections[0].line, 1);
    assert!(report.rejections[0].reason.contains("longer than"));
    assert_eq!(report.rejections[1].line, 2);
    assert!(report.rejections[1].reason.contains("UTF-8"));
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let err = load_dir(Path::new("/no/such/dir"), &mut |_| Ok(())).unwrap_err();
    assert!(err.to_string().contains("/no/such/dir"), "{err}");
}

#[test]
fn ids_outside_the_allowed_alphabet_are_rejected() {
    assert!(validate_id("m-0012", "id").is_ok());
    assert!(validate_id("a/b", "id").is_err());
    assert!(validate_id(&"x".repeat(65), "id").is_err());
    assert!(validate_id("", "id").is_err());
}
