//! Property tests of the query parser: any text parses, and what it parses to round-trips.

use std::collections::HashSet;

use proptest::prelude::*;

use crate::text;

use super::geo::{Circle, EARTH_RADIUS_KM, haversine_km};
use super::query::{Clause, parse_text};
use super::request::Near;

fn render(clauses: &[Clause]) -> String {
    clauses
        .iter()
        .map(|c| match c {
            Clause::Word(w) => w.clone(),
            Clause::Phrase(p) => format!("\"{p}\""),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_parses_and_the_clauses_round_trip(q in ".{0,200}") {
        let clauses = parse_text(&q);
        for clause in &clauses {
            match clause {
                Clause::Word(w) => {
                    prop_assert!(!w.is_empty());
                    prop_assert!(!w.contains(char::is_whitespace) && !w.contains('"'));
                }
                Clause::Phrase(p) => prop_assert!(p.split_whitespace().count() > 1),
            }
        }
        prop_assert_eq!(parse_text(&render(&clauses)), clauses);
    }

    #[test]
    fn words_and_phrases_written_out_are_read_back(
        parts in prop::collection::vec(
            prop_oneof![
                "[a-z0-9]{1,10}".prop_map(|w| (false, w)),
                "[a-z]{1,8}( [a-z]{1,8}){1,3}".prop_map(|p| (true, p)),
            ],
            0..6,
        )
    ) {
        let text = parts
            .iter()
            .map(|(phrase, t)| if *phrase { format!("\"{t}\"") } else { t.clone() })
            .collect::<Vec<_>>()
            .join(" ");
        let mut seen = HashSet::new();
        let expected: Vec<Clause> = parts
            .iter()
            .filter(|(phrase, t)| {
                *phrase || (!text::STOP_WORDS.contains(&t.as_str()) && seen.insert(t.clone()))
            })
            .map(|(phrase, t)| if *phrase {
                Clause::Phrase(t.clone())
            } else {
                Clause::Word(t.clone())
            })
            .collect();
        prop_assert_eq!(parse_text(&text), expected);
    }

    #[test]
    fn the_box_around_a_circle_never_drops_a_record_inside_it(
        lat in -90.0f64..=90.0,
        lon in -180.0f64..=180.0,
        km in 0.0f64..3000.0,
        d_lat in -30.0f64..30.0,
        d_lon in -40.0f64..40.0,
        edge in 0.99f64..1.01,
        bearing in 0.0f64..std::f64::consts::TAU,
    ) {
        let circle = Circle::new(Near { lat, lon, within_km: Some(km) });
        // a record anywhere around, and one about on the circle in any direction
        let there_lat = (lat + d_lat).clamp(-90.0, 90.0);
        let there_lon = (lon + d_lon + 180.0).rem_euclid(360.0) - 180.0;
        let (p1, l1) = (lat.to_radians(), lon.to_radians());
        let angle = edge * km / EARTH_RADIUS_KM;
        let p2 = (p1.sin() * angle.cos() + p1.cos() * angle.sin() * bearing.cos()).asin();
        let l2 = l1
            + (bearing.sin() * angle.sin() * p1.cos()).atan2(angle.cos() - p1.sin() * p2.sin());
        let edge_lon = (l2.to_degrees() + 180.0).rem_euclid(360.0) - 180.0;
        for (a, b) in [(there_lat, there_lon), (p2.to_degrees(), edge_lon)] {
            prop_assert_eq!(
                circle.contains(a, b),
                haversine_km(lat, lon, a, b) <= km,
                "({}, {}) from ({}, {}) within {} km", a, b, lat, lon, km
            );
        }
    }
}
