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

/// The open control channels, kept in step with the configuration by a task of their own (so
/// a signal arriving mid-rebind cannot cancel it halfway).
pub struct Listeners {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").finish_non_exhaustive()
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

type Open = (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>);

async fn close((stop, tasks): Open) {
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
}

impl Listeners {
    /// Binds and starts every control channel of `cfg`; afterwards follows configuration changes.
    pub async fn start(control: &Arc<Control>, cfg: &Config) -> Result<Listeners, String> {
        let mut specs_now = specs(cfg);
        let mut open_now = open(control, &specs_now).await?;
        let mut generation = control.generation();
        let (stop, mut stop_rx) = watch::channel(false);
        let control = control.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = generation.changed() => if r.is_err() { break },
                    _ = stop_rx.wait_for(|s| *s) => break,
                }
                let new = specs(&control.config());
                if new == specs_now {
                    continue;
                }
                // The new set may need the addresses the old one holds: close, then bind.
                close(open_now).await;
                open_now = match open(&control, &new).await {
                    Ok(o) => {
                        specs_now = new;
                        o
                    }
                    Err(e) => {
                        error!(target: "kea-dhcp4.commands", "COMMAND_SOCKET_CONFIG_FAIL new control channels could not be opened, keeping the previous ones: {e}");
                        match open(&control, &specs_now).await {
                            Ok(o) => o,
                            Err(e) => {
                                error!(target: "kea-dhcp4.commands", "COMMAND_SOCKET_CONFIG_FAIL previous control channels could not be reopened: {e}");
                                (watch::channel(false).0, Vec::new())
                            }
                        }
                    }
                };
            }
            close(open_now).await;
        });
        Ok(Listeners { stop, task })
    }

    /// Closes every channel.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
