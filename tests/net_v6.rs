//! The DHCPv6 socket layer (`net::udp6`) on real interfaces: a veth pair between two private
//! network namespaces, the server side fe80::a and 2001:db8::1/64, the client side fe80::b and
//! 2001:db8::2/64 (documentation prefix, RFC 3849).
//!
//! Needs root (network namespaces, veth); CI runs as root. Each test creates its own
//! `kkp6a-<pid>-<tag>` / `kkp6b-<pid>-<tag>` namespaces, creates the veth pair inside them (the
//! host namespace is never touched) and deletes both on drop, even on failure. Duplicate
//! address detection is off on both ends so addresses are usable at once rather than tentative.
//! Sockets are opened from a short-lived thread that has entered the namespace with setns(2):
//! a network namespace is per thread, and a socket stays in the namespace it was created in.

use std::fs::File;
use std::io;
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use kakapo::clock::monotonic_now;
use kakapo::net::udp6::{Udp6Recv, Udp6Socket, ALL_DHCP_RELAY_AGENTS_AND_SERVERS};
use socket2::{Domain, Protocol, Socket, Type};

const SERVER_IF: &str = "kkp6s0";
const CLIENT_IF: &str = "kkp6c0";
const SERVER_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xa);
const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xb);
const SERVER_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const CLIENT_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
/// Upper bound of every wait in this file.
const TIMEOUT: Duration = Duration::from_secs(5);

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("unknown")
        .to_string();
    assert_eq!(
        euid, "0",
        "tests/net_v6.rs creates network namespaces and veth pairs and must run as root (CI does); \
         effective uid is {euid}"
    );
}

/// Runs `program ARGS`, waiting at most 10 seconds; stdout on success.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let cmd = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd}: {e} (is iproute2 installed?)"))?;
    let deadline = monotonic_now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if monotonic_now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd}: timed out"));
            }
            Err(e) => return Err(format!("{cmd}: {e}")),
        }
    }
    let out = child.wait_with_output().map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{cmd}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn must(args: &[&str]) -> String {
    run("ip", args).unwrap_or_else(|e| panic!("{e}"))
}

/// A network namespace this test created; deleted on drop (which also destroys the veth end
/// inside it once no socket refers to the namespace any more).
struct Netns(String);

impl Netns {
    fn create(name: String) -> Netns {
        must(&["netns", "add", &name]);
        Netns(name)
    }

    /// Turns duplicate address detection off on `dev` (ipv6 sysctl `accept_dad`), so that
    /// addresses, the kernel's own link-local one included, are never tentative.
    fn no_dad(&self, dev: &str) {
        let key = format!("net.ipv6.conf.{dev}.accept_dad=0");
        must(&["netns", "exec", &self.0, "sysctl", "-q", "-w", &key]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = run("ip", &["netns", "del", &self.0]) {
            eprintln!("cleanup: {e}");
        }
    }
}

/// Two namespaces joined by a veth pair, addressed for IPv6.
struct Link {
    server: Netns,
    client: Netns,
    server_ifindex: u32,
    client_ifindex: u32,
}

impl Link {
    fn new(tag: &str) -> Link {
        require_root();
        let pid = std::process::id();
        let server = Netns::create(format!("kkp6a-{pid}-{tag}"));
        let client = Netns::create(format!("kkp6b-{pid}-{tag}"));
        let (s, c) = (server.0.as_str(), client.0.as_str());
        // Created inside the server namespace, the peer moved straight into the client one.
        must(&["-n", s, "link", "add", SERVER_IF, "type", "veth", "peer", "name", CLIENT_IF, "netns", c]);
        for (ns, netns, dev, ll, global) in [
            (s, &server, SERVER_IF, "fe80::a/64", "2001:db8::1/64"),
            (c, &client, CLIENT_IF, "fe80::b/64", "2001:db8::2/64"),
        ] {
            netns.no_dad(dev);
            must(&["-n", ns, "addr", "add", ll, "dev", dev, "nodad"]);
            must(&["-n", ns, "addr", "add", global, "dev", dev, "nodad"]);
            must(&["-n", ns, "link", "set", "lo", "up"]);
            must(&["-n", ns, "link", "set", dev, "up"]);
        }
        let server_ifindex = wait_ready(s, SERVER_IF);
        let client_ifindex = wait_ready(c, CLIENT_IF);
        Link { server, client, server_ifindex, client_ifindex }
    }
}

/// Waits for carrier on `dev` and for none of its IPv6 addresses to be tentative; returns its
/// index, read from `ip -o link show`.
fn wait_ready(ns: &str, dev: &str) -> u32 {
    let deadline = monotonic_now() + TIMEOUT;
    loop {
        let line = must(&["-n", ns, "-o", "link", "show", "dev", dev]);
        let addrs = must(&["-n", ns, "-o", "-6", "addr", "show", "dev", dev]);
        if line.contains("LOWER_UP") && !addrs.contains("tentative") {
            return line.split(':').next().and_then(|i| i.trim().parse().ok()).expect("ifindex");
        }
        assert!(monotonic_now() < deadline, "{dev} in {ns} not ready: {line} {addrs}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `f` on a fresh thread inside network namespace `ns`; what it creates stays there.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns(2) on a namespace file descriptor we own; a network namespace is per
        // thread, so only this short-lived thread moves.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", io::Error::last_os_error());
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// A client-side UDP socket as a DHCPv6 client would open one, with a bounded read timeout.
fn client_socket(dev: &str, bind: SocketAddrV6) -> UdpSocket {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_only_v6(true).unwrap();
    s.bind_device(Some(dev.as_bytes())).unwrap();
    s.bind(&bind.into()).unwrap_or_else(|e| panic!("bind {bind}: {e}"));
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    s.into()
}

fn recv_udp(sock: &Udp6Socket) -> (Udp6Recv, Vec<u8>) {
    let deadline = monotonic_now() + TIMEOUT;
    let mut buf = [0u8; 1500];
    while monotonic_now() < deadline {
        match sock.recv(&mut buf) {
            Ok(r) => return (r, buf[..r.len].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("udp6 recv: {e}"),
        }
    }
    panic!("no datagram within {TIMEOUT:?}");
}

fn recv_from_server(sock: &UdpSocket) -> (Vec<u8>, SocketAddrV6) {
    let deadline = monotonic_now() + TIMEOUT;
    let mut buf = [0u8; 1500];
    while monotonic_now() < deadline {
        match sock.recv_from(&mut buf) {
            Ok((n, std::net::SocketAddr::V6(from))) => return (buf[..n].to_vec(), from),
            Ok((_, from)) => panic!("IPv4 sender {from}"),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("client recv: {e}"),
        }
    }
    panic!("client got nothing within {TIMEOUT:?}");
}

/// (a) RFC 8415 section 7.1: a client multicasts from [fe80::b]:546 to ff02::1:2 port 547; the
/// server socket bound to [::]:547 on its interface, having joined the group, reports the
/// arrival interface, the multicast destination and the link-local sender with its scope.
/// (b) The server answers the link-local sender from its own link-local address, chosen with
/// IPV6_PKTINFO, and the client receives it.
#[test]
fn udp6_multicast_solicit_and_link_local_reply() {
    let l = Link::new("mc");
    let server = in_netns(&l.server.0, || {
        Udp6Socket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 547, 0, 0), Some(SERVER_IF), true)
    })
    .expect("bind [::]:547 and join ff02::1:2");
    let client_ifindex = l.client_ifindex;
    let client =
        in_netns(&l.client.0, move || client_socket(CLIENT_IF, SocketAddrV6::new(CLIENT_LL, 546, 0, client_ifindex)));

    let solicit = [1u8, 0x12, 0x34, 0x56];
    let group = SocketAddrV6::new(ALL_DHCP_RELAY_AGENTS_AND_SERVERS, 547, 0, l.client_ifindex);
    client.send_to(&solicit, group).unwrap();
    let (r, data) = recv_udp(&server);
    assert_eq!(data, solicit);
    let want = Udp6Recv {
        ifindex: l.server_ifindex,
        src: SocketAddrV6::new(CLIENT_LL, 546, 0, l.server_ifindex),
        dst: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        len: solicit.len(),
    };
    assert_eq!(r, want);

    // (b) Reply to the sender as received: its scope id routes the link-local destination.
    let advertise = [2u8, 0x12, 0x34, 0x56];
    assert_eq!(server.send(&advertise, r.src, Some(SERVER_LL), Some(r.ifindex)).unwrap(), advertise.len());
    let (data, from) = recv_from_server(&client);
    assert_eq!((data, *from.ip(), from.port()), (advertise.to_vec(), SERVER_LL, 547));
    assert_eq!(from.scope_id(), l.client_ifindex);

    // Without control data the scope id alone picks the interface and the kernel the source.
    server.send(b"plain", r.src, None, None).unwrap();
    let (data, from) = recv_from_server(&client);
    assert_eq!((data.as_slice(), from.port()), (&b"plain"[..], 547));
    assert!(from.ip().is_unicast_link_local(), "link-local source for a link-local destination: {from}");
}

/// (c) A unicast to the server's global address (a relay, or a client sent the Server Unicast
/// option, RFC 8415 section 21.12) reports that address as destination, on the same socket
/// that also receives the multicast traffic.
#[test]
fn udp6_unicast_reports_destination() {
    let l = Link::new("uc");
    let server = in_netns(&l.server.0, || {
        Udp6Socket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 547, 0, 0), Some(SERVER_IF), true)
    })
    .expect("bind [::]:547 and join ff02::1:2");
    let client = in_netns(&l.client.0, || client_socket(CLIENT_IF, SocketAddrV6::new(CLIENT_GLOBAL, 546, 0, 0)));

    client.send_to(b"renew", SocketAddrV6::new(SERVER_GLOBAL, 547, 0, 0)).unwrap();
    let (r, data) = recv_udp(&server);
    assert_eq!(data, b"renew");
    let want = Udp6Recv {
        ifindex: l.server_ifindex,
        src: SocketAddrV6::new(CLIENT_GLOBAL, 546, 0, 0),
        dst: SERVER_GLOBAL,
        len: 5,
    };
    assert_eq!(r, want);

    // The reply to a global address needs no scope; the source is picked with IPV6_PKTINFO.
    server.send(b"reply", r.src, Some(SERVER_GLOBAL), None).unwrap();
    let (data, from) = recv_from_server(&client);
    assert_eq!((data, from), (b"reply".to_vec(), SocketAddrV6::new(SERVER_GLOBAL, 547, 0, 0)));

    // A socket bound to the unicast address itself (Kea's per-address sockets) gets it too.
    drop(server);
    let bound =
        in_netns(&l.server.0, || Udp6Socket::bind(SocketAddrV6::new(SERVER_GLOBAL, 547, 0, 0), Some(SERVER_IF), false))
            .expect("bind [2001:db8::1]:547");
    assert_eq!(bound.local_addr().unwrap(), SocketAddrV6::new(SERVER_GLOBAL, 547, 0, 0));
    client.send_to(b"again", SocketAddrV6::new(SERVER_GLOBAL, 547, 0, 0)).unwrap();
    let (r, data) = recv_udp(&bound);
    assert_eq!((data.as_slice(), r.dst, r.ifindex), (&b"again"[..], SERVER_GLOBAL, l.server_ifindex));
}

/// sendmmsg batching: 70 replies (more than one call's 64) to a link-local and a global
/// destination arrive in order, and one the kernel refuses (port 0) is reported on its own.
#[test]
fn udp6_batch_send_reports_each_datagram() {
    let l = Link::new("bs");
    let server = in_netns(&l.server.0, || {
        Udp6Socket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 547, 0, 0), Some(SERVER_IF), true)
    })
    .expect("bind [::]:547");
    let client_ifindex = l.client_ifindex;
    let client = in_netns(&l.client.0, move || {
        client_socket(CLIENT_IF, SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 546, 0, client_ifindex))
    });
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    let payloads: Vec<Vec<u8>> = (0..70u8).map(|i| vec![i; 40 + usize::from(i)]).collect();
    let ll = SocketAddrV6::new(CLIENT_LL, 546, 0, 0);
    let global = SocketAddrV6::new(CLIENT_GLOBAL, 546, 0, 0);
    let refused = SocketAddrV6::new(CLIENT_GLOBAL, 0, 0, 0);
    let msgs: Vec<(&[u8], SocketAddrV6)> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                &p[..],
                if i == 9 {
                    refused
                } else if i % 2 == 0 {
                    ll
                } else {
                    global
                },
            )
        })
        .collect();
    let mut sent = Vec::new();
    server.send_batch(&msgs, l.server_ifindex, &mut sent);
    assert_eq!(sent.len(), 70);
    for (i, r) in sent.iter().enumerate() {
        assert_eq!(r.is_ok(), i != 9, "datagram {i}: {r:?}");
    }
    for i in (0..70usize).filter(|i| *i != 9) {
        let (data, from) = recv_from_server(&client);
        assert_eq!(data, payloads[i], "datagram {i} in order and intact");
        assert_eq!(from.port(), 547);
    }
}

/// recvmmsg batching: ten SOLICIT-sized datagrams read in batches of at most four, in order,
/// each with its interface, sender and destination.
#[test]
fn udp6_batch_receive() {
    let l = Link::new("br");
    let server = in_netns(&l.server.0, || {
        Udp6Socket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 547, 0, 0), Some(SERVER_IF), true)
    })
    .expect("bind [::]:547");
    let client = in_netns(&l.client.0, || client_socket(CLIENT_IF, SocketAddrV6::new(CLIENT_GLOBAL, 546, 0, 0)));
    for i in 0..10u8 {
        client.send_to(&vec![i; 60 + usize::from(i)], SocketAddrV6::new(SERVER_GLOBAL, 547, 0, 0)).unwrap();
    }
    let mut got: Vec<(Udp6Recv, Vec<u8>)> = Vec::new();
    let mut bufs: Vec<Vec<u8>> = (0..4).map(|_| vec![0u8; 1500]).collect();
    let mut out = Vec::new();
    let deadline = kakapo::clock::monotonic_now() + TIMEOUT;
    while got.len() < 10 {
        assert!(kakapo::clock::monotonic_now() < deadline, "only {} of 10 datagrams", got.len());
        match server.recv_batch(&mut bufs, &mut out) {
            Ok(n) => {
                assert!((1..=4).contains(&n) && n == out.len());
                got.extend(out.iter().zip(&bufs).map(|(r, b)| (*r, b[..r.len].to_vec())));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("recv_batch: {e}"),
        }
    }
    for (i, (r, data)) in got.iter().enumerate() {
        assert_eq!(data, &vec![i as u8; 60 + i], "datagram {i} in order and intact");
        let want = Udp6Recv {
            ifindex: l.server_ifindex,
            src: SocketAddrV6::new(CLIENT_GLOBAL, 546, 0, 0),
            dst: SERVER_GLOBAL,
            len: 60 + i,
        };
        assert_eq!(*r, want);
    }
}
