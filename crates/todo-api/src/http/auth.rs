//! Who sends a request (API.md, "Users"): nobody in particular in open
//! mode, the holder of an access token (`API_TOKENS`, the anonymous list),
//! or a user signed in with a JWT (`jwt.rs`). [`Authenticator`] reads the
//! `Authorization` header into a [`Principal`], whose [`Owner`] every store
//! call is made for.

mod access_tokens;
mod jwks;
mod jwt;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use moka::sync::Cache;
use todo_core::{Owner, StoreError, TodoStore};

pub use access_tokens::AccessTokens;
pub use jwks::Jwks;
pub use jwt::{
    JwtError, JwtKeyError, JwtKeys, JwtSettings, JwtVerifier, VerifiedToken, mint_token,
};

/// How a request was let in, as `GET /api/me` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// No credentials are asked for.
    Open,
    /// One of the access tokens.
    Token,
    /// A JWT.
    Jwt,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Open => "open",
            AuthKind::Token => "token",
            AuthKind::Jwt => "jwt",
        }
    }
}

/// Who sent a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Whose todos the request acts on.
    pub owner: Owner,
    /// The JWT's subject; `None` for the anonymous user.
    pub subject: Option<Arc<str>>,
    pub kind: AuthKind,
    /// Whose idempotency keys within the owner's: empty, or for an access
    /// token a digest of it, so two token holders never share a key.
    pub key_scope: String,
}

impl Principal {
    fn anonymous(kind: AuthKind, key_scope: String) -> Principal {
        Principal {
            owner: Owner::ANONYMOUS,
            subject: None,
            kind,
            key_scope,
        }
    }
}

/// Why a request was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Credentials are needed and none were sent.
    #[error("no bearer token")]
    Missing,
    /// A token was sent and is not valid; the reason is logged, never
    /// answered in detail.
    #[error("invalid token: {0}")]
    Invalid(#[from] JwtError),
    /// The user's owner could not be looked up.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Most subjects whose owner is remembered: a user's next token skips the
/// lookup of its owner (a token's own requests find it with the token).
const OWNERS_REMEMBERED: u64 = 100_000;

/// Reads a request's credentials into a [`Principal`].
#[derive(Clone)]
pub struct Authenticator {
    tokens: AccessTokens,
    jwt: Option<Arc<JwtVerifier>>,
    /// Subjects' owners: they never change, so they are kept without expiry.
    owners: Cache<Arc<str>, Owner>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens)
            .field("jwt", &self.jwt.is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(tokens: AccessTokens, jwt: Option<JwtVerifier>) -> Self {
        Authenticator {
            tokens,
            jwt: jwt.map(Arc::new),
            owners: Cache::builder()
                .max_capacity(OWNERS_REMEMBERED)
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build(),
        }
    }

    /// Whether every `/api` request needs credentials.
    pub fn required(&self) -> bool {
        !self.tokens.is_open() || self.jwt.is_some()
    }

    /// Who sent a request with `headers`. An access token is tried first
    /// (a plain comparison), then a JWT.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        store: &dyn TodoStore,
    ) -> Result<Principal, AuthError> {
        if !self.required() {
            return Ok(Principal::anonymous(AuthKind::Open, String::new()));
        }
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .ok_or(AuthError::Missing)?;
        if let Some(scope) = self.tokens.scope_of(token) {
            return Ok(Principal::anonymous(AuthKind::Token, scope));
        }
        let Some(jwt) = &self.jwt else {
            return Err(AuthError::Invalid(JwtError::NotAccepted));
        };
        let verified = jwt.verify(token).await?;
        let owner = match verified.owner() {
            Some(owner) => owner,
            None => {
                let owner = self.owner_of(&verified.subject, store).await?;
                verified.remember_owner(owner);
                owner
            }
        };
        Ok(Principal {
            owner,
            subject: Some(Arc::clone(&verified.subject)),
            kind: AuthKind::Jwt,
            key_scope: String::new(),
        })
    }

    /// The owner of `subject`: remembered, or looked up (made on first
    /// sight) and remembered.
    async fn owner_of(
        &self,
        subject: &Arc<str>,
        store: &dyn TodoStore,
    ) -> Result<Owner, AuthError> {
        if let Some(owner) = self.owners.get(subject) {
            return Ok(owner);
        }
        let owner = store.owner_of(subject).await?;
        self.owners.insert(Arc::clone(subject), owner);
        Ok(owner)
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme in any
/// case, as RFC 9110 has it).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
