//! Why a request failed, and whose limit that was: the client's (its open
//! files), the machine's (ephemeral ports, the listen backlog) or the
//! server's (errors, resets, slow answers). A load test that cannot tell
//! these apart blames the server for the load generator's limits.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

/// Linux `errno` values that name a limit rather than a fault.
const ENFILE: i32 = 23;
const EMFILE: i32 = 24;
const EADDRINUSE: i32 = 98;
const EADDRNOTAVAIL: i32 = 99;
const ECONNRESET: i32 = 104;
const ECONNREFUSED: i32 = 111;

/// What went wrong with one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `EMFILE`/`ENFILE` opening a socket: the client's open-file limit.
    ClientOpenFiles,
    /// `EADDRNOTAVAIL`/`EADDRINUSE` connecting: no ephemeral port was free.
    EphemeralPorts,
    /// The connection attempt was refused: nothing listens, or the listen
    /// backlog overflowed and the kernel answered with a reset.
    ConnectRefused,
    /// The connection was not accepted in time: SYNs dropped because the
    /// listen backlog was full (or the server is not accepting).
    ConnectTimeout,
    /// The server closed or reset an established connection.
    ConnectionReset,
    /// No answer within the request timeout.
    RequestTimeout,
    /// A protocol-level error on an established connection.
    Http,
    /// A 5xx answer (503 is the service shedding load).
    ServerError,
    /// A 4xx answer the workload did not expect.
    ClientError,
    /// The answer did not hold what the contract promises.
    BadAnswer,
}

/// Whose limit a failure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blame {
    /// The load generator (its own open-file limit).
    Client,
    /// The machine both run on (ports, listen backlog).
    Machine,
    /// The service.
    Server,
}

impl FailureKind {
    /// Classifies an error from connecting a socket.
    pub fn of_connect(error: &io::Error) -> FailureKind {
        match error.raw_os_error() {
            Some(EMFILE | ENFILE) => FailureKind::ClientOpenFiles,
            Some(EADDRNOTAVAIL | EADDRINUSE) => FailureKind::EphemeralPorts,
            Some(ECONNREFUSED) => FailureKind::ConnectRefused,
            Some(ECONNRESET) => FailureKind::ConnectionReset,
            _ if error.kind() == io::ErrorKind::TimedOut => FailureKind::ConnectTimeout,
            _ => FailureKind::ConnectRefused,
        }
    }

    /// Classifies an HTTP status that is not the expected one.
    pub fn of_status(status: u16) -> FailureKind {
        if status >= 500 {
            FailureKind::ServerError
        } else {
            FailureKind::ClientError
        }
    }

    pub fn blame(self) -> Blame {
        match self {
            FailureKind::ClientOpenFiles => Blame::Client,
            FailureKind::EphemeralPorts
            | FailureKind::ConnectRefused
            | FailureKind::ConnectTimeout => Blame::Machine,
            _ => Blame::Server,
        }
    }

    /// What to tell the reader, naming the limit.
    pub fn explain(self) -> &'static str {
        match self {
            FailureKind::ClientOpenFiles => {
                "the load generator ran out of file descriptors (RLIMIT_NOFILE): a client limit"
            }
            FailureKind::EphemeralPorts => {
                "no free ephemeral port (net.ipv4.ip_local_port_range): a machine limit"
            }
            FailureKind::ConnectRefused => {
                "connection refused: listen backlog overflow or nothing listening: a machine limit"
            }
            FailureKind::ConnectTimeout => {
                "connect timed out: SYNs dropped on a full listen backlog (somaxconn): a machine limit"
            }
            FailureKind::ConnectionReset => "the server closed or reset the connection",
            FailureKind::RequestTimeout => "the server did not answer in time",
            FailureKind::Http => "HTTP protocol error",
            FailureKind::ServerError => "5xx answers (503: the service shed load)",
            FailureKind::ClientError => "unexpected 4xx answers",
            FailureKind::BadAnswer => "answers that break the contract",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

/// Counts of failures by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures(pub BTreeMap<FailureKind, u64>);

impl Failures {
    pub fn add(&mut self, kind: FailureKind) {
        *self.0.entry(kind).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Failures) {
        for (kind, count) in &other.0 {
            *self.0.entry(*kind).or_default() += count;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Failures whose cause is not the server.
    pub fn not_the_server(&self) -> u64 {
        self.0
            .iter()
            .filter(|(kind, _)| kind.blame() != Blame::Server)
            .map(|(_, count)| count)
            .sum()
    }

    /// One line per kind, with its blame and explanation.
    pub fn describe(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(kind, count)| {
                format!("{count} × {kind} [{:?}]: {}", kind.blame(), kind.explain())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_name_the_limit_they_hit() {
        let emfile = io::Error::from_raw_os_error(EMFILE);
        assert_eq!(
            FailureKind::of_connect(&emfile),
            FailureKind::ClientOpenFiles
        );
        assert_eq!(FailureKind::ClientOpenFiles.blame(), Blame::Client);
        let ports = io::Error::from_raw_os_error(EADDRNOTAVAIL);
        assert_eq!(FailureKind::of_connect(&ports).blame(), Blame::Machine);
        let timeout = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(
            FailureKind::of_connect(&timeout),
            FailureKind::ConnectTimeout
        );
        assert_eq!(FailureKind::of_status(503).blame(), Blame::Server);
    }

    #[test]
    fn failures_count_by_kind_and_tell_whose_they_are() {
        let mut failures = Failures::default();
        failures.add(FailureKind::ServerError);
        failures.add(FailureKind::ClientOpenFiles);
        failures.add(FailureKind::ClientOpenFiles);
        assert_eq!(failures.total(), 3);
        assert_eq!(failures.not_the_server(), 2);
        assert_eq!(
            FailureKind::ClientOpenFiles.to_string(),
            "client_open_files"
        );
    }
}
