//! Fuzz target: see `checks::cifs_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kup_sid_fuzz::checks::cifs_answer(data));
