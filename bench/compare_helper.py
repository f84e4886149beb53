#!/usr/bin/env python3
"""Helpers for bench/compare.sh (kakapo against Kea 2.2).

  leases4 FILE N   Kea 2.2 kea-leases4.csv with N live leases (10.0.0.0/12, subnet-id 2)
  leases6 FILE N   Kea 2.2 kea-leases6.csv with N live leases in 2001:2::/48, subnet-id 1:
                   N/2 clients, each with one IA_NA address and one IA_PD /80
  probe4 SERVER LOCAL T0FILE TIMEOUT
  probe6 SERVER LOCAL T0FILE TIMEOUT
                   As a relay agent (port 67 / 547 of LOCAL), send a relayed DISCOVER /
                   SOLICIT to SERVER every 5 ms until a reply arrives; then print the seconds
                   from the time stored in T0FILE (written by the caller just before it
                   started the server) to that reply. Exit status 1 after TIMEOUT seconds.
  floor DIR N      The cost of durability on this machine, to read the CPU figures against:
                   N times (at 2,000/s) append one lease row to a file in DIR and fdatasync
                   it, then N times only sleep as long; prints the CPU (user + system) of one
                   write + fdatasync beyond the sleep/wake-up, and of one sleep/wake-up, in us.

Lease rows follow src/lease/memfile/csv.rs and csv6.rs (Kea 2.2's headers, no pool_id).
The v4 leases lie outside the benchmark range because 198.18.0.0/15 holds only 131,072
addresses; they exist only in the file and the server's memory, never on a network.
"""
import ipaddress
import os
import select
import socket
import struct
import sys
import time

HEADER4 = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context"
HEADER6 = ("address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,"
           "fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source")


def mac(i):
    # 02:fe:...: apart from kakapo-loadgen's clients (02:SEED:..., SEED 1 by default).
    return "02:fe:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def leases4(path, n):
    base = int(ipaddress.IPv4Address("10.0.0.1"))
    if n > (1 << 20) - 2:
        sys.exit("at most 1,048,574 v4 leases fit in 10.0.0.0/12")
    expire = int(time.time()) + 86400
    with open(path, "w") as f:
        f.write(HEADER4 + "\n")
        rows = []
        for i in range(n):
            m = mac(i)
            rows.append("%s,%s,01:%s,86400,%d,2,0,0,,0,\n" % (ipaddress.IPv4Address(base + i), m, m, expire))
            if len(rows) == 10000:
                f.write("".join(rows))
                rows = []
        f.write("".join(rows))


def leases6(path, n):
    # In the middle of the pools of compare.sh's configuration, so that the allocators, which
    # start at the beginning, do not have to step over them to answer the probe.
    na_base = int(ipaddress.IPv6Address("2001:2::8000:0"))
    pd_base = int(ipaddress.IPv6Address("2001:2:0:c000::"))
    expire = int(time.time()) + 86400
    with open(path, "w") as f:
        f.write(HEADER6 + "\n")
        rows = []
        for i in range(n):
            c = i // 2
            duid = "00:03:00:01:" + mac(c)
            if i % 2 == 0:
                addr, typ, iaid, plen = ipaddress.IPv6Address(na_base + c), 0, 1, 128
            else:
                addr, typ, iaid, plen = ipaddress.IPv6Address(pd_base + (c << 48)), 2, 2, 80
            rows.append("%s,%s,86400,%d,1,80000,%d,%d,%d,0,0,,,0,,,\n" % (addr, duid, expire, typ, iaid, plen))
            if len(rows) == 10000:
                f.write("".join(rows))
                rows = []
        f.write("".join(rows))


def discover(local, xid):
    chaddr = bytes([2, 0xfd, 0, 0, 0, 1]) + bytes(10)
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s", 1, 1, 6, 1, xid, 0, 0, bytes(4), bytes(4), bytes(4),
                      socket.inet_aton(local), chaddr)
    return hdr + bytes(192) + b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\xff"


def solicit(local, xid):
    opt = lambda code, data: struct.pack("!HH", code, len(data)) + data
    duid = b"\x00\x03\x00\x01" + bytes([2, 0xfd, 0, 0, 0, 1])
    inner = (bytes([1]) + xid.to_bytes(3, "big") + opt(1, duid) + opt(8, b"\x00\x00")
             + opt(3, struct.pack("!III", 1, 0, 0)))
    peer = socket.inet_pton(socket.AF_INET6, "fe80::fd:ff:fe00:1")
    return bytes([12, 0]) + socket.inet_pton(socket.AF_INET6, local) + peer + opt(9, inner)


def probe(family, server, local, t0file, timeout):
    fam, port = (socket.AF_INET, 67) if family == 4 else (socket.AF_INET6, 547)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((local, port))
    s.setblocking(False)
    deadline = time.time() + timeout
    xid = 0x4b00
    while time.time() < deadline:
        xid += 1
        pkt = discover(local, xid) if family == 4 else solicit(local, xid)
        try:
            s.sendto(pkt, (server, port))
        except OSError:
            pass
        r, _, _ = select.select([s], [], [], 0.005)
        if r:
            try:
                s.recv(4096)
            except OSError:
                continue
            now = time.time()
            with open(t0file) as f:
                t0 = float(f.read().strip())
            print("%.3f" % (now - t0))
            return 0
    return 1


def floor(directory, n):
    """CPU of one write + fdatasync of a lease row, and of one sleep/wake-up, in us."""
    import resource

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    row = b"198.18.1.1,02:00:00:00:00:01,,3600,1800000000,1,0,0,,0,\n"
    path = os.path.join(directory, "floor.csv")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        t = cpu()
        for _ in range(n):
            os.write(fd, row)
            os.fdatasync(fd)
            time.sleep(0.0005)
        synced = (cpu() - t) / n
    finally:
        os.close(fd)
        os.unlink(path)
    t = cpu()
    for _ in range(n):
        time.sleep(0.0005)
    wake = (cpu() - t) / n
    print("%.1f %.1f" % ((synced - wake) * 1e6, wake * 1e6))
    return 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd in ("leases4", "leases6"):
        (leases4 if cmd == "leases4" else leases6)(sys.argv[2], int(sys.argv[3]))
        return 0
    if cmd == "floor":
        return floor(sys.argv[2], int(sys.argv[3]))
    if cmd in ("probe4", "probe6"):
        return probe(int(cmd[-1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
