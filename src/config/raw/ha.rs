//! The `parameters` of `libdhcp_ha.so` (Kea ARM 16.x "High Availability"), key for key: the
//! union of Kea 2.2's and Kea 3.0's keys. Unlike the rest of the mirror these maps take unknown
//! keys: Kea's HA parser ignores them (a Kea 2.6 file loads on Kea 2.2).

use serde::{Deserialize, Serialize};

use crate::config::de::Loc;

/// `hooks-libraries[].parameters` of the HA hook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaParameters {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `high-availability`: one relationship (Kea 2.2), or several (hub and spoke, Kea 2.6+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_availability: Option<Vec<HaRelationship>>,
}

/// One `high-availability` entry: a relationship of this server with its peers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaRelationship {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `this-server-name`: the name of this server among `peers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_server_name: Option<String>,
    /// `mode`: `load-balancing`, `hot-standby` or `passive-backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `heartbeat-delay`: milliseconds between heartbeats (10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_delay: Option<i64>,
    /// `max-response-delay`: milliseconds without an answer before the partner is suspected
    /// (60000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_delay: Option<i64>,
    /// `max-ack-delay`: milliseconds a client may wait before it counts as unacked (10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ack_delay: Option<i64>,
    /// `max-unacked-clients`: unacked clients that prove the partner down (10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unacked_clients: Option<i64>,
    /// `max-rejected-lease-updates`: rejected lease updates before `terminated` (10, Kea 2.4+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rejected_lease_updates: Option<i64>,
    /// `delayed-updates-limit`: updates kept while the partner is unreachable (Kea 2.2+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_updates_limit: Option<i64>,
    /// `send-lease-updates`: send lease updates to the partner (true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lease_updates: Option<bool>,
    /// `sync-leases`: fetch the partner's leases on start-up (true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_leases: Option<bool>,
    /// `sync-timeout`: milliseconds a sync may take (60000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_timeout: Option<i64>,
    /// `sync-page-limit`: leases per page of a sync (10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_page_limit: Option<i64>,
    /// `wait-backup-ack`: wait for backup servers' acknowledgements (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_backup_ack: Option<bool>,
    /// `require-client-certs`: the HA listener requires client certificates (true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_client_certs: Option<bool>,
    /// `restrict-commands`: the HA listener takes only HA commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_commands: Option<bool>,
    /// `trust-anchor`: CA certificates for the peers (all peers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    /// `cert-file`: this server's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// `key-file`: this server's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// `multi-threading`: the HA listener and client threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_threading: Option<HaMultiThreading>,
    /// `state-machine`: states where the machine pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine: Option<HaStateMachine>,
    /// `peers`: this server and its partners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<HaPeer>>,
}

/// `multi-threading` of a relationship.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaMultiThreading {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `enable-multi-threading`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_multi_threading: Option<bool>,
    /// `http-dedicated-listener`: a listener of its own at this server's peer URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_dedicated_listener: Option<bool>,
    /// `http-listener-threads` (0: as many as the packet threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_listener_threads: Option<i64>,
    /// `http-client-threads` (0: as many as the packet threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_client_threads: Option<i64>,
}

/// `state-machine` of a relationship.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaStateMachine {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `states`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<HaStatePause>>,
}

/// One `state-machine.states` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaStatePause {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `state`: a state's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `pause`: `always`, `never` or `once`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
}

/// One `peers` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HaPeer {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `url`: `http(s)://address:port/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `role`: `primary`, `secondary`, `standby` or `backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `auto-failover` (true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_failover: Option<bool>,
    /// `basic-auth-user`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth_user: Option<String>,
    /// `basic-auth-password`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth_password: Option<String>,
    /// `basic-auth-password-file` (Kea 2.6+)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth_password_file: Option<String>,
    /// `trust-anchor` of this peer's connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    /// `cert-file` of this peer's connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// `key-file` of this peer's connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}
