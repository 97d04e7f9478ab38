//! The machine's and this process's limits that bound a load test before
//! the server does: open files, ephemeral ports, the listen backlog. Also
//! this process's CPU time and the kernel's listen-overflow counter, so a
//! report can say when the client or the machine was the bottleneck.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Descriptors kept free beyond one per client: stdio, the runtime, logs.
const SPARE_FILES: u64 = 64;

/// Linux `USER_HZ`: the unit of CPU times in `/proc/PID/stat`.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// The limits that matter for `clients` simultaneous connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// This process's open-file limit after raising it.
    pub open_files: u64,
    /// The hard limit it could not be raised past.
    pub open_files_hard: u64,
    /// Local ports available for outgoing connections.
    pub ephemeral_ports: Option<u64>,
    /// `net.core.somaxconn`: the most a listen backlog can hold.
    pub somaxconn: Option<u64>,
    pub cpus: usize,
}

impl Limits {
    /// Raises the soft open-file limit as far as needed for `clients`
    /// connections (up to the hard limit) and reads the others.
    pub fn prepare(clients: u64) -> Limits {
        let wanted = clients + SPARE_FILES;
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
        let open_files = if soft < wanted {
            let target = wanted.min(hard);
            match rlimit::setrlimit(rlimit::Resource::NOFILE, target, hard) {
                Ok(()) => target,
                Err(_) => soft,
            }
        } else {
            soft
        };
        Limits {
            open_files,
            open_files_hard: hard,
            ephemeral_ports: ephemeral_ports(),
            somaxconn: read_number("/proc/sys/net/core/somaxconn"),
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Warnings for `clients` connections: each names the limit that will
    /// fail connections before the server is even asked.
    pub fn warnings(&self, clients: u64) -> Vec<String> {
        let mut warnings = Vec::new();
        if clients + SPARE_FILES > self.open_files {
            warnings.push(format!(
                "client limit: {clients} connections need about {} open files, but this \
                 process may open {} (hard limit {}): connections past that fail with EMFILE",
                clients + SPARE_FILES,
                self.open_files,
                self.open_files_hard
            ));
        }
        if let Some(ports) = self.ephemeral_ports
            && clients > ports
        {
            warnings.push(format!(
                "machine limit: {clients} connections but only {ports} ephemeral ports"
            ));
        }
        if let Some(backlog) = self.somaxconn
            && clients > backlog
        {
            warnings.push(format!(
                "machine limit: {clients} simultaneous connects but a listen backlog holds at \
                 most {backlog} (net.core.somaxconn): the rest wait for SYN retries (1 s, 3 s, …)"
            ));
        }
        warnings
    }
}

fn ephemeral_ports() -> Option<u64> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = range.split_whitespace().map(str::parse::<u64>);
    let (low, high) = (bounds.next()?.ok()?, bounds.next()?.ok()?);
    Some(high.saturating_sub(low) + 1)
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// CPU time (user + system) a process has used so far, from
/// `/proc/PID/stat`; `None` off Linux or when the process is gone.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at state;
    // utime and stime are fields 14 and 15 of the whole line.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split_whitespace();
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / CLOCK_TICKS_PER_SECOND,
    ))
}

/// The kernel's count of connections dropped because a listen backlog was
/// full (`TcpExt: ListenOverflows`), machine-wide.
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        let index = names
            .split_whitespace()
            .position(|n| n == "ListenOverflows")?;
        return values.split_whitespace().nth(index)?.parse().ok();
    }
    None
}

/// CPU use of a process over an interval, as a share of one core.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: Option<u32>,
    start: Option<Duration>,
    started: std::time::Instant,
}

impl CpuMeter {
    /// Starts measuring `pid` (this process when `None`).
    pub fn start(pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            pid,
            start: cpu_time(pid),
            started: std::time::Instant::now(),
        }
    }

    /// Cores used on average since the start (1.0 = one core busy).
    pub fn cores(&self) -> Option<f64> {
        let used = cpu_time(self.pid)?.checked_sub(self.start?)?;
        let wall = self.started.elapsed().as_secs_f64();
        (wall > 0.0).then(|| used.as_secs_f64() / wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_limits_and_cpu_time() {
        let limits = Limits::prepare(10);
        assert!(limits.open_files >= 10);
        assert!(limits.cpus >= 1);
        assert!(cpu_time(None).is_some());
        assert!(limits.warnings(10).is_empty());
    }

    #[test]
    fn too_many_clients_for_the_limits_are_named() {
        let limits = Limits {
            open_files: 1024,
            open_files_hard: 1024,
            ephemeral_ports: Some(2000),
            somaxconn: Some(4096),
            cpus: 2,
        };
        let warnings = limits.warnings(5000);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("client limit"));
    }
}
