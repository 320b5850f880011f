//! Safe wrappers over the kernel key management syscalls: `keyctl(2)`, `request_key(2)`, `add_key(2)`.
//!
//! Every function maps to one kernel operation (see `request-key-mechanics.md` §8 for their
//! semantics) and returns owned values. No libkeyutils: the C helpers link it, we call the
//! syscalls directly as its thin wrappers do. Descriptions and payloads are bytes, never assumed
//! to be UTF-8.

use std::ffi::{CString, c_long, c_ulong};
use std::io;

use crate::ids::{Gid, KeyPerm, KeySerial, Uid};

/// The `KEYCTL_*` command numbers of `<linux/keyctl.h>` that kup uses.
mod command {
    pub(super) const GET_KEYRING_ID: i32 = 0;
    pub(super) const JOIN_SESSION_KEYRING: i32 = 1;
    pub(super) const UPDATE: i32 = 2;
    pub(super) const REVOKE: i32 = 3;
    pub(super) const CHOWN: i32 = 4;
    pub(super) const SETPERM: i32 = 5;
    pub(super) const DESCRIBE: i32 = 6;
    pub(super) const CLEAR: i32 = 7;
    pub(super) const LINK: i32 = 8;
    pub(super) const UNLINK: i32 = 9;
    pub(super) const SEARCH: i32 = 10;
    pub(super) const READ: i32 = 11;
    pub(super) const INSTANTIATE: i32 = 12;
    pub(super) const NEGATE: i32 = 13;
    pub(super) const SET_TIMEOUT: i32 = 15;
    pub(super) const ASSUME_AUTHORITY: i32 = 16;
    pub(super) const REJECT: i32 = 19;
    pub(super) const INSTANTIATE_IOV: i32 = 20;
    pub(super) const INVALIDATE: i32 = 21;
}

/// The parsed form of `KEYCTL_DESCRIBE`'s `type;uid;gid;perm;description` string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDescription {
    /// The key type name (`user`, `dns_resolver`, `id_resolver`, `cifs.idmap`, ...).
    pub key_type: Vec<u8>,
    /// The owner, as seen from the caller's user namespace.
    pub uid: Uid,
    /// The group, as seen from the caller's user namespace.
    pub gid: Gid,
    /// The permission word.
    pub perm: KeyPerm,
    /// Everything after the fourth `;`: the description proper, which may itself contain `;`.
    pub description: Vec<u8>,
}

impl KeyDescription {
    /// Splits a describe string the way `/sbin/request-key` does: the type is the text before the
    /// first `;`, then a decimal uid, a decimal gid and a hex permission word, and the description
    /// is the rest after the fourth `;`. Returns `None` when a field is missing or not a number.
    #[must_use]
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let mut fields = raw.splitn(5, |&byte| byte == b';');
        let key_type = fields.next()?.to_vec();
        let uid = parse_id(fields.next()?)?;
        let gid = parse_id(fields.next()?)?;
        let perm = u32::from_str_radix(std::str::from_utf8(fields.next()?).ok()?, 16).ok()?;
        let description = fields.next()?.to_vec();
        Some(Self {
            key_type,
            uid: Uid::new(uid),
            gid: Gid::new(gid),
            perm: KeyPerm::new(perm),
            description,
        })
    }
}

/// The kernel prints ids with `%d`; a uid above `i32::MAX` shows up negative.
fn parse_id(field: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(field).ok()?;
    if let Ok(value) = text.parse::<u32>() {
        return Some(value);
    }
    text.parse::<i32>().ok().map(i32::cast_unsigned)
}

/// Converts a byte string for the kernel; an interior NUL cannot be expressed and is refused.
fn c_bytes(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interior NUL byte"))
}

/// One `keyctl(2)` call with integer arguments only.
fn keyctl_values(cmd: i32, arg2: c_ulong, arg3: c_ulong, arg4: c_ulong, arg5: c_ulong) -> io::Result<c_long> {
    // SAFETY: the commands issued through this function take only integer arguments (serials,
    // timeouts, ids, permission words, error numbers); the kernel dereferences no pointer.
    let ret = unsafe { libc::syscall(libc::SYS_keyctl, cmd, arg2, arg3, arg4, arg5) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Passes a key serial as the kernel's `unsigned long` argument (sign-extended like C does).
fn serial_arg(key: KeySerial) -> c_ulong {
    c_long::from(key.get()).cast_unsigned()
}

/// The kernel returns serials as `long`; they always fit the 32-bit `key_serial_t`.
fn serial_from(ret: c_long) -> io::Result<KeySerial> {
    i32::try_from(ret).map(KeySerial::new).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "kernel returned an out-of-range serial",
        )
    })
}

fn length_from(ret: c_long) -> io::Result<usize> {
    usize::try_from(ret)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "kernel returned a negative length"))
}

/// `KEYCTL_GET_KEYRING_ID`: resolves a special id (e.g. [`KeySerial::SESSION_KEYRING`]) to a real
/// serial, creating the keyring when `create` is set.
pub fn keyring_id(special: KeySerial, create: bool) -> io::Result<KeySerial> {
    keyctl_values(
        command::GET_KEYRING_ID,
        serial_arg(special),
        c_ulong::from(create),
        0,
        0,
    )
    .and_then(serial_from)
}

/// `KEYCTL_JOIN_SESSION_KEYRING`: joins (or creates) the named session keyring for the calling
/// thread, or a fresh anonymous one when `name` is `None`.
pub fn join_session_keyring(name: Option<&[u8]>) -> io::Result<KeySerial> {
    let ret = match name {
        None => keyctl_values(command::JOIN_SESSION_KEYRING, 0, 0, 0, 0)?,
        Some(name) => {
            let name = c_bytes(name)?;
            // SAFETY: `name` is a valid NUL-terminated string that outlives the call; the kernel
            // only reads it.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_keyctl,
                    command::JOIN_SESSION_KEYRING,
                    name.as_ptr(),
                    0,
                    0,
                    0,
                )
            };
            if ret < 0 {
                return Err(io::Error::last_os_error());
            }
            ret
        }
    };
    serial_from(ret)
}

/// `KEYCTL_UPDATE`: replaces a key's payload.
pub fn update(key: KeySerial, payload: &[u8]) -> io::Result<()> {
    // SAFETY: `payload` is a valid slice for `payload.len()` bytes during the call; the kernel
    // copies from it and keeps no reference.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            command::UPDATE,
            serial_arg(key),
            payload.as_ptr(),
            payload.len(),
            0,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `KEYCTL_REVOKE`: marks a key revoked; further access fails with `EKEYREVOKED`.
pub fn revoke(key: KeySerial) -> io::Result<()> {
    keyctl_values(command::REVOKE, serial_arg(key), 0, 0, 0).map(drop)
}

/// `KEYCTL_CHOWN`: changes the owner and/or group (`None` leaves one unchanged).
pub fn chown(key: KeySerial, uid: Option<Uid>, gid: Option<Gid>) -> io::Result<()> {
    let uid = uid.map_or(c_ulong::MAX, |uid| c_ulong::from(uid.get()));
    let gid = gid.map_or(c_ulong::MAX, |gid| c_ulong::from(gid.get()));
    // (uid_t)-1 is passed as an all-ones value the kernel truncates to 32 bits.
    keyctl_values(command::CHOWN, serial_arg(key), uid, gid, 0).map(drop)
}

/// `KEYCTL_SETPERM`: sets the permission word.
pub fn set_perm(key: KeySerial, perm: KeyPerm) -> io::Result<()> {
    keyctl_values(command::SETPERM, serial_arg(key), c_ulong::from(perm.get()), 0, 0).map(drop)
}

/// `KEYCTL_DESCRIBE`: the raw `type;uid;gid;perm;description` bytes, without the trailing NUL.
pub fn describe_raw(key: KeySerial) -> io::Result<Vec<u8>> {
    let mut bytes = read_sized(command::DESCRIBE, key)?;
    if bytes.last() == Some(&0) {
        bytes.pop();
    }
    Ok(bytes)
}

/// `KEYCTL_DESCRIBE`, split into its fields.
pub fn describe(key: KeySerial) -> io::Result<KeyDescription> {
    let raw = describe_raw(key)?;
    KeyDescription::parse(&raw).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "kernel describe string has an unexpected shape",
        )
    })
}

/// `KEYCTL_CLEAR`: unlinks every key from a keyring.
pub fn clear(keyring: KeySerial) -> io::Result<()> {
    keyctl_values(command::CLEAR, serial_arg(keyring), 0, 0, 0).map(drop)
}

/// `KEYCTL_LINK`: links `key` into `keyring`.
pub fn link(key: KeySerial, keyring: KeySerial) -> io::Result<()> {
    keyctl_values(command::LINK, serial_arg(key), serial_arg(keyring), 0, 0).map(drop)
}

/// `KEYCTL_UNLINK`: removes the link from `keyring` to `key`.
pub fn unlink(key: KeySerial, keyring: KeySerial) -> io::Result<()> {
    keyctl_values(command::UNLINK, serial_arg(key), serial_arg(keyring), 0, 0).map(drop)
}

/// `KEYCTL_SEARCH`: searches the tree under `keyring` for a key of `key_type` and `description`;
/// links the result into `destination` when given.
pub fn search(
    keyring: KeySerial,
    key_type: &str,
    description: &[u8],
    destination: Option<KeySerial>,
) -> io::Result<KeySerial> {
    let key_type = c_bytes(key_type.as_bytes())?;
    let description = c_bytes(description)?;
    let destination = destination.map_or(0, serial_arg);
    // SAFETY: both strings are valid and NUL-terminated for the duration of the call; the kernel
    // copies them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            command::SEARCH,
            serial_arg(keyring),
            key_type.as_ptr(),
            description.as_ptr(),
            destination,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        serial_from(ret)
    }
}

/// `KEYCTL_READ`: the whole payload (for a keyring: its member serials as native-endian `i32`s).
pub fn read(key: KeySerial) -> io::Result<Vec<u8>> {
    read_sized(command::READ, key)
}

/// `KEYCTL_READ` of a keyring, decoded into the serials it links to.
pub fn keyring_members(keyring: KeySerial) -> io::Result<Vec<KeySerial>> {
    let raw = read(keyring)?;
    Ok(raw
        .chunks_exact(4)
        .map(|chunk| KeySerial::new(i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])))
        .collect())
}

/// Runs a "fill this buffer, return the full length" command until the buffer was big enough.
fn read_sized(cmd: i32, key: KeySerial) -> io::Result<Vec<u8>> {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        // SAFETY: `buffer` is valid for writes of `buffer.len()` bytes (a zero length with a
        // dangling-but-aligned pointer is accepted: the kernel then writes nothing), and the kernel
        // writes at most that many bytes.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                cmd,
                serial_arg(key),
                buffer.as_mut_ptr(),
                buffer.len(),
                0,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        let needed = length_from(ret)?;
        if needed <= buffer.len() {
            buffer.truncate(needed);
            return Ok(buffer);
        }
        // The payload may change size between the two calls (update by someone else): loop.
        buffer = vec![0; needed];
    }
}

/// `KEYCTL_INSTANTIATE`: completes the key under construction with `payload`, linking it into
/// `keyring` unless that is [`KeySerial::NONE`]. Needs the authority assumed by request-key.
pub fn instantiate(key: KeySerial, payload: &[u8], keyring: KeySerial) -> io::Result<()> {
    // SAFETY: `payload` is valid for `payload.len()` bytes during the call; the kernel copies it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            command::INSTANTIATE,
            serial_arg(key),
            payload.as_ptr(),
            payload.len(),
            serial_arg(keyring),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `KEYCTL_INSTANTIATE_IOV`: like [`instantiate`] with the payload given as segments, which the
/// kernel concatenates.
pub fn instantiate_iov(key: KeySerial, segments: &[&[u8]], keyring: KeySerial) -> io::Result<()> {
    let iov: Vec<libc::iovec> = segments
        .iter()
        .map(|segment| libc::iovec {
            iov_base: segment.as_ptr().cast_mut().cast(),
            iov_len: segment.len(),
        })
        .collect();
    // SAFETY: every iovec points into a slice borrowed for the whole call and gives its true
    // length; the kernel only reads through them (KEYCTL_INSTANTIATE_IOV copies the data in).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            command::INSTANTIATE_IOV,
            serial_arg(key),
            iov.as_ptr(),
            iov.len(),
            serial_arg(keyring),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `KEYCTL_NEGATE`: completes the key as negative (requesters get `ENOKEY`) for `timeout_secs`.
pub fn negate(key: KeySerial, timeout_secs: u32, keyring: KeySerial) -> io::Result<()> {
    keyctl_values(
        command::NEGATE,
        serial_arg(key),
        c_ulong::from(timeout_secs),
        serial_arg(keyring),
        0,
    )
    .map(drop)
}

/// `KEYCTL_REJECT`: completes the key as negative with a chosen error number for `timeout_secs`.
pub fn reject(key: KeySerial, timeout_secs: u32, error: i32, keyring: KeySerial) -> io::Result<()> {
    let error = c_ulong::try_from(error)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "error number must be positive"))?;
    keyctl_values(
        command::REJECT,
        serial_arg(key),
        c_ulong::from(timeout_secs),
        error,
        serial_arg(keyring),
    )
    .map(drop)
}

/// `KEYCTL_SET_TIMEOUT`: the key expires `seconds` from now; `0` clears the expiry.
pub fn set_timeout(key: KeySerial, seconds: u32) -> io::Result<()> {
    keyctl_values(
        command::SET_TIMEOUT,
        serial_arg(key),
        c_ulong::from(seconds),
        0,
        0,
    )
    .map(drop)
}

/// `KEYCTL_ASSUME_AUTHORITY`: takes over the authority to construct `key` (as request-key does
/// before exec'ing a helper), or drops any assumed authority when `key` is `None`.
pub fn assume_authority(key: Option<KeySerial>) -> io::Result<()> {
    keyctl_values(command::ASSUME_AUTHORITY, key.map_or(0, serial_arg), 0, 0, 0).map(drop)
}

/// `KEYCTL_INVALIDATE`: marks a key for immediate garbage collection.
pub fn invalidate(key: KeySerial) -> io::Result<()> {
    keyctl_values(command::INVALIDATE, serial_arg(key), 0, 0, 0).map(drop)
}

/// `add_key(2)`: creates or updates a key of `key_type` in `keyring`.
pub fn add_key(
    key_type: &str,
    description: &[u8],
    payload: &[u8],
    keyring: KeySerial,
) -> io::Result<KeySerial> {
    let key_type = c_bytes(key_type.as_bytes())?;
    let description = c_bytes(description)?;
    // SAFETY: the strings are NUL-terminated and the payload slice is valid for its length for
    // the duration of the call; the kernel copies all three.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            key_type.as_ptr(),
            description.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            keyring.get(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        serial_from(ret)
    }
}

/// `request_key(2)`: finds a key, or (when `callout` is `Some`) has the kernel construct it through
/// `/sbin/request-key`. `callout == None` never upcalls; pass `Some(b"")` for an empty callout.
pub fn request_key(
    key_type: &str,
    description: &[u8],
    callout: Option<&[u8]>,
    destination: KeySerial,
) -> io::Result<KeySerial> {
    let key_type = c_bytes(key_type.as_bytes())?;
    let description = c_bytes(description)?;
    let callout = callout.map(c_bytes).transpose()?;
    let callout_ptr = callout
        .as_ref()
        .map_or(std::ptr::null(), |callout| callout.as_ptr());
    // SAFETY: the strings are NUL-terminated and alive for the call; a null callout pointer is the
    // documented "do not upcall" value.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_request_key,
            key_type.as_ptr(),
            description.as_ptr(),
            callout_ptr,
            destination.get(),
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        serial_from(ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_string_keeps_semicolons_in_the_description() {
        let parsed = KeyDescription::parse(b"cifs.spnego;0;0;39010000;ver=0x2;host=a;uid=0x0").unwrap();
        assert_eq!(parsed.key_type, b"cifs.spnego");
        assert_eq!(parsed.uid, Uid::new(0));
        assert_eq!(parsed.perm, KeyPerm::new(0x3901_0000));
        assert_eq!(parsed.description, b"ver=0x2;host=a;uid=0x0");
    }

    #[test]
    fn describe_string_with_empty_description_parses() {
        let parsed = KeyDescription::parse(b"user;65534;65534;3f010000;").unwrap();
        assert_eq!(parsed.uid, Uid::new(65534));
        assert!(parsed.description.is_empty());
    }

    #[test]
    fn describe_string_with_negative_uid_wraps_like_the_kernel_prints_it() {
        let parsed = KeyDescription::parse(b"user;-1;-1;3f010000;x").unwrap();
        assert_eq!(parsed.uid, Uid::new(u32::MAX));
    }

    #[test]
    fn describe_string_missing_fields_is_refused() {
        assert_eq!(KeyDescription::parse(b"user;0;0;3f010000"), None);
        assert_eq!(KeyDescription::parse(b"user;x;0;3f010000;d"), None);
        assert_eq!(KeyDescription::parse(b"user;0;0;zz;d"), None);
        assert_eq!(KeyDescription::parse(b""), None);
    }

    #[test]
    fn interior_nul_is_refused_before_the_syscall() {
        let error = add_key("user", b"a\0b", b"x", KeySerial::SESSION_KEYRING).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
