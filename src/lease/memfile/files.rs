//! The lease files on disk: Kea's names (`<file>`, `.1`, `.2`, `.output`, `.completed`,
//! `.pid`), the loader (`LeaseFileLoader::load`), snapshots and directory syncs.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::csv;
use super::row::{mlog, LeaseRow};
use super::MemfileError;

/// Live leases by address while files are replayed.
pub(crate) type LeaseMap<L> = crate::lease::FastMap<<L as LeaseRow>::Key, L>;

/// Kea's file names around one lease file (`Memfile_LeaseMgr::appendSuffix`).
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// `<file>`: the journal kakapo (or Kea) appends to.
    pub file: PathBuf,
    /// `<file>.1`: the journal being cleaned up (LFC input).
    pub input: PathBuf,
    /// `<file>.2`: the last cleanup's result.
    pub previous: PathBuf,
    /// `<file>.output`: a cleanup result being written.
    pub output: PathBuf,
    /// `<file>.completed`: a finished cleanup result not yet renamed to `.2`.
    pub completed: PathBuf,
    /// `<file>.pid`: names the process running a cleanup.
    pub pid: PathBuf,
    /// `<file>.tmp-recover`: a fresh journal being written after a write failure (kakapo only;
    /// Kea's loader never reads it, so a crash while it is written changes nothing).
    pub recover: PathBuf,
}

impl Paths {
    pub(crate) fn new(file: &Path) -> Paths {
        let with = |suffix: &str| {
            let mut s = OsString::from(file.as_os_str());
            s.push(suffix);
            PathBuf::from(s)
        };
        Paths {
            file: file.to_path_buf(),
            input: with(".1"),
            previous: with(".2"),
            output: with(".output"),
            completed: with(".completed"),
            pid: with(".pid"),
            recover: with(".tmp-recover"),
        }
    }
}

/// Attaches the path to an I/O error.
pub(crate) fn at(path: &Path) -> impl FnOnce(io::Error) -> MemfileError + '_ {
    move |source| MemfileError::File { path: path.to_path_buf(), source }
}

/// What to do with bytes after the last newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Parse them as a last row, as Kea does (read-only files).
    Parse,
    /// They are a write torn by a crash and were never acknowledged: ignore them and report
    /// where the last complete row ends (the journal).
    Torn,
}

/// The outcome of replaying one file.
#[derive(Debug)]
pub(crate) struct Loaded<Y> {
    /// The header, or None for an empty file (Kea recreates those).
    pub layout: Option<Y>,
    /// Bytes up to and including the last newline.
    pub complete_len: u64,
    /// True when bytes followed the last newline (only reported in [`Tail::Torn`] mode).
    pub torn: bool,
}

/// Replays one file into `map` like Kea's `LeaseFileLoader::load`: later rows win, a row with
/// valid_lifetime 0 erases the lease, bad rows are skipped until more than `max_errors`
/// (0 = unlimited) of them make the whole load fail.
pub(crate) fn load_file<L: LeaseRow>(
    path: &Path,
    map: &mut LeaseMap<L>,
    max_errors: u32,
    tail: Tail,
) -> Result<Loaded<L::Layout>, MemfileError> {
    mlog!(L::FAMILY, info, "DHCPSRV_MEMFILE_LEASE_FILE_LOAD loading leases from file {}", path.display());
    // A FIFO or device at the lease file's path must not stall start-up.
    let data = crate::safefs::read_regular_file(path, u64::MAX).map_err(at(path))?;
    let complete_len = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let torn = tail == Tail::Torn && complete_len < data.len();
    if torn {
        mlog!(
            L::FAMILY,
            warn,
            "DHCPSRV_MEMFILE_LEASE_LOAD_ROW_ERROR discarding row {}, error: unfinished last row ({} bytes, no end of line)",
            path.display(),
            data.len() - complete_len
        );
    }
    let body = if tail == Tail::Torn { &data[..complete_len] } else { &data[..] };
    if body.is_empty() {
        return Ok(Loaded { layout: None, complete_len: complete_len as u64, torn });
    }
    // A trailing newline leaves one empty piece at the end; blank pieces are skipped below.
    let mut lines = body.split(|b| *b == b'\n');
    let header = lines.next().unwrap_or_default();
    let header = csv::bytes_to_string(strip_cr(header).to_vec());
    let layout =
        L::layout(&header).map_err(|reason| MemfileError::InvalidHeader { path: path.to_path_buf(), reason })?;
    let mut errors = 0u32;
    for (i, line) in lines.enumerate() {
        let line = strip_cr(line);
        // Kea skips blank lines silently (they are not counted as reads).
        if line.is_empty() {
            continue;
        }
        let text = csv::bytes_to_string(line.to_vec());
        match L::parse(&layout, &text) {
            Ok(lease) => {
                if lease.valid_lifetime() == 0 {
                    map.remove(&lease.key());
                } else {
                    map.insert(lease.key(), lease);
                }
            }
            Err(reason) => {
                errors += 1;
                mlog!(
                    L::FAMILY,
                    warn,
                    "DHCPSRV_MEMFILE_LEASE_LOAD_ROW_ERROR discarding row {} of {}, error: {reason}",
                    i + 1,
                    path.display()
                );
                if max_errors > 0 && errors > max_errors {
                    return Err(MemfileError::TooManyRowErrors {
                        path: path.to_path_buf(),
                        max: max_errors,
                        last: reason,
                    });
                }
            }
        }
    }
    Ok(Loaded { layout: Some(layout), complete_len: complete_len as u64, torn })
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Writes `leases` (sorted by address, as Kea's `LeaseFileLoader::write`) to `path` with our
/// header and makes the file durable before returning.
pub(crate) fn write_snapshot<L: LeaseRow>(
    path: &Path,
    map: &LeaseMap<L>,
    pool_id_column: bool,
) -> Result<usize, MemfileError> {
    let mut leases: Vec<&L> = map.values().collect();
    leases.sort_by_key(|l| l.key());
    let file = File::create(path).map_err(at(path))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut row = String::with_capacity(256);
    let write = |w: &mut BufWriter<File>, row: &mut String| -> io::Result<()> {
        w.write_all(L::header(pool_id_column).as_bytes())?;
        w.write_all(b"\n")?;
        for l in &leases {
            row.clear();
            l.write_row(row, false, pool_id_column);
            row.push('\n');
            w.write_all(row.as_bytes())?;
        }
        w.flush()?;
        w.get_ref().sync_all()
    };
    write(&mut w, &mut row).map_err(at(path))?;
    Ok(leases.len())
}

/// Replaces the journal with a fresh one holding `leases` (the whole current state, from
/// memory) and returns it opened for appends with its length. Steps: write `.tmp-recover`
/// (header, every lease, and a tombstone for each lease the older files `.completed` / `.2` /
/// `.1` still hold but memory does not, so the loader's replay ends at exactly this state),
/// fdatasync it, rename it over `<file>`, sync the directory. The one rename is the only
/// step that changes what a restart loads. The caller holds the cleanup claim, so the older
/// files do not change meanwhile.
pub(crate) fn rewrite_journal<L: LeaseRow>(
    paths: &Paths,
    mut leases: Vec<L>,
    pool_id_column: bool,
) -> Result<(File, u64), MemfileError> {
    let mut older = LeaseMap::<L>::default();
    if paths.completed.exists() {
        load_file(&paths.completed, &mut older, 0, Tail::Parse)?;
    } else {
        for p in [&paths.previous, &paths.input] {
            if p.exists() {
                load_file(p, &mut older, 0, Tail::Parse)?;
            }
        }
    }
    leases.sort_by_key(|l| l.key());
    for l in &leases {
        older.remove(&l.key());
    }
    let mut gone: Vec<&L> = older.values().collect();
    gone.sort_by_key(|l| l.key());
    let tmp = &paths.recover;
    let written = (|| -> io::Result<File> {
        let file = OpenOptions::new().create(true).write(true).truncate(true).open(tmp)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        let mut row = String::with_capacity(256);
        w.write_all(L::header(pool_id_column).as_bytes())?;
        w.write_all(b"\n")?;
        let rows = leases.iter().map(|l| (l, false)).chain(gone.iter().map(|l| (*l, true)));
        for (l, tombstone) in rows {
            row.clear();
            l.write_row(&mut row, tombstone, pool_id_column);
            row.push('\n');
            w.write_all(row.as_bytes())?;
        }
        w.flush()?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(file)
    })();
    let renamed = written.and_then(|_| fs::rename(tmp, &paths.file));
    if let Err(e) = renamed {
        // On a full disk the partial file holds the very space we need next time.
        let _ = fs::remove_file(tmp);
        return Err(at(tmp)(e));
    }
    sync_dir(&paths.file)?;
    // Reopened in append mode: the write handle above was not, and every later append must
    // land at the end whatever else touches the file.
    let file = OpenOptions::new().append(true).open(&paths.file).map_err(at(&paths.file))?;
    let len = file.metadata().map_err(at(&paths.file))?.len();
    Ok((file, len))
}

/// Makes renames, creations and removals in the lease file's directory durable.
pub(crate) fn sync_dir(file: &Path) -> Result<(), MemfileError> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
}

/// Removes a file that may not exist.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), MemfileError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(at(path)(e)),
        _ => Ok(()),
    }
}

/// Opens the journal for appending, creating it with `header` when it is missing or empty.
pub(crate) fn open_journal(path: &Path, header: &str) -> Result<(File, u64), MemfileError> {
    let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(at(path))?;
    let mut len = file.metadata().map_err(at(path))?.len();
    if len == 0 {
        let header = format!("{header}\n");
        file.write_all(header.as_bytes()).and_then(|()| file.sync_data()).map_err(at(path))?;
        len = header.len() as u64;
        // The new name must survive a crash before any row in it is acknowledged.
        sync_dir(path)?;
    }
    Ok((file, len))
}

/// The pid recorded in a `.pid` file, if any.
pub(crate) fn pid_file_owner(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` names a live process other than this one (Kea's `PIDFile::check`). Our own
/// pid is never "another cleanup": in-process cleanups are tracked separately.
pub(crate) fn other_process_alive(pid: u32) -> bool {
    pid != std::process::id() && Path::new("/proc").join(pid.to_string()).exists()
}
