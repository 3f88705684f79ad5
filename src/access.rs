//! Who is asking: authentication (API keys and JWTs) and roles (the audit trail is [`crate::audit`]).
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
use std::path::Path;
use std::sync::Arc;

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
}
