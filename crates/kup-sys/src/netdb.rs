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
    let list = call_getaddrinfo(&host, Some(&hints))?;
    Ok(list.addresses())
}

/// `getaddrinfo(host, NULL, NULL, &list)`: no hints at all, so glibc applies its defaults
/// (`AF_UNSPEC`, `AI_V4MAPPED | AI_ADDRCONFIG`) — what cifs.upcall's resolver mode calls.
/// Addresses as [`getaddrinfo`] returns them.
pub fn getaddrinfo_without_hints(host: &[u8]) -> Result<Vec<IpAddr>, GaiError> {
    let host = CString::new(host).map_err(|_| GaiError {
        code: GaiError::NO_NAME,
        errno: None,
    })?;
    let list = call_getaddrinfo(&host, None)?;
    Ok(list.addresses())
}

/// The canonical name of `host` (`getaddrinfo(host, NULL, {AF_UNSPEC, AI_CANONNAME})`, the first
/// entry's `ai_canonname`), `None` when glibc gives none.
pub fn canonical_name(host: &[u8]) -> Result<Option<Vec<u8>>, GaiError> {
    let host = CString::new(host).map_err(|_| GaiError {
        code: GaiError::NO_NAME,
        errno: None,
    })?;
    // SAFETY: addrinfo is a plain C struct for which all-zero is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_flags = libc::AI_CANONNAME;
    let list = call_getaddrinfo(&host, Some(&hints))?;
    if list.0.is_null() {
        return Ok(None);
    }
    // SAFETY: the list is non-null and owned by `list`, alive until it drops.
    let first = unsafe { &*list.0 };
    if first.ai_canonname.is_null() {
        return Ok(None);
    }
    // SAFETY: ai_canonname is a NUL-terminated string owned by the list, alive until it drops.
    Ok(Some(
        unsafe { CStr::from_ptr(first.ai_canonname) }.to_bytes().to_vec(),
    ))
}

/// The host name a numeric address reverse-resolves to: `getaddrinfo(address, NULL,
/// {AI_NUMERICHOST})`, then `getnameinfo(…, NI_NAMEREQD)` of the first entry into a buffer of
/// `NI_MAXHOST` (1025) bytes — cifs.upcall's `-t` lookup. `Err` with the `EAI_*` code of the call
/// that failed.
pub fn reverse_name(address: &[u8]) -> Result<Vec<u8>, GaiError> {
    let address = CString::new(address).map_err(|_| GaiError {
        code: GaiError::NO_NAME,
        errno: None,
    })?;
    // SAFETY: addrinfo is a plain C struct for which all-zero is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_NUMERICHOST;
    let list = call_getaddrinfo(&address, Some(&hints))?;
    if list.0.is_null() {
        return Err(GaiError {
            code: GaiError::NO_NAME,
            errno: None,
        });
    }
    // SAFETY: the list is non-null and owned by `list`, alive until it drops.
    let first = unsafe { &*list.0 };
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: ai_addr/ai_addrlen describe the entry's socket address (owned by the list); `host`
    // is a writable buffer of the length passed; no service buffer is asked for.
    let code = unsafe {
        libc::getnameinfo(
            first.ai_addr,
            first.ai_addrlen,
            host.as_mut_ptr(),
            1025,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if code != 0 {
        let errno = (code == libc::EAI_SYSTEM)
            .then(|| std::io::Error::last_os_error().raw_os_error())
            .flatten();
        return Err(GaiError { code, errno });
    }
    // SAFETY: getnameinfo succeeded, so `host` holds a NUL-terminated string within its length.
    Ok(unsafe { CStr::from_ptr(host.as_ptr()) }.to_bytes().to_vec())
}

fn call_getaddrinfo(host: &CStr, hints: Option<&libc::addrinfo>) -> Result<AddrInfoList, GaiError> {
    let hints = hints.map_or(std::ptr::null(), std::ptr::from_ref);
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: `host` is NUL-terminated and alive for the call, the service is NULL (allowed when
    // a host is given), `hints` is a valid struct or NULL and `list` a valid out-pointer.
    let code = unsafe { libc::getaddrinfo(host.as_ptr(), std::ptr::null(), hints, &raw mut list) };
    if code != 0 {
        let errno = (code == libc::EAI_SYSTEM)
            .then(|| std::io::Error::last_os_error().raw_os_error())
            .flatten();
        return Err(GaiError { code, errno });
    }
    Ok(AddrInfoList(list))
}

impl AddrInfoList {
    fn addresses(&self) -> Vec<IpAddr> {
        let mut addresses = Vec::new();
        let mut entry = self.0;
        while !entry.is_null() {
            // SAFETY: `entry` is a non-null node of this list, alive while `self` is.
            let node = unsafe { &*entry };
            if let Some(address) = socket_address(node) {
                addresses.push(address);
            }
            entry = node.ai_next;
        }
        addresses
    }
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
    fn localhost_has_a_canonical_name_and_loopback_a_reverse_name() {
        assert_eq!(
            canonical_name(b"localhost").unwrap().as_deref(),
            Some(&b"localhost"[..])
        );
        assert!(!reverse_name(b"127.0.0.1").unwrap().is_empty());
        assert!(reverse_name(b"not an address").is_err());
        assert!(!getaddrinfo_without_hints(b"localhost").unwrap().is_empty());
    }

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
