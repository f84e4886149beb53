//! Sockets of the load generator: one UDP socket (connected to the server in relay mode,
//! broadcasting on a device in direct mode) and batched `sendmmsg`/`recvmmsg` over fixed
//! buffers. The only `unsafe` of the tool lives here, each block next to its reason.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Messages moved per system call.
pub const BATCH: usize = 64;
/// Room for one received datagram (a DHCPv6 RELAY-REPL with an address and a prefix is
/// well under 1 KiB; anything larger is truncated and ignored).
pub const RX_SIZE: usize = 2048;

/// Kernel socket buffers: deep enough that bursts of a few thousand packets are not lost
/// inside the generator itself.
const SOCK_BUF: usize = 8 << 20;

fn buffers(s: &Socket) {
    // SO_*BUFFORCE passes the rmem_max/wmem_max limits as root; otherwise the plain options.
    let fd = s.as_raw_fd();
    let v = SOCK_BUF as libc::c_int;
    for (force, plain) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)] {
        // SAFETY: setsockopt reads exactly size_of::<c_int>() bytes from &v, which lives
        // for the duration of the call; fd is an open socket owned by `s`.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                force,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let _ = if plain == libc::SO_RCVBUF {
                s.set_recv_buffer_size(SOCK_BUF)
            } else {
                s.set_send_buffer_size(SOCK_BUF)
            };
        }
    }
}

/// The local address the kernel would use to reach `server` (a connected probe socket).
pub fn local_addr_towards(server: SocketAddr) -> io::Result<IpAddr> {
    let probe = UdpSocket::bind(if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
    probe.connect(server)?;
    Ok(probe.local_addr()?.ip())
}

/// A relay agent's socket: bound to `local` on the server port (67 or 547, where servers
/// send relayed replies) and connected to `server`, non-blocking.
pub fn relay_socket(local: SocketAddr, server: SocketAddr) -> io::Result<Socket> {
    let domain = if local.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    if local.is_ipv6() {
        s.set_only_v6(true)?;
    }
    buffers(&s);
    s.bind(&local.into())?;
    s.connect(&server.into())?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// A directly attached DHCPv4 client population: port 68 on `iface`, broadcasting.
pub fn direct_socket(iface: &str) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind_device(Some(iface.as_bytes()))?;
    buffers(&s);
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 68)).into())?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Sends `msgs` (at most [`BATCH`]) in one `sendmmsg`, to `dest` or, when None, to the
/// connected peer. Returns how many left; `Ok(0)` when the send buffer is full.
pub fn send_batch(s: &Socket, msgs: &[&[u8]], dest: Option<&SockAddr>) -> io::Result<usize> {
    let n = msgs.len().min(BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: all-zero iovec/mmsghdr values are valid (null pointers, zero lengths).
    let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut hdr: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        iov[i] = libc::iovec { iov_base: msgs[i].as_ptr() as *mut libc::c_void, iov_len: msgs[i].len() };
        hdr[i].msg_hdr.msg_iov = &mut iov[i];
        hdr[i].msg_hdr.msg_iovlen = 1;
        if let Some(d) = dest {
            hdr[i].msg_hdr.msg_name = d.as_ptr() as *mut libc::c_void;
            hdr[i].msg_hdr.msg_namelen = d.len();
        }
    }
    // SAFETY: hdr[..n] point at iov[..n], which point at the caller's slices (read only by
    // the kernel) and at `dest`; all outlive the call.
    let rc = unsafe { libc::sendmmsg(s.as_raw_fd(), hdr.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(rc as usize)
}

/// Fixed receive buffers for [`recv_batch`].
pub struct RxRing {
    bufs: Vec<[u8; RX_SIZE]>,
    /// Length of each datagram of the last batch.
    pub lens: [usize; BATCH],
}

impl RxRing {
    /// [`BATCH`] buffers of [`RX_SIZE`] octets, allocated once.
    pub fn new() -> RxRing {
        RxRing { bufs: vec![[0u8; RX_SIZE]; BATCH], lens: [0; BATCH] }
    }

    /// Datagram `i` of the last batch.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.bufs[i][..self.lens[i]]
    }
}

/// Receives up to [`BATCH`] datagrams without waiting; 0 when none is queued.
pub fn recv_batch(s: &Socket, rx: &mut RxRing) -> io::Result<usize> {
    // SAFETY: all-zero iovec/mmsghdr values are valid.
    let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut hdr: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, b) in rx.bufs.iter_mut().enumerate() {
        iov[i] = libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: RX_SIZE };
        hdr[i].msg_hdr.msg_iov = &mut iov[i];
        hdr[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: each header points at one iovec over a distinct RX_SIZE buffer owned by `rx`,
    // borrowed mutably for the call; no address or control buffers are requested.
    let rc = unsafe {
        libc::recvmmsg(s.as_raw_fd(), hdr.as_mut_ptr(), BATCH as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut())
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Ok(0);
        }
        return Err(e);
    }
    let n = rc as usize;
    for (len, h) in rx.lens.iter_mut().zip(&hdr).take(n) {
        *len = (h.msg_len as usize).min(RX_SIZE);
    }
    Ok(n)
}

/// Waits until the socket is readable (or writable too, when `want_write`) or `timeout_us`
/// has passed.
pub fn wait(s: &Socket, want_write: bool, timeout_us: u64) {
    let mut fds = libc::pollfd {
        fd: s.as_raw_fd(),
        events: libc::POLLIN | if want_write { libc::POLLOUT } else { 0 },
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: (timeout_us / 1_000_000) as libc::time_t,
        tv_nsec: ((timeout_us % 1_000_000) * 1000) as libc::c_long,
    };
    // SAFETY: one pollfd and one timespec on the stack, valid for the call; no signal mask.
    unsafe {
        libc::ppoll(&mut fds, 1, &ts, std::ptr::null());
    }
}
