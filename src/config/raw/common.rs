//! Maps shared by several sections: options, option definitions, hook libraries, loggers,
//! databases, control channels, threading, lease reclamation, the DDNS client side, relay.
//!
//! Every key Kea 2.2 or Kea 3.0 accepts in these maps has a field; any other key is refused.

use serde::{Deserialize, Serialize};

use crate::config::de::Loc;

/// One `option-data` entry: an option value to send (ARM: standard DHCP options).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OptionData {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: option name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `code`: option code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// `space`: option space, `dhcp4`/`dhcp6` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// `data`: option value as CSV text or hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// `csv-format`: `data` is CSV text (true) or hex (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_format: Option<bool>,
    /// `always-send`: send even when the client did not ask for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_send: Option<bool>,
    /// `never-send`: never send this option (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never_send: Option<bool>,
    /// `client-classes`: send only to members of one of these classes (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_classes: Option<Vec<String>>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `option-def` entry: a custom option format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OptionDef {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: option name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `code`: option code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// `type`: option data type, such as `uint32` or `record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// `record-types`: comma-separated field types of a `record` option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_types: Option<String>,
    /// `space`: option space the definition belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// `encapsulate`: option space of the sub-options carried inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encapsulate: Option<String>,
    /// `array`: the option holds an array of `type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<bool>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `hooks-libraries` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HooksLibrary {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `library`: path of the hook library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// `parameters`: library-specific parameters, passed through as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
}

/// One `loggers` entry (ARM: logging).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Logger {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: logger name, such as `kea-dhcp4` or `kea-dhcp4.leases`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `output-options`: outputs of this logger (Kea 3.0 spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_options: Option<Vec<OutputOption>>,
    /// `output_options`: outputs of this logger (Kea 2.2 spelling, still accepted by 3.0).
    #[serde(rename = "output_options", default, skip_serializing_if = "Option::is_none")]
    pub legacy_output_options: Option<Vec<OutputOption>>,
    /// `debuglevel`: debug level 0-99, used when severity is DEBUG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debuglevel: Option<i64>,
    /// `severity`: lowest severity logged: FATAL, ERROR, WARN, INFO or DEBUG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `output-options` entry of a logger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputOption {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `output`: `stdout`, `stderr`, `syslog[:name]` or a file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `flush`: flush after each message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush: Option<bool>,
    /// `maxsize`: rotate the file at this size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxsize: Option<i64>,
    /// `maxver`: number of rotated files kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxver: Option<i64>,
    /// `pattern`: log4cplus layout pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// A database map: `lease-database`, `hosts-database`, `hosts-databases[]` and `config-databases[]` entries (ARM: lease storage).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LeaseDatabase {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `type`: backend: `memfile`, `mysql` or `postgresql`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// `user`: database user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `password`: database password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `host`: database server host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `port`: database server port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// `name`: database name, or the lease file for memfile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `persist`: memfile: write leases to disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist: Option<bool>,
    /// `lfc-interval`: memfile: seconds between lease file cleanups, 0 disables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lfc_interval: Option<i64>,
    /// `readonly`: hosts database opened read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly: Option<bool>,
    /// `connect-timeout`: connection timeout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<i64>,
    /// `read-timeout`: MySQL read timeout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<i64>,
    /// `write-timeout`: MySQL write timeout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<i64>,
    /// `tcp-user-timeout`: PostgreSQL TCP user timeout, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_user_timeout: Option<i64>,
    /// `max-reconnect-tries`: reconnection attempts after a lost connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reconnect_tries: Option<i64>,
    /// `reconnect-wait-time`: milliseconds between reconnection attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_wait_time: Option<i64>,
    /// `on-fail`: action when the connection cannot be restored: stop-retry-exit, serve-retry-exit or serve-retry-continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<String>,
    /// `retry-on-startup`: keep retrying when the database is down at startup (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on_startup: Option<bool>,
    /// `max-row-errors`: memfile: rows that may fail to load before giving up, 0 means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_row_errors: Option<i64>,
    /// `trust-anchor`: TLS CA file or directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    /// `cert-file`: TLS client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// `key-file`: TLS client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// `cipher-list`: MySQL TLS cipher list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_list: Option<String>,
    /// `ssl-mode`: PostgreSQL TLS mode: disable, prefer, require, verify-ca or verify-full (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<String>,
}

/// A `control-socket` map or `control-sockets[]` entry of the DHCP servers (ARM: management API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ControlSocket {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `socket-type`: `unix`, `http` or `https` (http and https: Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_type: Option<String>,
    /// `socket-name`: unix socket path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_name: Option<String>,
    /// `socket-address`: HTTP listen address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_address: Option<String>,
    /// `socket-port`: HTTP listen port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_port: Option<i64>,
    /// `authentication`: HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// `trust-anchor`: TLS CA file or directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    /// `cert-file`: TLS server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// `key-file`: TLS server key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// `cert-required`: require a client certificate (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_required: Option<bool>,
    /// `http-headers`: extra headers added to every HTTP response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An `authentication` map of an HTTP control channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Authentication {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `type`: authentication scheme, only `basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// `realm`: realm sent in the WWW-Authenticate header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// `directory`: base directory of the `user-file`/`password-file` paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// `clients`: accepted credentials; empty means no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<AuthClient>>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `clients` entry of an `authentication` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthClient {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `user`: user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `user-file`: file holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_file: Option<String>,
    /// `password`: password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `password-file`: file holding the password, or `user:password` when no user is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `http-headers` entry: a header added to HTTP responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpHeader {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `value`: header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `multi-threading` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MultiThreading {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `enable-multi-threading`: process packets on a thread pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_multi_threading: Option<bool>,
    /// `thread-pool-size`: number of threads, 0 picks one per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_pool_size: Option<i64>,
    /// `packet-queue-size`: packets queued for the threads before the oldest are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_queue_size: Option<i64>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `expired-leases-processing` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpiredLeasesProcessing {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `reclaim-timer-wait-time`: seconds between reclamation runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_timer_wait_time: Option<i64>,
    /// `flush-reclaimed-timer-wait-time`: seconds between removals of reclaimed leases, 0 keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_reclaimed_timer_wait_time: Option<i64>,
    /// `hold-reclaimed-time`: seconds a reclaimed lease is kept (lease affinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reclaimed_time: Option<i64>,
    /// `max-reclaim-leases`: leases reclaimed per run at most, 0 means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reclaim_leases: Option<i64>,
    /// `max-reclaim-time`: milliseconds one run may take at most, 0 means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reclaim_time: Option<i64>,
    /// `unwarned-reclaim-cycles`: incomplete runs tolerated before a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unwarned_reclaim_cycles: Option<i64>,
}

/// The `dhcp-queue-control` map. Kea accepts arbitrary extra keys here (for custom queue implementations), so this map collects them instead of refusing them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DhcpQueueControl {
    /// `enable-queue`: use the packet queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_queue: Option<bool>,
    /// `queue-type`: queue implementation, `kea-ring4` or `kea-ring6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_type: Option<String>,
    /// `capacity`: packets the queue holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Any other key: Kea passes these through to the queue implementation.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The `dhcp-ddns` map of Dhcp4/Dhcp6: how the server reaches kea-dhcp-ddns (ARM: DDNS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DhcpDdnsClient {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `enable-updates`: send name change requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_updates: Option<bool>,
    /// `server-ip`: address of kea-dhcp-ddns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<String>,
    /// `server-port`: port of kea-dhcp-ddns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_port: Option<i64>,
    /// `sender-ip`: local address requests are sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_ip: Option<String>,
    /// `sender-port`: local port requests are sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_port: Option<i64>,
    /// `max-queue-size`: requests queued while the DDNS server is unreachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue_size: Option<i64>,
    /// `ncr-protocol`: transport, only `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ncr_protocol: Option<String>,
    /// `ncr-format`: encoding, only `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ncr_format: Option<String>,
    /// `qualifying-suffix`: old place of `ddns-qualifying-suffix` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifying_suffix: Option<String>,
    /// `override-no-update`: old place of `ddns-override-no-update` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_no_update: Option<bool>,
    /// `override-client-update`: old place of `ddns-override-client-update` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_client_update: Option<bool>,
    /// `replace-client-name`: old place of `ddns-replace-client-name` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_client_name: Option<String>,
    /// `generated-prefix`: old place of `ddns-generated-prefix` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_prefix: Option<String>,
    /// `hostname-char-set`: old place of `hostname-char-set` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_set: Option<String>,
    /// `hostname-char-replacement`: old place of `hostname-char-replacement` (Kea 2.2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_replacement: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `sanity-checks` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SanityChecks {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `lease-checks`: subnet-id consistency check of loaded leases: none, warn, fix, fix-del or del.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_checks: Option<String>,
    /// `extended-info-checks`: check of extended info in loaded leases: none, fix, strict or pedantic (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_info_checks: Option<String>,
}

/// The `config-control` map (configuration backends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigControl {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `config-databases`: configuration backend databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_databases: Option<Vec<LeaseDatabase>>,
    /// `config-fetch-wait-time`: seconds between polls of the configuration backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_fetch_wait_time: Option<i64>,
}

/// The `relay` map of a subnet or shared network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Relay {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `ip-address`: single relay address (Kea 2.2 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// `ip-addresses`: relay addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_addresses: Option<Vec<String>>,
}
