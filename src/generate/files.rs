//! Writing records as JSON Lines or CSV.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::Value;

use crate::{Error, Result};

pub(super) fn write_jsonl(path: &Path, records: impl IntoIterator<Item = Value>) -> Result<usize> {
    let file = File::create(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = BufWriter::new(file);
    let mut n = 0;
    for record in records {
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

pub(super) const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "department",
    "role",
    "grade",
    "gse_category",
    "clearance",
    "clearance_review_due",
    "availability",
    "town",
    "region",
    "lat",
    "lon",
    "skills",
    "registrations",
    "summary",
    "updated",
    "marking",
];

pub(super) fn csv_row(record: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    CSV_COLUMNS
        .iter()
        .map(|&column| match column {
            "town" | "region" | "lat" | "lon" => text(&record["location"][column]),
            "skills" => record["skills"]
                .as_array()
                .map(|skills| {
                    skills
                        .iter()
                        .map(|s| {
                            format!(
                                "{}:{}:{}",
                                text(&s["name"]),
                                text(&s["level"]),
                                text(&s["assessed"])
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default(),
            "registrations" => record["registrations"]
                .as_array()
                .map(|r| r.iter().map(text).collect::<Vec<_>>().join(";"))
                .unwrap_or_default(),
            other => text(&record[other]),
        })
        .collect()
}
