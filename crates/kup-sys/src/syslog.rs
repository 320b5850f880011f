//! The system log, through libc's `openlog`/`syslog` as the C helpers use it.
//!
//! Messages always go through a constant `"%s"` format, so no attacker-shaped text is ever read as
//! a format string. The ident must be `'static`: libc keeps the pointer.

use std::ffi::{CStr, CString};

/// `LOG_DAEMON`: what cifs.upcall, cifs.idmap, nfsidmap and `key.dns_resolver` log under.
pub const FACILITY_DAEMON: i32 = libc::LOG_DAEMON;
/// `LOG_PID`: include the pid in every line.
pub const OPTION_PID: i32 = libc::LOG_PID;

/// Syslog severities, numerically as in `<syslog.h>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Severity {
    /// `LOG_ERR`
    Error = libc::LOG_ERR,
    /// `LOG_WARNING`
    Warning = libc::LOG_WARNING,
    /// `LOG_NOTICE`
    Notice = libc::LOG_NOTICE,
    /// `LOG_INFO`
    Info = libc::LOG_INFO,
    /// `LOG_DEBUG`
    Debug = libc::LOG_DEBUG,
}

/// `openlog(ident, options, facility)`.
pub fn open(ident: &'static CStr, options: i32, facility: i32) {
    // SAFETY: `ident` is 'static, so the pointer libc keeps stays valid for the process lifetime.
    unsafe { libc::openlog(ident.as_ptr(), options, facility) };
}

/// Logs one message at `severity`. Interior NULs are replaced so the message is never cut short.
pub fn log(severity: Severity, message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: the format is a constant "%s" and its one argument a valid NUL-terminated string.
    unsafe { libc::syslog(severity as i32, c"%s".as_ptr(), text.as_ptr()) };
}
