//! Fuzz target: see `kup_sid_fuzz::checks::sid_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_sid_fuzz::checks::sid_text(data));
