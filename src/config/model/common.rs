//! Checks and model pieces shared by several sections: options, option definitions, hooks,
//! loggers, lease databases, control sockets, lifetimes, host identifiers (Kea ARM 8.2).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{AllocatorKind, Checker, BUILTIN_HOOKS, V};
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
    /// `host`, `port`, `user`, `password` and the rest, kept for the SQL backends.
    pub params: serde_json::Value,
}

/// One control channel (Kea ARM 8.8 "Management API").
#[derive(Debug, Clone, PartialEq)]
pub struct ControlSocket {
    /// Transport.
    pub kind: ControlSocketKind,
    /// Full entry for the API layer (authentication, http-headers, TLS files).
    pub params: serde_json::Value,
}

/// Transport of a control channel.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlSocketKind {
    /// A unix stream socket at this path.
    Unix(PathBuf),
    /// An HTTP listener.
    Http {
        /// `socket-address`, default 127.0.0.1.
        address: IpAddr,
        /// `socket-port`, default 8000.
        port: u16,
    },
    /// An HTTPS listener (`trust-anchor`, `cert-file`, `key-file` all set).
    Https {
        /// `socket-address`
        address: IpAddr,
        /// `socket-port`
        port: u16,
        /// `cert-required` (default true: mutual TLS).
        cert_required: bool,
    },
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

/// Reads the identifier of a reservation: exactly one of the allowed kinds.
pub(crate) fn reservation_identifier(c: &mut Checker, r: &V<'_>, allowed: &[&str]) -> Option<HostIdentifier> {
    let present: Vec<&str> = allowed.iter().copied().filter(|k| r.get(k).is_some()).collect();
    match present.as_slice() {
        [] => {
            let mut names: Vec<&str> = allowed.to_vec();
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
        [one] => {
            let v = r.get(one)?;
            let text = v.as_str().unwrap_or("");
            match parse_identifier_text(text) {
                Some(bytes) => Some(match *one {
                    "hw-address" => HostIdentifier::HwAddress(bytes),
                    "duid" => HostIdentifier::Duid(bytes),
                    "circuit-id" => HostIdentifier::CircuitId(bytes),
                    "client-id" => HostIdentifier::ClientId(bytes),
                    _ => HostIdentifier::FlexId(bytes),
                }),
                None => {
                    c.err(&v, format!("invalid host identifier value '{text}'"));
                    None
                }
            }
        }
        [a, b, ..] => {
            c.err(r, format!("the '{a}' and '{b}' are mutually exclusive"));
            None
        }
    }
}

/// Integer in `[lo, hi]`, or an error naming the key and range.
pub(crate) fn int_in(c: &mut Checker, parent: &V<'_>, key: &str, lo: i64, hi: i64) -> Option<i64> {
    let v = parent.get(key)?;
    let i = v.as_int()?;
    if i < lo || i > hi {
        c.err(&v, format!("{key} value: {i} is out of range, expected value: {lo}..{hi}"));
        return None;
    }
    Some(i)
}

pub(crate) fn u32_of(c: &mut Checker, parent: &V<'_>, key: &str) -> Option<u32> {
    int_in(c, parent, key, 0, u32::MAX as i64).map(|i| i as u32)
}

/// `multi-threading` (Kea ARM 8.2.37 "Multi-Threading Settings"): how many threads receive
/// and decide packets per interface. 1 unless `enable-multi-threading` is true (Kea 2.2's
/// default is false); then `thread-pool-size`, whose 0 (the default) means one per core.
pub(crate) fn packet_threads(c: &mut Checker, d: &V<'_>) -> u32 {
    let Some(mt) = d.get("multi-threading") else { return 1 };
    if !mt.bool("enable-multi-threading").unwrap_or(false) {
        return 1;
    }
    int_in(c, &mt, "thread-pool-size", 0, 256).map_or(0, |n| n as u32)
}

/// The packet queue in front of the engine, in packets (0: none). Under multi-threading it
/// is `packet-queue-size` (Kea ARM 8.2.37, default 64, 0 unbounded); otherwise
/// `dhcp-queue-control` (Kea ARM 18 "Congestion Handling"): `capacity` (default 64) when
/// `enable-queue` is true, since Kea silently disables that queue under multi-threading.
pub(crate) fn packet_queue(c: &mut Checker, d: &V<'_>, ring: &str) -> u32 {
    if let Some(mt) = d.get("multi-threading").filter(|mt| mt.bool("enable-multi-threading") == Some(true)) {
        return int_in(c, &mt, "packet-queue-size", 0, u32::MAX as i64).map_or(64, |n| n as u32);
    }
    let Some(q) = d.get("dhcp-queue-control").filter(|q| q.bool("enable-queue") == Some(true)) else {
        return 0;
    };
    // Kea's -t does not look into the queue (it is built when the server starts), so what
    // it would refuse then is a warning here and the default ring is used.
    if let Some(t) = q.get("queue-type").filter(|t| t.as_str() != Some(ring)) {
        c.warn(&t, format!("packet queue type {} is not supported, {ring} is used", t.as_str().unwrap_or("?")));
    }
    match q.get("capacity") {
        Some(n) => match n.as_int().filter(|n| (1..=i64::from(u32::MAX)).contains(n)) {
            Some(n) => n as u32,
            None => {
                c.warn(&n, "the packet queue capacity must be a positive number, 64 is used");
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
    /// The value of `sanity-checks` in section `d`.
    pub(crate) fn read(d: &V<'_>) -> LeaseChecks {
        match d.get("sanity-checks").and_then(|s| s.str("lease-checks")) {
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
    v: &V<'_>,
    outer: &(Option<CharSet>, String),
) -> (Option<CharSet>, String) {
    let set = match v.get("hostname-char-set") {
        None => outer.0.clone(),
        Some(x) => match x.as_str().unwrap_or_default() {
            "" => None,
            p => match CharSet::new(p) {
                Ok(set) => Some(set),
                Err(e) => {
                    c.err(&x, format!("hostname-char-set '{p}' is not a valid regular expression: {e}"));
                    outer.0.clone()
                }
            },
        },
    };
    let replacement = v.str("hostname-char-replacement").map_or_else(|| outer.1.clone(), str::to_string);
    (set, replacement)
}

/// `cache-threshold` of one scope over the inherited value (Kea ARM 8.2.22 / 9.2.x "Lease
/// Caching"): a fraction in (0, 1); 0 turns caching off.
pub(crate) fn cache_threshold(c: &mut Checker, v: &V<'_>, outer: Option<f64>) -> Option<f64> {
    let Some(x) = v.get("cache-threshold") else { return outer };
    match x.as_float() {
        Some(f) if (0.0..1.0).contains(&f) => Some(f).filter(|f| *f > 0.0),
        Some(f) => {
            c.err(&x, format!("cache-threshold: {f} is invalid, it must be greater than 0.0 and less than 1.0"));
            None
        }
        None => None,
    }
}

/// Kea 2.2's `reservation-mode` of one scope mapped onto the 2.x/3.0 flags
/// (`reservations-global`, `-in-subnet`, `-out-of-pool`) over the inherited ones.
pub(crate) fn reservation_mode(v: &V<'_>, outer: (bool, bool, bool)) -> (bool, bool, bool) {
    match v.str("reservation-mode") {
        Some("disabled") => (false, false, false),
        Some("out-of-pool") => (false, true, true),
        Some("global") => (true, false, false),
        Some("all") => (false, true, false),
        _ => outer,
    }
}

/// `allocator` / `pd-allocator` of one scope over the inherited kind (Kea ARM 8.2.12
/// "Allocation Strategies").
pub(crate) fn allocator(c: &mut Checker, v: &V<'_>, key: &str, outer: AllocatorKind) -> AllocatorKind {
    match v.str(key) {
        Some("random") => AllocatorKind::Random,
        Some("flq") => AllocatorKind::Flq,
        Some("sflq") => {
            c.warn(v, format!("{key} sflq (shared free lease queue, Kea 3.1 experimental) is served as flq: kakapo keeps its queue in memory"));
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
pub(crate) fn adaptive_threshold(c: &mut Checker, v: &V<'_>, outer: Option<f64>, flq: bool) -> Option<f64> {
    const KEY: &str = "adaptive-lease-time-threshold";
    let Some(x) = v.get(KEY) else { return outer };
    let t = match x.as_float() {
        Some(f) if f > 0.0 && f < 1.0 => Some(f),
        Some(1.0) => None,
        f => {
            let shown = f.map_or_else(|| "a non-number".to_string(), |f| f.to_string());
            c.err(&x, format!("{KEY}: {shown} is invalid, it must be greater than 0.0 and at most 1.0"));
            return outer;
        }
    };
    if t.is_some() && !flq {
        c.warn(&x, format!("KAKAPO_CONFIG_KEY_IGNORED '{KEY}' has effect only where the allocator is flq, as in Kea"));
    }
    t
}

/// `min-X`, `X`, `max-X` of one scope, range-checked.
pub(crate) fn triplet(c: &mut Checker, scope: &V<'_>, name: &str) -> Triplet {
    Triplet {
        min: u32_of(c, scope, &format!("min-{name}")),
        default: u32_of(c, scope, name),
        max: u32_of(c, scope, &format!("max-{name}")),
    }
}

/// Kea's consistency rule for a lifetime triplet: min <= default <= max. The error points at
/// the value this scope set, so the operator sees which number to change.
pub(crate) fn check_triplet(c: &mut Checker, scope: &V<'_>, name: &str, t: Triplet) {
    let min_key = format!("min-{name}");
    let max_key = format!("max-{name}");
    let at = |keys: &[&str]| keys.iter().find_map(|k| scope.get(k)).unwrap_or_else(|| scope.clone());
    let def = if scope.get(name).is_some() { name.to_string() } else { format!("(default) {name}") };
    if let (Some(min), Some(max)) = (t.min, t.max) {
        if min > max {
            c.err(
                &at(&[&min_key, &max_key]),
                format!("the value of {min_key} ({min}) is not less than {max_key} ({max})"),
            );
            return;
        }
    }
    if let (Some(min), Some(d)) = (t.min, t.default) {
        if min > d {
            c.err(&at(&[&min_key, name]), format!("the value of {min_key} ({min}) is not less than {def} ({d})"));
        }
    }
    if let (Some(d), Some(max)) = (t.default, t.max) {
        if d > max {
            c.err(&at(&[name, &max_key]), format!("the value of {def} ({d}) is not less than {max_key} ({max})"));
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
    ("mode", &["load-balancing", "hot-standby", "passive-backup"]),
    ("role", &["primary", "secondary", "standby", "backup"]),
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
pub(crate) fn loggers(c: &mut Checker, section: &V<'_>, s: Section) -> Vec<LoggerSpec> {
    let mut out = Vec::new();
    for l in section.list("loggers") {
        let Some(name) = l.str("name") else {
            c.err(&l, "loggers entry does not have a mandatory 'name' element");
            continue;
        };
        let level = match l.get("severity") {
            None if s == Section::ControlAgent => {
                c.err(&l, "loggers entry does not have a mandatory 'severity' element");
                continue;
            }
            None => Some(tracing::Level::INFO),
            Some(sv) => match logging::parse_severity(sv.as_str().unwrap_or("")) {
                Some(level) => level,
                None => {
                    c.warn(&sv, format!("unknown severity \"{}\", using INFO", sv.as_str().unwrap_or("")));
                    Some(tracing::Level::INFO)
                }
            },
        };
        let Some(level) = level else { continue };
        let debuglevel = int_in(c, &l, "debuglevel", 0, 99).unwrap_or(0) as u32;
        let mut outputs = Vec::new();
        let mut opts = l.list("output-options");
        opts.extend(l.list("output_options"));
        for o in opts {
            let Some(out) = o.str("output") else {
                c.err(&o, "output-options entry does not have a mandatory 'output' element");
                continue;
            };
            outputs.push(match out {
                "stdout" => OutputSpec::Stdout,
                "stderr" => OutputSpec::Stderr,
                "syslog" => OutputSpec::Syslog(name.split('.').next().unwrap_or(name).to_string()),
                s if s.starts_with("syslog:") => OutputSpec::Syslog(s["syslog:".len()..].to_string()),
                file => OutputSpec::File {
                    path: {
                        let at = o.get("output").unwrap_or_else(|| o.clone());
                        crate::config::policy::path(c, &at, crate::config::policy::PathKind::Log, file)
                    },
                    maxsize: o.int("maxsize").map_or(logging::DEFAULT_MAXSIZE, |m| m.max(0) as u64),
                    maxver: o.int("maxver").map_or(logging::DEFAULT_MAXVER, |m| m.clamp(0, 1000) as u32),
                    flush: o.bool("flush").unwrap_or(true),
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
pub(crate) fn hooks(c: &mut Checker, section: &V<'_>) -> Vec<HookLibrary> {
    let mut out = Vec::new();
    for h in section.list("hooks-libraries") {
        let Some(lib) = h.get("library") else {
            c.err(&h, "hooks library configuration does not have a mandatory 'library' element");
            continue;
        };
        let path = lib.as_str().unwrap_or("");
        let file = Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        if BUILTIN_HOOKS.contains(&file.as_str()) {
            let parameters = h.get("parameters").map_or(serde_json::Value::Null, |p| p.node.to_json());
            out.push(HookLibrary { name: file, library: path.to_string(), parameters });
        } else {
            c.err(
                &lib,
                format!("hook library '{path}' is not built into kakapo (built in: {})", BUILTIN_HOOKS.join(", ")),
            );
        }
    }
    out
}

/// `lease-database` or one hosts database entry (Kea ARM 8.2.2, 8.2.3).
pub(crate) fn database(c: &mut Checker, db: &V<'_>, memfile_allowed: bool) -> Option<LeaseDatabase> {
    let Some(kind) = db.str("type") else {
        c.err(db, "database access parameters must contain 'type'");
        return None;
    };
    let ok = match kind {
        "memfile" => memfile_allowed,
        "mysql" | "postgresql" => true,
        _ => false,
    };
    if !ok {
        let t = db.get("type").unwrap_or_else(|| db.clone());
        let expected = if memfile_allowed { "memfile, mysql or postgresql" } else { "mysql or postgresql" };
        c.err(&t, format!("database type \"{kind}\" is not supported (expected {expected})"));
        return None;
    }
    let lfc = u32_of(c, db, "lfc-interval").unwrap_or(3600);
    if let Some(p) = db.get("port") {
        int_in(c, db, "port", 0, 65535);
        let _ = p;
    }
    Some(LeaseDatabase {
        kind: kind.to_string(),
        name: db.str("name").map(str::to_string),
        persist: db.bool("persist").unwrap_or(true),
        lfc_interval: lfc,
        params: db.node.to_json(),
    })
}

/// TLS files come as all three or none (Kea ARM 8.8.2, 21 "Security").
pub(crate) fn tls_triplet(c: &mut Checker, v: &V<'_>) -> bool {
    let keys = ["trust-anchor", "cert-file", "key-file"];
    let n = keys.iter().filter(|k| v.get(k).is_some()).count();
    if n != 0 && n != 3 {
        let missing: Vec<&str> = keys.iter().copied().filter(|k| v.get(k).is_none()).collect();
        c.err(
            v,
            format!("trust-anchor, cert-file and key-file must all be given or none; missing {}", missing.join(", ")),
        );
    }
    n == 3
}

fn control_socket(c: &mut Checker, s: &V<'_>) -> Option<ControlSocket> {
    let kind = s.str("socket-type").unwrap_or("unix");
    let kind = match kind {
        "unix" => {
            let Some(name) = s.str("socket-name") else {
                c.err(s, "control socket of type unix requires 'socket-name'");
                return None;
            };
            let at = s.get("socket-name").unwrap_or_else(|| s.clone());
            ControlSocketKind::Unix(crate::config::policy::path(c, &at, crate::config::policy::PathKind::Socket, name))
        }
        "http" | "https" => {
            let addr_text = s.str("socket-address").unwrap_or("127.0.0.1");
            let Ok(address) = addr_text.parse::<IpAddr>() else {
                let at = s.get("socket-address").unwrap_or_else(|| s.clone());
                c.err(&at, format!("invalid socket-address '{addr_text}'"));
                return None;
            };
            let port = int_in(c, s, "socket-port", 0, 65535).unwrap_or(8000) as u16;
            let tls = tls_triplet(c, s);
            if kind == "https" && !tls {
                c.err(s, "an https control socket needs trust-anchor, cert-file and key-file");
                return None;
            }
            if tls {
                ControlSocketKind::Https { address, port, cert_required: s.bool("cert-required").unwrap_or(true) }
            } else {
                ControlSocketKind::Http { address, port }
            }
        }
        other => {
            let at = s.get("socket-type").unwrap_or_else(|| s.clone());
            c.err(&at, format!("unsupported control socket type '{other}' (expected unix, http or https)"));
            return None;
        }
    };
    Some(ControlSocket { kind, params: s.node.to_json() })
}

/// `control-socket` (Kea 2.x, one map) and `control-sockets` (Kea 3.0, a list).
pub(crate) fn control_sockets(c: &mut Checker, section: &V<'_>) -> Vec<ControlSocket> {
    let mut out = Vec::new();
    if let Some(s) = section.get("control-socket") {
        out.extend(control_socket(c, &s));
    }
    for s in section.list("control-sockets") {
        out.extend(control_socket(c, &s));
    }
    let unix = section
        .list("control-sockets")
        .into_iter()
        .filter(|s| s.str("socket-type").unwrap_or("unix") == "unix")
        .count();
    if unix > 1 {
        c.err(section, "only one unix control socket may be configured");
    }
    out
}

/// `option-def` entries added to the standard registry (Kea ARM 8.2.11 "Custom options").
pub(crate) fn option_defs(
    c: &mut Checker,
    scope: &V<'_>,
    mut reg: OptionDefRegistry,
    default_space: &str,
) -> OptionDefRegistry {
    for d in scope.list("option-def") {
        let Some(name) = d.str("name") else {
            c.err(&d, "missing parameter 'name'");
            continue;
        };
        let Some(code) = d.get("code") else {
            c.err(&d, "missing parameter 'code'");
            continue;
        };
        let max = if default_space == "dhcp4" { 255 } else { 65535 };
        let Some(code) = code.as_int().filter(|n| (1..=max).contains(n)) else {
            c.err(&code, format!("invalid option code {}: must be between 1 and {max}", code.as_int().unwrap_or(0)));
            continue;
        };
        let Some(type_name) = d.str("type") else {
            c.err(&d, "missing parameter 'type'");
            continue;
        };
        let Ok(option_type) = type_name.parse::<OptionDataType>() else {
            let at = d.get("type").unwrap_or_else(|| d.clone());
            c.err(&at, format!("option type '{type_name}' not supported"));
            continue;
        };
        let record_types = match OptionDefinition::parse_record_types(d.str("record-types").unwrap_or("")) {
            Ok(r) => r,
            Err(e) => {
                let at = d.get("record-types").unwrap_or_else(|| d.clone());
                c.err(&at, e.to_string());
                continue;
            }
        };
        let def = OptionDefinition {
            name: name.to_string(),
            code: code as u16,
            space: d.str("space").unwrap_or(default_space).to_string(),
            option_type,
            array: d.bool("array").unwrap_or(false),
            record_types,
            encapsulate: d.str("encapsulate").unwrap_or("").to_string(),
        };
        if let Err(e) = reg.add(def) {
            c.err(&d, e.to_string());
        }
    }
    reg
}

/// `option-data` of one scope, encoded against the definitions (Kea ARM 8.2.10).
pub(crate) fn option_data(
    c: &mut Checker,
    scope: &V<'_>,
    reg: &OptionDefRegistry,
    default_space: &str,
) -> Vec<OptionValue> {
    let mut out = Vec::new();
    for o in scope.list("option-data") {
        let space = o.str("space").unwrap_or(default_space).to_string();
        let name = o.str("name");
        let code = o.get("code");
        if name.is_none() && code.is_none() {
            c.err(&o, "option data configuration requires one of 'code' or 'name' parameters to be specified");
            continue;
        }
        let max_code = if default_space == "dhcp4" && space == "dhcp4" { 254 } else { 65535 };
        let code_num = match &code {
            Some(cv) => match cv.as_int().filter(|n| (0..=max_code).contains(n)) {
                Some(n) => Some(n as u16),
                None => {
                    c.err(cv, format!("option code must be between 0 and {max_code}"));
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
                        &o,
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
                    let at = o.get("name").unwrap_or_else(|| o.clone());
                    c.err(&at, format!("definition for the option '{space}.{n}' does not exist"));
                    continue;
                }
            }
        }
        let csv = o.bool("csv-format").unwrap_or(true);
        let data = o.get("data");
        let payload = match (&data, def) {
            (None, _) => None,
            (Some(d), Some(def)) => {
                let text = d.as_str().unwrap_or("");
                let universe = if default_space == "dhcp4" { Universe::V4 } else { Universe::V6 };
                match optdata::encode_in(universe, def, text, csv) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        c.err(
                            d,
                            format!(
                                "option data does not match option definition '{space}.{}' (code {}): {e}",
                                def.name, def.code
                            ),
                        );
                        continue;
                    }
                }
            }
            (Some(d), None) => {
                if csv {
                    c.err(
                        &o,
                        format!(
                            "definition for the option '{space}.{}' having code '{}' does not exist",
                            name.unwrap_or(""),
                            code_num.unwrap_or(0)
                        ),
                    );
                    continue;
                }
                match optdata::encode_raw_hex(d.as_str().unwrap_or("")) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        c.err(d, format!("option data is not valid hex: {e}"));
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
            always_send: o.bool("always-send").unwrap_or(false),
            never_send: o.bool("never-send").unwrap_or(false),
            client_classes: o.strings("client-classes"),
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

/// Client class names must be present and unique (Kea ARM 14 "Client Classification");
/// returns each accepted class's node and encoded options.
pub(crate) fn client_classes<'a>(
    c: &mut Checker,
    section: &V<'a>,
    reg: &OptionDefRegistry,
    space: &str,
) -> Vec<(V<'a>, Vec<OptionValue>)> {
    let mut out: Vec<(V<'a>, Vec<OptionValue>)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for cl in section.list("client-classes") {
        let Some(name) = cl.str("name") else {
            c.err(&cl, "missing parameter 'name'");
            continue;
        };
        if names.iter().any(|n| n == name) {
            c.err(&cl, format!("Can't add class: Client Class: {name} has already been defined"));
            continue;
        }
        // Only DHCPv4 classes may define options (Kea's grammar has no option-def in Dhcp6
        // classes).
        let class_reg = if space == "dhcp4" { option_defs(c, &cl, reg.clone(), space) } else { reg.clone() };
        let options = option_data(c, &cl, &class_reg, space);
        names.push(name.to_string());
        out.push((cl, options));
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

/// `interfaces-config.interfaces` entries must exist on the host when `-T` is used.
pub(crate) fn interfaces(c: &mut Checker, section: &V<'_>) -> Vec<String> {
    let Some(ic) = section.get("interfaces-config") else { return Vec::new() };
    let names = ic.strings("interfaces");
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
            let at = ic.list("interfaces").get(i).cloned().unwrap_or_else(|| ic.clone());
            match host.iter().find(|h| h.name == ifname) {
                None => {
                    c.err(&at, format!("Failed to select interface: interface '{ifname}' doesn't exist in the system"))
                }
                Some(h) => {
                    if let Some(a) = addr {
                        let ok = a.parse::<IpAddr>().is_ok_and(|ip| h.addresses.contains(&ip));
                        if !ok {
                            c.err(&at, format!("Failed to select interface: interface '{ifname}' doesn't have address '{a}' assigned"));
                        }
                    }
                }
            }
        }
    }
    names
}
