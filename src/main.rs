//! The `muster` command line: parse arguments, call the library, turn the outcome into an exit code.

mod cli;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use muster::access::Caller;
use muster::generate::{self, Spec};
use muster::http;
use muster::index;
use muster::model::{Kind, Marking};
use muster::search::SearchParams;
use muster::taxonomy::Taxonomy;

use crate::cli::args::{Cli, Command, TaxonomyCommand, TokenCommand};
use crate::cli::print::{print_muster, print_paragraphs, print_table};
use crate::cli::run_serve::{build_options, existing_store, export, serve};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // colour codes only for a person at a terminal, and never with NO_COLOR set
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
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
    Ok(match path {
        Some(path) => Arc::new(Taxonomy::from_file(path)?),
        None => Taxonomy::builtin(),
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let taxonomy = taxonomy(cli.taxonomy.as_ref())?;
    match cli.command {
        Command::Index {
            data,
            index,
            strict,
            segments,
            replace,
            store,
        } => {
            let options = build_options(strict, segments);
            let mode = if replace {
                muster::store::LoadMode::Replace
            } else {
                muster::store::LoadMode::Merge
            };
            let built = (|| {
                let lock = index::IndexLock::acquire(&index)?;
                let store = muster::store::Store::open(store.store.as_deref(), &index)?;
                let (report, _) = store.load(mode, |sink| {
                    let report = muster::ingest::load_dir(&data, sink)?;
                    if strict && report.rejected() > 0 {
                        return Err(muster::Error::Strict {
                            rejected: report.rejected(),
                            report: report.to_string(),
                        });
                    }
                    Ok(report)
                })?;
                index::build_from_store(&store, &lock, taxonomy, &options, report)
            })();
            match built {
                Ok(outcome) => {
                    println!("{}", outcome.report);
                    println!(
                        "index: {} records in {} ({:.1}s), built from the record store",
                        outcome.documents,
                        outcome.generation.display(),
                        outcome.elapsed.as_secs_f64(),
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(muster::Error::Strict { rejected, report }) => {
                    eprint!("{report}");
                    eprintln!(
                        "error: {rejected} lines were rejected; --strict keeps the record store and the index as they were"
                    );
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e).context("indexing failed"),
            }
        }
        Command::Rebuild {
            index,
            segments,
            store,
        } => {
            let lock = index::IndexLock::acquire(&index)?;
            let store = existing_store(store.store.as_deref(), &index)?;
            let outcome = index::build_from_store(
                &store,
                &lock,
                taxonomy,
                &build_options(false, segments),
                muster::ingest::Report::default(),
            )
            .context("rebuilding failed")?;
            println!(
                "index: {} records in {} ({:.1}s), rebuilt from the record store",
                outcome.documents,
                outcome.generation.display(),
                outcome.elapsed.as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { index, out, store } => {
            let store = existing_store(store.store.as_deref(), &index)?;
            let counts = export(&store, &out)?;
            println!(
                "exported {} members, {} case studies and {} facilities to {}",
                counts[0],
                counts[1],
                counts[2],
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            index,
            data,
            bind,
            open,
            cors_origins,
            timeout_secs,
            auth,
            store,
        } => serve(
            taxonomy,
            &index,
            store.store.as_deref(),
            &data,
            &bind,
            open,
            cors_origins,
            timeout_secs,
            auth,
        ),
        Command::Token(TokenCommand::Create {
            role,
            max_marking,
            subject,
            vetting,
            tokens,
        }) => {
            let role = muster::access::Role::parse(&role)
                .context("--role must be reader, editor or admin")?;
            let max_marking = muster::model::Marking::parse_field(&max_marking, "max-marking")?;
            let mut file = muster::access::KeyFile::read(&tokens)?;
            let (key, mut stored) = muster::access::create_key(&subject, role, max_marking);
            stored.vetting = vetting;
            file.keys.push(stored);
            file.write(&tokens)?;
            eprintln!(
                "added {} key for {subject} ({max_marking}{}) to {}; it is shown only now:",
                role.with_article(),
                if vetting { ", vetting" } else { "" },
                tokens.display()
            );
            println!("{key}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            query,
            kind,
            index,
            skill,
            min_level,
            department,
            clearance,
            availability,
            region,
            near,
            within_km,
            limit,
        } => {
            let kind = Kind::from_path(&kind)
                .filter(|k| k.collection() == kind)
                .with_context(|| {
                    format!("--kind `{kind}` is not experts, case-studies or facilities")
                })?;
            let params = SearchParams {
                q: query,
                skill,
                min_level,
                department,
                clearance,
                availability,
                region,
                near,
                within_km,
                limit: Some(limit.to_string()),
                ..SearchParams::default()
            };
            let request = params.request(Some(kind), &Caller::demo(), muster::search::today())?;
            let opened = index::open(&index, taxonomy)?;
            let response = muster::search::search(&opened, &request)?;
            print_table(&response);
            Ok(ExitCode::SUCCESS)
        }
        Command::Muster {
            file,
            index,
            max_marking,
            format,
        } => {
            let max_marking = Marking::parse_field(&max_marking, "--max-marking")?;
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let deserializer = &mut serde_json::Deserializer::from_str(&text);
            let body: muster::muster::MusterBody = serde_path_to_error::deserialize(deserializer)
                .map_err(|e| {
                anyhow::anyhow!("{}: field `{}`: {}", file.display(), e.path(), e.inner())
            })?;
            let opened = index::open(&index, taxonomy)?;
            let request = muster::muster::MusterRequest::from_body(
                body,
                &opened,
                max_marking,
                http::api::today(),
            )?;
            let answer = muster::muster::muster(&opened, &request)?;
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&answer)?),
                "csv" => print!(
                    "{}",
                    muster::muster::to_csv(&answer, muster::search::today())?
                ),
                "text" => print_muster(&answer),
                other => anyhow::bail!("--format `{other}` is not text, json or csv"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            data,
            eval,
            write_judgments,
            plain,
            skill_norm,
            aminer,
        } => {
            if let Some(dir) = aminer {
                use muster::eval::aminer;
                let bench = aminer::load(&dir)?;
                let opened = index::in_ram(&bench.records, taxonomy)?;
                let line = |name: &str, f: aminer::PoolFigures| {
                    println!(
                        "{name:<28} {:.3}  {:.3}    {:.3}   {:.3}  {:.3}    {:.3}",
                        f.all.map,
                        f.all.ndcg10,
                        f.all.p5,
                        f.labelled.map,
                        f.labelled.ndcg10,
                        f.labelled.p5
                    );
                };
                println!(
                    "{:<28} all {} candidates        labelled {}",
                    "",
                    bench.candidates.len(),
                    bench.labelled.len()
                );
                println!(
                    "{:<28} MAP    nDCG@10  P@5     MAP    nDCG@10  P@5",
                    "ranking"
                );
                line(
                    "Muster experts search",
                    aminer::score(&bench, &aminer::muster_rankings(&opened, &bench)?),
                );
                for voting in aminer::Voting::ALL {
                    line(
                        voting.name(),
                        aminer::score(&bench, &aminer::voting(&opened, &bench, voting)?),
                    );
                }
                for idea in muster::eval::ideas::Idea::ALL {
                    line(
                        idea.name(),
                        aminer::score(
                            &bench,
                            &muster::eval::ideas::rankings(&opened, &bench, idea)?,
                        ),
                    );
                }
                println!(
                    "(the benchmark's BM25 document voting: 0.240  0.301    0.343   0.535  0.608    0.629)"
                );
                print_paragraphs(
                    "abstracts (first 300 characters)",
                    &muster::eval::paragraphs::evaluate(
                        &opened,
                        &bench.records,
                        opened.taxonomy.as_ref(),
                    )?,
                );
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(dir) = skill_norm {
                use muster::eval::skill_norm;
                println!("set        mentions  MAP    MRR    nDCG@10  P@1    (BM25-max reference)");
                for (set, reference) in [
                    ("tech_val", "0.497 0.506 0.540 0.371"),
                    ("tech_test", "0.424 0.438 0.461 0.343"),
                ] {
                    let mentions = skill_norm::read_mentions(&dir.join(format!("{set}.jsonl")))?;
                    let f = skill_norm::evaluate(&taxonomy, &mentions);
                    println!(
                        "{set:<10} {:>8}  {:.3}  {:.3}  {:.3}    {:.3}  ({reference})",
                        f.mentions, f.map, f.mrr, f.ndcg10, f.p1
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            let queries = muster::eval::read_queries(&eval.join("queries.jsonl"))?;
            let (records, _) = index::load_records(&data)?;
            let judgments_path = eval.join("judgments.jsonl");
            if write_judgments {
                let judgments = muster::eval::judge(&queries, &records, &taxonomy);
                muster::eval::write_judgments(&judgments_path, &judgments)?;
                println!(
                    "wrote {} judgments to {}",
                    judgments.len(),
                    judgments_path.display()
                );
            }
            let judgments = muster::eval::read_judgments(&judgments_path)?;
            let opened = index::in_ram(&records, taxonomy)?;
            let report = muster::eval::evaluate(&opened, &queries, &judgments, !plain)?;
            for q in &report.queries {
                println!(
                    "{:<4} nDCG@10 {:.3}  RR {:.3}  {}",
                    q.id, q.ndcg10, q.reciprocal_rank, q.query
                );
            }
            println!(
                "{} queries, query understanding {}: mean nDCG@10 {:.3}, MRR {:.3}",
                report.queries.len(),
                if plain { "off" } else { "on" },
                report.ndcg10,
                report.mrr
            );
            print_paragraphs(
                "case-study summaries",
                &muster::eval::paragraphs::evaluate(&opened, &records, opened.taxonomy.as_ref())?,
            );
            let facility_queries = muster::eval::facilities::read(&eval.join("facilities.jsonl"))?;
            let facilities = muster::eval::facilities::evaluate(&opened, &facility_queries)?;
            println!();
            for (id, ndcg, recall, traps) in &facilities.queries {
                println!("{id:<4} nDCG@10 {ndcg:.3}  recall@10 {recall:.3}  traps offered {traps}");
            }
            println!(
                "{} facility searches: mean nDCG@10 {:.3}, recall@10 {:.3}, traps offered {}",
                facilities.queries.len(),
                facilities.ndcg10,
                facilities.recall10,
                facilities.traps
            );
            let needs = muster::eval::needs::read(&eval.join("needs.jsonl"))?;
            let scores = muster::eval::needs::evaluate(&opened, &records, &needs)?;
            println!();
            println!(
                "need  skills  levels  extra(traps)  capabilities  constraints  team right  violations  covered  labs  bad labs"
            );
            let sum = |f: &dyn Fn(&muster::eval::needs::NeedScore) -> (usize, usize)| {
                scores.iter().fold((0, 0), |(a, b), s| {
                    let (x, y) = f(s);
                    (a + x, b + y)
                })
            };
            for s in &scores {
                println!(
                    "{:<5} {}/{}     {}       {}({})          {}/{}           {:<11}  {}/{}         {}           {}/{}      {}/{}   {}",
                    s.id,
                    s.skills_found.0,
                    s.skills_found.1,
                    s.levels_right,
                    s.skills_extra,
                    s.trap_skills,
                    s.capabilities_found.0,
                    s.capabilities_found.1,
                    if s.constraints_right {
                        "right"
                    } else {
                        "WRONG"
                    },
                    s.team_right.0,
                    s.team_right.1,
                    s.violations,
                    s.covered.0,
                    s.covered.1,
                    s.labs_found.0,
                    s.labs_found.1,
                    s.bad_labs
                );
            }
            let ratio = |(a, b): (usize, usize)| a as f64 / b.max(1) as f64;
            println!(
                "{} needs: answered {}, skills read {:.3}, at the asked level {:.3}, capabilities read {:.3}, \
                 constraints right {}, team qualified and within constraints {:.3}, violations {}, \
                 skills covered {:.3}, labs found {:.3}, trap or closed labs offered {}, trap skills read {}",
                scores.len(),
                scores.iter().filter(|s| s.answered).count(),
                ratio(sum(&|s| s.skills_found)),
                ratio((
                    scores.iter().map(|s| s.levels_right).sum(),
                    sum(&|s| s.skills_found).0
                )),
                ratio(sum(&|s| s.capabilities_found)),
                scores.iter().filter(|s| s.constraints_right).count(),
                ratio(sum(&|s| s.team_right)),
                scores.iter().map(|s| s.violations).sum::<usize>(),
                ratio(sum(&|s| s.covered)),
                ratio(sum(&|s| s.labs_found)),
                scores.iter().map(|s| s.bad_labs).sum::<usize>(),
                scores.iter().map(|s| s.trap_skills).sum::<usize>(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Taxonomy(TaxonomyCommand::Check { file }) => {
            let (text, source) = match &file {
                Some(path) => (
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                    path.display().to_string(),
                ),
                None => (
                    muster::taxonomy::GSE_FRAMEWORK.to_string(),
                    "built-in framework".to_string(),
                ),
            };
            let links = muster::taxonomy::check(&text, &source)?;
            for line in &links {
                println!("{line}");
            }
            println!("{source}: valid; {} concepts linked to ESCO", links.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Taxonomy(TaxonomyCommand::ImportEsco { zip, out }) => {
            let concepts = muster::esco::read_zip(&zip)?;
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&out)
                    .with_context(|| format!("cannot write {}", out.display()))?,
            );
            muster::esco::write_compact(&concepts, &mut file)?;
            std::io::Write::flush(&mut file)?;
            println!(
                "wrote {} ESCO concepts to {}",
                concepts.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            members,
            seed,
            case_studies_per_member,
            csv,
            skills,
            out,
        } => {
            let spec = Spec {
                members,
                case_studies_per_member,
                seed,
                csv,
                skills,
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
