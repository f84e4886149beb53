//! Reservations read from hosts databases (Kea ARM 8.2.3 "Hosts Storage"): the engine decides
//! without I/O, so the shell reads the rows of the identifiers in a batch of packets before the
//! batch is decided and leaves them here. Bounded: at most `capacity` identifiers are kept, the
//! oldest read leaves first. The addresses reserved in the databases are kept whole (a pair of
//! numbers per reservation), since any candidate address of an allocation may be one of them.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::{Arc, RwLock};

use crate::config::model::HostIdentifier;

/// A reservation the engine found: configured (borrowed from the configuration) or read from a
/// hosts database.
#[derive(Debug)]
pub enum HostRef<'a, R> {
    /// From the configuration.
    Config(&'a R),
    /// From a hosts database.
    Db(Arc<R>),
}

impl<R> Deref for HostRef<'_, R> {
    type Target = R;
    fn deref(&self) -> &R {
        match self {
            HostRef::Config(r) => r,
            HostRef::Db(r) => r,
        }
    }
}

/// The reservations of one identifier, in every subnet (0: global), and when they were read.
struct Fetched<R> {
    read_at: u64,
    hosts: Vec<(u32, Arc<R>)>,
}

/// A reserved address or prefix: subnet id, address (a prefix's first address) and Kea's
/// reservation type (0: an address, 2: a delegated prefix).
pub type ReservedKey = (u32, IpAddr, u8);

/// What was read by identifier, and the identifiers in the order they were first read.
type ById<R> = (HashMap<HostIdentifier, Fetched<R>>, VecDeque<HostIdentifier>);

/// The hosts-database reservations the engine sees (Kea ARM 8.2.3).
pub struct HostCache<R> {
    capacity: usize,
    by_id: RwLock<ById<R>>,
    reserved: RwLock<HashMap<ReservedKey, HostIdentifier>>,
}

impl<R> std::fmt::Debug for HostCache<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCache").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl<R> HostCache<R> {
    /// An empty cache keeping at most `capacity` identifiers.
    pub fn new(capacity: usize) -> HostCache<R> {
        HostCache { capacity: capacity.max(1), by_id: RwLock::default(), reserved: RwLock::default() }
    }

    /// Whether `id` was read at or after `since` (seconds): no need to read it again.
    pub fn fresh(&self, id: &HostIdentifier, since: u64) -> bool {
        let g = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        g.0.get(id).is_some_and(|f| f.read_at >= since)
    }

    /// Stores what was read for `id` at `now` (an empty list: no reservation).
    pub fn put(&self, id: HostIdentifier, hosts: Vec<(u32, Arc<R>)>, now: u64) {
        let mut g = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *g;
        if map.insert(id.clone(), Fetched { read_at: now, hosts }).is_none() {
            order.push_back(id);
        }
        while map.len() > self.capacity {
            let Some(old) = order.pop_front() else { break };
            map.remove(&old);
        }
    }

    /// The reservation of `id` in subnet `subnet` (0: global), if one was read.
    pub fn get(&self, id: &HostIdentifier, subnet: u32) -> Option<Arc<R>> {
        let g = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        g.0.get(id)?.hosts.iter().find(|(s, _)| *s == subnet).map(|(_, r)| r.clone())
    }

    /// Forgets every reservation read (a new configuration may read them differently).
    pub fn clear(&self) {
        let mut g = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        g.0.clear();
        g.1.clear();
    }

    /// Replaces the set of reserved addresses and prefixes with what the databases hold.
    pub fn set_reserved(&self, all: HashMap<ReservedKey, HostIdentifier>) {
        *self.reserved.write().unwrap_or_else(|e| e.into_inner()) = all;
    }

    /// Forgets what was read for `id` (None: for every identifier), so that the next packet
    /// reads it again.
    pub fn forget(&self, id: Option<&HostIdentifier>) {
        match id {
            Some(id) => {
                let mut g = self.by_id.write().unwrap_or_else(|e| e.into_inner());
                g.0.remove(id);
                g.1.retain(|x| x != id);
            }
            None => self.clear(),
        }
    }

    /// True when `key` is reserved in a database for a host other than `mine`.
    pub fn reserved_for_other(&self, key: &ReservedKey, mine: Option<&HostIdentifier>) -> bool {
        let g = self.reserved.read().unwrap_or_else(|e| e.into_inner());
        g.get(key).is_some_and(|holder| Some(holder) != mine)
    }

    /// The number of identifiers held.
    pub fn len(&self) -> usize {
        self.by_id.read().unwrap_or_else(|e| e.into_inner()).0.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_identifier_leaves_when_the_cache_is_full() {
        let c: HostCache<u32> = HostCache::new(2);
        let id = |b: u8| HostIdentifier::HwAddress(vec![b]);
        c.put(id(1), vec![(1, Arc::new(10))], 5);
        c.put(id(2), vec![(0, Arc::new(20))], 5);
        c.put(id(1), vec![(1, Arc::new(11))], 6);
        assert_eq!(c.get(&id(1), 1).as_deref(), Some(&11));
        c.put(id(3), vec![], 7);
        assert_eq!(c.len(), 2);
        assert!(c.get(&id(1), 1).is_none(), "the first identifier read is the first to go");
        assert_eq!(c.get(&id(2), 0).as_deref(), Some(&20));
        assert!(c.fresh(&id(3), 7) && !c.fresh(&id(3), 8) && !c.fresh(&id(1), 0));
        c.forget(Some(&id(3)));
        assert!(!c.fresh(&id(3), 0) && c.len() == 1);
    }

    #[test]
    fn an_address_is_reserved_for_others_only() {
        let c: HostCache<u32> = HostCache::new(4);
        let key = (1, IpAddr::from([192, 0, 2, 9]), 0);
        let me = HostIdentifier::HwAddress(vec![1]);
        c.set_reserved(HashMap::from([(key, me.clone())]));
        assert!(!c.reserved_for_other(&key, Some(&me)));
        assert!(c.reserved_for_other(&key, None));
        assert!(c.reserved_for_other(&key, Some(&HostIdentifier::Duid(vec![1]))));
        assert!(!c.reserved_for_other(&(2, key.1, 0), None), "another subnet");
        c.set_reserved(HashMap::new());
        assert!(!c.reserved_for_other(&key, None));
    }
}
