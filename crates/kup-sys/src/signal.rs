//! Signals delivered as readable events (`signalfd`), for the gssproxy daemon's event loop:
//! the signals are blocked in the calling thread (and so in every thread it starts afterwards)
//! and read from a descriptor the loop polls, so no handler runs at an arbitrary point.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd as _, OwnedFd};

/// The signals a daemon reacts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonSignal {
    /// `SIGTERM`
    Terminate,
    /// `SIGINT`
    Interrupt,
    /// `SIGQUIT`
    Quit,
    /// `SIGHUP`
    Hangup,
}

impl DaemonSignal {
    /// Every one of them.
    pub const ALL: [Self; 4] = [Self::Terminate, Self::Interrupt, Self::Quit, Self::Hangup];

    fn number(self) -> i32 {
        match self {
            Self::Terminate => libc::SIGTERM,
            Self::Interrupt => libc::SIGINT,
            Self::Quit => libc::SIGQUIT,
            Self::Hangup => libc::SIGHUP,
        }
    }

    fn from_number(number: u32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|signal| u32::try_from(signal.number()).is_ok_and(|n| n == number))
    }
}

/// A `signalfd` (non-blocking, close-on-exec) for [`DaemonSignal::ALL`].
#[derive(Debug)]
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks [`DaemonSignal::ALL`] in the calling thread (threads it starts later inherit the
    /// mask) and opens a descriptor that reports them.
    pub fn new() -> io::Result<Self> {
        let set = daemon_set()?;
        // SAFETY: `set` is an initialised sigset_t; the old mask is not wanted (null).
        let status = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut()) };
        if status != 0 {
            return Err(io::Error::from_raw_os_error(status));
        }
        // SAFETY: -1 asks for a new descriptor; `set` is initialised; the flags are valid.
        let fd = unsafe { libc::signalfd(-1, &raw const set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// The next pending signal, `None` when none is pending.
    pub fn read(&self) -> io::Result<Option<DaemonSignal>> {
        loop {
            // SAFETY: signalfd_siginfo is a plain C struct; all-zero bytes are a valid value.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is writable for its full size, which is what we pass.
            let count = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    (&raw mut info).cast(),
                    size_of::<libc::signalfd_siginfo>(),
                )
            };
            if count < 0 {
                let error = io::Error::last_os_error();
                return match error.kind() {
                    io::ErrorKind::WouldBlock => Ok(None),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(error),
                };
            }
            if let Some(signal) = DaemonSignal::from_number(info.ssi_signo) {
                return Ok(Some(signal));
            }
        }
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn daemon_set() -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is a plain C struct; sigemptyset below initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    if unsafe { libc::sigemptyset(&raw mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for signal in DaemonSignal::ALL {
        // SAFETY: `set` is an initialised sigset_t and the number a valid signal.
        if unsafe { libc::sigaddset(&raw mut set, signal.number()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_signal_sent_to_the_thread_is_read_from_the_descriptor() {
        // Own thread: the mask change must not leak into the test harness's threads.
        std::thread::spawn(|| {
            let fd = SignalFd::new().unwrap();
            assert_eq!(fd.read().unwrap(), None);
            let tid = crate::process::thread_id();
            let pid = i32::try_from(std::process::id()).unwrap();
            // SAFETY: tgkill takes no pointers; the target is this thread, which blocks SIGHUP.
            assert_eq!(unsafe { libc::tgkill(pid, tid, libc::SIGHUP) }, 0);
            assert_eq!(fd.read().unwrap(), Some(DaemonSignal::Hangup));
            assert_eq!(fd.read().unwrap(), None);
        })
        .join()
        .unwrap();
    }
}
