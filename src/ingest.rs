//! Files in, validated records out, with a report of every line that was rejected and why.
//!
//! Reading streams line by line (a 1 GB file is never held in memory) and caps the length of a
//! line, so one bad line costs at most that much. Each line is validated field by field: a
//! rejection names the file, the line number, the field and the reason, and loading goes on.
//! Members are loaded first, then facilities, then case studies, so references between them
//! (authors, contacts, facilities used) can be checked: an unknown reference is reported and left
//! out, never invented.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{
    Availability, CaseStudy, Clearance, Facility, FacilityStatus, Grade, GseCategory, Kind, Level,
    Location, Marking, Member, Record, SkillRecord, date_format, truncate,
};
use crate::reference::Reference;
use crate::{Error, Faults, FieldFault, Result};

/// The longest line accepted, in bytes; longer lines are rejected without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// How many rejections and warnings a report keeps in full (all are counted).
pub const MAX_LISTED: usize = 10_000;

/// One input line that was not loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// File name.
    pub file: String,
    /// 1-based line number (for CSV, the line where the record starts).
    pub line: u64,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// Further fields at fault on the same line, when there are more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<FieldFault>,
}

/// Something worth knowing about a line that was still loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// File name.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What was noticed.
    pub message: String,
}

/// Counts for one input file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileSummary {
    /// File name.
    pub file: String,
    /// Lines (records) read, blank lines excluded.
    pub read: u64,
    /// Records accepted and passed to the index.
    pub indexed: u64,
    /// Accepted records whose id had been seen before: they replaced the earlier one.
    pub replaced: u64,
    /// Lines rejected.
    pub rejected: u64,
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One entry per file read.
    pub files: Vec<FileSummary>,
    /// Rejected lines (the first [`MAX_LISTED`]).
    pub rejections: Vec<Rejection>,
    /// Warnings (the first [`MAX_LISTED`]).
    pub warnings: Vec<Warning>,
    /// Total warnings, including those not listed.
    pub warning_count: u64,
    /// Free-text skills that named no concept, with how often each was seen.
    pub unmapped_skills: BTreeMap<String, u64>,
    /// Facility capabilities that named no concept, with how often each was seen.
    pub unmapped_capabilities: BTreeMap<String, u64>,
}

impl Report {
    /// Total lines rejected across files.
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }

    /// Total records accepted across files.
    pub fn indexed(&self) -> u64 {
        self.files.iter().map(|f| f.indexed).sum()
    }

    fn reject(&mut self, rejection: Rejection) {
        if let Some(summary) = self.files.last_mut() {
            summary.rejected += 1;
        }
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(rejection);
        }
    }

    fn warn(&mut self, file: &str, line: u64, message: String) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_LISTED {
            self.warnings.push(Warning {
                file: file.to_string(),
                line,
                message,
            });
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rejections {
            match &r.field {
                Some(field) => writeln!(
                    f,
                    "rejected {}:{}: field `{}`: {}",
                    r.file, r.line, field, r.reason
                )?,
                None => writeln!(f, "rejected {}:{}: {}", r.file, r.line, r.reason)?,
            }
            for more in &r.also {
                writeln!(
                    f,
                    "rejected {}:{}: field `{}`: {}",
                    r.file, r.line, more.field, more.reason
                )?;
            }
        }
        let listed = self.rejections.len() as u64;
        if self.rejected() > listed {
            writeln!(
                f,
                "... and {} more rejected lines",
                self.rejected() - listed
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "warning {}:{}: {}", w.file, w.line, w.message)?;
        }
        if self.warning_count > self.warnings.len() as u64 {
            writeln!(
                f,
                "... and {} more warnings",
                self.warning_count - self.warnings.len() as u64
            )?;
        }
        for (what, counts) in [
            ("skills", &self.unmapped_skills),
            ("capabilities", &self.unmapped_capabilities),
        ] {
            write_unmapped(f, what, counts)?;
        }
        for s in &self.files {
            writeln!(
                f,
                "{}: read {}, indexed {}, replaced {}, rejected {}",
                s.file, s.read, s.indexed, s.replaced, s.rejected
            )?;
        }
        let read: u64 = self.files.iter().map(|s| s.read).sum();
        let replaced: u64 = self.files.iter().map(|s| s.replaced).sum();
        write!(
            f,
            "total: read {read}, indexed {}, replaced {replaced}, rejected {}",
            self.indexed(),
            self.rejected()
        )
    }
}

/// Most free-text skills or capabilities named one by one in a report.
pub const MAX_UNMAPPED_LISTED: usize = 100;

/// The skills (or capabilities) that named no concept, most frequent first, so a data owner can
/// fix the vocabulary where it matters most.
fn write_unmapped(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    counts: &BTreeMap<String, u64>,
) -> fmt::Result {
    if counts.is_empty() {
        return Ok(());
    }
    let total: u64 = counts.values().sum();
    writeln!(
        f,
        "{} {what} ({total} mentions) named no concept of the taxonomy and are kept as free text:",
        counts.len()
    )?;
    let mut by_count: Vec<(&String, &u64)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (name, count) in by_count.iter().take(MAX_UNMAPPED_LISTED) {
        writeln!(f, "  {count:>6}  {name}")?;
    }
    if by_count.len() > MAX_UNMAPPED_LISTED {
        writeln!(f, "  ... and {} more", by_count.len() - MAX_UNMAPPED_LISTED)?;
    }
    Ok(())
}

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq)]
pub enum Line {
    /// A line of valid UTF-8, without its line ending.
    Text(String),
    /// A line longer than the limit; its length in bytes.
    TooLong(usize),
    /// A line that is not valid UTF-8; the byte offset of the first bad byte.
    NotUtf8(usize),
}

/// Reads lines with a length cap, numbering them from 1. Never holds more than the cap.
pub struct LineReader<R> {
    reader: BufReader<R>,
    number: u64,
    max: usize,
    buf: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    /// Wraps `reader`, capping lines at `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader: BufReader::with_capacity(64 * 1024, reader),
            number: 0,
            max,
            buf: Vec::new(),
        }
    }

    /// The next line and its number, or `None` at the end of the input.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line)>> {
        self.buf.clear();
        let mut length = 0usize;
        let mut saw_any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => (&chunk[..end], Some(end + 1)),
                None => (chunk, None),
            };
            length += part.len();
            if length <= self.max {
                self.buf.extend_from_slice(part);
            }
            let consumed = done.unwrap_or(part.len());
            self.reader.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if length > self.max {
            return Ok(Some((self.number, Line::TooLong(length))));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let bytes = std::mem::take(&mut self.buf);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Some((self.number, Line::Text(text)))),
            Err(e) => Ok(Some((
                self.number,
                Line::NotUtf8(e.utf8_error().valid_up_to()),
            ))),
        }
    }
}

/// Reads typed fields out of one JSON object, naming the field in every error.
struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v) => Some(v),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(Error::field(key, "must be a string")),
        }
    }

    fn required(&self, key: &str) -> Result<String> {
        self.string(key)?
            .ok_or_else(|| Error::field(key, "is required"))
    }

    fn list(&self, key: &str) -> Result<Vec<String>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut faults = Faults::default();
                let list = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.trim().to_string()),
                        _ => {
                            faults.note(Error::field(format!("{key}[{i}]"), "must be a string"));
                            None
                        }
                    })
                    .filter(|s| !s.is_empty())
                    .collect();
                faults.finish().map(|()| list)
            }
            Some(_) => Err(Error::field(key, "must be a list of strings")),
        }
    }

    fn date(&self, key: &str) -> Result<Option<time::Date>> {
        self.string(key)?
            .map(|s| date_format::parse(&s, key))
            .transpose()
    }

    fn location(&self, key: &str) -> Result<Option<Location>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Object(map) = value else {
            return Err(Error::field(
                key,
                "must be an object {town, region, lat, lon}",
            ));
        };
        let inner = Fields { map };
        let coordinate = |name: &str, limit: f64| -> Result<f64> {
            let field = format!("{key}.{name}");
            let value = match inner.get(name) {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                None => return Err(Error::field(field, "is required")),
                Some(_) => None,
            };
            match value {
                Some(v) if v.is_finite() && v.abs() <= limit => Ok(v),
                _ => Err(Error::field(
                    field,
                    format!("must be a number between -{limit} and {limit}"),
                )),
            }
        };
        let text = |name: &str| {
            inner
                .string(name)
                .map_err(|_| Error::field(format!("{key}.{name}"), "must be a string"))
        };
        let mut faults = Faults::default();
        let location = Location {
            town: faults.check(text("town")),
            region: faults.check(text("region")),
            lat: faults.check(coordinate("lat", 90.0)),
            lon: faults.check(coordinate("lon", 180.0)),
        };
        faults.finish().map(|()| Some(location))
    }

    fn unknown(&self, known: &[&str]) -> Vec<String> {
        self.map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

fn parse_enum<T>(
    fields: &Fields<'_>,
    key: &str,
    parse: fn(&str, &str) -> Result<T>,
) -> Result<Option<T>> {
    fields.string(key)?.map(|s| parse(&s, key)).transpose()
}

/// Checks an id against `[A-Za-z0-9._-]{1,64}`.
pub fn validate_id(id: &str, field: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::field(
            field,
            format!(
                "`{}` must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
                truncate(id, 70)
            ),
        ))
    }
}

fn department(fields: &Fields<'_>, key: &str, required: bool) -> Result<Option<String>> {
    let value = if required {
        Some(fields.required(key)?)
    } else {
        fields.string(key)?
    };
    value
        .map(|name| canonical_department(&name, key))
        .transpose()
}

fn canonical_department(name: &str, field: &str) -> Result<String> {
    Reference::get()
        .department(name)
        .map(|d| d.abbr.clone())
        .ok_or_else(|| {
            Error::field(
                field,
                format!(
                    "unknown department `{}`: give the short name of one Muster knows ({})",
                    truncate(name, 60),
                    Reference::get().department_names().join(", ")
                ),
            )
        })
}

/// The parent to record: the reference parent when there is one, otherwise the one given.
fn parent_of(department: Option<&str>, given: Option<String>) -> Option<String> {
    department
        .and_then(|d| Reference::get().department(d))
        .and_then(|d| d.parent.clone())
        .or(given)
}

fn parse_skill(value: &Value, index: usize) -> Result<SkillRecord> {
    let field = |name: &str| format!("skills[{index}].{name}");
    let (name, level, assessed) = match value {
        Value::String(text) => {
            let (name, level, assessed) = split_skill_pair(text, index)?;
            (name, level, assessed)
        }
        Value::Object(map) => {
            let f = Fields { map };
            let mut faults = Faults::default();
            let name = faults.check(
                f.string("name")
                    .map_err(|_| Error::field(field("name"), "must be a string"))
                    .and_then(|n| n.ok_or_else(|| Error::field(field("name"), "is required"))),
            );
            let level = faults.check(
                f.string("level")
                    .map_err(|_| {
                        Error::field(
                            field("level"),
                            "must be 1-4 or awareness, working, practitioner, expert",
                        )
                    })
                    .and_then(|l| l.ok_or_else(|| Error::field(field("level"), "is required"))),
            );
            let assessed = faults.check(
                f.string("assessed")
                    .map_err(|_| Error::field(field("assessed"), "must be a date")),
            );
            faults.finish()?;
            (name, level, assessed)
        }
        _ => {
            return Err(Error::field(
                format!("skills[{index}]"),
                "must be an object {name, level, assessed}",
            ));
        }
    };
    let mut faults = Faults::default();
    if name.chars().count() > 200 {
        faults.note(Error::field(field("name"), "is longer than 200 characters"));
    }
    let level = Level::parse_field(&level, &field("level")).map_err(|e| faults.note(e));
    let assessed = faults.check(
        assessed
            .map(|a| date_format::parse(&a, &field("assessed")))
            .transpose(),
    );
    faults.finish()?;
    Ok(SkillRecord {
        name,
        level: level.map_err(|()| Error::field(field("level"), "is required"))?,
        assessed,
    })
}

/// Splits a CSV skill `name:level[:assessed]`.
fn split_skill_pair(text: &str, index: usize) -> Result<(String, String, Option<String>)> {
    let mut parts: Vec<&str> = text.split(':').map(str::trim).collect();
    let assessed = match parts.last() {
        Some(last) if parts.len() >= 3 && last.len() == 10 && last.as_bytes()[4] == b'-' => {
            parts.pop().map(String::from)
        }
        _ => None,
    };
    if parts.len() < 2 {
        return Err(Error::field(
            format!("skills[{index}]"),
            format!("`{}` must be written name:level", truncate(text, 60)),
        ));
    }
    let level = parts.pop().unwrap_or_default().to_string();
    Ok((parts.join(":"), level, assessed))
}

const MEMBER_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "department",
    "parent_department",
    "role",
    "grade",
    "gse_category",
    "clearance",
    "clearance_review_due",
    "availability",
    "location",
    "skills",
    "registrations",
    "summary",
    "updated",
    "marking",
];

const CASE_STUDY_FIELDS: &[&str] = &[
    "id",
    "title",
    "summary",
    "body",
    "date",
    "departments",
    "authors",
    "skills",
    "facilities",
    "marking",
];

const FACILITY_FIELDS: &[&str] = &[
    "id",
    "name",
    "establishment",
    "department",
    "parent_department",
    "description",
    "capabilities",
    "location",
    "access_clearance",
    "contacts",
    "status",
    "marking",
];

/// A parsed record and the names of fields it carried that Muster does not know.
pub struct Parsed<T> {
    /// The record.
    pub record: T,
    /// Unknown field names, ignored.
    pub unknown_fields: Vec<String>,
}

fn parsed<T>(record: T, fields: &Fields<'_>, known: &[&str]) -> Parsed<T> {
    Parsed {
        record,
        unknown_fields: fields.unknown(known),
    }
}

fn text_limit(value: Option<String>, field: &str, max_chars: usize) -> Result<Option<String>> {
    match value {
        Some(v) if v.chars().count() > max_chars => Err(Error::field(
            field,
            format!("is longer than {max_chars} characters"),
        )),
        other => Ok(other),
    }
}

/// The two fields every record must have: a valid `id`, and a name (`name_key`: `name` or
/// `title`) of at most `max_chars` characters. Faults are noted; placeholders stand in.
fn id_and_name(
    f: &Fields<'_>,
    faults: &mut Faults,
    name_key: &str,
    max_chars: usize,
) -> (String, String) {
    let id = faults.check(
        f.required("id")
            .and_then(|id| validate_id(&id, "id").map(|()| id)),
    );
    let name = faults.check(
        f.required(name_key)
            .and_then(|name| text_limit(Some(name), name_key, max_chars)),
    );
    (id, name.unwrap_or_default())
}

/// Validates one member object, reporting every field at fault.
pub fn parse_member(map: &Map<String, Value>) -> Result<Parsed<Member>> {
    let f = Fields { map };
    let mut faults = Faults::default();
    let (id, name) = id_and_name(&f, &mut faults, "name", 200);
    let department = faults.check(department(&f, "department", true));
    let given_parent = faults.check(department_opt(&f, "parent_department"));
    let email = faults.check(f.string("email").and_then(|email| match email {
        Some(email) if !email.contains('@') || email.contains(char::is_whitespace) => {
            Err(Error::field(
                "email",
                format!("`{}` is not an email address", truncate(&email, 60)),
            ))
        }
        other => Ok(other),
    }));
    let phone = faults.check(f.string("phone").and_then(|phone| match phone {
        Some(phone) if !is_phone_number(&phone) => Err(Error::field(
            "phone",
            format!(
                "`{}` is not a telephone number (digits, spaces and + ( ) - only)",
                truncate(&phone, 40)
            ),
        )),
        other => Ok(other),
    }));
    let skills = match f.get("skills") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| parse_skill(v, i).map_err(|e| faults.note(e)).ok())
            .collect(),
        Some(_) => {
            faults.note(Error::field(
                "skills",
                "must be a list of {name, level, assessed}",
            ));
            Vec::new()
        }
    };
    let member = Member {
        parent_department: parent_of(department.as_deref(), given_parent),
        id,
        name,
        email,
        phone,
        department: department.unwrap_or_default(),
        role: faults.check(f.string("role").and_then(|r| text_limit(r, "role", 200))),
        grade: faults.check(parse_enum(&f, "grade", Grade::parse_field)),
        gse_category: faults.check(parse_enum(&f, "gse_category", GseCategory::parse_field)),
        clearance: faults
            .check(parse_enum(&f, "clearance", Clearance::parse_field))
            .unwrap_or(Clearance::None),
        clearance_review_due: faults.check(f.date("clearance_review_due")),
        availability: faults
            .check(parse_enum(&f, "availability", Availability::parse_field))
            .unwrap_or(Availability::Unavailable),
        location: faults.check(f.location("location")),
        skills,
        registrations: faults.check(f.list("registrations")),
        summary: faults.check(
            f.string("summary")
                .and_then(|s| text_limit(s, "summary", 20_000)),
        ),
        updated: faults.check(f.date("updated")),
        marking: faults
            .check(parse_enum(&f, "marking", Marking::parse_field))
            .unwrap_or(Marking::Official),
    };
    faults.finish()?;
    Ok(parsed(member, &f, MEMBER_FIELDS))
}

/// A telephone number as people write one: 6-20 digits, with spaces and `+ ( ) - .`.
fn is_phone_number(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = |c: char| c.is_ascii_digit() || " +()-.".contains(c);
    (6..=20).contains(&digits) && phone.chars().all(allowed)
}

fn department_opt(f: &Fields<'_>, key: &str) -> Result<Option<String>> {
    department(f, key, false)
}

/// Validates one case study object, reporting every field at fault.
pub fn parse_case_study(map: &Map<String, Value>) -> Result<Parsed<CaseStudy>> {
    let f = Fields { map };
    let mut faults = Faults::default();
    let (id, title) = id_and_name(&f, &mut faults, "title", 500);
    let departments = faults
        .check(f.list("departments"))
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            canonical_department(d, &format!("departments[{i}]"))
                .map_err(|e| faults.note(e))
                .ok()
        })
        .collect();
    let authors = faults.check(f.list("authors"));
    for (i, a) in authors.iter().enumerate() {
        faults.check(validate_id(a, &format!("authors[{i}]")));
    }
    let case_study = CaseStudy {
        id,
        title,
        summary: faults.check(
            f.string("summary")
                .and_then(|s| text_limit(s, "summary", 20_000)),
        ),
        body: faults.check(
            f.string("body")
                .and_then(|s| text_limit(s, "body", 200_000)),
        ),
        date: faults.check(f.date("date")),
        departments,
        authors,
        skills: faults.check(f.list("skills")),
        facilities: faults.check(f.list("facilities")),
        marking: faults
            .check(parse_enum(&f, "marking", Marking::parse_field))
            .unwrap_or(Marking::Official),
    };
    faults.finish()?;
    Ok(parsed(case_study, &f, CASE_STUDY_FIELDS))
}

/// Validates one facility object, reporting every field at fault.
pub fn parse_facility(map: &Map<String, Value>) -> Result<Parsed<Facility>> {
    let f = Fields { map };
    let mut faults = Faults::default();
    let (id, name) = id_and_name(&f, &mut faults, "name", 500);
    let department = faults.check(department(&f, "department", false));
    let given_parent = faults.check(department_opt(&f, "parent_department"));
    let facility = Facility {
        parent_department: parent_of(department.as_deref(), given_parent),
        id,
        name,
        establishment: faults.check(f.string("establishment")),
        department,
        description: faults.check(
            f.string("description")
                .and_then(|s| text_limit(s, "description", 20_000)),
        ),
        capabilities: faults.check(f.list("capabilities")),
        location: faults.check(f.location("location")),
        access_clearance: faults
            .check(parse_enum(&f, "access_clearance", Clearance::parse_field))
            .unwrap_or(Clearance::None),
        contacts: faults.check(f.list("contacts")),
        status: faults
            .check(parse_enum(&f, "status", FacilityStatus::parse_field))
            .unwrap_or(FacilityStatus::Operational),
        marking: faults
            .check(parse_enum(&f, "marking", Marking::parse_field))
            .unwrap_or(Marking::Official),
    };
    faults.finish()?;
    Ok(parsed(facility, &f, FACILITY_FIELDS))
}

/// Parses one JSON line into a record of `kind`.
pub fn parse_json_line(kind: Kind, line: &str) -> Result<Parsed<Record>> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| Error::InvalidRecord(format!("not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Error::InvalidRecord(
            "a record must be a JSON object".into(),
        ));
    };
    parse_object(kind, &map)
}

/// Validates a JSON object as a record of `kind`.
pub fn parse_object(kind: Kind, map: &Map<String, Value>) -> Result<Parsed<Record>> {
    Ok(match kind {
        Kind::Member => {
            let p = parse_member(map)?;
            Parsed {
                record: Record::Member(p.record),
                unknown_fields: p.unknown_fields,
            }
        }
        Kind::CaseStudy => {
            let p = parse_case_study(map)?;
            Parsed {
                record: Record::CaseStudy(p.record),
                unknown_fields: p.unknown_fields,
            }
        }
        Kind::Facility => {
            let p = parse_facility(map)?;
            Parsed {
                record: Record::Facility(p.record),
                unknown_fields: p.unknown_fields,
            }
        }
    })
}

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

/// Receives each accepted record. An error stops the load (it means the index failed).
pub type Sink<'a> = dyn FnMut(Record) -> Result<()> + 'a;

/// Loads every data file in `dir` into `sink` and reports what happened.
///
/// Reads `members.jsonl`, `members.csv`, `facilities.jsonl` and `case_studies.jsonl` when
/// present; a directory with none of them is an error, as is a missing directory.
pub fn load_dir(dir: &Path, sink: &mut Sink<'_>) -> Result<Report> {
    let meta = std::fs::metadata(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Read {
            path: dir.to_path_buf(),
            source: std::io::Error::other("not a directory"),
        });
    }
    let files: Vec<(PathBuf, Kind, bool)> = [
        ("members.jsonl", Kind::Member, false),
        ("members.csv", Kind::Member, true),
        ("facilities.jsonl", Kind::Facility, false),
        ("case_studies.jsonl", Kind::CaseStudy, false),
    ]
    .into_iter()
    .map(|(name, kind, csv)| (dir.join(name), kind, csv))
    .filter(|(path, _, _)| path.exists())
    .collect();
    if files.is_empty() {
        return Err(Error::Read {
            path: dir.to_path_buf(),
            source: std::io::Error::other(
                "no members.jsonl, members.csv, facilities.jsonl or case_studies.jsonl here",
            ),
        });
    }
    let mut loader = Loader::default();
    for (path, kind, is_csv) in files {
        if is_csv {
            loader.load_csv(&path, sink)?;
        } else {
            loader.load_jsonl(&path, kind, sink)?;
        }
    }
    Ok(loader.report)
}

/// Says whether a record of this kind and id already exists elsewhere (in the index), as far
/// as the one loading may know: the write API answers for what the caller may see.
pub type Known = dyn Fn(Kind, &str) -> bool + Send;

/// Refuses an otherwise valid record for a reason of the caller's (the write API refuses
/// markings above the token's); the error names the field.
pub type Guard = dyn Fn(&Record) -> Result<()> + Send;

/// Loads files one after another, remembering ids so references can be checked.
#[derive(Default)]
pub struct Loader {
    /// The report so far.
    pub report: Report,
    /// Records that exist outside this load (the write API loads into a live index).
    pub known: Option<Box<Known>>,
    /// Checked on each valid record before it is accepted.
    pub guard: Option<Box<Guard>>,
    members: HashSet<String>,
    facilities: HashSet<String>,
    case_studies: HashSet<String>,
    unknown_fields: BTreeMap<String, (u64, String, u64)>,
}

impl Loader {
    /// Loads one JSON Lines file of `kind`.
    pub fn load_jsonl(&mut self, path: &Path, kind: Kind, sink: &mut Sink<'_>) -> Result<()> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_jsonl_from(file, &file_name(path), kind, sink)
            .map_err(|e| match e {
                Error::Read { source, .. } => Error::Read {
                    path: path.to_path_buf(),
                    source,
                },
                other => other,
            })
    }

    /// Loads JSON Lines of `kind` from any reader (a file, a request body), reported as `name`.
    pub fn load_jsonl_from(
        &mut self,
        reader: impl std::io::Read,
        name: &str,
        kind: Kind,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        self.start_file(name);
        let mut lines = LineReader::new(reader, MAX_LINE_BYTES);
        while let Some((number, line)) = lines.next_line().map_err(|source| Error::Read {
            path: PathBuf::from(name),
            source,
        })? {
            let text = match line {
                Line::Text(text) => text,
                Line::TooLong(len) => {
                    self.count_read();
                    self.reject(
                        name,
                        number,
                        None,
                        format!("line is {len} bytes, longer than the {MAX_LINE_BYTES}-byte limit"),
                    );
                    continue;
                }
                Line::NotUtf8(at) => {
                    self.count_read();
                    self.reject(
                        name,
                        number,
                        None,
                        format!("not valid UTF-8 (bad byte at column {})", at + 1),
                    );
                    continue;
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            self.count_read();
            match parse_json_line(kind, &text) {
                Ok(parsed) => self.accept(name, number, parsed, sink)?,
                Err(e) => self.reject_error(name, number, e),
            }
        }
        self.finish_file();
        Ok(())
    }

    /// Loads one members CSV file.
    pub fn load_csv(&mut self, path: &Path, sink: &mut Sink<'_>) -> Result<()> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = file_name(path);
        self.start_file(&name);
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let headers: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => {
                self.reject(&name, 1, None, format!("cannot read the header row: {e}"));
                self.finish_file();
                return Ok(());
            }
        };
        if headers.iter().all(|h| h.is_empty()) {
            // an empty file: nothing to load, nothing lost
            self.finish_file();
            return Ok(());
        }
        for required in ["id", "name", "department"] {
            if !headers.iter().any(|h| h == required) {
                self.reject(
                    &name,
                    1,
                    Some(required.to_string()),
                    format!(
                        "the header row has no `{required}` column (found: {})",
                        truncate(&headers.join(", "), 200)
                    ),
                );
                self.finish_file();
                return Ok(());
            }
        }
        let mut row = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut row) {
                Ok(false) => break,
                Ok(true) => {
                    let line = row.position().map(|p| p.line()).unwrap_or(line);
                    self.count_read();
                    if row.len() != headers.len() {
                        self.reject(
                            &name,
                            line,
                            None,
                            format!(
                                "has {} columns, the header has {}",
                                row.len(),
                                headers.len()
                            ),
                        );
                        continue;
                    }
                    let map = csv_row_to_object(&headers, &row);
                    match parse_object(Kind::Member, &map) {
                        Ok(parsed) => self.accept(&name, line, parsed, sink)?,
                        Err(e) => self.reject_error(&name, line, e),
                    }
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(line);
                    self.count_read();
                    let reason = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
                        _ => format!("cannot parse CSV: {e}"),
                    };
                    self.reject(&name, line, None, reason);
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                }
            }
        }
        self.finish_file();
        Ok(())
    }

    fn start_file(&mut self, name: &str) {
        self.report.files.push(FileSummary {
            file: name.to_string(),
            ..FileSummary::default()
        });
    }

    fn finish_file(&mut self) {
        for (field, (count, file, line)) in std::mem::take(&mut self.unknown_fields) {
            let lines = if count == 1 {
                "line".to_string()
            } else {
                format!("{count} lines")
            };
            self.report.warn(
                &file,
                line,
                format!("unknown field `{field}` ignored ({lines}, first here)"),
            );
        }
    }

    fn count_read(&mut self) {
        if let Some(s) = self.report.files.last_mut() {
            s.read += 1;
        }
    }

    fn reject(&mut self, file: &str, line: u64, field: Option<String>, reason: String) {
        self.report.reject(Rejection {
            file: file.to_string(),
            line,
            field,
            reason,
            also: Vec::new(),
        });
    }

    fn reject_error(&mut self, file: &str, line: u64, error: Error) {
        match error {
            Error::InvalidField { field, reason } => self.reject(file, line, Some(field), reason),
            Error::InvalidFields(mut faults) if !faults.is_empty() => {
                let first = faults.remove(0);
                self.report.reject(Rejection {
                    file: file.to_string(),
                    line,
                    field: Some(first.field),
                    reason: first.reason,
                    also: faults,
                });
            }
            Error::InvalidRecord(reason) => self.reject(file, line, None, reason),
            other => self.reject(file, line, None, other.to_string()),
        }
    }

    fn accept(
        &mut self,
        file: &str,
        line: u64,
        parsed: Parsed<Record>,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        for field in parsed.unknown_fields {
            let entry = self
                .unknown_fields
                .entry(field)
                .or_insert((0, file.to_string(), line));
            entry.0 += 1;
        }
        let mut record = parsed.record;
        if let Some(Err(refused)) = self.guard.as_ref().map(|guard| guard(&record)) {
            self.reject_error(file, line, refused);
            return Ok(());
        }
        self.check_references(file, line, &mut record);
        let id = record.id().to_string();
        let seen = match record.kind() {
            Kind::Member => &mut self.members,
            Kind::CaseStudy => &mut self.case_studies,
            Kind::Facility => &mut self.facilities,
        };
        let replaced = !seen.insert(id.clone());
        if replaced {
            self.report.warn(
                file,
                line,
                format!("id `{id}` appeared earlier; this line replaces it"),
            );
        }
        sink(record)?;
        if let Some(s) = self.report.files.last_mut() {
            s.indexed += 1;
            if replaced {
                s.replaced += 1;
            }
        }
        Ok(())
    }

    fn exists(&self, kind: Kind, id: &str) -> bool {
        self.known.as_ref().is_some_and(|known| known(kind, id))
    }

    /// Drops references to members or facilities that were not loaded, reporting each.
    fn check_references(&mut self, file: &str, line: u64, record: &mut Record) {
        let mut missing = Vec::new();
        match record {
            Record::Member(_) => {}
            Record::CaseStudy(cs) => {
                cs.authors.retain(|a| {
                    let known = self.members.contains(a) || self.exists(Kind::Member, a);
                    if !known {
                        missing.push(format!("author `{a}` is not a known member; left out"));
                    }
                    known
                });
                if !self.facilities.is_empty() || self.known.is_some() {
                    cs.facilities.retain(|f| {
                        let known = self.facilities.contains(f) || self.exists(Kind::Facility, f);
                        if !known {
                            missing
                                .push(format!("facility `{f}` is not a known facility; left out"));
                        }
                        known
                    });
                }
            }
            Record::Facility(fac) => {
                fac.contacts.retain(|c| {
                    let known = self.members.contains(c) || self.exists(Kind::Member, c);
                    if !known {
                        missing.push(format!("contact `{c}` is not a known member; left out"));
                    }
                    known
                });
            }
        }
        for message in missing {
            self.report.warn(file, line, message);
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> (Report, Vec<Record>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut records = Vec::new();
        let report = load_dir(dir.path(), &mut |r| {
            records.push(r);
            Ok(())
        })
        .unwrap();
        (report, records)
    }

    const GOOD: &str = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","clearance":"SC","availability":"24h","skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-10"}]}"#;

    #[test]
    fn bad_lines_are_reported_with_line_and_field_and_the_rest_loads() {
        let text = [
            GOOD,
            r#"{"id":"m-2","name":"Broken""#,
            r#"{"id":"m-3","department":"Dstl"}"#,
            r#"{"id":"m-4","name":"Bad Level","department":"Dstl","skills":[{"name":"x","level":"guru"}]}"#,
            r#"{"id":"m-5","name":"Nowhere","department":"Ministry of Magic"}"#,
            "",
            r#"{"id":"m-6","name":"Fine","department":"UKHSA"}"#,
        ]
        .join("\n");
        let (report, records) = load(&[("members.jsonl", &text)]);
        assert_eq!(records.len(), 2);
        let got: Vec<(u64, Option<&str>)> = report
            .rejections
            .iter()
            .map(|r| (r.line, r.field.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, None),
                (3, Some("name")),
                (4, Some("skills[0].level")),
                (5, Some("department")),
            ]
        );
        assert!(report.rejections[0].reason.contains("not valid JSON"));
        assert!(report.rejections[3].reason.contains("Ministry of Magic"));
        // the message names what to give instead, not a file the user does not have
        assert!(report.rejections[3].reason.contains("Cefas, "));
        assert!(!report.rejections[3].reason.contains(".jsonl"));
        assert_eq!(report.files[0].read, 6);
        assert_eq!(report.files[0].indexed, 2);
        assert_eq!(report.files[0].rejected, 4);
    }

    #[test]
    fn every_fault_on_a_line_is_reported_not_only_the_first() {
        let line = r#"{"id":"m 7","department":"Ministry of Magic","email":"nobody","skills":[{"name":"Statistics","level":"guru"},{"name":"R","level":3,"assessed":"last week"}],"location":{"lat":91,"lon":"east"},"availability":"soon"}"#;
        let (report, records) = load(&[("members.jsonl", &format!("{line}\n{GOOD}\n"))]);
        assert_eq!(records.len(), 1, "the good line still loads");
        assert_eq!(report.files[0].rejected, 1, "one line, counted once");
        let rejection = &report.rejections[0];
        let fields: Vec<&str> = std::iter::once(rejection.field.as_deref().unwrap())
            .chain(rejection.also.iter().map(|f| f.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                "id",
                "name",
                "department",
                "email",
                "skills[0].level",
                "skills[1].assessed",
                "availability",
                "location.lat",
                "location.lon",
            ]
        );
        let printed = report.to_string();
        assert_eq!(
            printed.matches("rejected members.jsonl:1:").count(),
            9,
            "{printed}"
        );
    }

    #[test]
    fn duplicate_ids_keep_the_last_and_are_counted_as_replaced() {
        let second = GOOD.replace("Ada Lovelace", "Ada King");
        let (report, records) = load(&[("members.jsonl", &format!("{GOOD}\n{second}\n"))]);
        assert_eq!(report.files[0].replaced, 1);
        let Record::Member(last) = records.last().unwrap() else {
            panic!()
        };
        assert_eq!(last.name, "Ada King");
    }

    #[test]
    fn unknown_fields_are_a_warning_not_a_rejection() {
        let line = GOOD.replace("\"name\"", "\"shoe_size\":9,\"name\"");
        let (report, records) = load(&[("members.jsonl", &line)]);
        assert_eq!(records.len(), 1);
        assert_eq!(report.rejected(), 0);
        assert!(report.warnings[0].message.contains("shoe_size"));
    }

    #[test]
    fn parent_department_comes_from_the_reference_data() {
        let (_, records) = load(&[("members.jsonl", GOOD)]);
        let Record::Member(m) = &records[0] else {
            panic!()
        };
        assert_eq!(m.parent_department.as_deref(), Some("MOD"));
        assert_eq!(m.skills[0].level, Level::Expert);
    }

    #[test]
    fn unknown_author_is_reported_not_invented() {
        let cs = r#"{"id":"cs-1","title":"Modelling","authors":["m-1","m-404"]}"#;
        let (report, records) = load(&[("members.jsonl", GOOD), ("case_studies.jsonl", cs)]);
        let Record::CaseStudy(c) = &records[1] else {
            panic!()
        };
        assert_eq!(c.authors, vec!["m-1"]);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.message.contains("m-404") && w.line == 1)
        );
    }

    #[test]
    fn csv_members_parse_like_jsonl_members() {
        let csv = "id,name,department,clearance,availability,skills,registrations,town,region,lat,lon\n\
                   m-1,Ada Lovelace,Dstl,SC,24h,Bayesian statistics:4:2026-01-10;Epidemiology:working,CStat;CSci,Salisbury,South West,51.07,-1.79\n";
        let json = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","clearance":"SC","availability":"24h","skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-10"},{"name":"Epidemiology","level":"working"}],"registrations":["CStat","CSci"],"location":{"town":"Salisbury","region":"South West","lat":51.07,"lon":-1.79}}"#;
        let (_, from_csv) = load(&[("members.csv", csv)]);
        let (_, from_json) = load(&[("members.jsonl", json)]);
        assert_eq!(from_csv, from_json);
    }

    #[test]
    fn csv_with_a_wrong_header_names_the_missing_column() {
        let (report, records) = load(&[("members.csv", "ident,fullname\nm-1,Ada\n")]);
        assert!(records.is_empty());
        assert_eq!(report.rejections[0].field.as_deref(), Some("id"));
        assert_eq!(report.rejections[0].line, 1);
    }

    #[test]
    fn over_long_and_non_utf8_lines_are_rejected_alone() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"{\"id\":\"m-x\",\"name\":\"");
        bytes.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 10));
        bytes.extend_from_slice(b"\"}\n");
        bytes
            .extend_from_slice(b"{\"id\":\"m-y\",\"name\":\"\xff\xfe\",\"department\":\"Dstl\"}\n");
        bytes.extend_from_slice(GOOD.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("members.jsonl"), &bytes).unwrap();
        let mut count = 0;
        let report = load_dir(dir.path(), &mut |_| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 1);
        assert_eq!(report.rejections[0].line, 1);
        assert!(report.rejections[0].reason.contains("longer than"));
        assert_eq!(report.rejections[1].line, 2);
        assert!(report.rejections[1].reason.contains("UTF-8"));
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = load_dir(Path::new("/no/such/dir"), &mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }

    #[test]
    fn ids_outside_the_allowed_alphabet_are_rejected() {
        assert!(validate_id("m-0012", "id").is_ok());
        assert!(validate_id("a/b", "id").is_err());
        assert!(validate_id(&"x".repeat(65), "id").is_err());
        assert!(validate_id("", "id").is_err());
    }
}

/// Property tests: no input makes the record parser panic, and what it accepts round-trips.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const MEMBER: &str = r#"{"id":"m-1","name":"Ada Lovelace","department":"Dstl","role":"Statistician","grade":"G7","clearance":"SC","clearance_review_due":"2027-03-01","availability":"24h","location":{"town":"Porton Down","region":"South West","lat":51.13,"lon":-1.7},"skills":[{"name":"Bayesian statistics","level":4,"assessed":"2026-01-10"}],"registrations":["CStat"],"summary":"Models outbreaks.","marking":"OFFICIAL"}"#;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,40}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                    .prop_map(|m| { serde_json::Value::Object(m.into_iter().collect()) }),
            ]
        })
    }

    fn reparse(record: &Record) -> Record {
        let text = match record {
            Record::Member(m) => serde_json::to_string(m),
            Record::CaseStudy(c) => serde_json::to_string(c),
            Record::Facility(f) => serde_json::to_string(f),
        }
        .unwrap();
        parse_json_line(record.kind(), &text)
            .unwrap_or_else(|e| panic!("re-parsing {text}: {e}"))
            .record
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_line_is_parsed_or_rejected_never_a_panic(line in ".{0,300}") {
            for kind in [Kind::Member, Kind::CaseStudy, Kind::Facility] {
                let _ = parse_json_line(kind, &line);
            }
        }

        #[test]
        fn a_valid_member_with_one_field_replaced_parses_or_names_a_field_and_round_trips(
            field in prop::sample::select(MEMBER_FIELDS),
            value in json_value(),
        ) {
            let mut member: serde_json::Value = serde_json::from_str(MEMBER).unwrap();
            member[field] = value;
            let line = member.to_string();
            match parse_json_line(Kind::Member, &line) {
                Ok(parsed) => prop_assert_eq!(reparse(&parsed.record), parsed.record),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn any_bytes_in_a_data_file_are_reported_line_by_line_and_valid_lines_still_load(
            junk in prop::collection::vec(any::<u8>(), 0..2000),
            csv in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let name = if csv { "members.csv" } else { "members.jsonl" };
            std::fs::write(dir.path().join(name), &junk).unwrap();
            // a valid file beside it always loads in full
            std::fs::write(dir.path().join("facilities.jsonl"), format!(
                "{}\n",
                r#"{"id":"f-1","name":"Lab","department":"Dstl","capabilities":["CL3"]}"#
            )).unwrap();
            let mut kinds = Vec::new();
            let report = load_dir(dir.path(), &mut |r| { kinds.push(r.kind()); Ok(()) }).unwrap();
            prop_assert!(kinds.contains(&Kind::Facility));
            for rejection in &report.rejections {
                prop_assert!(rejection.line >= 1);
                prop_assert!(!rejection.reason.is_empty());
            }
        }
    }

    #[test]
    fn every_generated_record_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::generate::Spec {
            members: 300,
            case_studies_per_member: 0.2,
            seed: 11,
            csv: false,
        };
        crate::generate::generate(&spec, &crate::taxonomy::Taxonomy::builtin(), dir.path())
            .unwrap();
        let mut records = Vec::new();
        let report = load_dir(dir.path(), &mut |r| {
            records.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(report.rejected(), 0);
        assert!(records.len() > 300);
        for record in &records {
            assert_eq!(&reparse(record), record);
        }
    }

    #[test]
    fn a_truncated_file_an_empty_file_and_a_100_mb_line_lose_nothing_valid() {
        let dir = tempfile::tempdir().unwrap();
        // cut off mid-record, no final newline
        let truncated = format!("{MEMBER}\n{}", &MEMBER[..MEMBER.len() / 2]);
        std::fs::write(dir.path().join("members.jsonl"), truncated).unwrap();
        std::fs::write(dir.path().join("case_studies.jsonl"), "").unwrap();
        // one 100 MB line, then a good record
        let mut huge = Vec::with_capacity(101 << 20);
        huge.extend_from_slice(b"{\"id\":\"f-big\",\"name\":\"");
        huge.resize(100 << 20, b'x');
        huge.extend_from_slice(b"\"}\n");
        huge.extend_from_slice(
            br#"{"id":"f-1","name":"Lab","department":"Dstl","capabilities":["CL3"]}"#,
        );
        huge.push(b'\n');
        std::fs::write(dir.path().join("facilities.jsonl"), huge).unwrap();
        let mut ids = Vec::new();
        let report = load_dir(dir.path(), &mut |r| {
            ids.push(r.id().to_string());
            Ok(())
        })
        .unwrap();
        ids.sort();
        assert_eq!(ids, ["f-1", "m-1"]);
        let file_of = |r: &Rejection| r.file.clone();
        let truncated = report
            .rejections
            .iter()
            .find(|r| file_of(r).ends_with("members.jsonl"))
            .expect("the cut-off line is reported");
        assert_eq!(truncated.line, 2);
        let long = report
            .rejections
            .iter()
            .find(|r| file_of(r).ends_with("facilities.jsonl"))
            .expect("the 100 MB line is reported");
        assert_eq!(long.line, 1);
        assert!(long.reason.contains("longer than"), "{}", long.reason);
        assert_eq!(report.rejections.len(), 2, "{:?}", report.rejections);
    }
}
