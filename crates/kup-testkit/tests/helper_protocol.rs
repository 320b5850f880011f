//! The helper side of the request-key protocol, through `kup-sys`, on real upcalls.

use kup_sys::keyctl;
use kup_sys::proc_keys::{self, Expiry};
use kup_testkit::reference::workspace_example;
use kup_testkit::upcall::{Route, UpcallStatus};

fn probe(mode: &str) -> Route {
    let probe = workspace_example("kup-testkit", "protocol_probe").unwrap();
    Route::new(&[probe.to_str().unwrap(), mode, "%k"]).unwrap()
}

#[test]
fn timeout_set_before_instantiate_iov_sticks_and_segments_are_concatenated() {
    let route = probe("iov");
    let key = route.request("user", b"kuptest:iov", b"").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"seg1-seg2");
    match proc_keys::find(key).unwrap().unwrap().expiry {
        // /proc/keys rounds down to the unit it prints: 100 s shows as "1m".
        Expiry::In(left) => assert_eq!(left.as_secs(), 60, "{left:?}"),
        other => panic!("expected a 100 s expiry, got {other:?}"),
    }
}

#[test]
fn helper_reads_the_callout_info_from_the_authorisation_key() {
    let route = probe("callout");
    let key = route
        .request("user", b"kuptest:callout", b"srv=1 list;with bytes")
        .unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"callout=srv=1 list;with bytes");
}

#[test]
fn empty_callout_reads_as_zero_bytes() {
    let route = probe("callout");
    let key = route.request("user", b"kuptest:callout-empty", b"").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"callout=");
}

#[test]
fn helper_describes_the_key_under_construction() {
    let route = probe("describe");
    let key = route
        .request("dns_resolver", b"kuptest.describe.example", b"")
        .err();
    // dns_resolver refuses a payload without the trailing NUL (EINVAL at instantiate), so the
    // helper fails and the kernel negates: the requester sees ENOKEY.
    assert_eq!(key.and_then(|error| error.raw_os_error()), Some(libc::ENOKEY));
    let route = probe("describe");
    let key = route
        .request("user", b"kuptest:describe;with;semicolons", b"")
        .unwrap();
    assert_eq!(
        keyctl::read(key).unwrap(),
        b"user;0;0;3f010000;kuptest:describe;with;semicolons"
    );
}

#[test]
fn authority_can_be_dropped_and_assumed_again() {
    let route = probe("reassume");
    let key = route.request("user", b"kuptest:reassume", b"").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"reassumed");
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(0));
}
