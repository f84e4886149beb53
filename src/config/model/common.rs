//! Checks and model pieces shared by several sections: options, option definitions, hooks,
//! loggers, lease databases, control sockets, lifetimes, host identifiers (Kea ARM 8.2).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{AllocatorKind, Checker, BUILTIN_HOOKS, V};
use crate::config::de::Loc;
use crate::config::raw::common as raw;
use crate::config::Section;
use crate::logging::{self, LoggerSpec, OutputSpec};
use crate::wire::optdata;
use crate::wire::optdef::{OptionDataType, OptionDefRegistry, OptionDefinition, Universe};

/// A configured option with its payload encoded (Kea ARM 8.2.10 "Standard DHCPv4 Options").
#[derive(Debug, Clone, PartialEq)]
pub struct OptionValue {
    /// Option space (`dhcp4`, `dhcp6`, `vendor-4491`, ...).
    pub space: String,
    /// Option code.
    pub code: u16,
    /// Option name, when it has a definition.
    pub name: Option<String>,
    /// Encoded payload; `None` when `data` was omitted (the option is a container).
    pub payload: Option<Vec<u8>>,
    /// `always-send`: include even when not requested.
    pub always_send: bool,
    /// `never-send`: never include (Kea 2.2 ARM 8.2.10).
    pub never_send: bool,
    /// `client-classes` guard on the option (Kea 2.7.4+).
    pub client_classes: Vec<String>,
}

/// A min/default/max value as Kea's `Triplet` (Kea ARM 8.2.4 "Lease lifetimes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Triplet {
    /// `min-*`
    pub min: Option<u32>,
    /// The default value.
    pub default: Option<u32>,
    /// `max-*`
    pub max: Option<u32>,
}

impl Triplet {
    /// Fills unset parts from an outer scope (global -> shared network -> subnet).
    pub fn inherit(self, outer: Triplet) -> Triplet {
        Triplet { min: self.min.or(outer.min), default: self.default.or(outer.default), max: self.max.or(outer.max) }
    }
}

/// A configured hook library (Kea ARM 15 "Hook Libraries"); kakapo has these built in.
#[derive(Debug, Clone, PartialEq)]
pub struct HookLibrary {
    /// The file name that selects the built-in function, e.g. `libdhcp_ha.so`.
    pub name: String,
    /// The path as configured.
    pub library: String,
    /// The library's `parameters` map.
    pub parameters: serde_json::Value,
}

/// `lease-database` / `hosts-database(s)` (Kea ARM 8.2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseDatabase {
    /// `memfile`, `mysql` or `postgresql`.
    pub kind: String,
    /// `name`: file for memfile (default in the data dir), database name for SQL.
    pub name: Option<String>,
    /// `persist` (memfile), default true.
    pub persist: bool,
    /// `lfc-interval` in seconds (memfile), default 3600.
    pub lfc_interval: u32,
    /// `max-row-errors` (memfile): corrupt rows tolerated when loading, 0 for any number.
    pub max_row_errors: u32,
    /// How a SQL backend is reached (None for memfile).
    pub sql: Option<SqlConnection>,
}

/// How a SQL lease or host database is reached and what to do when it is lost (Kea ARM
/// 8.2.2.2 "Lease Database Configuration", 8.2.3 "Hosts Storage").
#[derive(Clone, PartialEq)]
pub struct SqlConnection {
    /// `host`: a name, an address, or a unix socket directory (default: the client
    /// library's, the local socket).
    pub host: Option<String>,
    /// `port` (default 5432).
    pub port: Option<u16>,
    /// `user`
    pub user: Option<String>,
    /// `password`
    pub password: Option<String>,
    /// `connect-timeout` in seconds (default 5).
    pub connect_timeout: u32,
    /// `read-timeout` / `write-timeout` in seconds (0: none), applied to each statement.
    pub io_timeout: (u32, u32),
    /// `tcp-user-timeout` in seconds (0: the system's).
    pub tcp_user_timeout: u32,
    /// `max-reconnect-tries` (default 0: no reconnection).
    pub max_reconnect_tries: u32,
    /// `reconnect-wait-time` in milliseconds between tries (default 0).
    pub reconnect_wait_time: u32,
    /// `on-fail` (default stop-retry-exit).
    pub on_fail: OnFail,
    /// `retry-on-startup` (default false): a database that cannot be reached at start-up is
    /// retried like a lost one instead of failing the start.
    pub retry_on_startup: bool,
    /// `readonly` (hosts databases only).
    pub readonly: bool,
    /// `trust-anchor`, `cert-file`, `key-file`, `ssl-mode` (Kea 3.0) for TLS to the server.
    pub tls: SqlTls,
}

/// TLS to a SQL server (Kea ARM 8.2.2.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlTls {
    /// `trust-anchor`: CA certificates to verify the server with.
    pub trust_anchor: Option<PathBuf>,
    /// `cert-file`: the client certificate.
    pub cert_file: Option<PathBuf>,
    /// `key-file`: the client key.
    pub key_file: Option<PathBuf>,
    /// `ssl-mode` (default: prefer with TLS files, disable without).
    pub ssl_mode: Option<String>,
}

// The password must never reach logs through a stray `{:?}`.
impl std::fmt::Debug for SqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("on_fail", &self.on_fail)
            .finish_non_exhaustive()
    }
}

/// `on-fail`: what a server does when its database connection cannot be restored (Kea ARM
/// 8.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFail {
    /// `stop-retry-exit`: stop serving, retry, exit when the tries are used up.
    #[default]
    StopRetryExit,
    /// `serve-retry-exit`: keep serving what does not need the database, retry, then exit.
    ServeRetryExit,
    /// `serve-retry-continue`: keep serving and retrying for ever.
    ServeRetryContinue,
}

/// The [`SqlConnection`] of a database map.
fn sql_connection(c: &mut Checker, db: &raw::LeaseDatabase) -> SqlConnection {
    let secs = |c: &mut Checker, key: &str, v: Option<i64>, def: u32| u32_of(c, &db.loc, key, v).unwrap_or(def);
    let path = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(PathBuf::from);
    SqlConnection {
        host: db.host.clone(),
        port: int_in(c, &db.loc, "port", db.port, 0, 65535).map(|p| p as u16),
        user: db.user.clone(),
        password: db.password.clone(),
        connect_timeout: secs(c, "connect-timeout", db.connect_timeout, 5),
        io_timeout: (secs(c, "read-timeout", db.read_timeout, 0), secs(c, "write-timeout", db.write_timeout, 0)),
        tcp_user_timeout: secs(c, "tcp-user-timeout", db.tcp_user_timeout, 0),
        max_reconnect_tries: secs(c, "max-reconnect-tries", db.max_reconnect_tries, 0),
        reconnect_wait_time: secs(c, "reconnect-wait-time", db.reconnect_wait_time, 0),
        on_fail: match db.on_fail.as_deref() {
            Some("serve-retry-exit") => OnFail::ServeRetryExit,
            Some("serve-retry-continue") => OnFail::ServeRetryContinue,
            _ => OnFail::StopRetryExit,
        },
        retry_on_startup: db.retry_on_startup.unwrap_or(false),
        readonly: db.readonly.unwrap_or(false),
        tls: SqlTls {
            trust_anchor: path(&db.trust_anchor),
            cert_file: path(&db.cert_file),
            key_file: path(&db.key_file),
            ssl_mode: db.ssl_mode.clone(),
        },
    }
}

/// One control channel (Kea ARM 8.8 "Management API").
#[derive(Debug, Clone, PartialEq)]
pub struct ControlSocket {
    /// Transport and its settings.
    pub kind: ControlSocketKind,
}

/// Transport of a control channel.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlSocketKind {
    /// A unix stream socket at this path.
    Unix(PathBuf),
    /// An HTTP or HTTPS listener.
    Http(HttpChannel),
}

/// An HTTP(S) control channel: a daemon's `http`/`https` control socket (Kea 3.0 ARM 8.8) or
/// the control agent (Kea ARM 7.2).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpChannel {
    /// `socket-address` / `http-host` (default 127.0.0.1).
    pub address: IpAddr,
    /// `socket-port` / `http-port` (default 8000).
    pub port: u16,
    /// TLS, when `trust-anchor`, `cert-file` and `key-file` are all set and not empty.
    pub tls: Option<TlsPaths>,
    /// `authentication`, when present.
    pub auth: Option<BasicAuthConfig>,
    /// `http-headers`: (name, value) added to every answer (Kea 2.7.5+).
    pub headers: Vec<(String, String)>,
}

/// The TLS files of an HTTPS channel (Kea ARM 7.2.2, 8.8.2).
#[derive(Debug, Clone, PartialEq)]
pub struct TlsPaths {
    /// `trust-anchor`: CA file or directory verifying client certificates.
    pub trust_anchor: PathBuf,
    /// `cert-file`: the server's certificate chain.
    pub cert_file: PathBuf,
    /// `key-file`: the server's private key.
    pub key_file: PathBuf,
    /// `cert-required` (default true: mutual TLS).
    pub cert_required: bool,
}

/// `authentication` of type basic (Kea ARM 7.2 "Basic HTTP Authentication").
#[derive(Debug, Clone, PartialEq)]
pub struct BasicAuthConfig {
    /// `realm` (default: the daemon's name).
    pub realm: Option<String>,
    /// `directory` that relative secret files live in.
    pub directory: String,
    /// `clients`; none means no authentication, as in Kea.
    pub clients: Vec<AuthClientConfig>,
}

/// One `clients` entry: each half of the secret as text or as a file to read.
#[derive(Clone, PartialEq)]
pub struct AuthClientConfig {
    /// `user`
    pub user: Option<String>,
    /// `user-file`
    pub user_file: Option<String>,
    /// `password`
    pub password: Option<String>,
    /// `password-file`
    pub password_file: Option<String>,
}

// Secrets must never reach logs through a stray `{:?}`.
impl std::fmt::Debug for AuthClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClientConfig")
            .field("user_file", &self.user_file)
            .field("password_file", &self.password_file)
            .finish_non_exhaustive()
    }
}

impl HttpChannel {
    /// One control channel map as the configuration loader reads it, for callers that hold
    /// the map alone (tools, tests): a daemon's control socket (`socket-type` defaults to
    /// http here) or, with `http-host`/`http-port`, the control agent's keys.
    pub fn from_json(map: &serde_json::Value) -> Result<HttpChannel, String> {
        let agent = map.get("http-host").is_some() || map.get("http-port").is_some();
        let doc = if agent {
            serde_json::json!({ "Control-agent": map })
        } else {
            let mut m = map.clone();
            if let Some(o) = m.as_object_mut() {
                o.entry("socket-type").or_insert_with(|| "http".into());
            }
            serde_json::json!({ "Dhcp4": { "control-sockets": [m] } })
        };
        let opts = crate::config::LoadOptions::default();
        let loaded =
            crate::config::load_str("<control channel>", &doc.to_string(), &opts).map_err(|e| e.to_string())?;
        let cfg = loaded.config;
        if let Some(a) = cfg.agent {
            return Ok(a.http);
        }
        match cfg.dhcp4.and_then(|d| d.daemon.control_sockets.into_iter().next()).map(|s| s.kind) {
            Some(ControlSocketKind::Http(h)) => Ok(h),
            _ => Err("not an HTTP control channel".into()),
        }
    }
}

/// Host reservation identifiers (Kea ARM 8.3.1); the bytes are the decoded identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostIdentifier {
    /// `hw-address`
    HwAddress(Vec<u8>),
    /// `duid`
    Duid(Vec<u8>),
    /// `circuit-id` (v4)
    CircuitId(Vec<u8>),
    /// `client-id` (v4)
    ClientId(Vec<u8>),
    /// `flex-id`
    FlexId(Vec<u8>),
}

impl HostIdentifier {
    /// Kea's identifier-type name.
    pub fn kind(&self) -> &'static str {
        match self {
            HostIdentifier::HwAddress(_) => "hw-address",
            HostIdentifier::Duid(_) => "duid",
            HostIdentifier::CircuitId(_) => "circuit-id",
            HostIdentifier::ClientId(_) => "client-id",
            HostIdentifier::FlexId(_) => "flex-id",
        }
    }
}

/// Kea's identifier text: hex bytes separated by `:` (or ` `/none), or `'quoted text'`.
pub(crate) fn parse_identifier_text(s: &str) -> Option<Vec<u8>> {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
        let inner = &t[1..t.len() - 1];
        return if inner.is_empty() { None } else { Some(inner.as_bytes().to_vec()) };
    }
    let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
    let parts: Vec<&str> = if t.contains(':') {
        t.split(':').collect()
    } else if t.contains(' ') {
        t.split(' ').collect()
    } else {
        vec![t]
    };
    let mut out = Vec::new();
    if parts.len() == 1 {
        let h = parts[0];
        if h.is_empty() {
            return None;
        }
        let padded = if h.len() % 2 == 1 { format!("0{h}") } else { h.to_string() };
        return hex::decode(padded).ok();
    }
    for p in parts {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        out.push(u8::from_str_radix(p, 16).ok()?);
    }
    Some(out)
}

/// Reads the identifier of a reservation: exactly one of the kinds offered, each given as
/// `(kind, value)` in Kea's order.
pub(crate) fn reservation_identifier(
    c: &mut Checker,
    r: &Loc,
    offered: &[(&'static str, Option<&String>)],
) -> Option<HostIdentifier> {
    let present: Vec<(&str, &String)> = offered.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
    match present.as_slice() {
        [] => {
            let mut names: Vec<&str> = offered.iter().map(|(k, _)| *k).collect();
            names.sort_unstable();
            c.err(
                r,
                format!(
                    "one of the supported identifiers must be specified for host reservation: {}",
                    names.join(", ")
                ),
            );
            None
        }
        [(one, text)] => match parse_identifier_text(text) {
            Some(bytes) => Some(match *one {
                "hw-address" => HostIdentifier::HwAddress(bytes),
                "duid" => HostIdentifier::Duid(bytes),
                "circuit-id" => HostIdentifier::CircuitId(bytes),
                "client-id" => HostIdentifier::ClientId(bytes),
                _ => HostIdentifier::FlexId(bytes),
            }),
            None => {
                c.err(r.key(one), format!("invalid host identifier value '{text}'"));
                None
            }
        },
        [(a, _), (b, _), ..] => {
            c.err(r, format!("the '{a}' and '{b}' are mutually exclusive"));
            None
        }
    }
}

/// `value` (the key `key` of the map at `at`) in `[lo, hi]`, or an error naming the key and
/// range.
pub(crate) fn int_in(c: &mut Checker, at: &Loc, key: &str, value: Option<i64>, lo: i64, hi: i64) -> Option<i64> {
    let i = value?;
    if i < lo || i > hi {
        c.err(at.key(key), format!("{key} value: {i} is out of range, expected value: {lo}..{hi}"));
        return None;
    }
    Some(i)
}

/// [`int_in`] over the whole `u32` range.
pub(crate) fn u32_of(c: &mut Checker, at: &Loc, key: &str, value: Option<i64>) -> Option<u32> {
    int_in(c, at, key, value, 0, u32::MAX as i64).map(|i| i as u32)
}

/// `multi-threading` (Kea ARM 8.2.37 "Multi-Threading Settings"): how many threads receive
/// and decide packets per interface. 1 unless `enable-multi-threading` is true (Kea 2.2's
/// default is false); then `thread-pool-size`, whose 0 (the default) means one per core.
pub(crate) fn packet_threads(c: &mut Checker, mt: Option<&raw::MultiThreading>) -> u32 {
    let Some(mt) = mt.filter(|mt| mt.enable_multi_threading == Some(true)) else { return 1 };
    int_in(c, &mt.loc, "thread-pool-size", mt.thread_pool_size, 0, 256).map_or(0, |n| n as u32)
}

/// The packet queue in front of the engine, in packets (0: none). Under multi-threading it
/// is `packet-queue-size` (Kea ARM 8.2.37, default 64, 0 unbounded); otherwise
/// `dhcp-queue-control` (Kea ARM 18 "Congestion Handling"): `capacity` (default 64) when
/// `enable-queue` is true, since Kea silently disables that queue under multi-threading.
/// `section` is where `dhcp-queue-control` sits: that map takes any key, so it has no
/// position of its own.
pub(crate) fn packet_queue(
    c: &mut Checker,
    section: &Loc,
    mt: Option<&raw::MultiThreading>,
    q: Option<&raw::DhcpQueueControl>,
    ring: &str,
) -> u32 {
    if let Some(mt) = mt.filter(|mt| mt.enable_multi_threading == Some(true)) {
        return int_in(c, &mt.loc, "packet-queue-size", mt.packet_queue_size, 0, u32::MAX as i64)
            .map_or(64, |n| n as u32);
    }
    let Some(q) = q.filter(|q| q.enable_queue == Some(true)) else { return 0 };
    let at = section.key("dhcp-queue-control");
    // Kea's -t does not look into the queue (it is built when the server starts), so what
    // it would refuse then is a warning here and the default ring is used.
    if let Some(t) = q.queue_type.as_deref().filter(|t| *t != ring) {
        c.warn(&at, format!("packet queue type {t} is not supported, {ring} is used"));
    }
    match q.capacity {
        Some(n) => match u32::try_from(n).ok().filter(|n| *n > 0) {
            Some(n) => n,
            None => {
                c.warn(&at, "the packet queue capacity must be a positive number, 64 is used");
                64
            }
        },
        None => 64,
    }
}

/// `sanity-checks.lease-checks` (Kea ARM 8.2.x "Sanity Checks in DHCPv4").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeaseChecks {
    /// `none`
    None,
    /// `warn` (the default)
    #[default]
    Warn,
    /// `fix`
    Fix,
    /// `fix-del`
    FixDel,
    /// `del`
    Del,
}

impl LeaseChecks {
    /// The value of a section's `sanity-checks`.
    pub(crate) fn read(s: Option<&raw::SanityChecks>) -> LeaseChecks {
        match s.and_then(|s| s.lease_checks.as_deref()) {
            Some("none") => LeaseChecks::None,
            Some("fix") => LeaseChecks::Fix,
            Some("fix-del") => LeaseChecks::FixDel,
            Some("del") => LeaseChecks::Del,
            _ => LeaseChecks::Warn,
        }
    }
}

/// `hostname-char-set` compiled (Kea ARM 8.2.19 "Sanitizing Client Host Name and FQDN Names"):
/// what matches it in a client's host name is replaced by `hostname-char-replacement`.
#[derive(Debug, Clone)]
pub struct CharSet(regex::Regex);

impl PartialEq for CharSet {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl CharSet {
    /// Kea 2.2's default set: anything but letters, digits, dots and hyphens.
    pub const DEFAULT: &'static str = "[^A-Za-z0-9.-]";

    /// Compiles a set.
    pub fn new(pattern: &str) -> Result<CharSet, regex::Error> {
        regex::Regex::new(pattern).map(CharSet)
    }

    /// `text` with every match replaced by `replacement`.
    pub fn scrub(&self, text: &str, replacement: &str) -> String {
        self.0.replace_all(text, regex::NoExpand(replacement)).into_owned()
    }
}

/// `hostname-char-set` and `hostname-char-replacement` of one scope over the inherited ones
/// (an empty set turns sanitizing off).
pub(crate) fn hostname_chars(
    c: &mut Checker,
    at: &Loc,
    (set, replacement): (Option<&str>, Option<&str>),
    outer: &(Option<CharSet>, String),
) -> (Option<CharSet>, String) {
    let set = match set {
        None => outer.0.clone(),
        Some("") => None,
        Some(p) => match CharSet::new(p) {
            Ok(set) => Some(set),
            Err(e) => {
                c.err(
                    at.key("hostname-char-set"),
                    format!("hostname-char-set '{p}' is not a valid regular expression: {e}"),
                );
                outer.0.clone()
            }
        },
    };
    (set, replacement.map_or_else(|| outer.1.clone(), str::to_string))
}

/// `cache-threshold` of one scope over the inherited value (Kea ARM 8.2.22 / 9.2.x "Lease
/// Caching"): a fraction in (0, 1); 0 turns caching off.
pub(crate) fn cache_threshold(c: &mut Checker, at: &Loc, value: Option<f64>, outer: Option<f64>) -> Option<f64> {
    let Some(f) = value else { return outer };
    if (0.0..1.0).contains(&f) {
        Some(f).filter(|f| *f > 0.0)
    } else {
        c.err(
            at.key("cache-threshold"),
            format!("cache-threshold: {f} is invalid, it must be greater than 0.0 and less than 1.0"),
        );
        None
    }
}

/// Kea 2.2's `reservation-mode` of one scope mapped onto the 2.x/3.0 flags
/// (`reservations-global`, `-in-subnet`, `-out-of-pool`) over the inherited ones.
pub(crate) fn reservation_mode(mode: Option<&str>, outer: (bool, bool, bool)) -> (bool, bool, bool) {
    match mode {
        Some("disabled") => (false, false, false),
        Some("out-of-pool") => (false, true, true),
        Some("global") => (true, false, false),
        Some("all") => (false, true, false),
        _ => outer,
    }
}

/// `allocator` / `pd-allocator` (named `key`) of one scope over the inherited kind (Kea ARM
/// 8.2.12 "Allocation Strategies").
pub(crate) fn allocator(
    c: &mut Checker,
    at: &Loc,
    key: &str,
    value: Option<&str>,
    outer: AllocatorKind,
) -> AllocatorKind {
    match value {
        Some("random") => AllocatorKind::Random,
        Some("flq") => AllocatorKind::Flq,
        Some("sflq") => {
            c.warn(at, format!("{key} sflq (shared free lease queue, Kea 3.1 experimental) is served as flq: kakapo keeps its queue in memory"));
            AllocatorKind::Flq
        }
        Some(_) => AllocatorKind::Iterative,
        None => outer,
    }
}

/// `adaptive-lease-time-threshold` of one scope over the inherited value (Kea 3.1 ARM
/// "Adaptive Lease Time Threshold"): a pool occupancy in (0, 1) above which new leases get
/// the minimum valid lifetime; 1 (the default) turns it off. Like Kea, it acts only where
/// the `flq` allocator hands out addresses, and `-t` says so where another one does.
pub(crate) fn adaptive_threshold(
    c: &mut Checker,
    at: &Loc,
    value: Option<f64>,
    outer: Option<f64>,
    flq: bool,
) -> Option<f64> {
    const KEY: &str = "adaptive-lease-time-threshold";
    let Some(f) = value else { return outer };
    let t = if f > 0.0 && f < 1.0 {
        Some(f)
    } else if f == 1.0 {
        None
    } else {
        c.err(at.key(KEY), format!("{KEY}: {f} is invalid, it must be greater than 0.0 and at most 1.0"));
        return outer;
    };
    if t.is_some() && !flq {
        c.warn(
            at.key(KEY),
            format!("KAKAPO_CONFIG_KEY_IGNORED '{KEY}' has effect only where the allocator is flq, as in Kea"),
        );
    }
    t
}

/// `t1-percent` and `t2-percent` of the map at `at` lie in (0, 1].
pub(crate) fn check_percents(c: &mut Checker, at: &Loc, t1: Option<f64>, t2: Option<f64>) {
    for (key, value) in [("t1-percent", t1), ("t2-percent", t2)] {
        if let Some(f) = value.filter(|f| !(0.0..=1.0).contains(f) || *f == 0.0) {
            c.err(at.key(key), format!("{key}: {f} is invalid, it must be greater than 0.0 and less than 1.0"));
        }
    }
}

/// A guard's class list: `client-classes` (Kea 3.0) followed by `client-class` (2.x).
pub(crate) fn classes(list: &Option<Vec<String>>, one: &Option<String>) -> Vec<String> {
    super::list(list).iter().chain(one).cloned().collect()
}

/// `min-X`, `X`, `max-X` of one scope (`name` is X), range-checked.
pub(crate) fn triplet(
    c: &mut Checker,
    at: &Loc,
    name: &str,
    (min, default, max): (Option<i64>, Option<i64>, Option<i64>),
) -> Triplet {
    Triplet {
        min: u32_of(c, at, &format!("min-{name}"), min),
        default: u32_of(c, at, name, default),
        max: u32_of(c, at, &format!("max-{name}"), max),
    }
}

/// Kea's consistency rule for a lifetime triplet: min <= default <= max. The error points at
/// the value this scope set, so the operator sees which number to change.
pub(crate) fn check_triplet(c: &mut Checker, scope: &Loc, name: &str, t: Triplet) {
    let min_key = format!("min-{name}");
    let max_key = format!("max-{name}");
    let at = |keys: &[&str]| keys.iter().find(|k| scope.has(k)).map_or_else(|| scope.here(), |k| scope.key(k));
    let def = if scope.has(name) { name.to_string() } else { format!("(default) {name}") };
    if let (Some(min), Some(max)) = (t.min, t.max) {
        if min > max {
            c.err(
                at(&[&min_key, &max_key]),
                format!("the value of {min_key} ({min}) is not less than {max_key} ({max})"),
            );
            return;
        }
    }
    if let (Some(min), Some(d)) = (t.min, t.default) {
        if min > d {
            c.err(at(&[&min_key, name]), format!("the value of {min_key} ({min}) is not less than {def} ({d})"));
        }
    }
    if let (Some(d), Some(max)) = (t.default, t.max) {
        if d > max {
            c.err(at(&[name, &max_key]), format!("the value of {def} ({d}) is not less than {max_key} ({max})"));
        }
    }
}

/// Values Kea's grammar allows for enumerated string keys, wherever they appear.
const ENUMS: &[(&str, &[&str])] = &[
    ("ddns-replace-client-name", &["never", "always", "when-present", "when-not-present", "true", "false"]),
    (
        "ddns-conflict-resolution-mode",
        &["check-with-dhcid", "no-check-with-dhcid", "check-exists-with-dhcid", "no-check-without-dhcid"],
    ),
    ("dhcp-socket-type", &["raw", "udp"]),
    ("outbound-interface", &["same-as-inbound", "use-routing"]),
    ("allocator", &["iterative", "random", "flq", "sflq"]),
    ("pd-allocator", &["iterative", "random", "flq", "sflq"]),
    ("reservation-mode", &["disabled", "out-of-pool", "global", "all"]),
    ("ncr-protocol", &["UDP", "TCP"]),
    ("ncr-format", &["JSON"]),
    ("on-fail", &["stop-retry-exit", "serve-retry-exit", "serve-retry-continue"]),
    ("ssl-mode", &["disable", "prefer", "require", "verify-ca", "verify-full"]),
];

/// Keys whose values are free-form JSON: the enum table must not look inside them.
const OPAQUE: &[&str] = &["user-context", "parameters"];

/// Walks a section and checks every enumerated key against Kea's allowed values.
pub(crate) fn check_enums(c: &mut Checker, v: &V<'_>) {
    for (key, child) in v.entries() {
        if OPAQUE.contains(&key) {
            // Free-form inside, but Kea insists that the container itself is a map.
            if !matches!(child.node.value, crate::config::text::Value::Map(_)) {
                c.err(&child, format!("{key} must be a map, got {}", child.node.value.kind()));
            }
            continue;
        }
        if let Some((_, allowed)) = ENUMS.iter().find(|(k, _)| *k == key) {
            if let Some(s) = child.as_str() {
                if !allowed.contains(&s) {
                    c.err(&child, format!("invalid value \"{s}\" for {key} (expected one of: {})", allowed.join(", ")));
                }
            }
        }
        match &child.node.value {
            crate::config::text::Value::Map(_) => check_enums(c, &child),
            crate::config::text::Value::List(items) => {
                for (i, n) in items.iter().enumerate() {
                    check_enums(c, &V { node: n, path: format!("{}[{i}]", child.path) });
                }
            }
            _ => {}
        }
    }
}

/// `loggers` (Kea ARM 18.2). Kea's DHCP daemons only warn about a bad severity at `-t`;
/// the agent insists on one being present, and kakapo follows each.
pub(crate) fn loggers(c: &mut Checker, list: &[raw::Logger], s: Section) -> Vec<LoggerSpec> {
    let mut out = Vec::new();
    for l in list {
        let Some(name) = l.name.as_deref() else {
            c.err(&l.loc, "loggers entry does not have a mandatory 'name' element");
            continue;
        };
        let level = match l.severity.as_deref() {
            None if s == Section::ControlAgent => {
                c.err(&l.loc, "loggers entry does not have a mandatory 'severity' element");
                continue;
            }
            None => Some(tracing::Level::INFO),
            Some(sv) => match logging::parse_severity(sv) {
                Some(level) => level,
                None => {
                    c.warn(l.loc.key("severity"), format!("unknown severity \"{sv}\", using INFO"));
                    Some(tracing::Level::INFO)
                }
            },
        };
        let Some(level) = level else { continue };
        let debuglevel = int_in(c, &l.loc, "debuglevel", l.debuglevel, 0, 99).unwrap_or(0) as u32;
        let mut outputs = Vec::new();
        let opts = l.output_options.iter().chain(&l.legacy_output_options).flatten();
        for o in opts {
            let Some(out) = o.output.as_deref() else {
                c.err(&o.loc, "output-options entry does not have a mandatory 'output' element");
                continue;
            };
            outputs.push(match out {
                "stdout" => OutputSpec::Stdout,
                "stderr" => OutputSpec::Stderr,
                "syslog" => OutputSpec::Syslog(name.split('.').next().unwrap_or(name).to_string()),
                s if s.starts_with("syslog:") => OutputSpec::Syslog(s["syslog:".len()..].to_string()),
                file => OutputSpec::File {
                    path: crate::config::policy::path(
                        c,
                        o.loc.key("output"),
                        crate::config::policy::PathKind::Log,
                        file,
                    ),
                    maxsize: o.maxsize.map_or(logging::DEFAULT_MAXSIZE, |m| m.max(0) as u64),
                    maxver: o.maxver.map_or(logging::DEFAULT_MAXVER, |m| m.clamp(0, 1000) as u32),
                    flush: o.flush.unwrap_or(true),
                },
            });
        }
        if outputs.is_empty() {
            outputs.push(OutputSpec::Stdout);
        }
        out.push(LoggerSpec { name: name.to_string(), level, debuglevel, outputs });
    }
    out
}

/// `hooks-libraries`: each library must be one kakapo has built in (design.md).
pub(crate) fn hooks(c: &mut Checker, list: &[raw::HooksLibrary]) -> Vec<HookLibrary> {
    let mut out = Vec::new();
    for h in list {
        let Some(path) = h.library.as_deref() else {
            c.err(&h.loc, "hooks library configuration does not have a mandatory 'library' element");
            continue;
        };
        let file = Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        if BUILTIN_HOOKS.contains(&file.as_str()) {
            let parameters = h.parameters.clone().unwrap_or(serde_json::Value::Null);
            out.push(HookLibrary { name: file, library: path.to_string(), parameters });
        } else {
            c.err(
                h.loc.key("library"),
                format!("hook library '{path}' is not built into kakapo (built in: {})", BUILTIN_HOOKS.join(", ")),
            );
        }
    }
    out
}

/// The relationships configured for `libdhcp_ha.so` (Kea ARM 16.x), checked.
pub(crate) fn ha(c: &mut Checker, list: &[raw::HooksLibrary]) -> Vec<super::HaRelationship> {
    let is_ha = |h: &&raw::HooksLibrary| {
        h.library.as_deref().and_then(|l| Path::new(l).file_name()).is_some_and(|f| f == "libdhcp_ha.so")
    };
    let Some(h) = list.iter().find(is_ha) else { return Vec::new() };
    let params = h.parameters.clone().unwrap_or(serde_json::Value::Null);
    super::ha::relationships(c, &h.loc, &params)
}

/// `lease-database` or one hosts database entry (Kea ARM 8.2.2, 8.2.3).
pub(crate) fn database(c: &mut Checker, db: &raw::LeaseDatabase, memfile_allowed: bool) -> Option<LeaseDatabase> {
    let Some(kind) = db.r#type.as_deref() else {
        c.err(&db.loc, "database access parameters must contain 'type'");
        return None;
    };
    let ok = match kind {
        "memfile" => memfile_allowed,
        "mysql" | "postgresql" => true,
        _ => false,
    };
    if !ok {
        let expected = if memfile_allowed { "memfile, mysql or postgresql" } else { "mysql or postgresql" };
        c.err(db.loc.key("type"), format!("database type \"{kind}\" is not supported (expected {expected})"));
        return None;
    }
    let lfc = u32_of(c, &db.loc, "lfc-interval", db.lfc_interval).unwrap_or(3600);
    let sql = (kind != "memfile").then(|| sql_connection(c, db));
    Some(LeaseDatabase {
        kind: kind.to_string(),
        name: db.name.clone(),
        persist: db.persist.unwrap_or(true),
        lfc_interval: lfc,
        max_row_errors: u32_of(c, &db.loc, "max-row-errors", db.max_row_errors).unwrap_or(0),
        sql,
    })
}

/// TLS files come as all three or none (Kea ARM 8.8.2, 21 "Security"); `files` are
/// `trust-anchor`, `cert-file` and `key-file` of the map at `at`.
pub(crate) fn tls_triplet(c: &mut Checker, at: &Loc, files: [Option<&String>; 3]) -> bool {
    let keys = ["trust-anchor", "cert-file", "key-file"];
    let n = files.iter().filter(|f| f.is_some()).count();
    if n != 0 && n != 3 {
        let missing: Vec<&str> = keys.iter().zip(files).filter(|(_, f)| f.is_none()).map(|(k, _)| *k).collect();
        c.err(
            at,
            format!("trust-anchor, cert-file and key-file must all be given or none; missing {}", missing.join(", ")),
        );
    }
    n == 3
}

/// The keys of a control channel map, whichever daemon's map it is (`control-socket(s)` of
/// Dhcp4/Dhcp6 and of DhcpDdns have the same transport keys).
#[derive(Clone)]
pub(crate) struct Channel<'a> {
    pub(crate) loc: &'a Loc,
    pub(crate) socket_type: Option<&'a str>,
    pub(crate) socket_name: Option<&'a str>,
    pub(crate) socket_address: Option<&'a str>,
    pub(crate) socket_port: Option<i64>,
    pub(crate) tls: [Option<&'a String>; 3],
    pub(crate) cert_required: Option<bool>,
    pub(crate) authentication: Option<&'a raw::Authentication>,
    pub(crate) http_headers: &'a [raw::HttpHeader],
}

/// A raw control socket map seen as a [`Channel`].
pub(crate) trait AsChannel {
    fn channel(&self) -> Channel<'_>;
}

macro_rules! as_channel {
    ($t:ty, |$s:ident| $headers:expr) => {
        impl AsChannel for $t {
            fn channel(&self) -> Channel<'_> {
                let $s = self;
                Channel {
                    loc: &$s.loc,
                    socket_type: $s.socket_type.as_deref(),
                    socket_name: $s.socket_name.as_deref(),
                    socket_address: $s.socket_address.as_deref(),
                    socket_port: $s.socket_port,
                    tls: [$s.trust_anchor.as_ref(), $s.cert_file.as_ref(), $s.key_file.as_ref()],
                    cert_required: $s.cert_required,
                    authentication: $s.authentication.as_ref(),
                    http_headers: $headers,
                }
            }
        }
    };
}
as_channel!(raw::ControlSocket, |s| super::list(&s.http_headers));
// Kea's DHCP-DDNS control sockets have no http-headers.
as_channel!(crate::config::raw::ddns::D2ControlSocket, |s| &[]);

/// The control agent's section is its HTTP channel (Kea ARM 7.2).
impl AsChannel for crate::config::raw::agent::ControlAgent {
    fn channel(&self) -> Channel<'_> {
        Channel {
            loc: &self.loc,
            socket_type: Some("http"),
            socket_name: None,
            socket_address: self.http_host.as_deref(),
            socket_port: self.http_port,
            tls: [self.trust_anchor.as_ref(), self.cert_file.as_ref(), self.key_file.as_ref()],
            cert_required: self.cert_required,
            authentication: self.authentication.as_ref(),
            http_headers: super::list(&self.http_headers),
        }
    }
}

/// `control-socket` (Kea 2.x, one map) and `control-sockets` (Kea 3.0, a list) as channels.
pub(crate) fn channels_of<'a, T: AsChannel>(
    one: &'a Option<T>,
    many: &'a Option<Vec<T>>,
) -> (Option<Channel<'a>>, Vec<Channel<'a>>) {
    (one.as_ref().map(T::channel), super::list(many).iter().map(T::channel).collect())
}

fn control_socket(c: &mut Checker, s: Channel<'_>) -> Option<ControlSocket> {
    let kind = match s.socket_type.unwrap_or("unix") {
        "unix" => {
            let Some(name) = s.socket_name else {
                c.err(s.loc, "control socket of type unix requires 'socket-name'");
                return None;
            };
            let at = s.loc.key("socket-name");
            ControlSocketKind::Unix(crate::config::policy::path(c, &at, crate::config::policy::PathKind::Socket, name))
        }
        kind @ ("http" | "https") => {
            let addr_text = s.socket_address.unwrap_or("127.0.0.1");
            let Ok(address) = addr_text.parse::<IpAddr>() else {
                c.err(s.loc.key("socket-address"), format!("invalid socket-address '{addr_text}'"));
                return None;
            };
            let port = int_in(c, s.loc, "socket-port", s.socket_port, 0, 65535).unwrap_or(8000) as u16;
            let ch = http_channel(c, &s, address, port)?;
            if kind == "https" && ch.tls.is_none() {
                c.err(s.loc, "an https control socket needs trust-anchor, cert-file and key-file");
                return None;
            }
            ControlSocketKind::Http(ch)
        }
        other => {
            c.err(
                s.loc.key("socket-type"),
                format!("unsupported control socket type '{other}' (expected unix, http or https)"),
            );
            return None;
        }
    };
    Some(ControlSocket { kind })
}

/// The HTTP(S) settings of a channel listening at `address`:`port`.
pub(crate) fn http_channel(c: &mut Checker, s: &Channel<'_>, address: IpAddr, port: u16) -> Option<HttpChannel> {
    let before = c.errors.len();
    let present = tls_triplet(c, s.loc, s.tls);
    // An empty file name means no TLS, as Kea reads it; then all three must be empty.
    let files: Vec<&String> = s.tls.iter().flatten().copied().filter(|f| !f.is_empty()).collect();
    let tls = match files.as_slice() {
        [] => None,
        [ta, cert, key] if present => Some(TlsPaths {
            trust_anchor: PathBuf::from(ta),
            cert_file: PathBuf::from(cert),
            key_file: PathBuf::from(key),
            cert_required: s.cert_required.unwrap_or(true),
        }),
        _ => {
            c.err(s.loc, "trust-anchor, cert-file and key-file must be all given or none");
            None
        }
    };
    let auth = s.authentication.and_then(|a| basic_auth(c, a));
    let mut headers = Vec::new();
    for h in s.http_headers {
        match (h.name.as_deref(), h.value.as_deref()) {
            (Some(""), _) => c.err(h.loc.key("name"), "http-headers 'name' must not be empty"),
            (Some(name), Some(value)) => headers.push((name.to_string(), value.to_string())),
            (None, _) => c.err(&h.loc, "http-headers entries need a 'name'"),
            (_, None) => c.err(&h.loc, "http-headers entries need a 'value'"),
        }
    }
    (c.errors.len() == before).then_some(HttpChannel { address, port, tls, auth, headers })
}

/// `authentication`: only `basic` exists (Kea ARM 7.2).
fn basic_auth(c: &mut Checker, a: &raw::Authentication) -> Option<BasicAuthConfig> {
    match a.r#type.as_deref() {
        Some("basic") => {}
        Some(other) => {
            c.err(a.loc.key("type"), format!("unsupported 'type' authentication parameter: '{other}'"));
            return None;
        }
        None => {
            c.err(&a.loc, "'type' is required in authentication");
            return None;
        }
    }
    let clients = super::list(&a.clients)
        .iter()
        .map(|cl| AuthClientConfig {
            user: cl.user.clone(),
            user_file: cl.user_file.clone(),
            password: cl.password.clone(),
            password_file: cl.password_file.clone(),
        })
        .collect();
    Some(BasicAuthConfig { realm: a.realm.clone(), directory: a.directory.clone().unwrap_or_default(), clients })
}

/// `control-socket` (Kea 2.x, one map) and `control-sockets` (Kea 3.0, a list) of the
/// section at `section`.
pub(crate) fn control_sockets(
    c: &mut Checker,
    section: &Loc,
    (one, list): (Option<Channel<'_>>, Vec<Channel<'_>>),
) -> Vec<ControlSocket> {
    let unix = list.iter().filter(|s| s.socket_type.unwrap_or("unix") == "unix").count();
    let mut out = Vec::new();
    for s in one.into_iter().chain(list) {
        out.extend(control_socket(c, s));
    }
    if unix > 1 {
        c.err(section, "only one unix control socket may be configured");
    }
    out
}

/// `option-def` entries added to the standard registry (Kea ARM 8.2.11 "Custom options").
pub(crate) fn option_defs(
    c: &mut Checker,
    defs: &[raw::OptionDef],
    mut reg: OptionDefRegistry,
    default_space: &str,
) -> OptionDefRegistry {
    for d in defs {
        let Some(name) = d.name.as_deref() else {
            c.err(&d.loc, "missing parameter 'name'");
            continue;
        };
        let Some(code) = d.code else {
            c.err(&d.loc, "missing parameter 'code'");
            continue;
        };
        let max = if default_space == "dhcp4" { 255 } else { 65535 };
        if !(1..=max).contains(&code) {
            c.err(d.loc.key("code"), format!("invalid option code {code}: must be between 1 and {max}"));
            continue;
        }
        let Some(type_name) = d.r#type.as_deref() else {
            c.err(&d.loc, "missing parameter 'type'");
            continue;
        };
        let Ok(option_type) = type_name.parse::<OptionDataType>() else {
            c.err(d.loc.key("type"), format!("option type '{type_name}' not supported"));
            continue;
        };
        let record_types = match OptionDefinition::parse_record_types(d.record_types.as_deref().unwrap_or("")) {
            Ok(r) => r,
            Err(e) => {
                c.err(d.loc.key("record-types"), e.to_string());
                continue;
            }
        };
        let def = OptionDefinition {
            name: name.to_string(),
            code: code as u16,
            space: d.space.as_deref().unwrap_or(default_space).to_string(),
            option_type,
            array: d.array.unwrap_or(false),
            record_types,
            encapsulate: d.encapsulate.clone().unwrap_or_default(),
        };
        if let Err(e) = reg.add(def) {
            c.err(&d.loc, e.to_string());
        }
    }
    reg
}

/// `option-data` of one scope, encoded against the definitions (Kea ARM 8.2.10).
pub(crate) fn option_data(
    c: &mut Checker,
    list: &[raw::OptionData],
    reg: &OptionDefRegistry,
    default_space: &str,
) -> Vec<OptionValue> {
    let mut out = Vec::new();
    for o in list {
        let space = o.space.as_deref().unwrap_or(default_space).to_string();
        let name = o.name.as_deref();
        let code = o.code;
        if name.is_none() && code.is_none() {
            c.err(&o.loc, "option data configuration requires one of 'code' or 'name' parameters to be specified");
            continue;
        }
        let max_code = if default_space == "dhcp4" && space == "dhcp4" { 254 } else { 65535 };
        let code_num = match code {
            Some(n) => match Some(n).filter(|n| (0..=max_code).contains(n)) {
                Some(n) => Some(n as u16),
                None => {
                    c.err(o.loc.key("code"), format!("option code must be between 0 and {max_code}"));
                    continue;
                }
            },
            None => None,
        };
        let def = match (name, code_num) {
            (Some(n), _) => reg.by_name(&space, n),
            (None, Some(k)) => reg.by_code(&space, k),
            (None, None) => None,
        };
        if let (Some(n), Some(k)) = (name, code_num) {
            match reg.by_code(&space, k) {
                Some(d) if d.name != n => {
                    c.err(
                        &o.loc,
                        format!(
                            "specified option name '{n}' does not match the option definition: '{space}.{}'",
                            d.name
                        ),
                    );
                    continue;
                }
                _ => {}
            }
        }
        if def.is_none() {
            if let Some(n) = name {
                // A name needs a definition; only a code may come without one (raw hex data).
                if code_num.is_none() {
                    c.err(o.loc.key("name"), format!("definition for the option '{space}.{n}' does not exist"));
                    continue;
                }
            }
        }
        let csv = o.csv_format.unwrap_or(true);
        let payload = match (o.data.as_deref(), def) {
            (None, _) => None,
            (Some(text), Some(def)) => {
                let universe = if default_space == "dhcp4" { Universe::V4 } else { Universe::V6 };
                match optdata::encode_in(universe, def, text, csv) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        c.err(
                            o.loc.key("data"),
                            format!(
                                "option data does not match option definition '{space}.{}' (code {}): {e}",
                                def.name, def.code
                            ),
                        );
                        continue;
                    }
                }
            }
            (Some(text), None) => {
                if csv {
                    c.err(
                        &o.loc,
                        format!(
                            "definition for the option '{space}.{}' having code '{}' does not exist",
                            name.unwrap_or(""),
                            code_num.unwrap_or(0)
                        ),
                    );
                    continue;
                }
                match optdata::encode_raw_hex(text) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        c.err(o.loc.key("data"), format!("option data is not valid hex: {e}"));
                        continue;
                    }
                }
            }
        };
        let Some(code) = def.map(|d| d.code).or(code_num) else { continue };
        out.push(OptionValue {
            space,
            code,
            name: def.map(|d| d.name.clone()).or_else(|| name.map(str::to_string)),
            payload,
            always_send: o.always_send.unwrap_or(false),
            never_send: o.never_send.unwrap_or(false),
            client_classes: o.client_classes.clone().unwrap_or_default(),
        });
    }
    encapsulate(&mut out, reg, default_space);
    out
}

/// Kea's CfgOption::encapsulate for one scope: an option whose definition encapsulates a space
/// carries, after its own data, the options of that space configured in the same scope (e.g.
/// `vendor-encapsulated-options` (43) with the sub-options of
/// `vendor-encapsulated-options-space`; Kea ARM 8.2.12 / 9.2.14 "Nested DHCP Options").
fn encapsulate(out: &mut [OptionValue], reg: &OptionDefRegistry, default_space: &str) {
    let v4 = default_space == "dhcp4";
    for i in 0..out.len() {
        let Some(def) = reg.by_code(&out[i].space, out[i].code) else { continue };
        if def.encapsulate.is_empty() {
            continue;
        }
        let mut packed = Vec::new();
        for sub in out.iter().filter(|o| o.space == def.encapsulate) {
            let data = sub.payload.as_deref().unwrap_or_default();
            if v4 {
                let (Ok(code), Ok(len)) = (u8::try_from(sub.code), u8::try_from(data.len())) else { continue };
                packed.extend_from_slice(&[code, len]);
            } else {
                let Ok(len) = u16::try_from(data.len()) else { continue };
                packed.extend_from_slice(&sub.code.to_be_bytes());
                packed.extend_from_slice(&len.to_be_bytes());
            }
            packed.extend_from_slice(data);
        }
        if !packed.is_empty() {
            out[i].payload.get_or_insert_with(Vec::new).extend_from_slice(&packed);
        }
    }
}

/// The keys of a client class that every family has (Kea ARM 14 "Client Classification").
pub(crate) struct ClassKeys<'a> {
    pub(crate) loc: &'a Loc,
    pub(crate) name: Option<&'a str>,
    /// `option-def` (DHCPv4 classes only: Kea's grammar has none in Dhcp6 classes).
    pub(crate) option_def: Option<&'a [raw::OptionDef]>,
    pub(crate) option_data: &'a [raw::OptionData],
}

/// Client class names must be present and unique (Kea ARM 14 "Client Classification");
/// returns each accepted class's index and encoded options.
pub(crate) fn client_classes(
    c: &mut Checker,
    classes: &[ClassKeys<'_>],
    reg: &OptionDefRegistry,
    space: &str,
) -> Vec<(usize, Vec<OptionValue>)> {
    let mut out = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, cl) in classes.iter().enumerate() {
        let Some(name) = cl.name else {
            c.err(cl.loc, "missing parameter 'name'");
            continue;
        };
        if names.contains(&name) {
            c.err(cl.loc, format!("Can't add class: Client Class: {name} has already been defined"));
            continue;
        }
        let class_reg = match cl.option_def {
            Some(defs) => option_defs(c, defs, reg.clone(), space),
            None => reg.clone(),
        };
        let options = option_data(c, cl.option_data, &class_reg, space);
        names.push(name);
        out.push((i, options));
    }
    out
}

/// Duplicate detection helper keyed by anything hashable.
pub(crate) struct Seen<T: std::hash::Hash + Eq>(HashSet<T>);

impl<T: std::hash::Hash + Eq> Seen<T> {
    pub(crate) fn new() -> Self {
        Seen(HashSet::new())
    }
    /// True the first time `t` is offered.
    pub(crate) fn first(&mut self, t: T) -> bool {
        self.0.insert(t)
    }
}

/// `interfaces-config.interfaces` (the map at `at`) entries must exist on the host when `-T`
/// is used.
pub(crate) fn interfaces(c: &mut Checker, at: &Loc, names: &[String]) -> Vec<String> {
    if let Some(host) = &c.opts.host {
        let host = host.clone();
        for (i, spec) in names.iter().enumerate() {
            if spec == "*" {
                continue;
            }
            let (ifname, addr) = match spec.split_once('/') {
                Some((n, a)) => (n, Some(a)),
                None => (spec.as_str(), None),
            };
            let here = at.item("interfaces", i);
            match host.iter().find(|h| h.name == ifname) {
                None => c.err(
                    &here,
                    format!("Failed to select interface: interface '{ifname}' doesn't exist in the system"),
                ),
                Some(h) => {
                    if let Some(a) = addr {
                        let ok = a.parse::<IpAddr>().is_ok_and(|ip| h.addresses.contains(&ip));
                        if !ok {
                            c.err(&here, format!("Failed to select interface: interface '{ifname}' doesn't have address '{a}' assigned"));
                        }
                    }
                }
            }
        }
    }
    names.to_vec()
}

/// Subnet ids of one section: unique, and numbered like Kea 2.2 when absent or 0.
pub(crate) struct SubnetIds {
    seen: Seen<u32>,
    next_auto: u32,
}

impl SubnetIds {
    pub(crate) fn new() -> SubnetIds {
        SubnetIds { seen: Seen::new(), next_auto: 0 }
    }

    /// The id of the subnet at `at` (`family`: `IPv4` or `IPv6`); `None` when out of range.
    pub(crate) fn assign(&mut self, c: &mut Checker, at: &Loc, id: Option<i64>, family: &str) -> Option<u32> {
        let id = match id {
            Some(i) if (0..=4_294_967_294).contains(&i) => i as u32,
            Some(i) => {
                c.err(at.key("id"), format!("subnet configuration failed: The 'id' value ({i}) is not within expected range: (0 - 4294967294)"));
                return None;
            }
            None => 0,
        };
        // Kea 2.2 numbers subnets without an id 1, 2, 3... in the order it parses them.
        let id = if id == 0 {
            self.next_auto += 1;
            self.next_auto
        } else {
            id
        };
        if !self.seen.first(id) {
            c.err(at.key("id"), format!("ID of the new {family} subnet '{id}' is already in use"));
        }
        Some(id)
    }
}

/// The reservations of one scope, each read by `one`: their identifiers and (with
/// `ip-reservations-unique`) addresses are unique per subnet (Kea ARM 8.3, 9.3); `key` gives
/// a reservation's identifier and addresses.
pub(crate) fn reservations<R: Located, T>(
    c: &mut Checker,
    list: &[R],
    ip_unique: bool,
    (family, subnet_id): (&str, u32),
    mut one: impl FnMut(&mut Checker, &R) -> Option<T>,
    key: impl Fn(&T) -> (&HostIdentifier, Vec<IpAddr>),
) -> Vec<T> {
    let mut ids = Seen::new();
    let mut ips = Seen::new();
    let mut out = Vec::new();
    for raw in list {
        let Some(r) = one(c, raw) else { continue };
        let at = raw.loc();
        let (identifier, addresses) = key(&r);
        if !ids.first(identifier.clone()) {
            c.err(at, format!("failed to add new host using the {} to the {family} subnet id '{subnet_id}' as this host has already been added", identifier.kind()));
        }
        for ip in addresses.into_iter().filter(|ip| !ip.is_unspecified()) {
            if ip_unique && !ips.first(ip) {
                c.err(at, format!("failed to add new host for the address {ip} to the {family} subnet id '{subnet_id}': there's already a reservation for this address"));
            }
        }
        out.push(r);
    }
    out
}

/// A raw map that knows where it was written.
pub(crate) trait Located {
    fn loc(&self) -> &Loc;
}

impl Located for crate::config::raw::dhcp4::Reservation4 {
    fn loc(&self) -> &Loc {
        &self.loc
    }
}

impl Located for crate::config::raw::dhcp6::Reservation6 {
    fn loc(&self) -> &Loc {
        &self.loc
    }
}

/// `relay` of a subnet or shared network: its addresses (`family`: `IPv4` or `IPv6`), each
/// checked.
pub(crate) fn relay<A: std::str::FromStr>(c: &mut Checker, relay: Option<&raw::Relay>, family: &str) -> Vec<A> {
    let Some(r) = relay else { return Vec::new() };
    let items = super::list(&r.ip_addresses).iter().enumerate().map(|(i, a)| (r.loc.item("ip-addresses", i), a));
    let mut out = Vec::new();
    for (at, text) in items.chain(r.ip_address.iter().map(|a| (r.loc.key("ip-address"), a))) {
        match text.parse::<A>() {
            Ok(ip) => out.push(ip),
            Err(_) => c.err(at, format!("address {text} is not a valid: {family}address")),
        }
    }
    out
}

/// A shared network's relay addresses for its subnets (already checked by [`relay`] where
/// the subnets are).
pub(crate) fn network_relay<A: std::str::FromStr>(relay: Option<&raw::Relay>) -> Vec<A> {
    relay.map_or_else(Vec::new, |r| {
        super::list(&r.ip_addresses).iter().chain(&r.ip_address).filter_map(|a| a.parse().ok()).collect()
    })
}

/// `dhcp-ddns` of a DHCP section: whether updates are enabled, the addresses checked.
pub(crate) fn dhcp_ddns(c: &mut Checker, dd: Option<&raw::DhcpDdnsClient>) -> bool {
    let Some(dd) = dd else { return false };
    for (key, value) in [("server-ip", &dd.server_ip), ("sender-ip", &dd.sender_ip)] {
        if let Some(s) = value.as_deref().filter(|s| !s.is_empty() && s.parse::<IpAddr>().is_err()) {
            c.err(dd.loc.key(key), format!("Failed to convert '{s}' to address"));
        }
    }
    int_in(c, &dd.loc, "server-port", dd.server_port, 0, 65535);
    int_in(c, &dd.loc, "sender-port", dd.sender_port, 0, 65535);
    dd.enable_updates.unwrap_or(false)
}

/// The lease database of a DHCP section (Kea ARM 8.2.2; memfile by default).
pub(crate) fn lease_database(c: &mut Checker, lease: Option<&raw::LeaseDatabase>) -> LeaseDatabase {
    lease.and_then(|db| database(c, db, true)).unwrap_or(LeaseDatabase {
        kind: "memfile".into(),
        name: None,
        persist: true,
        lfc_interval: 3600,
        max_row_errors: 0,
        sql: None,
    })
}

/// `hosts-database` and `hosts-databases` (Kea ARM 8.2.3): both forms, in that order.
pub(crate) fn hosts_databases(
    c: &mut Checker,
    one: Option<&raw::LeaseDatabase>,
    list: &[raw::LeaseDatabase],
) -> Vec<LeaseDatabase> {
    one.into_iter().chain(list).filter_map(|db| database(c, db, false)).collect()
}

/// `host-reservation-identifiers` of the section at `at`, each one of `allowed`; Kea's
/// `default` when the key is absent.
pub(crate) fn host_ids(
    c: &mut Checker,
    at: &Loc,
    ids: Option<&Vec<String>>,
    allowed: &[&str],
    default: &[&str],
) -> Vec<String> {
    let Some(ids) = ids else { return default.iter().map(|s| s.to_string()).collect() };
    if ids.is_empty() {
        // Kea's grammar wants at least one identifier.
        c.err(
            at.key("host-reservation-identifiers"),
            "syntax error, unexpected ]: at least one identifier is required",
        );
    }
    for id in ids {
        if !allowed.contains(&id.as_str()) {
            c.err(at, format!("invalid host-reservation-identifiers entry '{id}'"));
        }
    }
    ids.clone()
}

/// The [`Daemon`] parts the control plane reads: `server-tag`, the statistics sample limits
/// (Kea ARM 8.9) and whether a host database is configured (8.2.3).
pub(crate) fn daemon_params(
    c: &mut Checker,
    at: &Loc,
    server_tag: Option<&String>,
    (count, age): (Option<i64>, Option<i64>),
) -> (String, u32, u64) {
    (
        server_tag.cloned().unwrap_or_default(),
        u32_of(c, at, "statistic-default-sample-count", count).unwrap_or(20),
        u32_of(c, at, "statistic-default-sample-age", age).map_or(0, u64::from),
    )
}

/// What a `Dhcp4` and a `Dhcp6` section have alike: the daemon around the protocol (Kea
/// ARM 8.2 / 9.2), read the same way for both families by [`section_parts!`].
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Built-in hook functions enabled by `hooks-libraries`.
    pub hooks: Vec<HookLibrary>,
    /// `interfaces-config.interfaces`.
    pub interfaces: Vec<String>,
    /// `lease-database` (memfile by default).
    pub lease_database: LeaseDatabase,
    /// Control channels.
    pub control_sockets: Vec<ControlSocket>,
    /// `dhcp-ddns.enable-updates`.
    pub ddns_enabled: bool,
    /// `decline-probation-period` in seconds (default 86400).
    pub decline_probation_period: u32,
    /// `parked-packet-limit` (default 256; 0 means no limit): packets waiting at once for
    /// their commit and post-commit stages (Kea ARM 16.12.16 "Parked-Packet Limit").
    pub parked_packet_limit: u32,
    /// Threads (and sockets) per interface, from `multi-threading`: 1 when it is off, 0 for
    /// one per core (see `packet_threads`).
    pub packet_threads: u32,
    /// Received packets waiting for the engine at most, the oldest dropped beyond it
    /// (0: none); see `packet_queue`.
    pub packet_queue: u32,
    /// `sanity-checks.lease-checks`: what loading does with leases the configuration does
    /// not place (see `lease::sanity`).
    pub lease_checks: LeaseChecks,
    /// `early-global-reservations-lookup` (Kea ARM 14.1): global reservations are looked up
    /// before subnet selection, so their classes may select the subnet.
    pub early_global_reservations_lookup: bool,
    /// `reservations-lookup-first` (Kea ARM 8.3.6): a candidate address is checked against
    /// reservations before the lease table.
    pub reservations_lookup_first: bool,
    /// `expired-leases-processing`.
    pub expired: super::ExpiredLeases,
    /// `server-tag` (default empty).
    pub server_tag: String,
    /// `statistic-default-sample-count` (default 20).
    pub sample_count: u32,
    /// `statistic-default-sample-age` in seconds (default 0: no age limit).
    pub sample_age: u64,
    /// `hosts-database` / `hosts-databases` (Kea ARM 8.2.3), in lookup order.
    pub hosts_databases: Vec<LeaseDatabase>,
    /// The HA hook's relationships (Kea ARM 16.x "High Availability"); empty without it.
    pub ha: Vec<super::HaRelationship>,
}

/// The [`Daemon`] of a raw `Dhcp4` or `Dhcp6` (`$ring`: the family's packet queue).
macro_rules! section_parts {
    ($c:expr, $d:expr, $ring:expr) => {{
        let (c, d) = ($c, $d);
        let interfaces = match &d.interfaces_config {
            Some(ic) => common::interfaces(c, &ic.loc, list(&ic.interfaces)),
            None => Vec::new(),
        };
        let (server_tag, sample_count, sample_age) = common::daemon_params(
            c,
            &d.loc,
            d.server_tag.as_ref(),
            (d.statistic_default_sample_count, d.statistic_default_sample_age),
        );
        common::Daemon {
            hooks: common::hooks(c, list(&d.hooks_libraries)),
            ha: common::ha(c, list(&d.hooks_libraries)),
            interfaces,
            lease_database: common::lease_database(c, d.lease_database.as_ref()),
            hosts_databases: common::hosts_databases(c, d.hosts_database.as_ref(), list(&d.hosts_databases)),
            control_sockets: common::control_sockets(
                c,
                &d.loc,
                common::channels_of(&d.control_socket, &d.control_sockets),
            ),
            ddns_enabled: common::dhcp_ddns(c, d.dhcp_ddns.as_ref()),
            decline_probation_period: common::u32_of(c, &d.loc, "decline-probation-period", d.decline_probation_period)
                .unwrap_or(86400),
            parked_packet_limit: common::u32_of(c, &d.loc, "parked-packet-limit", d.parked_packet_limit).unwrap_or(256),
            packet_threads: common::packet_threads(c, d.multi_threading.as_ref()),
            packet_queue: common::packet_queue(
                c,
                &d.loc,
                d.multi_threading.as_ref(),
                d.dhcp_queue_control.as_ref(),
                $ring,
            ),
            lease_checks: common::LeaseChecks::read(d.sanity_checks.as_ref()),
            early_global_reservations_lookup: d.early_global_reservations_lookup.unwrap_or(false),
            reservations_lookup_first: d.reservations_lookup_first.unwrap_or(false),
            expired: super::ExpiredLeases::read(c, d.expired_leases_processing.as_ref()),
            server_tag,
            sample_count,
            sample_age,
        }
    }};
}
pub(crate) use section_parts;

/// A shared network's `name`: present and not used before (Kea ARM 8.5, 9.6).
pub(crate) fn network_name<'a>(
    c: &mut Checker,
    names: &mut Seen<String>,
    at: &Loc,
    name: Option<&'a str>,
) -> Option<&'a str> {
    let Some(name) = name else {
        c.err(at, "missing parameter 'name'");
        return None;
    };
    if !names.first(name.to_string()) {
        c.err(at, format!("duplicate network '{name}' found in the configuration"));
        return None;
    }
    Some(name)
}

impl Triplet {
    /// A client class's `(min-X, X, max-X)` as given (Kea's grammar checks no ranges there).
    pub(crate) fn of((min, default, max): (Option<i64>, Option<i64>, Option<i64>)) -> Triplet {
        let life = |v: Option<i64>| v.and_then(|i| u32::try_from(i).ok());
        Triplet { min: life(min), default: life(default), max: life(max) }
    }
}

/// The address range of a `pools` entry (Kea ARM 8.2.6, 9.2.6): `text` parsed by `parse`,
/// ordered, inside the subnet `prefix` (`inside`), and overlapping none of `taken`; `kind`
/// is Kea's pool type in messages (`V4`, `IA_NA`).
pub(crate) fn pool_range<A: Ord + Copy + std::fmt::Display>(
    c: &mut Checker,
    at: &Loc,
    (text, parsed): (&str, Option<(A, A)>),
    (kind, prefix, inside): (&str, &dyn std::fmt::Display, &dyn Fn(A) -> bool),
    mut taken: impl Iterator<Item = (A, A)>,
) -> Option<(A, A)> {
    let at = at.key("pool");
    let Some((first, last)) = parsed else {
        c.err(at, format!("invalid pool definition: {text}. There are two acceptable formats <min address-max address> or <prefix/len>"));
        return None;
    };
    if first > last {
        c.err(at, format!("Failed to create pool defined by: {first}-{last}"));
        return None;
    }
    if !inside(first) || !inside(last) {
        c.err(at, format!("a pool of type {kind}, with the following address range: {first}-{last} does not match the prefix of a subnet: {prefix}"));
        return None;
    }
    if let Some((f, l)) = taken.find(|(f, l)| *f <= last && first <= *l) {
        c.err(at, format!("a pool of type {kind}, with the following address range: {first}-{last} overlaps with an existing pool in the subnet: {prefix} ({f}-{l})"));
        return None;
    }
    Some((first, last))
}
