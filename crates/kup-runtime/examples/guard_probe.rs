//! A request-key helper used by the `key_guard` tests: `guard_probe MODE KEY`.
//!
//! Every mode guards KEY with "negate for 7 s" and then: `instantiate` answers `probe-ok`,
//! `error` returns a failure through `report`, `early-return` drops the guard on an early
//! return path, `panic` panics, `reject` fails with a reject disposition (errno 111, 9 s).

use std::process::ExitCode;

use kup_runtime::helper::{self, Disposition, Failure, KeyGuard, StartOptions};
use kup_sys::KeySerial;

fn main() -> ExitCode {
    if helper::start(&StartOptions::daemon(c"guard_probe")).is_err() {
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
    match mode.as_str() {
        "instantiate" => helper::report(
            guard
                .instantiate(b"probe-ok")
                .map_err(|e| Failure::new(1, e.to_string())),
            None,
        ),
        "error" => helper::report(Err(Failure::new(3, "probe failure")), Some(guard)),
        "reject" => helper::report(
            Err(
                Failure::new(4, "probe reject").with_disposition(Disposition::Reject {
                    timeout_secs: 9,
                    errno: kup_sys::errno::ECONNREFUSED,
                }),
            ),
            Some(guard),
        ),
        "early-return" => early_return(guard),
        "panic" => {
            let values: Vec<u8> = Vec::new();
            let index = mode.len();
            // Deliberate out-of-bounds access: the guard must still finish the key.
            ExitCode::from(values[index])
        }
        _ => ExitCode::from(7),
    }
}

fn early_return(guard: KeyGuard) -> ExitCode {
    let _guard = guard;
    ExitCode::from(5)
}
