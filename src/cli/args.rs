//! The command line's arguments and subcommands (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Muster: who knows what across government science and engineering.
#[derive(Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// Skills taxonomy file replacing the built-in GSE framework.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) taxonomy: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        /// Where members' skills come from: department profiles of the GSE framework, or ESCO
        /// concepts drawn evenly.
        #[arg(long, value_enum, default_value_t)]
        skills: muster::generate::SkillSource,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Where the record store is.
#[derive(clap::Args)]
pub(crate) struct StoreArg {
    /// The record store: a `postgres://` URL (shared by several servers) or a SQLite file
    /// [default: store.sqlite in the index directory].
    #[arg(long, env = "MUSTER_STORE")]
    pub(crate) store: Option<String>,
}

/// How callers authenticate; with none of these, serve runs in local demo mode.
#[derive(clap::Args)]
pub(crate) struct AuthArgs {
    /// API key file written by `muster token create`.
    #[arg(long, env = "MUSTER_TOKENS")]
    pub(crate) tokens: Option<PathBuf>,
    /// File holding the HS256 secret for JWTs.
    #[arg(long, env = "MUSTER_JWT_HS256_SECRET_FILE")]
    pub(crate) jwt_hs256_secret_file: Option<PathBuf>,
    /// PEM public key for RS256/ES256 JWTs.
    #[arg(long, env = "MUSTER_JWT_PUBLIC_KEY")]
    pub(crate) jwt_public_key: Option<PathBuf>,
    /// Algorithm of --jwt-public-key: RS256 or ES256.
    #[arg(long, default_value = "RS256")]
    pub(crate) jwt_algorithm: String,
    /// Seconds of clock difference allowed when checking a JWT's `exp` and `nbf`.
    #[arg(long, default_value_t = muster::access::JWT_LEEWAY_SECS)]
    pub(crate) jwt_leeway_secs: u64,
    /// Audit log (JSON Lines); default: audit.jsonl in the index directory.
    #[arg(long)]
    pub(crate) audit: Option<PathBuf>,
    /// Days audit entries are kept; older ones are deleted at start and daily (default 13 months).
    #[arg(long, default_value_t = muster::audit::AUDIT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) audit_retention_days: u32,
    /// Requests per second per token (bursts of twice that); 0 for no limit.
    #[arg(long, default_value_t = 50.0)]
    pub(crate) rate_limit: f64,
    /// Requests worked on at once, bodies already read [default: twice the cores].
    #[arg(long)]
    pub(crate) max_in_flight: Option<usize>,
    /// Requests that may wait up to half a second for a place; past that 503 with Retry-After
    /// at once [default: eight per core].
    #[arg(long)]
    pub(crate) queue: Option<usize>,
    /// Seconds a connection has to send a request head, from opening or from its previous
    /// answer (so also the idle keep-alive timeout).
    #[arg(long, default_value_t = 10)]
    pub(crate) header_timeout_secs: u64,
    /// Seconds a request body has to arrive (else 408).
    #[arg(long, default_value_t = 10)]
    pub(crate) body_timeout_secs: u64,
    /// Connections open at once; past that the longest-idle one is closed [default: three
    /// quarters of the open-file limit, which start-up raises to the hard limit].
    #[arg(long)]
    pub(crate) max_connections: Option<usize>,
    /// Mark the web session cookie Secure (the site is served over TLS; behind a proxy that
    /// sends `X-Forwarded-Proto: https` it is marked so anyway).
    #[arg(long, env = "MUSTER_SECURE_COOKIES")]
    pub(crate) secure_cookies: bool,
    /// Single sign-on: the OpenID provider's issuer URL (its discovery document is read at
    /// start). Needs --oidc-client-id, a client secret, --oidc-grants and --public-url.
    #[arg(long, env = "MUSTER_OIDC_ISSUER")]
    pub(crate) oidc_issuer: Option<String>,
    /// Muster's client id at the provider.
    #[arg(long, env = "MUSTER_OIDC_CLIENT_ID")]
    pub(crate) oidc_client_id: Option<String>,
    /// File holding Muster's client secret at the provider (or set MUSTER_OIDC_CLIENT_SECRET).
    #[arg(long, env = "MUSTER_OIDC_CLIENT_SECRET_FILE")]
    pub(crate) oidc_client_secret_file: Option<PathBuf>,
    /// Which claims give which access (JSON; see the README's "Sign in"). No grant, no access.
    #[arg(long, env = "MUSTER_OIDC_GRANTS")]
    pub(crate) oidc_grants: Option<PathBuf>,
    /// The `aud` API access tokens from the provider must carry [default: the client id].
    #[arg(long, env = "MUSTER_OIDC_API_AUDIENCE")]
    pub(crate) oidc_api_audience: Option<String>,
    /// Scopes asked for besides openid, separated by spaces or commas.
    #[arg(long, env = "MUSTER_OIDC_SCOPES", default_value = "email profile")]
    pub(crate) oidc_scopes: String,
    /// Shortest time between fetches of the provider's signing keys, which a token signed by
    /// a key not yet held sets off.
    #[arg(long, default_value_t = 30)]
    pub(crate) oidc_min_refetch_secs: u64,
    /// Muster's address as browsers reach it (https://muster.example.gov.uk): the provider
    /// sends people back to it plus /sign-in/callback. An https address marks cookies Secure.
    #[arg(long, env = "MUSTER_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
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
pub(crate) enum TaxonomyCommand {
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
