//! Several receiving threads per interface (`multi-threading` on, Kea ARM 8.2.37), with clients
//! spread over them by client (net::steer): every DISCOVER or SOLICIT is received once and
//! answered once, whether a client on the link broadcasts (raw and UDP sockets) or multicasts
//! it, or a relay forwards it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use std::net::{Ipv6Addr, SocketAddrV6};

use common::{broadcast_socket_in, ifindex_in, require_root_and, run, socket6_in, socket_in, statistic, Pair, Server};
use kakapo::clock::monotonic_now;
use kakapo::wire::v4::{MessageType, Pkt4};
use kakapo::wire::v6::{self as w6, MessageType as Msg6, Pkt6, RelayMsg};

// `packet-queue-size` 0 (unbounded): with Kea's default of 64, a burst of 200 clients arriving
// before the threads read them would push the oldest out of the queue (as in Kea), and each
// client must be answered here.
const CFG4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "@TYPE@"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "kea4.sock"},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 3, "packet-queue-size": 0},
  "valid-lifetime": 600,
  "subnet4": [{"id": 1, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.250"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "INFO"}]
}}"#;

const CLIENTS: u32 = 200;

fn discover(n: u32, relayed: bool) -> Vec<u8> {
    // The broadcast flag: the OFFER must reach a socket, not the made-up MAC.
    let mut d = Pkt4 { htype: 1, hlen: 6, xid: 0x7100_0000 + n, flags: 0x8000, ..Pkt4::default() };
    d.chaddr[..6].copy_from_slice(&[2, 0, 0x31, (n >> 8) as u8, n as u8, (n * 37) as u8]);
    if relayed {
        d.giaddr = "198.51.100.2".parse().unwrap();
        d.hops = 1;
    }
    d.set_message_type(MessageType::Discover);
    let mut out = Vec::new();
    d.encode(&mut out);
    out
}

/// A client-side socket whose receive buffer holds a burst of replies even when this test
/// thread is slow to read them (the default buffer holds about a hundred).
fn roomy(sock: std::net::UdpSocket) -> std::net::UdpSocket {
    nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &(4 << 20)).unwrap();
    sock
}

/// Sends the DISCOVERs and counts the OFFERs per xid: until every client has one (bounded by
/// 20 s), then for another half second, so a second OFFER to anyone would be seen.
fn offers(sock: &std::net::UdpSocket, to: &str, relayed: bool) -> BTreeMap<u32, usize> {
    for n in 0..CLIENTS {
        sock.send_to(&discover(n, relayed), to).unwrap();
    }
    sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut seen = BTreeMap::new();
    let mut buf = [0u8; 1500];
    let deadline = monotonic_now() + Duration::from_secs(20);
    let mut complete_at = None;
    while monotonic_now() < deadline && complete_at.is_none_or(|t| monotonic_now() < t) {
        if let Ok(n) = sock.recv(&mut buf) {
            let p = Pkt4::decode(&buf[..n]).unwrap();
            if p.message_type() == Some(MessageType::Offer) {
                *seen.entry(p.xid - 0x7100_0000).or_insert(0) += 1;
            }
        }
        if complete_at.is_none() && seen.len() == CLIENTS as usize {
            complete_at = Some(monotonic_now() + Duration::from_millis(500));
        }
    }
    seen
}

#[test]
fn three_threads_answer_each_client_once_raw_udp_and_relayed() {
    require_root_and(&["ip"]);
    for (ty, relayed) in [("raw", false), ("udp", false), ("udp", true)] {
        let dir = tempfile::tempdir().unwrap();
        let pair = Pair::new("ma", "mb", "198.51.100.1/24", relayed.then_some("198.51.100.2/24"));
        let cfg = CFG4.replace("@IFACE@", &pair.srv_if).replace("@TYPE@", ty);
        let server = Server::start(&pair.srv, dir.path(), &cfg);
        let sock = roomy(if relayed {
            socket_in(&pair.cli, "198.51.100.2:67".parse().unwrap())
        } else {
            broadcast_socket_in(&pair.cli, &pair.cli_if, "0.0.0.0:68".parse().unwrap())
        });
        let to = if relayed { "198.51.100.1:67" } else { "255.255.255.255:67" };
        let seen = offers(&sock, to, relayed);
        let case = format!("{ty} relayed={relayed}");
        assert_eq!(seen.len(), CLIENTS as usize, "{case}: every client got an OFFER");
        assert!(seen.values().all(|&c| c == 1), "{case}: no client got two: {seen:?}");
        let ctl = dir.path().join("kea4.sock");
        assert_eq!(statistic(&ctl, "pkt4-received"), i64::from(CLIENTS), "{case}: each DISCOVER received once");
        assert_eq!(server.log().matches("DHCP4_OPEN_SOCKET").count(), 1, "{case}: one interface");
        let threads = std::fs::read_dir(format!("/proc/{}/task", server.child.id()));
        let names: Vec<String> = threads
            .map(|d| d.flatten().filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok()).collect())
            .unwrap_or_default();
        let receivers = names.iter().filter(|n| n.starts_with("kakapo-dhcp4")).count();
        assert_eq!(receivers, 3, "{case}: three receiving threads: {names:?}");
    }
}

const CFG6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "kea6.sock"},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 3, "packet-queue-size": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "@IFACE@",
     "pools": [{"pool": "2001:db8:1::100-2001:db8:1::3ff"}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "INFO"}]
}}"#;

fn solicit(n: u32) -> Pkt6 {
    let mut p = Pkt6::new(Msg6::Solicit, 0x0061_0000 + n);
    p.options.push(w6::code::CLIENTID, vec![0, 3, 0, 1, 2, 0, 0x61, (n >> 8) as u8, n as u8, 7]);
    p.options.push(w6::code::ELAPSED_TIME, vec![0, 0]);
    let mut ia = Vec::new();
    w6::IaNa::new(1, 0, 0).encode(&mut ia);
    p.options.push(w6::code::IA_NA, ia);
    p
}

/// Counts the ADVERTISEs per client number arriving on `sock` until each of `want` has one
/// (bounded by 20 s), then for another half second.
fn advertises(sock: &std::net::UdpSocket, want: usize, seen: &mut BTreeMap<u32, usize>) {
    sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = [0u8; 1500];
    let deadline = monotonic_now() + Duration::from_secs(20);
    let mut complete_at = None;
    while monotonic_now() < deadline && complete_at.is_none_or(|t| monotonic_now() < t) {
        if let Ok(n) = sock.recv(&mut buf) {
            let d = w6::decode(&buf[..n]).unwrap();
            if d.inner.msg_type == Msg6::Advertise {
                *seen.entry(d.inner.xid - 0x0061_0000).or_insert(0) += 1;
            }
        }
        if complete_at.is_none() && seen.len() >= want {
            complete_at = Some(monotonic_now() + Duration::from_millis(500));
        }
    }
}

#[test]
fn three_threads_answer_each_dhcpv6_client_once_relayed_or_multicast() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("mc", "md", "198.51.100.1/24", None);
    run(&["ip", "-n", &pair.srv, "addr", "add", "2001:db8:1::1/64", "dev", &pair.srv_if, "nodad"]);
    run(&["ip", "-n", &pair.cli, "addr", "add", "2001:db8:1::2/64", "dev", &pair.cli_if, "nodad"]);
    let direct: Vec<Ipv6Addr> =
        (0..12u16).map(|k| Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0xc, 0x100 + k * 41)).collect();
    for a in &direct {
        run(&["ip", "-n", &pair.cli, "addr", "add", &format!("{a}/64"), "dev", &pair.cli_if, "nodad"]);
    }
    let server = Server::start_v6(&pair.srv, dir.path(), &CFG6.replace("@IFACE@", &pair.srv_if));
    // Relayed: one relay (one 4-tuple) forwarding 120 clients, each its own peer-address.
    let relay = roomy(socket6_in(&pair.cli, &pair.cli_if, "[2001:db8:1::2]:547".parse().unwrap()));
    for n in 0..120u32 {
        let fwd = RelayMsg {
            msg_type: Msg6::RelayForw,
            hop_count: 0,
            link_addr: "2001:db8:1::2".parse().unwrap(),
            peer_addr: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0x61, (n >> 8) as u16, n as u16),
            options: Default::default(),
        };
        let mut out = Vec::new();
        w6::encode(&solicit(n), &[fwd], &mut out);
        relay.send_to(&out, "[2001:db8:1::1]:547").unwrap();
    }
    let mut seen = BTreeMap::new();
    advertises(&relay, 120, &mut seen);
    // Multicast from 12 source addresses on the link.
    let group = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, ifindex_in(&pair.cli, &pair.cli_if));
    for (k, src) in direct.iter().enumerate() {
        let sock = socket6_in(&pair.cli, &pair.cli_if, SocketAddrV6::new(*src, 546, 0, 0));
        let mut out = Vec::new();
        w6::encode(&solicit(1000 + k as u32), &[], &mut out);
        sock.send_to(&out, group).unwrap();
        advertises(&sock, 121 + k, &mut seen);
    }
    assert_eq!(seen.len(), 132, "every client got an ADVERTISE: {seen:?}");
    assert!(seen.values().all(|&c| c == 1), "no client got two: {seen:?}");
    assert_eq!(statistic(&dir.path().join("kea6.sock"), "pkt6-received"), 132, "each SOLICIT received once");
    assert_eq!(server.log().matches("DHCP6_OPEN_SOCKET").count(), 1);
}
