//! Lease changes made by the control channel (Kea's lease_cmds hook: `lease4-add`,
//! `lease4-update`, `lease4-del`, `lease4-wipe` and the lease6 equivalents), applied to the
//! engines' lease maps under the subnet lock with the statistics kept right, and queued to
//! the store like a packet's rows.

/// How `put` treats an existing lease for the same address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// `lease4-add`: fail with [`AdminError::Conflict`] when a lease exists for the address.
    Add,
    /// `lease4-update`: fail with [`AdminError::NotFound`] when none exists.
    Update,
    /// `lease4-update` with `force-create`: create or replace.
    Upsert,
}

/// Why an administrative change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The lease names a subnet this configuration does not have.
    #[error("no subnet with id {0}")]
    NoSubnet(u32),
    /// The address lies outside the subnet's prefix.
    #[error("the address {addr} does not belong to subnet {subnet}")]
    OutsideSubnet {
        /// The address.
        addr: String,
        /// The subnet id.
        subnet: u32,
    },
    /// A lease exists already (`lease4-add`).
    #[error("lease for address {0} already exists")]
    Conflict(String),
    /// No lease to update.
    #[error("lease for address {0} does not exist")]
    NotFound(String),
}
