//! The control API of a running kakapo (issue 5 acceptance): curl and Debian's kea-shell over
//! HTTP with basic auth, the unix socket, HTTPS with client certificates, lease and
//! reservation commands against live DHCP service, and bad requests on every transport while
//! DHCP keeps flowing. Everything runs inside network namespaces made here (the control
//! listeners bind 127.0.0.1 of the server namespace), and only processes started here are
//! stopped.

mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{require_root_and, run, Net, Pair, Server};
use serde_json::{json, Value};

const AUTH: &str = "admin:secret";

/// curl inside `ns`; returns (HTTP status, body).
fn curl(ns: &str, args: &[&str]) -> (u16, String) {
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-s", "-S", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// POSTs a command with basic auth to the HTTP listener at 127.0.0.1:`port` and returns the
/// first response of Kea's one-element list.
fn post(ns: &str, port: u16, cmd: &Value) -> Value {
    let url = format!("http://127.0.0.1:{port}/");
    let body = cmd.to_string();
    let (code, text) = curl(ns, &["-u", AUTH, "-H", "Content-Type: application/json", "-d", &body, &url]);
    assert_eq!(code, 200, "{cmd} -> {code} {text}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let list = v.as_array().unwrap_or_else(|| panic!("HTTP replies are lists: {text}"));
    assert_eq!(list.len(), 1, "{text}");
    list[0].clone()
}

/// One command over the unix socket: a bare object comes back.
fn unix(path: &Path, cmd: &Value) -> Value {
    let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(cmd.to_string().as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn result(v: &Value) -> i64 {
    v["result"].as_i64().unwrap_or(-1)
}

const CFG4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "hooks-libraries": [{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"}],
  "control-sockets": [
    {"socket-type": "unix", "socket-name": "@DIR@/kea4.sock"},
    {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8000,
     "authentication": {"type": "basic", "realm": "kea-dhcpv4-server",
                        "clients": [{"user": "admin", "password": "secret"}]}}
  ],
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}]
}}"#;

fn start4(pair: &Pair, dir: &Path) -> Server {
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    Server::start(&pair.srv, dir, &CFG4.replace("@IFACE@", &pair.srv_if).replace("@DIR@", dir.to_str().unwrap()))
}

/// Prometheus text exposition 0.0.4: comments, then `name{labels} value` samples.
fn check_prometheus(text: &str) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(rest.starts_with("HELP ") || rest.starts_with("TYPE "), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        assert!(value.parse::<f64>().is_ok(), "bad value: {line}");
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "bad labels: {line}");
            }
        }
    }
}

#[test]
fn http_and_unix_api_like_kea_with_kea_shell() {
    require_root_and(&["curl", "ip", "kea-shell"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("ha", "hb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = start4(&pair, dir.path());
    let ns = &pair.srv;

    // No credentials: 401, Kea's body and realm.
    let (code, body) = curl(ns, &["-i", "-d", r#"{"command": "version-get"}"#, "http://127.0.0.1:8000/"]);
    assert_eq!(code, 401, "{body}");
    // Header names are case-insensitive (hyper sends them in lower case).
    assert!(body.to_lowercase().contains("www-authenticate: basic realm=\"kea-dhcpv4-server\""), "{body}");
    assert!(body.contains(r#"{"result":401,"text":"Unauthorized"}"#), "{body}");

    let v = post(ns, 8000, &json!({"command": "version-get"}));
    assert_eq!((result(&v), v["text"].as_str()), (0, Some(env!("CARGO_PKG_VERSION"))));
    assert!(v["arguments"]["extended"].as_str().unwrap().contains("kakapo"));
    let cmds = post(ns, 8000, &json!({"command": "list-commands"}));
    for c in ["config-set", "lease4-add", "reservation-add", "statistic-get-all", "subnet4-add", "status-get"] {
        assert!(cmds["arguments"].as_array().unwrap().iter().any(|x| x == c), "{c} listed: {cmds}");
    }

    // config-get round trip: edit valid-lifetime, config-set, config-get shows it.
    let got = post(ns, 8000, &json!({"command": "config-get"}));
    let hash = got["arguments"]["hash"].as_str().unwrap().to_string();
    let mut d4 = got["arguments"]["Dhcp4"].clone();
    assert_eq!(d4["valid-lifetime"], 3600);
    d4["valid-lifetime"] = json!(4321);
    let set = post(ns, 8000, &json!({"command": "config-set", "arguments": {"Dhcp4": d4}}));
    assert_eq!((result(&set), set["text"].as_str()), (0, Some("Configuration successful.")), "{set}");
    let got = post(ns, 8000, &json!({"command": "config-get"}));
    assert_eq!(got["arguments"]["Dhcp4"]["valid-lifetime"], 4321);
    assert_ne!(got["arguments"]["hash"].as_str().unwrap(), hash);
    let h = post(ns, 8000, &json!({"command": "config-hash-get"}));
    assert_eq!(h["arguments"]["hash"], got["arguments"]["hash"]);

    // A broken config-set is refused with a position, and the old config stays.
    let mut bad = got["arguments"]["Dhcp4"].clone();
    bad["subnet4"][0]["pools"][0]["pool"] = json!("10.0.0.1 - 10.0.0.9");
    let r = post(ns, 8000, &json!({"command": "config-set", "arguments": {"Dhcp4": bad}}));
    assert_eq!(result(&r), 1, "{r}");
    let text = r["text"].as_str().unwrap();
    assert!(text.contains("<string>:") && text.contains("pool"), "file:line.col error: {text}");
    let still = post(ns, 8000, &json!({"command": "config-get"}));
    assert_eq!(still["arguments"]["hash"], got["arguments"]["hash"], "the running config is untouched");

    // config-write output passes `kakapo -t`.
    let w = post(ns, 8000, &json!({"command": "config-write", "arguments": {"filename": "written.json"}}));
    assert_eq!(result(&w), 0, "{w}");
    let written = dir.path().join("written.json");
    assert_eq!(w["arguments"]["filename"], written.display().to_string());
    let t = Command::new(env!("CARGO_BIN_EXE_kakapo")).arg("-t").arg(&written).output().unwrap();
    assert!(t.status.success(), "kakapo -t on config-write output: {}", String::from_utf8_lossy(&t.stderr));

    // Statistics with Kea's names; GET /metrics parses as Prometheus text.
    let all = post(ns, 8000, &json!({"command": "statistic-get-all"}));
    for name in ["pkt4-received", "subnet[1].total-addresses", "subnet[1].assigned-addresses", "assigned-addresses"] {
        assert!(all["arguments"].get(name).is_some(), "{name} in {all}");
    }
    let (code, metrics) = curl(ns, &["-u", AUTH, "http://127.0.0.1:8000/metrics"]);
    assert_eq!(code, 200);
    check_prometheus(&metrics);
    assert!(metrics.contains("kea_dhcp4_subnet_total_addresses{subnet_id=\"1\"}"), "{metrics}");
    let (code, _) = curl(ns, &["http://127.0.0.1:8000/metrics"]);
    assert_eq!(code, 401, "metrics use the same authentication");

    // Debian's kea-shell (2.2) with basic auth and a service.
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "kea-shell", "--host", "127.0.0.1", "--port", "8000"])
        .args(["--auth-user", "admin", "--auth-password", "secret", "--service", "dhcp4", "--timeout", "5"])
        .arg("status-get")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("kea-shell: {e}: {out}"));
    assert_eq!(v[0]["result"], 0, "{out}");
    // `ip netns exec` execs the server, so the child's pid is the server's.
    assert_eq!(v[0]["arguments"]["pid"].as_u64(), Some(u64::from(server.child.id())), "{out}");
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "kea-shell", "--host", "127.0.0.1", "--port", "8000"])
        .args(["--auth-user", "admin", "--auth-password", "wrong", "--service", "dhcp4", "--timeout", "5"])
        .arg("status-get")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("401") || String::from_utf8_lossy(&o.stderr).contains("401"));

    // The unix socket answers with a bare object.
    let st = unix(&dir.path().join("kea4.sock"), &json!({"command": "status-get"}));
    assert_eq!(result(&st), 0);
    assert!(st["arguments"]["uptime"].as_u64().is_some());
    assert_eq!(st["arguments"]["sockets"]["status"], "ready");
    let wrong = unix(&dir.path().join("kea4.sock"), &json!({"command": "status-get", "service": ["dhcp6"]}));
    assert_eq!(result(&wrong), 1, "{wrong}");
}

#[test]
fn lease_commands_and_stat_lease_get_against_a_running_server() {
    require_root_and(&["curl", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("la", "lb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = start4(&pair, dir.path());
    let ns = &pair.srv;
    let add = post(
        ns,
        8000,
        &json!({"command": "lease4-add", "arguments": {"ip-address": "198.18.1.50", "hw-address": "02:00:00:00:00:50", "hostname": "api.example.org"}}),
    );
    assert_eq!(result(&add), 0, "{add}");
    let got = post(ns, 8000, &json!({"command": "lease4-get", "arguments": {"ip-address": "198.18.1.50"}}));
    assert_eq!(got["arguments"]["hw-address"], "02:00:00:00:00:50", "{got}");
    assert_eq!(got["arguments"]["subnet-id"], 1);
    let by_hw = post(
        ns,
        8000,
        &json!({"command": "lease4-get-by-hw-address", "arguments": {"hw-address": "02:00:00:00:00:50"}}),
    );
    assert_eq!(by_hw["arguments"]["leases"][0]["ip-address"], "198.18.1.50", "{by_hw}");
    // The row is durable in the lease file before the command is answered.
    assert!(server.leases().iter().any(|(a, _, _)| a == "198.18.1.50"));
    let stat = post(ns, 8000, &json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 1}}));
    let row = &stat["arguments"]["result-set"]["rows"][0];
    let cols = stat["arguments"]["result-set"]["columns"].as_array().unwrap();
    let assigned = cols.iter().position(|c| c == "assigned-addresses").unwrap();
    assert_eq!(row[assigned], 1, "stat-lease4-get agrees with the lease: {stat}");
    let del = post(ns, 8000, &json!({"command": "lease4-del", "arguments": {"ip-address": "198.18.1.50"}}));
    assert_eq!(result(&del), 0, "{del}");
    let gone = post(ns, 8000, &json!({"command": "lease4-get", "arguments": {"ip-address": "198.18.1.50"}}));
    assert_eq!(result(&gone), 3, "{gone}");
    let stat = post(ns, 8000, &json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 1}}));
    assert_eq!(stat["arguments"]["result-set"]["rows"][0][assigned], 0, "{stat}");
    assert!(!server.leases().iter().any(|(a, _, _)| a == "198.18.1.50"));
}

const CFG6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "control-socket": {"socket-type": "unix", "socket-name": "@DIR@/kea6.sock"},
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "@IFACE@",
     "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
     "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}]}]
}}"#;

#[test]
fn lease6_commands_against_a_running_server() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns6("l6s");
    let cli = net.ns6("l6c");
    let p = std::process::id();
    let (si, ci) = (format!("kl6s{p}"), format!("kl6c{p}"));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "2001:db8:1::1/64", "dev", &si]);
    let server = Server::start_v6(
        &srv,
        dir.path(),
        &CFG6.replace("@IFACE@", &si).replace("@DIR@", dir.path().to_str().unwrap()),
    );
    let sock = dir.path().join("kea6.sock");
    let duid = "00:03:00:01:02:00:00:00:00:61";
    for (ty, addr, extra) in
        [("IA_NA", "2001:db8:1::150", json!({})), ("IA_PD", "2001:db8:8000:4200::", json!({"prefix-len": 56}))]
    {
        let mut args = json!({"ip-address": addr, "duid": duid, "iaid": 7, "type": ty});
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        if ty == "IA_PD" {
            args["subnet-id"] = json!(1);
        }
        let add = unix(&sock, &json!({"command": "lease6-add", "arguments": args}));
        assert_eq!(result(&add), 0, "{add}");
        let got = unix(&sock, &json!({"command": "lease6-get", "arguments": {"ip-address": addr, "type": ty}}));
        assert_eq!((result(&got), &got["arguments"]["duid"]), (0, &json!(duid)), "{got}");
    }
    let by = unix(&sock, &json!({"command": "lease6-get-by-duid", "arguments": {"duid": duid}}));
    assert_eq!(by["arguments"]["leases"].as_array().unwrap().len(), 2, "{by}");
    let stat = unix(&sock, &json!({"command": "stat-lease6-get"}));
    let cols = stat["arguments"]["result-set"]["columns"].as_array().unwrap().clone();
    let row = stat["arguments"]["result-set"]["rows"][0].clone();
    let col = |n: &str| row[cols.iter().position(|c| c == n).unwrap()].clone();
    assert_eq!((col("assigned-nas"), col("assigned-pds")), (json!(1), json!(1)), "{stat}");
    assert_eq!(server.leases6().len(), 2, "both rows durable before the answers");
    let del =
        unix(&sock, &json!({"command": "lease6-del", "arguments": {"ip-address": "2001:db8:1::150", "type": "IA_NA"}}));
    assert_eq!(result(&del), 0, "{del}");
    let gone =
        unix(&sock, &json!({"command": "lease6-get", "arguments": {"ip-address": "2001:db8:1::150", "type": "IA_NA"}}));
    assert_eq!(result(&gone), 3, "{gone}");
}

/// dhclient in its own process group, until BOUND (or 20 s); returns the address it bound.
fn dhclient_bound(ns: &str, iface: &str, dir: &Path) -> Option<String> {
    let script = dir.join("cs.sh");
    let ev = dir.join("events");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$reason $new_ip_address\" >> {}\nexit 0\n", ev.display()))
        .unwrap();
    run(&["chmod", "755", script.to_str().unwrap()]);
    let (lf, pf) = (dir.join("dh.leases"), dir.join("dh.pid"));
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "30", "dhclient", "-4", "-1", "-d", "-sf", script.to_str().unwrap()])
        .args(["-lf", lf.to_str().unwrap(), "-pf", pf.to_str().unwrap(), iface])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut bound = None;
    for _ in 0..400 {
        let text = std::fs::read_to_string(&ev).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.starts_with("BOUND")) {
            bound = l.split_whitespace().nth(1).map(str::to_string);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    bound
}

#[test]
fn reservation_add_is_honoured_for_the_next_client_without_restart() {
    require_root_and(&["curl", "ip", "dhclient"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("ra", "rb", "192.0.2.1/24", None);
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    run(&["ip", "-n", &pair.cli, "link", "set", &pair.cli_if, "address", "02:00:00:00:00:99"]);
    let cfg = r#"{"Dhcp4": {
      "interfaces-config": {"interfaces": ["@IFACE@"]},
      "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
      "control-socket": {"socket-type": "unix", "socket-name": "@DIR@/kea4.sock"},
      "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.109"}]}]
    }}"#;
    let server = Server::start(
        &pair.srv,
        dir.path(),
        &cfg.replace("@IFACE@", &pair.srv_if).replace("@DIR@", dir.path().to_str().unwrap()),
    );
    let pid = server.child.id();
    let r = unix(
        &dir.path().join("kea4.sock"),
        &json!({"command": "reservation-add", "arguments": {"reservation":
            {"subnet-id": 1, "hw-address": "02:00:00:00:00:99", "ip-address": "192.0.2.99", "hostname": "reserved"}}}),
    );
    assert_eq!((result(&r), r["text"].as_str()), (0, Some("Host added.")), "{r}");
    let got = dhclient_bound(&pair.cli, &pair.cli_if, dir.path());
    assert_eq!(got.as_deref(), Some("192.0.2.99"), "{}", server.log());
    assert_eq!(server.child.id(), pid);
    assert!(!server.log().contains("DHCP4_SHUTDOWN"), "no restart");
    let g = unix(
        &dir.path().join("kea4.sock"),
        &json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "identifier-type": "hw-address", "identifier": "02:00:00:00:00:99"}}),
    );
    assert_eq!(g["arguments"]["ip-address"], "192.0.2.99", "{g}");
}
