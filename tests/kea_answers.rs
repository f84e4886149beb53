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

/// Kea 2.2's kea-dhcp4 and kakapo side by side, each in a network namespace of its own, on
/// the same configuration (`@SOCKET@` and `@LEASES@` filled in per server). Fields drop in
/// order: the servers stop before their namespaces and files go.
struct SideBySide {
    kea: common::Kea,
    _ours: Server,
    our_sock: std::path::PathBuf,
    _net: Net,
    _dir: tempfile::TempDir,
}

fn side_by_side(tag: &str, cfg: &str) -> SideBySide {
    require_root_and(&["ip", "/usr/sbin/kea-dhcp4"]);
    let dir = tempfile::tempdir().unwrap();
    let (kea_dir, our_dir) = (dir.path().join("kea"), dir.path().join("kakapo"));
    std::fs::create_dir_all(&kea_dir).unwrap();
    std::fs::create_dir_all(&our_dir).unwrap();
    let mut net = Net::new();
    let (kns, ons) = (net.ns(&format!("{tag}a")), net.ns(&format!("{tag}o")));
    let kea =
        common::Kea::start(&kns, &kea_dir, 4, &cfg.replace("@LEASES@", kea_dir.join("leases4.csv").to_str().unwrap()));
    let our_sock = our_dir.join("kakapo4.sock");
    let ours = Server::start(&ons, &our_dir, &cfg.replace("@SOCKET@", our_sock.to_str().unwrap()));
    SideBySide { kea, _ours: ours, our_sock, _net: net, _dir: dir }
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
    let pair = side_by_side("k", CFG);
    let (kea, our_sock) = (&pair.kea, &pair.our_sock);

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
        let (k, o) = (raw(&kea.socket, cmd), raw(our_sock, cmd));
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
    let (k, o) = (parse(&raw(&kea.socket, cmd)), parse(&raw(our_sock, cmd)));
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

/// Stork's agent (its source lists what it sends a Kea daemon: config-get, status-get,
/// version-get, statistic-get-all, list-commands, the lease searches and the reservation
/// commands) replayed against both servers with leases in place: each answer has Kea 2.2's
/// shape. statistic-get-all and list-commands may hold more than Kea 2.2's (Kea 2.4+ pool
/// statistics; host commands built in), never less.
#[test]
fn stork_agent_commands_answer_like_kea_2_2() {
    let cfg = CFG.replace(
        r#"{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"}"#,
        r#"{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
           {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_stat_cmds.so"}"#,
    );
    let pair = side_by_side("s", &cfg);
    let (kea, our_sock) = (&pair.kea, &pair.our_sock);
    for n in 1..=3 {
        let add = format!(
            r#"{{"command": "lease4-add", "arguments": {{"ip-address": "192.0.2.10{n}", "hw-address": "02:00:00:00:00:0{n}", "client-id": "01:02:00:00:00:00:0{n}", "hostname": "h{n}.example.org"}}}}"#
        );
        assert_eq!(result(&raw(&kea.socket, &add)), 0);
        assert_eq!(result(&raw(our_sock, &add)), 0);
    }
    let same_shape = [
        r#"{"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "02:00:00:00:00:02"}}"#,
        r#"{"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "02:00:00:00:00:09"}}"#,
        r#"{"command": "lease4-get-by-client-id", "arguments": {"client-id": "01:02:00:00:00:00:03"}}"#,
        r#"{"command": "lease4-get-by-hostname", "arguments": {"hostname": "h1.example.org"}}"#,
        r#"{"command": "lease4-get-page", "arguments": {"from": "start", "limit": 2}}"#,
        r#"{"command": "lease4-get-all", "arguments": {"subnets": [1]}}"#,
        r#"{"command": "stat-lease4-get"}"#,
        r#"{"command": "version-get"}"#,
        // The other family's lease_cmds and stat_cmds commands, which Kea lists in this daemon.
        r#"{"command": "lease6-get-all"}"#,
        r#"{"command": "lease6-get", "arguments": {"ip-address": "2001:db8::1"}}"#,
        r#"{"command": "lease6-get-by-duid", "arguments": {"duid": "01:02:03"}}"#,
        r#"{"command": "lease6-get-page", "arguments": {"from": "start", "limit": 2}}"#,
        r#"{"command": "lease6-add", "arguments": {"ip-address": "2001:db8::1", "duid": "01:02:03", "iaid": 1, "subnet-id": 1}}"#,
        r#"{"command": "lease6-del", "arguments": {"ip-address": "2001:db8::1"}}"#,
        r#"{"command": "lease6-wipe"}"#,
        r#"{"command": "lease6-bulk-apply", "arguments": {"leases": []}}"#,
        r#"{"command": "stat-lease6-get"}"#,
        r#"{"command": "config-backend-pull"}"#,
        r#"{"command": "libreload"}"#,
    ];
    let mut differ = Vec::new();
    for cmd in same_shape {
        let (k, o) = (raw(&kea.socket, cmd), raw(our_sock, cmd));
        if result(&k) != result(&o) || mask(&k) != mask(&o) {
            differ.push(format!("{cmd}\n  Kea 2.2: {k}\n  kakapo:  {o}"));
        }
    }
    assert!(differ.is_empty(), "{} answers differ:\n{}", differ.len(), differ.join("\n"));

    let parse = |t: String| serde_json::from_str::<serde_json::Value>(&t).unwrap();
    // statistic-get-all: every statistic Kea 2.2 has, as a list of [value, timestamp] pairs.
    let cmd = r#"{"command": "statistic-get-all"}"#;
    let (k, o) = (parse(raw(&kea.socket, cmd)), parse(raw(our_sock, cmd)));
    let (ks, os) = (k["arguments"].as_object().unwrap(), o["arguments"].as_object().unwrap());
    assert!(ks.len() > 20, "{k}");
    let missing: Vec<&String> = ks.keys().filter(|n| !os.contains_key(*n)).collect();
    assert!(missing.is_empty(), "statistics Kea 2.2 has and kakapo lacks: {missing:?}");
    for (name, kv) in ks {
        let shape =
            |v: &serde_json::Value| v.as_array().and_then(|s| s.first()).and_then(|p| p.as_array()).map(Vec::len);
        assert_eq!(shape(&os[name]), shape(kv), "{name}: Kea 2.2 {kv}, kakapo {}", os[name]);
    }
    // list-commands: every command Kea 2.2 lists with the same hooks loaded.
    let cmd = r#"{"command": "list-commands"}"#;
    let (k, o) = (parse(raw(&kea.socket, cmd)), parse(raw(our_sock, cmd)));
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["arguments"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
    };
    let ours = names(&o);
    let missing: Vec<String> = names(&k).into_iter().filter(|c| !ours.contains(c)).collect();
    assert!(missing.is_empty(), "commands Kea 2.2 lists and kakapo does not: {missing:?}");
}
