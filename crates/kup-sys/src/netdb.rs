//! Host name resolution through libc: `getaddrinfo(3)`, `gai_strerror(3)`.
//!
//! Using glibc's own `getaddrinfo` is deliberate (see `docs/deps.md`, kup-dns): it is what
//! `key.dns_resolver` and `cifs.upcall` call, so `/etc/hosts`, `nsswitch.conf` (files, dns, myhostname,
//! mdns, resolve ...), `gai.conf` ordering and `/etc/resolv.conf` handling are exactly the
//! system's. This module only turns the linked list into owned addresses.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which address family to ask for (`ai_family` of the hints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `AF_UNSPEC`.
    Any,
    /// `AF_INET`.
    Ipv4,
    /// `AF_INET6`.
    Ipv6,
}

/// A `getaddrinfo` failure: the `EAI_*` code and, for `EAI_SYSTEM`, the errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaiError {
    /// The (negative) `EAI_*` value.
    pub code: i32,
    /// `errno` when `code` is `EAI_SYSTEM`.
    pub errno: Option<i32>,
}

impl GaiError {
    /// `EAI_NONAME`: the name is not known.
    pub const NO_NAME: i32 = libc::EAI_NONAME;
    /// `EAI_NODATA` (glibc): the name exists but has no address.
    pub const NO_DATA: i32 = -5;
    /// `EAI_AGAIN`: temporary failure.
    pub const AGAIN: i32 = libc::EAI_AGAIN;
    /// `EAI_FAIL`: non-recoverable failure.
    pub const FAIL: i32 = libc::EAI_FAIL;
    /// `EAI_ADDRFAMILY` (glibc): no address in the requested family.
    pub const ADDRESS_FAMILY: i32 = -9;

    /// `gai_strerror` text.
    #[must_use]
    pub fn message(&self) -> String {
        // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated string for every
        // code (an "Unknown error" text for unknown ones); it is never freed.
        let text = unsafe { libc::gai_strerror(self.code) };
        if text.is_null() {
            return format!("getaddrinfo error {}", self.code);
        }
        // SAFETY: non-null, static and NUL-terminated (see above).
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    }
}

/// Frees the list on every path.
struct AddrInfoList(*mut libc::addrinfo);

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getaddrinfo and is freed exactly once.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// `getaddrinfo(host, NULL, {ai_family}, &list)`: every address in the order glibc returns
/// them, duplicates included (without a socket type glibc returns each address once per
/// socket type). Entries of other families are skipped. `host` must not contain NUL.
pub fn getaddrinfo(host: &[u8], family: Family) -> Result<Vec<IpAddr>, GaiError> {
    let host = CString::new(host).map_err(|_| GaiError {
        code: GaiError::NO_NAME,
        errno: None,
    })?;
    // SAFETY: addrinfo is a plain C struct for which all-zero is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = match family {
        Family::Any => libc::AF_UNSPEC,
        Family::Ipv4 => libc::AF_INET,
        Family::Ipv6 => libc::AF_INET6,
    };
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: `host` is NUL-terminated and alive for the call, the service is NULL (allowed when
    // a host is given), `hints` is a valid struct and `list` a valid out-pointer.
    let code = unsafe { libc::getaddrinfo(host.as_ptr(), std::ptr::null(), &raw const hints, &raw mut list) };
    if code != 0 {
        let errno = (code == libc::EAI_SYSTEM)
            .then(|| std::io::Error::last_os_error().raw_os_error())
            .flatten();
        return Err(GaiError { code, errno });
    }
    let list = AddrInfoList(list);
    let mut addresses = Vec::new();
    let mut entry = list.0;
    while !entry.is_null() {
        // SAFETY: `entry` is a non-null node of the list owned by `list`, alive until it drops.
        let node = unsafe { &*entry };
        if let Some(address) = socket_address(node) {
            addresses.push(address);
        }
        entry = node.ai_next;
    }
    Ok(addresses)
}

fn socket_address(node: &libc::addrinfo) -> Option<IpAddr> {
    if node.ai_addr.is_null() {
        return None;
    }
    let length = usize::try_from(node.ai_addrlen).ok()?;
    match node.ai_family {
        libc::AF_INET if length >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: family AF_INET with a long enough buffer means ai_addr points to a
            // sockaddr_in; read_unaligned copes with any alignment.
            let socket = unsafe { std::ptr::read_unaligned(node.ai_addr.cast::<libc::sockaddr_in>()) };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(socket.sin_addr.s_addr))))
        }
        libc::AF_INET6 if length >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above for AF_INET6 / sockaddr_in6.
            let socket = unsafe { std::ptr::read_unaligned(node.ai_addr.cast::<libc::sockaddr_in6>()) };
            Some(IpAddr::V6(Ipv6Addr::from(socket.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_from_the_hosts_file() {
        let addresses = getaddrinfo(b"localhost", Family::Ipv4).unwrap();
        assert!(addresses.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn numeric_addresses_need_no_lookup() {
        let addresses = getaddrinfo(b"2001:db8::1", Family::Any).unwrap();
        assert_eq!(addresses[0], "2001:db8::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn family_mismatch_is_an_error_with_a_message() {
        let error = getaddrinfo(b"192.0.2.1", Family::Ipv6).unwrap_err();
        assert!(!error.message().is_empty());
    }

    #[test]
    fn interior_nul_is_refused_without_a_lookup() {
        assert_eq!(
            getaddrinfo(b"a\0b", Family::Any).unwrap_err().code,
            GaiError::NO_NAME
        );
    }
}
