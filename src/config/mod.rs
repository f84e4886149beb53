//! Kea configuration: text reader, raw serde mirror, validated model (Kea ARM ch. 8, 9, 11, 12).
//!
//! Loading runs three pure stages, each collecting every problem it can before failing:
//! 1. [`text`]: extended JSON (comments, includes) into a positioned tree;
//! 2. [`raw`] via [`de`]: strict serde structs, which refuse unknown keys and wrong types;
//! 3. [`model`]: Kea's semantic checks (prefixes, pools, ids, reservations, options, hooks,
//!    lifetimes) and the validated runtime model with Kea's defaults.

pub mod de;
pub mod fuzz;
pub mod model;
pub mod policy;
pub mod raw;
pub mod render;
pub mod text;

use std::fmt;
use std::path::PathBuf;

use text::{Node, Pos, Value};

/// The top-level sections kakapo runs (Kea ARM 8.1, 9.1, 12, 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// `Dhcp4`: the DHCPv4 server.
    Dhcp4,
    /// `Dhcp6`: the DHCPv6 server.
    Dhcp6,
    /// `DhcpDdns`: the DNS update server (kea-dhcp-ddns).
    DhcpDdns,
    /// `Control-agent`: Kea 2.x's HTTP control agent.
    ControlAgent,
}

impl Section {
    /// The section's key at the top level of a configuration file.
    pub fn key(self) -> &'static str {
        match self {
            Section::Dhcp4 => "Dhcp4",
            Section::Dhcp6 => "Dhcp6",
            Section::DhcpDdns => "DhcpDdns",
            Section::ControlAgent => "Control-agent",
        }
    }

    fn from_key(k: &str) -> Option<Section> {
        [Section::Dhcp4, Section::Dhcp6, Section::DhcpDdns, Section::ControlAgent].into_iter().find(|s| s.key() == k)
    }
}

/// One reported problem or remark: position, JSON path, message.
#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    /// Where in which file.
    pub pos: Pos,
    /// JSON path of the offending element, such as `Dhcp4.subnet4[2].pools[0]`.
    pub path: String,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.pos, self.msg)
        } else {
            write!(f, "{}: {}: {}", self.pos, self.path, self.msg)
        }
    }
}

/// A configuration that was refused: every error found, and the warnings seen on the way.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.errors.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    /// The errors, in file order where possible.
    pub errors: Vec<Diag>,
    /// Warnings (trailing commas, deprecated keys).
    pub warnings: Vec<Diag>,
}

/// What to load and how strictly.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Run as one daemon (kea-dhcp4 / kea-dhcp6 / kea-dhcp-ddns): only that section counts and
    /// it must be present. `None`: every section present is loaded.
    pub only: Option<Section>,
    /// `-T`: the host's interfaces, so that configured interface names and addresses are
    /// checked against them. `None` (`-t`, the daemon): not checked here.
    pub host: Option<Vec<HostInterface>>,
    /// Kea 3.0's path and secret policy (Kea ARM "Kea Security"). The daemon, `-t` and every
    /// configuration command pass one; `None` (library use, tests) checks no paths.
    pub policy: Option<policy::SecurityPolicy>,
}

/// A network interface of the host, as `-T` checks `interfaces-config` against it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostInterface {
    /// Interface name.
    pub name: String,
    /// Its addresses.
    pub addresses: Vec<std::net::IpAddr>,
}

/// A configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated model.
    pub config: model::Config,
    /// Warnings to show (`-t` prints them).
    pub warnings: Vec<Diag>,
}

/// Loads and validates configuration files (`-c FILE [-c FILE ...]`, `-t FILE`).
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let mut trees = Vec::new();
    for p in paths {
        let mut w = Vec::new();
        let parsed = text::parse_file(p, &mut w);
        warnings.extend(w.into_iter().map(|w| Diag {
            pos: w.pos,
            path: String::new(),
            msg: format!("warning: {}", w.msg),
        }));
        match parsed {
            Ok(n) => trees.push(n),
            Err(e) => {
                return Err(ConfigError {
                    errors: vec![Diag { pos: e.pos, path: String::new(), msg: e.msg }],
                    warnings,
                })
            }
        }
    }
    load_trees(&trees, opts, warnings)
}

/// Loads configuration text held in memory (config-set, config-test, tests, fuzzing).
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut w = Vec::new();
    let parsed = text::parse_str(name, text, &mut w);
    let warnings: Vec<Diag> =
        w.into_iter().map(|w| Diag { pos: w.pos, path: String::new(), msg: format!("warning: {}", w.msg) }).collect();
    match parsed {
        Ok(n) => load_trees(&[n], opts, warnings),
        Err(e) => Err(ConfigError { errors: vec![Diag { pos: e.pos, path: String::new(), msg: e.msg }], warnings }),
    }
}

/// Validates already-parsed trees (one per file).
pub fn load_trees(trees: &[Node], opts: &LoadOptions, mut warnings: Vec<Diag>) -> Result<Loaded, ConfigError> {
    let mut errors = Vec::new();
    let mut sections: Vec<(Section, &Node)> = Vec::new();
    for tree in trees {
        let Value::Map(entries) = &tree.value else {
            errors.push(Diag {
                pos: tree.pos.clone(),
                path: String::new(),
                msg: "the top level of a configuration must be a map".into(),
            });
            continue;
        };
        for e in entries {
            match Section::from_key(&e.key) {
                Some(s) if opts.only.is_none() || opts.only == Some(s) => {
                    if let Some((_, prev)) = sections.iter().find(|(x, _)| *x == s) {
                        errors.push(Diag {
                            pos: e.key_pos.clone(),
                            path: String::new(),
                            msg: format!("{} is defined twice (first at {})", e.key, prev.pos),
                        });
                    } else {
                        sections.push((s, &e.value));
                    }
                }
                Some(_) => {}
                // Kea tolerates other daemons' sections (Netconf, and the 1.x Logging) in a shared file.
                None if matches!(e.key.as_str(), "Netconf" | "Logging" | "Dhcp4o6" | "DhcpDdns4") => {}
                None => errors.push(Diag {
                    pos: e.key_pos.clone(),
                    path: String::new(),
                    msg: format!(
                        "unknown top-level section \"{}\" (expected Dhcp4, Dhcp6, DhcpDdns or Control-agent)",
                        e.key
                    ),
                }),
            }
        }
    }
    if let Some(only) = opts.only {
        if !sections.iter().any(|(s, _)| *s == only) && errors.is_empty() {
            let pos = trees.first().map_or_else(Pos::none, |t| t.pos.clone());
            errors.push(Diag { pos, path: String::new(), msg: format!("missing mandatory {} element", only.key()) });
        }
    } else if sections.is_empty() && errors.is_empty() {
        let pos = trees.first().map_or_else(Pos::none, |t| t.pos.clone());
        errors.push(Diag {
            pos,
            path: String::new(),
            msg: "no Dhcp4, Dhcp6, DhcpDdns or Control-agent section".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ConfigError { errors, warnings });
    }
    sections.sort_by_key(|(s, _)| *s);
    match model::build(&sections, opts, &mut warnings) {
        Ok(config) => Ok(Loaded { config, warnings }),
        Err(errors) => Err(ConfigError { errors, warnings }),
    }
}
