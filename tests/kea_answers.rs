//! The text of control-channel answers, next to Debian's Kea 2.2 given the same configuration
//! and the same commands over its unix socket: key sets, key order and spacing must match;
//! values are masked where they must differ (versions, times, pids).

mod common;

use std::path::Path;

use common::{require_root_and, Net, Server};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": []},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "@SOCKET@"},
  "hooks-libraries": [{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"}],
  "valid-lifetime": 600,
  "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.109"}]}]
}}"#;

fn raw(sock: &Path, cmd: &str) -> String {
    common::control_text(sock, cmd)
}

/// The answer's shape: every string that is not a key becomes `"*"` and every number `0`,
/// so keys, nesting, order and spacing remain.
fn mask(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                let rest = text[i.min(text.len())..].trim_start();
                if rest.starts_with(':') {
                    out.push_str(&text[start..i.min(text.len())]);
                } else {
                    out.push_str("\"*\"");
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                while i < b.len() && (b[i] == b'-' || b[i] == b'.' || b[i].is_ascii_digit()) {
                    i += 1;
                }
                out.push('0');
            }
            c => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    out
}

fn result(text: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(text).map(|v| v["result"].as_i64().unwrap_or(-1)).unwrap_or(-2)
}

#[test]
fn the_mask_keeps_shape_and_can_tell_shapes_apart() {
    assert_eq!(
        mask(r#"{ "arguments": { "a": [ 5, "x" ] }, "result": 0 }"#),
        r#"{ "arguments": { "a": [ 0, "*" ] }, "result": 0 }"#
    );
    assert_ne!(mask(r#"{"result":0}"#), mask(r#"{ "result": 0 }"#));
    assert_ne!(mask(r#"{ "a": 1, "b": 2 }"#), mask(r#"{ "b": 2, "a": 1 }"#));
}

#[test]
fn answers_read_like_kea_2_2_answers() {
    require_root_and(&["ip", "/usr/sbin/kea-dhcp4"]);
    let dir = tempfile::tempdir().unwrap();
    let (kea_dir, our_dir) = (dir.path().join("kea"), dir.path().join("kakapo"));
    std::fs::create_dir_all(&kea_dir).unwrap();
    std::fs::create_dir_all(&our_dir).unwrap();
    let mut net = Net::new();
    let (kns, ons) = (net.ns("ka"), net.ns("kk"));
    let kea_cfg = CFG.replace("@LEASES@", kea_dir.join("leases4.csv").to_str().unwrap());
    let kea = common::Kea::start(&kns, &kea_dir, 4, &kea_cfg);
    let our_sock = our_dir.join("kakapo4.sock");
    let _ours = Server::start(&ons, &our_dir, &CFG.replace("@SOCKET@", our_sock.to_str().unwrap()));

    let add = r#"{"command": "lease4-add", "arguments": {"ip-address": "192.0.2.101", "hw-address": "02:00:00:00:00:01", "hostname": "h.example.org"}}"#;
    let commands = [
        r#"{"command": "version-get"}"#,
        r#"{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.100"}}"#,
        add,
        r#"{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.101"}}"#,
        r#"{"command": "statistic-get", "arguments": {"name": "pkt4-received"}}"#,
        r#"{"command": "statistic-get", "arguments": {"name": "no-such-statistic"}}"#,
        r#"{"command": "no-such-command"}"#,
        r#"{"command": "statistic-reset", "arguments": {"name": "pkt4-received"}}"#,
        r#"{"command": "lease4-del", "arguments": {"ip-address": "192.0.2.101"}}"#,
        r#"{"command": "lease4-get-all"}"#,
    ];
    let mut differ = Vec::new();
    for cmd in commands {
        let (k, o) = (raw(&kea.socket, cmd), raw(&our_sock, cmd));
        assert!(!k.is_empty() && !o.is_empty(), "{cmd}: no answer ({k:?} / {o:?})");
        if result(&k) != result(&o) || mask(&k) != mask(&o) {
            differ.push(format!("{cmd}\n  Kea 2.2: {k}\n  kakapo:  {o}"));
        }
    }
    assert!(differ.is_empty(), "{} answers differ:\n{}", differ.len(), differ.join("\n"));

    // status-get: Kea 3.0 adds keys to Kea 2.2's answer (dhcp-state) and kakapo one of its
    // own (lease-store); every key Kea 2.2 gives is there, with the same kind of value.
    let cmd = r#"{"command": "status-get"}"#;
    let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
    let (k, o) = (parse(&raw(&kea.socket, cmd)), parse(&raw(&our_sock, cmd)));
    let kind = |v: &serde_json::Value| std::mem::discriminant(v);
    for (key, kv) in k["arguments"].as_object().unwrap() {
        let ov = &o["arguments"][key];
        assert_eq!(kind(ov), kind(kv), "status-get {key}: Kea 2.2 {kv}, kakapo {ov}");
    }
    assert_eq!(o["arguments"]["multi-threading-enabled"], k["arguments"]["multi-threading-enabled"]);
    assert_eq!(o["arguments"]["sockets"], k["arguments"]["sockets"]);
}

/// `config-get` shows the running configuration with every default Kea fills in, globally and
/// derived into each subnet: the same JSON as Kea 2.2's for the same file, apart from the
/// paths each server was given.
#[test]
fn config_get_fills_in_what_kea_2_2_fills_in() {
    require_root_and(&["ip", "/usr/sbin/kea-dhcp4", "/usr/sbin/kea-dhcp6"]);
    let v6 = r#"{"Dhcp6": {
      "interfaces-config": {"interfaces": []}, "data-directory": "@DIR@",
      "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "0a0b0c"},
      "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
      "control-socket": {"socket-type": "unix", "socket-name": "@SOCKET@"},
      "valid-lifetime": 4000,
      "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::20"}],
                   "pd-pools": [{"prefix": "2001:db8:100::", "prefix-len": 48, "delegated-len": 56}]}],
      "shared-networks": [{"name": "n", "preferred-lifetime": 2000,
                           "subnet6": [{"id": 2, "subnet": "2001:db8:2::/64"}]}]}}"#;
    let v4 = CFG.replace(
        r#""valid-lifetime": 600,"#,
        r#""valid-lifetime": 600, "expired-leases-processing": {"reclaim-timer-wait-time": 5},
           "shared-networks": [{"name": "n", "valid-lifetime": 900, "subnet4": [{"id": 2, "subnet": "198.51.100.0/24"}]}],"#,
    );
    for (v, cfg) in [(4u8, v4.as_str()), (6, v6)] {
        let dir = tempfile::tempdir().unwrap();
        let (kea_dir, our_dir) = (dir.path().join("kea"), dir.path().join("kakapo"));
        std::fs::create_dir_all(&kea_dir).unwrap();
        std::fs::create_dir_all(&our_dir).unwrap();
        let mut net = Net::new();
        let (kns, ons) = (net.ns("ga"), net.ns("gk"));
        let kea_cfg = cfg
            .replace("@LEASES@", kea_dir.join("leases.csv").to_str().unwrap())
            .replace("@DIR@", kea_dir.to_str().unwrap());
        let kea = common::Kea::start(&kns, &kea_dir, v, &kea_cfg);
        let our_sock = our_dir.join("kakapo.sock");
        let ours = cfg.replace("@SOCKET@", our_sock.to_str().unwrap()).replace("@DIR@", our_dir.to_str().unwrap());
        let _server = Server::start_with(&ons, &our_dir, &ours, v, &[]);
        let get = |sock: &Path| {
            let mut a: serde_json::Value = serde_json::from_str(&raw(sock, r#"{"command": "config-get"}"#)).unwrap();
            let mut d = a["arguments"][format!("Dhcp{v}")].take();
            // The paths each server was given.
            for (map, key) in [("control-socket", "socket-name"), ("lease-database", "name")] {
                d[map][key] = serde_json::Value::Null;
            }
            d["data-directory"] = serde_json::Value::Null;
            d
        };
        let (k, o) = (get(&kea.socket), get(&our_sock));
        let (km, om) = (k.as_object().unwrap(), o.as_object().unwrap());
        let missing: Vec<&String> = km.keys().filter(|x| !om.contains_key(*x)).collect();
        let extra: Vec<&String> = om.keys().filter(|x| !km.contains_key(*x)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "v{v}: missing {missing:?}, extra {extra:?}");
        for key in km.keys() {
            assert_eq!(km[key], om[key], "v{v} config-get {key}");
        }
    }
}
