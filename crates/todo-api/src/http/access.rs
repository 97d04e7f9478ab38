//! Access tokens (`API_TOKENS`): every `/api` route asks for
//! `Authorization: Bearer <token>` when tokens are configured. The token
//! also scopes idempotency keys, so two clients never share one.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use todo_core::scope_of_token;

/// Who sent a request, as far as idempotency keys are concerned.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    /// Empty when access is open, else a digest of the caller's token.
    pub scope: String,
}

/// The configured tokens, kept as digests: comparing digests takes the same
/// time whatever the token's length or how much of it matches.
#[derive(Clone, Default)]
pub struct AccessTokens(Arc<Vec<([u8; 32], String)>>);

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessTokens({} configured)", self.0.len())
    }
}

impl AccessTokens {
    pub fn new(tokens: &[String]) -> Self {
        AccessTokens(Arc::new(
            tokens
                .iter()
                .map(|token| (digest(token), scope_of_token(token)))
                .collect(),
        ))
    }

    pub fn is_open(&self) -> bool {
        self.0.is_empty()
    }

    /// The scope of a presented token, if it is one of ours. Every
    /// configured token is compared, so the time taken does not tell which.
    fn scope_of(&self, presented: &str) -> Option<String> {
        let presented = digest(presented);
        let mut found = None;
        for (expected, scope) in self.0.iter() {
            if bool::from(expected.ct_eq(&presented)) {
                found = Some(scope.clone());
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl AccessTokens {
    /// Who sent a request with `headers`: anyone when access is open, else
    /// the holder of a valid token; `None` for a request to refuse.
    pub fn principal(&self, headers: &HeaderMap) -> Option<Principal> {
        if self.is_open() {
            return Some(Principal::default());
        }
        headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .and_then(|token| self.scope_of(token))
            .map(|scope| Principal { scope })
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
    fn only_configured_tokens_are_admitted_each_with_its_own_scope() {
        let tokens = AccessTokens::new(&["alpha".to_owned(), "beta".to_owned()]);
        let alpha = tokens.scope_of("alpha").unwrap();
        let beta = tokens.scope_of("beta").unwrap();
        assert_ne!(alpha, beta);
        assert!(tokens.scope_of("alph").is_none());
        assert!(tokens.scope_of("").is_none());
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
