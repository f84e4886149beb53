#!/usr/bin/env python3
"""Records every DHCP client-to-server datagram arriving on the given interfaces.

Run inside the server's network namespace (AF_PACKET sees what the interface receives,
whatever process answers it): `sniff.py OUTDIR SECONDS IFACE...`. Each UDP payload sent to
port 67 (IPv4) or 547 (IPv6) is written to OUTDIR/<seq>-<iface>-v4.bin or ...-v6.bin.
Frames the host itself sends are skipped, so the server's answers are not recorded.
"""
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def udp_payload(frame):
    """(family, payload) of an Ethernet frame carrying UDP to port 67/547, else None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        ip = frame[14:]
        if len(ip) < 20 or ip[9] != 17:
            return None
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        udp = ip[ihl:total]
        fam = "v4"
    elif ethertype == 0x86DD:
        ip = frame[14:]
        if len(ip) < 40 or ip[6] != 17:
            return None
        plen = struct.unpack("!H", ip[4:6])[0]
        udp = ip[40:40 + plen]
        fam = "v6"
    else:
        return None
    if len(udp) < 8:
        return None
    dport = struct.unpack("!H", udp[2:4])[0]
    want = 67 if fam == "v4" else 547
    if dport != want:
        return None
    return fam, bytes(udp[8:])


def main():
    outdir, seconds, ifaces = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    os.makedirs(outdir, exist_ok=True)
    socks = {}
    for name in ifaces:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[s] = name
    seq = 0
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0 or os.path.exists(os.path.join(outdir, "STOP")):
            break
        ready, _, _ = select.select(list(socks), [], [], min(left, 0.5))
        for s in ready:
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            got = udp_payload(frame)
            if got is None:
                continue
            fam, payload = got
            seq += 1
            path = os.path.join(outdir, "%05d-%s-%s.bin" % (seq, socks[s], fam))
            with open(path, "wb") as f:
                f.write(payload)
    print("sniff: %d datagrams" % seq, file=sys.stderr)


if __name__ == "__main__":
    main()
