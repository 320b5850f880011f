//! `nfsidmap`: see the library crate. Entered without Rust's runtime start-up (`kup_sys::entry`).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_main)]

kup_sys::entry!(|| nfsidmap::main(std::env::args_os()));
