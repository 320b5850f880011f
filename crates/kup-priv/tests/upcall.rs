//! kup-priv through real request-key upcalls: a helper that does its credential work in a child
//! inside the requester's user namespace still finishes the key (decisions.md 3), where entering
//! that namespace in the helper itself loses the authority to (request-key-mechanics.md §6).

mod support;

use kup_sys::keyctl;
use kup_testkit::reference::workspace_example;
use kup_testkit::upcall::{Route, UpcallStatus};
use support::*;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:4321:alice:/home/alice:/bin/sh\n";

fn route(mode: &str, pid: kup_priv::Pid, uid: u32) -> Route {
    let probe = workspace_example("kup-priv", "privsep_probe").unwrap();
    let pid = pid.to_string();
    let uid = uid.to_string();
    Route::new(&[
        probe.as_os_str(),
        mode.as_ref(),
        "%k".as_ref(),
        pid.as_ref(),
        uid.as_ref(),
    ])
    .unwrap()
}

#[test]
fn the_parent_instantiates_the_key_after_its_child_entered_a_user_namespace() {
    require_root();
    let container = Container::new(PASSWD);
    let route = route("child", container.pid, CONTAINER_BASE + 1234);
    let key = route.request("user", b"kup-priv:userns:child", b"call").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"1234 4321");
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(0));
}

#[test]
fn entering_the_user_namespace_in_the_helper_itself_loses_the_authority() {
    require_root();
    let container = Container::new(PASSWD);
    let route = route("in-process", container.pid, CONTAINER_BASE + 1234);
    let error = route
        .request("user", b"kup-priv:userns:in-process", b"call")
        .unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert_eq!(route.upcalls().unwrap()[0].status, UpcallStatus::Exited(3));
}

#[test]
fn a_panicking_child_never_finishes_the_parents_key() {
    require_root();
    // No namespace switch (pid 0), where only the child's own measures stop a panic hook
    // inherited from the helper from negating the key: the hook is replaced in the child, and
    // the child has dropped the authority.
    let route = route("child-panics", kup_priv::Pid::new(0), NOBODY);
    let key = route
        .request("user", b"kup-priv:userns:child-panics", b"call")
        .unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"parent-after-panic");
}

#[test]
fn the_child_holds_no_authority_over_the_key() {
    require_root();
    // Without a user namespace switch the authority would survive the uid switch (it does for
    // the reference): the child drops it first, so only the parent can finish the key.
    let route = route("child-tries-key", kup_priv::Pid::new(0), NOBODY);
    let key = route
        .request("user", b"kup-priv:child-tries-key", b"call")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&keyctl::read(key).unwrap()),
        format!("child got errno {}", libc::EPERM)
    );
}

#[test]
fn the_helpers_own_deadline_negates_the_key_and_kills_the_child() {
    require_root();
    let route = route("child-hangs", kup_priv::Pid::new(0), NOBODY);
    let started = std::time::Instant::now();
    let error = route
        .request("user", b"kup-priv:child-hangs", b"call")
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    let upcall = route.upcalls().unwrap().remove(0);
    assert_eq!(upcall.status, UpcallStatus::Exited(12));
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
    let key = upcall.argv[2].to_string_lossy().into_owned();
    let pid_file = format!("/tmp/kup-priv-hang-{key}");
    let child = std::fs::read_to_string(&pid_file).unwrap();
    let _ = std::fs::remove_file(&pid_file);
    // Killed by the helper's deadline (or its parent-death signal); allow the reaper a moment.
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        !std::path::Path::new(&format!("/proc/{child}")).exists()
    });
    assert!(gone, "child {child} outlived the helper");
}
