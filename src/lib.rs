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
//! 2. [`taxonomy`] holds the concepts (the GSE skills framework and ESCO, each concept meaning one
//!    thing, narrower ones under broader ones) and [`taxonomy::matcher`], the one matcher from
//!    free text (skills, capabilities, queries, needs) to concepts; [`text`] defines how words are
//!    folded and stemmed, for both.
//! 3. [`schema`] turns a record into a tantivy document (the only module that knows field names);
//!    [`index`] builds generations on disk atomically and opens the current one.
//!    [`index::RecordWriter`] applies API writes, one commit per request.
//! 4. [`search`] answers ranked, filtered, faceted queries with the caller's marking inside the
//!    tantivy query; [`suggest`] does typeahead and the skills tree; [`eval`] measures ranking,
//!    lab searches, emergency needs and the matcher against judged sets; [`muster`] assembles an
//!    emergency team and its labs from several searches, reading a need written in words.
//! 5. [`access`] says who is asking (API keys, JWTs, roles) and keeps the audit log; [`http`]
//!    serves the JSON API, writes and the web page.
//! 6. [`generate`] writes deterministic synthetic data sets (the shipped fixtures, benchmarks).
//!
//! # Layout
//!
//! - [`error`]: the one error type and `Result` alias.
//! - [`model`]: members, case studies, facilities and their ordered enums.
//! - [`reference`](mod@crate::reference): departments, establishments and facilities compiled into the binary.

pub mod access;
pub mod claims;
pub mod credit;
pub mod error;
pub mod esco;
pub mod eval;
pub mod facets;
pub mod generate;
pub mod http;
pub mod index;
pub mod ingest;
pub mod model;
pub mod muster;
pub mod oidc;
pub mod reference;
pub mod schema;
pub mod search;
pub mod shapes;
pub mod spelling;
pub mod stats;
pub mod store;
pub mod suggest;
pub mod taxonomy;
pub mod text;
pub mod top;
pub mod visible;
pub mod workload;

pub use error::{Error, Faults, FieldFault, Result};
