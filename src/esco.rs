//! Import of ESCO v1.1.1 into the compact file Muster compiles in: skills and knowledge concepts,
//! the skill groups of ESCO's skills hierarchy, and the broader concept of each skill where the
//! download says it.
//!
//! `muster taxonomy import-esco --zip esco_v1.1.1_en_csv.zip --out src/taxonomy/esco.tsv` reads
//! from the official CSV download:
//! - `skills_en.csv`: the released skills and knowledge concepts with their labels;
//! - `skillsHierarchy_en.csv` and `skillGroups_en.csv`: the skill groups (four levels under
//!   `skills`, `knowledge`, `transversal skills and competences` and `language skills and
//!   knowledge`) with their labels;
//! - the skill collections (`digitalSkillsCollection_en.csv`, ...): the broader concept (a group
//!   or another skill) of each skill they hold. The download has no other file relating skills to
//!   groups (ESCO's `broaderRelationsSkillPillar_en.csv` is not in it), so about one skill in six
//!   is placed below its group and the others sit directly under `skills` or `knowledge`.
//!
//! It writes one line per concept: `ref <TAB> kind <TAB> preferred label <TAB> alternative and
//! hidden labels separated by | <TAB> broader refs separated by |`, where a ref is the concept URI
//! without `http://data.europa.eu/esco/skill/` (or, for an ISCED-F field, without
//! `http://data.europa.eu/esco/`) and kind is `skill`, `knowledge` or `group`. The output is
//! sorted and deterministic, so the step is reproducible and its result reviewable.
//!
//! This service uses the ESCO classification of the European Commission.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// Where ESCO concept URIs start.
pub const URI_BASE: &str = "http://data.europa.eu/esco/";
/// Where ESCO skill and skill-group URIs start.
pub const SKILL_URI_BASE: &str = "http://data.europa.eu/esco/skill/";

/// One ESCO concept or skill group.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// Short ref: the URI without [`SKILL_URI_BASE`] (or [`URI_BASE`] for ISCED-F fields).
    pub reference: String,
    /// `skill`, `knowledge` or `group`.
    pub kind: String,
    /// Preferred label.
    pub label: String,
    /// Alternative and hidden labels.
    pub synonyms: Vec<String>,
    /// Refs of the broader concepts or groups ESCO gives.
    pub broader: Vec<String>,
}

impl Concept {
    /// The concept's URI.
    pub fn uri(&self) -> String {
        uri_of(&self.reference)
    }

    /// Short stable id used in the index: `esco-` and the first 12 hex digits of a UUID, or
    /// `esco-isced-f-0542` for an ISCED-F field.
    pub fn id(&self) -> String {
        id_of(&self.reference)
    }
}

/// The URI for a short ref.
pub fn uri_of(reference: &str) -> String {
    if reference.contains('/') {
        format!("{URI_BASE}{reference}")
    } else {
        format!("{SKILL_URI_BASE}{reference}")
    }
}

/// The short id for a short ref.
pub fn id_of(reference: &str) -> String {
    if reference.contains('/') {
        format!("esco-{}", reference.replace('/', "-"))
    } else {
        let hex: String = reference.chars().filter(|c| *c != '-').take(12).collect();
        format!("esco-{hex}")
    }
}

/// The short ref of a URI, `None` for anything outside ESCO.
pub fn reference_of(uri: &str) -> Option<String> {
    let uri = uri.trim();
    uri.strip_prefix(SKILL_URI_BASE)
        .or_else(|| uri.strip_prefix(URI_BASE))
        .filter(|r| !r.is_empty())
        .map(String::from)
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Reads the concepts, groups and broader relations inside the ESCO CSV zip.
pub fn read_zip(zip_path: &Path) -> Result<Vec<Concept>> {
    let file = std::fs::File::open(zip_path).map_err(|source| Error::Read {
        path: zip_path.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| read_error(zip_path, e))?;
    let mut read = |name: &str| -> Result<String> {
        let mut entry = archive
            .by_name(name)
            .map_err(|e| read_error(zip_path, format!("{name}: {e}")))?;
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| read_error(zip_path, format!("{name}: {e}")))?;
        Ok(text)
    };
    let skills = read("skills_en.csv")?;
    let hierarchy = read("skillsHierarchy_en.csv")?;
    let groups = read("skillGroups_en.csv")?;
    let mut collections = Vec::new();
    for name in COLLECTIONS {
        collections.push(read(name)?);
    }
    let bad = |e: String| read_error(zip_path, e);
    let mut concepts = parse_skills_csv(&skills).map_err(bad)?;
    concepts.extend(parse_groups(&hierarchy, &groups).map_err(bad)?);
    let mut broader = BTreeMap::new();
    for text in &collections {
        parse_collection(text, &mut broader).map_err(bad)?;
    }
    for concept in &mut concepts {
        if let Some(refs) = broader.get(&concept.reference) {
            concept.broader = refs.iter().cloned().collect();
        }
    }
    concepts.sort_by(|a, b| a.reference.cmp(&b.reference));
    let mut ids = BTreeSet::new();
    for c in &concepts {
        if !ids.insert(c.id()) {
            return Err(bad(format!("two concepts share the short id {}", c.id())));
        }
    }
    Ok(concepts)
}

/// The skill collections of the download, whose rows name each skill's broader concept.
const COLLECTIONS: &[&str] = &[
    "digCompSkillsCollection_en.csv",
    "digitalSkillsCollection_en.csv",
    "greenSkillsCollection_en.csv",
    "languageSkillsCollection_en.csv",
    "researchSkillsCollection_en.csv",
    "transversalSkillsCollection_en.csv",
];

fn split_labels(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split('\n')
        .map(|l| l.trim().replace(['\t', '|'], " "))
        .filter(|l| !l.is_empty())
}

/// Cell `i` of a row, empty when the row is shorter.
fn cell(row: &csv::StringRecord, i: usize) -> &str {
    row.get(i).unwrap_or_default()
}

/// A CSV reader that accepts rows shorter than the header (the hierarchy's are).
fn csv_reader(text: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).from_reader(text)
}

fn columns<const N: usize>(
    reader: &mut csv::Reader<&[u8]>,
    file: &str,
    names: [&str; N],
) -> std::result::Result<[usize; N], String> {
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{file} has no `{name}` column"))?;
    }
    Ok(out)
}

/// Parses ESCO's `skills_en.csv`: the released concepts, without broader relations.
pub fn parse_skills_csv(text: &str) -> std::result::Result<Vec<Concept>, String> {
    let mut reader = csv_reader(text.as_bytes());
    let [uri, kind, status, preferred, alt, hidden] = columns(
        &mut reader,
        "skills_en.csv",
        [
            "conceptUri",
            "skillType",
            "status",
            "preferredLabel",
            "altLabels",
            "hiddenLabels",
        ],
    )?;
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        if cell(&row, status) != "released" {
            continue;
        }
        let Some(reference) = reference_of(cell(&row, uri)) else {
            continue;
        };
        let label = cell(&row, preferred).trim().to_string();
        if label.is_empty() {
            continue;
        }
        let mut synonyms: Vec<String> = split_labels(cell(&row, alt))
            .chain(split_labels(cell(&row, hidden)))
            .filter(|s| !s.eq_ignore_ascii_case(&label))
            .collect();
        synonyms.sort();
        synonyms.dedup();
        let kind = if cell(&row, kind).starts_with("knowledge") {
            "knowledge"
        } else {
            "skill"
        };
        out.push(Concept {
            reference,
            kind: kind.into(),
            label,
            synonyms,
            broader: Vec::new(),
        });
    }
    Ok(out)
}

/// Parses the skill groups: their tree from `skillsHierarchy_en.csv` (each row a path of up to
/// four levels, the row's group the deepest), their other labels from `skillGroups_en.csv`.
pub fn parse_groups(hierarchy: &str, groups: &str) -> std::result::Result<Vec<Concept>, String> {
    let mut alternatives: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut reader = csv_reader(groups.as_bytes());
    let [uri, alt, hidden] = columns(
        &mut reader,
        "skillGroups_en.csv",
        ["conceptUri", "altLabels", "hiddenLabels"],
    )?;
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        if let Some(reference) = reference_of(cell(&row, uri)) {
            let labels = split_labels(cell(&row, alt))
                .chain(split_labels(cell(&row, hidden)))
                .collect();
            alternatives.insert(reference, labels);
        }
    }
    let mut reader = csv_reader(hierarchy.as_bytes());
    let levels = columns(
        &mut reader,
        "skillsHierarchy_en.csv",
        [
            "Level 0 URI",
            "Level 0 preferred term",
            "Level 1 URI",
            "Level 1 preferred term",
            "Level 2 URI",
            "Level 2 preferred term",
            "Level 3 URI",
            "Level 3 preferred term",
        ],
    )?;
    let mut out: BTreeMap<String, Concept> = BTreeMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        let mut parent: Option<String> = None;
        for level in levels.chunks(2) {
            let Some(reference) = row.get(level[0]).and_then(reference_of) else {
                break;
            };
            let label = row.get(level[1]).unwrap_or_default().trim().to_string();
            out.entry(reference.clone()).or_insert_with(|| {
                let mut synonyms: Vec<String> = alternatives
                    .get(&reference)
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.eq_ignore_ascii_case(&label))
                    .cloned()
                    .collect();
                synonyms.sort();
                synonyms.dedup();
                Concept {
                    reference: reference.clone(),
                    kind: "group".into(),
                    label,
                    synonyms,
                    broader: parent.iter().cloned().collect(),
                }
            });
            parent = Some(reference);
        }
    }
    Ok(out.into_values().collect())
}

/// Adds the broader concepts a skill collection names for its skills to `broader`.
pub fn parse_collection(
    text: &str,
    broader: &mut BTreeMap<String, BTreeSet<String>>,
) -> std::result::Result<(), String> {
    let mut reader = csv_reader(text.as_bytes());
    let [uri, parents] = columns(
        &mut reader,
        "a skill collection",
        ["conceptUri", "broaderConceptUri"],
    )?;
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        let Some(reference) = reference_of(cell(&row, uri)) else {
            continue;
        };
        for parent in cell(&row, parents).split('|').filter_map(reference_of) {
            broader.entry(reference.clone()).or_default().insert(parent);
        }
    }
    Ok(())
}

/// Writes concepts in the compact format.
pub fn write_compact(concepts: &[Concept], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "# ESCO v1.1.1 skills, knowledge and skill groups: ref, kind, label, other labels, broader refs."
    )?;
    writeln!(
        out,
        "# Made by `muster taxonomy import-esco`. This service uses the ESCO classification of the European Commission."
    )?;
    for c in concepts {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            c.reference,
            c.kind,
            c.label,
            c.synonyms.join("|"),
            c.broader.join("|")
        )?;
    }
    Ok(())
}

/// Reads the compact format.
pub fn parse_compact(text: &str) -> Vec<Concept> {
    let list = |cell: Option<&str>| -> Vec<String> {
        cell.unwrap_or("")
            .split('|')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let reference = parts.next()?.to_string();
            let kind = parts.next()?.to_string();
            let label = parts.next()?.to_string();
            Some(Concept {
                reference,
                kind,
                label,
                synonyms: list(parts.next()),
                broader: list(parts.next()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_csv_becomes_compact_concepts_with_uris_and_short_ids() {
        let csv = "conceptType,conceptUri,skillType,reuseLevel,preferredLabel,altLabels,hiddenLabels,status\n\
                   K,http://data.europa.eu/esco/skill/bbbbbbbb-1111-2222-3333-444444444444,knowledge,x,epidemiology,\"study of epidemics\nepidemiological science\",epidemology,released\n\
                   K,http://data.europa.eu/esco/skill/aaaaaaaa-1111-2222-3333-444444444444,skill/competence,x,use statistics,,,released\n\
                   K,http://data.europa.eu/esco/skill/cccccccc-1111-2222-3333-444444444444,skill/competence,x,old thing,,,obsolete\n";
        let mut concepts = parse_skills_csv(csv).unwrap();
        concepts.sort_by(|a, b| a.reference.cmp(&b.reference));
        assert_eq!(concepts.len(), 2);
        assert_eq!(concepts[0].id(), "esco-aaaaaaaa1111");
        assert_eq!(
            concepts[0].uri(),
            "http://data.europa.eu/esco/skill/aaaaaaaa-1111-2222-3333-444444444444"
        );
        assert_eq!(concepts[1].kind, "knowledge");
        assert_eq!(
            concepts[1].synonyms,
            vec![
                "epidemiological science",
                "epidemology",
                "study of epidemics"
            ]
        );
        concepts[1].broader = vec!["isced-f/0912".into()];
        let mut out = Vec::new();
        write_compact(&concepts, &mut out).unwrap();
        assert_eq!(parse_compact(&String::from_utf8(out).unwrap()), concepts);
    }

    #[test]
    fn groups_form_a_tree_and_collections_give_a_skills_broader_concept() {
        let hierarchy = "Level 0 URI,Level 0 preferred term,Level 1 URI,Level 1 preferred term,Level 2 URI,Level 2 preferred term,Level 3 URI,Level 3 preferred term\n\
            http://data.europa.eu/esco/skill/k,knowledge,,,,,,\n\
            http://data.europa.eu/esco/skill/k,knowledge,http://data.europa.eu/esco/isced-f/05,\"natural sciences, mathematics and statistics\",,,,\n\
            http://data.europa.eu/esco/skill/k,knowledge,http://data.europa.eu/esco/isced-f/05,\"natural sciences, mathematics and statistics\",http://data.europa.eu/esco/isced-f/054,mathematics and statistics,,\n";
        let groups = "conceptUri,altLabels,hiddenLabels\nhttp://data.europa.eu/esco/isced-f/054,maths and stats,\n";
        let groups = parse_groups(hierarchy, groups).unwrap();
        assert_eq!(groups.len(), 3);
        let maths = groups
            .iter()
            .find(|g| g.reference == "isced-f/054")
            .unwrap();
        assert_eq!(maths.broader, vec!["isced-f/05"]);
        assert_eq!(maths.synonyms, vec!["maths and stats"]);
        assert_eq!(maths.id(), "esco-isced-f-054");
        assert_eq!(maths.uri(), "http://data.europa.eu/esco/isced-f/054");
        let collection = "conceptUri,broaderConceptUri\nhttp://data.europa.eu/esco/skill/s1,http://data.europa.eu/esco/skill/s0 | http://data.europa.eu/esco/isced-f/054\n";
        let mut broader = BTreeMap::new();
        parse_collection(collection, &mut broader).unwrap();
        assert_eq!(
            broader["s1"].iter().collect::<Vec<_>>(),
            vec!["isced-f/054", "s0"]
        );
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
        assert!(concepts.len() > 14_000, "{}", concepts.len());
        assert!(concepts.iter().filter(|c| c.kind == "group").count() > 600);
        assert!(concepts.iter().filter(|c| !c.broader.is_empty()).count() > 2_500);
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
