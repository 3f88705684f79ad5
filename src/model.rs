//! The records Muster holds (members, case studies, facilities) and their ordered enums.
//!
//! Enums are ordered as the contract lists them, so "at least SC" or "within 24h" are plain
//! comparisons. Each enum parses its documented spellings (case-insensitively) and nothing else.

use serde::{Deserialize, Serialize};
use time::Date;

/// Declares one of the contract's ordered enums, read from record field `$field`. Each variant's
/// spelling and aliases are strum attributes on it (`EnumString`, case-insensitive; the variants
/// in the contract's order); this adds what strum lacks: rank, parse errors that name the field,
/// and the canonical spelling in OpenAPI and serde.
macro_rules! ordered_enum {
    ($field:literal, $(#[$meta:meta])* pub enum $name:ident { $($variants:tt)* }) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::VariantArray,
        )]
        #[strum(ascii_case_insensitive)]
        pub enum $name { $($variants)* }

        impl $name {
            /// Every value, lowest first.
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            /// The record field this enum is read from, for error messages.
            pub const FIELD: &'static str = $field;

            /// The canonical spelling, as written in the contract.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// Position in the contract's order, starting at 0.
            pub fn rank(self) -> u64 {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0) as u64
            }

            /// The value at `rank`, if any.
            pub fn from_rank(rank: u64) -> Option<Self> {
                Self::ALL.get(usize::try_from(rank).ok()?).copied()
            }

            /// Parses a documented spelling, ignoring case and surrounding space.
            pub fn parse(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }

            /// Parses `text`, or explains which spellings are accepted, naming `field`.
            pub fn parse_field(text: &str, field: &str) -> crate::Result<Self> {
                Self::parse(text).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    crate::Error::field(
                        field,
                        format!(
                            "`{}` is not one of {}",
                            truncate(text, 40),
                            allowed.join(", ")
                        ),
                    )
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse_field(&text, $field).map_err(serde::de::Error::custom)
            }
        }
    };
}

ordered_enum! {
    "clearance",
    /// National security vetting held, lowest first.
    pub enum Clearance {
        /// No recorded check.
        #[strum(serialize = "none")]
        None,
        /// Baseline Personnel Security Standard.
        #[strum(serialize = "BPSS")]
        Bpss,
        /// Counter-Terrorist Check.
        #[strum(serialize = "CTC")]
        Ctc,
        /// Security Check.
        #[strum(serialize = "SC")]
        Sc,
        /// Enhanced Security Check.
        #[strum(serialize = "eSC")]
        Esc,
        /// Developed Vetting.
        #[strum(serialize = "DV")]
        Dv,
        /// Enhanced Developed Vetting.
        #[strum(serialize = "eDV")]
        Edv,
    }
}

ordered_enum! {
    "availability",
    /// How soon someone can be deployed, soonest first.
    pub enum Availability {
        /// Immediately.
        #[strum(serialize = "now")]
        Now,
        /// Within 24 hours.
        #[strum(serialize = "24h")]
        Within24h,
        /// Within a week.
        #[strum(serialize = "week")]
        Week,
        /// Within a month.
        #[strum(serialize = "month")]
        Month,
        /// Not available for deployment.
        #[strum(serialize = "unavailable")]
        Unavailable,
    }
}

ordered_enum! {
    "grade",
    /// Civil service grade, most junior first.
    pub enum Grade {
        /// Administrative Assistant.
        #[strum(serialize = "AA")]
        Aa,
        /// Administrative Officer.
        #[strum(serialize = "AO")]
        Ao,
        /// Executive Officer.
        #[strum(serialize = "EO")]
        Eo,
        /// Higher Executive Officer.
        #[strum(serialize = "HEO")]
        Heo,
        /// Senior Executive Officer.
        #[strum(serialize = "SEO")]
        Seo,
        /// Grade 7.
        #[strum(serialize = "G7")]
        G7,
        /// Grade 6.
        #[strum(serialize = "G6")]
        G6,
        /// Deputy Director.
        #[strum(serialize = "SCS1")]
        Scs1,
        /// Director.
        #[strum(serialize = "SCS2")]
        Scs2,
        /// Director General.
        #[strum(serialize = "SCS3")]
        Scs3,
        /// Permanent Secretary.
        #[strum(serialize = "SCS4")]
        Scs4,
    }
}

ordered_enum! {
    "gse_category",
    /// GSE profession membership category.
    pub enum GseCategory {
        /// Deep specialist.
        #[strum(serialize = "deep_specialist")]
        DeepSpecialist,
        /// Specialist.
        #[strum(serialize = "specialist")]
        Specialist,
        /// Affiliate.
        #[strum(serialize = "affiliate")]
        Affiliate,
    }
}

ordered_enum! {
    "marking",
    /// Protective marking of a record, least restricted first.
    pub enum Marking {
        /// OFFICIAL: every authenticated reader.
        #[strum(serialize = "OFFICIAL")]
        Official,
        /// OFFICIAL-SENSITIVE: readers allowed it only.
        #[strum(serialize = "OFFICIAL-SENSITIVE")]
        OfficialSensitive,
    }
}

ordered_enum! {
    "status",
    /// Operating status of a facility.
    pub enum FacilityStatus {
        /// In normal operation.
        #[strum(serialize = "operational")]
        Operational,
        /// Partly available.
        #[strum(serialize = "limited")]
        Limited,
        /// Not available.
        #[strum(serialize = "closed")]
        Closed,
    }
}

ordered_enum! {
    "level",
    /// Proficiency in a skill (GSE Skills Framework), lowest first.
    pub enum Level {
        /// Knows the skill exists and how it applies; can help under direction.
        #[strum(to_string = "awareness", serialize = "1")]
        Awareness,
        /// Applies the skill independently.
        #[strum(to_string = "working", serialize = "2")]
        Working,
        /// Shares the skill with others; chooses methods.
        #[strum(to_string = "practitioner", serialize = "3")]
        Practitioner,
        /// Recognised specialist and adviser.
        #[strum(to_string = "expert", serialize = "4")]
        Expert,
    }
}

impl Availability {
    /// How soon, in words: `available now`, `available within 24 hours`, `not available`.
    pub fn in_words(self) -> &'static str {
        match self {
            Availability::Now => "available now",
            Availability::Within24h => "available within 24 hours",
            Availability::Week => "available within a week",
            Availability::Month => "available within a month",
            Availability::Unavailable => "not available",
        }
    }
}

impl Level {
    /// The level as the number 1-4 used by `min_level`.
    pub fn number(self) -> u8 {
        self.rank() as u8 + 1
    }

    /// The level for a number 1-4.
    pub fn from_number(n: u64) -> Option<Self> {
        n.checked_sub(1).and_then(Self::from_rank)
    }
}

/// Whether a clearance counts on a given day: after its review date it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClearanceStatus {
    /// No review date, or the review date is today or later.
    InDate,
    /// The review date has passed: the clearance does not count.
    Lapsed,
}

impl ClearanceStatus {
    /// The status of `clearance` with review date `due` on `today`; `None` for no clearance.
    /// The one place the lapse rule is written for records read back (search filters check the
    /// same rule on the index, see `visible::CachedSet::in_date`).
    pub fn of(clearance: Clearance, due: Option<Date>, today: Date) -> Option<ClearanceStatus> {
        if clearance == Clearance::None {
            return None;
        }
        Some(match due {
            Some(due) if due < today => ClearanceStatus::Lapsed,
            _ => ClearanceStatus::InDate,
        })
    }

    /// `in_date` or `lapsed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClearanceStatus::InDate => "in_date",
            ClearanceStatus::Lapsed => "lapsed",
        }
    }
}

impl Clearance {
    /// Whether holding `self` meets a need for `wanted`: the same level or higher. Whether it
    /// counts at all is its review date's business ([`ClearanceStatus::of`], [`cleared_for`]).
    pub fn meets(self, wanted: Clearance) -> bool {
        self >= wanted
    }
}

/// Whether someone holding `held`, due for review on `due`, is cleared for work needing
/// `wanted` on `today`: at least that level and not lapsed. The one place this is written for
/// records; search checks the same on the index (a range of clearance ranks and the set of
/// clearances in date, `search::filter`).
pub fn cleared_for(held: Clearance, due: Option<Date>, wanted: Clearance, today: Date) -> bool {
    held.meets(wanted) && ClearanceStatus::of(held, due, today) != Some(ClearanceStatus::Lapsed)
}

/// A clearance in words, saying whether it counts: `DV, review due 1 May 2029`, `DV - lapsed,
/// review was due 14 March 2024`, `no security clearance`.
pub fn clearance_in_words(clearance: Clearance, due: Option<Date>, today: Date) -> String {
    match (ClearanceStatus::of(clearance, due, today), due) {
        (None, _) => "no security clearance".to_string(),
        (Some(ClearanceStatus::Lapsed), Some(due)) => format!(
            "{clearance} - lapsed, review was due {}",
            date_format::words(due)
        ),
        (_, Some(due)) => format!("{clearance}, review due {}", date_format::words(due)),
        (_, None) => clearance.to_string(),
    }
}

/// Shortens `text` for an error message, on a character boundary.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Dates in records are written `YYYY-MM-DD`.
pub mod date_format {
    use time::Date;
    use time::macros::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    /// Parses `YYYY-MM-DD`, naming `field` on failure.
    pub fn parse(text: &str, field: &str) -> crate::Result<Date> {
        Date::parse(text.trim(), FORMAT).map_err(|_| {
            crate::Error::field(
                field,
                format!(
                    "`{}` is not a date of the form YYYY-MM-DD",
                    super::truncate(text, 40)
                ),
            )
        })
    }

    /// Formats a date as `YYYY-MM-DD`.
    pub fn format(date: Date) -> String {
        date.format(FORMAT).unwrap_or_default()
    }

    /// Formats a date as people read it, in the GOV.UK style: `14 March 2024`.
    pub fn words(date: Date) -> String {
        const WORDS: &[time::format_description::BorrowedFormatItem<'static>] =
            format_description!("[day padding:none] [month repr:long] [year]");
        date.format(WORDS).unwrap_or_default()
    }

    // `YYYY-MM-DD` in serde, as `ymd::option` (time's own): a bad date is reported with its
    // field's path by `serde_path_to_error`, never as a field called "date".
    time::serde::format_description!(pub ymd, Date, "[year]-[month]-[day]");
}

/// Where a member or facility is based.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    /// Town or site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    /// UK region (ITL1), e.g. `South West`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// One recorded skill of a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkillRecord {
    /// The skill as the member wrote it (or the taxonomy label it was given as).
    pub name: String,
    /// Proficiency.
    pub level: Level,
    /// When the level was last assessed.
    #[serde(
        default,
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub assessed: Option<Date>,
}

/// A member of the profession and their recorded expertise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Contact email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Contact telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Employing organisation (short name from the departments reference).
    pub department: String,
    /// Parent organisation, e.g. `MOD` for `Dstl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_department: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Civil service grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// GSE category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gse_category: Option<GseCategory>,
    /// Vetting held.
    pub clearance: Clearance,
    /// After this date the clearance does not count.
    #[serde(
        default,
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub clearance_review_due: Option<Date>,
    /// How soon they can be deployed.
    pub availability: Availability,
    /// Base location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Recorded skills.
    #[serde(default)]
    pub skills: Vec<SkillRecord>,
    /// Professional registrations, e.g. `CEng`.
    #[serde(default)]
    pub registrations: Vec<String>,
    /// Free-text statement of expertise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Last profile update.
    #[serde(
        default,
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub updated: Option<Date>,
    /// Who may see this record.
    pub marking: Marking,
}

impl Member {
    /// Whether their clearance counts on `today` (`None` for no clearance).
    pub fn clearance_status(&self, today: Date) -> Option<ClearanceStatus> {
        ClearanceStatus::of(self.clearance, self.clearance_review_due, today)
    }
}

/// A piece of work, written up by the members who did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseStudy {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Full text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// When the work happened.
    #[serde(
        default,
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<Date>,
    /// Organisations involved.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Member ids of the authors: the evidence linking people to work.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Skills the work used.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Facility ids used.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// Who may see this record.
    pub marking: Marking,
}

/// A laboratory, instrument or other facility of a public-sector research establishment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facility {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Establishment, e.g. `UKHSA Porton Down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub establishment: Option<String>,
    /// Owning organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Parent of the owning organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_department: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What it can do.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Minimum clearance needed to use it.
    pub access_clearance: Clearance,
    /// Member ids of contacts.
    #[serde(default)]
    pub contacts: Vec<String>,
    /// Operating status.
    pub status: FacilityStatus,
    /// Who may see this record.
    pub marking: Marking,
}

/// The three kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A person.
    Member,
    /// A case study.
    CaseStudy,
    /// A facility.
    Facility,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 3] = [Kind::Member, Kind::CaseStudy, Kind::Facility];

    /// The name used in facets, files and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Member => "member",
            Kind::CaseStudy => "case_study",
            Kind::Facility => "facility",
        }
    }

    /// Its collection in the API: `/v1/experts`, `/v1/case-studies`, `/v1/facilities` (also the
    /// web page's `kind` parameter).
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Member => "experts",
            Kind::CaseStudy => "case-studies",
            Kind::Facility => "facilities",
        }
    }

    /// Where a record's page lives: `/people/{id}`, `/case-studies/{id}`, `/facilities/{id}`.
    pub fn page(self) -> &'static str {
        match self {
            Kind::Member => "people",
            Kind::CaseStudy => "case-studies",
            Kind::Facility => "facilities",
        }
    }

    /// The kind whose [`collection`](Kind::collection) or [`page`](Kind::page) is `segment`.
    pub fn from_path(segment: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.collection() == segment || k.page() == segment)
    }
}

/// Any one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A member.
    Member(Member),
    /// A case study.
    CaseStudy(CaseStudy),
    /// A facility.
    Facility(Facility),
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Record::Member(_) => Kind::Member,
            Record::CaseStudy(_) => Kind::CaseStudy,
            Record::Facility(_) => Kind::Facility,
        }
    }

    /// The record's id.
    pub fn id(&self) -> &str {
        match self {
            Record::Member(m) => &m.id,
            Record::CaseStudy(c) => &c.id,
            Record::Facility(f) => &f.id,
        }
    }

    /// The record's marking.
    pub fn marking(&self) -> Marking {
        match self {
            Record::Member(m) => m.marking,
            Record::CaseStudy(c) => c.marking,
            Record::Facility(f) => f.marking,
        }
    }

    /// The record as JSON, in the ingest format.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Record::Member(m) => serde_json::to_value(m),
            Record::CaseStudy(c) => serde_json::to_value(c),
            Record::Facility(f) => serde_json::to_value(f),
        };
        // Our own types always serialise.
        value.unwrap_or(serde_json::Value::Null)
    }

    /// The record as JSON text, in the ingest format: what [`Record::to_json`] gives, written
    /// straight from the record rather than through a `Value` (fields in declaration order).
    pub fn to_json_text(&self) -> String {
        let text = match self {
            Record::Member(m) => serde_json::to_string(m),
            Record::CaseStudy(c) => serde_json::to_string(c),
            Record::Facility(f) => serde_json::to_string(f),
        };
        // Our own types always serialise.
        text.unwrap_or_else(|_| "null".to_string())
    }
}

#[cfg(test)]
mod tests;
