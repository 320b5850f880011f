//! Logging for the one long-running kup program, the gssproxy daemon.
//!
//! The one-shot helpers write at most a fixed number of syslog lines per process
//! ([`crate::helper::syslog_line`]); a daemon lives for months, so it gets a rate instead: at
//! most [`LINES_PER_WINDOW`] lines per [`WINDOW`], then one line saying that lines were dropped,
//! and nothing more until the window ends. A client that makes every request fail therefore
//! cannot flood the log (glibc's `syslog` blocks on a full `/dev/log`, and the daemon's
//! workers would block with it).
//!
//! Debug output (the reference's `-d`/`--debug-level`/`debug_level`) goes to stderr only, as the
//! reference's does, when the level set with [`set_debug_level`] reaches the message's level.

use std::ffi::CStr;
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kup_sys::syslog::{self, Severity};

/// Most syslog lines per [`WINDOW`].
pub const LINES_PER_WINDOW: u32 = 100;
/// The rate window.
pub const WINDOW: Duration = Duration::from_secs(10);
/// The line written in place of the first line over the rate.
pub const SUPPRESSED_LINE: &str = "too many log lines: dropping lines for the rest of this 10 s window";

static DEBUG_LEVEL: AtomicU32 = AtomicU32::new(0);
static RATE: Mutex<Option<(Instant, u32)>> = Mutex::new(None);

/// `openlog(ident, options, facility)`.
pub fn open(ident: &'static CStr, options: i32, facility: i32) {
    syslog::open(ident, options, facility);
}

/// Sets the debug level (0: no debug output).
pub fn set_debug_level(level: u32) {
    DEBUG_LEVEL.store(level, Ordering::Relaxed);
}

/// The debug level.
#[must_use]
pub fn debug_level() -> u32 {
    DEBUG_LEVEL.load(Ordering::Relaxed)
}

/// Writes `message` to syslog at `severity`, within the rate.
pub fn log(severity: Severity, message: &str) {
    match admit(Instant::now()) {
        Admission::Write => syslog::log(severity, message),
        Admission::Suppress => syslog::log(Severity::Warning, SUPPRESSED_LINE),
        Admission::Drop => {}
    }
}

/// Writes `message` to stderr when the debug level is at least `level`.
pub fn debug(level: u32, message: &str) {
    if debug_level() >= level {
        let mut line = String::with_capacity(message.len().saturating_add(1));
        line.push_str(message);
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Admission {
    Write,
    Suppress,
    Drop,
}

fn admit(now: Instant) -> Admission {
    let mut rate = RATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    admit_in(&mut rate, now)
}

fn admit_in(rate: &mut Option<(Instant, u32)>, now: Instant) -> Admission {
    let (start, count) = match rate {
        Some((start, count)) if now.saturating_duration_since(*start) < WINDOW => (*start, *count),
        _ => (now, 0),
    };
    let count = count.saturating_add(1);
    *rate = Some((start, count));
    if count <= LINES_PER_WINDOW {
        Admission::Write
    } else if count == LINES_PER_WINDOW.saturating_add(1) {
        Admission::Suppress
    } else {
        Admission::Drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_over_the_rate_are_replaced_once_then_dropped_until_the_window_ends() {
        let mut rate = None;
        let start = Instant::now();
        for _ in 0..LINES_PER_WINDOW {
            assert_eq!(admit_in(&mut rate, start), Admission::Write);
        }
        assert_eq!(admit_in(&mut rate, start), Admission::Suppress);
        assert_eq!(admit_in(&mut rate, start + WINDOW / 2), Admission::Drop);
        assert_eq!(admit_in(&mut rate, start + WINDOW), Admission::Write);
    }
}
