//! kakapo's memfile against the real Kea 2.2 (`/usr/sbin/kea-dhcp4`, Debian's
//! kea-dhcp4-server): Kea loads what kakapo wrote (journal, tombstones, escapes, user
//! contexts, a cleaned-up `.2`), kakapo loads what Kea wrote through `lease4-add`/`-update`/
//! `-del`, and Kea 2.2 (with its own kea-lfc) takes over kakapo's 2.4-style files and back.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kakapo::lease::memfile::{header4, Change4, Memfile4, MemfileConfig};
use kakapo::lease::{Lease4, LeaseState};
use serde_json::{json, Value};

const KEA: &str = "/usr/sbin/kea-dhcp4";
const LEASE_CMDS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so";

fn require_kea() {
    for p in [KEA, LEASE_CMDS] {
        assert!(
            Path::new(p).exists(),
            "{p} is missing: install Kea 2.2 with `apt-get install kea-dhcp4-server` (CI installs it)"
        );
    }
}

/// One kea-dhcp4 process we started; only it is ever signalled, by its pid.
struct Kea {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Kea {
    fn start(dir: &Path, lease_file: &Path) -> Kea {
        require_kea();
        let socket = dir.join("kea4.sock");
        let log = dir.join("kea.log");
        let conf = dir.join("kea-dhcp4.conf");
        let config = json!({"Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "lease-database": {"type": "memfile", "persist": true, "name": lease_file, "lfc-interval": 0},
            "control-socket": {"socket-type": "unix", "socket-name": socket},
            "hooks-libraries": [{"library": LEASE_CMDS}],
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.200"}]}],
        }});
        fs::write(&conf, serde_json::to_vec_pretty(&config).expect("json")).expect("write config");
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(KEA)
            .arg("-c")
            .arg(&conf)
            .env("KEA_PIDFILE_DIR", dir)
            .env("KEA_LOCKFILE_DIR", dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn kea-dhcp4");
        let mut kea = Kea { child, socket, log };
        for _ in 0..300 {
            if let Some(status) = kea.child.try_wait().expect("try_wait") {
                panic!("kea-dhcp4 exited ({status}) before opening its socket:\n{}", kea.log_text());
            }
            if kea.socket.exists() {
                return kea;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("kea-dhcp4 did not open {} within 30 s:\n{}", kea.socket.display(), kea.log_text());
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
        panic!("kea-dhcp4 ignored SIGTERM for 20 s:\n{}", self.log_text());
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
