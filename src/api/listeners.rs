//! The control channels a configuration asks for (Kea ARM 8.8.1 `control-socket(s)`, 7.2
//! Control Agent `http-host`/`http-port`), bound before the daemon reports it started and
//! rebound when a new configuration changes them.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;
use tracing::{error, info};

use super::control::{Control, ControlDispatch};
use super::transport::{bind_http, bind_unix, HttpConfig};
use super::{Dispatch, Listener};
use crate::config::model::{Config, ControlSocketKind};

/// One channel to open.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Unix(PathBuf, Listener),
    Http(Value, &'static str, Listener),
}

fn specs(cfg: &Config) -> Vec<Spec> {
    let mut out = Vec::new();
    let daemons = [
        (cfg.dhcp4.as_ref().map(|d| &d.control_sockets), "dhcp4", "kea-dhcpv4-server"),
        (cfg.dhcp6.as_ref().map(|d| &d.control_sockets), "dhcp6", "kea-dhcpv6-server"),
        (cfg.ddns.as_ref().map(|d| &d.control_sockets), "d2", "kea-dhcp-ddns-server"),
    ];
    for (sockets, svc, realm) in daemons {
        for cs in sockets.into_iter().flatten() {
            let l = Listener::Daemon(svc.to_string());
            out.push(match &cs.kind {
                ControlSocketKind::Unix(p) => Spec::Unix(p.clone(), l),
                ControlSocketKind::Http { .. } | ControlSocketKind::Https { .. } => {
                    Spec::Http(cs.params.clone(), realm, l)
                }
            });
        }
    }
    if let Some(a) = &cfg.agent {
        out.push(Spec::Http(a.params.clone(), "kea-control-agent", Listener::Agent));
    }
    out
}

/// The open control channels.
pub struct Listeners {
    specs: Vec<Spec>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    generation: watch::Receiver<u64>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").field("channels", &self.specs.len()).finish()
    }
}

async fn open(
    control: &Arc<Control>,
    specs: &[Spec],
) -> Result<(watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>), String> {
    let dispatch: Arc<dyn Dispatch> = Arc::new(ControlDispatch(control.clone()));
    let (stop, rx) = watch::channel(false);
    // Everything is bound before anything serves, so a bad channel fails the whole set.
    let mut unix = Vec::new();
    let mut http = Vec::new();
    for s in specs {
        match s {
            Spec::Unix(path, l) => {
                // The socket directory (/run/kea by default) may not exist on a fresh machine.
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = std::fs::create_dir_all(dir);
                }
                let b = bind_unix(path.clone()).map_err(|e| format!("control socket {}: {e}", path.display()))?;
                unix.push((b, l.clone()));
            }
            Spec::Http(params, realm, l) => {
                let cfg = HttpConfig::from_params(params, realm)?;
                let b = bind_http(cfg).map_err(|e| e.to_string())?;
                http.push((b, l.clone()));
            }
        }
    }
    let mut tasks = Vec::new();
    for (b, l) in unix {
        info!(target: "kea-dhcp4.commands", "COMMAND_ACCEPTOR_START Starting to accept connections via unix domain socket bound to {}", b.path().display());
        let (d, rx) = (dispatch.clone(), rx.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = b.serve(d, l, rx).await {
                error!(target: "kea-dhcp4.commands", "COMMAND_SOCKET_ACCEPT_FAIL control socket stopped: {e}");
            }
        }));
    }
    for (b, l) in http {
        info!(target: "kea-dhcp4.commands", "HTTP_COMMAND_MGR_SERVICE_STARTED started {} service bound to address {}", if b.is_tls() { "HTTPS" } else { "HTTP" }, b.local_addr());
        let (d, rx) = (dispatch.clone(), rx.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = b.serve(d, l, rx).await {
                error!(target: "kea-dhcp4.commands", "HTTP_COMMAND_MGR_SERVICE_STOPPED control listener stopped: {e}");
            }
        }));
    }
    Ok((stop, tasks))
}

impl Listeners {
    /// Binds and starts every control channel of `cfg`.
    pub async fn start(control: &Arc<Control>, cfg: &Config) -> Result<Listeners, String> {
        let specs = specs(cfg);
        let (stop, tasks) = open(control, &specs).await?;
        Ok(Listeners { specs, stop, tasks, generation: control.generation() })
    }

    /// Resolves after a configuration change; rebinds the channels if the change touched them.
    /// A channel set that cannot be bound is logged and the old one closed (its addresses may
    /// be what the new set needs).
    pub async fn changed(&mut self, control: &Arc<Control>) {
        if self.generation.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        let cfg = control.config();
        let new = specs(&cfg);
        if new == self.specs {
            return;
        }
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        match open(control, &new).await {
            Ok((stop, tasks)) => {
                self.stop = stop;
                self.tasks = tasks;
            }
            Err(e) => {
                error!(target: "kea-dhcp4.commands", "COMMAND_SOCKET_CONFIG_FAIL control channels not reopened: {e}")
            }
        }
        self.specs = new;
    }

    /// Closes every channel.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
