//! Strict serde mirror of Kea configuration maps.
