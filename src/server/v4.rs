//! The DHCPv4 service: opens the lease file and the sockets (raw or UDP), holds the engine a
//! configuration change swaps, and is the DHCPv4 side of the generic packet pipeline (Kea ARM
//! 8.2.2, 8.2.4, 8.2.14).

use crate::lease::store::ClientId;
use crate::server::pipeline::BoxFuture;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::core::{Core, Limits, ServedEngine};
use super::hosts::HostSource;
use super::pipeline::{Decision, Family};
use super::timers::TimerWork;
use super::{DhcpState, ServiceError, ServiceOptions};
use crate::clock;
use crate::config::model::{Dhcp4, Reservation4};
use crate::engine::counters::Global4;
use crate::engine::v4::{Dest4, Engine4, Outcome4, RecvMeta4};
use crate::lease::alloc::LeaseMap4;
use crate::lease::memfile::LeaseIndex;
use crate::lease::store::CommitFuture;
use crate::lease::Lease4;
use crate::lease::LeaseChange4;
use crate::net::raw::{RawOutgoing, RawV4Socket, RAW_BATCH};
use crate::net::steer::Steer;
use crate::net::udp4::{Outgoing4, Udp4Recv, Udp4Socket};
use crate::stats::Stats;
use crate::stats::Tally;
use crate::wire::v4::{MessageType, Pkt4};

/// The lease file a configuration uses: `name`, relative names under the data directory, and
/// Kea's default `kea-leases4.csv` when none is named.
pub fn lease_file(cfg: &Dhcp4, opts: &ServiceOptions) -> PathBuf {
    match &cfg.daemon.lease_database.name {
        Some(n) if std::path::Path::new(n).is_absolute() => PathBuf::from(n),
        Some(n) => opts.data_dir.join(n),
        None => opts.data_dir.join("kea-leases4.csv"),
    }
}

/// One listening endpoint: a raw socket (clients without addresses) or a UDP socket.
enum Listener {
    Raw { raw: RawV4Socket, fallback: std::net::UdpSocket },
    Udp { udp: Udp4Socket },
}

/// One DHCPv4 listening endpoint and the interface facts the engine needs.
pub struct Iface {
    name: String,
    ifindex: u32,
    addrs: Vec<Ipv4Addr>,
    listener: Listener,
    buffers: super::ReplyBuffers,
}

/// What the packet tasks, the timers and the control channel share: the family-independent
/// core (engine slot, store, ordering lock) and the DHCPv4 socket side.
pub struct Shared {
    core: Core<Engine4, LeaseMap4>,
    /// The packet counters the socket side keeps (received while disabled, sent), resolved
    /// once: their names do not depend on the configuration.
    counters: Global4,
    opts: ServiceOptions,
    state: DhcpState,
    /// The hosts databases (Kea ARM 8.2.3), if any.
    hosts: Option<HostSource<Reservation4>>,
}

impl std::ops::Deref for Shared {
    type Target = Core<Engine4, LeaseMap4>;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl ServedEngine for Engine4 {
    type Lease = Lease4;
    const FAMILY: u8 = 4;
    fn timers(&self) -> (crate::config::model::ExpiredLeases, u32, bool) {
        let c = self.config();
        (c.daemon.expired, c.daemon.lease_database.lfc_interval, c.daemon.lease_database.persist)
    }
    fn reclaim(&self, now: u64, tally: &mut Tally, out_of_time: &mut dyn FnMut() -> bool) -> Vec<LeaseChange4> {
        Engine4::reclaim(self, now, tally, out_of_time)
    }
    fn flush_reclaimed(&self, now: u64) -> Vec<LeaseChange4> {
        Engine4::flush_reclaimed(self, now)
    }
    fn synced(&self, changes: &[LeaseChange4], tally: &mut Tally) {
        Engine4::synced(self, changes, tally)
    }
    fn roll_back(&self, changes: &[LeaseChange4]) {
        Engine4::roll_back(self, changes)
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared4").finish_non_exhaustive()
    }
}

impl Shared {
    /// Whether the service is enabled (`dhcp-disable` / `dhcp-enable`).
    pub fn state(&self) -> &DhcpState {
        &self.state
    }

    /// The hosts databases (Kea ARM 8.2.3), if any are configured.
    pub fn hosts(&self) -> Option<&HostSource<Reservation4>> {
        self.hosts.as_ref()
    }

    /// Applies a new configuration without closing sockets or the lease file: the leases move
    /// to a lease map built for the new subnets (leases of removed subnets are kept aside) and
    /// the next packet is decided by the new engine (Kea ARM 8.8 `config-set`).
    pub fn reconfigure(&self, cfg: Arc<Dhcp4>, now: u64) {
        let layout = |c: &Dhcp4| -> Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> {
            c.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect()
        };
        self.swap(Limits { parked: cfg.daemon.parked_packet_limit, queue: cfg.daemon.packet_queue }, |old| {
            // Same subnets and pools (reservation-add, option or lifetime changes): the lease
            // map is shared as it is, with its offers, cursors and durability markers.
            let map = if layout(old.config()) == layout(&cfg) {
                old.leases().clone()
            } else {
                let map = new_map(&cfg);
                map.load(old.leases().all());
                map.carry_from(old.leases());
                Arc::new(map)
            };
            let keep: Vec<u32> = cfg.subnets.iter().map(|s| s.id).collect();
            super::forget_removed_subnets(self.stats(), old.config().subnets.iter().map(|s| s.id), &keep);
            // Rows are built against the configuration: the new one may build them differently.
            let hosts = self.hosts.as_ref().map(|h| h.cache().clone());
            hosts.iter().for_each(|h| h.clear());
            (Engine4::new(cfg, map.clone(), self.stats().clone(), now).with_hosts(hosts).track_durability(), map)
        });
        // The old engine's handles are gone unless a decision still holds it; statistics of
        // removed subnets that nothing counts in any more leave the map.
        self.stats().sweep();
    }

    /// The reclamation and cleanup timers of the configuration serving now.
    pub fn timer_work(self: &Arc<Self>) -> TimerWork {
        super::core::timer_work(self)
    }
}

/// Whether a new configuration can be applied to running sockets and lease file, or needs the
/// service reopened (interfaces, socket type, threads, lease database or the reclamation timers
/// changed).
pub fn can_reconfigure(old: &Dhcp4, new: &Dhcp4) -> bool {
    old.daemon.interfaces == new.daemon.interfaces
        && old.raw_sockets == new.raw_sockets
        && old.daemon.lease_database == new.daemon.lease_database
        && old.daemon.hosts_databases == new.daemon.hosts_databases
        && old.daemon.expired == new.daemon.expired
        && old.daemon.packet_threads == new.daemon.packet_threads
}

fn new_map(cfg: &Dhcp4) -> LeaseMap4 {
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        cfg.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice())))
}

/// Resolves `interfaces-config.interfaces` ("eth0", "eth0/192.0.2.1", "*") against the host.
fn resolve_interfaces(specs: &[String]) -> Vec<(String, Vec<Ipv4Addr>)> {
    let host = crate::net::host_interfaces();
    let mut out: Vec<(String, Vec<Ipv4Addr>)> = Vec::new();
    for spec in specs {
        let (name, only) = match spec.split_once('/') {
            Some((n, a)) => (n, a.parse::<Ipv4Addr>().ok()),
            None => (spec.as_str(), None),
        };
        for h in host.iter().filter(|h| name == "*" && h.name != "lo" || h.name == name) {
            let mut v4: Vec<Ipv4Addr> = h
                .addresses
                .iter()
                .filter_map(|a| match a {
                    std::net::IpAddr::V4(v) => Some(*v),
                    _ => None,
                })
                .collect();
            if let Some(a) = only {
                v4.retain(|x| *x == a);
            }
            if !out.iter().any(|(n, _)| n == &h.name) {
                out.push((h.name.clone(), v4));
            }
        }
    }
    out
}

/// Opens the listener of `name`; `steer`: one of several sharing it ([`crate::net::steer`]).
fn open_iface(
    name: &str,
    addrs: Vec<Ipv4Addr>,
    raw: bool,
    port: u16,
    steer: Option<Steer>,
) -> Result<Iface, ServiceError> {
    let err = |e: std::io::Error| ServiceError::Socket { iface: name.to_string(), err: e };
    let ifindex = nix::net::if_::if_nametoindex(name).map_err(|e| err(std::io::Error::from(e)))?;
    let listener = if raw {
        let raw = match steer {
            Some(st) => RawV4Socket::open_steered(name, port, st),
            None => RawV4Socket::open(name, port),
        }
        .map_err(err)?;
        // Bursts from many clients queue rather than drop while a batch is decided (SO_RCVBUF
        // is capped by net.core.rmem_max; the default ~208 KiB holds only ~200 frames).
        let _ = raw.set_recv_buffer_size(4 << 20);
        // The raw socket receives everything; the fallback UDP socket on the server port keeps
        // the kernel from answering port-unreachable and sends to relays and to clients that
        // have an address (the kernel resolves their MAC).
        let fallback = crate::net::raw::fallback_udp(name, port).map_err(err)?;
        Listener::Raw { raw, fallback }
    } else {
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
        let udp = match steer {
            Some(st) => Udp4Socket::bind_steered(any, name, st),
            None => Udp4Socket::bind(any, Some(name)),
        }
        .map_err(err)?;
        let _ = udp.set_recv_buffer_size(4 << 20);
        Listener::Udp { udp }
    };
    Ok(Iface { name: name.to_string(), ifindex, addrs, listener, buffers: Default::default() })
}

/// An opened DHCPv4 service: lease file loaded, sockets bound, not yet serving.
pub struct Service4 {
    shared: Arc<Shared>,
    ifaces: Vec<Iface>,
}

impl std::fmt::Debug for Service4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service4").field("interfaces", &self.ifaces.len()).finish()
    }
}

impl Service4 {
    /// Loads the leases and opens the sockets (Kea does both before DHCP4_STARTED).
    pub fn open(cfg: Arc<Dhcp4>, opts: ServiceOptions, stats: Arc<Stats>) -> Result<Service4, ServiceError> {
        let path = lease_file(&cfg, &opts);
        let opened = crate::lease::open4(&cfg.daemon.lease_database, path.clone()).map_err(ServiceError::from)?;
        let (store, loaded) = (opened.store, opened.loaded);
        let map = new_map(&cfg);
        let count = loaded.len();
        let subnets = &cfg.subnets;
        let holds =
            |l: &Lease4, id: u32| subnets.iter().find(|s| s.id == id).map(|s| s.prefix.trunc().contains(&l.address));
        let home = |l: &Lease4| subnets.iter().find(|s| s.prefix.trunc().contains(&l.address)).map(|s| s.id);
        let checker =
            crate::lease::sanity::Checker { mode: cfg.daemon.lease_checks, family: 4, holds: &holds, home: &home };
        let orphans = map.load(checker.check(loaded));
        info!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_MEMFILE_LEASE_FILE_LOAD loading leases from file {} ({count} leases, {} for unknown subnets)", path.display(), orphans.len());
        let map_slot = Arc::new(map);
        let hosts = HostSource::open(&cfg.daemon.hosts_databases, false)?;
        let engine = Engine4::new(cfg.clone(), map_slot.clone(), stats.clone(), clock::unix_now())
            .with_hosts(hosts.as_ref().map(|h| h.cache().clone()))
            .track_durability();
        let mut ifaces = Vec::new();
        let threads = super::packet_threads(cfg.daemon.packet_threads);
        for (name, addrs) in resolve_interfaces(&cfg.daemon.interfaces) {
            for steer in super::shares(threads) {
                ifaces.push(open_iface(&name, addrs.clone(), cfg.raw_sockets, opts.server_port, steer)?);
            }
            info!(target: "kea-dhcp4.dhcp4", "KAKAPO_SOCKET_OPENED {} socket on interface {name}, port {}", if cfg.raw_sockets { "raw" } else { "UDP" }, opts.server_port);
        }
        if ifaces.is_empty() {
            warn!(target: "kea-dhcp4.dhcp4", "DHCP4_NO_SOCKETS_OPEN no interface configured to listen to DHCP traffic");
        } else {
            info!(target: "kea-dhcp4.dhcp4", "DHCP4_OPEN_SOCKET opening service sockets on port {}", opts.server_port);
        }
        let counters = Global4::resolve(&stats, clock::unix_now());
        let core = Core::new(
            engine,
            map_slot,
            store,
            stats,
            Limits { parked: cfg.daemon.parked_packet_limit, queue: cfg.daemon.packet_queue },
        );
        hosts.iter().for_each(|h| h.spawn_reserved_refresh());
        let shared = Shared { core, counters, opts, state: DhcpState::default(), hosts };
        let shared = Arc::new(shared);
        if let Some(pg) = &opened.postgres {
            let weak = Arc::downgrade(&shared);
            pg.set_index(Box::new(move || weak.upgrade().map(|sh| -> Arc<dyn LeaseIndex<Lease4>> { sh.lease_map() })));
            let on_fail = cfg.daemon.lease_database.sql.as_ref().map(|s| s.on_fail).unwrap_or_default();
            let weak = Arc::downgrade(&shared);
            pg.on_connection(super::db_events(on_fail, shared.opts.exit.clone(), move |lost| {
                if let Some(sh) = weak.upgrade() {
                    sh.state.set_db_connection_lost(lost);
                }
            }));
        }
        if let Some((memstore, journal)) = opened.memfile {
            // Reads and the rewrite after a write failure use the engine's lease map (the map a
            // configuration change installs, hence through the engine slot); weak references,
            // since the store lives inside `shared`.
            let weak = Arc::downgrade(&shared);
            memstore.set_index(Box::new(move || {
                weak.upgrade().map(|sh| -> Arc<dyn LeaseIndex<Lease4>> { sh.lease_map() })
            }));
            let weak = Arc::downgrade(&shared);
            journal.set_snapshot(move || weak.upgrade().map(|sh| sh.lease_map().all_durable()));
            let stats = shared.stats().clone();
            journal.set_observer(move |h| super::publish_store_health(&stats, h, clock::unix_now()));
        }
        Ok(Service4 { shared, ifaces })
    }

    /// The state shared with the packet tasks, for the control channel.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serves until `shutdown` turns true, then flushes the lease journal.
    pub async fn serve(self, shutdown: watch::Receiver<bool>) {
        let work = self.shared.timer_work();
        let eps = self.ifaces.into_iter().map(Arc::new).collect();
        super::run::<V4>(self.shared.clone(), eps, work, shutdown).await;
        self.shared.store().close().await;
    }
}

/// The DHCPv4 side of the [`pipeline`](super::pipeline).
#[derive(Debug)]
pub struct V4;

impl Family for V4 {
    type Service = Shared;
    type Endpoint = Iface;
    type Recv = Udp4Recv;
    type Reply = (Pkt4, Dest4);
    type Change = LeaseChange4;

    // A DHCPv4 message fits an Ethernet frame.
    const BUFFER: usize = 1500;
    const FAMILY: u8 = 4;

    fn fd(ep: &Iface) -> BorrowedFd<'_> {
        match &ep.listener {
            Listener::Raw { raw, .. } => raw.as_fd(),
            Listener::Udp { udp } => udp.as_fd(),
        }
    }

    fn receive(svc: &Shared, ep: &Iface, bufs: &mut [Vec<u8>], out: &mut Vec<Udp4Recv>) -> std::io::Result<()> {
        match &ep.listener {
            Listener::Udp { udp } => udp.recv_batch(bufs, out).map(|_| ()),
            Listener::Raw { raw, .. } => {
                let mut frames = Vec::with_capacity(bufs.len().min(RAW_BATCH));
                let dropped = raw.recv_batch(bufs, &mut frames)?;
                if dropped > 0 {
                    // Frames the socket layer refused (bad checksum, not IPv4/UDP).
                    svc.counters.receive_drop.add(dropped as i64, clock::unix_now());
                }
                out.clear();
                out.extend(frames.iter().map(|r| Udp4Recv {
                    ifindex: r.ifindex,
                    src: SocketAddrV4::new(r.src_ip, r.src_port),
                    dst: r.dst_ip,
                    len: r.len,
                    src_mac: Some(r.src_mac),
                }));
                Ok(())
            }
        }
    }

    fn len(r: &Udp4Recv) -> usize {
        r.len
    }

    fn admit(svc: &Shared, now: u64) -> bool {
        if svc.state.is_disabled(now) {
            // Kea counts what a disabled service receives and drops it.
            svc.counters.received.add(1, now);
            svc.counters.receive_drop.add(1, now);
            return false;
        }
        true
    }

    fn parked_limit(svc: &Shared) -> usize {
        svc.parked_limit()
    }

    fn queue_capacity(svc: &Shared) -> usize {
        svc.queue_capacity()
    }

    fn queue_full(_: &Shared, _: &[u8]) {
        tracing::debug!(target: "kea-dhcp4.dhcp4", "DHCP4_PACKET_QUEUE_FULL multi-threading packet queue is full");
    }

    fn parking_full(svc: &Shared, limit: usize, bytes: &[u8], now: u64) {
        svc.counters.received.add(1, now);
        svc.counters.receive_drop.add(1, now);
        tracing::debug!(target: "kea-dhcp4.hooks", "DHCP4_HOOK_LEASES4_PARKING_LOT_FULL The parked-packet-limit {limit}, has been reached, dropping query: {}", query_label4(bytes));
    }

    fn decide(
        svc: &Shared,
        ep: &Iface,
        batch: &[(&[u8], &Udp4Recv)],
        now: u64,
        rand: &mut dyn FnMut() -> u64,
        out: &mut Vec<Decision<V4>>,
    ) -> Option<CommitFuture> {
        let mut meta = RecvMeta4 {
            ifindex: ep.ifindex,
            ifname: ep.name.clone(),
            iface_addrs: ep.addrs.clone(),
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            dst: Ipv4Addr::UNSPECIFIED,
        };
        // One hold of the engine slot for the batch: a configuration swap waits for it.
        svc.decide(|engine, store| {
            for (bytes, r) in batch {
                meta.src = r.src;
                meta.dst = r.dst;
                let mut tally = Tally::default();
                let (reply, changes) = match engine.decide(engine.leases(), bytes, &meta, now, rand(), &mut tally) {
                    Outcome4::Reply(reply) => (Some((reply.pkt, link_dest(reply.dest, r.src_mac))), reply.changes),
                    Outcome4::Silent(changes) => (None, changes),
                    Outcome4::Drop(_) => (None, Vec::new()),
                };
                out.push(Decision { reply, changes, tally });
            }
            // The batch's rows go to the store as one commit (one write + fdatasync at most).
            let mut rows = out.iter().flat_map(|d| d.changes.iter()).peekable();
            rows.peek()?;
            Some(store.commit(&mut rows))
        })
    }

    fn prefetch(svc: &Shared, batch: &[(&[u8], &Udp4Recv)]) -> Option<BoxFuture<()>> {
        let (mut clients, mut keys) = (Vec::new(), Vec::new());
        for (bytes, _) in batch {
            let Ok(pkt) = Pkt4::decode(bytes) else { continue };
            clients.push(ClientId::HwAddr(pkt.hwaddr().to_vec()));
            clients.extend(pkt.client_id().map(|c| ClientId::ClientId(c.to_vec())));
            keys.extend(pkt.requested_ip());
            keys.extend(Some(pkt.ciaddr).filter(|a| !a.is_unspecified()));
        }
        let hosts = svc.hosts.as_ref().and_then(|h| {
            let engine = svc.engine();
            let ids = batch
                .iter()
                .filter_map(|(bytes, _)| Pkt4::decode(bytes).ok())
                .flat_map(|p| engine.host_identifiers(&p))
                .collect();
            let cfg = engine.config().clone();
            let build: super::hosts::Build<Reservation4> =
                Arc::new(move |subnet, json| crate::config::model::reservation4_from_json(&cfg, subnet, json));
            h.prefetch(ids, clock::unix_now(), build)
        });
        let read = svc.store().prefetch(clients, keys);
        super::hosts::join_reads(read, hosts)
    }

    fn durable(svc: &Shared, changes: &[LeaseChange4], tally: &mut Tally) {
        svc.engine().synced(changes, tally);
    }

    fn roll_back(svc: &Shared, changes: &[LeaseChange4]) {
        svc.engine().roll_back(changes);
    }

    fn transmit(svc: &Shared, ep: &Iface, replies: Vec<(Pkt4, Dest4)>) {
        let now = clock::unix_now();
        match &ep.listener {
            Listener::Udp { udp } => send_udp(svc, ep, udp, &replies, now),
            Listener::Raw { raw, fallback } => send_raw(svc, ep, raw, fallback, &replies, now),
        }
    }
}

/// Sends a batch of replies through a raw socket's listener: link-layer frames to clients
/// without an address in one sendmmsg(2) per 32, the fallback UDP socket otherwise.
fn send_raw(sh: &Shared, iface: &Iface, raw: &RawV4Socket, fallback: &UdpSocket, replies: &[(Pkt4, Dest4)], now: u64) {
    iface.buffers.with(replies.len(), |bufs| {
        let encoded = encode_into(replies, bufs);
        send_raw_encoded(sh, iface, raw, fallback, replies, encoded, now)
    })
}

/// Encodes each reply into its buffer.
fn encode_into<'b>(replies: &[(Pkt4, Dest4)], bufs: &'b mut [Vec<u8>]) -> &'b [Vec<u8>] {
    for ((pkt, _), b) in replies.iter().zip(bufs.iter_mut()) {
        pkt.encode(b);
    }
    bufs
}

fn send_raw_encoded(
    sh: &Shared,
    iface: &Iface,
    raw: &RawV4Socket,
    fallback: &UdpSocket,
    replies: &[(Pkt4, Dest4)],
    encoded: &[Vec<u8>],
    now: u64,
) {
    let port = sh.opts.client_port;
    let src_ip = iface.addrs.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut frames = Vec::with_capacity(replies.len());
    let mut framed = Vec::with_capacity(replies.len());
    for (i, ((pkt, dest), out)) in replies.iter().zip(encoded).enumerate() {
        let (dst_mac, dst_ip) = match *dest {
            // Unicast replies leave from the server port, as Kea's do: stateful firewalls in
            // front of clients (and some relays) only pass replies from port 67.
            Dest4::Relay(to) => {
                let res = fallback.send_to(out, SocketAddrV4::new(*to.ip(), sh.opts.server_port)).map(|_| ());
                sent(sh, iface, pkt, *dest, res, now);
                continue;
            }
            Dest4::Unicast(to) => {
                let res = fallback.send_to(out, SocketAddrV4::new(*to.ip(), port)).map(|_| ());
                sent(sh, iface, pkt, *dest, res, now);
                continue;
            }
            Dest4::LinkUnicast { mac, ip } => (mac, ip),
            Dest4::Broadcast => ([0xff; 6], Ipv4Addr::BROADCAST),
        };
        framed.push(i);
        frames.push(RawOutgoing {
            dst_mac,
            src_ip,
            src_port: sh.opts.server_port,
            dst_ip,
            dst_port: port,
            payload: out,
        });
    }
    let mut results = Vec::with_capacity(frames.len());
    raw.send_batch(&frames, &mut results);
    for (i, res) in framed.into_iter().zip(results) {
        let (pkt, dest) = &replies[i];
        sent(sh, iface, pkt, *dest, res, now);
    }
}

/// Sends a batch of replies through a UDP listener with one sendmmsg(2) per 64 datagrams.
fn send_udp(sh: &Shared, iface: &Iface, udp: &Udp4Socket, replies: &[(Pkt4, Dest4)], now: u64) {
    iface.buffers.with(replies.len(), |bufs| {
        let encoded = encode_into(replies, bufs);
        send_udp_encoded(sh, iface, udp, replies, encoded, now)
    })
}

fn send_udp_encoded(
    sh: &Shared,
    iface: &Iface,
    udp: &Udp4Socket,
    replies: &[(Pkt4, Dest4)],
    encoded: &[Vec<u8>],
    now: u64,
) {
    let port = sh.opts.client_port;
    let msgs: Vec<Outgoing4<'_>> = replies
        .iter()
        .zip(encoded)
        .map(|((_, dest), payload)| {
            let (dst, ifindex) = match dest {
                Dest4::Relay(to) => (SocketAddrV4::new(*to.ip(), sh.opts.server_port), None),
                Dest4::Unicast(to) => (SocketAddrV4::new(*to.ip(), port), None),
                // Without a raw socket a client without an address is reached by broadcast.
                Dest4::Broadcast | Dest4::LinkUnicast { .. } => {
                    (SocketAddrV4::new(Ipv4Addr::BROADCAST, port), Some(iface.ifindex))
                }
            };
            Outgoing4 { payload, dst, ifindex }
        })
        .collect();
    let mut results = Vec::with_capacity(msgs.len());
    udp.send_batch(&msgs, &mut results);
    for ((pkt, dest), res) in replies.iter().zip(results) {
        sent(sh, iface, pkt, *dest, res, now);
    }
}

/// Where a reply goes at layer 2 on a packet socket: a reply to ciaddr goes to the Ethernet
/// source of the request (Kea's remote hardware address), so it does not depend on the
/// kernel's ARP table; anything else as the engine decided.
fn link_dest(dest: Dest4, src_mac: Option<[u8; 6]>) -> Dest4 {
    match (dest, src_mac) {
        (Dest4::Unicast(to), Some(mac)) => Dest4::LinkUnicast { mac, ip: *to.ip() },
        (d, _) => d,
    }
}

/// A dropped query as Kea's parking-lot message names it: the decoded packet's label, or its
/// transaction id when it does not decode.
fn query_label4(bytes: &[u8]) -> String {
    match Pkt4::decode(bytes) {
        Ok(p) => p.label(),
        Err(_) => format!("tid={:#x}", bytes.get(4..8).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
    }
}

/// Counts a sent reply under Kea's statistics and logs it, or logs why it was not sent.
fn sent(sh: &Shared, iface: &Iface, pkt: &Pkt4, dest: Dest4, res: std::io::Result<()>, now: u64) {
    let port = sh.opts.client_port;
    match res {
        Ok(()) => {
            let c = &sh.counters;
            c.sent.add(1, now);
            let stat = match pkt.message_type() {
                Some(MessageType::Offer) => &c.offer_sent,
                Some(MessageType::Ack) => &c.ack_sent,
                Some(MessageType::Nak) => &c.nak_sent,
                _ => &c.other_sent,
            };
            stat.add(1, now);
            if tracing::enabled!(target: "kea-dhcp4.packets", tracing::Level::DEBUG) {
                let src_ip = iface.addrs.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
                let (name, num) = pkt.message_type().map_or(("UNKNOWN", 0), |m| (m.name(), m.as_u8()));
                let (to, to_port) = match dest {
                    Dest4::Relay(a) | Dest4::Unicast(a) => (*a.ip(), a.port()),
                    Dest4::Broadcast => (Ipv4Addr::BROADCAST, port),
                    Dest4::LinkUnicast { ip, .. } => (ip, port),
                };
                tracing::debug!(target: "kea-dhcp4.packets", "DHCP4_PACKET_SEND {}: trying to send packet {name} (type {num}) from {src_ip}:{} to {to}:{to_port} on interface {}", pkt.label(), sh.opts.server_port, iface.name);
            }
        }
        Err(e) => {
            error!(target: "kea-dhcp4.packets", "DHCP4_PACKET_SEND_FAIL {}: failed to send DHCPv4 packet: {e}", pkt.label())
        }
    }
}
