//! A bounded, deterministic mutation run over real configurations on the stable toolchain
//! (libFuzzer via cargo-fuzz runs in CI when nightly is present): no input may panic. Every
//! committed fuzz seed (fuzz/seeds/<target>/) also goes through its target's entry point here,
//! so the seed corpus is checked, and useful, without nightly.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kakapo::api::auth::BasicAuth;
use kakapo::api::command::Command;
use kakapo::api::control::parse_request;
use kakapo::api::transport::{serve_io, HttpConfig};
use kakapo::api::{BoxFuture, Dispatch, Listener, Response};
use kakapo::config::{load_str, LoadOptions};
use kakapo::engine::v4::{DropReason, Engine4, Outcome4, RecvMeta4};
use kakapo::engine::v6::{DropReason6, Engine6, Outcome6, RecvMeta6};
use kakapo::lease::alloc::LeaseMap4;
use kakapo::lease::alloc6::LeaseMap6;
use kakapo::stats::Stats;
use kakapo::wire::v4::Pkt4;
use kakapo::wire::v6;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"/*",
    b"//",
    b"#",
    b"\\u",
    b"-",
    b".5",
    b"1e99",
    b"99999999999999999999",
    b"null",
    b"\"subnet\": \"192.0.2.0/33\"",
    b"\"pool\": \"1.2.3.4 - 0.0.0.0\"",
    b"\"id\": -1",
    b"\"data\": \"0x\"",
    b"\"code\": 70000",
    b"\"type\": \"record\"",
    b"\n",
];

fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 if at < v.len() => {
                let n = rng.below(16).min(v.len() - at);
                v.drain(at..at + n);
            }
            3 => v.truncate(at),
            _ => {
                let n = rng.below(64);
                let src = rng.below(seed.len().max(1));
                let end = (src + n).min(seed.len());
                let chunk = seed[src.min(end)..end].to_vec();
                v.splice(at..at, chunk);
            }
        }
    }
    v
}

#[test]
fn mutated_configurations_never_panic() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["tests/fixtures/broken", "tests/fixtures/good/modular", "config", "fuzz/seeds/config_text"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            seeds.push(std::fs::read(e.path()).unwrap());
        }
    }
    for dir in ["kea4", "kea6", "ddns", "agent"] {
        if let Ok(rd) = std::fs::read_dir(Path::new("/usr/share/doc/kea/examples").join(dir)) {
            for e in rd.flatten() {
                let b = std::fs::read(e.path()).unwrap();
                if b.len() < 20_000 {
                    seeds.push(b);
                }
            }
        }
    }
    assert!(seeds.len() > 10);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let rounds = 30_000;
    for i in 0..rounds {
        let seed = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, seed);
        kakapo::config::fuzz::text(&input);
        kakapo::config::fuzz::model(&input);
    }
}

/// The seed files of one fuzz target, sorted by name.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

#[test]
fn config_seeds_never_panic() {
    for target in ["config_text", "config_model"] {
        for (_, bytes) in seeds(target) {
            kakapo::config::fuzz::text(&bytes);
            kakapo::config::fuzz::model(&bytes);
        }
    }
}

/// The captured packets are real ones: they decode and survive encode -> decode.
#[test]
fn packet_seeds_decode_and_round_trip() {
    for (path, bytes) in seeds("v4_decode") {
        let p = Pkt4::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(Pkt4::decode(&out).unwrap(), p, "{}", path.display());
    }
    for (path, bytes) in seeds("v6_decode") {
        let d = v6::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let mut out = Vec::new();
        v6::encode(&d.inner, &d.relays, &mut out);
        assert_eq!(out, bytes, "{}", path.display());
    }
}

/// The engine seeds (two prefix bytes, then a captured packet) get past the decoder, and
/// most of them get an answer from an engine with a matching configuration.
#[test]
fn engine_seeds_get_past_the_header() {
    let d4 = load_str(
        "smoke",
        r#"{"Dhcp4": {"valid-lifetime": 600, "subnet4": [
            {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.40"}]},
            {"id": 2, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.40"}],
             "relay": {"ip-addresses": ["198.51.100.1"]}}]}}"#,
        &LoadOptions::default(),
    )
    .unwrap()
    .config
    .dhcp4
    .unwrap();
    let d4 = Arc::new(d4);
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        d4.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    let map = LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice())));
    let e4 = Engine4::new(d4, Arc::new(map), Arc::new(Stats::default()), 1_800_000_000);
    let server = Ipv4Addr::new(192, 0, 2, 1);
    let (mut total, mut answered) = (0, 0);
    for (path, bytes) in seeds("v4_engine") {
        let pkt = &bytes[2..];
        let giaddr = Ipv4Addr::new(pkt[24], pkt[25], pkt[26], pkt[27]);
        let src = if giaddr.is_unspecified() {
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)
        } else {
            SocketAddrV4::new(giaddr, 67)
        };
        let meta =
            RecvMeta4 { ifindex: 1, ifname: "eth0".into(), iface_addrs: vec![server], src, dst: Ipv4Addr::BROADCAST };
        let out = e4.handle(pkt, &meta, 1_800_000_000, 1);
        assert!(!matches!(out, Outcome4::Drop(DropReason::ParseFailed(_))), "{}", path.display());
        total += 1;
        answered += usize::from(matches!(out, Outcome4::Reply(_)));
    }
    assert!(answered * 3 >= total, "only {answered} of {total} v4 engine seeds answered");

    let d6 = load_str(
        "smoke",
        r#"{"Dhcp6": {"preferred-lifetime": 300, "valid-lifetime": 600, "subnet6": [
            {"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::40"}],
             "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56}]},
            {"id": 2, "subnet": "2001:db8:2::/64", "pools": [{"pool": "2001:db8:2::10 - 2001:db8:2::40"}]}]}}"#,
        &LoadOptions::default(),
    )
    .unwrap()
    .config
    .dhcp6
    .unwrap();
    let d6 = Arc::new(d6);
    let map = Arc::new(LeaseMap6::for_config(&d6));
    let e6 = Engine6::new(d6, map, Arc::new(Stats::default()), vec![0, 2, 0, 0, 9, 191, 1, 2], 1_800_000_000);
    let server = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
    let (mut total, mut answered) = (0, 0);
    for (path, bytes) in seeds("v6_engine") {
        let pkt = &bytes[2..];
        let (src, dst) = if pkt[0] == 12 {
            (SocketAddrV6::new(Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 2), 547, 0, 1), server)
        } else {
            (
                SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2), 546, 0, 1),
                Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2),
            )
        };
        let meta = RecvMeta6 { ifindex: 1, ifname: "eth0".into(), iface_addrs: vec![server], src, dst };
        let out = e6.handle(pkt, &meta, 1_800_000_000, 1);
        assert!(!matches!(out, Outcome6::Drop(DropReason6::ParseFailed(_))), "{}", path.display());
        total += 1;
        answered += usize::from(matches!(out, Outcome6::Reply(_)));
    }
    assert!(answered * 3 >= total, "only {answered} of {total} v6 engine seeds answered");
}

/// Every example request of Kea's API reference reaches the typed command parser.
#[test]
fn command_seeds_parse() {
    let (mut total, mut parsed) = (0, 0);
    for (path, bytes) in seeds("command") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match parse_request(&bytes) {
            Ok(req) => {
                parsed += 1;
                let _ = Command::parse(&req);
            }
            Err(r) => assert_eq!(r.result, 1, "{name}"),
        }
        total += 1;
    }
    assert!(parsed * 10 >= total * 8, "only {parsed} of {total} command seeds parse");
}

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
        String::new()
    }
}

/// The raw HTTP seeds, each as one client connection over an in-memory stream, as the
/// http_request fuzz target feeds them.
#[tokio::test]
async fn http_seeds_are_served() {
    for (path, bytes) in seeds("http_request") {
        let mut cfg = HttpConfig::new(Ipv4Addr::LOCALHOST.into(), 0, "kakapo-fuzz");
        cfg.auth = Some(BasicAuth::new(&[("kea".into(), "fuzz".into())]));
        cfg.limits.timeout = Duration::from_millis(200);
        let (client, server) = tokio::io::duplex(16 << 10);
        let serve = tokio::spawn(serve_io(server, cfg, Arc::new(Echo), Listener::Daemon("dhcp4".into())));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expect_answer = name.starts_with("post-status-get") || name.starts_with("pipelined");
        let (mut rd, mut wr) = tokio::io::split(client);
        let seen = Arc::new(AtomicUsize::new(0));
        let seen_w = seen.clone();
        let write = async move {
            let _ = wr.write_all(&bytes).await;
            // hyper drops a connection whose client half-closes before the answer is out:
            // close only once the answers stopped coming (at most 5 s).
            let mut last = usize::MAX;
            for _ in 0..250 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let now = seen_w.load(Ordering::SeqCst);
                if now == last && (now > 0 || !expect_answer) {
                    break;
                }
                last = now;
            }
            let _ = wr.shutdown().await;
        };
        let read = async move {
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = rd.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                seen.store(out.len(), Ordering::SeqCst);
            }
            out
        };
        let ((), answer) = tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(write, read) })
            .await
            .unwrap_or_else(|_| panic!("{} hangs", path.display()));
        serve.await.unwrap();
        if expect_answer {
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 200"), "{name}: {text}");
        }
    }
}
