//! kakapo on Kea's PostgreSQL lease database (issue "PostgreSQL"): the schema `kakapo db-init`
//! makes and Kea 2.2 runs on, leases real clients get stored where Kea reads them, leases Kea
//! wrote honoured, and start-up refusals. The cluster is the local one scripts/test.sh starts;
//! servers in network namespaces reach it through its unix socket.

mod common;

use std::process::Command;
use std::time::Duration;

use common::pg::{PgDb, SOCKET_DIR};
use common::{require_root_and, run, Kea, Net, Server};

const LEASE_CMDS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so";

/// Kea 2.2's DHCPv4 server on `db`, serving nothing (no interfaces), for its lease commands.
fn kea_on(db: &PgDb) -> String {
    format!(
        r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}},
  "lease-database": {},
  "control-socket": {{"socket-type": "unix", "socket-name": "@SOCKET@"}},
  "hooks-libraries": [{{"library": "{LEASE_CMDS}"}}],
  "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.100 - 192.0.2.109"}}]}}]}}}}"#,
        db.database_json()
    )
}

fn kakapo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kakapo")).args(args).output().unwrap()
}

/// `kakapo db-init pgsql` makes Kea's schema 13.0 on an empty database without Kea: kea-admin
/// reads its version, Kea 2.2 stores and finds leases in it and its triggers count them; a
/// second run changes nothing and says why.
#[test]
fn db_init_makes_the_schema_kea_2_2_runs_on() {
    require_root_and(&["ip", "/usr/sbin/kea-dhcp4"]);
    let db = PgDb::empty_local("init");
    let init = kakapo(&["db-init", "pgsql", "-n", &db.name, "-u", "root", "-h", SOCKET_DIR]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let version = run(&["kea-admin", "db-version", "pgsql", "-n", &db.name, "-u", "root", "-h", SOCKET_DIR]);
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "13.0");
    let again = kakapo(&["db-init", "pgsql", "-n", &db.name, "-u", "root", "-h", SOCKET_DIR]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has a Kea schema (version 13.0)"));

    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let ns = net.ns("pi");
    let mut kea = Kea::start(&ns, dir.path(), 4, &kea_on(&db));
    let add = r#"{"command": "lease4-add", "arguments": {"ip-address": "192.0.2.10", "hw-address": "1a:1b:1c:1d:1e:1f", "subnet-id": 1}}"#;
    assert!(kea.command(add).contains(r#""result": 0"#), "{}", kea.command(add));
    let got = kea.command(r#"{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.10"}}"#);
    assert!(got.contains("1a:1b:1c:1d:1e:1f"), "{got}");
    kea.stop();
    assert_eq!(db.sql("SELECT leases FROM lease4_stat WHERE subnet_id = 1 AND state = 0"), "1");
}

/// A dhclient lease from kakapo is a lease4 row with the client's hardware address, which Kea
/// 2.2 on the same database finds; a lease Kea writes for that client while kakapo runs is
/// the address kakapo then gives it (kakapo reads the client's leases from the database, not
/// from a copy made at start-up); lease4_stat agrees with the rows.
#[test]
fn leases_are_shared_with_kea_2_2_both_ways() {
    require_root_and(&["dhclient", "ip", "/usr/sbin/kea-dhcp4"]);
    let db = PgDb::kea_init_local("share");
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns("ps");
    let cli = net.ns("pc");
    let (si, ci) = (format!("kps{}", std::process::id()), format!("kpc{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &si]);
    let mac = "02:00:00:00:5a:5a";
    run(&["ip", "-n", &cli, "link", "set", &ci, "address", mac]);
    let cfg = format!(
        r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{si}"]}},
  "lease-database": {},
  "valid-lifetime": 600,
  "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.100 - 192.0.2.109"}}]}}]}}}}"#,
        db.database_json()
    );
    let dhclient = |tag: &str| {
        let d = dir.path().join(tag);
        std::fs::create_dir_all(&d).unwrap();
        common::dhclient_run(&cli, &ci, &d, &["-4"], "timeout 20;\nretry 1;\n", &["BOUND"], Duration::from_secs(25))
    };

    let server = Server::start(&srv, dir.path(), &cfg);
    let first = dhclient("first");
    assert!(first.events.contains("BOUND ip=192.0.2.100 "), "{}\n{}", first.events, server.log());
    let address = u32::from(std::net::Ipv4Addr::new(192, 0, 2, 100));
    let row = db
        .sql(&format!("SELECT encode(hwaddr, 'hex'), subnet_id, valid_lifetime FROM lease4 WHERE address = {address}"));
    assert_eq!(row, "020000005a5a|1|600", "the lease row of 192.0.2.100");

    let kea_dir = dir.path().join("kea");
    std::fs::create_dir_all(&kea_dir).unwrap();
    let mut kea = Kea::start(&srv, &kea_dir, 4, &kea_on(&db));
    let got = kea.command(r#"{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.100"}}"#);
    assert!(got.contains(r#""hw-address": "02:00:00:00:5a:5a""#), "Kea 2.2 finds kakapo's lease: {got}");
    // Kea moves the client to another address; kakapo, started again, gives it that one.
    let del = kea.command(r#"{"command": "lease4-del", "arguments": {"ip-address": "192.0.2.100"}}"#);
    assert!(del.contains(r#""result": 0"#), "{del}");
    let add = format!(
        r#"{{"command": "lease4-add", "arguments": {{"ip-address": "192.0.2.107", "hw-address": "{mac}", "subnet-id": 1, "valid-lft": 600}}}}"#
    );
    let added = kea.command(&add);
    assert!(added.contains(r#""result": 0"#), "{added}");
    kea.stop();
    let second = dhclient("second");
    assert!(second.events.contains("BOUND ip=192.0.2.107 "), "{}\n{}", second.events, server.log());
    let rows = db.sql("SELECT count(*) FROM lease4");
    let counted = db.sql("SELECT coalesce(sum(leases), 0) FROM lease4_stat WHERE state = 0");
    assert_eq!((rows.as_str(), counted.as_str()), ("1", "1"), "lease4_stat agrees with lease4");
}

/// A database that refuses the login, or does not exist, stops the start with exit 1 and the
/// server's words (no retry-on-startup).
#[test]
fn a_wrong_password_or_unknown_database_exits_1() {
    require_root_and(&["psql"]);
    let db = PgDb::kea_init("refuse");
    let dir = tempfile::tempdir().unwrap();
    for (json, words) in [
        (db.database_json().replace(common::pg::PASSWORD, "not-the-password"), "password authentication failed"),
        (db.database_json().replace(&db.name, "kkp_no_such_database"), "does not exist"),
    ] {
        let cfg = dir.path().join("kea-dhcp4.conf");
        let text = format!(r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}}, "lease-database": {json}}}}}"#);
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kakapo"))
            .args(["-c", cfg.to_str().unwrap(), "-X"])
            .envs(common::policy_env(dir.path()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(words), "{words}: {err}");
    }
}

/// One simulated client's DHCPv4 message, relayed from `giaddr` (RFC 2131, RFC 3046).
fn relayed(n: u32, msg: kakapo::wire::v4::MessageType, giaddr: std::net::Ipv4Addr, opts: &[(u8, [u8; 4])]) -> Vec<u8> {
    let opts: Vec<(u8, Vec<u8>)> = opts.iter().map(|(c, v)| (*c, v.to_vec())).collect();
    relayed_with(n, msg, giaddr, &opts)
}

/// [`relayed`] with options of any length.
fn relayed_with(
    n: u32,
    msg: kakapo::wire::v4::MessageType,
    giaddr: std::net::Ipv4Addr,
    opts: &[(u8, Vec<u8>)],
) -> Vec<u8> {
    use kakapo::wire::v4::Pkt4;
    let mut p = Pkt4 { htype: 1, hlen: 6, hops: 1, xid: 0x4400_0000 + n, giaddr, ..Pkt4::default() };
    p.chaddr[..6].copy_from_slice(&[2, 0x5e, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    p.set_message_type(msg);
    for (code, value) in opts {
        p.options.insert_slice(*code, value);
    }
    let mut out = Vec::new();
    p.encode(&mut out);
    out
}

/// A relay agent in namespace `ns` at `giaddr` sending every client's DISCOVER and REQUEST
/// to each of `servers` (a relay configured with several servers), clients taking the first
/// OFFER as real clients do.
struct Relay {
    sock: std::net::UdpSocket,
    giaddr: std::net::Ipv4Addr,
    servers: Vec<std::net::SocketAddrV4>,
    naks: std::cell::Cell<usize>,
}

impl Relay {
    fn new(ns: &str, giaddr: std::net::Ipv4Addr, servers: Vec<std::net::SocketAddrV4>) -> Relay {
        let sock = common::socket_in(ns, std::net::SocketAddrV4::new(giaddr, 67));
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &(8 << 20)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        Relay { sock, giaddr, servers, naks: std::cell::Cell::new(0) }
    }

    /// Replies of one step by client, the first per client, until `want` clients of `window`
    /// answered or 3 s passed.
    fn collect(
        &self,
        want: usize,
        window: &std::ops::Range<u32>,
        kinds: &[kakapo::wire::v4::MessageType],
    ) -> std::collections::HashMap<u32, kakapo::wire::v4::Pkt4> {
        let mut got = std::collections::HashMap::new();
        let mut buf = [0u8; 1500];
        let start = kakapo::clock::monotonic_now();
        while got.len() < want && start.elapsed() < Duration::from_secs(3) {
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else { continue };
            let Ok(p) = kakapo::wire::v4::Pkt4::decode(&buf[..n]) else { continue };
            let c = p.xid.wrapping_sub(0x4400_0000);
            // The other server's OFFER may come late, among the answers to the REQUESTs.
            if window.contains(&c) && p.message_type().is_some_and(|t| kinds.contains(&t)) {
                got.entry(c).or_insert(p);
            }
        }
        got
    }

    /// One DORA for each client of `window` not yet in `acked` (client -> (address,
    /// server)).
    fn dora(
        &self,
        window: std::ops::Range<u32>,
        acked: &mut std::collections::BTreeMap<u32, (std::net::Ipv4Addr, std::net::Ipv4Addr)>,
    ) {
        use kakapo::wire::v4::MessageType;
        let todo: Vec<u32> = window.clone().filter(|c| !acked.contains_key(c)).collect();
        for c in &todo {
            for to in &self.servers {
                self.sock.send_to(&relayed(*c, MessageType::Discover, self.giaddr, &[]), to).unwrap();
            }
        }
        let offers = self.collect(todo.len(), &window, &[MessageType::Offer]);
        for (c, offer) in &offers {
            let Some(sid) = offer.server_id() else { continue };
            let opts = [(50, offer.yiaddr.octets()), (54, sid.octets())];
            for to in &self.servers {
                self.sock.send_to(&relayed(*c, MessageType::Request, self.giaddr, &opts), to).unwrap();
            }
        }
        for (c, reply) in self.collect(offers.len(), &window, &[MessageType::Ack, MessageType::Nak]) {
            match (reply.message_type(), reply.server_id()) {
                (Some(MessageType::Ack), Some(sid)) => {
                    acked.insert(c, (reply.yiaddr, sid));
                }
                _ => self.naks.set(self.naks.get() + 1),
            }
        }
    }

    /// [`Relay::dora`] over `clients` in windows of 100.
    fn pass(
        &self,
        clients: std::ops::Range<u32>,
        acked: &mut std::collections::BTreeMap<u32, (std::net::Ipv4Addr, std::net::Ipv4Addr)>,
    ) {
        for lo in clients.clone().step_by(100) {
            self.dora(lo..(lo + 100).min(clients.end), acked);
        }
    }
}

/// The lease4 rows: address -> hardware address in hex.
fn lease4_rows(db: &PgDb) -> std::collections::HashMap<u32, String> {
    db.sql("SELECT address, encode(hwaddr, 'hex') FROM lease4")
        .lines()
        .filter_map(|l| l.split_once('|').map(|(a, h)| (a.parse().unwrap(), h.to_string())))
        .collect()
}

/// The hardware address of simulated client `c`, as lease4 shows it.
fn client_mac(c: u32) -> String {
    format!("025e00{:02x}{:02x}{:02x}", (c >> 16) as u8, (c >> 8) as u8, c as u8)
}

/// A relay namespace (giaddr 198.18.64.1 on its loopback) linked to server namespace `i`
/// (198.18.i.1, routed back to 198.18.64.0/18): (server namespace, server interface).
fn relay_link(net: &mut Net, relay: &str, tag: &str, i: u8) -> (String, String) {
    let ns = net.ns(&format!("{tag}{i}"));
    let (si, ri) = (format!("k{tag}{i}s{}", std::process::id()), format!("k{tag}{i}r{}", std::process::id()));
    net.link(&ns, &si, relay, &ri);
    run(&["ip", "-n", &ns, "addr", "add", &format!("198.18.{i}.1/24"), "dev", &si]);
    run(&["ip", "-n", relay, "addr", "add", &format!("198.18.{i}.2/24"), "dev", &ri]);
    run(&["ip", "-n", &ns, "route", "add", "198.18.64.0/18", "via", &format!("198.18.{i}.2")]);
    (ns, si)
}

/// The relay namespace of [`relay_link`].
fn relay_ns(net: &mut Net, tag: &str) -> String {
    let relay = net.ns(&format!("{tag}r"));
    run(&["ip", "-n", &relay, "link", "set", "lo", "up"]);
    run(&["ip", "-n", &relay, "addr", "add", "198.18.64.1/32", "dev", "lo"]);
    relay
}

/// Two kakapo servers on one database, each relayed every client's DISCOVER and REQUEST at
/// the same time (as a relay agent configured with both), 10,000 clients in windows of 100:
/// both decide for the same clients at the same moment, the database arbitrates. No address
/// is acknowledged to two clients, every acknowledged lease is the lease4 row of its address
/// with its client's hardware address, and there is no other row.
#[test]
fn two_servers_on_one_database_never_share_an_address() {
    use std::collections::{BTreeMap, HashMap};
    use std::net::{Ipv4Addr, SocketAddrV4};
    require_root_and(&["ip"]);
    let db = PgDb::kea_init_local("two");
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let relay = relay_ns(&mut net, "t");
    let giaddr: Ipv4Addr = "198.18.64.1".parse().unwrap();
    let mut servers = Vec::new();
    for i in 1..=2u8 {
        let (ns, si) = relay_link(&mut net, &relay, "t", i);
        let cfg = format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{si}"], "dhcp-socket-type": "udp"}},
  "lease-database": {}, "allocator": "random", "valid-lifetime": 3600,
  "subnet4": [{{"id": 1, "subnet": "198.18.64.0/18", "pools": [{{"pool": "198.18.64.10 - 198.18.127.250"}}]}}]}}}}"#,
            db.database_json()
        );
        let sdir = dir.path().join(format!("s{i}"));
        std::fs::create_dir_all(&sdir).unwrap();
        servers.push((Server::start(&ns, &sdir, &cfg), SocketAddrV4::new(Ipv4Addr::new(198, 18, i, 1), 67)));
    }
    let driver = Relay::new(&relay, giaddr, servers.iter().map(|(_, a)| *a).collect());
    let clients = 10_000u32;
    let mut acked: BTreeMap<u32, (Ipv4Addr, Ipv4Addr)> = BTreeMap::new();
    // Bounded: one pass over every client, then three more for the NAKed or unanswered.
    for _ in 0..4 {
        driver.pass(0..clients, &mut acked);
    }
    let naks = driver.naks.get();
    let by_server = |s: Ipv4Addr| acked.values().filter(|(_, sid)| *sid == s).count();
    let (one, two) = (by_server(Ipv4Addr::new(198, 18, 1, 1)), by_server(Ipv4Addr::new(198, 18, 2, 1)));
    eprintln!("acknowledged {} of {clients} (server 1: {one}, server 2: {two}), NAKs {naks}", acked.len());
    assert_eq!(acked.len(), clients as usize, "every client acknowledged in the end (NAKs {naks})");
    assert!(one > clients as usize / 10 && two > clients as usize / 10, "both servers decided: {one} / {two}");
    let mut seen: HashMap<Ipv4Addr, u32> = HashMap::new();
    for (c, (addr, _)) in &acked {
        assert!(seen.insert(*addr, *c).is_none(), "{addr} acknowledged to clients {} and {c}", seen[addr]);
    }
    let rows = lease4_rows(&db);
    for (c, (addr, _)) in &acked {
        assert_eq!(rows.get(&u32::from(*addr)), Some(&client_mac(*c)), "the row of {addr} (client {c})");
    }
    assert_eq!(rows.len(), acked.len(), "no lease4 row that no client was acknowledged");
}

/// DHCPv6 on the database: a dhclient address and delegated prefix are lease6 rows (types 0
/// and 2) that Kea 2.2's kea-dhcp6 on the same database finds with lease6-get, and
/// lease6_stat counts them.
#[test]
fn dhcpv6_address_and_prefix_are_lease6_rows_kea_2_2_reads() {
    require_root_and(&["dhclient", "ip", "/usr/sbin/kea-dhcp6"]);
    let db = PgDb::kea_init_local("six");
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns6("p6s");
    let cli = net.ns6("p6c");
    let (si, ci) = (format!("kp6s{}", std::process::id()), format!("kp6c{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &srv, "addr", "add", "2001:db8:1::1/64", "dev", &si]);
    common::wait_link_local(&srv, &si);
    common::wait_link_local(&cli, &ci);
    let subnet = r#""subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "@IFACE@",
     "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
     "pd-pools": [{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}]}]"#;
    let cfg = format!(
        r#"{{"Dhcp6": {{"interfaces-config": {{"interfaces": ["{si}"]}}, "lease-database": {},
  "preferred-lifetime": 3000, "valid-lifetime": 4000, {}}}}}"#,
        db.database_json(),
        subnet.replace("@IFACE@", &si)
    );
    let server = Server::start_v6(&srv, dir.path(), &cfg);
    let run6 =
        common::dhclient_run(&cli, &ci, dir.path(), &["-6", "-N", "-P"], "", &["BOUND6"], Duration::from_secs(25));
    let field = |name: &str| -> String {
        let line =
            run6.events.lines().find(|l| l.starts_with("BOUND6") && l.contains(&format!("{name}=2001"))).unwrap_or("");
        line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}="))).unwrap_or("").to_string()
    };
    let (addr, prefix) = (field("ip6"), field("prefix"));
    assert!(!addr.is_empty() && !prefix.is_empty(), "{}\n{}", run6.events, server.log());
    let rows = db.sql("SELECT address, lease_type, prefix_len FROM lease6 ORDER BY lease_type");
    let net_part = prefix.split('/').next().unwrap();
    assert_eq!(rows, format!("{addr}|0|128\n{net_part}|2|56"), "the lease6 rows");
    assert_eq!(db.sql("SELECT sum(leases) FROM lease6_stat WHERE state = 0"), "2");

    let kea_dir = dir.path().join("kea");
    std::fs::create_dir_all(&kea_dir).unwrap();
    let kea_cfg = format!(
        r#"{{"Dhcp6": {{"interfaces-config": {{"interfaces": []}}, "lease-database": {},
  "server-id": {{"type": "LL", "persist": false}},
  "control-socket": {{"socket-type": "unix", "socket-name": "@SOCKET@"}},
  "hooks-libraries": [{{"library": "{LEASE_CMDS}"}}], {}}}}}"#,
        db.database_json(),
        subnet.replace(r#", "interface": "@IFACE@""#, "")
    );
    let mut kea = Kea::start(&srv, &kea_dir, 6, &kea_cfg);
    let na = kea.command(&format!(r#"{{"command": "lease6-get", "arguments": {{"ip-address": "{addr}"}}}}"#));
    assert!(na.contains(r#""result": 0"#) && na.contains(r#""type": "IA_NA""#), "{na}");
    let pd = kea.command(&format!(
        r#"{{"command": "lease6-get", "arguments": {{"ip-address": "{net_part}", "type": "IA_PD"}}}}"#
    ));
    assert!(pd.contains(r#""result": 0"#) && pd.contains(r#""prefix-len": 56"#), "{pd}");
    kea.stop();
}

/// PostgreSQL restarted under load (a cluster of the test's own): the server reconnects by
/// itself (`max-reconnect-tries`, `reconnect-wait-time`) and serves new clients, and every
/// lease a client saw acknowledged, before, during or after the restart, is in lease4.
#[test]
fn the_server_reconnects_after_a_database_restart_and_loses_no_acknowledged_lease() {
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, SocketAddrV4};
    require_root_and(&["ip", "kea-admin"]);
    let cluster = common::pg::Cluster::start("restart");
    let lease_db = cluster.kea_db(
        "kea",
        r#", "max-reconnect-tries": 100, "reconnect-wait-time": 100, "on-fail": "serve-retry-continue""#,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let relay = relay_ns(&mut net, "r");
    let (srv, si) = relay_link(&mut net, &relay, "r", 1);
    let cfg = format!(
        r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{si}"], "dhcp-socket-type": "udp"}},
  "lease-database": {lease_db}, "valid-lifetime": 3600,
  "subnet4": [{{"id": 1, "subnet": "198.18.64.0/18", "pools": [{{"pool": "198.18.64.10 - 198.18.127.250"}}]}}]}}}}"#
    );
    let server = Server::start(&srv, dir.path(), &cfg);
    let driver =
        Relay::new(&relay, "198.18.64.1".parse().unwrap(), vec![SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 1), 67)]);
    let mut acked: BTreeMap<u32, (Ipv4Addr, Ipv4Addr)> = BTreeMap::new();
    driver.pass(0..1_000, &mut acked);
    let before = acked.len();
    // The restart lands in the middle of the next thousand clients.
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        cluster.restart();
        cluster
    });
    driver.pass(1_000..3_000, &mut acked);
    let cluster = restarter.join().unwrap();
    // New clients after the restart: all served once the connection is back (bounded passes).
    for _ in 0..3 {
        driver.pass(3_000..4_000, &mut acked);
    }
    let after = (3_000..4_000).filter(|c| acked.contains_key(c)).count();
    eprintln!("acknowledged before {before}, in all {}, new clients after the restart {after} of 1000", acked.len());
    assert!(server.log().contains("DHCP4_DB_RECONNECT_SUCCEEDED"), "{}", server.log());
    assert_eq!(before, 1_000, "served before the restart");
    assert_eq!(after, 1_000, "new clients served after the restart");
    let rows: std::collections::HashMap<u32, String> = cluster
        .sql("kea", "SELECT address, encode(hwaddr, 'hex') FROM lease4")
        .lines()
        .filter_map(|l| l.split_once('|').map(|(a, h)| (a.parse().unwrap(), h.to_string())))
        .collect();
    for (c, (addr, _)) in &acked {
        assert_eq!(rows.get(&u32::from(*addr)), Some(&client_mac(*c)), "acknowledged {addr} (client {c}) is in lease4");
    }
}

/// `on-fail` (Kea ARM 8.2.2.2) with a cluster of the test's own. `stop-retry-exit`: while the
/// lost connection is made again the service is disabled, and status-get says so
/// (`disabled-by-db-connection: [3000]`, Kea's origin id); once the database is back it
/// serves again. With its tries used up, the server exits with status 1.
#[test]
fn stop_retry_exit_disables_the_service_while_reconnecting_and_exits_when_it_gives_up() {
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, SocketAddrV4};
    require_root_and(&["ip", "kea-admin"]);
    let cluster = common::pg::Cluster::start("onfail");
    let patient = cluster
        .kea_db("kea", r#", "max-reconnect-tries": 600, "reconnect-wait-time": 100, "on-fail": "stop-retry-exit""#);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let relay = relay_ns(&mut net, "f");
    let (srv, si) = relay_link(&mut net, &relay, "f", 1);
    let sock = dir.path().join("kakapo4.sock");
    let cfg = |db: &str| {
        format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{si}"], "dhcp-socket-type": "udp"}},
  "lease-database": {db}, "valid-lifetime": 3600,
  "control-socket": {{"socket-type": "unix", "socket-name": "{}"}},
  "subnet4": [{{"id": 1, "subnet": "198.18.64.0/18", "pools": [{{"pool": "198.18.64.10 - 198.18.127.250"}}]}}]}}}}"#,
            sock.display()
        )
    };
    let state =
        || common::control(&sock, &serde_json::json!({"command": "status-get"}))["arguments"]["dhcp-state"].clone();
    let mut server = Server::start(&srv, dir.path(), &cfg(&patient));
    let driver =
        Relay::new(&relay, "198.18.64.1".parse().unwrap(), vec![SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 1), 67)]);
    let mut acked: BTreeMap<u32, (Ipv4Addr, Ipv4Addr)> = BTreeMap::new();
    driver.pass(0..100, &mut acked);
    assert_eq!(acked.len(), 100);
    assert_eq!(state()["disabled-by-db-connection"], serde_json::json!([]));

    cluster.stop();
    // A commit finds the connection gone: the service is held disabled while it is retried.
    driver.pass(100..110, &mut acked);
    server.wait_log("DHCP4_DB_RECONNECT_LOST_CONNECTION");
    let held = state();
    assert_eq!(held["disabled-by-db-connection"], serde_json::json!([3000]), "{held}");
    assert_eq!(held["globally-disabled"], serde_json::json!(true));
    driver.pass(200..210, &mut acked);
    assert!(!(200..210).any(|c| acked.contains_key(&c)), "a disabled service answers no one");

    cluster.start_again();
    server.wait_log("DHCP4_DB_RECONNECT_SUCCEEDED");
    assert_eq!(state()["disabled-by-db-connection"], serde_json::json!([]));
    for _ in 0..3 {
        driver.pass(300..400, &mut acked);
    }
    assert_eq!((300..400).filter(|c| acked.contains_key(c)).count(), 100, "served again");
    server.stop();

    // Two tries only: the server gives up and exits with status 1.
    let hasty = patient.replace(r#""max-reconnect-tries": 600"#, r#""max-reconnect-tries": 2"#);
    let mut server = Server::start(&srv, dir.path(), &cfg(&hasty));
    cluster.stop();
    driver.pass(500..510, &mut acked);
    let mut status = None;
    for _ in 0..100 {
        if let Ok(Some(s)) = server.child.try_wait() {
            status = s.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, Some(1), "{}", server.log());
    assert!(server.log().contains("DHCPSRV_PGSQL_LEASE_DB_RECONNECT_FAILED"), "{}", server.log());
}

/// One DISCOVER and REQUEST of client `c` through `relay` with option 55 asking for `prl`:
/// the OFFER and the ACK.
fn dora_of(relay: &Relay, c: u32, prl: [u8; 4]) -> (kakapo::wire::v4::Pkt4, kakapo::wire::v4::Pkt4) {
    dora_with(relay, c, prl, &[])
}

/// [`dora_of`] with `extra` options in both messages (a client identifier, relay information).
fn dora_with(
    relay: &Relay,
    c: u32,
    prl: [u8; 4],
    extra: &[(u8, Vec<u8>)],
) -> (kakapo::wire::v4::Pkt4, kakapo::wire::v4::Pkt4) {
    use kakapo::wire::v4::MessageType;
    let to = relay.servers[0];
    let mut opts = vec![(55, prl.to_vec())];
    opts.extend_from_slice(extra);
    relay.sock.send_to(&relayed_with(c, MessageType::Discover, relay.giaddr, &opts), to).unwrap();
    let offer = relay.collect(1, &(c..c + 1), &[MessageType::Offer]).remove(&c).expect("an OFFER");
    opts.push((50, offer.yiaddr.octets().to_vec()));
    opts.push((54, offer.server_id().unwrap().octets().to_vec()));
    relay.sock.send_to(&relayed_with(c, MessageType::Request, relay.giaddr, &opts), to).unwrap();
    let ack = relay.collect(1, &(c..c + 1), &[MessageType::Ack, MessageType::Nak]).remove(&c).expect("an ACK");
    (offer, ack)
}

fn text_of(field: &[u8]) -> String {
    String::from_utf8_lossy(field.split(|b| *b == 0).next().unwrap_or_default()).into_owned()
}

/// Host reservations in Kea's hosts tables (issue "PostgreSQL"): a row written with SQL the
/// way Kea writes it is served (address, boot fields, hostname, options in text and binary
/// form, an always-send option); an address reserved there for another client is skipped by
/// the pool; `reservation-add` writes the row and options as Kea's backend would, and the
/// client gets it; Debian's Kea 2.2 on the same database serves that row too; `reservation-get`
/// and `-get-all` read the table, `reservation-del` removes the row and its options.
#[test]
fn reservations_in_the_hosts_table_are_served_and_host_commands_write_them() {
    use kakapo::wire::v4::code;
    use std::net::Ipv4Addr;
    require_root_and(&["ip", "/usr/sbin/kea-dhcp4"]);
    let db = PgDb::kea_init_local("hosts");
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let relay = relay_ns(&mut net, "h");
    let (ns, si) = relay_link(&mut net, &relay, "h", 1);
    let num = |a: &str| u32::from(a.parse::<Ipv4Addr>().unwrap());
    db.sql(&format!(
        "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, dhcp6_subnet_id, ipv4_address,
           hostname, dhcp4_client_classes, dhcp6_client_classes, user_context, dhcp4_next_server,
           dhcp4_server_hostname, dhcp4_boot_file_name, auth_key)
         VALUES (decode('{}', 'hex'), 0, 1, NULL, {}, 'kkp-host4', '', '', NULL, {}, 'kkp-tftp', 'pxelinux.0', NULL),
                (decode('{}', 'hex'), 0, 1, NULL, {}, '', '', '', NULL, 0, '', '', NULL),
                (decode('012a2b2c2d2e2f', 'hex'), 3, 1, NULL, {}, 'kkp-clientid4', '', '', NULL, 0, '', '', NULL),
                (convert_to('kkp-port-7', 'UTF8'), 2, 1, NULL, {}, 'kkp-circuit4', '', '', NULL, 0, '', '', NULL);
         INSERT INTO dhcp4_options (code, value, formatted_value, space, persistent, host_id, scope_id)
         SELECT c, v, f, 'dhcp4', p, (SELECT host_id FROM hosts WHERE hostname = 'kkp-host4'), 3 FROM (VALUES
           (6, NULL::bytea, '198.18.1.53, 198.18.1.54', false),
           (15, convert_to('bin.example', 'UTF8'), NULL, false),
           (42, NULL, '198.18.1.123', true)) AS o(c, v, f, p)",
        client_mac(1),
        num("198.18.70.7"),
        num("198.18.1.9"),
        client_mac(99),
        num("198.18.64.10"),
        num("198.18.70.20"),
        num("198.18.70.21"),
    ));
    let subnet =
        r#""subnet4": [{"id": 1, "subnet": "198.18.64.0/18", "pools": [{"pool": "198.18.64.10 - 198.18.64.20"}]}]"#;
    let cfg = format!(
        r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{si}"], "dhcp-socket-type": "udp"}},
  "hosts-database": {}, "valid-lifetime": 600,
  "control-socket": {{"socket-type": "unix", "socket-name": "kakapo4.sock"}}, {subnet}}}}}"#,
        db.database_json()
    );
    let server = Server::start(&ns, dir.path(), &cfg);
    let sock = dir.path().join("kakapo4.sock");
    let driver = Relay::new(&relay, "198.18.64.1".parse().unwrap(), vec!["198.18.1.1:67".parse().unwrap()]);

    let (offer, ack) = dora_of(&driver, 1, [code::DNS, code::HOST_NAME, code::DOMAIN_NAME, 1]);
    for p in [&offer, &ack] {
        assert_eq!(p.yiaddr, Ipv4Addr::new(198, 18, 70, 7), "the reserved address\n{}", server.log());
        assert_eq!(
            (p.siaddr, text_of(&p.sname), text_of(&p.file)),
            ("198.18.1.9".parse().unwrap(), "kkp-tftp".into(), "pxelinux.0".into())
        );
        assert_eq!(p.options.get(code::DNS), Some(&[198, 18, 1, 53, 198, 18, 1, 54][..]), "text option");
        assert_eq!(p.options.get(code::DOMAIN_NAME), Some(&b"bin.example"[..]), "binary option");
        assert_eq!(p.options.get(code::HOST_NAME), Some(&b"kkp-host4"[..]));
        assert_eq!(p.options.get(code::NTP_SERVERS), Some(&[198, 18, 1, 123][..]), "persistent: sent unasked");
    }
    let (_, other) = dora_of(&driver, 2, [1, 3, 6, 12]);
    assert_eq!(other.yiaddr, Ipv4Addr::new(198, 18, 64, 11), "198.18.64.10 is reserved for client 99");
    // A client-id row (type 3: option 61 whole, type byte included) and a circuit-id row
    // (type 2: the relay's sub-option 1).
    let client_id = vec![0x01, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f];
    let (_, by_cid) = dora_with(&driver, 4, [1, 3, 6, code::HOST_NAME], &[(61, client_id)]);
    assert_eq!(by_cid.yiaddr, Ipv4Addr::new(198, 18, 70, 20), "the client-id reservation\n{}", server.log());
    assert_eq!(by_cid.options.get(code::HOST_NAME), Some(&b"kkp-clientid4"[..]));
    let mut rai = vec![1, 10];
    rai.extend_from_slice(b"kkp-port-7");
    let (_, by_circuit) = dora_with(&driver, 5, [1, 3, 6, code::HOST_NAME], &[(82, rai)]);
    assert_eq!(by_circuit.yiaddr, Ipv4Addr::new(198, 18, 70, 21), "the circuit-id reservation\n{}", server.log());

    let add = serde_json::json!({"command": "reservation-add", "arguments": {"reservation": {
        "subnet-id": 1, "hw-address": "02:5e:00:00:00:03", "ip-address": "198.18.70.8", "hostname": "added-host",
        "option-data": [{"name": "domain-name-servers", "data": "198.18.1.55"}]}}});
    let r = common::control(&sock, &add);
    assert_eq!((r["result"].as_i64(), r["text"].as_str()), (Some(0), Some("Host added.")), "{r}");
    let row = db.sql(
        "SELECT encode(dhcp_identifier, 'hex'), dhcp_identifier_type, dhcp4_subnet_id, dhcp6_subnet_id IS NULL,
                ipv4_address, dhcp4_next_server, dhcp4_server_hostname, dhcp4_boot_file_name, dhcp4_client_classes,
                user_context IS NULL, auth_key IS NULL
         FROM hosts WHERE hostname = 'added-host'",
    );
    assert_eq!(
        row,
        format!("025e00000003|0|1|t|{}|0||||t|t", num("198.18.70.8")),
        "Kea's columns for a reservation-add"
    );
    let opt = db.sql(
        "SELECT code, value IS NULL, formatted_value, space, persistent, scope_id, dhcp4_subnet_id IS NULL FROM dhcp4_options
         WHERE host_id = (SELECT host_id FROM hosts WHERE hostname = 'added-host')",
    );
    assert_eq!(opt, "6|t|198.18.1.55|dhcp4|f|3|t");
    let (_, added) = dora_of(&driver, 3, [code::DNS, code::HOST_NAME, 1, 3]);
    assert_eq!(added.yiaddr, Ipv4Addr::new(198, 18, 70, 8), "{}", server.log());
    assert_eq!(added.options.get(code::DNS), Some(&[198, 18, 1, 55][..]));
    let dup = common::control(&sock, &add);
    assert_eq!(dup["result"].as_i64(), Some(1), "a second add of the same host is refused: {dup}");

    let get = common::control(
        &sock,
        &serde_json::json!({"command": "reservation-get", "arguments": {
        "subnet-id": 1, "identifier-type": "hw-address", "identifier": "02:5e:00:00:00:01"}}),
    );
    assert_eq!(get["arguments"]["ip-address"], "198.18.70.7", "{get}");
    assert_eq!(get["arguments"]["next-server"], "198.18.1.9", "{get}");
    let all =
        common::control(&sock, &serde_json::json!({"command": "reservation-get-all", "arguments": {"subnet-id": 1}}));
    assert_eq!(all["text"], "5 IPv4 host(s) found.", "{all}");
    drop(server);

    // Debian's Kea 2.2 on the same hosts table serves the row kakapo wrote.
    let kea_dir = dir.path().join("kea");
    std::fs::create_dir_all(&kea_dir).unwrap();
    let kea_cfg = format!(
        r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": ["{si}"], "dhcp-socket-type": "udp"}},
  "lease-database": {{"type": "memfile", "persist": false}}, "hosts-database": {},
  "control-socket": {{"socket-type": "unix", "socket-name": "@SOCKET@"}}, {subnet}}}}}"#,
        db.database_json()
    );
    let mut kea = Kea::start(&ns, &kea_dir, 4, &kea_cfg);
    let (_, by_kea) = dora_of(&driver, 3, [code::DNS, code::HOST_NAME, 1, 3]);
    assert_eq!(by_kea.yiaddr, Ipv4Addr::new(198, 18, 70, 8), "Kea 2.2 serves kakapo's reservation");
    assert_eq!(by_kea.options.get(code::DNS), Some(&[198, 18, 1, 55][..]), "and its option row");
    kea.stop();

    let server = Server::start(&ns, dir.path(), &cfg);
    let del = common::control(
        &sock,
        &serde_json::json!({"command": "reservation-del", "arguments": {
        "subnet-id": 1, "identifier-type": "hw-address", "identifier": "02:5e:00:00:00:03"}}),
    );
    assert_eq!(del["text"], "Host deleted.", "{del}\n{}", server.log());
    assert_eq!(db.sql("SELECT count(*) FROM hosts WHERE hostname = 'added-host'"), "0");
    assert_eq!(db.sql("SELECT count(*) FROM dhcp4_options"), "3", "the deleted host's option went with it");
}

/// A DHCPv6 host row (hardware address, as Kea takes it from the client's DUID) with an
/// address and a prefix in ipv6_reservations and an option row: dhclient gets both
/// reservations, reservation-get-by-id shows the host, and a `readonly` database refuses
/// reservation-add.
#[test]
fn a_dhcpv6_host_row_gives_its_address_and_prefix() {
    require_root_and(&["dhclient", "ip"]);
    let db = PgDb::kea_init_local("hosts6");
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let srv = net.ns6("h6s");
    let cli = net.ns6("h6c");
    let (si, ci) = (format!("kh6s{}", std::process::id()), format!("kh6c{}", std::process::id()));
    net.link(&srv, &si, &cli, &ci);
    run(&["ip", "-n", &cli, "link", "set", &ci, "address", "02:00:00:00:66:01"]);
    run(&["ip", "-n", &srv, "addr", "add", "2001:db8:1::1/64", "dev", &si]);
    common::wait_link_local(&srv, &si);
    common::wait_link_local(&cli, &ci);
    db.sql(
        "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, dhcp6_subnet_id, ipv4_address,
           hostname, dhcp4_client_classes, dhcp6_client_classes, dhcp4_next_server, dhcp4_server_hostname,
           dhcp4_boot_file_name)
         VALUES ('\\x020000006601', 0, NULL, 1, 0, 'kkp-host6', '', '', 0, '', '');
         INSERT INTO ipv6_reservations (address, prefix_len, type, dhcp6_iaid, host_id)
         SELECT a, l, t, NULL, (SELECT host_id FROM hosts WHERE hostname = 'kkp-host6')
         FROM (VALUES ('2001:db8:1::77', 128, 0), ('2001:db8:8000:4200::', 56, 2)) AS r(a, l, t);
         INSERT INTO dhcp6_options (code, value, formatted_value, space, persistent, host_id, scope_id)
         SELECT 23, NULL, '2001:db8:1::53', 'dhcp6', false, host_id, 3 FROM hosts WHERE hostname = 'kkp-host6'",
    );
    let cfg = format!(
        r#"{{"Dhcp6": {{"interfaces-config": {{"interfaces": ["{si}"]}}, "hosts-database": {},
  "control-socket": {{"socket-type": "unix", "socket-name": "kakapo6.sock"}},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{{"id": 1, "subnet": "2001:db8:1::/64", "interface": "{si}",
     "pools": [{{"pool": "2001:db8:1::100-2001:db8:1::1ff"}}],
     "pd-pools": [{{"prefix": "2001:db8:8000::", "prefix-len": 48, "delegated-len": 56}}]}}]}}}}"#,
        db.database_json().replace('}', r#", "readonly": true}"#)
    );
    let server = Server::start_v6(&srv, dir.path(), &cfg);
    let run6 =
        common::dhclient_run(&cli, &ci, dir.path(), &["-6", "-N", "-P"], "", &["BOUND6"], Duration::from_secs(25));
    let bound: Vec<&str> = run6.events.lines().filter(|l| l.starts_with("BOUND6")).collect();
    assert!(bound.iter().any(|l| l.contains("ip6=2001:db8:1::77 ")), "{}\n{}", run6.events, server.log());
    assert!(bound.iter().any(|l| l.contains("prefix=2001:db8:8000:4200::/56")), "{}\n{}", run6.events, server.log());
    let got = common::control(
        &dir.path().join("kakapo6.sock"),
        &serde_json::json!({"command": "reservation-get-by-id", "arguments": {
            "identifier-type": "hw-address", "identifier": "02:00:00:00:66:01"}}),
    );
    let host = &got["arguments"]["hosts"][0];
    assert_eq!(host["ip-addresses"], serde_json::json!(["2001:db8:1::77"]), "{got}");
    assert_eq!(host["prefixes"], serde_json::json!(["2001:db8:8000:4200::/56"]), "{got}");
    assert_eq!(host["subnet-id"], 1, "{got}");
    let add = common::control(
        &dir.path().join("kakapo6.sock"),
        &serde_json::json!({"command": "reservation-add", "arguments": {"reservation": {
            "subnet-id": 1, "duid": "00:03:00:01:02:00:00:00:66:02", "ip-addresses": ["2001:db8:1::78"]}}}),
    );
    assert_eq!(add["result"], 1, "a readonly hosts database takes no reservation-add: {add}");
    assert_eq!(db.sql("SELECT count(*) FROM hosts"), "1");
}

/// kakapo on `config` in the test's own namespace-free process (no DHCP interfaces, only the
/// database and the control socket), waited for until it started or exited: Ok(the running
/// child) or Err((exit status, its log)).
fn start_headless(dir: &std::path::Path, config: &str) -> Result<std::process::Child, (Option<i32>, String)> {
    let cfg = dir.join("kea-dhcp4.conf");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.join("headless.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kakapo"))
        .args(["-c", cfg.to_str().unwrap()])
        .envs(common::policy_env(dir))
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let start = kakapo::clock::monotonic_now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(st) = child.try_wait().unwrap() {
            return Err((st.code(), std::fs::read_to_string(&log).unwrap_or_default()));
        }
        if std::fs::read_to_string(&log).unwrap_or_default().contains("DHCP4_STARTED") {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err((None, format!("neither started nor exited in 30 s: {}", std::fs::read_to_string(&log).unwrap_or_default())))
}

fn stop(mut child: std::process::Child) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

/// TLS to the database (Kea 3.0's trust-anchor, cert-file, key-file, ssl-mode) against a
/// cluster of the test's own that takes TCP connections only over TLS and only with a client
/// certificate its CA signed: verify-full with the right anchor and certificate starts, and
/// a lease written through the control channel is in lease4 over an encrypted connection
/// (pg_stat_ssl); no client certificate, a foreign trust anchor, or ssl-mode disable each
/// stop the start with exit 1 and the reason.
#[test]
fn tls_to_the_database_verifies_the_server_and_presents_the_client_certificate() {
    require_root_and(&["kea-admin", "openssl"]);
    let dir = tempfile::tempdir().unwrap();
    let (pki, other) = (dir.path().join("pki"), dir.path().join("other"));
    for d in [&pki, &other] {
        std::fs::create_dir_all(d).unwrap();
        common::make_pki(d, &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"], None);
    }
    let cluster = common::pg::Cluster::start_tls("tls", &pki);
    cluster.kea_db("kea", "");
    let f = |d: &std::path::Path, n: &str| d.join(n).display().to_string();
    let config = |tls: &str| {
        format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}},
  "lease-database": {{"type": "postgresql", "name": "kea", "host": "127.0.0.1", "port": {}, "user": "root"{tls}}},
  "control-socket": {{"socket-type": "unix", "socket-name": "kakapo4.sock"}},
  "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.100 - 192.0.2.109"}}]}}]}}}}"#,
            cluster.port
        )
    };
    let tls = |anchor: &std::path::Path, client: bool, mode: &str| {
        let mut t = format!(r#", "trust-anchor": "{}", "ssl-mode": "{mode}""#, f(anchor, "ca.pem"));
        if client {
            t += &format!(r#", "cert-file": "{}", "key-file": "{}""#, f(&pki, "client.pem"), f(&pki, "client.key"));
        }
        t
    };
    let child = start_headless(dir.path(), &config(&tls(&pki, true, "verify-full")))
        .unwrap_or_else(|(code, log)| panic!("verify-full with the right anchor: exit {code:?}\n{log}"));
    let add = serde_json::json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.101", "hw-address": "02:00:00:00:7e:01", "subnet-id": 1, "valid-lft": 600}});
    let r = common::control(&dir.path().join("kakapo4.sock"), &add);
    assert_eq!(r["result"], 0, "{r}");
    let address = u32::from(std::net::Ipv4Addr::new(192, 0, 2, 101));
    assert_eq!(
        cluster.sql("kea", &format!("SELECT encode(hwaddr, 'hex') FROM lease4 WHERE address = {address}")),
        "02000000".to_string() + "7e01"
    );
    let ssl = cluster.sql(
        "kea",
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'kakapo'",
    );
    assert_eq!(ssl, "t", "kakapo's connections are encrypted");
    stop(child);

    for (what, tls, needle) in [
        ("no client certificate", tls(&pki, false, "verify-full"), "certificate"),
        ("a foreign trust anchor", tls(&other, true, "verify-ca"), "certificate"),
        ("ssl-mode disable", tls(&pki, true, "disable"), "no encryption"),
    ] {
        match start_headless(dir.path(), &config(&tls)) {
            Ok(c) => {
                stop(c);
                panic!("{what}: the server started");
            }
            Err((code, log)) => {
                assert_eq!(code, Some(1), "{what}: {log}");
                assert!(log.to_lowercase().contains(needle), "{what}: the reason ({needle}) is logged: {log}");
            }
        }
    }
}

/// retry-on-startup: a database that is down when the server starts is waited for
/// (max-reconnect-tries, reconnect-wait-time) and the server starts once it is up.
#[test]
fn retry_on_startup_waits_for_the_database() {
    require_root_and(&["kea-admin"]);
    let cluster = common::pg::Cluster::start("retry");
    let db =
        cluster.kea_db("kea", r#", "retry-on-startup": true, "max-reconnect-tries": 100, "reconnect-wait-time": 200"#);
    cluster.stop();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}}, "lease-database": {db},
  "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.100 - 192.0.2.109"}}]}}]}}}}"#
    );
    let started = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_secs(2));
            cluster.start_again();
        });
        start_headless(dir.path(), &config)
    });
    let child = started.unwrap_or_else(|(code, log)| panic!("exit {code:?}\n{log}"));
    let log = std::fs::read_to_string(dir.path().join("headless.log")).unwrap();
    assert!(log.contains("DHCPSRV_PGSQL_LEASE_DB_RECONNECT_ATTEMPT_SCHEDULE"), "it waited: {log}");
    stop(child);
}

/// Schema versions: a database whose `schema_version` kakapo does not know is refused at
/// start-up with the versions it knows; a database with the columns later Kea schemas add
/// that kakapo uses (version 29.0 as Kea 3.0's, `pool_id` in both lease tables, an INET
/// `lease6.address`) starts and is used with them: a lease4-add with a pool-id through the
/// control channel writes `pool_id`, and lease4-get reads it back.
#[test]
fn schema_versions_kakapo_does_not_know_are_refused_and_later_columns_are_used() {
    require_root_and(&["psql", "kea-admin"]);
    let dir = tempfile::tempdir().unwrap();
    let config = |db: &PgDb| {
        format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}}, "lease-database": {},
  "control-socket": {{"socket-type": "unix", "socket-name": "kakapo4.sock"}},
  "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24",
     "pools": [{{"pool": "192.0.2.100 - 192.0.2.109", "pool-id": 7}}]}}]}}}}"#,
            db.database_json()
        )
    };
    let unknown = PgDb::kea_init_local("schema99");
    unknown.sql("UPDATE schema_version SET version = 99, minor = 0");
    match start_headless(dir.path(), &config(&unknown)) {
        Ok(c) => {
            stop(c);
            panic!("a schema 99.0 database was used");
        }
        Err((code, log)) => {
            assert_eq!(code, Some(1), "{log}");
            assert!(log.contains("schema version 99.0") && log.contains("13.0 (Kea 2.2)"), "{log}");
        }
    }
    let later = PgDb::kea_init_local("schema29");
    later.sql(
        "UPDATE schema_version SET version = 29, minor = 0;
         ALTER TABLE lease4 ADD COLUMN pool_id BIGINT NOT NULL DEFAULT 0;
         ALTER TABLE lease6 ADD COLUMN pool_id BIGINT NOT NULL DEFAULT 0;
         ALTER TABLE lease6 ALTER COLUMN address TYPE INET USING address::inet",
    );
    let child = start_headless(dir.path(), &config(&later)).unwrap_or_else(|(c, log)| panic!("exit {c:?}: {log}"));
    let sock = dir.path().join("kakapo4.sock");
    let add = serde_json::json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.103", "hw-address": "02:00:00:00:29:01", "subnet-id": 1, "valid-lft": 600,
        "pool-id": 7}});
    assert_eq!(common::control(&sock, &add)["result"], 0);
    let address = u32::from(std::net::Ipv4Addr::new(192, 0, 2, 103));
    assert_eq!(later.sql(&format!("SELECT pool_id FROM lease4 WHERE address = {address}")), "7", "pool_id written");
    let got = common::control(
        &sock,
        &serde_json::json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.103"}}),
    );
    assert_eq!(
        (&got["arguments"]["hw-address"], &got["arguments"]["pool-id"]),
        (&serde_json::json!("02:00:00:00:29:01"), &serde_json::json!(7)),
        "{got}"
    );
    stop(child);
}
