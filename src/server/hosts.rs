//! The hosts databases of a DHCP service (Kea ARM 8.2.3, 9.2.3): before a batch of packets is
//! decided, the reservations of the clients' identifiers are read into the engine's
//! [`HostCache`]; the reserved addresses are re-read every few seconds so that allocation
//! never hands out an address another server's operator reserved.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tracing::warn;

use super::ServiceError;
use crate::config::model::{HostIdentifier, LeaseDatabase};
use crate::engine::hosts::HostCache;
use crate::lease::postgres::hosts::{HostRow, PgHosts};

/// A warning under the family's `hosts` logger (Kea's host backend logger); tracing targets
/// must be literals.
macro_rules! hostlog {
    ($family:expr, $($arg:tt)+) => {
        if $family == 6 {
            warn!(target: "kea-dhcp6.hosts", $($arg)+)
        } else {
            warn!(target: "kea-dhcp4.hosts", $($arg)+)
        }
    };
}

/// Identifiers whose reservations were read less than this long ago are not read again.
const FRESH_SECS: u64 = 1;
/// Identifiers the cache keeps at most.
const CAPACITY: usize = 65_536;
/// How often the reserved addresses are read again.
const RESERVED_EVERY: Duration = Duration::from_secs(5);

/// Builds a family's reservation from host JSON against the configuration serving now.
pub type Build<R> = Arc<dyn Fn(u32, &Value) -> Result<R, String> + Send + Sync>;

/// The hosts databases of one family and the engine's view of them.
pub struct HostSource<R> {
    dbs: Vec<Arc<PgHosts>>,
    cache: Arc<HostCache<R>>,
    family: u8,
}

impl<R> Clone for HostSource<R> {
    fn clone(&self) -> Self {
        HostSource { dbs: self.dbs.clone(), cache: self.cache.clone(), family: self.family }
    }
}

impl<R> std::fmt::Debug for HostSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostSource").field("databases", &self.dbs.len()).finish_non_exhaustive()
    }
}

impl<R: Send + Sync + 'static> HostSource<R> {
    /// Opens every `hosts-database(s)` entry (None: there are none).
    pub fn open(dbs: &[LeaseDatabase], v6: bool) -> Result<Option<HostSource<R>>, ServiceError> {
        if dbs.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for db in dbs {
            if db.kind != "postgresql" {
                return Err(ServiceError::Hosts(format!("database type {} is not available in this build", db.kind)));
            }
            out.push(Arc::new(PgHosts::open_blocking(db, v6).map_err(|e| ServiceError::Hosts(e.to_string()))?));
        }
        Ok(Some(HostSource { dbs: out, cache: Arc::new(HostCache::new(CAPACITY)), family: if v6 { 6 } else { 4 } }))
    }

    /// The engine's view.
    pub fn cache(&self) -> &Arc<HostCache<R>> {
        &self.cache
    }

    /// The databases, in lookup order.
    pub fn databases(&self) -> &[Arc<PgHosts>] {
        &self.dbs
    }

    /// Reads the reservations of the identifiers not read in the last second into the cache.
    /// A failed read leaves the cache as it was: the client is served with what it holds.
    pub fn prefetch(
        &self,
        ids: Vec<HostIdentifier>,
        now: u64,
        build: Build<R>,
    ) -> Option<futures_util::future::BoxFuture<'static, ()>> {
        let mut ids: Vec<HostIdentifier> =
            ids.into_iter().filter(|i| !self.cache.fresh(i, now.saturating_sub(FRESH_SECS))).collect();
        let mut seen = std::collections::HashSet::new();
        ids.retain(|i| seen.insert(i.clone()));
        if ids.is_empty() {
            return None;
        }
        let (dbs, cache, family) = (self.dbs.clone(), self.cache.clone(), self.family);
        Some(Box::pin(async move {
            let mut rows: Vec<HostRow> = Vec::new();
            for db in &dbs {
                match db.by_identifiers(&ids).await {
                    Ok(r) => rows.extend(r),
                    Err(e) => {
                        hostlog!(
                            family,
                            "KAKAPO_HOSTS_READ_FAILED reservations could not be read from the hosts database: {e}"
                        );
                        return;
                    }
                }
            }
            for id in ids {
                let hosts = rows
                    .iter()
                    .filter(|r| r.identifier == id)
                    .filter_map(|r| built(&build, r, family).map(|b| (r.subnet_id, Arc::new(b))))
                    .collect();
                cache.put(id, hosts, now);
            }
        }))
    }

    /// Re-reads the reserved addresses and prefixes now and then while the service runs.
    pub fn spawn_reserved_refresh(&self) {
        let (dbs, cache) = (self.dbs.clone(), Arc::downgrade(&self.cache));
        tokio::spawn(async move {
            loop {
                let Some(c) = cache.upgrade() else { return };
                read_reserved(&dbs, &c).await;
                drop(c);
                tokio::time::sleep(RESERVED_EVERY).await;
            }
        });
    }

    /// After a host command changed a database: `id` (None: every identifier) is read again
    /// with its next packet, the reserved addresses at once.
    pub async fn changed(&self, id: Option<&HostIdentifier>) {
        self.cache.forget(id);
        read_reserved(&self.dbs, &self.cache).await;
    }
}

/// Reads the reserved addresses of every database; a failed read keeps the last set.
async fn read_reserved<R>(dbs: &[Arc<PgHosts>], cache: &HostCache<R>) {
    let mut all = HashMap::new();
    for db in dbs {
        match db.reserved().await {
            Ok(r) => all.extend(r),
            Err(_) => return,
        }
    }
    cache.set_reserved(all);
}

/// A row built into a reservation; a row the configuration refuses is logged and skipped.
fn built<R>(build: &Build<R>, r: &HostRow, family: u8) -> Option<R> {
    match build(r.subnet_id, &Value::Object(r.json.clone())) {
        Ok(b) => Some(b),
        Err(e) => {
            hostlog!(family, "KAKAPO_HOST_ROW_INVALID host {} of the hosts database is not used: {e}", r.host_id);
            None
        }
    }
}

/// The host JSON of a row with its `subnet-id`, as host_cmds answers.
pub fn with_subnet(r: &HostRow) -> Value {
    let mut m: Map<String, Value> = r.json.clone();
    m.insert("subnet-id".into(), Value::from(r.subnet_id));
    Value::Object(m)
}

/// The lease and host reads of a batch as one wait (None: nothing to read).
pub(crate) fn join_reads(
    leases: Option<crate::lease::store::ReadFuture<()>>,
    hosts: Option<futures_util::future::BoxFuture<'static, ()>>,
) -> Option<super::pipeline::BoxFuture<()>> {
    if leases.is_none() && hosts.is_none() {
        return None;
    }
    Some(Box::pin(async move {
        // A lease read that fails leaves the view as it was; the commit arbitrates anyway.
        let leases = async {
            if let Some(r) = leases {
                let _ = r.await;
            }
        };
        let hosts = async {
            if let Some(h) = hosts {
                h.await;
            }
        };
        futures_util::future::join(leases, hosts).await;
    }))
}
