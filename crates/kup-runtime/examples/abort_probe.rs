//! A request-key helper built like the shipped tools, for the `release_panic` test:
//! `abort_probe panic KEY`.
//!
//! Entered through `kup_sys::entry!` (no Rust runtime start-up) and built in the release profile
//! (`panic = "abort"`), so nothing unwinds and no `Drop` runs: only the panic hook can finish the
//! key. It guards KEY with "negate for 7 s", then panics. Any other mode exits 7 (the guard's
//! drop negates the key).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), no_main)]

use std::process::ExitCode;

use kup_runtime::helper::{self, Disposition, KeyGuard, StartOptions};
use kup_sys::KeySerial;

kup_sys::entry!(probe);

fn probe() -> ExitCode {
    if helper::start(&StartOptions::daemon(c"abort_probe")).is_err() {
        return ExitCode::from(9);
    }
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let Some(key) = args
        .next()
        .and_then(|serial| serial.parse().ok())
        .map(KeySerial::new)
    else {
        return ExitCode::from(8);
    };
    let guard = KeyGuard::new(key, Disposition::Negate { timeout_secs: 7 });
    if mode == "panic" {
        let values: Vec<u8> = Vec::new();
        let index = mode.len();
        // Deliberate out-of-bounds access: only the panic hook can finish the key now.
        return ExitCode::from(values[index]);
    }
    drop(guard);
    ExitCode::from(7)
}
