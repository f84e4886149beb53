//! perfdhcp (Kea's load generator, acting as a relay) against kakapo on UDP sockets
//! (`dhcp-socket-type: udp`; the raw path is covered by the dhclient tests): 1000 exchanges/s for
//! 10 s with no drops and every lease unique (issue 3 acceptance). Benchmark ranges only
//! (198.18.0.0/15), inside namespaces made here.

mod common;

use std::process::Command;

use common::{require_root_and, Pair, Server};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}]
}}"#;

/// The value after `label` in perfdhcp's report, for the n-th exchange (0: DO, 1: RA).
fn field(report: &str, label: &str, n: usize) -> u64 {
    report
        .lines()
        .filter(|l| l.trim_start().starts_with(label))
        .nth(n)
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no '{label}' #{n} in:\n{report}"))
}

#[test]
fn perfdhcp_1000_per_second_for_10_seconds_without_drops() {
    require_root_and(&["perfdhcp", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("p", "q", "198.18.0.1/15", Some("198.18.0.2/15"));
    let (srv, cli, si) = (&pair.srv, &pair.cli, &pair.srv_if);
    let server = Server::start(srv, dir.path(), &CFG.replace("@IFACE@", si));
    // -l with a unicast server address makes perfdhcp act as a relay (giaddr 198.18.0.2);
    // -W waits 1 s after the 10 s run for replies still in flight.
    let out = Command::new("ip")
        .args(["netns", "exec", cli, "timeout", "60", "perfdhcp", "-4", "-r", "1000", "-p", "10", "-R", "15000"])
        .args(["-W", "1000000", "-l", "198.18.0.2", "198.18.0.1"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}");
    for n in 0..2 {
        assert!(field(&report, "sent packets", n) >= 9900, "{report}");
        assert_eq!(field(&report, "drops", n), 0, "{report}");
        assert_eq!(field(&report, "non unique addresses", n), 0, "{report}");
    }
    assert!(out.status.success(), "perfdhcp exit {:?}:\n{report}", out.status);
    let acks = field(&report, "received packets", 1);
    let live = server.leases();
    let mut addrs: Vec<&str> = live.iter().map(|(a, _, _)| a.as_str()).collect();
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(addrs.len() as u64, acks, "every ACK is a distinct lease in the file");
}

const CFG6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:2::/48", "interface": "@IFACE@",
     "pools": [{"pool": "2001:2::1:0 - 2001:2::ffff:ffff"}],
     "pd-pools": [{"prefix": "2001:2:0:8000::", "prefix-len": 49, "delegated-len": 64}]}]
}}"#;

/// perfdhcp -6 on the link (from the client's link-local address to ff02::1:2), 1000
/// SOLICIT-ADVERTISE-REQUEST-REPLY exchanges/s for 10 s, with `-e` as given.
fn perfdhcp6(tag: &str, lease_type: &str) {
    require_root_and(&["perfdhcp", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = common::Net::new();
    let (srv, cli) = (net.ns6(&format!("{tag}s")), net.ns6(&format!("{tag}c")));
    let p = std::process::id();
    let (si, ci) = (format!("k{tag}s{p}"), format!("k{tag}c{p}"));
    net.link(&srv, &si, &cli, &ci);
    common::run(&["ip", "-n", &srv, "addr", "add", "2001:2::1/64", "dev", &si]);
    for (ns, dev) in [(&srv, &si), (&cli, &ci)] {
        common::wait_link_local(ns, dev);
    }
    let server = Server::start_v6(&srv, dir.path(), &CFG6.replace("@IFACE@", &si));
    let out = Command::new("ip")
        .args(["netns", "exec", &cli, "timeout", "60", "perfdhcp", "-6", "-r", "1000", "-p", "10", "-R", "15000"])
        .args(["-e", lease_type, "-W", "1000000", "-l", &ci])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    for n in 0..2 {
        assert!(field(&report, "sent packets", n) >= 9900, "{report}");
        assert_eq!(field(&report, "drops", n), 0, "{report}");
    }
    assert!(out.status.success(), "perfdhcp exit {:?}:\n{report}", out.status);
    let replies = field(&report, "received packets", 1);
    let rows = server.leases6();
    let nas = rows.iter().filter(|r| r.2 == 0).count() as u64;
    let pds = rows.iter().filter(|r| r.2 == 2).count() as u64;
    let mut distinct: Vec<(&str, u8)> = rows.iter().map(|r| (r.0.as_str(), r.2)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), rows.len(), "no address or prefix leased twice");
    assert_eq!(nas, replies, "one address per REPLY");
    if lease_type == "address-and-prefix" {
        assert_eq!(pds, replies, "one prefix per REPLY");
    }
}

#[test]
fn perfdhcp6_1000_per_second_for_10_seconds_without_drops() {
    perfdhcp6("x", "address-only");
}

#[test]
fn perfdhcp6_address_and_prefix_1000_per_second_without_drops() {
    perfdhcp6("z", "address-and-prefix");
}
