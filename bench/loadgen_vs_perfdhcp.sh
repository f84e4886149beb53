#!/usr/bin/env bash
# kakapo-loadgen validated against perfdhcp (design.md "Performance"): the same DHCPv4 DORA
# load, as a relay, at the same fixed rates, against Kea 2.2's kea-dhcp4 and against kakapo;
# prints completed exchanges/s and drops of both generators side by side with their ratio,
# and whether the completed rates agree within 5 %.
# Server and generators sit in two network namespaces on a veth pair, benchmark addresses
# 198.18.0.0/15 only; a fresh server (memfile with persistence) for every run.
# Usage (root): bench/loadgen_vs_perfdhcp.sh [rates...]   default: 1000 3000
# Every run is bounded (10 s of load, 2 s of wait, `timeout` around each generator);
# everything started here is stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
rates=("$@")
[ "$#" -eq 0 ] && rates=(1000 3000)
secs=10
bin=target/release/kakapo
gen=target/release/kakapo-loadgen
{ [ -x "$bin" ] && [ -x "$gen" ]; } || cargo build --release --locked --bin kakapo --bin kakapo-loadgen
work=$(mktemp -d)
# Kea 3.0's path policy, which kakapo enforces: data, logs, sockets and pid files all in one
# directory no wider than 0750.
chmod 0750 "$work"
s=kklvs$$; c=kklvc$$
cleanup() {
    [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null || true
    ip netns del "$s" 2>/dev/null || true
    ip netns del "$c" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$s"; ip netns add "$c"
ip link add klv$$ netns "$s" type veth peer name klc$$ netns "$c"
ip -n "$s" link set klv$$ up; ip -n "$c" link set klc$$ up
ip -n "$s" link set lo up; ip -n "$c" link set lo up
ip -n "$s" addr add 198.18.0.1/15 dev klv$$
ip -n "$c" addr add 198.18.0.2/15 dev klc$$

config() { # $1 = lease file
    cat <<JSON
{"Dhcp4": {"interfaces-config": {"interfaces": ["klv$$"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "name": "$1", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "WARN"}]}}
JSON
}

start_server() { # $1 = name, $2... = command
    local name=$1; shift
    rm -f "$work"/*.csv* "$work"/*.pid
    config "$work/leases-$name.csv" > "$work/$name.json"
    KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work KEA_DHCP_DATA_DIR=$work KEA_LOG_FILE_DIR=$work \
        KEA_CONTROL_SOCKET_DIR=$work ip netns exec "$s" "$@" -c "$work/$name.json" > "$work/$name.log" 2>&1 &
    spid=$!
    sleep 1
}

stop_server() {
    kill "$spid"; wait "$spid" 2>/dev/null || true; spid=
}

# perfdhcp's figures for the REQUEST-ACK exchange: "completed drops".
perfdhcp_run() { # $1 = rate
    local out; out=$(ip netns exec "$c" timeout 40 perfdhcp -4 -r "$1" -p "$secs" -R 1000000 -W 2000000 \
        -l 198.18.0.2 198.18.0.1 2>&1 || true)
    local acks disc
    acks=$(echo "$out" | awk '/REQUEST-ACK/{f=1} f&&/received packets/{print $3; exit}')
    disc=$(echo "$out" | awk '/DISCOVER-OFFER/{f=1} f&&/sent packets/{print $3; exit}')
    echo "${acks:-0} $(( ${disc:-0} - ${acks:-0} ))"
}

# kakapo-loadgen's: "completed drops p50 p99" (drops: exchanges started and not completed).
loadgen_run() { # $1 = rate
    local js; js=$(ip netns exec "$c" timeout 40 "$gen" -4 --server 198.18.0.1 --rate "$1" --duration "$secs" \
        --clients $(( $1 * secs )) --timeout-ms 2000 --json 2>&1 || true)
    echo "$js" > "$work/loadgen.json"
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(j["completed"], j["sent"] - j["completed"], j["latency_us"]["exchange"]["p50"], j["latency_us"]["exchange"]["p99"])' "$work/loadgen.json"
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; DHCPv4 DORA as a relay, $secs s per run, memfile persist"
printf '%-7s %7s | %12s %7s | %12s %7s %9s %9s | %6s %s\n' server rate "perfdhcp/s" drops "loadgen/s" drops "p50 us" "p99 us" ratio "within 5%"
status=0
for name in kea kakapo; do
    cmd=/usr/sbin/kea-dhcp4; [ "$name" = kakapo ] && cmd=$bin
    for rate in "${rates[@]}"; do
        start_server "$name" "$cmd"; read -r pc pd < <(perfdhcp_run "$rate"); stop_server
        start_server "$name" "$cmd"; read -r lc ld lp50 lp99 < <(loadgen_run "$rate"); stop_server
        verdict=$(awk -v a="$lc" -v b="$pc" 'BEGIN { if (b > 0) { r = a / b; printf "%.3f %s", r, (r >= 0.95 && r <= 1.05) ? "yes" : "NO" } else print "n/a NO" }')
        [ "${verdict##* }" = yes ] || status=1
        printf '%-7s %5d/s | %12.1f %7d | %12.1f %7d %9d %9d | %6s %s\n' "$name" "$rate" \
            "$(awk -v n="$pc" -v s="$secs" 'BEGIN{print n/s}')" "$pd" \
            "$(awk -v n="$lc" -v s="$secs" 'BEGIN{print n/s}')" "$ld" "$lp50" "$lp99" ${verdict}
    done
done
exit $status
