//! The `Dhcp4` section: subnets, pools, shared networks, reservations (Kea ARM 8.2).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use super::common::{self, HostIdentifier, OptionValue, Seen, Triplet};
use super::{list, Checker};
use crate::config::de::{Here, Loc};
use crate::config::raw;
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
    /// Global scalars with Kea's defaults.
    pub params: Params4,
    /// `echo-client-id` (default true).
    pub echo_client_id: bool,
    /// `stash-agent-options` (Kea 3.0, global): direct renewals get the relay agent
    /// information stored with their lease back (see the engine's `recover_stashed_rai`).
    pub stash_agent_options: bool,
    /// `compatibility.ignore-rai-link-selection` (Kea 3.0): the RAI link-selection
    /// sub-option does not select the subnet.
    pub ignore_rai_link_selection: bool,
    /// `compatibility.exclude-first-last-24` (Kea 3.0): addresses ending in .0 or .255 are
    /// not handed out from pools.
    pub exclude_first_last_24: bool,
    /// `host-reservation-identifiers` in lookup order.
    pub host_reservation_identifiers: Vec<String>,
    /// `interfaces-config.dhcp-socket-type` is `raw` (the default) rather than `udp`.
    pub raw_sockets: bool,
    /// What the DHCPv4 and DHCPv6 daemons have alike (hooks, lease database, control
    /// channels, threads, queue, timers).
    pub daemon: common::Daemon,
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
    /// A section's `expired-leases-processing` with Kea's defaults.
    pub(crate) fn read(c: &mut Checker, e: Option<&raw::common::ExpiredLeasesProcessing>) -> ExpiredLeases {
        let mut get = |key: &str, value: fn(&raw::common::ExpiredLeasesProcessing) -> Option<i64>, def: u32| {
            e.and_then(|e| common::u32_of(c, &e.loc, key, value(e))).unwrap_or(def)
        };
        ExpiredLeases {
            reclaim_timer_wait_time: get("reclaim-timer-wait-time", |e| e.reclaim_timer_wait_time, 10),
            flush_reclaimed_timer_wait_time: get(
                "flush-reclaimed-timer-wait-time",
                |e| e.flush_reclaimed_timer_wait_time,
                25,
            ),
            hold_reclaimed_time: get("hold-reclaimed-time", |e| e.hold_reclaimed_time, 3600),
            max_reclaim_leases: get("max-reclaim-leases", |e| e.max_reclaim_leases, 100),
            max_reclaim_time: get("max-reclaim-time", |e| e.max_reclaim_time, 250),
            unwarned_reclaim_cycles: get("unwarned-reclaim-cycles", |e| e.unwarned_reclaim_cycles, 5),
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

/// Parses Kea's `prefix/len` subnet text (the value at `at`), keeping the host bits as Kea
/// does.
fn parse_subnet(c: &mut Checker, at: Here, text: &str) -> Option<Ipv4Net> {
    let Some((addr, len)) = text.split_once('/') else {
        c.err(at, format!("subnet configuration failed: Invalid subnet syntax (prefix/len expected): {text}"));
        return None;
    };
    let Ok(addr) = addr.trim().parse::<Ipv4Addr>() else {
        c.err(at, format!("subnet configuration failed: '{addr}' is not a valid IPv4 address"));
        return None;
    };
    match len.trim().parse::<u8>().ok().and_then(|l| Ipv4Net::new(addr, l).ok()) {
        Some(n) => Some(n),
        None => {
            c.err(at, format!("subnet configuration failed: Invalid prefix length specified for subnet: {len}"));
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

/// The scalars every DHCPv4 scope may set: global, shared network and subnet (Kea ARM
/// 8.2.17 "Shared Networks"), read from any of the three raw maps by [`scope4!`].
struct Scope4<'a> {
    loc: &'a Loc,
    valid: (Option<i64>, Option<i64>, Option<i64>),
    renew_timer: Option<i64>,
    rebind_timer: Option<i64>,
    calculate_tee_times: Option<bool>,
    t1_percent: Option<f64>,
    t2_percent: Option<f64>,
    authoritative: Option<bool>,
    match_client_id: Option<bool>,
    next_server: Option<&'a str>,
    server_hostname: Option<&'a str>,
    boot_file_name: Option<&'a str>,
    allocator: Option<&'a str>,
    reservation_mode: Option<&'a str>,
    reservations: (Option<bool>, Option<bool>, Option<bool>),
    cache_threshold: Option<f64>,
    cache_max_age: Option<i64>,
    store_extended_info: Option<bool>,
    adaptive_threshold: Option<f64>,
    hostname_chars: (Option<&'a str>, Option<&'a str>),
}

/// The [`Scope4`] of a raw `Dhcp4`, `SharedNetwork4` or `Subnet4`.
macro_rules! scope4 {
    ($r:expr) => {{
        let r = $r;
        Scope4 {
            loc: &r.loc,
            valid: (r.min_valid_lifetime, r.valid_lifetime, r.max_valid_lifetime),
            renew_timer: r.renew_timer,
            rebind_timer: r.rebind_timer,
            calculate_tee_times: r.calculate_tee_times,
            t1_percent: r.t1_percent,
            t2_percent: r.t2_percent,
            authoritative: r.authoritative,
            match_client_id: r.match_client_id,
            next_server: r.next_server.as_deref(),
            server_hostname: r.server_hostname.as_deref(),
            boot_file_name: r.boot_file_name.as_deref(),
            allocator: r.allocator.as_deref(),
            reservation_mode: r.reservation_mode.as_deref(),
            reservations: (r.reservations_global, r.reservations_in_subnet, r.reservations_out_of_pool),
            cache_threshold: r.cache_threshold,
            cache_max_age: r.cache_max_age,
            store_extended_info: r.store_extended_info,
            adaptive_threshold: r.adaptive_lease_time_threshold,
            hostname_chars: (r.hostname_char_set.as_deref(), r.hostname_char_replacement.as_deref()),
        }
    }};
}

/// Reads one scope's scalars over the inherited ones, checking them on the way.
fn scope_values(c: &mut Checker, s: &Scope4<'_>, outer: &Params4) -> Params4 {
    let t = common::triplet(c, s.loc, "valid-lifetime", s.valid);
    // Checked against the inherited values, but only where this scope sets one of the three,
    // so that a bad global triplet is reported once and not again for every subnet.
    if t != Triplet::default() {
        common::check_triplet(c, s.loc, "valid-lifetime", t.inherit(outer.valid));
    }
    let renew = common::u32_of(c, s.loc, "renew-timer", s.renew_timer);
    let rebind = common::u32_of(c, s.loc, "rebind-timer", s.rebind_timer);
    if let (Some(r1), Some(r2)) = (renew, rebind) {
        if r1 > r2 {
            c.warn(
                s.loc,
                format!("renew-timer ({r1}) is greater than rebind-timer ({r2}); the renew timer will not be sent"),
            );
        }
    }
    common::check_percents(c, s.loc, s.t1_percent, s.t2_percent);
    let next_server = match s.next_server {
        Some("") => Ipv4Addr::UNSPECIFIED,
        Some(text) => text.parse::<Ipv4Addr>().unwrap_or_else(|_| {
            c.err(s.loc.key("next-server"), format!("invalid next-server value '{text}': must be an IPv4 address"));
            outer.next_server
        }),
        None => outer.next_server,
    };
    let allocator = common::allocator(c, s.loc, "allocator", s.allocator, outer.allocator);
    let (rg, rs, ro) = common::reservation_mode(
        s.reservation_mode,
        (outer.reservations_global, outer.reservations_in_subnet, outer.reservations_out_of_pool),
    );
    let flq = allocator == AllocatorKind::Flq;
    Params4 {
        valid: t.inherit(outer.valid),
        renew_timer: renew.or(outer.renew_timer),
        rebind_timer: rebind.or(outer.rebind_timer),
        calculate_tee_times: s.calculate_tee_times.unwrap_or(outer.calculate_tee_times),
        t1_percent: s.t1_percent.unwrap_or(outer.t1_percent),
        t2_percent: s.t2_percent.unwrap_or(outer.t2_percent),
        authoritative: s.authoritative.unwrap_or(outer.authoritative),
        match_client_id: s.match_client_id.unwrap_or(outer.match_client_id),
        next_server,
        server_hostname: s.server_hostname.map_or_else(|| outer.server_hostname.clone(), str::to_string),
        boot_file_name: s.boot_file_name.map_or_else(|| outer.boot_file_name.clone(), str::to_string),
        reservations_global: s.reservations.0.unwrap_or(rg),
        reservations_in_subnet: s.reservations.1.unwrap_or(rs),
        reservations_out_of_pool: s.reservations.2.unwrap_or(ro),
        cache_threshold: common::cache_threshold(c, s.loc, s.cache_threshold, outer.cache_threshold),
        cache_max_age: common::u32_of(c, s.loc, "cache-max-age", s.cache_max_age).or(outer.cache_max_age),
        store_extended_info: s.store_extended_info.unwrap_or(outer.store_extended_info),
        adaptive_threshold: common::adaptive_threshold(c, s.loc, s.adaptive_threshold, outer.adaptive_threshold, flq),
        hostname_chars: common::hostname_chars(c, s.loc, s.hostname_chars, &outer.hostname_chars),
        allocator,
    }
}

struct Ctx {
    reg: OptionDefRegistry,
    ids: common::SubnetIds,
    prefixes: Seen<Ipv4Net>,
    ip_unique: bool,
    subnets: Vec<Subnet4>,
}

/// An optional IPv4 address text (the key `key` of the map at `at`): empty is none, and
/// anything else must parse.
fn opt_addr(c: &mut Checker, at: &Loc, key: &str, text: Option<&str>) -> Option<Ipv4Addr> {
    let text = text.filter(|t| !t.is_empty())?;
    let a = text.parse().ok();
    if a.is_none() {
        c.err(at.key(key), format!("{key} must be an IPv4 address"));
    }
    a
}

/// A reservation in Kea's host JSON for subnet `subnet_id` (0: global), checked against the
/// running configuration as a configured one is (Kea ARM host_cmds, hosts databases).
pub fn reservation_from_json(cfg: &Dhcp4, subnet_id: u32, host: &serde_json::Value) -> Result<Reservation4, String> {
    let subnet = cfg.subnets.iter().find(|s| s.id == subnet_id).map(|s| s.prefix);
    super::host_from_json(host, |c, r: &raw::dhcp4::Reservation4| reservation(c, r, subnet.as_ref(), &cfg.option_defs))
}

fn reservation(
    c: &mut Checker,
    r: &raw::dhcp4::Reservation4,
    subnet: Option<&Ipv4Net>,
    reg: &OptionDefRegistry,
) -> Option<Reservation4> {
    let identifier = common::reservation_identifier(
        c,
        &r.loc,
        &[
            ("hw-address", r.hw_address.as_ref()),
            ("duid", r.duid.as_ref()),
            ("circuit-id", r.circuit_id.as_ref()),
            ("client-id", r.client_id.as_ref()),
            ("flex-id", r.flex_id.as_ref()),
        ],
    );
    let ip_address = match r.ip_address.as_deref() {
        Some(text) => match text.parse::<Ipv4Addr>() {
            Ok(ip) => {
                if let Some(net) = subnet {
                    if !ip.is_unspecified() && !net.contains(&ip) {
                        c.err(
                            r.loc.key("ip-address"),
                            format!("specified reservation '{ip}' is not within the IPv4 subnet '{net}'"),
                        );
                    }
                }
                Some(ip)
            }
            Err(_) => {
                c.err(r.loc.key("ip-address"), format!("invalid reservation address '{text}'"));
                None
            }
        },
        None => None,
    };
    let next_server = opt_addr(c, &r.loc, "next-server", r.next_server.as_deref());
    let options = common::option_data(c, list(&r.option_data), reg, "dhcp4");
    Some(Reservation4 {
        identifier: identifier?,
        ip_address,
        hostname: r.hostname.clone(),
        options,
        client_classes: r.client_classes.clone().unwrap_or_default(),
        next_server,
        server_hostname: r.server_hostname.clone(),
        boot_file_name: r.boot_file_name.clone(),
    })
}

/// The reservations of one scope, checked (`subnet`: the scope's prefix, if a subnet).
fn reservations(
    c: &mut Checker,
    ctx: &Ctx,
    list: &[raw::dhcp4::Reservation4],
    subnet: Option<&Ipv4Net>,
    id: u32,
) -> Vec<Reservation4> {
    let one = |c: &mut Checker, r: &raw::dhcp4::Reservation4| reservation(c, r, subnet, &ctx.reg);
    common::reservations(c, list, ctx.ip_unique, ("IPv4", id), one, |r| {
        (&r.identifier, r.ip_address.iter().map(|ip| IpAddr::V4(*ip)).collect())
    })
}

fn pools(c: &mut Checker, ctx: &Ctx, raw_pools: &[raw::dhcp4::Pool4], prefix: Ipv4Net) -> Vec<Pool4> {
    let mut pools: Vec<Pool4> = Vec::new();
    for p in raw_pools {
        let Some(text) = p.pool.as_deref() else {
            c.err(&p.loc, "missing parameter 'pool'");
            continue;
        };
        let net = prefix.trunc();
        let taken = pools.iter().map(|o| (o.first, o.last));
        let inside = |a: Ipv4Addr| net.contains(&a);
        let range = common::pool_range(c, &p.loc, (text, parse_pool4(text)), ("V4", &prefix, &inside), taken);
        let Some((first, last)) = range else { continue };
        let options = common::option_data(c, list(&p.option_data), &ctx.reg, "dhcp4");
        let pool_id = common::u32_of(c, &p.loc, "pool-id", p.pool_id).unwrap_or(0);
        pools.push(Pool4 {
            first,
            last,
            options,
            client_classes: common::classes(&p.client_classes, &p.client_class),
            pool_id,
        });
    }
    pools
}

fn subnet(
    c: &mut Checker,
    ctx: &mut Ctx,
    v: &raw::dhcp4::Subnet4,
    outer: &Params4,
    network: Option<&str>,
    network_options: &[OptionValue],
) {
    let Some(text) = v.subnet.as_deref() else {
        c.err(&v.loc, "missing parameter 'subnet'");
        return;
    };
    let prefix = parse_subnet(c, v.loc.key("subnet"), text);
    let Some(id) = ctx.ids.assign(c, &v.loc, v.id, "IPv4") else { return };
    let Some(prefix) = prefix else { return };
    if !ctx.prefixes.first(prefix) {
        c.err(v.loc.key("subnet"), format!("subnet with the prefix of '{prefix}' already exists"));
    }
    let scope = scope_values(c, &scope4!(v), outer);
    let pools = pools(c, ctx, list(&v.pools), prefix);
    let reservations = reservations(c, ctx, list(&v.reservations), Some(&prefix.trunc()), id);
    let relay = common::relay(c, v.relay.as_ref(), "IPv4");
    if let Some(s) = v.next_server.as_deref().filter(|s| !s.is_empty() && s.parse::<Ipv4Addr>().is_err()) {
        c.err(v.loc.key("next-server"), format!("invalid next-server value '{s}'"));
    }
    if let Some(s) = v.four_o6_subnet.as_deref().filter(|s| !s.is_empty() && s.parse::<ipnet::Ipv6Net>().is_err()) {
        c.err(v.loc.key("4o6-subnet"), format!("invalid 4o6-subnet value '{s}'"));
    }
    let options = common::option_data(c, list(&v.option_data), &ctx.reg, "dhcp4");
    ctx.subnets.push(Subnet4 {
        id,
        prefix,
        shared_network: network.map(str::to_string),
        pools,
        reservations,
        options,
        network_options: network_options.to_vec(),
        params: scope,
        client_classes: common::classes(&v.client_classes, &v.client_class),
        relay,
        interface: v.interface.clone(),
    });
}

/// Builds and checks the `Dhcp4` section from its typed raw mirror.
pub(crate) fn build(c: &mut Checker, d: &raw::dhcp4::Dhcp4) -> Option<Dhcp4> {
    let errors_before = c.errors.len();
    let reg = common::option_defs(c, list(&d.option_def), OptionDefRegistry::standard_v4(), "dhcp4");
    let options = common::option_data(c, list(&d.option_data), &reg, "dhcp4");
    let classes = list(&d.client_classes);
    let keys: Vec<common::ClassKeys<'_>> = classes
        .iter()
        .map(|cl| common::ClassKeys {
            loc: &cl.loc,
            name: cl.name.as_deref(),
            option_def: Some(list(&cl.option_def)),
            option_data: list(&cl.option_data),
        })
        .collect();
    let client_classes = common::client_classes(c, &keys, &reg, "dhcp4")
        .into_iter()
        .map(|(i, options)| {
            let cl = &classes[i];
            ClientClass4 {
                name: cl.name.clone().unwrap_or_default(),
                options,
                next_server: cl.next_server.as_deref().and_then(|s| s.parse().ok()),
                server_hostname: cl.server_hostname.clone(),
                boot_file_name: cl.boot_file_name.clone(),
                valid: Triplet::of((cl.min_valid_lifetime, cl.valid_lifetime, cl.max_valid_lifetime)),
            }
        })
        .collect();
    let daemon = common::section_parts!(&mut *c, d, "kea-ring4");
    let host_reservation_identifiers = common::host_ids(
        c,
        &d.loc,
        d.host_reservation_identifiers.as_ref(),
        &["hw-address", "duid", "circuit-id", "client-id", "flex-id"],
        &["hw-address", "duid", "circuit-id", "client-id"],
    );
    let global = scope_values(c, &scope4!(d), &Params4::defaults());

    let mut ctx = Ctx {
        reg,
        ids: common::SubnetIds::new(),
        prefixes: Seen::new(),
        ip_unique: d.ip_reservations_unique.unwrap_or(true),
        subnets: Vec::new(),
    };
    // Kea 2.2 parses shared networks before the plain subnet list; auto ids follow that order.
    let mut shared_networks = Vec::new();
    let mut names = Seen::new();
    for n in list(&d.shared_networks) {
        let Some(name) = common::network_name(c, &mut names, &n.loc, n.name.as_deref()) else { continue };
        let scope = scope_values(c, &scope4!(n), &global);
        let net_options = common::option_data(c, list(&n.option_data), &ctx.reg, "dhcp4");
        let first = ctx.subnets.len();
        for s in list(&n.subnet4) {
            subnet(c, &mut ctx, s, &scope, Some(name), &net_options);
        }
        // Kea ARM 8.5: a network's interface and relay apply to its subnets.
        let net_relay: Vec<Ipv4Addr> = common::network_relay(n.relay.as_ref());
        for sub in &mut ctx.subnets[first..] {
            if sub.interface.is_none() {
                sub.interface = n.interface.clone();
            }
            if sub.relay.is_empty() {
                sub.relay = net_relay.clone();
            }
        }
        shared_networks.push(name.to_string());
    }
    for s in list(&d.subnet4) {
        subnet(c, &mut ctx, s, &global, None, &[]);
    }
    let global_res = reservations(c, &ctx, list(&d.reservations), None, 0);
    if c.errors.len() > errors_before {
        return None;
    }
    let compat = d.compatibility.as_ref();
    Some(Dhcp4 {
        subnets: ctx.subnets,
        shared_networks,
        options,
        option_defs: ctx.reg,
        client_classes,
        reservations: global_res,
        params: global,
        echo_client_id: d.echo_client_id.unwrap_or(true),
        stash_agent_options: d.stash_agent_options.unwrap_or(false),
        ignore_rai_link_selection: compat.and_then(|c| c.ignore_rai_link_selection).unwrap_or(false),
        exclude_first_last_24: compat.and_then(|c| c.exclude_first_last_24).unwrap_or(false),
        host_reservation_identifiers,
        daemon,
        raw_sockets: d
            .interfaces_config
            .as_ref()
            .and_then(|i| i.dhcp_socket_type.as_deref())
            .is_none_or(|t| t == "raw"),
    })
}
