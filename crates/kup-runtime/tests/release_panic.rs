//! The shipped panic path: a helper built in the release profile (`panic = "abort"`) and entered
//! through `kup_sys::entry!`, like the tools, panics during a real upcall. Nothing unwinds, so no
//! `Drop` runs: the key ends negative with the guard's 7 s only if the panic hook finished it
//! (otherwise the kernel negates it for 60 s when the helper dies), and the helper dies by SIGABRT.
//!
//! The probe (`examples/abort_probe.rs`) is built here with `cargo build --release`, whatever
//! profile the test itself runs in.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kup_sys::proc_keys::{self, Expiry};
use kup_sys::{KeySerial, keyctl};
use kup_testkit::reference::{target_dir, workspace_root};
use kup_testkit::upcall::{Route, UpcallStatus};

fn release_probe() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "kup-runtime",
            "--example",
            "abort_probe",
        ])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the release abort_probe failed");
    target_dir().join("release/examples/abort_probe")
}

#[test]
fn a_release_build_that_panics_negates_its_key_through_the_panic_hook_and_aborts() {
    let probe = release_probe();
    let route =
        Route::with_timeout(&[probe.to_str().unwrap(), "panic", "%k"], Duration::from_secs(20)).unwrap();
    let error = route.request("user", b"kuptest:release-panic", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    let key = keyctl::keyring_members(route.session())
        .unwrap()
        .into_iter()
        .filter_map(|serial: KeySerial| proc_keys::find(serial).unwrap())
        .find(|key| key.flags.negative)
        .expect("a negative key in the route's session keyring");
    match key.expiry {
        Expiry::In(left) => assert!(
            left <= Duration::from_secs(7),
            "the guard's 7 s (panic hook), not the kernel's 60 s: {key:?}"
        ),
        other => panic!("expected a timed negative key, got {other:?}"),
    }
    let upcalls = route.upcalls().unwrap();
    assert_eq!(
        upcalls.first().map(|upcall| &upcall.status),
        Some(&UpcallStatus::Signaled(libc::SIGABRT)),
        "panic = \"abort\": the helper dies by SIGABRT: {upcalls:?}"
    );
}
