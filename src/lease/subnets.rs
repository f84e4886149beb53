//! The lease state of every subnet of a configuration, one lock per subnet, in one shape for
//! DHCPv4 and DHCPv6 (the per-subnet state, `SubnetLeases` / `SubnetLeases6`, is the
//! family's): what the engine decides over and what memfile's store reads (its index).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::store::LeaseRecord;

/// What rolling a change back undid: the lease it had put in place and the one restored.
pub type Undone<L> = (Option<L>, Option<L>);

/// One subnet's lease state, as the container and the store index use it.
pub trait SubnetState: Send + 'static {
    /// Lease4 or Lease6.
    type Lease: LeaseRecord;
    /// Makes room for `n` more leases.
    fn reserve(&mut self, n: usize);
    /// Inserts or replaces a lease.
    fn upsert(&mut self, lease: Self::Lease);
    /// Takes a lease read from a store other servers write as durable, unless this server
    /// has a change to its key in flight (its own decision is newer).
    fn absorb(&mut self, lease: Self::Lease);
    /// Drops the lease under `key`, which a store other servers write no longer holds,
    /// unless this server has a change to it in flight.
    fn forget(&mut self, key: <Self::Lease as LeaseRecord>::Key);
    /// Removes the lease with this key.
    fn remove_key(&mut self, key: <Self::Lease as LeaseRecord>::Key) -> Option<Self::Lease>;
    /// Whether the map holds `value` under `key` (None: no lease).
    fn holds_key(&self, key: <Self::Lease as LeaseRecord>::Key, value: Option<&Self::Lease>) -> bool;
    /// A change to `key` with this value is durable.
    fn settle_key(&mut self, key: <Self::Lease as LeaseRecord>::Key, value: Option<&Self::Lease>);
    /// A change to `key` with this value failed; returns the lease replaced and the one
    /// restored when it was the latest change.
    fn roll_back_key(
        &mut self,
        key: <Self::Lease as LeaseRecord>::Key,
        value: Option<&Self::Lease>,
    ) -> Option<Undone<Self::Lease>>;
    /// The durable lease under `key` (what reads see).
    fn durable_key(&self, key: <Self::Lease as LeaseRecord>::Key) -> Option<Self::Lease>;
    /// Every durable lease.
    fn durable_all(&self) -> Vec<Self::Lease>;
    /// The expired-reclaimed leases whose expiry is at or before `before`.
    fn reclaimed_before(&self, before: u64) -> Vec<Self::Lease>;
    /// Every lease as decided (changes not yet durable included).
    fn all(&self) -> Vec<Self::Lease>;
    /// Starts tracking changes until they are durable.
    fn track_pending(&mut self);
    /// Takes over the offer holds and not-yet-durable markers of the same subnet's `old`
    /// state, so a configuration swap neither re-offers a held address nor serves an unsynced
    /// lease from cache.
    fn carry_from(&mut self, old: &Self);
}

/// Lease state for every subnet, one lock per subnet, and the leases of subnets the
/// configuration does not have (any more): kept, as Kea keeps them in its lease database, so
/// a later configuration with the subnet finds them.
#[derive(Debug)]
pub struct LeaseMap<S: SubnetState> {
    subnets: HashMap<u32, Mutex<S>>,
    orphans: Mutex<HashMap<<S::Lease as LeaseRecord>::Key, S::Lease>>,
    /// Changes stay pending until reported durable (a store is attached).
    tracking: AtomicBool,
}

impl<S: SubnetState> Default for LeaseMap<S> {
    fn default() -> Self {
        LeaseMap { subnets: HashMap::new(), orphans: Mutex::default(), tracking: AtomicBool::new(false) }
    }
}

impl<S: SubnetState> LeaseMap<S> {
    /// A map of these subnets' states.
    pub fn from_subnets(subnets: impl IntoIterator<Item = (u32, S)>) -> Self {
        LeaseMap {
            subnets: subnets.into_iter().map(|(id, s)| (id, Mutex::new(s))).collect(),
            orphans: Mutex::default(),
            tracking: AtomicBool::new(false),
        }
    }

    /// Locks one subnet's state; `None` for an unknown subnet id.
    pub fn subnet(&self, id: u32) -> Option<MutexGuard<'_, S>> {
        // A poisoned lock means a panic mid-update elsewhere; the data is still a valid map.
        self.subnets.get(&id).map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The subnet ids known, ascending.
    pub fn subnet_ids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.subnets.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Leases whose subnet is not configured.
    pub fn orphans(&self) -> MutexGuard<'_, HashMap<<S::Lease as LeaseRecord>::Key, S::Lease>> {
        self.orphans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads leases read from the store at start-up; leases of unknown subnets are kept aside
    /// (see [`Self::orphans`]) and also returned.
    pub fn load(&self, leases: Vec<S::Lease>) -> Vec<S::Lease> {
        // Sized once: growing a million-entry table step by step copies it over and over.
        let mut per_subnet: HashMap<u32, usize> = HashMap::new();
        for l in &leases {
            *per_subnet.entry(l.subnet_id()).or_default() += 1;
        }
        for (id, n) in per_subnet {
            if let Some(mut s) = self.subnet(id) {
                s.reserve(n);
            }
        }
        let mut orphans = Vec::new();
        for l in leases {
            match self.subnet(l.subnet_id()) {
                Some(mut s) => s.upsert(l),
                None => orphans.push(l),
            }
        }
        let mut o = self.orphans();
        for l in &orphans {
            o.insert(l.key(), l.clone());
        }
        orphans
    }

    /// Removes the expired-reclaimed leases whose expiry plus `hold` seconds is at or before
    /// `now` (Kea's flush of reclaimed leases) from every subnet, and returns them.
    pub fn flush_reclaimed(&self, hold: u64, now: u64) -> Vec<S::Lease> {
        let mut out = Vec::new();
        for id in self.subnet_ids() {
            let Some(mut s) = self.subnet(id) else { continue };
            for l in s.reclaimed_before(now.saturating_sub(hold)) {
                s.remove_key(l.key());
                out.push(l);
            }
        }
        out
    }

    /// Takes over the offer holds and not-yet-durable markers of `old` for the subnets both
    /// maps have ([`SubnetState::carry_from`]).
    pub fn carry_from(&self, old: &LeaseMap<S>) {
        for id in self.subnet_ids() {
            if let (Some(mut new), Some(old)) = (self.subnet(id), old.subnet(id)) {
                new.carry_from(&old);
            }
        }
    }

    /// Starts tracking changes until they are durable (a store is attached).
    pub fn track_pending(&self) {
        self.tracking.store(true, Ordering::Relaxed);
        for id in self.subnet_ids() {
            if let Some(mut s) = self.subnet(id) {
                s.track_pending();
            }
        }
    }

    /// Whether changes stay pending until reported durable ([`Self::track_pending`]).
    pub fn tracking(&self) -> bool {
        self.tracking.load(Ordering::Relaxed)
    }

    /// Every durable lease, configured subnets first (by id), then orphans: what a rewritten
    /// lease file must hold.
    pub fn all_durable(&self) -> Vec<S::Lease> {
        self.collect(None, S::durable_all)
    }

    /// Every lease held, configured subnets first (by id), then orphans; for a configuration
    /// change.
    pub fn all(&self) -> Vec<S::Lease> {
        self.collect(None, S::all)
    }

    /// The leases `each` gives of one subnet or all, then the matching orphans.
    pub fn collect(&self, subnet: Option<u32>, each: impl Fn(&S) -> Vec<S::Lease>) -> Vec<S::Lease> {
        let mut out = Vec::new();
        for id in self.subnet_ids().into_iter().filter(|id| subnet.is_none_or(|s| s == *id)) {
            if let Some(s) = self.subnet(id) {
                out.extend(each(&s));
            }
        }
        out.extend(self.orphans().values().filter(|l| subnet.is_none_or(|s| s == l.subnet_id())).cloned());
        out
    }
}
