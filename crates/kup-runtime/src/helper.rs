//! The start-up skeleton every one-shot helper shares, and the guard that finishes its key.
//!
//! A helper started by `/sbin/request-key` holds the authority to construct one key. If it exits
//! without instantiating, negating or rejecting it, the kernel negates the key for 60 s; if it
//! hangs, the requester (often a mount) hangs with it. So every helper:
//!
//! 1. calls [`start`] first: fds 0-2 open (on `/dev/null` if closed), an explicit umask, the
//!    environment rebuilt from scratch, syslog opened with the original's ident, and a panic
//!    hook installed that logs the panic and finishes the key under construction;
//! 2. wraps the key in a [`KeyGuard`] as soon as it knows the serial, naming what a failure
//!    means for this tool (negate with a timeout, reject with an errno, or leave it to the
//!    kernel where the reference does and decisions.md does not say otherwise);
//! 3. ends through [`report`], which logs a [`Failure`], finishes the key the failure's way and
//!    returns the tool's exit code.
//!
//! The guard finishes the key on `Drop` too, so an early `?` return cannot leave it pending, and
//! the panic hook covers `panic = "abort"` builds, where `Drop` never runs.

use std::ffi::{CStr, OsStr};
use std::fmt;
use std::io::{self, IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU32, Ordering};

use kup_sys::keyctl;
use kup_sys::syslog::{self, Severity};
use kup_sys::{KeySerial, process};

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
        }
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
}

/// Prepares the process (see the module documentation). Call it first in `main`, while the
/// process is still single-threaded.
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
    });
    install_panic_hook();
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

/// What the panic hook needs, readable without locks from any thread.
static ACTIVE_KEY: AtomicI32 = AtomicI32::new(0);
static ACTIVE_KIND: AtomicU8 = AtomicU8::new(0);
static ACTIVE_TIMEOUT: AtomicU32 = AtomicU32::new(0);
static ACTIVE_ERRNO: AtomicI32 = AtomicI32::new(0);

const KIND_NEGATE: u8 = 1;
const KIND_REJECT: u8 = 2;
const KIND_LEAVE: u8 = 3;

fn publish(key: KeySerial, disposition: Disposition) {
    let (kind, timeout, errno) = match disposition {
        Disposition::Negate { timeout_secs } => (KIND_NEGATE, timeout_secs, 0),
        Disposition::Reject { timeout_secs, errno } => (KIND_REJECT, timeout_secs, errno),
        Disposition::LeaveToKernel => (KIND_LEAVE, 0, 0),
    };
    ACTIVE_KIND.store(kind, Ordering::SeqCst);
    ACTIVE_TIMEOUT.store(timeout, Ordering::SeqCst);
    ACTIVE_ERRNO.store(errno, Ordering::SeqCst);
    ACTIVE_KEY.store(key.get(), Ordering::SeqCst);
}

fn unpublish() {
    ACTIVE_KEY.store(0, Ordering::SeqCst);
}

/// Finishes the published key, if any, with its published disposition (panic hook).
fn finish_published() {
    let key = ACTIVE_KEY.swap(0, Ordering::SeqCst);
    if key == 0 {
        return;
    }
    let timeout_secs = ACTIVE_TIMEOUT.load(Ordering::SeqCst);
    let disposition = match ACTIVE_KIND.load(Ordering::SeqCst) {
        KIND_REJECT => Disposition::Reject {
            timeout_secs,
            errno: ACTIVE_ERRNO.load(Ordering::SeqCst),
        },
        KIND_LEAVE => Disposition::LeaveToKernel,
        _ => Disposition::Negate { timeout_secs },
    };
    let _ = disposition.apply(KeySerial::new(key));
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|location| format!(" at {}:{}", location.file(), location.line()));
        log(
            Severity::Error,
            &format!(
                "internal error (panic){}; finishing the key",
                location.unwrap_or_default()
            ),
        );
        finish_published();
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
        publish(self.key, on_failure);
    }

    /// `KEYCTL_SET_TIMEOUT` on the key: call before instantiating (afterwards the authority is
    /// gone and the kernel refuses).
    pub fn set_timeout(&self, seconds: u32) -> io::Result<()> {
        keyctl::set_timeout(self.key, seconds)
    }

    /// Instantiates the key. On error the guard still owns nothing: the key is finished with
    /// the failure disposition before the error is returned.
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
        self.finished = true;
        unpublish();
        self.on_failure.apply(self.key)
    }

    fn complete(mut self, operation: impl FnOnce(KeySerial) -> io::Result<()>) -> io::Result<()> {
        let result = operation(self.key);
        if result.is_ok() {
            self.finished = true;
            unpublish();
        }
        // On error, Drop applies the failure disposition.
        result
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if !self.finished {
            unpublish();
            let _ = self.on_failure.apply(self.key);
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

/// Ends a helper run: on failure logs it and finishes the key (if a guard is left) the failure's
/// way; returns the exit code (`0` on success).
#[must_use = "the exit code is what main returns"]
pub fn report(result: Result<(), Failure>, guard: Option<KeyGuard>) -> ExitCode {
    match result {
        Ok(()) => {
            drop(guard);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            log(failure.severity, &failure.message);
            if let Some(mut guard) = guard {
                if let Some(disposition) = failure.disposition {
                    guard.set_failure(disposition);
                }
                if let Err(error) = guard.fail() {
                    log(Severity::Error, &format!("could not finish the key: {error}"));
                }
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
    fn failure_builder_sets_disposition() {
        let failure = Failure::new(2, "x").with_disposition(Disposition::Negate { timeout_secs: 1 });
        assert_eq!(failure.exit_code, 2);
        assert_eq!(failure.disposition, Some(Disposition::Negate { timeout_secs: 1 }));
    }
}
