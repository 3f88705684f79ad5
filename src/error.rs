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
    /// A record line is not a JSON object at all (no single field is to blame).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The text query could not be understood.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
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

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
