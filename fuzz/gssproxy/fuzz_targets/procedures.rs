//! Fuzz target: see `kup_gssproxy_fuzz::checks::procedures`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_gssproxy_fuzz::checks::procedures(data));
