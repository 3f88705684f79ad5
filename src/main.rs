//! The `muster` command line: parse arguments, call the library, turn the outcome into an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use muster::access::Caller;
use muster::generate::{self, Spec};
use muster::http::{self, AppState, HttpConfig};
use muster::index::{self, BuildOptions};
use muster::model::{Kind, Marking};
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
    /// Load a directory of data files into the record store (merging, unless --replace) and
    /// rebuild the index from the store, replacing the current one atomically.
    #[command(visible_alias = "import")]
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
        /// At most this many segments, each of at least 50,000 records: searches read them in
        /// parallel on idle cores (default: this machine's cores; give the serving machine's).
        #[arg(long)]
        segments: Option<usize>,
        /// Make the record store hold exactly the files' records, deleting every other (API
        /// writes among them). Without it a load merges: a file's record replaces the stored
        /// one with the same kind and id, and every other stored record is kept.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Rebuild the index from the record store alone (after a taxonomy change, say).
    Rebuild {
        /// Index directory (holding the record store).
        #[arg(long, default_value = "index")]
        index: PathBuf,
        #[command(flatten)]
        store: StoreArg,
        /// At most this many segments (as for `index`).
        #[arg(long)]
        segments: Option<usize>,
    },
    /// Write every record in the store as data files (members.jsonl, case_studies.jsonl,
    /// facilities.jsonl, every field and marking), which `muster import` reads back.
    Export {
        /// Index directory (holding the record store).
        #[arg(long, default_value = "index")]
        index: PathBuf,
        #[command(flatten)]
        store: StoreArg,
        /// Directory to write the files into (made if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the API and web page. The first time, fills the record store from --data; builds
    /// the index from the store whenever there is none of this version.
    Serve {
        /// Index directory.
        #[arg(long, default_value = "index")]
        index: PathBuf,
        /// Data to fill the record store with when it has never held a record.
        #[arg(long, default_value = "fixtures")]
        data: PathBuf,
        #[command(flatten)]
        store: StoreArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "MUSTER_BIND")]
        bind: String,
        /// Local demo mode with no access control (required to serve beyond loopback without tokens).
        #[arg(long)]
        open: bool,
        /// Allow browsers on these origins to call the API (`*` for any); repeatable.
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// Request timeout in seconds.
        #[arg(long, default_value_t = 10)]
        timeout_secs: u64,
        #[command(flatten)]
        auth: Box<AuthArgs>,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Search from the terminal and print a table.
    Search {
        /// Plain words; quotes make a phrase.
        query: Option<String>,
        /// What to search: experts, case-studies or facilities.
        #[arg(long, default_value = "experts")]
        kind: String,
        /// Index directory.
        #[arg(long, default_value = "index")]
        index: PathBuf,
        /// Skill (repeatable).
        #[arg(long)]
        skill: Vec<String>,
        /// Minimum level for --skill (1-4 or a word).
        #[arg(long)]
        min_level: Option<String>,
        /// Department (repeatable; a parent includes its children).
        #[arg(long)]
        department: Vec<String>,
        /// Minimum clearance, in date.
        #[arg(long)]
        clearance: Option<String>,
        /// Deployable within (now, 24h, week, month).
        #[arg(long)]
        availability: Option<String>,
        /// Region (repeatable).
        #[arg(long)]
        region: Vec<String>,
        /// lat,lon
        #[arg(long)]
        near: Option<String>,
        /// With --near: radius in km.
        #[arg(long)]
        within_km: Option<String>,
        /// Number of results.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Assemble an emergency team from a need file (the body of `POST /v1/muster`).
    Muster {
        /// JSON need file, or `-` for standard input.
        #[arg(long)]
        file: PathBuf,
        /// Index directory.
        #[arg(long, default_value = "index")]
        index: PathBuf,
        /// Highest marking to read: OFFICIAL or OFFICIAL-SENSITIVE.
        #[arg(long, default_value = "OFFICIAL")]
        max_marking: String,
        /// Output: text (a readable summary), json or csv (a contact sheet).
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Measure ranking quality (nDCG@10, MRR) on the judged queries in fixtures/eval.
    Eval {
        /// Data the judgments refer to.
        #[arg(long, default_value = "fixtures")]
        data: PathBuf,
        /// Judged queries.
        #[arg(long, default_value = "fixtures/eval")]
        eval: PathBuf,
        /// Recompute judgments.jsonl from the data (what members hold), then evaluate.
        #[arg(long)]
        write_judgments: bool,
        /// Query understanding off: plain BM25 (the baseline).
        #[arg(long)]
        plain: bool,
        /// Instead: measure the concept matcher on the skill_norm_tech benchmark in this
        /// directory (tech_val.jsonl, tech_test.jsonl), beside its BM25-max reference.
        #[arg(long, value_name = "DIR", num_args = 0..=1,
              default_missing_value = "../shared/benchmarks/skill_norm_tech")]
        skill_norm: Option<PathBuf>,
        /// Instead: measure expert finding from authored work on the aminer_dblp7 benchmark in
        /// this directory, beside document voting over the same case-study search.
        #[arg(long, value_name = "DIR", num_args = 0..=1,
              default_missing_value = "../shared/benchmarks/aminer_dblp7")]
        aminer: Option<PathBuf>,
    },
    /// Skills taxonomy tools.
    #[command(subcommand)]
    Taxonomy(TaxonomyCommand),
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

/// Where the record store is.
#[derive(clap::Args)]
struct StoreArg {
    /// The record store: a `postgres://` URL (shared by several servers) or a SQLite file
    /// [default: store.sqlite in the index directory].
    #[arg(long, env = "MUSTER_STORE")]
    store: Option<String>,
}

/// How callers authenticate; with none of these, serve runs in local demo mode.
#[derive(clap::Args)]
struct AuthArgs {
    /// API key file written by `muster token create`.
    #[arg(long, env = "MUSTER_TOKENS")]
    tokens: Option<PathBuf>,
    /// File holding the HS256 secret for JWTs.
    #[arg(long, env = "MUSTER_JWT_HS256_SECRET_FILE")]
    jwt_hs256_secret_file: Option<PathBuf>,
    /// PEM public key for RS256/ES256 JWTs.
    #[arg(long, env = "MUSTER_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<PathBuf>,
    /// Algorithm of --jwt-public-key: RS256 or ES256.
    #[arg(long, default_value = "RS256")]
    jwt_algorithm: String,
    /// Seconds of clock difference allowed when checking a JWT's `exp` and `nbf`.
    #[arg(long, default_value_t = muster::access::JWT_LEEWAY_SECS)]
    jwt_leeway_secs: u64,
    /// Audit log (JSON Lines); default: audit.jsonl in the index directory.
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Days audit entries are kept; older ones are deleted at start and daily (default 13 months).
    #[arg(long, default_value_t = muster::audit::AUDIT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    audit_retention_days: u32,
    /// Requests per second per token (bursts of twice that); 0 for no limit.
    #[arg(long, default_value_t = 50.0)]
    rate_limit: f64,
    /// Requests worked on at once, bodies already read [default: twice the cores].
    #[arg(long)]
    max_in_flight: Option<usize>,
    /// Requests that may wait up to half a second for a place; past that 503 with Retry-After
    /// at once [default: eight per core].
    #[arg(long)]
    queue: Option<usize>,
    /// Seconds a connection has to send a request head, from opening or from its previous
    /// answer (so also the idle keep-alive timeout).
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a request body has to arrive (else 408).
    #[arg(long, default_value_t = 10)]
    body_timeout_secs: u64,
    /// Connections open at once; past that the longest-idle one is closed [default: three
    /// quarters of the open-file limit, which start-up raises to the hard limit].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Mark the web session cookie Secure (the site is served over TLS; behind a proxy that
    /// sends `X-Forwarded-Proto: https` it is marked so anyway).
    #[arg(long, env = "MUSTER_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Single sign-on: the OpenID provider's issuer URL (its discovery document is read at
    /// start). Needs --oidc-client-id, a client secret, --oidc-grants and --public-url.
    #[arg(long, env = "MUSTER_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// Muster's client id at the provider.
    #[arg(long, env = "MUSTER_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// File holding Muster's client secret at the provider (or set MUSTER_OIDC_CLIENT_SECRET).
    #[arg(long, env = "MUSTER_OIDC_CLIENT_SECRET_FILE")]
    oidc_client_secret_file: Option<PathBuf>,
    /// Which claims give which access (JSON; see the README's "Sign in"). No grant, no access.
    #[arg(long, env = "MUSTER_OIDC_GRANTS")]
    oidc_grants: Option<PathBuf>,
    /// The `aud` API access tokens from the provider must carry [default: the client id].
    #[arg(long, env = "MUSTER_OIDC_API_AUDIENCE")]
    oidc_api_audience: Option<String>,
    /// Scopes asked for besides openid, separated by spaces or commas.
    #[arg(long, env = "MUSTER_OIDC_SCOPES", default_value = "email profile")]
    oidc_scopes: String,
    /// Shortest time between fetches of the provider's signing keys, which a token signed by
    /// a key not yet held sets off.
    #[arg(long, default_value_t = 30)]
    oidc_min_refetch_secs: u64,
    /// Muster's address as browsers reach it (https://muster.example.gov.uk): the provider
    /// sends people back to it plus /sign-in/callback. An https address marks cookies Secure.
    #[arg(long, env = "MUSTER_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API key; it is printed once and only its salted hash is stored.
    Create {
        /// reader, editor or admin.
        #[arg(long)]
        role: String,
        /// OFFICIAL or OFFICIAL-SENSITIVE.
        #[arg(long, default_value = "OFFICIAL")]
        max_marking: String,
        /// Who the key is for (shown in the audit log).
        #[arg(long)]
        subject: String,
        /// Grant the vetting permission: see people's clearances, filter and muster on them.
        #[arg(long)]
        vetting: bool,
        /// Key file to add it to.
        #[arg(long, default_value = "muster-tokens.json", env = "MUSTER_TOKENS")]
        tokens: PathBuf,
    },
}

#[derive(Subcommand)]
enum TaxonomyCommand {
    /// Check a framework file (labels used once, a synonym naming one concept, ESCO links that
    /// exist) and list which ESCO concepts each framework concept is linked to.
    Check {
        /// The framework file (default: the built-in GSE framework).
        file: Option<PathBuf>,
    },
    /// Rebuild the compiled-in ESCO file from the official ESCO v1.1.1 CSV zip.
    ImportEsco {
        /// The ESCO CSV download.
        #[arg(long, default_value = "../shared/reference/esco_v1.1.1_en_csv.zip")]
        zip: PathBuf,
        /// Where to write the compact file.
        #[arg(long, default_value = "src/taxonomy/esco.tsv")]
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
            let mut pairs: Vec<(String, String)> = Vec::new();
            let mut push = |k: &str, v: String| pairs.push((k.to_string(), v));
            if let Some(q) = query {
                push("q", q);
            }
            skill.into_iter().for_each(|v| push("skill", v));
            department.into_iter().for_each(|v| push("department", v));
            region.into_iter().for_each(|v| push("region", v));
            if let Some(v) = min_level {
                push("min_level", v);
            }
            if let Some(v) = clearance {
                push("clearance", v);
            }
            if let Some(v) = availability {
                push("availability", v);
            }
            if let Some(v) = near {
                push("near", v);
            }
            if let Some(v) = within_km {
                push("within_km", v);
            }
            push("limit", limit.to_string());
            let request = muster::search::parse_search(
                Some(kind),
                &pairs,
                &Caller::demo(),
                muster::search::today(),
            )?;
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

#[allow(clippy::too_many_arguments)]
fn serve(
    taxonomy: Arc<Taxonomy>,
    index_dir: &std::path::Path,
    store: Option<&str>,
    data: &std::path::Path,
    bind: &str,
    open: bool,
    cors_origins: Vec<String>,
    timeout_secs: u64,
    auth: Box<AuthArgs>,
) -> anyhow::Result<ExitCode> {
    let address: std::net::SocketAddr = bind
        .parse()
        .with_context(|| format!("--bind `{bind}` is not an address like 127.0.0.1:8080"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let authenticator = authenticator(&auth, &runtime)?;
    let demo = !authenticator.is_configured();
    if demo && !address.ip().is_loopback() && !open {
        anyhow::bail!(
            "no access tokens are configured: refusing to serve on {address}, which is not loopback; configure --tokens or a JWT key, or pass --open for a demo that anyone on the network can read"
        );
    }
    if demo {
        tracing::warn!(
            "LOCAL DEMO MODE: no tokens configured; every caller reads OFFICIAL records as a demo reader and nobody can write"
        );
    }
    // held until the process ends: a second serve or a concurrent `muster index` fails fast
    let lock = index::IndexLock::acquire(index_dir)?;
    let store = muster::store::Store::open(store, index_dir)?;
    if let Some(built) = index::prepare_to_serve(
        &store,
        data,
        &lock,
        taxonomy.clone(),
        &build_options(false, None),
    )? {
        eprintln!("{}", built.report);
    }
    let opened = index::open(index_dir, taxonomy)?;
    // opening the writer brings the index up to date with the store, demo mode included
    let writer = Arc::new(index::RecordWriter::open(&opened, lock, Arc::new(store))?);
    if writer.store().is_shared() {
        tracing::info!(store = %writer.store().describe(), "following the shared record store");
        writer.follow();
    }
    let writer = (!demo).then_some(writer);
    let audit_path = auth
        .audit
        .clone()
        .unwrap_or_else(|| index_dir.join("audit.jsonl"));
    let audit = std::sync::Arc::new(muster::audit::AuditLog::open(&audit_path)?);
    keep_audit_for(audit.clone(), auth.audit_retention_days)?;
    let defaults = HttpConfig::default();
    let file_limit = http::serve::raise_file_limit();
    let limits = http::serve::ConnectionLimits {
        header_read_timeout: std::time::Duration::from_secs(auth.header_timeout_secs),
        max_connections: auth
            .max_connections
            .unwrap_or_else(|| http::serve::connections_for(file_limit)),
    };
    tracing::info!(
        file_limit,
        max_connections = limits.max_connections,
        "open-file limit in force"
    );
    let config = HttpConfig {
        cors_origins,
        timeout: std::time::Duration::from_secs(timeout_secs),
        demo,
        rate_limit: (auth.rate_limit > 0.0).then_some(auth.rate_limit),
        max_in_flight: auth.max_in_flight.unwrap_or(defaults.max_in_flight),
        queue: auth.queue.unwrap_or(defaults.queue),
        body_timeout: std::time::Duration::from_secs(auth.body_timeout_secs),
        secure_cookies: auth.secure_cookies
            || auth
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
        ..HttpConfig::default()
    };
    let state = AppState::new(opened, config)?.with_auth(authenticator, Some(audit), writer);
    // facet tables are built in the background while the server starts answering
    let warm = state.index.clone();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        match muster::search::warm_facets(&warm) {
            Ok(()) => tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "facet tables ready"
            ),
            Err(e) => tracing::warn!(error = %e, "facet tables not prepared: built on first use"),
        }
    });
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
        tracing::info!(address = %listener.local_addr()?, documents = state.index.total_docs(), "serving");
        eprintln!("Muster is serving on http://{}", listener.local_addr()?);
        http::serve(listener, http::router(state), limits, http::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn build_options(strict: bool, segments: Option<usize>) -> BuildOptions {
    let defaults = BuildOptions::default();
    BuildOptions {
        strict,
        progress: true,
        segments: segments.unwrap_or(defaults.segments),
        ..defaults
    }
}

/// The record store `location` names, or else that of `index_dir`, which must exist.
fn existing_store(
    location: Option<&str>,
    index_dir: &std::path::Path,
) -> anyhow::Result<muster::store::Store> {
    let path = index_dir.join(muster::store::STORE_FILE);
    if location.is_none() && !path.exists() {
        anyhow::bail!(
            "{} has no record store ({}): load data with `muster index` or `muster serve` first",
            index_dir.display(),
            path.display()
        );
    }
    Ok(muster::store::Store::open(location, index_dir)?)
}

/// Writes the store's records to `out` as the three data files, each sorted by id (so two
/// stores holding the same records export the same bytes); the counts per kind.
fn export(store: &muster::store::Store, out: &std::path::Path) -> anyhow::Result<[u64; 3]> {
    use muster::model::Kind;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut lines: [Vec<(String, String)>; 3] = Default::default();
    store.records(&mut |record| {
        let slot = Kind::ALL
            .iter()
            .position(|k| *k == record.kind())
            .unwrap_or(0);
        lines[slot].push((record.id().to_string(), record.to_json().to_string()));
        Ok(())
    })?;
    let mut counts = [0u64; 3];
    for (slot, name) in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"]
        .iter()
        .enumerate()
    {
        let records = &mut lines[slot];
        records.sort();
        let mut text = String::new();
        for (_, line) in records.iter() {
            text.push_str(line);
            text.push('\n');
        }
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        counts[slot] = records.len() as u64;
    }
    Ok(counts)
}

/// Deletes audit entries older than `days` now, then once a day on a thread of its own.
fn keep_audit_for(log: Arc<muster::audit::AuditLog>, days: u32) -> anyhow::Result<()> {
    let prune = move || -> muster::Result<u64> {
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        log.prune(cutoff)
    };
    let removed = prune()?;
    tracing::info!(
        days,
        removed,
        "audit entries older than the retention deleted"
    );
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(24 * 60 * 60));
            match prune() {
                Ok(removed) => tracing::info!(days, removed, "audit retention applied"),
                Err(e) => tracing::error!(error = %e, "cannot apply the audit retention"),
            }
        }
    });
    Ok(())
}

/// The token checks configured by the serve flags; none configured means demo mode.
fn authenticator(
    auth: &AuthArgs,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<muster::access::Authenticator> {
    use muster::access::{Authenticator, JwtVerifier, KeyFile};
    let keys = match &auth.tokens {
        Some(path) => {
            let file = KeyFile::read(path)?;
            if file.keys.is_empty() {
                anyhow::bail!(
                    "--tokens {} holds no keys: create one with `muster token create`",
                    path.display()
                );
            }
            file
        }
        None => KeyFile::default(),
    };
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let jwt = match (&auth.jwt_hs256_secret_file, &auth.jwt_public_key) {
        (Some(_), Some(_)) => {
            anyhow::bail!("give either --jwt-hs256-secret-file or --jwt-public-key, not both")
        }
        (Some(secret), None) => {
            let secret = read(secret)?;
            let secret = secret.trim_ascii();
            if secret.len() < 32 {
                anyhow::bail!("the HS256 secret must be at least 32 bytes");
            }
            Some(JwtVerifier::hs256(secret))
        }
        (None, Some(pem)) => Some(JwtVerifier::public_key(&auth.jwt_algorithm, &read(pem)?)?),
        (None, None) => None,
    }
    .map(|jwt| jwt.with_leeway(auth.jwt_leeway_secs));
    let authenticator = Authenticator::new(keys, jwt);
    Ok(match provider_config(auth)? {
        Some(config) => authenticator.with_provider(Arc::new(
            runtime.block_on(muster::oidc::Provider::discover(config))?,
        )),
        None => authenticator,
    })
}

/// The single sign-on settings, when an issuer is given; each missing one is named.
fn provider_config(auth: &AuthArgs) -> anyhow::Result<Option<muster::oidc::OidcConfig>> {
    let Some(issuer) = &auth.oidc_issuer else {
        return Ok(None);
    };
    let needed = |value: Option<&String>, flag: &str| {
        value
            .cloned()
            .with_context(|| format!("--oidc-issuer needs {flag} too"))
    };
    let client_secret = match (
        &auth.oidc_client_secret_file,
        std::env::var("MUSTER_OIDC_CLIENT_SECRET"),
    ) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .trim()
            .to_string(),
        (None, Ok(secret)) => secret,
        (None, Err(_)) => anyhow::bail!(
            "--oidc-issuer needs the client secret: --oidc-client-secret-file or MUSTER_OIDC_CLIENT_SECRET"
        ),
    };
    let grants = match &auth.oidc_grants {
        Some(path) => muster::claims::Grants::read(path)?,
        None => anyhow::bail!(
            "--oidc-issuer needs --oidc-grants: which claims give which access (no grant, no access)"
        ),
    };
    Ok(Some(muster::oidc::OidcConfig {
        issuer: issuer.clone(),
        client_id: needed(auth.oidc_client_id.as_ref(), "--oidc-client-id")?,
        client_secret,
        public_url: needed(auth.public_url.as_ref(), "--public-url")?,
        api_audience: auth.oidc_api_audience.clone(),
        scopes: auth
            .oidc_scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty() && *s != "openid")
            .map(String::from)
            .collect(),
        grants,
        min_refetch: std::time::Duration::from_secs(auth.oidc_min_refetch_secs),
    }))
}

fn print_table(response: &muster::search::SearchResponse) {
    println!("{} results ({:.1} ms)", response.total, response.took_ms);
    if let Some(better) = &response.did_you_mean {
        println!("did you mean: {better}");
    }
    println!(
        "{:<4} {:<18} {:<28} {:<12} {:>7}  matched skills / evidence",
        "#", "id", "name", "department", "score"
    );
    for (i, hit) in response.hits.iter().enumerate() {
        let skills: Vec<String> = hit
            .matched_skills
            .iter()
            .map(|s| format!("{} ({})", s.name, s.level))
            .collect();
        let mut why = skills.join(", ");
        if !hit.evidence.is_empty() {
            if !why.is_empty() {
                why.push_str("; ");
            }
            let n = hit.evidence.len();
            why.push_str(&format!(
                "{n} case stud{}",
                if n == 1 { "y" } else { "ies" }
            ));
        }
        let name: String = hit.name.chars().take(28).collect();
        println!(
            "{:<4} {:<18} {:<28} {:<12} {:>7.2}  {}",
            i + 1,
            hit.id,
            name,
            hit.department.as_deref().unwrap_or("-"),
            hit.score,
            why
        );
    }
}

/// A muster, readable in a terminal.
fn print_muster(answer: &muster::muster::MusterAnswer) {
    if !answer.inferred_skills.is_empty() {
        println!(
            "Skills inferred from the need: {}",
            answer.inferred_skills.join(", ")
        );
    }
    println!("Team ({}):", answer.team.len());
    for m in &answer.team {
        let email = m.contact.email.as_deref().unwrap_or("");
        println!(
            "  {:<10} {:<28} {:<12} {email}",
            m.id,
            m.name,
            m.department.as_deref().unwrap_or("")
        );
        println!("             {}", m.why);
    }
    for u in &answer.uncovered {
        println!(
            "Uncovered: {} (level {}+): {}",
            u.skill, u.min_level, u.reason
        );
        for a in &u.alternatives {
            println!(
                "  if you relax {}: {} ({}), {}",
                a.relax, a.member.name, a.member.id, a.detail
            );
        }
    }
    for a in answer.alternates.iter().filter(|a| !a.members.is_empty()) {
        let names: Vec<String> = a
            .members
            .iter()
            .map(|c| format!("{} ({})", c.name, c.id))
            .collect();
        println!("Alternates for {}: {}", a.skill, names.join(", "));
    }
    for f in &answer.facilities {
        let distance = f
            .distance_km
            .map(|d| format!("{d:.0} km"))
            .unwrap_or_default();
        println!("Facility: {} ({}) {distance}", f.name, f.id);
    }
    for f in &answer.facility_alternatives {
        println!(
            "Facility if you relax {}: {} ({})",
            f.relax, f.facility.name, f.facility.id
        );
    }
    println!("({} ms)", answer.took_ms);
}

/// One line on pasting paragraphs as queries.
fn print_paragraphs(what: &str, r: &muster::eval::paragraphs::Report) {
    println!(
        "{} {what} as queries: {:.1} people each on average, {} with nobody; an author in the \
         first 10 for {:.0}% (MRR {:.3}); of the first 10, {:.0}% hold a skill the case study names",
        r.queries,
        r.mean_total,
        r.empty,
        100.0 * r.author_in_top10,
        r.author_mrr,
        100.0 * r.skilled_in_top10
    );
}
