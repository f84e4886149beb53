//! Group commit: one writer thread owns the journal; every row queued while the previous
//! write + fdatasync ran goes out in the next single write + fdatasync, and all callers of that
//! batch are released together. Kea's memfile appends without ever syncing; kakapo
//! acknowledges a lease only once its row is durable, and batching keeps that cheap.

use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::files::{self, Paths};
use super::row::{mlog, Family};
use super::MemfileError;
use crate::clock;
use crate::lease::store::{StoreFailure, StoreHealth};

/// Rows (in bytes) allowed to wait for the disk; beyond this commits fail at once, so a
/// stalled disk cannot make the queue (and the tasks awaiting it) grow without limit.
/// 32 MiB is about 200k rows, far more than one fdatasync ever takes on a healthy disk.
pub(crate) const MAX_QUEUED_BYTES: usize = 32 << 20;
/// First wait before rewriting the journal after a failure; doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between two rewrite attempts, so service resumes within seconds of space
/// coming back while a broken disk is not hammered.
const RETRY_MAX: Duration = Duration::from_secs(4);

/// Writes a fresh journal holding the whole current lease state and returns it opened for
/// appends (with its length); built by the store, which knows the lease type and the source
/// of the in-memory state.
pub(crate) type Recover = Arc<dyn Fn() -> Result<(File, u64), MemfileError> + Send + Sync>;
/// Told every change of the writer's health (for statistics).
pub(crate) type Observer = Arc<dyn Fn(&StoreHealth) + Send + Sync>;

/// Locks a mutex even if a panicking thread poisoned it: the data behind every lock here stays
/// consistent at each unlock, so continuing is safe.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a batch failed; cloned to every ticket of the batch.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// This batch's own write or fdatasync failed.
    Io(io::ErrorKind, String),
    /// The batch was queued behind one that failed; the journal is being rewritten.
    Unavailable(String),
}

impl Failure {
    fn into_error(self) -> MemfileError {
        match self {
            Failure::Io(kind, msg) => MemfileError::Io(io::Error::new(kind, msg)),
            Failure::Unavailable(msg) => MemfileError::Unavailable(msg),
        }
    }
}

/// Completion shared by every commit of one write + fdatasync.
#[derive(Default)]
pub(crate) struct Batch {
    state: Mutex<BatchState>,
    done: Condvar,
}

#[derive(Default)]
struct BatchState {
    result: Option<Result<(), Failure>>,
    wakers: Vec<Waker>,
}

impl Batch {
    fn complete(&self, result: Result<(), Failure>) {
        let wakers = {
            let mut st = lock(&self.state);
            st.result = Some(result);
            std::mem::take(&mut st.wakers)
        };
        self.done.notify_all();
        for w in wakers {
            w.wake();
        }
    }
}

/// Completion of a [`super::Memfile4::commit`] or [`super::Memfile6::commit`]: Ok once the rows
/// are durable (or at once when `persist` is false). Block on it with [`CommitTicket::wait`] or
/// `.await` it; the Future is runtime-agnostic (it stores the task's Waker and the writer wakes it).
#[must_use = "a commit is only durable once its ticket completes"]
pub struct CommitTicket {
    state: TicketState,
}

enum TicketState {
    Ready(Option<Result<(), MemfileError>>),
    Waiting { batch: Arc<Batch>, waker_slot: Option<usize> },
}

impl std::fmt::Debug for CommitTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            TicketState::Ready(_) => "ready",
            TicketState::Waiting { .. } => "waiting",
        };
        f.debug_struct("CommitTicket").field("state", &state).finish()
    }
}

impl CommitTicket {
    pub(crate) fn ready(result: Result<(), MemfileError>) -> CommitTicket {
        CommitTicket { state: TicketState::Ready(Some(result)) }
    }

    /// Blocks the calling thread until the rows are durable or the write failed.
    pub fn wait(self) -> Result<(), MemfileError> {
        match self.state {
            TicketState::Ready(r) => r.unwrap_or(Err(MemfileError::TicketReused)),
            TicketState::Waiting { batch, .. } => {
                let mut st = lock(&batch.state);
                loop {
                    if let Some(r) = &st.result {
                        return r.clone().map_err(Failure::into_error);
                    }
                    st = batch.done.wait(st).unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }
}

impl Future for CommitTicket {
    type Output = Result<(), MemfileError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // CommitTicket is Unpin: no field is self-referential.
        let this = self.get_mut();
        match &mut this.state {
            TicketState::Ready(r) => Poll::Ready(r.take().unwrap_or(Err(MemfileError::TicketReused))),
            TicketState::Waiting { batch, waker_slot } => {
                let mut st = lock(&batch.state);
                if let Some(r) = &st.result {
                    let r = r.clone().map_err(Failure::into_error);
                    drop(st);
                    this.state = TicketState::Ready(None);
                    return Poll::Ready(r);
                }
                // Register (or refresh, if the task moved) our Waker; the writer wakes them all.
                match waker_slot {
                    Some(i) => match st.wakers.get_mut(*i) {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        Some(w) => w.clone_from(cx.waker()),
                        None => {
                            st.wakers.push(cx.waker().clone());
                            *waker_slot = Some(st.wakers.len() - 1);
                        }
                    },
                    None => {
                        st.wakers.push(cx.waker().clone());
                        *waker_slot = Some(st.wakers.len() - 1);
                    }
                }
                Poll::Pending
            }
        }
    }
}

/// What the writer thread found when asked to rotate the journal for a cleanup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// `<file>` became `<file>.1` and a fresh `<file>` is open.
    Rotated,
    /// A previous cleanup left `.1` or `.completed`: like Kea, do not rotate, just finish it.
    Skipped,
}

type RotateReply = SyncSender<Result<Rotation, MemfileError>>;

struct Queue {
    /// Formatted rows waiting for the next write.
    buf: Vec<u8>,
    rows: u64,
    /// The batch those rows will complete.
    batch: Arc<Batch>,
    rotate: Option<RotateReply>,
    closing: bool,
    /// Set while the journal cannot be trusted (a write or fdatasync failed) until a fresh one
    /// is written; every commit fails at once meanwhile, so nothing piles up.
    failed: Option<StoreFailure>,
}

/// How the writer gets out of the failed state, and who hears about it.
#[derive(Default)]
struct Hooks {
    recover: Option<Recover>,
    observer: Option<Observer>,
}

/// State shared by committers, the writer thread and cleanups.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    hooks: Mutex<Hooks>,
    /// Number of write + fdatasync rounds (for tests and statistics).
    pub(crate) batches: AtomicU64,
    /// Number of rows made durable.
    pub(crate) rows: AtomicU64,
    /// Times the writer entered the failed state.
    failures: AtomicU64,
    /// Test hook: the writer swaps this in as its journal file before the next batch.
    #[cfg(test)]
    pub(crate) inject: Mutex<Option<File>>,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            queue: Mutex::new(Queue {
                buf: Vec::with_capacity(1 << 16),
                rows: 0,
                batch: Arc::new(Batch::default()),
                rotate: None,
                closing: false,
                failed: None,
            }),
            wake: Condvar::new(),
            hooks: Mutex::new(Hooks::default()),
            batches: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            #[cfg(test)]
            inject: Mutex::new(None),
        }
    }

    /// Installs how a failed journal is rewritten; without it the writer stays failed.
    pub(crate) fn set_recover(&self, recover: Recover) {
        lock(&self.hooks).recover = Some(recover);
        // A writer already waiting to recover should try now rather than after its backoff.
        self.wake.notify_all();
    }

    /// Installs the health observer and tells it the current health at once.
    pub(crate) fn set_observer(&self, observer: Observer) {
        lock(&self.hooks).observer = Some(Arc::clone(&observer));
        observer(&self.health());
    }

    /// The writer's health now.
    pub(crate) fn health(&self) -> StoreHealth {
        StoreHealth { failure: lock(&self.queue).failed.clone(), failures: self.failures.load(Ordering::Relaxed) }
    }

    fn observe(&self) {
        let observer = lock(&self.hooks).observer.clone();
        if let Some(o) = observer {
            o(&self.health());
        }
    }

    /// Queues formatted rows (each ending in a newline) and returns their ticket.
    pub(crate) fn enqueue(&self, rows: &[u8], count: u64) -> CommitTicket {
        let mut q = lock(&self.queue);
        if q.closing {
            return CommitTicket::ready(Err(MemfileError::Closed));
        }
        if let Some(f) = &q.failed {
            return CommitTicket::ready(Err(MemfileError::Unavailable(f.error.clone())));
        }
        if q.buf.len() + rows.len() > MAX_QUEUED_BYTES {
            return CommitTicket::ready(Err(MemfileError::Backlog { bytes: q.buf.len() }));
        }
        let was_idle = q.buf.is_empty();
        q.buf.extend_from_slice(rows);
        q.rows += count;
        let batch = Arc::clone(&q.batch);
        drop(q);
        // The writer only sleeps with an empty queue, so only the first row of a batch wakes it.
        if was_idle {
            self.wake.notify_one();
        }
        CommitTicket { state: TicketState::Waiting { batch, waker_slot: None } }
    }

    /// Asks the writer to rotate the journal between two batches and waits for the answer.
    pub(crate) fn rotate(&self) -> Result<Rotation, MemfileError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        {
            let mut q = lock(&self.queue);
            if q.closing {
                return Err(MemfileError::Closed);
            }
            if let Some(f) = &q.failed {
                return Err(MemfileError::Unavailable(f.error.clone()));
            }
            q.rotate = Some(tx);
        }
        self.wake.notify_one();
        rx.recv().unwrap_or(Err(MemfileError::Closed))
    }

    /// Stops accepting commits; the writer drains what is queued and exits.
    pub(crate) fn shut_down(&self) {
        lock(&self.queue).closing = true;
        self.wake.notify_all();
    }

    pub(crate) fn is_closing(&self) -> bool {
        lock(&self.queue).closing
    }

    /// Enters the failed state: the batches still queued fail with it, later commits fail at
    /// once, and the failure is logged (with Kea's "database connection lost" ID, which is
    /// what monitoring of a Kea lease backend outage greps for) and counted.
    fn fail(&self, family: Family, file: &std::path::Path, why: String) {
        let (leftover, rotate) = {
            let mut q = lock(&self.queue);
            q.failed = Some(StoreFailure { error: why.clone(), since: clock::unix_now() });
            q.buf.clear();
            q.rows = 0;
            (std::mem::take(&mut q.batch), q.rotate.take())
        };
        self.failures.fetch_add(1, Ordering::Relaxed);
        lost(
            family,
            true,
            &format!("lease file {}: {why}; no lease is acknowledged until it is rewritten", file.display()),
        );
        leftover.complete(Err(Failure::Unavailable(why.clone())));
        if let Some(reply) = rotate {
            let _ = reply.send(Err(MemfileError::Unavailable(why)));
        }
        self.observe();
    }
}

/// The open journal as only the writer thread sees it.
pub(crate) struct Journal {
    file: File,
    /// Bytes known to end on a row boundary; a failed write is cut back to this.
    len: u64,
    /// Set when the journal can no longer be appended to (the writer then enters the failed
    /// state and rewrites it).
    broken: Option<String>,
    paths: Paths,
    /// The header a fresh journal starts with.
    header: String,
    family: Family,
}

impl Journal {
    pub(crate) fn new(file: File, len: u64, paths: Paths, header: String, family: Family) -> Journal {
        Journal { file, len, broken: None, paths, header, family }
    }

    fn append(&mut self, buf: &[u8]) -> Result<(), Failure> {
        let file = self.paths.file.display();
        if let Err(e) = self.file.write_all(buf) {
            // What reached the file is unknown (a partial row at best): the writer abandons this
            // file and rewrites the whole state into a fresh one.
            self.broken = Some(format!("writing {file} failed: {e}"));
            return Err(Failure::Io(e.kind(), format!("writing {file}: {e}")));
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped the dirty pages and a retried
            // fsync may report success without writing them (the "fsyncgate" lesson): never
            // retry it, rewrite from memory instead.
            self.broken = Some(format!("fdatasync of {file} failed: {e}"));
            return Err(Failure::Io(e.kind(), format!("syncing {file}: {e}")));
        }
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Kea's `lfcExecute` rotation: unless a previous cleanup is unfinished, rename `<file>` to
    /// `<file>.1` and start a fresh `<file>`. Every acknowledged row is already durable, and the
    /// directory is synced before any row goes to the new file.
    fn rotate(&mut self) -> Result<Rotation, MemfileError> {
        let p = &self.paths;
        if p.completed.exists() || p.input.exists() {
            return Ok(Rotation::Skipped);
        }
        std::fs::rename(&p.file, &p.input).map_err(|e| {
            mlog!(
                self.family,
                error,
                "DHCPSRV_MEMFILE_LFC_LEASE_FILE_RENAME_FAIL failed to rename the current lease file {} to {}, reason: {e}",
                p.file.display(),
                p.input.display()
            );
            files::at(&p.file)(e)
        })?;
        match files::open_journal(&p.file, &self.header) {
            Ok((file, len)) => {
                self.file = file;
                self.len = len;
                Ok(Rotation::Rotated)
            }
            Err(e) => {
                // Our handle still points at the renamed file: put the name back and go on
                // appending to it. If that fails too, appends would land in `.1`, which the
                // cleanup deletes, so stop and rewrite a fresh `<file>`.
                if std::fs::rename(&p.input, &p.file).is_err() {
                    mlog!(
                        self.family,
                        error,
                        "DHCPSRV_MEMFILE_LFC_LEASE_FILE_REOPEN_FAIL failed to reopen lease file {} after preparing input file for lease file cleanup, reason: {e}, new leases will not persist!",
                        p.file.display()
                    );
                    self.broken = Some(format!("could not reopen {} after rotation: {e}", p.file.display()));
                }
                Err(e)
            }
        }
    }
}

/// What the writer thread does next.
enum Work {
    Batch { buf: Vec<u8>, rows: u64, batch: Arc<Batch>, rotate: Option<RotateReply> },
    Recover,
    Exit,
}

/// The writer thread: take everything queued, write it with one call, fdatasync once, release
/// the batch; repeat. After a failure it rewrites a fresh journal with backoff until that
/// works, then resumes. Exits after draining once `closing` is set.
pub(crate) fn run(shared: Arc<Shared>, mut journal: Journal) {
    let mut spare: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut retry = RETRY_FIRST;
    let mut next_try = clock::monotonic_now();
    loop {
        let work = {
            let mut q = lock(&shared.queue);
            loop {
                if !q.buf.is_empty() || q.rotate.is_some() {
                    let buf = std::mem::replace(&mut q.buf, std::mem::take(&mut spare));
                    let batch = std::mem::take(&mut q.batch);
                    let rows = std::mem::take(&mut q.rows);
                    break Work::Batch { buf, rows, batch, rotate: q.rotate.take() };
                }
                if q.closing {
                    break Work::Exit;
                }
                if q.failed.is_none() {
                    q = shared.wake.wait(q).unwrap_or_else(PoisonError::into_inner);
                    continue;
                }
                let now = clock::monotonic_now();
                if now >= next_try {
                    break Work::Recover;
                }
                q = shared.wake.wait_timeout(q, next_try - now).unwrap_or_else(PoisonError::into_inner).0;
            }
        };
        match work {
            Work::Exit => break,
            Work::Recover => {
                if recover(&shared, &mut journal) {
                    retry = RETRY_FIRST;
                } else {
                    retry = (retry * 2).min(RETRY_MAX);
                }
                next_try = clock::monotonic_now() + retry;
            }
            Work::Batch { mut buf, rows, batch, rotate } => {
                if let Some(reply) = rotate {
                    // Rows queued before the request land in the new file, which loads after
                    // `.1`, so their order relative to older rows is kept.
                    let _ = reply.send(journal.rotate());
                }
                #[cfg(test)]
                if let Some(f) = lock(&shared.inject).take() {
                    journal.file = f;
                }
                if !buf.is_empty() {
                    let result = journal.append(&buf);
                    if result.is_ok() {
                        shared.batches.fetch_add(1, Ordering::Relaxed);
                        shared.rows.fetch_add(rows, Ordering::Relaxed);
                    }
                    if let Some(why) = journal.broken.take() {
                        // Failed before the batch hears of it, so whoever sees the error also
                        // sees the state (and no commit slips in between).
                        shared.fail(journal.family, &journal.paths.file, why);
                        retry = RETRY_FIRST;
                        next_try = clock::monotonic_now() + retry;
                    }
                    batch.complete(result);
                }
                if let Some(why) = journal.broken.take() {
                    shared.fail(journal.family, &journal.paths.file, why);
                    retry = RETRY_FIRST;
                    next_try = clock::monotonic_now() + retry;
                }
                buf.clear();
                spare = buf;
            }
        }
    }
    // Commits refused after `closing` never joined a batch, so nobody is left waiting.
    mlog!(journal.family, info, "DHCPSRV_CLOSE_DB closing currently open memfile database");
}

/// One attempt to leave the failed state: the store writes a fresh journal from the in-memory
/// state (never trusting a retried fsync of the old one); on success appends go to it and
/// commits are accepted again. True on success.
fn recover(shared: &Shared, journal: &mut Journal) -> bool {
    let hook = lock(&shared.hooks).recover.clone();
    let Some(hook) = hook else {
        // Nothing can say what the current state is (a store used without a lease map):
        // stay failed rather than guess.
        return false;
    };
    match hook() {
        Ok((file, len)) => {
            journal.file = file;
            journal.len = len;
            let was = lock(&shared.queue).failed.take();
            let down = was.map_or(0, |f| clock::unix_now().saturating_sub(f.since));
            let detail = format!("lease file {} rewritten from memory after {down} s", journal.paths.file.display());
            match journal.family {
                Family::V4 => {
                    tracing::info!(target: "kea-dhcp4.dhcp4", "KAKAPO_LEASE_FILE_REWRITTEN {detail}");
                    tracing::info!(target: "kea-dhcp4.dhcp4", "DHCP4_DB_RECONNECT_SUCCEEDED database connection recovered.")
                }
                Family::V6 => {
                    tracing::info!(target: "kea-dhcp6.dhcp6", "KAKAPO_LEASE_FILE_REWRITTEN {detail}");
                    tracing::info!(target: "kea-dhcp6.dhcp6", "DHCP6_DB_RECONNECT_SUCCEEDED database connection recovered.")
                }
            }
            shared.observe();
            true
        }
        Err(e) => {
            lost(
                journal.family,
                false,
                &format!("rewriting lease file {} failed: {e}; will retry", journal.paths.file.display()),
            );
            false
        }
    }
}

/// Logs Kea's "database connection lost" (the lease backend is unusable and the service
/// answers nothing that needs it): an error when it happens, a warning per failed retry.
fn lost(family: Family, first: bool, detail: &str) {
    match family {
        Family::V4 => tracing::warn!(target: "kea-dhcp4.dhcp4", "KAKAPO_LEASE_FILE_UNAVAILABLE {detail}"),
        Family::V6 => tracing::warn!(target: "kea-dhcp6.dhcp6", "KAKAPO_LEASE_FILE_UNAVAILABLE {detail}"),
    }
    match (family, first) {
        (Family::V4, true) => {
            tracing::error!(target: "kea-dhcp4.dhcp4", "DHCP4_DB_RECONNECT_LOST_CONNECTION database connection lost.")
        }
        (Family::V4, false) => {
            tracing::warn!(target: "kea-dhcp4.dhcp4", "DHCP4_DB_RECONNECT_LOST_CONNECTION database connection lost.")
        }
        (Family::V6, true) => {
            tracing::error!(target: "kea-dhcp6.dhcp6", "DHCP6_DB_RECONNECT_LOST_CONNECTION database connection lost.")
        }
        (Family::V6, false) => {
            tracing::warn!(target: "kea-dhcp6.dhcp6", "DHCP6_DB_RECONNECT_LOST_CONNECTION database connection lost.")
        }
    }
}
