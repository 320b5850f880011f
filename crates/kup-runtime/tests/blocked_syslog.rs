//! A helper finishes its key before it logs: with the `/dev/log` queue full, glibc's `syslog`
//! blocks, and a failing or panicking helper must already have negated its key by then.
//!
//! The test binds `/dev/log` itself (machine-wide: it waits while anyone else holds it, like
//! `kup_testkit::syslog`), fills its queue without reading it, runs one real upcall whose helper
//! fails, and watches `/proc/keys` while the helper is stuck in `syslog`. Then it drains the queue
//! until the helper ends and unbinds `/dev/log` on every path (drop).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use kup_sys::proc_keys;
use kup_testkit::reference::workspace_example;
use kup_testkit::upcall::{Route, Upcall, UpcallStatus};

const DEV_LOG: &str = "/dev/log";

/// `/dev/log`, bound by this test and never read until [`FullDevLog::drain_until`].
struct FullDevLog {
    socket: UnixDatagram,
}

impl FullDevLog {
    /// Binds `/dev/log`, waiting up to `wait` while another test (or a syslog daemon) holds it.
    fn take(wait: Duration) -> io::Result<Self> {
        let path = Path::new(DEV_LOG);
        let deadline = Instant::now() + wait;
        loop {
            if !path.exists() {
                match UnixDatagram::bind(path) {
                    Ok(socket) => return Ok(Self { socket }),
                    Err(error) if error.kind() != io::ErrorKind::AddrInUse => return Err(error),
                    Err(_) => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::AddrInUse, "/dev/log stays taken"));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends datagrams until the queue refuses more; returns how many it took. (`&self`: the
    /// queue filled is this binding's.)
    #[allow(clippy::unused_self)]
    fn fill(&self) -> io::Result<usize> {
        let sender = UnixDatagram::unbound()?;
        sender.set_nonblocking(true)?;
        let mut sent = 0;
        loop {
            match sender.send_to(b"<31>kup-test-fill: queue filler", DEV_LOG) {
                Ok(_) => sent += 1,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(sent),
                Err(error) => return Err(error),
            }
            if sent > 100_000 {
                return Err(io::Error::other("the /dev/log queue never filled"));
            }
        }
    }

    /// Reads (and drops) datagrams until `done()` or `limit` passes.
    fn drain_until(&self, done: impl Fn() -> bool, limit: Duration) {
        let _ = self.socket.set_read_timeout(Some(Duration::from_millis(50)));
        let deadline = Instant::now() + limit;
        let mut buffer = vec![0_u8; 8192];
        while !done() && Instant::now() < deadline {
            let _ = self.socket.recv(&mut buffer);
        }
        while self.socket.recv(&mut buffer).is_ok() {}
    }
}

impl Drop for FullDevLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(DEV_LOG);
    }
}

/// What the test saw while the helper was stuck, and how the upcall ended.
struct Observed {
    negative_while_blocked: bool,
    request: Result<(), Option<i32>>,
    upcalls: Vec<Upcall>,
}

fn run_with_full_log_queue(probe: PathBuf, mode: &'static str) -> Observed {
    run_with_full_log_queue_for(probe, mode, Duration::from_secs(10))
}

/// As [`run_with_full_log_queue`], keeping the queue full for `blocked` before draining it.
fn run_with_full_log_queue_for(probe: PathBuf, mode: &'static str, blocked: Duration) -> Observed {
    let description = format!("kuptest:blocked-syslog-{mode}-{}", std::process::id());
    let log = FullDevLog::take(Duration::from_mins(2)).expect("/dev/log can be bound");
    let filled = log.fill().expect("the /dev/log queue fills");
    assert!(filled > 0);
    let (started, start) = mpsc::channel();
    let wanted = description.clone();
    let requester = thread::spawn(move || {
        let route = Route::with_timeout(&[probe.to_str().unwrap(), mode, "%k"], Duration::from_mins(1))
            .expect("a route");
        let _ = started.send(());
        let request = route
            .request("user", wanted.as_bytes(), b"")
            .map(drop)
            .map_err(|error| error.raw_os_error());
        (request, route.upcalls().unwrap_or_default())
    });
    let _ = start.recv_timeout(Duration::from_secs(30));
    // The helper is stuck in syslog from its first log line on; its key must be negative by then.
    let watch_until = Instant::now() + blocked;
    let mut negative_while_blocked = false;
    while Instant::now() < watch_until && !requester.is_finished() {
        let negative = proc_keys::read()
            .unwrap_or_default()
            .iter()
            .any(|key| key.flags.negative && key.description.starts_with(description.as_bytes()));
        if negative {
            negative_while_blocked = !requester.is_finished();
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    log.drain_until(|| requester.is_finished(), Duration::from_mins(1));
    drop(log);
    let (request, upcalls) = requester.join().expect("the requester thread");
    Observed {
        negative_while_blocked,
        request,
        upcalls,
    }
}

/// Both cases share `/dev/log`: run them one after the other.
#[test]
fn a_failing_helper_finishes_its_key_before_it_blocks_in_syslog() {
    let probe = workspace_example("kup-runtime", "guard_probe").unwrap();

    let reported = run_with_full_log_queue(probe.clone(), "error");
    assert!(
        reported.negative_while_blocked,
        "report: the key was not negative while the helper was blocked in syslog"
    );
    assert_eq!(reported.request, Err(Some(libc::ENOKEY)));
    assert_eq!(
        reported.upcalls.first().map(|upcall| &upcall.status),
        Some(&UpcallStatus::Exited(3)),
        "{:?}",
        reported.upcalls
    );

    let panicked = run_with_full_log_queue(probe, "panic");
    assert!(
        panicked.negative_while_blocked,
        "panic hook: the key was not negative while the helper was blocked in syslog"
    );
    assert_eq!(panicked.request, Err(Some(libc::ENOKEY)));
    assert!(
        matches!(
            panicked.upcalls.first().map(|upcall| &upcall.status),
            Some(UpcallStatus::Exited(101) | UpcallStatus::Signaled(6))
        ),
        "{:?}",
        panicked.upcalls
    );
}

/// The deadline ends a helper stuck in glibc's `syslog` (the main thread blocked in `sendto`,
/// holding syslog's lock): its signal handler negates the key and exits without going through
/// syslog, while nothing drains the queue.
#[test]
fn a_helper_stuck_in_syslog_is_ended_by_its_deadline() {
    let probe = workspace_example("kup-runtime", "guard_probe").unwrap();
    // The probe's deadline is 3 s; the queue stays full for 10 s unless the helper ends first.
    let stuck = run_with_full_log_queue_for(probe, "hang-in-syslog", Duration::from_secs(10));
    assert_eq!(stuck.request, Err(Some(libc::ENOKEY)));
    let upcall = stuck.upcalls.first().expect("one upcall");
    assert_eq!(
        upcall.status,
        UpcallStatus::Exited(12),
        "the probe's deadline exit: {upcall:?}"
    );
    assert!(
        upcall.duration >= Duration::from_secs(3) && upcall.duration < Duration::from_secs(8),
        "ended {:?} after the start: by the deadline, not by the drain",
        upcall.duration
    );
}
