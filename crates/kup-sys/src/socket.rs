//! What the gssproxy daemon needs that `std` does not give on stable: the peer's credentials
//! (`SO_PEERCRED`), which is how gssproxy identifies every caller, the kernel's nfsd included;
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
}
