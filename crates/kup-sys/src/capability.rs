//! Capability sets through the raw `capget(2)`/`capset(2)` syscalls (version 3: two 32-bit words
//! per set, so 64-bit sets) and the bounding set through `prctl(PR_CAPBSET_READ/DROP)`.
//!
//! No libcap: the three sets are plain bit masks, capability `n` is bit `n`. The highest
//! capability the running kernel knows is read from `/proc/sys/kernel/cap_last_cap`.

use std::io;

/// `_LINUX_CAPABILITY_VERSION_3` from `<linux/capability.h>`.
const VERSION_3: u32 = 0x2008_0522;

/// The permitted, effective and inheritable sets of the calling thread, bit `n` = capability `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    /// Capabilities the thread may make effective.
    pub permitted: u64,
    /// Capabilities the kernel checks.
    pub effective: u64,
    /// Capabilities kept across `execve` (with file or ambient capabilities).
    pub inheritable: u64,
}

impl CapabilitySets {
    /// No capability in any set.
    pub const EMPTY: Self = Self {
        permitted: 0,
        effective: 0,
        inheritable: 0,
    };
}

/// `CAP_SYS_ADMIN`, the capability `setns(2)` and `mount(2)` check.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SETUID`.
pub const CAP_SETUID: u32 = 7;
/// `CAP_SETGID`.
pub const CAP_SETGID: u32 = 6;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`; version 3 uses two of them (low and high 32 bits).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `capget(2)` of the calling thread.
pub fn current() -> io::Result<CapabilitySets> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: `header` is a live version-3 header and `data` the two-element array version 3
    // writes; both outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
    Ok(CapabilitySets {
        permitted: join(data[0].permitted, data[1].permitted),
        effective: join(data[0].effective, data[1].effective),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// `capset(2)` of the calling thread to `sets`.
pub fn set(sets: CapabilitySets) -> io::Result<()> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // The low and high halves: the masks keep each in range, so the conversions cannot fail.
    let split = |set: u64| {
        (
            u32::try_from(set & 0xffff_ffff).unwrap_or(0),
            u32::try_from(set >> 32).unwrap_or(0),
        )
    };
    let (effective_low, effective_high) = split(sets.effective);
    let (permitted_low, permitted_high) = split(sets.permitted);
    let (inheritable_low, inheritable_high) = split(sets.inheritable);
    let data = [
        Data {
            effective: effective_low,
            permitted: permitted_low,
            inheritable: inheritable_low,
        },
        Data {
            effective: effective_high,
            permitted: permitted_high,
            inheritable: inheritable_high,
        },
    ];
    // SAFETY: `header` is a live version-3 header and `data` the two-element array version 3
    // reads; both outlive the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The highest capability number the running kernel knows (`/proc/sys/kernel/cap_last_cap`).
pub fn last_capability() -> io::Result<u32> {
    let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "cap_last_cap is not a number"))
}

/// `prctl(PR_CAPBSET_READ, capability)`: whether `capability` is in the bounding set.
pub fn in_bounding_set(capability: u32) -> io::Result<bool> {
    // SAFETY: PR_CAPBSET_READ takes a capability number and no pointers.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_READ,
            libc::c_ulong::from(capability),
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

/// `prctl(PR_CAPBSET_DROP, capability)`: removes `capability` from the bounding set (needs
/// `CAP_SETPCAP`).
pub fn drop_from_bounding_set(capability: u32) -> io::Result<()> {
    // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_DROP,
            libc::c_ulong::from(capability),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status_mask(name: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let value = status.lines().find_map(|line| line.strip_prefix(name)).unwrap();
        u64::from_str_radix(value.trim(), 16).unwrap()
    }

    #[test]
    fn capget_agrees_with_proc_status() {
        let sets = current().unwrap();
        assert_eq!(sets.permitted, status_mask("CapPrm:"));
        assert_eq!(sets.effective, status_mask("CapEff:"));
        assert_eq!(sets.inheritable, status_mask("CapInh:"));
    }

    #[test]
    fn bounding_set_reads_agree_with_proc_status() {
        let bounding = status_mask("CapBnd:");
        for capability in 0..=last_capability().unwrap() {
            assert_eq!(
                in_bounding_set(capability).unwrap(),
                bounding & (1 << capability) != 0
            );
        }
    }
}
