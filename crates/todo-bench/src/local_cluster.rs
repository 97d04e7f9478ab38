//! The production topology without containers, on loopback, from Debian's
//! packages: PgBouncer in transaction mode in front of a PostgreSQL
//! database, `N` `todo-api` processes on it (statements unnamed, the
//! listening connection straight to PostgreSQL, as README's "Behind
//! PgBouncer" says), and HAProxy in front of them checking `/ready`, as
//! compose.yaml runs them in containers. Instances can be restarted (SIGTERM,
//! drain, start) or killed one at a time; everything started here stops
//! when the cluster is stopped or dropped.

mod haproxy;
mod pgbouncer;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use todo_load::client::Connection;
use todo_load::service_url::ServiceUrl;

use crate::error::BenchError;
use crate::service::Service;
use haproxy::HaProxy;
use pgbouncer::PgBouncer;

/// How long `/ready` answers 503 after SIGTERM while requests are still
/// served: HAProxy checks every 500 ms and takes an instance out after one
/// failed check, so two seconds leaves a wide margin.
const DRAIN: Duration = Duration::from_millis(2000);

/// How long the cluster may take to have every instance in rotation.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What to start.
#[derive(Debug, Clone)]
pub struct LocalClusterSpec {
    /// The `todo-api` binary.
    pub binary: PathBuf,
    /// A migrated database on PostgreSQL itself, as a user PgBouncer may
    /// log in as without a password (the throwaway cluster's superuser).
    pub database_url: String,
    pub instances: usize,
    /// HAProxy's port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where configuration files and logs go.
    pub dir: PathBuf,
    /// Settings of every instance besides the topology's own.
    pub service_env: Vec<(String, String)>,
}

/// The running topology.
#[derive(Debug)]
pub struct LocalCluster {
    spec: LocalClusterSpec,
    haproxy: HaProxy,
    pgbouncer: PgBouncer,
    instances: Vec<Instance>,
    /// HAProxy's address, where clients go.
    pub url: ServiceUrl,
}

#[derive(Debug)]
struct Instance {
    port: u16,
    /// Starts so far, for the name of each start's log.
    starts: u32,
    service: Option<Service>,
}

impl LocalCluster {
    /// Starts PgBouncer, the instances and HAProxy, and waits until HAProxy
    /// has every instance in rotation.
    pub async fn start(mut spec: LocalClusterSpec) -> Result<LocalCluster, BenchError> {
        std::fs::create_dir_all(&spec.dir).map_err(BenchError::Io)?;
        // Absolute: HAProxy reads a relative socket path as an address.
        spec.dir = std::fs::canonicalize(&spec.dir).map_err(BenchError::Io)?;
        let database: tokio_postgres::Config = spec
            .database_url
            .parse()
            .map_err(|_| BenchError::Setup("the database URL does not parse".to_owned()))?;
        let pgbouncer = PgBouncer::start(&spec.dir, &database, free_port()?).await?;
        let mut instances = Vec::new();
        for _ in 0..spec.instances {
            instances.push(Instance {
                port: free_port()?,
                starts: 0,
                service: None,
            });
        }
        let port = match spec.port {
            0 => free_port()?,
            port => port,
        };
        let ports: Vec<u16> = instances.iter().map(|instance| instance.port).collect();
        let haproxy = HaProxy::start(&spec.dir, port, &ports).await?;
        let url = ServiceUrl::from_addr(([127, 0, 0, 1], port).into())
            .map_err(|error| BenchError::Setup(error.to_string()))?;
        let mut cluster = LocalCluster {
            spec,
            haproxy,
            pgbouncer,
            instances,
            url,
        };
        for index in 0..cluster.instances.len() {
            cluster.start_instance(index).await?;
        }
        cluster.wait_in_rotation().await?;
        Ok(cluster)
    }

    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// The address of instance `index` itself.
    pub fn instance_url(&self, index: usize) -> Result<ServiceUrl, BenchError> {
        ServiceUrl::from_addr(([127, 0, 0, 1], self.instances[index].port).into())
            .map_err(|error| BenchError::Setup(error.to_string()))
    }

    /// SIGTERM to instance `index` (it drains, then finishes what is in
    /// flight), then starts it again on the same port and waits until
    /// HAProxy has it back. How the stopped process exited.
    pub async fn restart(&mut self, index: usize) -> Result<ExitStatus, BenchError> {
        let service = self.instances[index]
            .service
            .take()
            .ok_or_else(|| BenchError::Setup(format!("instance {index} is not running")))?;
        let status = service.terminate().await?;
        self.start_instance(index).await?;
        self.wait_in_rotation().await?;
        Ok(status)
    }

    /// SIGKILL to instance `index`, then starts it again and waits until
    /// HAProxy has it back.
    pub async fn kill_and_restart(&mut self, index: usize) -> Result<(), BenchError> {
        if let Some(service) = self.instances[index].service.take() {
            service.kill().await?;
        }
        self.start_instance(index).await?;
        self.wait_in_rotation().await
    }

    /// Stops HAProxy, the instances (SIGTERM, all at once) and PgBouncer,
    /// in that order.
    pub async fn stop(mut self) -> Result<(), BenchError> {
        self.haproxy.stop().await;
        let mut stopping = tokio::task::JoinSet::new();
        for service in self
            .instances
            .iter_mut()
            .filter_map(|instance| instance.service.take())
        {
            stopping.spawn(service.stop());
        }
        let stopped = stopping.join_all().await;
        self.pgbouncer.stop().await;
        stopped.into_iter().collect()
    }

    /// Where each process's log is.
    pub fn dir(&self) -> &Path {
        &self.spec.dir
    }

    async fn start_instance(&mut self, index: usize) -> Result<(), BenchError> {
        let instance = &mut self.instances[index];
        instance.starts += 1;
        let log = self
            .spec
            .dir
            .join(format!("todo-api-{}.{}.log", index + 1, instance.starts));
        let through_pgbouncer = self.pgbouncer.url_for(&self.spec.database_url)?;
        let mut env: Vec<(&str, String)> = vec![
            ("PORT", instance.port.to_string()),
            ("DATABASE_URL", through_pgbouncer),
            ("DATABASE_LISTEN_URL", self.spec.database_url.clone()),
            ("DB_STATEMENT_CACHE", "false".to_owned()),
            ("SHUTDOWN_DRAIN_MS", DRAIN.as_millis().to_string()),
        ];
        env.extend(
            self.spec
                .service_env
                .iter()
                .map(|(name, value)| (name.as_str(), value.clone())),
        );
        instance.service = Some(Service::start_binary(&self.spec.binary, &env, &log).await?);
        Ok(())
    }

    /// Waits until HAProxy reports every running instance up, and its
    /// address answers `/ready`.
    async fn wait_in_rotation(&mut self) -> Result<(), BenchError> {
        let running = self
            .instances
            .iter()
            .filter(|instance| instance.service.is_some())
            .count();
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let up = self.haproxy.servers_up().await.unwrap_or(0);
            if up == running && self.answers_ready().await {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(BenchError::Setup(format!(
                    "HAProxy had {up} of {running} instances up after {READY_TIMEOUT:?}; logs in {}",
                    self.spec.dir.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn answers_ready(&self) -> bool {
        let Ok(mut connection) = Connection::open(&self.url).await else {
            return false;
        };
        connection
            .get("/ready")
            .await
            .is_ok_and(|response| response.status.is_success())
    }
}

/// The programs the cluster runs besides `todo-api` and PostgreSQL, that
/// are not found here (Debian's packages of the same names).
pub fn missing_programs() -> Vec<&'static str> {
    ["pgbouncer", "haproxy"]
        .into_iter()
        .filter(|name| find_program(name).is_none())
        .collect()
}

/// Where program `name` is: on `PATH`, or in `/usr/sbin`, where Debian puts
/// daemons and which is not on a normal user's `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A port free on 127.0.0.1 now. (Another process could take it before it
/// is used; on a test machine that does not happen in practice.)
fn free_port() -> Result<u16, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(BenchError::Io)?;
    Ok(listener.local_addr().map_err(BenchError::Io)?.port())
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
async fn wait_listening(port: u16, what: &str, log: &Path) -> Result<(), BenchError> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if tokio::time::Instant::now() > deadline {
            return Err(BenchError::Setup(format!(
                "{what} did not listen on port {port}; see {}",
                log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
