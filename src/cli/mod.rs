//! The parts of the `muster` command line (compiled into the binary only): its arguments, how
//! `serve` is set up, and what is printed.

pub mod args;
pub mod print;
pub mod run_serve;
