//! Single sign-on with a department's OpenID Connect provider (Entra ID, Google, Keycloak, any).
//!
//! Muster is a confidential client of the provider. Signing in is the authorization code flow
//! with PKCE (S256), a `state` and a `nonce`, all held in the server-side session and used once;
//! the ID token's signature, issuer, audience, expiry, `nbf` and nonce are checked by the
//! `openidconnect` crate, then [`Grants`] turn its claims into a [`Caller`]. API clients may send
//! JWT access tokens from the same provider: signature against its keys, issuer, audience
//! (`--oidc-api-audience`, by default the client id), expiry and `nbf` checked by `jsonwebtoken`.
//!
//! The discovery document and the signing keys (JWKS) are fetched at start and kept. A token
//! signed with a key not among them makes Muster fetch the keys again, at most once per
//! [`OidcConfig::min_refetch`] however many such tokens arrive, so a rotation at the provider is
//! followed without a restart and made-up key ids cannot make Muster hammer the provider.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IdToken,
    IdTokenVerifier, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access::{Caller, JWT_LEEWAY_SECS, constant_time_eq};
use crate::claims::Grants;
use crate::{Error, Result};

/// Where Muster's pages send the provider's answer to a sign-in.
pub const CALLBACK_PATH: &str = "/sign-in/callback";

/// How a deployment connects to its provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its discovery document gives it.
    pub issuer: String,
    /// Muster's client id at the provider.
    pub client_id: String,
    /// Muster's client secret at the provider.
    pub client_secret: String,
    /// Muster's address as people's browsers reach it, such as `https://muster.dept.gov.uk`:
    /// the redirect URI registered at the provider is this plus [`CALLBACK_PATH`], and the
    /// address after signing out there is this plus `/sign-in`.
    pub public_url: String,
    /// The `aud` an API access token must carry; the client id when not set.
    pub api_audience: Option<String>,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// What claims give.
    pub grants: Grants,
    /// The shortest time between two fetches of the provider's keys.
    pub min_refetch: Duration,
}

/// The signing keys, in the two forms the two token checks read.
struct Keys {
    /// For ID tokens (`openidconnect`).
    core: CoreJsonWebKeySet,
    /// For API access tokens (`jsonwebtoken`), by key id.
    by_kid: HashMap<String, jsonwebtoken::jwk::Jwk>,
}

impl Keys {
    fn new(core: CoreJsonWebKeySet) -> Keys {
        // a key jsonwebtoken cannot read (an encryption key, a new type) is skipped, not fatal
        let by_kid = serde_json::to_value(&core)
            .ok()
            .and_then(|v| v.get("keys").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|key| serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key).ok())
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, jwk)))
            .collect();
        Keys { core, by_kid }
    }
}

/// A sign-in under way: what the callback must match, kept in the session until then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// Where to go once signed in (a path on this site).
    pub next: String,
}

/// A finished sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who, with what access.
    pub caller: Caller,
    /// The ID token, kept as the hint for signing out at the provider.
    pub id_token: String,
}

/// Why a sign-in or token was refused. The words are for the log; people see less.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The answer's `state` is not the one this session started (forged, replayed or stale).
    #[error("the sign-in answer does not match one this session started")]
    State,
    /// The provider said no, or could not be reached.
    #[error("the identity provider refused or failed: {0}")]
    Provider(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nbf, nonce).
    #[error("the ID token failed a check: {0}")]
    Token(String),
    /// The person's claims give no access.
    #[error("no grant gives {0} access")]
    NoGrant(String),
}

/// Why an API access token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// Signed with a key Muster does not hold (yet): worth fetching the keys again.
    UnknownKey,
    /// Not acceptable.
    Invalid,
}

/// Extra claims of an ID token (groups, roles, nbf): all kept, read by [`Grants`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtherClaims {
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

type MusterIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The provider, as discovered, with its keys.
pub struct Provider {
    config: OidcConfig,
    metadata: ProviderMetadataWithLogout,
    http: openidconnect::reqwest::Client,
    keys: RwLock<Arc<Keys>>,
    fetched: tokio::sync::Mutex<Instant>,
}

impl Provider {
    /// Fetches the provider's discovery document and keys. Fails, naming the issuer, when the
    /// provider cannot be reached or its document is not for that issuer.
    pub async fn discover(config: OidcConfig) -> Result<Provider> {
        let bad = |field: &str, e: &dyn std::fmt::Display| Error::field(field, e.to_string());
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| bad("oidc-issuer", &e))?;
        RedirectUrl::new(format!(
            "{}{CALLBACK_PATH}",
            config.public_url.trim_end_matches('/')
        ))
        .map_err(|e| bad("public-url", &e))?;
        let http = openidconnect::reqwest::Client::builder()
            // a redirect from the provider's endpoints is never followed (SSRF)
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| bad("oidc-issuer", &e))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|e| {
                bad(
                    "oidc-issuer",
                    &format!(
                        "cannot read the discovery document of {}: {e}",
                        config.issuer
                    ),
                )
            })?;
        let provider = Provider::with_metadata(config, metadata, http);
        tracing::info!(
            issuer = %provider.config.issuer,
            keys = provider.current_keys().by_kid.len(),
            "single sign-on: provider discovered"
        );
        Ok(provider)
    }

    fn with_metadata(
        config: OidcConfig,
        metadata: ProviderMetadataWithLogout,
        http: openidconnect::reqwest::Client,
    ) -> Provider {
        let keys = Keys::new(metadata.jwks().clone());
        Provider {
            config,
            metadata,
            http,
            keys: RwLock::new(Arc::new(keys)),
            fetched: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// The provider's issuer URL.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    fn redirect_url(&self) -> RedirectUrl {
        RedirectUrl::new(format!("{}{CALLBACK_PATH}", self.public_url()))
            .expect("checked at discovery")
    }

    fn public_url(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    fn client(
        &self,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url())
    }

    /// Starts a sign-in: the provider's address to send the browser to, and what to keep in
    /// the session until it comes back.
    pub fn begin(&self, next: &str) -> (String, Pending) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        (
            url.to_string(),
            Pending {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                next: next.to_string(),
            },
        )
    }

    /// Finishes a sign-in: checks `state`, trades the code (with the PKCE verifier) for tokens,
    /// checks the ID token and turns its claims into a caller.
    pub async fn finish(
        &self,
        pending: Pending,
        state: &str,
        code: &str,
    ) -> std::result::Result<SignedIn, Refused> {
        if !constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
            return Err(Refused::State);
        }
        let client = self.client();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Refused::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| Refused::Provider(provider_error(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| Refused::Provider("no ID token in the answer".into()))?
            .to_string();
        self.accept_id_token(id_token, &pending.nonce).await
    }

    /// Checks an ID token (signature, issuer, audience, expiry, `nbf`, and that it carries the
    /// nonce this sign-in sent) and turns its claims into a caller.
    async fn accept_id_token(
        &self,
        id_token: String,
        nonce: &str,
    ) -> std::result::Result<SignedIn, Refused> {
        let token: MusterIdToken = id_token
            .parse()
            .map_err(|e: serde_json::Error| Refused::Token(e.to_string()))?;
        let nonce = Nonce::new(nonce.to_string());
        let claims = match self.verify_id_token(&token, &nonce) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) if self.refetch_keys().await => self.verify_id_token(&token, &nonce),
            other => other,
        }
        .map_err(|e| Refused::Token(e.to_string()))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
            && nbf > now + JWT_LEEWAY_SECS as i64
        {
            return Err(Refused::Token(format!("not valid before {nbf}")));
        }
        let caller = self.config.grants.caller(&claims).ok_or_else(|| {
            Refused::NoGrant(
                claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string(),
            )
        })?;
        Ok(SignedIn { caller, id_token })
    }

    /// The verified claims of an ID token, as one JSON object.
    fn verify_id_token(
        &self,
        token: &MusterIdToken,
        nonce: &Nonce,
    ) -> std::result::Result<Map<String, Value>, openidconnect::ClaimsVerificationError> {
        let keys = self.current_keys();
        let verifier = IdTokenVerifier::new_confidential_client(
            ClientId::new(self.config.client_id.clone()),
            ClientSecret::new(self.config.client_secret.clone()),
            self.metadata.issuer().clone(),
            keys.core.clone(),
        )
        .set_allowed_algs(
            self.metadata
                .id_token_signing_alg_values_supported()
                .iter()
                .cloned(),
        );
        let claims = token.claims(&verifier, nonce)?;
        match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(openidconnect::ClaimsVerificationError::Other(
                "claims are not an object".into(),
            )),
        }
    }

    /// Where to send a browser to sign out at the provider too, when it offers that.
    pub fn end_session_url(&self, id_token: &str) -> Option<String> {
        let endpoint = self
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.config.client_id.clone()));
        if let Ok(token) = id_token.parse::<MusterIdToken>() {
            request = request.set_id_token_hint(&token);
        }
        if let Ok(back) = PostLogoutRedirectUrl::new(format!("{}/sign-in", self.public_url())) {
            request = request.set_post_logout_redirect_uri(back);
        }
        Some(request.http_get_url().to_string())
    }

    fn current_keys(&self) -> Arc<Keys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetches the provider's keys again unless that was done less than
    /// [`OidcConfig::min_refetch`] ago; whether it did.
    pub async fn refetch_keys(&self) -> bool {
        let mut fetched = self.fetched.lock().await;
        if fetched.elapsed() < self.config.min_refetch {
            return false;
        }
        *fetched = Instant::now();
        match CoreJsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &self.http).await {
            Ok(core) => {
                let keys = Keys::new(core);
                tracing::info!(
                    keys = keys.by_kid.len(),
                    "single sign-on: signing keys fetched again"
                );
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "single sign-on: cannot fetch the signing keys");
                false
            }
        }
    }

    /// Whether this token is signed with a key id the provider has used (now or once it is
    /// fetched again): a JWT whose header names a key and whose unverified issuer is ours.
    pub fn claims_to_be_ours(&self, token: &str) -> bool {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return false;
        };
        header.kid.is_some() && unverified_issuer(token).as_deref() == Some(self.issuer())
    }

    /// Checks an API access token from the provider and turns its claims into a caller.
    pub fn check_access_token(&self, token: &str) -> std::result::Result<Caller, TokenCheck> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenCheck::Invalid)?;
        // only the provider's public keys sign: a shared-secret algorithm is never accepted
        if matches!(
            header.alg,
            jsonwebtoken::Algorithm::HS256
                | jsonwebtoken::Algorithm::HS384
                | jsonwebtoken::Algorithm::HS512
        ) {
            return Err(TokenCheck::Invalid);
        }
        let kid = header.kid.ok_or(TokenCheck::Invalid)?;
        let keys = self.current_keys();
        let jwk = keys.by_kid.get(&kid).ok_or(TokenCheck::UnknownKey)?;
        if jwk
            .common
            .key_algorithm
            .is_some_and(|alg| format!("{alg:?}") != format!("{:?}", header.alg))
        {
            return Err(TokenCheck::Invalid);
        }
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|_| TokenCheck::Invalid)?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[self.issuer()]);
        validation.set_audience(&[self
            .config
            .api_audience
            .as_deref()
            .unwrap_or(&self.config.client_id)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = JWT_LEEWAY_SECS;
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|_| TokenCheck::Invalid)?;
        self.config
            .grants
            .caller(&data.claims)
            .ok_or(TokenCheck::Invalid)
    }
}

/// The `iss` of a JWT, read without checking anything: only to choose which check applies.
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(String::from)
}

/// The provider's own words for a failed token request, when it gave them.
fn provider_error<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;
    use serde_json::json;

    const SECRET: &str = "a-client-secret-of-at-least-32-bytes";
    const ISSUER: &str = "https://login.example.gov.uk/tenant";

    /// A provider as discovered, without the network: it signs ID tokens with the client secret
    /// (HS256, which OpenID Connect allows a confidential client), so tests can make any token.
    fn provider() -> Provider {
        let metadata: ProviderMetadataWithLogout = serde_json::from_value(json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": format!("{ISSUER}/keys"),
            "end_session_endpoint": format!("{ISSUER}/logout"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"]
        }))
        .unwrap();
        let config = OidcConfig {
            issuer: ISSUER.into(),
            client_id: "muster".into(),
            client_secret: SECRET.into(),
            public_url: "https://muster.example.gov.uk/".into(),
            api_audience: None,
            scopes: vec!["email".into()],
            grants: Grants::parse(
                r#"{"grants": [{"claim": "groups", "value": "readers", "role": "reader"},
                               {"claim": "groups", "value": "vetting", "permissions": ["vetting"]}]}"#,
            )
            .unwrap(),
            min_refetch: Duration::from_secs(3600),
        };
        Provider::with_metadata(config, metadata, openidconnect::reqwest::Client::new())
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// An ID token with these claims over sensible defaults (`null` removes one).
    fn id_token(changes: Value) -> String {
        let mut claims = json!({
            "iss": ISSUER, "aud": "muster", "sub": "u-1", "email": "ann@dept.gov.uk",
            "groups": ["readers", "vetting"], "nonce": "n-1",
            "iat": now(), "exp": now() + 300
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    async fn accept(token: String, nonce: &str) -> std::result::Result<Caller, Refused> {
        provider()
            .accept_id_token(token, nonce)
            .await
            .map(|s| s.caller)
    }

    #[tokio::test]
    async fn a_good_id_token_signs_in_with_what_its_claims_grant() {
        let caller = accept(id_token(json!({})), "n-1").await.unwrap();
        assert_eq!(caller.subject, "ann@dept.gov.uk");
        assert_eq!(caller.role, Role::Reader);
        assert!(caller.vetting);
        let caller = accept(id_token(json!({"groups": ["readers"]})), "n-1")
            .await
            .unwrap();
        assert!(!caller.vetting, "no vetting group, no vetting");
    }

    #[tokio::test]
    async fn id_tokens_failing_a_check_are_refused() {
        let cases = [
            (
                "unknown issuer",
                json!({"iss": "https://evil.example.com"}),
                "n-1",
            ),
            ("wrong audience", json!({"aud": "another-app"}), "n-1"),
            (
                "expired",
                json!({"exp": now() - 60, "iat": now() - 400}),
                "n-1",
            ),
            ("not yet valid", json!({"nbf": now() + 600}), "n-1"),
            ("replayed nonce", json!({"nonce": "n-0"}), "n-1"),
            ("no nonce", json!({"nonce": null}), "n-1"),
        ];
        for (why, changes, nonce) in cases {
            match accept(id_token(changes), nonce).await {
                Err(Refused::Token(_)) => {}
                other => panic!("{why}: {other:?}"),
            }
        }
        // signed with another secret
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"iss": ISSUER, "aud": "muster", "sub": "u", "nonce": "n-1",
                    "groups": ["readers"], "iat": now(), "exp": now() + 60}),
            &jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!"),
        )
        .unwrap();
        assert!(matches!(
            accept(forged, "n-1").await,
            Err(Refused::Token(_))
        ));
        // a valid token whose claims grant nothing: no access
        match accept(id_token(json!({"groups": ["vetting"]})), "n-1").await {
            Err(Refused::NoGrant(sub)) => assert_eq!(sub, "u-1"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_sign_in_answer_with_another_state_is_refused_before_the_provider_is_asked() {
        let provider = provider();
        let (url, pending) = provider.begin("/?q=x");
        // the request carries PKCE (S256), state and nonce, and comes back to the callback
        for part in [
            "code_challenge_method=S256",
            "code_challenge=",
            "state=",
            "nonce=",
            "redirect_uri=https%3A%2F%2Fmuster.example.gov.uk%2Fsign-in%2Fcallback",
        ] {
            assert!(url.contains(part), "{part} in {url}");
        }
        assert!(matches!(
            provider.finish(pending, "forged", "code").await,
            Err(Refused::State)
        ));
    }

    #[test]
    fn signing_out_at_the_provider_names_the_token_and_comes_back() {
        let url = provider().end_session_url(&id_token(json!({}))).unwrap();
        assert!(url.starts_with(&format!("{ISSUER}/logout?id_token_hint=")));
        assert!(url.contains("client_id=muster"));
        assert!(
            url.contains("post_logout_redirect_uri=https%3A%2F%2Fmuster.example.gov.uk%2Fsign-in")
        );
    }
}
