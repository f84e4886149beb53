//! Crash safety (issue 3 acceptance): clients stream REQUESTs through a relay address, the
//! server is SIGKILLed in the middle of the burst, and after a restart every address a client
//! saw ACKed is in the lease file with that client's MAC.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use common::{require_root_and, socket_in, Pair, Server};
use kakapo::wire::v4::{code, MessageType, Pkt4};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}]
}}"#;

fn packet(mac: [u8; 6], mt: MessageType, xid: u32) -> Pkt4 {
    let mut p = Pkt4 { htype: 1, hlen: 6, hops: 1, xid, giaddr: Ipv4Addr::new(198, 18, 0, 2), ..Pkt4::default() };
    p.chaddr[..6].copy_from_slice(&mac);
    p.set_message_type(mt);
    p
}

fn mac_of(i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [0x02, 0x00, b[0], b[1], b[2], b[3]]
}

#[test]
fn every_acknowledged_lease_survives_sigkill() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("x", "y", "198.18.0.1/15", Some("198.18.0.2/15"));
    let (srv, cli, si) = (&pair.srv, &pair.cli, &pair.srv_if);
    let cfg = CFG.replace("@IFACE@", si);
    let mut server = Server::start(srv, dir.path(), &cfg);

    let sock = socket_in(cli, SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67));
    sock.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    let to = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67);
    let clients = 5000u32;
    let kill_after = 1500usize;
    let mut acked: Vec<([u8; 6], Ipv4Addr)> = Vec::new();
    let mut next = 0u32;
    let mut killed = false;
    let mut buf = vec![0u8; 1500];
    let mut out = Vec::new();
    // Bounded: at most ~20 s of wall time whatever happens.
    for _round in 0..10_000 {
        // Keep about 64 clients in flight.
        for _ in 0..8 {
            if next < clients && !killed {
                out.clear();
                packet(mac_of(next), MessageType::Discover, next).encode(&mut out);
                sock.send_to(&out, to).unwrap();
                next += 1;
            }
        }
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            let Ok(reply) = Pkt4::decode(&buf[..n]) else { continue };
            let mac: [u8; 6] = reply.chaddr[..6].try_into().unwrap();
            match reply.message_type() {
                Some(MessageType::Offer) => {
                    let mut req = packet(mac, MessageType::Request, reply.xid);
                    req.options.insert(code::REQUESTED_IP, reply.yiaddr.octets().to_vec());
                    req.options.insert(code::SERVER_ID, reply.server_id().unwrap().octets().to_vec());
                    out.clear();
                    req.encode(&mut out);
                    let _ = sock.send_to(&out, to);
                }
                Some(MessageType::Ack) => acked.push((mac, reply.yiaddr)),
                _ => {}
            }
        }
        if !killed && acked.len() >= kill_after {
            // Mid-burst: REQUESTs are still in flight and rows are being synced.
            server.crash();
            killed = true;
        }
        if killed || next >= clients && acked.len() as u32 >= clients {
            break;
        }
    }
    assert!(killed, "the burst ended before the kill ({} ACKs)", acked.len());
    // Drain ACKs that were already on the wire when the server died.
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        if let Ok(reply) = Pkt4::decode(&buf[..n]) {
            if reply.message_type() == Some(MessageType::Ack) {
                acked.push((reply.chaddr[..6].try_into().unwrap(), reply.yiaddr));
            }
        }
    }
    drop(server);

    let server = Server::start(srv, dir.path(), &cfg);
    let live = server.leases();
    let mut missing = Vec::new();
    for (mac, ip) in &acked {
        let hw = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        if !live.iter().any(|(a, h, _)| *a == ip.to_string() && *h == hw) {
            missing.push(format!("{ip} {hw}"));
        }
    }
    eprintln!("{} ACKs before and around the kill, {} leases in the file after restart", acked.len(), live.len());
    assert!(missing.is_empty(), "{} acknowledged leases lost: {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert!(server.log().contains(&format!("({} leases", live.len())));
}
