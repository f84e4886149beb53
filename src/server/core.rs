//! The state a DHCPv4 or DHCPv6 service shares between its packet threads, its timers and the
//! control channel, in one shape for both families: the engine slot a configuration change
//! swaps, the lease store, the ordering lock, and the lease map the store reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::pipeline::BoxFuture;
use super::timers::TimerWork;
use crate::clock;
use crate::lease::store::{LeaseRecord, LeaseStore, StoreError};
use crate::lease::Change;
use crate::stats::{Stats, Tally};

/// What the service core needs of a family's engine (Kea ARM 8.2.14 reclamation, 8.2.2.1
/// lease file cleanup).
pub trait ServedEngine: Send + Sync + 'static {
    /// Lease4 or Lease6.
    type Lease: LeaseRecord;
    /// 4 or 6.
    const FAMILY: u8;
    /// `expired-leases-processing`, `lfc-interval` (seconds) and `persist` of its configuration.
    fn timers(&self) -> (crate::config::model::ExpiredLeases, u32, bool);
    /// One run of expired-lease reclamation, stopping when `out_of_time`; what it counts goes
    /// to `tally`.
    fn reclaim(&self, now: u64, tally: &mut Tally, out_of_time: &mut dyn FnMut() -> bool) -> Vec<Change<Self::Lease>>;
    /// Deletes the reclaimed leases past `hold-reclaimed-time`.
    fn flush_reclaimed(&self, now: u64) -> Vec<Change<Self::Lease>>;
    /// These changes are durable; their lease statistics go to `tally`.
    fn synced(&self, changes: &[Change<Self::Lease>], tally: &mut Tally);
    /// These changes failed: undo them.
    fn roll_back(&self, changes: &[Change<Self::Lease>]);
}

/// How many packets may wait in front of the engine and behind it (Kea ARM 16.12.16
/// `parked-packet-limit`; Kea ARM 18 `dhcp-queue-control`, 8.2.37 `packet-queue-size`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Packets waiting for their commit and post-commit stages at most (0: no limit).
    pub parked: u32,
    /// Received packets waiting for the engine at most, the oldest dropped (0: no queue).
    pub queue: u32,
}

/// The shared core of one service; `M` is the lease map the engine decides over.
pub struct Core<E: ServedEngine, M> {
    /// Swapped whole by a configuration change; a packet is decided under the read lock, so
    /// a swap waits for decisions in flight and the next packet sees the new configuration.
    engine: RwLock<Arc<E>>,
    store: Arc<dyn LeaseStore<E::Lease>>,
    stats: Arc<Stats>,
    /// `parked-packet-limit` of the configuration serving now.
    parked_limit: AtomicUsize,
    /// The packet queue's capacity of the configuration serving now (0: none).
    queue: AtomicUsize,
    /// Held while a batch (or a command) is decided and its changes queued in the store, so
    /// the store receives the rows of one address in the order they were decided, whichever
    /// thread decided them.
    order: Mutex<()>,
    /// The lease map of the engine serving now, for the store's reads and journal rewrites.
    /// Apart from the engine slot because the store reads it while a decision holds that
    /// slot: a second read of a `RwLock` with a configuration swap waiting would deadlock.
    leases: Mutex<Arc<M>>,
}

impl<E: ServedEngine, M> Core<E, M> {
    /// A core serving `engine` over `map`.
    pub fn new(
        engine: E,
        map: Arc<M>,
        store: Arc<dyn LeaseStore<E::Lease>>,
        stats: Arc<Stats>,
        limits: Limits,
    ) -> Self {
        Core {
            engine: RwLock::new(Arc::new(engine)),
            store,
            stats,
            parked_limit: AtomicUsize::new(limits.parked as usize),
            queue: AtomicUsize::new(limits.queue as usize),
            order: Mutex::new(()),
            leases: Mutex::new(map),
        }
    }

    /// The engine serving now.
    pub fn engine(&self) -> Arc<E> {
        self.engine.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lease store.
    pub fn store(&self) -> &Arc<dyn LeaseStore<E::Lease>> {
        &self.store
    }

    /// The statistics registry.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// `parked-packet-limit` now.
    pub fn parked_limit(&self) -> usize {
        self.parked_limit.load(Ordering::Relaxed)
    }

    /// The packet queue's capacity now (0: packets go from the socket to the engine).
    pub fn queue_capacity(&self) -> usize {
        self.queue.load(Ordering::Relaxed)
    }

    /// The lease map of the engine serving now, without touching the engine slot.
    pub fn lease_map(&self) -> Arc<M> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Decides under the engine slot and the ordering lock: `f` gets the engine and returns
    /// what it decided with the store commit it queued, in decision order.
    pub fn decide<R>(&self, f: impl FnOnce(&E, &dyn LeaseStore<E::Lease>) -> R) -> R {
        let engine = self.engine.read().unwrap_or_else(|e| e.into_inner());
        let _order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        f(&engine, &*self.store)
    }

    /// Installs a new engine over `map` (a configuration change); `build` sees the engine
    /// serving until now, with nothing deciding.
    pub fn swap(&self, limits: Limits, build: impl FnOnce(&E) -> (E, Arc<M>)) {
        let mut slot = self.engine.write().unwrap_or_else(|e| e.into_inner());
        let (engine, map) = build(&**slot);
        self.parked_limit.store(limits.parked as usize, Ordering::Relaxed);
        self.queue.store(limits.queue as usize, Ordering::Relaxed);
        *self.leases.lock().unwrap_or_else(|e| e.into_inner()) = map;
        *slot = Arc::new(engine);
    }

    /// Makes a change of the control channel or of reclamation: `f` decides it on the current
    /// engine (under the engine lock, so a configuration swap never copies the lease map halfway
    /// through it) and returns its lease changes, which are committed in decision order with the
    /// packet path's and settled as the pipeline settles a packet's: visible to reads once
    /// durable, undone without a trace if the commit fails. What `f` counts in its tally, and
    /// the lease statistics of the durable changes, are counted once the outcome is known.
    pub async fn change<R>(
        &self,
        f: impl FnOnce(&E, &mut Tally) -> (R, Vec<Change<E::Lease>>),
    ) -> (R, Vec<Change<E::Lease>>, Result<(), StoreError>) {
        let mut tally = Tally::default();
        let (r, changes, commit) = self.decide(|engine, store| {
            let (r, changes) = f(engine, &mut tally);
            let commit = (!changes.is_empty()).then(|| store.commit(&mut changes.iter()));
            (r, changes, commit)
        });
        let result = match commit {
            Some(c) => c.await,
            None => Ok(()),
        };
        match &result {
            Ok(()) => self.engine().synced(&changes, &mut tally),
            Err(_) => {
                self.engine().roll_back(&changes);
                tally.not_durable();
            }
        }
        tally.count(clock::unix_now_us());
        (r, changes, result)
    }
}

/// The reclamation and cleanup timers of the configuration `service` serves now, settling
/// their commits like every other commit.
pub fn timer_work<E, M, S>(service: &Arc<S>) -> TimerWork
where
    E: ServedEngine,
    M: Send + Sync + 'static,
    S: std::ops::Deref<Target = Core<E, M>> + Send + Sync + 'static,
{
    let (expired, lfc_secs, persist) = service.engine().timers();
    let (sh, sh2, sh3) = (service.clone(), service.clone(), service.clone());
    let (max_leases, max_ms) = (expired.max_reclaim_leases as usize, u64::from(expired.max_reclaim_time));
    TimerWork {
        family: E::FAMILY,
        reclaim_secs: expired.reclaim_timer_wait_time,
        flush_secs: expired.flush_reclaimed_timer_wait_time,
        unwarned_cycles: expired.unwarned_reclaim_cycles,
        lfc_secs,
        persist,
        reclaim: Box::new(move |now| -> BoxFuture<_> {
            let sh = sh.clone();
            Box::pin(async move {
                // `max-reclaim-time` is measured on the wall clock in microseconds.
                let deadline = (max_ms > 0).then(|| crate::clock::unix_now_us() + max_ms * 1000);
                let (late, changes, res) = sh
                    .change(|e, t| {
                        let mut late = false;
                        let mut out_of_time = || {
                            late |= deadline.is_some_and(|d| crate::clock::unix_now_us() >= d);
                            late
                        };
                        let changes = e.reclaim(now, t, &mut out_of_time);
                        (late, changes)
                    })
                    .await;
                res?;
                // Complete unless the run stopped at its time or lease limit.
                Ok(!late && (max_leases == 0 || changes.len() < max_leases))
            })
        }),
        flush: Box::new(move |now| -> BoxFuture<_> {
            let sh = sh3.clone();
            Box::pin(async move { sh.change(|e, _| ((), e.flush_reclaimed(now))).await.2.map(|()| true) })
        }),
        lfc: Box::new(move || sh2.store.start_maintenance()),
    }
}
