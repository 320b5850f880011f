//! Child processes without `exec`: [`spawn`] forks and runs a closure in the child, which then
//! `_exit`s; [`wait`], [`try_wait`] reap it; [`poll_readable`] waits for a pipe with a timeout.
//!
//! Why a safe `fork`: the child runs `body` and leaves with `_exit`, never returning into the
//! caller's code, so nothing is dropped or unwound twice. What the child inherits from a
//! multi-threaded parent is only the forking thread: a lock another thread held at the fork stays
//! held in the child, so code in the child that takes it blocks forever — a hang, not memory
//! corruption, which the parent bounds by killing the child at its deadline (kup-priv does).
//! glibc's `fork` re-initialises its own malloc and stdio locks in the child, so allocation works.
//! The panic hook is replaced in the child: a hook inherited from the helper (kup-runtime's
//! finishes the key) must never run there.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use crate::ids::Pid;
use crate::process;

/// The exit status of a forked child whose closure panicked.
pub const PANICKED: u8 = 125;

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `_exit`/`exit` with this status.
    Exited(i32),
    /// A signal (this number) ended it.
    Signaled(i32),
}

/// Forks. The child runs `body` and `_exit`s with the status it returns ([`PANICKED`] if it
/// panics); the parent gets the child's pid.
pub fn spawn(body: impl FnOnce() -> u8) -> io::Result<Pid> {
    // SAFETY: fork takes no arguments. The child never returns from this function: it runs
    // `body` and ends with `_exit` (see the module documentation for what it may do).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        return Ok(Pid::new(pid));
    }
    panic::set_hook(Box::new(|_| process::exit_immediately(PANICKED)));
    let status = panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or(PANICKED);
    process::exit_immediately(status)
}

/// `waitpid(pid, 0)`, retried on `EINTR`.
pub fn wait(pid: Pid) -> io::Result<ExitStatus> {
    loop {
        match wait_with(pid, 0) {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// `waitpid(pid, WNOHANG)`: `None` while the child still runs.
pub fn try_wait(pid: Pid) -> io::Result<Option<ExitStatus>> {
    wait_with(pid, libc::WNOHANG)
}

fn wait_with(pid: Pid, options: i32) -> io::Result<Option<ExitStatus>> {
    let mut status = 0;
    // SAFETY: `status` is a live local the call writes the wait status into.
    let ret = unsafe { libc::waitpid(pid.get(), &raw mut status, options) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    if ret == 0 {
        return Ok(None);
    }
    if libc::WIFEXITED(status) {
        Ok(Some(ExitStatus::Exited(libc::WEXITSTATUS(status))))
    } else if libc::WIFSIGNALED(status) {
        Ok(Some(ExitStatus::Signaled(libc::WTERMSIG(status))))
    } else {
        Ok(None)
    }
}

/// Waits at most `timeout` for `fd` to be readable (or at end of file, or in error): `false` when
/// the time passed first or a signal interrupted the wait.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let millis = timeout
        .as_millis()
        .saturating_add(u128::from(!timeout.subsec_nanos().is_multiple_of(1_000_000)));
    let millis = i32::try_from(millis).unwrap_or(i32::MAX);
    let mut entry = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `entry` is one live, writable pollfd and the count says 1.
    let ret = unsafe { libc::poll(&raw mut entry, 1, millis) };
    if ret < 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(error);
    }
    Ok(ret > 0)
}

/// Closes every descriptor from 3 up except `keep` (`close_range(2)`).
///
/// For a forked child about to run code it does not trust with the parent's descriptors (NSS
/// modules from a container's file system) and then `_exit`: descriptors owned by Rust values in
/// that child dangle afterwards, so the child must neither use nor drop them (it leaves with
/// `_exit`, which runs no destructors).
pub fn close_descriptors_except(keep: BorrowedFd<'_>) -> io::Result<()> {
    let keep = u32::try_from(keep.as_raw_fd()).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    if keep > 3 {
        close_range(3, keep - 1)?;
    }
    close_range(keep.max(2) + 1, u32::MAX)
}

fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: close_range takes two descriptor numbers and a flag word, no pointers. Closing
    // descriptors other values own is the caller's contract (see `close_descriptors_except`).
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `getppid(2)`.
#[must_use]
pub fn parent_id() -> Pid {
    // SAFETY: getppid cannot fail and takes no arguments.
    Pid::new(unsafe { libc::getppid() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_exits_with_its_closures_status() {
        let pid = spawn(|| 42).unwrap();
        assert_eq!(wait(pid).unwrap(), ExitStatus::Exited(42));
    }

    #[test]
    fn a_panicking_child_exits_with_the_panic_status() {
        let pid = spawn(|| panic!("in the child")).unwrap();
        assert_eq!(wait(pid).unwrap(), ExitStatus::Exited(i32::from(PANICKED)));
    }

    #[test]
    fn a_killed_child_reports_its_signal() {
        let pid = spawn(|| {
            std::thread::sleep(Duration::from_secs(30));
            0
        })
        .unwrap();
        assert_eq!(try_wait(pid).unwrap(), None);
        process::kill(pid.get(), process::Signal::Kill).unwrap();
        assert_eq!(wait(pid).unwrap(), ExitStatus::Signaled(libc::SIGKILL));
    }

    #[test]
    fn poll_times_out_on_an_empty_pipe_and_sees_data() {
        use std::io::Write as _;
        use std::os::fd::AsFd as _;
        let (reader, mut writer) = std::io::pipe().unwrap();
        assert!(!poll_readable(reader.as_fd(), Duration::from_millis(20)).unwrap());
        writer.write_all(b"x").unwrap();
        assert!(poll_readable(reader.as_fd(), Duration::from_millis(20)).unwrap());
    }
}
