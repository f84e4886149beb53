#![allow(unsafe_code)]
//! Spreading one interface's DHCP traffic over several receiving sockets (and so threads) by
//! client, not by the kernel's 4-tuple hash: every relay, and every client without an address
//! (0.0.0.0:68), is a single 4-tuple, so plain SO_REUSEPORT would put all of it on one socket.
//!
//! The client is named by 4 bytes at a fixed place: DHCPv4 `chaddr[2..6]` (the NIC-specific
//! part of a MAC); DHCPv6 the last 4 bytes of the outermost RELAY-FORW's peer-address (the
//! client's link-local address), or of the IPv6 source of a message sent by the client itself.
//! Socket `i` of `n` takes the clients whose bytes, read as a big-endian number, are `i`
//! modulo `n` ([`Steer::index_of`]). Two kernel mechanisms enforce it:
//! - every socket carries a socket filter keeping only its share, which is all broadcast and
//!   multicast needs (each socket of a group receives its own copy of those);
//! - UDP sockets form a SO_REUSEPORT group whose classic BPF program picks the socket of a
//!   unicast datagram by the same rule, so the filter of the socket picked always accepts it.

use socket2::SockFilter;

/// This socket's share: the clients whose steering number is `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steer {
    /// Which share (0-based, in bind order within the group).
    pub index: u32,
    /// How many sockets share the interface (at least 1).
    pub count: u32,
}

/// The snapshot length a filter keeps: the whole datagram.
const KEEP: u32 = 0x0004_0000;
/// DHCPv6 RELAY-FORW (RFC 8415 section 7.3).
const RELAY_FORW: u32 = 12;
/// Where a UDP socket filter sees the payload (it starts at the UDP header); the reuseport
/// program sees it at 0 (the kernel pulls the UDP header first).
const UDP_HEADER: u32 = 8;

impl Steer {
    /// The share a client's steering bytes fall in.
    pub fn index_of(bytes: [u8; 4], count: u32) -> u32 {
        u32::from_be_bytes(bytes) % count.max(1)
    }

    /// DHCPv4 (UDP socket): keeps the datagrams of this share.
    pub fn udp4_filter(self) -> Vec<SockFilter> {
        let mut p = dhcp4_key(UDP_HEADER);
        p.extend(self.select());
        to_filter(&p)
    }

    /// DHCPv4 (UDP reuseport group): the socket of a datagram.
    pub fn udp4_group(count: u32) -> Vec<SockFilter> {
        let mut p = dhcp4_key(0);
        p.extend([alu_mod(count), op(libc::BPF_RET | libc::BPF_A, 0)]);
        to_filter(&p)
    }

    /// DHCPv6 (UDP socket): keeps the datagrams of this share.
    pub fn udp6_filter(self) -> Vec<SockFilter> {
        let mut p = dhcp6_key(UDP_HEADER);
        p.extend(self.select());
        to_filter(&p)
    }

    /// DHCPv6 (UDP reuseport group): the socket of a datagram.
    pub fn udp6_group(count: u32) -> Vec<SockFilter> {
        let mut p = dhcp6_key(0);
        p.extend([alu_mod(count), op(libc::BPF_RET | libc::BPF_A, 0)]);
        to_filter(&p)
    }

    /// The tail of the packet socket's filter (net::raw), run with X holding the IPv4 header
    /// length: keeps the frames of this share, else jumps `drop` instructions past its end.
    pub(super) fn raw4_tail(self, drop: u8) -> [libc::sock_filter; 4] {
        const ETH_HLEN: u32 = 14;
        [
            op(libc::BPF_LD | libc::BPF_W | libc::BPF_IND, ETH_HLEN + UDP_HEADER + 30),
            alu_mod(self.count),
            jeq(self.index, 0, 1 + drop),
            op(libc::BPF_RET | libc::BPF_K, KEEP),
        ]
    }

    /// A = steering number mod count; keep if it is this share's, else drop.
    fn select(self) -> [libc::sock_filter; 4] {
        [
            alu_mod(self.count),
            jeq(self.index, 0, 1),
            op(libc::BPF_RET | libc::BPF_K, KEEP),
            op(libc::BPF_RET | libc::BPF_K, 0),
        ]
    }
}

/// A = chaddr[2..6], the DHCPv4 message starting at `at`.
fn dhcp4_key(at: u32) -> Vec<libc::sock_filter> {
    vec![op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, at + 30)]
}

/// A = the last 4 bytes of the outermost RELAY-FORW's peer-address, or of the IPv6 source.
fn dhcp6_key(at: u32) -> Vec<libc::sock_filter> {
    let ipv6_source_tail = (libc::SKF_NET_OFF + 20) as u32;
    vec![
        op(libc::BPF_LD | libc::BPF_B | libc::BPF_ABS, at),
        jeq(RELAY_FORW, 0, 2),
        // msg-type, hop-count, link-address (16), peer-address (16): its tail at 30..34.
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, at + 30),
        op(libc::BPF_JMP | libc::BPF_JA, 1),
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, ipv6_source_tail),
    ]
}

fn op(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}

fn alu_mod(count: u32) -> libc::sock_filter {
    op(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, count.max(1))
}

fn jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16, jt, jf, k }
}

fn to_filter(p: &[libc::sock_filter]) -> Vec<SockFilter> {
    p.iter().map(|i| SockFilter::new(i.code, i.jt, i.jf, i.k)).collect()
}

/// Before bind(): joins the socket to a SO_REUSEPORT group and attaches its share's filter
/// (before bind, so no datagram of another share is ever queued on it).
pub(super) fn prepare(sock: &socket2::Socket, filter: &[SockFilter]) -> std::io::Result<()> {
    sock.set_reuse_port(true)?;
    sock.attach_filter(filter)
}

/// Attaches `prog` as the SO_REUSEPORT group's socket selector (socket(7)
/// `SO_ATTACH_REUSEPORT_CBPF`).
pub(super) fn attach_group(sock: &socket2::Socket, prog: &[SockFilter]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        // SockFilter is repr(transparent) over libc::sock_filter.
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `prog` with its true length; the kernel copies the program
    // during the call and keeps no pointer to it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            std::ptr::addr_of!(fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
