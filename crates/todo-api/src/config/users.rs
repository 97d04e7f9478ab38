//! The settings of users and rate limits (API.md, "Users", "Rate limits").

use std::path::PathBuf;

use clap::Args;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

use super::parse_secret;

/// Who may call `/api`, and how often.
#[derive(Debug, Clone, Args)]
pub struct UserSettings {
    /// Access tokens, comma-separated. When set, every `/api` route needs
    /// `Authorization: Bearer <token>`; every token acts on the anonymous
    /// user's list. Health and readiness stay open.
    #[arg(long, env = "API_TOKENS", hide_env_values = true, value_parser = parse_secret)]
    pub api_tokens: Option<SecretString>,

    /// HS256 secret of the JWTs users sign in with (at least 32 bytes).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: Option<SecretString>,

    /// PEM file of the public key that signs the JWTs: RSA (RS256), P-256
    /// (ES256) or Ed25519 (EdDSA).
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// URL of an identity provider's JWKS (Keycloak, Auth0, Supabase, …):
    /// fetched at start, and again when a token names an unknown key id
    /// (at most once a minute).
    #[arg(long, env = "JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,

    /// When set, a JWT's `iss` must be this.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// When set, a JWT's `aud` must be (or contain) this.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Requests a second each user may make to `/api` (the anonymous user:
    /// each client address); 0 switches rate limits off.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 0)]
    pub rate_limit_per_second: u32,

    /// Requests a user may make at once before the rate applies; default
    /// twice the rate.
    #[arg(long, env = "RATE_LIMIT_BURST")]
    pub rate_limit_burst: Option<u32>,

    /// Proxies whose `X-Forwarded-For` names the client, comma-separated
    /// addresses or networks (`10.0.0.0/8,192.0.2.1`).
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,
}

/// Where JWTs are verified from, when they are.
#[derive(Debug, Clone)]
pub enum JwtKeySource<'a> {
    Secret(&'a SecretString),
    PublicKeyFile(&'a PathBuf),
    JwksUrl(&'a str),
}

/// Why the user settings cannot be used; the service does not start.
#[derive(Debug, thiserror::Error)]
pub enum UserSettingsError {
    #[error("set at most one of JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_JWKS_URL")]
    SeveralJwtKeys,
}

impl UserSettings {
    /// The configured access tokens; empty when there are none.
    pub fn tokens(&self) -> Vec<String> {
        self.api_tokens
            .as_ref()
            .map(|tokens| {
                tokens
                    .expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|token| !token.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one source of JWT keys, if JWTs are accepted. An empty setting
    /// counts as unset.
    pub fn jwt_key_source(&self) -> Result<Option<JwtKeySource<'_>>, UserSettingsError> {
        let mut sources = Vec::new();
        if let Some(secret) = self
            .jwt_secret
            .as_ref()
            .filter(|secret| !secret.expose_secret().is_empty())
        {
            sources.push(JwtKeySource::Secret(secret));
        }
        if let Some(path) = self
            .jwt_public_key_file
            .as_ref()
            .filter(|path| !path.as_os_str().is_empty())
        {
            sources.push(JwtKeySource::PublicKeyFile(path));
        }
        if let Some(url) = self.jwt_jwks_url.as_deref().filter(|url| !url.is_empty()) {
            sources.push(JwtKeySource::JwksUrl(url));
        }
        match sources.len() {
            0 | 1 => Ok(sources.pop()),
            _ => Err(UserSettingsError::SeveralJwtKeys),
        }
    }

    /// `JWT_ISSUER` and `JWT_AUDIENCE`, empty ones as unset.
    pub fn jwt_claims(&self) -> (Option<String>, Option<String>) {
        let set = |value: &Option<String>| value.clone().filter(|value| !value.is_empty());
        (set(&self.jwt_issuer), set(&self.jwt_audience))
    }

    /// The rate and burst of the rate limits; `None` when they are off.
    pub fn rate_limit(&self) -> Option<(u32, u32)> {
        let rate = self.rate_limit_per_second;
        (rate > 0).then(|| {
            let burst = self.rate_limit_burst.unwrap_or(rate.saturating_mul(2));
            (rate, burst.max(1))
        })
    }
}

/// An address (a network of one) or a network in CIDR notation.
fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a network (10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::config::Cli;

    #[test]
    fn one_jwt_key_source_at_most_and_empty_means_unset() {
        let settings = Cli::parse_from(["todo-api", "--jwt-secret", ""])
            .config
            .users;
        assert!(settings.jwt_key_source().unwrap().is_none());
        let settings = Cli::parse_from(["todo-api", "--jwt-jwks-url", "http://127.0.0.1:1/jwks"])
            .config
            .users;
        assert!(settings.jwt_key_source().unwrap().is_some());
        let settings = Cli::parse_from([
            "todo-api",
            "--jwt-secret",
            "0123456789abcdef0123456789abcdef",
            "--jwt-jwks-url",
            "http://127.0.0.1:1/jwks",
        ])
        .config
        .users;
        assert!(settings.jwt_key_source().is_err());
    }

    #[test]
    fn the_burst_defaults_to_twice_the_rate_and_zero_is_off() {
        let settings = Cli::parse_from(["todo-api", "--rate-limit-per-second", "5"])
            .config
            .users;
        assert_eq!(settings.rate_limit(), Some((5, 10)));
        assert_eq!(
            Cli::parse_from(["todo-api"]).config.users.rate_limit(),
            None
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let settings = Cli::parse_from(["todo-api", "--trusted-proxies", "10.0.0.0/8, 192.0.2.1"])
            .config
            .users;
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert!(Cli::try_parse_from(["todo-api", "--trusted-proxies", "nonsense"]).is_err());
    }
}
