//! Deterministic synthetic data sets in the ingest format, for fixtures and benchmarks.
//!
//! The same seed and size always give byte-identical files (a fixed PRNG, a fixed "today", no
//! hash-map iteration). Members get realistic skill mixes for their department, clearances,
//! availability, grades, locations near their department's sites and registrations fitting their
//! discipline. Case studies are written by members whose skills fit the topic; a few members have
//! thin profiles and are visible only through the case studies they wrote. Facilities come from
//! the reference data of the 26 establishments and their 89 facilities.
//! Output streams to disk, so a million members need little memory.

mod case_studies;
mod facilities;
mod files;
mod members;
mod rng;
#[cfg(test)]
mod tests;
mod vocabulary;

pub use members::member_id;
pub use rng::Rng;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::generate::case_studies::{Holders, case_study_from_topic};
use crate::generate::facilities::{FLAGSHIPS, facilities};
use crate::generate::files::{CSV_COLUMNS, csv_row, write_jsonl};
use crate::generate::members::{Ctx, member};
use crate::generate::vocabulary::PROFILES;
use crate::taxonomy::{ConceptKind, Taxonomy};
use crate::{Error, Result};

/// The date the generated data is "as of" (fixed, so output never depends on the clock).
pub const AS_OF: (i32, u8, u8) = (2026, 11, 1);

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Number of members.
    pub members: usize,
    /// Case studies per member (0.075 gives ~150 for 2,000 members).
    pub case_studies_per_member: f64,
    /// PRNG seed.
    pub seed: u64,
    /// Also write the members as `members.csv` (instead of `members.jsonl`).
    pub csv: bool,
    /// Where members' skills come from.
    pub skills: SkillSource,
}

/// Where generated members' skills come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SkillSource {
    /// Mixes fitting each department's profile, from the GSE framework and its cross-cutting
    /// skills, written as labels, lowercase or synonyms, sometimes with a free-text skill.
    #[default]
    Profiles,
    /// Two to five ESCO skills or knowledge concepts, drawn evenly from all 13,000-odd and written
    /// by their preferred labels: data like a department's import of ESCO-coded records, with
    /// the long tail of skills no profile covers.
    Esco,
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Members written.
    pub members: usize,
    /// Case studies written.
    pub case_studies: usize,
    /// Facilities written.
    pub facilities: usize,
}

/// The ESCO skills and knowledge concepts a member can hold by their preferred label, in the
/// taxonomy's order: those whose label names them (not the few whose label is also a framework
/// concept's synonym, which the label would name instead).
pub fn esco_concepts(taxonomy: &Taxonomy) -> Vec<usize> {
    taxonomy
        .nodes()
        .iter()
        .enumerate()
        .filter(|(i, n)| {
            matches!(n.kind, ConceptKind::EscoSkill | ConceptKind::EscoKnowledge)
                && taxonomy.lookup(&n.label) == Some(*i)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Writes `members.jsonl` (or `.csv`), `case_studies.jsonl` and `facilities.jsonl` into `out`.
pub fn generate(spec: &Spec, taxonomy: &Taxonomy, out: &Path) -> Result<Written> {
    std::fs::create_dir_all(out).map_err(|source| Error::Read {
        path: out.to_path_buf(),
        source,
    })?;
    let mut ctx = Ctx {
        rng: Rng::new(spec.seed),
        taxonomy,
        esco: (spec.skills == SkillSource::Esco).then(|| esco_concepts(taxonomy)),
    };
    let profiles: Vec<(usize, u32)> = PROFILES
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect();

    // Members stream to disk; only a small sketch of each stays in memory.
    let members_path = out.join(if spec.csv {
        "members.csv"
    } else {
        "members.jsonl"
    });
    let file = File::create(&members_path).map_err(|source| Error::Read {
        path: members_path.clone(),
        source,
    })?;
    let mut jsonl = (!spec.csv).then(|| BufWriter::new(file.try_clone().expect("file handle")));
    let mut csv = spec
        .csv
        .then(|| csv::Writer::from_writer(BufWriter::new(file)));
    if let Some(w) = csv.as_mut() {
        w.write_record(CSV_COLUMNS).map_err(std::io::Error::other)?;
    }
    let mut sketches = Vec::with_capacity(spec.members);
    let mut by_dept: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for n in 1..=spec.members {
        let profile = &PROFILES[ctx.rng.weighted(&profiles)];
        let (record, sketch) = member(&mut ctx, n, profile);
        if let Some(w) = jsonl.as_mut() {
            serde_json::to_writer(&mut *w, &record)?;
            w.write_all(b"\n")?;
        }
        if let Some(w) = csv.as_mut() {
            w.write_record(csv_row(&record))
                .map_err(std::io::Error::other)?;
        }
        by_dept
            .entry(profile.dept)
            .or_default()
            .push(sketch.id.clone());
        sketches.push(sketch);
    }
    if let Some(mut w) = jsonl {
        w.flush()?;
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }

    let facilities = facilities(&mut ctx.rng, &by_dept);
    let facility_count = write_jsonl(&out.join("facilities.jsonl"), facilities.iter().cloned())?;

    // Case studies: the flagships first, then author-only members' work, then the rest.
    let target = (spec.members as f64 * spec.case_studies_per_member).round() as usize;
    let mut studies: Vec<Value> = Vec::new();
    let holders = Holders::new(taxonomy, &sketches);
    for flagship in FLAGSHIPS {
        if sketches.is_empty() || studies.len() >= target.max(FLAGSHIPS.len()) {
            break;
        }
        let nodes: Vec<usize> = flagship
            .skills
            .iter()
            .filter_map(|s| taxonomy.lookup(s))
            .collect();
        let authors = holders.authors(
            &mut ctx.rng,
            &nodes,
            flagship.author_depts,
            flagship.author_depts.len(),
        );
        studies.push(json!({
            "id": flagship.id,
            "title": flagship.title,
            "summary": flagship.summary,
            "body": flagship.body,
            "date": flagship.date,
            "departments": flagship.departments,
            "authors": authors.iter().map(|&a| sketches[a].id.clone()).collect::<Vec<_>>(),
            "skills": flagship.skills,
            "facilities": flagship.facilities,
            "marking": flagship.marking.as_str(),
        }));
    }
    let author_only: Vec<usize> = (0..sketches.len())
        .filter(|&i| sketches[i].hidden_area.is_some())
        .collect();
    let mut number = 1;
    for &i in &author_only {
        let area = sketches[i].hidden_area.expect("filtered on hidden_area");
        for _ in 0..2 {
            if studies.len() >= target {
                break;
            }
            studies.push(case_study_from_topic(
                &mut ctx,
                number,
                &sketches,
                &holders,
                i,
                area,
                &facilities,
            ));
            number += 1;
        }
    }
    let with_skills: Vec<usize> = (0..sketches.len())
        .filter(|&i| !sketches[i].skills.is_empty())
        .collect();
    while studies.len() < target && !with_skills.is_empty() {
        let lead = *ctx.rng.pick(&with_skills);
        let area = ctx.rng.pick(&sketches[lead].skills).0;
        studies.push(case_study_from_topic(
            &mut ctx,
            number,
            &sketches,
            &holders,
            lead,
            area,
            &facilities,
        ));
        number += 1;
    }
    let case_studies = write_jsonl(&out.join("case_studies.jsonl"), studies)?;
    Ok(Written {
        members: spec.members,
        case_studies,
        facilities: facility_count,
    })
}
