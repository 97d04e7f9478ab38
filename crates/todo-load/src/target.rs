//! The service under load: an `http://` URL resolved to one socket address.
//! Load is only ever sent to this machine, so the address must be a
//! loopback one.

use std::net::{SocketAddr, ToSocketAddrs};

/// Why a `--url` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the URL must start with http:// (got {0})")]
    Scheme(String),
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, std::io::Error),
    #[error("{0} resolves to no address")]
    NoAddress(String),
    #[error("{0} is not a loopback address: todo-load only sends load to this machine")]
    NotLoopback(SocketAddr),
}

/// Where requests go: the socket address and the `Host` header to send.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
}

impl Target {
    /// Parses `http://HOST[:PORT][/]`; the port defaults to 80.
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| TargetError::Scheme(url.to_owned()))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|error| TargetError::Resolve(authority.to_owned(), error))?
            .next()
            .ok_or_else(|| TargetError::NoAddress(authority.to_owned()))?;
        if !addr.ip().is_loopback() {
            return Err(TargetError::NotLoopback(addr));
        }
        Ok(Target {
            addr,
            host: authority.to_owned(),
        })
    }

    /// The target at a socket address, as a server bound on port 0 reports it.
    pub fn from_addr(addr: SocketAddr) -> Result<Target, TargetError> {
        if !addr.ip().is_loopback() {
            return Err(TargetError::NotLoopback(addr));
        }
        Ok(Target {
            addr,
            host: addr.to_string(),
        })
    }

    /// The base URL, for reports.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_parse_with_or_without_a_port() {
        let target = Target::parse("http://127.0.0.1:8000/").unwrap();
        assert_eq!(target.addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(target.host, "127.0.0.1:8000");
        assert_eq!(Target::parse("http://127.0.0.1").unwrap().addr.port(), 80);
        assert!(
            Target::parse("http://localhost:9")
                .unwrap()
                .addr
                .ip()
                .is_loopback()
        );
    }

    #[test]
    fn other_schemes_and_remote_addresses_are_refused() {
        assert!(matches!(
            Target::parse("https://127.0.0.1"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("http://192.0.2.1:80"),
            Err(TargetError::NotLoopback(_))
        ));
    }
}
