#![allow(unsafe_code)]
//! DHCPv4 over Linux packet sockets (packet(7)): Kea's `PktFilterLPF`, used when
//! `dhcp-socket-type` is `raw` (Kea's default, ARM 8.2.4 "Interface Configuration").
//!
//! Why a packet socket: RFC 2131 section 4.1 sends a reply to a client whose `ciaddr` is zero
//! and whose broadcast bit is clear as a unicast to `yiaddr` at `chaddr`. The client does not
//! hold `yiaddr` yet, so it cannot answer ARP, and an ordinary UDP socket would wait on an ARP
//! resolution that never completes. Writing the whole Ethernet frame names the destination MAC
//! directly. Reading frames also gives the client's MAC and the exact interface, and sees
//! broadcasts from clients that have no address at all.
//!
//! A packet socket only observes: the kernel's UDP stack still handles the same datagram and
//! answers a unicast to an unbound port with ICMP port unreachable. [`fallback_udp`] binds the
//! port so it does not (Kea's "fallback socket").

use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use socket2::{Domain, Protocol, SockFilter, Socket, Type};

use super::steer::Steer;

const ETH_HLEN: usize = 14;
const IPV4_MIN_HLEN: usize = 20;
const UDP_HLEN: usize = 8;
/// Ethernet + option-less IPv4 + UDP: where the payload of an ordinary frame starts.
const MIN_HEADERS: usize = ETH_HLEN + IPV4_MIN_HLEN + UDP_HLEN;
/// Ethernet + IPv4 with the largest IHL (15 words) + UDP.
const MAX_HEADERS: usize = ETH_HLEN + 60 + UDP_HLEN;
/// Room after the caller's buffer: IP options push the payload up to 40 bytes further out.
const SPILL: usize = 64;
/// Frames read or written per recvmmsg(2) / sendmmsg(2) call on a raw socket.
pub const RAW_BATCH: usize = 32;
const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_UDP: u8 = 17;
/// Kea's `writeIpUdpHeader`: TOS IPTOS_LOWDELAY, identification 0, DF set, TTL 128.
const IP_TOS: u8 = 0x10;
const IP_DF: u16 = 0x4000;
const IP_TTL: u8 = 128;
/// The More-Fragments flag and the fragment offset: any bit set means "a fragment".
const IP_FRAG_MASK: u16 = 0x3fff;
/// The VLAN identifier inside a TCI; zero means untagged or priority-tagged only.
const VLAN_VID_MASK: u16 = 0x0fff;

/// One received DHCPv4 datagram, taken from an Ethernet frame; the UDP payload is in the
/// caller's buffer at `[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecv {
    /// Interface the frame arrived on (packet(7) `sll_ifindex`).
    pub ifindex: u32,
    /// Ethernet source address: the client's or relay's MAC.
    pub src_mac: [u8; 6],
    /// IPv4 source; 0.0.0.0 for a client without an address (RFC 2131 section 4.1).
    pub src_ip: Ipv4Addr,
    /// IPv4 destination: 255.255.255.255, a subnet broadcast or one of our addresses.
    pub dst_ip: Ipv4Addr,
    /// UDP source port (68 for clients, 67 for relays).
    pub src_port: u16,
    /// UDP destination port (the server port the socket filters on).
    pub dst_port: u16,
    /// Length of the UDP payload copied into the caller's buffer.
    pub len: usize,
}

/// One frame for [`RawV4Socket::send_batch`]: a UDP payload and where it goes.
#[derive(Debug, Clone, Copy)]
pub struct RawOutgoing<'a> {
    /// Ethernet destination (ff:ff:ff:ff:ff:ff for a broadcast).
    pub dst_mac: [u8; 6],
    /// IPv4 source address.
    pub src_ip: Ipv4Addr,
    /// UDP source port.
    pub src_port: u16,
    /// IPv4 destination address.
    pub dst_ip: Ipv4Addr,
    /// UDP destination port.
    pub dst_port: u16,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// Frames [`RawV4Socket::recv`] dropped, by reason, for Kea's `pkt4-receive-drop` statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawDrops {
    /// Bad Ethernet/IPv4/UDP framing: runt, wrong version, IHL or lengths.
    pub malformed: u64,
    /// IPv4 header or UDP checksum mismatch.
    pub bad_checksum: u64,
    /// The UDP payload did not fit the caller's buffer.
    pub truncated: u64,
    /// Well-formed but not for us (VLAN-tagged, other host, outgoing, fragment, other port);
    /// the kernel filter normally drops these before they reach user space.
    pub ignored: u64,
}

/// An AF_PACKET socket (packet(7)) on one interface that receives IPv4/UDP frames to the DHCP
/// server port and sends complete Ethernet frames: Kea's `PktFilterLPF`.
#[derive(Debug)]
pub struct RawV4Socket {
    sock: Socket,
    ifindex: u32,
    mac: [u8; 6],
    port: u16,
    malformed: AtomicU64,
    bad_checksum: AtomicU64,
    truncated: AtomicU64,
    ignored: AtomicU64,
}

/// Why a frame was not handed to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    Malformed,
    BadChecksum,
    Truncated,
    Ignored,
}

/// Control-message buffer, aligned for `cmsghdr` (cmsg(3)).
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

impl RawV4Socket {
    /// Opens a non-blocking `SOCK_RAW` packet socket (packet(7)) for `ETH_P_IP` bound to
    /// `ifname`, with a classic BPF filter that passes only unfragmented IPv4/UDP to
    /// `server_port`.
    pub fn open(ifname: &str, server_port: u16) -> io::Result<RawV4Socket> {
        Self::open_with(ifname, server_port, None)
    }

    /// [`Self::open`] as socket `steer.index` of `steer.count` on the interface, taking only
    /// its share of the clients ([`super::steer`]): each packet socket sees every frame and
    /// its filter keeps one share.
    pub fn open_steered(ifname: &str, server_port: u16, steer: Steer) -> io::Result<RawV4Socket> {
        Self::open_with(ifname, server_port, Some(steer))
    }

    fn open_with(ifname: &str, server_port: u16, steer: Option<Steer>) -> io::Result<RawV4Socket> {
        let ctx = |what: &str, e: io::Error| io::Error::new(e.kind(), format!("raw socket on {ifname}: {what}: {e}"));
        check_ifname(ifname)?;
        let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(|e| ctx("no such interface", e.into()))?;
        // Protocol 0 receives nothing until bind() names ETH_P_IP together with the interface
        // (packet(7)), so no frame from another interface is queued before the filter is on.
        let sock =
            Socket::new(Domain::PACKET, Type::RAW.nonblocking().cloexec(), None).map_err(|e| ctx("socket", e))?;
        let (hatype, mac) = hardware_address(&sock, ifname).map_err(|e| ctx("SIOCGIFHWADDR", e))?;
        if hatype != libc::ARPHRD_ETHER {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "raw socket on {ifname}: link type {hatype} is not Ethernet; \
                     use \"dhcp-socket-type\": \"udp\" for this interface"
                ),
            ));
        }
        sock.attach_filter(&bpf_program(server_port, steer)).map_err(|e| ctx("SO_ATTACH_FILTER", e))?;
        // Auxiliary data tells us whether the UDP checksum is still unfilled (a local sender
        // with checksum offload) or already verified, and whether a VLAN tag was stripped.
        set_int_option(&sock, libc::SOL_PACKET, libc::PACKET_AUXDATA, 1).map_err(|e| ctx("PACKET_AUXDATA", e))?;
        bind_packet(&sock, ifindex).map_err(|e| ctx("bind", e))?;
        Ok(RawV4Socket {
            sock,
            ifindex,
            mac,
            port: server_port,
            malformed: AtomicU64::new(0),
            bad_checksum: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
        })
    }

    /// Index of the bound interface (packet(7) `sll_ifindex`).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface's MAC address as read at open time; the source of every sent frame.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Receives one frame and copies its UDP payload to `buf`: `Ok(None)` for a frame dropped
    /// as malformed or foreign (counted in [`RawV4Socket::drops`]), `Err(WouldBlock)` when none
    /// is queued.
    ///
    /// Validates the Ethernet type, IPv4 version, IHL, header checksum and lengths, and the
    /// UDP length and checksum (unless the kernel says it is not computed yet or already
    /// verified, packet(7) `PACKET_AUXDATA`). Trailing Ethernet padding is ignored.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<RawRecv>> {
        // Scatter the frame so that an option-less IPv4 header lands the payload at buf[0]:
        // no copy in the common case. IP options shift it by up to 40 bytes into `spill`.
        let mut head = [0u8; MIN_HEADERS];
        let mut spill = [0u8; SPILL];
        let mut iov = [
            libc::iovec { iov_base: head.as_mut_ptr().cast(), iov_len: head.len() },
            libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() },
            libc::iovec { iov_base: spill.as_mut_ptr().cast(), iov_len: spill.len() },
        ];
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut cmsg = CmsgBuf([0; 64]);
        // SAFETY: msghdr is plain old data (integers and raw pointers); all-zero is valid.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = ptr::addr_of_mut!(from).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len() as _;
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = cmsg.0.len() as _;
        // SAFETY: every pointer in `msg` refers to a live local or to `buf` with its true
        // length; the kernel writes no more than those lengths. MSG_TRUNC makes the return
        // value the frame's real length (packet(7)).
        let n = unsafe { libc::recvmsg(self.sock.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(self.take(&head, buf, &spill, n as usize, &from, auxdata(&msg)))
    }

    /// Receives up to `bufs.len()` (at most [`RAW_BATCH`]) frames with one recvmmsg(2) and
    /// handles each as [`RawV4Socket::recv`] does: `out` is cleared and then `out[i]`
    /// describes the payload now in `bufs[i]` (the buffers are reordered so that accepted
    /// frames come first). Returns how many frames were dropped (counted in
    /// [`RawV4Socket::drops`]); `out` may be empty when all were. `Err(WouldBlock)` when none
    /// is queued.
    pub fn recv_batch(&self, bufs: &mut [Vec<u8>], out: &mut Vec<RawRecv>) -> io::Result<usize> {
        out.clear();
        let want = bufs.len().min(RAW_BATCH);
        if want == 0 {
            return Ok(0);
        }
        let mut heads = [[0u8; MIN_HEADERS]; RAW_BATCH];
        let mut spills = [[0u8; SPILL]; RAW_BATCH];
        // SAFETY: sockaddr_ll, iovec and mmsghdr are plain old data (integers and raw
        // pointers); all-zero is a valid value, and every entry used below is filled in first.
        let mut names: [libc::sockaddr_ll; RAW_BATCH] = unsafe { mem::zeroed() };
        let mut cmsgs = [const { CmsgBuf([0; 64]) }; RAW_BATCH];
        // SAFETY: as above.
        let mut iovs: [[libc::iovec; 3]; RAW_BATCH] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; RAW_BATCH] = unsafe { mem::zeroed() };
        for i in 0..want {
            iovs[i] = [
                libc::iovec { iov_base: heads[i].as_mut_ptr().cast(), iov_len: MIN_HEADERS },
                libc::iovec { iov_base: bufs[i].as_mut_ptr().cast(), iov_len: bufs[i].len() },
                libc::iovec { iov_base: spills[i].as_mut_ptr().cast(), iov_len: SPILL },
            ];
            let m = &mut hdrs[i].msg_hdr;
            m.msg_name = ptr::addr_of_mut!(names[i]).cast();
            m.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            m.msg_iov = iovs[i].as_mut_ptr();
            m.msg_iovlen = 3;
            m.msg_control = cmsgs[i].0.as_mut_ptr().cast();
            m.msg_controllen = cmsgs[i].0.len() as _;
        }
        // SAFETY: the first `want` headers point at live locals and at the heap storage of
        // `bufs[..want]` with their lengths; nothing moves or frees them during the call.
        // MSG_TRUNC makes each msg_len the frame's real length (packet(7)).
        let n = unsafe {
            libc::recvmmsg(
                self.sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                want as libc::c_uint,
                libc::MSG_TRUNC,
                ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut dropped = 0;
        for j in 0..n as usize {
            let (aux, frame_len, from) = (auxdata(&hdrs[j].msg_hdr), hdrs[j].msg_len as usize, names[j]);
            match self.take(&heads[j], &mut bufs[j], &spills[j], frame_len, &from, aux) {
                Some(r) => {
                    let k = out.len();
                    out.push(r);
                    // Only the Vec handles move; the bytes already written stay where they are.
                    bufs.swap(k, j);
                }
                None => dropped += 1,
            }
        }
        Ok(dropped)
    }

    /// A received frame as the caller sees it, or None (counted) when it is dropped.
    fn take(
        &self,
        head: &[u8; MIN_HEADERS],
        buf: &mut [u8],
        spill: &[u8; SPILL],
        frame_len: usize,
        from: &libc::sockaddr_ll,
        aux: Option<libc::tpacket_auxdata>,
    ) -> Option<RawRecv> {
        let ifindex = u32::try_from(from.sll_ifindex).unwrap_or(self.ifindex);
        match self.accept(head, buf, spill, frame_len, from.sll_pkttype, aux) {
            Ok(h) => Some(RawRecv {
                ifindex,
                src_mac: h.src_mac,
                src_ip: h.src_ip,
                dst_ip: h.dst_ip,
                src_port: h.src_port,
                dst_port: h.dst_port,
                len: h.payload_len,
            }),
            Err(d) => {
                let counter = match d {
                    Reject::Malformed => &self.malformed,
                    Reject::BadChecksum => &self.bad_checksum,
                    Reject::Truncated => &self.truncated,
                    Reject::Ignored => &self.ignored,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Validates a received frame, moves its payload to `buf[..len]`, checks the UDP checksum.
    fn accept(
        &self,
        head: &[u8; MIN_HEADERS],
        buf: &mut [u8],
        spill: &[u8; SPILL],
        frame_len: usize,
        pkttype: u8,
        aux: Option<libc::tpacket_auxdata>,
    ) -> Result<Headers, Reject> {
        // Frames sent by this host or addressed to another host's MAC (promiscuous mode) are
        // not requests to us; the BPF filter drops them too.
        if pkttype > libc::PACKET_MULTICAST {
            return Err(Reject::Ignored);
        }
        // A frame of a VLAN sub-interface seen on its parent: that VLAN is another network.
        if aux.is_some_and(|a| a.tp_status & libc::TP_STATUS_VLAN_VALID != 0 && a.tp_vlan_tci & VLAN_VID_MASK != 0) {
            return Err(Reject::Ignored);
        }
        let received = frame_len.min(MIN_HEADERS + buf.len() + SPILL);
        let mut first = [0u8; MAX_HEADERS];
        let first_len = received.min(MAX_HEADERS);
        gather([&head[..], &buf[..], &spill[..]], 0, &mut first[..first_len]);
        let h = parse_headers(&first[..first_len], frame_len, self.port)?;
        if h.payload_off + h.payload_len > received || h.payload_len > buf.len() {
            return Err(Reject::Truncated);
        }
        place_payload(buf, spill, h.payload_off - MIN_HEADERS, h.payload_len);
        let unverifiable =
            aux.is_some_and(|a| a.tp_status & (libc::TP_STATUS_CSUMNOTREADY | libc::TP_STATUS_CSUM_VALID) != 0);
        // A zero UDP checksum means "none computed" in IPv4 (RFC 768).
        if h.udp_checksum() != 0 && !unverifiable && !udp_checksum_ok(&h, &buf[..h.payload_len]) {
            return Err(Reject::BadChecksum);
        }
        Ok(h)
    }

    /// Sends `payload` as one UDP datagram in an Ethernet+IPv4+UDP frame built here, from
    /// (`src_ip`, `src_port`) to (`dst_mac`, `dst_ip`, `dst_port`); RFC 2131 section 4.1.
    ///
    /// The IPv4 header follows Kea's (TOS low-delay, DF, TTL 128) and the UDP checksum is
    /// always computed. Errors: `InvalidInput` for a payload above 65507 bytes, the kernel's
    /// `EMSGSIZE` above the MTU, `WouldBlock` when the device queue is full.
    pub fn send(
        &self,
        dst_mac: [u8; 6],
        src_ip: Ipv4Addr,
        src_port: u16,
        dst_ip: Ipv4Addr,
        dst_port: u16,
        payload: &[u8],
    ) -> io::Result<()> {
        let hdr = build_headers(self.mac, dst_mac, src_ip, src_port, dst_ip, dst_port, payload)?;
        let iov = [
            libc::iovec { iov_base: hdr.as_ptr() as *mut libc::c_void, iov_len: hdr.len() },
            libc::iovec { iov_base: payload.as_ptr() as *mut libc::c_void, iov_len: payload.len() },
        ];
        // SAFETY: msghdr is plain old data (integers and raw pointers); all-zero is valid.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        // No address: a bound packet socket sends on its interface with its protocol
        // (packet(7)); the destination MAC is in the frame itself.
        msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = iov.len() as _;
        // SAFETY: the iovecs point at `hdr` and `payload`, both alive for the call; the kernel
        // only reads through them for sendmsg.
        let n = unsafe { libc::sendmsg(self.sock.as_raw_fd(), &msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != hdr.len() + payload.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "raw socket: short frame write"));
        }
        Ok(())
    }

    /// Sends a batch of frames with sendmmsg(2), up to [`RAW_BATCH`] per call, each built as
    /// [`RawV4Socket::send`] builds one. Returns, per frame, whether the kernel took it; one
    /// that fails (or cannot be framed) is reported and skipped, the rest still go.
    pub fn send_batch(&self, frames: &[RawOutgoing<'_>], sent: &mut Vec<io::Result<()>>) {
        sent.clear();
        while sent.len() < frames.len() {
            let f = &frames[sent.len()];
            let first = build_headers(self.mac, f.dst_mac, f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.payload);
            let first = match first {
                Ok(h) => h,
                Err(e) => {
                    sent.push(Err(e));
                    continue;
                }
            };
            // The chunk runs from this frame up to the next one that cannot be framed.
            let mut heads = [[0u8; MIN_HEADERS]; RAW_BATCH];
            heads[0] = first;
            let mut len = 1;
            for (i, f) in frames[sent.len()..].iter().enumerate().take(RAW_BATCH).skip(1) {
                match build_headers(self.mac, f.dst_mac, f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.payload) {
                    Ok(h) => heads[i] = h,
                    Err(_) => break,
                }
                len = i + 1;
            }
            let chunk = &frames[sent.len()..sent.len() + len];
            // SAFETY: iovec and mmsghdr are plain old data; all-zero is valid, and every entry
            // used below is filled in first.
            let mut iovs: [[libc::iovec; 2]; RAW_BATCH] = unsafe { mem::zeroed() };
            // SAFETY: as above.
            let mut hdrs: [libc::mmsghdr; RAW_BATCH] = unsafe { mem::zeroed() };
            for (i, f) in chunk.iter().enumerate() {
                iovs[i] = [
                    libc::iovec { iov_base: heads[i].as_mut_ptr().cast(), iov_len: MIN_HEADERS },
                    libc::iovec { iov_base: f.payload.as_ptr() as *mut libc::c_void, iov_len: f.payload.len() },
                ];
                // No address: a bound packet socket sends on its interface (packet(7)).
                hdrs[i].msg_hdr.msg_iov = iovs[i].as_mut_ptr();
                hdrs[i].msg_hdr.msg_iovlen = 2;
            }
            // SAFETY: the first `len` headers point at `heads`, `iovs` and the payloads of
            // `chunk`, all alive for the call; the kernel only reads through them.
            let n = unsafe { libc::sendmmsg(self.sock.as_raw_fd(), hdrs.as_mut_ptr(), len as libc::c_uint, 0) };
            if n <= 0 {
                // The first frame of the chunk failed: report it and go on with the next.
                sent.push(Err(io::Error::last_os_error()));
                continue;
            }
            sent.extend((0..n).map(|_| Ok(())));
        }
    }

    /// Counts of frames dropped by [`RawV4Socket::recv`] since open.
    pub fn drops(&self) -> RawDrops {
        RawDrops {
            malformed: self.malformed.load(Ordering::Relaxed),
            bad_checksum: self.bad_checksum.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
        }
    }

    /// Sets `SO_RCVBUF` (socket(7)) so bursts of DISCOVERs are queued rather than dropped.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        super::set_recv_buffer(&self.sock, bytes)
    }

    /// The socket's file descriptor, for readiness polling (tokio `AsyncFd`).
    pub fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsRawFd for RawV4Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for RawV4Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// Opens Kea's "fallback" UDP socket: bound to 0.0.0.0:`port` on `ifname` (`SO_BINDTODEVICE`,
/// `SO_REUSEADDR`, socket(7)), never read.
///
/// The packet socket only copies frames; the kernel still delivers each datagram to its UDP
/// stack, which answers a unicast to an unbound port with ICMP port unreachable (RFC 1122
/// 4.1.3.1), confusing relays and clients in RENEWING state. Binding the port stops that. The
/// server never reads this socket, because the packet socket already delivers every datagram
/// once: a kernel filter that accepts nothing is attached so the queue never fills and no
/// memory is held. Consequence: in raw mode, read DHCPv4 on this interface only from the
/// packet socket; a device-less UDP socket on the same port would lose unicasts to this one,
/// since Linux prefers the socket bound to the device.
pub fn fallback_udp(ifname: &str, port: u16) -> io::Result<UdpSocket> {
    let ctx =
        |what: &str, e: io::Error| io::Error::new(e.kind(), format!("fallback UDP socket on {ifname}: {what}: {e}"));
    check_ifname(ifname)?;
    let sock = Socket::new(Domain::IPV4, Type::DGRAM.nonblocking().cloexec(), Some(Protocol::UDP))
        .map_err(|e| ctx("socket", e))?;
    sock.set_reuse_address(true).map_err(|e| ctx("SO_REUSEADDR", e))?;
    sock.bind_device(Some(ifname.as_bytes())).map_err(|e| ctx("SO_BINDTODEVICE", e))?;
    // Attached before bind(), so not a single datagram is ever queued.
    let reject_all = [SockFilter::new((libc::BPF_RET | libc::BPF_K) as u16, 0, 0, 0)];
    sock.attach_filter(&reject_all).map_err(|e| ctx("SO_ATTACH_FILTER", e))?;
    sock.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())
        .map_err(|e| ctx(&format!("bind 0.0.0.0:{port}"), e))?;
    Ok(sock.into())
}

/// IFNAMSIZ (netdevice(7)) includes the terminating NUL.
fn check_ifname(ifname: &str) -> io::Result<()> {
    if ifname.is_empty() || ifname.len() >= libc::IFNAMSIZ || ifname.as_bytes().contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid interface name {ifname:?}")));
    }
    Ok(())
}

/// The classic BPF program (Documentation/networking/filter.rst) run on every frame: accept
/// only frames to us or broadcast/multicast, untagged, IPv4, UDP, not a fragment, to `port`.
/// Kea's LPF filter checks the same protocol fields; the packet-type and VLAN checks are ours.
fn bpf_program(port: u16, steer: Option<Steer>) -> Vec<SockFilter> {
    bpf_insns(port, steer).iter().map(|i| SockFilter::new(i.code, i.jt, i.jf, i.k)).collect()
}

fn bpf_insns(port: u16, steer: Option<Steer>) -> Vec<libc::sock_filter> {
    use libc::{
        BPF_ABS, BPF_B, BPF_H, BPF_IND, BPF_JEQ, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_MSH, BPF_RET,
        BPF_W,
    };
    // The checks (13 instructions), then the steering tail or a plain keep, then DROP.
    const CHECKS: u8 = 13;
    let drop_at = CHECKS + if steer.is_some() { 4 } else { 1 };
    let op = |code: u32, k: u32| libc::sock_filter { code: code as u16, jt: 0, jf: 0, k };
    // A conditional jump at index `at` that goes to DROP on `drop_if` and on to the next
    // instruction otherwise; offsets count from the next instruction.
    let jump = |at: u8, test: u32, k: u32, drop_if: bool| {
        let skip = drop_at - at - 1;
        let (jt, jf) = if drop_if { (skip, 0) } else { (0, skip) };
        libc::sock_filter { code: (BPF_JMP | test | BPF_K) as u16, jt, jf, k }
    };
    let ancillary = |off: libc::c_int| (libc::SKF_AD_OFF + off) as u32;
    let mut p = vec![
        /* 0 */ op(BPF_LD | BPF_W | BPF_ABS, ancillary(libc::SKF_AD_PKTTYPE)),
        /* 1 */ jump(1, BPF_JGT, u32::from(libc::PACKET_MULTICAST), true),
        /* 2 */ op(BPF_LD | BPF_W | BPF_ABS, ancillary(libc::SKF_AD_VLAN_TAG)),
        /* 3 */ jump(3, BPF_JSET, u32::from(VLAN_VID_MASK), true),
        /* 4 */ op(BPF_LD | BPF_H | BPF_ABS, 12),
        /* 5 */ jump(5, BPF_JEQ, u32::from(ETHERTYPE_IPV4), false),
        /* 6 */ op(BPF_LD | BPF_B | BPF_ABS, 23),
        /* 7 */ jump(7, BPF_JEQ, u32::from(IPPROTO_UDP), false),
        /* 8 */ op(BPF_LD | BPF_H | BPF_ABS, 20),
        /* 9 */ jump(9, BPF_JSET, u32::from(IP_FRAG_MASK), true),
        /* 10: X = IHL in bytes */ op(BPF_LDX | BPF_B | BPF_MSH, ETH_HLEN as u32),
        /* 11: UDP destination port */ op(BPF_LD | BPF_H | BPF_IND, ETH_HLEN as u32 + 2),
        /* 12 */ jump(12, BPF_JEQ, u32::from(port), false),
    ];
    match steer {
        // 13..16: only this socket's share of the clients (net::steer).
        Some(st) => p.extend(st.raw4_tail(0)),
        /* 13: keep the whole frame */ None => p.push(op(BPF_RET | BPF_K, 0x0004_0000)),
    }
    /* DROP */
    p.push(op(BPF_RET | BPF_K, 0));
    debug_assert_eq!(p.len(), usize::from(drop_at) + 1);
    p
}

/// Reads the link type (`ARPHRD_*`) and MAC of `ifname` with SIOCGIFHWADDR (netdevice(7)).
fn hardware_address(sock: &Socket, ifname: &str) -> io::Result<(u16, [u8; 6])> {
    // SAFETY: ifreq is plain old data (byte arrays, integers and a union of them); all-zero is
    // a valid value.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(ifname.as_bytes()) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads the NUL-terminated ifr_name (check_ifname keeps it shorter
    // than IFNAMSIZ, the rest is zero) and writes a sockaddr into ifr_ifru; `ifr` outlives the
    // call.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR as _, ptr::addr_of_mut!(ifr)) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a successful SIOCGIFHWADDR leaves ifru_hwaddr as the active union member.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok((sa.sa_family, mac))
}

fn set_int_option(sock: &Socket, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value is a c_int that lives across the call, with its exact size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            ptr::addr_of!(value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Binds the packet socket to `ETH_P_IP` frames of one interface (packet(7)).
fn bind_packet(sock: &Socket, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
    sll.sll_ifindex = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
    // SAFETY: the pointer and length describe `sll`, which outlives the call.
    let rc = unsafe {
        libc::bind(sock.as_raw_fd(), ptr::addr_of!(sll).cast(), mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t)
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The `PACKET_AUXDATA` control message of a received frame (packet(7)), if present.
fn auxdata(msg: &libc::msghdr) -> Option<libc::tpacket_auxdata> {
    let want = mem::size_of::<libc::tpacket_auxdata>();
    // SAFETY: `msg` was just filled by recvmsg, so msg_control/msg_controllen describe a valid
    // control buffer; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside it and return null at its end.
    // The payload is read unaligned and only when cmsg_len says it is complete.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let complete = (*c).cmsg_len as usize >= libc::CMSG_LEN(want as u32) as usize;
            if (*c).cmsg_level == libc::SOL_PACKET && (*c).cmsg_type == libc::PACKET_AUXDATA && complete {
                return Some(ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::tpacket_auxdata>()));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

/// Copies the logical byte range `[off, off + out.len())` of the concatenation of `segs`.
fn gather(segs: [&[u8]; 3], mut off: usize, out: &mut [u8]) {
    let mut filled = 0;
    for seg in segs {
        if filled == out.len() {
            break;
        }
        if off >= seg.len() {
            off -= seg.len();
            continue;
        }
        let take = (seg.len() - off).min(out.len() - filled);
        out[filled..filled + take].copy_from_slice(&seg[off..off + take]);
        filled += take;
        off = 0;
    }
}

/// Moves a payload that starts `shift` bytes into `buf` (IP options pushed it there) and may
/// continue into `spill` down to `buf[..len]`. `len <= buf.len()`, `shift <= 40 < SPILL`.
fn place_payload(buf: &mut [u8], spill: &[u8], shift: usize, len: usize) {
    if shift == 0 {
        return;
    }
    let in_buf = buf.len().saturating_sub(shift).min(len);
    buf.copy_within(shift..shift + in_buf, 0);
    let rest = len - in_buf;
    buf[in_buf..len].copy_from_slice(&spill[..rest]);
}

/// The validated headers of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Headers {
    src_mac: [u8; 6],
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    /// The UDP header as received, checksum included.
    udp: [u8; UDP_HLEN],
    /// Offset of the UDP payload in the frame.
    payload_off: usize,
    payload_len: usize,
}

impl Headers {
    fn udp_checksum(&self) -> u16 {
        u16::from_be_bytes([self.udp[6], self.udp[7]])
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn ipv4_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

/// Validates Ethernet/IPv4/UDP headers. `first` is the frame's first `min(len, 82)` bytes,
/// `frame_len` its full length on the wire.
fn parse_headers(first: &[u8], frame_len: usize, port: u16) -> Result<Headers, Reject> {
    if first.len() < MIN_HEADERS || frame_len < MIN_HEADERS {
        return Err(Reject::Malformed);
    }
    if be16(first, 12) != ETHERTYPE_IPV4 {
        return Err(Reject::Ignored);
    }
    let ip = &first[ETH_HLEN..];
    if ip[0] >> 4 != 4 {
        return Err(Reject::Malformed);
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ihl < IPV4_MIN_HLEN || first.len() < ETH_HLEN + ihl + UDP_HLEN {
        return Err(Reject::Malformed);
    }
    // The IP total length bounds the datagram; anything after it is Ethernet padding.
    let total = usize::from(be16(ip, 2));
    if total < ihl + UDP_HLEN || ETH_HLEN + total > frame_len {
        return Err(Reject::Malformed);
    }
    if fold(sum16(&ip[..ihl], 0)) != 0xffff {
        return Err(Reject::BadChecksum);
    }
    if be16(ip, 6) & IP_FRAG_MASK != 0 || ip[9] != IPPROTO_UDP {
        return Err(Reject::Ignored);
    }
    let mut udp = [0u8; UDP_HLEN];
    udp.copy_from_slice(&ip[ihl..ihl + UDP_HLEN]);
    let udp_len = usize::from(be16(&udp, 4));
    if udp_len < UDP_HLEN || ihl + udp_len > total {
        return Err(Reject::Malformed);
    }
    let dst_port = be16(&udp, 2);
    if dst_port != port {
        return Err(Reject::Ignored);
    }
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&first[6..12]);
    Ok(Headers {
        src_mac,
        src_ip: ipv4_at(ip, 12),
        dst_ip: ipv4_at(ip, 16),
        src_port: be16(&udp, 0),
        dst_port,
        udp,
        payload_off: ETH_HLEN + ihl + UDP_HLEN,
        payload_len: udp_len - UDP_HLEN,
    })
}

/// Builds the Ethernet, IPv4 (no options) and UDP headers for `payload`, checksums included.
fn build_headers(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src_ip: Ipv4Addr,
    src_port: u16,
    dst_ip: Ipv4Addr,
    dst_port: u16,
    payload: &[u8],
) -> io::Result<[u8; MIN_HEADERS]> {
    let udp_len = UDP_HLEN + payload.len();
    let total = IPV4_MIN_HLEN + udp_len;
    let (Ok(udp_len16), Ok(total16)) = (u16::try_from(udp_len), u16::try_from(total)) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("UDP payload of {} bytes does not fit one IPv4 datagram", payload.len()),
        ));
    };
    let mut h = [0u8; MIN_HEADERS];
    h[0..6].copy_from_slice(&dst_mac);
    h[6..12].copy_from_slice(&src_mac);
    h[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    {
        let ip = &mut h[ETH_HLEN..ETH_HLEN + IPV4_MIN_HLEN];
        ip[0] = 0x45;
        ip[1] = IP_TOS;
        ip[2..4].copy_from_slice(&total16.to_be_bytes());
        // Identification 0 with DF set: an atomic datagram (RFC 6864).
        ip[6..8].copy_from_slice(&IP_DF.to_be_bytes());
        ip[8] = IP_TTL;
        ip[9] = IPPROTO_UDP;
        ip[12..16].copy_from_slice(&src_ip.octets());
        ip[16..20].copy_from_slice(&dst_ip.octets());
        let csum = !fold(sum16(ip, 0));
        ip[10..12].copy_from_slice(&csum.to_be_bytes());
    }
    let udp_at = ETH_HLEN + IPV4_MIN_HLEN;
    h[udp_at..udp_at + 2].copy_from_slice(&src_port.to_be_bytes());
    h[udp_at + 2..udp_at + 4].copy_from_slice(&dst_port.to_be_bytes());
    h[udp_at + 4..udp_at + 6].copy_from_slice(&udp_len16.to_be_bytes());
    let sum = sum16(payload, sum16(&h[udp_at..], pseudo_header_sum(src_ip, dst_ip, udp_len16)));
    // RFC 768: a computed zero is sent as all ones, zero meaning "no checksum".
    let csum = match !fold(sum) {
        0 => 0xffff,
        c => c,
    };
    h[udp_at + 6..udp_at + 8].copy_from_slice(&csum.to_be_bytes());
    Ok(h)
}

/// RFC 768 pseudo-header: source, destination, zero, protocol, UDP length.
fn pseudo_header_sum(src: Ipv4Addr, dst: Ipv4Addr, udp_len: u16) -> u64 {
    let mut p = [0u8; 12];
    p[0..4].copy_from_slice(&src.octets());
    p[4..8].copy_from_slice(&dst.octets());
    p[9] = IPPROTO_UDP;
    p[10..12].copy_from_slice(&udp_len.to_be_bytes());
    sum16(&p, 0)
}

fn udp_checksum_ok(h: &Headers, payload: &[u8]) -> bool {
    let udp_len = be16(&h.udp, 4);
    let sum = sum16(payload, sum16(&h.udp, pseudo_header_sum(h.src_ip, h.dst_ip, udp_len)));
    fold(sum) == 0xffff
}

/// Adds `data` as big-endian 16-bit words to a one's-complement accumulator (RFC 1071); an odd
/// last byte is padded with zero. Callers pass even-length prefixes so words stay aligned.
fn sum16(data: &[u8], mut acc: u64) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds the carries of a one's-complement sum into 16 bits (RFC 1071).
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
    const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

    fn frame(payload: &[u8]) -> Vec<u8> {
        let h = build_headers(
            SERVER_MAC,
            CLIENT_MAC,
            Ipv4Addr::new(192, 0, 2, 1),
            67,
            Ipv4Addr::new(192, 0, 2, 50),
            68,
            payload,
        )
        .unwrap();
        let mut f = h.to_vec();
        f.extend_from_slice(payload);
        f
    }

    fn parse(f: &[u8], port: u16) -> Result<Headers, Reject> {
        parse_headers(&f[..f.len().min(MAX_HEADERS)], f.len(), port)
    }

    #[test]
    fn ip_checksum_of_a_captured_header_verifies() {
        // IPv4 header of a broadcast from 0.0.0.0 captured from the Linux UDP stack.
        let ip = hex::decode("45000148027740004011372f00000000ffffffff").unwrap();
        assert_eq!(fold(sum16(&ip, 0)), 0xffff);
    }

    #[test]
    fn built_frame_parses_back_with_valid_checksums() {
        for len in [0usize, 1, 300, 301, 1472] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let f = frame(&payload);
            assert_eq!(f.len(), MIN_HEADERS + len);
            assert_eq!(&f[0..6], &CLIENT_MAC);
            assert_eq!(&f[14..16], &[0x45, IP_TOS]);
            let h = parse(&f, 68).unwrap();
            assert_eq!(h.src_mac, SERVER_MAC);
            assert_eq!((h.src_ip, h.dst_ip), (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 50)));
            assert_eq!((h.src_port, h.dst_port, h.payload_off, h.payload_len), (67, 68, MIN_HEADERS, len));
            assert_ne!(h.udp_checksum(), 0);
            assert!(udp_checksum_ok(&h, &payload));
            let mut bad = payload.clone();
            if let Some(b) = bad.first_mut() {
                *b ^= 0x40;
                assert!(!udp_checksum_ok(&h, &bad));
            }
        }
    }

    #[test]
    fn oversized_payload_is_rejected() {
        let big = vec![0u8; 65536 - 28];
        let e = build_headers(SERVER_MAC, CLIENT_MAC, Ipv4Addr::LOCALHOST, 67, Ipv4Addr::LOCALHOST, 68, &big);
        assert_eq!(e.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert!(
            build_headers(SERVER_MAC, CLIENT_MAC, Ipv4Addr::LOCALHOST, 67, Ipv4Addr::LOCALHOST, 68, &big[1..]).is_ok()
        );
    }

    #[test]
    fn malformed_frames_are_classified() {
        let good = frame(&[1, 2, 3, 4]);
        assert!(parse(&good, 68).is_ok());
        assert_eq!(parse(&good, 67), Err(Reject::Ignored), "other port");
        assert_eq!(parse(&good[..41], 68), Err(Reject::Malformed), "runt");
        let mut f = good.clone();
        f[24] ^= 1;
        assert_eq!(parse(&f, 68), Err(Reject::BadChecksum), "IP header checksum");
        let mut f = good.clone();
        f[14] = 0x44;
        assert_eq!(parse(&f, 68), Err(Reject::Malformed), "IHL below 5");
        let mut f = good.clone();
        f[14] = 0x65;
        assert_eq!(parse(&f, 68), Err(Reject::Malformed), "IPv6 version nibble");
        let mut f = good.clone();
        f[12] = 0x86;
        f[13] = 0xdd;
        assert_eq!(parse(&f, 68), Err(Reject::Ignored), "not IPv4");
        // IP total length beyond the frame.
        let mut f = good.clone();
        f.truncate(f.len() - 1);
        assert_eq!(parse(&f, 68), Err(Reject::Malformed), "short frame");
        // UDP length beyond the IP datagram.
        let mut f = good.clone();
        f[38..40].copy_from_slice(&13u16.to_be_bytes());
        assert_eq!(parse(&f, 68), Err(Reject::Malformed), "UDP length");
        // Ethernet padding after the datagram is fine.
        let mut f = good.clone();
        f.extend_from_slice(&[0; 20]);
        assert_eq!(parse(&f, 68).unwrap().payload_len, 4);
    }

    #[test]
    fn fragments_are_ignored() {
        let mut f = frame(&[9; 8]);
        // Set More-Fragments and recompute the header checksum so only the flag differs.
        f[20] |= 0x20;
        f[24..26].copy_from_slice(&[0, 0]);
        let csum = !fold(sum16(&f[14..34], 0));
        f[24..26].copy_from_slice(&csum.to_be_bytes());
        assert_eq!(parse(&f, 68), Err(Reject::Ignored));
    }

    /// A frame with 8 bytes of IP options, scattered as recv() does, with the payload crossing
    /// from the caller's buffer into the spill area.
    #[test]
    fn ip_options_shift_the_payload_back_into_place() {
        let payload: Vec<u8> = (0..100u8).collect();
        let plain = frame(&payload);
        // Insert 8 bytes of options (NOPs), fix IHL, total length and header checksum.
        let mut f = plain[..34].to_vec();
        f.extend_from_slice(&[1; 8]);
        f.extend_from_slice(&plain[34..]);
        f[14] = 0x47;
        let total = be16(&f, 16) + 8;
        f[16..18].copy_from_slice(&total.to_be_bytes());
        f[24..26].copy_from_slice(&[0, 0]);
        let csum = !fold(sum16(&f[14..42], 0));
        f[24..26].copy_from_slice(&csum.to_be_bytes());

        for buf_len in [100usize, 104, 108, 200] {
            let mut head = [0u8; MIN_HEADERS];
            let mut buf = vec![0u8; buf_len];
            let mut spill = [0u8; SPILL];
            // Scatter exactly as the three iovecs of recv() would.
            let mut rest = &f[..];
            for seg in [&mut head[..], &mut buf[..], &mut spill[..]] {
                let n = rest.len().min(seg.len());
                seg[..n].copy_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
            let mut first = [0u8; MAX_HEADERS];
            gather([&head[..], &buf[..], &spill[..]], 0, &mut first);
            let h = parse_headers(&first, f.len(), 68).unwrap();
            assert_eq!((h.payload_off, h.payload_len), (MIN_HEADERS + 8, 100));
            place_payload(&mut buf, &spill, h.payload_off - MIN_HEADERS, h.payload_len);
            assert_eq!(&buf[..100], &payload[..], "buffer of {buf_len}");
            assert!(udp_checksum_ok(&h, &buf[..100]));
        }
    }

    /// A classic BPF interpreter for the opcodes the filter uses, with the two ancillary loads.
    fn run_bpf(prog: &[libc::sock_filter], frame: &[u8], pkttype: u32, vlan_tci: u32) -> u32 {
        use libc::*;
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let load = |at: usize, size: u32| -> Option<u32> {
            let n = match size {
                BPF_W => 4,
                BPF_H => 2,
                _ => 1,
            };
            let b = frame.get(at..at + n)?;
            Some(b.iter().fold(0u32, |v, &x| v << 8 | u32::from(x)))
        };
        loop {
            let i = prog[pc];
            let code = u32::from(i.code);
            pc += 1;
            match code & 0x07 {
                BPF_LD if code & 0xe0 == BPF_ABS && i.k >= (SKF_AD_OFF as u32) => {
                    a = match i.k.wrapping_sub(SKF_AD_OFF as u32) as c_int {
                        SKF_AD_PKTTYPE => pkttype,
                        SKF_AD_VLAN_TAG => vlan_tci,
                        other => panic!("ancillary {other}"),
                    }
                }
                BPF_LD if code & 0xe0 == BPF_ABS => match load(i.k as usize, code & 0x18) {
                    Some(v) => a = v,
                    None => return 0,
                },
                BPF_LD if code & 0xe0 == BPF_IND => match load((x + i.k) as usize, code & 0x18) {
                    Some(v) => a = v,
                    None => return 0,
                },
                BPF_LDX => match frame.get(i.k as usize) {
                    Some(b) => x = u32::from(b & 0x0f) * 4,
                    None => return 0,
                },
                BPF_JMP => {
                    let taken = match code & 0xf0 {
                        BPF_JEQ => a == i.k,
                        BPF_JGT => a > i.k,
                        BPF_JSET => a & i.k != 0,
                        other => panic!("jump {other:#x}"),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                BPF_ALU if code & 0xf0 == BPF_MOD => a %= i.k,
                BPF_RET => return i.k,
                other => panic!("class {other:#x}"),
            }
        }
    }

    #[test]
    fn each_frame_passes_exactly_one_steered_filter() {
        let count = 3;
        let progs: Vec<_> = (0..count).map(|index| bpf_insns(67, Some(Steer { index, count }))).collect();
        for n in 0..60u8 {
            let mut payload = vec![0u8; 300];
            payload[28..34].copy_from_slice(&[2, 0, n, n.wrapping_mul(7), n ^ 0x5a, n]);
            let h = build_headers(CLIENT_MAC, [0xff; 6], Ipv4Addr::UNSPECIFIED, 68, Ipv4Addr::BROADCAST, 67, &payload)
                .unwrap();
            let mut f = h.to_vec();
            f.extend_from_slice(&payload);
            let passed: Vec<u32> = (0..count).filter(|&i| run_bpf(&progs[i as usize], &f, 0, 0) != 0).collect();
            let want = Steer::index_of([payload[30], payload[31], payload[32], payload[33]], count);
            assert_eq!(passed, [want], "chaddr {:?}", &payload[28..34]);
        }
        // Other ports are still dropped by every share.
        assert!(progs.iter().all(|p| run_bpf(p, &frame(&[0; 300]), 0, 0) == 0));
    }

    #[test]
    fn bpf_filter_passes_only_dhcp_server_frames() {
        let prog = bpf_insns(67, None);
        let to_server = {
            let h = build_headers(CLIENT_MAC, [0xff; 6], Ipv4Addr::UNSPECIFIED, 68, Ipv4Addr::BROADCAST, 67, &[0; 300])
                .unwrap();
            let mut f = h.to_vec();
            f.extend_from_slice(&[0; 300]);
            f
        };
        let pass = |f: &[u8], pkttype: u32, tci: u32| run_bpf(&prog, f, pkttype, tci) != 0;
        assert!(pass(&to_server, u32::from(libc::PACKET_BROADCAST), 0));
        assert!(pass(&to_server, u32::from(libc::PACKET_HOST), 0));
        // Priority-tagged (VLAN 0) frames belong to the untagged network.
        assert!(pass(&to_server, u32::from(libc::PACKET_HOST), 0x6000));
        assert!(!pass(&to_server, u32::from(libc::PACKET_OUTGOING), 0), "our own frames");
        assert!(!pass(&to_server, u32::from(libc::PACKET_OTHERHOST), 0), "promiscuous capture");
        assert!(!pass(&to_server, u32::from(libc::PACKET_HOST), 100), "VLAN 100 on the parent");
        assert!(!pass(&frame(&[0; 300]), u32::from(libc::PACKET_HOST), 0), "to port 68");
        let mut f = to_server.clone();
        f[23] = 6;
        assert!(!pass(&f, 0, 0), "TCP");
        let mut f = to_server.clone();
        f[12] = 0x86;
        assert!(!pass(&f, 0, 0), "not IPv4");
        let mut f = to_server.clone();
        f[21] = 1;
        assert!(!pass(&f, 0, 0), "fragment offset");
        let mut f = to_server.clone();
        f[20] = 0x20;
        assert!(!pass(&f, 0, 0), "more fragments");
        // With 8 bytes of IP options the port is found through IHL.
        let mut f = to_server[..34].to_vec();
        f.extend_from_slice(&[1; 8]);
        f.extend_from_slice(&to_server[34..]);
        f[14] = 0x47;
        assert!(pass(&f, 0, 0), "IP options");
        f[44..46].copy_from_slice(&68u16.to_be_bytes());
        assert!(!pass(&f, 0, 0), "IP options, other port");
        // Every jump stays inside the program.
        for (i, insn) in prog.iter().enumerate().filter(|(_, i)| u32::from(i.code) & 0x07 == libc::BPF_JMP) {
            assert_eq!(i + 1 + usize::from(insn.jt.max(insn.jf)), prog.len() - 1, "jump {i} goes to the drop");
        }
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("").is_err());
        assert!(check_ifname("a-very-long-name0").is_err());
        assert!(check_ifname("a\0b").is_err());
    }
}
