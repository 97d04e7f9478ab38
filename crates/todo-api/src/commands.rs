//! The commands besides serving: `token` prints an HS256 token for a user,
//! `healthcheck` asks the running service whether it is ready.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{Config, JwtKeySource};
use crate::http::auth::{JwtSettings, mint_token};

/// Longest the health check may take, connecting and answering included.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// An HS256 token for `subject`, valid for `ttl`, signed with
/// `JWT_SECRET` and naming `JWT_ISSUER` and `JWT_AUDIENCE` when set.
pub fn token(config: &Config, subject: &str, ttl: Duration) -> anyhow::Result<String> {
    let Some(JwtKeySource::Secret(secret)) = config.users.jwt_key_source()? else {
        anyhow::bail!("todo-api token signs with JWT_SECRET: set it (at least 32 bytes)");
    };
    anyhow::ensure!(
        todo_core::valid_subject(subject),
        "--sub must be 1 to {} bytes without control characters",
        todo_core::MAX_SUBJECT_BYTES
    );
    let (issuer, audience) = config.users.jwt_claims();
    Ok(mint_token(
        secret.expose_secret().as_bytes(),
        subject,
        ttl,
        &JwtSettings { issuer, audience },
    )?)
}

/// Whether the service on `HOST:PORT` answers `/ready` with 200. A service
/// listening on every address (`0.0.0.0`, `::`) is asked on loopback.
pub async fn healthcheck(config: &Config) -> anyhow::Result<bool> {
    let mut addr = config.listen_addr().await.context("cannot resolve HOST")?;
    if addr.ip().is_unspecified() {
        let loopback = match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        addr = SocketAddr::new(loopback, addr.port());
    }
    let answer = tokio::time::timeout(HEALTHCHECK_TIMEOUT, ask_ready(addr))
        .await
        .context("the service did not answer in time")??;
    Ok(answer.starts_with("HTTP/1.1 200 ") || answer.starts_with("HTTP/1.0 200 "))
}

/// The status line `/ready` answers with.
async fn ask_ready(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let request = format!("GET /ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0; 64];
    let read = stream.read(&mut head).await?;
    head.truncate(read);
    Ok(String::from_utf8_lossy(&head).into_owned())
}
