//! The short-facts objects search builds from stored records: a hit's `summary` (by kind), which
//! is also a muster member's `contact` and a matched facility's `details`, and the people another
//! record refers to. Typed, so that the web pages, musters and contact sheets read fields, not
//! JSON by name. Fields are declared in alphabetical order: the order they have always been sent
//! in.

use serde::Serialize;
use time::Date;

use crate::model::{
    Availability, Clearance, ClearanceStatus, FacilityStatus, Grade, GseCategory, Marking,
    clearance_in_words, date_format,
};

/// A person another record refers to (a case study's author, a facility's contact), with the
/// details needed to reach them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PersonRef {
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Member id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Telephone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Short facts about an expert: how to reach them and whether they can be used. The clearance
/// fields are absent for a caller without the vetting permission.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemberSummary {
    /// How soon they can start.
    pub availability: Availability,
    /// National security vetting level held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearance: Option<Clearance>,
    /// When the clearance is next due for review.
    #[serde(
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub clearance_review_due: Option<Date>,
    /// Whether the clearance is in date on the day of the search (absent for no clearance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearance_status: Option<ClearanceStatus>,
    /// Email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Civil service grade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// GSE profession category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gse_category: Option<GseCategory>,
    /// Protective marking of the record.
    pub marking: Marking,
    /// Telephone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Region of their base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Professional registrations.
    pub registrations: Vec<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Town of their base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    /// When the profile was last updated.
    #[serde(
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub updated: Option<Date>,
}

impl MemberSummary {
    /// Leaves out the clearance, for a caller without the vetting permission.
    pub fn withhold_clearance(&mut self) {
        self.clearance = None;
        self.clearance_review_due = None;
        self.clearance_status = None;
    }

    /// The clearance in words, saying whether it counts on `today` (`DV - lapsed, review was
    /// due 14 March 2024`); `None` when it is withheld.
    pub fn clearance_words(&self, today: Date) -> Option<String> {
        let clearance = self.clearance?;
        Some(clearance_in_words(
            clearance,
            self.clearance_review_due,
            today,
        ))
    }

    /// Whether the clearance had lapsed on the day of the search.
    pub fn clearance_lapsed(&self) -> bool {
        self.clearance_status == Some(ClearanceStatus::Lapsed)
    }
}

/// Short facts about a case study.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CaseStudySummary {
    /// Those authors with their contact details.
    pub author_details: Vec<PersonRef>,
    /// Ids of the authors the caller may see.
    pub authors: Vec<String>,
    /// When the work was done.
    #[serde(
        with = "date_format::ymd::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<Date>,
    /// Departments involved.
    pub departments: Vec<String>,
    /// Protective marking of the record.
    pub marking: Marking,
    /// Skills it used.
    pub skills: Vec<String>,
}

/// Short facts about a facility: where it is, whether it is open and whom to call.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FacilitySummary {
    /// Clearance needed to use it.
    pub access_clearance: Clearance,
    /// What it can do.
    pub capabilities: Vec<String>,
    /// Contacts the caller may see, with their details.
    pub contact_details: Vec<PersonRef>,
    /// The establishment (laboratory) it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub establishment: Option<String>,
    /// Protective marking of the record.
    pub marking: Marking,
    /// Operating status.
    pub status: FacilityStatus,
    /// Town.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
}

/// A hit's short facts, by the kind of record.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Summary {
    /// For experts.
    Member(MemberSummary),
    /// For case studies.
    CaseStudy(CaseStudySummary),
    /// For facilities.
    Facility(FacilitySummary),
}
