//! Fuzz target: see `checks::name_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::name_text(data));
