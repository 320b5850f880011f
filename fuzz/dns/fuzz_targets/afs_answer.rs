//! Fuzz target: see `checks::afs_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_dns_fuzz::checks::afs_answer(data));
