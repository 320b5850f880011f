//! `cifs.upcall`: see the library documentation. Entered without Rust's runtime start-up
//! (`kup_sys::entry`).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_main)]

kup_sys::entry!(|| cifs_upcall::main(std::env::args_os()));
