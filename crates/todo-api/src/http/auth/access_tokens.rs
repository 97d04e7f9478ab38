//! Access tokens (`API_TOKENS`, API.md "Users"): bearer tokens that all
//! act on the anonymous user's list. A token also scopes idempotency keys,
//! so two clients never share one.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use todo_core::scope_of_token;

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

    /// The key scope of a presented token, if it is one of ours. Every
    /// configured token is compared, so the time taken does not tell which.
    pub fn scope_of(&self, presented: &str) -> Option<String> {
        // Without access tokens a JWT need not be hashed on every request.
        if self.0.is_empty() {
            return None;
        }
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
}
