//! Idempotency keys (API.md, "Idempotency"): the key a client sends with a
//! create, the fingerprint that tells a retry from a different request, and
//! what a keyed create yields.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::input::NewTodo;
use crate::todo::{Todo, todo_json, todos_json};
use crate::validation::{FieldError, Loc};

/// The header that carries the key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A create's idempotency key, within the scope of the client's credentials,
/// with the fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key it is: empty without access tokens, else a digest of the
    /// token, so two clients never share a key.
    pub scope: String,
    pub key: String,
    /// A digest of the request's path and JSON body.
    pub fingerprint: String,
}

impl IdempotencyKey {
    /// Reads the header's value: 1 to 255 visible ASCII characters.
    pub fn parse_header(value: &[u8]) -> Result<String, FieldError> {
        let valid = !value.is_empty()
            && value.len() <= MAX_KEY_LEN
            && value.iter().all(|byte| (0x21..=0x7e).contains(byte));
        if valid {
            Ok(String::from_utf8_lossy(value).into_owned())
        } else {
            Err(FieldError::new(
                Loc::header(IDEMPOTENCY_KEY_HEADER),
                "value_error",
                format!(
                    "Value error, {IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_KEY_LEN} visible ASCII characters"
                ),
            ))
        }
    }

    /// The key of a request to `path` with this JSON `body`. The body is
    /// compared as JSON, so a retry that orders its fields differently or
    /// spaces them otherwise is the same request.
    pub fn new(scope: String, key: String, path: &str, body: &Value) -> Self {
        let mut digest = Sha256::new();
        digest.update(path.as_bytes());
        digest.update([0]);
        // serde_json's maps are ordered by key, so this text is canonical.
        digest.update(body.to_string().as_bytes());
        let fingerprint = digest
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        IdempotencyKey {
            scope,
            key,
            fingerprint,
        }
    }
}

/// A digest naming a credential without keeping it, for key scopes.
pub fn scope_of_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What a keyed create asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Creation {
    One(NewTodo),
    Many(Vec<NewTodo>),
}

/// What a create made.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    One(Todo),
    Many(Vec<Todo>),
}

impl Created {
    /// The response body, exactly as stored for replays.
    pub fn body(&self) -> String {
        match self {
            // Written from `str`s with ASCII around them: always UTF-8.
            Created::One(todo) => String::from_utf8(todo_json(todo)).unwrap_or_default(),
            Created::Many(todos) => String::from_utf8(todos_json(todos)).unwrap_or_default(),
        }
    }
}

/// A stored answer to a keyed create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// The outcome of a keyed create.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyedOutcome {
    /// The first request with this key: the todos were created now.
    Created(Created),
    /// A retry: nothing was created; this is the first request's answer.
    Replayed(StoredResponse),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_token_scope_is_the_hex_of_its_digest_s_first_half() {
        // Stored with every key: a change of form would orphan the keys
        // already in the database.
        assert_eq!(scope_of_token("alpha"), "8ed3f6ad685b959ead7022518e1af76c");
    }

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse_header(b"a").is_ok());
        assert!(IdempotencyKey::parse_header(&[b'k'; 255]).is_ok());
        assert!(IdempotencyKey::parse_header(b"!~").is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 256],
            b"with space",
            b"tab\t",
            "é".as_bytes(),
        ] {
            assert!(IdempotencyKey::parse_header(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_compares_json_not_text() {
        let a = IdempotencyKey::new(
            String::new(),
            "k".into(),
            "/api/todo",
            &json!({"a": 1, "b": 2}),
        );
        let b: Value = serde_json::from_str(r#"{ "b":2,"a" : 1 }"#).unwrap();
        let b = IdempotencyKey::new(String::new(), "k".into(), "/api/todo", &b);
        assert_eq!(a.fingerprint, b.fingerprint);
        let other_path = IdempotencyKey::new(
            String::new(),
            "k".into(),
            "/api/todo/bulk",
            &json!({"a": 1, "b": 2}),
        );
        assert_ne!(a.fingerprint, other_path.fingerprint);
    }
}
