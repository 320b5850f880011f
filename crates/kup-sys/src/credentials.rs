//! The process's user and group ids and supplementary groups: `setgroups`, `setresgid`,
//! `setresuid`, `getresgid`, `getgroups` (`getresuid` is [`crate::process::user_ids`]).
//!
//! Ids are interpreted by the kernel in the caller's current user namespace. glibc's wrappers
//! apply a set*id call to every thread of the process; kup calls them only in single-threaded
//! processes (cifs.upcall's forked children, the gssproxy daemon before its workers start).

use std::io;

use crate::ids::{Gid, Uid};

/// The real, effective and saved group ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupIds {
    /// Real gid.
    pub real: Gid,
    /// Effective gid.
    pub effective: Gid,
    /// Saved set-group-id.
    pub saved: Gid,
}

/// `setgroups(0, NULL)`: no supplementary groups.
pub fn clear_groups() -> io::Result<()> {
    // SAFETY: with a count of 0 the kernel reads nothing through the (null) list pointer.
    let ret = unsafe { libc::setgroups(0, std::ptr::null()) };
    check(ret)
}

/// `setgroups(2)`: the supplementary groups become exactly `groups`.
pub fn set_groups(groups: &[Gid]) -> io::Result<()> {
    let list: Vec<libc::gid_t> = groups.iter().map(|gid| gid.get()).collect();
    // SAFETY: `list` holds `list.len()` gids the kernel only reads.
    let ret = unsafe { libc::setgroups(list.len(), list.as_ptr()) };
    check(ret)
}

/// `setresgid(gid, gid, gid)`: real, effective and saved group ids all become `gid`.
pub fn set_all_group_ids(gid: Gid) -> io::Result<()> {
    // SAFETY: setresgid takes three ids, no pointers.
    let ret = unsafe { libc::setresgid(gid.get(), gid.get(), gid.get()) };
    check(ret)
}

/// `setresuid(uid, uid, uid)`: real, effective and saved user ids all become `uid`.
pub fn set_all_user_ids(uid: Uid) -> io::Result<()> {
    // SAFETY: setresuid takes three ids, no pointers.
    let ret = unsafe { libc::setresuid(uid.get(), uid.get(), uid.get()) };
    check(ret)
}

/// `getresgid(2)`.
pub fn group_ids() -> io::Result<GroupIds> {
    let (mut real, mut effective, mut saved) = (0, 0, 0);
    // SAFETY: the three pointers are to distinct live locals the call fills in.
    let ret = unsafe { libc::getresgid(&raw mut real, &raw mut effective, &raw mut saved) };
    check(ret)?;
    Ok(GroupIds {
        real: Gid::new(real),
        effective: Gid::new(effective),
        saved: Gid::new(saved),
    })
}

/// `getgroups(2)`: the supplementary groups.
pub fn groups() -> io::Result<Vec<Gid>> {
    // SAFETY: a size of 0 asks for the count only; the kernel writes nothing through the pointer.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let count = usize::try_from(count).map_err(|_| io::Error::last_os_error())?;
    let mut list: Vec<libc::gid_t> = vec![0; count];
    let size = i32::try_from(list.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `list` holds `size` writable gids; the kernel writes at most that many.
    let filled = unsafe { libc::getgroups(size, list.as_mut_ptr()) };
    let filled = usize::try_from(filled).map_err(|_| io::Error::last_os_error())?;
    list.truncate(filled);
    Ok(list.into_iter().map(Gid::new).collect())
}

fn check(ret: i32) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_agree_with_proc_status() {
        let ids = group_ids().unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find_map(|line| line.strip_prefix("Gid:")).unwrap();
        let fields: Vec<u32> = line.split_whitespace().map(|f| f.parse().unwrap()).collect();
        assert_eq!(
            fields[..3],
            [ids.real.get(), ids.effective.get(), ids.saved.get()]
        );
    }

    #[test]
    fn groups_agree_with_proc_status() {
        let mut listed: Vec<u32> = groups().unwrap().into_iter().map(Gid::get).collect();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix("Groups:"))
            .unwrap();
        let mut expected: Vec<u32> = line.split_whitespace().map(|f| f.parse().unwrap()).collect();
        listed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }
}
