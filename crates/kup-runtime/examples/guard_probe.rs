//! A request-key helper used by the `key_guard` tests: `guard_probe MODE KEY`.
//!
//! Every mode guards KEY with "negate for 7 s" and then: `instantiate` answers `probe-ok`,
//! `error` returns a failure through `report`, `early-return` drops the guard on an early
//! return path, `panic` panics, `reject` fails with a reject disposition (errno 111, 9 s).
//!
//! The `*hang*` modes run with a total deadline of [`DEADLINE`] (exit status 12), shorter than the
//! tools' so that the mechanism's tests stay quick (the tools' own tests run their real deadline): `hang` blocks
//! after guarding the key, `hang-reject` after switching the guard to reject (errno 111, 9 s),
//! `hang-unguarded` before any guard exists, `instantiate-then-hang` after answering.

use std::process::ExitCode;
use std::time::Duration;

use kup_runtime::helper::{self, Deadline, Disposition, Failure, KeyGuard, StartOptions};
use kup_sys::KeySerial;
use kup_sys::syslog::Severity;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut options = StartOptions::daemon(c"guard_probe");
    if mode.contains("hang") {
        options = options.with_deadline(DEADLINE);
    }
    if helper::start(&options).is_err() {
        return ExitCode::from(9);
    }
    let Some(key) = args
        .next()
        .and_then(|serial| serial.parse().ok())
        .map(KeySerial::new)
    else {
        return ExitCode::from(8);
    };
    if mode == "hang-unguarded" {
        hang();
    }
    let mut guard = KeyGuard::new(key, Disposition::Negate { timeout_secs: 7 });
    match mode.as_str() {
        "hang" => hang(),
        "hang-in-syslog" => {
            // With the /dev/log queue full, glibc's syslog blocks here, holding its lock.
            helper::log(Severity::Error, "probe: about to block in syslog");
            hang()
        }
        "hang-reject" => {
            guard.set_failure(Disposition::Reject {
                timeout_secs: 9,
                errno: kup_sys::errno::ECONNREFUSED,
            });
            hang()
        }
        "instantiate-then-hang" => {
            if guard.instantiate(b"probe-ok").is_err() {
                return ExitCode::from(1);
            }
            hang()
        }
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

/// The probe's total deadline and the exit status it ends with.
const DEADLINE: Deadline = Deadline::new(Duration::from_secs(3), 12);

/// Blocks far past the deadline, as a helper stuck in a library call would.
fn hang() -> ! {
    loop {
        std::thread::sleep(Duration::from_hours(1));
    }
}

fn early_return(guard: KeyGuard) -> ExitCode {
    let _guard = guard;
    ExitCode::from(5)
}
