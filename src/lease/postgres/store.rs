//! PostgreSQL behind the [`LeaseStore`] interface (Kea ARM 8.2.2.2): reads go to the
//! database, so they see what other servers sharing it wrote; commits go through one writer
//! that puts every change queued meanwhile into one transaction (one round trip for the
//! statements, one for the commit), which is what the core's group commit feeds.
//!
//! The database arbitrates between servers: a change is written only if the row is still the
//! one the decision was made on (an insert where the address was free, an update or delete
//! where `expire` and the owner are unchanged). A change that finds another row is a
//! conflict: the transaction is rolled back, the other commits of the batch are written
//! again without it, and its caller gets [`StoreError::Conflict`] and decides again; the
//! rows that won reach the engine's view with the next [`LeaseStore::prefetch`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::rows::{Params, PgLease};
use super::{PgError, Pool, Schema};
use crate::lease::memfile::store::IndexSource;
use crate::lease::memfile::LeaseIndex;
use crate::lease::store::{ClientId, CommitFuture, LeaseStore, ReadFuture, StoreError, StoreFailure, StoreHealth};
use crate::lease::Change;

/// Commits merged into one transaction at most.
const MAX_MERGED: usize = 256;
/// How often the engine's view takes in what other servers wrote.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// Rows taken in per round at most.
const FOLLOW_ROWS: usize = 20_000;

/// One queued commit.
struct Job<L: crate::lease::store::LeaseRecord> {
    changes: Vec<Change<L>>,
    done: oneshot::Sender<Outcome<L>>,
}

/// What a key holds now (None: no lease), as a conflict found it.
type Found<L> = (<L as crate::lease::store::LeaseRecord>::Key, Option<L>);

/// What became of a commit.
enum Outcome<L: crate::lease::store::LeaseRecord> {
    Durable,
    /// Another server's rows were found where the commit expected its own: what each key
    /// holds now (None: no lease).
    Conflict(Vec<Found<L>>),
    Failed(String),
}

/// A PostgreSQL lease store for one family.
pub struct PgStore<L: PgLease> {
    pool: Arc<Pool>,
    schema: Schema,
    writer: Mutex<Option<mpsc::UnboundedSender<Job<L>>>>,
    index: Arc<OnceLock<IndexSource<L>>>,
    closed: Arc<std::sync::atomic::AtomicBool>,
    events: Arc<OnceLock<DbEvents>>,
    health: Arc<Mutex<StoreHealth>>,
    /// What the keys of this server's conflicting commits hold now, for the next prefetch.
    winners: Arc<Mutex<Vec<Found<L>>>>,
}

impl<L: PgLease> std::fmt::Debug for PgStore<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("table", &L::TABLE).field("schema", &self.schema).finish_non_exhaustive()
    }
}

/// What happened to the writer's connection, for the server's `on-fail` policy (Kea ARM
/// 8.2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbEvent {
    /// The connection was lost; it is being made again.
    Lost,
    /// It is back.
    Recovered,
    /// `max-reconnect-tries` were used up without success.
    GaveUp,
}

/// Who hears of [`DbEvent`]s.
pub type DbEvents = Box<dyn Fn(DbEvent) + Send + Sync>;

/// How the writer gets its connection back (Kea ARM 8.2.2.2 `max-reconnect-tries`,
/// `reconnect-wait-time`).
#[derive(Clone)]
pub(crate) struct Reconnect {
    /// Where to connect.
    pub(crate) cfg: super::PgConfig,
    /// Attempts after a loss (0: none).
    pub(crate) tries: u32,
    /// Between attempts.
    pub(crate) wait: std::time::Duration,
}

impl<L: PgLease> PgStore<L> {
    /// A store on `pool`; its writer holds `writer`, a connection of its own, and gets a new
    /// one as `reconnect` says when it is lost.
    pub(crate) fn new(pool: Arc<Pool>, schema: Schema, writer: Client, reconnect: Reconnect) -> PgStore<L> {
        let (tx, rx) = mpsc::unbounded_channel();
        let health = Arc::new(Mutex::new(StoreHealth::default()));
        let events: Arc<OnceLock<DbEvents>> = Arc::new(OnceLock::new());
        let events_of_writer = Arc::clone(&events);
        tokio::spawn(write_loop::<L>(writer, schema, rx, Arc::clone(&health), (reconnect, events_of_writer)));
        let winners = Arc::new(Mutex::new(Vec::new()));
        let (index, closed) = (Arc::new(OnceLock::new()), Arc::new(std::sync::atomic::AtomicBool::new(false)));
        PgStore { pool, schema, writer: Mutex::new(Some(tx)), index, closed, events, health, winners }
    }

    /// Names the in-memory index the engine decides with (once; later calls are ignored), so
    /// that it learns of durable, failed and conflicting changes, and starts following what
    /// other servers write into it.
    pub fn set_index(&self, source: IndexSource<L>) {
        if self.index.set(source).is_ok() {
            self.follow();
        }
    }

    /// Takes in, every [`FOLLOW_EVERY`], the rows whose `expire` moved since the last round
    /// (new leases and renewals by any server), so that offers avoid addresses other servers
    /// hold, as Kea's allocator avoids them by reading each candidate (Kea ARM 8.2.2.2 on
    /// shared lease databases). The commit still arbitrates what slips through in between.
    fn follow(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let (pool, schema, index, closed) =
            (Arc::clone(&self.pool), self.schema, Arc::clone(&self.index), Arc::clone(&self.closed));
        rt.spawn(async move {
            let first = format!("SELECT coalesce(max(expire), now()) FROM {}", L::TABLE);
            let next = format!(
                "SELECT {} FROM {} WHERE expire >= $1 ORDER BY expire LIMIT {FOLLOW_ROWS}",
                L::columns(&schema),
                L::TABLE
            );
            let mut mark: Option<std::time::SystemTime> = None;
            let mut tick = tokio::time::interval(FOLLOW_EVERY);
            while !closed.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let (Some(ix), Ok(client)) = (index.get().and_then(|f| f()), pool.get().await) else { continue };
                let from = match mark {
                    Some(m) => m,
                    None => match client.query_one(first.as_str(), &[]).await {
                        Ok(r) => r.get(0),
                        Err(_) => continue,
                    },
                };
                let Ok(rows) = client.query(next.as_str(), &[&from]).await else { continue };
                let mut newest = from;
                for l in rows.iter().filter_map(|r| L::from_row(r, &schema).ok()) {
                    newest = newest.max(l.expire_at());
                    ix.absorb(l);
                }
                mark = Some(newest);
            }
        });
    }

    /// Names who hears of the connection's losses and recoveries (once).
    pub fn on_connection(&self, events: DbEvents) {
        let _ = self.events.set(events);
    }

    fn index(&self) -> Option<Arc<dyn LeaseIndex<L>>> {
        self.index.get().and_then(|f| f())
    }

    fn select(&self, cond: &str, tail: &str) -> String {
        format!("SELECT {} FROM {} WHERE {cond} {tail}", L::columns(&self.schema), L::TABLE)
    }

    fn query(&self, sql: String, params: Params) -> ReadFuture<Vec<L>> {
        let (pool, schema) = (Arc::clone(&self.pool), self.schema);
        Box::pin(async move {
            let client = pool.get().await.map_err(|e| StoreError::Database(e.to_string()))?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
            let db = |e: tokio_postgres::Error| StoreError::Database(super::describe(&e));
            // Prepared once per connection: the server parses and plans the text once.
            let stmt = client.prepare_cached(&sql).await.map_err(db)?;
            let rows = client.query(&stmt, &refs).await.map_err(db)?;
            rows.iter().map(|r| L::from_row(r, &schema).map_err(StoreError::Database)).collect()
        })
    }
}

impl<L: PgLease> LeaseStore<L> for PgStore<L> {
    fn get(&self, key: L::Key) -> ReadFuture<Option<L>> {
        let cond = format!("address = {}", L::mark(&self.schema, "address", 1));
        let all = self.query(self.select(&cond, ""), vec![L::key_param(key)]);
        Box::pin(async move { Ok(all.await?.into_iter().next()) })
    }

    fn by_client(&self, id: &ClientId) -> ReadFuture<Vec<L>> {
        let Some((cond, params)) = L::client_filter(id, 1) else { return Box::pin(async { Ok(Vec::new()) }) };
        self.query(self.select(&cond, &format!("ORDER BY {}", L::ORDER)), params)
    }

    fn page(&self, subnet: Option<u32>, after: Option<L::Key>, limit: usize) -> ReadFuture<Vec<L>> {
        let mut conds = vec!["TRUE".to_string()];
        let mut params: Params = Vec::new();
        if let Some(s) = subnet {
            params.push(Box::new(i64::from(s)));
            conds.push(format!("subnet_id = ${}", params.len()));
        }
        if let Some(k) = after {
            let (cond, p) = L::after_filter(k, params.len() + 1);
            params.extend(p);
            conds.push(cond);
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let tail = format!("ORDER BY {} LIMIT {limit}", L::ORDER);
        self.query(self.select(&conds.join(" AND "), &tail), params)
    }

    fn commit(&self, changes: &mut dyn Iterator<Item = &Change<L>>) -> CommitFuture {
        let changes: Vec<Change<L>> = changes.cloned().collect();
        if let Some(index) = self.index() {
            changes.iter().for_each(|c| index.apply(c));
        }
        let (done, result) = oneshot::channel();
        let sent = match &*self.writer.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(tx) => tx.send(Job { changes, done }).is_ok(),
            None => false,
        };
        let winners = Arc::clone(&self.winners);
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Database("the lease database is closed".into()));
            }
            match result.await {
                Ok(Outcome::Durable) => Ok(()),
                Ok(Outcome::Conflict(rows)) => {
                    let text = rows.iter().map(|(k, _)| format!("{k:?}")).collect::<Vec<_>>().join(", ");
                    winners.lock().unwrap_or_else(|e| e.into_inner()).extend(rows);
                    Err(StoreError::Conflict(text))
                }
                Ok(Outcome::Failed(e)) => Err(StoreError::Database(e)),
                Err(_) => Err(StoreError::Database("the lease writer stopped".into())),
            }
        })
    }

    fn settle(&self, changes: &[Change<L>], durable: bool) {
        crate::lease::memfile::store::settle_index(self.index().as_deref(), changes, durable);
    }

    fn start_maintenance(&self) -> Result<(), StoreError> {
        // The database has no lease file to clean up.
        Ok(())
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        // Dropping the sender lets the writer finish what is queued and stop.
        self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async {})
    }

    fn health(&self) -> StoreHealth {
        self.health.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn prefetch(&self, clients: Vec<ClientId>, keys: Vec<L::Key>) -> Option<ReadFuture<()>> {
        let index = self.index()?;
        let won = std::mem::take(&mut *self.winners.lock().unwrap_or_else(|e| e.into_inner()));
        let read = (!clients.is_empty() || !keys.is_empty()).then(|| {
            let (cond, params) = L::batch_filter(&self.schema, &clients, &keys);
            self.query(self.select(&cond, ""), params)
        });
        Some(Box::pin(async move {
            for (key, now) in won {
                match now {
                    Some(l) => index.absorb(l),
                    None => index.forget(key),
                }
            }
            if let Some(r) = read {
                r.await?.into_iter().for_each(|l| index.absorb(l));
            }
            Ok(())
        }))
    }
}

/// Logs under the daemon's `dhcpsrv` logger (`kea-dhcp4.dhcpsrv` or `kea-dhcp6.dhcpsrv`).
macro_rules! pglog {
    ($level:ident, $l:ty, $($arg:tt)*) => {
        if <$l as PgLease>::TABLE == "lease4" {
            tracing::$level!(target: "kea-dhcp4.dhcpsrv", $($arg)*)
        } else {
            tracing::$level!(target: "kea-dhcp6.dhcpsrv", $($arg)*)
        }
    };
}

/// `DHCP4` or `DHCP6`, for the daemon's log message IDs.
fn daemon<L: PgLease>() -> &'static str {
    if L::TABLE == "lease4" {
        "DHCP4"
    } else {
        "DHCP6"
    }
}

/// Receives commits, merges what is queued into one transaction, answers each. A lost
/// connection is made again before the next transaction, as `reconnect` allows; commits
/// queued meanwhile wait for it, and fail if it cannot be made.
async fn write_loop<L: PgLease>(
    mut client: Client,
    schema: Schema,
    mut rx: mpsc::UnboundedReceiver<Job<L>>,
    health: Arc<Mutex<StoreHealth>>,
    (reconnect, events): (Reconnect, Arc<OnceLock<DbEvents>>),
) {
    let tell = |e: DbEvent| {
        if let Some(f) = events.get() {
            f(e);
        }
    };
    let mut prepared = Prepared::new();
    while let Some(first) = rx.recv().await {
        if client.is_closed() {
            tell(DbEvent::Lost);
            match reconnected::<L>(&reconnect).await {
                Some(c) => {
                    client = c;
                    // Prepared statements live in the lost session.
                    prepared.clear();
                    tell(DbEvent::Recovered);
                }
                None => tell(DbEvent::GaveUp),
            }
        }
        let mut jobs = vec![first];
        while jobs.len() < MAX_MERGED {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let results = if client.is_closed() {
            jobs.iter().map(|_| Outcome::Failed("the connection to the lease database is lost".into())).collect()
        } else {
            write_batch::<L>(&mut client, &mut prepared, schema, &jobs).await
        };
        record_health(&health, &results);
        for (job, r) in jobs.into_iter().zip(results) {
            let _ = job.done.send(r);
        }
    }
}

/// A new writer connection after a loss, or None once the tries are used up.
pub(super) async fn reconnected<L: PgLease>(r: &Reconnect) -> Option<Client> {
    let d = daemon::<L>();
    pglog!(warn, L, "{d}_DB_RECONNECT_LOST_CONNECTION database connection lost.");
    if r.tries == 0 {
        let ms = r.wait.as_millis();
        pglog!(info, L, "{d}_DB_RECONNECT_DISABLED database reconnect is disabled: max-reconnect-tries {}, reconnect-wait-time {ms}", r.tries);
        return None;
    }
    for attempt in 1..=r.tries {
        let ms = r.wait.as_millis();
        pglog!(
            info,
            L,
            "DHCPSRV_PGSQL_LEASE_DB_RECONNECT_ATTEMPT_SCHEDULE scheduling attempt {attempt} of {} in {ms} milliseconds",
            r.tries
        );
        tokio::time::sleep(r.wait).await;
        match super::connect(&r.cfg).await {
            Ok(c) => {
                pglog!(info, L, "{d}_DB_RECONNECT_SUCCEEDED database connection recovered.");
                return Some(c);
            }
            Err(e) => {
                pglog!(warn, L, "DHCPSRV_PGSQL_LEASE_DB_RECONNECT_ATTEMPT_FAILED database reconnect failed: {e}")
            }
        }
    }
    pglog!(error, L, "DHCPSRV_PGSQL_LEASE_DB_RECONNECT_FAILED maximum number of database reconnect attempts: {}, has been exhausted without success", r.tries);
    None
}

fn record_health<L: PgLease>(health: &Mutex<StoreHealth>, results: &[Outcome<L>]) {
    let mut h = health.lock().unwrap_or_else(|e| e.into_inner());
    match results.iter().find_map(|r| match r {
        Outcome::Failed(e) => Some(e.clone()),
        _ => None,
    }) {
        Some(error) => {
            if h.failure.is_none() {
                h.failures += 1;
                pglog!(error, L, "DHCPSRV_PGSQL_FATAL_ERROR Unrecoverable PostgreSQL error occurred: Statement: <commit>, reason: {error} (error code: none).");
            }
            h.failure.get_or_insert(StoreFailure { error, since: 0 });
        }
        None => h.failure = None,
    }
}

/// Writes `jobs` in one transaction. Jobs that find another row than they were decided on
/// are conflicts (answered with the rows found); the rest are written again without them.
/// The writer connection's prepared statements by text (Kea's writes are a handful of texts).
type Prepared = HashMap<String, tokio_postgres::Statement>;

async fn write_batch<L: PgLease>(
    client: &mut Client,
    prepared: &mut Prepared,
    schema: Schema,
    jobs: &[Job<L>],
) -> Vec<Outcome<L>> {
    let mut live: Vec<usize> = (0..jobs.len()).collect();
    let mut out: Vec<Option<Outcome<L>>> = (0..jobs.len()).map(|_| None).collect();
    // Each pass either commits or removes at least one conflicting job.
    while !live.is_empty() {
        match try_batch::<L>(client, prepared, schema, jobs, &live).await {
            Ok(conflicts) if conflicts.is_empty() => {
                live.iter().for_each(|&i| out[i] = Some(Outcome::Durable));
                break;
            }
            Ok(conflicts) => {
                for (i, keys) in conflicts {
                    let found = current_rows::<L>(client, schema, &keys).await;
                    out[i] = Some(match found {
                        Ok(rows) => Outcome::Conflict(rows),
                        Err(e) => Outcome::Failed(e.to_string()),
                    });
                    live.retain(|&j| j != i);
                }
            }
            Err(e) => {
                let e = e.to_string();
                live.iter().for_each(|&i| out[i] = Some(Outcome::Failed(e.clone())));
                break;
            }
        }
    }
    out.into_iter().map(|r| r.unwrap_or(Outcome::Durable)).collect()
}

/// What each of `keys` holds now (None: no lease).
async fn current_rows<L: PgLease>(client: &Client, schema: Schema, keys: &[L::Key]) -> Result<Vec<Found<L>>, PgError> {
    let mut out = Vec::new();
    let cond = format!("address = {}", L::mark(&schema, "address", 1));
    let sql = format!("SELECT {} FROM {} WHERE {cond}", L::columns(&schema), L::TABLE);
    for k in keys {
        let p = L::key_param(*k);
        let row = client.query_opt(sql.as_str(), &[p.as_ref() as &(dyn ToSql + Sync)]).await?;
        out.push((*k, row.map(|r| L::from_row(&r, &schema)).transpose().map_err(PgError::Row)?));
    }
    Ok(out)
}

/// One attempt: the statements of the `live` jobs in a transaction, committed only if none
/// conflicted; returns the conflicting jobs with their keys.
async fn try_batch<L: PgLease>(
    client: &mut Client,
    prepared: &mut Prepared,
    schema: Schema,
    jobs: &[Job<L>],
    live: &[usize],
) -> Result<Vec<(usize, Vec<L::Key>)>, PgError> {
    let tx = client.transaction().await?;
    let statements: Vec<(usize, (String, Params), L::Key)> = live
        .iter()
        .flat_map(|&i| jobs[i].changes.iter().map(move |c| (i, statement::<L>(schema, c), c.lease().key())))
        .collect();
    for (_, (sql, _), _) in &statements {
        if !prepared.contains_key(sql) {
            let st = tx.prepare(sql).await?;
            prepared.insert(sql.clone(), st);
        }
    }
    let prepared = &*prepared;
    let runs = statements.iter().map(|(_, (sql, params), _)| {
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let tx = &tx;
        async move {
            match prepared.get(sql) {
                Some(st) => tx.execute(st, &refs).await,
                None => tx.execute(sql.as_str(), &refs).await,
            }
        }
    });
    // Sent together: tokio-postgres pipelines the statements of one connection.
    let counts = futures_util::future::try_join_all(runs).await?;
    let mut conflicts: Vec<(usize, Vec<L::Key>)> = Vec::new();
    for ((i, _, key), n) in statements.iter().zip(counts) {
        if n != 1 {
            match conflicts.iter_mut().find(|(j, _)| j == i) {
                Some((_, keys)) => keys.push(*key),
                None => conflicts.push((*i, vec![*key])),
            }
        }
    }
    if conflicts.is_empty() {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(conflicts)
}

/// The statement of one change, guarded so that it touches exactly one row only if the row
/// is still the one the change was decided on.
fn statement<L: PgLease>(schema: Schema, c: &Change<L>) -> (String, Params) {
    let cols = L::written(&schema);
    let key = L::mark(&schema, "address", 1);
    match c {
        Change::Upsert(new, None) => {
            let marks: Vec<String> = cols.iter().enumerate().map(|(i, c)| L::mark(&schema, c, i + 1)).collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (address) DO NOTHING",
                L::TABLE,
                cols.join(", "),
                marks.join(", ")
            );
            (sql, new.values(&schema))
        }
        Change::Upsert(new, Some(prev)) => {
            let sets: Vec<String> =
                cols.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = {}", L::mark(&schema, c, i + 1))).collect();
            let sql = format!(
                "UPDATE {} SET {} WHERE address = {key} AND expire = ${}",
                L::TABLE,
                sets.join(", "),
                cols.len() + 1
            );
            let mut params = new.values(&schema);
            params.push(Box::new(prev.expire_at()));
            (sql, params)
        }
        Change::Delete(old) => {
            let sql = format!("DELETE FROM {} WHERE address = {key} AND expire = $2", L::TABLE);
            (sql, vec![L::key_param(old.key()), Box::new(old.expire_at())])
        }
    }
}
