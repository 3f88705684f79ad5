//! Import of ESCO v1.1.1 skills and knowledge concepts into the compact file Muster compiles in.
//!
//! `muster taxonomy import-esco --zip esco_v1.1.1_en_csv.zip --out src/taxonomy/esco.tsv` reads
//! `skills_en.csv` from the official CSV download and writes one line per released concept:
//! `id <TAB> type <TAB> preferred label <TAB> alternative and hidden labels separated by |`.
//! The output is sorted and deterministic, so the step is reproducible and its result reviewable.
//!
//! This service uses the ESCO classification of the European Commission.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// One ESCO concept.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// Short stable id: `esco-` and the first 12 hex digits of the concept's UUID.
    pub id: String,
    /// `skill` or `knowledge`.
    pub kind: String,
    /// Preferred label.
    pub label: String,
    /// Alternative and hidden labels.
    pub synonyms: Vec<String>,
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Reads the concepts of `skills_en.csv` inside the ESCO CSV zip.
pub fn read_zip(zip_path: &Path) -> Result<Vec<Concept>> {
    let file = std::fs::File::open(zip_path).map_err(|source| Error::Read {
        path: zip_path.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| read_error(zip_path, e))?;
    let mut entry = archive
        .by_name("skills_en.csv")
        .map_err(|e| read_error(zip_path, format!("skills_en.csv: {e}")))?;
    let mut text = String::new();
    entry
        .read_to_string(&mut text)
        .map_err(|e| read_error(zip_path, e))?;
    parse_skills_csv(&text).map_err(|e| read_error(zip_path, e))
}

fn split_labels(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split('\n')
        .map(|l| l.trim().replace(['\t', '|'], " "))
        .filter(|l| !l.is_empty())
}

/// Parses ESCO's `skills_en.csv`.
pub fn parse_skills_csv(text: &str) -> std::result::Result<Vec<Concept>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("skills_en.csv has no `{name}` column"))
    };
    let (uri, kind, status, preferred, alt, hidden) = (
        column("conceptUri")?,
        column("skillType")?,
        column("status")?,
        column("preferredLabel")?,
        column("altLabels")?,
        column("hiddenLabels")?,
    );
    let mut by_id: BTreeMap<String, Concept> = BTreeMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        if &row[status] != "released" {
            continue;
        }
        let uuid = row[uri]
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace('-', "");
        if uuid.len() < 12 {
            continue;
        }
        let id = format!("esco-{}", &uuid[..12]);
        let label = row[preferred].trim().to_string();
        if label.is_empty() {
            continue;
        }
        let mut synonyms: Vec<String> = split_labels(&row[alt])
            .chain(split_labels(&row[hidden]))
            .filter(|s| !s.eq_ignore_ascii_case(&label))
            .collect();
        synonyms.sort();
        synonyms.dedup();
        let kind = if row[kind].starts_with("knowledge") {
            "knowledge"
        } else {
            "skill"
        };
        let concept = Concept {
            id: id.clone(),
            kind: kind.into(),
            label,
            synonyms,
        };
        if by_id.insert(id.clone(), concept).is_some() {
            return Err(format!("two concepts share the short id {id}"));
        }
    }
    Ok(by_id.into_values().collect())
}

/// Writes concepts in the compact format.
pub fn write_compact(concepts: &[Concept], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "# ESCO v1.1.1 skills and knowledge (released concepts): id, type, label, synonyms."
    )?;
    writeln!(
        out,
        "# Made by `muster taxonomy import-esco`. This service uses the ESCO classification of the European Commission."
    )?;
    for c in concepts {
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            c.id,
            c.kind,
            c.label,
            c.synonyms.join("|")
        )?;
    }
    Ok(())
}

/// Reads the compact format.
pub fn parse_compact(text: &str) -> Vec<Concept> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let id = parts.next()?.to_string();
            let kind = parts.next()?.to_string();
            let label = parts.next()?.to_string();
            let synonyms = parts
                .next()
                .unwrap_or("")
                .split('|')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Some(Concept {
                id,
                kind,
                label,
                synonyms,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_csv_becomes_sorted_compact_concepts() {
        let csv = "conceptType,conceptUri,skillType,reuseLevel,preferredLabel,altLabels,hiddenLabels,status\n\
                   K,http://data.europa.eu/esco/skill/bbbbbbbb-1111-2222-3333-444444444444,knowledge,x,epidemiology,\"study of epidemics\nepidemiological science\",epidemology,released\n\
                   K,http://data.europa.eu/esco/skill/aaaaaaaa-1111-2222-3333-444444444444,skill/competence,x,use statistics,,,released\n\
                   K,http://data.europa.eu/esco/skill/cccccccc-1111-2222-3333-444444444444,skill/competence,x,old thing,,,obsolete\n";
        let concepts = parse_skills_csv(csv).unwrap();
        assert_eq!(concepts.len(), 2);
        assert_eq!(concepts[0].id, "esco-aaaaaaaa1111");
        assert_eq!(concepts[1].kind, "knowledge");
        assert_eq!(
            concepts[1].synonyms,
            vec![
                "epidemiological science",
                "epidemology",
                "study of epidemics"
            ]
        );
        let mut out = Vec::new();
        write_compact(&concepts, &mut out).unwrap();
        assert_eq!(parse_compact(&String::from_utf8(out).unwrap()), concepts);
    }

    #[test]
    fn the_committed_compact_file_is_what_the_import_makes_from_the_reference_zip() {
        let zip = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/esco_v1.1.1_en_csv.zip");
        if !zip.exists() {
            // a user's checkout has no ../shared; CI and developers do
            eprintln!("skipped: {} not present", zip.display());
            return;
        }
        let concepts = read_zip(&zip).unwrap();
        assert!(concepts.len() > 13_000, "{}", concepts.len());
        let mut out = Vec::new();
        write_compact(&concepts, &mut out).unwrap();
        let committed =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/taxonomy/esco.tsv"))
                .unwrap();
        assert!(
            out == committed,
            "src/taxonomy/esco.tsv is stale: rerun `muster taxonomy import-esco`"
        );
    }
}
