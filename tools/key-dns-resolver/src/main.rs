//! `key.dns_resolver` (installed as `/sbin/key.dns_resolver`): see the library. Entered without
//! Rust's runtime start-up (`kup_sys::entry`).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_main)]

kup_sys::entry!(|| key_dns_resolver::main(std::env::args_os()));
