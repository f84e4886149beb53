//! DHCPv4 with real clients in network namespaces (design.md test tier 3): isc-dhcp-client,
//! busybox udhcpc, dhcpcd and isc-dhcp-relay against a kakapo server. Only namespaces and veth
//! links made here are touched, addresses are documentation ones, every wait is bounded, and
//! only processes started here are stopped, by pid.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{require_root_and, run, Kea, Net, Server};

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

#[test]
fn dhclient_direct_bind_rebind_and_release() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns("s");
    let cli = net.ns("c");
    let (si, ci) = (format!("ks{}", std::process::id()), format!("kc{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let mut server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &si));

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

    // Restart the server: the lease comes back from the file.
    assert_eq!(server.stop(), Some(0), "{}", server.log());
    drop(server);
    let server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &si));
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
    let mut net = Net::new();
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
    let mut net = Net::new();
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

/// Kea 2.2's kea-dhcp4 on a given lease file, with lease_cmds and a unix socket.
fn start_kea(ns: &str, dir: &Path, iface: &str, leases: &Path) -> Kea {
    let cfg = format!(
        r#"{{"Dhcp4": {{
  "interfaces-config": {{"interfaces": ["{iface}"]}},
  "lease-database": {{"type": "memfile", "name": "{}", "lfc-interval": 0}},
  "control-socket": {{"socket-type": "unix", "socket-name": "@SOCKET@"}},
  "hooks-libraries": [{{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"}}],
  "valid-lifetime": 600,
  "option-data": [{{"name": "domain-name-servers", "data": "192.0.2.53, 192.0.2.54"}}],
  "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.100 - 192.0.2.109"}}],
               "option-data": [{{"name": "routers", "data": "192.0.2.1"}}]}}]
}}}}"#,
        leases.display()
    );
    Kea::start(ns, dir, 4, &cfg)
}

fn bound_ip(ev: &str) -> Option<String> {
    ev.lines()
        .rev()
        .find(|l| l.starts_with("BOUND") || l.starts_with("REBOOT"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|x| x.trim_start_matches("ip=").to_string())
}

#[test]
fn lease_files_move_between_kea_and_kakapo_with_clients_keeping_addresses() {
    require_root_and(&["dhclient", "ip", "/usr/sbin/kea-dhcp4"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns("k");
    let cli = net.ns("l");
    let p = std::process::id();
    let (si, ci) = (format!("kk{p}"), format!("kl{p}"));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let leases = dir.path().join("kea-leases4.csv");

    // 1. Kea serves the client and writes the lease file.
    let kdir = dir.path().join("kea");
    std::fs::create_dir(&kdir).unwrap();
    let mut kea = start_kea(&srv, &kdir, &si, &leases);
    dhclient(&cli, &ci, dir.path(), false);
    let from_kea =
        bound_ip(&events(dir.path())).unwrap_or_else(|| panic!("Kea did not bind the client: {}", events(dir.path())));
    kea.stop();

    // 2. kakapo starts on Kea's file and keeps the client on the same address.
    std::fs::remove_file(dir.path().join("client-events")).unwrap();
    let mut server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &si));
    assert_eq!(server.leases, leases);
    assert!(server.log().contains("(1 leases"), "kakapo did not load Kea's lease: {}", server.log());
    dhclient(&cli, &ci, dir.path(), false);
    assert_eq!(
        bound_ip(&events(dir.path())).as_deref(),
        Some(from_kea.as_str()),
        "{}\n{}",
        events(dir.path()),
        server.log()
    );
    assert_eq!(server.stop(), Some(0));
    drop(server);

    // 3. Kea starts on the file kakapo wrote last and finds the lease (lease4-get).
    let mut kea = start_kea(&srv, &kdir, &si, &leases);
    let reply = kea.command(&format!(r#"{{"command": "lease4-get", "arguments": {{"ip-address": "{from_kea}"}}}}"#));
    assert!(reply.contains("\"result\": 0") && reply.contains(&from_kea), "lease4-get: {reply}");
    // ... and serves the same client the same address again.
    std::fs::remove_file(dir.path().join("client-events")).unwrap();
    dhclient(&cli, &ci, dir.path(), false);
    assert_eq!(bound_ip(&events(dir.path())).as_deref(), Some(from_kea.as_str()), "{}", events(dir.path()));
    kea.stop();
}

/// A flood of 300 relayed DISCOVERs with random MACs holds every address of the 10-address
/// pool many times over; a real dhclient right after is still served, from the oldest hold.
#[test]
fn a_discover_flood_does_not_stop_dhclient_from_being_served() {
    use kakapo::wire::v4::{MessageType, Pkt4};
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns("fs");
    let cli = net.ns("fc");
    let (si, ci) = (format!("kfs{}", std::process::id()), format!("kfc{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let server = Server::start(&srv, dir.path(), &SERVER_CFG.replace("@IFACE@", &si));
    // The flood comes as a relay on the link (giaddr 192.0.2.2), so it needs no broadcast.
    run(&["ip", "-n", &cli, "addr", "add", "192.0.2.2/24", "dev", &ci]);
    let sock = common::socket_in(&cli, "192.0.2.2:67".parse().unwrap());
    let mut seed = 0x2545_f491_4f6c_dd1du64 ^ u64::from(std::process::id());
    for n in 0..300u32 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut p = Pkt4 {
            htype: 1,
            hlen: 6,
            hops: 1,
            xid: 0x7000 + n,
            giaddr: "192.0.2.2".parse().unwrap(),
            ..Pkt4::default()
        };
        p.chaddr[..6].copy_from_slice(&seed.to_be_bytes()[..6]);
        p.chaddr[0] = (p.chaddr[0] & 0xfe) | 0x02; // unicast, locally administered
        p.set_message_type(MessageType::Discover);
        let mut out = Vec::new();
        p.encode(&mut out);
        sock.send_to(&out, "192.0.2.1:67").unwrap();
    }
    drop(sock);
    run(&["ip", "-n", &cli, "addr", "flush", "dev", &ci]);
    let out = dhclient(&cli, &ci, dir.path(), false);
    let ev = events(dir.path());
    assert!(
        ev.lines().any(|l| l.starts_with("BOUND ip=192.0.2.10")),
        "dhclient not bound after the flood: {ev}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    // Served at once: the first or second DISCOVER is answered, not a later retry.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.matches("DHCPDISCOVER on").count() <= 2, "dhclient had to retry:\n{log}");
}

/// Pool-level statistics (Kea 2.4+ `subnet[id].pool[pid].*`) follow real clients and agree
/// with `stat-lease4-get` (Kea's stat_cmds, counted from the leases themselves).
#[test]
fn pool_statistics_follow_dhclient_and_agree_with_stat_lease4_get() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns("ps");
    let cli = net.ns("pc");
    let (si, ci) = (format!("kps{}", std::process::id()), format!("kpc{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let sock = dir.path().join("kakapo4.sock");
    let cfg = SERVER_CFG.replace("@IFACE@", &si).replace(
        r#""pools": [{"pool": "192.0.2.100 - 192.0.2.109"}],"#,
        r#""pools": [{"pool": "192.0.2.100 - 192.0.2.104"}, {"pool": "192.0.2.105 - 192.0.2.114"}],"#,
    );
    let cfg = cfg.replace(
        r#""valid-lifetime": 600,"#,
        &format!(
            r#""valid-lifetime": 600, "control-socket": {{"socket-type": "unix", "socket-name": "{}"}},"#,
            sock.display()
        ),
    );
    let server = Server::start(&srv, dir.path(), &cfg);
    let stat = |name: &str| common::statistic(&sock, name);
    assert_eq!((stat("subnet[1].pool[0].total-addresses"), stat("subnet[1].pool[1].total-addresses")), (5, 10));
    assert_eq!(stat("subnet[1].pool[0].assigned-addresses"), 0);

    let out = dhclient(&cli, &ci, dir.path(), false);
    assert!(
        events(dir.path()).contains("BOUND ip=192.0.2.100 "),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let by_lease = |field: &str| -> i64 {
        let v =
            common::control(&sock, &serde_json::json!({"command": "stat-lease4-get", "arguments": {"subnet-id": 1}}));
        let r = &v["arguments"]["result-set"];
        let col = r["columns"].as_array().unwrap().iter().position(|c| c == field).unwrap();
        r["rows"][0][col].as_i64().unwrap()
    };
    let pools_sum =
        |leaf: &str| stat(&format!("subnet[1].pool[0].{leaf}")) + stat(&format!("subnet[1].pool[1].{leaf}"));
    assert_eq!(stat("subnet[1].pool[0].assigned-addresses"), 1, "192.0.2.100 is in the first pool");
    assert_eq!(stat("subnet[1].pool[0].cumulative-assigned-addresses"), 1);
    assert_eq!(pools_sum("assigned-addresses"), by_lease("assigned-addresses"));
    assert_eq!(pools_sum("total-addresses"), by_lease("total-addresses"));

    // Release: the lease goes, and so does the count.
    let out = dhclient(&cli, &ci, dir.path(), true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_log("DHCP4_RELEASE");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(stat("subnet[1].pool[0].assigned-addresses"), 0);
    assert_eq!(pools_sum("assigned-addresses"), by_lease("assigned-addresses"));
}

/// Kea's packet queue (`dhcp-queue-control`, Kea ARM 18): a server that falls behind answers
/// the newest queries. The server is stopped (SIGSTOP) while 40 relayed DISCOVERs wait in its
/// socket; resumed, with a ring of 8 it processes exactly the newest 8 (`pkt4-received`), and
/// without a queue all 40. A dhclient is served afterwards either way.
#[test]
fn a_packet_queue_keeps_the_newest_queries_of_a_backlog() {
    use kakapo::wire::v4::{MessageType, Pkt4};
    use nix::sys::signal::{kill, Signal};
    require_root_and(&["dhclient", "ip"]);
    for (queue, expected) in [(Some(8), 8), (None, 40)] {
        let dir = tempfile::tempdir().unwrap();
        let mut net = Net::new();
        let srv = net.ns("qs");
        let cli = net.ns("qc");
        let (si, ci) = (format!("kqs{}", std::process::id()), format!("kqc{}", std::process::id()));
        net.link(&srv, &si, &cli, &ci);
        run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
        let sock = dir.path().join("kakapo4.sock");
        let control = format!(r#""control-socket": {{"socket-type": "unix", "socket-name": "{}"}}"#, sock.display());
        let queue_cfg = queue.map_or(String::new(), |n| {
            format!(r#""dhcp-queue-control": {{"enable-queue": true, "queue-type": "kea-ring4", "capacity": {n}}},"#)
        });
        let cfg = SERVER_CFG
            .replace("@IFACE@", &si)
            .replace(r#""valid-lifetime": 600,"#, &format!(r#""valid-lifetime": 600, {queue_cfg} {control},"#));
        let server = Server::start(&srv, dir.path(), &cfg);
        let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
        run(&["ip", "-n", &cli, "addr", "add", "192.0.2.2/24", "dev", &ci]);
        let out = common::socket_in(&cli, "192.0.2.2:67".parse().unwrap());
        kill(pid, Signal::SIGSTOP).unwrap();
        for n in 0..40u8 {
            let mut p = Pkt4 { htype: 1, hlen: 6, hops: 1, xid: 0x5100 + u32::from(n), ..Pkt4::default() };
            p.giaddr = "192.0.2.2".parse().unwrap();
            p.chaddr[..6].copy_from_slice(&[0x02, 0, 0, 0, 0x51, n]);
            p.set_message_type(MessageType::Discover);
            let mut bytes = Vec::new();
            p.encode(&mut bytes);
            out.send_to(&bytes, "192.0.2.1:67").unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        kill(pid, Signal::SIGCONT).unwrap();
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(common::statistic(&sock, "pkt4-received"), expected, "queue {queue:?}\n{}", server.log());
        drop(out);
        run(&["ip", "-n", &cli, "addr", "flush", "dev", &ci]);
        let o = dhclient(&cli, &ci, dir.path(), false);
        assert!(
            events(dir.path()).contains("BOUND ip=192.0.2.1"),
            "queue {queue:?}: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            server.log()
        );
    }
}
