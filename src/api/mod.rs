//! Kea's control API (Kea ARM 8.8 "Management API", 8.9 statistics commands, and the command
//! sets of lease_cmds, stat_cmds, host_cmds and subnet_cmds): the request and response
//! envelopes, the typed [`command::Command`] set, the handlers, and the transports that only
//! move bytes (unix socket, HTTP, HTTPS).
//!
//! Layout:
//! - this file: [`Request`], [`Response`], result codes, the [`Dispatch`] seam between the
//!   transports and the handlers;
//! - `command`: the typed command enum parsed from a request;
//! - `control`: the server state the handlers act on and the handlers themselves;
//! - `transport`: unix, HTTP and HTTPS listeners (hyper, rustls), authentication;
//! - `metrics`: Prometheus text exposition of the statistics.

pub mod auth;
pub mod command;
pub mod control;
pub mod kea_json;
pub mod lease_cmd;
pub mod lease_cmds;
pub mod listeners;
pub mod metrics;
pub mod stat_cmds;
pub mod tls;
pub mod transport;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Kea's result code for success (Kea ARM 8.8.1).
pub const RESULT_SUCCESS: i64 = 0;
/// Kea's result code for an error.
pub const RESULT_ERROR: i64 = 1;
/// Kea's result code for a command this server does not support.
pub const RESULT_UNSUPPORTED: i64 = 2;
/// Kea's result code for "nothing found / nothing affected".
pub const RESULT_EMPTY: i64 = 3;
/// Kea's result code for a well-formed command that conflicts with the server state.
pub const RESULT_CONFLICT: i64 = 4;

/// A command as received: `{"command": ..., "arguments": {...}, "service": [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Request {
    /// The command name, e.g. `config-get`.
    pub command: String,
    /// The command's arguments, when it takes any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// The target daemons (`["dhcp4"]`), checked or used for routing like Kea.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Value>,
}

/// A command's answer: `{"result": N, "text": "...", "arguments": ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Response {
    /// One of the `RESULT_*` codes.
    pub result: i64,
    /// Human-readable outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Command-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
}

impl Response {
    /// A response with a code and a text; an empty text is left out, as Kea's answers to
    /// config-get or status-get carry none.
    pub fn new(result: i64, text: impl Into<String>) -> Response {
        let text = text.into();
        Response { result, text: (!text.is_empty()).then_some(text), arguments: None }
    }

    /// Result 0 with a text.
    pub fn ok(text: impl Into<String>) -> Response {
        Response::new(RESULT_SUCCESS, text)
    }

    /// Result 1 with a text.
    pub fn error(text: impl Into<String>) -> Response {
        Response::new(RESULT_ERROR, text)
    }

    /// Result 3 with a text.
    pub fn empty(text: impl Into<String>) -> Response {
        Response::new(RESULT_EMPTY, text)
    }

    /// The same response carrying `arguments`.
    pub fn with_args(mut self, arguments: Value) -> Response {
        self.arguments = Some(arguments);
        self
    }

    /// The response as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Which listener a request arrived on; decides how `service` is treated (Kea ARM 8.8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listener {
    /// A daemon's own channel (`control-socket(s)` of Dhcp4/Dhcp6/DhcpDdns): `service`, when
    /// present, must name that daemon (`dhcp4`, `dhcp6`, `d2`).
    Daemon(String),
    /// The `Control-agent` HTTP listener: `service` routes the command to the daemons named;
    /// without it the agent answers itself.
    Agent,
}

/// A boxed future, so the dispatch seam stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The seam between transports and handlers: transports parse nothing but the HTTP/unix
/// framing, hand the body over, and write back what comes out.
pub trait Dispatch: Send + Sync {
    /// Handles one request body (raw bytes: Kea accepts comments inside commands, so parsing
    /// belongs to the handler side). Returns one response per addressed service: one for a
    /// daemon listener, one per `service` entry on the agent. Transports send the first as a
    /// bare object on unix sockets and the whole list as a JSON array over HTTP.
    fn dispatch<'a>(&'a self, body: &'a [u8], listener: &'a Listener) -> BoxFuture<'a, Vec<Response>>;

    /// The Prometheus text exposition for `GET /metrics`.
    fn metrics(&self) -> String;
}
