//! Where log lines go: into a buffer in memory, which a thread of its own
//! writes out a few milliseconds after the first line of a batch arrived,
//! in one system call for the whole batch.
//!
//! A thread woken per line (as a channel to a writer thread does) costs
//! more than the line: under load, those wake-ups and the channel's
//! spinning took about a tenth of the service's CPU. Here a request only
//! appends its line under a lock, and at most one wake-up per batch is paid.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread lets lines gather after the first of a
/// batch: short enough that a log follows the service closely.
const GATHER: Duration = Duration::from_millis(5);

/// Bytes waiting past which the line that crosses it is written out at
/// once by the thread that logged it, so that a flood of lines holds a
/// bounded amount of memory and none is dropped: logging slows down
/// instead.
const MAX_PENDING: usize = 1 << 20;

/// The `MakeWriter` the log's formatter writes each line to.
#[derive(Clone)]
pub struct BatchedLog(Arc<Shared>);

/// Writes what is still waiting and stops the writer thread when dropped.
pub struct LogFlusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when a line arrives in an empty buffer, or at close.
    arrived: Condvar,
    /// Taken while the pending lock is still held, so that batches reach
    /// the output in the order their lines were logged.
    output: Mutex<Box<dyn Write + Send>>,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

/// A log written to `output` in batches, and what flushes it at the end.
/// Without a writer thread (it could not be started), every line is
/// written as it comes.
pub fn batched(output: impl Write + Send + 'static) -> (BatchedLog, LogFlusher) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        arrived: Condvar::new(),
        output: Mutex::new(Box::new(output)),
    });
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || shared.write_batches())
    };
    let thread = match thread {
        Ok(thread) => Some(thread),
        Err(_) => {
            lock(&shared.pending).closed = true;
            None
        }
    };
    (
        BatchedLog(Arc::clone(&shared)),
        LogFlusher { shared, thread },
    )
}

impl Shared {
    fn append(&self, line: &[u8]) {
        let mut pending = lock(&self.pending);
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        if pending.closed || pending.bytes.len() >= MAX_PENDING {
            let mut bytes = std::mem::take(&mut pending.bytes);
            self.write_out(pending, &mut bytes);
        } else if was_empty {
            drop(pending);
            self.arrived.notify_one();
        }
    }

    /// Writes `bytes` (taken from `pending`, whose lock is released once
    /// the output's is held) and empties it.
    fn write_out(&self, pending: MutexGuard<'_, Pending>, bytes: &mut Vec<u8>) {
        let mut output = lock(&self.output);
        drop(pending);
        // Nowhere to report a log that cannot be written; the service goes on.
        let _ = output.write_all(bytes);
        let _ = output.flush();
        bytes.clear();
    }

    /// The writer thread: waits for a line, lets others join it, writes
    /// them all; until closed, when it writes what is left and ends.
    fn write_batches(&self) {
        // Swapped with the pending buffer, so both keep their capacity.
        let mut batch = Vec::new();
        loop {
            let mut pending = lock(&self.pending);
            while pending.bytes.is_empty() && !pending.closed {
                pending = self
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if !pending.closed {
                drop(pending);
                std::thread::sleep(GATHER);
                pending = lock(&self.pending);
            }
            let closed = pending.closed;
            std::mem::swap(&mut pending.bytes, &mut batch);
            self.write_out(pending, &mut batch);
            if closed {
                return;
            }
        }
    }
}

/// A poisoned lock only means a thread panicked while logging; the buffer
/// is still bytes, so logging goes on.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for LogFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFlusher").finish_non_exhaustive()
    }
}

impl Drop for LogFlusher {
    fn drop(&mut self) {
        lock(&self.shared.pending).closed = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer: the formatter hands it the whole line at once.
pub struct LineWriter<'a>(&'a Shared);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedLog {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).expect("utf-8")
        }
    }

    fn log_line(log: &BatchedLog, line: &str) {
        log.make_writer()
            .write_all(line.as_bytes())
            .expect("appended");
    }

    #[test]
    fn lines_are_written_in_order_by_the_time_the_flusher_is_dropped() {
        let output = Captured::default();
        let (log, flusher) = batched(output.clone());
        for n in 0..1000 {
            log_line(&log, &format!("line {n}\n"));
        }
        drop(flusher);
        let expected: String = (0..1000).map(|n| format!("line {n}\n")).collect();
        assert_eq!(output.text(), expected);
    }

    #[test]
    fn a_line_reaches_the_output_without_waiting_for_more() {
        let output = Captured::default();
        let (log, _flusher) = batched(output.clone());
        log_line(&log, "alone\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while output.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(output.text(), "alone\n");
    }

    #[test]
    fn a_flood_past_the_bound_loses_nothing_and_lines_stay_whole() {
        let output = Captured::default();
        let (log, flusher) = batched(output.clone());
        let line = format!("{}\n", "x".repeat(999));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let log = log.clone();
                let line = line.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        log_line(&log, &line);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("logged");
        }
        drop(flusher);
        let text = output.text();
        assert_eq!(text.len(), 4 * 1000 * line.len());
        assert!(text.lines().all(|l| l.len() == 999));
    }

    #[test]
    fn a_line_logged_after_the_end_is_written_at_once() {
        let output = Captured::default();
        let (log, flusher) = batched(output.clone());
        drop(flusher);
        log_line(&log, "late\n");
        assert_eq!(output.text(), "late\n");
    }
}
