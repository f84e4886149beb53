//! The validated configuration model and Kea's semantic checks (Kea ARM 8.2, 9.2, 12.2, 7.2).
//!
//! Checks read the positioned tree directly so every message carries `FILE:LINE.COL`; they run
//! only after the strict serde pass has accepted every key and type, so a value of the wrong
//! type is never seen here. All problems of a section are collected before it is refused.

pub(crate) mod common;
mod d2;
mod effect;
mod ha;
mod v4;
mod v6;

use std::collections::HashMap;

pub use common::{
    AuthClientConfig, BasicAuthConfig, CharSet, ControlSocket, ControlSocketKind, Daemon, HookLibrary, HostIdentifier,
    HttpChannel, LeaseChecks, LeaseDatabase, OnFail, OptionValue, SqlConnection, SqlTls, TlsPaths, Triplet,
};
pub use d2::{ControlAgent, DdnsDomain, DhcpDdns, DnsServer, TsigKey};
pub use ha::{HaMode, HaPause, HaPeer, HaRelationship, HaRole, HA_STATES};
pub use v4::reservation_from_json as reservation4_from_json;
pub use v4::{AllocatorKind, ClientClass4, Dhcp4, ExpiredLeases, Params4, Pool4, Reservation4, Subnet4};
pub use v6::reservation_from_json as reservation6_from_json;
pub use v6::{
    ClientClass6, Dhcp6, MacSource, Params6, PdPool, Pool6, Reservation6, ServerIdConfig, ServerIdType, Subnet6,
};

use super::de::{Here, Loc};
use super::raw;
use super::text::{Node, Value};
use super::{Diag, LoadOptions, Section};
use crate::logging::LoggerSpec;

/// Hook libraries whose function kakapo has built in, matched by file name (design.md).
pub const BUILTIN_HOOKS: &[&str] = &[
    "libdhcp_lease_cmds.so",
    "libdhcp_stat_cmds.so",
    "libdhcp_host_cmds.so",
    "libdhcp_subnet_cmds.so",
    "libdhcp_class_cmds.so",
    "libdhcp_ha.so",
    "libdhcp_pgsql.so",
    "libdhcp_flex_option.so",
    "libdhcp_bootp.so",
];

/// A whole validated configuration: the sections present and their loggers.
#[derive(Debug, Clone)]
pub struct Config {
    /// `Dhcp4`, when present.
    pub dhcp4: Option<Dhcp4>,
    /// `Dhcp6`, when present.
    pub dhcp6: Option<Dhcp6>,
    /// `DhcpDdns`, when present.
    pub ddns: Option<DhcpDdns>,
    /// `Control-agent`, when present.
    pub agent: Option<ControlAgent>,
    /// Each section's unparsed JSON (includes expanded), for `config-get`.
    pub source: HashMap<Section, serde_json::Value>,
    loggers: HashMap<Section, Vec<LoggerSpec>>,
}

impl Config {
    /// The sections present, in a fixed order.
    pub fn sections(&self) -> Vec<Section> {
        let mut v = Vec::new();
        if self.dhcp4.is_some() {
            v.push(Section::Dhcp4);
        }
        if self.dhcp6.is_some() {
            v.push(Section::Dhcp6);
        }
        if self.ddns.is_some() {
            v.push(Section::DhcpDdns);
        }
        if self.agent.is_some() {
            v.push(Section::ControlAgent);
        }
        v
    }

    /// The daemon-wide settings of a DHCP section, when it is present.
    pub fn daemon(&self, s: Section) -> Option<&Daemon> {
        match s {
            Section::Dhcp4 => self.dhcp4.as_ref().map(|d| &d.daemon),
            Section::Dhcp6 => self.dhcp6.as_ref().map(|d| &d.daemon),
            _ => None,
        }
    }

    /// The section's `loggers` (empty: Kea's default logger applies).
    pub fn loggers(&self, s: Section) -> &[LoggerSpec] {
        self.loggers.get(&s).map_or(&[], Vec::as_slice)
    }

    /// One line for the `*_CONFIG_COMPLETE` log message, as Kea summarises a configuration.
    pub fn summary(&self, s: Section) -> String {
        match s {
            Section::Dhcp4 => self.dhcp4.as_ref().map_or_else(String::new, |d| {
                format!(
                    "added IPv4 subnets: {}; {} shared networks; DDNS: {}",
                    d.subnets.len(),
                    d.shared_networks.len(),
                    if d.daemon.ddns_enabled { "enabled" } else { "disabled" }
                )
            }),
            Section::Dhcp6 => self.dhcp6.as_ref().map_or_else(String::new, |d| {
                format!(
                    "added IPv6 subnets: {}; {} shared networks; DDNS: {}",
                    d.subnets.len(),
                    d.shared_networks.len(),
                    if d.daemon.ddns_enabled { "enabled" } else { "disabled" }
                )
            }),
            Section::DhcpDdns => self.ddns.as_ref().map_or_else(String::new, |d| {
                format!(
                    "listening on {}, port {}, {} forward and {} reverse domains",
                    d.ip_address,
                    d.port,
                    d.forward_domains.len(),
                    d.reverse_domains.len()
                )
            }),
            Section::ControlAgent => self
                .agent
                .as_ref()
                .map_or_else(String::new, |a| format!("listening on {}, port {}", a.http_host, a.http_port)),
        }
    }
}

/// Runs the strict serde pass, then builds the model from the typed raw mirror of every
/// section, checking it on the way.
pub fn build(sections: &[(Section, &Node)], opts: &LoadOptions, warnings: &mut Vec<Diag>) -> Result<Config, Vec<Diag>> {
    let mut c = Checker { errors: Vec::new(), warnings: Vec::new(), opts: opts.clone() };
    let mut cfg =
        Config { dhcp4: None, dhcp6: None, ddns: None, agent: None, source: HashMap::new(), loggers: HashMap::new() };
    for &(section, node) in sections {
        let v = V { node, path: section.key().to_string() };
        match section {
            Section::Dhcp4 => {
                if let Some(raw) = structural::<raw::dhcp4::Dhcp4>(&mut c, &v) {
                    generic_checks(&mut c, &v, section);
                    let channels = common::channels_of(&raw.control_socket, &raw.control_sockets);
                    super::policy::check_dhcp(&mut c, raw.lease_database.as_ref(), None, channels);
                    cfg.loggers.insert(section, common::loggers(&mut c, list(&raw.loggers), section));
                    cfg.dhcp4 = v4::build(&mut c, &raw);
                }
            }
            Section::Dhcp6 => {
                if let Some(raw) = structural::<raw::dhcp6::Dhcp6>(&mut c, &v) {
                    generic_checks(&mut c, &v, section);
                    let channels = common::channels_of(&raw.control_socket, &raw.control_sockets);
                    let data_dir = raw.data_directory.as_deref().map(|d| (d, raw.loc.key("data-directory")));
                    super::policy::check_dhcp(&mut c, raw.lease_database.as_ref(), data_dir, channels);
                    cfg.loggers.insert(section, common::loggers(&mut c, list(&raw.loggers), section));
                    cfg.dhcp6 = v6::build(&mut c, &raw);
                }
            }
            Section::DhcpDdns => {
                if let Some(raw) = structural::<raw::ddns::DhcpDdns>(&mut c, &v) {
                    generic_checks(&mut c, &v, section);
                    super::policy::check_ddns(&mut c, &raw);
                    cfg.loggers.insert(section, common::loggers(&mut c, list(&raw.loggers), section));
                    cfg.ddns = d2::build_ddns(&mut c, &raw);
                }
            }
            Section::ControlAgent => {
                if let Some(raw) = structural::<raw::agent::ControlAgent>(&mut c, &v) {
                    generic_checks(&mut c, &v, section);
                    super::policy::check_agent(&mut c, &raw);
                    cfg.loggers.insert(section, common::loggers(&mut c, list(&raw.loggers), section));
                    cfg.agent = d2::build_agent(&mut c, &raw);
                }
            }
        }
        cfg.source.insert(section, super::render::normalise(node));
    }
    warnings.append(&mut c.warnings);
    if c.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(c.errors)
    }
}

/// Stage 2: the strict structural pass (unknown keys, types) into the typed raw mirror.
fn structural<T: serde::de::DeserializeOwned>(c: &mut Checker, v: &V<'_>) -> Option<T> {
    match super::de::from_node_collect::<T>(v.node, &v.path) {
        Ok(raw) => Some(raw),
        Err(errs) => {
            c.errors.extend(errs.into_iter().map(|e| Diag {
                pos: e.pos.unwrap_or_else(|| v.node.pos.clone()),
                path: e.path,
                msg: e.msg,
            }));
            None
        }
    }
}

/// The checks that walk the whole section by table rather than read the model: enumerated
/// values wherever their key appears, and keys without effect.
fn generic_checks(c: &mut Checker, v: &V<'_>, section: Section) {
    common::check_enums(c, v);
    effect::warn_without_effect(c, v, section);
}

/// The items of an optional raw list.
pub(crate) fn list<T>(l: &Option<Vec<T>>) -> &[T] {
    l.as_deref().unwrap_or_default()
}

/// One reservation from Kea's host JSON (host_cmds, a hosts database row), built by `one`, the
/// configuration check's own builder (Kea ARM 8.3); the first error is the answer.
pub(crate) fn host_from_json<Raw: serde::de::DeserializeOwned, R>(
    json: &serde_json::Value,
    one: impl FnOnce(&mut Checker, &Raw) -> Option<R>,
) -> Result<R, String> {
    let pos = crate::config::text::Pos { file: "<host>".into(), line: 1, col: 1 };
    let node = crate::config::text::Node::from_json(json, &pos);
    let raw: Raw = crate::config::de::from_node(&node, "reservation").map_err(|e| e.to_string())?;
    let mut c = Checker { errors: Vec::new(), warnings: Vec::new(), opts: LoadOptions::default() };
    let built = one(&mut c, &raw);
    match (c.errors.first(), built) {
        (Some(d), _) => Err(d.msg.clone()),
        (None, Some(r)) => Ok(r),
        (None, None) => Err("the reservation has no identifier".into()),
    }
}

/// Collects errors and warnings during the semantic pass.
pub(crate) struct Checker {
    pub(crate) errors: Vec<Diag>,
    pub(crate) warnings: Vec<Diag>,
    pub(crate) opts: LoadOptions,
}

impl Checker {
    pub(crate) fn err(&mut self, at: impl At, msg: impl Into<String>) {
        let Here { pos, path } = at.here();
        self.errors.push(Diag { pos, path, msg: msg.into() });
    }
    /// A policy violation allowed by `-X`: the message starts with Kea's `*_SECURITY_WARNING`
    /// ID so the daemon logs it under that ID.
    pub(crate) fn security_warning(&mut self, at: impl At, id: &str, msg: impl Into<String>) {
        let Here { pos, path } = at.here();
        self.warnings.push(Diag { pos, path, msg: format!("{id} {}", msg.into()) });
    }
    pub(crate) fn warn(&mut self, at: impl At, msg: impl Into<String>) {
        let Here { pos, path } = at.here();
        self.warnings.push(Diag { pos, path, msg: format!("warning: {}", msg.into()) });
    }
}

/// Anything that names a place in the configuration to report at.
pub(crate) trait At {
    fn here(&self) -> Here;
}

impl At for Here {
    fn here(&self) -> Here {
        self.clone()
    }
}

impl At for Loc {
    fn here(&self) -> Here {
        Loc::here(self)
    }
}

impl At for V<'_> {
    fn here(&self) -> Here {
        Here { pos: self.node.pos.clone(), path: self.path.clone() }
    }
}

impl<T: At + ?Sized> At for &T {
    fn here(&self) -> Here {
        (**self).here()
    }
}

/// A node with its JSON path: the cursor of the checks that walk a whole section by table
/// (enumerated values, keys without effect). The model itself reads the typed raw mirror.
#[derive(Clone)]
pub(crate) struct V<'a> {
    pub(crate) node: &'a Node,
    pub(crate) path: String,
}

impl<'a> V<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<V<'a>> {
        let e = self.node.get(key)?;
        Some(V { node: &e.value, path: format!("{}.{}", self.path, key) })
    }
    pub(crate) fn as_str(&self) -> Option<&'a str> {
        match &self.node.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self.node.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.node.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key)?.as_str()
    }
    /// Items of the list under `key` (empty when absent).
    pub(crate) fn list(&self, key: &str) -> Vec<V<'a>> {
        match self.node.get(key) {
            Some(e) => match &e.value.value {
                Value::List(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| V { node: n, path: format!("{}.{}[{}]", self.path, key, i) })
                    .collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        }
    }
    pub(crate) fn entries(&self) -> Vec<(&'a str, V<'a>)> {
        match &self.node.value {
            Value::Map(es) => es
                .iter()
                .map(|e| (e.key.as_str(), V { node: &e.value, path: format!("{}.{}", self.path, e.key) }))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, LoadOptions};

    /// Whether the typed raw mirror accepts `key` in the map at `path` (`Dhcp4.subnet4[0]`):
    /// a skeleton holding just that key, as null, decodes strictly without error.
    fn mirror_has(path: &str, key: &str) -> Result<bool, String> {
        let mut inner = serde_json::json!({ key: null });
        for seg in path.split('.').skip(1).collect::<Vec<_>>().into_iter().rev() {
            inner = match seg.split_once('[') {
                Some((name, _)) => serde_json::json!({ name: [inner] }),
                None => serde_json::json!({ seg: inner }),
            };
        }
        let root = path.split('.').next().unwrap_or_default();
        let text = serde_json::json!({ root: inner }).to_string();
        let mut w = Vec::new();
        let node = crate::config::text::parse_str("t", &text, &mut w).map_err(|e| e.msg)?;
        let section = node.get(root).ok_or("no section")?;
        let first = match root {
            "Dhcp4" => crate::config::de::from_node::<crate::config::raw::dhcp4::Dhcp4>(&section.value, root).err(),
            "Dhcp6" => crate::config::de::from_node::<crate::config::raw::dhcp6::Dhcp6>(&section.value, root).err(),
            _ => return Err(format!("section {root}")),
        };
        Ok(first.is_none())
    }

    /// The model reads typed fields, so the compiler checks its keys; the checks that walk a
    /// section by table (keys without effect) name keys as text, so each key of the table
    /// must exist in the raw mirror where the table says it sits.
    #[test]
    fn every_key_the_tables_name_exists_in_the_raw_mirror() {
        let keys = super::effect::rule_keys();
        assert!(keys.len() > 30, "{}", keys.len());
        let unknown: Vec<String> = keys
            .iter()
            .filter(|(path, key)| mirror_has(path, key) != Ok(true))
            .map(|(path, key)| format!("{path}.{key}"))
            .collect();
        assert!(unknown.is_empty(), "keys the tables name that the raw mirror does not have: {unknown:#?}");
        // The check can fail: a misspelt key or a wrong place is found.
        assert_eq!(mirror_has("Dhcp4.subnet4[0]", "valid-lifetme"), Ok(false));
        assert_eq!(mirror_has("Dhcp4.subnet4[0].pd-pools[0]", "prefix"), Ok(false));
        assert_eq!(mirror_has("Dhcp4.subnet4[0]", "valid-lifetime"), Ok(true));
    }

    /// Loads `{"Dhcp4": <body>}`-style text and returns the error messages (empty if accepted).
    fn errors(text: &str) -> Vec<String> {
        match load_str("t.json", text, &LoadOptions::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn v4(body: &str) -> Vec<String> {
        errors(&format!("{{\"Dhcp4\": {body}}}"))
    }

    fn has(errs: &[String], needle: &str) -> bool {
        errs.iter().any(|e| e.contains(needle))
    }

    #[test]
    fn subnet_checks_follow_kea_2_2() {
        // Kea 2.2 numbers id-less subnets 1, 2, ... regardless of explicit ids.
        assert!(has(
            &v4(r#"{"subnet4":[{"id":1,"subnet":"192.0.2.0/24"},{"subnet":"198.51.100.0/24"}]}"#),
            "'1' is already in use"
        ));
        assert!(v4(r#"{"subnet4":[{"subnet":"192.0.2.0/24"},{"subnet":"198.51.100.0/24"}]}"#).is_empty());
        assert!(has(
            &v4(r#"{"subnet4":[{"id":1,"subnet":"192.0.2.0/24"},{"id":2,"subnet":"192.0.2.0/24"}]}"#),
            "already exists"
        ));
        assert!(v4(r#"{"subnet4":[{"id":1,"subnet":"192.0.2.5/24"}]}"#).is_empty(), "host bits are allowed");
        assert!(has(&v4(r#"{"subnet4":[{"id":1,"subnet":"192.0.2.0"}]}"#), "prefix/len expected"));
        assert!(has(&v4(r#"{"subnet4":[{"id":4294967295,"subnet":"192.0.2.0/24"}]}"#), "not within expected range"));
        assert!(has(&v4(r#"{"subnet4":[{"id":1}]}"#), "missing parameter 'subnet'"));
    }

    #[test]
    fn pool_checks() {
        let s = |p: &str| v4(&format!(r#"{{"subnet4":[{{"id":1,"subnet":"192.0.2.0/24","pools":[{p}]}}]}}"#));
        assert!(s(r#"{"pool":"192.0.2.10-192.0.2.20"}"#).is_empty());
        assert!(s(r#"{"pool":"192.0.2.128/25"}"#).is_empty());
        assert!(has(&s(r#"{"pool":"192.0.2.10 - 192.0.2.5"}"#), "Failed to create pool"));
        assert!(has(&s(r#"{"pool":"192.0.2.10"}"#), "two acceptable formats"));
        assert!(has(&s(r#"{"pool":"192.0.2.10-192.0.2.20"},{"pool":"192.0.2.15-192.0.2.30"}"#), "overlaps"));
    }

    #[test]
    fn reservation_checks() {
        let s = |r: &str| v4(&format!(r#"{{"subnet4":[{{"id":1,"subnet":"192.0.2.0/24","reservations":[{r}]}}]}}"#));
        assert!(has(&s(r#"{"ip-address":"192.0.2.1"}"#), "one of the supported identifiers"));
        assert!(has(
            &s(r#"{"hw-address":"aa:bb:cc:dd:ee:ff","client-id":"01:02","ip-address":"192.0.2.1"}"#),
            "mutually exclusive"
        ));
        assert!(has(&s(r#"{"hw-address":"zz:bb","ip-address":"192.0.2.1"}"#), "invalid host identifier"));
        assert!(has(
            &s(
                r#"{"hw-address":"aa:bb:cc:dd:ee:ff","ip-address":"192.0.2.1"},{"hw-address":"aa:bb:cc:dd:ee:01","ip-address":"192.0.2.1"}"#
            ),
            "already a reservation for this address"
        ));
        assert!(has(
            &s(
                r#"{"hw-address":"aa:bb:cc:dd:ee:ff","ip-address":"192.0.2.1"},{"hw-address":"aa:bb:cc:dd:ee:ff","ip-address":"192.0.2.2"}"#
            ),
            "already been added"
        ));
        assert!(s(r#"{"circuit-id":"'gate-7'","ip-address":"192.0.2.9"}"#).is_empty());
    }

    #[test]
    fn option_and_definition_checks() {
        assert!(has(&v4(r#"{"option-data":[{"code":250,"data":"0102"}]}"#), "does not exist"));
        assert!(v4(r#"{"option-data":[{"code":250,"data":"0102","csv-format":false}]}"#).is_empty());
        assert!(has(&v4(r#"{"option-data":[{"data":"0102"}]}"#), "one of 'code' or 'name'"));
        assert!(has(
            &v4(r#"{"option-data":[{"name":"routers","code":4,"data":"192.0.2.1"}]}"#),
            "does not match the option definition"
        ));
        assert!(v4(
            r#"{"option-def":[{"name":"foo","code":222,"type":"uint8"}],"option-data":[{"name":"foo","data":"7"}]}"#
        )
        .is_empty());
        assert!(has(&v4(r#"{"option-def":[{"name":"foo","code":222,"type":"uint9"}]}"#), "uint9"));
        assert!(!v4(r#"{"option-def":[{"name":"foo","code":3,"type":"uint8"}]}"#).is_empty());
    }

    #[test]
    fn lifetimes_and_misc() {
        assert!(has(&v4(r#"{"min-valid-lifetime":100,"max-valid-lifetime":50}"#), "not less than max-valid-lifetime"));
        assert!(has(&v4(r#"{"valid-lifetime":10,"min-valid-lifetime":100}"#), "min-valid-lifetime (100)"));
        assert!(has(&v4(r#"{"lease-database":{"type":"memfile","lfc-interval":-1}}"#), "out of range"));
        assert!(has(&v4(r#"{"ddns-replace-client-name":"sometimes"}"#), "invalid value"));
        assert!(has(&v4(r#"{"client-classes":[{"name":"a"},{"name":"a"}]}"#), "already been defined"));
        assert!(has(&v4(r#"{"user-context": 5}"#), "user-context must be a map"));
        assert!(has(
            &v4(r#"{"shared-networks":[{"name":"a","subnet4":[{"id":1,"subnet":"192.0.2.0/24"}]},{"name":"a"}]}"#),
            "duplicate network"
        ));
    }

    #[test]
    fn ddns_and_agent_checks() {
        let d2 = r#"{"DhcpDdns": {"tsig-keys": [{"name": "k", "algorithm": "HMAC-SHA256", "secret": "LSWXnfkKZjdPJI5QxlpnfQ=="}],
            "forward-ddns": {"ddns-domains": [{"name": "example.org.", "key-name": "nokey", "dns-servers": [{"ip-address": "192.0.2.53"}]}]}}}"#;
        assert!(has(&errors(d2), "undefined key: nokey"));
        assert!(errors(&d2.replace("nokey", "k")).is_empty());
        assert!(has(&errors(&d2.replace("HMAC-SHA256", "HMAC-SHA3")), "unknown algorithm"));
        let agent = r#"{"Control-agent": {"loggers": [{"name": "kea-ctrl-agent"}]}}"#;
        assert!(has(&errors(agent), "mandatory 'severity'"));
    }

    /// Kea 2.2's grammar refuses an empty `host-reservation-identifiers` in both daemons
    /// (`kea-dhcp4 -t`: "syntax error, unexpected ]"); absent means Kea's default list.
    #[test]
    fn host_reservation_identifiers_need_one() {
        for (section, subnet) in [("Dhcp4", r#""subnet4""#), ("Dhcp6", r#""subnet6""#)] {
            let text = format!(r#"{{"{section}": {{"host-reservation-identifiers": [], {subnet}: []}}}}"#);
            assert!(has(&errors(&text), "at least one identifier"), "{section}");
            let ok = format!(r#"{{"{section}": {{"host-reservation-identifiers": ["duid"]}}}}"#);
            assert!(errors(&ok).is_empty(), "{section}");
        }
    }

    #[test]
    fn dhcp6_checks() {
        let s = |body: &str| errors(&format!("{{\"Dhcp6\": {body}}}"));
        assert!(s(
            r#"{"subnet6":[{"id":1,"subnet":"2001:db8:1::/64","pools":[{"pool":"2001:db8:1::10-2001:db8:1::ff"}],
            "pd-pools":[{"prefix":"2001:db8:8::","prefix-len":56,"delegated-len":64}]}]}"#
        )
        .is_empty());
        assert!(has(&s(r#"{"subnet6":[{"id":1,"subnet":"2001:db8:1::/129"}]}"#), "Invalid prefix length"));
        assert!(has(
            &s(r#"{"subnet6":[{"id":1,"subnet":"2001:db8:1::/64","pools":[{"pool":"2001:db8:2::/64"}]}]}"#),
            "does not match"
        ));
        assert!(has(
            &s(
                r#"{"subnet6":[{"id":1,"subnet":"2001:db8:1::/64","pd-pools":[{"prefix":"2001:db8:8::","prefix-len":56,"delegated-len":48}]}]}"#
            ),
            "delegated length"
        ));
        assert!(has(&s(r#"{"server-id":{"type":"XYZ"}}"#), "invalid"));
    }

    /// The packet queue: `dhcp-queue-control` without threads, `packet-queue-size` with them
    /// (Kea disables the first under multi-threading), none by default; a queue type or
    /// capacity Kea's `-t` does not check is a warning, not an error.
    #[test]
    fn packet_queue_follows_kea() {
        let q = |body: &str| {
            let l = load_str("t.json", &format!("{{\"Dhcp4\": {body}}}"), &LoadOptions::default()).unwrap();
            (l.config.dhcp4.unwrap().daemon.packet_queue, l.warnings.len())
        };
        assert_eq!(q("{}"), (0, 0));
        assert_eq!(q(r#"{"dhcp-queue-control": {"enable-queue": false, "capacity": 9}}"#), (0, 0));
        assert_eq!(
            q(r#"{"dhcp-queue-control": {"enable-queue": true, "queue-type": "kea-ring4", "capacity": 250}}"#),
            (250, 0)
        );
        assert_eq!(q(r#"{"dhcp-queue-control": {"enable-queue": true}}"#), (64, 0));
        assert_eq!(q(r#"{"dhcp-queue-control": {"enable-queue": true, "queue-type": "other"}}"#), (64, 1));
        assert_eq!(q(r#"{"dhcp-queue-control": {"enable-queue": true, "capacity": 0}}"#), (64, 1));
        let mt = r#""multi-threading": {"enable-multi-threading": true, "packet-queue-size": 10}"#;
        assert_eq!(
            q(&format!(r#"{{{mt}, "dhcp-queue-control": {{"enable-queue": true, "capacity": 250}}}}"#)),
            (10, 0)
        );
        assert_eq!(q(r#"{"multi-threading": {"enable-multi-threading": true}}"#), (64, 0));
    }
}
