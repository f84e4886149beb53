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
     "authentication": {"type": "basic", "realm": "kea-dhcpv4-server", "directory": "@DIR@",
                        "clients": [{"password-file": "api-credentials"}]}}
  ],
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}]
}}"#;

fn start4(pair: &Pair, dir: &Path) -> Server {
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    // Credentials from a file, as Kea 3.0's policy wants (no -X).
    std::fs::write(dir.join("api-credentials"), format!("{AUTH}\n")).unwrap();
    Server::start(&pair.srv, dir, &CFG4.replace("@IFACE@", &pair.srv_if).replace("@DIR@", dir.to_str().unwrap()))
}

/// Prometheus text exposition 0.0.4: comments, then `name{labels} value` samples.
fn check_prometheus(text: &str) {
    // Prometheus' own linter: format, naming (counters end in `_total`), help and types. It
    // prints one line per problem and exits non-zero on any.
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (scripts/test.sh installs prometheus)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}\n{text}");
    assert!(text.contains("_total "), "counters are there to check: {text}");
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
    require_root_and(&["curl", "ip", "kea-shell", "promtool"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("ha", "hb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = start4(&pair, dir.path());
    let ns = &pair.srv;

    // No credentials: 401, Kea's body and realm.
    let (code, body) = curl(ns, &["-i", "-d", r#"{"command": "version-get"}"#, "http://127.0.0.1:8000/"]);
    assert_eq!(code, 401, "{body}");
    // Header names are case-insensitive (hyper sends them in lower case).
    assert!(body.to_lowercase().contains("www-authenticate: basic realm=\"kea-dhcpv4-server\""), "{body}");
    assert!(body.contains(r#"{ "result": 401, "text": "Unauthorized" }"#), "{body}");

    let v = post(ns, 8000, &json!({"command": "version-get"}));
    assert_eq!((result(&v), v["text"].as_str()), (0, Some(kakapo::KEA_API_LEVEL)));
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
    let t = Command::new(env!("CARGO_BIN_EXE_kakapo"))
        .arg("-t")
        .arg(&written)
        .envs(common::policy_env(dir.path()))
        .output()
        .unwrap();
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

#[test]
fn https_control_socket_requires_a_client_certificate() {
    require_root_and(&["curl", "ip", "openssl"]);
    for (kind, newkey) in [
        ("ecdsa", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..]),
        ("ed25519", &["-newkey", "ed25519"][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        common::make_pki(dir.path(), newkey, None);
        let pair = Pair::new(&format!("t{}", &kind[..2]), &format!("u{}", &kind[..2]), "198.18.0.1/15", None);
        run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
        let d = dir.path().display();
        let cfg = format!(
            r#"{{"Dhcp4": {{
  "interfaces-config": {{"interfaces": ["{}"], "dhcp-socket-type": "udp"}},
  "lease-database": {{"type": "memfile", "persist": false}},
  "control-sockets": [{{"socket-type": "https", "socket-address": "127.0.0.1", "socket-port": 8443,
    "trust-anchor": "{d}/ca.pem", "cert-file": "{d}/server.pem", "key-file": "{d}/server.key", "cert-required": true}}],
  "subnet4": [{{"id": 1, "subnet": "198.18.0.0/15", "pools": [{{"pool": "198.18.1.0 - 198.18.1.9"}}]}}]
}}}}"#,
            pair.srv_if
        );
        let _server = Server::start(&pair.srv, dir.path(), &cfg);
        let url = "https://127.0.0.1:8443/";
        let (ca, cert, key) = (format!("{d}/ca.pem"), format!("{d}/client.pem"), format!("{d}/client.key"));
        let body = r#"{"command": "version-get", "service": ["dhcp4"]}"#;
        let (code, text) = curl(&pair.srv, &["--cacert", &ca, "--cert", &cert, "--key", &key, "-d", body, url]);
        assert_eq!(code, 200, "{kind}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["text"], kakapo::KEA_API_LEVEL);
        // Without a client certificate the TLS handshake fails (cert-required).
        let o = Command::new("ip")
            .args(["netns", "exec", &pair.srv, "curl", "-s", "--max-time", "5", "--cacert", &ca, "-d", body, url])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{kind}: a client without a certificate must be refused");
    }
}

/// Sends a relayed DISCOVER from 198.18.0.2:67 and says whether an OFFER came back.
fn offered(pair: &Pair, n: u16) -> bool {
    common::relayed_discover_offered(pair, n)
}

#[test]
fn dhcp_disable_enable_and_shutdown_with_exit_value() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("da", "db", "198.18.0.1/15", Some("198.18.0.2/15"));
    let mut server = start4(&pair, dir.path());
    let sock = dir.path().join("kea4.sock");
    assert!(offered(&pair, 1));
    let r = unix(&sock, &json!({"command": "dhcp-disable"}));
    assert_eq!((result(&r), r["text"].as_str()), (0, Some("DHCPv4 service disabled")));
    assert!(!offered(&pair, 2), "a disabled service drops DISCOVERs");
    let st = unix(&sock, &json!({"command": "status-get"}));
    assert_eq!(st["arguments"]["dhcp-state"]["disabled-by-user"], true, "{st}");
    let r = unix(&sock, &json!({"command": "dhcp-enable"}));
    assert_eq!(result(&r), 0);
    assert!(offered(&pair, 3));
    // max-period re-enables by itself.
    unix(&sock, &json!({"command": "dhcp-disable", "arguments": {"max-period": 1}}));
    assert!(!offered(&pair, 4));
    std::thread::sleep(Duration::from_millis(1200));
    assert!(offered(&pair, 5), "enabled again after max-period");
    let r = unix(&sock, &json!({"command": "leases-reclaim", "arguments": {"remove": true}}));
    assert_eq!(result(&r), 0, "{r}");
    let r = unix(&sock, &json!({"command": "shutdown", "arguments": {"exit-value": 3}}));
    assert_eq!((result(&r), r["text"].as_str()), (0, Some("Shutting down.")));
    for _ in 0..100 {
        if let Ok(Some(st)) = server.child.try_wait() {
            assert_eq!(st.code(), Some(3), "exit-value of the shutdown command");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    server.crash();
    panic!("no exit after shutdown");
}

/// perfdhcp as a relay in the background: `rate` exchanges/s for `secs` seconds.
fn perfdhcp_bg(pair: &Pair, rate: u32, secs: u32) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", &pair.cli, "timeout", "60", "perfdhcp", "-4", "-r", &rate.to_string()])
        .args(["-p", &secs.to_string(), "-R", "100000", "-W", "1000000", "-l", "198.18.0.2", "198.18.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// perfdhcp's report: (DORA completed, drops in either exchange).
fn perfdhcp_result(child: std::process::Child) -> (u64, u64, String) {
    let o = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    let nums = |label: &str| -> Vec<u64> {
        report
            .lines()
            .filter(|l| l.trim_start().starts_with(label))
            .filter_map(|l| l.split(':').nth(1).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()))
            .collect()
    };
    let acks = nums("received packets").get(1).copied().unwrap_or(0);
    let drops = nums("drops").iter().sum();
    (acks, drops, report)
}

#[test]
fn config_set_applies_while_packets_keep_flowing() {
    require_root_and(&["curl", "ip", "perfdhcp"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("ca", "cb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = start4(&pair, dir.path());
    let sock = dir.path().join("kea4.sock");
    let load = perfdhcp_bg(&pair, 500, 6);
    std::thread::sleep(Duration::from_secs(2));
    let got = unix(&sock, &json!({"command": "config-get"}));
    let mut d4 = got["arguments"]["Dhcp4"].clone();
    d4["valid-lifetime"] = json!(5000);
    // config-get shows each subnet's derived lifetime, as Kea's does, so the edit goes there too.
    for s in d4["subnet4"].as_array_mut().unwrap() {
        for k in ["valid-lifetime", "min-valid-lifetime", "max-valid-lifetime"] {
            s[k] = json!(5000);
        }
    }
    d4["subnet4"].as_array_mut().unwrap().push(json!({"id": 2, "subnet": "203.0.113.0/24",
        "pools": [{"pool": "203.0.113.10 - 203.0.113.20"}]}));
    let r = unix(&sock, &json!({"command": "config-set", "arguments": {"Dhcp4": d4}}));
    assert_eq!(result(&r), 0, "{r}");
    let (acks, drops, report) = perfdhcp_result(load);
    assert!(acks >= 2900, "{report}");
    assert_eq!(drops, 0, "no exchange lost across config-set:\n{report}");
    let now = unix(&sock, &json!({"command": "config-get"}));
    assert_eq!(now["arguments"]["Dhcp4"]["valid-lifetime"], 5000);
    assert!(server.leases().iter().any(|(_, _, valid)| *valid == 5000), "leases after the change use it");
    assert!(server.leases().iter().any(|(_, _, valid)| *valid == 3600), "and leases before it kept theirs");
    assert_eq!(server.log().matches("DHCP4_OPEN_SOCKET").count(), 1, "sockets were not reopened");
}

#[test]
fn bad_requests_on_every_transport_while_dhcp_keeps_flowing() {
    require_root_and(&["curl", "ip", "perfdhcp"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("ba", "bb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let _server = start4(&pair, dir.path());
    let ns = pair.srv.clone();
    let sock = dir.path().join("kea4.sock");
    let load = perfdhcp_bg(&pair, 200, 14);
    std::thread::sleep(Duration::from_millis(500));

    // HTTP: malformed JSON, an oversized body, wrong methods.
    let (code, text) = curl(&ns, &["-u", AUTH, "-d", "{\"command\": \"version-get\"", "http://127.0.0.1:8000/"]);
    assert_eq!(code, 200);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()[0]["result"], 1, "{text}");
    let big = dir.path().join("big.json");
    std::fs::write(&big, format!("{{\"command\": \"config-test\", \"arguments\": \"{}\"}}", "x".repeat(17 << 20)))
        .unwrap();
    let (code, text) =
        curl(&ns, &["-u", AUTH, "--data-binary", &format!("@{}", big.display()), "http://127.0.0.1:8000/"]);
    assert!(code == 413 || code == 0, "oversized body: {code} {text}");
    for m in ["GET", "PUT", "DELETE"] {
        let (code, text) = curl(&ns, &["-u", AUTH, "-X", m, "http://127.0.0.1:8000/"]);
        assert_eq!(code, 400, "{m}: {text}");
        assert!(text.contains("\"result\""), "a JSON error body: {text}");
    }
    // Unix: malformed and oversized requests get a JSON error.
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"{\"command\": [1, 2").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["result"], 1, "{out}");
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(&std::fs::read(&big).unwrap());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert_eq!(serde_json::from_str::<Value>(&out).map(|v| v["result"].clone()).ok(), Some(json!(1)), "{out}");

    // Slow clients on both transports are cut off by the 10 s control timeout.
    let mut slow_unix = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    slow_unix.write_all(b"{\"command\": ").unwrap();
    slow_unix.set_read_timeout(Some(Duration::from_secs(14))).unwrap();
    let slow_http = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-c"])
        .arg(
            "import socket,time\ns=socket.create_connection(('127.0.0.1',8000))\ns.sendall(b'POST / HTTP/1.1\\r\\nHost: x\\r\\n')\n\
             s.settimeout(14)\nt=time.time()\ntry:\n    d=s.recv(100)\nexcept Exception as e:\n    d=b'timeout'\nprint(round(time.time()-t), d)",
        )
        .output()
        .unwrap();
    let mut out = String::new();
    let _ = slow_unix.read_to_string(&mut out);
    assert!(out.contains("timed out"), "unix slow client gets Kea's timeout answer: {out}");
    let http_out = String::from_utf8_lossy(&slow_http.stdout);
    let waited: u64 = http_out.split_whitespace().next().and_then(|t| t.parse().ok()).unwrap_or(99);
    assert!(waited <= 12 && !http_out.contains("timeout"), "slow HTTP client closed by the server: {http_out}");

    // Meanwhile every DHCP exchange was served.
    let (acks, drops, report) = perfdhcp_result(load);
    assert!(acks >= 2700, "{report}");
    assert_eq!(drops, 0, "DHCP kept flowing:\n{report}");
    let v = post(&ns, 8000, &json!({"command": "version-get"}));
    assert_eq!(result(&v), 0, "still answering");
}

#[test]
fn control_agent_section_routes_by_service_for_kea_shell() {
    require_root_and(&["ip", "kea-shell"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("ga", "gb", "198.18.0.1/15", None);
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    let d = dir.path().display();
    // The classic Kea 2.2 layout: the daemon on a unix socket, the agent on HTTP in front of it.
    let cfg = format!(
        r#"{{
"Dhcp4": {{
  "interfaces-config": {{"interfaces": ["{}"], "dhcp-socket-type": "udp"}},
  "lease-database": {{"type": "memfile", "persist": false}},
  "control-socket": {{"socket-type": "unix", "socket-name": "{d}/kea4-ctrl-socket"}},
  "subnet4": [{{"id": 1, "subnet": "198.18.0.0/15", "pools": [{{"pool": "198.18.1.0 - 198.18.1.9"}}]}}]
}},
"Control-agent": {{
  "http-host": "127.0.0.1", "http-port": 8001,
  "authentication": {{"type": "basic", "realm": "kea-control-agent", "clients": [{{"user": "admin", "password": "secret"}}]}},
  "control-sockets": {{"dhcp4": {{"socket-type": "unix", "socket-name": "{d}/kea4-ctrl-socket"}}}}
}}
}}"#,
        pair.srv_if
    );
    let _server = Server::start_unrestricted(&pair.srv, dir.path(), &cfg, 4);
    let shell = |service: Option<&str>, cmd: &str| -> Value {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &pair.srv, "kea-shell", "--host", "127.0.0.1", "--port", "8001"]);
        c.args(["--auth-user", "admin", "--auth-password", "secret", "--timeout", "5"]);
        if let Some(s) = service {
            c.args(["--service", s]);
        }
        let o = c.arg(cmd).stdin(Stdio::null()).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {}", String::from_utf8_lossy(&o.stderr)))
    };
    let v = shell(Some("dhcp4"), "config-get");
    assert_eq!(v[0]["result"], 0, "{v}");
    assert!(v[0]["arguments"]["Dhcp4"]["subnet4"].is_array(), "the dhcp4 daemon answered: {v}");
    let v = shell(Some("dhcp6"), "config-get");
    assert_eq!(v[0]["result"], 1);
    assert!(v[0]["text"].as_str().unwrap().contains("forwarding socket is not configured"), "{v}");
    let v = shell(None, "config-get");
    assert!(v[0]["arguments"]["Control-agent"].is_object(), "the agent answers itself: {v}");
}

/// kakapo with `-X` (so the test does not depend on the path policy) inside `ns`, logging to
/// `dir/kakapo.log`.
fn spawn_x(ns: &str, dir: &Path, config: &str) -> Server {
    let cfg = dir.join("kea-dhcp4.conf");
    let log = dir.join("kakapo.log");
    std::fs::write(&cfg, config).unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_kakapo"), "-X", "-c", cfg.to_str().unwrap()])
        .env("KEA_PIDFILE_DIR", dir)
        .env("KEA_DHCP_DATA_DIR", dir)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    Server { child, log, leases: dir.join("kea-leases4.csv") }
}

/// A Dhcp4 section serving no interface, with an HTTP control socket on 127.0.0.1:8000
/// carrying `auth` (none when null) and a unix one in `dir`.
fn fail_closed_section(dir: &Path, auth: Value) -> Value {
    let mut http = json!({"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8000});
    if !auth.is_null() {
        http["authentication"] = auth;
    }
    json!({
        "interfaces-config": {"interfaces": []},
        "lease-database": {"type": "memfile", "persist": false},
        "control-sockets": [{"socket-type": "unix", "socket-name": dir.join("kea4.sock")}, http],
        "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}]
    })
}

/// One command to 127.0.0.1:8000 in `ns` without credentials: (HTTP status, first response).
fn post_anon(ns: &str, cmd: &Value) -> (u16, Value) {
    let (code, text) = curl(ns, &["-d", &cmd.to_string(), "http://127.0.0.1:8000/"]);
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (code, if v.is_array() { v[0].clone() } else { v })
}

#[test]
fn control_channel_changes_fail_closed() {
    require_root_and(&["curl", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = common::Net::new();
    let ns = net.ns("fc");
    let d = dir.path();
    let doc = |auth: Value| json!({ "Dhcp4": fail_closed_section(d, auth) }).to_string();
    let mut server = spawn_x(&ns, d, &doc(Value::Null));
    server.wait_log("DHCP4_STARTED");

    let hash = |ns: &str| post_anon(ns, &json!({"command": "config-hash-get"})).1["arguments"]["hash"].clone();
    let before = hash(&ns);
    assert!(before.is_string(), "{before}");

    // config-set adding basic auth whose password file is missing: rejected whole.
    let missing = d.join("missing-password");
    let bad = json!({"type": "basic", "clients": [{"user": "admin", "password-file": missing}]});
    let set = json!({"command": "config-set", "arguments": {"Dhcp4": fail_closed_section(d, bad.clone())}});
    let (code, r) = post_anon(&ns, &set);
    assert_eq!(code, 200);
    assert_eq!(result(&r), 1, "{r}");
    assert!(r["text"].as_str().unwrap().contains("missing-password"), "{r}");
    assert_eq!(hash(&ns), before, "the configuration stays");
    assert_eq!(post_anon(&ns, &json!({"command": "status-get"})).0, 200, "the listener behaves as before");
    assert_eq!(result(&unix(&d.join("kea4.sock"), &json!({"command": "status-get"}))), 0);

    // SIGHUP with the same broken file: the reload fails, the channels stay as they were.
    std::fs::write(d.join("kea-dhcp4.conf"), doc(bad)).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.child.id() as i32), nix::sys::signal::Signal::SIGHUP)
        .unwrap();
    server.wait_log("DHCP4_DYNAMIC_RECONFIGURATION_FAIL");
    assert_eq!(hash(&ns), before);
    assert_eq!(post_anon(&ns, &json!({"command": "status-get"})).0, 200);

    // A password file that exists: the same socket now requires it.
    std::fs::write(d.join("password"), "s3cret\n").unwrap();
    let good = json!({"type": "basic", "clients": [{"user": "admin", "password-file": d.join("password")}]});
    let set = json!({"command": "config-set", "arguments": {"Dhcp4": fail_closed_section(d, good)}});
    assert_eq!(result(&post_anon(&ns, &set).1), 0);
    assert_eq!(post_anon(&ns, &json!({"command": "status-get"})).0, 401);
    let (code, _) = curl(&ns, &["-u", "admin:s3cret", "-d", r#"{"command": "status-get"}"#, "http://127.0.0.1:8000/"]);
    assert_eq!(code, 200);
    assert_eq!(server.stop(), Some(0));

    // At start-up a channel that cannot be opened is fatal: a regular file at socket-name.
    std::fs::write(d.join("kea4.sock"), "not a socket").unwrap();
    let mut server = spawn_x(&ns, d, &doc(Value::Null));
    let mut status = None;
    for _ in 0..200 {
        if let Ok(Some(st)) = server.child.try_wait() {
            status = st.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status, Some(1), "{}", server.log());
    assert!(server.log().contains("DHCP4_INIT_FAIL"), "{}", server.log());
    assert!(server.log().contains("is not a socket"), "{}", server.log());
    assert_eq!(std::fs::read_to_string(d.join("kea4.sock")).unwrap(), "not a socket");
}
