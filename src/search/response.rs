//! What a search answers: hits with their evidence and explanation, totals and facets.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::Kind;
use crate::shapes::Summary;

/// A skill that made a member match.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MatchedSkill {
    /// The skill as recorded.
    pub name: String,
    /// Level 1-4.
    pub level: u8,
    /// The taxonomy node it maps to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_id: Option<String>,
}

/// A case study that credited a member.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    /// Case study id.
    pub case_study: String,
    /// Its title.
    pub title: String,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// Record id.
    pub id: String,
    /// Kind of record.
    pub kind: Kind,
    /// Name (title for case studies).
    pub name: String,
    /// Department (first one for case studies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Relevance score (higher is better).
    pub score: f32,
    /// Distance from `near`, in km.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// Skills that matched the request (experts).
    pub matched_skills: Vec<MatchedSkill>,
    /// Case studies that credited this member (experts).
    pub evidence: Vec<Evidence>,
    /// Matching fragments with `<mark>`, HTML-escaped.
    pub highlights: BTreeMap<String, String>,
    /// Short facts for a results list (role, grade, clearance, availability, town...).
    pub summary: Summary,
    /// Score breakdown, with `explain=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<Value>,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// Visible records matching.
    pub total: u64,
    /// Time taken.
    pub took_ms: f64,
    /// This page.
    pub hits: Vec<Hit>,
    /// Counts per value of each facet.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
    /// When nothing was found: the text with each word no record the caller may see holds
    /// replaced by the nearest one that a record or a skill's name does, if that finds someone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
    /// When nothing was found for a skill (a `skill` value, or a `q` that is a skill's name) and no
    /// spelling correction helps: the nearest broader skill in the taxonomy that finds someone,
    /// everything else in the request unchanged. Offered, never applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broader_skill: Option<BroaderSkill>,
}

/// A broader skill to ask for instead of one that found nothing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BroaderSkill {
    /// What was asked for: the `skill` value, or the text `q` when `from_text`.
    pub instead_of: String,
    /// The text `q` named the skill: ask with no `q` and `skill` set to `skill_id`.
    pub from_text: bool,
    /// The broader skill's taxonomy id (a `skill` value).
    pub skill_id: String,
    /// Its name.
    pub label: String,
    /// How many records the request finds with it instead.
    pub total: u64,
}
