//! Process hygiene at helper start-up: standard descriptors, umask, environment, identity.
//!
//! The kernel starts request-key helpers with fds 0-2 on `/dev/null`, but the same binaries are
//! also run by hand and by other daemons, possibly with closed descriptors. A closed fd 2 would
//! make the next `open` land on it and turn diagnostics into file corruption, so the first thing a
//! helper does is [`ensure_standard_fds`].

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

use crate::ids::Uid;

/// Makes sure fds 0, 1 and 2 are open, pointing any closed one at `/dev/null`.
pub fn ensure_standard_fds() -> io::Result<()> {
    for fd in 0..=2 {
        // SAFETY: F_GETFD takes no pointer argument and only inspects the descriptor table.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 {
            continue;
        }
        let path = c"/dev/null";
        let mode = if fd == 0 { libc::O_RDONLY } else { libc::O_WRONLY };
        // SAFETY: `path` is a static NUL-terminated string. The lowest free descriptor is `fd`
        // because all lower ones were checked open above, so the new file lands exactly there.
        let opened = unsafe { libc::open(path.as_ptr(), mode) };
        if opened < 0 {
            return Err(io::Error::last_os_error());
        }
        if opened != fd {
            return Err(io::Error::other(
                "/dev/null did not land on the closed standard fd",
            ));
        }
    }
    Ok(())
}

/// Sets the file creation mask, returning the previous one.
#[must_use = "the previous mask is returned so callers can restore it"]
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail and touches only the process's own mask.
    unsafe { libc::umask(mask) }
}

/// `/proc/self/task` of this process, opened by [`pin_thread_count`].
static PINNED_TASK_DIRECTORY: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

/// Opens this process's `/proc/self/task` now and keeps it open, so that [`thread_count`] (and
/// with it [`replace_environment`]) keeps working after the process enters a mount namespace
/// whose procfs does not show it. The kernel computes the directory's link count at each `stat`,
/// so the open directory stays exact. Call it in a freshly forked child before `setns` (a
/// directory pinned by the parent would name the parent). Once per process; later calls do nothing.
pub fn pin_thread_count() -> io::Result<()> {
    if PINNED_TASK_DIRECTORY.get().is_none() {
        let directory = std::fs::File::open("/proc/self/task")?;
        let _ = PINNED_TASK_DIRECTORY.set(directory);
    }
    Ok(())
}

/// The number of threads of this process.
///
/// Read as the link count of `/proc/self/task`, which the kernel reports as 2 plus the number of
/// threads (`proc_task_getattr` in `fs/proc/base.c`): one `statx`, where reading the `Threads:` line
/// of `/proc/self/status` costs an open, eight reads of a text the kernel formats from the whole
/// memory map, and a close, at the start of every upcall.
///
/// After [`pin_thread_count`], the directory opened then is asked instead of the path: a process
/// that has entered another mount namespace may see a procfs in which `/proc/self` does not exist
/// (a container's, of another pid namespace).
pub fn thread_count() -> io::Result<usize> {
    use std::os::unix::fs::MetadataExt as _;
    let links = match PINNED_TASK_DIRECTORY.get() {
        Some(directory) => directory.metadata()?.nlink(),
        None => std::fs::metadata("/proc/self/task")?.nlink(),
    };
    links
        .checked_sub(2)
        .filter(|&threads| threads >= 1)
        .and_then(|threads| usize::try_from(threads).ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "/proc/self/task has an unexpected link count",
            )
        })
}

/// Replaces the whole environment with `variables`.
///
/// Changing the environment is only sound while no other thread can read it, so this refuses
/// (`WouldBlock`) when the process has more than one thread. Helpers call it first thing in `main`.
pub fn replace_environment(variables: &[(&OsStr, &OsStr)]) -> io::Result<()> {
    if thread_count()? != 1 {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the environment can only be replaced while single-threaded",
        ));
    }
    // SAFETY: the process is single-threaded (checked above), so no other thread reads `environ`
    // while clearenv frees it.
    let cleared = unsafe { libc::clearenv() };
    if cleared != 0 {
        return Err(io::Error::other("clearenv failed"));
    }
    for (name, value) in variables {
        let name = CString::new(name.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in variable name"))?;
        let value = CString::new(value.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in variable value"))?;
        // SAFETY: single-threaded (checked above); both strings are NUL-terminated and setenv
        // copies them.
        let set = unsafe { libc::setenv(name.as_ptr(), value.as_ptr(), 1) };
        if set != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The real, effective and saved user ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserIds {
    /// Real uid.
    pub real: Uid,
    /// Effective uid.
    pub effective: Uid,
    /// Saved set-user-id.
    pub saved: Uid,
}

/// `getresuid(2)`.
pub fn user_ids() -> io::Result<UserIds> {
    let (mut real, mut effective, mut saved) = (0, 0, 0);
    // SAFETY: the three pointers are to distinct live locals the call fills in.
    let ret = unsafe { libc::getresuid(&raw mut real, &raw mut effective, &raw mut saved) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(UserIds {
        real: Uid::new(real),
        effective: Uid::new(effective),
        saved: Uid::new(saved),
    })
}

/// The id of the calling thread (`gettid(2)`).
#[must_use]
pub fn thread_id() -> i32 {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() }
}

/// What the waited-for children of this process used, summed (`getrusage(RUSAGE_CHILDREN)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildrenUsage {
    /// User plus system CPU time.
    pub cpu: std::time::Duration,
    /// Minor page faults.
    pub minor_faults: u64,
}

/// The resources used by this process's terminated and waited-for children (benchmarks: a wrapper
/// that runs one helper reads that helper's CPU time here).
pub fn children_usage() -> io::Result<ChildrenUsage> {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live, writable `rusage` the call fills in.
    let ret = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let micros = |time: libc::timeval| {
        u64::try_from(time.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(time.tv_usec).unwrap_or(0)
    };
    Ok(ChildrenUsage {
        cpu: std::time::Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime)),
        minor_faults: u64::try_from(usage.ru_minflt).unwrap_or(0),
    })
}

/// Signals kup sends to processes it supervises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `SIGKILL`
    Kill,
    /// `SIGTERM`
    Terminate,
}

/// Sends `signal` to the process `pid`, or to the process group `-pid` when `pid` is negative.
pub fn kill(pid: i32, signal: Signal) -> io::Result<()> {
    let number = match signal {
        Signal::Kill => libc::SIGKILL,
        Signal::Terminate => libc::SIGTERM,
    };
    // SAFETY: kill takes no pointers; sending a signal has no memory-safety preconditions.
    let ret = unsafe { libc::kill(pid, number) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Writes `bytes` to fd 2 with one `write(2)`, ignoring the outcome: async-signal-safe (no
/// lock on `std::io::stderr`, no allocation), for a signal handler that may have interrupted a
/// thread holding that lock.
pub fn write_stderr(bytes: &[u8]) {
    // SAFETY: `bytes` is a valid buffer of the given length for the duration of the call.
    let _ = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}

/// Ends the whole process at once with `status` (`_exit(2)`): no atexit handlers, no stdio
/// flushing, no destructors, and no waiting for locks other threads may hold. For a watchdog that
/// must end the process whatever the other threads are blocked in.
pub fn exit_immediately(status: u8) -> ! {
    // SAFETY: _exit takes no pointers and has no preconditions; it does not return.
    unsafe { libc::_exit(i32::from(status)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_fds_are_left_alone_when_open() {
        ensure_standard_fds().unwrap();
    }

    /// The `Threads:` line of `/proc/self/status`, the count the kernel documents.
    fn status_threads() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn thread_count_agrees_with_proc_status() {
        // Other tests start and end threads concurrently, so compare until two reads in a row
        // agree; with a thread of our own parked, there are at least two.
        let (release, parked) = std::sync::mpsc::channel::<()>();
        let helper = std::thread::spawn(move || parked.recv());
        let agreed = (0..100).any(|_| {
            let before = status_threads();
            let counted = thread_count().unwrap();
            before == counted && status_threads() == counted
        });
        let counted = thread_count().unwrap();
        drop(release);
        let _ = helper.join();
        assert!(agreed, "thread_count never matched /proc/self/status");
        assert!(counted >= 2, "{counted} threads counted with two running");
    }

    #[test]
    fn environment_replacement_refuses_when_threads_exist() {
        // The test harness runs tests on worker threads, so the process is multi-threaded here.
        let error = replace_environment(&[]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn children_usage_grows_after_a_child_runs() {
        let before = children_usage().unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let after = children_usage().unwrap();
        assert!(after.cpu > before.cpu, "{before:?} then {after:?}");
        assert!(
            after.minor_faults > before.minor_faults,
            "{before:?} then {after:?}"
        );
    }

    #[test]
    fn user_ids_are_consistent_with_std() {
        let ids = user_ids().unwrap();
        assert_eq!(ids.effective, ids.real);
    }
}
