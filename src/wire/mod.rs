//! Pure codecs.

pub mod optdata;
pub mod optdef;
pub mod v4;
pub mod v6;
