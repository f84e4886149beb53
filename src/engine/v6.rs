//! The DHCPv6 engine (RFC 8415; Kea ARM 9): SOLICIT/ADVERTISE (and rapid commit), REQUEST,
//! RENEW, REBIND, RELEASE, DECLINE and INFORMATION-REQUEST for IA_NA and IA_PD, with Kea's
//! subnet selection, DUID reservations, allocation and option assembly. `handle` is pure
//! apart from the in-memory lease map it updates; the caller makes the returned changes
//! durable before it sends the reply.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::sync::{Arc, MutexGuard};

use tracing::{debug, info, warn};

use crate::config::model::{AllocatorKind, Dhcp6, HostIdentifier, OptionValue, Reservation6, Subnet6, Triplet};
use crate::engine::classify::Classes;
use crate::engine::counters::{BySubnet, Global6, Subnet6 as Subnet6Stats};
use crate::engine::hosts::{HostCache, HostRef};
use crate::engine::ident::{check_v6, BadIdentifier, HWADDR_MAX_LEN};
use crate::lease::alloc::Exclusion;
use crate::lease::alloc6::{IaKey, LeaseMap6, SubnetLeases6};
use crate::lease::{Lease6, LeaseChange6, LeaseState, LeaseType6};
use crate::stats::{Stats, Tally};
use crate::wire::v6::{
    code, decode, nested_options, ClientFqdn6, DecodeError, Duid, IaAddr, IaNa, IaPd, IaPrefix, MessageType, Pkt6,
    RelayMsg, StatusCode, SERVER_PORT,
};

/// What the socket layer knows about a received packet.
#[derive(Debug, Clone)]
pub struct RecvMeta6 {
    /// Receiving interface index.
    pub ifindex: u32,
    /// Receiving interface name.
    pub ifname: String,
    /// IPv6 addresses of the receiving interface.
    pub iface_addrs: Vec<Ipv6Addr>,
    /// Source address and port (a client, or the relay that sent the RELAY-FORW).
    pub src: SocketAddrV6,
    /// Destination address (multicast or one of ours).
    pub dst: Ipv6Addr,
}

/// Why a packet got no reply; each reason is counted under Kea's statistic name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason6 {
    /// The bytes are not a DHCPv6 message (`pkt6-parse-failed`).
    ParseFailed(DecodeError),
    /// A server-only or unsupported message type (`pkt6-receive-drop`).
    Unsupported,
    /// No subnet matches a message that needs one (`pkt6-receive-drop`).
    NoSubnet,
    /// The server identifier names another server (`pkt6-not-for-us`, RFC 8415 16).
    NotForUs,
    /// The message breaks RFC 8415 section 16 (`pkt6-rfc-violation`).
    RfcViolation(&'static str),
    /// SOLICIT, CONFIRM, REBIND or INFORMATION-REQUEST sent to a unicast address by a client
    /// (Kea drops these; it never answers UseMulticast) (`pkt6-receive-drop`).
    Unicast,
    /// A client DUID of a length Kea does not accept (`pkt6-parse-failed`, and
    /// `pkt6-receive-drop`).
    BadIdentifier(BadIdentifier),
}

impl DropReason6 {
    /// Kea's statistic for this drop.
    pub fn statistic(&self) -> &'static str {
        match self {
            DropReason6::ParseFailed(_) | DropReason6::BadIdentifier(_) => "pkt6-parse-failed",
            DropReason6::NotForUs => "pkt6-not-for-us",
            DropReason6::RfcViolation(_) => "pkt6-rfc-violation",
            _ => "pkt6-receive-drop",
        }
    }
}

/// A reply and what must be durable before it is sent.
#[derive(Debug)]
pub struct Reply6 {
    /// The client message (ADVERTISE or REPLY).
    pub pkt: Pkt6,
    /// RELAY-REPL layers, outermost first, to wrap `pkt` in; empty for a direct client.
    pub relays: Vec<RelayMsg>,
    /// Where the datagram goes.
    pub dest: SocketAddrV6,
    /// Lease changes to make durable first (empty for ADVERTISE and INFORMATION-REQUEST);
    /// the engine's lease map already holds them, as pending.
    pub changes: Vec<LeaseChange6>,
}

impl Reply6 {
    /// The datagram: `pkt` inside its relay layers (RFC 8415 section 19.3).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        crate::wire::v6::encode(&self.pkt, &self.relays, &mut out);
        out
    }
}

/// The result of handling one packet.
// Replies are the common outcome; boxing them would cost an allocation on every packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome6 {
    /// Send this reply (after committing its changes).
    Reply(Reply6),
    /// Dropped for this reason.
    Drop(DropReason6),
}

/// The DHCPv6 engine over one configuration.
#[derive(Debug)]
pub struct Engine6 {
    cfg: Arc<Dhcp6>,
    leases: Arc<LeaseMap6>,
    stats: Arc<Stats>,
    /// Handles resolved once for this configuration: the packet path counts through them.
    global: Global6,
    subnet_stats: BySubnet<Subnet6Stats>,
    /// Reservations read from hosts databases (Kea ARM 9.2.3), if any are configured.
    hosts: Option<Arc<HostCache<Reservation6>>>,
    server_duid: Vec<u8>,
}

/// Everything known about the packet being handled.
struct Ctx<'a> {
    /// The leases decided over: the engine's own map, or a view prefetched from the store.
    leases: &'a LeaseMap6,
    pkt: &'a Pkt6,
    relays: &'a [RelayMsg],
    meta: &'a RecvMeta6,
    duid: Vec<u8>,
    /// The client's hardware address by `mac-sources`: type, address, Kea's source bit.
    hw: Option<(u16, Vec<u8>, u32)>,
    now: u64,
    /// Where the `random` allocator starts looking.
    rand: u64,
    /// The classes known before subnet selection (see `Engine6::early_classes`).
    pre: Classes,
    /// A global reservation was found before subnet selection: the message stays `KNOWN`.
    early_known: bool,
    /// What this packet counts, once the pipeline knows its fate (shared by the helpers,
    /// which take the context by reference).
    tally: RefCell<&'a mut Tally>,
}

/// The state one message's IAs are bound in: the locked candidate subnets, the IA's current
/// leases (candidate index, lease) and the new bindings counted (subnet, lease type).
struct Binding<'g, 'm, 's> {
    guards: &'g mut [MutexGuard<'m, SubnetLeases6>],
    cands: &'g [&'s Subnet6],
    own: &'g [(usize, Lease6)],
    fresh: &'g mut Vec<(u32, LeaseType6, Ipv6Addr)>,
}

/// How the IAs of a message are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// SOLICIT without commit: pick and hold (RFC 8415 18.3.1).
    Advertise,
    /// SOLICIT with rapid commit, REQUEST: pick and commit (RFC 8415 18.3.2).
    Commit,
    /// RENEW: extend existing bindings only (RFC 8415 18.3.4).
    Renew,
    /// REBIND: extend existing bindings only (RFC 8415 18.3.5).
    Rebind,
}

/// Where one allocation looks: a candidate subnet, its reservation for the client, the
/// client's classes, and whether the pools may be walked (the second pass).
#[derive(Clone, Copy)]
struct NaPick<'a> {
    subnet: &'a Subnet6,
    host: Option<&'a Reservation6>,
    classes: &'a Classes,
    pass: Pass,
}

/// The passes of one IA's allocation over the candidate subnets: what the client already has
/// or asked for, then the pools, then (a hold never refuses a client) another IA's oldest hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Known,
    Pools,
    OldestHold,
}

/// IA_NA and IA_PD options processed per message, each kind: a client needs one or a few,
/// and each costs an allocation under the subnet locks. The rest are left out of the reply
/// (RFC 8415 18.3.9 lets a server answer only the IAs it will serve), without state.
pub const MAX_IAS_PER_TYPE: usize = 16;

/// Addresses or prefixes looked at per IA in a RENEW, REBIND, RELEASE or DECLINE: a client
/// lists the one or few it has; the rest are ignored.
pub const MAX_ADDRS_PER_IA: usize = 16;

/// Preferred and valid lifetime and the T1/T2 to put in an IA.
#[derive(Debug, Clone, Copy)]
struct Times {
    preferred: u32,
    valid: u32,
    t1: u32,
    t2: u32,
}

impl Engine6 {
    /// Builds the engine: resolves its statistic handles, creating Kea's start-up statistics
    /// at 0, and sets each subnet's `total-nas` / `total-pds` and lease counts.
    pub fn new(cfg: Arc<Dhcp6>, leases: Arc<LeaseMap6>, stats: Arc<Stats>, server_duid: Vec<u8>, now: u64) -> Engine6 {
        let global = Global6::resolve(&stats, now);
        let subnet_stats = BySubnet::resolve(cfg.subnets.iter().map(|s| s.id), |id| {
            let s = cfg.subnets.iter().find(|s| s.id == id);
            let pools: Vec<(u128, u128)> = s
                .map(|s| s.pools.iter().map(|p| (u128::from(p.first), u128::from(p.last))).collect())
                .unwrap_or_default();
            let pd: Vec<(u128, u128)> = s
                .map(|s| {
                    s.pd_pools
                        .iter()
                        .map(|p| (u128::from(p.prefix.network()), u128::from(p.prefix.broadcast())))
                        .collect()
                })
                .unwrap_or_default();
            Subnet6Stats::resolve(&stats, id, &pools, &pd, now)
        });
        let mut totals = (0i64, 0i64, 0i64);
        for s in &cfg.subnets {
            let Some(c) = subnet_stats.get(s.id) else { continue };
            let nas: u128 = s
                .pools
                .iter()
                .map(|p| (u128::from(p.last).saturating_sub(u128::from(p.first))).saturating_add(1))
                .sum();
            let pds: u128 = s
                .pd_pools
                .iter()
                .map(|p| {
                    1u128.checked_shl(u32::from(p.delegated_len.saturating_sub(p.prefix.prefix_len()))).unwrap_or(0)
                })
                .sum();
            // Kea keeps these as big integers; an i64 saturates for the largest pools.
            let big = |n: u128| i64::try_from(n).unwrap_or(i64::MAX);
            c.total.na.set(big(nas), now);
            c.total.pd.set(big(pds), now);
            for (p, st) in s.pools.iter().zip(&c.pools) {
                st.total.set(big((u128::from(p.last).saturating_sub(u128::from(p.first))).saturating_add(1)), now);
            }
            for (p, st) in s.pd_pools.iter().zip(&c.pd_pools) {
                let n =
                    1u128.checked_shl(u32::from(p.delegated_len.saturating_sub(p.prefix.prefix_len()))).unwrap_or(0);
                st.total.set(big(n), now);
            }
            if let Some(l) = leases.subnet(s.id) {
                // Durable leases only: pending changes count when they settle.
                let (na, pd, declined) = l.durable_counts();
                let (na, pd, declined) = (na as i64, pd as i64, declined as i64);
                c.assigned.na.set(na, now);
                c.assigned.pd.set(pd, now);
                c.declined.set(declined, now);
                totals = (totals.0 + na, totals.1 + pd, totals.2 + declined);
                // Address pools first, then prefix pools, in one pass over the leases.
                let k = c.pools.len();
                let group = |ty: LeaseType6, a: Ipv6Addr| match ty {
                    LeaseType6::Pd => c.pd_pools.iter().position(|p| p.contains(u128::from(a))).map(|i| k + i),
                    _ => c.pools.iter().position(|p| p.contains(u128::from(a))),
                };
                let counts = l.durable_counts_by(k + c.pd_pools.len(), group);
                for (st, (na, pd, declined)) in c.pools.iter().chain(&c.pd_pools).zip(counts) {
                    st.assigned.set((na + pd) as i64, now);
                    st.declined.iter().for_each(|d| d.set(declined as i64, now));
                }
            }
        }
        // Global counters are recounted as the sums over the subnets (see Engine4::new).
        global.assigned.na.set(totals.0, now);
        global.assigned.pd.set(totals.1, now);
        global.declined.set(totals.2, now);
        Engine6 { cfg, leases, stats, global, subnet_stats, server_duid, hosts: None }
    }

    /// Has the engine look reservations up in hosts databases too, through `hosts` (Kea ARM
    /// 9.2.3), which the shell fills before each batch is decided.
    pub fn with_hosts(mut self, hosts: Option<Arc<HostCache<Reservation6>>>) -> Engine6 {
        self.hosts = hosts;
        self
    }

    /// The hosts-database reservations this engine sees (Kea ARM 9.2.3).
    pub fn hosts(&self) -> Option<&Arc<HostCache<Reservation6>>> {
        self.hosts.as_ref()
    }

    /// Keeps changes pending until reported durable or failed (see Engine4::track_durability).
    pub fn track_durability(self) -> Engine6 {
        self.leases.track_pending();
        self
    }

    /// Tells the engine that these changes are durable, with the lease statistics of the
    /// durable state's change going to `tally` (see Engine4::synced).
    pub fn synced(&self, changes: &[LeaseChange6], tally: &mut Tally) {
        for c in changes {
            let (l, value) = match c {
                LeaseChange6::Upsert(l, _) => (l, Some(l)),
                LeaseChange6::Delete(l) => (l, None),
            };
            let Some(mut s) = self.leases.subnet(l.subnet_id) else { continue };
            let before = s.settle(l.lease_type, l.address, value).unwrap_or_else(|| c.previous().cloned());
            drop(s);
            self.account(before.as_ref(), value, tally);
        }
    }

    /// Undoes changes whose commit failed (see Engine4::roll_back).
    pub fn roll_back(&self, changes: &[LeaseChange6]) {
        for c in changes.iter().rev() {
            let (l, value) = match c {
                LeaseChange6::Upsert(l, _) => (l, Some(l)),
                LeaseChange6::Delete(l) => (l, None),
            };
            if let Some(mut s) = self.leases.subnet(l.subnet_id) {
                s.roll_back(l.lease_type, l.address, value);
            }
        }
    }

    /// The lease state this engine decides over.
    pub fn leases(&self) -> &Arc<LeaseMap6> {
        &self.leases
    }

    /// The statistics this engine counts in.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// The configured subnet whose prefix holds `addr` (for commands without a subnet id).
    pub fn subnet_of(&self, addr: Ipv6Addr) -> Option<u32> {
        self.cfg.subnets.iter().find(|s| s.prefix.trunc().contains(&addr)).map(|s| s.id)
    }

    /// The lease statistics of a durable lease going from `old` to `new` (Kea ARM 9.13
    /// `assigned-nas`, `assigned-pds`, `declined-addresses`).
    fn account(&self, old: Option<&Lease6>, new: Option<&Lease6>, tally: &mut Tally) {
        // Counted until reclaimed, expired or not (as v4).
        let live = |l: &Lease6| i64::from(matches!(l.state, LeaseState::Declined | LeaseState::Default));
        let declined = |l: &Lease6| i64::from(l.state == LeaseState::Declined);
        for (l, sign) in [(old, -1), (new, 1)] {
            let Some(l) = l else { continue };
            let sub = self.subnet_stats.get(l.subnet_id);
            let (a, d) = (sign * live(l), sign * declined(l));
            sub.inspect(|c| tally.leased(c.assigned(l.lease_type), a));
            tally.leased(self.global.assigned(l.lease_type), a);
            sub.inspect(|c| tally.leased(&c.declined, d));
            tally.leased(&self.global.declined, d);
            if let Some(p) = sub.and_then(|c| c.pool_of(l.lease_type, u128::from(l.address))) {
                tally.leased(&p.assigned, a);
                p.declined.iter().for_each(|x| tally.leased(x, d));
            }
        }
    }

    /// Puts a lease given by `lease6-add` / `lease6-update` / `lease6-bulk-apply` (Kea
    /// lease_cmds); its `subnet_id` must be resolved. Returns whether a lease existed.
    pub fn admin_put(
        &self,
        lease: Lease6,
        mode: super::admin::PutMode,
    ) -> Result<(bool, Vec<LeaseChange6>), super::admin::AdminError> {
        use super::admin::{AdminError, PutMode};
        let subnet = self.cfg.subnets.iter().find(|s| s.id == lease.subnet_id);
        let Some(subnet) = subnet else { return Err(AdminError::NoSubnet(lease.subnet_id)) };
        // Delegated prefixes need not lie inside the subnet (Kea ARM 9.2.9); addresses must.
        if lease.lease_type == LeaseType6::Na && !subnet.prefix.trunc().contains(&lease.address) {
            return Err(AdminError::OutsideSubnet { addr: lease.address.to_string(), subnet: subnet.id });
        }
        let Some(mut map) = self.leases.subnet(subnet.id) else { return Err(AdminError::NoSubnet(subnet.id)) };
        let old = map.get(lease.lease_type, lease.address);
        match (mode, &old) {
            (PutMode::Add, Some(_)) => return Err(AdminError::Conflict(lease.address.to_string())),
            (PutMode::Update, None) => return Err(AdminError::NotFound(lease.address.to_string())),
            _ => {}
        }
        map.upsert(lease.clone());
        drop(map);
        let existed = old.is_some();
        Ok((existed, vec![LeaseChange6::Upsert(lease, old)]))
    }

    /// Deletes the lease of this type at `addr` (`lease6-del`); None when there is none.
    pub fn admin_delete(&self, ty: LeaseType6, addr: Ipv6Addr) -> Option<LeaseChange6> {
        for id in self.leases.subnet_ids() {
            let Some(mut map) = self.leases.subnet(id) else { continue };
            if let Some(old) = map.remove(ty, addr) {
                return Some(LeaseChange6::Delete(old));
            }
        }
        self.leases.orphans().remove(&(ty, addr)).map(LeaseChange6::Delete)
    }

    /// Deletes every lease of a subnet, or of all subnets (`lease6-wipe`); returns the count.
    pub fn admin_wipe(&self, subnet: Option<u32>) -> Vec<LeaseChange6> {
        let mut all_changes = Vec::new();
        for id in self.leases.subnet_ids().into_iter().filter(|id| subnet.is_none_or(|s| s == *id)) {
            let Some(mut map) = self.leases.subnet(id) else { continue };
            let all: Vec<Lease6> = map.leases().collect();
            let mut changes = Vec::new();
            for l in all {
                map.remove(l.lease_type, l.address);
                changes.push(LeaseChange6::Delete(l));
            }
            all_changes.extend(changes);
        }
        all_changes
    }

    /// The server DUID this engine answers with.
    pub fn server_duid(&self) -> &[u8] {
        &self.server_duid
    }

    /// The configuration this engine serves.
    pub fn config(&self) -> &Arc<Dhcp6> {
        &self.cfg
    }

    /// Reclaims expired leases (Kea ARM 9.2.12 "Lease Reclamation"): a lease past its valid
    /// lifetime, or a declined one past its probation, becomes expired-reclaimed and is removed
    /// `hold-reclaimed-time` later (at once when that is 0). At most `max-reclaim-leases` per
    /// run; the rows of each subnet are queued under its lock, like a packet's.
    /// Its statistics go to `tally`, counted once the changes are durable.
    pub fn reclaim(&self, now: u64, tally: &mut Tally, out_of_time: &mut dyn FnMut() -> bool) -> Vec<LeaseChange6> {
        let e = self.cfg.daemon.expired;
        let limit = if e.max_reclaim_leases == 0 { usize::MAX } else { e.max_reclaim_leases as usize };
        self.reclaim_up_to(now, limit, tally, out_of_time)
    }

    /// Deletes the expired-reclaimed leases whose `hold-reclaimed-time` has passed (Kea's
    /// flush of reclaimed leases, every `flush-reclaimed-timer-wait-time`).
    pub fn flush_reclaimed(&self, now: u64) -> Vec<LeaseChange6> {
        let hold = u64::from(self.cfg.daemon.expired.hold_reclaimed_time);
        let changes: Vec<LeaseChange6> =
            self.leases.flush_reclaimed(hold, now).into_iter().map(LeaseChange6::Delete).collect();
        debug!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_RECLAIMED_LEASES_DELETE_COMPLETE successfully deleted {} expired-reclaimed leases", changes.len());
        changes
    }

    /// As [`Self::reclaim`] with an explicit cap (`leases-reclaim` has none, as in Kea).
    pub fn reclaim_up_to(
        &self,
        now: u64,
        limit: usize,
        tally: &mut Tally,
        out_of_time: &mut dyn FnMut() -> bool,
    ) -> Vec<LeaseChange6> {
        let e = self.cfg.daemon.expired;
        let mut changes = Vec::new();
        for s in &self.cfg.subnets {
            if changes.len() >= limit || out_of_time() {
                break;
            }
            let Some(mut leases) = self.leases.subnet(s.id) else { continue };
            let due: Vec<Lease6> = leases
                .leases_where(|state, expire| {
                    matches!(state, LeaseState::Default | LeaseState::Declined) && expire <= now
                })
                .take(limit.saturating_sub(changes.len()))
                .collect();
            for l in due {
                if out_of_time() {
                    debug!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_LEASES_RECLAMATION_TIMEOUT timeout of {} ms reached while reclaiming IPv6 leases", e.max_reclaim_time);
                    break;
                }
                let state = l.state;
                {
                    // assigned / declined follow when the change settles (Self::account).
                    let (g, sub) = (&self.global, self.subnet_stats.get(s.id));
                    let pool = sub.and_then(|c| c.pool_of(l.lease_type, u128::from(l.address)));
                    if state == LeaseState::Declined {
                        sub.inspect(|c| tally.leased(&c.reclaimed_declined, 1));
                        tally.leased(&g.reclaimed_declined, 1);
                        pool.and_then(|p| p.reclaimed_declined.as_ref()).inspect(|x| tally.leased(x, 1));
                    } else {
                        sub.inspect(|c| tally.leased(&c.reclaimed_leases, 1));
                        tally.leased(&g.reclaimed_leases, 1);
                        pool.inspect(|p| tally.leased(&p.reclaimed_leases, 1));
                    }
                    let id = if l.lease_type == LeaseType6::Na {
                        "ALLOC_ENGINE_V6_LEASE_RECLAIM"
                    } else {
                        "ALLOC_ENGINE_V6_PD_LEASE_RECLAIM"
                    };
                    debug!(target: "kea-dhcp6.alloc-engine", "{id} lease {}/{} reclaimed", l.address, l.prefix_len);
                    leases.remove(l.lease_type, l.address);
                    if e.hold_reclaimed_time == 0 {
                        changes.push(LeaseChange6::Delete(l));
                    } else {
                        let r = Lease6 {
                            state: LeaseState::ExpiredReclaimed,
                            hostname: String::new(),
                            fqdn_fwd: false,
                            fqdn_rev: false,
                            ..l.clone()
                        };
                        leases.upsert(r.clone());
                        changes.push(LeaseChange6::Upsert(r, Some(l)));
                    }
                }
            }
        }
        changes
    }

    /// Handles one received datagram as a server without a lease store would (see
    /// Engine4::handle). `rand` seeds the `random` allocator.
    pub fn handle(&self, bytes: &[u8], meta: &RecvMeta6, now: u64, rand: u64) -> Outcome6 {
        let mut tally = Tally::default();
        let out = self.decide(&self.leases, bytes, meta, now, rand, &mut tally);
        let changes = match &out {
            Outcome6::Reply(r) => &r.changes[..],
            Outcome6::Drop(_) => &[],
        };
        super::settle_at_once(self.leases.tracking(), changes, tally, |c, t| self.synced(c, t), now);
        out
    }

    /// Decides one received datagram over the leases of `view` without counting anything:
    /// what it counts goes to `tally` (see Engine4::decide).
    pub fn decide(
        &self,
        view: &LeaseMap6,
        bytes: &[u8],
        meta: &RecvMeta6,
        now: u64,
        rand: u64,
        tally: &mut Tally,
    ) -> Outcome6 {
        tally.seen(&self.global.received, 1);
        let decoded = match decode(bytes) {
            Ok(d) => d,
            Err(e) => {
                debug!(target: "kea-dhcp6.bad-packets", "DHCP6_PACKET_DROP_PARSE_FAIL failed to parse packet from {} to {}, received over interface {}, reason: {e}", meta.src, meta.dst, meta.ifname);
                return self.dropped(DropReason6::ParseFailed(e), tally);
            }
        };
        let outcome = self.handle_pkt(view, &decoded.inner, &decoded.relays, meta, (now, rand), tally);
        if let Outcome6::Drop(r) = &outcome {
            return self.dropped(*r, tally);
        }
        outcome
    }

    fn dropped(&self, r: DropReason6, tally: &mut Tally) -> Outcome6 {
        tally.seen(self.global.drop_reason(r.statistic()), 1);
        if matches!(
            r,
            DropReason6::ParseFailed(_)
                | DropReason6::NotForUs
                | DropReason6::RfcViolation(_)
                | DropReason6::BadIdentifier(_)
        ) {
            tally.seen(&self.global.receive_drop, 1);
        }
        Outcome6::Drop(r)
    }

    /// Handles a decoded message and its relay levels (outermost first).
    fn handle_pkt(
        &self,
        leases: &LeaseMap6,
        pkt: &Pkt6,
        relays: &[RelayMsg],
        meta: &RecvMeta6,
        (now, rand): (u64, u64),
        tally: &mut Tally,
    ) -> Outcome6 {
        let mt = pkt.msg_type;
        let g = &self.global;
        let stat = match mt {
            MessageType::Solicit => &g.solicit_received,
            MessageType::Request => &g.request_received,
            MessageType::Renew => &g.renew_received,
            MessageType::Rebind => &g.rebind_received,
            MessageType::Release => &g.release_received,
            MessageType::Decline => &g.decline_received,
            MessageType::InformationRequest => &g.infrequest_received,
            MessageType::Confirm => &g.confirm_received,
            _ => &g.unknown_received,
        };
        tally.seen(stat, 1);
        debug!(target: "kea-dhcp6.packets", "DHCP6_PACKET_RECEIVED {}: {} (type {}) received from {} to {} on interface {}", tid(pkt), mt.name(), mt.as_u8(), meta.src, meta.dst, meta.ifname);
        // Kea cannot build a DUID outside its limits and drops the packet; checked before
        // anything is keyed on it.
        if let Err(e) = check_v6(pkt.client_id()) {
            debug!(target: "kea-dhcp6.bad-packets", "DHCP6_PACKET_DROP_PARSE_FAIL failed to parse packet from {} to {}, received over interface {}, reason: {e}", meta.src, meta.dst, meta.ifname);
            return Outcome6::Drop(DropReason6::BadIdentifier(e));
        }
        if let Err(r) = self.sanity_check(pkt) {
            return Outcome6::Drop(r);
        }
        // Kea's testUnicast: these four must reach the server by multicast unless relayed.
        if relays.is_empty()
            && !meta.dst.is_multicast()
            && matches!(
                mt,
                MessageType::Solicit | MessageType::Confirm | MessageType::Rebind | MessageType::InformationRequest
            )
        {
            debug!(target: "kea-dhcp6.bad-packets", "DHCP6_PACKET_DROP_UNICAST {}: dropping unicast {} packet as this packet should be sent to multicast", tid(pkt), mt.name());
            return Outcome6::Drop(DropReason6::Unicast);
        }
        let duid = pkt.client_id().unwrap_or_default().to_vec();
        let hw = self.client_hwaddr(&duid, relays, *meta.src.ip());
        let (pre, early_known) = self.early_classes(pkt, &duid, hw.as_ref());
        let ctx = Ctx { leases, pkt, relays, meta, duid, hw, now, rand, pre, early_known, tally: RefCell::new(tally) };
        match mt {
            MessageType::Solicit => {
                // RFC 8415 18.3.1: rapid commit only when both the client and the subnet want it.
                let subnet = self.select_subnet(&ctx);
                let rapid = pkt.rapid_commit() && subnet.is_some_and(|s| s.params.rapid_commit);
                self.assign(&ctx, if rapid { Mode::Commit } else { Mode::Advertise })
            }
            MessageType::Request => self.assign(&ctx, Mode::Commit),
            MessageType::Renew => self.assign(&ctx, Mode::Renew),
            MessageType::Rebind => self.assign(&ctx, Mode::Rebind),
            MessageType::Release => self.release(&ctx),
            MessageType::Decline => self.decline(&ctx),
            MessageType::InformationRequest => self.info_request(&ctx),
            MessageType::Confirm => self.confirm(&ctx),
            _ => Outcome6::Drop(DropReason6::Unsupported),
        }
    }

    /// RFC 8415 section 16: which messages must carry or must not carry the identifiers.
    fn sanity_check(&self, pkt: &Pkt6) -> Result<(), DropReason6> {
        let cid = pkt.client_id().is_some_and(|c| !c.is_empty());
        let sid = pkt.server_id();
        let ours = sid.is_some_and(|s| s == self.server_duid.as_slice());
        match pkt.msg_type {
            MessageType::Solicit | MessageType::Rebind | MessageType::Confirm => {
                if !cid {
                    return Err(DropReason6::RfcViolation("no client identifier"));
                }
                if sid.is_some() {
                    return Err(DropReason6::RfcViolation("server identifier in SOLICIT/REBIND/CONFIRM"));
                }
            }
            MessageType::Request | MessageType::Renew | MessageType::Release | MessageType::Decline => {
                if !cid {
                    return Err(DropReason6::RfcViolation("no client identifier"));
                }
                if sid.is_none() {
                    return Err(DropReason6::RfcViolation("no server identifier"));
                }
                if !ours {
                    return Err(DropReason6::NotForUs);
                }
            }
            MessageType::InformationRequest => {
                if sid.is_some() && !ours {
                    return Err(DropReason6::NotForUs);
                }
            }
            _ => return Err(DropReason6::Unsupported),
        }
        Ok(())
    }

    // ---- subnet selection (Kea ARM 9.2.5, 9.4.1; RFC 8415 section 13.1) ----

    fn select_subnet(&self, ctx: &Ctx<'_>) -> Option<&Subnet6> {
        // Kea ARM 14.1 step 7: a subnet guarded by classes the message is not in is skipped.
        let subnets = || self.cfg.subnets.iter().filter(|s| ctx.pre.admits(&s.client_classes));
        if let Some(inner) = ctx.relays.last() {
            // The relay closest to the client names its link: interface-id first, then a
            // `relay` address, then the link-address inside a subnet prefix.
            if let Some(iid) = inner.interface_id() {
                if let Some(s) = subnets().find(|s| s.interface_id.as_deref().is_some_and(|i| i.as_bytes() == iid)) {
                    return Some(s);
                }
            }
            // An unspecified link-address defers to the next relay out (RFC 8415 19.1.1).
            let link = ctx.relays.iter().rev().map(|r| r.link_addr).find(|a| !a.is_unspecified())?;
            if let Some(s) = subnets().find(|s| s.relay.contains(&link)) {
                return Some(s);
            }
            return subnets().find(|s| s.prefix.trunc().contains(&link));
        }
        if let Some(s) = subnets().find(|s| s.interface.as_deref() == Some(ctx.meta.ifname.as_str())) {
            return Some(s);
        }
        let src = *ctx.meta.src.ip();
        if is_global(src) {
            if let Some(s) = subnets().find(|s| s.prefix.trunc().contains(&src)) {
                return Some(s);
            }
        }
        subnets().find(|s| ctx.meta.iface_addrs.iter().any(|a| is_global(*a) && s.prefix.trunc().contains(a)))
    }

    /// The first hardware address the configured `mac-sources` yield (Kea ARM 9.2.20).
    /// DOCSIS sources are not decoded (no DOCSIS vendor options are parsed) and `raw` has no
    /// frame to read on a UDP socket: both yield nothing, as `raw` does in Kea for DHCPv6.
    fn client_hwaddr(&self, duid: &[u8], relays: &[RelayMsg], peer: Ipv6Addr) -> Option<(u16, Vec<u8>, u32)> {
        use crate::config::model::MacSource;
        let inner = relays.last();
        for src in &self.cfg.mac_sources {
            let found: Option<(u16, Vec<u8>)> = match src {
                MacSource::Duid => Duid(duid.to_vec()).hwaddr().map(|(t, a)| (t, a.to_vec())),
                MacSource::Ipv6LinkLocal => {
                    let a = inner.map_or(peer, |r| r.peer_addr).octets();
                    // A modified EUI-64 interface id (RFC 4291 appendix A) carries the MAC.
                    let link_local = a[0] == 0xfe && a[1] & 0xc0 == 0x80;
                    (link_local && a[11] == 0xff && a[12] == 0xfe)
                        .then(|| (1, vec![a[8] ^ 0x02, a[9], a[10], a[13], a[14], a[15]]))
                }
                MacSource::ClientLinkAddrOption => {
                    inner.and_then(|r| r.client_linklayer_addr()).map(|(t, a)| (t, a.to_vec()))
                }
                MacSource::RemoteId => inner.and_then(|r| r.remote_id()).map(|(_, a)| (1, a.to_vec())),
                MacSource::SubscriberId => inner.and_then(|r| r.subscriber_id()).map(|a| (1, a.to_vec())),
                MacSource::Raw | MacSource::DocsisCmts | MacSource::DocsisModem => None,
            };
            // A source yielding more than Kea's HWAddr holds is skipped, as an empty one is:
            // the packet is still served by DUID.
            if let Some((t, a)) = found.filter(|(_, a)| !a.is_empty() && a.len() <= HWADDR_MAX_LEN) {
                return Some((t, a, src.bit()));
            }
        }
        None
    }

    // ---- host reservations (Kea ARM 9.3) ----

    /// The host identifiers of a message from `peer` (its DUID, the hardware address
    /// `mac-sources` find), read from hosts databases before the message is decided.
    pub fn message_host_identifiers(&self, pkt: &Pkt6, relays: &[RelayMsg], peer: Ipv6Addr) -> Vec<HostIdentifier> {
        let duid = pkt.client_id().unwrap_or_default();
        self.host_identifiers(duid, self.client_hwaddr(duid, relays, peer).as_ref())
    }

    /// The client's host identifiers in `host-reservation-identifiers` order.
    fn host_identifiers(&self, duid: &[u8], hw: Option<&(u16, Vec<u8>, u32)>) -> Vec<HostIdentifier> {
        let of = |kind: &str| match kind {
            "duid" if !duid.is_empty() => Some(HostIdentifier::Duid(duid.to_vec())),
            "hw-address" => hw.map(|(_, a, _)| HostIdentifier::HwAddress(a.clone())),
            _ => None,
        };
        self.cfg.host_reservation_identifiers.iter().filter_map(|k| of(k)).collect()
    }

    fn find_reservation<'s>(&'s self, ctx: &Ctx<'_>, subnet: &'s Subnet6) -> Option<HostRef<'s, Reservation6>> {
        let p = &subnet.params;
        let local = p.reservations_in_subnet.then_some((subnet.reservations.as_slice(), subnet.id));
        let global = p.reservations_global.then_some(self.cfg.reservations.as_slice());
        let ids = self.host_identifiers(&ctx.duid, ctx.hw.as_ref());
        super::find_host(&ids, local, global, self.hosts.as_deref(), |r| &r.identifier)
    }

    /// True when a hosts database reserves `a` (kind 0: an address, 2: a prefix) in `subnet`
    /// for a host other than `mine`.
    fn db_reserved(&self, subnet: &Subnet6, a: Ipv6Addr, kind: u8, mine: Option<&Reservation6>) -> bool {
        self.hosts
            .as_ref()
            .is_some_and(|h| h.reserved_for_other(&(subnet.id, IpAddr::V6(a), kind), mine.map(|m| &m.identifier)))
    }

    fn reserved_na_for_other(&self, subnet: &Subnet6, a: Ipv6Addr, mine: Option<&Reservation6>) -> bool {
        subnet.reservations.iter().any(|r| r.ip_addresses.contains(&a) && Some(r) != mine)
            || self.db_reserved(subnet, a, 0, mine)
    }

    fn reserved_pd_for_other(&self, subnet: &Subnet6, a: Ipv6Addr, mine: Option<&Reservation6>) -> bool {
        subnet.reservations.iter().any(|r| r.prefixes.iter().any(|p| p.network() == a) && Some(r) != mine)
            || self.db_reserved(subnet, a, 2, mine)
    }

    fn pool_admits(guard: &[String], classes: &Classes) -> bool {
        classes.admits(guard)
    }

    fn in_na_pool(subnet: &Subnet6, a: Ipv6Addr, classes: &Classes) -> bool {
        subnet.pools.iter().any(|p| p.first <= a && a <= p.last && Self::pool_admits(&p.client_classes, classes))
    }

    fn pd_pool_of(subnet: &Subnet6, a: Ipv6Addr, len: u8, classes: &Classes) -> Option<usize> {
        subnet.pd_pools.iter().position(|p| {
            p.delegated_len == len && p.prefix.trunc().contains(&a) && Self::pool_admits(&p.client_classes, classes)
        })
    }

    // ---- lifetimes (Kea ARM 9.2.4; RFC 8415 sections 14.2, 21.4) ----

    /// Lifetimes for an IA in `subnet`: the client's hint (preferred, valid) when it sent one,
    /// else the default, then bounded by min/max; T1/T2 configured or calculated.
    /// `cap` bounds the valid lifetime (see [`Self::adaptive_cap`]). As Kea's getValidLft /
    /// getPreferredLft: the first of the message's classes that sets a lifetime gives it,
    /// else the subnet's (inherited) triplet.
    fn times(&self, subnet: &Subnet6, classes: &Classes, hint: Option<(u32, u32)>, cap: Option<u32>) -> Times {
        let p = &subnet.params;
        let by_class = |of: fn(&crate::config::model::ClientClass6) -> Triplet, own: Triplet| {
            self.cfg
                .client_classes
                .iter()
                .find(|c| classes.contains(&c.name) && of(c) != Triplet::default())
                .map_or(own, |c| of(c).inherit(Triplet { min: None, max: None, ..own }))
        };
        let (valid_t, preferred_t) = (by_class(|c| c.valid, p.valid), by_class(|c| c.preferred, p.preferred));
        // Kea's rule: an unset bound equals the default, so without min/max a hint cannot move
        // the lifetime; with them, a non-zero hint is clamped into [min, max].
        let pick = |t: Triplet, dflt: u32, hint: u32| {
            let d = t.default.unwrap_or(dflt);
            let (mn, mx) = (t.min.unwrap_or(d), t.max.unwrap_or(d));
            let v = if hint > 0 { hint } else { d };
            v.max(mn).min(mx.max(mn))
        };
        let (hp, hv) = hint.unwrap_or((0, 0));
        // Kea's GLOBAL6_DEFAULTS when no scope sets a default.
        let valid = pick(valid_t, 7200, hv).min(cap.unwrap_or(u32::MAX));
        // RFC 8415 21.6: the preferred lifetime never exceeds the valid one.
        let preferred = pick(preferred_t, 3600, hp).min(valid);
        // Kea's setTeeTimes: configured timers first, calculated ones from the preferred lifetime.
        let calc = |pct: f64| p.calculate_tee_times.then(|| (f64::from(preferred) * pct) as u32);
        let t2 = p.rebind_timer.or_else(|| calc(p.t2_percent)).unwrap_or(0);
        let t1 = p.renew_timer.or_else(|| calc(p.t1_percent)).unwrap_or(0);
        // RFC 8415 21.4: T1 must not exceed T2; a bad pair is left to the client (zeros).
        let (t1, t2) = if t2 > 0 && t1 > t2 { (0, 0) } else { (t1, t2) };
        Times { preferred, valid, t1, t2 }
    }

    /// Kea checks a candidate against reservations before the lease table when
    /// `reservations-lookup-first` is set, and always under multi-threading (Kea ARM 9.3.7).
    fn reservations_first(&self) -> bool {
        self.cfg.daemon.reservations_lookup_first || self.cfg.daemon.packet_threads != 1
    }

    /// Where an allocator starts its search: a random point for `random`, the pool's cursor
    /// otherwise (flq's point, no pool scan, is what the bounded bitmap search gives).
    fn start(kind: AllocatorKind, ctx: &Ctx<'_>) -> Option<u64> {
        (kind == AllocatorKind::Random).then_some(ctx.rand)
    }

    /// Kea 3.1's `adaptive-lease-time-threshold` with the flq allocator: when the pools of
    /// this lease type the client may use are fuller than the threshold (counting the lease
    /// being given; from the pools' `assigned-*` statistics), the valid lifetime is capped at
    /// the minimum valid lifetime, or what the client's current lease has left if longer.
    fn adaptive_cap(
        &self,
        subnet: &Subnet6,
        ty: LeaseType6,
        classes: &Classes,
        current: Option<&Lease6>,
        now: u64,
    ) -> Option<u32> {
        let p = &subnet.params;
        let alloc = if ty == LeaseType6::Pd { p.pd_allocator } else { p.allocator };
        let threshold = p.adaptive_threshold.filter(|_| alloc == AllocatorKind::Flq)?;
        let st = self.subnet_stats.get(subnet.id)?;
        let guards: Vec<&[String]> = match ty {
            LeaseType6::Pd => subnet.pd_pools.iter().map(|p| p.client_classes.as_slice()).collect(),
            _ => subnet.pools.iter().map(|p| p.client_classes.as_slice()).collect(),
        };
        let stats = if ty == LeaseType6::Pd { &st.pd_pools } else { &st.pools };
        let (mut used, mut size) = (1.0f64, 0.0f64);
        for (guard, ps) in guards.iter().zip(stats) {
            if Self::pool_admits(guard, classes) {
                used += ps.assigned.value().unwrap_or(0) as f64;
                size += ps.total.value().unwrap_or(0) as f64;
            }
        }
        if size == 0.0 || used / size <= threshold {
            return None;
        }
        let min = p.valid.min.or(p.valid.default).unwrap_or(7200);
        let left = current.filter(|l| l.state == LeaseState::Default).map_or(0, |l| l.expire().saturating_sub(now));
        Some(min.max(u32::try_from(left).unwrap_or(u32::MAX)))
    }

    // ---- SOLICIT, REQUEST, RENEW, REBIND ----

    /// The subnets an allocation may use (Kea ARM 9.6 "Shared Networks in DHCPv6"): the
    /// selected one first, then the other subnets of its shared network in configuration order.
    fn candidates<'s>(&'s self, selected: &'s Subnet6) -> Vec<&'s Subnet6> {
        let mut v = vec![selected];
        if let Some(net) = &selected.shared_network {
            v.extend(self.cfg.subnets.iter().filter(|s| s.id != selected.id && s.shared_network.as_ref() == Some(net)));
        }
        v
    }

    /// The classes known before subnet selection (Kea ARM 14.1 steps 1-6): ALL,
    /// VENDOR_CLASS_<first vendor class tuple of option 16>, and with
    /// `early-global-reservations-lookup` a global reservation's classes and KNOWN. The second
    /// value says whether such a reservation was found.
    fn early_classes(&self, pkt: &Pkt6, duid: &[u8], hw: Option<&(u16, Vec<u8>, u32)>) -> (Classes, bool) {
        // Option 16: enterprise number, then length-prefixed opaque tuples (RFC 8415 21.16).
        let vendor = pkt.options.get(code::VENDOR_CLASS).and_then(|v| {
            let len = usize::from(u16::from_be_bytes([*v.get(4)?, *v.get(5)?]));
            v.get(6..6 + len)
        });
        let mut c = Classes::initial(vendor);
        if !self.cfg.daemon.early_global_reservations_lookup {
            return (c, false);
        }
        let ids = self.host_identifiers(duid, hw);
        let Some(host) =
            super::find_host(&ids, None, Some(&self.cfg.reservations), self.hosts.as_deref(), |r| &r.identifier)
        else {
            return (c, false);
        };
        host.client_classes.iter().for_each(|n| c.add(n));
        c.add("KNOWN");
        (c, true)
    }

    /// The message's classes once reservations are looked up (Kea ARM 14.1 steps 8-9): KNOWN
    /// or UNKNOWN, and the classes the reservations found name.
    fn classes(ctx: &Ctx<'_>, hosts: &[Option<&Reservation6>]) -> Classes {
        let mut c = ctx.pre.clone();
        c.set_known(ctx.early_known || hosts.iter().any(Option::is_some));
        hosts.iter().flatten().flat_map(|h| h.client_classes.iter()).for_each(|n| c.add(n));
        c
    }

    fn assign(&self, ctx: &Ctx<'_>, mode: Mode) -> Outcome6 {
        let pkt = ctx.pkt;
        let Some(selected) = self.select_subnet(ctx) else {
            debug!(target: "kea-dhcp6.dhcp6", "DHCP6_SUBNET_SELECTION_FAILED {}: failed to select subnet for the client", tid(pkt));
            return self.no_subnet(ctx, mode);
        };
        let cands = self.candidates(selected);
        let found: Vec<Option<HostRef<'_, Reservation6>>> =
            cands.iter().map(|s| self.find_reservation(ctx, s)).collect();
        let hosts: Vec<Option<&Reservation6>> = found.iter().map(|h| h.as_deref()).collect();
        let classes = Self::classes(ctx, &hosts);
        let reply_type = if mode == Mode::Advertise { MessageType::Advertise } else { MessageType::Reply };
        let mut reply = self.skeleton(ctx, reply_type);
        if mode == Mode::Commit && pkt.msg_type == MessageType::Solicit {
            reply.options.push(code::RAPID_COMMIT, Vec::new());
        }
        // Every candidate subnet is locked for the whole decision, always in ascending id
        // order, so two decisions over overlapping shared networks cannot deadlock.
        let mut order: Vec<usize> = (0..cands.len()).collect();
        order.sort_by_key(|&i| cands[i].id);
        let mut slots: Vec<Option<MutexGuard<'_, SubnetLeases6>>> = (0..cands.len()).map(|_| None).collect();
        for i in order {
            match ctx.leases.subnet(cands[i].id) {
                Some(g) => slots[i] = Some(g),
                None => return Outcome6::Drop(DropReason6::NoSubnet),
            }
        }
        let mut guards: Vec<MutexGuard<'_, SubnetLeases6>> = slots.into_iter().flatten().collect();
        let mut changes = Vec::new();
        let mut fresh: Vec<(u32, LeaseType6, Ipv6Addr)> = Vec::new();
        // The subnet and pool that supply the reply's options: those of the first lease given.
        let mut used: Option<(usize, Option<&[OptionValue]>)> = None;
        let wants_exclude = pkt.oro().contains(&code::PD_EXCLUDE);
        let extending = matches!(mode, Mode::Renew | Mode::Rebind);
        for ia in pkt.options.get_all(code::IA_NA).take(MAX_IAS_PER_TYPE) {
            // A malformed IA is ignored, like an unknown option, rather than failing the message.
            let Ok(ia) = IaNa::parse(ia) else { continue };
            let key = IaKey { duid: ctx.duid.clone(), iaid: ia.iaid, ty: LeaseType6::Na };
            let hint = ia.addrs.first().map(|a| a.addr);
            let life_hint = ia.addrs.first().map(|a| (a.preferred, a.valid));
            let mut out = IaNa::new(ia.iaid, 0, 0);
            let own: Vec<(usize, Lease6)> = guards
                .iter()
                .enumerate()
                .flat_map(|(i, g)| g.by_client(&key).into_iter().map(move |l| (i, l)))
                .collect();
            // Renewing: the client's usable lease, else (as Kea's renewLeases6) a new one.
            let usable = own
                .iter()
                .find(|(i, l)| {
                    l.state == LeaseState::Default && self.na_usable(cands[*i], l.address, hosts[*i], &classes)
                })
                .map(|(i, l)| (*i, l.address));
            let picked = if let Some(p) = usable.filter(|_| extending) {
                Some(p)
            } else {
                let mut found = None;
                'passes: for pass in [Pass::Known, Pass::Pools, Pass::OldestHold] {
                    for (i, g) in guards.iter_mut().enumerate() {
                        let mine: Vec<Lease6> = own.iter().filter(|(j, _)| *j == i).map(|(_, l)| l.clone()).collect();
                        let pick = NaPick { subnet: cands[i], host: hosts[i], classes: &classes, pass };
                        if let Some(a) = self.pick_na(ctx, &pick, g, &key, &mine, hint) {
                            found = Some((i, a));
                            break 'passes;
                        }
                    }
                }
                found
            };
            match picked {
                Some((i, addr)) => {
                    let subnet = cands[i];
                    let current = own.iter().find(|(j, l)| *j == i && l.address == addr).map(|(_, l)| l);
                    let cap = self.adaptive_cap(subnet, LeaseType6::Na, &classes, current, ctx.now);
                    let times = self.times(subnet, &classes, life_hint, cap);
                    let reuse = if mode == Mode::Advertise {
                        None
                    } else {
                        self.reusable(ctx, subnet, hosts[i], &guards[i], current, &times)
                    };
                    out.t1 = times.t1;
                    out.t2 = times.t2;
                    let (preferred, valid) = reuse.unwrap_or((times.preferred, times.valid));
                    out.addrs.push(IaAddr { addr, preferred, valid, status: None, other: Vec::new() });
                    if used.is_none() {
                        let pool = subnet.pools.iter().find(|p| p.first <= addr && addr <= p.last);
                        used = Some((i, pool.map(|p| p.options.as_slice())));
                    }
                    if mode == Mode::Advertise {
                        guards[i].hold_offer(addr, &key, ctx.now);
                        info!(target: "kea-dhcp6.leases", "DHCP6_LEASE_ADVERT {}: lease for address {addr} and iaid={} will be advertised", tid(pkt), ia.iaid);
                    } else if reuse.is_some() {
                        self.count_reuse(ctx, subnet, LeaseType6::Na);
                        info!(target: "kea-dhcp6.leases", "DHCP6_LEASE_REUSE {}: lease for address {addr} and iaid={} has been reused for {valid} seconds", tid(pkt), ia.iaid);
                    } else {
                        let mut b = Binding { guards: &mut guards, cands: &cands, own: &own, fresh: &mut fresh };
                        let lease = self.lease(ctx, subnet, hosts[i], &key, addr, 128, times);
                        Self::bind(&mut b, i, lease, &mut changes);
                        let (id, verb) = if extending {
                            ("DHCP6_LEASE_RENEW", "renewed")
                        } else {
                            ("DHCP6_LEASE_ALLOC", "allocated")
                        };
                        info!(target: "kea-dhcp6.leases", "{id} {}: lease for address {addr} and iaid={} has been {verb} for {} seconds", tid(pkt), ia.iaid, times.valid);
                    }
                }
                None => {
                    let text = if extending {
                        "Sorry, no addresses could be assigned at this time."
                    } else {
                        "Sorry, no address could be allocated."
                    };
                    out.status = Some(StatusCode::new(StatusCode::NO_ADDRS_AVAIL, text));
                    self.subnet_stats.get(selected.id).inspect(|c| ctx.tally.borrow_mut().seen(&c.alloc_fail, 1));
                    info!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_ALLOC_FAIL {}: failed to allocate an IPv6 lease after {} attempt(s)", tid(pkt), cands.len());
                }
            }
            // RFC 8415 18.3.4/18.3.5: addresses the client listed but is not given here (another
            // client's, or not appropriate for the link) come back with zero lifetimes.
            if extending {
                for a in ia.addrs.iter().take(MAX_ADDRS_PER_IA) {
                    if !out.addrs.iter().any(|x| x.addr == a.addr) {
                        out.addrs.push(IaAddr {
                            addr: a.addr,
                            preferred: 0,
                            valid: 0,
                            status: None,
                            other: Vec::new(),
                        });
                    }
                }
            }
            let mut buf = Vec::new();
            out.encode(&mut buf);
            reply.options.push(code::IA_NA, buf);
        }
        for ia in pkt.options.get_all(code::IA_PD).take(MAX_IAS_PER_TYPE) {
            let Ok(ia) = IaPd::parse(ia) else { continue };
            let key = IaKey { duid: ctx.duid.clone(), iaid: ia.iaid, ty: LeaseType6::Pd };
            let hint = ia.prefixes.first().map(|p| (p.prefix, p.prefix_len));
            let life_hint = ia.prefixes.first().map(|p| (p.preferred, p.valid));
            let mut out = IaPd::new(ia.iaid, 0, 0);
            let own: Vec<(usize, Lease6)> = guards
                .iter()
                .enumerate()
                .flat_map(|(i, g)| g.by_client(&key).into_iter().map(move |l| (i, l)))
                .collect();
            let usable = own
                .iter()
                .find(|(i, l)| {
                    l.state == LeaseState::Default
                        && self.pd_usable(cands[*i], l.address, l.prefix_len, hosts[*i], &classes)
                })
                .map(|(i, l)| (*i, l.address, l.prefix_len));
            let picked = if let Some(p) = usable.filter(|_| extending) {
                Some(p)
            } else {
                let mut found = None;
                'pd_passes: for pass in [Pass::Known, Pass::Pools, Pass::OldestHold] {
                    for (i, g) in guards.iter_mut().enumerate() {
                        let mine: Vec<Lease6> = own.iter().filter(|(j, _)| *j == i).map(|(_, l)| l.clone()).collect();
                        let pick = NaPick { subnet: cands[i], host: hosts[i], classes: &classes, pass };
                        if let Some((p, len)) = self.pick_pd(ctx, &pick, g, &key, &mine, hint) {
                            found = Some((i, p, len));
                            break 'pd_passes;
                        }
                    }
                }
                found
            };
            match picked {
                Some((i, prefix, len)) => {
                    let subnet = cands[i];
                    let current = own.iter().find(|(j, l)| *j == i && l.address == prefix).map(|(_, l)| l);
                    let cap = self.adaptive_cap(subnet, LeaseType6::Pd, &classes, current, ctx.now);
                    let times = self.times(subnet, &classes, life_hint, cap);
                    let reuse = if mode == Mode::Advertise {
                        None
                    } else {
                        self.reusable(ctx, subnet, hosts[i], &guards[i], current, &times)
                    };
                    out.t1 = times.t1;
                    out.t2 = times.t2;
                    let pool = Self::pd_pool_of(subnet, prefix, len, &classes).and_then(|k| subnet.pd_pools.get(k));
                    // RFC 6603 4.2: the excluded prefix goes to clients that ask for it.
                    let excluded =
                        pool.and_then(|p| p.excluded).filter(|_| wants_exclude).map(|e| (e.network(), e.prefix_len()));
                    if used.is_none() {
                        used = Some((i, pool.map(|p| p.options.as_slice())));
                    }
                    let (preferred, valid) = reuse.unwrap_or((times.preferred, times.valid));
                    out.prefixes.push(IaPrefix {
                        preferred,
                        valid,
                        prefix_len: len,
                        prefix,
                        excluded,
                        status: None,
                        other: Vec::new(),
                    });
                    if mode == Mode::Advertise {
                        guards[i].hold_offer(prefix, &key, ctx.now);
                        info!(target: "kea-dhcp6.leases", "DHCP6_PD_LEASE_ADVERT {}: lease for prefix {prefix}/{len} and iaid={} will be advertised", tid(pkt), ia.iaid);
                    } else if reuse.is_some() {
                        self.count_reuse(ctx, subnet, LeaseType6::Pd);
                        info!(target: "kea-dhcp6.leases", "DHCP6_PD_LEASE_REUSE {}: lease for prefix {prefix}/{len} and iaid={} has been reused for {valid} seconds", tid(pkt), ia.iaid);
                    } else {
                        let mut b = Binding { guards: &mut guards, cands: &cands, own: &own, fresh: &mut fresh };
                        let lease = self.lease(ctx, subnet, hosts[i], &key, prefix, len, times);
                        Self::bind(&mut b, i, lease, &mut changes);
                        let (id, verb) = if extending {
                            ("DHCP6_PD_LEASE_RENEW", "renewed")
                        } else {
                            ("DHCP6_PD_LEASE_ALLOC", "allocated")
                        };
                        info!(target: "kea-dhcp6.leases", "{id} {}: lease for prefix {prefix}/{len} and iaid={} has been {verb} for {} seconds", tid(pkt), ia.iaid, times.valid);
                    }
                }
                None => {
                    let text = if extending {
                        "Sorry, no prefixes could be assigned at this time."
                    } else {
                        "Sorry, no prefixes could be allocated."
                    };
                    out.status = Some(StatusCode::new(StatusCode::NO_PREFIX_AVAIL, text));
                    self.subnet_stats.get(selected.id).inspect(|c| ctx.tally.borrow_mut().seen(&c.alloc_fail, 1));
                    info!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_ALLOC_FAIL {}: failed to allocate an IPv6 lease after {} attempt(s)", tid(pkt), cands.len());
                }
            }
            // As for addresses: listed prefixes not given here come back with zero lifetimes.
            if extending {
                for p in ia.prefixes.iter().take(MAX_ADDRS_PER_IA) {
                    if !out.prefixes.iter().any(|x| x.prefix == p.prefix && x.prefix_len == p.prefix_len) {
                        out.prefixes.push(IaPrefix { preferred: 0, valid: 0, ..p.clone() });
                    }
                }
            }
            let mut buf = Vec::new();
            out.encode(&mut buf);
            reply.options.push(code::IA_PD, buf);
        }
        drop(guards);
        for (subnet, ty, addr) in fresh {
            self.count_new_binding(ctx, subnet, ty, addr);
        }
        let (i, pool_opts) = used.unwrap_or((0, None));
        // Option 39 answers the client's, named after its first address.
        let first = reply
            .options
            .get_all(code::IA_NA)
            .filter_map(|b| IaNa::parse(b).ok())
            .find_map(|ia| ia.addrs.first().map(|a| a.addr));
        if let Some(payload) = self.naming(ctx, cands[i], hosts[i], first.unwrap_or(Ipv6Addr::UNSPECIFIED)).1 {
            reply.options.push(code::CLIENT_FQDN, payload);
        }
        self.add_options(ctx, &mut reply, Some(cands[i]), hosts[i], pool_opts, &classes);
        self.reply(ctx, reply, changes)
    }

    /// The reply when no subnet fits the client (Kea's assignIA_NA / assignIA_PD / extendIA_*
    /// without a subnet): every IA comes back empty with a status, and the global options
    /// the client asked for are sent.
    fn no_subnet(&self, ctx: &Ctx<'_>, mode: Mode) -> Outcome6 {
        let pkt = ctx.pkt;
        let extending = matches!(mode, Mode::Renew | Mode::Rebind);
        let mut reply =
            self.skeleton(ctx, if mode == Mode::Advertise { MessageType::Advertise } else { MessageType::Reply });
        let na = if extending {
            StatusCode::new(StatusCode::NO_BINDING, "Sorry, no known leases for this duid/iaid.")
        } else {
            StatusCode::new(StatusCode::NO_ADDRS_AVAIL, "Server could not select subnet for this client")
        };
        let pd = if extending {
            StatusCode::new(StatusCode::NO_BINDING, "Sorry, no known PD leases for this duid/iaid.")
        } else {
            StatusCode::new(StatusCode::NO_PREFIX_AVAIL, "Sorry, no subnet available.")
        };
        for ia in pkt.options.get_all(code::IA_NA).take(MAX_IAS_PER_TYPE).filter_map(|b| IaNa::parse(b).ok()) {
            let mut buf = Vec::new();
            IaNa { status: Some(na.clone()), ..IaNa::new(ia.iaid, 0, 0) }.encode(&mut buf);
            reply.options.push(code::IA_NA, buf);
        }
        for ia in pkt.options.get_all(code::IA_PD).take(MAX_IAS_PER_TYPE).filter_map(|b| IaPd::parse(b).ok()) {
            let mut buf = Vec::new();
            IaPd { status: Some(pd.clone()), ..IaPd::new(ia.iaid, 0, 0) }.encode(&mut buf);
            reply.options.push(code::IA_PD, buf);
        }
        self.add_options(ctx, &mut reply, None, None, None, &Self::classes(ctx, &[]));
        self.reply(ctx, reply, Vec::new())
    }

    /// A binding the client did not hold (Kea ARM 9.13 `cumulative-assigned-nas` / `-pds`),
    /// counted once the lease is durable.
    fn count_new_binding(&self, ctx: &Ctx<'_>, subnet: u32, ty: LeaseType6, addr: Ipv6Addr) {
        let mut tally = ctx.tally.borrow_mut();
        let sub = self.subnet_stats.get(subnet);
        sub.inspect(|c| tally.leased(c.cumulative(ty), 1));
        tally.leased(self.global.cumulative(ty), 1);
        if let Some(p) = sub.and_then(|c| c.pool_of(ty, u128::from(addr))) {
            tally.leased(&p.cumulative_assigned, 1);
        }
    }

    fn na_usable(&self, subnet: &Subnet6, a: Ipv6Addr, host: Option<&Reservation6>, classes: &Classes) -> bool {
        let reserved_here = host.is_some_and(|h| h.ip_addresses.contains(&a));
        reserved_here || (Self::in_na_pool(subnet, a, classes) && !self.reserved_na_for_other(subnet, a, host))
    }

    fn pd_usable(
        &self,
        subnet: &Subnet6,
        a: Ipv6Addr,
        len: u8,
        host: Option<&Reservation6>,
        classes: &Classes,
    ) -> bool {
        let reserved_here = host.is_some_and(|h| h.prefixes.iter().any(|p| p.network() == a && p.prefix_len() == len));
        reserved_here
            || (Self::pd_pool_of(subnet, a, len, classes).is_some() && !self.reserved_pd_for_other(subnet, a, host))
    }

    /// Kea's allocation order in one subnet: reservation, the IA's lease, the client's hint,
    /// the address already advertised, then (when `pick.pools`) the pools the client's classes
    /// admit.
    fn pick_na(
        &self,
        ctx: &Ctx<'_>,
        pick: &NaPick<'_>,
        leases: &mut SubnetLeases6,
        key: &IaKey,
        own: &[Lease6],
        hint: Option<Ipv6Addr>,
    ) -> Option<Ipv6Addr> {
        let NaPick { subnet, host, classes, pass } = *pick;
        let now = ctx.now;
        let ty = LeaseType6::Na;
        let out_of_pool = subnet.params.reservations_out_of_pool;
        let excluded = |a: Ipv6Addr| !out_of_pool && self.reserved_na_for_other(subnet, a, host);
        if pass == Pass::OldestHold {
            return subnet
                .pools
                .iter()
                .enumerate()
                .filter(|(_, p)| Self::pool_admits(&p.client_classes, classes))
                .find_map(|(i, _)| leases.take_oldest_hold(ty, i, key, now, &excluded))
                .map(|(a, _)| a);
        }
        if let Some(h) = host {
            // An address reserved for this host but held by another IA of it is skipped.
            if let Some(a) = h.ip_addresses.iter().copied().find(|a| {
                subnet.prefix.trunc().contains(a)
                    && leases.is_free_for(ty, *a, key, now)
                    && !leases.get(ty, *a).is_some_and(|l| !l.is_expired(now) && !key.owns(&l))
            }) {
                return Some(a);
            }
        }
        if let Some(l) = own.iter().find(|l| {
            matches!(l.state, LeaseState::Default | LeaseState::ExpiredReclaimed)
                && self.na_usable(subnet, l.address, host, classes)
        }) {
            return Some(l.address);
        }
        if let Some(a) = hint {
            if self.na_usable(subnet, a, host, classes) && leases.is_free_for(ty, a, key, now) {
                return Some(a);
            }
        }
        if let Some(a) = leases.offered_to(key, now) {
            if self.na_usable(subnet, a, host, classes) {
                return Some(a);
            }
        }
        if pass == Pass::Known {
            return None;
        }
        for (i, p) in subnet.pools.iter().enumerate() {
            if !Self::pool_admits(&p.client_classes, classes) {
                continue;
            }
            let start = Self::start(subnet.params.allocator, ctx);
            let excluded = Exclusion { reserved: &excluded, first: self.reservations_first() };
            if let Some(a) = leases.allocate_na(i, key, now, start, excluded) {
                return Some(a);
            }
        }
        None
    }

    /// As [`Self::pick_na`] for delegated prefixes.
    fn pick_pd(
        &self,
        ctx: &Ctx<'_>,
        pick: &NaPick<'_>,
        leases: &mut SubnetLeases6,
        key: &IaKey,
        own: &[Lease6],
        hint: Option<(Ipv6Addr, u8)>,
    ) -> Option<(Ipv6Addr, u8)> {
        let NaPick { subnet, host, classes, pass } = *pick;
        let now = ctx.now;
        let ty = LeaseType6::Pd;
        let out_of_pool = subnet.params.reservations_out_of_pool;
        let excluded = |a: Ipv6Addr| !out_of_pool && self.reserved_pd_for_other(subnet, a, host);
        if pass == Pass::OldestHold {
            return subnet
                .pd_pools
                .iter()
                .enumerate()
                .filter(|(_, p)| Self::pool_admits(&p.client_classes, classes))
                .find_map(|(i, _)| leases.take_oldest_hold(ty, i, key, now, &excluded));
        }
        if let Some(h) = host {
            if let Some(p) = h.prefixes.iter().find(|p| leases.is_free_for(ty, p.network(), key, now)) {
                return Some((p.network(), p.prefix_len()));
            }
        }
        if let Some(l) = own.iter().find(|l| {
            matches!(l.state, LeaseState::Default | LeaseState::ExpiredReclaimed)
                && self.pd_usable(subnet, l.address, l.prefix_len, host, classes)
        }) {
            return Some((l.address, l.prefix_len));
        }
        if let Some((a, len)) = hint.filter(|(a, _)| !a.is_unspecified()) {
            let aligned = Ipv6Addr::from(u128::from(a) & mask(len)) == a;
            if aligned && self.pd_usable(subnet, a, len, host, classes) && leases.is_free_for(ty, a, key, now) {
                return Some((a, len));
            }
        }
        if let Some(a) = leases.offered_to(key, now) {
            if let Some(len) = subnet.pd_pools.iter().find(|p| p.prefix.trunc().contains(&a)).map(|p| p.delegated_len) {
                if self.pd_usable(subnet, a, len, host, classes) {
                    return Some((a, len));
                }
            }
        }
        if pass == Pass::Known {
            return None;
        }
        for (i, p) in subnet.pd_pools.iter().enumerate() {
            if !Self::pool_admits(&p.client_classes, classes) {
                continue;
            }
            let start = Self::start(subnet.params.pd_allocator, ctx);
            let excluded = Exclusion { reserved: &excluded, first: self.reservations_first() };
            if let Some(p) = leases.allocate_pd(i, key, now, start, excluded) {
                return Some(p);
            }
        }
        None
    }

    /// Gives `lease` to its IA in candidate subnet `i` (REQUEST, RENEW, REBIND, rapid commit):
    /// the IA gives up its other leases of that type, another client's expired lease at the
    /// address is taken over, and a binding new to the client is noted for the cumulative
    /// statistics (RFC 8415 18.3.2, 18.3.4).
    fn bind(b: &mut Binding<'_, '_, '_>, i: usize, lease: Lease6, changes: &mut Vec<LeaseChange6>) {
        let (ty, addr, subnet) = (lease.lease_type, lease.address, b.cands[i].id);
        if !b.own.iter().any(|(_, l)| l.address == addr && l.state == LeaseState::Default) {
            b.fresh.push((subnet, ty, addr));
        }
        // A client that moves to another address gives up the old ones.
        for (j, old) in b.own.iter().filter(|(_, l)| l.address != addr) {
            if let Some(l) = b.guards[*j].remove(ty, old.address) {
                changes.push(LeaseChange6::Delete(l));
            }
        }
        // Another client's expired lease may be taken over before reclamation; the change
        // carries it, so the statistics move from it when the change settles.
        let replaced = b.guards[i].get(ty, addr);
        // The client's own lease keeps its user context; new relay information replaces the old.
        let mut lease = lease;
        if let Some(prev) = replaced.as_ref().filter(|p| p.duid == lease.duid && p.iaid == lease.iaid) {
            lease.user_context = merge_relay_info(prev.user_context.as_deref(), lease.user_context.take());
        }
        b.guards[i].upsert(lease.clone());
        changes.push(LeaseChange6::Upsert(lease, replaced));
    }

    /// Lease caching (Kea ARM 9.2.x "Lease Caching", `cache-threshold`, `cache-max-age`): the
    /// client's lease, still young and known to be on disk, with the lifetimes and name it
    /// would get again, is handed back unchanged with what it has left (preferred, valid),
    /// and nothing is written.
    fn reusable(
        &self,
        ctx: &Ctx<'_>,
        subnet: &Subnet6,
        host: Option<&Reservation6>,
        leases: &SubnetLeases6,
        current: Option<&Lease6>,
        times: &Times,
    ) -> Option<(u32, u32)> {
        let th = subnet.params.cache_threshold?;
        let old = current.filter(|l| l.state == LeaseState::Default && l.subnet_id == subnet.id)?;
        let age = ctx.now.saturating_sub(old.cltt);
        let young = (age as f64) < th * f64::from(old.valid_lifetime)
            && subnet.params.cache_max_age.is_none_or(|m| age < u64::from(m));
        let same = old.valid_lifetime == times.valid
            && old.preferred_lifetime == times.preferred
            && old.hostname == self.naming(ctx, subnet, host, old.address).0;
        let synced = !leases.is_unsynced(old.lease_type, old.address);
        let age = u32::try_from(age).ok()?;
        (young && same && synced).then(|| (old.preferred_lifetime.saturating_sub(age), old.valid_lifetime - age))
    }

    /// Counts a reused lease (`v6-ia-na-lease-reuses` / `v6-ia-pd-lease-reuses`).
    fn count_reuse(&self, ctx: &Ctx<'_>, subnet: &Subnet6, ty: LeaseType6) {
        let mut tally = ctx.tally.borrow_mut();
        let pick = |na: &'_ crate::stats::Counter, pd: &'_ crate::stats::Counter| {
            if ty == LeaseType6::Pd {
                pd.clone()
            } else {
                na.clone()
            }
        };
        tally.seen(&pick(&self.global.na_reuses, &self.global.pd_reuses), 1);
        if let Some(c) = self.subnet_stats.get(subnet.id) {
            tally.seen(&pick(&c.na_reuses, &c.pd_reuses), 1);
        }
    }

    /// The host name a lease records and the option 39 payload the reply carries, as Kea 2.2
    /// processes option 39 (RFC 4704) with DNS updates off: a reservation's name wins; the
    /// client's is sanitized (`hostname-char-set`) label by label, lower-cased and made fully
    /// qualified (an empty one becomes `myhost-<address>`); the reply's flags say no update
    /// is done (N, and O when the client asked for S). Without option 39 only a reservation
    /// names the lease.
    fn naming(
        &self,
        ctx: &Ctx<'_>,
        subnet: &Subnet6,
        host: Option<&Reservation6>,
        addr: Ipv6Addr,
    ) -> (String, Option<Vec<u8>>) {
        let reserved = host.and_then(|h| h.hostname.clone()).filter(|h| !h.is_empty());
        let Some(f) = ctx.pkt.options.get(code::CLIENT_FQDN).and_then(ClientFqdn6::parse) else {
            return (reserved.unwrap_or_default(), None);
        };
        let (chars, replacement) = &subnet.params.hostname_chars;
        let clean = |s: &str| chars.as_ref().map_or_else(|| s.to_string(), |c| c.scrub(s, replacement)).to_lowercase();
        let name = match reserved {
            Some(r) => r.trim_end_matches('.').to_string(),
            None if f.name.is_empty() => format!("myhost-{}", addr.to_string().replace(':', "-")),
            None => f.name.split('.').map(clean).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("."),
        };
        let mut flags = ClientFqdn6::FLAG_N;
        if f.flags & ClientFqdn6::FLAG_S != 0 {
            flags |= ClientFqdn6::FLAG_O;
        }
        let reply = ClientFqdn6 { flags, name: name.clone(), partial: false }.encode();
        (format!("{name}."), Some(reply))
    }

    #[allow(clippy::too_many_arguments)]
    fn lease(
        &self,
        ctx: &Ctx<'_>,
        subnet: &Subnet6,
        host: Option<&Reservation6>,
        key: &IaKey,
        addr: Ipv6Addr,
        len: u8,
        t: Times,
    ) -> Lease6 {
        let (hwtype, hwaddr, source) = ctx.hw.clone().unwrap_or((0, Vec::new(), 0));
        Lease6 {
            address: addr,
            prefix_len: len,
            lease_type: key.ty,
            duid: ctx.duid.clone(),
            iaid: key.iaid,
            valid_lifetime: t.valid,
            preferred_lifetime: t.preferred,
            cltt: ctx.now,
            subnet_id: subnet.id,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: self.naming(ctx, subnet, host, addr).0,
            hwaddr_source: source,
            hwtype,
            hwaddr,
            state: LeaseState::Default,
            user_context: (subnet.params.store_extended_info && !ctx.relays.is_empty())
                .then(|| relay_info(ctx.relays).to_string()),
        }
    }

    // ---- RELEASE, DECLINE (RFC 8415 18.3.7, 18.3.8) ----

    fn release(&self, ctx: &Ctx<'_>) -> Outcome6 {
        self.give_back(ctx, false)
    }

    fn decline(&self, ctx: &Ctx<'_>) -> Outcome6 {
        self.give_back(ctx, true)
    }

    /// Releases or declines the listed addresses and prefixes, IA by IA, with Kea's checks and
    /// status texts (its releaseIA_NA / releaseIA_PD take the IA's first address; declineIA
    /// takes them all): NoBinding for an address the server does not know, one of another
    /// DUID, or the client's own under another IAID.
    fn give_back(&self, ctx: &Ctx<'_>, decline: bool) -> Outcome6 {
        let pkt = ctx.pkt;
        let mut reply = self.skeleton(ctx, MessageType::Reply);
        let mut changes = Vec::new();
        let mut items: Vec<(LeaseType6, u32, Vec<Ipv6Addr>)> = Vec::new();
        for ia in pkt.options.get_all(code::IA_NA).take(MAX_IAS_PER_TYPE) {
            if let Ok(ia) = IaNa::parse(ia) {
                items.push((LeaseType6::Na, ia.iaid, ia.addrs.iter().take(MAX_ADDRS_PER_IA).map(|a| a.addr).collect()));
            }
        }
        // RFC 8415 18.3.8: DECLINE is for addresses only; prefixes are only released.
        if !decline {
            for ia in pkt.options.get_all(code::IA_PD).take(MAX_IAS_PER_TYPE) {
                if let Ok(ia) = IaPd::parse(ia) {
                    let prefixes = ia.prefixes.iter().take(MAX_ADDRS_PER_IA).map(|p| p.prefix).collect();
                    items.push((LeaseType6::Pd, ia.iaid, prefixes));
                }
            }
        }
        let mut all_ok = true;
        for (ty, iaid, addrs) in items {
            // Kea releases only the first address of an IA.
            let addrs = if decline { &addrs[..] } else { &addrs[..addrs.len().min(1)] };
            let status = self.give_back_ia(ctx, decline, ty, iaid, addrs, &mut changes);
            all_ok &= status.code == StatusCode::SUCCESS;
            let mut buf = Vec::new();
            if ty == LeaseType6::Na {
                IaNa { status: Some(status), ..IaNa::new(iaid, 0, 0) }.encode(&mut buf);
                reply.options.push(code::IA_NA, buf);
            } else {
                IaPd { status: Some(status), ..IaPd::new(iaid, 0, 0) }.encode(&mut buf);
                reply.options.push(code::IA_PD, buf);
            }
        }
        let mut st = Vec::new();
        if decline {
            StatusCode::new(StatusCode::SUCCESS, "Decline processed").encode(&mut st);
        } else {
            let code = if all_ok { StatusCode::SUCCESS } else { StatusCode::NO_BINDING };
            StatusCode::new(code, "Summary status for all processed IA_NAs").encode(&mut st);
        }
        reply.options.push(code::STATUS_CODE, st);
        self.reply(ctx, reply, changes)
    }

    /// One IA of a RELEASE or DECLINE: its status, with the changes it makes added to `changes`.
    fn give_back_ia(
        &self,
        ctx: &Ctx<'_>,
        decline: bool,
        ty: LeaseType6,
        iaid: u32,
        addrs: &[Ipv6Addr],
        changes: &mut Vec<LeaseChange6>,
    ) -> StatusCode {
        let pkt = ctx.pkt;
        let no = |text: &str| StatusCode::new(StatusCode::NO_BINDING, text);
        if addrs.is_empty() {
            return no(if ty == LeaseType6::Pd {
                "You did not include a prefix in your RELEASE"
            } else if decline {
                "Server does not know about such an address."
            } else {
                "You did not include an address in your RELEASE"
            });
        }
        for a in addrs {
            // The lease may live in any subnet: RELEASE and DECLINE need no subnet selection.
            let found = self.cfg.subnets.iter().find_map(|s| {
                let leases = ctx.leases.subnet(s.id)?;
                leases.get(ty, *a).map(|l| (s.id, l))
            });
            let Some((subnet, l)) = found else {
                return no(if decline {
                    "Server does not know about such an address."
                } else {
                    "Sorry, no known leases for this duid/iaid, can't release."
                });
            };
            if l.duid != ctx.duid {
                if decline {
                    info!(target: "kea-dhcp6.leases", "DHCP6_DECLINE_FAIL_DUID_MISMATCH Client {} sent DECLINE for address {a}, but it belongs to client with DUID {}", tid(pkt), Duid(l.duid.clone()));
                    return no("This address does not belong to you, you can't decline it");
                }
                if ty == LeaseType6::Na {
                    info!(target: "kea-dhcp6.leases", "DHCP6_RELEASE_NA_FAIL_WRONG_DUID {}: client tried to release address {a}, but it belongs to another client using duid={}", tid(pkt), Duid(l.duid.clone()));
                } else {
                    info!(target: "kea-dhcp6.leases", "DHCP6_RELEASE_PD_FAIL_WRONG_DUID {}: client tried to release prefix {a}/{}, but it belongs to another client (duid={})", tid(pkt), l.prefix_len, Duid(l.duid.clone()));
                }
                return no("This address does not belong to you, you can't release it");
            }
            if l.iaid != iaid {
                if decline {
                    warn!(target: "kea-dhcp6.leases", "DHCP6_DECLINE_FAIL_IAID_MISMATCH Client {} sent DECLINE for address {a}, but used a wrong IAID ({iaid}), instead of expected {}", tid(pkt), l.iaid);
                } else if ty == LeaseType6::Na {
                    warn!(target: "kea-dhcp6.leases", "DHCP6_RELEASE_NA_FAIL_WRONG_IAID {}: client tried to release address {a}, but it used wrong IAID (expected {}, but got {iaid})", tid(pkt), l.iaid);
                } else {
                    warn!(target: "kea-dhcp6.leases", "DHCP6_RELEASE_PD_FAIL_WRONG_IAID {}: client tried to release prefix {a}/{}, but it used wrong IAID (expected {}, but got {iaid})", tid(pkt), l.prefix_len, l.iaid);
                }
                return no("This is your address, but you used wrong IAID");
            }
            let Some(mut leases) = ctx.leases.subnet(subnet) else { continue };
            if decline {
                // Kea's Lease6::decline: the identity is wiped and the address rests.
                let d = Lease6 {
                    duid: vec![0],
                    iaid: 0,
                    cltt: ctx.now,
                    valid_lifetime: self.cfg.daemon.decline_probation_period,
                    preferred_lifetime: 0,
                    hostname: String::new(),
                    hwaddr: Vec::new(),
                    hwtype: 0,
                    hwaddr_source: 0,
                    fqdn_fwd: false,
                    fqdn_rev: false,
                    state: LeaseState::Declined,
                    ..l.clone()
                };
                leases.remove(ty, *a);
                leases.upsert(d.clone());
                changes.push(LeaseChange6::Upsert(d, Some(l)));
                info!(target: "kea-dhcp6.leases", "DHCP6_DECLINE_LEASE Client {} sent DECLINE for address {a} and the server marked it as declined. The lease will be recovered in {} seconds.", tid(pkt), self.cfg.daemon.decline_probation_period);
            } else {
                leases.remove(ty, *a);
                if ty == LeaseType6::Na {
                    info!(target: "kea-dhcp6.leases", "DHCP6_RELEASE_NA {}: binding for address {a} and iaid={iaid} was released properly", tid(pkt));
                } else {
                    info!(target: "kea-dhcp6.leases", "DHCP6_RELEASE_PD {}: prefix {a}/{} for iaid={iaid} was released properly", tid(pkt), l.prefix_len);
                }
                changes.push(LeaseChange6::Delete(l));
            }
        }
        StatusCode::new(
            StatusCode::SUCCESS,
            if decline {
                "Lease declined. Hopefully the next one will be better."
            } else {
                "Lease released. Thank you, please come again."
            },
        )
    }

    // ---- CONFIRM (RFC 8415 18.3.3) ----

    /// Success when every listed address is on the client's link, NotOnLink otherwise; no
    /// reply when the server cannot tell (no addresses, or no subnet for the link).
    fn confirm(&self, ctx: &Ctx<'_>) -> Outcome6 {
        let addrs: Vec<Ipv6Addr> = ctx
            .pkt
            .options
            .get_all(code::IA_NA)
            .filter_map(|b| IaNa::parse(b).ok())
            .flat_map(|ia| ia.addrs.into_iter().map(|a| a.addr))
            .collect();
        if addrs.is_empty() {
            return Outcome6::Drop(DropReason6::RfcViolation("CONFIRM without addresses"));
        }
        let Some(subnet) = self.select_subnet(ctx) else {
            return Outcome6::Drop(DropReason6::NoSubnet);
        };
        let on_link = addrs.iter().all(|a| subnet.prefix.trunc().contains(a));
        let mut reply = self.skeleton(ctx, MessageType::Reply);
        let status = if on_link {
            StatusCode::new(StatusCode::SUCCESS, "all addresses are on link")
        } else {
            StatusCode::new(StatusCode::NOT_ON_LINK, "some addresses are not on link")
        };
        let mut st = Vec::new();
        status.encode(&mut st);
        reply.options.push(code::STATUS_CODE, st);
        let found = self.find_reservation(ctx, subnet);
        let host = found.as_deref();
        self.add_options(ctx, &mut reply, Some(subnet), None, None, &Self::classes(ctx, &[host]));
        self.reply(ctx, reply, Vec::new())
    }

    // ---- INFORMATION-REQUEST (RFC 8415 18.3.6) ----

    fn info_request(&self, ctx: &Ctx<'_>) -> Outcome6 {
        let mut reply = self.skeleton(ctx, MessageType::Reply);
        // Without a subnet the client still gets the global options.
        let subnet = self.select_subnet(ctx);
        let found = subnet.and_then(|s| self.find_reservation(ctx, s));
        let host = found.as_deref();
        self.add_options(ctx, &mut reply, subnet, host, None, &Self::classes(ctx, &[host]));
        self.reply(ctx, reply, Vec::new())
    }

    // ---- reply assembly ----

    /// Relay-supplied options (RFC 6422 §4; Kea's processRSOO): an option a relay put in its
    /// RSOO, of a code `relay-supplied-options` lists, goes into the reply unless the server
    /// already answers with one of that code.
    fn relay_supplied(&self, ctx: &Ctx<'_>, r: &mut Pkt6) {
        let allowed = &self.cfg.relay_supplied_options;
        for relay in ctx.relays {
            for rsoo in relay.options.get_all(code::RSOO) {
                for (c, payload) in nested_options(rsoo) {
                    if allowed.contains(&c) && !r.options.contains(c) {
                        r.options.push_slice(c, payload);
                    }
                }
            }
        }
    }

    /// The reply with SERVERID and the echoed CLIENTID (RFC 8415 18.3.9, 18.3.10).
    fn skeleton(&self, ctx: &Ctx<'_>, mt: MessageType) -> Pkt6 {
        let mut r = ctx.pkt.reply_to(mt);
        r.options.push(code::SERVERID, self.server_duid.clone());
        if let Some(c) = ctx.pkt.client_id() {
            r.options.push_slice(code::CLIENTID, c);
        }
        r
    }

    /// Options the client asked for in ORO and those marked always-send, by Kea's precedence:
    /// reservation, pool, subnet, shared network, global (RFC 8415 18.3.9; Kea ARM 9.2.10).
    fn add_options(
        &self,
        ctx: &Ctx<'_>,
        r: &mut Pkt6,
        subnet: Option<&Subnet6>,
        host: Option<&Reservation6>,
        pool: Option<&[OptionValue]>,
        classes: &Classes,
    ) {
        let mut scopes: Vec<&[OptionValue]> = Vec::new();
        if let Some(h) = host {
            scopes.push(&h.options);
        }
        if let Some(p) = pool {
            scopes.push(p);
        }
        if let Some(s) = subnet {
            scopes.push(&s.options);
            scopes.push(&s.network_options);
        }
        // Kea's precedence puts class options between the shared network's and the globals.
        scopes
            .extend(self.cfg.client_classes.iter().filter(|c| classes.contains(&c.name)).map(|c| c.options.as_slice()));
        scopes.push(&self.cfg.options);
        // An option guarded by `client-classes` goes only to their members (Kea 2.7.4+/3.0).
        let find = |c: u16| {
            scopes
                .iter()
                .flat_map(|s| s.iter())
                .find(|o| o.space == "dhcp6" && o.code == c && classes.admits(&o.client_classes))
        };
        let mut wanted = ctx.pkt.oro();
        for s in &scopes {
            wanted.extend(
                s.iter()
                    .filter(|o| o.always_send && o.space == "dhcp6" && classes.admits(&o.client_classes))
                    .map(|o| o.code),
            );
        }
        for c in wanted {
            // Options the server builds itself are never taken from configuration.
            if matches!(
                c,
                code::CLIENTID
                    | code::SERVERID
                    | code::IA_NA
                    | code::IA_TA
                    | code::IA_PD
                    | code::IAADDR
                    | code::IAPREFIX
                    | code::ORO
                    | code::STATUS_CODE
                    | code::RAPID_COMMIT
                    | code::RELAY_MSG
                    | code::PD_EXCLUDE
            ) || r.options.contains(c)
            {
                continue;
            }
            if let Some(o) = find(c).filter(|o| !o.never_send) {
                if let Some(p) = &o.payload {
                    r.options.push_slice(c, p);
                }
            }
        }
        // Kea adds vendor options only for a client with a subnet.
        if subnet.is_some() {
            add_vendor_options(ctx.pkt, r, &scopes);
        }
    }

    /// Wraps the reply for its relays and addresses it (RFC 8415 19.3, RFC 8357 5.2).
    fn reply(&self, ctx: &Ctx<'_>, mut pkt: Pkt6, changes: Vec<LeaseChange6>) -> Outcome6 {
        self.relay_supplied(ctx, &mut pkt);
        let relays: Vec<RelayMsg> = ctx.relays.iter().map(RelayMsg::reply_layer).collect();
        let dest = match ctx.relays.first() {
            // The relay that sent the RELAY-FORW listens on 547 unless it asked for its own port.
            Some(r) if r.options.contains(code::RELAY_SOURCE_PORT) => ctx.meta.src,
            Some(_) => SocketAddrV6::new(*ctx.meta.src.ip(), SERVER_PORT, 0, ctx.meta.src.scope_id()),
            None => ctx.meta.src,
        };
        Outcome6::Reply(Reply6 { pkt, relays, dest, changes })
    }
}

fn mask(n: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(n.min(128))).unwrap_or(0)
}

/// Not link-local, loopback, multicast or unspecified: an address that names a subnet.
fn is_global(a: Ipv6Addr) -> bool {
    let link_local = (a.segments()[0] & 0xffc0) == 0xfe80;
    !(link_local || a.is_loopback() || a.is_multicast() || a.is_unspecified())
}

/// Kea's packet identification in log lines: `duid=[..], tid=0x..`.
/// The relay information of a query as Kea 2.4+/3.0 stores it with `store-extended-info`
/// (Kea ARM 9.2.28): `{"ISC": {"relay-info": [...]}}`, one entry per relay, outermost first,
/// with its hop count, link and peer addresses, its options in Kea's `0x` hex, and the
/// remote-id (37, without its enterprise number) and relay-id (53) in plain hex.
fn relay_info(relays: &[RelayMsg]) -> serde_json::Value {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let list: Vec<serde_json::Value> = relays
        .iter()
        .map(|r| {
            let mut e = serde_json::json!({"hop": r.hop_count, "link": r.link_addr.to_string(), "peer": r.peer_addr.to_string()});
            let mut opts = Vec::new();
            r.options.encode(&mut opts);
            if !opts.is_empty() {
                e["options"] = format!("0x{}", hex(&opts)).into();
            }
            if let Some(remote) = r.options.get(code::REMOTE_ID).and_then(|v| v.get(4..)) {
                e["remote-id"] = hex(remote).into();
            }
            if let Some(relay_id) = r.options.get(code::RELAY_ID) {
                e["relay-id"] = hex(relay_id).into();
            }
            e
        })
        .collect();
    serde_json::json!({"ISC": {"relay-info": list}})
}

/// A renewed lease's user context: the old one, with the new relay information if any.
fn merge_relay_info(prev: Option<&str>, new: Option<String>) -> Option<String> {
    let Some(new) = new else { return prev.map(str::to_string) };
    let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok().filter(serde_json::Value::is_object);
    let Some(mut ctx) = prev.and_then(parse) else { return Some(new) };
    let info = parse(&new).map(|n| n["ISC"]["relay-info"].clone()).unwrap_or_default();
    if !ctx["ISC"].is_object() {
        ctx["ISC"] = serde_json::json!({});
    }
    ctx["ISC"]["relay-info"] = info;
    Some(ctx.to_string())
}

/// Kea 2.2's appendRequestedVendorOptions (RFC 8415 21.17): the vendor is that of a
/// `vendor-opts` (17) already in the reply (configured, asked for in the ORO), else of the
/// client's 17, else of its vendor class (16); the reply's 17 carries that vendor's
/// sub-options from the `vendor-<enterprise>` space marked always-send, or listed by a DOCSIS
/// client in its sub-option 1 (ORO).
fn add_vendor_options(pkt: &Pkt6, r: &mut Pkt6, scopes: &[&[OptionValue]]) {
    let id_of = |b: &[u8]| b.get(..4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
    let in_reply = r.options.get(code::VENDOR_OPTS).and_then(id_of);
    let from_client = || {
        pkt.options
            .get(code::VENDOR_OPTS)
            .and_then(id_of)
            .or_else(|| pkt.options.get(code::VENDOR_CLASS).and_then(id_of))
    };
    let Some(id) = in_reply.or_else(from_client).filter(|id| *id != 0) else { return };
    let space = format!("vendor-{id}");
    let mut codes: Vec<u16> = Vec::new();
    if id == 4491 {
        let subs = pkt.options.get(code::VENDOR_OPTS).and_then(|v| v.get(4..)).unwrap_or_default();
        codes.extend(sub_option6(subs, 1).chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])));
    }
    for s in scopes {
        codes.extend(s.iter().filter(|o| o.space == space && o.always_send).map(|o| o.code));
    }
    let mut body = Vec::new();
    let mut done: Vec<u16> = Vec::new();
    for c in codes {
        if done.contains(&c) {
            continue;
        }
        done.push(c);
        let found = scopes.iter().flat_map(|s| s.iter()).find(|o| o.space == space && o.code == c);
        let Some(o) = found.filter(|o| !o.never_send) else { continue };
        let data = o.payload.as_deref().unwrap_or_default();
        let Ok(len) = u16::try_from(data.len()) else { continue };
        body.extend_from_slice(&c.to_be_bytes());
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(data);
    }
    if body.is_empty() {
        return;
    }
    let mut out = r.options.get(code::VENDOR_OPTS).map_or_else(|| id.to_be_bytes().to_vec(), <[u8]>::to_vec);
    out.extend_from_slice(&body);
    r.options.set(code::VENDOR_OPTS, &out);
}

/// The data of sub-option `want` in a DHCPv6 sub-option list (code, length: 16 bits each).
fn sub_option6(mut b: &[u8], want: u16) -> &[u8] {
    while let [c0, c1, l0, l1, rest @ ..] = b {
        let n = usize::from(u16::from_be_bytes([*l0, *l1])).min(rest.len());
        if u16::from_be_bytes([*c0, *c1]) == want {
            return &rest[..n];
        }
        b = &rest[n..];
    }
    &[]
}

fn tid(pkt: &Pkt6) -> String {
    pkt.label()
}
