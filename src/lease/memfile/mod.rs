//! Kea's memfile lease storage for DHCPv4 (Kea ARM 8.2.2.1 "Memfile - Basic Storage for
//! Leases", 8.2.2.2 "Lease File Cleanup"), made crash-safe.
//!
//! The files are Kea's: `kea-leases4.csv` is an append-only journal (a full row per change, a
//! `valid_lifetime` 0 tombstone per deletion) and cleanup rotates it through `.1`, `.output`,
//! `.completed` and `.2` exactly like `kea-lfc`, so Kea 2.2 and kakapo can take over each
//! other's files at any point. Two things differ from Kea, both on the safe side:
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
mod files;
mod lfc;
mod writer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tracing::{info, warn};

pub use csv::{format_row4, header4, parse_row4, COLUMNS4};
pub use writer::CommitTicket;

use self::files::{LeaseMap, Paths, Tail};
use self::writer::{lock, Journal, Shared};
use super::Lease4;

/// `lease-database` settings of `type: memfile` (Kea ARM 8.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemfileConfig {
    /// `name`: the lease file (Kea's default `/var/lib/kea/kea-leases4.csv`).
    pub path: PathBuf,
    /// `persist`: false keeps leases in memory only (no file is read or written).
    pub persist: bool,
    /// `lfc-interval` in seconds (0 = never); the daemon's timer calls [`Memfile4::start_lfc`].
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
    /// The first line is not a v4 lease file header Kea would accept.
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
    /// Another cleanup of this file is running (Kea: "lease file cleanup is in progress").
    #[error("lease file cleanup is in progress (pid {pid})")]
    LfcInProgress {
        /// The process running it (ours for an in-process cleanup).
        pid: u32,
    },
    /// A write or sync failed in a way that leaves the journal's end unknown; nothing more
    /// is acknowledged until the file is reopened.
    #[error("lease file unusable after a failed write: {0}")]
    Poisoned(String),
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

/// The DHCPv4 memfile store: Kea's start-up load, the group-commit journal writer and
/// cleanup. `Send + Sync`; share it in an `Arc`.
pub struct Memfile4 {
    cfg: MemfileConfig,
    paths: Paths,
    /// None when `persist` is false.
    shared: Option<Arc<Shared>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    #[cfg(test)]
    lfc_pause: Mutex<Option<LfcPause>>,
}

/// Test hook: (tell the test the cleanup rotated, wait for the test to let it go on).
#[cfg(test)]
type LfcPause = (std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>);

impl std::fmt::Debug for Memfile4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memfile4").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl Memfile4 {
    /// Loads the files in Kea's order (`loadLeasesFromFiles`: `.completed`, else `.2` then
    /// `.1`; then always `<file>`) and opens `<file>` for appends; returns the live leases
    /// sorted by address (state kept as stored, expired ones included).
    pub fn open(cfg: MemfileConfig) -> Result<(Memfile4, Vec<Lease4>), MemfileError> {
        let paths = Paths::new(&cfg.path);
        if !cfg.persist {
            // Kea reads no file at all without persistence.
            warn!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_MEMFILE_NO_STORAGE running in non-persistent mode, leases will be lost after restart");
            let m = Memfile4::assemble(cfg, paths, None, None);
            return Ok((m, Vec::new()));
        }
        // A reload must not read files our own cleanup is renaming; a foreign one makes Kea
        // refuse to start, and so do we.
        lfc::wait_idle(&lfc::key(&paths));
        if let Some(pid) = files::pid_file_owner(&paths.pid) {
            if files::other_process_alive(pid) {
                return Err(MemfileError::LfcInProgress { pid });
            }
        }
        let mut map = LeaseMap::new();
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
            Some(j) if j.layout.is_some_and(|l| !l.is_exactly(cfg.pool_id_column)) => {
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
        let (file, len) = files::open_journal(&paths.file, cfg.pool_id_column)?;
        let shared = Arc::new(Shared::new());
        let journal = Journal::new(file, len, paths.clone(), cfg.pool_id_column);
        let writer_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("kakapo-memfile4".to_string())
            .spawn(move || writer::run(writer_shared, journal))
            .map_err(MemfileError::Io)?;
        let mut leases: Vec<Lease4> = map.into_values().collect();
        leases.sort_by_key(|l| l.address);
        info!(
            target: "kea-dhcp4.dhcpsrv",
            "DHCPSRV_MEMFILE_DB opening memory file lease database: {} ({} leases)",
            paths.file.display(),
            leases.len()
        );
        Ok((Memfile4::assemble(cfg, paths, Some(shared), Some(thread)), leases))
    }

    fn assemble(
        cfg: MemfileConfig,
        paths: Paths,
        shared: Option<Arc<Shared>>,
        thread: Option<JoinHandle<()>>,
    ) -> Memfile4 {
        Memfile4 {
            cfg,
            paths,
            shared,
            thread: Mutex::new(thread),
            #[cfg(test)]
            lfc_pause: Mutex::new(None),
        }
    }

    /// The configuration this store was opened with.
    pub fn config(&self) -> &MemfileConfig {
        &self.cfg
    }

    /// Appends the rows (Kea's `CSVLeaseFile4::append`, one per change) and completes once
    /// they are durable (written + fdatasync). Concurrent callers share one write and one
    /// fdatasync per batch (group commit). With `persist` false it completes at once.
    pub fn commit(&self, changes: Vec<Change4>) -> CommitTicket {
        let Some(shared) = &self.shared else {
            return CommitTicket::ready(Ok(()));
        };
        if changes.is_empty() {
            return CommitTicket::ready(Ok(()));
        }
        // Format on the caller's thread so that many cores share the work, not the writer.
        let mut text = String::with_capacity(changes.len() * 128);
        for change in &changes {
            let (lease, valid) = match change {
                Change4::Upsert(l) => (l, l.valid_lifetime),
                Change4::Delete(l) => (l, 0),
            };
            if let Err(reason) = storable(lease) {
                return CommitTicket::ready(Err(MemfileError::InvalidLease { address: lease.address, reason }));
            }
            csv::write_row(&mut text, lease, valid, self.cfg.pool_id_column);
            text.push('\n');
        }
        shared.enqueue(text.as_bytes(), changes.len() as u64)
    }

    /// Starts one cleanup cycle (Kea's `lfcCallback`, run every `lfc-interval`): on a std
    /// thread, the writer rotates `<file>` to `<file>.1` between two batches, then `.2` + `.1`
    /// are merged into `.output` -> `.completed` -> `.2` while commits keep flowing.
    pub fn start_lfc(&self) -> Result<JoinHandle<Result<(), MemfileError>>, MemfileError> {
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
        std::thread::Builder::new()
            .name("kakapo-lfc4".to_string())
            .spawn(move || {
                let _claim = claim;
                info!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_MEMFILE_LFC_START starting Lease File Cleanup of {}", paths.file.display());
                let rotation = shared.rotate()?;
                #[cfg(test)]
                if let Some((reached, release)) = pause {
                    let _ = reached.send(());
                    let _ = release.recv();
                }
                let result = lfc::merge(&paths, max, pool_id_column);
                match &result {
                    Ok(()) => info!(target: "kea-dhcp4.dhcpsrv", "LFC_TERMINATE lease file cleanup of {} done ({rotation:?})", paths.file.display()),
                    Err(e) => warn!(target: "kea-dhcp4.dhcpsrv", "LFC_FAIL_PROCESS lease file cleanup of {} failed: {e}", paths.file.display()),
                }
                result
            })
            .map_err(MemfileError::Io)
    }

    /// Flushes what is queued, stops the writer thread and closes the journal; later commits
    /// fail with [`MemfileError::Closed`]. Idempotent.
    pub fn close(&self) {
        if let Some(shared) = &self.shared {
            shared.shut_down();
        }
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }

    /// Write rounds (write + fdatasync) and rows made durable so far.
    pub fn write_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.shared.as_ref().map_or((0, 0), |s| (s.batches.load(Relaxed), s.rows.load(Relaxed)))
    }

    /// Test hook: the next cleanup stops after rotating until the returned sender fires; the
    /// returned receiver fires when it got there.
    #[cfg(test)]
    pub(crate) fn pause_next_lfc(&self) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (reached_tx, reached_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        *lock(&self.lfc_pause) = Some((reached_tx, release_rx));
        (reached_rx, release_tx)
    }
}

impl Drop for Memfile4 {
    fn drop(&mut self) {
        self.close();
    }
}

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
fn compact(paths: &Paths, map: &LeaseMap, pool_id_column: bool) -> Result<(), MemfileError> {
    info!(
        target: "kea-dhcp4.dhcpsrv",
        "DHCPSRV_MEMFILE_CONVERTING_LEASE_FILES running LFC now to convert lease files to the current schema: {}",
        paths.file.display()
    );
    files::write_snapshot(&paths.output, map, pool_id_column)?;
    std::fs::rename(&paths.output, &paths.completed).map_err(files::at(&paths.output))?;
    files::sync_dir(&paths.file)?;
    let f = std::fs::OpenOptions::new().write(true).open(&paths.file).map_err(files::at(&paths.file))?;
    f.set_len(0).and_then(|()| f.sync_all()).map_err(files::at(&paths.file))?;
    lfc::merge(paths, 0, pool_id_column)
}

#[cfg(test)]
mod tests;
