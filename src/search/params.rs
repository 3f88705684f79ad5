//! Search parameters in, a validated [`SearchRequest`] out. The parameters are declared once
//! (`search_params!`): that gives the raw-value type [`SearchParams`] the JSON API, the web
//! pages, the command line and the benchmarks fill, its OpenAPI description, and the table of
//! which kinds take each. [`SearchParams::request`] is the one check of them. Every fault names
//! its parameter; a filter is never dropped silently.

use time::Date;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use crate::access::Caller;
use crate::model::{Availability, Clearance, FacilityStatus, Grade, GseCategory, Kind, Level};
use crate::reference::Reference;
use crate::{Error, Result};

use super::request::{
    FacetChoice, MAX_LIMIT, MAX_QUERY_CHARS, Near, SearchRequest, SortOrder, facet_fields,
};
use crate::schema::FacetName;

/// One search parameter: its name and the kinds of search that take it (whether it may be
/// repeated is its type's, `Slot::LIST`).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The name in a query string.
    pub name: &'static str,
    /// The kinds of search that take it.
    kinds: &'static [Kind],
}

impl Param {
    /// Whether a search of `kind` takes this parameter (`None`: any kind, as `/v1/search` does).
    pub fn taken_by(&self, kind: Option<Kind>) -> bool {
        kind.is_none_or(|k| self.kinds.contains(&k))
    }
}

/// How a parameter's raw values are held: one value, or a list of up to 50.
trait Slot {
    /// Repeatable (OR within the field).
    const LIST: bool;
    /// Values held.
    fn count(&self) -> usize;
    /// Adds a value.
    fn put(&mut self, value: String);
}

impl Slot for Option<String> {
    const LIST: bool = false;
    fn count(&self) -> usize {
        usize::from(self.is_some())
    }
    fn put(&mut self, value: String) {
        *self = Some(value);
    }
}

impl Slot for Vec<String> {
    const LIST: bool = true;
    fn count(&self) -> usize {
        self.len()
    }
    fn put(&mut self, value: String) {
        self.push(value);
    }
}

/// Most values of one repeatable parameter.
const MAX_REPEATS: usize = 50;

/// Adds `value` to the parameter `name` held in `slot`, refusing a second value of a single one.
fn put<S: Slot>(slot: &mut S, name: &str, value: String) -> Result<()> {
    if !S::LIST && slot.count() > 0 {
        return Err(Error::field(name, "given more than once"));
    }
    if slot.count() >= MAX_REPEATS {
        return Err(Error::field(
            name,
            format!("given more than {MAX_REPEATS} times"),
        ));
    }
    slot.put(value);
    Ok(())
}

/// Declares the search parameters once: the raw-value type (also the OpenAPI description of the
/// parameters), the table of names with the kinds that take each, and the mapping from name to
/// field.
macro_rules! search_params {
    ($(
        $(#[doc = $doc:literal])*
        #[param($($attr:tt)*)]
        $name:ident: $ty:ty => [$($kind:ident),+];
    )*) => {
        /// The raw values of a search's parameters, as given: the one type the JSON API, the web
        /// pages, the command line and the benchmarks fill, and the OpenAPI description of them.
        /// [`SearchParams::request`] checks them and turns them into a [`SearchRequest`].
        /// Repeated keys are OR within a field; different fields are AND.
        #[derive(Debug, Clone, Default, PartialEq, IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct SearchParams {
            $($(#[doc = $doc])* #[param($($attr)*)] pub $name: $ty,)*
        }

        /// Every search parameter, in the order they are listed to a caller.
        pub const PARAMS: &[Param] = &[$(Param {
            name: stringify!($name),
            kinds: &[$(Kind::$kind),+],
        },)*];

        impl SearchParams {
            /// Adds a value of the parameter `name` (one of [`PARAMS`]).
            fn put(&mut self, name: &str, value: String) -> Result<()> {
                match name {
                    $(stringify!($name) => put(&mut self.$name, name, value),)*
                    other => Err(Error::field(other, "unknown parameter")),
                }
            }

            /// The names of the parameters given a value.
            fn given(&self) -> impl Iterator<Item = &'static str> {
                [$((stringify!($name), self.$name.count() > 0),)*]
                    .into_iter()
                    .filter_map(|(name, given)| given.then_some(name))
            }

            /// These values without the parameters a search of `kind` does not take.
            pub fn only(&self, kind: Kind) -> SearchParams {
                let mut own = self.clone();
                $(if !param(stringify!($name)).is_some_and(|p| p.taken_by(Some(kind))) {
                    own.$name = Default::default();
                })*
                own
            }
        }
    };
}

search_params! {
    /// Plain words; "quotes" make a phrase. At most 1,000 characters.
    #[param(value_type = Option<String>)]
    q: Option<String> => [Member, CaseStudy, Facility];
    /// Skill label, synonym or taxonomy id (for facilities, a capability such as `CL4`); repeat
    /// for any of several.
    #[param(value_type = Option<Vec<String>>)]
    skill: Vec<String> => [Member, CaseStudy, Facility];
    /// Experts: minimum proficiency for `skill`: 1-4 or awareness, working, practitioner, expert.
    #[param(value_type = Option<String>)]
    min_level: Option<String> => [Member];
    /// Department short name (e.g. `Dstl`); a parent (`MOD`) includes its children.
    #[param(value_type = Option<Vec<String>>)]
    department: Vec<String> => [Member, CaseStudy, Facility];
    /// Experts: at least this clearance, not past its review date (needs the vetting
    /// permission). Facilities: the clearance you hold; those whose access clearance is at most
    /// this.
    #[param(value_type = Option<String>)]
    clearance: Option<String> => [Member, Facility];
    /// Experts: deployable within this time at most (`24h` includes `now`).
    #[param(value_type = Option<String>)]
    availability: Option<String> => [Member];
    /// Experts: civil service grade.
    #[param(value_type = Option<Vec<String>>)]
    grade: Vec<String> => [Member];
    /// Experts: GSE category.
    #[param(value_type = Option<Vec<String>>)]
    gse_category: Vec<String> => [Member];
    /// UK region, e.g. `South West`.
    #[param(value_type = Option<Vec<String>>)]
    region: Vec<String> => [Member, Facility];
    /// Experts: professional registration, e.g. `CEng`.
    #[param(value_type = Option<Vec<String>>)]
    registration: Vec<String> => [Member];
    /// Facilities: operational, limited or closed; by default operational and limited, so a
    /// closed facility is listed only when asked for (the status facet counts every status).
    #[param(value_type = Option<Vec<String>>)]
    status: Vec<String> => [Facility];
    /// `lat,lon` to measure distance from.
    #[param(value_type = Option<String>)]
    near: Option<String> => [Member, Facility];
    /// With `near`: only records within this great-circle distance (km, up to 2,000).
    #[param(value_type = Option<f64>)]
    within_km: Option<String> => [Member, Facility];
    /// `relevance` (default) or `distance` (needs `near`).
    #[param(value_type = Option<String>)]
    sort: Option<String> => [Member, Facility];
    /// Page size, 1-100 (default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    limit: Option<String> => [Member, CaseStudy, Facility];
    /// Hits to skip (at most 10,000).
    #[param(value_type = Option<u32>, maximum = 10000)]
    offset: Option<String> => [Member, CaseStudy, Facility];
    /// `true` adds a score breakdown to each hit.
    #[param(value_type = Option<bool>)]
    explain: Option<String> => [Member, CaseStudy, Facility];
    /// Which facets to count: names from `department`, `skill`, `clearance`, `availability`,
    /// `grade`, `gse_category`, `region`, `status` (those of the kind searched), repeated or
    /// comma-separated, or `none`. Left out: every facet of the kind.
    #[param(value_type = Option<Vec<String>>)]
    facets: Vec<String> => [Member, CaseStudy, Facility];
    /// The skill facet down to this depth of the skill tree (1: its top), 1-20; by default the
    /// whole tree.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 20)]
    skill_depth: Option<String> => [Member, CaseStudy, Facility];
    /// `false` leaves out `highlights` (the matched words marked in each hit's text); default
    /// `true`.
    #[param(value_type = Option<bool>)]
    highlight: Option<String> => [Member, CaseStudy, Facility];
}

/// The OpenAPI description of the parameters a search of `kind` takes.
fn described(
    kind: Kind,
    parameter_in: impl Fn() -> Option<ParameterIn>,
) -> Vec<utoipa::openapi::path::Parameter> {
    SearchParams::into_params(parameter_in)
        .into_iter()
        .filter(|p| param(&p.name).is_some_and(|p| p.taken_by(Some(kind))))
        .collect()
}

/// The parameters of `/v1/experts`, for the OpenAPI document.
pub struct ExpertParams;
/// The parameters of `/v1/case-studies`, for the OpenAPI document.
pub struct CaseStudyParams;
/// The parameters of `/v1/facilities`, for the OpenAPI document.
pub struct FacilityParams;

impl IntoParams for ExpertParams {
    fn into_params(
        parameter_in: impl Fn() -> Option<ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        described(Kind::Member, parameter_in)
    }
}

impl IntoParams for CaseStudyParams {
    fn into_params(
        parameter_in: impl Fn() -> Option<ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        described(Kind::CaseStudy, parameter_in)
    }
}

impl IntoParams for FacilityParams {
    fn into_params(
        parameter_in: impl Fn() -> Option<ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        described(Kind::Facility, parameter_in)
    }
}

/// The parameter called `name`.
fn param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name == name)
}

/// The parameters a search of `kind` takes (`None`: of every kind, as `/v1/search` does).
pub fn accepted_params(kind: Option<Kind>) -> impl Iterator<Item = &'static str> {
    PARAMS
        .iter()
        .filter(move |p| p.taken_by(kind))
        .map(|p| p.name)
}

/// The error for a parameter a search of `kind` does not take, listing those it does.
fn unknown(name: &str, kind: Option<Kind>) -> Error {
    let all = accepted_params(kind).collect::<Vec<_>>().join(", ");
    Error::field(name, format!("unknown parameter (accepted: {all})"))
}

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
    SearchParams::from_pairs(kind, pairs)?.request(kind, caller, today)
}

impl SearchParams {
    /// The values of raw query pairs, in order, for a search of `kind`: each key must be a
    /// parameter of that kind with a value, given once unless it is a list.
    pub fn from_pairs(kind: Option<Kind>, pairs: &[(String, String)]) -> Result<SearchParams> {
        let mut params = SearchParams::default();
        for (key, value) in pairs {
            if !param(key).is_some_and(|p| p.taken_by(kind)) {
                return Err(unknown(key, kind));
            }
            let value = value.trim();
            if value.is_empty() {
                if key == "q" {
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
            params.put(key, value.to_string())?;
        }
        Ok(params)
    }

    /// Checks the values and turns them into a search of `kind` (`None`: all kinds) by
    /// `caller` on `today`.
    pub fn request(
        &self,
        kind: Option<Kind>,
        caller: &Caller,
        today: Date,
    ) -> Result<SearchRequest> {
        if let Some(name) = self
            .given()
            .find(|name| !param(name).is_some_and(|p| p.taken_by(kind)))
        {
            return Err(unknown(name, kind));
        }
        // free-text values of a list parameter, each at most `max` characters
        let texts = |name: &str, values: &[String], max: usize| -> Result<Vec<String>> {
            values
                .iter()
                .map(|v| match v.chars().count() > max {
                    true => Err(Error::field(
                        name,
                        format!("is longer than {max} characters"),
                    )),
                    false => Ok(v.to_string()),
                })
                .collect()
        };
        let mut request =
            SearchRequest::new(kind.unwrap_or(Kind::Member), caller.max_marking, today);
        request.vetting = caller.vetting;

        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            if q.chars().count() > MAX_QUERY_CHARS {
                return Err(Error::field(
                    "q",
                    format!("is longer than {MAX_QUERY_CHARS} characters"),
                ));
            }
            request.text = Some(q.to_string());
        }
        request.filters.skills = texts("skill", &self.skill, 200)?;
        if let Some(level) = &self.min_level {
            if request.filters.skills.is_empty() {
                return Err(Error::field(
                    "min_level",
                    "applies to `skill`; give a skill too",
                ));
            }
            request.filters.min_level = Some(Level::parse_field(level, "min_level")?);
        }
        for dept in &self.department {
            let known = Reference::get().department(dept).ok_or_else(|| {
                Error::field(
                    "department",
                    format!("unknown department `{}`", crate::model::truncate(dept, 60)),
                )
            })?;
            request.filters.departments.push(known.abbr.clone());
        }
        if let Some(c) = &self.clearance {
            // a facility's access clearance is no one's secret; a person's is need-to-know
            if kind != Some(Kind::Facility) && !caller.vetting {
                return Err(Error::NotPermitted {
                    field: "clearance".into(),
                    reason: crate::access::VETTING_NEEDED.into(),
                });
            }
            request.filters.clearance = Some(Clearance::parse_field(c, "clearance")?);
        }
        if let Some(a) = &self.availability {
            request.filters.availability = Some(Availability::parse_field(a, "availability")?);
        }
        for g in &self.grade {
            request.filters.grades.push(Grade::parse_field(g, "grade")?);
        }
        for g in &self.gse_category {
            request
                .filters
                .gse_categories
                .push(GseCategory::parse_field(g, "gse_category")?);
        }
        request.filters.regions = texts("region", &self.region, 100)?;
        for status in &self.status {
            request
                .filters
                .statuses
                .push(FacilityStatus::parse_field(status, "status")?);
        }
        request.filters.registrations = texts("registration", &self.registration, 50)?;
        let within_km = match &self.within_km {
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
        if let Some(near) = &self.near {
            let (lat, lon) = near
                .split_once(',')
                .and_then(|(a, b)| {
                    Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
                })
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
        if let Some(sort) = &self.sort {
            request.sort = match sort.as_str() {
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
        if let Some(limit) = &self.limit {
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
        if let Some(offset) = &self.offset {
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
        if let Some(explain) = &self.explain {
            request.explain = flag("explain", explain)?;
        }
        if let Some(highlight) = &self.highlight {
            request.highlights = flag("highlight", highlight)?;
        }
        if !self.facets.is_empty() {
            request.facets = facet_choice(kind, &self.facets, caller)?;
        }
        if let Some(depth) = &self.skill_depth {
            if !request.facets.includes(FacetName::Skill) {
                return Err(Error::field(
                    "skill_depth",
                    "applies to the skill facet; ask for it in `facets` too",
                ));
            }
            request.skill_depth = match depth.parse::<usize>() {
                Ok(n) if (1..=20).contains(&n) => Some(n),
                _ => {
                    return Err(Error::field(
                        "skill_depth",
                        "must be a whole number from 1 to 20",
                    ));
                }
            };
        }
        Ok(request)
    }
}

/// A yes-or-no parameter.
fn flag(name: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::field(name, "must be true or false")),
    }
}

/// The facets asked for by the values of `facets` (each a name or a comma-separated list of
/// them, or `none`), for a search of `kind` (`None`: every kind, each counting those it has).
fn facet_choice(kind: Option<Kind>, values: &[String], caller: &Caller) -> Result<FacetChoice> {
    let names: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        return Err(Error::field("facets", "give facet names, or none"));
    }
    if names.contains(&"none") {
        return match names.len() {
            1 => Ok(FacetChoice::NONE),
            _ => Err(Error::field(
                "facets",
                "`none` cannot be given with facet names",
            )),
        };
    }
    let offered: Vec<FacetName> = match kind {
        Some(kind) => facet_fields(kind).to_vec(),
        None => FacetName::ALL.to_vec(),
    };
    let mut chosen = Vec::new();
    for name in names {
        let Some(facet) = offered.iter().copied().find(|f| f.as_str() == name) else {
            let all: Vec<&str> = offered.iter().map(|f| f.as_str()).collect();
            return Err(Error::field(
                "facets",
                format!(
                    "`{}` is not a facet here (facets: {}, or none)",
                    crate::model::truncate(name, 30),
                    all.join(", ")
                ),
            ));
        };
        // a person's clearance is need-to-know: asked for by name, it is refused as its filter is
        if facet == FacetName::Clearance && kind == Some(Kind::Member) && !caller.vetting {
            return Err(Error::NotPermitted {
                field: "facets".into(),
                reason: crate::access::VETTING_NEEDED.into(),
            });
        }
        if !chosen.contains(&facet) {
            chosen.push(facet);
        }
    }
    Ok(FacetChoice::These(chosen))
}
