//! The identifier lengths Kea accepts on input and writes to its lease files (Kea's
//! `ClientId`, `DUID` and `HWAddr` in src/lib/dhcp/duid.h and hwaddr.h): a packet whose
//! identifier is outside them is dropped as unparsable, as Kea cannot build the identifier.

use std::ops::RangeInclusive;

/// Client identifier (DHCPv4 option 61) length: RFC 2132 9.14 sets 2 as the minimum, the
/// option length byte 255 as the maximum (Kea `ClientId::MIN/MAX_CLIENT_ID_LEN`).
pub const CLIENT_ID_LEN: RangeInclusive<usize> = 2..=255;

/// DUID length: 2 octets of type and 1 to 128 of identifier (RFC 8415 11.1; Kea
/// `DUID::MIN/MAX_DUID_LEN`).
pub const DUID_LEN: RangeInclusive<usize> = 3..=130;

/// Longest hardware address (Kea `HWAddr::MAX_HWADDR_LEN`).
pub const HWADDR_MAX_LEN: usize = 20;

/// Which identifier had a length Kea does not accept, and that length (Kea ARM 8.2.19,
/// 9.2.5 identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadIdentifier {
    /// DHCPv4 option 61 outside [`CLIENT_ID_LEN`].
    ClientId(usize),
    /// DHCPv6 client identifier (option 1) outside [`DUID_LEN`].
    Duid(usize),
    /// A hardware address longer than [`HWADDR_MAX_LEN`].
    HwAddr(usize),
}

impl std::fmt::Display for BadIdentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadIdentifier::ClientId(n) => write!(f, "client identifier of {n} octets, outside 2..255"),
            BadIdentifier::Duid(n) => write!(f, "client DUID of {n} octets, outside 3..130"),
            BadIdentifier::HwAddr(n) => write!(f, "hardware address of {n} octets, more than 20"),
        }
    }
}

/// Checks a DHCPv4 client identifier and hardware address (Kea ARM 8.2.19).
pub fn check_v4(client_id: Option<&[u8]>, hwaddr: &[u8]) -> Result<(), BadIdentifier> {
    if let Some(c) = client_id.filter(|c| !CLIENT_ID_LEN.contains(&c.len())) {
        return Err(BadIdentifier::ClientId(c.len()));
    }
    if hwaddr.len() > HWADDR_MAX_LEN {
        return Err(BadIdentifier::HwAddr(hwaddr.len()));
    }
    Ok(())
}

/// Checks a DHCPv6 client DUID when present and not empty (an empty one is an RFC 8415
/// section 16 violation, counted as such) (Kea ARM 9.2.5).
pub fn check_v6(duid: Option<&[u8]>) -> Result<(), BadIdentifier> {
    match duid {
        Some(d) if !d.is_empty() && !DUID_LEN.contains(&d.len()) => Err(BadIdentifier::Duid(d.len())),
        _ => Ok(()),
    }
}
