//! Search parameters in, a validated [`SearchRequest`] out: the one function the JSON API, the
//! web pages, the command line and the benchmarks all build their searches with. Every fault
//! names its parameter; a filter is never dropped silently.

use std::collections::BTreeMap;

use time::Date;

use crate::access::Caller;
use crate::model::{Availability, Clearance, FacilityStatus, Grade, GseCategory, Kind, Level};
use crate::reference::Reference;
use crate::{Error, Result};

use super::request::{MAX_LIMIT, MAX_QUERY_CHARS, Near, SearchRequest, SortOrder};

/// The parameters a search of `kind` accepts (`None`: of every kind, as `/v1/search` does).
pub fn accepted_params(kind: Option<Kind>) -> &'static [&'static str] {
    // case studies have no location, so no distance parameters
    const CASE_STUDY: &[&str] = &["q", "skill", "department", "limit", "offset", "explain"];
    const EXPERT: &[&str] = &[
        "q",
        "skill",
        "min_level",
        "department",
        "clearance",
        "availability",
        "grade",
        "gse_category",
        "region",
        "registration",
        "near",
        "within_km",
        "sort",
        "limit",
        "offset",
        "explain",
    ];
    const FACILITY: &[&str] = &[
        "q",
        "skill",
        "department",
        "clearance",
        "region",
        "status",
        "near",
        "within_km",
        "sort",
        "limit",
        "offset",
        "explain",
    ];
    // every kind's: each kind takes its own from these
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    match kind {
        None => ALL.get_or_init(|| EXPERT.iter().copied().chain(["status"]).collect()),
        Some(Kind::Member) => EXPERT,
        Some(Kind::CaseStudy) => CASE_STUDY,
        Some(Kind::Facility) => FACILITY,
    }
}

const LIST_PARAMS: &[&str] = &[
    "skill",
    "department",
    "grade",
    "gse_category",
    "region",
    "registration",
    "status",
];

/// Splits a raw query string into decoded pairs, in order; checking them is the job of
/// [`parse_search`].
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Turns raw query pairs into a validated search of `kind` (`None`: all kinds, `/v1/search`).
pub fn parse_search(
    kind: Option<Kind>,
    pairs: &[(String, String)],
    caller: &Caller,
    today: Date,
) -> Result<SearchRequest> {
    let allowed = accepted_params(kind);
    let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, value) in pairs {
        let Some(known) = allowed.iter().find(|a| **a == key.as_str()) else {
            let all = allowed.join(", ");
            return Err(Error::field(
                key,
                format!("unknown parameter (accepted: {all})"),
            ));
        };
        let value = value.trim();
        if value.is_empty() {
            if *known == "q" {
                // an empty search box means "everything"
                continue;
            }
            // `within_km=` is not a number: reject it rather than silently drop the filter
            // (the web form drops its empty fields before it gets here)
            return Err(Error::field(
                key,
                "is empty: give a value or leave the parameter out",
            ));
        }
        let list = values.entry(known).or_default();
        if !LIST_PARAMS.contains(known) && !list.is_empty() {
            return Err(Error::field(key, "given more than once"));
        }
        if list.len() >= 50 {
            return Err(Error::field(key, "given more than 50 times"));
        }
        list.push(value);
    }
    let one = |name: &str| values.get(name).and_then(|v| v.first().copied());
    let many = |name: &str| values.get(name).cloned().unwrap_or_default();
    // free-text values of a list parameter, each at most `max` characters
    let texts = |name: &str, max: usize| -> Result<Vec<String>> {
        many(name)
            .into_iter()
            .map(|v| match v.chars().count() > max {
                true => Err(Error::field(
                    name,
                    format!("is longer than {max} characters"),
                )),
                false => Ok(v.to_string()),
            })
            .collect()
    };
    let mut request = SearchRequest::new(kind.unwrap_or(Kind::Member), caller.max_marking, today);
    request.vetting = caller.vetting;

    if let Some(q) = one("q") {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::field(
                "q",
                format!("is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        request.text = Some(q.to_string());
    }
    request.filters.skills = texts("skill", 200)?;
    if let Some(level) = one("min_level") {
        if request.filters.skills.is_empty() {
            return Err(Error::field(
                "min_level",
                "applies to `skill`; give a skill too",
            ));
        }
        request.filters.min_level = Some(Level::parse_field(level, "min_level")?);
    }
    for dept in many("department") {
        let known = Reference::get().department(dept).ok_or_else(|| {
            Error::field(
                "department",
                format!("unknown department `{}`", crate::model::truncate(dept, 60)),
            )
        })?;
        request.filters.departments.push(known.abbr.clone());
    }
    if let Some(c) = one("clearance") {
        // a facility's access clearance is no one's secret; a person's is need-to-know
        if kind != Some(Kind::Facility) && !caller.vetting {
            return Err(Error::NotPermitted {
                field: "clearance".into(),
                reason: crate::access::VETTING_NEEDED.into(),
            });
        }
        request.filters.clearance = Some(Clearance::parse_field(c, "clearance")?);
    }
    if let Some(a) = one("availability") {
        request.filters.availability = Some(Availability::parse_field(a, "availability")?);
    }
    for g in many("grade") {
        request.filters.grades.push(Grade::parse_field(g, "grade")?);
    }
    for g in many("gse_category") {
        request
            .filters
            .gse_categories
            .push(GseCategory::parse_field(g, "gse_category")?);
    }
    request.filters.regions = texts("region", 100)?;
    for status in many("status") {
        request
            .filters
            .statuses
            .push(FacilityStatus::parse_field(status, "status")?);
    }
    request.filters.registrations = texts("registration", 50)?;
    let within_km = match one("within_km") {
        Some(w) => {
            let km: f64 = w.parse().map_err(|_| {
                Error::field(
                    "within_km",
                    format!("`{}` is not a number", crate::model::truncate(w, 30)),
                )
            })?;
            if !(km > 0.0 && km <= 2000.0) {
                return Err(Error::field(
                    "within_km",
                    "must be more than 0 and at most 2000",
                ));
            }
            Some(km)
        }
        None => None,
    };
    if let Some(near) = one("near") {
        let (lat, lon) = near
            .split_once(',')
            .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
            .ok_or_else(|| {
                Error::field(
                    "near",
                    "must be `lat,lon` in decimal degrees, e.g. 51.5,-0.12",
                )
            })?;
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
            return Err(Error::field(
                "near",
                "latitude must be within ±90 and longitude within ±180",
            ));
        }
        request.filters.near = Some(Near {
            lat,
            lon,
            within_km,
        });
    } else if within_km.is_some() {
        return Err(Error::field("within_km", "needs `near`"));
    }
    if let Some(sort) = one("sort") {
        request.sort = match sort {
            "relevance" => SortOrder::Relevance,
            "distance" if request.filters.near.is_some() => SortOrder::Distance,
            "distance" => return Err(Error::field("sort", "`distance` needs `near`")),
            other => {
                return Err(Error::field(
                    "sort",
                    format!(
                        "`{}` is not relevance or distance",
                        crate::model::truncate(other, 30)
                    ),
                ));
            }
        };
    }
    if let Some(limit) = one("limit") {
        request.limit = match limit.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(Error::field(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                ));
            }
        };
    }
    if let Some(offset) = one("offset") {
        request.offset = match offset.parse::<usize>() {
            Ok(n) if n <= 10_000 => n,
            _ => {
                return Err(Error::field(
                    "offset",
                    "must be a whole number from 0 to 10000",
                ));
            }
        };
    }
    if let Some(explain) = one("explain") {
        request.explain = match explain {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(Error::field("explain", "must be true or false")),
        };
    }
    Ok(request)
}
