//! Several receiving threads per interface (`multi-threading` on, Kea ARM 8.2.37), with clients
//! spread over them by client (net::steer): every DISCOVER is received once and answered once,
//! whether it is broadcast by a client on the link (raw and UDP sockets) or relayed.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{broadcast_socket_in, require_root_and, socket_in, statistic, Pair, Server};
use kakapo::clock::monotonic_now;
use kakapo::wire::v4::{MessageType, Pkt4};

const CFG4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "@TYPE@"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "kea4.sock"},
  "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 3},
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
        let sock = if relayed {
            socket_in(&pair.cli, "198.51.100.2:67".parse().unwrap())
        } else {
            broadcast_socket_in(&pair.cli, &pair.cli_if, "0.0.0.0:68".parse().unwrap())
        };
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
