//! Reader, strict serde pass and semantic checks must never panic, whatever the bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kakapo::config::fuzz::model(data);
});
