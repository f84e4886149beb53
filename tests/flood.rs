//! Floods against a running kakapo, then a real client (issue 10: "A flood of 300 DISCOVERs
//! with random MACs, and one SOLICIT with 256 IA_PD options, do not stop a real dhclient from
//! being served right after"); design.md test tier 3. The flood is sent as a client on the
//! link would send it (v4 broadcast from 0.0.0.0:68, v6 to ff02::1:2), the server's own
//! counters (`statistic-get` on its control socket) show it arrived, and ISC dhclient is run
//! at once after it. Only namespaces and veth links made here are touched, addresses are
//! documentation ones, every wait is bounded, and only processes started here are stopped.

mod common;

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::process::Command;
use std::time::Duration;

use common::{
    broadcast_socket_in, dhclient_run, ifindex_in, require_root_and, run, socket6_in, statistic, wait_link_local, Net,
    Server,
};
use kakapo::clock::monotonic_now;
use kakapo::wire::v4::{MessageType as Msg4, Pkt4};
use kakapo::wire::v6::{code, decode, IaPd, MessageType as Msg6, Pkt6};

/// A 100-address pool: the 300 flooding clients exhaust it three times over.
const CFG4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "kea4.sock"},
  "valid-lifetime": 600,
  "subnet4": [{"id": 1, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.100 - 198.51.100.199"}],
     "option-data": [{"name": "routers", "data": "198.51.100.1"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "INFO"}]
}}"#;

const CFG6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "kea6.sock"},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "@IFACE@",
     "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
     "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "INFO"}]
}}"#;

/// `n` pseudo-random unicast, locally administered MACs (xorshift64 from `seed`).
fn random_macs(n: usize, mut seed: u64) -> Vec<[u8; 6]> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let b = seed.to_be_bytes();
            [0x02, b[0], b[1], b[2], b[3], b[4]]
        })
        .collect()
}

/// The value of `key=` on the first recorded line starting with `reason`.
fn recorded(events: &str, reason: &str, key: &str) -> Option<String> {
    events
        .lines()
        .filter(|l| l.starts_with(reason))
        .flat_map(|l| l.split_whitespace())
        .find_map(|w| w.strip_prefix(key).filter(|v| !v.is_empty()).map(str::to_string))
}

/// Whether `prefix/len` is a /56 of the pd-pool 2001:db8:8000::/48.
fn in_pd_pool(prefix: Ipv6Addr, len: u8) -> bool {
    let s = prefix.segments();
    len == 56 && s[..3] == [0x2001, 0xdb8, 0x8000] && s[3] & 0xff == 0 && s[4..] == [0; 4]
}

/// The MAC address of `dev` inside `ns`, as the lease file writes it.
fn mac_of(ns: &str, dev: &str) -> String {
    let o = run(&["ip", "netns", "exec", ns, "cat", &format!("/sys/class/net/{dev}/address")]);
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The packet sockets open in `ns` with their memory counters (`ss -0 -m`), where `d` counts
/// frames the kernel dropped because the receive buffer was full; for failure messages.
fn packet_sockets(ns: &str) -> String {
    Command::new("ip")
        .args(["netns", "exec", ns, "ss", "-0", "-a", "-m"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("ss: {e}"))
}

/// 300 DHCPDISCOVERs with distinct pseudo-random MACs, broadcast from 0.0.0.0:68 as fast as
/// the socket takes them (no reply awaited), against a pool of 100 addresses: the server
/// counts every one and answers every one (pool exhausted or not: an offer hold never refuses
/// a client, the oldest is given up), writes no lease for an offer, and a real `dhclient -4`
/// started right after is bound from the pool within 20 s at its first or second DISCOVER,
/// by a server that is still running and then stops cleanly.
#[test]
fn discover_flood_then_dhclient_gets_a_lease() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let (srv, cli) = (net.ns("f4s"), net.ns("f4c"));
    let p = std::process::id();
    let (si, ci) = (format!("kf4s{p}"), format!("kf4c{p}"));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "198.51.100.1/24", "dev", &si]);
    let mut server = Server::start(&srv, dir.path(), &CFG4.replace("@IFACE@", &si));
    let ctl = dir.path().join("kea4.sock");
    assert_eq!(statistic(&ctl, "pkt4-discover-received"), 0, "nothing counted before the flood");

    let macs = random_macs(300, 0x2545_f491_4f6c_dd1d ^ u64::from(p));
    assert_eq!(macs.iter().collect::<HashSet<_>>().len(), 300, "300 distinct MACs");
    // The client interface has no address: the DISCOVERs leave from 0.0.0.0:68.
    let sock = broadcast_socket_in(&cli, &ci, "0.0.0.0:68".parse().unwrap());
    let t = monotonic_now();
    for (n, mac) in macs.iter().enumerate() {
        let mut d = Pkt4 { htype: 1, hlen: 6, xid: 0x0f10_0000 + n as u32, ..Pkt4::default() };
        d.chaddr[..6].copy_from_slice(mac);
        d.set_message_type(Msg4::Discover);
        let mut out = Vec::new();
        d.encode(&mut out);
        sock.send_to(&out, "255.255.255.255:67").unwrap();
    }
    let flood = t.elapsed();
    drop(sock);

    let limit = Duration::from_secs(20);
    let r = dhclient_run(&cli, &ci, dir.path(), &["-4"], "timeout 20;\nretry 1;\n", &["BOUND"], limit);
    let discovers = r.log.matches("DHCPDISCOVER on").count();
    eprintln!(
        "flood of 300 DISCOVERs sent in {flood:?}; dhclient bound after {:?} with {discovers} DISCOVER(s)",
        r.done_after
    );
    let report = || format!("{}\n{}\n{}", r.events, r.log, server.log());
    let took =
        r.done_after.unwrap_or_else(|| panic!("dhclient not bound within {limit:?} after the flood:\n{}", report()));
    assert!(took < limit);
    let ip: Ipv4Addr = recorded(&r.events, "BOUND", "ip=").expect("a bound address").parse().unwrap();
    let (lo, hi): (Ipv4Addr, Ipv4Addr) = ("198.51.100.100".parse().unwrap(), "198.51.100.199".parse().unwrap());
    assert!(lo <= ip && ip <= hi, "{ip} is not from the pool:\n{}", report());
    // Served at once: the first or second DISCOVER is answered, not a later retry.
    assert!((1..=2).contains(&discovers), "dhclient sent {discovers} DISCOVERs:\n{}", r.log);
    assert!(server.child.try_wait().unwrap().is_none(), "the server died:\n{}", server.log());

    // The flood reached the server and every DISCOVER (the flood's and dhclient's) was answered.
    let received = statistic(&ctl, "pkt4-discover-received");
    let offered = statistic(&ctl, "pkt4-offer-sent");
    let failed = statistic(&ctl, "v4-allocation-fail");
    eprintln!("pkt4-discover-received {received}, pkt4-offer-sent {offered}, v4-allocation-fail {failed}");
    assert_eq!(
        received,
        300 + discovers as i64,
        "the server counted every DISCOVER; its packet sockets (d: dropped by the kernel):\n{}",
        packet_sockets(&srv)
    );
    assert_eq!(offered, received, "every DISCOVER got an OFFER although the pool ran out");
    assert_eq!(failed, 0, "no allocation failed");
    assert_eq!(statistic(&ctl, "pkt4-ack-sent"), 1, "one client completed DORA");
    // Offers are not written: the only lease is dhclient's.
    let leases = server.leases();
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert_eq!((leases[0].0.as_str(), leases[0].1.as_str()), (ip.to_string().as_str(), mac_of(&cli, &ci).as_str()));
    assert_eq!(server.stop(), Some(0), "a clean stop after the flood:\n{}", server.log());
}

/// One SOLICIT carrying 256 IA_PD options with distinct IAIDs: the server answers it with an
/// ADVERTISE serving at most 16 of them (each IAID one that was asked, each with its own /56
/// from the pd-pool), commits nothing for it and stays up; a real `dhclient -6` right after
/// gets an address from the pool and a prefix from the pd-pool within 20 s.
#[test]
fn solicit_with_256_ia_pd_then_dhclient6_gets_a_lease() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let (srv, cli) = (net.ns6("f6s"), net.ns6("f6c"));
    let p = std::process::id();
    let (si, ci) = (format!("kf6s{p}"), format!("kf6c{p}"));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "2001:db8:1::1/64", "dev", &si]);
    wait_link_local(&srv, &si);
    wait_link_local(&cli, &ci);
    let mut server = Server::start_v6(&srv, dir.path(), &CFG6.replace("@IFACE@", &si));
    let ctl = dir.path().join("kea6.sock");

    let duid = "00:03:00:01:02:00:00:00:f6:01";
    let xid = 0x00f6_0001;
    let mut sol = Pkt6::new(Msg6::Solicit, xid);
    sol.options.push(code::CLIENTID, duid.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect());
    sol.options.push(code::ELAPSED_TIME, vec![0, 0]);
    for iaid in 1..=256u32 {
        let mut b = Vec::new();
        IaPd::new(iaid, 0, 0).encode(&mut b);
        sol.options.push(code::IA_PD, b);
    }
    let mut out = Vec::new();
    sol.encode(&mut out);
    assert_eq!(decode(&out).unwrap().inner.options.get_all(code::IA_PD).count(), 256);

    // Sent from port 546 of the client interface to ff02::1:2; resent (at most twice) only if
    // no ADVERTISE for it came back within 2 s.
    let sock = socket6_in(&cli, &ci, SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 546, 0, 0));
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let to = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, ifindex_in(&cli, &ci));
    let mut buf = vec![0u8; 65536];
    let (mut sent, mut adv) = (0i64, None);
    let t = monotonic_now();
    while adv.is_none() && sent < 3 {
        sock.send_to(&out, to).unwrap();
        sent += 1;
        let wait = monotonic_now();
        while adv.is_none() && wait.elapsed() < Duration::from_secs(2) {
            let Ok((n, _)) = sock.recv_from(&mut buf) else { break };
            adv = decode(&buf[..n]).ok().map(|d| d.inner).filter(|a| a.xid == xid && a.msg_type == Msg6::Advertise);
        }
    }
    let answered = t.elapsed();
    drop(sock);
    let adv = adv.unwrap_or_else(|| panic!("no ADVERTISE to the SOLICIT of {} bytes:\n{}", out.len(), server.log()));
    let pds: Vec<IaPd> = adv.options.get_all(code::IA_PD).map(|b| IaPd::parse(b).unwrap()).collect();
    eprintln!(
        "SOLICIT of {} bytes with 256 IA_PD sent {sent} time(s); ADVERTISE after {answered:?} carries {} IA_PD",
        out.len(),
        pds.len()
    );
    assert!((1..=16).contains(&pds.len()), "{} IA_PD in the ADVERTISE", pds.len());
    let iaids: HashSet<u32> = pds.iter().map(|ia| ia.iaid).collect();
    assert_eq!(iaids.len(), pds.len(), "each served IA_PD once: {pds:?}");
    assert!(iaids.iter().all(|i| (1..=256).contains(i)), "only IAIDs that were asked: {iaids:?}");
    let mut prefixes = HashSet::new();
    for ia in &pds {
        assert!(ia.status.is_none() && ia.prefixes.len() == 1, "{ia:?}");
        let pf = &ia.prefixes[0];
        assert!(in_pd_pool(pf.prefix, pf.prefix_len), "{pf:?}");
        assert!(prefixes.insert(pf.prefix), "{} advertised twice", pf.prefix);
    }
    assert!(server.child.try_wait().unwrap().is_none(), "the server died:\n{}", server.log());

    let limit = Duration::from_secs(20);
    let conf = "request dhcp6.name-servers;\n";
    let r = dhclient_run(&cli, &ci, dir.path(), &["-6", "-N", "-P"], conf, &["BOUND6"], limit);
    eprintln!("dhclient -6 bound after {:?}", r.done_after);
    let report = || format!("{}\n{}\n{}", r.events, r.log, server.log());
    let took = r.done_after.unwrap_or_else(|| panic!("dhclient -6 not bound within {limit:?}:\n{}", report()));
    assert!(took < limit);
    let addr: Ipv6Addr = recorded(&r.events, "BOUND6", "ip6=").expect("a bound address").parse().unwrap();
    let (lo, hi): (Ipv6Addr, Ipv6Addr) = ("2001:db8:1::100".parse().unwrap(), "2001:db8:1::1ff".parse().unwrap());
    assert!(lo <= addr && addr <= hi, "{addr} is not from the pool:\n{}", report());
    let prefix = recorded(&r.events, "BOUND6", "prefix=").unwrap_or_else(|| panic!("no prefix:\n{}", report()));
    let (net6, len) = prefix.split_once('/').unwrap_or_else(|| panic!("{prefix}"));
    assert!(in_pd_pool(net6.parse().unwrap(), len.parse().unwrap()), "{prefix} is not from the pd-pool");
    assert!(server.child.try_wait().unwrap().is_none(), "the server died:\n{}", server.log());

    let solicits = statistic(&ctl, "pkt6-solicit-received");
    let advertised = statistic(&ctl, "pkt6-advertise-sent");
    eprintln!("pkt6-solicit-received {solicits}, pkt6-advertise-sent {advertised}");
    assert!(solicits > sent, "the big SOLICIT(s) and dhclient's were counted: {solicits}");
    assert!(advertised >= 2, "the big SOLICIT and dhclient's were answered: {advertised}");
    // An ADVERTISE commits nothing: the lease file holds dhclient's address and prefix only.
    let rows = server.leases6();
    assert!(rows.iter().all(|r| r.1 != duid), "a lease was written for the 256-IA_PD client: {rows:?}");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.2 == 0 && r.0 == addr.to_string()), "{rows:?}");
    assert!(rows.iter().any(|r| r.2 == 2 && format!("{}/{}", r.0, r.3) == prefix), "{rows:?}");
    assert_eq!(server.stop(), Some(0), "a clean stop:\n{}", server.log());
}
