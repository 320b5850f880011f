//! Real request-key upcalls on the host kernel, routed by the harness.

use std::io;
use std::thread;

use kup_sys::keyctl;
use kup_sys::proc_keys::{self, Expiry};
use kup_testkit::upcall::{Route, UpcallStatus};

/// A helper made of keyutils' own `keyctl` command, so this test depends on no kup helper.
fn keyctl_helper(action: &[&str]) -> Vec<String> {
    let mut argv = vec!["/bin/keyctl".to_owned()];
    argv.extend(action.iter().map(|&argument| argument.to_owned()));
    argv
}

#[test]
fn user_key_upcall_reaches_the_routed_helper_with_request_key_argv() {
    let route = Route::new(&keyctl_helper(&["instantiate", "%k", "answer-for-upcall", "0"])).unwrap();
    let key = route
        .request("user", b"kuptest:argv-check", b"callout words")
        .unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"answer-for-upcall");
    let upcalls = route.upcalls().unwrap();
    assert_eq!(upcalls.len(), 1);
    assert_eq!(upcalls[0].status, UpcallStatus::Exited(0));
    assert_eq!(
        upcalls[0].argv[0], "keyctl",
        "argv[0] is the base name, as request-key passes it"
    );
    assert_eq!(upcalls[0].argv[1], "instantiate");
    assert_eq!(upcalls[0].argv[2], key.to_string().as_str());
}

#[test]
fn dns_resolver_key_upcall_is_instantiated_through_the_real_key_type() {
    // The dns_resolver type insists on a NUL-terminated text payload; pipe it in with pinstantiate.
    let route = Route::new(&[
        "/bin/sh",
        "-c",
        "printf '192.0.2.7\\000' | /bin/keyctl pinstantiate \"$0\" 0",
        "%k",
    ])
    .unwrap();
    let key = route.request("dns_resolver", b"kup-harness.test", b"").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"192.0.2.7");
    let described = keyctl::describe(key).unwrap();
    assert_eq!(described.key_type, b"dns_resolver");
    assert_eq!(described.description, b"kup-harness.test");
}

#[test]
fn negated_key_reports_enokey_and_is_cached_negative_for_its_timeout() {
    let route = Route::new(&keyctl_helper(&["negate", "%k", "30", "0"])).unwrap();
    let error = route.request("user", b"kuptest:negated", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    // A second request within the timeout is answered from the negative key without an upcall.
    let again = route.request("user", b"kuptest:negated", b"").unwrap_err();
    assert_eq!(again.raw_os_error(), Some(libc::ENOKEY));
    assert_eq!(route.upcalls().unwrap().len(), 1);
    let members = keyctl::keyring_members(route.session()).unwrap();
    let negative = members
        .iter()
        .filter_map(|&serial| proc_keys::find(serial).unwrap())
        .find(|key| key.flags.negative)
        .expect("the negative key is linked into the session keyring");
    match negative.expiry {
        Expiry::In(left) => assert!(left.as_secs() <= 30 && left.as_secs() >= 20, "{left:?}"),
        other => panic!("negative key should expire in ~30 s, got {other:?}"),
    }
}

#[test]
fn rejected_key_reports_the_chosen_errno() {
    let route = Route::new(&keyctl_helper(&["reject", "%k", "30", "111", "0"])).unwrap();
    let error = route.request("user", b"kuptest:rejected", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED));
}

#[test]
fn helper_that_exits_without_finishing_the_key_leaves_it_to_the_kernel() {
    let route = Route::new(&["/bin/false"]).unwrap();
    let error = route.request("user", b"kuptest:abandoned", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(1));
}

#[test]
fn hung_helper_is_killed_at_the_route_timeout_and_the_requester_is_released() {
    let route = Route::with_timeout(&["/bin/sleep", "600"], std::time::Duration::from_millis(500)).unwrap();
    let started = std::time::Instant::now();
    let error = route.request("user", b"kuptest:hung", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert!(
        started.elapsed().as_secs() < 10,
        "requester waited {:?}",
        started.elapsed()
    );
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::TimedOut);
}

#[test]
fn parallel_routes_with_the_same_description_each_reach_their_own_helper() {
    let handles: Vec<_> = (0..4)
        .map(|index| {
            thread::spawn(move || -> io::Result<Vec<u8>> {
                let payload = format!("route-{index}");
                let route = Route::new(&keyctl_helper(&["instantiate", "%k", &payload, "0"]))?;
                let key = route.request("user", b"kuptest:same-description", b"")?;
                keyctl::read(key)
            })
        })
        .collect();
    for (index, handle) in handles.into_iter().enumerate() {
        assert_eq!(
            handle.join().unwrap().unwrap(),
            format!("route-{index}").as_bytes()
        );
    }
}

#[test]
fn helper_sees_request_key_environment_and_dev_null_stdio() {
    let route = Route::new(&[
        "/bin/sh",
        "-c",
        "payload=\"env=$(env | grep -v '^PWD=' | sort | tr '\\n' ' ')stdin=$(readlink /proc/self/fd/0)\"; \
         /bin/keyctl instantiate \"$0\" \"$payload\" 0",
        "%k",
    ])
    .unwrap();
    let key = route.request("user", b"kuptest:environment", b"").unwrap();
    let payload = String::from_utf8(keyctl::read(key).unwrap()).unwrap();
    assert_eq!(
        payload,
        "env=HOME=/ PATH=/sbin:/bin:/usr/sbin:/usr/bin stdin=/dev/null"
    );
}
