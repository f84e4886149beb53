#!/usr/bin/env bash
# Remakes the packet seed corpora (fuzz/seeds/{v4,v6}_{decode,engine}/) from real clients.
#
# Runs as root on a machine with kea-dhcp4/kea-dhcp6 (Kea 2.2, the answering server),
# dhclient, dhcrelay, perfdhcp, dhcpcd, busybox and python3. Four network namespaces:
#
#   kfzc  c0 ----------------------------- s0  kfzs   (direct clients)
#   kfzc2 c1 ---- r0  kfzr (dhcrelay)  r1 ---- s1  kfzs   (relayed clients)
#
# Kea answers in kfzs while sniff.py records every client-to-server datagram arriving on s0
# and s1, one scenario at a time; sort.py then keeps a few distinct datagrams per scenario and
# message type. Only documentation addresses are used; the host's interfaces are not touched
# and everything started here is stopped by pid and the namespaces deleted on exit.
set -euo pipefail
cd "$(dirname "$0")"
SEEDS=$PWD
T=$(mktemp -d /tmp/kfz-capture.XXXXXX)
RAW=$T/raw
mkdir -p "$RAW"
PIDS=()
NS=(kfzc kfzc2 kfzr kfzs)

cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
bg() { # bg LOG NS CMD...: start a background process, remember its pid
    local log=$1; shift
    ip netns exec "$@" >"$log" 2>&1 &
    PIDS+=($!)
    LASTPID=$!
}
wait_for() { # wait_for SECONDS CMD...: poll until CMD succeeds
    local n=$(( $1 * 5 )); shift
    for ((i = 0; i < n; i++)); do "$@" 2>/dev/null && return 0; sleep 0.2; done
    return 1
}
stop_pid() { kill "$1" 2>/dev/null || true; for ((i = 0; i < 25; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; kill -9 "$1" 2>/dev/null || true; }

SNIFF=
scenario() { # scenario NAME: start recording into RAW/NAME
    [ -z "$SNIFF" ] || end_scenario
    echo "== scenario $1"
    mkdir -p "$RAW/$1"
    bg "$T/sniff-$1.log" kfzs python3 "$SEEDS/sniff.py" "$RAW/$1" 120 s0 s1
    SNIFF=$LASTPID
    SNIFFDIR=$RAW/$1
    sleep 0.5
}
end_scenario() {
    touch "$SNIFFDIR/STOP"
    wait "$SNIFF" 2>/dev/null || true
    SNIFF=
    ls "$SNIFFDIR" | grep -c '\.bin$' | sed 's/^/   datagrams: /'
}

# ---- namespaces and links ------------------------------------------------------------------
for n in "${NS[@]}"; do
    ip netns add "$n"
    nsx "$n" ip link set lo up
    nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
nsx kfzc ip link add c0 type veth peer name s0 netns kfzs
nsx kfzc2 ip link add c1 type veth peer name r0 netns kfzr
nsx kfzr ip link add r1 type veth peer name s1 netns kfzs
nsx kfzs ip addr add 192.0.2.1/24 dev s0
nsx kfzs ip addr add 2001:db8:1::1/64 dev s0 nodad
nsx kfzs ip addr add 203.0.113.1/24 dev s1
nsx kfzs ip addr add 2001:db8:3::1/64 dev s1 nodad
nsx kfzr ip addr add 198.51.100.1/24 dev r0
nsx kfzr ip addr add 2001:db8:2::1/64 dev r0 nodad
nsx kfzr ip addr add 203.0.113.2/24 dev r1
nsx kfzr ip addr add 2001:db8:3::2/64 dev r1 nodad
nsx kfzr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for pair in kfzc:c0 kfzc2:c1 kfzr:r0 kfzr:r1 kfzs:s0 kfzs:s1; do nsx "${pair%%:*}" ip link set "${pair#*:}" up; done
nsx kfzs ip route add 198.51.100.0/24 via 203.0.113.2
nsx kfzs ip -6 route add 2001:db8:2::/64 via 2001:db8:3::2
sleep 1

# ---- Kea 2.2 as the answering server ----------------------------------------------------------
cat >"$T/kea4.conf" <<EOF
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["s0", "s1"]},
  "lease-database": {"type": "memfile", "name": "$T/leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 20, "renew-timer": 4, "rebind-timer": 8,
  "subnet4": [
    {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.40"}],
     "interface": "s0", "option-data": [{"name": "routers", "data": "192.0.2.1"},
                                        {"name": "domain-name-servers", "data": "192.0.2.1"}]},
    {"id": 2, "subnet": "198.51.100.0/24", "pools": [{"pool": "198.51.100.10 - 198.51.100.40"}],
     "relay": {"ip-addresses": ["198.51.100.1"]},
     "option-data": [{"name": "routers", "data": "198.51.100.1"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": "$T/kea4.log"}]}]}}
EOF
cat >"$T/kea6.conf" <<EOF
{"Dhcp6": {
  "interfaces-config": {"interfaces": ["s0", "s1/2001:db8:3::1"]},
  "lease-database": {"type": "memfile", "name": "$T/leases6.csv", "lfc-interval": 0},
  "server-id": {"type": "LLT", "persist": false},
  "preferred-lifetime": 12, "valid-lifetime": 20, "renew-timer": 4, "rebind-timer": 8,
  "subnet6": [
    {"id": 1, "subnet": "2001:db8:1::/64", "interface": "s0",
     "pools": [{"pool": "2001:db8:1::10 - 2001:db8:1::40"}],
     "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 48, "delegated-len": 56}],
     "option-data": [{"name": "dns-servers", "data": "2001:db8:1::1"}]},
    {"id": 2, "subnet": "2001:db8:2::/64",
     "pools": [{"pool": "2001:db8:2::10 - 2001:db8:2::40"}],
     "pd-pools": [{"prefix": "2001:db8:9::", "prefix-len": 48, "delegated-len": 56}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "INFO", "output_options": [{"output": "$T/kea6.log"}]}]}}
EOF
export KEA_PIDFILE_DIR=$T KEA_LOCKFILE_DIR=$T KEA_LOG_FILE_DIR=$T
bg "$T/kea4.out" kfzs kea-dhcp4 -c "$T/kea4.conf"
KEA4=$LASTPID
bg "$T/kea6.out" kfzs kea-dhcp6 -c "$T/kea6.conf"
KEA6=$LASTPID
sleep 2
kill -0 "$KEA4" && kill -0 "$KEA6" || { cat "$T"/kea*.out; exit 1; }

# A client script that configures what it was given (and can refuse a lease, which makes
# dhclient send a DECLINE).
cat >"$T/script" <<EOF
#!/bin/sh
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
    [ -f "$T/decline" ] && [ "\$reason" = BOUND ] && exit 1
    ip -4 addr flush dev "\$interface" scope global
    ip -4 addr add "\$new_ip_address/24" dev "\$interface"
    [ -z "\$new_routers" ] || ip -4 route replace default via "\${new_routers%% *}" ;;
BOUND6|RENEW6|REBIND6|REBOOT6)
    [ -z "\$new_ip6_address" ] || ip -6 addr replace "\$new_ip6_address/128" dev "\$interface" nodad ;;
EXPIRE|RELEASE|STOP|FAIL)
    ip -4 addr flush dev "\$interface" scope global ;;
esac
exit 0
EOF
chmod +x "$T/script"
cat >"$T/dhclient.conf" <<'EOF'
send host-name "kfz-client";
send dhcp-client-identifier 1:02:00:00:00:00:01;
request subnet-mask, broadcast-address, time-offset, routers, domain-name, domain-name-servers,
        host-name, ntp-servers, dhcp6.name-servers, dhcp6.domain-search;
EOF
cat >"$T/dhclient-fqdn.conf" <<'EOF'
send fqdn.fqdn "kfz-fqdn.example.org.";
send fqdn.server-update on;
send vendor-class-identifier "kfz-vendor";
send user-class "kfz-class";
request subnet-mask, routers, domain-name-servers, domain-search, classless-static-routes;
EOF

dhc() { # dhc NS IFACE NAME ARGS...: one dhclient in the foreground of a background job
    local ns=$1 ifc=$2 name=$3; shift 3
    bg "$T/$name.log" "$ns" dhclient -d -v -sf "$T/script" -lf "$T/$name.leases" -pf "$T/$name.pid" "$@" "$ifc"
}
has_lease() { grep -q "${2:-lease}" "$T/$1.leases"; }

# ---- DHCPv4 ---------------------------------------------------------------------------------
# dhclient: DORA, RENEW at T1, REBIND while Kea is stopped, INIT-REBOOT after a restart,
# then RELEASE.
scenario dhclient4
dhc kfzc c0 d4 -4 -cf "$T/dhclient.conf"
DH=$LASTPID
wait_for 20 has_lease d4 || echo "   no v4 lease"
sleep 5                                             # RENEW at T1 = 4 s, answered
kill -STOP "$KEA4"; sleep 10; kill -CONT "$KEA4"    # next RENEW unanswered, REBIND at T2
sleep 1
stop_pid "$DH"
dhc kfzc c0 d4 -4 -cf "$T/dhclient.conf"          # INIT-REBOOT from the remembered lease
sleep 4
stop_pid "$LASTPID"
nsx kfzc timeout 10 dhclient -4 -r -v -sf "$T/script" -lf "$T/d4.leases" -pf "$T/d4.pid" -cf "$T/dhclient.conf" c0 >/dev/null 2>&1 || true

scenario dhclient4-fqdn
nsx kfzc ip -4 addr flush dev c0
nsx kfzc ip link set c0 address 02:00:00:00:00:02
dhc kfzc c0 d4f -4 -cf "$T/dhclient-fqdn.conf"
wait_for 20 has_lease d4f || true
sleep 1
stop_pid "$LASTPID"
nsx kfzc timeout 10 dhclient -4 -r -v -sf "$T/script" -lf "$T/d4f.leases" -pf "$T/d4f.pid" -cf "$T/dhclient-fqdn.conf" c0 >/dev/null 2>&1 || true

# A client that refuses what it gets sends DHCPDECLINE (RFC 2131 4.4.1).
scenario dhclient4-decline
nsx kfzc ip link set c0 address 02:00:00:00:00:03
touch "$T/decline"
dhc kfzc c0 d4d -4 -cf "$T/dhclient.conf"
sleep 8
stop_pid "$LASTPID"
rm -f "$T/decline"

scenario dhcpcd4
nsx kfzc ip -4 addr flush dev c0
nsx kfzc ip link set c0 address 02:00:00:00:00:04
nsx kfzc timeout 20 dhcpcd -4 -1 -B -t 10 -c "$T/script" -h kfz-dhcpcd c0 >"$T/dhcpcd.log" 2>&1 || true
nsx kfzc timeout 10 dhcpcd -4 -k -c "$T/script" c0 >>"$T/dhcpcd.log" 2>&1 || true
sleep 1
nsx kfzc ip -4 addr flush dev c0
nsx kfzc ip -4 addr add 192.0.2.50/24 dev c0
nsx kfzc timeout 10 dhcpcd -4 -1 -B -t 5 -c "$T/script" --inform 192.0.2.50/24 c0 >>"$T/dhcpcd.log" 2>&1 || true
nsx kfzc ip -4 addr flush dev c0

scenario udhcpc
nsx kfzc ip link set c0 address 02:00:00:00:00:05
nsx kfzc timeout 15 busybox udhcpc -i c0 -n -q -R -t 3 -s "$T/script" -x hostname:kfz-udhcpc -O 42 >/dev/null 2>&1 || true

# dhcrelay with the relay agent information option (82).
scenario dhcrelay4
bg "$T/relay4.log" kfzr dhcrelay -4 -d -a -id r0 -iu r1 203.0.113.1
RL4=$LASTPID
sleep 1
dhc kfzc2 c1 d4r -4 -cf "$T/dhclient.conf"
DH=$LASTPID
wait_for 20 has_lease d4r || echo "   no relayed v4 lease"
sleep 5                                   # RENEW, unicast through the relay's forwarding
stop_pid "$DH"
nsx kfzc2 timeout 10 dhclient -4 -r -v -sf "$T/script" -lf "$T/d4r.leases" -pf "$T/d4r.pid" -cf "$T/dhclient.conf" c1 >/dev/null 2>&1 || true
stop_pid "$RL4"

# perfdhcp: DORA as a relay (giaddr = its own address), with renews and releases.
scenario perfdhcp4
nsx kfzc ip -4 addr add 192.0.2.5/24 dev c0
nsx kfzc timeout 20 perfdhcp -4 -l c0 -r 10 -R 20 -n 20 -p 4 -f 5 -F 5 -o 12,6b667a2d7065726664686370 >"$T/perf4.log" 2>&1 || true
nsx kfzc ip -4 addr flush dev c0

# ---- DHCPv6 ---------------------------------------------------------------------------------
# dhclient -6 with IA_NA and IA_PD: SOLICIT/REQUEST, RENEW, REBIND while Kea is stopped,
# CONFIRM after a restart, then RELEASE.
scenario dhclient6
dhc kfzc c0 d6 -6 -N -P -cf "$T/dhclient.conf"
DH=$LASTPID
wait_for 20 has_lease d6 iaaddr || echo "   no v6 lease"
sleep 5
kill -STOP "$KEA6"; sleep 10; kill -CONT "$KEA6"
sleep 1
stop_pid "$DH"
dhc kfzc c0 d6 -6 -N -P -cf "$T/dhclient.conf"
sleep 4
stop_pid "$LASTPID"
nsx kfzc timeout 10 dhclient -6 -N -P -r -v -sf "$T/script" -lf "$T/d6.leases" -pf "$T/d6.pid" -cf "$T/dhclient.conf" c0 >/dev/null 2>&1 || true

scenario dhclient6-inforeq
nsx kfzc timeout 10 dhclient -6 -S -1 -v -sf "$T/script" -lf "$T/d6s.leases" -pf "$T/d6s.pid" -cf "$T/dhclient-fqdn.conf" c0 >/dev/null 2>&1 || true

scenario dhclient6-fqdn
dhc kfzc c0 d6f -6 -N -cf "$T/dhclient-fqdn.conf" -D LL
wait_for 15 has_lease d6f iaaddr || true
stop_pid "$LASTPID"

scenario dhcrelay6
bg "$T/relay6.log" kfzr dhcrelay -6 -d -I -l r0 -u 2001:db8:3::1%r1
RL6=$LASTPID
sleep 1
dhc kfzc2 c1 d6r -6 -N -P -cf "$T/dhclient.conf"
DH=$LASTPID
wait_for 20 has_lease d6r iaaddr || echo "   no relayed v6 lease"
sleep 5
stop_pid "$DH"
nsx kfzc2 timeout 10 dhclient -6 -N -P -r -v -sf "$T/script" -lf "$T/d6r.leases" -pf "$T/d6r.pid" -cf "$T/dhclient.conf" c1 >/dev/null 2>&1 || true
nsx kfzc2 timeout 10 dhclient -6 -S -1 -v -sf "$T/script" -lf "$T/d6rs.leases" -pf "$T/d6rs.pid" -cf "$T/dhclient.conf" c1 >/dev/null 2>&1 || true
stop_pid "$RL6"

scenario perfdhcp6
nsx kfzc timeout 20 perfdhcp -6 -l c0 -e address-and-prefix -r 10 -R 20 -n 20 -p 4 -f 5 -F 5 >"$T/perf6.log" 2>&1 || true
scenario perfdhcp6-relayed
nsx kfzc timeout 20 perfdhcp -6 -l c0 -A 1 -r 10 -R 20 -n 20 -p 3 >"$T/perf6r.log" 2>&1 || true
end_scenario

python3 "$SEEDS/sort.py" "$RAW" "$SEEDS"
