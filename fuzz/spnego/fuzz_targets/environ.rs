//! Fuzz target: see `kup_spnego_fuzz::checks::environ`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_spnego_fuzz::checks::environ(data));
