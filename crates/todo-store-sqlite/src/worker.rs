//! The store's threads and the jobs they run. Each thread owns one
//! connection and runs the jobs it takes from its channel one at a time; a
//! job that waited past its deadline is answered without touching the
//! database, since its caller has been told so already.
//!
//! The writer commits in groups: the jobs that queued up while it was busy
//! run in one transaction, each in a savepoint of its own, and share one
//! commit (one log flush). Their answers go out only after that commit, so
//! a success still means durable. A lone job runs and commits at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;
use todo_core::{GroupKind, GroupReports, StoreError};
use tokio::sync::oneshot;

use crate::change_numbers;
use crate::error::{Failure, timed_out};

/// What a store thread takes from its channel.
pub(crate) enum Message {
    Job(Job),
    /// Ends the thread once every job queued before it has run.
    Stop,
}

/// Work for one connection, and when it stops being worth doing.
pub(crate) struct Job {
    deadline: Instant,
    claim: Arc<AtomicU8>,
    task: Task,
}

/// Runs a job's work on the connection, or answers `Unavailable` when given
/// none; returns how to answer the caller once the writes' fate is known.
type Task = Box<dyn FnOnce(Option<&mut Connection>) -> Reply + Send>;

/// Sends a job's answer, given whether the transaction holding its writes
/// committed: a failed group commit turns every success into that error.
pub(crate) type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Most jobs one group commit takes.
const MAX_GROUP: usize = 256;

// The life of a job: queued, then either started by a thread or abandoned by
// its caller, whichever comes first. It never goes back.
const QUEUED: u8 = 0;
const STARTED: u8 = 1;
const ABANDONED: u8 = 2;

/// The caller's hold on a queued job. Dropping it (the caller gave up, or
/// its future was dropped) abandons the job if no thread has started it.
pub(crate) struct Ticket(Arc<AtomicU8>);

impl Ticket {
    /// Abandons the job; true if it will never run, false if a thread has
    /// already started it.
    pub(crate) fn abandon(&self) -> bool {
        self.0
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            || self.0.load(Ordering::Acquire) == ABANDONED
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.abandon();
    }
}

/// The answer a caller waits for.
pub(crate) type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

/// Makes a job of `work`, to start before `deadline`.
pub(crate) fn job<T, F>(deadline: Instant, work: F) -> (Job, Ticket, Answer<T>)
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
{
    let (sender, answer) = oneshot::channel();
    let claim = Arc::new(AtomicU8::new(QUEUED));
    let task = move |connection: Option<&mut Connection>| {
        let result = match connection {
            None => Err(timed_out()),
            // A panic must not take the thread, and with it the connection,
            // down. An open transaction is rolled back as the panic unwinds,
            // so the connection is safe to go on with.
            Some(connection) => match catch_unwind(AssertUnwindSafe(|| work(connection))) {
                Ok(result) => result.map_err(StoreError::from),
                Err(_) => Err(StoreError::Internal("a SQLite store job panicked".into())),
            },
        };
        Box::new(move |committed: Result<(), StoreError>| {
            let result = result.and_then(|value| committed.map(|()| value));
            // The caller may have stopped waiting; then nobody needs the answer.
            let _ = sender.send(result);
        }) as Reply
    };
    let job = Job {
        deadline,
        claim: Arc::clone(&claim),
        task: Box::new(task),
    };
    (job, Ticket(claim), answer)
}

impl Job {
    /// Runs the job (or skips it, if its caller is gone or too late) and
    /// returns its answer, to send once its writes are committed.
    fn run(self, connection: &mut Connection, in_use: &AtomicUsize) -> Reply {
        let started = Instant::now() < self.deadline
            && self
                .claim
                .compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        if !started {
            return (self.task)(None);
        }
        in_use.fetch_add(1, Ordering::Relaxed);
        let reply = (self.task)(Some(connection));
        in_use.fetch_sub(1, Ordering::Relaxed);
        reply
    }
}

/// Runs jobs that queued together in one transaction with one commit.
fn run_group(jobs: Vec<Job>, connection: &mut Connection, in_use: &AtomicUsize) {
    if let Err(error) = connection.execute_batch("begin immediate") {
        // Nothing ran; each job answers as its own transaction would.
        tracing::warn!(%error, "cannot begin a group commit; running the jobs one by one");
        for job in jobs {
            job.run(connection, in_use)(Ok(()));
        }
        return;
    }
    change_numbers::begin_group();
    let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        replies.push(job.run(connection, in_use));
        if connection.is_autocommit() {
            change_numbers::end_group();
            // SQLite ended the group's transaction itself, as it may on an
            // I/O error or a full disk: the writes of the jobs run so far are
            // undone, and their callers must hear so. The rest run each in a
            // transaction of its own.
            tracing::warn!("SQLite rolled back a group commit; running the rest one by one");
            let undone = StoreError::Unavailable("the database rolled the write back".into());
            for reply in replies {
                reply(Err(clone_error(&undone)));
            }
            for job in jobs {
                job.run(connection, in_use)(Ok(()));
            }
            return;
        }
    }
    let committed = change_numbers::write_back(connection)
        .and_then(|()| connection.execute_batch("commit"))
        .map_err(|error| {
            let _ = connection.execute_batch("rollback");
            StoreError::from(Failure::Sqlite(error))
        });
    change_numbers::end_group();
    for reply in replies {
        reply(committed.as_ref().map(|_| ()).map_err(clone_error));
    }
}

/// The same failure for every job of a group whose commit failed.
fn clone_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(reason) => StoreError::Unavailable(reason.clone()),
        other => StoreError::Internal(other.to_string().into()),
    }
}

/// How a thread takes its jobs.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// One job at a time, each on its own (readers).
    Single,
    /// Jobs that queued up together share one commit (the writer); each
    /// group's size goes to the reports.
    GroupCommit(GroupReports),
}

/// Starts a thread that owns `connection` and runs the jobs of `jobs` until
/// it takes `Stop` or every sender is gone; the connection closes with it.
pub(crate) fn spawn(
    name: String,
    mut connection: Connection,
    jobs: crossbeam_channel::Receiver<Message>,
    in_use: Arc<AtomicUsize>,
    mode: Mode,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(move || {
        while let Ok(Message::Job(first)) = jobs.recv() {
            let reports = match &mode {
                Mode::Single => {
                    first.run(&mut connection, &in_use)(Ok(()));
                    continue;
                }
                Mode::GroupCommit(reports) => reports,
            };
            let mut group = vec![first];
            let mut stop = false;
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(Message::Job(job)) => group.push(job),
                    Ok(Message::Stop) => {
                        stop = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            reports.served(GroupKind::Write, group.len());
            if group.len() == 1 {
                group
                    .into_iter()
                    .for_each(|job| job.run(&mut connection, &in_use)(Ok(())));
            } else {
                run_group(group, &mut connection, &in_use);
            }
            if stop {
                break;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    fn work_that_records(
        ran: &Arc<AtomicBool>,
    ) -> impl FnOnce(&mut Connection) -> Result<(), Failure> + Send + 'static {
        let ran = Arc::clone(ran);
        move |_| {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        }
    }

    /// An in-memory database with one table `t` of column `column`.
    fn table_t(column: &str) -> Connection {
        let connection = Connection::open_in_memory().expect("opened");
        connection
            .execute_batch(&format!("create table t ({column})"))
            .expect("created");
        connection
    }

    #[test]
    fn a_job_picked_up_after_its_deadline_is_unavailable_and_never_runs() {
        let mut connection = Connection::open_in_memory().expect("opened");
        let ran = Arc::new(AtomicBool::new(false));
        let past = Instant::now() - Duration::from_millis(1);
        let (job, _ticket, mut answer) = job(past, work_that_records(&ran));
        job.run(&mut connection, &AtomicUsize::new(0))(Ok(()));
        assert!(matches!(
            answer.try_recv(),
            Ok(Err(StoreError::Unavailable(_)))
        ));
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[test]
    fn a_job_its_caller_abandoned_never_runs() {
        let mut connection = Connection::open_in_memory().expect("opened");
        let ran = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(60);
        let (job, ticket, _answer) = job(deadline, work_that_records(&ran));
        drop(ticket);
        job.run(&mut connection, &AtomicUsize::new(0))(Ok(()));
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[test]
    fn a_started_job_cannot_be_abandoned() {
        let mut connection = Connection::open_in_memory().expect("opened");
        let deadline = Instant::now() + Duration::from_secs(60);
        let (job, ticket, mut answer) = job(deadline, |_| Ok(7));
        let in_use = AtomicUsize::new(0);
        job.run(&mut connection, &in_use)(Ok(()));
        assert!(!ticket.abandon());
        assert!(matches!(answer.try_recv(), Ok(Ok(7))));
        assert_eq!(in_use.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_group_commits_once_and_a_failing_job_undoes_only_its_own_writes() {
        let mut connection = table_t("x integer");
        let deadline = Instant::now() + Duration::from_secs(60);
        let insert = |value: i64, fail: bool| {
            move |connection: &mut Connection| -> Result<i64, Failure> {
                let scope = crate::queries::write_transaction(connection)?;
                scope.execute("insert into t (x) values (?1)", [value])?;
                if fail {
                    return Err(StoreError::PreconditionFailed.into());
                }
                scope.commit()?;
                Ok(value)
            }
        };
        let (first, _t1, mut first_answer) = job(deadline, insert(1, false));
        let (second, _t2, mut second_answer) = job(deadline, insert(2, true));
        let (third, _t3, mut third_answer) = job(deadline, insert(3, false));
        run_group(
            vec![first, second, third],
            &mut connection,
            &AtomicUsize::new(0),
        );
        assert!(matches!(first_answer.try_recv(), Ok(Ok(1))));
        assert!(matches!(
            second_answer.try_recv(),
            Ok(Err(StoreError::PreconditionFailed))
        ));
        assert!(matches!(third_answer.try_recv(), Ok(Ok(3))));
        assert!(connection.is_autocommit(), "the group's transaction ended");
        assert_eq!(stored(&connection), vec![1, 3]);
    }

    /// A job inserting `value` as a single-statement write does.
    fn insert_in_statement_scope(
        value: i64,
    ) -> impl FnOnce(&mut Connection) -> Result<i64, Failure> + Send + 'static {
        move |connection| {
            let scope = crate::queries::statement_scope(connection)?;
            scope.execute("insert into t (x) values (?1)", [value])?;
            scope.commit()?;
            Ok(value)
        }
    }

    fn stored(connection: &Connection) -> Vec<i64> {
        connection
            .prepare("select x from t order by x")
            .expect("prepared")
            .query_map([], |row| row.get(0))
            .expect("queried")
            .collect::<Result<_, _>>()
            .expect("read")
    }

    #[test]
    fn a_failing_statement_without_a_savepoint_undoes_only_its_own_writes() {
        let mut connection = table_t("x integer check (x > 0)");
        let deadline = Instant::now() + Duration::from_secs(60);
        let insert = insert_in_statement_scope;
        let (first, _t1, mut first_answer) = job(deadline, insert(1));
        let (second, _t2, mut second_answer) = job(deadline, insert(-2));
        let (third, _t3, mut third_answer) = job(deadline, insert(3));
        let (probe, _t4, mut probe_answer) = job(deadline, |connection: &mut Connection| {
            let scope = crate::queries::statement_scope(connection)?;
            Ok(matches!(scope, crate::queries::WriteScope::Statement(_)))
        });
        run_group(
            vec![first, second, third, probe],
            &mut connection,
            &AtomicUsize::new(0),
        );
        assert!(matches!(first_answer.try_recv(), Ok(Ok(1))));
        assert!(matches!(second_answer.try_recv(), Ok(Err(_))));
        assert!(matches!(third_answer.try_recv(), Ok(Ok(3))));
        assert!(
            matches!(probe_answer.try_recv(), Ok(Ok(true))),
            "no savepoint in a group"
        );
        assert_eq!(stored(&connection), vec![1, 3]);
    }

    #[test]
    fn a_group_sqlite_rolled_back_tells_the_undone_and_runs_the_rest_alone() {
        let mut connection = table_t("x integer");
        let deadline = Instant::now() + Duration::from_secs(60);
        let insert = insert_in_statement_scope;
        // What SQLite does to the transaction on, say, a full disk.
        let rolled_back = |connection: &mut Connection| -> Result<i64, Failure> {
            connection.execute_batch("rollback")?;
            Err(StoreError::Unavailable("disk full".into()).into())
        };
        let (first, _t1, mut first_answer) = job(deadline, insert(1));
        let (second, _t2, mut second_answer) = job(deadline, rolled_back);
        let (third, _t3, mut third_answer) = job(deadline, insert(3));
        run_group(
            vec![first, second, third],
            &mut connection,
            &AtomicUsize::new(0),
        );
        assert!(matches!(
            first_answer.try_recv(),
            Ok(Err(StoreError::Unavailable(_)))
        ));
        assert!(matches!(
            second_answer.try_recv(),
            Ok(Err(StoreError::Unavailable(reason))) if reason == "disk full"
        ));
        assert!(matches!(third_answer.try_recv(), Ok(Ok(3))));
        assert!(connection.is_autocommit());
        assert_eq!(stored(&connection), vec![3]);
    }

    #[test]
    fn a_panicking_job_answers_internal_and_spares_the_thread() {
        let mut connection = Connection::open_in_memory().expect("opened");
        let deadline = Instant::now() + Duration::from_secs(60);
        let (job, _ticket, mut answer) =
            job(deadline, |_| -> Result<(), Failure> { panic!("a bug") });
        job.run(&mut connection, &AtomicUsize::new(0))(Ok(()));
        assert!(matches!(
            answer.try_recv(),
            Ok(Err(StoreError::Internal(_)))
        ));
    }
}
