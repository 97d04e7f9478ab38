//! The service under load: an `http://` URL resolved to one socket address.
//! Load goes to this machine unless the user says otherwise
//! (`--allow-remote`), so a mistyped URL cannot load someone else's
//! service.

use std::net::{SocketAddr, ToSocketAddrs};

/// Why a `--url` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ServiceUrlError {
    #[error("the URL must start with http:// (got {0})")]
    Scheme(String),
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, std::io::Error),
    #[error("{0} resolves to no address")]
    NoAddress(String),
    #[error("{0} is not a loopback address: pass --allow-remote to send load to another machine")]
    NotLoopback(SocketAddr),
}

/// Where requests go: the socket address and the `Host` header to send.
#[derive(Debug, Clone)]
pub struct ServiceUrl {
    pub addr: SocketAddr,
    pub host: String,
}

impl ServiceUrl {
    /// Parses `http://HOST[:PORT][/]` naming this machine; the port
    /// defaults to 80.
    pub fn parse(url: &str) -> Result<ServiceUrl, ServiceUrlError> {
        ServiceUrl::parse_reaching(url, false)
    }

    /// [`parse`](ServiceUrl::parse), and with `remote` any other machine
    /// too.
    pub fn parse_reaching(url: &str, remote: bool) -> Result<ServiceUrl, ServiceUrlError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ServiceUrlError::Scheme(url.to_owned()))?;
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
            .map_err(|error| ServiceUrlError::Resolve(authority.to_owned(), error))?
            .next()
            .ok_or_else(|| ServiceUrlError::NoAddress(authority.to_owned()))?;
        if !remote && !addr.ip().is_loopback() {
            return Err(ServiceUrlError::NotLoopback(addr));
        }
        Ok(ServiceUrl {
            addr,
            host: authority.to_owned(),
        })
    }

    /// The service at a socket address, as a server bound on port 0 reports it.
    pub fn from_addr(addr: SocketAddr) -> Result<ServiceUrl, ServiceUrlError> {
        if !addr.ip().is_loopback() {
            return Err(ServiceUrlError::NotLoopback(addr));
        }
        Ok(ServiceUrl {
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
        let service = ServiceUrl::parse("http://127.0.0.1:8000/").unwrap();
        assert_eq!(service.addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(service.host, "127.0.0.1:8000");
        assert_eq!(
            ServiceUrl::parse("http://127.0.0.1").unwrap().addr.port(),
            80
        );
        assert!(
            ServiceUrl::parse("http://localhost:9")
                .unwrap()
                .addr
                .ip()
                .is_loopback()
        );
    }

    #[test]
    fn other_schemes_and_remote_addresses_are_refused() {
        assert!(matches!(
            ServiceUrl::parse("https://127.0.0.1"),
            Err(ServiceUrlError::Scheme(_))
        ));
        assert!(matches!(
            ServiceUrl::parse("http://192.0.2.1:80"),
            Err(ServiceUrlError::NotLoopback(_))
        ));
    }

    #[test]
    fn a_remote_address_is_taken_when_allowed() {
        let service = ServiceUrl::parse_reaching("http://192.0.2.1:8000", true).unwrap();
        assert_eq!(service.addr, "192.0.2.1:8000".parse().unwrap());
    }
}
