//! The one error type of the library, and its `Result` alias.
//!
//! User errors (bad input, bad query, missing record) carry a message meant for the caller;
//! internal errors (I/O, tantivy) are logged by the HTTP layer and shown as a generic detail.

use std::path::PathBuf;

/// Everything that can go wrong inside Muster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request or record field has a bad value; `field` names it for the caller.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The parameter or record field at fault.
        field: String,
        /// What was wrong with it, in words a user understands.
        reason: String,
    },
    /// Several fields of one record have bad values; each is named, in the record's order.
    #[error("{}", FieldFault::list(.0))]
    InvalidFields(Vec<FieldFault>),
    /// The caller lacks a permission the request needs (a clearance filter without `vetting`).
    #[error("not permitted: {field}: {reason}")]
    NotPermitted {
        /// The parameter that needs the permission.
        field: String,
        /// Which permission, in words.
        reason: String,
    },
    /// A record line is not a JSON object at all (no single field is to blame).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// No such record, or not one the caller may see (the two are indistinguishable).
    #[error("not found")]
    NotFound,
    /// A data file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The index directory is missing, locked, or not a Muster index.
    #[error("index at {path}: {reason}")]
    Index {
        /// The index directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Loading stopped because `--strict` was given and lines were rejected.
    #[error("{rejected} input lines were rejected (strict mode)")]
    Strict {
        /// How many.
        rejected: u64,
        /// The load's report: each rejected line and why.
        report: String,
    },
    /// An I/O error not tied to a user-supplied path.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// An error from tantivy.
    #[error("search engine error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// JSON encoding of a record failed (a bug: our own types always encode).
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// Shorthand for an [`Error::InvalidField`].
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// One field at fault in a record, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldFault {
    /// The field, as a path: `skills[2].level`.
    pub field: String,
    /// What was wrong with it.
    pub reason: String,
}

impl FieldFault {
    fn list(faults: &[FieldFault]) -> String {
        faults
            .iter()
            .map(|f| format!("invalid {}: {}", f.field, f.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Every field error found in one record, so a bad record is reported whole, not one error at a
/// time.
#[derive(Debug, Default)]
pub struct Faults(Vec<FieldFault>);

impl Faults {
    /// Keeps the value, or notes the error and gives a placeholder that [`Faults::finish`] will
    /// never let out.
    pub fn check<T: Default>(&mut self, result: Result<T>) -> T {
        result.unwrap_or_else(|error| {
            self.note(error);
            T::default()
        })
    }

    /// Notes one error.
    pub fn note(&mut self, error: Error) {
        match error {
            Error::InvalidField { field, reason } => self.0.push(FieldFault { field, reason }),
            Error::InvalidFields(more) => self.0.extend(more),
            other => self.0.push(FieldFault {
                field: "record".into(),
                reason: other.to_string(),
            }),
        }
    }

    /// Ok when nothing was wrong; otherwise the one error, or all of them.
    pub fn finish(mut self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => {
                let FieldFault { field, reason } = self.0.remove(0);
                Err(Error::InvalidField { field, reason })
            }
            _ => Err(Error::InvalidFields(self.0)),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
