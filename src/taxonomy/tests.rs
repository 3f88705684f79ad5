use super::*;

#[test]
fn builtin_framework_has_disciplines_specialisms_and_skills() {
    let t = Taxonomy::builtin();
    let framework = || t.nodes().iter().filter(|n| n.is_framework());
    let disciplines = framework().filter(|n| n.depth == 0).count();
    let specialisms = framework().filter(|n| n.depth == 1).count();
    let skills = framework().filter(|n| n.depth >= 2).count();
    assert!(disciplines >= 8, "{disciplines}");
    assert!(specialisms >= 40, "{specialisms}");
    assert!(skills >= 150, "{skills}");
}

#[test]
fn lookup_is_case_plural_and_punctuation_insensitive() {
    let t = Taxonomy::builtin();
    let i = t.lookup("Epidemiological modelling").unwrap();
    assert_eq!(t.lookup("epidemiological-models"), Some(i));
    assert_eq!(t.lookup("EPIDEMIOLOGICAL MODELLING"), Some(i));
    assert_eq!(t.lookup("epidemiological-modelling"), Some(i));
    assert_eq!(t.node(i).id, "epidemiological-modelling");
    assert_eq!(
        t.path(i),
        vec![
            "Health and medical sciences",
            "Epidemiology and public health",
            "Epidemiological modelling"
        ]
    );
}

#[test]
fn synonyms_and_abbreviations_map_to_their_node() {
    let t = Taxonomy::builtin();
    let modelling = t.lookup("Epidemiological modelling").unwrap();
    assert_eq!(t.lookup("disease modelling"), Some(modelling));
    let energetics = t.lookup("Energetics").unwrap();
    assert_eq!(t.lookup("WOME"), Some(energetics));
    assert_eq!(t.lookup("NWP"), t.lookup("Numerical weather prediction"));
    assert_eq!(t.lookup("quidditch refereeing"), None);
}

#[test]
fn containment_levels_are_distinct_concepts_under_high_containment() {
    let t = Taxonomy::builtin();
    let cl3 = t.lookup("CL3").unwrap();
    let cl4 = t.lookup("CL4").unwrap();
    let sapo4 = t.lookup("SAPO4").unwrap();
    let broad = t.lookup("High containment microbiology").unwrap();
    assert_eq!(t.lookup("BSL4"), Some(cl4));
    assert_eq!(t.lookup("containment level 4"), Some(cl4));
    assert_eq!(t.lookup("BSL-3"), Some(cl3));
    assert_eq!(t.lookup("hazard group 3 pathogens"), Some(cl3));
    assert_ne!(cl3, cl4);
    assert_ne!(sapo4, cl4);
    for specific in [cl3, cl4, sapo4] {
        assert!(t.is_within(specific, broad));
        assert!(!t.is_within(broad, specific));
    }
    assert!(!t.is_within(cl3, cl4) && !t.is_within(cl4, cl3));
}

#[test]
fn animal_diseases_and_fire_and_explosion_are_siblings_not_synonyms() {
    let t = Taxonomy::builtin();
    let exotic = t.lookup("Exotic animal disease").unwrap();
    let diseases: Vec<usize> = ["avian influenza", "African swine fever", "FMD"]
        .iter()
        .map(|d| t.lookup(d).unwrap())
        .collect();
    for (i, a) in diseases.iter().enumerate() {
        assert_eq!(t.node(*a).parent, Some(exotic));
        for b in &diseases[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(t.lookup("foot and mouth disease"), Some(diseases[2]));
    let fire = t.lookup("fire safety engineering").unwrap();
    let gas = t.lookup("gas explosions").unwrap();
    assert_ne!(fire, gas);
    assert_eq!(t.node(fire).parent, t.node(gas).parent);
}

#[test]
fn esco_labels_enrich_matching_nodes_and_add_the_rest_with_their_uris() {
    let t = Taxonomy::builtin();
    // ESCO's "epidemiology" joins the GSE node and brings its URI and synonyms
    let epidemiology = t.lookup("Epidemiology").unwrap();
    assert!(t.is_gse(epidemiology));
    assert!(
        t.node(epidemiology)
            .esco_uri()
            .unwrap()
            .starts_with(crate::esco::SKILL_URI_BASE)
    );
    assert_eq!(t.lookup("disease aetiology"), Some(epidemiology));
    // a concept the GSE framework lacks is its own node under ESCO
    let python = t.lookup("Python (computer programming)").unwrap();
    assert!(!t.is_gse(python));
    assert_eq!(t.path(python)[0], "ESCO");
    let uri = t.node(python).esco_uri().unwrap().to_string();
    assert_eq!(t.lookup(&uri), Some(python));
    assert!(t.nodes().len() > 14_000);
}

#[test]
fn esco_concepts_sit_in_escos_own_hierarchy_where_it_is_known() {
    let t = Taxonomy::builtin();
    let groups = t.nodes().iter().filter(|n| n.is_group()).count();
    assert!(groups > 600, "{groups}");
    // every ESCO node is below the root, and the tree has no node twice
    let esco_root = t.lookup("esco").unwrap();
    for (i, node) in t.nodes().iter().enumerate() {
        if !node.is_framework() && i != esco_root && !t.is_within(i, esco_root) {
            assert!(
                node.esco_uris.len() == 1 && t.is_gse(node.parent.unwrap()),
                "{} is outside ESCO",
                node.label
            );
        }
    }
    let placed = t
        .nodes()
        .iter()
        .filter(|n| !n.is_framework() && !n.is_group() && n.depth > 2)
        .count();
    assert!(placed > 1_500, "{placed} ESCO concepts below a group");
}

#[test]
fn a_label_used_twice_or_a_synonym_of_two_concepts_is_refused_with_its_lines() {
    let twice = Taxonomy::parse("A\n  B | bee\n  C\n    B\n", "test").unwrap_err();
    assert!(
        twice
            .to_string()
            .contains("line 4: label `B` is already the label of line 2"),
        "{twice}"
    );
    let shared = Taxonomy::parse("A\n  B | common name\n  C | common names\n", "test")
        .unwrap_err()
        .to_string();
    assert!(
        shared.contains("line 3: synonym `common names`"),
        "{shared}"
    );
    assert!(shared.contains("already names `B` (line 2)"), "{shared}");
    let label = Taxonomy::parse("A\n  B | C\n  C\n", "test")
        .unwrap_err()
        .to_string();
    assert!(
        label.contains("line 2: synonym `C` of `B` already names `C`"),
        "{label}"
    );
    let unknown = Taxonomy::parse("A\n  B | bee | ESCO: no such concept at all\n", "test")
        .unwrap()
        .add_esco(&crate::esco::parse_compact(ESCO_CONCEPTS))
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("line 2: no ESCO concept"), "{unknown}");
}

#[test]
fn a_listed_esco_concept_joins_the_framework_concept() {
    let mut t = Taxonomy::parse(
        "Social research\n  Questionnaires | survey questionnaires | ESCO: survey techniques\n",
        "test",
    )
    .unwrap();
    t.add_esco(&crate::esco::parse_compact(ESCO_CONCEPTS))
        .unwrap();
    let node = t.lookup("Questionnaires").unwrap();
    assert_eq!(t.lookup("survey techniques"), Some(node));
    assert!(t.node(node).esco_uri().is_some());
    assert!(t.esco_links().iter().any(|l| l.node == node && l.listed));
    let lines = check(
        "Social research\n  Questionnaires | survey questionnaires | ESCO: survey techniques\n",
        "test",
    )
    .unwrap();
    assert!(
        lines[0].starts_with("Questionnaires = survey techniques"),
        "{lines:?}"
    );
}

#[test]
fn the_builtin_framework_passes_its_own_check() {
    let links = check(GSE_FRAMEWORK, "gse.txt").unwrap();
    assert!(links.len() > 40, "{} links", links.len());
}

#[test]
fn misspelt_labels_of_eight_letters_or_more_are_recognised() {
    let t = Taxonomy::builtin();
    let modelling = t.lookup("Epidemiological modelling").unwrap();
    assert_eq!(t.lookup_fuzzy("epidemiolgical modeling"), Some(modelling));
    assert_eq!(
        t.lookup_fuzzy("bayesain statistics"),
        t.lookup("Bayesian statistics")
    );
    // short words are never fuzzed: CBRX is not CBRN
    assert_eq!(t.lookup_fuzzy("CBRX"), None);
}

#[test]
fn bad_indentation_is_reported_with_its_line() {
    let err = Taxonomy::parse("A\n      B\n", "test").unwrap_err();
    assert!(err.to_string().contains("test line 2"), "{err}");
}
