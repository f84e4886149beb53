//! kakapo: a DHCPv4/DHCPv6 server that reads ISC Kea's configuration unchanged.
//!
//! # Layout
//! - [`config`]: Kea's extended-JSON reader (`text`), the strict serde mirror of every
//!   configuration map (`raw`), and the validated runtime model (`model`).
//! - [`wire`]: pure codecs: DHCPv4 and DHCPv6 messages, option definitions, `option-data`.
//! - [`engine`]: sans-IO DHCPv4/DHCPv6 decisions; [`lease`]: allocators, memfile store.
//! - [`net`]: sockets (the only `unsafe`); [`server`]: the packet pipeline generic over v4/v6
//!   (receive, decide, commit, post-commit stages), the services and their timers.
//! - `logging`, `daemon` (binary side): Kea's `loggers` on top of tracing, the process shell.
//!
//! The core modules (`config`, `wire`, and later `engine`, `lease`, `ha`, `ddns`) never use
//! tokio, sqlx, socket2 or hyper; `tests/layering.rs` enforces it. Only `net/` may use `unsafe`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod config;
pub mod engine;
pub mod ha;
pub mod lease;
pub mod logging;
pub mod net;
pub mod safefs;
pub mod server;
pub mod stats;

/// The Kea version whose interfaces kakapo implements, printed by `-v` and answered by
/// `version-get` so that tools keyed on Kea's version (Stork polls a daemon directly from
/// 3.0.0 on) treat kakapo as that Kea; kakapo's own version is in `-V` and `extended`.
pub const KEA_API_LEVEL: &str = "3.0.0";
pub mod wire;
