//! A configuration swap that waits for a decision in flight must not stop that decision's
//! commit: the store reads the lease map while the decision holds the engine slot.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::config::{load_str, LoadOptions};
use crate::engine::admin::PutMode;
use crate::lease::{Lease4, Lease6, LeaseState, LeaseType6};
use crate::server::v4::Service4;
use crate::server::v6::Service6;
use crate::server::ServiceOptions;
use crate::stats::Stats;

const T0: u64 = 1_800_000_000;

fn config(text: &str) -> crate::config::model::Config {
    load_str("t", text, &LoadOptions::default()).unwrap().config
}

/// Runs `commit` (a decision that lets a swap start waiting, then commits) on its own thread
/// and reports whether it finished: a deadlock shows as a timeout, not as a hung test run.
fn finishes(commit: impl FnOnce() -> bool + Send + 'static) -> bool {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(commit());
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or(false)
}

/// Long enough for the swap thread to be blocked on the engine slot's write lock.
const SWAP_WAITS: Duration = Duration::from_millis(300);

#[test]
fn a_v4_commit_completes_while_a_configuration_swap_waits_for_its_decision() {
    let text = |valid: u32| {
        format!(
            r#"{{"Dhcp4": {{"interfaces-config": {{"interfaces": []}}, "valid-lifetime": {valid},
            "subnet4": [{{"id": 1, "subnet": "192.0.2.0/24", "pools": [{{"pool": "192.0.2.10-192.0.2.100"}}]}}]}}}}"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = ServiceOptions { data_dir: dir.path().into(), ..ServiceOptions::default() };
    let d4 = config(&text(3600)).dhcp4.unwrap();
    let sh = Service4::open(Arc::new(d4), opts, Arc::new(Stats::default())).unwrap().shared();
    let next = Arc::new(config(&text(5000)).dhcp4.unwrap());
    let lease = Lease4 {
        address: Ipv4Addr::new(192, 0, 2, 20),
        hwaddr: vec![1, 2, 3, 4, 5, 6],
        client_id: None,
        valid_lifetime: 3600,
        cltt: T0,
        subnet_id: 1,
        pool_id: 0,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        state: LeaseState::Default,
        user_context: None,
    };
    let sh2 = sh.clone();
    let done = finishes(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (swap, _, result) = rt.block_on(sh2.change(|e| {
            let (sh3, next) = (sh2.clone(), next.clone());
            let swap = std::thread::spawn(move || sh3.reconfigure(next, T0));
            std::thread::sleep(SWAP_WAITS);
            (swap, e.admin_put(lease, PutMode::Add, T0).unwrap().1)
        }));
        result.is_ok() && swap.join().is_ok()
    });
    assert!(done, "the commit and the swap both finished");
    assert_eq!(sh.engine().config().params.valid.default, Some(5000), "the swap took effect");
    assert!(sh
        .engine()
        .leases()
        .subnet(1)
        .and_then(|s| s.durable_get(Ipv4Addr::new(192, 0, 2, 20)).cloned())
        .is_some());
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
    let opts = ServiceOptions { data_dir: dir.path().into(), ..ServiceOptions::default() };
    let d6 = config(&text(3600)).dhcp6.unwrap();
    let sh = Service6::open(Arc::new(d6), opts, Arc::new(Stats::default())).unwrap().shared();
    let next = Arc::new(config(&text(5000)).dhcp6.unwrap());
    let address = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x120);
    let lease = Lease6 {
        address,
        prefix_len: 128,
        lease_type: LeaseType6::Na,
        duid: vec![0, 3, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0, 1],
        iaid: 1,
        valid_lifetime: 3600,
        preferred_lifetime: 1800,
        cltt: T0,
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
    };
    let sh2 = sh.clone();
    let done = finishes(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (swap, _, result) = rt.block_on(sh2.change(|e| {
            let (sh3, next) = (sh2.clone(), next.clone());
            let swap = std::thread::spawn(move || sh3.reconfigure(next, T0));
            std::thread::sleep(SWAP_WAITS);
            (swap, e.admin_put(lease, PutMode::Add, T0).unwrap().1)
        }));
        result.is_ok() && swap.join().is_ok()
    });
    assert!(done, "the commit and the swap both finished");
    assert_eq!(sh.engine().config().params.valid.default, Some(5000), "the swap took effect");
    assert!(sh.engine().leases().subnet(1).and_then(|s| s.durable_get(LeaseType6::Na, address).cloned()).is_some());
}
