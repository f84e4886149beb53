#!/usr/bin/env python3
"""Turns the datagrams capture.sh recorded into the packet seed corpora.

`sort.py RAWDIR SEEDDIR`: RAWDIR holds one directory per capture scenario (written by
sniff.py). For every scenario, message type and relayed-or-not, a few distinct datagrams are
kept (by content). They go to SEEDDIR/v4_decode and v6_decode as they are, and to
SEEDDIR/v4_engine and v6_engine behind the two-byte prefix those targets read first
(clock step, session flags; see fuzz/fuzz_targets/v4_engine.rs).

Two message kinds no stock client here sends on request are derived from captured ones and
named `derived-*`: a DHCPv6 DECLINE (a captured RENEW with its type byte changed), a DHCPv6
REBIND when dhclient sent none (a RENEW without its server identifier) and, should dhcpcd not
have produced one, a DHCPv4 INFORM.
"""
import hashlib
import os
import sys

V4_TYPES = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak",
            7: "release", 8: "inform"}
V6_TYPES = {1: "solicit", 2: "advertise", 3: "request", 4: "confirm", 5: "renew", 6: "rebind",
            7: "reply", 8: "release", 9: "decline", 10: "reconfigure", 11: "inforeq",
            12: "relayforw", 13: "relayrepl"}
PER_KIND = 3


def v4_kind(p):
    if len(p) < 240 or p[0] != 1 or p[236:240] != b"\x63\x82\x53\x63":
        return None
    i, mt = 240, None
    while i < len(p):
        c = p[i]
        if c == 0:
            i += 1
            continue
        if c == 255 or i + 1 >= len(p):
            break
        n = p[i + 1]
        if c == 53 and n == 1 and i + 2 < len(p):
            mt = p[i + 2]
        i += 2 + n
    if mt not in V4_TYPES:
        return None
    kind = V4_TYPES[mt]
    if p[24:28] != b"\0\0\0\0":
        kind += "-relayed"
    elif p[12:16] != b"\0\0\0\0":
        kind += "-ciaddr"
    return kind


def v6_inner(p):
    """The innermost message type of a (possibly relayed) DHCPv6 datagram."""
    depth = 0
    while p and p[0] == 12 and depth < 8:
        i, inner = 34, None
        while i + 4 <= len(p):
            code = int.from_bytes(p[i:i + 2], "big")
            n = int.from_bytes(p[i + 2:i + 4], "big")
            if code == 9:
                inner = p[i + 4:i + 4 + n]
            i += 4 + n
        if inner is None:
            return None, depth
        p, depth = inner, depth + 1
    return (p[0] if p else None), depth


def v6_kind(p):
    mt, depth = v6_inner(p)
    if mt not in V6_TYPES or mt in (2, 7, 13):
        return None
    return V6_TYPES[mt] + ("-relayed" if depth else "")


def without_v6_option(p, code):
    """A direct DHCPv6 message without the top-level options of one code."""
    out, i = bytearray(p[:4]), 4
    while i + 4 <= len(p):
        n = int.from_bytes(p[i + 2:i + 4], "big")
        if int.from_bytes(p[i:i + 2], "big") != code:
            out += p[i:i + 4 + n]
        i += 4 + n
    return bytes(out)


def engine_prefix(index, kind):
    """Clock step, then the session flags (bit 0: answer an OFFER/ADVERTISE with a REQUEST;
    bits 1-3: the follow-up once bound; bit 4: reclaim and replay)."""
    follow = index % 7 + 1
    flags = 0x01 | (follow << 1) | (0x10 if index % 3 == 0 else 0)
    return bytes([index % 5, flags])


def main():
    raw, out = sys.argv[1], sys.argv[2]
    picked = {"v4": {}, "v6": {}}
    for scenario in sorted(os.listdir(raw)):
        sdir = os.path.join(raw, scenario)
        if not os.path.isdir(sdir):
            continue
        seen = set()
        for name in sorted(os.listdir(sdir)):
            if not name.endswith(".bin"):
                continue
            fam = "v4" if name.endswith("-v4.bin") else "v6"
            data = open(os.path.join(sdir, name), "rb").read()
            kind = v4_kind(data) if fam == "v4" else v6_kind(data)
            digest = hashlib.sha1(data).hexdigest()
            if kind is None or digest in seen:
                continue
            seen.add(digest)
            key = "%s-%s" % (scenario, kind)
            lst = picked[fam].setdefault(key, [])
            if len(lst) < PER_KIND:
                lst.append(data)
    # Derived kinds.
    if not any("-inform" in k for k in picked["v4"]):
        for k, lst in sorted(picked["v4"].items()):
            if k.endswith("-request-ciaddr") and b"\x35\x01\x03" in lst[0]:
                p = bytearray(lst[0])
                p[p.index(b"\x35\x01\x03") + 2] = 8
                picked["v4"]["derived-inform"] = [bytes(p)]
                break
    for k, lst in sorted(picked["v6"].items()):
        if k.endswith("-renew"):
            picked["v6"]["derived-decline"] = [bytes([9]) + lst[0][1:]]
            if not any(k.endswith("-rebind") for k in picked["v6"]):
                picked["v6"]["derived-rebind"] = [bytes([6]) + without_v6_option(lst[0], 2)[1:]]
            break
    total = 0
    for fam in ("v4", "v6"):
        dec = os.path.join(out, fam + "_decode")
        eng = os.path.join(out, fam + "_engine")
        for d in (dec, eng):
            os.makedirs(d, exist_ok=True)
            for old in os.listdir(d):
                if old.endswith(".bin"):
                    os.remove(os.path.join(d, old))
        index = 0
        for key in sorted(picked[fam]):
            for n, data in enumerate(picked[fam][key]):
                name = "%s-%d.bin" % (key, n)
                open(os.path.join(dec, name), "wb").write(data)
                open(os.path.join(eng, name), "wb").write(engine_prefix(index, key) + data)
                index += 1
                total += 1
        print("%s: %d seeds in %d kinds: %s" % (fam, index, len(picked[fam]), " ".join(sorted(picked[fam]))))
    if total == 0:
        sys.exit("no datagrams captured")


if __name__ == "__main__":
    main()
