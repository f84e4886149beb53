//! The sans-IO DHCP engines: a decoded packet, where it came from and the time go in; a reply,
//! where to send it and the lease changes to make durable first come out (design.md
//! "How a packet flows"). No sockets, no clock, no runtime here.

pub mod admin;
pub mod classify;
pub mod counters;
pub mod ident;
pub mod server_id;
pub mod v4;
pub mod v6;
