//! DHCPv6 with real clients in network namespaces (design.md test tier 3): isc-dhcp-client
//! (`dhclient -6`), dhcpcd and isc-dhcp-relay (`dhcrelay -6`) against a kakapo server, plus
//! exchanges built with kakapo's own codec where a client cannot be made to send them. DAD is
//! off in every namespace; only namespaces and links made here are touched, addresses are
//! documentation ones, every wait is bounded, and only processes started here are stopped.

mod common;

use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{ifindex_in, require_root_and, run, socket6_in, wait_link_local, Kea, Net, Server};
use kakapo::wire::v6::{code, decode, IaAddr, IaNa, MessageType, Pkt6};

/// The dhclient script: records what the client was given, configures nothing.
fn client_script(dir: &Path) -> PathBuf {
    let script = dir.join("client-script6.sh");
    let out = dir.join("client-events6");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$reason ip6=$new_ip6_address prefix=$new_ip6_prefix dns=$new_dhcp6_name_servers\" >> {}\n\
             exit 0\n",
            out.display()
        ),
    )
    .unwrap();
    run(&["chmod", "755", script.to_str().unwrap()]);
    script
}

fn events(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("client-events6")).unwrap_or_default()
}

/// Runs `dhclient -6 <mode flags>` in the foreground until it reports one of `done` (or gives
/// up), then stops its process group. Returns dhclient's own log.
fn dhclient6(ns: &str, iface: &str, dir: &Path, flags: &[&str], conf: &str, done: &[&str]) -> String {
    let script = client_script(dir);
    let _ = std::fs::remove_file(dir.join("client-events6"));
    let (lf, pf, cf) = (dir.join("dhclient6.leases"), dir.join("dhclient6.pid"), dir.join("dhclient6.conf"));
    std::fs::write(&cf, conf).unwrap();
    let mut args = vec!["netns", "exec", ns, "timeout", "30", "dhclient", "-6", "-1", "-d", "-v"];
    args.extend_from_slice(flags);
    let (s, l, p, c) = (script.to_str().unwrap(), lf.to_str().unwrap(), pf.to_str().unwrap(), cf.to_str().unwrap());
    args.extend(["-sf", s, "-lf", l, "-pf", p, "-cf", c, iface]);
    let logf = dir.join("dhclient6.log");
    let log = std::fs::File::create(&logf).unwrap();
    // Its own process group, so that stopping it stops timeout(1) and dhclient together.
    let mut child =
        Command::new("ip").args(&args).process_group(0).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    for _ in 0..400 {
        let ev = events(dir);
        // A binding is reported once per IA: wait a moment for the other IA's line.
        if done.iter().any(|d| ev.contains(d)) {
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    std::fs::read_to_string(logf).unwrap_or_default()
}

/// `ip6=` and `prefix=` values the client script saw, in order.
fn bound(ev: &str) -> (Vec<String>, Vec<String>) {
    let (mut addrs, mut prefixes) = (Vec::new(), Vec::new());
    for line in ev.lines() {
        for word in line.split_whitespace() {
            if let Some(v) = word.strip_prefix("ip6=").filter(|v| !v.is_empty()) {
                addrs.push(v.to_string());
            }
            if let Some(v) = word.strip_prefix("prefix=").filter(|v| !v.is_empty()) {
                prefixes.push(v.to_string());
            }
        }
    }
    (addrs, prefixes)
}

/// A server namespace and a client namespace on one link; the server interface has
/// 2001:db8:1::1/64. Interface names: `k6s<pid>` and `k6c<pid>`.
struct Link6 {
    _net: Net,
    srv: String,
    cli: String,
    si: String,
    ci: String,
}

fn link6(tag: &str) -> Link6 {
    let mut net = Net::new();
    let srv = net.ns6(&format!("{tag}s"));
    let cli = net.ns6(&format!("{tag}c"));
    let p = std::process::id();
    let (si, ci) = (format!("k{tag}s{p}"), format!("k{tag}c{p}"));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "2001:db8:1::1/64", "dev", &si]);
    wait_link_local(&srv, &si);
    wait_link_local(&cli, &ci);
    Link6 { _net: net, srv, cli, si, ci }
}

const SERVER6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": ["@IFACE@"]},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "option-data": [{"name": "dns-servers", "data": "2001:db8::53, 2001:db8::54"}],
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "@IFACE@", "rapid-commit": @RAPID@,
     "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
     "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}],
     "reservations": [{"duid": "00:03:00:01:02:00:00:00:66:66",
                       "ip-addresses": ["2001:db8:1::66"], "prefixes": ["2001:db8:9000::/56"]}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "DEBUG", "debuglevel": 99}]
}}"#;

fn server6_cfg(iface: &str, rapid: bool) -> String {
    SERVER6.replace("@IFACE@", iface).replace("@RAPID@", if rapid { "true" } else { "false" })
}

const DNS_CONF: &str = "request dhcp6.name-servers;\n";

fn in_pool(a: &str) -> bool {
    let a: Ipv6Addr = a.parse().unwrap();
    let (lo, hi): (Ipv6Addr, Ipv6Addr) = ("2001:db8:1::100".parse().unwrap(), "2001:db8:1::1ff".parse().unwrap());
    lo <= a && a <= hi
}

fn in_pd_pool(p: &str) -> bool {
    let (net, len) = p.split_once('/').unwrap();
    let net: Ipv6Addr = net.parse().unwrap();
    len == "56" && net.segments()[..3] == [0x2001, 0xdb8, 0x8000] && net.segments()[3] & 0xff == 0
}

#[test]
fn dhclient_gets_address_prefix_and_dns_and_keeps_them_across_a_server_restart() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("a");
    let mut server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    let sid_file = dir.path().join("kea-dhcp6-serverid");
    let sid = std::fs::read_to_string(&sid_file).expect("the server DUID is stored");
    assert!(sid.starts_with("00:01:00:01:"), "a DUID-LLT by default: {sid}");

    let log = dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P"], DNS_CONF, &["BOUND6"]);
    let ev = events(dir.path());
    let (addrs, prefixes) = bound(&ev);
    assert!(addrs.len() == 1 && in_pool(&addrs[0]), "address from the pool:\n{ev}\n{log}");
    assert!(prefixes.len() == 1 && in_pd_pool(&prefixes[0]), "a /56 from the pd-pool:\n{ev}");
    assert!(ev.contains("dns=2001:db8::53 2001:db8::54"), "both DNS servers:\n{ev}");
    let rows = server.leases6();
    assert!(rows.iter().any(|r| r.0 == addrs[0] && r.2 == 0 && r.3 == 128), "{rows:?}");
    assert!(rows.iter().any(|r| format!("{}/{}", r.0, r.3) == prefixes[0] && r.2 == 2), "{rows:?}");
    let slog = server.log();
    for id in ["DHCP6_LEASE_ADVERT", "DHCP6_PD_LEASE_ADVERT", "DHCP6_LEASE_ALLOC", "DHCP6_PD_LEASE_ALLOC"] {
        assert!(slog.contains(id), "{id} logged");
    }

    // Restart: the DUID file is reused, the client keeps its address and prefix.
    assert_eq!(server.stop(), Some(0));
    let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    assert_eq!(std::fs::read_to_string(&sid_file).unwrap(), sid, "the server DUID survives a restart");
    assert!(server.log().contains(&format!("KAKAPO_USING_SERVERID server is using server-id {sid}")));
    dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P"], DNS_CONF, &["BOUND6", "RENEW6", "REBIND6", "REBOOT6"]);
    let ev2 = events(dir.path());
    let (addrs2, prefixes2) = bound(&ev2);
    assert_eq!((addrs2, prefixes2), (addrs.clone(), prefixes.clone()), "second run keeps both:\n{ev2}");

    // A RENEW to the restarted server, addressed to its (unchanged) DUID, extends the binding.
    let (addr, duid, _, _, iaid) = server.leases6().into_iter().find(|r| r.2 == 0).unwrap();
    let reply = renew(&l, &duid, &sid, iaid, addr.parse().unwrap());
    assert_eq!(reply.msg_type, MessageType::Reply);
    let ia = IaNa::parse(reply.options.get(code::IA_NA).unwrap()).unwrap();
    assert_eq!(ia.addrs.len(), 1, "{ia:?}");
    assert_eq!(ia.addrs[0].addr.to_string(), addr);
    assert_eq!((ia.addrs[0].preferred, ia.addrs[0].valid), (3000, 4000));
    assert!(server.log().contains("DHCP6_LEASE_RENEW"));
}

fn hex(s: &str) -> Vec<u8> {
    s.split(':').map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

/// Sends a RENEW for one address from the client namespace and returns the server's answer.
fn renew(l: &Link6, duid: &str, server_duid: &str, iaid: u32, addr: Ipv6Addr) -> Pkt6 {
    let mut p = Pkt6::new(MessageType::Renew, 0x00be_ef01);
    p.options.push(code::CLIENTID, hex(duid));
    p.options.push(code::SERVERID, hex(server_duid));
    let mut ia = IaNa::new(iaid, 0, 0);
    ia.addrs.push(IaAddr { addr, preferred: 0, valid: 0, status: None, other: Vec::new() });
    let mut buf = Vec::new();
    ia.encode(&mut buf);
    p.options.push(code::IA_NA, buf);
    exchange(&l.cli, &l.ci, &p)
}

/// Sends `p` from port 546 of the client interface to ff02::1:2 and waits for the answer.
fn exchange(ns: &str, dev: &str, p: &Pkt6) -> Pkt6 {
    let sock = socket6_in(ns, dev, SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 546, 0, 0));
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut out = Vec::new();
    p.encode(&mut out);
    let to = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, ifindex_in(ns, dev));
    let mut buf = [0u8; 2048];
    for _ in 0..3 {
        sock.send_to(&out, to).unwrap();
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return decode(&buf[..n]).unwrap().inner;
        }
    }
    panic!("no answer to {:?}", p.msg_type);
}

#[test]
fn duid_reservation_with_an_address_and_a_prefix_is_honoured() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("r");
    // The client's DUID-LL is built from this MAC: 00:03:00:01:02:00:00:00:66:66.
    run(&["ip", "-n", &l.cli, "link", "set", &l.ci, "address", "02:00:00:00:66:66"]);
    let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    let log = dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P", "-D", "LL"], DNS_CONF, &["BOUND6"]);
    let ev = events(dir.path());
    assert_eq!(bound(&ev), (vec!["2001:db8:1::66".to_string()], vec!["2001:db8:9000::/56".to_string()]), "{ev}\n{log}");
    let rows = server.leases6();
    assert!(rows.iter().all(|r| r.1 == "00:03:00:01:02:00:00:00:66:66"), "{rows:?}");
}

#[test]
fn rapid_commit_answers_the_solicit_only_where_the_subnet_enables_it() {
    require_root_and(&["dhclient", "ip"]);
    let conf = "send dhcp6.rapid-commit;\nrequest dhcp6.name-servers;\n";
    for rapid in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let l = link6(if rapid { "q" } else { "n" });
        let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, rapid));
        let log = dhclient6(&l.cli, &l.ci, dir.path(), &["-N"], conf, &["BOUND6"]);
        let ev = events(dir.path());
        let (addrs, _) = bound(&ev);
        assert!(addrs.len() == 1 && in_pool(&addrs[0]), "rapid={rapid}:\n{ev}\n{log}");
        let slog = server.log();
        let advertised = slog.contains("DHCP6_LEASE_ADVERT");
        let requested = log.contains("XMT: Forming Request");
        if rapid {
            assert!(!advertised && !requested, "REPLY straight to the SOLICIT:\n{log}");
            assert!(log.contains("RCV: Reply message"), "{log}");
        } else {
            assert!(advertised && requested, "ADVERTISE then REQUEST:\n{log}");
            assert!(log.contains("RCV: Advertise message"), "{log}");
        }
    }
}

#[test]
fn stateless_dhclient_gets_the_options() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("i");
    let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    let log = dhclient6(&l.cli, &l.ci, dir.path(), &["-S"], DNS_CONF, &["dns=2001:db8"]);
    let ev = events(dir.path());
    assert!(ev.contains("dns=2001:db8::53 2001:db8::54"), "{ev}\n{log}");
    assert!(server.leases6().is_empty(), "INFORMATION-REQUEST leases nothing");
    assert!(server.log().contains("INFORMATION_REQUEST (type 11)"), "the message was an INFORMATION-REQUEST");
}

#[test]
fn dhclient_behind_dhcrelay_gets_the_subnet_of_the_relay_link() {
    require_root_and(&["dhclient", "dhcrelay", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let (srv, rel, cli) = (net.ns6("ys"), net.ns6("yr"), net.ns6("yc"));
    let p = std::process::id();
    let (si, rs, rc, ci) = (format!("kys{p}"), format!("kyrs{p}"), format!("kyrc{p}"), format!("kyc{p}"));
    net.link(&srv, &si, &rel, &rs);
    net.link(&rel, &rc, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "2001:db8:ff::1/64", "dev", &si]);
    run(&["ip", "-n", &rel, "addr", "add", "2001:db8:ff::2/64", "dev", &rs]);
    run(&["ip", "-n", &rel, "addr", "add", "2001:db8:2::1/64", "dev", &rc]);
    for (ns, dev) in [(&srv, &si), (&rel, &rs), (&rel, &rc), (&cli, &ci)] {
        wait_link_local(ns, dev);
    }
    let cfg = format!(
        r#"{{"Dhcp6": {{
  "interfaces-config": {{"interfaces": ["{si}"]}},
  "lease-database": {{"type": "memfile", "name": "@LEASES@", "lfc-interval": 0}},
  "option-data": [{{"name": "dns-servers", "data": "2001:db8::53"}}],
  "subnet6": [
    {{"id": 1, "subnet": "2001:db8:ff::/64", "interface": "{si}", "pools": [{{"pool": "2001:db8:ff::100-2001:db8:ff::1ff"}}]}},
    {{"id": 2, "subnet": "2001:db8:2::/64", "pools": [{{"pool": "2001:db8:2::100-2001:db8:2::1ff"}}]}}
  ],
  "loggers": [{{"name": "kea-dhcp6", "severity": "DEBUG", "debuglevel": 99}}]
}}}}"#
    );
    let server = Server::start_v6(&srv, dir.path(), &cfg);
    let rlog = std::fs::File::create(dir.path().join("dhcrelay6.log")).unwrap();
    let pf = dir.path().join("dhcrelay6.pid");
    let upper = format!("2001:db8:ff::1%{rs}");
    let mut relay = Command::new("ip")
        .args(["netns", "exec", &rel, "timeout", "60", "dhcrelay", "-6", "-d", "-pf", pf.to_str().unwrap()])
        .args(["-l", &rc, "-u", &upper])
        .process_group(0)
        .stdout(rlog.try_clone().unwrap())
        .stderr(rlog)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let log = dhclient6(&cli, &ci, dir.path(), &["-N"], DNS_CONF, &["BOUND6"]);
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(relay.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = relay.wait();
    let ev = events(dir.path());
    let (addrs, _) = bound(&ev);
    let rl = std::fs::read_to_string(dir.path().join("dhcrelay6.log")).unwrap_or_default();
    assert_eq!(addrs.len(), 1, "{ev}\n{log}\nrelay:\n{rl}");
    assert!(addrs[0].starts_with("2001:db8:2::1"), "an address of the relay's link 2001:db8:2::/64: {addrs:?}");
    assert!(server.leases6().iter().any(|r| r.0 == addrs[0]));
    assert!(server.log().contains("REQUEST (type 3) received from [2001:db8:ff::2]:547"), "came through the relay");
}

#[test]
fn dhcpcd_is_served_an_address() {
    require_root_and(&["dhcpcd", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("d");
    let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    let conf = dir.path().join("dhcpcd6.conf");
    // No router solicitation (nothing would answer): DHCPv6 is started by the config alone.
    std::fs::write(&conf, "noipv6rs\nipv6only\nia_na 1\noption dhcp6_name_servers\n").unwrap();
    let logf = dir.path().join("dhcpcd6.log");
    let log = std::fs::File::create(&logf).unwrap();
    // dhcpcd keeps its DUID and leases under fixed paths; `ip netns exec` runs it in a private
    // mount namespace, where these directories are bind-mounted from the test directory.
    let (db, rundir) = (dir.path().join("dhcpcd-db"), dir.path().join("dhcpcd-run"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::create_dir_all(&rundir).unwrap();
    let sh = format!(
        "mkdir -p /var/lib/dhcpcd /run/dhcpcd && mount --bind {} /var/lib/dhcpcd && mount --bind {} /run/dhcpcd && \
         exec dhcpcd -6 -1 -B -d -t 20 -c /bin/true -f {} {}",
        db.display(),
        rundir.display(),
        conf.display(),
        l.ci
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", &l.cli, "timeout", "30", "sh", "-c", &sh])
        .process_group(0)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut got = None;
    for _ in 0..400 {
        if let Some(r) = server.leases6().into_iter().next() {
            got = Some(r);
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    let text = std::fs::read_to_string(&logf).unwrap_or_default();
    let (addr, ..) = got.unwrap_or_else(|| panic!("no lease for dhcpcd:\n{text}\n{}", server.log()));
    assert!(in_pool(&addr), "{addr}");
    assert!(text.contains(&addr), "dhcpcd reports the address it was given:\n{text}");
}

fn solicit(n: u16) -> Vec<u8> {
    let mut p = Pkt6::new(MessageType::Solicit, 0x00a0_0000 | u32::from(n));
    p.options.push(code::CLIENTID, vec![0, 3, 0, 1, 2, 0, 0, 0, (n >> 8) as u8, n as u8]);
    let mut buf = Vec::new();
    IaNa::new(u32::from(n), 0, 0).encode(&mut buf);
    p.options.push(code::IA_NA, buf);
    p.options.push(code::ELAPSED_TIME, vec![0, 0]);
    let mut out = Vec::new();
    p.encode(&mut out);
    out
}

#[test]
fn malformed_packets_are_counted_and_the_server_keeps_answering() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("m");
    let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    let sock = socket6_in(&l.cli, &l.ci, SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 546, 0, 0));
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let to = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, ifindex_in(&l.cli, &l.ci));

    // Truncations, an option overrunning the message, relay nesting past Kea's limit of 32,
    // and pseudo-random bytes; only what kakapo's own decoder refuses is kept, so the expected
    // count is exact.
    let good = solicit(1);
    let mut corpus: Vec<Vec<u8>> = (1..good.len()).map(|cut| good[..cut].to_vec()).collect();
    let mut overrun = good.clone();
    overrun.extend_from_slice(&[0, 39, 0, 200, b'x']);
    corpus.push(overrun);
    let mut nested = good.clone();
    for _ in 0..40 {
        let mut r = vec![12, 0];
        r.extend_from_slice(&[0; 32]);
        r.extend_from_slice(&code::RELAY_MSG.to_be_bytes());
        r.extend_from_slice(&(nested.len() as u16).to_be_bytes());
        r.extend_from_slice(&nested);
        nested = r;
    }
    corpus.push(nested);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for len in [1usize, 3, 4, 17, 100, 600, 1400] {
        let v: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        corpus.push(v);
    }
    corpus.retain(|p| decode(p).is_err());
    assert!(corpus.len() > 30, "a corpus of {} packets", corpus.len());
    for (i, pkt) in corpus.iter().enumerate() {
        sock.send_to(pkt, to).unwrap();
        // Interleave valid traffic: the server must keep answering throughout.
        if i % 10 == 0 {
            sock.send_to(&solicit(2 + i as u16), to).unwrap();
        }
    }
    let mut advertises = 0;
    let mut buf = [0u8; 2048];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        if decode(&buf[..n]).ok().map(|d| d.inner.msg_type) == Some(MessageType::Advertise) {
            advertises += 1;
        }
    }
    assert_eq!(advertises, corpus.len().div_ceil(10), "every valid SOLICIT among the garbage is answered");
    sock.send_to(&solicit(999), to).unwrap();
    let (n, _) = sock.recv_from(&mut buf).expect("no answer after the corpus");
    assert_eq!(decode(&buf[..n]).unwrap().inner.msg_type, MessageType::Advertise);
    std::thread::sleep(Duration::from_millis(200));
    let drops = server.log().matches("DHCP6_PACKET_DROP_PARSE_FAIL").count();
    assert_eq!(drops, corpus.len(), "each malformed packet is counted once (pkt6-parse-failed)");
}

#[test]
fn server_id_follows_the_configuration_and_data_directory() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("e");
    let data = dir.path().join("data");
    let base = server6_cfg(&l.si, false);
    // An EN server-id in Kea 2.x's data-directory.
    let cfg = base.replacen(
        "\"interfaces-config\"",
        &format!(
            "\"data-directory\": \"{}\", \"server-id\": {{\"type\": \"EN\", \"enterprise-id\": 2495, \"identifier\": \"0102030405\"}}, \"interfaces-config\"",
            data.display()
        ),
        1,
    );
    // Kea 2.x's data-directory outside KEA_DHCP_DATA_DIR: allowed with -X, as in Kea 3.0.
    let mut server = Server::start_unrestricted(&l.srv, dir.path(), &cfg, 6);
    let stored = std::fs::read_to_string(data.join("kea-dhcp6-serverid")).unwrap();
    assert_eq!(stored, "00:02:00:00:09:bf:01:02:03:04:05");
    let mut ir = Pkt6::new(MessageType::InformationRequest, 0x0011_2233);
    ir.options.push(code::CLIENTID, vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 9]);
    let reply = exchange(&l.cli, &l.ci, &ir);
    assert_eq!(reply.server_id(), Some(&[0, 2, 0, 0, 9, 0xbf, 1, 2, 3, 4, 5][..]));
    server.stop();
    // persist: false writes nothing and needs nothing written.
    let cfg = base.replacen("\"interfaces-config\"", "\"server-id\": {\"persist\": false}, \"interfaces-config\"", 1);
    let _server = Server::start_v6(&l.srv, dir.path(), &cfg);
    assert!(!dir.path().join("kea-dhcp6-serverid").exists());
    let reply = exchange(&l.cli, &l.ci, &ir);
    assert_eq!(reply.server_id().map(|s| &s[..4]), Some(&[0, 1, 0, 1][..]), "a DUID-LLT");
}

/// Kea 2.2's kea-dhcp6 on a given lease file and data directory, with lease_cmds.
fn start_kea6(ns: &str, dir: &Path, iface: &str, leases: &Path, data: &Path) -> Kea {
    let cfg = format!(
        r#"{{"Dhcp6": {{
  "data-directory": "{}",
  "interfaces-config": {{"interfaces": ["{iface}"]}},
  "lease-database": {{"type": "memfile", "name": "{}", "lfc-interval": 0}},
  "control-socket": {{"socket-type": "unix", "socket-name": "@SOCKET@"}},
  "hooks-libraries": [{{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"}}],
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "option-data": [{{"name": "dns-servers", "data": "2001:db8::53"}}],
  "subnet6": [{{"id": 1, "subnet": "2001:db8:1::/64", "interface": "{iface}",
     "pools": [{{"pool": "2001:db8:1::100-2001:db8:1::1ff"}}],
     "pd-pools": [{{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}}]}}]
}}}}"#,
        data.display(),
        leases.display()
    );
    Kea::start(ns, dir, 6, &cfg)
}

#[test]
fn lease_file_and_server_duid_move_between_kea_and_kakapo() {
    require_root_and(&["dhclient", "ip", "/usr/sbin/kea-dhcp6"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("k");
    let leases = dir.path().join("kea-leases6.csv");
    let kdir = dir.path().join("kea");
    std::fs::create_dir(&kdir).unwrap();

    // 1. Kea serves the client, writes the lease file and its server DUID file.
    let mut kea = start_kea6(&l.srv, &kdir, &l.si, &leases, &kdir);
    dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P"], DNS_CONF, &["BOUND6"]);
    let (addrs, prefixes) = bound(&events(dir.path()));
    assert!(addrs.len() == 1 && prefixes.len() == 1, "Kea did not bind the client: {}", events(dir.path()));
    kea.stop();
    let kea_duid = std::fs::read_to_string(kdir.join("kea-dhcp6-serverid")).unwrap();

    // 2. kakapo on Kea's lease file and data directory: same server DUID, same bindings.
    let cfg = server6_cfg(&l.si, false).replacen(
        "\"interfaces-config\"",
        &format!("\"data-directory\": \"{}\", \"interfaces-config\"", kdir.display()),
        1,
    );
    let mut server = Server::start_unrestricted(&l.srv, dir.path(), &cfg, 6);
    assert_eq!(server.leases, leases);
    assert!(server.log().contains("(2 leases"), "kakapo loads Kea's two leases: {}", server.log());
    assert!(server.log().contains(&format!("server-id {kea_duid} ")), "kakapo uses Kea's DUID {kea_duid}");
    // A RENEW addressed to Kea's DUID is answered by kakapo with the same address.
    let (addr, duid, _, _, iaid) = server.leases6().into_iter().find(|r| r.2 == 0).unwrap();
    assert_eq!(addr, addrs[0]);
    let reply = renew(&l, &duid, &kea_duid, iaid, addr.parse().unwrap());
    let ia = IaNa::parse(reply.options.get(code::IA_NA).unwrap()).unwrap();
    assert_eq!(ia.addrs[0].addr.to_string(), addr);
    assert!(ia.addrs[0].valid > 0);
    dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P"], DNS_CONF, &["BOUND6", "RENEW6", "REBIND6"]);
    assert_eq!(bound(&events(dir.path())), (addrs.clone(), prefixes.clone()), "{}", events(dir.path()));
    assert_eq!(server.stop(), Some(0));
    drop(server);

    // 3. Kea on the file kakapo wrote last: lease6-get finds both, the client keeps them.
    let mut kea = start_kea6(&l.srv, &kdir, &l.si, &leases, &kdir);
    let r = kea.command(&format!(
        r#"{{"command": "lease6-get", "arguments": {{"ip-address": "{}", "type": "IA_NA"}}}}"#,
        addrs[0]
    ));
    assert!(r.contains("\"result\": 0") && r.contains(&addrs[0]), "lease6-get: {r}");
    let pfx = prefixes[0].split('/').next().unwrap();
    let r = kea
        .command(&format!(r#"{{"command": "lease6-get", "arguments": {{"ip-address": "{pfx}", "type": "IA_PD"}}}}"#));
    assert!(r.contains("\"result\": 0") && r.contains("\"prefix-len\": 56"), "lease6-get IA_PD: {r}");
    dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P"], DNS_CONF, &["BOUND6", "RENEW6", "REBIND6"]);
    assert_eq!(bound(&events(dir.path())), (addrs, prefixes), "{}", events(dir.path()));
    kea.stop();
}

/// Sends `p` to `to` from port 546 of the client interface and returns the answer, if any.
fn exchange_to(ns: &str, dev: &str, p: &Pkt6, to: SocketAddrV6) -> Option<Pkt6> {
    let sock = socket6_in(ns, dev, SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 546, 0, 0));
    sock.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let mut out = Vec::new();
    p.encode(&mut out);
    let mut buf = [0u8; 2048];
    sock.send_to(&out, to).unwrap();
    sock.recv_from(&mut buf).ok().map(|(n, _)| decode(&buf[..n]).unwrap().inner)
}

#[test]
fn unicast_address_socket_takes_requests_and_drops_unicast_solicits() {
    require_root_and(&["ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("u");
    run(&["ip", "-n", &l.cli, "addr", "add", "2001:db8:1::9/64", "dev", &l.ci]);
    let cfg = server6_cfg(&l.si, false).replacen(
        &format!("\"interfaces\": [\"{}\"]", l.si),
        &format!("\"interfaces\": [\"{}/2001:db8:1::1\"]", l.si),
        1,
    );
    let server = Server::start_v6(&l.srv, dir.path(), &cfg);
    assert!(server.log().contains("address 2001:db8:1::1, port 547"), "{}", server.log());
    let sid = std::fs::read_to_string(dir.path().join("kea-dhcp6-serverid")).unwrap();
    let to = SocketAddrV6::new("2001:db8:1::1".parse().unwrap(), 547, 0, 0);
    let mut sol = Pkt6::new(MessageType::Solicit, 0x0000_0101);
    sol.options.push(code::CLIENTID, vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 0x21]);
    let mut b = Vec::new();
    IaNa::new(1, 0, 0).encode(&mut b);
    sol.options.push(code::IA_NA, b.clone());
    assert!(exchange_to(&l.cli, &l.ci, &sol, to).is_none(), "a unicast SOLICIT is dropped (Kea's rule)");
    let mut req = Pkt6::new(MessageType::Request, 0x0000_0102);
    req.options.push(code::CLIENTID, vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 0x21]);
    req.options.push(code::SERVERID, hex(&sid));
    req.options.push(code::IA_NA, b);
    let reply = exchange_to(&l.cli, &l.ci, &req, to).expect("a unicast REQUEST is answered");
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert!(server.log().contains("DHCP6_PACKET_DROP_UNICAST"));
    assert!(server.log().contains("REQUEST (type 3) received from [2001:db8:1::9]:546 to 2001:db8:1::1"));
}

/// A SOLICIT with 256 IA_PD options is answered for the first 16 only, and a real dhclient
/// right after gets an address and a prefix.
#[test]
fn a_solicit_with_256_ia_pd_does_not_stop_dhclient_from_being_served() {
    require_root_and(&["dhclient", "ip"]);
    let dir = tempfile::tempdir().unwrap();
    let l = link6("f");
    let server = Server::start_v6(&l.srv, dir.path(), &server6_cfg(&l.si, false));
    let mut p = Pkt6::new(MessageType::Solicit, 0x00f1_0001);
    p.options.push(code::CLIENTID, hex("00:03:00:01:02:00:00:00:f1:01"));
    for iaid in 0..256u32 {
        let mut ia = iaid.to_be_bytes().to_vec();
        ia.extend_from_slice(&[0; 8]); // T1, T2
        p.options.push(code::IA_PD, ia);
    }
    let adv = exchange(&l.cli, &l.ci, &p);
    assert_eq!(adv.msg_type, MessageType::Advertise);
    assert_eq!(adv.options.get_all(code::IA_PD).count(), 16, "16 IA_PD served, the rest left out");
    let log = dhclient6(&l.cli, &l.ci, dir.path(), &["-N", "-P"], DNS_CONF, &["BOUND6"]);
    let ev = events(dir.path());
    let (addrs, prefixes) = bound(&ev);
    assert!(addrs.len() == 1 && in_pool(&addrs[0]), "address from the pool:\n{ev}\n{log}\n{}", server.log());
    assert!(prefixes.len() == 1 && in_pd_pool(&prefixes[0]), "a /56 from the pd-pool:\n{ev}");
}
