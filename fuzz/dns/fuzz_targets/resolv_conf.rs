//! Fuzz target: see `checks::resolv_conf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::resolv_conf(data));
