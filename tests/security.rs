//! Kea 3.0's security policy against a running kakapo (issue "Safe to deploy"): commands never
//! read files, the path policy at start-up and on every configuration command, the shipped
//! configuration and the README's commands on a fresh machine. Everything runs in network
//! namespaces made here; only processes started here are stopped.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{policy_env, require_root_and, run, Pair, Server};
use serde_json::{json, Value};

/// A policy-abiding configuration: every file in the test's directory (which the helpers name
/// in Kea's variables), HTTP with basic auth whose credentials come from a file.
const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "name": "kea-leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "control-sockets": [
    {"socket-type": "unix", "socket-name": "kea4.sock"},
    {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8000,
     "authentication": {"type": "basic", "directory": "@DIR@", "clients": [{"password-file": "api-credentials"}]}}
  ],
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.18.1.255"}]}]
}}"#;

fn config(pair: &Pair, dir: &Path) -> String {
    CFG.replace("@IFACE@", &pair.srv_if).replace("@DIR@", dir.to_str().unwrap())
}

fn start(pair: &Pair, dir: &Path) -> Server {
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    std::fs::write(dir.join("api-credentials"), "admin:secret\n").unwrap();
    Server::start(&pair.srv, dir, &config(pair, dir))
}

/// One command over the unix socket, bounded in time; the raw answer text.
fn unix_raw(path: &Path, body: &[u8]) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(body).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn unix(path: &Path, cmd: &Value) -> Value {
    let out = unix_raw(path, cmd.to_string().as_bytes());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// curl inside `ns` with the test's credentials; (status, body).
fn post(ns: &str, body: &[u8]) -> (u16, String) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-s", "--max-time", "5", "-u", "admin:secret", "-o", "-"])
        .args(["-w", "\n%{http_code}", "--data-binary", "@-", "http://127.0.0.1:8000/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let o = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn offered(pair: &Pair, n: u16) -> bool {
    common::relayed_discover_offered(pair, n)
}

fn hash(sock: &Path) -> String {
    let v = unix(sock, &json!({"command": "config-hash-get"}));
    v["arguments"]["hash"].as_str().unwrap_or_else(|| panic!("{v}")).to_string()
}

#[test]
fn includes_in_commands_are_refused_and_never_read() {
    require_root_and(&["ip", "curl"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("sa", "sb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let server = start(&pair, dir.path());
    let sock = dir.path().join("kea4.sock");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "\"TOPSECRET-4711\"").unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert!(offered(&pair, 1));

    let inc = |p: &Path| format!("<?include \"{}\"?>", p.display());
    let mut bodies = Vec::new();
    for target in [secret.as_path(), fifo.as_path(), Path::new("/dev/zero")] {
        let i = inc(target);
        bodies.push(i.clone());
        bodies.push(format!("{{\"command\": {i}}}"));
        bodies.push(format!("{{{i} \"command\": \"version-get\"}}"));
        bodies.push(format!("{{\"command\": \"config-get\", \"arguments\": {i}}}"));
        bodies.push(format!(
            "{{\"command\": \"lease4-add\", \"arguments\": {{\"ip-address\": \"198.18.1.77\", \
             \"hw-address\": \"02:00:00:00:00:77\", \"user-context\": {{\"x\": {i}}}}}}}"
        ));
        bodies.push(format!("# comment\n{{\"command\": \"status-get\", \"service\": [{i}]}}"));
    }
    for (n, body) in bodies.iter().enumerate() {
        let t = kakapo::clock::monotonic_now();
        let out = unix_raw(&sock, body.as_bytes());
        assert!(t.elapsed() < Duration::from_secs(2), "{body}: took {:?}", t.elapsed());
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{body}: {e}: {out}"));
        assert_eq!(v["result"], 1, "{body}: {v}");
        assert!(!out.contains("TOPSECRET"), "{body}: {out}");
        let t = kakapo::clock::monotonic_now();
        let (code, text) = post(&pair.srv, body.as_bytes());
        assert!(t.elapsed() < Duration::from_secs(3), "{body}: took {:?}", t.elapsed());
        assert_eq!(code, 200, "{body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{body}: {e}: {text}"));
        assert_eq!(v[0]["result"], 1, "{body}: {v}");
        assert!(!text.contains("TOPSECRET"), "{body}: {text}");
        assert!(offered(&pair, 10 + n as u16), "DHCP answered after {body}");
    }
    // Nothing was stored: the lease whose user-context included the file does not exist.
    let v = unix(&sock, &json!({"command": "lease4-get", "arguments": {"ip-address": "198.18.1.77"}}));
    assert_eq!(v["result"], 3, "{v}");
    assert!(!server.log().contains("TOPSECRET"));
    // Comments are still accepted in commands, as Kea accepts them.
    let v = unix(&sock, &json!({"command": "version-get"}));
    assert_eq!(v["result"], 0);
    let out = unix_raw(&sock, b"// c\n/* d */ {\"command\": \"version-get\" # e\n}");
    assert!(out.contains("\"result\": 0"), "{out}");
}

/// kakapo started in `ns` on `cfg` with Kea's directory variables at `dir`; bounded, its exit
/// status and output.
fn run_kakapo(ns: &str, dir: &Path, cfg: &str, args: &[&str]) -> (Option<i32>, String) {
    let path = dir.join("refused.conf");
    std::fs::write(&path, cfg).unwrap();
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "5", env!("CARGO_BIN_EXE_kakapo"), "-c", path.to_str().unwrap()])
        .args(args)
        .envs(policy_env(dir))
        .output()
        .unwrap();
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn path_policy_at_start_up_and_on_configuration_commands() {
    require_root_and(&["ip", "curl"]);
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let pair = Pair::new("sc", "sd", "198.18.0.1/15", Some("198.18.0.2/15"));
    let cfg = config(&pair, dir.path());
    let escaped = outside.path().join("leases.csv");
    let bad = cfg.replace("\"kea-leases4.csv\"", &format!("\"{}\"", escaped.display()));

    // Start-up: refused without -X (naming the path and the variable), started with it.
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    std::fs::write(dir.path().join("api-credentials"), "admin:secret\n").unwrap();
    let (code, out) = run_kakapo(&pair.srv, dir.path(), &bad, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&escaped.display().to_string()) && out.contains("KEA_DHCP_DATA_DIR"), "{out}");
    assert!(!escaped.exists(), "a refused configuration created its lease file");
    let mut x = Server::start_unrestricted(&pair.srv, dir.path(), &bad, 4);
    assert!(x.log().contains("DHCPSRV_MEMFILE_PATH_SECURITY_WARNING"), "{}", x.log());
    assert!(x.log().contains("DHCP4_SECURITY_CHECKS_DISABLED"), "{}", x.log());
    x.stop();
    std::fs::remove_file(&escaped).unwrap();

    let server = start(&pair, dir.path());
    let sock = dir.path().join("kea4.sock");
    let before = hash(&sock);

    // config-write: only beside the -c file.
    let victim = outside.path().join("written.json");
    for name in [victim.display().to_string(), "../escaped.json".to_string()] {
        let v = unix(&sock, &json!({"command": "config-write", "arguments": {"filename": name}}));
        assert_eq!(v["result"], 1, "{name}: {v}");
        assert!(v["text"].as_str().unwrap().contains("same directory"), "{v}");
    }
    assert!(!victim.exists());
    assert!(!dir.path().parent().unwrap().join("escaped.json").exists());
    let v = unix(&sock, &json!({"command": "config-write", "arguments": {"filename": "saved.json"}}));
    assert_eq!(v["result"], 0, "{v}");
    assert!(dir.path().join("saved.json").exists());

    // config-set and config-test: a logger, lease file or socket outside its directory.
    let target = outside.path().join("victim.log");
    std::fs::write(&target, "precious\n").unwrap();
    let base: Value = serde_json::from_str(&cfg).unwrap();
    let mut with_log = base["Dhcp4"].clone();
    with_log["loggers"] = json!([{"name": "kea-dhcp4", "severity": "DEBUG",
        "output-options": [{"output": target.display().to_string(), "maxsize": 1, "maxver": 0}]}]);
    let mut with_lease = base["Dhcp4"].clone();
    with_lease["lease-database"]["name"] = json!(outside.path().join("l.csv").display().to_string());
    let mut with_socket = base["Dhcp4"].clone();
    with_socket["control-sockets"][0]["socket-name"] = json!(outside.path().join("s.sock").display().to_string());
    for (what, body, var) in [
        ("logger", with_log, "KEA_LOG_FILE_DIR"),
        ("lease file", with_lease, "KEA_DHCP_DATA_DIR"),
        ("socket", with_socket, "KEA_CONTROL_SOCKET_DIR"),
    ] {
        for cmd in ["config-test", "config-set"] {
            let v = unix(&sock, &json!({"command": cmd, "arguments": {"Dhcp4": body}}));
            assert_eq!(v["result"], 1, "{what} {cmd}: {v}");
            assert!(v["text"].as_str().unwrap().contains(var), "{what}: {v}");
        }
        assert_eq!(hash(&sock), before, "{what}: the running configuration changed");
        assert!(offered(&pair, 1), "DHCP still answered after the refused {what}");
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");

    // A credential file's content never comes back in an answer, even when it is wrong.
    let leak = outside.path().join("leak");
    std::fs::write(&leak, "root:TOPSECRET-hash:0:0\n").unwrap();
    let mut with_leak = base["Dhcp4"].clone();
    with_leak["control-sockets"][1]["authentication"]["clients"] =
        json!([{"user-file": leak.display().to_string(), "password-file": "api-credentials"}]);
    let missing = outside.path().join("missing");
    let mut with_missing = base["Dhcp4"].clone();
    with_missing["control-sockets"][1]["authentication"]["clients"] =
        json!([{"password-file": missing.display().to_string()}]);
    for (what, body) in [("user-file", with_leak), ("missing password-file", with_missing)] {
        for cmd in ["config-test", "config-set"] {
            let out = unix_raw(&sock, json!({"command": cmd, "arguments": {"Dhcp4": body}}).to_string().as_bytes());
            let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(v["result"], 1, "{what} {cmd}: {v}");
            assert!(!out.contains("TOPSECRET"), "{what} {cmd}: {out}");
        }
    }
    assert_eq!(hash(&sock), before);
    assert!(!server.log().contains("TOPSECRET"));

    // The -c file edited to break the policy: config-reload and SIGHUP refuse it too.
    let conf = dir.path().join("kea-dhcp4.conf");
    let good = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, &bad).unwrap();
    let v = unix(&sock, &json!({"command": "config-reload"}));
    assert_eq!(v["result"], 1, "{v}");
    assert!(v["text"].as_str().unwrap().contains("KEA_DHCP_DATA_DIR"), "{v}");
    let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    server.wait_log("DHCP4_DYNAMIC_RECONFIGURATION_FAIL");
    assert_eq!(hash(&sock), before);
    assert!(!escaped.exists());
    std::fs::write(&conf, good).unwrap();
    let names: Vec<String> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n == "victim.log" || n == "leak"), "created outside: {names:?}");

    // The socket directory is 0750 at most and the socket is not accessible to others.
    let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o027, 0, "socket directory mode {mode:o}");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "socket mode {mode:o}");
    drop(server);
}

#[test]
fn a_socket_directory_wider_than_0750_is_refused_and_a_missing_one_is_made_0750() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("se", "sf", "198.18.0.1/15", Some("198.18.0.2/15"));
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    std::fs::write(dir.path().join("api-credentials"), "admin:secret\n").unwrap();
    let cfg = config(&pair, dir.path());
    let sockdir = dir.path().join("run");
    let with_dir = |d: &Path| {
        let path = dir.path().join("k.conf");
        std::fs::write(&path, &cfg).unwrap();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &pair.srv, "timeout", "5", env!("CARGO_BIN_EXE_kakapo"), "-c"])
            .arg(&path)
            .envs(policy_env(dir.path()))
            .env("KEA_CONTROL_SOCKET_DIR", d);
        c
    };
    std::fs::create_dir(&sockdir).unwrap();
    std::fs::set_permissions(&sockdir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = with_dir(&sockdir).output().unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&sockdir.display().to_string()) && out.contains("750"), "{out}");
    assert!(!sockdir.join("kea4.sock").exists());

    let fresh = dir.path().join("fresh");
    let mut child = with_dir(&fresh).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let sock = fresh.join("kea4.sock");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mode = std::fs::metadata(&fresh).map(|m| m.permissions().mode() & 0o777);
    let smode = std::fs::metadata(&sock).map(|m| m.permissions().mode() & 0o777);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
    assert_eq!(mode.unwrap(), 0o750);
    assert_eq!(smode.unwrap() & 0o007, 0);
}

/// The README's example commands, as written there.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("curl ") || l.starts_with("kea-shell "))
        .map(|l| l.split("   #").next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn shipped_configuration_and_readme_commands_work_without_x() {
    require_root_and(&["ip", "curl", "kea-shell", "nsenter", "unshare"]);
    assert!(Path::new("/etc/kea").is_dir(), "/etc/kea missing: the Kea packages make it (.ci/run installs them)");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shipped = root.join("config/kakapo.conf");
    let o = Command::new(env!("CARGO_BIN_EXE_kakapo")).arg("-t").arg(&shipped).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let mut net = common::Net::new();
    let ns = net.ns("sg");
    run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
    // The README's first command on a "fresh machine": a private, empty /etc/kea (a bind
    // mount in a mount namespace of its own), Kea's directories in the test's directory.
    let script = format!("mount --bind {} /etc/kea && exec {}/scripts/run.sh", etc.display(), root.display());
    let log = std::fs::File::create(dir.path().join("run.log")).unwrap();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns, "unshare", "-m", "--propagation", "private", "sh", "-c", &script])
        .envs(policy_env(dir.path()))
        .env("KAKAPO_BIN", env!("CARGO_BIN_EXE_kakapo"))
        .current_dir(&root)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default();
    for _ in 0..200 {
        if log_text().contains("DHCP4_STARTED") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    let in_server = |cmd: &str| {
        let o = Command::new("nsenter")
            .args(["-t", &pid, "-m", "-n", "timeout", "10", "bash", "-c", cmd])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let started = log_text();
    let cmds = readme_commands();
    let outputs: Vec<String> = cmds.iter().map(|c| in_server(c)).collect();
    let unauthenticated = in_server("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/metrics");
    let created = in_server("stat -c '%a %n' /etc/kea/kea-api-password");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();

    assert!(started.contains("DHCP4_STARTED"), "{started}");
    assert!(!started.contains("SECURITY_CHECKS_DISABLED"), "{started}");
    assert_eq!(cmds.len(), 3, "README commands: {cmds:?}");
    let status: Value =
        serde_json::from_str(&outputs[0]).unwrap_or_else(|e| panic!("{}: {e}: {}", cmds[0], outputs[0]));
    assert_eq!(status[0]["result"], 0, "{status}");
    assert!(status[0]["arguments"]["pid"].is_number(), "{status}");
    assert!(outputs[1].contains("kea_dhcp4_subnet_total_addresses"), "{}: {}", cmds[1], outputs[1]);
    let shell: Value = serde_json::from_str(&outputs[2]).unwrap_or_else(|e| panic!("{}: {e}: {}", cmds[2], outputs[2]));
    assert!(shell[0]["arguments"]["Dhcp4"]["subnet4"].is_array(), "{shell}");
    assert_eq!(unauthenticated, "401");
    assert!(created.starts_with("640 "), "password file mode: {created}");
    assert!(etc.join("kea-api-password").exists(), "the password was made in the private /etc/kea");
}

#[test]
fn x_turns_refusals_into_warnings_and_secrets_stay_out_of_config_get_and_logs() {
    require_root_and(&["ip", "curl"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("sh", "si", "198.18.0.1/15", Some("198.18.0.2/15"));
    run(&["ip", "-n", &pair.srv, "link", "set", "lo", "up"]);
    // Kea 2.x style: inline credentials and a second, unauthenticated HTTP listener.
    let cfg = config(&pair, dir.path()).replace(
        r#"{"password-file": "api-credentials"}]}}"#,
        r#"{"user": "admin", "password": "hunter2-4711"}]}},
    {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8001}"#,
    );
    let (code, out) = run_kakapo(&pair.srv, dir.path(), &cfg, &[]);
    assert_eq!(code, Some(1), "{out}");
    for needle in ["clear text 'user'", "clear text 'password'", "without authentication"] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    assert!(!out.contains("hunter2"), "the secret was printed: {out}");
    // Empty TLS file names are no TLS: still an unauthenticated channel.
    let empty_tls = config(&pair, dir.path()).replace(
        r#""authentication": {"type": "basic", "directory""#,
        r#""trust-anchor": "", "cert-file": "", "key-file": "", "x-authentication": {"type": "basic", "directory""#,
    );
    let empty_tls = empty_tls.replace("\"x-authentication\"", "\"user-context\"");
    let (code, out) = run_kakapo(&pair.srv, dir.path(), &empty_tls, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("without authentication"), "{out}");
    let server = Server::start_unrestricted(&pair.srv, dir.path(), &cfg, 4);
    for id in [
        "HTTP_CLIENT_USER_SECURITY_WARNING",
        "HTTP_CLIENT_PASSWORD_SECURITY_WARNING",
        "COMMAND_HTTP_SOCKET_SECURITY_WARNING",
        "DHCP4_SECURITY_CHECKS_DISABLED",
    ] {
        assert!(server.log().contains(id), "{id}: {}", server.log());
    }
    let v = unix(&dir.path().join("kea4.sock"), &json!({"command": "config-get"}));
    let client = &v["arguments"]["Dhcp4"]["control-sockets"][1]["authentication"]["clients"][0];
    assert_eq!(client["password"], "*****", "{v}");
    assert!(!v.to_string().contains("hunter2"), "{v}");
    assert!(!server.log().contains("hunter2"), "{}", server.log());
    // The unauthenticated listener serves, as -X allows.
    let o = Command::new("ip")
        .args(["netns", "exec", &pair.srv, "curl", "-s", "--max-time", "5", "-d", r#"{"command": "version-get"}"#])
        .arg("http://127.0.0.1:8001/")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"result\": 0"), "{o:?}");
}

/// `n` TCP connections to `addr` opened inside `ns`, left idle.
fn idle_connections(ns: &str, addr: &str, n: usize) -> Vec<std::net::TcpStream> {
    let (ns, addr) = (format!("/run/netns/{ns}"), addr.to_string());
    std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        (0..n).filter_map(|_| std::net::TcpStream::connect(&addr).ok()).collect()
    })
    .join()
    .unwrap()
}

#[test]
fn idle_connections_and_huge_bodies_do_not_stop_the_control_channel() {
    require_root_and(&["ip", "curl"]);
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new("sj", "sk", "198.18.0.1/15", Some("198.18.0.2/15"));
    let _server = start(&pair, dir.path());
    let idle = idle_connections(&pair.srv, "127.0.0.1:8000", 500);
    assert_eq!(idle.len(), 500, "500 connections were accepted by the kernel");
    std::thread::sleep(Duration::from_millis(300));
    let t = kakapo::clock::monotonic_now();
    let (code, text) = post(&pair.srv, br#"{"command": "version-get"}"#);
    let took = t.elapsed();
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("\"result\": 0"), "{text}");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    // The same through the unix socket, and DHCP, while the idle connections are open.
    let v = unix(&dir.path().join("kea4.sock"), &json!({"command": "status-get"}));
    assert_eq!(v["result"], 0, "{v}");
    assert!(offered(&pair, 1));
    drop(idle);

    // A 20 MB body: a clean HTTP error, and the next command is answered.
    let body = vec![b' '; 20 << 20];
    let (code, text) = post(&pair.srv, &body);
    assert_eq!(code, 413, "{text}");
    assert!(text.contains("\"result\": 413"), "{text}");
    let (code, text) = post(&pair.srv, br#"{"command": "version-get"}"#);
    assert_eq!(code, 200, "{text}");
}
