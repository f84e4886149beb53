#![allow(unsafe_code)]
//! UDP/IPv4 sockets with `IP_PKTINFO` (ip(7)): relayed traffic in every mode, and all DHCPv4
//! traffic with `dhcp-socket-type: udp` (Kea ARM 8.2.4).
//!
//! `IP_PKTINFO` is what lets one socket bound to 0.0.0.0:67 serve many interfaces: each
//! datagram reports the interface it arrived on and the destination address in its header
//! (broadcast, subnet broadcast or which of our addresses), and each reply can name its source
//! address and outgoing interface. Receives are batched with recvmmsg(2), the hot path.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::steer::Steer;
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};

/// Most datagrams [`Udp4Socket::recv_batch`] takes in one recvmmsg(2) call.
pub const MAX_BATCH: usize = 64;

/// Control-message buffer, aligned for `cmsghdr` (cmsg(3)); room for one `in_pktinfo`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// One received datagram; the payload is in the caller's buffer at `[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp4Recv {
    /// Interface the datagram arrived on (`ipi_ifindex`, ip(7)); 0 if the kernel gave none.
    pub ifindex: u32,
    /// Sender address and port (a relay's giaddr side, or a client with an address).
    pub src: SocketAddrV4,
    /// Destination address in the IP header (`ipi_addr`, ip(7)): 255.255.255.255, a subnet
    /// broadcast, or one of our addresses.
    pub dst: Ipv4Addr,
    /// Payload length.
    pub len: usize,
    /// Ethernet source of the frame, when a packet socket received it (Kea's remote hardware
    /// address: where its raw-socket replies go at layer 2).
    pub src_mac: Option<[u8; 6]>,
}

/// One datagram of a [`Udp4Socket::send_batch`].
#[derive(Debug, Clone, Copy)]
pub struct Outgoing4<'a> {
    /// The encoded message.
    pub payload: &'a [u8],
    /// Where it goes.
    pub dst: SocketAddrV4,
    /// The outgoing interface, for broadcasts.
    pub ifindex: Option<u32>,
}

/// A non-blocking UDP/IPv4 socket with `IP_PKTINFO` on, for DHCPv4 (ip(7), udp(7)).
#[derive(Debug)]
pub struct Udp4Socket {
    sock: Socket,
    truncated: AtomicU64,
}

impl Udp4Socket {
    /// Binds `addr` (usually 0.0.0.0:67) with `SO_REUSEADDR`, `SO_BROADCAST`, `IP_PKTINFO`
    /// and, given `ifname`, `SO_BINDTODEVICE` (socket(7), ip(7)); non-blocking.
    pub fn bind(addr: SocketAddrV4, ifname: Option<&str>) -> io::Result<Udp4Socket> {
        Self::open(addr, ifname, None)
    }

    /// [`Self::bind`] as socket `steer.index` of a group of `steer.count` on one interface and
    /// port, which takes only its share of the clients ([`super::steer`]).
    pub fn bind_steered(addr: SocketAddrV4, ifname: &str, steer: Steer) -> io::Result<Udp4Socket> {
        Self::open(addr, Some(ifname), Some(steer))
    }

    fn open(addr: SocketAddrV4, ifname: Option<&str>, steer: Option<Steer>) -> io::Result<Udp4Socket> {
        let ctx = |what: &str, e: io::Error| {
            let on = ifname.map(|i| format!(" on {i}")).unwrap_or_default();
            io::Error::new(e.kind(), format!("UDP socket {addr}{on}: {what}: {e}"))
        };
        let sock = Socket::new(Domain::IPV4, Type::DGRAM.nonblocking().cloexec(), Some(Protocol::UDP))
            .map_err(|e| ctx("socket", e))?;
        // Several sockets share port 67 (one per interface, plus Kea's fallback sockets).
        sock.set_reuse_address(true).map_err(|e| ctx("SO_REUSEADDR", e))?;
        // Replies to 255.255.255.255 (RFC 2131 section 4.1) need it.
        sock.set_broadcast(true).map_err(|e| ctx("SO_BROADCAST", e))?;
        setsockopt(&sock, sockopt::Ipv4PacketInfo, &true).map_err(|e| ctx("IP_PKTINFO", e.into()))?;
        if let Some(name) = ifname {
            if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid interface name {name:?}")));
            }
            sock.bind_device(Some(name.as_bytes())).map_err(|e| ctx("SO_BINDTODEVICE", e))?;
        }
        if let Some(st) = steer {
            super::steer::prepare(&sock, &st.udp4_filter()).map_err(|e| ctx("steering filter", e))?;
        }
        sock.bind(&addr.into()).map_err(|e| ctx("bind", e))?;
        if let Some(st) = steer.filter(|st| st.index == 0) {
            super::steer::attach_group(&sock, &Steer::udp4_group(st.count))
                .map_err(|e| ctx("SO_ATTACH_REUSEPORT_CBPF", e))?;
        }
        Ok(Udp4Socket { sock, truncated: AtomicU64::new(0) })
    }

    /// Receives one datagram with recvmsg(2) and its `IP_PKTINFO` (receiving interface and
    /// header destination, ip(7)); `Err(WouldBlock)` when none is queued.
    ///
    /// A datagram longer than `buf` is dropped and counted ([`Udp4Socket::truncated`]); the
    /// next one is returned instead, since a cut DHCP message cannot be parsed.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Udp4Recv> {
        loop {
            let mut name = zeroed_sockaddr_in();
            let mut cmsg = CmsgBuf([0; 64]);
            let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            let mut msg = recv_msghdr(&mut name, &mut iov, &mut cmsg);
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

    /// Receives up to `min(bufs.len(), MAX_BATCH)` datagrams in one recvmmsg(2) call, the hot
    /// path; `out` is cleared and then `out[i]` describes the datagram now in `bufs[i]`.
    ///
    /// Each buffer's `len()` (not its capacity) is the room offered. Datagrams longer than
    /// their buffer are dropped and counted, and the buffers are reordered so that the kept
    /// ones come first. Returns `out.len()`, at least 1; `Err(WouldBlock)` when none is queued.
    pub fn recv_batch(&self, bufs: &mut [Vec<u8>], out: &mut Vec<Udp4Recv>) -> io::Result<usize> {
        out.clear();
        let want = bufs.len().min(MAX_BATCH);
        if want == 0 {
            return Ok(0);
        }
        loop {
            let mut names = [zeroed_sockaddr_in(); MAX_BATCH];
            let mut cmsgs = [CmsgBuf([0; 64]); MAX_BATCH];
            // SAFETY: iovec and mmsghdr are plain old data (integers and raw pointers); all-zero
            // is a valid value, and every entry used below is filled in first.
            let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { mem::zeroed() };
            // SAFETY: as above.
            let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { mem::zeroed() };
            let slots = bufs.iter_mut().zip(iovs.iter_mut()).zip(names.iter_mut()).zip(cmsgs.iter_mut());
            for ((((buf, iov), name), cmsg), hdr) in slots.zip(hdrs.iter_mut()).take(want) {
                *iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
                hdr.msg_hdr = recv_msghdr(name, iov, cmsg);
            }
            // SAFETY: the first `want` headers point at live locals and at the heap storage of
            // `bufs[..want]` with their lengths; nothing moves or frees them during the call.
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
            // Everything in this batch was truncated: try again until the queue is empty.
        }
    }

    /// Sends one datagram with sendmsg(2); `src` and `ifindex`, when given, go in an
    /// `IP_PKTINFO` control message as `ipi_spec_dst` and `ipi_ifindex` (ip(7)) to pick the
    /// source address and the outgoing interface (needed for 255.255.255.255).
    pub fn send(
        &self,
        payload: &[u8],
        dst: SocketAddrV4,
        src: Option<Ipv4Addr>,
        ifindex: Option<u32>,
    ) -> io::Result<usize> {
        let mut name = sockaddr_in(dst);
        let mut iov = libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() };
        let mut cmsg = CmsgBuf([0; 64]);
        // SAFETY: msghdr is plain old data (integers and raw pointers); all-zero is valid.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = ptr::addr_of_mut!(name).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if src.is_some() || ifindex.is_some() {
            let ipi_ifindex = match ifindex {
                Some(i) => libc::c_int::try_from(i)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?,
                None => 0,
            };
            let info = libc::in_pktinfo {
                ipi_ifindex,
                ipi_spec_dst: in_addr(src.unwrap_or(Ipv4Addr::UNSPECIFIED)),
                ipi_addr: in_addr(Ipv4Addr::UNSPECIFIED),
            };
            let size = mem::size_of::<libc::in_pktinfo>() as u32;
            msg.msg_control = cmsg.0.as_mut_ptr().cast();
            // SAFETY: CMSG_SPACE is a pure size computation.
            msg.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as _;
            // SAFETY: msg_control points at `cmsg`, 64 aligned bytes, more than CMSG_SPACE of
            // an in_pktinfo (32), so CMSG_FIRSTHDR is non-null and header and data fit in it.
            unsafe {
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in_pktinfo>(), info);
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

    /// Sends a batch of datagrams with sendmmsg(2), up to [`MAX_BATCH`] per call; each may
    /// name its outgoing interface (`IP_PKTINFO`, as in [`Self::send`]). Returns, per datagram,
    /// whether the kernel took it; one that fails is reported and skipped, the rest still go.
    pub fn send_batch(&self, msgs: &[Outgoing4<'_>], sent: &mut Vec<io::Result<()>>) {
        sent.clear();
        while sent.len() < msgs.len() {
            let chunk = &msgs[sent.len()..msgs.len().min(sent.len() + MAX_BATCH)];
            let mut names = [zeroed_sockaddr_in(); MAX_BATCH];
            let mut cmsgs = [CmsgBuf([0; 64]); MAX_BATCH];
            // SAFETY: iovec and mmsghdr are plain old data; all-zero is valid, and every entry
            // used below is filled in first.
            let mut iovs: [libc::iovec; MAX_BATCH] = unsafe { mem::zeroed() };
            // SAFETY: as above.
            let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { mem::zeroed() };
            for (i, m) in chunk.iter().enumerate() {
                names[i] = sockaddr_in(m.dst);
                iovs[i] = libc::iovec { iov_base: m.payload.as_ptr() as *mut libc::c_void, iov_len: m.payload.len() };
                let h = &mut hdrs[i].msg_hdr;
                h.msg_name = ptr::addr_of_mut!(names[i]).cast();
                h.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                h.msg_iov = &mut iovs[i];
                h.msg_iovlen = 1;
                if let Some(ifindex) = m.ifindex.and_then(|i| libc::c_int::try_from(i).ok()) {
                    let info = libc::in_pktinfo {
                        ipi_ifindex: ifindex,
                        ipi_spec_dst: in_addr(Ipv4Addr::UNSPECIFIED),
                        ipi_addr: in_addr(Ipv4Addr::UNSPECIFIED),
                    };
                    let size = mem::size_of::<libc::in_pktinfo>() as u32;
                    h.msg_control = cmsgs[i].0.as_mut_ptr().cast();
                    // SAFETY: CMSG_SPACE is a pure size computation.
                    h.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as _;
                    // SAFETY: msg_control points at 64 aligned bytes of `cmsgs[i]`, more than
                    // CMSG_SPACE of an in_pktinfo, so the header and data fit in it.
                    unsafe {
                        let c = libc::CMSG_FIRSTHDR(h);
                        (*c).cmsg_level = libc::IPPROTO_IP;
                        (*c).cmsg_type = libc::IP_PKTINFO;
                        (*c).cmsg_len = libc::CMSG_LEN(size) as _;
                        ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in_pktinfo>(), info);
                    }
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
    pub fn local_addr(&self) -> io::Result<SocketAddrV4> {
        self.sock.local_addr()?.as_socket_ipv4().ok_or_else(|| io::Error::other("UDP socket: not an IPv4 address"))
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

impl AsRawFd for Udp4Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Udp4Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

fn zeroed_sockaddr_in() -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    unsafe { mem::zeroed() }
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr { s_addr: u32::from(a).to_be() }
}

fn sockaddr_in(a: SocketAddrV4) -> libc::sockaddr_in {
    let mut s = zeroed_sockaddr_in();
    s.sin_family = libc::AF_INET as libc::sa_family_t;
    s.sin_port = a.port().to_be();
    s.sin_addr = in_addr(*a.ip());
    s
}

/// A msghdr for receiving into `iov`, with the sender in `name` and control data in `cmsg`.
fn recv_msghdr(name: &mut libc::sockaddr_in, iov: &mut libc::iovec, cmsg: &mut CmsgBuf) -> libc::msghdr {
    // SAFETY: msghdr is plain old data (integers and raw pointers); all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = ptr::from_mut(name).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg.0.len() as _;
    msg
}

/// Builds the [`Udp4Recv`] of a datagram from its sender address and `IP_PKTINFO`.
fn describe(msg: &libc::msghdr, name: &libc::sockaddr_in, len: usize) -> Udp4Recv {
    let src = SocketAddrV4::new(Ipv4Addr::from(u32::from_be(name.sin_addr.s_addr)), u16::from_be(name.sin_port));
    let (ifindex, dst) = match pktinfo(msg) {
        Some(i) => (u32::try_from(i.ipi_ifindex).unwrap_or(0), Ipv4Addr::from(u32::from_be(i.ipi_addr.s_addr))),
        None => (0, Ipv4Addr::UNSPECIFIED),
    };
    Udp4Recv { ifindex, src, dst, len, src_mac: None }
}

/// The `IP_PKTINFO` control message of a received datagram (ip(7)), if present.
fn pktinfo(msg: &libc::msghdr) -> Option<libc::in_pktinfo> {
    let want = mem::size_of::<libc::in_pktinfo>() as u32;
    // SAFETY: `msg` was just filled by recvmsg/recvmmsg, so msg_control/msg_controllen describe
    // a live control buffer; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside it and return null at its
    // end. The payload is read unaligned and only when cmsg_len says it is complete.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let complete = (*c).cmsg_len as usize >= libc::CMSG_LEN(want) as usize;
            if (*c).cmsg_level == libc::IPPROTO_IP && (*c).cmsg_type == libc::IP_PKTINFO && complete {
                return Some(ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in_pktinfo>()));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback needs no privileges: pktinfo, batching and truncation on 127.0.0.1.
    #[test]
    fn loopback_pktinfo_batch_and_truncation() {
        let server = Udp4Socket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None).unwrap();
        let to = server.local_addr().unwrap();
        let client = Udp4Socket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None).unwrap();
        let lo = nix::net::if_::if_nametoindex("lo").unwrap();

        assert_eq!(server.recv(&mut [0; 16]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        for i in 0..5u8 {
            let len = if i == 2 { 3000 } else { 10 + usize::from(i) };
            assert_eq!(client.send(&vec![i; len], to, None, None).unwrap(), len);
        }
        let mut bufs: Vec<Vec<u8>> = (0..8).map(|_| vec![0u8; 1500]).collect();
        let mut out = Vec::new();
        let n = server.recv_batch(&mut bufs, &mut out).unwrap();
        assert_eq!(n, 4, "the 3000-byte datagram is dropped: {out:?}");
        assert_eq!(server.truncated(), 1);
        for (r, (buf, i)) in out.iter().zip(bufs.iter().zip([0u8, 1, 3, 4])) {
            assert_eq!(r.len, 10 + usize::from(i));
            assert!(buf[..r.len].iter().all(|&b| b == i));
            assert_eq!((r.ifindex, r.dst, r.src), (lo, Ipv4Addr::LOCALHOST, client.local_addr().unwrap()));
        }
        assert_eq!(server.recv_batch(&mut bufs, &mut out).unwrap_err().kind(), io::ErrorKind::WouldBlock);

        // Single receive, with a source chosen through IP_PKTINFO.
        let other = Ipv4Addr::new(127, 0, 0, 2);
        client.send(b"hello", to, Some(other), Some(lo)).unwrap();
        let mut buf = [0u8; 64];
        let r = server.recv(&mut buf).unwrap();
        assert_eq!((&buf[..r.len], *r.src.ip(), r.ifindex), (&b"hello"[..], other, lo));
    }
}
