//! Kea configuration: text reader, raw serde mirror, validated model (Kea ARM ch. 8, 9, 11, 12).

pub mod de;
pub mod raw;
pub mod text;
