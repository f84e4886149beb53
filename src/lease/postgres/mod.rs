//! Kea's PostgreSQL lease database (Kea ARM 8.2.2.2 "Lease Database Configuration"; design.md
//! "leases"): the tables `kea-admin db-init pgsql` creates, shared with Kea and with other
//! kakapo servers.
//!
//! Connections come from tokio-postgres; reads use a small pool, commits one connection of
//! their own ([`PgStore`]). The schema version is checked when the store opens: Kea 2.2's
//! 13.0 up to the versions of Kea 3.0, with the columns later versions add used when they are
//! there.

pub mod hosts;
pub mod rows;
mod store;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::model::{LeaseDatabase, SqlConnection};
pub use rows::PgLease;
pub use store::{DbEvent, DbEvents, PgStore};

/// The read connections of a store.
pub type Pool = deadpool_postgres::Pool;

/// Schema versions kakapo reads and writes: Kea 2.2's (13.0) to Kea 3.0's.
pub const SCHEMA_VERSIONS: std::ops::RangeInclusive<u32> = 13..=MAX_SCHEMA_MAJOR;
/// The newest schema major version kakapo knows (Kea 3.0's).
pub const MAX_SCHEMA_MAJOR: u32 = 29;

/// Read connections per store.
const READERS: usize = 4;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server could not be reached or refused the login.
    #[error("cannot connect to the PostgreSQL lease database: {0}")]
    Connect(String),
    /// A statement failed.
    #[error("PostgreSQL: {}", describe(.0))]
    Query(#[from] tokio_postgres::Error),
    /// The database does not hold a schema kakapo knows.
    #[error("{0}")]
    Schema(String),
    /// A row does not hold a lease.
    #[error("invalid lease row: {0}")]
    Row(String),
    /// A parameter kakapo cannot honour.
    #[error("{0}")]
    Unsupported(String),
}

/// What the database's schema has, as far as kakapo's statements care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// `schema_version` (version, minor).
    pub version: (u32, u32),
    /// Whether the lease tables have `pool_id` (Kea 2.4+ schemas).
    pub pool_id: bool,
    /// Whether `lease6.address` is INET rather than Kea 2.x's VARCHAR(39).
    pub lease6_inet: bool,
}

/// How to reach a database: the client configuration and the TLS connector.
#[derive(Clone)]
pub struct PgConfig {
    /// Host, port, user, timeouts and the TLS mode.
    pub cfg: tokio_postgres::Config,
    /// The TLS connector (used unless the mode is `disable`).
    pub tls: MakeRustlsConnect,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl PgConfig {
    /// A configuration without TLS (`db-init`'s command line).
    pub fn plain(mut cfg: tokio_postgres::Config) -> Result<PgConfig, PgError> {
        let (tls, mode) = tls::connector(&crate::config::model::SqlTls::default())?;
        cfg.ssl_mode(mode);
        Ok(PgConfig { cfg, tls })
    }

    /// A pool of `size` connections for reads.
    fn pool(&self, size: usize) -> Result<Pool, PgError> {
        let mut cfg = self.cfg.clone();
        // Every read kakapo makes has an index. A plan made while a new table was nearly
        // empty would otherwise scan it whole for ever after (the prepared batch reads'
        // `= ANY` lists), or each read would have to be planned again.
        cfg.options("-c enable_seqscan=off");
        let mgr = deadpool_postgres::Manager::new(cfg, self.tls.clone());
        Pool::builder(mgr).max_size(size).build().map_err(|e| PgError::Connect(e.to_string()))
    }
}

/// The client configuration of a `lease-database` or `hosts-database` of type postgresql
/// (Kea ARM 8.2.2.2), TLS included.
pub fn client_config(name: &str, sql: &SqlConnection) -> Result<PgConfig, PgError> {
    let (tls, mode) = tls::connector(&sql.tls)?;
    let mut c = tokio_postgres::Config::new();
    c.ssl_mode(mode);
    c.dbname(name);
    c.host(sql.host.as_deref().unwrap_or("localhost"));
    if let Some(p) = sql.port {
        c.port(p);
    }
    if let Some(u) = &sql.user {
        c.user(u);
    }
    if let Some(p) = &sql.password {
        c.password(p);
    }
    c.application_name("kakapo");
    if sql.connect_timeout > 0 {
        c.connect_timeout(Duration::from_secs(u64::from(sql.connect_timeout)));
    }
    if sql.tcp_user_timeout > 0 {
        c.tcp_user_timeout(Duration::from_secs(u64::from(sql.tcp_user_timeout)));
    }
    Ok(PgConfig { cfg: c, tls })
}

/// The whole text of a client error: the server's message, or the I/O error under it.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// One connection; its I/O runs as a task of the current runtime.
pub async fn connect(cfg: &PgConfig) -> Result<Client, PgError> {
    let (client, conn) = cfg.cfg.connect(cfg.tls.clone()).await.map_err(|e| PgError::Connect(describe(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            let code = e.code().map_or("none", |c| c.code()).to_string();
            // The writer reports the loss under the daemon's logger when it next writes.
            tracing::debug!(target: "kakapo.postgres", "connection ended: {} (error code: {code})", describe(&e));
        }
    });
    Ok(client)
}

/// The schema of the database `client` is connected to; refuses versions kakapo does not
/// know.
pub async fn schema(client: &Client) -> Result<Schema, PgError> {
    let row = client
        .query_opt("SELECT version, minor FROM schema_version", &[])
        .await
        .map_err(|e| PgError::Schema(format!("the database has no Kea schema (schema_version: {e}); create it with kea-admin db-init pgsql or kakapo db-init")))?
        .ok_or_else(|| PgError::Schema("schema_version is empty: the database has no Kea schema".into()))?;
    let (major, minor): (i32, i32) = (row.try_get(0)?, row.try_get(1)?);
    let version = (u32::try_from(major).unwrap_or(0), u32::try_from(minor).unwrap_or(0));
    if !SCHEMA_VERSIONS.contains(&version.0) {
        return Err(PgError::Schema(format!(
            "the lease database has schema version {major}.{minor}; kakapo supports {}.0 (Kea 2.2) to {}.x (Kea 3.0)",
            SCHEMA_VERSIONS.start(),
            SCHEMA_VERSIONS.end()
        )));
    }
    let pool_id = column_type(client, "lease4", "pool_id").await?.is_some();
    let lease6_inet = column_type(client, "lease6", "address").await?.as_deref() == Some("inet");
    Ok(Schema { version, pool_id, lease6_inet })
}

/// The type of a column, if the table has it.
async fn column_type(client: &Client, table: &str, column: &str) -> Result<Option<String>, PgError> {
    let sql = "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2";
    Ok(client.query_opt(sql, &[&table, &column]).await?.map(|r| r.get::<_, String>(0)))
}

/// kakapo's own SQL creating the lease and host tables of Kea's schema 13.0 (Kea 2.2).
pub const SCHEMA_SQL: &str = include_str!("schema.sql");

/// Creates Kea's schema 13.0 on an empty database (kea-admin's `db-init pgsql`, without Kea
/// installed); a database that already has a Kea schema is left alone and refused.
pub async fn db_init(cfg: &PgConfig) -> Result<(), PgError> {
    let client = connect(cfg).await?;
    let exists: bool = client.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?.get(0);
    if exists {
        let found = match client.query_opt("SELECT version, minor FROM schema_version", &[]).await {
            Ok(Some(r)) => format!("{}.{}", r.get::<_, i32>(0), r.get::<_, i32>(1)),
            _ => "unknown".into(),
        };
        return Err(PgError::Schema(format!(
            "the database already has a Kea schema (version {found}); nothing was changed"
        )));
    }
    client.batch_execute(SCHEMA_SQL).await?;
    Ok(())
}

/// Opens a store on the database `db` names and reads every lease it holds (the engine's
/// view starts from them).
pub async fn open<L: PgLease>(db: &LeaseDatabase) -> Result<(Arc<PgStore<L>>, Vec<L>), PgError> {
    let sql = db.sql.as_ref().ok_or_else(|| PgError::Unsupported("not a SQL database".into()))?;
    let name = db.name.as_deref().ok_or_else(|| PgError::Unsupported("the lease database needs a 'name'".into()))?;
    let cfg = client_config(name, sql)?;
    let reconnect = store::Reconnect {
        cfg: cfg.clone(),
        tries: sql.max_reconnect_tries,
        wait: Duration::from_millis(u64::from(sql.reconnect_wait_time)),
    };
    let writer = match connect(&cfg).await {
        Ok(c) => c,
        // retry-on-startup (Kea 2.6+): the start waits for the database as a lost connection
        // would be waited for.
        Err(e) if sql.retry_on_startup => store::reconnected::<L>(&reconnect).await.ok_or(e)?,
        Err(e) => return Err(e),
    };
    let schema = schema(&writer).await?;
    let pool = cfg.pool(READERS)?;
    let rows =
        writer.query(&format!("SELECT {} FROM {} ORDER BY {}", L::columns(&schema), L::TABLE, L::ORDER), &[]).await?;
    let loaded = rows.iter().map(|r| L::from_row(r, &schema).map_err(PgError::Row)).collect::<Result<Vec<L>, _>>()?;
    Ok((Arc::new(PgStore::new(Arc::new(pool), schema, writer, reconnect)), loaded))
}

/// [`open`] from synchronous code running on (or beside) a multi-threaded tokio runtime: the
/// connections' tasks stay on that runtime.
pub fn open_blocking<L: PgLease>(db: &LeaseDatabase) -> Result<(Arc<PgStore<L>>, Vec<L>), PgError> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| PgError::Unsupported("the PostgreSQL lease database needs the server's runtime".into()))?;
    let db = db.clone();
    std::thread::scope(|s| {
        s.spawn(move || handle.block_on(open::<L>(&db)))
            .join()
            .unwrap_or_else(|_| Err(PgError::Connect("the connecting thread failed".into())))
    })
}
