//! The shell process that runs the server of a [`super::TestCluster`] and
//! outlives nothing: it reads commands from a pipe that only this process
//! holds, and when the pipe closes, because the test binary exited however
//! it did, it shuts the server down and deletes the cluster's directory.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use super::install::ServerUser;

/// `$1` the cluster directory, `$2` the binaries, `$3` the port. It creates
/// the cluster, answering `initdb failed` if it cannot, then takes commands
/// on stdin: `start` (answers `started PID`) and `stop` (answers `stopped`).
const SCRIPT: &str = r#"
dir=$1 bin=$2 port=$3 pid=
# This shell must not die writing to a reader that has gone. It needs no
# shield from Ctrl-C: it runs in a session of its own.
trap '' PIPE
start() {
    "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir/sock" \
        -c listen_addresses=127.0.0.1 >>"$dir/postgres.log" 2>&1 &
    pid=$!
    echo "started $pid"
}
stop() {
    if [ -n "$pid" ]; then
        # A paused server and its backends must run again to shut down.
        kill -CONT "$pid" 2>/dev/null
        pkill -CONT -P "$pid" 2>/dev/null
        # INT is a fast shutdown, which ends open sessions. A background
        # job starts with INT ignored, until the server sets its handlers,
        # so a server stopped right after its start would never see it:
        # TERM, which the server ignores once shutting down, covers that.
        kill -INT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        wait "$pid"
        pid=
    fi
    echo stopped
}
if "$bin/initdb" -D "$dir/data" --auth=trust --username=postgres \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    start
else
    echo "initdb failed"
fi
while read -r command; do
    case $command in
        start) [ -n "$pid" ] || start ;;
        stop) stop ;;
    esac
done
stop >/dev/null
rm -rf "$dir"
"#;

/// The running shell and the two ends of its pipes.
#[derive(Debug)]
pub(crate) struct Supervisor {
    // Kept so the handle lives as long as the pipes; never waited for.
    _child: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Supervisor {
    /// Starts the shell, which creates the cluster in `dir` and starts the
    /// server; returns the postmaster's pid. Creating the cluster here
    /// rather than before means that a test binary killed while `initdb`
    /// runs leaves nothing behind either.
    pub(crate) fn spawn(user: ServerUser, dir: &Path, bin: &Path, port: u16) -> (Self, u32) {
        // A session of its own, so that a signal to the test's process
        // group (Ctrl-C, a timeout killing the group) cannot end the shell
        // before it has cleaned up.
        let mut child = user
            .command("setsid", dir)
            .args(["sh", "-c", SCRIPT, "sh"])
            .arg(dir)
            .arg(bin)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Never the test's own stderr: a shell left holding it would
            // keep whoever reads the test output waiting.
            .stderr(Stdio::null())
            .spawn()
            .expect("could not start the PostgreSQL supervisor shell");
        let commands = child.stdin.take().expect("stdin is piped");
        let answers = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut supervisor = Supervisor {
            _child: child,
            commands,
            answers,
        };
        let answer = supervisor.read_line();
        if answer == "initdb failed" {
            let log = std::fs::read_to_string(dir.join("initdb.log")).unwrap_or_default();
            panic!("initdb could not create the test cluster:\n{log}");
        }
        let pid = parse_started(&answer);
        (supervisor, pid)
    }

    /// Starts the server again; returns the postmaster's pid.
    pub(crate) fn start(&mut self) -> u32 {
        self.send("start");
        self.read_started()
    }

    /// Stops the server (fast shutdown) and waits until it has exited.
    pub(crate) fn stop(&mut self) {
        self.send("stop");
        let answer = self.read_line();
        assert_eq!(answer, "stopped", "unexpected answer from the supervisor");
    }

    fn send(&mut self, command: &str) {
        writeln!(self.commands, "{command}")
            .and_then(|()| self.commands.flush())
            .expect("the PostgreSQL supervisor shell has gone");
    }

    fn read_started(&mut self) -> u32 {
        parse_started(&self.read_line())
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        let read = self
            .answers
            .read_line(&mut line)
            .expect("could not read from the PostgreSQL supervisor shell");
        assert!(read > 0, "the PostgreSQL supervisor shell has exited");
        line.trim_end().to_owned()
    }
}

fn parse_started(answer: &str) -> u32 {
    answer
        .strip_prefix("started ")
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("unexpected answer from the supervisor: {answer:?}"))
}
