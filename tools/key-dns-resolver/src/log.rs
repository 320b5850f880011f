//! `key.dns_resolver`'s output rules, over the runtime logger (`kup_runtime::helper::log`: the
//! per-process line budget, syslog opened by `helper::start` with ident `key.dns_resolver`,
//! `LOG_DAEMON`): errors and warnings to stderr when it is a terminal, else to syslog; info (`-v`)
//! and debug (`-vv`) lines to stdout with `I: `/`D: ` when stdout is a terminal, else to syslog.
//! Under request-key nothing is a terminal, so everything goes to syslog.
//!
//! [`init`] decides the sinks once per run; before it (and in programs that never call it, such as
//! the fuzz targets) lines go only to the runtime logger, which writes nothing until
//! `helper::start` has run. Unit tests read what was logged with `captured()`.

use std::io::{IsTerminal as _, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::AtomicU32;

use kup_runtime::helper;
use kup_sys::syslog::Severity;

/// The `-v` count (the reference's `verbose`).
#[cfg_attr(test, allow(dead_code, reason = "unit tests keep it per thread"))]
static VERBOSITY: AtomicU32 = AtomicU32::new(0);
/// Whether stdout and stderr are terminals, decided by [`init`].
static TERMINALS: OnceLock<Terminals> = OnceLock::new();

#[derive(Clone, Copy, Debug, Default)]
struct Terminals {
    stdout: bool,
    stderr: bool,
}

/// Sets the verbosity and looks at which of stdout and stderr are terminals.
pub fn init(verbosity: u32) {
    let _ = TERMINALS.set(Terminals {
        stdout: std::io::stdout().is_terminal(),
        stderr: std::io::stderr().is_terminal(),
    });
    set_verbosity(verbosity);
}

/// Changes the verbosity (the reference forces 1 when dumping the payload in `-D` mode).
pub fn set_verbosity(verbosity: u32) {
    store_verbosity(verbosity);
    helper::set_verbosity(verbosity);
}

/// Whether stderr is a terminal (as [`init`] saw it).
#[must_use]
pub fn stderr_terminal() -> bool {
    terminals().stderr
}

/// An error line.
pub fn error(message: &str) {
    to_stderr_or_syslog(Severity::Error, message);
}

/// A warning line.
pub fn warning(message: &str) {
    to_stderr_or_syslog(Severity::Warning, message);
}

/// An info line (verbosity 1 and up).
pub fn info(message: &str) {
    if verbosity() >= 1 {
        to_stdout_or_syslog(Severity::Info, "I: ", message);
    }
}

/// A debug line (verbosity 2 and up).
pub fn debug(message: &str) {
    if verbosity() >= 2 {
        to_stdout_or_syslog(Severity::Debug, "D: ", message);
    }
}

/// The resolver-failure line: `NS:<domain>: <text>.` on a terminal, else syslog info.
pub fn name_service_error(domain: &str, text: &str) {
    let line = format!("{domain}: {text}");
    if capture(Severity::Info, &line) {
        return;
    }
    if terminals().stderr {
        let _ = writeln!(std::io::stderr().lock(), "NS:{line}.");
    } else {
        helper::log(Severity::Info, &line);
    }
}

fn terminals() -> Terminals {
    TERMINALS.get().copied().unwrap_or_default()
}

fn to_stderr_or_syslog(severity: Severity, message: &str) {
    if capture(severity, message) {
        return;
    }
    if terminals().stderr {
        let _ = writeln!(std::io::stderr().lock(), "{message}");
    } else {
        helper::log(severity, message);
    }
}

fn to_stdout_or_syslog(severity: Severity, prefix: &str, message: &str) {
    if capture(severity, message) {
        return;
    }
    if terminals().stdout {
        let _ = writeln!(std::io::stdout().lock(), "{prefix}{message}");
    } else {
        helper::log(severity, message);
    }
}

#[cfg(not(test))]
fn verbosity() -> u32 {
    VERBOSITY.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(not(test))]
fn store_verbosity(verbosity: u32) {
    VERBOSITY.store(verbosity, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(not(test))]
fn capture(_severity: Severity, _message: &str) -> bool {
    false
}

#[cfg(test)]
thread_local! {
    static CAPTURED: std::cell::RefCell<Vec<(Severity, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    static TEST_VERBOSITY: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Unit tests run in parallel threads: each has its own verbosity.
#[cfg(test)]
fn verbosity() -> u32 {
    TEST_VERBOSITY.with(std::cell::Cell::get)
}

#[cfg(test)]
fn store_verbosity(verbosity: u32) {
    TEST_VERBOSITY.with(|cell| cell.set(verbosity));
}

/// Unit tests: every line is recorded for this thread instead of written.
#[cfg(test)]
fn capture(severity: Severity, message: &str) -> bool {
    CAPTURED.with(|captured| captured.borrow_mut().push((severity, message.to_owned())));
    true
}

/// Unit tests: the lines this thread logged since the last call (verbosity set to `verbosity`
/// for what follows).
#[cfg(test)]
pub(crate) fn captured(verbosity: u32) -> Vec<(Severity, String)> {
    store_verbosity(verbosity);
    CAPTURED.with(|captured| std::mem::take(&mut *captured.borrow_mut()))
}
