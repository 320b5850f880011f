//! Fuzz target: see `checks::server_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::server_list(data));
