//! Reading files that a configuration names (includes, lease files, credential and TLS files)
//! without trusting what is at the path (Kea ARM "Kea Security"): a FIFO, a device such as
//! /dev/zero or an oversized file is refused before anything is read.

use std::path::Path;

/// Reads a file that must be a regular file of at most `max` bytes. Opened without blocking
/// and checked before reading, so a FIFO, a device such as /dev/zero or a huge file named in a
/// configuration can neither stall the reader nor exhaust memory (Kea ARM "Kea Security").
pub fn read_regular_file(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {max} bytes")));
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {max} bytes")));
    }
    Ok(out)
}

/// Writes `text` to `path` through a fresh temporary file beside it, synced, then renamed over
/// `path`: never through a symlink or FIFO someone left at the temporary name, and a crash
/// leaves either the old file or the new one (Kea ARM 8.8 `config-write`, the DUID file).
pub fn write_atomic(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_large_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(read_regular_file(&fifo, 100).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        assert!(read_regular_file(Path::new("/dev/zero"), 100).is_err());
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 101]).unwrap();
        assert!(read_regular_file(&big, 100).is_err());
        assert_eq!(read_regular_file(&big, 101).unwrap().len(), 101);
        assert_eq!(read_regular_file(&big, u64::MAX).unwrap().len(), 101);
    }
}
