//! The `Control-agent` section (kea-ctrl-agent of Kea 2.x and 3.0): HTTP listener, TLS,
//! authentication and the unix sockets of the servers it forwards commands to
//! (Kea ARM, "The Kea Control Agent").

use serde::{Deserialize, Serialize};

use crate::config::de::Loc;

use super::common::{Authentication, HooksLibrary, HttpHeader, Logger};

/// The `Control-agent` section: Kea's HTTP control agent (ARM: the Kea control agent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ControlAgent {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `http-host`: address to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_host: Option<String>,
    /// `http-port`: port to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<i64>,
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
    /// `http-headers`: extra headers added to every HTTP response (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
    /// `authentication`: HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// `control-sockets`: unix sockets of the servers commands are forwarded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_sockets: Option<AgentControlSockets>,
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

/// The `control-sockets` map of the control agent, one entry per service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentControlSockets {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `dhcp4`: socket of kea-dhcp4 (service `dhcp4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp4: Option<AgentControlSocket>,
    /// `dhcp6`: socket of kea-dhcp6 (service `dhcp6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp6: Option<AgentControlSocket>,
    /// `d2`: socket of kea-dhcp-ddns (service `d2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d2: Option<AgentControlSocket>,
}

/// One server socket in the control agent's `control-sockets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentControlSocket {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `socket-type`: socket type, only `unix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_type: Option<String>,
    /// `socket-name`: unix socket path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_name: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
