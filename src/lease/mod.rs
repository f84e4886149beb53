//! Leases: Kea's `Lease4` and `Lease6` records and its states, the allocators, and the storage backends
//! (Kea ARM 8.2.2 "Lease Storage"; design.md "lease").
//!
//! The record types mirror Kea's lease columns one for one so the memfile CSV and the
//! PostgreSQL rows stay compatible both ways.

pub mod alloc;
pub mod alloc6;
pub mod memfile;
pub mod pending;
pub mod pool;
pub mod postgres;
pub mod sanity;
pub mod store;
pub mod subnets;
pub mod table;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::model::LeaseDatabase;
use memfile::{Memfile4, Memfile6, MemfileConfig, MemfileStore};
use store::{LeaseStore, StoreError};

/// The hash map of the lease index: foldhash, seeded per process.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A lease store opened from `lease-database` (Kea ARM 8.2.2 "Lease Storage"), with the leases
/// it holds at start-up (the memfile index is built from them).
pub struct Opened<L: postgres::PgLease, J> {
    /// The store.
    pub store: Arc<dyn LeaseStore<L>>,
    /// The leases found, for the in-memory index.
    pub loaded: Vec<L>,
    /// For memfile: the store, to name its index, and its journal, for the failure hooks.
    pub memfile: Option<(Arc<MemfileStore<L>>, Arc<J>)>,
    /// For PostgreSQL: the store, to name the engine's view it keeps up to date.
    pub postgres: Option<Arc<postgres::PgStore<L>>>,
}

/// Opens a PostgreSQL store (Kea ARM 8.2.2.2) with the leases it holds.
fn open_postgres<L: postgres::PgLease, J>(db: &LeaseDatabase) -> Result<Opened<L, J>, StoreError> {
    let (store, loaded) = postgres::open_blocking::<L>(db).map_err(|e| StoreError::Database(e.to_string()))?;
    Ok(Opened { store: store.clone(), loaded, memfile: None, postgres: Some(store) })
}

fn memfile_config(db: &LeaseDatabase, path: PathBuf) -> MemfileConfig {
    MemfileConfig {
        path,
        persist: db.persist,
        lfc_interval: db.lfc_interval,
        max_row_errors: db.max_row_errors,
        pool_id_column: false,
    }
}

/// Opens the DHCPv4 lease store `lease-database` names; `path` is the memfile lease file.
pub fn open4(db: &LeaseDatabase, path: PathBuf) -> Result<Opened<Lease4, Memfile4>, StoreError> {
    match db.kind.as_str() {
        "memfile" => {}
        "postgresql" => return open_postgres(db),
        other => return Err(StoreError::Unsupported(other.to_string())),
    }
    let (journal, loaded) = Memfile4::open(memfile_config(db, path))?;
    let journal = Arc::new(journal);
    let store = Arc::new(MemfileStore::new(journal.clone()));
    Ok(Opened { store: store.clone(), loaded, memfile: Some((store, journal)), postgres: None })
}

/// Opens the DHCPv6 lease store `lease-database` names; `path` is the memfile lease file.
pub fn open6(db: &LeaseDatabase, path: PathBuf) -> Result<Opened<Lease6, Memfile6>, StoreError> {
    match db.kind.as_str() {
        "memfile" => {}
        "postgresql" => return open_postgres(db),
        other => return Err(StoreError::Unsupported(other.to_string())),
    }
    let (journal, loaded) = Memfile6::open(memfile_config(db, path))?;
    let journal = Arc::new(journal);
    let store = Arc::new(MemfileStore::new(journal.clone()));
    Ok(Opened { store: store.clone(), loaded, memfile: Some((store, journal)), postgres: None })
}

/// Kea's `Lease::STATE_*` values, stored as these numbers in CSV and SQL (Kea ARM 8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LeaseState {
    /// 0: assigned (or offered) and usable.
    #[default]
    Default,
    /// 1: declined by a client; in probation.
    Declined,
    /// 2: expired and reclaimed.
    ExpiredReclaimed,
    /// 3: released, kept for affinity (Kea 3.x).
    Released,
    /// 4: registered (RFC 9686, v6 only).
    Registered,
}

impl LeaseState {
    /// The stored number.
    pub fn code(self) -> u32 {
        match self {
            LeaseState::Default => 0,
            LeaseState::Declined => 1,
            LeaseState::ExpiredReclaimed => 2,
            LeaseState::Released => 3,
            LeaseState::Registered => 4,
        }
    }

    /// From the stored number.
    pub fn from_code(c: u32) -> Option<LeaseState> {
        Some(match c {
            0 => LeaseState::Default,
            1 => LeaseState::Declined,
            2 => LeaseState::ExpiredReclaimed,
            3 => LeaseState::Released,
            4 => LeaseState::Registered,
            _ => return None,
        })
    }
}

/// A DHCPv4 lease with Kea's fields (`Lease4`, kea-leases4.csv columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease4 {
    /// `address`
    pub address: Ipv4Addr,
    /// `hwaddr` (chaddr bytes; may be empty for a declined lease).
    pub hwaddr: Vec<u8>,
    /// `client_id` (option 61 payload), if the client sent one.
    pub client_id: Option<Vec<u8>>,
    /// `valid_lifetime` in seconds; 0 in a deletion row.
    pub valid_lifetime: u32,
    /// Client last transmission time, Unix seconds (`expire` - `valid_lifetime` in the CSV).
    pub cltt: u64,
    /// `subnet_id`
    pub subnet_id: u32,
    /// `pool_id` (Kea 2.4+ column; 0 when unknown).
    pub pool_id: u32,
    /// `fqdn_fwd`
    pub fqdn_fwd: bool,
    /// `fqdn_rev`
    pub fqdn_rev: bool,
    /// `hostname` (may be empty).
    pub hostname: String,
    /// `state`
    pub state: LeaseState,
    /// `user_context` as JSON text (Kea writes `{ "x": 1 }`), if any.
    pub user_context: Option<String>,
}

impl Lease4 {
    /// `expire` column: cltt + valid_lifetime.
    pub fn expire(&self) -> u64 {
        self.cltt + u64::from(self.valid_lifetime)
    }

    /// True once the lease's lifetime has passed at `now` (Unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire() <= now
    }
}

/// One change to the lease store, as the engine decides it and the store makes it durable:
/// a new or updated row, or a deletion (Kea's tombstone row), each with the lease it replaces,
/// which later stages need (a DNS removal for an old name, an HA partner's or a shared
/// database's check that nothing changed in between). One shape for both families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<L> {
    /// Add or update: the new lease, and the lease it replaces (None: the address was free).
    Upsert(L, Option<L>),
    /// Delete (release, or reclamation without affinity): the lease deleted.
    Delete(L),
}

impl<L> Change<L> {
    /// The lease the change is about (the new value, or the deleted lease).
    pub fn lease(&self) -> &L {
        match self {
            Change::Upsert(l, _) | Change::Delete(l) => l,
        }
    }

    /// The lease the change replaces (None: the address was free).
    pub fn previous(&self) -> Option<&L> {
        match self {
            Change::Upsert(_, prev) => prev.as_ref(),
            Change::Delete(l) => Some(l),
        }
    }

    /// The value the store holds after the change (None: no lease).
    pub fn value(&self) -> Option<&L> {
        match self {
            Change::Upsert(l, _) => Some(l),
            Change::Delete(_) => None,
        }
    }
}

/// A DHCPv4 lease change.
pub type LeaseChange4 = Change<Lease4>;

/// Kea's `Lease::Type` of a DHCPv6 lease, stored as `lease_type` 0 / 2 (Kea ARM 9.2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum LeaseType6 {
    /// 0: IA_NA, a non-temporary address (`prefix_len` 128).
    #[default]
    Na,
    /// 2: IA_PD, a delegated prefix.
    Pd,
}

impl LeaseType6 {
    /// The stored number (Kea's `Lease::TYPE_NA` / `TYPE_PD`).
    pub fn code(self) -> u32 {
        match self {
            LeaseType6::Na => 0,
            LeaseType6::Pd => 2,
        }
    }

    /// From the stored number; IA_TA (1) is not supported, like Kea 3.1+.
    pub fn from_code(c: u32) -> Option<LeaseType6> {
        match c {
            0 => Some(LeaseType6::Na),
            2 => Some(LeaseType6::Pd),
            _ => None,
        }
    }
}

/// A DHCPv6 lease with Kea's fields (`Lease6`, kea-leases6.csv columns; Kea ARM 9.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    /// `address`: the address, or the first address of a delegated prefix.
    pub address: Ipv6Addr,
    /// `prefix_len`: 128 for an address, the delegated length for a prefix.
    pub prefix_len: u8,
    /// `lease_type`
    pub lease_type: LeaseType6,
    /// `duid` of the client (Kea's one-byte `00` for a declined lease).
    pub duid: Vec<u8>,
    /// `iaid`
    pub iaid: u32,
    /// `valid_lifetime` in seconds; 0 in a deletion row.
    pub valid_lifetime: u32,
    /// `pref_lifetime` in seconds; 0 in a deletion row.
    pub preferred_lifetime: u32,
    /// Client last transmission time, Unix seconds (`expire` - `valid_lifetime` in the CSV).
    pub cltt: u64,
    /// `subnet_id`
    pub subnet_id: u32,
    /// `pool_id` (Kea 2.4+ column; 0 when unknown).
    pub pool_id: u32,
    /// `fqdn_fwd`
    pub fqdn_fwd: bool,
    /// `fqdn_rev`
    pub fqdn_rev: bool,
    /// `hostname` (may be empty).
    pub hostname: String,
    /// `hwaddr` (may be empty: v6 clients are known by DUID).
    pub hwaddr: Vec<u8>,
    /// `hwtype` (1 = Ethernet); only stored with a hardware address, 0 without one.
    pub hwtype: u16,
    /// `hwaddr_source` bitmask (Kea's `HWAddr::HWADDR_SOURCE_*`); only stored with a hardware address.
    pub hwaddr_source: u32,
    /// `state`
    pub state: LeaseState,
    /// `user_context` as JSON text, if any.
    pub user_context: Option<String>,
}

impl Lease6 {
    /// `expire` column: cltt + valid_lifetime.
    pub fn expire(&self) -> u64 {
        self.cltt + u64::from(self.valid_lifetime)
    }

    /// True once the lease's valid lifetime has passed at `now` (Unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire() <= now
    }
}

/// A DHCPv6 lease change.
pub type LeaseChange6 = Change<Lease6>;
