//! The process shell: pid file, logging, start-up and shutdown messages, signals, reload.
//! Kea's daemon life cycle (ARM 8.1 "Starting and Stopping the DHCPv4 Server"): SIGHUP re-reads
//! the files and keeps the running configuration if the new one is broken; SIGTERM and SIGINT
//! end the process with status 0.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use kakapo::api::control::{Control, ControlDispatch, ControlSettings};
use kakapo::api::listeners::Listeners;
use kakapo::api::Dispatch;
use kakapo::config::policy::SecurityPolicy;
use kakapo::config::{self, model::Config, LoadOptions, Section};
use kakapo::logging::{KeaLoggers, LoggerSpec};
use kakapo::server::ServiceOptions;
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};
use tracing_subscriber::layer::SubscriberExt;

/// What the command line asked for.
#[derive(Debug)]
pub struct Settings {
    pub files: Vec<PathBuf>,
    pub only: Option<Section>,
    pub debug: bool,
    pub server_port: Option<u16>,
    pub client_port: Option<u16>,
    pub restrictions: bool,
}

/// Log target and message-ID prefix per section, as Kea's daemons name them.
fn ids(s: Section) -> (&'static str, &'static str, &'static str) {
    match s {
        Section::Dhcp4 => ("kea-dhcp4", "kea-dhcp4.dhcp4", "DHCP4"),
        Section::Dhcp6 => ("kea-dhcp6", "kea-dhcp6.dhcp6", "DHCP6"),
        Section::DhcpDdns => ("kea-dhcp-ddns", "kea-dhcp-ddns.dhcpddns", "DHCP_DDNS"),
        Section::ControlAgent => ("kea-ctrl-agent", "kea-ctrl-agent.ctrl-agent", "CTRL_AGENT"),
    }
}

/// Emits one Kea-style message on the section's logger (targets must be static in tracing,
/// hence the match).
macro_rules! kea_log {
    ($lvl:ident, $section:expr, $($arg:tt)*) => {
        match $section {
            Section::Dhcp4 => $lvl!(target: "kea-dhcp4.dhcp4", $($arg)*),
            Section::Dhcp6 => $lvl!(target: "kea-dhcp6.dhcp6", $($arg)*),
            Section::DhcpDdns => $lvl!(target: "kea-dhcp-ddns.dhcpddns", $($arg)*),
            Section::ControlAgent => $lvl!(target: "kea-ctrl-agent.ctrl-agent", $($arg)*),
        }
    };
}

fn logger_specs(cfg: &Config, debug: bool) -> Vec<LoggerSpec> {
    let mut specs = Vec::new();
    for s in cfg.sections() {
        let configured = cfg.loggers(s);
        if configured.is_empty() {
            specs.push(LoggerSpec::default_for(ids(s).0, debug));
        } else {
            specs.extend(configured.iter().cloned());
        }
    }
    if debug {
        for s in &mut specs {
            s.level = tracing::Level::TRACE;
            s.debuglevel = 99;
        }
    }
    specs
}

/// Kea's pid file: `$KEA_PIDFILE_DIR/<config base name>.<daemon>.pid`.
fn pid_file_path(files: &[PathBuf], only: Option<Section>) -> PathBuf {
    let dir = std::env::var_os("KEA_PIDFILE_DIR").map_or_else(|| PathBuf::from("/run/kea"), PathBuf::from);
    let base = files
        .first()
        .and_then(|f| f.file_stem())
        .map_or_else(|| "kakapo".to_string(), |s| s.to_string_lossy().into_owned());
    let proc_name = only.map_or("kakapo", |s| ids(s).0);
    dir.join(format!("{base}.{proc_name}.pid"))
}

/// The pid in an existing pid file, if that process is still alive.
fn running_pid(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    if pid <= 0 || pid == std::process::id() as i32 {
        return None;
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).ok().map(|_| pid)
}

struct PidFile(PathBuf);

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Kea 3.0's policy from the environment; `-X` turns refusals into warnings.
fn policy(settings: &Settings) -> SecurityPolicy {
    SecurityPolicy::from_vars(|k| std::env::var_os(k), settings.restrictions)
}

fn load(settings: &Settings) -> Result<config::Loaded, config::ConfigError> {
    config::load(&settings.files, &LoadOptions { only: settings.only, host: None, policy: Some(policy(settings)) })
}

/// The message ID of a `-X` policy warning, and the rest of its text.
fn security_warning(w: &config::Diag) -> Option<(&str, &str)> {
    w.msg.split_once(' ').filter(|(id, _)| id.ends_with("_SECURITY_WARNING"))
}

/// Start-up security remarks (Kea ARM "Kea Runtime Security Policy Checking"): `-X` in force,
/// running as root.
fn log_security_state(settings: &Settings, sections: &[Section]) {
    for &s in sections {
        if !settings.restrictions {
            kea_log!(
                warn,
                s,
                "{}_SECURITY_CHECKS_DISABLED Invoked with command line option -X, Security checks are disabled!!",
                ids(s).2
            );
        }
        if nix::unistd::geteuid().is_root() {
            kea_log!(warn, s, "DCTL_ROOT_USER_SECURITY_WARNING {} is running as root; run it as an unprivileged user with CAP_NET_RAW and CAP_NET_BIND_SERVICE (see systemd/kakapo.service)", ids(s).0);
        }
    }
}

fn files_list(settings: &Settings) -> String {
    settings.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Runs the daemon until SIGTERM/SIGINT; returns the exit status.
pub fn run(settings: Settings) -> anyhow::Result<u8> {
    // Files kakapo creates (lease files, sockets, logs, written configurations) are never
    // readable by others, as Kea 3.0's packaging sets it.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o027));
    let loggers = KeaLoggers::default();
    let subscriber = tracing_subscriber::registry().with(loggers.layer());
    tracing::subscriber::set_global_default(subscriber).context("installing the log subscriber")?;

    let loaded = match load(&settings) {
        Ok(l) => l,
        Err(e) => {
            // Kea prints configuration errors on the console before any logger exists.
            for d in &e.errors {
                eprintln!("{d}");
            }
            // Console loggers always open.
            let _ = loggers.configure(&[
                LoggerSpec::default_for("kea-dhcp4", settings.debug),
                LoggerSpec::default_for("kea-dhcp6", settings.debug),
            ]);
            let section = settings.only.unwrap_or(Section::Dhcp4);
            kea_log!(
                error,
                section,
                "{}_INIT_FAIL failed to initialize Kea server: configuration error using file: {}",
                ids(section).2,
                files_list(&settings)
            );
            return Ok(1);
        }
    };
    let cfg = Arc::new(loaded.config);
    if let Err(e) = loggers.configure(&logger_specs(&cfg, settings.debug)) {
        let s = cfg.sections().first().copied().unwrap_or(Section::Dhcp4);
        let _ = loggers.configure(&[LoggerSpec::default_for(ids(s).0, settings.debug)]);
        kea_log!(error, s, "{}_INIT_FAIL failed to initialize Kea server: {e}", ids(s).2);
        return Ok(1);
    }
    for w in &loaded.warnings {
        for s in cfg.sections() {
            match security_warning(w) {
                Some((id, rest)) => kea_log!(warn, s, "{id} {}: {}: {rest}", w.pos, w.path),
                None => kea_log!(warn, s, "{}_CONFIG_WARNING {}", ids(s).2, w),
            }
        }
    }
    let sections = cfg.sections();
    log_security_state(&settings, &sections);
    if sections.is_empty() {
        eprintln!("kakapo: {}: no Dhcp4, Dhcp6, DhcpDdns or Control-agent section to run", files_list(&settings));
        return Ok(1);
    }
    for &s in &sections {
        let (name, _, id) = ids(s);
        match s {
            Section::Dhcp4 | Section::Dhcp6 => kea_log!(
                info,
                s,
                "{id}_STARTING Kea {} server version {} (kakapo {}) starting",
                if s == Section::Dhcp4 { "DHCPv4" } else { "DHCPv6" },
                kakapo::KEA_API_LEVEL,
                env!("CARGO_PKG_VERSION")
            ),
            _ => kea_log!(
                info,
                s,
                "DCTL_STARTING {name} starting, pid: {}, version: {} (kakapo {})",
                std::process::id(),
                kakapo::KEA_API_LEVEL,
                env!("CARGO_PKG_VERSION")
            ),
        }
    }

    let pid_path = pid_file_path(&settings.files, settings.only);
    if let Some(pid) = running_pid(&pid_path) {
        let s = sections[0];
        let id = if matches!(s, Section::Dhcp4 | Section::Dhcp6) {
            format!("{}_ALREADY_RUNNING", ids(s).2)
        } else {
            "DCTL_ALREADY_RUNNING".into()
        };
        kea_log!(error, s, "{id} {} already running? PID file: {} (pid {pid})", ids(s).0, pid_path.display());
        return Ok(1);
    }
    if let Some(dir) = pid_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&pid_path, format!("{}\n", std::process::id()))
        .with_context(|| format!("writing pid file {}", pid_path.display()))?;
    let _pid_guard = PidFile(pid_path);

    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(serve(settings, cfg, loggers))
}

/// Raises the open-file soft limit to the hard limit (getrlimit(2)): the default soft limit of
/// 1024 would let a few hundred control connections plus the DHCP sockets and lease files hit
/// EMFILE.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => warn!("cannot read the open-file limit: {e}"),
    }
}

fn service_options(settings: &Settings) -> ServiceOptions {
    let data_dir = policy(settings).data_dir;
    ServiceOptions {
        server_port: settings.server_port.unwrap_or(kakapo::wire::v4::SERVER_PORT),
        client_port: settings.client_port.unwrap_or(kakapo::wire::v4::CLIENT_PORT),
        v6_server_port: settings.server_port.unwrap_or(kakapo::server::v6::SERVER_PORT),
        data_dir,
        // Control gives the services its exit channel.
        exit: None,
    }
}

async fn serve(settings: Settings, cfg: Arc<Config>, loggers: KeaLoggers) -> anyhow::Result<u8> {
    let debug = settings.debug;
    let control_settings = ControlSettings {
        files: settings.files.clone(),
        only: settings.only,
        opts: service_options(&settings),
        policy: Some(policy(&settings)),
    };
    let log_cfg = loggers.clone();
    let control = Control::new(
        control_settings,
        (*cfg).clone(),
        Box::new(move |c: &Config| log_cfg.configure(&logger_specs(c, debug))),
    );
    // The control channels go through the same prepare/commit path as config-set and SIGHUP:
    // everything is read and bound before the services open, and a bad channel fails start-up.
    let dispatch: Arc<dyn Dispatch> = Arc::new(ControlDispatch(control.clone()));
    let listeners = Arc::new(Listeners::new(dispatch, settings.restrictions));
    let prepared = match listeners.prepare(&cfg).await {
        Ok(p) => p,
        Err(e) => {
            let s = cfg.sections().first().copied().unwrap_or(Section::Dhcp4);
            kea_log!(error, s, "{}_INIT_FAIL failed to initialize Kea server: control channel: {e}", ids(s).2);
            return Ok(1);
        }
    };
    if let Err(e) = control.start().await {
        let s = cfg.sections().first().copied().unwrap_or(Section::Dhcp4);
        kea_log!(error, s, "{}_INIT_FAIL failed to initialize Kea server: {e}", ids(s).2);
        return Ok(1);
    }
    prepared.commit().await;
    control.attach_listeners(&listeners);
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut exit = control.exit_requested();

    for s in cfg.sections() {
        let (name, _, id) = ids(s);
        match s {
            Section::Dhcp4 | Section::Dhcp6 => {
                kea_log!(
                    info,
                    s,
                    "{id}_CONFIG_COMPLETE {} server has completed configuration: {}",
                    if s == Section::Dhcp4 { "DHCPv4" } else { "DHCPv6" },
                    cfg.summary(s)
                );
                kea_log!(
                    info,
                    s,
                    "{id}_STARTED Kea {} server version {} started",
                    if s == Section::Dhcp4 { "DHCPv4" } else { "DHCPv6" },
                    kakapo::KEA_API_LEVEL
                );
            }
            _ => kea_log!(info, s, "{id}_STARTED Kea {name} server version {} started", kakapo::KEA_API_LEVEL),
        }
    }
    if settings.server_port.is_some() || settings.client_port.is_some() || !settings.restrictions {
        info!(target: "kea-dhcp4.dhcp4", "KAKAPO_PORTS server port {:?}, client port {:?}, path restrictions {}", settings.server_port, settings.client_port, settings.restrictions);
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);

    let code = loop {
        tokio::select! {
            _ = hup.recv() => {
                let files = files_list(&settings);
                let before = control.config();
                for s in before.sections() {
                    kea_log!(info, s, "{}_DYNAMIC_RECONFIGURATION initiate server reconfiguration using file: {files}, after receiving SIGHUP signal or config-reload command", ids(s).2);
                }
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
                match control.reload().await {
                    Ok(()) => {
                        let now = control.config();
                        for s in now.sections() {
                            kea_log!(info, s, "{}_DYNAMIC_RECONFIGURATION_SUCCESS dynamic server reconfiguration succeeded with file: {files}", ids(s).2);
                        }
                    }
                    Err(e) => {
                        for s in before.sections() {
                            let first = e.lines().next().unwrap_or("");
                            kea_log!(error, s, "{}_DYNAMIC_RECONFIGURATION_FAIL dynamic server reconfiguration failed with file: {files}: {first}", ids(s).2);
                            for line in e.lines() {
                                kea_log!(error, s, "{}_CONFIG_LOAD_FAIL configuration error using file: {files}, reason: {line}", ids(s).2);
                            }
                        }
                    }
                }
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
            }
            _ = term.recv() => break 0u8,
            _ = int.recv() => break 0u8,
            r = exit.changed() => {
                if r.is_err() {
                    continue;
                }
                if let Some(v) = *exit.borrow() {
                    // Kea exits with the `exit-value` of the shutdown command.
                    break u8::try_from(v).unwrap_or(1);
                }
            }
        }
    };
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    listeners.stop().await;
    control.stop().await;
    let cfg = control.config();
    for s in cfg.sections() {
        let (name, _, id) = ids(s);
        match s {
            Section::Dhcp4 | Section::Dhcp6 => kea_log!(info, s, "{id}_SHUTDOWN server shutdown"),
            _ => kea_log!(
                info,
                s,
                "DCTL_SHUTDOWN {name} has shut down, pid: {}, version: {}",
                std::process::id(),
                kakapo::KEA_API_LEVEL
            ),
        }
    }
    Ok(code)
}
