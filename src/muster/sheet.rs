//! The contact sheet: a muster answer as CSV.

use time::Date;

use crate::shapes::PersonRef;
use crate::{Error, Result};

use super::answer::{Candidate, FacilityMatch, MusterAnswer};

/// Quotes a spreadsheet cell that would otherwise be read as a formula.
pub(super) fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The columns of the contact sheet.
pub(super) const SHEET_COLUMNS: [&str; 14] = [
    "role",
    "skills",
    "name",
    "department",
    "email",
    "phone",
    "clearance",
    "availability",
    "status",
    "town",
    "distance_km",
    "contacts",
    "id",
    "notes",
];

/// The answer as a contact sheet: the team, then alternates per skill, then usable facilities,
/// then closed ones (listed apart, so nobody relies on them). People's clearances say whether
/// they are in date; a facility's row names its contacts with their email and phone.
pub fn to_csv(answer: &MusterAnswer, today: Date) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [String; 14]| {
        let row: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.write_record(&row)
            .map_err(|e| Error::Io(std::io::Error::other(e)))
    };
    let km = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_default();
    let person = |role: &str, skills: String, c: &Candidate, notes: String| {
        [
            role.to_string(),
            skills,
            c.name.clone(),
            c.department.clone().unwrap_or_default(),
            c.contact.email.clone().unwrap_or_default(),
            c.contact.phone.clone().unwrap_or_default(),
            c.clearance_in_words(today),
            c.contact.availability.in_words().to_string(),
            String::new(),
            c.contact.town.clone().unwrap_or_default(),
            km(c.distance_km),
            String::new(),
            c.id.clone(),
            notes,
        ]
    };
    write(&mut out, SHEET_COLUMNS.map(String::from))?;
    for m in &answer.team {
        let skills: Vec<String> = m
            .covers
            .iter()
            .map(|c| format!("{} ({})", c.skill, c.level))
            .collect();
        let c = Candidate {
            id: m.id.clone(),
            name: m.name.clone(),
            department: m.department.clone(),
            level: 0,
            score: 0.0,
            distance_km: m.distance_km,
            contact: m.contact.clone(),
            evidence: Vec::new(),
        };
        write(
            &mut out,
            person("team", skills.join("; "), &c, m.why.clone()),
        )?;
    }
    for a in &answer.alternates {
        for c in &a.members {
            let skills = format!("{} ({})", a.skill, c.level);
            write(&mut out, person("alternate", skills, c, String::new()))?;
        }
    }
    let facility = |role: &str, f: &FacilityMatch| {
        let joined = |each: fn(&PersonRef) -> Option<&str>| {
            let values: Vec<&str> = f
                .details
                .contact_details
                .iter()
                .filter_map(each)
                .filter(|v| !v.is_empty())
                .collect();
            values.join("; ")
        };
        let notes: Vec<String> = f
            .details
            .establishment
            .iter()
            .cloned()
            .chain(f.warning.clone())
            .filter(|n| !n.is_empty())
            .collect();
        [
            role.to_string(),
            f.covers.join("; "),
            f.name.clone(),
            f.department.clone().unwrap_or_default(),
            joined(|p| p.email.as_deref()),
            joined(|p| p.phone.as_deref()),
            format!("access needs {}", f.details.access_clearance),
            String::new(),
            f.status.to_string(),
            f.details.town.clone().unwrap_or_default(),
            km(f.distance_km),
            joined(|p| Some(p.name.as_str())),
            f.id.clone(),
            notes.join("; "),
        ]
    };
    for f in &answer.facilities {
        write(&mut out, facility("facility", f))?;
    }
    for f in &answer.closed_facilities {
        write(&mut out, facility("closed facility", f))?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    String::from_utf8(bytes).map_err(|e| Error::Io(std::io::Error::other(e)))
}
