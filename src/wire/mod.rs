//! Pure codecs.

pub mod optdata;
pub mod optdef;
