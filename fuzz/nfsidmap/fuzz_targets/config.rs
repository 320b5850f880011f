//! Fuzz target: see `kup_idmap_fuzz::checks::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_idmap_fuzz::checks::config(data));
