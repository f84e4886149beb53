#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine (run as root): installs the Debian
# packages the tests use, starts PostgreSQL, then runs formatting, lints, every test and a
# bounded fuzz run. `.ci/run` calls exactly this.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(kea-doc kea-dhcp4-server kea-dhcp6-server kea-dhcp-ddns-server kea-ctrl-agent kea-admin
          postgresql iproute2 isc-dhcp-client isc-dhcp-relay busybox dhcpcd-base curl openssl python3)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

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

# Bounded fuzzing of the configuration reader with libFuzzer when a nightly toolchain is
# there (cargo-fuzz needs it); the stable build always runs tests/fuzz_smoke.rs above.
if rustup toolchain list 2>/dev/null | grep -q nightly; then
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.12.0 >/dev/null 2>&1 || true
    # A toolchain that cannot build the fuzz targets skips them with a notice; a crash found
    # by a target that did build fails the run.
    if command -v cargo-fuzz >/dev/null && cargo +nightly fuzz build -O >/dev/null 2>&1; then
        echo "== cargo fuzz (60 s per target)"
        for t in config_text config_model v4_decode v4_engine v6_decode v6_engine; do
            cargo +nightly fuzz run -O "$t" -- -max_total_time=60 -max_len=4096 -rss_limit_mb=2048
        done
    else
        echo "== cargo fuzz skipped: no nightly build of the fuzz targets on this machine"
    fi
fi
echo "== all tests passed"
echo "tests: $summary"
