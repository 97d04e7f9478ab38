//! Finding the installed PostgreSQL server binaries, and running them as an
//! unprivileged user when the tests run as root, which PostgreSQL refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the binaries are looked for when `PG_BIN_DIR` is not set, as
/// Debian and Ubuntu install them: one directory per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The system user that owns the cluster when the tests run as root.
pub const SERVER_USER: &str = "postgres";

/// The directory holding `initdb` and `postgres`: `PG_BIN_DIR`, else the
/// highest version under `/usr/lib/postgresql`, else the one on `PATH`.
pub(crate) fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("initdb").is_file(),
            "PG_BIN_DIR={} holds no initdb",
            dir.display()
        );
        return dir;
    }
    highest_debian_version()
        .or_else(on_path)
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server binaries (initdb, postgres) found: install postgresql \
                 (e.g. `apt-get install postgresql`) or set PG_BIN_DIR to their directory"
            )
        })
}

fn highest_debian_version() -> Option<PathBuf> {
    std::fs::read_dir(DEBIAN_ROOT)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn on_path() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // `Uid:` lists the real, effective, saved and filesystem ids; the
    // effective one decides what the server would refuse.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|line| line.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(2) == Some("0");
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// Builds commands that run as the user who may run the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerUser {
    as_root: bool,
}

impl ServerUser {
    pub(crate) fn detect() -> Self {
        ServerUser { as_root: is_root() }
    }

    /// `program` as the server's user, in `dir`.
    pub(crate) fn command(self, program: impl AsRef<Path>, dir: &Path) -> Command {
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", SERVER_USER, "--"])
                .arg(program.as_ref());
            command
        } else {
            Command::new(program.as_ref())
        };
        command.current_dir(dir);
        command
    }

    /// Hands `dir` and everything in it to the server's user.
    pub(crate) fn take_ownership(self, dir: &Path) {
        if !self.as_root {
            return;
        }
        let output = Command::new("chown")
            .arg("-R")
            .arg(format!("{SERVER_USER}:"))
            .arg(dir)
            .output();
        check(
            "chown",
            output,
            &format!(
                "the tests run as root, so PostgreSQL runs as the `{SERVER_USER}` system user, \
                 which must exist (installing postgresql creates it)"
            ),
        );
    }
}

/// Panics with the command's output unless it succeeded.
pub(crate) fn check(what: &str, output: std::io::Result<Output>, hint: &str) {
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "{what} failed ({}); {hint}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!("could not run {what}: {error}; {hint}"),
    }
}
