//! The `DhcpDdns` section (kea-dhcp-ddns): zones, DNS servers, TSIG keys, control channels
//! (Kea ARM, "The DHCP-DDNS Server"). Keys of Kea 2.2 and Kea 3.0 are both accepted.

use serde::{Deserialize, Serialize};

use crate::config::de::Loc;

use super::common::{Authentication, HooksLibrary, Logger};

/// The `DhcpDdns` section: the DNS update server kea-dhcp-ddns (ARM: the DHCP-DDNS server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DhcpDdns {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `ip-address`: address to receive name change requests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// `port`: port to receive name change requests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// `dns-server-timeout`: milliseconds to wait for a DNS server reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_server_timeout: Option<i64>,
    /// `ncr-protocol`: transport of requests, only `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ncr_protocol: Option<String>,
    /// `ncr-format`: encoding of requests, only `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ncr_format: Option<String>,
    /// `forward-ddns`: forward (name to address) zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_ddns: Option<DdnsDomainList>,
    /// `reverse-ddns`: reverse (address to name) zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_ddns: Option<DdnsDomainList>,
    /// `tsig-keys`: TSIG keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_keys: Option<Vec<TsigKey>>,
    /// `control-socket`: single control channel (Kea 2.x form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_socket: Option<D2ControlSocket>,
    /// `control-sockets`: control channels (Kea 3.0 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_sockets: Option<Vec<D2ControlSocket>>,
    /// `hooks-libraries`: hook libraries to load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_libraries: Option<Vec<HooksLibrary>>,
    /// `loggers`: logger settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loggers: Option<Vec<Logger>>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `forward-ddns` or `reverse-ddns` map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DdnsDomainList {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `ddns-domains`: zones; the longest suffix match picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_domains: Option<Vec<DdnsDomain>>,
}

/// One `ddns-domains` entry: a zone and its servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DdnsDomain {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `key-name`: TSIG key used for this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// `dns-servers`: servers of the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<DnsServer>>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `dns-servers` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DnsServer {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `hostname`: server host name (not supported by Kea, kept for its error message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `ip-address`: server address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// `port`: server port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// `key-name`: TSIG key for this server, overriding the zone's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `tsig-keys` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TsigKey {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: key name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `algorithm`: HMAC-MD5, HMAC-SHA1, HMAC-SHA224, HMAC-SHA256, HMAC-SHA384 or HMAC-SHA512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// `digest-bits`: truncated digest length in bits, 0 for full length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_bits: Option<i64>,
    /// `secret`: base64 secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `secret-file`: file holding the base64 secret (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A `control-socket` map or `control-sockets[]` entry of DhcpDdns (no `http-headers`, unlike the DHCP servers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct D2ControlSocket {
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
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
