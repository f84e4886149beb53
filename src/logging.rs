//! Kea's `loggers` configuration on top of `tracing` (Kea ARM 18 "Logging").
//!
//! Events are emitted with a Kea logger name as their target (`kea-dhcp4.dhcp4`,
//! `kea-dhcp4.packets`, ...) and a message that starts with Kea's message ID
//! (`DHCP4_STARTED ...`). Each configured logger catches its own name and every child name, at
//! its severity, and writes Kea's default pattern
//! `%D{%Y-%m-%d %H:%M:%S.%q} %-5p [%c/%i.%t] %m` to stdout, stderr, syslog or a rotated file,
//! so log scrapers written for Kea keep working.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::clock;

/// Kea's default `maxsize` for file outputs (10240000 bytes).
pub const DEFAULT_MAXSIZE: u64 = 10_240_000;
/// Kea's default `maxver` for file outputs.
pub const DEFAULT_MAXVER: u32 = 1;

/// One `output-options` entry (Kea ARM 18.2.3).
#[derive(Debug, Clone, PartialEq)]
pub enum OutputSpec {
    /// `stdout`
    Stdout,
    /// `stderr`
    Stderr,
    /// `syslog` or `syslog:name` (the name is the syslog ident).
    Syslog(String),
    /// A file path with rotation limits.
    File {
        /// Log file path.
        path: PathBuf,
        /// Rotate when the file would exceed this many bytes (0: never).
        maxsize: u64,
        /// How many rotated files `.1` .. `.N` to keep.
        maxver: u32,
        /// fsync-free flush after every line (Kea's `flush`, default true).
        flush: bool,
    },
}

/// One `loggers` entry after validation (Kea ARM 18.2).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggerSpec {
    /// Logger name, e.g. `kea-dhcp4` or `kea-dhcp4.packets`.
    pub name: String,
    /// Most verbose level written.
    pub level: Level,
    /// Kea's `debuglevel` (0-99); kept for the DEBUG severity.
    pub debuglevel: u32,
    /// Where lines go.
    pub outputs: Vec<OutputSpec>,
}

impl LoggerSpec {
    /// Kea's built-in default: the daemon's root logger at INFO to stdout.
    pub fn default_for(root: &str, debug: bool) -> LoggerSpec {
        LoggerSpec {
            name: root.to_string(),
            level: if debug { Level::TRACE } else { Level::INFO },
            debuglevel: if debug { 99 } else { 0 },
            outputs: vec![OutputSpec::Stdout],
        }
    }
}

/// Parses Kea's severity names (FATAL, ERROR, WARN, INFO, DEBUG, NONE).
pub fn parse_severity(s: &str) -> Option<Option<Level>> {
    match s {
        "FATAL" | "ERROR" => Some(Some(Level::ERROR)),
        "WARN" => Some(Some(Level::WARN)),
        "INFO" => Some(Some(Level::INFO)),
        "DEBUG" => Some(Some(Level::TRACE)),
        "NONE" => Some(None),
        _ => None,
    }
}

enum Sink {
    Stdout,
    Stderr,
    Syslog { ident: String, sock: Option<UnixDatagram> },
    File { path: PathBuf, file: Option<File>, size: u64, maxsize: u64, maxver: u32, flush: bool },
}

impl Sink {
    fn open(spec: &OutputSpec) -> std::io::Result<Sink> {
        Ok(match spec {
            OutputSpec::Stdout => Sink::Stdout,
            OutputSpec::Stderr => Sink::Stderr,
            OutputSpec::Syslog(ident) => {
                let sock = UnixDatagram::unbound().ok().filter(|s| s.connect("/dev/log").is_ok());
                Sink::Syslog { ident: ident.clone(), sock }
            }
            OutputSpec::File { path, maxsize, maxver, flush } => {
                let file = open_log_file(path)?;
                let size = file.metadata().map_or(0, |m| m.len());
                Sink::File {
                    path: path.clone(),
                    file: Some(file),
                    size,
                    maxsize: *maxsize,
                    maxver: *maxver,
                    flush: *flush,
                }
            }
        })
    }

    fn write(&mut self, line: &str, level: Level) {
        // Logging must never take the server down: write errors are ignored on purpose.
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Sink::Syslog { ident, sock } => {
                let sev = match level {
                    Level::ERROR => 3,
                    Level::WARN => 4,
                    Level::INFO => 6,
                    _ => 7,
                };
                // Facility local7 (23) like log4cplus' default for Kea's syslog appender.
                let msg = format!("<{}>{}[{}]: {}", 23 * 8 + sev, ident, std::process::id(), line);
                if let Some(s) = sock {
                    let _ = s.send(msg.as_bytes());
                }
            }
            Sink::File { path, file, size, maxsize, maxver, flush } => {
                let n = line.len() as u64 + 1;
                if *maxsize > 0 && *size + n > *maxsize && *size > 0 {
                    rotate(path, file.as_ref(), *maxver);
                    *file = open_log_file(path).ok();
                    *size = 0;
                }
                if let Some(f) = file {
                    if writeln!(f, "{line}").is_ok() {
                        *size += n;
                    }
                    if *flush {
                        let _ = f.flush();
                    }
                }
            }
        }
    }
}

/// Opens a log file for appending: never through a symlink, and only a regular file (a FIFO
/// or device at the path is refused instead of blocking or writing into it).
fn open_log_file(path: &std::path::Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(f)
}

/// Renames `f.N-1` to `f.N` ... `f` to `f.1`, dropping the oldest, as log4cplus does. Only
/// the file this sink has open is rotated: when the path now names another file, nothing is
/// renamed or removed. With `maxver` 0 the open file is emptied in place, never unlinked.
fn rotate(path: &std::path::Path, open: Option<&File>, maxver: u32) {
    use std::os::unix::fs::MetadataExt;
    let Some(open) = open else { return };
    let ours = |m: &std::fs::Metadata| open.metadata().is_ok_and(|o| o.dev() == m.dev() && o.ino() == m.ino());
    if !std::fs::symlink_metadata(path).is_ok_and(|m| ours(&m)) {
        return;
    }
    let name = |i: u32| PathBuf::from(format!("{}.{i}", path.display()));
    if maxver == 0 {
        let _ = open.set_len(0);
        return;
    }
    let _ = std::fs::remove_file(name(maxver));
    for i in (1..maxver).rev() {
        let _ = std::fs::rename(name(i), name(i + 1));
    }
    let _ = std::fs::rename(path, name(1));
}

struct ActiveLogger {
    spec: LoggerSpec,
    sinks: Vec<Mutex<Sink>>,
}

/// The set of active loggers; swapped atomically on reconfiguration (SIGHUP, config-set).
#[derive(Clone, Default)]
pub struct KeaLoggers {
    inner: Arc<RwLock<Vec<ActiveLogger>>>,
}

impl std::fmt::Debug for KeaLoggers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeaLoggers").finish_non_exhaustive()
    }
}

impl KeaLoggers {
    /// Replaces the configured loggers (Kea re-applies `loggers` on every reconfiguration).
    /// Every output is opened first: when one cannot be, nothing changes and the reason is
    /// returned, so a configuration is never half applied.
    pub fn configure(&self, specs: &[LoggerSpec]) -> Result<(), String> {
        let mut active = Vec::with_capacity(specs.len());
        for s in specs {
            let mut sinks = Vec::with_capacity(s.outputs.len());
            for o in &s.outputs {
                let sink = Sink::open(o).map_err(|e| match o {
                    OutputSpec::File { path, .. } => format!("cannot open log file {}: {e}", path.display()),
                    _ => e.to_string(),
                })?;
                sinks.push(Mutex::new(sink));
            }
            active.push(ActiveLogger { spec: s.clone(), sinks });
        }
        if let Ok(mut g) = self.inner.write() {
            *g = active;
        }
        // Callsites cache whether they are enabled; new loggers may change the answer.
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    }

    /// The tracing layer that writes through these loggers.
    pub fn layer(&self) -> KeaLayer {
        KeaLayer { loggers: self.clone() }
    }
}

/// A `tracing` layer routing events to Kea-style loggers by target name.
#[derive(Debug)]
pub struct KeaLayer {
    loggers: KeaLoggers,
}

/// The most specific logger whose name is the target or one of its parents.
fn best_match<'a>(loggers: &'a [ActiveLogger], target: &str) -> Option<&'a ActiveLogger> {
    loggers
        .iter()
        .filter(|l| {
            target == l.spec.name || target.strip_prefix(l.spec.name.as_str()).is_some_and(|r| r.starts_with('.'))
        })
        .max_by_key(|l| l.spec.name.len())
}

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

fn severity_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN ",
        Level::INFO => "INFO ",
        _ => "DEBUG",
    }
}

impl<S: Subscriber> Layer<S> for KeaLayer {
    /// Events no logger would write are not even built (their arguments, such as the packet
    /// identification strings, are never formatted).
    fn enabled(&self, meta: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        let Ok(loggers) = self.loggers.inner.read() else { return true };
        best_match(&loggers, meta.target()).is_some_and(|l| *meta.level() <= l.spec.level)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Ok(loggers) = self.loggers.inner.read() else { return };
        let meta = event.metadata();
        let Some(logger) = best_match(&loggers, meta.target()) else { return };
        if *meta.level() > logger.spec.level {
            return;
        }
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let tid = std::thread::current().id();
        let tid = format!("{tid:?}");
        let tid: String = tid.chars().filter(char::is_ascii_digit).collect();
        let line = format!(
            "{} {} [{}/{}.{}] {}",
            clock::local_timestamp(),
            severity_name(meta.level()),
            meta.target(),
            std::process::id(),
            tid,
            v.0
        );
        for sink in &logger.sinks {
            if let Ok(mut s) = sink.lock() {
                s.write(&line, *meta.level());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_logger_wins() {
        let mk = |n: &str| ActiveLogger { spec: LoggerSpec::default_for(n, false), sinks: vec![] };
        let ls = vec![mk("kea-dhcp4"), mk("kea-dhcp4.packets")];
        assert_eq!(best_match(&ls, "kea-dhcp4.packets").map(|l| l.spec.name.as_str()), Some("kea-dhcp4.packets"));
        assert_eq!(best_match(&ls, "kea-dhcp4.dhcp4").map(|l| l.spec.name.as_str()), Some("kea-dhcp4"));
        assert!(best_match(&ls, "kea-dhcp4x").is_none());
        assert!(best_match(&ls, "kea-dhcp6.dhcp6").is_none());
    }

    #[test]
    fn file_output_rotates_at_maxsize() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.log");
        let mut s = Sink::open(&OutputSpec::File { path: path.clone(), maxsize: 100, maxver: 2, flush: true }).unwrap();
        for i in 0..10 {
            s.write(&format!("line {i:02} {}", "x".repeat(30)), Level::INFO);
        }
        assert!(path.exists());
        assert!(dir.path().join("k.log.1").exists());
        assert!(dir.path().join("k.log.2").exists());
        assert!(!dir.path().join("k.log.3").exists());
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
    }

    #[test]
    fn rotation_never_deletes_a_file_it_did_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.log");
        let spec = OutputSpec::File { path: path.clone(), maxsize: 1, maxver: 0, flush: true };
        let mut s = Sink::open(&spec).unwrap();
        s.write("first", Level::INFO);
        s.write("second", Level::INFO);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second\n", "maxver 0 empties its own file");
        // Someone replaces the file: rotation leaves the newcomer alone.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "precious\n").unwrap();
        s.write("third", Level::INFO);
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("precious"));
        // A FIFO or a symlink is never opened as a log file.
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(Sink::open(&OutputSpec::File { path: fifo, maxsize: 0, maxver: 0, flush: true }).is_err());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(Sink::open(&OutputSpec::File { path: link, maxsize: 0, maxver: 0, flush: true }).is_err());
    }

    #[test]
    fn severities() {
        assert_eq!(parse_severity("WARN"), Some(Some(Level::WARN)));
        assert_eq!(parse_severity("NONE"), Some(None));
        assert_eq!(parse_severity("LOUD"), None);
    }
}
