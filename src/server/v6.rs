//! The DHCPv6 service: opens the lease file, builds (or reads back) the server DUID, binds UDP
//! port 547 on every configured interface joined to ff02::1:2, holds the engine a
//! configuration change swaps, and is the DHCPv6 side of the generic packet pipeline (Kea ARM
//! 9.2.2, 9.2.4, 9.2.12, 9.2.31).

use crate::lease::store::ClientId;
use crate::server::pipeline::BoxFuture;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::core::{Core, Limits, ServedEngine};
use super::hosts::HostSource;
use super::pipeline::{Decision, Family};
use super::timers::TimerWork;
use super::{DhcpState, ServiceError, ServiceOptions};
use crate::clock;
use crate::config::model::{Dhcp6, Reservation6};
use crate::engine::counters::Global6;
use crate::engine::server_id::{self, ServerIdError, SERVER_ID_FILE};
use crate::engine::v6::{Engine6, Outcome6, RecvMeta6, Reply6};
use crate::lease::alloc6::LeaseMap6;
use crate::lease::memfile::LeaseIndex;
use crate::lease::store::CommitFuture;
use crate::lease::Lease6;
use crate::lease::LeaseChange6;
use crate::net::udp6::{Udp6Recv, Udp6Socket};
use crate::stats::Stats;
use crate::stats::Tally;
use crate::wire::v6::MessageType;

/// The DHCPv6 server port (RFC 8415 section 7.2).
pub const SERVER_PORT: u16 = 547;
/// The DHCPv6 client port (RFC 8415 section 7.2).
pub const CLIENT_PORT: u16 = 546;

/// The lease file a configuration uses: `name`, relative names under the data directory, and
/// Kea's default `kea-leases6.csv` when none is named.
pub fn lease_file(cfg: &Dhcp6, opts: &ServiceOptions) -> PathBuf {
    match &cfg.daemon.lease_database.name {
        Some(n) if Path::new(n).is_absolute() => PathBuf::from(n),
        Some(n) => opts.data_dir.join(n),
        None => opts.data_dir.join("kea-leases6.csv"),
    }
}

/// Builds the server DUID from `server-id`, the file of an earlier run and the host, and
/// stores it when `persist` is set (Kea ARM 9.2.31). Kea refuses the configuration when the
/// file cannot be written; so does this.
pub fn server_duid(cfg: &Dhcp6, data_dir: &Path) -> Result<Vec<u8>, ServiceError> {
    let sid = &cfg.server_id;
    let path = data_dir.join(SERVER_ID_FILE);
    let stored = if sid.persist {
        crate::safefs::read_regular_file(&path, 4096)
            .ok()
            .and_then(|t| server_id::from_text(&String::from_utf8_lossy(&t)))
    } else {
        None
    };
    let link = crate::net::first_link_layer_address();
    let now = clock::unix_now();
    let duid = server_id::server_duid(sid, stored.as_deref(), link.as_ref().map(|(h, a)| (*h, a.as_slice())), now, now)
        .map_err(|e: ServerIdError| ServiceError::ServerId(e.to_string()))?;
    if sid.persist && stored.as_deref() != Some(duid.as_slice()) {
        let text = server_id::to_text(&duid);
        // Written aside and renamed, so a crash never leaves a half-written identity.
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(data_dir)?;
            crate::safefs::write_atomic(&path, text.as_bytes())
        };
        write().map_err(|e| {
            ServiceError::ServerId(format!("unable to open DUID file {} for writing: {e}", path.display()))
        })?;
    }
    info!(target: "kea-dhcp6.dhcp6", "KAKAPO_USING_SERVERID server is using server-id {} and stores in the file {}", server_id::to_text(&duid), path.display());
    Ok(duid)
}

/// One DHCPv6 listening socket and the interface facts the engine needs.
pub struct Iface {
    name: String,
    ifindex: u32,
    addrs: Vec<Ipv6Addr>,
    sock: Udp6Socket,
    buffers: super::ReplyBuffers,
}

impl Iface {
    fn new(name: &str, ifindex: u32, addrs: &[Ipv6Addr], sock: Udp6Socket) -> Arc<Iface> {
        let (name, addrs, buffers) = (name.to_string(), addrs.to_vec(), Default::default());
        Arc::new(Iface { name, ifindex, addrs, sock, buffers })
    }
}

/// What the packet tasks, the timers and the control channel share: the family-independent
/// core and the DHCPv6 socket side.
pub struct Shared {
    core: Core<Engine6, LeaseMap6>,
    /// The packet counters the socket side keeps, resolved once (as in DHCPv4).
    counters: Global6,
    state: DhcpState,
    server_duid: Vec<u8>,
    /// The hosts databases (Kea ARM 9.2.3), if any.
    hosts: Option<HostSource<Reservation6>>,
}

impl std::ops::Deref for Shared {
    type Target = Core<Engine6, LeaseMap6>;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl ServedEngine for Engine6 {
    type Lease = Lease6;
    const FAMILY: u8 = 6;
    fn timers(&self) -> (crate::config::model::ExpiredLeases, u32, bool) {
        let c = self.config();
        (c.daemon.expired, c.daemon.lease_database.lfc_interval, c.daemon.lease_database.persist)
    }
    fn reclaim(&self, now: u64, tally: &mut Tally, out_of_time: &mut dyn FnMut() -> bool) -> Vec<LeaseChange6> {
        Engine6::reclaim(self, now, tally, out_of_time)
    }
    fn flush_reclaimed(&self, now: u64) -> Vec<LeaseChange6> {
        Engine6::flush_reclaimed(self, now)
    }
    fn synced(&self, changes: &[LeaseChange6], tally: &mut Tally) {
        Engine6::synced(self, changes, tally)
    }
    fn roll_back(&self, changes: &[LeaseChange6]) {
        Engine6::roll_back(self, changes)
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared6").finish_non_exhaustive()
    }
}

impl Shared {
    /// Whether the service is enabled (`dhcp-disable` / `dhcp-enable`).
    pub fn state(&self) -> &DhcpState {
        &self.state
    }

    /// The hosts databases (Kea ARM 9.2.3), if any are configured.
    pub fn hosts(&self) -> Option<&HostSource<Reservation6>> {
        self.hosts.as_ref()
    }

    /// Applies a new configuration to the running sockets and lease file, as the DHCPv4
    /// service does; the server DUID stays the one the service opened with.
    pub fn reconfigure(&self, cfg: Arc<Dhcp6>, now: u64) {
        let layout = |c: &Dhcp6| -> Vec<Layout6> {
            c.subnets
                .iter()
                .map(|s| {
                    let pd = s.pd_pools.iter().map(|p| (p.prefix, p.delegated_len)).collect();
                    (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect(), pd)
                })
                .collect()
        };
        self.swap(Limits { parked: cfg.daemon.parked_packet_limit, queue: cfg.daemon.packet_queue }, |old| {
            let map = if layout(old.config()) == layout(&cfg) {
                old.leases().clone()
            } else {
                let map = LeaseMap6::for_config(&cfg);
                map.load(old.leases().all());
                map.carry_from(old.leases());
                Arc::new(map)
            };
            let keep: Vec<u32> = cfg.subnets.iter().map(|s| s.id).collect();
            super::forget_removed_subnets(self.stats(), old.config().subnets.iter().map(|s| s.id), &keep);
            // Rows are built against the configuration: the new one may build them differently.
            let hosts = self.hosts.as_ref().map(|h| h.cache().clone());
            hosts.iter().for_each(|h| h.clear());
            let engine = Engine6::new(cfg, map.clone(), self.stats().clone(), self.server_duid.clone(), now);
            (engine.with_hosts(hosts).track_durability(), map)
        });
        // Statistics of removed subnets that nothing counts in any more leave the map.
        self.stats().sweep();
    }

    /// The reclamation and cleanup timers of the configuration serving now.
    pub fn timer_work(self: &Arc<Self>) -> TimerWork {
        super::core::timer_work(self)
    }
}

/// One subnet's lease-map layout: id, address pools, prefix pools with delegated length.
type Layout6 = (u32, Vec<(Ipv6Addr, Ipv6Addr)>, Vec<(ipnet::Ipv6Net, u8)>);

/// Whether a new configuration can be applied without reopening sockets, lease file or the
/// server identifier.
pub fn can_reconfigure(old: &Dhcp6, new: &Dhcp6) -> bool {
    old.daemon.interfaces == new.daemon.interfaces
        && old.daemon.lease_database == new.daemon.lease_database
        && old.daemon.hosts_databases == new.daemon.hosts_databases
        && old.daemon.expired == new.daemon.expired
        && old.server_id == new.server_id
        && old.data_directory == new.data_directory
        && old.daemon.packet_threads == new.daemon.packet_threads
}

/// Resolves `interfaces-config.interfaces` ("eth0", "eth0/2001:db8::1", "*") against the host:
/// each interface with its IPv6 addresses and the unicast addresses to listen on.
fn resolve_interfaces(specs: &[String]) -> Vec<(String, Vec<Ipv6Addr>, Vec<Ipv6Addr>)> {
    let host = crate::net::host_interfaces();
    let mut out: Vec<(String, Vec<Ipv6Addr>, Vec<Ipv6Addr>)> = Vec::new();
    for spec in specs {
        let (name, unicast) = match spec.split_once('/') {
            Some((n, a)) => (n, a.parse::<Ipv6Addr>().ok()),
            None => (spec.as_str(), None),
        };
        for h in host.iter().filter(|h| name == "*" && h.name != "lo" || h.name == name) {
            let v6: Vec<Ipv6Addr> = h
                .addresses
                .iter()
                .filter_map(|a| match a {
                    std::net::IpAddr::V6(v) => Some(*v),
                    _ => None,
                })
                .collect();
            match out.iter_mut().find(|(n, _, _)| n == &h.name) {
                Some(e) => e.2.extend(unicast),
                None => out.push((h.name.clone(), v6, unicast.into_iter().collect())),
            }
        }
    }
    out
}

/// An opened DHCPv6 service: lease file loaded, server DUID known, sockets bound.
pub struct Service6 {
    shared: Arc<Shared>,
    ifaces: Vec<Arc<Iface>>,
}

impl std::fmt::Debug for Service6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service6").field("sockets", &self.ifaces.len()).finish()
    }
}

impl Service6 {
    /// Loads the leases, settles the server DUID and opens the sockets.
    pub fn open(cfg: Arc<Dhcp6>, mut opts: ServiceOptions, stats: Arc<Stats>) -> Result<Service6, ServiceError> {
        // Kea 2.x's `data-directory` overrides the compiled-in (or environment) one.
        if let Some(d) = &cfg.data_directory {
            opts.data_dir = PathBuf::from(d);
        }
        let path = lease_file(&cfg, &opts);
        let duid = server_duid(&cfg, &opts.data_dir)?;
        let opened = crate::lease::open6(&cfg.daemon.lease_database, path.clone()).map_err(ServiceError::from)?;
        let (store, loaded) = (opened.store, opened.loaded);
        let map = LeaseMap6::for_config(&cfg);
        let count = loaded.len();
        // A delegated prefix lies outside its subnet's prefix: one of the subnet's pd-pools
        // holds it.
        let in_subnet = |s: &crate::config::model::Subnet6, l: &Lease6| match l.lease_type {
            crate::lease::LeaseType6::Na => s.prefix.trunc().contains(&l.address),
            crate::lease::LeaseType6::Pd => s.pd_pools.iter().any(|p| p.prefix.trunc().contains(&l.address)),
        };
        let subnets = &cfg.subnets;
        let holds = |l: &Lease6, id: u32| subnets.iter().find(|s| s.id == id).map(|s| in_subnet(s, l));
        let home = |l: &Lease6| subnets.iter().find(|s| in_subnet(s, l)).map(|s| s.id);
        let checker =
            crate::lease::sanity::Checker { mode: cfg.daemon.lease_checks, family: 6, holds: &holds, home: &home };
        let orphans = map.load(checker.check(loaded));
        info!(target: "kea-dhcp6.dhcpsrv", "DHCPSRV_MEMFILE_LEASE_FILE_LOAD loading leases from file {} ({count} leases, {} for unknown subnets)", path.display(), orphans.len());
        let map_slot = Arc::new(map);
        let hosts = HostSource::open(&cfg.daemon.hosts_databases, true)?;
        let engine = Engine6::new(cfg.clone(), map_slot.clone(), stats.clone(), duid.clone(), clock::unix_now())
            .with_hosts(hosts.as_ref().map(|h| h.cache().clone()))
            .track_durability();
        let port = opts.v6_server_port;
        let mut ifaces = Vec::new();
        let threads = super::packet_threads(cfg.daemon.packet_threads);
        for (name, addrs, unicast) in resolve_interfaces(&cfg.daemon.interfaces) {
            let err = |e: std::io::Error| ServiceError::Socket { iface: name.clone(), err: e };
            let ifindex = nix::net::if_::if_nametoindex(name.as_str()).map_err(|e| err(e.into()))?;
            let any = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
            for steer in super::shares(threads) {
                let sock = match steer {
                    Some(st) => Udp6Socket::bind_steered(any, &name, true, st),
                    None => Udp6Socket::bind(any, Some(&name), true),
                }
                .map_err(err)?;
                // Bursts from many clients queue rather than drop while a batch is decided.
                let _ = sock.set_recv_buffer_size(4 << 20);
                ifaces.push(Iface::new(&name, ifindex, &addrs, sock));
            }
            info!(target: "kea-dhcp6.dhcp6", "KAKAPO_SOCKET_OPENED UDP socket on interface {name}, port {port}, joined ff02::1:2");
            for u in unicast {
                let sock = Udp6Socket::bind(SocketAddrV6::new(u, port, 0, 0), Some(&name), false).map_err(err)?;
                info!(target: "kea-dhcp6.dhcp6", "KAKAPO_SOCKET_OPENED UDP socket on interface {name}, address {u}, port {port}");
                ifaces.push(Iface::new(&name, ifindex, &addrs, sock));
            }
        }
        if ifaces.is_empty() {
            warn!(target: "kea-dhcp6.dhcp6", "DHCP6_NO_SOCKETS_OPEN no interface configured to listen to DHCP traffic");
        } else {
            info!(target: "kea-dhcp6.dhcp6", "DHCP6_OPEN_SOCKET opening service sockets on port {port}");
        }
        let counters = Global6::resolve(&stats, clock::unix_now());
        let core = Core::new(
            engine,
            map_slot,
            store,
            stats,
            Limits { parked: cfg.daemon.parked_packet_limit, queue: cfg.daemon.packet_queue },
        );
        hosts.iter().for_each(|h| h.spawn_reserved_refresh());
        let shared = Shared { core, counters, state: DhcpState::default(), server_duid: duid, hosts };
        let shared = Arc::new(shared);
        if let Some(pg) = &opened.postgres {
            let weak = Arc::downgrade(&shared);
            pg.set_index(Box::new(move || weak.upgrade().map(|sh| -> Arc<dyn LeaseIndex<Lease6>> { sh.lease_map() })));
            let on_fail = cfg.daemon.lease_database.sql.as_ref().map(|s| s.on_fail).unwrap_or_default();
            let weak = Arc::downgrade(&shared);
            pg.on_connection(super::db_events(on_fail, opts.exit.clone(), move |lost| {
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
                weak.upgrade().map(|sh| -> Arc<dyn LeaseIndex<Lease6>> { sh.lease_map() })
            }));
            let weak = Arc::downgrade(&shared);
            journal.set_snapshot(move || weak.upgrade().map(|sh| sh.lease_map().all_durable()));
            let stats = shared.stats().clone();
            journal.set_observer(move |h| super::publish_store_health(&stats, h, clock::unix_now()));
        }
        Ok(Service6 { shared, ifaces })
    }

    /// The state shared with the packet tasks, for the control channel.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serves until `shutdown` turns true, then flushes the lease journal.
    pub async fn serve(self, shutdown: watch::Receiver<bool>) {
        let work = self.shared.timer_work();
        super::run::<V6>(self.shared.clone(), self.ifaces, work, shutdown).await;
        self.shared.store().close().await;
    }
}

/// The DHCPv6 side of the [`pipeline`](super::pipeline).
#[derive(Debug)]
pub struct V6;

impl Family for V6 {
    type Service = Shared;
    type Endpoint = Iface;
    type Recv = Udp6Recv;
    type Reply = Reply6;
    type Change = LeaseChange6;

    // The largest DHCPv6 message a relay chain can carry fits a 64 KiB datagram; the pages of
    // a buffer only become resident as far as datagrams reach into it.
    const BUFFER: usize = 65_536;
    const FAMILY: u8 = 6;

    fn fd(ep: &Iface) -> BorrowedFd<'_> {
        ep.sock.as_fd()
    }

    fn receive(_svc: &Shared, ep: &Iface, bufs: &mut [Vec<u8>], out: &mut Vec<Udp6Recv>) -> std::io::Result<()> {
        ep.sock.recv_batch(bufs, out).map(|_| ())
    }

    fn len(r: &Udp6Recv) -> usize {
        r.len
    }

    fn admit(svc: &Shared, now: u64) -> bool {
        if svc.state.is_disabled(now) {
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
        tracing::debug!(target: "kea-dhcp6.dhcp6", "DHCP6_PACKET_QUEUE_FULL multi-threading packet queue is full");
    }

    fn parking_full(svc: &Shared, limit: usize, bytes: &[u8], now: u64) {
        svc.counters.received.add(1, now);
        svc.counters.receive_drop.add(1, now);
        tracing::debug!(target: "kea-dhcp6.hooks", "DHCP6_HOOK_LEASES6_PARKING_LOT_FULL The parked-packet-limit {limit}, has been reached, dropping query: {}", query_label6(bytes));
    }

    fn decide(
        svc: &Shared,
        ep: &Iface,
        batch: &[(&[u8], &Udp6Recv)],
        now: u64,
        rand: &mut dyn FnMut() -> u64,
        out: &mut Vec<Decision<V6>>,
    ) -> Option<CommitFuture> {
        let mut meta = RecvMeta6 {
            ifindex: ep.ifindex,
            ifname: ep.name.clone(),
            iface_addrs: ep.addrs.clone(),
            src: SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0),
            dst: Ipv6Addr::UNSPECIFIED,
        };
        // One hold of the engine slot for the batch: a configuration swap waits for it.
        svc.decide(|engine, store| {
            for (bytes, r) in batch {
                meta.src = r.src;
                meta.dst = r.dst;
                let mut tally = Tally::default();
                let (reply, changes) = match engine.decide(engine.leases(), bytes, &meta, now, rand(), &mut tally) {
                    Outcome6::Reply(mut reply) => {
                        let changes = std::mem::take(&mut reply.changes);
                        (Some(reply), changes)
                    }
                    Outcome6::Drop(_) => (None, Vec::new()),
                };
                out.push(Decision { reply, changes, tally });
            }
            // The batch's rows go to the store as one commit (one write + fdatasync at most).
            let mut rows = out.iter().flat_map(|d| d.changes.iter()).peekable();
            rows.peek()?;
            Some(store.commit(&mut rows))
        })
    }

    fn prefetch(svc: &Shared, batch: &[(&[u8], &Udp6Recv)]) -> Option<BoxFuture<()>> {
        let (mut clients, mut keys) = (Vec::new(), Vec::new());
        for (bytes, _) in batch {
            let Ok(d) = crate::wire::v6::decode(bytes) else { continue };
            clients.extend(d.inner.client_id().map(|c| ClientId::Duid(c.to_vec())));
            for na in crate::wire::v6::ia_nas(&d.inner).into_iter().flatten() {
                keys.extend(na.addrs.iter().map(|a| (crate::lease::LeaseType6::Na, a.addr)));
            }
            for pd in crate::wire::v6::ia_pds(&d.inner).into_iter().flatten() {
                keys.extend(pd.prefixes.iter().map(|p| (crate::lease::LeaseType6::Pd, p.prefix)));
            }
        }
        let hosts = svc.hosts.as_ref().and_then(|h| {
            let engine = svc.engine();
            let ids = batch
                .iter()
                .filter_map(|(bytes, meta)| Some((crate::wire::v6::decode(bytes).ok()?, *meta.src.ip())))
                .flat_map(|(d, peer)| engine.message_host_identifiers(&d.inner, &d.relays, peer))
                .collect();
            let cfg = engine.config().clone();
            let build: super::hosts::Build<Reservation6> =
                Arc::new(move |subnet, json| crate::config::model::reservation6_from_json(&cfg, subnet, json));
            h.prefetch(ids, clock::unix_now(), build)
        });
        let read = svc.store().prefetch(clients, keys);
        super::hosts::join_reads(read, hosts)
    }

    fn durable(svc: &Shared, changes: &[LeaseChange6], tally: &mut Tally) {
        svc.engine().synced(changes, tally);
    }

    fn roll_back(svc: &Shared, changes: &[LeaseChange6]) {
        svc.engine().roll_back(changes);
    }

    fn transmit(svc: &Shared, ep: &Iface, replies: Vec<Reply6>) {
        send(svc, ep, &replies, clock::unix_now());
    }
}

/// A dropped query as Kea's parking-lot message names it: the decoded message's label, or its
/// transaction id when it does not decode.
fn query_label6(bytes: &[u8]) -> String {
    match crate::wire::v6::decode(bytes) {
        Ok(d) => d.inner.label(),
        Err(_) => format!("tid={:#x}", bytes.get(1..4).map_or(0, |b| u32::from_be_bytes([0, b[0], b[1], b[2]]))),
    }
}

/// Sends a batch of replies with one sendmmsg(2) per 64 datagrams, out of the receiving
/// interface (link-local destinations need it; the socket is bound to it anyway).
fn send(sh: &Shared, iface: &Iface, replies: &[Reply6], now: u64) {
    iface.buffers.with(replies.len(), |bufs| {
        for (r, b) in replies.iter().zip(bufs.iter_mut()) {
            crate::wire::v6::encode(&r.pkt, &r.relays, b);
        }
        send_encoded(sh, iface, replies, bufs, now)
    })
}

fn send_encoded(sh: &Shared, iface: &Iface, replies: &[Reply6], encoded: &[Vec<u8>], now: u64) {
    let msgs: Vec<(&[u8], SocketAddrV6)> = encoded.iter().zip(replies).map(|(b, r)| (&b[..], r.dest)).collect();
    let mut results = Vec::with_capacity(msgs.len());
    iface.sock.send_batch(&msgs, iface.ifindex, &mut results);
    for (reply, res) in replies.iter().zip(results) {
        match res {
            Ok(()) => {
                let c = &sh.counters;
                c.sent.add(1, now);
                let stat = match reply.pkt.msg_type {
                    MessageType::Advertise => &c.advertise_sent,
                    MessageType::Reply => &c.reply_sent,
                    _ => &c.other_sent,
                };
                stat.add(1, now);
                if tracing::enabled!(target: "kea-dhcp6.packets", tracing::Level::DEBUG) {
                    let src = iface.addrs.first().copied().unwrap_or(Ipv6Addr::UNSPECIFIED);
                    let (pkt, to) = (&reply.pkt, reply.dest);
                    tracing::debug!(target: "kea-dhcp6.packets", "DHCP6_PACKET_SEND {}: trying to send packet {} (type {}) from [{src}]:{} to [{}]:{} on interface {}", pkt.label(), pkt.msg_type.name(), pkt.msg_type.as_u8(), crate::wire::v6::SERVER_PORT, to.ip(), to.port(), iface.name);
                }
            }
            Err(e) => {
                error!(target: "kea-dhcp6.packets", "DHCP6_PACKET_SEND_FAIL failed to send DHCPv6 packet: {e} (to {})", reply.dest)
            }
        }
    }
}
