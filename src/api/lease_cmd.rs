//! The lease commands' typed form (Kea ARM 16.x "libdhcp_lease_cmds.so"): each `lease4-*` /
//! `lease6-*` request becomes one [`LeaseCommand`] with its arguments checked the way Kea's
//! hook checks them, with Kea's texts. The checks of a lease to add or update that need the
//! running configuration (its subnet) happen when it runs; the fields Kea checks after the
//! subnet keep their own outcome ([`Checked`]) so that the first error answered is Kea's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use super::command::Family;
use super::Response;
use crate::engine::admin::PutMode;
use crate::lease::store::ClientId;
use crate::lease::{LeaseState, LeaseType6};

pub(super) type Args<'a> = &'a Map<String, Value>;
pub(super) type R<T> = Result<T, Response>;

/// A field's value, or the answer Kea gives when its check fails.
pub type Checked<T> = Result<T, Response>;

/// One lease command with its arguments checked.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaseCommand {
    /// `lease4-add`, `lease4-update` (with `force-create`: upsert).
    Put4 {
        /// How an existing lease is treated.
        mode: PutMode,
        /// The lease.
        lease: Box<LeaseSpec4>,
    },
    /// `lease6-add`, `lease6-update`.
    Put6 {
        /// How an existing lease is treated.
        mode: PutMode,
        /// The lease.
        lease: Box<LeaseSpec6>,
    },
    /// `lease4-get`
    Get4(Query4),
    /// `lease6-get`
    Get6(Query6),
    /// `lease4-del`
    Del4(Query4),
    /// `lease6-del`
    Del6(Query6),
    /// `leaseN-get-all`, optionally limited to `subnets`.
    GetAll(Family, Option<Vec<u32>>),
    /// `leaseN-get-page`: after `from` (None: "start"), at most `limit`.
    GetPage(Family, Option<IpAddr>, usize),
    /// `lease4-get-by-hw-address`, `lease4-get-by-client-id`, `lease6-get-by-duid`.
    GetByClient(ClientId),
    /// `leaseN-get-by-hostname` (lower case).
    GetByHostname(Family, String),
    /// `leaseN-wipe` of one subnet or (None) all.
    Wipe(Family, Option<u32>),
    /// `lease6-bulk-apply`: deletions, then creations or updates.
    BulkApply6 {
        /// `deleted-leases`
        deleted: Vec<(LeaseType6, Ipv6Addr)>,
        /// `leases`
        leases: Vec<LeaseSpec6>,
    },
    /// `leaseN-resend-ddns`
    ResendDdns(IpAddr),
}

/// The lease a `lease4-add` / `lease4-update` names, before its subnet is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseSpec4 {
    /// `ip-address`
    pub address: Ipv4Addr,
    /// `subnet-id` (None or 0: the subnet holding the address).
    pub subnet_id: Option<u32>,
    /// `hw-address`, `client-id`, `valid-lft`, `expire`.
    pub first: Checked<(Identity4, Times)>,
    /// The fields Kea checks after the expiration time.
    pub then: Checked<Details>,
}

/// The lease a `lease6-add` / `lease6-update` / bulk-apply entry names.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseSpec6 {
    /// `ip-address`
    pub address: Ipv6Addr,
    /// `type`
    pub ty: LeaseType6,
    /// `subnet-id` (None or 0: the subnet holding the address, for IA_NA only).
    pub subnet_id: Option<u32>,
    /// `prefix-len`, `duid`, `iaid`, `hw-address`, `valid-lft`, `expire`.
    pub first: Checked<(Identity6, Times)>,
    /// The fields Kea checks after the expiration time, `preferred-lft` last.
    pub then: Checked<Details>,
}

/// A DHCPv4 lease's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity4 {
    /// `hw-address`
    pub hwaddr: Vec<u8>,
    /// `client-id` (None when absent or empty).
    pub client_id: Option<Vec<u8>>,
}

/// A DHCPv6 lease's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity6 {
    /// `prefix-len` (128 for an address).
    pub prefix_len: u8,
    /// `duid`
    pub duid: Vec<u8>,
    /// `iaid`
    pub iaid: u32,
    /// `hw-address` (empty when absent).
    pub hwaddr: Vec<u8>,
}

/// `valid-lft` and `expire` as given (the subnet supplies the default lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// `valid-lft`
    pub valid: Option<u32>,
    /// `expire` (positive).
    pub expire: Option<u64>,
}

/// The lease fields after the expiration time (Kea's `LeaseParser` order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// `fqdn-fwd`
    pub fqdn_fwd: bool,
    /// `fqdn-rev`
    pub fqdn_rev: bool,
    /// `hostname`, lower case.
    pub hostname: String,
    /// `state`
    pub state: LeaseState,
    /// `user-context`, as JSON text.
    pub user_context: Option<String>,
    /// `pool-id`
    pub pool_id: u32,
    /// `preferred-lft` (DHCPv6; None: the valid lifetime).
    pub preferred: Option<u32>,
}

/// A DHCPv4 lease selected by `lease4-get` / `lease4-del`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query4 {
    /// By address.
    Addr(Ipv4Addr),
    /// By client (hardware address or client identifier) in a subnet.
    Client(ClientId, u32),
}

/// A DHCPv6 lease selected by `lease6-get` / `lease6-del`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query6 {
    /// By type and address.
    Addr(LeaseType6, Ipv6Addr),
    /// By type, DUID, subnet and IAID.
    Duid(LeaseType6, Vec<u8>, u32, u32),
}

impl LeaseCommand {
    /// The command `command` with `arguments` checked: None when it is not a lease command,
    /// Err with Kea's answer when an argument is wrong.
    pub fn parse(command: &str, arguments: Option<&Value>) -> Option<R<LeaseCommand>> {
        let (family, op) = match command.split_once('-') {
            Some(("lease4", op)) => (Family::V4, op),
            Some(("lease6", op)) => (Family::V6, op),
            _ => return None,
        };
        let fam = if family == Family::V4 { "IPv4" } else { "IPv6" };
        let v4 = family == Family::V4;
        Some(match op {
            "add" | "update" => put(command, op == "add", v4, arguments),
            "get" | "del" => {
                let m = map_of(arguments, "Parameters missing or are not a map.");
                m.and_then(|m| match (v4, op) {
                    (true, "get") => query4(m).map(LeaseCommand::Get4),
                    (true, _) => query4(m).map(LeaseCommand::Del4),
                    (false, "get") => query6(m).map(LeaseCommand::Get6),
                    (false, _) => query6(m).map(LeaseCommand::Del6),
                })
            }
            "get-all" => subnets_arg(arguments).map(|s| LeaseCommand::GetAll(family, s)),
            "get-page" => {
                page_args(command, arguments, fam).map(|(from, limit)| LeaseCommand::GetPage(family, from, limit))
            }
            "get-by-hw-address" if v4 => by_hex(arguments, "hw-address", ClientId::HwAddr),
            "get-by-client-id" if v4 => by_hex(arguments, "client-id", ClientId::ClientId),
            "get-by-duid" if !v4 => by_hex(arguments, "duid", ClientId::Duid),
            "get-by-hostname" => hostname_param(arguments).map(|h| LeaseCommand::GetByHostname(family, h)),
            "wipe" => wipe_arg(arguments).map(|s| LeaseCommand::Wipe(family, s)),
            "bulk-apply" if !v4 => bulk_apply(arguments),
            "resend-ddns" => resend_addr(arguments).and_then(|a| match (a, v4) {
                (IpAddr::V4(_), true) | (IpAddr::V6(_), false) => Ok(LeaseCommand::ResendDdns(a)),
                _ => Err(fail(format!("'{a}' is not a valid {fam} address."))),
            }),
            _ => return None,
        })
    }

    /// The command's name, as sent.
    pub fn name(&self) -> String {
        use LeaseCommand::*;
        let n = if self.family() == Family::V4 { 4 } else { 6 };
        let op = match self {
            Put4 { mode: PutMode::Add, .. } | Put6 { mode: PutMode::Add, .. } => "add",
            Put4 { .. } | Put6 { .. } => "update",
            Get4(_) | Get6(_) => "get",
            Del4(_) | Del6(_) => "del",
            GetAll(..) => "get-all",
            GetPage(..) => "get-page",
            GetByClient(ClientId::HwAddr(_)) => "get-by-hw-address",
            GetByClient(ClientId::ClientId(_)) => "get-by-client-id",
            GetByClient(ClientId::Duid(_)) => "get-by-duid",
            GetByHostname(..) => "get-by-hostname",
            Wipe(..) => "wipe",
            BulkApply6 { .. } => "bulk-apply",
            ResendDdns(_) => "resend-ddns",
        };
        format!("lease{n}-{op}")
    }

    /// The address family the command is for.
    pub fn family(&self) -> Family {
        use LeaseCommand::*;
        match self {
            Put4 { .. } | Get4(_) | Del4(_) => Family::V4,
            Put6 { .. } | Get6(_) | Del6(_) | BulkApply6 { .. } => Family::V6,
            GetAll(f, _) | GetPage(f, ..) | GetByHostname(f, _) | Wipe(f, _) => *f,
            GetByClient(ClientId::Duid(_)) => Family::V6,
            GetByClient(_) => Family::V4,
            ResendDdns(a) => {
                if a.is_ipv4() {
                    Family::V4
                } else {
                    Family::V6
                }
            }
        }
    }
}

fn by_hex(arguments: Option<&Value>, k: &str, id: fn(Vec<u8>) -> ClientId) -> R<LeaseCommand> {
    Ok(LeaseCommand::GetByClient(id(parse_hex(by_param(arguments, k)?)?)))
}

/// `leaseN-add` / `leaseN-update`.
fn put(command: &str, add: bool, v4: bool, arguments: Option<&Value>) -> R<LeaseCommand> {
    let missing = if add {
        "no parameters specified for the command".to_string()
    } else {
        format!("no parameters specified for {command} command")
    };
    let m = map_of(arguments, &missing)?;
    let force = if add { false } else { opt_bool(m, "force-create")?.unwrap_or(false) };
    let mode = match (add, force) {
        (true, _) => PutMode::Add,
        (false, false) => PutMode::Update,
        (false, true) => PutMode::Upsert,
    };
    Ok(if v4 {
        LeaseCommand::Put4 { mode, lease: Box::new(spec4(m)?) }
    } else {
        LeaseCommand::Put6 { mode, lease: Box::new(spec6(m)?) }
    })
}

/// A DHCPv4 lease's fields in Kea's `Lease4Parser` order.
pub(super) fn spec4(m: Args) -> R<LeaseSpec4> {
    let address = lease_addr4(req_str(m, "ip-address")?)?;
    let subnet_id = opt_u32(m, "subnet-id")?;
    let first = (|| {
        let hwaddr = parse_hex(req_str(m, "hw-address")?)?;
        let client_id = match opt_str(m, "client-id")? {
            Some(c) => Some(parse_hex(c)?).filter(|c| !c.is_empty()),
            None => None,
        };
        Ok((Identity4 { hwaddr, client_id }, times(m, &address.to_string())?))
    })();
    Ok(LeaseSpec4 { address, subnet_id, first, then: details(m, false) })
}

/// A DHCPv6 lease's fields in Kea's `Lease6Parser` order.
pub(super) fn spec6(m: Args) -> R<LeaseSpec6> {
    let address = lease_addr6(req_str(m, "ip-address")?)?;
    let ty = match opt_str(m, "type")? {
        Some(t) => lease_type(t)?,
        None => LeaseType6::Na,
    };
    let subnet_id = opt_u32(m, "subnet-id")?;
    let first = (|| {
        let prefix_len = match ty {
            LeaseType6::Na => 128,
            LeaseType6::Pd => match opt_u32(m, "prefix-len")? {
                None => return Err(fail("missing parameter 'prefix-len'")),
                Some(l @ 1..=128) => l as u8,
                Some(l) => return Err(fail(format!("out of range value ({l}) specified for parameter 'prefix-len'"))),
            },
        };
        let duid = parse_hex(req_str(m, "duid")?)?;
        let iaid = opt_u32(m, "iaid")?.ok_or_else(|| fail("missing parameter 'iaid'"))?;
        if duid.is_empty() {
            return Err(fail("Empty DUIDs are not allowed"));
        }
        let hwaddr = match opt_str(m, "hw-address")? {
            Some(h) => parse_hex(h)?,
            None => Vec::new(),
        };
        Ok((Identity6 { prefix_len, duid, iaid, hwaddr }, times(m, &address.to_string())?))
    })();
    Ok(LeaseSpec6 { address, ty, subnet_id, first, then: details(m, true) })
}

/// `valid-lft` and `expire` (Kea's `LeaseParser`: an expiration time must be positive).
fn times(m: Args, addr: &str) -> R<Times> {
    let valid = opt_u32(m, "valid-lft")?;
    let expire = match opt_int(m, "expire")? {
        None => None,
        Some(e) if e <= 0 => return Err(fail(format!("expiration time must be positive for address {addr}"))),
        Some(e) => Some(e as u64),
    };
    Ok(Times { valid, expire })
}

/// The fields after `expire`; `preferred-lft` for DHCPv6.
fn details(m: Args, v6: bool) -> Checked<Details> {
    let fqdn_fwd = opt_bool(m, "fqdn-fwd")?.unwrap_or(false);
    let fqdn_rev = opt_bool(m, "fqdn-rev")?.unwrap_or(false);
    let hostname = opt_str(m, "hostname")?.unwrap_or("").to_lowercase();
    let state = match opt_u32(m, "state")? {
        None => LeaseState::Default,
        Some(s) if s <= 2 => LeaseState::from_code(s).unwrap_or_default(),
        Some(s) => {
            return Err(fail(format!(
                "Invalid state value: {s}, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)"
            )))
        }
    };
    let user_context = match m.get("user-context") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(v) => return Err(fail(format!("Invalid user context '{v}' is not a JSON map."))),
    };
    let pool_id = opt_u32(m, "pool-id")?.unwrap_or(0);
    let preferred = if v6 { opt_u32(m, "preferred-lft")? } else { None };
    Ok(Details { fqdn_fwd, fqdn_rev, hostname, state, user_context, pool_id, preferred })
}

/// `lease4-get` / `lease4-del`: the family's rules on top of Kea's `getParameters`.
fn query4(m: Args) -> R<Query4> {
    match parse_query(m)? {
        Query::Addr(IpAddr::V4(a)) => Ok(Query4::Addr(a)),
        Query::Addr(a) => Err(fail(format!("Invalid IPv4 address specified: {a}"))),
        Query::Ident("duid", ..) => Err(fail("Query by duid is not allowed in v4.")),
        Query::Ident(kind, id, subnet, _) => {
            let client = if kind == "hw-address" { ClientId::HwAddr(id) } else { ClientId::ClientId(id) };
            Ok(Query4::Client(client, subnet))
        }
    }
}

/// `lease6-get` / `lease6-del`: `type` first, then Kea's `getParameters`.
fn query6(m: Args) -> R<Query6> {
    let ty = match opt_str(m, "type")? {
        Some(t) => lease_type(t)?,
        None => LeaseType6::Na,
    };
    match parse_query(m)? {
        Query::Addr(IpAddr::V6(a)) => Ok(Query6::Addr(ty, a)),
        Query::Addr(a) => Err(fail(format!("Invalid IPv6 address specified: {a}"))),
        Query::Ident("duid", id, subnet, iaid) => Ok(Query6::Duid(ty, id, subnet, iaid)),
        Query::Ident(kind, ..) => Err(fail(format!("Query by {kind} is not allowed in v6."))),
    }
}

/// `lease6-bulk-apply`: every entry is checked before anything changes.
fn bulk_apply(arguments: Option<&Value>) -> R<LeaseCommand> {
    let m = map_of(arguments, "Command arguments missing or a not a map.")?;
    let list = |k: &str| -> R<Option<&Vec<Value>>> {
        match m.get(k) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(fail(format!("the '{k}' parameter must be a list"))),
        }
    };
    let (deleted, leases) = (list("deleted-leases")?, list("leases")?);
    if deleted.is_none() && leases.is_none() {
        return Err(fail("neither 'deleted-leases' nor 'leases' parameter specified"));
    }
    let mut to_delete = Vec::new();
    for d in deleted.into_iter().flatten() {
        let d = d.as_object().ok_or_else(|| fail("each entry of 'deleted-leases' must be a map"))?;
        let s = req_str(d, "ip-address")?;
        let addr = s
            .parse::<Ipv6Addr>()
            .map_err(|_| fail(format!("Failed to convert string to address '{s}': Invalid argument")))?;
        let ty = match opt_str(d, "type")? {
            Some(t) => lease_type(t)?,
            None => LeaseType6::Na,
        };
        to_delete.push((ty, addr));
    }
    let mut to_put = Vec::new();
    for l in leases.into_iter().flatten() {
        to_put.push(spec6(l.as_object().ok_or_else(|| fail("each entry of 'leases' must be a map"))?)?);
    }
    Ok(LeaseCommand::BulkApply6 { deleted: to_delete, leases: to_put })
}

pub(super) fn fail(text: impl Into<String>) -> Response {
    Response::error(text)
}

/// The arguments as a map, or `missing` as result 1.
pub(super) fn map_of<'a>(arguments: Option<&'a Value>, missing: &str) -> R<Args<'a>> {
    arguments.and_then(Value::as_object).ok_or_else(|| fail(missing))
}

fn bad_type(k: &str) -> Response {
    fail(format!("invalid type specified for parameter '{k}'"))
}

fn opt_str<'a>(m: Args<'a>, k: &str) -> R<Option<&'a str>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad_type(k)),
    }
}

pub(super) fn req_str<'a>(m: Args<'a>, k: &str) -> R<&'a str> {
    opt_str(m, k)?.ok_or_else(|| fail(format!("missing parameter '{k}'")))
}

fn opt_int(m: Args, k: &str) -> R<Option<i64>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Ok(Some(i)),
            (None, Some(u)) => Err(fail(format!("out of range value ({u}) specified for parameter '{k}'"))),
            _ => Err(bad_type(k)),
        },
        Some(_) => Err(bad_type(k)),
    }
}

pub(super) fn opt_u32(m: Args, k: &str) -> R<Option<u32>> {
    match opt_int(m, k)? {
        None => Ok(None),
        Some(i) => u32::try_from(i)
            .map(Some)
            .map_err(|_| fail(format!("out of range value ({i}) specified for parameter '{k}'"))),
    }
}

fn opt_bool(m: Args, k: &str) -> R<Option<bool>> {
    match m.get(k) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad_type(k)),
    }
}

/// Kea's `decodeFormattedHexString`: `aa:bb:cc`, `aa bb cc` (one or two digits per byte) or
/// plain `aabbcc` (an odd count gets a leading zero).
pub(super) fn parse_hex(text: &str) -> R<Vec<u8>> {
    let digit = |c: char| {
        c.to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| fail(format!("'{c}' is not a valid hexadecimal digit in decoded string '{text}'")))
    };
    let sep = if text.contains(':') {
        Some(':')
    } else if text.contains(' ') {
        Some(' ')
    } else {
        None
    };
    let mut out = Vec::new();
    match sep {
        Some(sep) => {
            for part in text.split(sep) {
                let chars: Vec<char> = part.chars().collect();
                match chars.as_slice() {
                    [a] => out.push(digit(*a)?),
                    [a, b] => out.push(digit(*a)? << 4 | digit(*b)?),
                    _ => return Err(fail(format!("invalid format of the decoded string '{text}'"))),
                }
            }
        }
        None => {
            let mut chars: Vec<char> = text.chars().collect();
            if chars.len() % 2 == 1 {
                chars.insert(0, '0');
            }
            for pair in chars.chunks(2) {
                out.push(digit(pair[0])? << 4 | digit(pair[1])?);
            }
        }
    }
    Ok(out)
}

fn parse_ip(s: &str) -> R<IpAddr> {
    s.parse::<IpAddr>().map_err(|_| {
        fail(format!("Failed to convert '{s}' to address: Failed to convert string to address '{s}': Invalid argument"))
    })
}

pub(super) fn lease_addr4(s: &str) -> R<Ipv4Addr> {
    match parse_ip(s)? {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(fail(format!("Non-IPv4 address specified: {s}"))),
    }
}

pub(super) fn lease_addr6(s: &str) -> R<Ipv6Addr> {
    match parse_ip(s)? {
        IpAddr::V6(a) => Ok(a),
        IpAddr::V4(_) => Err(fail(format!("Non-IPv6 address specified: {s}"))),
    }
}

fn lease_type(s: &str) -> R<LeaseType6> {
    match s {
        "IA_NA" => Ok(LeaseType6::Na),
        "IA_PD" => Ok(LeaseType6::Pd),
        "IA_TA" => Err(fail("IA_TA leases are not supported")),
        _ => Err(fail(format!("Incorrect lease type: {s}, the only supported values are: na, ta and pd"))),
    }
}

/// What `leaseX-get` / `leaseX-del` select by before the family is known (Kea's lease_cmds
/// `getParameters`).
enum Query {
    Addr(IpAddr),
    /// identifier-type, identifier bytes, subnet-id, iaid.
    Ident(&'static str, Vec<u8>, u32, u32),
}

fn parse_query(m: Args) -> R<Query> {
    if let Some(a) = m.get("ip-address") {
        let s = a.as_str().ok_or_else(|| bad_type("ip-address"))?;
        let ip = s
            .parse::<IpAddr>()
            .map_err(|_| fail(format!("Failed to convert string to address '{s}': Invalid argument")))?;
        return Ok(Query::Addr(ip));
    }
    let subnet = match m.get("subnet-id") {
        None => return Err(fail("Mandatory 'subnet-id' parameter missing.")),
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| fail("'subnet-id' parameter is not integer."))?,
    };
    let iaid = opt_u32(m, "iaid")?.unwrap_or(0);
    let Some(kind) = m.get("identifier-type").and_then(Value::as_str) else {
        return Err(fail("No 'ip-address' provided and 'identifier-type' is either missing or not a string."));
    };
    let Some(ident) = m.get("identifier").and_then(Value::as_str) else {
        return Err(fail("No 'ip-address' provided and 'identifier' is either missing or not a string."));
    };
    let kind = match kind {
        "hw-address" => "hw-address",
        "duid" => "duid",
        "client-id" => "client-id",
        "address" => return Err(fail("No 'ip-address' provided and 'identifier-type' is address.")),
        other => {
            return Err(fail(format!(
                "Incorrect identifier type: {other}, the only supported values are: address, hw-address, duid"
            )))
        }
    };
    Ok(Query::Ident(kind, parse_hex(ident)?, subnet, iaid))
}

/// `subnets` of `leaseX-get-all`: None for every subnet.
fn subnets_arg(arguments: Option<&Value>) -> R<Option<Vec<u32>>> {
    let Some(arguments) = arguments else { return Ok(None) };
    let m = arguments.as_object().ok_or_else(|| fail("Command arguments missing or a not a map."))?;
    match m.get("subnets") {
        None => Err(fail("'subnets' parameter not specified")),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_u64().and_then(|v| u32::try_from(v).ok()))
            .collect::<Option<Vec<u32>>>()
            .map(Some)
            .ok_or_else(|| fail("listed subnet identifiers must be numbers")),
        Some(_) => Err(fail("'subnets' parameter must be a list")),
    }
}

/// `from` (None for "start") and `limit` of `leaseX-get-page`.
fn page_args(command: &str, arguments: Option<&Value>, family: &str) -> R<(Option<IpAddr>, usize)> {
    let m = map_of(arguments, &format!("no parameters specified for the {command} command"))?;
    let from = match m.get("from") {
        None => return Err(fail("'from' parameter not specified")),
        Some(Value::String(s)) if s == "start" => None,
        Some(Value::String(s)) => {
            let ip = s.parse::<IpAddr>().map_err(|_| {
                fail(format!("'from' parameter value is neither 'start' keyword nor a valid {family} address"))
            })?;
            if (family == "IPv4") != ip.is_ipv4() {
                return Err(fail(format!("'from' parameter value {s} is not an {family} address")));
            }
            Some(ip)
        }
        Some(_) => return Err(fail("'from' parameter must be a string")),
    };
    let limit = match m.get("limit") {
        None => return Err(fail("'limit' parameter not specified")),
        Some(Value::Number(n)) if !n.is_f64() => match n.as_i64() {
            Some(0) => return Err(fail("page size of retrieved leases must not be 0")),
            Some(l) if (1..=i64::from(u32::MAX)).contains(&l) => l as usize,
            _ => return Err(fail("page size of retrieved leases must not be greater than 4294967295")),
        },
        Some(_) => return Err(fail("'limit' parameter must be a number")),
    };
    Ok((from, limit))
}

/// A string parameter of `leaseX-get-by-*`.
fn by_param<'a>(arguments: Option<&'a Value>, k: &str) -> R<&'a str> {
    let m = map_of(arguments, "Command arguments missing or a not a map.")?;
    match m.get(k) {
        None => Err(fail(format!("'{k}' parameter not specified"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(fail(format!("'{k}' parameter must be a string"))),
    }
}

fn hostname_param(arguments: Option<&Value>) -> R<String> {
    let h = by_param(arguments, "hostname")?;
    if h.is_empty() {
        return Err(fail("'hostname' parameter is empty"));
    }
    Ok(h.to_lowercase())
}

/// `subnet-id` of `leaseX-wipe`; None (all subnets) when absent or 0.
fn wipe_arg(arguments: Option<&Value>) -> R<Option<u32>> {
    match arguments {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(opt_u32(m, "subnet-id")?.filter(|s| *s != 0)),
        Some(_) => Err(fail("Command arguments missing or a not a map.")),
    }
}

/// The address of `leaseX-resend-ddns`.
fn resend_addr(arguments: Option<&Value>) -> R<IpAddr> {
    let m = map_of(arguments, "Parameters missing or are not a map.")?;
    let s = match m.get("ip-address") {
        None => return Err(fail("'ip-address' parameter is missing.")),
        Some(Value::String(s)) => s,
        Some(_) => return Err(fail("'ip-address' is not a string.")),
    };
    s.parse::<IpAddr>().map_err(|_| fail(format!("'{s}' is not a valid IP address.")))
}
