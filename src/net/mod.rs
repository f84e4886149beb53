//! Host networking: interface discovery today; sockets (AF_PACKET, UDP) come with the DHCP
//! service. The only module allowed to use `unsafe`.

pub mod raw;
pub mod udp4;
pub mod udp6;

use std::net::IpAddr;

use crate::config::HostInterface;

/// The host's interfaces and their addresses (getifaddrs(3)), for `-T` and socket binding.
pub fn host_interfaces() -> Vec<HostInterface> {
    let mut out: Vec<HostInterface> = Vec::new();
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return out };
    for ifa in addrs {
        let ip: Option<IpAddr> = ifa.address.as_ref().and_then(|a| {
            a.as_sockaddr_in().map(|s| IpAddr::V4(s.ip())).or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
        });
        let entry = match out.iter_mut().position(|h| h.name == ifa.interface_name) {
            Some(i) => &mut out[i],
            None => {
                out.push(HostInterface { name: ifa.interface_name.clone(), addresses: Vec::new() });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        if let Some(ip) = ip {
            entry.addresses.push(ip);
        }
    }
    out
}

/// A socket descriptor borrowed from a socket object that outlives its registration.
#[derive(Debug)]
pub struct BorrowedSocket(std::os::fd::RawFd);

impl std::os::fd::AsRawFd for BorrowedSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

/// Registers a socket's descriptor with the tokio reactor for readiness events.
///
/// The caller keeps the socket object alive (and so the descriptor open) for as long as the
/// returned `AsyncFd` exists: the receive loops own both and drop the registration first.
pub fn register(fd: std::os::fd::RawFd) -> std::io::Result<tokio::io::unix::AsyncFd<BorrowedSocket>> {
    #[allow(unsafe_code)]
    // SAFETY: the descriptor belongs to a socket the caller keeps open until the AsyncFd is
    // dropped (see above), so the reactor never watches a closed or reused descriptor.
    let r = unsafe { tokio::io::unix::AsyncFd::register(BorrowedSocket(fd)) };
    r.map_err(std::io::Error::from)
}

/// The hardware type and address of the first interface that is up, is not a loopback and has
/// a non-zero link-layer address of at least 6 octets: what Kea builds a DUID-LLT/LL from
/// (RFC 8415 section 11.2).
pub fn first_link_layer_address() -> Option<(u16, Vec<u8>)> {
    use nix::net::if_::InterfaceFlags;
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    for ifa in addrs {
        if !ifa.flags.contains(InterfaceFlags::IFF_UP) || ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK) {
            continue;
        }
        let Some(link) = ifa.address.as_ref().and_then(|a| a.as_link_addr()) else { continue };
        let Some(mac) = link.addr() else { continue };
        if mac.iter().all(|b| *b == 0) {
            continue;
        }
        return Some((link.hatype(), mac.to_vec()));
    }
    None
}
