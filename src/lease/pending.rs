//! Lease changes waiting for durability (design.md "lease": the store is the truth). The
//! in-memory maps take a change as soon as it is decided, so the address stays reserved for
//! the client while the row is written; this table remembers, per address, the state that is
//! durable, so reads see only durable leases, a lease is never served from cache before it is
//! on disk, and a failed commit is undone without a trace.
//!
//! Which change settles is told by value: a settled change is the address's latest one exactly
//! when the map still holds its value. Two changes to one address that carry the same value
//! leave the same durable state whichever settles, so no per-change token is needed.

use std::collections::HashMap;
use std::hash::Hash;

/// Per-address durable state of changes not yet known durable.
#[derive(Debug, Clone)]
pub struct PendingChanges<K, L> {
    /// Address to the state that is durable (None: no lease).
    durable: HashMap<K, Option<L>>,
    /// Off until a store is attached: without one nothing ever settles.
    tracking: bool,
}

impl<K, L> Default for PendingChanges<K, L> {
    fn default() -> Self {
        PendingChanges { durable: HashMap::new(), tracking: false }
    }
}

/// What a rolled-back change leaves: the value it had and the durable one restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo<L> {
    /// The durable state to put back (None: no lease).
    pub restore: Option<L>,
}

impl<K: Eq + Hash + Copy, L: Clone + PartialEq> PendingChanges<K, L> {
    /// Starts (or stops) remembering durable states; stopping forgets them.
    pub fn track(&mut self, on: bool) {
        self.tracking = on;
        if !on {
            self.durable.clear();
        }
    }

    /// Whether changes are being tracked.
    pub fn tracking(&self) -> bool {
        self.tracking
    }

    /// Called as `key` changes, with the state the change replaces: that state is the durable
    /// one unless an earlier change to `key` is still pending. `old` is only taken when needed.
    pub fn before_change(&mut self, key: K, old: impl FnOnce() -> Option<L>) {
        if self.tracking {
            self.durable.entry(key).or_insert_with(old);
        }
    }

    /// True while `key` has a change that is not yet durable.
    pub fn contains(&self, key: &K) -> bool {
        self.durable.contains_key(key)
    }

    /// The durable state of `key` when a change to it is pending (Some(None): no lease yet).
    pub fn durable_state(&self, key: &K) -> Option<Option<&L>> {
        self.durable.get(key).map(Option::as_ref)
    }

    /// A change to `key` with value `value` became durable; `latest`: the map still holds
    /// that value. Returns the durable state it replaces (None when `key` was not pending).
    pub fn settle(&mut self, key: K, latest: bool, value: Option<&L>) -> Option<Option<L>> {
        let slot = self.durable.get_mut(&key)?;
        if latest {
            // The latest change is durable: nothing pending remains.
            self.durable.remove(&key)
        } else {
            Some(std::mem::replace(slot, value.cloned()))
        }
    }

    /// A change to `key` failed. When it is the latest change (`latest`: the map still holds
    /// its value), the durable state is returned to be put back and `key` stops pending;
    /// otherwise a later change sits on top and settles or rolls back on its own.
    pub fn roll_back(&mut self, key: K, latest: bool) -> Option<Undo<L>> {
        if !latest || !self.durable.contains_key(&key) {
            return None;
        }
        self.durable.remove(&key).map(|restore| Undo { restore })
    }

    /// Pending keys with their durable state.
    pub fn iter(&self) -> impl Iterator<Item = (&K, Option<&L>)> {
        self.durable.iter().map(|(k, v)| (k, v.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untracked_changes_leave_nothing() {
        let mut p: PendingChanges<u8, u32> = PendingChanges::default();
        p.before_change(1, || Some(5));
        assert!(!p.contains(&1));
    }

    #[test]
    fn a_settled_latest_change_stops_pending() {
        let mut p: PendingChanges<u8, u32> = PendingChanges::default();
        p.track(true);
        p.before_change(1, || None);
        assert_eq!(p.durable_state(&1), Some(None));
        p.settle(1, true, Some(&7));
        assert!(!p.contains(&1));
    }

    #[test]
    fn an_earlier_change_settling_moves_the_durable_state() {
        let mut p: PendingChanges<u8, u32> = PendingChanges::default();
        p.track(true);
        p.before_change(1, || Some(1));
        p.before_change(1, || panic!("the first durable state is kept"));
        // Map holds 3 (second change); the first change (2) settles.
        p.settle(1, false, Some(&2));
        assert_eq!(p.durable_state(&1), Some(Some(&2)));
        // The second fails: 2 is restored.
        assert_eq!(p.roll_back(1, true), Some(Undo { restore: Some(2) }));
        assert!(!p.contains(&1));
    }

    #[test]
    fn a_failed_change_under_a_later_one_waits_for_it() {
        let mut p: PendingChanges<u8, u32> = PendingChanges::default();
        p.track(true);
        p.before_change(1, || Some(1));
        p.before_change(1, || None);
        // The first change (2) fails while the map holds the second (3): nothing yet.
        assert_eq!(p.roll_back(1, false), None);
        // The second fails too: the original durable state returns.
        assert_eq!(p.roll_back(1, true), Some(Undo { restore: Some(1) }));
    }

    #[test]
    fn a_failed_delete_restores_the_lease() {
        let mut p: PendingChanges<u8, u32> = PendingChanges::default();
        p.track(true);
        p.before_change(4, || Some(9));
        assert_eq!(p.roll_back(4, true), Some(Undo { restore: Some(9) }));
    }
}
