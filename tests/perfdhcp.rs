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
