//! `/openapi.json` as a client developer meets it: checked against the
//! OpenAPI 3.1 specification's own JSON schema by `openapi-spec-validator`,
//! turned into a Python client by `openapi-python-client`, and that client,
//! driven by `generated_client.py` beside this file, used against the real
//! binary (create, one-field PATCH, `null` to clear, bulk create and PATCH,
//! delete by filter, 404, 422).
//!
//! The tools live in a virtualenv in the target directory that
//! `.ci/install-python-tools` makes with pinned versions from PyPI; where it
//! is missing, the test passes as skipped and says how to install them.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::support::Service;

/// What `.ci/install-python-tools` installs, for the skip message.
const PYTHON_TOOLS: &str = "openapi-python-client 0.29.1 and openapi-spec-validator 0.9.0";

/// How long one step (a request, a tool's run) may take: each takes about a
/// second here, and the bound only keeps a hung one from holding the run.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn a_python_client_generated_from_the_served_document_drives_the_api() {
    let Some(tools) = python_tools() else {
        return;
    };
    let started = Instant::now();
    let service = Service::start(&[]).await;
    // The generated package, the document and the generator's caches stay
    // in here, never in the repository; removed when dropped.
    let work = tempfile::tempdir().unwrap();
    let document = work.path().join("openapi.json");
    let served = reqwest::Client::builder()
        .timeout(STEP_TIMEOUT)
        .build()
        .unwrap()
        .get(format!("{}/openapi.json", service.base))
        .send()
        .await
        .unwrap();
    assert!(
        served.status().is_success(),
        "GET /openapi.json answered {}",
        served.status()
    );
    std::fs::write(&document, served.bytes().await.unwrap()).unwrap();

    let validated = finish(
        tools
            .command("openapi-spec-validator", work.path())
            .args(["--schema", "3.1", "--validation-errors", "all"])
            .arg(&document),
    )
    .await;
    assert!(
        validated.status.success(),
        "the served document is not valid OpenAPI 3.1:\n{}",
        printed(&validated)
    );

    let package = work.path().join("todo_api_client");
    // `--fail-on-warning`: an operation or schema the generator had to skip
    // is a document clients cannot fully use.
    let generated = finish(
        tools
            .command("openapi-python-client", work.path())
            .args(["generate", "--meta", "none", "--fail-on-warning", "--path"])
            .arg(&document)
            .arg("--output-path")
            .arg(&package),
    )
    .await;
    assert!(
        generated.status.success() && package.join("__init__.py").is_file(),
        "openapi-python-client did not generate a client from the served document:\n{}",
        printed(&generated)
    );

    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process/generated_client.py");
    let driven = finish(
        tools
            .command("python", work.path())
            .arg(&driver)
            .arg(&service.base)
            .env("PYTHONPATH", work.path()),
    )
    .await;
    assert!(
        driven.status.success(),
        "the generated client's calls did not get what API.md promises:\n{}\nservice log:\n{}",
        printed(&driven),
        service.log()
    );
    // Shown with --nocapture: what a run costs.
    println!(
        "validated, generated and drove the client in {:?}",
        started.elapsed()
    );
}

/// The virtualenv of the Python tools.
struct PythonTools {
    bin: PathBuf,
}

impl PythonTools {
    /// The venv's `program`, to run in `dir` with the venv first on `PATH`
    /// as an activated venv has it (the generator formats its output with
    /// the venv's `ruff`).
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut path = vec![self.bin.clone()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let mut command = Command::new(self.bin.join(program));
        command
            .current_dir(dir)
            .env("PATH", std::env::join_paths(path).unwrap())
            .env("VIRTUAL_ENV", self.bin.parent().unwrap())
            // Python would write caches beside the driver, in the repository.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            // Our own child: killed if the timeout drops it.
            .kill_on_drop(true);
        command
    }
}

/// Runs `command` to its end and returns what it printed; fails the test
/// when it takes longer than [`STEP_TIMEOUT`].
async fn finish(command: &mut Command) -> Output {
    let program = command.as_std().get_program().to_owned();
    tokio::time::timeout(STEP_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{program:?} did not finish within {STEP_TIMEOUT:?}"))
        .unwrap_or_else(|error| panic!("{program:?} could not be started: {error}"))
}

/// The virtualenv that `.ci/install-python-tools` makes in the target
/// directory (the parent of this test's `CARGO_TARGET_TMPDIR`), or `None`,
/// reported as a skip, when it or a tool in it is missing.
fn python_tools() -> Option<PythonTools> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("python-tools");
    let bin = venv.join("bin");
    let missing: Vec<&str> = ["python", "openapi-spec-validator", "openapi-python-client"]
        .into_iter()
        .filter(|tool| !bin.join(tool).is_file())
        .collect();
    if missing.is_empty() {
        return Some(PythonTools { bin });
    }
    report_skipped(&format!(
        "{} missing from {}: run .ci/install-python-tools to install {PYTHON_TOOLS} there",
        missing.join(", "),
        venv.display()
    ));
    None
}

/// Says the test is skipped where the person running the tests sees it:
/// straight to the process's stderr, which the test harness does not
/// capture (it captures `println!` and `eprintln!` of passing tests).
fn report_skipped(reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED generated-client test {}: {reason}",
        std::thread::current().name().unwrap_or("?")
    );
}

/// A finished tool's exit status and everything it printed.
fn printed(output: &Output) -> String {
    format!(
        "({})\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
