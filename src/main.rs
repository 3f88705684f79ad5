//! The `muster` command line: parse arguments, call the library, turn the outcome into an exit code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use muster::generate::{self, Spec};
use muster::index::{self, BuildOptions};
use muster::taxonomy::Taxonomy;

/// Muster: who knows what across government science and engineering.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Skills taxonomy file replacing the built-in GSE framework.
    #[arg(long, global = true, value_name = "FILE")]
    taxonomy: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the index from a directory of data files, replacing the current one atomically.
    Index {
        /// Directory with members.jsonl / members.csv, case_studies.jsonl, facilities.jsonl.
        #[arg(long, default_value = "fixtures")]
        data: PathBuf,
        /// Index directory.
        #[arg(long, default_value = "index")]
        index: PathBuf,
        /// Exit non-zero (and keep the previous index) if any line is rejected.
        #[arg(long)]
        strict: bool,
    },
    /// Write a deterministic synthetic data set in the ingest format.
    Generate {
        /// Number of members.
        #[arg(long, default_value_t = 2000)]
        members: usize,
        /// Random seed; the same seed and size give identical files.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Case studies per member.
        #[arg(long, default_value_t = 0.075)]
        case_studies_per_member: f64,
        /// Write members as CSV instead of JSON Lines.
        #[arg(long)]
        csv: bool,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn taxonomy(path: Option<&PathBuf>) -> anyhow::Result<Arc<Taxonomy>> {
    Ok(Arc::new(match path {
        Some(path) => Taxonomy::from_file(path)?,
        None => Taxonomy::builtin(),
    }))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let taxonomy = taxonomy(cli.taxonomy.as_ref())?;
    match cli.command {
        Command::Index {
            data,
            index,
            strict,
        } => {
            let options = BuildOptions {
                strict,
                progress: true,
            };
            match index::build(&data, &index, taxonomy, &options) {
                Ok(outcome) => {
                    println!("{}", outcome.report);
                    println!(
                        "index: {} records in {} ({:.1}s)",
                        outcome.documents,
                        outcome.generation.display(),
                        outcome.elapsed.as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(muster::Error::Strict(n)) => {
                    eprintln!("error: {n} lines were rejected; --strict keeps the previous index");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e).context("indexing failed"),
            }
        }
        Command::Generate {
            members,
            seed,
            case_studies_per_member,
            csv,
            out,
        } => {
            let spec = Spec {
                members,
                case_studies_per_member,
                seed,
                csv,
            };
            let written = generate::generate(&spec, &taxonomy, &out)?;
            println!(
                "wrote {} members, {} case studies, {} facilities to {}",
                written.members,
                written.case_studies,
                written.facilities,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
