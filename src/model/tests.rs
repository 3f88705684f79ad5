use super::*;

#[test]
fn clearance_parses_every_documented_spelling_in_order() {
    let spellings = ["none", "BPSS", "CTC", "SC", "eSC", "DV", "eDV"];
    for (rank, spelling) in spellings.iter().enumerate() {
        let parsed = Clearance::parse(spelling).unwrap();
        assert_eq!(parsed.rank(), rank as u64);
        assert_eq!(parsed.as_str(), *spelling);
    }
    assert!(Clearance::Sc > Clearance::Ctc);
    assert!(Clearance::Edv > Clearance::Dv);
    assert_eq!(Clearance::parse(" sc "), Some(Clearance::Sc));
}

#[test]
fn every_enum_rejects_an_undocumented_spelling_naming_the_field() {
    let cases: Vec<(String, crate::Result<()>)> = vec![
        (
            "clearance".into(),
            Clearance::parse_field("TS", "clearance").map(drop),
        ),
        (
            "availability".into(),
            Availability::parse_field("2 days", "availability").map(drop),
        ),
        ("grade".into(), Grade::parse_field("G5", "grade").map(drop)),
        (
            "gse_category".into(),
            GseCategory::parse_field("expert", "gse_category").map(drop),
        ),
        (
            "marking".into(),
            Marking::parse_field("SECRET", "marking").map(drop),
        ),
        (
            "status".into(),
            FacilityStatus::parse_field("open", "status").map(drop),
        ),
        (
            "skills[0].level".into(),
            Level::parse_field("5", "skills[0].level").map(drop),
        ),
    ];
    for (field, result) in cases {
        match result {
            Err(crate::Error::InvalidField {
                field: named,
                reason,
            }) => {
                assert_eq!(named, field);
                assert!(reason.contains("is not one of"), "{reason}");
            }
            other => panic!("{field}: expected a rejection, got {other:?}"),
        }
    }
}

#[test]
fn availability_grade_marking_and_status_parse_their_spellings() {
    let avail: Vec<_> = ["now", "24h", "week", "month", "unavailable"]
        .iter()
        .map(|s| Availability::parse(s).unwrap())
        .collect();
    assert!(avail.windows(2).all(|w| w[0] < w[1]));
    let grades = [
        "AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2", "SCS3", "SCS4",
    ];
    let parsed: Vec<_> = grades.iter().map(|s| Grade::parse(s).unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]));
    for s in ["deep_specialist", "specialist", "affiliate"] {
        assert_eq!(GseCategory::parse(s).unwrap().as_str(), s);
    }
    assert_eq!(
        Marking::parse("official-sensitive"),
        Some(Marking::OfficialSensitive)
    );
    for s in ["operational", "limited", "closed"] {
        assert_eq!(FacilityStatus::parse(s).unwrap().as_str(), s);
    }
}

#[test]
fn level_accepts_numbers_and_words() {
    for (n, word) in [
        (1, "awareness"),
        (2, "working"),
        (3, "practitioner"),
        (4, "expert"),
    ] {
        let by_word = Level::parse(word).unwrap();
        assert_eq!(Level::parse(&n.to_string()), Some(by_word));
        assert_eq!(by_word.number(), n);
        assert_eq!(Level::from_number(n as u64), Some(by_word));
    }
    assert_eq!(Level::parse("0"), None);
    assert_eq!(Level::from_number(5), None);
}

#[test]
fn dates_round_trip_and_a_bad_one_is_reported_at_its_own_field() {
    let line = r#"{"id":"m-1","name":"Ada","department":"Dstl","clearance":"SC","clearance_review_due":"2029-05-01","skills":[{"name":"GIS","level":3,"assessed":"2026-01-02"}]}"#;
    let Record::Member(member) = crate::ingest::parse_json_line(Kind::Member, line)
        .unwrap()
        .record
    else {
        panic!("a member");
    };
    let json = serde_json::to_string(&member).unwrap();
    assert!(
        json.contains(r#""clearance_review_due":"2029-05-01""#),
        "{json}"
    );
    assert!(json.contains(r#""assessed":"2026-01-02""#), "{json}");
    assert_eq!(serde_json::from_str::<Member>(&json).unwrap(), member);
    let bad = json.replace("2026-01-02", "2026-13-02");
    let mut reader = serde_json::Deserializer::from_str(&bad);
    let error = serde_path_to_error::deserialize::<_, Member>(&mut reader).unwrap_err();
    assert_eq!(error.path().to_string(), "skills[0].assessed");
}

#[test]
fn cleared_for_means_at_least_the_level_and_in_date() {
    let on = |d: &str| crate::model::date_format::parse(d, "t").unwrap();
    let today = on("2026-11-30");
    assert!(cleared_for(Clearance::Dv, None, Clearance::Sc, today));
    assert!(cleared_for(
        Clearance::Sc,
        Some(today),
        Clearance::Sc,
        today
    ));
    assert!(
        !cleared_for(Clearance::Ctc, None, Clearance::Sc, today),
        "below"
    );
    let lapsed = Some(on("2026-11-29"));
    assert!(
        !cleared_for(Clearance::Dv, lapsed, Clearance::Sc, today),
        "lapsed"
    );
    assert!(cleared_for(Clearance::None, None, Clearance::None, today));
}

#[test]
fn a_clearance_lapses_the_day_after_its_review_date_and_says_so_in_words() {
    let due = date_format::parse("2024-03-14", "d").unwrap();
    let on = |day: &str| date_format::parse(day, "d").unwrap();
    assert_eq!(
        ClearanceStatus::of(Clearance::Dv, Some(due), on("2024-03-14")),
        Some(ClearanceStatus::InDate)
    );
    assert_eq!(
        ClearanceStatus::of(Clearance::Dv, Some(due), on("2024-03-15")),
        Some(ClearanceStatus::Lapsed)
    );
    assert_eq!(
        ClearanceStatus::of(Clearance::None, None, on("2024-03-15")),
        None
    );
    assert_eq!(
        clearance_in_words(Clearance::Dv, Some(due), on("2026-11-30")),
        "DV - lapsed, review was due 14 March 2024"
    );
    assert_eq!(
        clearance_in_words(Clearance::Sc, Some(on("2029-05-01")), on("2026-11-30")),
        "SC, review due 1 May 2029"
    );
    assert_eq!(
        clearance_in_words(Clearance::None, None, on("2026-11-30")),
        "no security clearance"
    );
}

#[test]
fn dates_round_trip_and_bad_dates_name_the_field() {
    let date = date_format::parse("2026-03-01", "updated").unwrap();
    assert_eq!(date_format::format(date), "2026-03-01");
    let err = date_format::parse("01/03/2026", "updated").unwrap_err();
    assert!(matches!(err, crate::Error::InvalidField { field, .. } if field == "updated"));
}
