//! Reservations, pool exhaustion, DECLINE and INFORM over real sockets against a running
//! server (issue 3 acceptance), with a relay-side client written here.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use common::{require_root_and, socket_in, Pair, Server};
use kakapo::wire::v4::{code, MessageType, Pkt4};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "valid-lifetime": 600, "decline-probation-period": 3600,
  "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53"}],
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.10 - 198.18.1.12"}],
               "option-data": [{"name": "routers", "data": "198.18.0.1"}],
               "reservations": [{"hw-address": "02:00:00:00:00:77", "ip-address": "198.18.1.77"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 99}]
}}"#;

struct Client {
    sock: UdpSocket,
    to: SocketAddrV4,
}

impl Client {
    fn packet(mac: u8, mt: MessageType) -> Pkt4 {
        let mut p = Pkt4 {
            htype: 1,
            hlen: 6,
            hops: 1,
            xid: 0x5000 + u32::from(mac),
            giaddr: Ipv4Addr::new(198, 18, 0, 2),
            ..Pkt4::default()
        };
        p.chaddr[..6].copy_from_slice(&[2, 0, 0, 0, 0, mac]);
        p.set_message_type(mt);
        p.options.insert(code::PRL, vec![1, 3, 6]);
        p
    }

    fn send(&self, p: &Pkt4) {
        let mut out = Vec::new();
        p.encode(&mut out);
        self.sock.send_to(&out, self.to).unwrap();
    }

    /// The next reply for `xid`, if one comes within the socket timeout.
    fn reply(&self, xid: u32) -> Option<Pkt4> {
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = self.sock.recv_from(&mut buf) {
            if let Ok(p) = Pkt4::decode(&buf[..n]) {
                if p.xid == xid {
                    return Some(p);
                }
            }
        }
        None
    }

    fn dora(&self, mac: u8) -> Option<Pkt4> {
        let d = Self::packet(mac, MessageType::Discover);
        self.send(&d);
        let offer = self.reply(d.xid)?;
        let mut r = Self::packet(mac, MessageType::Request);
        r.options.insert(code::REQUESTED_IP, offer.yiaddr.octets().to_vec());
        r.options.insert(code::SERVER_ID, offer.server_id()?.octets().to_vec());
        self.send(&r);
        self.reply(r.xid)
    }
}

#[test]
fn reservation_exhaustion_decline_and_inform_on_the_wire() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("w", "z", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = Server::start(&pair.srv, dir.path(), &CFG.replace("@IFACE@", &pair.srv_if));
    let sock = socket_in(&pair.cli, SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67));
    sock.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let c = Client { sock, to: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67) };

    // The reserved host gets its address.
    let ack = c.dora(0x77).expect("no ACK for the reserved host");
    assert_eq!((ack.message_type(), ack.yiaddr), (Some(MessageType::Ack), Ipv4Addr::new(198, 18, 1, 77)));

    // Three clients fill the three-address pool; a fourth gets no offer, counted and logged.
    let mut given = Vec::new();
    for mac in 1..=3 {
        let a = c.dora(mac).unwrap_or_else(|| panic!("no ACK for client {mac}:\n{}", server.log()));
        assert_eq!(a.options.get(code::ROUTERS), Some(&[198, 18, 0, 1][..]));
        assert_eq!(a.options.get(code::DNS), Some(&[192, 0, 2, 53][..]));
        given.push(a.yiaddr);
    }
    let d = Client::packet(4, MessageType::Discover);
    c.send(&d);
    assert!(c.reply(d.xid).is_none(), "an exhausted pool must not offer");
    server.wait_log("ALLOC_ENGINE_V4_ALLOC_FAIL");

    // DECLINE: the address goes into probation (state 1 in the file) and is not reused.
    let mut dec = Client::packet(1, MessageType::Decline);
    dec.options.insert(code::REQUESTED_IP, given[0].octets().to_vec());
    dec.options.insert(code::SERVER_ID, vec![198, 18, 0, 1]);
    c.send(&dec);
    server.wait_log("DHCP4_DECLINE_LEASE");
    std::thread::sleep(Duration::from_millis(100));
    let text = std::fs::read_to_string(&server.leases).unwrap();
    let last = text.lines().rev().find(|l| l.starts_with(&format!("{},", given[0]))).unwrap();
    let f: Vec<&str> = last.split(',').collect();
    assert_eq!((f[1], f[3], f[9]), ("", "3600", "1"), "declined row: {last}");
    let d = Client::packet(5, MessageType::Discover);
    c.send(&d);
    assert!(c.reply(d.xid).is_none(), "a declined address must not be offered during probation");

    // INFORM: options, no lease, nothing written.
    let rows_before = std::fs::read_to_string(&server.leases).unwrap().lines().count();
    let mut inf = Client::packet(9, MessageType::Inform);
    inf.ciaddr = Ipv4Addr::new(198, 18, 2, 9);
    c.send(&inf);
    let ack = c.reply(inf.xid).expect("no reply to INFORM");
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert!(ack.options.get(code::LEASE_TIME).is_none());
    assert_eq!(ack.options.get(code::ROUTERS), Some(&[198, 18, 0, 1][..]));
    assert_eq!(std::fs::read_to_string(&server.leases).unwrap().lines().count(), rows_before);
}

/// A reply to ciaddr (a RENEWING client) on a raw-socket interface leaves as a frame to the
/// request's Ethernet source, as Kea's packet filter sends it, so it does not depend on the
/// kernel's ARP table: with a wrong permanent neighbour entry for the client on the server,
/// the client still gets its ACK. The same exchange runs against Debian's Kea 2.2.
#[test]
fn a_renewing_ack_leaves_at_layer_two_whatever_the_arp_table_says() {
    require_root_and(&["ip"]);
    let ack = renew_behind_a_wrong_arp_entry("r", "q", |pair, dir| {
        let server = Server::start(&pair.srv, dir, &CFG.replace("@IFACE@", &pair.srv_if));
        Box::new(server)
    });
    assert_eq!(ack, Some((MessageType::Ack, Ipv4Addr::new(198, 18, 1, 11), Ipv4Addr::new(198, 18, 1, 11))));
}

#[test]
fn kea_2_2_sends_a_renewing_ack_at_layer_two_too() {
    require_root_and(&["ip", "/usr/sbin/kea-dhcp4"]);
    let ack = renew_behind_a_wrong_arp_entry("kr", "kq", |pair, dir| {
        let leases = dir.join("kea-leases4.csv");
        let cfg = CFG.replace("@IFACE@", &pair.srv_if).replace("@LEASES@", leases.to_str().unwrap()).replace(
            r#""valid-lifetime": 600,"#,
            r#""valid-lifetime": 600, "control-socket": {"socket-type": "unix", "socket-name": "@SOCKET@"},"#,
        );
        Box::new(common::Kea::start(&pair.srv, dir, 4, &cfg))
    });
    assert_eq!(ack, Some((MessageType::Ack, Ipv4Addr::new(198, 18, 1, 11), Ipv4Addr::new(198, 18, 1, 11))));
}

/// Starts a server with `start`, poisons its neighbour entry for the client, and has the
/// client (198.18.1.11, its real MAC in chaddr) renew by unicast: what came back.
fn renew_behind_a_wrong_arp_entry(
    a: &str,
    b: &str,
    start: impl FnOnce(&Pair, &std::path::Path) -> Box<dyn std::any::Any>,
) -> Option<(MessageType, Ipv4Addr, Ipv4Addr)> {
    let dir = tempfile::tempdir().unwrap();
    let client_ip = Ipv4Addr::new(198, 18, 1, 11);
    let pair = Pair::new(a, b, "198.18.0.1/15", Some("198.18.1.11/15"));
    let wrong = ["ip", "-n", &pair.srv, "neigh", "replace", "198.18.1.11", "lladdr", "02:00:00:00:00:ee"];
    common::run(&[&wrong[..], &["dev", &pair.srv_if, "nud", "permanent"]].concat());
    let _server = start(&pair, dir.path());
    let link = common::run(&["ip", "-n", &pair.cli, "-o", "link", "show", "dev", &pair.cli_if]);
    let text = String::from_utf8_lossy(&link.stdout).to_string();
    let mac_text = text.split("link/ether ").nth(1).and_then(|t| t.split_whitespace().next()).expect("a MAC");
    let mac: Vec<u8> = mac_text.split(':').map(|h| u8::from_str_radix(h, 16).unwrap()).collect();

    let sock = socket_in(&pair.cli, SocketAddrV4::new(client_ip, 68));
    sock.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let mut req = Pkt4 { htype: 1, hlen: 6, xid: 0x7e57, ciaddr: client_ip, ..Pkt4::default() };
    req.chaddr[..6].copy_from_slice(&mac);
    req.set_message_type(MessageType::Request);
    let mut out = Vec::new();
    req.encode(&mut out);
    let mut buf = [0u8; 1500];
    for _ in 0..3 {
        sock.send_to(&out, SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67)).unwrap();
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return Pkt4::decode(&buf[..n]).ok().and_then(|p| Some((p.message_type()?, p.yiaddr, p.ciaddr)));
        }
    }
    None
}
