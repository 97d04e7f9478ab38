//! TLS to the database, as libpq's `sslmode` asks for it in the URL:
//! `disable`, `prefer` (the default: encrypt when the server offers it),
//! `require` (always encrypt, verify nothing), `verify-ca` (the server's
//! certificate must chain to a trusted root) and `verify-full` (and must
//! name the host connected to). Trusted roots are the PEM file named by
//! `sslrootcert`, else the Mozilla roots of `webpki-roots`. As with libpq,
//! `require` with an `sslrootcert` verifies like `verify-ca`.
//!
//! `tokio-postgres` parses `sslmode` itself but knows only the first three
//! modes, so both parameters are taken out of the URL here and the driver
//! is told only whether to insist on TLS.

use std::path::PathBuf;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode as DriverSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why the TLS settings of a URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("invalid sslmode {0:?}: use disable, prefer, require, verify-ca or verify-full")]
    InvalidMode(String),
    #[error("cannot read the root certificates in sslrootcert={path}")]
    RootCertificates {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("sslrootcert={0} holds no usable certificate")]
    NoRootCertificate(PathBuf),
    #[error("cannot set up TLS")]
    Setup(#[source] rustls::Error),
    #[error("cannot set up certificate verification")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS parameters of a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsParams {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL; returns
/// the URL without them, for the driver, and what they asked for.
pub fn take_tls_params(url: &str) -> Result<(String, TlsParams), TlsError> {
    let mut params = TlsParams {
        mode: SslMode::Prefer,
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), params));
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(value).decode_utf8_lossy();
        match key {
            "sslmode" => params.mode = parse_mode(&value)?,
            "sslrootcert" => params.root_cert = Some(PathBuf::from(value.as_ref())),
            _ => kept.push(pair),
        }
    }
    if params.mode == SslMode::Require && params.root_cert.is_some() {
        params.mode = SslMode::VerifyCa;
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, params))
}

fn parse_mode(value: &str) -> Result<SslMode, TlsError> {
    match value {
        "disable" => Ok(SslMode::Disable),
        // libpq's `allow` tries plain first; encrypting when possible is
        // no worse for a client that accepts either.
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" => Ok(SslMode::Require),
        "verify-ca" => Ok(SslMode::VerifyCa),
        "verify-full" => Ok(SslMode::VerifyFull),
        other => Err(TlsError::InvalidMode(other.to_owned())),
    }
}

impl TlsParams {
    /// What the driver is told: whether TLS is off, tried or insisted on.
    pub fn driver_mode(&self) -> DriverSslMode {
        match self.mode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        }
    }

    /// The connector that encrypts and verifies as the mode asks.
    pub fn connector(&self) -> Result<MakeRustlsConnect, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?;
        let config = match self.mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
                .with_no_client_auth(),
            SslMode::VerifyCa => {
                let verifier =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots()?), provider)
                        .build()
                        .map_err(TlsError::Verifier)?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
                    .with_no_client_auth()
            }
            SslMode::VerifyFull => builder
                .with_root_certificates(self.roots()?)
                .with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let Some(path) = &self.root_cert else {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        };
        let certificates = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|source| TlsError::RootCertificates {
                path: path.clone(),
                source,
            })?;
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(TlsError::NoRootCertificate(path.clone()));
        }
        Ok(roots)
    }
}

/// `require`: encrypt, trusting whatever certificate the server shows, as
/// libpq does; the handshake's signatures are still checked.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full verification, except that the certificate need
/// not name the host.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let (url, params) = take_tls_params(
            "postgres://u:p@db/todo?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://u:p@db/todo?application_name=x");
        assert_eq!(params.mode, SslMode::VerifyFull);
        assert_eq!(params.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(params.driver_mode(), DriverSslMode::Require);
    }

    #[test]
    fn without_sslmode_tls_is_preferred_as_in_libpq() {
        let (url, params) = take_tls_params("postgres://db/todo").unwrap();
        assert_eq!(url, "postgres://db/todo");
        assert_eq!(params.mode, SslMode::Prefer);
        let (url, params) = take_tls_params("postgres://db/todo?sslmode=disable").unwrap();
        assert_eq!(url, "postgres://db/todo");
        assert_eq!(params.driver_mode(), DriverSslMode::Disable);
    }

    #[test]
    fn require_with_a_root_certificate_verifies_the_chain() {
        let (_, params) =
            take_tls_params("postgres://db/todo?sslmode=require&sslrootcert=ca.pem").unwrap();
        assert_eq!(params.mode, SslMode::VerifyCa);
    }

    #[test]
    fn an_unknown_sslmode_is_refused() {
        let error = take_tls_params("postgres://db/todo?sslmode=always").unwrap_err();
        assert!(matches!(error, TlsError::InvalidMode(_)), "{error:?}");
    }

    #[test]
    fn every_mode_builds_a_connector() {
        for mode in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let (_, params) = take_tls_params(&format!("postgres://db/x?sslmode={mode}")).unwrap();
            params.connector().unwrap();
        }
    }
}
