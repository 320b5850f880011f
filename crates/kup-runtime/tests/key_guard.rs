//! `KeyGuard` finishes the key on every path, checked through real kernel upcalls.

use std::time::Duration;

use kup_sys::proc_keys::{self, Expiry};
use kup_sys::{KeySerial, keyctl};
use kup_testkit::reference::workspace_example;
use kup_testkit::upcall::{Route, UpcallStatus};

fn probe_route(mode: &str) -> Route {
    let probe = workspace_example("kup-runtime", "guard_probe").unwrap();
    Route::with_timeout(&[probe.to_str().unwrap(), mode, "%k"], Duration::from_secs(10)).unwrap()
}

fn negative_key_in(route: &Route) -> proc_keys::ProcKey {
    keyctl::keyring_members(route.session())
        .unwrap()
        .into_iter()
        .filter_map(|serial: KeySerial| proc_keys::find(serial).unwrap())
        .find(|key| key.flags.negative)
        .expect("a negative key in the route's session keyring")
}

fn expiry_secs(key: &proc_keys::ProcKey) -> u64 {
    match key.expiry {
        Expiry::In(left) => left.as_secs(),
        other => panic!("expected a timed negative key, got {other:?}"),
    }
}

#[test]
fn successful_helper_instantiates_through_the_guard() {
    let route = probe_route("instantiate");
    let key = route.request("user", b"kuptest:guard-ok", b"").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"probe-ok");
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(0));
}

#[test]
fn reported_failure_negates_with_the_guard_timeout_and_exits_with_its_code() {
    let route = probe_route("error");
    let error = route.request("user", b"kuptest:guard-error", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert!(expiry_secs(&negative_key_in(&route)) <= 7);
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(3));
}

#[test]
fn reported_failure_can_reject_with_an_errno() {
    let route = probe_route("reject");
    let error = route.request("user", b"kuptest:guard-reject", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED));
    let key = negative_key_in(&route);
    assert!((8..=9).contains(&expiry_secs(&key)), "{key:?}");
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(4));
}

#[test]
fn early_return_drops_the_guard_which_negates_the_key() {
    let route = probe_route("early-return");
    let error = route.request("user", b"kuptest:guard-early", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert!(
        expiry_secs(&negative_key_in(&route)) <= 7,
        "the guard's 7 s, not the kernel's 60 s"
    );
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(5));
}

#[test]
fn panic_still_finishes_the_key_with_the_guard_disposition() {
    let route = probe_route("panic");
    let error = route.request("user", b"kuptest:guard-panic", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert!(
        expiry_secs(&negative_key_in(&route)) <= 7,
        "the guard's 7 s, not the kernel's 60 s"
    );
    let status = &route.upcalls().unwrap()[0].status;
    assert!(
        matches!(status, UpcallStatus::Exited(101) | UpcallStatus::Signaled(6)),
        "a panic exits 101 (unwind) or aborts (SIGABRT): {status:?}"
    );
}
