//! The `Dhcp6` section: subnets, address pools, prefix delegation pools, reservations
//! (Kea ARM 9.2).

use std::net::{IpAddr, Ipv6Addr};

use ipnet::Ipv6Net;

use super::common::{self, HostIdentifier, OptionValue, Seen, Triplet};
use super::{list, AllocatorKind, Checker};
use crate::config::de::{Here, Loc};
use crate::config::raw;
use crate::wire::optdef::OptionDefRegistry;

/// Kea's default `valid-lifetime` for DHCPv6 (GLOBAL6_DEFAULTS).
pub const DEFAULT_VALID_LIFETIME: u32 = 7200;
/// Kea's default `preferred-lifetime` for DHCPv6.
pub const DEFAULT_PREFERRED_LIFETIME: u32 = 3600;

/// The validated `Dhcp6` section.
#[derive(Debug, Clone)]
pub struct Dhcp6 {
    /// Every subnet, those inside shared networks included.
    pub subnets: Vec<Subnet6>,
    /// Shared network names.
    pub shared_networks: Vec<String>,
    /// Global `option-data`.
    pub options: Vec<OptionValue>,
    /// Standard plus `option-def` definitions.
    pub option_defs: OptionDefRegistry,
    /// `client-classes` definitions, in order.
    pub client_classes: Vec<ClientClass6>,
    /// Global reservations.
    pub reservations: Vec<Reservation6>,
    /// Global scalars with Kea's defaults.
    pub params: Params6,
    /// `server-id`: how the server DUID is built and kept.
    pub server_id: ServerIdConfig,
    /// `host-reservation-identifiers` in lookup order (Kea's default: hw-address, duid).
    pub host_reservation_identifiers: Vec<String>,
    /// `relay-supplied-options`: codes of the options a relay may supply in an RSOO to be
    /// copied into the reply (RFC 6422; Kea's default: 65, ERP local domain name).
    pub relay_supplied_options: Vec<u16>,
    /// What the DHCPv4 and DHCPv6 daemons have alike (hooks, lease database, control
    /// channels, threads, queue, timers).
    pub daemon: common::Daemon,
    /// `mac-sources`, in order (Kea ARM 9.2.20 "MAC/Hardware Addresses in DHCPv6").
    pub mac_sources: Vec<MacSource>,
    /// `data-directory` (Kea 2.x): where the server DUID file and relative lease files go.
    pub data_directory: Option<String>,
}

/// Where a DHCPv6 client's hardware address may be found (`mac-sources`, Kea ARM 9.2.20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacSource {
    /// `raw`: the frame's source (not available to a UDP socket).
    Raw,
    /// `duid`: a DUID-LLT or DUID-LL.
    Duid,
    /// `ipv6-link-local`: an EUI-64 link-local source address.
    Ipv6LinkLocal,
    /// `client-link-addr-option` / `rfc6939`: relay option 79.
    ClientLinkAddrOption,
    /// `remote-id` / `rfc4649`: relay option 37.
    RemoteId,
    /// `subscriber-id` / `rfc4580`: relay option 38.
    SubscriberId,
    /// `docsis-cmts`: DOCSIS vendor option from the CMTS relay.
    DocsisCmts,
    /// `docsis-modem`: DOCSIS vendor option from the modem.
    DocsisModem,
}

impl MacSource {
    /// Kea's order for `any`, which is also the default.
    pub const ANY: [MacSource; 8] = [
        MacSource::Raw,
        MacSource::Duid,
        MacSource::Ipv6LinkLocal,
        MacSource::ClientLinkAddrOption,
        MacSource::RemoteId,
        MacSource::SubscriberId,
        MacSource::DocsisCmts,
        MacSource::DocsisModem,
    ];

    /// Kea's `hwaddr_source` bit for this source, as stored in the lease file.
    pub fn bit(self) -> u32 {
        match self {
            MacSource::Raw => 0x01,
            MacSource::Duid => 0x02,
            MacSource::Ipv6LinkLocal => 0x04,
            MacSource::ClientLinkAddrOption => 0x08,
            MacSource::RemoteId => 0x10,
            MacSource::SubscriberId => 0x20,
            MacSource::DocsisCmts => 0x40,
            MacSource::DocsisModem => 0x80,
        }
    }

    fn parse(s: &str) -> Option<&'static [MacSource]> {
        Some(match s {
            "any" => &Self::ANY,
            "raw" => &[MacSource::Raw],
            "duid" => &[MacSource::Duid],
            "ipv6-link-local" => &[MacSource::Ipv6LinkLocal],
            "client-link-addr-option" | "rfc6939" => &[MacSource::ClientLinkAddrOption],
            "remote-id" | "rfc4649" => &[MacSource::RemoteId],
            "subscriber-id" | "rfc4580" => &[MacSource::SubscriberId],
            "docsis-cmts" => &[MacSource::DocsisCmts],
            "docsis-modem" => &[MacSource::DocsisModem],
            _ => return None,
        })
    }
}

/// The server DUID type of `server-id.type` (Kea ARM 9.2.31; RFC 8415 section 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerIdType {
    /// DUID-LLT: hardware type, time and link-layer address (Kea's default).
    Llt,
    /// DUID-EN: enterprise number and identifier.
    En,
    /// DUID-LL: hardware type and link-layer address.
    Ll,
}

/// The `server-id` map with Kea's defaults (Kea ARM 9.2.31 "Server Identifier in DHCPv6").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdConfig {
    /// `type` (default LLT).
    pub kind: ServerIdType,
    /// `identifier`: link-layer address or EN identifier; empty means "pick one".
    pub identifier: Vec<u8>,
    /// `time` for LLT; 0 means "now".
    pub time: u32,
    /// `htype`; 0 means "as stored, else the interface's" (Ethernet, 1, in practice).
    pub htype: u16,
    /// `enterprise-id`; 0 means "as stored, else 2495 (ISC)".
    pub enterprise_id: u32,
    /// `persist`: keep the DUID in `kea-dhcp6-serverid` (default true).
    pub persist: bool,
}

impl Default for ServerIdConfig {
    fn default() -> Self {
        ServerIdConfig {
            kind: ServerIdType::Llt,
            identifier: Vec::new(),
            time: 0,
            htype: 0,
            enterprise_id: 0,
            persist: true,
        }
    }
}

/// A client class definition's DHCPv6 parts (Kea ARM 14): its options and lifetimes apply to
/// the messages in the class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientClass6 {
    /// `name`
    pub name: String,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// `valid-lifetime` triplet of the class.
    pub valid: Triplet,
    /// `preferred-lifetime` triplet of the class.
    pub preferred: Triplet,
}

/// A validated `subnet6` entry (Kea ARM 9.2.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Subnet6 {
    /// `id`
    pub id: u32,
    /// `subnet`
    pub prefix: Ipv6Net,
    /// Enclosing shared network.
    pub shared_network: Option<String>,
    /// `pools`
    pub pools: Vec<Pool6>,
    /// `pd-pools`
    pub pd_pools: Vec<PdPool>,
    /// `reservations`
    pub reservations: Vec<Reservation6>,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// `option-data` of the enclosing shared network.
    pub network_options: Vec<OptionValue>,
    /// Scalars after inheritance.
    pub params: Params6,
    /// `relay.ip-addresses` (relay link addresses that select this subnet).
    pub relay: Vec<Ipv6Addr>,
    /// `interface`
    pub interface: Option<String>,
    /// `interface-id`
    pub interface_id: Option<String>,
    /// `client-classes` (3.0) / `client-class` (2.x) guard of the subnet.
    pub client_classes: Vec<String>,
}

/// An IA_NA address pool (Kea ARM 9.2.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool6 {
    /// First address.
    pub first: Ipv6Addr,
    /// Last address.
    pub last: Ipv6Addr,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// Class guard.
    pub client_classes: Vec<String>,
}

/// A prefix delegation pool (Kea ARM 9.2.9, RFC 8415 section 6.3, RFC 6603 exclusions).
#[derive(Debug, Clone, PartialEq)]
pub struct PdPool {
    /// `prefix`/`prefix-len`
    pub prefix: Ipv6Net,
    /// `delegated-len`
    pub delegated_len: u8,
    /// `excluded-prefix`/`excluded-prefix-len`
    pub excluded: Option<Ipv6Net>,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// Class guard.
    pub client_classes: Vec<String>,
}

/// A DHCPv6 host reservation (Kea ARM 9.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation6 {
    /// The identifier.
    pub identifier: HostIdentifier,
    /// `ip-addresses`
    pub ip_addresses: Vec<Ipv6Addr>,
    /// `prefixes`
    pub prefixes: Vec<Ipv6Net>,
    /// `hostname`
    pub hostname: Option<String>,
    /// `option-data`
    pub options: Vec<OptionValue>,
    /// `client-classes` the reserved host belongs to (Kea ARM 9.3.9).
    pub client_classes: Vec<String>,
}

/// `first - last` or `prefix/len` (Kea ARM 9.2.6).
pub fn parse_pool6(s: &str) -> Option<(Ipv6Addr, Ipv6Addr)> {
    if let Some((a, b)) = s.split_once('-') {
        return Some((a.trim().parse().ok()?, b.trim().parse().ok()?));
    }
    let net: Ipv6Net = s.trim().parse().ok()?;
    Some((net.network(), net.broadcast()))
}

/// Parses `prefix/len` (the value at `at`, a `what`: subnet or reservation prefix).
fn parse_net6(c: &mut Checker, at: Here, text: &str, what: &str) -> Option<Ipv6Net> {
    let Some((addr, len)) = text.split_once('/') else {
        c.err(at, format!("{what} configuration failed: Invalid subnet syntax (prefix/len expected): {text}"));
        return None;
    };
    let Ok(addr) = addr.trim().parse::<Ipv6Addr>() else {
        c.err(at, format!("{what} configuration failed: '{addr}' is not a valid IPv6 address"));
        return None;
    };
    match len.trim().parse::<u8>().ok().and_then(|l| Ipv6Net::new(addr, l).ok()) {
        Some(n) => Some(n),
        None => {
            c.err(at, format!("{what} configuration failed: Invalid prefix length specified for subnet: {len}"));
            None
        }
    }
}

/// The scalars a DHCPv6 subnet inherits from its shared network and the global scope
/// (Kea ARM 9.2.9, 9.2.15).
#[derive(Debug, Clone, PartialEq)]
pub struct Params6 {
    /// valid-lifetime triplet.
    pub valid: Triplet,
    /// preferred-lifetime triplet.
    pub preferred: Triplet,
    /// `renew-timer` (T1).
    pub renew_timer: Option<u32>,
    /// `rebind-timer` (T2).
    pub rebind_timer: Option<u32>,
    /// `calculate-tee-times` (default true for DHCPv6).
    pub calculate_tee_times: bool,
    /// `t1-percent` (default 0.5).
    pub t1_percent: f64,
    /// `t2-percent` (default 0.8).
    pub t2_percent: f64,
    /// `rapid-commit` (default false).
    pub rapid_commit: bool,
    /// `reservations-global` / `-in-subnet` / `-out-of-pool`.
    pub reservations_global: bool,
    /// `reservations-in-subnet` (default true).
    pub reservations_in_subnet: bool,
    /// `reservations-out-of-pool` (default false).
    pub reservations_out_of_pool: bool,
    /// `store-extended-info`: keep the relay information of the last query in the lease's
    /// user context (Kea ARM 9.2.28 "Storing Extended Lease Information").
    pub store_extended_info: bool,
    /// `allocator` for addresses: iterative (default), random, or flq (served by the same
    /// bounded bitmap search as iterative, which is what flq buys in Kea: no pool scans).
    pub allocator: AllocatorKind,
    /// `pd-allocator` for delegated prefixes, as `allocator`.
    pub pd_allocator: AllocatorKind,
    /// `adaptive-lease-time-threshold` below 1 (see `common::adaptive_threshold`).
    pub adaptive_threshold: Option<f64>,
    /// `hostname-char-set` (None: no sanitizing) and `hostname-char-replacement`.
    pub hostname_chars: (Option<common::CharSet>, String),
    /// `cache-threshold`: fraction of the lifetime during which a renewal reuses the lease
    /// unchanged (lease caching); unset or 0 disables caching.
    pub cache_threshold: Option<f64>,
    /// `cache-max-age`: upper bound in seconds of a reused lease's age.
    pub cache_max_age: Option<u32>,
}

impl Params6 {
    /// Kea's DHCPv6 global defaults (GLOBAL6_DEFAULTS).
    pub fn defaults() -> Params6 {
        Params6 {
            valid: Triplet { default: Some(DEFAULT_VALID_LIFETIME), ..Triplet::default() },
            preferred: Triplet { default: Some(DEFAULT_PREFERRED_LIFETIME), ..Triplet::default() },
            renew_timer: None,
            rebind_timer: None,
            calculate_tee_times: true,
            t1_percent: 0.5,
            t2_percent: 0.8,
            rapid_commit: false,
            reservations_global: false,
            reservations_in_subnet: true,
            reservations_out_of_pool: false,
            store_extended_info: false,
            allocator: AllocatorKind::Iterative,
            pd_allocator: AllocatorKind::Iterative,
            adaptive_threshold: None,
            hostname_chars: (common::CharSet::new(common::CharSet::DEFAULT).ok(), String::new()),
            cache_threshold: None,
            cache_max_age: None,
        }
    }
}

/// The scalars every DHCPv6 scope may set: global, shared network and subnet (Kea ARM
/// 9.2.9, 9.2.15), read from any of the three raw maps by [`scope6!`].
struct Scope6<'a> {
    loc: &'a Loc,
    valid: (Option<i64>, Option<i64>, Option<i64>),
    preferred: (Option<i64>, Option<i64>, Option<i64>),
    renew_timer: Option<i64>,
    rebind_timer: Option<i64>,
    calculate_tee_times: Option<bool>,
    t1_percent: Option<f64>,
    t2_percent: Option<f64>,
    rapid_commit: Option<bool>,
    reservation_mode: Option<&'a str>,
    reservations: (Option<bool>, Option<bool>, Option<bool>),
    store_extended_info: Option<bool>,
    allocator: Option<&'a str>,
    pd_allocator: Option<&'a str>,
    adaptive_threshold: Option<f64>,
    hostname_chars: (Option<&'a str>, Option<&'a str>),
    cache_threshold: Option<f64>,
    cache_max_age: Option<i64>,
}

/// The [`Scope6`] of a raw `Dhcp6`, `SharedNetwork6` or `Subnet6`; `rapid-commit` is given
/// apart because Kea's grammar has it in shared networks and subnets only.
macro_rules! scope6 {
    ($r:expr, $rapid_commit:expr) => {{
        let r = $r;
        Scope6 {
            loc: &r.loc,
            valid: (r.min_valid_lifetime, r.valid_lifetime, r.max_valid_lifetime),
            preferred: (r.min_preferred_lifetime, r.preferred_lifetime, r.max_preferred_lifetime),
            renew_timer: r.renew_timer,
            rebind_timer: r.rebind_timer,
            calculate_tee_times: r.calculate_tee_times,
            t1_percent: r.t1_percent,
            t2_percent: r.t2_percent,
            rapid_commit: $rapid_commit,
            reservation_mode: r.reservation_mode.as_deref(),
            reservations: (r.reservations_global, r.reservations_in_subnet, r.reservations_out_of_pool),
            store_extended_info: r.store_extended_info,
            allocator: r.allocator.as_deref(),
            pd_allocator: r.pd_allocator.as_deref(),
            adaptive_threshold: r.adaptive_lease_time_threshold,
            hostname_chars: (r.hostname_char_set.as_deref(), r.hostname_char_replacement.as_deref()),
            cache_threshold: r.cache_threshold,
            cache_max_age: r.cache_max_age,
        }
    }};
}

fn scope_values(c: &mut Checker, s: &Scope6<'_>, outer: &Params6) -> Params6 {
    let valid = common::triplet(c, s.loc, "valid-lifetime", s.valid);
    let preferred = common::triplet(c, s.loc, "preferred-lifetime", s.preferred);
    if valid != Triplet::default() {
        common::check_triplet(c, s.loc, "valid-lifetime", valid.inherit(outer.valid));
    }
    if preferred != Triplet::default() {
        common::check_triplet(c, s.loc, "preferred-lifetime", preferred.inherit(outer.preferred));
    }
    let renew = common::u32_of(c, s.loc, "renew-timer", s.renew_timer);
    let rebind = common::u32_of(c, s.loc, "rebind-timer", s.rebind_timer);
    let (rg, rs, ro) = common::reservation_mode(
        s.reservation_mode,
        (outer.reservations_global, outer.reservations_in_subnet, outer.reservations_out_of_pool),
    );
    let allocator = common::allocator(c, s.loc, "allocator", s.allocator, outer.allocator);
    let pd_allocator = common::allocator(c, s.loc, "pd-allocator", s.pd_allocator, outer.pd_allocator);
    let flq = allocator == AllocatorKind::Flq || pd_allocator == AllocatorKind::Flq;
    Params6 {
        adaptive_threshold: common::adaptive_threshold(c, s.loc, s.adaptive_threshold, outer.adaptive_threshold, flq),
        hostname_chars: common::hostname_chars(c, s.loc, s.hostname_chars, &outer.hostname_chars),
        cache_threshold: common::cache_threshold(c, s.loc, s.cache_threshold, outer.cache_threshold),
        cache_max_age: common::u32_of(c, s.loc, "cache-max-age", s.cache_max_age).or(outer.cache_max_age),
        allocator,
        pd_allocator,
        valid: valid.inherit(outer.valid),
        preferred: preferred.inherit(outer.preferred),
        renew_timer: renew.or(outer.renew_timer),
        rebind_timer: rebind.or(outer.rebind_timer),
        calculate_tee_times: s.calculate_tee_times.unwrap_or(outer.calculate_tee_times),
        t1_percent: s.t1_percent.unwrap_or(outer.t1_percent),
        t2_percent: s.t2_percent.unwrap_or(outer.t2_percent),
        rapid_commit: s.rapid_commit.unwrap_or(outer.rapid_commit),
        store_extended_info: s.store_extended_info.unwrap_or(outer.store_extended_info),
        reservations_global: s.reservations.0.unwrap_or(rg),
        reservations_in_subnet: s.reservations.1.unwrap_or(rs),
        reservations_out_of_pool: s.reservations.2.unwrap_or(ro),
    }
}

struct Ctx {
    reg: OptionDefRegistry,
    ids: common::SubnetIds,
    prefixes: Seen<Ipv6Net>,
    ip_unique: bool,
    subnets: Vec<Subnet6>,
}

/// A reservation in Kea's host JSON for subnet `subnet_id` (0: global), checked against the
/// running configuration as a configured one is (Kea ARM host_cmds, hosts databases).
pub fn reservation_from_json(cfg: &Dhcp6, subnet_id: u32, host: &serde_json::Value) -> Result<Reservation6, String> {
    let subnet = cfg.subnets.iter().find(|s| s.id == subnet_id).map(|s| s.prefix);
    super::host_from_json(host, |c, r: &raw::dhcp6::Reservation6| reservation(c, r, subnet.as_ref(), &cfg.option_defs))
}

fn reservation(
    c: &mut Checker,
    r: &raw::dhcp6::Reservation6,
    subnet: Option<&Ipv6Net>,
    reg: &OptionDefRegistry,
) -> Option<Reservation6> {
    let identifier = common::reservation_identifier(
        c,
        &r.loc,
        &[("hw-address", r.hw_address.as_ref()), ("duid", r.duid.as_ref()), ("flex-id", r.flex_id.as_ref())],
    );
    let mut ip_addresses = Vec::new();
    for (i, text) in list(&r.ip_addresses).iter().enumerate() {
        let at = r.loc.item("ip-addresses", i);
        match text.parse::<Ipv6Addr>() {
            Ok(ip) => {
                if let Some(net) = subnet {
                    if !net.contains(&ip) {
                        c.err(at, format!("specified reservation '{ip}' is not within the IPv6 subnet '{net}'"));
                    }
                }
                ip_addresses.push(ip);
            }
            Err(_) => c.err(at, format!("invalid IPv6 address '{text}' in reservation")),
        }
    }
    let mut prefixes = Vec::new();
    for (i, text) in list(&r.prefixes).iter().enumerate() {
        if let Some(n) = parse_net6(c, r.loc.item("prefixes", i), text, "reservation") {
            prefixes.push(n);
        }
    }
    let options = common::option_data(c, list(&r.option_data), reg, "dhcp6");
    Some(Reservation6 {
        identifier: identifier?,
        ip_addresses,
        prefixes,
        hostname: r.hostname.clone(),
        options,
        client_classes: r.client_classes.clone().unwrap_or_default(),
    })
}

/// The reservations of one scope, checked (`subnet`: the scope's prefix, if a subnet).
fn reservations(
    c: &mut Checker,
    ctx: &Ctx,
    list: &[raw::dhcp6::Reservation6],
    subnet: Option<&Ipv6Net>,
    id: u32,
) -> Vec<Reservation6> {
    let one = |c: &mut Checker, r: &raw::dhcp6::Reservation6| reservation(c, r, subnet, &ctx.reg);
    common::reservations(c, list, ctx.ip_unique, ("IPv6", id), one, |r| {
        (&r.identifier, r.ip_addresses.iter().map(|ip| IpAddr::V6(*ip)).collect())
    })
}

fn pd_pool(c: &mut Checker, p: &raw::dhcp6::PdPool, reg: &OptionDefRegistry) -> Option<PdPool> {
    let (Some(text), Some(len)) = (p.prefix.as_deref(), p.prefix_len) else {
        c.err(&p.loc, "pd-pool requires 'prefix' and 'prefix-len'");
        return None;
    };
    let Some(dlen) = p.delegated_len else {
        c.err(&p.loc, "pd-pool requires 'delegated-len'");
        return None;
    };
    let Ok(addr) = text.parse::<Ipv6Addr>() else {
        c.err(p.loc.key("prefix"), format!("invalid prefix '{text}'"));
        return None;
    };
    if !(1..=128).contains(&len) {
        c.err(p.loc.key("prefix-len"), format!("Invalid prefix length: {len}"));
        return None;
    }
    if !(1..=128).contains(&dlen) || dlen < len {
        c.err(
            p.loc.key("delegated-len"),
            format!("delegated length ({dlen}) must be at least the prefix length ({len}) and at most 128"),
        );
        return None;
    }
    let prefix = Ipv6Net::new(addr, len as u8).ok()?;
    let mut excluded = None;
    if let Some(etext) = p.excluded_prefix.as_deref() {
        let elen = p.excluded_prefix_len.unwrap_or(0);
        let eaddr = etext.parse::<Ipv6Addr>().ok();
        match eaddr.and_then(|a| Ipv6Net::new(a, elen.clamp(0, 128) as u8).ok()) {
            Some(n) if elen > dlen && elen <= 128 => excluded = Some(n),
            _ => c.err(
                p.loc.key("excluded-prefix"),
                format!("excluded prefix must be longer than the delegated length {dlen} (RFC 6603)"),
            ),
        }
    }
    Some(PdPool {
        prefix,
        delegated_len: dlen as u8,
        excluded,
        options: common::option_data(c, list(&p.option_data), reg, "dhcp6"),
        client_classes: common::classes(&p.client_classes, &p.client_class),
    })
}

fn pools(c: &mut Checker, ctx: &Ctx, raw_pools: &[raw::dhcp6::Pool6], prefix: Ipv6Net) -> Vec<Pool6> {
    let net = prefix.trunc();
    let mut pools: Vec<Pool6> = Vec::new();
    for p in raw_pools {
        let Some(text) = p.pool.as_deref() else {
            c.err(&p.loc, "missing parameter 'pool'");
            continue;
        };
        let taken = pools.iter().map(|o| (o.first, o.last));
        let inside = |a: Ipv6Addr| net.contains(&a);
        let range = common::pool_range(c, &p.loc, (text, parse_pool6(text)), ("IA_NA", &prefix, &inside), taken);
        let Some((first, last)) = range else { continue };
        let options = common::option_data(c, list(&p.option_data), &ctx.reg, "dhcp6");
        pools.push(Pool6 { first, last, options, client_classes: common::classes(&p.client_classes, &p.client_class) });
    }
    pools
}

fn pd_pools(c: &mut Checker, ctx: &Ctx, raw_pools: &[raw::dhcp6::PdPool], prefix: Ipv6Net) -> Vec<PdPool> {
    let mut pd_pools: Vec<PdPool> = Vec::new();
    for p in raw_pools {
        if let Some(pd) = pd_pool(c, p, &ctx.reg) {
            if pd_pools
                .iter()
                .any(|o| o.prefix.contains(&pd.prefix.network()) || pd.prefix.contains(&o.prefix.network()))
            {
                c.err(
                    &p.loc,
                    format!("pd-pool {} overlaps with an existing pd-pool in the subnet {prefix}", pd.prefix),
                );
                continue;
            }
            pd_pools.push(pd);
        }
    }
    pd_pools
}

/// Whether a string key is set to something (an empty interface-id is none: Kea's all-keys
/// example has one).
fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

fn subnet(
    c: &mut Checker,
    ctx: &mut Ctx,
    v: &raw::dhcp6::Subnet6,
    outer: &Params6,
    network: Option<&str>,
    network_options: &[OptionValue],
) {
    let Some(text) = v.subnet.as_deref() else {
        c.err(&v.loc, "missing parameter 'subnet'");
        return;
    };
    let prefix = parse_net6(c, v.loc.key("subnet"), text, "subnet");
    let Some(id) = ctx.ids.assign(c, &v.loc, v.id, "IPv6") else { return };
    let Some(prefix) = prefix else { return };
    if !ctx.prefixes.first(prefix) {
        c.err(v.loc.key("subnet"), format!("subnet with the prefix of '{prefix}' already exists"));
    }
    let scope = scope_values(c, &scope6!(v, v.rapid_commit), outer);
    let pools = pools(c, ctx, list(&v.pools), prefix);
    let pd_pools = pd_pools(c, ctx, list(&v.pd_pools), prefix);
    let reservations = reservations(c, ctx, list(&v.reservations), Some(&prefix.trunc()), id);
    let relay = common::relay(c, v.relay.as_ref(), "IPv6");
    if set(&v.interface) && set(&v.interface_id) {
        c.err(&v.loc, format!("subnet configuration failed: parser error: interface (defined for locally reachable subnets) and interface-id (defined for subnets reachable via relays) cannot be defined at the same time for subnet {prefix}"));
    }
    let options = common::option_data(c, list(&v.option_data), &ctx.reg, "dhcp6");
    ctx.subnets.push(Subnet6 {
        id,
        prefix,
        shared_network: network.map(str::to_string),
        pools,
        pd_pools,
        reservations,
        options,
        network_options: network_options.to_vec(),
        params: scope,
        relay,
        interface: v.interface.clone(),
        interface_id: v.interface_id.clone(),
        client_classes: common::classes(&v.client_classes, &v.client_class),
    });
}

/// `server-id` with Kea's defaults (Kea ARM 9.2.31).
fn server_id(c: &mut Checker, sid: Option<&raw::dhcp6::ServerId>) -> ServerIdConfig {
    let mut server_id = ServerIdConfig::default();
    let Some(sid) = sid else { return server_id };
    if let Some(t) = sid.r#type.as_deref() {
        server_id.kind = match t {
            "LLT" => ServerIdType::Llt,
            "EN" => ServerIdType::En,
            "LL" => ServerIdType::Ll,
            other => {
                c.err(sid.loc.key("type"), format!("invalid server-id type '{other}' (expected LLT, EN or LL)"));
                ServerIdType::Llt
            }
        };
    }
    if let Some(s) = sid.identifier.as_deref() {
        match common::parse_identifier_text(s) {
            Some(b) => server_id.identifier = b,
            None if s.is_empty() => {}
            None => c.err(sid.loc.key("identifier"), format!("invalid server-id identifier '{s}'")),
        }
    }
    if let Some(t) = common::u32_of(c, &sid.loc, "time", sid.time) {
        server_id.time = t;
    }
    if let Some(h) = common::u32_of(c, &sid.loc, "htype", sid.htype) {
        match u16::try_from(h) {
            Ok(h) => server_id.htype = h,
            Err(_) => c.err(&sid.loc, format!("htype {h} is out of range 0..65535")),
        }
    }
    if let Some(e) = common::u32_of(c, &sid.loc, "enterprise-id", sid.enterprise_id) {
        server_id.enterprise_id = e;
    }
    if let Some(p) = sid.persist {
        server_id.persist = p;
    }
    server_id
}

/// `mac-sources` in order without repeats (Kea ARM 9.2.33); all of them by default.
fn mac_sources(c: &mut Checker, d: &raw::dhcp6::Dhcp6) -> Vec<MacSource> {
    let mut mac_sources: Vec<MacSource> = Vec::new();
    for (i, text) in list(&d.mac_sources).iter().enumerate() {
        match MacSource::parse(text) {
            Some(l) => mac_sources.extend(l.iter().filter(|m| !mac_sources.contains(*m)).copied().collect::<Vec<_>>()),
            None => {
                c.err(d.loc.item("mac-sources", i), format!("failed to convert '{text}' to any recognized MAC source"))
            }
        }
    }
    if mac_sources.is_empty() {
        mac_sources = MacSource::ANY.to_vec();
    }
    mac_sources
}

/// Builds and checks the `Dhcp6` section from its typed raw mirror.
pub(crate) fn build(c: &mut Checker, d: &raw::dhcp6::Dhcp6) -> Option<Dhcp6> {
    let errors_before = c.errors.len();
    let reg = common::option_defs(c, list(&d.option_def), OptionDefRegistry::standard_v6(), "dhcp6");
    let options = common::option_data(c, list(&d.option_data), &reg, "dhcp6");
    let classes = list(&d.client_classes);
    let keys: Vec<common::ClassKeys<'_>> = classes
        .iter()
        .map(|cl| common::ClassKeys {
            loc: &cl.loc,
            name: cl.name.as_deref(),
            option_def: None,
            option_data: list(&cl.option_data),
        })
        .collect();
    let client_classes = common::client_classes(c, &keys, &reg, "dhcp6")
        .into_iter()
        .map(|(i, options)| {
            let cl = &classes[i];
            ClientClass6 {
                name: cl.name.clone().unwrap_or_default(),
                options,
                valid: Triplet::of((cl.min_valid_lifetime, cl.valid_lifetime, cl.max_valid_lifetime)),
                preferred: Triplet::of((cl.min_preferred_lifetime, cl.preferred_lifetime, cl.max_preferred_lifetime)),
            }
        })
        .collect();
    let daemon = common::section_parts!(&mut *c, d, "kea-ring6");
    let host_reservation_identifiers = common::host_ids(
        c,
        &d.loc,
        d.host_reservation_identifiers.as_ref(),
        &["hw-address", "duid", "flex-id"],
        &["hw-address", "duid"],
    );
    let server_id = server_id(c, d.server_id.as_ref());
    let mac_sources = mac_sources(c, d);
    let relay_supplied_options = match &d.relay_supplied_options {
        None => vec![65],
        Some(l) => l
            .iter()
            .filter_map(|o| o.trim().parse::<u16>().ok().or_else(|| reg.by_name("dhcp6", o.trim()).map(|def| def.code)))
            .collect(),
    };
    // Kea's grammar has no global `rapid-commit`.
    let global = scope_values(c, &scope6!(d, None), &Params6::defaults());
    let mut ctx = Ctx {
        reg,
        ids: common::SubnetIds::new(),
        prefixes: Seen::new(),
        ip_unique: d.ip_reservations_unique.unwrap_or(true),
        subnets: Vec::new(),
    };
    let mut shared_networks = Vec::new();
    let mut names = Seen::new();
    for n in list(&d.shared_networks) {
        let Some(name) = common::network_name(c, &mut names, &n.loc, n.name.as_deref()) else { continue };
        if set(&n.interface) && set(&n.interface_id) {
            c.err(&n.loc, format!("interface (defined for locally reachable subnets) and interface-id (defined for subnets reachable via relays) cannot be defined at the same time for shared network {name}"));
        }
        let scope = scope_values(c, &scope6!(n, n.rapid_commit), &global);
        let net_options = common::option_data(c, list(&n.option_data), &ctx.reg, "dhcp6");
        let first = ctx.subnets.len();
        for s in list(&n.subnet6) {
            subnet(c, &mut ctx, s, &scope, Some(name), &net_options);
        }
        // Kea ARM 9.6: a network's interface, interface-id and relay apply to its subnets.
        let net_relay: Vec<Ipv6Addr> = common::network_relay(n.relay.as_ref());
        for sub in &mut ctx.subnets[first..] {
            if sub.interface.is_none() {
                sub.interface = n.interface.clone();
            }
            if sub.interface_id.is_none() {
                sub.interface_id = n.interface_id.clone();
            }
            if sub.relay.is_empty() {
                sub.relay = net_relay.clone();
            }
        }
        shared_networks.push(name.to_string());
    }
    for s in list(&d.subnet6) {
        subnet(c, &mut ctx, s, &global, None, &[]);
    }
    let global_res = reservations(c, &ctx, list(&d.reservations), None, 0);
    if c.errors.len() > errors_before {
        return None;
    }
    Some(Dhcp6 {
        subnets: ctx.subnets,
        shared_networks,
        options,
        option_defs: ctx.reg,
        client_classes,
        reservations: global_res,
        params: global,
        server_id,
        host_reservation_identifiers,
        relay_supplied_options,
        daemon,
        mac_sources,
        data_directory: d.data_directory.clone(),
    })
}
