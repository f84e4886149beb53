#![allow(unsafe_code)]
//! UDP/IPv6 sockets with `IPV6_RECVPKTINFO` (ipv6(7)) for DHCPv6 (RFC 8415 section 7.2: servers
//! listen on UDP port 547).
//!
//! Clients reach servers through the link-scoped multicast address ff02::1:2
//! (All_DHCP_Relay_Agents_and_Servers, RFC 8415 section 7.1), relays and renewing clients by
//! unicast. `IPV6_PKTINFO` reports, for each datagram, the interface it arrived on and its
//! destination address, so one socket bound to [::]:547 can tell a multicast Solicit from a
//! unicast one (RFC 8415 section 16: unicast is only allowed in some cases) and know which link
//! to answer on; replies name their source address and interface the same way.

use std::io;
use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::steer::Steer;
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};

/// All_DHCP_Relay_Agents_and_Servers, ff02::1:2 (RFC 8415 section 7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Control-message buffer, aligned for `cmsghdr` (cmsg(3)); room for one `in6_pktinfo`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Most datagrams [`Udp6Socket::send_batch`] hands over in one sendmmsg(2) call.
pub const BATCH: usize = 64;

/// One received DHCPv6 datagram (ipv6(7) `IPV6_PKTINFO`); the payload is in the caller's buffer at `[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp6Recv {
    /// Interface the datagram arrived on (`ipi6_ifindex`, ipv6(7)); 0 if the kernel gave none.
    pub ifindex: u32,
    /// Sender address and port; link-local senders carry the arrival interface as scope id.
    pub src: SocketAddrV6,
    /// Destination address in the IPv6 header (`ipi6_addr`, ipv6(7)): ff02::1:2 or one of ours.
    pub dst: Ipv6Addr,
    /// Payload length.
    pub len: usize,
}

/// A non-blocking UDP/IPv6 socket with `IPV6_RECVPKTINFO` on, for DHCPv6 (RFC 8415, ipv6(7)).
#[derive(Debug)]
pub struct Udp6Socket {
    sock: Socket,
    truncated: AtomicU64,
}

impl Udp6Socket {
    /// Binds `addr` (usually [::]:547, RFC 8415 section 7.2) with `SO_REUSEADDR`, `IPV6_V6ONLY`,
    /// `IPV6_RECVPKTINFO` and, given `ifname`, `SO_BINDTODEVICE` (ipv6(7)); non-blocking.
    ///
    /// With `join_all_servers` and an interface, joins ff02::1:2 there (RFC 8415 section 7.1).
    pub fn bind(addr: SocketAddrV6, ifname: Option<&str>, join_all_servers: bool) -> io::Result<Udp6Socket> {
        Self::open(addr, ifname, join_all_servers, None)
    }

    /// [`Self::bind`] as socket `steer.index` of a group of `steer.count` on one interface and
    /// port, which takes only its share of the clients ([`super::steer`]).
    pub fn bind_steered(
        addr: SocketAddrV6,
        ifname: &str,
        join_all_servers: bool,
        steer: Steer,
    ) -> io::Result<Udp6Socket> {
        Self::open(addr, Some(ifname), join_all_servers, Some(steer))
    }

    fn open(
        addr: SocketAddrV6,
        ifname: Option<&str>,
        join_all_servers: bool,
        steer: Option<Steer>,
    ) -> io::Result<Udp6Socket> {
        let ctx = |what: &str, e: io::Error| {
            let on = ifname.map(|i| format!(" on {i}")).unwrap_or_default();
            io::Error::new(e.kind(), format!("UDP socket {addr}{on}: {what}: {e}"))
        };
        let sock = Socket::new(Domain::IPV6, Type::DGRAM.nonblocking().cloexec(), Some(Protocol::UDP))
            .map_err(|e| ctx("socket", e))?;
        // Several sockets share port 547 (one per interface, plus unicast-address sockets).
        sock.set_reuse_address(true).map_err(|e| ctx("SO_REUSEADDR", e))?;
        // DHCPv4 has its own sockets; v4-mapped traffic must never reach the DHCPv6 server.
        sock.set_only_v6(true).map_err(|e| ctx("IPV6_V6ONLY", e))?;
        setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true).map_err(|e| ctx("IPV6_RECVPKTINFO", e.into()))?;
        if let Some(name) = ifname {
            if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid interface name {name:?}")));
            }
            sock.bind_device(Some(name.as_bytes())).map_err(|e| ctx("SO_BINDTODEVICE", e))?;
        }
        if let Some(st) = steer {
            super::steer::prepare(&sock, &st.udp6_filter()).map_err(|e| ctx("steering filter", e))?;
        }
        sock.bind(&addr.into()).map_err(|e| ctx("bind", e))?;
        if let Some(st) = steer.filter(|st| st.index == 0) {
            super::steer::attach_group(&sock, &Steer::udp6_group(st.count))
                .map_err(|e| ctx("SO_ATTACH_REUSEPORT_CBPF", e))?;
        }
        if let (true, Some(name)) = (join_all_servers, ifname) {
            // Multicast membership is per interface: the group is link-scoped.
            let index = nix::net::if_::if_nametoindex(name).map_err(|e| ctx("if_nametoindex", e.into()))?;
            sock.join_multicast_v6(&ALL_DHCP_RELAY_AGENTS_AND_SERVERS, index)
                .map_err(|e| ctx("IPV6_ADD_MEMBERSHIP ff02::1:2", e))?;
        }
        Ok(Udp6Socket { sock, truncated: AtomicU64::new(0) })
    }

    /// Receives one datagram with recvmsg(2) and its `IPV6_PKTINFO` (receiving interface and
    /// header destination, ipv6(7)); `Err(WouldBlock)` when none is queued.
    ///
    /// A datagram longer than `buf` is dropped and counted ([`Udp6Socket::truncated`]); the
    /// next one is returned instead, since a cut DHCPv6 message cannot be parsed.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Udp6Recv> {
        loop {
            let mut name = zeroed_sockaddr_in6();
            let mut cmsg = CmsgBuf([0; 64]);
            let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            // SAFETY: msghdr is plain old data (integers and raw pointers); all-zero is valid.
            let mut msg: libc::msghdr = unsafe { mem::zeroed() };
            msg.msg_name = ptr::addr_of_mut!(name).cast();
            msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cmsg.0.as_mut_ptr().cast();
            msg.msg_controllen = cmsg.0.len() as _;
            // SAFETY: `msg` points at `name`, `iov` (which points at `buf` with its length) and
            // `cmsg`, all alive for the call; the kernel writes within the given lengths.
            let n = unsafe { libc::recvmsg(self.sock.as_raw_fd(), &mut msg, 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            if msg.msg_flags & libc::MSG_TRUNC != 0 {
                self.truncated.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            return Ok(describe(&msg, &name, n as usize));
        }
    }

    /// Receives up to [`BATCH`] datagrams with one recvmmsg(2) (the hot path); `out` is
    /// cleared and then `out[i]` describes the datagram now in `bufs[i]`. Datagrams longer than
    /// their buffer are dropped and counted, the kept buffers moved to the front. Returns
    /// `out.len()`, at least 1; `Err(WouldBlock)` when none is queued.
    pub fn recv_batch(&self, bufs: &mut [Vec<u8>], out: &mut Vec<Udp6Recv>) -> io::Result<usize> {
        out.clear();
        let want = bufs.len().min(BATCH);
        if want == 0 {
            return Ok(0);
        }
        loop {
            let mut names = [zeroed_sockaddr_in6(); BATCH];
            let mut cmsgs = [CmsgBuf([0; 64]); BATCH];
            // SAFETY: iovec and mmsghdr are plain old data; all-zero is valid, and every entry
            // used below is filled in first.
            let mut iovs: [libc::iovec; BATCH] = unsafe { mem::zeroed() };
            // SAFETY: as above.
            let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
            for i in 0..want {
                iovs[i] = libc::iovec { iov_base: bufs[i].as_mut_ptr().cast(), iov_len: bufs[i].len() };
                let h = &mut hdrs[i].msg_hdr;
                h.msg_name = ptr::addr_of_mut!(names[i]).cast();
                h.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
                h.msg_iov = &mut iovs[i];
                h.msg_iovlen = 1;
                h.msg_control = cmsgs[i].0.as_mut_ptr().cast();
                h.msg_controllen = cmsgs[i].0.len() as _;
            }
            // SAFETY: the first `want` headers point at locals of this frame and at the heap
            // storage of `bufs[..want]` with their lengths; nothing moves or frees them during
            // the call, and the kernel writes within the given lengths.
            let n = unsafe {
                libc::recvmmsg(self.sock.as_raw_fd(), hdrs.as_mut_ptr(), want as libc::c_uint, 0, ptr::null_mut())
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            for (j, (hdr, name)) in hdrs.iter().zip(names.iter()).take(n as usize).enumerate() {
                if hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                    self.truncated.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let k = out.len();
                out.push(describe(&hdr.msg_hdr, name, hdr.msg_len as usize));
                // Only the Vec handles move; the bytes already written stay where they are.
                bufs.swap(k, j);
            }
            if !out.is_empty() {
                return Ok(out.len());
            }
        }
    }

    /// Sends one datagram with sendmsg(2); `src` and `ifindex`, when given, go in an
    /// `IPV6_PKTINFO` control message (ipv6(7)) to pick the source address and the outgoing
    /// interface. Link-local and multicast `dst` need `dst.scope_id()` (or `ifindex`) set.
    pub fn send(
        &self,
        payload: &[u8],
        dst: SocketAddrV6,
        src: Option<Ipv6Addr>,
        ifindex: Option<u32>,
    ) -> io::Result<usize> {
        let mut name = sockaddr_in6(dst);
        let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
        let mut cmsg = CmsgBuf([0; 64]);
        // SAFETY: msghdr is plain old data (integers and raw pointers); all-zero is valid.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = ptr::addr_of_mut!(name).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if src.is_some() || ifindex.is_some() {
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr { s6_addr: src.unwrap_or(Ipv6Addr::UNSPECIFIED).octets() },
                ipi6_ifindex: ifindex.unwrap_or(0),
            };
            let size = mem::size_of::<libc::in6_pktinfo>() as u32;
            msg.msg_control = cmsg.0.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE is a pure size computation.
            msg.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as _;
            // SAFETY: msg_control points at `cmsg`, 64 aligned bytes, more than CMSG_SPACE of
            // an in6_pktinfo (40), so CMSG_FIRSTHDR is non-null and header and data fit in it.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::IPPROTO_IPV6;
                (*c).cmsg_type = libc::IPV6_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>(), info);
            }
        }
        // SAFETY: every pointer in `msg` refers to a local or to `payload`, alive for the call;
        // the kernel only reads through them for sendmsg.
        let n = unsafe { libc::sendmsg(self.sock.as_raw_fd(), &msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Sends a batch of datagrams with sendmmsg(2), [`BATCH`] per call, each out of
    /// interface `ifindex` (`IPV6_PKTINFO`, as in [`Self::send`]). `sent` gets, per datagram,
    /// whether the kernel took it; one that fails is reported and skipped, the rest still go.
    pub fn send_batch(&self, msgs: &[(&[u8], SocketAddrV6)], ifindex: u32, sent: &mut Vec<io::Result<()>>) {
        sent.clear();
        while sent.len() < msgs.len() {
            let chunk = &msgs[sent.len()..msgs.len().min(sent.len() + BATCH)];
            let mut names = [zeroed_sockaddr_in6(); BATCH];
            let mut cmsgs = [CmsgBuf([0; 64]); BATCH];
            // SAFETY: iovec and mmsghdr are plain old data; all-zero is valid, and every entry
            // used below is filled in first.
            let mut iovs: [libc::iovec; BATCH] = unsafe { mem::zeroed() };
            // SAFETY: as above.
            let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr { s6_addr: Ipv6Addr::UNSPECIFIED.octets() },
                ipi6_ifindex: ifindex,
            };
            let size = mem::size_of::<libc::in6_pktinfo>() as u32;
            for (i, (payload, dst)) in chunk.iter().enumerate() {
                names[i] = sockaddr_in6(*dst);
                iovs[i] = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
                let h = &mut hdrs[i].msg_hdr;
                h.msg_name = ptr::addr_of_mut!(names[i]).cast();
                h.msg_namelen = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
                h.msg_iov = &mut iovs[i];
                h.msg_iovlen = 1;
                h.msg_control = cmsgs[i].0.as_mut_ptr().cast();
                // SAFETY: CMSG_SPACE is a pure size computation.
                h.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as _;
                // SAFETY: msg_control points at 64 aligned bytes of `cmsgs[i]`, more than
                // CMSG_SPACE of an in6_pktinfo (40), so the header and data fit in it.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(h);
                    (*c).cmsg_level = libc::IPPROTO_IPV6;
                    (*c).cmsg_type = libc::IPV6_PKTINFO;
                    (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                    ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>(), info);
                }
            }
            // SAFETY: the first `chunk.len()` headers point at locals of this frame and at the
            // payloads of `chunk`, all alive for the call; the kernel only reads through them.
            let n = unsafe { libc::sendmmsg(self.sock.as_raw_fd(), hdrs.as_mut_ptr(), chunk.len() as libc::c_uint, 0) };
            if n <= 0 {
                // The first datagram of the chunk failed: report it and go on with the next.
                sent.push(Err(io::Error::last_os_error()));
                continue;
            }
            sent.extend((0..n).map(|_| Ok(())));
        }
    }

    /// The bound local address (getsockname(2)).
    pub fn local_addr(&self) -> io::Result<SocketAddrV6> {
        self.sock.local_addr()?.as_socket_ipv6().ok_or_else(|| io::Error::other("UDP socket: not an IPv6 address"))
    }

    /// Datagrams dropped because they did not fit the receive buffer, since bind.
    pub fn truncated(&self) -> u64 {
        self.truncated.load(Ordering::Relaxed)
    }

    /// Sets `SO_RCVBUF` (socket(7)) so bursts are queued rather than dropped.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        super::set_recv_buffer(&self.sock, bytes)
    }

    /// The socket's file descriptor, for readiness polling (tokio `AsyncFd`).
    pub fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsRawFd for Udp6Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Udp6Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

fn zeroed_sockaddr_in6() -> libc::sockaddr_in6 {
    // SAFETY: sockaddr_in6 is plain old data; all-zero is a valid value.
    unsafe { mem::zeroed() }
}

fn sockaddr_in6(a: SocketAddrV6) -> libc::sockaddr_in6 {
    let mut s = zeroed_sockaddr_in6();
    s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    s.sin6_port = a.port().to_be();
    s.sin6_flowinfo = a.flowinfo().to_be();
    s.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
    s.sin6_scope_id = a.scope_id();
    s
}

/// Builds the [`Udp6Recv`] of a datagram from its sender address and `IPV6_PKTINFO`.
fn describe(msg: &libc::msghdr, name: &libc::sockaddr_in6, len: usize) -> Udp6Recv {
    let src = SocketAddrV6::new(
        Ipv6Addr::from(name.sin6_addr.s6_addr),
        u16::from_be(name.sin6_port),
        u32::from_be(name.sin6_flowinfo),
        name.sin6_scope_id,
    );
    let (ifindex, dst) = match pktinfo(msg) {
        Some(i) => (i.ipi6_ifindex, Ipv6Addr::from(i.ipi6_addr.s6_addr)),
        None => (0, Ipv6Addr::UNSPECIFIED),
    };
    Udp6Recv { ifindex, src, dst, len }
}

/// The `IPV6_PKTINFO` control message of a received datagram (ipv6(7)), if present.
fn pktinfo(msg: &libc::msghdr) -> Option<libc::in6_pktinfo> {
    let want = mem::size_of::<libc::in6_pktinfo>() as u32;
    // SAFETY: `msg` was just filled by recvmsg, so msg_control/msg_controllen describe a live
    // control buffer; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside it and return null at its end. The
    // payload is read unaligned and only when cmsg_len says it is complete.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let complete = (*c).cmsg_len as usize >= libc::CMSG_LEN(want) as usize;
            if (*c).cmsg_level == libc::IPPROTO_IPV6 && (*c).cmsg_type == libc::IPV6_PKTINFO && complete {
                return Some(ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>()));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback needs no privileges: pktinfo, truncation and a source-less send on ::1.
    #[test]
    fn loopback_pktinfo_and_truncation() {
        let server = Udp6Socket::bind(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0), None, false).unwrap();
        let to = server.local_addr().unwrap();
        let client = Udp6Socket::bind(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0), None, false).unwrap();
        let lo = nix::net::if_::if_nametoindex("lo").unwrap();

        assert_eq!(server.recv(&mut [0; 16]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        client.send(&[7; 3000], to, None, None).unwrap();
        client.send(b"hello", to, Some(Ipv6Addr::LOCALHOST), Some(lo)).unwrap();
        let mut buf = [0u8; 1500];
        let r = server.recv(&mut buf).unwrap();
        assert_eq!(server.truncated(), 1, "the 3000-byte datagram is dropped");
        assert_eq!(&buf[..r.len], b"hello");
        assert_eq!((r.ifindex, r.dst, r.src), (lo, Ipv6Addr::LOCALHOST, client.local_addr().unwrap()));
        assert_eq!(server.recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }
}
