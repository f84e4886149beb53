//! Kea's lease commands (Kea ARM 16.x "libdhcp_lease_cmds.so: Lease Commands"), built in:
//! `lease4-*` and `lease6-*` add, get, get-all, get-page, get-by-*, update, del, wipe,
//! resend-ddns and `lease6-bulk-apply`, acting on the running engine's lease maps. A change is
//! acknowledged only once its store commit is durable; a store failure answers result 1.
//!
//! Texts and result codes follow Kea (checked against kea-dhcp4/kea-dhcp6 2.2 with the hook
//! loaded), except that "already exists" (add) and "failed to update" (update without
//! `force-create`) answer result 4 (conflict) like later Kea versions, and parser messages
//! carry no `(<wire>:line:col)` position.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{Response, RESULT_CONFLICT, RESULT_EMPTY, RESULT_SUCCESS};
use crate::engine::admin::{AdminError, PutMode};
use crate::engine::v4::Engine4;
use crate::engine::v6::Engine6;
use crate::lease::store::ClientId;
use crate::lease::{Lease4, Lease6, LeaseState, LeaseType6};

/// The lease commands this module answers (Kea ARM 16.x "libdhcp_lease_cmds.so").
pub const COMMANDS: &[&str] = &[
    "lease4-add",
    "lease4-del",
    "lease4-get",
    "lease4-get-all",
    "lease4-get-by-client-id",
    "lease4-get-by-hostname",
    "lease4-get-by-hw-address",
    "lease4-get-page",
    "lease4-resend-ddns",
    "lease4-update",
    "lease4-wipe",
    "lease6-add",
    "lease6-bulk-apply",
    "lease6-del",
    "lease6-get",
    "lease6-get-all",
    "lease6-get-by-duid",
    "lease6-get-by-hostname",
    "lease6-get-page",
    "lease6-resend-ddns",
    "lease6-update",
    "lease6-wipe",
];

/// Answers a lease command (Kea ARM 16.x "libdhcp_lease_cmds.so"); None when `command` is not
/// one of [`COMMANDS`] or its family's service is absent (`v4` for `lease4-*`, `v6` for
/// `lease6-*`). `ddns_enabled` is the daemon's `ddns-send-updates` / D2 state for
/// `leaseX-resend-ddns`; `now` is the current Unix time in seconds.
pub async fn handle(
    v4: Option<&Arc<crate::server::v4::Shared>>,
    v6: Option<&Arc<crate::server::v6::Shared>>,
    ddns_enabled: bool,
    command: &str,
    arguments: Option<&Value>,
    now: u64,
) -> Option<Response> {
    if !COMMANDS.contains(&command) {
        return None;
    }
    let r = match (command.starts_with("lease4-"), v4, v6) {
        (true, Some(v4), _) => lease4(v4, ddns_enabled, command, arguments, now).await,
        (false, _, Some(v6)) => lease6(v6, ddns_enabled, command, arguments, now).await,
        // Kea's lease_cmds hook registers both families' commands in either daemon; the
        // other family's leases simply do not exist there.
        (true, None, Some(_)) => other_family("IPv4", command, arguments, ddns_enabled),
        (false, Some(_), None) => other_family("IPv6", command, arguments, ddns_enabled),
        _ => return None,
    };
    Some(r.unwrap_or_else(|e| e))
}

/// The answer of a daemon that has no leases (nor subnets) of `family`, as Kea gives it:
/// the arguments are checked as usual, then nothing is found.
fn other_family(family: &str, command: &str, arguments: Option<&Value>, ddns: bool) -> R<Response> {
    let op = command.split_once('-').map_or("", |(_, op)| op);
    Ok(match op {
        "get-all" => {
            subnets_arg(arguments)?;
            lease_list(family, Vec::new())
        }
        "get-by-hw-address" | "get-by-client-id" | "get-by-duid" => {
            let key = op.trim_start_matches("get-by-");
            parse_hex(by_param(arguments, key)?)?;
            lease_list(family, Vec::new())
        }
        "get-by-hostname" => {
            hostname_param(arguments)?;
            lease_list(family, Vec::new())
        }
        "get-page" => {
            page_args(command, arguments, family)?;
            page_reply(family, Vec::new())
        }
        "get" => {
            parse_query(map_of(arguments, "Parameters missing or are not a map.")?)?;
            Response::empty("Lease not found.")
        }
        "del" => {
            parse_query(map_of(arguments, "Parameters missing or are not a map.")?)?;
            Response::empty(format!("{family} lease not found."))
        }
        "wipe" => wipe_reply(family, 0, wipe_arg(arguments)?, std::iter::empty()),
        "resend-ddns" => resend_reply(ddns, false, resend_addr(arguments)?),
        "add" | "update" => {
            let missing = if op == "add" {
                "no parameters specified for the command".to_string()
            } else {
                format!("no parameters specified for {command} command")
            };
            return Err(no_subnet(family, map_of(arguments, &missing)?));
        }
        "bulk-apply" => {
            let m = map_of(arguments, "Command arguments missing or a not a map.")?;
            let entries = |k: &str| m.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
            if let Some(l) = entries("leases").first() {
                return Err(no_subnet(
                    family,
                    l.as_object().ok_or_else(|| fail("each entry of 'leases' must be a map"))?,
                ));
            }
            let failed_deleted: Vec<Value> = entries("deleted-leases")
                .iter()
                .filter_map(|d| d.get("ip-address").and_then(Value::as_str).and_then(|a| a.parse::<Ipv6Addr>().ok()))
                .map(|a| failed(a, LeaseType6::Na, RESULT_EMPTY, "lease not found"))
                .collect();
            let r = Response::empty(format!("Bulk apply of 0 {family} leases completed."));
            if failed_deleted.is_empty() {
                r
            } else {
                r.with_args(json!({ "failed-deleted-leases": failed_deleted }))
            }
        }
        _ => Response::new(super::RESULT_UNSUPPORTED, format!("'{command}' command not supported.")),
    })
}

/// Why a lease of a family without subnets cannot be added (Kea's checks, in its order).
fn no_subnet(family: &str, m: Args) -> Response {
    let parsed = req_str(m, "ip-address").and_then(|s| match family {
        "IPv6" => lease_addr6(s).map(IpAddr::V6),
        _ => lease_addr4(s).map(IpAddr::V4),
    });
    let address = match parsed {
        Ok(a) => a,
        Err(e) => return e,
    };
    match opt_u32(m, "subnet-id") {
        Err(e) => e,
        Ok(None | Some(0)) => {
            fail(format!("subnet-id not specified and failed to find a subnet for address {address}"))
        }
        Ok(Some(id)) => {
            fail(format!("Invalid subnet-id: No {family} subnet with subnet-id={id} currently configured."))
        }
    }
}

/// Kea's default `valid-lifetime` (7200 s, v4 and v6), for a subnet whose scope sets none.
const KEA_DEFAULT_VALID: u32 = 7200;

type Args<'a> = &'a Map<String, Value>;
type Shared4 = crate::server::v4::Shared;
type Shared6 = crate::server::v6::Shared;
type R<T> = Result<T, Response>;

fn fail(text: impl Into<String>) -> Response {
    Response::error(text)
}

/// The arguments as a map, or `missing` as result 1.
fn map_of<'a>(arguments: Option<&'a Value>, missing: &str) -> R<Args<'a>> {
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

fn req_str<'a>(m: Args<'a>, k: &str) -> R<&'a str> {
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

fn opt_u32(m: Args, k: &str) -> R<Option<u32>> {
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
fn parse_hex(text: &str) -> R<Vec<u8>> {
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

/// `aa:bb:cc`, lower case, as Kea prints hardware addresses, client ids and DUIDs.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn parse_ip(s: &str) -> R<IpAddr> {
    s.parse::<IpAddr>().map_err(|_| {
        fail(format!("Failed to convert '{s}' to address: Failed to convert string to address '{s}': Invalid argument"))
    })
}

fn lease_addr4(s: &str) -> R<Ipv4Addr> {
    match parse_ip(s)? {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(fail(format!("Non-IPv4 address specified: {s}"))),
    }
}

fn lease_addr6(s: &str) -> R<Ipv6Addr> {
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

fn type_name(t: LeaseType6) -> &'static str {
    match t {
        LeaseType6::Na => "IA_NA",
        LeaseType6::Pd => "IA_PD",
    }
}

/// The fields lease4 and lease6 parse alike (Kea's `LeaseParser`).
struct Common {
    cltt: u64,
    valid: u32,
    fqdn_fwd: bool,
    fqdn_rev: bool,
    hostname: String,
    state: LeaseState,
    user_context: Option<String>,
    pool_id: u32,
}

fn parse_common(m: Args, addr: &str, default_valid: u32, now: u64) -> R<Common> {
    let valid = opt_u32(m, "valid-lft")?.unwrap_or(default_valid);
    let cltt = match opt_int(m, "expire")? {
        None => now,
        Some(e) if e <= 0 => return Err(fail(format!("expiration time must be positive for address {addr}"))),
        Some(e) if (e as u64) < u64::from(valid) => {
            return Err(fail(format!("expiration time must be greater than valid lifetime for address {addr}")))
        }
        Some(e) => e as u64 - u64::from(valid),
    };
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
    Ok(Common { cltt, valid, fqdn_fwd, fqdn_rev, hostname, state, user_context, pool_id })
}

fn parse_lease4(e: &Engine4, m: Args, now: u64) -> R<Lease4> {
    let addr_text = req_str(m, "ip-address")?;
    let address = lease_addr4(addr_text)?;
    let cfg = e.config();
    let subnet = match opt_u32(m, "subnet-id")? {
        None | Some(0) => {
            let id = e.subnet_of(address).ok_or_else(|| {
                fail(format!("subnet-id not specified and failed to find a subnet for address {address}"))
            })?;
            cfg.subnets.iter().find(|s| s.id == id)
        }
        Some(id) => {
            let s = cfg.subnets.iter().find(|s| s.id == id).ok_or_else(|| {
                fail(format!("Invalid subnet-id: No IPv4 subnet with subnet-id={id} currently configured."))
            })?;
            if !s.prefix.contains(&address) {
                return Err(fail(format!(
                    "The address {address} does not belong to subnet {}, subnet-id={id}",
                    s.prefix
                )));
            }
            Some(s)
        }
    };
    let Some(subnet) = subnet else { return Err(fail("no subnet")) };
    let hwaddr = parse_hex(req_str(m, "hw-address")?)?;
    let client_id = match opt_str(m, "client-id")? {
        Some(c) => Some(parse_hex(c)?).filter(|c| !c.is_empty()),
        None => None,
    };
    let default_valid = subnet.params.valid.default.unwrap_or(KEA_DEFAULT_VALID);
    let c = parse_common(m, &address.to_string(), default_valid, now)?;
    Ok(Lease4 {
        address,
        hwaddr,
        client_id,
        valid_lifetime: c.valid,
        cltt: c.cltt,
        subnet_id: subnet.id,
        pool_id: c.pool_id,
        fqdn_fwd: c.fqdn_fwd,
        fqdn_rev: c.fqdn_rev,
        hostname: c.hostname,
        state: c.state,
        user_context: c.user_context,
    })
}

fn parse_lease6(e: &Engine6, m: Args, now: u64) -> R<Lease6> {
    let addr_text = req_str(m, "ip-address")?;
    let address = lease_addr6(addr_text)?;
    let ty = match opt_str(m, "type")? {
        Some(t) => lease_type(t)?,
        None => LeaseType6::Na,
    };
    let cfg = e.config();
    let subnet = match opt_u32(m, "subnet-id")? {
        None | Some(0) => {
            if ty == LeaseType6::Pd {
                return Err(fail(
                    "Subnet-id is 0 or not specified. This is allowed for address leases only, not prefix leases.",
                ));
            }
            let id = e.subnet_of(address).ok_or_else(|| {
                fail(format!("subnet-id not specified and failed to find a subnet for address {address}"))
            })?;
            cfg.subnets.iter().find(|s| s.id == id)
        }
        Some(id) => {
            let s = cfg.subnets.iter().find(|s| s.id == id).ok_or_else(|| {
                fail(format!("Invalid subnet-id: No IPv6 subnet with subnet-id={id} currently configured."))
            })?;
            if ty == LeaseType6::Na && !s.prefix.trunc().contains(&address) {
                return Err(fail(format!(
                    "The address {address} does not belong to subnet {}, subnet-id={id}",
                    s.prefix
                )));
            }
            Some(s)
        }
    };
    let Some(subnet) = subnet else { return Err(fail("no subnet")) };
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
    let default_valid = subnet.params.valid.default.unwrap_or(KEA_DEFAULT_VALID);
    let c = parse_common(m, &address.to_string(), default_valid, now)?;
    // Kea's LeaseParser defaults the preferred lifetime to the valid one.
    let preferred = opt_u32(m, "preferred-lft")?.unwrap_or(c.valid);
    let hwtype = if hwaddr.is_empty() { 0 } else { 1 };
    Ok(Lease6 {
        address,
        prefix_len,
        lease_type: ty,
        duid,
        iaid,
        valid_lifetime: c.valid,
        preferred_lifetime: preferred,
        cltt: c.cltt,
        subnet_id: subnet.id,
        pool_id: c.pool_id,
        fqdn_fwd: c.fqdn_fwd,
        fqdn_rev: c.fqdn_rev,
        hostname: c.hostname,
        hwaddr,
        hwtype,
        hwaddr_source: 0,
        state: c.state,
        user_context: c.user_context,
    })
}

fn user_context(text: &Option<String>) -> Option<Value> {
    text.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()).filter(Value::is_object)
}

/// Kea's `Lease4::toElement`, keys in Kea's (alphabetical) order.
fn lease4_json(l: &Lease4) -> Value {
    let mut m = Map::new();
    if let Some(c) = l.client_id.as_ref().filter(|c| !c.is_empty()) {
        m.insert("client-id".into(), json!(hex(c)));
    }
    m.insert("cltt".into(), json!(l.cltt));
    m.insert("fqdn-fwd".into(), json!(l.fqdn_fwd));
    m.insert("fqdn-rev".into(), json!(l.fqdn_rev));
    m.insert("hostname".into(), json!(l.hostname));
    m.insert("hw-address".into(), json!(hex(&l.hwaddr)));
    m.insert("ip-address".into(), json!(l.address.to_string()));
    if l.pool_id != 0 {
        m.insert("pool-id".into(), json!(l.pool_id));
    }
    m.insert("state".into(), json!(l.state.code()));
    m.insert("subnet-id".into(), json!(l.subnet_id));
    if let Some(uc) = user_context(&l.user_context) {
        m.insert("user-context".into(), uc);
    }
    m.insert("valid-lft".into(), json!(l.valid_lifetime));
    Value::Object(m)
}

/// Kea's `Lease6::toElement`, keys in Kea's (alphabetical) order.
fn lease6_json(l: &Lease6) -> Value {
    let mut m = Map::new();
    m.insert("cltt".into(), json!(l.cltt));
    m.insert("duid".into(), json!(hex(&l.duid)));
    m.insert("fqdn-fwd".into(), json!(l.fqdn_fwd));
    m.insert("fqdn-rev".into(), json!(l.fqdn_rev));
    m.insert("hostname".into(), json!(l.hostname));
    if !l.hwaddr.is_empty() {
        m.insert("hw-address".into(), json!(hex(&l.hwaddr)));
    }
    m.insert("iaid".into(), json!(l.iaid));
    m.insert("ip-address".into(), json!(l.address.to_string()));
    if l.pool_id != 0 {
        m.insert("pool-id".into(), json!(l.pool_id));
    }
    m.insert("preferred-lft".into(), json!(l.preferred_lifetime));
    if l.lease_type == LeaseType6::Pd {
        m.insert("prefix-len".into(), json!(l.prefix_len));
    }
    m.insert("state".into(), json!(l.state.code()));
    m.insert("subnet-id".into(), json!(l.subnet_id));
    m.insert("type".into(), json!(type_name(l.lease_type)));
    if let Some(uc) = user_context(&l.user_context) {
        m.insert("user-context".into(), uc);
    }
    m.insert("valid-lft".into(), json!(l.valid_lifetime));
    Value::Object(m)
}

/// A settled commit's result: a store error becomes result 1.
fn stored(r: Result<(), crate::lease::store::StoreError>) -> R<()> {
    r.map_err(|e| fail(format!("unable to store the lease change: {e}")))
}

/// A failed read of the lease store: result 1.
fn unreadable(e: crate::lease::store::StoreError) -> Response {
    fail(format!("unable to read leases: {e}"))
}

/// Every durable lease (configured subnets and orphans) matching `keep`, by ascending address,
/// read through the lease store.
async fn select4(sh: &Shared4, keep: impl Fn(&Lease4) -> bool) -> R<Vec<Lease4>> {
    let mut all = sh.store().page(None, None, usize::MAX).await.map_err(unreadable)?;
    all.retain(|l| keep(l));
    Ok(all)
}

/// Every durable lease matching `keep`, by ascending address (then type), through the store.
async fn select6(sh: &Shared6, keep: impl Fn(&Lease6) -> bool) -> R<Vec<Lease6>> {
    let mut all = sh.store().page(None, None, usize::MAX).await.map_err(unreadable)?;
    all.retain(|l| keep(l));
    all.sort_by_key(|l| (l.address, l.lease_type.code()));
    Ok(all)
}

async fn find4(sh: &Shared4, addr: Ipv4Addr) -> R<Option<Lease4>> {
    sh.store().get(addr).await.map_err(unreadable)
}

async fn find6(sh: &Shared6, ty: LeaseType6, addr: Ipv6Addr) -> R<Option<Lease6>> {
    sh.store().get((ty, addr)).await.map_err(unreadable)
}

/// The client's durable leases, by ascending address.
async fn by_client4(sh: &Shared4, id: ClientId) -> R<Vec<Lease4>> {
    sh.store().by_client(&id).await.map_err(unreadable)
}

/// `{"leases": [...]}` with "N IPvX lease(s) found.", result 3 when empty.
fn lease_list(family: &str, leases: Vec<Value>) -> Response {
    let n = leases.len();
    let code = if n == 0 { RESULT_EMPTY } else { RESULT_SUCCESS };
    Response::new(code, format!("{n} {family} lease(s) found.")).with_args(json!({ "leases": leases }))
}

/// What `leaseX-get` / `leaseX-del` select by (Kea's lease_cmds `getParameters`).
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

/// The v4 lease a query designates: Ok(None) when there is none.
async fn query4(sh: &Shared4, m: Args<'_>) -> R<Option<Lease4>> {
    match parse_query(m)? {
        Query::Addr(IpAddr::V4(a)) => find4(sh, a).await,
        Query::Addr(a) => Err(fail(format!("Invalid IPv4 address specified: {a}"))),
        Query::Ident("duid", ..) => Err(fail("Query by duid is not allowed in v4.")),
        Query::Ident(kind, id, subnet, _) => {
            let client = if kind == "hw-address" { ClientId::HwAddr(id) } else { ClientId::ClientId(id) };
            Ok(by_client4(sh, client).await?.into_iter().find(|l| l.subnet_id == subnet))
        }
    }
}

/// The v6 lease a query designates: Ok(None) when there is none.
async fn query6(sh: &Shared6, m: Args<'_>) -> R<Option<Lease6>> {
    let ty = match opt_str(m, "type")? {
        Some(t) => lease_type(t)?,
        None => LeaseType6::Na,
    };
    match parse_query(m)? {
        Query::Addr(IpAddr::V6(a)) => find6(sh, ty, a).await,
        Query::Addr(a) => Err(fail(format!("Invalid IPv6 address specified: {a}"))),
        Query::Ident("duid", id, subnet, iaid) => {
            let mine = sh.store().by_client(&ClientId::Duid(id)).await.map_err(unreadable)?;
            Ok(mine.into_iter().find(|l| l.subnet_id == subnet && l.lease_type == ty && l.iaid == iaid))
        }
        Query::Ident(kind, ..) => Err(fail(format!("Query by {kind} is not allowed in v6."))),
    }
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

fn page_reply(family: &str, leases: Vec<Value>) -> Response {
    let n = leases.len();
    let code = if n == 0 { RESULT_EMPTY } else { RESULT_SUCCESS };
    Response::new(code, format!("{n} {family} lease(s) found.")).with_args(json!({ "count": n, "leases": leases }))
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

fn wipe_reply(family: &str, n: usize, subnet: Option<u32>, all: impl Iterator<Item = u32>) -> Response {
    // Kea appends " <id>" per subnet wiped: nothing at all when there is none.
    let ids: String = match subnet {
        Some(s) => format!(" {s}"),
        None => {
            let mut v: Vec<u32> = all.collect();
            v.sort_unstable();
            v.iter().map(|id| format!(" {id}")).collect()
        }
    };
    let code = if n == 0 { RESULT_EMPTY } else { RESULT_SUCCESS };
    Response::new(code, format!("Deleted {n} {family} lease(s) from subnet(s){ids}"))
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

/// DDNS is not built in: Kea's answer when updates are disabled, else an honest refusal.
fn resend_reply(ddns_enabled: bool, found: bool, addr: IpAddr) -> Response {
    if !ddns_enabled {
        fail("DDNS updating is not enabled")
    } else if !found {
        Response::empty(format!("No lease found for: {addr}"))
    } else {
        fail("DDNS is not available in this build")
    }
}

fn put_error(family: &str, e: AdminError) -> Response {
    match e {
        AdminError::Conflict(_) => Response::new(RESULT_CONFLICT, format!("{family} lease already exists.")),
        AdminError::NotFound(a) => Response::new(
            RESULT_CONFLICT,
            format!(
                "failed to update the lease with address {a} either because the lease has been deleted or it has \
                 changed in the database, in both cases a retry might succeed"
            ),
        ),
        other => fail(other.to_string()),
    }
}

async fn lease4(sh: &Shared4, ddns: bool, command: &str, arguments: Option<&Value>, now: u64) -> R<Response> {
    // Reads use a snapshot; changes run under the service's engine lock (`Shared::admin`), so a
    // configuration swap never copies the lease map in the middle of one.
    let e: &Engine4 = &sh.engine();
    const FAM: &str = "IPv4";
    Ok(match command {
        "lease4-add" | "lease4-update" => {
            let add = command == "lease4-add";
            let missing = if add {
                "no parameters specified for the command".to_string()
            } else {
                format!("no parameters specified for {command} command")
            };
            let m = map_of(arguments, &missing)?;
            let force = if add { false } else { opt_bool(m, "force-create")?.unwrap_or(false) };
            let lease = parse_lease4(e, m, now)?;
            let (addr, subnet) = (lease.address, lease.subnet_id);
            let mode = put_mode(add, force);
            let (put, _, res) = sh
                .change(|e, _| match e.admin_put(lease, mode) {
                    Ok((existed, changes)) => (Ok(existed), changes),
                    Err(err) => (Err(err), Vec::new()),
                })
                .await;
            let existed = put.map_err(|err| put_error(FAM, err))?;
            stored(res)?;
            if add {
                Response::ok(format!("Lease for address {addr}, subnet-id {subnet} added."))
            } else {
                update_reply(FAM, existed)
            }
        }
        "lease4-get" => {
            let m = map_of(arguments, "Parameters missing or are not a map.")?;
            match query4(sh, m).await? {
                Some(l) => Response::ok("IPv4 lease found.").with_args(lease4_json(&l)),
                None => Response::empty("Lease not found."),
            }
        }
        "lease4-get-all" => {
            let leases = match subnets_arg(arguments)? {
                None => select4(sh, |_| true).await?,
                Some(ids) => select4(sh, |l| ids.contains(&l.subnet_id)).await?,
            };
            lease_list(FAM, leases.iter().map(lease4_json).collect())
        }
        "lease4-get-page" => {
            let (from, limit) = page_args(command, arguments, FAM)?;
            let from = match from {
                Some(IpAddr::V4(a)) => Some(a),
                _ => None,
            };
            let leases = sh.store().page(None, from, limit).await.map_err(unreadable)?;
            page_reply(FAM, leases.iter().map(lease4_json).collect())
        }
        "lease4-get-by-hw-address" => {
            let hw = parse_hex(by_param(arguments, "hw-address")?)?;
            lease_list(FAM, by_client4(sh, ClientId::HwAddr(hw)).await?.iter().map(lease4_json).collect())
        }
        "lease4-get-by-client-id" => {
            let cid = parse_hex(by_param(arguments, "client-id")?)?;
            lease_list(FAM, by_client4(sh, ClientId::ClientId(cid)).await?.iter().map(lease4_json).collect())
        }
        "lease4-get-by-hostname" => {
            let h = hostname_param(arguments)?;
            lease_list(FAM, select4(sh, |l| l.hostname.to_lowercase() == h).await?.iter().map(lease4_json).collect())
        }
        "lease4-del" => {
            let m = map_of(arguments, "Parameters missing or are not a map.")?;
            let Some(lease) = query4(sh, m).await? else { return Ok(Response::empty("IPv4 lease not found.")) };
            let (_, changes, res) = sh.change(|e, _| ((), e.admin_delete(lease.address).into_iter().collect())).await;
            if changes.is_empty() {
                return Ok(Response::empty("IPv4 lease not found."));
            }
            stored(res)?;
            Response::ok("IPv4 lease deleted.")
        }
        "lease4-wipe" => {
            let subnet = wipe_arg(arguments)?;
            let (_, changes, res) = sh.change(|e, _| ((), e.admin_wipe(subnet))).await;
            stored(res)?;
            wipe_reply(FAM, changes.len(), subnet, e.config().subnets.iter().map(|s| s.id))
        }
        "lease4-resend-ddns" => {
            let addr = resend_addr(arguments)?;
            let IpAddr::V4(a) = addr else { return Err(fail(format!("'{addr}' is not a valid IPv4 address."))) };
            resend_reply(ddns, find4(sh, a).await?.is_some(), addr)
        }
        _ => Response::new(super::RESULT_UNSUPPORTED, format!("'{command}' command not supported.")),
    })
}

async fn lease6(sh: &Shared6, ddns: bool, command: &str, arguments: Option<&Value>, now: u64) -> R<Response> {
    let e: &Engine6 = &sh.engine();
    const FAM: &str = "IPv6";
    Ok(match command {
        "lease6-add" | "lease6-update" => {
            let add = command == "lease6-add";
            let missing = if add {
                "no parameters specified for the command".to_string()
            } else {
                format!("no parameters specified for {command} command")
            };
            let m = map_of(arguments, &missing)?;
            let force = if add { false } else { opt_bool(m, "force-create")?.unwrap_or(false) };
            let lease = parse_lease6(e, m, now)?;
            let (addr, subnet, ty, len) = (lease.address, lease.subnet_id, lease.lease_type, lease.prefix_len);
            let mode = put_mode(add, force);
            let (put, _, res) = sh
                .change(|e, _| match e.admin_put(lease, mode) {
                    Ok((existed, changes)) => (Ok(existed), changes),
                    Err(err) => (Err(err), Vec::new()),
                })
                .await;
            let existed = put.map_err(|err| put_error(FAM, err))?;
            stored(res)?;
            if add && ty == LeaseType6::Pd {
                Response::ok(format!("Lease for prefix {addr}/{len}, subnet-id {subnet} added."))
            } else if add {
                Response::ok(format!("Lease for address {addr}, subnet-id {subnet} added."))
            } else {
                update_reply(FAM, existed)
            }
        }
        "lease6-get" => {
            let m = map_of(arguments, "Parameters missing or are not a map.")?;
            match query6(sh, m).await? {
                Some(l) => Response::ok("IPv6 lease found.").with_args(lease6_json(&l)),
                None => Response::empty("Lease not found."),
            }
        }
        "lease6-get-all" => {
            let leases = match subnets_arg(arguments)? {
                None => select6(sh, |_| true).await?,
                Some(ids) => select6(sh, |l| ids.contains(&l.subnet_id)).await?,
            };
            lease_list(FAM, leases.iter().map(lease6_json).collect())
        }
        "lease6-get-page" => {
            let (from, limit) = page_args(command, arguments, FAM)?;
            let from = match from {
                Some(IpAddr::V6(a)) => Some(a),
                _ => None,
            };
            let leases = select6(sh, |l| from.is_none_or(|f| l.address > f)).await?;
            page_reply(FAM, leases.iter().take(limit).map(lease6_json).collect())
        }
        "lease6-get-by-duid" => {
            let duid = parse_hex(by_param(arguments, "duid")?)?;
            let mut mine = sh.store().by_client(&ClientId::Duid(duid)).await.map_err(unreadable)?;
            mine.sort_by_key(|l| (l.address, l.lease_type.code()));
            lease_list(FAM, mine.iter().map(lease6_json).collect())
        }
        "lease6-get-by-hostname" => {
            let h = hostname_param(arguments)?;
            lease_list(FAM, select6(sh, |l| l.hostname.to_lowercase() == h).await?.iter().map(lease6_json).collect())
        }
        "lease6-del" => {
            let m = map_of(arguments, "Parameters missing or are not a map.")?;
            let Some(lease) = query6(sh, m).await? else { return Ok(Response::empty("IPv6 lease not found.")) };
            let (_, changes, res) =
                sh.change(|e, _| ((), e.admin_delete(lease.lease_type, lease.address).into_iter().collect())).await;
            if changes.is_empty() {
                return Ok(Response::empty("IPv6 lease not found."));
            }
            stored(res)?;
            Response::ok("IPv6 lease deleted.")
        }
        "lease6-wipe" => {
            let subnet = wipe_arg(arguments)?;
            let (_, changes, res) = sh.change(|e, _| ((), e.admin_wipe(subnet))).await;
            stored(res)?;
            wipe_reply(FAM, changes.len(), subnet, e.config().subnets.iter().map(|s| s.id))
        }
        "lease6-bulk-apply" => bulk_apply(sh, arguments, now).await?,
        "lease6-resend-ddns" => {
            let addr = resend_addr(arguments)?;
            let IpAddr::V6(a) = addr else { return Err(fail(format!("'{addr}' is not a valid IPv6 address."))) };
            let found = find6(sh, LeaseType6::Na, a).await?.is_some() || find6(sh, LeaseType6::Pd, a).await?.is_some();
            resend_reply(ddns, found, addr)
        }
        _ => Response::new(super::RESULT_UNSUPPORTED, format!("'{command}' command not supported.")),
    })
}

/// How `lease4/6-add` and `lease4/6-update` (with or without `force-create`) put a lease.
fn put_mode(add: bool, force: bool) -> PutMode {
    match (add, force) {
        (true, _) => PutMode::Add,
        (false, false) => PutMode::Update,
        (false, true) => PutMode::Upsert,
    }
}

/// Kea's answer to `lease4/6-update`: updated, or added by `force-create`.
fn update_reply(fam: &str, existed: bool) -> Response {
    Response::ok(format!("{fam} lease {}.", if existed { "updated" } else { "added" }))
}

/// One failed entry of `lease6-bulk-apply`'s `failed-leases` / `failed-deleted-leases`.
fn failed(addr: Ipv6Addr, ty: LeaseType6, result: i64, msg: &str) -> Value {
    json!({ "error-message": msg, "ip-address": addr.to_string(), "result": result, "type": type_name(ty) })
}

/// `lease6-bulk-apply`: every entry is parsed first (a malformed one fails the whole command
/// and changes nothing); then deletions, then creations or updates, each on its own.
async fn bulk_apply(sh: &Shared6, arguments: Option<&Value>, now: u64) -> R<Response> {
    let e: &Engine6 = &sh.engine();
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
        let l = l.as_object().ok_or_else(|| fail("each entry of 'leases' must be a map"))?;
        to_put.push(parse_lease6(e, l, now)?);
    }
    let mut failed_deleted = Vec::new();
    let mut failed_leases = Vec::new();
    // One change per entry, each committed and settled on its own, so a failure is reported
    // for exactly the entries it hit.
    let mut results: Vec<(bool, LeaseType6, Ipv6Addr, R<()>)> = Vec::new();
    for (ty, addr) in to_delete {
        let (_, changes, res) = sh.change(|e, _| ((), e.admin_delete(ty, addr).into_iter().collect())).await;
        if changes.is_empty() {
            failed_deleted.push(failed(addr, ty, RESULT_EMPTY, "lease not found"));
        } else {
            results.push((true, ty, addr, stored(res)));
        }
    }
    for lease in to_put {
        let (ty, addr) = (lease.lease_type, lease.address);
        let (put, _, res) = sh
            .change(|e, _| match e.admin_put(lease, PutMode::Upsert) {
                Ok((_, changes)) => (Ok(()), changes),
                Err(err) => (Err(err), Vec::new()),
            })
            .await;
        match put {
            Err(err) => failed_leases.push(failed(addr, ty, super::RESULT_ERROR, &err.to_string())),
            Ok(()) => results.push((false, ty, addr, stored(res))),
        }
    }
    let mut applied = 0usize;
    for (deletion, ty, addr, res) in results {
        match res {
            Ok(()) => applied += 1,
            Err(r) => {
                let entry = failed(addr, ty, super::RESULT_ERROR, &r.text.unwrap_or_default());
                if deletion {
                    failed_deleted.push(entry);
                } else {
                    failed_leases.push(entry);
                }
            }
        }
    }
    let code = if applied == 0 { RESULT_EMPTY } else { RESULT_SUCCESS };
    let r = Response::new(code, format!("Bulk apply of {applied} IPv6 leases completed."));
    let mut args = Map::new();
    if !failed_deleted.is_empty() {
        args.insert("failed-deleted-leases".into(), Value::Array(failed_deleted));
    }
    if !failed_leases.is_empty() {
        args.insert("failed-leases".into(), Value::Array(failed_leases));
    }
    Ok(if args.is_empty() { r } else { r.with_args(Value::Object(args)) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};
    use crate::server::v4::Service4;
    use crate::server::v6::Service6;
    use crate::server::ServiceOptions;
    use crate::stats::Stats;

    const NOW: u64 = 1_700_000_000;

    fn v4() -> (Arc<crate::server::v4::Shared>, Arc<Stats>, tempfile::TempDir) {
        let cfg = r#"{"Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "lease-database": {"type": "memfile", "persist": false},
            "valid-lifetime": 4000,
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10-192.0.2.100"}]},
                        {"id": 2, "subnet": "198.51.100.0/24", "valid-lifetime": 1000}]}}"#;
        let loaded = load_str("t", cfg, &LoadOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(Stats::default());
        let opts = ServiceOptions { data_dir: dir.path().into(), ..ServiceOptions::default() };
        let svc = Service4::open(Arc::new(loaded.config.dhcp4.unwrap()), opts, stats.clone()).unwrap();
        (svc.shared(), stats, dir)
    }

    fn v6() -> (Arc<crate::server::v6::Shared>, Arc<Stats>, tempfile::TempDir) {
        let cfg = r#"{"Dhcp6": {
            "interfaces-config": {"interfaces": []},
            "lease-database": {"type": "memfile", "persist": false},
            "server-id": {"type": "LL", "htype": 1, "identifier": "0a0b0c0d0e0f", "persist": false},
            "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64",
                         "pools": [{"pool": "2001:db8:1::10-2001:db8:1::100"}],
                         "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 64}]}]}}"#;
        let loaded = load_str("t", cfg, &LoadOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stats = Arc::new(Stats::default());
        let opts = ServiceOptions { data_dir: dir.path().into(), ..ServiceOptions::default() };
        let svc = Service6::open(Arc::new(loaded.config.dhcp6.unwrap()), opts, stats.clone()).unwrap();
        (svc.shared(), stats, dir)
    }

    async fn c4(s: &Arc<crate::server::v4::Shared>, cmd: &str, args: Value) -> Response {
        let args = (!args.is_null()).then_some(args);
        handle(Some(s), None, false, cmd, args.as_ref(), NOW).await.unwrap()
    }

    async fn c6(s: &Arc<crate::server::v6::Shared>, cmd: &str, args: Value) -> Response {
        let args = (!args.is_null()).then_some(args);
        handle(None, Some(s), false, cmd, args.as_ref(), NOW).await.unwrap()
    }

    fn stat(stats: &Stats, name: &str) -> i64 {
        stats.get(name).map(|s| s.value).unwrap_or(0)
    }

    fn text(r: &Response) -> &str {
        r.text.as_deref().unwrap_or("")
    }

    #[tokio::test]
    async fn routing() {
        let (s4, _, _d) = v4();
        // The other family's commands are answered as for a daemon without such leases.
        let r = handle(Some(&s4), None, false, "lease6-get-all", None, NOW).await.unwrap();
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "0 IPv6 lease(s) found."));
        let add = json!({"ip-address": "2001:db8::1", "duid": "01:02:03", "iaid": 1, "subnet-id": 1});
        let r = handle(Some(&s4), None, false, "lease6-add", Some(&add), NOW).await.unwrap();
        assert_eq!(text(&r), "Invalid subnet-id: No IPv6 subnet with subnet-id=1 currently configured.");
        let r = handle(Some(&s4), None, false, "lease6-wipe", None, NOW).await.unwrap();
        assert_eq!(text(&r), "Deleted 0 IPv6 lease(s) from subnet(s)");
        assert!(handle(Some(&s4), None, false, "config-get", None, NOW).await.is_none());
        assert!(handle(None, None, false, "lease4-get", None, NOW).await.is_none());
        assert!(COMMANDS.iter().all(|c| c.starts_with("lease4-") || c.starts_with("lease6-")));
    }

    #[tokio::test]
    async fn add_get_update_del_v4() {
        let (s, stats, _d) = v4();
        let r = c4(&s, "lease4-add", json!({"ip-address": "192.0.2.20", "hw-address": "1a:1b:1c:1d:1e:1f"})).await;
        assert_eq!((r.result, text(&r)), (0, "Lease for address 192.0.2.20, subnet-id 1 added."));
        assert_eq!(stat(&stats, "subnet[1].assigned-addresses"), 1);
        let r = c4(&s, "lease4-add", json!({"ip-address": "192.0.2.20", "hw-address": "1a:1b:1c:1d:1e:1f"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_CONFLICT, "IPv4 lease already exists."));

        let r = c4(&s, "lease4-get", json!({"ip-address": "192.0.2.20"})).await;
        assert_eq!((r.result, text(&r)), (0, "IPv4 lease found."));
        let want = json!({"cltt": NOW, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "",
            "hw-address": "1a:1b:1c:1d:1e:1f", "ip-address": "192.0.2.20", "state": 0, "subnet-id": 1,
            "valid-lft": 4000});
        assert_eq!(r.arguments.as_ref().unwrap().to_string(), want.to_string(), "keys in Kea's order");

        // Every field, with expire and the subnet's own lifetime.
        let r = c4(
            &s,
            "lease4-add",
            json!({"ip-address": "192.0.2.24", "hw-address": "1a1b1c1d1e20", "client-id": "01:02:03",
                "valid-lft": 100, "expire": 2_000_000_000u64, "fqdn-fwd": true, "fqdn-rev": true,
                "hostname": "Host.Example.org", "state": 1, "user-context": {"a": 1}}),
        )
        .await;
        assert_eq!(r.result, 0, "{r:?}");
        let r = c4(&s, "lease4-get", json!({"identifier-type": "client-id", "identifier": "01:02:03", "subnet-id": 1}))
            .await;
        let a = r.arguments.unwrap();
        assert_eq!(a["cltt"], 1_999_999_900u64);
        assert_eq!(a["hostname"], "host.example.org");
        assert_eq!(a["hw-address"], "1a:1b:1c:1d:1e:20");
        assert_eq!(a["user-context"], json!({"a": 1}));
        assert_eq!(a["state"], 1);
        let r = c4(&s, "lease4-add", json!({"ip-address": "198.51.100.5", "hw-address": "1a:1b:1c:1d:1e:21"})).await;
        assert_eq!(text(&r), "Lease for address 198.51.100.5, subnet-id 2 added.");
        let r = c4(&s, "lease4-get", json!({"ip-address": "198.51.100.5"})).await;
        assert_eq!(r.arguments.unwrap()["valid-lft"], 1000);

        // by-* lookups
        let r = c4(&s, "lease4-get-by-hw-address", json!({"hw-address": "1a:1b:1c:1d:1e:1f"})).await;
        assert_eq!((r.result, text(&r)), (0, "1 IPv4 lease(s) found."));
        let r = c4(&s, "lease4-get-by-client-id", json!({"client-id": "01:02:04"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "0 IPv4 lease(s) found."));
        assert_eq!(r.arguments, Some(json!({"leases": []})));
        let r = c4(&s, "lease4-get-by-hostname", json!({"hostname": "HOST.example.org"})).await;
        assert_eq!(r.arguments.unwrap()["leases"][0]["ip-address"], "192.0.2.24");
        let r = c4(
            &s,
            "lease4-get",
            json!({"identifier-type": "hw-address", "identifier": "00:00:00:00:00:01", "subnet-id": 1}),
        )
        .await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "Lease not found."));
        let r = c4(&s, "lease4-get", json!({"ip-address": "192.0.2.99"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "Lease not found."));

        // update
        let upd = json!({"ip-address": "192.0.2.20", "hw-address": "1a:1b:1c:1d:1e:1f", "hostname": "new.example"});
        let r = c4(&s, "lease4-update", upd).await;
        assert_eq!((r.result, text(&r)), (0, "IPv4 lease updated."));
        let r = c4(&s, "lease4-get", json!({"ip-address": "192.0.2.20"})).await;
        assert_eq!(r.arguments.unwrap()["hostname"], "new.example");
        let r = c4(&s, "lease4-update", json!({"ip-address": "192.0.2.30", "hw-address": "1a:1b:1c:1d:1e:1f"})).await;
        assert_eq!(r.result, RESULT_CONFLICT);
        assert!(text(&r).starts_with("failed to update the lease with address 192.0.2.30 either"));
        let upd = json!({"ip-address": "192.0.2.30", "hw-address": "1a:1b:1c:1d:1e:1f", "force-create": true});
        let r = c4(&s, "lease4-update", upd).await;
        assert_eq!((r.result, text(&r)), (0, "IPv4 lease added."));
        assert_eq!(stat(&stats, "subnet[1].assigned-addresses"), 3);

        // del
        let r = c4(&s, "lease4-del", json!({"ip-address": "192.0.2.30"})).await;
        assert_eq!((r.result, text(&r)), (0, "IPv4 lease deleted."));
        assert_eq!(stat(&stats, "subnet[1].assigned-addresses"), 2);
        let r = c4(&s, "lease4-del", json!({"ip-address": "192.0.2.30"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "IPv4 lease not found."));
        let del = json!({"identifier-type": "hw-address", "identifier": "1a:1b:1c:1d:1e:21", "subnet-id": 2});
        let r = c4(&s, "lease4-del", del).await;
        assert_eq!((r.result, text(&r)), (0, "IPv4 lease deleted."));
        assert_eq!(stat(&stats, "subnet[2].assigned-addresses"), 0);
    }

    #[tokio::test]
    async fn malformed_v4() {
        let (s, _, _d) = v4();
        let cases = [
            ("lease4-add", Value::Null, "no parameters specified for the command"),
            ("lease4-add", json!([1]), "no parameters specified for the command"),
            ("lease4-add", json!({"hw-address": "1a:1b:1c:1d:1e:1f"}), "missing parameter 'ip-address'"),
            ("lease4-add", json!({"ip-address": "192.0.2.22"}), "missing parameter 'hw-address'"),
            (
                "lease4-add",
                json!({"ip-address": "10.0.0.1", "hw-address": "1a:1b:1c:1d:1e:1f"}),
                "subnet-id not specified and failed to find a subnet for address 10.0.0.1",
            ),
            (
                "lease4-add",
                json!({"ip-address": "10.0.0.1", "hw-address": "1a:1b:1c:1d:1e:1f", "subnet-id": 1}),
                "The address 10.0.0.1 does not belong to subnet 192.0.2.0/24, subnet-id=1",
            ),
            (
                "lease4-add",
                json!({"ip-address": "192.0.2.21", "hw-address": "1a:1b:1c:1d:1e:1f", "subnet-id": 7}),
                "Invalid subnet-id: No IPv4 subnet with subnet-id=7 currently configured.",
            ),
            (
                "lease4-add",
                json!({"ip-address": "192.0.2.23", "hw-address": "zz"}),
                "'z' is not a valid hexadecimal digit in decoded string 'zz'",
            ),
            (
                "lease4-add",
                json!({"ip-address": "2001:db8::1", "hw-address": "1a:1b:1c:1d:1e:1f"}),
                "Non-IPv4 address specified: 2001:db8::1",
            ),
            (
                "lease4-add",
                json!({"ip-address": "192.0.2.25", "hw-address": "1a:1b:1c:1d:1e:1f", "state": 7}),
                "Invalid state value: 7, supported values are: 0 (default), 1 (declined) and 2 (expired-reclaimed)",
            ),
            (
                "lease4-add",
                json!({"ip-address": "192.0.2.25", "hw-address": "1a:1b:1c:1d:1e:1f", "valid-lft": "x"}),
                "invalid type specified for parameter 'valid-lft'",
            ),
            (
                "lease4-add",
                json!({"ip-address": "192.0.2.26", "hw-address": "1a:1b:1c:1d:1e:1f", "expire": -5}),
                "expiration time must be positive for address 192.0.2.26",
            ),
            (
                "lease4-add",
                json!({"ip-address": "192.0.2.26", "hw-address": "1a:1b:1c:1d:1e:1f", "user-context": 5}),
                "Invalid user context '5' is not a JSON map.",
            ),
            ("lease4-get", Value::Null, "Parameters missing or are not a map."),
            ("lease4-get", json!({}), "Mandatory 'subnet-id' parameter missing."),
            (
                "lease4-get",
                json!({"identifier-type": "duid", "identifier": "01:02", "subnet-id": 1}),
                "Query by duid is not allowed in v4.",
            ),
            ("lease4-get-all", json!({}), "'subnets' parameter not specified"),
            ("lease4-get-all", json!({"subnets": 5}), "'subnets' parameter must be a list"),
            ("lease4-get-all", json!({"subnets": ["a"]}), "listed subnet identifiers must be numbers"),
            ("lease4-get-page", Value::Null, "no parameters specified for the lease4-get-page command"),
            ("lease4-get-page", json!({"from": "start", "limit": 0}), "page size of retrieved leases must not be 0"),
            ("lease4-get-page", json!({"from": "start"}), "'limit' parameter not specified"),
            ("lease4-get-page", json!({"limit": 3}), "'from' parameter not specified"),
            (
                "lease4-get-page",
                json!({"from": "2001::1", "limit": 3}),
                "'from' parameter value 2001::1 is not an IPv4 address",
            ),
            ("lease4-get-page", json!({"from": "start", "limit": "x"}), "'limit' parameter must be a number"),
            ("lease4-get-by-hw-address", json!({}), "'hw-address' parameter not specified"),
            ("lease4-get-by-hostname", json!({"hostname": ""}), "'hostname' parameter is empty"),
            ("lease4-update", Value::Null, "no parameters specified for lease4-update command"),
            ("lease4-wipe", json!({"subnet-id": "x"}), "invalid type specified for parameter 'subnet-id'"),
            ("lease4-resend-ddns", json!({}), "'ip-address' parameter is missing."),
            ("lease4-resend-ddns", json!({"ip-address": "foo"}), "'foo' is not a valid IP address."),
            ("lease4-resend-ddns", json!({"ip-address": "192.0.2.1"}), "DDNS updating is not enabled"),
        ];
        for (cmd, args, want) in cases {
            let r = c4(&s, cmd, args.clone()).await;
            assert_eq!((r.result, text(&r)), (1, want), "{cmd} {args}");
        }
        let r = handle(Some(&s), None, true, "lease4-resend-ddns", Some(&json!({"ip-address": "192.0.2.1"})), NOW)
            .await
            .unwrap();
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "No lease found for: 192.0.2.1"));
        c4(&s, "lease4-add", json!({"ip-address": "192.0.2.1", "hw-address": "01:02:03:04:05:06"})).await;
        let r = handle(Some(&s), None, true, "lease4-resend-ddns", Some(&json!({"ip-address": "192.0.2.1"})), NOW)
            .await
            .unwrap();
        assert_eq!((r.result, text(&r)), (1, "DDNS is not available in this build"));
    }

    #[tokio::test]
    async fn get_all_page_and_wipe_v4() {
        let (s, stats, _d) = v4();
        let r = c4(&s, "lease4-get-page", json!({"from": "start", "limit": 2})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "0 IPv4 lease(s) found."));
        assert_eq!(r.arguments, Some(json!({"count": 0, "leases": []})));
        for a in ["192.0.2.40", "192.0.2.12", "198.51.100.3", "192.0.2.30", "198.51.100.1"] {
            let r = c4(&s, "lease4-add", json!({"ip-address": a, "hw-address": "01:02:03:04:05:06"})).await;
            assert_eq!(r.result, 0);
        }
        let r = c4(&s, "lease4-get-all", Value::Null).await;
        assert_eq!(text(&r), "5 IPv4 lease(s) found.");
        let r = c4(&s, "lease4-get-all", json!({"subnets": [2]})).await;
        assert_eq!(text(&r), "2 IPv4 lease(s) found.");
        let r = c4(&s, "lease4-get-all", json!({"subnets": [5]})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "0 IPv4 lease(s) found."));

        let mut from = "start".to_string();
        let mut seen = Vec::new();
        loop {
            let r = c4(&s, "lease4-get-page", json!({"from": from, "limit": 2})).await;
            if r.result == RESULT_EMPTY {
                break;
            }
            let a = r.arguments.clone().unwrap();
            let page: Vec<String> =
                a["leases"].as_array().unwrap().iter().map(|l| l["ip-address"].as_str().unwrap().to_string()).collect();
            assert_eq!(a["count"], page.len());
            assert_eq!(text(&r), format!("{} IPv4 lease(s) found.", page.len()));
            from = page.last().unwrap().clone();
            seen.extend(page);
        }
        assert_eq!(seen, ["192.0.2.12", "192.0.2.30", "192.0.2.40", "198.51.100.1", "198.51.100.3"]);

        let r = c4(&s, "lease4-wipe", json!({"subnet-id": 2})).await;
        assert_eq!((r.result, text(&r)), (0, "Deleted 2 IPv4 lease(s) from subnet(s) 2"));
        assert_eq!(stat(&stats, "subnet[2].assigned-addresses"), 0);
        assert_eq!(stat(&stats, "subnet[1].assigned-addresses"), 3);
        let r = c4(&s, "lease4-wipe", Value::Null).await;
        assert_eq!((r.result, text(&r)), (0, "Deleted 3 IPv4 lease(s) from subnet(s) 1 2"));
        let r = c4(&s, "lease4-wipe", json!({})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "Deleted 0 IPv4 lease(s) from subnet(s) 1 2"));
        assert_eq!(stat(&stats, "subnet[1].assigned-addresses"), 0);
    }

    #[tokio::test]
    async fn lease6_commands() {
        let (s, stats, _d) = v6();
        let add = json!({"ip-address": "2001:db8:1::20", "duid": "1a:1b:1c:1d", "iaid": 1234});
        let r = c6(&s, "lease6-add", add.clone()).await;
        assert_eq!((r.result, text(&r)), (0, "Lease for address 2001:db8:1::20, subnet-id 1 added."));
        assert_eq!(stat(&stats, "subnet[1].assigned-nas"), 1);
        let r = c6(&s, "lease6-add", add).await;
        assert_eq!((r.result, text(&r)), (RESULT_CONFLICT, "IPv6 lease already exists."));
        let pd = json!({"ip-address": "2001:db8:9::", "type": "IA_PD", "prefix-len": 64, "duid": "1a1b", "iaid": 1});
        let r = c6(&s, "lease6-add", pd.clone()).await;
        assert_eq!(
            text(&r),
            "Subnet-id is 0 or not specified. This is allowed for address leases only, not prefix leases."
        );
        let mut pd = pd;
        pd["subnet-id"] = json!(1);
        let r = c6(&s, "lease6-add", pd).await;
        assert_eq!((r.result, text(&r)), (0, "Lease for prefix 2001:db8:9::/64, subnet-id 1 added."));
        let r = c6(&s, "lease6-get", json!({"ip-address": "2001:db8:1::20"})).await;
        let want = json!({"cltt": NOW, "duid": "1a:1b:1c:1d", "fqdn-fwd": false, "fqdn-rev": false, "hostname": "",
            "iaid": 1234, "ip-address": "2001:db8:1::20", "preferred-lft": 7200, "state": 0, "subnet-id": 1,
            "type": "IA_NA", "valid-lft": 7200});
        assert_eq!(text(&r), "IPv6 lease found.");
        assert_eq!(r.arguments.unwrap().to_string(), want.to_string());
        let r = c6(&s, "lease6-get", json!({"ip-address": "2001:db8:9::"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "Lease not found."));
        let r = c6(&s, "lease6-get", json!({"ip-address": "2001:db8:9::", "type": "IA_PD"})).await;
        assert_eq!(r.arguments.unwrap()["prefix-len"], 64);
        let q = json!({"identifier-type": "duid", "identifier": "1a:1b:1c:1d", "iaid": 1234, "subnet-id": 1});
        let r = c6(&s, "lease6-get", q).await;
        assert_eq!(r.result, 0);
        let q = json!({"identifier-type": "hw-address", "identifier": "01", "subnet-id": 1});
        assert_eq!(text(&c6(&s, "lease6-get", q).await), "Query by hw-address is not allowed in v6.");
        let r = c6(&s, "lease6-get-by-duid", json!({"duid": "1a:1b:1c:1d"})).await;
        assert_eq!(text(&r), "1 IPv6 lease(s) found.");
        let r = c6(&s, "lease6-get-by-hostname", json!({"hostname": "x"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "0 IPv6 lease(s) found."));
        let r = c6(&s, "lease6-get-page", json!({"from": "2001:db8:1::20", "limit": 5})).await;
        assert_eq!(r.arguments.unwrap()["leases"][0]["ip-address"], "2001:db8:9::");
        let r = c6(&s, "lease6-get-page", json!({"from": "192.0.2.1", "limit": 5})).await;
        assert_eq!(text(&r), "'from' parameter value 192.0.2.1 is not an IPv6 address");

        let upd = json!({"ip-address": "2001:db8:1::20", "duid": "1a:1b:1c", "iaid": 5, "hostname": "x.y"});
        assert_eq!(text(&c6(&s, "lease6-update", upd).await), "IPv6 lease updated.");
        let upd = json!({"ip-address": "2001:db8:1::30", "duid": "1a:1b:1c", "iaid": 5, "force-create": true});
        assert_eq!(text(&c6(&s, "lease6-update", upd).await), "IPv6 lease added.");
        assert_eq!(stat(&stats, "subnet[1].assigned-nas"), 2);
        let r = c6(&s, "lease6-del", json!({"ip-address": "2001:db8:1::30"})).await;
        assert_eq!((r.result, text(&r)), (0, "IPv6 lease deleted."));
        assert_eq!(stat(&stats, "subnet[1].assigned-nas"), 1);
        let r = c6(&s, "lease6-del", json!({"ip-address": "2001:db8:1::30"})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "IPv6 lease not found."));

        let bad = [
            (json!({"ip-address": "2001:db8:1::22", "duid": "1a:1b"}), "missing parameter 'iaid'"),
            (json!({"ip-address": "2001:db8:1::22", "iaid": 1}), "missing parameter 'duid'"),
            (json!({"ip-address": "2001:db8:1::22", "iaid": 1, "duid": ""}), "Empty DUIDs are not allowed"),
            (
                json!({"ip-address": "2001:db8:1::22", "iaid": 1, "duid": "1a", "type": "foo"}),
                "Incorrect lease type: foo, the only supported values are: na, ta and pd",
            ),
            (json!({"ip-address": "192.0.2.1", "iaid": 1, "duid": "1a"}), "Non-IPv6 address specified: 192.0.2.1"),
            (
                json!({"ip-address": "2001:db8:1::23", "iaid": -1, "duid": "1a"}),
                "out of range value (-1) specified for parameter 'iaid'",
            ),
            (
                json!({"subnet-id": 1, "ip-address": "2001:db8:a::", "type": "IA_PD", "duid": "1a", "iaid": 1}),
                "missing parameter 'prefix-len'",
            ),
        ];
        for (args, want) in bad {
            let r = c6(&s, "lease6-add", args.clone()).await;
            assert_eq!((r.result, text(&r)), (1, want), "{args}");
        }

        let r = c6(&s, "lease6-wipe", json!({"subnet-id": 1})).await;
        assert_eq!((r.result, text(&r)), (0, "Deleted 2 IPv6 lease(s) from subnet(s) 1"));
        assert_eq!(stat(&stats, "subnet[1].assigned-nas"), 0);
        assert_eq!(stat(&stats, "subnet[1].assigned-pds"), 0);
    }

    #[tokio::test]
    async fn bulk_apply_v6() {
        let (s, stats, _d) = v6();
        let r = c6(&s, "lease6-bulk-apply", json!({})).await;
        assert_eq!(text(&r), "neither 'deleted-leases' nor 'leases' parameter specified");
        let r = c6(&s, "lease6-bulk-apply", json!({"leases": 5})).await;
        assert_eq!(text(&r), "the 'leases' parameter must be a list");
        let r = c6(&s, "lease6-bulk-apply", json!({"leases": []})).await;
        assert_eq!((r.result, text(&r)), (RESULT_EMPTY, "Bulk apply of 0 IPv6 leases completed."));

        // A malformed entry changes nothing.
        let args = json!({"leases": [{"subnet-id": 1, "ip-address": "2001:db8:1::50", "duid": "01:02", "iaid": 1},
                                     {"ip-address": "2001:db8:1::51"}]});
        let r = c6(&s, "lease6-bulk-apply", args).await;
        assert_eq!((r.result, text(&r)), (1, "missing parameter 'duid'"));
        assert_eq!(c6(&s, "lease6-get-all", Value::Null).await.result, RESULT_EMPTY);

        let args = json!({"leases": [{"subnet-id": 1, "ip-address": "2001:db8:1::40", "duid": "01:02", "iaid": 1},
                                     {"ip-address": "2001:db8:1::41", "duid": "01:03", "iaid": 2}]});
        let r = c6(&s, "lease6-bulk-apply", args).await;
        assert_eq!((r.result, text(&r)), (0, "Bulk apply of 2 IPv6 leases completed."));
        assert_eq!(r.arguments, None);
        assert_eq!(stat(&stats, "subnet[1].assigned-nas"), 2);

        let args = json!({"leases": [{"subnet-id": 1, "ip-address": "2001:db8:1::40", "duid": "01:02", "iaid": 7}],
                          "deleted-leases": [{"ip-address": "2001:db8:1::41"}, {"ip-address": "2001:db8:1::42"}]});
        let r = c6(&s, "lease6-bulk-apply", args).await;
        assert_eq!((r.result, text(&r)), (0, "Bulk apply of 2 IPv6 leases completed."));
        assert_eq!(
            r.arguments.unwrap().to_string(),
            json!({"failed-deleted-leases": [{"error-message": "lease not found", "ip-address": "2001:db8:1::42",
                "result": 3, "type": "IA_NA"}]})
            .to_string()
        );
        assert_eq!(stat(&stats, "subnet[1].assigned-nas"), 1);
        let r = c6(&s, "lease6-get", json!({"ip-address": "2001:db8:1::40"})).await;
        assert_eq!(r.arguments.unwrap()["iaid"], 7);
    }

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("1a:1b").unwrap(), [0x1a, 0x1b]);
        assert_eq!(parse_hex("1:2:3").unwrap(), [1, 2, 3]);
        assert_eq!(parse_hex("1a 2b").unwrap(), [0x1a, 0x2b]);
        assert_eq!(parse_hex("1a2b3").unwrap(), [0x01, 0xa2, 0xb3]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("1a::2b").is_err());
        assert!(parse_hex("123:45").is_err());
        assert_eq!(hex(&[0xab, 1]), "ab:01");
    }
}
