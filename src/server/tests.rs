//! A configuration swap that waits for a decision in flight must not stop that decision's
//! commit: the store reads the lease map while the decision holds the engine slot.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::{load_str, LoadOptions};
use crate::engine::admin::PutMode;
use crate::lease::memfile::{header4, header6, parse_row4, parse_row6};
use crate::lease::LeaseType6;
use crate::server::v4::Service4;
use crate::server::v6::Service6;
use crate::server::ServiceOptions;
use crate::stats::Stats;

const T0: u64 = 1_800_000_000;

fn config(text: &str) -> crate::config::model::Config {
    load_str("t", text, &LoadOptions::default()).unwrap().config
}

fn options(dir: &tempfile::TempDir) -> ServiceOptions {
    ServiceOptions { data_dir: dir.path().into(), ..ServiceOptions::default() }
}

/// Called inside a decision: starts `swap` on its own thread and gives it time to block on the
/// engine slot's write lock.
fn swap_waiting(swap: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    let t = std::thread::spawn(swap);
    std::thread::sleep(Duration::from_millis(300));
    t
}

/// Runs `change` (a decision that lets a swap start waiting, then its commit) on a thread with
/// its own runtime and reports whether the commit and the swap finished: a deadlock shows as a
/// timeout, not as a hung test run.
fn finishes<F>(change: F) -> bool
where
    F: std::future::Future<Output = (JoinHandle<()>, bool)> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (swap, committed) = rt.block_on(change);
        let _ = tx.send(committed && swap.join().is_ok());
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or(false)
}

#[test]
fn a_v4_commit_completes_while_a_configuration_swap_waits_for_its_decision() {
    let text = |valid: u32| {
        format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}}, "valid-lifetime": {valid},
            "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.10-192.0.2.100"}}]}}]}}}}"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let d4 = Arc::new(config(&text(3600)).dhcp4.unwrap());
    let sh = Service4::open(d4, options(&dir), Arc::new(Stats::default())).unwrap().shared();
    let next = Arc::new(config(&text(5000)).dhcp4.unwrap());
    let header = header4(false);
    let lease =
        parse_row4("192.0.2.20,01:02:03:04:05:06,,3600,1800003600,1,0,0,,0,", &header.split(',').collect::<Vec<_>>());
    let sh2 = sh.clone();
    let done = finishes(async move {
        let sh3 = sh2.clone();
        let (swap, _, result) = sh2
            .change(|e, _| {
                (swap_waiting(move || sh3.reconfigure(next, T0)), e.admin_put(lease.unwrap(), PutMode::Add).unwrap().1)
            })
            .await;
        (swap, result.is_ok())
    });
    assert!(done, "the commit and the swap both finished");
    assert_eq!(sh.engine().config().params.valid.default, Some(5000), "the swap took effect");
    let addr = Ipv4Addr::new(192, 0, 2, 20);
    assert!(sh.engine().leases().subnet(1).and_then(|s| s.durable_get(addr)).is_some(), "and the lease is there");
}

#[test]
fn a_v6_commit_completes_while_a_configuration_swap_waits_for_its_decision() {
    let text = |valid: u32| {
        format!(
            r#"{{"Dhcp6": {{"interfaces-config": {{"interfaces": []}}, "valid-lifetime": {valid},
            "subnet6": [{{"id": 1, "subnet": "2001:db8:1::/64", "pools": [{{"pool": "2001:db8:1::100-2001:db8:1::1ff"}}]}}]}}}}"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let d6 = Arc::new(config(&text(3600)).dhcp6.unwrap());
    let sh = Service6::open(d6, options(&dir), Arc::new(Stats::default())).unwrap().shared();
    let next = Arc::new(config(&text(5000)).dhcp6.unwrap());
    let header = header6(false);
    let row = "2001:db8:1::120,00:03:00:01:aa:bb:cc:dd:00:01,3600,1800003600,1,1800,0,1,128,0,0,,,0,,0,0";
    let lease = parse_row6(row, &header.split(',').collect::<Vec<_>>());
    let sh2 = sh.clone();
    let done = finishes(async move {
        let sh3 = sh2.clone();
        let (swap, _, result) = sh2
            .change(|e, _| {
                (swap_waiting(move || sh3.reconfigure(next, T0)), e.admin_put(lease.unwrap(), PutMode::Add).unwrap().1)
            })
            .await;
        (swap, result.is_ok())
    });
    assert!(done, "the commit and the swap both finished");
    assert_eq!(sh.engine().config().params.valid.default, Some(5000), "the swap took effect");
    let addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x120);
    let durable = sh.engine().leases().subnet(1).and_then(|s| s.durable_get(LeaseType6::Na, addr));
    assert!(durable.is_some(), "and the lease is there");
}

#[test]
fn reply_buffers_are_reused_from_batch_to_batch() {
    let pool = super::ReplyBuffers::default();
    let first: Vec<*const u8> = pool.with(3, |bufs| {
        bufs.iter_mut().for_each(|b| b.extend_from_slice(&[1; 300]));
        bufs.iter().map(|b| b.as_ptr()).collect()
    });
    // The next batch gets the same buffers back, emptied, with their room kept.
    let again: Vec<(*const u8, usize, usize)> =
        pool.with(2, |bufs| bufs.iter().map(|b| (b.as_ptr(), b.len(), b.capacity())).collect());
    assert_eq!(again.iter().map(|x| x.0).collect::<Vec<_>>(), first[..2]);
    assert!(again.iter().all(|&(_, len, cap)| len == 0 && cap >= 576));
    // A larger batch keeps the old buffers and adds what it lacks.
    let grown = pool.with(5, |bufs| bufs.iter().map(|b| b.as_ptr()).collect::<Vec<_>>());
    assert_eq!(grown[..3], first[..]);
}

/// `sanity-checks.lease-checks` "fix-del" at load: a lease filed under the wrong subnet moves to
/// the subnet that holds its address, one no subnet holds is dropped, the rest stay.
#[test]
fn lease_checks_fix_or_drop_misplaced_leases_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let header = header4(false);
    let rows = [
        "192.0.2.20,01:02:03:04:05:06,,3600,1800003600,1,0,0,,0,",
        "198.51.100.20,01:02:03:04:05:07,,3600,1800003600,1,0,0,,0,",
        "203.0.113.5,01:02:03:04:05:08,,3600,1800003600,1,0,0,,0,",
    ];
    std::fs::write(dir.path().join("kea-leases4.csv"), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let text = |mode: &str| {
        format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}}, "sanity-checks": {{"lease-checks": "{mode}"}},
            "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24"}}, {{"id": 2, "subnet": "198.51.100.0/24"}}]}}}}"#
        )
    };
    let placed = |mode: &str| {
        let d4 = Arc::new(config(&text(mode)).dhcp4.unwrap());
        let svc = Service4::open(d4, options(&dir), Arc::new(Stats::default())).unwrap();
        let e = svc.shared().engine();
        let at = |id: u32, a: [u8; 4]| e.leases().subnet(id).and_then(|s| s.get(Ipv4Addr::from(a))).is_some();
        (at(1, [192, 0, 2, 20]), at(2, [198, 51, 100, 20]), at(1, [198, 51, 100, 20]))
    };
    assert_eq!(placed("fix-del"), (true, true, false));
    assert_eq!(placed("warn"), (true, false, true), "warn keeps it where the file put it");
}
