//! The user and group databases through NSS: `getpwnam_r`, `getpwuid_r`, `getgrnam_r`,
//! `getgrgid_r`, `getgrouplist`.
//!
//! The reentrant calls are used with a buffer that grows on `ERANGE`, and the answers are copied
//! into owned values before the buffer goes away. Names are bytes (NSS names need not be UTF-8).
//! "No such entry" is `Ok(None)`; an NSS failure is an `io::Error` carrying its errno.

use std::ffi::{CStr, CString, c_char};
use std::io;

use crate::ids::{Gid, Uid};

/// The fields of a `struct passwd` kup needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passwd {
    /// `pw_name`.
    pub name: Vec<u8>,
    /// `pw_uid`.
    pub uid: Uid,
    /// `pw_gid`: the primary group.
    pub gid: Gid,
}

/// The fields of a `struct group` kup needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `gr_name`.
    pub name: Vec<u8>,
    /// `gr_gid`.
    pub gid: Gid,
}

/// Start size of the string buffer; doubled on `ERANGE` up to [`MAX_BUFFER`].
const START_BUFFER: usize = 1024;
/// Entries needing more than this are treated as an error (a group with a million members).
const MAX_BUFFER: usize = 16 << 20;
/// Room for the kernel's `NGROUPS_MAX` groups and one more: glibc's `getgrouplist` walks every
/// NSS source in full even when the buffer is too small (it only reports the count), so a second
/// call would walk them all again. The zeroed buffer costs no page it does not write.
const START_GROUPS: usize = 65_537;

/// `getpwnam_r`. A name with a NUL byte cannot exist and gives `Ok(None)`.
pub fn user_by_name(name: &[u8]) -> io::Result<Option<Passwd>> {
    let Ok(name) = CString::new(name) else {
        return Ok(None);
    };
    with_buffer(|buffer| {
        // SAFETY: an all-zero `passwd` is a valid value (null pointers, zero ids); it is only an
        // output slot.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `entry`, `buffer` (with its true length) and
        // `result` are live, writable and exclusively borrowed for the call.
        let status = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &raw mut entry,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.len(),
                &raw mut result,
            )
        };
        (status, (!result.is_null()).then(|| copy_passwd(&entry)))
    })
}

/// `getpwuid_r`.
pub fn user_by_uid(uid: Uid) -> io::Result<Option<Passwd>> {
    with_buffer(|buffer| {
        // SAFETY: an all-zero `passwd` is a valid output slot.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `entry`, `buffer` (with its true length) and `result` are live and writable.
        let status = unsafe {
            libc::getpwuid_r(
                uid.get(),
                &raw mut entry,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.len(),
                &raw mut result,
            )
        };
        (status, (!result.is_null()).then(|| copy_passwd(&entry)))
    })
}

/// `getgrnam_r`. A name with a NUL byte gives `Ok(None)`.
pub fn group_by_name(name: &[u8]) -> io::Result<Option<Group>> {
    let Ok(name) = CString::new(name) else {
        return Ok(None);
    };
    with_buffer(|buffer| {
        // SAFETY: an all-zero `group` is a valid output slot.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `entry`, `buffer` (with its true length) and
        // `result` are live and writable.
        let status = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &raw mut entry,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.len(),
                &raw mut result,
            )
        };
        (status, (!result.is_null()).then(|| copy_group(&entry)))
    })
}

/// `getgrgid_r`.
pub fn group_by_gid(gid: Gid) -> io::Result<Option<Group>> {
    with_buffer(|buffer| {
        // SAFETY: an all-zero `group` is a valid output slot.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: `entry`, `buffer` (with its true length) and `result` are live and writable.
        let status = unsafe {
            libc::getgrgid_r(
                gid.get(),
                &raw mut entry,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.len(),
                &raw mut result,
            )
        };
        (status, (!result.is_null()).then(|| copy_group(&entry)))
    })
}

/// `getgrouplist`: every group `user` belongs to, `primary` included (first).
pub fn group_list(user: &[u8], primary: Gid) -> io::Result<Vec<Gid>> {
    let user =
        CString::new(user).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in user name"))?;
    let mut groups: Vec<libc::gid_t> = vec![0; START_GROUPS];
    loop {
        let mut count =
            libc::c_int::try_from(groups.len()).map_err(|_| io::Error::other("group list too long"))?;
        // SAFETY: `user` is NUL-terminated; `groups` has room for `count` entries and `count`
        // is a live int the call updates.
        let found =
            unsafe { libc::getgrouplist(user.as_ptr(), primary.get(), groups.as_mut_ptr(), &raw mut count) };
        let needed = usize::try_from(count).unwrap_or(0);
        if found >= 0 {
            groups.truncate(needed);
            return Ok(groups.into_iter().map(Gid::new).collect());
        }
        if needed <= groups.len() || needed > 1 << 20 {
            return Err(io::Error::other("getgrouplist failed"));
        }
        groups.resize(needed, 0);
    }
}

/// Runs a reentrant NSS call with a growing buffer until it stops reporting `ERANGE`.
fn with_buffer<T>(mut call: impl FnMut(&mut [u8]) -> (libc::c_int, Option<T>)) -> io::Result<Option<T>> {
    let mut buffer = vec![0_u8; START_BUFFER];
    loop {
        let (status, found) = call(&mut buffer);
        match status {
            0 => return Ok(found),
            libc::ERANGE if buffer.len() < MAX_BUFFER => {
                let grown = buffer.len() * 2;
                buffer.resize(grown, 0);
            }
            libc::EINTR => {}
            // glibc reports "not found" as 0 with a null result, but other NSS modules use these.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM if found.is_none() => {
                return Ok(None);
            }
            error => return Err(io::Error::from_raw_os_error(error)),
        }
    }
}

fn copy_passwd(entry: &libc::passwd) -> Passwd {
    Passwd {
        name: c_string_bytes(entry.pw_name),
        uid: Uid::new(entry.pw_uid),
        gid: Gid::new(entry.pw_gid),
    }
}

fn copy_group(entry: &libc::group) -> Group {
    Group {
        name: c_string_bytes(entry.gr_name),
        gid: Gid::new(entry.gr_gid),
    }
}

fn c_string_bytes(pointer: *const c_char) -> Vec<u8> {
    if pointer.is_null() {
        return Vec::new();
    }
    // SAFETY: NSS filled `pointer` with a NUL-terminated string inside the buffer, which is still
    // alive here (we copy before the buffer is reused or dropped).
    unsafe { CStr::from_ptr(pointer) }.to_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_by_name_and_by_uid() {
        let root = user_by_name(b"root").unwrap().unwrap();
        assert_eq!(root.uid, Uid::ROOT);
        assert_eq!(user_by_uid(Uid::ROOT).unwrap().unwrap().name, b"root");
    }

    #[test]
    fn root_group_is_found_by_name_and_by_gid() {
        assert_eq!(group_by_name(b"root").unwrap().unwrap().gid, Gid::ROOT);
        assert_eq!(group_by_gid(Gid::ROOT).unwrap().unwrap().name, b"root");
    }

    #[test]
    fn missing_entries_are_none() {
        assert_eq!(user_by_name(b"kup-no-such-user").unwrap(), None);
        assert_eq!(group_by_name(b"kup-no-such-group").unwrap(), None);
        assert_eq!(user_by_name(b"a\0b").unwrap(), None);
        assert_eq!(user_by_uid(Uid::new(3_999_999_999)).unwrap(), None);
    }

    #[test]
    fn root_group_list_starts_with_the_primary_group() {
        let groups = group_list(b"root", Gid::ROOT).unwrap();
        assert_eq!(groups.first(), Some(&Gid::ROOT));
    }
}
