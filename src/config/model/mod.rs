//! The validated configuration model and Kea's semantic checks (Kea ARM 8.2, 9.2, 12.2, 7.2).
//!
//! Checks read the positioned tree directly so every message carries `FILE:LINE.COL`; they run
//! only after the strict serde pass has accepted every key and type, so a value of the wrong
//! type is never seen here. All problems of a section are collected before it is refused.

mod common;
mod d2;
mod v4;
mod v6;

use std::collections::HashMap;

pub use common::{ControlSocket, ControlSocketKind, HookLibrary, HostIdentifier, LeaseDatabase, OptionValue, Triplet};
pub use d2::{ControlAgent, DhcpDdns, DnsServer, DdnsDomain, TsigKey};
pub use v4::{Dhcp4, Pool4, Reservation4, Subnet4};
pub use v6::{Dhcp6, PdPool, Pool6, Reservation6, Subnet6};

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

    /// The section's `loggers` (empty: Kea's default logger applies).
    pub fn loggers(&self, s: Section) -> &[LoggerSpec] {
        self.loggers.get(&s).map_or(&[], Vec::as_slice)
    }

    /// One line for the `*_CONFIG_COMPLETE` log message, as Kea summarises a configuration.
    pub fn summary(&self, s: Section) -> String {
        match s {
            Section::Dhcp4 => self.dhcp4.as_ref().map_or_else(String::new, |d| {
                format!("added IPv4 subnets: {}; {} shared networks; DDNS: {}", d.subnets.len(), d.shared_networks.len(), if d.ddns_enabled { "enabled" } else { "disabled" })
            }),
            Section::Dhcp6 => self.dhcp6.as_ref().map_or_else(String::new, |d| {
                format!("added IPv6 subnets: {}; {} shared networks; DDNS: {}", d.subnets.len(), d.shared_networks.len(), if d.ddns_enabled { "enabled" } else { "disabled" })
            }),
            Section::DhcpDdns => self.ddns.as_ref().map_or_else(String::new, |d| {
                format!("listening on {}, port {}, {} forward and {} reverse domains", d.ip_address, d.port, d.forward_domains.len(), d.reverse_domains.len())
            }),
            Section::ControlAgent => {
                self.agent.as_ref().map_or_else(String::new, |a| format!("listening on {}, port {}", a.http_host, a.http_port))
            }
        }
    }
}

/// Runs the strict serde pass, then the semantic checks, over every section.
pub fn build(sections: &[(Section, &Node)], opts: &LoadOptions, warnings: &mut Vec<Diag>) -> Result<Config, Vec<Diag>> {
    let mut c = Checker { errors: Vec::new(), warnings: Vec::new(), opts: opts.clone() };
    let mut cfg = Config { dhcp4: None, dhcp6: None, ddns: None, agent: None, source: HashMap::new(), loggers: HashMap::new() };
    for &(section, node) in sections {
        let path = section.key();
        // Stage 2: the strict structural pass (unknown keys, types).
        let structural = match section {
            Section::Dhcp4 => super::de::from_node_collect::<super::raw::dhcp4::Dhcp4>(node, path).map(|_| ()),
            Section::Dhcp6 => super::de::from_node_collect::<super::raw::dhcp6::Dhcp6>(node, path).map(|_| ()),
            Section::DhcpDdns => super::de::from_node_collect::<super::raw::ddns::DhcpDdns>(node, path).map(|_| ()),
            Section::ControlAgent => super::de::from_node_collect::<super::raw::agent::ControlAgent>(node, path).map(|_| ()),
        };
        if let Err(errs) = structural {
            c.errors.extend(errs.into_iter().map(|e| Diag { pos: e.pos.unwrap_or_else(|| node.pos.clone()), path: e.path, msg: e.msg }));
            continue;
        }
        // Stage 3: semantics.
        let v = V { node, path: path.to_string() };
        common::check_enums(&mut c, &v);
        let loggers = common::loggers(&mut c, &v, section);
        cfg.loggers.insert(section, loggers);
        cfg.source.insert(section, super::render::normalise(node));
        match section {
            Section::Dhcp4 => cfg.dhcp4 = v4::build(&mut c, &v),
            Section::Dhcp6 => cfg.dhcp6 = v6::build(&mut c, &v),
            Section::DhcpDdns => cfg.ddns = d2::build_ddns(&mut c, &v),
            Section::ControlAgent => cfg.agent = d2::build_agent(&mut c, &v),
        }
    }
    warnings.append(&mut c.warnings);
    if c.errors.is_empty() {
        Ok(cfg)
    } else {
        Err(c.errors)
    }
}

/// Collects errors and warnings during the semantic pass.
pub(crate) struct Checker {
    pub(crate) errors: Vec<Diag>,
    pub(crate) warnings: Vec<Diag>,
    pub(crate) opts: LoadOptions,
}

impl Checker {
    pub(crate) fn err(&mut self, at: &V<'_>, msg: impl Into<String>) {
        self.errors.push(Diag { pos: at.node.pos.clone(), path: at.path.clone(), msg: msg.into() });
    }
    pub(crate) fn warn(&mut self, at: &V<'_>, msg: impl Into<String>) {
        self.warnings.push(Diag { pos: at.node.pos.clone(), path: at.path.clone(), msg: format!("warning: {}", msg.into()) });
    }
}

/// A node with its JSON path: the cursor the checks move around with.
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
    pub(crate) fn as_float(&self) -> Option<f64> {
        match self.node.value {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key)?.as_str()
    }
    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        self.get(key)?.as_int()
    }
    pub(crate) fn bool(&self, key: &str) -> Option<bool> {
        self.get(key)?.as_bool()
    }
    /// Items of the list under `key` (empty when absent).
    pub(crate) fn list(&self, key: &str) -> Vec<V<'a>> {
        match self.node.get(key) {
            Some(e) => match &e.value.value {
                Value::List(items) => {
                    items.iter().enumerate().map(|(i, n)| V { node: n, path: format!("{}.{}[{}]", self.path, key, i) }).collect()
                }
                _ => Vec::new(),
            },
            None => Vec::new(),
        }
    }
    /// Strings of the list under `key`.
    pub(crate) fn strings(&self, key: &str) -> Vec<String> {
        self.list(key).iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
    }
    pub(crate) fn entries(&self) -> Vec<(&'a str, V<'a>)> {
        match &self.node.value {
            Value::Map(es) => es.iter().map(|e| (e.key.as_str(), V { node: &e.value, path: format!("{}.{}", self.path, e.key) })).collect(),
            _ => Vec::new(),
        }
    }
}
