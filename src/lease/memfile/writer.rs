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

use super::files::{self, Paths};
use super::row::{mlog, Family};
use super::MemfileError;

/// Locks a mutex even if a panicking thread poisoned it: the data behind every lock here stays
/// consistent at each unlock, so continuing is safe.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a batch failed; cloned to every ticket of the batch.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Io(io::ErrorKind, String),
    Poisoned(String),
}

impl Failure {
    fn into_error(self) -> MemfileError {
        match self {
            Failure::Io(kind, msg) => MemfileError::Io(io::Error::new(kind, msg)),
            Failure::Poisoned(msg) => MemfileError::Poisoned(msg),
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
    /// Set once the journal can no longer be trusted; every later commit fails with it.
    poisoned: Option<String>,
}

/// State shared by committers, the writer thread and cleanups.
pub(crate) struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Number of write + fdatasync rounds (for tests and statistics).
    pub(crate) batches: AtomicU64,
    /// Number of rows made durable.
    pub(crate) rows: AtomicU64,
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
                poisoned: None,
            }),
            wake: Condvar::new(),
            batches: AtomicU64::new(0),
            rows: AtomicU64::new(0),
        }
    }

    /// Queues formatted rows (each ending in a newline) and returns their ticket.
    pub(crate) fn enqueue(&self, rows: &[u8], count: u64) -> CommitTicket {
        let mut q = lock(&self.queue);
        if q.closing {
            return CommitTicket::ready(Err(MemfileError::Closed));
        }
        if let Some(why) = &q.poisoned {
            return CommitTicket::ready(Err(MemfileError::Poisoned(why.clone())));
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
            if let Some(why) = &q.poisoned {
                return Err(MemfileError::Poisoned(why.clone()));
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

    fn poison(&self, why: &str) {
        lock(&self.queue).poisoned.get_or_insert_with(|| why.to_string());
    }
}

/// The open journal as only the writer thread sees it.
pub(crate) struct Journal {
    file: File,
    /// Bytes known to end on a row boundary; a failed write is cut back to this.
    len: u64,
    poisoned: Option<String>,
    paths: Paths,
    /// The header a fresh journal starts with.
    header: String,
    family: Family,
}

impl Journal {
    pub(crate) fn new(file: File, len: u64, paths: Paths, header: String, family: Family) -> Journal {
        Journal { file, len, poisoned: None, paths, header, family }
    }

    fn append(&mut self, buf: &[u8]) -> Result<(), Failure> {
        if let Some(why) = &self.poisoned {
            return Err(Failure::Poisoned(why.clone()));
        }
        if let Err(e) = self.file.write_all(buf) {
            // Cut a partial write back so the next batch starts on a fresh line; if even that
            // fails the journal's end is unknown and nothing more may be acknowledged.
            if let Err(e2) = self.file.set_len(self.len).and_then(|()| self.file.sync_data()) {
                self.poisoned = Some(format!("write failed ({e}) and could not be undone ({e2})"));
            }
            return Err(Failure::Io(e.kind(), format!("writing {}: {e}", self.paths.file.display())));
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped the dirty pages: what is on disk
            // is unknown, so stop acknowledging anything (the "fsyncgate" lesson).
            self.poisoned = Some(format!("fdatasync of {} failed: {e}", self.paths.file.display()));
            return Err(Failure::Io(e.kind(), format!("syncing {}: {e}", self.paths.file.display())));
        }
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Kea's `lfcExecute` rotation: unless a previous cleanup is unfinished, rename `<file>` to
    /// `<file>.1` and start a fresh `<file>`. Every acknowledged row is already durable, and the
    /// directory is synced before any row goes to the new file.
    fn rotate(&mut self) -> Result<Rotation, MemfileError> {
        if let Some(why) = &self.poisoned {
            return Err(MemfileError::Poisoned(why.clone()));
        }
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
                // cleanup deletes, so stop.
                if std::fs::rename(&p.input, &p.file).is_err() {
                    self.poisoned = Some(format!("could not reopen {} after rotation: {e}", p.file.display()));
                }
                Err(e)
            }
        }
    }
}

/// The writer thread: take everything queued, write it with one call, fdatasync once, release
/// the batch; repeat. Exits after draining once `closing` is set.
pub(crate) fn run(shared: Arc<Shared>, mut journal: Journal) {
    let mut spare: Vec<u8> = Vec::with_capacity(1 << 16);
    loop {
        let (mut buf, rows, batch, rotate) = {
            let mut q = lock(&shared.queue);
            while q.buf.is_empty() && q.rotate.is_none() && !q.closing {
                q = shared.wake.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
            if q.buf.is_empty() && q.rotate.is_none() {
                break;
            }
            let buf = std::mem::replace(&mut q.buf, std::mem::take(&mut spare));
            let batch = std::mem::take(&mut q.batch);
            let rows = std::mem::take(&mut q.rows);
            (buf, rows, batch, q.rotate.take())
        };
        if let Some(reply) = rotate {
            // Rows queued before the request land in the new file, which loads after `.1`,
            // so their order relative to older rows is kept.
            let _ = reply.send(journal.rotate());
        }
        if !buf.is_empty() {
            let result = journal.append(&buf);
            if result.is_ok() {
                shared.batches.fetch_add(1, Ordering::Relaxed);
                shared.rows.fetch_add(rows, Ordering::Relaxed);
            }
            if let Some(why) = &journal.poisoned {
                mlog!(journal.family, error, "DHCPSRV_MEMFILE_WRITE_FAIL lease file unusable: {why}");
                shared.poison(why);
            }
            batch.complete(result);
        }
        buf.clear();
        spare = buf;
    }
    // Commits refused after `closing` never joined a batch, so nobody is left waiting.
    mlog!(journal.family, info, "DHCPSRV_MEMFILE_CLOSED lease file {} closed", journal.paths.file.display());
}
