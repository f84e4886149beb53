//! The lease store conformance suite (design.md "lease"): what every backend behind
//! `LeaseStore<L>` must do, for Lease4 and Lease6 alike. memfile and PostgreSQL (on a
//! database Debian's kea-admin initialised) run the same `suite`.

mod common;

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use kakapo::lease::alloc::LeaseMap4;
use kakapo::lease::alloc6::LeaseMap6;
use kakapo::lease::memfile::{LeaseIndex, Memfile4, Memfile6, MemfileConfig, MemfileStore};
use kakapo::lease::store::{ClientId, LeaseRecord, LeaseStore};
use kakapo::lease::{Change, Lease4, Lease6, LeaseState, LeaseType6};

/// Sample leases of one family.
trait Sample: LeaseRecord {
    /// Lease `n` of subnet `subnet` (1 or 2), for client `n % 3`.
    fn sample(n: u32, subnet: u32) -> Self;
    /// The identifier of client `c`.
    fn client(c: u32) -> ClientId;
    /// The same lease, renewed at `cltt`.
    fn renewed(&self, cltt: u64) -> Self;
}

const T0: u64 = 1_800_000_000;

impl Sample for Lease4 {
    fn sample(n: u32, subnet: u32) -> Lease4 {
        let net = if subnet == 1 { [192, 0, 2] } else { [198, 51, 100] };
        Lease4 {
            address: Ipv4Addr::new(net[0], net[1], net[2], 10 + n as u8),
            hwaddr: vec![2, 0, 0, 0, 0, (n % 3) as u8],
            client_id: Some(vec![1, 2, 0, 0, 0, 0, (n % 3) as u8]),
            valid_lifetime: 3600,
            cltt: T0,
            subnet_id: subnet,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: format!("host{n}.example.org"),
            state: LeaseState::Default,
            user_context: None,
        }
    }
    fn client(c: u32) -> ClientId {
        ClientId::HwAddr(vec![2, 0, 0, 0, 0, c as u8])
    }
    fn renewed(&self, cltt: u64) -> Lease4 {
        Lease4 { cltt, ..self.clone() }
    }
}

impl Sample for Lease6 {
    fn sample(n: u32, subnet: u32) -> Lease6 {
        let pd = n % 4 == 3;
        let base: u128 = if subnet == 1 { 0x2001_0db8_0001 << 80 } else { 0x2001_0db8_0002 << 80 };
        let address = if pd {
            Ipv6Addr::from(base | (0x8000 + u128::from(n)) << 64)
        } else {
            Ipv6Addr::from(base | (0x10 + u128::from(n)))
        };
        Lease6 {
            address,
            prefix_len: if pd { 64 } else { 128 },
            lease_type: if pd { LeaseType6::Pd } else { LeaseType6::Na },
            duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, (n % 3) as u8],
            iaid: n,
            valid_lifetime: 4000,
            preferred_lifetime: 3000,
            cltt: T0,
            subnet_id: subnet,
            pool_id: 0,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            hwaddr: Vec::new(),
            hwtype: 0,
            hwaddr_source: 0,
            state: LeaseState::Default,
            user_context: None,
        }
    }
    fn client(c: u32) -> ClientId {
        ClientId::Duid(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, c as u8])
    }
    fn renewed(&self, cltt: u64) -> Lease6 {
        Lease6 { cltt, ..self.clone() }
    }
}

/// A backend under test: opens (or reopens) the store kept at `dir`.
trait Backend<L: LeaseRecord> {
    fn open(&self, dir: &Path) -> Arc<dyn LeaseStore<L>>;
    /// Whether a read made while a commit is in flight must still see the old lease (a store
    /// whose reads come from its own index); a database may already show the new one, once
    /// it is durable there.
    fn reads_wait_for_settle(&self) -> bool {
        true
    }
}

/// Commits the changes and reports the outcome back, as the server does.
async fn commit<L: LeaseRecord>(store: &dyn LeaseStore<L>, changes: Vec<Change<L>>) -> bool {
    let durable = store.commit(&mut changes.iter()).await.is_ok();
    store.settle(&changes, durable);
    durable
}

async fn all<L: LeaseRecord>(store: &dyn LeaseStore<L>) -> Vec<L> {
    store.page(None, None, usize::MAX).await.expect("page")
}

/// Every requirement, in order, on a fresh store at `dir`.
async fn suite<L: Sample>(backend: &dyn Backend<L>, dir: &Path) {
    let store = backend.open(dir);
    // Empty.
    assert_eq!(store.get(L::sample(0, 1).key()).await.unwrap(), None);
    assert!(all(&*store).await.is_empty());

    // Commit, then read by key, by client, by page.
    let leases: Vec<L> = (0..6).map(|n| L::sample(n, 1 + n % 2)).collect();
    assert!(commit(&*store, leases.iter().cloned().map(|l| Change::Upsert(l, None)).collect()).await);
    for l in &leases {
        assert_eq!(store.get(l.key()).await.unwrap().as_ref(), Some(l));
    }
    let mut sorted = leases.clone();
    sorted.sort_by_key(|l| l.key());
    assert_eq!(all(&*store).await, sorted, "all leases, by ascending key");
    let first = store.page(None, None, 2).await.unwrap();
    assert_eq!(first, sorted[..2].to_vec());
    let next = store.page(None, Some(first[1].key()), 2).await.unwrap();
    assert_eq!(next, sorted[2..4].to_vec(), "a page continues after the key given");
    let s2 = store.page(Some(2), None, usize::MAX).await.unwrap();
    assert!(!s2.is_empty() && s2.iter().all(|l| l.subnet_id() == 2));
    let mine = store.by_client(&L::client(1)).await.unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|l| l.belongs_to(&L::client(1))));
    assert_eq!(mine.len(), leases.iter().filter(|l| l.belongs_to(&L::client(1))).count());

    // Update and delete in one commit, in order.
    let renewed = leases[0].renewed(T0 + 60);
    let gone = leases[1].clone();
    assert!(
        commit(&*store, vec![Change::Upsert(renewed.clone(), Some(leases[0].clone())), Change::Delete(gone.clone())])
            .await
    );
    assert_eq!(store.get(renewed.key()).await.unwrap(), Some(renewed.clone()));
    assert_eq!(store.get(gone.key()).await.unwrap(), None);

    // A change is invisible to reads until its commit is settled.
    let later = leases[2].renewed(T0 + 120);
    let changes = vec![Change::Upsert(later.clone(), Some(leases[2].clone()))];
    let pending = store.commit(&mut changes.iter());
    let seen = store.get(later.key()).await.unwrap();
    if backend.reads_wait_for_settle() {
        assert_eq!(seen, Some(leases[2].clone()), "read before settling");
    } else {
        assert!(seen == Some(leases[2].clone()) || seen == Some(later.clone()), "read before settling: {seen:?}");
    }
    let ok = pending.await.is_ok();
    store.settle(&changes, ok);
    assert!(ok);
    assert_eq!(store.get(later.key()).await.unwrap(), Some(later.clone()));

    // Durable across a restart.
    let before = all(&*store).await;
    store.close().await;
    drop(store);
    let store = backend.open(dir);
    assert_eq!(all(&*store).await, before, "the same leases after reopening");

    // A failed commit leaves nothing behind: here the store is closed under it.
    store.close().await;
    let fresh = L::sample(40, 1);
    let changed = leases[3].renewed(T0 + 999);
    let ok = commit(
        &*store,
        vec![Change::Upsert(fresh.clone(), None), Change::Upsert(changed.clone(), Some(leases[3].clone()))],
    )
    .await;
    assert!(!ok, "a commit to a closed store fails");
    assert_eq!(store.get(fresh.key()).await.unwrap(), None);
    assert_eq!(store.get(changed.key()).await.unwrap(), Some(leases[3].clone()));
    assert_eq!(all(&*store).await, before);
}

struct Memfile;

fn memfile_config(dir: &Path, file: &str) -> MemfileConfig {
    MemfileConfig { path: dir.join(file), persist: true, lfc_interval: 0, max_row_errors: 0, pool_id_column: false }
}

impl Backend<Lease4> for Memfile {
    fn open(&self, dir: &Path) -> Arc<dyn LeaseStore<Lease4>> {
        let (journal, loaded) = Memfile4::open(memfile_config(dir, "kea-leases4.csv")).expect("open");
        let pools: [(Ipv4Addr, Ipv4Addr); 1] = [(Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 200))];
        let pools2: [(Ipv4Addr, Ipv4Addr); 1] = [(Ipv4Addr::new(198, 51, 100, 10), Ipv4Addr::new(198, 51, 100, 200))];
        let map = Arc::new(LeaseMap4::new([(1, &pools[..]), (2, &pools2[..])]));
        map.load(loaded);
        map.track_pending();
        let store = Arc::new(MemfileStore::new(Arc::new(journal)));
        store.set_index(Box::new(move || -> Option<Arc<dyn LeaseIndex<Lease4>>> { Some(map.clone()) }));
        store
    }
}

impl Backend<Lease6> for Memfile {
    fn open(&self, dir: &Path) -> Arc<dyn LeaseStore<Lease6>> {
        let (journal, loaded) = Memfile6::open(memfile_config(dir, "kea-leases6.csv")).expect("open");
        let none: [(Ipv6Addr, Ipv6Addr); 0] = [];
        let map = Arc::new(LeaseMap6::new([(1, &none[..], &[][..]), (2, &none[..], &[][..])]));
        map.load(loaded);
        map.track_pending();
        let store = Arc::new(MemfileStore::new(Arc::new(journal)));
        store.set_index(Box::new(move || -> Option<Arc<dyn LeaseIndex<Lease6>>> { Some(map.clone()) }));
        store
    }
}

fn block_on<T>(f: Pin<Box<dyn Future<Output = T> + '_>>) -> T {
    // Multi-threaded, as the server's: a database store's connections run as tasks of it.
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

/// PostgreSQL on a database made by Debian's `kea-admin db-init` (Kea 2.2, schema 13.0).
struct Postgres {
    db: common::pg::PgDb,
}

impl Postgres {
    fn lease_database(&self) -> kakapo::config::model::LeaseDatabase {
        let text = format!(r#"{{"Dhcp4": {{"lease-database": {}}}}}"#, self.db.database_json());
        let loaded = kakapo::config::load_str("t.json", &text, &Default::default()).expect("config");
        loaded.config.dhcp4.expect("Dhcp4").daemon.lease_database
    }
}

impl Backend<Lease4> for Postgres {
    fn open(&self, _: &Path) -> Arc<dyn LeaseStore<Lease4>> {
        let (store, loaded) = kakapo::lease::postgres::open_blocking::<Lease4>(&self.lease_database()).expect("open");
        let pools: [(Ipv4Addr, Ipv4Addr); 1] = [(Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 200))];
        let pools2: [(Ipv4Addr, Ipv4Addr); 1] = [(Ipv4Addr::new(198, 51, 100, 10), Ipv4Addr::new(198, 51, 100, 200))];
        let map = Arc::new(LeaseMap4::new([(1, &pools[..]), (2, &pools2[..])]));
        map.load(loaded);
        map.track_pending();
        store.set_index(Box::new(move || -> Option<Arc<dyn LeaseIndex<Lease4>>> { Some(map.clone()) }));
        store
    }
    fn reads_wait_for_settle(&self) -> bool {
        false
    }
}

impl Backend<Lease6> for Postgres {
    fn open(&self, _: &Path) -> Arc<dyn LeaseStore<Lease6>> {
        let (store, loaded) = kakapo::lease::postgres::open_blocking::<Lease6>(&self.lease_database()).expect("open");
        let none: [(Ipv6Addr, Ipv6Addr); 0] = [];
        let map = Arc::new(LeaseMap6::new([(1, &none[..], &[][..]), (2, &none[..], &[][..])]));
        map.load(loaded);
        map.track_pending();
        store.set_index(Box::new(move || -> Option<Arc<dyn LeaseIndex<Lease6>>> { Some(map.clone()) }));
        store
    }
    fn reads_wait_for_settle(&self) -> bool {
        false
    }
}

#[test]
fn postgres_v4_passes_the_store_conformance_suite() {
    let pg = Postgres { db: common::pg::PgDb::kea_init("conf4") };
    block_on(Box::pin(suite::<Lease4>(&pg, Path::new("/nonexistent"))));
    // Kea's triggers saw the rows: lease4_stat counts what is left.
    let left = pg.db.sql("SELECT count(*) FROM lease4");
    assert_ne!(left, "0", "the suite leaves leases behind");
    let counted = pg.db.sql("SELECT coalesce(sum(leases), 0) FROM lease4_stat WHERE state = 0");
    assert_eq!(left, counted, "lease4_stat agrees with lease4");
}

#[test]
fn postgres_v6_passes_the_store_conformance_suite() {
    let pg = Postgres { db: common::pg::PgDb::kea_init("conf6") };
    block_on(Box::pin(suite::<Lease6>(&pg, Path::new("/nonexistent"))));
    let left = pg.db.sql("SELECT count(*) FROM lease6");
    assert_ne!(left, "0", "the suite leaves leases behind");
    let counted = pg.db.sql("SELECT coalesce(sum(leases), 0) FROM lease6_stat WHERE state = 0");
    assert_eq!(left, counted, "lease6_stat agrees with lease6");
}

#[test]
fn memfile_v4_passes_the_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    block_on(Box::pin(suite::<Lease4>(&Memfile, dir.path())));
}

#[test]
fn memfile_v6_passes_the_store_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    block_on(Box::pin(suite::<Lease6>(&Memfile, dir.path())));
}
