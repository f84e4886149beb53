//! The statistic handles the engines and services count through (Kea ARM 8.9 "Statistics"),
//! resolved by name once per configuration so the packet path never formats a name, never
//! allocates and never takes the registry's lock; and the statistics Kea 2.2 creates at
//! start-up with value 0, which exporters expect as series from the first scrape.
//!
//! The start-up lists are what kea-dhcp4 / kea-dhcp6 2.2.0 answer to `statistic-get-all` right
//! after starting with one subnet and no traffic (its Dhcpv4Srv/Dhcpv6Srv packet statistics,
//! the allocation engine's failure counters and CfgSubnets' per-subnet statistics).

use crate::lease::LeaseType6;
use crate::stats::{Counter, Stats};

/// Global statistics kea-dhcp4 2.2 has from start-up with value 0 (Kea ARM 8.8
/// "Statistics in the DHCPv4 Server").
pub const STARTUP4: &[&str] = &[
    "cumulative-assigned-addresses",
    "declined-addresses",
    "pkt4-ack-received",
    "pkt4-ack-sent",
    "pkt4-decline-received",
    "pkt4-discover-received",
    "pkt4-inform-received",
    "pkt4-nak-received",
    "pkt4-nak-sent",
    "pkt4-offer-received",
    "pkt4-offer-sent",
    "pkt4-parse-failed",
    "pkt4-receive-drop",
    "pkt4-received",
    "pkt4-release-received",
    "pkt4-request-received",
    "pkt4-sent",
    "pkt4-unknown-received",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
    "v4-allocation-fail",
    "v4-allocation-fail-classes",
    "v4-allocation-fail-no-pools",
    "v4-allocation-fail-shared-network",
    "v4-allocation-fail-subnet",
    "v4-reservation-conflicts",
];

/// Per-subnet statistics (`subnet[ID].<name>`) kea-dhcp4 2.2 has from start-up (Kea ARM 8.8
/// "Statistics in the DHCPv4 Server"); `total-addresses` is the pool size, the others start at 0.
pub const SUBNET_STARTUP4: &[&str] = &[
    "assigned-addresses",
    "cumulative-assigned-addresses",
    "declined-addresses",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
    "total-addresses",
    "v4-reservation-conflicts",
];

/// Global statistics kea-dhcp6 2.2 has from start-up with value 0 (Kea ARM 9.13
/// "Statistics in the DHCPv6 Server").
pub const STARTUP6: &[&str] = &[
    "cumulative-assigned-nas",
    "cumulative-assigned-pds",
    "declined-addresses",
    "pkt6-advertise-received",
    "pkt6-advertise-sent",
    "pkt6-decline-received",
    "pkt6-dhcpv4-query-received",
    "pkt6-dhcpv4-response-received",
    "pkt6-dhcpv4-response-sent",
    "pkt6-infrequest-received",
    "pkt6-parse-failed",
    "pkt6-rebind-received",
    "pkt6-receive-drop",
    "pkt6-received",
    "pkt6-release-received",
    "pkt6-renew-received",
    "pkt6-reply-received",
    "pkt6-reply-sent",
    "pkt6-request-received",
    "pkt6-sent",
    "pkt6-solicit-received",
    "pkt6-unknown-received",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
    "v6-allocation-fail",
    "v6-allocation-fail-classes",
    "v6-allocation-fail-no-pools",
    "v6-allocation-fail-shared-network",
    "v6-allocation-fail-subnet",
];

/// Per-subnet statistics (`subnet[ID].<name>`) kea-dhcp6 2.2 has from start-up (Kea ARM 9.13
/// "Statistics in the DHCPv6 Server"); `total-nas` / `total-pds` are the pool sizes, the others start at 0.
pub const SUBNET_STARTUP6: &[&str] = &[
    "assigned-nas",
    "assigned-pds",
    "cumulative-assigned-nas",
    "cumulative-assigned-pds",
    "declined-addresses",
    "reclaimed-declined-addresses",
    "reclaimed-leases",
    "total-nas",
    "total-pds",
];

fn create_all(stats: &Stats, names: &[&str], now: u64) {
    for n in names {
        stats.counter(n, now);
    }
}

fn subnet_name(id: u32, name: &str) -> String {
    format!("subnet[{id}].{name}")
}

/// Global DHCPv4 statistics (Kea ARM 8.8 "Statistics in the DHCPv4 Server").
#[derive(Debug, Clone)]
pub struct Global4 {
    /// `pkt4-received`.
    pub received: Counter,
    /// `pkt4-receive-drop`.
    pub receive_drop: Counter,
    /// `pkt4-parse-failed`.
    pub parse_failed: Counter,
    /// `pkt4-not-for-us` (created at the first such drop).
    pub not_for_us: Counter,
    /// `pkt4-rfc-violation` (created at the first such drop).
    pub rfc_violation: Counter,
    /// `pkt4-discover-received`.
    pub discover_received: Counter,
    /// `pkt4-request-received`.
    pub request_received: Counter,
    /// `pkt4-release-received`.
    pub release_received: Counter,
    /// `pkt4-decline-received`.
    pub decline_received: Counter,
    /// `pkt4-inform-received`.
    pub inform_received: Counter,
    /// `pkt4-unknown-received`.
    pub unknown_received: Counter,
    /// `pkt4-sent`.
    pub sent: Counter,
    /// `pkt4-offer-sent`.
    pub offer_sent: Counter,
    /// `pkt4-ack-sent`.
    pub ack_sent: Counter,
    /// `pkt4-nak-sent`.
    pub nak_sent: Counter,
    /// `pkt4-other-sent` (created at the first such reply).
    pub other_sent: Counter,
    /// `v4-allocation-fail`.
    pub alloc_fail: Counter,
    /// `v4-allocation-fail-subnet`.
    pub alloc_fail_subnet: Counter,
    /// `assigned-addresses` (the sum over the subnets).
    pub assigned: Counter,
    /// `declined-addresses`.
    pub declined: Counter,
    /// `cumulative-assigned-addresses`.
    pub cumulative_assigned: Counter,
    /// `reclaimed-leases`.
    pub reclaimed_leases: Counter,
    /// `reclaimed-declined-addresses`.
    pub reclaimed_declined: Counter,
    /// `v4-lease-reuses` (created at the first reuse).
    pub lease_reuses: Counter,
}

impl Global4 {
    /// Resolves the handles, creating Kea's start-up statistics at 0 where they do not exist
    /// (Kea ARM 8.8 "Statistics in the DHCPv4 Server").
    pub fn resolve(stats: &Stats, now: u64) -> Global4 {
        create_all(stats, STARTUP4, now);
        let c = |n: &str| stats.counter(n, now);
        let lazy = |n: &str| stats.lazy_counter(n);
        Global4 {
            received: c("pkt4-received"),
            receive_drop: c("pkt4-receive-drop"),
            parse_failed: c("pkt4-parse-failed"),
            not_for_us: lazy("pkt4-not-for-us"),
            rfc_violation: lazy("pkt4-rfc-violation"),
            discover_received: c("pkt4-discover-received"),
            request_received: c("pkt4-request-received"),
            release_received: c("pkt4-release-received"),
            decline_received: c("pkt4-decline-received"),
            inform_received: c("pkt4-inform-received"),
            unknown_received: c("pkt4-unknown-received"),
            sent: c("pkt4-sent"),
            offer_sent: c("pkt4-offer-sent"),
            ack_sent: c("pkt4-ack-sent"),
            nak_sent: c("pkt4-nak-sent"),
            other_sent: lazy("pkt4-other-sent"),
            alloc_fail: c("v4-allocation-fail"),
            alloc_fail_subnet: c("v4-allocation-fail-subnet"),
            assigned: c("assigned-addresses"),
            declined: c("declined-addresses"),
            cumulative_assigned: c("cumulative-assigned-addresses"),
            reclaimed_leases: c("reclaimed-leases"),
            reclaimed_declined: c("reclaimed-declined-addresses"),
            lease_reuses: lazy("v4-lease-reuses"),
        }
    }

    /// The handle of a drop statistic named by `DropReason::statistic` (Kea ARM 8.8).
    pub fn drop_reason(&self, name: &str) -> &Counter {
        match name {
            "pkt4-parse-failed" => &self.parse_failed,
            "pkt4-not-for-us" => &self.not_for_us,
            "pkt4-rfc-violation" => &self.rfc_violation,
            "v4-allocation-fail" => &self.alloc_fail,
            _ => &self.receive_drop,
        }
    }
}

/// One subnet's DHCPv4 statistics, `subnet[ID].*` (Kea ARM 8.8 "Statistics in the DHCPv4 Server").
#[derive(Debug, Clone)]
pub struct Subnet4 {
    /// `total-addresses`.
    pub total: Counter,
    /// `assigned-addresses`.
    pub assigned: Counter,
    /// `cumulative-assigned-addresses`.
    pub cumulative_assigned: Counter,
    /// `declined-addresses`.
    pub declined: Counter,
    /// `reclaimed-leases`.
    pub reclaimed_leases: Counter,
    /// `reclaimed-declined-addresses`.
    pub reclaimed_declined: Counter,
    /// `v4-allocation-fail` (created at the first failure, as in Kea).
    pub alloc_fail: Counter,
    /// `v4-lease-reuses` (created at the first reuse).
    pub lease_reuses: Counter,
    /// `pool[N].*`, one per pool in configuration order.
    pub pools: Vec<PoolStats>,
}

impl Subnet4 {
    /// Resolves subnet `id`'s handles and those of its pools (first and last address each),
    /// creating Kea's start-up statistics at 0 (Kea ARM 8.8).
    pub fn resolve(stats: &Stats, id: u32, pools: &[(u128, u128)], now: u64) -> Subnet4 {
        for n in SUBNET_STARTUP4 {
            stats.counter(&subnet_name(id, n), now);
        }
        let c = |n: &str| stats.counter(&subnet_name(id, n), now);
        let lazy = |n: &str| stats.lazy_counter(&subnet_name(id, n));
        Subnet4 {
            total: c("total-addresses"),
            assigned: c("assigned-addresses"),
            cumulative_assigned: c("cumulative-assigned-addresses"),
            declined: c("declined-addresses"),
            reclaimed_leases: c("reclaimed-leases"),
            reclaimed_declined: c("reclaimed-declined-addresses"),
            alloc_fail: lazy("v4-allocation-fail"),
            lease_reuses: lazy("v4-lease-reuses"),
            pools: pools.iter().enumerate().map(|(i, r)| PoolStats::resolve(stats, id, i, &POOL4, *r, now)).collect(),
        }
    }

    /// The statistics of the pool holding `addr` (Kea 2.4+ pool statistics).
    pub fn pool_of(&self, addr: u128) -> Option<&PoolStats> {
        self.pools.iter().find(|p| p.contains(addr))
    }
}

/// The statistic names of one kind of pool (Kea 2.4+ ARM "Statistics": `subnet[id].pool[pid]`
/// and, for delegated prefixes, `subnet[id].pd-pool[pid]`).
#[derive(Debug)]
pub struct PoolNames {
    /// `pool` or `pd-pool`.
    pub scope: &'static str,
    /// The total, assigned and cumulative-assigned statistics.
    pub total: &'static str,
    /// `assigned-addresses`, `assigned-nas` or `assigned-pds`.
    pub assigned: &'static str,
    /// `cumulative-assigned-*`.
    pub cumulative: &'static str,
    /// Whether addresses of this pool can be declined (not prefixes).
    pub declines: bool,
}

/// DHCPv4 pools.
pub const POOL4: PoolNames = PoolNames {
    scope: "pool",
    total: "total-addresses",
    assigned: "assigned-addresses",
    cumulative: "cumulative-assigned-addresses",
    declines: true,
};

/// DHCPv6 address pools.
pub const POOL6: PoolNames = PoolNames {
    scope: "pool",
    total: "total-nas",
    assigned: "assigned-nas",
    cumulative: "cumulative-assigned-nas",
    declines: true,
};

/// DHCPv6 prefix delegation pools.
pub const PD_POOL6: PoolNames = PoolNames {
    scope: "pd-pool",
    total: "total-pds",
    assigned: "assigned-pds",
    cumulative: "cumulative-assigned-pds",
    declines: false,
};

/// One pool's statistics (Kea 2.4+ pool statistics): `subnet[ID].pool[N].*` or
/// `subnet[ID].pd-pool[N].*`, N being the pool's index in its subnet's list, as Kea numbers
/// pools that have no `pool-id`.
#[derive(Debug, Clone)]
pub struct PoolStats {
    first: u128,
    last: u128,
    /// `total-*`.
    pub total: Counter,
    /// `assigned-*`.
    pub assigned: Counter,
    /// `cumulative-assigned-*`.
    pub cumulative_assigned: Counter,
    /// `declined-addresses` (address pools only).
    pub declined: Option<Counter>,
    /// `reclaimed-leases`.
    pub reclaimed_leases: Counter,
    /// `reclaimed-declined-addresses` (address pools only).
    pub reclaimed_declined: Option<Counter>,
}

impl PoolStats {
    /// Resolves pool `index` of subnet `id` covering `range` (first, last), creating its
    /// statistics at 0.
    pub fn resolve(
        stats: &Stats,
        id: u32,
        index: usize,
        names: &PoolNames,
        range: (u128, u128),
        now: u64,
    ) -> PoolStats {
        let c = |n: &str| stats.counter(&format!("subnet[{id}].{}[{index}].{n}", names.scope), now);
        PoolStats {
            first: range.0,
            last: range.1,
            total: c(names.total),
            assigned: c(names.assigned),
            cumulative_assigned: c(names.cumulative),
            declined: names.declines.then(|| c("declined-addresses")),
            reclaimed_leases: c("reclaimed-leases"),
            reclaimed_declined: names.declines.then(|| c("reclaimed-declined-addresses")),
        }
    }

    /// Whether the pool holds `addr`.
    pub fn contains(&self, addr: u128) -> bool {
        self.first <= addr && addr <= self.last
    }
}

/// Global DHCPv6 statistics (Kea ARM 9.13 "Statistics in the DHCPv6 Server").
#[derive(Debug, Clone)]
pub struct Global6 {
    /// `pkt6-received`.
    pub received: Counter,
    /// `pkt6-receive-drop`.
    pub receive_drop: Counter,
    /// `pkt6-parse-failed`.
    pub parse_failed: Counter,
    /// `pkt6-not-for-us` (created at the first such drop).
    pub not_for_us: Counter,
    /// `pkt6-rfc-violation` (created at the first such drop).
    pub rfc_violation: Counter,
    /// `pkt6-solicit-received`.
    pub solicit_received: Counter,
    /// `pkt6-request-received`.
    pub request_received: Counter,
    /// `pkt6-renew-received`.
    pub renew_received: Counter,
    /// `pkt6-rebind-received`.
    pub rebind_received: Counter,
    /// `pkt6-release-received`.
    pub release_received: Counter,
    /// `pkt6-decline-received`.
    pub decline_received: Counter,
    /// `pkt6-infrequest-received`.
    pub infrequest_received: Counter,
    /// `pkt6-confirm-received` (created at the first CONFIRM).
    pub confirm_received: Counter,
    /// `pkt6-unknown-received`.
    pub unknown_received: Counter,
    /// `pkt6-sent`.
    pub sent: Counter,
    /// `pkt6-advertise-sent`.
    pub advertise_sent: Counter,
    /// `pkt6-reply-sent`.
    pub reply_sent: Counter,
    /// `pkt6-other-sent` (created at the first such reply).
    pub other_sent: Counter,
    /// `assigned-nas` / `assigned-pds` (the sums over the subnets).
    pub assigned: PerType,
    /// `cumulative-assigned-nas` / `-pds`.
    pub cumulative: PerType,
    /// `declined-addresses`.
    pub declined: Counter,
    /// `reclaimed-leases`.
    pub reclaimed_leases: Counter,
    /// `reclaimed-declined-addresses`.
    pub reclaimed_declined: Counter,
    /// `v6-ia-na-lease-reuses` (created at the first reuse).
    pub na_reuses: Counter,
    /// `v6-ia-pd-lease-reuses` (created at the first reuse).
    pub pd_reuses: Counter,
}

/// A DHCPv6 statistic kept per lease type: `<stem>-nas` for addresses, `<stem>-pds` for
/// prefixes (Kea ARM 9.13 "Statistics in the DHCPv6 Server").
#[derive(Debug, Clone)]
pub struct PerType {
    /// `<stem>-nas`.
    pub na: Counter,
    /// `<stem>-pds`.
    pub pd: Counter,
}

impl PerType {
    fn resolve(c: impl Fn(&str) -> Counter, stem: &str) -> PerType {
        PerType { na: c(&format!("{stem}-nas")), pd: c(&format!("{stem}-pds")) }
    }

    /// The statistic of a lease type (Kea ARM 9.13).
    pub fn of(&self, ty: LeaseType6) -> &Counter {
        if ty == LeaseType6::Pd {
            &self.pd
        } else {
            &self.na
        }
    }
}

impl Global6 {
    /// Resolves the handles, creating Kea's start-up statistics at 0 where they do not exist
    /// (Kea ARM 9.13 "Statistics in the DHCPv6 Server").
    pub fn resolve(stats: &Stats, now: u64) -> Global6 {
        create_all(stats, STARTUP6, now);
        let c = |n: &str| stats.counter(n, now);
        let lazy = |n: &str| stats.lazy_counter(n);
        Global6 {
            received: c("pkt6-received"),
            receive_drop: c("pkt6-receive-drop"),
            parse_failed: c("pkt6-parse-failed"),
            not_for_us: lazy("pkt6-not-for-us"),
            rfc_violation: lazy("pkt6-rfc-violation"),
            solicit_received: c("pkt6-solicit-received"),
            request_received: c("pkt6-request-received"),
            renew_received: c("pkt6-renew-received"),
            rebind_received: c("pkt6-rebind-received"),
            release_received: c("pkt6-release-received"),
            decline_received: c("pkt6-decline-received"),
            infrequest_received: c("pkt6-infrequest-received"),
            confirm_received: lazy("pkt6-confirm-received"),
            unknown_received: c("pkt6-unknown-received"),
            sent: c("pkt6-sent"),
            advertise_sent: c("pkt6-advertise-sent"),
            reply_sent: c("pkt6-reply-sent"),
            other_sent: lazy("pkt6-other-sent"),
            assigned: PerType::resolve(c, "assigned"),
            cumulative: PerType::resolve(c, "cumulative-assigned"),
            declined: c("declined-addresses"),
            reclaimed_leases: c("reclaimed-leases"),
            reclaimed_declined: c("reclaimed-declined-addresses"),
            na_reuses: stats.lazy_counter("v6-ia-na-lease-reuses"),
            pd_reuses: stats.lazy_counter("v6-ia-pd-lease-reuses"),
        }
    }

    /// The handle of a drop statistic named by `DropReason6::statistic` (Kea ARM 9.13).
    pub fn drop_reason(&self, name: &str) -> &Counter {
        match name {
            "pkt6-parse-failed" => &self.parse_failed,
            "pkt6-not-for-us" => &self.not_for_us,
            "pkt6-rfc-violation" => &self.rfc_violation,
            _ => &self.receive_drop,
        }
    }
}

impl Global6 {
    /// `assigned-nas` or `assigned-pds` for a lease type (Kea ARM 9.13).
    pub fn assigned(&self, ty: LeaseType6) -> &Counter {
        self.assigned.of(ty)
    }

    /// `cumulative-assigned-nas` or `-pds` for a lease type (Kea ARM 9.13).
    pub fn cumulative(&self, ty: LeaseType6) -> &Counter {
        self.cumulative.of(ty)
    }
}

/// One subnet's DHCPv6 statistics, `subnet[ID].*` (Kea ARM 9.13 "Statistics in the DHCPv6 Server").
#[derive(Debug, Clone)]
pub struct Subnet6 {
    /// `total-nas` / `total-pds`.
    pub total: PerType,
    /// `assigned-nas` / `assigned-pds`.
    pub assigned: PerType,
    /// `cumulative-assigned-nas` / `-pds`.
    pub cumulative: PerType,
    /// `declined-addresses`.
    pub declined: Counter,
    /// `reclaimed-leases`.
    pub reclaimed_leases: Counter,
    /// `reclaimed-declined-addresses`.
    pub reclaimed_declined: Counter,
    /// `v6-allocation-fail` (created at the first failure, as in Kea).
    pub alloc_fail: Counter,
    /// `pool[N].*`, one per address pool in configuration order.
    pub pools: Vec<PoolStats>,
    /// `pd-pool[N].*`, one per prefix delegation pool in configuration order.
    pub pd_pools: Vec<PoolStats>,
    /// `v6-ia-na-lease-reuses` (created at the first reuse).
    pub na_reuses: Counter,
    /// `v6-ia-pd-lease-reuses` (created at the first reuse).
    pub pd_reuses: Counter,
}

impl Subnet6 {
    /// Resolves subnet `id`'s handles and those of its address and prefix pools (first and
    /// last address each), creating Kea's start-up statistics at 0 (Kea ARM 9.13).
    pub fn resolve(stats: &Stats, id: u32, pools: &[(u128, u128)], pd_pools: &[(u128, u128)], now: u64) -> Subnet6 {
        for n in SUBNET_STARTUP6 {
            stats.counter(&subnet_name(id, n), now);
        }
        let c = |n: &str| stats.counter(&subnet_name(id, n), now);
        Subnet6 {
            total: PerType::resolve(c, "total"),
            assigned: PerType::resolve(c, "assigned"),
            cumulative: PerType::resolve(c, "cumulative-assigned"),
            declined: c("declined-addresses"),
            reclaimed_leases: c("reclaimed-leases"),
            reclaimed_declined: c("reclaimed-declined-addresses"),
            alloc_fail: stats.lazy_counter(&subnet_name(id, "v6-allocation-fail")),
            na_reuses: stats.lazy_counter(&subnet_name(id, "v6-ia-na-lease-reuses")),
            pd_reuses: stats.lazy_counter(&subnet_name(id, "v6-ia-pd-lease-reuses")),
            pools: pools.iter().enumerate().map(|(i, r)| PoolStats::resolve(stats, id, i, &POOL6, *r, now)).collect(),
            pd_pools: pd_pools
                .iter()
                .enumerate()
                .map(|(i, r)| PoolStats::resolve(stats, id, i, &PD_POOL6, *r, now))
                .collect(),
        }
    }

    /// The statistics of the pool of this lease type holding `addr` (Kea 2.4+ pool statistics).
    pub fn pool_of(&self, ty: LeaseType6, addr: u128) -> Option<&PoolStats> {
        let pools = if ty == LeaseType6::Pd { &self.pd_pools } else { &self.pools };
        pools.iter().find(|p| p.contains(addr))
    }
}

impl Subnet6 {
    /// `subnet[ID].assigned-nas` or `-pds` for a lease type (Kea ARM 9.13).
    pub fn assigned(&self, ty: LeaseType6) -> &Counter {
        self.assigned.of(ty)
    }

    /// `subnet[ID].cumulative-assigned-nas` or `-pds` for a lease type (Kea ARM 9.13).
    pub fn cumulative(&self, ty: LeaseType6) -> &Counter {
        self.cumulative.of(ty)
    }
}

/// Per-subnet handles, looked up by subnet id with a binary search (no hashing, no lock).
#[derive(Debug, Clone)]
pub struct BySubnet<T>(Vec<(u32, T)>);

impl<T> BySubnet<T> {
    /// Resolves `f` for each id (configuration time, Kea ARM 8.9).
    pub fn resolve(ids: impl Iterator<Item = u32>, f: impl Fn(u32) -> T) -> BySubnet<T> {
        let mut v: Vec<(u32, T)> = ids.map(|id| (id, f(id))).collect();
        v.sort_by_key(|(id, _)| *id);
        v.dedup_by_key(|(id, _)| *id);
        BySubnet(v)
    }

    /// The handles of subnet `id`, if the configuration has it (Kea ARM 8.9).
    pub fn get(&self, id: u32) -> Option<&T> {
        self.0.binary_search_by_key(&id, |(i, _)| *i).ok().map(|i| &self.0[i].1)
    }
}
