//! Tokens for the tests: well-made ones and every kind of bad one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use todo_api::http::auth::{JwtSettings, mint_token};

/// The HS256 secret the JWT tests configure.
pub const SECRET: &str = "the test secret, thirty-two bytes or more";

/// The arguments that sign users in with [`SECRET`].
pub const JWT_ARGS: [&str; 2] = ["--jwt-secret", SECRET];

/// A valid token for `subject`, an hour long.
pub fn token_for(subject: &str) -> String {
    mint_token(
        SECRET.as_bytes(),
        subject,
        Duration::from_secs(3600),
        &JwtSettings::default(),
    )
    .unwrap()
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims for `subject` expiring in `expires_in` seconds (negative: past).
pub fn claims(subject: &str, expires_in: i64) -> Value {
    json!({"sub": subject, "iat": now(), "exp": now() + expires_in})
}

/// `claims` signed with `key` for `algorithm`, naming `kid` if given.
pub fn signed(
    algorithm: Algorithm,
    key: &EncodingKey,
    claims: &Value,
    kid: Option<&str>,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// `claims` signed HS256 with `secret`.
pub fn hs256(secret: &[u8], claims: &Value) -> String {
    signed(
        Algorithm::HS256,
        &EncodingKey::from_secret(secret),
        claims,
        None,
    )
}

/// A token whose header says `alg: none`, with no signature.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// `token` with its payload replaced by `claims`, signature kept.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap();
    parts.next();
    let signature = parts.next().unwrap();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}
