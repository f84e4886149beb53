# syntax=docker/dockerfile:1
#
# kakapo container image: a Kea-compatible DHCPv4/DHCPv6 server.
#
# Build:
#   docker build -t kakapo .
# Run with the host's Kea configuration and a named volume for the leases
# (host networking: DHCP relies on broadcast/link-local traffic on the real
# interfaces, which a bridged container network does not see):
#   docker run --network host -v /etc/kea:/etc/kea -v kea-leases:/var/lib/kea kakapo
# Other daemons from the same image (the binary acts as the daemon it is
# invoked as):
#   docker run --network host -v /etc/kea:/etc/kea -v kea-leases:/var/lib/kea \
#       --entrypoint /usr/sbin/kea-dhcp6 kakapo -c /etc/kea/kea-dhcp6.conf
# Check a configuration without serving:
#   docker run --rm -v /etc/kea:/etc/kea kakapo -t /etc/kea/kea-dhcp4.conf

# ---- build stage ---------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# --locked: build exactly the dependency versions in Cargo.lock.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked \
 && install -D -m 0755 target/release/kakapo /out/kakapo

# ---- runtime stage -------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: trust anchors for HTTPS to HA partners and for TLS
# database connections. Nothing else is needed at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/kakapo /usr/sbin/kakapo
# Invoked under a Kea daemon's name, kakapo behaves as that daemon, so
# scripts and orchestration written for Kea images keep working.
RUN ln -s kakapo /usr/sbin/kea-dhcp4 \
 && ln -s kakapo /usr/sbin/kea-dhcp6 \
 && ln -s kakapo /usr/sbin/kea-dhcp-ddns \
 && install -d -m 0750 /etc/kea /var/lib/kea /var/log/kea /run/kea
# Kea's runtime directories: pid/lock files and control sockets go to /run/kea
# (mode 0750: Kea 3.0's policy, which kakapo enforces, refuses a wider socket
# directory); leases in /var/lib/kea, log files in /var/log/kea.
ENV KEA_PIDFILE_DIR=/run/kea \
    KEA_LOCKFILE_DIR=/run/kea \
    KEA_DHCP_DATA_DIR=/var/lib/kea \
    KEA_LOG_FILE_DIR=/var/log/kea \
    KEA_CONTROL_SOCKET_DIR=/run/kea
# Configuration (read-only is fine) and leases (must persist across restarts).
VOLUME ["/etc/kea", "/var/lib/kea"]
# DHCPv4 server (67), DHCPv6 server (547), HTTP control listener (8000).
EXPOSE 67/udp 547/udp 8000/tcp
# SIGTERM triggers a clean shutdown (leases flushed), as with Kea.
STOPSIGNAL SIGTERM
# Runs as root inside the container: raw DHCPv4 sockets need CAP_NET_RAW. To keep
# only what a DHCP server needs, add:
#   --cap-drop ALL --cap-add NET_RAW --cap-add NET_BIND_SERVICE
ENTRYPOINT ["/usr/sbin/kakapo"]
CMD ["-c", "/etc/kea/kea-dhcp4.conf"]
