//! The typed command set (Kea ARM 8.8 "Management API" and the hook command sets): each
//! request becomes one [`Command`] variant; argument checks that Kea makes before acting happen
//! here, so handlers get typed values.

use serde_json::Value;

use super::{Request, Response};

/// Who disables or enables the service (`dhcp-disable` / `dhcp-enable` `origin`, Kea ARM 8.8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A user or script (`"user"`, the default).
    User,
    /// An HA partner or another remote origin, by numeric id (`"ha-partner"` is 2000).
    Remote(i64),
}

/// Where host reservation changes go (`operation-target`, Kea ARM 16.x host_cmds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The running configuration.
    Memory,
    /// A hosts database.
    Database,
    /// Both.
    All,
    /// The default: the database when one is configured, else memory.
    Default,
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
    StatLeaseGet(Family, Option<Value>),
    /// `reservation-add`
    ReservationAdd(Value, Target),
    /// `reservation-get`
    ReservationGet(Value),
    /// `reservation-get-all`
    ReservationGetAll(Value),
    /// `reservation-get-page`
    ReservationGetPage(Value),
    /// `reservation-get-by-hostname`
    ReservationGetByHostname(Value),
    /// `reservation-get-by-id`
    ReservationGetById(Value),
    /// `reservation-del`
    ReservationDel(Value, Target),
    /// `subnet4-list` / `subnet6-list`
    SubnetList(Family),
    /// `subnet4-get` / `subnet6-get`
    SubnetGet(Family, Value),
    /// `subnet4-add` / `subnet6-add`
    SubnetAdd(Family, Value),
    /// `subnet4-update` / `subnet6-update`
    SubnetUpdate(Family, Value),
    /// `subnet4-del` / `subnet6-del`
    SubnetDel(Family, Value),
    /// `network4-list` / `network6-list`
    NetworkList(Family),
    /// `network4-get` / `network6-get`
    NetworkGet(Family, Value),
    /// `network4-add` / `network6-add`
    NetworkAdd(Family, Value),
    /// `network4-del` / `network6-del`
    NetworkDel(Family, Value),
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
        Some("memory") => Ok(Target::Memory),
        Some("database") => Ok(Target::Database),
        Some("all") => Ok(Target::All),
        Some(o) => Err(Response::error(format!(
            "The 'operation-target' value ({o}) is not within expected set: (memory, database, all, default)"
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
            "stat-lease4-get" | "stat-lease6-get" => Command::StatLeaseGet(family(name), args.cloned()),
            "reservation-add" => {
                let a = args_map(req)?;
                let t = target_of(&a)?;
                Command::ReservationAdd(a, t)
            }
            "reservation-del" => {
                let a = args_map(req)?;
                let t = target_of(&a)?;
                Command::ReservationDel(a, t)
            }
            "reservation-get" => Command::ReservationGet(args_map(req)?),
            "reservation-get-all" => Command::ReservationGetAll(args_map(req)?),
            "reservation-get-page" => Command::ReservationGetPage(args_map(req)?),
            "reservation-get-by-hostname" => Command::ReservationGetByHostname(args_map(req)?),
            "reservation-get-by-id" => Command::ReservationGetById(args_map(req)?),
            "subnet4-list" | "subnet6-list" => Command::SubnetList(family(name)),
            "subnet4-get" | "subnet6-get" => Command::SubnetGet(family(name), args_map(req)?),
            "subnet4-add" | "subnet6-add" => Command::SubnetAdd(family(name), args_map(req)?),
            "subnet4-update" | "subnet6-update" => Command::SubnetUpdate(family(name), args_map(req)?),
            "subnet4-del" | "subnet6-del" => Command::SubnetDel(family(name), args_map(req)?),
            "network4-list" | "network6-list" => Command::NetworkList(family(name)),
            "network4-get" | "network6-get" => Command::NetworkGet(family(name), args_map(req)?),
            "network4-add" | "network6-add" => Command::NetworkAdd(family(name), args_map(req)?),
            "network4-del" | "network6-del" => Command::NetworkDel(family(name), args_map(req)?),
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
        assert!(matches!(
            Command::parse(&req(
                json!({"command": "reservation-add", "arguments": {"reservation": {}, "operation-target": "memory"}})
            )),
            Ok(Command::ReservationAdd(_, Target::Memory))
        ));
        assert!(hook_commands(Family::V4).iter().any(|c| c == "subnet4-update"));
        assert!(hook_commands(Family::V6).iter().any(|c| c == "network6-del"));
    }
}
