//! kakapo's memfile against the real Kea 2.2 (`/usr/sbin/kea-dhcp4`, Debian's
//! kea-dhcp4-server): Kea loads what kakapo wrote (journal, tombstones, escapes, user
//! contexts, a cleaned-up `.2`), kakapo loads what Kea wrote through `lease4-add`/`-update`/
//! `-del`, and Kea 2.2 (with its own kea-lfc) takes over kakapo's 2.4-style files and back.
//! The same for DHCPv6 against `/usr/sbin/kea-dhcp6` (`lease6-add`/`-update`/`-del`).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kakapo::lease::memfile::{header4, header6, Change4, Change6, Memfile4, Memfile6, MemfileConfig};
use kakapo::lease::{Lease4, Lease6, LeaseState, LeaseType6};
use serde_json::{json, Value};

const KEA: &str = "/usr/sbin/kea-dhcp4";
const KEA6: &str = "/usr/sbin/kea-dhcp6";
const LEASE_CMDS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so";

fn require_kea() {
    for p in [KEA, KEA6, LEASE_CMDS] {
        assert!(
            Path::new(p).exists(),
            "{p} is missing: install Kea 2.2 with `apt-get install kea-dhcp4-server` (CI installs it)"
        );
    }
}

/// One kea-dhcp4 or kea-dhcp6 process we started; only it is ever signalled, by its pid.
struct Kea {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Kea {
    fn start(dir: &Path, lease_file: &Path) -> Kea {
        let socket = dir.join("kea4.sock");
        let config = json!({"Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "lease-database": {"type": "memfile", "persist": true, "name": lease_file, "lfc-interval": 0},
            "control-socket": {"socket-type": "unix", "socket-name": socket},
            "hooks-libraries": [{"library": LEASE_CMDS}],
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.200"}]}],
        }});
        Kea::spawn(KEA, dir, &config, socket)
    }

    /// kea-dhcp6 with an enterprise-number server id that is not persisted, so it needs no
    /// interface and no `/var/lib/kea`.
    fn start6(dir: &Path, lease_file: &Path) -> Kea {
        let socket = dir.join("kea6.sock");
        let config = json!({"Dhcp6": {
            "interfaces-config": {"interfaces": []},
            "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "0102", "persist": false},
            "lease-database": {"type": "memfile", "persist": true, "name": lease_file, "lfc-interval": 0},
            "control-socket": {"socket-type": "unix", "socket-name": socket},
            "hooks-libraries": [{"library": LEASE_CMDS}],
            "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:1::100-2001:db8:1::1ff"}],
                "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56}]}],
        }});
        Kea::spawn(KEA6, dir, &config, socket)
    }

    fn spawn(bin: &str, dir: &Path, config: &Value, socket: PathBuf) -> Kea {
        require_kea();
        let log = dir.join("kea.log");
        let conf = dir.join("kea.conf");
        fs::write(&conf, serde_json::to_vec_pretty(config).expect("json")).expect("write config");
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .env("KEA_PIDFILE_DIR", dir)
            .env("KEA_LOCKFILE_DIR", dir)
            .env("KEA_DHCP_DATA_DIR", dir)
            .env("KEA_LOG_FILE_DIR", dir)
            .env("KEA_CONTROL_SOCKET_DIR", dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
        let mut kea = Kea { child, socket, log };
        for _ in 0..300 {
            if let Some(status) = kea.child.try_wait().expect("try_wait") {
                panic!("{bin} exited ({status}) before opening its socket:\n{}", kea.log_text());
            }
            if kea.socket.exists() {
                return kea;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{bin} did not open {} within 30 s:\n{}", kea.socket.display(), kea.log_text());
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends one command over the unix socket; Kea replies with one JSON object and closes.
    fn command(&self, cmd: Value) -> Value {
        let mut last_err = None;
        for _ in 0..100 {
            match UnixStream::connect(&self.socket) {
                Ok(mut s) => {
                    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
                    s.write_all(cmd.to_string().as_bytes()).expect("send command");
                    let mut reply = String::new();
                    s.read_to_string(&mut reply).expect("read reply");
                    return serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?}: {e}"));
                }
                Err(e) => last_err = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cannot connect to {}: {last_err:?}\n{}", self.socket.display(), self.log_text());
    }

    fn ok(&self, cmd: Value) -> Value {
        let reply = self.command(cmd.clone());
        assert_eq!(reply["result"], 0, "{cmd} -> {reply}");
        reply
    }

    fn leases(&self) -> Vec<Lease4> {
        let reply = self.command(json!({"command": "lease4-get-all"}));
        let list = match reply["result"].as_i64() {
            Some(0) => reply["arguments"]["leases"].as_array().cloned().unwrap_or_default(),
            Some(3) => Vec::new(), // "0 IPv4 lease(s) found."
            _ => panic!("lease4-get-all: {reply}"),
        };
        let mut leases: Vec<Lease4> = list.iter().map(from_kea_json).collect();
        leases.sort_by_key(|l| l.address);
        leases
    }

    fn leases6(&self) -> Vec<Lease6> {
        let reply = self.command(json!({"command": "lease6-get-all"}));
        let list = match reply["result"].as_i64() {
            Some(0) => reply["arguments"]["leases"].as_array().cloned().unwrap_or_default(),
            Some(3) => Vec::new(),
            _ => panic!("lease6-get-all: {reply}"),
        };
        let mut leases: Vec<Lease6> = list.iter().map(from_kea_json6).collect();
        leases.sort_by_key(|l| l.address);
        leases
    }

    /// SIGTERM to our child, then a bounded wait for its clean shutdown.
    fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM kea");
        for _ in 0..200 {
            if self.child.try_wait().expect("try_wait").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("kea ignored SIGTERM for 20 s:\n{}", self.log_text());
    }
}

impl Drop for Kea {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn colon_hex(s: &str) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(':').map(|b| u8::from_str_radix(b, 16).expect("hex byte")).collect()
}

/// Kea 2.2 treats strings as bytes and prints each byte as one character (`\u00c3\u00a9` for
/// the UTF-8 "é"); map back to bytes, then to text the way kakapo's loader does.
fn kea_text(s: &str) -> String {
    let bytes: Vec<u8> = s.chars().map(|c| u8::try_from(u32::from(c)).expect("Kea 2.2 prints bytes")).collect();
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
    }
}

fn from_kea_json(v: &Value) -> Lease4 {
    let u = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    Lease4 {
        address: v["ip-address"].as_str().expect("ip-address").parse().expect("address"),
        hwaddr: colon_hex(v["hw-address"].as_str().unwrap_or("")),
        client_id: v["client-id"].as_str().map(colon_hex),
        valid_lifetime: u32::try_from(u("valid-lft")).expect("valid-lft"),
        cltt: u("cltt"),
        subnet_id: u32::try_from(u("subnet-id")).expect("subnet-id"),
        pool_id: 0,
        fqdn_fwd: v["fqdn-fwd"].as_bool().expect("fqdn-fwd"),
        fqdn_rev: v["fqdn-rev"].as_bool().expect("fqdn-rev"),
        hostname: kea_text(v["hostname"].as_str().unwrap_or("")),
        state: LeaseState::from_code(u32::try_from(u("state")).expect("state")).expect("state code"),
        user_context: v.get("user-context").map(Value::to_string),
    }
}

/// Compares leases with user contexts as JSON values (Kea re-renders the text) and without
/// pool_id (Kea 2.2 has none).
fn normalized(leases: &[Lease4]) -> Vec<(Lease4, Option<Value>)> {
    leases
        .iter()
        .map(|l| {
            let ctx = l.user_context.as_deref().map(|t| serde_json::from_str(t).expect("context json"));
            (Lease4 { user_context: None, pool_id: 0, ..l.clone() }, ctx)
        })
        .collect()
}

fn base(last_octet: u8, now: u64) -> Lease4 {
    Lease4 {
        address: Ipv4Addr::new(192, 0, 2, last_octet),
        hwaddr: vec![0x1a, 0x1b, 0x1c, 0x1d, 0x1e, last_octet],
        client_id: None,
        valid_lifetime: 3600,
        cltt: now,
        subnet_id: 1,
        pool_id: 0,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        state: LeaseState::Default,
        user_context: None,
    }
}

fn memfile(path: &Path, pool_id_column: bool) -> MemfileConfig {
    MemfileConfig { path: path.to_path_buf(), persist: true, lfc_interval: 0, max_row_errors: 0, pool_id_column }
}

fn no_row_errors(kea: &Kea) {
    let log = kea.log_text();
    assert!(!log.contains("DHCPSRV_MEMFILE_LEASE_LOAD_ROW_ERROR"), "Kea discarded rows:\n{log}");
}

/// kakapo writes (journal + a cleaned-up `.2`); Kea 2.2 loads exactly the live set.
#[test]
fn kea_reads_what_kakapo_wrote() {
    require_kea();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases4.csv");
    let now = kakapo::clock::unix_now();

    let mut escaped = base(11, now);
    escaped.client_id = Some(vec![1, 2, 3]);
    escaped.hostname = "a,b&c".into();
    escaped.user_context = Some(r#"{ "x": 1 }"#.into());
    escaped.fqdn_fwd = true;
    escaped.fqdn_rev = true;
    let mut utf8 = base(12, now);
    utf8.hostname = "caf\u{e9}.example.org".into();
    utf8.user_context = Some(r#"{"list": [1, "a,b"], "nested": {"k": "&#x2c"}}"#.into());
    let mut declined = base(13, now);
    declined.hwaddr.clear();
    declined.state = LeaseState::Declined;
    let deleted = base(14, now);
    let mut renewed = base(15, now - 100);
    let mut client_id_only = base(16, now);
    client_id_only.hwaddr.clear();
    client_id_only.client_id = Some(vec![0xff, 0, 0, 0, 1, 0, 1, 2]);
    client_id_only.hostname = "tab\there\nnewline".into();
    let mut reclaimed = base(17, now);
    reclaimed.state = LeaseState::ExpiredReclaimed;
    let deleted_before_lfc = base(18, now);

    let (m, loaded) = Memfile4::open(memfile(&file, false)).expect("open");
    assert!(loaded.is_empty());
    let up = |l: &Lease4| Change4::Upsert(l.clone());
    m.commit(vec![up(&escaped), up(&deleted), up(&renewed), up(&deleted_before_lfc)]).wait().expect("commit");
    m.commit(vec![Change4::Delete(deleted_before_lfc.clone())]).wait().expect("commit");
    m.start_lfc().expect("lfc").join().expect("lfc thread").expect("lfc");
    renewed.cltt = now;
    renewed.valid_lifetime = 7200;
    m.commit(vec![up(&utf8), up(&declined), up(&renewed), up(&client_id_only), up(&reclaimed)]).wait().expect("commit");
    m.commit(vec![Change4::Delete(deleted.clone())]).wait().expect("commit");
    m.close();
    assert!(dir.path().join("kea-leases4.csv.2").exists(), "cleanup left a .2");

    let expected = vec![escaped, utf8, declined, renewed, client_id_only, reclaimed];
    let mut kea = Kea::start(dir.path(), &file);
    let got = kea.leases();
    no_row_errors(&kea);
    kea.stop();
    assert_eq!(normalized(&got), normalized(&expected));
    // Kea 2.2's own schema: it must not want to convert anything.
    let log = kea.log_text();
    assert!(!log.contains("DHCPSRV_MEMFILE_CONVERTING_LEASE_FILES"), "{log}");
}

/// Kea 2.2 writes through lease_cmds; kakapo loads exactly what Kea reported and appends to
/// Kea's file without converting it.
#[test]
fn kakapo_reads_what_kea_wrote() {
    require_kea();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases4.csv");
    let mut kea = Kea::start(dir.path(), &file);
    kea.ok(json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.20", "hw-address": "aa:bb:cc:dd:ee:20", "subnet-id": 1,
        "valid-lft": 3600, "client-id": "01:02:03:04", "hostname": "x,y&z",
        "user-context": {"a": [1, 2], "s": "p,q"}, "fqdn-fwd": true}}));
    kea.ok(json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.21", "hw-address": "aa:bb:cc:dd:ee:21", "hostname": "caf\u{e9}"}}));
    kea.ok(json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.22", "hw-address": "aa:bb:cc:dd:ee:22"}}));
    kea.ok(json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.23", "hw-address": "aa:bb:cc:dd:ee:23", "hostname": "before"}}));
    kea.ok(json!({"command": "lease4-add", "arguments": {
        "ip-address": "192.0.2.24", "hw-address": "aa:bb:cc:dd:ee:24", "state": 1}}));
    kea.ok(json!({"command": "lease4-update", "arguments": {
        "ip-address": "192.0.2.23", "hw-address": "aa:bb:cc:dd:ee:23", "hostname": "after",
        "valid-lft": 7200, "fqdn-rev": true}}));
    kea.ok(json!({"command": "lease4-del", "arguments": {"ip-address": "192.0.2.22"}}));
    let truth = kea.leases();
    kea.stop();
    assert_eq!(truth.len(), 4, "{truth:?}");
    let text = fs::read_to_string(&file).expect("Kea's file");
    assert!(text.contains(",0,"), "Kea wrote a tombstone:\n{text}");

    let (m, loaded) = Memfile4::open(memfile(&file, false)).expect("open Kea's file");
    assert_eq!(normalized(&loaded), normalized(&truth));
    // Kea 2.2's header is kakapo's default: appended to as is, no conversion.
    let mut extra = base(30, kakapo::clock::unix_now());
    extra.hostname = "from-kakapo".into();
    m.commit(vec![Change4::Upsert(extra.clone()), Change4::Delete(truth[0].clone())]).wait().expect("commit");
    m.close();
    let after = fs::read_to_string(&file).expect("file");
    assert!(after.starts_with(&text), "Kea's rows kept in place");
    assert_eq!(after.lines().next(), Some(header4(false).as_str()));
    let (_m, again) = Memfile4::open(memfile(&file, false)).expect("reopen");
    let mut want: Vec<Lease4> = truth[1..].to_vec();
    want.push(extra);
    want.sort_by_key(|l| l.address);
    assert_eq!(normalized(&again), normalized(&want));
}

/// kakapo's Kea 2.4-style files (`pool_id` column, cleaned up) are taken over by Kea 2.2,
/// which downgrades them with its own kea-lfc; kakapo then takes Kea's files back.
#[test]
fn files_round_trip_through_kea_and_kea_lfc() {
    require_kea();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases4.csv");
    let now = kakapo::clock::unix_now();
    let leases: Vec<Lease4> = (40..50u8)
        .map(|i| {
            let mut l = base(i, now);
            l.pool_id = u32::from(i % 3);
            l.hostname = format!("h{i},x");
            l
        })
        .collect();
    let (m, _) = Memfile4::open(memfile(&file, true)).expect("open");
    m.commit(leases.iter().cloned().map(Change4::Upsert).collect()).wait().expect("commit");
    m.start_lfc().expect("lfc").join().expect("thread").expect("lfc");
    m.commit(vec![Change4::Delete(leases[0].clone()), Change4::Delete(leases[9].clone())]).wait().expect("commit");
    m.close();
    let live = leases[1..9].to_vec();

    let mut kea = Kea::start(dir.path(), &file);
    let got = kea.leases();
    no_row_errors(&kea);
    kea.stop();
    assert_eq!(normalized(&got), normalized(&live));
    let log = kea.log_text();
    assert!(log.contains("DHCPSRV_MEMFILE_CONVERTING_LEASE_FILES"), "Kea 2.2 saw the pool_id column:\n{log}");

    // Kea 2.2 saw a newer schema, rotated the journal to `.1` while starting and spawned
    // kea-lfc; it is done once `.1`, `.completed` and the pid file are gone.
    let busy = |suffix: &str| dir.path().join(format!("kea-leases4.csv{suffix}")).exists();
    for _ in 0..200 {
        if !busy(".pid") && !busy(".1") && !busy(".completed") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!busy(".1") && busy(".2"), "kea-lfc finished within 20 s");
    let reopened = Memfile4::open(memfile(&file, true)).map_err(|e| e.to_string());
    let (m, back) = reopened.expect("reopen after Kea");
    assert_eq!(normalized(&back), normalized(&live));
    m.close();
    assert_eq!(fs::read_to_string(&file).expect("journal").lines().next(), Some(header4(true).as_str()));
}

/// Kea's `lease6-get-all` entry; hwtype and hwaddr_source are not in Kea's JSON.
fn from_kea_json6(v: &Value) -> Lease6 {
    let u = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    let lease_type = match v["type"].as_str() {
        Some("IA_NA") => LeaseType6::Na,
        Some("IA_PD") => LeaseType6::Pd,
        other => panic!("type {other:?} in {v}"),
    };
    Lease6 {
        address: v["ip-address"].as_str().expect("ip-address").parse().expect("address"),
        prefix_len: v["prefix-len"].as_u64().map_or(128, |p| u8::try_from(p).expect("prefix-len")),
        lease_type,
        duid: colon_hex(v["duid"].as_str().expect("duid")),
        iaid: u32::try_from(u("iaid")).expect("iaid"),
        valid_lifetime: u32::try_from(u("valid-lft")).expect("valid-lft"),
        preferred_lifetime: u32::try_from(u("preferred-lft")).expect("preferred-lft"),
        cltt: u("cltt"),
        subnet_id: u32::try_from(u("subnet-id")).expect("subnet-id"),
        pool_id: 0,
        fqdn_fwd: v["fqdn-fwd"].as_bool().expect("fqdn-fwd"),
        fqdn_rev: v["fqdn-rev"].as_bool().expect("fqdn-rev"),
        hostname: kea_text(v["hostname"].as_str().unwrap_or("")),
        hwaddr: colon_hex(v["hw-address"].as_str().unwrap_or("")),
        hwtype: 0,
        hwaddr_source: 0,
        state: LeaseState::from_code(u32::try_from(u("state")).expect("state")).expect("state code"),
        user_context: v.get("user-context").map(Value::to_string),
    }
}

/// As [`normalized`], for v6; also without hwtype/hwaddr_source, which Kea's JSON omits.
fn normalized6(leases: &[Lease6]) -> Vec<(Lease6, Option<Value>)> {
    leases
        .iter()
        .map(|l| {
            let ctx = l.user_context.as_deref().map(|t| serde_json::from_str(t).expect("context json"));
            (Lease6 { user_context: None, pool_id: 0, hwtype: 0, hwaddr_source: 0, ..l.clone() }, ctx)
        })
        .collect()
}

fn base6(n: u16, now: u64) -> Lease6 {
    Lease6 {
        address: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100 + n),
        prefix_len: 128,
        lease_type: LeaseType6::Na,
        duid: vec![0, 3, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0, n as u8],
        iaid: u32::from(n),
        valid_lifetime: 3600,
        preferred_lifetime: 1800,
        cltt: now,
        subnet_id: 1,
        pool_id: 0,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        hwaddr: Vec::new(),
        hwtype: 0,
        hwaddr_source: 0,
        state: LeaseState::Default,
        user_context: None,
    }
}

/// kakapo writes v6 rows (NA and PD, journal + a cleaned-up `.2`); Kea 2.2 loads exactly the
/// live set without row errors or conversion.
#[test]
fn kea6_reads_what_kakapo_wrote() {
    require_kea();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases6.csv");
    let now = kakapo::clock::unix_now();

    let mut escaped = base6(1, now);
    escaped.hostname = "a,b&c".into();
    escaped.user_context = Some(r#"{ "x": 1, "s": "p,q" }"#.into());
    escaped.fqdn_fwd = true;
    escaped.hwaddr = vec![0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f];
    escaped.hwtype = 1;
    escaped.hwaddr_source = 4;
    let mut prefix = base6(2, now);
    prefix.address = "2001:db8:8:100::".parse().expect("prefix");
    prefix.prefix_len = 56;
    prefix.lease_type = LeaseType6::Pd;
    prefix.preferred_lifetime = 3000;
    let mut declined = base6(3, now);
    declined.duid = vec![0];
    declined.state = LeaseState::Declined;
    let deleted = base6(4, now);
    let mut renewed = base6(5, now - 100);
    let mut utf8 = base6(6, now);
    utf8.hostname = "caf\u{e9}.example.org".into();
    utf8.fqdn_rev = true;
    let mut reclaimed = base6(7, now);
    reclaimed.state = LeaseState::ExpiredReclaimed;
    let mut deleted_prefix = prefix.clone();
    deleted_prefix.address = "2001:db8:8:200::".parse().expect("prefix");

    let (m, loaded) = Memfile6::open(memfile(&file, false)).expect("open");
    assert!(loaded.is_empty());
    let up = |l: &Lease6| Change6::Upsert(l.clone());
    m.commit(vec![up(&escaped), up(&deleted), up(&renewed), up(&deleted_prefix)]).wait().expect("commit");
    m.commit(vec![Change6::Delete(deleted_prefix.clone())]).wait().expect("commit");
    m.start_lfc().expect("lfc").join().expect("lfc thread").expect("lfc");
    renewed.cltt = now;
    renewed.valid_lifetime = 7200;
    m.commit(vec![up(&prefix), up(&declined), up(&renewed), up(&utf8), up(&reclaimed)]).wait().expect("commit");
    m.commit(vec![Change6::Delete(deleted.clone())]).wait().expect("commit");
    m.close();
    assert!(dir.path().join("kea-leases6.csv.2").exists(), "cleanup left a .2");

    let mut expected = vec![escaped, prefix, declined, renewed, utf8, reclaimed];
    expected.sort_by_key(|l| l.address);
    let mut kea = Kea::start6(dir.path(), &file);
    let got = kea.leases6();
    no_row_errors(&kea);
    kea.stop();
    assert_eq!(normalized6(&got), normalized6(&expected));
    let log = kea.log_text();
    assert!(!log.contains("DHCPSRV_MEMFILE_CONVERTING_LEASE_FILES"), "{log}");
}

/// Kea 2.2 writes v6 leases through lease_cmds (IA_NA, IA_PD, update, delete); kakapo loads
/// exactly what Kea reported and appends to Kea's file without converting it.
#[test]
fn kakapo_reads_what_kea6_wrote() {
    require_kea();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases6.csv");
    let mut kea = Kea::start6(dir.path(), &file);
    kea.ok(json!({"command": "lease6-add", "arguments": {
        "ip-address": "2001:db8:1::100", "duid": "01:02:03:04:05:06", "iaid": 1234, "subnet-id": 1,
        "valid-lft": 3600, "preferred-lft": 1800, "hostname": "a,b&c", "fqdn-fwd": true,
        "user-context": {"x": 1, "s": "p,q"}, "hw-address": "1a:1b:1c:1d:1e:1f"}}));
    kea.ok(json!({"command": "lease6-add", "arguments": {
        "ip-address": "2001:db8:8:100::", "type": "IA_PD", "prefix-len": 56,
        "duid": "00:03:00:01:aa:bb:cc:dd:ee:ff", "iaid": 7, "subnet-id": 1}}));
    kea.ok(json!({"command": "lease6-add", "arguments": {
        "ip-address": "2001:db8:1::101", "duid": "0a:0b:0c", "iaid": 1, "subnet-id": 1, "state": 1}}));
    kea.ok(json!({"command": "lease6-add", "arguments": {
        "ip-address": "2001:db8:1::102", "duid": "0a:0b:0d", "iaid": 2, "hostname": "before"}}));
    kea.ok(json!({"command": "lease6-add", "arguments": {
        "ip-address": "2001:db8:8:200::", "type": "IA_PD", "prefix-len": 56, "duid": "0a:0b:0e", "iaid": 3,
        "subnet-id": 1}}));
    kea.ok(json!({"command": "lease6-update", "arguments": {
        "ip-address": "2001:db8:1::102", "duid": "0a:0b:0d", "iaid": 2, "hostname": "after",
        "valid-lft": 9000, "preferred-lft": 4000, "fqdn-rev": true}}));
    kea.ok(json!({"command": "lease6-del", "arguments": {"ip-address": "2001:db8:1::101"}}));
    kea.ok(json!({"command": "lease6-del", "arguments": {"ip-address": "2001:db8:8:200::", "type": "IA_PD"}}));
    let truth = kea.leases6();
    kea.stop();
    assert_eq!(truth.len(), 3, "{truth:?}");
    let text = fs::read_to_string(&file).expect("Kea's file");
    assert_eq!(text.lines().next(), Some(header6(false).as_str()), "Kea 2.2's v6 header is kakapo's");
    assert_eq!(text.lines().filter(|l| l.split(',').nth(2) == Some("0")).count(), 2, "two tombstones:\n{text}");

    let (m, loaded) = Memfile6::open(memfile(&file, false)).expect("open Kea's file");
    assert_eq!(normalized6(&loaded), normalized6(&truth));
    // The hardware address type and source came from the file: Ethernet, source unknown.
    assert_eq!((loaded[0].hwtype, loaded[0].hwaddr_source), (1, 0));
    let mut extra = base6(30, kakapo::clock::unix_now());
    extra.hostname = "from-kakapo".into();
    m.commit(vec![Change6::Upsert(extra.clone()), Change6::Delete(truth[0].clone())]).wait().expect("commit");
    m.close();
    let after = fs::read_to_string(&file).expect("file");
    assert!(after.starts_with(&text), "Kea's rows kept in place");
    let (_m, again) = Memfile6::open(memfile(&file, false)).expect("reopen");
    let mut want: Vec<Lease6> = truth[1..].to_vec();
    want.push(extra);
    want.sort_by_key(|l| l.address);
    assert_eq!(normalized6(&again), normalized6(&want));

    // And Kea takes the file back, kakapo's rows included.
    let mut kea = Kea::start6(dir.path(), &file);
    let back = kea.leases6();
    no_row_errors(&kea);
    kea.stop();
    assert_eq!(normalized6(&back), normalized6(&want));
}

/// kakapo's Kea 2.4-style v6 files (`pool_id` column, cleaned up) are taken over by Kea 2.2,
/// which downgrades them with its own `kea-lfc -6`; kakapo then takes Kea's files back.
#[test]
fn v6_files_round_trip_through_kea_and_kea_lfc() {
    require_kea();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kea-leases6.csv");
    let now = kakapo::clock::unix_now();
    let leases: Vec<Lease6> = (40..50u16)
        .map(|i| {
            let mut l = base6(i, now);
            l.pool_id = u32::from(i % 3);
            l.hostname = format!("h{i},x");
            if i % 2 == 0 {
                l.lease_type = LeaseType6::Pd;
                l.prefix_len = 56;
                l.address = Ipv6Addr::new(0x2001, 0xdb8, 8, i << 8, 0, 0, 0, 0);
            }
            l
        })
        .collect();
    let (m, _) = Memfile6::open(memfile(&file, true)).expect("open");
    m.commit(leases.iter().cloned().map(Change6::Upsert).collect()).wait().expect("commit");
    m.start_lfc().expect("lfc").join().expect("thread").expect("lfc");
    m.commit(vec![Change6::Delete(leases[0].clone()), Change6::Delete(leases[9].clone())]).wait().expect("commit");
    m.close();
    let mut live = leases[1..9].to_vec();
    live.sort_by_key(|l| l.address);

    let mut kea = Kea::start6(dir.path(), &file);
    let got = kea.leases6();
    no_row_errors(&kea);
    kea.stop();
    assert_eq!(normalized6(&got), normalized6(&live));
    let log = kea.log_text();
    assert!(log.contains("DHCPSRV_MEMFILE_CONVERTING_LEASE_FILES"), "Kea 2.2 saw the pool_id column:\n{log}");

    let busy = |suffix: &str| dir.path().join(format!("kea-leases6.csv{suffix}")).exists();
    for _ in 0..200 {
        if !busy(".pid") && !busy(".1") && !busy(".completed") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!busy(".1") && busy(".2"), "kea-lfc finished within 20 s");
    assert_eq!(
        fs::read_to_string(dir.path().join("kea-leases6.csv.2")).expect(".2").lines().next(),
        Some(header6(false).as_str()),
        "kea-lfc wrote Kea 2.2's header"
    );
    let (m, back) = Memfile6::open(memfile(&file, true)).expect("reopen after Kea");
    assert_eq!(normalized6(&back), normalized6(&live));
    m.close();
    assert_eq!(fs::read_to_string(&file).expect("journal").lines().next(), Some(header6(true).as_str()));
}
