//! The `Dhcp4` section: subnets, pools, shared networks, reservations (Kea ARM 8.2).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::common::{self, HookLibrary, HostIdentifier, LeaseDatabase, OptionValue, Seen, Triplet};
use super::{Checker, ControlSocket, V};
use crate::wire::optdef::OptionDefRegistry;

/// Which address-picking strategy a pool uses (`allocator`, Kea ARM 8.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocatorKind {
    /// Walks the pool from where it last stopped.
    Iterative,
    /// Starts at a random point of the pool.
    Random,
    /// Free lease queue: hands out addresses from a queue of free ones (Kea's `flq`), so a
    /// nearly full pool costs no scan.
    Flq,
}

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
    /// Client classes in configuration order.
    pub client_classes: Vec<ClientClass4>,
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
    /// Global scalars with Kea's defaults.
    pub params: Params4,
    /// `echo-client-id` (default true).
    pub echo_client_id: bool,
    /// `decline-probation-period` in seconds (default 86400).
    pub decline_probation_period: u32,
    /// `parked-packet-limit` (default 256; 0 means no limit): packets waiting at once for
    /// their commit and post-commit stages (Kea ARM 16.12.16 "Parked-Packet Limit").
    pub parked_packet_limit: u32,
    /// Threads (and sockets) per interface, from `multi-threading`: 1 when it is off, 0 for
    /// one per core (see `common::packet_threads`).
    pub packet_threads: u32,
    /// Received packets waiting for the engine at most, the oldest dropped beyond it
    /// (0: none); see `common::packet_queue`.
    pub packet_queue: u32,
    /// `sanity-checks.lease-checks`: what loading does with leases the configuration does
    /// not place (see `lease::sanity`).
    pub lease_checks: common::LeaseChecks,
    /// `stash-agent-options` (Kea 3.0, global): direct renewals get the relay agent
    /// information stored with their lease back (see the engine's `recover_stashed_rai`).
    pub stash_agent_options: bool,
    /// `compatibility.ignore-rai-link-selection` (Kea 3.0): the RAI link-selection
    /// sub-option does not select the subnet.
    pub ignore_rai_link_selection: bool,
    /// `compatibility.exclude-first-last-24` (Kea 3.0): addresses ending in .0 or .255 are
    /// not handed out from pools.
    pub exclude_first_last_24: bool,
    /// `early-global-reservations-lookup` (Kea ARM 14.1): global reservations are looked up
    /// before subnet selection, so their classes may select the subnet.
    pub early_global_reservations_lookup: bool,
    /// `reservations-lookup-first` (Kea ARM 8.3.6): a candidate address is checked against
    /// reservations before the lease table.
    pub reservations_lookup_first: bool,
    /// `host-reservation-identifiers` in lookup order.
    pub host_reservation_identifiers: Vec<String>,
    /// `interfaces-config.dhcp-socket-type` is `raw` (the default) rather than `udp`.
    pub raw_sockets: bool,
    /// `expired-leases-processing`.
    pub expired: ExpiredLeases,
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
    /// `option-data` of the enclosing shared network.
    pub network_options: Vec<OptionValue>,
    /// Scalars after inheritance (subnet, shared network, global, default).
    pub params: Params4,
    /// `client-classes` (3.0) / `client-class` (2.x) guard of the subnet.
    pub client_classes: Vec<String>,
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
    /// `next-server`
    pub next_server: Option<Ipv4Addr>,
    /// `server-hostname`
    pub server_hostname: Option<String>,
    /// `boot-file-name`
    pub boot_file_name: Option<String>,
}

/// `expired-leases-processing` (Kea ARM 8.2.14 "Lease Reclamation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredLeases {
    /// Seconds between reclamation runs (default 10).
    pub reclaim_timer_wait_time: u32,
    /// Seconds between flushes of reclaimed leases (default 25).
    pub flush_reclaimed_timer_wait_time: u32,
    /// Seconds a reclaimed lease is kept for affinity (default 3600).
    pub hold_reclaimed_time: u32,
    /// Leases reclaimed per run at most (default 100; 0 = no limit).
    pub max_reclaim_leases: u32,
    /// Milliseconds one run may take at most (default 250; 0 = no limit).
    pub max_reclaim_time: u32,
    /// Consecutive runs that leave expired leases behind before a warning (default 5; 0:
    /// never warn).
    pub unwarned_reclaim_cycles: u32,
}

impl ExpiredLeases {
    pub(crate) fn read(c: &mut Checker, d: &V<'_>) -> ExpiredLeases {
        let e = d.get("expired-leases-processing");
        let get = |c: &mut Checker, k: &str, def: u32| e.as_ref().and_then(|e| common::u32_of(c, e, k)).unwrap_or(def);
        ExpiredLeases {
            reclaim_timer_wait_time: get(c, "reclaim-timer-wait-time", 10),
            flush_reclaimed_timer_wait_time: get(c, "flush-reclaimed-timer-wait-time", 25),
            hold_reclaimed_time: get(c, "hold-reclaimed-time", 3600),
            max_reclaim_leases: get(c, "max-reclaim-leases", 100),
            max_reclaim_time: get(c, "max-reclaim-time", 250),
            unwarned_reclaim_cycles: get(c, "unwarned-reclaim-cycles", 5),
        }
    }
}

/// A client class definition's DHCPv4 parts (Kea ARM 14).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientClass4 {
    /// `name`
    pub name: String,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// `next-server`
    pub next_server: Option<Ipv4Addr>,
    /// `server-hostname`
    pub server_hostname: Option<String>,
    /// `boot-file-name`
    pub boot_file_name: Option<String>,
    /// `valid-lifetime` triplet of the class.
    pub valid: Triplet,
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

/// The scalar parameters a subnet inherits from its shared network and the global scope
/// (Kea ARM 8.2.17 "Shared Networks": most parameters may be set at every level).
#[derive(Debug, Clone, PartialEq)]
pub struct Params4 {
    /// valid-lifetime triplet.
    pub valid: Triplet,
    /// `renew-timer` (T1).
    pub renew_timer: Option<u32>,
    /// `rebind-timer` (T2).
    pub rebind_timer: Option<u32>,
    /// `calculate-tee-times` (default false for DHCPv4).
    pub calculate_tee_times: bool,
    /// `t1-percent` (default 0.5).
    pub t1_percent: f64,
    /// `t2-percent` (default 0.875).
    pub t2_percent: f64,
    /// `authoritative` (default false).
    pub authoritative: bool,
    /// `match-client-id` (default true).
    pub match_client_id: bool,
    /// `next-server` (siaddr, default 0.0.0.0).
    pub next_server: Ipv4Addr,
    /// `server-hostname` (sname).
    pub server_hostname: String,
    /// `boot-file-name` (file).
    pub boot_file_name: String,
    /// `allocator`: iterative (default), random or flq.
    pub allocator: AllocatorKind,
    /// `reservations-global` (default false).
    pub reservations_global: bool,
    /// `reservations-in-subnet` (default true).
    pub reservations_in_subnet: bool,
    /// `reservations-out-of-pool` (default false).
    pub reservations_out_of_pool: bool,
    /// `cache-threshold`: fraction of the lifetime during which a renewal reuses the lease
    /// unchanged (Kea ARM 8.2.22 "Lease Caching"); unset or 0 disables caching.
    pub cache_threshold: Option<f64>,
    /// `cache-max-age`: upper bound in seconds of a reused lease's age.
    pub cache_max_age: Option<u32>,
    /// `store-extended-info`: keep the relay agent information of the last query in the
    /// lease's user context (Kea ARM 8.2.23 "Storing Extended Lease Information").
    pub store_extended_info: bool,
    /// `adaptive-lease-time-threshold` below 1 (see `common::adaptive_threshold`).
    pub adaptive_threshold: Option<f64>,
    /// `hostname-char-set` (None: no sanitizing) and `hostname-char-replacement`.
    pub hostname_chars: (Option<common::CharSet>, String),
}

impl Params4 {
    /// Kea's global defaults (GLOBAL4_DEFAULTS).
    pub fn defaults() -> Params4 {
        Params4 {
            valid: Triplet { default: Some(DEFAULT_VALID_LIFETIME), ..Triplet::default() },
            renew_timer: None,
            rebind_timer: None,
            calculate_tee_times: false,
            t1_percent: 0.5,
            t2_percent: 0.875,
            authoritative: false,
            match_client_id: true,
            next_server: Ipv4Addr::UNSPECIFIED,
            server_hostname: String::new(),
            boot_file_name: String::new(),
            allocator: AllocatorKind::Iterative,
            reservations_global: false,
            reservations_in_subnet: true,
            reservations_out_of_pool: false,
            cache_threshold: None,
            cache_max_age: None,
            store_extended_info: false,
            adaptive_threshold: None,
            hostname_chars: (common::CharSet::new(common::CharSet::DEFAULT).ok(), String::new()),
        }
    }
}

/// Reads one scope's scalars over the inherited ones, checking them on the way.
fn scope_values(c: &mut Checker, v: &V<'_>, outer: &Params4) -> Params4 {
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
    let next_server = match v.get("next-server") {
        Some(x) => match x.as_str().unwrap_or("") {
            "" => Ipv4Addr::UNSPECIFIED,
            s => match s.parse::<Ipv4Addr>() {
                Ok(a) => a,
                Err(_) => {
                    c.err(&x, format!("invalid next-server value '{s}': must be an IPv4 address"));
                    outer.next_server
                }
            },
        },
        None => outer.next_server,
    };
    let allocator = common::allocator(c, v, "allocator", outer.allocator);
    let (rg, rs, ro) = common::reservation_mode(
        v,
        (outer.reservations_global, outer.reservations_in_subnet, outer.reservations_out_of_pool),
    );
    Params4 {
        valid: t.inherit(outer.valid),
        renew_timer: renew.or(outer.renew_timer),
        rebind_timer: rebind.or(outer.rebind_timer),
        calculate_tee_times: v.bool("calculate-tee-times").unwrap_or(outer.calculate_tee_times),
        t1_percent: v.get("t1-percent").and_then(|x| x.as_float()).unwrap_or(outer.t1_percent),
        t2_percent: v.get("t2-percent").and_then(|x| x.as_float()).unwrap_or(outer.t2_percent),
        authoritative: v.bool("authoritative").unwrap_or(outer.authoritative),
        match_client_id: v.bool("match-client-id").unwrap_or(outer.match_client_id),
        next_server,
        server_hostname: v.str("server-hostname").map_or_else(|| outer.server_hostname.clone(), str::to_string),
        boot_file_name: v.str("boot-file-name").map_or_else(|| outer.boot_file_name.clone(), str::to_string),
        reservations_global: v.bool("reservations-global").unwrap_or(rg),
        reservations_in_subnet: v.bool("reservations-in-subnet").unwrap_or(rs),
        reservations_out_of_pool: v.bool("reservations-out-of-pool").unwrap_or(ro),
        cache_threshold: common::cache_threshold(c, v, outer.cache_threshold),
        cache_max_age: common::u32_of(c, v, "cache-max-age").or(outer.cache_max_age),
        store_extended_info: v.bool("store-extended-info").unwrap_or(outer.store_extended_info),
        adaptive_threshold: common::adaptive_threshold(c, v, outer.adaptive_threshold, allocator == AllocatorKind::Flq),
        hostname_chars: common::hostname_chars(c, v, &outer.hostname_chars),
        allocator,
    }
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
        next_server: r.str("next-server").and_then(|s| s.parse().ok()),
        server_hostname: r.str("server-hostname").map(str::to_string),
        boot_file_name: r.str("boot-file-name").map(str::to_string),
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

fn subnet(
    c: &mut Checker,
    ctx: &mut Ctx,
    v: &V<'_>,
    outer: &Params4,
    network: Option<&str>,
    network_options: &[OptionValue],
) {
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
        network_options: network_options.to_vec(),
        params: scope,
        client_classes: {
            let mut cc = v.strings("client-classes");
            cc.extend(v.str("client-class").map(str::to_string));
            cc
        },
        relay,
        interface: v.str("interface").map(str::to_string),
    });
}

/// Builds and checks the `Dhcp4` section.
pub(crate) fn build(c: &mut Checker, d: &V<'_>) -> Option<Dhcp4> {
    let errors_before = c.errors.len();
    let reg = common::option_defs(c, d, OptionDefRegistry::standard_v4(), "dhcp4");
    let options = common::option_data(c, d, &reg, "dhcp4");
    let client_classes = common::client_classes(c, d, &reg, "dhcp4")
        .into_iter()
        .map(|(cl, options)| ClientClass4 {
            name: cl.str("name").unwrap_or_default().to_string(),
            options,
            next_server: cl.str("next-server").and_then(|s| s.parse().ok()),
            server_hostname: cl.str("server-hostname").map(str::to_string),
            boot_file_name: cl.str("boot-file-name").map(str::to_string),
            valid: Triplet {
                min: cl.int("min-valid-lifetime").and_then(|i| u32::try_from(i).ok()),
                default: cl.int("valid-lifetime").and_then(|i| u32::try_from(i).ok()),
                max: cl.int("max-valid-lifetime").and_then(|i| u32::try_from(i).ok()),
            },
        })
        .collect();
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

    let global = scope_values(c, d, &Params4::defaults());

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
        let net_options = common::option_data(c, &n, &ctx.reg, "dhcp4");
        let first = ctx.subnets.len();
        for s in n.list("subnet4") {
            subnet(c, &mut ctx, &s, &scope, Some(name), &net_options);
        }
        // Kea ARM 8.5: a network's interface and relay apply to its subnets.
        let net_relay: Vec<Ipv4Addr> = n
            .get("relay")
            .map(|r| {
                let mut v = r.list("ip-addresses");
                v.extend(r.get("ip-address"));
                v.iter().filter_map(|a| a.as_str().and_then(|s| s.parse().ok())).collect()
            })
            .unwrap_or_default();
        for sub in &mut ctx.subnets[first..] {
            if sub.interface.is_none() {
                sub.interface = n.str("interface").map(str::to_string);
            }
            if sub.relay.is_empty() {
                sub.relay = net_relay.clone();
            }
        }
        shared_networks.push(name.to_string());
    }
    for s in d.list("subnet4") {
        subnet(c, &mut ctx, &s, &global, None, &[]);
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
        params: global,
        echo_client_id: d.bool("echo-client-id").unwrap_or(true),
        decline_probation_period: common::u32_of(c, d, "decline-probation-period").unwrap_or(86400),
        parked_packet_limit: common::u32_of(c, d, "parked-packet-limit").unwrap_or(256),
        packet_threads: common::packet_threads(c, d),
        packet_queue: common::packet_queue(c, d, "kea-ring4"),
        lease_checks: common::LeaseChecks::read(d),
        stash_agent_options: d.bool("stash-agent-options").unwrap_or(false),
        ignore_rai_link_selection: d
            .get("compatibility")
            .and_then(|c| c.bool("ignore-rai-link-selection"))
            .unwrap_or(false),
        exclude_first_last_24: d.get("compatibility").and_then(|c| c.bool("exclude-first-last-24")).unwrap_or(false),
        early_global_reservations_lookup: d.bool("early-global-reservations-lookup").unwrap_or(false),
        reservations_lookup_first: d.bool("reservations-lookup-first").unwrap_or(false),
        host_reservation_identifiers: {
            let ids = d.strings("host-reservation-identifiers");
            if ids.is_empty() {
                ["hw-address", "duid", "circuit-id", "client-id"].iter().map(|s| s.to_string()).collect()
            } else {
                ids
            }
        },
        expired: ExpiredLeases::read(c, d),
        raw_sockets: d
            .get("interfaces-config")
            .and_then(|i| i.str("dhcp-socket-type").map(|t| t == "raw"))
            .unwrap_or(true),
        ddns_enabled,
    })
}
