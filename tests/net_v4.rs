//! The DHCPv4 socket layer (`net::raw`, `net::udp4`) on real interfaces: a veth pair between
//! two private network namespaces, the server side 192.0.2.1/24 and the client side either
//! unaddressed (a client before its first lease) or 192.0.2.50/24.
//!
//! Needs root (network namespaces, veth, packet sockets); CI runs as root. Each test creates
//! its own `kkp-a-<pid>-<tag>` / `kkp-b-<pid>-<tag>` namespaces, creates the veth pair inside
//! them (the host namespace is never touched) and deletes both on drop, even on failure.
//! Sockets are opened from a short-lived thread that has entered the namespace with setns(2):
//! a network namespace is per thread, and a socket stays in the namespace it was created in.

use std::fs::File;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use kakapo::clock::monotonic_now;
use kakapo::net::raw::{fallback_udp, RawDrops, RawOutgoing, RawRecv, RawV4Socket};
use kakapo::net::udp4::{Udp4Recv, Udp4Socket};
use socket2::{Domain, Protocol, Socket, Type};

const SERVER_IF: &str = "kkps0";
const CLIENT_IF: &str = "kkpc0";
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER_IP2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
const SUBNET_BROADCAST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 255);
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
        "tests/net_v4.rs creates network namespaces, veth pairs and packet sockets and must run as root \
         (CI does); effective uid is {euid}"
    );
}

/// Runs `ip ARGS`, waiting at most 10 seconds; stdout on success.
fn ip(args: &[&str]) -> Result<String, String> {
    let cmd = format!("ip {}", args.join(" "));
    let mut child = Command::new("ip")
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
    ip(args).unwrap_or_else(|e| panic!("{e}"))
}

/// A network namespace this test created; deleted on drop (which also destroys the veth end
/// inside it once no socket refers to the namespace any more).
struct Netns(String);

impl Netns {
    fn create(name: String) -> Netns {
        must(&["netns", "add", &name]);
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.0]) {
            eprintln!("cleanup: {e}");
        }
    }
}

/// Two namespaces joined by a veth pair.
struct Link {
    server: Netns,
    client: Netns,
    server_mac: [u8; 6],
    client_mac: [u8; 6],
    server_ifindex: u32,
    client_ifindex: u32,
}

impl Link {
    fn new(tag: &str, client_addressed: bool) -> Link {
        require_root();
        let pid = std::process::id();
        let server = Netns::create(format!("kkp-a-{pid}-{tag}"));
        let client = Netns::create(format!("kkp-b-{pid}-{tag}"));
        let (s, c) = (server.0.as_str(), client.0.as_str());
        // Created inside the server namespace, the peer moved straight into the client one.
        must(&["-n", s, "link", "add", SERVER_IF, "type", "veth", "peer", "name", CLIENT_IF, "netns", c]);
        must(&["-n", s, "addr", "add", "192.0.2.1/24", "dev", SERVER_IF]);
        must(&["-n", s, "link", "set", "lo", "up"]);
        must(&["-n", s, "link", "set", SERVER_IF, "up"]);
        if client_addressed {
            must(&["-n", c, "addr", "add", "192.0.2.50/24", "dev", CLIENT_IF]);
        }
        must(&["-n", c, "link", "set", "lo", "up"]);
        must(&["-n", c, "link", "set", CLIENT_IF, "up"]);
        let (server_ifindex, server_mac) = wait_link_up(s, SERVER_IF);
        let (client_ifindex, client_mac) = wait_link_up(c, CLIENT_IF);
        Link { server, client, server_mac, client_mac, server_ifindex, client_ifindex }
    }
}

/// Waits for carrier on `dev` and returns its index and MAC, read from `ip -o link show`.
fn wait_link_up(ns: &str, dev: &str) -> (u32, [u8; 6]) {
    let deadline = monotonic_now() + TIMEOUT;
    loop {
        let line = must(&["-n", ns, "-o", "link", "show", "dev", dev]);
        if line.contains("LOWER_UP") {
            let index = line.split(':').next().and_then(|i| i.trim().parse().ok()).expect("ifindex");
            let mac = line
                .split_whitespace()
                .skip_while(|w| *w != "link/ether")
                .nth(1)
                .map(parse_mac)
                .unwrap_or_else(|| panic!("no MAC in {line}"));
            return (index, mac);
        }
        assert!(monotonic_now() < deadline, "{dev} in {ns} has no carrier: {line}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn parse_mac(s: &str) -> [u8; 6] {
    let mut mac = [0u8; 6];
    let parts: Vec<u8> = s.split(':').map(|p| u8::from_str_radix(p, 16).expect("MAC")).collect();
    mac.copy_from_slice(&parts);
    mac
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

/// A client-side UDP socket as a DHCP client would open one, with a bounded read timeout.
fn client_socket(dev: &str, bind: SocketAddrV4) -> UdpSocket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_reuse_address(true).unwrap();
    s.set_broadcast(true).unwrap();
    s.bind_device(Some(dev.as_bytes())).unwrap();
    s.bind(&bind.into()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    s.into()
}

/// A BOOTREQUEST-shaped DHCPDISCOVER of 300 bytes (RFC 2131 section 2, BOOTP minimum size).
fn discover(mac: [u8; 6]) -> Vec<u8> {
    let mut m = vec![0u8; 300];
    m[..4].copy_from_slice(&[1, 1, 6, 0]);
    m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    m[28..34].copy_from_slice(&mac);
    m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    m[240..244].copy_from_slice(&[53, 1, 1, 255]);
    m
}

fn recv_raw(sock: &RawV4Socket, buf: &mut [u8]) -> Option<RawRecv> {
    let deadline = monotonic_now() + TIMEOUT;
    while monotonic_now() < deadline {
        match sock.recv(buf) {
            Ok(Some(r)) => return Some(r),
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("raw recv: {e}"),
        }
    }
    None
}

fn recv_udp(sock: &Udp4Socket) -> (Udp4Recv, Vec<u8>) {
    let deadline = monotonic_now() + TIMEOUT;
    let mut buf = [0u8; 1500];
    while monotonic_now() < deadline {
        match sock.recv(&mut buf) {
            Ok(r) => return (r, buf[..r.len].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("udp recv: {e}"),
        }
    }
    panic!("no datagram within {TIMEOUT:?}");
}

fn recv_from_client(sock: &UdpSocket) -> (Vec<u8>, SocketAddrV4) {
    let deadline = monotonic_now() + TIMEOUT;
    let mut buf = [0u8; 1500];
    while monotonic_now() < deadline {
        match sock.recv_from(&mut buf) {
            Ok((n, std::net::SocketAddr::V4(from))) => return (buf[..n].to_vec(), from),
            Ok((_, from)) => panic!("IPv6 sender {from}"),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("client recv: {e}"),
        }
    }
    panic!("client got nothing within {TIMEOUT:?}");
}

/// RFC 1071 one's-complement sum, written independently of `net::raw`.
fn ones_complement_sum(chunks: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = chunks.concat();
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |&b| u32::from(b));
        sum += hi | lo;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Checks a captured frame field by field, both checksums included.
fn check_frame(f: &[u8], l: &Link, payload: &[u8]) {
    assert!(f.len() >= 42 + payload.len(), "frame of {} bytes", f.len());
    assert_eq!(&f[0..6], &l.client_mac, "destination MAC");
    assert_eq!(&f[6..12], &l.server_mac, "source MAC");
    assert_eq!(&f[12..14], &[0x08, 0x00], "EtherType IPv4");
    let ip = &f[14..34];
    assert_eq!(ip[0], 0x45, "IPv4, no options");
    assert_eq!(usize::from(u16::from_be_bytes([ip[2], ip[3]])), 28 + payload.len(), "total length");
    assert_eq!(u16::from_be_bytes([ip[6], ip[7]]), 0x4000, "DF, not fragmented");
    assert_eq!((ip[8], ip[9]), (128, 17), "TTL 128 as Kea, UDP");
    assert_eq!(&ip[12..16], &SERVER_IP.octets());
    assert_eq!(&ip[16..20], &CLIENT_IP.octets());
    assert_eq!(ones_complement_sum(&[ip]), 0xffff, "IPv4 header checksum");
    let udp = &f[34..42];
    assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), 67);
    assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 68);
    let udp_len = u16::from_be_bytes([udp[4], udp[5]]);
    assert_eq!(usize::from(udp_len), 8 + payload.len());
    assert_ne!(u16::from_be_bytes([udp[6], udp[7]]), 0, "UDP checksum present");
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&ip[12..20]);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    assert_eq!(ones_complement_sum(&[&pseudo, udp, &f[42..42 + payload.len()]]), 0xffff, "UDP checksum");
    assert_eq!(&f[42..42 + payload.len()], payload);
}

/// (a) A client with no address broadcasts from 0.0.0.0:68 to 255.255.255.255:67; the packet
/// socket hands it over with the client's MAC, and its filter kept other ports out of user space.
#[test]
fn raw_socket_receives_broadcast_from_unaddressed_client() {
    let l = Link::new("rx", false);
    let raw = in_netns(&l.server.0, || RawV4Socket::open(SERVER_IF, 67)).expect("open raw socket");
    assert_eq!((raw.ifindex(), raw.mac()), (l.server_ifindex, l.server_mac));

    let client = in_netns(&l.client.0, || client_socket(CLIENT_IF, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)));
    let msg = discover(l.client_mac);
    client.send_to(&msg, SocketAddrV4::new(Ipv4Addr::BROADCAST, 1067)).unwrap();
    client.send_to(&msg, SocketAddrV4::new(Ipv4Addr::BROADCAST, 67)).unwrap();

    let mut buf = [0u8; 1500];
    let r = recv_raw(&raw, &mut buf).expect("no DHCP frame on the raw socket");
    let want = RawRecv {
        ifindex: l.server_ifindex,
        src_mac: l.client_mac,
        src_ip: Ipv4Addr::UNSPECIFIED,
        dst_ip: Ipv4Addr::BROADCAST,
        src_port: 68,
        dst_port: 67,
        len: msg.len(),
    };
    assert_eq!(r, want);
    assert_eq!(&buf[..r.len], &msg[..]);
    // The datagram to port 1067 was dropped by the kernel filter: never seen, never counted.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(raw.recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    assert_eq!(raw.drops(), RawDrops::default());

    // Only Ethernet links are supported, and errors name the interface.
    let lo = in_netns(&l.server.0, || RawV4Socket::open("lo", 67)).unwrap_err();
    assert_eq!(lo.kind(), io::ErrorKind::Unsupported, "{lo}");
    let missing = in_netns(&l.server.0, || RawV4Socket::open("kkp-none0", 67)).unwrap_err();
    assert!(missing.to_string().contains("kkp-none0"), "{missing}");
}

/// (b) RFC 2131 4.1: the server unicasts to the MAC of a client that has no address yet. An
/// independent packet capture on the client side checks every header field and both checksums;
/// a RawV4Socket on port 68 there (the client's view) accepts the frame too.
#[test]
fn raw_socket_sends_unicast_frame_to_unaddressed_client() {
    let l = Link::new("tx", false);
    let raw = in_netns(&l.server.0, || RawV4Socket::open(SERVER_IF, 67)).expect("open raw socket");
    let (capture, client_raw) = in_netns(&l.client.0, || {
        let proto = Protocol::from(i32::from((libc::ETH_P_IP as u16).to_be()));
        let capture = Socket::new(Domain::PACKET, Type::RAW, Some(proto)).expect("capture socket");
        capture.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        (capture, RawV4Socket::open(CLIENT_IF, 68).expect("client raw socket"))
    });

    for len in [300usize, 301, 1472] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
        raw.send(l.client_mac, SERVER_IP, 67, CLIENT_IP, 68, &payload).expect("send");

        let deadline = monotonic_now() + TIMEOUT;
        let frame = loop {
            assert!(monotonic_now() < deadline, "no frame captured on the client side");
            let mut f = vec![0u8; 2048];
            match (&capture).read(&mut f) {
                // Only our UDP datagram to port 68 is of interest.
                Ok(n) if n >= 42 && f[23] == 17 && f[36..38] == [0, 68] => break f[..n].to_vec(),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("capture: {e}"),
            }
        };
        check_frame(&frame, &l, &payload);

        let mut buf = [0u8; 1500];
        let r = recv_raw(&client_raw, &mut buf).expect("client raw socket got nothing");
        let want = RawRecv {
            ifindex: l.client_ifindex,
            src_mac: l.server_mac,
            src_ip: SERVER_IP,
            dst_ip: CLIENT_IP,
            src_port: 67,
            dst_port: 68,
            len,
        };
        assert_eq!(r, want);
        assert_eq!(&buf[..len], &payload[..]);
    }
    assert_eq!(client_raw.drops(), RawDrops::default());
    // Above the MTU the kernel refuses the frame.
    let err = raw.send(l.client_mac, SERVER_IP, 67, CLIENT_IP, 68, &[0; 1473]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{err}");
}

/// Batches on the raw socket: one sendmmsg(2) carries a run of frames (one above the MTU is
/// refused alone, the rest still go) and recvmmsg(2) hands them over in order, dropping and
/// counting the one too long for the buffers offered.
#[test]
fn raw_socket_sends_and_receives_frames_in_batches() {
    let l = Link::new("bt", false);
    let server = in_netns(&l.server.0, || RawV4Socket::open(SERVER_IF, 67)).expect("server raw socket");
    let client = in_netns(&l.client.0, || RawV4Socket::open(CLIENT_IF, 68)).expect("client raw socket");
    let mut payloads: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
    payloads[5] = vec![5; 1473];
    payloads[8] = vec![8; 400];
    let frames: Vec<RawOutgoing<'_>> = payloads
        .iter()
        .map(|p| RawOutgoing {
            dst_mac: l.server_mac,
            src_ip: Ipv4Addr::UNSPECIFIED,
            src_port: 68,
            dst_ip: Ipv4Addr::BROADCAST,
            dst_port: 67,
            payload: p,
        })
        .collect();
    let mut sent = Vec::new();
    client.send_batch(&frames, &mut sent);
    assert_eq!(sent.len(), 12);
    for (i, r) in sent.iter().enumerate() {
        match r {
            Err(e) => assert!(i == 5 && e.raw_os_error() == Some(libc::EMSGSIZE), "frame {i}: {e}"),
            Ok(()) => assert_ne!(i, 5, "the frame above the MTU was refused"),
        }
    }
    let mut bufs = vec![vec![0u8; 300]; 32];
    let mut got: Vec<Vec<u8>> = Vec::new();
    let (mut dropped, mut calls) = (0, 0);
    let deadline = monotonic_now() + TIMEOUT;
    while got.len() + dropped < 11 {
        assert!(monotonic_now() < deadline, "got {} frames and {dropped} drops", got.len());
        let mut out = Vec::new();
        match server.recv_batch(&mut bufs, &mut out) {
            Ok(d) => {
                calls += 1;
                dropped += d;
                for (i, r) in out.iter().enumerate() {
                    assert_eq!((r.src_mac, r.src_port, r.dst_ip), (l.client_mac, 68, Ipv4Addr::BROADCAST));
                    got.push(bufs[i][..r.len].to_vec());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("recv_batch: {e}"),
        }
    }
    let want: Vec<Vec<u8>> =
        payloads.iter().enumerate().filter(|(i, _)| ![5, 8].contains(i)).map(|(_, p)| p.clone()).collect();
    assert_eq!(got, want, "the frames that fit, in order");
    assert_eq!((dropped, server.drops().truncated), (1, 1));
    assert!(calls < 11, "frames came in batches ({calls} calls for 11 frames)");
}

/// (c) IP_PKTINFO: the receiving interface and the header destination for unicast, limited
/// broadcast and subnet-directed broadcast on a socket bound to 0.0.0.0:67 with no device.
#[test]
fn udp4_pktinfo_reports_interface_and_destination() {
    let l = Link::new("pi", true);
    let server = in_netns(&l.server.0, || Udp4Socket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 67), None))
        .expect("bind 0.0.0.0:67");
    let client = in_netns(&l.client.0, || client_socket(CLIENT_IF, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)));
    for (dst, label) in
        [(SERVER_IP, "unicast"), (Ipv4Addr::BROADCAST, "limited broadcast"), (SUBNET_BROADCAST, "subnet broadcast")]
    {
        client.send_to(label.as_bytes(), SocketAddrV4::new(dst, 67)).unwrap();
        let (r, data) = recv_udp(&server);
        assert_eq!(data, label.as_bytes());
        let want = Udp4Recv {
            ifindex: l.server_ifindex,
            src: SocketAddrV4::new(CLIENT_IP, 68),
            dst,
            len: label.len(),
            src_mac: None,
        };
        assert_eq!(r, want, "{label}");
    }
}

/// (c) recvmmsg batching on a device-bound socket, and replies whose source address and
/// outgoing interface are chosen through IP_PKTINFO, including a broadcast reply.
#[test]
fn udp4_batch_receive_and_pktinfo_send() {
    let l = Link::new("bt", true);
    must(&["-n", &l.server.0, "addr", "add", "192.0.2.2/24", "dev", SERVER_IF]);
    let server =
        in_netns(&l.server.0, || Udp4Socket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 67), Some(SERVER_IF)))
            .expect("bind 0.0.0.0:67 on the server interface");
    let client = in_netns(&l.client.0, || client_socket(CLIENT_IF, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)));

    for i in 0..10u8 {
        client.send_to(&vec![i; 100 + usize::from(i)], SocketAddrV4::new(SERVER_IP, 67)).unwrap();
    }
    let mut got: Vec<(Udp4Recv, Vec<u8>)> = Vec::new();
    let mut bufs: Vec<Vec<u8>> = (0..4).map(|_| vec![0u8; 1500]).collect();
    let mut out = Vec::new();
    let deadline = monotonic_now() + TIMEOUT;
    while got.len() < 10 {
        assert!(monotonic_now() < deadline, "only {} of 10 datagrams", got.len());
        match server.recv_batch(&mut bufs, &mut out) {
            Ok(n) => {
                assert!((1..=4).contains(&n) && n == out.len());
                got.extend(out.iter().zip(&bufs).map(|(r, b)| (*r, b[..r.len].to_vec())));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("recv_batch: {e}"),
        }
    }
    for (i, (r, data)) in got.iter().enumerate() {
        assert_eq!(data, &vec![i as u8; 100 + i], "datagram {i} in order and intact");
        assert_eq!((r.ifindex, r.dst, r.src), (l.server_ifindex, SERVER_IP, SocketAddrV4::new(CLIENT_IP, 68)));
    }

    // Unicast reply from the secondary address: IP_PKTINFO's ipi_spec_dst picks the source.
    let to_client = SocketAddrV4::new(CLIENT_IP, 68);
    assert_eq!(server.send(b"from .2", to_client, Some(SERVER_IP2), Some(l.server_ifindex)).unwrap(), 7);
    assert_eq!(recv_from_client(&client), (b"from .2".to_vec(), SocketAddrV4::new(SERVER_IP2, 67)));
    // Broadcast reply out of the named interface.
    let bcast = SocketAddrV4::new(Ipv4Addr::BROADCAST, 68);
    server.send(b"broadcast", bcast, Some(SERVER_IP), Some(l.server_ifindex)).unwrap();
    assert_eq!(recv_from_client(&client), (b"broadcast".to_vec(), SocketAddrV4::new(SERVER_IP, 67)));
    // Without control data the kernel picks the source.
    server.send(b"plain", to_client, None, None).unwrap();
    assert_eq!(recv_from_client(&client), (b"plain".to_vec(), SocketAddrV4::new(SERVER_IP, 67)));
}

/// The fallback socket keeps the kernel from answering unicasts to port 67 with ICMP port
/// unreachable, and never yields a datagram itself.
#[test]
fn fallback_socket_suppresses_port_unreachable() {
    let l = Link::new("fb", true);
    let fallback = in_netns(&l.server.0, || fallback_udp(SERVER_IF, 67)).expect("fallback socket");
    let client = in_netns(&l.client.0, || {
        let u = UdpSocket::bind(SocketAddrV4::new(CLIENT_IP, 0)).unwrap();
        u.connect(SocketAddrV4::new(SERVER_IP, 67)).unwrap();
        u.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        u
    });
    let mut buf = [0u8; 64];

    client.send(b"renew").unwrap();
    let quiet_until = monotonic_now() + Duration::from_millis(500);
    while monotonic_now() < quiet_until {
        match client.recv(&mut buf) {
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            other => panic!("expected silence with the fallback socket bound, got {other:?}"),
        }
    }
    assert_eq!(fallback.recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    drop(fallback);

    // Control: without it the server's kernel does send ICMP port unreachable. The kernel
    // rate-limits ICMP (tests run in parallel), so the datagram goes again after each quiet
    // read until one is answered or the deadline passes.
    let deadline = monotonic_now() + TIMEOUT;
    loop {
        // A pending ICMP error is reported by the next call on the socket, a send too.
        match client.send(b"renew") {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
            other => {
                other.unwrap();
            }
        }
        match client.recv(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                assert!(monotonic_now() < deadline, "no ICMP port unreachable without the fallback socket")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// (c) sendmmsg batching: 70 replies (more than one call's 64) in order, a broadcast among
/// them leaving by the interface named, and a datagram the kernel refuses reported on its own
/// while the ones after it still go.
#[test]
fn udp4_batch_send_reports_each_datagram() {
    use kakapo::net::udp4::Outgoing4;
    let l = Link::new("bs", true);
    let server =
        in_netns(&l.server.0, || Udp4Socket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 67), Some(SERVER_IF)))
            .expect("bind 0.0.0.0:67 on the server interface");
    let client = in_netns(&l.client.0, || client_socket(CLIENT_IF, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)));
    client.set_read_timeout(Some(TIMEOUT)).unwrap();
    let payloads: Vec<Vec<u8>> = (0..70u8).map(|i| vec![i; 50 + usize::from(i)]).collect();
    let to_client = SocketAddrV4::new(CLIENT_IP, 68);
    // Port 0 is refused by the kernel at once (EINVAL).
    let refused = SocketAddrV4::new(CLIENT_IP, 0);
    let msgs: Vec<Outgoing4<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            5 => Outgoing4 {
                payload: p,
                dst: SocketAddrV4::new(Ipv4Addr::BROADCAST, 68),
                ifindex: Some(l.server_ifindex),
            },
            6 => Outgoing4 { payload: p, dst: refused, ifindex: None },
            _ => Outgoing4 { payload: p, dst: to_client, ifindex: None },
        })
        .collect();
    let mut sent = Vec::new();
    server.send_batch(&msgs, &mut sent);
    assert_eq!(sent.len(), 70);
    for (i, r) in sent.iter().enumerate() {
        assert_eq!(r.is_ok(), i != 6, "datagram {i}: {r:?}");
    }
    let mut buf = [0u8; 1500];
    for i in (0..70u8).filter(|i| *i != 6) {
        let (n, from) = client.recv_from(&mut buf).expect("reply");
        assert_eq!(&buf[..n], &payloads[usize::from(i)][..], "datagram {i} in order and intact");
        assert_eq!(from, std::net::SocketAddr::V4(SocketAddrV4::new(SERVER_IP, 67)));
    }
}
