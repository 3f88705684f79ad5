//! A search request: what may be asked, with its limits.

use time::Date;

use crate::model::{
    Availability, Clearance, FacilityStatus, Grade, GseCategory, Kind, Level, Marking,
};
use crate::schema::FacetName;

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most words of `q` used.
pub const MAX_QUERY_TERMS: usize = 32;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Points per proficiency level held in a skill the request names (half for a narrower skill):
/// enough that, among holders, the level decides unless the text of a lower holder outscores
/// by more than this.
pub const LEVEL_POINTS: f32 = 10.0;
/// Points for a skill assessed this year or last (half two or three years ago).
pub(super) const RECENT_POINTS: f32 = 1.5;
/// A word found in at least this many records is taken as spelt as meant: it is not also
/// matched fuzzily (which at scale unions thousands of near neighbours: "health" -> "wealth").
pub(super) const KNOWN_WORD_RECORDS: u64 = 3;

/// Where to measure distance from, and how far to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Only records within this many kilometres (great-circle), when set.
    pub within_km: Option<f64>,
}

/// How to order hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best match first.
    #[default]
    Relevance,
    /// Nearest first (needs `near`).
    Distance,
}

/// Hard filters; repeated values within a field are OR, fields are AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Skill labels, synonyms, taxonomy ids or free text.
    pub skills: Vec<String>,
    /// Minimum level for `skills`.
    pub min_level: Option<Level>,
    /// Departments (short names); a parent includes its children.
    pub departments: Vec<String>,
    /// Experts: at least this clearance, in date. Facilities: usable with this clearance.
    pub clearance: Option<Clearance>,
    /// At most this availability (e.g. `24h` includes `now`).
    pub availability: Option<Availability>,
    /// Grades.
    pub grades: Vec<Grade>,
    /// GSE categories.
    pub gse_categories: Vec<GseCategory>,
    /// Regions.
    pub regions: Vec<String>,
    /// Professional registrations (`CEng`).
    pub registrations: Vec<String>,
    /// Distance.
    pub near: Option<Near>,
    /// Facilities: these operating statuses; none given means the usable ones (operational and
    /// limited), so a closed facility is listed only when asked for.
    pub statuses: Vec<FacilityStatus>,
}

impl Filters {
    /// The facility statuses searched: those asked for, or the usable ones.
    pub fn facility_statuses(&self) -> Vec<FacilityStatus> {
        if self.statuses.is_empty() {
            vec![FacilityStatus::Operational, FacilityStatus::Limited]
        } else {
            self.statuses.clone()
        }
    }
}

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// What to search.
    pub kind: Kind,
    /// Plain words; quotes make a phrase.
    pub text: Option<String>,
    /// Hard filters.
    pub filters: Filters,
    /// Order.
    pub sort: SortOrder,
    /// Page size (1-100).
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
    /// Add a score breakdown to each hit.
    pub explain: bool,
    /// Highest marking the caller may read.
    pub max_marking: Marking,
    /// The date clearances are checked against.
    pub today: Date,
    /// Query understanding: skills named in the text, their synonyms and levels, misspellings.
    /// Off only to measure what it adds (`muster eval --plain`).
    pub understanding: bool,
    /// Which facets to count (none for internal searches that only need hits, such as a
    /// muster).
    pub facets: FacetChoice,
    /// The skill facet's tree down to this depth (1: the top of the tree), when set.
    pub skill_depth: Option<usize>,
    /// Mark the matched words of each hit's text (`highlights`).
    pub highlights: bool,
    /// The caller has the vetting permission: people's clearances are shown and counted. Without
    /// it they are withheld from summaries and facets, and a clearance filter is refused before
    /// the search (by the API and the pages).
    pub vetting: bool,
}

impl SearchRequest {
    /// A request for everything of `kind` visible at `max_marking`.
    pub fn new(kind: Kind, max_marking: Marking, today: Date) -> Self {
        SearchRequest {
            kind,
            text: None,
            filters: Filters::default(),
            sort: SortOrder::Relevance,
            limit: 10,
            offset: 0,
            explain: false,
            max_marking,
            today,
            understanding: true,
            facets: FacetChoice::Every,
            skill_depth: None,
            highlights: true,
            vetting: true,
        }
    }
}

/// Which facets a search counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FacetChoice {
    /// Every facet of the kind searched (the default).
    Every,
    /// Only these, where the kind has them (none: no facets at all).
    These(Vec<FacetName>),
}

impl FacetChoice {
    /// No facets: for searches that only need hits.
    pub const NONE: FacetChoice = FacetChoice::These(Vec::new());

    /// Whether `name` is chosen.
    pub fn includes(&self, name: FacetName) -> bool {
        match self {
            FacetChoice::Every => true,
            FacetChoice::These(names) => names.contains(&name),
        }
    }
}

/// Whether a facet is counted for `request`: one it asks for that its kind has, a member's
/// clearance only with vetting.
pub(super) fn facet_counted(request: &SearchRequest, name: FacetName) -> bool {
    request.facets.includes(name)
        && facet_fields(request.kind).contains(&name)
        && (request.vetting || request.kind != Kind::Member || name != FacetName::Clearance)
}

/// The facets each kind has, in the order they are counted.
pub fn facet_fields(kind: Kind) -> &'static [FacetName] {
    match kind {
        Kind::Member => &[
            FacetName::Department,
            FacetName::Skill,
            FacetName::Clearance,
            FacetName::Availability,
            FacetName::Grade,
            FacetName::GseCategory,
            FacetName::Region,
        ],
        Kind::CaseStudy => &[FacetName::Department, FacetName::Skill],
        Kind::Facility => &[
            FacetName::Department,
            FacetName::Skill,
            FacetName::Clearance,
            FacetName::Region,
            FacetName::Status,
        ],
    }
}
