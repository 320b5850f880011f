//! Fuzz target: see `kup_sid_fuzz::checks::number`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_sid_fuzz::checks::number(data));
