//! The system log, through libc's `openlog`/`syslog` as the C helpers use it.
//!
//! Messages always go through a constant `"%s"` format, so no attacker-shaped text is ever read as
//! a format string. The ident must be `'static`: libc keeps the pointer.

use std::ffi::{CStr, CString};
use std::io;

/// `LOG_DAEMON`: what cifs.upcall, cifs.idmap, nfsidmap and `key.dns_resolver` log under.
pub const FACILITY_DAEMON: i32 = libc::LOG_DAEMON;
/// `LOG_PID`: include the pid in every line.
pub const OPTION_PID: i32 = libc::LOG_PID;
/// `LOG_AUTHPRIV`: gssproxy's facility.
pub const FACILITY_AUTHPRIV: i32 = libc::LOG_AUTHPRIV;
/// gssproxy's `openlog` options: `LOG_PID|LOG_CONS|LOG_NDELAY|LOG_NOWAIT|LOG_PERROR` (0x3b).
pub const OPTIONS_GSSPROXY: i32 =
    libc::LOG_PID | libc::LOG_CONS | libc::LOG_NDELAY | libc::LOG_NOWAIT | libc::LOG_PERROR;

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

/// The system log socket.
const DEV_LOG: &[u8] = b"/dev/log";

/// Sends one ready-made syslog datagram (`<PRI>TIMESTAMP TAG: MESSAGE`) to `/dev/log` without
/// blocking and without libc's syslog state: a fresh datagram socket, one `sendto` with
/// `MSG_DONTWAIT`, closed again. Async-signal-safe (system calls only, no allocation, no locks),
/// for a signal handler that interrupted the process anywhere, perhaps inside `syslog` itself. A
/// full queue or a missing log daemon is an error the caller may ignore.
pub fn send_datagram(datagram: &[u8]) -> io::Result<()> {
    // SAFETY: socket takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `sockaddr_un` is a plain C struct for which all-zero bytes are valid.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::sa_family_t::try_from(libc::AF_UNIX).unwrap_or_default();
    for (slot, byte) in address.sun_path.iter_mut().zip(DEV_LOG) {
        *slot = byte.cast_signed();
    }
    let length = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_un>()).unwrap_or_default();
    // SAFETY: `datagram` is a valid buffer of the given length; `address` is an initialised
    // sockaddr_un (NUL-terminated path, zeroed tail) whose size is passed; `fd` is our socket.
    let sent = unsafe {
        libc::sendto(
            fd,
            datagram.as_ptr().cast(),
            datagram.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            (&raw const address).cast(),
            length,
        )
    };
    let result = if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    // SAFETY: `fd` is the socket opened above, owned here and closed exactly once.
    unsafe { libc::close(fd) };
    result
}
