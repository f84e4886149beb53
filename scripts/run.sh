#!/usr/bin/env bash
# Builds kakapo and runs it on the shipped default configuration (config/kakapo.conf), as
# root. First it does what Kea's Debian packages do at install time, so a fresh machine needs
# no other step: /etc/kea (mode 0750) with the control API's user name (kea-api) and a random
# password in kea-api-user / kea-api-password, each created only when missing (Debian's
# kea-ctrl-agent package already makes the same kea-api-password). Extra arguments go to
# kakapo, e.g. `./scripts/run.sh -d`. KAKAPO_BIN runs an already built binary instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${KAKAPO_BIN:-}" ]; then
    cargo build --release --locked
    KAKAPO_BIN=target/release/kakapo
fi
umask 027
install -d -m 0750 /etc/kea
[ -s /etc/kea/kea-api-user ] || echo kea-api > /etc/kea/kea-api-user
[ -s /etc/kea/kea-api-password ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > /etc/kea/kea-api-password
exec "$KAKAPO_BIN" -c config/kakapo.conf "$@"
