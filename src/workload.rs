//! The fixed workload benchmarks measure: what officials and labs type, with the filters they use,
//! and emergency musters. Shared by `benches/search.rs` and `benches/scale.rs` so every figure is
//! for the same requests.

/// The search mix: 1-3 words, 0-3 filters, facets on, some near a place (query strings of
/// `GET /v1/experts`).
pub const QUERIES: &[&str] = &[
    "q=epidemiological%20modelling&clearance=SC&availability=24h",
    "q=bayesian&department=UKHSA",
    "q=virology&clearance=SC",
    "skill=Statistics&min_level=3",
    "q=dispersion%20modelling&near=51.5,-0.12&within_km=100",
    "q=cyber%20security&clearance=DV",
    "q=flood%20risk&region=South%20West",
    "skill=Operational%20research&availability=week&department=MOD",
    "q=radiation%20protection",
    "q=machine%20learning&grade=G7&clearance=SC",
    "q=fire%20explosion%20investigation&availability=month",
    "skill=Virology&near=51.13,-1.70&within_km=60&sort=distance",
    "q=health%20economics&department=DHSC",
    "q=nuclear%20safety&clearance=SC&region=North%20West",
    "q=avian%20influenza",
    "q=structural%20integrity%20failure&clearance=BPSS",
];

/// Emergency musters (bodies of `POST /v1/muster`): several skills, hard constraints, facilities.
pub const MUSTERS: &[&str] = &[
    r#"{"skills": [{"skill": "epidemiological modelling", "min_level": 3}, {"skill": "bayesian statistics"},
                   {"skill": "health economics"}], "clearance": "SC", "availability": "24h",
        "near": {"lat": 51.5, "lon": -0.12}, "within_km": 150, "team_size": 5, "max_per_department": 2,
        "facility_capabilities": ["CL4"], "exclude": ["m-000042"]}"#,
    r#"{"need": "chemical release at a port: we need toxicology, atmospheric dispersion modelling and decontamination"}"#,
    r#"{"skills": [{"skill": "virology", "min_level": 4}, {"skill": "pathogen genomics", "min_level": 3},
                   {"skill": "statistics"}], "clearance": "DV", "availability": "now", "team_size": 4}"#,
    r#"{"skills": [{"skill": "flood risk"}, {"skill": "hydrology"}, {"skill": "geotechnical engineering"}],
        "near": {"lat": 50.72, "lon": -3.53}, "within_km": 100, "max_per_department": 1}"#,
];

/// Sorted-slice percentile (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Words a query taken from a label leaves out: they carry no topic, and engines treat them
/// differently (some drop them, some require them).
const LEFT_OUT: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
    "with",
];

/// `count` expert searches of 1-3 words taken from ESCO labels, for members generated with
/// [`crate::generate::SkillSource::Esco`]: each takes the preferred label of a concept drawn
/// evenly from those members hold, keeps its plain words (letters only, not [`LEFT_OUT`]) and
/// asks for a run of one to three of them; every second query also asks for clearance at least
/// SC, every third for availability within a week. The same seed gives the same queries.
pub fn esco_queries(taxonomy: &crate::taxonomy::Taxonomy, count: usize, seed: u64) -> Vec<String> {
    let concepts = crate::generate::esco_concepts(taxonomy);
    let mut rng = crate::generate::Rng::new(seed);
    let mut queries = Vec::with_capacity(count);
    while queries.len() < count && !concepts.is_empty() {
        let label = &taxonomy.node(*rng.pick(&concepts)).label;
        let words: Vec<&str> = label
            .split_whitespace()
            .filter(|w| w.chars().all(char::is_alphabetic) && !LEFT_OUT.contains(w))
            .collect();
        if words.is_empty() {
            continue;
        }
        let length = (1 + rng.below(3)).min(words.len());
        let start = rng.below(words.len() - length + 1);
        let text = words[start..start + length].join(" ");
        let i = queries.len();
        let mut query = format!(
            "q={}",
            form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
        );
        if i % 2 == 0 {
            query.push_str("&clearance=SC");
        }
        if i % 3 == 0 {
            query.push_str("&availability=week");
        }
        queries.push(query);
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esco_queries_are_valid_expert_searches_of_one_to_three_label_words_with_their_filters() {
        let taxonomy = crate::taxonomy::Taxonomy::builtin();
        let queries = esco_queries(&taxonomy, 500, 9);
        assert_eq!(queries, esco_queries(&taxonomy, 500, 9));
        assert_ne!(queries, esco_queries(&taxonomy, 500, 10));
        assert_eq!(queries.len(), 500);
        let today = crate::search::today();
        let caller = crate::access::Caller::demo();
        let (mut cleared, mut available) = (0, 0);
        for query in &queries {
            let pairs = crate::search::query_pairs(Some(query));
            let request = crate::search::parse_search(
                Some(crate::model::Kind::Member),
                &pairs,
                &caller,
                today,
            )
            .unwrap_or_else(|e| panic!("{query}: {e:?}"));
            let words = request
                .text
                .as_deref()
                .unwrap_or_default()
                .split(' ')
                .count();
            assert!((1..=3).contains(&words), "{query}");
            cleared += usize::from(request.filters.clearance.is_some());
            available += usize::from(request.filters.availability.is_some());
        }
        assert_eq!((cleared, available), (250, 167));
    }
}
