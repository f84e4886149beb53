//! Kea's `sanity-checks.lease-checks` (Kea ARM 8.2.x / 9.2.x "Sanity Checks"): when leases are
//! loaded from the lease file, a lease whose `subnet-id` names no subnet, or a subnet that does
//! not hold its address, is kept with a warning (`warn`, the default), moved to the subnet that
//! holds it (`fix`, `fix-del`), or dropped (`del`, and `fix-del` when no subnet holds it). The
//! file is left as it is; only what the server serves changes.

use tracing::{info, warn};

pub use crate::config::model::LeaseChecks;

/// What the checks read and change of a lease of either family.
pub trait Placed {
    /// The lease's subnet-id and a label for the log.
    fn describe(&self) -> (u32, String);
    /// Sets the lease's subnet-id.
    fn move_to(&mut self, id: u32);
}

impl Placed for super::Lease4 {
    fn describe(&self) -> (u32, String) {
        (self.subnet_id, self.address.to_string())
    }
    fn move_to(&mut self, id: u32) {
        self.subnet_id = id;
    }
}

impl Placed for super::Lease6 {
    fn describe(&self) -> (u32, String) {
        (self.subnet_id, format!("{}/{}", self.address, self.prefix_len))
    }
    fn move_to(&mut self, id: u32) {
        self.subnet_id = id;
    }
}

/// How one family's leases are checked against the configuration: `holds(lease, id)` says
/// whether subnet `id` exists and holds the lease (None: no such subnet), `home(lease)` which
/// subnet holds it, if any.
pub struct Checker<'a, L> {
    /// `lease-checks`
    pub mode: LeaseChecks,
    /// 4 or 6: the logger.
    pub family: u8,
    /// Whether subnet `id` exists and holds the lease (None: no such subnet).
    pub holds: &'a dyn Fn(&L, u32) -> Option<bool>,
    /// The subnet that holds the lease's address, if any.
    pub home: &'a dyn Fn(&L) -> Option<u32>,
}

impl<L: Placed> Checker<'_, L> {
    /// The leases to serve.
    pub fn check(&self, leases: Vec<L>) -> Vec<L> {
        if self.mode == LeaseChecks::None {
            return leases;
        }
        leases.into_iter().filter_map(|l| self.one(l)).collect()
    }

    fn one(&self, mut l: L) -> Option<L> {
        let (id, label) = l.describe();
        let why = match (self.holds)(&l, id) {
            Some(true) => return Some(l),
            Some(false) => "the subnet does not hold its address",
            None => "no subnet has that id",
        };
        let fixed = match self.mode {
            LeaseChecks::Fix | LeaseChecks::FixDel => (self.home)(&l),
            _ => None,
        };
        match (fixed, self.mode) {
            (Some(new), _) => {
                l.move_to(new);
                if self.family == 4 {
                    info!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_LEASE_SANITY_FIXED The lease {label} with subnet-id {id} failed subnet-id checks, but was corrected to subnet-id {new}.");
                } else {
                    info!(target: "kea-dhcp6.dhcpsrv", "DHCPSRV_LEASE_SANITY_FIXED The lease {label} with subnet-id {id} failed subnet-id checks, but was corrected to subnet-id {new}.");
                }
                Some(l)
            }
            (None, LeaseChecks::Del | LeaseChecks::FixDel) => {
                if self.family == 4 {
                    warn!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_LEASE_SANITY_FAIL_DISCARD The lease {label} with subnet-id {id} failed subnet-id checks ({why}) and was dropped.");
                } else {
                    warn!(target: "kea-dhcp6.dhcpsrv", "DHCPSRV_LEASE_SANITY_FAIL_DISCARD The lease {label} with subnet-id {id} failed subnet-id checks ({why}) and was dropped.");
                }
                None
            }
            (None, _) => {
                if self.family == 4 {
                    warn!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_LEASE_SANITY_FAIL The lease {label} with subnet-id {id} failed subnet-id checks ({why}).");
                } else {
                    warn!(target: "kea-dhcp6.dhcpsrv", "DHCPSRV_LEASE_SANITY_FAIL The lease {label} with subnet-id {id} failed subnet-id checks ({why}).");
                }
                Some(l)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Placed for (u32, u32) {
        fn describe(&self) -> (u32, String) {
            (self.1, self.0.to_string())
        }
        fn move_to(&mut self, id: u32) {
            self.1 = id;
        }
    }

    /// (address, subnet-id) pairs against subnets 1 = 10..20 and 2 = 20..30.
    fn run(mode: LeaseChecks, leases: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
        let range = |id: u32| match id {
            1 => Some(10..20),
            2 => Some(20..30),
            _ => None,
        };
        let holds = |l: &(u32, u32), id: u32| range(id).map(|r| r.contains(&l.0));
        let home = |l: &(u32, u32)| [1, 2].into_iter().find(|id| range(*id).is_some_and(|r| r.contains(&l.0)));
        Checker { mode, family: 4, holds: &holds, home: &home }.check(leases)
    }

    #[test]
    fn each_mode_keeps_moves_or_drops_as_kea_does() {
        // 12 in 1 is fine; 25 says 1 but 2 holds it; 40 is held by no subnet; 15 names subnet 9.
        let leases = vec![(12, 1), (25, 1), (40, 1), (15, 9)];
        assert_eq!(run(LeaseChecks::None, leases.clone()), leases);
        assert_eq!(run(LeaseChecks::Warn, leases.clone()), leases);
        assert_eq!(run(LeaseChecks::Fix, leases.clone()), vec![(12, 1), (25, 2), (40, 1), (15, 1)]);
        assert_eq!(run(LeaseChecks::FixDel, leases.clone()), vec![(12, 1), (25, 2), (15, 1)]);
        assert_eq!(run(LeaseChecks::Del, leases), vec![(12, 1)]);
    }
}
