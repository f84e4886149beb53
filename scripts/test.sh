#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine (run as root): installs the Debian
# packages the tests use, starts PostgreSQL, then runs formatting, lints, every test and a
# bounded fuzz run. `.ci/run` calls exactly this.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(kea-doc kea-dhcp4-server kea-dhcp6-server kea-dhcp-ddns-server kea-ctrl-agent kea-admin
          postgresql iproute2 isc-dhcp-client isc-dhcp-relay busybox dhcpcd-base curl openssl python3
          python3-venv prometheus)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Prometheus exporter operators point at Kea (PyPI), pinned, in a virtual environment of
# its own; tests/kea_exporter.rs finds it through KAKAPO_KEA_EXPORTER.
exporter_venv=/opt/kakapo-test/kea-exporter
if [ ! -x "$exporter_venv/bin/kea-exporter" ]; then
    echo "== installing kea-exporter 0.7.1 (PyPI)"
    /usr/bin/python3 -m venv "$exporter_venv"
    "$exporter_venv/bin/pip" install -q kea-exporter==0.7.1
fi
export KAKAPO_KEA_EXPORTER="$exporter_venv/bin/kea-exporter"

# Later tiers (lease storage, hosts) use the cluster; starting it here keeps CI honest about it.
if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || pg_lsclusters
fi

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --all-targets --locked 2>&1 | tee /tmp/kakapo-test.log
summary=$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' /tmp/kakapo-test.log)

# Bounded fuzzing with libFuzzer when a nightly toolchain is there (cargo-fuzz needs it); the
# stable build always runs tests/fuzz_smoke.rs above, which also feeds it every seed.
# Each target starts from its committed seeds (fuzz/seeds/<target>, read-only: new inputs go
# to a temporary first corpus directory) and its final coverage is printed, so a target that
# stops reaching its code shows up as a number that dropped.
fuzz_targets=(config_text config_model v4_decode v4_engine v6_decode v6_engine command http_request)
if rustup toolchain list 2>/dev/null | grep -q nightly; then
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.12.0 >/dev/null 2>&1 || true
    # With nightly and cargo-fuzz there, a target that does not build fails the run (it would
    # otherwise hide a broken target behind a "skipped"); so does a crash found by one.
    if command -v cargo-fuzz >/dev/null; then
        if ! cargo +nightly fuzz build -O >/tmp/kakapo-fuzz-build.log 2>&1; then
            echo "== cargo fuzz build failed:"
            grep -E '^(error|warning)' -A8 /tmp/kakapo-fuzz-build.log | head -n 80
            tail -n 20 /tmp/kakapo-fuzz-build.log
            exit 1
        fi
        echo "== cargo fuzz (60 s per target)"
        fuzz_dir=$(mktemp -d /tmp/kakapo-fuzz.XXXXXX)
        fuzz_failed=()
        for t in "${fuzz_targets[@]}"; do
            # Configurations and commands are longer than packets.
            case $t in config_* | command) max_len=16384 ;; *) max_len=4096 ;; esac
            mkdir -p "$fuzz_dir/corpus-$t"
            rc=0
            cargo +nightly fuzz run -O "$t" "$fuzz_dir/corpus-$t" "fuzz/seeds/$t" -- \
                -max_total_time=60 -max_len="$max_len" -rss_limit_mb=2048 >"$fuzz_dir/$t.log" 2>&1 || rc=$?
            grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$fuzz_dir/$t.log" | sed "s/^/$t: /" || true
            if [ "$rc" -ne 0 ]; then
                echo "== fuzz target $t failed (exit $rc):"
                tail -n 60 "$fuzz_dir/$t.log"
                fuzz_failed+=("$t")
            fi
        done
        for t in "${fuzz_targets[@]}"; do
            # libFuzzer's last status line: `#<execs> DONE cov: N ft: M corp: <entries>/<size> ...`.
            last=$(grep -E '^#[0-9]+[[:space:]].* cov: ' "$fuzz_dir/$t.log" | tail -n 1 || true)
            if [ -z "$last" ]; then
                echo "fuzz coverage: $t cov=? ft=? corpus=? execs=? (no status line)"
                continue
            fi
            execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
            done_runs=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$fuzz_dir/$t.log" | tail -n 1)
            cov=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<<"$last")
            ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<<"$last")
            corp=$(sed -E 's/.* corp: ([0-9]+).*/\1/' <<<"$last")
            echo "fuzz coverage: $t cov=$cov ft=$ft corpus=$corp execs=${done_runs:-$execs}"
        done
        rm -rf "$fuzz_dir"
        if [ "${#fuzz_failed[@]}" -gt 0 ]; then
            echo "== fuzz targets failed: ${fuzz_failed[*]}"
            exit 1
        fi
    else
        echo "== cargo fuzz skipped: cargo-fuzz could not be installed"
    fi
else
    echo "== cargo fuzz skipped: no nightly toolchain (rustup toolchain install nightly)"
fi
echo "== all tests passed"
echo "tests: $summary"
