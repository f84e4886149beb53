//! The sans-IO DHCP engines: a decoded packet, where it came from and the time go in; a reply,
//! where to send it and the lease changes to make durable first come out (design.md
//! "How a packet flows"). No sockets, no clock, no runtime here.

pub mod admin;
pub mod classify;
pub mod counters;
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
    in_subnet: Option<&'a [R]>,
    global: Option<&'a [R]>,
    identifier: impl Fn(&R) -> &crate::config::model::HostIdentifier,
) -> Option<&'a R> {
    identifiers.iter().find_map(|ident| {
        [in_subnet, global].into_iter().flatten().find_map(|scope| scope.iter().find(|r| identifier(r) == ident))
    })
}
