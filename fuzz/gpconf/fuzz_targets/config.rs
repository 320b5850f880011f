//! Fuzz target: see `kup_gpconf_fuzz::checks::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_gpconf_fuzz::checks::config(data));
