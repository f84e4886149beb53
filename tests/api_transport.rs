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
use kakapo::api::transport::{bind_http, bind_unix, HttpConfig, Limits};
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
            (0..services).map(|i| Response::ok(req.command.clone()).with_args(json!({ "index": i }))).collect()
        })
    }

    fn metrics(&self) -> String {
        "# TYPE kea_test counter\nkea_test 7\n".to_string()
    }
}

fn short_limits() -> Limits {
    Limits { timeout: Duration::from_secs(1), max_request: 4096 }
}

struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("server stops").unwrap();
    }
}

fn start_http(mut cfg: HttpConfig, listener: Listener) -> Server {
    cfg.limits = short_limits();
    let bound = bind_http(cfg).expect("bind");
    let addr = bound.local_addr();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(async move { bound.serve(Arc::new(Echo), listener, rx).await.unwrap() });
    Server { addr, stop, task }
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
    let cfg = HttpConfig::from_params(&json!({"http-host": "127.0.0.1", "http-port": 0}), "kea-control-agent").unwrap();
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
    assert!(answer.contains(r#"{"result":408,"text":"Request Timeout"}"#), "{answer}");

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
    let bound = bind_unix(path.to_path_buf()).expect("bind unix").with_limits(short_limits());
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kea4-ctrl-socket");
    // A stale file from a crashed run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = start_unix(&path);
    // A live server's socket is not stolen.
    assert_eq!(bind_unix(path.clone()).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);

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
