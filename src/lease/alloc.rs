//! In-memory DHCPv4 lease state and address allocation (Kea ARM 8.2.6 "Address Pools",
//! 8.2.7 "Allocators").
//!
//! State is sharded by subnet: each subnet has its own lock, so packets for different subnets
//! never contend, and a subnet's lock is held only for the few map operations of one decision.
//! The store (memfile, PostgreSQL) is the durable copy; this map is what decisions read.

use std::net::Ipv4Addr;

use super::pending::PendingChanges;
use super::pool::{PoolSpace, Strategy};
use super::subnets::{LeaseMap, SubnetState};
use super::table::{ClientKeyRef, LeaseTable, Packed, Packed4};
use super::FastMap;
use super::{Lease4, LeaseState};

/// How a client is recognised: by client identifier when it sent one (and `match-client-id`
/// is on), else by hardware address (RFC 2131 section 4.2; Kea ARM 8.2.19).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// Option 61 payload.
    ClientId(Vec<u8>),
    /// chaddr (htype is not part of the key, as in Kea's memfile).
    HwAddr(Vec<u8>),
}

impl ClientKey {
    fn as_ref(&self) -> ClientKeyRef<'_> {
        match self {
            ClientKey::ClientId(c) => ClientKeyRef::ClientId(c),
            ClientKey::HwAddr(h) => ClientKeyRef::HwAddr(h),
        }
    }
}

pub use crate::config::model::AllocatorKind;

/// One pool's range, its free structure and its free lease queue.
#[derive(Debug)]
struct PoolState {
    first: u32,
    last: u32,
    /// Occupancy bitmap, cursors and offer holds (see [`super::pool`]).
    space: PoolSpace,
    /// The free lease queue, built on first use by the `flq` allocator. Addresses that turn
    /// out to be taken when popped are dropped; freed addresses are pushed back.
    free: Option<std::collections::VecDeque<u32>>,
    /// Addresses currently in `free`, so that each is queued at most once.
    queued: std::collections::HashSet<u32>,
}

/// Queue entries the `flq` allocator pops per allocation before it falls back to the bitmap,
/// so a queue full of held addresses costs a bounded amount.
const FLQ_POPS: usize = 64;

/// A short, unpersisted hold on an offered address so that two clients are not offered the
/// same one between DISCOVER and REQUEST.
#[derive(Debug, Clone)]
struct Offer {
    client: ClientKey,
    until: u64,
}

/// The leases and offers of one subnet.
#[derive(Debug, Default)]
pub struct SubnetLeases {
    /// The leases, packed, by address and by client identifier (the newest lease of each).
    table: LeaseTable<Packed4>,
    offers: FastMap<Ipv4Addr, Offer>,
    offer_by_client: FastMap<ClientKey, Ipv4Addr>,
    next_offer_purge: u64,
    pools: Vec<PoolState>,
    /// Addresses whose latest change is not yet known to be durable, with the durable state:
    /// such a lease is not handed out from cache, not shown to reads, and undone if its
    /// commit fails.
    pending: PendingChanges<Ipv4Addr, Lease4>,
}

/// How long an offer holds its address (Kea 2.2 holds none; 10 s covers a DORA round trip).
/// A hold never refuses a client: when only held addresses remain, the oldest hold goes.
pub const OFFER_HOLD_SECS: u64 = 10;

/// The addresses an allocation must skip because they are reserved for other hosts, and
/// whether that check precedes the lease check (Kea's `reservations-lookup-first`, ARM 8.3.6:
/// the host lookup then comes before the lease lookup).
#[derive(Clone, Copy)]
pub struct Exclusion<'a, A> {
    /// True for an address reserved for another host.
    pub reserved: &'a dyn Fn(A) -> bool,
    /// Check reservations first.
    pub first: bool,
}

impl<A: Copy> Exclusion<'_, A> {
    /// True when `addr` may be handed out: not reserved for another host and `lease_free`.
    pub fn admits(&self, addr: A, lease_free: impl FnOnce() -> bool) -> bool {
        if self.first {
            if (self.reserved)(addr) {
                return false;
            }
            return lease_free();
        }
        lease_free() && !(self.reserved)(addr)
    }
}

/// True when `addr` may be given to `client` at `now` (see [`SubnetLeases::is_free_for`]).
fn free_for(
    table: &LeaseTable<Packed4>,
    offers: &FastMap<Ipv4Addr, Offer>,
    addr: Ipv4Addr,
    client: &ClientKey,
    now: u64,
) -> bool {
    if let Some(l) = table.get(&addr) {
        let mine = (0..Packed4::CLIENT_KEYS).any(|i| l.client_key(i) == Some(client.as_ref()));
        let own_live_lease = mine && l.state() == LeaseState::Default;
        if l.expire() > now && !own_live_lease {
            return false;
        }
    }
    match offers.get(&addr) {
        Some(o) => o.until <= now || &o.client == client,
        None => true,
    }
}

impl SubnetLeases {
    /// The lease for `addr`, if any (expired ones included).
    pub fn get(&self, addr: Ipv4Addr) -> Option<Lease4> {
        self.table.get(&addr).map(Packed::unpack)
    }

    /// The client's current lease in this subnet, if any.
    pub fn by_client(&self, key: &ClientKey) -> Option<Lease4> {
        self.table.by_client(key.as_ref()).next().map(Packed::unpack)
    }

    /// The pool holding `addr` and its offset there.
    fn pool_of(&self, addr: Ipv4Addr) -> Option<(usize, u128)> {
        let a = u32::from(addr);
        self.pools.iter().position(|p| p.first <= a && a <= p.last).map(|i| (i, u128::from(a - self.pools[i].first)))
    }

    /// Brings the pool bitmap bit of `addr` in step with the maps: occupied while a lease in
    /// state default or declined, or an offer hold, exists.
    fn refresh(&mut self, addr: Ipv4Addr) {
        let occupied =
            self.table.get(&addr).is_some_and(|l| matches!(l.state(), LeaseState::Default | LeaseState::Declined))
                || self.offers.contains_key(&addr);
        if let Some((i, off)) = self.pool_of(addr) {
            self.pools[i].space.mark(off, occupied);
        }
    }

    /// Drops the offer on `addr`, if any, with its client index entry and pool hold.
    fn drop_offer(&mut self, addr: Ipv4Addr) -> Option<Offer> {
        let o = self.offers.remove(&addr)?;
        if self.offer_by_client.get(&o.client) == Some(&addr) {
            self.offer_by_client.remove(&o.client);
        }
        if let Some((i, off)) = self.pool_of(addr) {
            self.pools[i].space.remove_hold(off, o.until);
        }
        Some(o)
    }

    /// Makes room for `n` more leases.
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
    }

    /// Inserts or replaces a lease and its client index entries.
    pub fn upsert(&mut self, lease: Lease4) {
        self.put(lease, true);
    }

    fn put(&mut self, lease: Lease4, track: bool) {
        self.drop_offer(lease.address);
        if lease.state == LeaseState::ExpiredReclaimed {
            self.requeue(lease.address);
        }
        let addr = lease.address;
        let old = self.table.insert(&lease);
        if track {
            self.pending.before_change(addr, || old.map(|p| p.unpack()));
        }
        self.refresh(addr);
    }

    /// Removes a lease (release, reclamation without affinity).
    pub fn remove(&mut self, addr: Ipv4Addr) -> Option<Lease4> {
        self.take(addr, true)
    }

    fn take(&mut self, addr: Ipv4Addr, track: bool) -> Option<Lease4> {
        let old = self.table.remove(&addr)?.unpack();
        if track {
            self.pending.before_change(addr, || Some(old.clone()));
        }
        self.requeue(addr);
        self.refresh(addr);
        Some(old)
    }

    /// Drops the offers that lapsed by `now`, at most once per hold period, so a DISCOVER
    /// flood from ever-new clients cannot grow the table without bound.
    fn purge_offers(&mut self, now: u64) {
        if now < self.next_offer_purge {
            return;
        }
        self.next_offer_purge = now + OFFER_HOLD_SECS;
        let lapsed: Vec<Ipv4Addr> = self.offers.iter().filter(|(_, o)| o.until <= now).map(|(a, _)| *a).collect();
        for a in lapsed {
            self.drop_offer(a);
            self.refresh(a);
        }
    }

    /// Holds `addr` for `client` until `now + OFFER_HOLD_SECS`.
    pub fn hold_offer(&mut self, addr: Ipv4Addr, client: &ClientKey, now: u64) {
        self.purge_offers(now);
        if let Some(prev) = self.offer_by_client.get(client).copied() {
            if prev != addr {
                self.drop_offer(prev);
                self.refresh(prev);
            }
        }
        self.drop_offer(addr);
        let until = now + OFFER_HOLD_SECS;
        self.offers.insert(addr, Offer { client: client.clone(), until });
        self.offer_by_client.insert(client.clone(), addr);
        if let Some((i, off)) = self.pool_of(addr) {
            self.pools[i].space.add_hold(off, until);
        }
        self.refresh(addr);
    }

    /// The address still held for this client by an earlier offer, so that a repeated
    /// DISCOVER gets the same answer.
    pub fn offered_to(&self, client: &ClientKey, now: u64) -> Option<Ipv4Addr> {
        let a = self.offer_by_client.get(client)?;
        self.offers.get(a).filter(|o| o.until > now && &o.client == client).map(|_| *a)
    }

    /// True when `addr` may be given to `client` at `now`: no live lease of another client, no
    /// declined lease in probation, no fresh offer to someone else.
    pub fn is_free_for(&self, addr: Ipv4Addr, client: &ClientKey, now: u64) -> bool {
        free_for(&self.table, &self.offers, addr, client, now)
    }

    /// Picks a free address from pool `pool` (index into the subnet's pools), skipping the
    /// addresses `excluded` says are reserved for other hosts (in its order, see
    /// [`Exclusion`]). `rand` seeds the random
    /// allocator. The cost is bounded (see [`super::pool`]) whatever the pool's utilisation.
    pub fn allocate(
        &mut self,
        pool: usize,
        kind: AllocatorKind,
        client: &ClientKey,
        now: u64,
        rand: u64,
        excluded: Exclusion<'_, Ipv4Addr>,
    ) -> Option<Ipv4Addr> {
        if kind == AllocatorKind::Flq {
            if let Some(a) = self.allocate_flq(pool, client, now, excluded) {
                return Some(a);
            }
        }
        let how = match kind {
            AllocatorKind::Random => Strategy::Random(rand),
            AllocatorKind::Iterative | AllocatorKind::Flq => Strategy::Iterative,
        };
        let SubnetLeases { table, offers, pools, .. } = self;
        let p = pools.get_mut(pool)?;
        let first = p.first;
        let off = p.space.find(how, &mut |off| {
            let addr = Ipv4Addr::from(first + off as u32);
            excluded.admits(addr, || free_for(table, offers, addr, client, now))
        })?;
        Some(Ipv4Addr::from(first + off as u32))
    }

    /// Words of the pool bitmap the last allocation in `pool` read (tests bound this).
    pub fn last_alloc_cost(&self, pool: usize) -> Option<u32> {
        self.pools.get(pool).map(|p| p.space.last_cost())
    }

    /// Gives up the oldest offer hold of pool `pool` that another client has, for `client`
    /// who found nothing else free: a hold never refuses a client (Kea holds nothing). The
    /// address returned is no longer held; the caller holds it for `client`.
    pub fn take_oldest_hold(
        &mut self,
        pool: usize,
        client: &ClientKey,
        now: u64,
        excluded: &dyn Fn(Ipv4Addr) -> bool,
    ) -> Option<Ipv4Addr> {
        let p = self.pools.get(pool)?;
        let first = p.first;
        let taken = p.space.oldest_holds().map(|(_, off)| Ipv4Addr::from(first + off as u32)).find(|a| {
            let held_by_other = self.offers.get(a).is_some_and(|o| &o.client != client);
            // A live lease keeps its address; only the hold is given up.
            let leased = self.table.get(a).is_some_and(|l| l.expire() > now);
            held_by_other && !leased && !excluded(*a)
        })?;
        self.drop_offer(taken);
        self.refresh(taken);
        Some(taken)
    }

    fn allocate_flq(
        &mut self,
        pool: usize,
        client: &ClientKey,
        now: u64,
        excluded: Exclusion<'_, Ipv4Addr>,
    ) -> Option<Ipv4Addr> {
        let (first, last) = {
            let p = self.pools.get(pool)?;
            (p.first, p.last)
        };
        if self.pools.get(pool)?.free.is_none() {
            // Built once per pool; offers are checked when an address is popped, so only live
            // leases keep an address out of the initial queue.
            let table = &self.table;
            let q: std::collections::VecDeque<u32> =
                (first..=last).filter(|a| table.get(&Ipv4Addr::from(*a)).is_none_or(|l| l.expire() <= now)).collect();
            if let Some(p) = self.pools.get_mut(pool) {
                p.queued = q.iter().copied().collect();
                p.free = Some(q);
            }
        }
        let len = self.pools.get(pool)?.free.as_ref().map_or(0, |q| q.len());
        for _ in 0..len.min(FLQ_POPS) {
            let a = self.pools.get_mut(pool)?.free.as_mut()?.pop_front()?;
            let addr = Ipv4Addr::from(a);
            let leased = self.table.get(&addr).is_some_and(|l| l.expire() > now);
            if leased {
                // Taken: out of the queue until it is freed again.
                if let Some(p) = self.pools.get_mut(pool) {
                    p.queued.remove(&a);
                }
                continue;
            }
            // Offered or handed out now, it goes to the back: if the offer lapses the address
            // must still be in the queue.
            if let Some(q) = self.pools.get_mut(pool)?.free.as_mut() {
                q.push_back(a);
            }
            if excluded.admits(addr, || self.is_free_for(addr, client, now)) {
                return Some(addr);
            }
        }
        None
    }

    /// Puts a freed address back in its pool's free lease queue, if that pool uses one.
    fn requeue(&mut self, addr: Ipv4Addr) {
        let a = u32::from(addr);
        if let Some(p) = self.pools.iter_mut().find(|p| p.first <= a && a <= p.last) {
            if let Some(q) = p.free.as_mut() {
                if p.queued.insert(a) {
                    q.push_back(a);
                }
            }
        }
    }

    /// True while the address's latest change is not known to be on disk.
    pub fn is_unsynced(&self, addr: Ipv4Addr) -> bool {
        self.pending.contains(&addr)
    }

    /// A change to `addr` (its new value, None for a deletion) is durable.
    /// Returns the durable lease it replaced (None: untracked, nothing was pending).
    pub fn settle(&mut self, addr: Ipv4Addr, value: Option<&Lease4>) -> Option<Option<Lease4>> {
        let latest = self.holds(addr, value);
        self.pending.settle(addr, latest, value)
    }

    /// A change to `addr` failed: when it is the latest, the durable lease is put back.
    /// Returns the lease it replaced and the one restored, for the statistics.
    pub fn roll_back(&mut self, addr: Ipv4Addr, value: Option<&Lease4>) -> Option<(Option<Lease4>, Option<Lease4>)> {
        let latest = self.holds(addr, value);
        let undo = self.pending.roll_back(addr, latest)?;
        let was = self.take(addr, false);
        if let Some(l) = undo.restore.clone() {
            self.put(l, false);
        }
        Some((was, undo.restore))
    }

    /// Whether the map holds `value` at `addr` (None: no lease).
    pub fn holds(&self, addr: Ipv4Addr, value: Option<&Lease4>) -> bool {
        match (self.table.get(&addr), value) {
            (Some(p), Some(v)) => p.same(v),
            (None, None) => true,
            _ => false,
        }
    }

    /// Every lease of the subnet as decided, changes not yet durable included (what the
    /// allocator and reclamation work on).
    pub fn leases(&self) -> impl Iterator<Item = Lease4> + '_ {
        self.table.iter().map(Packed::unpack)
    }

    /// The leases whose state and expiry time (cltt + valid lifetime) `pred` accepts; only
    /// those are unpacked (reclamation scans the subnet).
    pub fn leases_where<'a>(
        &'a self,
        pred: impl Fn(LeaseState, u64) -> bool + 'a,
    ) -> impl Iterator<Item = Lease4> + 'a {
        self.table.iter().filter(move |p| pred(p.state(), p.expire())).map(Packed::unpack)
    }

    /// The addresses leased in the subnet, changes not yet durable included.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.table.iter().map(Packed::key)
    }

    /// The durable lease of `addr`: what reads such as `lease4-get` see.
    pub fn durable_get(&self, addr: Ipv4Addr) -> Option<Lease4> {
        match self.pending.durable_state(&addr) {
            Some(d) => d.cloned(),
            None => self.get(addr),
        }
    }

    /// Every durable lease of the subnet.
    pub fn durable_leases(&self) -> impl Iterator<Item = Lease4> + '_ {
        let settled = self.table.iter().filter(|p| !self.pending.contains(&p.key())).map(Packed::unpack);
        settled.chain(self.pending.iter().filter_map(|(_, l)| l.cloned()))
    }

    /// Number of leases (changes not yet durable included).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the subnet has no lease.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Leases counted in `assigned-addresses`: default or declined until reclaimed, expired or
    /// not, since Kea takes them off the statistic when it reclaims them.
    pub fn assigned(&self, _now: u64) -> usize {
        self.table.iter().filter(|l| matches!(l.state(), LeaseState::Default | LeaseState::Declined)).count()
    }

    /// Declined leases (in probation or not yet reclaimed), for statistics.
    pub fn declined(&self) -> usize {
        self.table.iter().filter(|l| l.state() == LeaseState::Declined).count()
    }

    /// Durable leases counted as assigned (default or declined) and as declined: what the
    /// statistics count (Kea ARM 8.8 `assigned-addresses`, `declined-addresses`); a pending
    /// change counts when it settles.
    pub fn durable_counts(&self) -> (usize, usize) {
        self.durable_counts_by(1, |_| Some(0))[0]
    }

    /// [`Self::durable_counts`] for `n` groups of addresses (pools, say): `group` says which
    /// group an address is in (None: none).
    pub fn durable_counts_by(&self, n: usize, group: impl Fn(Ipv4Addr) -> Option<usize>) -> Vec<(usize, usize)> {
        let weights = |st: Option<LeaseState>| match st {
            Some(LeaseState::Default) => (1, 0),
            Some(LeaseState::Declined) => (1, 1),
            _ => (0, 0),
        };
        let mut acc = vec![(0i64, 0i64); n];
        let mut add = |addr: Ipv4Addr, st: Option<LeaseState>, sign: i64| {
            if let Some(slot) = group(addr).and_then(|g| acc.get_mut(g)) {
                let (a, d) = weights(st);
                slot.0 += sign * a;
                slot.1 += sign * d;
            }
        };
        for p in self.table.iter() {
            add(p.key(), Some(p.state()), 1);
        }
        for (addr, durable) in self.pending.iter() {
            add(*addr, durable.map(|l| l.state), 1);
            add(*addr, self.table.get(addr).map(|p| p.state()), -1);
        }
        acc.into_iter().map(|(a, d)| (a.max(0) as usize, d.max(0) as usize)).collect()
    }
}

/// Lease state for every DHCPv4 subnet, one lock per subnet.
pub type LeaseMap4 = LeaseMap<SubnetLeases>;

impl LeaseMap<SubnetLeases> {
    /// Creates empty state for the given subnets and their pools (first, last).
    pub fn new<'a>(subnets: impl IntoIterator<Item = (u32, &'a [(Ipv4Addr, Ipv4Addr)])>) -> LeaseMap4 {
        let mut map = Vec::new();
        for (id, pools) in subnets {
            let pools = pools
                .iter()
                .map(|(f, l)| PoolState {
                    first: u32::from(*f),
                    last: u32::from(*l),
                    // An inverted range (refused by the config checker) is an empty pool, so
                    // pool indices stay those of the configuration.
                    space: PoolSpace::new(if f <= l { u128::from(u32::from(*l) - u32::from(*f)) + 1 } else { 0 }),
                    free: None,
                    queued: Default::default(),
                })
                .collect();
            map.push((id, SubnetLeases { pools, ..SubnetLeases::default() }));
        }
        LeaseMap4::from_subnets(map)
    }
}

impl SubnetState for SubnetLeases {
    type Lease = Lease4;

    fn reserve(&mut self, n: usize) {
        SubnetLeases::reserve(self, n)
    }

    fn upsert(&mut self, lease: Lease4) {
        SubnetLeases::upsert(self, lease)
    }

    fn remove_key(&mut self, key: Ipv4Addr) -> Option<Lease4> {
        self.remove(key)
    }

    fn absorb(&mut self, lease: Lease4) {
        // A read that raced this server's own newer write must not undo it.
        let newer = self.get(lease.address).is_some_and(|l| l.cltt > lease.cltt);
        if !newer && !self.pending.contains(&lease.address) {
            self.put(lease, false);
        }
    }

    fn forget(&mut self, key: Ipv4Addr) {
        if !self.pending.contains(&key) {
            self.take(key, false);
        }
    }

    fn holds_key(&self, key: Ipv4Addr, value: Option<&Lease4>) -> bool {
        self.holds(key, value)
    }

    fn settle_key(&mut self, key: Ipv4Addr, value: Option<&Lease4>) {
        self.settle(key, value);
    }

    fn roll_back_key(&mut self, key: Ipv4Addr, value: Option<&Lease4>) -> Option<(Option<Lease4>, Option<Lease4>)> {
        self.roll_back(key, value)
    }

    fn durable_key(&self, key: Ipv4Addr) -> Option<Lease4> {
        self.durable_get(key)
    }

    fn reclaimed_before(&self, before: u64) -> Vec<Self::Lease> {
        self.leases_where(move |state, expire| state == LeaseState::ExpiredReclaimed && expire <= before).collect()
    }

    fn durable_all(&self) -> Vec<Lease4> {
        self.durable_leases().collect()
    }

    fn all(&self) -> Vec<Lease4> {
        self.leases().collect()
    }

    fn track_pending(&mut self) {
        self.pending.track(true);
    }

    fn carry_from(&mut self, old: &SubnetLeases) {
        self.pending.clone_from(&old.pending);
        let mut held: Vec<(Ipv4Addr, Offer)> = old.offers.iter().map(|(a, o)| (*a, o.clone())).collect();
        // Oldest first, so each client keeps its latest hold.
        held.sort_by_key(|(a, o)| (o.until, u32::from(*a)));
        for (a, o) in held {
            self.hold_offer(a, &o.client, o.until.saturating_sub(OFFER_HOLD_SECS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE4: Exclusion<'static, Ipv4Addr> = Exclusion { reserved: &|_| false, first: false };

    fn lease(a: [u8; 4], hw: u8, cltt: u64, valid: u32) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::from(a),
            hwaddr: vec![0, 1, 2, 3, 4, hw],
            client_id: None,
            valid_lifetime: valid,
            cltt,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: LeaseState::Default,
            user_context: None,
        }
    }

    fn map() -> LeaseMap4 {
        let pools = [(Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 12))];
        LeaseMap4::new([(1, &pools[..])])
    }

    #[test]
    fn client_ids_and_hardware_addresses_are_separate_keys() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let a = lease([192, 0, 2, 10], 1, 100, 3600);
        let b = lease([192, 0, 2, 11], 2, 100, 3600);
        s.upsert(a.clone());
        s.upsert(b.clone());
        let key_a = ClientKey::HwAddr(a.hwaddr.clone());
        let key_b = ClientKey::HwAddr(b.hwaddr.clone());
        assert_eq!(s.by_client(&key_a).map(|l| l.address), Some(a.address));
        assert_eq!(s.by_client(&key_b).map(|l| l.address), Some(b.address));
        // The same bytes as a client id name no lease.
        let cid = ClientKey::ClientId(b.hwaddr.clone());
        assert!(s.by_client(&cid).is_none());
    }

    #[test]
    fn iterative_skips_leased_and_offered_and_wraps() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let a = ClientKey::HwAddr(vec![0, 1, 2, 3, 4, 1]);
        let b = ClientKey::HwAddr(vec![0, 1, 2, 3, 4, 2]);
        s.upsert(lease([192, 0, 2, 10], 9, 100, 3600));
        let x = s.allocate(0, AllocatorKind::Iterative, &a, 200, 0, NONE4).unwrap();
        assert_eq!(x, Ipv4Addr::new(192, 0, 2, 11));
        s.hold_offer(x, &a, 200);
        let y = s.allocate(0, AllocatorKind::Iterative, &b, 200, 0, NONE4).unwrap();
        assert_eq!(y, Ipv4Addr::new(192, 0, 2, 12));
        s.hold_offer(y, &b, 200);
        let c = ClientKey::HwAddr(vec![9]);
        assert_eq!(s.allocate(0, AllocatorKind::Iterative, &c, 200, 0, NONE4), None, "pool exhausted");
        // Offers lapse; expired leases become free again.
        assert!(s.allocate(0, AllocatorKind::Iterative, &c, 200 + OFFER_HOLD_SECS, 0, NONE4).is_some());
        assert!(s.is_free_for(Ipv4Addr::new(192, 0, 2, 10), &c, 100 + 3600));
    }

    #[test]
    fn client_index_follows_upserts_and_removals() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let l = lease([192, 0, 2, 11], 1, 100, 3600);
        s.upsert(l.clone());
        let key = ClientKey::HwAddr(l.hwaddr.clone());
        assert_eq!(s.by_client(&key).map(|l| l.address), Some(l.address));
        assert!(s.is_free_for(l.address, &key, 200), "a client may renew its own lease");
        assert!(!s.is_free_for(l.address, &ClientKey::HwAddr(vec![7]), 200));
        s.remove(l.address);
        assert!(s.by_client(&key).is_none());
    }

    #[test]
    fn declined_address_is_not_reused_during_probation() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let mut l = lease([192, 0, 2, 10], 1, 100, 86400);
        l.state = LeaseState::Declined;
        l.hwaddr.clear();
        s.upsert(l);
        let k = ClientKey::HwAddr(vec![1]);
        assert!(!s.is_free_for(Ipv4Addr::new(192, 0, 2, 10), &k, 1000));
        assert!(s.is_free_for(Ipv4Addr::new(192, 0, 2, 10), &k, 100 + 86400));
    }

    #[test]
    fn flq_hands_out_free_addresses_and_takes_freed_ones_back() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        s.upsert(lease([192, 0, 2, 11], 9, 100, 3600));
        let mut got = Vec::new();
        for hw in 1..=2u8 {
            let k = ClientKey::HwAddr(vec![hw]);
            let a = s.allocate(0, AllocatorKind::Flq, &k, 200, 0, NONE4).unwrap();
            let mut l = lease(a.octets(), hw, 200, 3600);
            l.hwaddr = vec![hw];
            s.upsert(l);
            got.push(a);
        }
        got.sort();
        assert_eq!(got, vec![Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 12)]);
        let k = ClientKey::HwAddr(vec![7]);
        assert_eq!(s.allocate(0, AllocatorKind::Flq, &k, 200, 0, NONE4), None);
        s.remove(Ipv4Addr::new(192, 0, 2, 12));
        assert_eq!(s.allocate(0, AllocatorKind::Flq, &k, 200, 0, NONE4), Some(Ipv4Addr::new(192, 0, 2, 12)));
    }

    #[test]
    fn random_allocator_stays_in_pool() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let k = ClientKey::HwAddr(vec![1]);
        for r in 0..50u64 {
            let a = s.allocate(0, AllocatorKind::Random, &k, 0, r.wrapping_mul(0x9E37_79B9), NONE4).unwrap();
            assert!((u32::from(Ipv4Addr::new(192, 0, 2, 10))..=u32::from(Ipv4Addr::new(192, 0, 2, 12)))
                .contains(&u32::from(a)));
        }
    }

    /// A /16 pool with `leased(i)` deciding which offsets hold a live lease.
    fn slash16(leased: impl Fn(u32) -> bool) -> LeaseMap4 {
        let pools = [(Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(10, 0, 255, 255))];
        let m = LeaseMap4::new([(1, &pools[..])]);
        {
            let mut s = m.subnet(1).unwrap();
            for i in (0..65536u32).filter(|i| leased(*i)) {
                let mut l = lease(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + i).octets(), 0, 100, 3600);
                l.hwaddr = i.to_be_bytes().to_vec();
                s.upsert(l);
            }
        }
        m
    }

    /// Scattered (every 20th free) and packed (the first 95% taken) layouts at 95%.
    fn layouts() -> [Box<dyn Fn(u32) -> bool>; 2] {
        [Box::new(|i| i % 20 != 7), Box::new(|i| i < 62_259)]
    }

    #[test]
    fn allocation_at_95_percent_of_a_slash16_reads_a_bounded_number_of_words() {
        // Two wrapped searches over 1024 words: 2 x (1 word + 16 summary words + 1 word).
        const BOUND: u32 = 36;
        for layout in layouts() {
            for kind in [AllocatorKind::Iterative, AllocatorKind::Random, AllocatorKind::Flq] {
                let m = slash16(&layout);
                let mut s = m.subnet(1).unwrap();
                for n in 0..500u64 {
                    let k = ClientKey::HwAddr(vec![0xee, (n >> 8) as u8, n as u8]);
                    let a = s.allocate(0, kind, &k, 200, n.wrapping_mul(0x9E37_79B9_7F4A_7C15), NONE4).unwrap();
                    if kind != AllocatorKind::Flq {
                        let cost = s.last_alloc_cost(0).unwrap();
                        assert!(cost <= BOUND, "{kind:?} read {cost} words");
                    }
                    assert!(s.get(a).is_none(), "{a} is leased");
                    s.hold_offer(a, &k, 200);
                }
            }
        }
    }

    #[test]
    fn allocators_never_hand_out_taken_addresses_and_find_every_free_one() {
        // 256 addresses: leased, declined in probation, expired (free), reserved, or free.
        let pools = [(Ipv4Addr::new(192, 0, 2, 0), Ipv4Addr::new(192, 0, 2, 255))];
        for kind in [AllocatorKind::Iterative, AllocatorKind::Random, AllocatorKind::Flq] {
            let m = LeaseMap4::new([(1, &pools[..])]);
            let mut s = m.subnet(1).unwrap();
            let mut free = 0;
            for i in 0..=255u8 {
                let mut l = lease([192, 0, 2, i], i, 100, 3600);
                match i % 5 {
                    0 => s.upsert(l),
                    1 => {
                        l.state = LeaseState::Declined;
                        l.hwaddr.clear();
                        s.upsert(l);
                    }
                    2 => {
                        l.valid_lifetime = 50; // expired at 150, not reclaimed
                        s.upsert(l);
                        free += 1;
                    }
                    3 => {} // reserved for another host
                    _ => free += 1,
                }
            }
            let reserved = |a: Ipv4Addr| a.octets()[3] % 5 == 3;
            let mut got = std::collections::HashSet::new();
            for n in 0..400u64 {
                let k = ClientKey::HwAddr(vec![0xee, n as u8, (n >> 8) as u8]);
                let Some(a) = s.allocate(
                    0,
                    kind,
                    &k,
                    200,
                    n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    Exclusion { reserved: &reserved, first: false },
                ) else {
                    continue;
                };
                let o = a.octets()[3];
                assert!(matches!(o % 5, 2 | 4), "{kind:?} handed out {a}");
                assert!(got.insert(a), "{kind:?} handed out held {a} twice");
                s.hold_offer(a, &k, 200);
            }
            assert_eq!(got.len(), free, "{kind:?} found every free address");
        }
    }

    #[test]
    fn oldest_hold_is_given_up_when_nothing_else_is_free() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let (a, b, c, d) = (vec![1], vec![2], vec![3], vec![4]);
        for (k, t) in [(&a, 100), (&b, 101), (&c, 102)] {
            let k = ClientKey::HwAddr(k.clone());
            let ip = s.allocate(0, AllocatorKind::Iterative, &k, t, 0, NONE4).unwrap();
            s.hold_offer(ip, &k, t);
        }
        let d = ClientKey::HwAddr(d);
        assert_eq!(s.allocate(0, AllocatorKind::Iterative, &d, 103, 0, NONE4), None);
        let first = s.offered_to(&ClientKey::HwAddr(a.clone()), 103).unwrap();
        // A reserved hold is not given up; the next oldest is.
        let second = s.offered_to(&ClientKey::HwAddr(b), 103).unwrap();
        assert_eq!(s.take_oldest_hold(0, &d, 103, &|x| x == first), Some(second));
        assert_eq!(s.take_oldest_hold(0, &d, 103, &|_| false), Some(first));
        assert_eq!(s.offered_to(&ClientKey::HwAddr(a), 103), None, "the hold is gone");
    }

    #[test]
    fn released_and_reclaimed_addresses_become_allocatable_again() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        for hw in [10u8, 11, 12] {
            s.upsert(lease([192, 0, 2, hw], hw, 100, 3600));
        }
        let k = ClientKey::HwAddr(vec![9]);
        assert_eq!(s.allocate(0, AllocatorKind::Iterative, &k, 200, 0, NONE4), None);
        s.remove(Ipv4Addr::new(192, 0, 2, 11));
        assert_eq!(s.allocate(0, AllocatorKind::Iterative, &k, 200, 0, NONE4), Some(Ipv4Addr::new(192, 0, 2, 11)));
        let mut r = lease([192, 0, 2, 12], 12, 100, 50);
        r.state = LeaseState::ExpiredReclaimed;
        s.upsert(r);
        s.hold_offer(Ipv4Addr::new(192, 0, 2, 11), &k, 200);
        let k2 = ClientKey::HwAddr(vec![8]);
        assert_eq!(s.allocate(0, AllocatorKind::Random, &k2, 200, 5, NONE4), Some(Ipv4Addr::new(192, 0, 2, 12)));
    }
}
