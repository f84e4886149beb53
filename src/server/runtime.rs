//! The runtime that opens, reconfigures and stops the DHCP services of one process (Kea ARM
//! 8.8 `config-set` / `config-reload`): the control API asks it, never touches sockets or lease
//! files itself.

use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use tracing::error;

use super::v4::{self, Service4};
use super::v6::{self, Service6};
use super::{ServiceError, ServiceOptions};
use crate::config::model::Config;
use crate::stats::Stats;

/// The running services and the switch that stops them.
struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    v4: Option<Arc<v4::Shared>>,
    v6: Option<Arc<v6::Shared>>,
}

/// The running services' shared state, read by the lease and disable/enable commands.
type Handles = (Option<Arc<v4::Shared>>, Option<Arc<v6::Shared>>);

/// The DHCP services of one process.
pub struct Services {
    opts: ServiceOptions,
    stats4: Arc<Stats>,
    stats6: Arc<Stats>,
    running: tokio::sync::Mutex<Option<Running>>,
    handles: RwLock<Handles>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("opts", &self.opts).finish_non_exhaustive()
    }
}

impl Services {
    /// No service running yet; statistics go to the daemons' registries.
    pub fn new(opts: ServiceOptions, stats4: Arc<Stats>, stats6: Arc<Stats>) -> Services {
        Services { opts, stats4, stats6, running: tokio::sync::Mutex::new(None), handles: RwLock::new((None, None)) }
    }

    /// The DHCPv4 service's shared state, when it runs.
    pub fn v4(&self) -> Option<Arc<v4::Shared>> {
        self.handles.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// The DHCPv6 service's shared state, when it runs.
    pub fn v6(&self) -> Option<Arc<v6::Shared>> {
        self.handles.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// False when the services could not be (re)opened and none runs (`status-get` "sockets").
    pub fn is_serving(&self) -> bool {
        !self.running.try_lock().is_ok_and(|r| r.is_none())
    }

    /// Opens and starts the services of `cfg`.
    pub async fn start(&self, cfg: &Config) -> Result<(), ServiceError> {
        let mut running = self.running.lock().await;
        *running = Some(off_runtime(|| self.open(cfg))?);
        self.publish(running.as_ref());
        Ok(())
    }

    /// Stops the services and flushes the lease files.
    pub async fn stop(&self) {
        let mut running = self.running.lock().await;
        if let Some(r) = running.take() {
            stop_running(r).await;
        }
        self.publish(None);
    }

    fn publish(&self, r: Option<&Running>) {
        let mut h = self.handles.write().unwrap_or_else(|e| e.into_inner());
        *h = (r.and_then(|r| r.v4.clone()), r.and_then(|r| r.v6.clone()));
    }

    fn open(&self, cfg: &Config) -> Result<Running, ServiceError> {
        let v4 = match cfg.dhcp4.clone() {
            Some(d4) => Some(Service4::open(Arc::new(d4), self.opts.clone(), self.stats4.clone())?),
            None => None,
        };
        let v6 = match cfg.dhcp6.clone() {
            Some(d6) => Some(Service6::open(Arc::new(d6), self.opts.clone(), self.stats6.clone())?),
            None => None,
        };
        let (stop, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let (mut h4, mut h6) = (None, None);
        if let Some(s) = v4 {
            h4 = Some(s.shared());
            tasks.push(tokio::spawn(s.serve(rx.clone())));
        }
        if let Some(s) = v6 {
            h6 = Some(s.shared());
            tasks.push(tokio::spawn(s.serve(rx)));
        }
        Ok(Running { stop, tasks, v4: h4, v6: h6 })
    }

    /// Whether `new` can be applied to the running sockets and lease storage.
    fn hot(running: Option<&Running>, old: &Config, new: &Config) -> bool {
        let Some(r) = running else { return false };
        let v4_ok = match (&old.dhcp4, &new.dhcp4, &r.v4) {
            (Some(a), Some(b), Some(_)) => v4::can_reconfigure(a, b),
            (None, None, None) => true,
            _ => false,
        };
        let v6_ok = match (&old.dhcp6, &new.dhcp6, &r.v6) {
            (Some(a), Some(b), Some(_)) => v6::can_reconfigure(a, b),
            (None, None, None) => true,
            _ => false,
        };
        v4_ok && v6_ok
    }

    /// Applies a checked configuration in place of `old` (Kea ARM 8.8 `config-set`): in place
    /// when sockets and lease storage stay the same, else by reopening the services. When the
    /// new configuration cannot be served, `old` is opened again and the error returned.
    pub async fn apply(&self, old: &Config, new: &Config, now: u64) -> Result<(), ServiceError> {
        let mut running = self.running.lock().await;
        if Self::hot(running.as_ref(), old, new) {
            if let Some(r) = running.as_ref() {
                if let (Some(sh), Some(d4)) = (&r.v4, &new.dhcp4) {
                    sh.reconfigure(Arc::new(d4.clone()), now);
                }
                if let (Some(sh), Some(d6)) = (&r.v6, &new.dhcp6) {
                    sh.reconfigure(Arc::new(d6.clone()), now);
                }
            }
        } else {
            if let Some(r) = running.take() {
                // Commands see no service rather than a stopped one while the new one opens.
                self.publish(None);
                stop_running(r).await;
            }
            match off_runtime(|| self.open(new)) {
                Ok(r) => *running = Some(r),
                Err(e) => {
                    *running = match off_runtime(|| self.open(old)) {
                        Ok(r) => Some(r),
                        Err(e2) => {
                            error!(target: "kea-dhcp4.dhcp4", "DHCP4_INIT_FAIL failed to initialize Kea server: the previous configuration could not be restored: {e2}");
                            None
                        }
                    };
                    // Statistics the rejected configuration's subnets created go with it.
                    let ids4 =
                        |c: &Config| c.dhcp4.as_ref().map(|d| d.subnets.iter().map(|s| s.id).collect::<Vec<_>>());
                    let ids6 =
                        |c: &Config| c.dhcp6.as_ref().map(|d| d.subnets.iter().map(|s| s.id).collect::<Vec<_>>());
                    let forget = super::forget_removed_subnets;
                    forget(&self.stats4, ids4(new).unwrap_or_default().into_iter(), &ids4(old).unwrap_or_default());
                    forget(&self.stats6, ids6(new).unwrap_or_default().into_iter(), &ids6(old).unwrap_or_default());
                    self.publish(running.as_ref());
                    return Err(e);
                }
            }
        }
        self.publish(running.as_ref());
        // A reopened service dropped the old engines: the statistics of removed subnets
        // that were only hidden while those engines held them can go now.
        self.stats4.sweep();
        self.stats6.sweep();
        Ok(())
    }
}

async fn stop_running(r: Running) {
    let _ = r.stop.send(true);
    for t in r.tasks {
        if let Err(e) = t.await {
            error!(target: "kea-dhcp4.dhcp4", "KAKAPO_SERVICE_STOP_FAIL {e}");
        }
    }
}

/// Runs file-heavy work (loading a lease file, writing the server DUID) without holding up
/// the runtime: on a multi-threaded runtime the worker hands its other tasks to the pool first.
fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
