//! Host networking: interface discovery today; sockets (AF_PACKET, UDP) come with the DHCP
//! service. The only module allowed to use `unsafe`.

pub mod raw;
pub mod steer;
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

/// A socket descriptor borrowed from a socket object that outlives its registration: the
/// lifetime ties the readiness registration to the socket, so it cannot outlive it.
#[derive(Debug)]
pub struct BorrowedSocket<'a>(std::os::fd::BorrowedFd<'a>);

impl std::os::fd::AsRawFd for BorrowedSocket<'_> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// Registers a socket's descriptor with the tokio reactor for readiness events (epoll(7)).
///
/// The borrow keeps the socket object alive (and so the descriptor open and unchanged) for as
/// long as the returned `AsyncFd` exists; the compiler checks what callers used to promise.
pub fn register(fd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<tokio::io::unix::AsyncFd<BorrowedSocket<'_>>> {
    #[allow(unsafe_code)]
    // SAFETY: `BorrowedFd<'a>` guarantees the descriptor stays open and refers to the same
    // file description for `'a`, and the `AsyncFd<BorrowedSocket<'a>>` cannot outlive `'a`;
    // `as_raw_fd` always returns that same descriptor.
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

/// Sets a socket's receive buffer (socket(7) `SO_RCVBUF`), beyond `net.core.rmem_max` with
/// `SO_RCVBUFFORCE` when the process may (CAP_NET_ADMIN, which a DHCP server has for its raw
/// sockets): the default cap of ~208 KiB holds only ~200 queued DHCP frames.
pub(crate) fn set_recv_buffer(sock: &socket2::Socket, bytes: usize) -> std::io::Result<()> {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(sock, sockopt::RcvBufForce, &bytes).is_ok() {
        return Ok(());
    }
    sock.set_recv_buffer_size(bytes)
}
