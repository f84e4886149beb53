//! The lease store: the source of truth for leases, one generic interface for DHCPv4 and
//! DHCPv6 that every backend implements (memfile now, PostgreSQL later) and that one
//! conformance suite checks (Kea ARM 8.2.2 "Lease Storage"; design.md "lease").
//!
//! Reads return durable leases only. A commit is queued synchronously, in the order the
//! changes were decided, and completes as a future once durable: backends batch concurrent
//! commits into one sync or one transaction. Its outcome is then settled: durable changes
//! become visible to reads; a failed commit leaves nothing behind.

use std::future::Future;
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::Pin;

use super::memfile::MemfileError;
use super::{Change, Lease4, Lease6, LeaseType6};

/// Why a commit, a read or a maintenance run failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The memfile backend failed.
    #[error(transparent)]
    Memfile(#[from] MemfileError),
    /// The `lease-database` names a backend this build cannot open.
    #[error("lease database type {0} is not available in this build")]
    Unsupported(String),
    /// A lease changed in the store since it was read (another server sharing the store
    /// wrote it): the commit was refused as a whole, and the batch is read and decided again.
    #[error("lease changed in the store since it was read: {0}")]
    Conflict(String),
    /// The lease database failed (connection lost, statement refused).
    #[error("lease database: {0}")]
    Database(String),
}

/// Why the store stopped acknowledging (kakapo's `lease-store` part of Kea ARM 8.8 `status-get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure {
    /// What failed (the write or fdatasync error).
    pub error: String,
    /// When it failed, seconds since the Unix epoch.
    pub since: u64,
}

/// Health of a lease store's durable writes (kakapo's `lease-store` part of Kea ARM 8.8
/// `status-get`, and the `lease-store-*` statistics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// Set while commits are refused because the storage failed.
    pub failure: Option<StoreFailure>,
    /// How many times the store has failed since start-up.
    pub failures: u64,
}

/// Completion of a commit: resolves once the rows are durable.
pub type CommitFuture = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;
/// A read's result.
pub type ReadFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// A client identifier leases are looked up by (Kea's `getLease4(hwaddr)`,
/// `getLease4(clientid)`, `getLeases6(duid)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientId {
    /// DHCPv4 hardware address (chaddr).
    HwAddr(Vec<u8>),
    /// DHCPv4 client identifier (option 61).
    ClientId(Vec<u8>),
    /// DHCPv6 client DUID.
    Duid(Vec<u8>),
}

/// What a lease store keeps: Kea's `Lease4` or `Lease6`.
pub trait LeaseRecord: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    /// How a lease is addressed: its address (v4), or its type and address (v6).
    type Key: Copy + Eq + Ord + Hash + std::fmt::Debug + Send + Sync + 'static;
    /// This lease's key.
    fn key(&self) -> Self::Key;
    /// `subnet_id`
    fn subnet_id(&self) -> u32;
    /// Whether the lease belongs to the client known by `id`.
    fn belongs_to(&self, id: &ClientId) -> bool;
}

impl LeaseRecord for Lease4 {
    type Key = Ipv4Addr;

    fn key(&self) -> Ipv4Addr {
        self.address
    }

    fn subnet_id(&self) -> u32 {
        self.subnet_id
    }

    fn belongs_to(&self, id: &ClientId) -> bool {
        match id {
            ClientId::HwAddr(hw) => &self.hwaddr == hw,
            ClientId::ClientId(c) => self.client_id.as_ref() == Some(c),
            ClientId::Duid(_) => false,
        }
    }
}

impl LeaseRecord for Lease6 {
    type Key = (LeaseType6, Ipv6Addr);

    fn key(&self) -> (LeaseType6, Ipv6Addr) {
        (self.lease_type, self.address)
    }

    fn subnet_id(&self) -> u32 {
        self.subnet_id
    }

    fn belongs_to(&self, id: &ClientId) -> bool {
        matches!(id, ClientId::Duid(d) if &self.duid == d)
    }
}

/// A lease store for one family (Kea's `LeaseMgr`).
pub trait LeaseStore<L: LeaseRecord>: Send + Sync + std::fmt::Debug {
    /// The durable lease at `key` (`lease4-get` / `lease6-get` by address).
    fn get(&self, key: L::Key) -> ReadFuture<Option<L>>;
    /// The client's durable leases, all subnets, by ascending key.
    fn by_client(&self, id: &ClientId) -> ReadFuture<Vec<L>>;
    /// Up to `limit` durable leases with keys after `after`, by ascending key, of one subnet
    /// or of all (`lease4-get-page`; paging through all of them gives `lease4-get-all`).
    fn page(&self, subnet: Option<u32>, after: Option<L::Key>, limit: usize) -> ReadFuture<Vec<L>>;
    /// Queues the changes in the order given (the order they were decided); the future
    /// resolves when they are durable. Callers queue under their ordering lock and await
    /// after it, then report the outcome with [`LeaseStore::settle`].
    fn commit(&self, changes: &mut dyn Iterator<Item = &Change<L>>) -> CommitFuture;
    /// Reports a commit's outcome: durable changes become visible to reads; failed ones are
    /// undone. (A database backend has nothing to do; memfile's in-memory index publishes or
    /// rolls back the changes it holds as pending.)
    fn settle(&self, changes: &[Change<L>], durable: bool);
    /// Starts the backend's periodic maintenance (memfile: lease file cleanup) in the
    /// background; returns at once.
    fn start_maintenance(&self) -> Result<(), StoreError>;
    /// Flushes what is queued and releases the backend; later commits fail.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// Whether commits are being made durable (Kea ARM 8.8 `status-get`, kakapo's `lease-store`).
    fn health(&self) -> StoreHealth {
        StoreHealth::default()
    }
    /// Reads into the engine's view what the next decisions need from a store other servers
    /// also write: the rows that won this server's conflicting commits, the leases of these
    /// clients and the leases at these keys. None when the view is the store's own index
    /// (memfile), which nothing else writes.
    fn prefetch(&self, clients: Vec<ClientId>, keys: Vec<L::Key>) -> Option<ReadFuture<()>> {
        let _ = (clients, keys);
        None
    }
}
