//! gssproxy's logging (spec gssproxy-config.md §7.4): ident `gssproxy`, facility `LOG_AUTHPRIV`,
//! options `PID|CONS|NDELAY|NOWAIT|PERROR` (every syslog line also on stderr); debug text on
//! stderr only. Through `kup_runtime::daemon_log` (a rate limit, no per-process budget).

use kup_runtime::daemon_log;
use kup_sys::syslog::{self, Severity};

/// `openlog` as the reference calls it.
pub fn open() {
    daemon_log::open(c"gssproxy", syslog::OPTIONS_GSSPROXY, syslog::FACILITY_AUTHPRIV);
}

/// An error line (`LOG_ERR`).
pub fn error(message: &str) {
    daemon_log::log(Severity::Error, message);
}

/// A debug line on stderr at `level`.
pub fn debug(level: u32, message: &str) {
    daemon_log::debug(level, message);
}

/// An error's text as `strerror` gives it (`Permission denied`), without Rust's `(os error N)`.
#[must_use]
pub fn os_error_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}
