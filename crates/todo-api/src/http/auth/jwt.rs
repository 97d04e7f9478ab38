//! JWT sign-in (API.md, "Users"): the signature checked with the
//! configured key and only with the algorithm that key is for (never
//! `none`, never HS256 against a public key), `exp` required, `nbf`
//! honoured, 60 s of leeway, `iss` and `aud` when set. The user is the
//! `sub` claim.
//!
//! A verified token is remembered until it expires (a bounded cache), so a
//! user's next request skips the signature check: an RS256 or ES256 check
//! costs tens of microseconds, more than the rest of a read.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use moka::Expiry;
use moka::sync::Cache;
use serde::{Deserialize, Serialize};
use todo_core::{Owner, valid_subject};

use super::jwks::Jwks;

/// The clock skew allowed on `exp` and `nbf`, in seconds (API.md).
pub const LEEWAY_SECONDS: u64 = 60;

/// Shortest HS256 secret taken, in bytes (API.md): shorter ones can be
/// guessed offline from any token.
pub const MIN_SECRET_BYTES: usize = 32;

/// Most verified tokens remembered at once.
const VERIFIED_REMEMBERED: u64 = 100_000;

/// Why a token was refused. The reason goes to the log at debug level; the
/// client is told only that its token is invalid.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the token is neither an access token nor accepted as a JWT")]
    NotAccepted,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not its key's")]
    Algorithm,
    #[error("the signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token lacks a required claim")]
    MissingClaim,
    #[error("the token's issuer is not the configured one")]
    Issuer,
    #[error("the token's audience is not the configured one")]
    Audience,
    #[error("the token's subject cannot name a user")]
    Subject,
    #[error("no key of the identity provider has the token's key id")]
    UnknownKey,
}

impl From<jsonwebtoken::errors::Error> for JwtError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidSignature => JwtError::Signature,
            ErrorKind::ExpiredSignature => JwtError::Expired,
            ErrorKind::ImmatureSignature => JwtError::NotYetValid,
            ErrorKind::InvalidIssuer => JwtError::Issuer,
            ErrorKind::InvalidAudience => JwtError::Audience,
            ErrorKind::InvalidSubject => JwtError::Subject,
            ErrorKind::MissingRequiredClaim(_) => JwtError::MissingClaim,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => JwtError::Algorithm,
            _ => JwtError::Malformed,
        }
    }
}

/// Why the JWT settings cannot be used; the service does not start.
#[derive(Debug, thiserror::Error)]
pub enum JwtKeyError {
    #[error("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")]
    ShortSecret,
    #[error("cannot read JWT_PUBLIC_KEY_FILE {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "JWT_PUBLIC_KEY_FILE holds no RSA, P-256 or Ed25519 public key in PEM (for RS256, ES256 or EdDSA)"
    )]
    UnknownKey,
}

/// Where the keys that sign tokens come from.
pub enum JwtKeys {
    /// HS256 with a shared secret (`JWT_SECRET`).
    Secret(DecodingKey),
    /// One public key (`JWT_PUBLIC_KEY_FILE`), for its one algorithm.
    PublicKey {
        key: DecodingKey,
        algorithm: Algorithm,
    },
    /// An identity provider's key set (`JWT_JWKS_URL`), by key id.
    Jwks(Jwks),
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKeys::Secret(_) => f.write_str("JwtKeys::Secret"),
            JwtKeys::PublicKey { algorithm, .. } => write!(f, "JwtKeys::PublicKey({algorithm:?})"),
            JwtKeys::Jwks(jwks) => f.debug_tuple("JwtKeys::Jwks").field(jwks).finish(),
        }
    }
}

impl JwtKeys {
    /// HS256 with `secret`.
    pub fn secret(secret: &[u8]) -> Result<JwtKeys, JwtKeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(JwtKeyError::ShortSecret);
        }
        Ok(JwtKeys::Secret(DecodingKey::from_secret(secret)))
    }

    /// The public key in the PEM file at `path`: its kind decides the
    /// algorithm (RSA: RS256, P-256: ES256, Ed25519: EdDSA).
    pub fn public_key_file(path: &Path) -> Result<JwtKeys, JwtKeyError> {
        let pem = std::fs::read(path).map_err(|source| JwtKeyError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        let (key, algorithm) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            (key, Algorithm::RS256)
        } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            (key, Algorithm::ES256)
        } else if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
            (key, Algorithm::EdDSA)
        } else {
            return Err(JwtKeyError::UnknownKey);
        };
        Ok(JwtKeys::PublicKey { key, algorithm })
    }
}

/// What a token must say besides its signature.
#[derive(Debug, Clone, Default)]
pub struct JwtSettings {
    /// `iss` must be this, when set.
    pub issuer: Option<String>,
    /// `aud` must be or contain this, when set.
    pub audience: Option<String>,
}

/// The claims the service reads; any others are ignored.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// A verified token: whose it is, until when it may be taken, and, once
/// looked up, its subject's owner, so that a user's next request with the
/// same token costs one cache lookup in all.
#[derive(Debug)]
pub struct VerifiedToken {
    pub subject: Arc<str>,
    until: Instant,
    owner: OnceLock<Owner>,
}

impl VerifiedToken {
    /// The subject's owner, when it has been remembered.
    pub fn owner(&self) -> Option<Owner> {
        self.owner.get().copied()
    }

    /// Remembers the subject's owner (which never changes) with the token.
    pub fn remember_owner(&self, owner: Owner) {
        let _ = self.owner.set(owner);
    }
}

/// Each remembered token expires when the token itself stops being valid.
struct UntilValid;

impl Expiry<Arc<str>, Arc<VerifiedToken>> for UntilValid {
    fn expire_after_create(
        &self,
        _token: &Arc<str>,
        verified: &Arc<VerifiedToken>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(verified.until.saturating_duration_since(created_at))
    }
}

/// Verifies tokens and remembers the verified ones.
pub struct JwtVerifier {
    keys: JwtKeys,
    settings: JwtSettings,
    verified: Cache<Arc<str>, Arc<VerifiedToken>>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn new(keys: JwtKeys, settings: JwtSettings) -> Self {
        JwtVerifier {
            keys,
            settings,
            verified: Cache::builder()
                .max_capacity(VERIFIED_REMEMBERED)
                .expire_after(UntilValid)
                .build(),
        }
    }

    /// `token` verified, if it is a valid JWT.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>, JwtError> {
        if let Some(verified) = self.verified.get(token) {
            // Checked again: the cache expires entries lazily.
            if verified.until > Instant::now() {
                return Ok(verified);
            }
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        let (key, algorithm) = match &self.keys {
            JwtKeys::Secret(key) => (key.clone(), Algorithm::HS256),
            JwtKeys::PublicKey { key, algorithm } => (key.clone(), *algorithm),
            JwtKeys::Jwks(jwks) => jwks
                .key(header.kid.as_deref())
                .await
                .ok_or(JwtError::UnknownKey)?,
        };
        if header.alg != algorithm {
            return Err(JwtError::Algorithm);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &self.validation(algorithm))?;
        let subject = claims.claims.sub;
        if !valid_subject(&subject) {
            return Err(JwtError::Subject);
        }
        let until = valid_until(claims.claims.exp);
        let verified = Arc::new(VerifiedToken {
            subject: Arc::from(subject),
            // Valid, yet too close to its end to be remembered: now.
            until: until.unwrap_or_else(Instant::now),
            owner: OnceLock::new(),
        });
        if until.is_some() {
            self.verified
                .insert(Arc::from(token), Arc::clone(&verified));
        }
        Ok(verified)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // A claim that is checked must be there: the library checks `iss`
        // and `aud` only when a token carries them.
        let mut required = vec!["exp", "sub"];
        if self.settings.issuer.is_some() {
            required.push("iss");
        }
        if self.settings.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &self.settings.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &self.settings.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        validation
    }
}

/// When a token expiring at `exp` (seconds since the epoch) stops being
/// taken, leeway included; `None` if that has passed.
fn valid_until(exp: u64) -> Option<Instant> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let end = Duration::from_secs(exp.checked_add(LEEWAY_SECONDS)?);
    end.checked_sub(now).map(|left| Instant::now() + left)
}

/// An HS256 token for `subject`, valid for `ttl`, signed with `secret`
/// (`todo-api token`, and the tests).
pub fn mint_token(
    secret: &[u8],
    subject: &str,
    ttl: Duration,
    settings: &JwtSettings,
) -> Result<String, JwtKeyError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(JwtKeyError::ShortSecret);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut claims = serde_json::json!({
        "sub": subject,
        "iat": now,
        "exp": now.saturating_add(ttl.as_secs()),
    });
    if let Some(issuer) = &settings.issuer {
        claims["iss"] = issuer.clone().into();
    }
    if let Some(audience) = &settings.audience {
        claims["aud"] = audience.clone().into();
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|_| JwtKeyError::ShortSecret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret of at least thirty-two bytes";

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(JwtKeys::secret(SECRET).unwrap(), JwtSettings::default())
    }

    #[tokio::test]
    async fn a_minted_token_names_its_subject_and_is_remembered() {
        let verifier = verifier();
        let token = mint_token(
            SECRET,
            "alice",
            Duration::from_secs(60),
            &JwtSettings::default(),
        )
        .unwrap();
        assert_eq!(&*verifier.verify(&token).await.unwrap().subject, "alice");
        assert_eq!(verifier.verified.iter().count(), 1);
        assert_eq!(&*verifier.verify(&token).await.unwrap().subject, "alice");
    }

    #[tokio::test]
    async fn a_short_secret_is_refused() {
        assert!(matches!(
            JwtKeys::secret(b"short"),
            Err(JwtKeyError::ShortSecret)
        ));
    }

    #[test]
    fn a_token_past_its_expiry_and_leeway_is_not_remembered() {
        assert!(valid_until(1).is_none());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            valid_until(now - LEEWAY_SECONDS / 2).is_some(),
            "within the leeway"
        );
    }
}
