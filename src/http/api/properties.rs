//! Property tests of the query-string parser: any query string is a search or a 400 naming a
//! field, never a panic.

use super::*;
use proptest::prelude::*;

/// Every parameter experts accept, and one they do not.
fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = search::accepted_params(Some(Kind::Member)).collect();
    names.push("bogus");
    names
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_raw_query_string_is_a_search_or_a_named_error(raw in ".{0,200}") {
        let caller = crate::access::Caller::demo();
        let today = time::macros::date!(2026 - 11 - 22);
        for kind in [Some(Kind::Member), Some(Kind::CaseStudy), Some(Kind::Facility), None] {
            let _ = parse_search(kind, &query_pairs(Some(&raw)), &caller, today);
        }
    }

    #[test]
    fn known_parameters_with_any_values_are_a_search_or_name_the_parameter(
        pairs in prop::collection::vec((prop::sample::select(names()), ".{0,30}"), 0..6)
    ) {
        let caller = crate::access::Caller::demo();
        let today = time::macros::date!(2026 - 11 - 22);
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Err(e) = parse_search(Some(Kind::Member), &pairs, &caller, today) {
            let text = e.to_string();
            prop_assert!(
                names().iter().any(|n| text.contains(n)),
                "the error names a parameter: {}", text
            );
        }
    }
}
