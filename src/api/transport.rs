//! The control-channel transports: the unix stream socket and the HTTP/HTTPS listeners of the
//! daemons (`control-socket(s)`) and of the Control Agent (Kea ARM 7.2, 7.4, 18.3). They only
//! move bytes: framing, limits, timeouts and authentication live here, commands do not.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

use super::auth::BasicAuth;
use super::tls::{self, TlsFiles};
use super::{Dispatch, Listener, Response};
use crate::config::model::HttpChannel;

/// Kea's fixed control-connection timeout (Kea ARM 18.3; `TIMEOUT_AGENT_RECEIVE_COMMAND`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest accepted command (Kea ARM 18.3 sets none). `config-set` carries a whole
/// configuration, and ones with tens of thousands of reservations pass 1 MiB, so the cap only
/// guards memory against runaway clients.
pub const DEFAULT_MAX_REQUEST: usize = 16 << 20;
/// Open connections per listener before idle ones are evicted (Kea ARM 18.3 sets no cap; one
/// is needed so idle sockets cannot exhaust descriptors).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Largest secret, certificate or key file read for a control listener (Kea ARM 7.2, 7.4).
pub const MAX_CONFIG_FILE: u64 = 1 << 20;

/// Per-connection limits of a control channel (Kea ARM 18.3: fixed 10 s timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send its request headers and body (and, over TLS, to
    /// finish the handshake).
    pub timeout: Duration,
    /// Largest request body in bytes.
    pub max_request: usize,
    /// Open connections per listener; at the cap the oldest idle one is closed for a new one,
    /// and a new one is refused when all are mid-request.
    pub max_connections: usize,
    /// How long a connection may sit idle (before its first request or between keep-alive
    /// requests) before it is closed; the header timeout (`timeout`) bounds it too.
    pub idle_timeout: Duration,
    /// How long a response write may make no progress (a client that stopped reading).
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            max_request: DEFAULT_MAX_REQUEST,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_TIMEOUT,
            write_timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why a control listener could not be set up (Kea ARM 7.2).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The listener parameters are invalid.
    #[error("{0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot bind control channel to {addr}: {source}")]
    Bind {
        /// The address tried.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// The certificate, key or trust anchor could not be loaded.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// Reads a secret, certificate or key file named by a control listener (Kea ARM 7.2, 7.4)
/// without ever blocking: it is opened non-blocking so a FIFO cannot stall the open, and
/// anything but a regular file of at most [`MAX_CONFIG_FILE`] bytes is refused.
pub fn read_config_file(path: &Path) -> Result<Vec<u8>, String> {
    crate::safefs::read_regular_file(path, MAX_CONFIG_FILE).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => format!("'{}' is not a regular file", path.display()),
        _ => format!("failed to read file '{}': {e}", path.display()),
    })
}

/// Resolves once shutdown is requested; a dropped sender counts as a request, since nobody
/// could ask any more.
async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Accept errors such as EMFILE repeat immediately; a short pause keeps the loop from spinning.
async fn accept_backoff(err: &io::Error) {
    tracing::warn!(error = %err, "control channel accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

// ---------------------------------------------------------------------------------------------
// Connection accounting: the cap, idle eviction, idle and write timeouts
// ---------------------------------------------------------------------------------------------

/// One open connection as the accept loop sees it.
#[derive(Debug)]
struct ConnState {
    /// Request bytes have arrived and the answer is not fully handed over yet.
    busy: AtomicBool,
    /// When the connection last went idle (or opened), for the idle timeout.
    idle_since: Mutex<Instant>,
    /// Told when the connection was evicted to make room for a new one.
    kill: Notify,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState {
            busy: AtomicBool::new(false),
            idle_since: Mutex::new(crate::clock::monotonic_now()),
            kill: Notify::new(),
        }
    }

    fn set_busy(&self) {
        self.busy.store(true, Ordering::Release);
    }

    fn set_idle(&self) {
        *self.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = crate::clock::monotonic_now();
        self.busy.store(false, Ordering::Release);
    }

    /// Resolves when the connection has been idle for `limit`; busy time does not count.
    async fn idle_expired(&self, limit: Duration) {
        loop {
            let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
            let deadline = since + limit;
            if !self.busy.load(Ordering::Acquire) && crate::clock::monotonic_now() >= deadline {
                return;
            }
            // While busy, look again later: the request itself has its own timeouts.
            let wake = deadline.max(crate::clock::monotonic_now() + limit.min(Duration::from_secs(1)));
            tokio::time::sleep_until(wake.into()).await;
        }
    }
}

/// The open connections of one listener, in accept order.
#[derive(Debug, Default)]
struct Tracker {
    inner: Mutex<TrackerInner>,
    /// Request bytes held by this listener's connections (see [`MAX_BUFFERED`]).
    buffered: AtomicUsize,
}

#[derive(Debug, Default)]
struct TrackerInner {
    next: u64,
    conns: BTreeMap<u64, Arc<ConnState>>,
}

/// A connection's place in its listener's [`Tracker`]; leaving drops it.
struct Admitted {
    tracker: Arc<Tracker>,
    id: u64,
    state: Arc<ConnState>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.tracker.inner.lock().unwrap_or_else(|e| e.into_inner()).conns.remove(&self.id);
    }
}

impl Tracker {
    /// Makes room for a new connection: under the cap it just joins; at the cap the oldest
    /// idle connection is told to close, or, when every connection is mid-request, the oldest
    /// one. A real command takes milliseconds, so the oldest connections are the stalled ones:
    /// neither idle sockets nor requests trickled a byte at a time can lock out a real command.
    fn admit(self: &Arc<Tracker>, max: usize) -> Option<Admitted> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.conns.len() >= max.max(1) {
            let idle = inner.conns.iter().find(|(_, c)| !c.busy.load(Ordering::Acquire)).map(|(id, _)| *id);
            let victim = idle.or_else(|| inner.conns.keys().next().copied())?;
            if let Some(c) = inner.conns.remove(&victim) {
                c.kill.notify_one();
            }
        }
        let id = inner.next;
        inner.next += 1;
        let state = Arc::new(ConnState::new());
        inner.conns.insert(id, state.clone());
        Some(Admitted { tracker: self.clone(), id, state })
    }
}

/// The open connections of a listener, for monitoring and tests (Kea ARM 18.3).
#[derive(Debug, Clone)]
pub struct Connections(Arc<Tracker>);

impl Connections {
    /// How many connections are open and not evicted.
    pub fn open(&self) -> usize {
        self.0.inner.lock().unwrap_or_else(|e| e.into_inner()).conns.len()
    }
}

/// A connection's byte stream that marks the connection busy when request bytes arrive and
/// fails a write that makes no progress for `write_timeout`, so a client that stops reading
/// cannot pin the task.
struct Tracked<S> {
    io: S,
    state: Arc<ConnState>,
    write_timeout: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Tracked<S> {
    fn new(io: S, state: Arc<ConnState>, write_timeout: Duration) -> Tracked<S> {
        Tracked { io, state, write_timeout, stall: None }
    }

    fn progress<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.stall = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.write_timeout;
                let stall = self.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading its response",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.set_busy();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.progress(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.progress(cx, r)
    }
}

/// The settings a listener reads per connection, swapped whole when a new configuration keeps
/// the endpoint (Kea ARM 8.8 config-set).
struct Slot<T>(RwLock<Arc<T>>);

impl<T> Slot<T> {
    fn new(v: T) -> Slot<T> {
        Slot(RwLock::new(Arc::new(v)))
    }

    fn get(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, v: T) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(v);
    }
}

// ---------------------------------------------------------------------------------------------
// Unix socket
// ---------------------------------------------------------------------------------------------

/// What a unix listener applies to each connection.
struct UnixSettings {
    limits: Limits,
    listener: Listener,
}

/// A bound control unix socket, not yet serving (Kea ARM 18.3 `socket-name`).
pub struct BoundUnix {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file we created, so we never unlink a successor's.
    ident: Option<(u64, u64)>,
    /// `<socket-name>.lock`, held with flock while we serve, as Kea does: it marks the socket
    /// as ours, so a later start may replace it if we die without cleaning up.
    _lock: nix::fcntl::Flock<std::fs::File>,
    /// Where the lock file is, removed with the socket on a clean close.
    lock_path: PathBuf,
    settings: Arc<Slot<UnixSettings>>,
    tracker: Arc<Tracker>,
}

impl std::fmt::Debug for BoundUnix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundUnix").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Changes the settings of a serving unix listener (Kea ARM 8.8 config-set).
#[derive(Clone)]
pub struct UnixHandle(Arc<Slot<UnixSettings>>);

impl std::fmt::Debug for UnixHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixHandle").finish_non_exhaustive()
    }
}

impl UnixHandle {
    /// New connections use these limits and are routed as `listener` (Kea ARM 8.8.1).
    pub fn update(&self, limits: Limits, listener: Listener) {
        self.0.set(UnixSettings { limits, listener });
    }
}

/// Checks (or creates) the directory of a control socket (Kea 3.0 ARM "Kea Security": the
/// socket directory must not be wider than 0750). With `restrictions` off a wider directory
/// is only warned about.
pub fn check_socket_dir(path: &Path, restrictions: bool) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            // create_dir_all honours the umask; the socket directory must be 0750 whatever it is.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))
        }
        Err(e) => Err(e),
        Ok(m) if !m.is_dir() => {
            Err(io::Error::new(io::ErrorKind::NotADirectory, format!("'{}' is not a directory", dir.display())))
        }
        Ok(m) => {
            let mode = m.permissions().mode() & 0o7777;
            if mode & 0o027 == 0 {
                return Ok(());
            }
            let d = dir.display();
            let text = format!(
                "socket directory '{d}' has permissions {mode:04o}, which are wider than 0750; run 'chmod 750 {d}' or set KEA_CONTROL_SOCKET_DIR to a directory with mode 0750 or narrower"
            );
            if restrictions {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, text));
            }
            tracing::warn!(target: "kea-dhcp4.commands", "COMMAND_UNIX_SOCKET_PERMISSIONS_SECURITY_WARNING {text}");
            Ok(())
        }
    }
}

/// The lock file beside a control socket, opened (created if needed) and locked; the flag says
/// whether it existed before, i.e. whether an earlier kakapo or Kea made it.
fn lock_socket(path: &Path) -> io::Result<(nix::fcntl::Flock<std::fs::File>, bool, PathBuf)> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let open = |create: bool| {
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK).mode(0o600);
        if create {
            o.create_new(true);
        }
        o.open(&lock_path)
    };
    let (file, existed) = match open(false) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match open(true) {
            Ok(f) => (f, false),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (open(false)?, true),
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let lock_err = |e: io::Error| io::Error::new(e.kind(), format!("lock file '{}': {e}", lock_path.display()));
    if !file.metadata().map_err(lock_err)?.file_type().is_file() {
        return Err(io::Error::other(format!("lock file '{}' is not a regular file", lock_path.display())));
    }
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok((lock, existed, lock_path)),
        Err((_, errno)) => {
            if !existed {
                let _ = std::fs::remove_file(&lock_path);
            }
            Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another process holds the lock file '{}' of control socket {}: {errno}",
                    lock_path.display(),
                    path.display()
                ),
            ))
        }
    }
}

/// Binds the control unix socket at `path` (Kea ARM 18.3, Kea 3.0 "Kea Security"): checks
/// the directory (see [`check_socket_dir`]), takes the `<path>.lock` lock, and replaces an
/// existing file only when it is a stale socket left by an earlier instance; the socket is
/// made 0750. Must be called inside a tokio runtime; does blocking file-system calls.
pub fn bind_unix(path: PathBuf, restrictions: bool) -> io::Result<BoundUnix> {
    check_socket_dir(&path, restrictions)?;
    let (lock, lock_existed, lock_path) = lock_socket(&path)?;
    let fail = |e: io::Error| {
        if !lock_existed {
            let _ = std::fs::remove_file(&lock_path);
        }
        e
    };
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(fail(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("'{}' exists and is not a socket; refusing to replace it", path.display()),
            )));
        }
        Ok(_) => {
            // A file that still accepts connections belongs to a live server: taking it over
            // would silently cut that server off its control channel.
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(fail(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("another process is listening on {}", path.display()),
                )));
            }
            // Only a socket whose lock file an earlier kakapo or Kea left behind is ours to
            // remove; anything else may belong to another program.
            if !lock_existed {
                return Err(fail(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "stale socket '{}' was not left by kakapo or Kea (no '{}'); remove it by hand",
                        path.display(),
                        lock_path.display()
                    ),
                )));
            }
            std::fs::remove_file(&path).map_err(fail)?;
        }
    }
    let listener = UnixListener::bind(&path).map_err(fail)?;
    let ident = std::fs::symlink_metadata(&path).ok().map(|m| (m.dev(), m.ino()));
    // Not for others: the control channel can reconfigure the server.
    if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)) {
        let _ = std::fs::remove_file(&path);
        return Err(fail(e));
    }
    let settings = Arc::new(Slot::new(UnixSettings { limits: Limits::default(), listener: Listener::Agent }));
    Ok(BoundUnix { listener, path, ident, _lock: lock, lock_path, settings, tracker: Arc::default() })
}

/// Binds and serves the control unix socket until `shutdown` turns true (Kea ARM 18.3).
pub async fn serve_unix(
    path: PathBuf,
    restrictions: bool,
    dispatch: Arc<dyn Dispatch>,
    listener: Listener,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    bind_unix(path, restrictions)?.serve(dispatch, listener, shutdown).await
}

impl BoundUnix {
    /// Replaces the default limits (Kea ARM 18.3).
    pub fn with_limits(self, limits: Limits) -> BoundUnix {
        let listener = self.settings.get().listener.clone();
        self.settings.set(UnixSettings { limits, listener });
        self
    }

    /// The socket file (Kea ARM 18.3 `socket-name`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the settings while serving (Kea ARM 8.8 config-set).
    pub fn handle(&self) -> UnixHandle {
        UnixHandle(self.settings.clone())
    }

    /// The open connections (Kea ARM 18.3).
    pub fn connections(&self) -> Connections {
        Connections(self.tracker.clone())
    }

    /// Serves one command per connection until `shutdown` turns true, then removes the socket
    /// file (Kea ARM 18.3).
    pub async fn serve(
        self,
        dispatch: Arc<dyn Dispatch>,
        listener: Listener,
        mut shutdown: watch::Receiver<bool>,
    ) -> io::Result<()> {
        let limits = self.settings.get().limits;
        self.settings.set(UnixSettings { limits, listener });
        loop {
            tokio::select! {
                _ = wait_shutdown(&mut shutdown) => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let settings = self.settings.get();
                        let Some(admitted) = self.tracker.admit(settings.limits.max_connections) else {
                            tracing::debug!("control socket connection refused: every connection is busy");
                            continue;
                        };
                        let dispatch = dispatch.clone();
                        tokio::spawn(async move {
                            let state = admitted.state.clone();
                            let stream = Tracked::new(stream, state.clone(), settings.limits.write_timeout);
                            tokio::select! {
                                _ = handle_unix(stream, dispatch, &settings.listener, settings.limits, admitted.tracker.clone()) => {}
                                _ = state.kill.notified() => {}
                            }
                            drop(admitted);
                        });
                    }
                    Err(e) => accept_backoff(&e).await,
                },
            }
        }
        Ok(())
    }
}

impl Drop for BoundUnix {
    fn drop(&mut self) {
        let current = std::fs::symlink_metadata(&self.path).ok().map(|m| (m.dev(), m.ino()));
        if current.is_some() && current == self.ident {
            let _ = std::fs::remove_file(&self.path);
            // Unlinked while still locked: a lock file left behind would later vouch for
            // whatever socket someone else puts at this path. (A crash leaves both, and the
            // next start may then replace the stale socket.)
            let _ = std::fs::remove_file(&self.lock_path);
        }
    }
}

/// Tracks where a JSON text ends without parsing it, like Kea's `JSONFeed`: braces and brackets
/// outside strings and comments (`#`, `//`, `/* */`, accepted by Kea since 1.9.7).
#[derive(Debug, Default)]
struct JsonFeed {
    depth: usize,
    started: bool,
    in_string: bool,
    escape: bool,
    line_comment: bool,
    block_comment: bool,
    slash: bool,
    star: bool,
    consumed: usize,
}

/// Where the request stands after some bytes.
#[derive(Debug, PartialEq, Eq)]
enum Feed {
    /// More bytes are needed.
    Partial,
    /// The request ends after this many bytes.
    Complete(usize),
    /// Not JSON; the dispatcher reports the parse error.
    Invalid,
}

impl JsonFeed {
    fn feed(&mut self, bytes: &[u8]) -> Feed {
        for &b in bytes {
            self.consumed += 1;
            if self.line_comment {
                self.line_comment = b != b'\n';
                continue;
            }
            if self.block_comment {
                if self.star && b == b'/' {
                    self.block_comment = false;
                }
                self.star = b == b'*';
                continue;
            }
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            if self.slash {
                self.slash = false;
                match b {
                    b'/' => {
                        self.line_comment = true;
                        continue;
                    }
                    b'*' => {
                        self.block_comment = true;
                        self.star = false;
                        continue;
                    }
                    _ => return Feed::Invalid,
                }
            }
            match b {
                b'#' => self.line_comment = true,
                b'/' => self.slash = true,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'{' | b'[' => {
                    self.started = true;
                    self.depth += 1;
                }
                _ if !self.started => return Feed::Invalid,
                b'"' => self.in_string = true,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Feed::Complete(self.consumed);
                    }
                }
                _ => {}
            }
        }
        Feed::Partial
    }
}

/// Request bytes the connections of one listener together may hold in memory at once: one
/// command of the maximum size always fits, but many connections each feeding a huge command
/// cannot add up to gigabytes.
pub const MAX_BUFFERED: usize = 4 * DEFAULT_MAX_REQUEST;

/// A share of its listener's [`MAX_BUFFERED`] held by one request while it is read and handled.
struct Buffered {
    tracker: Arc<Tracker>,
    taken: usize,
}

impl Buffered {
    fn new(tracker: Arc<Tracker>) -> Buffered {
        Buffered { tracker, taken: 0 }
    }

    /// Takes `n` more bytes of the budget; false (and nothing taken) when it is spent.
    fn take(&mut self, n: usize) -> bool {
        let prev = self.tracker.buffered.fetch_add(n, Ordering::AcqRel);
        if prev.saturating_add(n) > MAX_BUFFERED {
            self.tracker.buffered.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        self.taken += n;
        true
    }
}

impl Drop for Buffered {
    fn drop(&mut self) {
        self.tracker.buffered.fetch_sub(self.taken, Ordering::AcqRel);
    }
}

/// Why reading a unix request stopped early.
enum ReadError {
    TooLarge,
    Busy,
    Io(io::Error),
}

/// Reads until the JSON value is complete or the client half-closes: `socat ... ,ignoreeof`
/// and kea-shell keep the socket open while waiting, shell pipes close it.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    max: usize,
    budget: &mut Buffered,
) -> Result<(), ReadError> {
    let mut feed = JsonFeed::default();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() + n > max {
            return Err(ReadError::TooLarge);
        }
        if !budget.take(n) {
            return Err(ReadError::Busy);
        }
        let start = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        match feed.feed(&buf[start..]) {
            Feed::Partial => {}
            Feed::Complete(end) => {
                // A second command in the same write is not ours to run; Kea ignores it too.
                buf.truncate(end);
                return Ok(());
            }
            Feed::Invalid => return Ok(()),
        }
    }
}

async fn handle_unix<S>(
    mut stream: S,
    dispatch: Arc<dyn Dispatch>,
    listener: &Listener,
    limits: Limits,
    tracker: Arc<Tracker>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    let mut budget = Buffered::new(tracker);
    let read =
        tokio::time::timeout(limits.timeout, read_request(&mut stream, &mut buf, limits.max_request, &mut budget))
            .await;
    let response = match read {
        Err(_) => {
            let mut text = "Connection over control channel timed out".to_string();
            if !buf.is_empty() {
                text.push_str(&format!(", discarded partial command of {} bytes", buf.len()));
            }
            Response::error(text)
        }
        Ok(Err(ReadError::TooLarge)) => {
            Response::error(format!("command too large: the limit is {} bytes", limits.max_request))
        }
        Ok(Err(ReadError::Busy)) => {
            Response::error("server busy: too many large commands are being received; try again")
        }
        Ok(Err(ReadError::Io(e))) => {
            tracing::debug!(error = %e, "control socket read failed");
            return;
        }
        // Connected and left without a word: nothing to answer.
        Ok(Ok(())) if buf.iter().all(u8::is_ascii_whitespace) => return,
        Ok(Ok(())) => {
            let mut responses = dispatch.dispatch(&buf, listener).await;
            if responses.is_empty() {
                Response::error("no response from the command handler")
            } else {
                responses.swap_remove(0)
            }
        }
    };
    // Printed as Kea prints it: a bare object on the unix socket.
    let body = super::kea_json::to_string(&serde_json::to_value(&response).unwrap_or_default()).into_bytes();
    // The stream fails a write that makes no progress for the write timeout, so a client that
    // stops reading cannot pin the task.
    let write = async {
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    if let Err(e) = write.await {
        tracing::debug!(error = %e, "control socket write failed");
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP / HTTPS
// ---------------------------------------------------------------------------------------------

/// An HTTP(S) control listener's settings (Kea ARM 7.2, 7.4; 3.0 `control-sockets` http/https).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `socket-address` / `http-host`.
    pub address: IpAddr,
    /// `socket-port` / `http-port`; 0 picks a free port.
    pub port: u16,
    /// Present for HTTPS.
    pub tls: Option<TlsFiles>,
    /// Present when `authentication.clients` is not empty.
    pub auth: Option<BasicAuth>,
    /// `http-headers` added to every response.
    pub headers: Vec<(String, String)>,
    /// Realm sent in `WWW-Authenticate`.
    pub realm: String,
    /// Timeouts and size caps.
    pub limits: Limits,
}

impl HttpConfig {
    /// Plain HTTP on `address:port` with no authentication (Kea ARM 7.2).
    pub fn new(address: IpAddr, port: u16, realm: impl Into<String>) -> HttpConfig {
        HttpConfig {
            address,
            port,
            tls: None,
            auth: None,
            headers: Vec::new(),
            realm: realm.into(),
            limits: Limits::default(),
        }
    }

    /// The listener of a validated HTTP(S) channel (Kea 3.0 ARM 8.8 `control-sockets`, Kea ARM
    /// 7.2 `Control-agent`): TLS (7.4), basic authentication (7.2, its secret files read
    /// here) and extra headers.
    pub fn from_channel(ch: &HttpChannel, default_realm: &str) -> Result<HttpConfig, String> {
        let mut cfg = HttpConfig::new(ch.address, ch.port, default_realm);
        cfg.tls = ch.tls.as_ref().map(|t| TlsFiles {
            trust_anchor: t.trust_anchor.clone(),
            cert_file: t.cert_file.clone(),
            key_file: t.key_file.clone(),
            cert_required: t.cert_required,
        });
        if let Some(auth) = &ch.auth {
            let (realm, auth) = BasicAuth::from_config(auth, default_realm)?;
            cfg.realm = realm;
            cfg.auth = auth;
        }
        cfg.headers = ch.headers.clone();
        Ok(cfg)
    }

    /// [`Self::from_channel`] for a channel map alone, read as the configuration loader reads
    /// it (see [`HttpChannel::from_json`]).
    pub fn from_params(params: &Value, default_realm: &str) -> Result<HttpConfig, String> {
        HttpConfig::from_channel(&HttpChannel::from_json(params)?, default_realm)
    }
}

/// An HTTP(S) listener's prepared settings: TLS material loaded, headers and realm checked,
/// secrets read (Kea ARM 7.2, 7.4). Made before a configuration is committed, so a bad file
/// fails the configuration instead of the listener.
#[derive(Clone)]
pub struct HttpSettings {
    tls: Option<TlsAcceptor>,
    auth: Option<BasicAuth>,
    challenge: HeaderValue,
    headers: Vec<(HeaderName, HeaderValue)>,
    limits: Limits,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl HttpSettings {
    /// Whether the listener speaks HTTPS (Kea ARM 7.4).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// Loads the TLS material and checks the headers and realm of `cfg` without binding anything
/// (Kea ARM 7.2, 7.4). Reads files: call it off the async runtime threads.
pub fn prepare_http(cfg: &HttpConfig) -> Result<HttpSettings, TransportError> {
    let tls = match &cfg.tls {
        None => None,
        Some(files) => Some(TlsAcceptor::from(tls::server_config(files).map_err(TransportError::Tls)?)),
    };
    let mut headers = Vec::with_capacity(cfg.headers.len());
    for (name, value) in &cfg.headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TransportError::Config(format!("invalid http-headers name '{name}'")))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| TransportError::Config(format!("invalid http-headers value for '{name}'")))?;
        headers.push((n, v));
    }
    let challenge = HeaderValue::from_str(&format!("Basic realm=\"{}\"", cfg.realm))
        .map_err(|_| TransportError::Config(format!("invalid authentication realm '{}'", cfg.realm)))?;
    Ok(HttpSettings { tls, auth: cfg.auth.clone(), challenge, headers, limits: cfg.limits })
}

/// What a serving HTTP listener reads per connection and per request.
struct HttpState {
    settings: HttpSettings,
    listener: Listener,
}

/// A bound HTTP(S) listener, not yet serving (Kea ARM 7.2).
pub struct BoundHttp {
    listener: TcpListener,
    local: SocketAddr,
    state: Arc<Slot<HttpState>>,
    tracker: Arc<Tracker>,
}

impl std::fmt::Debug for BoundHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundHttp").field("local", &self.local).field("tls", &self.is_tls()).finish()
    }
}

/// Changes the settings of a serving HTTP(S) listener (Kea ARM 8.8 config-set): new
/// connections use the new TLS setup and limits, every request after the change the new
/// authentication and headers.
#[derive(Clone)]
pub struct HttpHandle(Arc<Slot<HttpState>>);

impl std::fmt::Debug for HttpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpHandle").finish_non_exhaustive()
    }
}

impl HttpHandle {
    /// Installs prepared settings, routing as `listener` (Kea ARM 8.8.1).
    pub fn update(&self, settings: HttpSettings, listener: Listener) {
        self.0.set(HttpState { settings, listener });
    }
}

/// Loads TLS material and binds the listener, so configuration errors surface before serving
/// (Kea ARM 7.2, 7.4). Must be called inside a tokio runtime.
pub fn bind_http(cfg: HttpConfig) -> Result<BoundHttp, TransportError> {
    let settings = prepare_http(&cfg)?;
    bind_http_prepared(SocketAddr::new(cfg.address, cfg.port), settings)
}

/// Binds `addr` for already prepared settings (Kea ARM 7.2). Must be called inside a tokio
/// runtime.
pub fn bind_http_prepared(addr: SocketAddr, settings: HttpSettings) -> Result<BoundHttp, TransportError> {
    let bind_err = |source| TransportError::Bind { addr: addr.to_string(), source };
    let std_listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
    std_listener.set_nonblocking(true).map_err(bind_err)?;
    let local = std_listener.local_addr().map_err(bind_err)?;
    let listener = TcpListener::from_std(std_listener).map_err(bind_err)?;
    let state = Arc::new(Slot::new(HttpState { settings, listener: Listener::Agent }));
    Ok(BoundHttp { listener, local, state, tracker: Arc::default() })
}

/// Binds and serves an HTTP(S) control listener until `shutdown` turns true (Kea ARM 7.2).
pub async fn serve_http(
    cfg: HttpConfig,
    dispatch: Arc<dyn Dispatch>,
    listener: Listener,
    shutdown: watch::Receiver<bool>,
) -> Result<(), TransportError> {
    bind_http(cfg)?.serve(dispatch, listener, shutdown).await
}

impl BoundHttp {
    /// The bound address, with the real port when 0 was asked for (Kea ARM 7.2).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Whether the listener speaks HTTPS (Kea ARM 7.4).
    pub fn is_tls(&self) -> bool {
        self.state.get().settings.is_tls()
    }

    /// Changes the settings while serving (Kea ARM 8.8 config-set).
    pub fn handle(&self) -> HttpHandle {
        HttpHandle(self.state.clone())
    }

    /// The open connections (Kea ARM 7.2).
    pub fn connections(&self) -> Connections {
        Connections(self.tracker.clone())
    }

    /// Accepts connections until `shutdown` turns true; open connections finish their current
    /// request (Kea ARM 7.2).
    pub async fn serve(
        self,
        dispatch: Arc<dyn Dispatch>,
        listener: Listener,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), TransportError> {
        // The listener kind is given here rather than at bind time.
        let settings = self.state.get().settings.clone();
        self.state.set(HttpState { settings, listener });
        loop {
            let (tcp, peer) = tokio::select! {
                _ = wait_shutdown(&mut shutdown) => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        accept_backoff(&e).await;
                        continue;
                    }
                },
            };
            let state = self.state.get();
            let limits = state.settings.limits;
            let Some(admitted) = self.tracker.admit(limits.max_connections) else {
                tracing::debug!(%peer, "control channel connection refused: every connection is busy");
                continue;
            };
            let ctx = Ctx {
                dispatch: dispatch.clone(),
                state: self.state.clone(),
                conn: admitted.state.clone(),
                tracker: admitted.tracker.clone(),
            };
            let shutdown = shutdown.clone();
            let tls = state.settings.tls.clone();
            drop(state);
            tokio::spawn(async move {
                let conn = admitted.state.clone();
                let io = Tracked::new(tcp, conn.clone(), limits.write_timeout);
                let served = async {
                    match tls {
                        None => serve_connection(io, ctx, limits, shutdown).await,
                        Some(acceptor) => match tokio::time::timeout(limits.timeout, acceptor.accept(io)).await {
                            Ok(Ok(stream)) => {
                                // Handshake bytes made it busy; a session waiting for its first
                                // request is as idle as a fresh plain connection.
                                conn.set_idle();
                                serve_connection(stream, ctx, limits, shutdown).await
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "control channel TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "control channel TLS handshake timed out"),
                        },
                    }
                };
                tokio::select! {
                    _ = served => {}
                    _ = conn.kill.notified() => tracing::debug!(%peer, "idle control connection closed for a new one"),
                    _ = conn.idle_expired(limits.idle_timeout) => tracing::debug!(%peer, "idle control connection timed out"),
                }
                drop(admitted);
            });
        }
        Ok(())
    }
}

/// Everything one request needs.
#[derive(Clone)]
struct Ctx {
    dispatch: Arc<dyn Dispatch>,
    state: Arc<Slot<HttpState>>,
    conn: Arc<ConnState>,
    tracker: Arc<Tracker>,
}

async fn serve_connection<S>(io: S, ctx: Ctx, limits: Limits, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let ctx = ctx.clone();
        async move {
            let response = handle_http(req, &ctx).await;
            Ok::<_, Infallible>(response.map(|body| TrackedBody { inner: body, conn: ctx.conn.clone() }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The header timer also runs while a keep-alive connection idles, which cuts off both slow
    // senders and idle sockets.
    builder.timer(TokioTimer::new()).header_read_timeout(limits.timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = wait_shutdown(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(limits.timeout, conn).await.unwrap_or(Ok(()))
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "control channel HTTP connection ended");
    }
}

/// A response body that marks its connection idle once hyper has taken all of it, so the
/// connection becomes eligible for eviction only between requests.
struct TrackedBody {
    inner: Full<Bytes>,
    conn: Arc<ConnState>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.conn.set_idle();
    }
}

type HttpResponse = hyper::Response<Full<Bytes>>;

async fn handle_http(req: hyper::Request<Incoming>, ctx: &Ctx) -> HttpResponse {
    // One snapshot per request: a configuration change applies from the next request on.
    let state = ctx.state.get();
    let mut response = route(req, ctx, &state).await;
    for (name, value) in &state.settings.headers {
        response.headers_mut().append(name.clone(), value.clone());
    }
    response
}

/// Kea's stock error body: `{"result": <status>, "text": "<reason>"}`, never wrapped in a list.
fn error_response(status: StatusCode) -> HttpResponse {
    let body = serde_json::json!({
        "result": status.as_u16(),
        "text": status.canonical_reason().unwrap_or("Error"),
    });
    let mut response = hyper::Response::new(Full::new(Bytes::from(super::kea_json::to_string(&body))));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An error after which the connection's byte stream may hold an unread body.
fn closing_error(status: StatusCode) -> HttpResponse {
    let mut response = error_response(status);
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads a request body of at most `max` bytes, each byte counted against [`MAX_BUFFERED`].
async fn collect_body(mut body: Incoming, max: usize, budget: &mut Buffered) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Io(io::Error::other(e)))?;
        let Ok(data) = frame.into_data() else { continue };
        if out.len() + data.len() > max {
            return Err(ReadError::TooLarge);
        }
        if !budget.take(data.len()) {
            return Err(ReadError::Busy);
        }
        out.extend_from_slice(&data);
    }
    Ok(out)
}

async fn route(req: hyper::Request<Incoming>, ctx: &Ctx, state: &HttpState) -> HttpResponse {
    let shared = &state.settings;
    if let Some(auth) = &shared.auth {
        if !auth.check(req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes)) {
            let mut response = error_response(StatusCode::UNAUTHORIZED);
            response.headers_mut().insert(WWW_AUTHENTICATE, shared.challenge.clone());
            return response;
        }
    }
    if req.method() == Method::GET && req.uri().path() == "/metrics" {
        let mut response = hyper::Response::new(Full::new(Bytes::from(ctx.dispatch.metrics())));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
        return response;
    }
    // Kea answers every method but POST with 400, whatever the path.
    if req.method() != Method::POST {
        return closing_error(StatusCode::BAD_REQUEST);
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if declared > shared.limits.max_request as u64 {
        return closing_error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let mut budget = Buffered::new(ctx.tracker.clone());
    let body = collect_body(req.into_body(), shared.limits.max_request, &mut budget);
    let body = match tokio::time::timeout(shared.limits.timeout, body).await {
        Err(_) => return closing_error(StatusCode::REQUEST_TIMEOUT),
        Ok(Err(ReadError::TooLarge)) => return closing_error(StatusCode::PAYLOAD_TOO_LARGE),
        Ok(Err(ReadError::Busy)) => return closing_error(StatusCode::SERVICE_UNAVAILABLE),
        Ok(Err(ReadError::Io(_))) => return closing_error(StatusCode::BAD_REQUEST),
        Ok(Ok(collected)) => collected,
    };
    let responses = ctx.dispatch.dispatch(&body, &state.listener).await;
    // Printed as Kea's control agent prints it: a list of answers.
    let body = super::kea_json::to_string(&serde_json::to_value(&responses).unwrap_or_default()).into_bytes();
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serves one already-open plain HTTP connection over any byte stream until it closes, as a
/// listener built from `cfg` would (authentication, `http-headers`, limits; the address and
/// TLS settings are not used, and `http-headers` entries that `bind_http` would refuse are
/// left out). For tests and fuzzing without sockets.
pub async fn serve_io<S>(io: S, cfg: HttpConfig, dispatch: Arc<dyn Dispatch>, listener: Listener)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut cfg = cfg;
    cfg.tls = None;
    cfg.headers.retain(|(n, v)| HeaderName::from_bytes(n.as_bytes()).is_ok() && HeaderValue::from_str(v).is_ok());
    let Ok(settings) = prepare_http(&cfg) else { return };
    let limits = settings.limits;
    let tracker = Arc::<Tracker>::default();
    let Some(admitted) = tracker.admit(limits.max_connections) else { return };
    let conn = admitted.state.clone();
    let ctx = Ctx {
        dispatch,
        state: Arc::new(Slot::new(HttpState { settings, listener })),
        conn: conn.clone(),
        tracker: tracker.clone(),
    };
    // A dropped sender would read as a shutdown request; this one lives until the end.
    let (_keep, shutdown) = watch::channel(false);
    serve_connection(Tracked::new(io, conn, limits.write_timeout), ctx, limits, shutdown).await;
    drop(admitted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed_all(chunks: &[&[u8]]) -> Feed {
        let mut feed = JsonFeed::default();
        for c in chunks {
            match feed.feed(c) {
                Feed::Partial => {}
                done => return done,
            }
        }
        Feed::Partial
    }

    #[test]
    fn json_feed_finds_the_end() {
        assert_eq!(feed_all(&[b"{\"command\": \"x\"}"]), Feed::Complete(16));
        assert_eq!(feed_all(&[b" {\"a\": \"}\\\"\"", b", \"b\": [1, {}]}  trailing"]), Feed::Complete(27));
        assert_eq!(feed_all(&[b"# c {\n// {\n/* { */ {}"]), Feed::Complete(21));
        assert_eq!(feed_all(&[b"{\"command\": "]), Feed::Partial);
        assert_eq!(feed_all(&[b"hello"]), Feed::Invalid);
        assert_eq!(feed_all(&[b"/x"]), Feed::Invalid);
    }

    #[test]
    fn http_config_from_control_socket() {
        let cfg = HttpConfig::from_params(&json!({"socket-type": "http"}), "kea-dhcpv4-server").unwrap();
        assert_eq!(cfg.address, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        assert_eq!(cfg.port, 8000);
        assert!(cfg.tls.is_none() && cfg.auth.is_none());
        assert_eq!(cfg.realm, "kea-dhcpv4-server");

        let cfg = HttpConfig::from_params(
            &json!({
                "socket-type": "https", "socket-address": "::1", "socket-port": 8443,
                "trust-anchor": "/ca", "cert-file": "/c", "key-file": "/k", "cert-required": false,
                "authentication": {"type": "basic", "realm": "r", "clients": [{"user": "u", "password": "p"}]},
                "http-headers": [{"name": "X-A", "value": "b"}]
            }),
            "kea-dhcpv6-server",
        )
        .unwrap();
        assert_eq!(cfg.address, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(cfg.port, 8443);
        assert!(!cfg.tls.as_ref().unwrap().cert_required);
        assert!(cfg.auth.is_some());
        assert_eq!(cfg.realm, "r");
        assert_eq!(cfg.headers, vec![("X-A".to_string(), "b".to_string())]);
    }

    #[test]
    fn http_config_from_agent() {
        let cfg = HttpConfig::from_params(
            &json!({"http-host": "10.0.0.1", "http-port": 8001, "trust-anchor": "/ca", "cert-file": "/c", "key-file": "/k"}),
            "kea-control-agent",
        )
        .unwrap();
        assert_eq!(cfg.address, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(cfg.port, 8001);
        assert!(cfg.tls.unwrap().cert_required);
    }

    #[test]
    fn http_config_rejects() {
        for bad in [
            json!({"socket-type": "unix"}),
            json!({"socket-type": "https"}),
            json!({"socket-address": "example.org"}),
            json!({"socket-port": 70000}),
            json!({"trust-anchor": "/ca"}),
            json!({"cert-required": "yes", "trust-anchor": "/ca", "cert-file": "/c", "key-file": "/k"}),
            json!({"http-headers": [{"name": "X"}]}),
        ] {
            assert!(HttpConfig::from_params(&bad, "r").is_err(), "{bad}");
        }
    }
}
