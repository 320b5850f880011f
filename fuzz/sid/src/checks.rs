//! One property check per fuzz target. Each takes arbitrary bytes and panics when a property of
//! `kup-sid` does not hold (the parsers themselves must never panic).

// `pub` for the fuzz crate; the same file is a private module of the corpus replay test.
#![allow(unreachable_pub)]

use kup_sid::request::{self, RequestKind, reference_pick};
use kup_sid::{NumberError, Request, Sid, parse_c_uint};
use kup_text::{Radix, strtoul};

/// SID text: `parse` accepts exactly the canonical spelling (so `Display` gives the input back),
/// and the binary form round-trips.
pub fn sid_text(data: &[u8]) {
    let Ok(sid) = Sid::parse(data) else {
        return;
    };
    assert_eq!(
        sid.to_string().as_bytes(),
        data,
        "parse accepted a non-canonical spelling"
    );
    let binary = sid.to_cifs_sid();
    assert_eq!(Sid::from_cifs_sid(&binary), Ok(sid));
    assert!(
        binary[sid.meaningful_len()..].iter().all(|&byte| byte == 0),
        "tail not zeroed"
    );
    if sid.authority() < 1 << 40 {
        assert_eq!(sid.kernel_text(), sid.to_string());
    }
}

/// Binary SID: whatever the kernel-style reader accepts re-encodes to the same meaningful bytes
/// and survives a trip through text.
pub fn sid_binary(data: &[u8]) {
    let Ok(sid) = Sid::from_cifs_sid(data) else {
        return;
    };
    let length = sid.meaningful_len();
    assert!(length <= data.len());
    assert_eq!(&sid.to_cifs_sid()[..length], &data[..length]);
    assert_eq!(Sid::parse(sid.to_string().as_bytes()), Ok(sid));
}

/// Descriptions: our strict reading never disagrees with the reference's on what it accepts.
pub fn description(data: &[u8]) {
    let picked = reference_pick(data);
    match request::parse(data) {
        Ok(parsed) => {
            let (kind, value) = picked.expect("we accepted what the reference would not");
            assert_eq!(kind, parsed.kind());
            match parsed {
                Request::OwnerSid(ours) | Request::GroupSid(ours) => assert_eq!(ours, value),
                Request::OwnerId(id) | Request::GroupId(id) => assert_eq!(parse_c_uint(value), Ok(id)),
            }
        }
        Err(request::RequestError::BadId { kind, error }) => {
            let (reference_kind, value) = picked.expect("a bad id implies a prefix");
            assert_eq!(kind, reference_kind);
            assert!(matches!(kind, RequestKind::OwnerId | RequestKind::GroupId));
            assert_eq!(parse_c_uint(value), Err(error));
        }
        Err(request::RequestError::NoPrefix) => assert!(picked.is_none()),
        Err(request::RequestError::Ambiguous) => {}
    }
}

/// `parse_c_uint` against the glibc `strtoul` model in `kup-text` (tested against glibc itself):
/// the end check and the 32-bit range.
pub fn number(data: &[u8]) {
    if data.contains(&0) {
        // C strings end at the first NUL; callers never pass one (argv, describe strings).
        return;
    }
    let model = strtoul(data, Radix::AUTO);
    let expected = if model.consumed_all(data) {
        u32::try_from(model.value).map_err(|_| NumberError::Overflow)
    } else {
        Err(NumberError::Invalid)
    };
    assert_eq!(
        parse_c_uint(data),
        expected,
        "{:?}",
        String::from_utf8_lossy(data)
    );
}
