#!/usr/bin/env bash
# kakapo-loadgen validated against perfdhcp (design.md "Performance"): the same DHCPv4 DORA
# load, as a relay, at the same fixed rates, against Kea 2.2's kea-dhcp4 and against kakapo;
# prints completed exchanges/s and drops of both generators side by side with their ratio,
# and whether the completed rates agree within 5 %.
# Server and generators sit in two network namespaces on a veth pair, benchmark addresses
# 198.18.0.0/15 only; a fresh server (memfile with persistence) for every run.
# Usage (root): bench/loadgen_vs_perfdhcp.sh [rates...]   default: 1000 3000
#   SERVERS="kea kakapo" (default) picks the servers; LOADGEN_ARGS adds kakapo-loadgen options.
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

# UDP datagrams a namespace's sockets dropped for a full receive buffer (RcvbufErrors).
rcvbuf_errors() { ip netns exec "$1" awk '/^Udp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

# CPU time of the last generator run, ms (user + system).
gen_cpu_ms() { tail -n 1 "$work/cpu" | awk '{printf "%d\n", ($1 + $2) * 1000}'; }

# perfdhcp's figures for the REQUEST-ACK exchange: "completed drops cpu_ms".
perfdhcp_run() { # $1 = rate
    local out; out=$(/usr/bin/time -o "$work/cpu" -f "%U %S" ip netns exec "$c" timeout 40 perfdhcp -4 -r "$1" -p "$secs" -R 1000000 -W 2000000 \
        -l 198.18.0.2 198.18.0.1 2>&1 || true)
    local acks disc
    acks=$(echo "$out" | awk '/REQUEST-ACK/{f=1} f&&/received packets/{print $3; exit}')
    disc=$(echo "$out" | awk '/DISCOVER-OFFER/{f=1} f&&/sent packets/{print $3; exit}')
    echo "${acks:-0} $(( ${disc:-0} - ${acks:-0} )) $(gen_cpu_ms)"
}

# kakapo-loadgen's: "completed drops p50 p99 cpu_ms" (drops: exchanges started, not completed).
loadgen_run() { # $1 = rate
    local js; js=$(/usr/bin/time -o "$work/cpu" -f "%U %S" ip netns exec "$c" timeout 40 "$gen" -4 --server 198.18.0.1 --rate "$1" --duration "$secs" \
        --clients $(( $1 * secs )) --timeout-ms 2000 ${LOADGEN_ARGS:-} --json 2>&1 || true)
    echo "$js" > "$work/loadgen.json"
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(j["completed"], j["sent"] - j["completed"], j["latency_us"]["exchange"]["p50"], j["latency_us"]["exchange"]["p99"], end=" ")' "$work/loadgen.json"
    gen_cpu_ms
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; DHCPv4 DORA as a relay, $secs s per run, memfile persist"
echo "drops: exchanges started and not completed; CPU: the generator's; rcvbuf: datagrams lost to full socket"
echo "receive buffers in the server's / the generator's namespace during the run"
printf '%-7s %7s | %11s %6s %7s %11s | %11s %6s %7s %11s %7s %7s | %6s %s\n' server rate "perfdhcp/s" drops "CPU ms" "rcvbuf s/g" "loadgen/s" drops "CPU ms" "rcvbuf s/g" "p50 us" "p99 us" ratio "within 5%"
status=0
for name in ${SERVERS:-kea kakapo}; do
    cmd=/usr/sbin/kea-dhcp4; [ "$name" = kakapo ] && cmd=$bin
    for rate in "${rates[@]}"; do
        start_server "$name" "$cmd"; c0=$(rcvbuf_errors "$c"); s0=$(rcvbuf_errors "$s")
        read -r pc pd pcpu < <(perfdhcp_run "$rate"); stop_server
        pq="$(( $(rcvbuf_errors "$s") - s0 ))/$(( $(rcvbuf_errors "$c") - c0 ))"
        start_server "$name" "$cmd"; c0=$(rcvbuf_errors "$c"); s0=$(rcvbuf_errors "$s")
        read -r lc ld lp50 lp99 lcpu < <(loadgen_run "$rate"); stop_server
        lq="$(( $(rcvbuf_errors "$s") - s0 ))/$(( $(rcvbuf_errors "$c") - c0 ))"
        verdict=$(awk -v a="$lc" -v b="$pc" 'BEGIN { if (b > 0) { r = a / b; printf "%.3f %s", r, (r >= 0.95 && r <= 1.05) ? "yes" : "NO" } else print "n/a NO" }')
        [ "${verdict##* }" = yes ] || status=1
        printf '%-7s %5d/s | %11.1f %6d %7d %11s | %11.1f %6d %7d %11s %7d %7d | %6s %s\n' "$name" "$rate" \
            "$(awk -v n="$pc" -v s="$secs" 'BEGIN{print n/s}')" "$pd" "$pcpu" "$pq" \
            "$(awk -v n="$lc" -v s="$secs" 'BEGIN{print n/s}')" "$ld" "$lcpu" "$lq" "$lp50" "$lp99" ${verdict}
    done
done
exit $status
