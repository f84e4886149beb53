//! The HTTP control channel's request path: raw bytes arrive as one HTTP/1.1 client
//! connection (hyper over an in-memory stream, `kakapo::api::transport::serve_io`), with
//! basic authentication and an `http-headers` entry configured; whatever comes back must be
//! served without a panic or a hang. Authorized POST bodies go through
//! `kakapo::api::control::parse_request`, as the real dispatcher does.
//!
//! The runtime's clock is paused (tokio auto-advances it when every task waits), so timeouts
//! cost no wall-clock time.
//!
//! Input: the bytes a client writes before closing its side (seeds: fuzz/seeds/http_request/;
//! the user is `kea`, password `fuzz`, i.e. `Authorization: Basic a2VhOmZ1eno=`).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kakapo::api::auth::BasicAuth;
use kakapo::api::control::parse_request;
use kakapo::api::transport::{serve_io, HttpConfig, Limits};
use kakapo::api::{BoxFuture, Dispatch, Listener, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers like the real dispatcher on the parse side and echoes the command name.
struct Echo;

impl Dispatch for Echo {
    fn dispatch<'a>(&'a self, body: &'a [u8], _listener: &'a Listener) -> BoxFuture<'a, Vec<Response>> {
        Box::pin(async move {
            match parse_request(body) {
                Ok(req) => vec![Response::ok(req.command)],
                Err(r) => vec![r],
            }
        })
    }

    fn metrics(&self) -> String {
        "# TYPE kea_pkt4_received counter\nkea_pkt4_received 1\n".into()
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime")
    })
}

fn config() -> HttpConfig {
    let mut cfg = HttpConfig::new([127, 0, 0, 1].into(), 0, "kakapo-fuzz");
    cfg.auth = Some(BasicAuth::new(&[("kea".into(), "fuzz".into())]));
    cfg.headers.push(("X-Kakapo-Fuzz".into(), "1".into()));
    cfg.limits = Limits { timeout: Duration::from_millis(200), max_request: 64 << 10, ..Limits::default() };
    cfg
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = data.to_vec();
    runtime().block_on(async move {
        let (client, server) = tokio::io::duplex(16 << 10);
        let serve = tokio::spawn(serve_io(server, config(), Arc::new(Echo), Listener::Daemon("dhcp4".into())));
        let (mut rd, mut wr) = tokio::io::split(client);
        let write = async move {
            // The server may close early (a 400 with `Connection: close`); that is not a failure.
            let _ = wr.write_all(&input).await;
            // hyper drops a connection whose client half-closes before the answer is out, so
            // let the server answer everything it can first. The clock is paused: this sleep
            // ends as soon as nothing else can run, before hyper's 200 ms header timer.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = wr.shutdown().await;
            wr
        };
        let read = async move {
            let mut out = Vec::new();
            let _ = rd.read_to_end(&mut out).await;
            out
        };
        let both = async { tokio::join!(write, read) };
        let (_wr, answer) = tokio::time::timeout(Duration::from_secs(5), both)
            .await
            .expect("the connection ends within 5 s of the client closing its side");
        tokio::time::timeout(Duration::from_secs(1), serve).await.expect("serve_io returns").expect("no panic");
        if !answer.is_empty() {
            assert!(answer.starts_with(b"HTTP/1."), "{:?}", String::from_utf8_lossy(&answer));
        }
    });
});
