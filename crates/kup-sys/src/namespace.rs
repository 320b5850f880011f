//! Linux namespaces: open another process's namespace as an owned descriptor, compare namespaces
//! by inode, enter one (`setns(2)`) or make new ones (`unshare(2)`).
//!
//! Policy (which namespaces, in which order, what an error means) lives in `kup-priv`; this module
//! only wraps the calls. Paths are built from a typed [`Pid`] and a fixed [`Namespace`] name, never
//! from input text.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use crate::ids::Pid;

/// A namespace kind, named as in `/proc/<pid>/ns/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// `cgroup` (`CLONE_NEWCGROUP`).
    Cgroup,
    /// `ipc` (`CLONE_NEWIPC`).
    Ipc,
    /// `uts` (`CLONE_NEWUTS`).
    Uts,
    /// `net` (`CLONE_NEWNET`).
    Net,
    /// `pid` (`CLONE_NEWPID`): entering it affects the children forked afterwards.
    Pid,
    /// `mnt` (`CLONE_NEWNS`).
    Mount,
    /// `user` (`CLONE_NEWUSER`).
    User,
}

impl Namespace {
    /// The entry's name under `/proc/<pid>/ns/`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cgroup => "cgroup",
            Self::Ipc => "ipc",
            Self::Uts => "uts",
            Self::Net => "net",
            Self::Pid => "pid",
            Self::Mount => "mnt",
            Self::User => "user",
        }
    }

    /// The `CLONE_NEW*` flag `setns(2)` and `unshare(2)` take for this kind.
    #[must_use]
    pub const fn clone_flag(self) -> i32 {
        match self {
            Self::Cgroup => libc::CLONE_NEWCGROUP,
            Self::Ipc => libc::CLONE_NEWIPC,
            Self::Uts => libc::CLONE_NEWUTS,
            Self::Net => libc::CLONE_NEWNET,
            Self::Pid => libc::CLONE_NEWPID,
            Self::Mount => libc::CLONE_NEWNS,
            Self::User => libc::CLONE_NEWUSER,
        }
    }
}

/// `/proc/<pid>/ns/<name>`; `None` for `pid` "self".
#[must_use]
pub fn path(pid: Option<Pid>, kind: Namespace) -> PathBuf {
    match pid {
        Some(pid) => PathBuf::from(format!("/proc/{}/ns/{}", pid.get(), kind.name())),
        None => PathBuf::from(format!("/proc/self/ns/{}", kind.name())),
    }
}

/// Opens the namespace `kind` of `pid` (`None`: this process) read-only and close-on-exec.
pub fn open(pid: Option<Pid>, kind: Namespace) -> io::Result<OwnedFd> {
    // std opens with O_CLOEXEC.
    Ok(File::open(path(pid, kind))?.into())
}

/// Opens `/proc/<pid>` as a directory: an anchor that keeps naming this process, so that files
/// opened through it ([`open_in`], [`process_file`]) never belong to a later process that reuses
/// the pid (they fail with `ENOENT` or `ESRCH` once the process is gone).
pub fn open_process(pid: Pid) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt as _;
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(format!("/proc/{}", pid.get()))?
        .into())
}

/// The path of `name` inside a process directory opened with [`open_process`] (through
/// `/proc/self/fd`, valid while `process` is open and `/proc` is this process's procfs).
#[must_use]
pub fn process_file(process: BorrowedFd<'_>, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}/{name}", process.as_raw_fd()))
}

/// Opens the namespace `kind` of the process whose directory `process` is ([`open_process`]).
pub fn open_in(process: BorrowedFd<'_>, kind: Namespace) -> io::Result<OwnedFd> {
    Ok(File::open(process_file(process, &format!("ns/{}", kind.name())))?.into())
}

/// The inode number identifying the namespace an open namespace descriptor refers to.
pub fn inode(namespace: BorrowedFd<'_>) -> io::Result<u64> {
    let file = File::from(namespace.try_clone_to_owned()?);
    Ok(file.metadata()?.ino())
}

/// `setns(2)`: moves the calling thread into the namespace `namespace` refers to, which must be
/// of kind `kind` (the kernel checks).
pub fn enter(namespace: BorrowedFd<'_>, kind: Namespace) -> io::Result<()> {
    // SAFETY: setns takes a descriptor (borrowed, so open for the call) and a flag; no pointers.
    let ret = unsafe { libc::setns(namespace.as_raw_fd(), kind.clone_flag()) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `unshare(2)` of the given kinds: the calling process gets new namespaces of those kinds.
/// Creating a user namespace requires a single-threaded process.
pub fn unshare(kinds: &[Namespace]) -> io::Result<()> {
    let flags = kinds.iter().fold(0, |flags, kind| flags | kind.clone_flag());
    // SAFETY: unshare takes a flag word; no pointers.
    let ret = unsafe { libc::unshare(flags) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd as _;

    #[test]
    fn own_namespaces_compare_equal_by_inode() {
        let by_self = open(None, Namespace::User).unwrap();
        let by_pid = open(Some(Pid::new(std::process::id().cast_signed())), Namespace::User).unwrap();
        assert_eq!(inode(by_self.as_fd()).unwrap(), inode(by_pid.as_fd()).unwrap());
    }

    #[test]
    fn a_process_directory_stops_naming_a_process_that_is_gone() {
        let pid = crate::fork::spawn(|| 0).unwrap();
        let directory = open_process(pid).unwrap();
        let before = open_in(directory.as_fd(), Namespace::Net);
        crate::fork::wait(pid).unwrap();
        let after = open_in(directory.as_fd(), Namespace::Net).unwrap_err();
        // The child may already have exited (a zombie has no namespaces) when `before` ran.
        assert!(before.is_ok() || before.unwrap_err().raw_os_error() == Some(libc::ENOENT));
        assert!(
            [Some(libc::ENOENT), Some(libc::ESRCH)].contains(&after.raw_os_error()),
            "{after}"
        );
    }

    #[test]
    fn a_missing_process_has_no_namespace_files() {
        let error = open(Some(Pid::new(0)), Namespace::Net).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOENT));
    }
}
