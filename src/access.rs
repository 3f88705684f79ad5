//! Who is asking: authentication (API keys and JWTs), roles, and the audit trail.
//!
//! Every search, count, facet, suggestion and lookup carries the caller's `max_marking` into the
//! tantivy query itself (see `search`), so a record above it does not exist for that caller.
//!
//! API keys look like `mst_<id>_<secret>`. The key file stores, per key, its id, subject, role,
//! highest marking, a random salt and the SHA-256 of salt and secret, never the key itself;
//! `muster token create` prints a new key once. JWTs signed with a configured HS256 secret or
//! RS256/ES256 public key carry `sub`, `role`, `max_marking` and `exp`, so a department's identity
//! system can issue them. Any failure is the same "invalid token" to the caller.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::model::Marking;
use crate::{Error, Result};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search and read.
    Reader,
    /// Also write records.
    Editor,
    /// Also read the audit log and metrics.
    Admin,
}

impl Role {
    /// Parses `reader`, `editor` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "reader" => Some(Role::Reader),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role in words with its article: "a reader", "an editor", "an admin".
    pub fn with_article(self) -> &'static str {
        match self {
            Role::Reader => "a reader",
            Role::Editor => "an editor",
            Role::Admin => "an admin",
        }
    }
}

/// An authenticated (or demo) caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Who: a token subject.
    pub subject: String,
    /// What they may do.
    pub role: Role,
    /// The highest marking they may read.
    pub max_marking: Marking,
    /// The `vetting` permission: may see people's security clearances and filter, facet and
    /// assemble teams on them (need to know; granted to those who assemble teams).
    #[serde(default)]
    pub vetting: bool,
}

impl Caller {
    /// The caller of local demo mode: a reader of OFFICIAL records only, who sees the synthetic
    /// data's clearances (there is no one to keep them from).
    pub fn demo() -> Caller {
        Caller {
            subject: "demo".into(),
            role: Role::Reader,
            max_marking: Marking::Official,
            vetting: true,
        }
    }
}

/// One API key as stored: no secret, only its salted hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Public part of the key, to find this entry.
    pub id: String,
    /// Who the key belongs to (appears in the audit log).
    pub subject: String,
    /// Role granted.
    pub role: Role,
    /// Highest marking readable.
    pub max_marking: Marking,
    /// The `vetting` permission (people's clearances); absent in older key files: not granted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vetting: bool,
    /// Random salt, hex.
    pub salt: String,
    /// SHA-256 of salt and secret, hex.
    pub hash: String,
}

/// The key file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyFile {
    /// Keys.
    pub keys: Vec<StoredKey>,
}

impl KeyFile {
    /// Reads a key file; a missing file is an empty one.
    pub fn read(path: &Path) -> Result<KeyFile> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::field("tokens", format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
            Err(source) => Err(Error::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the key file atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = path.with_extension("tmp");
        // readable by its owner only: the hashes are not secrets, but who holds which key is
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system provides randomness");
    hex(&buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(salt: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b":");
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

/// Compares without stopping at the first difference (`subtle`).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Makes a new API key: the key to give out (once) and what to store.
pub fn create_key(subject: &str, role: Role, max_marking: Marking) -> (String, StoredKey) {
    let id = random_hex(6);
    let secret = random_hex(32);
    let salt = random_hex(16);
    let stored = StoredKey {
        hash: hash(&salt, &secret),
        id: id.clone(),
        subject: subject.to_string(),
        role,
        max_marking,
        vetting: false,
        salt,
    };
    (format!("mst_{id}_{secret}"), stored)
}

/// The permission to see people's security clearances.
pub const VETTING: &str = "vetting";

/// Why a request about people's clearances is refused to a caller without the permission.
pub const VETTING_NEEDED: &str = "people's security clearances are shown only to those granted the vetting permission (ask your Muster administrator)";

/// JWT claims Muster reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// `reader`, `editor` or `admin`.
    pub role: String,
    /// `OFFICIAL` or `OFFICIAL-SENSITIVE`.
    pub max_marking: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before (seconds since the epoch), checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Permissions beyond the role: `vetting` grants people's clearances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

/// How JWTs are verified: signature, `exp` and `nbf`, each time allowed [`JWT_LEEWAY_SECS`] of
/// clock difference unless set otherwise (the library's default, 60 s, lets a token that expired
/// a minute ago in).
pub struct JwtVerifier {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

/// Default clock difference allowed when checking a JWT's times.
pub const JWT_LEEWAY_SECS: u64 = 5;

fn validation(algorithm: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.leeway = JWT_LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation
}

impl JwtVerifier {
    /// Allows `seconds` of clock difference when checking `exp` and `nbf`.
    pub fn with_leeway(mut self, seconds: u64) -> JwtVerifier {
        self.validation.leeway = seconds;
        self
    }

    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8]) -> JwtVerifier {
        JwtVerifier {
            key: jsonwebtoken::DecodingKey::from_secret(secret),
            validation: validation(jsonwebtoken::Algorithm::HS256),
        }
    }

    /// RS256 or ES256 with a PEM public key.
    pub fn public_key(algorithm: &str, pem: &[u8]) -> Result<JwtVerifier> {
        let bad = |e: jsonwebtoken::errors::Error| Error::field("jwt-public-key", e.to_string());
        let (key, algorithm) = match algorithm {
            "RS256" => (
                jsonwebtoken::DecodingKey::from_rsa_pem(pem).map_err(bad)?,
                jsonwebtoken::Algorithm::RS256,
            ),
            "ES256" => (
                jsonwebtoken::DecodingKey::from_ec_pem(pem).map_err(bad)?,
                jsonwebtoken::Algorithm::ES256,
            ),
            other => {
                return Err(Error::field(
                    "jwt-algorithm",
                    format!("`{other}` is not RS256 or ES256"),
                ));
            }
        };
        Ok(JwtVerifier {
            key,
            validation: validation(algorithm),
        })
    }
}

/// Why a request was not authenticated. Callers only ever see "invalid or missing token".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that is malformed, unknown, wrongly signed or expired.
    Invalid,
    /// A token of the identity provider's signed with a key Muster has not fetched (yet):
    /// fetching the keys again may make it valid (see [`crate::oidc::Provider::refetch_keys`]).
    UnknownKey,
}

/// Checks bearer tokens.
#[derive(Default)]
pub struct Authenticator {
    keys: HashMap<String, StoredKey>,
    jwt: Option<JwtVerifier>,
    provider: Option<Arc<crate::oidc::Provider>>,
}

impl Authenticator {
    /// An authenticator over stored keys and an optional JWT verifier.
    pub fn new(keys: KeyFile, jwt: Option<JwtVerifier>) -> Authenticator {
        Authenticator {
            keys: keys.keys.into_iter().map(|k| (k.id.clone(), k)).collect(),
            jwt,
            provider: None,
        }
    }

    /// Also signs people in with, and accepts API access tokens from, an OpenID provider.
    pub fn with_provider(mut self, provider: Arc<crate::oidc::Provider>) -> Authenticator {
        self.provider = Some(provider);
        self
    }

    /// The OpenID provider people sign in with, if one is configured.
    pub fn provider(&self) -> Option<&Arc<crate::oidc::Provider>> {
        self.provider.as_ref()
    }

    /// Whether any way of authenticating is configured (otherwise: demo mode).
    pub fn is_configured(&self) -> bool {
        !self.keys.is_empty() || self.jwt.is_some() || self.provider.is_some()
    }

    /// The caller behind an `Authorization` header value.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> std::result::Result<Caller, AuthFailure> {
        let header = authorization.ok_or(AuthFailure::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(AuthFailure::Missing)?;
        if let Some(rest) = token.strip_prefix("mst_") {
            let (id, secret) = rest.split_once('_').ok_or(AuthFailure::Invalid)?;
            let stored = self.keys.get(id).ok_or(AuthFailure::Invalid)?;
            if !constant_time_eq(
                hash(&stored.salt, secret).as_bytes(),
                stored.hash.as_bytes(),
            ) {
                return Err(AuthFailure::Invalid);
            }
            return Ok(Caller {
                subject: stored.subject.clone(),
                role: stored.role,
                max_marking: stored.max_marking,
                vetting: stored.vetting,
            });
        }
        if let Some(provider) = &self.provider
            && provider.claims_to_be_ours(token)
        {
            return provider
                .check_access_token(token)
                .map_err(|check| match check {
                    crate::oidc::TokenCheck::UnknownKey => AuthFailure::UnknownKey,
                    crate::oidc::TokenCheck::Invalid => AuthFailure::Invalid,
                });
        }
        let jwt = self.jwt.as_ref().ok_or(AuthFailure::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &jwt.key, &jwt.validation)
            .map_err(|_| AuthFailure::Invalid)?;
        let claims = data.claims;
        Ok(Caller {
            role: Role::parse(&claims.role).ok_or(AuthFailure::Invalid)?,
            max_marking: Marking::parse(&claims.max_marking).ok_or(AuthFailure::Invalid)?,
            vetting: claims.permissions.iter().any(|p| p == VETTING),
            subject: claims.sub,
        })
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// RFC 3339 time.
    pub time: String,
    /// Token subject, or `-` when there was none.
    pub subject: String,
    /// What was attempted: method and path, or a write action.
    pub action: String,
    /// Record ids concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// `ok` or why it was refused.
    pub outcome: String,
    /// The request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The lowest marking an admin must be cleared for to read this entry (the caller's
    /// highest); an entry without one is read only by admins cleared for every marking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub marking: Option<Marking>,
}

impl AuditEntry {
    /// Whether an admin cleared for `max_marking` may read this entry.
    pub fn readable_at(&self, max_marking: Marking) -> bool {
        let top = Marking::ALL.last().copied().unwrap_or(max_marking);
        self.marking.unwrap_or(top) <= max_marking
    }
}

/// An append-only JSON Lines audit log. Never contains a token.
///
/// A write's or a refusal's entry is on disk before [`AuditLog::record`] returns; concurrent ones
/// share one sync (group commit). A read's entry ([`AuditLog::note`]) is written to the file
/// before the answer (so it survives the process crashing) and synced within
/// [`READ_SYNC_INTERVAL`] by a thread of the log's own, so auditing every search costs no sync
/// on the request's path; only a power cut can lose the last moment of reads.
pub struct AuditLog {
    path: PathBuf,
    shared: std::sync::Arc<Shared>,
}

struct Shared {
    file: Mutex<Appender>,
    /// How many entries are known to be on disk.
    synced: Mutex<u64>,
}

struct Appender {
    file: std::fs::File,
    /// Entries appended since the log was opened.
    written: u64,
}

/// How long audit entries are kept by default: 13 months.
pub const AUDIT_RETENTION_DAYS: u32 = 396;

/// The longest a read's audit entry waits to be synced to disk.
pub const READ_SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

impl Shared {
    fn append(&self, line: &str) -> std::io::Result<u64> {
        let mut appender = self.file.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(appender.file, "{line}")?;
        appender.written += 1;
        Ok(appender.written)
    }

    /// Syncs the file unless a sync that started after entry `mine` was appended covered it.
    fn sync_through(&self, mine: u64) -> std::io::Result<()> {
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= mine {
            return Ok(());
        }
        let (upto, handle) = {
            let appender = self.file.lock().unwrap_or_else(|e| e.into_inner());
            (appender.written, appender.file.try_clone())
        };
        handle?.sync_data()?;
        *synced = upto;
        Ok(())
    }
}

impl AuditLog {
    /// Opens (creating) the log at `path`, with the thread that syncs reads' entries.
    pub fn open(path: &Path) -> Result<AuditLog> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::Read {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let shared = std::sync::Arc::new(Shared {
            file: Mutex::new(Appender {
                file: Self::append_to(path)?,
                written: 0,
            }),
            synced: Mutex::new(0),
        });
        let weak = std::sync::Arc::downgrade(&shared);
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("audit-sync".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(READ_SYNC_INTERVAL);
                    let Some(shared) = weak.upgrade() else {
                        return; // the log is closed
                    };
                    let written = shared.file.lock().map(|a| a.written).unwrap_or(0);
                    if let Err(e) = shared.sync_through(written) {
                        tracing::error!(error = %e, path = %shown, "cannot sync the audit log");
                    }
                }
            })
            .map_err(Error::Io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            shared,
        })
    }

    fn append_to(path: &Path) -> Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a write's or a refusal's entry and syncs it, so it survives a crash.
    pub fn record(&self, entry: AuditEntry) {
        let synced = self
            .append(entry)
            .and_then(|mine| self.shared.sync_through(mine));
        if let Err(e) = synced {
            self.report(e);
        }
    }

    /// Appends a read's entry; it is synced within [`READ_SYNC_INTERVAL`].
    pub fn note(&self, entry: AuditEntry) {
        if let Err(e) = self.append(entry) {
            self.report(e);
        }
    }

    fn append(&self, mut entry: AuditEntry) -> std::io::Result<u64> {
        if entry.time.is_empty() {
            entry.time = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        }
        let line = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
        self.shared.append(&line)
    }

    fn report(&self, e: std::io::Error) {
        tracing::error!(error = %e, path = %self.path.display(), "cannot write the audit log");
    }

    /// Deletes the entries older than `cutoff` (and any line that is not an entry), rewriting the
    /// log beside itself and renaming it into place, so a crash leaves the old or the new log
    /// whole. Returns how many lines were removed.
    pub fn prune(&self, cutoff: time::OffsetDateTime) -> Result<u64> {
        use std::io::{BufRead, BufReader, BufWriter};
        let io = |source| Error::Read {
            path: self.path.clone(),
            source,
        };
        let mut appender = self.shared.file.lock().unwrap_or_else(|e| e.into_inner());
        let reader = BufReader::new(std::fs::File::open(&self.path).map_err(io)?);
        let fresh_path = self.path.with_extension("pruning");
        let mut fresh = BufWriter::new(std::fs::File::create(&fresh_path).map_err(io)?);
        let mut removed = 0;
        for line in reader.split(b'\n') {
            let line = line.map_err(io)?;
            let kept = serde_json::from_slice::<AuditEntry>(&line)
                .ok()
                .and_then(|entry| {
                    time::OffsetDateTime::parse(
                        &entry.time,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                })
                .is_some_and(|at| at >= cutoff);
            if kept {
                fresh.write_all(&line).map_err(io)?;
                fresh.write_all(b"\n").map_err(io)?;
            } else if !line.is_empty() {
                removed += 1;
            }
        }
        let fresh = fresh.into_inner().map_err(|e| io(e.into_error()))?;
        fresh.sync_all().map_err(io)?;
        if removed == 0 {
            drop(fresh);
            std::fs::remove_file(&fresh_path).map_err(io)?;
            return Ok(0);
        }
        std::fs::rename(&fresh_path, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        appender.file = Self::append_to(&self.path)?;
        Ok(removed)
    }

    /// The newest `limit` entries an admin cleared for `max_marking` may read, newest first.
    /// Reads backwards from the end of the file in blocks, so a long log costs only what is
    /// asked for; a line that does not parse (a torn last line after a crash) is skipped.
    pub fn tail(&self, limit: usize, max_marking: Marking) -> Result<Vec<AuditEntry>> {
        use std::io::{Read, Seek, SeekFrom};
        const BLOCK: u64 = 64 * 1024;
        let read_error = |source| Error::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&self.path).map_err(read_error)?;
        let mut end = file.seek(SeekFrom::End(0)).map_err(read_error)?;
        let mut carry: Vec<u8> = Vec::new();
        let mut entries = Vec::new();
        while entries.len() < limit && end > 0 {
            let start = end.saturating_sub(BLOCK);
            let mut block = vec![0; (end - start) as usize];
            file.seek(SeekFrom::Start(start)).map_err(read_error)?;
            file.read_exact(&mut block).map_err(read_error)?;
            block.extend_from_slice(&carry);
            // the part before the first newline may be the end of a line in an earlier block
            let first_newline = if start == 0 {
                0
            } else {
                match block.iter().position(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None => block.len(),
                }
            };
            carry = block[..first_newline].to_vec();
            for line in block[first_newline..].split(|&b| b == b'\n').rev() {
                if entries.len() == limit {
                    break;
                }
                if let Ok(entry) = serde_json::from_slice::<AuditEntry>(line)
                    && entry.readable_at(max_marking)
                {
                    entries.push(entry);
                }
            }
            end = start;
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_readable_by_its_owner_only_even_over_a_wider_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, r#"{"keys": []}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = KeyFile::read(&path).unwrap();
        file.keys
            .push(create_key("ops", Role::Editor, Marking::Official).1);
        file.write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(KeyFile::read(&path).unwrap().keys.len(), 1);
        assert_eq!(Role::Editor.with_article(), "an editor");
        assert_eq!(Role::Reader.with_article(), "a reader");
    }

    fn entry_at(time: &str, subject: &str) -> AuditEntry {
        AuditEntry {
            time: time.into(),
            subject: subject.into(),
            action: "GET /v1/experts?q=virology".into(),
            ids: vec!["m-1".into()],
            outcome: "ok".into(),
            request_id: None,
            marking: Some(Marking::Official),
        }
    }

    #[test]
    fn retention_deletes_old_entries_and_the_log_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.record(entry_at("2024-01-05T10:00:00Z", "old"));
        log.record(entry_at("2025-11-30T10:00:00Z", "kept"));
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{torn\n")
            .unwrap();
        log.record(entry_at("", "now"));
        let cutoff = time::macros::datetime!(2025-11-01 0:00 UTC);
        assert_eq!(
            log.prune(cutoff).unwrap(),
            2,
            "the old entry and the torn line"
        );
        log.record(entry_at("", "after"));
        let subjects: Vec<String> = log
            .tail(10, Marking::Official)
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect();
        assert_eq!(subjects, ["after", "now", "kept"]);
        assert_eq!(log.prune(cutoff).unwrap(), 0, "nothing more to delete");
        assert!(!path.with_extension("pruning").exists());
    }

    #[test]
    fn entries_recorded_at_once_from_many_threads_are_all_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = std::sync::Arc::new(AuditLog::open(&path).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        log.record(entry_at("", &format!("t{t}-{i}")));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 400);
        assert!(
            text.lines()
                .all(|l| serde_json::from_str::<AuditEntry>(l).is_ok())
        );
    }

    #[test]
    fn the_audit_tail_is_newest_first_across_blocks_and_skips_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.jsonl")).unwrap();
        for i in 0..3000 {
            log.record(AuditEntry {
                time: String::new(),
                subject: format!("user-{i}"),
                action: "PUT /v1/experts/m-1".into(),
                ids: vec![format!("m-{i}")],
                outcome: "ok".into(),
                request_id: None,
                // every third entry is about what only OFFICIAL-SENSITIVE admins may read
                marking: Some(if i % 3 == 0 {
                    Marking::OfficialSensitive
                } else {
                    Marking::Official
                }),
            });
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(b"{\"time\":\"torn")
            .unwrap();
        let subjects = |n| -> Vec<String> {
            log.tail(n, Marking::OfficialSensitive)
                .unwrap()
                .into_iter()
                .map(|e| e.subject)
                .collect()
        };
        assert_eq!(subjects(2), vec!["user-2999", "user-2998"]);
        // an OFFICIAL admin reads only the entries marked OFFICIAL, still newest first
        let official: Vec<String> = log
            .tail(3, Marking::Official)
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect();
        assert_eq!(official, vec!["user-2999", "user-2998", "user-2996"]);
        assert_eq!(log.tail(10_000, Marking::Official).unwrap().len(), 2000);
        let all = subjects(10_000);
        assert_eq!(
            all.len(),
            3000,
            "every whole line, once, across 64 KB blocks"
        );
        assert_eq!(all.last().unwrap(), "user-0");
        assert!(all.iter().zip(all.iter().skip(1)).all(|(a, b)| {
            let n = |s: &str| s[5..].parse::<u32>().unwrap();
            n(a) == n(b) + 1
        }));
    }

    #[test]
    fn a_created_key_authenticates_with_its_role_and_marking_and_is_stored_hashed() {
        let (key, stored) = create_key("analyst@ukhsa", Role::Reader, Marking::OfficialSensitive);
        let file = KeyFile {
            keys: vec![stored.clone()],
        };
        let text = serde_json::to_string(&file).unwrap();
        let secret = key.rsplit('_').next().unwrap();
        assert!(
            !text.contains(secret),
            "the key file never holds the secret"
        );
        let auth = Authenticator::new(file, None);
        let caller = auth.authenticate(Some(&format!("Bearer {key}"))).unwrap();
        assert_eq!(
            caller,
            Caller {
                subject: "analyst@ukhsa".into(),
                role: Role::Reader,
                max_marking: Marking::OfficialSensitive,
                vetting: false,
            }
        );
    }

    #[test]
    fn wrong_unknown_malformed_and_missing_tokens_are_refused() {
        let (key, stored) = create_key("x", Role::Editor, Marking::Official);
        let auth = Authenticator::new(KeyFile { keys: vec![stored] }, None);
        // the same key with its last character changed (to one it is not)
        let mut wrong = key.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        for header in [
            format!("Bearer {wrong}"),
            "Bearer mst_nope_abc".into(),
            "Bearer mst_".into(),
            "Bearer garbage".into(),
        ] {
            assert_eq!(
                auth.authenticate(Some(&header)),
                Err(AuthFailure::Invalid),
                "{header}"
            );
        }
        assert_eq!(auth.authenticate(None), Err(AuthFailure::Missing));
        assert_eq!(
            auth.authenticate(Some(&format!("Basic {key}"))),
            Err(AuthFailure::Missing)
        );
    }

    fn jwt(secret: &[u8], role: &str, marking: &str, exp: u64) -> String {
        jwt_with(secret, role, marking, exp, None)
    }

    fn jwt_with(secret: &[u8], role: &str, marking: &str, exp: u64, nbf: Option<u64>) -> String {
        let claims = Claims {
            sub: "svc".into(),
            role: role.into(),
            max_marking: marking.into(),
            exp,
            nbf,
            permissions: Vec::new(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    #[test]
    fn the_vetting_permission_comes_from_the_key_or_the_token_and_is_off_by_default() {
        let (plain, plain_key) = create_key("reader@dstl", Role::Reader, Marking::Official);
        let (vetter, mut vetter_key) = create_key("teams@dstl", Role::Reader, Marking::Official);
        vetter_key.vetting = true;
        // a key file written before the permission existed grants none
        let old_file: KeyFile = serde_json::from_str(
            &serde_json::to_string(&KeyFile {
                keys: vec![plain_key.clone()],
            })
            .unwrap(),
        )
        .unwrap();
        assert!(!old_file.keys[0].vetting);
        let secret = b"department-secret";
        let auth = Authenticator::new(
            KeyFile {
                keys: vec![plain_key, vetter_key],
            },
            Some(JwtVerifier::hs256(secret)),
        );
        let vetting_of = |token: &str| {
            auth.authenticate(Some(&format!("Bearer {token}")))
                .unwrap()
                .vetting
        };
        assert!(!vetting_of(&plain));
        assert!(vetting_of(&vetter));
        let token = |permissions: Vec<String>| {
            let claims = Claims {
                sub: "svc".into(),
                role: "reader".into(),
                max_marking: "OFFICIAL".into(),
                exp: 4_102_444_800,
                nbf: None,
                permissions,
            };
            let key = jsonwebtoken::EncodingKey::from_secret(secret);
            jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
        };
        assert!(vetting_of(&token(vec![VETTING.into()])));
        assert!(!vetting_of(&token(vec!["audit".into()])));
        assert!(!vetting_of(&token(Vec::new())));
        assert!(Caller::demo().vetting, "local demo mode works as before");
    }

    #[test]
    fn jwts_carry_role_and_marking_and_bad_ones_are_refused() {
        let auth = Authenticator::new(
            KeyFile::default(),
            Some(JwtVerifier::hs256(b"department-secret")),
        );
        let future = 4_102_444_800; // 2100-01-01
        let ok = jwt(b"department-secret", "admin", "OFFICIAL-SENSITIVE", future);
        let caller = auth.authenticate(Some(&format!("Bearer {ok}"))).unwrap();
        assert_eq!(
            (caller.role, caller.max_marking),
            (Role::Admin, Marking::OfficialSensitive)
        );
        let expired = jwt(b"department-secret", "admin", "OFFICIAL", 1_000_000_000);
        let forged = jwt(b"another-secret", "admin", "OFFICIAL", future);
        let bad_role = jwt(b"department-secret", "superuser", "OFFICIAL", future);
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        // expired 30 s ago: past the 5 s allowed (the library alone would allow 60 s)
        let just_expired = jwt(b"department-secret", "admin", "OFFICIAL", now - 30);
        // not valid for another minute
        let not_yet = jwt_with(
            b"department-secret",
            "admin",
            "OFFICIAL",
            future,
            Some(now + 60),
        );
        for token in [expired, forged, bad_role, just_expired.clone(), not_yet] {
            assert_eq!(
                auth.authenticate(Some(&format!("Bearer {token}"))),
                Err(AuthFailure::Invalid)
            );
        }
        // a deployment may allow more clock difference
        let lenient = Authenticator::new(
            KeyFile::default(),
            Some(JwtVerifier::hs256(b"department-secret").with_leeway(60)),
        );
        assert!(
            lenient
                .authenticate(Some(&format!("Bearer {just_expired}")))
                .is_ok()
        );
        let valid_now = jwt_with(
            b"department-secret",
            "reader",
            "OFFICIAL",
            future,
            Some(now - 5),
        );
        assert!(
            auth.authenticate(Some(&format!("Bearer {valid_now}")))
                .is_ok()
        );
    }

    #[test]
    fn the_audit_log_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit/audit.jsonl")).unwrap();
        for outcome in ["ok", "denied: invalid token"] {
            log.record(AuditEntry {
                time: String::new(),
                subject: "s".into(),
                action: "GET /v1/experts".into(),
                ids: vec![],
                outcome: outcome.into(),
                request_id: None,
                marking: Some(Marking::Official),
            });
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<AuditEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].outcome, "denied: invalid token");
        assert!(!lines[0].time.is_empty());
    }
}
