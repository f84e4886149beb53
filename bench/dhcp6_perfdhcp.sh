#!/usr/bin/env bash
# DHCPv6 SARR throughput and server CPU, kakapo against Kea 2.2 in the same run (design.md
# "Performance"). Server and perfdhcp -6 (a client on the link, from its link-local address to
# ff02::1:2) sit in two network namespaces on a veth pair with DAD off, benchmark prefix
# 2001:2::/48 only; memfile with persistence for both; one address and one /80 per client (the /48 holds 2^31 of them).
# Usage (root): bench/dhcp6_perfdhcp.sh [rates...]   default: 2000 4000 8000
# Each step is bounded: 10 s of load plus 2 s of wait; everything started here is stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
rates=("$@")
[ "$#" -eq 0 ] && rates=(2000 4000 8000)
bin=target/release/kakapo
[ -x "$bin" ] || cargo build --release
work=$(mktemp -d)
# Kea 3.0's path policy, which kakapo enforces: data, logs, sockets and pid files in one
# directory no wider than 0750 (the variables below point every one of them there).
chmod 0750 "$work"
s=kkp6bs$$; c=kkp6bc$$
cleanup() {
    [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
    ip netns del "$s" 2>/dev/null || true
    ip netns del "$c" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for n in "$s" "$c"; do
    ip netns add "$n"
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add k6bs$$ netns "$s" type veth peer name k6bc$$ netns "$c"
ip -n "$s" link set k6bs$$ up; ip -n "$c" link set k6bc$$ up
ip -n "$s" addr add 2001:2::1/64 dev k6bs$$
sleep 1

config() { # $1 = lease file, $2 = data directory
    cat <<JSON
{"Dhcp6": {"data-directory": "$2", "interfaces-config": {"interfaces": ["k6bs$$"]},
  "lease-database": {"type": "memfile", "name": "$1", "lfc-interval": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000,
  "subnet6": [{"id": 1, "subnet": "2001:2::/48", "interface": "k6bs$$",
     "pools": [{"pool": "2001:2::1:0 - 2001:2::ffff:ffff"}],
     "pd-pools": [{"prefix": "2001:2:0:8000::", "prefix-len": 49, "delegated-len": 80}]}],
  "loggers": [{"name": "kea-dhcp6", "severity": "WARN"}]}}
JSON
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_server() { # $1 = name, $2 = command...
    local name=$1; shift
    for rate in "${rates[@]}"; do
        rm -f "$work"/*.csv* "$work"/*.pid
        config "$work/leases-$name.csv" "$work" > "$work/$name.json"
        KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work KEA_DHCP_DATA_DIR=$work KEA_LOG_FILE_DIR=$work KEA_CONTROL_SOCKET_DIR=$work \
            ip netns exec "$s" "$@" -c "$work/$name.json" > "$work/$name.log" 2>&1 &
        spid=$!
        sleep 1
        local t0; t0=$(cpu_ticks "$spid")
        out=$(ip netns exec "$c" timeout 40 perfdhcp -6 -e address-and-prefix -r "$rate" -p 10 -R 1000000 -W 2000000 -l k6bc$$ 2>&1 || true)
        local t1; t1=$(cpu_ticks "$spid")
        local replies; replies=$(echo "$out" | awk '/REQUEST-REPLY/{f=1} f&&/received packets/{print $3; exit}')
        local sol; sol=$(echo "$out" | awk '/SOLICIT-ADVERTISE/{f=1} f&&/sent packets/{print $3; exit}')
        local rss; rss=$(awk '/VmHWM/{print $2}' "/proc/$spid/status")
        kill "$spid"; wait "$spid" 2>/dev/null || true; spid=
        local cpu_ms=$(( (t1 - t0) * 10 ))
        local per_lease_us=0
        [ "${replies:-0}" -gt 0 ] && per_lease_us=$(( cpu_ms * 1000 / replies ))
        local drop_pct; drop_pct=$(awk -v d="$sol" -v a="$replies" 'BEGIN { if (d > 0) printf "%.2f", 100 * (d - a) / d; else print "n/a" }')
        printf '%-7s rate %6d/s: SARR %6s of %6s (drops %s%%), server CPU %5d ms, %4d us/exchange, peak RSS %s kB\n' \
            "$name" "$rate" "${replies:-0}" "${sol:-0}" "$drop_pct" "$cpu_ms" "$per_lease_us" "${rss:-?}"
    done
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; perfdhcp -6 on the link, address and prefix, 10 s per step, memfile persist"
run_server kea /usr/sbin/kea-dhcp6
run_server kakapo "$bin"
