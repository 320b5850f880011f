//! The start-up skeleton every one-shot helper shares, and the guard that finishes its key.
//!
//! A helper started by `/sbin/request-key` holds the authority to construct one key. If it exits
//! without instantiating, negating or rejecting it, the kernel negates the key for 60 s; if it
//! hangs, the requester (often a mount) hangs with it. So every helper:
//!
//! 1. calls [`start`] first: fds 0-2 open (on `/dev/null` if closed), an explicit umask, the
//!    environment rebuilt from scratch, syslog opened with the original's ident, a panic hook
//!    installed that finishes the key under construction and then logs the panic, and the total
//!    deadline armed ([`crate::deadline`]);
//! 2. wraps the key in a [`KeyGuard`] as soon as it knows the serial, naming what a failure
//!    means for this tool (negate with a timeout, reject with an errno, or leave it to the
//!    kernel where the reference does and decisions.md does not say otherwise);
//! 3. ends through [`report`], which finishes the key a [`Failure`]'s way, then logs it, and
//!    returns the tool's exit code.
//!
//! The key always comes before the log line: glibc's syslog blocks while the `/dev/log` queue is
//! full, and the requester waits on the key.
//!
//! The guard finishes the key on `Drop` too, so an early `?` return cannot leave it pending, and
//! the panic hook covers `panic = "abort"` builds, where `Drop` never runs.

use std::ffi::{CStr, OsStr};
use std::fmt;
use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

use kup_sys::keyctl;
use kup_sys::syslog::{self, Severity};
use kup_sys::{KeySerial, process};

pub use crate::deadline::Deadline;

/// The `PATH` request-key gives its helpers, and the one we rebuild.
pub const HELPER_PATH: &str = "/sbin:/bin:/usr/sbin:/usr/bin";

/// Longest attacker-shaped string we put in a log line: [`Printable`] shows at most this many
/// input bytes (each as one to four characters), then `...`.
pub const LOG_VALUE_LIMIT: usize = 256;

/// Most syslog lines one process writes. One upcall's input can otherwise produce a line per
/// element (a DNS answer: one per malformed record, thousands for 64 KiB), and glibc's `syslog`
/// blocks while `/dev/log`'s queue is full. 32 is above what any normal run writes (the most
/// verbose upcalls write about a dozen), so the lines the compliance suites compare with the
/// references are never suppressed.
pub const LOG_LINE_BUDGET: u32 = 32;

/// The one line written in place of everything past [`LOG_LINE_BUDGET`] (at `LOG_WARNING`).
pub const SUPPRESSED_LINE: &str = "further messages suppressed";

/// Syslog lines written (or refused) by this process so far.
static LOG_LINES: AtomicU32 = AtomicU32::new(0);

/// What a helper needs to know at start-up.
#[derive(Clone, Copy, Debug)]
pub struct StartOptions {
    /// The syslog ident of the C original (e.g. `c"nfsidmap"`).
    pub ident: &'static CStr,
    /// `openlog` options of the C original (e.g. [`syslog::OPTION_PID`], or 0).
    pub log_options: i32,
    /// The syslog facility of the C original.
    pub facility: i32,
    /// The umask to run with.
    pub umask: u32,
    /// Environment variables carried over from the caller's environment (everything else is
    /// dropped; `PATH` is always [`HELPER_PATH`] and `HOME` is `/`).
    pub keep_environment: &'static [&'static str],
    /// The total deadline of the run ([`crate::deadline`]); `None` only for programs that are
    /// not request-key helpers.
    pub deadline: Option<Deadline>,
}

impl StartOptions {
    /// Options for a helper with this ident logging to `LOG_DAEMON` without the pid.
    #[must_use]
    pub const fn daemon(ident: &'static CStr) -> Self {
        Self {
            ident,
            log_options: 0,
            facility: syslog::FACILITY_DAEMON,
            umask: 0o022,
            keep_environment: &[],
            deadline: Some(Deadline::new(crate::deadline::DEFAULT_LIMIT, 1)),
        }
    }

    /// The same options with this total deadline.
    #[must_use]
    pub const fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

#[derive(Debug)]
struct Logger {
    /// Mirror log lines on stderr (interactive use, debug modes).
    stderr: AtomicBool,
    /// Messages at `Debug` severity are written only at verbosity > 0.
    verbosity: AtomicU32,
    ident: &'static CStr,
    /// `openlog` options and facility, for lines written around libc's syslog (the deadline's
    /// signal handler).
    log_options: i32,
    facility: i32,
}

/// Prepares the process (see the module documentation) and arms its total deadline. Call it
/// first in `main`, while the process is still single-threaded.
pub fn start(options: &StartOptions) -> io::Result<()> {
    process::ensure_standard_fds()?;
    let _previous = process::set_umask(options.umask);
    let kept: Vec<(&OsStr, std::ffi::OsString)> = options
        .keep_environment
        .iter()
        .filter_map(|&name| std::env::var_os(name).map(|value| (OsStr::new(name), value)))
        .filter(|(name, _)| *name != "PATH" && *name != "HOME")
        .collect();
    let mut environment: Vec<(&OsStr, &OsStr)> = vec![
        (OsStr::new("HOME"), OsStr::new("/")),
        (OsStr::new("PATH"), OsStr::new(HELPER_PATH)),
    ];
    environment.extend(kept.iter().map(|(name, value)| (*name, value.as_os_str())));
    process::replace_environment(&environment)?;
    syslog::open(options.ident, options.log_options, options.facility);
    let _ = LOGGER.set(Logger {
        stderr: AtomicBool::new(false),
        verbosity: AtomicU32::new(0),
        ident: options.ident,
        log_options: options.log_options,
        facility: options.facility,
    });
    install_panic_hook();
    if let Some(deadline) = options.deadline {
        crate::deadline::arm(deadline)?;
    }
    Ok(())
}

/// Mirrors log lines on stderr (the C tools do this in their debug or interactive modes).
pub fn log_to_stderr(enable: bool) {
    if let Some(logger) = LOGGER.get() {
        logger.stderr.store(enable, Ordering::Relaxed);
    }
}

/// Whether stderr is a terminal (for tools that log there only when interactive).
#[must_use]
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Sets the verbosity (`-v` count); debug messages need at least 1.
pub fn set_verbosity(level: u32) {
    if let Some(logger) = LOGGER.get() {
        logger.verbosity.store(level, Ordering::Relaxed);
    }
}

/// The current verbosity.
#[must_use]
pub fn verbosity() -> u32 {
    LOGGER
        .get()
        .map_or(0, |logger| logger.verbosity.load(Ordering::Relaxed))
}

/// Logs one message to syslog (and stderr when enabled), within the process's
/// [`LOG_LINE_BUDGET`]. Debug messages are dropped at verbosity 0. Put attacker-shaped values
/// through [`Printable`].
pub fn log(severity: Severity, message: &str) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    if severity == Severity::Debug && logger.verbosity.load(Ordering::Relaxed) == 0 {
        return;
    }
    if !syslog_line(severity, message) {
        return;
    }
    if logger.stderr.load(Ordering::Relaxed) {
        let _ = writeln!(
            io::stderr().lock(),
            "{}: {message}",
            logger.ident.to_string_lossy()
        );
    }
}

/// Writes one line to syslog unless this process has written [`LOG_LINE_BUDGET`] lines already;
/// the first line past the budget is replaced by [`SUPPRESSED_LINE`], later ones are dropped.
/// Returns whether `message` was written. Every syslog line of every tool goes through here
/// (directly, or through [`log`]); `scripts/fences` refuses direct `kup_sys::syslog::log` calls
/// outside this module.
pub fn syslog_line(severity: Severity, message: &str) -> bool {
    let used = LOG_LINES
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            Some(used.saturating_add(1))
        })
        .unwrap_or(u32::MAX);
    match used.cmp(&LOG_LINE_BUDGET) {
        std::cmp::Ordering::Less => {
            syslog::log(severity, message);
            true
        }
        std::cmp::Ordering::Equal => {
            syslog::log(Severity::Warning, SUPPRESSED_LINE);
            false
        }
        std::cmp::Ordering::Greater => false,
    }
}

/// Displays bytes from an untrusted source: printable ASCII as is, everything else (and `\`) as
/// `\xHH`, cut to [`LOG_VALUE_LIMIT`] input bytes with a `...` marker.
#[derive(Clone, Copy)]
pub struct Printable<'a>(pub &'a [u8]);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (shown, cut) = match self.0.get(..LOG_VALUE_LIMIT) {
            Some(head) if self.0.len() > LOG_VALUE_LIMIT => (head, true),
            _ => (self.0, false),
        };
        for &byte in shown {
            if (byte == b' ' || byte.is_ascii_graphic()) && byte != b'\\' {
                write!(formatter, "{}", char::from(byte))?;
            } else {
                write!(formatter, "\\x{byte:02x}")?;
            }
        }
        if cut {
            formatter.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Printable<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "\"{self}\"")
    }
}

/// A value that must never reach a log line or a panic message (tickets, session keys,
/// passwords). Its `Debug` and `Display` print `<redacted>`.
pub struct Secret<T>(pub T);

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("<redacted>")
    }
}

/// How a key is finished when the helper fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// `KEYCTL_NEGATE` with this timeout: requesters get `ENOKEY` until it expires.
    Negate {
        /// Seconds the negative key stays cached.
        timeout_secs: u32,
    },
    /// `KEYCTL_REJECT` with this errno and timeout.
    Reject {
        /// Seconds the negative key stays cached.
        timeout_secs: u32,
        /// The errno requesters get.
        errno: i32,
    },
    /// Do not touch the key: the kernel negates it for 60 s when the helper exits. Only for
    /// reproducing a reference that does this where decisions.md keeps it.
    LeaveToKernel,
}

impl Disposition {
    /// What the kernel does to a key its helper left unfinished: negate for 60 s.
    pub const KERNEL_DEFAULT: Self = Self::Negate { timeout_secs: 60 };

    fn apply(self, key: KeySerial) -> io::Result<()> {
        match self {
            Self::Negate { timeout_secs } => keyctl::negate(key, timeout_secs, KeySerial::NONE),
            Self::Reject { timeout_secs, errno } => keyctl::reject(key, timeout_secs, errno, KeySerial::NONE),
            Self::LeaveToKernel => Ok(()),
        }
    }
}

/// The key under construction, finished on every path.
///
/// Success paths call [`KeyGuard::instantiate`] (or `negate`/`reject` where a negative answer
/// is the right one). Anything else (an error returned with `?`, an early return, a panic)
/// finishes the key with the guard's failure [`Disposition`].
#[derive(Debug)]
pub struct KeyGuard {
    key: KeySerial,
    on_failure: Disposition,
    finished: bool,
}

/// The key under construction as the panic hook and the deadline's signal handler see it (readable
/// without locks from any thread): 0 when there is none or it is finished, [`FINISHING`] while one
/// thread is finishing it, its serial otherwise. Whoever swaps the serial out (a *claim*) is the
/// one that finishes the key, so it is finished exactly once even when the deadline fires
/// while the main thread instantiates.
static ACTIVE_KEY: AtomicI32 = AtomicI32::new(0);
/// The published key's failure disposition, packed into one word so that a reader never sees
/// half of an update ([`pack`]).
static ACTIVE_DISPOSITION: AtomicU64 = AtomicU64::new(0);
/// The serial of the key while [`ACTIVE_KEY`] says [`FINISHING`]: the deadline's signal handler
/// may interrupt the very code that is finishing it.
static FINISHING_KEY: AtomicI32 = AtomicI32::new(0);
/// The last key claimed by [`claim_published`] (the panic hook or the deadline), so that its
/// guard, dropped while unwinding, does not finish it a second time.
static TAKEN_KEY: AtomicI32 = AtomicI32::new(0);

/// [`ACTIVE_KEY`] while a claimed key is being finished (serials are positive).
const FINISHING: i32 = -1;

const KIND_NEGATE: u64 = 1;
const KIND_REJECT: u64 = 2;
const KIND_LEAVE: u64 = 3;

/// `kind` in bits 48..56, the errno's low 16 bits in 32..48, the timeout in 0..32.
fn pack(disposition: Disposition) -> u64 {
    let (kind, timeout, errno) = match disposition {
        Disposition::Negate { timeout_secs } => (KIND_NEGATE, timeout_secs, 0),
        Disposition::Reject { timeout_secs, errno } => (KIND_REJECT, timeout_secs, errno),
        Disposition::LeaveToKernel => (KIND_LEAVE, 0, 0),
    };
    let errno = u64::from(u16::try_from(errno).unwrap_or(u16::MAX));
    (kind << 48) | (errno << 32) | u64::from(timeout)
}

fn unpack(packed: u64) -> Disposition {
    let timeout_secs = u32::try_from(packed & 0xffff_ffff).unwrap_or(u32::MAX);
    let errno = i32::from(u16::try_from((packed >> 32) & 0xffff).unwrap_or(u16::MAX));
    match packed >> 48 {
        KIND_REJECT => Disposition::Reject { timeout_secs, errno },
        KIND_LEAVE => Disposition::LeaveToKernel,
        _ => Disposition::Negate { timeout_secs },
    }
}

fn publish(key: KeySerial, disposition: Disposition) {
    ACTIVE_DISPOSITION.store(pack(disposition), Ordering::SeqCst);
    ACTIVE_KEY.store(key.get(), Ordering::SeqCst);
}

/// Who finishes a guard's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claim {
    /// This thread claimed the published key: it finishes it, then calls [`release`].
    Mine,
    /// The key is not the published one (another guard replaced it): this thread finishes it.
    Untracked,
    /// The panic hook already finished this key.
    AlreadyFinished,
}

fn claim(key: KeySerial) -> Claim {
    FINISHING_KEY.store(key.get(), Ordering::SeqCst);
    match ACTIVE_KEY.compare_exchange(key.get(), FINISHING, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => Claim::Mine,
        Err(_) if TAKEN_KEY.load(Ordering::SeqCst) == key.get() => Claim::AlreadyFinished,
        Err(_) => Claim::Untracked,
    }
}

/// Ends a [`Claim::Mine`]: the key is finished.
fn release() {
    let _ = ACTIVE_KEY.compare_exchange(FINISHING, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// Claims whatever key is published (panic hook, deadline): its serial and disposition,
/// or `None` when there is none or another thread is finishing it.
pub(crate) fn claim_published() -> Option<(KeySerial, Disposition)> {
    let mut current = ACTIVE_KEY.load(Ordering::SeqCst);
    while current > 0 {
        let disposition = unpack(ACTIVE_DISPOSITION.load(Ordering::SeqCst));
        match ACTIVE_KEY.compare_exchange(current, FINISHING, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => {
                TAKEN_KEY.store(current, Ordering::SeqCst);
                return Some((KeySerial::new(current), disposition));
            }
            Err(now) => current = now,
        }
    }
    None
}

/// Finishes the published key, if any, with its published disposition; `Some` with the result
/// when this call finished it.
pub(crate) fn finish_published() -> Option<(KeySerial, Disposition, io::Result<()>)> {
    let (key, disposition) = claim_published()?;
    let result = disposition.apply(key);
    release();
    Some((key, disposition, result))
}

/// What the deadline's signal handler did to the published key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeadlineOutcome {
    /// No key was published (none yet, or it was finished already).
    NoKey,
    /// The handler finished `key` with `disposition`; `result` is the kernel's answer (an errno
    /// on refusal). `interrupted`: the code the signal interrupted was finishing this key itself.
    Finished {
        key: KeySerial,
        disposition: Disposition,
        result: Result<(), i32>,
        interrupted: bool,
    },
}

/// Finishes the published key from the deadline's signal handler, which runs on the main thread
/// in the middle of whatever it was doing and ends the process: nothing else runs after it, so it
/// may take a key the interrupted code had claimed but perhaps not finished yet. Async-signal-safe:
/// atomics and one `keyctl` system call.
pub(crate) fn finish_for_deadline() -> DeadlineOutcome {
    let current = ACTIVE_KEY.swap(FINISHING, Ordering::SeqCst);
    let (serial, interrupted) = match current {
        FINISHING => (FINISHING_KEY.load(Ordering::SeqCst), true),
        serial => (serial, false),
    };
    if serial <= 0 {
        return DeadlineOutcome::NoKey;
    }
    let key = KeySerial::new(serial);
    let disposition = unpack(ACTIVE_DISPOSITION.load(Ordering::SeqCst));
    let result = disposition
        .apply(key)
        .map_err(|error| error.raw_os_error().unwrap_or(0));
    DeadlineOutcome::Finished {
        key,
        disposition,
        result,
        interrupted,
    }
}

/// Writes one log line from a signal handler: straight to `/dev/log` without blocking (see
/// [`kup_sys::syslog::send_datagram`]), as glibc's `syslog` would format it but with a UTC
/// timestamp, and to stderr when the tool mirrors its log there. Within the line budget.
/// Async-signal-safe: no allocation, no lock.
pub(crate) fn log_from_signal_handler(severity: Severity, message: &str) {
    use crate::deadline::{LineBuffer, SyslogTimestamp};
    use std::fmt::Write as _;
    let Some(logger) = LOGGER.get() else {
        return;
    };
    let used = LOG_LINES.fetch_add(1, Ordering::Relaxed);
    if used >= LOG_LINE_BUDGET {
        return;
    }
    let ident = logger.ident.to_str().unwrap_or("kup");
    let mut datagram = LineBuffer::new();
    let _ = write!(
        datagram,
        "<{}>{} {ident}",
        logger.facility | severity as i32,
        SyslogTimestamp(std::time::SystemTime::now())
    );
    if logger.log_options & syslog::OPTION_PID != 0 {
        let _ = write!(datagram, "[{}]", std::process::id());
    }
    let _ = write!(datagram, ": {message}");
    let _ = syslog::send_datagram(datagram.as_bytes());
    if logger.stderr.load(Ordering::Relaxed) {
        let mut line = LineBuffer::new();
        let _ = writeln!(line, "{ident}: {message}");
        process::write_stderr(line.as_bytes());
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The key first: logging can block (a full /dev/log queue blocks glibc's syslog), and
        // the requester waits on the key, not on our log line.
        let finished = finish_published();
        let location = info
            .location()
            .map(|location| format!(" at {}:{}", location.file(), location.line()));
        let outcome = match finished {
            Some((_, _, Err(error))) => format!("; could not finish the key: {error}"),
            Some((_, _, Ok(()))) => "; key finished".to_owned(),
            None => String::new(),
        };
        log(
            Severity::Error,
            &format!("internal error (panic){}{outcome}", location.unwrap_or_default()),
        );
        previous(info);
    }));
}

impl KeyGuard {
    /// Guards `key`; a failure finishes it with `on_failure`.
    #[must_use]
    pub fn new(key: KeySerial, on_failure: Disposition) -> Self {
        publish(key, on_failure);
        Self {
            key,
            on_failure,
            finished: false,
        }
    }

    /// The guarded key.
    #[must_use]
    pub fn key(&self) -> KeySerial {
        self.key
    }

    /// Changes what a failure means from here on (e.g. once the request type is known).
    pub fn set_failure(&mut self, on_failure: Disposition) {
        self.on_failure = on_failure;
        if ACTIVE_KEY.load(Ordering::SeqCst) == self.key.get() {
            ACTIVE_DISPOSITION.store(pack(on_failure), Ordering::SeqCst);
        }
    }

    /// `KEYCTL_SET_TIMEOUT` on the key: call before instantiating (afterwards the authority is
    /// gone and the kernel refuses).
    pub fn set_timeout(&self, seconds: u32) -> io::Result<()> {
        keyctl::set_timeout(self.key, seconds)
    }

    /// Instantiates the key. On error the key is finished with the failure disposition before
    /// the error is returned.
    pub fn instantiate(self, payload: &[u8]) -> io::Result<()> {
        self.complete(|key| keyctl::instantiate(key, payload, KeySerial::NONE))
    }

    /// Instantiates the key from segments the kernel concatenates.
    pub fn instantiate_iov(self, segments: &[&[u8]]) -> io::Result<()> {
        self.complete(|key| keyctl::instantiate_iov(key, segments, KeySerial::NONE))
    }

    /// Negates the key as a deliberate answer (not a failure).
    pub fn negate(self, timeout_secs: u32) -> io::Result<()> {
        self.complete(|key| keyctl::negate(key, timeout_secs, KeySerial::NONE))
    }

    /// Rejects the key with `errno` as a deliberate answer.
    pub fn reject(self, timeout_secs: u32, errno: i32) -> io::Result<()> {
        self.complete(|key| keyctl::reject(key, timeout_secs, errno, KeySerial::NONE))
    }

    /// Finishes the key with the failure disposition now.
    pub fn fail(mut self) -> io::Result<()> {
        let disposition = self.on_failure;
        self.finish_with(|key| disposition.apply(key))
    }

    fn complete(mut self, operation: impl FnOnce(KeySerial) -> io::Result<()>) -> io::Result<()> {
        let on_failure = self.on_failure;
        self.finish_with(|key| {
            let result = operation(key);
            if result.is_err() {
                let _ = on_failure.apply(key);
            }
            result
        })
    }

    /// Runs `finish` on the key, once: unless the panic hook finished it already.
    fn finish_with(&mut self, finish: impl FnOnce(KeySerial) -> io::Result<()>) -> io::Result<()> {
        self.finished = true;
        match claim(self.key) {
            Claim::Mine => {
                let result = finish(self.key);
                release();
                result
            }
            Claim::Untracked => finish(self.key),
            Claim::AlreadyFinished => Ok(()),
        }
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if !self.finished {
            let disposition = self.on_failure;
            let _ = self.finish_with(|key| disposition.apply(key));
        }
    }
}

/// A helper failure: what to log, which exit code, and (through the guard) how the key ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The log line (attacker-shaped parts already through [`Printable`]).
    pub message: String,
    /// Its severity.
    pub severity: Severity,
    /// The exit code of the C original for this failure.
    pub exit_code: u8,
    /// How the key is finished; `None` keeps the guard's own failure disposition.
    pub disposition: Option<Disposition>,
}

impl Failure {
    /// An error-severity failure with the given exit code and the guard's disposition.
    #[must_use]
    pub fn new(exit_code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            severity: Severity::Error,
            exit_code,
            disposition: None,
        }
    }

    /// The same failure finishing the key a specific way.
    #[must_use]
    pub fn with_disposition(mut self, disposition: Disposition) -> Self {
        self.disposition = Some(disposition);
        self
    }
}

/// Ends a helper run: on failure finishes the key (if a guard is left) the failure's way, then
/// logs the failure; returns the exit code (`0` on success). The key comes first because logging
/// can block (glibc's syslog waits while the `/dev/log` queue is full) and the requester waits on
/// the key.
#[must_use = "the exit code is what main returns"]
pub fn report(result: Result<(), Failure>, guard: Option<KeyGuard>) -> ExitCode {
    match result {
        Ok(()) => {
            drop(guard);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let finished = guard.map(|mut guard| {
                if let Some(disposition) = failure.disposition {
                    guard.set_failure(disposition);
                }
                guard.fail()
            });
            log(failure.severity, &failure.message);
            if let Some(Err(error)) = finished {
                log(Severity::Error, &format!("could not finish the key: {error}"));
            }
            ExitCode::from(failure.exit_code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_bytes_and_backslashes() {
        assert_eq!(Printable(b"a b\n\\\xff").to_string(), "a b\\x0a\\x5c\\xff");
    }

    #[test]
    fn printable_cuts_long_values() {
        let long = vec![b'x'; LOG_VALUE_LIMIT + 10];
        let shown = Printable(&long).to_string();
        assert_eq!(shown.len(), LOG_VALUE_LIMIT + 3);
        assert!(shown.ends_with("..."));
    }

    #[test]
    fn printable_shows_terminal_escapes_as_text() {
        let shown = Printable(b"x\x1b]0;t\x07\x1b[2J\r\n\x7f").to_string();
        assert_eq!(shown, "x\\x1b]0;t\\x07\\x1b[2J\\x0d\\x0a\\x7f");
        assert!(!shown.bytes().any(|byte| byte.is_ascii_control()));
    }

    #[test]
    fn secrets_never_print_their_content() {
        let secret = Secret("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
    }

    #[test]
    fn dispositions_survive_packing() {
        for disposition in [
            Disposition::Negate { timeout_secs: 0 },
            Disposition::Negate {
                timeout_secs: u32::MAX,
            },
            Disposition::Reject {
                timeout_secs: 60,
                errno: 61,
            },
            Disposition::LeaveToKernel,
        ] {
            assert_eq!(unpack(pack(disposition)), disposition);
        }
    }

    /// A guard finishing its key races another claim (the panic hook's, on another thread):
    /// exactly one of them finishes it,
    /// every time. (No syscalls: this drives the claim protocol alone, on made-up serials.)
    #[test]
    fn a_published_key_is_claimed_by_exactly_one_finisher() {
        use std::sync::Barrier;
        use std::sync::atomic::AtomicUsize;
        for round in 1..=2_000 {
            let key = KeySerial::new(1_000_000 + round);
            publish(key, Disposition::Negate { timeout_secs: 1 });
            let finishers = AtomicUsize::new(0);
            let barrier = Barrier::new(2);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    barrier.wait();
                    if claim(key) == Claim::Mine {
                        finishers.fetch_add(1, Ordering::SeqCst);
                        release();
                    }
                });
                scope.spawn(|| {
                    barrier.wait();
                    if let Some((claimed, _)) = claim_published() {
                        assert_eq!(claimed, key);
                        finishers.fetch_add(1, Ordering::SeqCst);
                        release();
                    }
                });
            });
            assert_eq!(finishers.load(Ordering::SeqCst), 1, "round {round}");
            assert_eq!(ACTIVE_KEY.load(Ordering::SeqCst), 0);
        }
    }

    #[test]
    fn failure_builder_sets_disposition() {
        let failure = Failure::new(2, "x").with_disposition(Disposition::Negate { timeout_secs: 1 });
        assert_eq!(failure.exit_code, 2);
        assert_eq!(failure.disposition, Some(Disposition::Negate { timeout_secs: 1 }));
    }
}
