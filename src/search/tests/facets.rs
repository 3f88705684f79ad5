//! Tests of facet counts.

use super::*;

#[test]
fn facet_counts_equal_the_number_of_matching_records() {
    let index = fixture_index();
    let mut r = request(Kind::Member);
    r.filters.skills = vec!["Statistics".into()];
    r.filters.clearance = Some(Clearance::Sc);
    r.limit = 100;
    let response = search(index, &r).unwrap();
    assert!(response.total > 10, "{}", response.total);
    for facet in ["availability", "gse_category"] {
        let sum: u64 = response.facets[facet].values().sum();
        assert_eq!(sum, response.total, "{facet}: {:?}", response.facets[facet]);
    }
    // page through everything and count departments by hand
    let mut by_dept: BTreeMap<String, u64> = BTreeMap::new();
    let mut offset = 0;
    while offset < response.total as usize {
        r.offset = offset;
        for hit in search(index, &r).unwrap().hits {
            *by_dept.entry(hit.department.unwrap()).or_default() += 1;
        }
        offset += 100;
    }
    // a department's count includes its children (MOD includes Dstl)
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (dept, count) in &by_dept {
        for level in Reference::get().department_path(dept) {
            *expected.entry(level).or_default() += count;
        }
    }
    assert_eq!(response.facets["department"], expected);
    assert!(expected["MOD"] > expected["Dstl"]);
}

#[test]
fn a_skill_facet_counts_each_record_once_however_many_of_its_skills_fall_under_it() {
    let index = fixture_index();
    let taxonomy = &index.taxonomy;
    let all = search(index, &request(Kind::Member)).unwrap();
    let mut checked = 0;
    for (label, count) in &all.facets["skill"] {
        let Some(node) = taxonomy.lookup(label) else {
            continue;
        };
        if taxonomy.node(node).children.is_empty() {
            continue;
        }
        // the skill filter admits the holders of the skill or a narrower one: each once
        let mut r = request(Kind::Member);
        r.filters.skills = vec![label.clone()];
        assert_eq!(search(index, &r).unwrap().total, *count, "{label}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} inner skills counted");
}

#[test]
fn a_filtered_facet_still_counts_the_other_values() {
    let index = fixture_index();
    let mut r = request(Kind::Member);
    r.filters.departments = vec!["UKHSA".into()];
    let response = search(index, &r).unwrap();
    let ukhsa = response.facets["department"]["UKHSA"];
    assert_eq!(ukhsa, response.total);
    assert!(
        response.facets["department"]["Dstl"] > 0,
        "other departments are still offered"
    );
}

#[test]
fn each_index_counts_skills_by_its_own_taxonomy() {
    let member = r#"{"id":"m-1","name":"Ada","department":"Dstl","skills":[{"name":"Ballistics","level":3}]}"#;
    let records = vec![parse_json_line(Kind::Member, member).unwrap().record];
    let skill_facet = |taxonomy: &str| {
        let taxonomy = Arc::new(Taxonomy::parse(taxonomy, "test").unwrap());
        let index = crate::index::in_ram(&records, taxonomy).unwrap();
        search(&index, &request(Kind::Member)).unwrap().facets["skill"].clone()
    };
    // the same skill, under a different discipline in each taxonomy: each index's facet shows
    // its own tree, whichever was searched first in this process
    let weapons = skill_facet("Weapons\n  Ballistics\n");
    let physics = skill_facet("Physics\n  Ballistics\n");
    assert_eq!(weapons.get("Weapons"), Some(&1), "{weapons:?}");
    assert_eq!(physics.get("Physics"), Some(&1), "{physics:?}");
    assert_eq!(weapons.get("Ballistics"), Some(&1), "{weapons:?}");
    // counted only when `Physics` is a drill-down node of the facet
    assert_eq!(physics.get("Ballistics"), Some(&1), "{physics:?}");
}
