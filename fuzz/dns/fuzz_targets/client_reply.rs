//! Fuzz target: see `checks::client_reply`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::client_reply(data));
