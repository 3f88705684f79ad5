//! Tests of the hard filters, each against a brute-force count written from the contract.

use super::*;

#[test]
fn hidden_case_studies_credit_nobody_and_hidden_members_are_not_found() {
    let index = small_index();
    let mut r = request(Kind::Member);
    r.text = Some("dispersion".into());
    let response = search(&index, &r).unwrap();
    assert_eq!(
        ids(&response),
        vec!["m-author"],
        "cs-3 is hidden, so m-pra gets no credit; m-secret is hidden"
    );
    r.max_marking = Marking::OfficialSensitive;
    let response = search(&index, &r).unwrap();
    let mut found = ids(&response);
    found.sort();
    assert_eq!(found, vec!["m-author", "m-pra", "m-secret"]);
}

#[test]
fn clearance_filter_is_a_minimum_and_ignores_lapsed_clearances() {
    let index = small_index();
    let mut r = request(Kind::Member);
    r.filters.clearance = Some(Clearance::Sc);
    let mut found = ids(&search(&index, &r).unwrap())
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    found.sort();
    assert_eq!(
        found,
        vec!["m-author", "m-exp", "m-pra"],
        "m-lapsed's DV review date has passed"
    );
}

#[test]
fn a_clearance_lapses_after_its_review_date_whichever_days_were_searched_before() {
    // the records in date are a set cached per segment and day: searches on several days of
    // one index each see their own day's
    let index = small_index();
    let on = |day: Date| {
        let mut r = request(Kind::Member);
        r.today = day;
        r.filters.clearance = Some(Clearance::Dv);
        let response = search(&index, &r).unwrap();
        (ids(&response).contains(&"m-lapsed"), response.total)
    };
    let due = time::macros::date!(2025 - 01 - 01);
    let after = due.next_day().unwrap();
    assert_eq!(on(TODAY), (false, 0), "long past its review date");
    assert_eq!(on(due), (true, 1), "on its review date");
    assert_eq!(on(after), (false, 0), "the day after its review date");
    assert_eq!(on(due), (true, 1), "on its review date, asked again");
    assert_eq!(on(TODAY), (false, 0));
}

#[test]
fn availability_filter_is_at_most() {
    let index = small_index();
    let mut r = request(Kind::Member);
    r.filters.availability = Some(Availability::Within24h);
    r.filters.skills = vec!["Bayesian statistics".into()];
    assert_eq!(
        ids(&search(&index, &r).unwrap()),
        vec!["m-exp", "m-lapsed", "m-pra"]
    );
}

#[test]
fn department_filter_includes_children_of_a_parent() {
    let index = small_index();
    let mut r = request(Kind::Member);
    r.filters.departments = vec!["MOD".into()];
    let mut found = ids(&search(&index, &r).unwrap())
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, vec!["m-exp", "m-lapsed"]);
}

#[test]
fn near_with_within_km_uses_great_circle_distance_and_can_sort_by_it() {
    let index = small_index();
    let mut r = request(Kind::Member);
    // central London; Colindale is ~13 km away, Salisbury ~130 km, Newport ~190 km
    r.filters.near = Some(Near {
        lat: 51.5074,
        lon: -0.1278,
        within_km: Some(150.0),
    });
    r.sort = SortOrder::Distance;
    let response = search(&index, &r).unwrap();
    assert_eq!(ids(&response), vec!["m-pra", "m-exp"]);
    assert!(response.hits[0].distance_km.unwrap() < 20.0);
    assert!((response.hits[1].distance_km.unwrap() - 120.0).abs() < 20.0);
}

#[test]
fn min_level_keeps_only_members_at_or_above_it() {
    let index = small_index();
    let mut r = request(Kind::Member);
    r.filters.skills = vec!["Bayesian statistics".into()];
    r.filters.min_level = Some(Level::Practitioner);
    assert_eq!(
        ids(&search(&index, &r).unwrap()),
        vec!["m-exp", "m-lapsed", "m-pra"]
    );
}

/// Brute-force oracle: does `m` pass filter `name` of `r`? Written from the contract, not
/// from the engine.
fn passes(m: &crate::model::Member, r: &SearchRequest, taxonomy: &Taxonomy) -> bool {
    let f = &r.filters;
    let path = Reference::get().department_path(&m.department);
    let dept_ok = f.departments.is_empty() || f.departments.iter().any(|d| path.contains(d));
    let clearance_ok = f.clearance.is_none_or(|c| {
        m.clearance >= c && m.clearance_review_due.is_none_or(|due| due >= r.today)
    });
    let availability_ok = f.availability.is_none_or(|a| m.availability <= a);
    let grade_ok = f.grades.is_empty() || m.grade.is_some_and(|g| f.grades.contains(&g));
    let gse_ok = f.gse_categories.is_empty()
        || m.gse_category
            .is_some_and(|g| f.gse_categories.contains(&g));
    let region_ok = f.regions.is_empty()
        || m.location
            .as_ref()
            .and_then(|l| l.region.as_ref())
            .is_some_and(|x| f.regions.contains(x));
    let registration_ok = f.registrations.is_empty()
        || m.registrations
            .iter()
            .any(|x| f.registrations.iter().any(|y| x.eq_ignore_ascii_case(y)));
    let near_ok = f.near.is_none_or(|n| {
        m.location.as_ref().is_some_and(|l| {
            haversine_km(n.lat, n.lon, l.lat, l.lon) <= n.within_km.unwrap_or(f64::INFINITY)
        })
    });
    let skill_ok = f.skills.is_empty()
        || f.skills.iter().any(|wanted| {
            let target = taxonomy.lookup(wanted).unwrap();
            m.skills.iter().any(|s| {
                taxonomy
                    .lookup(&s.name)
                    .is_some_and(|n| taxonomy.ancestors(n).contains(&target))
                    && s.level >= f.min_level.unwrap_or(Level::Awareness)
            })
        });
    m.marking <= r.max_marking
        && dept_ok
        && clearance_ok
        && availability_ok
        && grade_ok
        && gse_ok
        && region_ok
        && registration_ok
        && near_ok
        && skill_ok
}

#[test]
fn every_filter_alone_and_combined_matches_a_brute_force_count() {
    let index = fixture_index();
    let members = fixture_members();
    let london = Near {
        lat: 51.5074,
        lon: -0.1278,
        within_km: Some(100.0),
    };
    let cases: Vec<(&str, Filters)> = vec![
        ("none", Filters::default()),
        (
            "skill",
            Filters {
                skills: vec!["Statistics".into()],
                ..Filters::default()
            },
        ),
        (
            "skill+min_level",
            Filters {
                skills: vec!["Virology".into(), "Epidemiology".into()],
                min_level: Some(Level::Practitioner),
                ..Filters::default()
            },
        ),
        (
            "department parent",
            Filters {
                departments: vec!["MOD".into()],
                ..Filters::default()
            },
        ),
        (
            "departments or",
            Filters {
                departments: vec!["UKHSA".into(), "Met Office".into()],
                ..Filters::default()
            },
        ),
        (
            "clearance",
            Filters {
                clearance: Some(Clearance::Sc),
                ..Filters::default()
            },
        ),
        (
            "availability",
            Filters {
                availability: Some(Availability::Within24h),
                ..Filters::default()
            },
        ),
        (
            "grade",
            Filters {
                grades: vec![Grade::G7, Grade::G6],
                ..Filters::default()
            },
        ),
        (
            "gse_category",
            Filters {
                gse_categories: vec![GseCategory::DeepSpecialist],
                ..Filters::default()
            },
        ),
        (
            "region",
            Filters {
                regions: vec!["London".into()],
                ..Filters::default()
            },
        ),
        (
            "registration",
            Filters {
                registrations: vec!["CEng".into()],
                ..Filters::default()
            },
        ),
        (
            "near",
            Filters {
                near: Some(london),
                ..Filters::default()
            },
        ),
        (
            "combined",
            Filters {
                departments: vec!["DHSC".into(), "MOD".into()],
                clearance: Some(Clearance::Sc),
                availability: Some(Availability::Week),
                skills: vec!["Mathematical and data sciences".into()],
                min_level: Some(Level::Working),
                ..Filters::default()
            },
        ),
    ];
    for (name, filters) in cases {
        for marking in [Marking::Official, Marking::OfficialSensitive] {
            let mut r = SearchRequest::new(Kind::Member, marking, TODAY);
            r.filters = filters.clone();
            r.limit = 100;
            let expected: Vec<&str> = members
                .iter()
                .filter(|m| passes(m, &r, &index.taxonomy))
                .map(|m| m.id.as_str())
                .collect();
            let response = search(index, &r).unwrap();
            assert_eq!(
                response.total as usize,
                expected.len(),
                "{name} at {marking}"
            );
            assert!(
                !expected.is_empty(),
                "{name}: the case should select someone"
            );
            for hit in &response.hits {
                assert!(
                    expected.contains(&hit.id.as_str()),
                    "{name}: {} should not match",
                    hit.id
                );
            }
        }
    }
}

#[test]
fn a_set_filters_own_facet_counts_as_if_it_were_unset_matching_a_brute_force_count() {
    // The facets of set filters are counted in the same pass as the hits: compare each with
    // the records that pass every other filter, counted by hand.
    let index = fixture_index();
    let members = fixture_members();
    let cases = [
        Filters {
            departments: vec!["DHSC".into(), "MOD".into()],
            clearance: Some(Clearance::Sc),
            availability: Some(Availability::Week),
            skills: vec!["Mathematical and data sciences".into()],
            ..Filters::default()
        },
        Filters {
            grades: vec![Grade::G7, Grade::G6],
            gse_categories: vec![GseCategory::DeepSpecialist],
            regions: vec!["London".into(), "South West".into()],
            availability: Some(Availability::Month),
            ..Filters::default()
        },
        Filters {
            departments: vec!["MOD".into()],
            clearance: Some(Clearance::Dv),
            ..Filters::default()
        },
    ];
    let reference = Reference::get();
    for filters in cases {
        for marking in [Marking::Official, Marking::OfficialSensitive] {
            let mut r = SearchRequest::new(Kind::Member, marking, TODAY);
            r.filters = filters.clone();
            let response = search(index, &r).unwrap();
            type Unset = fn(&mut Filters);
            let set: Vec<(&str, Unset)> = vec![
                ("department", |f| f.departments.clear()),
                ("clearance", |f| f.clearance = None),
                ("availability", |f| f.availability = None),
                ("grade", |f| f.grades.clear()),
                ("gse_category", |f| f.gse_categories.clear()),
                ("region", |f| f.regions.clear()),
            ];
            for (facet, unset) in set {
                let mut without = r.clone();
                unset(&mut without.filters);
                if without.filters == r.filters {
                    continue; // this filter is not set
                }
                let mut expected: BTreeMap<String, u64> = BTreeMap::new();
                for m in members
                    .iter()
                    .filter(|m| passes(m, &without, &index.taxonomy))
                {
                    let lapsed = m.clearance_review_due.is_some_and(|due| due < TODAY);
                    let labels: Vec<String> = match facet {
                        "department" => reference.department_path(&m.department),
                        // a lapsed clearance is no clearance, whatever the level
                        "clearance" if lapsed => Vec::new(),
                        "clearance" => vec![m.clearance.as_str().into()],
                        "availability" => vec![m.availability.as_str().into()],
                        "grade" => m.grade.iter().map(|g| g.as_str().into()).collect(),
                        "gse_category" => {
                            m.gse_category.iter().map(|g| g.as_str().into()).collect()
                        }
                        _ => m.location.iter().filter_map(|l| l.region.clone()).collect(),
                    };
                    for label in labels {
                        *expected.entry(label).or_default() += 1;
                    }
                }
                assert!(
                    !expected.is_empty(),
                    "{facet}: the case should count someone"
                );
                assert_eq!(
                    response.facets[facet], expected,
                    "{facet} facet with {filters:?} at {marking}"
                );
            }
        }
    }
}
