//! What the gssproxy daemon needs that `std` does not give on stable: the peer's credentials
//! (`SO_PEERCRED`), which is how gssproxy identifies every caller, the kernel's nfsd included,
//! and its security label (`SO_PEERSEC`, for `selinux_context` services);
//! the listen backlog; the open-files limit; `setsid` for daemonizing.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::{Gid, Pid, Uid};

/// What `SO_PEERCRED` reports: the peer's pid and its effective uid and gid at `connect` time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCredentials {
    /// The connecting process (0 for a kernel socket).
    pub pid: Pid,
    /// Its effective uid when it connected.
    pub uid: Uid,
    /// Its effective gid when it connected.
    pub gid: Gid,
}

/// `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)` on a connected `AF_UNIX` socket.
pub fn peer_credentials(socket: BorrowedFd<'_>) -> io::Result<PeerCredentials> {
    let mut credentials = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut length =
        libc::socklen_t::try_from(size_of::<libc::ucred>()).map_err(|_| io::Error::other("ucred size"))?;
    // SAFETY: `credentials` is a writable ucred and `length` its size; the kernel writes at most
    // `length` bytes and updates `length`.
    let status = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut credentials).cast(),
            &raw mut length,
        )
    };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(PeerCredentials {
        pid: Pid::new(credentials.pid),
        uid: Uid::new(credentials.uid),
        gid: Gid::new(credentials.gid),
    })
}

/// The longest security label read from `SO_PEERSEC` (an `SELinux` context is far shorter).
const MAX_SECURITY_LABEL: usize = 4096;

/// `getsockopt(fd, SOL_SOCKET, SO_PEERSEC)` on a connected `AF_UNIX` socket: the peer's
/// security label as the kernel's LSM reports it (an `SELinux` context such as
/// `system_u:system_r:gssd_t:s0`, or another module's label), without its trailing NUL;
/// `None` when no module provides one (`ENOPROTOOPT`) or it is empty.
pub fn peer_security_label(socket: BorrowedFd<'_>) -> io::Result<Option<Vec<u8>>> {
    let mut label = vec![0u8; MAX_SECURITY_LABEL];
    let mut length =
        libc::socklen_t::try_from(label.len()).map_err(|_| io::Error::other("label buffer size"))?;
    // SAFETY: `label` is a writable buffer of `length` bytes; the kernel writes at most `length`
    // bytes and updates `length` (ERANGE if the label does not fit).
    let status = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERSEC,
            label.as_mut_ptr().cast(),
            &raw mut length,
        )
    };
    if status != 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::ENOPROTOOPT) => Ok(None),
            _ => Err(error),
        };
    }
    label.truncate(usize::try_from(length).unwrap_or(0).min(MAX_SECURITY_LABEL));
    while label.last() == Some(&0) {
        label.pop();
    }
    Ok((!label.is_empty()).then_some(label))
}

/// `listen(fd, backlog)` again on a listening socket: Linux then uses the new backlog (capped
/// by `net.core.somaxconn`). gssproxy's is 10, which drops clients of a connect burst.
pub fn set_listen_backlog(socket: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    // SAFETY: listen takes no pointers; an invalid descriptor is an error return.
    if unsafe { libc::listen(socket.as_raw_fd(), backlog) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Raises the soft limit on open descriptors (`RLIMIT_NOFILE`) to `wanted`, or to the hard
/// limit if that is lower; returns the soft limit in force afterwards.
pub fn raise_open_files_limit(wanted: u64) -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let target = wanted.min(limit.rlim_max);
    if target > limit.rlim_cur {
        limit.rlim_cur = target;
        // SAFETY: `limit` is an initialised rlimit that is only read.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// `setsid()`: a daemon's child leaves its parent's session.
pub fn new_session() -> io::Result<()> {
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd as _;
    use std::os::unix::net::UnixStream;

    use super::*;

    #[test]
    fn a_socket_pair_reports_this_process_as_the_peer() {
        let (left, _right) = UnixStream::pair().unwrap();
        let peer = peer_credentials(left.as_fd()).unwrap();
        assert_eq!(peer.pid.get(), i32::try_from(std::process::id()).unwrap());
        assert_eq!(peer.uid, crate::process::user_ids().unwrap().effective);
    }

    #[test]
    fn the_peer_label_is_this_process_own_or_none_without_a_security_module() {
        let (left, _right) = UnixStream::pair().unwrap();
        let label = peer_security_label(left.as_fd()).unwrap();
        let own = std::fs::read("/proc/self/attr/current")
            .ok()
            .filter(|own| !own.is_empty());
        match (label, own) {
            (Some(label), Some(mut own)) => {
                while matches!(own.last(), Some(&(0 | b'\n'))) {
                    own.pop();
                }
                // AppArmor appends the mode (` (enforce)`) in /proc; the socket label starts alike.
                assert!(
                    own.starts_with(&label) || label.starts_with(&own),
                    "{label:?} vs {own:?}"
                );
                assert!(!label.contains(&0));
            }
            (None, _) => {}
            (Some(label), None) => assert!(!label.is_empty() && !label.contains(&0)),
        }
    }
}
