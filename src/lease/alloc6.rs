//! In-memory DHCPv6 lease state and allocation of addresses (IA_NA) and delegated prefixes
//! (IA_PD) (Kea ARM 9.2.6 "Address Pools", 9.2.9 "Subnet and Prefix Delegation").
//!
//! Sharded by subnet like [`super::alloc::LeaseMap4`]: one lock per subnet, held only for the
//! map operations of one decision. Pools are walked with u128 arithmetic over the per-pool free
//! structures of [`super::pool`], so an allocation costs a bounded amount in any pool.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::alloc::Exclusion;
use super::pending::PendingChanges;
use super::pool::{PoolSpace, Strategy};
use super::subnets::{LeaseMap, SubnetState};
use super::table::{IaKeyRef, LeaseTable, Packed, Packed6};
use super::FastMap;
use super::{Lease6, LeaseState, LeaseType6};
use crate::config::model::Dhcp6;

/// How long an advertised address or prefix is held for its client (as the v4 offer hold).
pub const OFFER_HOLD_SECS: u64 = 10;

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
    /// The key borrowed, as the lease table looks IAs up.
    pub fn as_ref(&self) -> IaKeyRef<'_> {
        IaKeyRef { duid: &self.duid, iaid: self.iaid, ty: self.ty }
    }

    /// The key of a lease's owner.
    pub fn of(l: &Lease6) -> IaKey {
        IaKey { duid: l.duid.clone(), iaid: l.iaid, ty: l.lease_type }
    }

    /// Whether `l` belongs to this IA (without copying its DUID).
    pub fn owns(&self, l: &Lease6) -> bool {
        ia_matches(l, self)
    }
}

/// Whether `l` belongs to the IA `key`.
fn ia_matches(l: &Lease6, key: &IaKey) -> bool {
    l.iaid == key.iaid && l.lease_type == key.ty && l.duid == key.duid
}

/// One pool of either kind as offsets: an address pool (step 1) or a pd-pool, whose offsets
/// are the delegated prefixes, 2^(128 - delegated length) apart.
#[derive(Debug)]
struct Pool6 {
    first: u128,
    last: u128,
    step: u128,
    /// Delegated length (128 for an address pool).
    len: u8,
    /// Occupancy bitmap (for pools small enough), cursors and offer holds.
    space: PoolSpace,
}

impl Pool6 {
    fn offset(&self, a: u128) -> Option<u128> {
        (self.first <= a && a <= self.last && (a - self.first) % self.step == 0).then(|| (a - self.first) / self.step)
    }

    fn addr(&self, off: u128) -> Ipv6Addr {
        Ipv6Addr::from(self.first + off * self.step)
    }
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
    /// The leases, packed, by type and address and by IA.
    table: LeaseTable<Packed6>,
    offers: FastMap<(LeaseType6, Ipv6Addr), Offer>,
    offer_by_client: FastMap<IaKey, Ipv6Addr>,
    next_offer_purge: u64,
    na_pools: Vec<Pool6>,
    pd_pools: Vec<Pool6>,
    /// Changes not yet known durable, with the durable state (as in the v4 map).
    pending: PendingChanges<(LeaseType6, Ipv6Addr), Lease6>,
}

/// True when `addr` may be given to the IA at `now` (see [`SubnetLeases6::is_free_for`]).
fn free_for(
    table: &LeaseTable<Packed6>,
    offers: &FastMap<(LeaseType6, Ipv6Addr), Offer>,
    ty: LeaseType6,
    addr: Ipv6Addr,
    client: &IaKey,
    now: u64,
) -> bool {
    if let Some(l) = table.get(&(ty, addr)) {
        let own_live = l.client_key(0) == Some(client.as_ref()) && l.state() == LeaseState::Default;
        if l.expire() > now && !own_live {
            return false;
        }
    }
    match offers.get(&(ty, addr)) {
        Some(o) => o.until <= now || &o.client == client,
        None => true,
    }
}

impl SubnetLeases6 {
    /// The lease of this type at `addr` (expired ones included).
    pub fn get(&self, ty: LeaseType6, addr: Ipv6Addr) -> Option<Lease6> {
        self.table.get(&(ty, addr)).map(Packed::unpack)
    }

    /// The leases of one IA in this subnet.
    /// The leases of one IA in this subnet, by address.
    pub fn by_client(&self, key: &IaKey) -> Vec<Lease6> {
        let mut v: Vec<Lease6> = self.table.by_client(key.as_ref()).map(Packed::unpack).collect();
        v.sort_by_key(|l| l.address);
        v
    }

    fn pools_mut(&mut self, ty: LeaseType6) -> &mut Vec<Pool6> {
        match ty {
            LeaseType6::Na => &mut self.na_pools,
            LeaseType6::Pd => &mut self.pd_pools,
        }
    }

    /// The pool of this type holding `addr` and its offset there.
    fn pool_of(&mut self, ty: LeaseType6, addr: Ipv6Addr) -> Option<(&mut Pool6, u128)> {
        let a = u128::from(addr);
        self.pools_mut(ty).iter_mut().find_map(|p| p.offset(a).map(|o| (p, o)))
    }

    /// Brings the pool bitmap bit of `addr` in step with the maps (as in the v4 map).
    fn refresh(&mut self, ty: LeaseType6, addr: Ipv6Addr) {
        let k = (ty, addr);
        let occupied =
            self.table.get(&k).is_some_and(|l| matches!(l.state(), LeaseState::Default | LeaseState::Declined))
                || self.offers.contains_key(&k);
        if let Some((p, off)) = self.pool_of(ty, addr) {
            p.space.mark(off, occupied);
        }
    }

    /// Drops the hold on `addr`, if any, with its client index entry and pool hold.
    fn drop_offer(&mut self, ty: LeaseType6, addr: Ipv6Addr) -> Option<Offer> {
        let o = self.offers.remove(&(ty, addr))?;
        if self.offer_by_client.get(&o.client) == Some(&addr) {
            self.offer_by_client.remove(&o.client);
        }
        if let Some((p, off)) = self.pool_of(ty, addr) {
            p.space.remove_hold(off, o.until);
        }
        Some(o)
    }

    /// Makes room for `n` more leases.
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
    }

    /// Inserts or replaces a lease and its client index entry.
    pub fn upsert(&mut self, lease: Lease6) {
        self.put(lease, true);
    }

    fn put(&mut self, lease: Lease6, track: bool) {
        let k = (lease.lease_type, lease.address);
        self.drop_offer(k.0, k.1);
        let old = self.table.insert(&lease);
        if track {
            self.pending.before_change(k, || old.map(|p| p.unpack()));
        }
        self.refresh(k.0, k.1);
    }

    /// Removes a lease (release, reclamation).
    pub fn remove(&mut self, ty: LeaseType6, addr: Ipv6Addr) -> Option<Lease6> {
        self.take(ty, addr, true)
    }

    fn take(&mut self, ty: LeaseType6, addr: Ipv6Addr, track: bool) -> Option<Lease6> {
        let old = self.table.remove(&(ty, addr))?.unpack();
        if track {
            self.pending.before_change((ty, addr), || Some(old.clone()));
        }
        self.refresh(ty, addr);
        Some(old)
    }

    /// Drops lapsed holds at most once per hold period, so a SOLICIT flood from ever-new
    /// clients cannot grow the table without bound.
    fn purge_offers(&mut self, now: u64) {
        if now < self.next_offer_purge {
            return;
        }
        self.next_offer_purge = now + OFFER_HOLD_SECS;
        let lapsed: Vec<(LeaseType6, Ipv6Addr)> =
            self.offers.iter().filter(|(_, o)| o.until <= now).map(|(k, _)| *k).collect();
        for (ty, a) in lapsed {
            self.drop_offer(ty, a);
            self.refresh(ty, a);
        }
    }

    /// Holds `addr` for the IA until `now + OFFER_HOLD_SECS`.
    pub fn hold_offer(&mut self, addr: Ipv6Addr, client: &IaKey, now: u64) {
        self.purge_offers(now);
        let ty = client.ty;
        if let Some(prev) = self.offer_by_client.get(client).copied() {
            if prev != addr {
                self.drop_offer(ty, prev);
                self.refresh(ty, prev);
            }
        }
        self.drop_offer(ty, addr);
        let until = now + OFFER_HOLD_SECS;
        self.offers.insert((ty, addr), Offer { client: client.clone(), until });
        self.offer_by_client.insert(client.clone(), addr);
        if let Some((p, off)) = self.pool_of(ty, addr) {
            p.space.add_hold(off, until);
        }
        self.refresh(ty, addr);
    }

    /// The address or prefix still held for this IA by an earlier advertise.
    pub fn offered_to(&self, client: &IaKey, now: u64) -> Option<Ipv6Addr> {
        let a = self.offer_by_client.get(client)?;
        self.offers.get(&(client.ty, *a)).filter(|o| o.until > now && &o.client == client).map(|_| *a)
    }

    /// True when `addr` may be given to the IA at `now`: no live lease of another IA, no
    /// declined lease in probation, no fresh offer to another IA.
    pub fn is_free_for(&self, ty: LeaseType6, addr: Ipv6Addr, client: &IaKey, now: u64) -> bool {
        free_for(&self.table, &self.offers, ty, addr, client, now)
    }

    /// Picks a free offset of pool `pool` of type `ty` through its free structure.
    fn allocate(
        &mut self,
        ty: LeaseType6,
        pool: usize,
        client: &IaKey,
        now: u64,
        rand: Option<u64>,
        excluded: Exclusion<'_, Ipv6Addr>,
    ) -> Option<(Ipv6Addr, u8)> {
        let SubnetLeases6 { table, offers, na_pools, pd_pools, .. } = self;
        let p = match ty {
            LeaseType6::Na => na_pools.get_mut(pool)?,
            LeaseType6::Pd => pd_pools.get_mut(pool)?,
        };
        let (first, step) = (p.first, p.step);
        let how = rand.map_or(Strategy::Iterative, Strategy::Random);
        let off = p.space.find(how, &mut |off| {
            let addr = Ipv6Addr::from(first + off * step);
            excluded.admits(addr, || free_for(table, offers, ty, addr, client, now))
        })?;
        Some((p.addr(off), p.len))
    }

    /// Picks a free address from address pool `pool`, skipping what `excluded` names
    /// (addresses reserved for other hosts); iterative from the pool's cursor, or from a
    /// random start when `rand` is given. The cost is bounded (see [`super::pool`]).
    pub fn allocate_na(
        &mut self,
        pool: usize,
        client: &IaKey,
        now: u64,
        rand: Option<u64>,
        excluded: Exclusion<'_, Ipv6Addr>,
    ) -> Option<Ipv6Addr> {
        self.allocate(LeaseType6::Na, pool, client, now, rand, excluded).map(|(a, _)| a)
    }

    /// Picks a free delegated prefix from pd-pool `pool`: the pool prefix in steps of
    /// 2^(128 - delegated length); returns the prefix start and its length.
    pub fn allocate_pd(
        &mut self,
        pool: usize,
        client: &IaKey,
        now: u64,
        rand: Option<u64>,
        excluded: Exclusion<'_, Ipv6Addr>,
    ) -> Option<(Ipv6Addr, u8)> {
        self.allocate(LeaseType6::Pd, pool, client, now, rand, excluded)
    }

    /// Words of the pool bitmap (or candidates) the last allocation in a pool read.
    pub fn last_alloc_cost(&self, ty: LeaseType6, pool: usize) -> Option<u32> {
        let pools = if ty == LeaseType6::Na { &self.na_pools } else { &self.pd_pools };
        pools.get(pool).map(|p| p.space.last_cost())
    }

    /// Gives up the oldest hold another client has in pool `pool` of type `ty`, for an IA that
    /// found nothing else free (as the v4 map's `take_oldest_hold`). Returns the address or
    /// prefix start, and the delegated length.
    pub fn take_oldest_hold(
        &mut self,
        ty: LeaseType6,
        pool: usize,
        client: &IaKey,
        now: u64,
        excluded: &dyn Fn(Ipv6Addr) -> bool,
    ) -> Option<(Ipv6Addr, u8)> {
        let pools = if ty == LeaseType6::Na { &self.na_pools } else { &self.pd_pools };
        let p = pools.get(pool)?;
        let len = p.len;
        let taken = p.space.oldest_holds().map(|(_, off)| p.addr(off)).find(|a| {
            // Only another client's hold: the client's other IAs keep theirs, so one message
            // never gets the same address twice.
            let held_by_other = self.offers.get(&(ty, *a)).is_some_and(|o| o.client.duid != client.duid);
            let leased = self.table.get(&(ty, *a)).is_some_and(|l| l.expire() > now);
            held_by_other && !leased && !excluded(*a)
        })?;
        self.drop_offer(ty, taken);
        self.refresh(ty, taken);
        Some((taken, len))
    }

    /// Every lease of the subnet as decided, changes not yet durable included.
    pub fn leases(&self) -> impl Iterator<Item = Lease6> + '_ {
        self.table.iter().map(Packed::unpack)
    }

    /// The leases whose state and expiry time `pred` accepts; only those are unpacked.
    pub fn leases_where<'a>(
        &'a self,
        pred: impl Fn(LeaseState, u64) -> bool + 'a,
    ) -> impl Iterator<Item = Lease6> + 'a {
        self.table.iter().filter(move |p| pred(p.state(), p.expire())).map(Packed::unpack)
    }

    /// Number of leases (changes not yet durable included).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the subnet has no lease.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Whether the map holds `value` for this lease (None: no lease).
    pub fn holds(&self, ty: LeaseType6, addr: Ipv6Addr, value: Option<&Lease6>) -> bool {
        match (self.table.get(&(ty, addr)), value) {
            (Some(p), Some(v)) => p.same(v),
            (None, None) => true,
            _ => false,
        }
    }

    /// True while the latest change to this lease is not known to be on disk.
    pub fn is_unsynced(&self, ty: LeaseType6, addr: Ipv6Addr) -> bool {
        self.pending.contains(&(ty, addr))
    }

    /// A change to a lease (its new value, None for a deletion) is durable. Returns the
    /// durable lease it replaced (None: untracked, nothing was pending).
    pub fn settle(&mut self, ty: LeaseType6, addr: Ipv6Addr, value: Option<&Lease6>) -> Option<Option<Lease6>> {
        let latest = self.holds(ty, addr, value);
        self.pending.settle((ty, addr), latest, value)
    }

    /// A change failed: when it is the latest, the durable lease is put back. Returns the
    /// lease it replaced and the one restored, for the statistics.
    pub fn roll_back(
        &mut self,
        ty: LeaseType6,
        addr: Ipv6Addr,
        value: Option<&Lease6>,
    ) -> Option<(Option<Lease6>, Option<Lease6>)> {
        let latest = self.holds(ty, addr, value);
        let undo = self.pending.roll_back((ty, addr), latest)?;
        let was = self.take(ty, addr, false);
        if let Some(l) = undo.restore.clone() {
            self.put(l, false);
        }
        Some((was, undo.restore))
    }

    /// The durable lease of this type at `addr`: what reads such as `lease6-get` see.
    pub fn durable_get(&self, ty: LeaseType6, addr: Ipv6Addr) -> Option<Lease6> {
        match self.pending.durable_state(&(ty, addr)) {
            Some(d) => d.cloned(),
            None => self.get(ty, addr),
        }
    }

    /// Every durable lease of the subnet.
    pub fn durable_leases(&self) -> impl Iterator<Item = Lease6> + '_ {
        let settled = self.table.iter().filter(|p| !self.pending.contains(&p.key())).map(Packed::unpack);
        settled.chain(self.pending.iter().filter_map(|(_, l)| l.cloned()))
    }

    /// Leases of a type counted as assigned: default or declined until reclaimed (as v4).
    pub fn assigned(&self, ty: LeaseType6, _now: u64) -> usize {
        self.table
            .iter()
            .filter(|l| l.key().0 == ty)
            .filter(|l| matches!(l.state(), LeaseState::Default | LeaseState::Declined))
            .count()
    }

    /// Durable leases counted as assigned addresses, assigned prefixes (default or declined)
    /// and declined: what the statistics count (Kea ARM 9.13 `assigned-nas`, `assigned-pds`,
    /// `declined-addresses`); a pending change counts when it settles.
    pub fn durable_counts(&self) -> (usize, usize, usize) {
        self.durable_counts_by(1, |_, _| Some(0))[0]
    }

    /// [`Self::durable_counts`] for `n` groups of leases (pools, say): `group` says which group
    /// a lease of a type at an address is in (None: none).
    pub fn durable_counts_by(
        &self,
        n: usize,
        group: impl Fn(LeaseType6, Ipv6Addr) -> Option<usize>,
    ) -> Vec<(usize, usize, usize)> {
        let weights = |l: Option<(LeaseType6, LeaseState)>| match l {
            Some((ty, st @ (LeaseState::Default | LeaseState::Declined))) => {
                let na = i64::from(ty != LeaseType6::Pd);
                (na, 1 - na, i64::from(st == LeaseState::Declined))
            }
            _ => (0, 0, 0),
        };
        let mut acc = vec![(0i64, 0i64, 0i64); n];
        let mut add = |key: (LeaseType6, Ipv6Addr), st: Option<LeaseState>, sign: i64| {
            if let Some(slot) = group(key.0, key.1).and_then(|g| acc.get_mut(g)) {
                let w = weights(st.map(|s| (key.0, s)));
                *slot = (slot.0 + sign * w.0, slot.1 + sign * w.1, slot.2 + sign * w.2);
            }
        };
        for p in self.table.iter() {
            add(p.key(), Some(p.state()), 1);
        }
        for (key, durable) in self.pending.iter() {
            add(*key, durable.map(|l| l.state), 1);
            add(*key, self.table.get(key).map(|p| p.state()), -1);
        }
        acc.into_iter().map(|(a, b, c)| (a.max(0) as usize, b.max(0) as usize, c.max(0) as usize)).collect()
    }
}

/// A pd-pool as the allocator sees it: pool prefix and delegated length.
pub type PdRange = (Ipv6Net, u8);

/// One subnet's pools as [`LeaseMap6::for_config`] collects them: id, address ranges, pd-pools.
type SubnetRanges = (u32, Vec<(Ipv6Addr, Ipv6Addr)>, Vec<PdRange>);

/// Lease state for every DHCPv6 subnet, one lock per subnet.
pub type LeaseMap6 = LeaseMap<SubnetLeases6>;

impl LeaseMap<SubnetLeases6> {
    /// Creates empty state for the given subnets: id, address pools (first, last) and
    /// pd-pools (prefix, delegated length).
    pub fn new<'a>(subnets: impl IntoIterator<Item = (u32, &'a [(Ipv6Addr, Ipv6Addr)], &'a [PdRange])>) -> LeaseMap6 {
        let mut map = Vec::new();
        for (id, pools, pd) in subnets {
            let na_pools = pools
                .iter()
                .map(|(f, l)| {
                    let (first, last) = (u128::from(*f), u128::from(*l));
                    // An inverted range (refused by the config checker) is an empty pool, so
                    // pool indices stay those of the configuration.
                    let size = if first <= last { (last - first).saturating_add(1) } else { 0 };
                    Pool6 { first, last, step: 1, len: 128, space: PoolSpace::new(size) }
                })
                .collect();
            let pd_pools = pd
                .iter()
                .map(|(net, dlen)| {
                    let valid = *dlen >= net.prefix_len() && *dlen <= 128;
                    let step = 1u128.checked_shl(128 - u32::from((*dlen).min(128))).unwrap_or(0).max(1);
                    let first = u128::from(net.network());
                    // 2^(delegated - pool length) prefixes; the last starts that many steps in.
                    let bits = u32::from(dlen.saturating_sub(net.prefix_len()));
                    let steps = 1u128.checked_shl(bits).map_or(u128::MAX, |c| c - 1);
                    let last = first.saturating_add(steps.saturating_mul(step));
                    let count = if valid { steps.saturating_add(1) } else { 0 };
                    Pool6 { first, last, step, len: *dlen, space: PoolSpace::new(count) }
                })
                .collect();
            map.push((id, SubnetLeases6 { na_pools, pd_pools, ..SubnetLeases6::default() }));
        }
        LeaseMap6::from_subnets(map)
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
}

impl SubnetState for SubnetLeases6 {
    type Lease = Lease6;

    fn reserve(&mut self, n: usize) {
        SubnetLeases6::reserve(self, n)
    }

    fn upsert(&mut self, lease: Lease6) {
        SubnetLeases6::upsert(self, lease)
    }

    fn remove_key(&mut self, (ty, addr): (LeaseType6, Ipv6Addr)) -> Option<Lease6> {
        self.remove(ty, addr)
    }

    fn holds_key(&self, (ty, addr): (LeaseType6, Ipv6Addr), value: Option<&Lease6>) -> bool {
        self.holds(ty, addr, value)
    }

    fn absorb(&mut self, lease: Lease6) {
        // A read that raced this server's own newer write must not undo it.
        let newer = self.get(lease.lease_type, lease.address).is_some_and(|l| l.cltt > lease.cltt);
        if !newer && !self.pending.contains(&(lease.lease_type, lease.address)) {
            self.put(lease, false);
        }
    }

    fn forget(&mut self, key: (LeaseType6, Ipv6Addr)) {
        if !self.pending.contains(&key) {
            self.take(key.0, key.1, false);
        }
    }

    fn settle_key(&mut self, (ty, addr): (LeaseType6, Ipv6Addr), value: Option<&Lease6>) {
        self.settle(ty, addr, value);
    }

    fn roll_back_key(
        &mut self,
        (ty, addr): (LeaseType6, Ipv6Addr),
        value: Option<&Lease6>,
    ) -> Option<(Option<Lease6>, Option<Lease6>)> {
        self.roll_back(ty, addr, value)
    }

    fn durable_key(&self, (ty, addr): (LeaseType6, Ipv6Addr)) -> Option<Lease6> {
        self.durable_get(ty, addr)
    }

    fn reclaimed_before(&self, before: u64) -> Vec<Self::Lease> {
        self.leases_where(move |state, expire| state == LeaseState::ExpiredReclaimed && expire <= before).collect()
    }

    fn durable_all(&self) -> Vec<Lease6> {
        self.durable_leases().collect()
    }

    fn all(&self) -> Vec<Lease6> {
        self.leases().collect()
    }

    fn track_pending(&mut self) {
        self.pending.track(true);
    }

    fn carry_from(&mut self, old: &SubnetLeases6) {
        self.pending.clone_from(&old.pending);
        let mut held: Vec<(Ipv6Addr, Offer)> = old.offers.iter().map(|((_, a), o)| (*a, o.clone())).collect();
        // Oldest first, so each IA keeps its latest hold.
        held.sort_by_key(|(a, o)| (o.until, u128::from(*a)));
        for (a, o) in held {
            self.hold_offer(a, &o.client, o.until.saturating_sub(OFFER_HOLD_SECS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE6: Exclusion<'static, Ipv6Addr> = Exclusion { reserved: &|_| false, first: false };

    fn key(d: u8, ty: LeaseType6) -> IaKey {
        IaKey { duid: vec![0, 3, 0, 1, d], iaid: 1, ty }
    }

    fn map() -> LeaseMap6 {
        let na = [("2001:db8::10".parse().unwrap(), "2001:db8::11".parse().unwrap())];
        let pd = [("2001:db8:1::/62".parse().unwrap(), 64u8)];
        LeaseMap6::new([(1, &na[..], &pd[..])])
    }

    /// `reservations-lookup-first`: in a pool too large for an occupancy bitmap every
    /// candidate is checked, and with the flag the reservation check comes first, so it sees
    /// the two candidates held for other clients too; by default only the free one reaches
    /// it. Both orders give the same address.
    #[test]
    fn reservations_lookup_first_checks_reservations_before_leases() {
        for (first, expected_checks) in [(true, 3), (false, 1)] {
            let na = [("2001:db8::".parse().unwrap(), "2001:db8::ffff:ffff:ffff:ffff".parse().unwrap())];
            let m = LeaseMap6::new([(1, &na[..], &[][..])]);
            let mut s = m.subnet(1).unwrap();
            s.hold_offer("2001:db8::".parse().unwrap(), &key(1, LeaseType6::Na), 100);
            s.hold_offer("2001:db8::1".parse().unwrap(), &key(2, LeaseType6::Na), 100);
            let checked = std::cell::RefCell::new(Vec::new());
            let reserved = |a: Ipv6Addr| {
                checked.borrow_mut().push(a);
                false
            };
            let got = s.allocate_na(0, &key(7, LeaseType6::Na), 100, None, Exclusion { reserved: &reserved, first });
            assert_eq!(got, Some("2001:db8::2".parse().unwrap()));
            assert_eq!(checked.borrow().len(), expected_checks, "first={first}: {:?}", checked.borrow());
        }
    }

    #[test]
    fn na_pool_is_walked_and_exhausted() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let a = s.allocate_na(0, &key(1, LeaseType6::Na), 100, None, NONE6).unwrap();
        s.hold_offer(a, &key(1, LeaseType6::Na), 100);
        let b = s.allocate_na(0, &key(2, LeaseType6::Na), 100, None, NONE6).unwrap();
        assert_ne!(a, b);
        s.hold_offer(b, &key(2, LeaseType6::Na), 100);
        assert_eq!(s.allocate_na(0, &key(3, LeaseType6::Na), 100, None, NONE6), None);
        assert!(s.allocate_na(0, &key(3, LeaseType6::Na), 100 + OFFER_HOLD_SECS, None, NONE6).is_some());
    }

    #[test]
    fn pd_pool_steps_by_delegated_length() {
        let m = map();
        let mut s = m.subnet(1).unwrap();
        let mut got = Vec::new();
        for d in 1..=5u8 {
            if let Some((p, len)) = s.allocate_pd(0, &key(d, LeaseType6::Pd), 100, None, NONE6) {
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

    #[test]
    fn pd_pool_at_95_percent_reads_a_bounded_number_of_words() {
        // A /48 delegating /64s: 65536 prefixes, every 20th free.
        let pd = [("2001:db8::/48".parse().unwrap(), 64u8)];
        let m = LeaseMap6::new([(1, &[][..], &pd[..])]);
        let mut s = m.subnet(1).unwrap();
        let base = u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap());
        for i in (0..65536u128).filter(|i| i % 20 != 3) {
            s.upsert(Lease6 {
                address: Ipv6Addr::from(base + (i << 64)),
                prefix_len: 64,
                lease_type: LeaseType6::Pd,
                duid: vec![0, 3, 0, 1, 9],
                iaid: i as u32,
                valid_lifetime: 3600,
                preferred_lifetime: 3000,
                cltt: 100,
                subnet_id: 1,
                pool_id: 0,
                fqdn_fwd: false,
                fqdn_rev: false,
                hostname: String::new(),
                hwaddr: vec![],
                hwtype: 0,
                hwaddr_source: 0,
                state: LeaseState::Default,
                user_context: None,
            });
        }
        for (n, rand) in [None, Some(12345u64)].into_iter().cycle().take(400).enumerate() {
            let k = IaKey { duid: vec![0, 3, 0, 1, 7], iaid: n as u32, ty: LeaseType6::Pd };
            let (p, len) = s.allocate_pd(0, &k, 200, rand, NONE6).unwrap();
            assert_eq!(len, 64);
            assert_eq!(((u128::from(p) - base) >> 64) % 20, 3, "{p} is a free prefix");
            assert!(s.last_alloc_cost(LeaseType6::Pd, 0).unwrap() <= 36);
            s.hold_offer(p, &k, 200);
        }
    }
}
