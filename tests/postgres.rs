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
