//! Muster: cross-government expertise search.
//!
//! Who knows what across departments and public-sector research establishments, and which labs
//! can do what, so that in an emergency the right cleared, available people are found in minutes.
//!
//! # Data flow
//!
//! records in -> store -> index -> search -> http
//!
//! 1. [`ingest`] streams JSON Lines / CSV files into validated [`model`] records, reporting every
//!    rejected line with its file, line number, field and reason.
//! 2. [`store`] keeps every record (loaded or written through the API) as the source of truth:
//!    SQLite in the data directory, or PostgreSQL shared by several servers.
//! 3. [`taxonomy`] holds the concepts (the GSE skills framework and [`esco`], each concept meaning
//!    one thing, narrower ones under broader ones) and [`taxonomy::matcher`], the one matcher from
//!    free text to concepts; [`text`] defines how words are folded and stemmed, for both.
//! 4. `schema` turns a record into a tantivy document and reads the stored record back typed
//!    (the only module that knows field names and the skill terms' grammar); [`index`] builds
//!    generations on disk atomically from the store, opens the current one and applies writes
//!    ([`index::RecordWriter`]), following a shared store; its segment cache (a tantivy `Warmer`)
//!    holds what search builds once per segment (facet tables, decoded fields, filter bit sets).
//! 5. [`search`] answers ranked, filtered, faceted queries with the caller's marking inside the
//!    tantivy query, using `visible` (the records a caller may see, cached per segment),
//!    `stats` (BM25 statistics of only those), `facets` (counts in the same pass), `credit`
//!    (authors credited by their case studies) and `top` (a stable order); [`shapes`] are the
//!    typed short facts hits carry; `spelling` and [`suggest`] do "did you mean", typeahead and the
//!    skills tree; [`muster`] assembles an emergency team and its labs from several searches.
//! 6. [`access`] says who is asking (API keys, JWTs, roles) and [`audit`] keeps the log; [`oidc`] and
//!    [`claims`] sign officials in with their department's identity provider; [`http`] serves
//!    the JSON API, writes and the web pages.
//! 7. [`eval`] measures ranking, lab searches, emergency needs and the matcher against judged
//!    sets; [`generate`] writes deterministic synthetic data sets (the shipped fixtures,
//!    benchmarks); [`workload`] is the fixed query mix the benchmarks run.
//!
//! # Layout
//!
//! - [`error`]: the one error type and `Result` alias.
//! - [`model`]: members, case studies, facilities and their ordered enums.
//! - [`reference`](mod@crate::reference): departments, establishments and facilities compiled into the binary.

/// Every thread allocates from mimalloc: glibc's malloc keeps what each thread freed in that
/// thread's arena, so an index build (records read on one thread, documents indexed on others)
/// held on to memory it no longer used until the process ended.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod access;
pub mod audit;
pub mod claims;
mod credit;
pub mod error;
pub mod esco;
pub mod eval;
mod facets;
pub mod generate;
pub mod http;
pub mod index;
pub mod ingest;
pub mod model;
pub mod muster;
pub mod oidc;
pub mod reference;
mod schema;
pub mod search;
pub mod shapes;
mod spelling;
mod stats;
mod stemming;
pub mod store;
pub mod suggest;
pub mod taxonomy;
pub mod text;
mod top;
mod visible;
pub mod workload;

pub use error::{Error, Faults, FieldFault, Result};
