//! The `Dhcp4` section: subnets, pools, shared networks, reservations (Kea ARM 8.2).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::common::{self, HookLibrary, HostIdentifier, LeaseDatabase, OptionValue, Seen, Triplet};
use super::{Checker, ControlSocket, V};
use crate::wire::optdef::OptionDefRegistry;

/// Kea's default `valid-lifetime` (GLOBAL4_DEFAULTS).
pub const DEFAULT_VALID_LIFETIME: u32 = 7200;

/// The validated `Dhcp4` section.
#[derive(Debug, Clone)]
pub struct Dhcp4 {
    /// Every subnet, those inside shared networks included (Kea ARM 8.2.5).
    pub subnets: Vec<Subnet4>,
    /// Shared network names (Kea ARM 8.2.23).
    pub shared_networks: Vec<String>,
    /// Global `option-data`.
    pub options: Vec<OptionValue>,
    /// Standard plus `option-def` definitions.
    pub option_defs: OptionDefRegistry,
    /// Client class names in configuration order.
    pub client_classes: Vec<String>,
    /// Global reservations (`Dhcp4.reservations`).
    pub reservations: Vec<Reservation4>,
    /// Built-in hook functions enabled by `hooks-libraries`.
    pub hooks: Vec<HookLibrary>,
    /// `interfaces-config.interfaces`.
    pub interfaces: Vec<String>,
    /// `lease-database` (memfile by default).
    pub lease_database: LeaseDatabase,
    /// Control channels.
    pub control_sockets: Vec<ControlSocket>,
    /// Global valid-lifetime triplet with Kea's default.
    pub valid_lifetime: Triplet,
    /// `dhcp-ddns.enable-updates`.
    pub ddns_enabled: bool,
}

/// A validated `subnet4` entry (Kea ARM 8.2.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet4 {
    /// `id` (assigned like Kea 2.2 when absent).
    pub id: u32,
    /// `subnet`
    pub prefix: Ipv4Net,
    /// Name of the enclosing shared network.
    pub shared_network: Option<String>,
    /// `pools`
    pub pools: Vec<Pool4>,
    /// `reservations`
    pub reservations: Vec<Reservation4>,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// valid-lifetime after inheritance (subnet, shared network, global, default).
    pub valid_lifetime: Triplet,
    /// `renew-timer` after inheritance.
    pub renew_timer: Option<u32>,
    /// `rebind-timer` after inheritance.
    pub rebind_timer: Option<u32>,
    /// `relay.ip-addresses`
    pub relay: Vec<Ipv4Addr>,
    /// `interface`
    pub interface: Option<String>,
}

/// An address range `first - last` inside its subnet (Kea ARM 8.2.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool4 {
    /// First address.
    pub first: Ipv4Addr,
    /// Last address.
    pub last: Ipv4Addr,
    /// Pool `option-data`.
    pub options: Vec<OptionValue>,
    /// `client-classes` (3.0) or `client-class` (2.x) guard.
    pub client_classes: Vec<String>,
    /// `pool-id`
    pub pool_id: u32,
}

/// A host reservation (Kea ARM 8.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation4 {
    /// The identifier it matches.
    pub identifier: HostIdentifier,
    /// `ip-address`
    pub ip_address: Option<Ipv4Addr>,
    /// `hostname`
    pub hostname: Option<String>,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// `client-classes`
    pub client_classes: Vec<String>,
}

/// Parses `a.b.c.d - e.f.g.h` or `a.b.c.d/len` (Kea ARM 8.2.6).
pub fn parse_pool4(s: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if let Some((a, b)) = s.split_once('-') {
        let first: Ipv4Addr = a.trim().parse().ok()?;
        let last: Ipv4Addr = b.trim().parse().ok()?;
        return Some((first, last));
    }
    let net: Ipv4Net = s.trim().parse().ok()?;
    Some((net.network(), net.broadcast()))
}

/// Parses Kea's `prefix/len` subnet text, keeping the host bits as Kea does.
fn parse_subnet(c: &mut Checker, v: &V<'_>) -> Option<Ipv4Net> {
    let text = v.as_str()?;
    let Some((addr, len)) = text.split_once('/') else {
        c.err(v, format!("subnet configuration failed: Invalid subnet syntax (prefix/len expected): {text}"));
        return None;
    };
    let Ok(addr) = addr.trim().parse::<Ipv4Addr>() else {
        c.err(v, format!("subnet configuration failed: '{addr}' is not a valid IPv4 address"));
        return None;
    };
    match len.trim().parse::<u8>().ok().and_then(|l| Ipv4Net::new(addr, l).ok()) {
        Some(n) => Some(n),
        None => {
            c.err(v, format!("subnet configuration failed: Invalid prefix length specified for subnet: {len}"));
            None
        }
    }
}

struct Scope {
    valid: Triplet,
    renew: Option<u32>,
    rebind: Option<u32>,
}

fn scope_values(c: &mut Checker, v: &V<'_>, outer: &Scope) -> Scope {
    let t = common::triplet(c, v, "valid-lifetime");
    // Checked against the inherited values, but only where this scope sets one of the three,
    // so that a bad global triplet is reported once and not again for every subnet.
    if t != Triplet::default() {
        common::check_triplet(c, v, "valid-lifetime", t.inherit(outer.valid));
    }
    let renew = common::u32_of(c, v, "renew-timer");
    let rebind = common::u32_of(c, v, "rebind-timer");
    if let (Some(r1), Some(r2)) = (renew, rebind) {
        if r1 > r2 {
            c.warn(
                v,
                format!("renew-timer ({r1}) is greater than rebind-timer ({r2}); the renew timer will not be sent"),
            );
        }
    }
    for key in ["t1-percent", "t2-percent"] {
        if let Some(p) = v.get(key) {
            if let Some(f) = p.as_float() {
                if !(0.0..=1.0).contains(&f) || f == 0.0 {
                    c.err(&p, format!("{key}: {f} is invalid, it must be greater than 0.0 and less than 1.0"));
                }
            }
        }
    }
    Scope { valid: t.inherit(outer.valid), renew: renew.or(outer.renew), rebind: rebind.or(outer.rebind) }
}

struct Ctx {
    reg: OptionDefRegistry,
    ids: Seen<u32>,
    prefixes: Seen<Ipv4Net>,
    next_auto_id: u32,
    ip_unique: bool,
    subnets: Vec<Subnet4>,
}

fn reservation(c: &mut Checker, r: &V<'_>, subnet: Option<&Ipv4Net>, reg: &OptionDefRegistry) -> Option<Reservation4> {
    let identifier =
        common::reservation_identifier(c, r, &["hw-address", "duid", "circuit-id", "client-id", "flex-id"]);
    let ip_address = match r.get("ip-address") {
        Some(a) => match a.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) {
            Some(ip) => {
                if let Some(net) = subnet {
                    if !ip.is_unspecified() && !net.contains(&ip) {
                        c.err(&a, format!("specified reservation '{ip}' is not within the IPv4 subnet '{net}'"));
                    }
                }
                Some(ip)
            }
            None => {
                c.err(&a, format!("invalid reservation address '{}'", a.as_str().unwrap_or("")));
                None
            }
        },
        None => None,
    };
    for key in ["next-server"] {
        if let Some(v) = r.get(key) {
            if v.as_str().is_some_and(|s| !s.is_empty() && s.parse::<Ipv4Addr>().is_err()) {
                c.err(&v, format!("{key} must be an IPv4 address"));
            }
        }
    }
    let options = common::option_data(c, r, reg, "dhcp4");
    Some(Reservation4 {
        identifier: identifier?,
        ip_address,
        hostname: r.str("hostname").map(str::to_string),
        options,
        client_classes: r.strings("client-classes"),
    })
}

/// Reservation identifiers and (with `ip-reservations-unique`) addresses are unique per subnet.
fn check_reservation_dups(c: &mut Checker, list: &[(V<'_>, Reservation4)], ip_unique: bool, subnet_id: u32) {
    let mut ids = Seen::new();
    let mut ips = Seen::new();
    for (v, r) in list {
        if !ids.first(r.identifier.clone()) {
            c.err(v, format!("failed to add new host using the {} to the IPv4 subnet id '{subnet_id}' as this host has already been added", r.identifier.kind()));
        }
        if let Some(ip) = r.ip_address.filter(|ip| !ip.is_unspecified()) {
            if ip_unique && !ips.first(ip) {
                c.err(v, format!("failed to add new host for the address {ip} to the IPv4 subnet id '{subnet_id}': there's already a reservation for this address"));
            }
        }
    }
}

fn subnet(c: &mut Checker, ctx: &mut Ctx, v: &V<'_>, outer: &Scope, network: Option<&str>) {
    let Some(sv) = v.get("subnet") else {
        c.err(v, "missing parameter 'subnet'");
        return;
    };
    let prefix = parse_subnet(c, &sv);
    let id = match v.get("id") {
        Some(idv) => match idv.as_int() {
            Some(i) if (0..=4_294_967_294).contains(&i) => i as u32,
            Some(i) => {
                c.err(&idv, format!("subnet configuration failed: The 'id' value ({i}) is not within expected range: (0 - 4294967294)"));
                return;
            }
            None => return,
        },
        None => 0,
    };
    // Kea 2.2 numbers subnets without an id 1, 2, 3... in the order it parses them.
    let id = if id == 0 {
        ctx.next_auto_id += 1;
        ctx.next_auto_id
    } else {
        id
    };
    if !ctx.ids.first(id) {
        let at = v.get("id").unwrap_or_else(|| v.clone());
        c.err(&at, format!("ID of the new IPv4 subnet '{id}' is already in use"));
    }
    let Some(prefix) = prefix else { return };
    if !ctx.prefixes.first(prefix) {
        c.err(&sv, format!("subnet with the prefix of '{prefix}' already exists"));
    }
    let scope = scope_values(c, v, outer);
    let mut pools: Vec<Pool4> = Vec::new();
    for p in v.list("pools") {
        let Some(pv) = p.get("pool") else {
            c.err(&p, "missing parameter 'pool'");
            continue;
        };
        let text = pv.as_str().unwrap_or("");
        let Some((first, last)) = parse_pool4(text) else {
            c.err(&pv, format!("invalid pool definition: {text}. There are two acceptable formats <min address-max address> or <prefix/len>"));
            continue;
        };
        if first > last {
            c.err(&pv, format!("Failed to create pool defined by: {first}-{last}"));
            continue;
        }
        let net = prefix.trunc();
        if !net.contains(&first) || !net.contains(&last) {
            c.err(&pv, format!("a pool of type V4, with the following address range: {first}-{last} does not match the prefix of a subnet: {prefix}"));
            continue;
        }
        if let Some(o) = pools.iter().find(|o| o.first <= last && first <= o.last) {
            c.err(&pv, format!("a pool of type V4, with the following address range: {first}-{last} overlaps with an existing pool in the subnet: {prefix} ({}-{})", o.first, o.last));
            continue;
        }
        let mut classes = p.strings("client-classes");
        classes.extend(p.str("client-class").map(str::to_string));
        let options = common::option_data(c, &p, &ctx.reg, "dhcp4");
        let pool_id = common::u32_of(c, &p, "pool-id").unwrap_or(0);
        pools.push(Pool4 { first, last, options, client_classes: classes, pool_id });
    }
    let mut res = Vec::new();
    for r in v.list("reservations") {
        if let Some(x) = reservation(c, &r, Some(&prefix.trunc()), &ctx.reg) {
            res.push((r, x));
        }
    }
    check_reservation_dups(c, &res, ctx.ip_unique, id);
    let mut relay = Vec::new();
    if let Some(rv) = v.get("relay") {
        let mut addrs = rv.list("ip-addresses");
        addrs.extend(rv.get("ip-address"));
        for a in addrs {
            match a.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) {
                Some(ip) => relay.push(ip),
                None => c.err(&a, format!("address {} is not a valid: IPv4address", a.as_str().unwrap_or(""))),
            }
        }
    }
    for key in ["next-server", "4o6-subnet"] {
        if let Some(x) = v.get(key) {
            let s = x.as_str().unwrap_or("");
            let ok = if key == "next-server" {
                s.is_empty() || s.parse::<Ipv4Addr>().is_ok()
            } else {
                s.is_empty() || s.parse::<ipnet::Ipv6Net>().is_ok()
            };
            if !ok {
                c.err(&x, format!("invalid {key} value '{s}'"));
            }
        }
    }
    let options = common::option_data(c, v, &ctx.reg, "dhcp4");
    ctx.subnets.push(Subnet4 {
        id,
        prefix,
        shared_network: network.map(str::to_string),
        pools,
        reservations: res.into_iter().map(|(_, r)| r).collect(),
        options,
        valid_lifetime: scope.valid,
        renew_timer: scope.renew,
        rebind_timer: scope.rebind,
        relay,
        interface: v.str("interface").map(str::to_string),
    });
}

/// Builds and checks the `Dhcp4` section.
pub(crate) fn build(c: &mut Checker, d: &V<'_>) -> Option<Dhcp4> {
    let errors_before = c.errors.len();
    let reg = common::option_defs(c, d, OptionDefRegistry::standard_v4(), "dhcp4");
    let options = common::option_data(c, d, &reg, "dhcp4");
    let client_classes = common::client_classes(c, d, &reg, "dhcp4");
    let hooks = common::hooks(c, d);
    let interfaces = common::interfaces(c, d);
    let lease_database = match d.get("lease-database") {
        Some(db) => common::database(c, &db, true),
        None => None,
    }
    .unwrap_or(LeaseDatabase {
        kind: "memfile".into(),
        name: None,
        persist: true,
        lfc_interval: 3600,
        params: serde_json::Value::Null,
    });
    if let Some(db) = d.get("hosts-database") {
        common::database(c, &db, false);
    }
    for db in d.list("hosts-databases") {
        common::database(c, &db, false);
    }
    let control_sockets = common::control_sockets(c, d);
    for id in d.strings("host-reservation-identifiers") {
        if !["hw-address", "duid", "circuit-id", "client-id", "flex-id"].contains(&id.as_str()) {
            c.err(d, format!("invalid host-reservation-identifiers entry '{id}'"));
        }
    }
    if let Some(x) = d.get("next-server") {
        let s = x.as_str().unwrap_or("");
        if !s.is_empty() && s.parse::<Ipv4Addr>().is_err() {
            c.err(&x, format!("invalid next-server value '{s}': must be an IPv4 address"));
        }
    }
    let mut ddns_enabled = false;
    if let Some(dd) = d.get("dhcp-ddns") {
        ddns_enabled = dd.bool("enable-updates").unwrap_or(false);
        for key in ["server-ip", "sender-ip"] {
            if let Some(a) = dd.get(key) {
                let s = a.as_str().unwrap_or("");
                if !s.is_empty() && s.parse::<std::net::IpAddr>().is_err() {
                    c.err(&a, format!("Failed to convert '{s}' to address"));
                }
            }
        }
        common::int_in(c, &dd, "server-port", 0, 65535);
        common::int_in(c, &dd, "sender-port", 0, 65535);
    }

    let defaults = Scope {
        valid: Triplet { default: Some(DEFAULT_VALID_LIFETIME), ..Triplet::default() },
        renew: None,
        rebind: None,
    };
    let global = scope_values(c, d, &defaults);

    let mut ctx = Ctx {
        reg,
        ids: Seen::new(),
        prefixes: Seen::new(),
        next_auto_id: 0,
        ip_unique: d.bool("ip-reservations-unique").unwrap_or(true),
        subnets: Vec::new(),
    };
    // Kea 2.2 parses shared networks before the plain subnet list; auto ids follow that order.
    let mut shared_networks = Vec::new();
    let mut names = Seen::new();
    for n in d.list("shared-networks") {
        let Some(name) = n.str("name") else {
            c.err(&n, "missing parameter 'name'");
            continue;
        };
        if !names.first(name.to_string()) {
            c.err(&n, format!("duplicate network '{name}' found in the configuration"));
            continue;
        }
        let scope = scope_values(c, &n, &global);
        common::option_data(c, &n, &ctx.reg, "dhcp4");
        for s in n.list("subnet4") {
            subnet(c, &mut ctx, &s, &scope, Some(name));
        }
        shared_networks.push(name.to_string());
    }
    for s in d.list("subnet4") {
        subnet(c, &mut ctx, &s, &global, None);
    }
    let mut global_res = Vec::new();
    for r in d.list("reservations") {
        if let Some(x) = reservation(c, &r, None, &ctx.reg) {
            global_res.push((r, x));
        }
    }
    check_reservation_dups(c, &global_res, ctx.ip_unique, 0);
    if c.errors.len() > errors_before {
        return None;
    }
    Some(Dhcp4 {
        subnets: ctx.subnets,
        shared_networks,
        options,
        option_defs: ctx.reg,
        client_classes,
        reservations: global_res.into_iter().map(|(_, r)| r).collect(),
        hooks,
        interfaces,
        lease_database,
        control_sockets,
        valid_lifetime: global.valid,
        ddns_enabled,
    })
}
