//! Fuzz target: see `checks::dns_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::dns_message(data));
