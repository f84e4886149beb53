#!/usr/bin/env bash
# DHCPv4 DORA throughput and server CPU, kakapo against Kea 2.2 in the same run (design.md
# "Performance"). Server and perfdhcp (acting as a relay) sit in two network namespaces on a
# veth pair, benchmark addresses 198.18.0.0/15 only; memfile with persistence for both.
# Usage (root): bench/dhcp4_perfdhcp.sh [rates...]   default: 2000 4000 8000 12000
# Each step is bounded: 10 s of load plus 2 s of wait; everything started here is stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
rates=("${@:-2000 4000 8000 12000}")
[ "$#" -eq 0 ] && rates=(2000 4000 8000 12000)
bin=target/release/kakapo
[ -x "$bin" ] || cargo build --release
work=$(mktemp -d)
# Kea 3.0's path policy, which kakapo enforces: data, logs, sockets and pid files in one
# directory no wider than 0750 (the variables below point every one of them there).
chmod 0750 "$work"
s=kkpbs$$; c=kkpbc$$
cleanup() {
    [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
    ip netns del "$s" 2>/dev/null || true
    ip netns del "$c" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$s"; ip netns add "$c"
ip link add kbs$$ netns "$s" type veth peer name kbc$$ netns "$c"
ip -n "$s" link set kbs$$ up; ip -n "$c" link set kbc$$ up
ip -n "$s" link set lo up; ip -n "$c" link set lo up
ip -n "$s" addr add 198.18.0.1/15 dev kbs$$
ip -n "$c" addr add 198.18.0.2/15 dev kbc$$

config() { # $1 = lease file, $2 = socket type
    cat <<JSON
{"Dhcp4": {"interfaces-config": {"interfaces": ["kbs$$"], "dhcp-socket-type": "$2"},
  "lease-database": {"type": "memfile", "name": "$1", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "WARN"}]}}
JSON
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_server() { # $1 = name, $2 = command...
    local name=$1; shift
    for rate in "${rates[@]}"; do
        rm -f "$work"/*.csv* "$work"/*.pid
        config "$work/leases-$name.csv" udp > "$work/$name.json"
        KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work KEA_DHCP_DATA_DIR=$work KEA_LOG_FILE_DIR=$work \
            KEA_CONTROL_SOCKET_DIR=$work ip netns exec "$s" "$@" -c "$work/$name.json" > "$work/$name.log" 2>&1 &
        spid=$!
        sleep 1
        local t0; t0=$(cpu_ticks "$spid")
        out=$(ip netns exec "$c" timeout 40 perfdhcp -4 -r "$rate" -p 10 -R 1000000 -W 2000000 -l 198.18.0.2 198.18.0.1 2>&1 || true)
        local t1; t1=$(cpu_ticks "$spid")
        local acks; acks=$(echo "$out" | awk '/REQUEST-ACK/{f=1} f&&/received packets/{print $3; exit}')
        local sent; sent=$(echo "$out" | awk '/REQUEST-ACK/{f=1} f&&/sent packets/{print $3; exit}')
        local disc; disc=$(echo "$out" | awk '/DISCOVER-OFFER/{f=1} f&&/sent packets/{print $3; exit}')
        local rss; rss=$(awk '/VmHWM/{print $2}' "/proc/$spid/status")
        kill "$spid"; wait "$spid" 2>/dev/null || true; spid=
        local cpu_ms=$(( (t1 - t0) * 10 ))
        local per_lease_us=0
        [ "${acks:-0}" -gt 0 ] && per_lease_us=$(( cpu_ms * 1000 / acks ))
        local drop_pct; drop_pct=$(awk -v d="$disc" -v a="$acks" 'BEGIN { if (d > 0) printf "%.2f", 100 * (d - a) / d; else print "n/a" }')
        printf '%-7s rate %6d/s: DORA %6s of %6s (drops %s%%), server CPU %5d ms, %4d us/lease, peak RSS %s kB\n' \
            "$name" "$rate" "${acks:-0}" "${disc:-0}" "$drop_pct" "$cpu_ms" "$per_lease_us" "${rss:-?}"
    done
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; perfdhcp as relay, 10 s per step, memfile persist"
run_server kea /usr/sbin/kea-dhcp4
run_server kakapo "$bin"
