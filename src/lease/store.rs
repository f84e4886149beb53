//! The lease storage interface every backend implements (memfile now, PostgreSQL later), so
//! the service shell does not care where rows go (Kea ARM 8.2.2 "Lease Storage").
//!
//! A commit is submitted synchronously, in the order the engine decided, and completes as a
//! future once durable: backends batch concurrent commits into one sync or one transaction.

use std::future::Future;
use std::pin::Pin;

use super::memfile::{Memfile4, Memfile6, MemfileError};
use super::{LeaseChange4, LeaseChange6};

/// Why a commit or a maintenance run failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The memfile backend failed.
    #[error(transparent)]
    Memfile(#[from] MemfileError),
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

/// A DHCPv4 lease store.
pub trait LeaseStore4: Send + Sync + std::fmt::Debug {
    /// Queues the changes in the order given (the order they were decided); the future
    /// resolves when they are durable. Callers queue under their ordering lock and await after.
    fn commit(&self, changes: &mut dyn Iterator<Item = &LeaseChange4>) -> CommitFuture;
    /// Starts the backend's periodic maintenance (memfile: lease file cleanup) in the
    /// background; returns at once.
    fn start_maintenance(&self) -> Result<(), StoreError>;
    /// Flushes what is queued and stops background work.
    fn close(&self);
    /// Whether commits are being made durable (Kea ARM 8.8 `status-get`, kakapo's `lease-store`).
    fn health(&self) -> StoreHealth {
        StoreHealth::default()
    }
}

impl LeaseStore4 for Memfile4 {
    fn commit(&self, changes: &mut dyn Iterator<Item = &LeaseChange4>) -> CommitFuture {
        let ticket = self.commit_changes(changes);
        Box::pin(async move { ticket.await.map_err(StoreError::from) })
    }

    fn start_maintenance(&self) -> Result<(), StoreError> {
        // The cleanup runs on its own thread; its result is logged by the backend.
        self.start_lfc().map(|_| ()).map_err(StoreError::from)
    }

    fn close(&self) {
        Memfile4::close(self);
    }

    fn health(&self) -> StoreHealth {
        Memfile4::health(self)
    }
}

/// A DHCPv6 lease store (Kea ARM 9.2.2 "Lease Storage"); the same contract as [`LeaseStore4`].
pub trait LeaseStore6: Send + Sync + std::fmt::Debug {
    /// Queues the changes in the order given (the order they were decided); the future
    /// resolves when they are durable. Callers queue under their ordering lock and await after.
    fn commit(&self, changes: &mut dyn Iterator<Item = &LeaseChange6>) -> CommitFuture;
    /// Starts the backend's periodic maintenance (memfile: lease file cleanup) in the
    /// background; returns at once.
    fn start_maintenance(&self) -> Result<(), StoreError>;
    /// Flushes what is queued and stops background work.
    fn close(&self);
    /// Whether commits are being made durable (Kea ARM 8.8 `status-get`, kakapo's `lease-store`).
    fn health(&self) -> StoreHealth {
        StoreHealth::default()
    }
}

impl LeaseStore6 for Memfile6 {
    fn commit(&self, changes: &mut dyn Iterator<Item = &LeaseChange6>) -> CommitFuture {
        let ticket = self.commit_changes(changes);
        Box::pin(async move { ticket.await.map_err(StoreError::from) })
    }

    fn start_maintenance(&self) -> Result<(), StoreError> {
        // The cleanup runs on its own thread; its result is logged by the backend.
        self.start_lfc().map(|_| ()).map_err(StoreError::from)
    }

    fn close(&self) {
        Memfile6::close(self);
    }

    fn health(&self) -> StoreHealth {
        Memfile6::health(self)
    }
}
