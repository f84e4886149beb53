//! The control channels a configuration asks for (Kea ARM 8.8.1 `control-socket(s)`, 7.2
//! Control Agent `http-host`/`http-port`).
//!
//! A configuration's channels are prepared before the configuration is committed: every
//! listener's parameters parsed, its secret and TLS files read, and every endpoint that is not
//! open yet bound. Any failure rejects the whole configuration (Kea 3.0 ARM "Kea Security":
//! configuration changes apply whole or not at all), and the channels that serve keep their
//! old settings. Committing swaps the settings of endpoints that stay (their sockets are never
//! closed), starts the new ones and stops the ones the configuration no longer names.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{watch, Mutex, OwnedMutexGuard};
use tracing::{error, info};

use super::transport::{
    bind_http_prepared, bind_unix, prepare_http, BoundHttp, BoundUnix, HttpConfig, HttpHandle, HttpSettings, Limits,
    UnixHandle,
};
use super::{Dispatch, Listener};
use crate::config::model::{Config, ControlSocketKind, HttpChannel};

/// One channel to open.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Unix(PathBuf, Listener),
    Http(HttpChannel, &'static str, Listener),
}

fn specs(cfg: &Config) -> Vec<Spec> {
    let mut out = Vec::new();
    let daemons = [
        (cfg.dhcp4.as_ref().map(|d| &d.daemon.control_sockets), "dhcp4", "kea-dhcpv4-server"),
        (cfg.dhcp6.as_ref().map(|d| &d.daemon.control_sockets), "dhcp6", "kea-dhcpv6-server"),
        (cfg.ddns.as_ref().map(|d| &d.control_sockets), "d2", "kea-dhcp-ddns-server"),
    ];
    for (sockets, svc, realm) in daemons {
        for cs in sockets.into_iter().flatten() {
            let l = Listener::Daemon(svc.to_string());
            out.push(match &cs.kind {
                ControlSocketKind::Unix(p) => Spec::Unix(p.clone(), l),
                ControlSocketKind::Http(h) => Spec::Http(h.clone(), realm, l),
            });
        }
    }
    if let Some(a) = &cfg.agent {
        out.push(Spec::Http(a.http.clone(), "kea-control-agent", Listener::Agent));
    }
    out
}

/// Where a channel listens; an endpoint whose key stays across configurations keeps its socket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Unix(PathBuf),
    Http(SocketAddr),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Unix(p) => write!(f, "control socket {}", p.display()),
            Key::Http(a) => write!(f, "HTTP control listener {a}"),
        }
    }
}

/// A serving channel.
struct Endpoint {
    handle: Handle,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

enum Handle {
    Unix(UnixHandle),
    Http(HttpHandle),
}

/// One channel of a prepared configuration.
enum Item {
    /// Already serving: only its settings change.
    Keep { key: Key, settings: Settings, listener: Listener },
    /// Bound now, serving from the commit on.
    New { key: Key, bound: Bound, listener: Listener },
}

enum Settings {
    Unix(Limits),
    Http(HttpSettings),
}

enum Bound {
    Unix(BoundUnix),
    Http(BoundHttp),
}

/// The open control channels of the process (Kea ARM 8.8.1).
pub struct Listeners {
    endpoints: Arc<Mutex<BTreeMap<Key, Endpoint>>>,
    dispatch: Arc<dyn Dispatch>,
    restrictions: bool,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").field("restrictions", &self.restrictions).finish_non_exhaustive()
    }
}

/// A configuration's channels, ready to serve (Kea ARM 8.8 config-set). Dropping it instead of
/// committing closes what it bound and leaves the serving channels as they were.
pub struct Prepared {
    endpoints: OwnedMutexGuard<BTreeMap<Key, Endpoint>>,
    items: Vec<Item>,
    dispatch: Arc<dyn Dispatch>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("channels", &self.items.len()).finish_non_exhaustive()
    }
}

/// Parses, reads and binds everything `specs` names; runs on a blocking thread because secret,
/// certificate and key files are read and the socket directory checked.
fn prepare_blocking(specs: Vec<Spec>, open: BTreeSet<Key>, restrictions: bool) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut seen = BTreeSet::new();
    for s in specs {
        let (key, item) = match s {
            Spec::Unix(path, listener) => {
                let key = Key::Unix(path.clone());
                let item = if open.contains(&key) {
                    Item::Keep { key: key.clone(), settings: Settings::Unix(Limits::default()), listener }
                } else {
                    let bound = bind_unix(path.clone(), restrictions)
                        .map_err(|e| format!("control socket {}: {e}", path.display()))?;
                    Item::New { key: key.clone(), bound: Bound::Unix(bound), listener }
                };
                (key, item)
            }
            Spec::Http(channel, realm, listener) => {
                let cfg = HttpConfig::from_channel(&channel, realm)?;
                let addr = SocketAddr::new(cfg.address, cfg.port);
                let key = Key::Http(addr);
                let settings = prepare_http(&cfg).map_err(|e| format!("HTTP control listener {addr}: {e}"))?;
                let item = if open.contains(&key) {
                    Item::Keep { key: key.clone(), settings: Settings::Http(settings), listener }
                } else {
                    let bound = bind_http_prepared(addr, settings).map_err(|e| e.to_string())?;
                    Item::New { key: key.clone(), bound: Bound::Http(bound), listener }
                };
                (key, item)
            }
        };
        if !seen.insert(key.clone()) {
            return Err(format!("{key} is configured more than once"));
        }
        items.push(item);
    }
    Ok(items)
}

/// Checks what the HTTP(S) channels of `cfg` read (credential files, certificates and keys)
/// without binding anything, so `config-test` refuses what `config-set` would (Kea ARM 8.8).
/// Reads files: call it off the runtime threads.
pub fn check_files(cfg: &Config) -> Result<(), String> {
    for s in specs(cfg) {
        if let Spec::Http(channel, realm, _) = s {
            let http = HttpConfig::from_channel(&channel, realm)?;
            let addr = SocketAddr::new(http.address, http.port);
            prepare_http(&http).map_err(|e| format!("HTTP control listener {addr}: {e}"))?;
        }
    }
    Ok(())
}

impl Listeners {
    /// No channels yet; `restrictions` is false under `-X` (Kea 3.0 ARM "Kea Security"), which
    /// turns refusals of unsafe socket directories into warnings.
    pub fn new(dispatch: Arc<dyn Dispatch>, restrictions: bool) -> Listeners {
        Listeners { endpoints: Arc::default(), dispatch, restrictions }
    }

    /// Prepares the channels of `cfg` without touching the serving ones (Kea ARM 8.8
    /// config-set); the error is the reason the configuration must be rejected. Holds the
    /// channel set until the result is committed or dropped.
    pub async fn prepare(&self, cfg: &Config) -> Result<Prepared, String> {
        let endpoints = self.endpoints.clone().lock_owned().await;
        let open: BTreeSet<Key> = endpoints.keys().cloned().collect();
        let specs = specs(cfg);
        let restrictions = self.restrictions;
        let items = tokio::task::spawn_blocking(move || prepare_blocking(specs, open, restrictions))
            .await
            .map_err(|e| format!("control channel set-up failed: {e}"))??;
        Ok(Prepared { endpoints, items, dispatch: self.dispatch.clone() })
    }

    /// Prepares and commits `cfg`'s channels at once (start-up).
    pub async fn start(&self, cfg: &Config) -> Result<(), String> {
        self.prepare(cfg).await?.commit().await;
        Ok(())
    }

    /// Closes every channel.
    pub async fn stop(&self) {
        let mut endpoints = self.endpoints.lock().await;
        for (key, ep) in std::mem::take(&mut *endpoints) {
            stop_endpoint(&key, ep).await;
        }
    }
}

async fn stop_endpoint(key: &Key, ep: Endpoint) {
    let _ = ep.stop.send(true);
    let _ = ep.task.await;
    info!(target: "kea-dhcp4.commands", "KAKAPO_CONTROL_CHANNEL_CLOSED {key} closed");
}

fn spawn(bound: Bound, listener: Listener, dispatch: Arc<dyn Dispatch>) -> Endpoint {
    let (stop, rx) = watch::channel(false);
    let (handle, task) = match bound {
        Bound::Unix(b) => {
            info!(target: "kea-dhcp4.commands", "COMMAND_ACCEPTOR_START Starting to accept connections via unix domain socket bound to {}", b.path().display());
            let handle = Handle::Unix(b.handle());
            let path = b.path().display().to_string();
            let task = tokio::spawn(async move {
                if let Err(e) = b.serve(dispatch, listener, rx).await {
                    error!(target: "kea-dhcp4.commands", "COMMAND_SOCKET_ACCEPT_FAIL Failed to accept incoming connection on command socket {path}: {e}");
                }
            });
            (handle, task)
        }
        Bound::Http(b) => {
            info!(target: "kea-dhcp4.commands", "HTTP_COMMAND_MGR_SERVICE_STARTED started {} service bound to address {}", if b.is_tls() { "HTTPS" } else { "HTTP" }, b.local_addr());
            let handle = Handle::Http(b.handle());
            let task = tokio::spawn(async move {
                if let Err(e) = b.serve(dispatch, listener, rx).await {
                    error!(target: "kea-dhcp4.commands", "KAKAPO_CONTROL_LISTENER_STOPPED control listener stopped: {e}");
                }
            });
            (handle, task)
        }
    };
    Endpoint { handle, stop, task }
}

impl Prepared {
    /// Makes the prepared channels the serving ones: kept endpoints take the new settings,
    /// new ones start, and the ones no longer configured stop (Kea ARM 8.8 config-set).
    pub async fn commit(self) {
        let Prepared { mut endpoints, items, dispatch } = self;
        let mut wanted = BTreeSet::new();
        for item in items {
            match item {
                Item::Keep { key, settings, listener } => {
                    match (endpoints.get(&key).map(|e| &e.handle), settings) {
                        (Some(Handle::Unix(h)), Settings::Unix(limits)) => h.update(limits, listener),
                        (Some(Handle::Http(h)), Settings::Http(s)) => h.update(s, listener),
                        // Keys name the kind, so a kept key always has a handle of its kind.
                        _ => {}
                    }
                    wanted.insert(key);
                }
                Item::New { key, bound, listener } => {
                    endpoints.insert(key.clone(), spawn(bound, listener, dispatch.clone()));
                    wanted.insert(key);
                }
            }
        }
        let gone: Vec<Key> = endpoints.keys().filter(|k| !wanted.contains(*k)).cloned().collect();
        for key in gone {
            if let Some(ep) = endpoints.remove(&key) {
                stop_endpoint(&key, ep).await;
            }
        }
    }
}
