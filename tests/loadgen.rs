//! kakapo-loadgen (bench/loadgen) against kakapo in network namespaces: DHCPv4 DORA and
//! DHCPv6 SARR with IA_NA and IA_PD as a relay agent at a modest fixed rate, every exchange
//! completed and a sane latency report in parsable JSON; and perfdhcp and kakapo-loadgen at
//! the same rate against the same server agreeing within 5 %. Benchmark ranges only
//! (198.18.0.0/15, 2001:2::/48), inside namespaces made here; every run bounded by `timeout`.

mod common;

use std::process::Command;

use common::{require_root_and, Pair, Server};
use serde_json::Value;

const CFG4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}]
}}"#;

const CFG6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:2::/48", "interface": "@IFACE@",
     "pools": [{"pool": "2001:2::1:0 - 2001:2::ffff:ffff"}],
     "pd-pools": [{"prefix": "2001:2:0:8000::", "prefix-len": 49, "delegated-len": 80}]}]
}}"#;

/// Runs kakapo-loadgen with `args` in namespace `ns` and returns its JSON report.
fn loadgen(ns: &str, args: &[&str]) -> Value {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "30", env!("CARGO_BIN_EXE_kakapo-loadgen")])
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kakapo-loadgen exit {:?}", out.status);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn n(j: &Value, path: &[&str]) -> u64 {
    let mut v = j;
    for p in path {
        v = &v[*p];
    }
    v.as_u64().unwrap_or_else(|| panic!("no number at {path:?} in {j}"))
}

/// Every exchange started completed, nothing dropped or unmatched, and the latency
/// percentiles are ordered, counted and within the timeout.
fn assert_clean(j: &Value, expected: u64, timeout_ms: u64) {
    let sent = n(j, &["sent"]);
    assert!(sent >= expected * 99 / 100, "sent {sent} of {expected}: {j}");
    assert_eq!(n(j, &["completed"]), sent, "{j}");
    for k in ["first", "second", "total"] {
        assert_eq!(n(j, &["drops", k]), 0, "{j}");
    }
    for k in ["rejected", "unmatched", "invalid", "send_errors"] {
        assert_eq!(n(j, &[k]), 0, "{k}: {j}");
    }
    for h in ["exchange", "first", "second"] {
        let l = |q: &str| n(j, &["latency_us", h, q]);
        assert_eq!(l("count"), sent, "{h}: {j}");
        assert!(0 < l("p50") && l("p50") <= l("p90") && l("p90") <= l("p99") && l("p99") <= l("max"), "{h}: {j}");
        assert!(l("max") < timeout_ms * 1000, "{h}: {j}");
    }
    assert!(n(j, &["latency_us", "first", "p50"]) <= n(j, &["latency_us", "exchange", "p50"]), "{j}");
    let achieved = j["achieved_rate"].as_f64().unwrap();
    let rate = n(j, &["rate"]) as f64;
    assert!((achieved - rate).abs() <= rate * 0.02, "{j}");
}

#[test]
fn loadgen_v4_dora_as_a_relay_completes_every_exchange() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("la", "lb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = Server::start(&pair.srv, dir.path(), &CFG4.replace("@IFACE@", &pair.srv_if));
    let j = loadgen(
        &pair.cli,
        &[
            "-4",
            "--server",
            "198.18.0.1",
            "--rate",
            "500",
            "--duration",
            "4",
            "--clients",
            "5000",
            "--timeout-ms",
            "2000",
        ],
    );
    assert_eq!((n(&j, &["family"]), j["mode"].as_str()), (4, Some("relay")), "{j}");
    assert_eq!(j["local"].as_str(), Some("198.18.0.2"), "{j}");
    assert_clean(&j, 2000, 2000);
    let mut addrs: Vec<String> = server.leases().into_iter().map(|(a, _, _)| a).collect();
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(addrs.len() as u64, n(&j, &["completed"]), "one lease per distinct client");
}

#[test]
fn loadgen_v6_sarr_with_prefixes_as_a_relay_completes_every_exchange() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = common::Net::new();
    let (srv, cli) = (net.ns6("lc"), net.ns6("ld"));
    let p = std::process::id();
    let (si, ci) = (format!("klc{p}"), format!("kld{p}"));
    net.link(&srv, &si, &cli, &ci);
    common::run(&["ip", "-n", &srv, "addr", "add", "2001:2::1/64", "dev", &si]);
    common::run(&["ip", "-n", &cli, "addr", "add", "2001:2::2/64", "dev", &ci]);
    let server = Server::start_v6(&srv, dir.path(), &CFG6.replace("@IFACE@", &si));
    let j = loadgen(
        &cli,
        &["-6", "--server", "2001:2::1", "--pd", "--rate", "500", "--duration", "4", "--clients", "5000"],
    );
    assert_eq!((n(&j, &["family"]), j["pd"].as_bool()), (6, Some(true)), "{j}");
    assert_clean(&j, 2000, 1000);
    let rows = server.leases6();
    let completed = n(&j, &["completed"]) as usize;
    assert_eq!(rows.iter().filter(|r| r.2 == 0).count(), completed, "one address per exchange");
    assert_eq!(rows.iter().filter(|r| r.2 == 2 && r.3 == 80).count(), completed, "one /80 per exchange");
}

/// The completed exchanges of perfdhcp's report (REQUEST-ACK received packets).
fn perfdhcp_acks(report: &str) -> u64 {
    report
        .lines()
        .filter(|l| l.trim_start().starts_with("received packets"))
        .nth(1)
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no REQUEST-ACK received packets in:\n{report}"))
}

#[test]
fn loadgen_and_perfdhcp_agree_within_five_percent() {
    require_root_and(&["perfdhcp", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("le", "lf", "198.18.0.1/15", Some("198.18.0.2/15"));
    let _server = Server::start(&pair.srv, dir.path(), &CFG4.replace("@IFACE@", &pair.srv_if));
    let out = Command::new("ip")
        .args(["netns", "exec", &pair.cli, "timeout", "30", "perfdhcp", "-4", "-r", "1000", "-p", "5"])
        .args(["-R", "1000000", "-W", "1000000", "-l", "198.18.0.2", "198.18.0.1"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{report}");
    let perf_rate = perfdhcp_acks(&report) as f64 / 5.0;
    let j =
        loadgen(&pair.cli, &["-4", "--server", "198.18.0.1", "--rate", "1000", "--duration", "5", "--clients", "5000"]);
    let ours = j["achieved_rate"].as_f64().unwrap();
    eprintln!("perfdhcp {perf_rate:.1}/s, kakapo-loadgen {ours:.1}/s");
    assert!(perf_rate > 900.0, "perfdhcp completed {perf_rate}/s at 1000/s");
    assert!((ours / perf_rate - 1.0).abs() <= 0.05, "perfdhcp {perf_rate}/s, kakapo-loadgen {ours}/s");
}

#[test]
fn loadgen_v4_direct_clients_broadcast_on_the_link() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("lg", "lh", "198.18.0.1/15", Some("198.18.0.2/15"));
    // Raw sockets (the default type): the server hears broadcasts and answers them.
    let cfg = CFG4.replace(r#", "dhcp-socket-type": "udp""#, "").replace("@IFACE@", &pair.srv_if);
    let _server = Server::start(&pair.srv, dir.path(), &cfg);
    let j =
        loadgen(&pair.cli, &["-4", "--direct", &pair.cli_if, "--rate", "300", "--duration", "2", "--clients", "1000"]);
    assert_eq!(j["mode"].as_str(), Some("direct"), "{j}");
    assert_clean(&j, 600, 1000);
}
