//! The running daemon as the control channel sees it (Kea ARM 8.8 "Management API"): the
//! configuration in force, the DHCP services it runs, and the handlers of the built-in,
//! stat_cmds, host_cmds and subnet_cmds commands. Lease commands are in `lease_cmds`,
//! statistic commands in `stat_cmds`.
//!
//! Every configuration change (config-set, config-reload, SIGHUP, reservation-add,
//! subnet4-add, ...) goes through one path: a whole new JSON document is checked by the same
//! checker as `-t`, then applied atomically — in place (engines swapped under their lock, sockets
//! and lease file kept) when only the DHCP logic changed, else by reopening the services, with
//! the old configuration restored if the new one cannot be served.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tracing::{error, info};

use super::command::{norm_id, Command, Family, HostKey, Origin, SubnetKey, Subnets, Target};
use super::{Request, Response, RESULT_EMPTY, RESULT_ERROR};
use crate::clock;
use crate::config::model::{Config, HostIdentifier};
use crate::config::policy::SecurityPolicy;
use crate::config::render::{config_get, config_hash};
use crate::config::{self, LoadOptions, Section};
use crate::lease::postgres::hosts::{identifier_named, HostKey as DbHostKey, PgHosts};
use crate::lease::LeaseState;
use crate::server::runtime::Services;
use crate::server::v4 as service4;
use crate::server::v6 as service6;
use crate::server::{ServiceError, ServiceOptions};
use crate::stats::Stats;
use crate::stats::Tally;

/// Kea's build report (`-V`, `build-report`, `version-get`'s `extended`): the Kea API level
/// first, as Kea prints its version first, then kakapo's own version.
pub fn build_report() -> String {
    format!(
        "{}\nkakapo {} (Rust, tokio)\nhooks built in: {}\n",
        crate::KEA_API_LEVEL,
        env!("CARGO_PKG_VERSION"),
        crate::config::model::BUILTIN_HOOKS.join(" ")
    )
}

/// Where the daemon's configuration comes from and how its services are opened.
#[derive(Debug, Clone)]
pub struct ControlSettings {
    /// The `-c` files.
    pub files: Vec<PathBuf>,
    /// The section this process runs when started as `kea-dhcp4` etc.
    pub only: Option<Section>,
    /// Ports and data directory.
    pub opts: ServiceOptions,
    /// Kea 3.0's security policy every new configuration and `config-write` is held to;
    /// `None` (tests driving the handlers) checks nothing.
    pub policy: Option<SecurityPolicy>,
}

/// A predicate over a reservation map.
type HostMatcher = Box<dyn Fn(&Value) -> bool + Send + Sync>;

/// The daemon state the handlers act on.
pub struct Control {
    settings: ControlSettings,
    /// One registry per daemon, as in Kea (`subnet[1]` of Dhcp4 and of Dhcp6 are different).
    stats4: Arc<Stats>,
    stats6: Arc<Stats>,
    stats_other: Arc<Stats>,
    pid: u32,
    started: u64,
    reloaded: AtomicU64,
    cfg: RwLock<Arc<Config>>,
    /// The DHCP services (server::runtime).
    services: Services,
    /// Serialises starting, stopping and applying configurations.
    applying: tokio::sync::Mutex<()>,
    /// Serialises configuration edits (config-set, reload, reservation and subnet commands) from
    /// reading the configuration to applying the result, so concurrent edits never undo each
    /// other.
    edit: tokio::sync::Mutex<()>,
    exit: Arc<watch::Sender<Option<i32>>>,
    generation: watch::Sender<u64>,
    on_config: OnConfig,
    /// The control channels, prepared with every new configuration before it is committed.
    /// Weak: the channels' dispatcher holds the Control.
    listeners: RwLock<std::sync::Weak<super::listeners::Listeners>>,
}

/// Applies the parts of a configuration that live outside the services (the loggers); an
/// error means nothing of it was applied.
pub type OnConfig = Box<dyn Fn(&Config) -> Result<(), String> + Send + Sync>;

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").field("files", &self.settings.files).finish_non_exhaustive()
    }
}

/// The JSON key of a section, as in the configuration file.
fn key(s: Section) -> &'static str {
    s.key()
}

fn service_text(s: Section) -> &'static str {
    match s {
        Section::Dhcp4 => "DHCPv4",
        Section::Dhcp6 => "DHCPv6",
        Section::DhcpDdns => "DHCP-DDNS",
        Section::ControlAgent => "Control Agent",
    }
}

impl Control {
    /// A control over `cfg`; `on_config` applies every new configuration's loggers before its
    /// services, so a logger that cannot be opened refuses the configuration.
    pub fn new(settings: ControlSettings, cfg: Config, on_config: OnConfig) -> Arc<Control> {
        let now = clock::unix_now();
        let exit = Arc::new(watch::channel(None).0);
        let (stats4, stats6) = (Arc::new(Stats::default()), Arc::new(Stats::default()));
        // A service may ask the daemon to exit (a lease database lost for good).
        let opts = ServiceOptions { exit: Some(exit.clone()), ..settings.opts.clone() };
        let services = Services::new(opts, stats4.clone(), stats6.clone());
        let c = Arc::new(Control {
            settings,
            stats4,
            stats6,
            stats_other: Arc::default(),
            pid: std::process::id(),
            started: now,
            reloaded: AtomicU64::new(now),
            cfg: RwLock::new(Arc::new(cfg)),
            services,
            applying: tokio::sync::Mutex::new(()),
            edit: tokio::sync::Mutex::new(()),
            exit,
            generation: watch::channel(0).0,
            on_config,
            listeners: RwLock::new(std::sync::Weak::new()),
        });
        c.sample_limits(&c.config());
        c
    }

    /// `statistic-default-sample-count` / `-age` of each daemon (Kea ARM 8.9).
    fn sample_limits(&self, cfg: &Config) {
        for s in [Section::Dhcp4, Section::Dhcp6] {
            if let Some(d) = cfg.daemon(s) {
                self.stats(s).set_default_limits(d.sample_count, d.sample_age);
            }
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.cfg.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The statistics registry of one daemon.
    pub fn stats(&self, section: Section) -> &Arc<Stats> {
        match section {
            Section::Dhcp4 => &self.stats4,
            Section::Dhcp6 => &self.stats6,
            _ => &self.stats_other,
        }
    }

    /// The DHCPv4 service's shared state, when it runs.
    pub fn v4(&self) -> Option<Arc<service4::Shared>> {
        self.services.v4()
    }

    /// The DHCPv6 service's shared state, when it runs.
    pub fn v6(&self) -> Option<Arc<service6::Shared>> {
        self.services.v6()
    }

    /// Makes every later configuration change prepare `listeners` first, so a configuration
    /// whose control channels cannot be opened is rejected whole (Kea 3.0 ARM "Kea Security").
    pub fn attach_listeners(&self, listeners: &Arc<super::listeners::Listeners>) {
        *self.listeners.write().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(listeners);
    }

    /// Changes whenever a new configuration was applied.
    pub fn generation(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Turns `Some(exit value)` when a `shutdown` command was accepted.
    pub fn exit_requested(&self) -> watch::Receiver<Option<i32>> {
        self.exit.subscribe()
    }

    /// Opens and starts the services of the configuration in force.
    pub async fn start(&self) -> Result<(), ServiceError> {
        let _applying = self.applying.lock().await;
        self.services.start(&self.config()).await
    }

    /// Stops the services and flushes the lease files.
    pub async fn stop(&self) {
        let _applying = self.applying.lock().await;
        self.services.stop().await;
    }

    /// Applies a checked configuration (Kea ARM 8.8 config-set): in place when sockets and
    /// lease storage stay the same, else by reopening the services; the old configuration
    /// keeps running if the new one cannot be served.
    pub async fn apply(&self, new: Config) -> Result<(), String> {
        let _applying = self.applying.lock().await;
        // Control channels first: a configuration whose channels cannot be opened is rejected
        // before anything changes. Dropping `prepared` on a later error undoes it.
        let listeners = self.listeners.read().unwrap_or_else(|e| e.into_inner()).upgrade();
        let prepared = match &listeners {
            Some(l) => Some(l.prepare(&new).await?),
            None => None,
        };
        let old = self.config();
        let now = clock::unix_now();
        // Loggers first: one that cannot be opened refuses the configuration before anything
        // else changed.
        (self.on_config)(&new)?;
        if let Err(e) = self.services.apply(&old, &new, now).await {
            // The new configuration cannot be served and the old one runs again.
            if let Err(e2) = (self.on_config)(&old) {
                error!(target: "kea-dhcp4.dhcp4", "DHCP4_INIT_FAIL failed to initialize Kea server: the previous loggers could not be restored: {e2}");
            }
            return Err(e.to_string());
        }
        if let Some(p) = prepared {
            p.commit().await;
        }
        self.sample_limits(&new);
        *self.cfg.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new);
        self.reloaded.store(now, Ordering::Relaxed);
        self.generation.send_modify(|g| *g += 1);
        Ok(())
    }

    /// Re-reads the `-c` files and applies them (SIGHUP, `config-reload`).
    pub async fn reload(&self) -> Result<(), String> {
        let _edit = self.edit.lock().await;
        let opts = self.load_options();
        let files = self.settings.files.clone();
        // Files are read off the runtime threads: an include naming a slow or odd file must not
        // stall DHCP or the other commands.
        let loaded = tokio::task::spawn_blocking(move || config::load(&files, &opts))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        log_security_warnings(&loaded.warnings);
        self.apply(loaded.config).await
    }

    /// Checks a configuration document given as JSON (config-set, config-test, mutations).
    fn check(&self, doc: &Value) -> Result<Config, String> {
        let text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
        let loaded = config::load_str("<string>", &text, &self.load_options()).map_err(|e| e.to_string())?;
        log_security_warnings(&loaded.warnings);
        Ok(loaded.config)
    }

    /// How new configurations are loaded: as this daemon, under its security policy.
    fn load_options(&self) -> LoadOptions {
        LoadOptions { only: self.settings.only, host: None, policy: self.settings.policy.clone() }
    }

    /// The whole configuration document, with `section` replaced by `body`.
    fn document_with(&self, section: Section, body: Value) -> Value {
        let cfg = self.config();
        let mut doc = Map::new();
        doc.insert(key(section).to_string(), body);
        for s in cfg.sections() {
            if s != section {
                if let Some(src) = cfg.source.get(&s) {
                    doc.insert(key(s).to_string(), src.clone());
                }
            }
        }
        Value::Object(doc)
    }

    /// Runs `f` on the rendered section (ids assigned, defaults filled), then checks and
    /// applies the result; `f`'s value is returned when all of that succeeded.
    async fn mutate<T>(
        &self,
        section: Section,
        f: impl FnOnce(&mut Map<String, Value>) -> Result<T, Response>,
    ) -> Result<T, Response> {
        let _edit = self.edit.lock().await;
        let cfg = self.config();
        let rendered = config_get(&cfg, section);
        let mut body = match rendered.get(key(section)) {
            Some(Value::Object(m)) => m.clone(),
            _ => return Err(Response::error(format!("no {} configuration", key(section)))),
        };
        let out = f(&mut body)?;
        let doc = self.document_with(section, Value::Object(body));
        let new = self.check(&doc).map_err(Response::error)?;
        self.apply(new).await.map_err(Response::error)?;
        Ok(out)
    }

    /// Handles one request addressed to the daemon of `section`.
    pub async fn handle(&self, section: Section, req: &Request) -> Response {
        let cmd = match Command::parse(req) {
            Ok(c) => c,
            Err(r) => return r,
        };
        let now = clock::unix_now();
        let cfg = self.config();
        match cmd {
            Command::BuildReport => Response::ok(build_report()),
            Command::VersionGet => Response::ok(crate::KEA_API_LEVEL).with_args(json!({ "extended": build_report() })),
            Command::ConfigGet => {
                let mut r = config_get(&cfg, section);
                let hash = config_hash(&r);
                crate::config::render::redact(&mut r);
                if let Value::Object(m) = &mut r {
                    m.insert("hash".into(), Value::String(hash));
                }
                Response::ok("").with_args(r)
            }
            Command::ConfigHashGet => {
                Response::ok("").with_args(json!({ "hash": config_hash(&config_get(&cfg, section)) }))
            }
            Command::ConfigTest(doc) | Command::ConfigSet(doc)
                if doc.get(key(section)).is_some() && Self::extra_key(&doc, section).is_some() =>
            {
                Response::error(format!(
                    "Unsupported '{}' parameter.",
                    Self::extra_key(&doc, section).unwrap_or_default()
                ))
            }
            Command::ConfigTest(doc) => {
                if doc.get(key(section)).is_none() {
                    return Response::error(format!("Missing mandatory '{}' parameter.", key(section)));
                }
                let cfg = match self.check(&doc) {
                    Ok(c) => c,
                    Err(e) => return Response::error(e),
                };
                // What config-set would read (credentials, certificates) must be readable too.
                let files = tokio::task::spawn_blocking(move || super::listeners::check_files(&cfg)).await;
                match files.unwrap_or_else(|e| Err(e.to_string())) {
                    Ok(()) => Response::ok("Configuration seems sane."),
                    Err(e) => Response::error(e),
                }
            }
            Command::ConfigSet(doc) => {
                let _edit = self.edit.lock().await;
                let Some(body) = doc.get(key(section)) else {
                    return Response::error(format!("Missing mandatory '{}' parameter.", key(section)));
                };
                let full = self.document_with(section, body.clone());
                let new = match self.check(&full) {
                    Ok(c) => c,
                    Err(e) => return Response::error(e),
                };
                match self.apply(new).await {
                    Ok(()) => {
                        info!(target: "kea-dhcp4.commands", "DHCP4_CONFIG_COMPLETE DHCPv4 server has completed configuration: applied by config-set");
                        let hash = config_hash(&config_get(&self.config(), section));
                        Response::ok("Configuration successful.").with_args(json!({ "hash": hash }))
                    }
                    Err(e) => Response::error(e),
                }
            }
            Command::ConfigReload => match self.reload().await {
                Ok(()) => Response::ok("Configuration successful."),
                Err(e) => {
                    let files: Vec<String> = self.settings.files.iter().map(|f| f.display().to_string()).collect();
                    Response::error(format!(
                        "Config reload failed: configuration error using file '{}': {e}",
                        files.join(", ")
                    ))
                }
            },
            Command::ConfigWrite(file) => self.config_write(&cfg, file).await,
            Command::DhcpDisable { max_period, origin } => {
                let origin = match origin {
                    Origin::User => None,
                    Origin::Remote(n) => Some(n),
                };
                let done = match section {
                    Section::Dhcp4 => self.v4().map(|s| s.state().disable(origin, max_period, now)),
                    Section::Dhcp6 => self.v6().map(|s| s.state().disable(origin, max_period, now)),
                    _ => None,
                };
                if done.is_none() {
                    return Response::error(format!("{} service is not running", service_text(section)));
                }
                match max_period {
                    Some(p) => Response::ok(format!("{} service disabled for {p} seconds", service_text(section))),
                    None => Response::ok(format!("{} service disabled", service_text(section))),
                }
            }
            Command::DhcpEnable { origin } => {
                let origin = match origin {
                    Origin::User => None,
                    Origin::Remote(n) => Some(n),
                };
                let done = match section {
                    Section::Dhcp4 => self.v4().map(|s| s.state().enable(origin)),
                    Section::Dhcp6 => self.v6().map(|s| s.state().enable(origin)),
                    _ => None,
                };
                if done.is_none() {
                    return Response::error(format!("{} service is not running", service_text(section)));
                }
                Response::ok("DHCP service successfully enabled")
            }
            Command::LeasesReclaim { remove } => self.reclaim(section, remove, now).await,
            Command::ListCommands => Response::ok("").with_args(json!(self.commands(section))),
            // Kea's answers: its libraries reload; kakapo's are part of the binary.
            Command::LibReload => Response::ok("Hooks libraries successfully reloaded."),
            Command::ConfigBackendPull => Response::new(RESULT_EMPTY, "No config backend."),
            Command::ServerTagGet => {
                let tag = cfg.daemon(section).map_or("", |d| d.server_tag.as_str());
                Response::ok("").with_args(json!({ "server-tag": tag }))
            }
            Command::Shutdown { exit_value } => {
                // Kept even when nobody listens yet, so a later subscriber still sees it.
                self.exit.send_replace(Some(exit_value));
                Response::ok("Shutting down.")
            }
            Command::StatusGet => self.status(section, now),
            Command::Statistic(cmd) => super::stat_cmds::execute(self.stats(section), &cmd, now),
            Command::Lease(cmd) => {
                let (v4, v6) = match section {
                    Section::Dhcp4 => (self.v4(), None),
                    Section::Dhcp6 => (None, self.v6()),
                    _ => (None, None),
                };
                let ddns = match section {
                    Section::Dhcp4 => cfg.dhcp4.as_ref().is_some_and(|d| d.daemon.ddns_enabled),
                    Section::Dhcp6 => cfg.dhcp6.as_ref().is_some_and(|d| d.daemon.ddns_enabled),
                    _ => false,
                };
                super::lease_cmds::execute(v4.as_ref(), v6.as_ref(), ddns, &cmd, now).await.unwrap_or_else(|| {
                    Response::new(super::RESULT_UNSUPPORTED, format!("'{}' command not supported.", cmd.name()))
                })
            }
            Command::StatLeaseGet(fam, subnets) => self.stat_lease_get(section, fam, subnets, now),
            Command::ReservationAdd { subnet_id, host, target } => {
                self.reservation_add(section, subnet_id, host, target).await
            }
            Command::ReservationDel { subnet_id, host, target } => {
                self.reservation_del(section, subnet_id, &host, target).await
            }
            Command::ReservationGet { subnet_id, host, target } => {
                self.reservation_get(section, subnet_id, &host, target).await
            }
            Command::ReservationGetAll(subnet, target) => {
                self.reservation_list(section, subnet, target, |_| true).await
            }
            Command::ReservationGetPage { subnet_id, from, limit } => {
                self.reservation_page(section, subnet_id, from, limit).await
            }
            Command::ReservationGetByHostname(h, subnet, target) => {
                let by_name =
                    |r: &Value| r.get("hostname").and_then(Value::as_str).is_some_and(|x| x.to_lowercase() == h);
                self.reservation_list(section, subnet, target, by_name).await
            }
            Command::ReservationGetById(t, id, target) => {
                let by_id = |r: &Value| r.get(&t).and_then(Value::as_str).is_some_and(|x| norm_id(x) == id);
                self.reservation_list(section, None, target, by_id).await
            }
            Command::SubnetList(fam) => self.subnet_list(section, fam),
            Command::SubnetGet(fam, key) => self.subnet_get(section, fam, &key),
            Command::SubnetPut { family, id, subnet, update } => {
                self.subnet_add(section, family, id, subnet, update).await
            }
            Command::SubnetDel(fam, id) => self.subnet_del(section, fam, id).await,
            Command::NetworkList(fam) => self.network_list(section, fam),
            Command::NetworkGet(fam, name) => self.network_get(section, fam, &name),
            Command::NetworkAdd(fam, name, net) => self.network_add(section, fam, name, net).await,
            Command::NetworkDel(fam, name, keep) => self.network_del(section, fam, name, keep).await,
        }
    }

    /// A top-level key of a config-set/config-test document that this daemon does not take
    /// (Kea accepts its own section and the 1.x `Logging` map).
    fn extra_key(doc: &Value, section: Section) -> Option<String> {
        doc.as_object()?.keys().find(|k| k.as_str() != key(section) && k.as_str() != "Logging").cloned()
    }

    /// Every command this daemon answers, sorted (list-commands).
    pub fn commands(&self, section: Section) -> Vec<String> {
        let mut v: Vec<String> = super::command::COMMANDS.iter().map(|s| s.to_string()).collect();
        v.extend(super::stat_cmds::COMMANDS.iter().map(|s| s.to_string()));
        let fam = match section {
            Section::Dhcp4 => Some(Family::V4),
            Section::Dhcp6 => Some(Family::V6),
            _ => None,
        };
        if let Some(fam) = fam {
            // Kea's lease_cmds and stat_cmds register both families' commands in either daemon.
            v.extend(super::lease_cmds::COMMANDS.iter().map(|s| s.to_string()));
            v.extend(super::command::hook_commands(fam));
            v.push(if fam == Family::V4 { "stat-lease6-get" } else { "stat-lease4-get" }.to_string());
            v.extend(["config-backend-pull", "libreload"].map(str::to_string));
        }
        v.sort();
        v.dedup();
        v
    }

    async fn config_write(&self, cfg: &Config, file: Option<String>) -> Response {
        let Some(default) = self.settings.files.first() else {
            return Response::error("Unable to determine filename.Please specify filename explicitly.");
        };
        let path = match file {
            Some(f) if std::path::Path::new(&f).is_absolute() => PathBuf::from(f),
            // Relative names go beside the configuration file, like Kea 2.7.9+ requires.
            Some(f) => default.parent().map_or_else(|| PathBuf::from(&f), |d| d.join(&f)),
            None => default.clone(),
        };
        if !SecurityPolicy::config_write_allowed(default, &path) {
            let text = format!(
                "not allowed to write config into {0}: file {0} must be in the same directory as the config file ({1})",
                path.display(),
                default.display()
            );
            match &self.settings.policy {
                Some(p) if !p.enforce => {
                    tracing::warn!(target: "kea-dhcp4.commands", "COMMAND_CONFIG_WRITE_PATH_SECURITY_WARNING {text}")
                }
                Some(_) => return Response::error(text),
                None => {}
            }
        }
        let mut doc = Map::new();
        for s in cfg.sections() {
            if let Some(Value::Object(m)) = Some(config_get(cfg, s)) {
                doc.extend(m);
            }
        }
        let text = match serde_json::to_string_pretty(&Value::Object(doc)) {
            Ok(t) => t + "\n",
            Err(e) => return Response::error(e.to_string()),
        };
        let (size, target) = (text.len(), path.clone());
        // Disk writes and fsync happen off the runtime threads.
        let res = tokio::task::spawn_blocking(move || crate::safefs::write_atomic(&target, text.as_bytes()))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        match res {
            Ok(()) => Response::ok(format!("Configuration written to {} successful", path.display()))
                .with_args(json!({ "filename": path.display().to_string(), "size": size })),
            Err(e) => Response::error(format!("Unable to open file {} for writing: {e}", path.display())),
        }
    }

    async fn reclaim(&self, section: Section, remove: bool, now: u64) -> Response {
        let res: Result<(), String> = async {
            match section {
                Section::Dhcp4 => {
                    if let Some(sh) = self.v4() {
                        let (_, changes, res) =
                            sh.change(|e, t| ((), e.reclaim_up_to(now, usize::MAX, t, &mut || false))).await;
                        res.map_err(|e| e.to_string())?;
                        if remove {
                            for c in changes {
                                let crate::lease::LeaseChange4::Upsert(l, _) = c else { continue };
                                if l.state == LeaseState::ExpiredReclaimed {
                                    let del = |e: &crate::engine::v4::Engine4, _: &mut Tally| {
                                        ((), e.admin_delete(l.address).into_iter().collect())
                                    };
                                    sh.change(del).await.2.map_err(|e| e.to_string())?;
                                }
                            }
                        }
                    }
                }
                Section::Dhcp6 => {
                    if let Some(sh) = self.v6() {
                        let (_, changes, res) =
                            sh.change(|e, t| ((), e.reclaim_up_to(now, usize::MAX, t, &mut || false))).await;
                        res.map_err(|e| e.to_string())?;
                        if remove {
                            for c in changes {
                                let crate::lease::LeaseChange6::Upsert(l, _) = c else { continue };
                                if l.state == LeaseState::ExpiredReclaimed {
                                    let del = |e: &crate::engine::v6::Engine6, _: &mut Tally| {
                                        ((), e.admin_delete(l.lease_type, l.address).into_iter().collect())
                                    };
                                    sh.change(del).await.2.map_err(|e| e.to_string())?;
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
        .await;
        match res {
            Ok(()) => Response::ok("Reclamation of expired leases is complete."),
            Err(e) => Response::error(format!("Reclamation of expired leases failed: {e}")),
        }
    }

    fn status(&self, section: Section, now: u64) -> Response {
        let state = match section {
            Section::Dhcp4 => self.v4().map(|s| s.state().snapshot(now)),
            Section::Dhcp6 => self.v6().map(|s| s.state().snapshot(now)),
            _ => None,
        }
        .unwrap_or_default();
        // Kea reports multi-threading and its queue only when `enable-multi-threading` is on.
        let configured = match section {
            Section::Dhcp4 => self.v4().map(|s| s.engine().config().daemon.packet_threads),
            Section::Dhcp6 => self.v6().map(|s| s.engine().config().daemon.packet_threads),
            _ => None,
        }
        .unwrap_or(1);
        let sockets = if self.services.is_serving() { "ready" } else { "failed" };
        let health = match section {
            Section::Dhcp4 => self.v4().map(|s| s.store().health()),
            Section::Dhcp6 => self.v6().map(|s| s.store().health()),
            _ => None,
        };
        let mut args = json!({
            "pid": self.pid,
            "uptime": now.saturating_sub(self.started),
            "reload": now.saturating_sub(self.reloaded.load(Ordering::Relaxed)),
            "multi-threading-enabled": configured != 1,
            "sockets": { "status": sockets },
            "dhcp-state": {
                "disabled-by-db-connection": state.by_db_connection,
                "disabled-by-local-command": [],
                "disabled-by-remote-command": state.by_remote.iter().collect::<Vec<_>>(),
                "disabled-by-user": state.by_user,
                "globally-disabled": state.by_user || !state.by_remote.is_empty() || !state.by_db_connection.is_empty(),
            },
        });
        if configured != 1 {
            args["thread-pool-size"] = json!(crate::server::packet_threads(configured));
            args["packet-queue-size"] = json!(0);
            args["packet-queue-statistics"] = json!([0.0, 0.0, 0.0]);
        }
        // kakapo's own key (Kea's are unchanged): whether leases are being made durable.
        if let Some(h) = health {
            let mut store = json!({
                "state": if h.failure.is_some() { "failed" } else { "healthy" },
                "failures": h.failures,
            });
            if let Some(f) = h.failure {
                store["error"] = json!(f.error);
                store["since"] = json!(f.since);
            }
            args["lease-store"] = store;
        }
        Response::ok("").with_args(args)
    }

    /// stat-lease4-get / stat-lease6-get (Kea stat_cmds): per-subnet rows counted from the
    /// lease maps, totals from the statistics.
    fn stat_lease_get(&self, section: Section, fam: Family, subnets: Subnets, now: u64) -> Response {
        let want_section = if fam == Family::V4 { Section::Dhcp4 } else { Section::Dhcp6 };
        let cmd = if fam == Family::V4 { "stat-lease4-get" } else { "stat-lease6-get" };
        let no_subnets = match fam {
            Family::V4 => self.v4().is_none_or(|sh| sh.engine().config().subnets.is_empty()),
            Family::V6 => self.v6().is_none_or(|sh| sh.engine().config().subnets.is_empty()),
        };
        if section != want_section || (no_subnets && subnets == Subnets::All) {
            // Kea's stat_cmds in a daemon without subnets of this family.
            return Response::new(
                RESULT_EMPTY,
                format!(
                    "{cmd}[all subnets]: no matching data, selected ID range: 0 through 0 includes no known subnets"
                ),
            )
            .with_args(json!({}));
        }
        let (first, last) = subnets.bounds();
        let stat = |n: String| self.stats(section).get(&n).map_or(0, |s| s.value);
        let mut rows = Vec::new();
        match fam {
            Family::V4 => {
                let Some(sh) = self.v4() else { return Response::error("DHCPv4 service not running") };
                let engine = sh.engine();
                for s in engine.config().subnets.iter().filter(|s| s.id >= first && s.id <= last) {
                    let (assigned, declined) = engine.leases().subnet(s.id).map_or((0, 0), |m| {
                        let live = |st: LeaseState| m.leases().filter(|l| l.state == st && !l.is_expired(now)).count();
                        (live(LeaseState::Default), m.leases().filter(|l| l.state == LeaseState::Declined).count())
                    });
                    rows.push(json!([
                        s.id,
                        stat(format!("subnet[{}].total-addresses", s.id)),
                        stat(format!("subnet[{}].cumulative-assigned-addresses", s.id)),
                        assigned,
                        declined
                    ]));
                }
            }
            Family::V6 => {
                let Some(sh) = self.v6() else { return Response::error("DHCPv6 service not running") };
                let engine = sh.engine();
                for s in engine.config().subnets.iter().filter(|s| s.id >= first && s.id <= last) {
                    let (nas, pds, declined) = engine.leases().subnet(s.id).map_or((0, 0, 0), |m| {
                        let live = |t: crate::lease::LeaseType6| {
                            m.leases()
                                .filter(|l| l.lease_type == t && l.state == LeaseState::Default && !l.is_expired(now))
                                .count()
                        };
                        let declined = m.leases().filter(|l| l.state == LeaseState::Declined).count();
                        (live(crate::lease::LeaseType6::Na), live(crate::lease::LeaseType6::Pd), declined)
                    });
                    rows.push(json!([
                        s.id,
                        stat(format!("subnet[{}].total-nas", s.id)),
                        stat(format!("subnet[{}].cumulative-assigned-nas", s.id)),
                        nas,
                        declined,
                        stat(format!("subnet[{}].total-pds", s.id)),
                        stat(format!("subnet[{}].cumulative-assigned-pds", s.id)),
                        pds
                    ]));
                }
            }
        }
        let columns = match fam {
            Family::V4 => json!([
                "subnet-id",
                "total-addresses",
                "cumulative-assigned-addresses",
                "assigned-addresses",
                "declined-addresses"
            ]),
            Family::V6 => json!([
                "subnet-id",
                "total-nas",
                "cumulative-assigned-nas",
                "assigned-nas",
                "declined-addresses",
                "total-pds",
                "cumulative-assigned-pds",
                "assigned-pds"
            ]),
        };
        // Kea walks the subnets by id.
        rows.sort_by_key(|r| r[0].as_u64().unwrap_or(0));
        let n = rows.len();
        if n == 0 && first == last {
            return Response::empty(format!("{cmd}: no matching data, subnet-id: {first} does not exist"));
        }
        let ts = chrono::DateTime::from_timestamp(now as i64, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            .unwrap_or_default();
        let r =
            Response::new(if n == 0 { RESULT_EMPTY } else { super::RESULT_SUCCESS }, format!("{cmd}: {n} rows found"));
        r.with_args(json!({ "result-set": { "columns": columns, "rows": rows, "timestamp": ts } }))
    }

    // ---- host_cmds on the running configuration (operation-target memory) ----

    fn subnets_key(section: Section) -> &'static str {
        if section == Section::Dhcp6 {
            "subnet6"
        } else {
            "subnet4"
        }
    }

    /// Every subnet map of a rendered section, those in shared networks included.
    fn subnets_of(body: &Value, section: Section) -> Vec<&Value> {
        let sk = Self::subnets_key(section);
        let mut v: Vec<&Value> = body.get(sk).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        for n in body.get("shared-networks").and_then(Value::as_array).into_iter().flatten() {
            v.extend(n.get(sk).and_then(Value::as_array).into_iter().flatten());
        }
        v
    }

    fn subnets_of_mut(body: &mut Map<String, Value>, section: Section) -> Vec<&mut Value> {
        let sk = Self::subnets_key(section);
        let mut v: Vec<&mut Value> = Vec::new();
        let (top, nets): (Option<&mut Value>, Option<&mut Value>) = {
            let mut top = None;
            let mut nets = None;
            for (k, val) in body.iter_mut() {
                if k == sk {
                    top = Some(val);
                } else if k == "shared-networks" {
                    nets = Some(val);
                }
            }
            (top, nets)
        };
        if let Some(Value::Array(a)) = top {
            v.extend(a.iter_mut());
        }
        if let Some(Value::Array(ns)) = nets {
            for n in ns.iter_mut() {
                if let Some(Value::Array(a)) = n.get_mut(sk) {
                    v.extend(a.iter_mut());
                }
            }
        }
        v
    }

    fn rendered(&self, section: Section) -> Value {
        config_get(&self.config(), section).get(key(section)).cloned().unwrap_or(Value::Null)
    }

    /// Reservations with the subnet id they belong to (0: global).
    fn reservations(&self, section: Section) -> Vec<(u64, Value)> {
        let body = self.rendered(section);
        let mut out: Vec<(u64, Value)> =
            body.get("reservations").and_then(Value::as_array).into_iter().flatten().map(|r| (0, r.clone())).collect();
        for s in Self::subnets_of(&body, section) {
            let id = s.get("id").and_then(Value::as_u64).unwrap_or(0);
            out.extend(s.get("reservations").and_then(Value::as_array).into_iter().flatten().map(|r| (id, r.clone())));
        }
        out
    }

    fn host_json(id: u64, r: &Value) -> Value {
        let mut m = r.as_object().cloned().unwrap_or_default();
        m.insert("subnet-id".into(), json!(id));
        Value::Object(m)
    }

    fn family_text(section: Section) -> &'static str {
        if section == Section::Dhcp6 {
            "IPv6"
        } else {
            "IPv4"
        }
    }

    /// Matches a reservation by `ip-address` or by `identifier-type` + `identifier`.
    fn host_matcher(key: &HostKey) -> HostMatcher {
        match key.clone() {
            HostKey::Address(ip) => Box::new(move |r: &Value| {
                r.get("ip-address").and_then(Value::as_str) == Some(ip.as_str())
                    || r.get("ip-addresses")
                        .and_then(Value::as_array)
                        .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(ip.as_str())))
            }),
            HostKey::Identifier(t, id) => {
                Box::new(move |r: &Value| r.get(&t).and_then(Value::as_str).is_some_and(|x| norm_id(x) == id))
            }
        }
    }

    /// The hosts databases of the service running `section` (empty: none).
    fn host_dbs(&self, section: Section) -> Vec<Arc<PgHosts>> {
        let dbs = match section {
            Section::Dhcp4 => self.v4().and_then(|s| s.hosts().map(|h| h.databases().to_vec())),
            Section::Dhcp6 => self.v6().and_then(|s| s.hosts().map(|h| h.databases().to_vec())),
            _ => None,
        };
        dbs.unwrap_or_default()
    }

    /// The sources a host command uses, (configuration, databases), by its `operation-target`
    /// (Kea 2.6+ host_cmds): reads default to both, changes to the databases, or to the
    /// configuration when none is configured. `no_db` is the refusal when a change must go to
    /// a database and there is none.
    fn host_sources(&self, section: Section, t: Target, change: Option<&str>) -> Result<(bool, bool), Response> {
        let has_db = self.config().daemon(section).is_some_and(|d| !d.hosts_databases.is_empty());
        match (t, change) {
            (Target::Memory, _) => Ok((true, false)),
            (Target::Database, Some(no_db)) if !has_db => Err(Response::error(no_db)),
            (Target::Database, _) => Ok((false, has_db)),
            (Target::All, _) => Ok((true, has_db)),
            (Target::Default, Some(_)) => Ok((!has_db, has_db)),
            (Target::Default, None) => Ok((true, has_db)),
        }
    }

    /// Reservations with their subnet id (0: global) from the sources `t` names: the
    /// configuration's, then the databases' in `host_id` order.
    async fn hosts_of(&self, section: Section, want: Option<u64>, t: Target) -> Result<Vec<(u64, Value)>, Response> {
        let (memory, db) = self.host_sources(section, t, None)?;
        let mut out: Vec<(u64, Value)> = Vec::new();
        if memory {
            out.extend(self.reservations(section).into_iter().filter(|(s, _)| want.is_none_or(|w| w == *s)));
        }
        if db {
            for d in self.host_dbs(section) {
                let rows = d.all(want.and_then(|w| u32::try_from(w).ok())).await;
                let rows = rows.map_err(|e| Response::error(e.to_string()))?;
                out.extend(rows.into_iter().map(|r| (u64::from(r.subnet_id), Value::Object(r.json))));
            }
        }
        Ok(out)
    }

    async fn reservation_get(&self, section: Section, id: u64, key: &HostKey, t: Target) -> Response {
        let m = Self::host_matcher(key);
        let hosts = match self.hosts_of(section, Some(id), t).await {
            Ok(h) => h,
            Err(r) => return r,
        };
        match hosts.into_iter().find(|(_, r)| m(r)) {
            Some((s, r)) => Response::ok("Host found.").with_args(Self::host_json(s, &r)),
            None => Response::empty("Host not found."),
        }
    }

    async fn reservation_list(
        &self,
        section: Section,
        want: Option<u64>,
        t: Target,
        pred: impl Fn(&Value) -> bool,
    ) -> Response {
        let hosts = match self.hosts_of(section, want, t).await {
            Ok(h) => h,
            Err(r) => return r,
        };
        let hosts: Vec<Value> =
            hosts.into_iter().filter(|(_, r)| pred(r)).map(|(s, r)| Self::host_json(s, &r)).collect();
        let n = hosts.len();
        Response::new(
            if n == 0 { RESULT_EMPTY } else { super::RESULT_SUCCESS },
            format!("{n} {} host(s) found.", Self::family_text(section)),
        )
        .with_args(json!({ "hosts": hosts }))
    }

    /// `from` is the position after the last host of the previous page, counted over the
    /// configuration's hosts followed by the databases'.
    async fn reservation_page(&self, section: Section, want: Option<u64>, from: usize, limit: usize) -> Response {
        let all = match self.hosts_of(section, want, Target::Default).await {
            Ok(h) => h,
            Err(r) => return r,
        };
        let page: Vec<Value> = all.iter().skip(from).take(limit).map(|(s, r)| Self::host_json(*s, r)).collect();
        let n = page.len();
        let mut args = json!({ "count": n, "hosts": page });
        if n > 0 {
            args["next"] = json!({ "from": from + n, "source-index": 0 });
        }
        Response::new(
            if n == 0 { RESULT_EMPTY } else { super::RESULT_SUCCESS },
            format!("{n} {} host(s) found.", Self::family_text(section)),
        )
        .with_args(args)
    }

    async fn reservation_add(&self, section: Section, id: u64, host: Map<String, Value>, t: Target) -> Response {
        let no_db = "Unable to add new host because there is no hosts-database configured.";
        let (memory, db) = match self.host_sources(section, t, Some(no_db)) {
            Ok(s) => s,
            Err(r) => return r,
        };
        if db {
            if let Err(r) = self.db_add(section, id, &host).await {
                return r;
            }
        }
        if memory {
            if let Err(r) = self.memory_add(section, id, host).await {
                return r;
            }
        }
        Response::ok("Host added.")
    }

    async fn memory_add(&self, section: Section, id: u64, host: Map<String, Value>) -> Result<(), Response> {
        self.mutate(section, |body| {
            let list = if id == 0 {
                body.entry("reservations").or_insert_with(|| json!([]))
            } else {
                let Some(s) = Self::subnets_of_mut(body, section)
                    .into_iter()
                    .find(|s| s.get("id").and_then(Value::as_u64) == Some(id))
                else {
                    return Err(Response::error(format!("Subnet with id {id} not found")));
                };
                let Value::Object(sm) = s else { return Err(Response::error("bad subnet")) };
                sm.entry("reservations").or_insert_with(|| json!([]))
            };
            match list {
                Value::Array(v) => v.push(Value::Object(host)),
                _ => return Err(Response::error("reservations is not a list")),
            }
            Ok(())
        })
        .await
    }

    /// Checks the host as the configuration would and inserts it into the first hosts
    /// database; the next packet of that client reads it.
    async fn db_add(&self, section: Section, id: u64, host: &Map<String, Value>) -> Result<(), Response> {
        let cfg = self.config();
        let subnet = u32::try_from(id).map_err(|_| Response::error(format!("Subnet with id {id} not found")))?;
        let json = Value::Object(host.clone());
        let (identifier, options) = match section {
            Section::Dhcp4 => {
                let c = cfg.dhcp4.as_ref().ok_or_else(|| Response::error("no Dhcp4 configuration"))?;
                if subnet != 0 && !c.subnets.iter().any(|s| s.id == subnet) {
                    return Err(Response::error(format!("Subnet with id {id} not found")));
                }
                let r = crate::config::model::reservation4_from_json(c, subnet, &json).map_err(Response::error)?;
                (r.identifier, r.options)
            }
            _ => {
                let c = cfg.dhcp6.as_ref().ok_or_else(|| Response::error("no Dhcp6 configuration"))?;
                if subnet != 0 && !c.subnets.iter().any(|s| s.id == subnet) {
                    return Err(Response::error(format!("Subnet with id {id} not found")));
                }
                let r = crate::config::model::reservation6_from_json(c, subnet, &json).map_err(Response::error)?;
                (r.identifier, r.options)
            }
        };
        let dbs = self.host_dbs(section);
        let db = dbs.first().ok_or_else(|| Response::error("the hosts database is not open"))?;
        db.add(subnet, &identifier, host, &options).await.map_err(|e| Response::error(e.to_string()))?;
        self.hosts_changed(section, Some(&identifier)).await;
        Ok(())
    }

    /// After a change to a hosts database: the identifier is read again with its next packet
    /// and the reserved addresses now.
    async fn hosts_changed(&self, section: Section, id: Option<&HostIdentifier>) {
        match section {
            Section::Dhcp4 => {
                if let Some(h) = self.v4().as_ref().and_then(|s| s.hosts().cloned()) {
                    h.changed(id).await;
                }
            }
            _ => {
                if let Some(h) = self.v6().as_ref().and_then(|s| s.hosts().cloned()) {
                    h.changed(id).await;
                }
            }
        }
    }

    async fn reservation_del(&self, section: Section, id: u64, key: &HostKey, t: Target) -> Response {
        let no_db = "Unable to delete a host because there is no hosts-database configured.";
        let (memory, db) = match self.host_sources(section, t, Some(no_db)) {
            Ok(s) => s,
            Err(r) => return r,
        };
        let mut deleted = false;
        if db {
            match self.db_del(section, id, key).await {
                Ok(n) => deleted |= n > 0,
                Err(r) => return r,
            }
        }
        if memory {
            match self.memory_del(section, id, key).await {
                Ok(()) => deleted = true,
                Err(r) if r.result == RESULT_EMPTY => {}
                Err(r) => return r,
            }
        }
        if deleted {
            Response::ok("Host deleted.")
        } else {
            Response::empty("Host not deleted (not found).")
        }
    }

    async fn db_del(&self, section: Section, id: u64, key: &HostKey) -> Result<u64, Response> {
        let subnet = u32::try_from(id).map_err(|_| Response::error(format!("Subnet with id {id} not found")))?;
        let (db_key, ident) = match key {
            HostKey::Address(a) => {
                let ip = a.parse().map_err(|_| Response::error(format!("invalid address '{a}'")))?;
                (DbHostKey::Address(ip), None)
            }
            HostKey::Identifier(t, hex) => {
                let bytes = (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok());
                let ident = identifier_named(t, bytes.collect())
                    .ok_or_else(|| Response::error(format!("invalid identifier-type '{t}'")))?;
                (DbHostKey::Identifier(ident.clone()), Some(ident))
            }
        };
        let mut n = 0;
        for d in self.host_dbs(section) {
            n += d.delete(subnet, &db_key).await.map_err(|e| Response::error(e.to_string()))?;
        }
        // An address names no identifier to forget: the whole cache is read again.
        self.hosts_changed(section, ident.as_ref()).await;
        Ok(n)
    }

    async fn memory_del(&self, section: Section, id: u64, key: &HostKey) -> Result<(), Response> {
        let m = Self::host_matcher(key);
        self.mutate(section, |body| {
            let list = if id == 0 {
                body.get_mut("reservations")
            } else {
                Self::subnets_of_mut(body, section)
                    .into_iter()
                    .find(|s| s.get("id").and_then(Value::as_u64) == Some(id))
                    .and_then(|s| s.get_mut("reservations"))
            };
            let Some(Value::Array(v)) = list else { return Err(Response::empty("Host not deleted (not found).")) };
            let before = v.len();
            v.retain(|r| !m(r));
            if v.len() == before {
                return Err(Response::empty("Host not deleted (not found)."));
            }
            Ok(())
        })
        .await
    }

    // ---- subnet_cmds on the running configuration ----

    fn check_family(section: Section, fam: Family) -> Result<(), Response> {
        match (section, fam) {
            (Section::Dhcp4, Family::V4) | (Section::Dhcp6, Family::V6) => Ok(()),
            _ => Err(Response::new(super::RESULT_UNSUPPORTED, "command not supported by this daemon")),
        }
    }

    fn fam_text(fam: Family) -> &'static str {
        match fam {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    fn subnet_list(&self, section: Section, fam: Family) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let body = self.rendered(section);
        let mut list = Vec::new();
        for s in Self::subnets_of(&body, section) {
            list.push(json!({ "id": s.get("id"), "subnet": s.get("subnet") }));
        }
        let n = list.len();
        Response::new(
            if n == 0 { RESULT_EMPTY } else { super::RESULT_SUCCESS },
            format!("{n} {} subnets found", Self::fam_text(fam)),
        )
        .with_args(json!({ "subnets": list }))
    }

    fn find_subnet<'v>(body: &'v Value, section: Section, key: &SubnetKey) -> Option<&'v Value> {
        Self::subnets_of(body, section).into_iter().find(|s| match key {
            SubnetKey::Id(id) => s.get("id").and_then(Value::as_u64) == Some(*id),
            SubnetKey::Prefix(p) => s.get("subnet").and_then(Value::as_str) == Some(p.as_str()),
        })
    }

    fn subnet_get(&self, section: Section, fam: Family, key: &SubnetKey) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let body = self.rendered(section);
        match Self::find_subnet(&body, section, key) {
            None => Response::empty(format!("No {} subnet found", Self::fam_text(fam))),
            Some(s) => Response::ok(format!(
                "Info about {} subnet {} (id {}) returned",
                Self::fam_text(fam),
                s.get("subnet").and_then(Value::as_str).unwrap_or(""),
                s.get("id").and_then(Value::as_u64).unwrap_or(0)
            ))
            .with_args(json!({ Self::subnets_key(section): [s] })),
        }
    }

    async fn subnet_add(&self, section: Section, fam: Family, id: u64, sub: Value, update: bool) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let sk = Self::subnets_key(section);
        let prefix = sub.get("subnet").and_then(Value::as_str).unwrap_or("").to_string();
        let res = self
            .mutate(section, |body| {
                let existing = Self::subnets_of_mut(body, section)
                    .into_iter()
                    .find(|s| s.get("id").and_then(Value::as_u64) == Some(id));
                match (existing, update) {
                    (Some(_), false) => {
                        Err(Response::error(format!("{} subnet with id {id} already exists", Self::fam_text(fam))))
                    }
                    (Some(slot), true) => {
                        // A subnet inside a shared network stays there (Kea keeps the link).
                        *slot = sub;
                        Ok(())
                    }
                    (None, true) => {
                        Err(Response::empty(format!("{} subnet with id {id} not found", Self::fam_text(fam))))
                    }
                    (None, false) => {
                        match body.entry(sk).or_insert_with(|| json!([])) {
                            Value::Array(v) => v.push(sub),
                            _ => return Err(Response::error(format!("{sk} is not a list"))),
                        }
                        Ok(())
                    }
                }
            })
            .await;
        match res {
            Ok(()) => {
                Response::ok(format!("{} subnet {}", Self::fam_text(fam), if update { "updated" } else { "added" }))
                    .with_args(json!({ "subnets": [{ "id": id, "subnet": prefix }] }))
            }
            Err(r) => r,
        }
    }

    async fn subnet_del(&self, section: Section, fam: Family, id: u64) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let sk = Self::subnets_key(section);
        let res = self
            .mutate(section, |body| {
                let mut removed = None;
                let take = |v: &mut Vec<Value>, removed: &mut Option<Value>| {
                    if let Some(i) = v.iter().position(|s| s.get("id").and_then(Value::as_u64) == Some(id)) {
                        *removed = Some(v.remove(i));
                    }
                };
                if let Some(Value::Array(v)) = body.get_mut(sk) {
                    take(v, &mut removed);
                }
                if removed.is_none() {
                    if let Some(Value::Array(nets)) = body.get_mut("shared-networks") {
                        for n in nets.iter_mut() {
                            if let Some(Value::Array(v)) = n.get_mut(sk) {
                                take(v, &mut removed);
                            }
                        }
                    }
                }
                removed.ok_or_else(|| Response::empty(format!("no subnet with id {id} found")))
            })
            .await;
        match res {
            Ok(s) => {
                let p = s.get("subnet").and_then(Value::as_str).unwrap_or("").to_string();
                Response::ok(format!("{} subnet {p} (id {id}) deleted", Self::fam_text(fam)))
                    .with_args(json!({ "subnets": [{ "id": id, "subnet": p }] }))
            }
            Err(r) => r,
        }
    }

    fn network_list(&self, section: Section, fam: Family) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let body = self.rendered(section);
        let names: Vec<Value> = body
            .get("shared-networks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|n| json!({ "name": n.get("name") }))
            .collect();
        let n = names.len();
        Response::new(
            if n == 0 { RESULT_EMPTY } else { super::RESULT_SUCCESS },
            format!("{n} {} network(s) found", Self::fam_text(fam)),
        )
        .with_args(json!({ "shared-networks": names }))
    }

    fn network_get(&self, section: Section, fam: Family, name: &str) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let body = self.rendered(section);
        let found = body
            .get("shared-networks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|n| n.get("name").and_then(Value::as_str) == Some(name));
        match found {
            Some(n) => Response::ok(format!("Info about {} shared network '{name}' returned", Self::fam_text(fam)))
                .with_args(json!({ "shared-networks": [n] })),
            None => Response::empty(format!("No '{name}' shared network found")),
        }
    }

    async fn network_add(&self, section: Section, fam: Family, name: String, net: Value) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let res = self
            .mutate(section, |body| match body.entry("shared-networks").or_insert_with(|| json!([])) {
                Value::Array(v) => {
                    v.push(net);
                    Ok(())
                }
                _ => Err(Response::error("shared-networks is not a list")),
            })
            .await;
        match res {
            Ok(()) => Response::ok(format!("A new {} shared network '{name}' added", Self::fam_text(fam)))
                .with_args(json!({ "shared-networks": [{ "name": name }] })),
            Err(r) => r,
        }
    }

    async fn network_del(&self, section: Section, fam: Family, name: String, keep: bool) -> Response {
        if let Err(r) = Self::check_family(section, fam) {
            return r;
        }
        let sk = Self::subnets_key(section);
        let res = self
            .mutate(section, |body| {
                let Some(Value::Array(nets)) = body.get_mut("shared-networks") else {
                    return Err(Response::empty(format!("no '{name}' network found")));
                };
                let Some(i) = nets.iter().position(|n| n.get("name").and_then(Value::as_str) == Some(name.as_str()))
                else {
                    return Err(Response::empty(format!("no '{name}' network found")));
                };
                let net = nets.remove(i);
                if keep {
                    let subs = net.get(sk).and_then(Value::as_array).cloned().unwrap_or_default();
                    match body.entry(sk).or_insert_with(|| json!([])) {
                        Value::Array(v) => v.extend(subs),
                        _ => return Err(Response::error(format!("{sk} is not a list"))),
                    }
                }
                Ok(())
            })
            .await;
        match res {
            Ok(()) => Response::ok(format!("{} shared network '{name}' deleted", Self::fam_text(fam)))
                .with_args(json!({ "shared-networks": [{ "name": name }] })),
            Err(r) => r,
        }
    }
}

/// The control channel's request handling for the transports (`Dispatch`): parses the command
/// (comments allowed, includes refused), applies Kea's `service` rules, and
/// routes the command to the addressed daemon.
#[derive(Debug, Clone)]
pub struct ControlDispatch(pub Arc<Control>);

fn section_of(service: &str) -> Option<Section> {
    match service {
        "dhcp4" => Some(Section::Dhcp4),
        "dhcp6" => Some(Section::Dhcp6),
        "d2" => Some(Section::DhcpDdns),
        _ => None,
    }
}

/// Largest command body parsed, whatever transport it came over (Kea ARM 8.8); the transports
/// refuse larger bodies before reading them whole.
pub const MAX_COMMAND_SIZE: usize = super::transport::DEFAULT_MAX_REQUEST;

/// Parses a request body (Kea ARM 8.8.1): plain JSON with comments, never includes; a body that
/// is not a command gets Kea's error answer.
pub fn parse_request(body: &[u8]) -> Result<Request, Response> {
    if body.len() > MAX_COMMAND_SIZE {
        return Err(Response::error(format!("invalid command: larger than {MAX_COMMAND_SIZE} bytes")));
    }
    let mut warnings = Vec::new();
    let node = crate::config::text::parse_command(body, &mut warnings)
        .map_err(|e| Response::error(format!("invalid command: {}: {}", e.pos, e.msg)))?;
    let v = node.to_json();
    if !v.is_object() {
        return Err(Response::error("invalid command: the command must be a map"));
    }
    if v.get("command").and_then(Value::as_str).is_none() {
        return Err(Response::error("invalid command: missing mandatory 'command' parameter"));
    }
    serde_json::from_value(v).map_err(|e| Response::error(format!("invalid command: {e}")))
}

/// The `service` list of a request: None when absent or empty.
fn services(req: &Request) -> Result<Option<Vec<String>>, Response> {
    match &req.service {
        None => Ok(None),
        Some(Value::Array(a)) if a.is_empty() => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| Response::error("service value must be a string")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(Response::error("service value must be a list")),
    }
}

impl ControlDispatch {
    async fn route(&self, body: &[u8], listener: &super::Listener) -> Vec<Response> {
        let req = match parse_request(body) {
            Ok(r) => r,
            Err(r) => return vec![r],
        };
        let svcs = match services(&req) {
            Ok(s) => s,
            Err(r) => return vec![r],
        };
        let cfg = self.0.config();
        match listener {
            super::Listener::Daemon(own) => {
                if let Some(list) = svcs {
                    if list.len() != 1 || &list[0] != own {
                        let got = list.join(", ");
                        return vec![Response::error(format!("unsupported service '{got}', expected '{own}'"))];
                    }
                }
                let section = section_of(own).unwrap_or(Section::Dhcp4);
                vec![self.0.handle(section, &req).await]
            }
            super::Listener::Agent => match svcs {
                None => vec![self.0.handle(Section::ControlAgent, &req).await],
                Some(list) => {
                    let mut out = Vec::new();
                    for svc in list {
                        match section_of(&svc).filter(|s| cfg.sections().contains(s)) {
                            Some(s) => out.push(self.0.handle(s, &req).await),
                            None => out.push(Response::error(format!(
                                "forwarding socket is not configured for the server type {svc}"
                            ))),
                        }
                    }
                    out
                }
            },
        }
    }
}

impl super::Dispatch for ControlDispatch {
    fn dispatch<'a>(&'a self, body: &'a [u8], listener: &'a super::Listener) -> super::BoxFuture<'a, Vec<Response>> {
        Box::pin(self.route(body, listener))
    }

    fn metrics(&self) -> String {
        let cfg = self.0.config();
        let mut out = String::new();
        for s in cfg.sections() {
            let prefix = match s {
                Section::Dhcp4 => "dhcp4",
                Section::Dhcp6 => "dhcp6",
                _ => continue,
            };
            out.push_str(&super::metrics::render(self.0.stats(s), prefix));
        }
        out
    }
}

/// Logs the `-X` warnings of a configuration change under their own IDs (Kea ARM "Kea Runtime
/// Security Policy Checking").
fn log_security_warnings(warnings: &[crate::config::Diag]) {
    for w in warnings {
        if let Some((id, rest)) = w.msg.split_once(' ').filter(|(id, _)| id.ends_with("_SECURITY_WARNING")) {
            tracing::warn!(target: "kea-dhcp4.dhcp4", "{id} {}: {}: {rest}", w.pos, w.path);
        }
    }
}

/// The result code of a response, for callers that only branch on success.
pub fn is_error(r: &Response) -> bool {
    r.result == RESULT_ERROR
}
