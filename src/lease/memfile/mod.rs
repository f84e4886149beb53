//! Kea's memfile lease storage for DHCPv4 and DHCPv6 (Kea ARM 8.2.2.1 / 9.2.2.1 "Memfile -
//! Basic Storage for Leases", 8.2.2.2 "Lease File Cleanup"), made crash-safe.
//!
//! Both families share one implementation ([`row::LeaseRow`] says what differs: key, header,
//! rows); [`Memfile4`] and [`Memfile6`] are thin typed fronts over it.
//!
//! The files are Kea's: `kea-leases4.csv` / `kea-leases6.csv` are append-only journals (a full
//! row per change, a `valid_lifetime` 0 tombstone per deletion) and cleanup rotates them
//! through `.1`, `.output`, `.completed` and `.2` exactly like `kea-lfc`, so Kea 2.2 and kakapo
//! can take over each other's files at any point. Two things differ from Kea, both on the safe side:
//!
//! - a commit is acknowledged only after its rows are written and fdatasync'ed (Kea never
//!   syncs). One writer thread batches every row queued during the previous sync into one
//!   write and one fdatasync (group commit);
//! - cleanup runs on a std thread in-process instead of spawning `kea-lfc`, never blocking
//!   appends; it still honours and writes Kea's `.pid` file.
//!
//! Recovery after a crash: the last journal row may be torn; it was never acknowledged, so it is
//! cut off at start-up before appending resumes.

mod csv;
mod csv6;
mod files;
mod lfc;
pub(crate) mod row;
pub mod store;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use csv::{format_row4, header4, parse_row4, COLUMNS4};
pub use csv6::{format_row6, header6, parse_row6, COLUMNS6};
pub use store::{LeaseIndex, MemfileStore};
pub use writer::CommitTicket;

use super::store::StoreHealth;

use self::files::{LeaseMap, Paths, Tail};
use self::row::{mlog, LeaseRow};
use self::writer::{lock, Journal, Shared};
use super::{Lease4, Lease6};

/// `lease-database` settings of `type: memfile` (Kea ARM 8.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemfileConfig {
    /// `name`: the lease file (Kea's default `/var/lib/kea/kea-leases4.csv` / `kea-leases6.csv`).
    pub path: PathBuf,
    /// `persist`: false keeps leases in memory only (no file is read or written).
    pub persist: bool,
    /// `lfc-interval` in seconds (0 = never); the daemon's timer calls [`Memfile4::start_lfc`]
    /// / [`Memfile6::start_lfc`].
    pub lfc_interval: u32,
    /// `max-row-errors`: more bad rows than this in one file fail the load (0 = unlimited).
    pub max_row_errors: u32,
    /// Write Kea 2.4+'s header with `pool_id` instead of Kea 2.2's (which Debian ships).
    pub pool_id_column: bool,
}

/// One change to the lease file: a full row, or Kea's deletion tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change4 {
    /// Add or replace the lease at its address (Kea's `addLease` / `updateLease4`).
    Upsert(Lease4),
    /// Delete it: a row with valid_lifetime 0 and expire = cltt (Kea's `deleteLease`).
    Delete(Lease4),
}

/// One change to the v6 lease file: a full row, or Kea's deletion tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change6 {
    /// Add or replace the lease at its address (Kea's `addLease` / `updateLease6`).
    Upsert(Lease6),
    /// Delete it: a row with valid and preferred lifetimes 0 and expire = cltt (`deleteLease`).
    Delete(Lease6),
}

impl Memfile4 {
    /// As [`Memfile4::commit`], from the engine's changes without copying them.
    pub fn commit_changes<'a>(&self, changes: impl Iterator<Item = &'a crate::lease::LeaseChange4>) -> CommitTicket {
        use crate::lease::LeaseChange4 as C;
        self.store.commit(changes.map(|c| match c {
            C::Upsert(l, _) => (l, false),
            C::Delete(l) => (l, true),
        }))
    }
}

impl Memfile6 {
    /// As [`Memfile6::commit`], from the engine's changes without copying them.
    pub fn commit_changes<'a>(&self, changes: impl Iterator<Item = &'a crate::lease::LeaseChange6>) -> CommitTicket {
        use crate::lease::LeaseChange6 as C;
        self.store.commit(changes.map(|c| match c {
            C::Upsert(l, _) => (l, false),
            C::Delete(l) => (l, true),
        }))
    }
}

/// Memfile errors (Kea's `CSVFileError`, `DbOpenError` and kakapo's durability failures).
#[derive(Debug, thiserror::Error)]
pub enum MemfileError {
    /// An I/O error without a more specific place (e.g. a failed batch write).
    #[error("lease file I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `max-row-errors` exceeded while loading a file (Kea's "exceeded maximum number of failures").
    #[error("exceeded maximum number of failures {max} to read a lease from the lease file {}; last: {last}", path.display())]
    TooManyRowErrors {
        /// The file being loaded.
        path: PathBuf,
        /// The configured `max-row-errors`.
        max: u32,
        /// The last row error.
        last: String,
    },
    /// The first line is not a lease file header Kea would accept (for this family).
    #[error("invalid header in lease file {}: {reason}", path.display())]
    InvalidHeader {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A lease Kea's loader would discard, refused before it is written.
    #[error("lease {address} cannot be stored: {reason}")]
    InvalidLease {
        /// The lease address.
        address: std::net::Ipv4Addr,
        /// Why.
        reason: String,
    },
    /// A v6 lease Kea's loader would discard, refused before it is written.
    #[error("lease {address} cannot be stored: {reason}")]
    InvalidLease6 {
        /// The lease address (or prefix).
        address: std::net::Ipv6Addr,
        /// Why.
        reason: String,
    },
    /// Another cleanup of this file is running (Kea: "lease file cleanup is in progress").
    #[error("lease file cleanup is in progress (pid {pid})")]
    LfcInProgress {
        /// The process running it (ours for an in-process cleanup).
        pid: u32,
    },
    /// A write or fdatasync failed; nothing is acknowledged until the writer has rewritten a
    /// fresh lease file from memory (it retries on its own).
    #[error("lease file unavailable after a failed write: {0}")]
    Unavailable(String),
    /// Too many rows are waiting for a slow or stalled disk; refused to keep memory bounded.
    #[error("{bytes} bytes of lease rows are waiting for the disk; commit refused")]
    Backlog {
        /// Bytes queued when the commit was refused.
        bytes: usize,
    },
    /// The store was closed.
    #[error("lease file is closed")]
    Closed,
    /// `persist` is false: there is no file to clean up.
    #[error("leases are not persisted (persist: false)")]
    NotPersistent,
    /// A ticket was awaited again after it had completed.
    #[error("commit ticket polled after completion")]
    TicketReused,
}

/// The store shared by both families: Kea's start-up load, the group-commit journal writer and
/// cleanup, for any [`LeaseRow`].
struct Store<L: LeaseRow> {
    cfg: MemfileConfig,
    paths: Paths,
    /// None when `persist` is false.
    shared: Option<Arc<Shared>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    #[cfg(test)]
    lfc_pause: Mutex<Option<LfcPause>>,
    _lease: std::marker::PhantomData<fn() -> L>,
}

/// Test hook: (tell the test the cleanup rotated, wait for the test to let it go on).
#[cfg(test)]
type LfcPause = (std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>);

impl<L: LeaseRow> Store<L> {
    fn open(cfg: MemfileConfig) -> Result<(Store<L>, Vec<L>), MemfileError> {
        let fam = L::FAMILY;
        let paths = Paths::new(&cfg.path);
        if !cfg.persist {
            // Kea reads no file at all without persistence.
            mlog!(
                fam,
                warn,
                "DHCPSRV_MEMFILE_NO_STORAGE running in non-persistent mode, leases will be lost after restart"
            );
            return Ok((Store::assemble(cfg, paths, None, None), Vec::new()));
        }
        // Kea's data directory (/var/lib/kea) is made by its packages; a server installed
        // without them creates it rather than refusing to start.
        if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| MemfileError::File { path: dir.to_path_buf(), source: e })?;
        }
        // A reload must not read files our own cleanup is renaming; a foreign one makes Kea
        // refuse to start, and so do we.
        lfc::wait_idle(&lfc::key(&paths));
        if let Some(pid) = files::pid_file_owner(&paths.pid) {
            if files::other_process_alive(pid) {
                return Err(MemfileError::LfcInProgress { pid });
            }
        }
        let mut map = LeaseMap::<L>::default();
        let max = cfg.max_row_errors;
        if paths.completed.exists() {
            files::load_file(&paths.completed, &mut map, max, Tail::Parse)?;
        } else {
            for p in [&paths.previous, &paths.input] {
                if p.exists() {
                    files::load_file(p, &mut map, max, Tail::Parse)?;
                }
            }
        }
        let journal =
            if paths.file.exists() { Some(files::load_file(&paths.file, &mut map, max, Tail::Torn)?) } else { None };
        match &journal {
            Some(j) if j.layout.is_some_and(|l| !L::is_exactly(&l, cfg.pool_id_column)) => {
                // Appending our rows under another header would make the file unreadable; like
                // Kea's start-up conversion, rewrite everything in our format first.
                compact(&paths, &map, cfg.pool_id_column)?;
            }
            Some(j) if j.torn || j.layout.is_none() => {
                // Cut the unacknowledged torn row (or torn header) so appends start on a
                // fresh line; an empty file gets its header below.
                let f = std::fs::OpenOptions::new().write(true).open(&paths.file).map_err(files::at(&paths.file))?;
                let keep = if j.layout.is_some() { j.complete_len } else { 0 };
                f.set_len(keep).and_then(|()| f.sync_all()).map_err(files::at(&paths.file))?;
            }
            _ => {}
        }
        let header = L::header(cfg.pool_id_column);
        let (file, len) = files::open_journal(&paths.file, &header)?;
        let shared = Arc::new(Shared::new());
        let journal = Journal::new(file, len, paths.clone(), header, fam);
        let writer_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("kakapo-memfile{}", fam.digit()))
            .spawn(move || writer::run(writer_shared, journal))
            .map_err(MemfileError::Io)?;
        let mut leases: Vec<L> = map.into_values().collect();
        // Keys are unique here: the unstable sort gives the same order with less copying.
        leases.sort_unstable_by_key(|l| l.key());
        mlog!(
            fam,
            info,
            "DHCPSRV_MEMFILE_DB opening memory file lease database: {} ({} leases)",
            paths.file.display(),
            leases.len()
        );
        Ok((Store::assemble(cfg, paths, Some(shared), Some(thread)), leases))
    }

    fn assemble(
        cfg: MemfileConfig,
        paths: Paths,
        shared: Option<Arc<Shared>>,
        thread: Option<JoinHandle<()>>,
    ) -> Store<L> {
        Store {
            cfg,
            paths,
            shared,
            thread: Mutex::new(thread),
            #[cfg(test)]
            lfc_pause: Mutex::new(None),
            _lease: std::marker::PhantomData,
        }
    }

    /// `changes` are (lease, is a deletion) in submission order.
    fn commit<'a>(&self, changes: impl Iterator<Item = (&'a L, bool)>) -> CommitTicket {
        let Some(shared) = &self.shared else {
            return CommitTicket::ready(Ok(()));
        };
        // Format on the caller's thread so that many cores share the work, not the writer.
        let mut text = String::with_capacity(changes.size_hint().0.max(1) * 160);
        let mut count = 0u64;
        for (lease, tombstone) in changes {
            if let Err(e) = lease.check_storable() {
                return CommitTicket::ready(Err(e));
            }
            lease.write_row(&mut text, tombstone, self.cfg.pool_id_column);
            text.push('\n');
            count += 1;
        }
        if count == 0 {
            return CommitTicket::ready(Ok(()));
        }
        shared.enqueue(text.as_bytes(), count)
    }

    fn start_lfc(&self) -> Result<JoinHandle<Result<(), MemfileError>>, MemfileError> {
        let shared = self.shared.as_ref().ok_or(MemfileError::NotPersistent)?;
        if shared.is_closing() {
            return Err(MemfileError::Closed);
        }
        let claim = lfc::Claim::acquire(&self.paths)?;
        let shared = Arc::clone(shared);
        let paths = self.paths.clone();
        let (max, pool_id_column) = (self.cfg.max_row_errors, self.cfg.pool_id_column);
        #[cfg(test)]
        let pause = lock(&self.lfc_pause).take();
        let fam = L::FAMILY;
        std::thread::Builder::new()
            .name(format!("kakapo-lfc{}", fam.digit()))
            .spawn(move || {
                let _claim = claim;
                mlog!(
                    fam,
                    info,
                    "DHCPSRV_MEMFILE_LFC_EXECUTE executing Lease File Cleanup using: in-process cleanup of {}",
                    paths.file.display()
                );
                let rotation = shared.rotate()?;
                mlog!(fam, debug, "LFC_ROTATING LFC rotating files");
                mlog!(fam, debug, "KAKAPO_LFC_ROTATION {rotation:?}");
                #[cfg(test)]
                if let Some((reached, release)) = pause {
                    let _ = reached.send(());
                    let _ = release.recv();
                }
                let result = lfc::merge::<L>(&paths, max, pool_id_column);
                match &result {
                    Ok(()) => mlog!(fam, info, "LFC_TERMINATE LFC finished processing"),
                    Err(e) => {
                        mlog!(
                            fam,
                            warn,
                            "LFC_FAIL_PROCESS : lease file cleanup of {} failed: {e}",
                            paths.file.display()
                        )
                    }
                }
                result
            })
            .map_err(MemfileError::Io)
    }

    fn close(&self) {
        if let Some(shared) = &self.shared {
            shared.shut_down();
        }
        if let Some(t) = lock(&self.thread).take() {
            // The writer itself may drop the last reference (through the snapshot source it
            // calls); it exits on its own after `shut_down`, and cannot join itself.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }

    /// See the fronts' `set_snapshot`.
    fn set_snapshot(&self, snapshot: Arc<dyn Fn() -> Option<Vec<L>> + Send + Sync>) {
        let Some(shared) = &self.shared else { return };
        let paths = self.paths.clone();
        let pool_id_column = self.cfg.pool_id_column;
        shared.set_recover(Arc::new(move || {
            // Our own cleanup renames the older files; rewrite between two cleanups (the
            // cleanup cannot rotate meanwhile: rotation fails while the writer is failed).
            let _claim = lfc::Claim::in_process(&paths)?;
            let leases = snapshot().ok_or(MemfileError::Closed)?;
            files::rewrite_journal::<L>(&paths, leases, pool_id_column)
        }));
    }

    fn set_observer(&self, observer: Arc<dyn Fn(&StoreHealth) + Send + Sync>) {
        if let Some(shared) = &self.shared {
            shared.set_observer(observer);
        }
    }

    fn health(&self) -> StoreHealth {
        self.shared.as_ref().map_or_else(StoreHealth::default, |s| s.health())
    }

    fn write_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.shared.as_ref().map_or((0, 0), |s| (s.batches.load(Relaxed), s.rows.load(Relaxed)))
    }

    /// Test hook: the next batch is written to `/dev/full` (every write fails with ENOSPC).
    #[cfg(test)]
    fn fail_next_write(&self) {
        let full = std::fs::OpenOptions::new().append(true).open("/dev/full").expect("/dev/full");
        if let Some(shared) = &self.shared {
            *lock(&shared.inject) = Some(full);
        }
    }

    #[cfg(test)]
    fn pause_next_lfc(&self) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (reached_tx, reached_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        *lock(&self.lfc_pause) = Some((reached_tx, release_rx));
        (reached_rx, release_tx)
    }
}

impl<L: LeaseRow> Drop for Store<L> {
    fn drop(&mut self) {
        self.close();
    }
}

/// Generates the typed front of one family (the same public surface for v4 and v6).
macro_rules! memfile_front {
    ($name:ident, $lease:ty, $change:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("cfg", &self.store.cfg).finish_non_exhaustive()
            }
        }

        impl $name {
            /// Loads the files in Kea's order (`loadLeasesFromFiles`: `.completed`, else `.2` then
            /// `.1`; then always `<file>`) and opens `<file>` for appends; returns the live leases
            /// sorted by address (state kept as stored, expired ones included).
            pub fn open(cfg: MemfileConfig) -> Result<($name, Vec<$lease>), MemfileError> {
                Store::open(cfg).map(|(store, leases)| ($name { store }, leases))
            }

            /// The configuration this store was opened with.
            pub fn config(&self) -> &MemfileConfig {
                &self.store.cfg
            }

            /// Appends the rows (Kea's `CSVLeaseFile::append`, one per change) and completes once
            /// they are durable (written + fdatasync). Concurrent callers share one write and one
            /// fdatasync per batch (group commit). With `persist` false it completes at once.
            pub fn commit(&self, changes: Vec<$change>) -> CommitTicket {
                self.store.commit(changes.iter().map(|c| match c {
                    $change::Upsert(l) => (l, false),
                    $change::Delete(l) => (l, true),
                }))
            }

            /// Starts one cleanup cycle (Kea's `lfcCallback`, run every `lfc-interval`): on a std
            /// thread, the writer rotates `<file>` to `<file>.1` between two batches, then `.2` + `.1`
            /// are merged into `.output` -> `.completed` -> `.2` while commits keep flowing.
            pub fn start_lfc(&self) -> Result<JoinHandle<Result<(), MemfileError>>, MemfileError> {
                self.store.start_lfc()
            }

            /// Flushes what is queued, stops the writer thread and closes the journal; later commits
            /// fail with [`MemfileError::Closed`]. Idempotent.
            pub fn close(&self) {
                self.store.close();
            }

            /// Write rounds (write + fdatasync) and rows made durable so far.
            pub fn write_stats(&self) -> (u64, u64) {
                self.store.write_stats()
            }

            /// Gives the store the source of the current lease state (the engine's lease map;
            /// None once it is gone), which makes a failed journal recoverable: after a write
            /// or fdatasync failure the writer refuses commits, then rewrites a fresh lease file
            /// holding this state (Kea's LFC format) with backoff and resumes once that is
            /// durable. Without it a failure stops acknowledging for good. kakapo extension of
            /// Kea ARM 8.2.2.1; the closure runs on the writer thread and must not commit.
            pub fn set_snapshot(&self, snapshot: impl Fn() -> Option<Vec<$lease>> + Send + Sync + 'static) {
                self.store.set_snapshot(Arc::new(snapshot))
            }

            /// Calls `observer` now and on every failure and recovery of the writer (kakapo's
            /// `lease-store-*` statistics; Kea ARM 8.8 `status-get`).
            pub fn set_observer(&self, observer: impl Fn(&StoreHealth) + Send + Sync + 'static) {
                self.store.set_observer(Arc::new(observer))
            }

            /// Whether commits are being made durable now (Kea ARM 8.8 `status-get`).
            pub fn health(&self) -> StoreHealth {
                self.store.health()
            }

            /// Test hook: the next batch's write fails as on a full disk.
            #[cfg(test)]
            #[allow(dead_code)]
            pub(crate) fn fail_next_write(&self) {
                self.store.fail_next_write()
            }

            /// Test hook: the next cleanup stops after rotating until the returned sender fires; the
            /// returned receiver fires when it got there.
            #[cfg(test)]
            pub(crate) fn pause_next_lfc(&self) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
                self.store.pause_next_lfc()
            }
        }
    };
}

/// The DHCPv4 memfile store (`kea-leases4.csv`): Kea's start-up load, the group-commit journal
/// writer and cleanup. `Send + Sync`; share it in an `Arc`.
pub struct Memfile4 {
    store: Store<Lease4>,
}

/// The DHCPv6 memfile store (`kea-leases6.csv`; Kea ARM 9.2.2.1): the same machinery as
/// [`Memfile4`] over v6 rows. `Send + Sync`; share it in an `Arc`.
pub struct Memfile6 {
    store: Store<Lease6>,
}

memfile_front!(Memfile4, Lease4, Change4);
memfile_front!(Memfile6, Lease6, Change6);

/// Kea's loader discards these rows (`CSVLeaseFile4::next`), so acknowledging them would be a
/// lie: refuse them up front.
fn storable(lease: &Lease4) -> Result<(), String> {
    if lease.hwaddr.is_empty() && lease.client_id.is_none() && lease.state != super::LeaseState::Declined {
        return Err("neither a hardware address nor a client id".to_string());
    }
    if lease.hwaddr.len() > 20 {
        return Err("hardware address longer than 20 bytes".to_string());
    }
    if lease.client_id.as_ref().is_some_and(|id| !(2..=255).contains(&id.len())) {
        return Err("client id must be 2 to 255 bytes long".to_string());
    }
    if let Some(ctx) = &lease.user_context {
        if !ctx.is_empty() && !matches!(serde_json::from_str(ctx), Ok(serde_json::Value::Object(_))) {
            return Err("user context is not a JSON map".to_string());
        }
    }
    Ok(())
}

/// Rewrites the live set in our format, keeping the files loadable at every step: snapshot to
/// `.output` -> `.completed` (now loaded instead of `.2`/`.1`, and replaying the old journal
/// after it changes nothing), empty the journal, then finish like a cleanup.
fn compact<L: LeaseRow>(paths: &Paths, map: &LeaseMap<L>, pool_id_column: bool) -> Result<(), MemfileError> {
    mlog!(
        L::FAMILY,
        info,
        "DHCPSRV_MEMFILE_CONVERTING_LEASE_FILES running LFC now to convert lease files to the current schema: {}.{}",
        L::schema(pool_id_column).0,
        L::schema(pool_id_column).1
    );
    files::write_snapshot(&paths.output, map, pool_id_column)?;
    std::fs::rename(&paths.output, &paths.completed).map_err(files::at(&paths.output))?;
    files::sync_dir(&paths.file)?;
    let f = std::fs::OpenOptions::new().write(true).open(&paths.file).map_err(files::at(&paths.file))?;
    f.set_len(0).and_then(|()| f.sync_all()).map_err(files::at(&paths.file))?;
    lfc::merge::<L>(paths, 0, pool_id_column)
}

#[cfg(test)]
mod tests;
