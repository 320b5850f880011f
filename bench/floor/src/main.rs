//! `kup-floor KEY`: instantiates KEY with `127.0.0.1\0` and exits.
//!
//! The lower bound of any helper's per-upcall latency through the real kernel path: process
//! start, one `keyctl(INSTANTIATE)`, exit. The payload is a NUL-terminated address so that it
//! is valid for `dns_resolver` keys as well as `user` keys.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_main)]

use std::process::ExitCode;

use kup_sys::{KeySerial, keyctl};

// Entered like the helpers, without Rust's runtime start-up, so that the floor costs what any of
// them costs at least.
kup_sys::entry!(floor);

#[cfg_attr(test, allow(dead_code))] // only the entry point calls it, and tests have their own
fn floor() -> ExitCode {
    let key = std::env::args()
        .nth(1)
        .and_then(|serial| serial.parse().ok())
        .map(KeySerial::new);
    match key.map(|key| keyctl::instantiate(key, b"127.0.0.1\0", KeySerial::NONE)) {
        Some(Ok(())) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
