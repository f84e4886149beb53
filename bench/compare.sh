#!/usr/bin/env bash
# kakapo against Kea 2.2 in the same run, side by side, against the targets of the "Server
# core" issue (design.md "Performance"): DHCPv4 DORA and DHCPv6 SARR (IA_NA + IA_PD), driven by
# kakapo-loadgen as a relay agent.
#   - server CPU per lease (utime+stime from /proc/PID/stat / completed exchanges) at 2,000/s
#     and 8,000/s, and p50/p99 exchange latency at 8,000/s (kakapo-loadgen's JSON);
#   - the highest rate with under 1 % lost (kakapo-loadgen --max-rate-search, short steps);
#   - start-up time (server started -> first relayed DISCOVER/SOLICIT answered) and VmRSS
#     after start-up, with an empty lease file and with N leases (Kea 2.2 memfile CSV made by
#     bench/compare_helper.py); bytes of RSS per lease = (RSS(N) - RSS(0)) / N;
#   - lease file cleanup of an N-row file: Kea's kea-lfc run on the file, kakapo's in-process
#     cleanup (lfc-interval 2, timed from its LFC start to its LFC_TERMINATE log line).
# Kea runs single-threaded and multi-threaded (2 threads, queue 64); the table shows the better
# of the two per figure and says which. Both use memfile with persistence: kakapo fdatasyncs
# every lease before it replies, Kea never syncs.
# Usage (root): bench/compare.sh [--quick] [-4|-6] [--leases N] [--postgres]
#   --quick: 2 s per fixed rate, 1 s search steps, 100,000 leases (a few minutes);
#   default: 10 s per fixed rate, 2 s search steps, 1,000,000 leases;
#   --postgres: both servers keep leases in one PostgreSQL database on the local cluster
#   (Kea's schema from kea-admin, reached over the unix socket, emptied between runs); only
#   the load figures (CPU per lease, rate, latency) are measured.
# Server and generator sit in two network namespaces made here (veth pair, 198.18.0.0/15 and
# 2001:2::/48 only); every run is bounded by `timeout`; everything started here is stopped by
# pid; the work directory is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0; families=(4 6); nleases=1000000; secs=10; step=2; pg=0
while [ "$#" -gt 0 ]; do
    case $1 in
        --quick) quick=1; secs=2; step=1; nleases=100000 ;;
        -4) families=(4) ;;
        -6) families=(6) ;;
        --leases) nleases=$2; shift ;;
        --postgres) pg=1 ;;
        *) echo "usage: $0 [--quick] [-4|-6] [--leases N] [--postgres]" >&2; exit 2 ;;
    esac
    shift
done
[ "$quick" = 1 ] && [ "$nleases" -gt 100000 ] && nleases=100000
# VARIANTS="kakapo" narrows a run to some servers (exploration; published figures use all).
read -r -a variants <<< "${VARIANTS:-kakapo kea-st kea-mt}"
rates=(2000 8000)

bin=target/release/kakapo
gen=target/release/kakapo-loadgen
helper=bench/compare_helper.py
{ [ -x "$bin" ] && [ -x "$gen" ]; } || cargo build --release --locked --bin kakapo --bin kakapo-loadgen
hz=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/kakapo-compare.XXXXXX")
# Kea 3.0's path policy, which kakapo enforces: data, logs, sockets and pid files all in one
# directory no wider than 0750.
chmod 0750 "$work"
s=kkcmps$$; c=kkcmpc$$; si=kcs$$; ci=kcc$$
spid=; ppid_=; probe_t=
pgdb=kkp_bench_$$
pgsql() { runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    if [ "$pg" = 1 ]; then pgsql -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true; fi
    if [ -n "$ppid_" ]; then kill "$ppid_" 2>/dev/null || true; fi
    if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
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
ip link add "$si" netns "$s" type veth peer name "$ci" netns "$c"
ip -n "$s" link set "$si" up; ip -n "$c" link set "$ci" up
ip -n "$s" addr add 198.18.0.1/15 dev "$si"; ip -n "$c" addr add 198.18.0.2/15 dev "$ci"
ip -n "$s" addr add 2001:2::1/64 dev "$si" nodad; ip -n "$c" addr add 2001:2::2/64 dev "$ci" nodad
sleep 1

if [ "$pg" = 1 ]; then
    pgsql -c "CREATE ROLE root LOGIN" >/dev/null 2>&1 || true
    pgsql -c "CREATE DATABASE $pgdb OWNER root" >/dev/null
    kea-admin db-init pgsql -n "$pgdb" -u root -h /var/run/postgresql > /dev/null
fi
# The lease-database map: memfile on FILE, or the bench database.
lease_db() {
    if [ "$pg" = 1 ]; then
        echo "{\"type\": \"postgresql\", \"name\": \"$pgdb\", \"host\": \"/var/run/postgresql\", \"user\": \"root\"}"
    else
        echo "{\"type\": \"memfile\", \"persist\": true, \"name\": \"$1\", \"lfc-interval\": $2}"
    fi
}

server_addr() { if [ "$1" = 4 ]; then echo 198.18.0.1; else echo 2001:2::1; fi; }
relay_addr() { if [ "$1" = 4 ]; then echo 198.18.0.2; else echo 2001:2::2; fi; }

# config VARIANT FAMILY LEASEFILE LFC-INTERVAL SEVERITY
config() {
    local mt=''
    case $1 in
        kea-st) mt='"multi-threading": {"enable-multi-threading": false},' ;;
        kea-mt) mt='"multi-threading": {"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64},' ;;
    esac
    if [ "$2" = 4 ]; then
        cat <<JSON
{"Dhcp4": {"interfaces-config": {"interfaces": ["$si"], "dhcp-socket-type": "udp"},
  "lease-database": $(lease_db "$3" "$4"),
  "valid-lifetime": 3600, $mt
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.254"}]},
              {"id": 2, "subnet": "10.0.0.0/12", "pools": [{"pool": "10.0.0.1 - 10.15.255.254"}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "$5"}]}}
JSON
    else
        cat <<JSON
{"Dhcp6": {"data-directory": "$work", "interfaces-config": {"interfaces": ["$si/2001:2::1"]},
  "lease-database": $(lease_db "$3" "$4"),
  "preferred-lifetime": 3000, "valid-lifetime": 4000, $mt
  "subnet6": [{"id": 1, "subnet": "2001:2::/48", "interface": "$si",
     "pools": [{"pool": "2001:2::1:0 - 2001:2::ffff:ffff"}],
     "pd-pools": [{"prefix": "2001:2:0:8000::", "prefix-len": 49, "delegated-len": 80}]}],
  "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}], "severity": "$5"}]}}
JSON
    fi
}

lease_file() { echo "$work/kea-leases$1.csv"; }

# start_server VARIANT FAMILY [LFC-INTERVAL [SEVERITY]]: starts on whatever lease file is in
# place (none: empty); writes the start time (s.ns) to $work/t0 just before.
start_server() {
    local cmd=$bin
    case $1 in kea-*) cmd=/usr/sbin/kea-dhcp$2 ;; esac
    config "$1" "$2" "$(lease_file "$2")" "${3:-0}" "${4:-WARN}" > "$work/$1.json"
    date +%s.%N > "$work/t0"
    KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work KEA_DHCP_DATA_DIR=$work KEA_LOG_FILE_DIR=$work \
        KEA_CONTROL_SOCKET_DIR=$work ip netns exec "$s" "$cmd" -c "$work/$1.json" > "$work/server.log" 2>&1 &
    spid=$!
}

stop_server() {
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    spid=
    rm -f "$work"/kea-leases* "$work"/*.pid
    if [ "$pg" = 1 ]; then
        pgsql -d "$pgdb" -c "TRUNCATE lease4, lease6, lease4_stat, lease6_stat, lease4_stat_by_client_class, lease6_stat_by_client_class"
    fi
}

# Seconds from $work/t0 until the server answers a relayed DISCOVER / SOLICIT ("fail" if it
# does not within 300 s); the probe runs from before the server starts.
start_probe() {
    ip netns exec "$c" timeout 310 python3 "$helper" "probe$1" "$(server_addr "$1")" "$(relay_addr "$1")" \
        "$work/t0" 300 > "$work/probe" 2>&1 &
    ppid_=$!
    sleep 0.3
}
wait_probe() { # sets probe_t
    if wait "$ppid_"; then probe_t=$(cat "$work/probe"); else probe_t=fail; fi
    ppid_=
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

# jget FILE KEY... : a number from kakapo-loadgen's JSON ("-" if absent).
jget() {
    python3 - "$@" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2:]:
        v = v[k]
    print("-" if v is None else v)
except Exception:
    print("-")
PY
}

loadgen() { # FAMILY ARGS...
    local f=$1; shift
    local extra=(-4); [ "$f" = 6 ] && extra=(-6 --pd)
    ip netns exec "$c" timeout 300 "$gen" "${extra[@]}" --server "$(server_addr "$f")" --json "$@" \
        > "$work/lg.json" 2> "$work/lg.err" || true
}

declare -A R
log() { echo "$*" >&2; }

measure_load() { # VARIANT FAMILY
    local v=$1 f=$2 rate t0 t1 done_
    for rate in "${rates[@]}"; do
        start_probe "$f"; start_server "$v" "$f"
        wait_probe
        [ "$probe_t" = fail ] && { log "  $v v$f: no answer at start"; stop_server; continue; }
        t0=$(cpu_ticks "$spid")
        loadgen "$f" --rate "$rate" --duration "$secs" --clients $(( rate * secs )) --timeout-ms 2000
        t1=$(cpu_ticks "$spid")
        stop_server
        done_=$(jget "$work/lg.json" completed)
        R[$v,$f,sent$rate]=$(jget "$work/lg.json" sent); R[$v,$f,done$rate]=$done_
        R[$v,$f,cpu$rate]=$(awk -v t=$(( t1 - t0 )) -v hz="$hz" -v n="$done_" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')
        R[$v,$f,p50_$rate]=$(jget "$work/lg.json" latency_us exchange p50)
        R[$v,$f,p99_$rate]=$(jget "$work/lg.json" latency_us exchange p99)
        log "  $v v$f ${rate}/s: completed ${R[$v,$f,done$rate]} of ${R[$v,$f,sent$rate]}, server CPU ${R[$v,$f,cpu$rate]} us/lease, p50/p99 ${R[$v,$f,p50_$rate]}/${R[$v,$f,p99_$rate]} us"
    done
    start_probe "$f"; start_server "$v" "$f"
    wait_probe
    if [ "$probe_t" != fail ]; then
        loadgen "$f" --max-rate-search --rate 2000 --duration "$step" --clients 50000 --timeout-ms 1000 --search-max 200000
        R[$v,$f,max]=$(jget "$work/lg.json" max_rate)
        log "  $v v$f max rate under 1 % lost: ${R[$v,$f,max]}/s ($(jget "$work/lg.json" search | grep -o "'rate': [0-9]*" | awk '{printf "%s ", $2}')tried)"
    fi
    stop_server
}

measure_start() { # VARIANT FAMILY
    local v=$1 f=$2 n t
    for n in 0 "$nleases"; do
        [ "$n" -gt 0 ] && cp "$work/gen$f.csv" "$(lease_file "$f")"
        sync
        start_probe "$f"; start_server "$v" "$f"
        wait_probe; t=$probe_t
        R[$v,$f,start$n]=$t
        if [ "$t" != fail ]; then sleep 1; R[$v,$f,rss$n]=$(rss_kb "$spid"); else R[$v,$f,rss$n]=-; fi
        stop_server
        log "  $v v$f start-up with $n leases: $t s, VmRSS ${R[$v,$f,rss$n]} kB"
    done
    R[$v,$f,bpl]=$(awk -v a="${R[$v,$f,rss0]}" -v b="${R[$v,$f,rss$nleases]}" -v n="$nleases" \
        'BEGIN { if (a != "-" && b != "-") printf "%.0f", (b - a) * 1024 / n; else print "-" }')
}

now_s() { date +%s.%N; }
hms_s() { awk '{ split($2, t, ":"); print t[1] * 3600 + t[2] * 60 + t[3] }'; }

measure_lfc() { # FAMILY
    local f=$1 t0 t1 a b
    # Kea: kea-lfc on the file directly (what kea-dhcp spawns every lfc-interval); like the
    # server it leaves its result as the "previous" file (-x).
    cp "$work/gen$f.csv" "$work/lfc-input.csv"; rm -f "$work"/lfc-{prev,output,finish}.csv "$work/lfc.pid"
    config kea-st "$f" "$(lease_file "$f")" 0 WARN > "$work/lfc.json"
    sync
    t0=$(now_s)
    KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work timeout 300 /usr/sbin/kea-lfc "-$f" -x "$work/lfc-prev.csv" \
        -i "$work/lfc-input.csv" -o "$work/lfc-output.csv" -f "$work/lfc-finish.csv" -p "$work/lfc.pid" \
        -c "$work/lfc.json" > "$work/lfc.log" 2>&1 || true
    t1=$(now_s)
    R[kea,$f,lfc]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    R[kea,$f,lfcrows]=$(( $(wc -l < "$work/lfc-prev.csv" 2>/dev/null || echo 1) - 1 ))
    rm -f "$work"/lfc-*.csv
    log "  kea-lfc v$f: ${R[kea,$f,lfc]} s, ${R[kea,$f,lfcrows]} rows written"
    # kakapo: its in-process cleanup of the same file, 2 s after start-up.
    cp "$work/gen$f.csv" "$(lease_file "$f")"
    sync
    start_probe "$f"; start_server kakapo "$f" 2 INFO
    R[kakapo,$f,lfc]=-; R[kakapo,$f,lfcrows]=-
    wait_probe
    if [ "$probe_t" != fail ]; then
        for _ in $(seq 1 600); do
            grep -q LFC_TERMINATE "$work/server.log" && break
            grep -q LFC_FAIL "$work/server.log" && break
            sleep 0.5
        done
        a=$(grep -m1 'DHCPSRV_MEMFILE_LFC_EXECUTE executing Lease File Cleanup using: in-process cleanup of' "$work/server.log" | hms_s)
        b=$(grep -m1 'LFC_TERMINATE' "$work/server.log" | hms_s)
        if [ -n "$a" ] && [ -n "$b" ]; then
            R[kakapo,$f,lfc]=$(awk -v a="$a" -v b="$b" 'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.2f", d }')
            if [ -f "$(lease_file "$f").2" ]; then R[kakapo,$f,lfcrows]=$(( $(wc -l < "$(lease_file "$f").2") - 1 )); fi
        fi
    fi
    stop_server
    log "  kakapo LFC v$f: ${R[kakapo,$f,lfc]} s, ${R[kakapo,$f,lfcrows]} rows written"
}

started=$(date -u +%FT%TZ)
log "== $started $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $secs s per fixed rate, $step s search steps, $nleases leases"
for f in "${families[@]}"; do
    if [ "$pg" = 1 ]; then
        for v in "${variants[@]}"; do measure_load "$v" "$f"; done
        continue
    fi
    log "-- DHCPv$f: generating $nleases leases"
    python3 "$helper" "leases$f" "$work/gen$f.csv" "$nleases"
    for v in "${variants[@]}"; do
        measure_load "$v" "$f"
        measure_start "$v" "$f"
    done
    measure_lfc "$f"
    rm -f "$work/gen$f.csv"
done

# best LOWER|HIGHER FAMILY KEY [RATE]: Kea's better figure of its two modes, "value mode". With
# RATE (figures of a fixed-rate run), a mode that lost 1 % or more of that run's exchanges is
# taken only if both did (its mode then says how much it lost): an overloaded server's CPU per
# lease and latency are not comparable.
best() {
    local st=${R[kea-st,$2,$3]:--} mt=${R[kea-mt,$2,$3]:--} lst=0 lmt=0
    if [ -n "${4:-}" ]; then
        lst=$(loss "${R[kea-st,$2,done$4]:-0}" "${R[kea-st,$2,sent$4]:-0}")
        lmt=$(loss "${R[kea-mt,$2,done$4]:-0}" "${R[kea-mt,$2,sent$4]:-0}")
    fi
    awk -v d="$1" -v a="$st" -v b="$mt" -v la="$lst" -v lb="$lmt" 'BEGIN {
        if (a == "-" || a == "fail") { pick = "b" }
        else if (b == "-" || b == "fail") { pick = "a" }
        else if (la < 1 && lb >= 1) { pick = "a" }
        else if (lb < 1 && la >= 1) { pick = "b" }
        else if ((d == "LOWER" && b + 0 < a + 0) || (d == "HIGHER" && b + 0 > a + 0)) { pick = "b" }
        else { pick = "a" }
        v = (pick == "a") ? a : b; m = (pick == "a") ? "ST" : "MT"; l = (pick == "a") ? la : lb
        if (v == "-") m = ""
        else if (l >= 1) m = sprintf("%s,%.0f%%lost", m, l)
        print v, m }'
}

# loss COMPLETED STARTED: percent of exchanges lost.
loss() { awk -v c="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", 100 * (s - c) / s; else print 0 }'; }

# row LABEL UNIT KAKAPO KEA KEAMODE RATIO-KIND TARGET-TEXT TARGET-CHECK
#   RATIO-KIND: kea/kak (lower is better) or kak/kea (higher is better).
row() {
    awk -v l="$1" -v u="$2" -v k="$3" -v e="$4" -v m="$5" -v r="$6" -v t="$7" -v chk="$8" 'BEGIN {
        ratio = "-"; ok = ""
        if (k != "-" && e != "-" && k != "fail" && e != "fail" && k + 0 > 0 && e + 0 > 0)
            ratio = sprintf("%.2fx", r == "kea/kak" ? e / k : k / e)
        if (chk != "" && ratio != "-") {
            split(chk, c, ":")
            v = (c[1] == "ratio") ? substr(ratio, 1, length(ratio) - 1) + 0 : k + 0
            ok = ((c[2] == ">=" && v >= c[3]) || (c[2] == "<=" && v <= c[3]) || (c[2] == "<" && v < c[3])) ? "met" : "NOT met"
        }
        if (m != "") e = e " (" m ")"
        printf "| %-42s | %8s | %16s | %6s | %-9s | %-7s |\n", l " (" u ")", k, e, ratio, t, ok }'
}

echo
echo "kakapo vs Kea 2.2, $started, $(nproc) cores (shared, noisy), kakapo-loadgen as a relay;"
echo "$secs s per fixed rate, $step s per search step, $nleases-lease files$([ "$quick" = 1 ] && echo ', --quick')."
if [ "$pg" = 1 ]; then
    echo "Both on one PostgreSQL database ($(pgsql -tAc 'SHOW server_version'), local cluster, unix socket), emptied between runs:"
    echo "a lease is acknowledged after its transaction commits (kakapo batches concurrent commits)."
else
    echo "Both memfile with persistence: kakapo fdatasyncs every lease before it replies; Kea never syncs."
fi
echo "Kea: the better of single-threaded (ST) and multi-threaded (MT, 2 threads, queue 64) per row;"
echo "at a fixed rate a mode that lost >= 1 % counts only if both did (marked 'N%lost')."
echo "Ratio: kakapo's advantage (Kea/kakapo for costs and times, kakapo/Kea for the rate)."
read -r floor_sync floor_wake < <(python3 "$helper" floor "$work" 4000)
echo "Durability floor here (compare_helper.py floor): one write + fdatasync of a lease row costs"
echo "$floor_sync us of CPU, one sleep/wake-up $floor_wake us; at 2,000/s each lease gets its own fdatasync."
for f in "${families[@]}"; do
    what=DORA; [ "$f" = 6 ] && what="SARR, IA_NA + IA_PD"
    echo
    echo "DHCPv$f ($what)"
    echo "| figure                                     |   kakapo |   Kea 2.2 (mode) |  ratio | target    | met?    |"
    echo "|---|---|---|---|---|---|"
    for rate in "${rates[@]}"; do
        read -r kv km < <(best LOWER "$f" "cpu$rate" "$rate")
        row "CPU per lease at $rate/s" "us" "${R[kakapo,$f,cpu$rate]:--}" "$kv" "$km" kea/kak ">= 5x" "ratio:>=:5"
    done
    read -r kv km < <(best HIGHER "$f" max)
    row "max rate, < 1 % lost" "/s" "${R[kakapo,$f,max]:--}" "$kv" "$km" kak/kea ">= 3x" "ratio:>=:3"
    read -r kv km < <(best LOWER "$f" p50_8000 8000)
    row "p50 latency at 8000/s" "us" "${R[kakapo,$f,p50_8000]:--}" "$kv" "$km" kea/kak "" ""
    read -r kv km < <(best LOWER "$f" p99_8000 8000)
    row "p99 latency at 8000/s" "us" "${R[kakapo,$f,p99_8000]:--}" "$kv" "$km" kea/kak "< 5000 us" "value:<:5000"
    if [ "$pg" = 1 ]; then
        for rate in "${rates[@]}"; do
            echo "  ${rate}/s completed of started: kakapo ${R[kakapo,$f,done$rate]:--}/${R[kakapo,$f,sent$rate]:--}, Kea ST ${R[kea-st,$f,done$rate]:--}/${R[kea-st,$f,sent$rate]:--}, MT ${R[kea-mt,$f,done$rate]:--}/${R[kea-mt,$f,sent$rate]:--}; CPU us/lease Kea ST ${R[kea-st,$f,cpu$rate]:--}, MT ${R[kea-mt,$f,cpu$rate]:--}"
        done
        echo "  max rate: Kea ST ${R[kea-st,$f,max]:--}/s, MT ${R[kea-mt,$f,max]:--}/s"
        continue
    fi
    read -r kv km < <(best LOWER "$f" "start$nleases")
    row "start-up, $nleases leases" "s" "${R[kakapo,$f,start$nleases]:--}" "$kv" "$km" kea/kak ">= 3x" "ratio:>=:3"
    read -r kv km < <(best LOWER "$f" "rss$nleases")
    row "VmRSS after start-up, $nleases leases" "kB" "${R[kakapo,$f,rss$nleases]:--}" "$kv" "$km" kea/kak "" ""
    read -r kv km < <(best LOWER "$f" bpl)
    row "RSS per lease, (RSS(N)-RSS(0))/N" "B" "${R[kakapo,$f,bpl]:--}" "$kv" "$km" kea/kak "<= 200 B" "value:<=:200"
    row "lease file cleanup, $nleases rows" "s" "${R[kakapo,$f,lfc]:--}" "${R[kea,$f,lfc]:--}" "kea-lfc" kea/kak "" ""
    echo
    echo "Per Kea mode (ST / MT) and details:"
    for rate in "${rates[@]}"; do
        echo "  ${rate}/s completed of started: kakapo ${R[kakapo,$f,done$rate]:--}/${R[kakapo,$f,sent$rate]:--}, Kea ST ${R[kea-st,$f,done$rate]:--}/${R[kea-st,$f,sent$rate]:--}, MT ${R[kea-mt,$f,done$rate]:--}/${R[kea-mt,$f,sent$rate]:--}; CPU us/lease Kea ST ${R[kea-st,$f,cpu$rate]:--}, MT ${R[kea-mt,$f,cpu$rate]:--}; p50/p99 us kakapo ${R[kakapo,$f,p50_$rate]:--}/${R[kakapo,$f,p99_$rate]:--}, ST ${R[kea-st,$f,p50_$rate]:--}/${R[kea-st,$f,p99_$rate]:--}, MT ${R[kea-mt,$f,p50_$rate]:--}/${R[kea-mt,$f,p99_$rate]:--}"
    done
    echo "  max rate: Kea ST ${R[kea-st,$f,max]:--}/s, MT ${R[kea-mt,$f,max]:--}/s"
    echo "  start-up empty / $nleases leases (s): kakapo ${R[kakapo,$f,start0]:--} / ${R[kakapo,$f,start$nleases]:--}, Kea ST ${R[kea-st,$f,start0]:--} / ${R[kea-st,$f,start$nleases]:--}, MT ${R[kea-mt,$f,start0]:--} / ${R[kea-mt,$f,start$nleases]:--}"
    echo "  VmRSS empty / $nleases leases (kB): kakapo ${R[kakapo,$f,rss0]:--} / ${R[kakapo,$f,rss$nleases]:--}, Kea ST ${R[kea-st,$f,rss0]:--} / ${R[kea-st,$f,rss$nleases]:--}, MT ${R[kea-mt,$f,rss0]:--} / ${R[kea-mt,$f,rss$nleases]:--}; RSS per lease (B) Kea ST ${R[kea-st,$f,bpl]:--}, MT ${R[kea-mt,$f,bpl]:--}"
    echo "  cleanup rows written: kakapo ${R[kakapo,$f,lfcrows]:--} (fsyncs its output), kea-lfc ${R[kea,$f,lfcrows]:--} (no sync)"
done
