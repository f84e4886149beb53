//! memfile behind the [`LeaseStore`] interface (Kea ARM 8.2.2.1): an in-memory index (the
//! engine's lease map, which holds decided changes as pending until they are durable) plus
//! Kea's CSV journal ([`Memfile4`] / [`Memfile6`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use super::{CommitTicket, Memfile4, Memfile6, MemfileError};
use crate::lease::store::{ClientId, CommitFuture, LeaseRecord, LeaseStore, ReadFuture, StoreError, StoreHealth};
use crate::lease::subnets::{LeaseMap, SubnetState};
use crate::lease::{Change, Lease4, Lease6};

/// The in-memory index of a memfile store.
pub trait LeaseIndex<L: LeaseRecord>: Send + Sync {
    /// The durable lease at `key`.
    fn durable(&self, key: L::Key) -> Option<L>;
    /// Every durable lease of one subnet, or of all (orphans of unconfigured subnets included).
    fn durable_all(&self, subnet: Option<u32>) -> Vec<L>;
    /// Applies a change that does not come from the engine (the engine's are in already).
    fn apply(&self, change: &Change<L>);
    /// Publishes (durable) or undoes (failed) a change held as pending.
    fn settle(&self, change: &Change<L>, durable: bool);
    /// Takes a lease another server wrote to a shared store as durable (see
    /// [`SubnetState::absorb`]).
    fn absorb(&self, lease: L);
    /// Drops a lease another server removed from a shared store (see
    /// [`SubnetState::forget`]).
    fn forget(&self, key: L::Key);
}

/// The journal of a memfile store.
pub trait Journal<L>: Send + Sync + std::fmt::Debug {
    /// Appends one row per change; the ticket completes once they are durable.
    fn append(&self, changes: &mut dyn Iterator<Item = &Change<L>>) -> CommitTicket;
    /// Starts one lease file cleanup.
    fn start_lfc(&self) -> Result<(), MemfileError>;
    /// Flushes and closes the journal.
    fn close(&self);
    /// The writer's health.
    fn health(&self) -> StoreHealth;
}

impl Journal<Lease4> for Memfile4 {
    fn append(&self, changes: &mut dyn Iterator<Item = &Change<Lease4>>) -> CommitTicket {
        self.commit_changes(changes)
    }
    fn start_lfc(&self) -> Result<(), MemfileError> {
        Memfile4::start_lfc(self).map(|_| ())
    }
    fn close(&self) {
        Memfile4::close(self)
    }
    fn health(&self) -> StoreHealth {
        Memfile4::health(self)
    }
}

impl Journal<Lease6> for Memfile6 {
    fn append(&self, changes: &mut dyn Iterator<Item = &Change<Lease6>>) -> CommitTicket {
        self.commit_changes(changes)
    }
    fn start_lfc(&self) -> Result<(), MemfileError> {
        Memfile6::start_lfc(self).map(|_| ())
    }
    fn close(&self) {
        Memfile6::close(self)
    }
    fn health(&self) -> StoreHealth {
        Memfile6::health(self)
    }
}

/// Reports a commit's outcome to an index: durable changes are published, failed ones undone
/// newest first, so an address changed twice gets its durable lease back.
pub fn settle_index<L: LeaseRecord>(index: Option<&dyn LeaseIndex<L>>, changes: &[Change<L>], durable: bool) {
    let Some(index) = index else { return };
    if durable {
        changes.iter().for_each(|c| index.settle(c, true));
    } else {
        changes.iter().rev().for_each(|c| index.settle(c, false));
    }
}

/// Where a memfile store finds its index: the lease map of the engine serving now (a
/// configuration change may replace it).
pub type IndexSource<L> = Box<dyn Fn() -> Option<Arc<dyn LeaseIndex<L>>> + Send + Sync>;

/// memfile as a [`LeaseStore`]: reads from the index, writes through the journal.
pub struct MemfileStore<L: LeaseRecord> {
    journal: Arc<dyn Journal<L>>,
    index: OnceLock<IndexSource<L>>,
}

impl<L: LeaseRecord> std::fmt::Debug for MemfileStore<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemfileStore").field("journal", &self.journal).finish_non_exhaustive()
    }
}

impl<L: LeaseRecord> MemfileStore<L> {
    /// A store over this journal; reads find nothing until [`Self::set_index`].
    pub fn new(journal: Arc<dyn Journal<L>>) -> MemfileStore<L> {
        MemfileStore { journal, index: OnceLock::new() }
    }

    /// Names the index (once; later calls are ignored).
    pub fn set_index(&self, source: IndexSource<L>) {
        let _ = self.index.set(source);
    }

    fn index(&self) -> Option<Arc<dyn LeaseIndex<L>>> {
        self.index.get().and_then(|f| f())
    }
}

fn ready<T: Send + 'static>(v: T) -> ReadFuture<T> {
    Box::pin(std::future::ready(Ok(v)))
}

impl<L: LeaseRecord> LeaseStore<L> for MemfileStore<L> {
    fn get(&self, key: L::Key) -> ReadFuture<Option<L>> {
        ready(self.index().and_then(|i| i.durable(key)))
    }

    fn by_client(&self, id: &ClientId) -> ReadFuture<Vec<L>> {
        let mut out: Vec<L> = self.index().map(|i| i.durable_all(None)).unwrap_or_default();
        out.retain(|l| l.belongs_to(id));
        out.sort_by_key(|l| l.key());
        ready(out)
    }

    fn page(&self, subnet: Option<u32>, after: Option<L::Key>, limit: usize) -> ReadFuture<Vec<L>> {
        let mut out: Vec<L> = self.index().map(|i| i.durable_all(subnet)).unwrap_or_default();
        out.retain(|l| after.is_none_or(|a| l.key() > a));
        out.sort_by_key(|l| l.key());
        out.truncate(limit);
        ready(out)
    }

    fn commit(&self, changes: &mut dyn Iterator<Item = &Change<L>>) -> CommitFuture {
        let changes: Vec<&Change<L>> = changes.collect();
        if let Some(index) = self.index() {
            for c in &changes {
                index.apply(c);
            }
        }
        let ticket = self.journal.append(&mut changes.into_iter());
        Box::pin(async move { ticket.await.map_err(StoreError::from) })
    }

    fn settle(&self, changes: &[Change<L>], durable: bool) {
        settle_index(self.index().as_deref(), changes, durable);
    }

    fn start_maintenance(&self) -> Result<(), StoreError> {
        // The cleanup runs on its own thread; its result is logged by the backend.
        self.journal.start_lfc().map_err(StoreError::from)
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        // The last batch's write and fdatasync and the writer's exit are waited for on a
        // thread of their own, never on the caller's (an async runtime thread).
        let journal = Arc::clone(&self.journal);
        let (done, closed) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new().name("kakapo-close".into()).spawn(move || {
            journal.close();
            let _ = done.send(());
        });
        match spawned {
            Ok(_) => Box::pin(async move {
                let _ = closed.await;
            }),
            Err(_) => {
                self.journal.close();
                Box::pin(std::future::ready(()))
            }
        }
    }

    fn health(&self) -> StoreHealth {
        self.journal.health()
    }
}

/// Memfile's index is the engine's lease map, in one shape for both families.
impl<S: SubnetState> LeaseIndex<S::Lease> for LeaseMap<S>
where
    S::Lease: LeaseRecord,
{
    fn durable(&self, key: <S::Lease as LeaseRecord>::Key) -> Option<S::Lease> {
        for id in self.subnet_ids() {
            if let Some(l) = self.subnet(id).and_then(|s| s.durable_key(key)) {
                return Some(l);
            }
        }
        self.orphans().get(&key).cloned()
    }

    fn durable_all(&self, subnet: Option<u32>) -> Vec<S::Lease> {
        self.collect(subnet, SubnetState::durable_all)
    }

    fn apply(&self, change: &Change<S::Lease>) {
        let l = change.lease();
        let Some(mut s) = self.subnet(l.subnet_id()) else {
            let mut o = self.orphans();
            match change {
                Change::Upsert(l, _) => o.insert(l.key(), l.clone()),
                Change::Delete(l) => o.remove(&l.key()),
            };
            return;
        };
        if s.holds_key(l.key(), change.value()) {
            return;
        }
        match change {
            Change::Upsert(l, _) => s.upsert(l.clone()),
            Change::Delete(l) => {
                s.remove_key(l.key());
            }
        }
    }

    fn absorb(&self, lease: S::Lease) {
        match self.subnet(lease.subnet_id()) {
            Some(mut s) => s.absorb(lease),
            None => {
                self.orphans().insert(lease.key(), lease);
            }
        }
    }

    fn forget(&self, key: <S::Lease as LeaseRecord>::Key) {
        for id in self.subnet_ids() {
            if let Some(mut s) = self.subnet(id).filter(|s| s.durable_key(key).is_some()) {
                s.forget(key);
                return;
            }
        }
        self.orphans().remove(&key);
    }

    fn settle(&self, change: &Change<S::Lease>, durable: bool) {
        let l = change.lease();
        let Some(mut s) = self.subnet(l.subnet_id()) else { return };
        if durable {
            s.settle_key(l.key(), change.value());
        } else {
            s.roll_back_key(l.key(), change.value());
        }
    }
}
