//! Fuzz target: see `kup_idmap_fuzz::checks::mapping`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_idmap_fuzz::checks::mapping(data));
