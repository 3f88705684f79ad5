//! The contact sheet: a muster answer as CSV.

use serde_json::Value;
use time::Date;

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
    let get = |v: &Value, name: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let km = |d: Option<f64>| d.map(|d| format!("{d:.1}")).unwrap_or_default();
    let person = |role: &str, skills: String, c: &Candidate, notes: String| {
        [
            role.to_string(),
            skills,
            c.name.clone(),
            c.department.clone().unwrap_or_default(),
            get(&c.contact, "email"),
            get(&c.contact, "phone"),
            c.clearance_in_words(today),
            crate::model::Availability::parse(&get(&c.contact, "availability"))
                .map(|a| a.in_words().to_string())
                .unwrap_or_default(),
            String::new(),
            get(&c.contact, "town"),
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
        let contacts: Vec<&Value> = f.details["contact_details"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let joined = |name: &str| {
            contacts
                .iter()
                .map(|c| get(c, name))
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let access = get(&f.details, "access_clearance");
        let notes: Vec<String> = [get(&f.details, "establishment")]
            .into_iter()
            .chain(f.warning.clone())
            .filter(|n| !n.is_empty())
            .collect();
        [
            role.to_string(),
            f.covers.join("; "),
            f.name.clone(),
            f.department.clone().unwrap_or_default(),
            joined("email"),
            joined("phone"),
            if access.is_empty() {
                String::new()
            } else {
                format!("access needs {access}")
            },
            String::new(),
            f.status.to_string(),
            get(&f.details, "town"),
            km(f.distance_km),
            joined("name"),
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
