//! In-memory DHCPv6 lease state and allocation of addresses (IA_NA) and delegated prefixes
//! (IA_PD) (Kea ARM 9.2.6 "Address Pools", 9.2.9 "Subnet and Prefix Delegation").
//!
//! Sharded by subnet like [`super::alloc::LeaseMap4`]: one lock per subnet, held only for the
//! map operations of one decision. Pools are walked with u128 arithmetic; a scan is bounded so
//! that a huge, nearly full pool costs at most [`MAX_SCAN`] probes per request.

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::sync::{Mutex, MutexGuard};

use ipnet::Ipv6Net;

use super::{Lease6, LeaseState, LeaseType6};
use crate::config::model::Dhcp6;

/// How long an advertised address or prefix is held for its client (as the v4 offer hold).
pub const OFFER_HOLD_SECS: u64 = 10;

/// Most candidates one allocation looks at in one pool: a /64 pool cannot be scanned whole.
pub const MAX_SCAN: u128 = 65_536;

/// An identity association of a client: DUID, IAID and type (RFC 8415 section 12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IaKey {
    /// The client DUID (option 1 payload).
    pub duid: Vec<u8>,
    /// The IAID the client chose.
    pub iaid: u32,
    /// IA_NA or IA_PD.
    pub ty: LeaseType6,
}

impl IaKey {
    /// The key of a lease's owner.
    pub fn of(l: &Lease6) -> IaKey {
        IaKey { duid: l.duid.clone(), iaid: l.iaid, ty: l.lease_type }
    }
}

/// One address pool's range and its iterative cursor.
#[derive(Debug)]
struct NaPool {
    first: u128,
    last: u128,
    cursor: u128,
}

/// One prefix delegation pool: the first and last delegated prefix start, the step between
/// them (2^(128 - delegated length)) and the cursor.
#[derive(Debug)]
struct PdPoolState {
    first: u128,
    last: u128,
    step: u128,
    len: u8,
    cursor: u128,
}

/// An unpersisted hold on an advertised address or prefix.
#[derive(Debug, Clone)]
struct Offer {
    client: IaKey,
    until: u64,
}

/// The leases and offers of one subnet.
#[derive(Debug, Default)]
pub struct SubnetLeases6 {
    by_addr: HashMap<(LeaseType6, Ipv6Addr), Lease6>,
    by_client: HashMap<IaKey, Vec<Ipv6Addr>>,
    offers: HashMap<(LeaseType6, Ipv6Addr), Offer>,
    offer_by_client: HashMap<IaKey, Ipv6Addr>,
    next_offer_purge: u64,
    na_pools: Vec<NaPool>,
    pd_pools: Vec<PdPoolState>,
}

impl SubnetLeases6 {
    /// The lease of this type at `addr` (expired ones included).
    pub fn get(&self, ty: LeaseType6, addr: Ipv6Addr) -> Option<&Lease6> {
        self.by_addr.get(&(ty, addr))
    }

    /// The leases of one IA in this subnet.
    pub fn by_client(&self, key: &IaKey) -> Vec<&Lease6> {
        self.by_client
            .get(key)
            .map(|v| v.iter().filter_map(|a| self.by_addr.get(&(key.ty, *a))).collect())
            .unwrap_or_default()
    }

    /// Inserts or replaces a lease and its client index entry.
    pub fn upsert(&mut self, lease: Lease6) {
        let k = (lease.lease_type, lease.address);
        if let Some(old) = self.by_addr.get(&k) {
            let ok = IaKey::of(old);
            self.unindex(&ok, lease.address);
        }
        let key = IaKey::of(&lease);
        let v = self.by_client.entry(key).or_default();
        if !v.contains(&lease.address) {
            v.push(lease.address);
        }
        if let Some(o) = self.offers.remove(&k) {
            self.offer_by_client.remove(&o.client);
        }
        self.by_addr.insert(k, lease);
    }

    fn unindex(&mut self, key: &IaKey, addr: Ipv6Addr) {
        if let Some(v) = self.by_client.get_mut(key) {
            v.retain(|a| *a != addr);
            if v.is_empty() {
                self.by_client.remove(key);
            }
        }
    }

    /// Removes a lease (release, reclamation).
    pub fn remove(&mut self, ty: LeaseType6, addr: Ipv6Addr) -> Option<Lease6> {
        let old = self.by_addr.remove(&(ty, addr))?;
        self.unindex(&IaKey::of(&old), addr);
        Some(old)
    }

    /// Holds `addr` for the IA until `now + OFFER_HOLD_SECS`.
    pub fn hold_offer(&mut self, addr: Ipv6Addr, client: &IaKey, now: u64) {
        // Lapsed offers are dropped at most once per hold period, so a SOLICIT flood from
        // ever-new clients cannot grow the table without bound.
        if now >= self.next_offer_purge {
            self.offers.retain(|_, o| o.until > now);
            let offers = &self.offers;
            self.offer_by_client.retain(|k, a| offers.get(&(k.ty, *a)).is_some_and(|o| &o.client == k));
            self.next_offer_purge = now + OFFER_HOLD_SECS;
        }
        if let Some(prev) = self.offer_by_client.insert(client.clone(), addr) {
            if prev != addr {
                self.offers.remove(&(client.ty, prev));
            }
        }
        let offer = Offer { client: client.clone(), until: now + OFFER_HOLD_SECS };
        if let Some(old) = self.offers.insert((client.ty, addr), offer) {
            if old.client != *client {
                self.offer_by_client.remove(&old.client);
            }
        }
    }

    /// The address or prefix still held for this IA by an earlier advertise.
    pub fn offered_to(&self, client: &IaKey, now: u64) -> Option<Ipv6Addr> {
        let a = self.offer_by_client.get(client)?;
        self.offers.get(&(client.ty, *a)).filter(|o| o.until > now && &o.client == client).map(|_| *a)
    }

    /// True when `addr` may be given to the IA at `now`: no live lease of another IA, no
    /// declined lease in probation, no fresh offer to another IA.
    pub fn is_free_for(&self, ty: LeaseType6, addr: Ipv6Addr, client: &IaKey, now: u64) -> bool {
        if let Some(l) = self.by_addr.get(&(ty, addr)) {
            let own_live = IaKey::of(l) == *client && l.state == LeaseState::Default;
            if !l.is_expired(now) && !own_live {
                return false;
            }
        }
        match self.offers.get(&(ty, addr)) {
            Some(o) => o.until <= now || &o.client == client,
            None => true,
        }
    }

    /// Picks a free address from address pool `pool`, skipping what `excluded` names
    /// (addresses reserved for other hosts); iterative from the pool's cursor.
    pub fn allocate_na(
        &mut self,
        pool: usize,
        client: &IaKey,
        now: u64,
        excluded: &dyn Fn(Ipv6Addr) -> bool,
    ) -> Option<Ipv6Addr> {
        let (first, last, cursor) = {
            let p = self.na_pools.get(pool)?;
            (p.first, p.last, p.cursor)
        };
        let size = (last - first).saturating_add(1);
        let mut a = cursor;
        for _ in 0..size.min(MAX_SCAN) {
            let addr = Ipv6Addr::from(a);
            let next = if a >= last { first } else { a + 1 };
            if self.is_free_for(LeaseType6::Na, addr, client, now) && !excluded(addr) {
                if let Some(p) = self.na_pools.get_mut(pool) {
                    p.cursor = next;
                }
                return Some(addr);
            }
            a = next;
        }
        // The next request continues where this bounded scan stopped.
        if let Some(p) = self.na_pools.get_mut(pool) {
            p.cursor = a;
        }
        None
    }

    /// Picks a free delegated prefix from pd-pool `pool`: the pool prefix is walked in steps
    /// of 2^(128 - delegated length); returns the prefix start and its length.
    pub fn allocate_pd(
        &mut self,
        pool: usize,
        client: &IaKey,
        now: u64,
        excluded: &dyn Fn(Ipv6Addr) -> bool,
    ) -> Option<(Ipv6Addr, u8)> {
        let (first, last, step, len, cursor) = {
            let p = self.pd_pools.get(pool)?;
            (p.first, p.last, p.step, p.len, p.cursor)
        };
        let count = ((last - first) / step).saturating_add(1);
        let mut a = cursor;
        for _ in 0..count.min(MAX_SCAN) {
            let addr = Ipv6Addr::from(a);
            let next = if a >= last { first } else { a + step };
            if self.is_free_for(LeaseType6::Pd, addr, client, now) && !excluded(addr) {
                if let Some(p) = self.pd_pools.get_mut(pool) {
                    p.cursor = next;
                }
                return Some((addr, len));
            }
            a = next;
        }
        if let Some(p) = self.pd_pools.get_mut(pool) {
            p.cursor = a;
        }
        None
    }

    /// Every lease of the subnet.
    pub fn leases(&self) -> impl Iterator<Item = &Lease6> {
        self.by_addr.values()
    }

    /// Leases of a type counted as assigned: default or declined until reclaimed (as v4).
    pub fn assigned(&self, ty: LeaseType6, _now: u64) -> usize {
        self.by_addr
            .values()
            .filter(|l| l.lease_type == ty)
            .filter(|l| matches!(l.state, LeaseState::Default | LeaseState::Declined))
            .count()
    }
}

/// A pd-pool as the allocator sees it: pool prefix and delegated length.
pub type PdRange = (Ipv6Net, u8);

/// One subnet's pools as [`LeaseMap6::for_config`] collects them: id, address ranges, pd-pools.
type SubnetRanges = (u32, Vec<(Ipv6Addr, Ipv6Addr)>, Vec<PdRange>);

/// Lease state for every DHCPv6 subnet, one lock per subnet.
#[derive(Debug, Default)]
pub struct LeaseMap6 {
    subnets: HashMap<u32, Mutex<SubnetLeases6>>,
    /// Leases of subnets the configuration does not have (any more), as in LeaseMap4.
    orphans: Mutex<HashMap<(LeaseType6, Ipv6Addr), Lease6>>,
}

impl LeaseMap6 {
    /// Creates empty state for the given subnets: id, address pools (first, last) and
    /// pd-pools (prefix, delegated length).
    pub fn new<'a>(subnets: impl IntoIterator<Item = (u32, &'a [(Ipv6Addr, Ipv6Addr)], &'a [PdRange])>) -> LeaseMap6 {
        let mut map = HashMap::new();
        for (id, pools, pd) in subnets {
            let na_pools = pools
                .iter()
                .filter(|(f, l)| f <= l)
                .map(|(f, l)| NaPool { first: u128::from(*f), last: u128::from(*l), cursor: u128::from(*f) })
                .collect();
            let pd_pools = pd
                .iter()
                .filter(|(net, dlen)| *dlen >= net.prefix_len() && *dlen <= 128)
                .map(|(net, dlen)| {
                    let step = 1u128.checked_shl(128 - u32::from(*dlen)).unwrap_or(0).max(1);
                    let first = u128::from(net.network());
                    // 2^(delegated - pool length) prefixes; the last starts that many steps in.
                    let bits = u32::from(*dlen - net.prefix_len());
                    let steps = 1u128.checked_shl(bits).map_or(u128::MAX, |c| c - 1);
                    let last = first.saturating_add(steps.saturating_mul(step));
                    PdPoolState { first, last, step, len: *dlen, cursor: first }
                })
                .collect();
            map.insert(id, Mutex::new(SubnetLeases6 { na_pools, pd_pools, ..SubnetLeases6::default() }));
        }
        LeaseMap6 { subnets: map, orphans: Mutex::default() }
    }

    /// State for every subnet of a configuration, pools in configuration order.
    pub fn for_config(cfg: &Dhcp6) -> LeaseMap6 {
        let ranges: Vec<SubnetRanges> = cfg
            .subnets
            .iter()
            .map(|s| {
                (
                    s.id,
                    s.pools.iter().map(|p| (p.first, p.last)).collect(),
                    s.pd_pools.iter().map(|p| (p.prefix.trunc(), p.delegated_len)).collect(),
                )
            })
            .collect();
        LeaseMap6::new(ranges.iter().map(|(id, na, pd)| (*id, na.as_slice(), pd.as_slice())))
    }

    /// Locks one subnet's state; `None` for an unknown subnet id.
    pub fn subnet(&self, id: u32) -> Option<MutexGuard<'_, SubnetLeases6>> {
        // A poisoned lock means a panic mid-update elsewhere; the data is still a valid map.
        self.subnets.get(&id).map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Loads leases read from the store at start-up; leases of unknown subnets are returned.
    pub fn load(&self, leases: Vec<Lease6>) -> Vec<Lease6> {
        let mut orphans = Vec::new();
        for l in leases {
            match self.subnet(l.subnet_id) {
                Some(mut s) => s.upsert(l),
                None => orphans.push(l),
            }
        }
        let mut o = self.orphans();
        for l in &orphans {
            o.insert((l.lease_type, l.address), l.clone());
        }
        orphans
    }

    /// Takes over the offer holds of `old` for the subnets both maps have (see LeaseMap4).
    pub fn carry_from(&self, old: &LeaseMap6) {
        for id in self.subnet_ids() {
            let (Some(mut new), Some(old)) = (self.subnet(id), old.subnet(id)) else { continue };
            new.offers.clone_from(&old.offers);
            new.offer_by_client.clone_from(&old.offer_by_client);
        }
    }

    /// Leases whose subnet is not configured.
    pub fn orphans(&self) -> MutexGuard<'_, HashMap<(LeaseType6, Ipv6Addr), Lease6>> {
        self.orphans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every lease held, configured subnets first (by id), then orphans.
    pub fn all(&self) -> Vec<Lease6> {
        let mut out = Vec::new();
        for id in self.subnet_ids() {
            if let Some(s) = self.subnet(id) {
                out.extend(s.leases().cloned());
            }
        }
        out.extend(self.orphans().values().cloned());
        out
    }

    /// The subnet ids known.
    pub fn subnet_ids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.subnets.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(d: u8, ty: LeaseType6) -> IaKey {
        IaKey { duid: vec![0, 3, 0, 1, d], iaid: 1, ty }
    }

    fn map() -> LeaseMap6 {
        let na = [("2001:db8::10".parse().unwrap(), "2001:db8::11".parse().unwrap())];
        let pd = [("2001:db8:1::/62".parse().unwrap(), 64u8)];
        LeaseMap6::new([(1, &na[..], &pd[..])])
    }

    #[test]
    fn na_pool_is_walked_and_exhausted() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let a = s.allocate_na(0, &key(1, LeaseType6::Na), 100, &|_| false).unwrap();
        s.hold_offer(a, &key(1, LeaseType6::Na), 100);
        let b = s.allocate_na(0, &key(2, LeaseType6::Na), 100, &|_| false).unwrap();
        assert_ne!(a, b);
        s.hold_offer(b, &key(2, LeaseType6::Na), 100);
        assert_eq!(s.allocate_na(0, &key(3, LeaseType6::Na), 100, &|_| false), None);
        assert!(s.allocate_na(0, &key(3, LeaseType6::Na), 100 + OFFER_HOLD_SECS, &|_| false).is_some());
    }

    #[test]
    fn pd_pool_steps_by_delegated_length() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let mut got = Vec::new();
        for d in 1..=5u8 {
            if let Some((p, len)) = s.allocate_pd(0, &key(d, LeaseType6::Pd), 100, &|_| false) {
                assert_eq!(len, 64);
                s.hold_offer(p, &key(d, LeaseType6::Pd), 100);
                got.push(p);
            }
        }
        let want: Vec<Ipv6Addr> = ["2001:db8:1::", "2001:db8:1:1::", "2001:db8:1:2::", "2001:db8:1:3::"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want, "a /62 holds four /64s");
    }
}
