//! What the mapping needs from the system, as traits, with the real implementation.
//!
//! [`Accounts`] is the user/group database (NSS), [`HostNaming`] the host name, its canonical
//! name and the DNS TXT lookup. The library is generic over them so its rules are unit-tested
//! with hand-written tables; [`SystemAccounts`] and [`SystemHost`] use `kup-sys` (libc NSS and
//! resolver), exactly the calls libnfsidmap makes.

use kup_sys::passwd::{Group, Passwd};
use kup_sys::{Gid, Uid};

/// The user and group database. `Err` carries a positive errno from NSS.
pub trait Accounts {
    /// `getpwnam_r`.
    fn user_by_name(&self, name: &[u8]) -> Result<Option<Passwd>, i32>;
    /// `getpwuid_r`.
    fn user_by_uid(&self, uid: Uid) -> Result<Option<Passwd>, i32>;
    /// `getgrnam_r`.
    fn group_by_name(&self, name: &[u8]) -> Result<Option<Group>, i32>;
    /// `getgrgid_r`.
    fn group_by_gid(&self, gid: Gid) -> Result<Option<Group>, i32>;
    /// `getgrouplist`.
    fn group_list(&self, user: &[u8], primary: Gid) -> Result<Vec<Gid>, i32>;
}

/// Host naming and the DNS TXT query of the NFSv4 domain decision.
pub trait HostNaming {
    /// `gethostname` into a 64-byte buffer (what libnfsidmap uses); `None` on failure.
    fn host_name(&self) -> Option<Vec<u8>>;
    /// `gethostbyname(name)->h_name`; `None` on failure.
    fn canonical_name(&self, name: &[u8]) -> Option<Vec<u8>>;
    /// `res_querydomain(name, domain, IN, TXT)`: the raw answer message, `None` on failure.
    fn txt_query(&self, name: &[u8], domain: &[u8]) -> Option<Vec<u8>>;
}

/// [`Accounts`] through libc NSS.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemAccounts;

fn errno(error: &std::io::Error) -> i32 {
    error.raw_os_error().unwrap_or(kup_sys::errno::EIO)
}

impl Accounts for SystemAccounts {
    fn user_by_name(&self, name: &[u8]) -> Result<Option<Passwd>, i32> {
        kup_sys::passwd::user_by_name(name).map_err(|error| errno(&error))
    }
    fn user_by_uid(&self, uid: Uid) -> Result<Option<Passwd>, i32> {
        kup_sys::passwd::user_by_uid(uid).map_err(|error| errno(&error))
    }
    fn group_by_name(&self, name: &[u8]) -> Result<Option<Group>, i32> {
        kup_sys::passwd::group_by_name(name).map_err(|error| errno(&error))
    }
    fn group_by_gid(&self, gid: Gid) -> Result<Option<Group>, i32> {
        kup_sys::passwd::group_by_gid(gid).map_err(|error| errno(&error))
    }
    fn group_list(&self, user: &[u8], primary: Gid) -> Result<Vec<Gid>, i32> {
        kup_sys::passwd::group_list(user, primary).map_err(|error| errno(&error))
    }
}

/// [`HostNaming`] through libc.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemHost;

/// libnfsidmap's `char hname[64]`.
const HOST_NAME_BUFFER: usize = 64;

impl HostNaming for SystemHost {
    fn host_name(&self) -> Option<Vec<u8>> {
        kup_sys::hostname::host_name(HOST_NAME_BUFFER).ok()
    }
    fn canonical_name(&self, name: &[u8]) -> Option<Vec<u8>> {
        kup_sys::hostname::canonical_name(name)
    }
    fn txt_query(&self, name: &[u8], domain: &[u8]) -> Option<Vec<u8>> {
        kup_sys::hostname::query_domain(
            name,
            domain,
            kup_sys::hostname::CLASS_IN,
            kup_sys::hostname::TYPE_TXT,
        )
        .ok()
    }
}
