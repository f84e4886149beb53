//! The control-channel transports over real sockets (Kea ARM 7.2, 7.4, 18.3): unix socket
//! framing and timeouts, HTTP status codes, basic auth, limits, and HTTPS with client
//! certificates, driven with curl and openssl like an operator would.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::make_pki;
use kakapo::api::transport::{bind_http, bind_unix, prepare_http, Connections, HttpConfig, Limits};
use kakapo::api::{BoxFuture, Dispatch, Listener, Request, Response};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Echoes the command name; on the agent, answers once per `service` entry.
struct Echo;

impl Dispatch for Echo {
    fn dispatch<'a>(&'a self, body: &'a [u8], listener: &'a Listener) -> BoxFuture<'a, Vec<Response>> {
        Box::pin(async move {
            let req: Request = match serde_json::from_slice(body) {
                Ok(r) => r,
                Err(e) => return vec![Response::error(format!("invalid JSON: {e}"))],
            };
            let services = match (listener, &req.service) {
                (Listener::Agent, Some(Value::Array(list))) if !list.is_empty() => list.len(),
                _ => 1,
            };
            if req.command == "big" {
                // Far more than the kernel buffers of a loopback or unix socket hold.
                return vec![Response::ok("x".repeat(BIG_RESPONSE))];
            }
            (0..services).map(|i| Response::ok(req.command.clone()).with_args(json!({ "index": i }))).collect()
        })
    }

    fn metrics(&self) -> String {
        "# TYPE kea_test counter\nkea_test 7\n".to_string()
    }
}

const BIG_RESPONSE: usize = 16 << 20;

fn short_limits() -> Limits {
    Limits { timeout: Duration::from_secs(1), max_request: 4096, ..Limits::default() }
}

struct Server {
    addr: SocketAddr,
    conns: Connections,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("server stops").unwrap();
    }
}

fn start_http(cfg: HttpConfig, listener: Listener) -> Server {
    start_http_with(cfg, listener, short_limits())
}

fn start_http_with(mut cfg: HttpConfig, listener: Listener, limits: Limits) -> Server {
    cfg.limits = limits;
    let bound = bind_http(cfg).expect("bind");
    let addr = bound.local_addr();
    let conns = bound.connections();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(async move { bound.serve(Arc::new(Echo), listener, rx).await.unwrap() });
    Server { addr, conns, stop, task }
}

/// What curl saw: exit code, HTTP status, lower-cased headers, body.
#[derive(Debug)]
struct Curl {
    code: i32,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Curl {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body {:?} is not JSON: {e}", self.body))
    }
}

/// Runs curl off the runtime threads; `--max-time` bounds it, so it always ends by itself.
async fn curl(args: &[&str]) -> Curl {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-S", "--max-time", "5", "-i", "-H", "Expect:"]).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("curl runs")).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Curl { code: out.status.code().unwrap_or(-1), status, headers, body: body.to_string() }
}

/// A temporary directory narrow enough (0750) to hold a control socket under the Kea 3.0
/// security rules; tempfile creates directories with the umask's 0755.
fn sock_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o750)).unwrap();
    dir
}

fn url(addr: SocketAddr, scheme: &str, path: &str) -> String {
    format!("{scheme}://{addr}{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_auth_dispatch_metrics_and_errors() {
    let cfg = HttpConfig::from_params(
        &json!({
            "socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 0,
            "authentication": {"type": "basic", "clients": [{"user": "admin", "password": "1234"}]},
            "http-headers": [{"name": "Strict-Transport-Security", "value": "max-age=31536000"}]
        }),
        "kea-dhcpv4-server",
    )
    .unwrap();
    let server = start_http(cfg, Listener::Daemon("dhcp4".into()));
    let root = url(server.addr, "http", "/");
    let cmd = r#"{"command": "version-get", "service": ["dhcp4"]}"#;

    let r = curl(&["-d", cmd, &root]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"kea-dhcpv4-server\""));
    assert_eq!(r.json(), json!({"result": 401, "text": "Unauthorized"}));
    assert_eq!(r.header("strict-transport-security"), Some("max-age=31536000"));

    let r = curl(&["-u", "admin:wrong", "-d", cmd, &root]).await;
    assert_eq!(r.status, 401, "{r:?}");

    let r = curl(&["-u", "admin:1234", "-H", "Content-Type: application/json", "-d", cmd, &root]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("strict-transport-security"), Some("max-age=31536000"));
    assert_eq!(r.json(), json!([{"result": 0, "text": "version-get", "arguments": {"index": 0}}]));

    // Kea ignores the path of a POST.
    let r = curl(&["-u", "admin:1234", "-d", cmd, &url(server.addr, "http", "/some/where")]).await;
    assert_eq!(r.status, 200, "{r:?}");

    let r = curl(&["-u", "admin:1234", &url(server.addr, "http", "/metrics")]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4"));
    assert!(r.body.contains("kea_test 7"), "{r:?}");
    assert_eq!(curl(&[&url(server.addr, "http", "/metrics")]).await.status, 401);

    for args in [vec!["-X", "GET"], vec!["-X", "PUT", "-d", cmd], vec!["-X", "DELETE"]] {
        let mut args = args.clone();
        args.extend(["-u", "admin:1234", root.as_str()]);
        let r = curl(&args).await;
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(r.json(), json!({"result": 400, "text": "Bad Request"}));
    }

    // Parsing is the dispatcher's business: the transport hands the bytes over.
    let r = curl(&["-u", "admin:1234", "-d", "{\"command\": ", &root]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()[0]["result"], 1);

    let big = format!("{{\"command\": \"x\", \"arguments\": {{\"pad\": \"{}\"}}}}", "a".repeat(8000));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.json");
    std::fs::write(&file, &big).unwrap();
    let data = format!("@{}", file.display());
    let r = curl(&["-u", "admin:1234", "--data-binary", &data, &root]).await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json(), json!({"result": 413, "text": "Payload Too Large"}));
    // Without Content-Length the cap still holds.
    let r = curl(&["-u", "admin:1234", "-H", "Transfer-Encoding: chunked", "--data-binary", &data, &root]).await;
    assert_eq!(r.status, 413, "{r:?}");

    assert_eq!(curl(&["-u", "admin:1234", "-d", cmd, &root]).await.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_agent_answers_per_service() {
    // Port 0 (any free port) is no valid `http-port`, so the listener is made directly.
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "kea-control-agent");
    let server = start_http(cfg, Listener::Agent);
    let r =
        curl(&["-d", r#"{"command": "config-get", "service": ["dhcp4", "dhcp6"]}"#, &url(server.addr, "http", "/")])
            .await;
    assert_eq!(r.status, 200, "{r:?}");
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[1]["text"], "config-get");
    server.stop().await;
}

/// Reads until EOF or `limit`, returning what arrived; panics when the server never closes.
async fn read_until_closed<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, limit: Duration) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut out)).await.expect("server closes the connection").ok();
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_slow_clients_are_cut_off() {
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "kea-dhcpv4-server");
    let server = start_http(cfg, Listener::Daemon("dhcp4".into()));

    // Half a header block, then silence.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // An idle connection that never says anything.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    // Complete headers, half the body.
    let mut partial = TcpStream::connect(server.addr).await.unwrap();
    partial.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"command\"").await.unwrap();

    // The server still serves others while they hang.
    let r = curl(&["-d", r#"{"command": "status-get"}"#, &url(server.addr, "http", "/")]).await;
    assert_eq!(r.status, 200, "{r:?}");

    read_until_closed(&mut slow, Duration::from_secs(4)).await;
    read_until_closed(&mut idle, Duration::from_secs(4)).await;
    let answer = read_until_closed(&mut partial, Duration::from_secs(4)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#"{ "result": 408, "text": "Request Timeout" }"#), "{answer}");

    let r = curl(&["-d", r#"{"command": "status-get"}"#, &url(server.addr, "http", "/")]).await;
    assert_eq!(r.status, 200, "{r:?}");
    server.stop().await;
}

struct UnixServer {
    path: PathBuf,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn start_unix(path: &Path) -> UnixServer {
    let bound = bind_unix(path.to_path_buf(), true).expect("bind unix").with_limits(short_limits());
    let (stop, rx) = watch::channel(false);
    let task =
        tokio::spawn(async move { bound.serve(Arc::new(Echo), Listener::Daemon("dhcp4".into()), rx).await.unwrap() });
    UnixServer { path: path.to_path_buf(), stop, task }
}

/// Sends `request` (half-closing when asked), then reads the whole answer.
async fn unix_exchange(path: &Path, request: &[u8], half_close: bool) -> Value {
    let mut s = UnixStream::connect(path).await.unwrap();
    s.write_all(request).await.unwrap();
    if half_close {
        s.shutdown().await.unwrap();
    }
    let text = read_until_closed(&mut s, Duration::from_secs(4)).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_framing_limits_and_timeouts() {
    let dir = sock_dir();
    let path = dir.path().join("kea4-ctrl-socket");
    // A stale socket from a crashed run, with the lock file that run left, is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    std::fs::write(dir.path().join("kea4-ctrl-socket.lock"), "").unwrap();
    assert!(path.exists());
    let server = start_unix(&path);
    // A live server's socket is not stolen.
    assert_eq!(bind_unix(path.clone(), true).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);

    let want = json!({"result": 0, "text": "config-get", "arguments": {"index": 0}});
    // socat/kea-shell style: the client keeps its side open and waits.
    assert_eq!(unix_exchange(&path, br#"{ "command": "config-get" }"#, false).await, want);
    // Shell pipe style: the client half-closes.
    assert_eq!(unix_exchange(&path, br#"{ "command": "config-get" }"#, true).await, want);
    // Comments and a request split over several writes.
    let mut s = UnixStream::connect(&path).await.unwrap();
    s.write_all(b"# a comment {\n{ \"command\": /* } */ ").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.write_all(b"\"config-get\" }").await.unwrap();
    let text = read_until_closed(&mut s, Duration::from_secs(4)).await;
    // The comment reaches the dispatcher, whose strict parser rejects it: the point is the
    // transport saw the end of the command.
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["result"], 1, "{text}");

    // Malformed input is the dispatcher's to judge.
    assert_eq!(unix_exchange(&path, b"not json", false).await["result"], 1);

    let big = format!("{{\"command\": \"x\", \"arguments\": {{\"pad\": \"{}\"}}}}", "a".repeat(8000));
    let r = unix_exchange(&path, big.as_bytes(), false).await;
    assert_eq!(r["result"], 1);
    assert!(r["text"].as_str().unwrap().contains("too large"), "{r}");

    // Half a command, then silence: a timeout answer, not a hang.
    let half = br#"{ "command": "conf"#;
    let r = unix_exchange(&path, half, false).await;
    let text = format!("Connection over control channel timed out, discarded partial command of {} bytes", half.len());
    assert_eq!(r, json!({"result": 1, "text": text}));
    // Connecting and sending nothing times out too, without the partial-command part.
    let r = unix_exchange(&path, b"", false).await;
    assert_eq!(r, json!({"result": 1, "text": "Connection over control channel timed out"}));
    assert_eq!(unix_exchange(&path, br#"{ "command": "config-get" }"#, false).await, want);

    server.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.task).await.unwrap().unwrap();
    assert!(!server.path.exists(), "socket file removed on shutdown");
}

/// Key algorithms the HTTPS test runs with: openssl `-newkey` arguments and the conversion
/// that turns the server key into its traditional (non-PKCS#8) PEM form, if any.
const KEY_KINDS: &[(&str, &[&str], Option<&str>)] = &[
    ("ecdsa-p256", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], Some("ec")),
    ("ed25519", &["-newkey", "ed25519"], None),
    ("rsa", &["-newkey", "rsa:2048"], Some("rsa")),
];

fn https_params(dir: &Path, trust_anchor: &Path, cert_required: bool) -> Value {
    json!({
        "socket-type": "https", "socket-address": "127.0.0.1", "socket-port": 0,
        "trust-anchor": trust_anchor, "cert-file": dir.join("server.pem"), "key-file": dir.join("server.key"),
        "cert-required": cert_required
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_client_certificates() {
    for (kind, newkey, traditional) in KEY_KINDS {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path(), newkey, *traditional);
        let p = |f: &str| dir.path().join(f).display().to_string();
        let (ca, cert, key) = (p("ca.pem"), p("client.pem"), p("client.key"));
        let cmd = r#"{"command": "list-commands"}"#;

        let cfg = HttpConfig::from_params(&https_params(dir.path(), &dir.path().join("ca.pem"), true), "r").unwrap();
        let server = start_http(cfg, Listener::Daemon("dhcp4".into()));
        let root = url(server.addr, "https", "/");
        let r = curl(&["--cacert", &ca, "--cert", &cert, "--key", &key, "-d", cmd, &root]).await;
        assert_eq!((r.code, r.status), (0, 200), "{kind}: {r:?}");
        assert_eq!(r.json()[0]["text"], "list-commands");
        let r = curl(&["--cacert", &ca, "-d", cmd, &root]).await;
        assert_ne!(r.code, 0, "{kind}: handshake without a client certificate must fail: {r:?}");
        // A client that opens the connection and never starts the handshake is cut off.
        let mut mute = TcpStream::connect(server.addr).await.unwrap();
        read_until_closed(&mut mute, Duration::from_secs(4)).await;
        // Plain HTTP on the HTTPS port gets nowhere either.
        let r = curl(&["-d", cmd, &url(server.addr, "http", "/")]).await;
        assert_ne!(r.status, 200, "{kind}: {r:?}");
        server.stop().await;

        // cert-required false: anonymous clients are let in; the trust anchor is a directory.
        let anchors = dir.path().join("anchors");
        std::fs::create_dir(&anchors).unwrap();
        std::fs::copy(dir.path().join("ca.pem"), anchors.join("ca.pem")).unwrap();
        let cfg = HttpConfig::from_params(&https_params(dir.path(), &anchors, false), "r").unwrap();
        let server = start_http(cfg, Listener::Daemon("dhcp4".into()));
        let root = url(server.addr, "https", "/");
        let r = curl(&["--cacert", &ca, "-d", cmd, &root]).await;
        assert_eq!((r.code, r.status), (0, 200), "{kind}: {r:?}");
        let r = curl(&["--cacert", &ca, "--cert", &cert, "--key", &key, "-d", cmd, &root]).await;
        assert_eq!((r.code, r.status), (0, 200), "{kind}: {r:?}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_errors_surface_at_config_time() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), port, "r");
    let err = bind_http(cfg).unwrap_err();
    assert!(err.to_string().contains("cannot bind"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let params = json!({
        "socket-type": "https", "socket-port": 0,
        "trust-anchor": missing, "cert-file": missing, "key-file": missing
    });
    let err = bind_http(HttpConfig::from_params(&params, "r").unwrap()).unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
}

/// Sends a whole HTTP request on a fresh connection and reads the answer until the server
/// closes (`Connection: close`).
async fn raw_post(addr: SocketAddr, body: &str, limit: Duration) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req =
        format!("POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).await.unwrap();
    read_until_closed(&mut s, limit).await
}

/// Whether the server closed `s` within `limit` (EOF or reset); false when it is still open.
async fn closed_within<S: tokio::io::AsyncRead + Unpin>(s: &mut S, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(limit, s.read(&mut buf)).await {
        Err(_) => false,
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => panic!("unexpected data on an idle connection"),
    }
}

async fn wait_open(conns: &Connections, n: usize) {
    for _ in 0..200 {
        if conns.open() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} open connections, have {}", conns.open());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_evicts_the_oldest_idle_connection() {
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "r");
    let limits = Limits { timeout: Duration::from_secs(5), max_connections: 2, ..Limits::default() };
    let server = start_http_with(cfg, Listener::Daemon("dhcp4".into()), limits);
    let mut oldest = TcpStream::connect(server.addr).await.unwrap();
    wait_open(&server.conns, 1).await;
    let mut younger = TcpStream::connect(server.addr).await.unwrap();
    wait_open(&server.conns, 2).await;

    let answer = raw_post(server.addr, r#"{"command": "status-get"}"#, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed_within(&mut oldest, Duration::from_secs(1)).await, "the oldest idle connection is closed");
    assert!(!closed_within(&mut younger, Duration::from_millis(300)).await, "the younger one stays");
    // The survivor still works as a keep-alive connection.
    younger.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}").await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(2), younger.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_oldest_stalled_request_makes_room_for_a_new_command() {
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "r");
    let limits = Limits { timeout: Duration::from_secs(5), max_connections: 2, ..Limits::default() };
    let server = start_http_with(cfg, Listener::Daemon("dhcp4".into()), limits);
    let mut busy = Vec::new();
    for i in 1..=2 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        wait_open(&server.conns, i).await;
        busy.push(s);
    }
    // Give the server a moment to read the partial headers that make them busy.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A request trickling in a byte at a time must not lock out a real command: the oldest
    // stalled connection is closed, the new command is answered, the younger one completes.
    let mut fresh = TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"command": "status-get"}"#;
    let req =
        format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    fresh.write_all(req.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut fresh, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the new command is answered: {answer}");
    let mut younger = busy.pop().unwrap();
    let mut oldest = busy.pop().unwrap();
    assert!(closed_within(&mut oldest, Duration::from_secs(1)).await, "the oldest stalled connection is closed");
    younger
        .write_all(format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes())
        .await
        .unwrap();
    let answer = read_until_closed(&mut younger, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the younger connection completes: {answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_idle_connections_do_not_block_a_command() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "r");
    // Default limits: 256 connections, 10 s timeouts, so no idle connection times out here.
    let server = start_http_with(cfg, Listener::Daemon("dhcp4".into()), Limits::default());
    let mut idle = Vec::new();
    for i in 0..500 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
        if i % 64 == 63 {
            // Let the accept loop keep up, so the kernel's backlog never overflows.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    wait_open(&server.conns, 256).await;
    let started = kakapo::clock::monotonic_now();
    let answer = raw_post(server.addr, r#"{"command": "status-get"}"#, Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    assert!(server.conns.open() <= 256);
    drop(idle);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_by_the_write_timeout() {
    let limits = Limits { write_timeout: Duration::from_millis(500), ..short_limits() };
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "r");
    let server = start_http_with(cfg, Listener::Daemon("dhcp4".into()), limits);
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"command": "big"}"#;
    s.write_all(format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
        .await
        .unwrap();
    wait_open(&server.conns, 1).await;
    // The client never reads: the server's task must end on its own.
    let started = kakapo::clock::monotonic_now();
    while server.conns.open() > 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "HTTP connection still open after the write timeout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(s);
    server.stop().await;

    let dir = sock_dir();
    let path = dir.path().join("kea4-ctrl-socket");
    let bound = bind_unix(path.clone(), true).unwrap().with_limits(limits);
    let conns = bound.connections();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(async move { bound.serve(Arc::new(Echo), Listener::Daemon("dhcp4".into()), rx).await });
    let mut s = UnixStream::connect(&path).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    wait_open(&conns, 1).await;
    let started = kakapo::clock::monotonic_now();
    while conns.open() > 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "unix connection still open after the write timeout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(s);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_connection_cap_evicts_idle_ones() {
    let dir = sock_dir();
    let path = dir.path().join("kea4-ctrl-socket");
    let limits = Limits { timeout: Duration::from_secs(5), max_connections: 1, ..Limits::default() };
    let bound = bind_unix(path.clone(), true).unwrap().with_limits(limits);
    let conns = bound.connections();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(async move { bound.serve(Arc::new(Echo), Listener::Daemon("dhcp4".into()), rx).await });
    let mut idle = UnixStream::connect(&path).await.unwrap();
    wait_open(&conns, 1).await;
    let r = unix_exchange(&path, br#"{ "command": "config-get" }"#, false).await;
    assert_eq!(r["text"], "config-get");
    assert!(closed_within(&mut idle, Duration::from_secs(1)).await);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_get_413_with_and_without_a_declared_length() {
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "r");
    // The default 16 MiB cap, as the daemon runs it.
    let server = start_http_with(cfg, Listener::Daemon("dhcp4".into()), Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.json");
    std::fs::write(&file, format!("{{\"command\": \"x\", \"pad\": \"{}\"}}", "a".repeat(20 << 20))).unwrap();
    let data = format!("@{}", file.display());
    let root = url(server.addr, "http", "/");
    let r = curl(&["--data-binary", &data, &root]).await;
    assert_eq!(r.status, 413, "{r:?}");
    let r = curl(&["-H", "Transfer-Encoding: chunked", "--data-binary", &data, &root]).await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json(), json!({"result": 413, "text": "Payload Too Large"}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_secret_and_tls_files_are_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let params = json!({
        "socket-type": "http", "socket-port": 0,
        "authentication": {"type": "basic", "clients": [{"user": "admin", "password-file": fifo}]}
    });
    let parse = tokio::task::spawn_blocking(move || HttpConfig::from_params(&params, "r"));
    let err = tokio::time::timeout(Duration::from_secs(5), parse).await.expect("no hang").unwrap().unwrap_err();
    assert!(err.contains("is not a regular file"), "{err}");

    let params = json!({
        "socket-type": "https", "socket-port": 0,
        "trust-anchor": fifo, "cert-file": fifo, "key-file": fifo
    });
    let cfg = HttpConfig::from_params(&params, "r").unwrap();
    let prep = tokio::task::spawn_blocking(move || prepare_http(&cfg).map(|_| ()));
    let err = tokio::time::timeout(Duration::from_secs(5), prep).await.expect("no hang").unwrap().unwrap_err();
    assert!(err.to_string().contains("is not a regular file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_directory_and_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = sock_dir();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;

    // A missing directory is created 0750, whatever the umask; the socket has no bits for others.
    let sock = dir.path().join("run/kea/kea4-ctrl-socket");
    let bound = bind_unix(sock.clone(), true).unwrap();
    assert_eq!(mode(&dir.path().join("run/kea")), 0o750);
    assert_eq!(std::fs::symlink_metadata(&sock).unwrap().permissions().mode() & 0o007, 0);
    drop(bound);
    assert!(!sock.exists());

    // A directory wider than 0750 is refused, with the fix in the message...
    let wide = dir.path().join("wide");
    std::fs::create_dir(&wide).unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = bind_unix(wide.join("s"), true).unwrap_err().to_string();
    assert!(err.contains("has permissions 0755, which are wider than 0750"), "{err}");
    assert!(err.contains(&format!("chmod 750 {}", wide.display())), "{err}");
    assert!(err.contains("KEA_CONTROL_SOCKET_DIR"), "{err}");
    assert!(!wide.join("s").exists() && !wide.join("s.lock").exists(), "nothing left behind");
    // ...and only warned about under -X.
    drop(bind_unix(wide.join("s"), false).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_never_replaces_what_it_did_not_create() {
    let dir = sock_dir();
    // A regular file at socket-name is left alone.
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "precious").unwrap();
    let err = bind_unix(file.clone(), true).unwrap_err().to_string();
    assert!(err.contains("exists and is not a socket; refusing to replace it"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");

    // A stale socket without the lock file of an earlier kakapo or Kea is someone else's.
    let sock = dir.path().join("foreign");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let err = bind_unix(sock.clone(), true).unwrap_err().to_string();
    assert!(err.contains("remove it by hand"), "{err}");
    assert!(sock.exists(), "the stale socket is not removed");
    assert!(!dir.path().join("foreign.lock").exists(), "the lock file made for the attempt is gone");

    // With the lock file a crashed instance left, it is replaced; while we serve, the lock is
    // held, so a second instance is refused.
    std::fs::write(dir.path().join("foreign.lock"), "").unwrap();
    let bound = bind_unix(sock.clone(), true).unwrap();
    let err = bind_unix(sock.clone(), true).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    drop(bound);
    // A clean close takes the socket and its lock file: nothing is left to vouch for a
    // socket someone else may later put at this path.
    assert!(!sock.exists() && !dir.path().join("foreign.lock").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_commands_on_many_connections_cannot_add_up_to_gigabytes() {
    let dir = sock_dir();
    let path = dir.path().join("k.sock");
    let limits = Limits { timeout: Duration::from_secs(20), ..Limits::default() };
    let bound = bind_unix(path.clone(), true).unwrap().with_limits(limits);
    let (stop, rx) = watch::channel(false);
    let task =
        tokio::spawn(async move { bound.serve(Arc::new(Echo), Listener::Daemon("dhcp4".into()), rx).await.unwrap() });
    // Eight clients each hold an unfinished 15 MiB command: 120 MiB would be buffered without
    // a budget; with it some are told the server is busy, and memory stays bounded.
    let chunk = vec![b' '; 1 << 20];
    let mut clients = Vec::new();
    for _ in 0..8 {
        let mut s = UnixStream::connect(&path).await.unwrap();
        s.write_all(b"{").await.unwrap();
        for _ in 0..15 {
            if s.write_all(&chunk).await.is_err() {
                break;
            }
        }
        clients.push(s);
    }
    let mut busy = 0;
    for mut s in clients {
        let _ = s.shutdown().await;
        let text = read_until_closed(&mut s, Duration::from_secs(10)).await;
        if text.contains("server busy") {
            busy += 1;
        }
    }
    assert!(busy >= 4, "only {busy} of 8 were refused: the budget holds 64 MiB");
    // Once they are gone, a normal command is served again.
    let v = unix_exchange(&path, br#"{"command": "x"}"#, true).await;
    assert_eq!(v["result"], 0, "{v}");
    let _ = stop.send(true);
    let _ = task.await;
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A Dhcp4 section that serves no interface, with one HTTP control socket on `port`.
fn dhcp4_section(port: u16, auth: Value) -> Value {
    let mut socket = json!({"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": port});
    if !auth.is_null() {
        socket["authentication"] = auth;
    }
    json!({
        "interfaces-config": {"interfaces": []},
        "lease-database": {"type": "memfile", "persist": false},
        "control-sockets": [socket],
        "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}]
    })
}

fn dhcp4_config(section: &Value) -> kakapo::config::model::Config {
    let text = json!({ "Dhcp4": section }).to_string();
    let opts = kakapo::config::LoadOptions { only: None, host: None, policy: None };
    kakapo::config::load_str("<test>", &text, &opts).unwrap_or_else(|e| panic!("{e}")).config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_cannot_be_prepared_leaves_the_old_one_serving() {
    use kakapo::api::control::{Control, ControlDispatch, ControlSettings};
    use kakapo::api::listeners::Listeners;

    let port = free_port();
    let root = format!("http://127.0.0.1:{port}/");
    let auth = |password: &str| json!({"type": "basic", "clients": [{"user": "admin", "password": password}]});
    let cfg = dhcp4_config(&dhcp4_section(port, auth("1234")));
    let settings = ControlSettings {
        files: Vec::new(),
        only: None,
        opts: kakapo::server::ServiceOptions::default(),
        policy: None,
    };
    let control = Control::new(settings, cfg.clone(), Box::new(|_| Ok(())));
    control.start().await.unwrap();
    let listeners = Arc::new(Listeners::new(Arc::new(ControlDispatch(control.clone())), true));
    listeners.start(&cfg).await.unwrap();
    control.attach_listeners(&listeners);

    let cmd = |c: &str| json!({"command": c}).to_string();
    let hash = |r: &Curl| r.json()[0]["arguments"]["hash"].as_str().unwrap().to_string();
    let before = curl(&["-u", "admin:1234", "-d", &cmd("config-hash-get"), &root]).await;
    assert_eq!(before.status, 200, "{before:?}");
    assert_eq!(curl(&["-d", &cmd("config-hash-get"), &root]).await.status, 401);

    // Directly: a missing password file fails the preparation and nothing changes.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let missing_auth = json!({"type": "basic", "clients": [{"user": "admin", "password-file": missing}]});
    let bad = dhcp4_config(&dhcp4_section(port, missing_auth.clone()));
    let err = listeners.prepare(&bad).await.unwrap_err();
    assert!(err.contains("missing"), "{err}");

    // Through config-set: result 1 with the reason, the old configuration and auth stay.
    let set = json!({"command": "config-set", "arguments": {"Dhcp4": dhcp4_section(port, missing_auth)}});
    let set = set.to_string();
    let r = curl(&["-u", "admin:1234", "-d", &set, &root]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()[0]["result"], 1, "{r:?}");
    assert!(r.json()[0]["text"].as_str().unwrap().contains("missing"), "{r:?}");
    let after = curl(&["-u", "admin:1234", "-d", &cmd("config-hash-get"), &root]).await;
    assert_eq!(hash(&after), hash(&before), "the configuration did not change");
    assert_eq!(curl(&["-d", &cmd("config-hash-get"), &root]).await.status, 401, "still authenticated");

    // A good change on the same address keeps the socket and swaps the credentials.
    let set = json!({"command": "config-set", "arguments": {"Dhcp4": dhcp4_section(port, auth("5678"))}});
    let set = set.to_string();
    let r = curl(&["-u", "admin:1234", "-d", &set, &root]).await;
    assert_eq!(r.json()[0]["result"], 0, "{r:?}");
    assert_eq!(curl(&["-u", "admin:1234", "-d", &cmd("config-hash-get"), &root]).await.status, 401);
    let r = curl(&["-u", "admin:5678", "-d", &cmd("config-hash-get"), &root]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(hash(&r), hash(&before));

    listeners.stop().await;
    control.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_time_out() {
    let cfg = HttpConfig::new("127.0.0.1".parse().unwrap(), 0, "r");
    let limits =
        Limits { timeout: Duration::from_secs(10), idle_timeout: Duration::from_millis(500), ..Limits::default() };
    let server = start_http_with(cfg, Listener::Daemon("dhcp4".into()), limits);
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}").await.unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await.unwrap().unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    // Kept alive, then idle: closed after the idle timeout, long before the 10 s header timeout.
    let started = kakapo::clock::monotonic_now();
    assert!(closed_within(&mut s, Duration::from_secs(3)).await, "idle keep-alive connection closed");
    assert!(started.elapsed() >= Duration::from_millis(400), "not before the idle timeout");
    wait_open(&server.conns, 0).await;
    server.stop().await;
}
