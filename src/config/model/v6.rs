//! The `Dhcp6` section: subnets, address pools, prefix delegation pools, reservations
//! (Kea ARM 9.2).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::common::{self, HookLibrary, HostIdentifier, LeaseDatabase, OptionValue, Seen, Triplet};
use super::{AllocatorKind, Checker, ControlSocket, ExpiredLeases, V};
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
    /// Built-in hook functions enabled.
    pub hooks: Vec<HookLibrary>,
    /// `interfaces-config.interfaces`.
    pub interfaces: Vec<String>,
    /// `lease-database`.
    pub lease_database: LeaseDatabase,
    /// Control channels.
    pub control_sockets: Vec<ControlSocket>,
    /// Global scalars with Kea's defaults.
    pub params: Params6,
    /// `dhcp-ddns.enable-updates`.
    pub ddns_enabled: bool,
    /// `server-id`: how the server DUID is built and kept.
    pub server_id: ServerIdConfig,
    /// `decline-probation-period` in seconds (default 86400).
    pub decline_probation_period: u32,
    /// `parked-packet-limit` (default 256; 0 means no limit), as in [`super::v4::Dhcp4`]
    /// (Kea ARM 16.12.16).
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
    /// `early-global-reservations-lookup` (Kea ARM 14.1): global reservations are looked up
    /// before subnet selection, so their classes may select the subnet.
    pub early_global_reservations_lookup: bool,
    /// `reservations-lookup-first` (Kea ARM 9.3.7): a candidate address is checked against
    /// reservations before the lease table.
    pub reservations_lookup_first: bool,
    /// `host-reservation-identifiers` in lookup order (Kea's default: hw-address, duid).
    pub host_reservation_identifiers: Vec<String>,
    /// `relay-supplied-options`: codes of the options a relay may supply in an RSOO to be
    /// copied into the reply (RFC 6422; Kea's default: 65, ERP local domain name).
    pub relay_supplied_options: Vec<u16>,
    /// `expired-leases-processing`.
    pub expired: ExpiredLeases,
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

fn class_triplet(cl: &V<'_>, name: &str) -> Triplet {
    let get = |k: &str| cl.int(k).and_then(|i| u32::try_from(i).ok());
    Triplet { min: get(&format!("min-{name}")), default: get(name), max: get(&format!("max-{name}")) }
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

fn parse_net6(c: &mut Checker, v: &V<'_>, what: &str) -> Option<Ipv6Net> {
    let text = v.as_str()?;
    let Some((addr, len)) = text.split_once('/') else {
        c.err(v, format!("{what} configuration failed: Invalid subnet syntax (prefix/len expected): {text}"));
        return None;
    };
    let Ok(addr) = addr.trim().parse::<Ipv6Addr>() else {
        c.err(v, format!("{what} configuration failed: '{addr}' is not a valid IPv6 address"));
        return None;
    };
    match len.trim().parse::<u8>().ok().and_then(|l| Ipv6Net::new(addr, l).ok()) {
        Some(n) => Some(n),
        None => {
            c.err(v, format!("{what} configuration failed: Invalid prefix length specified for subnet: {len}"));
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

fn scope_values(c: &mut Checker, v: &V<'_>, outer: &Params6) -> Params6 {
    let valid = common::triplet(c, v, "valid-lifetime");
    let preferred = common::triplet(c, v, "preferred-lifetime");
    if valid != Triplet::default() {
        common::check_triplet(c, v, "valid-lifetime", valid.inherit(outer.valid));
    }
    if preferred != Triplet::default() {
        common::check_triplet(c, v, "preferred-lifetime", preferred.inherit(outer.preferred));
    }
    let renew = common::u32_of(c, v, "renew-timer");
    let rebind = common::u32_of(c, v, "rebind-timer");
    let (rg, rs, ro) = common::reservation_mode(
        v,
        (outer.reservations_global, outer.reservations_in_subnet, outer.reservations_out_of_pool),
    );
    let allocator = common::allocator(c, v, "allocator", outer.allocator);
    let pd_allocator = common::allocator(c, v, "pd-allocator", outer.pd_allocator);
    let flq = allocator == AllocatorKind::Flq || pd_allocator == AllocatorKind::Flq;
    Params6 {
        adaptive_threshold: common::adaptive_threshold(c, v, outer.adaptive_threshold, flq),
        hostname_chars: common::hostname_chars(c, v, &outer.hostname_chars),
        cache_threshold: common::cache_threshold(c, v, outer.cache_threshold),
        cache_max_age: common::u32_of(c, v, "cache-max-age").or(outer.cache_max_age),
        allocator,
        pd_allocator,
        valid: valid.inherit(outer.valid),
        preferred: preferred.inherit(outer.preferred),
        renew_timer: renew.or(outer.renew_timer),
        rebind_timer: rebind.or(outer.rebind_timer),
        calculate_tee_times: v.bool("calculate-tee-times").unwrap_or(outer.calculate_tee_times),
        t1_percent: v.get("t1-percent").and_then(|x| x.as_float()).unwrap_or(outer.t1_percent),
        t2_percent: v.get("t2-percent").and_then(|x| x.as_float()).unwrap_or(outer.t2_percent),
        // Kea's grammar has `rapid-commit` in shared networks and subnets, not globally.
        rapid_commit: if v.path == "Dhcp6" {
            outer.rapid_commit
        } else {
            v.bool("rapid-commit").unwrap_or(outer.rapid_commit)
        },
        store_extended_info: v.bool("store-extended-info").unwrap_or(outer.store_extended_info),
        reservations_global: v.bool("reservations-global").unwrap_or(rg),
        reservations_in_subnet: v.bool("reservations-in-subnet").unwrap_or(rs),
        reservations_out_of_pool: v.bool("reservations-out-of-pool").unwrap_or(ro),
    }
}

struct Ctx {
    reg: OptionDefRegistry,
    ids: Seen<u32>,
    prefixes: Seen<Ipv6Net>,
    next_auto_id: u32,
    ip_unique: bool,
    subnets: Vec<Subnet6>,
}

fn reservation(c: &mut Checker, r: &V<'_>, subnet: Option<&Ipv6Net>, reg: &OptionDefRegistry) -> Option<Reservation6> {
    let identifier = common::reservation_identifier(c, r, &["hw-address", "duid", "flex-id"]);
    let mut ip_addresses = Vec::new();
    for a in r.list("ip-addresses") {
        match a.as_str().and_then(|s| s.parse::<Ipv6Addr>().ok()) {
            Some(ip) => {
                if let Some(net) = subnet {
                    if !net.contains(&ip) {
                        c.err(&a, format!("specified reservation '{ip}' is not within the IPv6 subnet '{net}'"));
                    }
                }
                ip_addresses.push(ip);
            }
            None => c.err(&a, format!("invalid IPv6 address '{}' in reservation", a.as_str().unwrap_or(""))),
        }
    }
    let mut prefixes = Vec::new();
    for p in r.list("prefixes") {
        if let Some(n) = parse_net6(c, &p, "reservation") {
            prefixes.push(n);
        }
    }
    let options = common::option_data(c, r, reg, "dhcp6");
    Some(Reservation6 {
        identifier: identifier?,
        ip_addresses,
        prefixes,
        hostname: r.str("hostname").map(str::to_string),
        options,
        client_classes: r.strings("client-classes"),
    })
}

fn check_reservation_dups(c: &mut Checker, list: &[(V<'_>, Reservation6)], ip_unique: bool, subnet_id: u32) {
    let mut ids = Seen::new();
    let mut ips = Seen::new();
    for (v, r) in list {
        if !ids.first(r.identifier.clone()) {
            c.err(v, format!("failed to add new host using the {} to the IPv6 subnet id '{subnet_id}' as this host has already been added", r.identifier.kind()));
        }
        if ip_unique {
            for ip in &r.ip_addresses {
                if !ips.first(*ip) {
                    c.err(v, format!("failed to add new host for the address {ip} to the IPv6 subnet id '{subnet_id}': there's already a reservation for this address"));
                }
            }
        }
    }
}

fn pd_pool(c: &mut Checker, p: &V<'_>, reg: &OptionDefRegistry) -> Option<PdPool> {
    let (Some(pv), Some(lenv)) = (p.get("prefix"), p.get("prefix-len")) else {
        c.err(p, "pd-pool requires 'prefix' and 'prefix-len'");
        return None;
    };
    let Some(dlv) = p.get("delegated-len") else {
        c.err(p, "pd-pool requires 'delegated-len'");
        return None;
    };
    let Some(addr) = pv.as_str().and_then(|s| s.parse::<Ipv6Addr>().ok()) else {
        c.err(&pv, format!("invalid prefix '{}'", pv.as_str().unwrap_or("")));
        return None;
    };
    let len = lenv.as_int().unwrap_or(-1);
    let dlen = dlv.as_int().unwrap_or(-1);
    if !(1..=128).contains(&len) {
        c.err(&lenv, format!("Invalid prefix length: {len}"));
        return None;
    }
    if !(1..=128).contains(&dlen) || dlen < len {
        c.err(&dlv, format!("delegated length ({dlen}) must be at least the prefix length ({len}) and at most 128"));
        return None;
    }
    let prefix = Ipv6Net::new(addr, len as u8).ok()?;
    let mut excluded = None;
    if let Some(ev) = p.get("excluded-prefix") {
        let elen = p.int("excluded-prefix-len").unwrap_or(0);
        let eaddr = ev.as_str().and_then(|s| s.parse::<Ipv6Addr>().ok());
        match eaddr.and_then(|a| Ipv6Net::new(a, elen.clamp(0, 128) as u8).ok()) {
            Some(n) if elen > dlen && elen <= 128 => excluded = Some(n),
            _ => c.err(&ev, format!("excluded prefix must be longer than the delegated length {dlen} (RFC 6603)")),
        }
    }
    let mut classes = p.strings("client-classes");
    classes.extend(p.str("client-class").map(str::to_string));
    Some(PdPool {
        prefix,
        delegated_len: dlen as u8,
        excluded,
        options: common::option_data(c, p, reg, "dhcp6"),
        client_classes: classes,
    })
}

fn subnet(
    c: &mut Checker,
    ctx: &mut Ctx,
    v: &V<'_>,
    outer: &Params6,
    network: Option<&str>,
    network_options: &[OptionValue],
) {
    let Some(sv) = v.get("subnet") else {
        c.err(v, "missing parameter 'subnet'");
        return;
    };
    let prefix = parse_net6(c, &sv, "subnet");
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
    let id = if id == 0 {
        ctx.next_auto_id += 1;
        ctx.next_auto_id
    } else {
        id
    };
    if !ctx.ids.first(id) {
        let at = v.get("id").unwrap_or_else(|| v.clone());
        c.err(&at, format!("ID of the new IPv6 subnet '{id}' is already in use"));
    }
    let Some(prefix) = prefix else { return };
    if !ctx.prefixes.first(prefix) {
        c.err(&sv, format!("subnet with the prefix of '{prefix}' already exists"));
    }
    let scope = scope_values(c, v, outer);
    let net = prefix.trunc();
    let mut pools: Vec<Pool6> = Vec::new();
    for p in v.list("pools") {
        let Some(pv) = p.get("pool") else {
            c.err(&p, "missing parameter 'pool'");
            continue;
        };
        let text = pv.as_str().unwrap_or("");
        let Some((first, last)) = parse_pool6(text) else {
            c.err(&pv, format!("invalid pool definition: {text}. There are two acceptable formats <min address-max address> or <prefix/len>"));
            continue;
        };
        if first > last {
            c.err(&pv, format!("Failed to create pool defined by: {first}-{last}"));
            continue;
        }
        if !net.contains(&first) || !net.contains(&last) {
            c.err(&pv, format!("a pool of type IA_NA, with the following address range: {first}-{last} does not match the prefix of a subnet: {prefix}"));
            continue;
        }
        if let Some(o) = pools.iter().find(|o| o.first <= last && first <= o.last) {
            c.err(&pv, format!("a pool of type IA_NA, with the following address range: {first}-{last} overlaps with an existing pool in the subnet: {prefix} ({}-{})", o.first, o.last));
            continue;
        }
        let mut classes = p.strings("client-classes");
        classes.extend(p.str("client-class").map(str::to_string));
        let options = common::option_data(c, &p, &ctx.reg, "dhcp6");
        pools.push(Pool6 { first, last, options, client_classes: classes });
    }
    let mut pd_pools: Vec<PdPool> = Vec::new();
    for p in v.list("pd-pools") {
        if let Some(pd) = pd_pool(c, &p, &ctx.reg) {
            if pd_pools
                .iter()
                .any(|o| o.prefix.contains(&pd.prefix.network()) || pd.prefix.contains(&o.prefix.network()))
            {
                c.err(&p, format!("pd-pool {} overlaps with an existing pd-pool in the subnet {prefix}", pd.prefix));
                continue;
            }
            pd_pools.push(pd);
        }
    }
    let mut res = Vec::new();
    for r in v.list("reservations") {
        if let Some(x) = reservation(c, &r, Some(&net), &ctx.reg) {
            res.push((r, x));
        }
    }
    check_reservation_dups(c, &res, ctx.ip_unique, id);
    let mut relay = Vec::new();
    if let Some(rv) = v.get("relay") {
        let mut addrs = rv.list("ip-addresses");
        addrs.extend(rv.get("ip-address"));
        for a in addrs {
            match a.as_str().and_then(|s| s.parse::<Ipv6Addr>().ok()) {
                Some(ip) => relay.push(ip),
                None => c.err(&a, format!("address {} is not a valid: IPv6address", a.as_str().unwrap_or(""))),
            }
        }
    }
    // An empty interface-id is no interface-id (Kea's all-keys example has one).
    let set = |n: &V<'_>, k: &str| n.str(k).is_some_and(|s| !s.is_empty());
    if set(v, "interface") && set(v, "interface-id") {
        c.err(v, format!("subnet configuration failed: parser error: interface (defined for locally reachable subnets) and interface-id (defined for subnets reachable via relays) cannot be defined at the same time for subnet {prefix}"));
    }
    let options = common::option_data(c, v, &ctx.reg, "dhcp6");
    ctx.subnets.push(Subnet6 {
        id,
        prefix,
        shared_network: network.map(str::to_string),
        pools,
        pd_pools,
        reservations: res.into_iter().map(|(_, r)| r).collect(),
        options,
        network_options: network_options.to_vec(),
        params: scope,
        relay,
        interface: v.str("interface").map(str::to_string),
        interface_id: v.str("interface-id").map(str::to_string),
        client_classes: {
            let mut cc = v.strings("client-classes");
            cc.extend(v.str("client-class").map(str::to_string));
            cc
        },
    });
}

/// Builds and checks the `Dhcp6` section.
pub(crate) fn build(c: &mut Checker, d: &V<'_>) -> Option<Dhcp6> {
    let errors_before = c.errors.len();
    let reg = common::option_defs(c, d, OptionDefRegistry::standard_v6(), "dhcp6");
    let options = common::option_data(c, d, &reg, "dhcp6");
    let client_classes = common::client_classes(c, d, &reg, "dhcp6")
        .into_iter()
        .map(|(cl, options)| ClientClass6 {
            name: cl.str("name").unwrap_or_default().to_string(),
            options,
            valid: class_triplet(&cl, "valid-lifetime"),
            preferred: class_triplet(&cl, "preferred-lifetime"),
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
    let mut host_reservation_identifiers = d.strings("host-reservation-identifiers");
    for id in &host_reservation_identifiers {
        if !["hw-address", "duid", "flex-id"].contains(&id.as_str()) {
            c.err(d, format!("invalid host-reservation-identifiers entry '{id}'"));
        }
    }
    if d.get("host-reservation-identifiers").is_none() {
        host_reservation_identifiers = vec!["hw-address".to_string(), "duid".to_string()];
    }
    let mut server_id = ServerIdConfig::default();
    if let Some(sid) = d.get("server-id") {
        if let Some(t) = sid.get("type") {
            server_id.kind = match t.as_str() {
                Some("LLT") => ServerIdType::Llt,
                Some("EN") => ServerIdType::En,
                Some("LL") => ServerIdType::Ll,
                other => {
                    c.err(&t, format!("invalid server-id type '{}' (expected LLT, EN or LL)", other.unwrap_or("")));
                    ServerIdType::Llt
                }
            };
        }
        if let Some(idv) = sid.get("identifier") {
            let s = idv.as_str().unwrap_or("");
            match common::parse_identifier_text(s) {
                Some(b) => server_id.identifier = b,
                None if s.is_empty() => {}
                None => c.err(&idv, format!("invalid server-id identifier '{s}'")),
            }
        }
        if let Some(t) = common::u32_of(c, &sid, "time") {
            server_id.time = t;
        }
        if let Some(h) = common::u32_of(c, &sid, "htype") {
            match u16::try_from(h) {
                Ok(h) => server_id.htype = h,
                Err(_) => c.err(&sid, format!("htype {h} is out of range 0..65535")),
            }
        }
        if let Some(e) = common::u32_of(c, &sid, "enterprise-id") {
            server_id.enterprise_id = e;
        }
        if let Some(p) = sid.bool("persist") {
            server_id.persist = p;
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
    }
    let decline_probation_period = common::u32_of(c, d, "decline-probation-period").unwrap_or(86400);
    let mut mac_sources = Vec::new();
    for v in d.list("mac-sources") {
        match v.as_str().and_then(MacSource::parse) {
            Some(list) => {
                mac_sources.extend(list.iter().filter(|m| !mac_sources.contains(*m)).copied().collect::<Vec<_>>())
            }
            None => c.err(&v, format!("failed to convert '{}' to any recognized MAC source", v.as_str().unwrap_or(""))),
        }
    }
    if mac_sources.is_empty() {
        mac_sources = MacSource::ANY.to_vec();
    }
    let relay_supplied_options = match d.get("relay-supplied-options") {
        None => vec![65],
        Some(_) => d
            .strings("relay-supplied-options")
            .iter()
            .filter_map(|o| o.trim().parse::<u16>().ok().or_else(|| reg.by_name("dhcp6", o.trim()).map(|def| def.code)))
            .collect(),
    };
    let expired = ExpiredLeases::read(c, d);
    let global = scope_values(c, d, &Params6::defaults());
    let mut ctx = Ctx {
        reg,
        ids: Seen::new(),
        prefixes: Seen::new(),
        next_auto_id: 0,
        ip_unique: d.bool("ip-reservations-unique").unwrap_or(true),
        subnets: Vec::new(),
    };
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
        let set = |k: &str| n.str(k).is_some_and(|s| !s.is_empty());
        if set("interface") && set("interface-id") {
            c.err(&n, format!("interface (defined for locally reachable subnets) and interface-id (defined for subnets reachable via relays) cannot be defined at the same time for shared network {name}"));
        }
        let scope = scope_values(c, &n, &global);
        let net_options = common::option_data(c, &n, &ctx.reg, "dhcp6");
        let first = ctx.subnets.len();
        for s in n.list("subnet6") {
            subnet(c, &mut ctx, &s, &scope, Some(name), &net_options);
        }
        // Kea ARM 9.6: a network's interface, interface-id and relay apply to its subnets.
        let net_relay: Vec<Ipv6Addr> = n
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
            if sub.interface_id.is_none() {
                sub.interface_id = n.str("interface-id").map(str::to_string);
            }
            if sub.relay.is_empty() {
                sub.relay = net_relay.clone();
            }
        }
        shared_networks.push(name.to_string());
    }
    for s in d.list("subnet6") {
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
    Some(Dhcp6 {
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
        ddns_enabled,
        server_id,
        decline_probation_period,
        parked_packet_limit: common::u32_of(c, d, "parked-packet-limit").unwrap_or(256),
        packet_threads: common::packet_threads(c, d),
        packet_queue: common::packet_queue(c, d, "kea-ring6"),
        lease_checks: common::LeaseChecks::read(d),
        early_global_reservations_lookup: d.bool("early-global-reservations-lookup").unwrap_or(false),
        reservations_lookup_first: d.bool("reservations-lookup-first").unwrap_or(false),
        host_reservation_identifiers,
        relay_supplied_options,
        expired,
        mac_sources,
        data_directory: d.str("data-directory").map(str::to_string),
    })
}
