//! A request-key helper exercising the kernel's helper protocol through `kup-sys`:
//! `protocol_probe MODE KEY`. Used by `tests/helper_protocol.rs`.
//!
//! - `iov`: set a 100 s timeout, then instantiate from two segments (`seg1-`, `seg2`).
//! - `callout`: instantiate with `callout=<the callout info read from the auth key>`.
//! - `describe`: instantiate with the key's own describe string.
//! - `reassume`: drop the assumed authority, check instantiate is refused (EPERM), assume it again
//!   and instantiate `reassumed`.

use std::process::ExitCode;

use kup_sys::{KeySerial, keyctl};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let Some(key) = args
        .next()
        .and_then(|serial| serial.parse().ok())
        .map(KeySerial::new)
    else {
        return ExitCode::from(2);
    };
    let result = match mode.as_str() {
        "iov" => keyctl::set_timeout(key, 100)
            .and_then(|()| keyctl::instantiate_iov(key, &[b"seg1-", b"seg2"], KeySerial::NONE)),
        "callout" => keyctl::read(KeySerial::REQKEY_AUTH_KEY).and_then(|callout| {
            let mut payload = b"callout=".to_vec();
            payload.extend_from_slice(&callout);
            keyctl::instantiate(key, &payload, KeySerial::NONE)
        }),
        "describe" => {
            keyctl::describe_raw(key).and_then(|raw| keyctl::instantiate(key, &raw, KeySerial::NONE))
        }
        "reassume" => reassume(key),
        _ => return ExitCode::from(2),
    };
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn reassume(key: KeySerial) -> std::io::Result<()> {
    keyctl::assume_authority(None)?;
    match keyctl::instantiate(key, b"without authority", KeySerial::NONE) {
        Err(error) if error.raw_os_error() == Some(libc::EPERM) => {}
        _ => {
            return Err(std::io::Error::other(
                "instantiate without authority was not refused with EPERM",
            ));
        }
    }
    keyctl::assume_authority(Some(key))?;
    keyctl::instantiate(key, b"reassumed", KeySerial::NONE)
}
