//! Who is asking: the caller's role and the highest marking they may read.
//!
//! Every search, count, facet, suggestion and lookup carries the caller's `max_marking` into the
//! tantivy query itself (see `search`), so a record above it does not exist for that caller.

use serde::Serialize;

use crate::model::Marking;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search and read.
    Reader,
    /// Also write records.
    Editor,
    /// Also read the audit log and metrics.
    Admin,
}

/// An authenticated (or demo) caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// Who: a token subject.
    pub subject: String,
    /// What they may do.
    pub role: Role,
    /// The highest marking they may read.
    pub max_marking: Marking,
}

impl Caller {
    /// The caller of local demo mode: a reader of OFFICIAL records only.
    pub fn demo() -> Caller {
        Caller {
            subject: "demo".into(),
            role: Role::Reader,
            max_marking: Marking::Official,
        }
    }
}
