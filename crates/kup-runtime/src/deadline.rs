//! One total deadline per helper run (decisions.md 10): after it, the key is finished the
//! guard's failure way and the process exits, whatever the main thread is blocked in.
//!
//! The kernel waits for a request-key helper to *exit*, not only for its key, and the requester
//! waits uninterruptibly all that time. The C originals have no total bound: a DNS server that
//! answers SRV but never A/AAAA keeps `key.dns_resolver` in one `getaddrinfo` after another for
//! minutes; an NSS module, the classic resolver or a cifs idmap plugin can block as long as its
//! library lets it. So [`crate::helper::start`] arms a one-shot timer here
//! ([`kup_sys::timer::arm_thread_timer`]) that interrupts the main thread with [`signal`] when
//! the deadline passes. The handler:
//!
//! 1. finishes the published key with its guard's failure disposition (negate or reject with the
//!    tool's short timeout), claiming it as the guard and the panic hook do, so it is finished
//!    exactly once; if the interrupted code was finishing that key itself, the handler finishes
//!    it anyway (if the key was already answered the kernel refuses, and the answer stands);
//! 2. kills the child registered with [`supervise_child`], if any;
//! 3. sends one log line straight to `/dev/log`, without blocking ([`kup_sys::syslog::send_datagram`];
//!    glibc's `syslog` could be the very call the main thread is blocked in, holding its lock),
//!    and to stderr when the tool mirrors its log there;
//! 4. ends the process with `_exit` and the tool's failure exit code.
//!
//! Every step is async-signal-safe: atomics, raw system calls, formatting into a stack buffer.
//!
//! Why a signal and not a watchdog thread (what this module used until 2026-12-06): a thread costs
//! every upcall a stack mapping, a `clone3` and a second task for the kernel to schedule and tear
//! down: 4–9% of a helper's CPU time, measured (`docs/benchmarks.md`), where a timer is three
//! system calls. What the thread could do and the signal cannot: finish the key while the main
//! thread sits in an uninterruptible (`D`) wait, or while it keeps the signal blocked. Neither
//! happens in our helpers' blocking calls (sockets, `flock`, `poll`, sleeps: all interruptible;
//! the libraries they call do not block real-time signals), and in a `D` wait a thread could not
//! end the process either. The signal is real-time ([`signal`], `SIGRTMAX - 1`) and directed at
//! the thread that armed it, so libraries that use `SIGALRM` for their own timeouts neither take
//! it nor get it; a process that ignored the signal would not be a helper of ours.
//!
//! The limit is a compile-time constant per tool (the references have no option for it, and the
//! environment is rebuilt at start-up, so it cannot come from there). It covers the whole run, from
//! [`crate::helper::start`] on: configuration reads, lookups, plugin calls, logging.

use std::fmt::{self, Write as _};
use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kup_sys::process::{self, Signal};
use kup_sys::syslog::Severity;
use kup_sys::timer;

use crate::helper::{self, DeadlineOutcome, Disposition};

/// The default total deadline of one helper run (decisions.md 10: at most 30 s).
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

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

/// The armed deadline, read by the signal handler (a lock-free load once set).
static ARMED: OnceLock<Deadline> = OnceLock::new();

/// The child the handler kills at the deadline (0: none).
static CHILD: AtomicI32 = AtomicI32::new(0);

/// The signal that carries the deadline: `SIGRTMAX - 1`, a real-time signal no library of ours
/// uses (see the module documentation).
#[must_use]
pub fn signal() -> i32 {
    timer::realtime_signal_max() - 1
}

/// Arms the deadline for the calling thread (the main thread, from [`crate::helper::start`]).
pub(crate) fn arm(deadline: Deadline) -> io::Result<()> {
    let _ = ARMED.set(deadline);
    timer::arm_thread_timer(deadline.limit, signal(), on_deadline)
}

/// Makes the deadline kill `pid` (with `SIGKILL`) before it ends this process: for a helper that
/// does part of its work in a child (cifs.upcall's credential child), so that the child never
/// outlives the upcall. Call [`release_child`] once the child is reaped.
pub fn supervise_child(pid: i32) {
    CHILD.store(pid, Ordering::SeqCst);
}

/// Forgets the child registered with [`supervise_child`].
pub fn release_child() {
    CHILD.store(0, Ordering::SeqCst);
}

/// The deadline's signal handler: async-signal-safe only (see the module documentation).
extern "C" fn on_deadline(_signal: std::ffi::c_int) {
    let Some(deadline) = ARMED.get().copied() else {
        return;
    };
    let outcome = helper::finish_for_deadline();
    let child = CHILD.swap(0, Ordering::SeqCst);
    if child > 0 {
        let _ = process::kill(child, Signal::Kill);
    }
    let mut message = LineBuffer::new();
    let _ = write!(
        message,
        "giving up after the {} s deadline: {}",
        deadline.limit.as_secs(),
        Describe(outcome)
    );
    helper::log_from_signal_handler(Severity::Error, message.as_str());
    process::exit_immediately(deadline.exit_code)
}

/// The handler's account of the key, in the words the log line uses.
struct Describe(DeadlineOutcome);

impl fmt::Display for Describe {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, disposition, result, interrupted) = match self.0 {
            DeadlineOutcome::NoKey => return formatter.write_str("no key left to finish"),
            DeadlineOutcome::Finished {
                key,
                disposition,
                result,
                interrupted,
            } => (key, disposition, result, interrupted),
        };
        write!(formatter, "key {}", key.get())?;
        if interrupted {
            formatter.write_str(" was being finished")?;
        } else {
            formatter.write_str(" unfinished")?;
        }
        match result {
            Err(errno) if interrupted => {
                write!(
                    formatter,
                    ", and the kernel refused to finish it again (errno {errno})"
                )
            }
            Err(errno) => write!(formatter, ", could not finish it (errno {errno})"),
            Ok(()) => match disposition {
                Disposition::Negate { timeout_secs } => {
                    write!(formatter, ", negated it for {timeout_secs} s")
                }
                Disposition::Reject { timeout_secs, errno } => {
                    write!(formatter, ", rejected it with error {errno} for {timeout_secs} s")
                }
                Disposition::LeaveToKernel => formatter.write_str(", left it to the kernel"),
            },
        }
    }
}

/// A fixed buffer that `write!` fills without allocating (a signal handler may not allocate);
/// what does not fit is cut off.
pub(crate) struct LineBuffer {
    bytes: [u8; Self::CAPACITY],
    len: usize,
}

impl LineBuffer {
    /// Room for one syslog datagram: header, tag and a short message.
    pub(crate) const CAPACITY: usize = 512;

    pub(crate) const fn new() -> Self {
        Self {
            bytes: [0; Self::CAPACITY],
            len: 0,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are copied in (cut at a character boundary), so this never fails.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Write for LineBuffer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = Self::CAPACITY - self.len;
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// The current time as syslog's classic timestamp (`Dec  6 04:58:01`), in UTC: a signal handler
/// cannot consult the time zone (glibc's `localtime` takes a lock). journald replaces the
/// timestamp with its own; rsyslog keeps it.
pub(crate) struct SyslogTimestamp(pub(crate) SystemTime);

impl fmt::Display for SyslogTimestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let seconds = self
            .0
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let days = i64::try_from(seconds / 86_400).unwrap_or(0);
        let of_day = seconds % 86_400;
        let (_, month, day) = civil_from_days(days);
        let month = MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)];
        write!(
            formatter,
            "{month} {day:>2} {:02}:{:02}:{:02}",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31), proleptic Gregorian (H. Hinnant's
/// well-known algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_syslogs_classic_form_in_utc() {
        let at = |secs: u64| SyslogTimestamp(UNIX_EPOCH + Duration::from_secs(secs)).to_string();
        assert_eq!(at(0), "Jan  1 00:00:00");
        // 2026-12-06 04:58:01 UTC
        assert_eq!(at(1_796_533_081), "Dec  6 04:58:01");
        // 2024-02-29 23:59:59 UTC (a leap day)
        assert_eq!(at(1_709_251_199), "Feb 29 23:59:59");
        // 2000-03-01 00:00:00 UTC
        assert_eq!(at(951_868_800), "Mar  1 00:00:00");
    }

    #[test]
    fn the_line_buffer_cuts_at_a_character_boundary() {
        let mut buffer = LineBuffer::new();
        let long = "é".repeat(LineBuffer::CAPACITY);
        let _ = buffer.write_str(&long);
        assert_eq!(buffer.as_bytes().len(), LineBuffer::CAPACITY);
        assert!(buffer.as_str().chars().all(|c| c == 'é'));
        let _ = buffer.write_str("more");
        assert_eq!(buffer.as_bytes().len(), LineBuffer::CAPACITY);
    }
}
