//! Kea's PostgreSQL lease rows (schema 13.0 and later): the conversions between `Lease4` /
//! `Lease6` and the columns of `lease4` / `lease6` (Kea ARM 8.2.2.2; design.md "leases").
//!
//! IPv4 addresses are BIGINT, IPv6 addresses their text (VARCHAR(39)), `expire` is a
//! timestamptz of cltt + valid_lifetime, hardware addresses and DUIDs BYTEA, `state` Kea's
//! number and `user_context` JSON text. Columns later schemas add (`pool_id`) are written and
//! read when the database has them.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::Schema;
use crate::lease::memfile::{COLUMNS4, COLUMNS6};
use crate::lease::store::{ClientId, LeaseRecord};
use crate::lease::{Lease4, Lease6, LeaseState, LeaseType6};

/// A statement's parameters.
pub type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// One family's table: its SQL and row conversions.
pub trait PgLease: LeaseRecord {
    /// `lease4` or `lease6`.
    const TABLE: &'static str;
    /// The columns read, in the order [`PgLease::from_row`] expects.
    fn columns(schema: &Schema) -> String;
    /// The columns written, in the order of [`PgLease::values`].
    fn written(schema: &Schema) -> Vec<&'static str>;
    /// The values of [`PgLease::written`].
    fn values(&self, schema: &Schema) -> Params;
    /// A lease from a row of [`PgLease::columns`].
    fn from_row(row: &Row, schema: &Schema) -> Result<Self, String>;
    /// The primary key value.
    fn key_param(key: Self::Key) -> Box<dyn ToSql + Sync + Send>;
    /// The placeholder `$n` for column `col`, with the cast the schema needs.
    fn mark(_schema: &Schema, _col: &str, n: usize) -> String {
        format!("${n}")
    }
    /// The expression rows are ordered by, the order of [`LeaseRecord::Key`].
    const ORDER: &'static str;
    /// The condition (with `$n` from `first`) and parameters that select the keys after `key`.
    fn after_filter(key: Self::Key, first: usize) -> (String, Params);
    /// The condition (with `$n` from `first`) and parameters that select a client's leases.
    fn client_filter(id: &ClientId, first: usize) -> Option<(String, Params)>;
    /// One condition and its parameters for the leases of all these clients and keys (the
    /// prefetch of a batch: one statement).
    fn batch_filter(schema: &Schema, clients: &[ClientId], keys: &[Self::Key]) -> (String, Params);
    /// `expire` of the lease, the column that tells one version of a row from another.
    fn expire_at(&self) -> SystemTime;
}

/// Kea's columns (the lease file's, whose last is `pool_id`), without `pool_id` where the
/// schema has none.
fn with_pool_id(columns: &[&'static str], schema: &Schema) -> Vec<&'static str> {
    let n = if schema.pool_id { columns.len() } else { columns.len() - 1 };
    columns[..n].to_vec()
}

/// `expire`: Unix seconds as a timestamp.
pub(crate) fn timestamp(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn lifetime(v: i64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} {v} is out of range"))
}

fn state(v: i64) -> Result<LeaseState, String> {
    u32::try_from(v).ok().and_then(LeaseState::from_code).ok_or_else(|| format!("unknown lease state {v}"))
}

/// `expire` as Kea stores it: cltt + valid_lifetime, but cltt itself for an infinite
/// lifetime (0xffffffff), which no timestamp could hold.
pub(crate) fn db_expire(cltt: u64, valid: u32) -> SystemTime {
    if valid == u32::MAX {
        timestamp(cltt)
    } else {
        timestamp(cltt + u64::from(valid))
    }
}

/// cltt from `expire` and the lifetime, the inverse of [`db_expire`].
fn cltt(expire: Option<SystemTime>, valid: u32) -> u64 {
    let expire = expire.map_or(0, unix);
    if valid == u32::MAX {
        expire
    } else {
        expire.saturating_sub(u64::from(valid))
    }
}

/// Kea writes a missing user context as empty text, and reads it back as none.
fn context(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

impl PgLease for Lease4 {
    const TABLE: &'static str = "lease4";

    fn columns(schema: &Schema) -> String {
        let pool = if schema.pool_id { "pool_id" } else { "0::bigint" };
        format!("address, hwaddr, client_id, valid_lifetime, expire, subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context, {pool}")
    }

    fn written(schema: &Schema) -> Vec<&'static str> {
        with_pool_id(&COLUMNS4, schema)
    }

    fn values(&self, schema: &Schema) -> Params {
        let mut v: Params = vec![
            Box::new(i64::from(u32::from(self.address))),
            Box::new(self.hwaddr.clone()),
            // Kea writes a missing client identifier (and user context) as empty, not NULL.
            Box::new(self.client_id.clone().unwrap_or_default()),
            Box::new(i64::from(self.valid_lifetime)),
            Box::new(db_expire(self.cltt, self.valid_lifetime)),
            Box::new(i64::from(self.subnet_id)),
            Box::new(self.fqdn_fwd),
            Box::new(self.fqdn_rev),
            Box::new(self.hostname.clone()),
            Box::new(i64::from(self.state.code())),
            Box::new(self.user_context.clone().unwrap_or_default()),
        ];
        if schema.pool_id {
            v.push(Box::new(i64::from(self.pool_id)));
        }
        v
    }

    fn from_row(row: &Row, _: &Schema) -> Result<Lease4, String> {
        let get = |e: tokio_postgres::Error| e.to_string();
        let address: i64 = row.try_get(0).map_err(get)?;
        let address = u32::try_from(address).map_err(|_| format!("address {address} is not an IPv4 address"))?;
        let valid = lifetime(row.try_get::<_, Option<i64>>(3).map_err(get)?.unwrap_or(0), "valid_lifetime")?;
        let expire: Option<SystemTime> = row.try_get(4).map_err(get)?;
        Ok(Lease4 {
            address: Ipv4Addr::from(address),
            hwaddr: row.try_get::<_, Option<Vec<u8>>>(1).map_err(get)?.unwrap_or_default(),
            client_id: row.try_get::<_, Option<Vec<u8>>>(2).map_err(get)?.filter(|c| !c.is_empty()),
            valid_lifetime: valid,
            cltt: cltt(expire, valid),
            subnet_id: lifetime(row.try_get::<_, Option<i64>>(5).map_err(get)?.unwrap_or(0), "subnet_id")?,
            pool_id: lifetime(row.try_get::<_, Option<i64>>(11).map_err(get)?.unwrap_or(0), "pool_id")?,
            fqdn_fwd: row.try_get::<_, Option<bool>>(6).map_err(get)?.unwrap_or(false),
            fqdn_rev: row.try_get::<_, Option<bool>>(7).map_err(get)?.unwrap_or(false),
            hostname: row.try_get::<_, Option<String>>(8).map_err(get)?.unwrap_or_default(),
            state: state(row.try_get::<_, Option<i64>>(9).map_err(get)?.unwrap_or(0))?,
            user_context: context(row.try_get(10).map_err(get)?),
        })
    }

    fn key_param(key: Ipv4Addr) -> Box<dyn ToSql + Sync + Send> {
        Box::new(i64::from(u32::from(key)))
    }

    const ORDER: &'static str = "address";

    fn after_filter(key: Ipv4Addr, first: usize) -> (String, Params) {
        (format!("address > ${first}"), vec![Self::key_param(key)])
    }

    fn client_filter(id: &ClientId, first: usize) -> Option<(String, Params)> {
        match id {
            ClientId::HwAddr(hw) => Some((format!("hwaddr = ${first}"), vec![Box::new(hw.clone())])),
            ClientId::ClientId(c) => Some((format!("client_id = ${first}"), vec![Box::new(c.clone())])),
            ClientId::Duid(_) => None,
        }
    }

    fn expire_at(&self) -> SystemTime {
        db_expire(self.cltt, self.valid_lifetime)
    }

    fn batch_filter(_: &Schema, clients: &[ClientId], keys: &[Ipv4Addr]) -> (String, Params) {
        let pick = |f: fn(&ClientId) -> Option<&Vec<u8>>| clients.iter().filter_map(f).cloned().collect::<Vec<_>>();
        let hw = pick(|c| if let ClientId::HwAddr(h) = c { Some(h) } else { None });
        let ids = pick(|c| if let ClientId::ClientId(i) = c { Some(i) } else { None });
        let addrs: Vec<i64> = keys.iter().map(|a| i64::from(u32::from(*a))).collect();
        let cond = "hwaddr = ANY($1) OR client_id = ANY($2) OR address = ANY($3)".to_string();
        (cond, vec![Box::new(hw), Box::new(ids), Box::new(addrs)])
    }
}

impl PgLease for Lease6 {
    const TABLE: &'static str = "lease6";

    fn columns(schema: &Schema) -> String {
        let pool = if schema.pool_id { "pool_id" } else { "0::bigint" };
        // Text without a mask whether the column is Kea 2.x's VARCHAR or a later INET.
        format!("host(address::inet), duid, valid_lifetime, expire, subnet_id, pref_lifetime, lease_type, iaid, prefix_len, fqdn_fwd, fqdn_rev, hostname, state, hwaddr, hwtype, hwaddr_source, user_context, {pool}")
    }

    fn written(schema: &Schema) -> Vec<&'static str> {
        with_pool_id(&COLUMNS6, schema)
    }

    fn values(&self, schema: &Schema) -> Params {
        // Kea stores the hardware type and source only with a hardware address (0 without).
        let hw = !self.hwaddr.is_empty();
        let mut v: Params = vec![
            Box::new(self.address.to_string()),
            Box::new(self.duid.clone()),
            Box::new(i64::from(self.valid_lifetime)),
            Box::new(db_expire(self.cltt, self.valid_lifetime)),
            Box::new(i64::from(self.subnet_id)),
            Box::new(i64::from(self.preferred_lifetime)),
            Box::new(self.lease_type.code() as i16),
            // Kea keeps the IAID's 32 bits in an INT column.
            Box::new(self.iaid as i32),
            Box::new(i16::from(self.prefix_len)),
            Box::new(self.fqdn_fwd),
            Box::new(self.fqdn_rev),
            Box::new(self.hostname.clone()),
            Box::new(self.hwaddr.clone()),
            Box::new(i64::from(self.state.code())),
            Box::new(self.user_context.clone().unwrap_or_default()),
            Box::new(if hw { self.hwtype as i16 } else { 0 }),
            Box::new(if hw { self.hwaddr_source as i16 } else { 0 }),
        ];
        if schema.pool_id {
            v.push(Box::new(i64::from(self.pool_id)));
        }
        v
    }

    fn from_row(row: &Row, _: &Schema) -> Result<Lease6, String> {
        let get = |e: tokio_postgres::Error| e.to_string();
        let text: String = row.try_get(0).map_err(get)?;
        let address: Ipv6Addr = text.parse().map_err(|_| format!("address '{text}' is not an IPv6 address"))?;
        let valid = lifetime(row.try_get::<_, Option<i64>>(2).map_err(get)?.unwrap_or(0), "valid_lifetime")?;
        let expire: Option<SystemTime> = row.try_get(3).map_err(get)?;
        let kind = row.try_get::<_, Option<i16>>(6).map_err(get)?.unwrap_or(0);
        let lease_type = u32::try_from(kind)
            .ok()
            .and_then(LeaseType6::from_code)
            .ok_or_else(|| format!("lease type {kind} is not supported"))?;
        let prefix_len = row.try_get::<_, Option<i16>>(8).map_err(get)?.unwrap_or(128);
        Ok(Lease6 {
            address,
            prefix_len: u8::try_from(prefix_len).map_err(|_| format!("prefix length {prefix_len}"))?,
            lease_type,
            duid: row.try_get::<_, Option<Vec<u8>>>(1).map_err(get)?.unwrap_or_default(),
            iaid: row.try_get::<_, Option<i32>>(7).map_err(get)?.unwrap_or(0) as u32,
            valid_lifetime: valid,
            preferred_lifetime: lifetime(row.try_get::<_, Option<i64>>(5).map_err(get)?.unwrap_or(0), "pref_lifetime")?,
            cltt: cltt(expire, valid),
            subnet_id: lifetime(row.try_get::<_, Option<i64>>(4).map_err(get)?.unwrap_or(0), "subnet_id")?,
            pool_id: lifetime(row.try_get::<_, Option<i64>>(17).map_err(get)?.unwrap_or(0), "pool_id")?,
            fqdn_fwd: row.try_get::<_, Option<bool>>(9).map_err(get)?.unwrap_or(false),
            fqdn_rev: row.try_get::<_, Option<bool>>(10).map_err(get)?.unwrap_or(false),
            hostname: row.try_get::<_, Option<String>>(11).map_err(get)?.unwrap_or_default(),
            state: state(row.try_get::<_, Option<i64>>(12).map_err(get)?.unwrap_or(0))?,
            hwaddr: row.try_get::<_, Option<Vec<u8>>>(13).map_err(get)?.unwrap_or_default(),
            hwtype: row.try_get::<_, Option<i16>>(14).map_err(get)?.unwrap_or(0) as u16,
            hwaddr_source: row.try_get::<_, Option<i16>>(15).map_err(get)?.unwrap_or(0) as u32,
            user_context: context(row.try_get(16).map_err(get)?),
        })
    }

    fn key_param(key: (LeaseType6, Ipv6Addr)) -> Box<dyn ToSql + Sync + Send> {
        Box::new(key.1.to_string())
    }

    fn mark(schema: &Schema, col: &str, n: usize) -> String {
        if col == "address" && schema.lease6_inet {
            format!("${n}::text::inet")
        } else {
            format!("${n}")
        }
    }

    // The address column is text: ordered as addresses, not as strings.
    const ORDER: &'static str = "lease_type, address::inet";

    fn after_filter(key: (LeaseType6, Ipv6Addr), first: usize) -> (String, Params) {
        let cond = format!("(lease_type, address::inet) > (${first}, ${}::text::inet)", first + 1);
        (cond, vec![Box::new(key.0.code() as i16), Box::new(key.1.to_string())])
    }

    fn client_filter(id: &ClientId, first: usize) -> Option<(String, Params)> {
        match id {
            ClientId::Duid(d) => Some((format!("duid = ${first}"), vec![Box::new(d.clone())])),
            _ => None,
        }
    }

    fn expire_at(&self) -> SystemTime {
        db_expire(self.cltt, self.valid_lifetime)
    }

    fn batch_filter(schema: &Schema, clients: &[ClientId], keys: &[(LeaseType6, Ipv6Addr)]) -> (String, Params) {
        let duids: Vec<Vec<u8>> =
            clients.iter().filter_map(|c| if let ClientId::Duid(d) = c { Some(d.clone()) } else { None }).collect();
        let addrs: Vec<String> = keys.iter().map(|(_, a)| a.to_string()).collect();
        let any = if schema.lease6_inet { "ANY($2::text[]::inet[])" } else { "ANY($2)" };
        (format!("duid = ANY($1) OR address = {any}"), vec![Box::new(duids), Box::new(addrs)])
    }
}
