//! Process attributes set through `prctl(2)`: no-new-privileges, dumpability, the parent-death
//! signal. (The bounding set's `prctl`s are in [`crate::capability`].)

use std::io;

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: `execve` can never grant privileges again (no set-id bits,
/// no file capabilities). Irreversible, inherited by children.
pub fn set_no_new_privileges() -> io::Result<()> {
    set(libc::PR_SET_NO_NEW_PRIVS, 1)
}

/// `prctl(PR_GET_NO_NEW_PRIVS)`.
pub fn no_new_privileges() -> io::Result<bool> {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no arguments (the rest must be 0) and no pointers.
    let ret = unsafe {
        libc::prctl(
            libc::PR_GET_NO_NEW_PRIVS,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    match ret {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(io::Error::last_os_error()),
    }
}

/// `prctl(PR_SET_DUMPABLE)`: a non-dumpable process cannot be ptraced by processes of the same
/// uid and writes no core file; its `/proc/<pid>` files belong to root.
pub fn set_dumpable(dumpable: bool) -> io::Result<()> {
    set(libc::PR_SET_DUMPABLE, libc::c_ulong::from(dumpable))
}

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the calling process is killed when the thread that forked
/// it ends. The kernel clears this setting when the process's credentials change, so it must be
/// set again after a uid or gid switch.
pub fn kill_when_parent_dies() -> io::Result<()> {
    set(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong)
}

fn set(option: i32, value: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the options used here take one integer argument (the rest 0) and no pointers.
    let ret = unsafe {
        libc::prctl(
            option,
            value,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
