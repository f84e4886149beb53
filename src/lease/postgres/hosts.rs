//! Host reservations in Kea's PostgreSQL hosts tables (Kea ARM 8.2.3 "Hosts Storage", 8.3.9
//! "Host Reservations in a Database"): `hosts`, `ipv6_reservations` and the host options
//! (scope 3) of `dhcp4_options` / `dhcp6_options`, read and written as Kea's own backend does.
//!
//! Rows become Kea's host JSON (the form `reservation-get` answers with and `reservation-add`
//! takes) and the configuration builds the reservation from that, so a row is checked exactly
//! as a configured reservation is. What Kea writes for "nothing" is honoured both ways: `0`
//! for no IPv4 address or next-server, `''` for no string, NULL for the other family's subnet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{json, Map, Value};
use tokio_postgres::types::ToSql;

use super::{client_config, connect, schema, PgError, Pool};
use crate::config::model::{HostIdentifier, LeaseDatabase, OptionValue};

/// Kea's `host_identifier_type` codes, in their order.
const ID_TYPES: [&str; 5] = ["hw-address", "duid", "circuit-id", "client-id", "flex-id"];

/// Kea's identifier type code and bytes of an identifier.
pub fn identifier_code(id: &HostIdentifier) -> (i16, &[u8]) {
    match id {
        HostIdentifier::HwAddress(b) => (0, b),
        HostIdentifier::Duid(b) => (1, b),
        HostIdentifier::CircuitId(b) => (2, b),
        HostIdentifier::ClientId(b) => (3, b),
        HostIdentifier::FlexId(b) => (4, b),
    }
}

/// The identifier of a type code and bytes (None: a code Kea does not define).
pub fn identifier_of(code: i16, bytes: Vec<u8>) -> Option<HostIdentifier> {
    Some(match code {
        0 => HostIdentifier::HwAddress(bytes),
        1 => HostIdentifier::Duid(bytes),
        2 => HostIdentifier::CircuitId(bytes),
        3 => HostIdentifier::ClientId(bytes),
        4 => HostIdentifier::FlexId(bytes),
        _ => return None,
    })
}

/// The identifier of a host_cmds identifier type name and its bytes.
pub fn identifier_named(name: &str, bytes: Vec<u8>) -> Option<HostIdentifier> {
    let code = ID_TYPES.iter().position(|t| *t == name)?;
    identifier_of(code as i16, bytes)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

/// One host of this family: its database id, its subnet (0: global), its identifier and the
/// reservation in Kea's host JSON, without `subnet-id`.
#[derive(Debug, Clone)]
pub struct HostRow {
    /// `host_id`
    pub host_id: i64,
    /// `dhcp4_subnet_id` / `dhcp6_subnet_id`
    pub subnet_id: u32,
    /// `dhcp_identifier_type` and `dhcp_identifier`
    pub identifier: HostIdentifier,
    /// The reservation as host_cmds shows it.
    pub json: Map<String, Value>,
}

/// Which host a deletion names (host_cmds `reservation-del`).
#[derive(Debug, Clone)]
pub enum HostKey {
    /// A reserved address.
    Address(IpAddr),
    /// An identifier.
    Identifier(HostIdentifier),
}

/// Why a host was not written.
#[derive(Debug, thiserror::Error)]
pub enum HostWriteError {
    /// The database is configured `readonly`.
    #[error("the hosts database is read-only")]
    ReadOnly,
    /// Another host has this identifier in the subnet, or this address (Kea's DuplicateEntry).
    #[error("Database duplicate entry error: {0}")]
    Duplicate(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] PgError),
}

/// One `hosts-database` of type postgresql for one DHCP family.
pub struct PgHosts {
    pool: Pool,
    readonly: bool,
    v6: bool,
    /// Whether `ipv6_reservations.address` is INET (newer schemas) rather than VARCHAR(39).
    inet: bool,
}

impl std::fmt::Debug for PgHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHosts").field("readonly", &self.readonly).field("v6", &self.v6).finish_non_exhaustive()
    }
}

/// The family's column names.
struct Cols {
    subnet: &'static str,
    classes: &'static str,
    options: &'static str,
}

impl PgHosts {
    /// Connects to the database `db` names and checks its schema (Kea ARM 8.2.3).
    pub async fn open(db: &LeaseDatabase, v6: bool) -> Result<PgHosts, PgError> {
        let sql = db.sql.as_ref().ok_or_else(|| PgError::Unsupported("not a SQL database".into()))?;
        let name =
            db.name.as_deref().ok_or_else(|| PgError::Unsupported("the hosts database needs a 'name'".into()))?;
        let cfg = client_config(name, sql)?;
        let client = match connect(&cfg).await {
            Ok(c) => c,
            Err(e) if sql.retry_on_startup => retried(&cfg, sql, e).await?,
            Err(e) => return Err(e),
        };
        schema(&client).await?;
        let ty = "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'ipv6_reservations' AND column_name = 'address'";
        let inet = client.query_opt(ty, &[]).await?.is_some_and(|r| r.get::<_, String>(0) == "inet");
        let pool = cfg.pool(2)?;
        Ok(PgHosts { pool, readonly: sql.readonly, v6, inet })
    }

    /// [`Self::open`] from synchronous code beside the server's runtime.
    pub fn open_blocking(db: &LeaseDatabase, v6: bool) -> Result<PgHosts, PgError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| PgError::Unsupported("the PostgreSQL hosts database needs the server's runtime".into()))?;
        let db = db.clone();
        std::thread::scope(|s| {
            s.spawn(move || handle.block_on(PgHosts::open(&db, v6)))
                .join()
                .unwrap_or_else(|_| Err(PgError::Connect("the connecting thread failed".into())))
        })
    }

    /// Whether writes are refused (`readonly`).
    pub fn readonly(&self) -> bool {
        self.readonly
    }

    fn cols(&self) -> Cols {
        if self.v6 {
            Cols { subnet: "dhcp6_subnet_id", classes: "dhcp6_client_classes", options: "dhcp6_options" }
        } else {
            Cols { subnet: "dhcp4_subnet_id", classes: "dhcp4_client_classes", options: "dhcp4_options" }
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, PgError> {
        self.pool.get().await.map_err(|e| PgError::Connect(e.to_string()))
    }

    /// The hosts of this family with one of `ids`, in any subnet.
    pub async fn by_identifiers(&self, ids: &[HostIdentifier]) -> Result<Vec<HostRow>, PgError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let bytes: Vec<&[u8]> = ids.iter().map(|i| identifier_code(i).1).collect();
        let rows = self.hosts("AND h.dhcp_identifier = ANY($1)", &[&bytes]).await?;
        Ok(rows.into_iter().filter(|r| ids.contains(&r.identifier)).collect())
    }

    /// Every host of this family, of one subnet (Some) or all, in `host_id` order.
    pub async fn all(&self, subnet: Option<u32>) -> Result<Vec<HostRow>, PgError> {
        match subnet {
            Some(s) => self.hosts(&format!("AND h.{} = $1", self.cols().subnet), &[&i64::from(s)]).await,
            None => self.hosts("", &[]).await,
        }
    }

    /// Hosts with their options (and IPv6 reservations) as host JSON.
    async fn hosts(&self, cond: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<HostRow>, PgError> {
        let c = self.cols();
        let client = self.client().await?;
        let sql = format!(
            "SELECT h.host_id::bigint, h.dhcp_identifier, h.dhcp_identifier_type, h.{sub}, h.ipv4_address, h.hostname, \
             h.{cls}, h.user_context, h.dhcp4_next_server, h.dhcp4_server_hostname, h.dhcp4_boot_file_name \
             FROM hosts h WHERE h.{sub} IS NOT NULL {cond} ORDER BY h.host_id",
            sub = c.subnet,
            cls = c.classes
        );
        let mut out = Vec::new();
        for r in client.query(&sql, params).await? {
            if let Some(h) = self.host_json(&r).map_err(PgError::Row)? {
                out.push(h);
            }
        }
        if out.is_empty() {
            return Ok(out);
        }
        // host_id is Kea's SERIAL (int4).
        let ids: Vec<i32> = out.iter().filter_map(|h| i32::try_from(h.host_id).ok()).collect();
        let sql = format!(
            "SELECT host_id::bigint, code::int, value, formatted_value, space, persistent FROM {} \
             WHERE host_id = ANY($1) ORDER BY option_id",
            c.options
        );
        for r in client.query(&sql, &[&ids]).await? {
            let id: i64 = r.try_get(0)?;
            let Some(h) = out.iter_mut().find(|h| h.host_id == id) else { continue };
            let option = option_json(&r, if self.v6 { "dhcp6" } else { "dhcp4" })?;
            push(&mut h.json, "option-data", option);
        }
        if self.v6 {
            let sql = "SELECT host_id::bigint, host(address::inet), prefix_len::int, type::int FROM ipv6_reservations \
                       WHERE host_id = ANY($1) ORDER BY reservation_id";
            for r in client.query(sql, &[&ids]).await? {
                let id: i64 = r.try_get(0)?;
                let Some(h) = out.iter_mut().find(|h| h.host_id == id) else { continue };
                let (addr, len, kind): (String, i32, i32) = (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                match kind {
                    0 => push(&mut h.json, "ip-addresses", json!(addr)),
                    2 => push(&mut h.json, "prefixes", json!(format!("{addr}/{len}"))),
                    _ => return Err(PgError::Row(format!("invalid IPv6 reservation type {kind} returned"))),
                }
            }
        }
        Ok(out)
    }

    /// One `hosts` row as host JSON (None: an identifier type Kea does not define).
    fn host_json(&self, r: &tokio_postgres::Row) -> Result<Option<HostRow>, String> {
        let e = |e: tokio_postgres::Error| e.to_string();
        let host_id: i64 = r.try_get(0).map_err(e)?;
        let bytes: Vec<u8> = r.try_get(1).map_err(e)?;
        let code: i16 = r.try_get(2).map_err(e)?;
        let subnet: i64 = r.try_get(3).map_err(e)?;
        let Some(identifier) = identifier_of(code, bytes.clone()) else { return Ok(None) };
        let mut m = Map::new();
        m.insert(ID_TYPES[code as usize].into(), json!(hex(&bytes)));
        let text = |i: usize| -> Result<Option<String>, String> {
            Ok(r.try_get::<_, Option<String>>(i).map_err(e)?.filter(|s| !s.is_empty()))
        };
        let v4 = |i: usize| -> Result<Option<Ipv4Addr>, String> {
            let n: Option<i64> = r.try_get(i).map_err(e)?;
            Ok(n.and_then(|n| u32::try_from(n).ok()).filter(|n| *n != 0).map(Ipv4Addr::from))
        };
        if !self.v6 {
            if let Some(a) = v4(4)? {
                m.insert("ip-address".into(), json!(a.to_string()));
            }
            if let Some(a) = v4(8)? {
                m.insert("next-server".into(), json!(a.to_string()));
            }
            for (i, k) in [(9, "server-hostname"), (10, "boot-file-name")] {
                if let Some(s) = text(i)? {
                    m.insert(k.into(), json!(s));
                }
            }
        }
        if let Some(h) = text(5)? {
            m.insert("hostname".into(), json!(h));
        }
        if let Some(c) = text(6)? {
            // Kea joins with "," and trims each name when it reads them.
            let names: Vec<&str> = c.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            m.insert("client-classes".into(), json!(names));
        }
        if let Some(ctx) = text(7)? {
            let v: Value = serde_json::from_str(&ctx).map_err(|e| format!("user_context of host {host_id}: {e}"))?;
            if !v.is_object() {
                return Err(format!("user_context of host {host_id} is not a map"));
            }
            m.insert("user-context".into(), v);
        }
        let subnet_id = u32::try_from(subnet).map_err(|_| format!("subnet id {subnet} of host {host_id}"))?;
        Ok(Some(HostRow { host_id, subnet_id, identifier, json: m }))
    }

    /// Every address and prefix reserved in this family's subnets, with its host's identifier:
    /// (subnet id, address, Kea's reservation type: 0 an address, 2 a prefix).
    pub async fn reserved(&self) -> Result<Vec<((u32, IpAddr, u8), HostIdentifier)>, PgError> {
        let client = self.client().await?;
        let sql = if self.v6 {
            "SELECT h.dhcp6_subnet_id, host(r.address::inet), r.type::int, h.dhcp_identifier_type, h.dhcp_identifier \
             FROM ipv6_reservations r JOIN hosts h ON h.host_id = r.host_id WHERE h.dhcp6_subnet_id IS NOT NULL"
        } else {
            "SELECT dhcp4_subnet_id, host(('0.0.0.0'::inet + ipv4_address)), 0, dhcp_identifier_type, dhcp_identifier \
             FROM hosts WHERE dhcp4_subnet_id IS NOT NULL AND ipv4_address IS NOT NULL AND ipv4_address <> 0"
        };
        let mut out = Vec::new();
        for r in client.query(sql, &[]).await? {
            let (subnet, addr, kind): (i64, String, i32) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let (code, bytes): (i16, Vec<u8>) = (r.try_get(3)?, r.try_get(4)?);
            let (Ok(subnet), Ok(addr), Some(id)) = (u32::try_from(subnet), addr.parse(), identifier_of(code, bytes))
            else {
                continue;
            };
            out.push(((subnet, addr, kind as u8), id));
        }
        Ok(out)
    }

    /// Inserts a host as Kea's backend does, all in one transaction (Kea's `add`): the host
    /// row, its options and (DHCPv6) its reservations. `json` is the checked reservation,
    /// `options` what the configuration built from its `option-data`, in the same order.
    pub async fn add(
        &self,
        subnet_id: u32,
        identifier: &HostIdentifier,
        json: &Map<String, Value>,
        options: &[OptionValue],
    ) -> Result<i64, HostWriteError> {
        if self.readonly {
            return Err(HostWriteError::ReadOnly);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(PgError::from)?;
        let host_id = self.insert_host(&tx, subnet_id, identifier, json).await?;
        let table = self.cols().options;
        let items = json.get("option-data").and_then(Value::as_array).cloned().unwrap_or_default();
        for (o, item) in options.iter().zip(items.iter().chain(std::iter::repeat(&Value::Null))) {
            let (value, formatted) = option_columns(o, item);
            let code = i32::from(o.code);
            let sql = if self.v6 {
                format!("INSERT INTO {table} (code, value, formatted_value, space, persistent, host_id, scope_id) VALUES ($1, $2, $3, $4, $5, $6, 3)")
            } else {
                format!("INSERT INTO {table} (code, value, formatted_value, space, persistent, host_id, scope_id) VALUES ($1::int::smallint, $2, $3, $4, $5, $6, 3)")
            };
            tx.execute(&sql, &[&code, &value, &formatted, &o.space, &o.always_send, &(host_id as i32)])
                .await
                .map_err(PgError::from)?;
        }
        if self.v6 {
            self.insert_v6_reservations(&tx, host_id, json).await?;
        }
        tx.commit().await.map_err(PgError::from)?;
        Ok(host_id)
    }

    async fn insert_host(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        subnet_id: u32,
        identifier: &HostIdentifier,
        json: &Map<String, Value>,
    ) -> Result<i64, HostWriteError> {
        let s = |k: &str| json.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let ip = |k: &str| json.get(k).and_then(Value::as_str).and_then(|t| t.parse::<Ipv4Addr>().ok());
        let num = |a: Option<Ipv4Addr>| a.map_or(0i64, |a| i64::from(u32::from(a)));
        let classes: Vec<&str> = json
            .get("client-classes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let context = json.get("user-context").map(Value::to_string);
        let (code, bytes) = identifier_code(identifier);
        let subnet = i64::from(subnet_id);
        let (sub4, sub6) = if self.v6 { (None, Some(subnet)) } else { (Some(subnet), None) };
        let (cls4, cls6) =
            if self.v6 { (String::new(), classes.join(",")) } else { (classes.join(","), String::new()) };
        let addr = if self.v6 { 0 } else { num(ip("ip-address")) };
        let params: [&(dyn ToSql + Sync); 13] = [
            &bytes,
            &code,
            &sub4,
            &sub6,
            &addr,
            &s("hostname"),
            &cls4,
            &cls6,
            &context,
            &num(if self.v6 { None } else { ip("next-server") }),
            &s("server-hostname"),
            &s("boot-file-name"),
            &Option::<String>::None,
        ];
        let cols = "dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, dhcp6_subnet_id, ipv4_address, hostname, \
                    dhcp4_client_classes, dhcp6_client_classes, user_context, dhcp4_next_server, \
                    dhcp4_server_hostname, dhcp4_boot_file_name, auth_key";
        let values = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13";
        // Kea's insert_host_unique_ip: an address already reserved in the subnet inserts nothing.
        let sql = if addr != 0 {
            format!("INSERT INTO hosts ({cols}) SELECT {values} WHERE NOT EXISTS (SELECT 1 FROM hosts WHERE ipv4_address = $5 AND dhcp4_subnet_id = $3) RETURNING host_id::bigint")
        } else {
            format!("INSERT INTO hosts ({cols}) VALUES ({values}) RETURNING host_id::bigint")
        };
        match tx.query_opt(&sql, &params).await {
            Ok(Some(r)) => Ok(r.try_get(0).map_err(PgError::from)?),
            Ok(None) => Err(HostWriteError::Duplicate("the address is reserved for another host".into())),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                Err(HostWriteError::Duplicate(super::describe(&e)))
            }
            Err(e) => Err(PgError::from(e).into()),
        }
    }

    async fn insert_v6_reservations(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        host_id: i64,
        json: &Map<String, Value>,
    ) -> Result<(), HostWriteError> {
        let list = |k: &str| -> Vec<String> {
            json.get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        };
        let mut items: Vec<(String, i16, i16)> = Vec::new();
        for a in list("ip-addresses") {
            let a: Ipv6Addr = a.parse().map_err(|_| PgError::Row(format!("invalid address {a}")))?;
            items.push((a.to_string(), 128, 0));
        }
        for p in list("prefixes") {
            let n: ipnet::Ipv6Net = p.parse().map_err(|_| PgError::Row(format!("invalid prefix {p}")))?;
            items.push((n.network().to_string(), i16::from(n.prefix_len()), 2));
        }
        let addr = if self.inet { "$1::inet" } else { "$1" };
        // Kea's insert_v6_resrv_unique: an address or prefix held by another host inserts nothing.
        let sql = format!(
            "INSERT INTO ipv6_reservations (address, prefix_len, type, dhcp6_iaid, host_id) SELECT {addr}, $2, $3, NULL, $4 \
             WHERE NOT EXISTS (SELECT 1 FROM ipv6_reservations WHERE address::inet = $1::inet AND prefix_len = $2)"
        );
        for (a, len, kind) in items {
            let n = tx.execute(&sql, &[&a, &len, &kind, &(host_id as i32)]).await.map_err(PgError::from)?;
            if n == 0 {
                return Err(HostWriteError::Duplicate(format!("{a}/{len} is reserved for another host")));
            }
        }
        Ok(())
    }

    /// Deletes the hosts of subnet `subnet_id` that `key` names (Kea's del_host_* statements);
    /// the number deleted.
    pub async fn delete(&self, subnet_id: u32, key: &HostKey) -> Result<u64, HostWriteError> {
        if self.readonly {
            return Err(HostWriteError::ReadOnly);
        }
        let client = self.client().await?;
        let sub = self.cols().subnet;
        let subnet = i64::from(subnet_id);
        let n = match key {
            HostKey::Identifier(id) => {
                let (code, bytes) = identifier_code(id);
                let sql = format!(
                    "DELETE FROM hosts WHERE {sub} = $1 AND dhcp_identifier_type = $2 AND dhcp_identifier = $3"
                );
                client.execute(&sql, &[&subnet, &code, &bytes]).await
            }
            HostKey::Address(IpAddr::V4(a)) => {
                let sql = "DELETE FROM hosts WHERE dhcp4_subnet_id = $1 AND ipv4_address = $2";
                client.execute(sql, &[&subnet, &i64::from(u32::from(*a))]).await
            }
            HostKey::Address(IpAddr::V6(a)) => {
                let sql = "DELETE FROM hosts WHERE dhcp6_subnet_id = $1 AND host_id IN \
                           (SELECT host_id FROM ipv6_reservations WHERE address::inet = $2::text::inet)";
                client.execute(sql, &[&subnet, &a.to_string()]).await
            }
        };
        Ok(n.map_err(PgError::from)?)
    }
}

/// `retry-on-startup` for a hosts database: `max-reconnect-tries` more attempts,
/// `reconnect-wait-time` apart, before the start fails with the last error.
async fn retried(
    cfg: &super::PgConfig,
    sql: &crate::config::model::SqlConnection,
    mut last: PgError,
) -> Result<tokio_postgres::Client, PgError> {
    for _ in 0..sql.max_reconnect_tries {
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(sql.reconnect_wait_time))).await;
        match connect(cfg).await {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn push(m: &mut Map<String, Value>, key: &str, v: Value) {
    match m.entry(key).or_insert_with(|| json!([])) {
        Value::Array(a) => a.push(v),
        other => *other = json!([v]),
    }
}

/// One option row as an `option-data` entry: the text form when Kea stored one, else the
/// payload as hex with `csv-format: false`.
fn option_json(r: &tokio_postgres::Row, default_space: &str) -> Result<Value, PgError> {
    let code: i32 = r.try_get(1)?;
    let value: Option<Vec<u8>> = r.try_get(2)?;
    let formatted: Option<String> = r.try_get(3)?;
    let space: Option<String> = r.try_get(4)?;
    let persistent: bool = r.try_get(5)?;
    let space = space.filter(|s| !s.is_empty()).unwrap_or_else(|| default_space.to_string());
    let mut m = Map::new();
    m.insert("code".into(), json!(code));
    m.insert("space".into(), json!(space));
    m.insert("always-send".into(), json!(persistent));
    match (formatted.filter(|f| !f.is_empty()), value) {
        (Some(f), _) => {
            // Kea splits the text on commas and trims each piece.
            let parts: Vec<&str> = f.split(',').map(str::trim).collect();
            m.insert("data".into(), json!(parts.join(", ")));
        }
        (None, Some(v)) => {
            m.insert("csv-format".into(), json!(false));
            m.insert("data".into(), json!(v.iter().map(|b| format!("{b:02X}")).collect::<String>()));
        }
        (None, None) => {}
    }
    Ok(Value::Object(m))
}

/// The `value` and `formatted_value` Kea writes for an option: the user's text when it was
/// given in CSV form for an option with a definition, else the packed payload.
fn option_columns(o: &OptionValue, item: &Value) -> (Option<Vec<u8>>, Option<String>) {
    let csv = item.get("csv-format").and_then(Value::as_bool).unwrap_or(true);
    match item.get("data").and_then(Value::as_str) {
        Some(text) if csv && o.name.is_some() && !text.is_empty() => (None, Some(text.to_string())),
        _ => (o.payload.clone().filter(|p| !p.is_empty()), None),
    }
}
