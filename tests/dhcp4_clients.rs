//! DHCPv4 with real clients in network namespaces (design.md test tier 3): isc-dhcp-client,
//! busybox udhcpc, dhcpcd and isc-dhcp-relay against a kakapo server. Only namespaces and veth
//! links made here are touched, addresses are documentation ones, every wait is bounded, and
//! only processes started here are stopped, by pid.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn run(args: &[&str]) -> std::process::Output {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        o.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn have(bin: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {bin}")]).output().is_ok_and(|o| o.status.success())
}

/// Two or three namespaces joined by veth pairs, removed on drop.
struct Net {
    names: Vec<String>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

impl Net {
    fn ns(&mut self, name: &str) -> String {
        let n = format!("kkp{}{name}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &n]).output();
        run(&["ip", "netns", "add", &n]);
        run(&["ip", "-n", &n, "link", "set", "lo", "up"]);
        self.names.push(n.clone());
        n
    }

    /// A veth pair `a` (in `ns_a`) <-> `b` (in `ns_b`), both up.
    fn link(&self, ns_a: &str, a: &str, ns_b: &str, b: &str) {
        run(&["ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b]);
        run(&["ip", "-n", ns_a, "link", "set", a, "up"]);
        run(&["ip", "-n", ns_b, "link", "set", b, "up"]);
    }
}

struct Server {
    child: Child,
    log: PathBuf,
    leases: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn start(ns: &str, dir: &Path, config: &str) -> Server {
        let cfg = dir.join("kea-dhcp4.conf");
        let leases = dir.join("kea-leases4.csv");
        let log = dir.join("kakapo.log");
        std::fs::write(&cfg, config.replace("@LEASES@", leases.to_str().unwrap())).unwrap();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_kakapo"), "-c", cfg.to_str().unwrap()])
            .env("KEA_PIDFILE_DIR", dir)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let s = Server { child, log, leases };
        s.wait_log("DHCP4_STARTED");
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str) {
        for _ in 0..200 {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {needle} in the server log:\n{}", self.log());
    }

    /// The live rows of the lease file: last row per address, tombstones removed.
    fn leases(&self) -> Vec<(String, String, u64)> {
        let text = std::fs::read_to_string(&self.leases).unwrap_or_default();
        let mut live: Vec<(String, String, u64)> = Vec::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 5 {
                continue;
            }
            live.retain(|(a, _, _)| a != f[0]);
            let valid: u64 = f[3].parse().unwrap_or(0);
            if valid > 0 {
                live.push((f[0].to_string(), f[1].to_string(), valid));
            }
        }
        live
    }
}

/// The dhclient script: records what the client was given, touches nothing on the host.
fn client_script(dir: &Path) -> PathBuf {
    let script = dir.join("client-script.sh");
    let out = dir.join("client-events");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             case \"$reason\" in\n\
               PREINIT) ip link set \"$interface\" up ;;\n\
               BOUND|RENEW|REBIND|REBOOT) ip addr flush dev \"$interface\"; ip addr add \"$new_ip_address/$new_subnet_mask\" dev \"$interface\" ;;\n\
               EXPIRE|FAIL|RELEASE|STOP) ip addr flush dev \"$interface\" ;;\n\
             esac\n\
             echo \"$reason ip=$new_ip_address routers=$new_routers dns=$new_domain_name_servers\" >> {}\n\
             exit 0\n",
            out.display()
        ),
    )
    .unwrap();
    run(&["chmod", "755", script.to_str().unwrap()]);
    script
}

fn events(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("client-events")).unwrap_or_default()
}

fn dhclient(ns: &str, iface: &str, dir: &Path, release: bool) -> std::process::Output {
    let script = client_script(dir);
    let lf = dir.join("dhclient.leases");
    let pf = dir.join("dhclient.pid");
    let cf = dir.join("dhclient.conf");
    std::fs::write(&cf, "timeout 20;\nretry 1;\nrequest subnet-mask, routers, domain-name-servers;\n").unwrap();
    let mut args = vec!["netns", "exec", ns, "timeout", "30", "dhclient", "-4", "-1", "-v", "-d"];
    if release {
        args = vec!["netns", "exec", ns, "timeout", "30", "dhclient", "-4", "-r", "-v"];
    }
    let (s, l, p, c) = (script.to_str().unwrap(), lf.to_str().unwrap(), pf.to_str().unwrap(), cf.to_str().unwrap());
    args.extend(["-sf", s, "-lf", l, "-pf", p, "-cf", c, iface]);
    let log = std::fs::File::create(dir.join("dhclient.log")).unwrap();
    // Its own process group, so that stopping it stops timeout(1) and dhclient together.
    let mut child =
        Command::new("ip").args(&args).process_group(0).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    if !release {
        // -d keeps dhclient in the foreground; it is stopped once it reports BOUND/REBOOT.
        for _ in 0..400 {
            let ev = events(dir);
            if ev.contains("BOUND") || ev.contains("REBOOT") || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ =
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    }
    let status = child.wait().unwrap();
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: std::fs::read(dir.join("dhclient.log")).unwrap_or_default(),
    }
}

const SERVER_CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "valid-lifetime": 600,
  "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"}],
  "subnet4": [
    {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.109"}],
     "option-data": [{"name": "routers", "data": "192.0.2.1"}],
     "reservations": [{"hw-address": "02:00:00:00:77:77", "ip-address": "192.0.2.77"}]},
    {"id": 2, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.100 - 198.51.100.109"}],
     "option-data": [{"name": "routers", "data": "198.51.100.1"}]}
  ],
  "loggers": [{"name": "kea-dhcp4", "severity": "DEBUG", "debuglevel": 99}]
}}"#;

fn require_root_and(bins: &[&str]) {
    assert!(nix::unistd::geteuid().is_root(), "these tests create network namespaces: run as root (CI does)");
    for b in bins {
        assert!(have(b), "{b} is not installed: scripts/test.sh installs it");
    }
}

#[test]
fn dhclient_direct_bind_rebind_and_release() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net { names: Vec::new() };
    let srv = net.ns("s");
    let cli = net.ns("c");
    let (si, ci) = (format!("ks{}", std::process::id()), format!("kc{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &si));

    let out = dhclient(&cli, &ci, dir.path(), false);
    let ev = events(dir.path());
    assert!(
        ev.contains("BOUND ip=192.0.2.100 "),
        "dhclient not bound: {ev}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(ev.contains("routers=192.0.2.1 "), "{ev}");
    assert!(ev.contains("dns=192.0.2.53 192.0.2.54"), "{ev}");
    let first_ip = ev
        .lines()
        .find(|l| l.starts_with("BOUND"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_start_matches("ip=")
        .to_string();
    let leases = server.leases();
    assert!(leases.iter().any(|(a, _, _)| *a == first_ip), "{leases:?}");
    server.wait_log("DHCP4_LEASE_ALLOC");

    // A second run (INIT-REBOOT from dhclient's lease file) keeps the address.
    std::fs::remove_file(dir.path().join("client-events")).unwrap();
    let out = dhclient(&cli, &ci, dir.path(), false);
    let ev = events(dir.path());
    eprintln!("second run: {ev}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(ev.contains(&format!("ip={first_ip}")) && (ev.contains("REBOOT") || ev.contains("BOUND")), "{ev}");

    // Release frees the lease in the file.
    let out = dhclient(&cli, &ci, dir.path(), true);
    assert!(out.status.success() || out.status.code() == Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_log("DHCP4_RELEASE");
    assert!(!server.leases().iter().any(|(a, _, _)| *a == first_ip), "{:?}", server.leases());
}

#[test]
fn dhclient_through_dhcrelay_gets_the_relay_subnet() {
    require_root_and(&["dhclient", "dhcrelay", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net { names: Vec::new() };
    let srv = net.ns("S");
    let rly = net.ns("R");
    let cli = net.ns("C");
    let p = std::process::id();
    let (s1, r1, r2, c1) = (format!("kS{p}"), format!("kR{p}"), format!("kr{p}"), format!("kC{p}"));
    net.link(&srv, &s1, &rly, &r1);
    net.link(&rly, &r2, &cli, &c1);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &s1]);
    run(&["ip", "-n", &srv, "route", "add", "198.51.100.0/24", "via", "192.0.2.2"]);
    run(&["ip", "-n", &rly, "addr", "add", "192.0.2.2/24", "dev", &r1]);
    run(&["ip", "-n", &rly, "addr", "add", "198.51.100.1/24", "dev", &r2]);
    let server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &s1));
    let mut relay = Command::new("ip")
        .args(["netns", "exec", &rly, "dhcrelay", "-4", "-d", "-q", "-id", &r2, "-iu", &r1, "192.0.2.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    dhclient(&cli, &c1, dir.path(), false);
    let _ = relay.kill();
    let _ = relay.wait();
    let ev = events(dir.path());
    assert!(ev.contains("BOUND ip=198.51.100.100 "), "{ev}\n{}", server.log());
    assert!(ev.contains("routers=198.51.100.1 "), "{ev}");
}

#[test]
fn udhcpc_with_hostname_and_dhcpcd_are_served() {
    require_root_and(&["busybox", "dhcpcd", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net { names: Vec::new() };
    let srv = net.ns("u");
    let cli = net.ns("v");
    let p = std::process::id();
    let (si, ci) = (format!("ku{p}"), format!("kv{p}"));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &si));

    let script = dir.path().join("udhcpc.sh");
    let out = dir.path().join("udhcpc-events");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$1 ip=$ip router=$router dns=$dns\" >> {}\n", out.display()))
        .unwrap();
    run(&["chmod", "755", script.to_str().unwrap()]);
    let o = Command::new("ip")
        .args([
            "netns", "exec", &cli, "timeout", "30", "busybox", "udhcpc", "-i", &ci, "-n", "-q", "-f", "-t", "5", "-T",
            "2", "-s",
        ])
        .arg(&script)
        .args(["-x", "hostname:kakapo-test"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let ev = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        ev.contains("bound ip=192.0.2.100 "),
        "udhcpc: {ev}\n{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        server.log()
    );
    assert!(ev.contains("router=192.0.2.1"), "{ev}");
    let text = std::fs::read_to_string(&server.leases).unwrap();
    assert!(text.contains("kakapo-test"), "hostname not recorded on the lease: {text}");

    // dhcpcd, one-shot, with no hook script: it configures only the namespace's interface.
    // It leaves helper processes behind, so it runs in its own process group, stopped at the end.
    let log = dir.path().join("dhcpcd.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &cli,
            "dhcpcd",
            "-4",
            "-1",
            "-B",
            "-L",
            "-t",
            "20",
            "-c",
            "/bin/true",
            "-f",
            "/dev/null",
            &ci,
        ])
        .process_group(0)
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    for _ in 0..500 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("leased 192.0.2.10"), "dhcpcd: {text}\n{}", server.log());
}
