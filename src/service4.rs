//! The DHCPv4 service shell: opens the lease file and the sockets, runs the engine on every
//! received packet, makes lease changes durable before replying, and runs the reclamation and
//! lease-file-cleanup timers (Kea ARM 8.2.2, 8.2.4, 8.2.14).
//!
//! Per socket one task receives and decides in arrival order, so the rows of one client reach
//! the journal in the order they were decided; the wait for durability and the send happen in
//! a spawned task, so the next packet is decided while the previous batch is being synced.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::clock;
use crate::config::model::Dhcp4;
use crate::engine::counters::Global4;
use crate::engine::v4::{Dest4, Engine4, Outcome4, Pending, RecvMeta4};
use crate::lease::alloc::LeaseMap4;
use crate::lease::memfile::{Memfile4, MemfileConfig};
use crate::lease::store::LeaseStore4;
use crate::net::raw::RawV4Socket;
use crate::net::udp4::Udp4Socket;
use crate::stats::Stats;
use crate::wire::v4::{MessageType, Pkt4, CLIENT_PORT, SERVER_PORT};

/// Errors that stop the DHCPv4 service from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The lease file could not be opened or loaded.
    #[error("lease database: {0}")]
    Leases(#[from] crate::lease::memfile::MemfileError),
    /// A socket could not be opened.
    #[error("socket on {iface}: {err}")]
    Socket {
        /// Interface name.
        iface: String,
        /// The cause.
        err: std::io::Error,
    },
    /// The configuration names a lease backend this build cannot open yet.
    #[error("lease database type {0} is not available in this build")]
    Backend(String),
    /// The DHCPv6 server identifier cannot be built or stored (Kea ARM 9.2.31).
    #[error("unable to configure server identifier: {0}")]
    ServerId(String),
}

/// Ports and paths from the command line and environment.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// `-p`: the port the server listens on (67).
    pub server_port: u16,
    /// `-P`: the port replies go to (68).
    pub client_port: u16,
    /// `-p` of kea-dhcp6: the DHCPv6 server port (547).
    pub v6_server_port: u16,
    /// Kea's data directory (`KEA_DHCP_DATA_DIR`, default /var/lib/kea) for relative lease files
    /// and the DHCPv6 server identifier file.
    pub data_dir: PathBuf,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            server_port: SERVER_PORT,
            client_port: CLIENT_PORT,
            v6_server_port: crate::service6::SERVER_PORT,
            data_dir: PathBuf::from("/var/lib/kea"),
        }
    }
}

/// The lease file a configuration uses: `name`, relative names under the data directory, and
/// Kea's default `kea-leases4.csv` when none is named.
pub fn lease_file(cfg: &Dhcp4, opts: &ServiceOptions) -> PathBuf {
    match &cfg.lease_database.name {
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

struct Iface {
    name: String,
    ifindex: u32,
    addrs: Vec<Ipv4Addr>,
    listener: Listener,
}

/// What the packet tasks, the timers and the control channel share.
pub struct Shared {
    /// Swapped whole by a configuration change; a packet is decided under the read lock, so
    /// a swap waits for decisions in flight and the next packet sees the new configuration.
    engine: RwLock<Arc<Engine4>>,
    store: Arc<dyn LeaseStore4>,
    stats: Arc<Stats>,
    /// The packet counters the socket side keeps (received while disabled, sent), resolved
    /// once: their names do not depend on the configuration.
    counters: Global4,
    opts: ServiceOptions,
    state: DhcpState,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared4").finish_non_exhaustive()
    }
}

impl Shared {
    /// The engine serving now.
    pub fn engine(&self) -> Arc<Engine4> {
        self.engine.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lease store.
    pub fn store(&self) -> &Arc<dyn LeaseStore4> {
        &self.store
    }

    /// Whether the service is enabled (`dhcp-disable` / `dhcp-enable`).
    pub fn state(&self) -> &DhcpState {
        &self.state
    }

    /// Applies a new configuration without closing sockets or the lease file: the leases move
    /// to a lease map built for the new subnets (leases of removed subnets are kept aside) and
    /// the next packet is decided by the new engine (Kea ARM 8.8 `config-set`).
    pub fn reconfigure(&self, cfg: Arc<Dhcp4>, now: u64) {
        let mut slot = self.engine.write().unwrap_or_else(|e| e.into_inner());
        let layout = |c: &Dhcp4| -> Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> {
            c.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect()
        };
        // Same subnets and pools (reservation-add, option or lifetime changes): the lease map
        // is shared as it is, with its offers, cursors and durability markers.
        let map = if layout(slot.config()) == layout(&cfg) {
            slot.leases().clone()
        } else {
            let map = new_map(&cfg);
            map.load(slot.leases().all());
            map.carry_from(slot.leases());
            Arc::new(map)
        };
        forget_removed_subnets(
            &self.stats,
            slot.config().subnets.iter().map(|s| s.id),
            &cfg.subnets.iter().map(|s| s.id).collect::<Vec<_>>(),
        );
        *slot = Arc::new(Engine4::new(cfg, map, self.stats.clone(), now).with_store(self.store.clone()));
        drop(slot);
        // The old engine's handles are gone unless a decision still holds it; statistics of
        // removed subnets that nothing counts in any more leave the map.
        self.stats.sweep();
    }

    /// Runs a lease change of the control channel on the current engine, under the engine
    /// lock, so a configuration swap never copies the lease map halfway through it.
    pub fn admin<R>(&self, f: impl FnOnce(&Engine4) -> R) -> R {
        let engine = self.engine.read().unwrap_or_else(|e| e.into_inner());
        f(&engine)
    }
}

/// Sets kakapo's lease store statistics (names Kea does not use, so nothing collides):
/// `lease-store-healthy` 1 while commits are made durable, 0 while they are refused after a
/// write failure; `lease-store-failures` counts the failures since start-up. They reach
/// `statistic-get-all` and `/metrics` like Kea's (Kea ARM 8.9 "Statistics").
pub fn publish_store_health(stats: &Stats, health: &crate::lease::store::StoreHealth, now: u64) {
    stats.set("lease-store-healthy", i64::from(health.failure.is_none()), now);
    stats.set("lease-store-failures", i64::try_from(health.failures).unwrap_or(i64::MAX), now);
}

/// Drops the `subnet[ID].*` statistics of subnets a new configuration no longer has, as Kea
/// does on reconfiguration.
pub fn forget_removed_subnets(stats: &Stats, old: impl Iterator<Item = u32>, keep: &[u32]) {
    for id in old.filter(|id| !keep.contains(id)) {
        let prefix = format!("subnet[{id}].");
        for (name, _) in stats.all().into_iter().filter(|(n, _)| n.starts_with(&prefix)) {
            stats.remove(&name);
        }
    }
}

/// Whether a new configuration can be applied to running sockets and lease file, or needs the
/// service reopened (interfaces, socket type, lease database or the reclamation timers changed).
pub fn can_reconfigure(old: &Dhcp4, new: &Dhcp4) -> bool {
    old.interfaces == new.interfaces
        && old.raw_sockets == new.raw_sockets
        && old.lease_database == new.lease_database
        && old.expired == new.expired
}

fn new_map(cfg: &Dhcp4) -> LeaseMap4 {
    let pools: Vec<(u32, Vec<(Ipv4Addr, Ipv4Addr)>)> =
        cfg.subnets.iter().map(|s| (s.id, s.pools.iter().map(|p| (p.first, p.last)).collect())).collect();
    LeaseMap4::new(pools.iter().map(|(id, p)| (*id, p.as_slice())))
}

/// `dhcp-disable` / `dhcp-enable` state of one service (Kea ARM 8.8.3): which origins hold it
/// disabled, each with its own `max-period` deadline. A disabled service drops what it receives.
#[derive(Debug, Default)]
pub struct DhcpState {
    disabled: std::sync::atomic::AtomicBool,
    /// Origin (None: the user) to its re-enable deadline (None: until enabled).
    inner: std::sync::Mutex<std::collections::BTreeMap<Option<i64>, Option<u64>>>,
}

/// Who holds the service disabled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// Disabled by a user command (`origin: "user"`).
    pub by_user: bool,
    /// Disabled by remote (HA partner) commands, by origin id.
    pub by_remote: std::collections::BTreeSet<i64>,
}

impl DhcpState {
    fn locked(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Option<i64>, Option<u64>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Disables the service for `origin` (None: the user), optionally for `max_period` seconds.
    pub fn disable(&self, origin: Option<i64>, max_period: Option<u64>, now: u64) {
        self.locked().insert(origin, max_period.map(|p| now.saturating_add(p)));
        self.disabled.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Enables the service for `origin`; it serves again once no origin holds it disabled.
    pub fn enable(&self, origin: Option<i64>) {
        let mut g = self.locked();
        g.remove(&origin);
        self.disabled.store(!g.is_empty(), std::sync::atomic::Ordering::Release);
    }

    /// Drops the holds whose `max-period` has lapsed.
    fn expire(&self, g: &mut std::collections::BTreeMap<Option<i64>, Option<u64>>, now: u64) {
        g.retain(|_, until| until.is_none_or(|u| now < u));
        self.disabled.store(!g.is_empty(), std::sync::atomic::Ordering::Release);
    }

    /// True when packets must be dropped at `now`.
    pub fn is_disabled(&self, now: u64) -> bool {
        if !self.disabled.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        let mut g = self.locked();
        self.expire(&mut g, now);
        !g.is_empty()
    }

    /// Who holds the service disabled at `now`.
    pub fn snapshot(&self, now: u64) -> Disabled {
        let mut g = self.locked();
        self.expire(&mut g, now);
        Disabled { by_user: g.contains_key(&None), by_remote: g.keys().flatten().copied().collect() }
    }
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

fn open_iface(name: &str, addrs: Vec<Ipv4Addr>, raw: bool, port: u16) -> Result<Iface, ServiceError> {
    let err = |e: std::io::Error| ServiceError::Socket { iface: name.to_string(), err: e };
    let ifindex = nix::net::if_::if_nametoindex(name).map_err(|e| err(std::io::Error::from(e)))?;
    let listener = if raw {
        let raw = RawV4Socket::open(name, port).map_err(err)?;
        // The raw socket receives everything; the fallback UDP socket on the server port keeps
        // the kernel from answering port-unreachable and sends to relays and to clients that
        // have an address (the kernel resolves their MAC).
        let fallback = crate::net::raw::fallback_udp(name, port).map_err(err)?;
        Listener::Raw { raw, fallback }
    } else {
        Listener::Udp {
            udp: Udp4Socket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port), Some(name)).map_err(err)?,
        }
    };
    Ok(Iface { name: name.to_string(), ifindex, addrs, listener })
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
        if cfg.lease_database.kind != "memfile" {
            return Err(ServiceError::Backend(cfg.lease_database.kind.clone()));
        }
        let path = lease_file(&cfg, &opts);
        let mcfg = MemfileConfig {
            path: path.clone(),
            persist: cfg.lease_database.persist,
            lfc_interval: cfg.lease_database.lfc_interval,
            max_row_errors: cfg.lease_database.params.get("max-row-errors").and_then(|v| v.as_u64()).unwrap_or(0)
                as u32,
            pool_id_column: false,
        };
        let (store, loaded) = Memfile4::open(mcfg)?;
        let map = new_map(&cfg);
        let count = loaded.len();
        let orphans = map.load(loaded);
        info!(target: "kea-dhcp4.dhcpsrv", "DHCPSRV_MEMFILE_LEASE_FILE_LOAD loading leases from file {} ({count} leases, {} for unknown subnets)", path.display(), orphans.len());
        let memfile = Arc::new(store);
        let store: Arc<dyn LeaseStore4> = memfile.clone();
        let engine =
            Engine4::new(cfg.clone(), Arc::new(map), stats.clone(), clock::unix_now()).with_store(store.clone());
        let mut ifaces = Vec::new();
        for (name, addrs) in resolve_interfaces(&cfg.interfaces) {
            let i = open_iface(&name, addrs, cfg.raw_sockets, opts.server_port)?;
            info!(target: "kea-dhcp4.dhcp4", "DHCP4_OPEN_SOCKET opened {} socket on interface {name}, port {}", if cfg.raw_sockets { "raw" } else { "UDP" }, opts.server_port);
            ifaces.push(i);
        }
        if ifaces.is_empty() {
            warn!(target: "kea-dhcp4.dhcp4", "DHCP4_NO_SOCKETS_OPEN no interface configured to listen to DHCP traffic");
        }
        let counters = Global4::resolve(&stats, clock::unix_now());
        let shared =
            Shared { engine: RwLock::new(Arc::new(engine)), store, stats, counters, opts, state: DhcpState::default() };
        let shared = Arc::new(shared);
        // After a write failure the lease file is rewritten from the engine's lease map (the
        // map a configuration change installs, hence through the engine slot); a weak
        // reference, since the store lives inside `shared`.
        let weak = Arc::downgrade(&shared);
        memfile.set_snapshot(move || weak.upgrade().map(|sh| sh.engine().leases().all()));
        let stats = shared.stats.clone();
        memfile.set_observer(move |h| crate::service4::publish_store_health(&stats, h, clock::unix_now()));
        Ok(Service4 { shared, ifaces })
    }

    /// The state shared with the packet tasks, for the control channel.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serves until `shutdown` turns true, then flushes the lease journal.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        for iface in self.ifaces {
            let sh = self.shared.clone();
            tasks.spawn(async move {
                if let Err(e) = serve_iface(sh, Arc::new(iface)).await {
                    error!(target: "kea-dhcp4.dhcp4", "DHCP4_PACKET_RECEIVE_FAIL receive loop ended: {e}");
                }
            });
        }
        let sh = self.shared.clone();
        tasks.spawn(async move { timers(sh).await });
        let _ = shutdown.wait_for(|v| *v).await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        self.shared.store.close();
    }
}

async fn timers(sh: Arc<Shared>) {
    let cfg = sh.engine().config().clone();
    let persist = cfg.lease_database.persist;
    let reclaim = || sh.admin(|e| e.reclaim(clock::unix_now())).1.into_iter().map(|Pending(p)| p).collect();
    run_timers(4, cfg.expired.reclaim_timer_wait_time, cfg.lease_database.lfc_interval, persist, reclaim, || {
        sh.store.start_maintenance()
    })
    .await;
}

/// The reclamation and lease-file-cleanup timers of one service (Kea ARM 8.2.14 / 9.2.12
/// `reclaim-timer-wait-time`, 8.2.2 `lfc-interval`): `reclaim` queues the rows of one run and
/// returns their commits, which are awaited before the next tick; `lfc` starts a cleanup.
pub(crate) async fn run_timers(
    family: u8,
    reclaim_secs: u32,
    lfc_secs: u32,
    persist: bool,
    reclaim: impl Fn() -> Vec<crate::lease::store::CommitFuture>,
    lfc: impl Fn() -> Result<(), crate::lease::store::StoreError>,
) {
    macro_rules! log {
        ($lvl:ident, $($arg:tt)*) => {
            if family == 4 {
                $lvl!(target: "kea-dhcp4.dhcpsrv", $($arg)*)
            } else {
                $lvl!(target: "kea-dhcp6.dhcpsrv", $($arg)*)
            }
        };
    }
    let mut reclaim_tick = tokio::time::interval(Duration::from_secs(u64::from(reclaim_secs.max(1))));
    let mut lfc_tick = tokio::time::interval(Duration::from_secs(u64::from(lfc_secs.max(1))));
    reclaim_tick.tick().await;
    lfc_tick.tick().await;
    loop {
        tokio::select! {
            _ = reclaim_tick.tick(), if reclaim_secs > 0 => {
                // Rows were queued per subnet under its lock; wait for them here.
                for p in reclaim() {
                    if let Err(e) = p.await {
                        if family == 4 {
                            error!(target: "kea-dhcp4.alloc-engine", "ALLOC_ENGINE_V4_LEASE_RECLAMATION_FAILED failed to reclaim the lease: {e}");
                        } else {
                            error!(target: "kea-dhcp6.alloc-engine", "ALLOC_ENGINE_V6_LEASE_RECLAMATION_FAILED failed to reclaim the lease: {e}");
                        }
                    }
                }
            }
            _ = lfc_tick.tick(), if lfc_secs > 0 && persist => {
                match lfc() {
                    Ok(()) => log!(info, "DHCPSRV_MEMFILE_LFC_START starting Lease File Cleanup"),
                    Err(e) => log!(error, "DHCPSRV_MEMFILE_LFC_SPAWN_FAIL lease file cleanup failed to start: {e}"),
                }
            }
        }
    }
}

async fn serve_iface(sh: Arc<Shared>, iface: Arc<Iface>) -> std::io::Result<()> {
    let fd = match &iface.listener {
        Listener::Raw { raw, .. } => raw.as_fd(),
        Listener::Udp { udp } => udp.as_fd(),
    };
    let afd = crate::net::register(fd)?;
    // One buffer per datagram of a recvmmsg batch; a DHCPv4 message fits an Ethernet frame.
    let mut bufs: Vec<Vec<u8>> = (0..crate::net::udp4::MAX_BATCH).map(|_| vec![0u8; 1500]).collect();
    let mut recvd = Vec::with_capacity(crate::net::udp4::MAX_BATCH);
    let mut seed = clock::unix_now() ^ u64::from(iface.ifindex).rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15;
    // Built once: per packet only the addresses change, so nothing is allocated for it.
    let mut meta = RecvMeta4 {
        ifindex: iface.ifindex,
        ifname: iface.name.clone(),
        iface_addrs: iface.addrs.clone(),
        src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
        dst: Ipv4Addr::UNSPECIFIED,
    };
    let mut handle = |len: usize, buf: &[u8], src: SocketAddrV4, dst: Ipv4Addr, meta: &mut RecvMeta4| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        meta.src = src;
        meta.dst = dst;
        let now = clock::unix_now();
        if sh.state.is_disabled(now) {
            // Kea counts what a disabled service receives and drops it.
            sh.counters.received.add(1, now);
            sh.counters.receive_drop.add(1, now);
            return;
        }
        let engine = sh.engine.read().unwrap_or_else(|e| e.into_inner());
        let outcome = engine.handle(&buf[..len], meta, now, seed);
        drop(engine);
        dispatch(&sh, &iface, outcome);
    };
    loop {
        let mut guard = afd.readable().await?;
        loop {
            match &iface.listener {
                Listener::Raw { raw, .. } => match raw.recv(&mut bufs[0]) {
                    Ok(Some(r)) => {
                        let buf = std::mem::take(&mut bufs[0]);
                        handle(r.len, &buf, SocketAddrV4::new(r.src_ip, r.src_port), r.dst_ip, &mut meta);
                        bufs[0] = buf;
                    }
                    // A frame the socket layer refused (bad checksum, not IPv4/UDP).
                    Ok(None) => sh.counters.receive_drop.add(1, clock::unix_now()),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) => return Err(e),
                },
                Listener::Udp { udp } => match udp.recv_batch(&mut bufs, &mut recvd) {
                    Ok(n) => {
                        for (i, r) in recvd.iter().take(n).enumerate() {
                            handle(r.len, &bufs[i], r.src, r.dst, &mut meta);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) => return Err(e),
                },
            }
        }
    }
}

/// Commits the outcome's lease changes, then (once durable) sends the reply.
fn dispatch(sh: &Arc<Shared>, iface: &Arc<Iface>, outcome: Outcome4) {
    // The engine queued the rows while it held the subnet lock; only the wait happens here.
    let (reply, durable, changes) = match outcome {
        Outcome4::Reply(r) => (Some((r.pkt, r.dest)), r.durable, r.changes),
        Outcome4::Silent(changes, durable) => (None, durable, changes),
        Outcome4::Drop(_) => return,
    };
    let Some(Pending(durable)) = durable else {
        // Nothing to make durable (OFFER, INFORM, NAK): send at once, no task needed.
        if let Some((pkt, dest)) = reply {
            send(sh, iface, &pkt, dest);
        }
        return;
    };
    let sh = sh.clone();
    let iface = iface.clone();
    tokio::spawn(async move {
        if let Err(e) = durable.await {
            // Not durable: not acknowledged (and never served from cache). The client retries.
            // The store logs the failure itself once; per packet it is debug, so a full disk
            // does not also flood the logs (which may share that disk).
            tracing::debug!(target: "kea-dhcp4.alloc-engine", "ALLOC_ENGINE_V4_ALLOC_ERROR lease not written, reply withheld: error during attempt to allocate an IPv4 address: {e}");
            return;
        }
        sh.engine().synced(&changes);
        if let Some((pkt, dest)) = reply {
            send(&sh, &iface, &pkt, dest);
        }
    });
}

fn send(sh: &Shared, iface: &Iface, pkt: &Pkt4, dest: Dest4) {
    let mut out = Vec::with_capacity(576);
    pkt.encode(&mut out);
    let port = sh.opts.client_port;
    let src_ip = iface.addrs.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let res = match (&iface.listener, dest) {
        // Unicast replies leave from the server port, as Kea's do: stateful firewalls in front
        // of clients (and some relays) only pass replies from port 67.
        (Listener::Raw { fallback, .. }, Dest4::Relay(to)) => {
            fallback.send_to(&out, SocketAddrV4::new(*to.ip(), sh.opts.server_port)).map(|_| ())
        }
        (Listener::Raw { fallback, .. }, Dest4::Unicast(to)) => {
            fallback.send_to(&out, SocketAddrV4::new(*to.ip(), port)).map(|_| ())
        }
        (Listener::Udp { udp }, Dest4::Relay(to)) => {
            udp.send(&out, SocketAddrV4::new(*to.ip(), sh.opts.server_port), None, None).map(|_| ())
        }
        (Listener::Udp { udp }, Dest4::Unicast(to)) => {
            udp.send(&out, SocketAddrV4::new(*to.ip(), port), None, None).map(|_| ())
        }
        (Listener::Raw { raw, .. }, Dest4::LinkUnicast { mac, ip }) => {
            raw.send(mac, src_ip, sh.opts.server_port, ip, port, &out)
        }
        (Listener::Raw { raw, .. }, Dest4::Broadcast) => {
            raw.send([0xff; 6], src_ip, sh.opts.server_port, Ipv4Addr::BROADCAST, port, &out)
        }
        (Listener::Udp { udp }, Dest4::Broadcast | Dest4::LinkUnicast { .. }) => {
            udp.send(&out, SocketAddrV4::new(Ipv4Addr::BROADCAST, port), None, Some(iface.ifindex)).map(|_| ())
        }
    };
    let now = clock::unix_now();
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
            let (name, num) = pkt.message_type().map_or(("UNKNOWN", 0), |m| (m.name(), m.as_u8()));
            let to = match dest {
                Dest4::Relay(a) | Dest4::Unicast(a) => a.to_string(),
                Dest4::Broadcast => format!("255.255.255.255:{port}"),
                Dest4::LinkUnicast { ip, .. } => format!("{ip}:{port}"),
            };
            tracing::debug!(target: "kea-dhcp4.packets", "DHCP4_PACKET_SEND tid={:#x}: trying to send packet {name} (type {num}) from {src_ip}:{} to {to} on interface {}", pkt.xid, sh.opts.server_port, iface.name);
        }
        Err(e) => error!(target: "kea-dhcp4.packets", "DHCP4_PACKET_SEND_FAIL failed to send DHCPv4 packet: {e}"),
    }
}
