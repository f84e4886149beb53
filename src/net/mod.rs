//! Host networking: interface discovery today; sockets (AF_PACKET, UDP) come with the DHCP
//! service. The only module allowed to use `unsafe`.

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
