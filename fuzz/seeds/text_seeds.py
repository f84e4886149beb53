#!/usr/bin/env python3
"""Remakes the text seed corpora: fuzz/seeds/command/ (every example request of Kea's API
reference, /usr/share/doc/kea/api/*.json from the kea-doc package, plus malformed bodies),
fuzz/seeds/http_request/ (raw HTTP/1.1 client byte streams) and fuzz/seeds/config_text/ and
config_model/ (the repository's config/ and examples/ files and a few of Kea's examples).

Run from anywhere: `python3 fuzz/seeds/text_seeds.py`.
"""
import base64
import glob
import json
import os
import re
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
API = "/usr/share/doc/kea/api"
KEA_EXAMPLES = "/usr/share/doc/kea/examples"
KEA_PICK = ["kea4/single-subnet.json", "kea4/classify.json", "kea4/reservations.json",
            "kea4/shared-network.json", "kea4/comments.json",
            "kea6/simple.json", "kea6/duid.json", "kea6/tee-times.json", "kea6/classify2.json",
            "agent/simple.json", "agent/comments.json", "ddns/sample1.json"]

MALFORMED = {
    "deep-nesting.json": '{"command": "config-test", "arguments": ' + "[" * 3000 + "]" * 3000 + "}",
    "deep-maps.json": '{"command": "config-test", "arguments": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + "}",
    "comments.json": '# hash\n{ // line\n "command": /* block */ "status-get" }\n',
    "include.json": '<?include "/etc/passwd"?>',
    "include-inside.json": '{"command": "config-test", "arguments": <?include "/etc/passwd"?>}',
    "unterminated.json": '{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"',
    "not-a-map.json": '["status-get"]',
    "no-command.json": '{"arguments": {}}',
    "command-number.json": '{"command": 7}',
    "service-agent.json": '{"command": "config-get", "service": ["dhcp4", "dhcp6", "d2"]}',
    "service-bad.json": '{"command": "status-get", "service": "dhcp4"}',
    "big-numbers.json": '{"command": "lease4-get-page", "arguments": {"from": "start", "limit": 1e400}}',
    "unicode.json": '{"command": "lease4-get-by-hostname", "arguments": {"hostname": "\\ud800\\u00e9"}}',
    "duplicate-keys.json": '{"command": "status-get", "command": "version-get"}',
    "empty.json": "",
}


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def reset(d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)


def placeholder(m):
    """A value for a documentation placeholder such as `<integer>` or `<IPv4 address>`."""
    what = m.group(1).lower()
    if "integer" in what or "number" in what or "id" in what.split():
        return "1"
    if "ipv6" in what:
        return '"2001:db8::1"'
    if "ipv4" in what or "address" in what:
        return '"192.0.2.1"'
    if "true" in what or "boolean" in what:
        return "true"
    return json.dumps(m.group(1).replace('"', ""))


def literal(text):
    """The first example request of a `cmd-syntax` text as plain JSON: the reference writes
    `...` for elisions and `<...>` for values, and some entries hold several examples."""
    t = re.sub(r"^\s*\.\.\.\s*,?\s*$\n?", "", text, flags=re.M)
    t = re.sub(r",\s*\.\.\.", "", t)
    t = re.sub(r"\.\.\.\s*,?", "", t)
    t = re.sub(r"^\s*<[^<>]*>\s*,?\s*$\n?", "", t, flags=re.M)
    t = re.sub(r"<([^<>]*)>", placeholder, t)
    t = re.sub(r",(\s*[}\]])", r"\1", t)
    start = t.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(t[start:])
    except ValueError:
        return None
    return json.dumps(value, indent=4)


def commands():
    out = os.path.join(HERE, "command")
    reset(out)
    bodies = []
    for path in sorted(glob.glob(os.path.join(API, "*.json"))):
        doc = json.load(open(path))
        text = "\n".join(doc.get("cmd-syntax", []))
        body = literal(text) if text.strip() else json.dumps({"command": doc["name"]})
        # Examples that cannot be made literal are kept as written: still useful shapes.
        body = body or text
        write(out, doc["name"] + ".json", body + "\n")
        bodies.append(body)
    for name, text in MALFORMED.items():
        write(out, "malformed-" + name, text)
    return bodies


def http(bodies):
    out = os.path.join(HERE, "http_request")
    reset(out)
    auth = "Authorization: Basic " + base64.b64encode(b"kea:fuzz").decode() + "\r\n"

    def post(body, extra=""):
        b = body.encode()
        return ("POST / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: application/json\r\n"
                + extra + "Content-Length: %d\r\n\r\n" % len(b)).encode() + b

    write(out, "post-status-get.http", post('{"command": "status-get"}', auth))
    write(out, "post-config-get-service.http", post('{"command": "config-get", "service": ["dhcp4"]}', auth))
    write(out, "post-no-auth.http", post('{"command": "status-get"}'))
    write(out, "post-bad-auth.http", post('{"command": "status-get"}', "Authorization: Basic a2VhOm5vcGU=\r\n"))
    write(out, "get-metrics.http", ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n").encode())
    write(out, "get-root.http", ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n").encode())
    body = b'{"command": "lease4-get", "arguments": {"ip-address": "192.0.2.1"}}'
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 16]), body[i:i + 16]) for i in range(0, len(body), 16))
    write(out, "post-chunked.http", ("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth
                                     + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked + b"0\r\n\r\n")
    pipelined = (post('{"command": "version-get"}', auth)
                 + ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n").encode()
                 + post('{"command": "list-commands"} # trailing comment', auth + "Connection: close\r\n"))
    write(out, "pipelined.http", pipelined)
    write(out, "post-too-large.http", ("POST / HTTP/1.1\r\nHost: x\r\n" + auth
                                       + "Content-Length: 99999999999\r\n\r\n{}").encode())
    write(out, "post-short-body.http", ("POST / HTTP/1.1\r\nHost: x\r\n" + auth
                                        + "Content-Length: 50\r\n\r\n{\"command\"").encode())
    write(out, "http10-keepalive.http", ("POST / HTTP/1.0\r\nConnection: keep-alive\r\n" + auth
                                         + "Content-Length: 2\r\n\r\n{}").encode())
    write(out, "expect-continue.http", post('{"command": "status-get"}', auth + "Expect: 100-continue\r\n"))
    write(out, "garbage.http", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    for name in ("lease4-get-page", "config-test", "statistic-get-all", "reservation-add"):
        for b in bodies:
            if '"%s"' % name in b:
                write(out, "post-%s.http" % name, post(b, auth))
                break


def configs():
    files = []
    for d in ("config", "examples/agent", "examples/ddns", "examples/ha-pair"):
        files += sorted(glob.glob(os.path.join(REPO, d, "*")))
    files += [os.path.join(KEA_EXAMPLES, p) for p in KEA_PICK if os.path.exists(os.path.join(KEA_EXAMPLES, p))]
    for target in ("config_text", "config_model"):
        out = os.path.join(HERE, target)
        reset(out)
        for f in files:
            rel = os.path.relpath(f, REPO) if f.startswith(REPO) else "kea-" + os.path.relpath(f, KEA_EXAMPLES)
            write(out, re.sub(r"[^A-Za-z0-9.-]", "_", rel), open(f, "rb").read())


if __name__ == "__main__":
    bodies = commands()
    http(bodies)
    configs()
    for d in ("command", "http_request", "config_text", "config_model"):
        p = os.path.join(HERE, d)
        n = len(os.listdir(p))
        size = sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p))
        print("%s: %d files, %d bytes" % (d, n, size))
