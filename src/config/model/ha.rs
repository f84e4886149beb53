//! The HA hook's configuration (`libdhcp_ha.so` `parameters`, Kea ARM 16.x "High
//! Availability"), typed and checked, with Kea's defaults.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::common::TlsPaths;
use super::Checker;
use crate::config::de::Loc;
use crate::config::raw::ha as raw;

/// `mode` of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaMode {
    /// `load-balancing`: both servers answer, each its share of the clients.
    LoadBalancing,
    /// `hot-standby`: the primary answers, the standby takes over when it fails.
    HotStandby,
    /// `passive-backup`: the primary answers and sends its leases to backups.
    PassiveBackup,
}

impl HaMode {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            HaMode::LoadBalancing => "load-balancing",
            HaMode::HotStandby => "hot-standby",
            HaMode::PassiveBackup => "passive-backup",
        }
    }
}

/// A peer's `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaRole {
    /// `primary`
    Primary,
    /// `secondary` (load-balancing)
    Secondary,
    /// `standby` (hot-standby)
    Standby,
    /// `backup`
    Backup,
}

impl HaRole {
    /// Kea's name.
    pub fn name(self) -> &'static str {
        match self {
            HaRole::Primary => "primary",
            HaRole::Secondary => "secondary",
            HaRole::Standby => "standby",
            HaRole::Backup => "backup",
        }
    }
}

/// When the state machine pauses in a state (`state-machine.states[].pause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaPause {
    /// `always`
    Always,
    /// `never`
    Never,
    /// `once`
    Once,
}

/// One peer of a relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct HaPeer {
    /// `name`
    pub name: String,
    /// `url` as written.
    pub url: String,
    /// The address and port of `url`.
    pub addr: SocketAddr,
    /// Whether `url` is `https`.
    pub https: bool,
    /// `role`
    pub role: HaRole,
    /// `auto-failover`
    pub auto_failover: bool,
    /// `basic-auth-user` and its password (inline or from `basic-auth-password-file`).
    pub basic_auth: Option<(String, String)>,
    /// The TLS files of this peer's connection (its own or the relationship's).
    pub tls: Option<TlsPaths>,
}

/// One relationship (`high-availability` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct HaRelationship {
    /// `this-server-name`
    pub this_server_name: String,
    /// `mode`
    pub mode: HaMode,
    /// `heartbeat-delay` (ms)
    pub heartbeat_delay: u64,
    /// `max-response-delay` (ms)
    pub max_response_delay: u64,
    /// `max-ack-delay` (ms)
    pub max_ack_delay: u64,
    /// `max-unacked-clients`
    pub max_unacked_clients: u32,
    /// `max-rejected-lease-updates`
    pub max_rejected_lease_updates: u32,
    /// `delayed-updates-limit`
    pub delayed_updates_limit: u32,
    /// `send-lease-updates`
    pub send_lease_updates: bool,
    /// `sync-leases`
    pub sync_leases: bool,
    /// `sync-timeout` (ms)
    pub sync_timeout: u64,
    /// `sync-page-limit`
    pub sync_page_limit: u32,
    /// `wait-backup-ack`
    pub wait_backup_ack: bool,
    /// `require-client-certs`
    pub require_client_certs: bool,
    /// `restrict-commands`
    pub restrict_commands: bool,
    /// `multi-threading.enable-multi-threading`
    pub multi_threading: bool,
    /// `multi-threading.http-dedicated-listener`
    pub dedicated_listener: bool,
    /// `state-machine.states`: where the machine pauses.
    pub pauses: Vec<(String, HaPause)>,
    /// `peers`, this server among them.
    pub peers: Vec<HaPeer>,
}

impl HaRelationship {
    /// This server's own peer entry (a checked configuration always has it).
    pub fn this_server(&self) -> Option<&HaPeer> {
        self.peers.iter().find(|p| p.name == self.this_server_name)
    }

    /// The peers other than this server.
    pub fn partners(&self) -> impl Iterator<Item = &HaPeer> {
        self.peers.iter().filter(move |p| p.name != self.this_server_name)
    }
}

/// Kea's HA state names (Kea ARM 16.x "Server States").
pub const HA_STATES: &[&str] = &[
    "backup",
    "communication-recovery",
    "hot-standby",
    "load-balancing",
    "in-maintenance",
    "partner-down",
    "partner-in-maintenance",
    "passive-backup",
    "ready",
    "syncing",
    "terminated",
    "waiting",
];

/// A millisecond delay Kea keeps in 16 bits.
fn ms16(c: &mut Checker, at: &Loc, key: &str, v: Option<i64>, default: u64) -> u64 {
    bounded(c, at, key, v, u64::from(u16::MAX), default)
}

fn u32_param(c: &mut Checker, at: &Loc, key: &str, v: Option<i64>, default: u32) -> u32 {
    bounded(c, at, key, v, u64::from(u32::MAX), u64::from(default)) as u32
}

fn bounded(c: &mut Checker, at: &Loc, key: &str, v: Option<i64>, max: u64, default: u64) -> u64 {
    match v {
        None => default,
        Some(n) if n < 0 => {
            c.err(at.key(key), format!("'{key}' must not be negative"));
            default
        }
        Some(n) if n as u64 > max => {
            c.err(at.key(key), format!("'{key}' must not be greater than {max}"));
            default
        }
        Some(n) => n as u64,
    }
}

/// `http(s)://address[:port]/...`: Kea wants an address, not a host name.
fn url(c: &mut Checker, at: &Loc, name: &str, text: &str, tls: bool) -> Option<(SocketAddr, bool)> {
    let Some((scheme, rest)) = text.split_once("://") else {
        c.err(at.key("url"), format!("invalid URL: url {text} lacks http or https scheme for server {name}"));
        return None;
    };
    let https = match scheme {
        "http" => false,
        "https" => true,
        other => {
            c.err(at.key("url"), format!("invalid URL: invalid scheme {other} in {text} for server {name}"));
            return None;
        }
    };
    let hostport = rest.split('/').next().unwrap_or("");
    let default_port = if https { 443 } else { 80 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, tail) = v6.split_once(']').unwrap_or((v6, ""));
        (h, tail.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                c.err(at.key("url"), format!("invalid URL: invalid port number {p} in {text} for server {name}"));
                return None;
            }
        },
    };
    let Ok(ip) = host.parse::<IpAddr>() else {
        c.err(
            at.key("url"),
            format!(
                "bad url '{text}': Failed to convert string to address '{host}': Invalid argument for server {name}"
            ),
        );
        return None;
    };
    if https && !tls {
        c.err(
            at.key("url"),
            format!("bad url '{text}': https scheme is not supported for server {name} where TLS is disabled"),
        );
        return None;
    }
    Some((SocketAddr::new(ip, port), https))
}

/// The relationships of the HA hook's `parameters`, checked with Kea 2.2's messages.
pub(crate) fn relationships(c: &mut Checker, at: &Loc, params: &serde_json::Value) -> Vec<HaRelationship> {
    let pos = at.here().pos;
    let node = crate::config::text::Node::from_json(params, &pos);
    let path = format!("{}.parameters", at.here().path);
    let p: raw::HaParameters = match crate::config::de::from_node(&node, &path) {
        Ok(p) => p,
        Err(e) => {
            c.err(at, e.to_string());
            return Vec::new();
        }
    };
    let Some(list) = p.high_availability.as_ref() else {
        c.err(at, "high-availability parameter not specified for High Availability hooks library");
        return Vec::new();
    };
    // Several relationships (hub and spoke) are Kea 2.6's and not built yet.
    if list.len() != 1 {
        c.err(at, "invalid number of configurations in the HA configuration list. Expected exactly one configuration");
        return Vec::new();
    }
    list.iter().filter_map(|r| relationship(c, r)).collect()
}

fn relationship(c: &mut Checker, r: &raw::HaRelationship) -> Option<HaRelationship> {
    let at = &r.loc;
    let mode = match r.mode.as_deref() {
        Some("load-balancing") => HaMode::LoadBalancing,
        Some("hot-standby") => HaMode::HotStandby,
        Some("passive-backup") => HaMode::PassiveBackup,
        Some(m) => {
            c.err(at.key("mode"), format!("unsupported value '{m}' for mode parameter"));
            return None;
        }
        None => {
            c.err(at, "missing parameter 'mode'");
            return None;
        }
    };
    let Some(peers_raw) = r.peers.as_ref() else {
        c.err(at, "'peers' parameter missing in HA configuration");
        return None;
    };
    let name = match r.this_server_name.as_deref().map(str::trim) {
        None => {
            c.err(at, "missing parameter 'this-server-name'");
            return None;
        }
        Some("") => {
            c.err(at.key("this-server-name"), "'this-server-name' value must not be empty");
            return None;
        }
        Some(n) => n.to_string(),
    };
    let mode_text = match mode {
        HaMode::LoadBalancing => "load balancing",
        HaMode::HotStandby => "hot standby",
        HaMode::PassiveBackup => "passive backup",
    };
    let default_delayed = if mode == HaMode::LoadBalancing { 100 } else { 0 };
    let delayed = u32_param(c, at, "delayed-updates-limit", r.delayed_updates_limit, default_delayed);
    if delayed > 0 && mode != HaMode::LoadBalancing {
        c.err(
            at.key("delayed-updates-limit"),
            format!("'delayed-updates-limit' must be set to 0 in the {mode_text} configuration"),
        );
    }
    let wait_backup_ack = r.wait_backup_ack.unwrap_or(false);
    if wait_backup_ack && mode != HaMode::PassiveBackup {
        c.err(
            at.key("wait-backup-ack"),
            format!("'wait-backup-ack' must be set to false in the {mode_text} configuration"),
        );
    }
    let global_tls = [&r.trust_anchor, &r.cert_file, &r.key_file];
    let mut peers: Vec<HaPeer> = Vec::new();
    for p in peers_raw {
        let Some(peer) = peer(c, p, global_tls) else { continue };
        if peers.iter().any(|q| q.name == peer.name) {
            c.err(&p.loc, format!("peer with name '{}' already specified", peer.name));
            continue;
        }
        peers.push(peer);
    }
    if !peers.iter().any(|p| p.name == name) {
        c.err(at.key("this-server-name"), format!("no peer configuration specified for the '{name}'"));
    }
    check_roles(c, at, mode, mode_text, &peers);
    let mt = r.multi_threading.as_ref();
    let mut pauses: Vec<(String, HaPause)> = Vec::new();
    for s in r.state_machine.iter().flat_map(|s| s.states.iter().flatten()) {
        let Some((state, p)) = pause(c, s) else { continue };
        if pauses.iter().any(|(n, _)| *n == state) {
            c.err(&s.loc, format!("duplicated configuration for the '{state}' state"));
            continue;
        }
        pauses.push((state, p));
    }
    Some(HaRelationship {
        this_server_name: name,
        mode,
        heartbeat_delay: ms16(c, at, "heartbeat-delay", r.heartbeat_delay, 10_000),
        max_response_delay: ms16(c, at, "max-response-delay", r.max_response_delay, 60_000),
        max_ack_delay: ms16(c, at, "max-ack-delay", r.max_ack_delay, 10_000),
        max_unacked_clients: u32_param(c, at, "max-unacked-clients", r.max_unacked_clients, 10),
        max_rejected_lease_updates: u32_param(c, at, "max-rejected-lease-updates", r.max_rejected_lease_updates, 10),
        delayed_updates_limit: delayed,
        send_lease_updates: r.send_lease_updates.unwrap_or(true),
        sync_leases: r.sync_leases.unwrap_or(true),
        sync_timeout: u64::from(u32_param(c, at, "sync-timeout", r.sync_timeout, 60_000)),
        sync_page_limit: u32_param(c, at, "sync-page-limit", r.sync_page_limit, 10_000),
        wait_backup_ack,
        require_client_certs: r.require_client_certs.unwrap_or(true),
        restrict_commands: r.restrict_commands.unwrap_or(false),
        multi_threading: mt.and_then(|m| m.enable_multi_threading).unwrap_or(false),
        dedicated_listener: mt.and_then(|m| m.http_dedicated_listener).unwrap_or(false),
        pauses,
        peers,
    })
}

/// A peer's TLS files: its own keys where written, else the relationship's; an empty string
/// counts as unset, and it is all three or none (Kea's message names the first missing).
fn peer_tls(
    c: &mut Checker,
    at: &Loc,
    name: &str,
    own: [&Option<String>; 3],
    global: [&Option<String>; 3],
) -> Option<TlsPaths> {
    let pick = |i: usize| own[i].as_ref().or(global[i].as_ref()).filter(|s| !s.is_empty()).cloned();
    let files = [pick(0), pick(1), pick(2)];
    if files.iter().all(Option::is_none) {
        return None;
    }
    for (f, key) in files.iter().zip(["trust-anchor", "cert-file", "key-file"]) {
        if f.is_none() {
            c.err(at, format!("bad TLS config for server {name}: {key} parameter is missing or empty: all or none of TLS parameters must be set"));
            return None;
        }
    }
    let [ca, cert, key] = files.map(|f| PathBuf::from(f.unwrap_or_default()));
    for (path, what) in [(&ca, "CA file"), (&cert, "certificate file"), (&key, "private key file")] {
        if let Err(e) = std::fs::metadata(path) {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "No such file or directory".to_string()
            } else {
                e.to_string()
            };
            c.err(at, format!("bad TLS config for server {name}: load of {what} '{}' failed: {why}", path.display()));
            return None;
        }
    }
    Some(TlsPaths { trust_anchor: ca, cert_file: cert, key_file: key, cert_required: true })
}

fn peer(c: &mut Checker, p: &raw::HaPeer, global_tls: [&Option<String>; 3]) -> Option<HaPeer> {
    let at = &p.loc;
    let name = match p.name.as_deref().map(str::trim) {
        None => {
            c.err(at, "missing parameter 'name'");
            return None;
        }
        Some("") => {
            c.err(at.key("name"), "peer name must not be empty");
            return None;
        }
        Some(n) => n.to_string(),
    };
    let Some(text) = p.url.as_deref() else {
        c.err(at, "missing parameter 'url'");
        return None;
    };
    let role = match p.role.as_deref() {
        Some("primary") => HaRole::Primary,
        Some("secondary") => HaRole::Secondary,
        Some("standby") => HaRole::Standby,
        Some("backup") => HaRole::Backup,
        Some(r) => {
            c.err(at.key("role"), format!("unsupported value '{r}' for role parameter"));
            return None;
        }
        None => {
            c.err(at, "missing parameter 'role'");
            return None;
        }
    };
    let password = match (&p.basic_auth_password, &p.basic_auth_password_file) {
        (Some(_), Some(_)) => {
            c.err(at, format!("only one of basic-auth-password and basic-auth-password-file parameter can be configured in peer '{name}'"));
            None
        }
        (Some(pw), None) => Some(pw.clone()),
        (None, Some(f)) => match std::fs::read_to_string(f) {
            Ok(t) => Some(t),
            Err(e) => {
                let why = if e.kind() == std::io::ErrorKind::NotFound {
                    "No such file or directory".to_string()
                } else {
                    e.to_string()
                };
                c.err(
                    at.key("basic-auth-password-file"),
                    format!("bad password file in peer '{name}': can't open file '{f}': {why}"),
                );
                None
            }
        },
        (None, None) => None,
    };
    let user = p.basic_auth_user.clone().filter(|u| !u.is_empty());
    if let Some(u) = user.as_deref().filter(|u| u.contains(':')) {
        c.err(at.key("basic-auth-user"), format!("user '{u}' must not contain a ':' in peer '{name}'"));
    }
    let tls = peer_tls(c, at, &name, [&p.trust_anchor, &p.cert_file, &p.key_file], global_tls);
    let (addr, https) = url(c, at, &name, text, tls.is_some())?;
    Some(HaPeer {
        name,
        url: text.to_string(),
        addr,
        https,
        role,
        auto_failover: p.auto_failover.unwrap_or(true),
        basic_auth: user.map(|u| (u, password.unwrap_or_default())),
        tls,
    })
}

/// Kea's role rules: at most one primary, secondary and standby; what each mode needs.
fn check_roles(c: &mut Checker, at: &Loc, mode: HaMode, mode_text: &str, peers: &[HaPeer]) {
    let n = |r: HaRole| peers.iter().filter(|p| p.role == r).count();
    for r in [HaRole::Primary, HaRole::Secondary, HaRole::Standby] {
        if n(r) > 1 {
            c.err(at.key("peers"), format!("multiple {} servers specified", r.name()));
            return;
        }
    }
    let (secondary, standby) = (n(HaRole::Secondary) > 0, n(HaRole::Standby) > 0);
    let problem = match mode {
        HaMode::LoadBalancing if standby => Some("standby servers not allowed"),
        HaMode::HotStandby | HaMode::PassiveBackup if secondary => Some("secondary servers not allowed"),
        HaMode::PassiveBackup if standby => Some("standby servers not allowed"),
        _ if n(HaRole::Primary) == 0 => Some("primary server required"),
        HaMode::LoadBalancing if !secondary => Some("secondary server required"),
        HaMode::HotStandby if !standby => Some("standby server required"),
        _ => None,
    };
    if let Some(p) = problem {
        c.err(at.key("peers"), format!("{p} in the {mode_text} configuration"));
    }
}

fn pause(c: &mut Checker, s: &raw::HaStatePause) -> Option<(String, HaPause)> {
    let Some(state) = s.state.clone() else {
        c.err(&s.loc, "missing parameter 'state'");
        return None;
    };
    if !HA_STATES.contains(&state.as_str()) {
        c.err(s.loc.key("state"), format!("unknown state {state}"));
        return None;
    }
    let p = match s.pause.as_deref() {
        Some("always") => HaPause::Always,
        Some("never") | None => HaPause::Never,
        Some("once") => HaPause::Once,
        Some(o) => {
            c.err(s.loc.key("pause"), format!("unsupported value {o} of 'pause' parameter"));
            return None;
        }
    };
    Some((state, p))
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, LoadOptions};
    use serde_json::{json, Value};

    fn base() -> Value {
        json!({"this-server-name": "server1", "mode": "load-balancing",
            "peers": [{"name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary"},
                      {"name": "server2", "url": "http://192.0.2.2:8000/", "role": "secondary"}]})
    }

    /// The first error of a Dhcp4 section with `rel` as its only HA relationship.
    fn first_error(rel: Value) -> Option<String> {
        let cfg = json!({"Dhcp4": {"interfaces-config": {"interfaces": []},
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}],
            "hooks-libraries": [{"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so"},
                {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so",
                 "parameters": {"high-availability": [rel]}}]}});
        match load_str("t.json", &cfg.to_string(), &LoadOptions::default()) {
            Ok(c) => {
                assert_eq!(c.config.dhcp4.as_ref().unwrap().daemon.ha.len(), 1);
                None
            }
            Err(e) => Some(e.errors[0].msg.clone()),
        }
    }

    /// A change to the base relationship.
    type Edit = Box<dyn FnOnce(&mut Value)>;

    fn with(edit: impl FnOnce(&mut Value)) -> Option<String> {
        let mut v = base();
        edit(&mut v);
        first_error(v)
    }

    /// Each text is what Debian's Kea 2.2 logged (HA_CONFIGURATION_FAILED) for the same change.
    #[test]
    fn bad_relationships_are_refused_with_kea_2_2_s_words() {
        assert_eq!(first_error(base()), None);
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|v| v["this-server-name"] = json!("server9")), "no peer configuration specified for the 'server9'"),
            (Box::new(|v| v["this-server-name"] = json!("  ")), "'this-server-name' value must not be empty"),
            (Box::new(|v| v["mode"] = json!("active-active")), "unsupported value 'active-active' for mode parameter"),
            (Box::new(|v| v["peers"][1]["role"] = json!("primary")), "multiple primary servers specified"),
            (Box::new(|v| v["peers"][1]["role"] = json!("standby")), "standby servers not allowed in the load balancing configuration"),
            (
                Box::new(|v| v["peers"].as_array_mut().unwrap().truncate(1)),
                "secondary server required in the load balancing configuration",
            ),
            (Box::new(|v| v["peers"][1]["role"] = json!("tertiary")), "unsupported value 'tertiary' for role parameter"),
            (Box::new(|v| v["peers"][1]["name"] = json!("server1")), "peer with name 'server1' already specified"),
            (
                Box::new(|v| v["peers"][1]["url"] = json!("ftp://192.0.2.1:8000/")),
                "invalid URL: invalid scheme ftp in ftp://192.0.2.1:8000/ for server server2",
            ),
            (
                Box::new(|v| v["peers"][1]["url"] = json!("http://server2.example.com:8000/")),
                "bad url 'http://server2.example.com:8000/': Failed to convert string to address 'server2.example.com': Invalid argument for server server2",
            ),
            (
                Box::new(|v| v["peers"][1]["url"] = json!("https://192.0.2.2:8000/")),
                "bad url 'https://192.0.2.2:8000/': https scheme is not supported for server server2 where TLS is disabled",
            ),
            (Box::new(|v| v["heartbeat-delay"] = json!(-1)), "'heartbeat-delay' must not be negative"),
            (Box::new(|v| v["heartbeat-delay"] = json!(65536)), "'heartbeat-delay' must not be greater than 65535"),
            (
                Box::new(|v| v["cert-file"] = json!("/tmp/x.pem")),
                "bad TLS config for server server1: trust-anchor parameter is missing or empty: all or none of TLS parameters must be set",
            ),
            (
                Box::new(|v| {
                    v["mode"] = json!("hot-standby");
                    v["peers"][1]["role"] = json!("standby");
                    v["delayed-updates-limit"] = json!(10);
                }),
                "'delayed-updates-limit' must be set to 0 in the hot standby configuration",
            ),
            (Box::new(|v| v["wait-backup-ack"] = json!(true)), "'wait-backup-ack' must be set to false in the load balancing configuration"),
            (
                Box::new(|v| v["state-machine"] = json!({"states": [{"state": "bogus-state", "pause": "once"}]})),
                "unknown state bogus-state",
            ),
            (
                Box::new(|v| v["state-machine"] = json!({"states": [{"state": "waiting", "pause": "sometimes"}]})),
                "unsupported value sometimes of 'pause' parameter",
            ),
            (
                Box::new(|v| v["state-machine"] = json!({"states": [{"state": "waiting"}, {"state": "waiting"}]})),
                "duplicated configuration for the 'waiting' state",
            ),
            (Box::new(|v| v["peers"][1]["basic-auth-user"] = json!("a:b")), "user 'a:b' must not contain a ':' in peer 'server2'"),
        ];
        for (edit, want) in cases {
            assert_eq!(with(edit).as_deref(), Some(want));
        }
        // What Kea 2.2 takes: unknown keys, a URL without port, an IPv6 literal, a backup peer.
        assert_eq!(with(|v| v["max-rejected-lease-updates"] = json!(5)), None);
        assert_eq!(with(|v| v["some-future-key"] = json!(1)), None);
        assert_eq!(with(|v| v["peers"][1]["url"] = json!("http://[2001:db8::2]/")), None);
        assert_eq!(
            with(|v| v["peers"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "b", "url": "http://192.0.2.3/", "role": "backup"}))),
            None
        );
    }
}
