//! A CSV member row as the JSON object the JSON Lines reader would have seen.

use serde_json::{Map, Value};

/// Turns one CSV member row into the JSON object the JSONL reader would have seen.
///
/// List columns (`registrations`, `skills`) are separated by `;`; skills are `name:level` or
/// `name:level:assessed`. Location is given as `town`, `region`, `lat`, `lon` columns (or the
/// same names prefixed `location.`).
pub fn csv_row_to_object(headers: &[String], row: &csv::StringRecord) -> Map<String, Value> {
    let mut map = Map::new();
    let mut location = Map::new();
    for (header, cell) in headers.iter().zip(row.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let header = header.trim();
        let key = header.strip_prefix("location.").unwrap_or(header);
        match key {
            "town" | "region" | "lat" | "lon" => {
                location.insert(key.to_string(), Value::String(cell.to_string()));
            }
            "registrations" | "skills" => {
                let items = cell
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect();
                map.insert(key.to_string(), Value::Array(items));
            }
            _ => {
                map.insert(key.to_string(), Value::String(cell.to_string()));
            }
        }
    }
    if !location.is_empty() {
        map.insert("location".into(), Value::Object(location));
    }
    map
}
