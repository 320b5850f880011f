//! The host's own name and the classic resolver calls libnfsidmap uses to find the `NFSv4` domain:
//! `gethostname`, `gethostbyname_r` (its canonical `h_name`) and `res_querydomain`.
//!
//! These are the exact libc calls of the reference (nfs-utils `domain_from_dns`), so NSS order,
//! `/etc/hosts`, `/etc/host.conf` and `/etc/resolv.conf` (servers, timeouts, attempts) behave
//! as they do for it. Parsing of the DNS answer is not done here.

use std::ffi::{CStr, CString, c_char, c_int};
use std::io;

unsafe extern "C" {
    // glibc, <netdb.h>.
    fn gethostbyname_r(
        name: *const c_char,
        result_buf: *mut libc::hostent,
        buf: *mut c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::hostent,
        h_errnop: *mut c_int,
    ) -> c_int;
    // glibc >= 2.34 has it in libc proper, <resolv.h>.
    fn res_querydomain(
        name: *const c_char,
        domain: *const c_char,
        class: c_int,
        kind: c_int,
        answer: *mut u8,
        answer_length: c_int,
    ) -> c_int;
}

/// DNS class `IN`.
pub const CLASS_IN: i32 = 1;
/// DNS type `TXT`.
pub const TYPE_TXT: i32 = 16;

/// `gethostname` into a buffer of `capacity` bytes, like a C caller with `char name[capacity]`:
/// a name that does not fit (with its NUL) is an error (`ENAMETOOLONG`).
pub fn host_name(capacity: usize) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0_u8; capacity.max(1)];
    // SAFETY: `buffer` is writable for its full length, which is what we pass.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast::<c_char>(), buffer.len()) };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    let Some(end) = buffer.iter().position(|&byte| byte == 0) else {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    };
    buffer.truncate(end);
    Ok(buffer)
}

/// `gethostbyname_r(name)`'s canonical name (`h_name`), or `None` when the lookup fails.
#[must_use]
pub fn canonical_name(name: &[u8]) -> Option<Vec<u8>> {
    let name = CString::new(name).ok()?;
    let mut buffer = vec![0_u8; 8192];
    loop {
        // SAFETY: an all-zero hostent is a valid output slot (null pointers, zero lengths).
        let mut entry: libc::hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut host_error: c_int = 0;
        // SAFETY: `name` is NUL-terminated; `entry`, `buffer` (true length), `result` and
        // `host_error` are live and writable for the call.
        let status = unsafe {
            gethostbyname_r(
                name.as_ptr(),
                &raw mut entry,
                buffer.as_mut_ptr().cast::<c_char>(),
                buffer.len(),
                &raw mut result,
                &raw mut host_error,
            )
        };
        if status == libc::ERANGE && buffer.len() < 1 << 20 {
            let grown = buffer.len() * 2;
            buffer.resize(grown, 0);
            continue;
        }
        if status != 0 || result.is_null() || entry.h_name.is_null() {
            return None;
        }
        // SAFETY: on success `h_name` points to a NUL-terminated string inside `buffer`, which
        // is alive; we copy it out at once.
        return Some(unsafe { CStr::from_ptr(entry.h_name) }.to_bytes().to_vec());
    }
}

/// `res_init()` then `res_querydomain(name, domain, class, kind)`: the raw answer message.
/// Errors carry no detail beyond "failed" (the resolver reports through `h_errno`).
pub fn query_domain(name: &[u8], domain: &[u8], class: i32, kind: i32) -> io::Result<Vec<u8>> {
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let domain = CString::new(domain).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: res_init only (re)reads the resolver configuration into this thread's state.
    if unsafe { libc::res_init() } < 0 {
        return Err(io::Error::other("res_init failed"));
    }
    let mut answer = vec![0_u8; 65_535];
    let capacity = c_int::try_from(answer.len()).unwrap_or(c_int::MAX);
    // SAFETY: both strings are NUL-terminated; `answer` is writable for `capacity` bytes.
    let length = unsafe {
        res_querydomain(
            name.as_ptr(),
            domain.as_ptr(),
            class,
            kind,
            answer.as_mut_ptr(),
            capacity,
        )
    };
    let length = usize::try_from(length).map_err(|_| io::Error::other("res_querydomain failed"))?;
    answer.truncate(length.min(answer.len()));
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_matches_proc() {
        let expected = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(host_name(256).unwrap(), expected.trim_end().as_bytes());
    }

    #[test]
    fn host_name_too_long_for_the_buffer_is_an_error() {
        assert!(host_name(1).is_err());
    }

    #[test]
    fn localhost_has_a_canonical_name() {
        assert_eq!(canonical_name(b"localhost").as_deref(), Some(&b"localhost"[..]));
    }
}
