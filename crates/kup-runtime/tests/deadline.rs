//! The total deadline (decisions.md 10) ends a blocked helper and finishes its key, through real
//! kernel upcalls. The probe's deadline is 3 s with exit status 12 (`examples/guard_probe.rs`);
//! the tools' own tests check their real deadline.

use std::time::Duration;

use kup_sys::proc_keys::{self, Expiry};
use kup_sys::{KeySerial, keyctl};
use kup_testkit::reference::workspace_example;
use kup_testkit::syslog::SyslogCapture;
use kup_testkit::upcall::{Route, Upcall, UpcallStatus};

/// The probe's deadline.
const DEADLINE: Duration = Duration::from_secs(3);
/// Allowed beyond the deadline: the watchdog's bounded waits plus process and upcall overhead.
const MARGIN: Duration = Duration::from_secs(3);

fn probe_route(mode: &str) -> Route {
    let probe = workspace_example("kup-runtime", "guard_probe").unwrap();
    // Far longer than the deadline: the dispatcher's kill must not be what ends the helper.
    Route::with_timeout(&[probe.to_str().unwrap(), mode, "%k"], Duration::from_secs(30)).unwrap()
}

fn only_upcall(route: &Route) -> Upcall {
    let upcalls = route.upcalls().unwrap();
    assert_eq!(upcalls.len(), 1, "{upcalls:?}");
    upcalls.into_iter().next().unwrap()
}

fn assert_ended_by_the_deadline(upcall: &Upcall) {
    assert_eq!(
        upcall.status,
        UpcallStatus::Exited(12),
        "the probe's deadline exit status: {upcall:?}"
    );
    assert!(
        upcall.duration >= DEADLINE && upcall.duration <= DEADLINE + MARGIN,
        "ended {:?} after the start, deadline {DEADLINE:?}",
        upcall.duration
    );
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
fn a_helper_blocked_past_its_deadline_negates_its_key_the_guard_way_and_exits() {
    let capture = SyslogCapture::start(Duration::from_mins(1)).expect("binding /dev/log");
    let route = probe_route("hang");
    let error = route.request("user", b"kuptest:deadline-hang", b"").unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    let key = negative_key_in(&route);
    assert!(expiry_secs(&key) <= 7, "the guard's 7 s, not the kernel's 60 s");
    let upcall = only_upcall(&route);
    assert_ended_by_the_deadline(&upcall);
    // One line, written by the signal handler around glibc's syslog, in syslog's own shape (the
    // other tests' probes log at the same time: select by key).
    let serial = format!(" key {} ", key.serial.get());
    let lines: Vec<_> = capture
        .finish()
        .into_iter()
        .filter(|line| line.ident() == Some("guard_probe") && line.raw.contains(&serial))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line.facility(), Some(3), "LOG_DAEMON: {line:?}");
    assert_eq!(line.severity(), Some(3), "LOG_ERR: {line:?}");
    assert_eq!(
        line.message(),
        Some(
            format!(
                "giving up after the 3 s deadline: key {} unfinished, negated it for 7 s",
                key.serial.get()
            )
            .as_str()
        ),
        "{line:?}"
    );
    assert_eq!(
        line.tag(),
        Some("guard_probe"),
        "no LOG_PID for this probe: {line:?}"
    );
}

#[test]
fn a_helper_blocked_past_its_deadline_rejects_when_its_guard_says_reject() {
    let route = probe_route("hang-reject");
    let error = route
        .request("user", b"kuptest:deadline-reject", b"")
        .unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED));
    let key = negative_key_in(&route);
    assert!((8..=9).contains(&expiry_secs(&key)), "{key:?}");
    assert_ended_by_the_deadline(&only_upcall(&route));
}

#[test]
fn a_helper_blocked_before_it_guards_its_key_still_exits_at_the_deadline() {
    let route = probe_route("hang-unguarded");
    let error = route
        .request("user", b"kuptest:deadline-unguarded", b"")
        .unwrap_err();
    // Nothing was published to finish: the kernel negates the key when the helper exits.
    assert_eq!(error.raw_os_error(), Some(libc::ENOKEY));
    assert_ended_by_the_deadline(&only_upcall(&route));
}

#[test]
fn a_helper_blocked_after_answering_keeps_its_answer_and_exits_at_the_deadline() {
    let route = probe_route("instantiate-then-hang");
    let key = route.request("user", b"kuptest:deadline-answered", b"").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"probe-ok");
    assert_ended_by_the_deadline(&only_upcall(&route));
}
