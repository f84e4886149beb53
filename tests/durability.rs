//! Durability failures of a running kakapo (Server core issue): the lease file lives on a
//! 256 KiB tmpfs mounted in a private mount namespace made here (`unshare -m`, so nothing
//! reaches the host's mount table and the mount goes away with its last process). The test
//! fills the tmpfs, shows that REQUESTs get no ACK once the store has failed (and that
//! status-get and the statistics say so), frees the space, shows ACKs resume on their own, then
//! kills the server with SIGKILL and finds every ACKed lease in the lease file and reloaded.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{require_root_and, socket_in, Pair};
use kakapo::wire::v4::{code, MessageType, Pkt4};
use serde_json::{json, Value};

const CFG: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": ["@IFACE@"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "name": "kea-leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "control-socket": {"socket-type": "unix", "socket-name": "@DIR@/kea4.sock"},
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}]
}}"#;

/// A process holding a private mount namespace with a small tmpfs on `data`; killed on drop,
/// which takes the namespace and the mount with it.
struct Mounts {
    holder: Child,
}

impl Mounts {
    fn new(data: &Path) -> Mounts {
        let script = format!(
            "mount -t tmpfs -o size=256k,mode=0750 kakapo-durability {d} && echo mounted && exec sleep 120",
            d = data.display()
        );
        let mut holder = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = [0u8; 8];
        holder.stdout.as_mut().unwrap().read_exact(&mut line).expect("tmpfs mounted");
        assert_eq!(&line[..7], b"mounted");
        Mounts { holder }
    }

    /// `args` run inside the mount namespace.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.holder.id().to_string(), "-m", "--"]).args(args);
        c
    }

    fn sh(&self, script: &str) -> std::process::Output {
        self.cmd(&["sh", "-c", script]).output().unwrap()
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

struct Kakapo {
    child: Child,
    log: PathBuf,
}

impl Kakapo {
    /// kakapo in the server's network namespace and the tmpfs's mount namespace; the data
    /// directory (lease file) is the tmpfs, everything else the test's directory.
    fn start(m: &Mounts, pair: &Pair, dir: &Path, data: &Path, n: u32) -> Kakapo {
        let cfg = dir.join("kea-dhcp4.conf");
        let text = CFG.replace("@IFACE@", &pair.srv_if).replace("@DIR@", dir.to_str().unwrap());
        std::fs::write(&cfg, text).unwrap();
        let log = dir.join(format!("kakapo{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = m
            .cmd(&["ip", "netns", "exec", &pair.srv, env!("CARGO_BIN_EXE_kakapo"), "-c", cfg.to_str().unwrap()])
            .envs(common::policy_env(dir))
            .env("KEA_DHCP_DATA_DIR", data)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let k = Kakapo { child, log };
        k.wait_log("DHCP4_STARTED");
        k
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
}

impl Drop for Kakapo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unix(path: &Path, cmd: &Value) -> Value {
    let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(cmd.to_string().as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn mac(n: u32) -> [u8; 6] {
    [2, 0xd0, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8]
}

/// One relayed exchange from 198.18.0.2:67: sends `p` and returns the reply of type `want`.
fn exchange(sock: &UdpSocket, p: &Pkt4, want: MessageType) -> Option<Pkt4> {
    let mut out = Vec::new();
    p.encode(&mut out);
    sock.send_to(&out, "198.18.0.1:67").unwrap();
    let mut buf = [0u8; 1500];
    loop {
        let (len, _) = sock.recv_from(&mut buf).ok()?;
        match Pkt4::decode(&buf[..len]) {
            Ok(r) if r.xid == p.xid && r.message_type() == Some(want) => return Some(r),
            // A late reply to an earlier exchange.
            _ => continue,
        }
    }
}

/// DISCOVER + REQUEST for client `n`; the address if it was ACKed.
fn dora(sock: &UdpSocket, n: u32) -> Option<Ipv4Addr> {
    let mut p = Pkt4 { htype: 1, hlen: 6, hops: 1, xid: 0xd000_0000 + n, ..Pkt4::default() };
    p.giaddr = "198.18.0.2".parse().unwrap();
    p.chaddr[..6].copy_from_slice(&mac(n));
    p.set_message_type(MessageType::Discover);
    let offer = exchange(sock, &p, MessageType::Offer)?;
    p.set_message_type(MessageType::Request);
    p.options.insert(code::REQUESTED_IP, offer.yiaddr.octets().to_vec());
    p.options.insert(code::SERVER_ID, offer.options.get(code::SERVER_ID)?.to_vec());
    exchange(sock, &p, MessageType::Ack).map(|a| a.yiaddr)
}

/// The live rows of the lease file (read inside the mount namespace): address -> hwaddr.
fn lease_file(m: &Mounts, data: &Path) -> Vec<(Ipv4Addr, String)> {
    let out = m.sh(&format!("cat {}/kea-leases4.csv", data.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut live: Vec<(Ipv4Addr, String)> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let Some(addr) = f.first().and_then(|a| a.parse().ok()) else { continue };
        live.retain(|(a, _)| *a != addr);
        if f.get(3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) > 0 {
            live.push((addr, f[1].to_string()));
        }
    }
    live
}

fn stat(sock: &Path, name: &str) -> i64 {
    let r = unix(sock, &json!({"command": "statistic-get", "arguments": {"name": name}}));
    r["arguments"][name][0][0].as_i64().unwrap_or_else(|| panic!("{name}: {r}"))
}

#[test]
fn full_disk_withholds_acks_recovers_on_its_own_and_loses_no_acked_lease() {
    require_root_and(&["ip", "unshare", "nsenter"]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // Namespaces first: the private mount namespace copies their /run/netns mounts.
    let pair = Pair::new("fa", "fb", "198.18.0.1/15", Some("198.18.0.2/15"));
    let m = Mounts::new(&data);
    let server = Kakapo::start(&m, &pair, dir.path(), &data, 1);
    let ctl = dir.path().join("kea4.sock");
    let sock = socket_in(&pair.cli, "198.18.0.2:67".parse().unwrap());
    sock.set_read_timeout(Some(Duration::from_millis(700))).unwrap();

    let mut acked: Vec<(u32, Ipv4Addr)> = Vec::new();
    for n in 1..=5 {
        acked.push((n, dora(&sock, n).unwrap_or_else(|| panic!("client {n} ACKed on a healthy disk"))));
    }
    let st = unix(&ctl, &json!({"command": "status-get"}));
    assert_eq!(st["arguments"]["lease-store"]["state"], "healthy", "{st}");
    assert_eq!(stat(&ctl, "lease-store-healthy"), 1);

    // Fill the tmpfs. The journal's last page may still have room for a few rows (tmpfs
    // allocates whole pages), so clients keep being ACKed until an append needs a new page;
    // those ACKs are genuine (the rows are in the file) and are checked at the end.
    m.sh(&format!("dd if=/dev/zero of={}/fill bs=4k 2>/dev/null; sync", data.display()));
    let mut n = 5;
    loop {
        n += 1;
        assert!(n < 80, "the store never failed on a full disk:\n{}", server.log());
        match dora(&sock, n) {
            Some(a) => acked.push((n, a)),
            None => break,
        }
    }
    server.wait_log("DHCP4_DB_RECONNECT_LOST_CONNECTION");
    // Failed: no ACK while the disk stays full, and status-get / statistics say so.
    let mut refused = vec![n];
    for _ in 0..3 {
        n += 1;
        assert_eq!(dora(&sock, n), None, "client {n} ACKed while the disk is full");
        refused.push(n);
    }
    // A lease command fails the same way and leaves nothing behind: lease4-get does not find
    // the lease it tried to add.
    let add = json!({"command": "lease4-add",
        "arguments": {"ip-address": "198.19.200.1", "hw-address": "02:00:00:00:ad:01"}});
    let r = unix(&ctl, &add);
    assert_eq!(r["result"], 1, "{r}");
    let get = json!({"command": "lease4-get", "arguments": {"ip-address": "198.19.200.1"}});
    let r = unix(&ctl, &get);
    assert_eq!(r["result"], 3, "a failed lease4-add must leave no lease: {r}");
    let st = unix(&ctl, &json!({"command": "status-get"}));
    let store = &st["arguments"]["lease-store"];
    assert_eq!(store["state"], "failed", "{st}");
    assert!(store["error"].as_str().is_some_and(|e| e.contains("No space left")), "{st}");
    assert!(store["since"].as_u64().is_some_and(|s| s > 0), "{st}");
    assert_eq!(store["failures"], 1, "{st}");
    assert_eq!(st["arguments"]["dhcp-state"]["globally-disabled"], false, "Kea's keys unchanged: {st}");
    assert_eq!(stat(&ctl, "lease-store-healthy"), 0);
    assert_eq!(stat(&ctl, "lease-store-failures"), 1);

    // Space returns: the server rewrites its lease file and ACKs again, with no command.
    m.sh(&format!("rm -f {}/fill", data.display()));
    let mut resumed = None;
    for _ in 0..20 {
        n += 1;
        if let Some(a) = dora(&sock, n) {
            resumed = Some((n, a));
            break;
        }
    }
    let resumed = resumed.unwrap_or_else(|| panic!("ACKs never resumed:\n{}", server.log()));
    acked.push(resumed);
    server.wait_log("DHCP4_DB_RECONNECT_SUCCEEDED");
    for _ in 0..3 {
        n += 1;
        acked.push((n, dora(&sock, n).unwrap_or_else(|| panic!("client {n} not ACKed after recovery"))));
    }
    let st = unix(&ctl, &json!({"command": "status-get"}));
    assert_eq!(st["arguments"]["lease-store"]["state"], "healthy", "{st}");
    assert_eq!(stat(&ctl, "lease-store-healthy"), 1);
    assert_eq!(m.sh(&format!("test -e {}/kea-leases4.csv.tmp-recover", data.display())).status.code(), Some(1));

    // SIGKILL: nothing is flushed on the way out, yet every ACKed lease is in the file.
    drop(server);
    let live = lease_file(&m, &data);
    for (n, addr) in &acked {
        let hw = mac(*n).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        assert!(live.contains(&(*addr, hw.clone())), "ACKed lease {addr} ({hw}) of client {n} lost: {live:?}");
    }
    // Nothing of the refused commits reached the file, not even through the rewrite.
    for n in &refused {
        let hw = mac(*n).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        assert!(!live.iter().any(|(_, h)| *h == hw), "refused client {n} ({hw}) has a lease: {live:?}");
    }
    assert!(!live.iter().any(|(a, _)| *a == Ipv4Addr::new(198, 19, 200, 1)), "the failed lease4-add was written");
    // And the restarted server loads them.
    let again = Kakapo::start(&m, &pair, dir.path(), &data, 2);
    again.wait_log(&format!("({} leases)", live.len()));
    assert!(live.len() >= acked.len());
}
