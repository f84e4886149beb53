//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable smoke test
//! (`tests/fuzz_smoke.rs`): any input is fine, a panic is the bug being looked for.

use super::{load_str, text, LoadOptions};

/// Include directives would read arbitrary host files (even `/dev/zero`); fuzzing skips them.
fn usable(data: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(data).ok()?;
    (!s.contains("<?include")).then_some(s)
}

/// Runs the extended-JSON reader.
pub fn text(data: &[u8]) {
    if let Some(s) = usable(data) {
        let _ = text::parse_str("<fuzz>", s, &mut Vec::new());
    }
}

/// Runs the whole load: reader, strict structure, semantics, rendering.
pub fn model(data: &[u8]) {
    if let Some(s) = usable(data) {
        if let Ok(loaded) = load_str("<fuzz>", s, &LoadOptions::default()) {
            for section in loaded.config.sections() {
                let rendered = super::render::config_get(&loaded.config, section);
                let _ = super::render::config_hash(&rendered);
            }
        }
    }
}
