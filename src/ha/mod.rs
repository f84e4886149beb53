//! Kea's High Availability (Kea ARM 16.x "libdhcp_ha.so: High Availability Outage
//! Resilience"), sans-IO: the state machine and the load-balancing split. The partner client
//! and the listener live in the shell.

pub mod hash;
pub mod state;
pub mod wire;

#[cfg(test)]
mod tests;
