//! The compact in-memory lease table of one subnet (design.md "Performance": at most 200 bytes
//! of memory per lease with a million leases). Leases are kept packed in a slab (fixed fields,
//! identifiers inline up to [`INLINE`] bytes, the rare hostname and user context boxed) and
//! found through two hash tables of slot numbers: by lease key (address, or type and
//! address) and by client key (client-id / hardware address; DHCPv6 IA). A table of slot
//! numbers costs about 10 bytes per lease at any load factor, where a map of whole leases
//! cost more than the lease itself at hashbrown's 44-87 % occupancy.

use std::hash::{BuildHasher, Hash};
use std::net::{Ipv4Addr, Ipv6Addr};

use hashbrown::HashTable;

use super::{Lease4, Lease6, LeaseState, LeaseType6};

/// Identifier bytes kept inside the record; longer ones go to the heap.
pub const INLINE: usize = 30;

/// Identifier bytes (DHCPv4: hardware address then client-id; DHCPv6: DUID then hardware
/// address), inline when short.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bytes {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Bytes {
    fn new(parts: &[&[u8]]) -> Bytes {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len <= INLINE {
            let mut buf = [0u8; INLINE];
            let mut at = 0;
            for p in parts {
                buf[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            Bytes::Inline(len as u8, buf)
        } else {
            Bytes::Heap(parts.concat().into_boxed_slice())
        }
    }

    fn get(&self) -> &[u8] {
        match self {
            Bytes::Inline(n, b) => &b[..usize::from(*n)],
            Bytes::Heap(b) => b,
        }
    }
}

/// The fields most leases leave empty.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rare {
    hostname: String,
    user_context: Option<String>,
}

fn rare(hostname: &str, user_context: &Option<String>) -> Option<Box<Rare>> {
    (!hostname.is_empty() || user_context.is_some())
        .then(|| Box::new(Rare { hostname: hostname.to_string(), user_context: user_context.clone() }))
}

fn rare_eq(r: &Option<Box<Rare>>, hostname: &str, user_context: &Option<String>) -> bool {
    match r {
        Some(r) => r.hostname == hostname && &r.user_context == user_context,
        None => hostname.is_empty() && user_context.is_none(),
    }
}

fn unrare(r: &Option<Box<Rare>>) -> (String, Option<String>) {
    r.as_ref().map(|r| (r.hostname.clone(), r.user_context.clone())).unwrap_or_default()
}

/// A lease as a table keeps it: one shape per family, packed and unpacked without loss.
pub trait Packed: Sized {
    /// The lease type it packs.
    type Lease;
    /// The lease key (address; type and address).
    type Key: Copy + Eq + Hash;
    /// A borrowed client key (a variant and its bytes); several per lease at most [`Self::CLIENT_KEYS`].
    type ClientKey<'a>: Eq + Hash + Copy
    where
        Self: 'a;
    /// How many client keys a lease may have (each gets an entry in the client index; at
    /// most 4).
    const CLIENT_KEYS: u32;
    /// Whether one client key names one lease (the newest): DHCPv4's client-to-lease index;
    /// DHCPv6 IAs hold several.
    const UNIQUE_CLIENT: bool;
    /// Packs a lease.
    fn pack(l: &Self::Lease) -> Self;
    /// The lease it holds.
    fn unpack(&self) -> Self::Lease;
    /// Whether it holds exactly `l`.
    fn same(&self, l: &Self::Lease) -> bool;
    /// The lease key.
    fn key(&self) -> Self::Key;
    /// Client key number `i` (< [`Self::CLIENT_KEYS`]), if the lease has it.
    fn client_key(&self, i: u32) -> Option<Self::ClientKey<'_>>;
    /// Its state.
    fn state(&self) -> LeaseState;
    /// cltt + valid lifetime.
    fn expire(&self) -> u64;
}

/// One subnet's leases, packed, by key and by client.
#[derive(Debug)]
pub struct LeaseTable<P> {
    slots: Vec<Option<P>>,
    free: Vec<u32>,
    by_key: HashTable<u32>,
    /// Entries are `slot * CLIENT_KEYS + key number`.
    by_client: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl<P> Default for LeaseTable<P> {
    fn default() -> Self {
        LeaseTable {
            slots: Vec::new(),
            free: Vec::new(),
            by_key: HashTable::new(),
            by_client: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<P: Packed> LeaseTable<P> {
    fn slot_of(&self, key: &P::Key) -> Option<u32> {
        let h = self.hasher.hash_one(key);
        self.by_key.find(h, |&s| occupied(&self.slots, s).is_some_and(|p| p.key() == *key)).copied()
    }

    /// The packed lease with this key.
    pub fn get(&self, key: &P::Key) -> Option<&P> {
        self.slot_of(key).and_then(|s| occupied(&self.slots, s))
    }

    /// Number of leases.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no lease is kept.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Every lease, packed.
    pub fn iter(&self) -> impl Iterator<Item = &P> {
        self.slots.iter().flatten()
    }

    /// The leases with client key `key`, newest first for a unique index.
    pub fn by_client<'a>(&'a self, key: P::ClientKey<'a>) -> impl Iterator<Item = &'a P> + 'a {
        let h = self.hasher.hash_one(key);
        let n = P::CLIENT_KEYS;
        self.by_client
            .iter_hash(h)
            .filter_map(move |&e| occupied(&self.slots, e / n).map(|p| (p, e % n)))
            .filter(move |(p, i)| p.client_key(*i) == Some(key))
            .map(|(p, _)| p)
    }

    /// Makes room for `n` more leases.
    pub fn reserve(&mut self, n: usize) {
        let LeaseTable { slots, by_key, by_client, hasher, .. } = self;
        slots.reserve(n);
        by_key.reserve(n, |&s| key_hash(hasher, slots, s));
        by_client.reserve(n, |&e| client_hash(hasher, slots, e));
    }

    /// Puts `lease` in place of the lease with the same key; returns the one replaced.
    pub fn insert(&mut self, lease: &P::Lease) -> Option<P> {
        let p = P::pack(lease);
        let old = self.remove(&p.key());
        let LeaseTable { slots, by_key, by_client, hasher, free } = self;
        let slot = free.last().copied().unwrap_or(slots.len() as u32);
        // The index entries are made from `p` before it moves into its slot.
        let key_h = hasher.hash_one(p.key());
        let mut client_h = [None; 4];
        for i in 0..P::CLIENT_KEYS.min(4) {
            let Some(k) = p.client_key(i) else { continue };
            let h = hasher.hash_one(k);
            if P::UNIQUE_CLIENT {
                // The newest lease of a client key is the one the index names.
                let n = P::CLIENT_KEYS;
                let same = |e: &u32| occupied(slots, *e / n).is_some_and(|q| q.client_key(*e % n) == Some(k));
                while let Ok(e) = by_client.find_entry(h, same) {
                    e.remove();
                }
            }
            client_h[i as usize] = Some(h);
        }
        match free.pop() {
            Some(s) => slots[s as usize] = Some(p),
            None => slots.push(Some(p)),
        }
        by_key.insert_unique(key_h, slot, |&s| key_hash(hasher, slots, s));
        for (i, h) in client_h.iter().enumerate() {
            if let Some(h) = h {
                let e = slot * P::CLIENT_KEYS + i as u32;
                by_client.insert_unique(*h, e, |&e| client_hash(hasher, slots, e));
            }
        }
        old
    }

    /// Takes out the lease with this key.
    pub fn remove(&mut self, key: &P::Key) -> Option<P> {
        let h = self.hasher.hash_one(key);
        let LeaseTable { slots, by_key, by_client, hasher, free } = self;
        let hit = |s: &u32| occupied(slots, *s).is_some_and(|p| p.key() == *key);
        let slot = by_key.find_entry(h, hit).ok()?.remove().0;
        let p = slots.get_mut(slot as usize)?.take()?;
        for i in 0..P::CLIENT_KEYS {
            let Some(k) = p.client_key(i) else { continue };
            let e = slot * P::CLIENT_KEYS + i;
            if let Ok(entry) = by_client.find_entry(hasher.hash_one(k), |&x| x == e) {
                entry.remove();
            }
        }
        free.push(slot);
        Some(p)
    }
}

/// The lease in `slot`; every index entry names an occupied slot, so None only ever answers
/// a lookup that matches nothing.
fn occupied<P>(slots: &[Option<P>], slot: u32) -> Option<&P> {
    slots.get(slot as usize).and_then(Option::as_ref)
}

fn key_hash<P: Packed>(hasher: &foldhash::fast::RandomState, slots: &[Option<P>], s: u32) -> u64 {
    occupied(slots, s).map_or(0, |p| hasher.hash_one(p.key()))
}

fn client_hash<P: Packed>(hasher: &foldhash::fast::RandomState, slots: &[Option<P>], e: u32) -> u64 {
    let n = P::CLIENT_KEYS;
    occupied(slots, e / n).and_then(|p| p.client_key(e % n)).map_or(0, |k| hasher.hash_one(k))
}

/// A DHCPv4 client key borrowed from a lease or a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKeyRef<'a> {
    /// Option 61 payload.
    ClientId(&'a [u8]),
    /// chaddr.
    HwAddr(&'a [u8]),
}

/// A packed [`Lease4`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed4 {
    address: u32,
    valid_lifetime: u32,
    cltt: u64,
    subnet_id: u32,
    pool_id: u32,
    state: LeaseState,
    /// Bit 0 fqdn_fwd, bit 1 fqdn_rev, bit 2 client_id present.
    flags: u8,
    hw_len: u8,
    /// hwaddr then client_id.
    bytes: Bytes,
    rare: Option<Box<Rare>>,
}

impl Packed4 {
    fn hwaddr(&self) -> &[u8] {
        &self.bytes.get()[..usize::from(self.hw_len)]
    }

    fn client_id(&self) -> Option<&[u8]> {
        (self.flags & 4 != 0).then(|| &self.bytes.get()[usize::from(self.hw_len)..])
    }
}

impl Packed for Packed4 {
    type Lease = Lease4;
    type Key = Ipv4Addr;
    type ClientKey<'a> = ClientKeyRef<'a>;
    const CLIENT_KEYS: u32 = 2;
    const UNIQUE_CLIENT: bool = true;

    fn pack(l: &Lease4) -> Packed4 {
        // Identifiers longer than the CSV and the wire allow were refused on input; the
        // lengths are clamped so a record can never misplace its bytes.
        let hw = &l.hwaddr[..l.hwaddr.len().min(255)];
        let cid = l.client_id.as_deref();
        let flags = u8::from(l.fqdn_fwd) | (u8::from(l.fqdn_rev) << 1) | (u8::from(cid.is_some()) << 2);
        Packed4 {
            address: u32::from(l.address),
            valid_lifetime: l.valid_lifetime,
            cltt: l.cltt,
            subnet_id: l.subnet_id,
            pool_id: l.pool_id,
            state: l.state,
            flags,
            hw_len: hw.len() as u8,
            bytes: Bytes::new(&[hw, cid.unwrap_or_default()]),
            rare: rare(&l.hostname, &l.user_context),
        }
    }

    fn unpack(&self) -> Lease4 {
        let (hostname, user_context) = unrare(&self.rare);
        Lease4 {
            address: Ipv4Addr::from(self.address),
            hwaddr: self.hwaddr().to_vec(),
            client_id: self.client_id().map(<[u8]>::to_vec),
            valid_lifetime: self.valid_lifetime,
            cltt: self.cltt,
            subnet_id: self.subnet_id,
            pool_id: self.pool_id,
            fqdn_fwd: self.flags & 1 != 0,
            fqdn_rev: self.flags & 2 != 0,
            hostname,
            state: self.state,
            user_context,
        }
    }

    fn same(&self, l: &Lease4) -> bool {
        self.address == u32::from(l.address)
            && self.hwaddr() == l.hwaddr.as_slice()
            && self.client_id() == l.client_id.as_deref()
            && self.valid_lifetime == l.valid_lifetime
            && self.cltt == l.cltt
            && self.subnet_id == l.subnet_id
            && self.pool_id == l.pool_id
            && self.flags & 3 == u8::from(l.fqdn_fwd) | (u8::from(l.fqdn_rev) << 1)
            && self.state == l.state
            && rare_eq(&self.rare, &l.hostname, &l.user_context)
    }

    fn key(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.address)
    }

    fn client_key(&self, i: u32) -> Option<ClientKeyRef<'_>> {
        match i {
            0 => self.client_id().filter(|c| !c.is_empty()).map(ClientKeyRef::ClientId),
            _ => Some(self.hwaddr()).filter(|h| !h.is_empty()).map(ClientKeyRef::HwAddr),
        }
    }

    fn state(&self) -> LeaseState {
        self.state
    }

    fn expire(&self) -> u64 {
        self.cltt + u64::from(self.valid_lifetime)
    }
}

/// A DHCPv6 IA's key borrowed from a lease or a packet: DUID, IAID, type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IaKeyRef<'a> {
    /// Client DUID.
    pub duid: &'a [u8],
    /// IAID.
    pub iaid: u32,
    /// IA_NA or IA_PD.
    pub ty: LeaseType6,
}

/// A packed [`Lease6`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed6 {
    address: [u8; 16],
    prefix_len: u8,
    lease_type: LeaseType6,
    state: LeaseState,
    /// Bit 0 fqdn_fwd, bit 1 fqdn_rev.
    flags: u8,
    iaid: u32,
    valid_lifetime: u32,
    preferred_lifetime: u32,
    cltt: u64,
    subnet_id: u32,
    pool_id: u32,
    hwaddr_source: u32,
    hwtype: u16,
    duid_len: u8,
    /// duid then hwaddr.
    bytes: Bytes,
    rare: Option<Box<Rare>>,
}

impl Packed6 {
    fn duid(&self) -> &[u8] {
        &self.bytes.get()[..usize::from(self.duid_len)]
    }

    fn hwaddr(&self) -> &[u8] {
        &self.bytes.get()[usize::from(self.duid_len)..]
    }
}

impl Packed for Packed6 {
    type Lease = Lease6;
    type Key = (LeaseType6, Ipv6Addr);
    type ClientKey<'a> = IaKeyRef<'a>;
    const CLIENT_KEYS: u32 = 1;
    const UNIQUE_CLIENT: bool = false;

    fn pack(l: &Lease6) -> Packed6 {
        let duid = &l.duid[..l.duid.len().min(255)];
        Packed6 {
            address: l.address.octets(),
            prefix_len: l.prefix_len,
            lease_type: l.lease_type,
            state: l.state,
            flags: u8::from(l.fqdn_fwd) | (u8::from(l.fqdn_rev) << 1),
            iaid: l.iaid,
            valid_lifetime: l.valid_lifetime,
            preferred_lifetime: l.preferred_lifetime,
            cltt: l.cltt,
            subnet_id: l.subnet_id,
            pool_id: l.pool_id,
            hwaddr_source: l.hwaddr_source,
            hwtype: l.hwtype,
            duid_len: duid.len() as u8,
            bytes: Bytes::new(&[duid, &l.hwaddr]),
            rare: rare(&l.hostname, &l.user_context),
        }
    }

    fn unpack(&self) -> Lease6 {
        let (hostname, user_context) = unrare(&self.rare);
        Lease6 {
            address: Ipv6Addr::from(self.address),
            prefix_len: self.prefix_len,
            lease_type: self.lease_type,
            duid: self.duid().to_vec(),
            iaid: self.iaid,
            valid_lifetime: self.valid_lifetime,
            preferred_lifetime: self.preferred_lifetime,
            cltt: self.cltt,
            subnet_id: self.subnet_id,
            pool_id: self.pool_id,
            fqdn_fwd: self.flags & 1 != 0,
            fqdn_rev: self.flags & 2 != 0,
            hostname,
            hwaddr: self.hwaddr().to_vec(),
            hwtype: self.hwtype,
            hwaddr_source: self.hwaddr_source,
            state: self.state,
            user_context,
        }
    }

    fn same(&self, l: &Lease6) -> bool {
        self.address == l.address.octets()
            && self.prefix_len == l.prefix_len
            && self.lease_type == l.lease_type
            && self.duid() == l.duid.as_slice()
            && self.iaid == l.iaid
            && self.valid_lifetime == l.valid_lifetime
            && self.preferred_lifetime == l.preferred_lifetime
            && self.cltt == l.cltt
            && self.subnet_id == l.subnet_id
            && self.pool_id == l.pool_id
            && self.flags == u8::from(l.fqdn_fwd) | (u8::from(l.fqdn_rev) << 1)
            && self.hwaddr() == l.hwaddr.as_slice()
            && self.hwtype == l.hwtype
            && self.hwaddr_source == l.hwaddr_source
            && self.state == l.state
            && rare_eq(&self.rare, &l.hostname, &l.user_context)
    }

    fn key(&self) -> (LeaseType6, Ipv6Addr) {
        (self.lease_type, Ipv6Addr::from(self.address))
    }

    fn client_key(&self, _: u32) -> Option<IaKeyRef<'_>> {
        Some(IaKeyRef { duid: self.duid(), iaid: self.iaid, ty: self.lease_type })
    }

    fn state(&self) -> LeaseState {
        self.state
    }

    fn expire(&self) -> u64 {
        self.cltt + u64::from(self.valid_lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l4(n: u8, hw: &[u8], cid: Option<&[u8]>) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(192, 0, 2, n),
            hwaddr: hw.to_vec(),
            client_id: cid.map(<[u8]>::to_vec),
            valid_lifetime: 3600,
            cltt: 1_800_000_000,
            subnet_id: 1,
            pool_id: 0,
            fqdn_fwd: n % 2 == 0,
            fqdn_rev: n % 3 == 0,
            hostname: if n % 4 == 0 { format!("host{n}") } else { String::new() },
            state: LeaseState::Default,
            user_context: (n % 5 == 0).then(|| "{ \"a\": 1 }".to_string()),
        }
    }

    #[test]
    fn records_stay_small() {
        assert!(std::mem::size_of::<Option<Packed4>>() <= 80, "{}", std::mem::size_of::<Option<Packed4>>());
        assert!(std::mem::size_of::<Option<Packed6>>() <= 104, "{}", std::mem::size_of::<Option<Packed6>>());
    }

    #[test]
    fn packing_loses_nothing_short_or_long_identifiers_empty_or_not() {
        let long = vec![7u8; 200];
        let cases = [
            l4(1, &[1, 2, 3, 4, 5, 6], None),
            l4(4, &[1, 2, 3, 4, 5, 6], Some(&[1, 1, 2, 3, 4, 5, 6])),
            l4(10, &[], Some(&[])),
            l4(12, &[9; 20], Some(&long)),
        ];
        for l in &cases {
            let p = Packed4::pack(l);
            assert_eq!(&p.unpack(), l);
            assert!(p.same(l));
        }
        assert!(!Packed4::pack(&cases[0]).same(&cases[1]));
        let mut l6 = Lease6 {
            address: "2001:db8::5".parse().unwrap(),
            prefix_len: 128,
            lease_type: LeaseType6::Na,
            duid: vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6],
            iaid: 9,
            valid_lifetime: 4000,
            preferred_lifetime: 3000,
            cltt: 1_800_000_000,
            subnet_id: 1,
            pool_id: 2,
            fqdn_fwd: true,
            fqdn_rev: false,
            hostname: String::new(),
            hwaddr: vec![1, 2, 3, 4, 5, 6],
            hwtype: 1,
            hwaddr_source: 4,
            state: LeaseState::Declined,
            user_context: None,
        };
        assert_eq!(Packed6::pack(&l6).unpack(), l6);
        l6.duid = vec![5; 130];
        l6.hostname = "h.example.org".into();
        assert_eq!(Packed6::pack(&l6).unpack(), l6);
        assert!(Packed6::pack(&l6).same(&l6));
    }

    #[test]
    fn the_client_index_follows_inserts_replacements_and_removals() {
        let mut t = LeaseTable::<Packed4>::default();
        let (hw_a, hw_b) = ([1u8, 1, 1, 1, 1, 1], [2u8, 2, 2, 2, 2, 2]);
        t.insert(&l4(1, &hw_a, Some(b"\x01a")));
        t.insert(&l4(2, &hw_b, None));
        fn found(t: &LeaseTable<Packed4>, k: ClientKeyRef<'_>) -> Vec<Ipv4Addr> {
            t.by_client(k).map(|p| p.key()).collect()
        }
        assert_eq!(found(&t, ClientKeyRef::HwAddr(&hw_a)), [Ipv4Addr::new(192, 0, 2, 1)]);
        assert_eq!(found(&t, ClientKeyRef::ClientId(b"\x01a")), [Ipv4Addr::new(192, 0, 2, 1)]);
        // A newer lease of the same client key is the one the unique index names.
        t.insert(&l4(3, &hw_a, None));
        assert_eq!(found(&t, ClientKeyRef::HwAddr(&hw_a)), [Ipv4Addr::new(192, 0, 2, 3)]);
        assert_eq!(found(&t, ClientKeyRef::ClientId(b"\x01a")), [Ipv4Addr::new(192, 0, 2, 1)]);
        // Replacing .2 with another client's lease moves its index entry.
        t.insert(&l4(2, &hw_a, None));
        assert!(found(&t, ClientKeyRef::HwAddr(&hw_b)).is_empty());
        assert_eq!(found(&t, ClientKeyRef::HwAddr(&hw_a)), [Ipv4Addr::new(192, 0, 2, 2)]);
        assert_eq!(t.remove(&Ipv4Addr::new(192, 0, 2, 2)).map(|p| p.unpack()), Some(l4(2, &hw_a, None)));
        assert!(found(&t, ClientKeyRef::HwAddr(&hw_a)).is_empty());
        assert_eq!(t.len(), 2);
        // Slots are reused and the tables keep working across growth.
        for n in 10..250u8 {
            t.insert(&l4(n, &[n; 6], Some(&[1, n])));
        }
        for n in 10..250u8 {
            let cid = [1, n];
            assert_eq!(found(&t, ClientKeyRef::ClientId(&cid)), [Ipv4Addr::new(192, 0, 2, n)]);
            assert_eq!(t.get(&Ipv4Addr::new(192, 0, 2, n)).map(|p| p.unpack()), Some(l4(n, &[n; 6], Some(&[1, n]))));
        }
        assert_eq!(t.len(), 242);
        assert_eq!(t.iter().count(), 242);
    }

    #[test]
    fn an_ia_indexes_every_lease_it_holds() {
        let mut t = LeaseTable::<Packed6>::default();
        let lease = |a: &str, ty, iaid| Lease6 {
            address: a.parse().unwrap(),
            prefix_len: if ty == LeaseType6::Pd { 56 } else { 128 },
            lease_type: ty,
            duid: vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6],
            iaid,
            valid_lifetime: 4000,
            preferred_lifetime: 3000,
            cltt: 1,
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
        };
        t.insert(&lease("2001:db8::1", LeaseType6::Na, 1));
        t.insert(&lease("2001:db8::2", LeaseType6::Na, 1));
        t.insert(&lease("2001:db8:1::", LeaseType6::Pd, 1));
        let duid = [0, 3, 0, 1, 1, 2, 3, 4, 5, 6];
        let na = IaKeyRef { duid: &duid, iaid: 1, ty: LeaseType6::Na };
        assert_eq!(t.by_client(na).count(), 2);
        assert_eq!(t.by_client(IaKeyRef { ty: LeaseType6::Pd, ..na }).count(), 1);
        assert_eq!(t.by_client(IaKeyRef { iaid: 2, ..na }).count(), 0);
        t.remove(&(LeaseType6::Na, "2001:db8::1".parse().unwrap()));
        assert_eq!(t.by_client(na).map(|p| p.key().1.to_string()).collect::<Vec<_>>(), ["2001:db8::2"]);
    }
}
