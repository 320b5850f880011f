//! One total deadline per helper run (decisions.md 10): after it, the key is finished the
//! guard's failure way and the process exits, whatever the main thread is blocked in.
//!
//! The kernel waits for a request-key helper to *exit*, not only for its key, and the requester
//! waits uninterruptibly all that time. The C originals have no total bound: a DNS server that
//! answers SRV but never A/AAAA keeps `key.dns_resolver` in one `getaddrinfo` after another for
//! minutes; an NSS module, the classic resolver or a cifs idmap plugin can block as long as its
//! library lets it. So [`crate::helper::start`] arms a watchdog thread here. At the deadline it:
//!
//! 1. marks the process as taken over, so that a thread about to finish the key waits for the
//!    exit instead (the key is finished exactly once: whoever claims it in the helper's
//!    [`KeyGuard`](crate::helper::KeyGuard) state finishes it; if the main thread is finishing
//!    it at that moment, the watchdog waits up to [`FINISH_WAIT`] for that to end);
//! 2. finishes the published key with its guard's failure disposition (negate or reject with the
//!    tool's short timeout), the same path the panic hook uses;
//! 3. logs one line, from a short-lived thread it waits for at most [`LOG_WAIT`] (glibc's syslog
//!    blocks on a full `/dev/log` queue, and the main thread may hold its lock);
//! 4. ends the process with `_exit` and the tool's failure exit code.
//!
//! Why a thread and not `alarm`/`timer_create` with a signal handler: a library the main thread
//! is blocked in may block or take over the signal (libraries use `SIGALRM` for their own
//! timeouts), a handler may only make async-signal-safe calls (no syslog, no allocation), and a
//! thread finishes the key even while the main thread sits in an uninterruptible wait. A plain
//! `std` thread needs none of Rust's runtime start-up, so it works under `kup_sys::entry!`.
//!
//! The limit is a compile-time constant per tool (the references have no option for it, and the
//! environment is rebuilt at start-up, so it cannot come from there). It covers the whole run, from
//! [`crate::helper::start`] on: configuration reads, lookups, plugin calls, logging.

use std::io;
use std::sync::{OnceLock, mpsc};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use kup_sys::process;
use kup_sys::syslog::Severity;

use crate::helper::{self, Disposition};

/// The default total deadline of one helper run (decisions.md 10: at most 30 s).
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// How long the watchdog waits for a key another thread is finishing at the deadline.
pub const FINISH_WAIT: Duration = Duration::from_secs(2);

/// How long the watchdog waits for its log line before exiting anyway.
pub const LOG_WAIT: Duration = Duration::from_secs(1);

/// Stack of the watchdog and of its logging thread: formatting one line and glibc's syslog.
const STACK_SIZE: usize = 64 * 1024;

/// A helper's total deadline and the exit status it ends with when the deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// Time allowed from [`crate::helper::start`] to exit.
    pub limit: Duration,
    /// The exit status when the deadline passes (the tool's usual failure status).
    pub exit_code: u8,
}

impl Deadline {
    /// A deadline of `limit` ending the process with `exit_code`.
    #[must_use]
    pub const fn new(limit: Duration, exit_code: u8) -> Self {
        Self { limit, exit_code }
    }
}

impl Default for Deadline {
    /// [`DEFAULT_LIMIT`], exit status 1.
    fn default() -> Self {
        Self::new(DEFAULT_LIMIT, 1)
    }
}

static WATCHDOG: OnceLock<ThreadId> = OnceLock::new();

/// Starts the watchdog thread for `deadline`.
pub(crate) fn arm(deadline: Deadline) -> io::Result<()> {
    let started = Instant::now();
    let watchdog = thread::Builder::new()
        .stack_size(STACK_SIZE)
        .spawn(move || expire(started, deadline))?;
    let _ = WATCHDOG.set(watchdog.thread().id());
    Ok(())
}

/// Whether the calling thread is the watchdog.
pub(crate) fn on_watchdog() -> bool {
    WATCHDOG.get() == Some(&thread::current().id())
}

/// Parks the calling thread until the watchdog ends the process.
pub(crate) fn wait_for_exit() -> ! {
    loop {
        thread::park();
    }
}

fn expire(started: Instant, deadline: Deadline) -> ! {
    // `sleep` restarts after signals; loop in case it ever returns early.
    while let Some(left) = deadline.limit.checked_sub(started.elapsed()) {
        if left.is_zero() {
            break;
        }
        thread::sleep(left);
    }
    helper::take_over();
    let outcome = if let Some((key, disposition, result)) = helper::finish_published() {
        let how = match disposition {
            Disposition::Negate { timeout_secs } => format!("negated it for {timeout_secs} s"),
            Disposition::Reject { timeout_secs, errno } => {
                format!("rejected it with error {errno} for {timeout_secs} s")
            }
            Disposition::LeaveToKernel => "left it to the kernel".to_owned(),
        };
        match result {
            Ok(()) => format!("key {} unfinished, {how}", key.get()),
            Err(error) => format!("key {} unfinished, could not finish it: {error}", key.get()),
        }
    } else {
        let waiting = Instant::now();
        while helper::finishing() && waiting.elapsed() < FINISH_WAIT {
            thread::sleep(Duration::from_millis(1));
        }
        "no key left to finish".to_owned()
    };
    log_bounded(format!(
        "giving up after the {} s deadline: {outcome}",
        deadline.limit.as_secs()
    ));
    process::exit_immediately(deadline.exit_code)
}

/// Logs `message` from a helper thread, waiting at most [`LOG_WAIT`] for it.
fn log_bounded(message: String) {
    let (done, finished) = mpsc::channel();
    let spawned = thread::Builder::new().stack_size(STACK_SIZE).spawn(move || {
        helper::log(Severity::Error, &message);
        let _ = done.send(());
    });
    if spawned.is_ok() {
        let _ = finished.recv_timeout(LOG_WAIT);
    }
}
