//! The Prometheus exporter operators run against Kea (PyPI `kea-exporter`, installed by
//! scripts/test.sh) pointed at kakapo exports the same series, with the same labels, as it
//! does for Debian's Kea 2.2 with the same configuration. Each server and its exporter run
//! in a network namespace of their own; only processes started here are stopped.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{require_root_and, run, Kea, Net, Server};

const CFG4: &str = r#"{"Dhcp4": {
  "interfaces-config": {"interfaces": []},
  "control-socket": {"socket-type": "unix", "socket-name": "@SOCKET@"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "subnet4": [
    {"id": 1, "subnet": "192.0.2.0/24",
     "pools": [{"pool": "192.0.2.10 - 192.0.2.19"}, {"pool": "192.0.2.100 - 192.0.2.149"}]},
    {"id": 7, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.20"}]}
  ],
  "shared-networks": [{"name": "campus", "subnet4": [
    {"id": 3, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.10 - 203.0.113.20"}]}]}]
}}"#;

const CFG6: &str = r#"{"Dhcp6": {
  "interfaces-config": {"interfaces": []},
  "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "0102030405", "persist": false},
  "control-socket": {"socket-type": "unix", "socket-name": "@SOCKET@"},
  "lease-database": {"type": "memfile", "name": "@LEASES@", "lfc-interval": 0},
  "subnet6": [
    {"id": 1, "subnet": "2001:db8:1::/64",
     "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::ff"}, {"pool": "2001:db8:1::1:0/112"}],
     "pd-pools": [{"prefix": "2001:db8:100::", "prefix-len": 48, "delegated-len": 56}]},
    {"id": 2, "subnet": "2001:db8:2::/64", "pools": [{"pool": "2001:db8:2::10 - 2001:db8:2::20"}]}
  ]
}}"#;

/// `kea-exporter`: scripts/test.sh installs it in a virtual environment and names it in
/// `KAKAPO_KEA_EXPORTER`; otherwise it must be on the PATH.
fn exporter_bin() -> PathBuf {
    std::env::var_os("KAKAPO_KEA_EXPORTER").map_or_else(|| PathBuf::from("kea-exporter"), PathBuf::from)
}

struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the exporter for the control socket `sock` inside `ns` and returns the series it
/// exports: `name{labels}` of every sample, values left out.
fn series(ns: &str, sock: &Path, log: &Path) -> BTreeSet<String> {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exporter_bin())
        .args(["-a", "127.0.0.1", "-p", "9547", "-i", "0"])
        .arg(sock)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let _exporter = Exporter(child);
    for _ in 0..100 {
        let o = Command::new("ip")
            .args(["netns", "exec", ns, "curl", "-sf", "--max-time", "5", "http://127.0.0.1:9547/metrics"])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        if o.status.success() && text.contains("subnet_id=") {
            return text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                // Python's client adds a `_created` twin to each counter, stamped when the
                // exporter saw the series first: its value differs, its name does not.
                .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_string()))
                .collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no metrics from the exporter: {}", std::fs::read_to_string(log).unwrap_or_default());
}

fn compare(v: u8, cfg: &str) {
    require_root_and(&["ip", "curl", &format!("/usr/sbin/kea-dhcp{v}")]);
    let exporter = exporter_bin();
    assert!(
        exporter.is_absolute() && exporter.exists() || common::have("kea-exporter"),
        "kea-exporter is not installed: scripts/test.sh installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let (kea_dir, our_dir) = (dir.path().join("kea"), dir.path().join("kakapo"));
    std::fs::create_dir_all(&kea_dir).unwrap();
    std::fs::create_dir_all(&our_dir).unwrap();
    let mut net = Net::new();
    let (kns, ons) = (net.ns(&format!("xk{v}")), net.ns(&format!("xo{v}")));
    run(&["ip", "-n", &kns, "link", "set", "lo", "up"]);
    run(&["ip", "-n", &ons, "link", "set", "lo", "up"]);
    let kea_cfg = cfg.replace("@LEASES@", kea_dir.join(format!("leases{v}.csv")).to_str().unwrap());
    let _kea = Kea::start(&kns, &kea_dir, v, &kea_cfg);
    let our_sock = our_dir.join(format!("kakapo{v}.sock"));
    let _ours = Server::start_with(&ons, &our_dir, &cfg.replace("@SOCKET@", our_sock.to_str().unwrap()), v, &[]);

    let theirs = series(&kns, &kea_dir.join(format!("kea{v}.sock")), &kea_dir.join("exporter.log"));
    let ours = series(&ons, &our_sock, &our_dir.join("exporter.log"));
    // The comparison can fail: Kea 2.2's per-subnet series are there, with their labels.
    let subnet_label = if v == 4 {
        "subnet=\"198.51.100.0/24\",subnet_id=\"7\""
    } else {
        "subnet=\"2001:db8:2::/64\",subnet_id=\"2\""
    };
    assert!(theirs.iter().filter(|s| s.contains(subnet_label)).count() >= 4, "Kea's series: {theirs:#?}");
    let missing: Vec<&String> = theirs.difference(&ours).collect();
    // Kea 2.4+ adds pool-level statistics, which Kea 2.2 does not have: the exporter labels
    // those with their pool; anything else kakapo alone exports is a difference.
    let extra: Vec<&String> =
        ours.difference(&theirs).filter(|s| !s.contains("{pool=\"") || s.contains("{pool=\"\"")).collect();
    let pools = ours.difference(&theirs).count() - extra.len();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "DHCPv{v}: {} of Kea's {} series missing for kakapo: {missing:#?}\n{} only for kakapo: {extra:#?}\nexporter log: {}",
        missing.len(),
        theirs.len(),
        extra.len(),
        std::fs::read_to_string(our_dir.join("exporter.log")).unwrap_or_default()
    );
    assert!(pools > 0, "kakapo's pool-level series reach the exporter");
    eprintln!(
        "DHCPv{v}: Kea 2.2 {} series, kakapo {} (all of Kea's, plus {pools} pool-level)",
        theirs.len(),
        ours.len()
    );
}

#[test]
fn kea_exporter_exports_the_same_dhcp4_series_as_for_kea() {
    compare(4, CFG4);
}

#[test]
fn kea_exporter_exports_the_same_dhcp6_series_as_for_kea() {
    compare(6, CFG6);
}
