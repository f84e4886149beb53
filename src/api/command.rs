//! The typed command set (Kea ARM 8.8 "Management API" and the hook command sets): each
//! request becomes one [`Command`] variant; argument checks that Kea makes before acting happen
//! here, so handlers get typed values.

use serde_json::{Map, Value};

use super::{Request, Response};

/// Who disables or enables the service (`dhcp-disable` / `dhcp-enable` `origin`, Kea ARM 8.8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A user or script (`"user"`, the default).
    User,
    /// An HA partner or another remote origin, by numeric id (`"ha-partner"` is 2000).
    Remote(i64),
}

/// Which host sources a host command uses (`operation-target`, Kea 2.6+ ARM host_cmds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `primary` (also `memory`): the running configuration.
    Memory,
    /// `alternate` (also `database`): the hosts databases.
    Database,
    /// `all`: both.
    All,
    /// `default`: commands that read use both; commands that change use the hosts databases,
    /// or the configuration when there are none.
    Default,
}

/// The subnets `stat-lease4-get` / `stat-lease6-get` report on (Kea ARM 16.x stat_cmds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subnets {
    /// No `subnet-id` or `subnet-range`: every subnet.
    All,
    /// `subnet-id`
    One(u32),
    /// `subnet-range`: first and last id.
    Range(u32, u32),
}

impl Subnets {
    /// The arguments of `stat-lease4-get` / `stat-lease6-get`, checked as Kea checks them.
    fn parse(args: Option<&Value>) -> Result<Subnets, Response> {
        let Some(a) = args else { return Ok(Subnets::All) };
        if let Some(id) = a.get("subnet-id") {
            return match id.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) if v > 0 => Ok(Subnets::One(v)),
                _ => Err(Response::error("'subnet-id' parameter must be a positive integer")),
            };
        }
        let Some(r) = a.get("subnet-range") else { return Ok(Subnets::All) };
        let f = r.get("first-subnet-id").and_then(Value::as_u64);
        let l = r.get("last-subnet-id").and_then(Value::as_u64);
        match (f, l) {
            (Some(f), Some(l)) if f <= l && l <= u64::from(u32::MAX) => Ok(Subnets::Range(f as u32, l as u32)),
            _ => Err(Response::error("invalid 'subnet-range' parameter")),
        }
    }

    /// The first and last subnet id selected.
    pub fn bounds(self) -> (u32, u32) {
        match self {
            Subnets::All => (0, u32::MAX),
            Subnets::One(id) => (id, id),
            Subnets::Range(f, l) => (f, l),
        }
    }
}

/// The subnet a `subnetN-get` names (Kea ARM 16.x subnet_cmds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetKey {
    /// `id`
    Id(u64),
    /// `subnet` (its prefix as configured).
    Prefix(String),
}

fn subnet_key(a: &Value) -> Result<SubnetKey, Response> {
    if let Some(id) = a.get("id") {
        return id.as_u64().map(SubnetKey::Id).ok_or_else(|| Response::error("'id' must be a positive integer"));
    }
    match a.get("subnet").and_then(Value::as_str) {
        Some(p) => Ok(SubnetKey::Prefix(p.to_string())),
        None => Err(Response::error("missing 'id' or 'subnet' parameter")),
    }
}

fn subnet_put(family: Family, a: &Value, update: bool) -> Result<Command, Response> {
    let (sk, fam) = match family {
        Family::V4 => ("subnet4", "IPv4"),
        Family::V6 => ("subnet6", "IPv6"),
    };
    let Some(Value::Array(list)) = a.get(sk) else {
        return Err(Response::error(format!("missing '{sk}' argument")));
    };
    let [subnet] = list.as_slice() else {
        return Err(Response::error(format!("invalid number of subnets specified, expected one {fam} subnet")));
    };
    let Some(id) = subnet.get("id").and_then(Value::as_u64) else {
        return Err(Response::error("subnet 'id' is mandatory"));
    };
    Ok(Command::SubnetPut { family, id, subnet: subnet.clone(), update })
}

fn network_name(a: &Value) -> Result<String, Response> {
    a.get("name").and_then(Value::as_str).map(str::to_string).ok_or_else(|| Response::error("missing 'name' parameter"))
}

fn network_add(family: Family, a: &Value) -> Result<Command, Response> {
    let Some(Value::Array(list)) = a.get("shared-networks") else {
        return Err(Response::error("missing 'shared-networks' argument"));
    };
    let [net] = list.as_slice() else {
        return Err(Response::error("must provide exactly one shared network"));
    };
    let Some(name) = net.get("name").and_then(Value::as_str) else {
        return Err(Response::error("shared network 'name' is mandatory"));
    };
    Ok(Command::NetworkAdd(family, name.to_string(), net.clone()))
}

fn network_del(family: Family, a: &Value) -> Result<Command, Response> {
    let name = network_name(a)?;
    let keep = match a.get("subnets-action").and_then(Value::as_str) {
        None | Some("keep") => true,
        Some("delete") => false,
        Some(o) => return Err(Response::error(format!("invalid 'subnets-action' value: {o}"))),
    };
    Ok(Command::NetworkDel(family, name, keep))
}

/// The host a `reservation-get` / `reservation-del` names (Kea ARM 16.x host_cmds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKey {
    /// `ip-address`
    Address(String),
    /// `identifier-type` and `identifier` (hex digits, lower case).
    Identifier(String, String),
}

/// Identifier types a reservation may be keyed by (Kea ARM 8.3.1).
pub const ID_TYPES: &[&str] = &["hw-address", "duid", "client-id", "circuit-id", "flex-id"];

/// An identifier's hex digits, lower case: `01:AB` and `01ab` name the same host.
pub fn norm_id(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_hexdigit()).flat_map(char::to_lowercase).collect()
}

fn subnet_id_of(a: &Value) -> Result<Option<u64>, Response> {
    match a.get("subnet-id") {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| Response::error("'subnet-id' must be a non-negative integer")),
    }
}

fn required_subnet_id(a: &Value) -> Result<u64, Response> {
    subnet_id_of(a)?.ok_or_else(|| Response::error("missing parameter 'subnet-id'"))
}

fn host_key(a: &Value) -> Result<HostKey, Response> {
    if let Some(ip) = a.get("ip-address").and_then(Value::as_str) {
        return Ok(HostKey::Address(ip.to_string()));
    }
    match (a.get("identifier-type").and_then(Value::as_str), a.get("identifier").and_then(Value::as_str)) {
        (Some(t), Some(id)) if ID_TYPES.contains(&t) => Ok(HostKey::Identifier(t.to_string(), norm_id(id))),
        (Some(t), Some(_)) => Err(Response::error(format!("invalid identifier-type '{t}'"))),
        _ => Err(Response::error("missing parameter 'ip-address' or 'identifier-type' and 'identifier'")),
    }
}

/// `reservation-add`'s arguments.
fn reservation_add(a: &Value) -> Result<Command, Response> {
    let target = target_of(a)?;
    let Some(Value::Object(mut host)) = a.get("reservation").cloned() else {
        return Err(Response::error("missing parameter 'reservation'"));
    };
    let subnet_id = match host.remove("subnet-id") {
        None => return Err(Response::error("Mandatory 'subnet-id' parameter missing.")),
        Some(v) => v.as_u64().ok_or_else(|| Response::error("'subnet-id' must be a non-negative integer"))?,
    };
    if !ID_TYPES.iter().any(|k| host.contains_key(*k)) {
        return Err(Response::error("one of the supported identifiers must be specified for host reservation"));
    }
    Ok(Command::ReservationAdd { subnet_id, host, target })
}

/// `reservation-get-page`'s arguments.
fn reservation_page(a: &Value) -> Result<Command, Response> {
    let Some(limit) = a.get("limit").and_then(Value::as_u64).filter(|l| *l > 0) else {
        return Err(Response::error("'limit' parameter not specified or not a positive integer"));
    };
    let subnet_id = subnet_id_of(a)?;
    let from = a.get("from").and_then(Value::as_u64).unwrap_or(0);
    Ok(Command::ReservationGetPage {
        subnet_id,
        from: usize::try_from(from).unwrap_or(usize::MAX),
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    })
}

/// Which daemon a command addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// DHCPv4 (`subnet4-*`, `network4-*`).
    V4,
    /// DHCPv6 (`subnet6-*`, `network6-*`).
    V6,
}

/// One control command with its checked arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `build-report`
    BuildReport,
    /// `config-get`
    ConfigGet,
    /// `config-hash-get`
    ConfigHashGet,
    /// `config-reload`
    ConfigReload,
    /// `config-set` with the new configuration map.
    ConfigSet(Value),
    /// `config-test` with the configuration map to check.
    ConfigTest(Value),
    /// `config-write`, optionally to another file.
    ConfigWrite(Option<String>),
    /// `dhcp-disable`
    DhcpDisable {
        /// `max-period` in seconds.
        max_period: Option<u64>,
        /// `origin`
        origin: Origin,
    },
    /// `dhcp-enable`
    DhcpEnable {
        /// `origin`
        origin: Origin,
    },
    /// `libreload`: hooks are built in, so there is nothing to reload.
    LibReload,
    /// `config-backend-pull`: there is no configuration backend to pull from.
    ConfigBackendPull,
    /// `leases-reclaim`
    LeasesReclaim {
        /// `remove`: delete reclaimed leases instead of keeping them expired-reclaimed.
        remove: bool,
    },
    /// `list-commands`
    ListCommands,
    /// `server-tag-get`
    ServerTagGet,
    /// `shutdown`
    Shutdown {
        /// `exit-value`
        exit_value: i32,
    },
    /// `status-get`
    StatusGet,
    /// `version-get`
    VersionGet,
    /// `statistic-*` (handled by `stat_cmds`).
    Statistic(super::stat_cmds::StatCommand),
    /// `lease4-*` / `lease6-*` (handled by `lease_cmds`).
    Lease(super::lease_cmd::LeaseCommand),
    /// `stat-lease4-get` / `stat-lease6-get`
    StatLeaseGet(Family, Subnets),
    /// `reservation-add`: the reservation (without its `subnet-id`) for subnet `subnet_id`
    /// (0: global); the map is a configuration fragment the configuration checks apply to.
    ReservationAdd {
        /// `subnet-id`
        subnet_id: u64,
        /// `reservation`
        host: Map<String, Value>,
        /// `operation-target`
        target: Target,
    },
    /// `reservation-get`
    ReservationGet {
        /// `subnet-id`
        subnet_id: u64,
        /// The host.
        host: HostKey,
        /// `operation-target` (default: the configuration and the hosts databases)
        target: Target,
    },
    /// `reservation-del`
    ReservationDel {
        /// `subnet-id`
        subnet_id: u64,
        /// The host.
        host: HostKey,
        /// `operation-target`
        target: Target,
    },
    /// `reservation-get-all`, of one subnet or (None) all, and `operation-target`.
    ReservationGetAll(Option<u64>, Target),
    /// `reservation-get-page`
    ReservationGetPage {
        /// `subnet-id` (None: all).
        subnet_id: Option<u64>,
        /// `from`: the position after the previous page's last host.
        from: usize,
        /// `limit`
        limit: usize,
    },
    /// `reservation-get-by-hostname` (lower case), in one subnet or (None) all, and
    /// `operation-target`.
    ReservationGetByHostname(String, Option<u64>, Target),
    /// `reservation-get-by-id`: identifier type, identifier (hex digits, lower case) and
    /// `operation-target`.
    ReservationGetById(String, String, Target),
    /// `subnet4-list` / `subnet6-list`
    SubnetList(Family),
    /// `subnet4-get` / `subnet6-get`
    SubnetGet(Family, SubnetKey),
    /// `subnet4-add` / `subnet6-add` / `-update` (`update`): one subnet, a configuration
    /// fragment the configuration checks apply to, with its mandatory `id`.
    SubnetPut {
        /// The command's family.
        family: Family,
        /// `id`
        id: u64,
        /// The subnet map.
        subnet: Value,
        /// `subnetN-update` (else `-add`).
        update: bool,
    },
    /// `subnet4-del` / `subnet6-del` by `id`.
    SubnetDel(Family, u64),
    /// `network4-list` / `network6-list`
    NetworkList(Family),
    /// `network4-get` / `network6-get` by `name`.
    NetworkGet(Family, String),
    /// `network4-add` / `network6-add`: one shared network (a configuration fragment) and its
    /// mandatory `name`.
    NetworkAdd(Family, String, Value),
    /// `network4-del` / `network6-del`: `name`, and whether its subnets stay
    /// (`subnets-action` keep) or go (delete).
    NetworkDel(Family, String, bool),
}

/// Every built-in, stat_cmds, host_cmds and subnet_cmds command name (lease and statistic
/// commands are listed by their own modules).
pub const COMMANDS: &[&str] = &[
    "build-report",
    "config-get",
    "config-hash-get",
    "config-reload",
    "config-set",
    "config-test",
    "config-write",
    "dhcp-disable",
    "dhcp-enable",
    "leases-reclaim",
    "list-commands",
    "server-tag-get",
    "shutdown",
    "status-get",
    "version-get",
];

/// Commands of stat_cmds, host_cmds and subnet_cmds for one family.
pub fn hook_commands(family: Family) -> Vec<String> {
    let n = match family {
        Family::V4 => 4,
        Family::V6 => 6,
    };
    let mut v = vec![format!("stat-lease{n}-get")];
    for r in ["add", "del", "get", "get-all", "get-by-hostname", "get-by-id", "get-page"] {
        v.push(format!("reservation-{r}"));
    }
    for op in ["list", "get", "add", "update", "del"] {
        v.push(format!("subnet{n}-{op}"));
    }
    for op in ["list", "get", "add", "del"] {
        v.push(format!("network{n}-{op}"));
    }
    v
}

fn args_map(req: &Request) -> Result<Value, Response> {
    match &req.arguments {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(Response::error("arguments must be a map")),
        None => Err(Response::error("Missing mandatory 'arguments' parameter.")),
    }
}

fn origin_of(args: Option<&Value>) -> Result<Origin, Response> {
    let Some(a) = args else { return Ok(Origin::User) };
    if let Some(id) = a.get("origin-id") {
        return match id.as_i64() {
            Some(1) => Ok(Origin::User),
            Some(n) => Ok(Origin::Remote(n)),
            None => Err(Response::error("'origin-id' argument must be a number")),
        };
    }
    match a.get("origin") {
        None => Ok(Origin::User),
        Some(Value::String(s)) if s == "user" => Ok(Origin::User),
        Some(Value::String(s)) if s == "ha-partner" => Ok(Origin::Remote(2000)),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Origin::User),
        Some(Value::Number(n)) => Ok(Origin::Remote(n.as_i64().unwrap_or(0))),
        Some(Value::String(s)) => Err(Response::error(format!("invalid value used for 'origin' parameter: {s}"))),
        Some(_) => Err(Response::error("'origin' argument must be a string or a number")),
    }
}

fn target_of(args: &Value) -> Result<Target, Response> {
    match args.get("operation-target").and_then(Value::as_str) {
        None | Some("default") => Ok(Target::Default),
        Some("primary" | "memory") => Ok(Target::Memory),
        Some("alternate" | "database") => Ok(Target::Database),
        Some("all") => Ok(Target::All),
        Some(o) => Err(Response::error(format!(
            "The 'operation-target' value ({o}) is not within expected set: (primary, alternate, all, default)"
        ))),
    }
}

impl Command {
    /// Parses a request into a command; an unknown name or bad arguments give the response
    /// Kea would send (result 2 for an unknown command).
    pub fn parse(req: &Request) -> Result<Command, Response> {
        let args = req.arguments.as_ref();
        let name = req.command.as_str();
        let family = |s: &str| if s.contains('6') { Family::V6 } else { Family::V4 };
        Ok(match name {
            "build-report" => Command::BuildReport,
            "config-get" => Command::ConfigGet,
            "config-hash-get" => Command::ConfigHashGet,
            "config-reload" => Command::ConfigReload,
            "config-set" => Command::ConfigSet(args_map(req)?),
            "config-test" => Command::ConfigTest(args_map(req)?),
            "config-write" => Command::ConfigWrite(match args.and_then(|a| a.get("filename")) {
                None => None,
                Some(Value::String(f)) => Some(f.clone()),
                Some(_) => return Err(Response::error("passed parameter 'filename' is not a string")),
            }),
            "dhcp-disable" => {
                let max_period = match args.and_then(|a| a.get("max-period")) {
                    None => None,
                    Some(v) if !v.is_number() => return Err(Response::error("'max-period' argument must be a number")),
                    Some(v) => match v.as_u64() {
                        Some(p) if p > 0 => Some(p),
                        _ => return Err(Response::error("'max-period' must be positive integer")),
                    },
                };
                Command::DhcpDisable { max_period, origin: origin_of(args)? }
            }
            "dhcp-enable" => Command::DhcpEnable { origin: origin_of(args)? },
            "leases-reclaim" => match args.and_then(|a| a.get("remove")) {
                None => return Err(Response::error("Missing mandatory 'remove' parameter.")),
                Some(Value::Bool(remove)) => Command::LeasesReclaim { remove: *remove },
                Some(_) => return Err(Response::error("'remove' parameter expected to be a boolean.")),
            },
            "list-commands" => Command::ListCommands,
            "libreload" => Command::LibReload,
            "config-backend-pull" => Command::ConfigBackendPull,
            "server-tag-get" => Command::ServerTagGet,
            "shutdown" => {
                let exit_value = match args.and_then(|a| a.get("exit-value")) {
                    None => 0,
                    Some(v) => match v.as_i64().and_then(|n| i32::try_from(n).ok()) {
                        Some(n) => n,
                        None => return Err(Response::error("parameter 'exit-value' is not an integer")),
                    },
                };
                Command::Shutdown { exit_value }
            }
            "status-get" => Command::StatusGet,
            "version-get" => Command::VersionGet,
            n if n.starts_with("statistic-") => match super::stat_cmds::StatCommand::parse(n, args) {
                Some(parsed) => Command::Statistic(parsed?),
                None => return Err(Response::new(super::RESULT_UNSUPPORTED, format!("'{n}' command not supported."))),
            },
            n if n.starts_with("lease4-") || n.starts_with("lease6-") => {
                match super::lease_cmd::LeaseCommand::parse(n, args) {
                    Some(parsed) => Command::Lease(parsed?),
                    None => {
                        return Err(Response::new(super::RESULT_UNSUPPORTED, format!("'{n}' command not supported.")))
                    }
                }
            }
            "stat-lease4-get" | "stat-lease6-get" => Command::StatLeaseGet(family(name), Subnets::parse(args)?),
            "reservation-add" => reservation_add(&args_map(req)?)?,
            "reservation-del" => {
                let a = args_map(req)?;
                Command::ReservationDel {
                    subnet_id: required_subnet_id(&a)?,
                    host: host_key(&a)?,
                    target: target_of(&a)?,
                }
            }
            "reservation-get" => {
                let a = args_map(req)?;
                Command::ReservationGet {
                    subnet_id: required_subnet_id(&a)?,
                    host: host_key(&a)?,
                    target: target_of(&a)?,
                }
            }
            "reservation-get-all" => {
                let a = args_map(req)?;
                Command::ReservationGetAll(subnet_id_of(&a)?, target_of(&a)?)
            }
            "reservation-get-page" => reservation_page(&args_map(req)?)?,
            "reservation-get-by-hostname" => {
                let a = args_map(req)?;
                let Some(h) = a.get("hostname").and_then(Value::as_str).map(str::to_lowercase) else {
                    return Err(Response::error("'hostname' parameter not specified"));
                };
                Command::ReservationGetByHostname(h, subnet_id_of(&a)?, target_of(&a)?)
            }
            "reservation-get-by-id" => {
                let a = args_map(req)?;
                let (Some(t), Some(id)) =
                    (a.get("identifier-type").and_then(Value::as_str), a.get("identifier").and_then(Value::as_str))
                else {
                    return Err(Response::error("'identifier-type' and 'identifier' parameters are mandatory"));
                };
                Command::ReservationGetById(t.to_string(), norm_id(id), target_of(&a)?)
            }
            "subnet4-list" | "subnet6-list" => Command::SubnetList(family(name)),
            "subnet4-get" | "subnet6-get" => Command::SubnetGet(family(name), subnet_key(&args_map(req)?)?),
            "subnet4-add" | "subnet6-add" => subnet_put(family(name), &args_map(req)?, false)?,
            "subnet4-update" | "subnet6-update" => subnet_put(family(name), &args_map(req)?, true)?,
            "subnet4-del" | "subnet6-del" => match args_map(req)?.get("id").and_then(Value::as_u64) {
                Some(id) => Command::SubnetDel(family(name), id),
                None => return Err(Response::error("missing 'id' parameter")),
            },
            "network4-list" | "network6-list" => Command::NetworkList(family(name)),
            "network4-get" | "network6-get" => Command::NetworkGet(family(name), network_name(&args_map(req)?)?),
            "network4-add" | "network6-add" => network_add(family(name), &args_map(req)?)?,
            "network4-del" | "network6-del" => network_del(family(name), &args_map(req)?)?,
            other => return Err(Response::new(super::RESULT_UNSUPPORTED, format!("'{other}' command not supported."))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> Request {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn parses_commands_and_checks_arguments() {
        assert_eq!(Command::parse(&req(json!({"command": "config-get"}))), Ok(Command::ConfigGet));
        let r = Command::parse(&req(json!({"command": "bogus"}))).unwrap_err();
        assert_eq!((r.result, r.text.as_deref()), (2, Some("'bogus' command not supported.")));
        assert_eq!(Command::parse(&req(json!({"command": "config-set"}))).unwrap_err().result, 1);
        assert_eq!(
            Command::parse(&req(
                json!({"command": "dhcp-disable", "arguments": {"max-period": 5, "origin": "ha-partner"}})
            )),
            Ok(Command::DhcpDisable { max_period: Some(5), origin: Origin::Remote(2000) })
        );
        assert!(Command::parse(&req(json!({"command": "dhcp-disable", "arguments": {"max-period": -1}}))).is_err());
        assert!(Command::parse(&req(json!({"command": "leases-reclaim", "arguments": {}}))).is_err());
        assert_eq!(
            Command::parse(&req(json!({"command": "shutdown", "arguments": {"exit-value": 3}}))),
            Ok(Command::Shutdown { exit_value: 3 })
        );
        assert_eq!(Command::parse(&req(json!({"command": "subnet6-list"}))), Ok(Command::SubnetList(Family::V6)));
        let host = json!({"subnet-id": 1, "hw-address": "01:02:03:04:05:06", "ip-address": "192.0.2.9"});
        assert!(matches!(
            Command::parse(&req(
                json!({"command": "reservation-add", "arguments": {"reservation": host, "operation-target": "memory"}})
            )),
            Ok(Command::ReservationAdd { subnet_id: 1, target: Target::Memory, .. })
        ));
        let empty = json!({"command": "reservation-add", "arguments": {"reservation": {}}});
        assert_eq!(Command::parse(&req(empty)), Err(Response::error("Mandatory 'subnet-id' parameter missing.")));
        let by_id = json!({"command": "reservation-get", "arguments": {"subnet-id": 1, "identifier-type": "hw-address", "identifier": "01:AB"}});
        assert_eq!(
            Command::parse(&req(by_id)),
            Ok(Command::ReservationGet {
                subnet_id: 1,
                host: HostKey::Identifier("hw-address".into(), "01ab".into()),
                target: Target::Default
            })
        );
        assert!(hook_commands(Family::V4).iter().any(|c| c == "subnet4-update"));
        assert!(hook_commands(Family::V6).iter().any(|c| c == "network6-del"));
    }
}
