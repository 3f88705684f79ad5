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
