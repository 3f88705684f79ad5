//! One JSON object validated field by field as a member, case study or facility, naming the field
//! in every fault.

use serde_json::{Map, Value};

use crate::model::{
    Availability, CaseStudy, Clearance, Facility, FacilityStatus, Grade, GseCategory, Kind, Level,
    Location, Marking, Member, Record, SkillRecord, date_format, truncate,
};
use crate::reference::Reference;
use crate::{Error, Faults, Result};

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

pub(super) const MEMBER_FIELDS: &[&str] = &[
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
