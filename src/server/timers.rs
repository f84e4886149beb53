//! The periodic work of one service on the caller's clock: expired-lease reclamation (Kea ARM
//! 8.2.14 / 9.2.12 `reclaim-timer-wait-time`), the flush of reclaimed leases
//! (`flush-reclaimed-timer-wait-time`) and lease file cleanup (8.2.2 `lfc-interval`).
//! Sleeps are tokio's, so a test with paused time drives them; the wall-clock "now" the
//! reclamation compares expiry times with comes from the injected [`Clock`].

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use super::pipeline::BoxFuture;
use crate::clock::Clock;
use crate::lease::store::StoreError;

/// One reclamation (or flush) run at a given time: queues its rows and settles their commits;
/// true when it left nothing due behind (it did not stop at `max-reclaim-leases` or
/// `max-reclaim-time`).
pub type Reclaim = Box<dyn Fn(u64) -> BoxFuture<Result<bool, StoreError>> + Send + Sync>;
/// Starts a lease file cleanup in the background.
pub type Cleanup = Box<dyn Fn() -> Result<(), StoreError> + Send + Sync>;

/// What the timers of one service do on each tick.
pub struct TimerWork {
    /// 4 or 6: selects the logger and message IDs.
    pub family: u8,
    /// `reclaim-timer-wait-time` in seconds; 0 disables reclamation.
    pub reclaim_secs: u32,
    /// `flush-reclaimed-timer-wait-time` in seconds; 0 keeps reclaimed leases.
    pub flush_secs: u32,
    /// `unwarned-reclaim-cycles`: incomplete runs in a row before a warning (0: never).
    pub unwarned_cycles: u32,
    /// `lfc-interval` in seconds; 0 disables cleanups.
    pub lfc_secs: u32,
    /// `persist`: cleanups only run when leases are written.
    pub persist: bool,
    /// One reclamation run, awaited before the next tick.
    pub reclaim: Reclaim,
    /// One flush of reclaimed leases past their hold time.
    pub flush: Reclaim,
    /// Starts a cleanup.
    pub lfc: Cleanup,
}

/// Runs the timers until the task is dropped.
pub async fn run(work: TimerWork, clock: Arc<dyn Clock>) {
    let v4 = work.family == 4;
    let mut reclaim_tick = tokio::time::interval(Duration::from_secs(u64::from(work.reclaim_secs.max(1))));
    let mut flush_tick = tokio::time::interval(Duration::from_secs(u64::from(work.flush_secs.max(1))));
    let mut lfc_tick = tokio::time::interval(Duration::from_secs(u64::from(work.lfc_secs.max(1))));
    // The first tick of an interval is immediate; Kea's timers first fire after one period.
    reclaim_tick.tick().await;
    flush_tick.tick().await;
    lfc_tick.tick().await;
    let mut slow = SlowWatch::new(work.unwarned_cycles);
    loop {
        tokio::select! {
            _ = reclaim_tick.tick(), if work.reclaim_secs > 0 => {
                match (work.reclaim)(clock.unix_now()).await {
                    Ok(complete) => match slow.record(complete) {
                        Some(n) if v4 => warn!(target: "kea-dhcp4.alloc-engine", "ALLOC_ENGINE_V4_LEASES_RECLAMATION_SLOW expired leases still exist after {n} reclamations"),
                        Some(n) => warn!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_LEASES_RECLAMATION_SLOW expired leases still exist after {n} reclamations"),
                        None => {}
                    },
                    Err(e) if v4 => {
                        error!(target: "kea-dhcp4.alloc-engine", "ALLOC_ENGINE_V4_LEASE_RECLAMATION_FAILED failed to reclaim the lease (this run's expired leases): {e}");
                    }
                    Err(e) => {
                        error!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_LEASE_RECLAMATION_FAILED failed to reclaim the lease (this run's expired leases): {e}");
                    }
                }
            }
            _ = flush_tick.tick(), if work.flush_secs > 0 => {
                if let Err(e) = (work.flush)(clock.unix_now()).await {
                    error!(target: "kakapo.server", "KAKAPO_FLUSH_RECLAIMED_FAILED reclaimed leases past their hold time were not deleted: {e}");
                }
            }
            _ = lfc_tick.tick(), if work.lfc_secs > 0 && work.persist => {
                let started = (work.lfc)();
                match (started, v4) {
                    (Ok(()), true) => info!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_MEMFILE_LFC_START starting Lease File Cleanup"),
                    (Ok(()), false) => info!(target: "kea-dhcp6.dhcpsrv", "DHCPSRV_MEMFILE_LFC_START starting Lease File Cleanup"),
                    (Err(e), true) => {
                        error!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_MEMFILE_LFC_SPAWN_FAIL lease file cleanup failed to run because kea-lfc process couldn't be spawned");
                        error!(target: "kea-dhcp4.dhcpsrv", "KAKAPO_LFC_START_FAIL {e}");
                    }
                    (Err(e), false) => {
                        error!(target: "kea-dhcp6.dhcpsrv", "DHCPSRV_MEMFILE_LFC_SPAWN_FAIL lease file cleanup failed to run because kea-lfc process couldn't be spawned");
                        error!(target: "kea-dhcp6.dhcpsrv", "KAKAPO_LFC_START_FAIL {e}");
                    }
                }
            }
        }
    }
}

/// Counts reclamation runs in a row that left expired leases behind (Kea ARM 8.2.14
/// `unwarned-reclaim-cycles`): every that many, a warning is due.
struct SlowWatch {
    limit: u32,
    incomplete: u32,
}

impl SlowWatch {
    fn new(limit: u32) -> SlowWatch {
        SlowWatch { limit, incomplete: 0 }
    }

    /// Records a run; Some(runs in a row) when the warning is due.
    fn record(&mut self, complete: bool) -> Option<u32> {
        if complete {
            self.incomplete = 0;
            return None;
        }
        self.incomplete += 1;
        if self.limit == 0 || self.incomplete < self.limit {
            return None;
        }
        let n = self.incomplete;
        self.incomplete = 0;
        Some(n)
    }
}

/// A wall clock that advances with tokio's (possibly paused) time: `start` at creation, plus
/// the tokio time elapsed since. In a test with paused time, `tokio::time::advance` moves it.
#[derive(Debug)]
pub struct TokioClock {
    start: u64,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn starting_at(start: u64) -> TokioClock {
        TokioClock { start, origin: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn unix_now(&self) -> u64 {
        self.start + self.origin.elapsed().as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use crate::config::{load_str, LoadOptions};
    use crate::lease::{Lease4, LeaseState};
    use crate::server::v4::Service4;
    use crate::server::ServiceOptions;
    use crate::stats::Stats;

    const T0: u64 = 1_800_000_000;

    #[tokio::test(start_paused = true)]
    async fn the_timers_fire_on_virtual_time_with_the_injected_clock() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let cleanups = Arc::new(AtomicUsize::new(0));
        let flushes = Arc::new(Mutex::new(Vec::new()));
        let (r, c, f) = (runs.clone(), cleanups.clone(), flushes.clone());
        let work = TimerWork {
            family: 4,
            reclaim_secs: 10,
            flush_secs: 25,
            unwarned_cycles: 5,
            lfc_secs: 60,
            persist: true,
            reclaim: Box::new(move |now| -> BoxFuture<Result<bool, StoreError>> {
                r.lock().unwrap().push(now);
                Box::pin(async { Ok(true) })
            }),
            flush: Box::new(move |now| -> BoxFuture<Result<bool, StoreError>> {
                f.lock().unwrap().push(now);
                Box::pin(async { Ok(true) })
            }),
            lfc: Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        };
        let task = tokio::spawn(run(work, Arc::new(TokioClock::starting_at(T0))));
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(*runs.lock().unwrap(), vec![T0 + 10, T0 + 20, T0 + 30]);
        assert_eq!(*flushes.lock().unwrap(), vec![T0 + 25], "flush-reclaimed-timer-wait-time has its own timer");
        assert_eq!(cleanups.load(Ordering::SeqCst), 0, "no cleanup before lfc-interval");
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(cleanups.load(Ordering::SeqCst), 1);
        task.abort();
    }

    #[test]
    fn every_unwarned_reclaim_cycles_incomplete_runs_in_a_row_warn() {
        let mut w = SlowWatch::new(3);
        let due: Vec<Option<u32>> = [false, false, true, false, false, false, false, false, false]
            .into_iter()
            .map(|complete| w.record(complete))
            .collect();
        assert_eq!(due, [None, None, None, None, None, Some(3), None, None, Some(3)]);
        let mut never = SlowWatch::new(0);
        assert!((0..10).all(|_| never.record(false).is_none()));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_intervals_disable_the_timers() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let r2 = runs.clone();
        let r3 = runs.clone();
        let work = TimerWork {
            family: 6,
            reclaim_secs: 0,
            flush_secs: 0,
            unwarned_cycles: 5,
            lfc_secs: 0,
            persist: true,
            reclaim: Box::new(move |_| -> BoxFuture<Result<bool, StoreError>> {
                r.fetch_add(1, Ordering::SeqCst);
                Box::pin(async { Ok(true) })
            }),
            flush: Box::new(move |_| -> BoxFuture<Result<bool, StoreError>> {
                r3.fetch_add(1, Ordering::SeqCst);
                Box::pin(async { Ok(true) })
            }),
            lfc: Box::new(move || {
                r2.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        };
        let task = tokio::spawn(run(work, Arc::new(TokioClock::starting_at(T0))));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_lease_is_reclaimed_by_the_service_timer_on_virtual_time() {
        let cfg = r#"{"Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "lease-database": {"type": "memfile", "persist": false},
            "expired-leases-processing": {"reclaim-timer-wait-time": 10},
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10-192.0.2.100"}]}]}}"#;
        let loaded = load_str("t", cfg, &LoadOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(Stats::default());
        let opts = ServiceOptions { data_dir: dir.path().into(), ..ServiceOptions::default() };
        let sh = Service4::open(Arc::new(loaded.config.dhcp4.unwrap()), opts, stats.clone()).unwrap().shared();
        let addr = std::net::Ipv4Addr::new(192, 0, 2, 20);
        let lease = Lease4 {
            address: addr,
            hwaddr: vec![1, 2, 3, 4, 5, 6],
            client_id: None,
            valid_lifetime: 100,
            cltt: T0,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: LeaseState::Default,
            user_context: None,
        };
        let add = |e: &crate::engine::v4::Engine4, _: &mut crate::stats::Tally| {
            e.admin_put(lease, crate::engine::admin::PutMode::Add).unwrap()
        };
        sh.change(add).await.2.unwrap();
        let assigned = || stats.get("subnet[1].assigned-addresses").map(|s| s.value);
        assert_eq!(assigned(), Some(1));
        let state = || sh.engine().leases().subnet(1).and_then(|s| s.durable_get(addr).map(|l| l.state));
        let task = tokio::spawn(run(sh.timer_work(), Arc::new(TokioClock::starting_at(T0))));
        tokio::time::sleep(Duration::from_secs(95)).await;
        assert_eq!(state(), Some(LeaseState::Default), "not expired yet at T0+90");
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(state(), Some(LeaseState::ExpiredReclaimed), "reclaimed by the tick at T0+100");
        assert_eq!(assigned(), Some(0));
        task.abort();
    }
}
