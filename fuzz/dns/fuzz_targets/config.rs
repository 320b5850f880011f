//! Fuzz target: see `checks::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::config(data));
