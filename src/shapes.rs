//! The shapes of the short-facts objects search builds from stored records (a hit's `summary`, a
//! muster member's `contact`, a matched facility's `details`), declared for the OpenAPI document
//! so that generated clients get typed fields. Search builds these objects from the stored JSON of
//! the record, so every field is optional here; a test checks that every key search emits is
//! declared, and the API conformance run checks the types against real answers.

use serde::Serialize;

use crate::model::{
    Availability, Clearance, ClearanceStatus, FacilityStatus, Grade, GseCategory, Marking,
};
use crate::search::PersonRef;

/// Short facts about an expert: how to reach them and whether they can be used.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberSummary {
    /// Job title.
    pub role: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// Civil service grade.
    pub grade: Option<Grade>,
    /// GSE profession category.
    pub gse_category: Option<GseCategory>,
    /// National security vetting level held.
    pub clearance: Option<Clearance>,
    /// When the clearance is next due for review.
    #[schema(value_type = Option<String>, format = Date)]
    pub clearance_review_due: Option<String>,
    /// Whether the clearance is in date today (absent for no clearance).
    pub clearance_status: Option<ClearanceStatus>,
    /// How soon they can start.
    pub availability: Option<Availability>,
    /// Professional registrations.
    pub registrations: Option<Vec<String>>,
    /// When the profile was last updated.
    #[schema(value_type = Option<String>, format = Date)]
    pub updated: Option<String>,
    /// Protective marking of the record.
    pub marking: Option<Marking>,
    /// Town of their base.
    pub town: Option<String>,
    /// Region of their base.
    pub region: Option<String>,
}

/// Short facts about a case study.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseStudySummary {
    /// When the work was done.
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<String>,
    /// Departments involved.
    pub departments: Option<Vec<String>>,
    /// Skills it used.
    pub skills: Option<Vec<String>>,
    /// Protective marking of the record.
    pub marking: Option<Marking>,
    /// Ids of the authors the caller may see.
    pub authors: Option<Vec<String>>,
    /// Those authors with their contact details.
    pub author_details: Option<Vec<PersonRef>>,
}

/// Short facts about a facility: where it is, whether it is open and whom to call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacilitySummary {
    /// The establishment (laboratory) it belongs to.
    pub establishment: Option<String>,
    /// What it can do.
    pub capabilities: Option<Vec<String>>,
    /// Clearance needed to use it.
    pub access_clearance: Option<Clearance>,
    /// Operating status.
    pub status: Option<FacilityStatus>,
    /// Protective marking of the record.
    pub marking: Option<Marking>,
    /// Town.
    pub town: Option<String>,
    /// Contacts the caller may see, with their details.
    pub contact_details: Option<Vec<PersonRef>>,
}

/// A hit's short facts: the fields of [`MemberSummary`], [`CaseStudySummary`] or
/// [`FacilitySummary`], by the kind of record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HitSummary {
    /// For experts.
    #[serde(flatten)]
    pub member: MemberSummary,
    /// For case studies.
    #[serde(flatten)]
    pub case_study: CaseStudySummary,
    /// For facilities.
    #[serde(flatten)]
    pub facility: FacilitySummary,
}
