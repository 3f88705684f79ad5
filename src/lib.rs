//! Muster: cross-government expertise search.
//!
//! Who knows what across departments and public-sector research establishments, and which labs
//! can do what, so that in an emergency the right cleared, available people are found in minutes.
//!
//! # Data flow
//!
//! records in -> index -> search -> http
//!
//! 1. [`ingest`] streams JSON Lines / CSV files into validated [`model`] records, reporting every
//!    rejected line with its file, line number, field and reason.
//! 2. [`taxonomy`] maps free-text skills onto the GSE skills framework; [`text`] defines how words
//!    are folded and stemmed, for both.
//! 3. [`schema`] turns a record into a tantivy document (the only module that knows field names);
//!    [`index`] builds generations on disk atomically and opens the current one.
//! 4. [`generate`] writes deterministic synthetic data sets (the shipped fixtures, benchmarks).
//!
//! # Layout
//!
//! - [`error`]: the one error type and `Result` alias.
//! - [`model`]: members, case studies, facilities and their ordered enums.
//! - [`reference`]: departments, establishments and facilities compiled into the binary.

pub mod access;
pub mod error;
pub mod esco;
pub mod eval;
pub mod generate;
pub mod http;
pub mod index;
pub mod ingest;
pub mod model;
pub mod reference;
pub mod schema;
pub mod search;
pub mod suggest;
pub mod taxonomy;
pub mod text;

pub use error::{Error, Result};
