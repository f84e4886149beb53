//! Shared pieces of the network-namespace tests: namespaces, veth links, a kakapo server.
#![allow(dead_code)]

pub mod pg;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

pub fn run(args: &[&str]) -> std::process::Output {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        o.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

pub fn have(bin: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {bin}")]).output().is_ok_and(|o| o.status.success())
}

/// Two or three namespaces joined by veth pairs, removed on drop.
pub struct Net {
    pub names: Vec<String>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

impl Net {
    /// A namespace for DHCPv6: duplicate address detection off, so addresses (link-local ones
    /// included) are usable at once and never tentative.
    pub fn ns6(&mut self, name: &str) -> String {
        let n = self.ns(name);
        for key in ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"] {
            run(&["ip", "netns", "exec", &n, "sysctl", "-qw", key]);
        }
        n
    }

    pub fn ns(&mut self, name: &str) -> String {
        let n = format!("kkp{}{name}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &n]).output();
        run(&["ip", "netns", "add", &n]);
        run(&["ip", "-n", &n, "link", "set", "lo", "up"]);
        self.names.push(n.clone());
        n
    }

    /// A veth pair `a` (in `ns_a`) <-> `b` (in `ns_b`), both up.
    pub fn link(&self, ns_a: &str, a: &str, ns_b: &str, b: &str) {
        run(&["ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b]);
        run(&["ip", "-n", ns_a, "link", "set", a, "up"]);
        run(&["ip", "-n", ns_b, "link", "set", b, "up"]);
    }
}

pub struct Server {
    pub child: Child,
    pub log: PathBuf,
    pub leases: PathBuf,
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
    pub fn start(ns: &str, dir: &Path, config: &str) -> Server {
        Server::start_as(ns, dir, config, 4)
    }

    /// A DHCPv6 server: `kea-dhcp6.conf`, `kea-leases6.csv`, and `dir` as the data directory
    /// (where the server DUID file goes).
    pub fn start_v6(ns: &str, dir: &Path, config: &str) -> Server {
        Server::start_as(ns, dir, config, 6)
    }

    /// A server started with `-X`: Kea 3.0's path and secret restrictions become warnings, for
    /// configurations written the Kea 2.x way (inline secrets, `data-directory`, plain HTTP).
    pub fn start_unrestricted(ns: &str, dir: &Path, config: &str, v: u8) -> Server {
        Server::start_with(ns, dir, config, v, &["-X"])
    }

    fn start_as(ns: &str, dir: &Path, config: &str, v: u8) -> Server {
        Server::start_with(ns, dir, config, v, &[])
    }

    /// Every directory Kea 3.0's policy names (data, logs, sockets, pid file) is the test's
    /// own `dir`.
    pub fn start_with(ns: &str, dir: &Path, config: &str, v: u8, args: &[&str]) -> Server {
        let cfg = dir.join(format!("kea-dhcp{v}.conf"));
        let leases = dir.join(format!("kea-leases{v}.csv"));
        let log = dir.join(if v == 4 { "kakapo.log".to_string() } else { "kakapo6.log".to_string() });
        std::fs::write(&cfg, config.replace("@LEASES@", leases.to_str().unwrap())).unwrap();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_kakapo"), "-c", cfg.to_str().unwrap()])
            .args(args)
            .envs(policy_env(dir))
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let s = Server { child, log, leases };
        s.wait_log(&format!("DHCP{v}_STARTED"));
        s
    }

    /// The live rows of a v6 lease file: (address, duid, lease type, prefix length, iaid).
    pub fn leases6(&self) -> Vec<(String, String, u8, u8, u32)> {
        let text = std::fs::read_to_string(&self.leases).unwrap_or_default();
        let mut live: Vec<(String, String, u8, u8, u32)> = Vec::new();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 9 {
                continue;
            }
            let ty: u8 = f[6].parse().unwrap_or(0);
            live.retain(|(a, _, t, _, _)| !(a == f[0] && *t == ty));
            if f[2].parse::<u64>().unwrap_or(0) > 0 {
                live.push((
                    f[0].to_string(),
                    f[1].to_string(),
                    ty,
                    f[8].parse().unwrap_or(0),
                    f[7].parse().unwrap_or(0),
                ));
            }
        }
        live
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_log(&self, needle: &str) {
        for _ in 0..200 {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {needle} in the server log:\n{}", self.log());
    }

    /// The live rows of the lease file: last row per address, tombstones removed.
    pub fn leases(&self) -> Vec<(String, String, u64)> {
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

impl Net {
    /// An empty set of namespaces.
    pub fn new() -> Net {
        Net { names: Vec::new() }
    }
}

impl Server {
    /// Stops the server with SIGTERM and waits (bounded) for it to exit; returns its status.
    pub fn stop(&mut self) -> Option<i32> {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        for _ in 0..200 {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills the server with SIGKILL (a crash) and reaps it.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kea's directory variables, all pointing at a test's own directory, which is narrowed to
/// mode 0750 because it is also the control socket directory (Kea 3.0's policy).
pub fn policy_env(dir: &Path) -> [(&'static str, &Path); 5] {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    [
        ("KEA_PIDFILE_DIR", dir),
        ("KEA_LOCKFILE_DIR", dir),
        ("KEA_DHCP_DATA_DIR", dir),
        ("KEA_LOG_FILE_DIR", dir),
        ("KEA_CONTROL_SOCKET_DIR", dir),
    ]
}

pub fn require_root_and(bins: &[&str]) {
    assert!(nix::unistd::geteuid().is_root(), "these tests create network namespaces: run as root (CI does)");
    for b in bins {
        assert!(have(b), "{b} is not installed: scripts/test.sh installs it");
    }
}

/// A UDP socket created inside the namespace `ns` (sockets stay in the namespace they were
/// made in, so the calling thread can use it from anywhere).
pub fn socket_in(ns: &str, bind: std::net::SocketAddrV4) -> std::net::UdpSocket {
    let ns = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        std::net::UdpSocket::bind(bind).unwrap()
    })
    .join()
    .unwrap()
}

/// Sends a DISCOVER relayed from 198.18.0.2:67 (giaddr 198.18.0.2, MAC 02:00:00:00:nn:nn) to a
/// server at 198.18.0.1 and says whether an OFFER came back within 1.5 s.
pub fn relayed_discover_offered(pair: &Pair, n: u16) -> bool {
    use kakapo::wire::v4::{MessageType, Pkt4};
    let mut p = Pkt4 {
        htype: 1,
        hlen: 6,
        hops: 1,
        xid: 0x5000 + u32::from(n),
        giaddr: "198.18.0.2".parse().unwrap(),
        ..Pkt4::default()
    };
    p.chaddr[..6].copy_from_slice(&[2, 0, 0, 0, (n >> 8) as u8, n as u8]);
    p.set_message_type(MessageType::Discover);
    let mut out = Vec::new();
    p.encode(&mut out);
    let sock = socket_in(&pair.cli, "198.18.0.2:67".parse().unwrap());
    sock.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    sock.send_to(&out, "198.18.0.1:67").unwrap();
    let mut buf = [0u8; 1500];
    sock.recv_from(&mut buf).is_ok()
}

/// A server host and a client host on one link: namespaces `<a>`/`<b>`, interfaces `k<a><pid>`
/// and `k<b><pid>`, addresses `srv_cidr`/`cli_cidr` (None: the client starts unaddressed).
pub struct Pair {
    pub net: Net,
    pub srv: String,
    pub cli: String,
    pub srv_if: String,
    pub cli_if: String,
}

impl Pair {
    pub fn new(a: &str, b: &str, srv_cidr: &str, cli_cidr: Option<&str>) -> Pair {
        let mut net = Net::new();
        let srv = net.ns(a);
        let cli = net.ns(b);
        let p = std::process::id();
        let (srv_if, cli_if) = (format!("k{a}{p}"), format!("k{b}{p}"));
        net.link(&srv, &srv_if, &cli, &cli_if);
        run(&["ip", "-n", &srv, "addr", "add", srv_cidr, "dev", &srv_if]);
        if let Some(c) = cli_cidr {
            run(&["ip", "-n", &cli, "addr", "add", c, "dev", &cli_if]);
        }
        Pair { net, srv, cli, srv_if, cli_if }
    }
}

/// A UDP/IPv6 socket created inside the namespace `ns`, bound to `bind` on device `dev`.
pub fn socket6_in(ns: &str, dev: &str, bind: std::net::SocketAddrV6) -> std::net::UdpSocket {
    let ns = format!("/run/netns/{ns}");
    let dev = dev.to_string();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let s =
            socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, Some(socket2::Protocol::UDP)).unwrap();
        s.set_reuse_address(true).unwrap();
        s.bind_device(Some(dev.as_bytes())).unwrap();
        s.bind(&bind.into()).unwrap();
        std::net::UdpSocket::from(s)
    })
    .join()
    .unwrap()
}

/// The interface index of `dev` inside `ns`.
pub fn ifindex_in(ns: &str, dev: &str) -> u32 {
    let o = run(&["ip", "netns", "exec", ns, "cat", &format!("/sys/class/net/{dev}/ifindex")]);
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// Waits (bounded) until the kernel has given `dev` its link-local address; DHCPv6 clients and
/// servers talk from it.
pub fn wait_link_local(ns: &str, dev: &str) {
    for _ in 0..100 {
        let o = run(&["ip", "-n", ns, "-6", "addr", "show", "dev", dev, "scope", "link"]);
        let text = String::from_utf8_lossy(&o.stdout);
        if text.contains("fe80::") && !text.contains("tentative") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no link-local address on {dev} in {ns}");
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Writes ca.pem, server.pem/server.key and client.pem/client.key into `dir`.
pub fn make_pki(dir: &Path, newkey: &[&str], traditional: Option<&str>) {
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=kakapo test CA"];
    ca.extend(newkey);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &ca);
    for (name, usage, san) in [("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"), ("client", "clientAuth", "")]
    {
        let ext =
            format!("{san}basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\n");
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let mut req = vec!["req", "-new", "-nodes"];
        req.extend(newkey);
        let (key, csr, pem, extfile, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
            format!("/CN=kakapo test {name}"),
        );
        req.extend(["-subj", &subj, "-keyout", &key, "-out", &csr]);
        openssl(dir, &req);
        let sign = format!(
            "x509 -req -in {csr} -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile {extfile} -out {pem}"
        );
        openssl(dir, &sign.split_whitespace().collect::<Vec<_>>());
    }
    if let Some(kind) = traditional {
        // SEC1 / PKCS#1 keys are what older tooling writes; they must load too.
        let mut args = vec![kind, "-in", "server.key", "-out", "server.key"];
        if kind == "rsa" {
            args.push("-traditional");
        }
        openssl(dir, &args);
        let text = std::fs::read_to_string(dir.join("server.key")).unwrap();
        assert!(!text.contains("BEGIN PRIVATE KEY"), "{text}");
    }
}

/// Kea 2.2 itself (`kea-dhcp4` or `kea-dhcp6`) run in a namespace on a configuration written
/// here, with a unix control socket; stopped by its pid.
pub struct Kea {
    pub child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl Kea {
    /// Writes `config` (with `@SOCKET@` replaced by the control socket path) into `dir` and
    /// starts `/usr/sbin/kea-dhcp<v>` on it; waits for DHCP<v>_STARTED and the socket.
    pub fn start(ns: &str, dir: &Path, v: u8, config: &str) -> Kea {
        let socket = dir.join(format!("kea{v}.sock"));
        let log = dir.join(format!("kea{v}.log"));
        let cfg = dir.join(format!("kea{v}.json"));
        std::fs::write(&cfg, config.replace("@SOCKET@", socket.to_str().unwrap())).unwrap();
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns, &format!("/usr/sbin/kea-dhcp{v}"), "-c", cfg.to_str().unwrap()])
            .env("KEA_PIDFILE_DIR", dir)
            .env("KEA_LOCKFILE_DIR", dir)
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap();
        let k = Kea { child, socket, log };
        let ready = format!("DHCP{v}_STARTED");
        for _ in 0..200 {
            if std::fs::read_to_string(&k.log).unwrap_or_default().contains(&ready) && k.socket.exists() {
                return k;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("Kea did not start: {}", std::fs::read_to_string(&k.log).unwrap_or_default());
    }

    /// One command over Kea's unix socket; the raw answer.
    pub fn command(&self, cmd: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(cmd.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// SIGTERM, then a bounded wait (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        for _ in 0..200 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Kea {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A UDP socket created inside `ns`, bound to `bind` on device `dev`, with SO_REUSEADDR and
/// SO_BROADCAST: it can send to 255.255.255.255 from an interface that has no address yet, as
/// a DHCPv4 client in INIT does.
pub fn broadcast_socket_in(ns: &str, dev: &str, bind: std::net::SocketAddrV4) -> std::net::UdpSocket {
    let ns = format!("/run/netns/{ns}");
    let dev = dev.to_string();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let s =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, Some(socket2::Protocol::UDP)).unwrap();
        s.set_reuse_address(true).unwrap();
        s.set_broadcast(true).unwrap();
        s.bind_device(Some(dev.as_bytes())).unwrap();
        s.bind(&bind.into()).unwrap();
        std::net::UdpSocket::from(s)
    })
    .join()
    .unwrap()
}

/// One command over a unix control socket (waiting, bounded, for the socket to appear); the
/// parsed answer.
pub fn control(sock: &Path, cmd: &serde_json::Value) -> serde_json::Value {
    let out = control_text(sock, &cmd.to_string());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd}: {e}: {out}"))
}

/// One command's raw answer over a unix control socket (waiting up to 5 s for the socket).
pub fn control_text(sock: &Path, cmd: &str) -> String {
    use std::io::{Read, Write};
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap_or_else(|e| panic!("{}: {e}", sock.display()));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(cmd.as_bytes()).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The newest value of the statistic `name`, read with `statistic-get` (Kea ARM 8.9).
pub fn statistic(sock: &Path, name: &str) -> i64 {
    let v = control(sock, &serde_json::json!({"command": "statistic-get", "arguments": {"name": name}}));
    v["arguments"][name][0][0].as_i64().unwrap_or_else(|| panic!("no statistic {name}: {v}"))
}

/// What a real `dhclient` run reported: the lines its script recorded, its own log, and when
/// the script first recorded one of the awaited reasons (None: it never did).
pub struct DhclientRun {
    pub events: String,
    pub log: String,
    pub done_after: Option<Duration>,
}

/// Runs ISC `dhclient` with `args` (e.g. `-4` or `-6 -N -P`) plus `-1 -d -v` in the foreground
/// in `ns` on `iface`, its lease, pid, configuration (`conf`) and log files and its script in
/// `dir`, named `dhclient-4.*` or `dhclient-6.*` after the family in `args`. The script only records `$reason ip=... ip6=... prefix=...`; it
/// configures nothing. Waits until a recorded line starts with one of `done` or `limit` has
/// passed (dhclient also runs under timeout(1)), then stops dhclient's process group.
pub fn dhclient_run(
    ns: &str,
    iface: &str,
    dir: &Path,
    args: &[&str],
    conf: &str,
    done: &[&str],
    limit: Duration,
) -> DhclientRun {
    use std::os::unix::process::CommandExt;
    let tag = if args.contains(&"-6") { 6 } else { 4 };
    let f = |suffix: &str| dir.join(format!("dhclient-{tag}.{suffix}"));
    let (script, events, lf, pf, cf, logf) = (f("sh"), f("events"), f("leases"), f("pid"), f("conf"), f("log"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$reason ip=$new_ip_address ip6=$new_ip6_address prefix=$new_ip6_prefix\" >> {}\n\
             exit 0\n",
            events.display()
        ),
    )
    .unwrap();
    run(&["chmod", "755", script.to_str().unwrap()]);
    std::fs::write(&cf, conf).unwrap();
    let _ = std::fs::remove_file(&events);
    let secs = (limit.as_secs() + 5).to_string();
    let log = std::fs::File::create(&logf).unwrap();
    let start = kakapo::clock::monotonic_now();
    // Its own process group, so that stopping it stops timeout(1) and dhclient together.
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "timeout", &secs, "dhclient"])
        .args(args)
        .args(["-1", "-d", "-v", "-sf", script.to_str().unwrap(), "-lf", lf.to_str().unwrap()])
        .args(["-pf", pf.to_str().unwrap(), "-cf", cf.to_str().unwrap(), iface])
        .process_group(0)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let recorded = || std::fs::read_to_string(&events).unwrap_or_default();
    let mut done_after = None;
    while start.elapsed() < limit {
        if recorded().lines().any(|l| done.iter().any(|d| l.starts_with(d))) {
            done_after = Some(start.elapsed());
            // A binding is reported once per IA: a moment for the other IA's line.
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    DhclientRun { events: recorded(), log: std::fs::read_to_string(&logf).unwrap_or_default(), done_after }
}
