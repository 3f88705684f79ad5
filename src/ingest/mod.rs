//! Files in, validated records out, with a report of every line that was rejected and why.
//!
//! Reading streams line by line (a 1 GB file is never held in memory) and caps the length of a
//! line, so one bad line costs at most that much. Each line is validated field by field: a
//! rejection names the file, the line number, the field and the reason, and loading goes on.
//! Members are loaded first, then facilities, then case studies, so references between them
//! (authors, contacts, facilities used) can be checked: an unknown reference is reported and left
//! out, never invented.

mod ahead;
mod csv_rows;
mod json;
mod lines;
mod loader;
#[cfg(test)]
mod properties;
mod report;
#[cfg(test)]
mod tests;

pub use ahead::read_ahead;
pub use csv_rows::csv_row_to_object;
pub use json::{
    Parsed, parse_case_study, parse_facility, parse_json_line, parse_member, parse_object,
    validate_id,
};
pub use lines::{Line, LineReader, MAX_LINE_BYTES};
pub use loader::{Guard, Known, Loader, Sink, load_dir};
pub use report::{FileSummary, MAX_LISTED, MAX_UNMAPPED_LISTED, Rejection, Report, Warning};
