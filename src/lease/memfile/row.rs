//! What the shared memfile machinery (loader, journal writer, cleanup) needs to know about a
//! lease type: its key, its header, how to parse and format its rows. `Lease4` and `Lease6`
//! implement it, so the DHCPv6 store runs on the DHCPv4 store's code rather than a copy.

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::csv::{self, Layout};
use super::csv6::{self, Layout6};
use super::MemfileError;
use crate::lease::{Lease4, Lease6};

/// Which daemon's file this is: picks the logger name (`kea-dhcp4` / `kea-dhcp6`) and thread names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    /// The suffix of thread names ("4" / "6").
    pub(crate) fn digit(self) -> char {
        match self {
            Family::V4 => '4',
            Family::V6 => '6',
        }
    }
}

/// Logs under Kea's `kea-dhcp4.dhcpsrv` or `kea-dhcp6.dhcpsrv` logger. tracing needs the
/// target as a constant, so each family gets its own call site.
macro_rules! mlog {
    ($family:expr, $level:ident, $($arg:tt)+) => {
        match $family {
            $crate::lease::memfile::row::Family::V4 => tracing::$level!(target: "kea-dhcp4.dhcpsrv", $($arg)+),
            $crate::lease::memfile::row::Family::V6 => tracing::$level!(target: "kea-dhcp6.dhcpsrv", $($arg)+),
        }
    };
}
pub(crate) use mlog;

/// A lease type the memfile store can journal (Kea's `CSVLeaseFile4` / `CSVLeaseFile6`).
pub(crate) trait LeaseRow: Clone + Send + Sync + 'static {
    /// What identifies a lease in the file: later rows with the same key replace earlier ones
    /// (Kea's memfile indexes both families by address alone).
    type Key: Copy + Eq + Hash + Ord + Debug + Display + Send;
    /// A validated file header.
    type Layout: Copy + Debug + Send;
    /// The daemon family.
    const FAMILY: Family;

    /// The lease's key.
    fn key(&self) -> Self::Key;
    /// `valid_lifetime`; a row with 0 is a deletion.
    fn valid_lifetime(&self) -> u32;
    /// The header line we write.
    fn header(pool_id_column: bool) -> String;
    /// Kea's memfile schema version (major, minor) of that header: v4 2.1 / 3.0 with
    /// `pool_id`, v6 4.0 / 5.0 with `pool_id` (Kea's Memfile_LeaseMgr versions).
    fn schema(pool_id_column: bool) -> (u32, u32);
    /// Validates a file's header line.
    fn layout(line: &str) -> Result<Self::Layout, String>;
    /// True when rows under `layout` look exactly like the ones we write.
    fn is_exactly(layout: &Self::Layout, pool_id_column: bool) -> bool;
    /// Parses one data row.
    fn parse(layout: &Self::Layout, line: &str) -> Result<Self, String>;
    /// Appends the row (no newline), or the deletion tombstone.
    fn write_row(&self, out: &mut String, tombstone: bool, pool_id_column: bool);
    /// Refuses a lease Kea's loader would discard, naming it in the error.
    fn check_storable(&self) -> Result<(), MemfileError>;
}

impl LeaseRow for Lease4 {
    type Key = Ipv4Addr;
    type Layout = Layout;
    const FAMILY: Family = Family::V4;

    fn key(&self) -> Ipv4Addr {
        self.address
    }

    fn valid_lifetime(&self) -> u32 {
        self.valid_lifetime
    }

    fn header(pool_id_column: bool) -> String {
        csv::header4(pool_id_column)
    }
    fn schema(pool_id_column: bool) -> (u32, u32) {
        if pool_id_column {
            (3, 0)
        } else {
            (2, 1)
        }
    }

    fn layout(line: &str) -> Result<Layout, String> {
        Layout::from_line(line)
    }

    fn is_exactly(layout: &Layout, pool_id_column: bool) -> bool {
        layout.is_exactly(pool_id_column)
    }

    fn parse(layout: &Layout, line: &str) -> Result<Lease4, String> {
        layout.parse(line)
    }

    fn write_row(&self, out: &mut String, tombstone: bool, pool_id_column: bool) {
        csv::write_row(out, self, if tombstone { 0 } else { self.valid_lifetime }, pool_id_column);
    }

    fn check_storable(&self) -> Result<(), MemfileError> {
        super::storable(self).map_err(|reason| MemfileError::InvalidLease { address: self.address, reason })
    }
}

impl LeaseRow for Lease6 {
    type Key = Ipv6Addr;
    type Layout = Layout6;
    const FAMILY: Family = Family::V6;

    fn key(&self) -> Ipv6Addr {
        self.address
    }

    fn valid_lifetime(&self) -> u32 {
        self.valid_lifetime
    }

    fn header(pool_id_column: bool) -> String {
        csv6::header6(pool_id_column)
    }
    fn schema(pool_id_column: bool) -> (u32, u32) {
        if pool_id_column {
            (5, 0)
        } else {
            (4, 0)
        }
    }

    fn layout(line: &str) -> Result<Layout6, String> {
        Layout6::from_line(line)
    }

    fn is_exactly(layout: &Layout6, pool_id_column: bool) -> bool {
        layout.is_exactly(pool_id_column)
    }

    fn parse(layout: &Layout6, line: &str) -> Result<Lease6, String> {
        layout.parse(line)
    }

    fn write_row(&self, out: &mut String, tombstone: bool, pool_id_column: bool) {
        csv6::write_row6(out, self, tombstone, pool_id_column);
    }

    fn check_storable(&self) -> Result<(), MemfileError> {
        csv6::storable6(self).map_err(|reason| MemfileError::InvalidLease6 { address: self.address, reason })
    }
}
