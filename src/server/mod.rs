//! The DHCP services: the packet pipeline generic over DHCPv4 and DHCPv6 ([`pipeline`]), each
//! family's sockets, engine slot and replies ([`v4`], [`v6`]), and the timers on an injected
//! clock ([`timers`]) (design.md "How a packet flows"). The control API opens, reconfigures and
//! stops services through this module.

pub mod core;
pub mod hosts;
pub mod pipeline;
pub mod runtime;
pub mod timers;
pub mod v4;
pub mod v6;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use crate::clock::{Clock, SystemClock};
use crate::stats::Stats;
use pipeline::{Family, Stages};
use timers::TimerWork;

/// Serves a family's endpoints through the pipeline, with its timers, until `shutdown` turns
/// true; the caller then closes the store.
///
/// Each socket gets its own thread with a single-threaded runtime: a batch is received,
/// decided, committed and answered on that thread (run to completion), with no work stealing
/// or wake-ups of other runtime threads on the packet path. The timers and the control API run
/// on the main runtime.
async fn run<F: Family>(
    svc: Arc<F::Service>,
    endpoints: Vec<Arc<F::Endpoint>>,
    work: TimerWork,
    mut shutdown: watch::Receiver<bool>,
) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, ep) in endpoints.into_iter().enumerate() {
        let (svc, clock, mut stop) = (svc.clone(), clock.clone(), shutdown.clone());
        let seed = crate::clock::unix_now() ^ (i as u64).rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(format!("kakapo-dhcp{}-{i}", F::FAMILY)).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return log_receive_failure::<F>(&e),
            };
            rt.block_on(async move {
                tokio::select! {
                    r = pipeline::serve::<F>(svc, ep, Stages::default(), clock, seed) => {
                        if let Err(e) = r {
                            log_receive_failure::<F>(&e);
                        }
                    }
                    _ = stop.wait_for(|v| *v) => {}
                }
            });
            drop(done_tx);
        });
        match thread {
            Ok(_) => {
                tasks.spawn(async move {
                    let _ = done_rx.await;
                });
            }
            Err(e) => log_receive_failure::<F>(&e),
        }
    }
    let timers = tokio::spawn(timers::run(work, clock));
    let _ = shutdown.wait_for(|v| *v).await;
    timers.abort();
    // The socket threads saw the same signal; wait until each has dropped its batches.
    while tasks.join_next().await.is_some() {}
}

fn log_receive_failure<F: Family>(e: &std::io::Error) {
    if F::FAMILY == 4 {
        tracing::error!(target: "kea-dhcp4.dhcp4", "DHCP4_BUFFER_RECEIVE_FAIL error on attempt to receive packet: {e}");
    } else {
        tracing::error!(target: "kea-dhcp6.dhcp6", "DHCP6_PACKET_RECEIVE_FAIL error on attempt to receive packet: {e}");
    }
}

/// Errors that stop a DHCP service from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The lease file could not be opened or loaded.
    #[error("lease database: {0}")]
    Leases(#[from] crate::lease::memfile::MemfileError),
    /// A socket could not be opened.
    #[error("socket on {iface}: {err}")]
    Socket {
        /// Interface name.
        iface: String,
        /// The cause.
        err: std::io::Error,
    },
    /// The configuration names a lease backend this build cannot open yet.
    #[error("lease database type {0} is not available in this build")]
    Backend(String),
    /// A hosts database could not be opened (Kea ARM 8.2.3).
    #[error("hosts database: {0}")]
    Hosts(String),
    /// The lease store refused an operation (a conflicting write of another server).
    #[error("lease store: {0}")]
    Store(String),
    /// The DHCPv6 server identifier cannot be built or stored (Kea ARM 9.2.31).
    #[error("unable to configure server identifier: {0}")]
    ServerId(String),
}

/// Ports and paths from the command line and environment.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// `-p`: the port the server listens on (67).
    pub server_port: u16,
    /// `-P`: the port replies go to (68).
    pub client_port: u16,
    /// `-p` of kea-dhcp6: the DHCPv6 server port (547).
    pub v6_server_port: u16,
    /// Kea's data directory (`KEA_DHCP_DATA_DIR`, default /var/lib/kea) for relative lease files
    /// and the DHCPv6 server identifier file.
    pub data_dir: PathBuf,
    /// Where a service asks the daemon to exit with a status (a lost lease database whose
    /// `on-fail` says so); None: nobody to ask (tests, `-T`).
    pub exit: Option<std::sync::Arc<tokio::sync::watch::Sender<Option<i32>>>>,
}

impl From<crate::lease::store::StoreError> for ServiceError {
    fn from(e: crate::lease::store::StoreError) -> Self {
        match e {
            crate::lease::store::StoreError::Memfile(m) => ServiceError::Leases(m),
            crate::lease::store::StoreError::Unsupported(kind) => ServiceError::Backend(kind),
            crate::lease::store::StoreError::Conflict(why) => ServiceError::Store(why),
            crate::lease::store::StoreError::Database(why) => ServiceError::Store(why),
        }
    }
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            server_port: crate::wire::v4::SERVER_PORT,
            client_port: crate::wire::v4::CLIENT_PORT,
            v6_server_port: v6::SERVER_PORT,
            data_dir: PathBuf::from("/var/lib/kea"),
            exit: None,
        }
    }
}

/// Sets kakapo's lease store statistics (names Kea does not use, so nothing collides):
/// `lease-store-healthy` 1 while commits are made durable, 0 while they are refused after a
/// write failure; `lease-store-failures` counts the failures since start-up. They reach
/// `statistic-get-all` and `/metrics` like Kea's (Kea ARM 8.9 "Statistics").
pub fn publish_store_health(stats: &Stats, health: &crate::lease::store::StoreHealth, now: u64) {
    stats.set("lease-store-healthy", i64::from(health.failure.is_none()), now);
    stats.set("lease-store-failures", i64::try_from(health.failures).unwrap_or(i64::MAX), now);
}

/// Drops the `subnet[ID].*` statistics of subnets a new configuration no longer has, as Kea
/// does on reconfiguration.
pub fn forget_removed_subnets(stats: &Stats, old: impl Iterator<Item = u32>, keep: &[u32]) {
    for id in old.filter(|id| !keep.contains(id)) {
        let prefix = format!("subnet[{id}].");
        for (name, _) in stats.all().into_iter().filter(|(n, _)| n.starts_with(&prefix)) {
            stats.remove(&name);
        }
    }
}

/// `dhcp-disable` / `dhcp-enable` state of one service (Kea ARM 8.8.3): which origins hold it
/// disabled, each with its own `max-period` deadline. A disabled service drops what it receives.
#[derive(Debug, Default)]
pub struct DhcpState {
    disabled: std::sync::atomic::AtomicBool,
    /// Held disabled while the lease database connection is being made again (origin
    /// `db-connection`, Kea's id 3000).
    db_lost: std::sync::atomic::AtomicBool,
    /// Origin (None: the user) to its re-enable deadline (None: until enabled).
    inner: std::sync::Mutex<std::collections::BTreeMap<Option<i64>, Option<u64>>>,
}

/// Who holds the service disabled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// Disabled by a user command (`origin: "user"`).
    pub by_user: bool,
    /// Disabled by remote (HA partner) commands, by origin id.
    pub by_remote: std::collections::BTreeSet<i64>,
    /// Disabled while a lost database connection is made again: Kea's origin ids (3000).
    pub by_db_connection: Vec<u32>,
}

/// A lease database's `on-fail` policy (Kea ARM 8.2.2.2) applied to its connection's events:
/// `stop-retry-exit` holds the service disabled (`set_lost`) while the connection is made
/// again; once the tries are used up, `stop-retry-exit` and `serve-retry-exit` ask the
/// daemon to exit with status 1, `serve-retry-continue` serves on.
pub(crate) fn db_events(
    on_fail: crate::config::model::OnFail,
    exit: Option<std::sync::Arc<tokio::sync::watch::Sender<Option<i32>>>>,
    set_lost: impl Fn(bool) + Send + Sync + 'static,
) -> crate::lease::postgres::DbEvents {
    use crate::config::model::OnFail;
    use crate::lease::postgres::DbEvent;
    Box::new(move |e| match (e, on_fail) {
        (DbEvent::Lost, OnFail::StopRetryExit) => set_lost(true),
        (DbEvent::Lost, _) => {}
        (DbEvent::Recovered, _) | (DbEvent::GaveUp, OnFail::ServeRetryContinue) => set_lost(false),
        (DbEvent::GaveUp, _) => {
            if let Some(x) = &exit {
                x.send_replace(Some(1));
            }
        }
    })
}

/// Kea's `NetworkState::DB_CONNECTION` origin id.
pub const DB_CONNECTION_ORIGIN: u32 = 3000;

impl DhcpState {
    fn locked(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Option<i64>, Option<u64>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Disables the service for `origin` (None: the user), optionally for `max_period` seconds.
    pub fn disable(&self, origin: Option<i64>, max_period: Option<u64>, now: u64) {
        self.locked().insert(origin, max_period.map(|p| now.saturating_add(p)));
        self.disabled.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Enables the service for `origin`; it serves again once no origin holds it disabled.
    pub fn enable(&self, origin: Option<i64>) {
        let mut g = self.locked();
        g.remove(&origin);
        self.disabled.store(!g.is_empty(), std::sync::atomic::Ordering::Release);
    }

    /// Drops the holds whose `max-period` has lapsed.
    fn expire(&self, g: &mut std::collections::BTreeMap<Option<i64>, Option<u64>>, now: u64) {
        g.retain(|_, until| until.is_none_or(|u| now < u));
        self.disabled.store(!g.is_empty(), std::sync::atomic::Ordering::Release);
    }

    /// Holds the service disabled (or releases it) for a lost lease database connection.
    pub fn set_db_connection_lost(&self, lost: bool) {
        self.db_lost.store(lost, std::sync::atomic::Ordering::Release);
    }

    /// True when packets must be dropped at `now`.
    pub fn is_disabled(&self, now: u64) -> bool {
        if self.db_lost.load(std::sync::atomic::Ordering::Acquire) {
            return true;
        }
        if !self.disabled.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        let mut g = self.locked();
        self.expire(&mut g, now);
        !g.is_empty()
    }

    /// Who holds the service disabled at `now`.
    pub fn snapshot(&self, now: u64) -> Disabled {
        let mut g = self.locked();
        self.expire(&mut g, now);
        let by_db_connection = if self.db_lost.load(std::sync::atomic::Ordering::Acquire) {
            vec![DB_CONNECTION_ORIGIN]
        } else {
            Vec::new()
        };
        Disabled { by_user: g.contains_key(&None), by_remote: g.keys().flatten().copied().collect(), by_db_connection }
    }
}

/// Threads (and sockets) per interface for the configured `multi-threading` value: 0 means
/// one per core (Kea ARM 8.2.37).
pub fn packet_threads(configured: u32) -> u32 {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        n => n,
    }
}

/// The steering shares of `threads` sockets on one interface: a single unsteered socket, or
/// one share each ([`crate::net::steer`]).
pub fn shares(threads: u32) -> Vec<Option<crate::net::steer::Steer>> {
    match threads {
        0 | 1 => vec![None],
        count => (0..count).map(|index| Some(crate::net::steer::Steer { index, count })).collect(),
    }
}

/// Room a reply buffer starts with: a DHCPv4 reply fits the 576 octets every client accepts
/// (RFC 2131 2), and most DHCPv6 replies do too.
const REPLY_CAPACITY: usize = 576;

/// The encode buffers of one socket's replies, reused batch after batch so a steady stream of
/// replies allocates nothing to be encoded (the socket has one sending thread, so the lock is
/// never contended).
#[derive(Debug, Default)]
pub struct ReplyBuffers(std::sync::Mutex<Vec<Vec<u8>>>);

impl ReplyBuffers {
    /// Runs `f` over `n` cleared buffers taken from the pool, then keeps them for the next batch.
    pub fn with<R>(&self, n: usize, f: impl FnOnce(&mut [Vec<u8>]) -> R) -> R {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut bufs = std::mem::take(&mut *lock());
        if bufs.len() < n {
            bufs.resize_with(n, || Vec::with_capacity(REPLY_CAPACITY));
        }
        let used = &mut bufs[..n];
        used.iter_mut().for_each(Vec::clear);
        let r = f(used);
        *lock() = bufs;
        r
    }
}
