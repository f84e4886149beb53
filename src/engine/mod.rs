//! The sans-IO DHCP engines: a decoded packet, where it came from and the time go in; a reply,
//! where to send it and the lease changes to make durable first come out (design.md
//! "How a packet flows"). No sockets, no clock, no runtime here.

pub mod admin;
pub mod classify;
pub mod counters;
pub mod hosts;
pub mod ident;
pub mod server_id;
pub mod v4;
pub mod v6;

use crate::lease::Change;
use crate::stats::Tally;

/// What a server without a lease store does once a packet is decided (scenario tests,
/// fuzzing): its changes are durable at once, unless the lease map keeps them pending for a
/// store, and its tally is counted (design.md "How a packet flows").
fn settle_at_once<L>(
    tracking: bool,
    changes: &[Change<L>],
    mut tally: Tally,
    synced: impl FnOnce(&[Change<L>], &mut Tally),
    now: u64,
) {
    if tracking {
        tally.not_durable();
    } else {
        synced(changes, &mut tally);
    }
    tally.count(now.saturating_mul(1_000_000));
}

/// Kea's host lookup (Kea ARM 8.3, 9.3): for each of the client's identifiers in
/// `host-reservation-identifiers` order, a reservation in the subnet, then a global one
/// (each scope only when its reservations are enabled).
pub(crate) fn find_host<'a, R>(
    identifiers: &[crate::config::model::HostIdentifier],
    in_subnet: Option<(&'a [R], u32)>,
    global: Option<&'a [R]>,
    db: Option<&hosts::HostCache<R>>,
    identifier: impl Fn(&R) -> &crate::config::model::HostIdentifier,
) -> Option<hosts::HostRef<'a, R>> {
    use hosts::HostRef;
    // Configured reservations first, then the hosts databases (Kea's HostMgr order).
    let one = |ident, rs: &'a [R], id: u32| {
        rs.iter().find(|r| identifier(r) == ident).map(HostRef::Config).or_else(|| db?.get(ident, id).map(HostRef::Db))
    };
    identifiers.iter().find_map(|ident| {
        in_subnet.and_then(|(rs, id)| one(ident, rs, id)).or_else(|| global.and_then(|rs| one(ident, rs, 0)))
    })
}
