//! The control-channel transports: the unix stream socket and the HTTP/HTTPS listeners of the
//! daemons (`control-socket(s)`) and of the Control Agent (Kea ARM 7.2, 7.4, 18.3). They only
//! move bytes: framing, limits, timeouts and authentication live here, commands do not.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::auth::BasicAuth;
use super::tls::{self, TlsFiles};
use super::{Dispatch, Listener, Response};

/// Kea's fixed control-connection timeout (Kea ARM 18.3; `TIMEOUT_AGENT_RECEIVE_COMMAND`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest accepted command (Kea ARM 18.3 sets none). `config-set` carries a whole
/// configuration, and ones with tens of thousands of reservations pass 1 MiB, so the cap only
/// guards memory against runaway clients.
pub const DEFAULT_MAX_REQUEST: usize = 16 << 20;

/// Per-connection limits of a control channel (Kea ARM 18.3: fixed 10 s timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send its request (and, over TLS, to finish the handshake).
    pub timeout: Duration,
    /// Largest request body in bytes.
    pub max_request: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { timeout: DEFAULT_TIMEOUT, max_request: DEFAULT_MAX_REQUEST }
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
// Unix socket
// ---------------------------------------------------------------------------------------------

/// A bound control unix socket, not yet serving (Kea ARM 18.3 `socket-name`).
#[derive(Debug)]
pub struct BoundUnix {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file we created, so we never unlink a successor's.
    ident: Option<(u64, u64)>,
    limits: Limits,
}

/// Binds the control unix socket at `path`, replacing a stale socket file (Kea ARM 18.3).
/// Must be called inside a tokio runtime.
pub fn bind_unix(path: PathBuf) -> io::Result<BoundUnix> {
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if meta.file_type().is_socket() {
            // A file that still accepts connections belongs to a live server: taking it over
            // would silently cut that server off its control channel.
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("another process is listening on {}", path.display()),
                ));
            }
            std::fs::remove_file(&path)?;
        }
    }
    let listener = UnixListener::bind(&path)?;
    let ident = std::fs::symlink_metadata(&path).ok().map(|m| (m.dev(), m.ino()));
    Ok(BoundUnix { listener, path, ident, limits: Limits::default() })
}

/// Binds and serves the control unix socket until `shutdown` turns true (Kea ARM 18.3).
pub async fn serve_unix(
    path: PathBuf,
    dispatch: Arc<dyn Dispatch>,
    listener: Listener,
    shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    bind_unix(path)?.serve(dispatch, listener, shutdown).await
}

impl BoundUnix {
    /// Replaces the default limits (Kea ARM 18.3).
    pub fn with_limits(mut self, limits: Limits) -> BoundUnix {
        self.limits = limits;
        self
    }

    /// The socket file (Kea ARM 18.3 `socket-name`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves one command per connection until `shutdown` turns true, then removes the socket
    /// file (Kea ARM 18.3).
    pub async fn serve(
        self,
        dispatch: Arc<dyn Dispatch>,
        listener: Listener,
        mut shutdown: watch::Receiver<bool>,
    ) -> io::Result<()> {
        loop {
            tokio::select! {
                _ = wait_shutdown(&mut shutdown) => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let dispatch = dispatch.clone();
                        let listener = listener.clone();
                        let limits = self.limits;
                        tokio::spawn(async move { handle_unix(stream, dispatch, listener, limits).await });
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

/// Why reading a unix request stopped early.
enum ReadError {
    TooLarge,
    Io(io::Error),
}

/// Reads until the JSON value is complete or the client half-closes: `socat ... ,ignoreeof`
/// and kea-shell keep the socket open while waiting, shell pipes close it.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>, max: usize) -> Result<(), ReadError> {
    let mut feed = JsonFeed::default();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Ok(());
        }
        let start = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > max {
            return Err(ReadError::TooLarge);
        }
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

async fn handle_unix(mut stream: UnixStream, dispatch: Arc<dyn Dispatch>, listener: Listener, limits: Limits) {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(limits.timeout, read_request(&mut stream, &mut buf, limits.max_request)).await;
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
        Ok(Err(ReadError::Io(e))) => {
            tracing::debug!(error = %e, "control socket read failed");
            return;
        }
        // Connected and left without a word: nothing to answer.
        Ok(Ok(())) if buf.iter().all(u8::is_ascii_whitespace) => return,
        Ok(Ok(())) => {
            let mut responses = dispatch.dispatch(&buf, &listener).await;
            if responses.is_empty() {
                Response::error("no response from the command handler")
            } else {
                responses.swap_remove(0)
            }
        }
    };
    let body = serde_json::to_vec(&response).unwrap_or_default();
    // A client that stops reading must not pin the task forever.
    let write = async {
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    if let Err(e) = tokio::time::timeout(limits.timeout, write).await.unwrap_or_else(|e| Err(e.into())) {
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

    /// Reads one `control-sockets` http/https entry (Kea 3.0) or a `Control-agent` map
    /// (`http-host`, `http-port`; Kea ARM 7.2) with TLS (7.4) and authentication (7.2).
    pub fn from_params(params: &Value, default_realm: &str) -> Result<HttpConfig, String> {
        let map = params.as_object().ok_or("control socket must be a map")?;
        let socket_type = match map.get("socket-type") {
            None => None,
            Some(v) => Some(v.as_str().ok_or("'socket-type' must be a string")?),
        };
        let https_required = match socket_type {
            None | Some("http") => false,
            Some("https") => true,
            Some(other) => return Err(format!("unsupported 'socket-type' for an HTTP listener: '{other}'")),
        };
        let address = match map.get("socket-address").or_else(|| map.get("http-host")) {
            None => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Some(v) => {
                let s = v.as_str().ok_or("'socket-address' must be a string")?;
                s.parse().map_err(|_| format!("failed to convert '{s}' to address"))?
            }
        };
        let port = match map.get("socket-port").or_else(|| map.get("http-port")) {
            None => 8000,
            Some(v) => {
                let n = v.as_i64().ok_or("'socket-port' must be an integer")?;
                u16::try_from(n).map_err(|_| format!("port {n} is out of range 0..65535"))?
            }
        };
        let mut cfg = HttpConfig::new(address, port, default_realm);
        cfg.tls = tls_from_params(map)?;
        if https_required && cfg.tls.is_none() {
            return Err("socket-type 'https' requires trust-anchor, cert-file and key-file".into());
        }
        if let Some(auth) = map.get("authentication") {
            let (realm, auth) = BasicAuth::from_params(auth, default_realm)?;
            cfg.realm = realm;
            cfg.auth = auth;
        }
        if let Some(headers) = map.get("http-headers") {
            let list = headers.as_array().ok_or("'http-headers' must be a list")?;
            for h in list {
                let name = h.get("name").and_then(Value::as_str).ok_or("http-headers entries need a string 'name'")?;
                let value =
                    h.get("value").and_then(Value::as_str).ok_or("http-headers entries need a string 'value'")?;
                if name.is_empty() {
                    return Err("http-headers 'name' must not be empty".into());
                }
                cfg.headers.push((name.to_string(), value.to_string()));
            }
        }
        Ok(cfg)
    }
}

fn tls_from_params(map: &serde_json::Map<String, Value>) -> Result<Option<TlsFiles>, String> {
    let get = |key: &str| -> Result<Option<PathBuf>, String> {
        match map.get(key) {
            None => Ok(None),
            Some(v) => {
                let s = v.as_str().ok_or_else(|| format!("'{key}' must be a string"))?;
                Ok((!s.is_empty()).then(|| PathBuf::from(s)))
            }
        }
    };
    let cert_required = match map.get("cert-required") {
        None => true,
        Some(v) => v.as_bool().ok_or("'cert-required' must be a boolean")?,
    };
    match (get("trust-anchor")?, get("cert-file")?, get("key-file")?) {
        (None, None, None) => Ok(None),
        (Some(trust_anchor), Some(cert_file), Some(key_file)) => {
            Ok(Some(TlsFiles { trust_anchor, cert_file, key_file, cert_required }))
        }
        _ => Err("trust-anchor, cert-file and key-file must be all given or none".into()),
    }
}

/// What every HTTP connection of one listener shares.
struct HttpShared {
    auth: Option<BasicAuth>,
    challenge: HeaderValue,
    headers: Vec<(HeaderName, HeaderValue)>,
    limits: Limits,
}

/// A bound HTTP(S) listener, not yet serving (Kea ARM 7.2).
pub struct BoundHttp {
    listener: TcpListener,
    local: SocketAddr,
    tls: Option<TlsAcceptor>,
    shared: Arc<HttpShared>,
}

impl std::fmt::Debug for BoundHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundHttp").field("local", &self.local).field("tls", &self.tls.is_some()).finish()
    }
}

/// Loads TLS material and binds the listener, so configuration errors surface before serving
/// (Kea ARM 7.2, 7.4). Must be called inside a tokio runtime.
pub fn bind_http(cfg: HttpConfig) -> Result<BoundHttp, TransportError> {
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
    let addr = SocketAddr::new(cfg.address, cfg.port);
    let bind_err = |source| TransportError::Bind { addr: addr.to_string(), source };
    let std_listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
    std_listener.set_nonblocking(true).map_err(bind_err)?;
    let local = std_listener.local_addr().map_err(bind_err)?;
    let listener = TcpListener::from_std(std_listener).map_err(bind_err)?;
    let shared = Arc::new(HttpShared { auth: cfg.auth, challenge, headers, limits: cfg.limits });
    Ok(BoundHttp { listener, local, tls, shared })
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
        self.tls.is_some()
    }

    /// Accepts connections until `shutdown` turns true; open connections finish their current
    /// request (Kea ARM 7.2).
    pub async fn serve(
        self,
        dispatch: Arc<dyn Dispatch>,
        listener: Listener,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), TransportError> {
        let listener = Arc::new(listener);
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
            let ctx = Ctx { dispatch: dispatch.clone(), listener: listener.clone(), shared: self.shared.clone() };
            let shutdown = shutdown.clone();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => serve_connection(tcp, ctx, shutdown).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(ctx.shared.limits.timeout, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => serve_connection(stream, ctx, shutdown).await,
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "control channel TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "control channel TLS handshake timed out"),
                        }
                    }
                }
            });
        }
        Ok(())
    }
}

/// Everything one request needs.
#[derive(Clone)]
struct Ctx {
    dispatch: Arc<dyn Dispatch>,
    listener: Arc<Listener>,
    shared: Arc<HttpShared>,
}

async fn serve_connection<S>(io: S, ctx: Ctx, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = ctx.shared.limits;
    let service = hyper::service::service_fn(move |req| {
        let ctx = ctx.clone();
        async move { Ok::<_, Infallible>(handle_http(req, &ctx).await) }
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

type HttpResponse = hyper::Response<Full<Bytes>>;

async fn handle_http(req: hyper::Request<Incoming>, ctx: &Ctx) -> HttpResponse {
    let mut response = route(req, ctx).await;
    for (name, value) in &ctx.shared.headers {
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
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
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

async fn route(req: hyper::Request<Incoming>, ctx: &Ctx) -> HttpResponse {
    let shared = &ctx.shared;
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
    let body = Limited::new(req.into_body(), shared.limits.max_request).collect();
    let body = match tokio::time::timeout(shared.limits.timeout, body).await {
        Err(_) => return closing_error(StatusCode::REQUEST_TIMEOUT),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return closing_error(StatusCode::PAYLOAD_TOO_LARGE)
        }
        Ok(Err(_)) => return closing_error(StatusCode::BAD_REQUEST),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let responses = ctx.dispatch.dispatch(&body, &ctx.listener).await;
    let body = serde_json::to_vec(&responses).unwrap_or_else(|_| b"[]".to_vec());
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
    let headers = cfg
        .headers
        .iter()
        .filter_map(|(n, v)| Some((HeaderName::from_bytes(n.as_bytes()).ok()?, HeaderValue::from_str(v).ok()?)))
        .collect();
    let challenge = HeaderValue::from_str(&format!("Basic realm=\"{}\"", cfg.realm))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    let shared = Arc::new(HttpShared { auth: cfg.auth, challenge, headers, limits: cfg.limits });
    // A dropped sender would read as a shutdown request; this one lives until the end.
    let (_keep, shutdown) = watch::channel(false);
    serve_connection(io, Ctx { dispatch, listener: Arc::new(listener), shared }, shutdown).await;
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
        assert_eq!(cfg.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
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
