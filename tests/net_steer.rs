//! Client steering over several sockets of one interface (net::steer), on real sockets in
//! network namespaces: every datagram (relayed unicast, broadcast, multicast) reaches exactly
//! one socket of the group, the one [`Steer::index_of`] names for its client.

mod common;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use common::{broadcast_socket_in, require_root_and, run, socket_in, Pair};
use kakapo::net::raw::RawV4Socket;
use kakapo::net::steer::Steer;
use kakapo::net::udp4::Udp4Socket;
use kakapo::net::udp6::Udp6Socket;

const SHARES: u32 = 3;

fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Reads every socket until nothing more arrives for 300 ms; per socket, the tags received
/// (the 4 bytes at 4..8 of each payload).
fn drain(recv: &mut dyn FnMut(usize, &mut [u8]) -> Option<usize>, socks: usize) -> Vec<Vec<u32>> {
    let mut got = vec![Vec::new(); socks];
    let mut quiet = 0;
    let mut buf = [0u8; 1500];
    while quiet < 30 {
        let mut any = false;
        for (i, g) in got.iter_mut().enumerate() {
            while let Some(n) = recv(i, &mut buf) {
                assert!(n >= 8);
                g.push(u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]));
                any = true;
            }
        }
        quiet = if any { 0 } else { quiet + 1 };
        std::thread::sleep(Duration::from_millis(10));
    }
    got
}

/// A 300-byte DHCPv4-shaped payload: `tag` as xid, `chaddr` at 28.
fn dhcp4(tag: u32, chaddr: [u8; 6]) -> Vec<u8> {
    let mut p = vec![0u8; 300];
    p[0] = 1;
    p[4..8].copy_from_slice(&tag.to_be_bytes());
    p[28..34].copy_from_slice(&chaddr);
    p
}

fn chaddr(k: u32) -> [u8; 6] {
    [2, 0, k as u8, (k * 7) as u8, (k as u8) ^ 0x5a, (k * 13) as u8]
}

/// Checks that each tag arrived once, at the socket `expect` names.
fn check(got: &[Vec<u32>], expect: &BTreeMap<u32, u32>) {
    let mut seen = BTreeMap::new();
    for (i, tags) in got.iter().enumerate() {
        for t in tags {
            assert!(seen.insert(*t, i as u32).is_none(), "tag {t:#x} arrived twice");
        }
    }
    assert_eq!(&seen, expect, "every datagram at its client's socket, once");
    assert!(
        got.iter().all(|g| !g.is_empty()),
        "every share got clients: {:?}",
        got.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn dhcpv4_udp_sockets_share_relayed_and_broadcast_clients_by_chaddr() {
    require_root_and(&["ip"]);
    let pair = Pair::new("ta", "tb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let socks: Vec<Udp4Socket> = (0..SHARES)
        .map(|index| {
            let dev = pair.srv_if.clone();
            in_ns(&pair.srv, move || {
                let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 67);
                Udp4Socket::bind_steered(any, &dev, Steer { index, count: SHARES }).unwrap()
            })
        })
        .collect();
    let relay = socket_in(&pair.cli, "198.18.0.2:67".parse().unwrap());
    let client = broadcast_socket_in(&pair.cli, &pair.cli_if, "0.0.0.0:68".parse().unwrap());
    let mut expect = BTreeMap::new();
    for k in 0..40u32 {
        let hw = chaddr(k);
        let share = Steer::index_of([hw[2], hw[3], hw[4], hw[5]], SHARES);
        relay.send_to(&dhcp4(k, hw), "198.18.0.1:67").unwrap();
        client.send_to(&dhcp4(0x100 + k, hw), "255.255.255.255:67").unwrap();
        expect.insert(k, share);
        expect.insert(0x100 + k, share);
    }
    let got = drain(&mut |i, buf| socks[i].recv(buf).ok().map(|r| r.len), socks.len());
    check(&got, &expect);
}

#[test]
fn dhcpv4_packet_sockets_share_broadcast_clients_by_chaddr() {
    require_root_and(&["ip"]);
    let pair = Pair::new("tr", "ts", "198.18.0.1/15", None);
    let socks: Vec<RawV4Socket> = (0..SHARES)
        .map(|index| {
            let dev = pair.srv_if.clone();
            in_ns(&pair.srv, move || RawV4Socket::open_steered(&dev, 67, Steer { index, count: SHARES }).unwrap())
        })
        .collect();
    let client = broadcast_socket_in(&pair.cli, &pair.cli_if, "0.0.0.0:68".parse().unwrap());
    let mut expect = BTreeMap::new();
    for k in 0..40u32 {
        let hw = chaddr(k);
        client.send_to(&dhcp4(k, hw), "255.255.255.255:67").unwrap();
        expect.insert(k, Steer::index_of([hw[2], hw[3], hw[4], hw[5]], SHARES));
    }
    let got = drain(&mut |i, buf| socks[i].recv(buf).ok().flatten().map(|r| r.len), socks.len());
    check(&got, &expect);
}

/// A RELAY-FORW carrying `tag` at 4..8 (inside the link-address) for the client `peer`.
fn relay_forw(tag: u32, peer: Ipv6Addr) -> Vec<u8> {
    let mut p = vec![12u8, 0];
    p.extend_from_slice(&[0; 16]);
    p[4..8].copy_from_slice(&tag.to_be_bytes());
    p.extend_from_slice(&peer.octets());
    p.extend_from_slice(&[0, 9, 0, 4, 1, 0, 0, 1]);
    p
}

#[test]
fn dhcpv6_udp_sockets_share_relayed_and_multicast_clients() {
    require_root_and(&["ip"]);
    let pair = Pair::new("tc", "td", "198.18.0.1/15", None);
    run(&["ip", "-n", &pair.srv, "addr", "add", "2001:db8::1/64", "dev", &pair.srv_if, "nodad"]);
    run(&["ip", "-n", &pair.cli, "addr", "add", "2001:db8::2/64", "dev", &pair.cli_if, "nodad"]);
    let sources: Vec<Ipv6Addr> =
        (0..12u16).map(|k| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0xa, 0x100 + k * 37)).collect();
    for s in &sources {
        run(&["ip", "-n", &pair.cli, "addr", "add", &format!("{s}/64"), "dev", &pair.cli_if, "nodad"]);
    }
    let socks: Vec<Udp6Socket> = (0..SHARES)
        .map(|index| {
            let dev = pair.srv_if.clone();
            in_ns(&pair.srv, move || {
                let any = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 547, 0, 0);
                Udp6Socket::bind_steered(any, &dev, true, Steer { index, count: SHARES }).unwrap()
            })
        })
        .collect();
    let ifindex = common::ifindex_in(&pair.cli, &pair.cli_if);
    let relay = common::socket6_in(&pair.cli, &pair.cli_if, "[2001:db8::2]:547".parse().unwrap());
    let mut expect = BTreeMap::new();
    for k in 0..30u32 {
        let peer = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x200, 0xff, 0xfe00 + k as u16, (k * 7919) as u16);
        relay.send_to(&relay_forw(k, peer), "[2001:db8::1]:547").unwrap();
        let o = peer.octets();
        expect.insert(k, Steer::index_of([o[12], o[13], o[14], o[15]], SHARES));
    }
    let group = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, ifindex);
    for (k, src) in sources.iter().enumerate() {
        let from = common::socket6_in(&pair.cli, &pair.cli_if, SocketAddrV6::new(*src, 546, 0, 0));
        let tag = 0x100 + k as u32;
        let mut solicit = vec![1u8, 0, 0, 1, 0, 0, 0, 0];
        solicit[4..8].copy_from_slice(&tag.to_be_bytes());
        from.send_to(&solicit, group).unwrap();
        let o = src.octets();
        expect.insert(tag, Steer::index_of([o[12], o[13], o[14], o[15]], SHARES));
    }
    let got = drain(&mut |i, buf| socks[i].recv(buf).ok().map(|r| r.len), socks.len());
    check(&got, &expect);
}
