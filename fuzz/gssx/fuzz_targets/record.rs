//! Fuzz target: see `kup_gssx_fuzz::checks::record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_gssx_fuzz::checks::record(data));
