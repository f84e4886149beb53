//! Lease File Cleanup (Kea ARM 8.2.2.2 "Lease File Cleanup"; what `kea-lfc` does), run on a
//! std thread inside kakapo. Every step leaves files that Kea's start-up loader reads to the
//! same live set: `.completed` (if present) or `.2` then `.1`, then always `<file>`.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, OnceLock};

use super::files::{self, LeaseMap, Paths, Tail};
use super::row::{mlog, LeaseRow};
use super::writer::lock;
use super::MemfileError;

/// Merges `.2` and `.1` into `.output`, renames it `.completed`, deletes `.2` and `.1`, and
/// renames `.completed` to `.2` (`LFCController::processLeases` + `fileRotate`). When a
/// `.completed` is already there (a cleanup interrupted after its merge) only the renames run.
pub(crate) fn merge<L: LeaseRow>(paths: &Paths, max_row_errors: u32, pool_id_column: bool) -> Result<(), MemfileError> {
    if !paths.completed.exists() {
        let mut map = LeaseMap::<L>::default();
        // Kea's kea-lfc stops after MAX_LEASE_ERRORS bad rows; we honour the configured limit.
        for input in [&paths.previous, &paths.input] {
            if input.exists() {
                files::load_file::<L>(input, &mut map, max_row_errors, Tail::Parse)?;
            }
        }
        let written = files::write_snapshot(&paths.output, &map, pool_id_column)?;
        fs::rename(&paths.output, &paths.completed).map_err(files::at(&paths.output))?;
        files::sync_dir(&paths.file)?;
        mlog!(L::FAMILY, info, "KAKAPO_LFC_WRITE_STATS wrote {written} leases to {}", paths.completed.display());
    }
    // While `.completed` exists the loader ignores `.2` and `.1`, so these may go in any order.
    files::remove_if_exists(&paths.previous)?;
    files::remove_if_exists(&paths.input)?;
    fs::rename(&paths.completed, &paths.previous).map_err(files::at(&paths.completed))?;
    files::sync_dir(&paths.file)?;
    Ok(())
}

/// Cleanups running in this process, by lease file: the `.pid` file holds our own pid for all
/// of them, so it cannot tell them apart.
struct Registry {
    active: Mutex<HashSet<PathBuf>>,
    finished: Condvar,
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry { active: Mutex::new(HashSet::new()), finished: Condvar::new() })
}

/// The key under which a lease file's cleanups are tracked.
pub(crate) fn key(paths: &Paths) -> PathBuf {
    std::path::absolute(&paths.file).unwrap_or_else(|_| paths.file.clone())
}

/// Blocks while this process runs a cleanup of `key` (a reload reopening the same file waits
/// for it instead of reading files that are being renamed).
pub(crate) fn wait_idle(key: &PathBuf) {
    let r = registry();
    let mut active = lock(&r.active);
    while active.contains(key) {
        active = r.finished.wait(active).unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

/// Owns "a cleanup of this file is running" for its lifetime: the registry entry and the
/// `.pid` file (Kea's `PIDFile`), both released on drop, also on error or panic.
pub(crate) struct Claim {
    key: PathBuf,
    pid_path: PathBuf,
    wrote_pid: bool,
}

impl Claim {
    /// Claims the cleanup of `paths`, failing if this or another process already runs one.
    pub(crate) fn acquire(paths: &Paths) -> Result<Claim, MemfileError> {
        let key = key(paths);
        if !lock(&registry().active).insert(key.clone()) {
            return Err(MemfileError::LfcInProgress { pid: std::process::id() });
        }
        let mut claim = Claim { key, pid_path: paths.pid.clone(), wrote_pid: false };
        if let Some(pid) = files::pid_file_owner(&paths.pid) {
            if files::other_process_alive(pid) {
                return Err(MemfileError::LfcInProgress { pid });
            }
        }
        fs::write(&paths.pid, format!("{}\n", std::process::id())).map_err(files::at(&paths.pid))?;
        claim.wrote_pid = true;
        Ok(claim)
    }

    /// Claims the file against this process's own cleanups only, without a `.pid` file: for
    /// the journal rewrite after a failure, which must not race our cleanup's renames and
    /// must work on a full disk where the `.pid` file could not be written.
    pub(crate) fn in_process(paths: &Paths) -> Result<Claim, MemfileError> {
        let key = key(paths);
        if !lock(&registry().active).insert(key.clone()) {
            return Err(MemfileError::LfcInProgress { pid: std::process::id() });
        }
        Ok(Claim { key, pid_path: paths.pid.clone(), wrote_pid: false })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.wrote_pid && files::pid_file_owner(&self.pid_path) == Some(std::process::id()) {
            let _ = fs::remove_file(&self.pid_path);
        }
        let r = registry();
        lock(&r.active).remove(&self.key);
        r.finished.notify_all();
    }
}
