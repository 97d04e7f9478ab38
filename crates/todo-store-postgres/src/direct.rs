//! Connections of their own, outside the pools: the one that listens for
//! change notifications (`notifications.rs`). `connect.rs` makes the
//! connector, `Db` keeps it.

use tokio_postgres_rustls::MakeRustlsConnect;

/// Opens connections of their own, outside the pools, with the pools'
/// settings unless told otherwise: the one that listens for change
/// notifications.
#[derive(Clone)]
pub(crate) struct DirectConnector {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
}

impl std::fmt::Debug for DirectConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the configuration: it may hold a password.
        f.debug_struct("DirectConnector").finish_non_exhaustive()
    }
}

/// A connection of its own: the client, and the connection to poll for
/// the server's messages.
pub(crate) type DirectConnection = (
    tokio_postgres::Client,
    tokio_postgres::Connection<
        tokio_postgres::Socket,
        <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
    >,
);

impl DirectConnector {
    pub(crate) fn new(config: tokio_postgres::Config, tls: MakeRustlsConnect) -> Self {
        DirectConnector { config, tls }
    }

    pub(crate) async fn connect(&self) -> Result<DirectConnection, tokio_postgres::Error> {
        self.config.connect(self.tls.clone()).await
    }
}
