//! A running server fed a corpus of truncated and malformed packets keeps answering, and
//! counts each one as a parse failure (logged as DHCP4_PACKET_DROP_0001, statistic
//! pkt4-parse-failed; the statistic itself is asserted in tests/engine_v4.rs until the
//! control API exposes it).

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use common::{require_root_and, socket_in, Pair, Server};
use kakapo::wire::v4::{code, MessageType, Pkt4};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.18.1.200"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 99}]
}}"#;

fn discover(mac_last: u8) -> Vec<u8> {
    let mut p = Pkt4 {
        htype: 1,
        hlen: 6,
        hops: 1,
        xid: 0xabc0 + u32::from(mac_last),
        giaddr: Ipv4Addr::new(198, 18, 0, 2),
        ..Pkt4::default()
    };
    p.chaddr[..6].copy_from_slice(&[2, 0, 0, 0, 0, mac_last]);
    p.set_message_type(MessageType::Discover);
    p.options.insert(code::HOST_NAME, b"malformed-test".to_vec());
    let mut out = Vec::new();
    p.encode(&mut out);
    out
}

#[test]
fn malformed_corpus_is_counted_and_service_continues() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("m", "n", "198.18.0.1/15", Some("198.18.0.2/15"));
    let (srv, cli, si) = (&pair.srv, &pair.cli, &pair.srv_if);
    let server = Server::start(srv, dir.path(), &CFG.replace("@IFACE@", si));
    let sock = socket_in(cli, SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 2), 67));
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let to = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67);

    // The corpus: every truncation of a valid DISCOVER that cannot parse, a bad magic cookie,
    // an option running past the end, an hlen over 16, and pseudo-random bytes.
    let good = discover(1);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for cut in (0..240).step_by(7) {
        corpus.push(good[..cut].to_vec());
    }
    let mut bad_cookie = good.clone();
    bad_cookie[236] = 0;
    corpus.push(bad_cookie);
    let mut overrun = good[..243].to_vec();
    overrun.extend_from_slice(&[12, 200, b'x']);
    corpus.push(overrun);
    let mut hlen = good.clone();
    hlen[2] = 40;
    corpus.push(hlen);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for len in [1usize, 50, 239, 240, 300, 576] {
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x as u8);
        }
        // Keep the random ones from accidentally being valid requests.
        if v.len() > 236 {
            v[236] = 0;
        }
        corpus.push(v);
    }
    for (i, pkt) in corpus.iter().enumerate() {
        sock.send_to(pkt, to).unwrap();
        // Interleave valid traffic: the server must keep answering throughout.
        if i % 10 == 0 {
            sock.send_to(&discover(2 + (i / 10) as u8), to).unwrap();
        }
    }
    let mut offers = 0;
    let mut buf = [0u8; 1500];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        if Pkt4::decode(&buf[..n]).ok().and_then(|p| p.message_type()) == Some(MessageType::Offer) {
            offers += 1;
        }
    }
    let expected_offers = corpus.len().div_ceil(10);
    assert_eq!(offers, expected_offers, "valid DISCOVERs interleaved with garbage must all be answered");
    sock.send_to(&discover(99), to).unwrap();
    let (n, _) = sock.recv_from(&mut buf).expect("no answer after the corpus");
    assert_eq!(Pkt4::decode(&buf[..n]).unwrap().message_type(), Some(MessageType::Offer));
    std::thread::sleep(Duration::from_millis(200));
    let drops = server.log().matches("DHCP4_PACKET_DROP_0001").count();
    assert_eq!(drops, corpus.len(), "each malformed packet is counted once:\n{}", server.log());
}
