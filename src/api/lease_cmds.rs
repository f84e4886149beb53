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

use super::command::Family;
use super::lease_cmd::{fail, LeaseCommand, LeaseSpec4, LeaseSpec6, Query4, Query6, Times, R};
use super::{Response, RESULT_CONFLICT, RESULT_EMPTY, RESULT_SUCCESS};
use crate::engine::admin::{AdminError, PutMode};
use crate::engine::v4::Engine4;
use crate::engine::v6::Engine6;
use crate::lease::store::ClientId;
use crate::lease::{Lease4, Lease6, LeaseType6};

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

/// Parses and answers a lease command (Kea ARM 16.x "libdhcp_lease_cmds.so"); None when
/// `command` is not one of [`COMMANDS`] or the daemon has no DHCP service. `ddns_enabled` is
/// the daemon's `ddns-send-updates` / D2 state for `leaseX-resend-ddns`; `now` is the current
/// Unix time in seconds.
pub async fn handle(
    v4: Option<&Arc<crate::server::v4::Shared>>,
    v6: Option<&Arc<crate::server::v6::Shared>>,
    ddns_enabled: bool,
    command: &str,
    arguments: Option<&Value>,
    now: u64,
) -> Option<Response> {
    if v4.is_none() && v6.is_none() {
        return None;
    }
    Some(match LeaseCommand::parse(command, arguments)? {
        Ok(cmd) => execute(v4, v6, ddns_enabled, &cmd, now).await?,
        Err(e) => e,
    })
}

/// Answers a checked lease command against the daemon's service; None when the daemon has
/// none. A command for the other family is answered as Kea's hook answers it there: its
/// leases (and subnets) simply do not exist.
pub async fn execute(
    v4: Option<&Arc<crate::server::v4::Shared>>,
    v6: Option<&Arc<crate::server::v6::Shared>>,
    ddns_enabled: bool,
    cmd: &LeaseCommand,
    now: u64,
) -> Option<Response> {
    let r = match (cmd.family(), v4, v6) {
        (Family::V4, Some(v4), _) => lease4(v4, ddns_enabled, cmd, now).await,
        (Family::V6, _, Some(v6)) => lease6(v6, ddns_enabled, cmd, now).await,
        (_, None, None) => return None,
        (_, _, _) => Ok(absent(cmd, ddns_enabled)),
    };
    Some(r.unwrap_or_else(|e| e))
}

/// The answer of a daemon without leases or subnets of the command's family.
fn absent(cmd: &LeaseCommand, ddns: bool) -> Response {
    let fam = family_name(cmd.family());
    match cmd {
        LeaseCommand::Put4 { lease, .. } => no_subnet(fam, IpAddr::V4(lease.address), lease.subnet_id),
        LeaseCommand::Put6 { lease, .. } => no_subnet(fam, IpAddr::V6(lease.address), lease.subnet_id),
        LeaseCommand::Get4(_) | LeaseCommand::Get6(_) => Response::empty("Lease not found."),
        LeaseCommand::Del4(_) | LeaseCommand::Del6(_) => Response::empty(format!("{fam} lease not found.")),
        LeaseCommand::GetAll(..) | LeaseCommand::GetByClient(_) | LeaseCommand::GetByHostname(..) => {
            lease_list(fam, Vec::new())
        }
        LeaseCommand::GetPage(..) => page_reply(fam, Vec::new()),
        LeaseCommand::Wipe(_, subnet) => wipe_reply(fam, 0, *subnet, std::iter::empty()),
        LeaseCommand::ResendDdns(addr) => resend_reply(ddns, false, *addr),
        LeaseCommand::BulkApply6 { deleted, leases } => {
            if let Some(l) = leases.first() {
                return no_subnet(fam, IpAddr::V6(l.address), l.subnet_id);
            }
            let failed_deleted: Vec<Value> =
                deleted.iter().map(|(ty, a)| failed(*a, *ty, RESULT_EMPTY, "lease not found")).collect();
            let r = Response::empty(format!("Bulk apply of 0 {fam} leases completed."));
            if failed_deleted.is_empty() {
                r
            } else {
                r.with_args(json!({ "failed-deleted-leases": failed_deleted }))
            }
        }
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// Why a lease of a family without subnets cannot be added (Kea's checks, in its order).
fn no_subnet(family: &str, address: IpAddr, subnet_id: Option<u32>) -> Response {
    match subnet_id {
        None | Some(0) => fail(format!("subnet-id not specified and failed to find a subnet for address {address}")),
        Some(id) => fail(format!("Invalid subnet-id: No {family} subnet with subnet-id={id} currently configured.")),
    }
}

/// Kea's default `valid-lifetime` (7200 s, v4 and v6), for a subnet whose scope sets none.
const KEA_DEFAULT_VALID: u32 = 7200;

type Shared4 = crate::server::v4::Shared;
type Shared6 = crate::server::v6::Shared;

/// `aa:bb:cc`, lower case, as Kea prints hardware addresses, client ids and DUIDs.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn type_name(t: LeaseType6) -> &'static str {
    match t {
        LeaseType6::Na => "IA_NA",
        LeaseType6::Pd => "IA_PD",
    }
}

/// The lifetime and last transmission time of a lease: `valid-lft` (else the subnet's
/// default) and `expire` (Kea's `LeaseParser`: it cannot come before the lifetime).
fn lifetime(times: Times, default_valid: u32, addr: &str, now: u64) -> R<(u32, u64)> {
    let valid = times.valid.unwrap_or(default_valid);
    let cltt = match times.expire {
        None => now,
        Some(e) if e < u64::from(valid) => {
            return Err(fail(format!("expiration time must be greater than valid lifetime for address {addr}")))
        }
        Some(e) => e - u64::from(valid),
    };
    Ok((valid, cltt))
}

/// The lease a `lease4-add` / `lease4-update` names, its subnet resolved in the running
/// configuration; errors in Kea's order.
fn resolve4(e: &Engine4, spec: &LeaseSpec4, now: u64) -> R<Lease4> {
    let address = spec.address;
    let cfg = e.config();
    let subnet = match spec.subnet_id {
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
    let (id, times) = spec.first.clone()?;
    let default_valid = subnet.params.valid.default.unwrap_or(KEA_DEFAULT_VALID);
    let (valid, cltt) = lifetime(times, default_valid, &address.to_string(), now)?;
    let d = spec.then.clone()?;
    Ok(Lease4 {
        address,
        hwaddr: id.hwaddr,
        client_id: id.client_id,
        valid_lifetime: valid,
        cltt,
        subnet_id: subnet.id,
        pool_id: d.pool_id,
        fqdn_fwd: d.fqdn_fwd,
        fqdn_rev: d.fqdn_rev,
        hostname: d.hostname,
        state: d.state,
        user_context: d.user_context,
    })
}

/// As [`resolve4`] for `lease6-add` / `lease6-update` / bulk-apply entries.
fn resolve6(e: &Engine6, spec: &LeaseSpec6, now: u64) -> R<Lease6> {
    let (address, ty) = (spec.address, spec.ty);
    let cfg = e.config();
    let subnet = match spec.subnet_id {
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
    let (id, times) = spec.first.clone()?;
    let default_valid = subnet.params.valid.default.unwrap_or(KEA_DEFAULT_VALID);
    let (valid, cltt) = lifetime(times, default_valid, &address.to_string(), now)?;
    let d = spec.then.clone()?;
    let hwtype = if id.hwaddr.is_empty() { 0 } else { 1 };
    Ok(Lease6 {
        address,
        prefix_len: id.prefix_len,
        lease_type: ty,
        duid: id.duid,
        iaid: id.iaid,
        valid_lifetime: valid,
        // Kea's LeaseParser defaults the preferred lifetime to the valid one.
        preferred_lifetime: d.preferred.unwrap_or(valid),
        cltt,
        subnet_id: subnet.id,
        pool_id: d.pool_id,
        fqdn_fwd: d.fqdn_fwd,
        fqdn_rev: d.fqdn_rev,
        hostname: d.hostname,
        hwaddr: id.hwaddr,
        hwtype,
        hwaddr_source: 0,
        state: d.state,
        user_context: d.user_context,
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

/// The v4 lease a query designates: Ok(None) when there is none.
async fn query4(sh: &Shared4, q: &Query4) -> R<Option<Lease4>> {
    match q {
        Query4::Addr(a) => find4(sh, *a).await,
        Query4::Client(client, subnet) => {
            Ok(by_client4(sh, client.clone()).await?.into_iter().find(|l| l.subnet_id == *subnet))
        }
    }
}

/// The v6 lease a query designates: Ok(None) when there is none.
async fn query6(sh: &Shared6, q: &Query6) -> R<Option<Lease6>> {
    match q {
        Query6::Addr(ty, a) => find6(sh, *ty, *a).await,
        Query6::Duid(ty, id, subnet, iaid) => {
            let mine = sh.store().by_client(&ClientId::Duid(id.clone())).await.map_err(unreadable)?;
            Ok(mine.into_iter().find(|l| l.subnet_id == *subnet && l.lease_type == *ty && l.iaid == *iaid))
        }
    }
}

fn page_reply(family: &str, leases: Vec<Value>) -> Response {
    let n = leases.len();
    let code = if n == 0 { RESULT_EMPTY } else { RESULT_SUCCESS };
    Response::new(code, format!("{n} {family} lease(s) found.")).with_args(json!({ "count": n, "leases": leases }))
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

async fn lease4(sh: &Shared4, ddns: bool, cmd: &LeaseCommand, now: u64) -> R<Response> {
    // Reads use a snapshot; changes run under the service's engine lock (`Shared::admin`), so a
    // configuration swap never copies the lease map in the middle of one.
    let e: &Engine4 = &sh.engine();
    const FAM: &str = "IPv4";
    Ok(match cmd {
        LeaseCommand::Put4 { mode, lease } => {
            let lease = resolve4(e, lease, now)?;
            let (addr, subnet) = (lease.address, lease.subnet_id);
            let mode = *mode;
            let (put, _, res) = sh
                .change(|e, _| match e.admin_put(lease, mode) {
                    Ok((existed, changes)) => (Ok(existed), changes),
                    Err(err) => (Err(err), Vec::new()),
                })
                .await;
            let existed = put.map_err(|err| put_error(FAM, err))?;
            stored(res)?;
            if mode == PutMode::Add {
                Response::ok(format!("Lease for address {addr}, subnet-id {subnet} added."))
            } else {
                update_reply(FAM, existed)
            }
        }
        LeaseCommand::Get4(q) => match query4(sh, q).await? {
            Some(l) => Response::ok("IPv4 lease found.").with_args(lease4_json(&l)),
            None => Response::empty("Lease not found."),
        },
        LeaseCommand::GetAll(_, subnets) => {
            let leases = match subnets {
                None => select4(sh, |_| true).await?,
                Some(ids) => select4(sh, |l| ids.contains(&l.subnet_id)).await?,
            };
            lease_list(FAM, leases.iter().map(lease4_json).collect())
        }
        LeaseCommand::GetPage(_, from, limit) => {
            let from = match from {
                Some(IpAddr::V4(a)) => Some(*a),
                _ => None,
            };
            let leases = sh.store().page(None, from, *limit).await.map_err(unreadable)?;
            page_reply(FAM, leases.iter().map(lease4_json).collect())
        }
        LeaseCommand::GetByClient(client) => {
            lease_list(FAM, by_client4(sh, client.clone()).await?.iter().map(lease4_json).collect())
        }
        LeaseCommand::GetByHostname(_, h) => {
            lease_list(FAM, select4(sh, |l| l.hostname.to_lowercase() == *h).await?.iter().map(lease4_json).collect())
        }
        LeaseCommand::Del4(q) => {
            let Some(lease) = query4(sh, q).await? else { return Ok(Response::empty("IPv4 lease not found.")) };
            let (_, changes, res) = sh.change(|e, _| ((), e.admin_delete(lease.address).into_iter().collect())).await;
            if changes.is_empty() {
                return Ok(Response::empty("IPv4 lease not found."));
            }
            stored(res)?;
            Response::ok("IPv4 lease deleted.")
        }
        LeaseCommand::Wipe(_, subnet) => {
            let subnet = *subnet;
            let (_, changes, res) = sh.change(|e, _| ((), e.admin_wipe(subnet))).await;
            stored(res)?;
            wipe_reply(FAM, changes.len(), subnet, e.config().subnets.iter().map(|s| s.id))
        }
        LeaseCommand::ResendDdns(addr) => {
            let found = match addr {
                IpAddr::V4(a) => find4(sh, *a).await?.is_some(),
                IpAddr::V6(_) => false,
            };
            resend_reply(ddns, found, *addr)
        }
        other => absent(other, ddns),
    })
}

async fn lease6(sh: &Shared6, ddns: bool, cmd: &LeaseCommand, now: u64) -> R<Response> {
    let e: &Engine6 = &sh.engine();
    const FAM: &str = "IPv6";
    Ok(match cmd {
        LeaseCommand::Put6 { mode, lease } => {
            let lease = resolve6(e, lease, now)?;
            let (addr, subnet, ty, len) = (lease.address, lease.subnet_id, lease.lease_type, lease.prefix_len);
            let mode = *mode;
            let (put, _, res) = sh
                .change(|e, _| match e.admin_put(lease, mode) {
                    Ok((existed, changes)) => (Ok(existed), changes),
                    Err(err) => (Err(err), Vec::new()),
                })
                .await;
            let existed = put.map_err(|err| put_error(FAM, err))?;
            stored(res)?;
            match (mode, ty) {
                (PutMode::Add, LeaseType6::Pd) => {
                    Response::ok(format!("Lease for prefix {addr}/{len}, subnet-id {subnet} added."))
                }
                (PutMode::Add, _) => Response::ok(format!("Lease for address {addr}, subnet-id {subnet} added.")),
                _ => update_reply(FAM, existed),
            }
        }
        LeaseCommand::Get6(q) => match query6(sh, q).await? {
            Some(l) => Response::ok("IPv6 lease found.").with_args(lease6_json(&l)),
            None => Response::empty("Lease not found."),
        },
        LeaseCommand::GetAll(_, subnets) => {
            let leases = match subnets {
                None => select6(sh, |_| true).await?,
                Some(ids) => select6(sh, |l| ids.contains(&l.subnet_id)).await?,
            };
            lease_list(FAM, leases.iter().map(lease6_json).collect())
        }
        LeaseCommand::GetPage(_, from, limit) => {
            let from = match from {
                Some(IpAddr::V6(a)) => Some(*a),
                _ => None,
            };
            let leases = select6(sh, |l| from.is_none_or(|f| l.address > f)).await?;
            page_reply(FAM, leases.iter().take(*limit).map(lease6_json).collect())
        }
        LeaseCommand::GetByClient(client) => {
            let mut mine = sh.store().by_client(client).await.map_err(unreadable)?;
            mine.sort_by_key(|l| (l.address, l.lease_type.code()));
            lease_list(FAM, mine.iter().map(lease6_json).collect())
        }
        LeaseCommand::GetByHostname(_, h) => {
            lease_list(FAM, select6(sh, |l| l.hostname.to_lowercase() == *h).await?.iter().map(lease6_json).collect())
        }
        LeaseCommand::Del6(q) => {
            let Some(lease) = query6(sh, q).await? else { return Ok(Response::empty("IPv6 lease not found.")) };
            let (_, changes, res) =
                sh.change(|e, _| ((), e.admin_delete(lease.lease_type, lease.address).into_iter().collect())).await;
            if changes.is_empty() {
                return Ok(Response::empty("IPv6 lease not found."));
            }
            stored(res)?;
            Response::ok("IPv6 lease deleted.")
        }
        LeaseCommand::Wipe(_, subnet) => {
            let subnet = *subnet;
            let (_, changes, res) = sh.change(|e, _| ((), e.admin_wipe(subnet))).await;
            stored(res)?;
            wipe_reply(FAM, changes.len(), subnet, e.config().subnets.iter().map(|s| s.id))
        }
        LeaseCommand::BulkApply6 { deleted, leases } => bulk_apply(sh, deleted, leases, now).await?,
        LeaseCommand::ResendDdns(addr) => {
            let found = match addr {
                IpAddr::V6(a) => {
                    find6(sh, LeaseType6::Na, *a).await?.is_some() || find6(sh, LeaseType6::Pd, *a).await?.is_some()
                }
                IpAddr::V4(_) => false,
            };
            resend_reply(ddns, found, *addr)
        }
        other => absent(other, ddns),
    })
}

fn update_reply(fam: &str, existed: bool) -> Response {
    Response::ok(format!("{fam} lease {}.", if existed { "updated" } else { "added" }))
}

/// One failed entry of `lease6-bulk-apply`'s `failed-leases` / `failed-deleted-leases`.
fn failed(addr: Ipv6Addr, ty: LeaseType6, result: i64, msg: &str) -> Value {
    json!({ "error-message": msg, "ip-address": addr.to_string(), "result": result, "type": type_name(ty) })
}

/// `lease6-bulk-apply`: every entry is resolved first (one that cannot be fails the whole
/// command and changes nothing); then deletions, then creations or updates, each on its own.
async fn bulk_apply(sh: &Shared6, deleted: &[(LeaseType6, Ipv6Addr)], leases: &[LeaseSpec6], now: u64) -> R<Response> {
    let e: &Engine6 = &sh.engine();
    let to_delete = deleted.to_vec();
    let mut to_put = Vec::new();
    for l in leases {
        to_put.push(resolve6(e, l, now)?);
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
    use crate::api::lease_cmd::parse_hex;
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
