//! A reader for `/proc/keys`: every key the caller may view, one line each.
//!
//! The line layout is the kernel's `proc_keys_show()`:
//! `serial flags usage expiry perm uid gid type description`, with the serial and permission word
//! in hex, the flags as seven letters or dashes, the expiry as `perm`, `expd` or a rounded
//! duration (`59s`, `9m`, `2h`, `3d`, `1w`), the type truncated to nine characters and the
//! description as the key type formats it (for `user`-like types `name: <payload length>`).
//! Parsing is pure and total: a line that does not fit is skipped, never a panic.

use std::io;
use std::time::Duration;

use crate::ids::{Gid, KeyPerm, KeySerial, Uid};

/// When a key expires, as `/proc/keys` rounds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// No expiry set (`perm`).
    Permanent,
    /// Already expired (`expd`), awaiting garbage collection.
    Expired,
    /// Expires within this much time; the kernel rounds down to the unit it prints.
    In(Duration),
}

/// The state letters of the flags column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // one bool per kernel flag letter, mirrored as shown
pub struct ProcKeyFlags {
    /// `I`: instantiated (positively or negatively).
    pub instantiated: bool,
    /// `R`: revoked.
    pub revoked: bool,
    /// `D`: dead (its type was unregistered).
    pub dead: bool,
    /// `Q`: counted against the owner's quota.
    pub in_quota: bool,
    /// `U`: under construction by a user-space helper.
    pub under_construction: bool,
    /// `N`: negative (negated or rejected).
    pub negative: bool,
    /// `i`: invalidated.
    pub invalidated: bool,
}

/// One line of `/proc/keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcKey {
    /// The key's serial.
    pub serial: KeySerial,
    /// Its state flags.
    pub flags: ProcKeyFlags,
    /// Its reference count.
    pub usage: u32,
    /// When it expires.
    pub expiry: Expiry,
    /// Its permission word.
    pub perm: KeyPerm,
    /// Its owner.
    pub uid: Uid,
    /// Its group.
    pub gid: Gid,
    /// Its type name, cut to nine bytes by the kernel.
    pub key_type: String,
    /// The type's own rendering of the description (e.g. `kuptest:x: 5`).
    pub description: Vec<u8>,
}

/// Reads and parses `/proc/keys`.
pub fn read() -> io::Result<Vec<ProcKey>> {
    let raw = std::fs::read("/proc/keys")?;
    Ok(parse(&raw))
}

/// Finds one key in `/proc/keys` by serial.
pub fn find(serial: KeySerial) -> io::Result<Option<ProcKey>> {
    Ok(read()?.into_iter().find(|key| key.serial == serial))
}

/// Parses the whole text of `/proc/keys`, skipping lines that do not fit the layout.
#[must_use]
pub fn parse(raw: &[u8]) -> Vec<ProcKey> {
    raw.split(|&byte| byte == b'\n').filter_map(parse_line).collect()
}

/// Parses one line; `None` when it does not have the kernel's layout.
#[must_use]
pub fn parse_line(line: &[u8]) -> Option<ProcKey> {
    let mut rest = line;
    let serial = u32::from_str_radix(next_field(&mut rest)?, 16).ok()?;
    let flags = parse_flags(next_field(&mut rest)?)?;
    let usage = next_field(&mut rest)?.parse().ok()?;
    let expiry = parse_expiry(next_field(&mut rest)?)?;
    let perm = u32::from_str_radix(next_field(&mut rest)?, 16).ok()?;
    let uid = next_field(&mut rest)?.parse().ok()?;
    let gid = next_field(&mut rest)?.parse().ok()?;
    let key_type = next_field(&mut rest)?.to_owned();
    let description = trim_leading_spaces(rest).to_vec();
    Some(ProcKey {
        serial: KeySerial::new(serial.cast_signed()),
        flags,
        usage,
        expiry,
        perm: KeyPerm::new(perm),
        uid: Uid::new(uid),
        gid: Gid::new(gid),
        key_type,
        description,
    })
}

fn trim_leading_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&byte| byte != b' ').unwrap_or(bytes.len());
    &bytes[start..]
}

/// Takes the next space-separated ASCII field from `rest`.
fn next_field<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let trimmed = trim_leading_spaces(rest);
    let end = trimmed
        .iter()
        .position(|&byte| byte == b' ')
        .unwrap_or(trimmed.len());
    if end == 0 {
        return None;
    }
    let (field, tail) = trimmed.split_at(end);
    *rest = tail;
    std::str::from_utf8(field).ok()
}

fn parse_flags(field: &str) -> Option<ProcKeyFlags> {
    let letters = field.as_bytes();
    if letters.len() != 7 {
        return None;
    }
    let set = |index: usize, letter: u8| letters.get(index) == Some(&letter);
    Some(ProcKeyFlags {
        instantiated: set(0, b'I'),
        revoked: set(1, b'R'),
        dead: set(2, b'D'),
        in_quota: set(3, b'Q'),
        under_construction: set(4, b'U'),
        negative: set(5, b'N'),
        invalidated: set(6, b'i'),
    })
}

fn parse_expiry(field: &str) -> Option<Expiry> {
    match field {
        "perm" => return Some(Expiry::Permanent),
        "expd" => return Some(Expiry::Expired),
        _ => {}
    }
    let split = field.len().checked_sub(1)?;
    let (number, unit) = field.split_at(split);
    let number: u64 = number.parse().ok()?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 60 * 60 * 24,
        "w" => 60 * 60 * 24 * 7,
        _ => return None,
    };
    Some(Expiry::In(Duration::from_secs(number.checked_mul(unit_secs)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_user_key_line() {
        let key = parse_line(b"3b0a0d2b I--Q---     1 perm 3f010000     0     0 user      kuptest:inst1: 5")
            .unwrap();
        assert_eq!(key.serial, KeySerial::new(0x3b0a_0d2b));
        assert!(key.flags.instantiated && key.flags.in_quota && !key.flags.negative);
        assert_eq!(key.usage, 1);
        assert_eq!(key.expiry, Expiry::Permanent);
        assert_eq!(key.perm, KeyPerm::new(0x3f01_0000));
        assert_eq!(key.key_type, "user");
        assert_eq!(key.description, b"kuptest:inst1: 5");
    }

    #[test]
    fn parses_negative_key_with_minutes_expiry_and_high_serial() {
        let key =
            parse_line(b"9a01c0de I--Q-N-     1    1m 3b010000     0     0 id_resolv uid:x@y: -126").unwrap();
        assert!(key.flags.negative);
        assert_eq!(key.expiry, Expiry::In(Duration::from_mins(1)));
        assert_eq!(key.serial.get(), 0x9a01_c0de_u32.cast_signed());
        assert_eq!(key.key_type, "id_resolv");
    }

    #[test]
    fn parses_every_expiry_unit() {
        for (text, secs) in [
            ("59s", 59),
            ("9m", 540),
            ("2h", 7200),
            ("3d", 259_200),
            ("1w", 604_800),
        ] {
            assert_eq!(
                parse_expiry(text),
                Some(Expiry::In(Duration::from_secs(secs))),
                "{text}"
            );
        }
        assert_eq!(parse_expiry("expd"), Some(Expiry::Expired));
        assert_eq!(parse_expiry("5y"), None);
        assert_eq!(parse_expiry(""), None);
    }

    #[test]
    fn skips_malformed_lines() {
        assert_eq!(parse(b"garbage\n\n12 I------ 1 perm\n").len(), 0);
    }
}
